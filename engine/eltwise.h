/*
 * engine/eltwise.h — the elementwise, activation and data-movement operators
 * of the DNNLOWP set, for u8 activations in NHWC layout (the channel is the
 * last dimension, so "per channel" means "index modulo C"):
 *
 *   eltwise      Add, Mul, Sum (2..16 inputs), SumRelu; each input and the
 *                output with their own qparams; inputs 1.. may be full-size,
 *                a scalar or a per-channel vector
 *   activation   Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid,
 *                HardSwish: a 256-entry table built at create
 *   convert      Quantize (f32 -> u8), Dequantize (u8 -> f32), also with the
 *                NCHW <-> NHWC transposition of a model's edges
 *   softmax      u8 -> f32 along the last axis
 *   elementwise_linear  y = a[c] * x + b[c] (an unfolded BatchNorm)
 *   concat       along any axis, up to 16 inputs
 *
 * Every operator follows create -> setup -> run -> destroy (engine/fc.h):
 * create validates the description and precomputes what it can, setup binds
 * the sizes and the buffers, run only computes. run takes an optional
 * executor and splits the work into fixed chunks, so results never depend on
 * the thread count. Failures in create and setup write one line naming the
 * field to the optional diag; a failed setup unbinds the previous one (run
 * then does nothing). One operator object serves one run at a time.
 *
 * Arithmetic: the quantized operators compute in float in a fixed order,
 * then round with dnnq_saturate_rne (quant-scalar.h); the AVX2 kernels do the
 * same operations in the same order, so `isa` never changes a result. The
 * fp32 reference functions (*_ref) define what each operator approximates;
 * the output is within 1 LSB of quantize(ref(dequantize(inputs))) (the
 * tables of the activations and of Concat's requantization make it exact).
 * Add and Sum lose that bound only when an input/output scale ratio exceeds
 * ~2^15 and terms cancel: then float rounding of the terms shows.
 */
#ifndef DNNQ_ENGINE_ELTWISE_H
#define DNNQ_ENGINE_ELTWISE_H

#include "engine/executor.h"
#include "engine/quant.h"

#define DNNQ_ELTWISE_MAX_INPUTS 16
#define DNNQ_CONCAT_MAX_INPUTS 16
#define DNNQ_CONCAT_MAX_DIMS 8

/* ---- Add, Mul, Sum, SumRelu ------------------------------------------- */

enum dnnq_eltwise_op {
	DNNQ_ELTWISE_ADD = 0,      /* 2 inputs: ma*(a-za) + mb*(b-zb), m = s/sy */
	DNNQ_ELTWISE_MUL = 1,      /* 2 inputs: (sa*sb/sy) * ((a-za)*(b-zb)) */
	DNNQ_ELTWISE_SUM = 2,      /* 2..16 inputs: the terms of Add, summed in input order */
	DNNQ_ELTWISE_SUM_RELU = 3, /* Sum, clamped below at the output zero point */
};

enum dnnq_broadcast {
	DNNQ_BCAST_NONE = 0,       /* full size: n elements */
	DNNQ_BCAST_SCALAR = 1,     /* 1 element */
	DNNQ_BCAST_CHANNEL = 2,    /* `channels` elements; element i uses i % channels */
};

struct dnnq_eltwise_desc {
	enum dnnq_isa isa;
	enum dnnq_eltwise_op op;
	size_t ninputs;            /* 2 for Add and Mul, 2..16 for Sum and SumRelu */
	size_t channels;           /* C, needed when an input is per-channel */
	struct dnnq_qparams in_qp[DNNQ_ELTWISE_MAX_INPUTS];   /* u8 */
	enum dnnq_broadcast bcast[DNNQ_ELTWISE_MAX_INPUTS];   /* input 0: NONE */
	struct dnnq_qparams out_qp;                           /* u8 */
};

struct dnnq_eltwise;

int dnnq_eltwise_create(const struct dnnq_eltwise_desc *desc, struct dnnq_eltwise **out,
                        struct dnnq_diag *diag);
/* n output elements (a multiple of channels when an input is per-channel);
 * in[k] holds n, 1 or channels elements as bcast[k] says. out may be the
 * very buffer of a full-size input (in place), not a partial overlap. */
