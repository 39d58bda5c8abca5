/*
 * engine/f32-kernels.h — the interface between engine/f32.c (the operators,
 * the scalar kernels) and engine/f32-avx2.c, not for callers.
 *
 * Every kernel but gemm and dw does the same float operations in the same
 * order in both ISAs (the AVX2 ones hand what is left past the last full
 * vector to the scalar ones), so `isa` never changes their results; gemm
 * (OpenBLAS for AVX2, engine/f32-avx512vnni.c's own for the convolutions
 * and FCs of AVX-512 hosts) and dw (FMA for AVX2 and AVX-512, but for the
 * channels past AVX2's last 8) round differently.
 */
#ifndef DNNQ_ENGINE_F32_KERNELS_H
#define DNNQ_ENGINE_F32_KERNELS_H

#include <math.h>

#include "engine/f32.h"

/* A window of taps inside the image: nh x nw taps from x, sh floats apart
 * down and sw across; each tap holds channels [0, c). */
struct dnnq_f32_win {
	const float *x;
	size_t nh, nw, sh, sw;
};

/* exp(x): Cody-Waite reduction by n * ln 2 (ln 2 in two parts, the first
 * exact in a product with n), a degree-5 polynomial (Cephes' expf), then
 * 2^n in two halves (so that 2^128 and results below 2^-126 are reached).
 * No FMA: the scalar and AVX2 versions round identically. Inputs are
 * clamped to [EXP_LO, EXP_HI]: above EXP_HI the result is +inf (expf
 * overflows), at EXP_LO it has underflowed to 0 already; NaN propagates. */
#define DNNQ_F32_EXP_HI 88.72283172607421875f   /* the largest x with finite expf */
#define DNNQ_F32_EXP_LO -104.0f
#define DNNQ_F32_LOG2E 1.44269504088896341f
#define DNNQ_F32_LN2_HI 0.693359375f
#define DNNQ_F32_LN2_LO -2.12194440e-4f
#define DNNQ_F32_EXP_P0 1.9875691500e-4f
#define DNNQ_F32_EXP_P1 1.3981999507e-3f
#define DNNQ_F32_EXP_P2 8.3334519073e-3f
#define DNNQ_F32_EXP_P3 4.1665795894e-2f
#define DNNQ_F32_EXP_P4 1.6666665459e-1f
#define DNNQ_F32_EXP_P5 5.0000001201e-1f
/* tanh for |x| < DNNQ_F32_TANH_SMALL: x + x^3 * P(x^2) (Cephes' tanhf);
 * above it 1 - 2 / (exp(2|x|) + 1) with x's sign. */
#define DNNQ_F32_TANH_SMALL 0.625f
#define DNNQ_F32_TANH_P0 -5.70498872745e-3f
#define DNNQ_F32_TANH_P1 2.06390887954e-2f
#define DNNQ_F32_TANH_P2 -5.37397155531e-2f
#define DNNQ_F32_TANH_P3 1.33314422036e-1f
#define DNNQ_F32_TANH_P4 -3.33332819422e-1f

float dnnq_f32_exp(float x);

/* The table of isa (the scalar one when the CPU lacks isa), for operators
 * outside engine/f32.c (engine/ops/convtranspose.c, engine/ops/matmul.c). */
const struct dnnq_f32_kernels *dnnq_f32_kernels_of(enum dnnq_isa isa);

/* A product's epilogue: y += bias (NULL: none; the product's first
 * column's), then ReLU when relu, then Clip to [clip->min, clip->max]
 * (NULL: none). */
struct dnnq_f32_epi {
	const float *bias;
	bool relu;
	const struct dnnq_act_params *clip;
};

struct dnnq_f32_kernels {
	/* c[i][j] = sum_p a[i][p] * b[j][p]: m x k times (n x k)^T, row-major */
	void (*gemm)(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
	             size_t ldb, float *c, size_t ldc);
	/* c[i][j] = sum_p a[i][p] * b[p][j]: m x k times k x n, row-major */
	void (*gemm_nn)(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b,
	                size_t ldb, float *c, size_t ldc);
	/* c = a times B packed (DNNQ_F32_NR panels, below), then epi's
	 * epilogue, for the convolutions' and FCs' constant weights; NULL:
	 * they use gemm_nn, gemm and epi */
	void (*gemm_pk)(size_t m, size_t n, size_t k, const float *a, size_t lda,
	                const float *bp, float *c, size_t ldc, const struct dnnq_f32_epi *epi);
	/* y[ch] = sum over the window's taps of x * w (w: the first tap's c
	 * weights; wsh, wsw floats to the next row's, the next column's) */
	void (*dw)(const struct dnnq_f32_win *win, const float *w, size_t wsh, size_t wsw,
	           size_t c, float *y);
	/* y = the max (the mean: sum in tap order / count) of a window with taps */
	void (*maxpool)(const struct dnnq_f32_win *win, size_t c, float *y);
	void (*avgpool)(const struct dnnq_f32_win *win, size_t c, float count, float *y);
	/* n elements: x[k] advances when full[k], else x[k][0] serves all */
	void (*ew)(enum dnnq_eltwise_op op, size_t ninputs, const float *const x[],
	           const bool full[], size_t n, float *y);
	void (*act)(enum dnnq_activation_kind kind, const struct dnnq_act_params *p,
	            const float *x, float *y, size_t n);
	/* logsm: LogSoftmax's y = (x - max) - log(sum) instead */
	void (*softmax_row)(const float *x, float *y, size_t c, bool logsm);
	/* y = a * x + b (b may be NULL: y = a * x) */
	void (*ewlin)(const float *a, const float *b, const float *x, float *y, size_t n);
	/* a product's epilogue in place, one pass: y += bias (NULL: none), then
	 * ReLU when relu, then Clip to [clip->min, clip->max] (NULL: none) */
	void (*epi)(const float *bias, bool relu, const struct dnnq_act_params *clip, float *y,
	            size_t n);
};

