/*
 * Prometheus metrics (suite metrics): the text of shm/dnnq_metrics.h's
 * formatter checked against the exposition format's rules by a validator
 * written here, on its own (bad texts it must refuse, a model name that
 * needs escaping) and as `dnnqctl metrics` and dnnqd's textfile write it
 * for a real dnnqd ($DNNQ_DNNQD, $DNNQ_DNNQCTL) that served a known
 * number of requests; the textfile's config errors.
 *
 * The validator's rules (the text format, version 0.0.4): every line ends
 * in \n; a sample is `name{label="value",...} value [timestamp]` with a
 * metric name [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*,
 * label values quoted with only \\, \" and \n escaped, a value that is a
 * float, +Inf, -Inf or NaN; a family's # HELP and # TYPE come once each,
 * before its first sample, and its samples are not split by another
 * family's; no series twice; counters end in _total; a histogram's
 * buckets (per label set, in order) have rising le bounds, cumulative
 * counts, a le="+Inf" bucket equal to _count, and a _sum.
 *
 * The uid 65534 case needs root (setuid); it is skipped otherwise.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "conf/config.h"
#include "shm/dnnq_metrics.h"
#include "tests/daemon-fixture.h"
#include "tests/suites.h"
#include "tools/serve-fixture.h"

#define NOBODY 65534
#define WAIT_MS 60000

/* ---- the validator ------------------------------------------------------- */

#define EXPO_FAMILIES 64
#define EXPO_GROUPS 64
#define EXPO_SERIES 512
#define EXPO_KEY 320

struct expo_family {
	char name[128];
	char type[16];                  /* "" until its # TYPE */
	bool help, sampled, closed;
};

/* One histogram series: a family and its labels but le. */
struct expo_group {
	char key[EXPO_KEY];
	double last_le, last_count, inf, count;
	bool has_inf, has_count, has_sum;
	unsigned buckets;
};

struct expo {
	struct expo_family f[EXPO_FAMILIES];
	unsigned nf;
	struct expo_group g[EXPO_GROUPS];
	unsigned ng;
	char series[EXPO_SERIES][EXPO_KEY];
	unsigned nseries;
	int current;                    /* the family of the last sample, -1 */
	unsigned line;
	char err[512];
};

