/*
 * The searches' view of a histogram and the quantization-error model
 * (calibration/calib-internal.h; formulas in docs/calibration.md).
 *
 * Error of one bin [l, r] holding c values at density d = c / (r - l), for
 * levels lo + k s (k = 0..L-1) and hi = lo + (L-1) s:
 *   below lo:  d * ((lo - l)^(p+1) - (lo - r)^(p+1)) / (p+1)    (clipped)
 *   above hi:  d * ((r - hi)^(p+1) - (l - hi)^(p+1)) / (p+1)    (clipped)
 *   inside:    d * s^(p+1) * (H(u_r) - H(u_l)),  u = (x - lo) / s,
 * where H is the antiderivative of |u - round(u)|^p from 0: with n = round(u)
 * and v = u - n, H2(u) = n/12 + v^3/3 and H1(u) = n/4 + sign(v) v^2/2. A bin
 * many steps wide thus costs c s^2/12 (L2), the textbook noise; a bin narrower
 * than a step follows the shape of the density, which is what puts the 1-bit
 * Gaussian optimum at +-0.798 and not at the +-0.83 that s^2/12 alone gives.
 * Bins wholly outside the range come from prefix sums of the bins' moments,
 * so a candidate costs only the bins inside it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/calib-internal.h"

void cview_free(struct cview *v)
{
	free(v->edge);
	free(v->cnt);
	free(v->cum);
	free(v->m1);
	free(v->m2);
	free(v->dens);
	free(v->gcnt);
	free(v->gcum);
	memset(v, 0, sizeof *v);
}

/* Appends bin [edge[n], r] with c values; empty zero-width bins are dropped. */
static void push(struct cview *v, double r, double c)
{
	if (r == v->edge[v->n] && c == 0)
		return;
	v->cnt[v->n] = c;
	v->edge[++v->n] = r;
}

/* Grid bin g cut to [lo, hi], and split at dmin / dmax so that the part
 * holding data is the only one with a count. */
static void push_grid_bin(struct cview *v, size_t g)
{
	double l = (double)(v->k0 + (int64_t)g) * v->w;
	double a = fmax(l, v->lo), b = fmin(l + v->w, v->hi), c = v->gcnt[g];
	if (c == 0) {
		push(v, b, 0);
		return;
	}
	double da = fmax(a, v->dmin), db = fmin(b, v->dmax);
	push(v, da, 0);
	v->cnt[v->n] = c;            /* a point mass when da == db */
	v->edge[++v->n] = db;
	push(v, b, 0);
}

static void prefix_sums(struct cview *v)
{
	v->cum[0] = v->m1[0] = v->m2[0] = 0;
	for (size_t k = 0; k < v->n; k++) {
		double l = v->edge[k], r = v->edge[k + 1], c = v->cnt[k];
		v->cum[k + 1] = v->cum[k] + c;
		v->m1[k + 1] = v->m1[k] + c * (l + r) / 2;
		v->m2[k + 1] = v->m2[k] + c * (l * l + l * r + r * r) / 3;
		v->dens[k] = c != 0 && r > l ? c / (r - l) : 0;
		v->dsum += v->dens[k];
	}
	v->total = v->cum[v->n];
	v->izero = 0;
	while (v->izero < v->n && v->edge[v->izero] < 0)
		v->izero++;
	v->gcum[0] = 0;
	for (size_t g = 0; g < v->gn; g++)
		v->gcum[g + 1] = v->gcum[g] + v->gcnt[g];
}

static int cview_alloc(struct cview *v, size_t gn)
{
	size_t cap = 3 * gn + 2;
	v->edge = calloc(cap + 1, sizeof *v->edge);
	v->cnt = calloc(cap, sizeof *v->cnt);
	v->cum = calloc(cap + 1, sizeof *v->cum);
	v->m1 = calloc(cap + 1, sizeof *v->m1);
	v->m2 = calloc(cap + 1, sizeof *v->m2);
	v->dens = calloc(cap, sizeof *v->dens);
	v->gcnt = calloc(gn, sizeof *v->gcnt);
	v->gcum = calloc(gn + 1, sizeof *v->gcum);
	if (!v->edge || !v->cnt || !v->cum || !v->m1 || !v->m2 || !v->dens || !v->gcnt || !v->gcum) {
		cview_free(v);
		return DNNQ_E_NOMEM;
	}
	v->gn = gn;
	return DNNQ_OK;
}

