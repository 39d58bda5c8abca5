/*
 * bench/models-ort.c — `dnnq-bench models`: real models through the path a
 * user takes, against ONNX Runtime on the same machine in the same run.
 *
 * The fixture ($DNNQ_BENCH_MODELS_DIR, made by `make bench`:
 * bench/models-ort-fixture.py) holds, per model, the float ONNX export
 * (NAME.onnx), PyTorch's int8 QDQ export (NAME.qdq.onnx) and dnnq-convert
 * --per-channel --precision int8's output (NAME.dnnq), and one held-out
 * image (input.npy).
 * dnnq runs the .dnnq as dnnq-run does (dnnq_file_read, dnnq_model_read,
 * dnnq_model_build, dnnq_graph_run on a dnnq_pool, pinned one thread a
 * CPU as dnnqd pins its workers), on the ISA dnnq picks and, on CPUs
 * with AVX-512 VNNI, also on its AVX2 kernels. ONNX Runtime
 * (onnxruntime-node) runs in one long-lived node process
 * (bench/models-ort.js) with a session per model and thread count, so
 * neither node's start nor session creation is timed; before each of its
 * blocks node's threads are pinned to the CPUs dnnq's threads of the same
 * count run on (ort_pin), so that both sides of a ratio ran on one core.
 *
 * Each round runs every candidate once, ORT first (int8, fp32; 1 then N
 * threads), then dnnq per ISA on N threads and right after on 1; in each,
 * a candidate sleeps SETTLE (the previous one's threads stop spinning),
 * makes one untimed run (its own threads wake up) and then REPS timed
 * runs. Times are medians over all rounds; an N-thread speedup is the
 * median over rounds of each round's 1-thread block median over its
 * N-thread one, so both sides of a ratio saw the same host. (The 1-thread
 * rounds used to run before all the N-thread ones: on a shared host the
 * speedup then compared two different minutes, and mobilenet_v3_small's
 * read 0.91 to 1.45 from run to run.) ORT sessions do not spin
 * (allow_spinning 0, bench/models-ort.js), and `dnnq waited` says what
 * share of its threads' time dnnq spent runnable but off a CPU while it
 * was timed (their schedstat run_delay, in ns: /proc/stat's busy time
 * moves in 10 ms ticks, coarser than a row's ~30 ms of timed runs on
 * the small models); a note names the rows where that passed
 * WAITED_MAX, as not judged. After each dnnq block the calling thread
 * (dnnq's first) times VEC_CHUNKS runs of the int8 peak loop
 * (engine/peak.h) of VEC_ITERS iterations each, their median its rate (a
 * best-of would find the moments between the other thread's bursts):
 * `vec GOPS` is the median of those rates over the row's blocks. On N
 * threads every thread of the pool runs the probe at once, one task each
 * (the loops share nothing: a vCPU's rate read the same with the other
 * one's loop running, docs/graph.md), and `wkr GOPS` is the median over
 * the blocks of the slowest worker's rate: a two-thread row whose ratio
 * misses while its worker's core read slow is the host's phase on that
 * core, not dnnq's split. A block whose worker never claimed its task
 * (the caller ran it: the worker was off its CPU, which `dnnq waited`
 * says) adds no worker rate, and one whose caller's task a worker ran (the
 * caller off its CPU until the worker's own probe was done) no caller
 * rate. Then `xcore ns`: a cache line's round trip between the caller
 * and the first worker (xcore_probe), ~90 ns on the Zen 5 VM when the
 * host keeps its two vCPUs close and ~400 when apart, where a two-thread
 * row reads 1.8x or 1.4x (docs/graph.md, "The vCPUs' distance"). On a VM
 * whose cores the host shares with
 * another guest's SMT thread the vector ports' throughput falls by a
 * quarter to a half for seconds at a time while the clock barely moves
 * (docs/graph.md, "Idle gaps and phases on the Zen 5 host"), and a row's
 * time with it. It is a rate, not a share of the best seen: a phase
 * outlasts a model's rows (and a quick run), so the best of a run is
 * often its phase's. Output SQNR of each engine is against ORT fp32's
 * output on the same input.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "calibration/npy.h"
#include "engine/graph.h"
#include "engine/model.h"

extern char **environ;

#define ROUNDS       10
#define ROUNDS_QUICK 3
#define REPS         3
#define REPS_QUICK   2
#define SETTLE       5e-3     /* > ORT's and dnnq's idle spinning */
#define FILE_LIMIT   ((size_t)1 << 30)
#define MAX_ISAS     2
#define MAX_CFG      2        /* thread counts: 1 and N */
#define MAX_TIMES    (ROUNDS * REPS)
#define VEC_CHUNKS   64       /* the peak loop after each dnnq block: chunks timed, */
#define VEC_ITERS    1000     /* of this many iterations (16000 instructions, ~2.5 us) */
#define XCORE_TRIPS  64       /* the round trip after each N-thread block: trips a batch, */
#define XCORE_BATCHES 16      /* batches (the best one's trip is the block's) */
#define XCORE_GIVEUP 2e-3     /* s: a thread that does not answer is off its CPU */

