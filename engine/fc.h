/*
 * engine/fc.h — the fully connected operator, Y = X * W^T + b (W is N x K,
 * the Caffe2 FC convention; ONNX Gemm with transB = 1 maps directly, with
 * transB = 0 the importer transposes B once at conversion).
 *
 * create -> setup -> run: create validates the description and packs the
 * weights (model load), setup binds the batch size and the buffers, run only
 * computes. Modes:
 *   - static: U8 input with the model's activation qparams, or F32 input
 *     quantized on the fly with them;
 *   - dynamic (DNNLOWP's dequantize_output): F32 input whose range is
 *     measured per call over the whole batch; 8-bit asymmetric activations.
 * Output U8 (requantized with out_qp, float or fixed-point multiplier), S32
 * (corrected accumulators) or F32 (dequantized). Weights per tensor or per
 * output channel; bias real-valued (float) or int32 at in_scale * w_scale;
 * fused ReLU.
 */
#ifndef DNNQ_ENGINE_FC_H
#define DNNQ_ENGINE_FC_H

#include "engine/gemm.h"

struct dnnq_fc_desc {
	enum dnnq_isa isa;
	size_t n, k;                 /* output and input features */
	const int8_t *w;             /* n x k, row-major */
	size_t nwq;                  /* 1 (per tensor) or n (per output channel) */
	const float *w_scale;        /* nwq entries */
	const int32_t *w_zero_point; /* nwq entries, or NULL for symmetric */
	const float *bias;           /* optional, n real values ... */
	const int32_t *bias_i32;     /* ... or int32 at in_scale * w_scale (static only) */
	enum dnnq_dtype in_dtype;    /* U8 or F32 */
	bool dynamic;                /* F32 input: per-call activation range */
	struct dnnq_qparams in_qp;   /* static: the activations' parameters */
	enum dnnq_dtype out_dtype;   /* U8, S32 or F32 */
	struct dnnq_qparams out_qp;  /* U8 output */
	enum dnnq_requant_kind requant;
	bool relu;
	bool clip;                   /* fused Clip (ReLU6: 0, 6), u8 output only */
	float clip_min, clip_max;
	/* 16-bit accumulation (docs/gemm.md): the weights are split into a
	 * small main part run with saturating int16 sums and a sparse outlier
	 * part; exact unless an int16 partial sum saturates. */
	bool acc16;
	struct dnnq_acc16_opts acc16_opts;
	/* Optional: packed weights shared with the other graphs of the same
	 * model (engine/wcache.h), under this key (the node's name). */
	struct dnnq_weights_cache *cache;
	const char *cache_key;
};

struct dnnq_fc;

int dnnq_fc_create(const struct dnnq_fc_desc *desc, struct dnnq_fc **out,
                   struct dnnq_diag *diag);
/* Binds batch rows of input (batch x k, in_dtype) and output (batch x n). */
int dnnq_fc_setup(struct dnnq_fc *fc, size_t batch, const void *in, void *out);
int dnnq_fc_run(struct dnnq_fc *fc, const struct dnnq_executor *ex);
/* The activation parameters the last run used (dynamic mode reports its
 * choice; static mode returns in_qp). */
struct dnnq_qparams dnnq_fc_input_qparams(const struct dnnq_fc *fc);
/* The packed weights: acc16, acc16_nbits, acc16_spill, outliers and
 * outlier_density say how the layer accumulates. */
const struct dnnq_gemm_weights *dnnq_fc_weights(const struct dnnq_fc *fc);
/* The fp32 reference: real-valued x (batch x k) to real-valued y (batch x n),
 * dequantized weights, bias and ReLU, in double precision; one task per
 * row on ex (NULL: the calling thread). */
int dnnq_fc_reference(const struct dnnq_fc *fc, size_t batch, const float *x, float *y,
                      const struct dnnq_executor *ex);
void dnnq_fc_destroy(struct dnnq_fc *fc);

#endif
