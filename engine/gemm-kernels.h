/*
 * engine/gemm-kernels.h — what gemm.c shares with the per-ISA GEMM files:
 * the job a parallel_for task works on, the blocking, and the scalar output
 * step every kernel reproduces.
 */
#ifndef DNNQ_ENGINE_GEMM_KERNELS_H
#define DNNQ_ENGINE_GEMM_KERNELS_H

#include <string.h>

#include "engine/gemm.h"
#include "engine/kernels.h"
#include "engine/quant-scalar.h"

#define DNNQ_GEMM_MR 4        /* rows of the AVX2 micro-tile */
#define DNNQ_GEMM_NR 16       /* columns of an AVX2 weight panel */
#define DNNQ_GEMM_MC 64       /* rows of A one task covers (A block in L2) */
#define DNNQ_GEMM_NC_BYTES (512u << 10)  /* weight bytes one task covers (in L2) */
/* weights up to this size are split by rows, at least this many a
 * thread, not by columns, on several threads (gemm.c small_rows) */
#define DNNQ_GEMM_ROWSPLIT_BYTES (64u << 10)
#define DNNQ_GEMM_ROWSPLIT_ROWS 8
#define DNNQ_GEMM_MAX_K 32768 /* keeps every int32 intermediate exact */

/* One call's work, split into tasks = (column chunk, row block) pairs;
 * consecutive tasks share a column chunk, so its weights stay in cache. */
struct dnnq_gemm_job {
	const struct dnnq_gemm_weights *w;
	size_t m;
	const uint8_t *a;
	size_t lda;
	void *c;
	size_t ldc;
	const struct dnnq_gemm_output *out;
	size_t mc, nc;              /* rows per block, columns per chunk */
	size_t mblocks, nchunks;
};

/* dnnq_gemm_run of job's operands (w to out, `out` checked; its blocking
 * fields are filled here) through *kept, a job the caller keeps from run
 * to run, whose fields are stored only where they change (DNNQ_KEEP): the
 * tasks on other threads read it, so a job on the caller's stack cost
 * each of them a miss a run. */
int dnnq_gemm_run_kept(struct dnnq_gemm_job *kept, const struct dnnq_gemm_job *job,
                       const struct dnnq_executor *ex);

/* Two dnnq_gemm_run calls whose operands (w to out, `out` checked) are
 * job[0]'s and job[1]'s, the second reading the first's u8 output as A
 * (two 1x1 convolutions one after the other): on several threads, where
 * both cut their rows alike and give each task all the columns, in one
 * parallel_for whose task makes a row block of the first and then the
 * same rows of the second, on one thread, while they are in cache (no
 * join between them); else one call after the other. Every element is computed as by the two
 * calls. Run through kept[2] as dnnq_gemm_run_kept. */
int dnnq_gemm_run_chain(struct dnnq_gemm_job kept[2], const struct dnnq_gemm_job job[2],
                        const struct dnnq_executor *ex);


/* The rows of A a task covers for m rows on ex: DNNQ_GEMM_MC, or on
 * several threads fewer, as many blocks as a multiple of the threads and
 * of equal rows (13 blocks of a 28x28 output on 2 threads: 7 and 6; 14 of
 * 56 rows instead; 196 rows: 4 of 49, not 64, 64, 64 and 4). Each row's
 * result does not depend on its block. One block is split by columns
 * (dnnq_gemm_chunk_cols). */
static inline size_t dnnq_gemm_block_rows(const struct dnnq_executor *ex, size_t m)
{
	return m > DNNQ_GEMM_MC ? dnnq_even_pieces(ex, m, DNNQ_GEMM_MC, 1) : DNNQ_GEMM_MC;
}

/* The columns a task covers when the n columns of `blocks` row blocks are
 * cut into chunks on ex: a whole number of DNNQ_GEMM_NR-column panels, at
 * most max_cols (a multiple of DNNQ_GEMM_NR: what keeps a chunk's weights
 * in L2). On several threads, when the blocks alone do not go evenly to
 * the threads, the cut whose busiest thread (taking every nt-th task)
 * has the fewest panels, the fewest chunks of those: one 49-row block of
 * 576 columns was cut into 9 chunks of 64 (5 against 4), now 2 of 288.
 * Each output's result does not depend on its chunk. */
static inline size_t dnnq_gemm_chunk_cols(const struct dnnq_executor *ex, size_t blocks,
                                          size_t n, size_t max_cols)
{
	size_t panels = (n + DNNQ_GEMM_NR - 1) / DNNQ_GEMM_NR;
	if (panels == 0)
		return DNNQ_GEMM_NR;
	return dnnq_split_panels(ex, blocks, panels, (n + max_cols - 1) / max_cols) * DNNQ_GEMM_NR;
}

/* What the graph fused into the output stage (out->lut, then out->post;
 * NULL: nothing to do) over rows [i0, i1) x columns [j0, j1) of a U8
 * output with row stride ldc, just stored (still in L1), in place: the
 * table with the ISA's LUT kernel, then the elementwise node, a run of
 * whole rows at once. */
