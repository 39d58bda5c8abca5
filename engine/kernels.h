/*
 * engine/kernels.h — kernel dispatch: one table per ISA.
 *
 * Each enum dnnq_isa value names one `struct dnnq_kernels`, a constant table
 * (filled once, by the compiler) of the function pointers of that ISA's
 * kernels and the tiles of its GEMM kernels. An operator looks its table up
 * at create (dnnq_kernels: NULL when the value names no ISA or this CPU
 * lacks it) and its tasks call through it; nothing else in the engine asks
 * which ISA it runs. An ISA without a kernel of its own for some step points
 * at the best one it can run (AVX-512 VNNI shares every AVX2 kernel but the
 * GEMM and depthwise ones), so a table is always complete.
 *
 * Kernels are named by family, tile and ISA, XNNPACK style:
 * dnnq_gemm_4x16c4__avx2 is the GEMM kernel of a 4-row by 16-column tile
 * reading weights in groups of 4 k (the "c4" panels), for AVX2.
 */
#ifndef DNNQ_ENGINE_KERNELS_H
#define DNNQ_ENGINE_KERNELS_H

#include "engine/base.h"
#include "engine/quant.h"

struct dnnq_gemm_job;
struct dnnq_conv;
struct dnnq_ew_kernel;
struct dnnq_ewlin_kernel;
struct dnnq_nchw_kernel;
struct dnnq_pooling_win;
struct dnnq_pooling_row;
struct dnnq_avgpool_k;
struct dnnq_quant_k;

/* Rows [i0, i1) x columns [j0, j1) of a GEMM job (engine/gemm-kernels.h). */
typedef void (*dnnq_gemm_block_fn)(const struct dnnq_gemm_job *job, size_t i0, size_t i1,
                                   size_t j0, size_t j1);

/* A GEMM micro-kernel and the weight layout it reads. nr == 1: weights are
 * row-major n x k; nr > 1: panels of nr columns by groups of kr k
 * (DNNQ_GEMM_NR x 4, engine/gemm-avx2.c), the same for every kernel that
 * has them, so one packing serves all. */
struct dnnq_gemm_ukernel {
	const char *name;           /* "gemm_4x16c4__avx2" */
	unsigned mr, nr, kr;        /* most rows, columns, k of one tile */
	dnnq_gemm_block_fn block;
};

/* A depthwise convolution kernel (engine/conv-kernels.h). pack lays the
 * cout x taps weights (OHWI) out as row reads them and returns the bytes
 * that takes (with dst NULL: only the size); row computes channels
 * [c0, c1) of one output row, the output stage included, reading a tap
 * table padded to a multiple of tg taps (dnnq_dw_tap_table); c0 is a
 * multiple of DNNQ_DW_BLOCK, c1 one too or cout. */
struct dnnq_dw_ukernel {
	const char *name;           /* "dw_32c2__avx2" */
	unsigned tg;                /* taps per weight group */
	size_t (*pack)(const int8_t *w, size_t cout, size_t taps, void *dst);
	void (*row)(const struct dnnq_conv *c, size_t img, size_t oy, size_t c0, size_t c1,
	            void *scratch);
};

struct dnnq_kernels {
	enum dnnq_isa isa;
	struct dnnq_gemm_ukernel gemm;        /* 32-bit accumulation, exact */
	struct dnnq_gemm_ukernel gemm_acc16;  /* 16-bit accumulation (dnnq_gemm_pack_acc16) */
	struct dnnq_dw_ukernel dw;
	void (*maxpool_row)(const struct dnnq_pooling_row *row, size_t c, uint8_t *y);
	void (*avgpool)(const struct dnnq_pooling_win *win, size_t c,
	                const struct dnnq_avgpool_k *k, uint8_t *y);
	void (*pool_sums)(const struct dnnq_pooling_win *win, size_t c, uint32_t *sum);
	void (*ew)(const struct dnnq_ew_kernel *k, size_t i0, size_t i1);
	void (*ewlin)(const struct dnnq_ewlin_kernel *k, size_t i0, size_t i1);
	void (*lut)(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n);
	void (*quantize_nchw)(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
	                      size_t p1, size_t c0, size_t c1);
	void (*dequantize_nchw)(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
	                        size_t p1, size_t c0, size_t c1);
	void (*softmax_row)(const float texp[256], const uint8_t *x, float *y, size_t n);
	void (*quantize)(const float *x, void *q, enum dnnq_dtype dt, size_t n,
	                 const struct dnnq_quant_k *k);
	void (*dequantize)(const void *q, enum dnnq_dtype dt, float *x, size_t n,
	                   const struct dnnq_quant_k *k);
	void (*requantize)(const int32_t *acc, void *out, enum dnnq_dtype dt, size_t rows,
	                   size_t cols, const struct dnnq_requant *rq);
};

extern const struct dnnq_kernels dnnq_kernel_tables[DNNQ_ISA_COUNT];

/* The table of `isa`; NULL when it names no ISA or this CPU lacks it. */
const struct dnnq_kernels *dnnq_kernels(enum dnnq_isa isa);

/* The table of an ISA already checked (by an operator's create). */
static inline const struct dnnq_kernels *dnnq_kernels_of(enum dnnq_isa isa)
{
	return &dnnq_kernel_tables[isa];
}

#endif
