/*
 * Suite xfmr: the transformer and reduction operators (engine/xfmr.h) on
 * every ISA the CPU runs, through one-node graphs: int8 kernels against
 * their integer formula (so every ISA gives the same bits), fp32 kernels
 * bit for bit against the scalar ones and within a tolerance of double;
 * bad attributes refused with the node's name.
 */
#define _GNU_SOURCE     /* qsort_r */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/pool.h"
#include "engine/argmax.h"
#include "engine/graph.h"
#include "engine/op.h"
#include "engine/quant-scalar.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

static const struct dnnq_qparams QA = { 0.05f, 128, 8, false }, QB = { 0.03f, 90, 8, false };
static const struct dnnq_qparams QY = { 0.2f, 110, 8, false };

static size_t numel(uint32_t r, const int64_t *d)
{
	size_t n = 1;
	for (uint32_t i = 0; i < r; i++)
		n *= (size_t)d[i];
	return n;
}

/* One node of kind `name` over nin graph inputs (u8 or f32; ranks nd,
 * dims; input 0's dims[0] the batch), input 1 a constant when cst; *rc_add
 * gets the node's status. Output into y (its info into oi). */
struct one {
	const char *name;
	bool fp32, cst;
	size_t nin;
	uint32_t nd[2];
	int64_t dims[2][DNNQ_MAX_DIMS];
	struct dnnq_xfmr_desc x;
};

static int run_one(const struct one *c, enum dnnq_isa isa, const void *const *in, void *y,
                   struct dnnq_tensor_info *oi, const struct dnnq_executor *ex,
                   struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int ids[2] = { -1, -1 };
	ck_assert_uint_le(c->nin, 2);
	for (size_t k = 0; k < c->nin && k < 2; k++) {
		if (k == 1 && c->cst)
			ids[k] = c->fp32 ? dnnq_graph_add_constant_f32(g, "b", c->nd[k], c->dims[k],
			                                               in[k], d)
			                 : dnnq_graph_add_constant(g, "b", c->nd[k], c->dims[k], &QB,
			                                           in[k], d);
		else
			ids[k] = dnnq_graph_add_input(g, k ? "b" : "a", c->fp32 ? DNNQ_DTYPE_F32
			                                                        : DNNQ_DTYPE_U8,
			                              c->nd[k], c->dims[k], k ? &QB : &QA, d);
		ck_assert_msg(ids[k] >= 0, "%s", d->msg);
	}
	struct dnnq_node_desc nd = { .kind = dnnq_op_find(c->name)->kind, .name = "op",
	                             .ninputs = c->nin, .inputs = { ids[0], ids[1] },
	                             .precision = c->fp32 ? DNNQ_PRECISION_FP32
	                                                  : DNNQ_PRECISION_INT8 };
	nd.op.xfmr = c->x;
	nd.op.xfmr.isa = isa;
	nd.op.xfmr.out_qp = QY;
	int out = dnnq_graph_add_node(g, &nd, d);
	if (out < 0) {
		dnnq_graph_destroy(g);
		return out;
	}
	ck_assert_int_eq(dnnq_graph_add_output(g, out, d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, d) == 0, "%s", d->msg);
	ck_assert_msg(dnnq_graph_plan(g, (size_t)c->dims[0][0], 2, d) == 0, "%s", d->msg);
	ck_assert_int_eq(dnnq_graph_output_info(g, 0, oi), 0);
	void *outs[1] = { y };
	ck_assert_int_eq(dnnq_graph_run(g, in, outs, ex), 0);
	dnnq_graph_destroy(g);
	return DNNQ_OK;
}

static void fill(void *p, bool fp32, size_t n, struct rng *r)
{
	for (size_t i = 0; i < n; i++) {
		if (fp32)
			((float *)p)[i] = (float)rng_int(r, -4000, 4000) / 1000.0f;
		else
			((uint8_t *)p)[i] = (uint8_t)rng_int(r, 0, 255);
	}
}

/* The same n random elements as f32 and as u8 (a 4-D input X), seeded. */
struct both {
	float *f;
	uint8_t *u;
	size_t n;
};

static struct both both_inputs(const int64_t *X, uint64_t seed)
{
	struct rng r = { seed };
	struct both b = { .n = numel(4, X) };
	b.f = malloc(b.n * sizeof *b.f);
	b.u = malloc(b.n);
	fill(b.f, true, b.n, &r);
	fill(b.u, false, b.n, &r);
	return b;
}

/* ---- MatMul ---- */

/* Element (i0, i1, m, k) of a 4-D operand in ONNX order, stored NHWC when
 * nhwc (dims given in ONNX order). */
static size_t at4(const int64_t *d, bool nhwc, size_t b0, size_t b1, size_t r, size_t c)
{
	if (!nhwc)
		return ((b0 * (size_t)d[1] + b1) * (size_t)d[2] + r) * (size_t)d[3] + c;
	return ((b0 * (size_t)d[2] + r) * (size_t)d[3] + c) * (size_t)d[1] + b1;
}

/* A [N, H, M, K] by B [N, Hb, K, N] (Hb 1 or H), 4-D, both operands and the
 * output NCHW-kept-NHWC when nhwc; B a constant [1, 1, K, N] (a linear
 * layer's weights, packed at create) when hb is 0; int8 against the exact
 * integer formula, fp32 against double. */
