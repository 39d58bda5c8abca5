/*
 * engine/binary.h — binary elementwise operators with NumPy broadcasting,
 * each one file of engine/ops/ (engine/ops/sub.c is the example):
 *
 *     DNNQ_BINARY_OP(sub, "Sub", 12, a - b, _mm256_sub_ps(a, b))
 *
 * defines the operator `sub` with file code 12 implementing ONNX's Sub:
 * y = a - b on real values. The engine runs it on u8 tensors with
 * per-tensor parameters: each input dequantized, the expression in float,
 * the result quantized to the output's parameters (round half to even,
 * saturated; NaN to 0). The AVX2 kernel evaluates the same float operations
 * in the same order as the scalar one, so results are bit-exact across
 * ISAs; the scalar expression is also the fp32 reference. An fp32 node
 * (precision fp32) evaluates the expression on f32 inputs, AVX2 or scalar,
 * bit-exact to each other too.
 *
 * Broadcasting: the output's shape is the inputs' broadcast (dims aligned
 * to the right, 1 stretches); dims[0] of a non-constant input is the batch;
 * a constant (no batch) broadcasts over it. The kernel walks the output in
 * rows of its innermost contiguous run, splitting rows over threads in
 * fixed chunks.
 */
#ifndef DNNQ_ENGINE_BINARY_H
#define DNNQ_ENGINE_BINARY_H

#include <immintrin.h>

#include "engine/op.h"
#include "engine/quant-scalar.h"

/* The quantization of one binary operator's inputs and output. */
struct dnnq_binary_q {
	float sa, za, sb, zb;      /* input scales and zero points */
	float sy, zy, qmin, qmax;  /* output */
};

/* y[i] = quantize(f(deq_a(a[i * as]), deq_b(b[i * bs]))), i < n; as, bs
 * are 0 (a broadcast scalar) or 1. */
typedef void (*dnnq_binary_row)(const uint8_t *a, size_t as, const uint8_t *b, size_t bs,
                                uint8_t *y, size_t n, const struct dnnq_binary_q *q);
/* The fp32 node's: y[i] = f(a[i * as], b[i * bs]). */
typedef void (*dnnq_binary_row_f32)(const float *a, size_t as, const float *b, size_t bs,
                                    float *y, size_t n);

struct dnnq_binary_impl {
	dnnq_binary_row row[DNNQ_ISA_COUNT];
	dnnq_binary_row_f32 row_f32[DNNQ_ISA_COUNT];
};

/* The graph adapter every binary operator shares, int8 and fp32
 * (engine/binary.c). */
extern const struct node_ops dnnq_binary_ops;

#define DNNQ_BINARY_ATTRS (DNNQ_A_OUT_QP | DNNQ_A(DNNQ_A_PRECISION))

