/*
 * bench/bench.h — what the dnnq-bench files share: the interleaved timing
 * harness (timing.c), the machine description (machine.c), table output
 * (table.c), the int8 peaks (peak.c, peak-avx2.c, peak-avx512vnni.c), dnnq's
 * thread pool and GEMM kernel choice (threads.c), the peers' set-up
 * (peers.c) and the subcommands (gemm.c, quant.c, conv.c, model.c, ipc.c,
 * team.c, loader.c).
 *
 * Why interleaved: CPU frequency, noisy neighbours and thermal state drift
 * over seconds, so measuring dnnq for a while and then oneDNN for a while
 * compares two different machines. The harness runs the candidates of a row
 * in alternation (A B C A B C ...) and reports medians; ratios come from
 * medians of the same row, so drift hits every candidate alike.
 */
#ifndef DNNQ_BENCH_H
#define DNNQ_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/executor.h"
#include "engine/peak.h"

/* ---- harness (timing.c) ---- */

struct bench_cand {
	const char *name;
	void (*run)(void *arg);   /* one call of the measured operation */
	void *arg;
};

struct bench_result {
	double median;    /* seconds per call */
	double iqr;       /* interquartile range / median */
	unsigned reps;    /* timed reps (the same for every candidate of a row) */
	unsigned inner;   /* calls per timed rep (> 1 for short calls) */
};

/* Each candidate of a row gets >= min_time seconds and >= min_reps reps.
 * settle > 0 (multi-threaded rows): before each timed rep the harness sleeps
 * that long, so the idle threads of the previous candidate stop spinning,
 * then makes one untimed call, so this candidate's threads are awake; reps
 * last >= rep_min so this costs little. */
struct bench_budget {
	double min_time;
	unsigned min_reps;
	double settle;
	double rep_min;
};

/* Full (0.2 s, 5 reps) or --quick / DNNQ_BENCH_QUICK=1 (0.02 s, 3 reps). */
void bench_set_quick(bool quick);
bool bench_is_quick(void);
struct bench_budget bench_budget(void);
/* A smaller budget for decisions that are not reported (layout probes). */
struct bench_budget bench_budget_probe(void);
/* The budget for rows whose candidates run on nthreads. */
struct bench_budget bench_budget_threads(struct bench_budget b, unsigned nthreads);

double bench_now(void);   /* CLOCK_MONOTONIC, seconds */
void bench_sleep(double seconds);
/* Sorts v[0..n) (n >= 1) and returns its median. */
double bench_median(double *v, size_t n);

/* Warms up, then times the n candidates in alternation; res[i] for c[i]. */
void bench_interleave(const struct bench_cand *c, size_t n,
                      struct bench_budget b, struct bench_result *res);

/* Runs c for about `seconds` and returns process CPU time / wall time: how
 * many CPUs the call keeps busy (checks that a thread setting took). */
double bench_cpu_per_wall(const struct bench_cand *c, double seconds);

/* CPUs that other processes keep busy while a row is measured (/proc/stat
 * busy time minus our own CPU time, over wall time): a disturbed row shows. */
struct bench_load {
	double busy, own, wall;
};

void bench_load_begin(struct bench_load *l);
double bench_load_end(const struct bench_load *l);
/* Whether `others` busy CPUs took CPUs a row on `threads` threads needed
 * (more than the CPUs left free, + 0.1). */
bool bench_load_disturbed(double others, unsigned threads);

/* Seconds this process's threads have spent runnable but waiting for a
 * CPU (the run_delay of every /proc/self/task/TID/schedstat, in ns: a
 * precise count where /proc/stat's busy time moves in 10 ms ticks); -1
 * when the kernel keeps no schedstat. */
double bench_waited_seconds(void);

/* bench_interleave for candidates running on `threads` threads, measured a
 * second time when other processes took CPUs they needed
 * (bench_load_disturbed); keeps the less disturbed of the two. Returns the
 * CPUs other processes kept busy during the kept measurement. */
double bench_interleave_guarded(const struct bench_cand *c, size_t n, struct bench_budget b,
                                unsigned threads, struct bench_result *res);

/* ---- machine (machine.c) ---- */

struct bench_machine {
	char model[128];
	unsigned cpus;            /* online logical CPUs */
	unsigned threads_per_core;
	bool avx2, fma, avx512f, avx512_vnni, avx_vnni, hypervisor;
};

void bench_machine_read(struct bench_machine *m);
/* The lines every subcommand starts with; to stderr under --tsv. */
void bench_machine_print(FILE *f);

/* ---- output (table.c) ---- */

/* prec >= 0: a number with that many decimals; -1: an integer or a string,
 * right-aligned; -2: left-aligned. width 0: a TSV-only column. */
struct bench_col {
	const char *key;    /* TSV header */
	const char *head;   /* table header */
	int width;
	int prec;
};

