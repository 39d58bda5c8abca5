/*
 * The histogram observer (calibration/hist.h).
 *
 * Bin index of x on the grid of width 2^e: floor(x * 2^-e). Multiplying a
 * float by a power of two in double is exact, and the exponent floor keeps
 * |x * 2^-e| below 2^52, so the floor and the conversion to int64 are exact
 * too: a value lands in the same bin however the grid was reached. Moving a
 * bin to a coarser grid is an arithmetic right shift (floor division by a
 * power of two) of its index.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/hist.h"
#include "calibration/hist-kernels.h"

/* Below 2^-200 every float is its own bin anyway. */
#define EXP_ZERO (-200)

static int64_t floor_shift(int64_t v, int32_t s)
{
	if (s >= 63)
		return v < 0 ? -1 : 0;
	return v >= 0 ? v >> s : -((-(v + 1)) >> s) - 1;
}

static int64_t grid_index(double x, int32_t e)
{
	return (int64_t)floor(x * ldexp(1.0, -e));
}

/* The smallest exponent that keeps |x| * 2^-e < 2^52 for |x| <= maxabs. */
static int32_t exp_floor(double maxabs)
{
	return maxabs > 0 ? ilogb(maxabs) - 51 : EXP_ZERO;
}

static bool grid_fits(double lo, double hi, uint32_t nbins, int32_t e)
{
	return grid_index(hi, e) - grid_index(lo, e) <= (int64_t)nbins - 1;
}

void dnnq_hist_grid(double min, double max, uint32_t nbins, int32_t *exp, int64_t *base)
{
	int32_t e = exp_floor(fmax(fabs(min), fabs(max)));
	double span = max - min;
	if (span > 0) {
		int k;
		frexp(span / nbins, &k);      /* span / nbins in [2^(k-1), 2^k) */
		if (k - 2 > e)                /* below the smallest width that fits */
			e = k - 2;
	}
	while (!grid_fits(min, max, nbins, e))
		e++;
	*exp = e;
	*base = grid_index(min, e);
}

int dnnq_hist_init(struct dnnq_hist *h, uint32_t nbins, struct dnnq_diag *diag)
{
	memset(h, 0, sizeof *h);
	if (nbins == 0)
		nbins = DNNQ_HIST_DEFAULT_BINS;
	if (nbins < DNNQ_HIST_MIN_BINS || nbins > DNNQ_HIST_MAX_BINS)
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "nbins %u: must be %u..%u", nbins,
		                     DNNQ_HIST_MIN_BINS, DNNQ_HIST_MAX_BINS);
	h->counts = calloc(nbins, sizeof *h->counts);
	h->scratch = calloc(nbins, sizeof *h->scratch);
	if (!h->counts || !h->scratch) {
		dnnq_hist_destroy(h);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "nbins %u: out of memory", nbins);
	}
	h->nbins = nbins;
	return DNNQ_OK;
}

void dnnq_hist_destroy(struct dnnq_hist *h)
{
	free(h->counts);
	free(h->scratch);
	memset(h, 0, sizeof *h);
}

void dnnq_hist_clear(struct dnnq_hist *h)
{
	memset(h->counts, 0, h->nbins * sizeof *h->counts);
	h->exp = 0;
	h->base = 0;
	h->nfinite = h->nnan = h->nposinf = h->nneginf = 0;
	h->min = h->max = 0;
}

double dnnq_hist_edge(const struct dnnq_hist *h, uint32_t i)
{
	return ldexp((double)(h->base + (int64_t)i), h->exp);
}

/* dst (grid de, dbase) += src (grid se <= de, sbase); n bins each. Only
 * non-empty bins move, and those lie inside the destination's range. */
static void rebin_add(uint64_t *dst, int32_t de, int64_t dbase,
                      const uint64_t *src, int32_t se, int64_t sbase, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (!src[i])
			continue;
		int64_t j = floor_shift(sbase + (int64_t)i, de - se) - dbase;
		if (j >= 0 && j < (int64_t)n)
			dst[j] += src[i];
	}
}

void dnnq_hist_counts_on(const struct dnnq_hist *h, int32_t exp, int64_t base,
                         double *out, size_t n)
{
	memset(out, 0, n * sizeof *out);
	for (uint32_t i = 0; i < h->nbins; i++) {
		if (!h->counts[i])
			continue;
		int64_t j = floor_shift(h->base + (int64_t)i, exp - h->exp) - base;
		if (j >= 0 && (uint64_t)j < n)
			out[j] += (double)h->counts[i];
	}
}

