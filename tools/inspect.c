/*
 * dnnq-inspect: what a `.dnnq` model file holds.
 *
 *   dnnq-inspect FILE [--json]
 *
 * Reads the file (at most 4 GiB), checks it with dnnq_model_read and prints
 * the metadata, the I/O signature, every tensor and node, the sections with
 * their checksums and the calibration statistics (conv and fc nodes: acc32
 * or acc16, with the split's outlier density); --json prints one object
 * (keys in docs/model-format.md). Exit status: 0; 1 when the file cannot be
 * read or is not a valid model (one line naming the section and field);
 * 2 for a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/dnnq.h"
#include "engine/f32.h"
#include "engine/model.h"
#include "engine/op.h"

#define FILE_LIMIT ((uint64_t)4 << 30)
#define QP_SHOWN 4

/* One line on stderr, escaped as the other tools' are (dnnq_tool_line):
 * it quotes the path or option typed, and an escape sequence there drove
 * the terminal (attack56). */
#define complain(...) dnnq_tool_line("dnnq-inspect", __VA_ARGS__)

static int read_file(const char *path, void **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		complain("%s: %s", path, strerror(errno));
		return DNNQ_E_IO;
	}
	size_t cap = 1 << 16, n = 0;
	uint8_t *p = malloc(cap);
	while (p) {
		n += fread(p + n, 1, cap - n, f);
		if (n < cap || cap > FILE_LIMIT)
			break;
		size_t grow = cap * 2 > FILE_LIMIT ? (size_t)FILE_LIMIT + 1 : cap * 2;
		uint8_t *q = realloc(p, grow);
		if (!q) {
			free(p);
			p = NULL;
			break;
		}
		p = q;
		cap = grow;
	}
	int err = ferror(f) ? errno : 0;
	fclose(f);
	if (!p || err || n > FILE_LIMIT) {
		complain("%s: %s", path,
		         !p ? "out of memory" : err ? strerror(err) : "larger than 4 GiB");
		free(p);
		return err ? DNNQ_E_IO : DNNQ_E_NOMEM;
	}
	*buf = p;
	*len = n;
	return 0;
}

/* s as a JSON string (also safe for the text output) */
static void put_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void put_dims(uint32_t ndim, const int64_t *dims)
{
	putchar('[');
	for (uint32_t i = 0; i < ndim; i++)
		printf("%s%" PRId64, i ? ", " : "", dims[i]);
	putchar(']');
}

static void put_tensor_qparams(const struct dnnq_qtensor *t)
{
	printf("{\"axis\": %d, \"count\": %u, \"scales\": [", t->qaxis, t->nqparams);
	for (uint32_t i = 0; i < t->nqparams && i < QP_SHOWN; i++)
		printf("%s%.9g", i ? ", " : "", t->scales[i]);
	printf("], \"zero_points\": [");
	for (uint32_t i = 0; i < t->nqparams && i < QP_SHOWN; i++)
		printf("%s%d", i ? ", " : "", t->zero_points[i]);
	printf("]}");
}

/* A node's input values, comma separated. */
static void put_inputs(const struct dnnq_model_node *n)
{
	for (uint32_t i = 0; i < n->ninputs; i++)
		printf("%s%d", i ? ", " : "", n->inputs[i]);
}

/* Outlier density of an acc16 conv or fc node: its weights split as
 * dnnq_model_build's operators split them (per group), or NaN when they
 * cannot be (the depthwise path ignores acc16). */
static double outlier_density(const struct dnnq_model *m, const struct dnnq_model_node *n)
{
	size_t groups = 1, rows = n->n, k = n->k;
	if (n->kind == DNNQ_NODE_CONV) {
		if (!n->groups || (n->groups > 1 && n->groups == n->cin && n->cout == n->cin))
			return NAN;
		groups = n->groups;
		rows = n->cout / groups;
		k = (size_t)n->kernel[0] * n->kernel[1] * (n->cin / groups);
	}
	if (n->weight < 0 || (size_t)n->weight >= m->ntensors || !rows || !k)
		return NAN;
	const struct dnnq_qtensor *t = &m->tensors[n->weight].t;
	size_t numel = groups * rows * k;
	if (dnnq_qtensor_numel(t) != numel ||
	    (t->dtype != DNNQ_DTYPE_S8 && t->dtype != DNNQ_DTYPE_PACKED))
		return NAN;
	int8_t *w = t->data;
	if (t->dtype == DNNQ_DTYPE_PACKED) {
		if (!(w = malloc(numel)))
			return NAN;
		dnnq_unpack_bits(t->data, numel, t->precision, true, w);
	}
	const struct dnnq_acc16_opts o = { n->acc16_nbits, n->acc16_spill };
	size_t outliers = 0;
	bool ok = true;
	for (size_t g = 0; ok && g < groups; g++) {
		struct dnnq_gemm_weights gw;
		ok = !dnnq_gemm_pack_acc16(dnnq_isa_best(), w + g * rows * k, rows, k, k, &o, &gw,
		                           NULL);
		if (ok) {
			outliers += gw.outliers;
			dnnq_gemm_weights_free(&gw);
		}
	}
	if (w != t->data)
		free(w);
	return ok ? (double)outliers / (double)numel : NAN;
}

