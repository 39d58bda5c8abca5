/*
 * The unary elementwise operators and the fused activations (suite unary):
 * every unary operator of the registry (engine/unary.h) gives, on every
 * ISA, the bytes of its table built from the scalar formula (int8, where it
 * has an int8 node) and the scalar kernel's bits (fp32); the polynomial exp, log, erf and pow stay
 * within a few ulp of libm in double, special values included; the
 * importer fuses the torch exports of HardSwish, Swish and GELU
 * (tests/onnx/ops/fuse_*.onnx, tools/mkonnx.py) and leaves a pattern whose
 * intermediate is a graph output alone.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/pool.h"
#include "engine/graph.h"
#include "engine/unary.h"
#include "onnx/ir.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

#define N_ELEMS (3 * 5 * 7 * 11)

/* One node of kind def reading an input [batch, 5, 7, 11] (u8 or f32),
 * run on isa; y receives the output. */
static void run_node(const struct dnnq_op_def *def, bool fp32, enum dnnq_isa isa,
                     const struct dnnq_executor *ex, const void *x, void *y)
{
	struct dnnq_qparams qx = { 0.05f, 128, 8, false }, qy = { 0.03f, 100, 8, false };
	struct dnnq_graph *g;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int64_t dims[4] = { 3, 5, 7, 11 };
	int in = dnnq_graph_add_input(g, "x", fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8, 4, dims,
	                              fp32 ? NULL : &qx, &d);
	ck_assert_msg(in >= 0, "%s", d.msg);
	struct dnnq_node_desc nd = { .kind = def->kind, .name = "op", .ninputs = 1,
	                             .inputs = { in },
	                             .precision = fp32 ? DNNQ_PRECISION_FP32 : DNNQ_PRECISION_INT8 };
	nd.op.binary.isa = isa;
	nd.op.binary.out_qp = qy;
	int out = dnnq_graph_add_node(g, &nd, &d);
	ck_assert_msg(out >= 0, "%s: %s", def->name, d.msg);
	ck_assert_int_eq(dnnq_graph_add_output(g, out, &d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_graph_plan(g, 3, 2, &d) == 0, "%s", d.msg);
	const void *gin[1] = { x };
	void *gout[1] = { y };
	ck_assert_int_eq(dnnq_graph_run(g, gin, gout, ex), 0);
	dnnq_graph_destroy(g);
	/* the int8 oracle: the formula on each dequantized value, quantized */
	for (size_t e = 0; !fp32 && e < N_ELEMS; e++) {
		uint8_t q = ((const uint8_t *)x)[e];
		float v = dnnq_unary_fn(def)(((float)q - 128.0f) * 0.05f);
		uint8_t want = (uint8_t)dnnq_saturate_rne(v / 0.03f, 100.0f, 0, 255);
		ck_assert_msg(((const uint8_t *)y)[e] == want, "%s %s element %zu (x %u): %u, want %u",
		              def->name, dnnq_isa_name(isa), e, q, ((const uint8_t *)y)[e], want);
	}
}

START_TEST(unary_ops_every_isa)
{
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	uint8_t xq[N_ELEMS], yq[N_ELEMS];
	float xf[N_ELEMS], yf[N_ELEMS], ys[N_ELEMS];
	struct rng rng = { 0xe1e1 };
	for (size_t e = 0; e < N_ELEMS; e++) {
		xq[e] = (uint8_t)e;    /* every code, many times */
		xf[e] = (float)rng_uniform(&rng, -12, 12);
	}
	xf[0] = 0.0f, xf[1] = -0.0f, xf[2] = INFINITY, xf[3] = -INFINITY, xf[4] = NAN;
	xf[5] = 1e-40f, xf[6] = 100.0f, xf[7] = -100.0f;
	size_t nk, nun = 0;
	const struct dnnq_op_def *const *all = dnnq_op_all(&nk);
	for (size_t o = 0; o < nk; o++) {
		const struct dnnq_op_def *def = all[o];
		if (!dnnq_unary_fn(def))
			continue;
		nun++;
		run_node(def, true, DNNQ_ISA_SCALAR, NULL, xf, ys);
		FOR_EACH_ISA(isa) {
			if (def->ops)          /* Log is fp32 only */
				run_node(def, false, isa, isa % 2 ? &ex : NULL, xq, yq);
			run_node(def, true, isa, isa % 2 ? NULL : &ex, xf, yf);
			for (size_t e = 0; e < N_ELEMS; e++)
				ck_assert_msg(!memcmp(&yf[e], &ys[e], 4), "%s fp32 %s element %zu (x %g): "
				              "%a, scalar %a", def->name, dnnq_isa_name(isa), e, xf[e], yf[e],
				              ys[e]);
		}
	}
	ck_assert_uint_eq(nun, 31);   /* sqrt reciprocal neg abs exp log erf swish gelu not
	                                 nonzero softplus ceil floor round sign sin cos
	                                 cast_int64 cast_int32 cast_int8 cast_uint8 atan asin
	                                 acos tan sinh cosh asinh acosh atanh */
	dnnq_pool_destroy(pool);
}
END_TEST

/* |got - want| in units of want's last place (as a float). */
static double ulps(float got, double want)
{
	if (isnan(want))
		return isnan(got) ? 0 : INFINITY;
	if (isinf(want) || isinf(got))
		return (double)got == want ? 0 : INFINITY;
	float w = (float)fabs(want);
	double ulp = w < FLT_MIN ? 0x1p-149 : (double)nextafterf(w, INFINITY) - w;
	return fabs((double)got - want) / ulp;
}

/* f against ref over [lo, hi] (a log-spaced sweep when log): the largest
 * error in ulps. */
static double sweep(float (*f)(float), double (*ref)(double), double lo, double hi, bool log)
{
	double worst = 0;
	for (int i = 0; i <= 200000; i++) {
		double t = i / 200000.0;
		float x = (float)(log ? exp(lo + (hi - lo) * t) : lo + (hi - lo) * t);
		double e = ulps(f(x), ref(x));
		worst = e > worst ? e : worst;
	}
	return worst;
}

static float exp1(float x) { return dnnq_exp1(x); }
static float log1(float x) { return dnnq_log1(x); }
static float erf1(float x) { return dnnq_erf1(x); }

START_TEST(unary_math_vs_libm)
{
	double e;
	ck_assert_msg((e = sweep(exp1, exp, -103, 88.7, false)) <= 1.0, "exp: %g ulp", e);
	ck_assert_msg((e = sweep(log1, log, -100, 88, true)) <= 1.0, "log: %g ulp", e);
	ck_assert_msg((e = sweep(log1, log, 0.5, 2, false)) <= 1.0, "log near 1: %g ulp", e);
	ck_assert_msg((e = sweep(log1, log, -103, -88, true)) <= 1.0, "log subnormal: %g ulp", e);
	ck_assert_msg((e = sweep(erf1, erf, -6, 6, false)) <= 8.0, "erf: %g ulp", e);
	ck_assert_msg((e = sweep(erf1, erf, -30, -1, true)) <= 8.0, "erf small: %g ulp", e);
	/* special values */
	ck_assert(dnnq_log1(0.0f) == -INFINITY && dnnq_log1(-0.0f) == -INFINITY);
	ck_assert(isnan(dnnq_log1(-1.0f)) && isnan(dnnq_log1(NAN)));
	ck_assert(dnnq_log1(INFINITY) == INFINITY && dnnq_exp1(INFINITY) == INFINITY);
	ck_assert(dnnq_exp1(-INFINITY) == 0.0f && isnan(dnnq_exp1(NAN)));
	ck_assert(dnnq_erf1(INFINITY) == 1.0f && dnnq_erf1(-INFINITY) == -1.0f);
	ck_assert(isnan(dnnq_erf1(NAN)));
	/* pow as C's powf: exp(b log |a|) loses what the product's rounding
	 * loses, about |b ln a| / 2 ulp */
	static const float base[] = { 0.0f, 0.5f, 1.0f, 2.0f, 3.7f, -2.0f, -0.3f, 1e-3f, 1e3f };
	static const float expo[] = { 0.0f, 1.0f, 2.0f, 3.0f, -1.0f, 0.5f, -2.5f, 7.0f, 1.5f };
	for (size_t i = 0; i < sizeof base / sizeof *base; i++)
		for (size_t j = 0; j < sizeof expo / sizeof *expo; j++) {
			float a = base[i], b = expo[j];
			double want = pow((double)a, (double)b);
			double arg = b * log(fabs((double)a)), tol = 2 + (isfinite(arg) ? fabs(arg) / 2 : 0);
			ck_assert_msg(ulps(dnnq_pow1(a, b), want) <= tol, "pow(%g, %g): %a, want %a", a, b,
			              dnnq_pow1(a, b), want);
		}
	ck_assert(dnnq_pow1(NAN, 0.0f) == 1.0f && dnnq_pow1(1.0f, NAN) == 1.0f);
	ck_assert(isnan(dnnq_pow1(-2.0f, 0.5f)));
}
END_TEST

/* The pow kernel: AVX2 gives the scalar formula's bits on special pairs. */
__attribute__((target("avx2"))) static void pow_avx2(const float *a, const float *b, float *y)
{
	_mm256_storeu_ps(y, dnnq_pow8(_mm256_loadu_ps(a), _mm256_loadu_ps(b)));
}

START_TEST(unary_pow_avx2_bitexact)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return;
	static const float v[] = { 0.0f, -0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.5f, -3.5f, 1e-40f,
	                           INFINITY, -INFINITY, NAN, 3.0f, 1e20f, -7.0f, 0.1f };
	const size_t n = sizeof v / sizeof *v;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j + 8 <= n; j += 8) {
			float a[8], y[8];
			for (int k = 0; k < 8; k++)
				a[k] = v[i];
			pow_avx2(a, v + j, y);
			for (int k = 0; k < 8; k++) {
				float s = dnnq_pow1(v[i], v[j + k]);
				ck_assert_msg(!memcmp(&s, &y[k], 4), "pow(%g, %g): avx2 %a, scalar %a", v[i],
				              v[j + k], y[k], s);
			}
		}
}
END_TEST

