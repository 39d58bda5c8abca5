/*
 * engine/conv.h — 2-D convolution on u8 NHWC activations with s8 weights.
 *
 * Weights are OHWI: cout x kh x kw x (cin / groups) (the ONNX importer
 * reorders OIHW once). Any kernel size, stride, dilation, explicit pads
 * (top, left, bottom, right), groups (depthwise: groups == cin == cout),
 * bias, fused ReLU, per-tensor or per-output-channel weights, u8 / s32 / f32
 * output through the same fused pipeline as FC (qlinear.h).
 *
 * Paths, chosen at create:
 *   - 1x1, stride 1, no padding, one group: a GEMM straight on the NHWC
 *     input (every pixel is a row of A already, nothing is copied);
 *   - depthwise: a direct kernel per output row, the output stage fused
 *     (AVX-512 VNNI: 32 channels by 4 taps a step; AVX2: 16 by 2);
 *   - 3x3, stride 1, one group on AVX2, 16 to 512 input channels:
 *     Winograd F(4, 3), exact, its weights transformed at create up to 128
 *     channels and on the fly above (conv-kernels.h; dnnq_conv_path
 *     "winograd");
 *   - first layers (one group, cin <= 4) with 7-tap kernel rows at stride 2
 *     along x on AVX2 (ResNet's stem): a 1-D Winograd along x, exact
 *     (conv-kernels.h; dnnq_conv_path "stem-winograd");
 *   - otherwise: im2col of DNNQ_GEMM_MC output pixels at a time into
 *     per-thread scratch (padding filled with the input zero point, i.e. a
 *     real 0), then the GEMM micro-kernels, group by group; on AVX-512
 *     VNNI kernel rows of a multiple of 4 bytes are read in place (by
 *     segments, symmetric weights), and the other one-group kernels
 *     without dilation taller than their stride (first layers' rows of 3
 *     channels, weights with zero points) copy each input run once per
 *     band of output rows, the im2col rows windows into those runs
 *     (dnnq_conv_path "im2col-bands").
 */
#ifndef DNNQ_ENGINE_CONV_H
#define DNNQ_ENGINE_CONV_H

#include "engine/gemm.h"

/* The largest kernel, stride and dilation of an int8 conv (the depthwise
 * row keeps a pointer per kernel row on the stack) and of an fp32 one
 * (engine/f32.h: im2col only; an STFT's frame of 256 samples). */
#define DNNQ_CONV_MAX_WINDOW 64
#define DNNQ_F32_CONV_MAX_WINDOW 1024

struct dnnq_conv_desc {
	enum dnnq_isa isa;
	size_t cin, cout, groups;
	size_t kh, kw;
	size_t stride_h, stride_w;
	size_t dil_h, dil_w;
	size_t pad_t, pad_l, pad_b, pad_r;
	const int8_t *w;             /* OHWI */
	size_t nwq;                  /* 1 or cout */
	const float *w_scale;
	const int32_t *w_zero_point; /* or NULL */
	const float *bias;           /* optional: cout real values ... */
	const int32_t *bias_i32;     /* ... or int32 at in_scale * w_scale */
	struct dnnq_qparams in_qp;   /* u8 input */
	enum dnnq_dtype out_dtype;   /* U8, S32 or F32 */
	struct dnnq_qparams out_qp;
	enum dnnq_requant_kind requant;
	bool relu;
	bool clip;                   /* fused Clip (ReLU6: 0, 6), u8 output only */
	float clip_min, clip_max;
	/* 16-bit accumulation for the GEMM paths (1x1 and im2col; fc.h): every
	 * group's weights packed by dnnq_gemm_pack_acc16. The depthwise path
	 * does not use the GEMM (its products are summed in int32
	 * already) and ignores it: dnnq_conv_weights returns NULL there. */
	bool acc16;
	struct dnnq_acc16_opts acc16_opts;
	/* Optional: packed weights shared with the other graphs of the same
	 * model (engine/wcache.h), under this key (the node's name). */
	struct dnnq_weights_cache *cache;
	const char *cache_key;
};

struct dnnq_conv;

int dnnq_conv_create(const struct dnnq_conv_desc *desc, struct dnnq_conv **out,
                     struct dnnq_diag *diag);
/* Output height and width for an h x w input; DNNQ_E_SHAPE when the kernel
 * does not fit the padded input. */
int dnnq_conv_output_size(const struct dnnq_conv *conv, size_t h, size_t w,
                          size_t *oh, size_t *ow);
/* Binds an n x h x w x cin input and the n x oh x ow x cout output; nthreads
 * is the executor's thread count (per-thread scratch is sized here). */
int dnnq_conv_setup(struct dnnq_conv *conv, size_t n, size_t h, size_t w,
                    const uint8_t *in, void *out, unsigned nthreads);
int dnnq_conv_run(struct dnnq_conv *conv, const struct dnnq_executor *ex);
/* dnnq_conv_run of conv, then of next, whose input is conv's output as
 * setup bound them: two 1x1 convolutions of stride 1 (dnnq_conv_can_pre)
 * as a GEMM chain (dnnq_gemm_run_chain: a task makes a block of conv's
 * output pixels, then next's of the same pixels, with no join between
 * the two), others one after the other. The bytes are the two runs'. */
