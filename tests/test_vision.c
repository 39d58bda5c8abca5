/*
 * The vision operators of engine/ops/ (suite vision): Resize on every ISA
 * gives the scalar oracle's bytes (int8, Q11 weights) and floats (fp32),
 * which are the bilinear / nearest formula's computed here in double;
 * ConvTranspose matches a direct scatter in double on every ISA; Pad's
 * modes, Slice's negative steps and Gather move the elements the rule
 * names; hostile attributes and inconsistent shapes are refused naming
 * the node.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/pool.h"
#include "engine/graph.h"
#include "engine/op.h"
#include "engine/quant-scalar.h"
#include "engine/remap.h"
#include "engine/resize.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

static const struct dnnq_qparams QP = { 0.03f, 117, 8, false };

/* A graph of one node nd reading an input x of dtype dt and rank ndim;
 * runs it on in into out (non-zero when the node is refused: *msg gets
 * why). */
static int run_nd(struct dnnq_node_desc *nd, enum dnnq_dtype dt, uint32_t ndim,
                  const int64_t *dims, const void *in, void *out,
                  const struct dnnq_executor *ex, char *msg)
{
	struct dnnq_graph *g;
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(dnnq_graph_create(&g), 0);
	int x = dnnq_graph_add_input(g, "x", dt, ndim, dims, &QP, &d);
	ck_assert_msg(x >= 0, "%s", d.msg);
	nd->name = "op";
	nd->ninputs = 1;
	nd->inputs[0] = x;
	int y = dnnq_graph_add_node(g, nd, &d);
	if (y < 0) {
		snprintf(msg, sizeof d.msg, "%s", d.msg);
		dnnq_graph_destroy(g);
		return y;
	}
	ck_assert_int_eq(dnnq_graph_add_output(g, y, &d), 0);
	ck_assert_msg(dnnq_graph_finalize(g, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_graph_plan(g, (size_t)dims[0], 2, &d) == 0, "%s", d.msg);
	const void *gi[1] = { in };
	void *go[1] = { out };
	ck_assert_int_eq(dnnq_graph_run(g, gi, go, ex), 0);
	dnnq_graph_destroy(g);
	return 0;
}

/* The same of a 4-D input. */
static int run_one(struct dnnq_node_desc *nd, enum dnnq_dtype dt, const int64_t *dims,
                   const void *in, void *out, const struct dnnq_executor *ex, char *msg)
{
	return run_nd(nd, dt, 4, dims, in, out, ex, msg);
}

/* ---- Resize ---- */

struct rcase {
	uint32_t mode;
	int64_t h, w, c, oh, ow;
	float sh, sw;
	float a;                 /* cubic: the coefficient, exclude_outside */
	bool exclude;
};

/* Cubic along one axis: output index o's 4 source indices (the edge's
 * past it) and weights, ONNX's formulas (half_pixel or align_corners). */
static void cubic_taps(const struct rcase *rc, size_t o, double scale, size_t in, size_t out,
                       size_t idx[4], double w[4])
{
	double x = DNNQ_RESIZE_COORD(rc->mode) == DNNQ_RESIZE_ALIGN_CORNERS
	           ? (double)o * (double)(in - 1) / (double)(out - 1) : (o + 0.5) / scale - 0.5;
	double f = floor(x), a = rc->a, sum = 0;
	for (int k = 0; k < 4; k++) {
		double d = fabs(x - (f - 1 + k));       /* Keys' kernel at distance d */
		w[k] = d <= 1 ? ((a + 2) * d - (a + 3)) * d * d + 1
		              : ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
		double i = f - 1 + k;
		if (rc->exclude && (i < 0 || i > (double)in - 1))
			w[k] = 0;
		idx[k] = i < 0 ? 0 : i > (double)in - 1 ? in - 1 : (size_t)i;
		sum += w[k];
	}
	for (int k = 0; rc->exclude && k < 4; k++)
		w[k] /= sum;
}

/* The formula in double on NHWC (x real values), one output element. */
static double resize_want(const struct rcase *rc, const double *x, size_t img, size_t i,
                          size_t j, size_t ch)
{
	size_t ih = (size_t)rc->h, iw = (size_t)rc->w, c = (size_t)rc->c;
	if (DNNQ_RESIZE_INTERP(rc->mode) == DNNQ_RESIZE_CUBIC) {
		size_t ry[4], rx[4];
		double wy[4], wx[4], s = 0;
		cubic_taps(rc, i, rc->sh, ih, (size_t)rc->oh, ry, wy);
		cubic_taps(rc, j, rc->sw, iw, (size_t)rc->ow, rx, wx);
		for (int a = 0; a < 4; a++)
			for (int b = 0; b < 4; b++)
				s += wy[a] * wx[b] * x[((img * ih + ry[a]) * iw + rx[b]) * c + ch];
		return s;
	}
	double sy = dnnq_resize_source(rc->mode, i, rc->sh, ih, (size_t)rc->oh);
	double sx = dnnq_resize_source(rc->mode, j, rc->sw, iw, (size_t)rc->ow);
	const double *p = x + img * ih * iw * c + ch;
	if (DNNQ_RESIZE_INTERP(rc->mode) == DNNQ_RESIZE_NEAREST)
		return p[(dnnq_resize_nearest(rc->mode, sy, ih) * iw +
		          dnnq_resize_nearest(rc->mode, sx, iw)) * c];
	size_t y0 = (size_t)floor(sy), x0 = (size_t)floor(sx);
	size_t y1 = y0 + 1 < ih ? y0 + 1 : y0, x1 = x0 + 1 < iw ? x0 + 1 : x0;
	double wy = sy - (double)y0, wx = sx - (double)x0;
	double t = p[(y0 * iw + x0) * c] * (1 - wx) + p[(y0 * iw + x1) * c] * wx;
	double b = p[(y1 * iw + x0) * c] * (1 - wx) + p[(y1 * iw + x1) * c] * wx;
	return t * (1 - wy) + b * wy;
}

static struct dnnq_node_desc resize_desc(const struct rcase *rc, enum dnnq_isa isa, bool fp32)
{
	struct dnnq_node_desc nd = { .kind = dnnq_op_find("resize")->kind,
	                             .precision = fp32 ? DNNQ_PRECISION_FP32 : DNNQ_PRECISION_INT8 };
	nd.op.resize.isa = isa;
	nd.op.resize.mode = rc->mode;
	nd.op.resize.scale[0] = rc->sh;
	nd.op.resize.scale[1] = rc->sw;
	nd.op.resize.out_h = rc->oh;
	nd.op.resize.out_w = rc->ow;
	nd.op.resize.cubic_a = rc->a;
	nd.op.resize.exclude = rc->exclude;
	return nd;
}

START_TEST(vision_resize_every_isa)
{
	static const struct rcase cases[] = {
		{ DNNQ_RESIZE_MODE(0, DNNQ_RESIZE_ASYMMETRIC, DNNQ_RESIZE_FLOOR), 3, 5, 19, 6, 10, 2, 2,
		  0, false },
		{ DNNQ_RESIZE_MODE(0, DNNQ_RESIZE_HALF_PIXEL, DNNQ_RESIZE_ROUND_PREFER_CEIL),
		  4, 5, 3, 7, 3, 1.75f, 0.6f, 0, false },
		{ DNNQ_RESIZE_MODE(1, DNNQ_RESIZE_HALF_PIXEL, 0), 4, 5, 33, 8, 10, 2, 2, 0, false },
		/* 21 channels: two vectors and a masked tail of 5 */
		{ DNNQ_RESIZE_MODE(1, DNNQ_RESIZE_HALF_PIXEL, 0), 3, 4, 21, 6, 8, 2, 2, 0, false },
		{ DNNQ_RESIZE_MODE(1, DNNQ_RESIZE_ALIGN_CORNERS, 0), 3, 4, 16, 7, 9, 7.f / 3, 9.f / 4,
		  0, false },
		{ DNNQ_RESIZE_MODE(1, DNNQ_RESIZE_PYTORCH_HALF_PIXEL, 0), 6, 5, 8, 3, 1, 0.5f, 0.2f, 0,
		  false },
		/* bicubic (torch's A), up and down; ONNX's A = -0.5 without the
		 * taps past the edges */
		{ DNNQ_RESIZE_MODE(2, DNNQ_RESIZE_HALF_PIXEL, 0), 4, 5, 9, 8, 10, 2, 2, -0.75f, false },
		{ DNNQ_RESIZE_MODE(2, DNNQ_RESIZE_HALF_PIXEL, 0), 7, 6, 3, 4, 3, 0.6f, 0.5f, -0.5f,
		  true },
		{ DNNQ_RESIZE_MODE(2, DNNQ_RESIZE_ALIGN_CORNERS, 0), 3, 4, 5, 7, 9, 7.f / 3, 9.f / 4,
		  -0.75f, false },
	};
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	char msg[256];
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const struct rcase *rc = &cases[k];
		int64_t dims[4] = { 2, rc->h, rc->w, rc->c };
		size_t nin = (size_t)(2 * rc->h * rc->w * rc->c), nout = (size_t)(2 * rc->oh * rc->ow * rc->c);
		uint8_t *xq = malloc(nin), *yq = malloc(nout), *oq = malloc(nout);
		float *xf = malloc(nin * sizeof *xf), *yf = malloc(nout * sizeof *yf);
		float *of = malloc(nout * sizeof *of);
		double *xr = malloc(nin * sizeof *xr), *xfr = malloc(nin * sizeof *xfr);
		struct rng rng = { 0xbeef + k };
		for (size_t e = 0; e < nin; e++) {
			xq[e] = (uint8_t)rng_int(&rng, 0, 255);
			xr[e] = xq[e];
			xf[e] = (float)rng_uniform(&rng, -3, 3);
			xfr[e] = xf[e];
		}
		FOR_EACH_ISA(isa) {
			struct dnnq_node_desc nq = resize_desc(rc, isa, false), nf = resize_desc(rc, isa, true);
			ck_assert_msg(run_one(&nq, DNNQ_DTYPE_U8, dims, xq, yq, k % 2 ? &ex : NULL, msg) == 0,
			              "%s", msg);
			ck_assert_msg(run_one(&nf, DNNQ_DTYPE_F32, dims, xf, yf, k % 2 ? NULL : &ex, msg) == 0,
			              "%s", msg);
			if (isa == DNNQ_ISA_SCALAR) {
				memcpy(oq, yq, nout);
				memcpy(of, yf, nout * sizeof *of);
			} else {
				ck_assert_msg(!memcmp(oq, yq, nout), "case %zu %s: u8 differs from scalar", k,
				              dnnq_isa_name(isa));
				ck_assert_msg(!memcmp(of, yf, nout * sizeof *of), "case %zu %s: f32 differs "
				              "from scalar", k, dnnq_isa_name(isa));
			}
		}
		/* the oracle against the formula: within the Q11 weights' rounding
		 * (a cubic's 16, whose overshoot clamps to the codes) */
		bool cubic = DNNQ_RESIZE_INTERP(rc->mode) == DNNQ_RESIZE_CUBIC;
		for (size_t e = 0; e < nout; e++) {
			size_t ch = e % (size_t)rc->c, p = e / (size_t)rc->c;
			size_t j = p % (size_t)rc->ow, i = p / (size_t)rc->ow % (size_t)rc->oh;
			size_t img = p / (size_t)(rc->ow * rc->oh);
			double wq = resize_want(rc, xr, img, i, j, ch), wf = resize_want(rc, xfr, img, i, j, ch);
			wq = wq < 0 ? 0 : wq > 255 ? 255 : wq;
			ck_assert_msg(fabs(oq[e] - wq) <= 0.5 + (cubic ? 6 : 1) * 256.0 / (1 << DNNQ_RESIZE_Q),
			              "case %zu element %zu: u8 %u, formula %.4f", k, e, oq[e], wq);
			ck_assert_msg(fabs(of[e] - wf) <= 1e-5 * (1 + fabs(wf)), "case %zu element %zu: "
			              "f32 %g, formula %g", k, e, (double)of[e], wf);
		}
		free(xq);
		free(yq);
		free(oq);
		free(xf);
		free(yf);
		free(of);
		free(xr);
		free(xfr);
	}
	dnnq_pool_destroy(pool);
}
END_TEST

