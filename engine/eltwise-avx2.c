/*
 * AVX2 kernels of the elementwise operators (eltwise.h): the scalar kernels
 * of eltwise.c, eight lanes at a time (32 bytes for the table lookup, 8 x 8
 * blocks for the NCHW converts), with the same float operations in the same
 * order (the NCHW quantize clamps in integers after them, to the same
 * bytes); ragged ends go to the scalar kernels themselves, so no result
 * depends on where an element falls.
 */
#include "engine/binary.h"
#include "engine/eltwise.h"
#include "engine/quant-avx2.h"

/* (float)(x[0..8) - z), exact */
static inline __m256 load8_minus(const uint8_t *x, __m256i z)
{
	__m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)x));
	return _mm256_cvtepi32_ps(_mm256_sub_epi32(v, z));
}

/* Elements [i, i + 8), j = i % period, j + 8 <= period. */
static inline __m256 ew_block(const struct dnnq_ew_kernel *k, const __m256 *m,
                              const __m256i *z, size_t i, size_t j)
{
	__m256 t = load8_minus(k->x[0] + i, z[0]);
	if (!k->mul)
		t = _mm256_mul_ps(m[0], t);
	for (size_t in = 1; in < k->ninputs; in++) {
		__m256 u;
		if (!k->x[in])
			u = _mm256_loadu_ps(k->pre[in] + j);
		else if (k->mul)
			u = load8_minus(k->x[in] + i, z[in]);
		else
			u = _mm256_mul_ps(m[in], load8_minus(k->x[in] + i, z[in]));
		t = k->mul ? _mm256_mul_ps(t, u) : _mm256_add_ps(t, u);
	}
	return t;
}

/*
 * The two-input Add of full-size inputs (a residual Add, most often fused
 * into the convolution before it: graph.c) over [i0, i1), 32 elements a
 * step, as dnnq_ew_avx512vnni does it in 512 bits: the scalar's float
 * operations in its order, m0 (x0 - z0) + m1 (x1 - z1) without a fused
 * multiply-add, then dnnq_saturate_rne by dnnq_binary_q8 (clamped above in
 * float, rounded by vcvtps2dq, zy added and clamped below as integers: the
 * same integers) and the four vectors packed into one 32-byte store
 * (dnnq_binary_pack32). Returns where it stopped (the last < 32 elements
 * are the caller's).
 */
static size_t add2_32(const struct dnnq_ew_kernel *k, size_t i0, size_t i1)
{
	const __m256 m0 = _mm256_set1_ps(k->m[0]), m1 = _mm256_set1_ps(k->m[1]);
	const __m256i z0 = _mm256_set1_epi32(k->z[0]), z1 = _mm256_set1_epi32(k->z[1]);
	const struct dnnq_binary_q bq = { .zy = k->zy, .qmin = k->qmin, .qmax = k->qmax };
	const struct dnnq_binary_avx2 q = dnnq_binary_avx2_of(&bq);
	const uint8_t *x0 = k->x[0], *x1 = k->x[1];
	size_t i = i0;
	for (; i + 32 <= i1; i += 32) {
		__m256i w[4];
#pragma GCC unroll 4
		for (int h = 0; h < 4; h++) {
			__m256 t = _mm256_add_ps(_mm256_mul_ps(m0, load8_minus(x0 + i + 8 * h, z0)),
			                         _mm256_mul_ps(m1, load8_minus(x1 + i + 8 * h, z1)));
			w[h] = dnnq_binary_q8(t, &q);
		}
		_mm256_storeu_si256((__m256i *)(k->y + i), dnnq_binary_pack32(w));
	}
	return i;
}

