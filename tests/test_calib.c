/*
 * Post-training calibration (calibration/): the histogram observer (exact
 * re-binning, merges equal to the whole), the range methods against the
 * known answers (the optimum uniform quantizer of a Gaussian at 1 and 2
 * bits, L2 never worse than min/max, the clipping gain on Laplace data),
 * options and degenerate data, per-channel weights, and the .npy reader and
 * writer against malformed, truncated and corrupted files.
 */
#include <check.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calibration/calib-internal.h"
#include "engine/base.h"
#include "calibration/hist.h"
#include "calibration/hist-kernels.h"
#include "calibration/npy.h"
#include "calibration/range.h"
#include "onnx/cli.h"
#include "tests/rng.h"
#include "tests/suites.h"

enum dist { GAUSS, LAPLACE, UNIFORM, EXPON, RELU, BIMODAL, NDIST };
static const char *const dist_names[NDIST] = {
	"gaussian", "laplace", "uniform", "exponential", "relu-gaussian", "bimodal",
};

static double laplace(struct rng *r)
{
	double u = rng_unit(r) - 0.5;
	return (u < 0 ? 1 : -1) * log(1 - 2 * fabs(u));
}

static double draw(struct rng *r, enum dist d)
{
	switch (d) {
	case LAPLACE: return laplace(r);
	case UNIFORM: return rng_uniform(r, -1, 1);
	case EXPON:   return -log(1 - rng_unit(r));
	case RELU:    return fmax(rng_gauss(r), 0);
	case BIMODAL: return rng_gauss(r) * 0.5 + (rng_unit(r) < 0.3 ? -3 : 2);
	default:      return rng_gauss(r);
	}
}

static float *make_data(enum dist d, size_t n, uint64_t seed)
{
	float *x = malloc(n * sizeof *x);
	ck_assert_ptr_nonnull(x);
	struct rng r = { seed };
	for (size_t i = 0; i < n; i++)
		x[i] = (float)draw(&r, d);
	return x;
}

static void hist_of(struct dnnq_hist *h, const float *x, size_t n, uint32_t nbins)
{
	ck_assert_int_eq(dnnq_hist_init(h, nbins, NULL), 0);
	ck_assert_int_eq(dnnq_hist_add(h, x, n), 0);
}

static struct dnnq_calib_opts opts(enum dnnq_calib_method m, unsigned bits, bool sym, bool sgn)
{
	struct dnnq_calib_opts o = {
		m, { sym ? DNNQ_QSCHEME_SYMMETRIC : DNNQ_QSCHEME_ASYMMETRIC, (uint8_t)bits, sgn, false }, 0,
	};
	return o;
}

