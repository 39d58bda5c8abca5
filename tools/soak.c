/*
 * tools/soak.c — dnnq-soak: dnnqd under random load and hot reloads for a
 * while, every answer checked (`make soak DURATION=S`).
 *
 * The parent starts dnnqd with the fixture's three models
 * (tools/serve-fixture.h) in a temporary directory, fc1024 and multi with
 * dynamic batching (CONFIG: requests of all the clients gathered into one
 * run, across reloads; multi's runs on threads: 2, idle workers joining
 * them), forks --clients
 * processes of --threads threads each (one libdnnq-client connection per
 * process, shared by its threads), and every --reload-every seconds
 * rewrites fc1024's or multi's file with new weights and the same
 * signature (a temporary name renamed over it, then SIGHUP). Each thread
 * loops: a random model, a random batch (1..max batch), random inputs,
 * sent with dnnq_infer or as 1..4 dnnq_submit + dnnq_wait, and compares
 * every output byte with the in-process engine's. A version's weights
 * come from its number, so a client makes any version's reference
 * itself; the parent publishes "versions 0..N written" in shared memory
 * before each rename, and an answer is right when it equals one of them.
 *
 * Counted (shared memory, atomics): requests, failures (a non-zero
 * status), mismatches (an answer no written version gives), lost (a
 * request not finished within 30 s) and duplicated completions (a
 * finished request that polls as finished again, or more requests
 * counted by the daemon than the clients sent). All must be 0: exit 0,
 * else 1. The last line is machine-readable:
 *   soak: requests=N failures=0 mismatches=0 lost=0 duplicated=0 p99_us=X
 * and a line before it has the shape of the other reliability lines
 * (tools/reliability-report.sh).
 *
 * The engine's and the client's headers both name a `struct dnnq_model`;
 * this file renames the engine's while including it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define dnnq_model dnnq_engine_model
#include "engine/model.h"
#undef dnnq_model
#include "client/dnnq.h"
#include "tests/rng.h"
#include "tools/serve-fixture.h"

#define MAX_VERSIONS 1024
#define MAX_BATCH 8
#define DEPTH 4                 /* async requests in flight per thread */
#define LOST_MS 30000           /* a request not done by then is lost */
#define MAX_LAT (1u << 22)      /* latency samples kept */
/* The config under the fixture's --model paths: two of the models batch,
 * one of them on two workers. */
#define CONFIG "limits: { max_batch: 8 }\nmodels:\n" \
	"  - name: fc1024\n    path: fc1024.dnnq\n" \
	"    dynamic_batching: { max_queue_delay_us: 200, preferred_batch_size: [4, 8] }\n" \
	"  - name: multi\n    path: multi.dnnq\n    threads: 2\n" \
	"    dynamic_batching: { max_queue_delay_us: 500 }\n"

/* ---- what the processes share ---------------------------------------------- */

struct shared {
	_Atomic uint32_t versions[FIXTURE_NMODELS];   /* versions 0..n-1 written */
	_Atomic bool stop;
	_Atomic uint64_t requests, failures, mismatches, lost, duplicated;
	_Atomic uint64_t reloaded;      /* right answers of a version > 0 */
	_Atomic uint64_t nlat;
	_Atomic int first_rc;
	char first_why[256];
	uint32_t lat_us[MAX_LAT];
};

static struct shared *sh;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	int expected = 0;
	if (!atomic_compare_exchange_strong(&sh->first_rc, &expected, 1))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sh->first_why, sizeof sh->first_why, fmt, ap);
	va_end(ap);
}

/* ---- model versions -------------------------------------------------------- */

/* The fixture's file of each model: version 0. */
static void *orig[FIXTURE_NMODELS];
static size_t orig_len[FIXTURE_NMODELS];

/* Version v of model m: the fixture's model with every s8 tensor (the
 * weights) drawn again from v (v 0: unchanged). Scales stay, so does the
 * signature. dnnq_model_free it. */