int dnnq_eltwise_setup(struct dnnq_eltwise *op, size_t n, const uint8_t *const in[],
                       uint8_t *out, struct dnnq_diag *diag);
int dnnq_eltwise_run(struct dnnq_eltwise *op, const struct dnnq_executor *ex);
/* Whether every input is full-size (no broadcast term to precompute), so
 * that dnnq_eltwise_run_at computes what dnnq_eltwise_run does. */
bool dnnq_eltwise_full_size(const struct dnnq_eltwise *op);
/* Output elements [y, y + n) of the bound setup (y within its output) on
 * the calling thread, each the bytes dnnq_eltwise_run gives it: the
 * output stage of the node that makes an input (dnnq_conv_set_post),
 * with op a full-size one (dnnq_eltwise_full_size). */
void dnnq_eltwise_run_at(const void *op, uint8_t *y, size_t n);
void dnnq_eltwise_destroy(struct dnnq_eltwise *op);

/* fp32 reference: y[i] = op(in[0][i], in[1][j1], ...), j = i, 0 or i % channels. */
void dnnq_eltwise_ref(enum dnnq_eltwise_op op, size_t ninputs, const float *const in[],
                      const enum dnnq_broadcast bcast[], size_t channels, size_t n,
                      float *y);

/* ---- table activations ------------------------------------------------- */

enum dnnq_activation_kind {
	DNNQ_ACT_RELU = 0,         /* max(x, 0) */
	DNNQ_ACT_CLIP = 1,         /* min(max(x, min), max) */
	DNNQ_ACT_LEAKY_RELU = 2,   /* x >= 0 ? x : alpha * x */
	DNNQ_ACT_SIGMOID = 3,      /* 1 / (1 + exp(-x)) */
	DNNQ_ACT_TANH = 4,
	DNNQ_ACT_HARD_SIGMOID = 5, /* max(0, min(1, alpha * x + beta)) (ONNX) */
	DNNQ_ACT_HARD_SWISH = 6,   /* x * max(0, min(1, x / 6 + 0.5)) */
	DNNQ_ACT_ELU = 7,          /* x > 0 ? x : alpha * (e^x - 1) */
	DNNQ_ACT_SELU = 8,         /* beta (ONNX's gamma) * (x > 0 ? x : alpha * (e^x - 1)) */
	DNNQ_ACT_CELU = 9,         /* x > 0 ? x : alpha * (e^(x / alpha) - 1), alpha != 0 */
	DNNQ_ACT_SHRINK = 10,      /* x < -alpha ? x + beta : x > alpha ? x - beta : 0 (ONNX's
	                              Shrink: lambd, bias) */
	DNNQ_ACT_THRESHOLDED_RELU = 11, /* x > alpha ? x : 0 */
};
#define DNNQ_ACT_LAST DNNQ_ACT_THRESHOLDED_RELU

struct dnnq_act_params {
	float alpha, beta;         /* LeakyRelu, Elu, Celu, ThresholdedRelu: alpha;
	                              HardSigmoid: alpha, beta; Selu: alpha, beta =
	                              gamma; Shrink: alpha = lambd, beta = bias */
	float min, max;            /* Clip */
};

struct dnnq_activation_desc {
	enum dnnq_isa isa;
	enum dnnq_activation_kind kind;
	struct dnnq_act_params p;
	struct dnnq_qparams in_qp, out_qp;   /* u8 */
};

struct dnnq_activation;

int dnnq_activation_create(const struct dnnq_activation_desc *desc,
                           struct dnnq_activation **out, struct dnnq_diag *diag);
int dnnq_activation_setup(struct dnnq_activation *op, size_t n, const uint8_t *in,
                          uint8_t *out, struct dnnq_diag *diag);
int dnnq_activation_run(struct dnnq_activation *op, const struct dnnq_executor *ex);
/* table[q] = quantize_out(f(dequantize_in(q))), 256 entries. */
const uint8_t *dnnq_activation_table(const struct dnnq_activation *op);
void dnnq_activation_destroy(struct dnnq_activation *op);

/* Whether p suits kind (alpha, beta finite where the kind reads them;
 * Celu's alpha not 0; Clip's min <= max): 0, or DNNQ_E_RANGE (DNNQ_E_INVAL
 * for a kind that is none) with a message naming the parameter into why. */
