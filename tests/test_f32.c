/*
 * The fp32 twins (engine/f32.h), for every ISA this CPU runs, against plain
 * double-precision references written here:
 *   - exp (engine/f32-kernels.h): within 2 ulp of exp over [-104, 88.7],
 *     +inf above, NaN through;
 *   - Relu, Clip, LeakyRelu, HardSigmoid, HardSwish, eltwise, ewlin, MaxPool:
 *     exactly the float formula (in the operands' order);
 *   - Sigmoid, Tanh: within 4 ulp of the double function; Softmax within
 *     (4 + |x - max|) ulp (the float subtraction x - max is rounded before
 *     exp sees it);
 *   - the sums (AveragePool, GlobalAveragePool, convolution, FC): error at
 *     most 1e-5 of the sum of the terms' magnitudes;
 *   - the SIMD kernels bit-identical to the scalar ones, but convolution and
 *     FC (OpenBLAS, FMA: the tolerance above);
 *   - a 2-thread executor writes the very bytes the calling thread does.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/pool.h"
#include "engine/f32-kernels.h"
#include "engine/wcache.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

static struct dnnq_pool *pool2;
static struct dnnq_executor ex2;

static void setup(void)
{
	pool2 = dnnq_pool_create(2, NULL);
	ck_assert_ptr_nonnull(pool2);
	ex2 = dnnq_pool_executor(pool2);
}

static void teardown(void)
{
	dnnq_pool_destroy(pool2);
}

static float *fvec(size_t n)
{
	float *p = malloc((n ? n : 1) * sizeof *p);
	ck_assert_ptr_nonnull(p);
	return p;
}

static float *frand(struct rng *r, size_t n, double lo, double hi)
{
	float *p = fvec(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (float)rng_uniform(r, lo, hi);
	return p;
}

/* Distance in ulps between two finite floats (or equal infinities). */
static double ulps(float a, double ref)
{
	float b = (float)ref;
	if (a == b)
		return 0;
	double u = fabs(ref) < FLT_MIN ? FLT_TRUE_MIN : nextafterf(fabsf(b), INFINITY) - fabsf(b);
	return fabs((double)a - ref) / u;
}

/* Bit-identical, or both NaN. */
static void same(const float *a, const float *b, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (!(isnan(a[i]) && isnan(b[i])) && memcmp(&a[i], &b[i], sizeof a[i]))
			ck_abort_msg("%s: element %zu: %a vs %a", what, i, a[i], b[i]);
}

/* |y - ref| <= 1e-5 * mag (mag: the sum of the terms' magnitudes). */
static void near_sum(const float *y, const double *ref, const double *mag, size_t n,
                     const char *what)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fabs(y[i] - ref[i]) <= 1e-5 * mag[i] + 1e-30,
		              "%s: element %zu: %.9g vs %.9g (magnitude %g)", what, i, y[i], ref[i],
		              mag[i]);
}

/* ---- exp ----------------------------------------------------------------- */

START_TEST(exp_accuracy)
{
	double worst = 0;
	for (float x = -104.5f; x < 89.0f; x += 0.00731f) {
		double u = ulps(dnnq_f32_exp(x), exp((double)x));
		worst = u > worst ? u : worst;
		ck_assert_msg(u <= 2, "exp(%a): %a, %g ulp", x, dnnq_f32_exp(x), u);
	}
	const float edge[] = { DNNQ_F32_EXP_HI, -87.33654f, -87.3365479f, -103.9f, 0.0f, -0.0f,
	                       1e-8f, -1e-8f, 0.34657359f, -0.34657359f };
	for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
		ck_assert_double_le(ulps(dnnq_f32_exp(edge[i]), exp((double)edge[i])), 2);
	ck_assert(isinf(dnnq_f32_exp(nextafterf(DNNQ_F32_EXP_HI, INFINITY))));
	ck_assert(isinf(dnnq_f32_exp(INFINITY)) && dnnq_f32_exp(1e30f) == INFINITY);
	ck_assert(dnnq_f32_exp(-INFINITY) == 0 && dnnq_f32_exp(-1e30f) == 0);
	ck_assert(isnan(dnnq_f32_exp(NAN)));
	printf("f32: exp within %.2f ulp of exp over [-104.5, 89]\n", worst);
}
END_TEST

/* ---- activations --------------------------------------------------------- */

static const struct dnnq_act_params act_p = { 0.2f, 0.5f, -0.75f, 1.5f };

/* The float formula of the exact kinds; the double function of the others. */
static double act_ref(enum dnnq_activation_kind kind, float x)
{
	const struct dnnq_act_params *p = &act_p;
	float t;
	switch (kind) {
	case DNNQ_ACT_RELU:
		return x < 0 ? 0.0f : x;
	case DNNQ_ACT_CLIP:
		return isnan(x) ? x : x < p->min ? p->min : x > p->max ? p->max : x;
	case DNNQ_ACT_LEAKY_RELU:
		return x >= 0 ? x : p->alpha * x;
	case DNNQ_ACT_SIGMOID:
		return 1.0 / (1.0 + exp(-(double)x));
	case DNNQ_ACT_TANH:
		return tanh((double)x);
	case DNNQ_ACT_HARD_SIGMOID:
		t = p->alpha * x + p->beta;
		return t < 0 ? 0.0f : t > 1 ? 1.0f : t;
	case DNNQ_ACT_HARD_SWISH:
		t = x / 6.0f + 0.5f;
		t = t < 0 ? 0.0f : t > 1 ? 1.0f : t;
		return x * t;
	case DNNQ_ACT_ELU:
		return x > 0 ? x : p->alpha * expm1((double)x);
	case DNNQ_ACT_SELU:
		return p->beta * (x > 0 ? x : p->alpha * expm1((double)x));
	case DNNQ_ACT_CELU:
		return x > 0 ? x : p->alpha * expm1((double)x / p->alpha);
	case DNNQ_ACT_SHRINK:
		return x < -p->alpha ? x + p->beta : x > p->alpha ? x - p->beta : 0.0f;
	case DNNQ_ACT_THRESHOLDED_RELU:
		return x > p->alpha ? x : 0.0f;
	}
	return NAN;
}