static int variant(enum fixture_model m, uint32_t v, struct dnnq_engine_model *out,
                   struct dnnq_diag *d)
{
	int rc = dnnq_model_read(orig[m], orig_len[m], out, d);
	struct rng r = { 0x9e3779b97f4a7c15ull * (v + 1) + m };
	for (size_t t = 0; !rc && v && t < out->ntensors; t++) {
		struct dnnq_qtensor *q = &out->tensors[t].t;
		if (q->dtype != DNNQ_DTYPE_S8)
			continue;
		for (size_t i = 0; i < dnnq_qtensor_numel(q); i++)
			((int8_t *)q->data)[i] = (int8_t)rng_int(&r, -127, 127);
	}
	return rc;
}

static int write_version(const char *path, enum fixture_model m, uint32_t v,
                         struct dnnq_diag *d)
{
	struct dnnq_engine_model mod;
	void *buf = NULL;
	size_t len;
	char tmp[512];
	int rc = variant(m, v, &mod, d);
	if (!rc)
		rc = dnnq_model_write(&mod, &buf, &len, d);
	dnnq_model_free(&mod);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = rc ? NULL : fopen(tmp, "wb");
	if (!rc && (!f || fwrite(buf, 1, len, f) != len))
		rc = dnnq_diag_set(d, DNNQ_E_IO, "%s: %s", tmp, strerror(errno));
	if (f && fclose(f) && !rc)
		rc = dnnq_diag_set(d, DNNQ_E_IO, "%s: %s", tmp, strerror(errno));
	free(buf);
	if (!rc && rename(tmp, path))
		rc = dnnq_diag_set(d, DNNQ_E_IO, "rename %s: %s", tmp, strerror(errno));
	return rc;
}

static int read_all(const char *path, void **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*buf = malloc((size_t)n);
	*len = *buf ? fread(*buf, 1, (size_t)n, f) : 0;
	fclose(f);
	return *buf && *len == (size_t)n ? 0 : -1;
}

/* ---- a client thread ----------------------------------------------------- */

/* One thread's engine graphs, built when a version is first needed. */
struct refs {
	struct dnnq_graph *g[FIXTURE_NMODELS][MAX_VERSIONS];
	uint32_t planned[FIXTURE_NMODELS][MAX_VERSIONS];
};

static struct dnnq_graph *ref_graph(struct refs *rf, enum fixture_model m, uint32_t v,
                                    uint32_t batch)
{
	struct dnnq_diag d = { "" };
	if (!rf->g[m][v]) {
		struct dnnq_engine_model mod;
		int rc = variant(m, v, &mod, &d);
		if (!rc)
			rc = dnnq_model_build(&mod, dnnq_isa_best(), &rf->g[m][v], &d);
		dnnq_model_free(&mod);
		if (rc) {
			note("reference %s v%u: %s", fixture_model_name(m), v, d.msg);
			return NULL;
		}
	}
	if (rf->planned[m][v] != batch) {
		if (dnnq_graph_plan(rf->g[m][v], batch, 1, &d)) {
			note("reference plan: %s", d.msg);
			return NULL;
		}
		rf->planned[m][v] = batch;
	}
	return rf->g[m][v];
}

/* One request's tensors. */
struct req {
	uint32_t ni, no, batch;
	struct dnnq_tensor t[FIXTURE_MAX_IO];
	const struct dnnq_tensor *in[FIXTURE_MAX_IO];
	struct dnnq_tensor *out[FIXTURE_MAX_IO];
	struct dnnq_request r;
	double t0;
};

static int req_alloc(struct dnnq_client *c, struct dnnq_model *m, uint32_t batch,
                     struct rng *r, struct req *q)
{
	memset(q, 0, sizeof *q);
	q->ni = dnnq_model_num_inputs(m);
	q->no = dnnq_model_num_outputs(m);
	q->batch = batch;
	for (uint32_t i = 0; i < q->ni + q->no; i++) {
		bool in = i < q->ni;
		int rc = dnnq_tensor_alloc_io(m, in ? DNNQ_INPUT : DNNQ_OUTPUT, in ? i : i - q->ni,
		                              batch, &q->t[i]);
		if (rc) {
			for (uint32_t k = 0; k < i; k++)
				dnnq_tensor_free(c, &q->t[k]);
			return rc;
		}
		if (in) {
			for (size_t k = 0; k < q->t[i].bytes; k++)
				((uint8_t *)q->t[i].data)[k] = (uint8_t)rng_next(r);
			q->in[i] = &q->t[i];
		} else {
			memset(q->t[i].data, 0xa5, q->t[i].bytes);
			q->out[i - q->ni] = &q->t[i];
		}
	}
	return 0;
}

