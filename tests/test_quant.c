/*
 * The quantization core (engine/quant.h): parameter choice, the ONNX rounding
 * and saturation rules, the worked examples people meet first, the 6.02 dB
 * per bit law, gemmlowp's fixed-point requantization, and bit-identity of
 * every SIMD ISA's kernels (tests/isa.h) with the scalar reference over
 * random and extreme inputs.
 */
#include <check.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant.h"
#include "engine/quant-scalar.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

static const float example[9] = {
	0.0114f, -0.0231f, 0.0445f, 0, 0, 0, -0.0409f, -0.0435f, -0.0400f,
};


START_TEST(worked_example_scale_1_255)
{
	static const int8_t want[9] = { 3, -6, 11, 0, 0, 0, -10, -11, -10 };
	static const char *want_deq[9] = { "0.0118", "-0.0235", "0.0431", "0.0000", "0.0000",
	                                   "0.0000", "-0.0392", "-0.0431", "-0.0392" };
	struct dnnq_qparams qp = { 1.0f / 255, 0, 8, true };
	FOR_EACH_ISA(isa) {
		int8_t q[9];
		float back[9];
		ck_assert_int_eq(dnnq_quantize(isa, example, q, DNNQ_DTYPE_S8, 9, &qp), 0);
		ck_assert_mem_eq(q, want, 9);
		ck_assert_int_eq(dnnq_dequantize(isa, q, DNNQ_DTYPE_S8, back, 9, &qp), 0);
		for (int i = 0; i < 9; i++) {
			char s[16];
			snprintf(s, sizeof s, "%.4f", back[i] == 0 ? 0.0f : back[i]);
			ck_assert_str_eq(s, want_deq[i]);
		}
	}
}
END_TEST

START_TEST(worked_example_symmetric_per_row)
{
	static const int8_t want[9] = { 33, -66, 127, 0, 0, 0, -119, -127, -117 };
	struct dnnq_qspec spec = { DNNQ_QSCHEME_SYMMETRIC, 8, true, false };
	int8_t q[9];
	for (int r = 0; r < 3; r++) {
		float lo, hi;
		struct dnnq_qparams qp;
		dnnq_minmax(example + 3 * r, 3, &lo, &hi);
		ck_assert_int_eq(dnnq_choose_qparams(lo, hi, &spec, &qp, NULL), 0);
		ck_assert_int_eq(qp.zero_point, 0);
		if (r == 1)   /* the all-zero row gets multiplier 1 */
			ck_assert_float_eq(qp.scale, 1.0f);
		else
			ck_assert_float_eq_tol(qp.scale, fmaxf(-lo, hi) / 127, 1e-9);
		ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, example + 3 * r, q + 3 * r,
		                               DNNQ_DTYPE_S8, 3, &qp), 0);
	}
	ck_assert_mem_eq(q, want, 9);
}
END_TEST

/*
 * The textbook law: a full-scale uniform signal quantized to b bits has
 * SQNR = 6.02 b dB. "Full scale" means the data fills the quantizer's cells
 * exactly: every level's cell, half a step either side of it.
 */
START_TEST(sqnr_six_db_per_bit)
{
	enum { N = 200000 };
	float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
	int32_t *q = malloc(N * sizeof *q);
	struct rng r = { 42 };
	for (unsigned b = 4; b <= 12; b++) {
		struct dnnq_qspec spec = { DNNQ_QSCHEME_ASYMMETRIC, (uint8_t)b, false, false };
		struct dnnq_qparams qp;
		ck_assert_int_eq(dnnq_choose_qparams(-1, 1, &spec, &qp, NULL), 0);
		double lo = (0 - qp.zero_point - 0.5) * qp.scale;
		double hi = (dnnq_qmax(b, false) - qp.zero_point + 0.5) * qp.scale;
		for (int i = 0; i < N; i++)
			x[i] = (float)rng_uniform(&r, lo, hi);
		ck_assert_int_eq(dnnq_quantize(dnnq_isa_best(), x, q, DNNQ_DTYPE_S32, N, &qp), 0);
		ck_assert_int_eq(dnnq_dequantize(dnnq_isa_best(), q, DNNQ_DTYPE_S32, y, N, &qp), 0);
		double sqnr = dnnq_sqnr_db(x, y, N);
		ck_assert_msg(fabs(sqnr - 6.02 * b) <= 0.5, "%u bits: SQNR %.2f dB, want %.2f +- 0.5",
		              b, sqnr, 6.02 * b);
	}
	free(x);
	free(y);
	free(q);
}
END_TEST

