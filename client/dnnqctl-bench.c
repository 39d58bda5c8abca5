/*
 * dnnqctl bench MODEL [--concurrency N] [--duration S] [--async DEPTH]
 *                     [--batch B] [--interval MS] [--json]
 *
 * N threads, each with its own session (its own connection, region and
 * slots, as N separate applications would have), keep DEPTH requests in
 * flight on zero-filled inputs for S seconds: DEPTH 1 is a loop of
 * synchronous dnnq_infer, more is dnnq_submit of DEPTH requests and then,
 * oldest first, dnnq_wait and submit again. A first small session reads
 * the signature so each thread's arena is sized for DEPTH sets of tensors.
 * With --interval MS (DEPTH 1 only) each thread starts a request every MS
 * ms, as a client with a steady cadence does (a camera, an audio chunk):
 * one that ends late starts the next at once, without catching up.
 *
 * The measuring loop neither allocates nor locks: each thread writes the
 * latency of every request (ns, saturating at 4.29 s) into an array
 * allocated before the start (untouched pages cost nothing) and publishes
 * its count for the progress line. At the end the arrays are merged and
 * sorted once for the percentiles.
 *
 * Samples/s is requests/s times the batch. The executed batch sizes are
 * the model's graph runs over the measurement (MODEL_STATS read before
 * and after, each on a short session of its own): with dynamic batching one run serves
 * requests of several threads. A daemon that refuses MODEL_STATS to this
 * uid gives no histogram, and another client's requests meanwhile count
 * in it, as do the requests in flight at the end, which the request count
 * (of those whose latency was recorded) leaves out.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/dnnqctl.h"

#define BENCH_TIMEOUT_MS 10000
#define BENCH_MAX_RATE   4000000.0	/* requests/s a thread could possibly do */

static const char bench_help[] =
	"usage: dnnqctl bench MODEL [OPTIONS]\n"
	"Measures requests/s, samples/s and latency (p50, p90, p99, p99.9, max) on\n"
	"zero-filled inputs, and the model's executed batch sizes (graph runs:\n"
	"dynamic batching gathers requests). Every thread opens its own session.\n"
	"\n"
	"  -c, --concurrency N  threads (default: 1)\n"
	"  -d, --duration S     seconds to run (default: 5)\n"
	"  -a, --async DEPTH    requests each thread keeps in flight (default: 1,\n"
	"                       synchronous dnnq_infer)\n"
	"  -b, --batch B        the batch of each request (default: 1)\n"
	"  -i, --interval MS    start a request every MS ms, each thread (1..60000;\n"
	"                       default: the next at once; not with --async)\n"
	"      --json           the results as one JSON object\n"
	"  -h, --help           this text\n";

struct bench_args {
	const char *model;
	unsigned threads, depth, batch;
	uint32_t interval_ms;	/* 0: back to back */
	double duration;
	bool json;
};

struct bench_thread {
	pthread_t th;
	const struct ctl_global *g;
	const struct bench_args *a;
	pthread_barrier_t *start;
	int *stop;
	uint64_t arena;
	uint32_t *lat;		/* ns per request */
	size_t cap, n;		/* n: published (atomic) for the progress line */
	uint64_t failures;
	int first_error;	/* of a failed request */
	int fatal;		/* what stopped the thread early */
	int setup;		/* fatal as the set-up left it: written before the start
				 * barrier only, so the main thread may read it after */
	char why[512];		/* dnnq_last_error of a set-up that failed (per thread) */
	int finished;		/* (atomic) the thread is done */
};

