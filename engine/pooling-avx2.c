/*
 * AVX2 pooling kernels (pooling.h): vectorized over channels. For each
 * vector of channels the kernel walks every tap of the window: 32 channels
 * at a time, then 8 at a time, and the last c % 8 channels go to the scalar
 * kernel on the same window, so a channel's result never depends on where it
 * falls.
 *
 * MaxPool is vpmaxub from 0 (the scalar's starting value). AveragePool adds
 * the u8 taps into u16 lanes, widened into int32 sums every 257 taps (257 *
 * 255 = 65535, so no u16 lane can wrap); the int32 sum is exact either way
 * (pooling.c bounds the taps), so it equals the scalar's. The output step is
 * the scalar's expression lane by lane: int32 -> float conversion (exact or
 * rounded to nearest, as the C conversion), one float multiply by the same
 * multiplier (no FMA: -ffp-contract=off), dnnq_avx2_saturate_rne.
 */
#include "engine/pooling.h"
#include "engine/quant-avx2.h"

/* The max of channels [k, k + 32) over nh x nw taps (constants where
 * inlined with them: the 3x3 windows of ResNet's stem pool unrolled). */
static inline __attribute__((always_inline)) __m256i max32(const struct dnnq_pooling_win *win,
                                                           size_t k, size_t nh, size_t nw)
{
	__m256i m = _mm256_setzero_si256();
	for (size_t i = 0; i < nh; i++) {
		const uint8_t *x = win->x + i * win->sh + k;
		for (size_t j = 0; j < nw; j++)
			m = _mm256_max_epu8(m, _mm256_loadu_si256((const __m256i *)(x + j * win->sw)));
	}
	return m;
}

void dnnq_maxpool_kernel_avx2(const struct dnnq_pooling_win *win, size_t c, uint8_t *y)
{
	size_t k = 0;
	bool w3x3 = win->nh == 3 && win->nw == 3;
	for (; k + 32 <= c; k += 32)
		_mm256_storeu_si256((__m256i *)(y + k), w3x3 ? max32(win, k, 3, 3)
		                                              : max32(win, k, win->nh, win->nw));
	for (; k + 8 <= c; k += 8) {
		__m128i m = _mm_setzero_si128();
		for (size_t i = 0; i < win->nh; i++) {
			const uint8_t *x = win->x + i * win->sh + k;
			for (size_t j = 0; j < win->nw; j++)
				m = _mm_max_epu8(m, _mm_loadl_epi64((const __m128i *)(x + j * win->sw)));
		}
		_mm_storel_epi64((__m128i *)(y + k), m);
	}
	if (k < c) {
		struct dnnq_pooling_win tail = *win;
		tail.x += k;
		dnnq_maxpool_kernel_scalar(&tail, c - k, y + k);
	}
}

/* acc[q] += the u16 sums of channels 8q..8q+7 held in lo (0-15), hi (16-31). */
static inline void widen_add(__m256i acc[4], __m256i lo, __m256i hi)
{
	acc[0] = _mm256_add_epi32(acc[0], _mm256_cvtepu16_epi32(_mm256_castsi256_si128(lo)));
	acc[1] = _mm256_add_epi32(acc[1], _mm256_cvtepu16_epi32(_mm256_extracti128_si256(lo, 1)));
	acc[2] = _mm256_add_epi32(acc[2], _mm256_cvtepu16_epi32(_mm256_castsi256_si128(hi)));
	acc[3] = _mm256_add_epi32(acc[3], _mm256_cvtepu16_epi32(_mm256_extracti128_si256(hi, 1)));
}

/* The exact int32 sums of channels [k, k + 32) over the window. */
static void sum32(const struct dnnq_pooling_win *win, size_t k, __m256i acc[4])
{
	const __m256i zero = _mm256_setzero_si256();
	__m256i lo = zero, hi = zero;
	unsigned pending = 0;
	acc[0] = acc[1] = acc[2] = acc[3] = zero;
	for (size_t i = 0; i < win->nh; i++) {
		const uint8_t *x = win->x + i * win->sh + k;
		for (size_t j = 0; j < win->nw; j++) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(x + j * win->sw));
			lo = _mm256_add_epi16(lo, _mm256_cvtepu8_epi16(_mm256_castsi256_si128(v)));
			hi = _mm256_add_epi16(hi, _mm256_cvtepu8_epi16(_mm256_extracti128_si256(v, 1)));
			if (++pending == 257) {
				widen_add(acc, lo, hi);
				lo = hi = zero;
				pending = 0;
			}
		}
	}
	widen_add(acc, lo, hi);
}

/* The scalar output step on 8 lanes: saturate(rint((float)(sum - nzx) * m) + zy). */
static inline __m256i avg_out8(__m256i sum, const struct dnnq_avgpool_k *k)
{
	__m256 v = _mm256_cvtepi32_ps(_mm256_sub_epi32(sum, _mm256_set1_epi32(k->nzx)));
	v = _mm256_mul_ps(v, _mm256_set1_ps(k->mult));
	return dnnq_avx2_saturate_rne(v, _mm256_set1_ps(k->zy), _mm256_set1_ps(k->qmin),
	                              _mm256_set1_ps(k->qmax));
}

/* The int32 sums of channels [ch, ch + 8) over the window. */
static inline __m256i sum8(const struct dnnq_pooling_win *win, size_t ch)
{
	__m256i acc = _mm256_setzero_si256();
	for (size_t i = 0; i < win->nh; i++) {
		const uint8_t *x = win->x + i * win->sh + ch;
		for (size_t j = 0; j < win->nw; j++)
			acc = _mm256_add_epi32(acc, dnnq_avx2_load8(x + j * win->sw, DNNQ_DTYPE_U8));
	}
	return acc;
}

void dnnq_avgpool_kernel_avx2(const struct dnnq_pooling_win *win, size_t c,
                              const struct dnnq_avgpool_k *k, uint8_t *y)
{
	size_t ch = 0;
	for (; ch + 32 <= c; ch += 32) {
		__m256i acc[4];
		sum32(win, ch, acc);
		for (int q = 0; q < 4; q++)
			dnnq_avx2_store8(y + ch + 8 * q, DNNQ_DTYPE_U8, avg_out8(acc[q], k));
	}
	for (; ch + 8 <= c; ch += 8)
		dnnq_avx2_store8(y + ch, DNNQ_DTYPE_U8, avg_out8(sum8(win, ch), k));
	if (ch < c) {
		struct dnnq_pooling_win tail = *win;
		tail.x += ch;
		dnnq_avgpool_kernel_scalar(&tail, c - ch, k, y + ch);
	}
}

void dnnq_pool_sums_avx2(const struct dnnq_pooling_win *win, size_t c, uint32_t *sum)
{
	size_t ch = 0;
	for (; ch + 32 <= c; ch += 32) {
		__m256i acc[4];
		sum32(win, ch, acc);
		for (int q = 0; q < 4; q++)
			_mm256_storeu_si256((__m256i *)(sum + ch + 8 * q), acc[q]);
	}
	for (; ch + 8 <= c; ch += 8)
		_mm256_storeu_si256((__m256i *)(sum + ch), sum8(win, ch));
	if (ch < c) {
		struct dnnq_pooling_win tail = *win;
		tail.x += ch;
		dnnq_pool_sums_scalar(&tail, c - ch, sum + ch);
	}
}
