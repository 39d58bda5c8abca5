/*
 * Range choice (calibration/range.h): option checks, the cheap methods
 * (min/max, percentile), the searches the L1/L2/KL methods share, and the
 * per-channel driver. The searches themselves live in range-norm.c and
 * range-kl.c; the histogram view and the error model in view.c.
 *
 * dnnq_calib_qparams() differs from dnnq_calib_range() in one step: for the
 * asymmetric L1/L2 searches it snaps the range to an integer zero point by
 * the error model (snap_zero_point() below).
 *
 * Degenerate data is settled here, before any search: no finite value gives
 * [0, 0], a single distinct value v gives [min(v, 0), max(v, 0)] (v is then a
 * level exactly; symmetric: [-|v|, |v|]).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/calib-internal.h"

static const char *const method_names[DNNQ_CALIB_METHOD_COUNT] = {
	"minmax", "percentile", "l1", "l2", "l2approx", "kl",
};

const char *dnnq_calib_method_name(enum dnnq_calib_method m)
{
	return (unsigned)m < DNNQ_CALIB_METHOD_COUNT ? method_names[m] : NULL;
}

int dnnq_calib_method_parse(const char *name, enum dnnq_calib_method *out)
{
	for (int m = 0; name && m < DNNQ_CALIB_METHOD_COUNT; m++) {
		if (!strcmp(name, method_names[m])) {
			*out = (enum dnnq_calib_method)m;
			return DNNQ_OK;
		}
	}
	return DNNQ_E_INVAL;
}

int dnnq_calib_opts_check(const struct dnnq_calib_opts *o, struct dnnq_diag *diag)
{
	if (!o)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "calib opts: NULL");
	if ((unsigned)o->method >= DNNQ_CALIB_METHOD_COUNT)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "method %d: unknown", (int)o->method);
	unsigned p = o->spec.precision;
	if (p < 1 || p > DNNQ_MAX_PRECISION || (o->spec.reduce_range && p < 2))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "precision %u%s: must be 1..%d bits", p,
		                     o->spec.reduce_range ? " with reduced range" : "",
		                     DNNQ_MAX_PRECISION);
	if ((unsigned)o->spec.scheme > DNNQ_QSCHEME_PRESERVE_SPARSITY)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "scheme %d: unknown", (int)o->spec.scheme);
	if (o->spec.scheme == DNNQ_QSCHEME_SYMMETRIC && p - o->spec.reduce_range < 2)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "symmetric quantization needs >= 2 bits");
	if (o->percentile != 0 && !(o->percentile >= 50 && o->percentile <= 100))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "percentile %g: must be in [50, 100]",
		                     o->percentile);
	return DNNQ_OK;
}

static int resolve(const struct dnnq_calib_opts *o, float dmin, float dmax,
                   struct qshape *qs, struct dnnq_diag *diag)
{
	int rc = dnnq_calib_opts_check(o, diag);
	if (rc)
		return rc;
	qs->bits = o->spec.precision - o->spec.reduce_range;
	qs->symmetric = o->spec.scheme == DNNQ_QSCHEME_SYMMETRIC ||
	                (o->spec.scheme == DNNQ_QSCHEME_PRESERVE_SPARSITY && dmin < 0 && dmax > 0);
	if (qs->symmetric && qs->bits < 2)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "symmetric quantization needs >= 2 bits");
	return DNNQ_OK;
}

/* ---- the 2-D and 1-D searches ---- */

static size_t step_to(size_t i, size_t g, size_t end)
{
	return end - i > g ? i + g : end;
}

static void try2(cost2_fn f, void *ctx, size_t i, size_t j, double *best, size_t *bi,
                 size_t *bj)
{
	double c = f(ctx, i, j, *best);
	if (c < *best) {
		*best = c;
		*bi = i;
		*bj = j;
	}
}

/* The +-2 step window around (ci, cj), clamped to the box. */
static void window2(cost2_fn f, void *ctx, const size_t box[4], size_t ci, size_t cj,
                    size_t g, double *best, size_t *bi, size_t *bj)
{
	for (int di = -2; di <= 2; di++) {
		for (int dj = -2; dj <= 2; dj++) {
			long long i = (long long)ci + di * (long long)g;
			long long j = (long long)cj + dj * (long long)g;
			if (i < (long long)box[0] || i > (long long)box[1] ||
			    j < (long long)box[2] || j > (long long)box[3] || (di == 0 && dj == 0))
				continue;
			try2(f, ctx, (size_t)i, (size_t)j, best, bi, bj);
		}
	}
}