START_TEST(choose_qparams_schemes)
{
	struct dnnq_qparams qp;
	struct dnnq_qspec asym = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false };
	ck_assert_int_eq(dnnq_choose_qparams(-1, 3, &asym, &qp, NULL), 0);
	ck_assert_float_eq_tol(qp.scale, 4.0f / 255, 1e-9);
	ck_assert_int_eq(qp.zero_point, 64);           /* 63.75 rounded */
	/* the range is widened to contain zero */
	ck_assert_int_eq(dnnq_choose_qparams(2, 5, &asym, &qp, NULL), 0);
	ck_assert_int_eq(qp.zero_point, 0);
	ck_assert_float_eq_tol(qp.scale, 5.0f / 255, 1e-9);
	ck_assert_int_eq(dnnq_choose_qparams(-5, -2, &asym, &qp, NULL), 0);
	ck_assert_int_eq(qp.zero_point, 255);

	struct dnnq_qspec sym_u = { DNNQ_QSCHEME_SYMMETRIC, 8, false, false };
	ck_assert_int_eq(dnnq_choose_qparams(-2, 1, &sym_u, &qp, NULL), 0);
	ck_assert_int_eq(qp.zero_point, 128);
	ck_assert_float_eq_tol(qp.scale, 2.0f / 127, 1e-9);

	struct dnnq_qspec sparse = { DNNQ_QSCHEME_PRESERVE_SPARSITY, 8, false, false };
	ck_assert_int_eq(dnnq_choose_qparams(0, 6, &sparse, &qp, NULL), 0);
	ck_assert_int_eq(qp.zero_point, 0);            /* one-sided: full range kept */
	ck_assert_float_eq_tol(qp.scale, 6.0f / 255, 1e-9);
	ck_assert_int_eq(dnnq_choose_qparams(-3, 6, &sparse, &qp, NULL), 0);
	ck_assert_int_eq(qp.zero_point, 128);          /* two-sided: symmetric */

	struct dnnq_qspec reduced = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, true };
	ck_assert_int_eq(dnnq_choose_qparams(0, 127, &reduced, &qp, NULL), 0);
	ck_assert_int_eq(qp.precision, 7);
	ck_assert_float_eq_tol(qp.scale, 1.0f, 1e-9);

	struct dnnq_qspec s16 = { DNNQ_QSCHEME_SYMMETRIC, 16, true, false };
	ck_assert_int_eq(dnnq_choose_qparams(-1, 1, &s16, &qp, NULL), 0);
	ck_assert_float_eq_tol(qp.scale, 1.0f / 32767, 1e-12);

	/* zero-width range */
	ck_assert_int_eq(dnnq_choose_qparams(0, 0, &asym, &qp, NULL), 0);
	ck_assert_float_eq(qp.scale, 1.0f);
	/* tiny range: scale stays normal so 1/scale is finite */
	ck_assert_int_eq(dnnq_choose_qparams(0, 1e-42f, &asym, &qp, NULL), 0);
	ck_assert(qp.scale >= FLT_MIN && isfinite(1.0f / qp.scale));
	/* every chosen set passes its own check */
	ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_U8, NULL), 0);
}
END_TEST

START_TEST(choose_qparams_errors)
{
	struct dnnq_qparams qp;
	struct dnnq_diag d = { "" };
	struct dnnq_qspec spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false };
	ck_assert_int_eq(dnnq_choose_qparams(NAN, 1, &spec, &qp, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "range"));
	ck_assert_int_eq(dnnq_choose_qparams(0, INFINITY, &spec, &qp, NULL), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_choose_qparams(2, 1, &spec, &qp, NULL), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_choose_qparams(-FLT_MAX, FLT_MAX,
	                 &(struct dnnq_qspec){ DNNQ_QSCHEME_ASYMMETRIC, 1, false, false }, &qp, NULL),
	                 DNNQ_E_RANGE);
	spec.precision = 0;
	ck_assert_int_eq(dnnq_choose_qparams(0, 1, &spec, &qp, NULL), DNNQ_E_INVAL);
	spec.precision = 17;
	ck_assert_int_eq(dnnq_choose_qparams(0, 1, &spec, &qp, NULL), DNNQ_E_INVAL);
	spec = (struct dnnq_qspec){ DNNQ_QSCHEME_SYMMETRIC, 1, true, false };
	ck_assert_int_eq(dnnq_choose_qparams(-1, 1, &spec, &qp, NULL), DNNQ_E_INVAL);
	spec = (struct dnnq_qspec){ 7, 8, true, false };
	ck_assert_int_eq(dnnq_choose_qparams(-1, 1, &spec, &qp, NULL), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_choose_qparams(-1, 1, NULL, &qp, NULL), DNNQ_E_INVAL);
}
END_TEST