START_TEST(activations)
{
	struct rng r = { 11 };
	size_t n = 4099;
	float *x = frand(&r, n, -20, 20), *y = fvec(n), *y0 = fvec(n), *y2 = fvec(n);
	const float special[] = { 0.0f, -0.0f, INFINITY, -INFINITY, NAN, 100.0f, -100.0f, 1e-5f,
	                          -1e-5f, 1e-40f, -1e-40f, 0.6249f, 0.625f, -0.625f, 9.0f, 90.0f,
	                          -90.0f, 1.5f, -0.75f, 3.0f, -3.0f };
	memcpy(x, special, sizeof special);
	for (int kind = DNNQ_ACT_RELU; kind <= DNNQ_ACT_LAST; kind++) {
		bool approx = kind == DNNQ_ACT_SIGMOID || kind == DNNQ_ACT_TANH ||
		              (kind >= DNNQ_ACT_ELU && kind <= DNNQ_ACT_CELU);
		double worst = 0;
		FOR_EACH_ISA(isa) {
			dnnq_f32_activation(isa, kind, &act_p, n, x, y, NULL);
			for (size_t i = 0; i < n; i++) {
				double ref = act_ref(kind, x[i]);
				if (isnan(ref) || isinf(ref)) {
					ck_assert_msg(isnan(ref) ? isnan(y[i]) : y[i] == ref,
					              "act %d: x %a: %a", kind, x[i], y[i]);
					continue;
				}
				/* the Elu kinds compute e^x - 1 with the engine's exp: near 0 the
				 * subtraction cancels, so they are held to ulps of alpha there
				 * (of alpha * gamma for Selu) */
				double floor = !approx || kind < DNNQ_ACT_ELU ? 0
				               : fabs(act_p.alpha * (kind == DNNQ_ACT_SELU ? act_p.beta : 1));
				double u = !approx ? (y[i] == (float)ref ? 0 : 1e9)
				           : fabs(ref) >= floor ? ulps(y[i], ref)
				           : fabs(y[i] - ref) / (floor * 0x1p-23);
				worst = u > worst ? u : worst;
				ck_assert_msg(u <= (approx ? 4 : 0), "act %d (%s): x %a: %a vs %a (%g ulp)",
				              kind, dnnq_isa_name(isa), x[i], y[i], ref, u);
			}
			if (isa == DNNQ_ISA_SCALAR)
				memcpy(y0, y, n * sizeof *y);
			same(y, y0, n, "activation vs scalar");
			/* in place, 2 threads */
			memcpy(y2, x, n * sizeof *x);
			dnnq_f32_activation(isa, kind, &act_p, n, y2, y2, &ex2);
			same(y2, y, n, "activation in place, 2 threads");
		}
		if (approx)
			printf("f32: activation %d within %.2f ulp\n", kind, worst);
	}
	free(x), free(y), free(y0), free(y2);
}
END_TEST

/* ---- softmax ------------------------------------------------------------- */

static void softmax_check(const float *x, const float *y, size_t rows, size_t c)
{
	for (size_t r = 0; r < rows; r++) {
		const float *xr = x + r * c;
		double mx = -INFINITY, s = 0;
		for (size_t i = 0; i < c; i++)
			mx = xr[i] > mx ? xr[i] : mx;
		for (size_t i = 0; i < c; i++)
			s += exp(xr[i] - mx);
		for (size_t i = 0; i < c; i++) {
			double ref = exp(xr[i] - mx) / s, d = fabs(xr[i] - mx);
			double tol = 4 + (isinf(d) ? 0 : d);
			ck_assert_msg(ulps(y[r * c + i], ref) <= tol, "softmax row %zu [%zu]: %a vs %a",
			              r, i, y[r * c + i], ref);
		}
	}
}

START_TEST(softmax)
{
	struct rng r = { 12 };
	static const size_t cs[] = { 1, 3, 8, 17, 64, 1000 };
	for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
		size_t c = cs[ci], rows = 7, n = rows * c;
		float *x = frand(&r, n, -10, 10), *y = fvec(n), *y0 = fvec(n), *y2 = fvec(n);
		for (size_t i = 0; i < c; i++) {
			x[c + i] *= 1000.0f;                            /* large magnitudes */
			x[2 * c + i] = i % 3 ? -INFINITY : x[2 * c + i]; /* -inf entries */
			x[3 * c + i] = 3e38f - (float)i * 1e32f;        /* near FLT_MAX */
		}
		FOR_EACH_ISA(isa) {
			dnnq_f32_softmax(isa, rows, c, x, y, NULL);
			softmax_check(x, y, rows, c);
			if (isa == DNNQ_ISA_SCALAR)
				memcpy(y0, y, n * sizeof *y);
			same(y, y0, n, "softmax vs scalar");
			memcpy(y2, x, n * sizeof *x);
			dnnq_f32_softmax(isa, rows, c, y2, y2, &ex2);
			same(y2, y, n, "softmax in place, 2 threads");
		}
		free(x), free(y), free(y0), free(y2);
	}
	/* a row of NaN gives NaN */
	float xn[9] = { 1, 2, NAN, 4, 5, 6, 7, 8, 9 }, yn[9];
	FOR_EACH_ISA(isa) {
		dnnq_f32_softmax(isa, 1, 9, xn, yn, NULL);
		for (int i = 0; i < 9; i++)
			ck_assert(isnan(yn[i]));
	}
}
END_TEST

