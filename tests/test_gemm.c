/*
 * The int8 GEMM (engine/gemm.h): the AVX2 kernel against the scalar
 * reference over every M, N, K in 1..67 and larger odd sizes, every output
 * mode, zero-point combination and per-channel choice; exact results at the
 * saturation extremes; packing size; results independent of the thread
 * count; argument errors.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/pool.h"
#include "engine/gemm.h"
#include "tests/rng.h"
#include "tests/suites.h"

static bool have_avx2(void)
{
	return dnnq_isa_supported(DNNQ_ISA_AVX2);
}

/* Packs for AVX2 with the AVX2 kernel even on a CPU with AVX-512 VNNI (the
 * default there runs the VNNI kernel on the same layout). */
static int pack_avx2_kernel(const int8_t *w, size_t n, size_t k, struct dnnq_gemm_weights *out)
{
	setenv("DNNQ_GEMM", "avx2", 1);
	int rc = dnnq_gemm_pack(DNNQ_ISA_AVX2, w, n, k, k, out, NULL);
	unsetenv("DNNQ_GEMM");
	ck_assert(!out->vnni);
	return rc;
}

/* A random output pipeline for n columns (arrays owned by the struct). */
struct pipeline {
	struct dnnq_gemm_output o;
	int32_t wzp[1024], bias[1024], qm[1024], qs[1024];
	float fm[1024], scale[1024], fbias[1024];
};

static void random_pipeline(struct rng *r, struct pipeline *p, size_t n, size_t k)
{
	ck_assert_uint_le(n, 1024);
	memset(&p->o, 0, sizeof p->o);
	bool per_ch = rng_int(r, 0, 1);
	size_t nch = per_ch ? n : 1;
	p->o.a_zero_point = rng_int(r, 0, 2) ? (int32_t)rng_int(r, 0, 255) : 0;
	switch (rng_int(r, 0, 2)) {
	case 0: p->o.nwzp = 0; break;
	case 1: p->o.nwzp = 1; break;
	default: p->o.nwzp = n; break;
	}
	for (size_t j = 0; j < n; j++) {
		p->wzp[j] = (int32_t)rng_int(r, -128, 127);
		p->bias[j] = (int32_t)rng_int(r, -100000, 100000);
		p->fbias[j] = (float)rng_uniform(r, -2, 2);
		double real = exp(rng_uniform(r, -16, -6)) * 256.0 / (double)k;
		struct dnnq_fixedpoint f;
		dnnq_fixedpoint_from_real(real, &f);
		p->fm[j] = (float)real;
		p->qm[j] = f.multiplier;
		p->qs[j] = f.shift;
		p->scale[j] = (float)exp(rng_uniform(r, -12, -4));
	}
	p->o.w_zero_points = p->wzp;
	p->o.bias = rng_int(r, 0, 1) ? p->bias : NULL;
	switch (rng_int(r, 0, 2)) {
	case 0:
		p->o.dtype = DNNQ_DTYPE_S32;
		break;
	case 1:
		p->o.dtype = DNNQ_DTYPE_U8;
		p->o.rq = (struct dnnq_requant){
			rng_int(r, 0, 1) ? DNNQ_REQUANT_FIXED : DNNQ_REQUANT_FLOAT, nch, p->fm, p->qm,
			p->qs, (int32_t)rng_int(r, 0, 255), 0, 255,
		};
		if (rng_int(r, 0, 1))
			p->o.rq.qmin = p->o.rq.zero_point;   /* ReLU */
		break;
	default:
		p->o.dtype = DNNQ_DTYPE_F32;
		p->o.nscale = nch;
		p->o.scale = p->scale;
		p->o.fbias = rng_int(r, 0, 1) ? p->fbias : NULL;
		p->o.relu = rng_int(r, 0, 1);
		break;
	}
}

static size_t esize(enum dnnq_dtype dt)
{
	return dt == DNNQ_DTYPE_U8 ? 1 : 4;
}

/* One shape: pack for both ISAs, run both, compare every byte of C
 * (including the padding past N, which must stay untouched). */