int cview_build(const struct dnnq_hist *h, struct cview *v)
{
	memset(v, 0, sizeof *v);
	if (!h->nfinite)
		return DNNQ_E_INVAL;
	double dmin = h->min, dmax = h->max, lo = fmin(dmin, 0), hi = fmax(dmax, 0);
	int32_t e;
	int64_t k0;
	dnnq_hist_grid(lo, hi, h->nbins, &e, &k0);   /* coarser than h's: it holds more */
	double w = ldexp(1.0, e);
	size_t gn = (size_t)((int64_t)floor(hi / w) - k0 + 1);
	if (cview_alloc(v, gn))
		return DNNQ_E_NOMEM;
	dnnq_hist_counts_on(h, e, k0, v->gcnt, gn);
	v->avx2 = dnnq_isa_supported(DNNQ_ISA_AVX2);
	v->w = w;
	v->k0 = k0;
	v->dmin = dmin;
	v->dmax = dmax;
	v->lo = lo;
	v->hi = hi;
	v->edge[0] = lo;
	for (size_t g = 0; g < gn; g++)
		push_grid_bin(v, g);
	prefix_sums(v);
	return DNNQ_OK;
}

struct qmodel qmodel_asym(double lo, double hi, unsigned bits, int norm)
{
	double L = ldexp(1.0, (int)bits);
	return (struct qmodel){ lo, (hi - lo) / (L - 1), L, norm };
}

struct qmodel qmodel_sym(double a, unsigned bits, int norm)
{
	double half = ldexp(1.0, (int)bits - 1), s = a / (half - 1);
	return (struct qmodel){ -half * s, s, 2 * half, norm };
}

/* nearbyint(u) in the default rounding mode, for |u| < 2^51, without
 * libm's call: adding 1.5 * 2^52 leaves no fraction bits, so the sum is u
 * rounded to nearest even. saw's arguments lie in [0, 2^bits]. */
static inline double round_even(double u)
{
	return (u + 0x1.8p52) - 0x1.8p52;   /* not folded: IEEE forbids it */
}

/* Antiderivative of |u - round(u)|^p from 0. */
static double saw(double u, int p)
{
	double n = round_even(u), t = u - n;
	return p == 2 ? n / 12 + t * t * t / 3 : n / 4 + (t < 0 ? -t * t : t * t) / 2;
}

void saws_scalar(const double *x, size_t n, double lo, double s, int p, double *out)
{
	for (size_t k = 0; k < n; k++)
		out[k] = saw((x[k] - lo) / s, p);
}

static double powp(double x, int p)
{
	return p == 2 ? x * x : x;
}

/* |x - Q(x)|^p of one value. */
static double point_err(double x, const struct qmodel *q, double hi)
{
	if (x <= q->lo)
		return powp(q->lo - x, q->norm);
	if (x >= hi)
		return powp(x - hi, q->norm);
	double u = (x - q->lo) / q->s;
	return powp(fabs(u - nearbyint(u)) * q->s, q->norm);
}

static double bin_err(double l, double r, double c, const struct qmodel *q, double hi)
{
	if (c == 0)
		return 0;
	if (r <= l)
		return c * point_err(l, q, hi);
	int p = q->norm;
	double d = c / (r - l), e = 0;
	if (l < q->lo) {
		double x1 = fmin(r, q->lo);
		e += (powp(q->lo - l, p) * (q->lo - l) - powp(q->lo - x1, p) * (q->lo - x1)) / (p + 1);
	}
	double a = fmax(l, q->lo), b = fmin(r, hi);
	if (a < b && q->s > 0) {
		double sp = powp(q->s, p) * q->s;
		e += sp * (saw((b - q->lo) / q->s, p) - saw((a - q->lo) / q->s, p));
	}
	if (r > hi) {
		double x0 = fmax(l, hi);
		e += (powp(r - hi, p) * (r - hi) - powp(x0 - hi, p) * (x0 - hi)) / (p + 1);
	}
	return d * e;
}