/* ---- eltwise, ewlin ------------------------------------------------------ */

START_TEST(eltwise)
{
	struct rng r = { 13 };
	const size_t c = 19, n = c * 1000;   /* several chunks */
	static const struct { enum dnnq_eltwise_op op; size_t k; } ops[] = {
		{ DNNQ_ELTWISE_ADD, 2 }, { DNNQ_ELTWISE_MUL, 2 }, { DNNQ_ELTWISE_SUM, 3 },
		{ DNNQ_ELTWISE_SUM, 16 }, { DNNQ_ELTWISE_SUM_RELU, 4 },
	};
	float *buf[DNNQ_ELTWISE_MAX_INPUTS];
	for (size_t k = 0; k < DNNQ_ELTWISE_MAX_INPUTS; k++)
		buf[k] = frand(&r, n, -3, 3);
	float *y = fvec(n), *y2 = fvec(n), *ref = fvec(n);
	for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
	for (int b = 0; b < 9; b++) {
		enum dnnq_broadcast bc[DNNQ_ELTWISE_MAX_INPUTS] = { DNNQ_BCAST_NONE };
		const float *in[DNNQ_ELTWISE_MAX_INPUTS];
		size_t k = ops[o].k;
		for (size_t j = 1; j < k; j++)
			bc[j] = (enum dnnq_broadcast)((b / (j == 1 ? 1 : 3) + j) % 3);
		for (size_t j = 0; j < k; j++)
			in[j] = buf[j];
		for (size_t i = 0; i < n; i++) {
			float t = in[0][i];
			for (size_t j = 1; j < k; j++) {
				float v = in[j][bc[j] == DNNQ_BCAST_NONE ? i : bc[j] == DNNQ_BCAST_SCALAR ? 0
				                                                                  : i % c];
				t = ops[o].op == DNNQ_ELTWISE_MUL ? t * v : t + v;
			}
			ref[i] = ops[o].op == DNNQ_ELTWISE_SUM_RELU && t < 0 ? 0.0f : t;
		}
		FOR_EACH_ISA(isa) {
			dnnq_f32_eltwise(isa, ops[o].op, k, in, bc, c, n, y, NULL);
			same(y, ref, n, "eltwise vs reference");
			memcpy(y2, in[0], n * sizeof *y2);
			const float *in2[DNNQ_ELTWISE_MAX_INPUTS];
			memcpy(in2, in, sizeof in2);
			in2[0] = y2;
			dnnq_f32_eltwise(isa, ops[o].op, k, in2, bc, c, n, y2, &ex2);
			same(y2, ref, n, "eltwise in place, 2 threads");
		}
	}
	for (size_t k = 0; k < DNNQ_ELTWISE_MAX_INPUTS; k++)
		free(buf[k]);
	free(y), free(y2), free(ref);
}
END_TEST

START_TEST(ewlin)
{
	struct rng r = { 14 };
	static const size_t cs[] = { 1, 3, 19, 64 };
	for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
		size_t c = cs[ci], n = c * 2000;
		float *x = frand(&r, n, -5, 5), *a = frand(&r, c, -2, 2), *b = frand(&r, c, -1, 1);
		float *y = fvec(n), *ref = fvec(n);
		for (int withb = 0; withb < 2; withb++) {
			for (size_t i = 0; i < n; i++)
				ref[i] = withb ? a[i % c] * x[i] + b[i % c] : a[i % c] * x[i];
			FOR_EACH_ISA(isa) {
				dnnq_f32_ewlin(isa, n, c, a, withb ? b : NULL, x, y, NULL);
				same(y, ref, n, "ewlin");
				memcpy(y, x, n * sizeof *y);
				dnnq_f32_ewlin(isa, n, c, a, withb ? b : NULL, y, y, &ex2);
				same(y, ref, n, "ewlin in place, 2 threads");
			}
		}
		free(x), free(a), free(b), free(y), free(ref);
	}
}
END_TEST

/* ---- pooling ------------------------------------------------------------- */

struct pool_case {
	struct dnnq_pooling_geom g;
	bool include_pad;
	size_t n, h, w, c, oh, ow;
};

/* max, mean and the mean of the magnitudes of every output, straight from
 * the definitions (empty windows: 0). */