/* SQNR of x quantized with the parameters the method picks from h. */
static double sqnr_of(const float *x, size_t n, const struct dnnq_hist *h,
                      const struct dnnq_calib_opts *o)
{
	struct dnnq_qparams qp;
	struct dnnq_diag d = { "" };
	int32_t *q = malloc(n * sizeof *q);
	float *y = malloc(n * sizeof *y);
	ck_assert_msg(dnnq_calib_qparams(h, o, &qp, NULL, NULL, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(dnnq_quantize(dnnq_isa_best(), x, q, DNNQ_DTYPE_S32, n, &qp), 0);
	ck_assert_int_eq(dnnq_dequantize(dnnq_isa_best(), q, DNNQ_DTYPE_S32, y, n, &qp), 0);
	double s = dnnq_sqnr_db(x, y, n);
	free(q);
	free(y);
	return s;
}

/* ---- histogram ---- */

/* Values over many scales, with NaN and infinities sprinkled in. */
static float *mixed_data(size_t n, uint64_t seed)
{
	float *x = malloc(n * sizeof *x);
	struct rng r = { seed };
	for (size_t i = 0; i < n; i++) {
		switch (rng_int(&r, 0, 40)) {
		case 0:  x[i] = NAN; break;
		case 1:  x[i] = rng_int(&r, 0, 1) ? INFINITY : -INFINITY; break;
		case 2:  x[i] = rng_int(&r, 0, 1) ? 0.0f : -0.0f; break;
		default: x[i] = (float)(rng_gauss(&r) * pow(10, rng_uniform(&r, -3, 3)));
		}
	}
	return x;
}

/* h gets x[a..b) in batches of random sizes. */
static void add_batches(struct dnnq_hist *h, const float *x, size_t a, size_t b, struct rng *r)
{
	while (a < b) {
		size_t k = (size_t)rng_int(r, 1, 3000);
		k = k < b - a ? k : b - a;
		ck_assert_int_eq(dnnq_hist_add(h, x + a, k), 0);
		a += k;
	}
}

START_TEST(hist_merge_of_halves_equals_whole)
{
	enum { N = 60000 };
	static const uint32_t nbins[3] = { 16, 2048, 0 };
	float *x = mixed_data(N, 77);
	struct rng r = { 5 };
	for (int b = 0; b < 3; b++) {
		for (int t = 0; t < 6; t++) {
			size_t cut = t == 0 ? 0 : t == 1 ? N : (size_t)rng_int(&r, 1, N - 1);
			struct dnnq_hist whole, lo, hi, lo2, hi2;
			ck_assert_int_eq(dnnq_hist_init(&whole, nbins[b], NULL), 0);
			ck_assert_int_eq(dnnq_hist_init(&lo, nbins[b], NULL), 0);
			ck_assert_int_eq(dnnq_hist_init(&hi, nbins[b], NULL), 0);
			ck_assert_int_eq(dnnq_hist_init(&lo2, nbins[b], NULL), 0);
			ck_assert_int_eq(dnnq_hist_init(&hi2, nbins[b], NULL), 0);
			add_batches(&whole, x, 0, N, &r);
			add_batches(&lo, x, 0, cut, &r);
			add_batches(&hi, x, cut, N, &r);
			add_batches(&lo2, x, 0, cut, &r);
			add_batches(&hi2, x, cut, N, &r);
			ck_assert_int_eq(dnnq_hist_merge(&lo, &hi, NULL), 0);    /* lo + hi */
			ck_assert_int_eq(dnnq_hist_merge(&hi2, &lo2, NULL), 0);  /* hi + lo */
			ck_assert_msg(dnnq_hist_equal(&lo, &whole), "nbins %u cut %zu: lo+hi != whole",
			              nbins[b], cut);
			ck_assert_msg(dnnq_hist_equal(&hi2, &whole), "nbins %u cut %zu: hi+lo != whole",
			              nbins[b], cut);
			ck_assert_uint_eq(whole.nfinite + whole.nnan + whole.nposinf + whole.nneginf, N);
			dnnq_hist_destroy(&whole);
			dnnq_hist_destroy(&lo);
			dnnq_hist_destroy(&hi);
			dnnq_hist_destroy(&lo2);
			dnnq_hist_destroy(&hi2);
		}
	}
	free(x);
}
END_TEST

/* Eight workers, each a slice, merged as a tree: still the whole. */
START_TEST(hist_tree_merge_equals_whole)
{
	enum { N = 40000, W = 8 };
	float *x = mixed_data(N, 91);
	struct dnnq_hist whole, part[W];
	struct rng r = { 6 };
	ck_assert_int_eq(dnnq_hist_init(&whole, 64, NULL), 0);
	add_batches(&whole, x, 0, N, &r);
	for (int w = 0; w < W; w++) {
		ck_assert_int_eq(dnnq_hist_init(&part[w], 64, NULL), 0);
		add_batches(&part[w], x, (size_t)w * N / W, (size_t)(w + 1) * N / W, &r);
	}
	for (int step = 1; step < W; step *= 2)
		for (int w = 0; w + step < W; w += 2 * step)
			ck_assert_int_eq(dnnq_hist_merge(&part[w], &part[w + step], NULL), 0);
	ck_assert(dnnq_hist_equal(&part[0], &whole));
	for (int w = 0; w < W; w++)
		dnnq_hist_destroy(&part[w]);
	dnnq_hist_destroy(&whole);
	free(x);
}
END_TEST

/* Re-binning is exact: the incremental histogram equals one built in a
 * single pass on its final grid, and widths are powers of two. */
START_TEST(hist_rebinning_is_exact)
{
	enum { N = 20000, B = 128 };
	float *x = mixed_data(N, 3);
	struct dnnq_hist h;
	ck_assert_int_eq(dnnq_hist_init(&h, B, NULL), 0);
	int32_t last_exp = INT32_MIN;
	for (size_t a = 0; a < N; a += 500) {
		ck_assert_int_eq(dnnq_hist_add(&h, x + a, 500), 0);
		ck_assert_int_ge(h.exp, last_exp);            /* the grid only coarsens */
		last_exp = h.exp;
	}
	uint64_t ref[B] = { 0 };
	for (size_t i = 0; i < N; i++) {
		if (!isfinite(x[i]))
			continue;
		int64_t k = (int64_t)floor(ldexp(x[i], -h.exp)) - h.base;
		ck_assert(k >= 0 && k < B);
		ref[k]++;
	}
	ck_assert_mem_eq(ref, h.counts, sizeof ref);
	ck_assert(h.min <= dnnq_hist_edge(&h, 1) && h.max >= dnnq_hist_edge(&h, 0));
	ck_assert(h.max < dnnq_hist_edge(&h, B));
	ck_assert_double_eq(dnnq_hist_edge(&h, 1) - dnnq_hist_edge(&h, 0), ldexp(1, h.exp));
	dnnq_hist_destroy(&h);
	free(x);
}
END_TEST

START_TEST(hist_grid_is_canonical)
{
	struct rng r = { 12 };
	for (int it = 0; it < 20000; it++) {
		uint32_t nb = (uint32_t)rng_int(&r, 2, 5000);
		double a = rng_gauss(&r) * pow(10, rng_uniform(&r, -30, 30));
		double b = a + fabs(rng_gauss(&r)) * pow(10, rng_uniform(&r, -30, 30));
		a = (float)a;
		b = (float)b;
		if (a > b)
			continue;
		int32_t e, e2;
		int64_t base, base2;
		dnnq_hist_grid(a, b, nb, &e, &base);
		int64_t last = (int64_t)floor(ldexp(b, -e));
		ck_assert_int_le(last - base, (int64_t)nb - 1);          /* it fits */
		ck_assert_int_eq(base, (int64_t)floor(ldexp(a, -e)));
		/* and the smallest width fits only that */
		ck_assert((int64_t)floor(ldexp(b, -(e - 1))) - (int64_t)floor(ldexp(a, -(e - 1)))
		          > (int64_t)nb - 1 || fabs(a) + fabs(b) == 0 ||
		          ilogb(fmax(fabs(a), fabs(b))) - 51 >= e);
		/* a wider range never gets a finer grid */
		dnnq_hist_grid(a - fabs(rng_gauss(&r)) * fabs(a), b, nb, &e2, &base2);
		ck_assert_int_ge(e2, e);
	}
}
END_TEST

START_TEST(hist_nonfinite_and_signed_zero)
{
	struct dnnq_hist h, g;
	const float x[] = { NAN, INFINITY, -INFINITY, NAN, -0.0f, 2.5f };
	ck_assert_int_eq(dnnq_hist_init(&h, 0, NULL), 0);
	ck_assert_uint_eq(h.nbins, DNNQ_HIST_DEFAULT_BINS);
	ck_assert_int_eq(dnnq_hist_add(&h, x, 4), 0);       /* nothing finite yet */
	ck_assert_uint_eq(h.nfinite, 0);
	ck_assert_uint_eq(h.nnan, 2);
	ck_assert_uint_eq(h.nposinf, 1);
	ck_assert_uint_eq(h.nneginf, 1);
	ck_assert_int_eq(dnnq_hist_add(&h, x + 4, 2), 0);
	ck_assert_uint_eq(h.nfinite, 2);
	ck_assert(h.min == 0 && !signbit(h.min) && h.max == 2.5f);
	/* -0 then +0 or +0 then -0: the same histogram */
	const float z[2] = { 0.0f, -0.0f }, z2[2] = { -0.0f, 0.0f };
	ck_assert_int_eq(dnnq_hist_init(&g, 0, NULL), 0);
	dnnq_hist_clear(&h);
	dnnq_hist_add(&h, z, 2);
	dnnq_hist_add(&g, z2, 2);
	ck_assert(dnnq_hist_equal(&h, &g));
	ck_assert_int_eq(dnnq_hist_add(&h, NULL, 1), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_hist_add(&h, NULL, 0), 0);
	dnnq_hist_destroy(&h);
	dnnq_hist_destroy(&g);
}
END_TEST

/* dnnq_hist_add's AVX2 passes against the scalar ones they must equal:
 * every length from 0 to 40 (vector steps and tails), then long blocks of
 * Gaussian data sprinkled with NaN, infinities, zeros of both signs,
 * subnormals, values on bin edges and the largest floats, on grids from
 * the finest to a coarse one. */
START_TEST(hist_kernels_agree)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return;
	enum { N = 5000 };
	static const float odd[] = { NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 0x1p-149f, -0x1p-140f,
	                             FLT_MAX, -FLT_MAX, 0.25f, -0.5f, 3.0f };
	static uint64_t ca[1 << 12], cb[1 << 12], cs[1 << 12];
	float *x = malloc(N * sizeof *x);
	ck_assert_ptr_nonnull(x);
	struct rng r = { 77 };
	for (int trial = 0; trial < 60; trial++) {
		size_t n = trial < 41 ? (size_t)trial : N - (size_t)trial;
		double sd = ldexp(1, (int)rng_int(&r, -20, 20));
		for (size_t i = 0; i < n; i++) {
			x[i] = (float)(rng_gauss(&r) * sd);
			if (rng_unit(&r) < (trial < 41 ? 0.2 : 0.002))
				x[i] = odd[rng_int(&r, 0, sizeof odd / sizeof *odd - 1)];
		}
		struct hist_scan a = HIST_SCAN_EMPTY, b = HIST_SCAN_EMPTY;
		hist_scan_scalar(&a, x, n);
		hist_scan_avx2(&b, x, n);
		ck_assert(a.lo == b.lo && a.hi == b.hi);
		ck_assert(a.finite == b.finite && a.nan == b.nan && a.posinf == b.posinf &&
		          a.neginf == b.neginf);
		if (!a.finite)
			continue;
		for (uint32_t nbins = 2; nbins <= 1 << 12; nbins *= 8) {
			int32_t e;
			int64_t base;
			dnnq_hist_grid(a.lo, a.hi, nbins, &e, &base);
			memset(ca, 0, sizeof ca);
			memset(cb, 0, sizeof cb);
			memset(cs, 0, sizeof cs);
			hist_count_scalar(ca, x, n, ldexp(1, -e), base);
			hist_count_avx2(cb, cs, x, n, ldexp(1, -e), base);
			for (uint32_t i = 0; i < nbins; i++)
				cb[i] += cs[i];
			ck_assert_msg(!memcmp(ca, cb, sizeof ca), "trial %d, %u bins", trial, nbins);
			memset(cb, 0, sizeof cb);       /* spare may be counts itself */
			hist_count_avx2(cb, cb, x, n, ldexp(1, -e), base);
			ck_assert_msg(!memcmp(ca, cb, sizeof ca), "trial %d, %u bins, one array", trial,
			              nbins);
		}
	}
	free(x);
}
END_TEST

START_TEST(hist_errors_name_the_field)
{
	struct dnnq_hist a, b;
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(dnnq_hist_init(&a, 1, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "nbins 1"));
	ck_assert_int_eq(dnnq_hist_init(&a, DNNQ_HIST_MAX_BINS + 1, NULL), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_hist_init(&a, 16, NULL), 0);
	ck_assert_int_eq(dnnq_hist_init(&b, 32, NULL), 0);
	ck_assert_int_eq(dnnq_hist_merge(&a, &b, &d), DNNQ_E_SHAPE);
	ck_assert_ptr_nonnull(strstr(d.msg, "nbins"));
	ck_assert_int_eq(dnnq_hist_merge(&a, NULL, NULL), DNNQ_E_INVAL);
	dnnq_hist_destroy(&a);
	dnnq_hist_destroy(&b);
}
END_TEST

/* ---- range methods: the known answers ---- */

/* The optimum uniform quantizer of N(0, 1): levels +-0.798 (1 bit), and
 * +-0.498, +-1.494 (2 bits), step 0.996 (Max 1960). */
START_TEST(l2_gaussian_optimum_levels)
{
	enum { N = 1000000 };
	float *x = make_data(GAUSS, N, 2024);
	struct dnnq_hist h;
	hist_of(&h, x, N, 0);
	float lo, hi;
	struct dnnq_calib_opts o = opts(DNNQ_CALIB_L2, 1, false, true);
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
	ck_assert_msg(fabs(hi - 0.798) <= 0.02 * 0.798 && fabs(lo + 0.798) <= 0.02 * 0.798,
	              "1 bit: levels %g, %g; want -+0.798", lo, hi);
	o = opts(DNNQ_CALIB_L2, 2, false, false);
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
	double step = (hi - lo) / 3.0;
	static const double want[4] = { -1.494, -0.498, 0.498, 1.494 };
	ck_assert_msg(fabs(step - 0.996) <= 0.02 * 0.996, "2 bits: step %g, want 0.996", step);
	for (int i = 0; i < 4; i++) {
		double level = lo + i * step;
		ck_assert_msg(fabs(level - want[i]) <= 0.02 * fabs(want[i]),
		              "2 bits: level %d at %g, want %g", i, level, want[i]);
	}
	/* L1 at 1 bit: the levels sit at the median of |x|, 0.6745 */
	o = opts(DNNQ_CALIB_L1, 1, false, true);
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
	ck_assert_msg(fabs(hi - 0.6745) <= 0.02 * 0.6745 && fabs(lo + 0.6745) <= 0.02 * 0.6745,
	              "L1 1 bit: levels %g, %g; want -+0.6745", lo, hi);
	dnnq_hist_destroy(&h);
	free(x);
}
END_TEST

/* On every distribution, bit width and scheme: exact L2 is never worse than
 * min/max, in the model (min/max is a candidate) and in measured SQNR. */
START_TEST(l2_never_worse_than_minmax)
{
	enum { N = 100000 };
	static const unsigned bits[3] = { 2, 4, 8 };
	for (int dd = 0; dd < NDIST; dd++) {
		float *x = make_data((enum dist)dd, N, 100 + (uint64_t)dd);
		struct dnnq_hist h;
		hist_of(&h, x, N, 0);
		for (int b = 0; b < 3; b++) {
			for (int sym = 0; sym < 2; sym++) {
				struct dnnq_calib_opts l2 = opts(DNNQ_CALIB_L2, bits[b], sym, sym);
				struct dnnq_calib_opts mm = opts(DNNQ_CALIB_MINMAX, bits[b], sym, sym);
				float lo, hi, mlo, mhi;
				ck_assert_int_eq(dnnq_calib_range(&h, &l2, &lo, &hi, NULL), 0);
				ck_assert_int_eq(dnnq_calib_range(&h, &mm, &mlo, &mhi, NULL), 0);
				double el2 = dnnq_calib_model_error(&h, &l2, lo, hi, 2);
				double emm = dnnq_calib_model_error(&h, &l2, mlo, mhi, 2);
				ck_assert_msg(el2 >= 0 && el2 <= emm * (1 + 1e-9),
				              "%s %u-bit %s: model error %g > min/max %g", dist_names[dd],
				              bits[b], sym ? "sym" : "asym", el2, emm);
				double s2 = sqnr_of(x, N, &h, &l2), sm = sqnr_of(x, N, &h, &mm);
				ck_assert_msg(s2 >= sm - 0.1, "%s %u-bit %s: L2 %.3f dB < min/max %.3f dB",
				              dist_names[dd], bits[b], sym ? "sym" : "asym", s2, sm);
			}
		}
		dnnq_hist_destroy(&h);
		free(x);
	}
}
END_TEST

/* The asymmetric search (a coarse grid of edges, then halving steps) finds
 * the same modelled optimum as trying every pair of bin edges. 512 bins put
 * some 250 edges on a side, more than the 128 of the coarse grid. */
START_TEST(l2_search_matches_brute_force)
{
	enum { N = 50000 };
	static const enum dist ds[3] = { LAPLACE, BIMODAL, GAUSS };
	for (int k = 0; k < 3; k++) {
		float *x = make_data(ds[k], N, 700 + (uint64_t)k);
		struct dnnq_hist h;
		hist_of(&h, x, N, 512);
		double w = ldexp(1, h.exp), best = INFINITY;
		for (unsigned b = 3 + (unsigned)k; b <= 3 + (unsigned)k; b++) {
			struct dnnq_calib_opts o = opts(ds[k] == GAUSS ? DNNQ_CALIB_L1 : DNNQ_CALIB_L2, b,
			                                false, false);
			int norm = ds[k] == GAUSS ? 1 : 2;
			best = INFINITY;
			for (double lo = floor(h.min / w) * w; lo <= 0; lo += w) {
				for (double hi = ceil(h.max / w) * w; hi >= 0; hi -= w) {
					float l = (float)fmax(lo, h.min), u = (float)fmin(hi, h.max);
					best = fmin(best, dnnq_calib_model_error(&h, &o, l, u, norm));
				}
			}
			float lo, hi;
			ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
			double e = dnnq_calib_model_error(&h, &o, lo, hi, norm);
			ck_assert_msg(e <= best * (1 + 1e-12), "%s %u-bit: search %.9g, every pair %.9g",
			              dist_names[ds[k]], b, e, best);
		}
		dnnq_hist_destroy(&h);
		free(x);
	}
}
END_TEST

/* The searches pass the best cost so far to model_err, which may stop
 * once the sum can no longer come back below it. That must never change a
 * comparison: below the bound the result is the full sum bit for bit, and
 * a full sum below the bound is never cut short. Every norm, precisions
 * from 1 to 16 bits, candidates all over the view, bounds at, just around
 * and far from each full sum (and a histogram whose extremes sit a hair
 * inside grid bins, for the narrowest bins a view has). */
START_TEST(model_err_early_exit_is_exact)
{
	enum { N = 20000 };
	static const unsigned bits[] = { 1, 2, 4, 8, 16 };
	static const double scale[] = { 0.25, 0.9, 1 - 1e-15, 1, 1 + 1e-15, 1.1, 4 };
	for (int dd = 0; dd < NDIST + 1; dd++) {
		float *x = make_data(dd < NDIST ? (enum dist)dd : GAUSS, N, 900 + (uint64_t)dd);
		if (dd == NDIST) {               /* extremes a hair inside their bins */
			x[0] = nextafterf(-4.0f, 0);
			x[1] = nextafterf(4.0f, 8);
		}
		struct dnnq_hist h;
		struct cview v;
		hist_of(&h, x, N, 256);
		ck_assert_int_eq(cview_build(&h, &v), 0);
		size_t cuts = 0;
		for (size_t b = 0; b < sizeof bits / sizeof *bits; b++) {
			for (int norm = 1; norm <= 2; norm++) {
				for (size_t i = 0; i <= v.izero; i += 1 + v.izero / 9) {
					for (size_t j = v.n; j >= v.izero && j <= v.n; j -= 1 + (v.n - v.izero) / 9) {
						struct qmodel q = qmodel_asym(v.edge[i], v.edge[j], bits[b], norm);
						double full = model_err(&v, &q, INFINITY);
						for (size_t k = 0; k < sizeof scale / sizeof *scale; k++) {
							double bound = full * scale[k], e = model_err(&v, &q, bound);
							if (full < bound)
								ck_assert_msg(e == full, "%s %u-bit L%d [%zu, %zu]: %.17g "
								              "under bound %.17g, full %.17g", dist_names[dd % NDIST],
								              bits[b], norm, i, j, e, bound, full);
							else
								ck_assert(e >= bound);
							cuts += e != full;
						}
					}
				}
			}
		}
		ck_assert_uint_gt(cuts, 0);        /* the exit was taken */
		cview_free(&v);
		dnnq_hist_destroy(&h);
		free(x);
	}
}
END_TEST

/* model_err's saws in AVX2 against the plain C, bit for bit: both norms,
 * every run length up to 70 (vector steps and tails), edges on levels, on
 * half levels (rounding ties), a hair off them (t t underflowing), and
 * anywhere, for steps from 2^-30 to 2^10. */
START_TEST(saws_agree)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return;
	double x[70], a[70], b[70];
	struct rng r = { 4242 };
	for (int trial = 0; trial < 400; trial++) {
		size_t n = (size_t)trial % 71;
		int p = 1 + trial % 2;
		double s = ldexp(rng_uniform(&r, 1, 2), (int)rng_int(&r, -30, 10));
		double lo = -s * (double)rng_int(&r, 0, 255);
		for (size_t k = 0; k < n; k++) {
			double u = (double)rng_int(&r, 0, 255) + (double)rng_int(&r, 0, 1) / 2;
			switch (rng_int(&r, 0, 3)) {
			case 0: x[k] = lo + u * s; break;
			case 1: x[k] = nextafter(lo + u * s, rng_int(&r, 0, 1) ? INFINITY : -INFINITY); break;
			case 2: x[k] = lo + (u + ldexp(1, (int)rng_int(&r, -1074, -500))) * s; break;
			default: x[k] = lo + rng_uniform(&r, 0, 255) * s;
			}
		}
		saws_scalar(x, n, lo, s, p, a);
		saws_avx2(x, n, lo, s, p, b);
		ck_assert_msg(!memcmp(a, b, n * sizeof *a), "trial %d: n %zu, L%d", trial, n, p);
	}
}
END_TEST

