/*
 * bench/batching.c — `dnnq-bench batching`: dynamic batching across
 * clients (issue 18), measured the way a user would, with `dnnqctl bench`.
 *
 * dnnqd (every CPU of the affinity mask, one worker each) serves the MLP
 * of tools/serve-fixture (1024 -> 2048 -> 2048 -> 1024 FC, bound by weight
 * bandwidth at batch 1) under two names from one file: `mlp` as every
 * model is served by default, one request per graph run, and
 * `mlp-batched` with dynamic_batching (BATCHING below), and `mlp-teamed`,
 * mlp-batched with threads: 2 (each gathered batch one graph run split
 * over both workers when the other is idle: daemon/team.h). The loads, run
 * in turn and repeated ROUNDS times so that whatever else the machine does
 * falls on all alike, each `dnnqctl bench --json` for DURATION seconds:
 *
 *   8 clients x batch 1 on mlp-batched   (the requests gathered)
 *   8 clients x batch 1 on mlp-teamed    (gathered, and teamed)
 *   8 clients x batch 1 on mlp           (each request its own run)
 *   2 clients x batch 8 on mlp           (what batching can reach)
 *   1 client x batch 1, on each          (what a lone client pays for it)
 *
 * Medians over the rounds of samples/s, p50 and p99, the mean executed
 * batch (dnnqctl bench reads it from MODEL_STATS), the batched loads'
 * histograms of executed batch sizes (summed over the rounds: how batches
 * formed against preferred_batch_size, which load distorts less than
 * samples/s), and where the CPUs went,
 * in CPU-seconds per second of the load: dnnqd's workers (its dnnqd-w*
 * threads' /proc schedstat), the clients (dnnqctl's rusage: the bench
 * threads) and other processes (/proc/stat busy time less both and the
 * rest of dnnqd), the workers' involuntary context switches per
 * request (/proc status: the preemptions by the clients a batch wakes,
 * which a loaded host distorts less than samples/s), and the pile: the
 * largest share of the client threads on one CPU half-way through (the
 * kernel wakes a client where it last ran, so they can stay piled on one
 * CPU, which costs a batched load a third of its samples/s; the batched
 * 8 x 1 load's rounds are printed each with its pile). This host has as
 * many CPUs as workers, so whatever the
 * clients and the others take, the workers lack; a shared host's figures
 * are read through these columns. Targets: the first
 * (or the teamed one) reaches TARGET_RATIO of the unbatched 2 x 8's
 * samples/s, with a p99 no worse than the unbatched 8 x 1's. The lone client's pair is why dynamic batching is off by
 * default: its request waits max_queue_delay_us for company that never
 * comes.
 *
 * Why preferred_batch_size [4]: a closed loop of 8 clients has 8 requests
 * at most in flight, and with 2 workers the best it can do is two batches
 * of 4 in turn (a batch waiting for 8 leaves the other worker idle, and
 * every wave pays the whole delay). A leader stops at the largest
 * preferred size, so the other 4 are the other worker's. Measured
 * (interleaved, a loaded 2-CPU host): [4] against [3, 4] and [4, 6], and
 * delays 50, 100, 200 and 400 µs: [3, 4] ran smaller batches for no gain,
 * [4, 6] no better, and a longer delay only raised p99 (a late client
 * holds the batch); 50 and 100 µs were alike, 100 the config default.
 * Re-checked with the histogram: 99% of the batched runs hold 3-4 items
 * (the delay rarely binds), and [8] (with threads 1 or 2, so that a
 * batch of 8 could be one run over both workers) still averaged ~4 items
 * at 9-14k samples/s where [4] made 14-22k in the same interleaved runs:
 * the 8 clients are never all waiting at once. Two leaders gather at once
 * and split them 4 and 4; a worker that handed its request to the other's
 * open batch instead (waiting in that batch's teamed run) was built and
 * measured (2026-12-04, threads 2, [8], quick runs alternated with the
 * build before): batches of 7.85 on average, but 16-34k samples/s against
 * 20-25k, the [4] load's 31-33k and the 2 x 8 load's 60-61k, and a p99 of
 * 3-4 ms whenever another process preempted a team member (the poster
 * waits for a joiner to leave): with all 8 requests in one batch, the
 * clients' turn and the run no longer overlap. Reverted.
 *
 * The last lines time the engine alone (the MLP in-process at batch 1, 4
 * and 8, interleaved): the per-sample cost of a batch of 4 against one of
 * 8 bounds the first load against the 2 x 8 one before any client or
 * daemon cost. On the Zen 4 VM a batch of 4 streams the 8 MB of weights
 * from L3 at about 69 GB/s (the GEMM alone: 122 us a run, at its
 * bandwidth limit), a batch of 8 is bound by vpdpbusd (180 us, 96 % of the
 * measured peak): 30.6 against 22.5 us a sample, a ceiling of 0.74.
 *
 * The last line bounds the target from the clients' side: a batch-1
 * client spends its own CPU per request (submit, the futex sleep, the
 * switch back in) on the CPUs the workers need, so even a daemon costing
 * nothing, running batches of 8, serves 8 x 1 at most CPUs / (the
 * client's CPU per request + the engine's per sample at batch 8). On the
 * quiet VM: 2 / (13 + 23.2 us), 0.83 of 2 x 8 (docs/serving.md, "Where a
 * batched request's CPU goes").
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sched.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "engine/wcache.h"
#include "tools/serve-fixture.h"

#define ROUNDS        5
#define ROUNDS_QUICK  1
#define DURATION      "2"
#define DURATION_QUICK "1"
#define TARGET_RATIO  0.8
#define MAX_BATCH     "8"
#define BATCHING      "{ max_queue_delay_us: 100, preferred_batch_size: [4] }"

struct load {
	const char *label, *model, *clients, *batch;
};

static const struct load loads[] = {
	{ "8 clients x batch 1, batching", "mlp-batched", "8", "1" },
	{ "8 clients x batch 1, batching, threads 2", "mlp-teamed", "8", "1" },
	{ "8 clients x batch 1, no batching", "mlp", "8", "1" },
	{ "2 clients x batch 8, no batching", "mlp", "2", "8" },
	{ "1 client x batch 1, batching", "mlp-batched", "1", "1" },
	{ "1 client x batch 1, no batching", "mlp", "1", "1" },
};
#define NLOADS (sizeof loads / sizeof loads[0])
enum { BATCHED, TEAMED, UNBATCHED, BIG, LONE_BATCHED, LONE };

enum { SAMPLES, P50, P99, MEAN_BATCH, NFIGS, WORKERS = NFIGS, CLIENTS, OTHERS, SWITCHES, PILE,
       NALL };
static const char *const keys[NFIGS] = { "\"samples_per_s\":", "\"p50\":", "\"p99\":",
                                         "\"mean_batch\":" };

/* The largest share of pid's threads but its first (dnnqctl bench's
 * client threads) that last ran on one CPU (/proc/PID/task/TID/stat,
 * field 39): 1 when they all sit on one CPU, 0 when unreadable. The
 * kernel wakes a sleeping client on the CPU it last ran on, so where the
 * clients sit stays as it is for long stretches, and a batched 8 x 1 load
 * piled on one CPU serves far fewer samples/s (docs/serving.md, "Where
 * the clients sit"). */
