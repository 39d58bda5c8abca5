/*
 * Convolution (engine/conv.h): random geometries (kernel, stride, dilation,
 * asymmetric pads, groups, depthwise, 1x1) against a double-precision
 * reference within 1 LSB; every ISA's kernels (tests/isa.h: all the CPU
 * runs, in one pass) bit-identical to scalar on every path;
 * results independent of the thread count; edge shapes and bad descriptions.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/pool.h"
#include "engine/conv-kernels.h"
#include "engine/conv.h"
#include "tests/isa.h"
#include "tests/rng.h"
#include "tests/suites.h"

struct cproblem {
	struct dnnq_conv_desc d;
	size_t n, h, w;
	uint8_t *x;
	int8_t *wt;
	float *w_scale, *bias;
	int32_t *w_zp;
};

static void free_problem(struct cproblem *p)
{
	free(p->x);
	free(p->wt);
	free(p->w_scale);
	free(p->bias);
	free(p->w_zp);
}

/* kind: 0 random, 1 depthwise, 2 pointwise (1x1, no padding), 3 depthwise
 * with MobileNet's channel counts (every block and tail of the kernels)
 * and mostly its 3x3 and 5x5 kernels, 4 a first layer (Cin 1..4, 3x3
 * stride 2 pad 1 as MobileNet's or 7x7 stride 2 pad 3 as ResNet's) */
static void make_problem(struct rng *r, struct cproblem *p, int kind)
{
	static const size_t chans[] = { 1, 3, 8, 17, 32, 33 };
	static const size_t wide[] = { 16, 24, 32, 40, 72, 96, 144, 7, 50 };
	memset(p, 0, sizeof *p);
	struct dnnq_conv_desc *d = &p->d;
	d->isa = DNNQ_ISA_SCALAR;
	d->groups = kind == 0 && rng_int(r, 0, 3) == 0 ? 2 : 1;
	d->cin = chans[rng_int(r, 0, 5)] * d->groups;
	d->cout = chans[rng_int(r, 0, 5)] * d->groups;
	if (kind == 3)
		d->cin = wide[rng_int(r, 0, 8)];
	if (kind == 1 || kind == 3)
		d->groups = d->cout = d->cin;
	d->kh = kind == 2 ? 1 : (size_t)rng_int(r, 1, 5);
	d->kw = kind == 2 ? 1 : (size_t)rng_int(r, 1, 5);
	if (kind == 3 && rng_int(r, 0, 1))
		d->kh = d->kw = rng_int(r, 0, 1) ? 3 : 5;
	if (kind == 4) {
		d->cin = (size_t)rng_int(r, 1, 4);
		d->cout = wide[rng_int(r, 0, 8)];
		d->kh = d->kw = rng_int(r, 0, 1) ? 3 : 7;
	}
	d->stride_h = (size_t)rng_int(r, 1, 3);   /* pointwise too: strided 1x1 by im2col */
	d->stride_w = (size_t)rng_int(r, 1, 3);
	d->dil_h = kind == 2 ? 1 : (size_t)rng_int(r, 1, 2);
	d->dil_w = kind == 2 ? 1 : (size_t)rng_int(r, 1, 2);
	if (kind != 2) {
		d->pad_t = (size_t)rng_int(r, 0, 2);
		d->pad_l = (size_t)rng_int(r, 0, 2);
		d->pad_b = (size_t)rng_int(r, 0, 2);
		d->pad_r = (size_t)rng_int(r, 0, 2);
	}
	p->n = (size_t)rng_int(r, 1, 2);
	p->h = (d->kh - 1) * d->dil_h + 1 + (size_t)rng_int(r, 0, 6);
	p->w = (d->kw - 1) * d->dil_w + 1 + (size_t)rng_int(r, 0, 6);
	if (kind == 4) {
		d->stride_h = d->stride_w = 2;
		d->dil_h = d->dil_w = 1;
		d->pad_t = d->pad_l = d->pad_b = d->pad_r = d->kh / 2;
		/* past one pixel block of output, odd and even sizes */
		p->h = (size_t)rng_int(r, 15, 40);
		p->w = (size_t)rng_int(r, 15, 40);
	}
	size_t k = d->kh * d->kw * d->cin / d->groups, nx = p->n * p->h * p->w * d->cin;
	p->x = malloc(nx);
	p->wt = malloc(d->cout * k);
	for (size_t i = 0; i < nx; i++)
		p->x[i] = (uint8_t)rng_int(r, 0, 255);
	/* a fifth at the extremes, -128 too: the AVX2 GEMM's sign trick and the
	 * int16 pairs of depthwise and first layers meet every corner (one
	 * draw a weight, as before: the problems after it stay the same) */
	for (size_t i = 0; i < d->cout * k; i++) {
		int64_t v = rng_int(r, -160, 160);
		p->wt[i] = (int8_t)(v < -127 ? -128 : v > 127 ? 127 : v);
	}
	d->w = p->wt;
	d->nwq = rng_int(r, 0, 1) ? d->cout : 1;
	p->w_scale = malloc(d->nwq * sizeof(float));
	p->w_zp = calloc(d->nwq, sizeof(int32_t));
	p->bias = malloc(d->cout * sizeof(float));
	bool asym = rng_int(r, 0, 2) == 0;
	for (size_t j = 0; j < d->nwq; j++) {
		p->w_scale[j] = (float)rng_uniform(r, 0.001, 0.01);
		p->w_zp[j] = asym ? (int32_t)rng_int(r, -10, 10) : 0;
	}
	for (size_t j = 0; j < d->cout; j++)
		p->bias[j] = (float)rng_uniform(r, -1, 1);
	d->w_scale = p->w_scale;
	d->w_zero_point = asym ? p->w_zp : NULL;
	d->bias = rng_int(r, 0, 1) ? p->bias : NULL;
	d->in_qp = (struct dnnq_qparams){ 0.02f, (int32_t)rng_int(r, 0, 255), 8, false };
	d->out_dtype = DNNQ_DTYPE_U8;
	/* an output scale of about the expected spread of the sums */
	float os = (float)(0.02 * 0.005 * 128 * sqrt((double)k) * 1.5);
	d->out_qp = (struct dnnq_qparams){ os, (int32_t)rng_int(r, 60, 200), 8, false };
	d->requant = rng_int(r, 0, 1) ? DNNQ_REQUANT_FIXED : DNNQ_REQUANT_FLOAT;
	d->relu = rng_int(r, 0, 2) == 0;
	d->clip = rng_int(r, 0, 3) == 0;       /* a fused Clip, inside the output range */
	d->clip_min = -0.25f * os * 128;
	d->clip_max = 0.25f * os * 128;
}

/* make_problem's description of kind, its operands for the caller to
 * draw (extreme_operands, random_operands). */
static struct dnnq_conv_desc *bare_problem(struct rng *r, struct cproblem *p, int kind)
{
	make_problem(r, p, kind);
	free(p->x);
	free(p->wt);
	p->x = NULL;
	p->wt = NULL;
	return &p->d;
}

/* Weight zero points in [-10, 10] drawn for p's nwq quantizers, and
 * given to the description where on. */
static void weight_zero_points(struct rng *r, struct cproblem *p, bool on)
{
	p->w_zp = realloc(p->w_zp, p->d.nwq * sizeof *p->w_zp);
	for (size_t j = 0; j < p->d.nwq; j++)
		p->w_zp[j] = (int32_t)rng_int(r, -10, 10);
	p->d.w_zero_point = on ? p->w_zp : NULL;
}

/* p's input and weights anew for its description: every value drawn
 * uniformly (the weights over all of int8). */
static void random_operands(struct rng *r, struct cproblem *p)
{
	const struct dnnq_conv_desc *d = &p->d;
	size_t k = d->kh * d->kw * d->cin / d->groups, nx = p->n * p->h * p->w * d->cin;
	p->x = malloc(nx);
	p->wt = malloc(d->cout * k);
	for (size_t i = 0; i < nx; i++)
		p->x[i] = (uint8_t)rng_int(r, 0, 255);
	for (size_t i = 0; i < d->cout * k; i++)
		p->wt[i] = (int8_t)rng_int(r, -128, 127);
	p->d.w = p->wt;
}

static size_t out_elems(const struct cproblem *p, size_t *oh, size_t *ow)
{
	const struct dnnq_conv_desc *d = &p->d;
	*oh = (p->h + d->pad_t + d->pad_b - d->dil_h * (d->kh - 1) - 1) / d->stride_h + 1;
	*ow = (p->w + d->pad_l + d->pad_r - d->dil_w * (d->kw - 1) - 1) / d->stride_w + 1;
	return p->n * *oh * *ow * d->cout;
}

/* The output's bytes: u8, or 4 a value (S32, F32). */
static size_t out_bytes(const struct cproblem *p)
{
	size_t oh, ow;
	return out_elems(p, &oh, &ow) * (p->d.out_dtype == DNNQ_DTYPE_U8 ? 1 : 4);
}

static uint8_t *run(const struct cproblem *p, enum dnnq_isa isa, unsigned threads)
{
	struct dnnq_conv_desc d = p->d;
	d.isa = isa;
	struct dnnq_conv *c;
	struct dnnq_diag diag;
	ck_assert_msg(dnnq_conv_create(&d, &c, &diag) == 0, "%s", diag.msg);
	size_t n = out_bytes(p);
	uint8_t *y = malloc(n + 1);
	y[n] = 0xEE;
	struct dnnq_pool *pool = threads > 1 ? dnnq_pool_create(threads, NULL) : NULL;
	struct dnnq_executor ex = pool ? dnnq_pool_executor(pool) : (struct dnnq_executor){ 0 };
	ck_assert_int_eq(dnnq_conv_setup(c, p->n, p->h, p->w, p->x, y, threads), 0);
	ck_assert_int_eq(dnnq_conv_run(c, pool ? &ex : NULL), 0);
	ck_assert_int_eq(y[n], 0xEE);
	dnnq_pool_destroy(pool);
	dnnq_conv_destroy(c);
	return y;
}

/* The path create chooses for p on isa is `path` (with prefix, starts
 * with it). */
static void check_path(const struct cproblem *p, enum dnnq_isa isa, const char *path, bool prefix)
{
	struct dnnq_conv_desc d = p->d;
	d.isa = isa;
	struct dnnq_conv *c;
	struct dnnq_diag diag;
	ck_assert_msg(dnnq_conv_create(&d, &c, &diag) == 0, "%s", diag.msg);
	if (prefix)
		ck_assert_msg(strncmp(dnnq_conv_path(c), path, strlen(path)) == 0, "path %s, want %s*",
		              dnnq_conv_path(c), path);
	else
		ck_assert_str_eq(dnnq_conv_path(c), path);
	dnnq_conv_destroy(c);
}

