/*
 * GridSample (file code 97), fp32: ONNX's GridSample of a 4-D image
 * (opset 16's bilinear / nearest / bicubic; opset 20's linear and cubic
 * are the same), torch's F.grid_sample: spatial transformers, flow
 * warping. Output pixel (ho, wo) of batch item n reads the image at the
 * point grid[n, ho, wo] = (x, y) in [-1, 1] (-1: the left / top edge, 1:
 * the right / bottom one; align_corners: the centres of the corner pixels,
 * else their outer edges), every channel alike.
 *
 * Layout: the image and the output are the engine's NHWC; the grid, ONNX
 * [N, Ho, Wo, 2], is a 4-D value too, so the graph holds it as NHWC of
 * those dims: [N, Wo, 2, Ho], element (ho, wo, k) at (wo * 2 + k) * Ho + ho.
 * The node reads it there (no transpose).
 *
 * Sampling is ONNX Runtime's (its CPU kernel is what ONNX's tests and the
 * exporters are checked against): the point in pixels, then the taps
 * (nearest: the point rounded half to even; bilinear: the 2 x 2 around it;
 * bicubic: the 4 x 4, Keys' kernel with a = -0.75), each tap outside the
 * image read as the padding says: zeros 0, border the nearest edge pixel,
 * reflection the pixel mirrored about the edges (the corner centres with
 * align_corners, else the outer edges), per tap.
 *
 * A grid comes from the graph (a client's input, or arithmetic on one), so
 * no coordinate may steer a read out of the image: a NaN one gives a NaN
 * output (nothing read); an infinite or huge one is, under zeros and
 * border, moved to a few pixels outside the image (where every tap gives
 * what the far point would: zeros, or the edge), and under reflection,
 * whose mirror repeats every 2 x the span, reduced by that period (an
 * infinite one, with no position, gives NaN). Each tap is then clamped or
 * mirrored into the image or skipped before it is read.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/grid-sample.h"
#include "engine/op.h"
#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define PIXELS_PER_TASK 256u

/* Tap i of an axis of len pixels under the padding (lo, hi: the mirror's
 * edges), or -1: a zero. */
static ptrdiff_t tap(const struct dnnq_grid_sample *op, int64_t i, size_t len, float lo, float hi)
{
	if (i >= 0 && (size_t)i < len)
		return (ptrdiff_t)i;
	if (op->pad == DNNQ_GS_ZEROS)
		return -1;
	if (op->pad == DNNQ_GS_BORDER || hi <= lo)
		return i < 0 ? 0 : (ptrdiff_t)len - 1;
	/* reflection of a tap a few pixels out (the point was reduced) */
	float f = (float)i;
	while (f < lo || f > hi)
		f = f < lo ? lo + (lo - f) : hi - (f - hi);
	int64_t r = (int64_t)f;
	return r < 0 ? 0 : r >= (int64_t)len ? (ptrdiff_t)len - 1 : (ptrdiff_t)r;
}

/* Normalized coordinate v of an axis of len pixels in pixels, brought
 * within a few pixels of the image (the top comment); NaN: none. */
static float source(const struct dnnq_grid_sample *op, float v, size_t len)
{
	float L = (float)len;
	float p = op->align ? (v + 1) / 2.f * (L - 1) : ((v + 1) * L - 1) / 2.f;
	if (isnan(p))
		return p;
	if (op->pad != DNNQ_GS_REFLECTION)
		return p < -4.f ? -4.f : p > L + 3.f ? L + 3.f : p;
	if (isinf(p))
		return NAN;
	/* the mirror repeats every 2 x span (an integer: 2 (len - 1) or
	 * 2 len), so taps of p less a multiple of it mirror alike. fmod is
	 * exact; p - period * floor(p / period) was not (1e25 on 7 pixels
	 * left -4.3e9, whose taps' mirroring in tap() never ended). */
	double period = op->align ? 2.0 * (len - 1) : 2.0 * len;
	if (period > 0 && (p < -period || p > 2 * period)) {
		double r = fmod((double)p, period);
		p = (float)(r < 0 ? r + period : r);
	}
	return p;
}