static const char *const models[] = { "resnet18", "mobilenet_v2", "mobilenet_v3_small" };

/* The node process: requests on in, answers on out. */
struct ort_peer {
	pid_t pid;
	FILE *in, *out;
};

/* One timed configuration; times in ms. */
struct cand {
	struct dnnq_graph *g;             /* dnnq; NULL: ORT session `session` */
	const struct dnnq_executor *ex;
	unsigned session;
	double t[MAX_TIMES];              /* block after block, REPS each */
	unsigned n;
	double waited_s, wall_s;          /* dnnq: its threads' waits for a CPU over its timed runs */
	double vec[ROUNDS];               /* dnnq: the peak loop's GOPS on the caller, a block each */
	double wvec[ROUNDS];              /* ... on the slowest worker that ran its probe */
	double xcore[ROUNDS];             /* a line's round trip, caller and first worker, ns */
	unsigned nvec, nwvec, nxcore;
};

struct run {
	const char *dir, *name;
	unsigned nt, ncfg, nisa;          /* threads[ncfg]: 1, nt */
	unsigned threads[MAX_CFG];
	enum dnnq_isa isa[MAX_ISAS];
	struct ort_peer ort;
	struct bench_threads th;
	float *in, *out, *out_n, *ref, *ort_int8;
	size_t in_bytes, out_bytes;
	char dims[128];                   /* the input's shape, "1x3x224x224" */
	/* dnnq[isa][cfg], then ORT: int8[cfg], fp32[cfg] (its session order) */
	struct cand dnnq[MAX_ISAS][MAX_CFG], ort_c[2][MAX_CFG];
	double sqnr[MAX_ISAS];
	bool has_peak;                    /* the CPU runs a peak loop: kind `peak` */
	enum dnnq_peak_kind peak;
};

/* DIR/NAME SUFFIX; free() it. */
static char *file_of(const struct run *r, const char *name, const char *suffix)
{
	char *p;
	if (asprintf(&p, "%s/%s%s", r->dir, name, suffix) < 0)
		bench_die("bench: out of memory");
	return p;
}

static void *read_whole(const char *path, size_t *len)
{
	struct dnnq_diag d = { "" };
	void *buf;
	if (dnnq_file_read(path, FILE_LIMIT, &buf, len, &d))
		bench_die("models: %s", d.msg);
	return buf;
}

static void ort_start(struct run *r)
{
	char *q = file_of(r, r->name, ".qdq.onnx"), *f = file_of(r, r->name, ".onnx");
	char *js = file_of(r, "models-ort.js", ""), *x = file_of(r, "input.f32", ""), t1[16], tn[16];
	int to[2], from[2];
	/* close-on-exec: node gets only its stdin and stdout (dup2 clears it) */
	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC))
		bench_die("bench: no descriptors for pipes");
	snprintf(t1, sizeof t1, "%u", r->threads[0]);
	snprintf(tn, sizeof tn, "%u", r->threads[r->ncfg - 1]);
	char *argv[] = { "node", js, q, f, x, r->dims, (char *)r->dir, t1, r->ncfg > 1 ? tn : NULL,
	                 NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	if (posix_spawnp(&r->ort.pid, "node", &fa, NULL, argv, environ))
		bench_die("models: cannot start node");
	posix_spawn_file_actions_destroy(&fa);
	close(to[0]);
	close(from[1]);
	/* a node gone makes a write to its stdin EPIPE (ort_time says so), not
	 * a SIGPIPE that ended dnnq-bench without a word; after the spawn: an
	 * ignored signal stays ignored across exec */
	signal(SIGPIPE, SIG_IGN);
	r->ort.in = fdopen(to[1], "w");
	r->ort.out = fdopen(from[0], "r");
	unsigned k;
	if (!r->ort.in || !r->ort.out || fscanf(r->ort.out, "ready %u", &k) != 1 ||
	    k != 2 * r->ncfg)
		bench_die("models: node %s failed on %s (onnxruntime-node installed?)", js, r->name);
	free(js);
	free(q);
	free(f);
	free(x);
}

