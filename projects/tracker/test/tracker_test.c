/*
 * tracker_test - tests of the primary tracker, ending with a stress test: many threads append to a replicated log
 * through one tracker while a chaos thread crashes the primary again and again, in the middle of its rounds.
 *
 *   tracker_test [--threads N] [--requests N] [--failovers N] [--loss PERCENT] [--seed N]
 *
 * The stress test asserts that no request is lost (every one succeeds and is applied exactly once, with its own
 * text), that the tracker searched the ring at least once per failover and never twice for one generation, and
 * that the throttle kept concurrency within its bound. Thread interleavings vary from run to run; the assertions
 * are invariants that hold for all of them.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tracker.h>

#include "throttle.h" /* the throttle is private to the tracker; its unit test lives here */

static int failures;

#define CHECK(cond)                                                                                  \
    do {                                                                                             \
        if (!(cond)) {                                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                 \
            failures++;                                                                              \
        }                                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                               \
    do {                                                                                             \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);               \
        if (a_ != b_) {                                                                              \
            fprintf(stderr, "%s:%d: check failed: %s == %s (%llu != %llu)\n", __FILE__, __LINE__, #a, \
                    #b, a_, b_);                                                                     \
            failures++;                                                                              \
        }                                                                                            \
    } while (0)

typedef struct options {
    unsigned threads, requests, failovers, loss;
    uint64_t seed;
} options_t;

static void pause_briefly(void)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000};
    nanosleep(&ts, NULL);
}

static replica_ring_t *make_ring(unsigned loss, uint64_t seed, unsigned capacity)
{
    replica_config_t config = {.replicas = 5, .loss_percent = loss, .seed = seed, .capacity = capacity};
    replica_ring_t *ring = NULL;
    if (replica_ring_create(&config, &ring) != REPLICA_OK) {
        fprintf(stderr, "cannot create a ring\n");
        exit(2);
    }
    return ring;
}

static tracker_t *make_tracker(replica_ring_t *ring, unsigned inflight)
{
    tracker_config_t config = {.max_inflight = inflight};
    tracker_t *t = NULL;
    if (tracker_create(ring, &config, &t) != TRACKER_OK) {
        fprintf(stderr, "cannot create a tracker\n");
        exit(2);
    }
    return t;
}

static bool strictly_increasing(const replica_ballot_t *g, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (g[i] <= g[i - 1])
            return false;
    return true;
}

/* ---- basic behaviour -------------------------------------------------------------------------------------- */

static void test_lookup_submit_read(void)
{
    replica_ring_t *ring = make_ring(0, 1, 64);
    tracker_t *t = make_tracker(ring, 2);
    unsigned primary = 99;
    replica_ballot_t generation = 0;
    CHECK_EQ(tracker_primary(t, &primary, &generation), TRACKER_OK); /* found by letting an election happen */
    CHECK_EQ(primary, 0);
    CHECK(generation != 0);

    tracker_client_t client;
    CHECK_EQ(tracker_client_open(t, &client), TRACKER_OK);
    for (unsigned i = 0; i < 5; i++) {
        char command[32];
        uint64_t slot = 99;
        snprintf(command, sizeof command, "set x = %u", i);
        CHECK_EQ(tracker_submit(t, &client, command, &slot), TRACKER_OK);
        CHECK_EQ(slot, i);
    }
    replica_entry_t e;
    CHECK_EQ(tracker_read(t, 3, &e), TRACKER_OK);
    CHECK(strcmp(e.text, "set x = 3") == 0);
    CHECK_EQ(e.client, client.id);
    CHECK_EQ(e.seq, 4);
    CHECK_EQ(tracker_read(t, 5, &e), TRACKER_E_NOT_COMMITTED);

    tracker_stats_t stats;
    tracker_stats(t, &stats);
    CHECK_EQ(stats.requests, 6);
    CHECK_EQ(stats.refreshes, 1);
    CHECK_EQ(stats.failures, 0);
    uint64_t slot;
    char too_long[REPLICA_CMD_MAX + 1];
    memset(too_long, 'x', REPLICA_CMD_MAX);
    too_long[REPLICA_CMD_MAX] = '\0';
    CHECK_EQ(tracker_submit(t, &client, too_long, &slot), TRACKER_E_INVALID);
    tracker_destroy(t);
    replica_ring_destroy(ring);
}

/* ---- one refresh per generation --------------------------------------------------------------------------- */

typedef struct burst {
    tracker_t *tracker;
    pthread_barrier_t *start;
    tracker_status_t status;
} burst_t;