START_TEST(qparams_check)
{
	struct dnnq_diag d;
	struct dnnq_qparams qp = { 0.5f, 3, 8, false };
	ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_U8, NULL), 0);
	ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_S8, NULL), DNNQ_E_DTYPE);
	ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_F32, NULL), DNNQ_E_DTYPE);
	qp.scale = 0;
	ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_U8, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "scale"));
	qp.scale = NAN;
	ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_U8, NULL), DNNQ_E_RANGE);
	qp = (struct dnnq_qparams){ 1, 256, 8, false };
	ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_U8, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "zero point"));
	qp = (struct dnnq_qparams){ 1, 8, 4, false };     /* 4-bit: zp 0..15 */
	ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_U8, NULL), 0);
	qp.zero_point = 16;
	ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_U8, NULL), DNNQ_E_RANGE);
	qp = (struct dnnq_qparams){ 1, 0, 12, true };
	ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_S32, NULL), 0);
	ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_S8, NULL), DNNQ_E_DTYPE);
}
END_TEST

START_TEST(quantize_rounds_half_even_and_saturates)
{
	const float x[] = { 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 1e9f, -1e9f,
	                    NAN, INFINITY, -INFINITY, 127.4999f, -128.5f, 126.5f };
	const int8_t want[] = { 0, 2, 2, 0, -2, -2, 127, -128, -128, 127, -128, 127, -128, 126 };
	struct dnnq_qparams qp = { 1.0f, 0, 8, true };
	FOR_EACH_ISA(isa) {
		/* twice over, so the 8-wide SIMD body and the scalar tail both run */
		float xx[28];
		int8_t q[28];
		memcpy(xx, x, sizeof x);
		memcpy(xx + 14, x, sizeof x);
		ck_assert_int_eq(dnnq_quantize(isa, xx, q, DNNQ_DTYPE_S8, 28, &qp), 0);
		ck_assert_mem_eq(q, want, 14);
		ck_assert_mem_eq(q + 14, want, 14);
	}
	/* u8 with a zero point: clamps at 0 and 255 */
	struct dnnq_qparams u = { 0.1f, 10, 8, false };
	const float xu[] = { -1.0f, -2.0f, 24.5f, 100.0f };
	uint8_t qu[4];
	ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, xu, qu, DNNQ_DTYPE_U8, 4, &u), 0);
	ck_assert_int_eq(qu[0], 0);
	ck_assert_int_eq(qu[1], 0);
	ck_assert_int_eq(qu[2], 255);
	ck_assert_int_eq(qu[3], 255);
	/* 4-bit values in u8 storage clamp at 15 */
	struct dnnq_qparams u4 = { 1.0f, 0, 4, false };
	ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, xu + 3, qu, DNNQ_DTYPE_U8, 1, &u4), 0);
	ck_assert_int_eq(qu[0], 15);
}
END_TEST

START_TEST(quantize_argument_errors)
{
	float x = 1;
	uint8_t q;
	struct dnnq_qparams qp = { 1.0f, 0, 8, false };
	ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, &x, &q, DNNQ_DTYPE_F32, 1, &qp), DNNQ_E_DTYPE);
	ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, NULL, &q, DNNQ_DTYPE_U8, 1, &qp), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, NULL, NULL, DNNQ_DTYPE_U8, 0, &qp), 0);
	ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, &x, &q, DNNQ_DTYPE_U8, 1, NULL), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_dequantize(DNNQ_ISA_SCALAR, &q, DNNQ_DTYPE_S8, &x, 1, &qp), DNNQ_E_DTYPE);
}
END_TEST

