/*
 * bench/peak.c — `dnnq-bench peak`: the int8 peak of this machine, from the
 * register-only loops of peak-avx2.c (vpmaddubsw + vpmaddwd + vpaddd, the
 * ceiling of an AVX2 kernel) and, on CPUs with AVX-512 VNNI, of
 * peak-avx512vnni.c (vpdpbusd on zmm, the ceiling of dnnq's VNNI GEMM
 * kernel), on one core and on all of them (which also tells whether "cores"
 * share execution units: SMT siblings, or a hypervisor's vCPUs that are).
 * The clock is estimated from a chain of dependent adds so the peak reads as
 * multiply-adds per cycle, the figure a kernel author can check against the
 * instruction tables.
 */
#include <pthread.h>

#include "bench/bench.h"
#include "engine/base.h"

#define SLICES 5

typedef uint64_t (*loop_fn)(uint64_t iters);

static volatile uint32_t sink;

static uint64_t run_avx2(uint64_t iters)
{
	sink = bench_peak_avx2_loop(iters);
	return iters;
}

static uint64_t run_vnni(uint64_t iters)
{
	sink = bench_peak_avx512vnni_loop(iters);
	return iters;
}

static uint64_t run_clock(uint64_t iters)
{
	bench_clock_loop(iters);
	return iters;
}

static const struct {
	const char *name, *insn;
	loop_fn run;
	double ops_per_iter;
	double madds_per_insn;
} kinds[BENCH_PEAK_KINDS] = {
	[BENCH_PEAK_AVX2] = { "avx2", "vpmaddubsw", run_avx2, BENCH_PEAK_OPS_PER_ITER, 32 },
	[BENCH_PEAK_VNNI] = { "avx512-vnni", "vpdpbusd", run_vnni, BENCH_PEAK_VNNI_OPS_PER_ITER,
	                      64 },
};

bool bench_peak_supported(enum bench_peak_kind k)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return false;
	if (k == BENCH_PEAK_AVX2)
		return true;
	/* what engine/gemm.c asks before it runs vpdpbusd (libgcc also checks
	 * that the OS saves the zmm state) */
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

const char *bench_peak_name(enum bench_peak_kind k)
{
	return kinds[k].name;
}

void bench_clock_loop(uint64_t iters)
{
	uint64_t x = 0, one = 1;
	if (!iters)
		return;
#define ADD4 "add %[one], %[x]\n\tadd %[one], %[x]\n\tadd %[one], %[x]\n\tadd %[one], %[x]\n\t"
	__asm__ volatile("1:\n\t" ADD4 ADD4 ADD4 ADD4 "dec %[n]\n\tjnz 1b"
	                 : [x] "+r"(x), [n] "+r"(iters) : [one] "r"(one) : "cc");
#undef ADD4
}

/* Iterations of f per second, from runs doubling until one takes 10 ms. */
static double rate(loop_fn f)
{
	for (uint64_t it = 1000;; it *= 2) {
		double t0 = bench_now();
		f(it);
		double t = bench_now() - t0;
		if (t > 0.01)
			return (double)it / t;
	}
}

/* Best iterations per second over SLICES runs of seconds / SLICES each. */
static double best_rate(loop_fn f, double seconds)
{
	uint64_t it = (uint64_t)(rate(f) * seconds / SLICES) + 1;
	double best = 0;
	for (int s = 0; s < SLICES; s++) {
		double t0 = bench_now();
		f(it);
		double r = (double)it / (bench_now() - t0);
		best = r > best ? r : best;
	}
	return best;
}

double bench_clock_ghz(double seconds)
{
	return best_rate(run_clock, seconds) * 16 * 1e-9;
}

struct slice {
	loop_fn f;
	uint64_t it;
};

static void *peak_thread(void *arg)
{
	const struct slice *s = arg;
	s->f(s->it);
	return NULL;
}

/* One slice on n threads (the caller is one of them); iterations / second. */
static double slice_threads(struct slice *s, unsigned n)
{
	pthread_t th[n];
	double t0 = bench_now();
	for (unsigned i = 1; i < n; i++)
		if (pthread_create(&th[i], NULL, peak_thread, s))
			bench_die("bench: pthread_create failed");
	s->f(s->it);
	for (unsigned i = 1; i < n; i++)
		pthread_join(th[i], NULL);
	return (double)s->it * n / (bench_now() - t0);
}