/* The AVX-512 product's packed B: panels of DNNQ_F32_NR columns, each k x
 * DNNQ_F32_NR floats (row kk of panel p: columns p * NR .. p * NR + NR - 1
 * at kk), zero past the matrix's n columns; 64-byte aligned. */
#define DNNQ_F32_NR 32
/* The fewest columns (a convolution's group's, an FC's, a MatMul's
 * constant B's) worth panels: fewer multiply through the table's gemm or
 * gemm_nn, their panels mostly zeros (one column's would hold and stream
 * 32 times its weights; the timings at dnnq_f32_conv_create). */
#define DNNQ_F32_PK_MIN_N (DNNQ_F32_NR / 2)
/* c (m x n, ldc) = a (m x k, lda) times B (k x n, packed in bp: panel
 * p at bp + p * DNNQ_F32_NR * k), each sum an FMA chain in k order, then
 * epi's epilogue as its epi kernel does it. */
void dnnq_f32_gemm_pk_avx512(size_t m, size_t n, size_t k, const float *a, size_t lda,
                             const float *bp, float *c, size_t ldc,
                             const struct dnnq_f32_epi *epi);
/* The floats of n columns' panels of depth k. */
size_t dnnq_f32_panel_floats(size_t n, size_t k);
/* src's n x k rows (B transposed; groups of n / groups rows, each its own
 * panels) packed into out: groups * dnnq_f32_panel_floats(n / groups, k)
 * floats. */
void dnnq_f32_pack_panels(const float *src, size_t n, size_t k, size_t groups, float *out);

void dnnq_f32_maxpool_scalar(const struct dnnq_f32_win *win, size_t c, float *y);
void dnnq_f32_maxpool_avx2(const struct dnnq_f32_win *win, size_t c, float *y);
void dnnq_f32_avgpool_scalar(const struct dnnq_f32_win *win, size_t c, float count, float *y);
void dnnq_f32_avgpool_avx2(const struct dnnq_f32_win *win, size_t c, float count, float *y);
void dnnq_f32_dw_scalar(const struct dnnq_f32_win *win, const float *w, size_t wsh,
                        size_t wsw, size_t c, float *y);
void dnnq_f32_dw_avx2(const struct dnnq_f32_win *win, const float *w, size_t wsh,
                      size_t wsw, size_t c, float *y);
void dnnq_f32_dw_avx512(const struct dnnq_f32_win *win, const float *w, size_t wsh,
                        size_t wsw, size_t c, float *y);
void dnnq_f32_ew_scalar(enum dnnq_eltwise_op op, size_t ninputs, const float *const x[],
                        const bool full[], size_t n, float *y);
void dnnq_f32_ew_avx2(enum dnnq_eltwise_op op, size_t ninputs, const float *const x[],
                      const bool full[], size_t n, float *y);
void dnnq_f32_act_scalar(enum dnnq_activation_kind kind, const struct dnnq_act_params *p,
                         const float *x, float *y, size_t n);
void dnnq_f32_act_avx2(enum dnnq_activation_kind kind, const struct dnnq_act_params *p,
                       const float *x, float *y, size_t n);
/* Softmax's row: the max, e = exp(x - max) summed in double into lane
 * i % 8, the lanes reduced by dnnq_softmax_sum8 (eltwise.h), y = e * (float)(1 / sum). */
/* LogSoftmax's log of the sum, the lanes reduced as Softmax's. */
static inline double dnnq_log_sum8(const double s[8])
{
	return log(dnnq_softmax_sum8(s));
}
void dnnq_f32_softmax_row_scalar(const float *x, float *y, size_t c, bool logsm);
void dnnq_f32_softmax_row_avx2(const float *x, float *y, size_t c, bool logsm);
void dnnq_f32_ewlin_scalar(const float *a, const float *b, const float *x, float *y, size_t n);
void dnnq_f32_ewlin_avx2(const float *a, const float *b, const float *x, float *y, size_t n);
void dnnq_f32_epi_scalar(const float *bias, bool relu, const struct dnnq_act_params *clip,
                         float *y, size_t n);
void dnnq_f32_epi_avx2(const float *bias, bool relu, const struct dnnq_act_params *clip,
                       float *y, size_t n);

#endif
