/*
 * The int8 GEMM (engine/gemm.h): every GEMM kernel this CPU runs (one per
 * ISA: engine/kernels.h) against the scalar reference, in one pass, over
 * every M, N, K in 1..67 and larger odd sizes, every output
 * mode, zero-point combination and per-channel choice; exact results at the
 * saturation extremes; packing size; results independent of the thread
 * count; argument errors.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/pool.h"
#include "engine/gemm.h"
#include "engine/gemm-kernels.h"
#include "engine/peak.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

/* Packs for isa and checks that its table's kernel runs the weights. */
static void pack_isa(enum dnnq_isa isa, const int8_t *w, size_t n, size_t k,
                     struct dnnq_gemm_weights *out)
{
	ck_assert_int_eq(dnnq_gemm_pack(isa, w, n, k, k, out, NULL), 0);
	ck_assert_ptr_eq(out->kernel, &dnnq_kernels(isa)->gemm);
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

/* One shape: pack for every ISA, run each, compare every byte of C with the
 * scalar one (including the padding past N, which must stay untouched).
 * A in 0..amax; amax < 0: in 0..127 but for one byte above 127 in about
 * half of the AVX2 kernel's tiles (DNNQ_GEMM_MR rows each), so that tiles
 * with and without the sign trick meet in one block. */
static void compare_shape(struct rng *r, size_t m, size_t n, size_t k, int amax, int wmax,
                          const struct dnnq_executor *ex)
{
	size_t lda = k + (size_t)rng_int(r, 0, 3), ldc = n + (size_t)rng_int(r, 0, 2);
	uint8_t *a = malloc(m * lda);
	int8_t *w = malloc(n * k);
	for (size_t i = 0; i < m * lda; i++)
		a[i] = (uint8_t)rng_int(r, 0, amax < 0 ? 127 : amax);
	for (size_t t = 0; amax < 0 && t < m; t += DNNQ_GEMM_MR)
		if (rng_int(r, 0, 1)) {
			size_t rows = m - t < DNNQ_GEMM_MR ? m - t : DNNQ_GEMM_MR;
			a[(t + (size_t)rng_int(r, 0, (int)rows - 1)) * lda +
			  (size_t)rng_int(r, 0, (int)k - 1)] = (uint8_t)rng_int(r, 128, 255);
		}
	for (size_t i = 0; i < n * k; i++)
		w[i] = (int8_t)rng_int(r, -wmax - 1, wmax);
	struct pipeline *p = malloc(sizeof *p);
	random_pipeline(r, p, n, k);
	size_t bytes = m * ldc * esize(p->o.dtype);
	uint8_t *cs = malloc(bytes), *cv = malloc(bytes);
	memset(cs, 0x3c, bytes);
	memset(cv, 0x3c, bytes);
	struct dnnq_gemm_weights ws, wv;
	pack_isa(DNNQ_ISA_SCALAR, w, n, k, &ws);
	ck_assert_int_eq(dnnq_gemm(&ws, m, a, lda, cs, ldc, &p->o, NULL), 0);
	FOR_EACH_SIMD_ISA(isa) {
		pack_isa(isa, w, n, k, &wv);
		memset(cv, 0x3c, bytes);
		ck_assert_int_eq(dnnq_gemm(&wv, m, a, lda, cv, ldc, &p->o, ex), 0);
		ck_assert_msg(!memcmp(cs, cv, bytes), "M %zu N %zu K %zu dtype %s: %s != %s",
		              m, n, k, dnnq_dtype_name(p->o.dtype), wv.kernel->name,
		              ws.kernel->name);
		dnnq_gemm_weights_free(&wv);
	}
	dnnq_gemm_weights_free(&ws);
	free(a);
	free(w);
	free(p);
	free(cs);
	free(cv);
}

START_TEST(simd_matches_scalar_all_small_sizes)
{
	struct rng r = { 100 + (uint64_t)_i };
	/* _i runs over 1..67: that size as M, as N and as K */
	size_t v = (size_t)_i;
	compare_shape(&r, v, (size_t)rng_int(&r, 1, 67), (size_t)rng_int(&r, 1, 67), 255, 127, NULL);
	compare_shape(&r, (size_t)rng_int(&r, 1, 67), v, (size_t)rng_int(&r, 1, 67), 127, 127, NULL);
	compare_shape(&r, (size_t)rng_int(&r, 1, 67), (size_t)rng_int(&r, 1, 67), v, 255, 127, NULL);
}
END_TEST

START_TEST(simd_matches_scalar_larger_odd_sizes)
{
	static const size_t shapes[][3] = {
		{ 131, 97, 257 }, { 5, 255, 1023 }, { 67, 129, 513 }, { 1, 1001, 129 },
		{ 3, 17, 4099 }, { 200, 33, 65 }, { 129, 200, 3 },
	};
	struct rng r = { 7 };
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		compare_shape(&r, shapes[s][0], shapes[s][1], shapes[s][2], 255, 127, NULL);
		compare_shape(&r, shapes[s][0], shapes[s][1], shapes[s][2], 127, 127, NULL);
	}
}
END_TEST

/* Weights that pair (gemm.c pair_groups): in -32..31 every group with the
 * next in both halves, in -64..63 every group safe alone and pairs of
 * each class or none; through every output mode with per-tensor and
 * per-channel weight zero points (random_pipeline), against the scalar
 * ISA byte for byte. */
START_TEST(simd_matches_scalar_paired_weights)
{
	static const size_t shapes[][3] = {
		{ 13, 40, 300 }, { 5, 19, 64 }, { 1, 33, 1027 }, { 67, 9, 130 }, { 6, 100, 576 },
	};
	struct rng r = { 11 + (uint64_t)_i };
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
		compare_shape(&r, shapes[s][0], shapes[s][1], shapes[s][2], _i % 2 ? 127 : 255,
		              _i / 2 % 2 ? 63 : 31, NULL);
}
END_TEST

/* The AVX2 kernel's small-K sign rows (gemm.h, sign_off: K < 64, weights
 * whose pairs saturate): tiles that take the trick beside tiles that do
 * not, in blocks split by columns over 2 threads (a panel past the first
 * one reads its sign rows at its own offset), panels of 8 and 16 columns
 * and narrower, rows padded (lda > k), every output mode; byte for byte
 * against the scalar ISA. */
START_TEST(sign_rows_mixed_tiles_match_scalar)
{
	static const size_t ks[] = { 1, 3, 4, 8, 15, 16, 24, 31, 32, 40, 48, 56, 63 };
	static const size_t ns[] = { 8, 16, 17, 24, 40, 48, 72, 96 };
	struct rng r = { 500 + (uint64_t)_i };
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	ck_assert_ptr_nonnull(pool);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
		size_t m = (size_t)rng_int(&r, 1, 45);
		compare_shape(&r, m, ns[ni], ks[_i], -1, 127, &ex);
		compare_shape(&r, m, ns[ni], ks[_i], -1, 127, NULL);
	}
	dnnq_pool_destroy(pool);
}
END_TEST

/* vpmaddubsw saturates at 16 bits: 255 * -128 * 2 does not fit. The result
 * must still be exact, against a product computed here in 64 bits. */