static void pool_ref(const struct pool_case *pc, const float *x, bool avg, double *ref,
                     double *mag)
{
	const struct dnnq_pooling_geom *g = &pc->g;
	size_t o = 0;
	for (size_t b = 0; b < pc->n; b++)
	for (size_t oy = 0; oy < pc->oh; oy++)
	for (size_t ox = 0; ox < pc->ow; ox++)
	for (size_t ch = 0; ch < pc->c; ch++, o++) {
		double mx = -INFINITY, s = 0, m = 0;
		long count = 0, taps = 0;
		for (long i = 0; i < g->kernel_h; i++) {
			long h = (long)oy * g->stride_h - g->pad_top + i * g->dilation_h;
			for (long j = 0; j < g->kernel_w; j++) {
				long w = (long)ox * g->stride_w - g->pad_left + j * g->dilation_w;
				bool inside = h >= 0 && h < (long)pc->h && w >= 0 && w < (long)pc->w;
				bool padded = h < (long)pc->h + g->pad_bottom &&
				              w < (long)pc->w + g->pad_right;
				count += inside || (pc->include_pad && padded);
				if (!inside)
					continue;
				double v = x[((b * pc->h + (size_t)h) * pc->w + (size_t)w) * pc->c + ch];
				taps++;
				mx = v > mx ? v : mx;
				s += v;
				m += fabs(v);
			}
		}
		ref[o] = !taps ? 0 : avg ? s / (double)count : mx;
		mag[o] = taps ? m / (double)count : 0;
	}
}

static void pool_run(enum dnnq_isa isa, const struct pool_case *pc, int kind, const float *x,
                     float *y, const struct dnnq_executor *ex)
{
	if (kind == 0)
		dnnq_f32_maxpool(isa, &pc->g, pc->n, pc->h, pc->w, pc->c, x, y, ex);
	else if (kind == 1)
		dnnq_f32_avgpool(isa, &pc->g, pc->include_pad, pc->n, pc->h, pc->w, pc->c, x, y, ex);
	else
		dnnq_f32_gavgpool(isa, pc->n, pc->h * pc->w, pc->c, x, y, ex);
}

START_TEST(pooling_random)
{
	struct rng r = { 100 + (uint64_t)_i };
	static const size_t cs[] = { 1, 7, 8, 19, 260 };
	for (int iter = 0; iter < 40; iter++) {
		struct pool_case pc = { .n = (size_t)rng_int(&r, 1, 2), .h = (size_t)rng_int(&r, 1, 9),
		                        .w = (size_t)rng_int(&r, 1, 9), .c = cs[iter % 5],
		                        .include_pad = rng_int(&r, 0, 1) };
		struct dnnq_pooling_geom *g = &pc.g;
		g->kernel_h = (int32_t)rng_int(&r, 1, 4), g->kernel_w = (int32_t)rng_int(&r, 1, 4);
		g->stride_h = (int32_t)rng_int(&r, 1, 3), g->stride_w = (int32_t)rng_int(&r, 1, 3);
		g->dilation_h = (int32_t)rng_int(&r, 1, 2), g->dilation_w = (int32_t)rng_int(&r, 1, 2);
		int32_t eh = (g->kernel_h - 1) * g->dilation_h, ew = (g->kernel_w - 1) * g->dilation_w;
		g->pad_top = (int32_t)rng_int(&r, 0, eh), g->pad_bottom = (int32_t)rng_int(&r, 0, eh);
		g->pad_left = (int32_t)rng_int(&r, 0, ew), g->pad_right = (int32_t)rng_int(&r, 0, ew);
		g->ceil_mode = rng_int(&r, 0, 1);
		int kind = iter % 3;
		if (kind == 2)
			pc.g = (struct dnnq_pooling_geom){ (int32_t)pc.h, (int32_t)pc.w, 1, 1, 0, 0, 0, 0,
			                                   1, 1, false };
		if (dnnq_pooling_output_size(g, pc.h, pc.w, &pc.oh, &pc.ow, NULL))
			continue;
		size_t nx = pc.n * pc.h * pc.w * pc.c, ny = pc.n * pc.oh * pc.ow * pc.c;
		float *x = frand(&r, nx, -4, 4), *y = fvec(ny), *y0 = fvec(ny), *y2 = fvec(ny);
		double *ref = malloc(ny * sizeof *ref), *mag = malloc(ny * sizeof *mag);
		pool_ref(&pc, x, kind > 0, ref, mag);
		FOR_EACH_ISA(isa) {
			pool_run(isa, &pc, kind, x, y, NULL);
			if (kind == 0) {
				for (size_t i = 0; i < ny; i++)
					ck_assert_msg(y[i] == ref[i], "maxpool %zu: %g vs %g", i, y[i], ref[i]);
			} else {
				near_sum(y, ref, mag, ny, kind == 1 ? "avgpool" : "gavgpool");
			}
			if (isa == DNNQ_ISA_SCALAR)
				memcpy(y0, y, ny * sizeof *y);
			same(y, y0, ny, "pooling vs scalar");
			pool_run(isa, &pc, kind, x, y2, &ex2);
			same(y2, y, ny, "pooling, 2 threads");
		}
		free(x), free(y), free(y0), free(y2), free(ref), free(mag);
	}
}
END_TEST

