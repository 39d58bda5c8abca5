/*
 * daemon/dnnqd.h — the state the control loop and the workers share: the
 * model table, the session table, the workers and the stop flag.
 *
 * Ownership. The control loop (one thread) creates, publishes, retires and
 * frees sessions; workers only read the session table and serve what they
 * find there. The table is a fixed array of atomic pointers (max-clients
 * entries, never reallocated), so a worker can scan it without a lock; a
 * session taken out of it is freed only after a QSBR grace period
 * (daemon/qsbr.h), so a worker never touches freed memory.
 *
 * Models: the table of versions (daemon/models.h) sits behind one atomic
 * pointer. A worker loads it once per request and holds it until its next
 * quiescent point; the control loop publishes a new table with one store
 * (dnnqd_models_publish) and frees the old one after a grace period, the
 * same rule and the same epochs as for sessions. That one load is all a
 * reload costs the serving path.
 *
 * dnnqd_start / dnnqd_stop bracket the workers' lives; server.c runs the
 * control loop on top, and the tests drive the same state directly.
 */
#ifndef DNNQ_DAEMON_DNNQD_H
#define DNNQ_DAEMON_DNNQD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daemon/models.h"

#define DNNQD_HEARTBEAT_MS 10
#define DNNQD_DEFAULT_SLOTS 64
#define DNNQD_DEFAULT_ARENA ((uint64_t)64 << 20)
/* Connections that have not sent HELLO yet: their own budget, apart from
 * the sessions', in all and per uid (control.c). */
#define DNNQD_PENDING_MAX 64
/* Closed sessions not freed yet (dnnqd_uid_full): in all, and per uid. A
 * worker stalled for a scheduler slice delays every grace period, so these
 * are far above what a client reconnecting in a loop leaves behind then;
 * a long request pins them for its whole run, and they cap that. */
#define DNNQD_CLOSING_MAX 4096
#define DNNQD_CLOSING_PER_UID 1024
/* max_clients sessions, the closing ones, the pending connections */
#define DNNQD_UID_RECORDS(d) ((d)->cfg.max_clients + DNNQD_CLOSING_MAX + DNNQD_PENDING_MAX)
#define DNNQD_PENDING_PER_UID 8

struct dnnqd_session;
struct dnnqd_worker;
struct dnnqd_reload;
struct dnnqd_metrics;

struct dnnqd_config {
	const int *cpus;                /* one worker per entry, pinned there */
	unsigned ncpus;
	uint32_t spin_us;
	uint32_t max_clients;           /* session table entries */
	uint64_t max_session_bytes;     /* largest region a HELLO may ask for */
	uint32_t max_inflight;          /* most slots a HELLO may ask for; 0: no limit */
	uint32_t max_sessions_per_uid;  /* sessions one uid may hold; 0: max_clients */
	uint64_t max_bytes_per_uid;     /* region bytes one uid may hold; 0: no limit */
	bool public_stats;              /* daemon-wide STATS figures for every client */
	uint32_t reserve_max_ms;        /* the longest reserve window (reserve.h); 0: the floor */
};

/* What one uid holds: the per-uid limits (control loop only). */
struct dnnqd_uid {
	uint32_t uid;
	uint32_t sessions;              /* published, and kept (below) */
	uint32_t kept;                  /* closed by dnnqd, replies unread by
	                                   the peer (dnnqd_session_retire) */
	uint32_t closing;               /* retired, not freed yet (grace period) */
	uint32_t pending;               /* connections without a HELLO yet */
	uint64_t bytes;                 /* its sessions' region sizes, the
	                                   closing ones' included */
};

/* A session's or a uid's requests on the workers (worker.c, the reserve). */
struct dnnqd_load {
	_Alignas(64) _Atomic uint32_t running;  /* running now */
	_Atomic uint64_t active_ns;             /* when one last finished (coarse clock) */
	_Atomic uint64_t gaps;                  /* a session's last idle gaps (reserve.h) */
};

/* A uid's load, shared by its sessions: the control loop gives each uid one
 * while any of its sessions (published, or retired and not yet freed)
 * holds it. */
struct dnnqd_uid_load {
	struct dnnqd_load l;
	uint32_t uid;                           /* control loop only */
	uint32_t refs;                          /* control loop: sessions holding it */
};

/* Counters with one writer each (a worker), read by the control loop:
 * plain load + store, no locked instruction on the serving path. */