START_TEST(no_saturation_at_extremes)
{
	static const int8_t wv[] = { -128, 127 };
	FOR_EACH_ISA(isa) {
		for (size_t wi = 0; wi < 2; wi++) {
			size_t m = 5, n = 37, k = 1027;
			uint8_t *a = malloc(m * k);
			int8_t *w = malloc(n * k);
			int32_t *c = malloc(m * n * sizeof *c);
			memset(a, 255, m * k);
			memset(w, (uint8_t)wv[wi], n * k);
			struct dnnq_gemm_weights pw;
			pack_isa(isa, w, n, k, &pw);
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

/* dnnq_gemm's s32 outputs of a (m x k) and the packed w (n x k) into c,
 * each against a 64-bit product. */
static void assert_gemm_exact(const struct dnnq_gemm_weights *pw, const uint8_t *a,
                              const int8_t *w, int32_t *c, size_t m, size_t n, size_t k)
{
	struct dnnq_gemm_output o = { .dtype = DNNQ_DTYPE_S32 };
	ck_assert_int_eq(dnnq_gemm(pw, m, a, k, c, n, &o, NULL), 0);
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++) {
			int64_t s = 0;
			for (size_t t = 0; t < k; t++)
				s += a[i * k + t] * w[j * k + t];
			ck_assert_msg(c[i * n + j] == s, "%s M %zu N %zu K %zu (%zu, %zu): %d != %lld",
			              pw->kernel->name, m, n, k, i, j, c[i * n + j], (long long)s);
		}
}

/* Mixed rows: some all-7-bit (the AVX2 kernel's plain path), some with a
 * byte above 127 (its sign trick), against an independent 64-bit product. */
START_TEST(sign_and_plain_paths_are_exact)
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
	FOR_EACH_ISA(isa) {
		struct dnnq_gemm_weights pw;
		pack_isa(isa, w, n, k, &pw);
		assert_gemm_exact(&pw, a, w, c, m, n, k);
		dnnq_gemm_weights_free(&pw);
	}
	free(a);
	free(w);
	free(c);
}
END_TEST

/* The AVX2 sign trick's corners (gemm-avx2.c): weights -128, -127, +-1, 0,
 * 127 in every pair combination against activations 0 (a - 128 = -128),
 * 1, 127, 128 and 255, for every tile edge (M = _i rows: 1..21, several
 * tiles and their odd rows, stored in pairs; partial panels, K not a
 * multiple of 4), each output against a 64-bit product. */
START_TEST(sign_trick_extremes_are_exact)
{
	static const int8_t wv[] = { -128, -127, -1, 0, 1, 127 };
	static const uint8_t av[] = { 0, 1, 127, 128, 255 };
	/* N = 24 and 40 end in a panel of 8 (its full tiles inline); K < 64
	 * with the panels' sign rows (gemm.h, sign_off) */
	static const size_t ns[] = { 1, 7, 8, 9, 15, 16, 17, 24, 33, 40 };
	static const size_t ks[] = { 1, 2, 3, 4, 5, 6, 7, 9, 13, 16, 27, 32, 63, 64, 131 };
	struct rng r = { 300 + (uint64_t)_i };
	size_t m = (size_t)_i;
	for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
		for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
			size_t n = ns[ni], k = ks[ki];
			uint8_t *a = malloc(m * k);
			int8_t *w = malloc(n * k);
			int32_t *c = malloc(m * n * sizeof *c);
			for (size_t i = 0; i < m * k; i++)
				a[i] = av[rng_int(&r, 0, 4)];
			/* pairs of equal weights too: -128, -128 reaches 2 * 128 * 128 */
			for (size_t i = 0; i < n * k; i++)
				w[i] = i % 2 && rng_int(&r, 0, 1) ? w[i - 1] : wv[rng_int(&r, 0, 5)];
			FOR_EACH_ISA(isa) {
				struct dnnq_gemm_weights pw;
				pack_isa(isa, w, n, k, &pw);
				if (pw.group_ends)   /* the AVX2 32-bit kernel */
					ck_assert_int_eq(pw.sign_off != 0, !pw.pair_safe && k < 64);
				assert_gemm_exact(&pw, a, w, c, m, n, k);
				dnnq_gemm_weights_free(&pw);
			}
			free(a);
			free(w);
			free(c);
		}
}
END_TEST

/* dnnq_gemm_weight reads every packed weight back as W: one assertion for the
 * matrix (a Check assertion per element costs a message to the runner). */
static void assert_weights_read_back(const struct dnnq_gemm_weights *pw, const int8_t *w,
                                     size_t n, size_t k)
{
	for (size_t j = 0; j < n; j++)
		for (size_t t = 0; t < k; t++)
			if (dnnq_gemm_weight(pw, j, t) != w[j * k + t])
				ck_abort_msg("%s: weight [%zu][%zu] reads %d, not %d", pw->kernel->name,
				             j, t, dnnq_gemm_weight(pw, j, t), w[j * k + t]);
}

/* A (m x k) times W (n x k) packed for every ISA: check(the packing), if
 * any, where there is a group order (the AVX2 kernel's), each output
 * against a 64-bit product, the weights read back; with direct, A's bytes
 * taken to 7 bits too (& 0x7f): no tile takes the sign trick (the AVX2
 * kernel's blocks take it in every tile if one tile needs it). */
static void assert_isas_exact(const uint8_t *a, const int8_t *w, size_t m, size_t n, size_t k,
                              bool direct,
                              void (*check)(const struct dnnq_gemm_weights *pw,
                                            const int8_t *w, size_t n, size_t k))
{
	int32_t *c = malloc(m * n * sizeof *c);
	uint8_t *a7 = malloc(m * k);
	for (size_t i = 0; i < m * k; i++)
		a7[i] = a[i] & 0x7f;
	FOR_EACH_ISA(isa) {
		struct dnnq_gemm_weights pw;
		pack_isa(isa, w, n, k, &pw);
		if (pw.group_ends && check)
			check(&pw, w, n, k);
		assert_gemm_exact(&pw, a, w, c, m, n, k);
		if (direct)
			assert_gemm_exact(&pw, a7, w, c, m, n, k);
		assert_weights_read_back(&pw, w, n, k);
		dnnq_gemm_weights_free(&pw);
	}
	free(a7);
	free(c);
}

/* The AVX2 kernel's scan for blocks that need the sign trick (block_big:
 * a tile's rows OR-ed 32 bytes at a time, the last < 32 bytes by two
 * overlapping loads of 16, 8 or 4, or one by one, tile after tile): one
 * byte of 255 among 127s, at every row and k of short and full tiles, and
 * at rows of every tile of two blocks of DNNQ_GEMM_MC rows and a short
 * third (the first and last k), against weights of 127, whose pairs
 * saturate vpmaddubsw unless that tile takes the trick. */
START_TEST(sign_scan_finds_one_byte)
{
	static const size_t ks[] = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 24, 25, 31, 32,
	                             33, 40, 47, 48, 63, 64, 65 };
	static const size_t kb[] = { 16, 24, 33, 96 };
	size_t m = 6, n = 16, mb = 2 * DNNQ_GEMM_MC + 5;
	uint8_t *a = malloc(mb * 96);
	int8_t *w = malloc(n * 96);
	memset(w, 127, n * 96);
	for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
		for (size_t at = 0; at < m * ks[ki]; at++) {
			memset(a, 127, m * ks[ki]);
			a[at] = 255;
			assert_isas_exact(a, w, m, n, ks[ki], false, NULL);
		}
	for (size_t ki = 0; ki < sizeof kb / sizeof kb[0]; ki++)
		for (size_t row = 1; row < mb; row += 5)
			for (size_t t = 0; t < kb[ki]; t += kb[ki] - 1) {
				memset(a, 127, mb * kb[ki]);
				a[row * kb[ki] + t] = 255;
				assert_isas_exact(a, w, mb, n, kb[ki], false, NULL);
			}
	free(a);
	free(w);
}
END_TEST

/* The pair p as weights t, t + 1 of W's column j (k a row; t + 1 past k:
 * dropped) */
static void put_pair(int8_t *w, size_t k, size_t j, size_t t, const int8_t p[2])
{
	w[j * k + t] = p[0];
	if (t + 1 < k)
		w[j * k + t + 1] = p[1];
}

