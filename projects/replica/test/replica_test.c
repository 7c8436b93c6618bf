/*
 * replica_test - unit tests of the replicated log: agreement, failover, message loss, request numbering, and a
 * randomized safety check over many seeded schedules of crashes, restarts, elections and submissions.
 *
 *   replica_test [NAME...]     run all tests, or those whose name contains one of the arguments
 *
 * Prints "ok NAME" or the failed checks as file:line; exits 0 only if every check passed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <replica.h>

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

/* ---- building blocks --------------------------------------------------------------------------------------------- */

static replica_ring_t *make_ring(unsigned replicas, unsigned loss, uint64_t seed)
{
    replica_config_t config = {.replicas = replicas, .loss_percent = loss, .seed = seed, .capacity = 512};
    replica_ring_t *ring = NULL;
    if (replica_ring_create(&config, &ring) != REPLICA_OK) {
        fprintf(stderr, "cannot create a ring\n");
        exit(2);
    }
    return ring;
}

static bool find_primary(replica_ring_t *ring, unsigned *primary)
{
    replica_ballot_t generation;
    for (unsigned t = 0; t < 200; t++) {
        if (replica_ring_primary(ring, primary, &generation) == REPLICA_OK)
            return true;
        replica_ring_tick(ring);
    }
    return false;
}

static replica_ballot_t generation_of(replica_ring_t *ring)
{
    unsigned primary;
    replica_ballot_t generation = 0;
    replica_ring_primary(ring, &primary, &generation);
    return generation;
}

/* What a client does: find the primary, submit, and on failure let time pass and retry the same request. */
static replica_status_t submit(replica_ring_t *ring, uint32_t client, uint32_t seq, const char *text, uint64_t *slot)
{
    replica_request_t request = {.client = client, .seq = seq, .text = text};
    replica_status_t status = REPLICA_E_NO_PRIMARY;
    for (unsigned attempt = 0; attempt < 50; attempt++) {
        unsigned primary;
        if (!find_primary(ring, &primary))
            return REPLICA_E_NO_PRIMARY;
        status = replica_ring_submit(ring, primary, &request, slot);
        if (status == REPLICA_OK)
            return status;
        replica_ring_tick(ring);
    }
    return status;
}

/* Tick until every live replica has caught up with the primary. */
static uint64_t settle(replica_ring_t *ring)
{
    unsigned primary = 0;
    replica_node_status_t lead = {0}, st;
    for (unsigned t = 0; t < 100; t++) {
        if (!find_primary(ring, &primary))
            return 0;
        replica_ring_status(ring, primary, &lead);
        bool settled = true;
        for (unsigned i = 0; i < replica_ring_size(ring); i++) {
            replica_ring_status(ring, i, &st);
            settled &= !st.up || st.committed == lead.committed;
        }
        if (settled)
            return lead.committed;
        replica_ring_tick(ring);
    }
    return 0;
}

static bool same_entry(const replica_entry_t *a, const replica_entry_t *b)
{
    return a->kind == b->kind && a->client == b->client && a->seq == b->seq && a->duplicate == b->duplicate &&
           strcmp(a->text, b->text) == 0;
}

/* Safety: wherever two live replicas both know a slot as committed, they hold the same entry. */
static bool logs_agree(replica_ring_t *ring)
{
    unsigned n = replica_ring_size(ring);
    for (unsigned a = 0; a < n; a++) {
        for (unsigned b = a + 1; b < n; b++) {
            replica_node_status_t sa, sb;
            replica_ring_status(ring, a, &sa);
            replica_ring_status(ring, b, &sb);
            if (!sa.up || !sb.up)
                continue;
            uint64_t common = sa.committed < sb.committed ? sa.committed : sb.committed;
            for (uint64_t s = 0; s < common; s++) {
                replica_entry_t ea, eb;
                replica_ring_read(ring, a, s, &ea);
                replica_ring_read(ring, b, s, &eb);
                if (!same_entry(&ea, &eb))
                    return false;
            }
        }
    }
    return true;
}

static void read_text(replica_ring_t *ring, unsigned node, uint64_t slot, char *out)
{
    replica_entry_t e;
    strcpy(out, "?");
    if (replica_ring_read(ring, node, slot, &e) == REPLICA_OK)
        strcpy(out, e.kind == REPLICA_ENTRY_NOOP ? "noop" : e.text);
}

/* ---- tests ------------------------------------------------------------------------------------------------ */

