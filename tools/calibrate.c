/*
 * dnnq-calibrate: post-training calibration from the command line.
 *
 *   dnnq-calibrate stats DATA.npy [options]   range, scale, zero point and
 *                                             SQNR one method gives the data
 *   dnnq-calibrate table [options]            SQNR of every method on
 *                                             generated Gaussian, Laplace and
 *                                             uniform data at 2, 4 and 8 bits
 *
 * Both histogram the data (calibration/hist.h), choose the range
 * (calibration/range.h), then quantize and dequantize the actual values with
 * the engine and measure dnnq_sqnr_db() over the finite ones. --json prints
 * one object; docs/calibration.md lists its keys. Exit status: 0, 1 when the
 * data cannot be read or calibrated, 2 for a usage error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/npy.h"
#include "calibration/range.h"
#include "client/dnnq.h"
#include "engine/f32.h"
#include "tests/rng.h"

#define FILE_LIMIT ((size_t)1 << 30)

struct opts {
	struct dnnq_calib_opts c;
	uint32_t bins;
	long samples;
	uint64_t seed;
	int json;
	const char *given[4];   /* the options only one command reads, given (NULL: not) */
	bool pct_given;
};

/* given[]'s slots: stats reads --method and --bits, table --samples and --seed */
enum { G_METHOD, G_BITS, G_SAMPLES, G_SEED };

struct result {
	float min, max;
	struct dnnq_qparams qp;
	double sqnr;
};

static const char *argv0 = "dnnq-calibrate";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s stats DATA.npy [--method M] [--bits B] [--symmetric] [--signed]\n"
		"                      [--percentile P] [--bins N] [--json]\n"
		"       %s table [--samples N] [--seed S] [--symmetric] [--signed]\n"
		"                      [--percentile P] [--bins N] [--json]\n"
		"Chooses a quantization range for the values of a .npy array (f32, u8, i8, i32)\n"
		"and prints it with the scale, zero point and SQNR of the data quantized that\n"
		"way; `table` prints the SQNR of every method on generated data.\n"
		"  --method M      minmax, percentile, l1, l2 (default), l2approx, kl\n"
		"  --bits B        precision, 1..16 (default 8)\n"
		"  --symmetric     symmetric range [-a, a], zero point 0 (signed) or 2^(B-1)\n"
		"  --signed        signed integers (default unsigned)\n"
		"  --percentile P  for --method percentile, 50..100 (default 99.99)\n"
		"  --bins N        histogram bins (default 2048; not for minmax)\n"
		"  --samples N     table: values per distribution (default 1000000)\n"
		"  --seed S        table: generator seed (default 1)\n"
		"  --json          one JSON object\n"
		"  -h, --help      this text\n"
		"  --version       dnnq's version\n",
		argv0, argv0);
}

static int bad_option(const char *name, const char *value, const char *rule)
{
	return dnnq_usage_error(argv0, "--%s %s: %s", name, value, rule);
}

static int parse_option(int c, const char *arg, struct opts *o)
{
	uint64_t v;
	switch (c) {
	case 'm':
		o->given[G_METHOD] = "--method";
		if (dnnq_calib_method_parse(arg, &o->c.method))
			return bad_option("method", arg, "one of minmax, percentile, l1, l2, l2approx, kl");
		return 0;
	case 'b':
		o->given[G_BITS] = "--bits";
		if (dnnq_usage_digits(argv0, "--bits", arg, 1, DNNQ_MAX_PRECISION, &v))
			return 2;
		o->c.spec.precision = (uint8_t)v;
		return 0;
	case 'p':
		o->pct_given = true;
		return dnnq_usage_real(argv0, "--percentile", arg, 50, 100, false, &o->c.percentile);
	case 'n':
		if (dnnq_usage_digits(argv0, "--bins", arg, DNNQ_HIST_MIN_BINS, DNNQ_HIST_MAX_BINS, &v))
			return 2;
		o->bins = (uint32_t)v;
		return 0;
	case 'N':
		o->given[G_SAMPLES] = "--samples";
		if (dnnq_usage_digits(argv0, "--samples", arg, 1, 100000000, &v))
			return 2;
		o->samples = (long)v;
		return 0;
	case 'S':
		o->given[G_SEED] = "--seed";
		return dnnq_usage_digits(argv0, "--seed", arg, 0, UINT64_MAX, &o->seed);
	case 'y': o->c.spec.scheme = DNNQ_QSCHEME_SYMMETRIC; return 0;
	case 'g': o->c.spec.is_signed = true; return 0;
	case 'j': o->json = 1; dnnq_json_failures(); return 0;
	case 'h': usage(stdout); return -1;
	}
	return 0;
}