#define DNNQ_BINARY_DEF(NAME, ONNX, KIND, EXPR, EXPR_AVX2, OPS)                             \
static float NAME##_f32(float a, float b)                                                  \
{                                                                                          \
	return EXPR;                                                                       \
}                                                                                          \
static void NAME##_row_scalar(const uint8_t *pa, size_t as, const uint8_t *pb, size_t bs,  \
                              uint8_t *y, size_t n, const struct dnnq_binary_q *q)         \
{                                                                                          \
	for (size_t i = 0; i < n; i++) {                                                   \
		float a = ((float)pa[i * as] - q->za) * q->sa;                             \
		float b = ((float)pb[i * bs] - q->zb) * q->sb;                             \
		y[i] = (uint8_t)dnnq_saturate_rne((EXPR) / q->sy, q->zy, q->qmin, q->qmax); \
	}                                                                                  \
}                                                                                          \
__attribute__((target("avx2")))                                                            \
static __m256 NAME##_load_avx2(const uint8_t *p, size_t s, __m256 z, __m256 sc)            \
{                                                                                          \
	__m256 v = s ? _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(            \
	                   (const __m128i *)p)))                                           \
	             : _mm256_set1_ps((float)p[0]);                                        \
	return _mm256_mul_ps(_mm256_sub_ps(v, z), sc);                                     \
}                                                                                          \
__attribute__((target("avx2")))                                                            \
static void NAME##_row_avx2(const uint8_t *pa, size_t as, const uint8_t *pb, size_t bs,    \
                            uint8_t *y, size_t n, const struct dnnq_binary_q *q)           \
{                                                                                          \
	const __m256 za = _mm256_set1_ps(q->za), sa = _mm256_set1_ps(q->sa);               \
	const __m256 zb = _mm256_set1_ps(q->zb), sb = _mm256_set1_ps(q->sb);               \
	const __m256 sy = _mm256_set1_ps(q->sy), zy = _mm256_set1_ps(q->zy);               \
	const __m256 lo = _mm256_set1_ps(q->qmin), hi = _mm256_set1_ps(q->qmax);           \
	size_t i = 0;                                                                      \
	for (; i + 8 <= n; i += 8) {                                                       \
		__m256 a = NAME##_load_avx2(pa + i * as, as, za, sa);                      \
		__m256 b = NAME##_load_avx2(pb + i * bs, bs, zb, sb);                      \
		__m256 v = _mm256_div_ps((EXPR_AVX2), sy);                                 \
		v = _mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT |           \
		                                     _MM_FROUND_NO_EXC), zy);               \
		v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);                               \
		__m256i w = _mm256_cvtps_epi32(v);                                         \
		__m128i h = _mm_packs_epi32(_mm256_castsi256_si128(w),                     \
		                            _mm256_extracti128_si256(w, 1));               \
		_mm_storel_epi64((__m128i *)(y + i), _mm_packus_epi16(h, h));              \
	}                                                                                  \
	NAME##_row_scalar(pa + i * as, as, pb + i * bs, bs, y + i, n - i, q);              \
}                                                                                          \
static void NAME##_rowf_scalar(const float *pa, size_t as, const float *pb, size_t bs,     \
                               float *y, size_t n)                                         \
{                                                                                          \
	for (size_t i = 0; i < n; i++) {                                                   \
		float a = pa[i * as], b = pb[i * bs];                                      \
		y[i] = (EXPR);                                                             \
	}                                                                                  \
}                                                                                          \
__attribute__((target("avx2")))                                                            \
static void NAME##_rowf_avx2(const float *pa, size_t as, const float *pb, size_t bs,       \
                             float *y, size_t n)                                           \
{                                                                                          \
	size_t i = 0;                                                                      \
	for (; i + 8 <= n; i += 8) {                                                       \
		__m256 a = as ? _mm256_loadu_ps(pa + i) : _mm256_set1_ps(pa[0]);           \
		__m256 b = bs ? _mm256_loadu_ps(pb + i) : _mm256_set1_ps(pb[0]);           \
		_mm256_storeu_ps(y + i, (EXPR_AVX2));                                      \
	}                                                                                  \
	NAME##_rowf_scalar(pa + i * as, as, pb + i * bs, bs, y + i, n - i);                \
}                                                                                          \
static const struct dnnq_binary_impl NAME##_impl = {                                       \
	.row = { [DNNQ_ISA_SCALAR] = NAME##_row_scalar, [DNNQ_ISA_AVX2] = NAME##_row_avx2, \
	         [DNNQ_ISA_AVX512VNNI] = NAME##_row_avx2 },                                \
	.row_f32 = { [DNNQ_ISA_SCALAR] = NAME##_rowf_scalar,                               \
	             [DNNQ_ISA_AVX2] = NAME##_rowf_avx2,                                   \
	             [DNNQ_ISA_AVX512VNNI] = NAME##_rowf_avx2 },                           \
};                                                                                         \
const struct dnnq_op_def dnnq_op_##NAME = {                                                \
	.kind = KIND, .name = #NAME, .onnx = ONNX, .min_inputs = 2, .max_inputs = 2,       \
	.attrs = DNNQ_BINARY_ATTRS, .build = dnnq_binary_build, .ops = OPS,                \
	.ops_f32 = &dnnq_binary_ops,    .f32 = NAME##_f32, .impl = &NAME##_impl,          \
}

/* The lanes of x that are true as a bool (≠ 0, NaN too): And, Or, Xor. */
#define DNNQ_BINARY_TRUE8(x) _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NEQ_UQ)

/* The AVX2 form of an operator without vector arithmetic (Mod's): f on
 * each of the 8 lanes, so that every ISA gives the scalar kernel's bits. */
__attribute__((target("avx2"))) static inline __m256 dnnq_binary_lanes8(
	__m256 a, __m256 b, float (*f)(float, float))
{
	float x[8], y[8];
	_mm256_storeu_ps(x, a);
	_mm256_storeu_ps(y, b);
	for (int i = 0; i < 8; i++)
		x[i] = f(x[i], y[i]);
	return _mm256_loadu_ps(x);
}

#define DNNQ_BINARY_OP(NAME, ONNX, KIND, EXPR, EXPR_AVX2)                                  \
	DNNQ_BINARY_DEF(NAME, ONNX, KIND, EXPR, EXPR_AVX2, &dnnq_binary_ops)

/* A binary operator with no int8 node: the lowering runs it fp32 whatever
 * the options say (a selection, whose output holds one input's values
 * exactly, not a range calibration saw). */
#define DNNQ_BINARY_OP_FP32(NAME, ONNX, KIND, EXPR, EXPR_AVX2)                             \
	DNNQ_BINARY_DEF(NAME, ONNX, KIND, EXPR, EXPR_AVX2, NULL)

/* The build every binary operator shares: the output's parameters. */
int dnnq_binary_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                      struct dnnq_diag *diag);

#endif