/* Symmetric: with more candidates (grid edges below max|x|) than it scores
 * one by one (2048), the strided search still finds the best of them all. */
START_TEST(symmetric_search_matches_brute_force)
{
	enum { N = 50000 };
	float *x = make_data(LAPLACE, N, 808);
	struct dnnq_hist h;
	hist_of(&h, x, N, 8192);
	double w = ldexp(1, h.exp), amax = fmax(-h.min, h.max);
	ck_assert_int_gt((int)(amax / w), 2048);
	struct dnnq_calib_opts o = opts(DNNQ_CALIB_L2, 6, true, true);
	double best = dnnq_calib_model_error(&h, &o, -(float)amax, (float)amax, 2);
	for (double a = w; a < amax; a += w)
		best = fmin(best, dnnq_calib_model_error(&h, &o, (float)-a, (float)a, 2));
	float lo, hi;
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
	double e = dnnq_calib_model_error(&h, &o, lo, hi, 2);
	ck_assert_msg(e <= best * (1 + 1e-12), "search %.9g, every candidate %.9g", e, best);
	dnnq_hist_destroy(&h);
	free(x);
}
END_TEST

/* Laplace data has long tails: clipping them pays (the optimum is about
 * +2.4 dB at 8 bits and +7.3 dB at 4 bits over min/max). */
START_TEST(laplace_clipping_gains)
{
	enum { N = 1000000 };
	float *x = make_data(LAPLACE, N, 31337);
	struct dnnq_hist h;
	hist_of(&h, x, N, 0);
	for (int sym = 0; sym < 2; sym++) {
		const char *scheme = sym ? "symmetric" : "asymmetric";
		struct dnnq_calib_opts o = opts(DNNQ_CALIB_MINMAX, 8, sym, sym);
		double m8 = sqnr_of(x, N, &h, &o);
		o = opts(DNNQ_CALIB_MINMAX, 4, sym, sym);
		double m4 = sqnr_of(x, N, &h, &o);
		o = opts(DNNQ_CALIB_L2, 8, sym, sym);
		double l8 = sqnr_of(x, N, &h, &o);
		o = opts(DNNQ_CALIB_L2, 4, sym, sym);
		double l4 = sqnr_of(x, N, &h, &o);
		o = opts(DNNQ_CALIB_KL, 4, sym, sym);
		double k4 = sqnr_of(x, N, &h, &o);
		ck_assert_msg(l8 - m8 >= 2, "%s 8-bit: L2 %.2f dB, min/max %.2f dB", scheme, l8, m8);
		ck_assert_msg(l4 - m4 >= 6, "%s 4-bit: L2 %.2f dB, min/max %.2f dB", scheme, l4, m4);
		ck_assert_msg(k4 > m4, "%s 4-bit: KL %.2f dB, min/max %.2f dB", scheme, k4, m4);
	}
	dnnq_hist_destroy(&h);
	free(x);
}
END_TEST