/* Sin and Cos (dnnq_sincos1) against libm in double at 200000 points: the
 * largest error in units of max(ulp(y), 2^-24) (near a zero of the result
 * the reduction's absolute error, not the result's ulp, bounds it); the
 * AVX2 kernel gives the scalar bits at every point. */
__attribute__((target("avx2"))) static void sincos_avx2(const float *x, float *y, float quarter)
{
	_mm256_storeu_ps(y, dnnq_sincos8(_mm256_loadu_ps(x), quarter));
}

/* Point i of 200000 spread evenly over [-lim, lim]. */
static float sweep_point(int i, double lim)
{
	return (float)(-lim + 2 * lim * i / 200000.0);
}

/* Point i past DNNQ_TRIG_FAST: a float of exponent 2^13 .. 2^127 (i mod
 * 115), its mantissa hashed from i, odd i negative (lim unused). */
static float far_point(int i, double lim)
{
	(void)lim;
	uint32_t h = (uint32_t)i * 2654435761u;
	uint32_t u = ((uint32_t)(140 + i % 115) << 23) | (h >> 9) | (i & 1 ? 0x80000000u : 0);
	float x;
	memcpy(&x, &u, 4);
	return x;
}

static double sincos_sweep(float quarter, float (*point)(int i, double lim), double lim)
{
	double worst = 0;
	bool avx2 = dnnq_isa_supported(DNNQ_ISA_AVX2);
	for (int i = 0; i < 200000; i += 8) {
		float x[8], y[8];
		for (int k = 0; k < 8; k++)
			x[k] = point(i + k, lim);
		if (avx2)
			sincos_avx2(x, y, quarter);
		for (int k = 0; k < 8; k++) {
			float got = dnnq_sincos1(x[k], quarter);
			ck_assert_msg(!avx2 || !memcmp(&got, &y[k], 4), "%s(%a): avx2 %a, scalar %a",
			              quarter ? "cos" : "sin", x[k], y[k], got);
			double want = quarter ? cos(x[k]) : sin(x[k]);
			float w = (float)fabs(want);
			double e = fabs(got - want) / fmax((double)nextafterf(w, INFINITY) - w, 0x1p-24);
			worst = e > worst ? e : worst;
		}
	}
	return worst;
}