/* A cubic whose weights pass +-256 is refused when made, int8 and fp32: a
 * coefficient A of -5000 (Keys' weights about 0.15 |A|), or A = -9.01
 * with exclude_outside, whose renormalizing divides by a sum near 0 at
 * the edge. The int8 kernel's Q11 sums overflowed int32 (UBSan: signed
 * overflow; rev45) and a weight past a long's range had no Q11 value. */
START_TEST(vision_resize_cubic_weights)
{
	static const struct rcase cases[] = {
		{ DNNQ_RESIZE_MODE(2, DNNQ_RESIZE_HALF_PIXEL, 0), 4, 5, 3, 8, 10, 2, 2, -5000, false },
		{ DNNQ_RESIZE_MODE(2, DNNQ_RESIZE_HALF_PIXEL, 0), 4, 5, 3, 8, 10, 2, 2, -9.01f, true },
	};
	uint8_t xq[2 * 4 * 5 * 3] = { 0 }, yq[2 * 8 * 10 * 3];
	float xf[2 * 4 * 5 * 3] = { 0 }, yf[2 * 8 * 10 * 3];
	char msg[256];
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const struct rcase *rc = &cases[k];
		int64_t dims[4] = { 2, rc->h, rc->w, rc->c };
		for (int fp32 = 0; fp32 < 2; fp32++) {
			struct dnnq_node_desc nd = resize_desc(rc, DNNQ_ISA_SCALAR, fp32);
			msg[0] = 0;
			ck_assert_int_eq(run_one(&nd, fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8, dims,
			                         fp32 ? (void *)xf : xq, fp32 ? (void *)yf : yq, NULL, msg),
			                 DNNQ_E_RANGE);
			ck_assert_msg(strstr(msg, "node 'op'") && strstr(msg, "cubic weight"), "%s", msg);
		}
	}
}
END_TEST

