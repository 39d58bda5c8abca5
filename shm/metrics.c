/*
 * The Prometheus text exposition of the daemon's counters
 * (shm/dnnq_metrics.h). Family-major: every series of a family follows its
 * # HELP and # TYPE lines, so the per-model families loop over the models
 * once each. Seconds are written from nanoseconds exactly ("0.00005",
 * "12.345678901"), counters as integers.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>

#include "shm/dnnq_metrics.h"

static const uint64_t bounds_ns[DNNQ_PROTO_HIST_BUCKETS - 1] = DNNQ_PROTO_HIST_BOUNDS_NS;

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ns as seconds, without trailing zeros. */
static void put_seconds(FILE *f, uint64_t ns)
{
	char frac[16];
	int n = snprintf(frac, sizeof frac, "%09" PRIu64, ns % 1000000000u);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	fprintf(f, "%" PRIu64 "%s%s", ns / 1000000000u, n ? "." : "", frac);
}

/* A label value between quotes, \, " and newline escaped. */
static void put_label(FILE *f, const char *name, const char *v, size_t max)
{
	fprintf(f, "%s=\"", name);
	for (size_t i = 0; i < max && v[i]; i++) {
		if (v[i] == '\\' || v[i] == '"')
			fputc('\\', f);
		if (v[i] == '\n')
			fputs("\\n", f);
		else
			fputc(v[i], f);
	}
	fputc('"', f);
}

static void put_model(FILE *f, const char *metric, const struct dnnq_msg_model_stats *m)
{
	fprintf(f, "%s{", metric);
	put_label(f, "model", m->name, sizeof m->name);
}

/* One counter or gauge per model: the field at `off` of each. */
static void per_model(FILE *f, const char *name, const char *type, const char *help,
                      const struct dnnq_msg_model_stats *models, size_t n, size_t off,
                      bool u32)
{
	family(f, name, type, help);
	for (size_t i = 0; i < n; i++) {
		const char *p = (const char *)&models[i] + off;
		put_model(f, name, &models[i]);
		fprintf(f, "} %" PRIu64 "\n", u32 ? *(const uint32_t *)p : *(const uint64_t *)p);
	}
}

/* A per-model histogram: the buckets at `counts` (DNNQ_PROTO_HIST_BUCKETS,
 * not cumulative on the wire), their sum at `sum`; bounds and sum in
 * seconds (from ns) or as plain numbers. */
struct hist_def {
	const char *name, *help;
	size_t counts, sum;
	const uint64_t *bounds;
	bool seconds;
};

static void put_value(FILE *f, uint64_t v, bool seconds)
{
	if (seconds)
		put_seconds(f, v);
	else
		fprintf(f, "%" PRIu64, v);
}

static void histogram(FILE *f, const struct hist_def *h, const struct dnnq_msg_model_stats *models,
                      size_t n)
{
	char series[96];
	family(f, h->name, "histogram", h->help);
	for (size_t i = 0; i < n; i++) {
		const struct dnnq_msg_model_stats *m = &models[i];
		const uint64_t *counts = (const uint64_t *)(const void *)((const char *)m + h->counts);
		uint64_t cum = 0;
		snprintf(series, sizeof series, "%s_bucket", h->name);
		for (unsigned b = 0; b < DNNQ_PROTO_HIST_BUCKETS; b++) {
			cum += counts[b];
			put_model(f, series, m);
			fputs(",le=\"", f);
			if (b < DNNQ_PROTO_HIST_BUCKETS - 1)
				put_value(f, h->bounds[b], h->seconds);
			else
				fputs("+Inf", f);
			fprintf(f, "\"} %" PRIu64 "\n", cum);
		}
		snprintf(series, sizeof series, "%s_sum", h->name);
		put_model(f, series, m);
		fputs("} ", f);
		put_value(f, *(const uint64_t *)(const void *)((const char *)m + h->sum), h->seconds);
		fputc('\n', f);
		snprintf(series, sizeof series, "%s_count", h->name);
		put_model(f, series, m);
		fprintf(f, "} %" PRIu64 "\n", cum);
	}
}

static const uint64_t batch_bounds[DNNQ_PROTO_HIST_BUCKETS - 1] = DNNQ_PROTO_BATCH_BOUNDS;

static const struct hist_def durations = {
	"dnnq_request_duration_seconds", "Time in the daemon from a request's check to the end of"
	" its run (copies, quantization, the graph; the wait before is"
	" dnnq_model_queue_seconds_total; with dynamic batching the wait for company is in).",
	offsetof(struct dnnq_msg_model_stats, hist), offsetof(struct dnnq_msg_model_stats, run_ns),
	bounds_ns, true,
};