static void *burst_worker(void *arg)
{
    burst_t *b = arg;
    tracker_client_t client;
    uint64_t slot;
    b->status = tracker_client_open(b->tracker, &client);
    pthread_barrier_wait(b->start);
    if (b->status == TRACKER_OK)
        b->status = tracker_submit(b->tracker, &client, "after the failover", &slot);
    return NULL;
}

/* The primary crashes; then eight threads send a request at the same moment. However many of them fail against
 * the dead primary, the tracker searches the ring once for the new generation. */
static void test_one_refresh_per_failover(void)
{
    enum { THREADS = 8, FAILOVERS = 3 };
    replica_ring_t *ring = make_ring(0, 1, 256);
    tracker_t *t = make_tracker(ring, THREADS);
    unsigned primary;
    replica_ballot_t generation;
    CHECK_EQ(tracker_primary(t, &primary, &generation), TRACKER_OK);
    for (unsigned round = 0; round < FAILOVERS; round++) {
        pthread_barrier_t start;
        pthread_t threads[THREADS];
        burst_t bursts[THREADS];
        pthread_barrier_init(&start, NULL, THREADS);
        CHECK_EQ(replica_ring_crash(ring, primary), REPLICA_OK);
        for (unsigned i = 0; i < THREADS; i++) {
            bursts[i] = (burst_t){.tracker = t, .start = &start};
            pthread_create(&threads[i], NULL, burst_worker, &bursts[i]);
        }
        for (unsigned i = 0; i < THREADS; i++) {
            pthread_join(threads[i], NULL);
            CHECK_EQ(bursts[i].status, TRACKER_OK);
        }
        pthread_barrier_destroy(&start);
        replica_ring_restart(ring, primary);
        replica_ballot_t previous = generation;
        CHECK_EQ(tracker_primary(t, &primary, &generation), TRACKER_OK);
        CHECK(generation > previous);
    }
    tracker_stats_t stats;
    tracker_stats(t, &stats);
    CHECK_EQ(stats.refreshes, 1 + FAILOVERS);
    CHECK(stats.failures >= FAILOVERS);
    replica_ballot_t history[TRACKER_HISTORY];
    size_t n = tracker_history(t, history, TRACKER_HISTORY);
    CHECK_EQ(n, 1 + FAILOVERS);
    CHECK(strictly_increasing(history, n));
    tracker_destroy(t);
    replica_ring_destroy(ring);
}

/* ---- the throttle ----------------------------------------------------------------------------------------- */

typedef struct entrant {
    throttle_t *throttle;
    atomic_uint *order;
    unsigned position; /* when this entrant got in: 1, 2, ... */
} entrant_t;

static void *enter_and_leave(void *arg)
{
    entrant_t *e = arg;
    throttle_enter(e->throttle);
    e->position = atomic_fetch_add(e->order, 1) + 1;
    throttle_leave(e->throttle);
    return NULL;
}

static void wait_until_waiting(throttle_t *throttle, unsigned n)
{
    throttle_counts_t c;
    for (throttle_counts(throttle, &c); c.waiting < n; throttle_counts(throttle, &c))
        pause_briefly();
}

/* With the throttle full, newcomers wait, and enter in the order they arrived. No sleeps decide anything: the
 * test waits until the throttle itself reports the waiters. */
static void test_throttle_bounds_and_order(void)
{
    throttle_t throttle;
    atomic_uint order;
    atomic_init(&order, 0);
    CHECK(throttle_init(&throttle, 2));
    throttle_enter(&throttle);
    throttle_enter(&throttle); /* full */

    entrant_t first = {.throttle = &throttle, .order = &order}, second = first;
    pthread_t a, b;
    pthread_create(&a, NULL, enter_and_leave, &first);
    wait_until_waiting(&throttle, 1);
    pthread_create(&b, NULL, enter_and_leave, &second);
    wait_until_waiting(&throttle, 2);
    CHECK_EQ(atomic_load(&order), 0); /* nobody got past a full throttle */

    throttle_leave(&throttle); /* one slot frees: the first to arrive enters, then makes room for the second */
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    throttle_leave(&throttle);
    CHECK_EQ(first.position, 1);
    CHECK_EQ(second.position, 2);
    throttle_counts_t c;
    throttle_counts(&throttle, &c);
    CHECK_EQ(c.peak, 2);
    CHECK_EQ(c.waits, 2);
    CHECK_EQ(c.inside, 0);
    throttle_destroy(&throttle);
}

/* ---- stress ----------------------------------------------------------------------------------------------- */

