/*
 * engine/pooling.h — MaxPool, AveragePool and GlobalAveragePool on u8
 * activations in NHWC layout (N x H x W x C, channels last), as ONNX defines
 * them (2-D, explicit pads).
 *
 * Geometry. Output pixel (oh, ow) reads the taps
 *     h = oh * stride_h - pad_top  + i * dilation_h,   i < kernel_h
 *     w = ow * stride_w - pad_left + j * dilation_w,   j < kernel_w
 * and only taps inside the image contribute a value (padding never does).
 * With extent = (kernel - 1) * dilation + 1 and pads = pad_begin + pad_end:
 *     out = floor((in + pads - extent) / stride) + 1            (ceil_mode off)
 *     out = ceil((in + pads - extent) / stride) + 1             (ceil_mode on)
 * and in ceil mode a last window that would start in the end padding (or
 * past it), (out - 1) * stride >= in + pad_begin, is dropped (ONNX opset 22's
 * rule, PyTorch's and ONNX Runtime's). The output must have a row and a
 * column (in ceil mode the padded input may fall short of the extent by less
 * than a stride: kernels bigger than the padded input are valid then); pads
 * must be smaller than the extent.
 *
 * MaxPool: y = max of the window's taps, in the input's quantization (the max
 * commutes with a monotone dequantization, so the result is exact).
 * AveragePool, GlobalAveragePool: with the integer sum s = sum(x - zx) over
 * the window's taps (exact in int32) and count taps,
 *     y = saturate(round_half_even((float)s * m) + zy),  m = sx / (sy * count)
 * (m rounded once to float, from a double quotient). count is the number of
 * taps inside the image, or with count_include_pad those inside the padded
 * image [-pad_begin, in + pad_end): taps a ceil-mode window puts beyond the
 * end padding never count (PyTorch's and ONNX Runtime's divisor).
 * A window with no tap in the image, which only dilation can produce (e.g.
 * in = 1, kernel 2, dilation 3, pads 1 and 2), gives qmin for MaxPool (ONNX
 * Runtime's lowest()) and zy, the real 0, for AveragePool.
 *
 * Each operator follows create -> setup -> run like fc.h: create validates
 * the description (one-line diagnostics naming the field) and picks the
 * kernel for `isa`; setup binds the shape and the buffers (input and output
 * must not overlap) and computes the output size; run computes, in parallel
 * through an executor when given one. Work is split by output rows (per
 * image for GlobalAveragePool, by channel blocks) in chunks of a fixed size,
 * and every output element is computed by one task in one fixed order, so
 * results never depend on the thread count; the AVX2 kernels are
 * bit-identical to the scalar ones.
 */
#ifndef DNNQ_ENGINE_POOLING_H
#define DNNQ_ENGINE_POOLING_H

#include "engine/executor.h"
#include "engine/quant.h"

/* Window geometry shared by MaxPool and AveragePool. All fields are required:
 * kernel, stride and dilation >= 1 (dilation 1 means none), pads >= 0 and
 * smaller than the kernel extent of their axis. */
struct dnnq_pooling_geom {
	int32_t kernel_h, kernel_w;
	int32_t stride_h, stride_w;
	int32_t pad_top, pad_left, pad_bottom, pad_right;
	int32_t dilation_h, dilation_w;
	bool ceil_mode;
};

/* Output height and width for an in_h x in_w input (shape inference):
 * DNNQ_E_RANGE / DNNQ_E_INVAL for a bad geometry, DNNQ_E_SHAPE when no
 * window fits (or the input is empty). */
int dnnq_pooling_output_size(const struct dnnq_pooling_geom *g, size_t in_h, size_t in_w,
                             size_t *out_h, size_t *out_w, struct dnnq_diag *diag);

/* engine/ops/maxpool_indices.c's op: ONNX's storage_order 1 (the index
 * counts w * H + h in a plane; 0: h * W + w). */
#define DNNQ_POOL_INDICES_COLUMNS 1u

/* MaxPool: output qparams = input qparams (u8 storage, 1-8 bits). */
struct dnnq_maxpool_desc {
	enum dnnq_isa isa;
	struct dnnq_pooling_geom geom;
	struct dnnq_qparams qp;
};

struct dnnq_maxpool;

int dnnq_maxpool_create(const struct dnnq_maxpool_desc *desc, struct dnnq_maxpool **out,
                        struct dnnq_diag *diag);
/* Binds an n x h x w x c input and its n x out_h x out_w x c output;
 * DNNQ_E_SHAPE when the output would be empty. n may be 0. A failed setup
 * leaves the operator unbound: run then returns DNNQ_E_INVAL. */
int dnnq_maxpool_setup(struct dnnq_maxpool *op, size_t n, size_t h, size_t w, size_t c,
                       const uint8_t *in, uint8_t *out);
int dnnq_maxpool_run(struct dnnq_maxpool *op, const struct dnnq_executor *ex);
void dnnq_maxpool_destroy(struct dnnq_maxpool *op);

/* AveragePool: input and output have their own qparams. */
struct dnnq_avgpool_desc {
	enum dnnq_isa isa;
	struct dnnq_pooling_geom geom;
	bool count_include_pad;
	struct dnnq_qparams in_qp, out_qp;
};

struct dnnq_avgpool;

int dnnq_avgpool_create(const struct dnnq_avgpool_desc *desc, struct dnnq_avgpool **out,
                        struct dnnq_diag *diag);
/* As dnnq_maxpool_setup; also DNNQ_E_RANGE when a window could hold more
 * than DNNQ_AVGPOOL_MAX_TAPS image taps (the int32 sum must stay exact). */
int dnnq_avgpool_setup(struct dnnq_avgpool *op, size_t n, size_t h, size_t w, size_t c,
                       const uint8_t *in, uint8_t *out);
