/*
 * The thread pool (pool.h). One job at a time: parallel_for publishes the
 * task function and opens the job's claim word, on which spinning workers
 * wait; everyone, the caller included, claims tasks until they run out,
 * and the caller returns once every task is done: it does not wait for
 * workers to arrive. On a shared host a worker may not be scheduled for
 * milliseconds; then the caller runs the job alone instead of sleeping
 * until that worker has looked at it (which cost one scheduler wake-up
 * per node).
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
 * A job costs a few trips of cache lines between the cores, each ~0.1 us
 * on the Zen 5 VM when its two vCPUs sit close and ~0.4 us when the host
 * places them apart (docs/graph.md, "The vCPUs' distance"), so the fork
 * and the join touch as few shared lines as they can. Workers spin on the
 * claim word's line, which holds the job's function, argument and shape
 * too: the job's opening is the one store they wait for, and they find
 * all they need on the line that brought it. The caller's first claim is
 * in the word that opens the job (dnnq_claims_open_first), so the caller
 * starts its tasks without a locked instruction on a line a worker reads.
 * Only workers write the done count, a running total of their units; the
 * caller counts its own and waits for the total the job's other units
 * make.
 *
 * Workers spin briefly before sleeping on the generation word with
 * futex(2), so back-to-back jobs (layer after layer) do not pay a wake-up
 * each. Nor a system call: a thread about to sleep says so first (the
 * sleeping count for workers, the waiting flag for the caller), and the
 * other side calls FUTEX_WAKE only when it sees that. At the join both
 * sides write their word and then read the other's, sequentially
 * consistent (a Dekker pair), so at least one of them sees the other:
 * either the caller sees the count and does not sleep, or the worker sees
 * the flag and wakes it. The fork reads the sleeping count without a
 * fence after the opening store (a locked instruction there would wait
 * for the line the workers spin on): a worker that falls asleep just as
 * the job opens can miss it, and the caller then runs that job alone, as
 * it does for any late worker; the count is seen at the next job, which
 * wakes it. With FUTEX_WAKE on every job, an empty job cost 0.5-0.6 us
 * on the Zen 4 VM, nearly all of it that system call; a model runs tens
 * of jobs.
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
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/claim.h"
#include "daemon/pool.h"

#define SPIN_ITERS 20000

struct dnnq_pool {
	/* the line a worker spins on between jobs: the claim word and what a
	 * claim of the job reads (read only under a claim of the job) */
	_Alignas(64) struct dnnq_claims claims;
	dnnq_task_fn fn;
	void *arg;
	_Atomic int stop;
	/* the join's line, which only workers write */
	_Alignas(64) _Atomic uint32_t done;   /* units workers finished, all jobs */
	_Atomic uint32_t waiting;   /* the caller asleep (or about to be) on done */
	/* the sleepers' line, read by workers at each claim too */
	_Alignas(64) _Atomic uint32_t gen;    /* bumped to wake sleeping workers */
	_Atomic uint32_t sleeping;  /* workers asleep (or about to be) on gen */
	unsigned nthreads;
	pthread_t *threads;
	/* the caller's own line */
	_Alignas(64) uint32_t expect;         /* done once the last job was */
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

/* Claims and runs units of the job whose word was read as c until none
 * is left (or the job is another's: the CAS fails on a changed id): the
 * caller (tid 0) from the front, workers from the back. How many units it
 * ran; a worker counts each claim's in done once they are (the caller
 * counts its own: it alone waits for the job's end). */
static uint32_t run_tasks(struct dnnq_pool *p, unsigned tid, uint64_t c)
{
	size_t i, end;
	uint32_t k, ran = 0;
	while ((k = dnnq_claims_take(&p->claims, &c, tid, p->nthreads, &i, &end))) {
		for (; i < end; i++)
			p->fn(p->arg, i, tid);
		ran += k;
		if (tid) {
			atomic_fetch_add(&p->done, k);
			if (atomic_load(&p->waiting))
				futex_wake(&p->done, 1);
		}
		c = atomic_load_explicit(&p->claims.word, memory_order_acquire);
	}
	return ran;
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

/* done has reached val (both count on, modulo 2^32) */
static bool reached(uint32_t now, uint32_t val)
{
	return (int32_t)(now - val) >= 0;
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

/* A job the worker has not looked at is open in word c (an even id
 * other than seen's), or the pool stops. */
static bool news(struct dnnq_pool *p, uint64_t c, uint32_t seen)
{
	uint32_t id = (uint32_t)(c >> 32);
	return (id != seen && !(id & 1)) || atomic_load_explicit(&p->stop, memory_order_acquire);
}

/* The claim word once it opens a job other than seen (or the pool
 * stops): spinning on its line, which holds the job's parameters too,
 * then asleep on gen (the top comment). */
static uint64_t next_job(struct dnnq_pool *p, uint32_t seen)
{
	uint64_t c;
	for (int s = 0; s < SPIN_ITERS; s++) {
		if (news(p, c = atomic_load_explicit(&p->claims.word, memory_order_acquire), seen))
			return c;
		__builtin_ia32_pause();
	}
	atomic_fetch_add(&p->sleeping, 1);
	for (;;) {
		uint32_t g = atomic_load(&p->gen);
		if (news(p, c = atomic_load(&p->claims.word), seen))
			break;
		futex_wait(&p->gen, g);
	}
	atomic_fetch_sub(&p->sleeping, 1);
	return c;
}

static void *worker(void *argp)
{
	struct worker_arg wa = *(struct worker_arg *)argp;
	struct dnnq_pool *p = wa.pool;
	free(argp);
	uint32_t seen = 1;   /* the closed word's id before the first job */
	for (;;) {
		uint64_t c = next_job(p, seen);
		if (atomic_load_explicit(&p->stop, memory_order_acquire))
			return NULL;
		seen = (uint32_t)(c >> 32);
		run_tasks(p, wa.tid, c);
	}
}

/* Sleeping workers woken: gen bumped (a worker about to sleep then does
 * not) and the futex woken. */
static void wake_sleepers(struct dnnq_pool *p)
{
	atomic_fetch_add(&p->gen, 1);
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
	size_t i, end;
	uint32_t k;
	uint64_t open = dnnq_claims_open_first(&p->claims, n, (uint32_t)id, p->nthreads, &k, &i,
	                                       &end);
	uint32_t units = p->claims.units;
	atomic_store_explicit(&p->claims.word, open, memory_order_release);
	/* no fence between the store and this load: a worker falling asleep
	 * as the job opens may miss it, and the caller then runs the job
	 * alone, as for any late worker; the next job wakes it */
	if (atomic_load_explicit(&p->sleeping, memory_order_relaxed))
		wake_sleepers(p);
	for (; i < end; i++)
		fn(arg, i, 0);
	k += run_tasks(p, 0, atomic_load_explicit(&p->claims.word, memory_order_acquire));
	/* the workers' units */
	p->expect += units - k;
	wait_for(&p->done, p->expect, reached, &p->waiting);
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
	struct dnnq_pool *p = aligned_alloc(_Alignof(struct dnnq_pool), sizeof *p);
	if (!p)
		return NULL;
	memset(p, 0, sizeof *p);
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
	wake_sleepers(p);
	for (unsigned t = 1; t < p->nthreads; t++)
		pthread_join(p->threads[t - 1], NULL);
	free(p->threads);
	free(p);
}

struct dnnq_executor dnnq_pool_executor(struct dnnq_pool *p)
{
	return (struct dnnq_executor){ pool_parallel_for, p, p->nthreads };
}
