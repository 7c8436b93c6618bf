/*
 * agent.c - apply a goal-state script through the tracker (see agent.h).
 */
#include <inttypes.h>
#include <string.h>

#include "agent.h"

/* Say so when the tracker has followed the primary to a new generation. */
static void report_primary(agent_t *a)
{
    tracker_stats_t stats;
    tracker_stats(a->tracker, &stats);
    if (stats.generation != a->generation) {
        fprintf(a->out, "tracker: primary is node %u, generation %" PRIu64 ".%u\n", stats.primary,
                REPLICA_BALLOT_ROUND(stats.generation), REPLICA_BALLOT_NODE(stats.generation));
        a->generation = stats.generation;
    }
}

/* Apply one committed entry of the log to the state. */
static bool apply_entry(agent_t *a, const replica_entry_t *e)
{
    if (e->kind == REPLICA_ENTRY_NOOP) {
        fprintf(a->out, "slot %" PRIu64 ": no-op\n", e->slot);
        return true;
    }
    if (e->duplicate) {
        fprintf(a->out, "slot %" PRIu64 ": %s (a retried duplicate, not applied again)\n", e->slot, e->text);
        return true;
    }
    goal_script_t parsed = {0};
    unsigned errors = goal_parse("log", e->text, strlen(e->text), &parsed, a->out);
    bool ok = errors == 0 && parsed.count == 1 &&
              (parsed.commands[0].op == GOAL_SET || parsed.commands[0].op == GOAL_UNSET);
    if (ok && parsed.commands[0].op == GOAL_SET)
        ok = state_set(&a->state, parsed.commands[0].key, &parsed.commands[0].value);
    else if (ok)
        state_unset(&a->state, parsed.commands[0].key);
    fprintf(a->out, "slot %" PRIu64 ": %s%s\n", e->slot, e->text, ok ? "" : " (cannot be applied)");
    goal_script_free(&parsed);
    return ok;
}

/* Bring the state up to date: apply every committed slot not applied yet, in order. */
static bool catch_up(agent_t *a)
{
    for (;;) {
        replica_entry_t e;
        tracker_status_t status = tracker_read(a->tracker, a->state.applied, &e);
        if (status == TRACKER_E_NOT_COMMITTED)
            return true;
        if (status != TRACKER_OK) {
            fprintf(a->out, "agent: cannot read slot %" PRIu64 ": %s\n", a->state.applied, tracker_strerror(status));
            return false;
        }
        if (!apply_entry(a, &e))
            return false;
        a->state.applied++;
    }
}

static bool change(agent_t *a, const goal_command_t *c)
{
    char text[REPLICA_CMD_MAX];
    uint64_t slot;
    if (!goal_format(c, text, sizeof text)) {
        fprintf(a->out, "agent: line %u: the change does not fit in a log entry (%d bytes)\n", c->line,
                REPLICA_CMD_MAX - 1);
        return false;
    }
    tracker_status_t status = tracker_submit(a->tracker, &a->client, text, &slot);
    report_primary(a);
    if (status != TRACKER_OK) {
        fprintf(a->out, "agent: line %u: `%s` was not applied: %s\n", c->line, text, tracker_strerror(status));
        return false;
    }
    a->changes++;
    return catch_up(a);
}

static void expect(agent_t *a, const goal_command_t *c)
{
    char text[2 * REPLICA_CMD_MAX], actual[2 * GOAL_VALUE_MAX + 2];
    const goal_value_t *value = state_get(&a->state, c->key);
    bool met = c->op == GOAL_EXPECT_ABSENT ? value == NULL
               : c->op == GOAL_EXPECT_EQ  ? value != NULL && goal_value_equal(value, &c->value)
                                          : value == NULL || !goal_value_equal(value, &c->value);
    goal_format(c, text, sizeof text);
    a->expectations++;
    if (met) {
        fprintf(a->out, "%s: ok\n", text);
        return;
    }
    a->unmet++;
    if (value != NULL)
        goal_format_value(value, actual, sizeof actual);
    fprintf(a->out, "%s: NOT MET (line %u: %s%s)\n", text, c->line, value != NULL ? "it is " : "it is absent",
            value != NULL ? actual : "");
}

/* Simulation: crash the current primary; bring back the one crashed last time, so a majority stays up. */
static void failover(agent_t *a)
{
    unsigned primary;
    replica_ballot_t generation;
    if (a->victim >= 0) {
        replica_ring_restart(a->ring, (unsigned)a->victim);
        fprintf(a->out, "failover: node %d restarted\n", a->victim);
        a->victim = -1;
    }
    if (replica_ring_primary(a->ring, &primary, &generation) != REPLICA_OK) {
        fprintf(a->out, "failover: no primary to crash\n");
        return;
    }
    replica_ring_crash(a->ring, primary);
    fprintf(a->out, "failover: node %u (the primary) crashed\n", primary);
    a->victim = (int)primary;
    a->failovers++;
}

int agent_run(agent_t *a, const goal_script_t *script)
{
    bool ok = true;
    a->victim = -1;
    for (size_t i = 0; ok && i < script->count; i++) {
        const goal_command_t *c = &script->commands[i];
        switch (c->op) {
        case GOAL_SET:
        case GOAL_UNSET:
            ok = change(a, c);
            break;
        case GOAL_EXPECT_EQ:
        case GOAL_EXPECT_NE:
        case GOAL_EXPECT_ABSENT:
            expect(a, c);
            break;
        case GOAL_SHOW:
            state_print(&a->state, a->out);
            break;
        case GOAL_FAILOVER:
            failover(a);
            break;
        }
    }
    replica_stats_t ring;
    replica_ring_stats(a->ring, &ring);
    fprintf(a->out, "ring: %" PRIu64 " messages sent, %" PRIu64 " lost; %" PRIu64 " election%s, %" PRIu64 " crash%s\n",
            ring.sent, ring.lost, ring.elections, ring.elections == 1 ? "" : "s", ring.crashes,
            ring.crashes == 1 ? "" : "es");
    fprintf(a->out, "agent: %u change%s in %" PRIu64 " slot%s, %u failover%s, %u of %u expectation%s met\n",
            a->changes, a->changes == 1 ? "" : "s", a->state.applied, a->state.applied == 1 ? "" : "s",
            a->failovers, a->failovers == 1 ? "" : "s", a->expectations - a->unmet, a->expectations,
            a->expectations == 1 ? "" : "s");
    return ok && a->unmet == 0 ? 0 : 1;
}
