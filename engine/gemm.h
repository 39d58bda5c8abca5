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
 * row blocks that have a byte above 127, multiplies |w| by a ^ key (the
 * sign trick, gemm-avx2.c: a - 128 or 127 - a by the weight's sign, which
 * cannot saturate) and adds the per-column correction back. So results
 * are exact for every input, in one pass; 7-bit activations (the
 * quantizer's reduce_range) or 7-bit weights save the trick's two extra
 * instructions. Weights packed for
 * DNNQ_ISA_AVX512VNNI have the same panels and run through vpdpbusd, which
 * sums u8 x s8 products straight into int32 and cannot saturate. The
 * results are identical on every ISA. docs/gemm.md has the details and the
 * numbers.
 *
 * 16-bit accumulation (acc16, the DNNLOWP_ACC16 / FBGEMM idea): packed with
 * dnnq_gemm_pack_acc16, W = W_main + W_outlier, W_main holding the weights
 * that fit in nbits (W_main is 0 where W_outlier is not). X * W_main^T runs
 * with int16 saturating accumulators (vpmaddubsw, vpaddsw: two
 * instructions per 32 multiply-adds instead of three), added into int32
 * every `spill` steps; X * W_outlier^T runs exact in int32 from a sparse
 * form. Not exact: a 16-bit sum that leaves int16 saturates. The order of
 * every 16-bit addition is fixed (docs/gemm.md, "16-bit accumulation"), and
 * the scalar and AVX2 paths perform the same ones, so their results are
 * identical, saturated or not.
 */
#ifndef DNNQ_ENGINE_GEMM_H
#define DNNQ_ENGINE_GEMM_H

#include "engine/executor.h"
#include "engine/kernels.h"
#include "engine/quant.h"

/* group_ends entries per panel (struct dnnq_gemm_weights) */
#define DNNQ_GEMM_ENDS 6

struct dnnq_gemm_weights {
	enum dnnq_isa isa;     /* packed for this ISA's table (engine/kernels.h) */
	const struct dnnq_gemm_ukernel *kernel; /* the one that runs them: its
	                          gemm or gemm_acc16, whose layout data has */
	size_t n, k;
	int8_t *data;          /* packed panels, DNNQ_ALIGN aligned */
	size_t data_bytes;
	int32_t *row_sums;     /* sum_k W[j][k], n entries */
	bool pair_safe;        /* no u8 activation can saturate a pair sum */
	int32_t *sign_fix;     /* AVX2 32-bit kernel: n entries, 128 * row_sums[j]
	                          minus the sum of W[j]'s negative entries (the
	                          AVX2 kernel's sign trick, gemm-avx2.c), over
	                          the groups the trick runs on (below) */
	/* AVX2 32-bit kernel: each panel's k / 4 full groups of 4 k, packed
	 * by which of the panel's two halves (8 columns) have pairs that no
	 * u8 activation can saturate (those take the direct product in every
	 * tile; the sign trick only the rest): both first, then the first
	 * half only, the second half only, neither (each class in k order);
	 * and before those, pairs of groups of the first class (two
	 * consecutive places) whose int16 lanes no u8 activation can take
	 * out of int16 when added together in a half (the kernel adds their
	 * vpmaddubsw products with vpaddw before one vpmaddwd), in both
	 * halves, then in the first only, in the second only (the other half
	 * by two direct products; gemm.c pair_groups). group_off[p * (k / 4)
	 * + s] is the first k of the group stored s-th in panel p, group_pos
	 * the inverse (the stored place of group k / 4),
	 * group_ends[DNNQ_GEMM_ENDS * p + c] where class c ends (the three
	 * pair classes, then the single ones but the last); with K < 64 one
	 * class (neither) in k order and no pairs (gemm.c). NULL for other
	 * kernels. */
	uint16_t *group_off, *group_pos;
	uint16_t *group_ends;
	/* AVX2 32-bit kernel with K < 64 (one class, k order): where in data,
	 * after the panels, each panel's |w| and keys start (0: none): per
	 * group of 4 k the panel row's |w| (4 bytes a column) and then its
	 * keys (0x7f where w < 0, else 0x80), so that a sign tile loads its
	 * operands instead of deriving them (gemm-avx2.c) */
	size_t sign_off;
	/* acc16 (dnnq_gemm_pack_acc16): data holds W_main in the layout of
	 * `isa`; W_outlier is sparse by output channel: entries
	 * [out_ptr[j], out_ptr[j + 1]) of channel j each hold two of its
	 * outliers, in increasing k: out_idx[e] = k1 | k2 << 16, out_val[e] =
	 * w1 | w2 << 16 (int16 each); an odd last one has w2 = 0, k2 = k1. */
	bool acc16;
	unsigned acc16_nbits, acc16_spill;
	size_t outliers;        /* nonzero entries of W_outlier */
	double outlier_density; /* outliers / (n * k) */
	uint32_t *out_ptr;      /* n + 1 entries (NULL unless acc16) */
	uint32_t *out_idx;
	int32_t *out_val;
};

/* Packs W (n x k, row stride ldw) for `isa`. */
int dnnq_gemm_pack(enum dnnq_isa isa, const int8_t *w, size_t n, size_t k, size_t ldw,
                   struct dnnq_gemm_weights *out, struct dnnq_diag *diag);
void dnnq_gemm_weights_free(struct dnnq_gemm_weights *w);

/* An order of the k of W (n x k, dense) under which more of the AVX2
 * kernel's groups of 4 k are safe in more halves (no vpmaddubsw pair of
 * theirs can saturate in any of the half's 8 columns: those run the
 * direct product instead of the sign trick): perm[t] is the k to put at
 * place t. With e (k x ke, dense, or NULL), the GEMM whose output
 * channels are W's k in that order too: its (group, half) that are safe
 * count e_weight times (its rows per W's row) beside W's. A local search
 * from the identity, deterministic for the weights; the last k % 4 stay
 * in place. *gained: how many (group, half) more are safe than in k order
 * (e's times e_weight). For inputs whose channels the producer can store
 * in any order (model-build.c: an inverted residual block's hidden
 * channels). DNNQ_E_NOMEM or DNNQ_OK. */
int dnnq_gemm_safe_order(const int8_t *w, size_t n, size_t k, const int8_t *e, size_t ke,
                         unsigned e_weight, uint32_t *perm, size_t *gained);
/* Whether GEMM weights packed for isa take the sign trick (and so gain
 * from dnnq_gemm_safe_order) */
bool dnnq_gemm_isa_sign_trick(enum dnnq_isa isa);

#define DNNQ_ACC16_DEFAULT_NBITS 7
/* Steps between spills when dnnq_acc16_opts.spill is 0 (docs/gemm.md has
 * the measurement that chose it). */
#define DNNQ_ACC16_DEFAULT_SPILL 8
struct dnnq_acc16_opts {
	unsigned nbits;   /* nbits_in_non_outlier, 2..8: W_main keeps the weights in
	                     [-2^(nbits-1), 2^(nbits-1) - 1], W_outlier the rest; 0: 7 */
	unsigned spill;   /* the 16-bit accumulators are added into 32-bit ones every
	                     `spill` steps of the K loop; one step = one group of 4 K
	                     values: one vpmaddubsw per accumulator, each int16 lane
	                     adding one pair (2 K values). 1..65535; 0: the default,
	                     DNNQ_ACC16_DEFAULT_SPILL */
};
/* Packs W (n x k, stride ldw) split as W_main (acc16 kernel layout) + W_outlier
 * (sparse, 32-bit accumulation). out->acc16 is set; dnnq_gemm runs it. o may
 * be NULL (the defaults). */
int dnnq_gemm_pack_acc16(enum dnnq_isa isa, const int8_t *w, size_t n, size_t k, size_t ldw,
                         const struct dnnq_acc16_opts *o, struct dnnq_gemm_weights *out,
                         struct dnnq_diag *diag);
/* Saturation events the acc16 main part meets on this input: *events counts
 * 16-bit additions that saturated, *adds all 16-bit additions (scalar
 * emulation of exactly what the kernel does: per output, step and int16
 * lane, the vpmaddubsw pair sum and the vpaddsw accumulation, two
 * additions). For calibration and tests. */
int dnnq_gemm_acc16_saturation(const struct dnnq_gemm_weights *w, size_t m, const uint8_t *a,
                               size_t lda, uint64_t *events, uint64_t *adds);
/* W[j][k] read back from either packed layout (for references and tools);
 * for acc16 weights W_main + W_outlier, the W that was packed. */
int8_t dnnq_gemm_weight(const struct dnnq_gemm_weights *w, size_t j, size_t k);
/* Row j of the weights (w->k entries), as dnnq_gemm_weight gives them one
 * by one, in one pass over the row's outliers. */
void dnnq_gemm_weight_row(const struct dnnq_gemm_weights *w, size_t j, int8_t *row);

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
	/* U8: a 256-entry table each stored value goes through (an activation
	 * the graph fused into a convolution's output stage); NULL: none */
	const uint8_t *lut;
	/* U8: then post(post_ctx, y, n) on each run of n values at y just
	 * stored, in place (an elementwise node the graph fused into a
	 * convolution's output stage: a residual Add); NULL: none */
	void (*post)(const void *post_ctx, uint8_t *y, size_t n);
	const void *post_ctx;
	/* Optional: pre(pre_ctx, i0, i1) writes rows [i0, i1) of A before
	 * they are read (a node the graph fused into a convolution's input:
	 * a squeeze-and-excitation scale's Mul); a task whose rectangle has
	 * all the columns makes its own rows, else every row is made first,
	 * in a pass of its own. NULL: A is there already. */
	void (*pre)(const void *pre_ctx, size_t i0, size_t i1);
	const void *pre_ctx;
};

/* Checks an output pipeline for n columns: dnnq_gemm does it on every
 * call, an operator once, when it binds the pipeline (dnnq_qlinear_bind),
 * and then runs dnnq_gemm_run. */
int dnnq_gemm_output_check(size_t n, const struct dnnq_gemm_output *o);

/* C (M x N, row stride ldc elements of out->dtype) = A * W^T through `out`.
 * ex may be NULL. Fails only on invalid arguments; the ISA is w->isa. */
int dnnq_gemm(const struct dnnq_gemm_weights *w, size_t m, const uint8_t *a, size_t lda,
              void *c, size_t ldc, const struct dnnq_gemm_output *out,
              const struct dnnq_executor *ex);
/* dnnq_gemm with `out` already checked (dnnq_gemm_output_check for w->n
 * columns): its per-channel loop was ~2% of an M = 4 FC's run. */
int dnnq_gemm_run(const struct dnnq_gemm_weights *w, size_t m, const uint8_t *a, size_t lda,
                  void *c, size_t ldc, const struct dnnq_gemm_output *out,
                  const struct dnnq_executor *ex);

#endif