/* A file's hostile resize node is refused by its check, naming the field. */
START_TEST(vision_resize_check)
{
	const struct dnnq_op_def *def = dnnq_op_find("resize");
	struct dnnq_model_node n;
	char why[160];
	dnnq_model_node_init(&n, def->kind, "r");
	n.ninputs = 1;
	n.op = DNNQ_RESIZE_MODE(1, DNNQ_RESIZE_HALF_PIXEL, 0);
	n.params[0] = n.params[1] = 2;
	n.ndim = 2;
	n.dims[0] = n.dims[1] = 8;
	ck_assert_int_eq(dnnq_op_check_node(&n, why, sizeof why), 0);
	n.op = DNNQ_RESIZE_MODE(1, 7, 0);
	ck_assert_int_ne(dnnq_op_check_node(&n, why, sizeof why), 0);
	ck_assert_ptr_nonnull(strstr(why, "resize mode"));
	n.op = DNNQ_RESIZE_MODE(3, 0, 0);
	ck_assert_int_ne(dnnq_op_check_node(&n, why, sizeof why), 0);
	/* cubic: a finite coefficient, exclude_outside 0 or 1 */
	n.op = DNNQ_RESIZE_MODE(2, 0, 0);
	n.params[2] = -0.75f;
	ck_assert_int_eq(dnnq_op_check_node(&n, why, sizeof why), 0);
	n.params[3] = 0.5f;
	ck_assert_int_ne(dnnq_op_check_node(&n, why, sizeof why), 0);
	ck_assert_ptr_nonnull(strstr(why, "exclude_outside"));
	n.params[3] = 1;
	n.params[2] = INFINITY;
	ck_assert_int_ne(dnnq_op_check_node(&n, why, sizeof why), 0);
	ck_assert_ptr_nonnull(strstr(why, "params[2]"));
	n.params[2] = n.params[3] = 0;
	n.op = 0;
	n.params[1] = NAN;
	ck_assert_int_ne(dnnq_op_check_node(&n, why, sizeof why), 0);
	ck_assert_ptr_nonnull(strstr(why, "params[1]"));
	n.params[1] = 2;
	n.dims[1] = 0;
	ck_assert_int_ne(dnnq_op_check_node(&n, why, sizeof why), 0);
	ck_assert_ptr_nonnull(strstr(why, "dims"));
}
END_TEST