static void req_free(struct dnnq_client *c, struct req *q)
{
	for (uint32_t i = 0; i < q->ni + q->no; i++)
		dnnq_tensor_free(c, &q->t[i]);
}

/* Whether the outputs are one written version's answer to the inputs:
 * newest first, the version that most likely ran. */
static bool right(struct refs *rf, enum fixture_model m, struct req *q, void **scratch)
{
	uint32_t n = atomic_load(&sh->versions[m]);
	const void *in[FIXTURE_MAX_IO];
	for (uint32_t i = 0; i < q->ni; i++)
		in[i] = q->t[i].data;
	for (uint32_t v = n; v-- > 0;) {
		struct dnnq_graph *g = ref_graph(rf, m, v, q->batch);
		if (!g || dnnq_graph_run(g, in, scratch, NULL))
			return false;
		bool same = true;
		for (uint32_t o = 0; same && o < q->no; o++)
			same = !memcmp(scratch[o], q->t[q->ni + o].data, q->t[q->ni + o].bytes);
		if (same && v)
			atomic_fetch_add(&sh->reloaded, 1);
		if (same)
			return true;
	}
	return false;
}

static void latency(double t0)
{
	uint64_t i = atomic_fetch_add(&sh->nlat, 1);
	if (i < MAX_LAT)
		sh->lat_us[i] = (uint32_t)((fixture_now_s() - t0) * 1e6);
}

/* The status of a finished request: counted, and its outputs checked. */
static void finished(struct refs *rf, enum fixture_model m, struct req *q, int rc,
                     void **scratch)
{
	atomic_fetch_add(&sh->requests, 1);
	if (rc == DNNQ_E_TIMEDOUT) {
		atomic_fetch_add(&sh->lost, 1);
		note("%s batch %u: no completion within %d ms", fixture_model_name(m), q->batch,
		     LOST_MS);
		return;
	}
	if (rc) {
		atomic_fetch_add(&sh->failures, 1);
		note("%s batch %u: %s", fixture_model_name(m), q->batch, dnnq_strerror(rc));
		return;
	}
	latency(q->t0);
	if (!right(rf, m, q, scratch)) {
		atomic_fetch_add(&sh->mismatches, 1);
		note("%s batch %u: the answer of no version written", fixture_model_name(m),
		     q->batch);
	}
}

struct thread_arg {
	struct dnnq_client *c;
	struct dnnq_model *m[FIXTURE_NMODELS];
	uint64_t seed;
};

/* One sync request, or 1..DEPTH async ones. */
static void one_round(struct thread_arg *a, struct refs *rf, struct rng *r, void **scratch)
{
	enum fixture_model m = (enum fixture_model)rng_int(r, 0, FIXTURE_NMODELS - 1);
	uint32_t maxb = dnnq_model_max_batch(a->m[m]);
	uint32_t batch = (uint32_t)rng_int(r, 1, maxb < MAX_BATCH ? maxb : MAX_BATCH);
	bool async = rng_int(r, 0, 1);
	int n = async ? (int)rng_int(r, 1, DEPTH) : 1;
	struct req q[DEPTH];
	int rc[DEPTH];
	for (int i = 0; i < n; i++) {
		rc[i] = req_alloc(a->c, a->m[m], batch, r, &q[i]);
		if (rc[i]) {
			n = i;
			atomic_fetch_add(&sh->failures, 1);
			note("alloc: %s", dnnq_strerror(rc[i]));
			break;
		}
	}
	if (!async && n) {
		q[0].t0 = fixture_now_s();
		finished(rf, m, &q[0], dnnq_infer(a->m[m], q[0].in, q[0].out, LOST_MS), scratch);
	} else {
		for (int i = 0; i < n; i++) {
			q[i].t0 = fixture_now_s();
			rc[i] = dnnq_submit(a->m[m], q[i].in, q[i].out, &q[i].r);
		}
		for (int i = 0; i < n; i++) {
			int s = rc[i] ? rc[i] : dnnq_wait(&q[i].r, LOST_MS);
			finished(rf, m, &q[i], s, scratch);
			if (!rc[i] && s != DNNQ_E_TIMEDOUT && dnnq_poll(&q[i].r) != DNNQ_E_INVAL) {
				atomic_fetch_add(&sh->duplicated, 1);
				note("%s: a finished request polled as finished again",
				     fixture_model_name(m));
			}
		}
	}
	for (int i = 0; i < n; i++)
		req_free(a->c, &q[i]);
}

