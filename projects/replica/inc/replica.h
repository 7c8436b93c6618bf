/*
 * replica.h - a replicated log in the spirit of Multi-Paxos, and a simulated ring of replicas to run it on.
 *
 * A replicated log is an ordered sequence of commands that several replicas agree on, slot by slot, even when some
 * of them crash and messages are lost. This library keeps the classic roles of Paxos in every replica:
 *
 *   acceptor  promises not to take part in ballots lower than the highest one it has seen, and accepts the value a
 *             proposer asks for in a slot (its promise and accepted values survive crashes: "stable storage");
 *   proposer  (the primary) runs phase 1 once for its ballot over every open slot (Multi-Paxos), then phase 2 for
 *             each new command: a slot's value is *chosen* once a majority (a quorum) has accepted it;
 *   learner   records chosen values and applies the committed prefix of the log in slot order.
 *
 * A ballot is a pair (round, node) packed into one integer, so ballots are totally ordered and no two proposers
 * ever use the same one. The primary's ballot is its *generation*: every election produces a higher one, which is
 * what clients use to notice a failover.
 *
 * The ring is a deterministic simulation: every replica lives in this process, messages go through one FIFO queue,
 * and a seeded pseudo-random generator decides which messages between two replicas are lost. Time advances only
 * when the caller says so (replica_ring_tick), so a run is reproducible from its seed. Failures are injected by
 * crashing a replica, immediately or after it has handled a given number of messages (in the middle of a round).
 *
 * Commands carry an optional client id and request number (client, seq): a client numbers its requests 1, 2, 3...
 * and retries a request with the same number until it succeeds. When a retried request was chosen twice (the first
 * attempt survived a failover after all), the later copy is marked `duplicate` and must not be applied again, which
 * turns "at least once" delivery into "exactly once" application.
 *
 * Every function is thread-safe: the ring holds one lock, which plays the part of the network (one exchange at a
 * time). Between two calls the network is quiet: every message sent has been delivered or lost.
 */
#ifndef REPLICA_H
#define REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REPLICA_MAX_NODES 16        /* replicas in one ring */
#define REPLICA_CMD_MAX 96          /* bytes of command text, terminating NUL included */
#define REPLICA_MAX_CLIENTS 256     /* client ids; client 0 means "anonymous" (never deduplicated) */
#define REPLICA_DEFAULT_CAPACITY 1024
#define REPLICA_DEFAULT_TIMEOUT 3   /* ticks without news from the primary before a replica campaigns */

typedef enum replica_status {
    REPLICA_OK = 0,
    REPLICA_E_INVALID,       /* a bad argument (node out of range, text too long, stale sequence number) */
    REPLICA_E_DOWN,          /* the replica is crashed, or crashed during the call */
    REPLICA_E_NOT_PRIMARY,   /* the replica is not (or no longer) the primary: ask who is with replica_ring_whois */
    REPLICA_E_NO_QUORUM,     /* no majority answered; a primary that cannot reach one steps down */
    REPLICA_E_PREEMPTED,     /* the election met a higher ballot */
    REPLICA_E_NO_PRIMARY,    /* the replica knows of no primary */
    REPLICA_E_NOT_COMMITTED, /* the slot is not (yet) committed at that replica */
    REPLICA_E_FULL,          /* the log reached its capacity */
    REPLICA_E_NOMEM
} replica_status_t;

/* A ballot: (round << 8) | node. Zero means "none": rounds start at 1. */
typedef uint64_t replica_ballot_t;
#define REPLICA_BALLOT(round, node) (((uint64_t)(round) << 8) | (uint64_t)(node))
#define REPLICA_BALLOT_ROUND(b) ((uint64_t)(b) >> 8)
#define REPLICA_BALLOT_NODE(b) ((unsigned)((b) & 0xffu))