/* ---- ConvTranspose ---- */

struct ccase {
	int64_t h, w, cin, cout, groups, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oph, opw;
};

static int64_t out_len(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                       int64_t op)
{
	return (in - 1) * s + (k - 1) * d + 1 - pb - pe + op;
}

START_TEST(vision_convt_every_isa)
{
	static const struct ccase cases[] = {
		{ 3, 4, 4, 8, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0 },
		{ 5, 3, 6, 4, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1 },
		{ 4, 4, 3, 9, 3, 3, 2, 1, 2, 2, 1, 1, 0, 0, 1, 0, 1 },
	};
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	char msg[256];
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const struct ccase *c = &cases[k];
		int64_t oh = out_len(c->h, c->kh, c->sh, c->dh, c->pt, c->pb, c->oph);
		int64_t ow = out_len(c->w, c->kw, c->sw, c->dw, c->pl, c->pr, c->opw);
		int64_t dims[4] = { 2, c->h, c->w, c->cin }, cog = c->cout / c->groups;
		size_t nin = (size_t)(2 * c->h * c->w * c->cin), nout = (size_t)(2 * oh * ow * c->cout);
		size_t nw = (size_t)(c->cin * cog * c->kh * c->kw);
		float *x = malloc(nin * sizeof *x), *w = malloc(nw * sizeof *w);
		float *b = malloc((size_t)c->cout * sizeof *b), *y = malloc(nout * sizeof *y);
		double *want = calloc(nout, sizeof *want);
		struct rng rng = { 0xc0de + k };
		for (size_t e = 0; e < nin; e++)
			x[e] = (float)rng_uniform(&rng, -1, 1);
		for (size_t e = 0; e < nw; e++)
			w[e] = (float)rng_uniform(&rng, -1, 1);
		for (int64_t e = 0; e < c->cout; e++)
			b[e] = (float)rng_uniform(&rng, -1, 1);
		/* the scatter, in double: x NHWC, w cout x cin / groups x kh x kw */
		for (size_t e = 0; e < nout; e++)
			want[e] = b[e % (size_t)c->cout];
		for (int64_t n = 0; n < 2; n++)
			for (int64_t iy = 0; iy < c->h; iy++)
				for (int64_t ix = 0; ix < c->w; ix++)
					for (int64_t ci = 0; ci < c->cin; ci++)
						for (int64_t co = 0; co < cog; co++)
							for (int64_t ky = 0; ky < c->kh; ky++)
								for (int64_t kx = 0; kx < c->kw; kx++) {
									int64_t oy = iy * c->sh - c->pt + ky * c->dh;
									int64_t ox = ix * c->sw - c->pl + kx * c->dw;
									if (oy < 0 || oy >= oh || ox < 0 || ox >= ow)
										continue;
									int64_t cig = c->cin / c->groups, m = ci / cig * cog + co;
									want[((n * oh + oy) * ow + ox) * c->cout + m] +=
										(double)x[((n * c->h + iy) * c->w + ix) * c->cin + ci] *
										w[((m * cig + ci % cig) * c->kh + ky) * c->kw + kx];
								}
		FOR_EACH_ISA(isa) {
			struct dnnq_node_desc nd = { .kind = dnnq_op_find("convtranspose")->kind,
			                             .precision = DNNQ_PRECISION_FP32 };
			nd.op.convt = (__typeof__(nd.op.convt)){
				.isa = isa, .cin = (size_t)c->cin, .cout = (size_t)c->cout,
				.groups = (size_t)c->groups, .kh = (size_t)c->kh, .kw = (size_t)c->kw,
				.sh = (size_t)c->sh, .sw = (size_t)c->sw, .dh = (size_t)c->dh,
				.dw = (size_t)c->dw, .pad_t = (size_t)c->pt, .pad_l = (size_t)c->pl,
				.pad_b = (size_t)c->pb, .pad_r = (size_t)c->pr, .out_h = (size_t)oh,
				.out_w = (size_t)ow, .w = w, .bias = b,
			};
			ck_assert_msg(run_one(&nd, DNNQ_DTYPE_F32, dims, x, y, k % 2 ? &ex : NULL, msg) == 0,
			              "%s", msg);
			for (size_t e = 0; e < nout; e++)
				ck_assert_msg(fabs(y[e] - want[e]) <= 1e-5 * (1 + fabs(want[e])), "case %zu %s "
				              "element %zu: %g, want %g", k, dnnq_isa_name(isa), e, (double)y[e],
				              want[e]);
		}
		free(x);
		free(w);
		free(b);
		free(y);
		free(want);
	}
	dnnq_pool_destroy(pool);
}
END_TEST

