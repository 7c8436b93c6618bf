/*
 * net.c - the simulated network between the replicas of a ring.
 *
 * Messages go through one FIFO queue and are delivered one at a time, so a run depends only on the order of the
 * calls and on the seed. A message between two different replicas is lost with probability loss_percent; a message
 * a replica sends to itself never is (it does not leave the machine). A message to a crashed replica is lost. A
 * replica armed with crash_after crashes when it is about to handle one message too many, which is how failures
 * land in the middle of a round.
 */
#include <stdlib.h>

#include "internal.h"

/* splitmix64: tiny, fast, and good enough to decide which messages are lost. */
static uint64_t next_random(replica_ring_t *ring)
{
    uint64_t z = (ring->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

msg_t *net_message(msg_type_t type, const node_t *from, unsigned to, replica_ballot_t ballot)
{
    msg_t *m = calloc(1, sizeof *m);
    if (m != NULL) {
        m->type = type;
        m->from = from->id;
        m->to = to;
        m->ballot = ballot;
    }
    return m;
}

/* Queue a message. A message that could not be allocated (NULL) is simply lost, as on a real network; the
 * protocol's retransmissions cope with it like with any other loss. */
void net_send(replica_ring_t *ring, msg_t *m)
{
    ring->stats.sent++;
    if (m == NULL) {
        ring->stats.lost++;
        return;
    }
    if (ring->tail != NULL)
        ring->tail->next = m;
    else
        ring->head = m;
    ring->tail = m;
}

static bool is_lost(replica_ring_t *ring, const msg_t *m)
{
    node_t *to = &ring->nodes[m->to];
    if (!to->up)
        return true;
    if (m->from != m->to && ring->loss_percent > 0 && next_random(ring) % 100 < ring->loss_percent)
        return true;
    if (to->crash_countdown == 0) {
        node_crash(ring, to);
        return true;
    }
    if (to->crash_countdown > 0)
        to->crash_countdown--;
    return false;
}

static void dispatch(replica_ring_t *ring, const msg_t *m)
{
    node_t *to = &ring->nodes[m->to];
    switch (m->type) {
    case MSG_PREPARE:
    case MSG_ACCEPT:
    case MSG_COMMIT:
    case MSG_HEARTBEAT:
        acceptor_handle(ring, to, m);
        break;
    case MSG_PROMISE:
    case MSG_ACCEPTED:
    case MSG_REJECT:
    case MSG_HEARTBEAT_ACK:
        proposer_handle(ring, to, m);
        break;
    }
}

/* Deliver until the network is quiet. Handlers may send more messages; they join the end of the queue. */
void net_run(replica_ring_t *ring)
{
    msg_t *m;
    while ((m = ring->head) != NULL) {
        ring->head = m->next;
        if (ring->head == NULL)
            ring->tail = NULL;
        if (is_lost(ring, m)) {
            ring->stats.lost++;
        } else {
            ring->stats.delivered++;
            dispatch(ring, m);
        }
        free(m->reports);
        free(m);
    }
}

void net_discard(replica_ring_t *ring)
{
    msg_t *m;
    while ((m = ring->head) != NULL) {
        ring->head = m->next;
        free(m->reports);
        free(m);
    }
    ring->tail = NULL;
}

/* A crash keeps stable storage and forgets everything volatile. */
void node_crash(replica_ring_t *ring, node_t *node)
{
    node->up = false;
    node->crash_countdown = -1;
    node->primary = false;
    node->round.phase = IDLE;
    node->leader_hint = NO_NODE;
    node->hint_ballot = 0;
    ring->stats.crashes++;
}