typedef struct stress {
    const options_t *o;
    replica_ring_t *ring;
    tracker_t *tracker;
    atomic_uint completed; /* requests that succeeded */
    atomic_uint armed;     /* crashes the chaos thread has set up */
    atomic_bool done;
    unsigned fired;        /* crashes that actually happened */
} stress_t;

/* Crash number k (1-based) is due when k / (failovers + 1) of all requests have completed. */
static unsigned crash_point(const stress_t *s, unsigned k)
{
    return (unsigned)((uint64_t)k * s->o->threads * s->o->requests / (s->o->failovers + 1));
}

/* Workers stop at a crash point until the chaos thread has armed that crash, so that however the threads are
 * scheduled, every failover happens while requests are still flowing; then they rush in together. */
static void wait_for_chaos(stress_t *s)
{
    unsigned armed;
    while ((armed = atomic_load(&s->armed)) < s->o->failovers &&
           atomic_load(&s->completed) >= crash_point(s, armed + 1))
        pause_briefly();
}

typedef struct worker {
    stress_t *s;
    unsigned index;
    tracker_client_t client;
    unsigned succeeded;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    if (tracker_client_open(w->s->tracker, &w->client) != TRACKER_OK)
        return NULL;
    for (unsigned r = 0; r < w->s->o->requests; r++) {
        char command[32];
        uint64_t slot;
        wait_for_chaos(w->s);
        snprintf(command, sizeof command, "w%u r%u", w->index, r);
        tracker_status_t status = tracker_submit(w->s->tracker, &w->client, command, &slot);
        if (status == TRACKER_OK) {
            w->succeeded++;
            atomic_fetch_add(&w->s->completed, 1);
        } else {
            fprintf(stderr, "worker %u, request %u: %s\n", w->index, r, tracker_strerror(status));
        }
    }
    return NULL;
}

static bool is_up(replica_ring_t *ring, unsigned node)
{
    replica_node_status_t st;
    return replica_ring_status(ring, node, &st) == REPLICA_OK && st.up;
}

/* At each crash point, crash the primary after a seeded number of messages (so in the middle of a round), having
 * brought the previous victim back first so that a majority stays up. */
static void *chaos_main(void *arg)
{
    stress_t *s = arg;
    uint64_t rng = s->o->seed;
    int victim = -1;
    for (unsigned k = 1; k <= s->o->failovers && !atomic_load(&s->done); k++) {
        while (atomic_load(&s->completed) < crash_point(s, k) && !atomic_load(&s->done))
            pause_briefly(); /* (done before the point: the workers gave up, which the checks will report) */
        unsigned primary;
        replica_ballot_t generation;
        while (replica_ring_primary(s->ring, &primary, &generation) != REPLICA_OK)
            replica_ring_tick(s->ring); /* the workers are parked: let time pass for them */
        if (victim >= 0)
            replica_ring_restart(s->ring, (unsigned)victim);
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        replica_ring_crash_after(s->ring, primary, (unsigned)(rng >> 33) % 8);
        victim = (int)primary;
        atomic_store(&s->armed, k);
        while (is_up(s->ring, primary) && !atomic_load(&s->done))
            pause_briefly();
        s->fired += !is_up(s->ring, primary);
    }
    return NULL;
}

/* Every worker's requests must be in the log exactly once (not counting marked duplicates), with their text. */
static void check_log(stress_t *s, worker_t *workers)
{
    const options_t *o = s->o;
    unsigned *applied = calloc((size_t)o->threads * o->requests, sizeof *applied);
    unsigned client_to_worker[REPLICA_MAX_CLIENTS];
    memset(client_to_worker, 0xff, sizeof client_to_worker);
    for (unsigned i = 0; i < o->threads; i++)
        client_to_worker[workers[i].client.id] = i;
    replica_entry_t e;
    uint64_t slot = 0;
    for (; applied != NULL && tracker_read(s->tracker, slot, &e) == TRACKER_OK; slot++) {
        if (e.kind != REPLICA_ENTRY_COMMAND || e.duplicate)
            continue;
        unsigned w = client_to_worker[e.client], r = e.seq - 1;
        char expected[32];
        snprintf(expected, sizeof expected, "w%u r%u", w, r);
        CHECK(w < o->threads && r < o->requests && strcmp(e.text, expected) == 0);
        if (w < o->threads && r < o->requests)
            applied[(size_t)w * o->requests + r]++;
    }
    unsigned once = 0;
    for (size_t i = 0; applied != NULL && i < (size_t)o->threads * o->requests; i++)
        once += applied[i] == 1;
    CHECK_EQ(once, o->threads * o->requests);
    free(applied);
}