void dnnq_ew_avx2(const struct dnnq_ew_kernel *k, size_t i0, size_t i1)
{
	__m256 m[DNNQ_ELTWISE_MAX_INPUTS];
	__m256i z[DNNQ_ELTWISE_MAX_INPUTS];
	for (size_t in = 0; in < k->ninputs; in++) {
		m[in] = _mm256_set1_ps(k->m[in]);
		z[in] = _mm256_set1_epi32(k->z[in]);
	}
	const __m256 mout = _mm256_set1_ps(k->mout), zy = _mm256_set1_ps(k->zy);
	const __m256 qmin = _mm256_set1_ps(k->qmin), qmax = _mm256_set1_ps(k->qmax);
	const bool add2 = !k->mul && k->ninputs == 2 && k->x[1];
	size_t i = add2 ? add2_32(k, i0, i1) : i0, j = i % k->period;
	while (i < i1) {
		/* up to the end of the period (or of the range) */
		size_t len = k->period - j < i1 - i ? k->period - j : i1 - i;
		size_t end = i + len, vend = i + (len & ~(size_t)7);
		if (add2)   /* the common residual Add, unrolled by the compiler */
			for (; i < vend; i += 8, j += 8) {
				__m256 t = _mm256_add_ps(_mm256_mul_ps(m[0], load8_minus(k->x[0] + i, z[0])),
				                         _mm256_mul_ps(m[1], load8_minus(k->x[1] + i, z[1])));
				dnnq_avx2_store8(k->y + i, DNNQ_DTYPE_U8,
				                 dnnq_avx2_saturate_rne(t, zy, qmin, qmax));
			}
		for (; i < vend; i += 8, j += 8) {
			__m256 t = ew_block(k, m, z, i, j);
			if (k->mul)
				t = _mm256_mul_ps(mout, t);
			dnnq_avx2_store8(k->y + i, DNNQ_DTYPE_U8, dnnq_avx2_saturate_rne(t, zy, qmin, qmax));
		}
		if (i < end)
			dnnq_ew_scalar(k, i, end);
		i = end;
		j = 0;
	}
}

void dnnq_ewlin_avx2(const struct dnnq_ewlin_kernel *k, size_t i0, size_t i1)
{
	const __m256i zx = _mm256_set1_epi32(k->zx);
	const __m256 zy = _mm256_set1_ps(k->zy);
	const __m256 qmin = _mm256_set1_ps(k->qmin), qmax = _mm256_set1_ps(k->qmax);
	size_t i = i0, j = i0 % k->period;
	while (i < i1) {
		size_t len = k->period - j < i1 - i ? k->period - j : i1 - i;
		size_t end = i + len, vend = i + (len & ~(size_t)7);
		for (; i < vend; i += 8, j += 8) {
			__m256 t = _mm256_mul_ps(_mm256_loadu_ps(k->mult + j), load8_minus(k->x + i, zx));
			t = _mm256_add_ps(t, _mm256_loadu_ps(k->add + j));
			dnnq_avx2_store8(k->y + i, DNNQ_DTYPE_U8, dnnq_avx2_saturate_rne(t, zy, qmin, qmax));
		}
		if (i < end)
			dnnq_ewlin_scalar(k, i, end);
		i = end;
		j = 0;
	}
}

/*
 * 256-entry lookup with vpshufb, which indexes 16 bytes and yields 0 for an
 * index with bit 7 set. For x < 128: step h = 0..7 looks up x - 16h; the
 * index is negative (bit 7 set) exactly when h > x >> 4, so XOR-ing the
 * steps with tables D_0 = T_0, D_h = T_(h-1) ^ T_h telescopes to
 * T_(x>>4)[x & 15]. x >= 128 does the same on x ^ 0x80 with T_8..T_15, and
 * a blend on bit 7 of x picks the half.
 */
void dnnq_lut_avx2(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n)
{
	__m256i t[16], prev = _mm256_setzero_si256();
	for (int h = 0; h < 16; h++) {
		__m256i cur = _mm256_broadcastsi128_si256(
			_mm_loadu_si128((const __m128i *)(table + 16 * h)));
		t[h] = h % 8 ? _mm256_xor_si256(prev, cur) : cur;
		prev = cur;
	}
	const __m256i step = _mm256_set1_epi8(16), hibit = _mm256_set1_epi8((char)0x80);
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(x + i));
		__m256i a = v, b = _mm256_xor_si256(v, hibit);
		__m256i ya = _mm256_shuffle_epi8(t[0], a), yb = _mm256_shuffle_epi8(t[8], b);
		for (int h = 1; h < 8; h++) {
			a = _mm256_sub_epi8(a, step);
			b = _mm256_sub_epi8(b, step);
			ya = _mm256_xor_si256(ya, _mm256_shuffle_epi8(t[h], a));
			yb = _mm256_xor_si256(yb, _mm256_shuffle_epi8(t[8 + h], b));
		}
		_mm256_storeu_si256((__m256i *)(y + i), _mm256_blendv_epi8(ya, yb, v));
	}
	dnnq_lut_scalar(table, x + i, y + i, n - i);
}

