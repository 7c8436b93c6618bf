/*
 * acceptor.c - what every replica does with the messages of a primary (or of a candidate).
 *
 * The acceptor's rules are the whole of Paxos's safety:
 *   - answer PREPARE(b) only if b is at least the ballot already promised, and report every value accepted so far
 *     (from the slot asked about), so that the candidate re-proposes anything that may have been chosen;
 *   - accept ACCEPT(b, slot, v) only if b is at least the ballot promised;
 *   - otherwise REJECT, naming the higher ballot, so that a stale proposer learns it has been superseded.
 * The learner records COMMIT(slot, v) and applies the committed prefix of the log in order, marking the requests a
 * client had already seen applied as duplicates.
 *
 * In checked builds (chk), ASSERT() verifies the invariant everything rests on: no slot is ever given two values.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static inline bool same_value(const value_t *a, const value_t *b)
{
    return a->kind == b->kind && a->client == b->client && a->seq == b->seq && strcmp(a->text, b->text) == 0;
}

static void reply(replica_ring_t *ring, node_t *self, const msg_t *m, msg_type_t type, replica_ballot_t ballot)
{
    msg_t *r = net_message(type, self, m->from, ballot);
    if (r != NULL) {
        r->slot = m->slot;
        r->committed = self->committed;
    }
    net_send(ring, r);
}

/* Raise the promise. A primary that promises a higher ballot than its own has been superseded. */
static void promise(node_t *self, replica_ballot_t ballot)
{
    if (ballot > self->promised)
        self->promised = ballot;
    if (ballot > self->seen)
        self->seen = ballot;
    if (self->primary && ballot > self->ballot)
        proposer_step_down(self);
}

static void heard_from_primary(replica_ring_t *ring, node_t *self, const msg_t *m)
{
    self->leader_hint = (int)m->from;
    self->hint_ballot = m->ballot;
    self->last_heard = ring->now;
}

/* Phase 1b: promise, and report what this acceptor holds from the first slot the candidate has not committed. */
static void on_prepare(replica_ring_t *ring, node_t *self, const msg_t *m)
{
    promise(self, m->ballot);
    msg_t *r = net_message(MSG_PROMISE, self, m->from, m->ballot);
    size_t n = 0;
    for (uint64_t s = m->slot; s < self->log_end; s++)
        n += self->log[s].accepted != 0 || self->log[s].committed;
    if (r != NULL && n > 0) {
        r->reports = calloc(n, sizeof *r->reports);
        if (r->reports == NULL) {
            free(r);
            r = NULL; /* lost: the candidate will ask again */
        }
    }
    for (uint64_t s = m->slot; r != NULL && s < self->log_end; s++) {
        const slot_t *slot = &self->log[s];
        if (slot->accepted == 0 && !slot->committed)
            continue;
        report_t *rep = &r->reports[r->n_reports++];
        rep->slot = s;
        rep->accepted = slot->accepted;
        rep->committed = slot->committed;
        rep->value = slot->value;
    }
    net_send(ring, r);
}

/* Phase 2b: accept the value unless the slot is already known chosen (then it can only be the same value). */
static void on_accept(replica_ring_t *ring, node_t *self, const msg_t *m)
{
    promise(self, m->ballot);
    heard_from_primary(ring, self, m);
    if (m->slot >= ring->capacity)
        return;
    slot_t *slot = &self->log[m->slot];
    if (slot->committed) {
        ASSERT(same_value(&slot->value, &m->value));
    } else {
        slot->accepted = m->ballot;
        slot->value = m->value;
    }
    if (m->slot >= self->log_end)
        self->log_end = m->slot + 1;
    reply(ring, self, m, MSG_ACCEPTED, m->ballot);
}

static void on_heartbeat(replica_ring_t *ring, node_t *self, const msg_t *m)
{
    promise(self, m->ballot);
    heard_from_primary(ring, self, m);
    reply(ring, self, m, MSG_HEARTBEAT_ACK, m->ballot);
}

/* Apply the committed prefix in slot order; a client's request applied before is a duplicate. */
static void apply_prefix(node_t *self)
{
    while (self->committed < self->log_end && self->log[self->committed].committed) {
        slot_t *slot = &self->log[self->committed];
        if (slot->value.kind == REPLICA_ENTRY_COMMAND && slot->value.client != 0) {
            client_record_t *record = &self->clients[slot->value.client];
            if (slot->value.seq <= record->last_seq) {
                slot->duplicate = true;
            } else {
                record->last_seq = slot->value.seq;
                record->last_slot = self->committed;
            }
        }
        self->committed++;
    }
}

void learner_commit(node_t *self, uint64_t slot, const value_t *value)
{
    slot_t *s = &self->log[slot];
    if (s->committed) {
        ASSERT(same_value(&s->value, value)); /* a chosen value never changes */
        return;
    }
    s->committed = true;
    s->value = *value;
    if (slot >= self->log_end)
        self->log_end = slot + 1;
    apply_prefix(self);
}

void acceptor_handle(replica_ring_t *ring, node_t *self, const msg_t *m)
{
    if (m->type == MSG_COMMIT) { /* a chosen value is a fact, whatever the ballot that carries it */
        promise(self, m->ballot); /* and a primary learning of a higher one has been superseded */
        if (m->slot < ring->capacity)
            learner_commit(self, m->slot, &m->value);
        return;
    }
    if (m->ballot < self->promised) {
        reply(ring, self, m, MSG_REJECT, self->promised);
        return;
    }
    switch (m->type) {
    case MSG_PREPARE:
        on_prepare(ring, self, m);
        break;
    case MSG_ACCEPT:
        on_accept(ring, self, m);
        break;
    case MSG_HEARTBEAT:
        on_heartbeat(ring, self, m);
        break;
    default:
        break;
    }
}