/* DEPTH sets of the model's tensors; ins/outs point into them. */
struct bench_io {
	struct dnnq_tensor t[DNNQ_MAX_IO];
	const struct dnnq_tensor *ins[DNNQ_MAX_IO];
	struct dnnq_tensor *outs[DNNQ_MAX_IO];
	struct dnnq_request req;
	int64_t started;
	bool busy;		/* req is in flight */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int parse_args(int argc, char **argv, struct bench_args *a)
{
	static const struct option opts[] = {
		{ "concurrency", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "async", required_argument, NULL, 'a' },
		{ "batch", required_argument, NULL, 'b' },
		{ "interval", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch, moved = 0;
	*a = (struct bench_args){ .threads = 1, .depth = 1, .batch = 1, .duration = 5 };
	opterr = 0;	/* ctl_bad_option names the option */
	while ((ch = dnnq_getopt_long(argc, argv, "c:d:a:b:i:h", opts, &moved)) != -1) {
		switch (ch) {
		case 'c':
			if (ctl_parse_u32("bench ", "--concurrency", optarg, 1, 1024, &a->threads))
				return CTL_EXIT_USAGE;
			break;
		case 'a':
			if (ctl_parse_u32("bench ", "--async", optarg, 1, 4096, &a->depth))
				return CTL_EXIT_USAGE;
			break;
		case 'b':
			if (ctl_parse_u32("bench ", "--batch", optarg, 1, 65536, &a->batch))
				return CTL_EXIT_USAGE;
			break;
		case 'i':
			if (ctl_parse_u32("bench ", "--interval", optarg, 1, 60000, &a->interval_ms))
				return CTL_EXIT_USAGE;
			break;
		case 'd':
			if (ctl_parse_seconds("bench ", "--duration", optarg, &a->duration))
				return CTL_EXIT_USAGE;
			break;
		case 'j': a->json = true; dnnq_json_failures(); break;
		case 'h': fputs(bench_help, stdout); return -1;
		default:  return ctl_bad_option("bench ", argv, "c:d:a:b:i:h", opts);
		}
	}
	if (optind != argc - 1)
		return ctl_usage_error("bench ", optind < argc ? "one MODEL only" : "no MODEL");
	if (a->interval_ms && a->depth > 1)
		return ctl_usage_error("bench ", "--interval paces synchronous requests: not with"
		                       " --async");
	a->model = argv[optind];
	return 0;
}

static int alloc_io(struct dnnq_model *m, uint32_t batch, struct bench_io *io)
{
	uint32_t n_in = dnnq_model_num_inputs(m);
	for (uint32_t i = 0; i < n_in + dnnq_model_num_outputs(m); i++) {
		enum dnnq_io_kind kind = i < n_in ? DNNQ_INPUT : DNNQ_OUTPUT;
		int rc = dnnq_tensor_alloc_io(m, kind, i < n_in ? i : i - n_in, batch, &io->t[i]);
		if (rc)
			return rc;
		memset(io->t[i].data, 0, io->t[i].bytes);
		if (i < n_in)
			io->ins[i] = &io->t[i];
		else
			io->outs[i - n_in] = &io->t[i];
	}
	return 0;
}

/* One request ended after ns: count it. false: the thread must stop. */
static bool record(struct bench_thread *t, int rc, int64_t ns)
{
	if (rc) {
		t->failures++;
		if (!t->first_error)
			t->first_error = rc;
		if (rc == DNNQ_E_DISCONNECTED || rc == DNNQ_E_TIMEDOUT)
			t->fatal = rc;
		return !t->fatal;
	}
	if (t->n == t->cap)
		return false;	/* cannot happen below BENCH_MAX_RATE */
	t->lat[t->n] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	__atomic_store_n(&t->n, t->n + 1, __ATOMIC_RELAXED);
	return true;
}

static int resubmit(struct dnnq_model *m, struct bench_io *io)
{
	io->started = now_ns();
	return dnnq_submit(m, io->ins, io->outs, &io->req);
}

/* One request after another; with --interval, one every interval_ms from
 * the first (a late one's successor at once, the cadence restarted). */
static void run_sync(struct bench_thread *t, struct dnnq_model *m, struct bench_io *io)
{
	const int64_t every = (int64_t)t->a->interval_ms * 1000000;
	int64_t next = now_ns();
	while (!__atomic_load_n(t->stop, __ATOMIC_RELAXED)) {
		int64_t t0 = now_ns();
		int rc = dnnq_infer(m, io->ins, io->outs, BENCH_TIMEOUT_MS);
		int64_t t1 = now_ns();
		if (!record(t, rc, t1 - t0))
			return;
		next = next + every > t1 ? next + every : t1;
		/* in naps of 100 ms at most, so the stop ends a long interval */
		for (int64_t now = t1; now < next && !__atomic_load_n(t->stop, __ATOMIC_RELAXED);
		     now = now_ns()) {
			int64_t until = next - now > 100000000 ? now + 100000000 : next;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
			                &(struct timespec){ .tv_sec = until / 1000000000,
			                                    .tv_nsec = until % 1000000000 }, NULL);
		}
	}
}

/* DEPTH in flight; after the stop (or an error) the rest drain uncounted. */
static void run_async(struct bench_thread *t, struct dnnq_model *m, struct bench_io *io)
{
	unsigned depth = t->a->depth, live = 0;
	bool go = true;
	for (unsigned d = 0; d < depth && go; d++) {
		io[d].busy = go = (t->fatal = resubmit(m, &io[d])) == 0;
		live += go;
	}
	for (unsigned d = 0; live; d = (d + 1) % depth) {
		if (!io[d].busy)
			continue;
		int rc = dnnq_wait(&io[d].req, BENCH_TIMEOUT_MS);
		io[d].busy = false;
		live--;
		go = go && record(t, rc, now_ns() - io[d].started) &&
		     !__atomic_load_n(t->stop, __ATOMIC_RELAXED);
		if (go && (t->fatal = resubmit(m, &io[d])) == 0) {
			io[d].busy = true;
			live++;
		}
		go = go && !t->fatal;
	}
}

static void *bench_thread_main(void *arg)
{
	struct bench_thread *t = arg;
	struct dnnq_client *c = NULL;
	struct dnnq_model *m = NULL;
	struct bench_io *io = calloc(t->a->depth, sizeof *io);
	struct dnnq_connect_opts o = { .slots = t->a->depth, .arena_bytes = t->arena };
	t->fatal = io ? dnnq_connect(t->g->socket, &o, &c) : DNNQ_E_NOMEM;
	if (!t->fatal)
		t->fatal = dnnq_model_open(c, t->a->model, &m);
	for (unsigned d = 0; !t->fatal && d < t->a->depth; d++)
		t->fatal = alloc_io(m, t->a->batch, &io[d]);
	if ((t->setup = t->fatal))	/* the text is this thread's: kept for the main one */
		snprintf(t->why, sizeof t->why, "%s", dnnq_last_error());
	pthread_barrier_wait(t->start);
	if (!t->fatal && t->a->depth == 1)
		run_sync(t, m, io);
	else if (!t->fatal)
		run_async(t, m, io);
	dnnq_close(c);
	free(io);
	__atomic_store_n(&t->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The arena one thread needs; prints the error when the model is no good. */
static int size_arena(const struct ctl_global *g, const struct bench_args *a, uint64_t *arena)
{
	struct dnnq_client *c;
	struct dnnq_model *m;
	int rc = ctl_open(g, a->model, CTL_PROBE_ARENA, 1, &c, &m);
	if (rc)
		return rc;
	if (a->batch > dnnq_model_max_batch(m))
		rc = ctl_failf("bench: --batch %u: model '%s' takes at most %u", a->batch, a->model,
		               dnnq_model_max_batch(m));
	*arena = a->depth * ctl_io_bytes(m, a->batch, false);
	dnnq_close(c);
	return rc;
}

/* Sleeps until the duration is over (or every thread gave up), with a
 * progress line on a terminal. Returns the time the stop was given. */
static int64_t supervise(const struct bench_args *a, struct bench_thread *t, int64_t t0)
{
	bool tty = isatty(STDERR_FILENO);
	int64_t end = t0 + (int64_t)(a->duration * 1e9), now;
	while ((now = now_ns()) < end) {
		uint64_t n = 0;
		unsigned alive = 0;
		for (unsigned i = 0; i < a->threads; i++) {
			n += __atomic_load_n(&t[i].n, __ATOMIC_RELAXED);
			alive += !__atomic_load_n(&t[i].finished, __ATOMIC_ACQUIRE);
		}
		if (!alive)
			break;
		if (tty)
			fprintf(stderr, "\rdnnqctl bench: %.0f/%.0f s, %llu requests ",
			        (double)(now - t0) / 1e9, a->duration, (unsigned long long)n);
		int64_t nap = end - now < 250000000 ? end - now : 250000000;
		nanosleep(&(struct timespec){ .tv_nsec = nap }, NULL);
	}
	if (tty)
		fprintf(stderr, "\r%60s\r", "");
	return now;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

/* Nearest rank: the smallest value at or above fraction p of them. */
static double pct_us(const uint32_t *v, size_t n, double p)
{
	size_t k = (size_t)(p * (double)n + 0.999999);
	return n ? v[k ? k - 1 : 0] / 1e3 : 0;
}

/* The model's graph runs so far (its MODEL_STATS, found by name), on a
 * session of its own that is closed again (one held through the run would
 * be one session more than asked for); false when there are none to read. */
static bool model_runs(const struct ctl_global *g, const char *model,
                       struct dnnq_model_stats *out)
{
	struct dnnq_client *c;
	struct dnnq_connect_opts o = { .slots = 1, .arena_bytes = CTL_PROBE_ARENA };
	bool found = false;
	if (dnnq_connect(g->socket, &o, &c)) {
		/* a note, not the bench's failure: it runs without the histogram */
		fprintf(stderr, "dnnqctl: bench: no batch sizes: %s\n", dnnq_last_error());
		return false;
	}
	for (uint32_t i = 0; !found && !dnnq_model_stats(c, i, out); i++)
		found = !strcmp(out->name, model);
	dnnq_close(c);
	return found;
}

/* The graph runs between two reads: histogram buckets, runs, items. */
struct run_delta {
	bool known;
	uint64_t runs, items;
	uint64_t hist[DNNQ_LATENCY_BUCKETS];
};

static void run_delta(const struct dnnq_model_stats *a, const struct dnnq_model_stats *b,
                      struct run_delta *d)
{
	d->known = true;
	d->runs = b->runs - a->runs;
	d->items = b->run_items - a->run_items;
	for (unsigned i = 0; i < DNNQ_LATENCY_BUCKETS; i++)
		d->hist[i] = b->batches[i] - a->batches[i];
}

/* "3-4" for bucket i of DNNQ_BATCH_BOUNDS. */
static void bucket_name(unsigned i, char *buf, size_t len)
{
	static const uint64_t bounds[DNNQ_LATENCY_BUCKETS - 1] = DNNQ_BATCH_BOUNDS;
	uint64_t lo = i ? bounds[i - 1] + 1 : 1;
	if (i == DNNQ_LATENCY_BUCKETS - 1)
		snprintf(buf, len, ">%llu", (unsigned long long)bounds[i - 1]);
	else if (lo == bounds[i])
		snprintf(buf, len, "%llu", (unsigned long long)lo);
	else
		snprintf(buf, len, "%llu-%llu", (unsigned long long)lo, (unsigned long long)bounds[i]);
}

static void report_runs(const struct run_delta *d, bool json)
{
	char name[32];
	double mean = d->runs ? (double)d->items / (double)d->runs : 0;
	bool first = true;
	if (json)
		printf(",\"runs\":%llu,\"mean_batch\":%.3f,\"batches\":{",
		       (unsigned long long)d->runs, mean);
	else
		printf("  batches   %llu runs, mean %.2f items:", (unsigned long long)d->runs, mean);
	for (unsigned i = 0; i < DNNQ_LATENCY_BUCKETS; i++) {
		if (!d->hist[i])
			continue;
		bucket_name(i, name, sizeof name);
		printf(json ? "%s\"%s\":%llu" : "%s %s: %llu", json && !first ? "," : "", name,
		       (unsigned long long)d->hist[i]);
		first = false;
	}
	putchar(json ? '}' : '\n');
}

static void report(const struct bench_args *a, const uint32_t *lat, size_t n,
                   uint64_t failures, double secs, const struct run_delta *runs)
{
	static const double ps[] = { 0.5, 0.9, 0.99, 0.999, 1.0 };
	static const char *const names[] = { "p50", "p90", "p99", "p99.9", "max" };
	static const char *const keys[] = { "p50", "p90", "p99", "p99_9", "max" };
	double rate = secs > 0 ? (double)n / secs : 0;
	if (a->json) {
		printf("{\"model\":");
		dnnq_json_string(stdout, a->model);
		printf(",\"threads\":%u,\"sessions\":%u,\"depth\":%u,\"batch\":%u,"
		       "\"interval_ms\":%u,\"duration_s\":%.3f,\"requests\":%zu,\"failures\":%llu,"
		       "\"requests_per_s\":%.1f,\"samples_per_s\":%.1f,\"latency_us\":{",
		       a->threads, a->threads, a->depth, a->batch, a->interval_ms, secs, n,
		       (unsigned long long)failures, rate, rate * a->batch);
		for (int i = 0; i < 5; i++)
			printf("%s\"%s\":%.3f", i ? "," : "", keys[i], pct_us(lat, n, ps[i]));
		putchar('}');
		if (runs->known)
			report_runs(runs, true);
		printf("}\n");
		dnnq_json_answered();
		return;
	}
	printf("bench %s: %u thread%s (a session each), depth %u, batch %u", a->model,
	       a->threads, a->threads == 1 ? "" : "s", a->depth, a->batch);
	if (a->interval_ms)
		printf(", one every %u ms", a->interval_ms);
	printf(", %.1f s\n", secs);
	printf("  requests  %zu (%llu failed)\n", n, (unsigned long long)failures);
	printf("  rate      %.0f requests/s, %.0f samples/s\n", rate, rate * a->batch);
	printf("  latency  ");
	for (int i = 0; i < 5; i++)
		printf(" %s %.1f", names[i], pct_us(lat, n, ps[i]));
	printf(" us\n");
	if (runs->known)
		report_runs(runs, false);
	else
		printf("  batches   not known (the daemon gave this uid no MODEL_STATS)\n");
}

/* Merges and sorts the latencies, prints; exit status. */
static int finish(const struct bench_args *a, struct bench_thread *t, double secs,
                  const struct run_delta *runs)
{
	size_t n = 0;
	uint64_t failures = 0;
	for (unsigned i = 0; i < a->threads; i++)
		n += t[i].n;
	uint32_t *all = malloc((n ? n : 1) * sizeof *all);
	if (!all)
		return ctl_fail("bench", DNNQ_E_NOMEM);
	n = 0;
	int rc = 0;
	for (unsigned i = 0; i < a->threads; i++) {
		memcpy(all + n, t[i].lat, t[i].n * sizeof *all);
		n += t[i].n;
		failures += t[i].failures;
		if (!rc && (t[i].fatal || t[i].first_error))
			rc = t[i].fatal ? t[i].fatal : t[i].first_error;
	}
	qsort(all, n, sizeof *all, cmp_u32);
	report(a, all, n, failures, secs, runs);
	free(all);
	return rc ? ctl_fail("bench", rc) : 0;
}

static int run_threads(const struct ctl_global *g, const struct bench_args *a,
                       struct bench_thread *t, uint64_t arena)
{
	struct dnnq_model_stats before, after;
	struct run_delta runs = { .known = false };
	int stop = 0;
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, a->threads + 1);
	size_t cap = (size_t)(a->duration * BENCH_MAX_RATE) + 1024;
	/* before the threads connect (a daemon may serve one session at once) */
	bool known = model_runs(g, a->model, &before);
	unsigned made = 0;
	for (; made < a->threads; made++) {
		t[made] = (struct bench_thread){
			.g = g, .a = a, .start = &start, .stop = &stop, .arena = arena, .cap = cap,
			.lat = malloc(cap * sizeof *t[made].lat),
		};
		if (!t[made].lat || pthread_create(&t[made].th, NULL, bench_thread_main, &t[made]))
			break;
	}
	if (made < a->threads) {
		/* The threads made wait at the barrier for the missing ones. */
		fprintf(stderr, "dnnqctl: bench: cannot start %u threads\n", a->threads);
		exit(CTL_EXIT_FAIL);
	}
	pthread_barrier_wait(&start);
	/* a thread that could not set up (its session refused, its tensors
	 * over the arena) measures nothing: stop the others at once and say
	 * why, instead of a report of zeros or of fewer threads than asked */
	const struct bench_thread *unset = NULL;
	for (unsigned i = 0; i < a->threads && !unset; i++)
		unset = t[i].setup ? &t[i] : NULL;
	int64_t t0 = now_ns();
	int64_t t1 = unset ? t0 : supervise(a, t, t0);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < a->threads; i++)
		pthread_join(t[i].th, NULL);
	pthread_barrier_destroy(&start);
	if (!unset && known && model_runs(g, a->model, &after))
		run_delta(&before, &after, &runs);
	int rc = unset ? ctl_failf_rc(unset->setup, "bench: %s", unset->why)
	               : finish(a, t, (double)(t1 - t0) / 1e9, &runs);
	for (unsigned i = 0; i < a->threads; i++)
		free(t[i].lat);
	return rc;
}

int ctl_cmd_bench(const struct ctl_global *g, int argc, char **argv)
{
	struct bench_args a;
	uint64_t arena;
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = size_arena(g, &a, &arena)))
		return rc;
	struct bench_thread *t = calloc(a.threads, sizeof *t);
	if (!t)
		return ctl_fail("bench", DNNQ_E_NOMEM);
	rc = run_threads(g, &a, t, arena);
	free(t);
	return rc;
}