START_TEST(l2approx_close_to_exact)
{
	enum { N = 200000 };
	static const enum dist ds[3] = { GAUSS, LAPLACE, BIMODAL };
	for (int k = 0; k < 3; k++) {
		float *x = make_data(ds[k], N, 55 + (uint64_t)k);
		struct dnnq_hist h;
		hist_of(&h, x, N, 0);
		for (unsigned b = 4; b <= 8; b += 4) {
			for (int sym = 0; sym < 2; sym++) {
				struct dnnq_calib_opts ap = opts(DNNQ_CALIB_L2_APPROX, b, sym, sym);
				struct dnnq_calib_opts ex = opts(DNNQ_CALIB_L2, b, sym, sym);
				struct dnnq_calib_opts mm = opts(DNNQ_CALIB_MINMAX, b, sym, sym);
				double sa = sqnr_of(x, N, &h, &ap), se = sqnr_of(x, N, &h, &ex);
				double sm = sqnr_of(x, N, &h, &mm);
				ck_assert_msg(sa >= se - 0.5 && sa >= sm - 0.1,
				              "%s %u-bit %s: l2approx %.2f dB, l2 %.2f, min/max %.2f",
				              dist_names[ds[k]], b, sym ? "sym" : "asym", sa, se, sm);
			}
		}
		dnnq_hist_destroy(&h);
		free(x);
	}
}
END_TEST

START_TEST(percentile_ranges)
{
	enum { N = 10000 };
	float *x = malloc(N * sizeof *x);
	for (int i = 0; i < N; i++)
		x[i] = (float)(i - N / 2) + 0.5f;       /* -4999.5 .. 4999.5, one each */
	struct dnnq_hist h;
	hist_of(&h, x, N, 0);
	float lo, hi;
	struct dnnq_calib_opts o = opts(DNNQ_CALIB_PERCENTILE, 8, false, false);
	o.percentile = 99;
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
	ck_assert_msg(fabs(hi - 4900) <= 5 && fabs(lo + 4900) <= 5, "P99: [%g, %g]", lo, hi);
	o = opts(DNNQ_CALIB_PERCENTILE, 8, true, true);
	o.percentile = 90;                              /* |x| <= 4500 holds 90 % */
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
	ck_assert_msg(fabs(hi - 4500) <= 5 && lo == -hi, "|x| P90: [%g, %g]", lo, hi);
	o.percentile = 100;
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
	ck_assert_float_eq(hi, 4999.5f);
	/* the default, 99.99, on one-sided data: the range starts at 0 */
	for (int i = 0; i < N; i++)
		x[i] = (float)i;
	dnnq_hist_clear(&h);
	dnnq_hist_add(&h, x, N);
	o = opts(DNNQ_CALIB_PERCENTILE, 8, false, false);
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
	ck_assert_msg(lo == 0 && fabs(hi - 9998) <= 2, "P99.99 of 0..9999: [%g, %g]", lo, hi);
	dnnq_hist_destroy(&h);
	free(x);
}
END_TEST

/* KL on a Gaussian clips some tail at 8 bits, more at 4. */
START_TEST(kl_thresholds)
{
	enum { N = 500000 };
	float *x = make_data(GAUSS, N, 4242);
	struct dnnq_hist h;
	hist_of(&h, x, N, 0);
	float lo8, hi8, lo4, hi4;
	struct dnnq_calib_opts o = opts(DNNQ_CALIB_KL, 8, true, true);
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo8, &hi8, NULL), 0);
	o.spec.precision = 4;
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo4, &hi4, NULL), 0);
	double amax = fmax(-h.min, h.max);
	ck_assert_msg(hi8 > 3 && hi8 <= amax && lo8 == -hi8, "8-bit KL threshold %g", hi8);
	ck_assert_msg(hi4 > 1.5 && hi4 < hi8, "4-bit KL threshold %g (8-bit %g)", hi4, hi8);
	o = opts(DNNQ_CALIB_KL, 8, false, false);
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo8, &hi8, NULL), 0);
	ck_assert_msg(lo8 < -3 && hi8 > 3 && lo8 >= h.min && hi8 <= h.max,
	              "8-bit asymmetric KL range [%g, %g]", lo8, hi8);
	/* 12 bits: more levels than bins, nothing to clip */
	o.spec.precision = 12;
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo8, &hi8, NULL), 0);
	ck_assert(lo8 == h.min && hi8 == h.max);
	dnnq_hist_destroy(&h);
	free(x);
}
END_TEST

START_TEST(degenerate_data)
{
	struct dnnq_hist h;
	struct dnnq_qparams qp;
	float lo, hi;
	ck_assert_int_eq(dnnq_hist_init(&h, 64, NULL), 0);
	for (int m = 0; m < DNNQ_CALIB_METHOD_COUNT; m++) {
		for (int sym = 0; sym < 2; sym++) {
			struct dnnq_calib_opts o = opts((enum dnnq_calib_method)m, 8, sym, false);
			dnnq_hist_clear(&h);                      /* empty */
			ck_assert_int_eq(dnnq_calib_qparams(&h, &o, &qp, &lo, &hi, NULL), 0);
			ck_assert(lo == 0 && hi == 0 && qp.scale == 1.0f);
			const float nan[3] = { NAN, NAN, INFINITY };
			dnnq_hist_add(&h, nan, 3);
			ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
			ck_assert(lo == 0 && hi == 0);
			const float c[4] = { 3.5f, 3.5f, 3.5f, 3.5f };
			dnnq_hist_add(&h, c, 4);                  /* a constant */
			ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
			ck_assert_msg(lo == (sym ? -3.5f : 0) && hi == 3.5f, "%s: [%g, %g]",
			              dnnq_calib_method_name(m), lo, hi);
			const float neg[2] = { -2, -2 };
			dnnq_hist_clear(&h);
			dnnq_hist_add(&h, neg, 2);
			ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
			ck_assert(lo == -2 && hi == (sym ? 2 : 0));
		}
	}
	dnnq_hist_destroy(&h);
}
END_TEST

/* One-sided data (ReLU outputs) keeps 0 as the range's lower end. */
START_TEST(one_sided_ranges_start_at_zero)
{
	enum { N = 100000 };
	float *x = make_data(RELU, N, 8);
	struct dnnq_hist h;
	hist_of(&h, x, N, 0);
	for (int m = 0; m < DNNQ_CALIB_METHOD_COUNT; m++) {
		for (unsigned b = 2; b <= 8; b *= 2) {
			struct dnnq_calib_opts o = opts((enum dnnq_calib_method)m, b, false, false);
			struct dnnq_qparams qp;
			float lo, hi;
			ck_assert_int_eq(dnnq_calib_qparams(&h, &o, &qp, &lo, &hi, NULL), 0);
			ck_assert_msg(lo == 0 && hi > 0 && hi <= h.max && qp.zero_point == 0,
			              "%s %u-bit: [%g, %g] zp %d", dnnq_calib_method_name(m), b, lo, hi,
			              qp.zero_point);
		}
	}
	dnnq_hist_destroy(&h);
	free(x);
}
END_TEST

/* Every method at every precision, signed or not, symmetric or not: a
 * finite range that holds 0 and parameters that pass their own check. */
START_TEST(every_method_every_precision)
{
	enum { N = 20000 };
	float *x = make_data(BIMODAL, N, 17);
	struct dnnq_hist h;
	hist_of(&h, x, N, 256);
	for (int m = 0; m < DNNQ_CALIB_METHOD_COUNT; m++) {
		for (unsigned b = 1; b <= 16; b++) {
			for (int k = 0; k < 4; k++) {
				bool sym = k & 1, sgn = k & 2;
				if (sym && b < 2)
					continue;
				struct dnnq_calib_opts o = opts((enum dnnq_calib_method)m, b, sym, sgn);
				struct dnnq_qparams qp;
				struct dnnq_diag d = { "" };
				float lo, hi;
				ck_assert_msg(dnnq_calib_qparams(&h, &o, &qp, &lo, &hi, &d) == 0, "%s", d.msg);
				double amax = fmax(-h.min, h.max) + 1e-3;
				ck_assert_msg(isfinite(lo) && isfinite(hi) && lo <= 0 && hi >= 0 &&
				              lo >= -amax && hi <= amax, "%s %u-bit k=%d: [%g, %g]",
				              dnnq_calib_method_name(m), b, k, lo, hi);
				ck_assert_int_eq(dnnq_qparams_check(&qp, DNNQ_DTYPE_S32, NULL), 0);
				ck_assert_uint_eq(qp.precision, b);
			}
		}
	}
	dnnq_hist_destroy(&h);
	free(x);
}
END_TEST

/* The float extremes and subnormals: sane ranges, no overflow anywhere. */
START_TEST(extreme_values)
{
	static const float sets[4][6] = {
		{ -FLT_MAX, FLT_MAX, 0, 1, -1, 2 },
		{ 1e-45f, 2e-45f, 3e-45f, 1e-45f, 0, 4e-45f },
		{ 1e30f, 1.0000001e30f, 1e30f, 1.0000002e30f, 1e30f, 1e30f },
		{ -FLT_MAX, -FLT_MAX, -1e-45f, -3.4e38f, -1, -2 },
	};
	for (int k = 0; k < 4; k++) {
		struct dnnq_hist h;
		hist_of(&h, sets[k], 6, 64);
		for (int m = 0; m < DNNQ_CALIB_METHOD_COUNT; m++) {
			for (unsigned b = 1; b <= 16; b += 5) {
				for (int sym = 0; sym < 2 - (b < 2); sym++) {
					struct dnnq_calib_opts o;
					struct dnnq_qparams qp;
					o = opts((enum dnnq_calib_method)m, b, sym, false);
					float lo, hi;
					ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), 0);
					ck_assert(isfinite(lo) && isfinite(hi) && lo <= 0 && hi >= 0);
					int rc = dnnq_calib_qparams(&h, &o, &qp, &lo, &hi, NULL);
					/* DNNQ_E_RANGE: too wide for a float scale */
					ck_assert(rc == 0 || rc == DNNQ_E_RANGE);
					ck_assert(dnnq_calib_model_error(&h, &o, lo, hi, 2) >= 0);
				}
			}
		}
		dnnq_hist_destroy(&h);
	}
}
END_TEST

