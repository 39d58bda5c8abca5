/*
 * bench/ipc.c — `dnnq-bench ipc`: what serving through dnnqd costs over
 * running the model in-process, and what shared memory saves over a
 * socket. Four measurements in one run:
 *
 *   1. round trip of relu64 (64 B in, 64 B out, batch 1) through dnnqd,
 *      started with `--cpus 1` (one worker, spinning on CPU 1) while this
 *      thread runs on CPU 0: p50 / p99 / p99.9 of every request;
 *   2. the baseline: the same 64 B request and 64 B response over a Unix
 *      SOCK_SEQPACKET socketpair to a forked echo server on CPU 1, which
 *      applies relu64's table to the bytes (so both give the same answer);
 *   3. fc1024 (FC 1x1024x1024) through dnnqd against dnnq_graph_run of the
 *      same model in this thread, with the timing.c harness;
 *   4. pipelined throughput of one client thread keeping DEPTH relu64
 *      requests in flight (dnnq_submit / dnnq_poll).
 *
 * Latency percentiles need every request's own time (clock_gettime around
 * each call, into a preallocated array), so 1 and 2 do not go through the
 * harness; they are interleaved in blocks instead (BLOCK dnnqd requests,
 * BLOCK socket requests, ...), and before each block a sleep lets the
 * other path's server go idle and one untimed request wakes this one's, as
 * the harness's settling does. Results are checked outside the timing:
 * dnnqd's outputs equal the engine's, the echo's equal dnnqd's.
 *
 * Without a dnnqd binary ($DNNQ_DNNQD, or dnnqd beside dnnq-bench) or with
 * fewer than 2 CPUs the daemon rows are skipped with a message.
 */
#define _GNU_SOURCE   /* sched_setaffinity */
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "client/dnnq.h"
#include "tools/serve-fixture.h"

#define REQUESTS        200000u
#define REQUESTS_QUICK  20000u
#define BLOCK           1000u
#define BLOCK_SETTLE    5e-3     /* > a dnnqd worker's spin before it sleeps */
#define FC_CALLS        20000u
#define FC_CALLS_QUICK  2000u
#define DEPTH           32u
#define PIPE_SLICES     5
#define PIPE_SECONDS    1.0      /* over all slices; --quick: a fifth */
#define CLIENT_CPU      0
#define SERVER_CPU      1
#define MSG             64u      /* relu64's request and response */
#define CLIENT_SPIN_US  2000     /* > fc1024's run: the client never sleeps on a result */

#define TARGET_SOCKET_RATIO 5.0      /* socket p50 / dnnqd p50, at least */
#define TARGET_FC_RATIO     1.05     /* dnnqd / in-process, at most */
#define TARGET_PIPE_RPS     300000.0

/* ---- small helpers ------------------------------------------------------- */

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set))
		bench_warn("cannot pin to CPU %d", cpu);
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts))
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Per-request times of one path, seconds. */
struct lat {
	double *s;
	size_t n;
};

/* Nearest rank of the sorted samples. */
static double pct(const struct lat *l, double p)
{
	size_t r = (size_t)ceil(p * (double)l->n);
	return l->s[r ? r - 1 : 0];
}

/* CPU seconds process pid has used (all its threads); 0 when unreadable. */
static double proc_cpu(pid_t pid)
{
	char path[64], line[1024];
	unsigned long ut = 0, st = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = pid > 0 ? fopen(path, "r") : NULL;
	char *end = f && fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
	if (!end || sscanf(end + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
	                   &st) != 2)
		ut = st = 0;
	if (f)
		fclose(f);
	long hz = sysconf(_SC_CLK_TCK);
	return (double)(ut + st) / (double)(hz > 0 ? hz : 100);
}

/* bench_load without the servers this command started: their CPU time is
 * part of what is measured, not a disturbance. */
struct load {
	struct bench_load l;
	pid_t pid[2];
	double cpu;
};

static void load_begin(struct load *x, pid_t a, pid_t b)
{
	*x = (struct load){ .pid = { a, b }, .cpu = proc_cpu(a) + proc_cpu(b) };
	bench_load_begin(&x->l);
}

/* CPUs other processes kept busy since load_begin. */
static double load_end(const struct load *x)
{
	double others = bench_load_end(&x->l), wall = bench_now() - x->l.wall;
	double servers = proc_cpu(x->pid[0]) + proc_cpu(x->pid[1]) - x->cpu;
	others -= wall > 0 ? servers / wall : 0;
	return others > 0 ? others : 0;
}

