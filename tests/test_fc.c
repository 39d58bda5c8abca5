/*
 * The FC operator (engine/fc.h): static quantization within 1 LSB of the
 * quantized fp32 reference, for u8 and f32 inputs, per-tensor and
 * per-channel weights, both requantization variants, ReLU and bias, every
 * ISA the CPU runs bit-identical to scalar (tests/isa.h); dynamic
 * quantization's SQNR on Gaussian data; descriptions that must be refused.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/pool.h"
#include "daemon/pool.h"
#include "engine/fc.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

enum { B = 9, K = 173, N = 71 };

struct problem {
	uint8_t x[B * K];
	float xf[B * K];
	int8_t w[N * K];
	float w_scale[N], bias[N];
	int32_t w_zp[N];
	struct dnnq_fc_desc d;
};

static void make_problem(struct rng *r, struct problem *p, bool per_ch, bool asym_w,
                         enum dnnq_requant_kind kind, bool relu)
{
	memset(&p->d, 0, sizeof p->d);
	for (size_t i = 0; i < B * K; i++)
		p->x[i] = (uint8_t)rng_int(r, 0, 255);
	for (size_t i = 0; i < N * K; i++)
		p->w[i] = (int8_t)rng_int(r, -127, 127);
	for (size_t j = 0; j < N; j++) {
		p->w_scale[j] = (float)rng_uniform(r, 0.002, 0.02);
		p->w_zp[j] = asym_w ? (int32_t)rng_int(r, -20, 20) : 0;
		p->bias[j] = (float)rng_uniform(r, -3, 3);
	}
	p->d = (struct dnnq_fc_desc){
		.isa = dnnq_isa_best(), .n = N, .k = K, .w = p->w, .nwq = per_ch ? N : 1,
		.w_scale = p->w_scale, .w_zero_point = asym_w ? p->w_zp : NULL, .bias = p->bias,
		.in_dtype = DNNQ_DTYPE_U8, .in_qp = { 0.02f, 121, 8, false },
		.out_dtype = DNNQ_DTYPE_U8, .out_qp = { 0.15f, 110, 8, false },
		.requant = kind, .relu = relu,
	};
	for (size_t i = 0; i < B * K; i++)
		p->xf[i] = p->d.in_qp.scale * (p->x[i] - p->d.in_qp.zero_point);
}

/* The fp32 (double) reference output of row i, column j. */
static double reference(const struct problem *p, size_t i, size_t j)
{
	size_t c = p->d.nwq == 1 ? 0 : j;
	double s = p->bias[j];
	for (size_t t = 0; t < K; t++)
		s += (double)p->xf[i * K + t] * p->w_scale[c] * (p->w[j * K + t] - p->w_zp[c]);
	return s;
}

static void check_u8_output(const struct problem *p, const uint8_t *y)
{
	const struct dnnq_qparams *o = &p->d.out_qp;
	for (size_t i = 0; i < B; i++) {
		for (size_t j = 0; j < N; j++) {
			double q = nearbyint(reference(p, i, j) / o->scale) + o->zero_point;
			double lo = p->d.relu ? o->zero_point : 0;
			q = q < lo ? lo : q > 255 ? 255 : q;
			ck_assert_msg(fabs(y[i * N + j] - q) <= 1, "y[%zu][%zu] = %u, reference %g",
			              i, j, y[i * N + j], q);
		}
	}
}