static void *thread_main(void *arg)
{
	struct thread_arg *a = arg;
	struct refs *rf = calloc(1, sizeof *rf);
	void *scratch[FIXTURE_MAX_IO] = { 0 };
	struct rng r = { a->seed | 1 };
	for (int i = 0; rf && i < FIXTURE_MAX_IO; i++)
		scratch[i] = malloc(MAX_BATCH * 1024 * sizeof(float));
	while (rf && !atomic_load(&sh->stop))
		one_round(a, rf, &r, scratch);
	for (int m = 0; rf && m < FIXTURE_NMODELS; m++)
		for (int v = 0; v < MAX_VERSIONS; v++)
			dnnq_graph_destroy(rf->g[m][v]);
	for (int i = 0; i < FIXTURE_MAX_IO; i++)
		free(scratch[i]);
	free(rf);
	return NULL;
}

/* A client process: one connection, nthreads threads. Exit 0 or 1. */
static int client_main(const char *socket, int id, int nthreads)
{
	struct dnnq_connect_opts o = { .slots = 64, .arena_bytes = 16 << 20 };
	struct dnnq_client *c;
	int rc = dnnq_connect(socket, &o, &c);
	if (rc) {
		note("client %d: connect: %s", id, dnnq_strerror(rc));
		return 1;
	}
	struct thread_arg a[16];
	pthread_t t[16];
	for (int i = 0; i < nthreads; i++) {
		a[i] = (struct thread_arg){ .c = c, .seed = 0x50a4ull * (uint64_t)(id * 16 + i + 1) };
		for (int m = 0; m < FIXTURE_NMODELS && !rc; m++)
			rc = dnnq_model_open(c, fixture_model_name(m), &a[i].m[m]);
		if (rc) {
			note("client %d: open: %s", id, dnnq_strerror(rc));
			return 1;
		}
		if (pthread_create(&t[i], NULL, thread_main, &a[i]))
			return 1;
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		for (int m = 0; m < FIXTURE_NMODELS; m++)
			dnnq_model_close(a[i].m[m]);
	}
	dnnq_close(c);
	return 0;
}

/* ---- the parent -------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* How dynamic batching gathered each model's requests: graph runs
 * against requests; and the requests that ran on two workers. */
static void print_batching(struct dnnq_client *c)
{
	struct dnnq_model_stats m;
	for (uint32_t i = 0; !dnnq_model_stats(c, i, &m); i++)
		printf("dnnq-soak: %s: %llu requests in %llu graph runs (mean batch %.2f items, %llu"
		       " run at their deadline), %llu teamed\n", m.name,
		       (unsigned long long)m.requests, (unsigned long long)m.runs,
		       m.runs ? (double)m.run_items / (double)m.runs : 0,
		       (unsigned long long)m.expired, (unsigned long long)m.team_requests);
}

/* CONFIG in a file of its own under the fixture's temporary directory
 * (removed with it). */