void search2(cost2_fn f, void *ctx, size_t i0, size_t i1, size_t j0, size_t j1,
             size_t coarse, size_t *bi, size_t *bj)
{
	const size_t box[4] = { i0, i1, j0, j1 };
	size_t g = 1;
	while ((i1 - i0) / g > coarse || (j1 - j0) / g > coarse)
		g *= 2;
	double best = f(ctx, i0, j1, INFINITY);
	*bi = i0;
	*bj = j1;
	for (size_t i = i0;; i = step_to(i, g, i1)) {
		for (size_t jj = j0;; jj = step_to(jj, g, j1)) {
			size_t j = j1 - (jj - j0);          /* from j1 down to j0 */
			if (i != i0 || j != j1)
				try2(f, ctx, i, j, &best, bi, bj);
			if (jj == j1)
				break;
		}
		if (i == i1)
			break;
	}
	for (;;) {
		size_t ci = *bi, cj = *bj;
		window2(f, ctx, box, ci, cj, g, &best, bi, bj);
		if (*bi != ci || *bj != cj)
			continue;                            /* climb on at this step */
		if (g == 1)
			break;
		g /= 2;
	}
}

static void try1(cost1_fn f, void *ctx, size_t k, double *best, size_t *bk)
{
	double c = f(ctx, k, *best);
	if (c < *best) {
		*best = c;
		*bk = k;
	}
}

size_t search1(cost1_fn f, void *ctx, size_t n, size_t coarse)
{
	size_t g = 1, bk = 0;
	while ((n - 1) / g > coarse)
		g *= 2;
	double best = f(ctx, 0, INFINITY);
	for (size_t k = step_to(0, g, n - 1); k > 0; k = k == n - 1 ? 0 : step_to(k, g, n - 1))
		try1(f, ctx, k, &best, &bk);
	for (;;) {
		size_t c = bk;
		for (int d = -2; d <= 2; d++) {
			long long k = (long long)c + d * (long long)g;
			if (d && k >= 0 && k < (long long)n)
				try1(f, ctx, (size_t)k, &best, &bk);
		}
		if (bk != c)
			continue;
		if (g == 1)
			return bk;
		g /= 2;
	}
}

/* ---- min/max and percentile ---- */

static void minmax_range(double dmin, double dmax, struct qshape qs, double *lo, double *hi)
{
	if (qs.symmetric) {
		*hi = fmax(fabs(dmin), fabs(dmax));
		*lo = -*hi;
	} else {
		*lo = fmin(dmin, 0);
		*hi = fmax(dmax, 0);
	}
}

/* x with (model) mass T at or below it, T in (0, total]. */
static double quantile(const struct cview *v, double t)
{
	if (t <= 0)
		return v->dmin;
	size_t a = 0, b = v->n - 1;
	while (a < b) {                     /* first bin with cum[k + 1] >= t */
		size_t m = a + (b - a) / 2;
		if (v->cum[m + 1] >= t)
			b = m;
		else
			a = m + 1;
	}
	double l = v->edge[a], r = v->edge[a + 1], c = v->cnt[a];
	return c > 0 ? l + (r - l) * fmin((t - v->cum[a]) / c, 1) : l;
}

/* Mass at or below x. */
static double cdf(const struct cview *v, double x)
{
	size_t k = 0;
	while (k < v->n && v->edge[k + 1] <= x)
		k++;
	double f = v->cum[k];
	if (k < v->n && v->edge[k] < x)
		f += v->cnt[k] * (x - v->edge[k]) / (v->edge[k + 1] - v->edge[k]);
	return f;
}