/* Moves h onto the canonical grid of [lo, hi], a range containing its own. */
static void regrid(struct dnnq_hist *h, float lo, float hi)
{
	int32_t e;
	int64_t base;
	dnnq_hist_grid(lo, hi, h->nbins, &e, &base);
	if (h->nfinite && (e != h->exp || base != h->base)) {
		memset(h->scratch, 0, h->nbins * sizeof *h->scratch);
		rebin_add(h->scratch, e, base, h->counts, h->exp, h->base, h->nbins);
		uint64_t *t = h->counts;
		h->counts = h->scratch;
		h->scratch = t;
	}
	h->exp = e;
	h->base = base;
	h->min = lo;
	h->max = hi;
}

void hist_scan_scalar(struct hist_scan *s, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hist_scan_one(s, x[i]);
}

/* floor(t) for a t the grid keeps well inside int64_t, without libm's
 * call (the loop below runs on every value of every calibration run). */
static inline int64_t floor_i64(double t)
{
	int64_t k = (int64_t)t;
	return k - (t < (double)k);
}

void hist_count_scalar(uint64_t *counts, const float *x, size_t n, double inv, int64_t base)
{
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]))
			counts[floor_i64(x[i] * inv) - base]++;
}

/* Values a block: scanned, then counted while it is still in cache. Any
 * cut gives the same histogram (the grid depends on the extremes alone). */
#define BLOCK 4096

/* counts += scratch, scratch = 0: the AVX2 count pass's second array in. */
static void fold_spare(struct dnnq_hist *h)
{
	for (uint32_t i = 0; i < h->nbins; i++)
		h->counts[i] += h->scratch[i];
	memset(h->scratch, 0, h->nbins * sizeof *h->scratch);
}

/* The AVX2 count pass spreads its increments over counts and scratch
 * (hist-kernels.h) for a batch that is large against the bins, where
 * folding scratch back costs little; regrid() needs scratch, so it is
 * folded before and cleared after. */
int dnnq_hist_add(struct dnnq_hist *h, const float *x, size_t n)
{
	if (!h || !h->counts || (n && !x))
		return DNNQ_E_INVAL;
	bool avx2 = dnnq_isa_supported(DNNQ_ISA_AVX2), spare = avx2 && n >= h->nbins;
	if (spare)
		memset(h->scratch, 0, h->nbins * sizeof *h->scratch);
	for (size_t at = 0; at < n; at += BLOCK) {
		size_t k = n - at < BLOCK ? n - at : BLOCK;
		struct hist_scan s = HIST_SCAN_EMPTY;
		(avx2 ? hist_scan_avx2 : hist_scan_scalar)(&s, x + at, k);
		h->nnan += s.nan;
		h->nposinf += s.posinf;
		h->nneginf += s.neginf;
		if (!s.finite)
			continue;
		float lo = s.lo == 0 ? 0.0f : s.lo, hi = s.hi == 0 ? 0.0f : s.hi;
		if (h->nfinite) {
			lo = fminf(lo, h->min);
			hi = fmaxf(hi, h->max);
		}
		if (!h->nfinite || lo < h->min || hi > h->max) {
			if (spare)
				fold_spare(h);
			regrid(h, lo, hi);
			if (spare)
				memset(h->scratch, 0, h->nbins * sizeof *h->scratch);
		}
		double inv = ldexp(1.0, -h->exp);
		if (avx2)
			hist_count_avx2(h->counts, spare ? h->scratch : h->counts, x + at, k, inv, h->base);
		else
			hist_count_scalar(h->counts, x + at, k, inv, h->base);
		h->nfinite += s.finite;
	}
	if (spare)
		fold_spare(h);
	return DNNQ_OK;
}

int dnnq_hist_merge(struct dnnq_hist *dst, const struct dnnq_hist *src,
                    struct dnnq_diag *diag)
{
	if (!dst || !src || !dst->counts || !src->counts)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "hist_merge: NULL or uninitialised histogram");
	if (dst->nbins != src->nbins)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "nbins %u and %u: histograms must agree",
		                     dst->nbins, src->nbins);
	if (src->nfinite) {
		float lo = src->min, hi = src->max;
		if (dst->nfinite) {
			lo = fminf(lo, dst->min);
			hi = fmaxf(hi, dst->max);
		}
		regrid(dst, lo, hi);
		rebin_add(dst->counts, dst->exp, dst->base, src->counts, src->exp, src->base,
		          src->nbins);
	}
	dst->nfinite += src->nfinite;
	dst->nnan += src->nnan;
	dst->nposinf += src->nposinf;
	dst->nneginf += src->nneginf;
	return DNNQ_OK;
}

bool dnnq_hist_equal(const struct dnnq_hist *a, const struct dnnq_hist *b)
{
	return a->nbins == b->nbins && a->exp == b->exp && a->base == b->base &&
	       a->nfinite == b->nfinite && a->nnan == b->nnan && a->nposinf == b->nposinf &&
	       a->nneginf == b->nneginf && a->min == b->min && a->max == b->max &&
	       memcmp(a->counts, b->counts, a->nbins * sizeof *a->counts) == 0;
}