struct dnnqd_counters {
	_Alignas(64) _Atomic uint64_t requests;
	_Atomic uint64_t failures;
	_Atomic uint64_t bytes_copied;
};

static inline void dnnqd_count(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
	                      memory_order_relaxed);
}

/* One worker's counters of one model (MODEL_STATS), in the row the
 * model's name holds while any version of it lives (dnnqd_model.stats).
 * Worker i writes only its own, with dnnqd_count; the control loop sums
 * them. Rows are not model ids: a reload that serves a name never served
 * before hands out a new id (an old handle must never name another
 * model), so ids grow with every name ever served, and counting by id
 * left every model past the 256th name unseen (requests 0 in
 * MODEL_STATS and the metrics, however busy). */
#define DNNQD_STATS_MODELS 256  /* rows: names served at once that are counted */
struct dnnqd_model_counts {
	_Atomic uint64_t requests, failures, samples, run_ns;
	_Atomic uint64_t queued, queue_ns;	/* requests with a plausible submit stamp */
	_Atomic uint64_t team_requests;		/* run on more than one worker (team.h) */
	_Atomic uint64_t team_workers;		/* the workers those ran on, summed */
	_Atomic uint64_t hist[DNNQ_PROTO_HIST_BUCKETS];
	/* graph runs: their items, those run at their deadline (dynamic
	 * batching), and the histogram of their items (DNNQ_PROTO_BATCH_BOUNDS) */
	_Atomic uint64_t runs, run_items, expired;
	_Atomic uint64_t batches[DNNQ_PROTO_HIST_BUCKETS];
	_Atomic uint64_t waiting;	/* a gauge: requests held in a partial batch now */
};

struct dnnqd_totals {
	uint64_t requests, failures, bytes_copied;
};

/* n zeroed counters (free with free()), or NULL. */
struct dnnqd_counters *dnnqd_counters_alloc(unsigned n);
/* The sum of n workers' counters. */
void dnnqd_counters_sum(const struct dnnqd_counters *c, unsigned n, struct dnnqd_totals *out);

struct dnnqd {
	struct dnnqd_config cfg;
	_Atomic(struct dnnqd_models *) models;   /* seq_cst loads: qsbr.h */
	/* cfg.max_clients entries; NULL is free. Workers scan [0, hwm). */
	_Atomic(struct dnnqd_session *) *table;
	_Atomic uint32_t hwm;
	struct dnnqd_worker *workers;
	unsigned nworkers;
	struct dnnqd_counters *counts;  /* daemon-wide, one per worker */
	struct dnnqd_model_counts *mcounts;  /* worker i's row r (a model's:
	                                        dnnqd_model.stats) at
	                                        [i * DNNQD_STATS_MODELS + r] */
	_Atomic bool stop;
	/* control loop only */
	uint64_t start_ns;
	uint64_t next_session_id;
	uint32_t nsessions;             /* published */
	uint32_t nclosing;              /* retired, not freed yet */
	uint32_t npending;              /* connections without a HELLO yet */
	uint64_t refused;               /* peers refused as not allowed (their log
	                                   lines are thinned, control.c) */
	uint64_t fds_unsent;            /* HELLO replies whose descriptors the
	                                   kernel would not pass (control.c) */
	struct dnnqd_uid_load *loads;   /* max_clients; refs 0: free */
	struct dnnqd_uid *uids;         /* every uid with a session, a closing one
	                                   or a pending connection (DNNQD_UID_RECORDS) */
	uint32_t nuids;
	struct dnnqd_session *retired;  /* unpublished, waiting for a grace period */
	uint64_t scrub_left;            /* bytes of their pages the reaps may still
	                                   free before the next tick (session.h) */
	struct dnnqd_models *retired_models;
	struct dnnqd_reload *reload;    /* NULL: no hot reload (the tests' daemons) */
	struct dnnqd_metrics *metrics;  /* NULL: no metrics.textfile (metrics.h) */
	uint32_t reloads;               /* finished, good or not */
	char reload_error[200];         /* the last reload's failure; "" after a good one */
};

static inline uint64_t dnnqd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Starts the workers serving table ms (whose versions have a graph per
 * worker: dnnqd_models_new(cfg->ncpus)), which d owns from now on, also on
 * failure. On failure nothing is left to stop. */
int dnnqd_start(struct dnnqd *d, const struct dnnqd_config *cfg, struct dnnqd_models *ms,
                struct dnnq_diag *diag);