__attribute__((format(printf, 2, 3)))
static int expo_fail(struct expo *x, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(x->err, sizeof x->err, "line %u: ", x->line);
	va_start(ap, fmt);
	vsnprintf(x->err + n, sizeof x->err - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* The length of the name at p: a metric name (colons allowed) or a label
 * name; 0 when p does not start one. */
static size_t name_len(const char *p, bool metric)
{
	static const char first[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
	size_t n = 0;
	if (!*p || !(strchr(first, *p) || (metric && *p == ':')))
		return 0;
	while (p[n] && (strchr(first, p[n]) || (p[n] >= '0' && p[n] <= '9') ||
	                (metric && p[n] == ':')))
		n++;
	return n;
}

/* A sample value or le bound: a float, +Inf, -Inf or NaN, all of s. */
static bool parse_value(const char *s, size_t len, double *v)
{
	char buf[64];
	if (!len || len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!strcmp(buf, "+Inf") || !strcmp(buf, "-Inf") || !strcmp(buf, "NaN")) {
		*v = buf[0] == 'N' ? NAN : buf[0] == '-' ? -INFINITY : INFINITY;
		return true;
	}
	if (strspn(buf, "0123456789.eE+-") != len)
		return false;
	char *end;
	errno = 0;
	*v = strtod(buf, &end);
	return !errno && *end == '\0';
}

static int family_find(const struct expo *x, const char *name, size_t len)
{
	for (unsigned i = 0; i < x->nf; i++)
		if (strlen(x->f[i].name) == len && !memcmp(x->f[i].name, name, len))
			return (int)i;
	return -1;
}

/* # HELP NAME text / # TYPE NAME type; other comments are free. */
static int expo_comment(struct expo *x, const char *p)
{
	bool help = !strncmp(p, "# HELP ", 7), type = !strncmp(p, "# TYPE ", 7);
	if (!help && !type)
		return 0;
	p += 7;
	size_t n = name_len(p, true);
	if (!n || (p[n] != ' ' && p[n] != '\0'))
		return expo_fail(x, "# %s: not a metric name", help ? "HELP" : "TYPE");
	int i = family_find(x, p, n);
	if (i < 0) {
		if (x->nf == EXPO_FAMILIES || n >= sizeof x->f[0].name)
			return expo_fail(x, "too many families, or a long name");
		i = (int)x->nf++;
		memcpy(x->f[i].name, p, n);
	}
	struct expo_family *f = &x->f[i];
	if (f->sampled)
		return expo_fail(x, "%s: # %s after its samples", f->name, help ? "HELP" : "TYPE");
	if (help ? f->help : f->type[0] != '\0')
		return expo_fail(x, "%s: a second # %s", f->name, help ? "HELP" : "TYPE");
	if (help) {
		f->help = true;
		return 0;
	}
	static const char *const types[] = { "counter", "gauge", "histogram", "summary",
	                                     "untyped" };
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
		if (!strcmp(p + n + 1, types[t]))
			return snprintf(f->type, sizeof f->type, "%s", types[t]), 0;
	return expo_fail(x, "%s: type '%s'", f->name, p + n + 1);
}

/* The family a sample name belongs to: its own, or a histogram's
 * _bucket, _sum or _count; *suffix says which ("" for its own). */
static int sample_family(struct expo *x, const char *name, size_t n, const char **suffix)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };
	int i = family_find(x, name, n);
	*suffix = "";
	if (i >= 0 && x->f[i].type[0] && strcmp(x->f[i].type, "histogram") &&
	    strcmp(x->f[i].type, "summary"))
		return i;
	for (size_t s = 0; s < sizeof sfx / sizeof sfx[0]; s++) {
		size_t k = strlen(sfx[s]);
		if (n > k && !memcmp(name + n - k, sfx[s], k) &&
		    (i = family_find(x, name, n - k)) >= 0 && !strcmp(x->f[i].type, "histogram")) {
			*suffix = sfx[s];
			return i;
		}
	}
	return expo_fail(x, "%.*s: a sample before its family's # TYPE", (int)n, name);
}

/* The labels at p ('{' consumed): checked, the ones but le appended to
 * key, le's value into le (NULL when absent). Returns the end ('}' + 1). */
static const char *expo_labels(struct expo *x, const char *p, char *key, size_t klen,
                               const char **le, size_t *le_len)
{
	*le = NULL;
	while (*p != '}') {
		size_t n = name_len(p, false);
		if (!n || p[n] != '=' || p[n + 1] != '"')
			return expo_fail(x, "a bad label name or no =\"..."), NULL;
		const char *v = p + n + 2, *q = v;
		while (*q && *q != '"') {
			if (*q == '\\' && !strchr("\\\"n", q[1]))
				return expo_fail(x, "label %.*s: a bad escape \\%c", (int)n, p, q[1]), NULL;
			q += *q == '\\' ? 2 : 1;
		}
		if (*q != '"')
			return expo_fail(x, "label %.*s: no closing quote", (int)n, p), NULL;
		if (n == 2 && !memcmp(p, "le", 2)) {
			if (*le)
				return expo_fail(x, "le twice"), NULL;
			*le = v;
			*le_len = (size_t)(q - v);
		} else {
			size_t k = strlen(key);
			snprintf(key + k, klen - k, "%.*s,", (int)(q + 1 - p), p);
		}
		p = q + 1;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return expo_fail(x, "labels: want , or } after a value"), NULL;
	}
	return p + 1;
}

static struct expo_group *group_get(struct expo *x, const char *key)
{
	for (unsigned i = 0; i < x->ng; i++)
		if (!strcmp(x->g[i].key, key))
			return &x->g[i];
	if (x->ng == EXPO_GROUPS)
		return NULL;
	struct expo_group *g = &x->g[x->ng++];
	snprintf(g->key, sizeof g->key, "%s", key);
	g->last_le = -INFINITY;
	return g;
}

/* A histogram's sample into its group's running checks. */
static int expo_histogram(struct expo *x, const char *family, const char *suffix,
                          const char *labels, const char *le, size_t le_len, double v)
{
	char key[EXPO_KEY];
	double bound;
	snprintf(key, sizeof key, "%s{%s}", family, labels);
	struct expo_group *g = group_get(x, key);
	if (!g)
		return expo_fail(x, "too many histogram series");
	if (strcmp(suffix, "_bucket")) {
		if (le)
			return expo_fail(x, "%s%s: an le label", family, suffix);
		*(suffix[1] == 's' ? &g->has_sum : &g->has_count) = true;
		if (suffix[1] == 'c')
			g->count = v;
		return 0;
	}
	if (!le || !parse_value(le, le_len, &bound) || isnan(bound))
		return expo_fail(x, "%s_bucket: no le, or not a number", family);
	if (g->has_inf || !(bound > g->last_le))
		return expo_fail(x, "%s: le=\"%.*s\" does not rise", key, (int)le_len, le);
	if (v < g->last_count)
		return expo_fail(x, "%s: le=\"%.*s\": %g after %g: not cumulative", key, (int)le_len, le,
		                 v, g->last_count);
	g->last_le = bound;
	g->last_count = v;
	g->buckets++;
	if (isinf(bound)) {
		g->has_inf = true;
		g->inf = v;
	}
	return 0;
}

static int expo_sample(struct expo *x, const char *p)
{
	size_t n = name_len(p, true);
	char labels[EXPO_KEY] = "", series[EXPO_KEY];
	const char *suffix, *le = NULL;
	size_t le_len = 0;
	double v;
	if (!n)
		return expo_fail(x, "not a metric name: %.40s", p);
	int i = sample_family(x, p, n, &suffix);
	if (i < 0)
		return i;
	struct expo_family *f = &x->f[i];
	if (!f->help)
		return expo_fail(x, "%s: a sample before its # HELP", f->name);
	if (x->current != i) {
		if (f->closed)
			return expo_fail(x, "%s: samples split by another family's", f->name);
		if (x->current >= 0)
			x->f[x->current].closed = true;
		x->current = i;
	}
	f->sampled = true;
	if (!strcmp(f->type, "counter") && (n < 6 || memcmp(p + n - 6, "_total", 6)))
		return expo_fail(x, "counter %s: the name does not end in _total", f->name);
	const char *q = p + n;
	if (*q == '{' && !(q = expo_labels(x, q + 1, labels, sizeof labels, &le, &le_len)))
		return -1;
	snprintf(series, sizeof series, "%.*s{%s%s%.*s}", (int)n, p, labels, le ? "le=" : "",
	         (int)le_len, le ? le : "");
	for (unsigned s = 0; s < x->nseries; s++)
		if (!strcmp(x->series[s], series))
			return expo_fail(x, "%s: the series twice", series);
	if (x->nseries < EXPO_SERIES)
		snprintf(x->series[x->nseries++], EXPO_KEY, "%s", series);
	if (*q != ' ')
		return expo_fail(x, "%.*s: want a space before the value", (int)n, p);
	q++;
	size_t vlen = strcspn(q, " ");
	if (!parse_value(q, vlen, &v))
		return expo_fail(x, "%.*s: value '%.*s'", (int)n, p, (int)vlen, q);
	if (q[vlen] && strspn(q + vlen + 1, "-0123456789") != strlen(q + vlen + 1))
		return expo_fail(x, "%.*s: not a timestamp after the value", (int)n, p);
	if (!strcmp(f->type, "histogram"))
		return expo_histogram(x, f->name, suffix, labels, le, le_len, v);
	return le ? expo_fail(x, "%s: an le label outside a histogram", f->name) : 0;
}

/* 0 when text keeps every rule; else -1 with x->err. */
static int expo_check(const char *text, struct expo *x)
{
	memset(x, 0, sizeof *x);
	x->current = -1;
	size_t len = strlen(text);
	if (!len || text[len - 1] != '\n')
		return expo_fail(x, "the text does not end in a newline");
	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		char line[1024];
		size_t n = strcspn(p, "\n");
		x->line++;
		if (n >= sizeof line)
			return expo_fail(x, "a line of %zu bytes", n);
		memcpy(line, p, n);
		line[n] = '\0';
		if (strchr(line, '\r'))
			return expo_fail(x, "a carriage return");
		int rc = !n ? 0 : line[0] == '#' ? expo_comment(x, line) : expo_sample(x, line);
		if (rc)
			return rc;
	}
	for (unsigned i = 0; i < x->ng; i++) {
		const struct expo_group *g = &x->g[i];
		if (!g->has_inf || !g->has_count || !g->has_sum)
			return expo_fail(x, "%s: no +Inf bucket, _count or _sum", g->key);
		if (g->inf != g->count)
			return expo_fail(x, "%s: +Inf bucket %g, _count %g", g->key, g->inf, g->count);
	}
	return 0;
}