static void percentile_range(const struct cview *v, struct qshape qs, double pct,
                             double *lo, double *hi)
{
	double t = pct / 100 * v->total;
	if (!qs.symmetric) {
		*lo = fmin(quantile(v, v->total - t), 0);
		*hi = fmax(quantile(v, t), 0);
		return;
	}
	double a = 0, b = fmax(-v->dmin, v->dmax);   /* mass in [-x, x] >= t at b */
	for (int it = 0; it < 100 && a < b; it++) {
		double m = a + (b - a) / 2;
		if (m <= a || m >= b)
			break;
		if (cdf(v, m) - cdf(v, -m) >= t)
			b = m;
		else
			a = m;
	}
	*lo = -b;
	*hi = b;
}

/* ---- zero-point snapping ---- */

static void consider(const struct cview *v, double z, double step, double L, int norm,
                     double *best, double *lo, double *hi)
{
	if (!(step > 0) || z * step > FLT_MAX || (L - 1 - z) * step > FLT_MAX)
		return;
	struct qmodel q = { -z * step, step, L, norm };
	double e = model_err(v, &q, *best);
	if (e < *best) {
		*best = e;
		*lo = -z * step;
		*hi = (L - 1 - z) * step;
	}
}

/*
 * An integer zero point moves the levels of a continuous range by up to half
 * a step, which at low precision can cost more than the search gained. So
 * for the parameters (not for dnnq_calib_range()) the L1/L2 searches score
 * the quantizers whose zero point is an integer next to the continuous one,
 * with the step kept or stretched to keep either end, and the one that
 * dnnq_choose_qparams() makes of [min, max]; the best one's range needs no
 * rounding.
 */
static void snap_zero_point(const struct cview *v, unsigned bits, int norm, double *lo,
                            double *hi)
{
	double L = ldexp(1.0, (int)bits), s = (*hi - *lo) / (L - 1), a = *lo, b = *hi;
	if (!(s > 0))
		return;
	double best = INFINITY, t = -a / s, z[2] = { floor(t), ceil(t) };
	for (int k = 0; k < 2; k++) {
		consider(v, z[k], s, L, norm, &best, lo, hi);
		if (z[k] > 0)
			consider(v, z[k], -a / z[k], L, norm, &best, lo, hi);
		if (z[k] < L - 1)
			consider(v, z[k], b / (L - 1 - z[k]), L, norm, &best, lo, hi);
	}
	double sm = (v->hi - v->lo) / (L - 1);
	consider(v, nearbyint(-v->lo / sm), sm, L, norm, &best, lo, hi);
}

/* ---- the public entry points ---- */

static int search(const struct dnnq_hist *h, const struct dnnq_calib_opts *o,
                  struct qshape qs, bool snap, double *lo, double *hi,
                  struct dnnq_diag *diag)
{
	struct cview v;
	if (cview_build(h, &v))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "histogram view: out of memory");
	int norm = o->method == DNNQ_CALIB_L1 ? 1 : 2;
	switch (o->method) {
	case DNNQ_CALIB_PERCENTILE:
		percentile_range(&v, qs, o->percentile ? o->percentile
		                                       : DNNQ_CALIB_DEFAULT_PERCENTILE, lo, hi);
		break;
	case DNNQ_CALIB_L1:
	case DNNQ_CALIB_L2:
	case DNNQ_CALIB_L2_APPROX:
		norm_range(&v, qs, norm, o->method == DNNQ_CALIB_L2_APPROX, lo, hi);
		if (snap && !qs.symmetric)
			snap_zero_point(&v, qs.bits, norm, lo, hi);
		break;
	case DNNQ_CALIB_KL:
		kl_range(&v, qs, lo, hi);
		break;
	default:
		minmax_range(v.dmin, v.dmax, qs, lo, hi);
	}
	cview_free(&v);
	return DNNQ_OK;
}

static int choose(const struct dnnq_hist *h, const struct dnnq_calib_opts *o, bool snap,
                  float *min, float *max, struct dnnq_diag *diag)
{
	if (!h || !h->counts || !min || !max)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "calib_range: NULL argument");
	struct qshape qs;
	int rc = resolve(o, h->min, h->max, &qs, diag);
	if (rc)
		return rc;
	double lo = 0, hi = 0;
	if (h->nfinite && h->min < h->max && o->method != DNNQ_CALIB_MINMAX)
		rc = search(h, o, qs, snap, &lo, &hi, diag);
	else if (h->nfinite)
		minmax_range(h->min, h->max, qs, &lo, &hi);
	*min = (float)lo;
	*max = (float)hi;
	return rc;
}

