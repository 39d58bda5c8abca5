/*
 * The operator registry (suite registry): every description is sound;
 * every kind's node round-trips through the .dnnq file with each of its
 * attributes and none of another kind's, and dnnq-inspect ($DNNQ_BINDIR or
 * build/bin) prints it by name; every binary elementwise operator of
 * engine/ops/ (Sub, Div, Add, Mul, Pow, Min, Max, PRelu) broadcasts and
 * gives, on every ISA, the scalar oracle's bytes, which are the float
 * formula's; Max and Min of a NaN are NaN, as ONNX Runtime's.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/pool.h"
#include "engine/binary.h"
#include "engine/graph.h"
#include "engine/graph-internal.h"
#include "engine/op.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

START_TEST(registry_descriptions)
{
	size_t n;
	const struct dnnq_op_def *const *all = dnnq_op_all(&n);
	ck_assert_uint_ge(n, DNNQ_NODE_KIND_COUNT + 2);
	for (size_t i = 0; i < n; i++) {
		const struct dnnq_op_def *d = all[i];
		const struct node_ops *o = d->ops ? d->ops : d->ops_f32;   /* fp32 only: no int8 */
		ck_assert_msg(d->name && o && o->create,
		              "kind %u: incomplete", d->kind);
		ck_assert_msg(d->min_inputs >= 1 && d->min_inputs <= d->max_inputs &&
		              d->max_inputs <= DNNQ_GRAPH_MAX_NODE_INPUTS, "%s: inputs", d->name);
		ck_assert_ptr_eq(dnnq_op_get(d->kind), d);
		ck_assert_ptr_eq(dnnq_op_find(d->name), d);
		ck_assert_str_eq(dnnq_node_kind_name(d->kind), d->name);
		if (d->onnx)
			ck_assert_ptr_eq(dnnq_op_find_onnx(d->onnx), d);
		for (size_t k = 0; k < i; k++)
			ck_assert_msg(all[k]->kind != d->kind, "%s and %s share code %u", all[k]->name,
			              d->name, d->kind);
	}
	ck_assert_ptr_null(dnnq_op_get(1000));
	ck_assert_str_eq(dnnq_node_kind_name(1000), "unknown");
	ck_assert_ptr_eq(dnnq_op_find_onnx("Sub"), dnnq_op_find("sub"));
	ck_assert_ptr_eq(dnnq_op_find_onnx("Div"), dnnq_op_find("div"));
	ck_assert_ptr_null(dnnq_op_find_onnx("NoSuchOp"));
	for (size_t i = 0; i < DNNQ_A_COUNT; i++)
		for (size_t k = 0; k < i; k++)
			ck_assert_uint_ne(dnnq_attrs[i].key, dnnq_attrs[k].key);
}
END_TEST

/* A valid non-default value for every element of every attribute the kind
 * lists (2, or the range's top when that is lower); measurements stay. */
static void set_attrs(struct dnnq_model_node *n, const struct dnnq_op_def *d)
{
	for (size_t i = 0; i < DNNQ_A_COUNT; i++) {
		const struct dnnq_attr_def *a = &dnnq_attrs[i];
		if (!dnnq_op_has(d, i) || a->nan_ok)
			continue;
		double v = a->max < 2 ? a->max : 2;
		uint8_t *p = (uint8_t *)n + a->off;
		for (size_t e = 0; e < a->count; e++) {
			if (a->type == DNNQ_ATTR_F32) {
				float f = (float)v + (float)e / 4;
				memcpy(p + 4 * e, &f, 4);
			} else if (a->type == DNNQ_ATTR_I64) {
				int64_t x = (int64_t)v;
				memcpy(p + 8 * e, &x, 8);
			} else {
				int32_t x = (int32_t)v;
				memcpy(p + 4 * e, &x, 4);
			}
		}
	}
}

static const char *tmpdir(void)
{
	static char dir[64];
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/tmp/dnnq-registry-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(dir));
	}
	return dir;
}

/* One node of every kind, each reading the graph input; three tensors so
 * that weight and bias ids 2 exist. */
