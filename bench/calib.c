/*
 * dnnq-bench calib: how long dnnq-convert takes to calibrate a model
 * against ONNX Runtime's fp32 inference of the same samples (issue 16's
 * target, one thread: at most 4x).
 *
 * The fixture (made by `make bench`: bench/calib-fixture.py, torchvision's
 * ResNet-18 with seeded weights and 32 seeded 224x224 images, and
 * onnxruntime-node from npm) is in $DNNQ_BENCH_CALIB_DIR. Each round runs
 * `dnnq-convert --threads 1` on it (the whole command: import,
 * calibration, range search, lowering, evaluation, the file), then
 * bench/calib-ort.js (ONNX Runtime, one intra-op thread, every sample at
 * batch 1, timed after a warm-up pass), in alternation; the medians are
 * compared. Wall-clock seconds of separate processes: a row is repeated,
 * not guarded against load like the in-process rows; so each side's CPU
 * time (user + system: dnnq-convert's process from wait4, ORT's timed
 * pass from process.cpuUsage) is compared too, which the other processes
 * of a busy host inflate far less than the wall-clock time.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "bench/bench.h"
#include "tools/serve-fixture.h"

extern char **environ;

/* argv run with stdout to out (NULL: /dev/null); its exit status, its
 * CPU seconds (user + system) in *cpu. */
static int run(char *const argv[], const char *out, double *cpu)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status = -1;
	struct rusage ru = { 0 };
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
	                                 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ))
		wait4(pid, &status, 0, &ru);
	posix_spawn_file_actions_destroy(&fa);
	*cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const struct bench_col cols[] = {
	{ "model", "model", 10, -1 },
	{ "samples", "samples", 8, -1 },
	{ "rounds", "rounds", 7, -1 },
	{ "dnnq_convert_s", "dnnq-convert s", 15, 2 },
	{ "ort_fp32_s", "ORT fp32 s", 11, 2 },
	{ "ratio", "ratio", 7, 2 },
	{ "dnnq_convert_cpu_s", "dnnq CPU s", 11, 2 },
	{ "ort_fp32_cpu_s", "ORT CPU s", 10, 2 },
	{ "cpu_ratio", "CPU ratio", 10, 2 },
};

enum { ROUNDS = 5 };

int bench_cmd_calib(const struct bench_opts *o)
{
	FILE *txt = bench_text(o->tsv);
	const char *dir = getenv("DNNQ_BENCH_CALIB_DIR");
	const char *conv = fixture_binary("DNNQ_DNNQ_CONVERT", "dnnq-convert");
	fprintf(txt, "\n== calib: dnnq-convert of ResNet-18 with 32 calibration images against "
	        "ONNX Runtime fp32 on them, one thread ==\n");
	if (!dir || !*dir || !conv) {
		fprintf(txt, "calib: skipped: %s\n", !conv ? "no dnnq-convert binary"
		        : "$DNNQ_BENCH_CALIB_DIR unset (make bench sets it)");
		return 0;
	}
	char model[512], npy[512], js[512], outp[512], ortout[512];
	snprintf(model, sizeof model, "%s/resnet18.onnx", dir);
	snprintf(npy, sizeof npy, "%s/calib32.npy", dir);
	snprintf(js, sizeof js, "%s/calib-ort.js", dir);
	snprintf(outp, sizeof outp, "%s/resnet18.dnnq", dir);
	snprintf(ortout, sizeof ortout, "%s/ort.out", dir);
	char *dnnq_argv[] = { (char *)conv, model, "--calib", npy, "-o", outp, "--threads", "1",
	                      NULL };
	char *ort_argv[] = { "node", js, model, npy, NULL };
	unsigned rounds = bench_is_quick() ? 1 : ROUNDS;
	double td[ROUNDS], to[ROUNDS], cd[ROUNDS], co[ROUNDS], node_cpu;
	for (unsigned r = 0; r < rounds; r++) {
		double t0 = bench_now();
		if (run(dnnq_argv, NULL, &cd[r]))
			bench_die("calib: %s %s failed", conv, model);
		td[r] = bench_now() - t0;
		FILE *f = NULL;
		if (run(ort_argv, ortout, &node_cpu) || !(f = fopen(ortout, "r")) ||
		    fscanf(f, "%lf %lf", &to[r], &co[r]) != 2)
			bench_die("calib: node %s failed (onnxruntime-node installed in %s?)", js, dir);
		fclose(f);
	}
	double md = bench_median(td, rounds), mo = bench_median(to, rounds);
	double mcd = bench_median(cd, rounds), mco = bench_median(co, rounds);
	struct bench_table t;
	bench_table_begin(&t, cols, sizeof cols / sizeof *cols, o->tsv);
	bench_cell_str(&t, "resnet18");
	bench_cell_int(&t, 32);
	bench_cell_int(&t, (long)rounds);
	bench_cell_num(&t, md);
	bench_cell_num(&t, mo);
	bench_cell_num(&t, md / mo);
	bench_cell_num(&t, mcd);
	bench_cell_num(&t, mco);
	bench_cell_num(&t, mcd / mco);
	bench_row_end(&t);
	bench_note(&t, "Medians of %u rounds, each dnnq-convert then ORT. dnnq-convert: the whole "
	           "command, --threads 1, --method l2; ORT: the inference of the 32 images at "
	           "batch 1 after a warm-up pass (session creation not counted). CPU: user + "
	           "system seconds of the same (dnnq-convert's process, ORT's timed pass). "
	           "Target (issue 16): ratio <= 4.", rounds);
	return 0;
}