typedef struct replica_config {
    unsigned replicas;         /* 1..REPLICA_MAX_NODES; an odd number tolerates the most failures per replica */
    unsigned capacity;         /* log slots; 0 means REPLICA_DEFAULT_CAPACITY */
    unsigned loss_percent;     /* 0..100: chance that a message between two different replicas is lost */
    uint64_t seed;             /* seeds the loss generator: same seed, same run */
    unsigned election_timeout; /* ticks; 0 means REPLICA_DEFAULT_TIMEOUT */
} replica_config_t;

/* What a client asks the primary to append. */
typedef struct replica_request {
    uint32_t client;   /* 1..REPLICA_MAX_CLIENTS-1, or 0 for an anonymous request */
    uint32_t seq;      /* 1, 2, 3... for each client; a retry reuses the number */
    const char *text;  /* the command, shorter than REPLICA_CMD_MAX */
} replica_request_t;

typedef enum replica_entry_kind {
    REPLICA_ENTRY_NOOP = 1,    /* filler chosen by a new primary for a slot nobody could vouch for */
    REPLICA_ENTRY_COMMAND = 2
} replica_entry_kind_t;

/* One committed slot of the log, as a replica sees it. */
typedef struct replica_entry {
    uint64_t slot;
    replica_entry_kind_t kind;
    uint32_t client, seq;
    bool duplicate;            /* an earlier slot already carried this (client, seq): do not apply it again */
    char text[REPLICA_CMD_MAX];
} replica_entry_t;

typedef struct replica_node_status {
    bool up;
    bool primary;
    replica_ballot_t promised; /* the highest ballot this replica has promised to */
    uint64_t committed;        /* length of its committed prefix: slots 0..committed-1 are known chosen */
} replica_node_status_t;

typedef struct replica_stats {
    uint64_t sent, delivered, lost; /* messages */
    uint64_t elections;             /* elections won */
    uint64_t crashes;
    uint64_t ticks;
} replica_stats_t;

typedef struct replica_ring replica_ring_t;

const char *replica_strerror(replica_status_t status);

replica_status_t replica_ring_create(const replica_config_t *config, replica_ring_t **out);
void replica_ring_destroy(replica_ring_t *ring);
unsigned replica_ring_size(const replica_ring_t *ring);

/* Make `node` campaign now: phase 1 with a new, higher ballot, then re-proposal of every open slot. */
replica_status_t replica_ring_elect(replica_ring_t *ring, unsigned node);

/* Append a command through `node`, which must be the primary. On success *slot is where it was chosen. */
replica_status_t replica_ring_submit(replica_ring_t *ring, unsigned node, const replica_request_t *request,
                                     uint64_t *slot);

/* Advance time by one tick: the primary sends heartbeats (which also let lagging replicas catch up), and a replica
 * that has heard nothing from a primary for too long campaigns. Ring order breaks ties: the successor of the last
 * known primary times out first. */
void replica_ring_tick(replica_ring_t *ring);

/* Ask `via` who the primary is. The answer is that replica's belief, which may be stale after a failover. */
replica_status_t replica_ring_whois(replica_ring_t *ring, unsigned via, unsigned *primary,
                                    replica_ballot_t *generation);

/* The observer's view, for simulations and tests: the live primary with the highest ballot. */
replica_status_t replica_ring_primary(replica_ring_t *ring, unsigned *primary, replica_ballot_t *generation);

replica_status_t replica_ring_status(replica_ring_t *ring, unsigned node, replica_node_status_t *out);

/* Read a committed slot as `node` knows it. */
replica_status_t replica_ring_read(replica_ring_t *ring, unsigned node, uint64_t slot, replica_entry_t *out);

/* Fault injection. A crashed replica keeps its stable storage (promise, accepted and committed slots) and forgets
 * the rest (primacy, elections in progress). crash_after lets it handle `messages` more messages first. Restart
 * brings a crashed replica back, and cancels a crash armed on a live one. */
replica_status_t replica_ring_crash(replica_ring_t *ring, unsigned node);
replica_status_t replica_ring_crash_after(replica_ring_t *ring, unsigned node, unsigned messages);
replica_status_t replica_ring_restart(replica_ring_t *ring, unsigned node);

void replica_ring_stats(replica_ring_t *ring, replica_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif /* REPLICA_H */