/* int8: on every ISA, the exact int32 scatter of (x - zx)(w - zw)
 * requantized per channel as the kernel documents, element for element. */
START_TEST(vision_convt_int8_every_isa)
{
	enum { H = 4, W = 5, CIN = 6, COUT = 4, G = 2, K = 3, S = 2, OH = 8, OW = 10 };
	const int64_t cig = CIN / G, cog = COUT / G, dims[4] = { 2, H, W, CIN };
	uint8_t x[2 * H * W * CIN], y[2 * OH * OW * COUT], want[2 * OH * OW * COUT];
	int8_t w[COUT * 3 * K * K];
	float ws[COUT], bias[COUT];
	int32_t wz[COUT];
	const struct dnnq_qparams yq = { 0.11f, 121, 8, false };
	struct rng rng = { 0x1e8 };
	for (size_t e = 0; e < sizeof x; e++)
		x[e] = (uint8_t)rng_int(&rng, 0, 255);
	for (size_t e = 0; e < sizeof w; e++)
		w[e] = (int8_t)rng_int(&rng, -127, 127);
	for (int m = 0; m < COUT; m++) {
		ws[m] = (float)rng_uniform(&rng, 0.001, 0.004);
		bias[m] = (float)rng_uniform(&rng, -1, 1);
		wz[m] = (int32_t)rng_int(&rng, -3, 3);
	}
	/* pads 1, output padding 1: OH = (4 - 1) * 2 + 3 - 2 + 1 */
	for (int64_t n = 0; n < 2; n++)
		for (int64_t oy = 0; oy < OH; oy++)
			for (int64_t ox = 0; ox < OW; ox++)
				for (int64_t m = 0; m < COUT; m++) {
					int32_t acc = 0;
					for (int64_t ky = 0; ky < K; ky++)
						for (int64_t kx = 0; kx < K; kx++) {
							int64_t ty = oy + 1 - ky, tx = ox + 1 - kx;
							if (ty < 0 || tx < 0 || ty % S || tx % S || ty / S >= H || tx / S >= W)
								continue;
							for (int64_t ci = 0; ci < cig; ci++) {
								int64_t c = m / cog * cig + ci;
								acc += (x[((n * H + ty / S) * W + tx / S) * CIN + c] - QP.zero_point) *
								       (w[((m * cig + ci) * K + ky) * K + kx] - wz[m]);
							}
						}
					float mult = QP.scale * ws[m] / yq.scale, boff = bias[m] / yq.scale;
					want[((n * OH + oy) * OW + ox) * COUT + m] = (uint8_t)dnnq_saturate_rne(
						(float)acc * mult + boff, (float)yq.zero_point, 0, 255);
				}
	char msg[256];
	FOR_EACH_ISA(isa) {
		struct dnnq_node_desc nd = { .kind = dnnq_op_find("convtranspose")->kind };
		nd.op.convt = (__typeof__(nd.op.convt)){
			.isa = isa, .cin = CIN, .cout = COUT, .groups = G, .kh = K, .kw = K, .sh = S,
			.sw = S, .dh = 1, .dw = 1, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1,
			.out_h = OH, .out_w = OW, .wq = w, .nwq = COUT, .w_scale = ws,
			.w_zero_point = wz, .bias = bias, .out_qp = yq,
		};
		ck_assert_msg(run_one(&nd, DNNQ_DTYPE_U8, dims, x, y, NULL, msg) == 0, "%s", msg);
		for (size_t e = 0; e < sizeof y; e++)
			ck_assert_msg(y[e] == want[e], "%s element %zu: %u, want %u", dnnq_isa_name(isa),
			              e, y[e], want[e]);
	}
}
END_TEST

