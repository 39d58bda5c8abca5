/*
 * The thread pool (pool.h). One job at a time: parallel_for publishes the
 * task function, bumps a generation word and wakes the workers; everyone,
 * the caller included, claims task indices until they run out, and the
 * caller returns once every task is done: it does not wait for workers to
 * arrive. On a shared host a worker may not be scheduled for milliseconds;
 * then the caller runs the job alone instead of sleeping until that
 * worker has looked at it (which cost one scheduler wake-up per node).
 *
 * A late worker must not run a task of a job it did not claim. Claims go
 * through one 64-bit word, job id << 32 | next index; the id is even
 * while the job takes claims and odd between jobs. The caller closes a
 * job (odd id) before it writes the next one's function, argument and
 * count, and opens it (the next even id, index 0) after; a worker claims
 * by compare-and-swap on the word it read, so a claim read in one job
 * fails in any other, and a successful claim keeps the job's parameters
 * in place until that task is done (the job cannot end before). Ids wrap
 * after 2^31 jobs: a worker would have to stall between its load and its
 * CAS for that many jobs to be fooled.
 *
 * Workers spin briefly on the generation word before sleeping on it with
 * futex(2), so back-to-back jobs (layer after layer) do not pay a wake-up
 * each. Nor a system call: a thread about to sleep says so first (the
 * sleeping count for workers, the waiting flag for the caller), and the
 * other side calls FUTEX_WAKE only when it sees that. Both sides write
 * their word and then read the other's, sequentially consistent (a Dekker
 * pair), so at least one of them sees the other: either the sleeper sees
 * the change and does not sleep, or the writer sees the sleeper and wakes
 * it. With FUTEX_WAKE on every job, an empty job cost 0.5-0.6 us on the
 * Zen 4 VM, nearly all of it that system call; a model runs tens of jobs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/pool.h"

#define SPIN_ITERS 20000

struct dnnq_pool {
	unsigned nthreads;
	pthread_t *threads;
	/* the job's parameters: atomics because a late worker may read the
	 * count while the caller writes the next job's (its CAS then fails) */
	_Atomic(dnnq_task_fn) fn;
	_Atomic(void *) arg;
	_Atomic uint32_t ntasks;
	_Atomic uint64_t claim;     /* job id << 32 | next task index */
	_Atomic uint32_t done;      /* tasks of the current job finished */
	_Atomic uint32_t gen;       /* bumped per job; workers wait on it */
	_Atomic uint32_t sleeping;  /* workers asleep (or about to be) on gen */
	_Atomic uint32_t waiting;   /* the caller asleep (or about to be) on done */
	_Atomic int stop;
};

struct worker_arg {
	struct dnnq_pool *pool;
	unsigned tid;
};

static void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w, int n)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static void pin(pthread_t t, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(t, sizeof set, &set);
}

/* Claims and runs tasks of the open job until none is left (or the job
 * is another's: the CAS fails on a changed id). */
static void run_tasks(struct dnnq_pool *p, unsigned tid)
{
	uint64_t c = atomic_load_explicit(&p->claim, memory_order_acquire);
	for (;;) {
		/* the count read after the claim word it belongs to (acquire):
		 * if the caller moved on meanwhile, the CAS below fails */
		uint32_t n = atomic_load_explicit(&p->ntasks, memory_order_relaxed);
		if (((c >> 32) & 1) || (c & 0xffffffffu) >= n)
			return;
		if (!atomic_compare_exchange_weak_explicit(&p->claim, &c, c + 1,
		                                           memory_order_acquire,
		                                           memory_order_acquire))
			continue;
		dnnq_task_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
		fn(atomic_load_explicit(&p->arg, memory_order_relaxed), c & 0xffffffffu, tid);
		if (atomic_fetch_add(&p->done, 1) + 1 == n && atomic_load(&p->waiting))
			futex_wake(&p->done, 1);
		c = atomic_load_explicit(&p->claim, memory_order_acquire);
	}
}

/* Sleeps on *w until cond(*w, val) holds (it did not when the caller
 * last looked), counted in *sleepers while it may sleep: whoever changes
 * *w wakes it only when *sleepers says so (the top comment). */
static void sleep_until(_Atomic uint32_t *w, uint32_t val, bool (*cond)(uint32_t, uint32_t),
                        _Atomic uint32_t *sleepers)
{
	atomic_fetch_add(sleepers, 1);
	uint32_t now;
	while (!cond(now = atomic_load(w), val))
		futex_wait(w, now);
	atomic_fetch_sub(sleepers, 1);
}

