/*
 * The elementwise, activation and data-movement operators (engine/eltwise.h):
 * the fp32 references on hand-checked values; every operator within 1 LSB of
 * quantize(reference(dequantize(inputs))) (Softmax: 1e-5 relative) on edge
 * shapes (1 element, channels 1, 3, 17, 33, ...), broadcasting and extreme
 * qparams; every SIMD ISA the CPU runs (tests/isa.h) and a 3-thread pool
 * bit-identical to the scalar kernels,
 * bytes past the output untouched; Concat's copy and requantize paths; and
 * the descriptions and setups that must be refused, with their messages.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/pool.h"
#include "engine/eltwise.h"
#include "engine/quant-scalar.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

enum { GUARD = 64 };   /* bytes after each output that must stay untouched */


static struct dnnq_qparams qp8(float scale, int32_t zp)
{
	return (struct dnnq_qparams){ scale, zp, 8, false };
}

static struct dnnq_qparams random_qp(struct rng *r)
{
	return qp8((float)exp(rng_uniform(r, -6, 0)), (int32_t)rng_int(r, 0, 255));
}

/* Parameters for real values in [lo, hi] the way calibration picks them,
 * the range shrunk a little so that some outputs saturate. */
static struct dnnq_qparams fit_qp(double lo, double hi)
{
	static const struct dnnq_qspec spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false };
	struct dnnq_qparams qp;
	ck_assert_int_eq(dnnq_choose_qparams((float)(0.9 * lo), (float)(0.9 * hi), &spec, &qp,
	                                     NULL), 0);
	return qp;
}

static uint8_t *random_bytes(struct rng *r, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng_int(r, 0, 255);
	return p;
}

static uint8_t *new_output(size_t n)
{
	uint8_t *p = malloc(n + GUARD);
	memset(p, 0xa5, n + GUARD);
	return p;
}

static void assert_guard(const uint8_t *y, size_t n)
{
	for (size_t i = 0; i < GUARD; i++)
		ck_assert_msg(y[n + i] == 0xa5, "byte %zu past the output written", i);
}

static float *dequantized(const uint8_t *q, size_t n, const struct dnnq_qparams *qp)
{
	float *x = malloc((n ? n : 1) * sizeof *x);
	ck_assert_int_eq(dnnq_dequantize(DNNQ_ISA_SCALAR, q, DNNQ_DTYPE_U8, x, n, qp), 0);
	return x;
}

/* q = saturate(round(v / scale) + zp), in double; NaN -> 0 */
static double quantize_d(double v, const struct dnnq_qparams *qp)
{
	double q = nearbyint(v / qp->scale) + qp->zero_point;
	double hi = dnnq_qmax(qp->precision, false);
	return q > 0 ? (q < hi ? q : hi) : 0;
}

/* Every y[i] within 1 LSB of quantize(ref[i]). */
static void assert_one_lsb(const uint8_t *y, const double *ref, size_t n,
                           const struct dnnq_qparams *qp, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		double q = quantize_d(ref[i], qp);
		ck_assert_msg(fabs(y[i] - q) <= 1, "%s: y[%zu] = %u, reference %g (real %g)", what,
		              i, y[i], q, ref[i]);
	}
}

static double *to_double(const float *x, size_t n)
{
	double *d = malloc((n ? n : 1) * sizeof *d);
	for (size_t i = 0; i < n; i++)
		d[i] = x[i];
	return d;
}

/* Compares an output against the scalar one (same length, guard too). */
static void assert_same(const uint8_t *ys, const uint8_t *y, size_t n, const char *what)
{
	ck_assert_msg(memcmp(ys, y, n + GUARD) == 0, "%s differs from scalar", what);
}

/* ---- references on hand-checked values ---------------------------------- */

START_TEST(references_by_hand_1)
{
	const float a[4] = { 1, 2, -3, 4 }, s[1] = { 3 }, c[2] = { 10, -20 };
	float y[4];
	const float *in[2] = { a, s };
	enum dnnq_broadcast bs[2] = { DNNQ_BCAST_NONE, DNNQ_BCAST_SCALAR };
	dnnq_eltwise_ref(DNNQ_ELTWISE_ADD, 2, in, bs, 0, 4, y);
	ck_assert(y[0] == 4 && y[1] == 5 && y[2] == 0 && y[3] == 7);
	in[1] = c;
	bs[1] = DNNQ_BCAST_CHANNEL;
	dnnq_eltwise_ref(DNNQ_ELTWISE_MUL, 2, in, bs, 2, 4, y);
	ck_assert(y[0] == 10 && y[1] == -40 && y[2] == -30 && y[3] == -80);
	dnnq_eltwise_ref(DNNQ_ELTWISE_SUM_RELU, 2, in, bs, 2, 4, y);
	ck_assert(y[0] == 11 && y[1] == 0 && y[2] == 7 && y[3] == 0);

	struct dnnq_act_params p = { .alpha = 0.1f, .beta = 0.5f, .min = -1, .max = 1 };
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_RELU, &p, -1), 0);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_RELU, &p, 2), 2);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_CLIP, &p, 5), 1);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_CLIP, &p, -5), -1);
	ck_assert_float_eq_tol(dnnq_activation_fn(DNNQ_ACT_LEAKY_RELU, &p, -2), -0.2f, 1e-7);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_SIGMOID, &p, 0), 0.5f);
	ck_assert_float_eq_tol(dnnq_activation_fn(DNNQ_ACT_SIGMOID, &p, 2), 0.88079708f, 1e-7);
	ck_assert_float_eq_tol(dnnq_activation_fn(DNNQ_ACT_TANH, &p, 0.5f), 0.46211716f, 1e-7);
	p.alpha = 0.2f;
	ck_assert_float_eq_tol(dnnq_activation_fn(DNNQ_ACT_HARD_SIGMOID, &p, 1), 0.7f, 1e-7);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_HARD_SIGMOID, &p, 10), 1);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_HARD_SIGMOID, &p, -10), 0);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_HARD_SWISH, &p, -4), 0);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_HARD_SWISH, &p, 4), 4);
	ck_assert_float_eq_tol(dnnq_activation_fn(DNNQ_ACT_HARD_SWISH, &p, 1), 2.0f / 3, 1e-7);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_HARD_SWISH, &p, -INFINITY), 0);
	p.alpha = 1.5f;
	p.beta = 2.0f;
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_ELU, &p, 3), 3);
	ck_assert_float_eq_tol(dnnq_activation_fn(DNNQ_ACT_ELU, &p, -1), 1.5f * -0.63212056f, 1e-6);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_ELU, &p, -INFINITY), -1.5f);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_SELU, &p, 3), 6);
	ck_assert_float_eq_tol(dnnq_activation_fn(DNNQ_ACT_SELU, &p, -1), 3 * -0.63212056f, 1e-6);
	ck_assert_float_eq_tol(dnnq_activation_fn(DNNQ_ACT_CELU, &p, -1.5f), 1.5f * -0.63212056f,
	                       1e-6);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_CELU, &p, 0.25f), 0.25f);
	/* Shrink: lambd 1.5, bias 2; ThresholdedRelu: alpha 1.5 (NaN: 0 both) */
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_SHRINK, &p, 3), 1);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_SHRINK, &p, -3), -1);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_SHRINK, &p, 1.5f), 0);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_SHRINK, &p, NAN), 0);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_THRESHOLDED_RELU, &p, 1.5f), 0);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_THRESHOLDED_RELU, &p, 1.75f), 1.75f);
	ck_assert_float_eq(dnnq_activation_fn(DNNQ_ACT_THRESHOLDED_RELU, &p, NAN), 0);
}
END_TEST

START_TEST(references_by_hand_2)
{
	float y[4];
	const float sx[4] = { 0, (float)log(3.0), 1000, 1000 };
	dnnq_softmax_ref(sx, y, 2, 2);
	ck_assert_float_eq_tol(y[0], 0.25f, 1e-7);
	ck_assert_float_eq_tol(y[1], 0.75f, 1e-7);
	ck_assert(y[2] == 0.5f && y[3] == 0.5f);   /* no overflow */

	const float la[2] = { 2, -1 }, lb[2] = { 1, 0 }, lx[4] = { 1, 2, 3, 4 };
	dnnq_elementwise_linear_ref(lx, la, lb, y, 4, 2);
	ck_assert(y[0] == 3 && y[1] == -2 && y[2] == 7 && y[3] == -4);

	/* [2,1] ++ [2,2] along axis 1 */
	const float c0[2] = { 1, 2 }, c1[4] = { 3, 4, 5, 6 };
	const size_t d0[2] = { 2, 1 }, d1[2] = { 2, 2 };
	const size_t *dims[2] = { d0, d1 };
	const float *cin[2] = { c0, c1 };
	float cy[6];
	dnnq_concat_ref(2, dims, 2, 1, cin, cy);
	const float want[6] = { 1, 3, 4, 2, 5, 6 };
	ck_assert_mem_eq(cy, want, sizeof want);
}
END_TEST

/* ---- Add, Mul, Sum, SumRelu --------------------------------------------- */

struct ew_problem {
	struct dnnq_eltwise_desc d;
	size_t n;
	uint8_t *x[DNNQ_ELTWISE_MAX_INPUTS];
	float *xf[DNNQ_ELTWISE_MAX_INPUTS];
};

static size_t bcast_len(const struct ew_problem *p, size_t k)
{
	return p->d.bcast[k] == DNNQ_BCAST_NONE ? p->n
	       : p->d.bcast[k] == DNNQ_BCAST_SCALAR ? 1 : p->d.channels;
}

static void ew_inputs(struct rng *r, struct ew_problem *p)
{
	for (size_t k = 0; k < p->d.ninputs; k++) {
		p->x[k] = random_bytes(r, bcast_len(p, k));
		p->xf[k] = dequantized(p->x[k], bcast_len(p, k), &p->d.in_qp[k]);
	}
}

static void ew_free(struct ew_problem *p)
{
	for (size_t k = 0; k < p->d.ninputs; k++) {
		free(p->x[k]);
		free(p->xf[k]);
	}
}

/* The test's own reference, in double from the dequantized inputs. */
static double *ew_ref_double(const struct ew_problem *p)
{
	double *ref = malloc((p->n ? p->n : 1) * sizeof *ref);
	for (size_t i = 0; i < p->n; i++) {
		double t = p->xf[0][i];
		for (size_t k = 1; k < p->d.ninputs; k++) {
			size_t j = p->d.bcast[k] == DNNQ_BCAST_SCALAR ? 0
			           : p->d.bcast[k] == DNNQ_BCAST_CHANNEL ? i % p->d.channels : i;
			t = p->d.op == DNNQ_ELTWISE_MUL ? t * p->xf[k][j] : t + p->xf[k][j];
		}
		ref[i] = p->d.op == DNNQ_ELTWISE_SUM_RELU && t < 0 ? 0 : t;
	}
	return ref;
}

/* The engine's fp32 reference on the dequantized inputs. */
static double *ew_ref_f32(const struct ew_problem *p)
{
	float *y = malloc((p->n ? p->n : 1) * sizeof *y);
	dnnq_eltwise_ref(p->d.op, p->d.ninputs, (const float *const *)p->xf, p->d.bcast,
	                 p->d.channels, p->n, y);
	double *ref = to_double(y, p->n);
	free(y);
	return ref;
}