static void matmul_case(bool fp32, bool nhwc, int64_t hb, enum dnnq_isa isa,
                        const struct dnnq_executor *ex, struct rng *r)
{
	const int64_t N = 2, H = 3, M = 5, K = hb ? 37 : 300, NN = hb ? 6 : 45;
	struct one c = { .name = "matmul", .fp32 = fp32, .cst = !hb, .nin = 2, .nd = { 4, 4 } };
	int64_t ao[4] = { N, H, M, K }, bo[4] = { hb ? N : 1, hb ? hb : 1, K, NN };
	int64_t yo[4] = { N, H, M, NN };
	for (int i = 0; i < 4; i++) {           /* the graph's dims: NHWC when nhwc */
		static const int nhwc_of[4] = { 0, 2, 3, 1 };
		c.dims[0][i] = nhwc ? ao[nhwc_of[i]] : ao[i];
		c.dims[1][i] = nhwc ? bo[nhwc_of[i]] : bo[i];
	}
	c.x.op = nhwc ? 7 : 0;
	size_t es = fp32 ? 4 : 1, na = numel(4, ao), nb = numel(4, bo), ny = numel(4, yo);
	void *a = malloc(na * es), *b = malloc(nb * es), *y = malloc(ny * es);
	fill(a, fp32, na, r);
	fill(b, fp32, nb, r);
	struct dnnq_tensor_info oi;
	struct dnnq_diag d;
	ck_assert_msg(run_one(&c, isa, (const void *[]){ a, b }, y, &oi, ex, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(oi.bytes, ny * es);
	float mult = (float)((double)QA.scale * QB.scale / QY.scale);
	for (size_t n0 = 0; n0 < (size_t)N; n0++)
		for (size_t h = 0; h < (size_t)H; h++)
			for (size_t m = 0; m < (size_t)M; m++)
				for (size_t j = 0; j < (size_t)NN; j++) {
					int64_t acc = 0;
					double s = 0, mag = 0;
					size_t hbi = hb > 1 ? h : 0;
					for (size_t k = 0; k < (size_t)K; k++) {
						size_t ia = at4(ao, nhwc, n0, h, m, k);
						size_t ib = at4(bo, nhwc, hb ? n0 : 0, hbi, k, j);
						if (fp32) {
							s += (double)((float *)a)[ia] * ((float *)b)[ib];
							mag += fabs((double)((float *)a)[ia] * ((float *)b)[ib]);
						} else {
							acc += ((int64_t)((uint8_t *)a)[ia] - QA.zero_point) *
							       ((int64_t)((uint8_t *)b)[ib] - QB.zero_point);
						}
					}
					size_t iy = at4(yo, nhwc, n0, h, m, j);
					if (fp32) {
						float got = ((float *)y)[iy];
						ck_assert_msg(fabs(got - s) <= 1e-5 * (1 + mag), "matmul fp32 %s: "
						              "%g, want %g", dnnq_isa_name(isa), got, s);
					} else {
						uint8_t want = (uint8_t)dnnq_requant_float_1((int32_t)acc, mult,
						                                             (float)QY.zero_point, 0,
						                                             255);
						ck_assert_msg(((uint8_t *)y)[iy] == want, "matmul int8 %s nhwc %d: %u, "
						              "want %u", dnnq_isa_name(isa), nhwc,
						              ((uint8_t *)y)[iy], want);
					}
				}
	free(a);
	free(b);
	free(y);
}

START_TEST(xfmr_matmul_every_isa)
{
	struct rng r = { 41 };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	FOR_EACH_ISA(isa)
		for (int fp32 = 0; fp32 < 2; fp32++)
			for (int nhwc = 0; nhwc < 2; nhwc++) {
				matmul_case(fp32, nhwc, 3, isa, &ex, &r);
				matmul_case(fp32, nhwc, 1, isa, &ex, &r);      /* B broadcasts */
				matmul_case(fp32, nhwc, 0, isa, &ex, &r);      /* B constant */
			}
	dnnq_pool_destroy(pool);
}
END_TEST

/* ---- reductions, softmax, layernorm: SIMD against scalar ---- */

/* Runs c on every ISA with the same inputs; every SIMD output equals the
 * scalar one; the scalar one is returned (malloc'd). */
static void *every_isa_same(const struct one *c, const void *const *in, size_t *bytes,
                            const struct dnnq_executor *ex)
{
	void *ref = NULL;
	FOR_EACH_ISA(isa) {
		struct dnnq_tensor_info oi;
		struct dnnq_diag d;
		void *y = malloc(1 << 16);
		ck_assert_msg(run_one(c, isa, in, y, &oi, ex, &d) == 0, "%s: %s", c->name, d.msg);
		*bytes = oi.bytes;
		if (!ref) {
			ref = y;
			continue;
		}
		ck_assert_msg(!memcmp(y, ref, oi.bytes), "%s %s: not the scalar kernel's bits",
		              c->name, dnnq_isa_name(isa));
		free(y);
	}
	return ref;
}

/* The output element that element e of a 4-D input X reduces into, the
 * dims red[] reduced. */
static size_t reduced_at(const int64_t *X, const bool *red, size_t e)
{
	size_t o = 0, s = 1;
	for (int k = 3; k >= 0; k--) {
		size_t idx = e % (size_t)X[k];
		e /= (size_t)X[k];
		if (!red[k]) {
			o += idx * s;
			s *= (size_t)X[k];
		}
	}
	return o;
}

START_TEST(xfmr_reduce_every_isa)
{
	static const struct { const char *name; int64_t axes[3]; uint32_t nax, keep; } cases[] = {
		{ "reduce_sum", { 3 }, 1, 1 }, { "reduce_mean", { 3 }, 1, 0 },
		{ "reduce_max", { 3 }, 1, 1 }, { "reduce_mean", { 1, 2 }, 2, 0 },
		{ "reduce_sum", { 2 }, 1, 1 }, { "reduce_max", { 1, 3 }, 2, 0 },
		{ "reduce_mean", { 1 }, 1, 1 }, { "reduce_max", { 1, 2, 3 }, 3, 1 },
	};
	const int64_t X[4] = { 2, 3, 5, 37 };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	struct both in = both_inputs(X, 43);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (int fp32 = 0; fp32 < 2; fp32++) {
			struct one c = { .name = cases[i].name, .fp32 = fp32, .nin = 1, .nd = { 4 } };
			memcpy(c.dims[0], X, sizeof X);
			c.x.ndim = cases[i].nax;
			c.x.op = cases[i].keep;
			memcpy(c.x.dims, cases[i].axes, sizeof cases[i].axes);
			size_t bytes;
			void *y = every_isa_same(&c, (const void *[]){ fp32 ? (void *)in.f : in.u }, &bytes,
			                         &ex);
			/* the oracle: sums in double (fp32) or integers (int8) by index */
			bool red[4] = { false }, max = !strcmp(c.name, "reduce_max");
			bool mean = !strcmp(c.name, "reduce_mean");
			size_t count = 1;
			for (uint32_t k = 0; k < cases[i].nax; k++)
				red[cases[i].axes[k]] = true, count *= (size_t)X[cases[i].axes[k]];
			size_t nout = in.n / count;
			ck_assert_uint_eq(bytes, nout * (fp32 ? 4 : 1));
			double *acc = calloc(nout, sizeof *acc);
			for (size_t o = 0; o < nout; o++)
				acc[o] = max ? -INFINITY : 0;
			for (size_t e = 0; e < in.n; e++) {
				size_t o = reduced_at(X, red, e);
				double v = fp32 ? in.f[e] : in.u[e];
				acc[o] = max ? fmax(acc[o], v) : acc[o] + v;
			}
			for (size_t o = 0; o < nout; o++) {
				if (fp32) {
					double want = mean ? acc[o] / (double)count : acc[o];
					float got = ((float *)y)[o];
					ck_assert_msg(fabs(got - want) <= 1e-5 * (1 + fabs(want)), "%s fp32 %zu: "
					              "%g, want %g", c.name, o, got, want);
					continue;
				}
				uint8_t want = max ? (uint8_t)acc[o] : (uint8_t)dnnq_saturate_rne(
					(float)((int64_t)acc[o] - (int64_t)count * QA.zero_point) *
					(QA.scale / (QY.scale * (mean ? (float)count : 1.0f))),
					(float)QY.zero_point, 0, 255);
				ck_assert_msg(((uint8_t *)y)[o] == want, "%s int8 case %zu output %zu: %u, "
				              "want %u", c.name, i, o, ((uint8_t *)y)[o], want);
			}
			free(acc);
			free(y);
		}
	free(in.f);
	free(in.u);
	dnnq_pool_destroy(pool);
}
END_TEST

/* An input [2, 3, 5, 37] of values lo..hi of either sign, about one in
 * nan_in + 1 NaN (nan_in 0: none), from seed; its n elements in *n. */
static float *reduce_f32_input(uint64_t seed, double lo, double hi, int nan_in, size_t *n)
{
	struct rng r = { seed };
	*n = 2 * 3 * 5 * 37;
	float *x = malloc(*n * sizeof *x);
	ck_assert_ptr_nonnull(x);
	for (size_t e = 0; e < *n; e++) {
		bool nan = nan_in && !rng_int(&r, 0, nan_in);
		x[e] = nan ? NAN : (float)(rng_uniform(&r, lo, hi) * (rng_int(&r, 0, 1) ? -1 : 1));
	}
	return x;
}

/* fp32 reduction `name` of x [2, 3, 5, 37] (X) over axes[0..nax) on every
 * ISA (every_isa_same); the axes into red[], the elements an output
 * reduces into *count, the outputs (malloc'd) returned. */
static float *reduce_f32_case(const char *name, const int64_t *X, const int64_t *axes,
                              uint32_t nax, uint32_t keep, const float *x, bool *red,
                              size_t *count, const struct dnnq_executor *ex)
{
	struct one c = { .name = name, .fp32 = true, .nin = 1, .nd = { 4 },
	                 .x = { .ndim = nax, .op = keep } };
	memcpy(c.dims[0], X, 4 * sizeof *X);
	memcpy(c.x.dims, axes, nax * sizeof *axes);
	size_t bytes;
	float *y = every_isa_same(&c, (const void *[]){ x }, &bytes, ex);
	*count = 1;
	for (uint32_t k = 0; k < nax; k++)
		red[axes[k]] = true, *count *= (size_t)X[axes[k]];
	ck_assert_uint_eq(bytes, numel(4, X) / *count * 4);
	return y;
}

/* ReduceProd, fp32 only: every ISA the scalar kernel's bits, within
 * count x 2^-22 (relative) of the product in double, on values of
 * magnitude 0.8..1.25 of either sign (the products stay finite), a NaN
 * and an infinity carried through; int8 is refused naming the node. */
START_TEST(xfmr_reduce_prod_every_isa)
{
	static const struct { int64_t axes[3]; uint32_t nax, keep; } cases[] = {
		{ { 3 }, 1, 1 }, { { 1, 2 }, 2, 0 }, { { 2 }, 1, 1 }, { { 1, 3 }, 2, 0 },
		{ { 1 }, 1, 1 }, { { 1, 2, 3 }, 3, 1 },
	};
	const int64_t X[4] = { 2, 3, 5, 37 };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	size_t n;
	float *x = reduce_f32_input(61, 0.8, 1.25, 0, &n);
	x[7] = NAN;                              /* batch 0, the last dim's 7th */
	x[n - 1] = INFINITY;                     /* batch 1, the last element */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool red[4] = { false };
		size_t count;
		float *y = reduce_f32_case("reduce_prod", X, cases[i].axes, cases[i].nax,
		                           cases[i].keep, x, red, &count, &ex);
		size_t nout = n / count;
		double *acc = malloc(nout * sizeof *acc);
		for (size_t o = 0; o < nout; o++)
			acc[o] = 1;
		for (size_t e = 0; e < n; e++)
			acc[reduced_at(X, red, e)] *= x[e];
		for (size_t o = 0; o < nout; o++) {
			double want = acc[o], got = y[o];
			bool ok = isnan(want) ? isnan(got) : isinf(want) ? got == want
			        : fabs(got - want) <= (double)count * 0x1p-22 * fabs(want);
			ck_assert_msg(ok, "reduce_prod case %zu output %zu: %g, want %g", i, o, got, want);
		}
		free(acc);
		free(y);
	}
	struct one c = { .name = "reduce_prod", .nin = 1, .nd = { 4 }, .x = { .ndim = 1 } };
	memcpy(c.dims[0], X, sizeof X);
	c.x.dims[0] = 3;
	struct dnnq_tensor_info oi;
	struct dnnq_diag d = { 0 };
	ck_assert_int_lt(run_one(&c, DNNQ_ISA_SCALAR, NULL, NULL, &oi, NULL, &d), 0);
	ck_assert_msg(strstr(d.msg, "'op'") && strstr(d.msg, "reduce_prod"), "%s", d.msg);
	free(x);
	dnnq_pool_destroy(pool);
}
END_TEST

/* ReduceMax (fp32) on NaN: each output is its first element, then a later
 * larger one (docs/onnx.md, "NaN in the maxima"): a NaN first stays, other
 * NaNs are passed over. Every ISA gives the scalar kernel's bits and the
 * reference executor's (engine/reduce.c's all_f32 lanes, its elementwise
 * rows, and their tree; before, a NaN dropped the maximum folded before it
 * and a NaN first was lost). */
START_TEST(xfmr_reduce_max_nan_every_isa)
{
	static const struct { int64_t axes[3]; uint32_t nax; } cases[] = {
		{ { 3 }, 1 }, { { 1, 3 }, 2 }, { { 1, 2, 3 }, 3 }, { { 2 }, 1 }, { { 1, 2 }, 2 },
	};
	const int64_t X[4] = { 2, 3, 5, 37 };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	size_t n;
	float *x = reduce_f32_input(67, 1, 100, 6, &n);
	for (size_t e = 0; e < n; e += 37 * 5)
		x[e] = NAN;                      /* the first of each [5, 37] plane */
	x[n / 2] = 7;                            /* but batch 1's first */
	x[37 + 1] = NAN;                         /* then 1e6 later in lane 1 (l + 8k) */
	x[37 + 9] = 1e6f;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool red[4] = { false };
		size_t count;
		float *y = reduce_f32_case("reduce_max", X, cases[i].axes, cases[i].nax, 1, x, red,
		                           &count, &ex);
		size_t nout = n / count;
		float *want = malloc(nout * sizeof *want);
		bool *seen = calloc(nout, 1);
		for (size_t e = 0; e < n; e++) {
			size_t o = reduced_at(X, red, e);
			if (!seen[o] || x[e] > want[o])
				want[o] = x[e];
			seen[o] = true;
		}
		size_t nan = 0;
		for (size_t o = 0; o < nout; o++) {
			nan += isnan(want[o]);
			ck_assert_msg(isnan(want[o]) ? isnan(y[o]) : y[o] == want[o],
			              "reduce_max case %zu output %zu: %g, want %g", i, o, y[o], want[o]);
		}
		ck_assert_msg(nan && nan < nout, "case %zu: %zu of %zu outputs NaN", i, nan, nout);
		free(seen);
		free(want);
		free(y);
	}
	free(x);
	dnnq_pool_destroy(pool);
}
END_TEST