/* A measured figure, and the CPUs other processes kept busy meanwhile. */
struct figure {
	double v, others;
};

/* "what >= 5.0x: met (6.12x)", MISSED, or not judged when other processes
 * took CPUs (every row here needs both: the client's and the server's). */
static void judge(char *buf, size_t len, const char *what, struct figure f, double limit,
                  bool at_most, const char *unit, int prec)
{
	bool ok = at_most ? f.v <= limit : f.v >= limit;
	snprintf(buf, len, "%s %s %.*f%s: %s (%.*f%s)", what, at_most ? "<=" : ">=", prec, limit,
	         unit, bench_load_disturbed(f.others, 2) ? "not judged, other processes busy"
	         : ok ? "met" : "MISSED", prec, f.v, unit);
}

/* ---- the socket baseline ------------------------------------------------- */

struct echo {
	int fd;
	pid_t pid;
	const uint8_t *table;   /* relu64's: out = table[in] */
	uint8_t req[MSG], resp[MSG];
};

static void echo_serve(int fd, const uint8_t *table)
{
	uint8_t buf[MSG];
	pin(SERVER_CPU);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0)
			_exit(n == 0 ? 0 : 1);
		for (ssize_t i = 0; i < n; i++)
			buf[i] = table[buf[i]];
		if (send(fd, buf, (size_t)n, 0) != n)
			_exit(1);
	}
}

static void echo_start(struct echo *e, const uint8_t *table)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		bench_die("bench: socketpair: %m");
	e->table = table;
	e->pid = fixture_fork();
	if (e->pid < 0)
		bench_die("bench: fork: %m");
	if (e->pid == 0) {
		close(sv[0]);
		echo_serve(sv[1], table);
	}
	close(sv[1]);
	e->fd = sv[0];
}

static void echo_stop(struct echo *e)
{
	close(e->fd);
	waitpid(e->pid, NULL, 0);
}

static void echo_once(void *arg)
{
	struct echo *e = arg;
	if (send(e->fd, e->req, MSG, 0) != MSG || recv(e->fd, e->resp, MSG, 0) != MSG)
		bench_die("bench: the echo server stopped answering");
}

/* ---- dnnqd --------------------------------------------------------------- */

/* One request of a model at batch 1 (tensors in the arena) and the engine's
 * answer for it. */
struct call {
	struct dnnq_model *m;
	struct dnnq_tensor in, out;
	const struct dnnq_tensor *ins[1];
	struct dnnq_tensor *outs[1];
	struct fixture_ref *ref;
	uint8_t *want;
};

struct served {
	struct fixture_daemon d;
	struct dnnq_client *c;
	struct call relu, fc;
	struct call pipe[DEPTH];
	struct dnnq_request r[DEPTH];
};

static void call_run(void *arg)
{
	struct call *k = arg;
	int rc = dnnq_infer(k->m, k->ins, k->outs, 10000);
	if (rc)
		bench_die("bench: dnnq_infer(%s): %s", dnnq_model_name_of(k->m), dnnq_strerror(rc));
}

/* The in-process candidate: the engine, this thread. */
static void ref_run(void *arg)
{
	struct call *k = arg;
	const void *in[1] = { k->in.data };
	void *out[1] = { k->want };
	int rc = fixture_ref_run(k->ref, 1, in, out);
	if (rc)
		bench_die("bench: dnnq_graph_run(%s): %s", dnnq_model_name_of(k->m), dnnq_strerror(rc));
}

static void call_init(struct served *s, struct call *k, enum fixture_model which,
                      uint64_t seed)
{
	struct dnnq_diag diag = { "" };
	const char *name = fixture_model_name(which);
	int rc = dnnq_model_open(s->c, name, &k->m);
	if (!rc)
		rc = dnnq_tensor_alloc_io(k->m, DNNQ_INPUT, 0, 1, &k->in);
	if (!rc)
		rc = dnnq_tensor_alloc_io(k->m, DNNQ_OUTPUT, 0, 1, &k->out);
	if (rc)
		bench_die("bench: %s through dnnqd: %s", name, dnnq_strerror(rc));
	if ((rc = fixture_ref_create(which, &k->ref, &diag)))
		bench_die("bench: %s in-process: %s", name, diag.msg);
	k->ins[0] = &k->in;
	k->outs[0] = &k->out;
	k->want = bench_alloc(k->out.bytes);
	uint64_t x = seed;
	for (size_t i = 0; i < k->in.bytes; i++)
		((uint8_t *)k->in.data)[i] = (uint8_t)((x = x * 6364136223846793005ull + 1) >> 56);
	ref_run(k);
}