static void ort_stop(struct ort_peer *p)
{
	int status;
	fclose(p->in);                    /* the end of its stdin: node exits */
	fclose(p->out);
	waitpid(p->pid, &status, 0);
}

/* Every thread of node (ORT's, libuv's, V8's) pinned to the CPUs dnnq's
 * threads of the same count run on: the first `threads` of the pool's
 * (the caller's alone for one). Unpinned, node's inference thread ran on
 * whichever vCPU the scheduler chose while dnnq's one-thread runs stayed
 * on the caller's, and a VM's two vCPUs differ in speed for minutes at a
 * time (docs/graph.md): mobilenet_v3_small read 0.85-0.88 ms a run on
 * CPU 0 against 0.57-0.59 on CPU 1, ORT's 2.93 against 2.21 (2.23
 * unpinned), so a row compared two cores. An unpinned pool: nothing. */
static void ort_pin(const struct run *r, unsigned threads)
{
	if (bench_threads_cpu(&r->th, 0) < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	for (unsigned i = 0; i < threads; i++)
		CPU_SET(bench_threads_cpu(&r->th, i), &set);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)r->ort.pid);
	/* A thread node starts while the walk runs takes its creator's mask,
	 * the old one if the creator comes later in the walk: walked again
	 * until a walk finds every thread on the set. */
	for (bool moved = true; moved;) {
		moved = false;
		DIR *d = opendir(path);
		if (!d)
			bench_die("models: %s: %s", path, strerror(errno));
		for (struct dirent *e; (e = readdir(d));) {
			cpu_set_t now;
			pid_t tid = atoi(e->d_name);
			if (e->d_name[0] == '.' ||
			    (!sched_getaffinity(tid, sizeof now, &now) && CPU_EQUAL(&now, &set)))
				continue;
			if (sched_setaffinity(tid, sizeof set, &set) && errno != ESRCH)
				bench_die("models: sched_setaffinity(node's thread %s): %s", e->d_name,
				          strerror(errno));
			moved = true;
		}
		closedir(d);
	}
}

/* Dies saying what became of node when session k's exchange failed. */
static void ort_gone(const struct ort_peer *p, unsigned k, const char *what)
{
	int status;
	pid_t w = waitpid(p->pid, &status, WNOHANG);
	if (w == p->pid && WIFEXITED(status))
		bench_die("models: ORT session %u: %s: node (pid %d) exited with status %d", k, what,
		          (int)p->pid, WEXITSTATUS(status));
	if (w == p->pid && WIFSIGNALED(status))
		bench_die("models: ORT session %u: %s: node (pid %d) was killed by signal %d", k, what,
		          (int)p->pid, WTERMSIG(status));
	bench_die("models: ORT session %u: %s", k, what);
}

/* n + 1 runs of session k; the last n times appended to c. */
static void ort_time(struct ort_peer *p, struct cand *c, unsigned n)
{
	double first;
	if (fprintf(p->in, "%u %u\n", c->session, n + 1) < 0 || fflush(p->in))
		ort_gone(p, c->session, "cannot ask it");
	if (fscanf(p->out, "%lf", &first) != 1)
		ort_gone(p, c->session, "no answer");
	for (unsigned i = 0; i < n; i++)
		if (fscanf(p->out, "%lf", &c->t[c->n++]) != 1)
			ort_gone(p, c->session, "short answer");
}

static void dnnq_run(const struct run *r, struct dnnq_graph *g, const struct dnnq_executor *ex,
                     float *out)
{
	const void *in[1] = { r->in };
	void *o[1] = { out };
	int rc = dnnq_graph_run(g, in, o, ex);
	if (rc)
		bench_die("models: %s: dnnq_graph_run: %s", r->name, dnnq_strerror(rc));
}