/* Number of leading bins with edge[k + 1] <= x. */
static size_t bins_upto(const struct cview *v, double x)
{
	size_t a = 0, b = v->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (v->edge[m + 1] <= x)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* First bin with edge[k] >= x, at least `from`. */
static size_t bins_from(const struct cview *v, double x, size_t from)
{
	size_t a = from, b = v->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (v->edge[m] < x)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* Clipping error of the bins [0, kb) below lo and [ka, n) above hi. */
static double clip_err(const struct cview *v, const struct qmodel *q, double hi,
                       size_t kb, size_t ka)
{
	double c = v->cum[kb], s1 = v->m1[kb], s2 = v->m2[kb], lo = q->lo;
	double below = q->norm == 2 ? lo * lo * c - 2 * lo * s1 + s2 : lo * c - s1;
	c = v->total - v->cum[ka];
	s1 = v->m1[v->n] - v->m1[ka];
	s2 = v->m2[v->n] - v->m2[ka];
	double above = q->norm == 2 ? s2 - 2 * hi * s1 + hi * hi * c : s1 - hi * c;
	return fmax(below, 0) + fmax(above, 0);
}

/*
 * The early exit. Every term model_err adds is the float image of a
 * non-negative quantity, but the inside terms d s^(p+1) (H(u_r) - H(u_l))
 * can come out below 0 when both saws round: each H is computed within 2
 * ulps of H's largest value, under L/4 + 1, so a term is at least
 * -d s^(p+1) (L/4 + 1) 2^-49, and the terms still to come at least
 * -neg = -dsum s^(p+1) (L/4 + 1) 2^-49 together. Adding a term rounds
 * monotonically, so from a partial sum e the full one is at least
 * (e - neg)(1 - 2^-53)^m for m < 2^26 terms more, above bound once
 * e > bound (1 + 2^-26) + neg. Past that, the rest cannot bring the sum
 * back below bound, and model_err returns the partial sum.
 */
static double exit_above(const struct cview *v, const struct qmodel *q, double bound)
{
	double sp = powp(q->s, q->norm) * q->s;
	return bound * (1 + 0x1p-26) + v->dsum * sp * (q->L / 4 + 1) * 0x1p-49;
}

/* Saws a step of model_err's loop. */
#define SAW_RUN 64

/* The bins between the first and the last in range lie inside [lo, hi]:
 * their error is bin_err's middle term alone, and each edge's saw serves
 * the bins on both its sides (the same operations as bin_err, once per
 * edge, a run of SAW_RUN edges at a time: the searches spend most of
 * their time here). A NaN exit_above (s not > 0) never exits. */
double model_err(const struct cview *v, const struct qmodel *q, double bound)
{
	double hi = q->lo + (q->L - 1) * q->s, stop = exit_above(v, q, bound);
	size_t kb = bins_upto(v, q->lo), ka = bins_from(v, hi, kb);
	double e = clip_err(v, q, hi, kb, ka);
	if (e > stop)
		return e;
	if (ka <= kb + 2 || !(q->s > 0)) {
		for (size_t k = kb; k < ka; k++)
			e += bin_err(v->edge[k], v->edge[k + 1], v->cnt[k], q, hi);
		return e;
	}
	e += bin_err(v->edge[kb], v->edge[kb + 1], v->cnt[kb], q, hi);
	int p = q->norm;
	double sp = powp(q->s, p) * q->s, saws[SAW_RUN + 1];
	saws[0] = saw((v->edge[kb + 1] - q->lo) / q->s, p);
	for (size_t k0 = kb + 1; k0 + 1 < ka; k0 += SAW_RUN) {
		size_t m = ka - 1 - k0 < SAW_RUN ? ka - 1 - k0 : SAW_RUN;   /* bins k0..k0+m-1 */
		(v->avx2 ? saws_avx2 : saws_scalar)(v->edge + k0 + 1, m, q->lo, q->s, p, saws + 1);
		for (size_t i = 0; i < m; i++) {
			size_t k = k0 + i;
			double l = v->edge[k], r = v->edge[k + 1], c = v->cnt[k];
			if (c != 0)
				e += r <= l ? c * point_err(l, q, hi)
				            : v->dens[k] * (sp * (saws[i + 1] - saws[i]));
			if (e > stop)
				return e;
		}
		saws[0] = saws[m];
	}
	return e + bin_err(v->edge[ka - 1], v->edge[ka], v->cnt[ka - 1], q, hi);
}