static void ew_run(struct dnnq_eltwise_desc d, enum dnnq_isa isa, size_t n,
                   uint8_t *const x[], uint8_t *y, const struct dnnq_executor *ex)
{
	struct dnnq_eltwise *op;
	struct dnnq_diag diag = { "" };
	d.isa = isa;
	ck_assert_msg(dnnq_eltwise_create(&d, &op, &diag) == 0, "%s", diag.msg);
	ck_assert_msg(dnnq_eltwise_setup(op, n, (const uint8_t *const *)x, y, &diag) == 0, "%s",
	              diag.msg);
	ck_assert_int_eq(dnnq_eltwise_run(op, ex), 0);
	dnnq_eltwise_destroy(op);
}

/* Runs p with the scalar kernel; AVX2 and the pool must agree. */
static uint8_t *ew_run_all(const struct ew_problem *p, const struct dnnq_executor *ex)
{
	uint8_t *ys = new_output(p->n), *y = new_output(p->n);
	ew_run(p->d, DNNQ_ISA_SCALAR, p->n, p->x, ys, NULL);
	assert_guard(ys, p->n);
	FOR_EACH_SIMD_ISA(isa) {
		ew_run(p->d, isa, p->n, p->x, y, NULL);
		assert_same(ys, y, p->n, dnnq_isa_name(isa));
	}
	memset(y, 0xa5, p->n + GUARD);
	ew_run(p->d, dnnq_isa_best(), p->n, p->x, y, ex);
	assert_same(ys, y, p->n, "pool");
	free(y);
	return ys;
}

/* The output parameters calibration would pick for this problem. */
static void ew_fit_output(struct ew_problem *p)
{
	double *ref = ew_ref_double(p), lo = 0, hi = 0;
	for (size_t i = 0; i < p->n; i++) {
		lo = fmin(lo, ref[i]);
		hi = fmax(hi, ref[i]);
	}
	p->d.out_qp = fit_qp(lo, hi);
	free(ref);
}

static const size_t shapes[][2] = {   /* positions, channels */
	{ 1, 1 }, { 7, 1 }, { 5, 3 }, { 3, 8 }, { 4, 17 }, { 9, 33 }, { 2, 64 }, { 3, 100 },
	{ 2, 1001 }, { 2500, 33 },  /* spans several chunks */
	{ 700, 24 },                /* one chunk, split in one piece a thread */
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

/* _i: shape x op x broadcast of input 1 (other inputs of Sum: random). */
START_TEST(eltwise_within_one_lsb)
{
	struct rng r = { 1000 + (uint64_t)_i };
	size_t si = (size_t)_i % NSHAPES, op = (size_t)_i / NSHAPES % 4;
	size_t bc = (size_t)_i / NSHAPES / 4 % 3;
	struct ew_problem p = { .n = shapes[si][0] * shapes[si][1] };
	p.d.op = (enum dnnq_eltwise_op)op;
	p.d.channels = shapes[si][1];
	p.d.ninputs = op < 2 ? 2 : (size_t)rng_int(&r, 2, 5);
	for (size_t k = 0; k < p.d.ninputs; k++) {
		p.d.in_qp[k] = random_qp(&r);
		p.d.bcast[k] = k == 0 ? DNNQ_BCAST_NONE
		               : k == 1 ? (enum dnnq_broadcast)bc : (enum dnnq_broadcast)rng_int(&r, 0, 2);
	}
	ew_inputs(&r, &p);
	ew_fit_output(&p);
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	uint8_t *y = ew_run_all(&p, &ex);
	double *ref = ew_ref_f32(&p);
	assert_one_lsb(y, ref, p.n, &p.d.out_qp, "fp32 reference");
	free(ref);
	ref = ew_ref_double(&p);
	assert_one_lsb(y, ref, p.n, &p.d.out_qp, "double reference");
	free(ref);
	free(y);
	ew_free(&p);
	dnnq_pool_destroy(pool);
}
END_TEST

/* Sum of 16 inputs, every broadcast kind; in place (output = input 0). */
START_TEST(sum_sixteen_inputs_in_place)
{
	struct rng r = { 77 };
	struct ew_problem p = { .n = 17 * 40 };
	p.d.op = DNNQ_ELTWISE_SUM_RELU;
	p.d.channels = 17;
	p.d.ninputs = 16;
	for (size_t k = 0; k < 16; k++) {
		p.d.in_qp[k] = random_qp(&r);
		p.d.bcast[k] = k ? (enum dnnq_broadcast)(k % 3) : DNNQ_BCAST_NONE;
	}
	ew_inputs(&r, &p);
	ew_fit_output(&p);
	uint8_t *y = ew_run_all(&p, NULL);
	double *ref = ew_ref_double(&p);
	assert_one_lsb(y, ref, p.n, &p.d.out_qp, "sum16");
	for (size_t i = 0; i < p.n; i++)
		ck_assert_int_ge(y[i], p.d.out_qp.zero_point);   /* ReLU */
	FOR_EACH_ISA(isa) {
		uint8_t *x0 = malloc(p.n);
		memcpy(x0, p.x[0], p.n);
		uint8_t *in[16];
		memcpy(in, p.x, sizeof in);
		in[0] = x0;
		ew_run(p.d, isa, p.n, in, x0, NULL);
		ck_assert_mem_eq(x0, y, p.n);
		free(x0);
	}
	free(ref);
	free(y);
	ew_free(&p);
}
END_TEST

/*
 * Extreme qparams, checked against the double reference (the fp32 one
 * underflows for Mul at tiny scales, which the operator does not):
 * tiny and huge scales with moderate ratios, zero points 0 and 255, a 10^6
 * ratio where everything saturates except exact zeros, and a 10^-6 ratio.
 */
START_TEST(eltwise_extreme_qparams)
{
	static const struct {
		enum dnnq_eltwise_op op;
		float sa, sb, sy;
		int32_t za, zb, zy;
	} cases[] = {
		{ DNNQ_ELTWISE_ADD, 1e-30f, 3e-30f, 4e-30f, 0, 255, 128 },
		{ DNNQ_ELTWISE_ADD, 1e30f, 2e30f, 3e30f, 255, 0, 0 },
		{ DNNQ_ELTWISE_ADD, 1.0f, 1.0f, 1e-6f, 128, 128, 128 },
		{ DNNQ_ELTWISE_ADD, 1e-6f, 1e-6f, 1.0f, 7, 250, 255 },
		{ DNNQ_ELTWISE_SUM_RELU, 1e-30f, 1e-30f, 2e-30f, 255, 255, 0 },
		{ DNNQ_ELTWISE_SUM, 1e30f, 1e30f, 2e30f, 0, 0, 255 },
		{ DNNQ_ELTWISE_MUL, 1e-20f, 1e-20f, 3e-37f, 128, 0, 0 },
		{ DNNQ_ELTWISE_MUL, 1e15f, 1e15f, 1e32f, 255, 0, 128 },
		{ DNNQ_ELTWISE_MUL, 1.0f, 1.0f, 1e-6f, 128, 128, 128 },
		{ DNNQ_ELTWISE_MUL, 1e-6f, 1e-6f, 1.0f, 0, 255, 255 },
	};
	struct rng r = { 5 };
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		for (int bc = 0; bc < 3; bc++) {
			struct ew_problem p = { .n = 33 * 9 };
			p.d.op = cases[c].op;
			p.d.ninputs = 2;
			p.d.channels = 33;
			p.d.in_qp[0] = qp8(cases[c].sa, cases[c].za);
			p.d.in_qp[1] = qp8(cases[c].sb, cases[c].zb);
			p.d.bcast[1] = (enum dnnq_broadcast)bc;
			p.d.out_qp = qp8(cases[c].sy, cases[c].zy);
			ew_inputs(&r, &p);
			uint8_t *y = ew_run_all(&p, NULL);
			double *ref = ew_ref_double(&p);
			assert_one_lsb(y, ref, p.n, &p.d.out_qp, "extreme");
			free(ref);
			free(y);
			ew_free(&p);
		}
	}
}
END_TEST

/* Lower precisions clamp at their own qmax. */
START_TEST(eltwise_low_precision_output)
{
	struct rng r = { 8 };
	struct ew_problem p = { .n = 100 };
	p.d.op = DNNQ_ELTWISE_ADD;
	p.d.ninputs = 2;
	p.d.in_qp[0] = qp8(0.05f, 10);
	p.d.in_qp[1] = (struct dnnq_qparams){ 0.1f, 3, 4, false };
	p.d.out_qp = (struct dnnq_qparams){ 0.2f, 20, 6, false };
	ew_inputs(&r, &p);
	for (size_t i = 0; i < p.n; i++)   /* 4-bit data */
		p.x[1][i] &= 15;
	free(p.xf[1]);
	p.xf[1] = dequantized(p.x[1], p.n, &p.d.in_qp[1]);
	uint8_t *y = ew_run_all(&p, NULL);
	double *ref = ew_ref_double(&p);
	assert_one_lsb(y, ref, p.n, &p.d.out_qp, "6-bit");
	for (size_t i = 0; i < p.n; i++)
		ck_assert_int_le(y[i], 63);
	free(ref);
	free(y);
	ew_free(&p);
}
END_TEST

/*
 * Where float rounding is a visible fraction of an LSB (multipliers near
 * 6e4 whose terms cancel), a reordered sum or a fused multiply-add changes
 * many outputs: AVX2 and scalar must still agree bit for bit. Accuracy is
 * not checked: this is the documented regime beyond the 1-LSB bound.
 */
START_TEST(identity_where_rounding_shows)
{
	enum { N = 4096 };
	struct rng r = { 15 };
	for (size_t nin = 2; nin <= 3; nin++) {   /* Add, then Sum */
		struct ew_problem p = { .n = N };
		p.d.op = nin == 2 ? DNNQ_ELTWISE_ADD : DNNQ_ELTWISE_SUM;
		p.d.ninputs = nin;
		p.d.in_qp[0] = qp8(60000.37f, 128);
		p.d.in_qp[1] = qp8(59999.71f, 128);
		p.d.in_qp[2] = qp8(0.7f, 128);
		p.d.out_qp = qp8(1.0f, 128);
		ew_inputs(&r, &p);
		for (size_t i = 0; i < N; i++) {   /* input 1 = -input 0 */
			p.x[0][i] |= 1;
			p.x[1][i] = (uint8_t)(256 - p.x[0][i]);
		}
		uint8_t *y = ew_run_all(&p, NULL);
		size_t inside = 0;
		for (size_t i = 0; i < N; i++)
			inside += y[i] > 0 && y[i] < 255;
		ck_assert_uint_ge(inside, N / 2);
		free(y);
		ew_free(&p);
	}
}
END_TEST

/* The same for ElementwiseLinear: b cancels a * x to within 100 steps. */
START_TEST(identity_where_rounding_shows_linear)
{
	struct rng r = { 16 };
	enum { C = 1000, POS = 3 };
	float a[C], b[C];
	uint8_t x[C * POS], ys[C * POS + GUARD], yv[C * POS + GUARD];
	for (size_t c = 0; c < C; c++) {
		x[c] = (uint8_t)rng_int(&r, 0, 255);
		a[c] = (float)rng_uniform(&r, 5e4, 7e4);
		b[c] = (float)(-(double)a[c] * (x[c] - 128) + rng_uniform(&r, -100, 100));
	}
	for (size_t i = C; i < C * POS; i++)
		x[i] = x[i % C];
	struct dnnq_elementwise_linear_desc d = { .channels = C, .a = a, .b = b,
	                                          .in_qp = qp8(1, 128), .out_qp = qp8(1, 128) };
	memset(ys, 0xa5, sizeof ys);
	memset(yv, 0xa5, sizeof yv);
	struct dnnq_elementwise_linear *op;
	FOR_EACH_ISA(isa) {
		d.isa = isa;
		memset(yv, 0xa5, sizeof yv);
		ck_assert_int_eq(dnnq_elementwise_linear_create(&d, &op, NULL), 0);
		ck_assert_int_eq(dnnq_elementwise_linear_setup(op, C * POS, x, isa ? yv : ys, NULL), 0);
		ck_assert_int_eq(dnnq_elementwise_linear_run(op, NULL), 0);
		dnnq_elementwise_linear_destroy(op);
		if (isa)
			assert_same(ys, yv, C * POS, dnnq_isa_name(isa));
	}
}
END_TEST