static void test_agreement(void)
{
    replica_ring_t *ring = make_ring(5, 0, 1);
    CHECK_EQ(replica_ring_elect(ring, 0), REPLICA_OK);
    for (uint32_t i = 1; i <= 10; i++) {
        char text[32];
        uint64_t slot = 99;
        snprintf(text, sizeof text, "cmd %u", (unsigned)i);
        CHECK_EQ(submit(ring, 1, i, text, &slot), REPLICA_OK);
        CHECK_EQ(slot, i - 1);
    }
    CHECK_EQ(settle(ring), 10);
    CHECK(logs_agree(ring));
    char text[REPLICA_CMD_MAX];
    for (unsigned node = 0; node < 5; node++) {
        read_text(ring, node, 9, text);
        CHECK(strcmp(text, "cmd 10") == 0);
    }
    replica_ring_destroy(ring);
}

static void test_election_by_timeout_follows_ring_order(void)
{
    replica_ring_t *ring = make_ring(5, 0, 1);
    unsigned primary = 99;
    CHECK(find_primary(ring, &primary));
    CHECK_EQ(primary, 0); /* nobody was primary: node 0 is first in ring order */
    replica_ballot_t first = generation_of(ring);
    CHECK_EQ(replica_ring_crash(ring, 0), REPLICA_OK);
    CHECK(find_primary(ring, &primary));
    CHECK_EQ(primary, 1); /* the successor of the crashed primary times out first */
    CHECK(generation_of(ring) > first);
    replica_ring_destroy(ring);
}

/* A value accepted by a majority survives the crash of the primary that proposed it, before anyone learned it
 * was chosen: the next primary finds it in phase 1 and chooses it again, in the same slot. */
static void test_failover_keeps_accepted_value(void)
{
    replica_ring_t *ring = make_ring(3, 0, 1);
    uint64_t slot;
    CHECK_EQ(replica_ring_elect(ring, 0), REPLICA_OK);
    replica_ballot_t old_generation = generation_of(ring);
    replica_request_t a = {.client = 1, .seq = 1, .text = "a"}, b = {.client = 1, .seq = 2, .text = "b"};
    CHECK_EQ(replica_ring_submit(ring, 0, &a, &slot), REPLICA_OK);
    /* Node 0 handles its own ACCEPT, then crashes before counting the votes: 1 and 2 have accepted "b". */
    CHECK_EQ(replica_ring_crash_after(ring, 0, 1), REPLICA_OK);
    CHECK_EQ(replica_ring_submit(ring, 0, &b, &slot), REPLICA_E_DOWN);
    replica_node_status_t st;
    replica_ring_status(ring, 1, &st);
    CHECK_EQ(st.committed, 1); /* nobody knows yet that slot 1 is chosen */

    CHECK_EQ(replica_ring_elect(ring, 1), REPLICA_OK);
    CHECK(generation_of(ring) > old_generation);
    char text[REPLICA_CMD_MAX];
    read_text(ring, 1, 1, text);
    CHECK(strcmp(text, "b") == 0);
    /* The client retries "b" with the same request number: it is recognised, not appended twice. */
    CHECK_EQ(replica_ring_submit(ring, 1, &b, &slot), REPLICA_OK);
    CHECK_EQ(slot, 1);
    replica_ring_status(ring, 1, &st);
    CHECK_EQ(st.committed, 2);

    /* The old primary comes back as a follower, is told who leads, and catches up. */
    CHECK_EQ(replica_ring_restart(ring, 0), REPLICA_OK);
    CHECK_EQ(replica_ring_submit(ring, 0, &b, &slot), REPLICA_E_NOT_PRIMARY);
    CHECK_EQ(settle(ring), 2);
    unsigned who = 99;
    replica_ballot_t generation;
    CHECK_EQ(replica_ring_whois(ring, 0, &who, &generation), REPLICA_OK);
    CHECK_EQ(who, 1);
    CHECK(logs_agree(ring));
    replica_ring_destroy(ring);
}

/* A value only a minority accepted was never chosen: a primary elected without that minority may reuse the slot,
 * and the old copies are overwritten when the minority catches up. */