static void dnnq_time(const struct run *r, struct cand *c, unsigned n)
{
	dnnq_run(r, c->g, c->ex, r->out_n);
	double w0 = bench_waited_seconds(), start = bench_now();
	for (unsigned i = 0; i < n; i++) {
		double t0 = bench_now();
		dnnq_run(r, c->g, c->ex, r->out_n);
		c->t[c->n++] = (bench_now() - t0) * 1e3;
	}
	double wall = bench_now() - start, w1 = bench_waited_seconds();
	c->waited_s = w0 < 0 || w1 < 0 || c->waited_s < 0 ? -1 : c->waited_s + (w1 - w0);
	c->wall_s += wall;
}

/* NAME.dnnq built for isa, planned for batch 1 on nthreads, as dnnq-run
 * --threads plans it. */
static struct dnnq_graph *dnnq_load(const struct run *r, enum dnnq_isa isa, unsigned nthreads)
{
	struct dnnq_diag d = { "" };
	struct dnnq_model m;
	struct dnnq_graph *g = NULL;
	struct dnnq_tensor_info ii, oi;
	char *path = file_of(r, r->name, ".dnnq");
	size_t len;
	void *buf = read_whole(path, &len);
	int rc = dnnq_model_read(buf, len, &m, &d);
	free(buf);
	if (!rc) {
		rc = dnnq_model_build(&m, isa, &g, &d);
		dnnq_model_free(&m);
	}
	if (!rc)
		rc = dnnq_graph_plan(g, 1, nthreads, &d);
	if (rc)
		bench_die("models: %s: %s", path, d.msg);
	if (dnnq_graph_num_inputs(g) != 1 || dnnq_graph_num_outputs(g) != 1 ||
	    dnnq_graph_input_info(g, 0, &ii) || dnnq_graph_output_info(g, 0, &oi) ||
	    ii.dtype != DNNQ_DTYPE_F32 || oi.dtype != DNNQ_DTYPE_F32 || ii.bytes != r->in_bytes ||
	    oi.bytes != r->out_bytes)
		bench_die("models: %s: expected one f32 input of %zu bytes and one f32 output of "
		          "%zu bytes (ORT's)", path, r->in_bytes, r->out_bytes);
	free(path);
	return g;
}

static double sqnr_db(const float *x, const float *ref, size_t n)
{
	double s = 0, e = 0;
	for (size_t i = 0; i < n; i++) {
		s += (double)ref[i] * ref[i];
		e += ((double)x[i] - ref[i]) * ((double)x[i] - ref[i]);
	}
	return e > 0 ? 10 * log10(s / e) : INFINITY;
}

/* input.npy, and a raw copy of it for the node process (input.f32). */
static void load_input(struct run *r)
{
	struct dnnq_diag d = { "" };
	struct dnnq_npy a;
	char *p = file_of(r, "input.npy", ""), *raw = file_of(r, "input.f32", "");
	void *buf;
	FILE *f;
	if (dnnq_npy_read_file(p, FILE_LIMIT, &buf, &a, &d))
		bench_die("models: %s", d.msg);
	if (a.dtype != DNNQ_DTYPE_F32 || a.ndim < 1 || a.shape[0] != 1)
		bench_die("models: %s: expected float32 [1, ...]", p);
	r->in_bytes = a.nbytes;
	r->in = bench_alloc(a.nbytes);
	memcpy(r->in, a.data, a.nbytes);
	free(buf);
	size_t n = 0;
	for (unsigned i = 0; i < a.ndim && n < sizeof r->dims; i++)
		n += (size_t)snprintf(r->dims + n, sizeof r->dims - n, "%s%zu", i ? "x" : "",
		                      a.shape[i]);
	if (!(f = fopen(raw, "wb")) || fwrite(r->in, 1, r->in_bytes, f) != r->in_bytes ||
	    fclose(f))
		bench_die("models: cannot write %s", raw);
	free(p);
	free(raw);
}

/* ORT's outputs, written by the node process as it started. */
static void load_ort_outputs(struct run *r)
{
	char *o8 = file_of(r, "ort-int8.f32", ""), *o32 = file_of(r, "ort-fp32.f32", "");
	size_t n8, n32;
	r->ort_int8 = read_whole(o8, &n8);
	r->ref = read_whole(o32, &n32);
	if (n8 != n32 || !n32 || n32 % sizeof(float))
		bench_die("models: %s and %s: %zu and %zu bytes", o8, o32, n8, n32);
	r->out_bytes = n32;
	r->out = bench_alloc(n32);
	r->out_n = bench_alloc(n32);
	free(o8);
	free(o32);
}