/* An output size the geometry cannot give, and an int8 node on an f32
 * input, are refused naming the node. */
START_TEST(vision_convt_refused)
{
	float w[4 * 2 * 2 * 2] = { 0 };
	int64_t dims[4] = { 1, 3, 3, 4 };
	float x[36] = { 0 }, y[1024];
	char msg[256] = "";
	struct dnnq_node_desc nd = { .kind = dnnq_op_find("convtranspose")->kind,
	                             .precision = DNNQ_PRECISION_FP32 };
	nd.op.convt = (__typeof__(nd.op.convt)){ .cin = 4, .cout = 2, .groups = 1, .kh = 2,
	                                         .kw = 2, .sh = 2, .sw = 2, .dh = 1, .dw = 1,
	                                         .out_h = 8, .out_w = 6, .w = w };
	ck_assert_int_ne(run_one(&nd, DNNQ_DTYPE_F32, dims, x, y, NULL, msg), 0);
	ck_assert_msg(strstr(msg, "'op'") && strstr(msg, "output 8 x 6"), "%s", msg);
	nd.op.convt.out_h = 6;
	ck_assert_msg(run_one(&nd, DNNQ_DTYPE_F32, dims, x, y, NULL, msg) == 0, "%s", msg);
	nd.precision = DNNQ_PRECISION_INT8;
	ck_assert_int_ne(run_one(&nd, DNNQ_DTYPE_F32, dims, x, y, NULL, msg), 0);
	ck_assert_msg(strstr(msg, "op"), "%s", msg);
}
END_TEST

