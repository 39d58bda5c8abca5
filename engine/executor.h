/*
 * engine/executor.h — how the engine runs work in parallel without owning a
 * thread: the caller passes an executor whose parallel_for runs fn(arg, i,
 * tid) for every i in [0, n) and returns when all are done. tid is in
 * [0, nthreads) and names the thread, so a task can use per-thread scratch.
 * NULL means "run everything on the calling thread". Kernels split work so
 * that results never depend on the thread count.
 *
 * The implementation (a pool of pinned pthreads) is daemon/pool.h; it serves
 * the daemon, the tests and the benchmarks.
 */
#ifndef DNNQ_ENGINE_EXECUTOR_H
#define DNNQ_ENGINE_EXECUTOR_H

#include <stddef.h>

typedef void (*dnnq_task_fn)(void *arg, size_t i, unsigned tid);

struct dnnq_executor {
	void (*parallel_for)(void *ctx, size_t n, dnnq_task_fn fn, void *arg);
	void *ctx;
	unsigned nthreads;
};

static inline void dnnq_parallel_for(const struct dnnq_executor *ex, size_t n,
                                     dnnq_task_fn fn, void *arg)
{
	if (ex && ex->nthreads > 1 && n > 1) {
		ex->parallel_for(ex->ctx, n, fn, arg);
		return;
	}
	for (size_t i = 0; i < n; i++)
		fn(arg, i, 0);
}

static inline unsigned dnnq_executor_threads(const struct dnnq_executor *ex)
{
	return ex && ex->nthreads > 1 ? ex->nthreads : 1;
}

/* The size of the pieces n units of work are cut into on ex: at most per
 * (a multiple of align, align >= 1), and on several threads as many
 * pieces as a multiple of the threads, each a multiple of align, so that
 * no thread is left with one more (7 pieces on 2 threads: at best 1.75x).
 * For work whose every unit's result does not depend on the cut. */
static inline size_t dnnq_even_pieces(const struct dnnq_executor *ex, size_t n, size_t per,
                                      size_t align)
{
	size_t nt = dnnq_executor_threads(ex), pieces = n / per + (n % per != 0);
	if (nt == 1 || pieces % nt == 0)
		return per;
	pieces += nt - pieces % nt;
	size_t each = n / pieces + (n % pieces != 0);
	return (each + align - 1) / align * align;
}

#endif
