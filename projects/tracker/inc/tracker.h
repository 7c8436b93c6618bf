/*
 * tracker.h - "where is the primary?" for many threads at once, over a replica ring (replica.h).
 *
 * Clients of a replicated service must send their requests to the primary, and the primary moves on failover. A
 * tracker caches where it is. Every request reads that cache under the shared side of a reader-writer lock, so
 * lookups from many threads never wait for one another. When a request fails because the cached primary is gone
 * (crashed, deposed, or cut off from its quorum), the thread that notices takes the exclusive side and searches
 * the ring for the new primary; threads that failed against the same stale generation queue behind it and find
 * the cache already fresh. So the ring is searched exactly once per generation, however many threads noticed.
 *
 * Requests are also throttled: at most max_inflight are in flight at once and later callers wait their turn, first
 * come first served (bounded concurrency, as a client library protects a service from a storm of its own retries).
 *
 * Writes carry a client id and a request number, so that a request retried across a failover applies once.
 */
#ifndef TRACKER_H
#define TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include <replica.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Building tracker.dll exports this API and hides everything else; the static library needs no decoration. */
#if defined(TRACKER_DLL)
#define TRACKER_API __attribute__((visibility("default")))
#else
#define TRACKER_API
#endif

#define TRACKER_DEFAULT_INFLIGHT 4
#define TRACKER_DEFAULT_ATTEMPTS 32
#define TRACKER_HISTORY 64 /* generations remembered by tracker_history */

typedef enum tracker_status {
    TRACKER_OK = 0,
    TRACKER_E_INVALID,       /* a bad argument */
    TRACKER_E_UNAVAILABLE,   /* no primary could be reached within max_attempts */
    TRACKER_E_NOT_COMMITTED, /* tracker_read: the slot is not committed yet */
    TRACKER_E_FULL,          /* the replicated log is full */
    TRACKER_E_CLIENTS,       /* no client id left */
    TRACKER_E_NOMEM
} tracker_status_t;

typedef struct tracker_config {
    unsigned max_inflight; /* requests in flight at once; 0 means TRACKER_DEFAULT_INFLIGHT */
    unsigned max_attempts; /* tries per request across failovers; 0 means TRACKER_DEFAULT_ATTEMPTS */
} tracker_config_t;

/* A client: one per thread, since a client's requests are numbered in the order it sends them. */
typedef struct tracker_client {
    uint32_t id;
    uint32_t next_seq;
} tracker_client_t;

typedef struct tracker_stats {
    uint64_t requests;          /* completed successfully */
    uint64_t failures;          /* attempts that failed against a primary that was no longer one */
    uint64_t refreshes;         /* searches of the ring that adopted a new generation, the first one included */
    uint64_t ticks;             /* simulated time the tracker let pass while waiting for an election */
    uint64_t waits;             /* requests that had to wait for the throttle */
    unsigned peak_inflight;     /* highest number of requests in flight at once */
    unsigned primary;           /* the cached primary ... */
    replica_ballot_t generation; /* ... and its generation (0: none known yet) */
} tracker_stats_t;

typedef struct tracker tracker_t;

TRACKER_API const char *tracker_strerror(tracker_status_t status);

/* One tracker per ring: it hands out the ring's client ids. The ring must outlive the tracker. */
TRACKER_API tracker_status_t tracker_create(replica_ring_t *ring, const tracker_config_t *config, tracker_t **out);
TRACKER_API void tracker_destroy(tracker_t *tracker);

/* Where is the primary? Answered from the cache; searches the ring only if no primary is known yet. */
TRACKER_API tracker_status_t tracker_primary(tracker_t *tracker, unsigned *primary, replica_ballot_t *generation);

TRACKER_API tracker_status_t tracker_client_open(tracker_t *tracker, tracker_client_t *client);

/* Append a command to the replicated log through the primary, following it across failovers. */
TRACKER_API tracker_status_t tracker_submit(tracker_t *tracker, tracker_client_t *client, const char *command,
                                            uint64_t *slot);

/* Read a committed slot from the primary. */
TRACKER_API tracker_status_t tracker_read(tracker_t *tracker, uint64_t slot, replica_entry_t *entry);

/* The generations this tracker adopted, oldest first (the last TRACKER_HISTORY of them); returns how many. */
TRACKER_API size_t tracker_history(tracker_t *tracker, replica_ballot_t *out, size_t max);

TRACKER_API void tracker_stats(tracker_t *tracker, tracker_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif /* TRACKER_H */