START_TEST(xfmr_transpose_every_isa)
{
	const int64_t X[4] = { 2, 3, 4, 5 };
	const int64_t perms[][4] = { { 0, 2, 1, 3 }, { 0, 1, 3, 2 }, { 0, 3, 1, 2 }, { 0, 1, 2, 3 } };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	struct both in = both_inputs(X, 47);
	for (size_t p = 0; p < sizeof perms / sizeof perms[0]; p++)
		for (int fp32 = 0; fp32 < 2; fp32++) {
			struct one c = { .name = "transpose", .fp32 = fp32, .nin = 1, .nd = { 4 } };
			memcpy(c.dims[0], X, sizeof X);
			c.x.ndim = 4;
			memcpy(c.x.dims, perms[p], sizeof perms[p]);
			size_t bytes;
			void *y = every_isa_same(&c, (const void *[]){ fp32 ? (void *)in.f : in.u }, &bytes,
			                         &ex);
			ck_assert_uint_eq(bytes, in.n * (fp32 ? 4 : 1));
			int64_t yd[4], xs[4] = { X[1] * X[2] * X[3], X[2] * X[3], X[3], 1 };
			for (int i = 0; i < 4; i++)
				yd[i] = X[perms[p][i]];
			for (size_t e = 0; e < in.n; e++) {
				size_t q = e, off = 0;
				for (int i = 3; i >= 0; i--) {
					off += q % (size_t)yd[i] * (size_t)xs[perms[p][i]];
					q /= (size_t)yd[i];
				}
				ck_assert(fp32 ? ((float *)y)[e] == in.f[off] : ((uint8_t *)y)[e] == in.u[off]);
			}
			free(y);
		}
	free(in.f);
	free(in.u);
	dnnq_pool_destroy(pool);
}
END_TEST