START_TEST(unary_sincos_vs_libm)
{
	double e;
	for (int q = 0; q <= 2; q += 2) {
		ck_assert_msg((e = sincos_sweep(q, sweep_point, 4)) <= 1.5, "quarter %d, |x| <= 4: %g",
		              q, e);
		ck_assert_msg((e = sincos_sweep(q, sweep_point, 8192)) <= 1.5, "quarter %d, |x| <= "
		              "8192: %g", q, e);
		/* reduced exactly past it: 51471 (2^16 pi/4) was NaN, 1e30 too */
		ck_assert_msg((e = sincos_sweep(q, sweep_point, 60000)) <= 1.5, "quarter %d, |x| <= "
		              "60000: %g", q, e);
		ck_assert_msg((e = sincos_sweep(q, far_point, 0)) <= 1.5, "quarter %d, |x| to "
		              "FLT_MAX: %g", q, e);
		float big[] = { 51472.0f, -1e30f, FLT_MAX, -FLT_MAX, 0x1.8p13f, 1e20f };
		for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
			double want = q ? cos(big[i]) : sin(big[i]);
			float got = dnnq_sincos1(big[i], q);
			ck_assert_msg(fabs(got - want) <= 2e-7 * fmax(fabs(want), 0.25),
			              "%s(%a) = %a, libm %a", q ? "cos" : "sin", big[i], got, want);
		}
		/* NaN and the infinities: NaN */
		ck_assert(isnan(dnnq_sincos1(INFINITY, q)) && isnan(dnnq_sincos1(-INFINITY, q)));
		ck_assert(isnan(dnnq_sincos1(NAN, q)));
	}
	float s0 = dnnq_sincos1(-0.0f, 0.0f);
	ck_assert(s0 == 0.0f && signbit(s0));      /* sin(-0) = -0 */
	ck_assert(dnnq_sincos1(-0.0f, 2.0f) == 1.0f);
}
END_TEST

