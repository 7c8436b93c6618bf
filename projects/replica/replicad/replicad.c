/*
 * replicad - run a simulated ring of replicas: a primary is elected, a client appends commands, the primary is
 * crashed at seeded random points (in the middle of its rounds), failure detection elects a successor, the client
 * retries, and at the end the committed log is printed and checked.
 *
 *   replicad [--replicas N] [--commands N] [--loss PERCENT] [--failovers N] [--seed N]
 *
 * Checks (exit 1 if one fails): every live replica holds the same committed log (agreement), and every command
 * was applied exactly once even though some were retried (a retried command that was chosen twice shows up as a
 * duplicate, which is not applied). The output depends only on the arguments.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <replica.h>

#define MAX_TICKS 64 /* a new primary must emerge within this many ticks */

typedef struct options {
    unsigned replicas, commands, loss, failovers;
    uint64_t seed;
} options_t;

static int usage(const char *why)
{
    fprintf(stderr, "replicad: %s\n", why);
    fprintf(stderr, "usage: replicad [--replicas N] [--commands N] [--loss PERCENT] [--failovers N] [--seed N]\n");
    return 2;
}

static bool parse_number(const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    if (text == NULL || *text < '0' || *text > '9')
        return false;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

static int parse_options(int argc, char **argv, options_t *o)
{
    *o = (options_t){.replicas = 5, .commands = 20, .loss = 10, .failovers = 2, .seed = 1};
    for (int i = 1; i < argc; i += 2) {
        uint64_t v;
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!parse_number(value, 1000000, &v))
            return usage(value == NULL ? "missing value" : "expected a number");
        if (strcmp(argv[i], "--replicas") == 0 && v >= 1 && v <= REPLICA_MAX_NODES)
            o->replicas = (unsigned)v;
        else if (strcmp(argv[i], "--commands") == 0 && v <= 10000)
            o->commands = (unsigned)v;
        else if (strcmp(argv[i], "--loss") == 0 && v <= 50)
            o->loss = (unsigned)v;
        else if (strcmp(argv[i], "--failovers") == 0 && v <= 100)
            o->failovers = (unsigned)v;
        else if (strcmp(argv[i], "--seed") == 0)
            o->seed = v;
        else
            return usage("unknown option or value out of range");
    }
    return 0;
}

/* The chaos monkey's own generator, so that choosing crash points does not disturb the network's losses. */
static uint64_t chaos_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t now(replica_ring_t *ring)
{
    replica_stats_t stats;
    replica_ring_stats(ring, &stats);
    return stats.ticks;
}

static void restart_crashed(replica_ring_t *ring)
{
    for (unsigned i = 0; i < replica_ring_size(ring); i++) {
        replica_node_status_t st;
        replica_ring_status(ring, i, &st);
        if (!st.up) {
            replica_ring_restart(ring, i);
            printf("node %u restarted\n", i);
        }
    }
}

/* Let time pass until a primary emerges; if none can (too few replicas up), bring the crashed ones back. */
static bool await_primary(replica_ring_t *ring, unsigned *primary)
{
    replica_ballot_t ballot;
    for (unsigned t = 0; t < 2 * MAX_TICKS; t++) {
        if (replica_ring_primary(ring, primary, &ballot) == REPLICA_OK) {
            printf("tick %" PRIu64 ": node %u is primary (ballot %" PRIu64 ".%u)\n", now(ring), *primary,
                   REPLICA_BALLOT_ROUND(ballot), REPLICA_BALLOT_NODE(ballot));
            return true;
        }
        if (t == MAX_TICKS)
            restart_crashed(ring);
        replica_ring_tick(ring);
    }
    return false;
}

/* Append one command, riding out failovers: the client keeps its (client, seq) across retries. */
static bool append(replica_ring_t *ring, unsigned *primary, unsigned index)
{
    char text[REPLICA_CMD_MAX];
    snprintf(text, sizeof text, "put key-%02u = %u", index, index * index);
    replica_request_t request = {.client = 1, .seq = index + 1, .text = text};
    for (unsigned attempt = 0; attempt < 16; attempt++) {
        uint64_t slot;
        replica_status_t status = replica_ring_submit(ring, *primary, &request, &slot);
        if (status == REPLICA_OK) {
            printf("slot %3" PRIu64 "  %s%s\n", slot, text, attempt > 0 ? "  (retried)" : "");
            return true;
        }
        printf("node %u: %s\n", *primary, replica_strerror(status));
        if (!await_primary(ring, primary))
            return false;
        restart_crashed(ring);
    }
    return false;
}

/* Bring every replica back and tick until all of them hold the primary's committed prefix (the primary's
 * heartbeats carry the catch-up). A crash armed during the last command may still fire here: then a successor is
 * elected first. */