/* What f32.h says of the stateless kernels' edges. */
START_TEST(stateless_edges)
{
	float x[16], y[16];
	for (int i = 0; i < 16; i++)
		x[i] = (float)i - 7.5f, y[i] = 42.0f;
	/* nothing written: a window that cannot fit, no channels, no inputs */
	const struct dnnq_pooling_geom bad = { 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, false };
	dnnq_f32_maxpool(DNNQ_ISA_SCALAR, &bad, 1, 2, 2, 4, x, y, NULL);
	const float *in[2] = { x, x };
	const enum dnnq_broadcast bc[2] = { DNNQ_BCAST_NONE, DNNQ_BCAST_CHANNEL };
	dnnq_f32_eltwise(DNNQ_ISA_SCALAR, DNNQ_ELTWISE_ADD, 2, in, bc, 0, 16, y, NULL);
	dnnq_f32_eltwise(DNNQ_ISA_SCALAR, DNNQ_ELTWISE_SUM, 0, in, bc, 4, 16, y, NULL);
	dnnq_f32_softmax(DNNQ_ISA_SCALAR, 2, 0, x, y, NULL);
	dnnq_f32_ewlin(DNNQ_ISA_SCALAR, 16, 0, x, NULL, x, y, NULL);
	for (int i = 0; i < 16; i++)
		ck_assert(y[i] == 42.0f);
	/* an ISA that names none runs the scalar kernels */
	dnnq_f32_activation((enum dnnq_isa)99, DNNQ_ACT_RELU, &act_p, 16, x, y, NULL);
	for (int i = 0; i < 16; i++)
		ck_assert(y[i] == (x[i] < 0 ? 0.0f : x[i]));
	/* a row of -inf gives NaN; one finite entry takes it all */
	float xi[10], yi[10];
	for (int i = 0; i < 10; i++)
		xi[i] = -INFINITY;
	FOR_EACH_ISA(isa) {
		dnnq_f32_softmax(isa, 1, 10, xi, yi, NULL);
		for (int i = 0; i < 10; i++)
			ck_assert(isnan(yi[i]));
		xi[9] = -1e30f;
		dnnq_f32_softmax(isa, 1, 10, xi, yi, NULL);
		for (int i = 0; i < 10; i++)
			ck_assert(yi[i] == (i == 9 ? 1.0f : 0.0f));
		xi[9] = -INFINITY;
	}
	/* dilation can leave a window without taps: 0 */
	const struct dnnq_pooling_geom dil = { 2, 2, 1, 1, 1, 1, 2, 2, 3, 3, false };
	size_t oh, ow;
	ck_assert_int_eq(dnnq_pooling_output_size(&dil, 1, 1, &oh, &ow, NULL), 0);
	ck_assert(oh == 1 && ow == 1);
	float one = 5.0f, out[1] = { 42.0f };
	FOR_EACH_ISA(isa) {
		dnnq_f32_maxpool(isa, &dil, 1, 1, 1, 1, &one, out, NULL);
		ck_assert(out[0] == 0.0f);
	}
}
END_TEST

/* ---- convolution ----------------------------------------------------------- */

struct conv_case {
	size_t cin, cout, groups, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, n, h, w;
	bool bias, relu, clip;
};

static const struct conv_case conv_cases[] = {
	/* cin cout g kh kw sh sw dh dw pt pl pb pr n h w bias relu clip */
	{ 16, 24, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 13, 11, true, false, false }, /* 1x1 */
	{ 3, 19, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 7, 5, false, true, false },
	{ 8, 5, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 9, 8, true, false, false },   /* strided */
	{ 4, 6, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 2, 1, 5, 6, true, false, false },   /* padded */
	{ 3, 19, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 13, 12, true, false, true },
	{ 5, 7, 1, 3, 3, 2, 2, 2, 2, 1, 0, 2, 1, 1, 11, 10, true, true, false },
	{ 8, 6, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9, 9, true, false, false },   /* grouped */
	{ 12, 9, 3, 2, 3, 1, 2, 2, 1, 0, 1, 1, 0, 2, 7, 8, false, true, false },
	{ 19, 19, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 9, 10, true, true, false }, /* depthwise */
	{ 32, 32, 32, 5, 5, 2, 2, 2, 2, 2, 3, 4, 2, 1, 12, 11, true, false, true },
	{ 8, 8, 8, 3, 3, 1, 1, 3, 3, 4, 4, 4, 4, 1, 2, 3, false, false, false },  /* empty windows */
	{ 2, 3, 1, 3, 3, 1, 1, 3, 3, 4, 4, 4, 4, 1, 2, 3, true, false, false },
	/* ResNet's shapes, over several GEMM blocks: the stem (7x7 stride 2 pad 3,
	 * 3 channels), 3x3 over 64 channels, 1x1, grouped and dilated */
	{ 3, 64, 1, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 30, 28, true, true, false },
	{ 64, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 16, 17, true, true, false },
	{ 64, 48, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 20, 20, true, false, true },
	{ 64, 32, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 12, 13, true, true, false },
	/* the AVX-512 product's edges: columns over one task's block (NC 256)
	 * and past the last full panel of 32, a group's columns over a panel,
	 * depths over its KC 256; depthwise channels past 4 vectors of 16 */
	{ 40, 300, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 9, 7, true, true, true },
	{ 24, 270, 1, 3, 3, 2, 1, 1, 1, 1, 0, 0, 1, 2, 7, 6, true, false, true },
	{ 80, 82, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 6, true, true, false },
	{ 100, 100, 100, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 1, 7, 9, true, false, true },
};

