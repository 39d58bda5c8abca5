/*
 * engine/qlinear.h — the output side of a quantized linear operator (FC,
 * convolution): weight scales and zero points, bias, and the requantization
 * constants, turned into a struct dnnq_gemm_output. The constants depend on
 * the activation scale: static operators bind once at create, dynamic ones
 * on every run.
 */
#ifndef DNNQ_ENGINE_QLINEAR_H
#define DNNQ_ENGINE_QLINEAR_H

#include <math.h>

#include "engine/gemm.h"

struct dnnq_qlinear_desc {
	const char *op;              /* operator name for messages ("fc", "conv") */
	size_t n;                    /* output channels */
	size_t nwq;                  /* 1 (per tensor) or n (per output channel) */
	const float *w_scale;        /* nwq entries */
	const int32_t *w_zero_point; /* nwq entries, or NULL for symmetric */
	const float *bias;           /* optional, n real values ... */
	const int32_t *bias_i32;     /* ... or int32 at in_scale * w_scale */
	enum dnnq_dtype out_dtype;   /* U8, S32 or F32 */
	struct dnnq_qparams out_qp;  /* U8 output */
	enum dnnq_requant_kind requant;
	bool relu;                   /* clamp the output at real 0 */
	bool clip;                   /* clamp the output to [clip_min, clip_max] (u8 out) */
	float clip_min, clip_max;
};

struct dnnq_qlinear {
	struct dnnq_qlinear_desc d;  /* pointer fields point at the copies below */
	float *w_scale;
	int32_t *w_zp;
	float *bias;
	int32_t *bias_i32;
	int32_t *ibias;              /* the bias in the accumulator domain */
	float *fmult, *oscale;
	int32_t *qmult, *qshift;
	int32_t *wsum;               /* per channel weight sums, once set */
	size_t k;                    /* the weights' reduction length */
	int32_t *colterm;            /* out.colterm, computed by bind */
	struct dnnq_gemm_output out;
};

/* Checks d (messages name the field, prefixed with d->op) and copies it. */
int dnnq_qlinear_init(struct dnnq_qlinear *q, const struct dnnq_qlinear_desc *d,
                      struct dnnq_diag *diag);
/* The packed weights' per-channel sums and K (n entries, copied): with them
 * bind also folds bias and zero-point terms into out.colterm. */
int dnnq_qlinear_set_weight_sums(struct dnnq_qlinear *q, const int32_t *wsum, size_t k);
/* Computes the constants for activations with parameters in_qp. */
int dnnq_qlinear_bind(struct dnnq_qlinear *q, const struct dnnq_qparams *in_qp,
                      struct dnnq_diag *diag);
/* The output pipeline of channels [j0, j0 + count) (a convolution group). */
struct dnnq_gemm_output dnnq_qlinear_slice(const struct dnnq_qlinear *q, size_t j0,
                                           size_t count);
/* The fused activation on a real value: ReLU and / or clip. */
float dnnq_qlinear_activate(const struct dnnq_qlinear_desc *d, double v);
/* Real-valued weight W[j][.] = w_scale * (q - zw) and bias of channel j, for
 * fp32 references; in_scale converts an int32 bias. */
float dnnq_qlinear_weight(const struct dnnq_qlinear *q, size_t j, int8_t v);
float dnnq_qlinear_bias(const struct dnnq_qlinear *q, size_t j, float in_scale);
/* Whether an f32 bias is an int32 in the accumulator's domain at scale (the
 * input's times the channel's weight scale): what bind asks of a layer
 * with integer outputs, and what dnnq-convert checks before choosing int8. */
static inline bool dnnq_qlinear_bias_fits(double bias, double scale)
{
	return fabs(nearbyint(bias / scale)) <= 2147483647.0;
}
void dnnq_qlinear_free(struct dnnq_qlinear *q);

#endif
