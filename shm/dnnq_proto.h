/*
 * The control protocol between dnnqd and libdnnq-client: fixed-layout
 * messages over a Unix SOCK_SEQPACKET socket (one message per packet, so a
 * short or long packet is simply malformed). The data path never uses the
 * socket: it only opens the session, describes models and reports stats.
 *
 * Every request starts with struct dnnq_msg_hdr; the reply echoes seq and
 * type (OPEN and INFO are answered with type MODEL, error or not) and
 * carries the outcome in hdr.status (0 or a DNNQ_E_* code). A reply with a
 * non-zero status may be only a header (except HELLO, STATS and RELOAD,
 * which always send their full struct so an error can carry `message`).
 * STATS and RELOAD requests are a bare header; reserved fields and a
 * request's status are 0.
 *
 *   HELLO  -> HELLO reply + SCM_RIGHTS [region memfd, the client's ends of
 *             the doorbell and the completion socketpairs (AF_UNIX,
 *             SOCK_DGRAM)]. Must be the first message of a connection
 *             and is accepted once. A peer
 *             the daemon refuses gets a HELLO reply with seq 0 and the
 *             refusal (DNNQ_E_PERM, DNNQ_E_BUSY) right after accept,
 *             before it sends anything; the daemon then shuts the
 *             connection for reading (the peer's sends fail with EPIPE),
 *             drops what it had sent, and closes.
 *   OPEN   (name)  -> MODEL reply: the model's id, generation, signature
 *   INFO   (index) -> MODEL reply for the index-th model (for listings);
 *             DNNQ_E_NOTFOUND past the end
 *   CLOSE  (model_id) -> header reply
 *   STATS  -> STATS reply
 *   RELOAD -> RELOAD reply, sent when a reload that started after the
 *             request has finished (the connection just waits meanwhile);
 *             root and the daemon's own uid only (else DNNQ_E_PERM), and
 *             DNNQ_E_UNSUPPORTED from a daemon without hot reload. The
 *             reply is always full-size: an error carries `message`.
 *   MODEL_STATS (index) -> MODEL_STATS reply: the index-th model's
 *             counters (as INFO counts); DNNQ_E_NOTFOUND past the end,
 *             DNNQ_E_PERM for a client that may not see daemon-wide
 *             figures (not root, not the daemon's uid, no
 *             access.public_stats). A bare header on error.
 *
 * The daemon validates every field of every message (size first, then magic,
 * version, type, each field) and answers a bad one with DNNQ_E_PROTO, or
 * closes the connection when the message cannot even be answered. Strings
 * are NUL-terminated within their arrays; the receiver checks that too.
 *
 * Like the region structs, everything here is fixed-width with explicit
 * padding and _Static_asserts on sizes and offsets (docs/shm.md).
 */
#ifndef DNNQ_PROTO_H
#define DNNQ_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "shm/dnnq_shm.h"

#define DNNQ_PROTO_MAGIC    0x50514e44u	/* "DNQP" little-endian */
#define DNNQ_PROTO_VERSION  4u	/* 4: MODEL_STATS graph runs, batch sizes, waiting,
				   team requests and workers;
				   3: MODEL_STATS queue time, the slots' submit stamp;
				   2: socketpairs, refusal at accept, STATS scope,
				   RELOAD, MODEL_STATS */
#define DNNQ_PROTO_NAME_MAX 64u		/* names: at most 63 bytes + NUL */
#define DNNQ_PROTO_MAX_MSG  8192u	/* no message is longer */
#define DNNQ_PROTO_NFDS     3u		/* fds passed with the HELLO reply */
#define DNNQ_PROTO_MAX_MODELS 1024u	/* models a daemon serves at most (n_models) */

enum dnnq_msg_type {
	DNNQ_MSG_HELLO = 1,
	DNNQ_MSG_OPEN  = 2,
	DNNQ_MSG_INFO  = 3,
	DNNQ_MSG_CLOSE = 4,
	DNNQ_MSG_STATS = 5,
	DNNQ_MSG_MODEL = 6,	/* the reply to OPEN and INFO */
	DNNQ_MSG_RELOAD = 7,	/* request: a bare header; reply: dnnq_msg_reload */
	DNNQ_MSG_MODEL_STATS = 8,	/* request: dnnq_msg_open (index); reply:
					   dnnq_msg_model_stats */
};

struct dnnq_msg_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;		/* enum dnnq_msg_type */
	uint32_t seq;		/* chosen by the client, echoed */
	int32_t  status;	/* replies: 0 or DNNQ_E_*; requests: 0 */
};

_Static_assert(sizeof(struct dnnq_msg_hdr) == 16, "msg hdr size");
_Static_assert(offsetof(struct dnnq_msg_hdr, type) == 6, "hdr type");
_Static_assert(offsetof(struct dnnq_msg_hdr, seq) == 8, "hdr seq");
_Static_assert(offsetof(struct dnnq_msg_hdr, status) == 12, "hdr status");

/* Client -> daemon: open a session with a region of this shape (0: the
 * daemon's default). The daemon may refuse a size above its limits
 * (DNNQ_E_NOMEM) but never silently shrinks it. */