START_TEST(static_u8_within_one_lsb)
{
	struct rng r = { 31 + (uint64_t)_i };
	struct problem *p = malloc(sizeof *p);
	/* _i enumerates per-channel x asymmetric weights x requant kind x relu */
	make_problem(&r, p, _i & 1, _i & 2, _i & 4 ? DNNQ_REQUANT_FIXED : DNNQ_REQUANT_FLOAT, _i & 8);
	struct dnnq_fc *fc;
	struct dnnq_diag d;
	p->d.isa = DNNQ_ISA_SCALAR;
	ck_assert_msg(dnnq_fc_create(&p->d, &fc, &d) == 0, "%s", d.msg);
	uint8_t y[B * N];
	ck_assert_int_eq(dnnq_fc_setup(fc, B, p->x, y), 0);
	ck_assert_int_eq(dnnq_fc_run(fc, NULL), 0);
	check_u8_output(p, y);
	dnnq_fc_destroy(fc);
	/* every ISA's kernels, from u8 and from f32 input (quantized on the
	 * fly): the scalar bytes */
	FOR_EACH_ISA(isa) {
		for (int f32 = 0; f32 < 2; f32++) {
			p->d.isa = isa;
			p->d.in_dtype = f32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8;
			ck_assert_int_eq(dnnq_fc_create(&p->d, &fc, NULL), 0);
			uint8_t y2[B * N];
			ck_assert_int_eq(dnnq_fc_setup(fc, B, f32 ? (const void *)p->xf
			                                          : (const void *)p->x, y2), 0);
			ck_assert_int_eq(dnnq_fc_run(fc, NULL), 0);
			ck_assert_msg(!memcmp(y, y2, sizeof y), "%s, %s input: != scalar",
			              dnnq_isa_name(isa), f32 ? "f32" : "u8");
			/* set up again (its GEMM job kept from run to run): batch
			 * 1 into another buffer on two threads, then B again */
			struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
			struct dnnq_executor ex = dnnq_pool_executor(pool);
			uint8_t y1[N];
			ck_assert_int_eq(dnnq_fc_setup(fc, 1, f32 ? (const void *)p->xf
			                                          : (const void *)p->x, y1), 0);
			ck_assert_int_eq(dnnq_fc_run(fc, &ex), 0);
			ck_assert_msg(!memcmp(y, y1, sizeof y1), "%s: batch 1 set up again",
			              dnnq_isa_name(isa));
			memset(y2, 0, sizeof y2);
			ck_assert_int_eq(dnnq_fc_setup(fc, B, f32 ? (const void *)p->xf
			                                          : (const void *)p->x, y2), 0);
			ck_assert_int_eq(dnnq_fc_run(fc, &ex), 0);
			ck_assert_msg(!memcmp(y, y2, sizeof y), "%s: batch %d set up again",
			              dnnq_isa_name(isa), B);
			dnnq_pool_destroy(pool);
			dnnq_fc_destroy(fc);
		}
	}
	free(p);
}
END_TEST

START_TEST(static_f32_and_s32_outputs)
{
	struct rng r = { 77 };
	struct problem *p = malloc(sizeof *p);
	make_problem(&r, p, true, true, DNNQ_REQUANT_FLOAT, false);
	p->d.out_dtype = DNNQ_DTYPE_F32;
	struct dnnq_fc *fc;
	ck_assert_int_eq(dnnq_fc_create(&p->d, &fc, NULL), 0);
	float y[B * N];
	ck_assert_int_eq(dnnq_fc_setup(fc, B, p->x, y), 0);
	ck_assert_int_eq(dnnq_fc_run(fc, NULL), 0);
	float yref[B * N];
	ck_assert_int_eq(dnnq_fc_reference(fc, B, p->xf, yref, NULL), 0);
	for (size_t i = 0; i < B * N; i++) {
		double ref = reference(p, i / N, i % N);
		ck_assert_double_le(fabs(y[i] - ref), 1e-5 * fabs(ref) + 1e-5);
		ck_assert_double_le(fabs(yref[i] - ref), 1e-5 * fabs(ref) + 1e-5);
	}
	dnnq_fc_destroy(fc);
	/* S32: the corrected accumulator, with the bias at in_scale * w_scale */
	p->d.out_dtype = DNNQ_DTYPE_S32;
	p->d.bias = NULL;
	ck_assert_int_eq(dnnq_fc_create(&p->d, &fc, NULL), 0);
	int32_t acc[B * N];
	ck_assert_int_eq(dnnq_fc_setup(fc, B, p->x, acc), 0);
	ck_assert_int_eq(dnnq_fc_run(fc, NULL), 0);
	for (size_t i = 0; i < B; i++) {
		for (size_t j = 0; j < N; j++) {
			int64_t s = 0;
			for (size_t t = 0; t < K; t++)
				s += (int64_t)(p->x[i * K + t] - p->d.in_qp.zero_point) *
				     (p->w[j * K + t] - p->w_zp[j]);
			ck_assert_int_eq(acc[i * N + j], s);
		}
	}
	dnnq_fc_destroy(fc);
	free(p);
}
END_TEST

