/*
 * calibration/calib-internal.h — what the range searches share: the view of
 * a histogram they work on, the quantizer model, the 2-D search.
 *
 * View. The histogram re-binned onto the canonical grid of
 * [lo, hi] = [min(dmin, 0), max(dmax, 0)] (the range every asymmetric
 * quantizer spans, since 0 must be exact), with the bins that hold dmin and
 * dmax cut at those values: bin k is [edge[k], edge[k+1]] with count cnt[k]
 * spread uniformly over it. A bin whose edges coincide is a point mass (data
 * exactly at dmax when dmax is a grid edge). Because 0 is a grid edge, the
 * candidate ranges [edge[i], edge[j]] with i <= izero <= j are exactly the
 * ranges on bin edges that contain 0, and [edge[0], edge[n]] is the min/max
 * range. The uniform grid (width w, counts gcnt) stays available for the
 * methods that count bins (KL).
 */
#ifndef DNNQ_CALIBRATION_CALIB_INTERNAL_H
#define DNNQ_CALIBRATION_CALIB_INTERNAL_H

#include "calibration/range.h"

struct cview {
	size_t n;                 /* bins */
	double *edge;             /* n + 1, non-decreasing */
	double *cnt;              /* n */
	double *cum, *m1, *m2;    /* n + 1 prefix sums of count, count E[x], count E[x^2] */
	double *dens;             /* n: cnt / width, 0 for empty and zero-width bins */
	double dsum;              /* sum of dens: model_err's bound on its rounding */
	bool avx2;                /* saws_avx2 runs here */
	double total;             /* finite values */
	double dmin, dmax;        /* finite extremes */
	double lo, hi;            /* edge[0], edge[n] */
	size_t izero;             /* edge[izero] == 0 */
	double w;                 /* grid: bin g covers [(k0 + g) w, (k0 + g + 1) w) */
	int64_t k0;
	size_t gn;
	double *gcnt;             /* gn */
	double *gcum;             /* gn + 1 */
};

/* For a histogram with at least one finite value; DNNQ_E_NOMEM. */
int cview_build(const struct dnnq_hist *h, struct cview *v);
void cview_free(struct cview *v);

/* L levels lo + k s (k = 0..L-1), nearest-level rounding, clipping outside. */
struct qmodel {
	double lo, s, L;
	int norm;                 /* 1 or 2 */
};

/* Quantizers of an asymmetric range [lo, hi] and of a symmetric a, bits wide. */
struct qmodel qmodel_asym(double lo, double hi, unsigned bits, int norm);
struct qmodel qmodel_sym(double a, unsigned bits, int norm);

/* sum over the data of |x - Q(x)|^norm, uniform density within each bin.
 * A search only asks whether a candidate beats the best so far, so with a
 * finite bound it may stop early: a result >= bound says only that the
 * full sum is >= bound too; one below bound is the full sum, bit for bit
 * (INFINITY: always the full sum). */
double model_err(const struct cview *v, const struct qmodel *q, double bound);

/* out[k] = H_p((x[k] - lo) / s), the antiderivative of |u - round(u)|^p
 * from 0 (view.c), for k < n: the saws at a run of bin edges, on which
 * model_err spends most of its time. The AVX2 one gives the same bits. */
void saws_scalar(const double *x, size_t n, double lo, double s, int p, double *out);
void saws_avx2(const double *x, size_t n, double lo, double s, int p, double *out);

/* Minimises f(ctx, i, j, bound) over i0 <= i <= i1, j0 <= j <= j1: every
 * pair of a grid of at most `coarse` + 2 values a side (the ends always
 * included, and (i0, j1) first so it wins ties), then windows of +-2 steps
 * around the best while the step halves down to 1. bound is the best cost
 * so far: f may return any value >= bound for a cost >= bound (model_err's
 * early exit). */
typedef double (*cost2_fn)(void *ctx, size_t i, size_t j, double bound);
void search2(cost2_fn f, void *ctx, size_t i0, size_t i1, size_t j0, size_t j1,
             size_t coarse, size_t *bi, size_t *bj);

/* The same in one dimension over 0..n-1 (n >= 1), from 0, at most `coarse`
 * + 2 candidates before the refinement; returns the best. */
typedef double (*cost1_fn)(void *ctx, size_t k, double bound);
size_t search1(cost1_fn f, void *ctx, size_t n, size_t coarse);

/* Resolved precision and scheme. */
struct qshape {
	unsigned bits;
	bool symmetric;
};

/* L1/L2 searches (range-norm.c) and KL (range-kl.c): the range for v. */
void norm_range(const struct cview *v, struct qshape qs, int norm, bool approx,
                double *lo, double *hi);
void kl_range(const struct cview *v, struct qshape qs, double *lo, double *hi);

#endif
