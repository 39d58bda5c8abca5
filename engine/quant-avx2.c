/* AVX2 loops of the quantization core; the tails use the scalar steps, so a
 * result never depends on where an element falls. */
#include "engine/quant-avx2.h"
#include "engine/quant-kernels.h"
#include "engine/quant-scalar.h"

void dnnq_quantize_avx2(const float *x, void *q, enum dnnq_dtype dt, size_t n,
                        const struct dnnq_quant_k *k)
{
	const __m256 scale = _mm256_set1_ps(k->scale), zp = _mm256_set1_ps(k->zp);
	const __m256 qmin = _mm256_set1_ps(k->qmin), qmax = _mm256_set1_ps(k->qmax);
	size_t es = dnnq_int_size(dt), i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), scale);
		dnnq_avx2_store8((char *)q + i * es, dt, dnnq_avx2_saturate_rne(v, zp, qmin, qmax));
	}
	for (; i < n; i++)
		dnnq_int_set(q, dt, i, dnnq_quantize_1(x[i], k->scale, k->zp, k->qmin, k->qmax));
}

void dnnq_dequantize_avx2(const void *q, enum dnnq_dtype dt, float *x, size_t n,
                          const struct dnnq_quant_k *k)
{
	const __m256i zp = _mm256_set1_epi32(k->izp);
	const __m256 scale = _mm256_set1_ps(k->scale);
	size_t es = dnnq_int_size(dt), i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256i v = _mm256_sub_epi32(dnnq_avx2_load8((const char *)q + i * es, dt), zp);
		_mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_cvtepi32_ps(v), scale));
	}
	for (; i < n; i++)
		x[i] = dnnq_dequantize_1(dnnq_int_get(q, dt, i), k->izp, k->scale);
}

static void requant_row(const int32_t *acc, void *out, enum dnnq_dtype dt, size_t cols,
                        const struct dnnq_requant *rq)
{
	const bool per_ch = rq->nchan != 1, fixed = rq->kind == DNNQ_REQUANT_FIXED;
	const __m256 zpf = _mm256_set1_ps((float)rq->zero_point);
	const __m256 qminf = _mm256_set1_ps((float)rq->qmin), qmaxf = _mm256_set1_ps((float)rq->qmax);
	const __m256i zpi = _mm256_set1_epi32(rq->zero_point);
	const __m256i lo = _mm256_set1_epi32(rq->qmin - rq->zero_point);
	const __m256i hi = _mm256_set1_epi32(rq->qmax - rq->zero_point);
	__m256 fm = fixed ? _mm256_setzero_ps() : _mm256_set1_ps(rq->fmult[0]);
	__m256i qm = fixed ? _mm256_set1_epi32(rq->qmult[0]) : _mm256_setzero_si256();
	__m256i qs = fixed ? _mm256_set1_epi32(rq->qshift[0]) : _mm256_setzero_si256();
	size_t c = 0;   /* outputs are 8-bit */
	for (; c + 8 <= cols; c += 8) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(acc + c)), v;
		if (fixed) {
			if (per_ch) {
				qm = _mm256_loadu_si256((const __m256i *)(rq->qmult + c));
				qs = _mm256_loadu_si256((const __m256i *)(rq->qshift + c));
			}
			v = dnnq_avx2_requant_fixed(a, qm, qs, zpi, lo, hi);
		} else {
			if (per_ch)
				fm = _mm256_loadu_ps(rq->fmult + c);
			v = dnnq_avx2_saturate_rne(_mm256_mul_ps(_mm256_cvtepi32_ps(a), fm),
			                           zpf, qminf, qmaxf);
		}
		dnnq_avx2_store8((char *)out + c, dt, v);
	}
	for (; c < cols; c++) {
		size_t ch = per_ch ? c : 0;
		int32_t v = fixed
			? dnnq_requant_fixed_1(acc[c], rq->qmult[ch], rq->qshift[ch],
			                       rq->zero_point, rq->qmin, rq->qmax)
			: dnnq_requant_float_1(acc[c], rq->fmult[ch], (float)rq->zero_point,
			                       (float)rq->qmin, (float)rq->qmax);
		dnnq_int_set(out, dt, c, v);
	}
}

void dnnq_requantize_avx2(const int32_t *acc, void *out, enum dnnq_dtype dt,
                          size_t rows, size_t cols, const struct dnnq_requant *rq)
{
	/* per-tensor: the matrix is one long row */
	if (rq->nchan == 1) {
		cols *= rows;
		rows = 1;
	}
	for (size_t r = 0; r < rows; r++)
		requant_row(acc + r * cols, (char *)out + r * cols, dt, cols, rq);
}