/* Dynamic quantization (DNNLOWP's dequantize_output): f32 in, f32 out, the
 * activation range measured per call. Gaussian data, fp32 weights quantized
 * per channel, symmetric: SQNR against the fp32 product >= 35 dB. */
START_TEST(dynamic_sqnr)
{
	enum { M = 16, KK = 512, NN = 256 };
	struct rng r = { 5 };
	float *x = malloc(M * KK * sizeof *x), *wf = malloc(NN * KK * sizeof *wf);
	float *bias = malloc(NN * sizeof *bias), *y = malloc(M * NN * sizeof *y);
	float *ref = malloc(M * NN * sizeof *ref), scale[NN];
	int8_t *w = malloc(NN * KK);
	for (size_t i = 0; i < M * KK; i++)
		x[i] = (float)rng_gauss(&r);
	for (size_t i = 0; i < NN * KK; i++)
		wf[i] = (float)(rng_gauss(&r) * 0.05);
	const struct dnnq_qspec wspec = { DNNQ_QSCHEME_SYMMETRIC, 8, true, false };
	for (size_t j = 0; j < NN; j++) {
		float lo, hi;
		struct dnnq_qparams qp;
		bias[j] = (float)rng_gauss(&r);
		dnnq_minmax(wf + j * KK, KK, &lo, &hi);
		ck_assert_int_eq(dnnq_choose_qparams(lo, hi, &wspec, &qp, NULL), 0);
		scale[j] = qp.scale;
		ck_assert_int_eq(dnnq_quantize(DNNQ_ISA_SCALAR, wf + j * KK, w + j * KK,
		                               DNNQ_DTYPE_S8, KK, &qp), 0);
	}
	for (size_t i = 0; i < M; i++) {
		for (size_t j = 0; j < NN; j++) {
			double s = bias[j];
			for (size_t t = 0; t < KK; t++)
				s += (double)x[i * KK + t] * wf[j * KK + t];
			ref[i * NN + j] = (float)s;
		}
	}
	struct dnnq_fc_desc d = {
		.isa = dnnq_isa_best(), .n = NN, .k = KK, .w = w, .nwq = NN, .w_scale = scale,
		.bias = bias, .in_dtype = DNNQ_DTYPE_F32, .dynamic = true,
		.out_dtype = DNNQ_DTYPE_F32,
	};
	struct dnnq_fc *fc;
	struct dnnq_diag diag;
	ck_assert_msg(dnnq_fc_create(&d, &fc, &diag) == 0, "%s", diag.msg);
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	ck_assert_int_eq(dnnq_fc_setup(fc, M, x, y), 0);
	ck_assert_int_eq(dnnq_fc_run(fc, &ex), 0);
	double sqnr = dnnq_sqnr_db(ref, y, M * NN);
	ck_assert_msg(sqnr >= 35, "dynamic FC SQNR %.2f dB < 35", sqnr);
	struct dnnq_qparams iq = dnnq_fc_input_qparams(fc);
	ck_assert_int_eq(iq.precision, 8);
	/* a second call with data 10x larger picks a 10x larger scale */
	for (size_t i = 0; i < M * KK; i++)
		x[i] *= 10;
	ck_assert_int_eq(dnnq_fc_run(fc, &ex), 0);
	ck_assert_float_eq_tol(dnnq_fc_input_qparams(fc).scale, 10 * iq.scale, 1e-3 * iq.scale * 10);
	/* non-finite input is an error, not garbage */
	x[3] = INFINITY;
	ck_assert_int_eq(dnnq_fc_run(fc, &ex), DNNQ_E_RANGE);
	dnnq_pool_destroy(pool);
	dnnq_fc_destroy(fc);
	free(x);
	free(wf);
	free(bias);
	free(y);
	free(ref);
	free(w);
}
END_TEST

