/*
 * MatMul: the matrix product of two tensors (activations, or one constant)
 * as ONNX's MatMul, rank >= 2 each, NumPy broadcasting of the batch dims
 * (file code 41).
 *
 * Layout: `op` bit k (DNNQ_MATMUL_NCHW_A, _B, _Y) says that operand k (A,
 * B, the output) is a 4-D ONNX tensor the graph keeps NHWC: its ONNX dims
 * (n, c, h, w) are the graph's (0, 3, 1, 2). The operator reads and writes
 * through strides, so no layout change is needed around it.
 *
 * int8: u8 x u8 with s32 accumulation of (a - za)(b - zb), computed as
 * sum(a b) - zb sum(a) - za sum(b) + K za zb (exact: K is at most
 * MATMUL_MAX_K, so no sum overflows), requantized as the GEMM's float
 * output stage does (dnnq_requant_float_1). Each task packs its rows of A
 * and all of B transposed into its scratch (a constant B, the same for
 * every batch item: a linear layer's weights, once, at create, with its
 * column sums: packed per task, a ViT-B's weights were copied seven times
 * a run, a byte at a time, most of the model's time), then takes dot
 * products of
 * contiguous u8 rows, four columns at a time: scalar, or AVX2 (vpmaddwd of
 * zero-extended bytes); integer sums, so every ISA gives the same bits.
 * fp32: the same packing, and the product by the f32 table's gemm (OpenBLAS's
 * sgemm, or the scalar loop), but for a constant B of DNNQ_F32_PK_MIN_N
 * columns or more where the table has gemm_pk (AVX-512): packed once into
 * its panels and multiplied by it.
 */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "engine/f32-kernels.h"
#include "engine/quant-scalar.h"
#include "engine/xfmr.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)

#define DNNQ_MATMUL_NCHW_A 1u
#define DNNQ_MATMUL_NCHW_B 2u
#define DNNQ_MATMUL_NCHW_Y 4u
#define MATMUL_MAX_K 33025u    /* K * 255 * 255 < 2^31 */
#define MB 32u                 /* rows of A a task */

/* out[c] = sum over p < k of a[p] * b[c * k + p], c < ncols (b: ncols
 * packed columns of B, k bytes each). */
typedef void (*dots_fn)(const uint8_t *a, const uint8_t *b, size_t k, size_t ncols,
                        uint32_t *out);

/* A tensor seen as ONNX orders it: r dims (right-aligned to the output's
 * rank, 1 where it has none) and element strides (0 where it broadcasts). */
struct view {
	size_t d[DNNQ_MAX_DIMS], s[DNNQ_MAX_DIMS];
};

struct matmul {
	bool fp32;
	enum dnnq_isa isa;
	dots_fn dots;
	const float *cst[2];           /* fp32: a constant input as f32 (owned) */
	uint32_t r;                    /* the output's rank */
	size_t M, N, K, nb, mblocks;
	struct view a, b, y;
	float mult, zy;
	int32_t za, zb;
	/* a constant B packed once (B transposed, or gemm_pk's panels when
	 * panels; int8: its column sums), or NULL */
	void *bt;
	bool panels;
	uint32_t *bsum;
	/* per-thread scratch: A rows, B transposed, C rows (fp32), sums (int8) */
	uint8_t *scratch;
	size_t per_thread, cap;
	const void *pa, *pb;
	void *py;
};

static uint32_t dot_scalar(const uint8_t *a, const uint8_t *b, size_t k)
{
	uint32_t s = 0;
	for (size_t i = 0; i < k; i++)
		s += (uint32_t)a[i] * b[i];
	return s;
}

static void dots_scalar(const uint8_t *a, const uint8_t *b, size_t k, size_t ncols,
                        uint32_t *out)
{
	for (size_t c = 0; c < ncols; c++)
		out[c] = dot_scalar(a, b + c * k, k);
}

__attribute__((target("avx2")))
static uint32_t hsum_avx2(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
	return (uint32_t)_mm_cvtsi128_si32(s);
}

/* Four columns at a time, each A load shared: bytes zero-extended to 16
 * bits, vpmaddwd pairs into 32-bit sums (exact: 2 * 255 * 255 per lane). */