static void test_minority_value_is_replaced(void)
{
    replica_ring_t *ring = make_ring(5, 0, 1);
    uint64_t slot = 99;
    CHECK_EQ(replica_ring_elect(ring, 0), REPLICA_OK);
    for (unsigned i = 2; i < 5; i++)
        replica_ring_crash(ring, i);
    replica_request_t lost = {.client = 1, .seq = 1, .text = "lost"};
    CHECK_EQ(replica_ring_submit(ring, 0, &lost, &slot), REPLICA_E_NO_QUORUM);
    replica_node_status_t st;
    replica_ring_status(ring, 0, &st);
    CHECK(!st.primary); /* a primary that cannot reach a majority steps down */

    replica_ring_crash(ring, 0);
    replica_ring_crash(ring, 1);
    for (unsigned i = 2; i < 5; i++)
        replica_ring_restart(ring, i);
    CHECK_EQ(replica_ring_elect(ring, 2), REPLICA_OK);
    CHECK_EQ(submit(ring, 2, 1, "kept", &slot), REPLICA_OK);
    CHECK_EQ(slot, 0);
    replica_ring_restart(ring, 0);
    replica_ring_restart(ring, 1);
    CHECK_EQ(settle(ring), 1);
    char text[REPLICA_CMD_MAX];
    read_text(ring, 1, 0, text);
    CHECK(strcmp(text, "kept") == 0);
    CHECK(logs_agree(ring));
    replica_ring_destroy(ring);
}

/* The heart of Paxos: when promises report different values for a slot, the new primary must take the one accepted
 * under the highest ballot, because that one may have been chosen. Here "Y" was chosen (accepted by 2, 3, 4) but
 * only its proposer learned it; the next quorum {0, 1, 3} reports "X" twice (older ballot) and "Y" once. */
static void test_highest_ballot_wins(void)
{
    replica_ring_t *ring = make_ring(5, 0, 1);
    uint64_t slot;
    replica_request_t x = {.text = "X"}, y = {.text = "Y"};
    CHECK_EQ(replica_ring_elect(ring, 0), REPLICA_OK);
    for (unsigned i = 2; i < 5; i++)
        replica_ring_crash(ring, i);
    CHECK_EQ(replica_ring_submit(ring, 0, &x, &slot), REPLICA_E_NO_QUORUM); /* X accepted by 0 and 1 only */

    replica_ring_crash(ring, 0);
    replica_ring_crash(ring, 1);
    for (unsigned i = 2; i < 5; i++)
        replica_ring_restart(ring, i);
    CHECK_EQ(replica_ring_elect(ring, 2), REPLICA_OK); /* its quorum {2, 3, 4} never saw X */
    replica_ring_crash_after(ring, 3, 1);             /* 3 and 4 accept Y, then crash before the COMMIT */
    replica_ring_crash_after(ring, 4, 1);
    CHECK_EQ(replica_ring_submit(ring, 2, &y, &slot), REPLICA_OK);
    CHECK_EQ(slot, 0);

    replica_ring_crash(ring, 2);
    replica_ring_restart(ring, 0);
    replica_ring_restart(ring, 1);
    replica_ring_restart(ring, 3);
    CHECK_EQ(replica_ring_elect(ring, 0), REPLICA_E_PREEMPTED); /* node 0 was down: its ballot is too low */
    CHECK_EQ(replica_ring_elect(ring, 0), REPLICA_OK);          /* and the next one is high enough */
    char text[REPLICA_CMD_MAX];
    read_text(ring, 0, 0, text);
    CHECK(strcmp(text, "Y") == 0);
    replica_ring_restart(ring, 2);
    replica_ring_restart(ring, 4);
    CHECK_EQ(settle(ring), 1);
    CHECK(logs_agree(ring));
    replica_ring_destroy(ring);
}

static void test_no_quorum_then_recovery(void)
{
    replica_ring_t *ring = make_ring(5, 0, 1);
    uint64_t slot;
    CHECK_EQ(replica_ring_elect(ring, 0), REPLICA_OK);
    replica_ring_crash(ring, 3);
    replica_ring_crash(ring, 4);
    CHECK_EQ(submit(ring, 0, 0, "two down: still a majority", &slot), REPLICA_OK);
    replica_ring_crash(ring, 2);
    replica_request_t r = {.text = "three down"};
    CHECK_EQ(replica_ring_submit(ring, 0, &r, &slot), REPLICA_E_NO_QUORUM);
    CHECK_EQ(replica_ring_elect(ring, 1), REPLICA_E_NO_QUORUM);
    replica_ring_restart(ring, 2);
    CHECK_EQ(submit(ring, 0, 0, "back to a majority", &slot), REPLICA_OK);
    CHECK(logs_agree(ring));
    replica_ring_destroy(ring);
}

