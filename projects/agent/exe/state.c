/*
 * state.c - the replicated key/value state: a sorted array, small and predictable.
 */
#include <string.h>

#include "agent.h"

/* Index of `key`, or of where it would be inserted; *found says which. */
static size_t position(const goal_state_t *state, const char *key, bool *found)
{
    size_t lo = 0, hi = state->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(state->entries[mid].key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

const goal_value_t *state_get(const goal_state_t *state, const char *key)
{
    bool found;
    size_t i = position(state, key, &found);
    return found ? &state->entries[i].value : NULL;
}

bool state_set(goal_state_t *state, const char *key, const goal_value_t *value)
{
    bool found;
    size_t i = position(state, key, &found);
    if (!found) {
        if (state->count == STATE_MAX)
            return false;
        memmove(&state->entries[i + 1], &state->entries[i], (state->count - i) * sizeof state->entries[0]);
        state->count++;
        snprintf(state->entries[i].key, sizeof state->entries[i].key, "%s", key);
    }
    state->entries[i].value = *value;
    return true;
}

void state_unset(goal_state_t *state, const char *key)
{
    bool found;
    size_t i = position(state, key, &found);
    if (found) {
        memmove(&state->entries[i], &state->entries[i + 1], (state->count - i - 1) * sizeof state->entries[0]);
        state->count--;
    }
}

void state_print(const goal_state_t *state, FILE *out)
{
    char value[2 * GOAL_VALUE_MAX + 2];
    fprintf(out, "state: %zu key%s, %llu slot%s applied\n", state->count, state->count == 1 ? "" : "s",
            (unsigned long long)state->applied, state->applied == 1 ? "" : "s");
    for (size_t i = 0; i < state->count; i++) {
        goal_format_value(&state->entries[i].value, value, sizeof value);
        fprintf(out, "  %s = %s\n", state->entries[i].key, value);
    }
}
