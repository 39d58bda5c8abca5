/*
 * bench/peak.c — `dnnq-bench peak`: the int8 peak of this machine, from the
 * register-only loops of engine/peak-avx2.c (vpmaddubsw + vpmaddwd +
 * vpaddd, the ceiling of an AVX2 kernel) and, on CPUs with AVX-512 VNNI, of
 * engine/peak-avx512vnni.c (vpdpbusd on zmm, the ceiling of dnnq's VNNI GEMM
 * kernel), on one core and on all of them (which also tells whether "cores"
 * share execution units: SMT siblings, or a hypervisor's vCPUs that are).
 * The clock is estimated from a chain of dependent adds so the peak reads as
 * multiply-adds per cycle, the figure a kernel author can check against the
 * instruction tables.
 */
#include "bench/bench.h"

/* Measuring time of bench_peak_best (and of `peak` without --seconds). */
static double default_seconds(void)
{
	return bench_is_quick() ? 0.1 : 1.0;
}

/* The peak of kind k on a dnnq_pool of n threads (1: this one). */
static double gops_on(enum dnnq_peak_kind k, double seconds, unsigned n)
{
	struct bench_threads th;
	bench_threads_init(&th, n);
	double g = dnnq_peak_gops(k, seconds, th.ex);
	bench_threads_free(&th);
	return g;
}

double bench_peak_best(enum dnnq_peak_kind k, unsigned nthreads)
{
	static double best[DNNQ_PEAK_KINDS][257];
	double g = gops_on(k, default_seconds(), nthreads);
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
static void peak_row(struct bench_table *t, enum dnnq_peak_kind k, unsigned n,
                     double seconds, double ghz)
{
	struct bench_load load;
	bench_load_begin(&load);
	double gops = seconds > 0 ? gops_on(k, seconds, n)
	                          : bench_peak_best(k, n);
	double others = bench_load_end(&load), madds = gops / 2 / n / ghz;
	bench_cell_str(t, dnnq_peak_name(k));
	bench_cell_int(t, n);
	bench_cell_num(t, gops);
	bench_cell_num(t, ghz);
	bench_cell_num(t, madds);
	bench_cell_str(t, dnnq_peak_insn(k));
	bench_cell_num(t, madds / dnnq_peak_madds_per_insn(k));
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
	bool vnni = dnnq_peak_supported(DNNQ_PEAK_VNNI);
	if (!dnnq_peak_supported(DNNQ_PEAK_AVX2)) {
		fprintf(bench_text(o->tsv), "peak: this CPU has no AVX2; nothing to measure\n");
		return 0;
	}
	double ghz = dnnq_clock_ghz(shown / 2);
	fprintf(bench_text(o->tsv), "\n== int8 peak (register-only loops: AVX2%s) ==\n",
	        vnni ? " and AVX-512 VNNI" : "; no AVX-512 VNNI on this CPU");
	bench_table_begin(&t, peak_cols, sizeof peak_cols / sizeof *peak_cols, o->tsv);
	for (int k = 0; k < DNNQ_PEAK_KINDS; k++) {
		if (!dnnq_peak_supported((enum dnnq_peak_kind)k))
			continue;
		peak_row(&t, (enum dnnq_peak_kind)k, 1, seconds, ghz);
		if (all > 1)
			peak_row(&t, (enum dnnq_peak_kind)k, all, seconds, ghz);
	}
	bench_note(&t, "GOPS: 10^9 ops/s; one u8*s8 multiply-add = 2 ops. avx2 (the AVX2 peak, "
	           "what `gemm` reports %% AVX2 peak against): 8 independent ymm accumulators, each "
	           "step vpmaddubsw (32 multiply-adds) + vpmaddwd (ones) + vpaddd.%s No loads; best "
	           "of %d slices of %.2f s.",
	           vnni ? " avx512-vnni (the ceiling of dnnq's VNNI GEMM kernel, `gemm` % VNNI "
	           "peak): 8 independent zmm accumulators, each step one vpdpbusd (64 "
	           "multiply-adds, int32 accumulation)." : "", DNNQ_PEAK_SLICES,
	           shown / DNNQ_PEAK_SLICES);
	bench_note(&t, "GHz: estimated on one thread from a chain of dependent adds (1 cycle "
	           "each); the per-cycle columns of the %u-thread rows assume the same clock. "
	           "others: CPUs other processes kept busy meanwhile.", all);
	return 0;
}
