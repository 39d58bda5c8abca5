/*
 * daemon/worker.h — one pinned serving thread per CPU of --cpus. A worker
 * scans the session table, pops requests off the rings, validates and runs
 * them on its own graph of each model version (daemon/request.h) and
 * completes their slots; it
 * spins for --spin-us without work, then sleeps in epoll_wait on every
 * session's doorbell and its own wake eventfd.
 */
#ifndef DNNQ_DAEMON_WORKER_H
#define DNNQ_DAEMON_WORKER_H

#include <pthread.h>
#include <time.h>

#include "daemon/dnnqd.h"
#include "daemon/qsbr.h"
#include "daemon/request.h"
#include "daemon/wake.h"

/* Requests one batch gathers at most, and one more left for after it. */
#define DNNQD_BATCH_JOBS 256

struct dnnqd_worker {
	struct dnnqd_qsbr qs;           /* read by the control loop */
	struct dnnqd *d;
	unsigned index;
	int cpu;
	int epfd;                       /* doorbells + wakefd */
	int wakefd;                     /* the control loop's: a new session, or stop */
	bool started;
	pthread_t thread;
	uint32_t rr;                    /* where the next pass starts */
	uint64_t *sleep_tags;           /* sessions announced asleep in (max_clients) */
	struct dnnqd_uid_turn {         /* a uid's turn in the pass (worker.c) */
		uint32_t uid, pass;
		uint32_t last;          /* table index served last; UINT32_MAX: none */
		uint32_t pick;          /* to serve this pass; UINT32_MAX: none */
		bool pick_full;         /* the pick runs on every worker but one */
	} *turns;
	uint32_t nturns, pass;          /* a power of two >= 2 max_clients */
	uint64_t held;                  /* the tag of the session the last pass held
	                                   back (the reserve); 0: none */
	bool held_by_uid;               /* ... and with it every session of held_uid */
	uint32_t held_uid;
	struct dnnqd_runner runner;
	struct dnnqd_job *jobs;         /* the request served, and the batch it leads
	                                   (DNNQD_BATCH_JOBS) */
	uint32_t gather_rr;             /* where the next gathering round starts */
	struct dnnqd_wake wake;         /* a batch's clients woken in one call */
	uint32_t **wake_words;          /* their futex words (DNNQD_BATCH_JOBS) */
	/* control loop only: the watchdog's last look at qs and runner.steps
	 * (dnnqd_workers_alive) */
	uint64_t seen_epoch, seen_steps, seen_ns;
};

/* Everything but the thread: epoll set, wake eventfd, conversion buffers.
 * On failure, dnnqd_worker_destroy cleans up. */
int dnnqd_worker_init(struct dnnqd_worker *w, struct dnnqd *d, unsigned index, int cpu,
                      struct dnnq_diag *diag);
int dnnqd_worker_start(struct dnnqd_worker *w, struct dnnq_diag *diag);
void dnnqd_worker_wake(struct dnnqd_worker *w);
/* After d->stop is set and the worker woken. */
void dnnqd_worker_join(struct dnnqd_worker *w);
void dnnqd_worker_destroy(struct dnnqd_worker *w);

/* The control loop: a session's doorbell into / out of the epoll set. */
int dnnqd_worker_watch(struct dnnqd_worker *w, const struct dnnqd_session *s);
void dnnqd_worker_unwatch(struct dnnqd_worker *w, const struct dnnqd_session *s);

#endif
