/*
 * tracker.c - the primary tracker (see tracker.h for what it promises).
 *
 * Lock order, always: throttle, then the tracker's rwlock, then the ring's own lock (inside replica_ring_*). The
 * rwlock guards only the cached (primary, generation) and the history; statistics are C11 atomics.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <tracker.h>

#include "throttle.h"

#define LOCATE_ROUNDS 64 /* ticks a search may let pass waiting for an election */

struct tracker {
    replica_ring_t *ring;
    unsigned max_attempts;
    throttle_t throttle;

    pthread_rwlock_t lock; /* guards the fields below */
    bool known;
    unsigned primary;
    replica_ballot_t generation;
    replica_ballot_t history[TRACKER_HISTORY];
    uint64_t adopted;      /* generations adopted so far; history holds the last TRACKER_HISTORY */

    atomic_uint_fast32_t next_client;
    atomic_uint_fast64_t requests, failures, ticks;
};

/* One operation against the primary; the tracker wraps it with throttling, lookup and failover. */
typedef replica_status_t (*operation_t)(replica_ring_t *ring, unsigned primary, void *arg);

const char *tracker_strerror(tracker_status_t status)
{
    switch (status) {
    case TRACKER_OK: return "ok";
    case TRACKER_E_INVALID: return "invalid argument";
    case TRACKER_E_UNAVAILABLE: return "no primary available";
    case TRACKER_E_NOT_COMMITTED: return "slot not committed";
    case TRACKER_E_FULL: return "replicated log is full";
    case TRACKER_E_CLIENTS: return "no client id left";
    case TRACKER_E_NOMEM: return "out of memory";
    }
    return "unknown status";
}

tracker_status_t tracker_create(replica_ring_t *ring, const tracker_config_t *config, tracker_t **out)
{
    if (ring == NULL || out == NULL)
        return TRACKER_E_INVALID;
    tracker_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return TRACKER_E_NOMEM;
    unsigned inflight = config != NULL && config->max_inflight != 0 ? config->max_inflight : TRACKER_DEFAULT_INFLIGHT;
    t->ring = ring;
    t->max_attempts = config != NULL && config->max_attempts != 0 ? config->max_attempts : TRACKER_DEFAULT_ATTEMPTS;
    atomic_init(&t->next_client, 1);
    if (!throttle_init(&t->throttle, inflight)) {
        free(t);
        return TRACKER_E_NOMEM;
    }
    if (pthread_rwlock_init(&t->lock, NULL) != 0) {
        throttle_destroy(&t->throttle);
        free(t);
        return TRACKER_E_NOMEM;
    }
    *out = t;
    return TRACKER_OK;
}

void tracker_destroy(tracker_t *t)
{
    if (t == NULL)
        return;
    pthread_rwlock_destroy(&t->lock);
    throttle_destroy(&t->throttle);
    free(t);
}

/* The shared side: read the cache. */
static bool lookup(tracker_t *t, unsigned *primary, replica_ballot_t *generation)
{
    pthread_rwlock_rdlock(&t->lock);
    bool known = t->known;
    *primary = t->primary;
    *generation = t->generation;
    pthread_rwlock_unlock(&t->lock);
    return known;
}

/* Is `candidate` really the primary of `generation`? Hints can be stale; ask the candidate itself. */
static bool confirm(tracker_t *t, unsigned candidate, replica_ballot_t generation)
{
    replica_node_status_t st;
    return replica_ring_status(t->ring, candidate, &st) == REPLICA_OK && st.up && st.primary &&
           st.promised == generation;
}

/* Search the ring: ask each replica who it believes the primary is, starting after the stale primary (its
 * successor is the likeliest heir), and confirm the answer. If nobody knows a primary newer than `stale`, let
 * simulated time pass (failure detection and elections run on ticks) and ask again. Called with the write lock. */
static bool locate(tracker_t *t, replica_ballot_t stale, unsigned *primary, replica_ballot_t *generation)
{
    unsigned n = replica_ring_size(t->ring);
    unsigned start = t->known ? t->primary + 1 : 0;
    for (unsigned round = 0; round < LOCATE_ROUNDS; round++) {
        for (unsigned k = 0; k < n; k++) {
            unsigned candidate;
            replica_ballot_t g;
            if (replica_ring_whois(t->ring, (start + k) % n, &candidate, &g) != REPLICA_OK || g <= stale)
                continue;
            if (confirm(t, candidate, g)) {
                *primary = candidate;
                *generation = g;
                return true;
            }
        }
        replica_ring_tick(t->ring);
        atomic_fetch_add(&t->ticks, 1);
    }
    return false;
}

/* The exclusive side: re-find the primary, unless another thread already did since `stale` was read. This check
 * under the write lock is what makes the search happen once per generation. */
static void refresh(tracker_t *t, replica_ballot_t stale)
{
    pthread_rwlock_wrlock(&t->lock);
    if (!t->known || t->generation == stale) {
        unsigned primary;
        replica_ballot_t generation;
        if (locate(t, t->known ? t->generation : 0, &primary, &generation)) {
            t->known = true;
            t->primary = primary;
            t->generation = generation;
            t->history[t->adopted % TRACKER_HISTORY] = generation;
            t->adopted++;
        }
    }
    pthread_rwlock_unlock(&t->lock);
}

static bool is_failover(replica_status_t status)
{
    return status == REPLICA_E_DOWN || status == REPLICA_E_NOT_PRIMARY || status == REPLICA_E_NO_QUORUM;
}