static void compare_shape(struct rng *r, size_t m, size_t n, size_t k, int amax,
                          const struct dnnq_executor *ex)
{
	size_t lda = k + (size_t)rng_int(r, 0, 3), ldc = n + (size_t)rng_int(r, 0, 2);
	uint8_t *a = malloc(m * lda);
	int8_t *w = malloc(n * k);
	for (size_t i = 0; i < m * lda; i++)
		a[i] = (uint8_t)rng_int(r, 0, amax);
	for (size_t i = 0; i < n * k; i++)
		w[i] = (int8_t)rng_int(r, -128, 127);
	struct pipeline *p = malloc(sizeof *p);
	random_pipeline(r, p, n, k);
	size_t bytes = m * ldc * esize(p->o.dtype);
	uint8_t *cs = malloc(bytes), *cv = malloc(bytes);
	memset(cs, 0x3c, bytes);
	memset(cv, 0x3c, bytes);
	struct dnnq_gemm_weights ws, wv, wa;
	ck_assert_int_eq(dnnq_gemm_pack(DNNQ_ISA_SCALAR, w, n, k, k, &ws, NULL), 0);
	ck_assert_int_eq(dnnq_gemm_pack(DNNQ_ISA_AVX2, w, n, k, k, &wv, NULL), 0);
	ck_assert_int_eq(pack_avx2_kernel(w, n, k, &wa), 0);
	ck_assert_int_eq(dnnq_gemm(&ws, m, a, lda, cs, ldc, &p->o, NULL), 0);
	ck_assert_int_eq(dnnq_gemm(&wv, m, a, lda, cv, ldc, &p->o, ex), 0);
	ck_assert_msg(!memcmp(cs, cv, bytes), "M %zu N %zu K %zu dtype %s: %s != scalar",
	              m, n, k, dnnq_dtype_name(p->o.dtype), wv.vnni ? "VNNI" : "AVX2");
	memset(cv, 0x3c, bytes);
	ck_assert_int_eq(dnnq_gemm(&wa, m, a, lda, cv, ldc, &p->o, ex), 0);
	ck_assert_msg(!memcmp(cs, cv, bytes), "M %zu N %zu K %zu dtype %s: AVX2 != scalar",
	              m, n, k, dnnq_dtype_name(p->o.dtype));
	dnnq_gemm_weights_free(&ws);
	dnnq_gemm_weights_free(&wv);
	dnnq_gemm_weights_free(&wa);
	free(a);
	free(w);
	free(p);
	free(cs);
	free(cv);
}

START_TEST(avx2_matches_scalar_all_small_sizes)
{
	if (!have_avx2())
		return;
	struct rng r = { 100 + (uint64_t)_i };
	/* _i runs over 1..67: that size as M, as N and as K */
	size_t v = (size_t)_i;
	compare_shape(&r, v, (size_t)rng_int(&r, 1, 67), (size_t)rng_int(&r, 1, 67), 255, NULL);
	compare_shape(&r, (size_t)rng_int(&r, 1, 67), v, (size_t)rng_int(&r, 1, 67), 127, NULL);
	compare_shape(&r, (size_t)rng_int(&r, 1, 67), (size_t)rng_int(&r, 1, 67), v, 255, NULL);
}
END_TEST

START_TEST(avx2_matches_scalar_larger_odd_sizes)
{
	if (!have_avx2())
		return;
	static const size_t shapes[][3] = {
		{ 131, 97, 257 }, { 5, 255, 1023 }, { 67, 129, 513 }, { 1, 1001, 129 },
		{ 3, 17, 4099 }, { 200, 33, 65 }, { 129, 200, 3 },
	};
	struct rng r = { 7 };
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		compare_shape(&r, shapes[s][0], shapes[s][1], shapes[s][2], 255, NULL);
		compare_shape(&r, shapes[s][0], shapes[s][1], shapes[s][2], 127, NULL);
	}
}
END_TEST

/* vpmaddubsw saturates at 16 bits: 255 * -128 * 2 does not fit. The result
 * must still be exact, against a product computed here in 64 bits. */