/* Options after the command word (argv[1]); returns the index of the first
 * operand, or -1 - exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "bits", required_argument, NULL, 'b' },
		{ "symmetric", no_argument, NULL, 'y' },
		{ "signed", no_argument, NULL, 'g' },
		{ "percentile", required_argument, NULL, 'p' },
		{ "bins", required_argument, NULL, 'n' },
		{ "samples", required_argument, NULL, 'N' },
		{ "seed", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, moved = 0;
	optind = 2;
	opterr = 0;	/* the line below names the option, with the one meant */
	while ((c = dnnq_getopt_long(argc, argv, "h", lopts, &moved)) != -1) {
		if (c == '?' || c == ':') {
			char why[256];
			dnnq_getopt_error(argv, "h", lopts, why, sizeof why);
			fprintf(stderr, "%s: %s (try --help)\n", argv0, why);
			return -1 - 2;
		}
		int rc = parse_option(c, optarg, o);
		if (rc)
			return rc < 0 ? -1 : -1 - rc;
	}
	return optind;
}

/* ---- one calibration ---- */

static int calibrate(const float *x, size_t n, const struct dnnq_hist *h,
                     const struct dnnq_calib_opts *c, struct result *r, struct dnnq_diag *d)
{
	int rc = dnnq_calib_qparams(h, c, &r->qp, &r->min, &r->max, d);
	if (rc)
		return rc;
	int32_t *q = malloc((n ? n : 1) * sizeof *q);
	float *y = malloc((n ? n : 1) * sizeof *y);
	enum dnnq_isa isa = dnnq_isa_best();
	if (!q || !y)
		rc = dnnq_diag_set(d, DNNQ_E_NOMEM, "%zu values: out of memory", n);
	if (!rc)
		rc = dnnq_quantize(isa, x, q, DNNQ_DTYPE_S32, n, &r->qp);
	if (!rc)
		rc = dnnq_dequantize(isa, q, DNNQ_DTYPE_S32, y, n, &r->qp);
	if (!rc)
		r->sqnr = dnnq_sqnr_db(x, y, n);
	else if (!d->msg[0])
		dnnq_diag_set(d, rc, "quantize: %s", dnnq_strerror(rc));
	free(q);
	free(y);
	return rc;
}

/* The finite values of x, compacted in place; their number. */
static size_t keep_finite(float *x, size_t n)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]))
			x[m++] = x[i];
	return m;
}

static void spec_text(const struct opts *o, char *s, size_t n)
{
	snprintf(s, n, "%u-bit, %s, %s, %u bins", o->c.spec.precision,
	         o->c.spec.is_signed ? "signed" : "unsigned",
	         o->c.spec.scheme == DNNQ_QSCHEME_SYMMETRIC ? "symmetric" : "asymmetric",
	         o->bins ? o->bins : DNNQ_HIST_DEFAULT_BINS);
}

static double pct(const struct opts *o)
{
	return o->c.percentile ? o->c.percentile : DNNQ_CALIB_DEFAULT_PERCENTILE;
}

/* ---- stats ---- */