int dnnq_activation_check_params(enum dnnq_activation_kind kind,
                                 const struct dnnq_act_params *p, char *why, size_t cap);

/* fp32 reference: the function the table samples. */
float dnnq_activation_fn(enum dnnq_activation_kind kind, const struct dnnq_act_params *p,
                         float x);
void dnnq_activation_ref(enum dnnq_activation_kind kind, const struct dnnq_act_params *p,
                         const float *x, float *y, size_t n);

/* ---- Quantize, Dequantize ---------------------------------------------- */

/* The NCHW kinds are the edges of a model imported from ONNX: its f32 side
 * keeps ONNX's [N, C, H, W], the u8 side is the engine's [N, H, W, C]; each
 * element is quantized (dequantized) exactly as the plain kinds do it. */
enum dnnq_convert_kind {
	DNNQ_CONVERT_QUANTIZE = 0,        /* f32 -> u8 */
	DNNQ_CONVERT_DEQUANTIZE = 1,      /* u8 -> f32 */
	DNNQ_CONVERT_QUANTIZE_NCHW = 2,   /* f32 [N, C, H, W] -> u8 [N, H, W, C] */
	DNNQ_CONVERT_DEQUANTIZE_NCHW = 3, /* u8 [N, H, W, C] -> f32 [N, C, H, W] */
	/* f32 to f32, values unchanged: the edges of an fp32 region at a
	 * model's NCHW input or output (qp unused) */
	DNNQ_CONVERT_TO_NHWC = 4,         /* f32 [N, C, H, W] -> f32 [N, H, W, C] */
	DNNQ_CONVERT_TO_NCHW = 5,         /* f32 [N, H, W, C] -> f32 [N, C, H, W] */
	/* int8 and uint8 of the same real values (q + 128, zero point + 128):
	 * an int8 graph input or output; qp is the u8 side's */
	DNNQ_CONVERT_S8_TO_U8 = 6,
	DNNQ_CONVERT_U8_TO_S8 = 7,
	/* integers to f32, ONNX's Cast: an s32 input as it is, a u8 input
	 * minus qp's zero point (the node's own qp, scale 1: 128 for int8
	 * stored as uint8), whatever the input's qparams say */
	DNNQ_CONVERT_CAST = 8,
};

/* Whether kind writes the NHWC layout from an NCHW input. */
static inline bool dnnq_convert_to_nhwc(enum dnnq_convert_kind kind)
{
	return kind == DNNQ_CONVERT_QUANTIZE_NCHW || kind == DNNQ_CONVERT_TO_NHWC;
}

struct dnnq_convert_desc {
	enum dnnq_isa isa;
	enum dnnq_convert_kind kind;
	struct dnnq_qparams qp;       /* of the u8 side */
	bool from_s32;                /* CAST: the input is s32 (the graph sets it) */
};

struct dnnq_convert;

int dnnq_convert_create(const struct dnnq_convert_desc *desc, struct dnnq_convert **out,
                        struct dnnq_diag *diag);
/* n elements; for the NCHW kinds the same as dnnq_convert_setup_nchw(op, n,
 * 1, 1, ...), where both layouts coincide. */
int dnnq_convert_setup(struct dnnq_convert *op, size_t n, const void *in, void *out,
                       struct dnnq_diag *diag);
/* batch x channels x spatial elements (spatial = H * W): the NCHW kinds
 * transpose between [batch, channels, spatial] (f32) and [batch, spatial,
 * channels] (u8); for the plain kinds only the product counts. */
int dnnq_convert_setup_nchw(struct dnnq_convert *op, size_t batch, size_t channels,
                            size_t spatial, const void *in, void *out, struct dnnq_diag *diag);
int dnnq_convert_run(struct dnnq_convert *op, const struct dnnq_executor *ex);
void dnnq_convert_destroy(struct dnnq_convert *op);
/* "quantize", "dequantize", "quantize_nchw", "dequantize_nchw", "to_nhwc",
 * "to_nchw", "s8_to_u8", "u8_to_s8"; NULL for another value. */
const char *dnnq_convert_kind_name(enum dnnq_convert_kind kind);