static float extreme_float(struct rng *r)
{
	static const float special[] = { 0.0f, -0.0f, NAN, INFINITY, -INFINITY, FLT_MAX, -FLT_MAX,
	                                 FLT_MIN, 1e-40f, 0.5f, -0.5f, 1.5f, 2.5f, 16777216.0f,
	                                 2147483648.0f, -2147483904.0f };
	switch (rng_int(r, 0, 3)) {
	case 0:  return special[rng_int(r, 0, sizeof special / sizeof special[0] - 1)];
	case 1:  return (float)rng_int(r, -300, 300) * 0.5f;   /* exact ties */
	default: return (float)rng_uniform(r, -300, 300);
	}
}

START_TEST(simd_quantize_matches_scalar)
{
	struct rng r = { 7 };
	float x[80], back_s[80], back_v[80];
	int32_t qs[80], qv[80];
	const enum dnnq_dtype dts[3] = { DNNQ_DTYPE_U8, DNNQ_DTYPE_S8, DNNQ_DTYPE_S32 };
	for (int iter = 0; iter < 3000; iter++) {
		enum dnnq_dtype dt = dts[iter % 3];
		bool sgn = dt == DNNQ_DTYPE_S8 || (dt == DNNQ_DTYPE_S32 && rng_int(&r, 0, 1));
		unsigned p = (unsigned)rng_int(&r, 1, dt == DNNQ_DTYPE_S32 ? 16 : 8);
		struct dnnq_qparams qp = {
			(float)exp(rng_uniform(&r, -8, 3)),
			(int32_t)rng_int(&r, dnnq_qmin(p, sgn), dnnq_qmax(p, sgn)), (uint8_t)p, sgn,
		};
		size_t n = (size_t)rng_int(&r, 0, 80);
		for (size_t i = 0; i < n; i++)
			x[i] = extreme_float(&r);
		memset(qs, 0x5a, sizeof qs);
		ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, x, qs, dt, n, &qp), 0);
		ck_assert_int_eq(dnnq_dequantize(DNNQ_ISA_SCALAR, qs, dt, back_s, n, &qp), 0);
		FOR_EACH_SIMD_ISA(isa) {
			memset(qv, 0x5a, sizeof qv);
			ck_assert_int_eq(dnnq_quantize(isa, x, qv, dt, n, &qp), 0);
			ck_assert_mem_eq(qs, qv, sizeof qs);   /* bytes past n untouched too */
			ck_assert_int_eq(dnnq_dequantize(isa, qs, dt, back_v, n, &qp), 0);
			ck_assert_mem_eq(back_s, back_v, n * sizeof(float));
		}
	}
}
END_TEST

START_TEST(fixedpoint_from_real)
{
	struct dnnq_fixedpoint f;
	ck_assert_int_eq(dnnq_fixedpoint_from_real(0.5, &f), 0);
	ck_assert_int_eq(f.multiplier, 1 << 30);
	ck_assert_int_eq(f.shift, 0);
	ck_assert_int_eq(dnnq_fixedpoint_from_real(0.25, &f), 0);
	ck_assert_int_eq(f.multiplier, 1 << 30);
	ck_assert_int_eq(f.shift, 1);
	ck_assert_int_eq(dnnq_fixedpoint_from_real(1.0, &f), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_fixedpoint_from_real(1.0 - 1e-12, &f), DNNQ_E_RANGE); /* rounds to 1 */
	ck_assert_int_eq(dnnq_fixedpoint_from_real(0, &f), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_fixedpoint_from_real(NAN, &f), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_fixedpoint_from_real(ldexp(1, -33), &f), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_fixedpoint_from_real(ldexp(1, -32), &f), 0);
	ck_assert_int_eq(f.shift, 31);
	struct rng r = { 3 };
	for (int i = 0; i < 10000; i++) {
		double real = exp(rng_uniform(&r, -20, -0.001));
		ck_assert_int_eq(dnnq_fixedpoint_from_real(real, &f), 0);
		ck_assert_int_ge(f.multiplier, 1 << 30);
		double back = ldexp(f.multiplier, -31 - f.shift);
		ck_assert_double_le(fabs(back - real), ldexp(1, -32 - f.shift));
	}
}
END_TEST

