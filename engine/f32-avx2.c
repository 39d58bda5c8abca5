/*
 * The fp32 twins' AVX2 kernels (engine/f32-kernels.h): 8 floats a step, the
 * same operations in the same order as the scalar kernels (so the same
 * results), the elements past the last full vector handed to them. The
 * depthwise convolution alone fuses its multiply-adds (FMA).
 */
#include <immintrin.h>
#include <math.h>

#include "engine/f32-kernels.h"
#include "engine/unary.h"

#define SET1 _mm256_set1_ps

static __m256 tanh8(__m256 x)
{
	const __m256 sign = SET1(-0.0f), one = SET1(1.0f);
	__m256 ax = _mm256_andnot_ps(sign, x), z = _mm256_mul_ps(x, x);
	__m256 p = _mm256_add_ps(_mm256_mul_ps(SET1(DNNQ_F32_TANH_P0), z), SET1(DNNQ_F32_TANH_P1));
	p = _mm256_add_ps(_mm256_mul_ps(p, z), SET1(DNNQ_F32_TANH_P2));
	p = _mm256_add_ps(_mm256_mul_ps(p, z), SET1(DNNQ_F32_TANH_P3));
	p = _mm256_add_ps(_mm256_mul_ps(p, z), SET1(DNNQ_F32_TANH_P4));
	__m256 small = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(p, z), x), x);
	__m256 e = dnnq_exp8(_mm256_add_ps(ax, ax));
	__m256 big = _mm256_sub_ps(one, _mm256_div_ps(SET1(2.0f), _mm256_add_ps(e, one)));
	big = _mm256_or_ps(_mm256_andnot_ps(sign, big), _mm256_and_ps(x, sign));
	return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, SET1(DNNQ_F32_TANH_SMALL),
	                                                   _CMP_LT_OQ));
}

static __m256 act8(enum dnnq_activation_kind kind, const struct dnnq_act_params *p, __m256 x)
{
	const __m256 zero = _mm256_setzero_ps(), one = SET1(1.0f);
	__m256 t;
	switch (kind) {
	case DNNQ_ACT_RELU:
		return _mm256_max_ps(zero, x);
	case DNNQ_ACT_CLIP:
		return _mm256_min_ps(SET1(p->max), _mm256_max_ps(SET1(p->min), x));
	case DNNQ_ACT_LEAKY_RELU:
		return _mm256_blendv_ps(_mm256_mul_ps(SET1(p->alpha), x), x,
		                        _mm256_cmp_ps(x, zero, _CMP_GE_OQ));
	case DNNQ_ACT_SIGMOID:
		return dnnq_sigmoid8(x);
	case DNNQ_ACT_TANH:
		return tanh8(x);
	case DNNQ_ACT_HARD_SIGMOID:
		t = _mm256_add_ps(_mm256_mul_ps(SET1(p->alpha), x), SET1(p->beta));
		return _mm256_max_ps(zero, _mm256_min_ps(one, t));
	case DNNQ_ACT_HARD_SWISH:
		t = _mm256_add_ps(_mm256_div_ps(x, SET1(6.0f)), SET1(0.5f));
		return _mm256_mul_ps(x, _mm256_max_ps(zero, _mm256_min_ps(one, t)));
	case DNNQ_ACT_ELU: case DNNQ_ACT_SELU: case DNNQ_ACT_CELU:
		/* x > 0 ? x : alpha * (e^(x / d) - 1), d alpha for Celu; Selu by gamma */
		t = kind == DNNQ_ACT_CELU ? _mm256_div_ps(x, SET1(p->alpha)) : x;
		t = _mm256_mul_ps(SET1(p->alpha), _mm256_sub_ps(dnnq_exp8(t), one));
		t = _mm256_blendv_ps(t, x, _mm256_cmp_ps(x, zero, _CMP_GT_OQ));
		return kind == DNNQ_ACT_SELU ? _mm256_mul_ps(SET1(p->beta), t) : t;
	case DNNQ_ACT_SHRINK:       /* the scalar's selects: NaN compares false, 0 */
		t = _mm256_and_ps(_mm256_cmp_ps(x, SET1(p->alpha), _CMP_GT_OQ),
		                  _mm256_sub_ps(x, SET1(p->beta)));
		return _mm256_blendv_ps(t, _mm256_add_ps(x, SET1(p->beta)),
		                        _mm256_cmp_ps(x, SET1(-p->alpha), _CMP_LT_OQ));
	case DNNQ_ACT_THRESHOLDED_RELU:
		return _mm256_and_ps(_mm256_cmp_ps(x, SET1(p->alpha), _CMP_GT_OQ), x);
	}
	return x;
}

void dnnq_f32_act_avx2(enum dnnq_activation_kind kind, const struct dnnq_act_params *p,
                       const float *x, float *y, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, act8(kind, p, _mm256_loadu_ps(x + i)));
	dnnq_f32_act_scalar(kind, p, x + i, y + i, n - i);
}

void dnnq_f32_ew_avx2(enum dnnq_eltwise_op op, size_t ninputs, const float *const x[],
                      const bool full[], size_t n, float *y)
{
	__m256 b[DNNQ_ELTWISE_MAX_INPUTS];
	const float *rest[DNNQ_ELTWISE_MAX_INPUTS];
	for (size_t k = 0; k < ninputs; k++)
		b[k] = SET1(x[k][0]);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 t = full[0] ? _mm256_loadu_ps(x[0] + i) : b[0];
		for (size_t k = 1; k < ninputs; k++) {
			__m256 v = full[k] ? _mm256_loadu_ps(x[k] + i) : b[k];
			t = op == DNNQ_ELTWISE_MUL ? _mm256_mul_ps(t, v) : _mm256_add_ps(t, v);
		}
		if (op == DNNQ_ELTWISE_SUM_RELU)
			t = _mm256_max_ps(_mm256_setzero_ps(), t);
		_mm256_storeu_ps(y + i, t);
	}
	for (size_t k = 0; k < ninputs; k++)
		rest[k] = full[k] ? x[k] + i : x[k];
	dnnq_f32_ew_scalar(op, ninputs, rest, full, n - i, y + i);
}