/* Graphs (one per ISA and thread count), the pool, and outside the timing
 * each ISA's output and its SQNR; on N threads it must equal the 1-thread
 * one bit for bit. */
static void setup(struct run *r)
{
	load_input(r);
	ort_start(r);
	load_ort_outputs(r);
	bench_threads_pinned(&r->th, r->nt);
	for (unsigned i = 0; i < r->nisa; i++) {
		for (unsigned c = 0; c < r->ncfg; c++) {
			struct cand *d = &r->dnnq[i][c];
			*d = (struct cand){ .g = dnnq_load(r, r->isa[i], r->threads[c]),
			                    .ex = c ? r->th.ex : NULL };
			dnnq_run(r, d->g, d->ex, c ? r->out_n : r->out);
		}
		r->sqnr[i] = sqnr_db(r->out, r->ref, r->out_bytes / sizeof(float));
		if (r->ncfg > 1 && memcmp(r->out, r->out_n, r->out_bytes))
			bench_die("models: %s: the outputs on 1 and %u threads differ", r->name, r->nt);
	}
	for (unsigned m = 0; m < 2; m++)
		for (unsigned c = 0; c < r->ncfg; c++)
			r->ort_c[m][c] = (struct cand){ .session = m * r->ncfg + c };
}

static void teardown(struct run *r)
{
	ort_stop(&r->ort);
	for (unsigned i = 0; i < r->nisa; i++)
		for (unsigned c = 0; c < r->ncfg; c++)
			dnnq_graph_destroy(r->dnnq[i][c].g);
	bench_threads_free(&r->th);
	free(r->in);
	free(r->out);
	free(r->out_n);
	free(r->ref);
	free(r->ort_int8);
}

/* The peak loop of kind k on the calling thread, GOPS: the median of
 * VEC_CHUNKS timed runs. */
static double vec_rate(enum dnnq_peak_kind k)
{
	double t[VEC_CHUNKS];
	uint32_t keep = 0;
	for (unsigned i = 0; i < VEC_CHUNKS; i++) {
		double t0 = bench_now();
		keep += k == DNNQ_PEAK_VNNI ? dnnq_peak_avx512vnni_loop(VEC_ITERS)
		                            : dnnq_peak_avx2_loop(VEC_ITERS);
		t[i] = bench_now() - t0;
	}
	__asm__ volatile("" : : "r"(keep));   /* the loops' results are used */
	double ops = k == DNNQ_PEAK_VNNI ? DNNQ_PEAK_VNNI_OPS_PER_ITER : DNNQ_PEAK_OPS_PER_ITER;
	return VEC_ITERS * ops * 1e-9 / bench_median(t, VEC_CHUNKS);
}

/* The probe on every thread of an executor at once: task i on thread tid. */
struct vec_job {
	enum dnnq_peak_kind k;
	double gops[DNNQ_PEAK_MAX_THREADS];
	bool ran[DNNQ_PEAK_MAX_THREADS];
};

static void vec_task(void *arg, size_t i, unsigned tid)
{
	struct vec_job *j = arg;
	(void)i;
	j->gops[tid] = vec_rate(j->k);
	j->ran[tid] = true;
}

/* The probe after candidate c's block: on its caller and, on a pool, on
 * its workers at the same time (one task a thread). */
static void vec_probe(const struct run *r, struct cand *c)
{
	unsigned n = dnnq_executor_threads(c->ex);
	if (n > DNNQ_PEAK_MAX_THREADS)
		n = 1;   /* more threads than the probe keeps: the caller alone */
	struct vec_job j = { .k = r->peak };
	if (n == 1)
		vec_task(&j, 0, 0);
	else
		dnnq_parallel_for(c->ex, n, vec_task, &j);
	/* a caller held off its CPU past a worker's probe (160 us) leaves its
	 * task to that worker: no caller rate then, rather than a 0 */
	if (j.ran[0])
		c->vec[c->nvec++] = j.gops[0];
	double slow = 0;
	for (unsigned t = 1; t < n; t++)
		if (j.ran[t] && (slow == 0 || j.gops[t] < slow))
			slow = j.gops[t];
	if (slow > 0)
		c->wvec[c->nwvec++] = slow;
}