static void assert_path(const struct cproblem *p, enum dnnq_isa isa, const char *path)
{
	check_path(p, isa, path, false);
}

static void assert_path_prefix(const struct cproblem *p, enum dnnq_isa isa, const char *path)
{
	check_path(p, isa, path, true);
}

/* p on the AVX2 table against scalar, bit for bit, on 1, 2 and 3 threads
 * (the path asserted first), and on the VNNI table too where vnni_path is
 * not NULL and the CPU runs it; frees p. */
static void threads_match_scalar(struct cproblem *p, const char *path, const char *vnni_path)
{
	const struct dnnq_conv_desc *d = &p->d;
	assert_path(p, DNNQ_ISA_AVX2, path);
	bool vnni = vnni_path && dnnq_isa_supported(DNNQ_ISA_AVX512VNNI);
	if (vnni)
		assert_path(p, DNNQ_ISA_AVX512VNNI, vnni_path);
	uint8_t *ys = run(p, DNNQ_ISA_SCALAR, 1);
	size_t n = out_bytes(p);
	enum dnnq_isa last = vnni ? DNNQ_ISA_AVX512VNNI : DNNQ_ISA_AVX2;
	for (enum dnnq_isa isa = DNNQ_ISA_AVX2; isa <= last; isa++)
		for (unsigned t = 1; t <= 3; t++) {
			uint8_t *y = run(p, isa, t);
			ck_assert_msg(!memcmp(ys, y, n), "%s: cin %zu cout %zu, %zu images %zux%zu "
			              "pads %zu %zu %zu %zu, %u threads", dnnq_isa_name(isa), d->cin,
			              d->cout, p->n, p->h, p->w, d->pad_t, d->pad_l, d->pad_b, d->pad_r,
			              t);
			free(y);
		}
	free(ys);
	free_problem(p);
}

/* The engine's own fp32 reference, from the weights as `isa` packed them. */
static float *engine_reference(const struct cproblem *p, enum dnnq_isa isa)
{
	struct dnnq_conv_desc d = p->d;
	d.isa = isa;
	struct dnnq_conv *c;
	ck_assert_int_eq(dnnq_conv_create(&d, &c, NULL), 0);
	size_t oh, ow, n = out_elems(p, &oh, &ow), nx = p->n * p->h * p->w * d.cin;
	float *x = malloc(nx * sizeof *x), *y = malloc(n * sizeof *y);
	for (size_t i = 0; i < nx; i++)
		x[i] = d.in_qp.scale * (float)(p->x[i] - d.in_qp.zero_point);
	ck_assert_int_eq(dnnq_conv_reference(c, p->n, p->h, p->w, x, y, NULL), 0);
	dnnq_conv_destroy(c);
	free(x);
	return y;
}

static void check_reference(const struct cproblem *p, const uint8_t *y)
{
	const struct dnnq_conv_desc *d = &p->d;
	size_t oh, ow;
	out_elems(p, &oh, &ow);
	float *yref = engine_reference(p, dnnq_isa_best());
	size_t cing = d->cin / d->groups, coutg = d->cout / d->groups;
	for (size_t img = 0; img < p->n; img++)
	for (size_t oy = 0; oy < oh; oy++)
	for (size_t ox = 0; ox < ow; ox++)
	for (size_t o = 0; o < d->cout; o++) {
		size_t g = o / coutg, ch = d->nwq == 1 ? 0 : o;
		double s = d->bias ? d->bias[o] : 0;
		for (size_t ky = 0; ky < d->kh; ky++)
		for (size_t kx = 0; kx < d->kw; kx++) {
			long iy = (long)(oy * d->stride_h + ky * d->dil_h) - (long)d->pad_t;
			long ix = (long)(ox * d->stride_w + kx * d->dil_w) - (long)d->pad_l;
			if (iy < 0 || ix < 0 || iy >= (long)p->h || ix >= (long)p->w)
				continue;
			for (size_t c = 0; c < cing; c++) {
				double xv = d->in_qp.scale * (p->x[((img * p->h + (size_t)iy) * p->w +
				            (size_t)ix) * d->cin + g * cing + c] - d->in_qp.zero_point);
				int zw = d->w_zero_point ? d->w_zero_point[ch] : 0;
				double wv = d->w_scale[ch] * (p->wt[((o * d->kh + ky) * d->kw + kx) * cing + c] - zw);
				s += xv * wv;
			}
		}
		if (d->relu && s < 0)
			s = 0;
		if (d->clip)
			s = s < d->clip_min ? d->clip_min : s > d->clip_max ? d->clip_max : s;
		size_t at0 = ((img * oh + oy) * ow + ox) * d->cout + o;
		ck_assert_msg(fabs(yref[at0] - s) <= 1e-4 * fabs(s) + 1e-4,
		              "dnnq_conv_reference %g, test reference %g", yref[at0], s);
		double q = nearbyint(s / d->out_qp.scale) + d->out_qp.zero_point;
		double lo = d->relu ? d->out_qp.zero_point : 0;
		q = q < lo ? lo : q > 255 ? 255 : q;
		size_t at = ((img * oh + oy) * ow + ox) * d->cout + o;
		ck_assert_msg(fabs(y[at] - q) <= 1, "y[%zu] = %u, reference %g (k %zux%zu s %zu g %zu)",
		              at, y[at], q, d->kh, d->kw, d->stride_h, d->groups);
	}
	free(yref);
}

/* Scalar within 1 LSB of the reference (u8 outputs); every SIMD ISA, on
 * 1 and 2 threads, equal to scalar bit for bit. */
static void check_problem(struct cproblem *p, int kind)
{
	uint8_t *ys = run(p, DNNQ_ISA_SCALAR, 1);
	if (p->d.out_dtype == DNNQ_DTYPE_U8)
		check_reference(p, ys);
	size_t n = out_bytes(p);
	FOR_EACH_SIMD_ISA(isa) {
		uint8_t *yv = run(p, isa, 1), *y2 = run(p, isa, 2);
		ck_assert_msg(!memcmp(ys, yv, n), "%s != scalar (kind %d, cout %zu, %zux%zu)",
		              dnnq_isa_name(isa), kind, p->d.cout, p->d.kh, p->d.kw);
		ck_assert_msg(!memcmp(ys, y2, n), "%s: 2 threads != 1 thread", dnnq_isa_name(isa));
		free(yv);
		free(y2);
	}
	free(ys);
	free_problem(p);
}

START_TEST(random_against_reference)
{
	struct rng r = { 1000 + (uint64_t)_i };
	struct cproblem p;
	make_problem(&r, &p, _i % 3);
	check_problem(&p, _i % 3);
}
END_TEST

/* The depthwise kernels on MobileNet's channel counts: full blocks, tails
 * and fewer channels than one block; every tap count's grouping; u8, int32
 * and float outputs. */
START_TEST(depthwise_wide)
{
	struct rng r = { 5000 + (uint64_t)_i };
	struct cproblem p;
	make_problem(&r, &p, 3);
	if (_i % 4 == 0)
		p.d.dil_h = p.d.dil_w = 1;
	/* the int32 and float outputs: the AVX2 kernel's other store */
	if (_i % 5 == 2 || _i % 5 == 3) {
		p.d.out_dtype = _i % 5 == 2 ? DNNQ_DTYPE_S32 : DNNQ_DTYPE_F32;
		p.d.clip = false;
		p.d.relu = p.d.relu && p.d.out_dtype == DNNQ_DTYPE_F32;
	}
	check_problem(&p, 3);
}
END_TEST

/* Depthwise output stages at their corners: activations 0 and 255 and
 * weights -128 and 127 (the sums at their extremes), multipliers at 0.5
 * (the AVX2 stores' unclamped FULL form) or above it, output zero points
 * 0, 1, 128, 254 and 255, with no activation (qmin 0, qmax 255), a ReLU
 * (qmin = zp) or a Clip (qmin 0, qmax < 255): sums far outside int16
 * before the zero point, which the AVX2 kernel adds after its first pack.
 * Widths 1..3 with padding, strides 1 and 2, MobileNet's channel counts. */
START_TEST(depthwise_requant_corners)
{
	static const int32_t zps[] = { 0, 1, 128, 254, 255 };
	struct rng r = { 11000 + (uint64_t)_i };
	struct cproblem p;
	make_problem(&r, &p, 3);
	struct dnnq_conv_desc *d = &p.d;
	free(p.x);
	free(p.wt);
	if (_i % 4 == 1) {   /* a row of 1..3 pixels, every tap of it padded somewhere */
		d->kh = d->kw = 3;
		d->dil_h = d->dil_w = 1;
		d->pad_t = d->pad_l = d->pad_b = d->pad_r = 1;
		p.w = 1 + (size_t)(_i / 4 % 3);
	}
	d->stride_h = d->stride_w = 1 + (size_t)(_i % 2);
	size_t taps = d->kh * d->kw, nx = p.n * p.h * p.w * d->cin;
	p.x = malloc(nx);
	p.wt = malloc(d->cout * taps);
	for (size_t i = 0; i < nx; i++)
		p.x[i] = _i % 3 ? (uint8_t)(rng_int(&r, 0, 1) * 255) : (uint8_t)rng_int(&r, 0, 255);
	for (size_t i = 0; i < d->cout * taps; i++)
		p.wt[i] = (int8_t)(rng_int(&r, 0, 7) ? (rng_int(&r, 0, 1) ? 127 : -128)
		                                      : rng_int(&r, -128, 127));
	d->w = p.wt;
	for (size_t j = 0; j < d->nwq; j++)
		p.w_scale[j] = 0.005f;
	d->in_qp.zero_point = _i % 3 == 2 ? 0 : d->in_qp.zero_point;
	/* multipliers 0.02 * 0.005 / scale: 0.5, or 2/3 */
	d->out_qp.scale = _i % 7 < 4 ? 0.0002f : 0.00015f;
	d->out_qp.zero_point = zps[_i % 5];
	d->requant = DNNQ_REQUANT_FLOAT;
	d->out_dtype = DNNQ_DTYPE_U8;
	d->relu = _i / 5 % 3 == 1;
	d->clip = _i / 5 % 3 == 2;
	d->clip_min = -1e3f;
	d->clip_max = d->out_qp.scale * 100;
	check_problem(&p, 3);
}
END_TEST

/* AVX2's last depthwise block of 16 channels (16 or 144 in all), two
 * output pixels a step (engine/conv-avx2.c): MobileNet problems (kind 3)
 * drawn until the row has an even (_i even) or odd number of pixels, at
 * stride 1 or 2 (_i / 2 % 2), with symmetric weights (asymmetric ones
 * take the one-pixel path). */