START_TEST(options_are_checked)
{
	struct dnnq_hist h;
	struct dnnq_diag d = { "" };
	float lo, hi;
	const float x[3] = { -1, 0.5f, 2 };
	hist_of(&h, x, 3, 0);
	struct dnnq_calib_opts o = opts(DNNQ_CALIB_L2, 0, false, false);
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, &d), DNNQ_E_INVAL);
	ck_assert_ptr_nonnull(strstr(d.msg, "precision 0"));
	o.spec.precision = 17;
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, &d), DNNQ_E_INVAL);
	ck_assert_ptr_nonnull(strstr(d.msg, "precision 17"));
	o = opts(DNNQ_CALIB_L2, 1, true, true);
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, &d), DNNQ_E_INVAL);
	ck_assert_ptr_nonnull(strstr(d.msg, "symmetric"));
	o = opts(DNNQ_CALIB_L2, 1, false, true);
	o.spec.scheme = DNNQ_QSCHEME_PRESERVE_SPARSITY;    /* both signs: symmetric */
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, &d), DNNQ_E_INVAL);
	o = opts(DNNQ_CALIB_PERCENTILE, 8, false, false);
	o.percentile = 30;
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "percentile 30"));
	o.percentile = NAN;
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, NULL), DNNQ_E_RANGE);
	o = opts((enum dnnq_calib_method)42, 8, false, false);
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, &d), DNNQ_E_INVAL);
	ck_assert_ptr_nonnull(strstr(d.msg, "method 42"));
	o = opts(DNNQ_CALIB_L2, 1, false, false);
	o.spec.reduce_range = true;
	ck_assert_int_eq(dnnq_calib_range(&h, &o, &lo, &hi, &d), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_calib_range(&h, NULL, &lo, &hi, NULL), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_calib_range(NULL, &o, &lo, &hi, NULL), DNNQ_E_INVAL);
	for (int m = 0; m < DNNQ_CALIB_METHOD_COUNT; m++) {
		enum dnnq_calib_method back;
		ck_assert_int_eq(dnnq_calib_method_parse(dnnq_calib_method_name(m), &back), 0);
		ck_assert_int_eq(back, m);
	}
	enum dnnq_calib_method back;
	ck_assert_int_eq(dnnq_calib_method_parse("entropy", &back), DNNQ_E_INVAL);
	ck_assert_ptr_null(dnnq_calib_method_name(DNNQ_CALIB_METHOD_COUNT));
	/* reduce_range: one bit less in the parameters */
	struct dnnq_qparams qp;
	o = opts(DNNQ_CALIB_L2, 8, false, false);
	o.spec.reduce_range = true;
	ck_assert_int_eq(dnnq_calib_qparams(&h, &o, &qp, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(qp.precision, 7);
	dnnq_hist_destroy(&h);
}
END_TEST

/* ---- weights ---- */

START_TEST(per_channel_weights)
{
	enum { R = 6, C = 500 };
	float *w = malloc(R * C * sizeof *w);
	struct rng r = { 99 };
	for (int i = 0; i < R; i++)
		for (int j = 0; j < C; j++)
			w[i * C + j] = (float)(rng_gauss(&r) * pow(4, i - 2));
	w[3 * C + 7] = NAN;                                   /* ignored */
	float mins[R], maxs[R];
	struct dnnq_qparams qp[R];
	struct dnnq_calib_opts o = opts(DNNQ_CALIB_MINMAX, 8, true, true);
	ck_assert_int_eq(dnnq_calib_per_channel(w, R, C, &o, 0, mins, maxs, qp, NULL), 0);
	for (int i = 0; i < R; i++) {
		float lo = INFINITY, hi = -INFINITY;
		for (int j = 0; j < C; j++)
			if (isfinite(w[i * C + j])) {
				lo = fminf(lo, w[i * C + j]);
				hi = fmaxf(hi, w[i * C + j]);
			}
		float a = fmaxf(-lo, hi);
		ck_assert(maxs[i] == a && mins[i] == -a && qp[i].zero_point == 0);
		ck_assert_float_eq_tol(qp[i].scale, a / 127, a * 1e-7);
	}
	/* L2 per row equals calibrating each row on its own */
	o = opts(DNNQ_CALIB_L2, 4, false, false);
	ck_assert_int_eq(dnnq_calib_per_channel(w, R, C, &o, 512, mins, maxs, qp, NULL), 0);
	for (int i = 0; i < R; i++) {
		struct dnnq_hist h;
		struct dnnq_qparams one;
		hist_of(&h, w + i * C, C, 512);
		ck_assert_int_eq(dnnq_calib_qparams(&h, &o, &one, NULL, NULL, NULL), 0);
		ck_assert(one.scale == qp[i].scale && one.zero_point == qp[i].zero_point);
		ck_assert(qp[i].scale < (maxs[i] - mins[i]) / 14);   /* some clipping */
		dnnq_hist_destroy(&h);
	}
	struct dnnq_diag d = { "" };
	o = opts(DNNQ_CALIB_L2, 1, true, true);
	ck_assert_int_eq(dnnq_calib_per_channel(w, R, C, &o, 0, NULL, NULL, qp, &d), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_calib_per_channel(NULL, R, C, &o, 0, NULL, NULL, qp, NULL), DNNQ_E_INVAL);
	o = opts(DNNQ_CALIB_MINMAX, 8, false, false);
	ck_assert_int_eq(dnnq_calib_per_channel(w, 0, C, &o, 0, NULL, NULL, qp, NULL), 0);
	free(w);
}
END_TEST

/* ---- .npy ---- */

static uint8_t *encode(enum dnnq_dtype dt, const size_t *shape, unsigned ndim, const void *data,
                       size_t *len)
{
	ck_assert_int_eq(dnnq_npy_encoded_size(dt, shape, ndim, len, NULL), 0);
	uint8_t *buf = malloc(*len);
	size_t written = 0;
	ck_assert_int_eq(dnnq_npy_encode(buf, *len, dt, shape, ndim, data, &written, NULL), 0);
	ck_assert_uint_eq(written, *len);
	return buf;
}

START_TEST(npy_round_trip_every_dtype)
{
	static const enum dnnq_dtype dts[4] = {
		DNNQ_DTYPE_F32, DNNQ_DTYPE_U8, DNNQ_DTYPE_S8, DNNQ_DTYPE_S32,
	};
	static const size_t shapes[5][3] = { { 0 }, { 0 }, { 7 }, { 3, 4 }, { 2, 3, 5 } };
	static const unsigned ndims[5] = { 0, 1, 1, 2, 3 };
	uint8_t raw[30 * 4];
	struct rng r = { 1 };
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (uint8_t)rng_int(&r, 0, 255);
	float f[30];
	for (int i = 0; i < 30; i++)
		f[i] = (float)rng_gauss(&r);
	for (int t = 0; t < 4; t++) {
		for (int s = 0; s < 5; s++) {
			const void *data = dts[t] == DNNQ_DTYPE_F32 ? (const void *)f : raw;
			size_t len;
			uint8_t *buf = encode(dts[t], shapes[s], ndims[s], data, &len);
			struct dnnq_npy a;
			struct dnnq_diag d = { "" };
			ck_assert_msg(dnnq_npy_parse(buf, len, &a, &d) == 0, "%s", d.msg);
			ck_assert_int_eq(a.dtype, dts[t]);
			ck_assert_uint_eq(a.ndim, ndims[s]);
			ck_assert_uint_eq(a.version, 1);
			ck_assert_uint_eq(a.data_offset % 64, 0);
			ck_assert_int_eq(buf[a.data_offset - 1], '\n');
			size_t count = 1;
			for (unsigned k = 0; k < a.ndim; k++) {
				ck_assert_uint_eq(a.shape[k], shapes[s][k]);
				count *= shapes[s][k];
			}
			ck_assert_uint_eq(a.count, count);
			ck_assert_uint_eq(a.nbytes, count * dnnq_npy_itemsize(dts[t]));
			ck_assert_mem_eq(a.data, data, a.nbytes);         /* little-endian host */
			float back[30];
			dnnq_npy_to_f32(&a, back);
			for (size_t k = 0; k < count; k++) {
				float want = dts[t] == DNNQ_DTYPE_F32 ? f[k]
				           : dts[t] == DNNQ_DTYPE_U8 ? raw[k]
				           : dts[t] == DNNQ_DTYPE_S8 ? (int8_t)raw[k]
				           : (float)((const int32_t *)(const void *)raw)[k];
				ck_assert(back[k] == want);
			}
			free(buf);
		}
	}
	size_t shape = 4, len;
	ck_assert_int_eq(dnnq_npy_encoded_size(DNNQ_DTYPE_PACKED, &shape, 1, &len, NULL), DNNQ_E_DTYPE);
	ck_assert_int_eq(dnnq_npy_encode(raw, 10, DNNQ_DTYPE_U8, &shape, 1, raw, NULL, NULL),
	                 DNNQ_E_NOSPACE);
}
END_TEST

/* A hand-built file: version, header text and data as given. */
static size_t build(uint8_t *out, unsigned major, const char *header, const void *data,
                    size_t n)
{
	size_t h = strlen(header), pre = major == 1 ? 10 : 12;
	memcpy(out, "\x93NUMPY", 6);
	out[6] = (uint8_t)major;
	out[7] = 0;
	out[8] = (uint8_t)h;
	out[9] = (uint8_t)(h >> 8);
	if (major != 1)
		out[10] = out[11] = 0;
	memcpy(out + pre, header, h);
	memcpy(out + pre + h, data, n);
	return pre + h + n;
}

START_TEST(npy_versions_and_header_variants)
{
	static const float v[6] = { 1, -2, 3.5f, 0, 5, 6 };
	uint8_t buf[512];
	struct dnnq_npy a;
	struct dnnq_diag d = { "" };
	for (unsigned major = 1; major <= 3; major++) {
		size_t n = build(buf, major,
		                 "{ \"shape\" : (2,3) ,'descr':'<f4' , \"fortran_order\": False}\n",
		                 v, sizeof v);
		ck_assert_msg(dnnq_npy_parse(buf, n, &a, &d) == 0, "v%u: %s", major, d.msg);
		ck_assert_uint_eq(a.version, major);
		ck_assert(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3);
		ck_assert_mem_eq(a.data, v, sizeof v);
	}
	size_t n = build(buf, 1, "{'descr': '<u1', 'fortran_order': False, 'shape': (6, )}  \n",
	                 v, 6);
	ck_assert_int_eq(dnnq_npy_parse(buf, n, &a, NULL), 0);
	ck_assert_int_eq(a.dtype, DNNQ_DTYPE_U8);
	n = build(buf, 1, "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 1, 3,), }\n", v, 6);
	ck_assert_int_eq(dnnq_npy_parse(buf, n, &a, NULL), 0);
	ck_assert(a.dtype == DNNQ_DTYPE_S8 && a.ndim == 3 && a.count == 6);
	n = build(buf, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': ()}\n", v, 4);
	ck_assert_int_eq(dnnq_npy_parse(buf, n, &a, NULL), 0);
	ck_assert(a.dtype == DNNQ_DTYPE_S32 && a.ndim == 0 && a.count == 1);
	/* a zero-size array: no data bytes at all */
	n = build(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1000000)}\n", v, 0);
	ck_assert_int_eq(dnnq_npy_parse(buf, n, &a, NULL), 0);
	ck_assert_uint_eq(a.count, 0);
}
END_TEST

struct bad_case {
	const char *header;       /* NULL: raw bytes below */
	size_t data;              /* data bytes after the header */
	int rc;
	const char *msg;          /* must appear in the diagnostic */
};

START_TEST(npy_rejects_malformed_headers)
{
	static const struct bad_case cases[] = {
		{ "{'descr': '<f4', 'fortran_order': False}\n", 0, DNNQ_E_FORMAT, "no 'shape' key" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'foo': 1}\n", 4,
		  DNNQ_E_FORMAT, "key 'foo'" },
		{ "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n", 4,
		  DNNQ_E_FORMAT, "'descr' appears twice" },
		{ "{'descr': '<f4', 'fortran_order': True, 'shape': (1,)}\n", 4, DNNQ_E_FORMAT,
		  "'fortran_order' is True: only C order is supported (np.save(f, "
		  "np.ascontiguousarray(x)) writes it)" },
		{ "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}\n", 4, DNNQ_E_FORMAT,
		  "'fortran_order' must be True or False" },
		{ "{'descr': '>f4', 'fortran_order': False, 'shape': (1,)}\n", 4, DNNQ_E_DTYPE,
		  "descr '>f4': big-endian data is not supported (x.astype('<f4') converts an array)" },
		{ "{'descr': '>i4', 'fortran_order': False, 'shape': (1,)}\n", 4, DNNQ_E_DTYPE,
		  "(x.astype('<i4') converts" },
		{ "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}\n", 8, DNNQ_E_DTYPE,
		  "dtype '<f8' (float64): dnnq reads float32, uint8, int8 and int32 arrays" },
		{ "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}\n", 4,
		  DNNQ_E_FORMAT, "'descr' must be a string" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (3)}\n", 12, DNNQ_E_FORMAT,
		  "one-element tuple" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1)}\n", 12, DNNQ_E_FORMAT,
		  "non-negative integers" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': [3]}\n", 12, DNNQ_E_FORMAT,
		  "'shape' must be a tuple" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)\n", 12, DNNQ_E_FORMAT,
		  "expected ',' or '}'" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x\n", 12, DNNQ_E_FORMAT,
		  "text after the dict" },
		{ "['descr', '<f4']\n", 0, DNNQ_E_FORMAT, "must be a dict" },
		{ "{'descr: '<f4'}\n", 0, DNNQ_E_FORMAT, "expected ':'" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}\x01\n", 12, DNNQ_E_FORMAT,
		  "byte 0x01" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}\n", 8, DNNQ_E_TRUNCATED,
		  "data: 8 bytes, the shape needs 12" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}\n", 16, DNNQ_E_FORMAT,
		  "trailing bytes" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}\n", 0,
		  DNNQ_E_RANGE, "element count overflows" },
		{ "{'descr': '<i4', 'fortran_order': False, 'shape': (4611686018427387904,)}\n", 0,
		  DNNQ_E_RANGE, "byte count overflows" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576)}\n", 64,
		  DNNQ_E_TRUNCATED, "needs 4398046511104" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}\n", 0,
		  DNNQ_E_RANGE, "shape[0]: too large" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
		  "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)}\n", 4, DNNQ_E_RANGE, "more than 32 dimensions" },
	};
	static uint8_t zeros[64];
	uint8_t buf[1024];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = build(buf, 1, cases[i].header, zeros, cases[i].data);
		struct dnnq_npy a;
		struct dnnq_diag d = { "" };
		int rc = dnnq_npy_parse(buf, n, &a, &d);
		ck_assert_msg(rc == cases[i].rc && strstr(d.msg, cases[i].msg),
		              "case %zu: rc %d msg '%s'; want %d '%s'", i, rc, d.msg, cases[i].rc,
		              cases[i].msg);
	}
}
END_TEST