static void assert_valid(const char *text)
{
	struct expo *x = malloc(sizeof *x);
	ck_assert_ptr_nonnull(x);
	int rc = expo_check(text, x);
	ck_assert_msg(rc == 0, "not the exposition format: %s\n%s", x->err, text);
	free(x);
}

/* The value of the sample line that starts with `series ` (exactly). */
static double value_of(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	ck_assert_msg(0, "no %s in:\n%s", series, text);
	return 0;
}

/* ---- the validator refuses what it must ---------------------------------- */

#define FAM(name, type) "# HELP " name " h\n# TYPE " name " " type "\n"
#define HIST(b1, b2, inf, count) FAM("t_seconds", "histogram") \
	"t_seconds_bucket{le=\"0.1\"} " b1 "\nt_seconds_bucket{le=\"1\"} " b2 "\n" \
	"t_seconds_bucket{le=\"+Inf\"} " inf "\nt_seconds_sum 0.5\nt_seconds_count " count "\n"

START_TEST(metrics_validator_refuses)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "a_total 1\n", "before its family" },
		{ "# TYPE a_total counter\na_total 1\n", "# HELP" },
		{ FAM("a_total", "counter") "# TYPE a_total counter\n", "second # TYPE" },
		{ FAM("a_total", "counter") "a_total 1\n# HELP a_total again\n", "after its samples" },
		{ FAM("a", "counter") "a 1\n", "_total" },
		{ FAM("1a", "gauge") "1a 1\n", "metric name" },
		{ FAM("a", "gauge") "a{1x=\"v\"} 1\n", "label name" },
		{ FAM("a", "gauge") "a{m=\"x\\q\"} 1\n", "escape" },
		{ FAM("a", "gauge") "a{m=\"x} 1\n", "quote" },
		{ FAM("a", "gauge") "a one\n", "value" },
		{ FAM("a", "gauge") "a{m=\"x\"} 1\na{m=\"x\"} 2\n", "twice" },
		{ FAM("a", "gauge") FAM("b", "gauge") "a 1\nb 1\na{m=\"y\"} 1\n", "split" },
		{ FAM("a", "gauge") "a 1", "newline" },
		{ HIST("2", "1", "2", "2"), "cumulative" },
		{ HIST("1", "2", "3", "2"), "+Inf bucket" },
		{ FAM("t_seconds", "histogram") "t_seconds_bucket{le=\"1\"} 1\n"
		  "t_seconds_bucket{le=\"0.1\"} 1\n", "does not rise" },
		{ FAM("t_seconds", "histogram") "t_seconds_bucket{le=\"1\"} 1\nt_seconds_count 1\n"
		  "t_seconds_sum 1\n", "no +Inf" },
	};
	struct expo *x = malloc(sizeof *x);
	ck_assert_ptr_nonnull(x);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(expo_check(bad[i].text, x) != 0, "accepted: %s", bad[i].text);
		ck_assert_msg(strstr(x->err, bad[i].why), "'%s' for: %s (want '%s')", x->err,
		              bad[i].text, bad[i].why);
	}
	ck_assert_msg(expo_check(HIST("1", "2", "2", "2") FAM("c_total", "counter")
	                         "c_total{m=\"a\\\"b\\\\c\\n\"} 1 1700000000000\n", x) == 0,
	              "%s", x->err);
	free(x);
}
END_TEST