/* Softmax and LogSoftmax on each axis, LayerNormalization (with a scale
 * and a bias, and without either): fp32 only. */
START_TEST(xfmr_softmax_layernorm_every_isa)
{
	const int64_t X[4] = { 2, 3, 4, 21 };
	struct rng r = { 53 };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	size_t n = numel(4, X), bytes;
	float *x = malloc(n * sizeof *x), w[21], b[21];
	fill(x, true, n, &r);
	fill(w, true, 21, &r);
	fill(b, true, 21, &r);
	for (int lg = 0; lg < 2; lg++)
		for (uint32_t axis = 1; axis < 4; axis++) {
			struct one c = { .name = lg ? "logsoftmax" : "softmax_axis", .fp32 = true,
			                 .nin = 1, .nd = { 4 } };
			memcpy(c.dims[0], X, sizeof X);
			c.x.axis = axis;
			float *y = every_isa_same(&c, (const void *[]){ x }, &bytes, &ex);
			size_t inner = 1, L = (size_t)X[axis];
			for (uint32_t i = axis + 1; i < 4; i++)
				inner *= (size_t)X[i];
			for (size_t l = 0; l < n / L; l++) {
				size_t base = l / inner * L * inner + l % inner;
				double mx = -INFINITY, s = 0;
				for (size_t i = 0; i < L; i++)
					mx = fmax(mx, x[base + i * inner]);
				for (size_t i = 0; i < L; i++)
					s += exp(x[base + i * inner] - mx);
				for (size_t i = 0; i < L; i++) {
					double v = x[base + i * inner] - mx;
					double want = lg ? v - log(s) : exp(v) / s;
					ck_assert_msg(fabs(y[base + i * inner] - want) <= 1e-5 * (1 + fabs(want)),
					              "%s axis %u: %g, want %g", c.name, axis, y[base + i * inner],
					              want);
				}
			}
			free(y);
		}
	struct one c = { .name = "layernorm", .fp32 = true, .nin = 1, .nd = { 4 } };
	memcpy(c.dims[0], X, sizeof X);
	c.x.axis = 3;
	c.x.params[0] = 1e-5f;
	c.x.w = w;
	c.x.b = b;
	c.x.wn = 21;
	float *y = every_isa_same(&c, (const void *[]){ x }, &bytes, &ex);
	for (size_t row = 0; row < n / 21; row++) {
		double m = 0, v = 0;
		for (size_t i = 0; i < 21; i++)
			m += x[row * 21 + i] / 21.0;
		for (size_t i = 0; i < 21; i++)
			v += (x[row * 21 + i] - m) * (x[row * 21 + i] - m) / 21.0;
		for (size_t i = 0; i < 21; i++) {
			double want = (x[row * 21 + i] - m) / sqrt(v + 1e-5) * w[i] + b[i];
			ck_assert_msg(fabs(y[row * 21 + i] - want) <= 1e-5 * (1 + fabs(want)),
			              "layernorm: %g, want %g", y[row * 21 + i], want);
		}
	}
	free(y);
	/* no scale (InstanceNormalization's): the normalization alone, over
	 * axes 2..3 (84 values), the bits of a scale of ones */
	float ones[84];
	for (size_t i = 0; i < 84; i++)
		ones[i] = 1;
	c.x.axis = 2;
	c.x.w = ones;
	c.x.b = NULL;
	c.x.wn = 84;
	y = every_isa_same(&c, (const void *[]){ x }, &bytes, &ex);
	c.x.w = NULL;
	c.x.wn = 0;
	float *y0 = every_isa_same(&c, (const void *[]){ x }, &bytes, &ex);
	ck_assert_uint_eq(bytes, n * sizeof *y);
	ck_assert_mem_eq(y0, y, bytes);
	free(y0);
	free(y);
	free(x);
	dnnq_pool_destroy(pool);
}
END_TEST