START_TEST(npy_rejects_bad_preambles)
{
	static const float v[2] = { 1, 2 };
	size_t shape = 2, len;
	uint8_t *good = encode(DNNQ_DTYPE_F32, &shape, 1, v, &len);
	uint8_t *buf = malloc(len);
	struct dnnq_npy a;
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(dnnq_npy_parse(good, 5, &a, &d), DNNQ_E_TRUNCATED);
	ck_assert_ptr_nonnull(strstr(d.msg, "length 5"));
	ck_assert_int_eq(dnnq_npy_parse(good, 9, &a, &d), DNNQ_E_TRUNCATED);
	ck_assert_ptr_nonnull(strstr(d.msg, "header length"));
	ck_assert_int_eq(dnnq_npy_parse(good, 40, &a, &d), DNNQ_E_TRUNCATED);
	ck_assert_ptr_nonnull(strstr(d.msg, "header_len"));
	memcpy(buf, good, len);
	buf[1] = 'n';
	ck_assert_int_eq(dnnq_npy_parse(buf, len, &a, &d), DNNQ_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(d.msg, "not a .npy file (it does not begin with"));
	/* np.savez's archive (a ZIP file): named, with the way to a .npy */
	memcpy(buf, "PK\x03\x04\x14\x00\x00\x00", 8);
	ck_assert_int_eq(dnnq_npy_parse(buf, len, &a, &d), DNNQ_E_FORMAT);
	ck_assert_str_eq(d.msg, "not a .npy file (a .npz archive, np.savez's: dnnq reads .npy "
	                 "files; np.save(f, np.load(path)[NAME]) writes one)");
	memcpy(buf, good, len);
	buf[6] = 4;
	ck_assert_int_eq(dnnq_npy_parse(buf, len, &a, &d), DNNQ_E_VERSION);
	ck_assert_ptr_nonnull(strstr(d.msg, "version 4.0"));
	buf[6] = 1;
	buf[7] = 1;
	ck_assert_int_eq(dnnq_npy_parse(buf, len, &a, &d), DNNQ_E_VERSION);
	memcpy(buf, good, len);
	buf[8] = 0xff;
	buf[9] = 0xff;
	ck_assert_int_eq(dnnq_npy_parse(buf, len, &a, &d), DNNQ_E_TRUNCATED);
	ck_assert_int_eq(dnnq_npy_parse(NULL, 0, &a, &d), DNNQ_E_TRUNCATED);
	ck_assert_int_eq(dnnq_npy_parse(NULL, 10, &a, NULL), DNNQ_E_INVAL);
	/* every proper prefix is refused */
	for (size_t n = 0; n < len; n++)
		ck_assert_int_ne(dnnq_npy_parse(good, n, &a, NULL), 0);
	free(buf);
	free(good);
}
END_TEST

/* Random corruption of a valid file: parsed or refused, never a crash or an
 * out-of-bounds read (the sanitizer build watches). */
START_TEST(npy_survives_corruption)
{
	static const int32_t v[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	size_t shape[2] = { 3, 4 }, len;
	uint8_t *good = encode(DNNQ_DTYPE_S32, shape, 2, v, &len);
	struct rng r = { 2718 };
	static const char alphabet[] = "{}()[]'\":, 0123456789TrueFalse<|>f4i1u\n\x93\xff";
	for (int it = 0; it < 20000; it++) {
		size_t n = len - (size_t)rng_int(&r, 0, 3) * (it % 7 == 0);
		uint8_t *buf = malloc(n);           /* exact size: overreads trip ASan */
		memcpy(buf, good, n);
		int flips = (int)rng_int(&r, 1, 4);
		for (int f = 0; f < flips; f++) {
			size_t at = (size_t)rng_int(&r, 0, (int64_t)(n < 80 ? n : 80) - 1);
			buf[at] = rng_int(&r, 0, 1) ? (uint8_t)alphabet[rng_int(&r, 0, sizeof alphabet - 2)]
			                            : (uint8_t)rng_int(&r, 0, 255);
		}
		struct dnnq_npy a;
		struct dnnq_diag d = { "" };
		int rc = dnnq_npy_parse(buf, n, &a, &d);
		if (rc == 0) {
			ck_assert_uint_eq(a.data_offset + a.nbytes, n);
		} else {
			ck_assert(rc < 0 && d.msg[0]);
		}
		free(buf);
	}
	free(good);
}
END_TEST

/* raw[0..n) in a new file named from the template path. */
static void tmp_file(char *path, const uint8_t *raw, size_t n)
{
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, raw, n), (ssize_t)n);
	close(fd);
}