START_TEST(depthwise_two_pixels)
{
	struct cproblem p;
	for (uint64_t seed = 12000 + 1000 * (uint64_t)_i;; seed++) {
		struct rng r = { seed };
		make_problem(&r, &p, 3);
		size_t oh, ow;
		out_elems(&p, &oh, &ow);
		if (p.d.cin % 32 == 16 && ow % 2 == (size_t)_i % 2 && ow > 1 &&
		    p.d.stride_w == 1 + (size_t)_i / 2 % 2 && !p.d.w_zero_point)
			break;
		free_problem(&p);
	}
	check_problem(&p, 3);
}
END_TEST

/* First layers (few input channels, the stem): the im2col path's
 * small-channel packing on every ISA, 1 and 2 threads. */
START_TEST(stem_small_cin)
{
	struct rng r = { 7000 + (uint64_t)_i };
	struct cproblem p;
	make_problem(&r, &p, 4);
	check_problem(&p, 4);
}
END_TEST

/* First layers on AVX2 (the int16 pairs kernel, 6-row tiles stored two
 * rows at a time): one output row of 1..200 pixels (_i 0..199: the
 * block's rows end in every tile height, after 0 to 33 full tiles, odd and
 * even), u8 outputs, and int32 ones for every third length. */
START_TEST(stem_tile_rows)
{
	struct rng r = { 7100 + (uint64_t)_i };
	struct cproblem p;
	make_problem(&r, &p, 4);
	free(p.x);
	p.n = 1;
	p.h = 1;
	p.w = 2 * (size_t)_i + 1;
	size_t nx = p.n * p.h * p.w * p.d.cin;
	p.x = malloc(nx);
	for (size_t i = 0; i < nx; i++)
		p.x[i] = (uint8_t)rng_int(&r, 0, 255);
	if (_i % 3 == 2) {
		p.d.out_dtype = DNNQ_DTYPE_S32;
		p.d.relu = p.d.clip = false;
	}
	size_t oh, ow;
	out_elems(&p, &oh, &ow);
	ck_assert_uint_eq(oh * ow, (size_t)_i + 1);
	check_problem(&p, 4);
}
END_TEST

/* p's input and weights (k a kernel's, p's geometry set) and its
 * weight scales in [slo, shi) and biases: activations and weights by xs
 * and ws, 0 random, 1 the extremes mixed, 2 all one extreme (xone, wone);
 * per-channel scales or one, biases or none. */
static void extreme_operands(struct rng *r, struct cproblem *p, size_t k, int xs, int ws,
                             uint8_t xone, int8_t wone, double slo, double shi,
                             bool per_channel, bool bias)
{
	struct dnnq_conv_desc *d = &p->d;
	size_t nx = p->n * p->h * p->w * d->cin;
	p->x = malloc(nx);
	p->wt = malloc(d->cout * k);
	for (size_t i = 0; i < nx; i++)
		p->x[i] = xs == 0 ? (uint8_t)rng_int(r, 0, 255)
		        : xs == 1 ? (uint8_t)(rng_int(r, 0, 1) * 255) : xone;
	for (size_t i = 0; i < d->cout * k; i++)
		p->wt[i] = ws == 0 ? (int8_t)rng_int(r, -128, 127)
		         : ws == 1 ? (int8_t)(rng_int(r, 0, 1) ? 127 : -128) : wone;
	d->w = p->wt;
	d->nwq = per_channel ? d->cout : 1;
	p->w_scale = realloc(p->w_scale, d->cout * sizeof *p->w_scale);
	p->bias = realloc(p->bias, d->cout * sizeof *p->bias);
	for (size_t j = 0; j < d->cout; j++) {
		p->w_scale[j] = (float)rng_uniform(r, slo, shi);
		p->bias[j] = (float)rng_uniform(r, -1, 1);
	}
	d->w_scale = p->w_scale;
	d->bias = bias ? p->bias : NULL;
}

/* A stem's problem, its geometry past the kernel's width to set: kind 4's
 * scales and output, input channels 1 + i % 4, cout, 7-tap rows at stride
 * 2 along x. */
static struct dnnq_conv_desc *stem_problem(struct rng *r, struct cproblem *p, int i, size_t cout)
{
	struct dnnq_conv_desc *d = bare_problem(r, p, 4);
	d->cin = 1 + (size_t)i % 4;
	d->cout = cout;
	d->kw = 7;
	d->stride_w = 2;
	d->dil_w = 1;
	return d;
}

/* A stem's operands by case i (extreme_operands; symmetric weights) and
 * its output: u8 for i % 4 < 2, else int32 or float. */
static void stem_operands(struct rng *r, struct cproblem *p, int i)
{
	struct dnnq_conv_desc *d = &p->d;
	size_t k = d->kh * 7 * d->cin;
	extreme_operands(r, p, k, i % 3, i / 3 % 3, i % 2 ? 255 : 0, i % 4 < 2 ? 127 : -128, 0.001,
	                 0.01, i % 2, i % 4 < 2);
	d->w_zero_point = NULL;
	d->out_qp.scale = (float)(0.02 * 0.005 * 128 * sqrt((double)k) * 1.5);
	if (i % 4 >= 2) {
		d->out_dtype = i % 4 == 2 ? DNNQ_DTYPE_S32 : DNNQ_DTYPE_F32;
		d->clip = false;
		d->relu = d->relu && d->out_dtype == DNNQ_DTYPE_F32;
	}
}

/* p takes `path` on isa (NULL: any) and gives scalar's outputs bit for
 * bit on 1 up to `threads` threads; p freed. */
static void isa_matches_scalar(struct cproblem *p, enum dnnq_isa isa, const char *path,
                               unsigned threads)
{
	const struct dnnq_conv_desc *d = &p->d;
	if (path)
		assert_path(p, isa, path);
	uint8_t *ys = run(p, DNNQ_ISA_SCALAR, 1);
	size_t n = out_bytes(p);
	for (unsigned t = 1; t <= threads; t++) {
		uint8_t *y = run(p, isa, t);
		ck_assert_msg(!memcmp(ys, y, n),
		              "%s on %u threads != scalar (cin %zu cout %zu %zux%zu stride %zux%zu "
		              "dilation %zu pads %zu %zu %zu %zu, %zu x %zux%zu)",
		              dnnq_isa_name(isa), t, d->cin, d->cout, d->kh, d->kw, d->stride_h,
		              d->stride_w, d->dil_h, d->pad_t, d->pad_l, d->pad_b, d->pad_r, p->n, p->h,
		              p->w);
		free(y);
	}
	free(ys);
	free_problem(p);
}

/* p takes the stem on AVX2 and gives scalar's outputs bit for bit on 1 up
 * to `threads` threads; p freed. */
static void stem_against_scalar(struct cproblem *p, unsigned threads)
{
	isa_matches_scalar(p, DNNQ_ISA_AVX2, "stem-winograd", threads);
}

/* The stem by 1-D Winograd (AVX2, 7-tap rows at stride 2 along x): cin
 * 1..4, kh 7, 3 and 1 (K' = kh x cin up to 16 and past it), stride 2 or 1
 * and dilation 1 or 2 down, pads 3, asymmetric and 0, odd and even widths,
 * rows of more than one block (DNNQ_STEM_TILES), batches of 1..3, cout
 * 1..70 (panel tails), activations and weights random, at the extremes
 * mixed or all one extreme, per-tensor and per-channel, u8 (ReLU or not),
 * int32 and float outputs: the path asserted, bit for bit against scalar
 * on 1 and 2 threads. Case 0 also asserts where it is not taken. */
START_TEST(stem_winograd)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return;
	static const size_t couts[] = { 1, 7, 16, 17, 33, 64, 70 };
	struct rng r = { 23000 + (uint64_t)_i };
	struct cproblem p;
	struct dnnq_conv_desc *d = stem_problem(&r, &p, _i, couts[_i % 7]);
	d->kh = _i % 9 == 4 ? 3 : _i % 9 == 7 ? 1 : 7;
	d->stride_h = _i % 5 == 3 ? 1 : 2;
	d->dil_h = _i % 11 == 6 ? 2 : 1;
	size_t pads[4] = { 3, 3, 3, 3 };
	for (size_t i = 0; i < 4; i++)
		pads[i] = _i % 3 == 0 ? 3 : _i % 3 == 1 ? (size_t)rng_int(&r, 0, 3) : 0;
	d->pad_t = pads[0];
	d->pad_l = pads[1];
	d->pad_b = pads[2];
	d->pad_r = pads[3];
	p.n = 1 + (size_t)_i % 3;
	p.h = (d->kh - 1) * d->dil_h + 1 + (size_t)rng_int(&r, 0, 9);
	p.w = 7 + (size_t)rng_int(&r, 0, 33);
	if (_i % 6 == 5)   /* more than DNNQ_STEM_TILES tiles a row */
		p.w = (size_t)rng_int(&r, 258, 270);
	stem_operands(&r, &p, _i);
	if (_i == 0) {
		/* not taken: weight zero points, K' past DNNQ_STEM_MAX_K, a
		 * dilation or stride 1 across, another width */
		struct cproblem q = p;
		int32_t zp[70] = { 3 };
		q.d.w_zero_point = zp;
		assert_path(&q, DNNQ_ISA_AVX2, "im2col");
		q = p;
		q.d.kh = 28 / q.d.cin + 1;   /* DNNQ_STEM_MAX_K 28 */
		int8_t *w = calloc(q.d.cout * q.d.kh * 7 * q.d.cin, 1);
		q.d.w = w;
		assert_path(&q, DNNQ_ISA_AVX2, "im2col");
		free(w);
		q = p;
		q.d.dil_w = 2;
		assert_path(&q, DNNQ_ISA_AVX2, "im2col");
		q = p;
		q.d.stride_w = 1;
		assert_path(&q, DNNQ_ISA_AVX2, "im2col");
		q = p;
		q.d.kw = 5;
		assert_path(&q, DNNQ_ISA_AVX2, "im2col");
		assert_path(&p, DNNQ_ISA_SCALAR, "im2col");
	}
	stem_against_scalar(&p, 2);
}
END_TEST

/* The stem by 1-D Winograd on the geometries a hostile model may give it:
 * kh x cin up to DNNQ_STEM_MAX_K (kh 28 at cin 1), strides 1..4 and
 * dilations 1..3 down, pads up to 300 a side (blocks of tiles wholly in
 * the padding, on either side), inputs narrower than the kernel (a row of
 * fewer than 4 bytes), one output column, batches of 1..3, input zero
 * point 0, 255 or random, weights at the extremes: bit for bit against
 * scalar on 1, 2 and 3 threads. */
