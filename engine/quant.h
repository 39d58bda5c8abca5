/*
 * engine/quant.h — the quantization core: choosing parameters, quantizing,
 * dequantizing and requantizing. docs/quantization.md gives the math.
 *
 * Affine quantization: real = scale * (q - zero_point), q an integer of
 * `precision` bits (1..16), signed or unsigned. Quantize follows the ONNX
 * QuantizeLinear rule: q = saturate(round_half_even(x / scale) + zero_point).
 *
 * Each kernel has a scalar reference and an AVX2 version; `isa` picks one and
 * the results are bit-identical (tests/test_quant.c checks it).
 */
#ifndef DNNQ_ENGINE_QUANT_H
#define DNNQ_ENGINE_QUANT_H

#include "engine/base.h"

#define DNNQ_MAX_PRECISION 16

struct dnnq_qparams {
	float scale;         /* finite, > 0 */
	int32_t zero_point;  /* within [qmin, qmax] */
	uint8_t precision;   /* bits, 1..DNNQ_MAX_PRECISION */
	bool is_signed;
};

/* Integer range of `precision`-bit values: 1..32 bits signed, 1..31 unsigned. */
static inline int32_t dnnq_qmin(unsigned precision, bool is_signed)
{
	return is_signed ? (int32_t)-((int64_t)1 << (precision - 1)) : 0;
}

static inline int32_t dnnq_qmax(unsigned precision, bool is_signed)
{
	return (int32_t)(((int64_t)1 << (precision - !!is_signed)) - 1);
}

enum dnnq_qscheme {
	/* [min, max], widened to contain 0, mapped onto [qmin, qmax]; the zero
	 * point is rounded to the nearest integer so 0.0 is exact. */
	DNNQ_QSCHEME_ASYMMETRIC = 0,
	/* [-a, a] with a = max(|min|, |max|) onto [-qmax, qmax] around the zero
	 * point (0 when signed, 2^(precision-1) when unsigned):
	 * scale = a / (2^(precision-1) - 1). */
	DNNQ_QSCHEME_SYMMETRIC = 1,
	/* Symmetric when the range has both signs, else asymmetric with 0 at the
	 * end of the range (zero_point = qmin or qmax), so zeros (ReLU outputs,
	 * pruned weights) stay exactly zero and the range is not halved. */
	DNNQ_QSCHEME_PRESERVE_SPARSITY = 2,
};

struct dnnq_qspec {
	enum dnnq_qscheme scheme;
	uint8_t precision;   /* 1..16 */
	bool is_signed;
	bool reduce_range;   /* use one bit less than `precision` (e.g. 7-bit
	                        activations, so u8 x s8 pairs cannot saturate
	                        16-bit sums) */
};

/* Parameters for real values in [min, max]. A zero-width range gets scale 1.
 * Fails with DNNQ_E_RANGE for non-finite or inverted bounds, DNNQ_E_INVAL for
 * a bad spec. */
int dnnq_choose_qparams(float min, float max, const struct dnnq_qspec *spec,
                        struct dnnq_qparams *out, struct dnnq_diag *diag);

/* Whether `qp` is usable with storage `dt` (U8, S8, S32, PACKED): scale finite
 * and positive, precision fits the storage, zero point in range. */
int dnnq_qparams_check(const struct dnnq_qparams *qp, enum dnnq_dtype dt,
                       struct dnnq_diag *diag);

/* Min and max of x[0..n) ignoring NaNs; both 0 when n == 0 or all NaN. */
void dnnq_minmax(const float *x, size_t n, float *min, float *max);

/* q[i] = quantize(x[i]); q has type dt (U8, S8 or S32). */
int dnnq_quantize(enum dnnq_isa isa, const float *x, void *q, enum dnnq_dtype dt,
                  size_t n, const struct dnnq_qparams *qp);
/* x[i] = scale * (q[i] - zero_point); q has type dt (U8, S8 or S32). */
int dnnq_dequantize(enum dnnq_isa isa, const void *q, enum dnnq_dtype dt,
                    float *x, size_t n, const struct dnnq_qparams *qp);

/*
 * Requantization of int32 accumulators to 8-bit outputs.
 *   FLOAT (as FBGEMM): q = clamp(round_half_even((float)acc * m) + zp)
 *   FIXED (as gemmlowp): m = M0 * 2^-31 * 2^-shift with M0 in [2^30, 2^31);
 *     q = clamp(RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc,
 *         M0), shift) + zp), bit for bit gemmlowp's rounding.
 * Real multipliers for FIXED must lie in [2^-32, 1).
 */
enum dnnq_requant_kind {
	DNNQ_REQUANT_FLOAT = 0,
	DNNQ_REQUANT_FIXED = 1,
};

struct dnnq_fixedpoint {
	int32_t multiplier;  /* Q31, in [2^30, 2^31) */
	int32_t shift;       /* right shift, 0..31 */
};

int dnnq_fixedpoint_from_real(double real, struct dnnq_fixedpoint *out);

/* Requantization of a rows x cols matrix; column c uses channel c when
 * nchan == cols (per output channel), channel 0 when nchan == 1. */
struct dnnq_requant {
	enum dnnq_requant_kind kind;
	size_t nchan;
	const float *fmult;      /* FLOAT: nchan multipliers */
	const int32_t *qmult;    /* FIXED: nchan Q31 multipliers ... */
	const int32_t *qshift;   /* ... and right shifts (struct of arrays for SIMD) */
	int32_t zero_point;
	int32_t qmin, qmax;                 /* output clamp (ReLU raises qmin) */
};

/* Whether rq is usable for `cols` columns of 8-bit output dt. */
int dnnq_requant_check(enum dnnq_dtype dt, size_t cols, const struct dnnq_requant *rq);

/* out (U8 or S8, row-major rows x cols) = requantize(acc). */
int dnnq_requantize(enum dnnq_isa isa, const int32_t *acc, void *out,
                    enum dnnq_dtype dt, size_t rows, size_t cols,
                    const struct dnnq_requant *rq);

/* Error measures between a reference and an approximation of n values:
 * SQNR = 10 log10(sum ref^2 / sum (ref - x)^2) in dB (+inf when equal). */
double dnnq_sqnr_db(const float *ref, const float *x, size_t n);
double dnnq_l2_error(const float *ref, const float *x, size_t n);  /* sqrt(sum d^2) */
double dnnq_l1_error(const float *ref, const float *x, size_t n);  /* sum |d| */
double dnnq_max_abs_error(const float *ref, const float *x, size_t n);

#endif
