/*
 * daemon/dnnqd.h — the state the control loop and the workers share: the
 * model table, the session table, the workers and the stop flag.
 *
 * Ownership. The control loop (one thread) creates, publishes, retires and
 * frees sessions; workers only read the session table and serve what they
 * find there. The table is a fixed array of atomic pointers (max-clients
 * entries, never reallocated), so a worker can scan it without a lock; a
 * session taken out of it is freed only after a QSBR grace period
 * (daemon/qsbr.h), so a worker never touches freed memory. Models are
 * immutable while serving.
 *
 * dnnqd_start / dnnqd_stop bracket the workers' lives; server.c runs the
 * control loop on top, and the tests drive the same state directly.
 */
#ifndef DNNQ_DAEMON_DNNQD_H
#define DNNQ_DAEMON_DNNQD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "daemon/models.h"

#define DNNQD_HEARTBEAT_MS 10
#define DNNQD_DEFAULT_SLOTS 64
#define DNNQD_DEFAULT_ARENA ((uint64_t)64 << 20)

struct dnnqd_session;
struct dnnqd_worker;

struct dnnqd_config {
	const int *cpus;                /* one worker per entry, pinned there */
	unsigned ncpus;
	uint32_t spin_us;
	uint32_t max_clients;           /* session table entries */
	uint64_t max_session_bytes;     /* largest region a HELLO may ask for */
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

struct dnnqd_totals {
	uint64_t requests, failures, bytes_copied;
};

/* n zeroed counters (free with free()), or NULL. */
struct dnnqd_counters *dnnqd_counters_alloc(unsigned n);
/* The sum of n workers' counters. */
void dnnqd_counters_sum(const struct dnnqd_counters *c, unsigned n, struct dnnqd_totals *out);

struct dnnqd {
	struct dnnqd_config cfg;
	const struct dnnqd_models *models;
	/* cfg.max_clients entries; NULL is free. Workers scan [0, hwm). */
	_Atomic(struct dnnqd_session *) *table;
	_Atomic uint32_t hwm;
	struct dnnqd_worker *workers;
	unsigned nworkers;
	struct dnnqd_counters *counts;  /* daemon-wide, one per worker */
	_Atomic bool stop;
	/* control loop only */
	uint64_t start_ns;
	uint64_t next_session_id;
	uint32_t nsessions;             /* published */
	struct dnnqd_session *retired;  /* unpublished, waiting for a grace period */
};

static inline uint64_t dnnqd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Builds every worker's graphs and starts the workers. On failure nothing
 * is left to stop. */
int dnnqd_start(struct dnnqd *d, const struct dnnqd_config *cfg, const struct dnnqd_models *ms,
                struct dnnq_diag *diag);
/* Stops the workers (each finishes the request it is running) and joins
 * them; sessions stay until dnnqd_destroy. */
void dnnqd_stop(struct dnnqd *d);
/* After dnnqd_stop: frees every session, published or retired, and the
 * workers. */
void dnnqd_destroy(struct dnnqd *d);

#endif