/* A float cast to int64, int32, int8 and uint8 (engine/ops/cast_*.c)
 * gives what ONNX Runtime 1.31 gave on x86 for the same floats (its Cast
 * run on them, tools/mkopgaps.py's cast_int the same way), scalar and
 * AVX2 alike: truncation toward zero; NaN, the infinities and values out
 * of range -2^63 (int64) or -2^31 (int32), whose low byte is 0; 8 bits
 * wrapped. */
__attribute__((target("avx2"))) static void cast_int_avx2(const float *x, float *y, int bits,
                                                          bool sgn)
{
	for (int i = 0; i < 16; i += 8)
		_mm256_storeu_ps(y + i, dnnq_cast_int_avx2(_mm256_loadu_ps(x + i), bits, sgn));
}

START_TEST(unary_cast_int_as_ort)
{
	static const float x[16] = { 2.7f, -2.7f, 300.5f, -300.5f, 70000.2f, -70000.2f, 3e9f,
	                             -3e9f, 1e10f, -1e10f, NAN, INFINITY, -INFINITY, 127.9f,
	                             -128.9f, 255.5f };
	static const struct { int bits; bool sgn; float want[16]; } to[] = {
		{ 8, true, { 2, -2, 44, -44, 112, -112, 0, 0, 0, 0, 0, 0, 0, 127, -128, -1 } },
		{ 8, false, { 2, 254, 44, 212, 112, 144, 0, 0, 0, 0, 0, 0, 0, 127, 128, 255 } },
		{ 32, true, { 2, -2, 300, -300, 70000, -70000, -0x1p31f, -0x1p31f, -0x1p31f,
		              -0x1p31f, -0x1p31f, -0x1p31f, -0x1p31f, 127, -128, 255 } },
		{ 64, true, { 2, -2, 300, -300, 70000, -70000, 3e9f, -3e9f, 1e10f, -1e10f,
		              -0x1p63f, -0x1p63f, -0x1p63f, 127, -128, 255 } },
	};
	bool avx2 = dnnq_isa_supported(DNNQ_ISA_AVX2);
	for (size_t t = 0; t < sizeof to / sizeof to[0]; t++) {
		float y[16];
		if (avx2)
			cast_int_avx2(x, y, to[t].bits, to[t].sgn);
		for (int i = 0; i < 16; i++) {
			float got = dnnq_cast_int1(x[i], to[t].bits, to[t].sgn);
			ck_assert_msg(got == to[t].want[i],
			              "%d bits%s: %a gives %a, ONNX Runtime %a", to[t].bits,
			              to[t].sgn ? "" : " unsigned", x[i], got, to[t].want[i]);
			ck_assert_msg(!avx2 || !memcmp(&got, &y[i], 4), "%a: avx2 %a, scalar %a", x[i],
			              y[i], got);
		}
	}
	/* -0.5 truncates to 0, not -0 (an integer has no sign of zero) */
	ck_assert(!signbit(dnnq_cast_int1(-0.5f, 64, true)) &&
	          !signbit(dnnq_cast_int1(-0.5f, 32, true)));
}
END_TEST