/* conv and fc: "accumulation"; for acc16, or when dnnq-convert measured
 * it, the nbits, spill and outlier density of the split, and the
 * measurements (saturation rate, SQNR at the layer's output acc32 and
 * acc16). */
static void put_acc16(const struct dnnq_model *m, const struct dnnq_model_node *n)
{
	if (n->kind != DNNQ_NODE_CONV && n->kind != DNNQ_NODE_FC)
		return;
	printf(", \"accumulation\": \"%s\"", n->acc16 ? "acc16" : "acc32");
	if (!n->acc16 && !n->acc16_measured)
		return;
	printf(", \"acc16_nbits\": %u, \"acc16_spill\": %u, \"outlier_density\": ",
	       n->acc16_nbits ? n->acc16_nbits : DNNQ_ACC16_DEFAULT_NBITS,
	       n->acc16_spill ? n->acc16_spill : DNNQ_ACC16_DEFAULT_SPILL);
	dnnq_json_number(stdout, outlier_density(m, n), 6);
	if (!n->acc16_measured)
		return;
	/* what dnnq-convert measured on its calibration samples */
	printf(", \"acc16_saturation\": ");
	dnnq_json_number(stdout, n->acc16_saturation, 9);
	printf(", \"sqnr_db_acc32\": ");
	dnnq_json_number(stdout, n->acc16_sqnr_db[0], 3);
	printf(", \"sqnr_db_acc16\": ");
	dnnq_json_number(stdout, n->acc16_sqnr_db[1], 3);
}

/* Element e of attribute a of n, as JSON. */
static void put_attr_value(const struct dnnq_model_node *n, const struct dnnq_attr_def *a,
                           size_t e)
{
	const uint8_t *p = (const uint8_t *)n + a->off;
	switch (a->type) {
	case DNNQ_ATTR_U32: { uint32_t v; memcpy(&v, p + 4 * e, 4); printf("%" PRIu32, v); break; }
	case DNNQ_ATTR_I32: { int32_t v; memcpy(&v, p + 4 * e, 4); printf("%" PRId32, v); break; }
	case DNNQ_ATTR_F32: { float v; memcpy(&v, p + 4 * e, 4); dnnq_json_number(stdout, v, 9); break; }
	default: { int64_t v; memcpy(&v, p + 8 * e, 8); printf("%" PRId64, v); break; }
	}
}

/* The attributes the node's kind lists (engine/op.h), by name; arrays as
 * arrays (a reshape's dims: its ndim of them). The acc16 ones are
 * put_acc16's. */
static void put_node_attrs(const struct dnnq_model_node *n)
{
	const struct dnnq_op_def *d = dnnq_op_get(n->kind);
	const char *sep = ", ";
	for (size_t i = 0; i < DNNQ_A_COUNT; i++) {
		if (!dnnq_op_has(d, i) || i == DNNQ_A_ACC16 || i == DNNQ_A_ACC16_NBITS ||
		    i == DNNQ_A_ACC16_SPILL || i == DNNQ_A_ACC16_MEASURED)
			continue;
		const struct dnnq_attr_def *a = &dnnq_attrs[i];
		if (i == DNNQ_A_PRECISION) {
			printf("%s\"precision\": \"%s\"", sep, dnnq_precision_name(n->precision));
			continue;
		}
		size_t count = i == DNNQ_A_DIMS && n->ndim <= a->count ? n->ndim : a->count;
		printf("%s\"%s\": %s", sep, a->name, a->count > 1 ? "[" : "");
		for (size_t e = 0; e < count; e++) {
			printf("%s", e ? ", " : "");
			put_attr_value(n, a, e);
		}
		printf("%s", a->count > 1 ? "]" : "");
	}
	if (n->kind == DNNQ_NODE_CONVERT) {   /* the reader accepts known kinds only */
		const char *name = dnnq_convert_kind_name(n->op);
		printf("%s\"op_name\": \"%s\"", sep, name ? name : "unknown");
	}
}