static struct dnnq_eltwise_desc good_add(void)
{
	return (struct dnnq_eltwise_desc){
		.isa = DNNQ_ISA_SCALAR, .op = DNNQ_ELTWISE_ADD, .ninputs = 2, .channels = 3,
		.in_qp = { qp8(0.1f, 0), qp8(0.2f, 3) }, .out_qp = qp8(0.3f, 5),
	};
}

START_TEST(eltwise_errors)
{
	static const struct {
		const char *msg;
		int rc;
	} want[] = {
		{ "add: input 1 qparams: scale 0: must be finite and positive", DNNQ_E_RANGE },
		{ "add: ninputs = 3: need 2", DNNQ_E_INVAL },
		{ "sum: ninputs = 17: need 2..16", DNNQ_E_INVAL },
		{ "add: bcast[0]", DNNQ_E_SHAPE },
		{ "mul: channels = 0: input 1 is per-channel", DNNQ_E_SHAPE },
		{ "add: output qparams: zero point 300", DNNQ_E_RANGE },
		{ "add: input 0 qparams: signed 8-bit values do not fit dtype u8", DNNQ_E_DTYPE },
		{ "add: input 1 multiplier", DNNQ_E_RANGE },
		{ "mul: output multiplier", DNNQ_E_RANGE },
		{ "eltwise: op 9: unknown", DNNQ_E_INVAL },
		{ "add: isa 7: unknown", DNNQ_E_INVAL },
		{ "add: bcast[1] = 5: unknown", DNNQ_E_INVAL },
	};
	for (size_t c = 0; c < sizeof want / sizeof want[0]; c++) {
		struct dnnq_eltwise_desc d = good_add();
		switch (c) {
		case 0: d.in_qp[1].scale = 0; break;
		case 1: d.ninputs = 3; break;
		case 2: d.op = DNNQ_ELTWISE_SUM; d.ninputs = 17; break;
		case 3: d.bcast[0] = DNNQ_BCAST_SCALAR; break;
		case 4: d.op = DNNQ_ELTWISE_MUL; d.channels = 0; d.bcast[1] = DNNQ_BCAST_CHANNEL; break;
		case 5: d.out_qp.zero_point = 300; break;
		case 6: d.in_qp[0].is_signed = true; break;
		case 7: d.in_qp[1].scale = 1e30f; d.out_qp.scale = 1e-30f; break;
		case 8: d.op = DNNQ_ELTWISE_MUL; d.in_qp[0].scale = d.in_qp[1].scale = 1e30f; break;
		case 9: d.op = 9; break;
		case 10: d.isa = 7; break;
		case 11: d.bcast[1] = 5; break;
		}
		struct dnnq_eltwise *op = (struct dnnq_eltwise *)&d;
		struct dnnq_diag diag = { "" };
		ck_assert_int_eq(dnnq_eltwise_create(&d, &op, &diag), want[c].rc);
		ck_assert_ptr_null(op);
		ck_assert_msg(strstr(diag.msg, want[c].msg), "case %zu: '%s' lacks '%s'", c, diag.msg,
		              want[c].msg);
	}
}
END_TEST

START_TEST(eltwise_setup_errors)
{
	struct dnnq_eltwise_desc d = good_add();
	d.bcast[1] = DNNQ_BCAST_CHANNEL;
	struct dnnq_eltwise *op;
	struct dnnq_diag diag;
	ck_assert_int_eq(dnnq_eltwise_create(&d, &op, NULL), 0);
	uint8_t a[10] = { 0 }, b[3] = { 0 }, y[10];
	const uint8_t *in[2] = { a, b };
	ck_assert_int_eq(dnnq_eltwise_setup(op, 10, in, y, &diag), DNNQ_E_SHAPE);
	ck_assert_str_eq(diag.msg, "add: n = 10: not a multiple of channels = 3");
	in[1] = NULL;
	ck_assert_int_eq(dnnq_eltwise_setup(op, 9, in, y, &diag), DNNQ_E_INVAL);
	ck_assert_str_eq(diag.msg, "add: input 1: NULL");
	/* a failed setup after a good one leaves nothing to run */
	in[1] = b;
	ck_assert_int_eq(dnnq_eltwise_setup(op, 9, in, y, &diag), 0);
	in[1] = NULL;
	memset(y, 0x5a, sizeof y);
	ck_assert_int_eq(dnnq_eltwise_setup(op, 9, in, y, &diag), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_eltwise_run(op, NULL), 0);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(y[i], 0x5a);
	ck_assert_int_eq(dnnq_eltwise_setup(op, 0, in, NULL, &diag), 0);   /* empty: fine */
	ck_assert_int_eq(dnnq_eltwise_run(op, NULL), 0);
	dnnq_eltwise_destroy(op);
	ck_assert_int_eq(dnnq_eltwise_create(NULL, &op, &diag), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_eltwise_run(NULL, NULL), DNNQ_E_INVAL);
	dnnq_eltwise_destroy(NULL);
}
END_TEST

/* ---- table activations -------------------------------------------------- */

static double act_double(enum dnnq_activation_kind kind, const struct dnnq_act_params *p,
                         double x)
{
	switch (kind) {
	case DNNQ_ACT_RELU:         return x > 0 ? x : 0;
	case DNNQ_ACT_CLIP:         return fmin(fmax(x, p->min), p->max);
	case DNNQ_ACT_LEAKY_RELU:   return x >= 0 ? x : p->alpha * x;
	case DNNQ_ACT_SIGMOID:      return 1 / (1 + exp(-x));
	case DNNQ_ACT_TANH:         return tanh(x);
	case DNNQ_ACT_HARD_SIGMOID: return fmin(1, fmax(0, p->alpha * x + p->beta));
	case DNNQ_ACT_HARD_SWISH:   return x * fmin(1, fmax(0, x / 6 + 0.5));
	case DNNQ_ACT_ELU:          return x > 0 ? x : p->alpha * expm1(x);
	case DNNQ_ACT_SELU:         return p->beta * (x > 0 ? x : p->alpha * expm1(x));
	case DNNQ_ACT_CELU:         return x > 0 ? x : p->alpha * expm1(x / p->alpha);
	case DNNQ_ACT_SHRINK:
		return x < -p->alpha ? x + p->beta : x > p->alpha ? x - p->beta : 0;
	case DNNQ_ACT_THRESHOLDED_RELU: return x > p->alpha ? x : 0;
	}
	return NAN;
}

static void act_run(struct dnnq_activation_desc d, enum dnnq_isa isa, size_t n,
                    const uint8_t *x, uint8_t *y, const struct dnnq_executor *ex)
{
	struct dnnq_activation *op;
	struct dnnq_diag diag = { "" };
	d.isa = isa;
	ck_assert_msg(dnnq_activation_create(&d, &op, &diag) == 0, "%s", diag.msg);
	ck_assert_int_eq(dnnq_activation_setup(op, n, x, y, &diag), 0);
	ck_assert_int_eq(dnnq_activation_run(op, ex), 0);
	dnnq_activation_destroy(op);
}

/* Feeds every byte value (several times, with a ragged end) and random
 * data: the output is exactly quantize(fn(dequantize(x))), within 1 LSB of
 * the double formula; AVX2 and the pool agree with scalar. */
static void act_check(const struct dnnq_activation_desc *d, struct rng *r,
                      const struct dnnq_executor *ex)
{
	enum { N = 256 * 3 + 37 + 70000 };   /* crosses a chunk boundary */
	uint8_t *x = malloc(N), *ys = new_output(N), *y = new_output(N);
	for (size_t i = 0; i < N; i++)
		x[i] = i < 256 * 3 + 37 ? (uint8_t)i : (uint8_t)rng_int(r, 0, 255);
	act_run(*d, DNNQ_ISA_SCALAR, N, x, ys, NULL);
	assert_guard(ys, N);
	FOR_EACH_SIMD_ISA(isa) {
		act_run(*d, isa, N, x, y, NULL);
		assert_same(ys, y, N, dnnq_isa_name(isa));
	}
	memset(y, 0xa5, N + GUARD);
	act_run(*d, dnnq_isa_best(), N, x, y, ex);
	assert_same(ys, y, N, "pool");
	float xf[256], f[256];
	uint8_t want[256], xq[256];
	for (int q = 0; q < 256; q++)
		xq[q] = (uint8_t)q;
	ck_assert_int_eq(dnnq_dequantize(DNNQ_ISA_SCALAR, xq, DNNQ_DTYPE_U8, xf, 256, &d->in_qp), 0);
	dnnq_activation_ref(d->kind, &d->p, xf, f, 256);
	ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, f, want, DNNQ_DTYPE_U8, 256, &d->out_qp), 0);
	ck_assert_mem_eq(ys, want, 256);
	for (int q = 0; q < 256; q++) {
		double ref = quantize_d(act_double(d->kind, &d->p, xf[q]), &d->out_qp);
		ck_assert_msg(fabs(ys[q] - ref) <= 1, "kind %d: q = %d -> %u, double reference %g",
		              d->kind, q, ys[q], ref);
	}
	free(x);
	free(ys);
	free(y);
}

#define NACT (DNNQ_ACT_LAST + 1)

/* _i: kind x 4 random parameter sets. */
START_TEST(activation_tables)
{
	struct rng r = { 300 + (uint64_t)_i };
	struct dnnq_activation_desc d = { .kind = (enum dnnq_activation_kind)(_i % NACT) };
	d.in_qp = random_qp(&r);
	float lo = d.in_qp.scale * -d.in_qp.zero_point, hi = d.in_qp.scale * (255 - d.in_qp.zero_point);
	d.p.alpha = d.kind == DNNQ_ACT_LEAKY_RELU ? (float)rng_uniform(&r, 0, 0.3)
	                                          : (float)rng_uniform(&r, 0.1, 0.3);
	d.p.beta = (float)rng_uniform(&r, 0.3, 0.7);
	d.p.min = (float)rng_uniform(&r, lo, 0);
	d.p.max = (float)rng_uniform(&r, 0, hi);
	double flo = 0, fhi = 0;
	for (int q = 0; q < 256; q++) {
		double f = act_double(d.kind, &d.p, dnnq_dequantize_1(q, d.in_qp.zero_point,
		                                                      d.in_qp.scale));
		flo = fmin(flo, f);
		fhi = fmax(fhi, f);
	}
	d.out_qp = fit_qp(flo, fhi);
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	act_check(&d, &r, &ex);
	dnnq_pool_destroy(pool);
}
END_TEST

START_TEST(activation_extreme_qparams)
{
	static const float scales[] = { 1e-30f, 1.0f / 255, 1e30f };
	static const int32_t zps[] = { 0, 128, 255 };
	struct rng r = { 9 };
	for (int kind = 0; kind < NACT; kind++) {
		for (int c = 0; c < 9; c++) {
			struct dnnq_activation_desc d = {
				.kind = (enum dnnq_activation_kind)kind,
				.p = { .alpha = 0.2f, .beta = 0.5f, .min = -1e31f, .max = 2e31f },
				.in_qp = qp8(scales[c % 3], zps[c / 3]),
				.out_qp = qp8(scales[c / 3], zps[c % 3]),
			};
			act_check(&d, &r, NULL);
		}
	}
}
END_TEST