int dnnq_conv_run_chain(struct dnnq_conv *conv, struct dnnq_conv *next,
                        const struct dnnq_executor *ex);
/* dnnq_conv_run of conv, a 1x1 convolution of stride 1 (dnnq_conv_can_pre)
 * with no fused input or elementwise node, then of dw, a depthwise one
 * whose input is conv's output as setup bound them (batch 1), then of
 * pw, a 1x1 one with no fused input whose input is dw's output (or
 * NULL): on several threads in one parallel_for of one task a band of
 * dw's output rows, which makes the rows of conv's output the band reads
 * (its own and the halo around it, made again by the band beside it)
 * into the thread's private copy at buf + tid * stride (stride >= conv's
 * output bytes), then the band's rows of dw from it, then the same rows
 * of pw: one fork and join for the three, and no line of the hidden
 * tensor crosses between threads. conv's own output is not written.
 * Else one after the other. dw's and pw's bytes are the runs'. */
int dnnq_conv_run_bands(struct dnnq_conv *conv, struct dnnq_conv *dw, struct dnnq_conv *pw,
                        uint8_t *buf, size_t stride, const struct dnnq_executor *ex);
/* Whether running conv by bands (dnnq_conv_run_bands) is expected to pay
 * on two threads with the vCPUs apart: not on the AVX2 kernels, whose
 * multiply-adds (vpmaddubsw pairs) cost ~2.5x VNNI's, so that the halo
 * rows made again cost as much as the lines and the join they save
 * (mobilenet_v3_small 2 threads 1-2 % slower, docs/graph.md "Bands");
 * the scalar kernels (the oracle) run by bands as VNNI's do. */
bool dnnq_conv_bands_pay(const struct dnnq_conv *conv);
/* Until set again, every output value of the runs goes through table
 * (256 entries, the caller's; NULL: none), applied by each task to what
 * it just stored: an activation fused into the output stage. u8 outputs
 * only (else DNNQ_E_DTYPE). */
int dnnq_conv_set_lut(struct dnnq_conv *conv, const uint8_t *table);
/* Until set again, each task of the runs calls post(ctx, y, n) on each run
 * of n output values at y it just stored (after the table, before the row
 * sums), which may rewrite them in place: an elementwise node fused into
 * the output stage (a residual Add, engine/graph.c: fuse_into_convs). NULL:
 * none. u8 outputs only (else DNNQ_E_DTYPE). */
int dnnq_conv_set_post(struct dnnq_conv *conv,
                       void (*post)(const void *ctx, uint8_t *y, size_t n), const void *ctx);
/* Until set again, each task of the runs first calls pre(ctx, p0, p1) to
 * write the input pixels [p0, p1) it is about to read (pixels counted
 * over the batch): a node the graph fused into the convolution's input
 * (engine/graph.c, fuse_into_inputs). A 1x1 convolution of stride 1 only,
 * whose input is the GEMM's A as it lies (dnnq_conv_can_pre; else
 * DNNQ_E_UNSUPPORTED). NULL: none. */
bool dnnq_conv_can_pre(const struct dnnq_conv *conv);
int dnnq_conv_set_pre(struct dnnq_conv *conv,
                      void (*pre)(const void *ctx, size_t p0, size_t p1), const void *ctx);
/* Until set again, each task of the runs also sums, per channel, the u8
 * values it just stored (after the table) over its output row, so that a
 * global average pool of the output adds n x oh rows of sums instead of
 * reading n x oh x ow pixels (engine/graph.c, fuse_pools). Integer sums:
 * the same whatever the split. The depthwise path with a u8 output only
 * (dnnq_conv_can_sum; else DNNQ_E_UNSUPPORTED). */
bool dnnq_conv_can_sum(const struct dnnq_conv *conv);
int dnnq_conv_set_sums(struct dnnq_conv *conv, bool on);
/* The last run's sums, (n x oh) rows of cout, when set_sums is on; else
 * NULL. Valid until the next setup. */
const uint32_t *dnnq_conv_row_sums(const struct dnnq_conv *conv);
void dnnq_conv_destroy(struct dnnq_conv *conv);

/* The fp32 reference: real-valued NHWC input x (n x h x w x cin) to the
 * real-valued output y (bias and ReLU applied, not quantized), with the
 * dequantized weights: im2col and the fp32 sgemm (engine/f32.h), float
 * accumulation (within 1e-6 relative of double). For the graph's shadow
 * run. One task per (image, group) on ex (NULL: the calling thread), each
 * element computed the same way whatever the thread count. DNNQ_E_NOMEM
 * when its scratch cannot be had. */
int dnnq_conv_reference(const struct dnnq_conv *conv, size_t n, size_t h, size_t w,
                        const float *x, float *y, const struct dnnq_executor *ex);

/* Which path create chose: "gemm-1x1", "depthwise", "winograd",
 * "stem-winograd", "im2col-bands" or "im2col". */
const char *dnnq_conv_path(const struct dnnq_conv *conv);
/* The packed GEMM weights of group g (acc16 state and outlier counts), or
 * NULL on the depthwise path or for g >= groups. */
const struct dnnq_gemm_weights *dnnq_conv_weights(const struct dnnq_conv *conv, size_t g);

#endif