/* LRN across the innermost axis (a 4-D image's channels, eight a vector)
 * and across axis 1 (eight inner positions a vector), odd and even sizes
 * (the even window's longer half after c), against ONNX's formula in
 * double; fp32 only. The last cases have fewer channels than the size
 * (the window past both edges): 65536 over 3 contiguous channels once
 * made the AVX2 kernel add 65536 padded zeros an element, 4 * 1024 * 3 *
 * 65536 of them here (seconds, where the compute bounds count 3 an
 * element). */
START_TEST(xfmr_lrn_every_isa)
{
	static const struct {
		int64_t X[4];
		uint32_t axis, size;
		float alpha, beta, bias;
	} cases[] = {
		{ { 2, 5, 6, 21 }, 3, 5, 1e-4f, 0.75f, 1.0f },
		{ { 2, 5, 6, 21 }, 3, 4, 0.5f, 0.6f, 2.0f },
		{ { 2, 5, 6, 21 }, 3, 1, 2.0f, 1.0f, 0.5f },
		{ { 2, 5, 6, 21 }, 1, 3, 0.3f, 0.75f, 1.0f },
		{ { 2, 5, 6, 21 }, 1, 8, 1.0f, 0.5f, 1.5f },
		{ { 2, 5, 6, 21 }, 2, 5, 0.1f, 0.75f, 1.0f },
		{ { 4, 1024, 1, 3 }, 3, 65536, 1e4f, 0.75f, 1.0f },
		{ { 4, 1024, 1, 3 }, 3, 6, 3.0f, 0.6f, 1.0f },
		{ { 2, 3, 2, 11 }, 1, 65535, 5.0f, 0.5f, 2.0f },
		{ { 2, 3, 2, 11 }, 1, 2, 5.0f, 0.5f, 2.0f },
	};
	struct rng r = { 59 };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
		const int64_t *X = cases[t].X;
		size_t n = numel(4, X), bytes;
		float *x = malloc(n * sizeof *x);
		fill(x, true, n, &r);
		struct one c = { .name = "lrn", .fp32 = true, .nin = 1, .nd = { 4 } };
		memcpy(c.dims[0], X, 4 * sizeof *X);
		c.x.axis = cases[t].axis;
		c.x.k = cases[t].size;
		memcpy(c.x.params, (float[3]){ cases[t].alpha, cases[t].beta, cases[t].bias },
		       3 * sizeof(float));
		float *y = every_isa_same(&c, (const void *[]){ x }, &bytes, &ex);
		ck_assert_uint_eq(bytes, n * sizeof *y);
		size_t C = (size_t)X[c.x.axis], I = 1, lo = (c.x.k - 1) / 2, hi = c.x.k / 2;
		for (uint32_t i = c.x.axis + 1; i < 4; i++)
			I *= (size_t)X[i];
		for (size_t e = 0; e < n; e++) {
			size_t ch = e / I % C, base = e - ch * I;
			double s = 0;
			for (size_t k = ch >= lo ? ch - lo : 0; k <= ch + hi && k < C; k++)
				s += (double)x[base + k * I] * x[base + k * I];
			double want = x[e] * pow(cases[t].bias + cases[t].alpha / c.x.k * s,
			                         -(double)cases[t].beta);
			ck_assert_msg(fabs(y[e] - want) <= 1e-5 * (1 + fabs(want)),
			              "lrn case %zu element %zu: %g, want %g", t, e, y[e], want);
		}
		free(y);
		free(x);
	}
	dnnq_pool_destroy(pool);
}
END_TEST

/* ---- ArgMax, ArgMin ---- */

/* Inputs with many ties: u8 codes 120..127, their dequantized values fu,
 * and f32 integers -3..3 with a NaN one time in nan_in + 1 (a 4-D input
 * X, seeded). */
struct ties {
	uint8_t *u;
	float *f, *fu;
	size_t n;
};

static struct ties tie_inputs(const int64_t *X, uint64_t seed, int nan_in)
{
	struct rng r = { seed };
	struct ties t = { .n = numel(4, X) };
	t.u = malloc(t.n);
	t.f = malloc(t.n * sizeof *t.f);
	t.fu = malloc(t.n * sizeof *t.fu);
	for (size_t e = 0; e < t.n; e++) {
		t.u[e] = (uint8_t)(120 + rng_int(&r, 0, 7));
		t.f[e] = rng_int(&r, 0, nan_in) ? (float)rng_int(&r, -3, 3) : NAN;
		t.fu[e] = dnnq_dequantize_1(t.u[e], QA.zero_point, QA.scale);
	}
	return t;
}

static void ties_free(struct ties *t)
{
	free(t->u);
	free(t->f);
	free(t->fu);
}

/* Every axis, keepdims and select_last_index, both kinds, on values with
 * many ties (and NaNs in fp32): the index of the oracle's scan (a NaN
 * beats every number); int8 gives the fp32 node's indices on the
 * dequantized bytes exactly; 2 threads, every ISA the same. Hardmax on
 * each axis: 1 at that scan's first maximum, 0 elsewhere. */