struct bench_table {
	const struct bench_col *cols;
	size_t ncols;
	bool tsv;
	size_t cur;         /* next column of the row being printed */
};

void bench_table_begin(struct bench_table *t, const struct bench_col *cols,
                       size_t ncols, bool tsv);
void bench_cell_num(struct bench_table *t, double v);
void bench_cell_int(struct bench_table *t, long long v);
void bench_cell_str(struct bench_table *t, const char *s);
/* v with prec decimals when have, else "-" (blank in TSV): a cell that does
 * not apply to the row, e.g. an N-thread column of a 1-thread row. */
void bench_cell_opt(struct bench_table *t, bool have, double v, int prec);
void bench_row_end(struct bench_table *t);
/* Human output only: a footnote under the table, wrapped to 96 columns. */
void bench_note(const struct bench_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Where prose goes: stdout for tables, stderr under --tsv. */
FILE *bench_text(bool tsv);

__attribute__((noreturn, format(printf, 1, 2)))
void bench_die(const char *fmt, ...);
/* "bench: warning: ..." on stderr, after flushing stdout to keep order. */
__attribute__((format(printf, 1, 2)))
void bench_warn(const char *fmt, ...);
void *bench_alloc(size_t n);   /* 64-byte aligned, dies on failure */

/* ---- int8 peak (peak.c; the loops: engine/peak.h) ---- */

/* Peak of kind k on nthreads, measured now; the best of every measurement
 * of this process, so one disturbed by another process does not stick. */
double bench_peak_best(enum dnnq_peak_kind k, unsigned nthreads);

/* ---- dnnq's ISA ---- */

/* The ISA dnnq's side of every table packs and runs for: --isa, else
 * dnnq_isa_best(). */
enum dnnq_isa bench_dnnq_isa(void);
/* The name of its GEMM kernel ("gemm_6x64c4__avx512vnni"). */
const char *bench_dnnq_gemm_kernel(void);
/* --isa: scalar, avx2 or avx512vnni (dies when the CPU lacks it). Before
 * anything is packed. */
void bench_dnnq_isa_select(const char *name);

/* ---- threads for dnnq ---- */

struct dnnq_pool;

/* A dnnq_pool of n threads and its executor; n <= 1: no pool, ex NULL (the
 * calling thread, which is what a pool of 1 does). */
struct bench_threads {
	struct dnnq_pool *pool;
	struct dnnq_executor exec;
	const struct dnnq_executor *ex;
	void *caller_cpus;      /* pinned: the caller's CPU mask before, restored by free */
	int *cpus;              /* pinned: thread i's CPU */
	unsigned n;
};

void bench_threads_init(struct bench_threads *t, unsigned n);
/* The same, thread i (the caller's first) pinned to the i-th CPU the
 * process may run on, as dnnqd pins its workers: unpinned, a pool woken
 * after a sleep can find both threads placed on one CPU for a while. */
void bench_threads_pinned(struct bench_threads *t, unsigned n);
/* The CPU thread i of a pinned pool runs on (0: the caller), or -1. */
int bench_threads_cpu(const struct bench_threads *t, unsigned i);
void bench_threads_free(struct bench_threads *t);

/* ---- peers (peers.c) ---- */

/* Sets oneDNN (OpenMP) and OpenBLAS to nthreads; dies if it does not take. */
void bench_peers_threads(unsigned nthreads);
/* Restricts oneDNN's JIT to an ISA by name ("avx2", ...); before any oneDNN
 * call. */
void bench_onednn_max_isa(const char *name);
void bench_peers_print(FILE *f);

/* ---- subcommands ---- */

/* A GEMM's shape: C (m x n) = A (m x k) B (k x n). */
struct bench_shape {
	size_t m, n, k;
};

struct bench_opts {
	bool tsv, quick;
	unsigned threads;
	const struct bench_shape *shapes;   /* --shapes, nshapes of them; NULL: the defaults */
	size_t nshapes;
	size_t min_m;             /* skip shapes with M below */
	double seconds;           /* peak: measuring time */
	const char *onednn_isa;   /* NULL: oneDNN's own choice */
	const char *isa;          /* NULL: dnnq_isa_best() (bench_dnnq_isa_select) */
};

int bench_cmd_peak(const struct bench_opts *o);
int bench_cmd_quant(const struct bench_opts *o);
int bench_cmd_gemm(const struct bench_opts *o);
int bench_cmd_scaling(const struct bench_opts *o);
int bench_cmd_conv(const struct bench_opts *o);
int bench_cmd_model(const struct bench_opts *o);
int bench_cmd_ipc(const struct bench_opts *o);
int bench_cmd_loader(const struct bench_opts *o);
int bench_cmd_memory(const struct bench_opts *o);
int bench_cmd_calib(const struct bench_opts *o);
int bench_cmd_models(const struct bench_opts *o);
int bench_cmd_batching(const struct bench_opts *o);
int bench_cmd_team(const struct bench_opts *o);

#endif
