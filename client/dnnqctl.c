/*
 * dnnqctl: talk to a running dnnqd through libdnnq-client.
 *
 *   dnnqctl [--socket PATH] status | metrics | models | reload | infer ... | bench ...
 *
 * main parses the global options up to the command name and hands the rest
 * to the command, which parses its own options (each has --help). This
 * file also holds the status, metrics, models and reload commands and what the commands
 * share: error lines ("dnnqctl: <what>: <why>", exit 1; usage errors exit
 * 2), number parsing, and the text and JSON output helpers. JSON output is
 * one object on stdout, meant for scripts; text output is for people.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "client/dnnqctl.h"
#include "shm/dnnq_error.h"
#include "shm/dnnq_metrics.h"

static const char global_help[] =
	"usage: dnnqctl [--socket PATH] COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  status    the daemon's state and counters\n"
	"  metrics   the counters in Prometheus' text format\n"
	"  models    the models served (or those named), with their inputs and outputs\n"
	"  reload    reload the config and model files, print what changed\n"
	"  infer     run a model on .npy inputs, write .npy outputs\n"
	"  bench     measure requests/s and latency on zero inputs\n"
	"\n"
	"Options:\n"
	"  --socket PATH  the daemon's socket (default: $DNNQ_SOCKET, else\n"
	"                 " DNNQ_DEFAULT_SOCKET " for root; for other users\n"
	"                 $XDG_RUNTIME_DIR/dnnq/dnnqd.sock if it exists, else\n"
	"                 " DNNQ_DEFAULT_SOCKET ")\n"
	"  -h, --help     this text; COMMAND --help for a command's\n"
	"  --version      the version\n";

static const char status_help[] =
	"usage: dnnqctl status [--json]\n"
	"The daemon's pid, uptime, workers, sessions, models, request and\n"
	"failure counts, bytes copied on the data path and its status line;\n"
	"then per model (root, the daemon's user, or access.public_stats):\n"
	"requests, failures, samples, average run time and latency buckets.\n";

static const char metrics_help[] =
	"usage: dnnqctl metrics\n"
	"The daemon's counters in the Prometheus text exposition format: uptime,\n"
	"workers, models, sessions, requests, failures and bytes copied (scope\n"
	"label: the daemon's, or this uid's sessions'), then per model (root, the\n"
	"daemon's user, or access.public_stats): requests, failures, samples,\n"
	"generation and the dnnq_request_duration_seconds histogram.\n";

static const char models_help[] =
	"usage: dnnqctl models [NAME...] [--json]\n"
	"Each model's name, generation, max batch, and its inputs and outputs\n"
	"(name, dtype, shape with the batch as N, scale and zero point): every\n"
	"model served, or the NAMEs given, in their order (exit 1 for a name\n"
	"dnnqd does not serve, with the names it serves).\n";

static const char reload_help[] =
	"usage: dnnqctl reload [--json]\n"
	"Asks dnnqd to reload its config and model files (like SIGHUP), waits\n"
	"up to 300 s for the reload to finish (5 s for the connect) and prints\n"
	"the models added, changed and removed, or why it failed (the old\n"
	"models are still served then).\n"
	"Root and the daemon's own user only. Exits 1 when it failed.\n";

/* ---- shared helpers --------------------------------------------------- */

/* One line on stderr in one write(2) (glibc buffers a single fprintf to an
 * unbuffered stream): a reader of a pipe never sees "dnnqctl: " without
 * its message. Escaped (dnnq_escape) as dnnqd's and the library's texts
 * are: it may quote what the caller typed (a command, an input's name),
 * and an escape sequence there drove the terminal (attack56). */
static void vmessage(const char *fmt, va_list ap, const char *tail)
{
	char *shown = dnnq_escape_vasprintf(fmt, ap);
	fprintf(stderr, "dnnqctl: %s%s\n", shown ? shown : fmt, tail);
	free(shown);
}

void ctl_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap, "");
	va_end(ap);
}

static int vfail(int rc, const char *fmt, va_list ap)
{
	vmessage(fmt, ap, "");
	return dnnq_json_exit(CTL_EXIT_FAIL, rc);
}

