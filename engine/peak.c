/*
 * engine/peak.c — the machine's measured ceilings (engine/peak.h): the int8
 * multiply-add loops of peak-avx2.c and peak-avx512vnni.c, memcpy between
 * cache-sized buffers, and the clock from a chain of dependent adds. Every
 * figure is the best of DNNQ_PEAK_SLICES slices, each thread of a
 * multi-threaded one running the same loop at once (which also tells whether "cores" share
 * execution units: SMT siblings, or a hypervisor's vCPUs that are).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/peak.h"

#define MAX_THREADS 256

typedef void (*loop_fn)(uint64_t iters, void *ctx);

static volatile uint32_t sink;

static void run_avx2(uint64_t iters, void *ctx)
{
	(void)ctx;
	sink = dnnq_peak_avx2_loop(iters);
}

static void run_vnni(uint64_t iters, void *ctx)
{
	(void)ctx;
	sink = dnnq_peak_avx512vnni_loop(iters);
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
	void *ctx;
};

static void *slice_thread(void *arg)
{
	const struct slice *s = arg;
	s->f(s->it, s->ctx);
	return NULL;
}

/* One slice on n threads (the caller is s[0]); iterations / second, all
 * threads together. Fewer threads when one cannot be started. */
static double slice_threads(struct slice *s, unsigned n)
{
	pthread_t th[MAX_THREADS];
	unsigned started = 1;
	double t0 = now();
	for (unsigned i = 1; i < n; i++, started++)
		if (pthread_create(&th[i], NULL, slice_thread, &s[i]))
			break;
	s[0].f(s[0].it, s[0].ctx);
	for (unsigned i = 1; i < started; i++)
		pthread_join(th[i], NULL);
	return (double)s[0].it * started / (now() - t0);
}

/* Best iterations per second of f over DNNQ_PEAK_SLICES slices of
 * seconds / DNNQ_PEAK_SLICES, on n threads, thread i with ctx[i]. */
static double best_rate(loop_fn f, void *const *ctx, double seconds, unsigned n)
{
	struct slice s[MAX_THREADS];
	uint64_t it = (uint64_t)(rate(f, ctx[0]) * seconds / DNNQ_PEAK_SLICES) + 1;
	double best = 0;
	n = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
	for (unsigned i = 0; i < n; i++)
		s[i] = (struct slice){ f, it, ctx[i] };
	for (int k = 0; k < DNNQ_PEAK_SLICES; k++) {
		double r = slice_threads(s, n);
		best = r > best ? r : best;
	}
	return best;
}

double dnnq_peak_gops(enum dnnq_peak_kind k, double seconds, unsigned nthreads)
{
	static void *const none[MAX_THREADS];
	if (!dnnq_peak_supported(k))
		return 0;
	return best_rate(kinds[k].run, none, seconds, nthreads) * kinds[k].ops_per_iter * 1e-9;
}

double dnnq_peak_copy_gbps(double seconds, unsigned nthreads)
{
	void *buf[MAX_THREADS] = { 0 };
	unsigned n = nthreads < 1 ? 1 : nthreads > MAX_THREADS ? MAX_THREADS : nthreads;
	double g = 0;
	unsigned i;
	for (i = 0; i < n; i++) {
		if (!(buf[i] = dnnq_aligned_alloc(2 * DNNQ_PEAK_COPY_BYTES)))
			break;
		memset(buf[i], (int)i, 2 * DNNQ_PEAK_COPY_BYTES);
	}
	if (i == n)
		g = best_rate(run_copy, buf, seconds, n) * 2.0 * DNNQ_PEAK_COPY_BYTES * 1e-9;
	for (i = 0; i < n; i++)
		free(buf[i]);
	return g;
}

double dnnq_clock_ghz(double seconds)
{
	static void *const none[1];
	return best_rate(run_clock, none, seconds, 1) * 16 * 1e-9;
}