/* A float64 file: dnnq_npy_parse refuses it unless asked (DNNQ_NPY_F64);
 * the file reader converts it to float32 and says so in from_f64. */
START_TEST(npy_float64_converted)
{
	static const double v[5] = { 1, -2.5, 0.1, 1e30, -3e-7 };
	uint8_t raw[256];
	size_t n = build(raw, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,)}\n", v,
	                 sizeof v);
	struct dnnq_npy a;
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(dnnq_npy_parse(raw, n, &a, &d), DNNQ_E_DTYPE);
	ck_assert_int_eq(dnnq_npy_parse_flags(raw, n, DNNQ_NPY_F64, &a, &d), 0);
	ck_assert(a.from_f64 && a.dtype == DNNQ_DTYPE_F32 && a.count == 5 && a.nbytes == 40);
	char path[] = "/tmp/dnnq-calib-XXXXXX";
	tmp_file(path, raw, n);
	void *buf;
	ck_assert_msg(dnnq_npy_read_file(path, 1 << 20, &buf, &a, &d) == 0, "%s", d.msg);
	ck_assert(a.from_f64 && a.dtype == DNNQ_DTYPE_F32 && a.count == 5 && a.nbytes == 20);
	float f[5];
	dnnq_npy_to_f32(&a, f);
	for (int i = 0; i < 5; i++)
		ck_assert_float_eq(f[i], (float)v[i]);
	free(buf);
	/* big-endian doubles stay refused, naming the file once */
	n = build(raw, 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (5,)}\n", v,
	          sizeof v);
	FILE *fp = fopen(path, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(raw, 1, n, fp), n);
	fclose(fp);
	ck_assert_int_eq(dnnq_npy_read_file(path, 1 << 20, &buf, &a, &d), DNNQ_E_DTYPE);
	ck_assert_ptr_null(strstr(strstr(d.msg, path) + 1, path));
	/* for their byte order, not as a dtype "float64 converted" said
	 * dnnq did not read */
	ck_assert_msg(strstr(d.msg, "descr '>f8': big-endian data is not supported "
	                     "(x.astype('<f8') converts an array)"), "%s", d.msg);
	unlink(path);
	/* the output directory of the tools: made with its parents */
	char dir[] = "/tmp/dnnq-calib-XXXXXX", sub[128];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof sub, "%s/a/b/c", dir);
	ck_assert_msg(dnnq_npy_make_dir(sub, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_npy_make_dir(sub, &d) == 0, "%s", d.msg);
	snprintf(sub, sizeof sub, "%s/file", dir);
	fp = fopen(sub, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	ck_assert_int_eq(dnnq_npy_make_dir(sub, &d), DNNQ_E_IO);
	ck_assert_ptr_nonnull(strstr(d.msg, "not a directory"));
	strcat(sub, "/x");
	ck_assert_int_eq(dnnq_npy_make_dir(sub, &d), DNNQ_E_IO);
	ck_assert_ptr_nonnull(strstr(d.msg, "cannot create"));
	/* a path leaving no room for DIR/STEM.npy is refused before anything
	 * is made (the tools' paths were cut short, two outputs one file) */
	char deep[DNNQ_NPY_PATH_MAX];
	size_t at = (size_t)snprintf(deep, sizeof deep, "%s/", dir);
	memset(deep + at, 'd', sizeof deep - DNNQ_NPY_STEM_MAX - 5 - at);
	deep[sizeof deep - DNNQ_NPY_STEM_MAX - 5] = 0;
	ck_assert_int_eq(dnnq_npy_make_dir(deep, &d), DNNQ_E_INVAL);
	ck_assert_ptr_nonnull(strstr(d.msg, "too long"));
	deep[strlen(deep) - 1] = 0;	/* one byte less fits */
	ck_assert_int_eq(dnnq_npy_make_dir(deep, &d), DNNQ_E_IO);	/* NAME_MAX */
	char rm[160];
	snprintf(rm, sizeof rm, "rm -rf %s", dir);
	ck_assert_int_eq(system(rm), 0);
}
END_TEST

/* An int64 file (numpy's default integer): dnnq_npy_parse refuses it
 * unless asked (DNNQ_NPY_I64); the file reader converts it to int32, and
 * a value outside int32's range fails naming the file and the element. */
START_TEST(npy_int64_converted)
{
	static const int64_t v[4] = { 0, -1, 999, INT32_MIN };
	uint8_t raw[256];
	const char *hdr = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2)}\n";
	size_t n = build(raw, 1, hdr, v, sizeof v);
	struct dnnq_npy a;
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(dnnq_npy_parse(raw, n, &a, &d), DNNQ_E_DTYPE);
	ck_assert_int_eq(dnnq_npy_parse_flags(raw, n, DNNQ_NPY_I64, &a, &d), 0);
	ck_assert(a.from_i64 && !a.from_f64 && a.dtype == DNNQ_DTYPE_S32 && a.nbytes == 32);
	char path[] = "/tmp/dnnq-calib-XXXXXX";
	tmp_file(path, raw, n);
	void *buf;
	ck_assert_msg(dnnq_npy_read_file(path, 1 << 20, &buf, &a, &d) == 0, "%s", d.msg);
	ck_assert(a.from_i64 && a.dtype == DNNQ_DTYPE_S32 && a.count == 4 && a.nbytes == 16);
	ck_assert_str_eq(dnnq_npy_narrowed(&a), "int64 converted to int32");
	/* for a float input, the refusal says the file's int64 (it said s32
	 * after the note that the int64 was converted) */
	ck_assert_int_eq(dnnq_npy_check_dtype(&a, "x.npy", "input", DNNQ_DTYPE_F32, false, &d),
	                 DNNQ_E_DTYPE);
	ck_assert_str_eq(d.msg, "x.npy: dtype s32 (int64 in the file): input 'input' takes f32"
	                 " (x.astype(np.float32) converts an array)");
	for (int i = 0; i < 4; i++) {
		int32_t x;
		memcpy(&x, a.data + 4 * i, 4);
		ck_assert_int_eq(x, v[i]);
	}
	free(buf);
	/* 2^31 in element 3: refused, the file named */
	static const int64_t big[4] = { 1, 2, 3, (int64_t)INT32_MAX + 1 };
	n = build(raw, 1, hdr, big, sizeof big);
	FILE *fp = fopen(path, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(raw, 1, n, fp), n);
	fclose(fp);
	ck_assert_int_eq(dnnq_npy_read_file(path, 1 << 20, &buf, &a, &d), DNNQ_E_RANGE);
	ck_assert_ptr_null(buf);
	ck_assert_msg(strstr(d.msg, path) && strstr(d.msg, "element 3 = 2147483648"), "%s", d.msg);
	unlink(path);
}
END_TEST

/* One sample without the batch axis named; the other image layout named:
 * an NHWC array for an NCHW input (cls's
 * [n, 3, 48, 192]; its H and W fixed by that very array, [n, 3, 192, 3]),
 * an NCHW array for an NHWC input (BlazeFace's [n, 128, 128, 3]), not for
 * a square input of equal dims, another mismatch or another rank. */