struct dnnq_msg_hello {
	struct dnnq_msg_hdr hdr;
	uint32_t abi_major, abi_minor;	/* DNNQ_SHM_ABI_* the client speaks */
	uint32_t slots;
	uint32_t reserved;
	uint64_t arena_bytes;
};

_Static_assert(sizeof(struct dnnq_msg_hello) == 40, "hello size");
_Static_assert(offsetof(struct dnnq_msg_hello, slots) == 24, "hello slots");
_Static_assert(offsetof(struct dnnq_msg_hello, arena_bytes) == 32, "hello arena");

struct dnnq_msg_hello_reply {
	struct dnnq_msg_hdr hdr;
	uint32_t abi_major, abi_minor;	/* the daemon's */
	uint64_t session_id;
	uint64_t region_size;		/* bytes of the memfd to map */
	uint32_t workers;
	uint32_t spin_us;		/* the workers' spin before they sleep */
	uint32_t heartbeat_ms;		/* how often the heartbeat word moves */
	uint32_t reserved;
	char     message[256];		/* why, when status != 0 */
};

_Static_assert(sizeof(struct dnnq_msg_hello_reply) == 56 + 256, "hello reply size");
_Static_assert(offsetof(struct dnnq_msg_hello_reply, session_id) == 24, "hr session");
_Static_assert(offsetof(struct dnnq_msg_hello_reply, region_size) == 32, "hr size");
_Static_assert(offsetof(struct dnnq_msg_hello_reply, message) == 56, "hr message");

/* OPEN names the model; INFO gives an index (name ignored). */
struct dnnq_msg_open {
	struct dnnq_msg_hdr hdr;
	char     name[DNNQ_PROTO_NAME_MAX];
	uint32_t index;
	uint32_t reserved;
};

_Static_assert(sizeof(struct dnnq_msg_open) == 88, "open size");
_Static_assert(offsetof(struct dnnq_msg_open, index) == 80, "open index");

/* One graph input or output. dims[0] is the batch: the reply gives 1, a
 * request may use 1..max_batch. dtype is enum dnnq_shm_dtype (U8 or F32
 * in a signature); a U8 tensor's real value is scale * (q - zero_point). */
struct dnnq_wire_tensor {
	char     name[DNNQ_PROTO_NAME_MAX];
	uint32_t dtype;
	uint32_t rank;
	int64_t  dims[DNNQ_SHM_MAX_RANK];
	float    scale;
	int32_t  zero_point;
};

_Static_assert(sizeof(struct dnnq_wire_tensor) == 144, "wire tensor size");
_Static_assert(offsetof(struct dnnq_wire_tensor, dtype) == 64, "wt dtype");
_Static_assert(offsetof(struct dnnq_wire_tensor, dims) == 72, "wt dims");
_Static_assert(offsetof(struct dnnq_wire_tensor, scale) == 136, "wt scale");

/* Requests carry (model_id, generation) from this reply; inputs are
 * t[0, n_inputs), outputs t[n_inputs, n_inputs + n_outputs). */
struct dnnq_msg_model {
	struct dnnq_msg_hdr hdr;
	uint32_t model_id;
	uint32_t generation;
	uint32_t n_inputs, n_outputs;
	uint32_t max_batch;
	uint32_t n_models;		/* how many models the daemon serves */
	char     name[DNNQ_PROTO_NAME_MAX];
	struct dnnq_wire_tensor t[DNNQ_SHM_MAX_TENSORS];
};

_Static_assert(sizeof(struct dnnq_msg_model) == 104 + 16 * 144, "model size");
_Static_assert(offsetof(struct dnnq_msg_model, name) == 40, "model name");
_Static_assert(offsetof(struct dnnq_msg_model, t) == 104, "model tensors");
_Static_assert(sizeof(struct dnnq_msg_model) <= DNNQ_PROTO_MAX_MSG, "model fits");

struct dnnq_msg_close {
	struct dnnq_msg_hdr hdr;
	uint32_t model_id;
	uint32_t reserved;
};

_Static_assert(sizeof(struct dnnq_msg_close) == 24, "close size");

/* The scope of a STATS reply's requests, failures, bytes_copied and
 * sessions: the whole daemon (root, the daemon's own uid, or every client
 * with access.public_stats), or the open sessions of the caller's uid. */
#define DNNQ_STATS_SCOPE_DAEMON 0	/* the same in client/dnnq.h */
#define DNNQ_STATS_SCOPE_UID    1

/* The scope's counters, then this session's. */
struct dnnq_msg_stats {
	struct dnnq_msg_hdr hdr;
	uint64_t uptime_ns;
	uint64_t requests;		/* completed, in the scope */
	uint64_t failures;		/* of those, completed with an error */
	uint64_t bytes_copied;		/* tensor bytes copied on the data path */
	uint64_t session_requests, session_failures;
	uint32_t sessions;		/* open now, in the scope */
	uint32_t models;
	uint32_t workers;
	uint32_t pid;
	uint32_t scope;			/* DNNQ_STATS_SCOPE_* */
	uint32_t reserved;
	char     message[256];		/* the daemon's state in one line (scope
					   UID: the models only) */
};

