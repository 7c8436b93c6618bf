/*
 * proposer.c - elections, proposals and heartbeats: what a candidate or a primary does.
 *
 * Election (phase 1 of Multi-Paxos, run once per ballot for every open slot):
 *   1. pick a ballot higher than any seen: (highest round + 1, own id);
 *   2. send PREPARE(ballot, first uncommitted slot) to every replica, itself included, retransmitting to those that
 *      have not answered, until a majority has promised;
 *   3. for every slot a promise reported, re-propose the value accepted under the highest ballot (it may have been
 *      chosen already: Paxos must choose it again), and fill the holes with no-ops, so that the log below the new
 *      primary's first own slot is complete and agreed.
 * Proposal (phase 2, one per command): ACCEPT(ballot, slot, value) to every replica until a majority accepted; then
 * the value is chosen and COMMIT tells everyone. A REJECT means a higher ballot exists: the primary steps down.
 * A primary that cannot reach a majority after RETRIES rounds steps down too, leaving the slot to its successor.
 *
 * Every operation here is synchronous: it sends, runs the network until it is quiet, and looks at the votes.
 */
#include <string.h>

#include "internal.h"

void proposer_step_down(node_t *self)
{
    self->primary = false;
}

static void begin_round(node_t *self, phase_t phase, uint64_t slot)
{
    self->round.phase = phase;
    self->round.slot = slot;
    self->round.votes = 0;
    self->round.rejected = false;
}

static replica_status_t end_round(node_t *self, replica_status_t status)
{
    self->round.phase = IDLE;
    return status;
}

/* Resend COMMIT for the slots a lagging replica misses, a batch per answer it gives. */
static void catch_up(replica_ring_t *ring, node_t *self, unsigned peer, uint64_t peer_committed)
{
    uint64_t end = self->committed;
    if (end > peer_committed + CATCHUP_BATCH)
        end = peer_committed + CATCHUP_BATCH;
    for (uint64_t s = peer_committed; s < end; s++) {
        msg_t *c = net_message(MSG_COMMIT, self, peer, self->ballot);
        if (c != NULL) {
            c->slot = s;
            c->value = self->log[s].value;
        }
        net_send(ring, c);
    }
}

/* Keep, for each slot, the value accepted under the highest ballot; a value known chosen beats everything. */
static void merge_reports(node_t *self, const msg_t *m)
{
    for (size_t i = 0; i < m->n_reports; i++) {
        const report_t *r = &m->reports[i];
        slot_t *best = &self->merge[r->slot];
        if (best->committed)
            continue;
        if (r->committed) {
            best->committed = true;
            best->value = r->value;
        } else if (r->accepted > best->accepted) {
            best->accepted = r->accepted;
            best->value = r->value;
        }
        if (r->slot >= self->merge_end)
            self->merge_end = r->slot + 1;
    }
}

void proposer_handle(replica_ring_t *ring, node_t *self, const msg_t *m)
{
    bool current = m->ballot == self->ballot;
    switch (m->type) {
    case MSG_REJECT:
        if (m->ballot > self->seen)
            self->seen = m->ballot;
        if (m->ballot > self->ballot) {
            self->round.rejected = true;
            proposer_step_down(self);
        }
        break;
    case MSG_PROMISE:
        if (self->round.phase == PREPARING && current) {
            self->round.votes |= 1u << m->from;
            merge_reports(self, m);
        }
        break;
    case MSG_ACCEPTED:
        if (self->round.phase == ACCEPTING && current && m->slot == self->round.slot)
            self->round.votes |= 1u << m->from;
        if (self->primary && current && m->committed < self->committed)
            catch_up(ring, self, m->from, m->committed);
        break;
    case MSG_HEARTBEAT_ACK:
        if (self->primary && current && m->committed < self->committed)
            catch_up(ring, self, m->from, m->committed);
        break;
    default:
        break;
    }
}

/* Send `type` to every replica that has not voted in the current round, then run the network. */
static void send_to_missing(replica_ring_t *ring, node_t *self, msg_type_t type, const value_t *value)
{
    for (unsigned i = 0; i < ring->n; i++) {
        if (self->round.votes & (1u << i))
            continue;
        msg_t *m = net_message(type, self, i, self->ballot);
        if (m != NULL) {
            m->slot = self->round.slot;
            if (value != NULL)
                m->value = *value;
        }
        net_send(ring, m);
    }
    net_run(ring);
}

static void broadcast_commit(replica_ring_t *ring, node_t *self, uint64_t slot, const value_t *value)
{
    for (unsigned i = 0; i < ring->n; i++) {
        if (i == self->id)
            continue;
        msg_t *m = net_message(MSG_COMMIT, self, i, self->ballot);
        if (m != NULL) {
            m->slot = slot;
            m->value = *value;
        }
        net_send(ring, m);
    }
    net_run(ring);
}

/* Phase 2 for one slot. */
static replica_status_t propose(replica_ring_t *ring, node_t *self, uint64_t slot, const value_t *value)
{
    begin_round(self, ACCEPTING, slot);
    for (unsigned attempt = 0; attempt < RETRIES; attempt++) {
        send_to_missing(ring, self, MSG_ACCEPT, value);
        if (!self->up)
            return end_round(self, REPLICA_E_DOWN);
        if (self->round.rejected)
            return end_round(self, REPLICA_E_NOT_PRIMARY);
        if (popcount32(self->round.votes) >= ring->quorum) {
            end_round(self, REPLICA_OK);
            learner_commit(self, slot, value);
            broadcast_commit(ring, self, slot, value);
            return REPLICA_OK;
        }
    }
    proposer_step_down(self);
    return end_round(self, REPLICA_E_NO_QUORUM);
}