void dnnq_gemm_apply_post(enum dnnq_isa isa, const struct dnnq_gemm_output *out, void *c,
                          size_t ldc, size_t i0, size_t i1, size_t j0, size_t j1);

/* The GEMM kernels (engine/kernels.h has their tables): rows [i0, i1) x
 * columns [j0, j1) of the job's output on the calling thread
 * (i1 - i0 <= DNNQ_GEMM_MC). Operators that build their own A blocks
 * (convolution's im2col) call them through dnnq_gemm_rows.
 * 1x1__scalar: the reference, one dot product per output, row-major weights.
 * 4x16c4__avx2: vpmaddubsw on 16c4 panels, by the sign trick for the
 * row blocks that could saturate (gemm-avx2.c).
 * 6x64c4__avx512vnni: vpdpbusd (u8 x s8 summed into int32, nothing to
 * saturate) on the same panels; the output stage is the AVX2 one, through
 * a tile (gemm-avx512vnni.c). */
void dnnq_gemm_1x1__scalar(const struct dnnq_gemm_job *job, size_t i0, size_t i1,
                           size_t j0, size_t j1);
void dnnq_gemm_4x16c4__avx2(const struct dnnq_gemm_job *job, size_t i0, size_t i1,
                            size_t j0, size_t j1);
void dnnq_gemm_6x64c4__avx512vnni(const struct dnnq_gemm_job *job, size_t i0, size_t i1,
                                  size_t j0, size_t j1);

/* The output stage of row i, columns [j0, j1), from raw sums acc[j - j0] and
 * per-column activation sums xsum[j - j0] (needed only with weight zero
 * points; NULL otherwise): for operators whose activation sum differs per
 * column (depthwise convolution). job->w provides the weight sums and k. */
void dnnq_gemm_store_row_scalar(const struct dnnq_gemm_job *job, size_t i, size_t j0,
                                size_t j1, const int32_t *acc, const int32_t *xsum);

/* For rows r < rows of a (stride lda, k bytes each): sum[r] = their sum
 * and *big = whether one of the rows' bytes exceeds 127; either may be
 * NULL. */
void dnnq_gemm_scan_avx2(const uint8_t *a, size_t lda, size_t rows, size_t k, bool *big,
                         int32_t *sum);
/* The output stage of an mr x width tile of raw sums (row stride ldt) at
 * (i0, j0), with each row's activation sum. */
void dnnq_gemm_store_tile_avx2(const struct dnnq_gemm_job *job, size_t i0, size_t mr,
                               size_t j0, size_t width, const int32_t *tile, size_t ldt,
                               const int32_t *rowsum);

/* acc16 weights (gemm-acc16.c, gemm-acc16-avx2.c): the same contract. */
void dnnq_gemm_acc16_1x1__scalar(const struct dnnq_gemm_job *job, size_t i0, size_t i1,
                                 size_t j0, size_t j1);
void dnnq_gemm_acc16_4x16c4__avx2(const struct dnnq_gemm_job *job, size_t i0, size_t i1,
                                  size_t j0, size_t j1);
/* sum_k A[k] * W_outlier[j][k], exact (a: one row of A). */
int32_t dnnq_gemm_acc16_outlier_dot(const struct dnnq_gemm_weights *w, size_t j,
                                    const uint8_t *a);
/* W_main[j][k] (all of W for 32-bit weights) from the layout of w->kernel. */
int8_t dnnq_gemm_main_weight(const struct dnnq_gemm_weights *w, size_t j, size_t k);

/* Whether w is in the 16c4 panel layout (else row-major). */
static inline bool dnnq_gemm_paneled(const struct dnnq_gemm_weights *w)
{
	return w->kernel->nr > 1;
}

/* Whether w runs the AVX2 32-bit kernel, whose sign trick needs
 * w->sign_fix (gemm-avx2.c). */
static inline bool dnnq_gemm_sign_trick(const struct dnnq_gemm_weights *w)
{
	return w->kernel->block == dnnq_gemm_4x16c4__avx2;
}

/* m <= DNNQ_GEMM_MC rows of A times columns [j0, j1) of W through `out`, on
 * the calling thread, with arguments already validated (by the operator's
 * create). j0 is a multiple of DNNQ_GEMM_NR. */
static inline void dnnq_gemm_rows(const struct dnnq_gemm_weights *w, size_t m,
                                  const uint8_t *a, size_t lda, void *c, size_t ldc,
                                  const struct dnnq_gemm_output *out, size_t j0, size_t j1)
{
	struct dnnq_gemm_job job = { w, m, a, lda, c, ldc, out, DNNQ_GEMM_MC, w->n, 1, 1 };
	w->kernel->block(&job, 0, m, j0, j1);
	dnnq_gemm_apply_post(w->isa, out, c, ldc, 0, m, j0, j1);
}

/* The VNNI kernel on an implicit im2col: m <= DNNQ_GEMM_MC rows of A, row
 * i the kh segments of seg bytes (seg a multiple of 4, k = kh * seg) at
 * segs[i * kh + s], times columns [j0, j1) of W (packed for
 * dnnq_gemm_6x64c4__avx512vnni) through `out`, whose weights are
 * symmetric (nwzp 0: no row sums); the fused table applied. */