static void gs_coeffs(float t, float k[4])
{
	const float a = -0.75f;
	t = fabsf(t);
	k[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
	k[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
	k[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
	k[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a;
}

void dnnq_grid_sample_pixel(const struct dnnq_grid_sample *op, const float *x, const float *g,
                            float *y, size_t p)
{
	size_t C = op->c, wo = p % op->wo, ho = p / op->wo % op->ho, n = p / (op->wo * op->ho);
	const size_t *xs = op->xs, *gs = op->gs, *ys = op->ys;
	const float *gp = g + n * gs[0] + ho * gs[1] + wo * gs[2];
	float px = source(op, gp[0], op->w), py = source(op, gp[gs[3]], op->h);
	float *yp = y + n * ys[0] + ho * ys[1] + wo * ys[2];
	const float *img = x + n * xs[0];
	float xlo = op->align ? 0.f : -0.5f, ylo = xlo;
	float xhi = op->align ? (float)op->w - 1 : (float)op->w - 0.5f;
	float yhi = op->align ? (float)op->h - 1 : (float)op->h - 0.5f;
	if (isnan(px) || isnan(py)) {
		for (size_t k = 0; k < C; k++)
			yp[k * ys[3]] = NAN;
		return;
	}
	int64_t x0 = (int64_t)floorf(px), y0 = (int64_t)floorf(py);
	float wx[4], wy[4];
	int64_t bx, by;
	int taps;
	switch (op->mode) {
	case DNNQ_GS_NEAREST:
		bx = (int64_t)nearbyintf(px);
		by = (int64_t)nearbyintf(py);
		wx[0] = wy[0] = 1;
		taps = 1;
		break;
	case DNNQ_GS_BILINEAR:
		bx = x0;
		by = y0;
		wx[0] = (float)(x0 + 1) - px;
		wx[1] = px - (float)x0;
		wy[0] = (float)(y0 + 1) - py;
		wy[1] = py - (float)y0;
		taps = 2;
		break;
	default:
		bx = x0 - 1;
		by = y0 - 1;
		gs_coeffs(px - (float)x0, wx);
		gs_coeffs(py - (float)y0, wy);
		taps = 4;
		break;
	}
	for (size_t k = 0; k < C; k++)
		yp[k * ys[3]] = 0;
	for (int i = 0; i < taps; i++) {
		ptrdiff_t r = tap(op, by + i, op->h, ylo, yhi);
		for (int j = 0; r >= 0 && j < taps; j++) {
			ptrdiff_t c = tap(op, bx + j, op->w, xlo, xhi);
			if (c < 0)
				continue;
			const float *s = img + (size_t)r * xs[1] + (size_t)c * xs[2];
			float wt = wy[i] * wx[j];
			for (size_t k = 0; k < C; k++)
				yp[k * ys[3]] += wt * s[k * xs[3]];
		}
	}
}

void dnnq_grid_sample_init(struct dnnq_grid_sample *op, uint32_t o)
{
	op->mode = DNNQ_GS_MODE(o);
	op->pad = DNNQ_GS_PAD(o);
	op->align = o & DNNQ_GS_ALIGN;
}

/* The engine's layouts: image and output NHWC, the grid [N, Wo, 2, Ho]. */
void dnnq_grid_sample_nhwc(struct dnnq_grid_sample *op)
{
	size_t xs[4] = { op->h * op->w * op->c, op->w * op->c, op->c, 1 };
	size_t gs[4] = { op->wo * 2 * op->ho, 1, 2 * op->ho, op->ho };
	size_t ys[4] = { op->ho * op->wo * op->c, op->wo * op->c, op->c, 1 };
	memcpy(op->xs, xs, sizeof xs);
	memcpy(op->gs, gs, sizeof gs);
	memcpy(op->ys, ys, sizeof ys);
}

static int gs_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                    struct dnnq_diag *diag)
{
	struct dnnq_grid_sample *op = n->op;
	const struct gtensor *x = gin(g, n, 0), *gr = gin(g, n, 1);
	if (gr->dims[0] != x->dims[0])
		return FAIL(DNNQ_E_SHAPE, "node '%s': grid '%s' has %lld batch items, input '%s' "
		            "%lld: want the same", n->name, gr->name, (long long)gr->dims[0], x->name,
		            (long long)x->dims[0]);
	op->n = (size_t)x->dims[0];
	op->h = (size_t)x->dims[1];
	op->w = (size_t)x->dims[2];
	op->c = (size_t)x->dims[3];
	op->wo = (size_t)gr->dims[1];
	op->ho = (size_t)gr->dims[3];
	dnnq_grid_sample_nhwc(op);
	out->ndim = 4;
	out->dims[0] = x->dims[0];
	out->dims[1] = gr->dims[3];
	out->dims[2] = gr->dims[1];
	out->dims[3] = x->dims[3];
	return DNNQ_OK;
}

static int gs_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	bool fp32;
	uint32_t o = n->desc.op.xfmr.op;
	int rc = dnnq_xfmr_inputs(g, n, 2, &fp32, diag);
	if (rc)
		return rc;
	const struct gtensor *x = gin(g, n, 0), *gr = gin(g, n, 1);
	if (!fp32 || x->ndim != 4 || gr->ndim != 4 || gr->dims[2] != 2 || gr->const_data)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' of rank %u, grid '%s' of rank %u "
		            "(engine dims [N, Wo, %lld, Ho]): want fp32, a 4-D image and a computed "
		            "4-D grid [N, Ho, Wo, 2]", n->name, x->name, x->ndim, gr->name, gr->ndim,
		            gr->ndim == 4 ? (long long)gr->dims[2] : -1LL);
	for (int i = 1; i < 4; i++)
		if (x->dims[i] < 1 || x->dims[i] > (1 << 24) || gr->dims[i] < 1 ||
		    gr->dims[i] > (1 << 24))
			return FAIL(DNNQ_E_SHAPE, "node '%s': image [%lld, %lld, %lld] (NHWC), grid of "
			            "%lld x %lld points: want 1..2^24 each", n->name,
			            (long long)x->dims[1], (long long)x->dims[2], (long long)x->dims[3],
			            (long long)gr->dims[3], (long long)gr->dims[1]);
	struct dnnq_grid_sample *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	dnnq_grid_sample_init(op, o);
	out->dtype = DNNQ_DTYPE_F32;
	out->qp = (struct dnnq_qparams){ 0 };
	return gs_infer(g, n, out, diag);
}

static int gs_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct dnnq_grid_sample *op = n->op;
	const void *x;
	void *y;
	(void)nthreads;
	dnnq_xfmr_bind(g, n, &x, &y);
	op->x = x;
	op->y = y;
	op->g = gin(g, n, 1)->buf;
	return DNNQ_OK;
}