/* ---- Slice, Pad, Gather (engine/remap.h) ---- */

/* Axis index i of n reflected (bouncing off both ends), clamped or wrapped. */
static int64_t bounce(int64_t i, int64_t n, uint32_t mode)
{
	if (mode == DNNQ_PAD_EDGE)
		return i < 0 ? 0 : i >= n ? n - 1 : i;
	if (mode == DNNQ_PAD_WRAP)
		return ((i % n) + n) % n;
	while (n > 1 && (i < 0 || i >= n))
		i = i < 0 ? -i : 2 * (n - 1) - i;
	return n > 1 ? i : 0;
}

/* Pads of every mode (and a crop) on H, W and C, u8 and f32, with and
 * without threads, against the rule element by element. */
START_TEST(vision_pad_modes)
{
	static const int64_t start[3][4] = { { 0, -2, -1, 0 }, { 0, 1, -3, -2 }, { 0, 0, 2, -1 } };
	static const int64_t out[3][4] = { { 2, 7, 8, 3 }, { 2, 4, 9, 6 }, { 2, 5, 3, 5 } };
	int64_t dims[4] = { 2, 5, 6, 3 };
	uint8_t xq[180], yq[2 * 9 * 9 * 6];
	float xf[180], yf[2 * 9 * 9 * 6];
	struct rng rng = { 0x9ad };
	for (size_t e = 0; e < 180; e++) {
		xq[e] = (uint8_t)rng_int(&rng, 0, 255);
		xf[e] = (float)rng_uniform(&rng, -2, 2);
	}
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	char msg[256];
	for (uint32_t mode = DNNQ_PAD_CONSTANT; mode < DNNQ_REMAP_MODE_COUNT; mode++)
		for (int k = 0; k < 3; k++) {
			struct dnnq_node_desc nd = { .kind = dnnq_op_find("pad")->kind };
			nd.op.remap = (struct dnnq_remap_desc){ .mode = mode, .value = 0.75f, .ndim = 4 };
			for (int i = 0; i < 4; i++) {
				nd.op.remap.out[i] = out[k][i];
				nd.op.remap.start[i] = start[k][i];
				nd.op.remap.step[i] = 1;
			}
			struct dnnq_node_desc nf = nd;
			nf.precision = DNNQ_PRECISION_FP32;
			ck_assert_msg(run_one(&nd, DNNQ_DTYPE_U8, dims, xq, yq, k % 2 ? &ex : NULL, msg) == 0,
			              "%s", msg);
			ck_assert_msg(run_one(&nf, DNNQ_DTYPE_F32, dims, xf, yf, k % 2 ? NULL : &ex, msg) == 0,
			              "%s", msg);
			uint8_t fill = (uint8_t)lrintf(0.75f / QP.scale + (float)QP.zero_point);
			size_t e = 0;
			for (int64_t b = 0; b < 2; b++)
				for (int64_t h = 0; h < out[k][1]; h++)
					for (int64_t w = 0; w < out[k][2]; w++)
						for (int64_t c = 0; c < out[k][3]; c++, e++) {
							int64_t at[4] = { b, h + start[k][1], w + start[k][2],
							                  c + start[k][3] };
							bool in = true;
							for (int i = 1; i < 4; i++) {
								in &= at[i] >= 0 && at[i] < dims[i];
								if (mode != DNNQ_PAD_CONSTANT)
									at[i] = bounce(at[i], dims[i], mode);
							}
							size_t src = (size_t)(((at[0] * 5 + at[1]) * 6 + at[2]) * 3 + at[3]);
							bool fills = mode == DNNQ_PAD_CONSTANT && !in;
							ck_assert_msg(yq[e] == (fills ? fill : xq[src]), "mode %u case %d "
							              "element %zu: u8 %u", mode, k, e, yq[e]);
							ck_assert_msg(yf[e] == (fills ? 0.75f : xf[src]), "mode %u case %d "
							              "element %zu: f32 %g", mode, k, e, (double)yf[e]);
						}
		}
	dnnq_pool_destroy(pool);
}
END_TEST