START_TEST(bad_descriptions)
{
	struct rng r = { 1 };
	struct problem *p = malloc(sizeof *p);
	struct dnnq_fc *fc = (struct dnnq_fc *)p;
	struct dnnq_diag d;
	static const struct {
		const char *field;
		int rc;
	} want[] = {
		{ "w_scale[3]", DNNQ_E_RANGE }, { "weight scales", DNNQ_E_SHAPE },
		{ "w_zero_point[0]", DNNQ_E_RANGE }, { "input qparams", DNNQ_E_RANGE },
		{ "output qparams", DNNQ_E_RANGE }, { "dynamic", DNNQ_E_INVAL },
		{ "not both", DNNQ_E_INVAL }, { "n = 0", DNNQ_E_SHAPE },
		{ "ReLU", DNNQ_E_INVAL }, { "fixed point", DNNQ_E_RANGE },
		{ "positive finite float", DNNQ_E_RANGE },
	};
	for (size_t c = 0; c < sizeof want / sizeof want[0]; c++) {
		make_problem(&r, p, true, true, DNNQ_REQUANT_FLOAT, false);
		switch (c) {
		case 0: p->w_scale[3] = -1; break;
		case 1: p->d.nwq = 5; break;
		case 2: p->w_zp[0] = 200; break;
		case 3: p->d.in_qp.scale = 0; break;
		case 4: p->d.out_qp.zero_point = 300; break;
		case 5: p->d.dynamic = true; break;
		case 6: p->d.bias_i32 = (const int32_t *)p->w_zp; break;
		case 7: p->d.n = 0; break;
		case 8: p->d.out_dtype = DNNQ_DTYPE_S32; p->d.relu = true; break;
		case 9: p->d.requant = DNNQ_REQUANT_FIXED; p->d.out_qp.scale = 1e-6f; break;
		/* a subnormal output scale: the multiplier overflows a float, and
		 * every run would fail (found by the model fuzzer) */
		case 10: p->d.out_qp.scale = 1.8e-43f; break;
		}
		d.msg[0] = 0;
		ck_assert_int_eq(dnnq_fc_create(&p->d, &fc, &d), want[c].rc);
		ck_assert_ptr_null(fc);
		ck_assert_msg(strstr(d.msg, want[c].field), "case %zu: '%s' lacks '%s'", c, d.msg,
		              want[c].field);
	}
	free(p);
}
END_TEST

/* acc16 (engine/gemm.h dnnq_gemm_pack_acc16) against acc32, same FC:
 * _i 0: small weights (no outliers) and activations 0..15 (a 16-bit sum
 * cannot leave int16 within the default spill: 16 steps x 2 x 15 x 64 <
 * 32768); 1: full-range weights (outliers) with the same activations;
 * both bit for bit equal with zero saturation events. 2: all-255
 * activations against all-63 weights saturate: counted, and the outputs
 * differ. Asymmetric weights and input zero point 9 on every case. */
static void run_fc(const struct dnnq_fc_desc *d, const uint8_t *x, int32_t *y,
                   uint64_t *events, uint64_t *adds)
{
	struct dnnq_fc *fc;
	struct dnnq_diag diag = { "" };
	ck_assert_msg(dnnq_fc_create(d, &fc, &diag) == 0, "%s", diag.msg);
	const struct dnnq_gemm_weights *w = dnnq_fc_weights(fc);
	ck_assert(w->acc16 == d->acc16);
	if (d->acc16) {
		ck_assert_int_eq(dnnq_gemm_acc16_saturation(w, B, x, K, events, adds), 0);
		ck_assert_uint_gt(*adds, 0);
	}
	ck_assert_int_eq(dnnq_fc_setup(fc, B, x, y), 0);
	ck_assert_int_eq(dnnq_fc_run(fc, NULL), 0);
	dnnq_fc_destroy(fc);
}