/* fp32 reference: the kind's layout change (the plain kinds copy), values
 * unchanged; y must not overlap x. */
void dnnq_convert_ref(enum dnnq_convert_kind kind, size_t batch, size_t channels,
                      size_t spatial, const float *x, float *y);

/* ---- Softmax ------------------------------------------------------------ */

struct dnnq_softmax_desc {
	enum dnnq_isa isa;
	size_t channels;              /* the last dimension, >= 1 */
	struct dnnq_qparams in_qp;    /* u8 */
};

struct dnnq_softmax;

int dnnq_softmax_create(const struct dnnq_softmax_desc *desc, struct dnnq_softmax **out,
                        struct dnnq_diag *diag);
/* rows x channels u8 in, rows x channels f32 out. */
int dnnq_softmax_setup(struct dnnq_softmax *op, size_t rows, const uint8_t *in, float *out,
                       struct dnnq_diag *diag);
int dnnq_softmax_run(struct dnnq_softmax *op, const struct dnnq_executor *ex);
void dnnq_softmax_destroy(struct dnnq_softmax *op);

/* fp32 reference (accumulated in double): y = exp(x - max) / sum, per row. */
void dnnq_softmax_ref(const float *x, float *y, size_t rows, size_t channels);

/* ---- ElementwiseLinear -------------------------------------------------- */

struct dnnq_elementwise_linear_desc {
	enum dnnq_isa isa;
	size_t channels;              /* C >= 1 */
	const float *a;               /* C multipliers (copied) */
	const float *b;               /* C offsets, or NULL for 0 (copied) */
	struct dnnq_qparams in_qp, out_qp;   /* u8 */
};

struct dnnq_elementwise_linear;

int dnnq_elementwise_linear_create(const struct dnnq_elementwise_linear_desc *desc,
                                   struct dnnq_elementwise_linear **out,
                                   struct dnnq_diag *diag);
/* n elements, a multiple of channels; out may equal in. */
int dnnq_elementwise_linear_setup(struct dnnq_elementwise_linear *op, size_t n,
                                  const uint8_t *in, uint8_t *out, struct dnnq_diag *diag);
int dnnq_elementwise_linear_run(struct dnnq_elementwise_linear *op,
                                const struct dnnq_executor *ex);
void dnnq_elementwise_linear_destroy(struct dnnq_elementwise_linear *op);

/* fp32 reference: y[i] = a[c] * x[i] + b[c], c = i % channels (b may be NULL). */
void dnnq_elementwise_linear_ref(const float *x, const float *a, const float *b, float *y,
                                 size_t n, size_t channels);

/* ---- Concat ------------------------------------------------------------- */

struct dnnq_concat_desc {
	enum dnnq_isa isa;
	size_t ninputs;               /* 1..16 */
	size_t ndims;                 /* 1..8 */
	size_t axis;                  /* < ndims; ndims - 1 is the channel axis */
	struct dnnq_qparams in_qp[DNNQ_CONCAT_MAX_INPUTS];    /* u8 */
	struct dnnq_qparams out_qp;                           /* u8 */
};

struct dnnq_concat;

int dnnq_concat_create(const struct dnnq_concat_desc *desc, struct dnnq_concat **out,
                       struct dnnq_diag *diag);
/* dims[k]: input k's ndims dimensions; they agree except along axis. */
int dnnq_concat_setup(struct dnnq_concat *op, const size_t *const dims[],
                      const uint8_t *const in[], uint8_t *out, struct dnnq_diag *diag);
int dnnq_concat_run(struct dnnq_concat *op, const struct dnnq_executor *ex);
/* The output dimensions of the last setup (ndims entries). */
void dnnq_concat_output_dims(const struct dnnq_concat *op, size_t *dims);
/* Whether input k is copied as is (its qparams equal the output's). */
bool dnnq_concat_input_copied(const struct dnnq_concat *op, size_t k);
void dnnq_concat_destroy(struct dnnq_concat *op);

/* fp32 reference: the same concatenation of float tensors. */
void dnnq_concat_ref(size_t ninputs, const size_t *const dims[], size_t ndims, size_t axis,
                     const float *const in[], float *out);

/* ---- kernels: internal, shared by eltwise.c and eltwise-avx2.c ---------- */

