/*
 * agent.h - the goal-state agent: applies a parsed script through the tracker and keeps the replicated state.
 *
 * The agent never changes its state directly. A change (set, unset) is appended to the replicated log through the
 * tracker; the state is then brought up to date by applying the committed log in slot order (state machine
 * replication), skipping no-ops and duplicates. So the state the agent shows is the state every replica agrees on.
 */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <stdint.h>
#include <stdio.h>

#include <tracker.h>

#include "goal.h"

#define STATE_MAX 256 /* keys */

typedef struct state_entry {
    char key[GOAL_KEY_MAX];
    goal_value_t value;
} state_entry_t;

/* The replicated key/value state, kept sorted by key so that it always prints the same way. */
typedef struct goal_state {
    state_entry_t entries[STATE_MAX];
    size_t count;
    uint64_t applied; /* slots of the log applied so far */
} goal_state_t;

const goal_value_t *state_get(const goal_state_t *state, const char *key);
bool state_set(goal_state_t *state, const char *key, const goal_value_t *value);
void state_unset(goal_state_t *state, const char *key);
void state_print(const goal_state_t *state, FILE *out);

typedef struct agent {
    replica_ring_t *ring;
    tracker_t *tracker;
    tracker_client_t client;
    goal_state_t state;
    replica_ballot_t generation; /* the tracker's generation last reported */
    int victim;                  /* the replica the last failover crashed, or -1 */
    unsigned changes, failovers, expectations, unmet;
    FILE *out;
} agent_t;

/* Run the script; returns 0 if every change was applied and every expectation met, else 1. */
int agent_run(agent_t *agent, const goal_script_t *script);

#endif /* AGENT_AGENT_H */