/* gemmlowp's two rounding steps, on hand-checked values. */
START_TEST(gemmlowp_rounding)
{
	/* srdhm(a, 2^30) = a / 2 rounded half up */
	ck_assert_int_eq(dnnq_srdhm(3, 1 << 30), 2);
	ck_assert_int_eq(dnnq_srdhm(-3, 1 << 30), -1);
	ck_assert_int_eq(dnnq_srdhm(-2, 1 << 30), -1);
	ck_assert_int_eq(dnnq_srdhm(INT32_MIN, 1 << 30), INT32_MIN / 2);
	ck_assert_int_eq(dnnq_srdhm(INT32_MAX, INT32_MAX), INT32_MAX - 1);
	/* rdbpot: ties away from zero */
	ck_assert_int_eq(dnnq_rdbpot(5, 1), 3);
	ck_assert_int_eq(dnnq_rdbpot(-5, 1), -3);
	ck_assert_int_eq(dnnq_rdbpot(-4, 1), -2);
	ck_assert_int_eq(dnnq_rdbpot(7, 2), 2);
	ck_assert_int_eq(dnnq_rdbpot(-6, 2), -2);
	ck_assert_int_eq(dnnq_rdbpot(INT32_MIN, 31), -1);
	ck_assert_int_eq(dnnq_rdbpot(INT32_MAX, 31), 1);
	ck_assert_int_eq(dnnq_rdbpot(123, 0), 123);
}
END_TEST

/* Random requantization problems, with accumulators that include the int32
 * extremes, both variants, per tensor and per channel, ReLU clamps. */
struct rq_case {
	struct dnnq_requant rq;
	float fm[80];
	int32_t qm[80], qs[80];
};

static void random_requant(struct rng *r, struct rq_case *c, size_t cols, bool u8)
{
	c->rq.kind = rng_int(r, 0, 1) ? DNNQ_REQUANT_FIXED : DNNQ_REQUANT_FLOAT;
	c->rq.nchan = rng_int(r, 0, 1) ? cols : 1;
	for (size_t i = 0; i < c->rq.nchan; i++) {
		double real = exp(rng_uniform(r, -18, -0.01));
		struct dnnq_fixedpoint f;
		dnnq_fixedpoint_from_real(real, &f);
		c->fm[i] = (float)real;
		c->qm[i] = f.multiplier;
		c->qs[i] = f.shift;
	}
	c->rq.fmult = c->fm;
	c->rq.qmult = c->qm;
	c->rq.qshift = c->qs;
	int32_t lo = u8 ? 0 : -128, hi = u8 ? 255 : 127;
	c->rq.zero_point = (int32_t)rng_int(r, lo, hi);
	c->rq.qmin = rng_int(r, 0, 2) ? lo : c->rq.zero_point;   /* ReLU */
	c->rq.qmax = hi;
}

static int32_t extreme_acc(struct rng *r)
{
	switch (rng_int(r, 0, 4)) {
	case 0:  return rng_int(r, 0, 1) ? INT32_MAX : INT32_MIN;
	case 1:  return (int32_t)rng_int(r, INT32_MIN, INT32_MAX);
	default: return (int32_t)rng_int(r, -200000, 200000);
	}
}

START_TEST(simd_requantize_matches_scalar)
{
	struct rng r = { 11 };
	static int32_t acc[5 * 80];
	static uint8_t os[5 * 80 + 16], ov[5 * 80 + 16];
	struct rq_case c;
	for (int iter = 0; iter < 3000; iter++) {
		size_t cols = (size_t)rng_int(&r, 1, 67) + (iter % 10 == 0 ? 12 : 0);
		size_t rows = (size_t)rng_int(&r, 1, 5);
		bool u8 = rng_int(&r, 0, 1);
		random_requant(&r, &c, cols, u8);
		for (size_t i = 0; i < rows * cols; i++)
			acc[i] = extreme_acc(&r);
		memset(os, 0xa5, sizeof os);
		enum dnnq_dtype dt = u8 ? DNNQ_DTYPE_U8 : DNNQ_DTYPE_S8;
		ck_assert_int_eq(dnnq_requantize(DNNQ_ISA_SCALAR, acc, os, dt, rows, cols, &c.rq), 0);
		FOR_EACH_SIMD_ISA(isa) {
			memset(ov, 0xa5, sizeof ov);
			ck_assert_int_eq(dnnq_requantize(isa, acc, ov, dt, rows, cols, &c.rq), 0);
			ck_assert_msg(!memcmp(os, ov, sizeof os), "%s != scalar", dnnq_isa_name(isa));
		}
	}
}
END_TEST