/* A cache line's round trip between the caller (task 0, the pinger) and
 * the first worker (task 1): the best batch's time a trip, 0 when the two
 * did not run at once (a thread off its CPU, or one thread running both:
 * each gives up after XCORE_GIVEUP without an answer). */
struct xcore_job {
	_Alignas(64) _Atomic uint32_t line;
	_Atomic int quit;
	double best;
};

/* Waits until job->line holds v; false when the other side gave up or
 * does not answer. */
static bool xcore_wait(struct xcore_job *j, uint32_t v)
{
	double until = bench_now() + XCORE_GIVEUP;
	for (unsigned spin = 0; atomic_load_explicit(&j->line, memory_order_acquire) != v; spin++)
		if (atomic_load_explicit(&j->quit, memory_order_relaxed) ||
		    (spin % 1024 == 1023 && bench_now() > until)) {
			atomic_store(&j->quit, 1);
			return false;
		}
	return true;
}

static void xcore_task(void *arg, size_t i, unsigned tid)
{
	struct xcore_job *j = arg;
	(void)tid;
	for (uint32_t b = 0, v = 0; b < XCORE_BATCHES; b++) {
		double t0 = bench_now();
		for (unsigned k = 0; k < XCORE_TRIPS; k++, v += 2) {
			if (i == 0)
				atomic_store_explicit(&j->line, v + 1, memory_order_release);
			if (!xcore_wait(j, i == 0 ? v + 2 : v + 1))
				return;
			if (i == 1)
				atomic_store_explicit(&j->line, v + 2, memory_order_release);
		}
		double t = (bench_now() - t0) / XCORE_TRIPS * 1e9;
		if (i == 0 && (j->best == 0 || t < j->best))
			j->best = t;
	}
}

/* The round trip after candidate c's block, on its N threads. */
static void xcore_probe(struct cand *c)
{
	struct xcore_job j = { .best = 0 };
	dnnq_parallel_for(c->ex, 2, xcore_task, &j);
	if (!atomic_load(&j.quit) && j.best > 0)
		c->xcore[c->nxcore++] = j.best;
}

/* One rep block of candidate c. */
static void time_block(struct run *r, struct cand *c, unsigned reps)
{
	if (!c->g)
		ort_pin(r, r->threads[c->session % r->ncfg]);
	bench_sleep(SETTLE);
	if (c->g) {
		dnnq_time(r, c, reps);
		if (r->has_peak)
			vec_probe(r, c);
		if (dnnq_executor_threads(c->ex) > 1)
			xcore_probe(c);
	} else {
		ort_time(&r->ort, c, reps);
	}
}

static unsigned rounds_of(void)
{
	return bench_is_quick() ? ROUNDS_QUICK : ROUNDS;
}

static unsigned reps_of(void)
{
	return bench_is_quick() ? REPS_QUICK : REPS;
}

static void measure(struct run *r)
{
	for (unsigned k = 0; k < rounds_of(); k++) {
		for (unsigned m = 0; m < 2; m++)
			for (unsigned c = 0; c < r->ncfg; c++)
				time_block(r, &r->ort_c[m][c], reps_of());
		for (unsigned i = 0; i < r->nisa; i++)
			for (unsigned c = r->ncfg; c-- > 0;)
				time_block(r, &r->dnnq[i][c], reps_of());
	}
}

/* The median over rounds of one's block median / many's (the same
 * round's): before med() sorts the blocks into each other. */
static double speedup(struct cand *one, struct cand *many)
{
	double ratio[ROUNDS];
	unsigned reps = reps_of(), k = 0;
	for (; k < rounds_of(); k++)
		ratio[k] = bench_median(one->t + k * reps, reps) /
		           bench_median(many->t + k * reps, reps);
	return bench_median(ratio, k);
}

static double med(struct cand *c)
{
	return bench_median(c->t, c->n);
}