static void print_stats_json(const char *path, const struct dnnq_npy *a,
                             const struct dnnq_hist *h, const struct opts *o,
                             const struct result *r)
{
	printf("{\"file\":");
	dnnq_json_string(stdout, path);
	printf(",\"dtype\":\"%s\",\"shape\":[", dnnq_dtype_name(a->dtype));
	for (unsigned i = 0; i < a->ndim; i++)
		printf("%s%zu", i ? "," : "", a->shape[i]);
	printf("],\"count\":%zu,\"finite\":%llu,\"nan\":%llu,\"posinf\":%llu,\"neginf\":%llu,"
	       "\"data_min\":%.9g,\"data_max\":%.9g,\"method\":\"%s\",\"bits\":%u,"
	       "\"signed\":%s,\"symmetric\":%s,\"percentile\":%g,\"bins\":%u,"
	       "\"range_min\":%.9g,\"range_max\":%.9g,\"scale\":%.9g,\"zero_point\":%d,"
	       "\"sqnr_db\":",
	       a->count, (unsigned long long)h->nfinite, (unsigned long long)h->nnan,
	       (unsigned long long)h->nposinf, (unsigned long long)h->nneginf, h->min, h->max,
	       dnnq_calib_method_name(o->c.method), o->c.spec.precision,
	       o->c.spec.is_signed ? "true" : "false",
	       o->c.spec.scheme == DNNQ_QSCHEME_SYMMETRIC ? "true" : "false", pct(o), h->nbins,
	       r->min, r->max, r->qp.scale, r->qp.zero_point);
	dnnq_json_number(stdout, r->sqnr, 4);
	printf("}\n");
}

static void print_stats_text(const char *path, const struct dnnq_npy *a,
                             const struct dnnq_hist *h, const struct opts *o,
                             const struct result *r)
{
	char spec[96];
	spec_text(o, spec, sizeof spec);
	printf("file        %s: %s (", path, dnnq_dtype_name(a->dtype));
	for (unsigned i = 0; i < a->ndim; i++)
		printf("%s%zu", i ? ", " : "", a->shape[i]);
	printf("%s), %zu values\n", a->ndim == 1 ? "," : "", a->count);
	printf("non-finite  %llu NaN, %llu +inf, %llu -inf (ignored)\n",
	       (unsigned long long)h->nnan, (unsigned long long)h->nposinf,
	       (unsigned long long)h->nneginf);
	printf("data range  [%.6g, %.6g]\n", h->min, h->max);
	printf("method      %s", dnnq_calib_method_name(o->c.method));
	if (o->c.method == DNNQ_CALIB_PERCENTILE)
		printf(" %g", pct(o));
	printf(" (%s)\n", spec);
	printf("range       [%.6g, %.6g]\n", r->min, r->max);
	printf("scale       %.9g\nzero point  %d\nSQNR        %.2f dB\n", r->qp.scale,
	       r->qp.zero_point, r->sqnr);
}

static int load(const char *path, struct dnnq_npy *a, float **x, void **buf)
{
	struct dnnq_diag d = { "" };
	int rc = dnnq_npy_read_file(path, FILE_LIMIT, buf, a, &d);
	if (rc) {
		fprintf(stderr, "%s: %s\n", argv0, d.msg);
		return rc;
	}
	*x = malloc((a->count ? a->count : 1) * sizeof **x);
	if (!*x) {
		dnnq_tool_line(argv0, "%s: %zu values: out of memory", path, a->count);
		return DNNQ_E_NOMEM;
	}
	dnnq_npy_to_f32(a, *x);
	return 0;
}

static int cmd_stats(const char *path, const struct opts *o)
{
	struct dnnq_npy a;
	struct dnnq_hist h;
	struct dnnq_diag d = { "" };
	struct result r;
	float *x = NULL;
	void *buf = NULL;
	int rc = load(path, &a, &x, &buf);
	if (!rc && (rc = dnnq_hist_init(&h, o->bins, &d))) {
		fprintf(stderr, "%s: %s\n", argv0, d.msg);
	} else if (!rc) {
		dnnq_hist_add(&h, x, a.count);
		size_t n = keep_finite(x, a.count);
		/* no value to choose a range for: a range of [0, 0] and an SQNR
		 * of inf would read as a perfect fit */
		if (!n)
			rc = dnnq_diag_set(&d, DNNQ_E_RANGE, "no finite value (%zu values, %s)", a.count,
			                   a.count ? "NaN or infinity only" : "an empty array");
		if (rc || (rc = calibrate(x, n, &h, &o->c, &r, &d))) {
			dnnq_tool_line(argv0, "%s: %s", path, d.msg);
		} else if (o->json) {
			print_stats_json(path, &a, &h, o, &r);
		} else {
			print_stats_text(path, &a, &h, o, &r);
		}
		dnnq_hist_destroy(&h);
	}
	free(x);
	free(buf);
	return rc;
}

/* ---- table ---- */