/* Stops the workers (each finishes the request it is running) and joins
 * them; sessions stay until dnnqd_destroy. */
void dnnqd_stop(struct dnnqd *d);

/* fd (an AF_UNIX socket of dnnqd's) takes no SCM_RIGHTS: a peer's sendmsg
 * with fds fails (EPERM) instead of queueing open files in a socket dnnqd
 * never reads them from (SO_PASSRIGHTS, Linux 6.16; older kernels say
 * ENOPROTOOPT, and dnnqd's recvs, which pass no control buffer, discard
 * them as before). `read_side`: dnnqd only writes fd, and its read side is
 * shut down too, so nothing at all queues there. */
void dnnqd_refuse_fds(int fd, bool read_side);
/* After dnnqd_stop: frees every session, published or retired, every
 * table and the workers. */
void dnnqd_destroy(struct dnnqd *d);

/* The control loop's view of the served table (it is the only writer). */
static inline struct dnnqd_models *dnnqd_models_now(struct dnnqd *d)
{
	return atomic_load_explicit(&d->models, memory_order_relaxed);
}

/* The control loop: serve ms from now on (d owns it); the table it
 * replaces is freed by dnnqd_reap after its grace period. DNNQ_E_NOMEM
 * (nothing changed) when the grace record cannot be allocated. */
int dnnqd_models_publish(struct dnnqd *d, struct dnnqd_models *ms);
/* Frees the retired sessions and tables whose grace period is over; the
 * control loop's tick, which gives the freeing of pages a new budget. */
void dnnqd_reap(struct dnnqd *d);

/* QSBR over every worker (qsbr.h): snap gets nworkers epochs, taken after
 * the pointer was unpublished; over once each worker has moved on. */
void dnnqd_grace_begin(const struct dnnqd *d, uint64_t *snap);
bool dnnqd_grace_over(const struct dnnqd *d, const uint64_t *snap);

/* The control loop's record of uid: the one there, or a new zeroed one
 * (there is room for every uid that can hold something; NULL only if the
 * records were not kept). */
struct dnnqd_uid *dnnqd_uid_get(struct dnnqd *d, uint32_t uid);
/* uid's record, or NULL when it holds nothing. */
const struct dnnqd_uid *dnnqd_uid_find(const struct dnnqd *d, uint32_t uid);
/* The sessions one uid may hold: limits.max_sessions_per_uid, at most
 * max_clients. */
static inline uint32_t dnnqd_sessions_per_uid(const struct dnnqd *d)
{
	uint32_t n = d->cfg.max_sessions_per_uid;
	return n && n < d->cfg.max_clients ? n : d->cfg.max_clients;
}
/* Why uid may not have another session, into buf (NULL: it may): it holds
 * limits.max_sessions_per_uid sessions, or there are too many closed ones
 * not freed yet (DNNQD_CLOSING_*). A closed session is freed a grace
 * period after its close (once the requests running then have ended), and
 * until then its region and descriptors are still the daemon's: a client
 * that keeps a long request running while it connects and closes in a
 * loop must not pile them up. The uid's closed ones whose grace period is
 * over are freed first (so they leave its bytes too: limits.max_bytes_per_uid
 * counts them until then). */
const char *dnnqd_uid_full(struct dnnqd *d, uint32_t uid, char *buf, size_t len);
/* Drops uid's record when it holds nothing any more. */
void dnnqd_uid_put(struct dnnqd *d, uint32_t uid);

/* The daemon's state in one line (STATS' message, the STATUS= line):
 * "serving 2 models, 1 session[, 3 reloads][; last reload failed: why]". */
void dnnqd_state_line(const struct dnnqd *d, char *buf, size_t len);

/* An idle worker's longest sleep waiting for work (daemon/worker.c). */
#define DNNQD_IDLE_SLEEP_NS 100000000

/* The watchdog's question: has every worker shown life (its epoch moved,
 * once per pass and around each sleep of at most DNNQD_IDLE_SLEEP_NS)
 * within the last window_ns? A worker asleep waiting for work passes while
 * its epoch moved within two of its sleeps, so a window shorter than a
 * sleep does not fail an idle worker, and one whose wake never comes back
 * still fails. Call it from the control loop at least once per window. */
bool dnnqd_workers_alive(struct dnnqd *d, uint64_t now_ns, uint64_t window_ns);

#endif