/* dnnqd's answer must be the engine's. */
static void call_check(struct call *k)
{
	memset(k->out.data, 0xa5, k->out.bytes);
	call_run(k);
	if (memcmp(k->out.data, k->want, k->out.bytes))
		bench_die("bench: %s: dnnqd's result differs from the engine's",
		          dnnq_model_name_of(k->m));
}

static void call_free(struct served *s, struct call *k)
{
	dnnq_tensor_free(s->c, &k->in);
	dnnq_tensor_free(s->c, &k->out);
	dnnq_model_close(k->m);
	fixture_ref_destroy(k->ref);
	free(k->want);
}

/* dnnqd with one worker on SERVER_CPU, a client and its requests; false
 * (and a message) when there is no daemon to measure. */
static bool served_start(struct served *s, FILE *f)
{
	char cpu[16];
	const char *const extra[] = { "--cpus", cpu, NULL };
	struct bench_machine m;
	struct dnnq_diag diag = { "" };
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	bench_machine_read(&m);
	if (!bin || m.cpus < 2) {
		fprintf(f, "ipc: %s: the dnnqd rows are skipped\n", !bin ?
		        "no dnnqd binary ($DNNQ_DNNQD unset or not executable, no dnnqd beside "
		        "dnnq-bench; `make bench` sets it)" : "fewer than 2 CPUs");
		return false;
	}
	unsigned models = 1u << FIXTURE_RELU64 | 1u << FIXTURE_FC1024;
	snprintf(cpu, sizeof cpu, "%d", SERVER_CPU);
	if (fixture_daemon_start(&s->d, bin, models, extra, &diag))
		bench_die("bench: starting %s: %s (log: %s)", bin, diag.msg, s->d.log);
	struct dnnq_connect_opts o = { .slots = 2 * DEPTH, .arena_bytes = 16 << 20,
	                               .spin_us = CLIENT_SPIN_US };
	int rc = dnnq_connect(s->d.socket, &o, &s->c);
	if (rc)
		bench_die("bench: dnnq_connect(%s): %s", s->d.socket, dnnq_strerror(rc));
	call_init(s, &s->relu, FIXTURE_RELU64, 1);
	call_init(s, &s->fc, FIXTURE_FC1024, 2);
	for (unsigned i = 0; i < DEPTH; i++)
		call_init(s, &s->pipe[i], FIXTURE_RELU64, 10 + i);
	call_check(&s->relu);
	call_check(&s->fc);
	return true;
}

static void served_stop(struct served *s)
{
	struct dnnq_diag diag = { "" };
	call_free(s, &s->relu);
	call_free(s, &s->fc);
	for (unsigned i = 0; i < DEPTH; i++)
		call_free(s, &s->pipe[i]);
	dnnq_close(s->c);
	if (fixture_daemon_stop(&s->d, &diag))
		bench_warn("dnnqd did not stop cleanly: %s", diag.msg);
	fixture_daemon_destroy(&s->d);
}

/* relu64's function as a table: the engine run on the 256 values. */
static void relu_table(uint8_t *table)
{
	struct fixture_ref *r;
	struct dnnq_diag diag = { "" };
	uint8_t in[256];
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	const void *ins[1] = { in };
	void *outs[1] = { table };
	if (fixture_ref_create(FIXTURE_RELU64, &r, &diag) || fixture_ref_run(r, 256 / MSG, ins, outs))
		bench_die("bench: relu64 in-process: %s", diag.msg);
	fixture_ref_destroy(r);
}

/* ---- 1 and 2: round trips ------------------------------------------------ */