/* Float and fixed-point requantization describe the same real multiplier:
 * away from the clamps they differ by at most one step. */
START_TEST(requantize_variants_agree)
{
	struct rng r = { 5 };
	for (int iter = 0; iter < 20000; iter++) {
		double real = exp(rng_uniform(&r, -12, -0.01));
		struct dnnq_fixedpoint f;
		ck_assert_int_eq(dnnq_fixedpoint_from_real(real, &f), 0);
		int32_t acc = (int32_t)rng_int(&r, -(int64_t)(100 / real), (int64_t)(100 / real));
		int32_t a = dnnq_requant_float_1(acc, (float)real, 0, -128, 127);
		int32_t b = dnnq_requant_fixed_1(acc, f.multiplier, f.shift, 0, -128, 127);
		ck_assert_int_le(abs(a - b), 1);
		ck_assert_int_le(fabs(acc * real - b), 0.5 + 1e-6 * fabs(acc * real) + 1e-6);
	}
}
END_TEST

START_TEST(requantize_argument_errors)
{
	int32_t acc[4] = { 0 };
	uint8_t out[4];
	float fm[4] = { 0.5f, 0.5f, 0.5f, 0.5f };
	struct dnnq_requant rq = { DNNQ_REQUANT_FLOAT, 2, fm, NULL, NULL, 0, 0, 255 };
	ck_assert_int_eq(dnnq_requantize(DNNQ_ISA_SCALAR, acc, out, DNNQ_DTYPE_U8, 1, 4, &rq), DNNQ_E_SHAPE);
	rq.nchan = 4;
	ck_assert_int_eq(dnnq_requantize(DNNQ_ISA_SCALAR, acc, out, DNNQ_DTYPE_U8, 1, 4, &rq), 0);
	ck_assert_int_eq(dnnq_requantize(DNNQ_ISA_SCALAR, acc, out, DNNQ_DTYPE_S32, 1, 4, &rq), DNNQ_E_DTYPE);
	rq.qmin = 10;
	rq.qmax = 9;
	ck_assert_int_eq(dnnq_requantize(DNNQ_ISA_SCALAR, acc, out, DNNQ_DTYPE_U8, 1, 4, &rq), DNNQ_E_RANGE);
	rq.qmin = 0;
	rq.qmax = 255;
	fm[2] = 0;
	ck_assert_int_eq(dnnq_requantize(DNNQ_ISA_SCALAR, acc, out, DNNQ_DTYPE_U8, 1, 4, &rq), DNNQ_E_RANGE);
	rq.kind = DNNQ_REQUANT_FIXED;
	ck_assert_int_eq(dnnq_requantize(DNNQ_ISA_SCALAR, acc, out, DNNQ_DTYPE_U8, 1, 4, &rq), DNNQ_E_INVAL);
	int32_t qm[4] = { 1 << 30, 1 << 30, 1 << 29, 1 << 30 }, qs[4] = { 0, 0, 0, 0 };
	rq.qmult = qm;
	rq.qshift = qs;
	ck_assert_int_eq(dnnq_requantize(DNNQ_ISA_SCALAR, acc, out, DNNQ_DTYPE_U8, 1, 4, &rq), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_requantize(DNNQ_ISA_SCALAR, acc, out, DNNQ_DTYPE_U8, 1, 4, NULL), DNNQ_E_INVAL);
}
END_TEST

START_TEST(minmax_and_error_measures)
{
	float lo, hi;
	const float x[] = { NAN, 3, -2, NAN, 7 };
	dnnq_minmax(x, 5, &lo, &hi);
	ck_assert_float_eq(lo, -2);
	ck_assert_float_eq(hi, 7);
	dnnq_minmax(x, 1, &lo, &hi);
	ck_assert(lo == 0 && hi == 0);
	dnnq_minmax(NULL, 0, &lo, &hi);
	ck_assert(lo == 0 && hi == 0);

	const float ref[2] = { 1, 1 }, y[2] = { 1, 0 };
	ck_assert_double_eq_tol(dnnq_sqnr_db(ref, y, 2), 10 * log10(2.0), 1e-12);
	ck_assert(isinf(dnnq_sqnr_db(ref, ref, 2)));
	ck_assert_double_eq_tol(dnnq_l2_error(ref, y, 2), 1, 1e-12);
	const float z[2] = { -1, 4 };
	ck_assert_double_eq_tol(dnnq_l1_error(ref, z, 2), 5, 1e-12);
	ck_assert_double_eq_tol(dnnq_max_abs_error(ref, z, 2), 3, 1e-12);
}
END_TEST