static const char *const dists[3] = { "gaussian", "laplace", "uniform" };
static const unsigned table_bits[3] = { 2, 4, 8 };

static double sample(struct rng *r, int dist)
{
	if (dist == 2)
		return rng_uniform(r, -1, 1);
	if (dist == 1) {
		double u = rng_unit(r) - 0.5;
		return (u < 0 ? 1 : -1) * log(1 - 2 * fabs(u));
	}
	return rng_gauss(r);
}

static void print_table_head(const struct opts *o)
{
	char spec[96];
	struct opts t = *o;
	t.c.spec.precision = 0;
	spec_text(&t, spec, sizeof spec);
	printf("SQNR in dB of %ld samples per distribution (%s), seed %" PRIu64 "\n\n", o->samples,
	       strchr(spec, ',') + 2, o->seed);
	printf("%-12s", "method");
	for (int d = 0; d < 3; d++)
		printf(" %-23s", dists[d]);
	printf("\n%-12s", "");
	for (int d = 0; d < 3; d++)
		printf(" %7s%8s%8s", "2-bit", "4-bit", "8-bit");
	printf("\n");
}

static void table_cell(const struct opts *o, int m, int d, int b, const struct result *r,
                       bool first)
{
	if (!o->json) {
		printf(" %7.2f", r->sqnr);
		return;
	}
	printf("%s{\"method\":\"%s\",\"distribution\":\"%s\",\"bits\":%u,\"range_min\":%.9g,"
	       "\"range_max\":%.9g,\"scale\":%.9g,\"zero_point\":%d,\"sqnr_db\":",
	       first ? "" : ",", dnnq_calib_method_name((enum dnnq_calib_method)m), dists[d],
	       table_bits[b], r->min, r->max, r->qp.scale, r->qp.zero_point);
	dnnq_json_number(stdout, r->sqnr, 4);
	printf("}");
}

/* One distribution's samples into x and its histogram into h. */
static void generate(const struct opts *o, int dist, float *x, struct dnnq_hist *h)
{
	struct rng r = { o->seed * 2654435761u + 1 + (unsigned)dist };
	for (long i = 0; i < o->samples; i++)
		x[i] = (float)sample(&r, dist);
	dnnq_hist_clear(h);
	dnnq_hist_add(h, x, (size_t)o->samples);
}

/* res[method][distribution][bits] */
static int run_table(const struct opts *o, struct result res[][3][3])
{
	struct dnnq_hist h;
	struct dnnq_diag d = { "" };
	float *x = malloc((size_t)o->samples * sizeof *x);
	if (!x || dnnq_hist_init(&h, o->bins, &d)) {
		fprintf(stderr, "%s: table: %s\n", argv0, d.msg[0] ? d.msg : "out of memory");
		free(x);
		return 1;
	}
	int rc = 0;
	for (int di = 0; !rc && di < 3; di++) {
		generate(o, di, x, &h);
		for (int m = 0; !rc && m < DNNQ_CALIB_METHOD_COUNT; m++) {
			for (int b = 0; !rc && b < 3; b++) {
				struct dnnq_calib_opts c = o->c;
				c.method = (enum dnnq_calib_method)m;
				c.spec.precision = (uint8_t)table_bits[b];
				rc = calibrate(x, (size_t)o->samples, &h, &c, &res[m][di][b], &d);
			}
		}
	}
	if (rc)
		fprintf(stderr, "%s: table: %s\n", argv0, d.msg);
	dnnq_hist_destroy(&h);
	free(x);
	return rc;
}

static int cmd_table(const struct opts *o)
{
	static struct result res[DNNQ_CALIB_METHOD_COUNT][3][3];
	int rc = run_table(o, res);
	if (rc)
		return rc;
	if (o->json)
		printf("{\"samples\":%ld,\"seed\":%" PRIu64 ",\"signed\":%s,\"symmetric\":%s,"
		       "\"percentile\":%g,\"bins\":%u,\"rows\":[", o->samples, o->seed,
		       o->c.spec.is_signed ? "true" : "false",
		       o->c.spec.scheme == DNNQ_QSCHEME_SYMMETRIC ? "true" : "false", pct(o),
		       o->bins ? o->bins : DNNQ_HIST_DEFAULT_BINS);
	else
		print_table_head(o);
	for (int m = 0; m < DNNQ_CALIB_METHOD_COUNT; m++) {
		if (!o->json)
			printf("%-12s", dnnq_calib_method_name((enum dnnq_calib_method)m));
		for (int d = 0; d < 3; d++)
			for (int b = 0; b < 3; b++)
				table_cell(o, m, d, b, &res[m][d][b], m + d + b == 0);
		if (!o->json)
			printf("\n");
	}
	printf(o->json ? "]}\n" : "");
	return 0;
}