/* The double reference and the magnitude sums (bias included). */
static void conv_ref(const struct conv_case *k, size_t oh, size_t ow, const float *x,
                     const float *w, const float *bias, double *ref, double *mag)
{
	size_t cig = k->cin / k->groups, cog = k->cout / k->groups, o = 0;
	for (size_t b = 0; b < k->n; b++)
	for (size_t oy = 0; oy < oh; oy++)
	for (size_t ox = 0; ox < ow; ox++)
	for (size_t co = 0; co < k->cout; co++, o++) {
		size_t g = co / cog;
		double s = bias ? bias[co] : 0, m = fabs(s);
		for (size_t ky = 0; ky < k->kh; ky++)
		for (size_t kx = 0; kx < k->kw; kx++) {
			long iy = (long)(oy * k->sh + ky * k->dh) - (long)k->pt;
			long ix = (long)(ox * k->sw + kx * k->dw) - (long)k->pl;
			if (iy < 0 || ix < 0 || iy >= (long)k->h || ix >= (long)k->w)
				continue;
			for (size_t ci = 0; ci < cig; ci++) {
				double t = (double)x[((b * k->h + (size_t)iy) * k->w + (size_t)ix) * k->cin +
				                     g * cig + ci] *
				           w[((co * k->kh + ky) * k->kw + kx) * cig + ci];
				s += t;
				m += fabs(t);
			}
		}
		if (k->relu)
			s = s < 0 ? 0 : s;
		if (k->clip)
			s = s < -0.5 ? -0.5 : s > 0.5 ? 0.5 : s;
		ref[o] = s;
		mag[o] = m;
	}
}

static struct dnnq_f32_conv *conv_make(enum dnnq_isa isa, const struct conv_case *k,
                                       const float *w, const float *bias,
                                       struct dnnq_weights_cache *cache)
{
	const struct dnnq_f32_conv_desc d = {
		isa, k->cin, k->cout, k->groups, k->kh, k->kw, k->sh, k->sw, k->dh, k->dw,
		k->pt, k->pl, k->pb, k->pr, w, k->bias ? bias : NULL, k->relu, k->clip, -0.5f, 0.5f,
		cache, "conv",
	};
	struct dnnq_f32_conv *c = NULL;
	struct dnnq_diag diag;
	ck_assert_msg(dnnq_f32_conv_create(&d, &c, &diag) == DNNQ_OK, "%s", diag.msg);
	return c;
}

START_TEST(conv)
{
	const struct conv_case *k = &conv_cases[_i];
	struct rng r = { 200 + (uint64_t)_i };
	size_t nw = k->cout * k->kh * k->kw * (k->cin / k->groups);
	size_t nx = k->n * k->h * k->w * k->cin;
	float *x = frand(&r, nx, -1, 1), *w = frand(&r, nw, -1, 1), *bias = frand(&r, k->cout, -1, 1);
	struct dnnq_weights_cache *cache;
	ck_assert_int_eq(dnnq_weights_cache_create(&cache), 0);
	FOR_EACH_ISA(isa) {
		struct dnnq_f32_conv *c = conv_make(isa, k, w, bias, cache);
		size_t oh, ow;
		ck_assert_int_eq(dnnq_f32_conv_output_size(c, k->h, k->w, &oh, &ow), 0);
		size_t ny = k->n * oh * ow * k->cout;
		float *y = fvec(ny), *y2 = fvec(ny);
		double *ref = malloc(ny * sizeof *ref), *mag = malloc(ny * sizeof *mag);
		conv_ref(k, oh, ow, x, w, k->bias ? bias : NULL, ref, mag);
		ck_assert_int_eq(dnnq_f32_conv_setup(c, k->n, k->h, k->w, x, y, 1), 0);
		ck_assert_int_eq(dnnq_f32_conv_run(c, NULL), 0);
		near_sum(y, ref, mag, ny, "conv");
		/* a second operator of the same model borrows the weights */
		size_t bytes = dnnq_weights_cache_bytes(cache);
		struct dnnq_f32_conv *c2 = conv_make(isa, k, w, bias, cache);
		ck_assert_uint_eq(dnnq_weights_cache_bytes(cache), bytes);
		ck_assert_int_eq(dnnq_f32_conv_setup(c2, k->n, k->h, k->w, x, y2, 2), 0);
		ck_assert_int_eq(dnnq_f32_conv_run(c2, &ex2), 0);
		same(y2, y, ny, "conv, 2 threads");
		dnnq_f32_conv_destroy(c);
		dnnq_f32_conv_destroy(c2);
		free(y), free(y2), free(ref), free(mag);
	}
	dnnq_weights_cache_destroy(cache);
	free(x), free(w), free(bias);
}
END_TEST

START_TEST(conv_errors)
{
	float w[64] = { 0 };
	struct dnnq_f32_conv_desc d = { DNNQ_ISA_SCALAR, 4, 6, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0,
	                                w, NULL, false, false, 0, 0, NULL, NULL };
	struct dnnq_f32_conv *c;
	struct dnnq_diag diag;
	d.w = NULL;
	ck_assert_int_eq(dnnq_f32_conv_create(&d, &c, &diag), DNNQ_E_INVAL);
	d.w = w;
	d.groups = 4;
	ck_assert_int_eq(dnnq_f32_conv_create(&d, &c, &diag), DNNQ_E_SHAPE);
	ck_assert_ptr_nonnull(strstr(diag.msg, "cout"));
	d.groups = 2;
	d.isa = (enum dnnq_isa)99;
	ck_assert_int_eq(dnnq_f32_conv_create(&d, &c, &diag), DNNQ_E_UNSUPPORTED);
	d.isa = DNNQ_ISA_SCALAR;
	d.kh = 3;
	ck_assert_int_eq(dnnq_f32_conv_create(&d, &c, &diag), DNNQ_OK);
	size_t oh, ow;
	ck_assert_int_eq(dnnq_f32_conv_output_size(c, 2, 5, &oh, &ow), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_f32_conv_setup(c, 1, 3, 5, NULL, NULL, 1), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_f32_conv_setup(c, 1, 3, 5, w, w, 1), DNNQ_OK);
	/* the im2col path needs scratch for every thread */
	ck_assert_int_eq(dnnq_f32_conv_run(c, &ex2), DNNQ_E_INVAL);
	dnnq_f32_conv_destroy(c);
	ck_assert_int_eq(dnnq_f32_conv_create(NULL, &c, NULL), DNNQ_E_INVAL);
}
END_TEST