/* Add/Mul/Sum over elements [i0, i1). Input k is full-size (x[k]) or
 * broadcast, its term precomputed per period index (pre[k]; element i uses
 * pre[k][i % period]). Add/Sum: t = term0 + term1 + ..., term = m*(x - z).
 * Mul: t = mout * (term0 * term1), term = (float)(x - z). */
struct dnnq_ew_kernel {
	size_t ninputs;
	bool mul;
	const uint8_t *x[DNNQ_ELTWISE_MAX_INPUTS];
	const float *pre[DNNQ_ELTWISE_MAX_INPUTS];
	float m[DNNQ_ELTWISE_MAX_INPUTS];
	int32_t z[DNNQ_ELTWISE_MAX_INPUTS];
	float mout, zy, qmin, qmax;
	size_t period;
	uint8_t *y;
};

/* ElementwiseLinear over [i0, i1): t = mult[j] * (float)(x - zx) + add[j],
 * j = i % period. */
struct dnnq_ewlin_kernel {
	const uint8_t *x;
	uint8_t *y;
	const float *mult, *add;
	size_t period;
	int32_t zx;
	float zy, qmin, qmax;
};

void dnnq_ew_scalar(const struct dnnq_ew_kernel *k, size_t i0, size_t i1);
void dnnq_ew_avx2(const struct dnnq_ew_kernel *k, size_t i0, size_t i1);
/* The two-input Add of full-size inputs 64 elements a step, the rest
 * dnnq_ew_avx2's (eltwise-avx512vnni.c) */
void dnnq_ew_avx512vnni(const struct dnnq_ew_kernel *k, size_t i0, size_t i1);
void dnnq_ewlin_scalar(const struct dnnq_ewlin_kernel *k, size_t i0, size_t i1);
void dnnq_ewlin_avx2(const struct dnnq_ewlin_kernel *k, size_t i0, size_t i1);
/* y[i] = table[x[i]] */
void dnnq_lut_scalar(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n);
void dnnq_lut_avx2(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n);
/* AVX512_VBMI's where the CPU has it, else dnnq_lut_avx2 (eltwise-avx512vnni.c) */
void dnnq_lut_avx512vnni(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n);
/* One softmax row: texp[d] = exp(-scale * d), e[i] = texp[max - x[i]], summed
 * in double into lane i % 8 (the AVX2 lanes), the lanes then reduced by
 * dnnq_softmax_sum8; y = e * (float)(1 / sum). */
static inline double dnnq_softmax_sum8(const double s[8])
{
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* Quantize / Dequantize with the NCHW transposition, on the rectangle of
 * image `img`: positions [p0, p1) (of spatial) by channels [c0, c1).
 * Quantize reads f32 x[(img * channels + c) * spatial + p] and writes u8
 * y[(img * spatial + p) * channels + c]; Dequantize the reverse. Each element
 * is dnnq_quantize_1 / dnnq_dequantize_1 of it; the AVX2 kernels transpose
 * 8 x 8 blocks, take the channels left over 8 positions at a time and
 * leave the last positions to the scalar kernels. */
struct dnnq_nchw_kernel {
	const void *x;
	void *y;
	size_t channels, spatial;
	float scale, zp, qmax;        /* u8: qmin 0 */
	int32_t izp;
};

void dnnq_quantize_nchw_scalar(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
                               size_t p1, size_t c0, size_t c1);
void dnnq_quantize_nchw_avx2(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
                             size_t p1, size_t c0, size_t c1);
/* an RGB image 16 positions a step with AVX512_VBMI, else the AVX2 kernel
 * (eltwise-avx512vnni.c) */
void dnnq_quantize_nchw_avx512vnni(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
                                   size_t p1, size_t c0, size_t c1);
void dnnq_dequantize_nchw_scalar(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
                                 size_t p1, size_t c0, size_t c1);
void dnnq_dequantize_nchw_avx2(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
                               size_t p1, size_t c0, size_t c1);

void dnnq_softmax_row_scalar(const float texp[256], const uint8_t *x, float *y, size_t n);
void dnnq_softmax_row_avx2(const float texp[256], const uint8_t *x, float *y, size_t n);

#endif