START_TEST(stem_hostile)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return;
	static const size_t couts[] = { 1, 5, 16, 31, 48 };
	struct rng r = { 24000 + (uint64_t)_i };
	struct cproblem p;
	struct dnnq_conv_desc *d = stem_problem(&r, &p, _i, couts[_i % 5]);
	d->kh = (size_t)rng_int(&r, 1, 28 / (int64_t)d->cin);   /* DNNQ_STEM_MAX_K */
	d->stride_h = (size_t)rng_int(&r, 1, 4);
	d->dil_h = (size_t)rng_int(&r, 1, 3);
	size_t far = _i % 3 == 0 ? 300 : 12;
	d->pad_t = (size_t)rng_int(&r, 0, 12);
	d->pad_b = (size_t)rng_int(&r, 0, 12);
	d->pad_l = (size_t)rng_int(&r, 0, (int64_t)far);
	d->pad_r = (size_t)rng_int(&r, 0, (int64_t)far);
	if (_i % 6 == 1)
		d->pad_l = 300;
	if (_i % 6 == 4)
		d->pad_r = 300;
	p.n = 1 + (size_t)_i % 3;
	p.w = (size_t)rng_int(&r, 1, _i % 2 ? 6 : 20);
	if (p.w + d->pad_l + d->pad_r < 7)
		d->pad_r += 7 - (p.w + d->pad_l + d->pad_r);
	if (_i % 8 == 7) {   /* one output column */
		d->pad_l = d->pad_r = 0;
		p.w = 7 + (size_t)rng_int(&r, 0, 1);
	}
	size_t eh = (d->kh - 1) * d->dil_h + 1;
	p.h = (size_t)rng_int(&r, 1, 20);
	if (p.h + d->pad_t + d->pad_b < eh)
		d->pad_b += eh - (p.h + d->pad_t + d->pad_b);
	stem_operands(&r, &p, _i);
	d->in_qp.zero_point = _i / 4 % 3 == 0 ? 0 : _i / 4 % 3 == 1 ? 255 : d->in_qp.zero_point;
	stem_against_scalar(&p, 3);
}
END_TEST

/* The stem's folded output stage (conv-stem-avx2.c, stem_folds: u8 with
 * no clamp but the packs', the column term times 120 into the transform
 * and the multiplier over 8) at its bounds: multiplier 2^-21, int32
 * biases (input zero point 0: the column terms) by case: 0 within the
 * bound, +-(2^28 - 2^23 - 16) (outputs near 4 and 252); 1 two columns at
 * +-(2^28 + 2^20), whose 8 (S + col) wraps (folded, the outputs would be
 * 0 for 255 and back); 2 INT32_MIN and INT32_MAX (folded, either
 * fails). Odd and even widths (a last tile short), batches of 1 and 2,
 * cout 16 and 48: bit for bit against scalar on 1 and 2 threads. */
START_TEST(stem_fold_bounds)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return;
	struct rng r = { 25000 + (uint64_t)_i };
	struct cproblem p;
	struct dnnq_conv_desc *d = stem_problem(&r, &p, 2, _i % 2 ? 48 : 16);
	d->kh = 7;
	d->stride_h = 2;
	d->dil_h = 1;
	d->pad_t = d->pad_l = d->pad_b = d->pad_r = 3;
	p.n = 1 + (size_t)_i % 2;
	p.h = 9;
	p.w = 30 + (size_t)_i;
	extreme_operands(&r, &p, d->kh * 7 * d->cin, 1, 1, 0, 0, 1, 1, false, false);
	d->w_zero_point = NULL;
	d->in_qp.zero_point = 0;
	/* the multiplier 2^-21 */
	d->in_qp.scale = 0x1p-4f;
	p.w_scale[0] = 0x1p-10f;
	d->out_qp.scale = 0x1p7f;
	d->out_qp.zero_point = 128;
	d->out_dtype = DNNQ_DTYPE_U8;
	d->requant = DNNQ_REQUANT_FLOAT;
	d->relu = d->clip = false;
	int32_t bias[48];
	for (size_t j = 0; j < d->cout; j++)
		bias[j] = (j % 2 ? 1 : -1) * ((1 << 28) - (1 << 23) - 16 - (int32_t)j);
	if (_i == 1) {
		bias[3] = (1 << 28) + (1 << 20);
		bias[12] = -bias[3];
	}
	if (_i == 2) {
		bias[5] = INT32_MIN;
		bias[6] = INT32_MAX;
	}
	d->bias_i32 = bias;
	stem_against_scalar(&p, 2);
}
END_TEST

/* The stem's folded output stage at the multipliers' and zero points'
 * extremes (review, stop 48): multipliers (in_scale w_scale / out_scale,
 * floats) by column, per-channel, from denormal (2^-149, 2^-140) through
 * 2^-127..2^-120 (their eighths subnormal, (1 + 2^-23) 2^-124's inexact:
 * stem_folds' underflow argument) to 2^-21 and 0.5 (the largest
 * DNNQ_AVX2_U8_FLOAT_FULL takes), column terms (int32 biases, input zero
 * point 0) random within the bound, two at exactly +-(2^28 - 1 -
 * STEM_S_MAX); output zero point 0 (cases 0, 2) or 255; cases 2 and 3
 * per-tensor at (1 + 2^-23) 2^-124 and 2^-21; cout 32 (full panels), case
 * 3 40 (a partial one) and a column term one past the bound (not folded):
 * bit for bit against scalar on 1 and 2 threads. */
START_TEST(stem_fold_mults)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return;
	static const float mults[] = { 0x1p-149f, 0x1p-140f, 0x1p-127f, 0x1p-126f, 0x1p-125f,
	                               0x1.000002p-124f, 0x1p-123f, 0x1.8p-122f, 0x1p-120f,
	                               0x1.fffffep-22f, 0x1p-21f, 0x1.4p-20f, 0.5f };
	const int32_t lim = (1 << 28) - 1 - 28 * 7 * 255 * 128;   /* DNNQ_STEM_MAX_K 28 */
	struct rng r = { 26000 + (uint64_t)_i };
	struct cproblem p;
	struct dnnq_conv_desc *d = stem_problem(&r, &p, 2, _i == 3 ? 40 : 32);
	d->kh = 7;
	d->stride_h = 2;
	d->dil_h = 1;
	d->pad_t = d->pad_l = d->pad_b = d->pad_r = 3;
	p.n = 1;
	p.h = 9;
	p.w = 31;
	extreme_operands(&r, &p, d->kh * 7 * d->cin, 0, 0, 0, 0, 1, 1, _i < 2, false);
	d->w_zero_point = NULL;
	d->in_qp.zero_point = 0;
	/* the multipliers exact: in 2^-4, out 2^100, w_scale 2^104 m */
	d->in_qp.scale = 0x1p-4f;
	d->out_qp.scale = 0x1p100f;
	for (size_t j = 0; j < d->cout; j++)
		p.w_scale[j] = 0x1p104f * (_i == 2 ? mults[5] : _i == 3 ? mults[10]
		                                   : mults[j % (sizeof mults / sizeof *mults)]);
	d->out_qp.zero_point = _i % 2 ? 255 : 0;
	d->out_dtype = DNNQ_DTYPE_U8;
	d->requant = DNNQ_REQUANT_FLOAT;
	d->relu = d->clip = false;
	int32_t bias[40];
	for (size_t j = 0; j < d->cout; j++)
		bias[j] = (int32_t)rng_int(&r, -lim, lim);
	bias[7] = lim;
	bias[20] = _i == 3 ? -lim - 1 : -lim;
	d->bias_i32 = bias;
	stem_against_scalar(&p, 2);
}
END_TEST

/* Strided 1x1 convolutions (im2col, blocks of up to 64 pixels across
 * output rows and images; on AVX2 the pairs kernel for cin <= 4, on VNNI
 * the segments read in place for cin a multiple of 4): strides 1..4 (one
 * axis at least 2, or pads: a 1x1 with pads is im2col too, its padded
 * pixels the zero point), batches of 1..3, rows of 44..92 output
 * pixels (blocks starting mid-row), input channels 1..64, output
 * channels around the 16-column panels, 2 groups, per-tensor and
 * per-channel, symmetric and asymmetric weights, u8, int32 and float
 * outputs; the path asserted, scalar against the reference, every ISA
 * bit for bit on 1, 2 and 3 threads. */
START_TEST(strided_1x1)
{
	static const size_t cins[] = { 1, 3, 4, 8, 12, 17, 64 };
	static const size_t couts[] = { 1, 7, 16, 17, 50 };
	struct rng r = { 19000 + (uint64_t)_i };
	struct cproblem p;
	make_problem(&r, &p, 2);
	free_problem(&p);
	struct dnnq_conv_desc *d = &p.d;
	d->groups = _i % 8 == 7 ? 2 : 1;
	d->cin = cins[_i % 7] * d->groups;
	d->cout = couts[_i % 5] * d->groups;
	d->stride_h = 1 + (size_t)(_i / 3 % 4);
	d->stride_w = 1 + (size_t)(_i % 4);
	if (_i % 2 || (d->stride_h == 1 && d->stride_w == 1)) {
		d->pad_t = (size_t)rng_int(&r, 0, 2);
		d->pad_l = (size_t)rng_int(&r, 1, 2);
		d->pad_b = (size_t)rng_int(&r, 0, 2);
		d->pad_r = (size_t)rng_int(&r, 0, 2);
	}
	p.n = 1 + (size_t)(_i % 3);
	p.h = (size_t)rng_int(&r, 1, 17);
	p.w = (size_t)rng_int(&r, 1, 17);
	if (_i % 4 == 2)   /* output rows past a block: blocks start mid-row */
		p.w = (size_t)rng_int(&r, 130, 270);
	random_operands(&r, &p);
	d->nwq = _i / 2 % 2 ? d->cout : 1;
	p.w_scale = malloc(d->nwq * sizeof *p.w_scale);
	p.w_zp = malloc(d->nwq * sizeof *p.w_zp);
	p.bias = malloc(d->cout * sizeof *p.bias);
	for (size_t j = 0; j < d->nwq; j++) {
		p.w_scale[j] = (float)rng_uniform(&r, 0.001, 0.01);
		p.w_zp[j] = (int32_t)rng_int(&r, -10, 10);
	}
	for (size_t j = 0; j < d->cout; j++)
		p.bias[j] = (float)rng_uniform(&r, -1, 1);
	d->w_scale = p.w_scale;
	d->w_zero_point = _i % 5 == 3 ? p.w_zp : NULL;
	d->bias = _i % 3 ? p.bias : NULL;
	d->out_qp.scale = (float)(0.02 * 0.005 * 128 * sqrt((double)(d->cin / d->groups)) * 1.5);
	if (_i % 6 >= 4) {
		d->out_dtype = _i % 6 == 4 ? DNNQ_DTYPE_S32 : DNNQ_DTYPE_F32;
		d->clip = false;
		d->relu = d->relu && d->out_dtype == DNNQ_DTYPE_F32;
	}
	uint8_t *ys = run(&p, DNNQ_ISA_SCALAR, 1);
	size_t n = out_bytes(&p);
	FOR_EACH_ISA(isa) {
		assert_path(&p, isa, "im2col");
		uint8_t *y3 = run(&p, isa, 3);
		ck_assert_msg(!memcmp(ys, y3, n), "%s, 3 threads != scalar", dnnq_isa_name(isa));
		free(y3);
	}
	free(ys);
	check_problem(&p, 2);
}
END_TEST