/* The formatter alone: a name that needs escaping, the scope, buckets. */
START_TEST(metrics_format_escapes)
{
	struct dnnq_msg_stats st = { .uptime_ns = 1500000000, .requests = 5, .workers = 2,
	                             .models = 2, .scope = DNNQ_STATS_SCOPE_DAEMON };
	struct dnnq_msg_model_stats ms[2] = { { .generation = 1, .requests = 5, .samples = 9,
	                                        .run_ns = 2000001, .hist = { 1, 0, 3, [11] = 1 } },
	                                      { .generation = 3 } };
	snprintf(ms[0].name, sizeof ms[0].name, "we\"ird\\na\nme");
	snprintf(ms[1].name, sizeof ms[1].name, "plain");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(dnnq_metrics_write(f, &st, ms, 2, NULL), 0);
	ck_assert_int_eq(fclose(f), 0);
	assert_valid(text);
	const char *m = "{model=\"we\\\"ird\\\\na\\nme\"";
	char series[160];
	snprintf(series, sizeof series, "dnnq_model_requests_total%s}", m);
	ck_assert(value_of(text, series) == 5);
	snprintf(series, sizeof series, "dnnq_request_duration_seconds_bucket%s,le=\"0.00025\"}", m);
	ck_assert(value_of(text, series) == 4);
	snprintf(series, sizeof series, "dnnq_request_duration_seconds_bucket%s,le=\"+Inf\"}", m);
	ck_assert(value_of(text, series) == 5);
	snprintf(series, sizeof series, "dnnq_request_duration_seconds_sum%s}", m);
	ck_assert(value_of(text, series) == 0.002000001);
	ck_assert(value_of(text, "dnnq_model_generation{model=\"plain\"}") == 3);
	ck_assert(value_of(text, "dnnq_uptime_seconds") == 1.5);
	ck_assert(strstr(text, "scope=\"daemon\""));
	free(text);

	/* scope uid, per-model figures refused: a note, no per-model family */
	st.scope = DNNQ_STATS_SCOPE_UID;
	text = NULL;
	f = open_memstream(&text, &len);
	ck_assert_int_eq(dnnq_metrics_write(f, &st, NULL, 0, "not for you"), 0);
	ck_assert_int_eq(fclose(f), 0);
	assert_valid(text);
	ck_assert(value_of(text, "dnnq_requests_total{scope=\"uid\"}") == 5);
	ck_assert_msg(strstr(text, "not for you") && !strstr(text, "dnnq_model_"), "%s", text);
	free(text);
}
END_TEST

