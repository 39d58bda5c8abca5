/*
 * AVX2 depthwise convolution: 16 channels a step. Each tap widens 16 input
 * bytes to int16 and multiplies them with the tap's int16 weights: a u8 x s8
 * product fits int16 exactly, so vpmullw loses nothing; the products are
 * widened to int32 and summed. Padded taps read the input zero point, as in
 * the scalar kernel; channels past the last multiple of 16 use its step.
 */
#include <immintrin.h>

#include "engine/conv-kernels.h"

#define DW_MAX_TAPS 64

/* 16 channels from c0 of one output pixel; tap[t] points at the pixel of
 * tap t (channel 0), NULL for a padded tap. */
static void dw_block(const struct dnnq_conv *c, const uint8_t *const *tap, size_t taps,
                     size_t c0, int32_t *acc, int32_t *xsum)
{
	const __m256i zx = _mm256_set1_epi16((short)c->d.in_qp.zero_point);
	__m256i s0 = _mm256_setzero_si256(), s1 = s0, x0 = s0, x1 = s0;
	const int16_t *w = c->dw_w + c0;
	for (size_t t = 0; t < taps; t++, w += c->cpad) {
		__m256i x = tap[t] ? _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(tap[t] + c0)))
		                   : zx;
		__m256i p = _mm256_mullo_epi16(x, _mm256_load_si256((const __m256i *)w));
		s0 = _mm256_add_epi32(s0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(p)));
		s1 = _mm256_add_epi32(s1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(p, 1)));
		if (xsum) {
			x0 = _mm256_add_epi32(x0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(x)));
			x1 = _mm256_add_epi32(x1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(x, 1)));
		}
	}
	_mm256_storeu_si256((__m256i *)acc, s0);
	_mm256_storeu_si256((__m256i *)(acc + 8), s1);
	if (xsum) {
		_mm256_storeu_si256((__m256i *)xsum, x0);
		_mm256_storeu_si256((__m256i *)(xsum + 8), x1);
	}
}

void dnnq_dw_row_avx2(const struct dnnq_conv *c, size_t img, size_t oy, int32_t *acc,
                      int32_t *xsum)
{
	const size_t cout = c->d.cout, kw = c->d.kw, taps = c->d.kh * kw;
	const size_t full = taps <= DW_MAX_TAPS ? cout & ~(size_t)15 : 0;
	const uint8_t *image = c->in + img * c->h * c->w * cout;
	const uint8_t *tap[DW_MAX_TAPS];
	for (size_t ox = 0; ox < c->ow; ox++) {
		int32_t *a = acc + ox * cout, *xs = xsum ? xsum + ox * cout : NULL;
		for (size_t t = 0; t < taps && full; t++) {
			ptrdiff_t iy = dnnq_conv_iy(c, oy, t / kw), ix = dnnq_conv_ix(c, ox, t % kw);
			tap[t] = iy < 0 || ix < 0 ? NULL
			       : image + ((size_t)iy * c->w + (size_t)ix) * cout;
		}
		for (size_t c0 = 0; c0 < full; c0 += 16)
			dw_block(c, tap, taps, c0, a + c0, xs ? xs + c0 : NULL);
		for (size_t ch = full; ch < cout; ch++) {
			int32_t t;
			dnnq_dw_one(c, image, oy, ox, ch, &a[ch], xs ? &xs[ch] : &t);
		}
	}
}
