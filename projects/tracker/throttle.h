/*
 * throttle.h - bounded concurrency, first come first served (private to the tracker).
 *
 * A counting semaphore built from a mutex and a condition variable, with tickets for fairness: each caller takes
 * the next ticket, and ticket t may enter once t < released + limit, where `released` counts the callers that
 * have left. So at most `limit` callers are inside at once, and they enter in arrival order (none starves).
 */
#ifndef TRACKER_THROTTLE_H
#define TRACKER_THROTTLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct throttle {
    pthread_mutex_t lock;
    pthread_cond_t turn;   /* broadcast whenever a caller leaves */
    unsigned limit;
    uint64_t next_ticket;  /* tickets handed out */
    uint64_t released;     /* callers that have left */
    unsigned inside;
    unsigned peak;
    unsigned waiting;
    uint64_t waits;        /* callers that could not enter at once */
} throttle_t;

bool throttle_init(throttle_t *throttle, unsigned limit);
void throttle_destroy(throttle_t *throttle);
void throttle_enter(throttle_t *throttle);
void throttle_leave(throttle_t *throttle);

typedef struct throttle_counts {
    unsigned inside, peak, waiting;
    uint64_t waits;
} throttle_counts_t;

void throttle_counts(throttle_t *throttle, throttle_counts_t *out);

#endif /* TRACKER_THROTTLE_H */