START_TEST(no_saturation_at_extremes)
{
	static const int8_t wv[] = { -128, 127 };
	for (int kind = 0; kind <= (have_avx2() ? 2 : 0); kind++) {
		for (size_t wi = 0; wi < 2; wi++) {
			size_t m = 5, n = 37, k = 1027;
			uint8_t *a = malloc(m * k);
			int8_t *w = malloc(n * k);
			int32_t *c = malloc(m * n * sizeof *c);
			memset(a, 255, m * k);
			memset(w, (uint8_t)wv[wi], n * k);
			struct dnnq_gemm_weights pw;
			ck_assert_int_eq(kind == 2 ? pack_avx2_kernel(w, n, k, &pw)
			                           : dnnq_gemm_pack(kind, w, n, k, k, &pw, NULL), 0);
			ck_assert(!pw.pair_safe);
			struct dnnq_gemm_output o = { .dtype = DNNQ_DTYPE_S32 };
			ck_assert_int_eq(dnnq_gemm(&pw, m, a, k, c, n, &o, NULL), 0);
			int64_t want = 255LL * wv[wi] * (int64_t)k;
			for (size_t i = 0; i < m * n; i++)
				ck_assert_int_eq(c[i], want);
			/* and with both zero points at their extremes */
			int32_t zw = wv[wi];
			o.a_zero_point = 255;
			o.nwzp = 1;
			o.w_zero_points = &zw;
			ck_assert_int_eq(dnnq_gemm(&pw, m, a, k, c, n, &o, NULL), 0);
			for (size_t i = 0; i < m * n; i++)
				ck_assert_int_eq(c[i], 0);
			dnnq_gemm_weights_free(&pw);
			free(a);
			free(w);
			free(c);
		}
	}
}
END_TEST

/* Mixed rows: some all-7-bit (fast path), some with a byte above 127 (split
 * path), against an independent 64-bit product. */
START_TEST(split_path_is_exact)
{
	struct rng r = { 9 };
	size_t m = 13, n = 41, k = 300;
	uint8_t *a = malloc(m * k);
	int8_t *w = malloc(n * k);
	int32_t *c = malloc(m * n * sizeof *c);
	for (size_t i = 0; i < m; i++)
		for (size_t t = 0; t < k; t++)
			a[i * k + t] = (uint8_t)(i % 3 ? rng_int(&r, 0, 127) : rng_int(&r, 200, 255));
	for (size_t i = 0; i < n * k; i++)
		w[i] = (int8_t)(rng_int(&r, 0, 1) ? -128 : rng_int(&r, 100, 127));
	for (int kind = 0; kind <= (have_avx2() ? 2 : 0); kind++) {
		struct dnnq_gemm_weights pw;
		ck_assert_int_eq(kind == 2 ? pack_avx2_kernel(w, n, k, &pw)
		                           : dnnq_gemm_pack(kind, w, n, k, k, &pw, NULL), 0);
		struct dnnq_gemm_output o = { .dtype = DNNQ_DTYPE_S32 };
		ck_assert_int_eq(dnnq_gemm(&pw, m, a, k, c, n, &o, NULL), 0);
		for (size_t i = 0; i < m; i++) {
			for (size_t j = 0; j < n; j++) {
				int64_t s = 0;
				for (size_t t = 0; t < k; t++)
					s += a[i * k + t] * w[j * k + t];
				ck_assert_int_eq(c[i * n + j], s);
			}
		}
		dnnq_gemm_weights_free(&pw);
	}
	free(a);
	free(w);
	free(c);
}
END_TEST

START_TEST(packing)
{
	struct rng r = { 1 };
	static const size_t nk[][2] = { { 1024, 1024 }, { 10, 64 }, { 1000, 4096 }, { 17, 300 } };
	for (size_t s = 0; s < 4; s++) {
		size_t n = nk[s][0], k = nk[s][1];
		int8_t *w = malloc(n * k);
		for (size_t i = 0; i < n * k; i++)
			w[i] = (int8_t)rng_int(&r, -64, 64);
		for (int isa = 0; isa <= (have_avx2() ? 1 : 0); isa++) {
			struct dnnq_gemm_weights pw;
			ck_assert_int_eq(dnnq_gemm_pack(isa, w, n, k, k, &pw, NULL), 0);
			/* weights with |w| <= 64 cannot saturate a pair */
			ck_assert(pw.pair_safe);
			/* <= 1.05 x the raw bytes (k is a multiple of 4 here) */
			ck_assert_uint_le(pw.data_bytes * 100, n * k * 105);
			ck_assert_uint_eq(pw.data_bytes, n * k);
			for (size_t j = 0; j < n; j++) {
				int32_t sum = 0;
				for (size_t t = 0; t < k; t++)
					sum += w[j * k + t];
				ck_assert_int_eq(pw.row_sums[j], sum);
			}
			dnnq_gemm_weights_free(&pw);
		}
		free(w);
	}
}
END_TEST