static void test_stress(const options_t *o)
{
    stress_t s = {.o = o};
    atomic_init(&s.completed, 0);
    atomic_init(&s.armed, 0);
    atomic_init(&s.done, false);
    s.ring = make_ring(o->loss, o->seed, 2 * o->threads * o->requests + 256);
    s.tracker = make_tracker(s.ring, 3);
    worker_t *workers = calloc(o->threads, sizeof *workers);
    pthread_t *threads = calloc(o->threads, sizeof *threads);
    pthread_t chaos;
    if (workers == NULL || threads == NULL)
        exit(2);
    pthread_create(&chaos, NULL, chaos_main, &s);
    for (unsigned i = 0; i < o->threads; i++) {
        workers[i] = (worker_t){.s = &s, .index = i};
        pthread_create(&threads[i], NULL, worker_main, &workers[i]);
    }
    unsigned succeeded = 0;
    for (unsigned i = 0; i < o->threads; i++) {
        pthread_join(threads[i], NULL);
        succeeded += workers[i].succeeded;
    }
    atomic_store(&s.done, true);
    pthread_join(chaos, NULL);

    CHECK_EQ(succeeded, o->threads * o->requests); /* no request lost */
    CHECK_EQ(s.fired, o->failovers);
    check_log(&s, workers);
    tracker_stats_t stats;
    replica_stats_t ring_stats;
    tracker_stats(s.tracker, &stats);
    replica_ring_stats(s.ring, &ring_stats);
    replica_ballot_t history[TRACKER_HISTORY];
    size_t n = tracker_history(s.tracker, history, TRACKER_HISTORY);
    CHECK(strictly_increasing(history, n));
    CHECK(stats.refreshes >= 1 + s.fired);          /* every failover was noticed and followed */
    CHECK(stats.refreshes <= ring_stats.elections); /* and no generation was searched for twice */
    CHECK(stats.peak_inflight <= 3);
    printf("stress: %u threads x %u requests, %u of %u failovers; the tracker adopted %" PRIu64
           " generations (%" PRIu64 " elections), %" PRIu64 " failed attempts, %" PRIu64
           " throttle waits, peak %u in flight\n",
           o->threads, o->requests, s.fired, o->failovers, stats.refreshes, ring_stats.elections, stats.failures,
           stats.waits, stats.peak_inflight);
    free(workers);
    free(threads);
    tracker_destroy(s.tracker);
    replica_ring_destroy(s.ring);
}

/* ---- runner ----------------------------------------------------------------------------------------------- */

static int parse_options(int argc, char **argv, options_t *o)
{
    *o = (options_t){.threads = 8, .requests = 150, .failovers = 20, .loss = 5, .seed = 1};
    for (int i = 1; i < argc; i += 2) {
        char *end = NULL;
        unsigned long v = i + 1 < argc ? strtoul(argv[i + 1], &end, 10) : 0;
        if (end == NULL || *end != '\0' || v > 100000) {
            fprintf(stderr, "tracker_test: %s needs a number\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--threads") == 0 && v >= 1 && v <= 64)
            o->threads = (unsigned)v;
        else if (strcmp(argv[i], "--requests") == 0 && v >= 1)
            o->requests = (unsigned)v;
        else if (strcmp(argv[i], "--failovers") == 0)
            o->failovers = (unsigned)v;
        else if (strcmp(argv[i], "--loss") == 0 && v <= 30)
            o->loss = (unsigned)v;
        else if (strcmp(argv[i], "--seed") == 0)
            o->seed = v;
        else {
            fprintf(stderr, "tracker_test: unknown option or value out of range: %s\n", argv[i]);
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    options_t o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc;
    struct {
        const char *name;
        void (*run)(void);
    } tests[] = {
        {"lookup_submit_read", test_lookup_submit_read},
        {"one_refresh_per_failover", test_one_refresh_per_failover},
        {"throttle_bounds_and_order", test_throttle_bounds_and_order},
    };
    int failed_tests = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        int before = failures;
        tests[i].run();
        failed_tests += failures != before;
        printf("%s %s\n", failures == before ? "ok  " : "FAIL", tests[i].name);
    }
    int before = failures;
    test_stress(&o);
    failed_tests += failures != before;
    printf("%s stress\n", failures == before ? "ok  " : "FAIL");
    printf("%zu tests, %d failed\n", sizeof tests / sizeof tests[0] + 1, failed_tests);
    return failed_tests == 0 ? 0 : 1;
}