/* The VNNI im2col by segments (one group, kernel rows of kw * cin bytes,
 * a multiple of 4, symmetric weights): kernel rows read in place, in the
 * padding, and assembled at the edges, against scalar on 1 and 2 threads. */
START_TEST(im2col_segments)
{
	static const size_t cins[] = { 4, 8, 12, 64 };
	struct rng r = { 9000 + (uint64_t)_i };
	struct cproblem p;
	make_problem(&r, &p, 0);
	free(p.wt);
	free(p.x);
	p.d.groups = 1;
	p.d.cin = cins[_i % 4];
	p.d.dil_w = 1;
	p.d.w_zero_point = NULL;
	p.w = p.d.kw + (size_t)rng_int(&r, 0, 9);
	p.h = (p.d.kh - 1) * p.d.dil_h + 1 + (size_t)rng_int(&r, 0, 9);
	random_operands(&r, &p);
	check_problem(&p, 0);
}
END_TEST

/* Random one-group problems on the VNNI table at its paths' bounds:
 * input channels around Winograd's 65..128 (64, 129, 130) and kernel
 * rows of a multiple of 4 bytes or not (by segments or by bands), 3x3
 * stride 1 a third of the time, else kh, kw 1..7, strides 1..4,
 * dilations 1 or 2, pads up to the kernel + 1, widths up to 150 (strips
 * past DNNQ_GEMM_MC), batches of 1..3, weight zero points a quarter of
 * the time, extreme operands, u8 / int32 / float outputs: whichever path
 * create chose, bit for bit against scalar on 1, 2 and 3 threads (the
 * selection admitting a shape its kernel gets wrong fails it). */
START_TEST(vnni_paths_random)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX512VNNI))
		return;
	struct rng r = { 990000 + (uint64_t)_i };
	struct cproblem p;
	struct dnnq_conv_desc *d = bare_problem(&r, &p, 0);
	static const size_t cins[] = { 1, 2, 3, 5, 6, 7, 9, 12, 15, 33,
	                               63, 64, 65, 66, 67, 99, 127, 128, 129, 130 };
	d->groups = 1;
	d->cin = cins[rng_int(&r, 0, 19)];
	d->cout = (size_t)rng_int(&r, 1, 80);
	d->kh = (size_t)rng_int(&r, 1, 7);
	d->kw = (size_t)rng_int(&r, 1, 7);
	if (rng_int(&r, 0, 2) == 0) {
		d->kh = d->kw = 3;
		d->stride_h = d->stride_w = d->dil_h = d->dil_w = 1;
	} else {
		d->stride_h = (size_t)rng_int(&r, 1, 4);
		d->stride_w = (size_t)rng_int(&r, 1, 4);
		d->dil_h = rng_int(&r, 0, 3) == 0 ? 2 : 1;
		d->dil_w = rng_int(&r, 0, 3) == 0 ? 2 : 1;
	}
	d->pad_t = (size_t)rng_int(&r, 0, (int64_t)d->kh + 1);
	d->pad_b = (size_t)rng_int(&r, 0, (int64_t)d->kh + 1);
	d->pad_l = (size_t)rng_int(&r, 0, (int64_t)d->kw + 1);
	d->pad_r = (size_t)rng_int(&r, 0, (int64_t)d->kw + 1);
	p.n = (size_t)rng_int(&r, 1, 3);
	p.h = (size_t)rng_int(&r, 1, 20);
	p.w = (size_t)rng_int(&r, 1, rng_int(&r, 0, 3) == 0 ? 150 : 20);
	size_t eh = d->dil_h * (d->kh - 1) + 1, ew = d->dil_w * (d->kw - 1) + 1;
	if (p.h + d->pad_t + d->pad_b < eh)
		d->pad_b += eh - (p.h + d->pad_t + d->pad_b);
	if (p.w + d->pad_l + d->pad_r < ew)
		d->pad_r += ew - (p.w + d->pad_l + d->pad_r);
	size_t k = d->kh * d->kw * d->cin;
	extreme_operands(&r, &p, k, _i % 3, _i / 3 % 3, 255, _i % 2 ? 127 : -128, 0.001, 0.01,
	                 _i % 2, _i % 4 < 2);
	bool wzp = rng_int(&r, 0, 3) == 0;
	weight_zero_points(&r, &p, wzp);
	d->out_qp.scale = (float)(0.02 * 0.005 * 128 * sqrt((double)k) * 1.5);
	int od = (int)rng_int(&r, 0, 5);
	if (od >= 4) {
		d->out_dtype = od == 4 ? DNNQ_DTYPE_S32 : DNNQ_DTYPE_F32;
		d->clip = false;
		d->relu = d->relu && d->out_dtype == DNNQ_DTYPE_F32;
	}
	isa_matches_scalar(&p, DNNQ_ISA_AVX512VNNI, NULL, 3);
}
END_TEST

/* The VNNI im2col by bands (one group, no dilation, kernel rows not a
 * multiple of 4 bytes or weights with zero points, kernels taller than
 * their stride): kh 2..7 at strides 1..3 (below kh) down and 1..3 across,
 * cin 1..3 and 8 with weight zero points (the row sums of overlapping
 * windows), pads up to kh - 1 and far ones (bands and strips wholly in
 * the padding), one output column and rows past a strip (ow >
 * DNNQ_GEMM_MC), bands of one output row and of all of them, batches of
 * 1 and 2, input zero points 0, 255 and random, operands at the
 * extremes, u8, int32 and float outputs: the path asserted (case 0: not
 * taken where it does not apply), bit for bit against scalar on 1, 2
 * and 3 threads. */
START_TEST(im2col_bands)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX512VNNI))
		return;
	static const size_t couts[] = { 1, 7, 16, 33, 64, 70 };
	struct rng r = { 25000 + (uint64_t)_i };
	struct cproblem p;
	struct dnnq_conv_desc *d = bare_problem(&r, &p, 4);
	bool wzp = _i % 5 == 4;
	d->cin = wzp ? 8 : 1 + (size_t)_i % 3;
	d->cout = couts[_i % 6];
	d->kh = 2 + (size_t)(_i % 6);
	d->kw = 1 + (size_t)rng_int(&r, 0, 6);
	if (!wzp && d->kw * d->cin % 4 == 0)   /* by segments */
		d->kw--;
	d->stride_h = 1 + (size_t)rng_int(&r, 0, d->kh > 3 ? 2 : (int64_t)d->kh - 2);
	d->stride_w = 1 + (size_t)rng_int(&r, 0, 2);
	d->dil_h = d->dil_w = 1;
	size_t far = _i % 7 == 3 ? 40 : d->kh - 1;
	d->pad_t = (size_t)rng_int(&r, 0, (int64_t)far);
	d->pad_b = (size_t)rng_int(&r, 0, (int64_t)far);
	d->pad_l = (size_t)rng_int(&r, 0, (int64_t)(_i % 7 == 3 ? 40 : d->kw - 1));
	d->pad_r = (size_t)rng_int(&r, 0, (int64_t)(_i % 7 == 3 ? 40 : d->kw - 1));
	p.n = 1 + (size_t)_i % 2;
	p.h = (size_t)rng_int(&r, 1, 40);
	p.w = _i % 4 == 1 ? (size_t)rng_int(&r, 130, 270) : (size_t)rng_int(&r, 1, 30);
	if (_i % 8 == 6) {   /* one output column */
		d->pad_l = d->pad_r = 0;
		p.w = d->kw;
	}
	if (p.h + d->pad_t + d->pad_b < d->kh)
		d->pad_b += d->kh - (p.h + d->pad_t + d->pad_b);
	if (p.w + d->pad_l + d->pad_r < d->kw)
		d->pad_r += d->kw - (p.w + d->pad_l + d->pad_r);
	size_t k = d->kh * d->kw * d->cin;
	extreme_operands(&r, &p, k, _i % 3, _i / 3 % 3, _i % 2 ? 255 : 0, _i % 4 < 2 ? 127 : -128,
	                 0.001, 0.01, _i % 2, _i % 3 != 1);
	weight_zero_points(&r, &p, wzp);
	d->in_qp.zero_point = _i / 2 % 3 == 0 ? 0 : _i / 2 % 3 == 1 ? 255 : d->in_qp.zero_point;
	d->out_qp.scale = (float)(0.02 * 0.005 * 128 * sqrt((double)k) * 1.5);
	if (_i % 4 >= 2) {
		d->out_dtype = _i % 4 == 2 ? DNNQ_DTYPE_S32 : DNNQ_DTYPE_F32;
		d->clip = false;
		d->relu = d->relu && d->out_dtype == DNNQ_DTYPE_F32;
	}
	if (_i == 0) {
		/* not taken: a dilation down, a kernel no taller than its
		 * stride, rows by segments, another table */
		struct cproblem q = p;
		q.d.dil_h = 2;
		assert_path(&q, DNNQ_ISA_AVX512VNNI, "im2col");
		q = p;
		q.d.stride_h = q.d.kh;
		assert_path(&q, DNNQ_ISA_AVX512VNNI, "im2col");
		q = p;
		q.d.cin = 4;
		int8_t *w = calloc(q.d.cout * q.d.kh * q.d.kw * 4, 1);
		q.d.w = w;
		assert_path(&q, DNNQ_ISA_AVX512VNNI, "im2col");
		free(w);
		assert_path(&p, DNNQ_ISA_SCALAR, "im2col");
	}
	isa_matches_scalar(&p, DNNQ_ISA_AVX512VNNI, "im2col-bands", 3);
}
END_TEST

/* im2col by bands where a band's runs pass BAND_BYTES (conv.c): kernel
 * rows of hundreds of bytes (33 channels x 11 taps, 255 x 5, 130 x 3 with
 * weight zero points), so fewer runs fit than the kernel has rows (bands
 * of one output row) or none; AlexNet's 11x11 stride 4, 5x5 and 3x3
 * stride 2, a 2x7 kernel at stride 1; strips past DNNQ_GEMM_MC columns;
 * batches of 1 and 2, the path asserted and bit for bit against scalar on
 * 1, 2 and 3 threads. */
