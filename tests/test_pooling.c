/*
 * The pooling operators (engine/pooling.h): output sizes against ONNX's
 * formula and hand-checked examples from the ONNX operator docs; random
 * geometries (ceil mode, asymmetric pads, dilation, kernels bigger than the
 * padded input, channel counts around the vector widths) where MaxPool must
 * equal the window's max exactly and the averages must be within 1 LSB of
 * quantize(reference(dequantize(x))); every SIMD ISA's kernels
 * bit-identical to the scalar ones; 1 and 2 threads identical; argument errors and their
 * diagnostics.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/pool.h"
#include "engine/f32.h"
#include "engine/pooling.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

#define GUARD 64


/* ---- the reference: straight from the definitions, in double ---- */

/* ONNX's output length (floor/ceil of a real quotient, then the ceil-mode
 * drop of a window starting in the end padding); <= 0 when invalid. */
static long ref_out(long in, long k, long s, long p0, long p1, long d, bool ceil_mode)
{
	double v = (double)(in + p0 + p1 - d * (k - 1) - 1) / (double)s + 1;
	long o = (long)(ceil_mode ? ceil(v) : floor(v));
	if (ceil_mode && o >= 1 && (o - 1) * s >= in + p0)
		o--;
	return o;
}

struct pcase {
	struct dnnq_pooling_geom g;
	size_t n, h, w, c, oh, ow;
	bool include_pad, global;
	struct dnnq_qparams in_qp, out_qp;
};

static void ref_size(const struct pcase *pc, long *oh, long *ow)
{
	const struct dnnq_pooling_geom *g = &pc->g;
	*oh = ref_out((long)pc->h, g->kernel_h, g->stride_h, g->pad_top, g->pad_bottom,
	              g->dilation_h, g->ceil_mode);
	*ow = ref_out((long)pc->w, g->kernel_w, g->stride_w, g->pad_left, g->pad_right,
	              g->dilation_w, g->ceil_mode);
}

/* Checks y (n x oh x ow x c) against the reference: MaxPool exactly, the
 * averages within 1 LSB. */
static void check_reference(const struct pcase *pc, const uint8_t *x, const uint8_t *y, bool avg)
{
	const struct dnnq_pooling_geom *g = &pc->g;
	const struct dnnq_qparams *iq = &pc->in_qp, *oq = &pc->out_qp;
	double qmax = dnnq_qmax(oq->precision, false);
	for (size_t b = 0; b < pc->n; b++)
	for (size_t oh = 0; oh < pc->oh; oh++)
	for (size_t ow = 0; ow < pc->ow; ow++)
	for (size_t ch = 0; ch < pc->c; ch++) {
		int mx = 0;
		double sum = 0;
		long count = 0;
		for (long i = 0; i < g->kernel_h; i++) {
			long h = (long)oh * g->stride_h - g->pad_top + i * g->dilation_h;
			for (long j = 0; j < g->kernel_w; j++) {
				long w = (long)ow * g->stride_w - g->pad_left + j * g->dilation_w;
				bool inside = h >= 0 && h < (long)pc->h && w >= 0 && w < (long)pc->w;
				bool padded = h < (long)pc->h + g->pad_bottom && w < (long)pc->w + g->pad_right;
				if (inside || (pc->include_pad && padded))
					count++;
				if (!inside)
					continue;
				int v = x[((b * pc->h + (size_t)h) * pc->w + (size_t)w) * pc->c + ch];
				mx = v > mx ? v : mx;
				sum += (double)iq->scale * (v - iq->zero_point);
			}
		}
		size_t at = ((b * pc->oh + oh) * pc->ow + ow) * pc->c + ch;
		if (!avg) {
			ck_assert_msg(y[at] == mx, "y[%zu] = %u, max %d", at, y[at], mx);
			continue;
		}
		double q = nearbyint((count ? sum / count : 0) / oq->scale) + oq->zero_point;
		q = q < 0 ? 0 : q > qmax ? qmax : q;
		ck_assert_msg(fabs(y[at] - q) <= 1, "y[%zu] = %u, reference %g (%zux%zux%zux%zu)",
		              at, y[at], q, pc->n, pc->h, pc->w, pc->c);
	}
}

/* GlobalAveragePool as the reference sees it: one window, the whole image. */
static void make_global(struct pcase *pc)
{
	pc->g = (struct dnnq_pooling_geom){ (int32_t)pc->h, (int32_t)pc->w, 1, 1, 0, 0, 0, 0,
	                                    1, 1, false };
	pc->include_pad = false;
	pc->oh = pc->ow = 1;
}

/* ---- running the operators ---- */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Creates, sets up and runs the operator `kind` (0 max, 1 avg, 2 global)
 * for pc on `isa`; y gets oh * ow * n * c bytes and must keep its guard. */