static tracker_status_t from_replica(replica_status_t status)
{
    switch (status) {
    case REPLICA_OK: return TRACKER_OK;
    case REPLICA_E_NOT_COMMITTED: return TRACKER_E_NOT_COMMITTED;
    case REPLICA_E_FULL: return TRACKER_E_FULL;
    case REPLICA_E_NOMEM: return TRACKER_E_NOMEM;
    default: return TRACKER_E_INVALID;
    }
}

/* Run `op` against the primary: wait for the throttle, look the primary up, and on a failover refresh and retry. */
static tracker_status_t call(tracker_t *t, operation_t op, void *arg)
{
    tracker_status_t result = TRACKER_E_UNAVAILABLE;
    throttle_enter(&t->throttle);
    for (unsigned attempt = 0; attempt < t->max_attempts; attempt++) {
        unsigned primary;
        replica_ballot_t generation;
        if (!lookup(t, &primary, &generation)) {
            refresh(t, 0);
            continue;
        }
        replica_status_t status = op(t->ring, primary, arg);
        if (!is_failover(status)) {
            result = from_replica(status);
            break;
        }
        atomic_fetch_add(&t->failures, 1);
        refresh(t, generation);
    }
    throttle_leave(&t->throttle);
    if (result == TRACKER_OK)
        atomic_fetch_add(&t->requests, 1);
    return result;
}

tracker_status_t tracker_primary(tracker_t *t, unsigned *primary, replica_ballot_t *generation)
{
    if (t == NULL || primary == NULL || generation == NULL)
        return TRACKER_E_INVALID;
    if (!lookup(t, primary, generation)) {
        refresh(t, 0);
        if (!lookup(t, primary, generation))
            return TRACKER_E_UNAVAILABLE;
    }
    return TRACKER_OK;
}

tracker_status_t tracker_client_open(tracker_t *t, tracker_client_t *client)
{
    if (t == NULL || client == NULL)
        return TRACKER_E_INVALID;
    uint_fast32_t id = atomic_fetch_add(&t->next_client, 1);
    if (id >= REPLICA_MAX_CLIENTS)
        return TRACKER_E_CLIENTS;
    client->id = (uint32_t)id;
    client->next_seq = 1;
    return TRACKER_OK;
}

typedef struct submit_args {
    const replica_request_t *request;
    uint64_t *slot;
} submit_args_t;

static replica_status_t do_submit(replica_ring_t *ring, unsigned primary, void *arg)
{
    submit_args_t *a = arg;
    return replica_ring_submit(ring, primary, a->request, a->slot);
}

tracker_status_t tracker_submit(tracker_t *t, tracker_client_t *client, const char *command, uint64_t *slot)
{
    if (t == NULL || client == NULL || command == NULL || slot == NULL || client->id == 0)
        return TRACKER_E_INVALID;
    if (strlen(command) >= REPLICA_CMD_MAX)
        return TRACKER_E_INVALID;
    /* Every attempt of this request carries the same number, so a copy chosen before a failover is not applied
     * twice. The number is used up even on failure: the request may have been chosen anyway. */
    replica_request_t request = {.client = client->id, .seq = client->next_seq++, .text = command};
    submit_args_t args = {.request = &request, .slot = slot};
    return call(t, do_submit, &args);
}

typedef struct read_args {
    uint64_t slot;
    replica_entry_t *entry;
} read_args_t;

/* Read from the primary only: a deposed primary may lag behind, and its silence would look like "not committed". */
static replica_status_t do_read(replica_ring_t *ring, unsigned primary, void *arg)
{
    read_args_t *a = arg;
    replica_node_status_t st;
    replica_status_t status = replica_ring_status(ring, primary, &st);
    if (status != REPLICA_OK)
        return status;
    if (!st.up)
        return REPLICA_E_DOWN;
    if (!st.primary)
        return REPLICA_E_NOT_PRIMARY;
    return replica_ring_read(ring, primary, a->slot, a->entry);
}

tracker_status_t tracker_read(tracker_t *t, uint64_t slot, replica_entry_t *entry)
{
    if (t == NULL || entry == NULL)
        return TRACKER_E_INVALID;
    read_args_t args = {.slot = slot, .entry = entry};
    return call(t, do_read, &args);
}

size_t tracker_history(tracker_t *t, replica_ballot_t *out, size_t max)
{
    pthread_rwlock_rdlock(&t->lock);
    uint64_t kept = t->adopted < TRACKER_HISTORY ? t->adopted : TRACKER_HISTORY;
    size_t n = 0;
    for (uint64_t i = t->adopted - kept; i < t->adopted && n < max; i++)
        out[n++] = t->history[i % TRACKER_HISTORY];
    pthread_rwlock_unlock(&t->lock);
    return n;
}

void tracker_stats(tracker_t *t, tracker_stats_t *out)
{
    throttle_counts_t counts;
    throttle_counts(&t->throttle, &counts);
    pthread_rwlock_rdlock(&t->lock);
    out->refreshes = t->adopted;
    out->primary = t->primary;
    out->generation = t->known ? t->generation : 0;
    pthread_rwlock_unlock(&t->lock);
    out->requests = atomic_load(&t->requests);
    out->failures = atomic_load(&t->failures);
    out->ticks = atomic_load(&t->ticks);
    out->waits = counts.waits;
    out->peak_inflight = counts.peak;
}
