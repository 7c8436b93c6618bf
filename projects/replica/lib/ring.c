/*
 * ring.c - the public API of replica.h: argument checks, the ring lock, status and reads.
 *
 * Every entry point takes the ring lock, does its work (running the simulated network until it is quiet) and
 * releases it, so callers on many threads see one exchange at a time, as if they shared one network.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *replica_strerror(replica_status_t status)
{
    switch (status) {
    case REPLICA_OK: return "ok";
    case REPLICA_E_INVALID: return "invalid argument";
    case REPLICA_E_DOWN: return "replica is down";
    case REPLICA_E_NOT_PRIMARY: return "replica is not the primary";
    case REPLICA_E_NO_QUORUM: return "no quorum";
    case REPLICA_E_PREEMPTED: return "preempted by a higher ballot";
    case REPLICA_E_NO_PRIMARY: return "no primary known";
    case REPLICA_E_NOT_COMMITTED: return "slot not committed";
    case REPLICA_E_FULL: return "log is full";
    case REPLICA_E_NOMEM: return "out of memory";
    }
    return "unknown status";
}

static bool init_node(node_t *node, unsigned id, uint64_t capacity)
{
    node->id = id;
    node->up = true;
    node->crash_countdown = -1;
    node->leader_hint = NO_NODE;
    node->log = calloc((size_t)capacity, sizeof *node->log);
    node->merge = calloc((size_t)capacity, sizeof *node->merge);
    node->clients = calloc(REPLICA_MAX_CLIENTS, sizeof *node->clients);
    return node->log != NULL && node->merge != NULL && node->clients != NULL;
}

replica_status_t replica_ring_create(const replica_config_t *config, replica_ring_t **out)
{
    if (config == NULL || out == NULL || config->replicas == 0 || config->replicas > REPLICA_MAX_NODES ||
        config->loss_percent > 100)
        return REPLICA_E_INVALID;
    replica_ring_t *ring = calloc(1, sizeof *ring);
    if (ring == NULL)
        return REPLICA_E_NOMEM;
    if (pthread_mutex_init(&ring->lock, NULL) != 0) {
        free(ring);
        return REPLICA_E_NOMEM;
    }
    ring->n = config->replicas;
    ring->quorum = config->replicas / 2 + 1;
    ring->capacity = config->capacity != 0 ? config->capacity : REPLICA_DEFAULT_CAPACITY;
    ring->loss_percent = config->loss_percent;
    ring->election_timeout = config->election_timeout != 0 ? config->election_timeout : REPLICA_DEFAULT_TIMEOUT;
    ring->rng = config->seed;
    for (unsigned i = 0; i < ring->n; i++) {
        if (!init_node(&ring->nodes[i], i, ring->capacity)) {
            replica_ring_destroy(ring);
            return REPLICA_E_NOMEM;
        }
    }
    *out = ring;
    return REPLICA_OK;
}

void replica_ring_destroy(replica_ring_t *ring)
{
    if (ring == NULL)
        return;
    net_discard(ring);
    for (unsigned i = 0; i < ring->n; i++) {
        free(ring->nodes[i].log);
        free(ring->nodes[i].merge);
        free(ring->nodes[i].clients);
    }
    pthread_mutex_destroy(&ring->lock);
    free(ring);
}

unsigned replica_ring_size(const replica_ring_t *ring)
{
    return ring->n; /* fixed at creation: no lock needed */
}

/* Lock the ring and find the node, or fail with REPLICA_E_INVALID (unlocked). */
static node_t *enter(replica_ring_t *ring, unsigned node)
{
    if (node >= ring->n)
        return NULL;
    pthread_mutex_lock(&ring->lock);
    return &ring->nodes[node];
}

static replica_status_t leave(replica_ring_t *ring, replica_status_t status)
{
    pthread_mutex_unlock(&ring->lock);
    return status;
}

replica_status_t replica_ring_elect(replica_ring_t *ring, unsigned node)
{
    node_t *self = enter(ring, node);
    if (self == NULL)
        return REPLICA_E_INVALID;
    if (!self->up)
        return leave(ring, REPLICA_E_DOWN);
    return leave(ring, proposer_elect(ring, self));
}

static bool valid_request(const replica_request_t *request)
{
    if (request == NULL || request->text == NULL || request->client >= REPLICA_MAX_CLIENTS)
        return false;
    if (request->client != 0 && request->seq == 0)
        return false;
    return memchr(request->text, '\0', REPLICA_CMD_MAX) != NULL;
}

