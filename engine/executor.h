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
#include <stdint.h>

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

/* n units of work cut for an executor (dnnq_split_even): `count`
 * pieces, piece t covering [dnnq_piece_start(p, t), dnnq_piece_start(p,
 * t + 1)). */
struct dnnq_pieces {
	size_t n, count, align;
};

/* n units cut into pieces of at most per (a multiple of align, align >=
 * 1), each starting at a multiple of align and their sizes at most align
 * apart; on several threads as many pieces as a multiple of the threads
 * where there are units enough, so that no thread is left with one more
 * (7 pieces on 2 threads: at best 1.75x; 49 rows in 7-row pieces now go
 * 6 or 7 rows to each of 8). For work whose every unit's result does not
 * depend on the cut. */
static inline struct dnnq_pieces dnnq_split_even(const struct dnnq_executor *ex, size_t n,
                                                 size_t per, size_t align)
{
	size_t nt = dnnq_executor_threads(ex), units = n / align + (n % align != 0);
	size_t per_units = per / align ? per / align : 1;
	size_t count = units / per_units + (units % per_units != 0);
	if (count % nt)
		count += nt - count % nt;
	return (struct dnnq_pieces){ n, count < units ? count : units, align };
}

static inline size_t dnnq_piece_start(const struct dnnq_pieces *p, size_t t)
{
	size_t units = p->n / p->align + (p->n % p->align != 0);
	if (p->count == 0)
		return 0;   /* n == 0: no piece */
	size_t u = (size_t)((unsigned __int128)t * units / p->count) * p->align;
	return u < p->n ? u : p->n;
}

/* The one size of the pieces of dnnq_split_even for work indexed by a
 * fixed stride (the GEMM's row blocks): on several threads the largest
 * piece, a multiple of align (the last one is shorter: 196 rows in 64-row
 * blocks are 4 of 49, not 3 of 64 and one of 4); on one, per. */
static inline size_t dnnq_even_pieces(const struct dnnq_executor *ex, size_t n, size_t per,
                                      size_t align)
{
	struct dnnq_pieces p = dnnq_split_even(ex, n, per, align);
	if (dnnq_executor_threads(ex) == 1 || p.count <= 1)
		return per;
	size_t units = n / align + (n % align != 0);
	return (units / p.count + (units % p.count != 0)) * align;
}

/* Panels a chunk when the `panels` units of the columns of each of
 * `blocks` row blocks are cut into chunks of whole panels, at least
 * `least` chunks (what keeps a chunk in cache), tasks numbered block by
 * block: on several threads, when the blocks alone do not go evenly to
 * the threads, the cut whose busiest thread (taking every nt-th task) has
 * the fewest panels, the fewest chunks of those (the GEMM's columns,
 * dnnq_gemm_chunk_cols; a depthwise convolution's channels). */
static inline size_t dnnq_split_panels(const struct dnnq_executor *ex, size_t blocks,
                                       size_t panels, size_t least)
{
	size_t nt = dnnq_executor_threads(ex), best = least, best_load = SIZE_MAX;
	if (nt > 1 && blocks * least % nt) {
		size_t hi = 2 * least > 4 * nt ? 2 * least : 4 * nt;
		for (size_t c = least; c <= hi && c <= panels; c++) {
			size_t per = (panels + c - 1) / c, real = (panels + per - 1) / per;
			size_t load = (blocks * real + nt - 1) / nt * per;
			if (load < best_load) {
				best_load = load;
				best = real;
			}
		}
	}
	return (panels + best - 1) / best;
}

#endif
