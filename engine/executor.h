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

#endif