/* Each SIMD kernel of the two-input Add on its own, the way a convolution
 * calls it fused (in place over input 0, ranges from any offset), against
 * the scalar loop: every length 0..200 (the AVX-512 kernel's 64-element
 * steps, AVX2's 32-element ones and the tails each leaves to the next),
 * multipliers from 1e-6 to ones that overflow to inf and NaN, SumRelu's
 * raised qmin, a 6-bit output. */
START_TEST(ew_add_kernel_lengths)
{
	static const float mults[][2] = {
		{ 0.5f, 0.75f }, { 1e-6f, 3.0f }, { 60000.37f, -59999.71f }, { 3e38f, 3e38f },
		{ 3e38f, -3e38f }, { 1.0f, 1.0f }, { 0.01f, 0.02f },
	};
	struct rng r = { 11 };
	enum { N = 200, OFF = 37 };
	uint8_t x0[OFF + N], x1[OFF + N], ys[OFF + N + GUARD], yv[OFF + N + GUARD];
	for (int iter = 0; iter < 2 * (N + 1); iter++) {
		size_t n = (size_t)iter % (N + 1), off = iter > N ? OFF : 0;
		int c = iter % 7;
		struct dnnq_ew_kernel k = {
			.ninputs = 2, .m = { mults[c][0], mults[c][1] },
			.z = { rng_int(&r, 0, 255), rng_int(&r, 0, 255) },
			/* the runs the AVX2 kernel's 8-a-step loop takes after its
			 * 32-a-step one end at the period's ends too */
			.period = (size_t[]){ 1, 16, 24, 40 }[iter / 7 % 4],
		};
		k.zy = (float)rng_int(&r, 0, iter % 5 == 4 ? 63 : 255);
		k.qmax = iter % 5 == 4 ? 63.0f : 255.0f;
		k.qmin = iter % 3 == 2 ? k.zy : 0.0f;   /* SumRelu */
		for (size_t i = 0; i < OFF + N; i++) {
			x0[i] = (uint8_t)rng_int(&r, 0, 255);
			x1[i] = (uint8_t)(iter % 4 == 1 ? 255 - x0[i] : rng_int(&r, 0, 255));
		}
		k.x[1] = x1;
		memset(ys, 0x5a, sizeof ys);
		memcpy(ys, x0, sizeof x0);
		k.x[0] = k.y = ys;
		dnnq_ew_scalar(&k, off, off + n);
		FOR_EACH_SIMD_ISA(isa) {
			memset(yv, 0x5a, sizeof yv);
			memcpy(yv, x0, sizeof x0);
			k.x[0] = k.y = yv;
			dnnq_kernels(isa)->ew(&k, off, off + n);
			ck_assert_msg(!memcmp(ys, yv, sizeof ys), "%s: n %zu at %zu, mults %d",
			              dnnq_isa_name(isa), n, off, c);
		}
	}
}
END_TEST

/* Each SIMD table kernel on its own: every length 0..100 and every table
 * position, against the scalar loop. */
START_TEST(lut_kernel_lengths)
{
	struct rng r = { 10 };
	uint8_t table[256], x[100], ys[100 + GUARD], yv[100 + GUARD];
	for (int iter = 0; iter < 200; iter++) {
		for (int q = 0; q < 256; q++)
			table[q] = (uint8_t)rng_int(&r, 0, 255);
		size_t n = (size_t)iter % 101;
		for (size_t i = 0; i < n; i++)
			x[i] = (uint8_t)(iter < 8 ? (i + 32 * (size_t)iter) % 256 : (size_t)rng_int(&r, 0, 255));
		memset(ys, 0x5a, sizeof ys);
		dnnq_lut_scalar(table, x, ys, n);
		for (size_t i = 0; i < n; i++)
			ck_assert_int_eq(ys[i], table[x[i]]);
		FOR_EACH_SIMD_ISA(isa) {
			memset(yv, 0x5a, sizeof yv);
			dnnq_kernels(isa)->lut(table, x, yv, n);
			ck_assert_msg(!memcmp(ys, yv, sizeof ys), "%s: n %zu", dnnq_isa_name(isa), n);
		}
	}
}
END_TEST

START_TEST(activation_errors)
{
	static const struct {
		const char *msg;
		int rc;
	} want[] = {
		{ "clip: min = 2, max = 1: need min <= max", DNNQ_E_RANGE },
		{ "clip: min = nan", DNNQ_E_RANGE },
		{ "leaky_relu: params[0] (alpha) = inf: must be finite", DNNQ_E_RANGE },
		{ "hard_sigmoid: params[1] (beta) = nan: must be finite", DNNQ_E_RANGE },
		{ "activation: kind 12: unknown", DNNQ_E_INVAL },
		{ "sigmoid: input qparams: scale -1", DNNQ_E_RANGE },
		{ "tanh: output qparams: unsigned 9-bit values do not fit dtype u8", DNNQ_E_DTYPE },
		{ "elu: params[0] (alpha) = -inf: must be finite", DNNQ_E_RANGE },
		{ "selu: params[1] (gamma) = nan: must be finite", DNNQ_E_RANGE },
		{ "celu: params[0] (alpha) = 0: divides x", DNNQ_E_RANGE },
		{ "shrink: params[1] (beta) = inf: must be finite", DNNQ_E_RANGE },
		{ "thresholded_relu: params[0] (alpha) = nan: must be finite", DNNQ_E_RANGE },
	};
	for (size_t c = 0; c < sizeof want / sizeof want[0]; c++) {
		struct dnnq_activation_desc d = {
			.isa = DNNQ_ISA_SCALAR, .p = { .alpha = 0.2f, .beta = 0.5f, .min = 0, .max = 6 },
			.in_qp = qp8(0.1f, 128), .out_qp = qp8(0.01f, 0),
		};
		switch (c) {
		case 0: d.kind = DNNQ_ACT_CLIP; d.p.min = 2; d.p.max = 1; break;
		case 1: d.kind = DNNQ_ACT_CLIP; d.p.min = NAN; break;
		case 2: d.kind = DNNQ_ACT_LEAKY_RELU; d.p.alpha = INFINITY; break;
		case 3: d.kind = DNNQ_ACT_HARD_SIGMOID; d.p.beta = NAN; break;
		case 4: d.kind = 12; break;
		case 5: d.kind = DNNQ_ACT_SIGMOID; d.in_qp.scale = -1; break;
		case 6: d.kind = DNNQ_ACT_TANH; d.out_qp.precision = 9; break;
		case 7: d.kind = DNNQ_ACT_ELU; d.p.alpha = -INFINITY; break;
		case 8: d.kind = DNNQ_ACT_SELU; d.p.beta = NAN; break;
		case 9: d.kind = DNNQ_ACT_CELU; d.p.alpha = 0; break;
		case 10: d.kind = DNNQ_ACT_SHRINK; d.p.beta = INFINITY; break;
		case 11: d.kind = DNNQ_ACT_THRESHOLDED_RELU; d.p.alpha = NAN; break;
		}
		struct dnnq_activation *op = (struct dnnq_activation *)&d;
		struct dnnq_diag diag = { "" };
		ck_assert_int_eq(dnnq_activation_create(&d, &op, &diag), want[c].rc);
		ck_assert_ptr_null(op);
		ck_assert_msg(strstr(diag.msg, want[c].msg), "case %zu: '%s' lacks '%s'", c, diag.msg,
		              want[c].msg);
	}
	struct dnnq_activation_desc d = { .kind = DNNQ_ACT_RELU, .in_qp = qp8(1, 0),
	                                  .out_qp = qp8(1, 0) };
	struct dnnq_activation *op;
	struct dnnq_diag diag;
	ck_assert_int_eq(dnnq_activation_create(&d, &op, NULL), 0);
	uint8_t x[4] = { 0 };
	ck_assert_int_eq(dnnq_activation_setup(op, 4, x, NULL, &diag), DNNQ_E_INVAL);
	ck_assert_str_eq(diag.msg, "relu: output: NULL");
	/* ReLU with equal parameters on both sides is the identity above zp */
	for (int q = 0; q < 256; q++)
		ck_assert_int_eq(dnnq_activation_table(op)[q], q);
	dnnq_activation_destroy(op);
}
END_TEST

/* ---- Quantize, Dequantize ----------------------------------------------- */

static void convert_run(const struct dnnq_convert_desc *d, size_t n, const void *x, void *y,
                        const struct dnnq_executor *ex)
{
	struct dnnq_convert *op;
	ck_assert_int_eq(dnnq_convert_create(d, &op, NULL), 0);
	ck_assert_int_eq(dnnq_convert_setup(op, n, x, y, NULL), 0);
	ck_assert_int_eq(dnnq_convert_run(op, ex), 0);
	dnnq_convert_destroy(op);
}

/* Both directions against the quantization core, every ISA, pooled or not,
 * across chunk boundaries, with NaN, infinities, ties and extreme scales. */
START_TEST(convert_quantize_dequantize)
{
	enum { N = 70001 };
	struct rng r = { 11 };
	static const float special[] = { NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, 0.5f, 1.5f };
	float *x = malloc(N * sizeof *x), *back = malloc(N * sizeof *back);
	float *want_f = malloc(N * sizeof *want_f);
	uint8_t *want = malloc(N), *q = new_output(N);
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	for (int c = 0; c < 4; c++) {
		struct dnnq_qparams qp = c == 0 ? qp8(1e-30f, 0) : c == 1 ? qp8(1e30f, 255)
		                         : random_qp(&r);
		for (size_t i = 0; i < N; i++)
			x[i] = i < 7 ? special[i] : (float)(qp.scale * rng_uniform(&r, -300, 300));
		ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, x, want, DNNQ_DTYPE_U8, N, &qp), 0);
		ck_assert_int_eq(dnnq_dequantize(DNNQ_ISA_SCALAR, want, DNNQ_DTYPE_U8, want_f, N, &qp), 0);
		FOR_EACH_ISA(isa) {
			for (int pooled = 0; pooled < 2; pooled++) {
				struct dnnq_convert_desc d = { isa, DNNQ_CONVERT_QUANTIZE, qp, false };
				memset(q, 0xa5, N + GUARD);
				convert_run(&d, N, x, q, pooled ? &ex : NULL);
				ck_assert_mem_eq(q, want, N);
				assert_guard(q, N);
				d.kind = DNNQ_CONVERT_DEQUANTIZE;
				convert_run(&d, N, q, back, pooled ? &ex : NULL);
				ck_assert_mem_eq(back, want_f, N * sizeof *back);
			}
		}
		/* within 1 LSB of the rule, specials aside */
		for (size_t i = 7; i < N; i++)
			ck_assert(fabs(want[i] - quantize_d(x[i], &qp)) <= 1);
	}
	dnnq_pool_destroy(pool);
	free(x);
	free(back);
	free(want_f);
	free(want);
	free(q);
}
END_TEST

START_TEST(convert_errors)
{
	struct dnnq_convert_desc d = { DNNQ_ISA_SCALAR, DNNQ_CONVERT_DEQUANTIZE, qp8(0, 0), false };
	struct dnnq_convert *op = (struct dnnq_convert *)&d;
	struct dnnq_diag diag;
	uint8_t q[3];
	ck_assert_int_eq(dnnq_convert_create(&d, &op, &diag), DNNQ_E_RANGE);
	ck_assert_ptr_null(op);
	ck_assert_str_eq(diag.msg, "dequantize: u8 qparams: scale 0: must be finite and positive");
	d.kind = 9;
	ck_assert_int_eq(dnnq_convert_create(&d, &op, &diag), DNNQ_E_INVAL);
	ck_assert_str_eq(diag.msg, "convert: kind 9: unknown");
	d = (struct dnnq_convert_desc){ DNNQ_ISA_SCALAR, DNNQ_CONVERT_QUANTIZE, qp8(1, 0), false };
	ck_assert_int_eq(dnnq_convert_create(&d, &op, NULL), 0);
	ck_assert_int_eq(dnnq_convert_setup(op, 3, NULL, q, &diag), DNNQ_E_INVAL);
	ck_assert_str_eq(diag.msg, "quantize: input: NULL");
	dnnq_convert_destroy(op);
}
END_TEST