int main(int argc, char **argv)
{
	dnnq_f32_blas_pool_off(argv);
	dnnq_json_failures_if_asked(argc, argv);
	dnnq_stdout_checked("dnnq-calibrate");
	struct opts o = {
		.c = { DNNQ_CALIB_L2, { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false }, 0 },
		.samples = 1000000,
		.seed = 1,
	};
	const char *cmd = argc > 1 ? argv[1] : NULL;
	if (cmd && (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))) {
		usage(stdout);
		return 0;
	}
	if (cmd && !strcmp(cmd, "--version")) {
		printf("%s %s\n", argv0, DNNQ_VERSION);
		return 0;
	}
	if (!cmd || (strcmp(cmd, "stats") && strcmp(cmd, "table"))) {
		static const char *const commands[] = { "stats", "table" };
		const char *near = cmd ? dnnq_nearest(cmd, strlen(cmd), commands, 2, sizeof *commands)
		                       : NULL;
		for (int i = 2; cmd && *cmd == '-' && i < argc; i++)
			if (!strcmp(argv[i], "stats") || !strcmp(argv[i], "table")) {
				dnnq_usage_error(argv0, "'%s' before the command: options go after it (%s "
				                 "%s %s)", cmd, argv0, argv[i], cmd);
				return dnnq_json_exit(2, 0);
			}
		dnnq_usage_error(argv0, "%s%s%s: expected a command, stats or table%s%s%s",
		                 cmd ? "'" : "", cmd ? cmd : "no command", cmd ? "'" : "",
		                 near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
		return dnnq_json_exit(2, 0);
	}
	int first = parse_args(argc, argv, &o);
	if (first < 0)
		return dnnq_json_exit(-1 - first, 0);
	int operands = argc - first;
	bool stats = !strcmp(cmd, "stats");
	if (operands != (stats ? 1 : 0)) {
		fprintf(stderr, "%s: %s: %s (try --help)\n", argv0, cmd,
		        stats ? "expected one DATA.npy" : "takes no operands");
		return dnnq_json_exit(2, 0);
	}
	/* an option the command does not read would be ignored without a word */
	const char *other = stats ? (o.given[G_SAMPLES] ? o.given[G_SAMPLES] : o.given[G_SEED])
	                          : (o.given[G_METHOD] ? o.given[G_METHOD] : o.given[G_BITS]);
	if (other) {
		fprintf(stderr, "%s: %s: %s (try --help)\n", argv0, other,
		        stats ? "for table only: stats reads DATA.npy"
		              : "for stats only: table runs every method at 2, 4 and 8 bits");
		return dnnq_json_exit(2, 0);
	}
	if (stats && o.pct_given && o.c.method != DNNQ_CALIB_PERCENTILE) {
		fprintf(stderr, "%s: --percentile needs --method percentile: without it, it changes"
		        " nothing (try --help)\n", argv0);
		return dnnq_json_exit(2, 0);
	}
	if (stats && o.bins && o.c.method == DNNQ_CALIB_MINMAX) {
		fprintf(stderr, "%s: --bins needs a --method other than minmax (whose range is the"
		        " data's own): with it, it changes nothing (try --help)\n", argv0);
		return dnnq_json_exit(2, 0);
	}
	if (o.c.spec.scheme == DNNQ_QSCHEME_SYMMETRIC && o.c.spec.precision < 2) {
		fprintf(stderr, "%s: --bits 1 --symmetric: symmetric quantization needs >= 2 bits\n",
		        argv0);
		return dnnq_json_exit(2, 0);
	}
	int rc = stats ? cmd_stats(argv[first], &o) : cmd_table(&o);
	return dnnq_json_exit(rc ? 1 : 0, rc);
}