static int write_config(char *path, size_t len, struct dnnq_diag *diag)
{
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	snprintf(path, len, "%s/soak-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(path))
		return dnnq_diag_set(diag, DNNQ_E_IO, "mkdtemp %s: %s", path, strerror(errno));
	size_t n = strlen(path);
	snprintf(path + n, len - n, "/dnnqd.yaml");
	FILE *f = fopen(path, "w");
	bool ok = f && fputs(CONFIG, f) >= 0;
	if (f && fclose(f))
		ok = false;
	return ok ? 0 : dnnq_diag_set(diag, DNNQ_E_IO, "%s: %s", path, strerror(errno));
}

static void usage(void)
{
	printf("usage: dnnq-soak [--duration S] [--clients N] [--threads N]"
	       " [--reload-every S] [-h|--help] [--version]\n  DNNQ_DNNQD: the dnnqd to start (default:"
	       " bin/ beside this one)\n");
}

static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dnnq_tool_vline("dnnq-soak", " (try --help)", fmt, ap);
	va_end(ap);
	return 2;
}

int main(int argc, char **argv)
{
	double duration = 60, reload_every = 3;
	uint64_t clients = 3, threads = 2;
	static const struct option opts[] = {
		{ "duration", required_argument, 0, 'd' }, { "clients", required_argument, 0, 'c' },
		{ "threads", required_argument, 0, 't' }, { "reload-every", required_argument, 0, 'r' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	opterr = 0;	/* bad_usage names the option */
	for (int ch; (ch = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
		switch (ch) {
		case 'd':
			if (dnnq_usage_real("dnnq-soak", "--duration", optarg, 0.001, 1e7, false, &duration))
				return 2;
			break;
		case 'c':
			if (dnnq_usage_digits("dnnq-soak", "--clients", optarg, 1, 64, &clients))
				return 2;
			break;
		case 't':
			if (dnnq_usage_digits("dnnq-soak", "--threads", optarg, 1, 16, &threads))
				return 2;
			break;
		case 'r':
			if (dnnq_usage_real("dnnq-soak", "--reload-every", optarg, 0.001, 1e7, false,
			                    &reload_every))
				return 2;
			break;
		case 'h': usage(); return 0;
		case 'V': printf("dnnq-soak %s\n", DNNQ_VERSION); return 0;
		default: {
			char why[256];
			dnnq_getopt_error(argv, "h", opts, why, sizeof why);
			return bad_usage("%s", why);
		}
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	int nclients = (int)clients, nthreads = (int)threads;
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("dnnq-soak: mmap");
		return 1;
	}
	struct dnnq_diag diag = { "" };
	struct fixture_daemon d;
	char path[FIXTURE_NMODELS][400];
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	fixture_tmp_begin();
	char conf[400];
	int rc = write_config(conf, sizeof conf, &diag);
	if (!rc)
		rc = fixture_daemon_start(&d, bin, FIXTURE_ALL_MODELS, (const char *const[]){
		                          "--config", conf, "--max-batch", "8", NULL }, &diag);
	if (rc) {
		fprintf(stderr, "dnnq-soak: %s\n", diag.msg);
		fixture_tmp_end();
		return 1;
	}
	for (int m = 0; m < FIXTURE_NMODELS; m++) {
		snprintf(path[m], sizeof path[m], "%s/%s.dnnq", d.dir, fixture_model_name(m));
		if (read_all(path[m], &orig[m], &orig_len[m])) {
			dnnq_tool_line("dnnq-soak", "cannot read %s", path[m]);
			fixture_daemon_destroy(&d);
			fixture_tmp_end();
			return 1;
		}
		atomic_store(&sh->versions[m], 1);
	}
	printf("dnnq-soak: dnnqd pid %d, %d clients x %d threads, %.0f s, a reload every %.1f s\n",
	       (int)d.pid, nclients, nthreads, duration, reload_every);
	fflush(stdout);
	pid_t kids[64];
	for (int i = 0; i < nclients; i++) {
		kids[i] = fixture_fork();
		if (kids[i] == 0)
			_exit(client_main(d.socket, i, nthreads));
	}
	double t_end = fixture_now_s() + duration, next = fixture_now_s() + reload_every;
	unsigned reloads = 0, reload_failed = 0;
	struct dnnq_client *ctl = NULL;
	rc = dnnq_connect(d.socket, NULL, &ctl);
	while (!rc && fixture_now_s() < t_end) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
		if (fixture_now_s() < next)
			continue;
		next += reload_every;
		enum fixture_model m = reloads % 2 ? FIXTURE_MULTI : FIXTURE_FC1024;
		uint32_t v = atomic_load(&sh->versions[m]);
		if (v >= MAX_VERSIONS)
			continue;
		atomic_store(&sh->versions[m], v + 1);   /* before anyone can be served by it */
		if (write_version(path[m], m, v, &diag) || kill(d.pid, SIGHUP)) {
			fprintf(stderr, "dnnq-soak: reload %u: %s\n", reloads, diag.msg);
			reload_failed++;
		}
		reloads++;
	}
	atomic_store(&sh->stop, true);
	int bad_kids = 0;
	for (int i = 0; i < nclients; i++) {
		int st = fixture_wait(kids[i], LOST_MS + 30000);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			bad_kids++;
			if (st == -1)
				kill(kids[i], SIGKILL);
		}
	}
	/* the daemon's count: no more requests than the clients sent (a
	 * duplicate), no fewer (a loss) */
	struct dnnq_stats st = { 0 };
	if (!rc)
		rc = dnnq_stats(ctl, &st);
	uint64_t sent = atomic_load(&sh->requests);
	if (!rc && st.requests > sent)
		atomic_fetch_add(&sh->duplicated, st.requests - sent);
	if (!rc && st.requests < sent)
		atomic_fetch_add(&sh->lost, sent - st.requests);
	if (!rc && strstr(st.status, "last reload failed"))
		reload_failed++;
	if (!rc)
		print_batching(ctl);
	dnnq_close(ctl);
	int stop_rc = fixture_daemon_stop(&d, &diag);
	if (stop_rc) {
		char log[2048];
		fixture_daemon_log(&d, log, sizeof log);
		fprintf(stderr, "dnnq-soak: %s\n%s", diag.msg, log);
	}
	fixture_daemon_destroy(&d);
	fixture_tmp_end();

	uint64_t n = atomic_load(&sh->nlat);
	n = n < MAX_LAT ? n : MAX_LAT;
	qsort(sh->lat_us, n, sizeof *sh->lat_us, cmp_u32);
	uint32_t p50 = n ? sh->lat_us[n / 2] : 0, p99 = n ? sh->lat_us[n * 99 / 100] : 0;
	uint64_t req = atomic_load(&sh->requests), fail = atomic_load(&sh->failures);
	uint64_t mis = atomic_load(&sh->mismatches), lost = atomic_load(&sh->lost);
	uint64_t dup = atomic_load(&sh->duplicated);
	bool ok = !rc && !stop_rc && !bad_kids && !reload_failed && !fail && !mis && !lost && !dup
	          && req > 0;
	if (sh->first_why[0])
		printf("dnnq-soak: first problem: %s\n", sh->first_why);
	if (rc)
		printf("dnnq-soak: control client: %s\n", dnnq_strerror(rc));
	printf("dnnq-soak: %u reloads (%u failed), %d client processes failed, dnnqd counted"
	       " %llu requests, %llu answers from reloaded versions, p50 %u us\n", reloads,
	       reload_failed, bad_kids, (unsigned long long)st.requests,
	       (unsigned long long)atomic_load(&sh->reloaded), p50);
	printf("soak: random requests under %u hot reloads for %.0f s (%d processes x %d threads):"
	       " %llu tries: %s\n", reloads, duration, nclients, nthreads,
	       (unsigned long long)req, ok ? "every answer right, none lost or duplicated"
	                                   : "FAILED");
	printf("soak: requests=%llu failures=%llu mismatches=%llu lost=%llu duplicated=%llu"
	       " p99_us=%u\n", (unsigned long long)req, (unsigned long long)fail,
	       (unsigned long long)mis, (unsigned long long)lost, (unsigned long long)dup, p99);
	return ok ? 0 : 1;
}