static const struct bench_col cols[] = {
	{ "model", "model", 18, -2 },
	{ "dnnq_isa", "dnnq isa", 10, -2 },
	{ "threads", "threads", 7, -1 },
	{ "dnnq_ms", "dnnq ms", 8, 2 },
	{ "ort_int8_ms", "ORT int8 ms", 11, 2 },
	{ "ort_fp32_ms", "ORT fp32 ms", 11, 2 },
	{ "ort_int8_over_dnnq", "int8/dnnq", 9, 2 },
	{ "dnnq_speedup", "dnnq Nt x", 9, 2 },
	{ "ort_int8_speedup", "ORT8 Nt x", 9, 2 },
	{ "dnnq_sqnr_db", "dnnq dB", 7, 1 },
	{ "ort_int8_sqnr_db", "ORT8 dB", 7, 1 },
	{ "others_cpus", "others", 6, 2 },
	{ "dnnq_waited", "dnnq waited", 11, 3 },
	{ "dnnq_vec_gops", "vec GOPS", 8, 0 },
	{ "dnnq_worker_vec_gops", "wkr GOPS", 8, 0 },
	{ "dnnq_xcore_ns", "xcore ns", 8, 0 },
};

/* The rows other processes disturbed ("resnet18 avx2 2t, ..."): their
 * times are not judged against the targets. WAITED_MAX: the share of its
 * threads' time a row's dnnq may wait for a CPU (each wait delays a run,
 * and on two threads a join, by as much). */
#define WAITED_MAX 0.02

/* The share of its threads' time c's timed runs waited for a CPU; -1:
 * not measured (no schedstat). */
static double waited(const struct cand *c, unsigned threads)
{
	return c->waited_s < 0 || c->wall_s <= 0 ? -1 : c->waited_s / (c->wall_s * threads);
}

struct disturbed {
	char list[512];
	size_t len;
};

static void note_disturbed(struct disturbed *d, const struct run *r, unsigned i, unsigned c)
{
	if (waited(&r->dnnq[i][c], r->threads[c]) <= WAITED_MAX || d->len >= sizeof d->list)
		return;
	d->len += (size_t)snprintf(d->list + d->len, sizeof d->list - d->len, "%s%s %s %ut",
	                           d->len ? ", " : "", r->name, dnnq_isa_name(r->isa[i]),
	                           r->threads[c]);
}

static void rows(struct bench_table *t, struct run *r, double others, struct disturbed *dist)
{
	bool many = r->ncfg > 1;
	double o8x = many ? speedup(&r->ort_c[0][0], &r->ort_c[0][1]) : 0, dx[MAX_ISAS];
	for (unsigned i = 0; i < r->nisa; i++)
		dx[i] = many ? speedup(&r->dnnq[i][0], &r->dnnq[i][1]) : 0;
	double sq8 = sqnr_db(r->ort_int8, r->ref, r->out_bytes / sizeof(float));
	for (unsigned i = 0; i < r->nisa; i++) {
		for (unsigned c = 0; c < r->ncfg; c++) {
			struct cand *dc = &r->dnnq[i][c];
			double d = med(dc), o8 = med(&r->ort_c[0][c]);
			bench_cell_str(t, r->name);
			bench_cell_str(t, dnnq_isa_name(r->isa[i]));
			bench_cell_int(t, r->threads[c]);
			bench_cell_num(t, d);
			bench_cell_num(t, o8);
			bench_cell_num(t, med(&r->ort_c[1][c]));
			bench_cell_num(t, o8 / d);
			bench_cell_opt(t, c > 0, dx[i], 2);
			bench_cell_opt(t, c > 0, o8x, 2);
			bench_cell_num(t, r->sqnr[i]);
			bench_cell_num(t, sq8);
			bench_cell_num(t, others);
			double w = waited(dc, r->threads[c]);
			bench_cell_opt(t, w >= 0, w, 3);
			bench_cell_opt(t, dc->nvec > 0, dc->nvec ? bench_median(dc->vec, dc->nvec) : 0, 0);
			bench_cell_opt(t, dc->nwvec > 0,
			               dc->nwvec ? bench_median(dc->wvec, dc->nwvec) : 0, 0);
			bench_cell_opt(t, dc->nxcore > 0,
			               dc->nxcore ? bench_median(dc->xcore, dc->nxcore) : 0, 0);
			bench_row_end(t);
			note_disturbed(dist, r, i, c);
		}
	}
}

/* Whether the fixture of model name is there (make bench makes it). */
static bool have_fixture(const char *dir, const char *name)
{
	static const char *const suffix[] = { ".onnx", ".qdq.onnx", ".dnnq" };
	for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
		char p[4096];
		snprintf(p, sizeof p, "%s/%s%s", dir, name, suffix[i]);
		if (access(p, R_OK))
			return false;
	}
	return true;
}