static bool settle(replica_ring_t *ring, unsigned *primary, uint64_t *slots)
{
    for (unsigned t = 0; t < 4 * MAX_TICKS; t++) {
        replica_ballot_t ballot;
        replica_node_status_t lead, st;
        restart_crashed(ring);
        if (replica_ring_primary(ring, primary, &ballot) == REPLICA_OK) {
            bool settled = true;
            replica_ring_status(ring, *primary, &lead);
            for (unsigned i = 0; i < replica_ring_size(ring); i++) {
                replica_ring_status(ring, i, &st);
                settled &= st.up && st.committed == lead.committed;
            }
            if (settled) {
                *slots = lead.committed;
                printf("settled at tick %" PRIu64 ": node %u is primary, every replica holds %" PRIu64 " slots\n",
                       now(ring), *primary, *slots);
                return true;
            }
        }
        replica_ring_tick(ring);
    }
    printf("the ring did not settle\n");
    return false;
}

static bool same_entry(const replica_entry_t *a, const replica_entry_t *b)
{
    return a->kind == b->kind && a->client == b->client && a->seq == b->seq && a->duplicate == b->duplicate &&
           strcmp(a->text, b->text) == 0;
}

/* Print the primary's log; check it against every other replica and count applications per command. */
static bool print_and_check(replica_ring_t *ring, unsigned primary, uint64_t slots, unsigned commands)
{
    unsigned *applied = calloc(commands + 1u, sizeof *applied);
    bool agree = true;
    if (applied == NULL)
        return false;
    printf("\ncommitted log (%" PRIu64 " slots, as node %u holds it):\n", slots, primary);
    for (uint64_t s = 0; s < slots; s++) {
        replica_entry_t e, other;
        replica_ring_read(ring, primary, s, &e);
        if (e.kind == REPLICA_ENTRY_NOOP)
            printf("  %4" PRIu64 "  no-op\n", s);
        else
            printf("  %4" PRIu64 "  %s%s\n", s, e.text, e.duplicate ? "  [duplicate, not applied]" : "");
        if (e.kind == REPLICA_ENTRY_COMMAND && !e.duplicate && e.seq >= 1 && e.seq <= commands)
            applied[e.seq]++;
        for (unsigned i = 0; i < replica_ring_size(ring); i++)
            if (replica_ring_read(ring, i, s, &other) != REPLICA_OK || !same_entry(&e, &other))
                agree = false;
    }
    unsigned once = 0;
    for (unsigned c = 1; c <= commands; c++)
        once += applied[c] == 1;
    free(applied);
    printf("\nagreement: %s (%u replicas, %" PRIu64 " slots)\n", agree ? "ok" : "FAILED", replica_ring_size(ring),
           slots);
    printf("exactly once: %s (%u of %u commands applied once)\n", once == commands ? "ok" : "FAILED", once,
           commands);
    return agree && once == commands;
}

int main(int argc, char **argv)
{
    options_t o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc;
    printf("replicad: %u replica%s, %u commands, %u%% loss, %u failovers, seed %" PRIu64 "\n", o.replicas,
           o.replicas == 1 ? "" : "s", o.commands, o.loss, o.failovers, o.seed);

    replica_config_t config = {.replicas = o.replicas, .loss_percent = o.loss, .seed = o.seed,
                               .capacity = 2 * o.commands + 64};
    replica_ring_t *ring;
    replica_status_t status = replica_ring_create(&config, &ring);
    if (status != REPLICA_OK) {
        fprintf(stderr, "replicad: %s\n", replica_strerror(status));
        return 1;
    }
    unsigned primary;
    bool ok = await_primary(ring, &primary);
    uint64_t chaos = o.seed ^ 0x5eedc4a05ull;
    unsigned done = 0;
    for (unsigned i = 0; ok && i < o.commands; i++) {
        if (done < o.failovers && i == (done + 1) * o.commands / (o.failovers + 1)) {
            /* The primary handles 1 + replicas messages per command (its own ACCEPT, then every ACCEPTED), so
             * this crash lands inside the next command's round: before or after a majority has accepted. */
            unsigned after = (unsigned)(chaos_next(&chaos) % (o.replicas + 1));
            printf("chaos: node %u will crash after handling %u more messages\n", primary, after);
            replica_ring_crash_after(ring, primary, after);
            done++;
        }
        ok = append(ring, &primary, i);
    }
    uint64_t slots = 0;
    if (!ok)
        printf("no primary could be elected\n");
    ok = ok && settle(ring, &primary, &slots);
    ok = ok && print_and_check(ring, primary, slots, o.commands);
    replica_stats_t stats;
    replica_ring_stats(ring, &stats);
    printf("network: %" PRIu64 " messages sent, %" PRIu64 " delivered, %" PRIu64 " lost; %" PRIu64
           " elections, %" PRIu64 " crashes, %" PRIu64 " ticks\n",
           stats.sent, stats.delivered, stats.lost, stats.elections, stats.crashes, stats.ticks);
    replica_ring_destroy(ring);
    return ok ? 0 : 1;
}