static bool changed(uint32_t now, uint32_t val)
{
	return now != val;
}

static bool reached(uint32_t now, uint32_t val)
{
	return now >= val;
}

/* Waits until cond(*w, val): spins first, then sleeps (sleep_until). */
static void wait_for(_Atomic uint32_t *w, uint32_t val, bool (*cond)(uint32_t, uint32_t),
                     _Atomic uint32_t *sleepers)
{
	for (int s = 0; s < SPIN_ITERS; s++) {
		if (cond(atomic_load_explicit(w, memory_order_acquire), val))
			return;
		__builtin_ia32_pause();
	}
	sleep_until(w, val, cond, sleepers);
}

static void *worker(void *argp)
{
	struct worker_arg wa = *(struct worker_arg *)argp;
	struct dnnq_pool *p = wa.pool;
	free(argp);
	uint32_t seen = 0;
	for (;;) {
		wait_for(&p->gen, seen, changed, &p->sleeping);
		seen = atomic_load_explicit(&p->gen, memory_order_acquire);
		if (atomic_load_explicit(&p->stop, memory_order_acquire))
			return NULL;
		run_tasks(p, wa.tid);
	}
}

/* A new generation: workers look for the job (or the stop flag). */
static void bump_gen(struct dnnq_pool *p)
{
	atomic_fetch_add(&p->gen, 1);
	if (atomic_load(&p->sleeping))
		futex_wake(&p->gen, INT32_MAX);
}

static void pool_parallel_for(void *ctx, size_t n, dnnq_task_fn fn, void *arg)
{
	struct dnnq_pool *p = ctx;
	if (n > UINT32_MAX) {
		/* the claim word holds a 32-bit index (no kernel splits this fine) */
		for (size_t i = 0; i < n; i++)
			fn(arg, i, 0);
		return;
	}
	/* the job's id: the closed word's id + 1, even */
	uint64_t id = (atomic_load_explicit(&p->claim, memory_order_relaxed) >> 32) + 1;
	atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
	atomic_store_explicit(&p->arg, arg, memory_order_relaxed);
	atomic_store_explicit(&p->ntasks, (uint32_t)n, memory_order_relaxed);
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	atomic_store_explicit(&p->claim, (id & 0xffffffffu) << 32, memory_order_release);
	bump_gen(p);
	run_tasks(p, 0);
	wait_for(&p->done, (uint32_t)n, reached, &p->waiting);
	/* closed: a claim read in this job now fails */
	atomic_store_explicit(&p->claim, ((id + 1) & 0xffffffffu) << 32, memory_order_release);
}

struct dnnq_pool *dnnq_pool_create(unsigned nthreads, const int *cpus)
{
	if (nthreads < 1 || nthreads > 1024) {
		errno = EINVAL;
		return NULL;
	}
	struct dnnq_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->nthreads = nthreads;
	atomic_init(&p->claim, (uint64_t)1 << 32);   /* closed: the first job's id is 2 */
	if (nthreads > 1 && !(p->threads = calloc(nthreads - 1, sizeof *p->threads))) {
		free(p);
		return NULL;
	}
	if (cpus)
		pin(pthread_self(), cpus[0]);
	for (unsigned t = 1; t < nthreads; t++) {
		struct worker_arg *wa = malloc(sizeof *wa);
		int rc = wa ? 0 : ENOMEM;
		if (wa) {
			*wa = (struct worker_arg){ p, t };
			rc = pthread_create(&p->threads[t - 1], NULL, worker, wa);
		}
		if (rc) {
			free(wa);
			p->nthreads = t;   /* destroy joins the ones that started */
			dnnq_pool_destroy(p);
			errno = rc;
			return NULL;
		}
		if (cpus)
			pin(p->threads[t - 1], cpus[t]);
	}
	return p;
}

void dnnq_pool_destroy(struct dnnq_pool *p)
{
	if (!p)
		return;
	atomic_store_explicit(&p->stop, 1, memory_order_release);
	bump_gen(p);
	for (unsigned t = 1; t < p->nthreads; t++)
		pthread_join(p->threads[t - 1], NULL);
	free(p->threads);
	free(p);
}

struct dnnq_executor dnnq_pool_executor(struct dnnq_pool *p)
{
	return (struct dnnq_executor){ pool_parallel_for, p, p->nthreads };
}
