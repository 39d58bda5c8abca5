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
 * in the same order as the scalar one up to the quotient by the output's
 * scale, then rounds and clamps in another order to the same integers
 * (dnnq_binary_q8), so results are bit-exact across ISAs; the scalar
 * expression is also the fp32 reference. An fp32 node
 * (precision fp32) evaluates the expression on f32 inputs, AVX2 or scalar,
 * bit-exact to each other too.
 *
 * Broadcasting: the output's shape is the inputs' broadcast (dims aligned
 * to the right, 1 stretches); dims[0] of a non-constant input is the batch;
 * a constant (no batch) broadcasts over it. The kernel walks the output in
 * rows of its innermost contiguous run, splitting rows over threads in
 * fixed chunks; a kernel call takes a run of rows (struct
 * dnnq_binary_rows), and the AVX2 kernel dequantizes an input whose row is
 * the same in every row of the run (a squeeze-and-excitation scale) once
 * per 32 columns, not once per row.
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

/* One run of rows: row r < rows reads a + r * ars and b + r * brs and
 * writes y + r * n, y[i] = quantize(f(deq_a(a[i * as]), deq_b(b[i * bs]))),
 * i < n; as, bs are 0 (a broadcast scalar) or 1. A run is the rows along
 * the walk's second innermost dim (engine/binary.c): a per-channel
 * squeeze-and-excitation scale of a 56x56x16 map is one run of 3136 rows of
 * 16, not 3136 calls. */
struct dnnq_binary_rows {
	const uint8_t *a, *b;
	size_t as, bs, ars, brs;
	uint8_t *y;
	size_t n, rows;
};
typedef void (*dnnq_binary_row)(const struct dnnq_binary_rows *r, const struct dnnq_binary_q *q);
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

/* The AVX2 kernels' constants and steps. */
struct dnnq_binary_avx2 {
	__m256 za, sa, zb, sb, sy, top;   /* top: qmax - zy */
	__m256i zy, qmin;
};

__attribute__((target("avx2"))) static inline struct dnnq_binary_avx2 dnnq_binary_avx2_of(
	const struct dnnq_binary_q *q)
{
	return (struct dnnq_binary_avx2){
		_mm256_set1_ps(q->za), _mm256_set1_ps(q->sa), _mm256_set1_ps(q->zb),
		_mm256_set1_ps(q->sb), _mm256_set1_ps(q->sy), _mm256_set1_ps(q->qmax - q->zy),
		_mm256_set1_epi32((int32_t)q->zy), _mm256_set1_epi32((int32_t)q->qmin) };
}

/* 8 inputs at p (s = 1; s = 0: p[0] broadcast) dequantized. */
__attribute__((target("avx2"))) static inline __m256 dnnq_binary_load8(const uint8_t *p,
                                                                      size_t s, __m256 z,
                                                                      __m256 sc)
{
	__m256 v = s ? _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)))
	             : _mm256_set1_ps((float)p[0]);
	return _mm256_mul_ps(_mm256_sub_ps(v, z), sc);
}

/* dnnq_saturate_rne of 8 values (zy, qmin, qmax integral; qmin >= 0 >= -zy):
 * clamped above to qmax - zy first (NaN stays NaN: vminps returns its
 * second operand), rounded to nearest even by vcvtps2dq (NaN and values
 * below -2^31 to INT32_MIN), zy added, clamped below as an integer; the
 * same integers as rintf, the addition and both clamps in float. */
__attribute__((target("avx2"))) static inline __m256i dnnq_binary_q8(
	__m256 v, const struct dnnq_binary_avx2 *k)
{
	__m256i w = _mm256_cvtps_epi32(_mm256_min_ps(k->top, v));
	return _mm256_max_epi32(_mm256_add_epi32(w, k->zy), k->qmin);
}

/* Four of dnnq_binary_q8's vectors (values in [0, 255]) as 32 bytes in
 * order. */
__attribute__((target("avx2"))) static inline __m256i dnnq_binary_pack32(const __m256i w[4])
{
	__m256i b = _mm256_packus_epi16(_mm256_packs_epi32(w[0], w[1]),
	                                _mm256_packs_epi32(w[2], w[3]));
	return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* The first 8 nv bytes of four vectors (nv 1-4; w[nv..3] are not read). */
__attribute__((target("avx2"))) static inline void dnnq_binary_store(uint8_t *y, const __m256i w[4],
                                                                    size_t nv)
{
	if (nv == 1) {
		__m128i h = _mm_packs_epi32(_mm256_castsi256_si128(w[0]),
		                            _mm256_extracti128_si256(w[0], 1));
		_mm_storel_epi64((__m128i *)y, _mm_packus_epi16(h, h));
		return;
	}
	const __m256i z = _mm256_setzero_si256();
	const __m256i v[4] = { w[0], w[1], nv > 2 ? w[2] : z, nv > 3 ? w[3] : z };
	__m256i b = dnnq_binary_pack32(v);
	if (nv == 4) {
		_mm256_storeu_si256((__m256i *)y, b);
		return;
	}
	_mm_storeu_si128((__m128i *)y, _mm256_castsi256_si128(b));
	if (nv == 3)
		_mm_storel_epi64((__m128i *)(y + 16), _mm256_extracti128_si256(b, 1));
}

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
static void NAME##_rows_scalar(const struct dnnq_binary_rows *r,                           \
                               const struct dnnq_binary_q *q)                              \
{                                                                                          \
	for (size_t k = 0; k < r->rows; k++)                                               \
		NAME##_row_scalar(r->a + k * r->ars, r->as, r->b + k * r->brs, r->bs,      \
		                  r->y + k * r->n, r->n, q);                               \
}                                                                                          \
/* Columns [j, j + 8 nv) of every row (nv: 1-4); ha, hb: the input's       \
 * row is the same every row (row stride 0), dequantized once. */                          \