/* Every class of single groups in some panel. */
static void single_classes_present(const struct dnnq_gemm_weights *pw, const int8_t *w,
                                   size_t n, size_t k)
{
	size_t classes[4] = { 0 };
	(void)w;
	for (size_t p = 0; p < (n + 15) / 16; p++) {
		/* the single groups' classes, after the pairs' three */
		const uint16_t *e = pw->group_ends + DNNQ_GEMM_ENDS * p + 2;
		classes[0] += e[1] - e[0];
		classes[1] += e[2] - e[1];
		classes[2] += e[3] - e[2];
		classes[3] += k / 4 - e[3];
	}
	ck_assert(classes[0] && classes[1] && classes[2] && classes[3]);
}

/* The AVX2 kernel's group order (gemm.h: group_off, group_ends): in each
 * panel the groups of the halves whose pairs cannot saturate go first and
 * take the direct product in the sign trick's tiles too. Groups drawn per panel from pairs
 * at the bound (64 + 64, -64 + -64, 127 with -128: safe) and just past it
 * (65 + 64, -65 + -64: not), against activations 255 (what saturates a
 * misplaced unsafe pair) and 0 / 128 (the sign trick's extremes), tiles
 * with and without a byte above 127, partial panels and a partial group;
 * each output against a 64-bit product, the weights read back. */
START_TEST(sign_tiles_direct_groups_are_exact)
{
	static const int8_t safe[][2] = { { 64, 64 }, { -64, -64 }, { 127, -128 }, { -128, 127 },
	                                  { 0, -128 }, { 1, 0 } };
	static const int8_t unsafe[][2] = { { 65, 64 }, { -65, -64 }, { 127, 127 }, { -128, -1 } };
	static const uint8_t av[] = { 0, 128, 255, 255 };
	struct rng r = { 41 + (uint64_t)_i };
	size_t m = 9, n = 40, k = 151;
	uint8_t *a = malloc(m * k);
	int8_t *w = malloc(n * k);
	/* rows 4-7 without a byte above 127 (the block takes the trick in
	 * every tile all the same; the direct tiles run on A & 0x7f:
	 * assert_isas_exact) */
	for (size_t i = 0; i < m * k; i++)
		a[i] = (uint8_t)(i / k / 4 == 1 ? rng_int(&r, 0, 127) : av[rng_int(&r, 0, 3)]);
	for (size_t h0 = 0; h0 < n; h0 += 8)
		for (size_t g = 0; g < (k + 3) / 4; g++) {
			/* a half's group is unsafe when one column's pair is */
			size_t bad = rng_int(&r, 0, 1) ? h0 + (size_t)rng_int(&r, 0, 7) : SIZE_MAX;
			size_t tbad = 4 * g + 2 * (size_t)rng_int(&r, 0, 1);
			for (size_t j = h0; j < h0 + 8 && j < n; j++)
				for (size_t t = 4 * g; t < 4 * g + 4 && t < k; t += 2)
					put_pair(w, k, j, t, j == bad && t == tbad ? unsafe[rng_int(&r, 0, 3)]
					                                           : safe[rng_int(&r, 0, 5)]);
		}
	assert_isas_exact(a, w, m, n, k, true, single_classes_present);
	free(a);
	free(w);
}
END_TEST

/* Whether the int16 lane of column j at place t (0 or 2) of the ng groups
 * at k offsets off[] of W, added together, stays within int16 for every
 * u8 activation (its positive weights sum to at most 128, its negative
 * ones to at least -128); *at_bound counts the lanes at 128 or -128. */
static bool lane_safe(const int8_t *w, size_t k, size_t j, const uint16_t *off, size_t ng,
                      size_t t, size_t *at_bound)
{
	int pos = 0, neg = 0;
	for (size_t u = 0; u < 2 * ng; u++) {
		int v = w[j * k + off[u / 2] + t + u % 2];
		pos += v > 0 ? v : 0;
		neg += v < 0 ? v : 0;
	}
	*at_bound += pos == 128 || neg == -128;
	return pos <= 128 && neg >= -128;
}

/* The AVX2 kernel's group order (gemm.h: group_off, group_pos,
 * group_ends) against W, independently of how gemm.c finds it: in each
 * panel the places a permutation of the full groups with group_pos its
 * inverse, the class ends in order and the pairs' on even places, every
 * pair safe in its added halves (both: PP; the first: PD; the second: DP)
 * and each of its groups in both, every single group in the halves its
 * class says. pairs[c] += the pairs of class c; the return value: the
 * added lanes of pairs at the bound. */
static size_t check_group_order(const struct dnnq_gemm_weights *pw, const int8_t *w, size_t n,
                                size_t k, size_t pairs[3])
{
	/* the halves each class needs safe (bit h: half h): PP, PD, DP, then
	 * the single classes 0-2 (3 is the rest) */
	static const unsigned need[] = { 3, 1, 2, 3, 1, 2 };
	size_t kg = k / 4, at_bound = 0, alone = 0;
	bool *seen = malloc(kg + 1);
	/* one assertion a panel (a Check assertion per element costs a
	 * message to the runner) */
	for (size_t p = 0; p < (n + 15) / 16; p++) {
		const uint16_t *off = pw->group_off + p * kg, *pos = pw->group_pos + p * kg;
		const uint16_t *end = pw->group_ends + DNNQ_GEMM_ENDS * p;
		memset(seen, 0, kg + 1);
		bool perm = true;
		for (size_t s = 0; s < kg && perm; s++) {
			size_t g = off[s] / 4;
			perm = off[s] % 4 == 0 && g < kg && !seen[g] && pos[g] == s;
			seen[g < kg ? g : kg] = true;
		}
		for (size_t c = 0; c < DNNQ_GEMM_ENDS; c++)
			perm = perm && end[c] <= (c + 1 < DNNQ_GEMM_ENDS ? end[c + 1] : kg) &&
			       (c >= 3 || end[c] % 2 == 0);
		ck_assert_msg(perm, "panel %zu: not a permutation or class ends out of order", p);
		for (size_t s = 0, c = 0; s < end[DNNQ_GEMM_ENDS - 1]; s += 1 + (c < 3)) {
			while (s >= end[c])
				c++;
			bool pair = c < 3;
			if (pair)
				pairs[c]++;
			for (size_t j = 16 * p; j < n && j < 16 * p + 16; j++) {
				bool here = need[c] >> (j % 16 / 8) & 1;
				for (size_t t = 0; t < 4; t += 2) {
					/* a pair's groups safe alone in both halves (its
					 * direct products), a single one where its class
					 * says; a pair added where its class says */
					bool ok = true;
					for (size_t q = 0; q < (pair ? 2u : 1u); q++)
						if (pair || here)
							ok &= lane_safe(w, k, j, off + s + q, 1, t, &alone);
					if (pair && here)
						ok &= lane_safe(w, k, j, off + s, 2, t, &at_bound);
					if (!ok)
						ck_abort_msg("panel %zu place %zu (class %zu) column %zu "
						             "unsafe", p, s, c, j);
				}
			}
		}
	}
	free(seen);
	return at_bound;
}

/* Pairs of each class (PP, PD, DP) in some panel, a lane at the bound,
 * and the order sound (check_group_order). */
static void pairs_present_and_safe(const struct dnnq_gemm_weights *pw, const int8_t *w,
                                   size_t n, size_t k)
{
	size_t pairs[3] = { 0 };
	ck_assert(check_group_order(pw, w, n, k, pairs));
	ck_assert(pairs[0] && pairs[1] && pairs[2]);
}

/* m x k activations 255 (the bound's), 0, 127 and 128 (the sign trick's
 * extremes) but rows 4-7, of 7-bit bytes (direct tiles: on A & 0x7f),
 * times n x k weights whose lanes (a pair of weights a column) are drawn
 * from kinds[nk] (three pairs each) by the kind of the group and half
 * (often one for both halves), a column now and then of another kind; on
 * every ISA (assert_isas_exact with check). */
