/*
 * bench/threads.c — what the dnnq side of every table runs on: a dnnq_pool
 * of the requested size (daemon/pool.h, unpinned as the tests use it, or
 * pinned one thread a CPU as dnnqd's workers are), and
 * the ISA whose kernel table dnnq packs and runs for: the best this CPU
 * runs, or the one --isa names.
 */
#define _GNU_SOURCE	/* sched_getaffinity */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "daemon/pool.h"
#include "engine/gemm.h"

static void threads_make(struct bench_threads *t, unsigned n, const int *cpus)
{
	struct bench_machine m;
	bench_machine_read(&m);
	if (n > m.cpus)
		bench_warn("%u threads on %u online CPUs", n, m.cpus);
	*t = (struct bench_threads){ 0 };
	if (n <= 1)
		return;
	t->pool = dnnq_pool_create(n, cpus);
	if (!t->pool)
		bench_die("bench: dnnq_pool_create(%u): %s", n, strerror(errno));
	t->exec = dnnq_pool_executor(t->pool);
	t->ex = &t->exec;
}

void bench_threads_init(struct bench_threads *t, unsigned n)
{
	threads_make(t, n, NULL);
}

void bench_threads_pinned(struct bench_threads *t, unsigned n)
{
	cpu_set_t set;
	int cpus[CPU_SETSIZE];
	if (sched_getaffinity(0, sizeof set, &set))
		bench_die("bench: sched_getaffinity: %s", strerror(errno));
	unsigned k = dnnq_pool_allowed_cpus(n, cpus);   /* at most CPU_SETSIZE */
	if (k < n || n <= 1) {
		if (k < n)
			bench_warn("%u threads on %u allowed CPUs: not pinned", n, k);
		threads_make(t, n, NULL);
		return;
	}
	cpu_set_t *caller = malloc(sizeof *caller);
	int *mine = malloc(n * sizeof *mine);
	if (!caller || !mine)
		bench_die("bench: out of memory");
	*caller = set;
	memcpy(mine, cpus, n * sizeof *mine);
	threads_make(t, n, cpus);
	t->caller_cpus = caller;
	t->cpus = mine;
	t->n = n;
}

int bench_threads_cpu(const struct bench_threads *t, unsigned i)
{
	return t->cpus && i < t->n ? t->cpus[i] : -1;
}

void bench_threads_free(struct bench_threads *t)
{
	dnnq_pool_destroy(t->pool);
	if (t->caller_cpus && sched_setaffinity(0, sizeof(cpu_set_t), t->caller_cpus))
		bench_warn("bench: sched_setaffinity: %s", strerror(errno));
	free(t->caller_cpus);
	free(t->cpus);
	*t = (struct bench_threads){ 0 };
}

static enum dnnq_isa chosen = DNNQ_ISA_COUNT;

enum dnnq_isa bench_dnnq_isa(void)
{
	return chosen < DNNQ_ISA_COUNT ? chosen : dnnq_isa_best();
}

const char *bench_dnnq_gemm_kernel(void)
{
	return dnnq_kernels_of(bench_dnnq_isa())->gemm.name;
}

void bench_dnnq_isa_select(const char *name)
{
	enum dnnq_isa isa;
	int rc = dnnq_isa_parse(name, &isa);
	if (rc == DNNQ_E_UNSUPPORTED)
		bench_die("bench: --isa %s: this CPU lacks it", name);
	if (rc)
		bench_die("bench: --isa %s: expected scalar, avx2 or avx512vnni", name);
	chosen = isa;
}