static double pile(pid_t pid)
{
	char path[300], line[1024];
	unsigned on[CPU_SETSIZE] = { 0 }, n = 0, most = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == pid)
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)pid, e->d_name);
		FILE *f = fopen(path, "r");
		char *p = f && fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
		if (f)
			fclose(f);
		/* after the comm: state is field 3, the CPU field 39 */
		for (int k = 2; p && k < 39; k++)
			p = strchr(p + 1, ' ');
		int cpu = p ? atoi(p + 1) : -1;
		if (cpu < 0 || cpu >= CPU_SETSIZE)
			continue;
		n++;
		if (++on[cpu] > most)
			most = on[cpu];
	}
	if (d)
		closedir(d);
	return n ? (double)most / n : 0;
}

/* argv's stdout (at most len - 1 bytes) and its CPU seconds; *piled, the
 * pile of its threads mid_s seconds in. Dies unless it exits 0. */
static double capture(const char *const *argv, char *out, size_t len, double mid_s, double *piled)
{
	int p[2], status;
	struct rusage ru;
	if (pipe(p))
		bench_die("bench: pipe failed");
	pid_t pid = fixture_fork();
	if (pid < 0)
		bench_die("bench: fork failed");
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t r = 1;
	double mid = bench_now() + mid_s;
	bool sampled = false;
	*piled = 0;
	while (got + 1 < len && r > 0) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		double left = mid - bench_now();
		if (!sampled && poll(&pf, 1, left > 0 ? (int)(left * 1000) + 1 : 0) == 0) {
			*piled = pile(pid);
			sampled = true;
			continue;
		}
		if ((r = read(p[0], out + got, len - 1 - got)) > 0)
			got += (size_t)r;
	}
	out[got] = 0;
	close(p[0]);
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		bench_die("bench: %s bench %s failed (status %d): %s", argv[0], argv[4], status, out);
	return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
	       (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* CPU seconds of dnnqd's threads: all of them, and its workers' alone;
 * the workers' involuntary context switches (preemptions, and yields to
 * another thread), which a batch's wakes cost them. */