int dnnq_calib_range(const struct dnnq_hist *h, const struct dnnq_calib_opts *o,
                     float *min, float *max, struct dnnq_diag *diag)
{
	return choose(h, o, false, min, max, diag);
}

int dnnq_calib_qparams(const struct dnnq_hist *h, const struct dnnq_calib_opts *o,
                       struct dnnq_qparams *qp, float *min, float *max,
                       struct dnnq_diag *diag)
{
	float lo, hi;
	int rc = choose(h, o, true, &lo, &hi, diag);
	if (!rc)
		rc = dnnq_choose_qparams(lo, hi, &o->spec, qp, diag);
	if (!rc && min)
		*min = lo;
	if (!rc && max)
		*max = hi;
	return rc;
}

double dnnq_calib_model_error(const struct dnnq_hist *h, const struct dnnq_calib_opts *o,
                              float min, float max, int norm)
{
	struct qshape qs;
	struct cview v;
	if (!h || !h->counts || (norm != 1 && norm != 2) || !(min <= max) ||
	    resolve(o, h->min, h->max, &qs, NULL))
		return -1;
	if (!h->nfinite)
		return 0;
	if (cview_build(h, &v))
		return -1;
	struct qmodel q = qs.symmetric ? qmodel_sym(fmax(fabs(min), fabs(max)), qs.bits, norm)
	                               : qmodel_asym(fmin(min, 0), fmax(max, 0), qs.bits, norm);
	double e = model_err(&v, &q, INFINITY);
	cview_free(&v);
	return e;
}

/* ---- weights ---- */

static void row_minmax(const float *x, size_t n, float *lo, float *hi)
{
	float a = INFINITY, b = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		if (isfinite(x[i])) {
			a = x[i] < a ? x[i] : a;
			b = x[i] > b ? x[i] : b;
		}
	}
	*lo = a > b ? 0 : a;
	*hi = a > b ? 0 : b;
}

static int row_range(const float *x, size_t n, const struct dnnq_calib_opts *o,
                     struct dnnq_hist *h, float *lo, float *hi, struct dnnq_diag *diag)
{
	if (o->method != DNNQ_CALIB_MINMAX) {
		dnnq_hist_clear(h);
		dnnq_hist_add(h, x, n);
		return choose(h, o, true, lo, hi, diag);
	}
	struct qshape qs;
	float a, b;
	row_minmax(x, n, &a, &b);
	int rc = resolve(o, a, b, &qs, diag);
	double dlo, dhi;
	minmax_range(a, b, qs, &dlo, &dhi);
	*lo = (float)dlo;
	*hi = (float)dhi;
	return rc;
}

int dnnq_calib_per_channel(const float *w, size_t rows, size_t cols,
                           const struct dnnq_calib_opts *o, uint32_t nbins,
                           float *mins, float *maxs, struct dnnq_qparams *qp,
                           struct dnnq_diag *diag)
{
	size_t n;
	if (!qp || (rows && cols && !w) || !dnnq_mul_size(rows, cols, &n))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "per_channel: NULL or oversized matrix");
	int rc = dnnq_calib_opts_check(o, diag);
	struct dnnq_hist h = { 0 };
	if (!rc && o->method != DNNQ_CALIB_MINMAX)
		rc = dnnq_hist_init(&h, nbins, diag);
	for (size_t r = 0; !rc && r < rows; r++) {
		float lo = 0, hi = 0;
		rc = row_range(w + r * cols, cols, o, &h, &lo, &hi, diag);
		if (!rc)
			rc = dnnq_choose_qparams(lo, hi, &o->spec, &qp[r], diag);
		if (rc && diag) {
			char m[sizeof diag->msg];
			memcpy(m, diag->msg, sizeof m);
			dnnq_diag_set(diag, rc, "row %zu: %s", r, m);
		}
		if (mins)
			mins[r] = lo;
		if (maxs)
			maxs[r] = hi;
	}
	if (h.counts)
		dnnq_hist_destroy(&h);
	return rc;
}