static void paired_case(struct rng *r, size_t m, size_t n, size_t k,
                        const int8_t (*kinds)[3][2], int nk,
                        void (*check)(const struct dnnq_gemm_weights *pw, const int8_t *w,
                                      size_t n, size_t k))
{
	static const uint8_t av[] = { 255, 255, 0, 127, 128 };
	uint8_t *a = malloc(m * k);
	int8_t *w = malloc(n * k);
	for (size_t i = 0; i < m * k; i++)
		a[i] = (uint8_t)(i / k / 4 == 1 ? rng_int(r, 0, 127) : av[rng_int(r, 0, 4)]);
	for (size_t g = 0; g < (k + 3) / 4; g++) {
		int kind[2] = { rng_int(r, 0, nk - 1), 0 };
		kind[1] = rng_int(r, 0, 1) ? kind[0] : rng_int(r, 0, nk - 1);
		for (size_t j = 0; j < n; j++)
			for (size_t t = 4 * g; t < 4 * g + 4 && t < k; t += 2) {
				int kj = rng_int(r, 0, 15) ? kind[j % 16 / 8] : rng_int(r, 0, nk - 1);
				put_pair(w, k, j, t, kinds[kj][rng_int(r, 0, 2)]);
			}
	}
	assert_isas_exact(a, w, m, n, k, true, check);
	free(a);
	free(w);
}

/* The AVX2 kernel's paired groups (gemm.c pair_groups): two groups whose
 * int16 lanes are added by vpaddw before one vpmaddwd, in both halves of
 * a panel or in one (the other by two direct products). Kinds of lanes
 * (paired_case) such that pairs of kinds land at the bound (64 + 64 and
 * -64 + -64 over a lane's four weights, 127 with -128 beside zeros: safe)
 * or one past it (65 + 64, -65 + -64: a lane that wraps with activations
 * 255); full, 1-row and partial tiles, panels of 16, 13 and 8 columns, a
 * partial group; each output against a 64-bit product, the weights read
 * back, and the pairs of each class found checked safe in their added
 * halves, one of them at the bound. */
START_TEST(paired_groups_are_exact)
{
	static const int8_t kinds[][3][2] = {
		{ { 64, 0 }, { 0, 64 }, { 32, 32 } },      /* + 64 */
		{ { -64, 0 }, { 0, -64 }, { -32, -32 } },  /* - 64 */
		{ { 65, 0 }, { 0, 65 }, { 33, 32 } },      /* + 65 */
		{ { -65, 0 }, { 0, -65 }, { -33, -32 } },  /* - 65 */
		{ { 127, -128 }, { -128, 127 }, { 127, -128 } },
		{ { 0, 0 }, { 1, 0 }, { 0, -1 } },
	};
	static const size_t ns[] = { 32, 45, 40 };
	struct rng r = { 77 + (uint64_t)_i };
	paired_case(&r, 13, ns[_i % 3], 4 * 96 + 3, kinds, 6, pairs_present_and_safe);
}
END_TEST

static void group_order_sound(const struct dnnq_gemm_weights *pw, const int8_t *w, size_t n,
                              size_t k)
{
	size_t pairs[3] = { 0 };
	check_group_order(pw, w, n, k, pairs);
}

/* Paired groups at the edges: panels of 1-15 columns (the first half
 * partial, the second half partial or missing: no DP there) and of 16
 * beside them, K = 60 (15 groups: no classes, no pairs), 64 (16: the
 * first with them), 67 and 1202 (300 groups, more than the window),
 * lanes of -128 (-128 with 0: safe alone, pairs only with lanes without a
 * negative weight; -128 with -1: unsafe) and 128 (64 + 64, 127 + 1) beside
 * the kinds of paired_groups_are_exact; 6 rows (a full tile and 2); each
 * output against a 64-bit product and the group order checked sound. */
START_TEST(paired_group_edges_are_exact)
{
	static const int8_t kinds[][3][2] = {
		{ { 64, 64 }, { 127, 1 }, { 1, 127 } },        /* + 128 */
		{ { -128, 0 }, { 0, -128 }, { -64, -64 } },    /* - 128 */
		{ { 32, 32 }, { 64, 0 }, { 0, 64 } },          /* + 64 */
		{ { -32, -32 }, { -64, 0 }, { 0, -64 } },      /* - 64 */
		{ { 127, -128 }, { -128, 127 }, { -128, 127 } },
		{ { 0, 0 }, { 0, 0 }, { 1, -1 } },
		{ { 65, 64 }, { -128, -1 }, { 127, 127 } },    /* unsafe */
	};
	static const size_t ns[] = { 1, 5, 8, 9, 15, 19, 24, 31 };
	static const size_t ks[] = { 60, 64, 67, 1202 };
	struct rng r = { 90 + (uint64_t)_i };
	paired_case(&r, 6, ns[_i], ks[_i % 4], kinds, 7, group_order_sound);
}
END_TEST

/* In every panel group 2 single: the 256 groups after it pair with none
 * of it and one another, and the one that would (300) is past the window
 * (gemm.c PAIR_WINDOW); group 300 paired; group 1900 single, though 1901
 * would pair with it: by then the panel has spent its checks
 * (PAIR_BUDGET, 128 a group; groups 2-1000 take 256 each). What bounds
 * the packer's time on weights where nothing pairs. */
static void window_bounds_scan(const struct dnnq_gemm_weights *pw, const int8_t *w, size_t n,
                               size_t k)
{
	size_t kg = k / 4;
	group_order_sound(pw, w, n, k);
	for (size_t p = 0; p < (n + 15) / 16; p++) {
		const uint16_t *end = pw->group_ends + DNNQ_GEMM_ENDS * p, *pos = pw->group_pos + p * kg;
		ck_assert_uint_ge(pos[2], end[2]);
		ck_assert_uint_lt(pos[300], end[2]);
		ck_assert_uint_ge(pos[1900], end[2]);
	}
}

/* Partners past the window and the budget: groups of 64, 64 in every lane
 * (safe alone, no two together) but 0, 300 and 1900, of -128, 0 (which
 * pair with them); rows of 255 and one of random bytes, panels of 16 and
 * 4, a partial group; each output against a 64-bit product, the order
 * checked. */
START_TEST(paired_group_window_is_exact)
{
	struct rng r = { 5 };
	size_t m = 5, n = 20, k = 4 * 2000 + 1;
	uint8_t *a = malloc(m * k);
	int8_t *w = malloc(n * k);
	for (size_t i = 0; i < m * k; i++)
		a[i] = (uint8_t)(i / k == 1 ? rng_int(&r, 0, 255) : 255);
	for (size_t j = 0; j < n; j++)
		for (size_t t = 0; t < k; t++) {
			bool neg = t / 4 == 0 || t / 4 == 300 || t / 4 == 1900;
			w[j * k + t] = (int8_t)(!neg ? 64 : t % 2 ? 0 : -128);
		}
	assert_isas_exact(a, w, m, n, k, true, window_bounds_scan);
	free(a);
	free(w);
}
END_TEST

/* u8 outputs at and past their bounds: every ISA's requantization against
 * the scalar one, float and fixed point, qmin 0 (the AVX2 GEMM leaves that
 * clamp to its packs' saturation) or the zero point (ReLU), qmax 255 or
 * less, multipliers that send sums far past both ends (and past the int32
 * range: vcvtps2dq's 0x80000000) or all within 0.5 (no clamp at all with
 * qmin 0 and qmax 255: the packs saturate), zero points 0..255, every row
 * parity (the stores take rows two at a time) and partial panels. */