START_TEST(xfmr_argmax_every_isa)
{
	const int64_t X[4] = { 2, 3, 5, 37 };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	struct ties in = tie_inputs(X, 47, 60);
	size_t n = in.n;
	const uint8_t *u = in.u;
	const float *f = in.f, *fu = in.fu;
	for (int kind = 0; kind < 2; kind++)
		for (uint32_t axis = 1; axis < 4; axis++)
			for (uint32_t op = 0; op < 4; op++)
				for (int fp32 = 0; fp32 < 3; fp32++) {   /* 2: fp32 on u's values */
					bool min = kind == 1, last = op & DNNQ_ARG_LAST;
					struct one c = { .name = min ? "argmin" : "argmax", .fp32 = fp32 > 0,
					                 .nin = 1, .nd = { 4 } };
					memcpy(c.dims[0], X, sizeof X);
					c.x.axis = axis;
					c.x.op = op;
					const float *xf = fp32 == 1 ? f : fu;
					size_t bytes;
					const void *x = fp32 == 1 ? (const void *)f
					              : fp32 ? (const void *)fu : (const void *)u;
					int32_t *y = every_isa_same(&c, &x, &bytes, &ex);
					size_t len = (size_t)X[axis], inner = 1;
					for (uint32_t k = axis + 1; k < 4; k++)
						inner *= (size_t)X[k];
					ck_assert_uint_eq(bytes, n / len * 4);
					for (size_t l = 0; l < n / len; l++) {
						const float *xl = xf + l / inner * len * inner + l % inner;
						size_t best = 0;
						for (size_t k = 1; k < len; k++) {
							float v = xl[k * inner], b = xl[best * inner];
							bool nv = isnan(v), nb = isnan(b);
							bool better = nv ? !nb : !nb && (min ? v < b : v > b);
							if (better || (last && (v == b || (nv && nb))))
								best = k;
						}
						ck_assert_msg(y[l] == (int32_t)best, "%s axis %u op %u %s: line %zu: "
						              "%d, want %zu", c.name, axis, op, fp32 ? "fp32" : "int8",
						              l, y[l], best);
					}
					free(y);
				}
	/* Hardmax: ArgMax's first maximum (a NaN first) as a one-hot, fp32 */
	for (uint32_t axis = 1; axis < 4; axis++) {
		struct one c = { .name = "hardmax", .fp32 = true, .nin = 1, .nd = { 4 } };
		memcpy(c.dims[0], X, sizeof X);
		c.x.axis = axis;
		size_t bytes;
		const void *x = f;
		float *y = every_isa_same(&c, &x, &bytes, &ex);
		size_t len = (size_t)X[axis], inner = 1;
		for (uint32_t k = axis + 1; k < 4; k++)
			inner *= (size_t)X[k];
		ck_assert_uint_eq(bytes, n * 4);
		for (size_t l = 0; l < n / len; l++) {
			size_t base = l / inner * len * inner + l % inner, best = 0;
			for (size_t k = 1; k < len; k++) {
				float v = f[base + k * inner], b = f[base + best * inner];
				if (isnan(v) ? !isnan(b) : !isnan(b) && v > b)
					best = k;
			}
			for (size_t k = 0; k < len; k++)
				ck_assert_msg(y[base + k * inner] == (k == best ? 1.0f : 0.0f),
				              "hardmax axis %u line %zu: [%zu] = %g, the first maximum at %zu",
				              axis, l, k, y[base + k * inner], best);
		}
		free(y);
	}
	ties_free(&in);
	dnnq_pool_destroy(pool);
}
END_TEST

/* ---- TopK ---- */

/* Whether element a of a line comes before b in TopK's order: a NaN
 * first, then the larger (smaller: min), a tie to the lower index. */
static bool topk_first(const float *xl, size_t inner, bool min, size_t a, size_t b)
{
	float va = xl[a * inner], vb = xl[b * inner];
	if (isnan(va) != isnan(vb))
		return isnan(va);
	if (isnan(va) || va == vb)
		return a < b;
	return min ? va < vb : va > vb;
}

/* The compute bounds' work (dnnq_graph_cost) of one fp32 node of kind
 * name along axis 1 (k: its xfmr k) of an input of dims (rank 2 or 3). */
static uint64_t node_work_of(const char *name, uint32_t ndim, const int64_t *dims, uint32_t k)
{
	struct dnnq_diag d = { "" };
	struct dnnq_graph *g;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int in = dnnq_graph_add_input(g, "a", DNNQ_DTYPE_F32, ndim, dims, NULL, &d);
	ck_assert_msg(in >= 0, "%s", d.msg);
	struct dnnq_node_desc nd = { .kind = dnnq_op_find(name)->kind, .name = "op",
	                             .ninputs = 1, .inputs = { in },
	                             .precision = DNNQ_PRECISION_FP32 };
	nd.op.xfmr.axis = 1;
	nd.op.xfmr.k = k;
	int out = dnnq_graph_add_node(g, &nd, &d);
	ck_assert_msg(out >= 0, "%s", d.msg);
	ck_assert_int_eq(dnnq_graph_add_output(g, out, &d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, &d) == 0, "%s", d.msg);
	struct dnnq_graph_cost c;
	ck_assert_msg(dnnq_graph_cost(g, 1, 1, &c, &d) == 0, "%s", d.msg);
	dnnq_graph_destroy(g);
	return c.node_work;
}

/* A TopK's work as the compute bounds count it (dnnq_graph_cost): its
 * selection's worst case, len x 2 (1 + floor(log2 k)) compares a line: not
 * the bytes it moves (a 708-byte model of one line of 2^17 with k its
 * length ran 14 s under fuzz-model, its work counted as 1 MB), nor len x k
 * (2^34: that of keeping the best k sorted, which the heap does not). */
START_TEST(xfmr_topk_work_counted)
{
	const int64_t dims[2] = { 1, 1 << 17 };
	uint64_t w = node_work_of("topk", 2, dims, 1u << 17);
	uint64_t compares = ((uint64_t)1 << 17) * 2 * 18, bytes = (uint64_t)8 << 17;
	ck_assert_uint_ge(w, compares + bytes);
	ck_assert_uint_le(w, compares + 2 * bytes);
}
END_TEST

/* An LRN's work as the compute bounds count it: a multiply-add for each
 * channel of each element's window, at most 2C - 1 of them however large
 * the size (a file may ask for 65536; the AVX2 kernel's padded row adds
 * that many), and the power's; not its bytes alone. */
START_TEST(xfmr_lrn_work_counted)
{
	const int64_t dims[3] = { 1, 256, 4096 };
	for (int big = 0; big < 2; big++) {
		uint64_t w = node_work_of("lrn", 3, dims, big ? 65536 : 5);
		uint64_t elems = 256 * 4096, macs = elems * (big ? 511 : 5), bytes = elems * 8;
		ck_assert_uint_ge(w, macs + bytes);
		ck_assert_uint_le(w, macs + bytes + elems * 64);
	}
}
END_TEST

/* qsort_r's order of a line's indices: topk_first's, a total one. */
struct topk_line {
	const float *xl;
	size_t inner;
	bool min;
};

static int topk_cmp(const void *a, const void *b, void *arg)
{
	const struct topk_line *t = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	return ia == ib ? 0 : topk_first(t->xl, t->inner, t->min, ia, ib) ? -1 : 1;
}