int ctl_fail(const char *what, int rc)
{
	return ctl_failf_rc(rc, "%s: %s", what, dnnq_strerror(rc));
}

int ctl_failf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vfail(0, fmt, ap);
	va_end(ap);
	return rc;
}

int ctl_failf_rc(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rc = vfail(rc, fmt, ap);
	va_end(ap);
	return rc;
}

int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	char tail[96];
	snprintf(tail, sizeof tail, " (try 'dnnqctl %s--help')", cmd ? cmd : "");
	va_start(ap, fmt);
	vmessage(fmt, ap, tail);
	va_end(ap);
	return dnnq_json_exit(CTL_EXIT_USAGE, 0);
}

int ctl_bad_option(const char *cmd, char *const *argv, const char *shortopts,
                   const struct option *opts)
{
	/* dnnqctl's own option after the command (dnnqctl status --socket S),
	 * the mirror of bad_global_option's mistake: say where it goes */
	const char *arg = argv[optind - 1];
	if (cmd && (!strcmp(arg, "--socket") || !strncmp(arg, "--socket=", 9)))
		return ctl_usage_error(NULL, "'--socket' after the command: it is dnnqctl's own"
		                       " option and goes before it (dnnqctl --socket PATH %.*s)",
		                       (int)strcspn(cmd, " "), cmd);
	char why[256];
	dnnq_getopt_error(argv, shortopts, opts, why, sizeof why);
	return ctl_usage_error(cmd, "%s", why);
}

int ctl_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t min, uint32_t max,
                  unsigned *out)
{
	struct dnnq_diag d = { "" };
	uint64_t v;
	if (dnnq_opt_digits(&d, opt, s, min, max, &v))
		return ctl_usage_error(cmd, "%s", d.msg);
	*out = (unsigned)v;
	return 0;
}

int ctl_parse_seconds(const char *cmd, const char *opt, const char *s, double *out)
{
	struct dnnq_diag d = { "" };
	if (dnnq_opt_real(&d, opt, s, 0, 86400, true, out))
		return ctl_usage_error(cmd, "%s", d.msg);
	return 0;
}

int ctl_connect(const struct ctl_global *g, uint64_t arena_bytes, uint32_t slots,
                struct dnnq_client **c)
{
	struct dnnq_connect_opts o = { .slots = slots, .arena_bytes = arena_bytes };
	int rc = dnnq_connect(g->socket, &o, c);
	if (rc)
		return ctl_failf_rc(rc, "%s", dnnq_last_error());
	return 0;
}

int ctl_open(const struct ctl_global *g, const char *model, uint64_t arena_bytes,
             uint32_t slots, struct dnnq_client **c, struct dnnq_model **m)
{
	int rc = ctl_connect(g, arena_bytes, slots, c);
	if (rc)
		return rc;
	rc = dnnq_model_open(*c, model, m);
	if (rc) {
		/* not found: the library's text names the models served */
		rc = rc == DNNQ_E_NOTFOUND ? ctl_failf_rc(rc, "%s", dnnq_last_error())
		     : ctl_failf_rc(rc, "model '%s': %s", model, dnnq_strerror(rc));
		dnnq_close(*c);
		*c = NULL;
		return rc;
	}
	return 0;
}

uint64_t ctl_io_bytes(const struct dnnq_model *m, uint32_t batch, bool as_f32)
{
	uint64_t total = 0;
	for (int kind = DNNQ_INPUT; kind <= DNNQ_OUTPUT; kind++) {
		uint32_t n = kind == DNNQ_INPUT ? dnnq_model_num_inputs(m) : dnnq_model_num_outputs(m);
		for (uint32_t i = 0; i < n; i++) {
			struct dnnq_io_info io;
			dnnq_model_io(m, (enum dnnq_io_kind)kind, i, &io);
			uint64_t b = (uint64_t)batch * (io.dtype == DNNQ_TYPE_U8 && !as_f32 ? 1 : 4);
			for (uint32_t k = 1; k < io.rank; k++)
				b *= (uint64_t)io.dims[k];
			total += (b + 63) & ~(uint64_t)63;
		}
	}
	return total;
}