void dnnq_gemm_segs_avx512vnni(const struct dnnq_gemm_weights *w, size_t m,
                               const uint8_t *const *segs, size_t kh, size_t seg, void *c,
                               size_t ldc, const struct dnnq_gemm_output *out, size_t j0,
                               size_t j1);

/* dnnq_gemm_pack for the table's 32-bit kernel, or (acc16) for its acc16
 * one (the same layout; only the 32-bit AVX2 kernel needs sign_fix). */
int dnnq_gemm_pack_kernel(enum dnnq_isa isa, bool acc16, const int8_t *w, size_t n, size_t k,
                          size_t ldw, struct dnnq_gemm_weights *out, struct dnnq_diag *diag);
/* The 16c4 panels of n x k weights W (stride ldw) at dst; group_off: each
 * panel's full groups in that order (struct dnnq_gemm_weights), else NULL
 * (k order). */
int dnnq_gemm_pack_avx2(const int8_t *w, size_t n, size_t k, size_t ldw,
                        const uint16_t *group_off, int8_t *dst);
/* The |w| and key rows of the n x k panels at data, after them
 * (struct dnnq_gemm_weights: sign_off). */
void dnnq_gemm_pack_sign_avx2(int8_t *data, size_t n, size_t k);

/* n (1..4) bytes at p as the low bytes of an int32 (the activation
 * broadcast of the micro-kernels); with n a constant 4 it is one load. */
static inline __attribute__((always_inline)) int32_t dnnq_load4(const uint8_t *p, size_t n)
{
	int32_t v = 0;
	if (n == 4) {
		memcpy(&v, p, 4);
		return v;
	}
	/* built in a register: a byte-wise copy into v was stored to the
	 * stack and read back as one word, a failed store forwarding per row
	 * and tile (K = 27, a first layer's, spent half its GEMM on it) */
	uint32_t u = n & 3 ? p[0] : 0;
	if ((n & 3) > 1)
		u |= (uint32_t)p[1] << 8;
	if ((n & 3) > 2)
		u |= (uint32_t)p[2] << 16;
	return (int32_t)u;
}

/* Bytes of an AVX2 weight panel of `cols` columns: 4 bytes per column per
 * group of 4 k (k padded with zeros to a multiple of 4). */
static inline size_t dnnq_gemm_panel_bytes(size_t cols, size_t k)
{
	return cols * ((k + 3) & ~(size_t)3);
}

/* Zero-point corrections and bias: sum (a - za)(w - zw) + bias from the raw
 * sum of products (with colterm: the same value, its column part added at
 * once). Wrapping arithmetic, as in the SIMD version; with
 * k <= DNNQ_GEMM_MAX_K the true value fits, so nothing actually wraps. */
static inline int32_t dnnq_gemm_correct(int32_t acc, size_t j, int32_t rowsum,
                                        const struct dnnq_gemm_weights *w,
                                        const struct dnnq_gemm_output *o)
{
	uint32_t zw = o->nwzp ? (uint32_t)o->w_zero_points[o->nwzp == 1 ? 0 : j] : 0;
	if (o->colterm)
		return (int32_t)((uint32_t)acc + (uint32_t)o->colterm[j] - zw * (uint32_t)rowsum);
	uint32_t v = (uint32_t)acc - (uint32_t)o->a_zero_point * (uint32_t)w->row_sums[j];
	v += zw * ((uint32_t)w->k * (uint32_t)o->a_zero_point - (uint32_t)rowsum);
	if (o->bias)
		v += (uint32_t)o->bias[j];
	return (int32_t)v;
}

/* Stores the output of element (i, j) from its corrected sum v. */
static inline void dnnq_gemm_store_1(int32_t v, size_t i, size_t j, void *c, size_t ldc,
                                     const struct dnnq_gemm_output *o)
{
	size_t at = i * ldc + j;
	switch (o->dtype) {
	case DNNQ_DTYPE_U8: {
		const struct dnnq_requant *rq = &o->rq;
		size_t ch = rq->nchan == 1 ? 0 : j;
		((uint8_t *)c)[at] = (uint8_t)(rq->kind == DNNQ_REQUANT_FLOAT
			? dnnq_requant_float_1(v, rq->fmult[ch], (float)rq->zero_point,
			                       (float)rq->qmin, (float)rq->qmax)
			: dnnq_requant_fixed_1(v, rq->qmult[ch], rq->qshift[ch], rq->zero_point,
			                       rq->qmin, rq->qmax));
		break;
	}
	case DNNQ_DTYPE_F32: {
		float y = (float)v * o->scale[o->nscale == 1 ? 0 : j];
		if (o->fbias)
			y = y + o->fbias[j];
		if (o->relu)
			y = y > 0.0f ? y : 0.0f;
		((float *)c)[at] = y;
		break;
	}
	default:
		((int32_t *)c)[at] = v;
		break;
	}
}

#endif