static void test_higher_ballot_deposes_primary(void)
{
    replica_ring_t *ring = make_ring(3, 0, 1);
    uint64_t slot;
    replica_request_t r = {.text = "x"};
    CHECK_EQ(replica_ring_elect(ring, 0), REPLICA_OK);
    CHECK_EQ(replica_ring_elect(ring, 2), REPLICA_OK);
    CHECK_EQ(replica_ring_submit(ring, 0, &r, &slot), REPLICA_E_NOT_PRIMARY);
    unsigned who = 99, primary = 99;
    replica_ballot_t generation, current;
    CHECK_EQ(replica_ring_whois(ring, 0, &who, &generation), REPLICA_OK);
    CHECK_EQ(replica_ring_primary(ring, &primary, &current), REPLICA_OK);
    CHECK_EQ(who, 2);
    CHECK_EQ(primary, 2);
    CHECK_EQ(generation, current);
    CHECK_EQ(REPLICA_BALLOT_NODE(current), 2);
    CHECK_EQ(replica_ring_submit(ring, 2, &r, &slot), REPLICA_OK);
    replica_ring_destroy(ring);
}

static void test_message_loss(void)
{
    replica_ring_t *ring = make_ring(5, 30, 3);
    for (uint32_t i = 1; i <= 60; i++) {
        char text[32];
        uint64_t slot;
        snprintf(text, sizeof text, "lossy %u", (unsigned)i);
        CHECK_EQ(submit(ring, 9, i, text, &slot), REPLICA_OK);
    }
    uint64_t committed = settle(ring);
    CHECK(committed >= 60);
    CHECK(logs_agree(ring));
    unsigned applied = 0;
    for (uint64_t s = 0; s < committed; s++) {
        replica_entry_t e;
        replica_ring_read(ring, 0, s, &e);
        applied += e.kind == REPLICA_ENTRY_COMMAND && !e.duplicate;
    }
    CHECK_EQ(applied, 60);
    replica_stats_t stats;
    replica_ring_stats(ring, &stats);
    CHECK(stats.lost > 0);
    CHECK_EQ(stats.sent, stats.delivered + stats.lost);
    replica_ring_destroy(ring);
}

static void test_request_numbers(void)
{
    replica_ring_t *ring = make_ring(3, 0, 1);
    uint64_t first = 99, again = 98;
    replica_request_t r = {.client = 7, .seq = 1, .text = "once"};
    CHECK_EQ(replica_ring_elect(ring, 0), REPLICA_OK);
    CHECK_EQ(replica_ring_submit(ring, 0, &r, &first), REPLICA_OK);
    CHECK_EQ(replica_ring_submit(ring, 0, &r, &again), REPLICA_OK);
    CHECK_EQ(first, again);
    replica_node_status_t st;
    replica_ring_status(ring, 0, &st);
    CHECK_EQ(st.committed, 1);
    r.seq = 2;
    CHECK_EQ(replica_ring_submit(ring, 0, &r, &again), REPLICA_OK);
    r.seq = 1;
    CHECK_EQ(replica_ring_submit(ring, 0, &r, &again), REPLICA_E_INVALID); /* older than the last one */
    r.seq = 0;
    CHECK_EQ(replica_ring_submit(ring, 0, &r, &again), REPLICA_E_INVALID); /* numbers count from 1 */
    replica_ring_destroy(ring);
}

static void test_invalid_arguments_and_capacity(void)
{
    replica_config_t bad = {.replicas = 0};
    replica_ring_t *ring = NULL;
    CHECK_EQ(replica_ring_create(&bad, &ring), REPLICA_E_INVALID);
    bad.replicas = REPLICA_MAX_NODES + 1;
    CHECK_EQ(replica_ring_create(&bad, &ring), REPLICA_E_INVALID);

    replica_config_t small = {.replicas = 3, .capacity = 4};
    CHECK_EQ(replica_ring_create(&small, &ring), REPLICA_OK);
    CHECK_EQ(replica_ring_elect(ring, 3), REPLICA_E_INVALID);
    CHECK_EQ(replica_ring_elect(ring, 0), REPLICA_OK);
    char long_text[REPLICA_CMD_MAX + 1];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    uint64_t slot;
    replica_request_t r = {.text = long_text};
    CHECK_EQ(replica_ring_submit(ring, 0, &r, &slot), REPLICA_E_INVALID);
    r.text = "fits";
    for (unsigned i = 0; i < 4; i++)
        CHECK_EQ(replica_ring_submit(ring, 0, &r, &slot), REPLICA_OK);
    CHECK_EQ(replica_ring_submit(ring, 0, &r, &slot), REPLICA_E_FULL);
    replica_entry_t e;
    CHECK_EQ(replica_ring_read(ring, 0, 4, &e), REPLICA_E_NOT_COMMITTED);
    CHECK(strcmp(replica_strerror(REPLICA_E_FULL), "log is full") == 0);
    replica_ring_destroy(ring);
}