static uint8_t max_u8(const uint8_t *x, size_t n)
{
	__m256i vm = _mm256_setzero_si256();
	size_t i = 0;
	for (; i + 32 <= n; i += 32)
		vm = _mm256_max_epu8(vm, _mm256_loadu_si256((const __m256i *)(x + i)));
	__m128i m = _mm_max_epu8(_mm256_castsi256_si128(vm), _mm256_extracti128_si256(vm, 1));
	m = _mm_max_epu8(m, _mm_srli_si128(m, 8));
	m = _mm_max_epu8(m, _mm_srli_si128(m, 4));
	m = _mm_max_epu8(m, _mm_srli_si128(m, 2));
	m = _mm_max_epu8(m, _mm_srli_si128(m, 1));
	uint8_t r = (uint8_t)_mm_cvtsi128_si32(m);
	for (; i < n; i++)
		r = x[i] > r ? x[i] : r;
	return r;
}

/* dnnq_softmax_row_scalar: lane l of the two double accumulators is the
 * scalar's s[l] (elements i % 8 == l, in order), the tail continues there. */
void dnnq_softmax_row_avx2(const float texp[256], const uint8_t *x, float *y, size_t n)
{
	uint8_t m = max_u8(x, n);
	const __m256i vm = _mm256_set1_epi32(m), low8 = _mm256_set1_epi32(0xff);
	__m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256i q = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(x + i)));
		/* mod 256, as the scalar: the index stays in the table */
		__m256i idx = _mm256_and_si256(_mm256_sub_epi32(vm, q), low8);
		__m256 e = _mm256_i32gather_ps(texp, idx, 4);
		_mm256_storeu_ps(y + i, e);
		s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
		s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
	}
	double s[8];
	_mm256_storeu_pd(s, s0);
	_mm256_storeu_pd(s + 4, s1);
	for (; i < n; i++) {
		y[i] = texp[(uint8_t)(m - x[i])];
		s[i % 8] += y[i];
	}
	float inv = (float)(1.0 / dnnq_softmax_sum8(s));
	const __m256 vinv = _mm256_set1_ps(inv);
	for (i = 0; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), vinv));
	for (; i < n; i++)
		y[i] = y[i] * inv;
}

/*
 * The NCHW converts: 8 channels x 8 positions at a time, the channels left
 * over one by one, 8 positions at a time. The 8 x 8 byte transpose takes
 * three rounds of unpacks: r[j] holds row j in its low 8 bytes; t[m] holds
 * column 2m in its low and column 2m + 1 in its high half.
 */
static inline void transpose8x8_u8(const __m128i r[8], __m128i t[4])
{
	__m128i a0 = _mm_unpacklo_epi8(r[0], r[1]), a1 = _mm_unpacklo_epi8(r[2], r[3]);
	__m128i a2 = _mm_unpacklo_epi8(r[4], r[5]), a3 = _mm_unpacklo_epi8(r[6], r[7]);
	__m128i b0 = _mm_unpacklo_epi16(a0, a1), b1 = _mm_unpackhi_epi16(a0, a1);
	__m128i b2 = _mm_unpacklo_epi16(a2, a3), b3 = _mm_unpackhi_epi16(a2, a3);
	t[0] = _mm_unpacklo_epi32(b0, b2);
	t[1] = _mm_unpackhi_epi32(b0, b2);
	t[2] = _mm_unpacklo_epi32(b1, b3);
	t[3] = _mm_unpackhi_epi32(b1, b3);
}

/* The NCHW quantize's constants, as vectors (qmin is 0). */
struct q8 {
	__m256 scale, big;
	__m256i zp;
	__m128i qmax;
};

static inline struct q8 q8_of(const struct dnnq_nchw_kernel *k)
{
	return (struct q8){ _mm256_set1_ps(k->scale), _mm256_set1_ps(1048576.0f),
	                    _mm256_set1_epi32((int32_t)k->zp),
	                    _mm_set1_epi8((char)(uint8_t)k->qmax) };
}

/*
 * dnnq_quantize_1 on 8 floats, packed to 8 bytes: the same quotient, then
 * rint, + zp and the clamp to [0, qmax] in integers, the packs saturating
 * (6 instructions after the division where the float steps of
 * dnnq_avx2_saturate_rne and the packs took 7; ResNet-18's 1x3x224x224
 * input 33.7 -> 32.1 us, docs/graph.md). v = x / scale is first held
 * below 2^20 by minps(big, v), which gives v itself when v is NaN; vcvtps2dq rounds
 * as rintf (the MXCSR mode) and turns NaN and anything below -2^31 into
 * INT32_MIN: all three saturate as the scalar's do (qmax, 0, 0), and
 * below 2^20 every step is exact.
 */
static inline __m256i quantize8_i32(const float *x, const struct q8 *q)
{
	__m256 v = _mm256_min_ps(q->big, _mm256_div_ps(_mm256_loadu_ps(x), q->scale));
	return _mm256_add_epi32(_mm256_cvtps_epi32(v), q->zp);
}