_Static_assert(sizeof(struct dnnq_msg_stats) == 88 + 256, "stats size");
_Static_assert(offsetof(struct dnnq_msg_stats, sessions) == 64, "stats sessions");
_Static_assert(offsetof(struct dnnq_msg_stats, scope) == 80, "stats scope");
_Static_assert(offsetof(struct dnnq_msg_stats, message) == 88, "stats message");

/* What a RELOAD did to one model name. */
#define DNNQ_RELOAD_ADDED   1	/* the same in client/dnnq.h */
#define DNNQ_RELOAD_CHANGED 2
#define DNNQ_RELOAD_REMOVED 3
#define DNNQ_PROTO_RELOAD_MAX 64u	/* names listed in a RELOAD reply */

struct dnnq_wire_reload_model {
	char     name[DNNQ_PROTO_NAME_MAX];
	uint32_t change;		/* DNNQ_RELOAD_* */
	uint32_t generation;		/* the served one (the last one: REMOVED) */
};

_Static_assert(sizeof(struct dnnq_wire_reload_model) == 72, "reload model size");

/* The reload's outcome. hdr.status is 0 or the reload's failure (then
 * message says why and nothing changed); added + changed + removed names
 * changed, the first n_listed of them in `m` (at most
 * DNNQ_PROTO_RELOAD_MAX). */
struct dnnq_msg_reload {
	struct dnnq_msg_hdr hdr;
	uint32_t added, changed, removed;
	uint32_t served;		/* models served after it */
	uint32_t n_listed;
	uint32_t reloads;		/* finished since start, this one included */
	char     message[256];
	struct dnnq_wire_reload_model m[DNNQ_PROTO_RELOAD_MAX];
};

_Static_assert(offsetof(struct dnnq_msg_reload, message) == 40, "reload message");
_Static_assert(offsetof(struct dnnq_msg_reload, m) == 296, "reload models");
_Static_assert(sizeof(struct dnnq_msg_reload) == 296 + 64 * 72, "reload size");
_Static_assert(sizeof(struct dnnq_msg_reload) <= DNNQ_PROTO_MAX_MSG, "reload fits");

/* Latency histogram buckets of MODEL_STATS: counts (not cumulative) of
 * requests whose time in the daemon's run was <= each bound, the last
 * bucket everything above (+Inf). The same in client/dnnq.h. */
#define DNNQ_PROTO_HIST_BUCKETS 12
#define DNNQ_PROTO_HIST_BOUNDS_NS { 50000, 100000, 250000, 500000, 1000000, 2500000, \
	5000000, 10000000, 25000000, 50000000, 100000000 }
/* Executed batch sizes (graph runs by items), the same bucket rule. */
#define DNNQ_PROTO_BATCH_BOUNDS { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 }

/* One model's counters since dnnqd started, summed over the workers, by
 * model id (a reloaded name keeps its id and its counts). requests count
 * every request that named the model (well-formed descriptor), failures
 * those of them that failed, samples the batch items of those that
 * succeeded, run_ns the time from the request's check to the end of its
 * run (copies, quantization and the graph); queue_ns the time from the
 * client's submit (the slot's stamp) to that check, summed over the queued
 * requests whose stamp was plausible (in the last minute). runs counts
 * the graph runs, run_items their batch items (a run of a gathered batch
 * serves several requests: dynamic batching), expired the partial batches
 * run at their max_queue_delay_us deadline, batches[] the runs by items
 * (DNNQ_PROTO_BATCH_BOUNDS); waiting is a gauge: requests held in partial
 * batches now, waiting for company. team_requests counts the requests that
 * ran on more than one worker (the model's threads), team_workers the
 * workers they ran on, summed (the most that joined one job of the
 * request: team_workers / team_requests is the mean team). */
struct dnnq_msg_model_stats {
	struct dnnq_msg_hdr hdr;
	uint32_t model_id;
	uint32_t generation;
	uint32_t n_models;		/* served */
	uint32_t reserved;
	char     name[DNNQ_PROTO_NAME_MAX];
	uint64_t requests, failures, samples, run_ns;
	uint64_t hist[DNNQ_PROTO_HIST_BUCKETS];
	uint64_t queued, queue_ns;
	uint64_t runs, run_items, expired, waiting;
	uint64_t batches[DNNQ_PROTO_HIST_BUCKETS];
	uint64_t team_requests, team_workers;
};

_Static_assert(offsetof(struct dnnq_msg_model_stats, name) == 32, "ms name");
_Static_assert(offsetof(struct dnnq_msg_model_stats, requests) == 96, "ms requests");
_Static_assert(offsetof(struct dnnq_msg_model_stats, hist) == 128, "ms hist");
_Static_assert(offsetof(struct dnnq_msg_model_stats, runs) == 240, "ms runs");
_Static_assert(offsetof(struct dnnq_msg_model_stats, batches) == 272, "ms batches");
_Static_assert(offsetof(struct dnnq_msg_model_stats, team_requests) == 368, "ms team");
_Static_assert(sizeof(struct dnnq_msg_model_stats) == 384, "ms size");

#endif