START_TEST(u8_requant_bounds_match_scalar)
{
	static const float mults[] = { 1e-6f, 1e-3f, 0.05f, 1.0f, 3e4f, 1e9f };
	static const int32_t zps[] = { 0, 1, 128, 254, 255 };
	static const size_t ns[] = { 8, 16, 17, 40, 70 };
	struct rng r = { 500 + (uint64_t)_i };
	size_t m = (size_t)_i, k = 37;
	for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
		size_t n = ns[ni];
		uint8_t *a = malloc(m * k), *cs = malloc(m * n), *cv = malloc(m * n);
		int8_t *w = malloc(n * k);
		for (size_t i = 0; i < m * k; i++)
			a[i] = (uint8_t)(rng_int(&r, 0, 3) ? rng_int(&r, 0, 255) : 255 * rng_int(&r, 0, 1));
		for (size_t i = 0; i < n * k; i++)
			w[i] = (int8_t)(rng_int(&r, 0, 3) ? rng_int(&r, -128, 127)
			                                   : rng_int(&r, 0, 1) ? 127 : -128);
		struct pipeline *p = malloc(sizeof *p);
		for (size_t j = 0; j < n; j++) {
			/* every multiplier within 0.5 at N 16 and 40: the AVX2
			 * GEMM's unclamped kind (DNNQ_AVX2_U8_FLOAT_FULL) */
			p->fm[j] = mults[rng_int(&r, 0, ni % 2 ? 2 : 5)];
			struct dnnq_fixedpoint f;
			dnnq_fixedpoint_from_real(p->fm[j] < 1 ? p->fm[j] : 0.99, &f);
			p->qm[j] = f.multiplier;
			p->qs[j] = f.shift;
			p->bias[j] = (int32_t)rng_int(&r, -400000, 400000);
		}
		struct dnnq_gemm_weights ws, wv;
		pack_isa(DNNQ_ISA_SCALAR, w, n, k, &ws);
		for (size_t z = 0; z < sizeof zps / sizeof zps[0]; z++)
			for (int variant = 0; variant < 8; variant++) {
				int32_t zp = zps[z], qmax = variant & 2 ? 200 : 255;
				memset(&p->o, 0, sizeof p->o);
				p->o.dtype = DNNQ_DTYPE_U8;
				p->o.a_zero_point = (int32_t)rng_int(&r, 0, 255);
				p->o.bias = p->bias;
				p->o.rq = (struct dnnq_requant){
					variant & 4 ? DNNQ_REQUANT_FIXED : DNNQ_REQUANT_FLOAT, n, p->fm,
					p->qm, p->qs, zp, variant & 1 && zp <= qmax ? zp : 0, qmax,
				};
				memset(cs, 0x3c, m * n);
				ck_assert_int_eq(dnnq_gemm(&ws, m, a, k, cs, n, &p->o, NULL), 0);
				FOR_EACH_SIMD_ISA(isa) {
					pack_isa(isa, w, n, k, &wv);
					memset(cv, 0x3c, m * n);
					ck_assert_int_eq(dnnq_gemm(&wv, m, a, k, cv, n, &p->o, NULL), 0);
					ck_assert_msg(!memcmp(cs, cv, m * n), "%s M %zu N %zu zp %d "
					              "variant %d", wv.kernel->name, m, n, zp, variant);
					dnnq_gemm_weights_free(&wv);
				}
			}
		dnnq_gemm_weights_free(&ws);
		free(p);
		free(a);
		free(w);
		free(cs);
		free(cv);
	}
}
END_TEST

/* A vpmaddubsw pair of opposite signs cannot saturate (255 * 127 and
 * 255 * -128 both fit in int16), nor one whose same-signed weights sum
 * to at most 128 in magnitude: weights made only of such pairs at their
 * extremes are pair_safe (every tile the direct product, no scan) and
 * exact against a 64-bit product for activations 255, 0 and random; one
 * pair of 65 and 64 makes them unsafe. */