/* ---- a real dnnqd ------------------------------------------------------- */

/* `dnnqctl --socket S metrics` as uid: its output, which must be exit 0. */
static void ctl_metrics(const struct fixture_daemon *d, long uid, char *out, size_t len)
{
	const char *bin = fixture_binary("DNNQ_DNNQCTL", "dnnqctl");
	ck_assert_msg(bin, "no dnnqctl: set DNNQ_DNNQCTL");
	const char *argv[] = { bin, "--socket", d->socket, "metrics", NULL };
	int st = test_run_as(argv, uid, out, len);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "dnnqctl metrics: wait status %#x: %s",
	              st, out);
}

/* n requests of batch b on relu64. */
static void serve_some(const char *socket, int n, uint32_t b)
{
	struct dnnq_client *c;
	struct dnnq_model *m;
	struct dnnq_connect_opts o = { .slots = 2, .arena_bytes = 1 << 20, .timeout_ms = WAIT_MS };
	ck_assert_msg(dnnq_connect(socket, &o, &c) == 0, "%s", dnnq_last_error());
	ck_assert_int_eq(dnnq_model_open(c, "relu64", &m), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(test_infer_zeros(c, m, b, WAIT_MS), 0);
	dnnq_model_close(m);
	dnnq_close(c);
}

/* What the daemon served: n requests of batch b on relu64, none failed. */
static void assert_counts(const char *text, int n, uint32_t b)
{
	assert_valid(text);
	ck_assert_msg(strstr(text, "scope=\"daemon\""), "%s", text);
	ck_assert(value_of(text, "dnnq_models") == 1);
	ck_assert(value_of(text, "dnnq_requests_total{scope=\"daemon\"}") == n);
	ck_assert(value_of(text, "dnnq_request_failures_total{scope=\"daemon\"}") == 0);
	ck_assert(value_of(text, "dnnq_model_requests_total{model=\"relu64\"}") == n);
	ck_assert(value_of(text, "dnnq_model_failures_total{model=\"relu64\"}") == 0);
	ck_assert(value_of(text, "dnnq_model_samples_total{model=\"relu64\"}") == n * b);
	ck_assert(value_of(text, "dnnq_model_generation{model=\"relu64\"}") == 1);
	ck_assert(value_of(text, "dnnq_request_duration_seconds_count{model=\"relu64\"}") == n);
	ck_assert(value_of(text, "dnnq_request_duration_seconds_bucket{model=\"relu64\","
	                         "le=\"+Inf\"}") == n);
	ck_assert(value_of(text, "dnnq_request_duration_seconds_sum{model=\"relu64\"}") > 0);
	ck_assert(value_of(text, "dnnq_workers") >= 1);
}

START_TEST(metrics_ctl)
{
	enum { N = 6, B = 2 };
	struct fixture_daemon d;
	char out[16384];
	const char *extra[] = { "--allow-uid", "65534", NULL };
	test_daemon_start(&d, 1u << FIXTURE_RELU64, extra);
	serve_some(d.socket, N, B);
	ctl_metrics(&d, -1, out, sizeof out);
	assert_counts(out, N, B);
	/* another uid: its own sessions (none but dnnqctl's, no requests), no
	 * per-model series, and the text says so */
	if (geteuid() == 0) {
		char parent[sizeof d.dir];
		snprintf(parent, sizeof parent, "%s", d.dir);
		*strrchr(parent, '/') = 0;
		ck_assert_int_eq(chmod(d.dir, 0755), 0);
		ck_assert_int_eq(chmod(parent, 0755), 0);
		ck_assert_int_eq(chmod(d.socket, 0666), 0);
		ctl_metrics(&d, NOBODY, out, sizeof out);
		assert_valid(out);
		ck_assert(value_of(out, "dnnq_requests_total{scope=\"uid\"}") == 0);
		ck_assert(value_of(out, "dnnq_sessions{scope=\"uid\"}") == 1);
		ck_assert_msg(strstr(out, "per-model series not shown") && !strstr(out, "relu64"),
		              "%s", out);
	} else {
		printf("metrics: uid %d: skipped (not root)\n", NOBODY);
	}
	test_daemon_stop(&d);
}
END_TEST

/* The names in dir, but `keep`, into names (comma-separated). */
static void others_in(const char *dir, const char *keep, char *names, size_t len)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	ck_assert_ptr_nonnull(dp);
	names[0] = '\0';
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, keep))
			n += (size_t)snprintf(names + n, n < len ? len - n : 0, "%s,", e->d_name);
	closedir(dp);
}