/* Long lines, k up to their length, against a sort of each line: 3 lines
 * of 4096 (inner 3), ties (a few small integers, +0 and -0 among them),
 * NaNs one in 40, the rest distinct; fp32 and int8 (on u8 codes with
 * ties), largest and smallest, both kinds; the graph planned for 2
 * threads. */
START_TEST(xfmr_topk_long_lines)
{
	enum { L = 4096, I = 3, N = L * I };
	static const uint32_t ks[] = { 1, 7, 999, 1000, L };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	struct rng r = { 59 };
	float *f = malloc(N * sizeof *f), *fu = malloc(N * sizeof *fu);
	uint8_t *u = malloc(N);
	void *y = malloc(N * sizeof(float));
	size_t *order = malloc(L * sizeof *order);
	for (size_t e = 0; e < N; e++) {
		int64_t t = rng_int(&r, 0, 79);
		f[e] = t < 2 ? NAN : t < 40 ? (float)rng_int(&r, -3, 3) * (t & 1 ? -1.f : 1.f)
		     : (float)rng_uniform(&r, -4, 4);
		u[e] = (uint8_t)(t < 40 ? 120 + rng_int(&r, 0, 7) : rng_int(&r, 0, 255));
		fu[e] = dnnq_dequantize_1(u[e], QA.zero_point, QA.scale);
	}
	for (int kind = 0; kind < 2; kind++)
		for (uint32_t op = 0; op < 2; op++)
			for (int fp32 = 0; fp32 < 2; fp32++)
				for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
					uint32_t k = ks[ki];
					struct one c = { .name = kind ? "topk_indices" : "topk", .fp32 = fp32,
					                 .nin = 1, .nd = { 3 }, .dims = { { 1, L, I } } };
					c.x.axis = 1;
					c.x.op = op;
					c.x.k = k;
					struct dnnq_tensor_info oi;
					struct dnnq_diag d = { "" };
					const float *xf = fp32 ? f : fu;
					ck_assert_msg(run_one(&c, DNNQ_ISA_SCALAR, (const void *[]){
					                      fp32 ? (const void *)f : (const void *)u }, y, &oi,
					                      &ex, &d) == 0, "%s", d.msg);
					ck_assert_uint_eq(oi.bytes, (size_t)k * I * (kind || fp32 ? 4 : 1));
					for (size_t i = 0; i < I; i++) {
						struct topk_line t = { xf + i, I, op };
						for (size_t e = 0; e < L; e++)
							order[e] = e;
						qsort_r(order, L, sizeof *order, topk_cmp, &t);
						for (size_t j = 0; j < k; j++) {
							size_t o = j * I + i, src = order[j] * I + i;
							bool ok = kind ? ((int32_t *)y)[o] == (int32_t)order[j]
							        : fp32 ? !memcmp((float *)y + o, f + src, 4)
							               : ((uint8_t *)y)[o] == u[src];
							ck_assert_msg(ok, "%s op %u k %u %s: line %zu, %zu: want index "
							              "%zu", c.name, op, k, fp32 ? "fp32" : "int8", i, j,
							              order[j]);
						}
					}
				}
	free(order);
	free(y);
	free(u);
	free(fu);
	free(f);
	dnnq_pool_destroy(pool);
}
END_TEST

/* Both kinds on every axis, largest and smallest, k 1, 2 and the axis'
 * length, on values with many ties (and NaNs in fp32): the first k of the
 * line sorted by an insertion sort in that order; int8 selects as fp32
 * does on the dequantized bytes and moves the bytes; 2 threads, every ISA
 * the same. */
START_TEST(xfmr_topk_every_isa)
{
	const int64_t X[4] = { 2, 3, 5, 37 };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	struct ties in = tie_inputs(X, 53, 30);
	size_t n = in.n, order[37];
	const uint8_t *u = in.u;
	const float *f = in.f, *fu = in.fu;
	for (int kind = 0; kind < 2; kind++)
		for (uint32_t axis = 1; axis < 4; axis++)
			for (uint32_t t = 0; t < 6; t++)            /* op: t & 1; k: 1, 2, len */
				for (int fp32 = 0; fp32 < 3; fp32++) {   /* 2: fp32 on u's values */
					uint32_t op = t & 1, k = t < 2 ? 1 : t < 4 ? 2 : (uint32_t)X[axis];
					struct one c = { .name = kind ? "topk_indices" : "topk",
					                 .fp32 = fp32 > 0, .nin = 1, .nd = { 4 } };
					memcpy(c.dims[0], X, sizeof X);
					c.x.axis = axis;
					c.x.op = op;
					c.x.k = k;
					const float *xf = fp32 == 1 ? f : fu;
					size_t bytes, len = (size_t)X[axis], inner = 1;
					const void *x = fp32 == 1 ? (const void *)f
					              : fp32 ? (const void *)fu : (const void *)u;
					void *y = every_isa_same(&c, &x, &bytes, &ex);
					for (uint32_t a = axis + 1; a < 4; a++)
						inner *= (size_t)X[a];
					ck_assert_uint_eq(bytes, n / len * k * (kind || fp32 ? 4 : 1));
					for (size_t l = 0; l < n / len; l++) {
						size_t base = l / inner * len * inner + l % inner;
						for (size_t e = 0; e < len; e++) {
							size_t at = e;
							for (; at > 0 && topk_first(xf + base, inner, op, e, order[at - 1]);
							     at--)
								order[at] = order[at - 1];
							order[at] = e;
						}
						for (size_t j = 0; j < k; j++) {
							size_t o = (l / inner * k + j) * inner + l % inner;
							size_t src = base + order[j] * inner;
							bool ok = kind ? ((int32_t *)y)[o] == (int32_t)order[j]
							        : fp32 ? !memcmp((float *)y + o, xf + src, 4)
							               : ((uint8_t *)y)[o] == u[src];
							ck_assert_msg(ok, "%s axis %u op %u k %u %s: line %zu, %zu: want "
							              "index %zu", c.name, axis, op, k, fp32 ? "fp32" :
							              "int8", l, j, order[j]);
						}
					}
					free(y);
				}
	ties_free(&in);
	dnnq_pool_destroy(pool);
}
END_TEST

/* ---- refused ---- */