START_TEST(opposite_sign_pairs_are_safe)
{
	static const int8_t pairs[][2] = { { 127, -128 }, { -128, 127 }, { 64, 64 },
	                                   { -64, -64 }, { 0, -128 }, { 127, 0 } };
	enum { m = 9, n = 40, k = 96 };
	struct rng r = { 808 };
	uint8_t a[m * k];
	int8_t w[n * k];
	int32_t c[m * n];
	for (size_t j = 0; j < n; j++)
		for (size_t t = 0; t < k; t += 2) {
			const int8_t *p = pairs[rng_int(&r, 0, 5)];
			w[j * k + t] = p[0];
			w[j * k + t + 1] = p[1];
		}
	for (int unsafe = 0; unsafe < 2; unsafe++) {
		if (unsafe) {
			w[17 * k + 40] = 65;
			w[17 * k + 41] = 64;
		}
		for (int fill = 0; fill < 3; fill++) {
			for (size_t i = 0; i < m * k; i++)
				a[i] = fill == 0 ? 255 : fill == 1 ? 0 : (uint8_t)rng_int(&r, 0, 255);
			FOR_EACH_ISA(isa) {
				struct dnnq_gemm_weights pw;
				pack_isa(isa, w, n, k, &pw);
				ck_assert_int_eq(pw.pair_safe, !unsafe);
				struct dnnq_gemm_output o = { .dtype = DNNQ_DTYPE_S32 };
				ck_assert_int_eq(dnnq_gemm(&pw, m, a, k, c, n, &o, NULL), 0);
				for (size_t i = 0; i < m; i++)
					for (size_t j = 0; j < n; j++) {
						int64_t want = 0;
						for (size_t t = 0; t < k; t++)
							want += (int64_t)a[i * k + t] * w[j * k + t];
						ck_assert_int_eq(c[i * n + j], want);
					}
				dnnq_gemm_weights_free(&pw);
			}
		}
	}
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
		FOR_EACH_ISA(isa) {
			struct dnnq_gemm_weights pw;
			pack_isa(isa, w, n, k, &pw);
			/* weights with |w| <= 64 cannot saturate a pair */
			ck_assert(pw.pair_safe);
			/* the raw bytes (k is a multiple of 4 here) */
			ck_assert_uint_eq(pw.data_bytes, n * k);
			assert_weights_read_back(&pw, w, n, k);
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

/* out->pre's context: rows of `from` copied to `to`, each row counted. */
struct rows_made {
	const uint8_t *from;
	uint8_t *to;
	size_t k;
	unsigned *made;
};

static void make_rows(const void *ctx, size_t i0, size_t i1)
{
	const struct rows_made *rm = ctx;
	memcpy(rm->to + i0 * rm->k, rm->from + i0 * rm->k, (i1 - i0) * rm->k);
	for (size_t i = i0; i < i1; i++)
		rm->made[i]++;
}

/* The same results for 1, 2 and 3 threads, in every byte: many row blocks,
 * one block of 49 rows (its columns split, dnnq_gemm_chunk_cols), one
 * row, and 49 rows of weights small enough to split by rows instead
 * (gemm.c small_rows: 25 + 24 rows on 2 threads, 17 + 16 + 16 on 3). And
 * with A made by out->pre, each row once, before it is read: by the
 * tasks, or in a pass of their own where the columns are split. */
START_TEST(thread_count_does_not_change_results)
{
	static const size_t shapes[][3] = {   /* m, n, k */
		{ 150, 333, 517 }, { 49, 333, 517 }, { 1, 333, 517 }, { 49, 96, 573 },
	};
	struct rng r = { 21 };
	size_t m = shapes[_i][0], n = shapes[_i][1], k = shapes[_i][2];
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
		uint8_t *a2 = calloc(m, k);
		int32_t *c2 = malloc(m * n * sizeof(int32_t));
		struct rows_made rm = { a, a2, k, calloc(m, sizeof *rm.made) };
		struct dnnq_gemm_output o = p->o;
		o.pre = make_rows;
		o.pre_ctx = &rm;
		ck_assert_int_eq(dnnq_gemm(&pw, m, a2, k, c2, n, &o, &ex), 0);
		for (size_t i = 0; i < m; i++)
			ck_assert_uint_eq(rm.made[i], 1);
		ck_assert_mem_eq(c2, c[t - 1], m * n * sizeof(int32_t));
		free(rm.made);
		free(a2);
		free(c2);
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

/* An executor of nt threads as the split helpers see it (they read only
 * the count). */
static struct dnnq_executor threads_of(unsigned nt)
{
	return (struct dnnq_executor){ NULL, NULL, nt };
}

/* dnnq_split_even: the pieces cover [0, n) in order, start at multiples
 * of align, are at most per long and at most align apart, and are as
 * many as a multiple of the threads unless each is one unit already. */
START_TEST(even_pieces_cover_and_balance)
{
	static const size_t cases[][3] = {   /* n, per, align */
		{ 49, 7, 1 }, { 196, 64, 1 }, { 50176, 5456, 8 }, { 18816, 65536, 64 },
		{ 3, 1, 1 }, { 1, 7, 1 }, { 1000, 64, 64 }, { 65, 64, 1 }, { 0, 8, 1 },
	};
	for (unsigned nt = 1; nt <= 3; nt++)
		for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
			size_t n = cases[c][0], per = cases[c][1], align = cases[c][2];
			struct dnnq_executor ex = threads_of(nt);
			struct dnnq_pieces p = dnnq_split_even(&ex, n, per, align);
			size_t units = (n + align - 1) / align, lo = SIZE_MAX, hi = 0;
			ck_assert_uint_eq(dnnq_piece_start(&p, 0), 0);
			ck_assert_uint_eq(dnnq_piece_start(&p, p.count), n);
			ck_assert(p.count % nt == 0 || p.count == units);
			for (size_t t = 0; t < p.count; t++) {
				size_t s = dnnq_piece_start(&p, t), e = dnnq_piece_start(&p, t + 1);
				ck_assert_uint_eq(s % align, 0);
				ck_assert_uint_le(e - s, per > align ? per : align);
				lo = e - s < lo ? e - s : lo;
				hi = e - s > hi ? e - s : hi;
			}
			if (p.count > 1 && n % align == 0)
				ck_assert_uint_le(hi - lo, align);
		}
	/* the cases that were uneven on 2 threads */
	struct dnnq_executor two = threads_of(2);
	ck_assert_uint_eq(dnnq_split_even(&two, 49, 7, 1).count, 8);
	ck_assert_uint_eq(dnnq_even_pieces(&two, 196, DNNQ_GEMM_MC, 1), 49);
	ck_assert_uint_eq(dnnq_even_pieces(NULL, 196, DNNQ_GEMM_MC, 1), DNNQ_GEMM_MC);
}
END_TEST

/* dnnq_gemm_chunk_cols: whole panels, within the cap, the cap alone on
 * one thread, and even shares where the row blocks are odd. */
START_TEST(column_chunks_balance)
{
	struct dnnq_executor one = threads_of(1), two = threads_of(2);
	ck_assert_uint_eq(dnnq_gemm_chunk_cols(&one, 1, 576, 4096), 576);
	ck_assert_uint_eq(dnnq_gemm_chunk_cols(&one, 1, 1000, 512), 512);
	/* one 49-row block of 576 columns: 2 chunks, not 9 of 64 */
	ck_assert_uint_eq(dnnq_gemm_chunk_cols(&two, 1, 576, 4096), 288);
	/* blocks that go evenly are not split */
	ck_assert_uint_eq(dnnq_gemm_chunk_cols(&two, 4, 240, 4096), 240);
	/* 7 row blocks (a strided 7x7 output): two chunks each */
	ck_assert_uint_eq(dnnq_gemm_chunk_cols(&two, 7, 96, 4096), 48);
	for (size_t n = 1; n <= 700; n += 13)
		for (unsigned nt = 1; nt <= 3; nt++) {
			struct dnnq_executor ex = threads_of(nt);
			size_t cols = dnnq_gemm_chunk_cols(&ex, 1, n, 256);
			ck_assert_uint_eq(cols % DNNQ_GEMM_NR, 0);
			ck_assert_uint_le(cols, 256);
			ck_assert_uint_ge(cols, DNNQ_GEMM_NR);
		}
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

/* ---- 16-bit accumulation (dnnq_gemm_pack_acc16) ---- */

/* Runs W through the 32-bit path (scalar) and acc16 (scalar and, with AVX2,
 * the AVX2 kernel) on the same pipeline; *same32: acc16 == acc32 in every
 * byte; the two acc16 results must always be identical. */
static void acc16_run(struct rng *r, size_t m, size_t n, size_t k, const uint8_t *a,
                      size_t lda, const int8_t *w, const struct dnnq_acc16_opts *opt,
                      const struct dnnq_executor *ex, bool *same32, uint64_t *events)
{
	size_t ldc = n + (size_t)rng_int(r, 0, 2);
	struct pipeline *p = malloc(sizeof *p);
	random_pipeline(r, p, n, k);
	size_t bytes = m * ldc * esize(p->o.dtype);
	uint8_t *c32 = malloc(bytes), *c16 = malloc(bytes), *cv = malloc(bytes);
	memset(c32, 0x3c, bytes);
	memset(c16, 0x3c, bytes);
	memset(cv, 0x3c, bytes);
	struct dnnq_gemm_weights w32, ws, wv;
	ck_assert_int_eq(dnnq_gemm_pack(DNNQ_ISA_SCALAR, w, n, k, k, &w32, NULL), 0);
	ck_assert_int_eq(dnnq_gemm_pack_acc16(DNNQ_ISA_SCALAR, w, n, k, k, opt, &ws, NULL), 0);
	ck_assert(ws.acc16);
	ck_assert_int_eq(dnnq_gemm(&w32, m, a, lda, c32, ldc, &p->o, NULL), 0);
	ck_assert_int_eq(dnnq_gemm(&ws, m, a, lda, c16, ldc, &p->o, NULL), 0);
	uint64_t adds;
	ck_assert_int_eq(dnnq_gemm_acc16_saturation(&ws, m, a, lda, events, &adds), 0);
	ck_assert_uint_eq(adds, (uint64_t)m * n * ((k + 3) / 4) * 4);
	*same32 = !memcmp(c32, c16, bytes);
	FOR_EACH_SIMD_ISA(isa) {
		ck_assert_int_eq(dnnq_gemm_pack_acc16(isa, w, n, k, k, opt, &wv, NULL), 0);
		ck_assert(wv.acc16 && wv.kernel == &dnnq_kernels(isa)->gemm_acc16);
		memset(cv, 0x3c, bytes);
		ck_assert_int_eq(dnnq_gemm(&wv, m, a, lda, cv, ldc, &p->o, ex), 0);
		ck_assert_msg(!memcmp(c16, cv, bytes), "acc16 M %zu N %zu K %zu nbits %u spill %u "
		              "dtype %s: %s (%s) != scalar", m, n, k, wv.acc16_nbits,
		              wv.acc16_spill, dnnq_dtype_name(p->o.dtype), wv.kernel->name,
		              dnnq_isa_name(isa));
		uint64_t ev2, adds2;
		ck_assert_int_eq(dnnq_gemm_acc16_saturation(&wv, m, a, lda, &ev2, &adds2), 0);
		ck_assert_uint_eq(ev2, *events);
		ck_assert_uint_eq(adds2, adds);
		dnnq_gemm_weights_free(&wv);
	}
	dnnq_gemm_weights_free(&w32);
	dnnq_gemm_weights_free(&ws);
	free(p);
	free(c32);
	free(c16);
	free(cv);
}

/* Random A (0..amax) and W (wlo..whi) of one shape through acc16_run. */
static void acc16_shape(struct rng *r, size_t m, size_t n, size_t k, int amax, int wlo,
                        int whi, const struct dnnq_acc16_opts *opt, bool *same32,
                        uint64_t *events)
{
	size_t lda = k + (size_t)rng_int(r, 0, 3);
	uint8_t *a = malloc(m * lda);
	int8_t *w = malloc(n * k);
	for (size_t i = 0; i < m * lda; i++)
		a[i] = (uint8_t)rng_int(r, 0, amax);
	for (size_t i = 0; i < n * k; i++)
		w[i] = (int8_t)rng_int(r, wlo, whi);
	acc16_run(r, m, n, k, a, lda, w, opt, NULL, same32, events);
	free(a);
	free(w);
}

/* No outliers and no possible saturation: acc16 == acc32 bit for bit.
 * spill 1 with 7-bit weights cannot saturate for any activations
 * (2 * 255 * 64 < 32768); the default spill S cannot with
 * 2 * S * amax * 64 < 32768. */
START_TEST(acc16_equals_acc32_without_outliers)
{
	struct rng r = { 300 + (uint64_t)_i };
	size_t v = (size_t)_i;
	unsigned nbits = (unsigned)rng_int(&r, 2, 7);
	int lo = -(1 << (nbits - 1)), hi = (1 << (nbits - 1)) - 1;
	struct dnnq_acc16_opts spill1 = { nbits, 1 }, dflt = { nbits, 0 };
	int amax = 32767 / (2 * DNNQ_ACC16_DEFAULT_SPILL * 64);
	size_t shapes[3][3] = {
		{ v, (size_t)rng_int(&r, 1, 67), (size_t)rng_int(&r, 1, 67) },
		{ (size_t)rng_int(&r, 1, 67), v, (size_t)rng_int(&r, 1, 67) },
		{ (size_t)rng_int(&r, 1, 67), (size_t)rng_int(&r, 1, 67), v * 17 },
	};
	for (int s = 0; s < 3; s++) {
		bool same;
		uint64_t ev;
		acc16_shape(&r, shapes[s][0], shapes[s][1], shapes[s][2], 255, lo, hi, &spill1,
		            &same, &ev);
		ck_assert_msg(same && ev == 0, "spill 1, M %zu N %zu K %zu: acc16 != acc32",
		              shapes[s][0], shapes[s][1], shapes[s][2]);
		acc16_shape(&r, shapes[s][0], shapes[s][1], shapes[s][2], amax, lo, hi, &dflt,
		            &same, &ev);
		ck_assert_msg(same && ev == 0, "default spill, M %zu N %zu K %zu: acc16 != acc32",
		              shapes[s][0], shapes[s][1], shapes[s][2]);
	}
}
END_TEST

/* Full-range weights (most are outliers at nbits 7): main + outlier ==
 * acc32 exactly when nothing saturates; dnnq_gemm_weight reads W back; the
 * outlier count is the number of weights outside the nbits range. */
START_TEST(acc16_outliers_exact)
{
	struct rng r = { 41 };
	static const size_t shapes[][3] = { { 1, 1, 1 }, { 7, 33, 131 }, { 64, 17, 577 },
	                                    { 65, 64, 1152 }, { 3, 100, 2303 } };
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
		unsigned nbits = 2 + (unsigned)s % 6;
		int lo = -(1 << (nbits - 1)), hi = (1 << (nbits - 1)) - 1;
		uint8_t *a = malloc(m * k);
		int8_t *w = malloc(n * k);
		size_t want = 0;
		for (size_t i = 0; i < m * k; i++)
			a[i] = (uint8_t)rng_int(&r, 0, 255);
		for (size_t i = 0; i < n * k; i++) {
			/* mostly Gaussian-like small, some extremes */
			int v = rng_int(&r, 0, 9) ? rng_int(&r, lo, hi) : rng_int(&r, -128, 127);
			w[i] = (int8_t)v;
			want += v < lo || v > hi;
		}
		struct dnnq_acc16_opts opt = { nbits, 1 };
		bool same;
		uint64_t ev;
		acc16_run(&r, m, n, k, a, k, w, &opt, NULL, &same, &ev);
		ck_assert_uint_eq(ev, 0);
		ck_assert_msg(same, "M %zu N %zu K %zu nbits %u: main + outlier != acc32", m, n, k,
		              nbits);
		FOR_EACH_ISA(isa) {
			struct dnnq_gemm_weights pw;
			ck_assert_int_eq(dnnq_gemm_pack_acc16(isa, w, n, k, k, &opt, &pw, NULL), 0);
			ck_assert_uint_eq(pw.outliers, want);
			ck_assert(pw.outlier_density == (double)want / ((double)n * (double)k));
			ck_assert_uint_eq(pw.acc16_nbits, nbits);
			assert_weights_read_back(&pw, w, n, k);
			dnnq_gemm_weights_free(&pw);
		}
		free(a);
		free(w);
	}
}
END_TEST

/* Constructed saturation: all activations 255, all weights 63 (no
 * outliers at nbits 7), one spill for the whole K. Each pair sum is 32130,
 * so each int16 lane holds 32130 after the first step and saturates at
 * every later one: G - 1 events per lane, the raw sum 2 * 32767. */
START_TEST(acc16_saturation_detected)
{
	size_t m = 5, n = 19, k = 64, g = k / 4;
	uint8_t *a = malloc(m * k);
	int8_t *w = malloc(n * k);
	int32_t *c = malloc(m * n * sizeof *c);
	memset(a, 255, m * k);
	memset(w, 63, n * k);
	struct dnnq_acc16_opts opt = { 7, 1000 };
	FOR_EACH_ISA(isa) {
		struct dnnq_gemm_weights pw;
		ck_assert_int_eq(dnnq_gemm_pack_acc16(isa, w, n, k, k, &opt, &pw, NULL), 0);
		ck_assert_uint_eq(pw.outliers, 0);
		uint64_t ev, adds;
		ck_assert_int_eq(dnnq_gemm_acc16_saturation(&pw, m, a, k, &ev, &adds), 0);
		ck_assert_uint_eq(ev, (uint64_t)m * n * 2 * (g - 1));
		ck_assert_uint_eq(adds, (uint64_t)m * n * g * 4);
		struct dnnq_gemm_output o = { .dtype = DNNQ_DTYPE_S32 };
		ck_assert_int_eq(dnnq_gemm(&pw, m, a, k, c, n, &o, NULL), 0);
		for (size_t i = 0; i < m * n; i++)
			ck_assert_int_eq(c[i], 2 * 32767);
		/* spilling every step: exact, no events */
		dnnq_gemm_weights_free(&pw);
		struct dnnq_acc16_opts every = { 7, 1 };
		ck_assert_int_eq(dnnq_gemm_pack_acc16(isa, w, n, k, k, &every, &pw, NULL), 0);
		ck_assert_int_eq(dnnq_gemm_acc16_saturation(&pw, m, a, k, &ev, &adds), 0);
		ck_assert_uint_eq(ev, 0);
		ck_assert_int_eq(dnnq_gemm(&pw, m, a, k, c, n, &o, NULL), 0);
		for (size_t i = 0; i < m * n; i++)
			ck_assert_int_eq(c[i], 255 * 63 * (int32_t)k);
		dnnq_gemm_weights_free(&pw);
	}
	/* nbits 8 keeps -128: a pair of them saturates vpmaddubsw itself */
	memset(w, 0x80, n * k);
	struct dnnq_acc16_opts eight = { 8, 1 };
	struct dnnq_gemm_weights pw;
	ck_assert_int_eq(dnnq_gemm_pack_acc16(DNNQ_ISA_SCALAR, w, n, k, k, &eight, &pw, NULL), 0);
	uint64_t ev, adds;
	ck_assert_int_eq(dnnq_gemm_acc16_saturation(&pw, m, a, k, &ev, &adds), 0);
	ck_assert_uint_eq(ev, (uint64_t)m * n * 2 * g);
	dnnq_gemm_weights_free(&pw);
	free(a);
	free(w);
	free(c);
}
END_TEST

/* Every SIMD ISA == scalar on random inputs, saturating ones included: full-range
 * activations and weights, every nbits, spill 1..64, every pipeline. */
START_TEST(acc16_simd_matches_scalar)
{
	struct rng r = { 500 + (uint64_t)_i };
	size_t m = (size_t)rng_int(&r, 1, 70), n = (size_t)rng_int(&r, 1, 70);
	size_t k = (size_t)rng_int(&r, 1, 300) * (rng_int(&r, 0, 3) ? 1 : 9);
	struct dnnq_acc16_opts opt = { (unsigned)rng_int(&r, 2, 8), (unsigned)rng_int(&r, 1, 64) };
	if (_i % 4 == 0)
		opt.spill = 0;
	bool same;
	uint64_t ev;
	int amax = rng_int(&r, 0, 1) ? 255 : 127;
	acc16_shape(&r, m, n, k, amax, -128, 127, &opt, &same, &ev);
	/* the same with the thread pool splitting columns */
	if (dnnq_isa_best() != DNNQ_ISA_SCALAR && _i % 8 == 1) {
		struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
		ck_assert_ptr_nonnull(pool);
		struct dnnq_executor ex = dnnq_pool_executor(pool);
		uint8_t *a = malloc(m * k);
		int8_t *w = malloc(n * k);
		for (size_t i = 0; i < m * k; i++)
			a[i] = (uint8_t)rng_int(&r, 0, 255);
		for (size_t i = 0; i < n * k; i++)
			w[i] = (int8_t)rng_int(&r, -128, 127);
		acc16_run(&r, m, n, k, a, k, w, &opt, &ex, &same, &ev);
		dnnq_pool_destroy(pool);
		free(a);
		free(w);
	}
}
END_TEST

START_TEST(acc16_pack_errors)
{
	int8_t w[8] = { 0 };
	struct dnnq_gemm_weights pw;
	struct dnnq_diag d;
	struct dnnq_acc16_opts o = { 9, 0 };
	ck_assert_int_eq(dnnq_gemm_pack_acc16(DNNQ_ISA_SCALAR, w, 2, 4, 4, &o, &pw, &d),
	                 DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "nbits = 9"));
	o.nbits = 1;
	ck_assert_int_eq(dnnq_gemm_pack_acc16(DNNQ_ISA_SCALAR, w, 2, 4, 4, &o, &pw, &d),
	                 DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "nbits = 1"));
	o = (struct dnnq_acc16_opts){ 0, 70000 };
	ck_assert_int_eq(dnnq_gemm_pack_acc16(DNNQ_ISA_SCALAR, w, 2, 4, 4, &o, &pw, &d),
	                 DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "spill = 70000"));
	ck_assert_int_eq(dnnq_gemm_pack_acc16(DNNQ_ISA_SCALAR, w, 2, 4, 3, NULL, &pw, &d),
	                 DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_gemm_pack_acc16(DNNQ_ISA_SCALAR, w, 2, 40000, 40000, NULL, &pw, &d),
	                 DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "k = 40000"));
	/* defaults */
	ck_assert_int_eq(dnnq_gemm_pack_acc16(DNNQ_ISA_SCALAR, w, 2, 4, 4, NULL, &pw, &d), 0);
	ck_assert_uint_eq(pw.acc16_nbits, DNNQ_ACC16_DEFAULT_NBITS);
	ck_assert_uint_eq(pw.acc16_spill, DNNQ_ACC16_DEFAULT_SPILL);
	uint64_t ev, adds;
	uint8_t a[8] = { 0 };
	ck_assert_int_eq(dnnq_gemm_acc16_saturation(&pw, 2, a, 3, &ev, &adds), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_gemm_acc16_saturation(&pw, 2, NULL, 4, &ev, &adds), DNNQ_E_INVAL);
	dnnq_gemm_weights_free(&pw);
	/* 32-bit weights have no saturation to count */
	ck_assert_int_eq(dnnq_gemm_pack(DNNQ_ISA_SCALAR, w, 2, 4, 4, &pw, NULL), 0);
	ck_assert_int_eq(dnnq_gemm_acc16_saturation(&pw, 2, a, 4, &ev, &adds), DNNQ_E_INVAL);
	dnnq_gemm_weights_free(&pw);
}
END_TEST