/* The same results for 1, 2 and 3 threads, in every byte. */
START_TEST(thread_count_does_not_change_results)
{
	struct rng r = { 21 };
	size_t m = 150, n = 333, k = 517;
	uint8_t *a = malloc(m * k);
	int8_t *w = malloc(n * k);
	for (size_t i = 0; i < m * k; i++)
		a[i] = (uint8_t)rng_int(&r, 0, 255);
	for (size_t i = 0; i < n * k; i++)
		w[i] = (int8_t)rng_int(&r, -128, 127);
	struct pipeline *p = malloc(sizeof *p);
	random_pipeline(&r, p, n, k);
	p->o.dtype = DNNQ_DTYPE_S32;
	int32_t *c[3];
	struct dnnq_gemm_weights pw;
	ck_assert_int_eq(dnnq_gemm_pack(dnnq_isa_best(), w, n, k, k, &pw, NULL), 0);
	for (unsigned t = 1; t <= 3; t++) {
		struct dnnq_pool *pool = dnnq_pool_create(t, NULL);
		ck_assert_ptr_nonnull(pool);
		struct dnnq_executor ex = dnnq_pool_executor(pool);
		c[t - 1] = malloc(m * n * sizeof(int32_t));
		for (int rep = 0; rep < 3; rep++)
			ck_assert_int_eq(dnnq_gemm(&pw, m, a, k, c[t - 1], n, &p->o, &ex), 0);
		dnnq_pool_destroy(pool);
	}
	ck_assert_mem_eq(c[0], c[1], m * n * sizeof(int32_t));
	ck_assert_mem_eq(c[0], c[2], m * n * sizeof(int32_t));
	for (int t = 0; t < 3; t++)
		free(c[t]);
	dnnq_gemm_weights_free(&pw);
	free(a);
	free(w);
	free(p);
}
END_TEST

START_TEST(argument_errors)
{
	int8_t w[8] = { 0 };
	uint8_t a[8] = { 0 };
	int32_t c[8];
	struct dnnq_gemm_weights pw;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_gemm_pack(DNNQ_ISA_SCALAR, w, 0, 4, 4, &pw, &d), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_gemm_pack(DNNQ_ISA_SCALAR, w, 2, 4, 3, &pw, &d), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_gemm_pack(DNNQ_ISA_SCALAR, w, 2, 40000, 40000, &pw, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "k = 40000"));
	ck_assert_int_eq(dnnq_gemm_pack(DNNQ_ISA_SCALAR, w, 2, 4, 4, &pw, NULL), 0);
	struct dnnq_gemm_output o = { .dtype = DNNQ_DTYPE_S32 };
	ck_assert_int_eq(dnnq_gemm(&pw, 2, a, 3, c, 2, &o, NULL), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_gemm(&pw, 2, a, 4, c, 1, &o, NULL), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_gemm(&pw, 2, NULL, 4, c, 2, &o, NULL), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_gemm(&pw, 0, NULL, 4, NULL, 2, &o, NULL), 0);
	o.a_zero_point = 256;
	ck_assert_int_eq(dnnq_gemm(&pw, 2, a, 4, c, 2, &o, NULL), DNNQ_E_RANGE);
	o.a_zero_point = 0;
	o.nwzp = 3;
	ck_assert_int_eq(dnnq_gemm(&pw, 2, a, 4, c, 2, &o, NULL), DNNQ_E_SHAPE);
	o.nwzp = 0;
	o.dtype = DNNQ_DTYPE_F32;
	ck_assert_int_eq(dnnq_gemm(&pw, 2, a, 4, c, 2, &o, NULL), DNNQ_E_SHAPE);
	o.dtype = DNNQ_DTYPE_S8;
	ck_assert_int_eq(dnnq_gemm(&pw, 2, a, 4, c, 2, &o, NULL), DNNQ_E_DTYPE);
	dnnq_gemm_weights_free(&pw);
}
END_TEST

Suite *suite_gemm(void)
{
	Suite *s = suite_create("gemm");
	TCase *tc = tcase_create("simd");
	tcase_add_loop_test(tc, avx2_matches_scalar_all_small_sizes, 1, 68);
	tcase_add_test(tc, avx2_matches_scalar_larger_odd_sizes);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	tc = tcase_create("exact");
	tcase_add_test(tc, no_saturation_at_extremes);
	tcase_add_test(tc, split_path_is_exact);
	tcase_add_test(tc, packing);
	tcase_add_test(tc, thread_count_does_not_change_results);
	tcase_add_test(tc, argument_errors);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}