START_TEST(xfmr_bad_attributes)
{
	static const struct {
		const char *name;
		uint32_t ndim, op, axis;
		int64_t dims[4];
		const char *why;
	} cases[] = {
		{ "transpose", 4, 0, 0, { 0, 1, 1, 2 }, "not a permutation" },
		{ "transpose", 4, 0, 0, { 1, 0, 2, 3 }, "batch" },
		{ "transpose", 3, 0, 0, { 0, 1, 2 }, "rank 4" },
		{ "reduce_sum", 1, 0, 0, { 0 }, "axes ascend" },
		{ "reduce_mean", 2, 0, 0, { 2, 1 }, "axes ascend" },
		{ "reduce_max", 1, 2, 0, { 1 }, "keepdims" },
		{ "softmax_axis", 0, 0, 0, { 0 }, "axis 0" },
		{ "logsoftmax", 0, 0, 7, { 0 }, "axis 7" },
		{ "argmax", 0, 0, 4, { 0 }, "axis 4" },
		{ "argmin", 0, 0, 0, { 0 }, "axis 0" },
	};
	uint8_t xb[2 * 3 * 4 * 5] = { 0 };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool fp32 = !strcmp(cases[i].name, "softmax_axis") ||
		            !strcmp(cases[i].name, "logsoftmax");
		struct one c = { .name = cases[i].name, .fp32 = fp32, .nin = 1, .nd = { 4 },
		                 .dims = { { 2, 3, 4, 5 } } };
		c.x.ndim = cases[i].ndim;
		c.x.op = cases[i].op;
		c.x.axis = cases[i].axis;
		memcpy(c.x.dims, cases[i].dims, sizeof cases[i].dims);
		struct dnnq_tensor_info oi;
		struct dnnq_diag d = { 0 };
		int rc = run_one(&c, DNNQ_ISA_SCALAR, (const void *[]){ xb }, NULL, &oi, NULL, &d);
		ck_assert_msg(rc < 0 && strstr(d.msg, "'op'") && strstr(d.msg, cases[i].why),
		              "case %zu (%s): rc %d, '%s'", i, cases[i].name, rc, d.msg);
	}
	/* TopK: k of 0 or beyond the axis' length, the batch's axis */
	static const struct { uint32_t axis, k; const char *why; } tk[] = {
		{ 2, 0, "k 0" }, { 2, 5, "k 5 of axis 2" }, { 0, 1, "axis 0" },
	};
	for (size_t i = 0; i < sizeof tk / sizeof tk[0]; i++) {
		struct one c = { .name = i ? "topk_indices" : "topk", .nin = 1, .nd = { 4 },
		                 .dims = { { 2, 3, 4, 5 } } };
		c.x.axis = tk[i].axis;
		c.x.k = tk[i].k;
		struct dnnq_tensor_info oi;
		struct dnnq_diag d = { 0 };
		int rc = run_one(&c, DNNQ_ISA_SCALAR, (const void *[]){ xb }, NULL, &oi, NULL, &d);
		ck_assert_msg(rc < 0 && strstr(d.msg, "'op'") && strstr(d.msg, tk[i].why),
		              "topk case %zu: rc %d, '%s'", i, rc, d.msg);
	}
	/* MatMul: K does not chain; int8 LayerNormalization has no kernel */
	struct one c = { .name = "matmul", .nin = 2, .nd = { 3, 3 },
	                 .dims = { { 2, 4, 5 }, { 2, 6, 3 } } };
	struct dnnq_tensor_info oi;
	struct dnnq_diag d = { 0 };
	ck_assert_int_lt(run_one(&c, DNNQ_ISA_SCALAR, NULL, NULL, &oi, NULL, &d), 0);
	ck_assert_msg(strstr(d.msg, "'op'") && strstr(d.msg, "do not chain"), "%s", d.msg);
	c = (struct one){ .name = "layernorm", .nin = 1, .nd = { 3 }, .dims = { { 2, 4, 5 } } };
	ck_assert_int_lt(run_one(&c, DNNQ_ISA_SCALAR, NULL, NULL, &oi, NULL, &d), 0);
	ck_assert_msg(strstr(d.msg, "'op'") && strstr(d.msg, "layernorm"), "%s", d.msg);
	/* LRN: int8 has no kernel; the batch's axis, size 0, an infinite alpha */
	c = (struct one){ .name = "lrn", .nin = 1, .nd = { 3 }, .dims = { { 2, 4, 5 } } };
	ck_assert_int_lt(run_one(&c, DNNQ_ISA_SCALAR, NULL, NULL, &oi, NULL, &d), 0);
	ck_assert_msg(strstr(d.msg, "'op'") && strstr(d.msg, "lrn"), "%s", d.msg);
	static const struct { uint32_t axis, size; float alpha; const char *why; } lr[] = {
		{ 0, 5, 1e-4f, "axis 0" }, { 1, 0, 1e-4f, "size 0" }, { 2, 5, INFINITY, "params[0]" },
	};
	for (size_t i = 0; i < sizeof lr / sizeof lr[0]; i++) {
		c = (struct one){ .name = "lrn", .fp32 = true, .nin = 1, .nd = { 3 },
		                  .dims = { { 2, 4, 5 } } };
		c.x.axis = lr[i].axis;
		c.x.k = lr[i].size;
		c.x.params[0] = lr[i].alpha;
		ck_assert_int_lt(run_one(&c, DNNQ_ISA_SCALAR, NULL, NULL, &oi, NULL, &d), 0);
		ck_assert_msg(strstr(d.msg, "'op'") && strstr(d.msg, lr[i].why), "lrn case %zu: %s",
		              i, d.msg);
	}
}
END_TEST

Suite *suite_xfmr(void)
{
	Suite *s = suite_create("xfmr");
	TCase *tc = tcase_create("xfmr");
	tcase_add_test(tc, xfmr_matmul_every_isa);
	tcase_add_test(tc, xfmr_reduce_every_isa);
	tcase_add_test(tc, xfmr_reduce_prod_every_isa);
	tcase_add_test(tc, xfmr_reduce_max_nan_every_isa);
	tcase_add_test(tc, xfmr_transpose_every_isa);
	tcase_add_test(tc, xfmr_softmax_layernorm_every_isa);
	tcase_add_test(tc, xfmr_lrn_every_isa);
	tcase_add_test(tc, xfmr_lrn_work_counted);
	tcase_add_test(tc, xfmr_argmax_every_isa);
	tcase_add_test(tc, xfmr_topk_every_isa);
	tcase_add_test(tc, xfmr_topk_work_counted);
	tcase_add_test(tc, xfmr_topk_long_lines);
	tcase_add_test(tc, xfmr_bad_attributes);
	suite_add_tcase(s, tc);
	return s;
}