/* engine/peak.h: each SIMD ISA has its loop, scalar none; every figure is
 * measured (positive, finite) on one thread and on two. */
START_TEST(peaks_are_measured)
{
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	ck_assert_ptr_nonnull(pool);
	struct dnnq_executor two = dnnq_pool_executor(pool);
	const struct dnnq_executor *exs[2] = { NULL, &two };
	enum dnnq_peak_kind k;
	ck_assert(!dnnq_peak_of_isa(DNNQ_ISA_SCALAR, &k));
	FOR_EACH_SIMD_ISA(isa) {
		ck_assert(dnnq_peak_of_isa(isa, &k));
		ck_assert_int_eq(k, isa == DNNQ_ISA_AVX512VNNI ? DNNQ_PEAK_VNNI : DNNQ_PEAK_AVX2);
		ck_assert_str_eq(dnnq_peak_insn(k), k == DNNQ_PEAK_VNNI ? "vpdpbusd" : "vpmaddubsw");
		for (unsigned n = 0; n < 2; n++) {
			double g = dnnq_peak_gops(k, 0.01, exs[n]);
			ck_assert_msg(g > 0 && isfinite(g), "%s on %u: %g", dnnq_peak_name(k), n + 1, g);
		}
	}
	for (unsigned n = 0; n < 2; n++) {
		double g = dnnq_peak_copy_gbps(0.01, exs[n]);
		ck_assert_msg(g > 0 && isfinite(g), "memcpy on %u: %g", n + 1, g);
	}
	dnnq_pool_destroy(pool);
}
END_TEST