/* A slice or gather reading outside its input is refused naming the node
 * and the axis; a negative step walks backwards. */
START_TEST(vision_slice_gather_bounds)
{
	int64_t dims[3] = { 1, 4, 6 };
	float x[24], y[24];
	for (int e = 0; e < 24; e++)
		x[e] = (float)e;
	char msg[256] = "";
	struct dnnq_node_desc nd = { .kind = dnnq_op_find("slice")->kind,
	                             .precision = DNNQ_PRECISION_FP32 };
	nd.op.remap = (struct dnnq_remap_desc){ .ndim = 3, .out = { 1, 2, 3 },
	                                        .start = { 0, 3, 5 }, .step = { 1, -2, -2 } };
	ck_assert_msg(run_nd(&nd, DNNQ_DTYPE_F32, 3, dims, x, y, NULL, msg) == 0, "%s", msg);
	static const float want[6] = { 23, 21, 19, 11, 9, 7 };
	for (int e = 0; e < 6; e++)
		ck_assert_msg(y[e] == want[e], "element %d: %g, want %g", e, (double)y[e],
		              (double)want[e]);
	nd.op.remap.out[2] = 4;          /* 5, 3, 1, -1 */
	ck_assert_int_ne(run_nd(&nd, DNNQ_DTYPE_F32, 3, dims, x, y, NULL, msg), 0);
	ck_assert_msg(strstr(msg, "'op'") && strstr(msg, "axis 2"), "%s", msg);
	static const int32_t bad[2] = { 1, 4 };
	struct dnnq_node_desc ng = { .kind = dnnq_op_find("gather")->kind,
	                             .precision = DNNQ_PRECISION_FP32 };
	ng.op.remap = (struct dnnq_remap_desc){ .ndim = 3, .out = { 1, 2, 6 }, .step = { 1, 1, 1 },
	                                        .axis = 1, .index = bad, .nindex = 2 };
	ck_assert_int_ne(run_nd(&ng, DNNQ_DTYPE_F32, 3, dims, x, y, NULL, msg), 0);
	ck_assert_msg(strstr(msg, "'op'") && strstr(msg, "axis 1"), "%s", msg);
	/* an edge pad to 2^24 x 2^24 (reads inside, each dim allowed): refused
	 * before its index tables are built, naming the axis that passes 2^32 */
	struct dnnq_node_desc np = { .kind = dnnq_op_find("pad")->kind,
	                             .precision = DNNQ_PRECISION_FP32 };
	np.op.remap = (struct dnnq_remap_desc){ .mode = DNNQ_PAD_EDGE, .ndim = 3,
	                                        .out = { 1, 1 << 24, 1 << 24 },
	                                        .step = { 1, 1, 1 } };
	ck_assert_int_ne(run_nd(&np, DNNQ_DTYPE_F32, 3, dims, x, y, NULL, msg), 0);
	ck_assert_msg(strstr(msg, "'op'") && strstr(msg, "axis 2") && strstr(msg, "2^32"), "%s",
	              msg);
}
END_TEST

Suite *suite_vision(void)
{
	Suite *s = suite_create("vision");
	TCase *tc = tcase_create("vision");
	tcase_add_test(tc, vision_resize_every_isa);
	tcase_add_test(tc, vision_resize_cubic_weights);
	tcase_add_test(tc, vision_resize_check);
	tcase_add_test(tc, vision_convt_every_isa);
	tcase_add_test(tc, vision_convt_int8_every_isa);
	tcase_add_test(tc, vision_convt_refused);
	tcase_add_test(tc, vision_pad_modes);
	tcase_add_test(tc, vision_slice_gather_bounds);
	suite_add_tcase(s, tc);
	return s;
}
