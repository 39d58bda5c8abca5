/*
 * engine/quant-kernels.h — the per-ISA loops behind dnnq_quantize,
 * dnnq_dequantize and dnnq_requantize. Arguments are already validated by the
 * public functions in quant.c; these only compute.
 */
#ifndef DNNQ_ENGINE_QUANT_KERNELS_H
#define DNNQ_ENGINE_QUANT_KERNELS_H

#include "engine/quant.h"

/* Quantization constants as the kernels use them: all floats, so the clamp
 * and the zero-point addition happen in one exact float pass. */
struct dnnq_quant_k {
	float scale, zp, qmin, qmax;
	int32_t izp;
};

void dnnq_quantize_scalar(const float *x, void *q, enum dnnq_dtype dt, size_t n,
                          const struct dnnq_quant_k *k);
void dnnq_quantize_avx2(const float *x, void *q, enum dnnq_dtype dt, size_t n,
                        const struct dnnq_quant_k *k);
void dnnq_dequantize_scalar(const void *q, enum dnnq_dtype dt, float *x, size_t n,
                            const struct dnnq_quant_k *k);
void dnnq_dequantize_avx2(const void *q, enum dnnq_dtype dt, float *x, size_t n,
                          const struct dnnq_quant_k *k);
void dnnq_requantize_scalar(const int32_t *acc, void *out, enum dnnq_dtype dt,
                            size_t rows, size_t cols, const struct dnnq_requant *rq);
void dnnq_requantize_avx2(const int32_t *acc, void *out, enum dnnq_dtype dt,
                          size_t rows, size_t cols, const struct dnnq_requant *rq);

/* Element i of an int array of type dt (U8, S8, S32), widened / narrowed. */
static inline int32_t dnnq_int_get(const void *p, enum dnnq_dtype dt, size_t i)
{
	switch (dt) {
	case DNNQ_DTYPE_U8:  return ((const uint8_t *)p)[i];
	case DNNQ_DTYPE_S8:  return ((const int8_t *)p)[i];
	default:             return ((const int32_t *)p)[i];
	}
}

static inline void dnnq_int_set(void *p, enum dnnq_dtype dt, size_t i, int32_t v)
{
	switch (dt) {
	case DNNQ_DTYPE_U8:  ((uint8_t *)p)[i] = (uint8_t)v; break;
	case DNNQ_DTYPE_S8:  ((int8_t *)p)[i] = (int8_t)v; break;
	default:             ((int32_t *)p)[i] = v; break;
	}
}

static inline size_t dnnq_int_size(enum dnnq_dtype dt)
{
	return dt == DNNQ_DTYPE_S32 ? 4 : 1;
}

#endif