__attribute__((target("avx2")))
static void dots_avx2(const uint8_t *a, const uint8_t *b, size_t k, size_t ncols,
                      uint32_t *out)
{
	size_t c = 0, k16 = k / 16 * 16;
	for (; c + 4 <= ncols; c += 4) {
		__m256i acc[4] = { _mm256_setzero_si256(), _mm256_setzero_si256(),
		                   _mm256_setzero_si256(), _mm256_setzero_si256() };
		for (size_t i = 0; i < k16; i += 16) {
			__m256i va = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
			for (int j = 0; j < 4; j++) {
				__m256i vb = _mm256_cvtepu8_epi16(
					_mm_loadu_si128((const __m128i *)(b + (c + j) * k + i)));
				acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(va, vb));
			}
		}
		for (int j = 0; j < 4; j++)
			out[c + j] = hsum_avx2(acc[j]) + dot_scalar(a + k16, b + (c + j) * k + k16,
			                                            k - k16);
	}
	dots_scalar(a, b + c * k, k, ncols - c, out + c);
}

static const dots_fn dots_isa[DNNQ_ISA_COUNT] = {
	[DNNQ_ISA_SCALAR] = dots_scalar, [DNNQ_ISA_AVX2] = dots_avx2,
	[DNNQ_ISA_AVX512VNNI] = dots_avx2,
};

/* t's dims and strides in ONNX order (nchw: a 4-D tensor kept NHWC),
 * right-aligned to rank r. */
static void view_of(const struct gtensor *t, bool nchw, uint32_t r, struct view *v)
{
	static const uint32_t from_nhwc[4] = { 0, 3, 1, 2 };
	size_t st[DNNQ_MAX_DIMS];
	dnnq_xfmr_strides(t, st);
	uint32_t lead = r - t->ndim;
	for (uint32_t i = 0; i < r; i++) {
		uint32_t j = i - lead, e = nchw ? from_nhwc[j] : j;
		v->d[i] = i < lead ? 1 : (size_t)t->dims[e];
		v->s[i] = i < lead ? 0 : st[e];
	}
}

static bool flagged(const struct gnode *n, uint32_t bit)
{
	return n->desc.op.xfmr.op & bit;
}

static int matmul_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                        struct dnnq_diag *diag)
{
	struct matmul *op = n->op;
	const struct gtensor *a = gin(g, n, 0), *b = gin(g, n, 1);
	uint32_t r = a->ndim > b->ndim ? a->ndim : b->ndim;
	if (flagged(n, DNNQ_MATMUL_NCHW_Y) && r != 4)
		return FAIL(DNNQ_E_SHAPE, "node '%s': op bit 2 (NCHW kept NHWC) on an output of "
		            "rank %u", n->name, r);
	op->r = r;
	view_of(a, flagged(n, DNNQ_MATMUL_NCHW_A), r, &op->a);
	view_of(b, flagged(n, DNNQ_MATMUL_NCHW_B), r, &op->b);
	op->M = op->a.d[r - 2];
	op->K = op->a.d[r - 1];
	op->N = op->b.d[r - 1];
	if (op->b.d[r - 2] != op->K)
		return FAIL(DNNQ_E_SHAPE, "node '%s': '%s' has K = %zu, '%s' %zu: they do not chain",
		            n->name, a->name, op->K, b->name, op->b.d[r - 2]);
	if (!op->fp32 && op->K > MATMUL_MAX_K)
		return FAIL(DNNQ_E_SHAPE, "node '%s': K = %zu: at most %u for int8 sums", n->name,
		            op->K, MATMUL_MAX_K);
	int64_t ld[DNNQ_MAX_DIMS];
	op->nb = 1;
	for (uint32_t i = 0; i + 2 < r; i++) {
		size_t da = op->a.d[i], db = op->b.d[i];
		/* a batch not yet planned (0, at build) stays 0 against 1 and
		 * takes another dim: the broadcast is checked when planned */
		if (da == 0 || db == 0)
			da = db = da + db == 1 ? 0 : da + db;
		if (da != db && da != 1 && db != 1)
			return FAIL(DNNQ_E_SHAPE, "node '%s': batch dims[%u]: %zu ('%s') and %zu ('%s') "
			            "do not broadcast", n->name, i, da, a->name, db, b->name);
		ld[i] = (int64_t)(da == 1 ? db : da);
		if (da == 1)
			op->a.s[i] = 0;
		if (db == 1)
			op->b.s[i] = 0;
		op->nb *= (size_t)ld[i];
	}
	ld[r - 2] = (int64_t)op->M;
	ld[r - 1] = (int64_t)op->N;
	bool ynchw = flagged(n, DNNQ_MATMUL_NCHW_Y);
	out->ndim = r;
	for (uint32_t i = 0; i < r; i++)         /* ONNX (n, c, h, w) to NHWC */
		out->dims[i] = ynchw ? ld[(uint32_t[]){ 0, 2, 3, 1 }[i]] : ld[i];
	size_t total;
	if (!gnumel_checked(out, &total))
		return FAIL(DNNQ_E_SHAPE, "node '%s': the output's element count overflows", n->name);
	view_of(out, ynchw, r, &op->y);
	op->mblocks = (op->M + MB - 1) / MB;
	size_t esz = op->fp32 ? sizeof(float) : 1, k = op->K;
	op->per_thread = 0;
	/* A rows, B^T, then C rows (fp32) or the sums (int8), each 64-aligned */
	size_t parts[3] = { MB * k * esz, op->N * k * esz,
	                    op->fp32 ? MB * op->N * sizeof(float) : 2 * op->N * sizeof(uint32_t) };
	for (int i = 0; i < 3; i++)
		op->per_thread += (parts[i] + 63) & ~(size_t)63;
	return DNNQ_OK;
}

