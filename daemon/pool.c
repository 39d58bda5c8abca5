/*
 * The thread pool (pool.h). One job at a time: parallel_for publishes the
 * task function, bumps a generation word and wakes the workers; everyone,
 * the caller included, claims tasks until they run out, and the caller
 * returns once every task is done: it does not wait for workers to
 * arrive. On a shared host a worker may not be scheduled for milliseconds;
 * then the caller runs the job alone instead of sleeping until that
 * worker has looked at it (which cost one scheduler wake-up per node).
 *
 * The caller claims from the front of the job and the workers from its
 * back (daemon/claim.h, shared with the teams), so with two threads the
 * caller runs the first part of every job and the worker the rest: the
 * part of a tensor one thread wrote is, node after node, the part the
 * same thread reads next, from its own L2. A late worker still takes what
 * is left at the back, and a missing one leaves it all to the caller.
 *
 * A late worker must not run a task of a job it did not claim: the claim
 * word holds the job's id, even while the job takes claims and odd
 * between jobs. The caller closes a job (odd id) before it writes the
 * next one's function, argument and count, and opens it (the next even
 * id, front 0, back the unit count) after; a thread claims by
 * compare-and-swap on the word it read, so a claim read in one job fails
 * in any other, and a successful claim keeps the job's parameters in place
 * until that unit is done (the job cannot end before). Ids wrap after
 * 2^31 jobs: a worker would have to stall between its load and its CAS
 * for that many jobs to be fooled.
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

#include "daemon/claim.h"
#include "daemon/pool.h"

#define SPIN_ITERS 20000

struct dnnq_pool {
	unsigned nthreads;
	pthread_t *threads;
	/* the job's parameters, read only under a claim of the job */
	dnnq_task_fn fn;
	void *arg;
	struct dnnq_claims claims;  /* the job's tasks, their claim word */
	_Atomic uint32_t done;      /* units of the current job finished */
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

/* Claims and runs units of the open job until none is left (or the job
 * is another's: the CAS fails on a changed id): the caller (tid 0) from
 * the front, workers from the back. */
static void run_tasks(struct dnnq_pool *p, unsigned tid)
{
	uint64_t c = atomic_load_explicit(&p->claims.word, memory_order_acquire);
	size_t i, end;
	uint32_t k;
	while ((k = dnnq_claims_take(&p->claims, &c, tid, p->nthreads, &i, &end))) {
		/* read before the units count as done: the caller may then move on */
		uint32_t units = p->claims.units;
		for (; i < end; i++)
			p->fn(p->arg, i, tid);
		if (atomic_fetch_add(&p->done, k) + k == units && atomic_load(&p->waiting))
			futex_wake(&p->done, 1);
		c = atomic_load_explicit(&p->claims.word, memory_order_acquire);
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
	if (n == 0)
		return;
	/* the job's id: the closed word's id + 1, even */
	uint64_t id = (atomic_load_explicit(&p->claims.word, memory_order_relaxed) >> 32) + 1;
	p->fn = fn;
	p->arg = arg;
	uint64_t open = dnnq_claims_job(&p->claims, n, (uint32_t)id);
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	atomic_store_explicit(&p->claims.word, open, memory_order_release);
	bump_gen(p);
	run_tasks(p, 0);
	wait_for(&p->done, p->claims.units, reached, &p->waiting);
	/* closed: a claim read in this job now fails */
	atomic_store_explicit(&p->claims.word, ((id + 1) & 0xffffffffu) << 32,
	                      memory_order_release);
}

unsigned dnnq_pool_allowed_cpus(unsigned n, int *cpus)
{
	cpu_set_t set;
	unsigned k = 0;
	if (sched_getaffinity(0, sizeof set, &set))
		return 0;
	for (int c = 0; c < CPU_SETSIZE && k < n; c++)
		if (CPU_ISSET(c, &set))
			cpus[k++] = c;
	return k;
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
	atomic_init(&p->claims.word, (uint64_t)1 << 32);   /* closed: the first job's id is 2 */
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