void ctl_print_shape(FILE *f, uint32_t rank, const int64_t *dims, bool batch_n, bool json)
{
	fputc('[', f);
	for (uint32_t k = 0; k < rank; k++) {
		fputs(k ? (json ? "," : ", ") : "", f);
		if (k == 0 && batch_n)
			fputs(json ? "\"N\"" : "N", f);
		else
			fprintf(f, "%lld", (long long)dims[k]);
	}
	fputc(']', f);
}

/* --json or --help: the only options status and models take (json NULL:
 * --help only); operands (models' names) are argv[*first..argc), refused
 * where first is NULL. */
static int parse_json_flag(const char *cmd, const char *help, int argc, char **argv,
                           bool *json, int *first)
{
	bool ignored;
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch, moved = 0;
	bool takes_json = json != NULL;
	/* names and options in any order (models vad --json), under
	 * POSIXLY_CORRECT too; without names, the first is unexpected */
	const char *shortopts = first ? "h" : "+h";
	json = json ? json : &ignored;
	*json = false;
	opterr = 0;	/* the line below names the option */
	while ((ch = first ? dnnq_getopt_long(argc, argv, shortopts, opts, &moved)
	                   : getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		if (ch == 'j' && takes_json)
			*json = true, dnnq_json_failures();
		else if (ch == 'j')	/* metrics */
			return ctl_usage_error(cmd, "--json: %sprints Prometheus' text format; 'status "
			                       "--json' has the same counters as JSON", cmd);
		else if (ch == 'h')
			return fputs(help, stdout), -1;
		else
			return ctl_bad_option(cmd, argv, shortopts, opts);
	}
	if (optind < argc && !first)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (first)
		*first = optind;
	return 0;
}

/* ---- status ------------------------------------------------------------- */

/* Whose traffic the counters are: the daemon's, or this uid's. */
static const char *scope_name(const struct dnnq_stats *s)
{
	return s->scope == DNNQ_STATS_SCOPE_UID ? "uid" : "daemon";
}

static void print_status_json(const struct dnnq_stats *s)
{
	printf("{\"pid\":%u,\"uptime_ns\":%llu,\"workers\":%u,\"scope\":\"%s\","
	       "\"sessions\":%u,\"models\":%u,"
	       "\"requests\":%llu,\"failures\":%llu,\"bytes_copied\":%llu,"
	       "\"session_requests\":%llu,\"session_failures\":%llu,\"status\":",
	       s->pid, (unsigned long long)s->uptime_ns, s->workers, scope_name(s),
	       s->sessions, s->models,
	       (unsigned long long)s->requests, (unsigned long long)s->failures,
	       (unsigned long long)s->bytes_copied, (unsigned long long)s->session_requests,
	       (unsigned long long)s->session_failures);
	dnnq_json_string(stdout, s->status);
}

/* After a line the daemon's reply cut to its field (size bytes): where
 * the rest is. */
static const char *cut_note(const char *s, size_t size)
{
	return strlen(s) + 1 >= size ? "... (cut short: dnnqd's log has the whole line)" : "";
}

static void print_status_text(const struct dnnq_stats *s)
{
	unsigned long long up = s->uptime_ns / 1000000000;
	printf("dnnqd pid %u, up ", s->pid);
	if (up >= 86400)
		printf("%llud ", up / 86400);
	printf("%02llu:%02llu:%02llu\n", up / 3600 % 24, up / 60 % 60, up % 60);
	printf("  counting      %s\n", s->scope == DNNQ_STATS_SCOPE_UID
	       ? "this uid's sessions (access.public_stats shows the daemon's)"
	       : "the whole daemon");
	/* this command's own session counts: an idle daemon shows 1 */
	printf("  workers       %u\n  sessions      %u (this dnnqctl's among them)\n"
	       "  models        %u\n", s->workers, s->sessions, s->models);
	printf("  requests      %llu (%llu failed)\n", (unsigned long long)s->requests,
	       (unsigned long long)s->failures);
	printf("  bytes copied  %llu\n", (unsigned long long)s->bytes_copied);
	printf("  status        %s%s\n", s->status, cut_note(s->status, sizeof s->status));
}

static const uint32_t latency_bounds_us[DNNQ_LATENCY_BUCKETS - 1] = DNNQ_LATENCY_BOUNDS_US;

/* Batch items per graph run (dynamic batching gathers requests). */
static double mean_batch(const struct dnnq_model_stats *m)
{
	return m->runs ? (double)m->run_items / (double)m->runs : 0;
}

static void print_model_stats_json(const struct dnnq_model_stats *m, bool first)
{
	printf("%s{\"name\":", first ? "" : ",");
	dnnq_json_string(stdout, m->name);
	printf(",\"generation\":%u,\"requests\":%llu,\"failures\":%llu,\"samples\":%llu,"
	       "\"run_ns\":%llu,\"queued\":%llu,\"queue_ns\":%llu,\"runs\":%llu,"
	       "\"run_items\":%llu,\"mean_batch\":%.3f,\"expired\":%llu,\"queue_depth\":%llu,"
	       "\"team_requests\":%llu,\"team_workers\":%llu,\"latency\":[", m->generation,
	       (unsigned long long)m->requests, (unsigned long long)m->failures,
	       (unsigned long long)m->samples, (unsigned long long)m->run_ns,
	       (unsigned long long)m->queued, (unsigned long long)m->queue_ns,
	       (unsigned long long)m->runs, (unsigned long long)m->run_items, mean_batch(m),
	       (unsigned long long)m->expired, (unsigned long long)m->waiting,
	       (unsigned long long)m->team_requests, (unsigned long long)m->team_workers);
	for (unsigned b = 0; b < DNNQ_LATENCY_BUCKETS; b++) {
		printf("%s{\"le_us\":", b ? "," : "");
		if (b < DNNQ_LATENCY_BUCKETS - 1)
			printf("%u", latency_bounds_us[b]);
		else
			fputs("null", stdout);
		printf(",\"count\":%llu}", (unsigned long long)m->latency[b]);
	}
	fputs("]}", stdout);
}

/* "<=250us: 12  <=500us: 3": the buckets that counted anything. */
static void print_model_stats_text(const struct dnnq_model_stats *m)
{
	double avg_us = m->requests ? (double)m->run_ns / (double)m->requests / 1e3 : 0;
	double queue_us = m->queued ? (double)m->queue_ns / (double)m->queued / 1e3 : 0;
	double team = m->team_requests ? (double)m->team_workers / (double)m->team_requests : 0;
	printf("  %-20s %10llu %8llu %10llu %10.1f %10.1f %6llu %6.2f %10llu %5.2f  ", m->name,
	       (unsigned long long)m->requests, (unsigned long long)m->failures,
	       (unsigned long long)m->samples, avg_us, queue_us, (unsigned long long)m->waiting,
	       mean_batch(m), (unsigned long long)m->team_requests, team);
	for (unsigned b = 0; b < DNNQ_LATENCY_BUCKETS; b++) {
		if (!m->latency[b])
			continue;
		if (b < DNNQ_LATENCY_BUCKETS - 1)
			printf(" <=%uus:%llu", latency_bounds_us[b], (unsigned long long)m->latency[b]);
		else
			printf(" >%uus:%llu", latency_bounds_us[b - 1], (unsigned long long)m->latency[b]);
	}
	putchar('\n');
}

/* Every served model's counters (MODEL_STATS from index 0 until NOTFOUND)
 * into *all (free it), *n of them, read before anything is printed: a
 * request failing half-way leaves no half answer on stdout. 0, or the
 * failure's status (*all NULL, *n 0). *why: 0, or DNNQ_E_PERM (kept from
 * this uid) or DNNQ_E_PROTO (a dnnqd older than MODEL_STATS: the type is
 * unknown there) at index 0, which leave the rest of the answer standing. */
static int read_model_stats(struct dnnq_client *c, struct dnnq_model_stats **all, uint32_t *n,
                            int *why)
{
	struct dnnq_model_stats m;
	int rc;
	*all = NULL;
	*n = 0;
	*why = 0;
	while (!(rc = dnnq_model_stats(c, *n, &m))) {
		struct dnnq_model_stats *more = realloc(*all, (*n + 1) * sizeof m);
		if (!more) {
			rc = DNNQ_E_NOMEM;
			break;
		}
		*all = more;
		(*all)[(*n)++] = m;
	}
	if (rc == DNNQ_E_NOTFOUND)
		return 0;
	if ((rc == DNNQ_E_PERM || rc == DNNQ_E_PROTO) && !*n) {
		*why = rc;
		return 0;
	}
	free(*all);
	*all = NULL;
	*n = 0;
	return rc;
}

/* The n models' counters, or (why: DNNQ_E_PERM or DNNQ_E_PROTO) a note
 * that they are not shown. */
static void print_model_stats(const struct dnnq_model_stats *ms, uint32_t n, int why, bool json)
{
	if (json) {
		fputs(",\"model_stats\":", stdout);
		fputs(why ? "null" : "[", stdout);
		for (uint32_t i = 0; i < n; i++)
			print_model_stats_json(&ms[i], i == 0);
		fputs(why ? "" : "]", stdout);
		return;
	}
	if (why)
		printf("  per-model     %s\n", why == DNNQ_E_PERM
		       ? "not shown to this uid (access.public_stats)"
		       : "not available (a dnnqd without per-model stats)");
	if (n)
		printf("  %-20s %10s %8s %10s %10s %10s %6s %6s %10s %5s  %s\n", "model",
		       "requests", "failed", "samples", "avg us", "queue us", "depth", "batch",
		       "teamed", "team", "latency (run, us)");
	for (uint32_t i = 0; i < n; i++)
		print_model_stats_text(&ms[i]);
}

/* What status, metrics and models were asked: --json, and the models'
 * names given (models only). */
struct query {
	bool json;
	char **names;
	int nnames;
};

static int show_status(struct dnnq_client *c, const struct query *q)
{
	bool json = q->json;
	struct dnnq_stats s;
	struct dnnq_model_stats *ms;
	uint32_t n;
	int why, rc = dnnq_stats(c, &s);
	if (rc)
		return ctl_fail("stats", rc);
	if ((rc = read_model_stats(c, &ms, &n, &why)))
		return ctl_fail("model stats", rc);
	if (json)
		print_status_json(&s);
	else
		print_status_text(&s);
	print_model_stats(ms, n, why, json);
	if (json)
		printf("}\n");
	free(ms);
	return 0;
}

/* ---- metrics ------------------------------------------------------------ */

static void stats_to_wire(const struct dnnq_stats *s, struct dnnq_msg_stats *w)
{
	memset(w, 0, sizeof *w);
	w->uptime_ns = s->uptime_ns;
	w->requests = s->requests;
	w->failures = s->failures;
	w->bytes_copied = s->bytes_copied;
	w->sessions = s->sessions;
	w->models = s->models;
	w->workers = s->workers;
	w->pid = s->pid;
	w->scope = s->scope;
}

static void model_stats_to_wire(const struct dnnq_model_stats *m, struct dnnq_msg_model_stats *w)
{
	_Static_assert(DNNQ_LATENCY_BUCKETS == DNNQ_PROTO_HIST_BUCKETS, "histogram buckets");
	_Static_assert(sizeof w->name == sizeof m->name, "model names");
	memset(w, 0, sizeof *w);
	memcpy(w->name, m->name, sizeof w->name);
	w->model_id = m->model_id;
	w->generation = m->generation;
	w->n_models = m->models;
	w->requests = m->requests;
	w->failures = m->failures;
	w->samples = m->samples;
	w->run_ns = m->run_ns;
	memcpy(w->hist, m->latency, sizeof w->hist);
	w->queued = m->queued;
	w->queue_ns = m->queue_ns;
	w->runs = m->runs;
	w->run_items = m->run_items;
	w->expired = m->expired;
	w->waiting = m->waiting;
	memcpy(w->batches, m->batches, sizeof w->batches);
}

/* STATS, then MODEL_STATS for each model until NOTFOUND, written by the
 * formatter the daemon's textfile uses (shm/dnnq_metrics.h); no --json. */
static int show_metrics(struct dnnq_client *c, const struct query *q)
{
	struct dnnq_stats s;
	struct dnnq_msg_stats ws;
	struct dnnq_model_stats *m;
	struct dnnq_msg_model_stats *ms = NULL;
	const char *note = NULL;
	uint32_t n;
	int why, rc = dnnq_stats(c, &s);
	(void)q;
	if (rc)
		return ctl_fail("stats", rc);
	stats_to_wire(&s, &ws);
	if ((rc = read_model_stats(c, &m, &n, &why)))
		return ctl_fail("model stats", rc);
	if (why)
		note = why == DNNQ_E_PERM ? "daemon-wide figures, for root, dnnqd's user or"
		       " access.public_stats" : "a dnnqd without per-model stats";
	if (n && !(ms = calloc(n, sizeof *ms))) {
		free(m);
		return ctl_failf("model stats: out of memory");
	}
	for (uint32_t i = 0; i < n; i++)
		model_stats_to_wire(&m[i], &ms[i]);
	free(m);
	/* no models served: the families, without series */
	static const struct dnnq_msg_model_stats none;
	rc = dnnq_metrics_write(stdout, &ws, ms ? ms : note ? NULL : &none, n, note);
	free(ms);
	if (rc || fflush(stdout))
		return ctl_failf("metrics: writing: %s", strerror(errno));
	return 0;
}

/* ---- models ------------------------------------------------------------- */

static void print_io(const struct dnnq_io_info *io, const char *kind, bool json)
{
	if (json) {
		printf("{\"name\":");
		dnnq_json_string(stdout, io->name);
		printf(",\"dtype\":\"%s\",\"shape\":", dnnq_shm_dtype_name(io->dtype));
		ctl_print_shape(stdout, io->rank, io->dims, true, true);
		if (io->dtype == DNNQ_TYPE_U8)
			printf(",\"scale\":%.9g,\"zero_point\":%d", io->scale, io->zero_point);
		printf("}");
		return;
	}
	printf("  %-7s %-16s %-4s ", kind, io->name, dnnq_shm_dtype_name(io->dtype));
	ctl_print_shape(stdout, io->rank, io->dims, true, false);
	if (io->dtype == DNNQ_TYPE_U8)
		printf("  scale %.9g zero point %d", io->scale, io->zero_point);
	printf("\n");
}

static void print_model(const struct dnnq_model *m, bool json)
{
	if (json) {
		printf("{\"name\":");
		dnnq_json_string(stdout, dnnq_model_name_of(m));
		printf(",\"generation\":%u,\"max_batch\":%u", dnnq_model_generation(m),
		       dnnq_model_max_batch(m));
	} else {
		printf("%s  (generation %u, max batch %u)\n", dnnq_model_name_of(m),
		       dnnq_model_generation(m), dnnq_model_max_batch(m));
	}
	for (int kind = DNNQ_INPUT; kind <= DNNQ_OUTPUT; kind++) {
		uint32_t n = kind == DNNQ_INPUT ? dnnq_model_num_inputs(m) : dnnq_model_num_outputs(m);
		if (json)
			printf(",\"%s\":[", kind == DNNQ_INPUT ? "inputs" : "outputs");
		for (uint32_t i = 0; i < n; i++) {
			struct dnnq_io_info io;
			dnnq_model_io(m, (enum dnnq_io_kind)kind, i, &io);
			if (json && i)
				printf(",");
			print_io(&io, kind == DNNQ_INPUT ? "input" : "output", json);
		}
		if (json)
			printf("]");
	}
	if (json)
		printf("}");
}

/* Lists by index (or takes the names asked) and opens each by name for
 * its signature, all before printing: a failure half-way prints no half
 * list. */
static int list_models(struct dnnq_client *c, const struct query *q)
{
	bool json = q->json;
	char listed[64];
	struct dnnq_model **m = NULL;
	int n = q->nnames ? q->nnames : 1, got = 0, rc = 0;
	for (; got < n; got++) {
		struct dnnq_model **more;
		const char *name = q->nnames ? q->names[got] : listed;
		if (!q->nnames)
			n = dnnq_model_name(c, (uint32_t)got, listed, sizeof listed);
		if (n == DNNQ_E_NOTFOUND && got == 0)
			break;	/* serving nothing */
		if (n < 0) {
			rc = ctl_fail("models", n);
			goto out;
		}
		if (!(more = realloc(m, ((size_t)got + 1) * sizeof *m))) {
			rc = ctl_fail("models", DNNQ_E_NOMEM);
			goto out;
		}
		m = more;
		if ((rc = dnnq_model_open(c, name, &m[got]))) {
			/* an asked name not served: the library's text lists those
			 * served; a bad one's says what is wrong with it */
			rc = q->nnames || rc == DNNQ_E_NOTFOUND
			     ? ctl_failf_rc(rc, "%s", dnnq_last_error())
			     : ctl_failf_rc(rc, "model '%s': %s", name, dnnq_strerror(rc));
			goto out;
		}
	}
	if (json)
		printf("{\"models\":[");
	for (int i = 0; i < got; i++) {
		if (json && i)
			printf(",");
		print_model(m[i], json);
	}
	if (json)
		printf("]}\n");
	else if (!got)
		printf("no models served (dnnqd's config names them under models:, or dnnqd --model"
		       " NAME=FILE)\n");
out:
	for (int i = 0; i < got; i++)
		dnnq_model_close(m[i]);
	free(m);
	return rc;
}

/* status, metrics and models: --json (where it takes it), a small
 * session, one question. */
static int run_query(const struct ctl_global *g, int argc, char **argv, const char *cmd,
                     const char *help, bool takes_json, bool takes_names,
                     int (*query)(struct dnnq_client *c, const struct query *q))
{
	struct query q = { 0 };
	struct dnnq_client *c;
	int first = argc;
	int rc = parse_json_flag(cmd, help, argc, argv, takes_json ? &q.json : NULL,
	                         takes_names ? &first : NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	q.names = argv + first;
	q.nnames = argc - first;
	if ((rc = ctl_connect(g, CTL_PROBE_ARENA, 1, &c)))
		return rc;
	rc = query(c, &q);
	dnnq_close(c);
	return rc;
}

static int cmd_status(const struct ctl_global *g, int argc, char **argv)
{
	return run_query(g, argc, argv, "status ", status_help, true, false, show_status);
}

static int cmd_models(const struct ctl_global *g, int argc, char **argv)
{
	return run_query(g, argc, argv, "models ", models_help, true, true, list_models);
}

static int cmd_metrics(const struct ctl_global *g, int argc, char **argv)
{
	return run_query(g, argc, argv, "metrics ", metrics_help, false, false, show_metrics);
}

/* ---- reload ------------------------------------------------------------- */

#define RELOAD_TIMEOUT_MS 300000	/* loading big models takes a while */

static const char *change_name(uint32_t change)
{
	return change == DNNQ_RELOAD_ADDED ? "added"
	       : change == DNNQ_RELOAD_CHANGED ? "changed" : "removed";
}

static void print_reload_json(const struct dnnq_reload_result *r)
{
	printf("{\"ok\":%s,\"added\":%u,\"changed\":%u,\"removed\":%u,\"served\":%u,"
	       "\"reloads\":%u,\"error\":", r->status ? "false" : "true", r->added,
	       r->changed, r->removed, r->served, r->reloads);
	if (r->status) {
		printf("{\"code\":\"%s\",\"message\":", dnnq_status_name(r->status));
		dnnq_json_string(stdout, r->message);
		putchar('}');
	} else {
		fputs("null", stdout);
	}
	fputs(",\"models\":[", stdout);
	for (uint32_t i = 0; i < r->n_listed; i++) {
		printf("%s{\"name\":", i ? "," : "");
		dnnq_json_string(stdout, r->models[i].name);
		printf(",\"change\":\"%s\",\"generation\":%u}", change_name(r->models[i].change),
		       r->models[i].generation);
	}
	printf("]}\n");
}

static void print_reload_text(const struct dnnq_reload_result *r)
{
	if (r->status) {
		printf("reload failed: %s%s\n  nothing changed: %u model%s served\n", r->message,
		       cut_note(r->message, sizeof r->message), r->served, r->served == 1 ? "" : "s");
		return;
	}
	printf("reloaded: %u added, %u changed, %u removed; %u model%s served\n", r->added,
	       r->changed, r->removed, r->served, r->served == 1 ? "" : "s");
	for (uint32_t i = 0; i < r->n_listed; i++)
		printf("  %-8s %s (generation %u)\n", change_name(r->models[i].change),
		       r->models[i].name, r->models[i].generation);
	uint32_t total = r->added + r->changed + r->removed;
	if (total > r->n_listed)
		printf("  ... and %u more\n", total - r->n_listed);
	if (!total)
		printf("  nothing changed since the last reload (dnnqd also reloads by itself when"
		       " a file changes; 'dnnqctl models' shows the generations)\n");
}

static int cmd_reload(const struct ctl_global *g, int argc, char **argv)
{
	bool json;
	struct dnnq_client *c;
	int rc = parse_json_flag("reload ", reload_help, argc, argv, &json, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	/* the session with the short timeout of the other commands: a daemon
	 * that does not answer (stopped, hung) is found out in seconds */
	if ((rc = ctl_connect(g, CTL_PROBE_ARENA, 1, &c)))
		return rc;
	struct dnnq_reload_result r;
	memset(&r, 0, sizeof r);
	rc = dnnq_reload_wait(c, &r, RELOAD_TIMEOUT_MS);
	char why[512];
	snprintf(why, sizeof why, "%s", dnnq_last_error());
	dnnq_close(c);
	/* a failed reload is an answer, printed like a good one (a refusal
	 * counts no reload) */
	bool answered = rc == 0 || (r.status == rc && r.reloads > 0);
	if (!answered)
		return ctl_failf_rc(rc, "%s", why);
	if (json)
		print_reload_json(&r);
	else
		print_reload_text(&r);
	return rc ? CTL_EXIT_FAIL : 0;
}

/* ---- main --------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(const struct ctl_global *g, int argc, char **argv);
} commands[] = {
	{ "status", cmd_status },
	{ "metrics", cmd_metrics },
	{ "models", cmd_models },
	{ "reload", cmd_reload },
	{ "infer", ctl_cmd_infer },
	{ "bench", ctl_cmd_bench },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* A command's option before the command (dnnqctl --json status) is the
 * likeliest mistake: say where it goes. */
static int bad_global_option(int argc, char **argv, const struct option *opts)
{
	const char *arg = argv[optind - 1], *name = arg + strspn(arg, "-");
	bool typo = dnnq_nearest(name, strcspn(name, "="), &opts[0].name, 3, sizeof *opts);
	for (int i = optind; !optopt && !typo && i < argc; i++)
		for (size_t k = 0; k < NCOMMANDS; k++)
			if (!strcmp(argv[i], commands[k].name))
				return ctl_usage_error(NULL, "'%s' before the command: a command's "
				                       "options go after it (dnnqctl %s %s)", arg,
				                       commands[k].name, arg);
	return ctl_bad_option(NULL, argv, "+h", opts);
}

int main(int argc, char **argv)
{
	dnnq_json_failures_if_asked(argc, argv);
	dnnq_stdout_checked("dnnqctl");
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct ctl_global g = { 0 };
	int ch;
	opterr = 0;	/* bad_global_option names the option */
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': g.socket = optarg; break;
		case 'h': fputs(global_help, stdout); return 0;
		case 'V': printf("dnnqctl %s\n", DNNQ_VERSION); return 0;
		default:  return bad_global_option(argc, argv, opts);
		}
	}
	if (optind >= argc)
		return ctl_usage_error(NULL, "no command");
	const char *cmd = argv[optind];
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(cmd, commands[i].name))
			continue;
		argc -= optind;
		argv += optind;
		optind = 0;	/* getopt starts afresh on the command's argv */
		return commands[i].run(&g, argc, argv);
	}
	const char *near = dnnq_nearest(cmd, strlen(cmd), &commands[0].name, NCOMMANDS,
	                                sizeof commands[0]);
	if (near)
		return ctl_usage_error(NULL, "unknown command '%s': did you mean '%s'?", cmd, near);
	return ctl_usage_error(NULL, "unknown command '%s'", cmd);
}