START_TEST(im2col_bands_long_runs)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX512VNNI))
		return;
	static const struct { size_t cin, kh, kw, sh, sw; } shapes[] = {
		{ 33, 11, 11, 4, 4 }, { 255, 5, 5, 2, 2 }, { 130, 3, 3, 2, 2 },
		{ 3, 11, 11, 4, 4 }, { 45, 2, 7, 1, 3 },
	};
	struct rng r = { 26000 + (uint64_t)_i };
	struct cproblem p;
	struct dnnq_conv_desc *d = bare_problem(&r, &p, 0);
	const size_t s = (size_t)_i % 5;
	d->groups = 1;
	d->cin = shapes[s].cin;
	d->cout = _i % 2 ? 17 : 70;
	d->kh = shapes[s].kh;
	d->kw = shapes[s].kw;
	d->stride_h = shapes[s].sh;
	d->stride_w = shapes[s].sw;
	d->dil_h = d->dil_w = 1;
	d->pad_t = (size_t)rng_int(&r, 0, (int64_t)d->kh - 1);
	d->pad_b = (size_t)rng_int(&r, 0, (int64_t)d->kh - 1);
	d->pad_l = (size_t)rng_int(&r, 0, (int64_t)d->kw - 1);
	d->pad_r = (size_t)rng_int(&r, 0, (int64_t)d->kw - 1);
	p.n = 1 + (size_t)_i / 5 % 2;
	p.h = d->kh + (size_t)rng_int(&r, 0, 6);
	p.w = d->kw + (_i >= 5 ? 64 * d->stride_w + (size_t)rng_int(&r, 0, 40)
	                       : (size_t)rng_int(&r, 0, 20));
	size_t k = d->kh * d->kw * d->cin;
	extreme_operands(&r, &p, k, 0, 0, 0, 0, 0.001, 0.01, _i % 2, true);
	bool wzp = s == 2;
	weight_zero_points(&r, &p, wzp);
	d->out_qp.scale = (float)(0.02 * 0.005 * 128 * sqrt((double)k) * 1.5);
	isa_matches_scalar(&p, DNNQ_ISA_AVX512VNNI, "im2col-bands", 3);
}
END_TEST

/* A random problem made a 3x3, stride 1, one-group convolution of cin
 * inputs and cout outputs without weight zero points (Winograd's on
 * AVX2); the caller fills p->x and p->wt. */
static void wino_problem(struct rng *r, struct cproblem *p, size_t cin, size_t cout)
{
	struct dnnq_conv_desc *d = bare_problem(r, p, 0);
	d->groups = 1;
	d->cin = cin;
	d->cout = cout;
	d->kh = d->kw = 3;
	d->stride_h = d->stride_w = d->dil_h = d->dil_w = 1;
	d->w_zero_point = NULL;
}

/* Whether the VNNI table takes Winograd for cin input channels (conv.c's
 * pack_wino: packed U only, from DNNQ_WINO_VNNI_MIN_CIN). */
static bool wino_vnni(size_t cin)
{
	return cin >= DNNQ_WINO_VNNI_MIN_CIN && cin <= DNNQ_WINO_F43_MAX_CIN;
}

/* check_problem (every SIMD table against scalar, 1 and 2 threads), after
 * asserting the AVX2 convolution takes Winograd and the VNNI one where
 * wino_vnni says (im2col elsewhere). */
static void check_winograd(struct cproblem *p)
{
	if (dnnq_isa_supported(DNNQ_ISA_AVX2))
		assert_path(p, DNNQ_ISA_AVX2, "winograd");
	if (dnnq_isa_supported(DNNQ_ISA_AVX512VNNI) && wino_vnni(p->d.cin))
		assert_path(p, DNNQ_ISA_AVX512VNNI, "winograd");
	else if (dnnq_isa_supported(DNNQ_ISA_AVX512VNNI))   /* by segments or by bands */
		assert_path_prefix(p, DNNQ_ISA_AVX512VNNI, "im2col");
	check_problem(p, 0);
}

/* Winograd (3x3, stride 1, one group, symmetric weights on AVX2) bit for
 * bit against scalar: activations all 0 and 255 or random, weights all
 * -128 and 127 or random (the transforms' and the sums' extremes), odd and
 * even heights and widths (partial tiles, 1x1 outputs), pads 0 and 1 (and
 * one-sided), input channels not a multiple of 2 or 16 (16..256 of the
 * path's 16..512; U packed up to 128, on the fly from 129), output channels
 * not a multiple of 8,
 * per-channel and per-tensor weights, with and without bias, ReLU and
 * Clip, u8 (float and fixed-point requantization), int32 and float
 * outputs, 1 and 2 threads; the path asserted taken on AVX2, and on VNNI
 * from 65 to 128 channels (64 and 129: im2col, its bounds). */
START_TEST(winograd_edges)
{
	static const size_t cins[] = { 16, 17, 33, 64, 65, 99, 128, 129, 256 };
	static const size_t couts[] = { 1, 7, 9, 16, 24, 40 };
	struct rng r = { 13000 + (uint64_t)_i };
	struct cproblem p;
	wino_problem(&r, &p, cins[_i % 9], couts[_i % 6]);
	struct dnnq_conv_desc *d = &p.d;
	size_t pad = _i % 4 == 3 ? 0 : 1;
	d->pad_t = d->pad_l = pad;
	d->pad_b = d->pad_r = _i % 8 == 5 ? 0 : pad;
	p.h = 3 - 2 * pad + (size_t)rng_int(&r, 0, d->cin > 64 ? 3 : 8);
	p.w = 3 - 2 * pad + (size_t)rng_int(&r, 0, d->cin > 64 ? 3 : 8);
	p.h = p.h < 1 ? 1 : p.h;
	p.w = p.w < 1 ? 1 : p.w;
	if (!d->pad_b && p.h < 3 - d->pad_t)
		p.h = 3 - d->pad_t;
	if (!d->pad_r && p.w < 3 - d->pad_l)
		p.w = 3 - d->pad_l;
	size_t k = 9 * d->cin;
	/* small scales: the fp32 reference's rounding on these sums stays
	 * within check_reference's 1e-4 */
	extreme_operands(&r, &p, k, _i % 3, _i / 3 % 3, 255, _i % 2 ? 127 : -128, 0.0001, 0.001,
	                 _i % 2, _i % 4 < 2);
	/* extreme sums: an output scale that keeps some outputs off the bounds */
	d->out_qp.scale = (float)(0.02 * 0.0005 * 255 * 128 * (double)k / 64);
	if (_i % 5 == 2 || _i % 5 == 3) {
		d->out_dtype = _i % 5 == 2 ? DNNQ_DTYPE_S32 : DNNQ_DTYPE_F32;
		d->clip = false;
		d->relu = d->relu && d->out_dtype == DNNQ_DTYPE_F32;
	}
	check_winograd(&p);
}
END_TEST

/* F(4, 3) with the weights transformed on the fly (129 to 512 input
 * channels, conv-avx2.c's wino_fly_panels): one chunk of pairs or more
 * (224 | 225 channels: one | two chunks, the exact bound; 448 | 449: two |
 * three), odd channel counts (the last pair's second weight 0), 1x1, 2x2,
 * 5x7, 7x5 and 4x9 images with pads 0, 1 and one-sided, 1 or 2 images, 17
 * or 24 output channels; activations and weights random, the extremes
 * mixed (0 / 255, -128 / 127) or all one extreme with the zero point
 * there too (the largest sums of a chunk: 9 * 224 * 128 * 128 of its S');
 * bit for bit against scalar on 1, 2 and 3 threads, the path asserted. */
START_TEST(winograd_fly)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return;
	static const size_t cins[] = { 129, 224, 225, 255, 256, 300, 448, 449, 512 };
	static const size_t hs[] = { 1, 2, 5, 7, 4 }, ws[] = { 1, 2, 7, 5, 9 };
	struct rng r = { 29000 + (uint64_t)_i };
	struct cproblem p;
	wino_problem(&r, &p, cins[_i % 9], _i % 2 ? 24 : 17);
	struct dnnq_conv_desc *d = &p.d;
	size_t pad = _i % 4 == 3 ? 0 : 1, mode = (size_t)_i / 9;
	d->pad_t = d->pad_l = pad;
	d->pad_b = d->pad_r = _i % 8 == 5 ? 0 : pad;
	p.n = 1 + (size_t)_i % 2;
	p.h = hs[_i % 5] < 3 - d->pad_t - d->pad_b ? 3 - d->pad_t - d->pad_b : hs[_i % 5];
	p.w = ws[_i % 5] < 3 - d->pad_l - d->pad_r ? 3 - d->pad_l - d->pad_r : ws[_i % 5];
	uint8_t xv = _i % 2 ? 255 : 0;
	size_t k = 9 * d->cin;
	extreme_operands(&r, &p, k, (int)mode, (int)mode, xv, _i % 4 < 2 ? 127 : -128, 0.0001,
	                 0.001, _i % 2, _i % 3 == 0);
	d->in_qp.zero_point = xv;
	d->out_qp.scale = (float)(0.02 * 0.0005 * 255 * 128 * (double)k / 64);
	if (mode == 2) {   /* the sums themselves, unclamped */
		d->out_dtype = DNNQ_DTYPE_S32;
		d->relu = d->clip = false;
	}
	threads_match_scalar(&p, "winograd", NULL);
}
END_TEST

/* F(4, 3) on the fly against hostile shapes (review, stop 48): 129, 511
 * and 512 input channels (one chunk of pairs, three with an odd last
 * pair, three), 1 or 33 output channels (a panel's tail, three panels
 * that 2 and 3 threads split), pads up to 7 a side around 1x1 to 3x2
 * images, 1023 (the most a model gives) above (case 3) or either side
 * (case 4): tiles wholly in the padding, the zero point's row; batches of
 * 1..3, per-channel weights, input zero point 0, 255 or random, u8
 * outputs: bit for bit against scalar on 1, 2 and 3 threads, the path
 * asserted; case 0 also that 513 channels (past DNNQ_WINO_MAX_CIN) take
 * im2col. */