static void read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
}

/* A fresh directory dir with dnnqd.yaml naming dir/dnnq.prom (in prom)
 * as the textfile, rewritten every second, made a directory first when
 * `blocked`; dnnqd started on it. */
static void start_textfile(struct fixture_daemon *d, bool blocked, char *dir, size_t dlen,
                           char *prom, size_t plen)
{
	char yaml[320];
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	snprintf(dir, dlen, "%s/metrics-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(yaml, sizeof yaml, "%s/dnnqd.yaml", dir);
	snprintf(prom, plen, "%s/dnnq.prom", dir);
	FILE *f = fopen(yaml, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "metrics:\n  textfile: %s\n  interval: 1\n", prom);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert(!blocked || mkdir(prom, 0755) == 0);
	const char *extra[] = { "--config", yaml, NULL };
	test_daemon_start(d, 1u << FIXTURE_RELU64, extra);
}

/* How many times `part` is in s. */
static unsigned count_of(const char *s, const char *part)
{
	unsigned n = 0;
	for (const char *p = strstr(s, part); p; p = strstr(p + 1, part))
		n++;
	return n;
}

START_TEST(metrics_textfile)
{
	enum { N = 5, B = 3 };
	struct fixture_daemon d;
	char dir[256], prom[320], keep[320], text[16384], others[512];
	start_textfile(&d, false, dir, sizeof dir, prom, sizeof prom);
	snprintf(keep, sizeof keep, "%s/operator.prom", dir);
	FILE *f = fopen(keep, "w");
	ck_assert_ptr_nonnull(f);
	fputs("# the operator's own file\n", f);
	ck_assert_int_eq(fclose(f), 0);
	serve_some(d.socket, N, B);
	/* rewritten every second: wait (bounded) for one written after the
	 * requests */
	char want[96];
	snprintf(want, sizeof want, "dnnq_model_requests_total{model=\"relu64\"} %d\n", N);
	double until = fixture_now_s() + WAIT_MS / 1000;
	do {
		read_file(prom, text, sizeof text);
		if (strstr(text, want))
			break;
		fixture_sleep_ms(50);
	} while (fixture_now_s() < until);
	ck_assert_msg(strstr(text, want), "%s: no '%s' in:\n%s", prom, want, text);
	assert_counts(text, N, B);
	struct stat st;
	ck_assert_int_eq(stat(prom, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	test_daemon_stop(&d);
	/* stopped: the writer is done; nothing but the file and the
	 * operator's was left, and the operator's is as it was */
	others_in(dir, "dnnq.prom", others, sizeof others);
	ck_assert_str_eq(others, "dnnqd.yaml,operator.prom,");
	read_file(keep, text, sizeof text);
	ck_assert_str_eq(text, "# the operator's own file\n");
	ck_assert_int_eq(stat(prom, &st), 0);
}
END_TEST

/* A textfile that cannot be written (its path is a directory: root
 * writes anywhere, but no rename replaces a directory by a file): one
 * warning, however many tries, requests still served, nothing left
 * behind. */
START_TEST(metrics_textfile_fails)
{
	struct fixture_daemon d;
	char dir[256], prom[320], log[8192], others[512];
	start_textfile(&d, true, dir, sizeof dir, prom, sizeof prom);
	double until = fixture_now_s() + WAIT_MS / 1000;
	do {
		fixture_daemon_log(&d, log, sizeof log);
		if (strstr(log, "rename: Is a directory"))
			break;
		fixture_sleep_ms(50);
	} while (fixture_now_s() < until);
	ck_assert_msg(strstr(log, "rename: Is a directory"), "no warning in: %s", log);
	/* a few more intervals of failing writes, and requests meanwhile */
	for (int i = 0; i < 3; i++) {
		serve_some(d.socket, 2, 1);
		fixture_sleep_ms(1000);
	}
	fixture_daemon_log(&d, log, sizeof log);
	ck_assert_msg(count_of(log, "rename: Is a directory") == 1, "logged more than once: %s", log);
	test_daemon_stop(&d);
	others_in(dir, "dnnq.prom", others, sizeof others);
	ck_assert_str_eq(others, "dnnqd.yaml,");
}
END_TEST

/* Each bad metrics section: the diag names FILE:LINE:COL and the key. */
START_TEST(metrics_config_errors)
{
	static const struct {
		const char *yaml, *want;
	} bad[] = {
		{ "metrics:\n  textfile: relative/dnnq.prom\n",
		  "m.yaml:2:13: metrics.textfile: 'relative/dnnq.prom': the textfile path must be"
		  " absolute" },
		{ "metrics:\n  textfile: /nonexistent-dnnq-dir/dnnq.prom\n",
		  "m.yaml:2:13: metrics.textfile: the directory '/nonexistent-dnnq-dir': No such file" },
		{ "metrics:\n  textfile: /tmp/\n", "m.yaml:2:13: metrics.textfile: '/tmp/': a directory" },
		{ "metrics:\n  textfile: /etc/passwd/x.prom\n", "is not a directory" },
		{ "metrics:\n  interval: 0\n", "m.yaml:2:13: metrics.interval: '0' is out of range"
		  " (1..3600)" },
		{ "metrics:\n  textfil: /tmp/x.prom\n", "m.yaml:2:3: metrics.textfil: unknown key: did"
		  " you mean 'textfile'? (expected textfile, interval)" },
		{ "metrics: /tmp/x.prom\n", "m.yaml:1:10: metrics: expected a mapping" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct dnnq_config c;
		struct dnnq_diag diag = { "" };
		int rc = dnnq_config_parse(bad[i].yaml, strlen(bad[i].yaml), "m.yaml", &c, &diag);
		ck_assert_msg(rc < 0, "accepted: %s", bad[i].yaml);
		ck_assert_msg(strstr(diag.msg, bad[i].want), "'%s' for %s (want '%s')", diag.msg,
		              bad[i].yaml, bad[i].want);
	}
	/* and a good one, with the default interval */
	struct dnnq_config c;
	struct dnnq_diag diag = { "" };
	const char *good = "metrics:\n  textfile: /tmp/dnnq.prom\n";
	ck_assert_msg(dnnq_config_parse(good, strlen(good), "m.yaml", &c, &diag) == 0, "%s", diag.msg);
	ck_assert_str_eq(c.metrics.textfile, "/tmp/dnnq.prom");
	ck_assert_uint_eq(c.metrics.interval_s, 5);
	dnnq_config_free(&c);
	dnnq_config_default(&c);
	ck_assert_str_eq(c.metrics.textfile, "");
	ck_assert_uint_eq(c.metrics.interval_s, 5);
	dnnq_config_free(&c);
}
END_TEST

Suite *suite_metrics(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");
	tcase_add_unchecked_fixture(tc, fixture_tmp_begin, fixture_tmp_end);
	tcase_add_test(tc, metrics_validator_refuses);
	tcase_add_test(tc, metrics_format_escapes);
	tcase_add_test(tc, metrics_config_errors);
	tcase_add_test(tc, metrics_ctl);
	tcase_add_test(tc, metrics_textfile);
	tcase_add_test(tc, metrics_textfile_fails);
	suite_add_tcase(s, tc);
	return s;
}