static inline __m128i quantize8_u8(const float *x, const struct q8 *q)
{
	__m256i i = quantize8_i32(x, q);
	__m128i w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
	return _mm_min_epu8(_mm_packus_epi16(w, w), q->qmax);
}

/* quantize8_u8 on 32 floats: the packs in 256 bits (lane-wise, so the
 * dwords then in the order 0 4 1 5 2 6 3 7), one permute. */
static inline __m256i quantize32_u8(const float *x, const struct q8 *q)
{
	__m256i w01 = _mm256_packs_epi32(quantize8_i32(x, q), quantize8_i32(x + 8, q));
	__m256i w23 = _mm256_packs_epi32(quantize8_i32(x + 16, q), quantize8_i32(x + 24, q));
	__m256i b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w01, w23),
	                                        _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
	return _mm256_min_epu8(b, _mm256_broadcastsi128_si256(q->qmax));
}

/* The 24 bytes of 8 positions of each 128-bit lane (of lane 0 only unless
 * two): r and g in rg's low and high 8 bytes, b in b's low 8 (lane 0 to y,
 * lane 1 to y + 48). */
static inline void rgb_store(uint8_t *y, __m256i rg, __m256i b, const __m256i m[4], bool two)
{
	__m256i lo = _mm256_or_si256(_mm256_shuffle_epi8(rg, m[0]), _mm256_shuffle_epi8(b, m[1]));
	__m256i hi = _mm256_or_si256(_mm256_shuffle_epi8(rg, m[2]), _mm256_shuffle_epi8(b, m[3]));
	_mm_storeu_si128((__m128i *)y, _mm256_castsi256_si128(lo));
	_mm_storel_epi64((__m128i *)(y + 16), _mm256_castsi256_si128(hi));
	if (two) {
		_mm_storeu_si128((__m128i *)(y + 48), _mm256_extracti128_si256(lo, 1));
		_mm_storel_epi64((__m128i *)(y + 64), _mm256_extracti128_si256(hi, 1));
	}
}

/* Positions [p0, pv) (a multiple of 8 of them) of a 3-channel image: per
 * 32, the channels' 32 bytes each (quantize32_u8), per 8 of them
 * interleaved (r g b, r g b, ...) by two vpshufb each of r|g and of b into
 * 16 + 8 bytes, two groups of 8 a lane; the last 8-24 positions 8 at a
 * time. (Scattered byte by byte, mobilenet_v3_small's 224x224 input took
 * 64 us.) */
static void quantize_rgb(const struct dnnq_nchw_kernel *k, const float *x, uint8_t *y, size_t p0,
                         size_t pv, const struct q8 *q)
{
	const size_t ns = k->spatial;
	uint8_t m_rg[32], m_b[32];
	for (int i = 0; i < 32; i++) {
		int px = i % 24 / 3, ch = i % 24 % 3;
		m_rg[i] = (uint8_t)(i >= 24 ? 0x80 : ch == 0 ? px : ch == 1 ? 8 + px : 0x80);
		m_b[i] = (uint8_t)(i < 24 && ch == 2 ? px : 0x80);
	}
	const __m256i m[4] = {
		_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)m_rg)),
		_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)m_b)),
		_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(m_rg + 16))),
		_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(m_b + 16))),
	};
	size_t p = p0;
	for (; p + 32 <= pv; p += 32) {
		__m256i r = quantize32_u8(x + p, q), g = quantize32_u8(x + ns + p, q);
		__m256i b = quantize32_u8(x + 2 * ns + p, q);
		/* lane 0 positions 0-7 and 8-15, lane 1 16-23 and 24-31 */
		rgb_store(y + 3 * p, _mm256_unpacklo_epi64(r, g), b, m, true);
		rgb_store(y + 3 * p + 24, _mm256_unpackhi_epi64(r, g), _mm256_srli_si256(b, 8), m,
		          true);
	}
	for (; p < pv; p += 8) {
		__m128i r = quantize8_u8(x + p, q), g = quantize8_u8(x + ns + p, q);
		__m128i b = quantize8_u8(x + 2 * ns + p, q);
		rgb_store(y + 3 * p, _mm256_castsi128_si256(_mm_unpacklo_epi64(r, g)),
		          _mm256_castsi128_si256(b), m, false);
	}
}