START_TEST(winograd_fly_hostile)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return;
	static const size_t cins[] = { 129, 511, 512 };
	struct rng r = { 30000 + (uint64_t)_i };
	struct cproblem p;
	wino_problem(&r, &p, cins[_i % 3], _i % 2 ? 33 : 1);
	struct dnnq_conv_desc *d = &p.d;
	d->pad_t = (size_t)rng_int(&r, 0, 7);
	d->pad_l = (size_t)rng_int(&r, 0, 7);
	d->pad_b = (size_t)rng_int(&r, 0, 7);
	d->pad_r = (size_t)rng_int(&r, 0, 7);
	p.n = 1 + (size_t)_i % 3;
	p.h = (size_t)rng_int(&r, 1, 3);
	p.w = (size_t)rng_int(&r, 1, 2);
	if (p.h + d->pad_t + d->pad_b < 3)
		d->pad_b += 3 - (p.h + d->pad_t + d->pad_b);
	if (p.w + d->pad_l + d->pad_r < 3)
		d->pad_r += 3 - (p.w + d->pad_l + d->pad_r);
	if (_i == 3) {   /* 1023 rows of padding above, one tile across */
		d->pad_t = 1023;
		d->pad_l = d->pad_r = 0;
		p.w = 3;
	}
	if (_i == 4) {   /* 1023 columns of padding either side, one row */
		d->pad_l = d->pad_r = 1023;
		d->pad_t = d->pad_b = 0;
		p.h = 3;
	}
	extreme_operands(&r, &p, 9 * d->cin, _i % 3, _i / 3 % 2, 0, 0, 0.0001, 0.001, true,
	                 true);
	d->in_qp.zero_point = _i % 3 == 0 ? 0 : _i % 3 == 1 ? 255 : d->in_qp.zero_point;
	d->out_qp.scale = (float)(0.02 * 0.0005 * 255 * 128 * (double)(9 * d->cin) / 64);
	d->out_dtype = DNNQ_DTYPE_U8;
	if (_i == 0) {
		struct cproblem q = p;
		q.d.cin = 513;
		int8_t *w = calloc(q.d.cout * 9 * q.d.cin, 1);
		q.d.w = w;
		assert_path(&q, DNNQ_ISA_AVX2, "im2col");
		free(w);
	}
	threads_match_scalar(&p, "winograd", NULL);
}
END_TEST

/* Winograd's blocks of tiles (dnnq_conv_run): whole rows of tiles, one
 * row cut into blocks (more than dnnq_wino_block_tiles a row), one tile a
 * row, batches of 1..3, on 1, 2 and 3 threads (blocks or column chunks
 * some thread gets none of), packed and (144 channels) on the fly, bit for
 * bit against scalar; with 80 channels on the VNNI table too (its steps of
 * up to 12 tiles split evenly over any block). */
START_TEST(winograd_blocks)
{
	if (!dnnq_isa_supported(DNNQ_ISA_AVX2))
		return;
	static const size_t hs[] = { 1, 2, 3, 5, 9, 17, 140, 3, 131, 4 };
	static const size_t ws[] = { 1, 2, 300, 259, 9, 17, 2, 257, 131, 130 };
	struct rng r = { 17000 + (uint64_t)_i };
	struct cproblem p;
	size_t cin = _i % 10 == 4 || _i % 10 == 5 ? 144 : _i % 3 == 0 ? 16 : _i % 3 == 1 ? 35 : 80;
	wino_problem(&r, &p, cin, _i % 2 ? 24 : 40);
	struct dnnq_conv_desc *d = &p.d;
	d->pad_t = d->pad_l = d->pad_b = d->pad_r = 1;
	p.n = 1 + _i % 3;
	p.h = hs[_i % 10];
	p.w = ws[_i % 10];
	random_operands(&r, &p);
	d->nwq = 1;
	d->bias = NULL;
	threads_match_scalar(&p, "winograd", wino_vnni(cin) ? "winograd" : NULL);
}
END_TEST

/* Winograd's largest sums: activations and padding (the input zero point)
 * all 0 or all 255, weights all -128 or all 127, at packed U's most input
 * channels (128: |S'| up to 9 * 128 * 128 * 128, the shift by 128 in,
 * 576 S' mod 2^32 out) and on the fly from 129 to 256, bit for bit against
 * scalar on 1 and 2 threads. */
START_TEST(winograd_extremes)
{
	static const size_t cins[] = { 128, 129, 256 };
	struct rng r = { 19000 + (uint64_t)_i };
	struct cproblem p;
	wino_problem(&r, &p, cins[_i % 3], 24);
	struct dnnq_conv_desc *d = &p.d;
	d->pad_t = d->pad_l = d->pad_b = d->pad_r = 1;
	p.n = 1;
	p.h = 6;
	p.w = 7;
	uint8_t xv = _i / 3 % 2 ? 255 : 0;
	int8_t wv = _i / 6 % 2 ? 127 : -128;
	size_t k = 9 * d->cin, nx = p.h * p.w * d->cin;
	p.x = malloc(nx);
	p.wt = malloc(d->cout * k);
	memset(p.x, xv, nx);
	memset(p.wt, (uint8_t)wv, d->cout * k);
	d->w = p.wt;
	d->in_qp.zero_point = xv;
	d->out_dtype = DNNQ_DTYPE_S32;   /* the sums themselves, unclamped */
	d->relu = d->clip = false;
	d->bias = NULL;
	d->nwq = 1;
	check_winograd(&p);
}
END_TEST

/* Winograd (on the fly on AVX2, packed on VNNI), one convolution set up again
 * and again for 1..3 images on 1 and 2 threads (its scratch regrown or
 * not, an image's tiles in one block split by columns or blocks by
 * images), the path asserted after each setup and the outputs bit for bit
 * against scalar's; 257, 300 and 512 channels (ResNet's 7x7x512),
 * random operands or every value at an extreme (the largest sums: 512
 * channels of (0 - 128) * -128 too); cases 9-11 the VNNI table's packed
 * Winograd (65, 100, 128 channels, the extremes). */
START_TEST(winograd_at_setup)
{
	enum dnnq_isa isa = _i >= 9 ? DNNQ_ISA_AVX512VNNI : DNNQ_ISA_AVX2;
	if (!dnnq_isa_supported(isa))
		return;
	static const size_t cins[] = { 257, 300, 512, 65, 100, 128 };
	static const struct { size_t n; unsigned threads; } runs[] = {
		{ 1, 2 }, { 2, 2 }, { 1, 1 }, { 1, 2 }, { 3, 2 }, { 2, 1 },
	};
	struct rng r = { 23000 + (uint64_t)_i };
	struct cproblem p;
	wino_problem(&r, &p, cins[_i % 3 + (_i >= 9) * 3], _i % 2 ? 24 : 40);
	struct dnnq_conv_desc *d = &p.d;
	d->pad_t = d->pad_l = d->pad_b = d->pad_r = 1;
	p.n = 3;
	p.h = 7;
	p.w = 5 + (size_t)_i % 4;
	random_operands(&r, &p);
	if (_i >= 3) {   /* the extremes: winograd_extremes'; 6-8 the other sign */
		bool hi = _i % 2 != (_i >= 6);
		uint8_t xv = hi ? 255 : 0;
		memset(p.x, xv, p.n * p.h * p.w * d->cin);
		memset(p.wt, hi ? 127 : -128, d->cout * 9 * d->cin);
		d->in_qp.zero_point = xv;
		d->out_dtype = DNNQ_DTYPE_S32;
		d->relu = d->clip = false;
		d->bias = NULL;
		d->nwq = 1;
	}
	uint8_t *ys = run(&p, DNNQ_ISA_SCALAR, 1);
	size_t per_img = out_bytes(&p) / p.n;
	struct dnnq_conv_desc da = p.d;
	da.isa = isa;
	struct dnnq_conv *c;
	struct dnnq_diag diag;
	ck_assert_msg(dnnq_conv_create(&da, &c, &diag) == 0, "%s", diag.msg);
	ck_assert_str_eq(dnnq_conv_path(c), "winograd");
	struct dnnq_pool *pool = dnnq_pool_create(2, NULL);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	uint8_t *y = malloc(per_img * p.n + 1);
	for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
		size_t n = runs[i].n;
		unsigned t = runs[i].threads;
		memset(y, 0xEE, per_img * p.n + 1);
		ck_assert_int_eq(dnnq_conv_setup(c, n, p.h, p.w, p.x, y, t), 0);
		ck_assert_str_eq(dnnq_conv_path(c), "winograd");
		ck_assert_int_eq(dnnq_conv_run(c, t > 1 ? &ex : NULL), 0);
		ck_assert_msg(!memcmp(ys, y, per_img * n), "cin %zu: %zu images, %u threads, %s",
		              d->cin, n, t, dnnq_conv_path(c));
		ck_assert_int_eq(y[per_img * n], 0xEE);   /* nothing past the n images */
	}
	free(y);
	dnnq_pool_destroy(pool);
	dnnq_conv_destroy(c);
	free(ys);
	free_problem(&p);
}
END_TEST

START_TEST(paths_and_edges)
{
	struct rng r = { 3 };
	struct cproblem p;
	struct dnnq_conv *c;
	make_problem(&r, &p, 2);
	/* a strided 1x1 by im2col (blocks across output rows) */
	p.d.stride_h = p.d.stride_w = 1;
	ck_assert_int_eq(dnnq_conv_create(&p.d, &c, NULL), 0);
	ck_assert_str_eq(dnnq_conv_path(c), "gemm-1x1");
	dnnq_conv_destroy(c);
	p.d.stride_w = 2;
	ck_assert_int_eq(dnnq_conv_create(&p.d, &c, NULL), 0);
	ck_assert_str_eq(dnnq_conv_path(c), "im2col");
	dnnq_conv_destroy(c);
	free_problem(&p);
	make_problem(&r, &p, 1);
	ck_assert_int_eq(dnnq_conv_create(&p.d, &c, NULL), 0);
	ck_assert_str_eq(dnnq_conv_path(c), "depthwise");
	size_t oh, ow;
	dnnq_conv_destroy(c);
	free_problem(&p);
	/* a 3x3 kernel on a 1x1 image with pads 1: one output pixel */
	make_problem(&r, &p, 0);
	p.d.kh = p.d.kw = 3;
	p.d.stride_h = p.d.stride_w = p.d.dil_h = p.d.dil_w = 1;
	p.d.pad_t = p.d.pad_l = p.d.pad_b = p.d.pad_r = 1;
	free(p.wt);
	p.wt = calloc(p.d.cout * 9 * p.d.cin / p.d.groups, 1);
	p.d.w = p.wt;
	ck_assert_int_eq(dnnq_conv_create(&p.d, &c, NULL), 0);
	ck_assert_int_eq(dnnq_conv_output_size(c, 1, 1, &oh, &ow), 0);
	ck_assert(oh == 1 && ow == 1);
	ck_assert_int_eq(dnnq_conv_output_size(c, 0, 1, &oh, &ow), DNNQ_E_SHAPE);
	dnnq_conv_destroy(c);
	/* a kernel larger than the padded input has no output */
	p.d.pad_t = p.d.pad_b = 0;
	ck_assert_int_eq(dnnq_conv_create(&p.d, &c, NULL), 0);
	ck_assert_int_eq(dnnq_conv_output_size(c, 2, 5, &oh, &ow), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_conv_setup(c, 1, 2, 5, p.x, p.x, 1), DNNQ_E_SHAPE);
	dnnq_conv_destroy(c);
	free_problem(&p);
}
END_TEST