/* ---- Quantize, Dequantize with the NCHW transposition ------------------- */

/* y[b][p][c] = x[b][c][p] (to_nhwc) or y[b][c][p] = x[b][p][c], of size-byte
 * elements: the transposition written out independently of the engine. */
static void transpose_bytes(const void *x, void *y, size_t es, size_t nb, size_t nc,
                            size_t ns, bool to_nhwc)
{
	for (size_t b = 0; b < nb; b++)
		for (size_t c = 0; c < nc; c++)
			for (size_t p = 0; p < ns; p++) {
				size_t chw = (b * nc + c) * ns + p, hwc = (b * ns + p) * nc + c;
				memcpy((char *)y + es * (to_nhwc ? hwc : chw),
				       (const char *)x + es * (to_nhwc ? chw : hwc), es);
			}
}

static void convert_run_nchw(const struct dnnq_convert_desc *d, size_t nb, size_t nc,
                             size_t ns, const void *x, void *y, const struct dnnq_executor *ex)
{
	struct dnnq_convert *op;
	struct dnnq_diag diag;
	ck_assert_int_eq(dnnq_convert_create(d, &op, NULL), 0);
	ck_assert_msg(dnnq_convert_setup_nchw(op, nb, nc, ns, x, y, &diag) == 0, "%s", diag.msg);
	ck_assert_int_eq(dnnq_convert_run(op, ex), 0);
	dnnq_convert_destroy(op);
}

/*
 * batch x channels x spatial: odd sizes around the 8 x 8 blocks, one channel
 * or one position (the plain path), task chunks that cut images (3 x 50176
 * and 2100 channels: 8 positions a task) and a spatial size below 8.
 */
static const size_t nchw_shapes[][3] = {
	{ 1, 1, 1 }, { 2, 3, 5 }, { 1, 8, 8 }, { 3, 17, 33 }, { 2, 9, 15 }, { 1, 64, 49 },
	{ 2, 1, 20 }, { 2, 20, 1 }, { 2, 3, 50176 }, { 2, 2100, 9 }, { 1, 16, 7 }, { 1, 3, 29 },
	{ 2, 21, 1024 },   /* planes 4 KiB apart */
	{ 1, 3, 56 }, { 2, 3, 120 },   /* RGB: 32 positions a step, then 8 */
	{ 1, 3, 520 }, { 2, 3, 344 },  /* and the specials (i % 997 < 19) in G, in B */
};
#define NNCHW (sizeof nchw_shapes / sizeof nchw_shapes[0])

/* Both NCHW kinds against the plain quantization of the transposed tensor
 * (so each element is dnnq_quantize_1 / dnnq_dequantize_1 of it), every
 * ISA, pooled or not, with specials and saturation; AVX2 bit-identical to
 * scalar, bytes past the output untouched. */
START_TEST(convert_nchw_transposes)
{
	const size_t nb = nchw_shapes[_i][0], nc = nchw_shapes[_i][1], ns = nchw_shapes[_i][2];
	const size_t n = nb * nc * ns;
	struct rng r = { 31 + (uint64_t)_i };
	static const float special[] = { NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, 0.5f, 1.5f };
	struct dnnq_qparams qp = random_qp(&r);
	if (_i % 3 == 1) {
		qp.precision = 5;
		qp.zero_point %= 32;
	}
	float *x = malloc(n * sizeof *x), *xt = malloc(n * sizeof *x);
	float *want_f = malloc(n * sizeof *x), *want_ft = malloc(n * sizeof *x);
	float *back = malloc(n * sizeof *x + GUARD);
	uint8_t *want = malloc(n), *q = new_output(n), *qs = new_output(n);
	float *backs = malloc(n * sizeof *x + GUARD);
	/* quotients x / scale at ties, around the AVX2 kernel's 2^20 bound and
	 * int32's range (its integer saturation, eltwise-avx2.c), and -0 */
	static const float quotient[] = { 2.5f, -2.5f, 3.5f, -0.5f, 1048575.5f, 1048576.0f,
	                                  1048577.0f, 2147483648.0f, -2147483648.0f, -3e9f,
	                                  3e9f, -0.0f };
	enum { NQUOT = sizeof quotient / sizeof quotient[0] };
	for (size_t i = 0; i < n; i++)
		x[i] = i % 997 < 7 ? special[i % 997]
		     : i % 997 < 7 + NQUOT ? qp.scale * quotient[i % 997 - 7]
		     : (float)(qp.scale * rng_uniform(&r, -300, 300));
	/* the expectation: transpose, then the plain conversions */
	transpose_bytes(x, xt, sizeof *x, nb, nc, ns, true);
	ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, xt, want, DNNQ_DTYPE_U8, n, &qp), 0);
	ck_assert_int_eq(dnnq_dequantize(DNNQ_ISA_SCALAR, want, DNNQ_DTYPE_U8, want_ft, n, &qp), 0);
	transpose_bytes(want_ft, want_f, sizeof *x, nb, nc, ns, false);
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	FOR_EACH_ISA(isa) {
		for (int pooled = 0; pooled < 2; pooled++) {
			struct dnnq_convert_desc d = { isa, DNNQ_CONVERT_QUANTIZE_NCHW, qp, false };
			memset(q, 0xa5, n + GUARD);
			convert_run_nchw(&d, nb, nc, ns, x, q, pooled ? &ex : NULL);
			ck_assert_msg(memcmp(q, want, n) == 0, "quantize_nchw %zux%zux%zu isa %d pooled %d",
			              nb, nc, ns, isa, pooled);
			assert_guard(q, n);
			d.kind = DNNQ_CONVERT_DEQUANTIZE_NCHW;
			memset(back, 0xa5, n * sizeof *x + GUARD);
			convert_run_nchw(&d, nb, nc, ns, q, back, pooled ? &ex : NULL);
			ck_assert_msg(memcmp(back, want_f, n * sizeof *x) == 0,
			              "dequantize_nchw %zux%zux%zu isa %d pooled %d", nb, nc, ns, isa, pooled);
			assert_guard((const uint8_t *)back, n * sizeof *x);
			if (isa == 0 && !pooled) {
				memcpy(qs, q, n + GUARD);
				memcpy(backs, back, n * sizeof *x + GUARD);
			} else {
				assert_same(qs, q, n, "quantize_nchw");
				ck_assert(memcmp(backs, back, n * sizeof *x + GUARD) == 0);
			}
		}
	}
	/* the f32 moves: the same transposition, both ways, bit for bit */
	for (int pooled = 0; pooled < 2; pooled++) {
		struct dnnq_convert_desc d = { dnnq_isa_best(), DNNQ_CONVERT_TO_NHWC, qp, false };
		memset(back, 0xa5, n * sizeof *x + GUARD);
		convert_run_nchw(&d, nb, nc, ns, x, back, pooled ? &ex : NULL);
		ck_assert_msg(memcmp(back, xt, n * sizeof *x) == 0, "to_nhwc %zux%zux%zu", nb, nc, ns);
		assert_guard((const uint8_t *)back, n * sizeof *x);
		d.kind = DNNQ_CONVERT_TO_NCHW;
		memset(backs, 0xa5, n * sizeof *x + GUARD);
		convert_run_nchw(&d, nb, nc, ns, back, backs, pooled ? &ex : NULL);
		ck_assert_msg(memcmp(backs, x, n * sizeof *x) == 0, "to_nchw %zux%zux%zu", nb, nc, ns);
		assert_guard((const uint8_t *)backs, n * sizeof *x);
	}
	/* the fp32 reference moves the values the same way, and back */
	dnnq_convert_ref(DNNQ_CONVERT_QUANTIZE_NCHW, nb, nc, ns, x, want_ft);
	ck_assert(memcmp(want_ft, xt, n * sizeof *x) == 0);
	dnnq_convert_ref(DNNQ_CONVERT_DEQUANTIZE_NCHW, nb, nc, ns, xt, want_ft);
	ck_assert(memcmp(want_ft, x, n * sizeof *x) == 0);
	dnnq_pool_destroy(pool);
	free(x);
	free(xt);
	free(want_f);
	free(want_ft);
	free(back);
	free(backs);
	free(want);
	free(q);
	free(qs);
}
END_TEST

/* Each SIMD ISA's kernels on random rectangles (any p0, c0, ragged both
 * ways) write exactly what the scalar kernels write, and nothing outside
 * them. */
static void convert_nchw_rectangles(const struct dnnq_kernels *kn, size_t nc);

/* 27 channels (8 x 8 blocks and the rest), and 3 (an RGB image's: the
 * VNNI table's 16 positions a step), with NaN, infinities and values far
 * out of range among the inputs */
START_TEST(convert_nchw_kernel_rectangles)
{
	FOR_EACH_SIMD_ISA(isa) {
		convert_nchw_rectangles(dnnq_kernels(isa), 27);
		convert_nchw_rectangles(dnnq_kernels(isa), 3);
	}
}
END_TEST

static void convert_nchw_rectangles(const struct dnnq_kernels *kn, size_t nc)
{
	enum { NB = 2, NC = 27, NS = 45, N = NB * NC * NS };
	static const float odd[] = { NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 2.5f * 0.0213f };
	struct rng r = { 77 };
	float x[N], ys_f[N], ya_f[N];
	uint8_t ys[N], ya[N], xq[N];
	for (size_t i = 0; i < N; i++) {
		x[i] = (float)rng_uniform(&r, -3, 3);
		if (i % 97 < 6)
			x[i] = odd[i % 97];
		xq[i] = (uint8_t)rng_int(&r, 0, 255);
	}
	struct dnnq_nchw_kernel k = { .channels = nc, .spatial = NS, .scale = 0.0213f, .zp = 117,
	                              .qmax = 255, .izp = 117 };
	for (int it = 0; it < 200; it++) {
		size_t img = (size_t)rng_int(&r, 0, NB - 1);
		size_t p0 = (size_t)rng_int(&r, 0, NS), p1 = (size_t)rng_int(&r, (int64_t)p0, NS);
		size_t c0 = (size_t)rng_int(&r, 0, (int64_t)nc);
		size_t c1 = (size_t)rng_int(&r, (int64_t)c0, (int64_t)nc);
		if (nc == 3 && it % 2)   /* the whole image's channels */
			c0 = 0, c1 = 3;
		memset(ys, 0x5a, sizeof ys);
		memset(ya, 0x5a, sizeof ya);
		k.x = x;
		k.y = ys;
		dnnq_quantize_nchw_scalar(&k, img, p0, p1, c0, c1);
		k.y = ya;
		kn->quantize_nchw(&k, img, p0, p1, c0, c1);
		ck_assert_msg(memcmp(ys, ya, NB * nc * NS) == 0, "quantize [%zu, %zu) x [%zu, %zu)", p0,
		              p1, c0, c1);
		for (size_t i = 0; i < NB * nc * NS; i++) {   /* outside the rectangle: untouched */
			size_t b = i / (NS * nc), p = i / nc % NS, c = i % nc;
			if (b != img || p < p0 || p >= p1 || c < c0 || c >= c1)
				ck_assert_msg(ya[i] == 0x5a, "quantize wrote [%zu][%zu][%zu]", b, p, c);
		}
		memset(ys_f, 0, sizeof ys_f);
		memset(ya_f, 0, sizeof ya_f);
		k.x = xq;
		k.y = ys_f;
		dnnq_dequantize_nchw_scalar(&k, img, p0, p1, c0, c1);
		k.y = ya_f;
		kn->dequantize_nchw(&k, img, p0, p1, c0, c1);
		ck_assert_msg(memcmp(ys_f, ya_f, sizeof ys_f) == 0, "dequantize [%zu, %zu) x [%zu, %zu)",
		              p0, p1, c0, c1);
		for (size_t i = 0; i < NB * nc * NS; i++) {   /* [b][c][p] outside: still 0 */
			size_t b = i / (NS * nc), c = i / NS % nc, p = i % NS;
			if (b != img || p < p0 || p >= p1 || c < c0 || c >= c1)
				ck_assert_msg(ya_f[i] == 0, "dequantize wrote [%zu][%zu][%zu]", b, c, p);
		}
		/* the scalar kernel wrote the rectangle: a spot check of one element */
		if (p1 > p0 && c1 > c0) {
			size_t p = p0 + (p1 - p0) / 2, c = c0 + (c1 - c0) / 2;
			float v = dnnq_dequantize_1(xq[(img * NS + p) * nc + c], 117, 0.0213f);
			ck_assert(ys_f[(img * nc + c) * NS + p] == v);
		}
	}
}
END_TEST