START_TEST(registry_every_kind_roundtrips)
{
	size_t nk;
	const struct dnnq_op_def *const *all = dnnq_op_all(&nk);
	struct dnnq_model m;
	memset(&m, 0, sizeof m);
	snprintf(m.name, sizeof m.name, "kinds");
	m.ninputs = m.noutputs = 1;
	m.inputs = calloc(1, sizeof *m.inputs);
	m.outputs = calloc(1, sizeof *m.outputs);
	m.inputs[0] = (struct dnnq_model_io){ .name = "x", .dtype = DNNQ_DTYPE_U8, .ndim = 2,
	                                      .dims = { 1, 4 }, .qp = { 0.1f, 0, 8, false } };
	m.outputs[0] = m.inputs[0];
	m.outputs[0].value = 1;
	m.ntensors = 3;
	m.tensors = calloc(3, sizeof *m.tensors);
	for (size_t t = 0; t < 3; t++) {
		snprintf(m.tensors[t].name, sizeof m.tensors[t].name, "t%zu", t);
		int64_t dims[1] = { 4 };
		dnnq_qtensor_init(&m.tensors[t].t);
		ck_assert_int_eq(dnnq_qtensor_resize(&m.tensors[t].t, 1, dims), 0);
		memset(m.tensors[t].t.data, 0, 16);
	}
	m.nnodes = nk;
	m.nodes = calloc(nk, sizeof *m.nodes);
	for (size_t j = 0; j < nk; j++) {
		struct dnnq_model_node *n = &m.nodes[j];
		dnnq_model_node_init(n, all[j]->kind, all[j]->name);
		n->ninputs = all[j]->min_inputs;
		for (uint32_t k = 0; k < n->ninputs; k++)
			n->inputs[k] = 0;
		set_attrs(n, all[j]);
		/* op 2 is beyond a one-bit op (topk's smallest): 1 there */
		char why[160];
		if (dnnq_op_has(all[j], DNNQ_A_OP) && all[j]->check &&
		    all[j]->check(n, why, sizeof why))
			n->op = 1;
		/* what no kind lists stays out of the file: set it everywhere */
		if (!dnnq_op_has(all[j], DNNQ_A_AXIS))
			n->axis = 5;
		if (!dnnq_op_has(all[j], DNNQ_A_WEIGHT))
			n->weight = 1;
	}
	void *buf;
	size_t len;
	struct dnnq_diag d;
	ck_assert_msg(dnnq_model_write(&m, &buf, &len, &d) == 0, "%s", d.msg);
	struct dnnq_model back;
	ck_assert_msg(dnnq_model_read(buf, len, &back, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(back.nnodes, nk);
	for (size_t j = 0; j < nk; j++) {
		const struct dnnq_model_node *a = &m.nodes[j], *b = &back.nodes[j];
		struct dnnq_model_node def;
		dnnq_model_node_init(&def, a->kind, a->name);
		ck_assert_uint_eq(b->kind, a->kind);
		ck_assert_str_eq(b->name, a->name);
		for (size_t i = 0; i < DNNQ_A_COUNT; i++) {
			const struct dnnq_attr_def *at = &dnnq_attrs[i];
			size_t bytes = at->count * (at->type == DNNQ_ATTR_I64 ? 8u : 4u);
			const void *want = dnnq_op_has(all[j], i) ? (const uint8_t *)a + at->off
			                                           : (const uint8_t *)&def + at->off;
			ck_assert_msg(!memcmp((const uint8_t *)b + at->off, want, bytes),
			              "%s: attribute %s differs after the round trip", a->name, at->name);
		}
	}
	/* dnnq-inspect names every kind and prints its attributes by name */
	char path[128], cmd[512], out[128];
	snprintf(path, sizeof path, "%s/kinds.dnnq", tmpdir());
	snprintf(out, sizeof out, "%s/inspect.json", tmpdir());
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
	const char *bin = getenv("DNNQ_BINDIR") ? getenv("DNNQ_BINDIR") : "build/bin";
	snprintf(cmd, sizeof cmd, "%s/dnnq-inspect --json %s > %s", bin, path, out);
	ck_assert_int_eq(system(cmd), 0);
	static char json[1 << 16];
	f = fopen(out, "r");
	ck_assert_ptr_nonnull(f);
	json[fread(json, 1, sizeof json - 1, f)] = 0;
	fclose(f);
	for (size_t j = 0; j < nk; j++) {
		char want[96];
		snprintf(want, sizeof want, "\"kind\": \"%s\"", all[j]->name);
		ck_assert_msg(strstr(json, want), "dnnq-inspect lacks %s", want);
		for (size_t i = 0; i < DNNQ_A_COUNT; i++)
			if (dnnq_op_has(all[j], i) && !dnnq_attrs[i].nan_ok && i != DNNQ_A_ACC16 &&
			    i != DNNQ_A_ACC16_NBITS && i != DNNQ_A_ACC16_SPILL) {
				snprintf(want, sizeof want, "\"%s\": ", dnnq_attrs[i].name);
				ck_assert_msg(strstr(json, want), "dnnq-inspect lacks %s", want);
			}
	}
	unlink(path);
	unlink(out);
	rmdir(tmpdir());
	dnnq_model_free(&back);
	dnnq_model_free(&m);
	free(buf);
}
END_TEST

/* ---- Sub and Div ---- */

struct bcase {
	uint32_t r;
	int64_t a[4], b[4];
	bool bconst, aconst;
};

/* The oracle: the float formula of engine/binary.h, element by element. */
static uint8_t expect(const struct dnnq_op_def *d, uint8_t a, uint8_t b,
                      const struct dnnq_qparams *qa, const struct dnnq_qparams *qb,
                      const struct dnnq_qparams *qy)
{
	float x = ((float)a - (float)qa->zero_point) * qa->scale;
	float y = ((float)b - (float)qb->zero_point) * qb->scale;
	return (uint8_t)dnnq_saturate_rne(d->f32(x, y) / qy->scale, (float)qy->zero_point, 0, 255);
}

static size_t numel(uint32_t r, const int64_t *d)
{
	size_t n = 1;
	for (uint32_t i = 0; i < r; i++)
		n *= (size_t)d[i];
	return n;
}

static void run_case(const struct dnnq_op_def *def, const struct bcase *c, size_t batch,
                     enum dnnq_isa isa, const struct dnnq_executor *ex, struct rng *rng,
                     uint8_t *ya, uint8_t *yb, uint8_t *y)
{
	struct dnnq_qparams qa = { 0.05f, 128, 8, false }, qb = { 0.02f, 100, 8, false };
	struct dnnq_qparams qy = { 0.04f, 120, 8, false };
	struct dnnq_graph *g;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int ids[2];
	const int64_t *dims[2] = { c->a, c->b };
	bool cst[2] = { c->aconst, c->bconst };
	uint8_t *in[2] = { ya, yb };
	size_t n[2];
	for (int k = 0; k < 2; k++) {
		int64_t dd[4];
		memcpy(dd, dims[k], sizeof dd);
		uint32_t r = c->r;
		if (cst[k]) {                 /* constants: no batch, the leading dims dropped */
			while (r > 1 && dd[0] == 1) {
				memmove(dd, dd + 1, (r - 1) * sizeof *dd);
				r--;
			}
			n[k] = numel(r, dd);
		} else {
			dd[0] = (int64_t)batch;
			n[k] = numel(c->r, dd);
		}
		for (size_t e = 0; e < n[k]; e++)
			in[k][e] = (uint8_t)rng_int(rng, 0, 255);
		if (k == 1 && def == dnnq_op_find("div"))
			for (size_t e = 0; e < n[k]; e++)   /* a few zero divisors too */
				if (in[k][e] == 100 && e % 2)
					in[k][e] = 101;
		ids[k] = cst[k] ? dnnq_graph_add_constant(g, k ? "b" : "a", r, dd, k ? &qb : &qa,
		                                          in[k], &d)
		                : dnnq_graph_add_input(g, k ? "b" : "a", DNNQ_DTYPE_U8, c->r, dd,
		                                       k ? &qb : &qa, &d);
		ck_assert_msg(ids[k] >= 0, "%s", d.msg);
	}
	struct dnnq_node_desc nd = { .kind = def->kind, .name = "op", .ninputs = 2,
	                             .inputs = { ids[0], ids[1] } };
	nd.op.binary.isa = isa;
	nd.op.binary.out_qp = qy;
	int out = dnnq_graph_add_node(g, &nd, &d);
	ck_assert_msg(out >= 0, "%s", d.msg);
	ck_assert_int_eq(dnnq_graph_add_output(g, out, &d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_graph_plan(g, batch, 2, &d) == 0, "%s", d.msg);
	const void *gin[2];
	size_t ni = 0;
	for (int k = 0; k < 2; k++)
		if (!cst[k])
			gin[ni++] = in[k];
	void *gout[1] = { y };
	ck_assert_int_eq(dnnq_graph_run(g, gin, gout, ex), 0);
	/* the oracle walks the broadcast by index */
	int64_t od[4];
	for (uint32_t i = 0; i < c->r; i++)
		od[i] = c->a[i] > c->b[i] ? c->a[i] : c->b[i];
	od[0] = (int64_t)batch;
	size_t total = numel(c->r, od);
	for (size_t e = 0; e < total; e++) {
		size_t rem = e, oa = 0, ob = 0, sa = 1, sb = 1;
		for (uint32_t i = c->r; i-- > 0;) {
			size_t idx = rem % (size_t)od[i];
			rem /= (size_t)od[i];
			int64_t da = i == 0 && !c->aconst ? (int64_t)batch : c->a[i];
			int64_t db = i == 0 && !c->bconst ? (int64_t)batch : c->b[i];
			oa += (da == 1 ? 0 : idx) * sa;
			ob += (db == 1 ? 0 : idx) * sb;
			sa *= (size_t)da;
			sb *= (size_t)db;
		}
		uint8_t want = expect(def, ya[oa], yb[ob], &qa, &qb, &qy);
		ck_assert_msg(y[e] == want, "%s %s element %zu: %u, want %u", def->name,
		              dnnq_isa_name(isa), e, y[e], want);
	}
	dnnq_graph_destroy(g);
}

START_TEST(registry_binary_ops_every_isa)
{
	static const struct bcase cases[] = {
		{ 4, { 1, 5, 6, 7 }, { 1, 5, 6, 7 }, false, false },      /* same shape */
		{ 4, { 1, 5, 6, 19 }, { 1, 1, 1, 19 }, true, false },     /* per channel */
		{ 4, { 1, 5, 6, 19 }, { 1, 1, 1, 1 }, true, false },      /* scalar */
		{ 4, { 1, 1, 1, 1 }, { 1, 5, 6, 19 }, false, true },      /* constant first */
		{ 4, { 1, 5, 6, 19 }, { 1, 5, 1, 19 }, false, false },    /* activation broadcast */
		{ 4, { 1, 5, 6, 1 }, { 1, 5, 6, 33 }, false, false },     /* inner broadcast */
		{ 3, { 1, 40, 77 }, { 1, 40, 77 }, false, false },
		{ 2, { 1, 1000 }, { 1, 1 }, false, false },
		/* runs of rows (the kernels' unit) cut by the pool's pieces */
		{ 4, { 1, 3, 20, 75 }, { 1, 3, 1, 75 }, false, false },
		{ 4, { 1, 1, 1, 75 }, { 1, 3, 20, 75 }, false, false },   /* an SE scale */
		/* the last 8, 16 or 24 columns in one pass (engine/binary.h) */
		{ 4, { 1, 1, 1, 16 }, { 1, 3, 20, 16 }, false, false },
		{ 4, { 1, 1, 1, 120 }, { 1, 3, 20, 120 }, false, false },
		{ 4, { 1, 3, 7, 56 }, { 1, 1, 1, 56 }, false, false },
		{ 4, { 1, 3, 7, 47 }, { 1, 3, 7, 47 }, false, false },
		{ 4, { 1, 3, 7, 63 }, { 1, 1, 1, 1 }, true, false },
	};
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	size_t cap = 3 * 5 * 6 * 40 * 77;
	uint8_t *a = malloc(cap), *b = malloc(cap), *y = malloc(cap);
	size_t nk, nbin = 0;
	const struct dnnq_op_def *const *all = dnnq_op_all(&nk);
	for (size_t o = 0; o < nk; o++) {
		const struct dnnq_op_def *def = all[o];
		if (def->ops != &dnnq_binary_ops)
			continue;
		nbin++;
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
			FOR_EACH_ISA(isa) {
				struct rng rng = { 0x5eed + i };
				run_case(def, &cases[i], 3, isa, i % 2 ? &ex : NULL, &rng, a, b, y);
			}
	}
	ck_assert_uint_ge(nbin, 8);   /* sub div add mul pow min max prelu */
	free(a);
	free(b);
	free(y);
	dnnq_pool_destroy(pool);
}
END_TEST

/* fp32 nodes of every binary kind (the fp32-only ones too: the
 * comparisons, And, Or, Xor), a [3, 5, 6, 19] by b per channel [1, 1, 1,
 * 19] (per batch item) and by itself, over values with zeros, signs, infinities and NaNs:
 * every ISA gives the kind's f32 formula's bits, element by element. */
START_TEST(registry_binary_f32_every_isa)
{
	static const float special[8] = { 0.0f, -0.0f, 1.0f, -1.5f, INFINITY, -INFINITY, NAN,
	                                  2.0f };
	int64_t da[4] = { 3, 5, 6, 19 }, dbs[2][4] = { { 1, 1, 1, 19 }, { 3, 5, 6, 19 } };
	size_t n = 3 * 5 * 6 * 19;
	float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *y = malloc(n * sizeof *y);
	struct rng rng = { 0xf32 };
	for (size_t e = 0; e < n; e++) {
		a[e] = e % 3 ? (float)rng_int(&rng, -8, 8) / 4 : special[e / 3 % 8];
		b[e] = e % 5 ? (float)rng_int(&rng, -8, 8) / 4 : special[e / 5 % 8];
	}
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	size_t nk, nbin = 0;
	const struct dnnq_op_def *const *all = dnnq_op_all(&nk);
	for (size_t o = 0; o < nk; o++) {
		const struct dnnq_op_def *def = all[o];
		if (def->ops_f32 != &dnnq_binary_ops)
			continue;
		nbin++;
		for (int s = 0; s < 2; s++)
			FOR_EACH_ISA(isa) {
				struct dnnq_graph *g;
				struct dnnq_diag d;
				ck_assert_int_eq(dnnq_graph_create(&g), 0);
				int ia = dnnq_graph_add_input(g, "a", DNNQ_DTYPE_F32, 4, da, NULL, &d);
				int ib = dnnq_graph_add_input(g, "b", DNNQ_DTYPE_F32, 4, dbs[s], NULL,
				                              &d);
				struct dnnq_node_desc nd = { .kind = def->kind, .name = "op",
				                             .ninputs = 2, .inputs = { ia, ib },
				                             .precision = DNNQ_PRECISION_FP32 };
				nd.op.binary.isa = isa;
				int out = dnnq_graph_add_node(g, &nd, &d);
				ck_assert_msg(out >= 0, "%s: %s", def->name, d.msg);
				ck_assert_int_eq(dnnq_graph_add_output(g, out, &d), 0);
				ck_assert_msg(dnnq_graph_finalize(g, &d) == 0, "%s", d.msg);
				ck_assert_msg(dnnq_graph_plan(g, 3, 2, &d) == 0, "%s", d.msg);
				ck_assert_int_eq(dnnq_graph_run(g, (const void *[]){ a, b }, (void *[]){ y },
				                                 isa % 2 ? &ex : NULL), 0);
				dnnq_graph_destroy(g);
				for (size_t e = 0; e < n; e++) {
					size_t eb = s ? e : e / (n / 3) * 19 + e % 19;   /* dim 0: the batch */
					float want = def->f32(a[e], b[eb]);
					ck_assert_msg(!memcmp(&y[e], &want, 4) || (isnan(y[e]) && isnan(want)),
					              "%s %s element %zu (%g, %g): %a, want %a", def->name,
					              dnnq_isa_name(isa), e, a[e], b[eb], y[e], want);
				}
			}
	}
	ck_assert_uint_ge(nbin, 22);   /* 12..15, 25..35, 38, 80, 84..88 */
	free(a);
	free(b);
	free(y);
	dnnq_pool_destroy(pool);
}
END_TEST

/* Max and Min of a NaN are NaN in either place, and of equal values (-0
 * and 0) the second, as ONNX Runtime (onnxruntime-node 1.31.1, review
 * nan56); every ISA gives these bits (registry_binary_f32_every_isa). */
START_TEST(registry_max_min_nan)
{
	static const float pairs[][2] = { { NAN, 1 }, { 1, NAN }, { NAN, -INFINITY },
	                                  { -0.0f, 0 }, { 0, -0.0f }, { 2, 3 } };
	const struct dnnq_op_def *mx = dnnq_op_find("max"), *mn = dnnq_op_find("min");
	for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
		float a = pairs[i][0], b = pairs[i][1], y[2] = { mx->f32(a, b), mn->f32(a, b) };
		bool nan = isnan(a) || isnan(b);
		for (int k = 0; k < 2; k++) {
			float want = nan ? NAN : a == b ? b : (a > b) == !k ? a : b;
			ck_assert_msg(nan ? isnan(y[k]) : !memcmp(&y[k], &want, 4),
			              "%s(%g, %g) = %g, want %g", k ? "Min" : "Max", a, b, y[k], want);
		}
	}
}
END_TEST

/* Shapes that do not broadcast are refused naming the node and dims. */
START_TEST(registry_binary_bad_shapes)
{
	struct dnnq_qparams q = { 0.1f, 0, 8, false };
	struct dnnq_graph *g;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int64_t da[3] = { 1, 4, 5 }, db[3] = { 1, 3, 5 }, dc[2] = { 4, 5 };
	int a = dnnq_graph_add_input(g, "a", DNNQ_DTYPE_U8, 3, da, &q, &d);
	int b = dnnq_graph_add_input(g, "b", DNNQ_DTYPE_U8, 3, db, &q, &d);
	int c = dnnq_graph_add_input(g, "c", DNNQ_DTYPE_U8, 2, dc, &q, &d);
	struct dnnq_node_desc nd = { .kind = dnnq_op_find("sub")->kind, .name = "s", .ninputs = 2,
	                             .inputs = { a, b } };
	nd.op.binary.out_qp = q;
	ck_assert_int_eq(dnnq_graph_add_node(g, &nd, &d), DNNQ_E_SHAPE);
	ck_assert_str_eq(d.msg, "node 's': dims[1]: 4 ('a') and 3 ('b') do not broadcast");
	nd.inputs[1] = c;
	ck_assert_int_eq(dnnq_graph_add_node(g, &nd, &d), DNNQ_E_SHAPE);
	ck_assert_msg(strstr(d.msg, "input 'c' (rank 2) does not broadcast"), "%s", d.msg);
	dnnq_graph_destroy(g);
}
END_TEST

/* fp32 nodes refused at create after their adapter allocated its state
 * (u8 inputs where f32 are wanted): an error naming the input, and nothing
 * leaked (the fuzzer found the leak; LeakSanitizer checks it under ASan). */
START_TEST(registry_fp32_refused_no_leak)
{
	struct dnnq_qparams q = { 0.1f, 0, 8, false };
	struct dnnq_graph *g;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int64_t dims[2] = { 1, 4 };
	int a = dnnq_graph_add_input(g, "a", DNNQ_DTYPE_U8, 2, dims, &q, &d);
	int f = dnnq_graph_add_input(g, "f", DNNQ_DTYPE_F32, 2, dims, NULL, &d);
	struct dnnq_node_desc nd = { .kind = DNNQ_NODE_ACTIVATION, .precision = DNNQ_PRECISION_FP32,
	                             .name = "act", .ninputs = 1, .inputs = { a } };
	ck_assert_int_eq(dnnq_graph_add_node(g, &nd, &d), DNNQ_E_DTYPE);
	ck_assert_msg(strstr(d.msg, "input 'a' is u8: need f32"), "%s", d.msg);
	nd = (struct dnnq_node_desc){ .kind = dnnq_op_find("sub")->kind,
	                              .precision = DNNQ_PRECISION_FP32, .name = "s", .ninputs = 2,
	                              .inputs = { f, a } };
	ck_assert_int_eq(dnnq_graph_add_node(g, &nd, &d), DNNQ_E_DTYPE);
	nd.inputs[1] = f;
	ck_assert_int_ge(dnnq_graph_add_node(g, &nd, &d), 0);
	dnnq_graph_destroy(g);
}
END_TEST

Suite *suite_registry(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("registry");
	tcase_add_test(tc, registry_descriptions);
	tcase_add_test(tc, registry_every_kind_roundtrips);
	tcase_add_test(tc, registry_binary_ops_every_isa);
	tcase_add_test(tc, registry_binary_f32_every_isa);
	tcase_add_test(tc, registry_max_min_nan);
	tcase_add_test(tc, registry_binary_bad_shapes);
	tcase_add_test(tc, registry_fp32_refused_no_leak);
	suite_add_tcase(s, tc);
	return s;
}