/* rows x cols of src (strides rs, cs) into dst row-major, elements of esz:
 * inlined for each element size, so an element is one move (a call's
 * worth of byte loop each otherwise), a contiguous row one memcpy. */
static inline __attribute__((always_inline)) void
pack_es(uint8_t *dst, const uint8_t *src, size_t rows, size_t cols, size_t rs, size_t cs,
        size_t esz)
{
	for (size_t i = 0; i < rows; i++) {
		if (cs == 1) {
			memcpy(dst + i * cols * esz, src + i * rs * esz, cols * esz);
			continue;
		}
		for (size_t j = 0; j < cols; j++)
			memcpy(dst + (i * cols + j) * esz, src + (i * rs + j * cs) * esz, esz);
	}
}

static void pack(uint8_t *dst, const uint8_t *src, size_t rows, size_t cols, size_t rs,
                 size_t cs, size_t esz)
{
	if (esz == 1)
		pack_es(dst, src, rows, cols, rs, cs, 1);
	else
		pack_es(dst, src, rows, cols, rs, cs, sizeof(float));
}

/* The column sums of packed B^T (n columns of k bytes). */
static void col_sums(const uint8_t *bt, size_t n, size_t k, uint32_t *sum)
{
	for (size_t j = 0; j < n; j++) {
		uint32_t s = 0;
		for (size_t p = 0; p < k; p++)
			s += bt[j * k + p];
		sum[j] = s;
	}
}

/* op->bt (and op->bsum) from constant B at b, when every batch item reads
 * the same B (its batch strides all 0); else nothing. */
static int pack_const_b(struct matmul *op, const void *b)
{
	size_t r = op->r, esz = op->fp32 ? sizeof(float) : 1;
	for (size_t i = 0; i + 2 < r; i++)
		if (op->b.s[i])
			return DNNQ_OK;
	if (!(op->bt = aligned_alloc(64, (op->N * op->K * esz + 64) & ~(size_t)63)) ||
	    (!op->fp32 && !(op->bsum = malloc((op->N ? op->N : 1) * sizeof *op->bsum))))
		return DNNQ_E_NOMEM;
	pack(op->bt, b, op->N, op->K, op->b.s[r - 1], op->b.s[r - 2], esz);
	if (op->bsum)
		col_sums(op->bt, op->N, op->K, op->bsum);
	if (op->fp32 && dnnq_f32_kernels_of(op->isa)->gemm_pk && op->N >= DNNQ_F32_PK_MIN_N) {
		float *p = aligned_alloc(64, (dnnq_f32_panel_floats(op->N, op->K) * sizeof *p + 64) &
		                             ~(size_t)63);
		if (!p)
			return DNNQ_E_NOMEM;
		dnnq_f32_pack_panels(op->bt, op->N, op->K, 1, p);
		free(op->bt);
		op->bt = p;
		op->panels = true;
	}
	return DNNQ_OK;
}

