/*
 * The thread pool (pool.h). One job at a time: parallel_for publishes the
 * task function, bumps a generation word and wakes the workers; everyone,
 * the caller included, claims task indices from one atomic counter until
 * they run out; the last worker to finish wakes the caller. Workers spin
 * briefly on the generation word before sleeping on it with futex(2), so
 * back-to-back jobs (layer after layer) do not pay a wake-up each.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
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
	dnnq_task_fn fn;
	void *arg;
	size_t ntasks;
	_Atomic size_t next;
	_Atomic uint32_t pending;   /* workers still in the current job */
	_Atomic uint32_t gen;       /* job generation; workers wait on it */
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

static void run_tasks(struct dnnq_pool *p, unsigned tid)
{
	size_t i;
	while ((i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed)) < p->ntasks)
		p->fn(p->arg, i, tid);
}

/* Waits until *w != val: spins first, then sleeps. */
static void wait_change(_Atomic uint32_t *w, uint32_t val)
{
	for (int s = 0; s < SPIN_ITERS; s++) {
		if (atomic_load_explicit(w, memory_order_acquire) != val)
			return;
		__builtin_ia32_pause();
	}
	while (atomic_load_explicit(w, memory_order_acquire) == val)
		futex_wait(w, val);
}

static void *worker(void *argp)
{
	struct worker_arg wa = *(struct worker_arg *)argp;
	struct dnnq_pool *p = wa.pool;
	free(argp);
	uint32_t seen = 0;
	for (;;) {
		wait_change(&p->gen, seen);
		seen = atomic_load_explicit(&p->gen, memory_order_acquire);
		if (atomic_load_explicit(&p->stop, memory_order_acquire))
			return NULL;
		run_tasks(p, wa.tid);
		if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1)
			futex_wake(&p->pending, 1);
	}
}

static void pool_parallel_for(void *ctx, size_t n, dnnq_task_fn fn, void *arg)
{
	struct dnnq_pool *p = ctx;
	p->fn = fn;
	p->arg = arg;
	p->ntasks = n;
	atomic_store_explicit(&p->next, 0, memory_order_relaxed);
	atomic_store_explicit(&p->pending, p->nthreads - 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
	futex_wake(&p->gen, INT32_MAX);
	run_tasks(p, 0);
	uint32_t left;
	for (int s = 0; (left = atomic_load_explicit(&p->pending, memory_order_acquire)); s++) {
		if (s < SPIN_ITERS)
			__builtin_ia32_pause();
		else
			futex_wait(&p->pending, left);
	}
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
	atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
	futex_wake(&p->gen, INT32_MAX);
	for (unsigned t = 1; t < p->nthreads; t++)
		pthread_join(p->threads[t - 1], NULL);
	free(p->threads);
	free(p);
}

struct dnnq_executor dnnq_pool_executor(struct dnnq_pool *p)
{
	return (struct dnnq_executor){ pool_parallel_for, p, p->nthreads };
}