int bench_cmd_models(const struct bench_opts *o)
{
	FILE *txt = bench_text(o->tsv);
	const char *dir = getenv("DNNQ_BENCH_MODELS_DIR");
	struct run r = { .dir = dir, .nt = o->threads ? o->threads : 2 };
	r.threads[r.ncfg++] = 1;
	if (r.nt > 1)
		r.threads[r.ncfg++] = r.nt;
	r.isa[r.nisa++] = bench_dnnq_isa();
	if (r.isa[0] == DNNQ_ISA_AVX512VNNI)
		r.isa[r.nisa++] = DNNQ_ISA_AVX2;
	fprintf(txt, "\n== models: torchvision models through dnnq-convert against ONNX Runtime "
	        "int8 (QDQ) and fp32, batch 1, 224x224 ==\n");
	if (!dir || !*dir) {
		fprintf(txt, "models: skipped: $DNNQ_BENCH_MODELS_DIR unset (make bench sets it)\n");
		return 0;
	}
	struct bench_table t;
	struct disturbed dist = { "", 0 };
	r.has_peak = dnnq_peak_of_isa(r.isa[0], &r.peak);
	bench_table_begin(&t, cols, sizeof cols / sizeof *cols, o->tsv);
	for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
		r.name = models[m];
		if (!have_fixture(dir, r.name)) {
			bench_warn("models: %s: no fixture in %s; skipped", r.name, dir);
			continue;
		}
		struct bench_load load;
		setup(&r);
		bench_load_begin(&load);
		measure(&r);
		rows(&t, &r, bench_load_end(&load), &dist);
		teardown(&r);
	}
	bench_note(&t, "ms: medians of %u interleaved rounds of %u runs (each block after a %.0f ms "
	           "sleep and an untimed run; in a round ORT first, then dnnq on N threads and "
	           "right after on 1). dnnq: the .dnnq of dnnq-convert --per-channel --precision "
	           "int8 (8 calibration images) on a dnnq_pool pinned a thread a CPU; isa: its "
	           "kernel table%s. ORT: "
	           "onnxruntime-node, intraOpNumThreads = threads, no spinning; int8: PyTorch's QDQ "
	           "export (FX static quantization, onednn qconfig), fp32: the float ONNX. "
	           "int8/dnnq: ORT int8 ms / dnnq ms (> 1: dnnq faster). Nt x: the median over "
	           "rounds of a round's 1-thread ms / N-thread ms. dB: output SQNR against ORT fp32 "
	           "on the same held-out image. others: CPUs other processes (the ORT peer "
	           "included) kept busy over the model's rounds (/proc/stat, 10 ms ticks); dnnq waited: "
	           "the share of its threads' time this row's timed dnnq runs spent runnable but "
	           "off a CPU (schedstat, ns; a hypervisor's steal is not seen). vec GOPS: the "
	           "int8 peak loop's rate on dnnq's calling thread right after each of the row's "
	           "blocks (the median of %u runs of ~2.5 us), median over the blocks (lower than "
	           "the machine's usual: that core's vector ports were shared, on a VM by another "
	           "guest's thread); wkr GOPS: the same on the N-thread rows' workers, at the same "
	           "time (the slowest worker's, a block each). xcore ns: a cache line's round "
	           "trip between dnnq's caller and first worker after each N-thread block (the "
	           "best of %u batches of %u), median over the blocks: ~90 on this Zen 5 VM when "
	           "the host keeps its vCPUs close, ~400 when apart, where every line the two "
	           "threads share costs four times as much (docs/graph.md, \"The vCPUs' "
	           "distance\"). Targets (issue 17): int8/dnnq >= "
	           "1.05 on 1 thread, also on avx2; Nt x >= 1.8.", rounds_of(), reps_of(), SETTLE * 1e3,
	           r.nisa > 1 ? " (avx2: AVX2 kernels forced on this VNNI CPU)" : "",
	           VEC_CHUNKS, XCORE_BATCHES, XCORE_TRIPS);
	if (dist.len)
		bench_note(&t, "Not judged: dnnq's threads waited for a CPU more than %.0f%% of their "
		           "time: %s.", WAITED_MAX * 100, dist.list);
	return 0;
}