/* total requests of each candidate, in blocks, interleaved; lat[i] sorted. */
static void sample_blocks(const struct bench_cand *c, size_t n, size_t total, struct lat *lat)
{
	for (size_t i = 0; i < n; i++)
		lat[i] = (struct lat){ bench_alloc(total * sizeof(double)), 0 };
	while (lat[0].n < total) {
		for (size_t i = 0; i < n; i++) {
			sleep_s(BLOCK_SETTLE);
			c[i].run(c[i].arg);   /* wakes this path's server, untimed */
			for (size_t k = 0; k < BLOCK && lat[i].n < total; k++) {
				double t0 = bench_now();
				c[i].run(c[i].arg);
				lat[i].s[lat[i].n++] = bench_now() - t0;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		qsort(lat[i].s, lat[i].n, sizeof(double), cmp_double);
}

static const struct bench_col rt_cols[] = {
	{ "path", "path", 34, -2 },
	{ "p50_us", "p50 us", 8, 2 },
	{ "p99_us", "p99 us", 8, 2 },
	{ "p999_us", "p99.9 us", 8, 2 },
	{ "max_us", "max us", 8, 1 },
	{ "requests", "requests", 8, -1 },
	{ "others_cpus", "others", 6, 2 },
};

static void rt_row(struct bench_table *t, const char *name, const struct lat *l, double others)
{
	bench_cell_str(t, name);
	bench_cell_num(t, pct(l, 0.5) * 1e6);
	bench_cell_num(t, pct(l, 0.99) * 1e6);
	bench_cell_num(t, pct(l, 0.999) * 1e6);
	bench_cell_num(t, l->s[l->n - 1] * 1e6);
	bench_cell_int(t, (long long)l->n);
	bench_cell_num(t, others);
	bench_row_end(t);
}

static void rt_notes(const struct bench_table *t, const struct lat *lat, bool daemon)
{
	bench_note(t, "Every request timed on its own (CLOCK_MONOTONIC); interleaved in blocks "
	           "of %u, each after a %.0f ms sleep (the other server goes idle) and one untimed "
	           "request. dnnqd: `--cpus %d`, one worker spinning between requests; the client "
	           "spins on the result (dnnq_infer). Socket: a forked echo server applying "
	           "relu64's table, blocking in recv. others: CPUs other processes than these "
	           "three kept busy meanwhile (/proc/stat); a figure they disturbed is not judged.", BLOCK, BLOCK_SETTLE * 1e3, SERVER_CPU);
	if (daemon)
		bench_note(t, "socket / dnnqd: p50 %.2fx, p99 %.2fx, p99.9 %.2fx.",
		           pct(&lat[0], 0.5) / pct(&lat[1], 0.5), pct(&lat[0], 0.99) /
		           pct(&lat[1], 0.99), pct(&lat[0], 0.999) / pct(&lat[1], 0.999));
}

/* Returns socket p50 / dnnqd p50 (0 without dnnqd). */
static struct figure round_trips(struct served *s, struct echo *e, bool tsv)
{
	struct bench_table t;
	struct load load;
	struct lat lat[2];
	size_t total = bench_is_quick() ? REQUESTS_QUICK : REQUESTS;
	struct bench_cand c[2] = { { "socket", echo_once, e }, { "dnnqd", call_run, &s->relu } };
	size_t n = s ? 2 : 1;
	for (unsigned i = 0; i < MSG; i++)
		e->req[i] = s ? ((const uint8_t *)s->relu.in.data)[i] : (uint8_t)(i * 37);
	echo_once(e);
	if (s && memcmp(e->resp, s->relu.want, MSG))
		bench_die("bench: the echo server's relu differs from the engine's");
	fprintf(bench_text(tsv), "\n== Round trip, 64 B request / 64 B response, batch 1: client on "
	        "CPU %d, server on CPU %d ==\n", CLIENT_CPU, SERVER_CPU);
	load_begin(&load, e->pid, s ? s->d.pid : 0);
	sample_blocks(c, n, total, lat);
	struct figure ratio = { s ? pct(&lat[0], 0.5) / pct(&lat[1], 0.5) : 0, load_end(&load) };
	bench_table_begin(&t, rt_cols, sizeof rt_cols / sizeof *rt_cols, tsv);
	if (s)
		rt_row(&t, "dnnqd relu64 (shared memory)", &lat[1], ratio.others);
	rt_row(&t, "Unix SOCK_SEQPACKET echo + relu", &lat[0], ratio.others);
	rt_notes(&t, lat, s != NULL);
	for (size_t i = 0; i < n; i++)
		free(lat[i].s);
	return ratio;
}

/* ---- 3: FC 1x1024x1024, daemon against in-process ------------------------ */

static const struct bench_col fc_cols[] = {
	{ "path", "path", 34, -2 },
	{ "median_us", "median us", 9, 2 },
	{ "iqr_pct", "IQR %", 6, 1 },
	{ "vs_inprocess", "vs in-process", 13, 3 },
	{ "call_p50_us", "call p50", 8, 2 },
	{ "call_p99_us", "call p99", 8, 1 },
	{ "reps", "reps", 6, -1 },
	{ "others_cpus", "others", 6, 2 },
};

static void fc_row(struct bench_table *t, const char *name, const struct bench_result *r,
                   double base, const struct lat *l, double others)
{
	bench_cell_str(t, name);
	bench_cell_num(t, r->median * 1e6);
	bench_cell_num(t, r->iqr * 100);
	bench_cell_num(t, r->median / base);
	bench_cell_num(t, pct(l, 0.5) * 1e6);
	bench_cell_num(t, pct(l, 0.99) * 1e6);
	bench_cell_int(t, r->reps);
	bench_cell_num(t, others);
	bench_row_end(t);
}

/* Returns dnnqd / in-process (the harness's medians). The harness's
 * settling (a sleep, then an untimed call before each rep) wakes dnnqd's
 * worker for its reps and lets it sleep during the in-process ones. Then
 * every call timed on its own, in blocks, for the spread. */
static struct figure fc_compare(struct served *s, bool tsv)
{
	struct bench_table t;
	struct bench_result r[2];
	struct lat lat[2];
	struct load load;
	struct bench_cand c[2] = { { "in-process", ref_run, &s->fc }, { "dnnqd", call_run, &s->fc } };
	fprintf(bench_text(tsv), "\n== FC 1x1024x1024 (fc1024, batch 1): through dnnqd vs "
	        "in-process, 1 thread each ==\n");
	load_begin(&load, s->d.pid, 0);
	bench_interleave(c, 2, bench_budget_threads(bench_budget(), 2), r);
	sample_blocks(c, 2, bench_is_quick() ? FC_CALLS_QUICK : FC_CALLS, lat);
	double others = load_end(&load);
	bench_table_begin(&t, fc_cols, sizeof fc_cols / sizeof *fc_cols, tsv);
	fc_row(&t, "in-process dnnq_graph_run", &r[0], r[0].median, &lat[0], others);
	fc_row(&t, "dnnqd (dnnq_infer)", &r[1], r[0].median, &lat[1], others);
	bench_note(&t, "u8 [1, 1024] -> FC (per-channel s8 weights, s32 bias) -> u8 [1, 1024]. "
	           "In-process: the engine on this thread (CPU %d); dnnqd: its worker on CPU %d, "
	           "this thread spinning on the result (spin_us %d). median: the harness's "
	           "(timing.c: interleaved reps of back-to-back calls after a 1 ms settling "
	           "sleep, the mean call of each rep); call p50/p99: %u calls each timed on its "
	           "own, in blocks as above. Checked first: dnnqd's result equals the engine's "
	           "bit for bit.", CLIENT_CPU, SERVER_CPU, CLIENT_SPIN_US,
	           bench_is_quick() ? FC_CALLS_QUICK : FC_CALLS);
	for (int i = 0; i < 2; i++)
		free(lat[i].s);
	return (struct figure){ r[1].median / r[0].median, others };
}

/* ---- 4: pipelined throughput --------------------------------------------- */

static void submit(struct served *s, unsigned i)
{
	struct call *k = &s->pipe[i];
	int rc = dnnq_submit(k->m, k->ins, k->outs, &s->r[i]);
	if (rc)
		bench_die("bench: dnnq_submit: %s", dnnq_strerror(rc));
}

/* Completes request i (spinning on dnnq_poll); dies on a failure. */
static void complete(struct served *s, unsigned i)
{
	int rc;
	while ((rc = dnnq_poll(&s->r[i])) == DNNQ_E_AGAIN)
		;
	if (rc)
		bench_die("bench: a pipelined request failed: %s", dnnq_strerror(rc));
}

/* DEPTH in flight for `seconds`, oldest completed first; requests/s. */
static double pipeline_slice(struct served *s, double seconds)
{
	unsigned long long done = 0;
	for (unsigned i = 0; i < DEPTH; i++)
		submit(s, i);
	double t0 = bench_now(), t;
	do {
		for (unsigned i = 0; i < DEPTH; i++, done++) {
			complete(s, i);
			submit(s, i);
		}
	} while ((t = bench_now()) - t0 < seconds);
	for (unsigned i = 0; i < DEPTH; i++)
		complete(s, i);
	return (double)done / (t - t0);
}

static const struct bench_col pipe_cols[] = {
	{ "depth", "in flight", 9, -1 },
	{ "rps_median", "median req/s", 12, 0 },
	{ "rps_best", "best req/s", 12, 0 },
	{ "us_per_req", "us / request", 12, 3 },
	{ "slices", "slices", 6, -1 },
	{ "others_cpus", "others", 6, 2 },
};

/* Every pipelined request's result, untimed. */
static void pipeline_check(struct served *s)
{
	for (unsigned i = 0; i < DEPTH; i++) {
		submit(s, i);
		complete(s, i);
		if (memcmp(s->pipe[i].out.data, s->pipe[i].want, MSG))
			bench_die("bench: pipelined relu64: dnnqd's result differs from the engine's");
	}
}

/* Returns the median requests/s. */
static struct figure pipelined(struct served *s, bool tsv)
{
	struct bench_table t;
	struct load load;
	double rps[PIPE_SLICES], secs = PIPE_SECONDS / PIPE_SLICES / (bench_is_quick() ? 5 : 1);
	fprintf(bench_text(tsv), "\n== Pipelined relu64 from one client thread ==\n");
	pipeline_check(s);
	load_begin(&load, s->d.pid, 0);
	for (int i = 0; i < PIPE_SLICES; i++)
		rps[i] = pipeline_slice(s, secs);
	struct figure f = { 0, load_end(&load) };
	qsort(rps, PIPE_SLICES, sizeof *rps, cmp_double);
	f.v = rps[PIPE_SLICES / 2];
	bench_table_begin(&t, pipe_cols, sizeof pipe_cols / sizeof *pipe_cols, tsv);
	bench_cell_int(&t, DEPTH);
	bench_cell_num(&t, f.v);
	bench_cell_num(&t, rps[PIPE_SLICES - 1]);
	bench_cell_num(&t, 1e6 / f.v);
	bench_cell_int(&t, PIPE_SLICES);
	bench_cell_num(&t, f.others);
	bench_row_end(&t);
	bench_note(&t, "%u relu64 requests in flight (dnnq_submit), the oldest completed by "
	           "spinning on dnnq_poll and submitted again; %d slices of %.2f s, median and "
	           "best. One dnnqd worker (CPU %d).", DEPTH, PIPE_SLICES, secs, SERVER_CPU);
	return f;
}

/* ---- the command --------------------------------------------------------- */

static void targets(FILE *f, struct figure socket_ratio, struct figure fc_ratio,
                    struct figure rps)
{
	char a[160], b[160], c[160];
	judge(a, sizeof a, "round trip socket / dnnqd p50", socket_ratio, TARGET_SOCKET_RATIO,
	      false, "x", 2);
	judge(b, sizeof b, "FC 1x1024x1024 dnnqd / in-process", fc_ratio, TARGET_FC_RATIO, true,
	      "x", 3);
	judge(c, sizeof c, "pipelined relu64", rps, TARGET_PIPE_RPS, false, " req/s", 0);
	fprintf(f, "\nipc targets: %s; %s; %s\n", a, b, c);
}

int bench_cmd_ipc(const struct bench_opts *o)
{
	FILE *f = bench_text(o->tsv);
	struct served s;
	struct echo e = { 0 };
	uint8_t table[256];
	cpu_set_t saved;
	if (sched_getaffinity(0, sizeof saved, &saved))
		CPU_ZERO(&saved);
	relu_table(table);
	/* the servers first, so they do not inherit this thread's pinning; the
	 * echo server before the client connects, so it holds none of the
	 * session's fds (its socketpair end is close-on-exec for dnnqd) */
	echo_start(&e, table);
	bool daemon = served_start(&s, f);
	pin(CLIENT_CPU);
	struct figure socket_ratio = round_trips(daemon ? &s : NULL, &e, o->tsv);
	echo_stop(&e);
	if (daemon) {
		struct figure fc_ratio = fc_compare(&s, o->tsv);
		struct figure rps = pipelined(&s, o->tsv);
		served_stop(&s);
		targets(f, socket_ratio, fc_ratio, rps);
	}
	if (CPU_COUNT(&saved))
		sched_setaffinity(0, sizeof saved, &saved);
	return 0;
}