/* Cast: s32 as it is, u8 minus the node's zero point (int8 stored + 128),
 * on every ISA. */
START_TEST(convert_cast)
{
	FOR_EACH_ISA(isa) {
		int32_t xi[5] = { INT32_MIN, -3, 0, 7, 16777217 };
		uint8_t xq[5] = { 0, 1, 127, 128, 255 };
		float y[5];
		for (int s32 = 0; s32 < 2; s32++) {
			struct dnnq_convert_desc d = { isa, DNNQ_CONVERT_CAST, qp8(1, s32 ? 0 : 128),
			                               s32 };
			struct dnnq_convert *op;
			ck_assert_int_eq(dnnq_convert_create(&d, &op, NULL), 0);
			ck_assert_int_eq(dnnq_convert_setup(op, 5, s32 ? (const void *)xi : xq, y, NULL),
			                 0);
			ck_assert_int_eq(dnnq_convert_run(op, NULL), 0);
			for (int i = 0; i < 5; i++)
				ck_assert_float_eq(y[i], s32 ? (float)xi[i] : (float)xq[i] - 128);
			dnnq_convert_destroy(op);
		}
	}
}
END_TEST

START_TEST(convert_nchw_errors)
{
	ck_assert_str_eq(dnnq_convert_kind_name(DNNQ_CONVERT_QUANTIZE_NCHW), "quantize_nchw");
	ck_assert_str_eq(dnnq_convert_kind_name(DNNQ_CONVERT_DEQUANTIZE_NCHW), "dequantize_nchw");
	ck_assert_str_eq(dnnq_convert_kind_name(DNNQ_CONVERT_DEQUANTIZE), "dequantize");
	ck_assert_str_eq(dnnq_convert_kind_name(DNNQ_CONVERT_TO_NCHW), "to_nchw");
	ck_assert_str_eq(dnnq_convert_kind_name(DNNQ_CONVERT_U8_TO_S8), "u8_to_s8");
	ck_assert_str_eq(dnnq_convert_kind_name(DNNQ_CONVERT_CAST), "cast");
	ck_assert_ptr_null(dnnq_convert_kind_name((enum dnnq_convert_kind)9));
	struct dnnq_convert_desc d = { DNNQ_ISA_SCALAR, (enum dnnq_convert_kind)9, qp8(1, 0), false };
	struct dnnq_convert *op;
	struct dnnq_diag diag;
	ck_assert_int_eq(dnnq_convert_create(&d, &op, &diag), DNNQ_E_INVAL);
	ck_assert_str_eq(diag.msg, "convert: kind 9: unknown");
	d.kind = DNNQ_CONVERT_QUANTIZE_NCHW;
	d.qp.zero_point = 300;
	ck_assert_int_eq(dnnq_convert_create(&d, &op, &diag), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(diag.msg, "quantize_nchw: u8 qparams"));
	d.qp.zero_point = 3;
	ck_assert_int_eq(dnnq_convert_create(&d, &op, NULL), 0);
	float x[6] = { 0, 1, 2, 3, 4, 5 };
	uint8_t q[6];
	ck_assert_int_eq(dnnq_convert_setup_nchw(op, SIZE_MAX / 2, 3, 5, x, q, &diag), DNNQ_E_RANGE);
	ck_assert_str_eq(diag.msg, "quantize_nchw: batch = 9223372036854775807 x channels = 3 x "
	                           "spatial = 5: too many elements");
	ck_assert_int_eq(dnnq_convert_run(op, NULL), 0);   /* the failed setup left nothing */
	ck_assert_int_eq(dnnq_convert_setup_nchw(op, 1, 2, 3, x, NULL, &diag), DNNQ_E_INVAL);
	ck_assert_str_eq(diag.msg, "quantize_nchw: output: NULL");
	/* [1, 2, 3] -> [1, 3, 2]: x[c * 3 + p] lands at q[p * 2 + c], plus the zero point */
	ck_assert_int_eq(dnnq_convert_setup_nchw(op, 1, 2, 3, x, q, NULL), 0);
	ck_assert_int_eq(dnnq_convert_run(op, NULL), 0);
	static const uint8_t want[6] = { 3, 6, 4, 7, 5, 8 };
	ck_assert_mem_eq(q, want, 6);
	/* the plain setup: one channel, no transposition */
	ck_assert_int_eq(dnnq_convert_setup(op, 6, x, q, NULL), 0);
	ck_assert_int_eq(dnnq_convert_run(op, NULL), 0);
	static const uint8_t flat[6] = { 3, 4, 5, 6, 7, 8 };
	ck_assert_mem_eq(q, flat, 6);
	dnnq_convert_destroy(op);
}
END_TEST

/* ---- Softmax ------------------------------------------------------------ */

static void softmax_run(struct dnnq_softmax_desc d, enum dnnq_isa isa, size_t rows,
                        const uint8_t *x, float *y, const struct dnnq_executor *ex)
{
	struct dnnq_softmax *op;
	struct dnnq_diag diag = { "" };
	d.isa = isa;
	ck_assert_msg(dnnq_softmax_create(&d, &op, &diag) == 0, "%s", diag.msg);
	ck_assert_int_eq(dnnq_softmax_setup(op, rows, x, y, &diag), 0);
	ck_assert_int_eq(dnnq_softmax_run(op, ex), 0);
	dnnq_softmax_destroy(op);
}

/* Within 1e-5 relative of the reference on the dequantized inputs (or
 * 1e-38 absolute, where the reference's value underflows float). */
static void softmax_check(const struct dnnq_softmax_desc *d, size_t rows, const uint8_t *x,
                          const struct dnnq_executor *ex)
{
	size_t c = d->channels, n = rows * c;
	float *ys = malloc(n * sizeof *ys), *y = malloc(n * sizeof *y), *ref = malloc(n * sizeof *ref);
	softmax_run(*d, DNNQ_ISA_SCALAR, rows, x, ys, NULL);
	FOR_EACH_SIMD_ISA(isa) {
		softmax_run(*d, isa, rows, x, y, NULL);
		ck_assert_mem_eq(ys, y, n * sizeof *y);
	}
	softmax_run(*d, dnnq_isa_best(), rows, x, y, ex);
	ck_assert_mem_eq(ys, y, n * sizeof *y);
	float *xf = dequantized(x, n, &d->in_qp);
	dnnq_softmax_ref(xf, ref, rows, c);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fabsf(ys[i] - ref[i]) <= 1e-5f * ref[i] + 1e-38f,
		              "C = %zu, scale %g: y[%zu] = %.9g, reference %.9g", c, d->in_qp.scale,
		              i, ys[i], ref[i]);
	for (size_t r = 0; r < rows; r++) {
		double s = 0;
		for (size_t i = 0; i < c; i++)
			s += ys[r * c + i];
		ck_assert_double_le(fabs(s - 1), 1e-5);
	}
	free(xf);
	free(ys);
	free(y);
	free(ref);
}

static const size_t softmax_channels[] = { 1, 3, 8, 17, 33, 100, 1000 };

/* _i: channels x 2 random qparams. */
START_TEST(softmax_accuracy)
{
	struct rng r = { 500 + (uint64_t)_i };
	size_t c = softmax_channels[_i % 7], rows = (size_t)rng_int(&r, 1, 40);
	struct dnnq_softmax_desc d = {
		.channels = c, .in_qp = qp8((float)rng_uniform(&r, 0.005, 0.2), (int32_t)rng_int(&r, 0, 255)),
	};
	uint8_t *x = random_bytes(&r, rows * c);
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	softmax_check(&d, rows, x, &ex);
	/* many short rows: several chunks */
	free(x);
	x = random_bytes(&r, 3000 * c);
	if (c <= 100)
		softmax_check(&d, 3000, x, &ex);
	dnnq_pool_destroy(pool);
	free(x);
}
END_TEST

START_TEST(softmax_extreme_qparams)
{
	static const float scales[] = { 1e-30f, 1e30f, 1.0f };
	static const int32_t zps[] = { 0, 255 };
	struct rng r = { 12 };
	for (size_t ci = 0; ci < 7; ci++) {
		for (int s = 0; s < 3; s++) {
			for (int z = 0; z < 2; z++) {
				struct dnnq_softmax_desc d = { .channels = softmax_channels[ci],
				                               .in_qp = qp8(scales[s], zps[z]) };
				uint8_t *x = random_bytes(&r, 5 * d.channels);
				softmax_check(&d, 5, x, NULL);
				free(x);
			}
		}
	}
	/* equal inputs: uniform; one large input: one-hot */
	struct dnnq_softmax_desc d = { .channels = 33, .in_qp = qp8(1e30f, 0) };
	uint8_t x[33];
	float y[33];
	memset(x, 77, sizeof x);
	softmax_run(d, dnnq_isa_best(), 1, x, y, NULL);
	for (int i = 0; i < 33; i++)
		ck_assert_float_eq_tol(y[i], 1.0f / 33, 1e-7);
	x[20] = 78;
	softmax_run(d, dnnq_isa_best(), 1, x, y, NULL);
	for (int i = 0; i < 33; i++)
		ck_assert_float_eq(y[i], i == 20 ? 1.0f : 0.0f);
}
END_TEST

START_TEST(softmax_errors)
{
	struct dnnq_softmax_desc d = { .channels = 0, .in_qp = qp8(0.1f, 0) };
	struct dnnq_softmax *op = (struct dnnq_softmax *)&d;
	struct dnnq_diag diag;
	ck_assert_int_eq(dnnq_softmax_create(&d, &op, &diag), DNNQ_E_SHAPE);
	ck_assert_ptr_null(op);
	ck_assert_str_eq(diag.msg, "softmax: channels = 0: must be >= 1");
	d.channels = 4;
	d.in_qp.zero_point = -1;
	ck_assert_int_eq(dnnq_softmax_create(&d, &op, &diag), DNNQ_E_RANGE);
	ck_assert_str_eq(diag.msg, "softmax: input qparams: zero point -1: outside [0, 255]");
	d.in_qp.zero_point = 0;
	ck_assert_int_eq(dnnq_softmax_create(&d, &op, NULL), 0);
	ck_assert_int_eq(dnnq_softmax_setup(op, SIZE_MAX / 2, NULL, NULL, &diag), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(diag.msg, "softmax: rows = "));
	ck_assert_int_eq(dnnq_softmax_setup(op, 1, NULL, NULL, &diag), DNNQ_E_INVAL);
	ck_assert_str_eq(diag.msg, "softmax: input: NULL");
	dnnq_softmax_destroy(op);
}
END_TEST