/* ---- the AVX-512 packed product ------------------------------------------- */

/* b (k x n) packed as f32-kernels.h lays DNNQ_F32_NR panels out. */
static float *pack_panels(const float *b, size_t n, size_t k)
{
	size_t np = (n + DNNQ_F32_NR - 1) / DNNQ_F32_NR;
	float *p = dnnq_aligned_alloc(np * DNNQ_F32_NR * k * sizeof *p);
	ck_assert_ptr_nonnull(p);
	for (size_t q = 0; q < np; q++)
		for (size_t kk = 0; kk < k; kk++)
			for (size_t j = 0; j < DNNQ_F32_NR; j++) {
				size_t col = q * DNNQ_F32_NR + j;
				p[(q * k + kk) * DNNQ_F32_NR + j] = col < n ? b[kk * n + col] : 0.0f;
			}
	return p;
}

/* gemm_pk against the double product, only its m x n block of c written,
 * and its epilogue the very floats of the table's epi kernel after it
 * (a row of NaN among the products). */
START_TEST(gemm_packed)
{
	static const size_t shapes[][3] = {   /* m, n, k */
		{ 1, 1, 1 }, { 13, 33, 7 }, { 25, 64, 256 }, { 12, 17, 257 }, { 37, 95, 600 },
	};
	const size_t m = shapes[_i][0], n = shapes[_i][1], k = shapes[_i][2], ldc = n + 3;
	const struct dnnq_f32_kernels *kn = dnnq_f32_kernels_of(DNNQ_ISA_AVX512VNNI);
	if (!dnnq_isa_supported(DNNQ_ISA_AVX512VNNI))
		return;
	ck_assert_ptr_nonnull(kn->gemm_pk);
	struct rng r = { 400 + (uint64_t)_i };
	float *a = frand(&r, m * k, -1, 1), *b = frand(&r, k * n, -1, 1), *bias = frand(&r, n, -1, 1);
	a[0] = NAN;   /* row 0 all NaN */
	float *bp = pack_panels(b, n, k), *c = fvec(m * ldc), *c2 = fvec(m * ldc);
	for (size_t i = 0; i < m * ldc; i++)
		c[i] = c2[i] = 42.0f;
	const struct dnnq_f32_epi none = { NULL, false, NULL };
	kn->gemm_pk(m, n, k, a, k, bp, c, ldc, &none);
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < ldc; j++) {
			if (j >= n) {
				ck_assert(c[i * ldc + j] == 42.0f);
				continue;
			}
			double s = 0, mag = 0;
			for (size_t kk = 0; kk < k; kk++) {
				s += (double)a[i * k + kk] * b[kk * n + j];
				mag += fabs((double)a[i * k + kk] * b[kk * n + j]);
			}
			near_sum(&c[i * ldc + j], &s, &mag, i == 0 ? 0 : 1, "gemm_pk");
		}
	ck_assert(isnan(c[0]));
	const struct dnnq_act_params clip = { 0, 0, -0.25f, 0.5f };
	for (int v = 0; v < 4; v++) {
		const struct dnnq_f32_epi e = { v & 1 ? bias : NULL, v & 2, &clip };
		kn->gemm_pk(m, n, k, a, k, bp, c2, ldc, &e);
		for (size_t i = 0; i < m; i++) {
			float row[ldc];
			memcpy(row, c + i * ldc, sizeof row);
			kn->epi(e.bias, e.relu, e.clip, row, n);
			same(c2 + i * ldc, row, ldc, "gemm_pk's epilogue");
		}
	}
	free(bp);
	free(a), free(b), free(bias), free(c), free(c2);
}
END_TEST

/* ---- FC ------------------------------------------------------------------ */