Suite *suite_gemm(void)
{
	Suite *s = suite_create("gemm");
	TCase *tc = tcase_create("simd");
	tcase_add_loop_test(tc, simd_matches_scalar_all_small_sizes, 1, 68);
	tcase_add_test(tc, simd_matches_scalar_larger_odd_sizes);
	tcase_add_loop_test(tc, simd_matches_scalar_paired_weights, 0, 8);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	tc = tcase_create("exact");
	tcase_add_test(tc, no_saturation_at_extremes);
	tcase_add_test(tc, sign_and_plain_paths_are_exact);
	tcase_add_test(tc, sign_scan_finds_one_byte);
	tcase_add_loop_test(tc, sign_trick_extremes_are_exact, 1, 22);
	tcase_add_loop_test(tc, sign_tiles_direct_groups_are_exact, 0, 4);
	tcase_add_loop_test(tc, paired_groups_are_exact, 0, 6);
	tcase_add_loop_test(tc, paired_group_edges_are_exact, 0, 8);
	tcase_add_test(tc, paired_group_window_is_exact);
	tcase_add_loop_test(tc, u8_requant_bounds_match_scalar, 1, 10);
	tcase_add_test(tc, packing);
	tcase_add_test(tc, opposite_sign_pairs_are_safe);
	tcase_add_loop_test(tc, thread_count_does_not_change_results, 0, 4);
	tcase_add_loop_test(tc, sign_rows_mixed_tiles_match_scalar, 0, 13);
	tcase_add_test(tc, even_pieces_cover_and_balance);
	tcase_add_test(tc, column_chunks_balance);
	tcase_add_test(tc, argument_errors);
	tcase_add_test(tc, peaks_are_measured);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	tc = tcase_create("acc16");
	tcase_add_loop_test(tc, acc16_equals_acc32_without_outliers, 1, 68);
	tcase_add_test(tc, acc16_outliers_exact);
	tcase_add_test(tc, acc16_saturation_detected);
	tcase_add_loop_test(tc, acc16_simd_matches_scalar, 0, 64);
	tcase_add_test(tc, acc16_pack_errors);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}