int dnnq_avgpool_run(struct dnnq_avgpool *op, const struct dnnq_executor *ex);
void dnnq_avgpool_destroy(struct dnnq_avgpool *op);

#define DNNQ_AVGPOOL_MAX_TAPS (INT32_MAX / 255)

struct dnnq_gavgpool;

/* fp32 references (the graph's shadow run): real-valued NHWC x to y over the
 * operator's windows and counts; max of the taps, or their mean. An empty
 * window (only dilation makes one) gives 0. */
int dnnq_maxpool_reference(const struct dnnq_maxpool *op, size_t n, size_t h, size_t w,
                           size_t c, const float *x, float *y);
int dnnq_avgpool_reference(const struct dnnq_avgpool *op, size_t n, size_t h, size_t w,
                           size_t c, const float *x, float *y);
int dnnq_gavgpool_reference(const struct dnnq_gavgpool *op, size_t n, size_t h, size_t w,
                            size_t c, const float *x, float *y);

/* GlobalAveragePool: n x h x w x c -> n x 1 x 1 x c. */
struct dnnq_gavgpool_desc {
	enum dnnq_isa isa;
	struct dnnq_qparams in_qp, out_qp;
};

struct dnnq_gavgpool;

int dnnq_gavgpool_create(const struct dnnq_gavgpool_desc *desc, struct dnnq_gavgpool **out,
                         struct dnnq_diag *diag);
/* DNNQ_E_RANGE when h * w > DNNQ_AVGPOOL_MAX_TAPS. */
int dnnq_gavgpool_setup(struct dnnq_gavgpool *op, size_t n, size_t h, size_t w, size_t c,
                        const uint8_t *in, uint8_t *out);
/* The pool of sums taken where the input was made (dnnq_conv_set_sums):
 * row_sums holds, per image and input row (n x h), each channel's sum over
 * the row's w pixels; run adds them up instead of reading the input. */
int dnnq_gavgpool_setup_sums(struct dnnq_gavgpool *op, size_t n, size_t h, size_t w, size_t c,
                             const uint32_t *row_sums, uint8_t *out);
int dnnq_gavgpool_run(struct dnnq_gavgpool *op, const struct dnnq_executor *ex);
void dnnq_gavgpool_destroy(struct dnnq_gavgpool *op);

/*
 * Kernels: the interface between pooling.c and pooling-avx2.c, not for
 * callers. A window is nh x nw taps (the ones inside the image) starting at
 * x, sh bytes apart down and sw bytes apart across; a kernel reduces channels
 * [0, c) of every tap into y[0, c). The AVX2 kernels hand channels past the
 * last full vector to the scalar ones, so no result depends on where a
 * channel falls.
 */
struct dnnq_pooling_win {
	const uint8_t *x;
	size_t nh, nw, sh, sw;
};

/* AveragePool output step for one window: y = saturate(rintf((float)(sum -
 * nzx) * mult) + zy) with nzx = taps * zx (dnnq_saturate_rne's rules). */
struct dnnq_avgpool_k {
	int32_t nzx;
	float mult, zy, qmin, qmax;
};

/* One axis of a window geometry, and the window of output position o on it
 * for an input of length in: the first tap inside the input, how many taps
 * are inside it, and how many inside the padded input (the divisor of
 * count_include_pad). Shared with the fp32 twins (engine/f32.c). */
struct dnnq_pooling_axis {
	int64_t k, s, p0, p1, d;
};

struct dnnq_pooling_span {
	int64_t first, n, count;
};

void dnnq_pooling_axes(const struct dnnq_pooling_geom *g, struct dnnq_pooling_axis ax[2]);
struct dnnq_pooling_span dnnq_pooling_window(const struct dnnq_pooling_axis *a, int64_t o,
                                             int64_t in);

void dnnq_maxpool_kernel_scalar(const struct dnnq_pooling_win *win, size_t c, uint8_t *y);

/* A max pool's output row: its windows take nh input rows from x (the
 * first one's column 0, at the row's first channel), sh bytes apart; along
 * the width, output column o takes the input columns of window o of axis
 * ax on w of them, sw bytes apart (the image's channel count, also the
 * output's pixel stride). A row kernel reduces channels [0, c) of every
 * output pixel into y (the row's first pixel): the scalar one window by
 * window (the pixel kernel), the AVX2 one taking an input column's max
 * over the rows once where two windows share it (3x3 stride 2: 2 new
 * columns of 3 a window, in a loop of its own). A max is exact in any
 * order: the same bytes. */
struct dnnq_pooling_row {
	const uint8_t *x;
	size_t nh, sh, sw, w, ow;
	struct dnnq_pooling_axis ax;
};

void dnnq_maxpool_row_scalar(const struct dnnq_pooling_row *row, size_t c, uint8_t *y);
void dnnq_maxpool_row_avx2(const struct dnnq_pooling_row *row, size_t c, uint8_t *y);
/* The sums of channels [0, c) over the window's taps, mod 2^32 (exact
 * for at most 2^24 taps): an average's sums, and a depthwise convolution's
 * row sums for a global pool of its output (dnnq_conv_set_sums). */
void dnnq_pool_sums_scalar(const struct dnnq_pooling_win *win, size_t c, uint32_t *sum);
void dnnq_pool_sums_avx2(const struct dnnq_pooling_win *win, size_t c, uint32_t *sum);
void dnnq_avgpool_kernel_scalar(const struct dnnq_pooling_win *win, size_t c,
                                const struct dnnq_avgpool_k *k, uint8_t *y);
void dnnq_avgpool_kernel_avx2(const struct dnnq_pooling_win *win, size_t c,
                              const struct dnnq_avgpool_k *k, uint8_t *y);

#endif