static void gs_task(void *arg, size_t t, unsigned tid)
{
	const struct dnnq_grid_sample *op = arg;
	size_t p0 = t * PIXELS_PER_TASK, total = op->n * op->ho * op->wo;
	size_t p1 = p0 + PIXELS_PER_TASK < total ? p0 + PIXELS_PER_TASK : total;
	(void)tid;
	for (size_t p = p0; p < p1; p++)
		dnnq_grid_sample_pixel(op, op->x, op->g, op->y, p);
}

static int gs_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct dnnq_grid_sample *op = n->op;
	if (!op->x || !op->g)
		return DNNQ_E_INVAL;
	return dnnq_xfmr_run(ex, op->y, op->n * op->ho * op->wo, PIXELS_PER_TASK, gs_task, op);
}

/* The node is fp32: its reference is its kernel. */
static int gs_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	const struct dnnq_grid_sample *op = n->op;
	(void)g;
	for (size_t p = 0; p < op->n * op->ho * op->wo; p++)
		dnnq_grid_sample_pixel(op, in[0], in[1], out, p);
	return DNNQ_OK;
}

/* Each output pixel: the taps of its mode, every channel. */
static uint64_t gs_work(const struct dnnq_graph *g, const struct gnode *n)
{
	const struct dnnq_grid_sample *op = n->op;
	static const uint64_t taps[DNNQ_GS_MODES] = { 4, 1, 16 };
	uint64_t w;
	(void)g;
	return __builtin_mul_overflow((uint64_t)(op->n * op->ho * op->wo) * op->c,
	                              taps[op->mode], &w) ? UINT64_MAX : w;
}

static const struct node_ops gs_ops = { gs_create, gs_infer, gs_setup, gs_run, NULL,
                                        gs_ref, false, true };

/* op: a mode and a padding of the enums, align_corners, nothing else. */
static int gs_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (DNNQ_GS_MODE(n->op) >= DNNQ_GS_MODES || DNNQ_GS_PAD(n->op) >= DNNQ_GS_PADDINGS ||
	    n->op >> 5) {
		snprintf(why, cap, "op %u: want mode (0 bilinear, 1 nearest, 2 bicubic) | padding "
		         "(0 zeros, 4 border, 8 reflection) | 16 align_corners", n->op);
		return DNNQ_E_FORMAT;
	}
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_grid_sample = {
	.kind = 97, .name = "grid_sample", .min_inputs = 2, .max_inputs = 2,
	.attrs = DNNQ_A(DNNQ_A_OP) | DNNQ_A(DNNQ_A_PRECISION),
	.check = gs_check, .build = dnnq_xfmr_build, .ops_f32 = &gs_ops, .work = gs_work,
};