START_TEST(acc16_matches_acc32)
{
	struct rng r = { 501 + (uint64_t)_i };
	struct problem *p = malloc(sizeof *p);
	make_problem(&r, p, true, true, DNNQ_REQUANT_FLOAT, false);
	for (size_t i = 0; i < B * K; i++)
		p->x[i] = _i == 2 ? 255 : (uint8_t)rng_int(&r, 0, 15);
	for (size_t i = 0; i < N * K; i++)
		p->w[i] = _i == 2 ? 63 : _i == 0 ? (int8_t)rng_int(&r, -64, 63)
		        : (int8_t)rng_int(&r, -128, 127);
	p->d.in_qp.zero_point = 9;
	p->d.out_dtype = DNNQ_DTYPE_S32;
	p->d.bias = NULL;
	int32_t y32[B * N], y16[B * N];
	uint64_t ev = 0, adds = 0;
	run_fc(&p->d, p->x, y32, NULL, NULL);
	p->d.acc16 = true;
	struct dnnq_fc *fc;
	ck_assert_int_eq(dnnq_fc_create(&p->d, &fc, NULL), 0);
	const struct dnnq_gemm_weights *w = dnnq_fc_weights(fc);
	ck_assert_uint_eq(w->acc16_nbits, DNNQ_ACC16_DEFAULT_NBITS);
	if (_i == 0)
		ck_assert_uint_eq(w->outliers, 0);
	else if (_i == 1)
		ck_assert(w->outliers > 0 && w->outlier_density > 0.2 && w->outlier_density < 0.8);
	dnnq_fc_destroy(fc);
	run_fc(&p->d, p->x, y16, &ev, &adds);
	if (_i < 2) {
		ck_assert_uint_eq(ev, 0);
		for (size_t i = 0; i < B * N; i++)
			ck_assert_msg(y16[i] == y32[i], "case %d: y[%zu] acc16 %d acc32 %d", _i, i,
			              y16[i], y32[i]);
	} else {
		ck_assert_uint_gt(ev, 0);
		size_t differ = 0;
		for (size_t i = 0; i < B * N; i++)
			differ += y16[i] != y32[i];
		ck_assert_uint_gt(differ, 0);
	}
	/* u8 output through the same pipeline: equal too when nothing saturates */
	if (_i < 2) {
		uint8_t u32[B * N], u16[B * N];
		p->d.out_dtype = DNNQ_DTYPE_U8;
		p->d.acc16 = false;
		struct dnnq_fc *f32, *f16;
		ck_assert_int_eq(dnnq_fc_create(&p->d, &f32, NULL), 0);
		p->d.acc16 = true;
		p->d.acc16_opts = (struct dnnq_acc16_opts){ 6, 4 };
		ck_assert_int_eq(dnnq_fc_create(&p->d, &f16, NULL), 0);
		ck_assert_uint_eq(dnnq_fc_weights(f16)->acc16_nbits, 6);
		ck_assert_uint_eq(dnnq_fc_weights(f16)->acc16_spill, 4);
		ck_assert_int_eq(dnnq_fc_setup(f32, B, p->x, u32), 0);
		ck_assert_int_eq(dnnq_fc_setup(f16, B, p->x, u16), 0);
		ck_assert_int_eq(dnnq_fc_run(f32, NULL), 0);
		ck_assert_int_eq(dnnq_fc_run(f16, NULL), 0);
		ck_assert_mem_eq(u16, u32, sizeof u16);
		dnnq_fc_destroy(f32);
		dnnq_fc_destroy(f16);
	}
	free(p);
}
END_TEST

Suite *suite_fc(void)
{
	Suite *s = suite_create("fc");
	TCase *tc = tcase_create("fc");
	tcase_add_loop_test(tc, static_u8_within_one_lsb, 0, 16);
	tcase_add_test(tc, static_f32_and_s32_outputs);
	tcase_add_test(tc, dynamic_sqnr);
	tcase_add_test(tc, bad_descriptions);
	tcase_add_loop_test(tc, acc16_matches_acc32, 0, 3);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}