START_TEST(fc)
{
	static const size_t shapes[][3] = {   /* m, n, k */
		{ 1, 1, 3 }, { 5, 19, 64 }, { 300, 300, 257 }, { 1, 1000, 17 }, { 129, 7, 1 },
	};
	const size_t m = shapes[_i][0], n = shapes[_i][1], k = shapes[_i][2];
	struct rng r = { 300 + (uint64_t)_i };
	float *x = frand(&r, m * k, -1, 1), *w = frand(&r, n * k, -1, 1), *b = frand(&r, n, -1, 1);
	double *ref = malloc(m * n * sizeof *ref), *mag = malloc(m * n * sizeof *mag);
	bool relu = _i % 2, clip = _i == 2;
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++) {
			double s = b[j], a = fabs(s);
			for (size_t p = 0; p < k; p++) {
				s += (double)x[i * k + p] * w[j * k + p];
				a += fabs((double)x[i * k + p] * w[j * k + p]);
			}
			s = relu && s < 0 ? 0 : s;
			s = clip ? (s < -0.5 ? -0.5 : s > 0.5 ? 0.5 : s) : s;
			ref[i * n + j] = s;
			mag[i * n + j] = a;
		}
	struct dnnq_weights_cache *cache;
	ck_assert_int_eq(dnnq_weights_cache_create(&cache), 0);
	float *y = fvec(m * n), *y2 = fvec(m * n);
	FOR_EACH_ISA(isa) {
		const struct dnnq_f32_fc_desc d = { isa, n, k, w, b, relu, clip, -0.5f, 0.5f,
		                                    cache, "fc" };
		struct dnnq_f32_fc *fc, *fc2;
		ck_assert_int_eq(dnnq_f32_fc_create(&d, &fc, NULL), 0);
		size_t bytes = dnnq_weights_cache_bytes(cache);
		ck_assert_int_eq(dnnq_f32_fc_create(&d, &fc2, NULL), 0);
		ck_assert_uint_eq(dnnq_weights_cache_bytes(cache), bytes);
		ck_assert_int_eq(dnnq_f32_fc_setup(fc, m, x, y, 1), 0);
		ck_assert_int_eq(dnnq_f32_fc_run(fc, NULL), 0);
		near_sum(y, ref, mag, m * n, "fc");
		ck_assert_int_eq(dnnq_f32_fc_setup(fc2, m, x, y2, 2), 0);
		ck_assert_int_eq(dnnq_f32_fc_run(fc2, &ex2), 0);
		same(y2, y, m * n, "fc, 2 threads");
		dnnq_f32_fc_destroy(fc);
		dnnq_f32_fc_destroy(fc2);
	}
	/* without a cache: the weights and the bias are copied */
	const struct dnnq_f32_fc_desc d = { DNNQ_ISA_SCALAR, n, k, w, b, relu, clip, -0.5f, 0.5f,
	                                    NULL, NULL };
	struct dnnq_f32_fc *fc;
	ck_assert_int_eq(dnnq_f32_fc_create(&d, &fc, NULL), 0);
	memset(w, 0, n * k * sizeof *w);
	memset(b, 0, n * sizeof *b);
	ck_assert_int_eq(dnnq_f32_fc_setup(fc, m, x, y, 1), 0);
	ck_assert_int_eq(dnnq_f32_fc_run(fc, NULL), 0);
	near_sum(y, ref, mag, m * n, "fc without a cache");
	dnnq_f32_fc_destroy(fc);
	dnnq_weights_cache_destroy(cache);
	free(x), free(w), free(b), free(ref), free(mag), free(y), free(y2);
}
END_TEST

/* An FC of fewer than DNNQ_F32_PK_MIN_N columns keeps its n x k rows on
 * AVX-512 too: one column's panels would hold (and stream) 32 times its
 * weights. A wider one packs its panels. */
START_TEST(fc_narrow_rows)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX512VNNI))
		return;
	static const size_t ns[] = { 1, 15, 16 };
	const size_t k = 300;
	struct rng r = { 77 };
	float *w = frand(&r, 16 * k, -1, 1);
	for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
		struct dnnq_weights_cache *cache;
		ck_assert_int_eq(dnnq_weights_cache_create(&cache), 0);
		const struct dnnq_f32_fc_desc d = { DNNQ_ISA_AVX512VNNI, ns[t], k, w, NULL, false,
		                                    false, 0, 0, cache, "fc" };
		struct dnnq_f32_fc *fc;
		ck_assert_int_eq(dnnq_f32_fc_create(&d, &fc, NULL), 0);
		size_t floats = ns[t] < DNNQ_F32_PK_MIN_N ? ns[t] * k : dnnq_f32_panel_floats(ns[t], k);
		ck_assert_uint_eq(dnnq_weights_cache_bytes(cache), floats * sizeof(float));
		dnnq_f32_fc_destroy(fc);
		dnnq_weights_cache_destroy(cache);
	}
	free(w);
}
END_TEST

START_TEST(fc_errors)
{
	float w[4] = { 0 };
	struct dnnq_f32_fc_desc d = { DNNQ_ISA_SCALAR, 2, 2, NULL, NULL, false, false, 0, 0,
	                              NULL, NULL };
	struct dnnq_f32_fc *fc;
	ck_assert_int_eq(dnnq_f32_fc_create(&d, &fc, NULL), DNNQ_E_INVAL);
	d.w = w;
	d.k = 0;
	ck_assert_int_eq(dnnq_f32_fc_create(&d, &fc, NULL), DNNQ_E_SHAPE);
	d.k = 2;
	d.isa = (enum dnnq_isa)99;
	ck_assert_int_eq(dnnq_f32_fc_create(&d, &fc, NULL), DNNQ_E_UNSUPPORTED);
	d.isa = DNNQ_ISA_SCALAR;
	ck_assert_int_eq(dnnq_f32_fc_create(&d, &fc, NULL), DNNQ_OK);
	ck_assert_int_eq(dnnq_f32_fc_setup(fc, 1, NULL, w, 1), DNNQ_E_INVAL);
	dnnq_f32_fc_destroy(fc);
}
END_TEST

Suite *suite_f32(void)
{
	Suite *s = suite_create("f32");
	TCase *tc = tcase_create("kernels");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, exp_accuracy);
	tcase_add_test(tc, activations);
	tcase_add_test(tc, softmax);
	tcase_add_test(tc, eltwise);
	tcase_add_test(tc, ewlin);
	tcase_add_loop_test(tc, pooling_random, 0, 6);
	tcase_add_test(tc, stateless_edges);
	tcase_add_loop_test(tc, conv, 0, (int)(sizeof conv_cases / sizeof conv_cases[0]));
	tcase_add_test(tc, conv_errors);
	tcase_add_loop_test(tc, gemm_packed, 0, 5);
	tcase_add_loop_test(tc, fc, 0, 5);
	tcase_add_test(tc, fc_narrow_rows);
	tcase_add_test(tc, fc_errors);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}
