/*
 * daemon/qsbr.h — quiescent-state-based reclamation: how the control loop
 * knows that no worker still uses a session it has taken out of the table.
 *
 * Each worker owns one epoch word and writes it at three kinds of points,
 * all of them moments when it holds no pointer to any session:
 *
 *   quiescent  epoch += 2   after each request served, and once per pass
 *                           over the session table
 *   offline    epoch += 1   (even -> odd) before it sleeps in epoll_wait
 *   online     epoch += 1   (odd -> even) when it wakes, before it reads
 *                           the table again
 *
 * To free a session the control loop (1) stores NULL into its table slot,
 * (2) snapshots every worker's epoch, and (3) frees once each worker's
 * epoch is odd in the snapshot (it was asleep) or differs from it (it has
 * passed a quiescent point, or gone to sleep, since).
 *
 * Why that is enough: all of (1), (2), the workers' epoch stores and their
 * table loads are seq_cst, so they fall in one total order. If the snapshot
 * (2) read an epoch value older than a worker's store W, then (2) precedes
 * W in that order, (1) precedes (2), and every table load the worker does
 * after W follows (1): it reads NULL, never the pointer being freed. The
 * loads the worker did before W may have returned the pointer, but W is a
 * release store sequenced after all its uses, and step (3) reads W (or a
 * later store of the same worker) with acquire: every use happens before
 * the free. An odd snapshot is the same argument with the offline store as
 * W and the online store as the next one. A worker inside a long request
 * simply delays step (3); the region stays mapped and the request finishes
 * into it.
 *
 * The epoch is the only word the worker writes here, once per pass; the
 * seq_cst store (an xchg on x86) is the whole cost on the serving path.
 */
#ifndef DNNQ_DAEMON_QSBR_H
#define DNNQ_DAEMON_QSBR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* One worker's epoch, alone on its cache line (the control loop reads it). */
struct dnnqd_qsbr {
	_Alignas(64) _Atomic uint64_t epoch;
};

/* A reader starts offline: it holds nothing until it first goes online. */
static inline void dnnqd_qsbr_init(struct dnnqd_qsbr *r)
{
	atomic_init(&r->epoch, 1);
}

static inline void dnnqd_qsbr_advance(struct dnnqd_qsbr *r, uint64_t by)
{
	uint64_t e = atomic_load_explicit(&r->epoch, memory_order_relaxed);
	atomic_store_explicit(&r->epoch, e + by, memory_order_seq_cst);
}

/* The worker: at a point where it holds no session pointer. */
static inline void dnnqd_qsbr_quiescent(struct dnnqd_qsbr *r)
{
	dnnqd_qsbr_advance(r, 2);
}

static inline void dnnqd_qsbr_offline(struct dnnqd_qsbr *r)
{
	dnnqd_qsbr_advance(r, 1);
}

static inline void dnnqd_qsbr_online(struct dnnqd_qsbr *r)
{
	dnnqd_qsbr_advance(r, 1);
}

/* The control loop: after unpublishing, before freeing. */
static inline uint64_t dnnqd_qsbr_snapshot(const struct dnnqd_qsbr *r)
{
	return atomic_load_explicit((_Atomic uint64_t *)&r->epoch, memory_order_seq_cst);
}

static inline bool dnnqd_qsbr_passed(const struct dnnqd_qsbr *r, uint64_t snap)
{
	return (snap & 1) ||
	       atomic_load_explicit((_Atomic uint64_t *)&r->epoch, memory_order_acquire) != snap;
}

#endif