static void put_io(const struct dnnq_model_io *io, bool output)
{
	printf("{\"name\": ");
	put_str(io->name);
	printf(", \"dtype\": \"%s\", \"dims\": ", dnnq_dtype_name(io->dtype));
	put_dims(io->ndim, io->dims);
	printf(", \"scale\": %.9g, \"zero_point\": %d", io->qp.scale, io->qp.zero_point);
	if (output)
		printf(", \"value\": %d", io->value);
	putchar('}');
}

#define LIST(n, i, body) do { for (size_t i = 0; i < (n); i++) { \
	printf("%s\n    ", i ? "," : ""); body; } } while (0)

/* "2026-12-03T07:22:46Z" for unix seconds t; false for 0 (a file written
 * before dnnq-convert recorded the time) or a time gmtime cannot take. */
static bool utc_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	return t > 0 && gmtime_r(&tt, &tm) && strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0;
}

static void print_json(const struct dnnq_model *m, size_t len)
{
	printf("{\n  \"version\": \"%u.%u\", \"file_size\": %zu,\n  \"name\": ", m->version_major,
	       m->version_minor, len);
	put_str(m->name);
	printf(", \"producer\": ");
	put_str(m->producer);
	char when[32];
	printf(", \"created\": %" PRId64 ", \"created_utc\": ", m->created);
	if (utc_time(m->created, when, sizeof when))
		printf("\"%s\"", when);
	else
		printf("null");
	printf(", \"calibration\": ");
	put_str(m->calibration);
	printf(", \"max_batch\": %u", m->max_batch);
	printf(",\n  \"inputs\": [");
	LIST(m->ninputs, i, put_io(&m->inputs[i], false));
	printf("],\n  \"outputs\": [");
	LIST(m->noutputs, i, put_io(&m->outputs[i], true));
	printf("],\n  \"tensors\": [");
	LIST(m->ntensors, i, {
		const struct dnnq_qtensor *t = &m->tensors[i].t;
		printf("{\"id\": %zu, \"name\": ", i);
		put_str(m->tensors[i].name);
		printf(", \"dtype\": \"%s\", \"precision\": %u, \"signed\": %s, \"dims\": ",
		       dnnq_dtype_name(t->dtype), t->precision, t->is_signed ? "true" : "false");
		put_dims(t->ndim, t->dims);
		printf(", \"qparams\": ");
		put_tensor_qparams(t);
		printf(", \"bytes\": %zu}", dnnq_qtensor_nbytes(t));
	});
	printf("],\n  \"constants\": [");
	LIST(m->nconstants, i, printf("{\"value\": %zu, \"tensor\": %d}", m->ninputs + i,
	                              m->constants[i]));
	printf("],\n  \"nodes\": [");
	LIST(m->nnodes, j, {
		const struct dnnq_model_node *n = &m->nodes[j];
		printf("{\"kind\": \"%s\", \"name\": ", dnnq_node_kind_name(n->kind));
		put_str(n->name);
		printf(", \"inputs\": [");
		put_inputs(n);
		printf("], \"output\": %zu", dnnq_model_node_value(m, j));
		put_node_attrs(n);
		put_acc16(m, n);
		putchar('}');
	});
	printf("],\n  \"sections\": [");
	LIST(m->nsections, i, {
		const struct dnnq_model_section_info *s = &m->sections[i];
		printf("{\"type\": %u, \"name\": \"%s\", \"flags\": %u, \"offset\": %" PRIu64
		       ", \"size\": %" PRIu64 ", \"crc32c\": \"0x%08x\"}", s->type,
		       dnnq_model_section_name(s->type), s->flags, s->offset, s->size, s->crc);
	});
	printf("],\n  \"stats\": [");
	LIST(m->nstats, i, printf("{\"value\": %d, \"min\": %.9g, \"max\": %.9g}",
	                          m->stats[i].value, m->stats[i].min, m->stats[i].max));
	printf("]\n}\n");
}