static void heartbeat(replica_ring_t *ring, node_t *self)
{
    for (unsigned i = 0; i < ring->n; i++) {
        if (i == self->id)
            continue;
        msg_t *m = net_message(MSG_HEARTBEAT, self, i, self->ballot);
        if (m != NULL)
            m->committed = self->committed;
        net_send(ring, m);
    }
}

static replica_status_t prepare(replica_ring_t *ring, node_t *self)
{
    uint64_t from = self->committed;
    /* Everything at or past merge_end is already clear; committed never goes back, so from >= the old start. */
    if (self->merge_end > from)
        memset(&self->merge[from], 0, (size_t)(self->merge_end - from) * sizeof *self->merge);
    self->merge_end = from;
    begin_round(self, PREPARING, from);
    for (unsigned attempt = 0; attempt < RETRIES; attempt++) {
        send_to_missing(ring, self, MSG_PREPARE, NULL);
        if (!self->up)
            return end_round(self, REPLICA_E_DOWN);
        if (self->round.rejected)
            return end_round(self, REPLICA_E_PREEMPTED);
        if (popcount32(self->round.votes) >= ring->quorum)
            return end_round(self, REPLICA_OK);
    }
    return end_round(self, REPLICA_E_NO_QUORUM);
}

replica_status_t proposer_elect(replica_ring_t *ring, node_t *self)
{
    if (self->primary)
        return REPLICA_OK;
    replica_ballot_t highest = self->seen > self->promised ? self->seen : self->promised;
    if (self->ballot > highest)
        highest = self->ballot;
    self->ballot = REPLICA_BALLOT(REPLICA_BALLOT_ROUND(highest) + 1, self->id);
    self->seen = self->ballot;

    replica_status_t status = prepare(ring, self);
    uint64_t from = self->committed, end = self->merge_end;
    for (uint64_t s = from; status == REPLICA_OK && s < end; s++) {
        const slot_t *best = &self->merge[s];
        value_t noop = {.kind = REPLICA_ENTRY_NOOP};
        status = propose(ring, self, s, best->committed || best->accepted != 0 ? &best->value : &noop);
        if (status == REPLICA_E_NOT_PRIMARY)
            status = REPLICA_E_PREEMPTED;
    }
    if (status != REPLICA_OK)
        return status;

    self->primary = true;
    self->next_slot = end;
    self->leader_hint = (int)self->id;
    self->hint_ballot = self->ballot;
    self->last_heard = ring->now;
    ring->stats.elections++;
    heartbeat(ring, self); /* tell every follower who the primary is now */
    net_run(ring);
    return self->up ? REPLICA_OK : REPLICA_E_DOWN;
}

replica_status_t proposer_submit(replica_ring_t *ring, node_t *self, const value_t *value, uint64_t *slot)
{
    if (!self->up)
        return REPLICA_E_DOWN;
    if (!self->primary)
        return REPLICA_E_NOT_PRIMARY;
    /* A primary has committed everything it proposed: its client table is current. */
    ASSERT(self->committed == self->next_slot);
    if (value->client != 0) {
        const client_record_t *record = &self->clients[value->client];
        if (value->seq == record->last_seq) { /* a retry of a request that was chosen after all */
            *slot = record->last_slot;
            return REPLICA_OK;
        }
        if (value->seq < record->last_seq)
            return REPLICA_E_INVALID;
    }
    if (self->next_slot >= ring->capacity)
        return REPLICA_E_FULL;
    uint64_t s = self->next_slot++;
    replica_status_t status = propose(ring, self, s, value);
    if (status == REPLICA_OK)
        *slot = s;
    return status;
}

/* One tick of time: heartbeats, then failure detection. The first follower whose timer expires campaigns; ranks
 * in ring order after the last known primary stagger the timers so that one candidate at a time runs. */
void proposer_tick(replica_ring_t *ring)
{
    ring->now++;
    ring->stats.ticks++;
    for (unsigned i = 0; i < ring->n; i++)
        if (ring->nodes[i].up && ring->nodes[i].primary)
            heartbeat(ring, &ring->nodes[i]);
    net_run(ring);

    node_t *candidate = NULL;
    uint64_t earliest = UINT64_MAX;
    for (unsigned i = 0; i < ring->n; i++) {
        node_t *node = &ring->nodes[i];
        if (!node->up || node->primary)
            continue;
        unsigned last = node->leader_hint == NO_NODE ? ring->n - 1 : (unsigned)node->leader_hint;
        unsigned rank = (node->id + ring->n - last - 1) % ring->n;
        uint64_t deadline = node->last_heard + ring->election_timeout + rank;
        if (deadline <= ring->now && deadline < earliest) {
            earliest = deadline;
            candidate = node;
        }
    }
    if (candidate != NULL && proposer_elect(ring, candidate) != REPLICA_OK)
        candidate->last_heard = ring->now; /* back off for a full timeout before trying again */
}
