/*
 * L1 / L2 range searches over the histogram view (view.c scores a range).
 *
 * Exact, asymmetric: the candidates are the ranges [edge[i], edge[j]] with
 * i <= izero <= j (bin edges, 0 inside, [min, max] among them). search2()
 * scores every pair of a grid of at most COARSE + 2 edges a side, then
 * halves the step around the best down to single bins; a candidate costs
 * only the bins inside it. Symmetric: the candidates are max|x| and the grid
 * edges k * w below it, every one scored up to SYM_COARSE of them (search1()
 * strides and refines beyond that).
 *
 * Approximate (as Caffe2 DNNLOWP's l2_approx): from [min, max], step in from
 * the end whose next bins hold fewer values (Caffe2 steps both ends by equal
 * quantiles, which comes to the same: the thinner tail goes first), or from
 * the other end if that does not lower the modelled error; when neither
 * does, halve the step, and stop at one bin. The first step is one bin for
 * up to GREEDY_STEPS bins (two for the default 2048), so the walk costs
 * about GREEDY_STEPS evaluations whatever the bin count. Symmetric: a walks
 * down the candidates the same way.
 */
#include <math.h>

#include "calibration/calib-internal.h"

#define COARSE 128          /* asymmetric: coarse grid edges a side */
#define SYM_COARSE 2048     /* symmetric: candidates scored one by one */
#define GREEDY_STEPS 1024   /* greedy: first step, in candidates */

struct nctx {
	const struct cview *v;
	unsigned bits;
	int norm;
};

static double asym_cost(void *p, size_t i, size_t j, double bound)
{
	const struct nctx *c = p;
	struct qmodel q = qmodel_asym(c->v->edge[i], c->v->edge[j], c->bits, c->norm);
	return model_err(c->v, &q, bound);
}

static double sym_cost(const struct nctx *c, double a, double bound)
{
	struct qmodel q = qmodel_sym(a, c->bits, c->norm);
	return model_err(c->v, &q, bound);
}

/* Symmetric candidates k = 0..sym_count()-1: max|x|, then the grid edges
 * below it, downwards. */
static size_t sym_count(const struct cview *v)
{
	return (size_t)ceil(fmax(-v->lo, v->hi) / v->w);
}

static double sym_candidate(const struct cview *v, size_t k)
{
	double amax = fmax(-v->lo, v->hi);
	return k == 0 ? amax : (ceil(amax / v->w) - (double)k) * v->w;
}

static double sym_cost_k(void *p, size_t k, double bound)
{
	const struct nctx *c = p;
	return sym_cost(c, sym_candidate(c->v, k), bound);
}

/* The first step of the greedy walks: 1 bin up to GREEDY_STEPS candidates. */
static size_t first_step(size_t n)
{
	size_t g = 1;
	while (n / g > GREEDY_STEPS)
		g *= 2;
	return g;
}

/* Down the candidates while the error falls, the step halving at the end. */
static size_t sym_greedy(const struct nctx *c)
{
	size_t n = sym_count(c->v), k = 0, g = first_step(n);
	double cur = sym_cost_k((void *)c, 0, INFINITY);
	for (;;) {
		double e = k + g < n ? sym_cost_k((void *)c, k + g, cur) : INFINITY;
		if (e < cur) {
			cur = e;
			k += g;
		} else if (g > 1) {
			g /= 2;
		} else {
			return k;
		}
	}
}

/* Moves end i up (or j down) by up to g bins, not past the zero edge, when
 * that lowers *cur. */
static bool try_move(const struct nctx *c, size_t *i, size_t *j, size_t g, bool left,
                     double *cur)
{
	size_t z = c->v->izero, d = left ? z - *i : *j - z;
	if (!d)
		return false;
	d = d < g ? d : g;
	double e = left ? asym_cost((void *)c, *i + d, *j, *cur)
	                : asym_cost((void *)c, *i, *j - d, *cur);
	if (!(e < *cur))
		return false;
	*cur = e;
	if (left)
		*i += d;
	else
		*j -= d;
	return true;
}

/* The thinner tail goes first, as Caffe2's equal-quantile steps do. */
static void asym_greedy(const struct nctx *c, size_t *bi, size_t *bj)
{
	const struct cview *v = c->v;
	size_t i = 0, j = v->n, g = first_step(v->n);
	double cur = asym_cost((void *)c, i, j, INFINITY);
	while (i < j) {
		size_t gl = i + g < v->n ? g : v->n - i, gr = j > g ? g : j;
		bool left = v->cum[i + gl] - v->cum[i] <= v->cum[j] - v->cum[j - gr];
		if (try_move(c, &i, &j, g, left, &cur) || try_move(c, &i, &j, g, !left, &cur))
			continue;
		if (g == 1)
			break;
		g /= 2;
	}
	*bi = i;
	*bj = j;
}

void norm_range(const struct cview *v, struct qshape qs, int norm, bool approx,
                double *lo, double *hi)
{
	struct nctx c = { v, qs.bits, norm };
	if (qs.symmetric) {
		size_t k = approx ? sym_greedy(&c)
		                  : search1(sym_cost_k, &c, sym_count(v), SYM_COARSE);
		*hi = sym_candidate(v, k);
		*lo = -*hi;
		return;
	}
	size_t i, j;
	if (approx)
		asym_greedy(&c, &i, &j);
	else
		search2(asym_cost, &c, 0, v->izero, v->izero, v->n, COARSE, &i, &j);
	*lo = v->edge[i];
	*hi = v->edge[j];
}
