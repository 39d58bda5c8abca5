/*
 * engine/peak.c — the machine's measured ceilings (engine/peak.h): the int8
 * multiply-add loops of peak-avx2.c and peak-avx512vnni.c, memcpy between
 * cache-sized buffers, and the clock from a chain of dependent adds. Every
 * figure is the best of DNNQ_PEAK_SLICES slices; on an executor of N
 * threads, N tasks run the same loop at once (which also tells whether
 * "cores" share execution units: SMT siblings, or a hypervisor's vCPUs that
 * are). Like the rest of the engine it owns no thread: the caller's
 * executor runs them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/peak.h"

typedef void (*loop_fn)(uint64_t iters, void *ctx);

/* v is used: the loop that made it cannot be dropped */
static inline void keep(uint32_t v)
{
	__asm__ volatile("" : : "r"(v));
}

static void run_avx2(uint64_t iters, void *ctx)
{
	(void)ctx;
	keep(dnnq_peak_avx2_loop(iters));
}

static void run_vnni(uint64_t iters, void *ctx)
{
	(void)ctx;
	keep(dnnq_peak_avx512vnni_loop(iters));
}

static void run_clock(uint64_t iters, void *ctx)
{
	uint64_t x = 0, one = 1;
	(void)ctx;
	if (!iters)
		return;
#define ADD4 "add %[one], %[x]\n\tadd %[one], %[x]\n\tadd %[one], %[x]\n\tadd %[one], %[x]\n\t"
	__asm__ volatile("1:\n\t" ADD4 ADD4 ADD4 ADD4 "dec %[n]\n\tjnz 1b"
	                 : [x] "+r"(x), [n] "+r"(iters) : [one] "r"(one) : "cc");
#undef ADD4
}

/* ctx: two buffers of DNNQ_PEAK_COPY_BYTES, one after the other */
static void run_copy(uint64_t iters, void *ctx)
{
	uint8_t *a = ctx;
	for (uint64_t i = 0; i < iters; i++) {
		memcpy(a + DNNQ_PEAK_COPY_BYTES, a, DNNQ_PEAK_COPY_BYTES);
		__asm__ volatile("" : : "r"(a) : "memory");
	}
}

static const struct {
	const char *name, *insn;
	loop_fn run;
	double ops_per_iter;
	double madds_per_insn;
} kinds[DNNQ_PEAK_KINDS] = {
	[DNNQ_PEAK_AVX2] = { "avx2", "vpmaddubsw", run_avx2, DNNQ_PEAK_OPS_PER_ITER, 32 },
	[DNNQ_PEAK_VNNI] = { "avx512-vnni", "vpdpbusd", run_vnni, DNNQ_PEAK_VNNI_OPS_PER_ITER, 64 },
};

bool dnnq_peak_supported(enum dnnq_peak_kind k)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return false;
	if (k == DNNQ_PEAK_AVX2)
		return true;
	/* what engine/gemm.c asks before it runs vpdpbusd (libgcc also checks
	 * that the OS saves the zmm state) */
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

const char *dnnq_peak_name(enum dnnq_peak_kind k)
{
	return kinds[k].name;
}

const char *dnnq_peak_insn(enum dnnq_peak_kind k)
{
	return kinds[k].insn;
}

double dnnq_peak_madds_per_insn(enum dnnq_peak_kind k)
{
	return kinds[k].madds_per_insn;
}

bool dnnq_peak_of_isa(enum dnnq_isa isa, enum dnnq_peak_kind *k)
{
	if (isa == DNNQ_ISA_AVX512VNNI)
		*k = DNNQ_PEAK_VNNI;
	else if (isa == DNNQ_ISA_AVX2)
		*k = DNNQ_PEAK_AVX2;
	else
		return false;
	return dnnq_peak_supported(*k);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Iterations of f per second, from runs doubling until one takes 10 ms. */
static double rate(loop_fn f, void *ctx)
{
	for (uint64_t it = 1;; it *= 2) {
		double t0 = now();
		f(it, ctx);
		double t = now() - t0;
		if (t > 0.01)
			return (double)it / t;
	}
}

struct slice {
	loop_fn f;
	uint64_t it;
	void *const *ctx;                /* [tid] */
};

static void slice_task(void *arg, size_t i, unsigned tid)
{
	const struct slice *s = arg;
	(void)i;
	s->f(s->it, s->ctx[tid]);
}

/* Best iterations per second of f, all threads of ex together, over
 * DNNQ_PEAK_SLICES slices of seconds / DNNQ_PEAK_SLICES; thread tid runs
 * with ctx[tid]. */
static double best_rate(loop_fn f, void *const *ctx, double seconds,
                        const struct dnnq_executor *ex)
{
	unsigned n = dnnq_executor_threads(ex);
	struct slice s = { f, (uint64_t)(rate(f, ctx[0]) * seconds / DNNQ_PEAK_SLICES) + 1, ctx };
	double best = 0;
	for (int k = 0; k < DNNQ_PEAK_SLICES; k++) {
		double t0 = now();
		dnnq_parallel_for(ex, n, slice_task, &s);
		double r = (double)s.it * n / (now() - t0);
		best = r > best ? r : best;
	}
	return best;
}

double dnnq_peak_gops(enum dnnq_peak_kind k, double seconds, const struct dnnq_executor *ex)
{
	static void *const none[DNNQ_PEAK_MAX_THREADS];
	if (!dnnq_peak_supported(k) || dnnq_executor_threads(ex) > DNNQ_PEAK_MAX_THREADS)
		return 0;
	return best_rate(kinds[k].run, none, seconds, ex) * kinds[k].ops_per_iter * 1e-9;
}

double dnnq_peak_copy_gbps(double seconds, const struct dnnq_executor *ex)
{
	void *buf[DNNQ_PEAK_MAX_THREADS] = { 0 };
	unsigned n = dnnq_executor_threads(ex), i;
	double g = 0;
	if (n > DNNQ_PEAK_MAX_THREADS)
		return 0;
	for (i = 0; i < n; i++) {
		if (!(buf[i] = dnnq_aligned_alloc(2 * DNNQ_PEAK_COPY_BYTES)))
			break;
		memset(buf[i], (int)i, 2 * DNNQ_PEAK_COPY_BYTES);
	}
	if (i == n)
		g = best_rate(run_copy, buf, seconds, ex) * 2.0 * DNNQ_PEAK_COPY_BYTES * 1e-9;
	for (i = 0; i < n; i++)
		free(buf[i]);
	return g;
}

double dnnq_clock_ghz(double seconds)
{
	static void *const none[1];
	return best_rate(run_clock, none, seconds, NULL) * 16 * 1e-9;
}