struct daemon_cpu {
	double all, workers, switches;
};

/* nonvoluntary_ctxt_switches of task tid of pid; 0 when unreadable. */
static double involuntary_switches(pid_t pid, const char *tid)
{
	char path[300], line[128];
	double n = 0;
	snprintf(path, sizeof path, "/proc/%d/task/%s/status", (int)pid, tid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "nonvoluntary_ctxt_switches:", 27))
			n = strtod(line + 27, NULL);
	if (f)
		fclose(f);
	return n;
}

static struct daemon_cpu daemon_cpu(pid_t pid)
{
	struct daemon_cpu c = { 0, 0, 0 };
	char path[300], comm[32];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	for (struct dirent *e; d && (e = readdir(d));) {
		unsigned long long ns = 0;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		FILE *f = fopen(path, "r");
		int got = f ? fscanf(f, "%llu", &ns) : 0;
		if (f)
			fclose(f);
		snprintf(path, sizeof path, "/proc/%d/task/%s/comm", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (!f || !fgets(comm, sizeof comm, f))
			comm[0] = 0;
		if (f)
			fclose(f);
		if (got != 1)
			continue;
		c.all += (double)ns * 1e-9;
		if (!strncmp(comm, "dnnqd-w", 7)) {
			c.workers += (double)ns * 1e-9;
			c.switches += involuntary_switches(pid, e->d_name);
		}
	}
	if (d)
		closedir(d);
	return c;
}

/* dnnqctl bench's buckets of executed batch sizes up to MAX_BATCH. */
static const char *const buckets[] = { "1", "2", "3-4", "5-8" };
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

/* The graph runs of each bucket in dnnqctl bench's JSON line ("batches":
 * {"1": n, "3-4": m}), added to h. */
static void add_hist(const char *json, double *h)
{
	const char *p = strstr(json, "\"batches\":{"), *end = p ? strchr(p, '}') : NULL;
	char key[16];
	for (size_t b = 0; end && b < NBUCKETS; b++) {
		snprintf(key, sizeof key, "\"%s\":", buckets[b]);
		const char *q = strstr(p, key);
		if (q && q < end)
			h[b] += strtod(q + strlen(key), NULL);
	}
}

/* "[1] 2.0%, [2] 1.0%, [3-4] 96.0%, [5-8] 1.0%": each bucket's share of the
 * runs of h. */
static const char *hist_text(const double *h, char *buf, size_t len)
{
	double all = 0;
	size_t at = 0;
	for (size_t b = 0; b < NBUCKETS; b++)
		all += h[b];
	buf[0] = 0;
	for (size_t b = 0; b < NBUCKETS && at < len; b++)
		at += (size_t)snprintf(buf + at, len - at, "%s[%s] %.1f%%", b ? ", " : "", buckets[b],
		                       all > 0 ? 100 * h[b] / all : 0);
	return buf;
}

/* The number after key in dnnqctl bench's JSON line; 0 when absent. */
static double figure(const char *json, const char *key)
{
	const char *p = strstr(json, key);
	return p ? strtod(p + strlen(key), NULL) : 0;
}

/* The model file and the config beside it, in dir: the three names. */
static void write_config(const char *dir, char *model, char *yaml, size_t len)
{
	struct dnnq_diag diag = { "" };
	snprintf(model, len, "%s/mlp.dnnq", dir);
	if (fixture_model_write(FIXTURE_MLP, model, &diag))
		bench_die("bench: %s", diag.msg);
	snprintf(yaml, len, "%s/dnnqd.yaml", dir);
	FILE *f = fopen(yaml, "w");
	if (!f)
		bench_die("bench: cannot write %s", yaml);
	fprintf(f, "models:\n"
	        "  - { name: mlp, path: mlp.dnnq, max_batch: " MAX_BATCH " }\n"
	        "  - name: mlp-batched\n    path: mlp.dnnq\n    max_batch: " MAX_BATCH "\n"
	        "    dynamic_batching: " BATCHING "\n"
	        "  - name: mlp-teamed\n    path: mlp.dnnq\n    max_batch: " MAX_BATCH "\n"
	        "    threads: 2\n    dynamic_batching: " BATCHING "\n");
	if (fclose(f))
		bench_die("bench: cannot write %s", yaml);
}

/* The engine alone, on this thread: one MLP run at batch `batch`, the
 * fixture's in-process reference (no daemon, no clients). */
struct engine_run {
	struct fixture_ref *ref;
	uint32_t batch;
	const void *in[1];
	void *out[1];
};

static void engine_run(void *arg)
{
	struct engine_run *e = arg;
	if (fixture_ref_run(e->ref, e->batch, e->in, e->out))
		bench_die("bench: the MLP's in-process run failed");
}

/* What the engine makes of a batch of 4 against a batch of 8, per sample:
 * the ceiling of a load whose batches hold 4 (two workers, 8 closed-loop
 * clients) against one whose batches hold 8, before any daemon or client
 * cost. us[0..2]: per-sample microseconds at batch 1, 4 and 8. */
static void engine_per_sample(double us[3])
{
	static const uint32_t batches[3] = { 1, 4, 8 };
	struct dnnq_diag diag = { "" };
	struct engine_run e[3];
	struct bench_cand c[3];
	struct bench_result r[3];
	struct dnnq_weights_cache *cache;
	void *x = NULL, *y = NULL;
	/* a graph each, planned once for its batch (a re-plan per call would
	 * be timed too), on one copy of the packed weights as dnnqd's workers
	 * share them (three copies, 24 MB, evicted each other from L3: a batch
	 * of 4 read 1.5-2x the time it takes alone) */
	if (dnnq_weights_cache_create(&cache))
		bench_die("bench: out of memory");
	for (int i = 0; i < 3; i++) {
		if (fixture_ref_create_shared(FIXTURE_MLP, cache, &e[i].ref, &diag))
			bench_die("bench: %s", diag.msg);
		if (!x) {
			size_t nx = fixture_io_bytes(fixture_ref_io(e[i].ref, 0, 0), 8);
			x = bench_alloc(nx);
			y = bench_alloc(fixture_io_bytes(fixture_ref_io(e[i].ref, 1, 0), 8));
			memset(x, 7, nx);
		}
		e[i].batch = batches[i];
		e[i].in[0] = x;
		e[i].out[0] = y;
		c[i] = (struct bench_cand){ "mlp", engine_run, &e[i] };
	}
	bench_interleave(c, 3, bench_budget(), r);
	for (int i = 0; i < 3; i++) {
		us[i] = r[i].median * 1e6 / batches[i];
		fixture_ref_destroy(e[i].ref);
	}
	dnnq_weights_cache_destroy(cache);
	free(x);
	free(y);
}

/* The CPUs dnnqd runs a worker on: those of this process's affinity mask,
 * which it inherits. */
static unsigned affinity_cpus(void)
{
	cpu_set_t set;
	return sched_getaffinity(0, sizeof set, &set) ? 1 : (unsigned)CPU_COUNT(&set);
}

/* A load's CPU-microseconds of its clients per request (its medians; a
 * batch-1 load's requests are its samples). */
static double client_us(const double *med, double batch)
{
	return med[SAMPLES] > 0 ? med[CLIENTS] * 1e6 * batch / med[SAMPLES] : 0;
}

/* A load's samples per CPU-second of the workers (its medians). */
static double per_cpu(const double *med)
{
	return med[WORKERS] > 0 ? med[SAMPLES] / med[WORKERS] : 0;
}

static const struct bench_col cols[] = {
	{ "load", "load", 42, -2 },
	{ "samples_per_s", "samples/s", 10, 0 },
	{ "p50_us", "p50 us", 8, 0 },
	{ "p99_us", "p99 us", 8, 0 },
	{ "mean_batch", "batch", 6, 2 },
	{ "workers_cpu", "workers", 7, 2 },
	{ "clients_cpu", "clients", 7, 2 },
	{ "others_cpu", "others", 6, 2 },
	{ "worker_switches_per_request", "sw/req", 6, 2 },
	{ "clients_pile", "pile", 5, 2 },
};

int bench_cmd_batching(const struct bench_opts *o)
{
	struct fixture_daemon d;
	struct dnnq_diag diag = { "" };
	char dir[] = "/tmp/dnnq-bench-batching.XXXXXX", model[400], yaml[400], out[4096];
	const char *dnnqd = fixture_binary("DNNQ_DNNQD", "dnnqd");
	const char *ctl = fixture_binary("DNNQ_DNNQCTL", "dnnqctl");
	FILE *text = bench_text(o->tsv);
	if (!dnnqd || !ctl) {
		fprintf(text, "batching: skipped: no %s ($DNNQ_DNNQD / $DNNQ_DNNQCTL; `make bench`"
		        " sets them)\n", dnnqd ? "dnnqctl" : "dnnqd");
		return 0;
	}
	if (!mkdtemp(dir))
		bench_die("bench: mkdtemp %s failed", dir);
	write_config(dir, model, yaml, sizeof yaml);
	if (fixture_daemon_start(&d, dnnqd, 0, (const char *const[]){ "--config", yaml, NULL },
	                         &diag))
		bench_die("bench: starting %s --config %s: %s", dnnqd, yaml, diag.msg);
	unsigned rounds = o->quick ? ROUNDS_QUICK : ROUNDS;
	double fig[NLOADS][NALL][ROUNDS], hist[NLOADS][NBUCKETS] = { { 0 } };
	for (unsigned r = 0; r < rounds; r++) {
		for (size_t l = 0; l < NLOADS; l++) {
			const char *const argv[] = {
				ctl, "--socket", d.socket, "bench", loads[l].model, "--concurrency",
				loads[l].clients, "--batch", loads[l].batch, "--duration",
				o->quick ? DURATION_QUICK : DURATION, "--json", NULL,
			};
			struct bench_load load;
			struct daemon_cpu d0 = daemon_cpu(d.pid);
			bench_load_begin(&load);
			double clients = capture(argv, out, sizeof out,
			                         atof(o->quick ? DURATION_QUICK : DURATION) / 2,
			                         &fig[l][PILE][r]);
			double busy = bench_load_end(&load), wall = bench_now() - load.wall;
			struct daemon_cpu d1 = daemon_cpu(d.pid);
			for (int k = 0; k < NFIGS; k++)
				fig[l][k][r] = figure(out, keys[k]);
			add_hist(out, hist[l]);
			/* bench_load_end counts the children (dnnqd, dnnqctl) as others */
			fig[l][WORKERS][r] = (d1.workers - d0.workers) / wall;
			fig[l][CLIENTS][r] = clients / wall;
			double requests = figure(out, "\"requests\":");
			fig[l][SWITCHES][r] = requests > 0 ? (d1.switches - d0.switches) / requests : 0;
			fig[l][OTHERS][r] = busy - (d1.all - d0.all + clients) / wall;
			if (fig[l][OTHERS][r] < 0)
				fig[l][OTHERS][r] = 0;
		}
	}
	if (fixture_daemon_stop(&d, &diag))
		bench_warn("dnnqd did not stop cleanly: %s", diag.msg);
	fixture_daemon_destroy(&d);
	unlink(model);
	unlink(yaml);
	rmdir(dir);
	/* before the medians, which sort each figure's rounds apart */
	char rounds_text[512];
	size_t at = 0;
	rounds_text[0] = 0;
	for (unsigned r = 0; r < rounds && at < sizeof rounds_text; r++)
		at += (size_t)snprintf(rounds_text + at, sizeof rounds_text - at, "%s%.0f (pile %.2f)",
		                       r ? ", " : "", fig[BATCHED][SAMPLES][r], fig[BATCHED][PILE][r]);
	double med[NLOADS][NALL];
	struct bench_table t;
	bench_table_begin(&t, cols, sizeof cols / sizeof cols[0], o->tsv);
	for (size_t l = 0; l < NLOADS; l++) {
		for (int k = 0; k < NALL; k++)
			med[l][k] = bench_median(fig[l][k], rounds);
		bench_cell_str(&t, loads[l].label);
		for (int k = 0; k < NALL; k++)
			bench_cell_num(&t, med[l][k]);
		bench_row_end(&t);
	}
	double big = med[BIG][SAMPLES];
	double ratio = big > 0 ? med[BATCHED][SAMPLES] / big : 0;
	double teamed = big > 0 ? med[TEAMED][SAMPLES] / big : 0;
	bench_note(&t, "The MLP 1024-2048-2048-1024 FC through dnnqd (every CPU a worker), "
	           "`dnnqctl bench --json` for %s s per load, the loads in turn, medians of %u "
	           "rounds. batch: the mean executed batch (graph runs). workers, clients, others: "
	           "CPU-seconds per second of dnnqd's workers, the dnnqctl bench threads and other "
	           "processes. sw/req: the workers' involuntary context switches per request (the preemptions by woken clients and the yields to them; other processes' preemptions too). pile: the largest share of the dnnqctl bench threads that sat on one CPU half-way through (1: all on one; the kernel wakes a client where it last ran, and a batched load piled on one CPU serves far fewer samples/s: docs/serving.md, \"Where the clients sit\"). mlp-batched: max_batch "
	           MAX_BATCH ", dynamic_batching " BATCHING "; mlp-teamed: the same, threads: 2.",
	           o->quick ? DURATION_QUICK : DURATION, rounds);
	bench_note(&t, "A lone client pays for batching: p50 %.0f us with it, %.0f us without "
	           "(the wait for company; dynamic batching is off by default).",
	           med[LONE_BATCHED][P50], med[LONE][P50]);
	bench_note(&t, "Targets (issue 18): batched 8 x 1 / unbatched 2 x 8 samples/s %.2f, "
	           "with threads 2 %.2f (>= %.1f: %s); batched p99 %.0f us, with threads 2 %.0f "
	           "us, against unbatched 8 x 1's %.0f us (no worse: %s).", ratio, teamed,
	           TARGET_RATIO, ratio >= TARGET_RATIO || teamed >= TARGET_RATIO ? "met" : "MISSED",
	           med[BATCHED][P99], med[TEAMED][P99], med[UNBATCHED][P99],
	           med[BATCHED][P99] <= med[UNBATCHED][P99] ? "met" : "MISSED");
	bench_note(&t, "Batched 8 x 1 by round, samples/s: %s.", rounds_text);
	double us[3];
	engine_per_sample(us);
	bench_note(&t, "The engine alone (the MLP in-process on one thread, interleaved, no "
	           "daemon): %.1f / %.1f / %.1f us a sample at batch 1 / 4 / 8. Batches of 4 "
	           "can reach at most %.2f of batches of 8 (their per-sample ratio), before the "
	           "clients' and the daemon's CPU.", us[0], us[1], us[2], us[1] > 0 ? us[2] / us[1] : 0);
	char h1[128], h2[128];
	bench_note(&t, "Executed batch sizes, share of the graph runs over all rounds: batched 8 x 1: "
	           "%s; with threads 2: %s.", hist_text(hist[BATCHED], h1, sizeof h1),
	           hist_text(hist[TEAMED], h2, sizeof h2));
	bench_note(&t, "Samples per worker CPU-second (what other processes' load distorts less "
	           "than samples/s): batched 8 x 1 %.0f, with threads 2 %.0f, unbatched 2 x 8 %.0f "
	           "(ratio %.2f).", per_cpu(med[BATCHED]), per_cpu(med[TEAMED]), per_cpu(med[BIG]),
	           per_cpu(med[BIG]) > 0 ? per_cpu(med[BATCHED]) / per_cpu(med[BIG]) : 0);
	/* the clients share the workers' CPUs: a batch-1 request costs its
	 * client's CPU (submit, the futex sleep and the switch back in) on top
	 * of the engine's, whatever the daemon does */
	double cl = client_us(med[BATCHED], 1), cap = affinity_cpus() * 1e6 / (cl + us[2]);
	bench_note(&t, "The clients' CPU per request: batched 8 x 1 %.1f us, unbatched 2 x 8 "
	           "%.1f us (8 samples). A daemon costing nothing, with every batch of 8, would "
	           "serve 8 x 1 at most %u CPUs / (%.1f + %.1f us of the engine a sample) = %.0f "
	           "samples/s, %.2f of the 2 x 8's; the wakes, the switches and the gathering "
	           "come out of the difference (docs/serving.md, \"Where a batched request's CPU "
	           "goes\"). A bound for a quiet host: under others' load the interrupts and "
	           "switches a request causes are partly charged to whatever else runs.", cl, client_us(med[BIG], 8), affinity_cpus(), cl, us[2], cap,
	           big > 0 ? cap / big : 0);
	return 0;
}