static int matmul_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                         struct dnnq_diag *diag)
{
	bool fp32;
	int rc = dnnq_xfmr_inputs(g, n, 2, &fp32, diag);
	if (rc)
		return rc;
	for (size_t k = 0; k < 2; k++) {
		const struct gtensor *t = gin(g, n, k);
		if (t->ndim < 2)
			return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' has rank %u: want 2..%d", n->name,
			            t->name, t->ndim, DNNQ_MAX_DIMS);
		if (flagged(n, 1u << k) && t->ndim != 4)
			return FAIL(DNNQ_E_SHAPE, "node '%s': op bit %zu (NCHW kept NHWC) on input '%s' "
			            "of rank %u", n->name, k, t->name, t->ndim);
	}
	if (n->desc.op.xfmr.op & ~7u)
		return FAIL(DNNQ_E_RANGE, "node '%s': op = %u: only bits 0..2 (NCHW operands)",
		            n->name, n->desc.op.xfmr.op);
	struct matmul *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->fp32 = fp32;
	op->isa = dnnq_xfmr_isa(n);
	op->dots = dots_isa[op->isa];
	const struct gtensor *a = gin(g, n, 0), *b = gin(g, n, 1);
	if ((rc = dnnq_xfmr_out(n, out, a, fp32, false, diag)) ||
	    (rc = matmul_infer(g, n, out, diag)))
		return rc;
	if (fp32 && b->const_data && !(op->cst[1] = dnnq_graph_const_f32(b)))
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	if (b->const_data && (rc = pack_const_b(op, fp32 ? (const void *)op->cst[1] : b->const_data)))
		return FAIL(rc, "node '%s': out of memory", n->name);
	if (!fp32) {
		op->mult = (float)((double)a->qp.scale * b->qp.scale / out->qp.scale);
		op->zy = (float)out->qp.zero_point;
		op->za = a->qp.zero_point;
		op->zb = b->qp.zero_point;
	}
	return DNNQ_OK;
}

/* The offsets of batch item i in a view. */
static size_t batch_off(const struct matmul *op, const struct view *v, size_t i)
{
	size_t off = 0;
	for (uint32_t d = op->r - 2; d-- > 0;) {
		size_t dim = op->y.d[d];
		off += i % dim * v->s[d];
		i /= dim;
	}
	return off;
}

static void block_u8(const struct matmul *op, const uint8_t *sa, const uint8_t *sb,
                     const uint32_t *colsum,
                     uint32_t *dot, size_t m0, size_t m1, uint8_t *y)
{
	const size_t K = op->K, N = op->N, yr = op->y.s[op->r - 2], yc = op->y.s[op->r - 1];
	const uint32_t kzz = (uint32_t)K * (uint32_t)op->za * (uint32_t)op->zb;
	for (size_t m = m0; m < m1; m++) {
		const uint8_t *ar = sa + (m - m0) * K;
		uint32_t rowsum = 0;
		for (size_t p = 0; p < K; p++)
			rowsum += ar[p];
		uint32_t c = kzz - (uint32_t)op->zb * rowsum;
		op->dots(ar, sb, K, N, dot);
		for (size_t j = 0; j < N; j++) {
			uint32_t acc = dot[j] - (uint32_t)op->za * colsum[j] + c;
			y[m * yr + j * yc] =
				(uint8_t)dnnq_requant_float_1((int32_t)acc, op->mult, op->zy, 0, 255);
		}
	}
}

static void block_f32(const struct matmul *op, const float *sa, const float *sb, float *sc,
                      size_t m0, size_t m1, float *y)
{
	const size_t N = op->N, yr = op->y.s[op->r - 2], yc = op->y.s[op->r - 1];
	static const struct dnnq_f32_epi none = { NULL, false, NULL };
	if (op->panels)   /* sb is op->bt */
		dnnq_f32_kernels_of(op->isa)->gemm_pk(m1 - m0, N, op->K, sa, op->K, sb, sc, N, &none);
	else
		dnnq_f32_gemm(op->isa, true, m1 - m0, N, op->K, sa, op->K, sb, op->K, sc, N);
	for (size_t m = m0; m < m1; m++)
		for (size_t j = 0; j < N; j++)
			y[m * yr + j * yc] = sc[(m - m0) * N + j];
}

