/*
 * engine/gemm.h — u8 x s8 -> s32 matrix multiplication with pre-packed
 * weights and a fused output pipeline: the engine under FC and convolution.
 *
 *   C[i][j] = out( sum_k (A[i][k] - za) * (W[j][k] - zw[j]) )     i < M, j < N
 *
 * A is M x K u8 activations, row-major with stride lda (read in place, never
 * copied). W is N x K s8 weights (the Caffe2 FC convention; ONNX Gemm with
 * transB=1 is the same, transB=0 is packed from the transpose). W is packed
 * once (dnnq_gemm_pack) into the panel layout of the kernel of the ISA
 * chosen then, with its per-row sums kept beside it.
 *
 * Exactness: the AVX2 kernel multiplies with vpmaddubsw, whose 16-bit pair
 * sums saturate when an activation above 127 meets a weight pair with
 * |w0| + |w1| > 128. The packer records whether every pair is safe; when
 * it is not, dnnq_gemm checks the activations (one cheap pass) and, for the
 * rows that have a byte above 127, runs the kernel twice on the split
 * activations (a & 0x7f, then a & 0x80), which cannot saturate. So results
 * are exact for every input, fast when activations are 7-bit (the
 * quantizer's reduce_range) or weights are 7-bit. On CPUs with AVX-512
 * VNNI the same packed weights run through vpdpbusd instead, which sums
 * u8 x s8 products straight into int32 and cannot saturate; set
 * DNNQ_GEMM=avx2 in the environment to keep the AVX2 kernel. The results
 * are identical either way. docs/gemm.md has the details and the numbers.
 */
#ifndef DNNQ_ENGINE_GEMM_H
#define DNNQ_ENGINE_GEMM_H

#include "engine/executor.h"
#include "engine/quant.h"

struct dnnq_gemm_weights {
	enum dnnq_isa isa;     /* the kernel the layout is for */
	size_t n, k;
	int8_t *data;          /* packed panels, DNNQ_ALIGN aligned */
	size_t data_bytes;
	int32_t *row_sums;     /* sum_k W[j][k], n entries */
	bool pair_safe;        /* no u8 activation can saturate a pair sum */
	bool vnni;             /* AVX2 layout run by the AVX-512 VNNI kernel */
};

/* Packs W (n x k, row stride ldw) for `isa`. */
int dnnq_gemm_pack(enum dnnq_isa isa, const int8_t *w, size_t n, size_t k, size_t ldw,
                   struct dnnq_gemm_weights *out, struct dnnq_diag *diag);
void dnnq_gemm_weights_free(struct dnnq_gemm_weights *w);
/* W[j][k] read back from either packed layout (for references and tools). */
int8_t dnnq_gemm_weight(const struct dnnq_gemm_weights *w, size_t j, size_t k);

/* The fused output pipeline, applied as each tile is stored. */
struct dnnq_gemm_output {
	int32_t a_zero_point;
	size_t nwzp;                /* 0 (symmetric weights), 1 or n */
	const int32_t *w_zero_points;
	const int32_t *bias;        /* optional, n entries, int32 at a_scale * w_scale */
	/* Optional, n entries: bias[j] - za * sum_k W[j][k] + K * za * zw[j],
	 * precomputed by an operator that knows za at create; when set it
	 * replaces those three terms (bias and a_zero_point are then ignored)
	 * and saves the output stage two multiplies per element. */
	const int32_t *colterm;
	enum dnnq_dtype dtype;      /* S32, U8 (requantized) or F32 (dequantized) */
	struct dnnq_requant rq;     /* U8: multipliers, zero point, clamp (ReLU) */
	size_t nscale;              /* F32: 1 or n scales (a_scale * w_scale[j]) ... */
	const float *scale;
	const float *fbias;         /* ... and an optional float bias, n entries */
	bool relu;                  /* F32: clamp at 0 */
};

/* C (M x N, row stride ldc elements of out->dtype) = A * W^T through `out`.
 * ex may be NULL. Fails only on invalid arguments; the ISA is w->isa. */
int dnnq_gemm(const struct dnnq_gemm_weights *w, size_t m, const uint8_t *a, size_t lda,
              void *c, size_t ldc, const struct dnnq_gemm_output *out,
              const struct dnnq_executor *ex);

#endif