/* ---- ElementwiseLinear -------------------------------------------------- */

static void ewlin_run(struct dnnq_elementwise_linear_desc d, enum dnnq_isa isa, size_t n,
                      const uint8_t *x, uint8_t *y, const struct dnnq_executor *ex)
{
	struct dnnq_elementwise_linear *op;
	struct dnnq_diag diag = { "" };
	d.isa = isa;
	ck_assert_msg(dnnq_elementwise_linear_create(&d, &op, &diag) == 0, "%s", diag.msg);
	ck_assert_msg(dnnq_elementwise_linear_setup(op, n, x, y, &diag) == 0, "%s", diag.msg);
	ck_assert_int_eq(dnnq_elementwise_linear_run(op, ex), 0);
	dnnq_elementwise_linear_destroy(op);
}

/* _i: shape x (with b, without b). */
START_TEST(elementwise_linear_within_one_lsb)
{
	struct rng r = { 700 + (uint64_t)_i };
	size_t si = (size_t)_i % NSHAPES, c = shapes[si][1], n = shapes[si][0] * c;
	float *a = malloc(c * sizeof *a), *b = malloc(c * sizeof *b);
	for (size_t j = 0; j < c; j++) {
		a[j] = (float)rng_uniform(&r, -2, 2);
		b[j] = (float)rng_uniform(&r, -1, 1);
	}
	struct dnnq_elementwise_linear_desc d = {
		.channels = c, .a = a, .b = _i >= NSHAPES ? NULL : b, .in_qp = random_qp(&r),
	};
	uint8_t *x = random_bytes(&r, n);
	float *xf = dequantized(x, n, &d.in_qp), *yf = malloc(n * sizeof *yf);
	dnnq_elementwise_linear_ref(xf, a, d.b, yf, n, c);
	double *ref = to_double(yf, n), lo = 0, hi = 0;
	for (size_t i = 0; i < n; i++) {
		lo = fmin(lo, ref[i]);
		hi = fmax(hi, ref[i]);
	}
	d.out_qp = fit_qp(lo, hi);
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	uint8_t *ys = new_output(n), *y = new_output(n);
	ewlin_run(d, DNNQ_ISA_SCALAR, n, x, ys, NULL);
	assert_guard(ys, n);
	assert_one_lsb(ys, ref, n, &d.out_qp, "elementwise_linear");
	FOR_EACH_SIMD_ISA(isa) {
		ewlin_run(d, isa, n, x, y, NULL);
		assert_same(ys, y, n, dnnq_isa_name(isa));
	}
	ewlin_run(d, dnnq_isa_best(), n, x, x, &ex);   /* in place */
	ck_assert_mem_eq(x, ys, n);
	dnnq_pool_destroy(pool);
	free(a);
	free(b);
	free(x);
	free(xf);
	free(yf);
	free(ref);
	free(ys);
	free(y);
}
END_TEST

START_TEST(elementwise_linear_extreme_qparams)
{
	struct rng r = { 13 };
	/* tiny and huge scales, zero points 0 and 255 */
	static const float s[][2] = { { 1e-30f, 2e-30f }, { 1e30f, 3e30f }, { 1e-30f, 1e-30f } };
	float a[17], b[17];
	for (int j = 0; j < 17; j++)
		a[j] = (float)rng_uniform(&r, -1, 1);
	uint8_t *x = random_bytes(&r, 17 * 20), *y = new_output(17 * 20), *yv = new_output(17 * 20);
	for (int c = 0; c < 3; c++) {
		struct dnnq_elementwise_linear_desc d = { .channels = 17, .a = a, .in_qp = qp8(s[c][0], 255),
		                                          .out_qp = qp8(s[c][1], c == 1 ? 0 : 255) };
		for (int j = 0; j < 17; j++)   /* offsets of a few output steps */
			b[j] = (float)(s[c][1] * rng_uniform(&r, -50, 50));
		d.b = b;
		ewlin_run(d, DNNQ_ISA_SCALAR, 17 * 20, x, y, NULL);
		for (size_t i = 0; i < 17 * 20; i++) {
			double v = (double)a[i % 17] * dnnq_dequantize_1(x[i], 255, s[c][0]) + b[i % 17];
			ck_assert(fabs(y[i] - quantize_d(v, &d.out_qp)) <= 1);
		}
		FOR_EACH_SIMD_ISA(isa) {
			ewlin_run(d, isa, 17 * 20, x, yv, NULL);
			assert_same(y, yv, 17 * 20, dnnq_isa_name(isa));
		}
	}
	free(x);
	free(y);
	free(yv);
}
END_TEST

START_TEST(elementwise_linear_errors)
{
	float a[17], b[17];
	for (int j = 0; j < 17; j++)
		a[j] = b[j] = 1;
	static const struct {
		const char *msg;
		int rc;
	} want[] = {
		{ "elementwise_linear: channels = 0: must be >= 1", DNNQ_E_SHAPE },
		{ "elementwise_linear: a: NULL", DNNQ_E_INVAL },
		{ "elementwise_linear: a[2] = nan: must be finite", DNNQ_E_RANGE },
		{ "elementwise_linear: b[16] = inf: must be finite", DNNQ_E_RANGE },
		{ "elementwise_linear: a[0] multiplier", DNNQ_E_RANGE },
		{ "elementwise_linear: output qparams: scale inf", DNNQ_E_RANGE },
	};
	for (size_t c = 0; c < sizeof want / sizeof want[0]; c++) {
		float aa[17], bb[17];
		memcpy(aa, a, sizeof aa);
		memcpy(bb, b, sizeof bb);
		struct dnnq_elementwise_linear_desc d = { .channels = 17, .a = aa, .b = bb,
		                                          .in_qp = qp8(1, 0), .out_qp = qp8(1, 0) };
		switch (c) {
		case 0: d.channels = 0; break;
		case 1: d.a = NULL; break;
		case 2: aa[2] = NAN; break;
		case 3: bb[16] = INFINITY; break;
		case 4: aa[0] = 1e30f; d.in_qp.scale = 1e30f; break;
		case 5: d.out_qp.scale = INFINITY; break;
		}
		struct dnnq_elementwise_linear *op = (struct dnnq_elementwise_linear *)&d;
		struct dnnq_diag diag = { "" };
		ck_assert_int_eq(dnnq_elementwise_linear_create(&d, &op, &diag), want[c].rc);
		ck_assert_ptr_null(op);
		ck_assert_msg(strstr(diag.msg, want[c].msg), "case %zu: '%s' lacks '%s'", c, diag.msg,
		              want[c].msg);
	}
	struct dnnq_elementwise_linear_desc d = { .channels = 17, .a = a, .in_qp = qp8(1, 0),
	                                          .out_qp = qp8(1, 0) };
	struct dnnq_elementwise_linear *op;
	struct dnnq_diag diag;
	ck_assert_int_eq(dnnq_elementwise_linear_create(&d, &op, NULL), 0);
	uint8_t buf[40];
	ck_assert_int_eq(dnnq_elementwise_linear_setup(op, 40, buf, buf, &diag), DNNQ_E_SHAPE);
	ck_assert_str_eq(diag.msg, "elementwise_linear: n = 40: not a multiple of channels = 17");
	dnnq_elementwise_linear_destroy(op);
}
END_TEST

/* ---- Concat ------------------------------------------------------------- */

static void concat_run(struct dnnq_concat_desc d, enum dnnq_isa isa, const size_t *const dims[],
                       uint8_t *const in[], uint8_t *y, const struct dnnq_executor *ex)
{
	struct dnnq_concat *op;
	struct dnnq_diag diag = { "" };
	d.isa = isa;
	ck_assert_msg(dnnq_concat_create(&d, &op, &diag) == 0, "%s", diag.msg);
	ck_assert_msg(dnnq_concat_setup(op, dims, (const uint8_t *const *)in, y, &diag) == 0, "%s",
	              diag.msg);
	ck_assert_int_eq(dnnq_concat_run(op, ex), 0);
	dnnq_concat_destroy(op);
}

struct cc_problem {
	struct dnnq_concat_desc d;
	size_t base[4], dk[DNNQ_CONCAT_MAX_INPUTS][4], total;
	const size_t *dims[DNNQ_CONCAT_MAX_INPUTS];
	uint8_t *x[DNNQ_CONCAT_MAX_INPUTS];
	float *xf[DNNQ_CONCAT_MAX_INPUTS], *raw[DNNQ_CONCAT_MAX_INPUTS];
};

/* 1..5 NHWC inputs, lengths along the axis from {0, 1, 3, 17, 33}, every
 * other input with the output's qparams (the memcpy path), the rest
 * requantized. raw[k] holds each byte + 256 k: where an element came from. */
static void cc_make(struct rng *r, struct cc_problem *p, size_t axis, bool big)
{
	static const size_t along[] = { 0, 1, 3, 17, 33 };
	memset(p, 0, sizeof *p);
	p->d = (struct dnnq_concat_desc){ .ndims = 4, .axis = axis,
	                                  .ninputs = (size_t)rng_int(r, 1, 5), .out_qp = random_qp(r) };
	size_t *b = p->base;
	b[0] = (size_t)rng_int(r, 1, 3);
	b[1] = (size_t)rng_int(r, 1, 4);
	b[2] = (size_t)rng_int(r, 1, 5);
	b[3] = (size_t)rng_int(r, 1, 9);
	if (big)   /* many positions: several chunks */
		b[1] = b[2] = 60;
	for (size_t k = 0; k < p->d.ninputs; k++) {
		memcpy(p->dk[k], b, sizeof p->base);
		p->dk[k][axis] = along[rng_int(r, k == 0 ? 1 : 0, 4)];
		p->dims[k] = p->dk[k];
		size_t len = b[0] * b[1] * b[2] * b[3] / b[axis] * p->dk[k][axis];
		p->total += len;
		p->d.in_qp[k] = k % 2 ? random_qp(r) : p->d.out_qp;
		p->x[k] = len ? random_bytes(r, len) : NULL;   /* empty inputs may be NULL */
		p->xf[k] = dequantized(p->x[k], len, &p->d.in_qp[k]);
		p->raw[k] = malloc((len ? len : 1) * sizeof(float));
		for (size_t i = 0; i < len; i++)
			p->raw[k][i] = p->x[k][i] + 256.0f * (float)k;
	}
}

static void cc_free(struct cc_problem *p)
{
	for (size_t k = 0; k < p->d.ninputs; k++) {
		free(p->x[k]);
		free(p->xf[k]);
		free(p->raw[k]);
	}
}

/* Through the fp32 reference twice: on the raw bytes (copied inputs land
 * unchanged) and on the dequantized values (within 1 LSB). */
static void cc_check_values(const struct cc_problem *p, const uint8_t *y)
{
	const struct dnnq_concat_desc *d = &p->d;
	float *src = malloc(p->total * sizeof *src), *val = malloc(p->total * sizeof *val);
	dnnq_concat_ref(d->ninputs, p->dims, 4, d->axis, (const float *const *)p->raw, src);
	dnnq_concat_ref(d->ninputs, p->dims, 4, d->axis, (const float *const *)p->xf, val);
	for (size_t i = 0; i < p->total; i++) {
		size_t k = (size_t)(src[i] / 256);
		uint8_t q = (uint8_t)(src[i] - 256.0f * (float)k);
		if (k % 2 == 0)   /* copied */
			ck_assert_int_eq(y[i], q);
		ck_assert(fabs(y[i] - quantize_d(val[i], &d->out_qp)) <= 1);
		double v = dnnq_dequantize_1(q, d->in_qp[k].zero_point, d->in_qp[k].scale);
		ck_assert(fabs(y[i] - quantize_d(v, &d->out_qp)) <= 1);
	}
	free(src);
	free(val);
}