static void matmul_task(void *arg, size_t t, unsigned tid)
{
	struct matmul *op = arg;
	size_t bi = t / op->mblocks, m0 = t % op->mblocks * MB;
	size_t m1 = m0 + MB < op->M ? m0 + MB : op->M, r = op->r, K = op->K, N = op->N;
	size_t esz = op->fp32 ? sizeof(float) : 1;
	uint8_t *sa = op->scratch + tid * op->per_thread;
	uint8_t *sb = sa + ((MB * K * esz + 63) & ~(size_t)63);
	uint8_t *sc = sb + ((N * K * esz + 63) & ~(size_t)63);
	const uint8_t *a = (const uint8_t *)op->pa + batch_off(op, &op->a, bi) * esz;
	const uint8_t *b = (const uint8_t *)op->pb + batch_off(op, &op->b, bi) * esz;
	uint8_t *y = (uint8_t *)op->py + batch_off(op, &op->y, bi) * esz;
	pack(sa, a + m0 * op->a.s[r - 2] * esz, m1 - m0, K, op->a.s[r - 2], op->a.s[r - 1], esz);
	const uint8_t *bt = op->bt;
	if (!bt) {
		pack(sb, b, N, K, op->b.s[r - 1], op->b.s[r - 2], esz);      /* B transposed */
		bt = sb;
	}
	if (op->fp32) {
		block_f32(op, (float *)sa, (const float *)bt, (float *)sc, m0, m1, (float *)y);
		return;
	}
	uint32_t *colsum = (uint32_t *)sc, *dot = colsum + N;
	if (!op->bsum)
		col_sums(bt, N, K, colsum);
	block_u8(op, sa, bt, op->bsum ? op->bsum : colsum, dot, m0, m1, y);
}

static int matmul_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct matmul *op = n->op;
	size_t need = op->per_thread * (nthreads ? nthreads : 1);
	need = need ? need : 64;                  /* an empty product still runs */
	if (need > op->cap) {
		void *p = aligned_alloc(64, (need + 63) & ~(size_t)63);
		if (!p)
			return DNNQ_E_NOMEM;
		free(op->scratch);
		op->scratch = p;
		op->cap = need;
	}
	op->pa = gin(g, n, 0)->buf;
	op->pb = op->cst[1] ? (const void *)op->cst[1]
	                    : gin(g, n, 1)->const_data ? (const void *)gin(g, n, 1)->const_data
	                                               : gin(g, n, 1)->buf;
	op->py = g->t[n->out].buf;
	return DNNQ_OK;
}

static int matmul_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct matmul *op = n->op;
	if (!op->py || !op->scratch)
		return DNNQ_E_INVAL;
	if (op->per_thread * dnnq_executor_threads(ex) > op->cap)
		return DNNQ_E_INVAL;
	dnnq_parallel_for(ex, op->nb * op->mblocks, matmul_task, op);
	return DNNQ_OK;
}

static void matmul_destroy(struct gnode *n)
{
	struct matmul *op = n->op;
	if (op) {
		free((void *)op->cst[1]);
		free(op->bt);
		free(op->bsum);
		free(op->scratch);
	}
	free(op);
}

/* The product in double, element by element, through the views. */
static int matmul_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in,
                      float *out)
{
	const struct matmul *op = n->op;
	size_t r = op->r;
	(void)g;
	for (size_t bi = 0; bi < op->nb; bi++) {
		const float *a = in[0] + batch_off(op, &op->a, bi);
		const float *b = in[1] + batch_off(op, &op->b, bi);
		float *y = out + batch_off(op, &op->y, bi);
		for (size_t m = 0; m < op->M; m++)
			for (size_t j = 0; j < op->N; j++) {
				double s = 0;
				for (size_t p = 0; p < op->K; p++)
					s += (double)a[m * op->a.s[r - 2] + p * op->a.s[r - 1]] *
					     b[p * op->b.s[r - 2] + j * op->b.s[r - 1]];
				y[m * op->y.s[r - 2] + j * op->y.s[r - 1]] = (float)s;
			}
	}
	return DNNQ_OK;
}

/* A multiply-add per output element and step of K. */
static uint64_t matmul_work(const struct dnnq_graph *g, const struct gnode *n)
{
	const struct matmul *op = n->op;
	return (uint64_t)gnumel(&g->t[n->out]) * op->K;
}

static const struct node_ops matmul_ops = { matmul_create, matmul_infer, matmul_setup,
                                            matmul_run, matmul_destroy, matmul_ref, false,
                                            false };

const struct dnnq_op_def dnnq_op_matmul = {
	.kind = 41, .name = "matmul", .onnx = "MatMul", .min_inputs = 2, .max_inputs = 2,
	.attrs = DNNQ_A(DNNQ_A_OP) | DNNQ_A_OUT_QP | DNNQ_A(DNNQ_A_PRECISION),
	.build = dnnq_xfmr_build, .ops = &matmul_ops, .ops_f32 = &matmul_ops,
	.work = matmul_work,
};