static const struct hist_def batch_sizes = {
	"dnnq_model_batch_size", "Batch items of the model's graph runs (with dynamic batching, a"
	" run serves several requests; without, each request is a run).",
	offsetof(struct dnnq_msg_model_stats, batches),
	offsetof(struct dnnq_msg_model_stats, run_items), batch_bounds, false,
};

static void scoped(FILE *f, const char *name, const char *type, const char *help,
                   const char *scope, uint64_t v)
{
	family(f, name, type, help);
	fprintf(f, "%s{scope=\"%s\"} %" PRIu64 "\n", name, scope, v);
}

int dnnq_metrics_write(FILE *f, const struct dnnq_msg_stats *s,
                       const struct dnnq_msg_model_stats *models, size_t n,
                       const char *models_note)
{
	bool uid = s->scope == DNNQ_STATS_SCOPE_UID;
	const char *scope = uid ? "uid" : "daemon";
	fprintf(f, "# dnnqd: scope=\"%s\": %s\n", scope, uid
	        ? "this uid's open sessions (root, dnnqd's user or access.public_stats see the"
	          " daemon's)" : "the whole daemon");
	family(f, "dnnq_uptime_seconds", "gauge", "Seconds since dnnqd started.");
	fputs("dnnq_uptime_seconds ", f);
	put_seconds(f, s->uptime_ns);
	fputc('\n', f);
	family(f, "dnnq_workers", "gauge", "Worker threads serving requests.");
	fprintf(f, "dnnq_workers %u\n", s->workers);
	family(f, "dnnq_models", "gauge", "Models served.");
	fprintf(f, "dnnq_models %u\n", s->models);
	scoped(f, "dnnq_sessions", "gauge", "Client sessions open, in the scope.", scope,
	       s->sessions);
	scoped(f, "dnnq_requests_total", "counter", "Requests completed, in the scope.", scope,
	       s->requests);
	scoped(f, "dnnq_request_failures_total", "counter", "Requests completed with an error,"
	       " in the scope.", scope, s->failures);
	scoped(f, "dnnq_bytes_copied_total", "counter", "Tensor bytes copied on the data path"
	       " (F32 tensors converted), in the scope.", scope, s->bytes_copied);
	if (!models) {
		fprintf(f, "# dnnqd: per-model series not shown: %s\n",
		        models_note ? models_note : "not available");
		return ferror(f) ? -1 : 0;
	}
	per_model(f, "dnnq_model_generation", "gauge", "The served version of the model (1, then"
	          " one more at each reload that changed it).", models, n,
	          offsetof(struct dnnq_msg_model_stats, generation), true);
	per_model(f, "dnnq_model_requests_total", "counter", "Requests that named the model.",
	          models, n, offsetof(struct dnnq_msg_model_stats, requests), false);
	per_model(f, "dnnq_model_failures_total", "counter", "Requests of the model that failed.",
	          models, n, offsetof(struct dnnq_msg_model_stats, failures), false);
	per_model(f, "dnnq_model_samples_total", "counter", "Batch items of the model's successful"
	          " requests.", models, n, offsetof(struct dnnq_msg_model_stats, samples), false);
	histogram(f, &durations, models, n);
	histogram(f, &batch_sizes, models, n);
	per_model(f, "dnnq_model_batch_expired_total", "counter", "Partial batches run at their"
	          " max_queue_delay_us deadline (dynamic batching).", models, n,
	          offsetof(struct dnnq_msg_model_stats, expired), false);
	per_model(f, "dnnq_model_queue_depth", "gauge", "Requests of the model held in partial"
	          " batches, waiting for company (dynamic batching).", models, n,
	          offsetof(struct dnnq_msg_model_stats, waiting), false);
	per_model(f, "dnnq_model_queued_total", "counter", "Requests of the model whose wait"
	          " for a worker was measured (submitted by a client that stamps them).", models,
	          n, offsetof(struct dnnq_msg_model_stats, queued), false);
	family(f, "dnnq_model_queue_seconds_total", "counter", "Time those requests waited from"
	       " the client's submit to a worker's check.");
	for (size_t i = 0; i < n; i++) {
		put_model(f, "dnnq_model_queue_seconds_total", &models[i]);
		fputs("} ", f);
		put_seconds(f, models[i].queue_ns);
		fputc('\n', f);
	}
	per_model(f, "dnnq_model_team_requests_total", "counter", "Requests of the model that ran"
	          " on more than one worker (threads > 1, idle workers joined).", models, n,
	          offsetof(struct dnnq_msg_model_stats, team_requests), false);
	per_model(f, "dnnq_model_team_workers_total", "counter", "Workers those requests ran on,"
	          " summed (divided by the requests: the mean team).", models, n,
	          offsetof(struct dnnq_msg_model_stats, team_workers), false);
	return ferror(f) ? -1 : 0;
}