void dnnq_quantize_nchw_avx2(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
                             size_t p1, size_t c0, size_t c1)
{
	const size_t nc = k->channels, ns = k->spatial;
	const float *x = (const float *)k->x + img * nc * ns;
	uint8_t *y = (uint8_t *)k->y + img * ns * nc;
	const struct q8 q = q8_of(k);
	const size_t cv = c0 + ((c1 - c0) & ~(size_t)7), pv = p0 + ((p1 - p0) & ~(size_t)7);
	for (size_t c = c0; c < cv; c += 8) {
		for (size_t p = p0; p < pv; p += 8) {
			__m128i r[8], t[4];
			for (size_t j = 0; j < 8; j++)
				r[j] = quantize8_u8(x + (c + j) * ns + p, &q);
			transpose8x8_u8(r, t);
			for (size_t m = 0; m < 4; m++) {
				_mm_storel_epi64((__m128i *)(y + (p + 2 * m) * nc + c), t[m]);
				_mm_storel_epi64((__m128i *)(y + (p + 2 * m + 1) * nc + c),
				                 _mm_unpackhi_epi64(t[m], t[m]));
			}
		}
		if (pv < p1)
			dnnq_quantize_nchw_scalar(k, img, pv, p1, c, c + 8);
	}
	/* an RGB image: 8 positions of the three channels a step, interleaved
	 * by vpshufb into 24 bytes */
	const bool rgb = nc == 3 && cv == 0 && c1 == 3;
	if (rgb)
		quantize_rgb(k, x, y, p0, pv, &q);
	/* fewer than 8 channels left: still 8 positions at a time, the bytes
	 * scattered one by one */
	for (size_t c = rgb ? c1 : cv; c < c1; c++) {
		for (size_t p = p0; p < pv; p += 8) {
			uint8_t b[8];
			_mm_storel_epi64((__m128i *)b, quantize8_u8(x + c * ns + p, &q));
			for (size_t j = 0; j < 8; j++)
				y[(p + j) * nc + c] = b[j];
		}
	}
	if (cv < c1 && pv < p1)
		dnnq_quantize_nchw_scalar(k, img, pv, p1, cv, c1);
}

/* dnnq_dequantize_1 on the low 8 bytes of b (as dnnq_dequantize_avx2). */
static inline void dequantize8_store(float *y, __m128i b, __m256i zp, __m256 scale)
{
	__m256i v = _mm256_sub_epi32(_mm256_cvtepu8_epi32(b), zp);
	_mm256_storeu_ps(y, _mm256_mul_ps(_mm256_cvtepi32_ps(v), scale));
}

void dnnq_dequantize_nchw_avx2(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
                               size_t p1, size_t c0, size_t c1)
{
	const size_t nc = k->channels, ns = k->spatial;
	const uint8_t *x = (const uint8_t *)k->x + img * ns * nc;
	float *y = (float *)k->y + img * nc * ns;
	const __m256i zp = _mm256_set1_epi32(k->izp);
	const __m256 scale = _mm256_set1_ps(k->scale);
	const size_t cv = c0 + ((c1 - c0) & ~(size_t)7), pv = p0 + ((p1 - p0) & ~(size_t)7);
	for (size_t c = c0; c < cv; c += 8) {
		for (size_t p = p0; p < pv; p += 8) {
			__m128i r[8], t[4];
			for (size_t j = 0; j < 8; j++)
				r[j] = _mm_loadl_epi64((const __m128i *)(x + (p + j) * nc + c));
			transpose8x8_u8(r, t);
			for (size_t m = 0; m < 4; m++) {
				dequantize8_store(y + (c + 2 * m) * ns + p, t[m], zp, scale);
				dequantize8_store(y + (c + 2 * m + 1) * ns + p, _mm_srli_si128(t[m], 8), zp,
				                  scale);
			}
		}
		if (pv < p1)
			dnnq_dequantize_nchw_scalar(k, img, pv, p1, c, c + 8);
	}
	for (size_t c = cv; c < c1; c++) {   /* the ragged channels, gathered */
		for (size_t p = p0; p < pv; p += 8) {
			const uint8_t *xp = x + p * nc + c;
			__m256i v = _mm256_setr_epi32(xp[0], xp[nc], xp[2 * nc], xp[3 * nc], xp[4 * nc],
			                              xp[5 * nc], xp[6 * nc], xp[7 * nc]);
			v = _mm256_sub_epi32(v, zp);
			_mm256_storeu_ps(y + c * ns + p, _mm256_mul_ps(_mm256_cvtepi32_ps(v), scale));
		}
	}
	if (cv < c1 && pv < p1)
		dnnq_dequantize_nchw_scalar(k, img, pv, p1, cv, c1);
}