static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Random schedules: crashes (some in the middle of rounds), restarts, rival elections, lossy network. After every
 * step the live replicas must agree on their common committed prefix; at the end every acknowledged request must
 * be applied exactly once. */
static void random_schedule(uint64_t seed)
{
    replica_ring_t *ring = make_ring(5, 20, seed);
    uint64_t rng = seed * 7919u;
    uint32_t acknowledged = 0;
    for (unsigned step = 0; step < 150; step++) {
        unsigned node = (unsigned)(next_random(&rng) % 5), primary;
        replica_ballot_t generation;
        uint64_t slot;
        switch (next_random(&rng) % 8) {
        case 0:
            replica_ring_crash_after(ring, node, (unsigned)(next_random(&rng) % 10));
            break;
        case 1:
            replica_ring_restart(ring, node);
            break;
        case 2:
            replica_ring_elect(ring, node);
            break;
        case 3:
            replica_ring_tick(ring);
            break;
        default:
            if (replica_ring_primary(ring, &primary, &generation) == REPLICA_OK) {
                char text[32];
                snprintf(text, sizeof text, "r%u", (unsigned)(acknowledged + 1));
                replica_request_t r = {.client = 3, .seq = acknowledged + 1, .text = text};
                if (replica_ring_submit(ring, primary, &r, &slot) == REPLICA_OK)
                    acknowledged++;
            } else {
                replica_ring_tick(ring);
            }
        }
        if (!logs_agree(ring)) {
            fprintf(stderr, "seed %" PRIu64 ", step %u: replicas disagree\n", seed, step);
            failures++;
            break;
        }
    }
    for (unsigned i = 0; i < 5; i++)
        replica_ring_restart(ring, i); /* also cancels crashes still armed */
    /* The last unacknowledged request may be chosen after all; a client would retry it, so do that. */
    uint64_t slot;
    char text[32];
    snprintf(text, sizeof text, "r%u", (unsigned)(acknowledged + 1));
    CHECK_EQ(submit(ring, 3, acknowledged + 1, text, &slot), REPLICA_OK);
    acknowledged++;
    uint64_t committed = settle(ring);
    unsigned primary = 0;
    CHECK(find_primary(ring, &primary));
    CHECK(logs_agree(ring));
    unsigned *seen = calloc(acknowledged + 1u, sizeof *seen);
    for (uint64_t s = 0; seen != NULL && s < committed; s++) {
        replica_entry_t e;
        CHECK_EQ(replica_ring_read(ring, primary, s, &e), REPLICA_OK);
        if (e.kind == REPLICA_ENTRY_COMMAND && !e.duplicate && e.seq <= acknowledged)
            seen[e.seq]++;
    }
    for (uint32_t q = 1; seen != NULL && q <= acknowledged; q++)
        CHECK_EQ(seen[q], 1);
    free(seen);
    replica_ring_destroy(ring);
}

static void test_random_schedules(void)
{
    for (uint64_t seed = 1; seed <= 300; seed++)
        random_schedule(seed);
}

/* ---- runner ----------------------------------------------------------------------------------------------- */

typedef struct test {
    const char *name;
    void (*run)(void);
} test_t;

static const test_t tests[] = {
    {"agreement", test_agreement},
    {"election_by_timeout_follows_ring_order", test_election_by_timeout_follows_ring_order},
    {"failover_keeps_accepted_value", test_failover_keeps_accepted_value},
    {"minority_value_is_replaced", test_minority_value_is_replaced},
    {"highest_ballot_wins", test_highest_ballot_wins},
    {"no_quorum_then_recovery", test_no_quorum_then_recovery},
    {"higher_ballot_deposes_primary", test_higher_ballot_deposes_primary},
    {"message_loss", test_message_loss},
    {"request_numbers", test_request_numbers},
    {"invalid_arguments_and_capacity", test_invalid_arguments_and_capacity},
    {"random_schedules", test_random_schedules},
};

static bool selected(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return true;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i]) != NULL)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    int failed_tests = 0, ran = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!selected(tests[i].name, argc, argv))
            continue;
        int before = failures;
        tests[i].run();
        ran++;
        if (failures != before)
            failed_tests++;
        printf("%s %s\n", failures == before ? "ok  " : "FAIL", tests[i].name);
    }
    printf("%d tests, %d failed\n", ran, failed_tests);
    return failed_tests == 0 && ran > 0 ? 0 : 1;
}
