/*
 * daemon/pool.h — the thread pool behind struct dnnq_executor: N-1 worker
 * pthreads (optionally pinned, one CPU each) plus the calling thread, which
 * takes part in every parallel_for as tid 0. Used by dnnqd's workers, the
 * tests and the benchmarks.
 */
#ifndef DNNQ_DAEMON_POOL_H
#define DNNQ_DAEMON_POOL_H

#include "engine/executor.h"

struct dnnq_pool;

/* nthreads >= 1 (1: no worker threads). cpus, when non-NULL, has nthreads
 * entries: thread t is pinned to cpus[t] (the caller's thread is pinned too).
 * NULL on failure, with errno set. */
struct dnnq_pool *dnnq_pool_create(unsigned nthreads, const int *cpus);
/* The first CPUs (at most n) the calling thread may run on, into cpus: how
 * many there are (0, with errno set, when the mask cannot be read). For
 * pinning a pool one thread a CPU. */
unsigned dnnq_pool_allowed_cpus(unsigned n, int *cpus);
void dnnq_pool_destroy(struct dnnq_pool *pool);
struct dnnq_executor dnnq_pool_executor(struct dnnq_pool *pool);

#endif