double bench_int8_peak_gops_threads(enum bench_peak_kind k, double seconds, unsigned nthreads)
{
	if (!bench_peak_supported(k))
		return 0;
	loop_fn f = kinds[k].run;
	if (nthreads <= 1)
		return best_rate(f, seconds) * kinds[k].ops_per_iter * 1e-9;
	struct slice s = { f, (uint64_t)(rate(f) * seconds / SLICES) + 1 };
	double best = 0;
	for (int i = 0; i < SLICES; i++) {
		double r = slice_threads(&s, nthreads);
		best = r > best ? r : best;
	}
	return best * kinds[k].ops_per_iter * 1e-9;
}

/* Measuring time of bench_peak_best (and of `peak` without --seconds). */
static double default_seconds(void)
{
	return bench_is_quick() ? 0.1 : 1.0;
}

double bench_peak_best(enum bench_peak_kind k, unsigned nthreads)
{
	static double best[BENCH_PEAK_KINDS][257];
	double g = bench_int8_peak_gops_threads(k, default_seconds(), nthreads);
	if (nthreads < 1 || nthreads > 256)
		return g;
	if (g > best[k][nthreads])
		best[k][nthreads] = g;
	return best[k][nthreads];
}

static const struct bench_col peak_cols[] = {
	{ "loop", "loop", 11, -2 },
	{ "threads", "threads", 7, -1 },
	{ "int8_gops", "int8 GOPS", 10, 1 },
	{ "ghz_est", "est. GHz", 8, 2 },
	{ "madds_per_cycle_core", "u8*s8 madds/cycle/core", 22, 1 },
	{ "insn", "instruction", 11, -1 },
	{ "insns_per_cycle_core", "insns/cycle/core", 16, 2 },
	{ "others_cpus", "others", 6, 2 },
};

/* seconds == 0: the default time, through bench_peak_best as gemm does. */
static void peak_row(struct bench_table *t, enum bench_peak_kind k, unsigned n,
                     double seconds, double ghz)
{
	struct bench_load load;
	bench_load_begin(&load);
	double gops = seconds > 0 ? bench_int8_peak_gops_threads(k, seconds, n)
	                          : bench_peak_best(k, n);
	double others = bench_load_end(&load), madds = gops / 2 / n / ghz;
	bench_cell_str(t, kinds[k].name);
	bench_cell_int(t, n);
	bench_cell_num(t, gops);
	bench_cell_num(t, ghz);
	bench_cell_num(t, madds);
	bench_cell_str(t, kinds[k].insn);
	bench_cell_num(t, madds / kinds[k].madds_per_insn);
	bench_cell_num(t, others);
	bench_row_end(t);
}

int bench_cmd_peak(const struct bench_opts *o)
{
	struct bench_machine m;
	struct bench_table t;
	double seconds = o->seconds > 0 ? o->seconds : 0;
	double shown = seconds > 0 ? seconds : default_seconds();
	unsigned all = o->threads ? o->threads : (bench_machine_read(&m), m.cpus);
	bool vnni = bench_peak_supported(BENCH_PEAK_VNNI);
	if (!bench_peak_supported(BENCH_PEAK_AVX2)) {
		fprintf(bench_text(o->tsv), "peak: this CPU has no AVX2; nothing to measure\n");
		return 0;
	}
	double ghz = bench_clock_ghz(shown / 2);
	fprintf(bench_text(o->tsv), "\n== int8 peak (register-only loops: AVX2%s) ==\n",
	        vnni ? " and AVX-512 VNNI" : "; no AVX-512 VNNI on this CPU");
	bench_table_begin(&t, peak_cols, sizeof peak_cols / sizeof *peak_cols, o->tsv);
	for (int k = 0; k < BENCH_PEAK_KINDS; k++) {
		if (!bench_peak_supported((enum bench_peak_kind)k))
			continue;
		peak_row(&t, (enum bench_peak_kind)k, 1, seconds, ghz);
		if (all > 1)
			peak_row(&t, (enum bench_peak_kind)k, all, seconds, ghz);
	}
	bench_note(&t, "GOPS: 10^9 ops/s; one u8*s8 multiply-add = 2 ops. avx2 (the AVX2 peak, "
	           "what `gemm` reports %% AVX2 peak against): 8 independent ymm accumulators, each "
	           "step vpmaddubsw (32 multiply-adds) + vpmaddwd (ones) + vpaddd.%s No loads; best "
	           "of %d slices of %.2f s.",
	           vnni ? " avx512-vnni (the ceiling of dnnq's VNNI GEMM kernel, `gemm` % VNNI "
	           "peak): 8 independent zmm accumulators, each step one vpdpbusd (64 "
	           "multiply-adds, int32 accumulation)." : "", SLICES, shown / SLICES);
	bench_note(&t, "GHz: estimated on one thread from a chain of dependent adds (1 cycle "
	           "each); the per-cycle columns of the %u-thread rows assume the same clock. "
	           "others: CPUs other processes kept busy meanwhile.", all);
	return 0;
}