START_TEST(bad_descriptions)
{
	struct rng r = { 4 };
	struct cproblem p;
	struct dnnq_conv *c;
	struct dnnq_diag d;
	static const char *want[] = { "groups = 0", "cin = 5", "stride 0x1", "dilation 1x0",
	                              "input qparams", "w_scale[0]", "kernel 0x3" };
	for (int i = 0; i < 7; i++) {
		make_problem(&r, &p, 0);
		switch (i) {
		case 0: p.d.groups = 0; break;
		case 1: p.d.groups = 2; p.d.cin = 5; p.d.cout = 4; break;
		case 2: p.d.stride_h = 0; p.d.stride_w = 1; break;
		case 3: p.d.dil_h = 1; p.d.dil_w = 0; break;
		case 4: p.d.in_qp.scale = -1; break;
		case 5: p.w_scale[0] = 0; break;
		case 6: p.d.kh = 0; p.d.kw = 3; break;
		}
		d.msg[0] = 0;
		ck_assert_int_lt(dnnq_conv_create(&p.d, &c, &d), 0);
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(d.msg, want[i]), "'%s' lacks '%s'", d.msg, want[i]);
		free_problem(&p);
	}
}
END_TEST

/* acc16 (engine/gemm.h) against acc32 on every path: activations and the
 * input zero point (the padding) in 0..15, so no 16-bit sum can saturate
 * within the default spill (16 steps x 2 x 15 x 64 < 32768); weights
 * small (_i even: no outliers) or full range (odd: outliers). Outputs equal
 * bit for bit, scalar and best ISA, 1 and 3 threads. Depthwise ignores
 * acc16 (no GEMM weights). _i / 2: 0 im2col, 1 depthwise, 2 pointwise. */
START_TEST(acc16_matches_acc32)
{
	struct rng r = { 9100 + (uint64_t)_i };
	int kind = _i / 2 % 3;
	bool outliers = _i % 2;
	for (int rep = 0; rep < 6; rep++) {
		struct cproblem p;
		make_problem(&r, &p, kind);
		size_t k = p.d.kh * p.d.kw * p.d.cin / p.d.groups;
		size_t nx = p.n * p.h * p.w * p.d.cin;
		for (size_t i = 0; i < nx; i++)
			p.x[i] = (uint8_t)rng_int(&r, 0, 15);
		for (size_t i = 0; i < p.d.cout * k; i++)
			p.wt[i] = outliers ? (int8_t)rng_int(&r, -128, 127)
			                   : (int8_t)rng_int(&r, -64, 63);
		p.d.in_qp.zero_point = (int32_t)rng_int(&r, 0, 15);
		size_t oh, ow, n = out_elems(&p, &oh, &ow);
		uint8_t *y32 = run(&p, dnnq_isa_best(), 1);
		struct dnnq_conv_desc d32 = p.d;
		p.d.acc16 = true;
		struct dnnq_conv *c;
		p.d.isa = dnnq_isa_best();
		ck_assert_int_eq(dnnq_conv_create(&p.d, &c, NULL), 0);
		const struct dnnq_gemm_weights *w = dnnq_conv_weights(c, 0);
		if (!strcmp(dnnq_conv_path(c), "depthwise")) {
			ck_assert_ptr_null(w);
		} else {
			ck_assert_ptr_nonnull(w);
			ck_assert(w->acc16);
			ck_assert_ptr_null(dnnq_conv_weights(c, p.d.groups));
			size_t outl = 0;
			for (size_t g = 0; g < p.d.groups; g++)
				outl += dnnq_conv_weights(c, g)->outliers;
			ck_assert(outliers ? outl > 0 || p.d.cout * k < 8 : outl == 0);
			if (kind == 2 && p.d.stride_h == 1 && p.d.stride_w == 1) {
				uint64_t ev = 1, adds = 0;
				ck_assert_int_eq(dnnq_gemm_acc16_saturation(w, p.n * p.h * p.w, p.x,
				                                            p.d.cin, &ev, &adds), 0);
				ck_assert_uint_eq(ev, 0);
				ck_assert_uint_gt(adds, 0);
			}
		}
		dnnq_conv_destroy(c);
		uint8_t *y16 = run(&p, dnnq_isa_best(), 1);
		uint8_t *y16s = run(&p, DNNQ_ISA_SCALAR, 1);
		uint8_t *y16t = run(&p, dnnq_isa_best(), 3);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(y16[i] == y32[i] && y16s[i] == y32[i] && y16t[i] == y32[i],
			              "kind %d rep %d: y[%zu] acc16 %u/%u/%u acc32 %u (%s)", kind, rep, i,
			              y16[i], y16s[i], y16t[i], y32[i],
			              d32.groups > 1 ? "groups" : "one group");
		free(y32);
		free(y16);
		free(y16s);
		free(y16t);
		free_problem(&p);
	}
}
END_TEST

/* One convolution set up again and again, as a graph binds it each run
 * (its fields and its GEMM's job are kept where they do not change:
 * DNNQ_KEEP): batches 2, 1, 2 on new buffers each time, on 2, 1, 3 and 2
 * threads (the depthwise middle row's cut and the GEMM's blocks change
 * with them), every output equal to a convolution made for that one run;
 * pointwise ones also chained with a second 1x1 convolution
 * (dnnq_conv_run_chain keeps both jobs), against the two run apart. */
START_TEST(set_up_again)
{
	static const size_t batch[] = { 2, 1, 2, 2 };
	static const unsigned threads[] = { 2, 1, 3, 2 };
	struct rng r = { 7000 + (uint64_t)_i };
	int kind = _i % 4;
	struct cproblem p, q = { 0 };
	make_problem(&r, &p, kind);
	p.n = 2;
	free(p.x);
	p.x = malloc(2 * p.h * p.w * p.d.cin);
	for (size_t i = 0; i < 2 * p.h * p.w * p.d.cin; i++)
		p.x[i] = (uint8_t)rng_int(&r, 0, 255);
	bool chain = kind == 2;
	if (chain) {   /* stride 1: the 1x1 GEMM path; the second reads the first's output */
		p.d.stride_h = p.d.stride_w = 1;
		make_problem(&r, &q, 2);
		q.d.stride_h = q.d.stride_w = 1;
		q.d.cin = p.d.cout;
		free(q.x);
		free(q.wt);
		q.wt = malloc(q.d.cout * q.d.cin);
		for (size_t i = 0; i < q.d.cout * q.d.cin; i++)
			q.wt[i] = (int8_t)rng_int(&r, -128, 127);
		q.d.w = q.wt;
		q.d.in_qp = p.d.out_qp;
		q.h = p.h;
		q.w = p.w;
		q.x = NULL;
	}
	FOR_EACH_ISA(isa) {
		struct dnnq_conv_desc d = p.d, e = q.d;
		d.isa = e.isa = isa;
		struct dnnq_conv *c, *next = NULL;
		ck_assert_int_eq(dnnq_conv_create(&d, &c, NULL), 0);
		if (chain)
			ck_assert_int_eq(dnnq_conv_create(&e, &next, NULL), 0);
		for (size_t k = 0; k < sizeof batch / sizeof *batch; k++) {
			struct cproblem pk = p;
			pk.n = batch[k];
			size_t n = out_bytes(&pk), m = chain ? batch[k] * q.h * q.w * q.d.cout : 0;
			uint8_t *y = malloc(n), *z = malloc(m + 1);
			struct dnnq_pool *pool = threads[k] > 1 ? dnnq_pool_create(threads[k], NULL)
			                                        : NULL;
			struct dnnq_executor ex = pool ? dnnq_pool_executor(pool)
			                               : (struct dnnq_executor){ 0 };
			ck_assert_int_eq(dnnq_conv_setup(c, pk.n, p.h, p.w, p.x, y, threads[k]), 0);
			if (chain) {
				ck_assert_int_eq(dnnq_conv_setup(next, pk.n, q.h, q.w, y, z, threads[k]), 0);
				ck_assert_int_eq(dnnq_conv_run_chain(c, next, pool ? &ex : NULL), 0);
			} else {
				ck_assert_int_eq(dnnq_conv_run(c, pool ? &ex : NULL), 0);
			}
			uint8_t *want = run(&pk, isa, 1);
			ck_assert_msg(!memcmp(want, y, n), "%s, kind %d, run %zu: batch %zu on %u threads "
			              "differs from a new convolution's", dnnq_isa_name(isa), kind, k,
			              pk.n, threads[k]);
			if (chain) {
				struct cproblem qk = q;
				qk.n = pk.n;
				qk.x = want;
				uint8_t *want2 = run(&qk, isa, 1);
				ck_assert_msg(!memcmp(want2, z, m), "%s, run %zu: the chain's second differs",
				              dnnq_isa_name(isa), k);
				free(want2);
			}
			free(want);
			dnnq_pool_destroy(pool);
			free(y);
			free(z);
		}
		dnnq_conv_destroy(next);
		dnnq_conv_destroy(c);
	}
	free_problem(&p);
	free_problem(&q);
}
END_TEST


Suite *suite_conv(void)
{
	Suite *s = suite_create("conv");
	TCase *tc = tcase_create("conv");
	tcase_add_loop_test(tc, random_against_reference, 0, 120);
	tcase_add_loop_test(tc, depthwise_wide, 0, 40);
	tcase_add_loop_test(tc, depthwise_requant_corners, 0, 60);
	tcase_add_loop_test(tc, depthwise_two_pixels, 0, 8);
	tcase_add_loop_test(tc, stem_small_cin, 0, 24);
	tcase_add_loop_test(tc, stem_tile_rows, 0, 200);
	tcase_add_loop_test(tc, stem_winograd, 0, 36);
	tcase_add_loop_test(tc, stem_hostile, 0, 48);
	tcase_add_loop_test(tc, stem_fold_bounds, 0, 3);
	tcase_add_loop_test(tc, stem_fold_mults, 0, 4);
	tcase_add_loop_test(tc, strided_1x1, 0, 48);
	tcase_add_loop_test(tc, im2col_segments, 0, 24);
	tcase_add_loop_test(tc, im2col_bands, 0, 40);
	tcase_add_loop_test(tc, im2col_bands_long_runs, 0, 10);
	tcase_add_loop_test(tc, vnni_paths_random, 0, 40);
	tcase_add_loop_test(tc, winograd_edges, 0, 108);
	tcase_add_loop_test(tc, winograd_fly, 0, 27);
	tcase_add_loop_test(tc, winograd_fly_hostile, 0, 6);
	tcase_add_loop_test(tc, winograd_blocks, 0, 20);
	tcase_add_loop_test(tc, winograd_extremes, 0, 12);
	tcase_add_loop_test(tc, winograd_at_setup, 0, 12);
	tcase_add_test(tc, paths_and_edges);
	tcase_add_test(tc, bad_descriptions);
	tcase_add_loop_test(tc, acc16_matches_acc32, 0, 6);
	tcase_add_loop_test(tc, set_up_again, 0, 16);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}