static void print_text(const struct dnnq_model *m, size_t len)
{
	printf("model ");
	put_str(m->name);
	printf(" (format %u.%u, %zu bytes)\n  producer ", m->version_major, m->version_minor, len);
	put_str(m->producer);
	char when[32];
	printf(", created %s, calibration ",
	       utc_time(m->created, when, sizeof when) ? when : "unknown");
	put_str(m->calibration);
	if (m->max_batch)
		printf(", batch at most %u (the graph moves it)", m->max_batch);
	/* the file's dims[0] is a placeholder 1, not a batch of 1 */
	printf("\ninputs (dims[0], 1 here, is the batch: each request gives its own):\n");
	for (size_t i = 0; i < m->ninputs; i++) {
		printf("  %zu ", i);
		put_io(&m->inputs[i], false);
		putchar('\n');
	}
	printf("outputs:\n");
	for (size_t i = 0; i < m->noutputs; i++) {
		printf("  %zu ", i);
		put_io(&m->outputs[i], true);
		putchar('\n');
	}
	printf("tensors:\n");
	for (size_t i = 0; i < m->ntensors; i++) {
		const struct dnnq_qtensor *t = &m->tensors[i].t;
		printf("  %zu ", i);
		put_str(m->tensors[i].name);
		printf(" %s/%u%s ", dnnq_dtype_name(t->dtype), t->precision, t->is_signed ? "s" : "u");
		put_dims(t->ndim, t->dims);
		printf(" qparams ");
		put_tensor_qparams(t);
		printf(" %zu bytes\n", dnnq_qtensor_nbytes(t));
	}
	printf("constants:\n");
	for (size_t i = 0; i < m->nconstants; i++)
		printf("  value %zu: tensor %d\n", m->ninputs + i, m->constants[i]);
	printf("nodes:\n");
	for (size_t j = 0; j < m->nnodes; j++) {
		const struct dnnq_model_node *n = &m->nodes[j];
		printf("  %zu %s ", j, dnnq_node_kind_name(n->kind));
		put_str(n->name);
		printf(" in [");
		put_inputs(n);
		printf("] out %zu", dnnq_model_node_value(m, j));
		put_node_attrs(n);
		put_acc16(m, n);
		putchar('\n');
	}
	printf("sections:\n");
	for (size_t i = 0; i < m->nsections; i++)
		printf("  %-9s type %u flags %u offset %" PRIu64 " size %" PRIu64 " crc32c 0x%08x\n",
		       dnnq_model_section_name(m->sections[i].type), m->sections[i].type,
		       m->sections[i].flags, m->sections[i].offset, m->sections[i].size,
		       m->sections[i].crc);
	printf("stats:\n");
	for (size_t i = 0; i < m->nstats; i++)
		printf("  value %d: min %.9g max %.9g\n", m->stats[i].value, m->stats[i].min,
		       m->stats[i].max);
}

static void usage(void)
{
	printf("usage: dnnq-inspect FILE [--json]\n"
	       "  prints what a .dnnq model file holds; --json as one JSON object\n"
	       "  -h, --help  this text\n"
	       "  --version   dnnq's version\n");
}

int main(int argc, char **argv)
{
	dnnq_f32_blas_pool_off(argv);
	dnnq_json_failures_if_asked(argc, argv);
	dnnq_stdout_checked("dnnq-inspect");
	const char *path = NULL;
	bool json = false, options = true;	/* until "--", as getopt's tools do */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool unknown = options && a[0] == '-';
		if (options && !strcmp(a, "--")) {
			options = false;
		} else if (options && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
			usage();
			return 0;
		} else if (options && !strcmp(a, "--version")) {
			printf("dnnq-inspect %s\n", DNNQ_VERSION);
			return 0;
		} else if (options && !strcmp(a, "--json")) {
			json = true;
			dnnq_json_failures();
		} else if (unknown || path) {
			/* one line, as the other tools say it (and as --json's
			 * failure object carries it) */
			complain(unknown ? "unrecognized option '%s' (try --help)"
			                 : "'%s': one FILE only (try --help)", a);
			return dnnq_json_exit(2, 0);
		} else {
			path = a;
		}
	}
	if (!path) {
		fprintf(stderr, "dnnq-inspect: no FILE (try --help)\n");
		return dnnq_json_exit(2, 0);
	}
	void *buf;
	size_t len;
	int rc = read_file(path, &buf, &len);
	if (rc)
		return dnnq_json_exit(1, rc);
	struct dnnq_model m;
	struct dnnq_diag d;
	if ((rc = dnnq_model_read(buf, len, &m, &d))) {
		complain("%s: %s", path, d.msg);
		free(buf);
		return dnnq_json_exit(1, rc);
	}
	free(buf);
	if (json)
		print_json(&m, len);
	else
		print_text(&m, len);
	dnnq_model_free(&m);
	return 0;
}