void dnnq_f32_ewlin_avx2(const float *a, const float *b, const float *x, float *y, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 t = _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i));
		_mm256_storeu_ps(y + i, b ? _mm256_add_ps(t, _mm256_loadu_ps(b + i)) : t);
	}
	dnnq_f32_ewlin_scalar(a + i, b ? b + i : NULL, x + i, y + i, n - i);
}

void dnnq_f32_epi_avx2(const float *bias, bool relu, const struct dnnq_act_params *clip,
                       float *y, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 t = _mm256_loadu_ps(y + i);
		if (bias)
			t = _mm256_add_ps(t, _mm256_loadu_ps(bias + i));
		if (relu)
			t = act8(DNNQ_ACT_RELU, clip, t);
		if (clip)
			t = act8(DNNQ_ACT_CLIP, clip, t);
		_mm256_storeu_ps(y + i, t);
	}
	dnnq_f32_epi_scalar(bias ? bias + i : NULL, relu, clip, y + i, n - i);
}

/* Channels [ch, ch + 8) of a window's taps, reduced by max or sum; max as
 * the scalar's t > v ? t : v from the first tap: MAXPS gives its second
 * operand, v, where either is NaN or they are equal. */
static __m256 reduce8(const struct dnnq_f32_win *win, size_t ch, bool sum)
{
	__m256 v = sum ? _mm256_setzero_ps() : _mm256_loadu_ps(win->x + ch);
	for (size_t i = 0; i < win->nh; i++)
		for (size_t j = 0; j < win->nw; j++) {
			__m256 t = _mm256_loadu_ps(win->x + i * win->sh + j * win->sw + ch);
			v = sum ? _mm256_add_ps(v, t) : _mm256_max_ps(t, v);
		}
	return v;
}

static struct dnnq_f32_win tail_win(const struct dnnq_f32_win *win, size_t ch)
{
	return (struct dnnq_f32_win){ win->x + ch, win->nh, win->nw, win->sh, win->sw };
}

void dnnq_f32_maxpool_avx2(const struct dnnq_f32_win *win, size_t c, float *y)
{
	size_t ch = 0;
	for (; ch + 8 <= c; ch += 8)
		_mm256_storeu_ps(y + ch, reduce8(win, ch, false));
	struct dnnq_f32_win rest = tail_win(win, ch);
	dnnq_f32_maxpool_scalar(&rest, c - ch, y + ch);
}

void dnnq_f32_avgpool_avx2(const struct dnnq_f32_win *win, size_t c, float count, float *y)
{
	size_t ch = 0;
	for (; ch + 8 <= c; ch += 8)
		_mm256_storeu_ps(y + ch, _mm256_div_ps(reduce8(win, ch, true), SET1(count)));
	struct dnnq_f32_win rest = tail_win(win, ch);
	dnnq_f32_avgpool_scalar(&rest, c - ch, count, y + ch);
}

void dnnq_f32_dw_avx2(const struct dnnq_f32_win *win, const float *w, size_t wsh,
                      size_t wsw, size_t c, float *y)
{
	size_t ch = 0;
	for (; ch + 8 <= c; ch += 8) {
		__m256 s = _mm256_setzero_ps();
		for (size_t i = 0; i < win->nh; i++)
			for (size_t j = 0; j < win->nw; j++)
				s = _mm256_fmadd_ps(_mm256_loadu_ps(win->x + i * win->sh + j * win->sw + ch),
				                    _mm256_loadu_ps(w + i * wsh + j * wsw + ch), s);
		_mm256_storeu_ps(y + ch, s);
	}
	struct dnnq_f32_win rest = tail_win(win, ch);
	dnnq_f32_dw_scalar(&rest, w + ch, wsh, wsw, c - ch, y + ch);
}

void dnnq_f32_softmax_row_avx2(const float *x, float *y, size_t c, bool logsm)
{
	size_t i = 0;
	float mx = x[0];
	if (c >= 8) {
		__m256 m = _mm256_loadu_ps(x);
		for (i = 8; i + 8 <= c; i += 8)
			m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
		float l[8];
		_mm256_storeu_ps(l, m);
		for (size_t j = 0; j < 8; j++)
			mx = mx > l[j] ? mx : l[j];
	}
	for (; i < c; i++)
		mx = mx > x[i] ? mx : x[i];
	__m256 vmx = SET1(mx);
	__m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
	for (i = 0; i + 8 <= c; i += 8) {
		__m256 e = dnnq_exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx));
		_mm256_storeu_ps(y + i, e);
		lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
		hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
	}
	double s[8];
	_mm256_storeu_pd(s, lo);
	_mm256_storeu_pd(s + 4, hi);
	for (size_t j = i; j < c; j++) {
		y[j] = dnnq_f32_exp(x[j] - mx);
		s[j % 8] += (double)y[j];
	}
	if (logsm) {
		float ls = (float)dnnq_log_sum8(s);
		for (i = 0; i + 8 <= c; i += 8)
			_mm256_storeu_ps(y + i, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx),
			                                      SET1(ls)));
		for (; i < c; i++)
			y[i] = (x[i] - mx) - ls;
		return;
	}
	float inv = (float)(1.0 / dnnq_softmax_sum8(s));
	for (i = 0; i + 8 <= c; i += 8)
		_mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), SET1(inv)));
	for (; i < c; i++)
		y[i] = y[i] * inv;
}