__attribute__((target("avx2"))) static inline __attribute__((always_inline)) void          \
NAME##_cols_avx2(const struct dnnq_binary_rows *r, const struct dnnq_binary_avx2 *k,       \
                 size_t j, const size_t nv, const size_t as, const size_t bs,              \
                 const bool ha, const bool hb)                                             \
{                                                                                          \
	__m256 fa[4], fb[4];                                                               \
	for (size_t v = 0; v < nv; v++) {                                                  \
		if (ha)                                                                    \
			fa[v] = dnnq_binary_load8(r->a + (j + 8 * v) * as, as, k->za, k->sa); \
		if (hb)                                                                    \
			fb[v] = dnnq_binary_load8(r->b + (j + 8 * v) * bs, bs, k->zb, k->sb); \
	}                                                                                  \
	for (size_t row = 0; row < r->rows; row++) {                                       \
		const uint8_t *pa = r->a + row * r->ars + j * as;                          \
		const uint8_t *pb = r->b + row * r->brs + j * bs;                          \
		__m256i w[4];                                                              \
		for (size_t v = 0; v < nv; v++) {                                          \
			__m256 a = ha ? fa[v] : dnnq_binary_load8(pa + 8 * v * as, as, k->za, \
			                                          k->sa);                  \
			__m256 b = hb ? fb[v] : dnnq_binary_load8(pb + 8 * v * bs, bs, k->zb, \
			                                          k->sb);                  \
			w[v] = dnnq_binary_q8(_mm256_div_ps((EXPR_AVX2), k->sy), k);       \
		}                                                                          \
		dnnq_binary_store(r->y + row * r->n + j, w, nv);                           \
	}                                                                                  \
}                                                                                          \
/* The columns after the last 8 (the scalar's). */                                          \
static void NAME##_tail(const struct dnnq_binary_rows *r, const struct dnnq_binary_q *q,   \
                        size_t j)                                                          \
{                                                                                          \
	for (size_t row = 0; j < r->n && row < r->rows; row++)                             \
		NAME##_row_scalar(r->a + row * r->ars + j * r->as, r->as,                  \
		                  r->b + row * r->brs + j * r->bs, r->bs,                  \
		                  r->y + row * r->n + j, r->n - j, q);                     \
}                                                                                          \
/* Blocks of 32 columns, then the last 8-24 in one pass over the rows (an SE \
 * scale's 16, 120, 144, 240 channels), then the scalar's. */                              \
__attribute__((target("avx2"))) static inline __attribute__((always_inline)) void          \
NAME##_rows_avx2_as(const struct dnnq_binary_rows *r, const struct dnnq_binary_q *q,       \
                    const size_t as, const size_t bs, const bool ha, const bool hb)        \
{                                                                                          \
	const struct dnnq_binary_avx2 k = dnnq_binary_avx2_of(q);                          \
	size_t j = 0;                                                                      \
	for (; j + 32 <= r->n; j += 32)                                                    \
		NAME##_cols_avx2(r, &k, j, 4, as, bs, ha, hb);                             \
	switch ((r->n - j) / 8) {                                                          \
	case 3:                                                                            \
		NAME##_cols_avx2(r, &k, j, 3, as, bs, ha, hb);                             \
		break;                                                                     \
	case 2:                                                                            \
		NAME##_cols_avx2(r, &k, j, 2, as, bs, ha, hb);                             \
		break;                                                                     \
	case 1:                                                                            \
		NAME##_cols_avx2(r, &k, j, 1, as, bs, ha, hb);                             \
		break;                                                                     \
	}                                                                                  \
	j += (r->n - j) / 8 * 8;                                                           \
	if (j < r->n)                                                                      \
		NAME##_tail(r, q, j);                                                      \
}                                                                                          \
/* The common cases with constant strides: no test in the loops. */                        \
__attribute__((target("avx2")))                                                            \
static void NAME##_rows_avx2(const struct dnnq_binary_rows *r, const struct dnnq_binary_q *q) \
{                                                                                          \
	bool ha = !r->ars, hb = !r->brs;                                                   \
	if (r->as && r->bs && !ha && !hb)                                                  \
		NAME##_rows_avx2_as(r, q, 1, 1, false, false);                             \
	else if (r->as && r->bs && ha && !hb)                                              \
		NAME##_rows_avx2_as(r, q, 1, 1, true, false);                              \
	else if (r->as && r->bs && !ha && hb)                                              \
		NAME##_rows_avx2_as(r, q, 1, 1, false, true);                              \
	else                                                                               \
		NAME##_rows_avx2_as(r, q, r->as, r->bs, ha, hb);                           \
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
	.row = { [DNNQ_ISA_SCALAR] = NAME##_rows_scalar,                                   \
	         [DNNQ_ISA_AVX2] = NAME##_rows_avx2,                                       \
	         [DNNQ_ISA_AVX512VNNI] = NAME##_rows_avx2 },                               \
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