replica_status_t replica_ring_submit(replica_ring_t *ring, unsigned node, const replica_request_t *request,
                                     uint64_t *slot)
{
    if (!valid_request(request) || slot == NULL)
        return REPLICA_E_INVALID;
    value_t value = {.kind = REPLICA_ENTRY_COMMAND, .client = request->client, .seq = request->seq};
    strcpy(value.text, request->text);
    node_t *self = enter(ring, node);
    if (self == NULL)
        return REPLICA_E_INVALID;
    return leave(ring, proposer_submit(ring, self, &value, slot));
}

void replica_ring_tick(replica_ring_t *ring)
{
    pthread_mutex_lock(&ring->lock);
    proposer_tick(ring);
    pthread_mutex_unlock(&ring->lock);
}

replica_status_t replica_ring_whois(replica_ring_t *ring, unsigned via, unsigned *primary,
                                    replica_ballot_t *generation)
{
    if (primary == NULL || generation == NULL)
        return REPLICA_E_INVALID;
    node_t *self = enter(ring, via);
    if (self == NULL)
        return REPLICA_E_INVALID;
    if (!self->up)
        return leave(ring, REPLICA_E_DOWN);
    if (self->primary) {
        *primary = self->id;
        *generation = self->ballot;
    } else if (self->leader_hint != NO_NODE) {
        *primary = (unsigned)self->leader_hint;
        *generation = self->hint_ballot;
    } else {
        return leave(ring, REPLICA_E_NO_PRIMARY);
    }
    return leave(ring, REPLICA_OK);
}

replica_status_t replica_ring_primary(replica_ring_t *ring, unsigned *primary, replica_ballot_t *generation)
{
    if (primary == NULL || generation == NULL)
        return REPLICA_E_INVALID;
    replica_status_t status = REPLICA_E_NO_PRIMARY;
    pthread_mutex_lock(&ring->lock);
    for (unsigned i = 0; i < ring->n; i++) {
        const node_t *node = &ring->nodes[i];
        if (node->up && node->primary && (status != REPLICA_OK || node->ballot > *generation)) {
            *primary = i;
            *generation = node->ballot;
            status = REPLICA_OK;
        }
    }
    return leave(ring, status);
}

replica_status_t replica_ring_status(replica_ring_t *ring, unsigned node, replica_node_status_t *out)
{
    if (out == NULL)
        return REPLICA_E_INVALID;
    node_t *self = enter(ring, node);
    if (self == NULL)
        return REPLICA_E_INVALID;
    out->up = self->up;
    out->primary = self->up && self->primary;
    out->promised = self->promised;
    out->committed = self->committed;
    return leave(ring, REPLICA_OK);
}

replica_status_t replica_ring_read(replica_ring_t *ring, unsigned node, uint64_t slot, replica_entry_t *out)
{
    if (out == NULL)
        return REPLICA_E_INVALID;
    node_t *self = enter(ring, node);
    if (self == NULL)
        return REPLICA_E_INVALID;
    if (!self->up)
        return leave(ring, REPLICA_E_DOWN);
    if (slot >= self->committed)
        return leave(ring, REPLICA_E_NOT_COMMITTED);
    const slot_t *s = &self->log[slot];
    out->slot = slot;
    out->kind = s->value.kind;
    out->client = s->value.client;
    out->seq = s->value.seq;
    out->duplicate = s->duplicate;
    memcpy(out->text, s->value.text, sizeof out->text);
    return leave(ring, REPLICA_OK);
}

replica_status_t replica_ring_crash(replica_ring_t *ring, unsigned node)
{
    node_t *self = enter(ring, node);
    if (self == NULL)
        return REPLICA_E_INVALID;
    if (self->up)
        node_crash(ring, self);
    return leave(ring, REPLICA_OK);
}

replica_status_t replica_ring_crash_after(replica_ring_t *ring, unsigned node, unsigned messages)
{
    node_t *self = enter(ring, node);
    if (self == NULL)
        return REPLICA_E_INVALID;
    if (!self->up)
        return leave(ring, REPLICA_E_DOWN);
    self->crash_countdown = messages > 0x7fffffffu ? 0x7fffffff : (int)messages;
    return leave(ring, REPLICA_OK);
}

replica_status_t replica_ring_restart(replica_ring_t *ring, unsigned node)
{
    node_t *self = enter(ring, node);
    if (self == NULL)
        return REPLICA_E_INVALID;
    if (!self->up) {
        self->up = true;
        self->last_heard = ring->now; /* give the current primary a full timeout to make itself heard */
    }
    self->crash_countdown = -1; /* a restarted replica is healthy: a crash armed earlier is cancelled */
    return leave(ring, REPLICA_OK);
}

void replica_ring_stats(replica_ring_t *ring, replica_stats_t *out)
{
    pthread_mutex_lock(&ring->lock);
    *out = ring->stats;
    pthread_mutex_unlock(&ring->lock);
}
