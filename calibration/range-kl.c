/*
 * KL-divergence (entropy) calibration, the TensorRT method, on the view's
 * uniform grid.
 *
 * A candidate keeps bins [i, j). Reference P: the counts of bins i..j-1, with
 * every value left of i added to the first bin and every value right of j to
 * the last (clipped values land on the edge levels). Candidate Q: the same
 * bins without the folded tails, cut into L chunks of (j - i) / L bins (the
 * last chunk takes the remainder); a chunk's count is spread evenly over the
 * bins where P is non-zero and Q stays 0 where P is 0. The score is
 * KL(P || Q) with both normalised; where P > 0 but the chunk is empty (an
 * empty chunk under a folded tail) Q gets a count of 1e-4 instead of
 * making the divergence infinite. A candidate needs at least L bins; the
 * smallest divergence wins, ties going to the wider range.
 *
 * Symmetric: the |x| histogram (|x| bin k holds grid bins k and -k-1),
 * L = 2^(bits-1), candidates [0, i) for i = L..n, threshold i * w (max|x| for
 * i = n). Asymmetric: the signed grid, L = 2^bits, candidates with
 * i <= (edge at 0) <= j, through search2(). With fewer bins than levels
 * nothing can be gained by clipping and the range is [min, max].
 */
#include <math.h>
#include <stdlib.h>

#include "calibration/calib-internal.h"

#define COARSE 64
#define EMPTY_Q 1e-4

struct klh {
	const double *c, *cum;    /* n counts, n + 1 prefix sums */
	size_t n, L;
};

static double p_count(const struct klh *k, size_t b, size_t i, size_t j)
{
	double p = k->c[b];
	if (b == i)
		p += k->cum[i];
	if (b == j - 1)
		p += k->cum[k->n] - k->cum[j];
	return p;
}

/* Sum over one chunk [s, e) of p log(p / q), counts unnormalised. */
static double chunk_term(const struct klh *k, size_t s, size_t e, size_t i, size_t j)
{
	size_t nz = 0;
	for (size_t b = s; b < e; b++)
		nz += p_count(k, b, i, j) > 0;
	if (!nz)
		return 0;
	double q = (k->cum[e] - k->cum[s]) / (double)nz, t = 0;
	if (q <= 0)
		q = EMPTY_Q;
	for (size_t b = s; b < e; b++) {
		double p = p_count(k, b, i, j);
		if (p > 0)
			t += p * log(p / q);
	}
	return t;
}

/* KL(P || Q) = sum p/np log((p/np) / (q/nq)) = log(nq/np) + sum p log(p/q) / np.
 * Always the full sum (search2's bound is for model_err's early exit). */
static double kl_div(void *ctx, size_t i, size_t j, double bound)
{
	const struct klh *k = ctx;
	(void)bound;
	size_t L = k->L;
	if (j < i || j - i < L || !(k->cum[j] - k->cum[i] > 0))
		return INFINITY;
	double np = k->cum[k->n], nq = k->cum[j] - k->cum[i];
	size_t per = (j - i) / L;
	double t = 0;
	for (size_t c = 0; c < L; c++) {
		size_t s = i + c * per;
		t += chunk_term(k, s, c == L - 1 ? j : s + per, i, j);
	}
	return log(nq / np) + t / np;
}

static int abs_counts(const struct cview *v, double **c, double **cum, size_t *n)
{
	int64_t k1 = v->k0 + (int64_t)v->gn - 1;
	size_t na = (size_t)(k1 + 1 > -v->k0 ? k1 + 1 : -v->k0);
	*c = calloc(na, sizeof **c);
	*cum = calloc(na + 1, sizeof **cum);
	if (!*c || !*cum)
		return DNNQ_E_NOMEM;
	for (size_t g = 0; g < v->gn; g++) {
		int64_t k = v->k0 + (int64_t)g;
		(*c)[k >= 0 ? k : -k - 1] += v->gcnt[g];
	}
	while (na > 1 && (*c)[na - 1] == 0)
		na--;
	for (size_t b = 0; b < na; b++)
		(*cum)[b + 1] = (*cum)[b] + (*c)[b];
	*n = na;
	return DNNQ_OK;
}

static double kl_sym(const struct cview *v, unsigned bits)
{
	double amax = fmax(-v->lo, v->hi), *c = NULL, *cum = NULL;
	size_t n = 0;
	if (abs_counts(v, &c, &cum, &n)) {
		free(c);
		free(cum);
		return amax;            /* no memory to search: the safe range */
	}
	struct klh k = { c, cum, n, (size_t)1 << (bits - 1) };
	double best = INFINITY, a = amax;
	for (size_t i = n; i >= k.L && i > 0; i--) {
		double d = kl_div(&k, 0, i, INFINITY);
		if (d < best) {
			best = d;
			a = i == n ? amax : (double)i * v->w;
		}
	}
	free(c);
	free(cum);
	return a;
}

void kl_range(const struct cview *v, struct qshape qs, double *lo, double *hi)
{
	if (qs.symmetric) {
		*hi = kl_sym(v, qs.bits);
		*lo = -*hi;
		return;
	}
	struct klh k = { v->gcnt, v->gcum, v->gn, (size_t)1 << qs.bits };
	size_t iz = (size_t)-v->k0, i = 0, j = v->gn;
	if (v->gn >= k.L)
		search2(kl_div, &k, 0, iz, iz, v->gn, COARSE, &i, &j);
	*lo = i == 0 ? v->lo : (double)(v->k0 + (int64_t)i) * v->w;
	*hi = j == v->gn ? v->hi : (double)(v->k0 + (int64_t)j) * v->w;
}