/* The best ISA is supported and no later one is; the tables and the
 * names (the tools' --isa) agree with the ISA values; an ISA the CPU lacks
 * has no table. */
START_TEST(isa_tables)
{
	enum dnnq_isa best = dnnq_isa_best();
	ck_assert(dnnq_isa_supported(best));
	for (int isa = best + 1; isa < DNNQ_ISA_COUNT; isa++)
		ck_assert(!dnnq_isa_supported((enum dnnq_isa)isa));
	for (int isa = 0; isa < DNNQ_ISA_COUNT; isa++) {
		enum dnnq_isa e = (enum dnnq_isa)isa, back = DNNQ_ISA_COUNT;
		const struct dnnq_kernels *kn = dnnq_kernels(e);
		int rc = dnnq_isa_parse(dnnq_isa_name(e), &back);
		if (!dnnq_isa_supported(e)) {
			ck_assert_ptr_null(kn);
			ck_assert_int_eq(rc, DNNQ_E_UNSUPPORTED);
			continue;
		}
		ck_assert_int_eq(rc, DNNQ_OK);
		ck_assert_int_eq(back, e);
		ck_assert_ptr_eq(kn, dnnq_kernels_of(e));
		ck_assert_int_eq(kn->isa, e);
		/* kernel names end in __<isa> */
		const char *suffix = strstr(kn->gemm.name, "__");
		ck_assert_ptr_nonnull(suffix);
		ck_assert_str_eq(suffix + 2, dnnq_isa_name(e));
		ck_assert_ptr_nonnull(kn->gemm.block);
		ck_assert_ptr_nonnull(kn->gemm_acc16.block);
		/* one packed layout per table: both GEMM kernels read it */
		ck_assert_uint_eq(kn->gemm.nr > 1, kn->gemm_acc16.nr > 1);
	}
	enum dnnq_isa e;
	ck_assert_int_eq(dnnq_isa_parse("avx3", &e), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_isa_parse(NULL, &e), DNNQ_E_INVAL);
	ck_assert_ptr_null(dnnq_kernels((enum dnnq_isa)DNNQ_ISA_COUNT));
	ck_assert_ptr_null(dnnq_kernels((enum dnnq_isa)-1));
	ck_assert_str_eq(dnnq_isa_name((enum dnnq_isa)DNNQ_ISA_COUNT), "unknown");
	ck_assert_str_eq(dnnq_strerror(DNNQ_E_CHECKSUM), "checksum mismatch");
	ck_assert_str_eq(dnnq_strerror(-999), "unknown error");
}
END_TEST

Suite *suite_quant(void)
{
	Suite *s = suite_create("quant");
	TCase *tc = tcase_create("rules");
	tcase_add_test(tc, worked_example_scale_1_255);
	tcase_add_test(tc, worked_example_symmetric_per_row);
	tcase_add_test(tc, sqnr_six_db_per_bit);
	tcase_add_test(tc, choose_qparams_schemes);
	tcase_add_test(tc, choose_qparams_errors);
	tcase_add_test(tc, qparams_check);
	tcase_add_test(tc, quantize_rounds_half_even_and_saturates);
	tcase_add_test(tc, quantize_argument_errors);
	tcase_add_test(tc, minmax_and_error_measures);
	tcase_add_test(tc, isa_tables);
	suite_add_tcase(s, tc);
	tc = tcase_create("requant");
	tcase_add_test(tc, fixedpoint_from_real);
	tcase_add_test(tc, gemmlowp_rounding);
	tcase_add_test(tc, requantize_variants_agree);
	tcase_add_test(tc, requantize_argument_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("simd");
	tcase_add_test(tc, simd_quantize_matches_scalar);
	tcase_add_test(tc, simd_requantize_matches_scalar);
	suite_add_tcase(s, tc);
	return s;
}