static void run_op(int kind, const struct pcase *pc, enum dnnq_isa isa, const uint8_t *x,
                   uint8_t *y, const struct dnnq_executor *ex)
{
	struct dnnq_diag d = { "" };
	size_t ybytes = pc->n * pc->oh * pc->ow * pc->c;
	memset(y, 0xa5, ybytes + GUARD);
	if (kind == 0) {
		struct dnnq_maxpool_desc desc = { isa, pc->g, pc->in_qp };
		struct dnnq_maxpool *op;
		ck_assert_msg(dnnq_maxpool_create(&desc, &op, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(dnnq_maxpool_setup(op, pc->n, pc->h, pc->w, pc->c, x, y), 0);
		ck_assert_int_eq(dnnq_maxpool_run(op, ex), 0);
		dnnq_maxpool_destroy(op);
	} else if (kind == 1) {
		struct dnnq_avgpool_desc desc = { isa, pc->g, pc->include_pad, pc->in_qp, pc->out_qp };
		struct dnnq_avgpool *op;
		ck_assert_msg(dnnq_avgpool_create(&desc, &op, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(dnnq_avgpool_setup(op, pc->n, pc->h, pc->w, pc->c, x, y), 0);
		ck_assert_int_eq(dnnq_avgpool_run(op, ex), 0);
		dnnq_avgpool_destroy(op);
	} else {
		struct dnnq_gavgpool_desc desc = { isa, pc->in_qp, pc->out_qp };
		struct dnnq_gavgpool *op;
		ck_assert_msg(dnnq_gavgpool_create(&desc, &op, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(dnnq_gavgpool_setup(op, pc->n, pc->h, pc->w, pc->c, x, y), 0);
		ck_assert_int_eq(dnnq_gavgpool_run(op, ex), 0);
		dnnq_gavgpool_destroy(op);
	}
	for (size_t i = 0; i < GUARD; i++)
		ck_assert_msg(y[ybytes + i] == 0xa5, "wrote past the output (byte %zu)", i);
}

/* Scalar against the reference, every SIMD ISA bit-identical to scalar. */
static void run_and_check(int kind, const struct pcase *pc, const uint8_t *x)
{
	size_t ybytes = pc->n * pc->oh * pc->ow * pc->c;
	uint8_t *ys = xmalloc(ybytes + GUARD), *yv = xmalloc(ybytes + GUARD);
	run_op(kind, pc, DNNQ_ISA_SCALAR, x, ys, NULL);
	check_reference(pc, x, ys, kind != 0);
	FOR_EACH_SIMD_ISA(isa) {
		memset(yv, 0xa5, ybytes);
		run_op(kind, pc, isa, x, yv, NULL);
		ck_assert_msg(!memcmp(ys, yv, ybytes), "%s != scalar", dnnq_isa_name(isa));
	}
	free(ys);
	free(yv);
}

static struct dnnq_qparams random_qp(struct rng *r)
{
	unsigned p = rng_int(r, 0, 3) ? 8 : (unsigned)rng_int(r, 2, 7);
	return (struct dnnq_qparams){ (float)exp(rng_uniform(r, -6, 1)),
	                              (int32_t)rng_int(r, 0, dnnq_qmax(p, false)), (uint8_t)p, false };
}

static const size_t channels[] = { 1, 3, 17, 33, 64, 65, 300 };

/* A random valid geometry and shape; kernels up to 5 may exceed the image. */
static void random_case(struct rng *r, struct pcase *pc)
{
	for (;;) {
		memset(pc, 0, sizeof *pc);
		struct dnnq_pooling_geom *g = &pc->g;
		g->kernel_h = (int32_t)rng_int(r, 1, 5);
		g->kernel_w = (int32_t)rng_int(r, 1, 5);
		g->stride_h = (int32_t)rng_int(r, 1, 3);
		g->stride_w = (int32_t)rng_int(r, 1, 3);
		g->dilation_h = (int32_t)rng_int(r, 1, 3) == 3 ? 2 : 1;
		g->dilation_w = (int32_t)rng_int(r, 1, 3) == 3 ? 2 : 1;
		long eh = (g->kernel_h - 1) * g->dilation_h + 1, ew = (g->kernel_w - 1) * g->dilation_w + 1;
		g->pad_top = (int32_t)rng_int(r, 0, eh - 1);
		g->pad_bottom = (int32_t)rng_int(r, 0, eh - 1);
		g->pad_left = (int32_t)rng_int(r, 0, ew - 1);
		g->pad_right = (int32_t)rng_int(r, 0, ew - 1);
		g->ceil_mode = rng_int(r, 0, 1);
		pc->include_pad = rng_int(r, 0, 1);
		pc->n = (size_t)rng_int(r, 1, 2);
		pc->h = (size_t)rng_int(r, 1, 9);
		pc->w = (size_t)rng_int(r, 1, 9);
		pc->c = channels[rng_int(r, 0, sizeof channels / sizeof channels[0] - 1)];
		pc->in_qp = random_qp(r);
		pc->out_qp = random_qp(r);
		long oh, ow;
		ref_size(pc, &oh, &ow);
		int rc = dnnq_pooling_output_size(g, pc->h, pc->w, &pc->oh, &pc->ow, NULL);
		if (oh < 1 || ow < 1) {
			ck_assert_int_eq(rc, DNNQ_E_SHAPE);
			continue;
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(pc->oh, oh);
		ck_assert_int_eq(pc->ow, ow);
		return;
	}
}

static uint8_t *random_input(struct rng *r, const struct pcase *pc)
{
	size_t n = pc->n * pc->h * pc->w * pc->c;
	uint8_t *x = xmalloc(n);
	int32_t qmax = dnnq_qmax(pc->in_qp.precision, false);
	for (size_t i = 0; i < n; i++)
		x[i] = (uint8_t)rng_int(r, 0, qmax);
	return x;
}

/* ---- tests ---- */

START_TEST(output_size_rules)
{
	static const struct {
		int32_t in, k, s, p0, p1, d;
		bool ceil_mode;
		size_t want;                 /* 0: DNNQ_E_SHAPE */
	} t[] = {
		{ 5, 2, 2, 0, 0, 1, false, 2 }, { 5, 2, 2, 0, 0, 1, true, 3 },
		{ 4, 3, 2, 0, 0, 1, false, 1 }, { 4, 3, 2, 0, 0, 1, true, 2 },  /* ONNX maxpool_2d_ceil */
		{ 5, 5, 1, 2, 2, 1, false, 5 },                                 /* ONNX maxpool_2d_pads */
		{ 4, 2, 1, 0, 0, 2, false, 2 },                                 /* ONNX dilations */
		{ 7, 3, 1, 0, 0, 2, false, 3 },
		{ 3, 3, 2, 1, 2, 1, true, 2 },   /* third window would start in the end pad */
		{ 1, 2, 2, 1, 1, 1, true, 1 },   /* so would the second */
		{ 4, 2, 2, 1, 1, 1, true, 3 },   /* third starts inside the image: kept */
		{ 2, 3, 2, 0, 0, 1, true, 1 },   /* kernel bigger than the input: ceil fits one */
		{ 2, 3, 2, 0, 0, 1, false, 0 },
		{ 2, 3, 1, 0, 0, 1, true, 0 },
		{ 1, 3, 1, 1, 1, 1, false, 1 },  /* 1-pixel image, kernel = padded input */
		{ 2, 5, 1, 0, 0, 1, false, 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct dnnq_pooling_geom g = { t[i].k, 1, t[i].s, 1, t[i].p0, 0, t[i].p1, 0,
		                               t[i].d, 1, t[i].ceil_mode };
		size_t oh = 99, ow = 99;
		struct dnnq_diag d = { "" };
		int rc = dnnq_pooling_output_size(&g, (size_t)t[i].in, 3, &oh, &ow, &d);
		if (!t[i].want) {
			ck_assert_msg(rc == DNNQ_E_SHAPE, "case %zu: rc %d", i, rc);
			ck_assert_msg(strstr(d.msg, "input height"), "case %zu: '%s'", i, d.msg);
			continue;
		}
		ck_assert_msg(rc == 0, "case %zu: %s", i, d.msg);
		ck_assert_msg(oh == t[i].want, "case %zu: out %zu, want %zu", i, oh, t[i].want);
		ck_assert_int_eq(ow, 3);
		ck_assert_int_eq(ref_out(t[i].in, t[i].k, t[i].s, t[i].p0, t[i].p1, t[i].d,
		                         t[i].ceil_mode), (long)t[i].want);
	}
}
END_TEST

/* Runs `kind` on a 1 x h x w x c image with scale-1 qparams (output scale
 * out_scale) and compares all of the output with `want`. */
static void hand_case(int kind, struct dnnq_pooling_geom g, bool include_pad, size_t h,
                      size_t w, size_t c, const uint8_t *x, float out_scale,
                      const uint8_t *want, size_t nwant)
{
	struct pcase pc = { .g = g, .n = 1, .h = h, .w = w, .c = c, .include_pad = include_pad,
	                    .in_qp = { 1, 0, 8, false }, .out_qp = { out_scale, 0, 8, false } };
	if (kind == 2)
		pc.oh = pc.ow = 1;
	else
		ck_assert_int_eq(dnnq_pooling_output_size(&g, h, w, &pc.oh, &pc.ow, NULL), 0);
	ck_assert_int_eq(pc.oh * pc.ow * c, nwant);
	uint8_t y[256 + GUARD];
	ck_assert_uint_le(nwant, 256);
	FOR_EACH_ISA(isa) {
		run_op(kind, &pc, isa, x, y, NULL);
		ck_assert_mem_eq(y, want, nwant);
	}
}

static const struct dnnq_pooling_geom k3s2 = { 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, true };

START_TEST(onnx_examples)
{
	uint8_t x16[16], x25[25];
	for (int i = 0; i < 25; i++)
		x25[i] = (uint8_t)(i + 1);
	memcpy(x16, x25, 16);
	/* maxpool_2d_ceil: 4x4, kernel 3, stride 2, ceil */
	hand_case(0, k3s2, false, 4, 4, 1, x16, 1, (const uint8_t[]){ 11, 12, 15, 16 }, 4);
	/* maxpool_2d_pads: 5x5, kernel 5, pads 2 */
	struct dnnq_pooling_geom p2 = { 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, false };
	static const uint8_t want_pads[25] = {
		13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25, 25, 25,
		23, 24, 25, 25, 25, 23, 24, 25, 25, 25,
	};
	hand_case(0, p2, false, 5, 5, 1, x25, 1, want_pads, 25);
	/* maxpool_2d_dilations: 4x4, kernel 2, dilation 2 */
	struct dnnq_pooling_geom dil = { 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, false };
	hand_case(0, dil, false, 4, 4, 1, x16, 1, (const uint8_t[]){ 11, 12, 15, 16 }, 4);
	/* averagepool_2d_ceil: 6, 7.5, 12, 13.5 at output scale 0.5; the taps
	 * ceil mode puts past the (zero) end padding never count, so
	 * count_include_pad changes nothing here */
	static const uint8_t want_avg[4] = { 12, 15, 24, 27 };
	hand_case(1, k3s2, false, 4, 4, 1, x16, 0.5f, want_avg, 4);
	hand_case(1, k3s2, true, 4, 4, 1, x16, 0.5f, want_avg, 4);
}
END_TEST

START_TEST(average_pads_and_rounding)
{
	/* [[1,2],[3,4]], kernel 2, stride 1, pads 1: output scale 1/4 */
	static const uint8_t x[4] = { 1, 2, 3, 4 };
	struct dnnq_pooling_geom g = { 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, false };
	hand_case(1, g, true, 2, 2, 1, x, 0.25f, (const uint8_t[]){ 1, 3, 2, 4, 10, 6, 3, 7, 4 }, 9);
	hand_case(1, g, false, 2, 2, 1, x, 0.25f,
	          (const uint8_t[]){ 4, 6, 8, 8, 10, 12, 12, 14, 16 }, 9);
	/* ties go to even: 1.5 -> 2, 2.5 -> 2 */
	struct dnnq_pooling_geom row = { 1, 2, 1, 2, 0, 0, 0, 0, 1, 1, false };
	hand_case(1, row, false, 1, 4, 1, (const uint8_t[]){ 1, 2, 2, 3 }, 1,
	          (const uint8_t[]){ 2, 2 }, 2);
	/* ties in every lane (AVX2 vectors of 32 and 8, scalar tail): channel
	 * ch averages ch and ch + 1, so the even one of the two wins */
	uint8_t xt[2 * 75], wt[75];
	for (int ch = 0; ch < 75; ch++) {
		xt[ch] = (uint8_t)ch;
		xt[75 + ch] = (uint8_t)(ch + 1);
		wt[ch] = (uint8_t)(ch % 2 ? ch + 1 : ch);
	}
	struct dnnq_pooling_geom pair = { 1, 2, 1, 1, 0, 0, 0, 0, 1, 1, false };
	hand_case(1, pair, false, 1, 2, 75, xt, 1, wt, 75);
	hand_case(2, pair, false, 1, 2, 75, xt, 1, wt, 75);
	/* global: channel 0 averages 2.5 -> 2, channel 1 10.25 -> 10 */
	hand_case(2, row, false, 2, 2, 2, (const uint8_t[]){ 1, 10, 2, 10, 3, 10, 4, 11 }, 1,
	          (const uint8_t[]){ 2, 10 }, 2);
	/* a ceil-mode window past the end: 1x5, kernel 3, stride 2, pad_right 1;
	 * the third window holds x[4], the pad and a tap past it: count 2 with
	 * the pad counted (PyTorch's and ONNX Runtime's divisor), 1 without */
	struct dnnq_pooling_geom cw = { 1, 3, 1, 2, 0, 0, 0, 1, 1, 1, true };
	static const uint8_t x5[5] = { 4, 6, 8, 10, 12 };
	ck_assert_int_eq(ref_out(5, 3, 2, 0, 1, 1, true), 3);
	hand_case(1, cw, true, 1, 5, 1, x5, 1, (const uint8_t[]){ 6, 10, 6 }, 3);
	hand_case(1, cw, false, 1, 5, 1, x5, 1, (const uint8_t[]){ 6, 10, 12 }, 3);
}
END_TEST

/* Dilation can make a window miss the image: in = 1, kernel 2, dilation 3,
 * pads 1 and 2 put the taps at -1 and 2. MaxPool gives 0, the averages zy. */
START_TEST(empty_windows)
{
	struct pcase pc = {
		.g = { 2, 2, 1, 1, 1, 1, 2, 2, 3, 3, false }, .n = 1, .h = 1, .w = 1, .c = 40,
		.in_qp = { 0.1f, 7, 8, false }, .out_qp = { 0.2f, 33, 8, false },
	};
	ck_assert_int_eq(dnnq_pooling_output_size(&pc.g, 1, 1, &pc.oh, &pc.ow, NULL), 0);
	ck_assert(pc.oh == 1 && pc.ow == 1);
	uint8_t x[40], y[40 + GUARD];
	memset(x, 200, sizeof x);
	FOR_EACH_ISA(isa) {
		run_op(0, &pc, isa, x, y, NULL);
		for (int i = 0; i < 40; i++)
			ck_assert_int_eq(y[i], 0);
		for (int inc = 0; inc < 2; inc++) {
			pc.include_pad = inc;
			run_op(1, &pc, isa, x, y, NULL);
			for (int i = 0; i < 40; i++)
				ck_assert_int_eq(y[i], 33);
		}
	}
}
END_TEST

START_TEST(maxpool_random)
{
	struct rng r = { 1001 + (uint64_t)_i };
	for (int iter = 0; iter < 60; iter++) {
		struct pcase pc;
		random_case(&r, &pc);
		uint8_t *x = random_input(&r, &pc);
		run_and_check(0, &pc, x);
		free(x);
	}
}
END_TEST

START_TEST(avgpool_random)
{
	struct rng r = { 2002 + (uint64_t)_i };
	for (int iter = 0; iter < 60; iter++) {
		struct pcase pc;
		random_case(&r, &pc);
		uint8_t *x = random_input(&r, &pc);
		run_and_check(1, &pc, x);
		free(x);
	}
}
END_TEST

START_TEST(gavgpool_random)
{
	struct rng r = { 3003 + (uint64_t)_i };
	for (int iter = 0; iter < 30; iter++) {
		struct pcase pc = { .n = (size_t)rng_int(&r, 1, 3), .h = (size_t)rng_int(&r, 1, 12),
		                    .w = (size_t)rng_int(&r, 1, 12) };
		pc.c = channels[rng_int(&r, 0, sizeof channels / sizeof channels[0] - 1)];
		make_global(&pc);
		pc.in_qp = random_qp(&r);
		pc.out_qp = random_qp(&r);
		uint8_t *x = random_input(&r, &pc);
		run_and_check(2, &pc, x);
		free(x);
	}
}
END_TEST

/* One axis's windows (dnnq_pooling_window, whose dilation 1 skips the
 * divisions) against their taps walked one by one: kernels 1..6 (larger
 * than the input too), strides 1..4 (past the kernel too), dilations 1..3,
 * every pad below the extent, inputs 1..9, every output position whose
 * window starts before the end padding (the ones axis_out keeps). */
START_TEST(window_spans)
{
	for (int64_t k = 1; k <= 6; k++)
	for (int64_t st = 1; st <= 4; st++)
	for (int64_t d = 1; d <= 3; d++)
	for (int64_t p0 = 0; p0 < (k - 1) * d + 1; p0++)
	for (int64_t p1 = 0; p1 < (k - 1) * d + 1; p1++)
	for (int64_t in = 1; in <= 9; in++) {
		const struct dnnq_pooling_axis a = { k, st, p0, p1, d };
		for (int64_t o = 0; o * st - p0 < in; o++) {
			int64_t first = 0, n = 0, count = 0;
			for (int64_t j = 0; j < k; j++) {
				int64_t at = o * st - p0 + j * d;
				if (at >= 0 && at < in && !n++)
					first = at;
				count += at < in + p1;
			}
			struct dnnq_pooling_span sp = dnnq_pooling_window(&a, o, in);
			ck_assert_msg(sp.first == first && sp.n == n && sp.count == count,
			              "k %lld s %lld d %lld pads %lld %lld in %lld o %lld: (%lld %lld "
			              "%lld), taps (%lld %lld %lld)", (long long)k, (long long)st,
			              (long long)d, (long long)p0, (long long)p1, (long long)in,
			              (long long)o, (long long)sp.first, (long long)sp.n,
			              (long long)sp.count, (long long)first, (long long)n,
			              (long long)count);
		}
	}
}
END_TEST

/* 3x3 windows (the AVX2 max's unrolled form: whole windows, with or
 * without dilation, and the cut ones at the edges beside them): strides
 * 1..3, pads 0 and 1, ceil mode, channels in whole and partial blocks of
 * 32, batch 2, max and average against the reference and scalar. */
START_TEST(windows_3x3)
{
	static const size_t chans[] = { 32, 64, 72, 97 };
	struct rng r = { 5005 + (uint64_t)_i };
	int32_t st = 1 + _i % 3, dil = 1 + _i / 3 % 2, pad = _i / 6 % 2;
	struct pcase pc = {
		.g = { 3, 3, st, st, pad, pad, pad, pad, dil, dil, _i / 12 % 2 },
		.n = 2, .h = (size_t)rng_int(&r, 3, 12), .w = (size_t)rng_int(&r, 3, 12),
		.c = chans[_i % 4], .include_pad = _i % 2,
		.in_qp = { 0.03f, (int32_t)rng_int(&r, 0, 255), 8, false },
		.out_qp = { 0.02f, (int32_t)rng_int(&r, 0, 255), 8, false },
	};
	if (dnnq_pooling_output_size(&pc.g, pc.h, pc.w, &pc.oh, &pc.ow, NULL)) {
		pc.h = pc.w = 12;
		ck_assert_int_eq(dnnq_pooling_output_size(&pc.g, pc.h, pc.w, &pc.oh, &pc.ow, NULL), 0);
	}
	uint8_t *x = random_input(&r, &pc);
	run_and_check(0, &pc, x);
	run_and_check(1, &pc, x);
	free(x);
}
END_TEST

/* 3x3 stride 2 max pools (the AVX2 row kernel's loop over the windows
 * wholly inside a row, the edge windows before and after it, the carried
 * column): every pad pair 0..2 on both axes, widths 1..13 (narrower than
 * the window too), heights 1..7, ceil mode, channels in whole and partial
 * blocks of 32, batch 2, against the reference and scalar. */
START_TEST(maxpool_3x3_stride2_rows)
{
	static const size_t chans[] = { 32, 64, 40, 97, 7 };
	struct rng r = { 6006 + (uint64_t)_i };
	int32_t pl = _i % 3, pr = _i / 3 % 3;
	for (size_t w = 1; w <= 13; w++) {
		struct pcase pc = {
			.g = { 3, 3, 2, 2, pr, pl, pl, pr, 1, 1, _i / 9 % 2 }, .n = 2,
			.h = (size_t)rng_int(&r, 1, 7), .w = w, .c = chans[w % 5],
			.in_qp = { 0.03f, (int32_t)rng_int(&r, 0, 255), 8, false },
		};
		if (dnnq_pooling_output_size(&pc.g, pc.h, pc.w, &pc.oh, &pc.ow, NULL))
			continue;   /* no window fits */
		uint8_t *x = random_input(&r, &pc);
		run_and_check(0, &pc, x);
		free(x);
	}
}
END_TEST

/* More than 257 taps (the AVX2 u16 sums are widened mid-window) at the
 * extremes: all 255 with zero point 0, all 0 with zero point 255, random. */
START_TEST(large_windows_extremes)
{
	struct rng r = { 77 };
	for (int fill = 0; fill < 3; fill++) {
		struct pcase pc = {
			.g = { 17, 19, 3, 2, 1, 0, 0, 2, 1, 1, true }, .n = 1, .h = 20, .w = 21,
			.c = 65, .include_pad = fill == 1,
			.in_qp = { 0.05f, fill == 1 ? 255 : 0, 8, false },
			.out_qp = { 0.05f, fill == 2 ? 128 : 0, 8, false },
		};
		ck_assert_int_eq(dnnq_pooling_output_size(&pc.g, pc.h, pc.w, &pc.oh, &pc.ow, NULL), 0);
		size_t n = pc.h * pc.w * pc.c;
		uint8_t *x = xmalloc(n);
		for (size_t i = 0; i < n; i++)
			x[i] = fill == 0 ? 255 : fill == 1 ? 0 : (uint8_t)rng_int(&r, 0, 255);
		run_and_check(0, &pc, x);
		run_and_check(1, &pc, x);
		pc.h = 41;                       /* 41 x 21 = 861 taps for the global average */
		make_global(&pc);
		free(x);
		x = xmalloc(pc.h * pc.w * pc.c);
		for (size_t i = 0; i < pc.h * pc.w * pc.c; i++)
			x[i] = fill == 0 ? 255 : fill == 1 ? 0 : (uint8_t)rng_int(&r, 0, 255);
		pc.out_qp.scale = 0.07f;
		run_and_check(2, &pc, x);
		free(x);
	}
}
END_TEST

/* The same results on the calling thread alone, a 1-thread pool and a
 * 2-thread pool, for shapes with several row chunks and channel blocks. */
START_TEST(threads_do_not_change_results)
{
	struct rng r = { 9 };
	struct dnnq_pool *p1 = dnnq_pool_create(1, NULL), *p2 = dnnq_pool_create(2, NULL);
	ck_assert(p1 && p2);
	struct dnnq_executor e1 = dnnq_pool_executor(p1), e2 = dnnq_pool_executor(p2);
	struct pcase pc = {
		.g = { 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true }, .n = 2, .h = 23, .w = 19, .c = 300,
		.include_pad = false, .in_qp = { 0.03f, 100, 8, false }, .out_qp = { 0.02f, 90, 8, false },
	};
	ck_assert_int_eq(dnnq_pooling_output_size(&pc.g, pc.h, pc.w, &pc.oh, &pc.ow, NULL), 0);
	uint8_t *x = random_input(&r, &pc);
	for (int kind = 0; kind < 3; kind++) {
		if (kind == 2)
			make_global(&pc);
		size_t ybytes = pc.n * pc.oh * pc.ow * pc.c;
		uint8_t *y0 = xmalloc(ybytes + GUARD), *y1 = xmalloc(ybytes + GUARD);
		uint8_t *y2 = xmalloc(ybytes + GUARD);
		run_op(kind, &pc, dnnq_isa_best(), x, y0, NULL);
		run_op(kind, &pc, dnnq_isa_best(), x, y1, &e1);
		run_op(kind, &pc, dnnq_isa_best(), x, y2, &e2);
		ck_assert_mem_eq(y0, y1, ybytes);
		ck_assert_mem_eq(y0, y2, ybytes);
		check_reference(&pc, x, y2, kind != 0);
		free(y0);
		free(y1);
		free(y2);
	}
	free(x);
	dnnq_pool_destroy(p1);
	dnnq_pool_destroy(p2);
}
END_TEST

START_TEST(create_errors)
{
	static const struct {
		const char *field;
		int rc;
	} want[] = {
		{ "stride_h = 0: must be >= 1", DNNQ_E_RANGE }, { "kernel_w = 0", DNNQ_E_RANGE },
		{ "dilation_w = -2", DNNQ_E_RANGE }, { "pad_top = -1: must be >= 0", DNNQ_E_RANGE },
		{ "pad_right = 3: must be < the kernel extent", DNNQ_E_RANGE },
		{ "pad_bottom = 5", DNNQ_E_RANGE },    /* extent (3 - 1) * 2 + 1 = 5 */
		{ "qp: scale", DNNQ_E_RANGE }, { "qp: signed", DNNQ_E_RANGE },
		{ "isa 7", DNNQ_E_UNSUPPORTED },
		{ "out_qp: zero point 300", DNNQ_E_RANGE }, { "in_qp: unsigned 9-bit", DNNQ_E_RANGE },
		{ "in_qp.scale / out_qp.scale", DNNQ_E_RANGE }, { "gavgpool: out_qp", DNNQ_E_RANGE },
	};
	for (size_t c = 0; c < sizeof want / sizeof want[0]; c++) {
		struct dnnq_pooling_geom g = { 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false };
		struct dnnq_qparams q = { 0.1f, 10, 8, false }, oq = q;
		enum dnnq_isa isa = DNNQ_ISA_SCALAR;
		switch (c) {
		case 0: g.stride_h = 0; break;
		case 1: g.kernel_w = 0; break;
		case 2: g.dilation_w = -2; break;
		case 3: g.pad_top = -1; break;
		case 4: g.pad_right = 3; break;
		case 5: g.dilation_h = 2; g.pad_bottom = 5; break;
		case 6: q.scale = 0; break;
		case 7: q.is_signed = true; break;
		case 8: isa = (enum dnnq_isa)7; break;
		case 9: oq.zero_point = 300; break;
		case 10: q.precision = 9; break;
		case 11: q.scale = 1e30f; oq.scale = 1e-30f; break;
		case 12: oq.scale = NAN; break;
		}
		struct dnnq_diag d = { "" };
		int rc;
		bool null_out;
		if (c <= 8) {
			struct dnnq_maxpool_desc md = { isa, g, q };
			struct dnnq_maxpool *op = (struct dnnq_maxpool *)&d;
			rc = dnnq_maxpool_create(&md, &op, &d);
			null_out = !op;
		} else if (c <= 11) {
			struct dnnq_avgpool_desc ad = { isa, g, true, q, oq };
			struct dnnq_avgpool *op = (struct dnnq_avgpool *)&d;
			rc = dnnq_avgpool_create(&ad, &op, &d);
			null_out = !op;
		} else {
			struct dnnq_gavgpool_desc gd = { isa, q, oq };
			struct dnnq_gavgpool *op = (struct dnnq_gavgpool *)&d;
			rc = dnnq_gavgpool_create(&gd, &op, &d);
			null_out = !op;
		}
		ck_assert_msg(rc == want[c].rc, "case %zu: rc %d, want %d (%s)", c, rc, want[c].rc, d.msg);
		ck_assert_msg(null_out, "case %zu: *out not cleared", c);
		ck_assert_msg(strstr(d.msg, want[c].field), "case %zu: '%s' lacks '%s'", c, d.msg,
		              want[c].field);
		ck_assert_msg(!strchr(d.msg, '\n'), "case %zu: not one line", c);
	}
	struct dnnq_maxpool *mp = NULL;
	ck_assert_int_eq(dnnq_maxpool_create(NULL, &mp, NULL), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_avgpool_create(NULL, NULL, NULL), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_gavgpool_create(NULL, NULL, NULL), DNNQ_E_INVAL);
	struct dnnq_diag d = { "" };
	struct dnnq_pooling_geom g = { 3, 3, 1, 0, 0, 0, 0, 0, 1, 1, false };
	size_t oh, ow;
	ck_assert_int_eq(dnnq_pooling_output_size(&g, 4, 4, &oh, &ow, &d), DNNQ_E_RANGE);
	ck_assert_ptr_nonnull(strstr(d.msg, "pooling: stride_w = 0"));
	g.stride_w = 1;
	ck_assert_int_eq(dnnq_pooling_output_size(&g, 4, 0, &oh, &ow, &d), DNNQ_E_SHAPE);
	ck_assert_ptr_nonnull(strstr(d.msg, "input width 0"));
	ck_assert_int_eq(dnnq_pooling_output_size(&g, 2, 4, &oh, &ow, &d), DNNQ_E_SHAPE);
	ck_assert_ptr_nonnull(strstr(d.msg, "input height 2 padded by 0 + 0: no window fits"));
}
END_TEST

START_TEST(setup_errors)
{
	static uint8_t buf[64];
	struct dnnq_maxpool_desc md = { DNNQ_ISA_SCALAR, { 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, false },
	                                { 0.1f, 0, 8, false } };
	struct dnnq_maxpool *mp;
	ck_assert_int_eq(dnnq_maxpool_create(&md, &mp, NULL), 0);
	ck_assert_int_eq(dnnq_maxpool_run(mp, NULL), DNNQ_E_INVAL);          /* not set up */
	ck_assert_int_eq(dnnq_maxpool_setup(mp, 1, 2, 5, 1, buf, buf + 32), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_maxpool_setup(mp, 1, 3, 3, 0, buf, buf + 32), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_maxpool_setup(mp, 1, 3, 3, 1, NULL, buf + 32), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_maxpool_setup(mp, SIZE_MAX / 4, 3, 3, 2, buf, buf + 32), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_maxpool_run(mp, NULL), DNNQ_E_INVAL);          /* failed setup unbinds */
	ck_assert_int_eq(dnnq_maxpool_setup(mp, 0, 3, 3, 1, NULL, NULL), 0);  /* empty batch */
	ck_assert_int_eq(dnnq_maxpool_run(mp, NULL), 0);
	ck_assert_int_eq(dnnq_maxpool_setup(NULL, 1, 3, 3, 1, buf, buf), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_maxpool_run(NULL, NULL), DNNQ_E_INVAL);
	dnnq_maxpool_destroy(mp);
	dnnq_maxpool_destroy(NULL);
	/* windows of more than DNNQ_AVGPOOL_MAX_TAPS = 8421504 image taps */
	struct dnnq_avgpool_desc ad = { DNNQ_ISA_SCALAR, { 3000, 2808, 1, 1, 0, 0, 0, 0, 1, 1, false },
	                                false, { 0.1f, 0, 8, false }, { 0.1f, 0, 8, false } };
	struct dnnq_avgpool *ap;
	for (int32_t kw = 2807; kw <= 2808; kw++) {
		ad.geom.kernel_w = kw;
		ck_assert_int_eq(dnnq_avgpool_create(&ad, &ap, NULL), 0);
		ck_assert_int_eq(dnnq_avgpool_setup(ap, 1, 3000, 3000, 1, buf, buf),
		                 kw == 2807 ? 0 : DNNQ_E_RANGE);
		dnnq_avgpool_destroy(ap);
	}
	struct dnnq_gavgpool_desc gd = { DNNQ_ISA_SCALAR, ad.in_qp, ad.out_qp };
	struct dnnq_gavgpool *gp;
	ck_assert_int_eq(dnnq_gavgpool_create(&gd, &gp, NULL), 0);
	ck_assert_int_eq(dnnq_gavgpool_setup(gp, 1, 3000, 3000, 1, buf, buf), DNNQ_E_RANGE);
	ck_assert_int_eq(dnnq_gavgpool_setup(gp, 1, 0, 3, 1, buf, buf), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_gavgpool_run(gp, NULL), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_gavgpool_setup(gp, 1, 2, 3, 4, buf, buf + 32), 0);
	ck_assert_int_eq(dnnq_gavgpool_run(gp, NULL), 0);
	dnnq_gavgpool_destroy(gp);
}
END_TEST

/* fp32 MaxPool over windows holding NaN, infinities and signed zeros: each
 * window's first tap, then a later larger value, bit for bit, on every
 * kernel table; the answers (tap 0, 0, 0, 0, 1, 0, 0, 2, 1, 0) are ONNX
 * Runtime's (onnxruntime-node 1.31.1, MaxPool 2x2 stride 2 with Indices,
 * review nan56). Channel ch holds window (k + ch) % 10 at output column k,
 * 19 channels, so each window passes through the vector lanes and the
 * scalar tail. */
START_TEST(maxpool_f32_nan_windows)
{
	enum { NW = 10, C = 19 };
	const float nan = NAN, inf = INFINITY;
	static const int first[NW] = { 0, 0, 0, 0, 1, 0, 0, 2, 1, 0 };
	const float win[NW][4] = {
		{ nan, -5, -7, -inf }, { 1, nan, -7, -9 }, { -inf, -inf, -inf, -inf },
		{ nan, nan, nan, nan }, { 1, 2, nan, 0 }, { -0.0f, 0, 0, 0 },
		{ 0, -0.0f, -0.0f, -0.0f }, { -inf, nan, 3, 2 }, { 2, 3, 1, nan },
		{ nan, -inf, -inf, -inf },
	};
	const struct dnnq_pooling_geom g = { 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false };
	float x[2][2 * NW][C], y[NW][C];
	for (int k = 0; k < NW; k++)
		for (int ch = 0; ch < C; ch++)
			for (int t = 0; t < 4; t++)
				x[t / 2][2 * k + t % 2][ch] = win[(k + ch) % NW][t];
	FOR_EACH_ISA(isa) {
		memset(y, 0x55, sizeof y);
		dnnq_f32_maxpool(isa, &g, 1, 2, 2 * NW, C, &x[0][0][0], &y[0][0], NULL);
		for (int k = 0; k < NW; k++)
			for (int ch = 0; ch < C; ch++) {
				int w = (k + ch) % NW;
				ck_assert_msg(!memcmp(&y[k][ch], &win[w][first[w]], sizeof(float)),
				              "isa %d window %d channel %d: %g, want tap %d, %g", (int)isa,
				              w, ch, (double)y[k][ch], first[w], (double)win[w][first[w]]);
			}
	}
}
END_TEST

Suite *suite_pooling(void)
{
	Suite *s = suite_create("pooling");
	TCase *tc = tcase_create("rules");
	tcase_add_test(tc, output_size_rules);
	tcase_add_test(tc, onnx_examples);
	tcase_add_test(tc, average_pads_and_rounding);
	tcase_add_test(tc, empty_windows);
	tcase_add_test(tc, maxpool_f32_nan_windows);
	tcase_add_test(tc, window_spans);
	tcase_add_test(tc, create_errors);
	tcase_add_test(tc, setup_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("random");
	tcase_add_loop_test(tc, maxpool_random, 0, 8);
	tcase_add_loop_test(tc, avgpool_random, 0, 8);
	tcase_add_loop_test(tc, gavgpool_random, 0, 4);
	tcase_add_loop_test(tc, windows_3x3, 0, 24);
	tcase_add_loop_test(tc, maxpool_3x3_stride2_rows, 0, 18);
	tcase_add_test(tc, large_windows_extremes);
	tcase_add_test(tc, threads_do_not_change_results);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}
