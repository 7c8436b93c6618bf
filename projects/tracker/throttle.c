/*
 * throttle.c - bounded concurrency with tickets (see throttle.h).
 */
#include "throttle.h"

bool throttle_init(throttle_t *throttle, unsigned limit)
{
    *throttle = (throttle_t){.limit = limit > 0 ? limit : 1};
    if (pthread_mutex_init(&throttle->lock, NULL) != 0)
        return false;
    if (pthread_cond_init(&throttle->turn, NULL) != 0) {
        pthread_mutex_destroy(&throttle->lock);
        return false;
    }
    return true;
}

void throttle_destroy(throttle_t *throttle)
{
    pthread_cond_destroy(&throttle->turn);
    pthread_mutex_destroy(&throttle->lock);
}

void throttle_enter(throttle_t *throttle)
{
    pthread_mutex_lock(&throttle->lock);
    uint64_t ticket = throttle->next_ticket++;
    if (ticket >= throttle->released + throttle->limit) {
        throttle->waits++;
        throttle->waiting++;
        while (ticket >= throttle->released + throttle->limit)
            pthread_cond_wait(&throttle->turn, &throttle->lock);
        throttle->waiting--;
    }
    throttle->inside++;
    if (throttle->inside > throttle->peak)
        throttle->peak = throttle->inside;
    pthread_mutex_unlock(&throttle->lock);
}

void throttle_leave(throttle_t *throttle)
{
    pthread_mutex_lock(&throttle->lock);
    throttle->inside--;
    throttle->released++;
    /* Broadcast, not signal: only the holder of the next ticket may enter, and a signal could wake another. */
    pthread_cond_broadcast(&throttle->turn);
    pthread_mutex_unlock(&throttle->lock);
}

void throttle_counts(throttle_t *throttle, throttle_counts_t *out)
{
    pthread_mutex_lock(&throttle->lock);
    out->inside = throttle->inside;
    out->peak = throttle->peak;
    out->waiting = throttle->waiting;
    out->waits = throttle->waits;
    pthread_mutex_unlock(&throttle->lock);
}
