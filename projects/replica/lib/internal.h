/*
 * internal.h - the replica library's private data structures (not published).
 *
 * Layout of the library:
 *   net.c       the simulated network: message queue, seeded loss, crash injection, delivery loop
 *   acceptor.c  what every replica does with PREPARE, ACCEPT, COMMIT and HEARTBEAT: promise, accept, learn, apply
 *   proposer.c  what a candidate or primary does: elections (phase 1), proposals (phase 2), heartbeats, catch-up
 *   ring.c      the public API: argument checks, the ring lock, status and reads
 *
 * Internal functions are hidden so that a shared library linking this static library (tracker.dll) exports the
 * public API of replica.h and nothing else of it.
 */
#ifndef REPLICA_INTERNAL_H
#define REPLICA_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "replica.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* Checked builds (chk, DBG=1) verify the protocol's invariants and abort on a violation; free builds (fre) still
 * type-check the condition but never evaluate it. Not assert(): zig cc defines NDEBUG by itself from -O1 up, so
 * assert() could not tell the two flavors apart. */
#if defined(DBG) && DBG
#define ASSERT(cond) \
    ((cond) ? (void)0 : (fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond), abort()))
#else
#define ASSERT(cond) ((void)(0 && (cond)))
#endif

#define RETRIES 8         /* rounds of retransmission before a phase gives up */
#define CATCHUP_BATCH 16  /* committed slots the primary resends to a lagging replica per answer */
#define NO_NODE (-1)

/* A value that can occupy a slot. kind 0 means "nothing". */
typedef struct value {
    replica_entry_kind_t kind;
    uint32_t client, seq;
    char text[REPLICA_CMD_MAX];
} value_t;

/* One slot of a replica's log (its stable storage). */
typedef struct slot {
    replica_ballot_t accepted; /* ballot under which `value` was accepted; 0 if none */
    bool committed;            /* `value` is known to be chosen */
    bool duplicate;            /* set when applied: this client's request had been applied already */
    value_t value;
} slot_t;

/* The client table: for each client, its last request applied. */
typedef struct client_record {
    uint32_t last_seq;  /* highest request number applied for this client */
    uint64_t last_slot; /* where it was applied */
} client_record_t;

/* The round a proposer is running: phase 1 (PREPARING) or phase 2 (ACCEPTING) of one ballot. */
typedef enum phase { IDLE, PREPARING, ACCEPTING } phase_t;

typedef struct round {
    phase_t phase;
    uint64_t slot;             /* ACCEPTING: the slot; PREPARING: the first slot asked about */
    uint32_t votes;            /* bit i: replica i promised (phase 1) or accepted (phase 2) */
    bool rejected;             /* someone answered with a higher ballot */
} round_t;

typedef struct node {
    unsigned id;
    bool up;
    int crash_countdown;       /* messages left to handle before crashing; -1 when not armed */

    /* Stable storage: survives crashes. */
    replica_ballot_t promised;
    slot_t *log;
    uint64_t log_end;          /* one past the highest slot holding anything */
    uint64_t committed;        /* committed prefix, applied in order */
    client_record_t *clients;

    /* Volatile state: lost on a crash. */
    bool primary;
    replica_ballot_t ballot;   /* own ballot as candidate or primary */
    replica_ballot_t seen;     /* highest ballot heard of, to pick the next one */
    uint64_t next_slot;        /* primary: where the next command goes */
    int leader_hint;           /* follower: who it last heard from as primary, or NO_NODE */
    replica_ballot_t hint_ballot;
    uint64_t last_heard;       /* tick of the last message from a primary */
    round_t round;
    slot_t *merge;             /* candidate: the best value reported for each slot by the promises */
    uint64_t merge_end;
} node_t;

typedef enum msg_type {
    MSG_PREPARE,       /* phase 1a: ballot, slot = first open slot */
    MSG_PROMISE,       /* phase 1b: ballot, entries = what the acceptor holds from that slot on */
    MSG_ACCEPT,        /* phase 2a: ballot, slot, value */
    MSG_ACCEPTED,      /* phase 2b: ballot, slot, committed = the acceptor's committed prefix */
    MSG_REJECT,        /* ballot = the higher ballot the acceptor promised */
    MSG_COMMIT,        /* slot, value: the value is chosen */
    MSG_HEARTBEAT,     /* ballot, committed = the primary's committed prefix */
    MSG_HEARTBEAT_ACK  /* ballot, committed = the follower's committed prefix */
} msg_type_t;

typedef struct report {  /* one slot of a PROMISE */
    uint64_t slot;
    replica_ballot_t accepted;
    bool committed;
    value_t value;
} report_t;

typedef struct msg {
    struct msg *next;
    msg_type_t type;
    unsigned from, to;
    replica_ballot_t ballot;
    uint64_t slot;
    uint64_t committed;
    value_t value;
    report_t *reports;
    size_t n_reports;
} msg_t;

struct replica_ring {
    pthread_mutex_t lock;
    unsigned n;
    unsigned quorum;
    uint64_t capacity;
    unsigned loss_percent;
    unsigned election_timeout;
    uint64_t rng;
    uint64_t now;
    msg_t *head, *tail;
    replica_stats_t stats;
    node_t nodes[REPLICA_MAX_NODES];
};

/* net.c */
HIDDEN msg_t *net_message(msg_type_t type, const node_t *from, unsigned to, replica_ballot_t ballot);
HIDDEN void net_send(replica_ring_t *ring, msg_t *m);
HIDDEN void net_run(replica_ring_t *ring);
HIDDEN void net_discard(replica_ring_t *ring);
HIDDEN void node_crash(replica_ring_t *ring, node_t *node);

/* acceptor.c */
HIDDEN void acceptor_handle(replica_ring_t *ring, node_t *self, const msg_t *m);
HIDDEN void learner_commit(node_t *self, uint64_t slot, const value_t *value);

/* proposer.c */
HIDDEN void proposer_handle(replica_ring_t *ring, node_t *self, const msg_t *m);
HIDDEN replica_status_t proposer_elect(replica_ring_t *ring, node_t *self);
HIDDEN replica_status_t proposer_submit(replica_ring_t *ring, node_t *self, const value_t *value, uint64_t *slot);
HIDDEN void proposer_tick(replica_ring_t *ring);
HIDDEN void proposer_step_down(node_t *self);

static inline unsigned popcount32(uint32_t x)
{
    unsigned n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

#endif /* REPLICA_INTERNAL_H */