/* Output dims and which inputs take the memcpy path. */
static void cc_check_meta(const struct cc_problem *p, uint8_t *y)
{
	struct dnnq_concat *op;
	ck_assert_int_eq(dnnq_concat_create(&p->d, &op, NULL), 0);
	ck_assert_int_eq(dnnq_concat_setup(op, p->dims, (const uint8_t *const *)p->x, y, NULL), 0);
	size_t od[4], sum = 0;
	dnnq_concat_output_dims(op, od);
	for (size_t k = 0; k < p->d.ninputs; k++) {
		sum += p->dk[k][p->d.axis];
		ck_assert_int_eq(dnnq_concat_input_copied(op, k), k % 2 == 0);
	}
	for (size_t j = 0; j < 4; j++)
		ck_assert_uint_eq(od[j], j == p->d.axis ? sum : p->base[j]);
	dnnq_concat_destroy(op);
}

/* _i: axis (0..3 of NHWC) x 6 random problems; AVX2 and the pool agree. */
START_TEST(concat_paths)
{
	struct rng r = { 900 + (uint64_t)_i };
	struct cc_problem p;
	cc_make(&r, &p, (size_t)_i % 4, _i == 3);
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	uint8_t *ys = new_output(p.total), *y = new_output(p.total);
	concat_run(p.d, DNNQ_ISA_SCALAR, p.dims, p.x, ys, NULL);
	assert_guard(ys, p.total);
	FOR_EACH_SIMD_ISA(isa) {
		concat_run(p.d, isa, p.dims, p.x, y, NULL);
		assert_same(ys, y, p.total, dnnq_isa_name(isa));
	}
	memset(y, 0xa5, p.total + GUARD);
	concat_run(p.d, dnnq_isa_best(), p.dims, p.x, y, &ex);
	assert_same(ys, y, p.total, "pool");
	cc_check_values(&p, ys);
	cc_check_meta(&p, y);
	dnnq_pool_destroy(pool);
	cc_free(&p);
	free(ys);
	free(y);
}
END_TEST

/* Extreme qparams on the requantize path; the copy rule and precision. */
START_TEST(concat_extreme_qparams)
{
	struct rng r = { 14 };
	static const struct dnnq_qparams q[] = {
		{ 1e-30f, 0, 8, false }, { 3e-30f, 255, 8, false }, { 1e30f, 255, 8, false },
		{ 2e30f, 0, 8, false }, { 1.0f / 255, 128, 8, false },
	};
	const size_t d0[2] = { 7, 33 };
	const size_t *dims[2] = { d0, d0 };
	uint8_t *x[2] = { random_bytes(&r, 7 * 33), random_bytes(&r, 7 * 33) };
	uint8_t *y = new_output(2 * 7 * 33), *yv = new_output(2 * 7 * 33);
	for (int a = 0; a < 5; a++) {
		for (int b = 0; b < 5; b++) {
			if ((double)q[a].scale / q[b].scale > 1e38)
				continue;   /* a ratio beyond float: refused, see concat_errors */
			struct dnnq_concat_desc d = { .ninputs = 2, .ndims = 2, .axis = 1,
			                              .in_qp = { q[a], q[b] }, .out_qp = q[b] };
			concat_run(d, DNNQ_ISA_SCALAR, dims, x, y, NULL);
			for (size_t i = 0; i < 7 * 66; i++) {
				size_t row = i / 66, col = i % 66, k = col / 33;
				uint8_t in = x[k][row * 33 + col % 33];
				double v = dnnq_dequantize_1(in, d.in_qp[k].zero_point, d.in_qp[k].scale);
				ck_assert(fabs(y[i] - quantize_d(v, &d.out_qp)) <= 1);
				if (k == 1)
					ck_assert_int_eq(y[i], in);
			}
			FOR_EACH_SIMD_ISA(isa) {
				concat_run(d, isa, dims, x, yv, NULL);
				assert_same(y, yv, 2 * 7 * 33, dnnq_isa_name(isa));
			}
		}
	}
	/* a 7-bit input under an 8-bit output with the same scale is copied; the
	 * other way round it is clamped at 127 */
	struct dnnq_concat_desc d = { .ninputs = 2, .ndims = 2, .axis = 0,
	                              .in_qp = { { 0.5f, 3, 7, false }, qp8(0.5f, 3) },
	                              .out_qp = qp8(0.5f, 3) };
	struct dnnq_concat *op;
	ck_assert_int_eq(dnnq_concat_create(&d, &op, NULL), 0);
	ck_assert(dnnq_concat_input_copied(op, 0) && dnnq_concat_input_copied(op, 1));
	dnnq_concat_destroy(op);
	d.in_qp[0] = qp8(0.5f, 3);
	d.out_qp.precision = 7;
	concat_run(d, dnnq_isa_best(), dims, x, y, NULL);
	for (size_t i = 0; i < 2 * 7 * 33; i++)
		ck_assert_int_eq(y[i], (i < 7 * 33 ? x[0][i] : x[1][i - 7 * 33]) > 127 ? 127
		                 : (i < 7 * 33 ? x[0][i] : x[1][i - 7 * 33]));
	free(x[0]);
	free(x[1]);
	free(y);
	free(yv);
}
END_TEST

START_TEST(concat_errors)
{
	static const struct {
		const char *msg;
		int rc;
	} want[] = {
		{ "concat: ninputs = 0: need 1..16", DNNQ_E_INVAL },
		{ "concat: ninputs = 17: need 1..16", DNNQ_E_INVAL },
		{ "concat: ndims = 9: need 1..8", DNNQ_E_SHAPE },
		{ "concat: axis = 4: need < ndims = 4", DNNQ_E_SHAPE },
		{ "concat: input 1 qparams: zero point 256", DNNQ_E_RANGE },
		{ "concat: output qparams: scale nan", DNNQ_E_RANGE },
		{ "concat: input 0 multiplier", DNNQ_E_RANGE },
	};
	for (size_t c = 0; c < sizeof want / sizeof want[0]; c++) {
		struct dnnq_concat_desc d = { .ninputs = 2, .ndims = 4, .axis = 3,
		                              .in_qp = { qp8(1, 0), qp8(1, 0) }, .out_qp = qp8(1, 0) };
		switch (c) {
		case 0: d.ninputs = 0; break;
		case 1: d.ninputs = 17; break;
		case 2: d.ndims = 9; break;
		case 3: d.axis = 4; break;
		case 4: d.in_qp[1].zero_point = 256; break;
		case 5: d.out_qp.scale = NAN; break;
		case 6: d.in_qp[0].scale = 1e30f; d.out_qp.scale = 1e-30f; break;
		}
		struct dnnq_concat *op = (struct dnnq_concat *)&d;
		struct dnnq_diag diag = { "" };
		ck_assert_int_eq(dnnq_concat_create(&d, &op, &diag), want[c].rc);
		ck_assert_ptr_null(op);
		ck_assert_msg(strstr(diag.msg, want[c].msg), "case %zu: '%s' lacks '%s'", c, diag.msg,
		              want[c].msg);
	}
}
END_TEST

START_TEST(concat_setup_errors)
{
	struct dnnq_concat_desc d = { .ninputs = 2, .ndims = 4, .axis = 3,
	                              .in_qp = { qp8(1, 0), qp8(1, 0) }, .out_qp = qp8(1, 0) };
	struct dnnq_concat *op;
	struct dnnq_diag diag;
	ck_assert_int_eq(dnnq_concat_create(&d, &op, NULL), 0);
	size_t a[4] = { 1, 2, 2, 3 }, b[4] = { 1, 2, 3, 5 };
	const size_t *dims[2] = { a, b };
	uint8_t xa[12], xb[30], y[64];
	const uint8_t *in[2] = { xa, xb };
	ck_assert_int_eq(dnnq_concat_setup(op, dims, in, y, &diag), DNNQ_E_SHAPE);
	ck_assert_str_eq(diag.msg, "concat: input 1 dims[2] = 3: input 0 has 2");
	b[2] = 2;
	ck_assert_int_eq(dnnq_concat_setup(op, dims, in, y, &diag), 0);
	in[1] = NULL;
	ck_assert_int_eq(dnnq_concat_setup(op, dims, in, y, &diag), DNNQ_E_INVAL);
	ck_assert_str_eq(diag.msg, "concat: input 1: NULL");
	memset(y, 0x5a, sizeof y);   /* the failed setup unbound the good one */
	ck_assert_int_eq(dnnq_concat_run(op, NULL), 0);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(y[i], 0x5a);
	dims[1] = NULL;
	ck_assert_int_eq(dnnq_concat_setup(op, dims, in, y, &diag), DNNQ_E_INVAL);
	ck_assert_str_eq(diag.msg, "concat: dims[1]: NULL");
	size_t big[4] = { SIZE_MAX / 2, 2, 2, 3 };
	dims[1] = b;
	dims[0] = big;
	b[0] = SIZE_MAX / 2;
	in[1] = xb;
	ck_assert_int_eq(dnnq_concat_setup(op, dims, in, y, &diag), DNNQ_E_RANGE);
	ck_assert_str_eq(diag.msg, "concat: output: element count overflows");
	dnnq_concat_destroy(op);
}
END_TEST

Suite *suite_eltwise(void)
{
	Suite *s = suite_create("eltwise");
	TCase *tc = tcase_create("eltwise");
	tcase_add_test(tc, references_by_hand_1);
	tcase_add_test(tc, references_by_hand_2);
	tcase_add_loop_test(tc, eltwise_within_one_lsb, 0, NSHAPES * 4 * 3);
	tcase_add_test(tc, sum_sixteen_inputs_in_place);
	tcase_add_test(tc, eltwise_extreme_qparams);
	tcase_add_test(tc, eltwise_low_precision_output);
	tcase_add_test(tc, identity_where_rounding_shows);
	tcase_add_test(tc, eltwise_errors);
	tcase_add_test(tc, eltwise_setup_errors);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	tc = tcase_create("activation");
	tcase_add_loop_test(tc, activation_tables, 0, NACT * 4);
	tcase_add_test(tc, activation_extreme_qparams);
	tcase_add_test(tc, lut_kernel_lengths);
	tcase_add_test(tc, ew_add_kernel_lengths);
	tcase_add_test(tc, activation_errors);
	tcase_add_test(tc, convert_quantize_dequantize);
	tcase_add_test(tc, convert_errors);
	tcase_add_loop_test(tc, convert_nchw_transposes, 0, NNCHW);
	tcase_add_test(tc, convert_nchw_kernel_rectangles);
	tcase_add_test(tc, convert_nchw_errors);
	tcase_add_test(tc, convert_cast);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	tc = tcase_create("softmax");
	tcase_add_loop_test(tc, softmax_accuracy, 0, 7 * 2);
	tcase_add_test(tc, softmax_extreme_qparams);
	tcase_add_test(tc, softmax_errors);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	tc = tcase_create("linear_concat");
	tcase_add_loop_test(tc, elementwise_linear_within_one_lsb, 0, 2 * NSHAPES);
	tcase_add_test(tc, elementwise_linear_extreme_qparams);
	tcase_add_test(tc, elementwise_linear_errors);
	tcase_add_test(tc, identity_where_rounding_shows_linear);
	tcase_add_loop_test(tc, concat_paths, 0, 4 * 6);
	tcase_add_test(tc, concat_extreme_qparams);
	tcase_add_test(tc, concat_errors);
	tcase_add_test(tc, concat_setup_errors);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}