START_TEST(npy_shape_hint)
{
	static const struct { size_t a[4]; int64_t in[4]; const char *want; } c[] = {
		{ { 4, 48, 192, 3 }, { 1, 3, 48, 192 }, "channels last? np.transpose(x, (0, 3, 1, 2))" },
		{ { 4, 48, 192, 3 }, { 1, 3, 192, 3 }, "channels last? np.transpose(x, (0, 3, 1, 2))" },
		{ { 2, 3, 128, 128 }, { 1, 128, 128, 3 }, "channels first? np.transpose(x, (0, 2, 3, 1))" },
		{ { 2, 3, 96, 64 }, { 1, 96, 64, 3 }, "channels first? np.transpose(x, (0, 2, 3, 1))" },
		{ { 2, 3, 3, 3 }, { 1, 3, 3, 3 }, NULL },
		{ { 2, 5, 6, 7 }, { 1, 3, 6, 7 }, NULL },
		{ { 2, 6, 7, 3 }, { 1, 4, 6, 7 }, NULL },
		/* W equal to C: another size, no layout (attack57: "channels
		 * first?" for the first, "channels last?" for the second) */
		{ { 2, 4, 50, 40 }, { 1, 4, 5, 4 }, NULL },
		{ { 2, 50, 40, 4 }, { 1, 4, 5, 4 }, NULL },
		{ { 2, 4, 50, 40 }, { 1, 4, 50, 4 }, "channels first? np.transpose(x, (0, 2, 3, 1))" },
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		struct dnnq_npy a = { .ndim = 4 };
		memcpy(a.shape, c[i].a, sizeof c[i].a);
		const char *h = dnnq_npy_shape_hint(&a, 4, c[i].in, false);
		ck_assert_msg(c[i].want ? strstr(h, c[i].want) == h + 2 : !h[0], "%zu: '%s'", i, h);
		a.ndim = 3;
		ck_assert_str_eq(dnnq_npy_shape_hint(&a, 4, c[i].in, false), "");
	}
	/* one sample without the batch axis (hey_jarvis's [n, 16, 96]) */
	struct dnnq_npy a = { .ndim = 2, .shape = { 16, 96 } };
	ck_assert_str_eq(dnnq_npy_shape_hint(&a, 3, (int64_t[]){ 1, 16, 96 }, true),
	                 "; one sample without its batch axis? x[None] adds it");
	ck_assert_str_eq(dnnq_npy_shape_hint(&a, 3, (int64_t[]){ 1, 15, 96 }, false), "");
	ck_assert_str_eq(dnnq_npy_shape_hint(&a, 2, (int64_t[]){ 1, 96 }, true), "");
	/* a converted model's fixed dims, for an array of its rank that is no
	 * other mistake (a UNet exported with symbolic H and W, converted at
	 * 32x32, given 48x40; a sequence of another length); not for the
	 * ONNX model itself, nor before the layouts' hints */
	static const char fixed[] = "; a .dnnq model takes the shape it was converted for "
	                            "(dnnq-convert fixes an ONNX model's symbolic dims by "
	                            "--input-shape or the calibration samples): convert again for "
	                            "another";
	struct dnnq_npy img = { .ndim = 4, .shape = { 2, 3, 48, 40 } };
	ck_assert_str_eq(dnnq_npy_shape_hint(&img, 4, (int64_t[]){ 1, 3, 32, 32 }, true), fixed);
	ck_assert_str_eq(dnnq_npy_shape_hint(&img, 4, (int64_t[]){ 1, 3, 32, 32 }, false), "");
	ck_assert_str_eq(dnnq_npy_shape_hint(&img, 4, (int64_t[]){ 1, 48, 40, 3 }, true),
	                 "; channels first? np.transpose(x, (0, 2, 3, 1)) makes the NHWC array the "
	                 "input takes");
	a = (struct dnnq_npy){ .ndim = 3, .shape = { 3, 4, 80 } };
	ck_assert_str_eq(dnnq_npy_shape_hint(&a, 3, (int64_t[]){ 1, 4, 50 }, true), fixed);
	ck_assert_str_eq(dnnq_npy_shape_hint(&a, 4, (int64_t[]){ 1, 4, 50, 1 }, true), "");
}
END_TEST

START_TEST(npy_file_wrappers)
{
	char path[] = "/tmp/dnnq-calib-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	static const float v[6] = { 1, 2, 3, 4, 5, 6 };
	size_t shape[2] = { 2, 3 };
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(dnnq_npy_write_file(path, DNNQ_DTYPE_F32, shape, 2, v, &d), 0);
	void *buf;
	struct dnnq_npy a;
	ck_assert_msg(dnnq_npy_read_file(path, 1 << 20, &buf, &a, &d) == 0, "%s", d.msg);
	ck_assert(a.count == 6 && a.dtype == DNNQ_DTYPE_F32);
	ck_assert_mem_eq(a.data, v, sizeof v);
	free(buf);
	/* a batch of another shape: the message gives the file's whole shape,
	 * here of rank 10 (more than a model input's 8) */
	size_t deep[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 2, 3 };
	ck_assert_int_eq(dnnq_npy_write_file(path, DNNQ_DTYPE_F32, deep, 10, v, &d), 0);
	static const int64_t want[4] = { 1, 3, 224, 224 };
	ck_assert_int_eq(dnnq_npy_load_batch(path, 4, want, false, &buf, &a, &d), DNNQ_E_SHAPE);
	ck_assert_ptr_null(buf);
	ck_assert_msg(strstr(d.msg, ": shape [1, 1, 1, 1, 1, 1, 1, 1, 2, 3], want [n, 3, 224, 224]"),
	              "%s", d.msg);
	ck_assert_int_eq(dnnq_npy_write_file(path, DNNQ_DTYPE_F32, shape, 2, v, &d), 0);
	/* over the limit */
	ck_assert_int_eq(dnnq_npy_read_file(path, 100, &buf, &a, &d), DNNQ_E_NOMEM);
	ck_assert_ptr_nonnull(strstr(d.msg, "100-byte limit"));
	ck_assert_ptr_null(buf);
	/* a shape whose product overflows: refused from the header alone */
	uint8_t raw[256];
	size_t n = build(raw, 1, "{'descr': '<f4', 'fortran_order': False, "
	                 "'shape': (18446744073709551615, 2)}\n", v, 0);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(raw, 1, n, f), n);
	fclose(f);
	ck_assert_int_eq(dnnq_npy_read_file(path, 1 << 20, &buf, &a, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, path));
	ck_assert_ptr_nonnull(strstr(d.msg, "element count overflows"));
	/* an empty file */
	f = fopen(path, "wb");
	fclose(f);
	ck_assert_int_eq(dnnq_npy_read_file(path, 1 << 20, &buf, &a, &d), DNNQ_E_TRUNCATED);
	/* an endless stream that is no .npy: refused at its first bytes, not
	 * after a gigabyte read up to the limit */
	ck_assert_int_eq(dnnq_npy_read_file("/dev/zero", (size_t)1 << 30, &buf, &a, &d),
	                 DNNQ_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(d.msg, "not a .npy file"));
	ck_assert_ptr_null(buf);
	/* a symlink at the path is replaced, not written through: the empty
	 * file it points to stays empty */
	char link[sizeof path + 8];
	snprintf(link, sizeof link, "%s.link", path);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(dnnq_npy_write_file(link, DNNQ_DTYPE_F32, shape, 2, v, &d), 0);
	struct stat st;
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISREG(st.st_mode) && st.st_size > 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	unlink(link);
	unlink(path);
	ck_assert_int_eq(dnnq_npy_read_file(path, 1 << 20, &buf, &a, &d), DNNQ_E_IO);
	ck_assert_ptr_nonnull(strstr(d.msg, path));
	ck_assert_int_eq(dnnq_npy_write_file("/nonexistent-dir/x.npy", DNNQ_DTYPE_F32, shape, 2,
	                                     v, &d), DNNQ_E_IO);
	ck_assert_str_eq(d.msg, "/nonexistent-dir/x.npy: cannot write: No such file or directory");
}
END_TEST

/* What a tool's --json prints on stdout from dnnq_json_exit (engine/json.c),
 * run in a child whose stdout is a pipe: `answered` says the tool printed
 * its own object first; exits twice, as dnnqctl bench's failed requests
 * after their results did. */
static void json_exits(bool answered, char *out, size_t cap)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(p[1], 1);
		dup2(null, 2);
		close(p[0]);
		close(p[1]);
		dnnq_json_failures();
		if (answered) {
			printf("{\"requests\":3,\"failures\":1}\n");
			dnnq_json_answered();
		}
		fprintf(stderr, "tool: first failure\n");
		dnnq_json_exit(1, DNNQ_E_IO);
		fprintf(stderr, "tool: second failure\n");
		fflush(stdout);
		_exit(dnnq_json_exit(1, DNNQ_E_TIMEDOUT));
	}
	close(p[1]);
	size_t n = 0;
	ssize_t k;
	while (n < cap - 1 && (k = read(p[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = 0;
	close(p[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

START_TEST(json_one_object_on_stdout)
{
	char out[1024];
	json_exits(false, out, sizeof out);
	ck_assert_str_eq(out, "{\"ok\":false,\"error\":{\"code\":\"DNNQ_E_IO\",\"message\":"
	                      "\"tool: first failure\"}}\n");
	json_exits(true, out, sizeof out);
	ck_assert_str_eq(out, "{\"requests\":3,\"failures\":1}\n");
}
END_TEST

Suite *suite_calib(void)
{
	Suite *s = suite_create("calib");
	TCase *tc = tcase_create("hist");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, hist_merge_of_halves_equals_whole);
	tcase_add_test(tc, hist_tree_merge_equals_whole);
	tcase_add_test(tc, hist_rebinning_is_exact);
	tcase_add_test(tc, hist_grid_is_canonical);
	tcase_add_test(tc, hist_nonfinite_and_signed_zero);
	tcase_add_test(tc, hist_errors_name_the_field);
	tcase_add_test(tc, hist_kernels_agree);
	suite_add_tcase(s, tc);
	tc = tcase_create("range");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, l2_gaussian_optimum_levels);
	tcase_add_test(tc, l2_never_worse_than_minmax);
	tcase_add_test(tc, l2_search_matches_brute_force);
	tcase_add_test(tc, symmetric_search_matches_brute_force);
	tcase_add_test(tc, model_err_early_exit_is_exact);
	tcase_add_test(tc, saws_agree);
	tcase_add_test(tc, laplace_clipping_gains);
	tcase_add_test(tc, l2approx_close_to_exact);
	tcase_add_test(tc, percentile_ranges);
	tcase_add_test(tc, kl_thresholds);
	tcase_add_test(tc, degenerate_data);
	tcase_add_test(tc, one_sided_ranges_start_at_zero);
	tcase_add_test(tc, every_method_every_precision);
	tcase_add_test(tc, extreme_values);
	tcase_add_test(tc, options_are_checked);
	tcase_add_test(tc, per_channel_weights);
	suite_add_tcase(s, tc);
	tc = tcase_create("npy");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, npy_round_trip_every_dtype);
	tcase_add_test(tc, npy_versions_and_header_variants);
	tcase_add_test(tc, npy_rejects_malformed_headers);
	tcase_add_test(tc, npy_rejects_bad_preambles);
	tcase_add_test(tc, npy_survives_corruption);
	tcase_add_test(tc, npy_file_wrappers);
	tcase_add_test(tc, npy_shape_hint);
	tcase_add_test(tc, npy_float64_converted);
	tcase_add_test(tc, npy_int64_converted);
	tcase_add_test(tc, json_one_object_on_stdout);
	suite_add_tcase(s, tc);
	return s;
}