/* ---- fusions ---- */

static void import_case(const char *name, struct dnnq_ir *ir)
{
	char path[128];
	struct dnnq_diag d;
	snprintf(path, sizeof path, "tests/onnx/ops/%s.onnx", name);
	ck_assert_msg(dnnq_onnx_import_file(path, NULL, ir, NULL, NULL, &d) == 0, "%s", d.msg);
}

START_TEST(unary_fusions)
{
	static const struct {
		const char *name;
		enum dnnq_ir_fusion f;
		const char *kind;      /* the registry's, or NULL: HARDSWISH */
	} cases[] = {
		{ "fuse_hardswish_clip", DNNQ_IR_FUSED_HARDSWISH_CLIP, NULL },
		{ "fuse_hardswish_clip_div_first", DNNQ_IR_FUSED_HARDSWISH_CLIP, NULL },
		{ "fuse_hardswish_clip_mul", DNNQ_IR_FUSED_HARDSWISH_CLIP, NULL },
		{ "fuse_hardswish_hardsigmoid", DNNQ_IR_FUSED_HARDSWISH_HSIG, NULL },
		{ "fuse_swish", DNNQ_IR_FUSED_SWISH, "swish" },
		{ "fuse_gelu_torch", DNNQ_IR_FUSED_GELU, "gelu" },
		{ "fuse_gelu_transformers", DNNQ_IR_FUSED_GELU, "gelu" },
		{ "fuse_gelu_mul", DNNQ_IR_FUSED_GELU, "gelu" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct dnnq_ir ir;
		import_case(cases[i].name, &ir);
		for (int f = 0; f < DNNQ_IR_FUSED_COUNT; f++)
			ck_assert_msg(ir.fused[f] == (f == (int)cases[i].f), "%s: %u of %s", cases[i].name,
			              ir.fused[f], dnnq_ir_fusion_name(f));
		/* a Conv, then the fused node reading its output and writing y */
		ck_assert_msg(ir.nnodes == 2, "%s: %zu nodes", cases[i].name, ir.nnodes);
		const struct dnnq_ir_node *n = &ir.nodes[1];
		ck_assert_int_eq(n->op, cases[i].kind ? DNNQ_IR_ENGINE : DNNQ_IR_HARDSWISH);
		if (cases[i].kind)
			ck_assert_uint_eq(n->kind, dnnq_op_find(cases[i].kind)->kind);
		ck_assert_uint_eq(n->ninputs, 1);
		ck_assert_int_eq(n->inputs[0], ir.nodes[0].outputs[0]);
		ck_assert_int_eq(n->outputs[0], ir.outputs[0]);
		dnnq_ir_free(&ir);
	}
	/* the gate is a graph output: nothing fused */
	struct dnnq_ir ir;
	import_case("nofuse_swish_output", &ir);
	ck_assert_uint_eq(ir.fused[DNNQ_IR_FUSED_SWISH], 0);
	ck_assert_uint_eq(ir.nnodes, 2);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_SIGMOID);
	ck_assert_int_eq(ir.nodes[1].op, DNNQ_IR_MUL);
	dnnq_ir_free(&ir);
}
END_TEST

Suite *suite_unary(void)
{
	Suite *s = suite_create("unary");
	TCase *tc = tcase_create("unary");
	tcase_add_test(tc, unary_ops_every_isa);
	tcase_add_test(tc, unary_math_vs_libm);
	tcase_add_test(tc, unary_pow_avx2_bitexact);
	tcase_add_test(tc, unary_sincos_vs_libm);
	tcase_add_test(tc, unary_cast_int_as_ort);
	tcase_add_test(tc, unary_fusions);
	suite_add_tcase(s, tc);
	return s;
}
