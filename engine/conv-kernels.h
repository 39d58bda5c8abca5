/*
 * engine/conv-kernels.h — the convolution object, shared by conv.c (create,
 * setup, run, the scalar and im2col paths) and conv-avx2.c (the depthwise
 * kernel).
 */
#ifndef DNNQ_ENGINE_CONV_KERNELS_H
#define DNNQ_ENGINE_CONV_KERNELS_H

#include "engine/conv.h"
#include "engine/gemm-kernels.h"
#include "engine/qlinear.h"

enum dnnq_conv_path {
	DNNQ_CONV_GEMM_1X1,
	DNNQ_CONV_DEPTHWISE,
	DNNQ_CONV_IM2COL,
};

struct dnnq_conv {
	struct dnnq_conv_desc d;          /* pointer fields are not kept */
	enum dnnq_conv_path path;
	size_t cing, coutg;               /* channels per group */
	size_t k;                         /* kh * kw * cing: one im2col row */
	struct dnnq_gemm_weights *gw;     /* packed weights, one set per group */
	struct dnnq_qlinear q;
	struct dnnq_gemm_output *gout;    /* the output pipeline of each group */
	/* depthwise: weights widened to int16, tap-major: dw_w[t * cpad + c] */
	int16_t *dw_w;
	size_t cpad;                      /* cout rounded up to 16 */
	struct dnnq_gemm_weights dw_sums; /* only row_sums (per channel) and k (taps) */
	bool borrowed;                    /* gw, dw_w, dw_sums.row_sums: the cache's */
	/* bound by setup */
	size_t n, h, w, oh, ow;
	const uint8_t *in;
	void *out;
	size_t out_es;                    /* output element size */
	size_t nsplit;                    /* im2col: column chunks per pixel block */
	uint8_t **scratch;                /* per thread */
	unsigned nscratch;
	size_t scratch_bytes;
};

/* Depthwise sums of output row (image, oy): acc[ox * cout + c] = sum over taps
 * of x * w with padded taps reading the input zero point; xsum likewise sums
 * x (only when weights have zero points; else NULL). */
void dnnq_dw_row_scalar(const struct dnnq_conv *c, size_t img, size_t oy, int32_t *acc,
                        int32_t *xsum);
void dnnq_dw_row_avx2(const struct dnnq_conv *c, size_t img, size_t oy, int32_t *acc,
                      int32_t *xsum);

/* Input row of tap ky for output row oy, or -1 when it falls in the padding. */
static inline ptrdiff_t dnnq_conv_iy(const struct dnnq_conv *c, size_t oy, size_t ky)
{
	ptrdiff_t iy = (ptrdiff_t)(oy * c->d.stride_h + ky * c->d.dil_h) - (ptrdiff_t)c->d.pad_t;
	return iy >= 0 && iy < (ptrdiff_t)c->h ? iy : -1;
}

static inline ptrdiff_t dnnq_conv_ix(const struct dnnq_conv *c, size_t ox, size_t kx)
{
	ptrdiff_t ix = (ptrdiff_t)(ox * c->d.stride_w + kx * c->d.dil_w) - (ptrdiff_t)c->d.pad_l;
	return ix >= 0 && ix < (ptrdiff_t)c->w ? ix : -1;
}

/* Depthwise sum (and input sum) of one output pixel and channel: the
 * scalar step both kernels use (the AVX2 one for its channel tail). */
static inline void dnnq_dw_one(const struct dnnq_conv *c, const uint8_t *image, size_t oy,
                               size_t ox, size_t ch, int32_t *sum, int32_t *xsum)
{
	const int32_t zx = c->d.in_qp.zero_point;
	size_t cout = c->d.cout, kw = c->d.kw;
	int32_t s = 0, xs = 0;
	for (size_t ky = 0; ky < c->d.kh; ky++) {
		ptrdiff_t iy = dnnq_conv_iy(c, oy, ky);
		for (size_t kx = 0; kx < kw; kx++) {
			ptrdiff_t ix = dnnq_conv_ix(c, ox, kx);
			int32_t x = iy < 0 || ix < 0 ? zx
			          : image[((size_t)iy * c->w + (size_t)ix) * cout + ch];
			s += x * c->dw_w[(ky * kw + kx) * c->cpad + ch];
			xs += x;
		}
	}
	*sum = s;
	*xsum = xs;
}

#endif
