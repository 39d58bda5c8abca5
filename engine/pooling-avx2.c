/*
 * AVX2 pooling kernels (pooling.h): vectorized over channels. For each
 * vector of channels the kernel walks every tap of the window: 32 channels
 * at a time, then 8 at a time, and the last c % 8 channels go to the scalar
 * kernel on the same window, so a channel's result never depends on where it
 * falls.
 *
 * MaxPool is vpmaxub from 0 (the scalar's starting value), a row at a time
 * (dnnq_maxpool_row_avx2: each input column's max over the window's rows
 * taken once where two windows share the column). AveragePool adds
 * the u8 taps into u16 lanes, widened into int32 sums every 257 taps (257 *
 * 255 = 65535, so no u16 lane can wrap); the int32 sum is exact either way
 * (pooling.c bounds the taps), so it equals the scalar's. The output step is
 * the scalar's expression lane by lane: int32 -> float conversion (exact or
 * rounded to nearest, as the C conversion), one float multiply by the same
 * multiplier (no FMA: -ffp-contract=off), dnnq_avx2_saturate_rne.
 */
#include "engine/pooling.h"
#include "engine/quant-avx2.h"

/* A window's max of channels [0, c), c < 32 (the row kernel's last ones):
 * 8 at a time, then the scalar kernel's. */
static void max_tail(const struct dnnq_pooling_win *win, size_t c, uint8_t *y)
{
	size_t k = 0;
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

/* The max over nh rows (sh bytes apart) of the 32 bytes at x: one input
 * column's part of every window of the row. */
static inline __attribute__((always_inline)) __m256i column32(const uint8_t *x, size_t nh,
                                                              size_t sh)
{
	if (nh == 3)
		return _mm256_max_epu8(_mm256_max_epu8(_mm256_loadu_si256((const __m256i *)x),
		                                       _mm256_loadu_si256((const __m256i *)(x + sh))),
		                       _mm256_loadu_si256((const __m256i *)(x + 2 * sh)));
	__m256i m = _mm256_setzero_si256();
	for (size_t i = 0; i < nh; i++)
		m = _mm256_max_epu8(m, _mm256_loadu_si256((const __m256i *)(x + i * sh)));
	return m;
}

/* The window of output column o: columns [first, first + n) of the row,
 * d apart (without dilation across, d1, never empty: pooling.h). */
static inline __attribute__((always_inline)) struct dnnq_pooling_span
row_window(const struct dnnq_pooling_row *r, size_t o, bool d1)
{
	if (!d1)
		return dnnq_pooling_window(&r->ax, (int64_t)o, (int64_t)r->w);
	int64_t s = (int64_t)o * r->ax.s - r->ax.p0, w = (int64_t)r->w;
	int64_t e = s + r->ax.k < w ? s + r->ax.k : w, first = s > 0 ? s : 0;
	return (struct dnnq_pooling_span){ first, e - first, 0 };
}

/* Output column o's 32 channels at k from window ws, with carry holding
 * the maxima of input column *have (or none: -1), which it then holds of
 * the window's last column (a window of one carried column keeps it; an
 * empty one, only dilation's, none). */
static inline __attribute__((always_inline)) void max_pixel32(const struct dnnq_pooling_row *r,
                                                              struct dnnq_pooling_span ws,
                                                              size_t k, size_t step, size_t nh,
                                                              __m256i *carry, int64_t *have,
                                                              uint8_t *y)
{
	const uint8_t *x = r->x + (size_t)ws.first * r->sw + k;
	size_t j = ws.n && ws.first == *have, n = (size_t)ws.n;
	__m256i m = j ? *carry : _mm256_setzero_si256();
	for (; j < n; j++) {
		*carry = column32(x + j * step, nh, r->sh);
		m = _mm256_max_epu8(m, *carry);
	}
	*have = n ? ws.first + (ws.n - 1) * r->ax.d : -1;
	_mm256_storeu_si256((__m256i *)y, m);
}

/* The row kernel (pooling.h) with nh a constant where inlined with one:
 * 32 channels at a time along the row, each window's columns' maxima over
 * the rows, the first one carried from the window before where it is
 * that one's last (in a register), then the max of those; the channels
 * past the last 32 by max_tail. 3x3 stride 2 without dilation (k3s2):
 * the windows wholly inside the row (columns 2 o - pad .. + 2) in a loop
 * of their own, two new columns each. */
static inline __attribute__((always_inline)) void max_row(const struct dnnq_pooling_row *r,
                                                          size_t c, uint8_t *y, size_t nh,
                                                          bool d1, bool k3s2)
{
	const size_t step = (size_t)(r->ax.d < (int64_t)r->w ? r->ax.d : 0) * r->sw, sw = r->sw;
	/* k3s2: windows [o_a, o_b) are whole, each one's first column the
	 * last one's last */
	size_t o_a = 0, o_b = 0;
	if (k3s2 && r->w >= 3) {
		o_a = (size_t)(r->ax.p0 + 1) / 2;
		o_b = ((size_t)r->ax.p0 + r->w - 3) / 2 + 1;
		o_b = o_b < r->ow ? o_b : r->ow;
		o_a = o_a < o_b ? o_a : o_b;
	}
	size_t k = 0;
	for (; k + 32 <= c; k += 32) {
		__m256i carry = _mm256_setzero_si256();
		int64_t have = -1;
		size_t o = 0;
		for (; o < o_a; o++)
			max_pixel32(r, row_window(r, o, d1), k, step, nh, &carry, &have,
			            y + o * sw + k);
		if (o < o_b) {   /* its first column's maxima, unless carried */
			struct dnnq_pooling_span ws = row_window(r, o, d1);
			if (ws.first != have)
				carry = column32(r->x + (size_t)ws.first * sw + k, nh, r->sh);
			for (; o < o_b; o++) {   /* columns 2 o - pad + 1, + 2 */
				const uint8_t *x = r->x + (2 * o - (size_t)r->ax.p0 + 1) * sw + k;
				__m256i a = column32(x, nh, r->sh), b = column32(x + sw, nh, r->sh);
				_mm256_storeu_si256((__m256i *)(y + o * sw + k),
				                    _mm256_max_epu8(carry, _mm256_max_epu8(a, b)));
				carry = b;
			}
			have = row_window(r, o - 1, d1).first + 2;
		}
		for (; o < r->ow; o++)
			max_pixel32(r, row_window(r, o, d1), k, step, nh, &carry, &have,
			            y + o * sw + k);
	}
	for (size_t o = 0; k < c && o < r->ow; o++) {
		struct dnnq_pooling_span ws = row_window(r, o, d1);
		const struct dnnq_pooling_win win = { r->x + (size_t)ws.first * sw + k, nh,
		                                      (size_t)ws.n, r->sh, step };
		max_tail(&win, c - k, y + o * sw + k);
	}
}

void dnnq_maxpool_row_avx2(const struct dnnq_pooling_row *row, size_t c, uint8_t *y)
{
	const struct dnnq_pooling_axis *a = &row->ax;
	const bool k3s2 = a->d == 1 && a->k == 3 && a->s == 2;
	if (k3s2 && row->nh == 3)   /* the image's inside rows */
		max_row(row, c, y, 3, true, true);
	else if (k3s2)
		max_row(row, c, y, row->nh, true, true);
	else if (a->d == 1)
		max_row(row, c, y, row->nh, true, false);
	else
		max_row(row, c, y, row->nh, false, false);
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
