/*
 * The graph adapter and kernels of the reductions (engine/reduce.h).
 */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/quant-scalar.h"
#include "engine/reduce.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ELEMS_PER_TASK 16384u

/* How an element joins an accumulator: sum and mean add, max keeps the
 * accumulator unless the element is larger (a NaN never is, nor is
 * anything larger than a NaN), prod (fp32 only) multiplies. An fp32 max
 * starts from each output's first element, so the result is that element
 * if it is NaN, else the largest non-NaN one (docs/onnx.md, "NaN in the
 * maxima"). */
enum fold {
	FOLD_ADD,
	FOLD_MAX,
	FOLD_MUL,
};

/* acc[i] = acc[i] folded with x[i], i < n (u8: added, or the max) */
typedef void (*acc_f32_fn)(enum fold f, float *acc, const float *x, size_t n);
typedef void (*acc_u8_fn)(bool max, int32_t *acc, const uint8_t *x, size_t n);
/* x[0..n) folded */
typedef float (*all_f32_fn)(enum fold f, const float *x, size_t n);
typedef int32_t (*all_u8_fn)(bool max, const uint8_t *x, size_t n);

struct reduce {
	enum dnnq_reduce_mode mode;
	enum fold fold;
	bool fp32;
	acc_f32_fn acc_f32;
	acc_u8_fn acc_u8;
	all_f32_fn all_f32;
	all_u8_fn all_u8;
	/* set by infer: the input's dims coalesced (nd), each kept or reduced,
	 * with the output's stride along the kept ones */
	uint32_t nd;
	size_t dims[DNNQ_MAX_DIMS], ost[DNNQ_MAX_DIMS];
	bool red[DNNQ_MAX_DIMS];
	size_t count, nout;
	size_t units, rows_per_unit, outs_per_unit, per_task;
	int32_t zx;
	float mult, zy;
	void *acc;                     /* nout f32 or s32 accumulators */
	size_t cap;
	const void *x;
	void *y;
};

/* ---- kernels ---------------------------------------------------------------- */

static float fold_f(enum fold f, float a, float b)
{
	/* _mm256_max_ps(b, a) (a when either is NaN), _mm256_mul_ps, _mm256_add_ps */
	return f == FOLD_MAX ? (b > a ? b : a) : f == FOLD_MUL ? a * b : a + b;
}

/* The accumulator before any element. */
static float fold_start(enum fold f)
{
	return f == FOLD_MAX ? -INFINITY : f == FOLD_MUL ? 1.0f : 0.0f;
}

static void acc_f32_scalar(enum fold f, float *acc, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		acc[i] = fold_f(f, acc[i], x[i]);
}

/* Eight lanes (lane l holds elements l, l + 8, ...), then a fixed tree. */
static float tree8(enum fold f, float *s)
{
	for (int w = 4; w >= 1; w /= 2)
		for (int l = 0; l < w; l++)
			s[l] = fold_f(f, s[l], s[l + w]);
	return s[0];
}

static float all_tail(enum fold f, float *s, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = fold_f(f, s[i], x[i]);
	return tree8(f, s);
}

static float all_f32_scalar(enum fold f, const float *x, size_t n)
{
	float s[8];
	size_t i = 0;
	for (int l = 0; l < 8; l++)
		s[l] = fold_start(f);
	for (; i + 8 <= n; i += 8)
		for (int l = 0; l < 8; l++)
			s[l] = fold_f(f, s[l], x[i + l]);
	return all_tail(f, s, x + i, n - i);
}

static void acc_u8_scalar(bool max, int32_t *acc, const uint8_t *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		acc[i] = max ? (acc[i] > x[i] ? acc[i] : x[i]) : acc[i] + x[i];
}

static int32_t all_u8_scalar(bool max, const uint8_t *x, size_t n)
{
	int32_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = max ? (s > x[i] ? s : x[i]) : s + x[i];
	return s;
}

__attribute__((target("avx2")))
static inline __m256 fold8(enum fold f, __m256 a, __m256 b)
{
	return f == FOLD_MAX ? _mm256_max_ps(b, a) : f == FOLD_MUL ? _mm256_mul_ps(a, b)
	                                                           : _mm256_add_ps(a, b);
}

__attribute__((target("avx2")))
static void acc_f32_avx2(enum fold f, float *acc, const float *x, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(acc + i, fold8(f, _mm256_loadu_ps(acc + i), _mm256_loadu_ps(x + i)));
	acc_f32_scalar(f, acc + i, x + i, n - i);
}

__attribute__((target("avx2")))
static float all_f32_avx2(enum fold f, const float *x, size_t n)
{
	__m256 s = _mm256_set1_ps(fold_start(f));
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		s = fold8(f, s, _mm256_loadu_ps(x + i));
	float l[8];
	_mm256_storeu_ps(l, s);
	return all_tail(f, l, x + i, n - i);
}

__attribute__((target("avx2")))
static void acc_u8_avx2(bool max, int32_t *acc, const uint8_t *x, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(acc + i));
		__m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(x + i)));
		_mm256_storeu_si256((__m256i *)(acc + i),
		                    max ? _mm256_max_epi32(a, v) : _mm256_add_epi32(a, v));
	}
	acc_u8_scalar(max, acc + i, x + i, n - i);
}

__attribute__((target("avx2")))
static int32_t all_u8_avx2(bool max, const uint8_t *x, size_t n)
{
	__m256i s = _mm256_setzero_si256();
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(x + i));
		s = max ? _mm256_max_epu8(s, v) : _mm256_add_epi64(s, _mm256_sad_epu8(v,
		                                                   _mm256_setzero_si256()));
	}
	uint8_t b[32];
	uint64_t q[4];
	int32_t r = 0;
	if (max) {
		_mm256_storeu_si256((__m256i *)b, s);
		r = all_u8_scalar(true, b, 32);
	} else {
		_mm256_storeu_si256((__m256i *)q, s);
		r = (int32_t)(q[0] + q[1] + q[2] + q[3]);
	}
	int32_t t = all_u8_scalar(max, x + i, n - i);
	return max ? (r > t ? r : t) : r + t;
}

/* ---- the adapter ------------------------------------------------------------- */

/* The axes: ascending, unique, 1..rank-1 (not the batch). */
static int axes_check(const struct gnode *n, const struct gtensor *x, struct dnnq_diag *diag)
{
	const struct dnnq_xfmr_desc *d = &n->desc.op.xfmr;
	if (d->ndim < 1 || d->ndim >= x->ndim || d->op > 1)
		return FAIL(DNNQ_E_SHAPE, "node '%s': %u axes of input '%s' (rank %u), keepdims %u: "
		            "want 1..rank-1 axes, keepdims 0 or 1", n->name, d->ndim, x->name, x->ndim,
		            d->op);
	for (uint32_t i = 0; i < d->ndim; i++)
		if (d->dims[i] < 1 || d->dims[i] >= x->ndim || (i && d->dims[i] <= d->dims[i - 1]))
			return FAIL(DNNQ_E_SHAPE, "node '%s': dims[%u] = %lld: axes ascend in 1..%u (the "
			            "batch stays)", n->name, i, (long long)d->dims[i], x->ndim - 1);
	return DNNQ_OK;
}

static int reduce_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                        struct dnnq_diag *diag)
{
	struct reduce *op = n->op;
	const struct dnnq_xfmr_desc *d = &n->desc.op.xfmr;
	const struct gtensor *x = gin(g, n, 0);
	bool red[DNNQ_MAX_DIMS] = { false };
	(void)diag;
	for (uint32_t i = 0; i < d->ndim; i++)
		red[d->dims[i]] = true;
	out->ndim = 0;
	op->count = 1;
	uint32_t nd = 0;
	for (uint32_t i = 0; i < x->ndim; i++) {
		size_t di = (size_t)x->dims[i];
		if (!red[i] || d->op)
			out->dims[out->ndim++] = red[i] ? 1 : x->dims[i];
		if (red[i])
			op->count *= di;
		if (di == 1)
			continue;
		if (nd && op->red[nd - 1] == red[i]) {
			op->dims[nd - 1] *= di;
			continue;
		}
		op->dims[nd] = di;
		op->red[nd++] = red[i];
	}
	if (!nd) {
		op->dims[0] = 1;
		op->red[0] = false;
		nd = 1;
	}
	op->nd = nd;
	size_t s = 1;
	for (uint32_t i = nd; i-- > 0;) {
		op->ost[i] = op->red[i] ? 0 : s;
		s *= op->red[i] ? 1 : op->dims[i];
	}
	op->nout = s;
	/* the unit of a task: a dim-0 index when that dim is kept, else all */
	bool split = nd >= 2 && !op->red[0];
	op->units = split ? op->dims[0] : 1;
	op->rows_per_unit = 1;
	for (uint32_t i = split; i + 1 < nd; i++)
		op->rows_per_unit *= op->dims[i];
	op->outs_per_unit = split ? op->ost[0] : op->nout;
	op->per_task = dnnq_xfmr_rows_per_task(op->rows_per_unit * op->dims[nd - 1],
	                                       ELEMS_PER_TASK);
	if (!op->fp32 && op->mode != DNNQ_REDUCE_MAX)
		op->mult = x->qp.scale / (out->qp.scale * (op->mode == DNNQ_REDUCE_MEAN ?
		                                            (float)op->count : 1.0f));
	return DNNQ_OK;
}

static int reduce_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                         struct dnnq_diag *diag)
{
	bool fp32;
	const struct gtensor *x = gin(g, n, 0);
	int rc = dnnq_xfmr_inputs(g, n, 1, &fp32, diag);
	if (rc || (rc = axes_check(n, x, diag)))
		return rc;
	const struct dnnq_op_def *def = dnnq_op_get(n->desc.kind);
	enum dnnq_reduce_mode mode = *(const enum dnnq_reduce_mode *)def->impl;
	if ((rc = dnnq_xfmr_out(n, out, x, fp32, mode == DNNQ_REDUCE_MAX, diag)))
		return rc;
	struct reduce *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->mode = mode;
	op->fp32 = fp32;
	op->fold = mode == DNNQ_REDUCE_MAX ? FOLD_MAX : mode == DNNQ_REDUCE_PROD ? FOLD_MUL
	                                                                        : FOLD_ADD;
	bool avx2 = dnnq_xfmr_isa(n) != DNNQ_ISA_SCALAR;
	op->acc_f32 = avx2 ? acc_f32_avx2 : acc_f32_scalar;
	op->all_f32 = avx2 ? all_f32_avx2 : all_f32_scalar;
	op->acc_u8 = avx2 ? acc_u8_avx2 : acc_u8_scalar;
	op->all_u8 = avx2 ? all_u8_avx2 : all_u8_scalar;
	op->zx = x->qp.zero_point;
	op->zy = (float)out->qp.zero_point;
	return reduce_infer(g, n, out, diag);
}

/* Units [u0, u1) (engine/reduce.h: dim-0 indices, or everything): their
 * input rows into the accumulators, then their outputs finished. */
static void reduce_range(const struct reduce *op, const void *xv, void *accv, void *yv,
                         size_t u0, size_t u1)
{
	size_t len = op->dims[op->nd - 1];
	bool inner_red = op->red[op->nd - 1], max = op->fold == FOLD_MAX;
	for (size_t o = u0 * op->outs_per_unit; o < u1 * op->outs_per_unit; o++) {
		if (op->fp32)
			((float *)accv)[o] = fold_start(op->fold);
		else
			((int32_t *)accv)[o] = 0;
	}
	for (size_t r = u0 * op->rows_per_unit; r < u1 * op->rows_per_unit; r++) {
		size_t off = 0, q = r;
		bool first = true;          /* the row's outputs' first elements */
		for (uint32_t i = op->nd - 1; i-- > 0;) {
			off += q % op->dims[i] * op->ost[i];
			first = first && (!op->red[i] || !(q % op->dims[i]));
			q /= op->dims[i];
		}
		if (op->fp32) {
			const float *x = (const float *)xv + r * len;
			float *acc = (float *)accv + off;
			/* a max starts from the first element: NaN there stays */
			bool start = first && op->fold == FOLD_MAX && len;
			if (!inner_red && start)
				memcpy(acc, x, len * sizeof *x);
			else if (!inner_red)
				op->acc_f32(op->fold, acc, x, len);
			else
				acc[0] = fold_f(op->fold, start ? x[0] : acc[0],
				                op->all_f32(op->fold, x, len));
		} else {
			const uint8_t *x = (const uint8_t *)xv + r * len;
			int32_t *acc = (int32_t *)accv + off;
			int32_t v = inner_red ? op->all_u8(max, x, len) : 0;
			if (!inner_red)
				op->acc_u8(max, acc, x, len);
			else
				acc[0] = max ? (acc[0] > v ? acc[0] : v) : acc[0] + v;
		}
	}
	for (size_t o = u0 * op->outs_per_unit; o < u1 * op->outs_per_unit; o++) {
		if (op->fp32) {
			float v = ((float *)accv)[o];
			((float *)yv)[o] = op->mode == DNNQ_REDUCE_MEAN ? v / (float)op->count : v;
		} else {
			int64_t v = ((int32_t *)accv)[o];
			((uint8_t *)yv)[o] = max ? (uint8_t)v : (uint8_t)dnnq_saturate_rne(
				(float)(v - (int64_t)op->count * op->zx) * op->mult, op->zy, 0, 255);
		}
	}
}

static void reduce_task(void *arg, size_t t, unsigned tid)
{
	const struct reduce *op = arg;
	size_t u0 = t * op->per_task, u1 = u0 + op->per_task;
	(void)tid;
	reduce_range(op, op->x, op->acc, op->y, u0, u1 < op->units ? u1 : op->units);
}

static int reduce_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct reduce *op = n->op;
	(void)nthreads;
	if (op->nout * 4 > op->cap) {
		void *p = realloc(op->acc, op->nout * 4);
		if (!p)
			return DNNQ_E_NOMEM;
		op->acc = p;
		op->cap = op->nout * 4;
	}
	dnnq_xfmr_bind(g, n, &op->x, &op->y);
	return DNNQ_OK;
}

static int reduce_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct reduce *op = n->op;
	if (op->nout * 4 > op->cap)
		return DNNQ_E_INVAL;
	return dnnq_xfmr_run(ex, op->y, op->units, op->per_task, reduce_task, op);
}

static void reduce_destroy(struct gnode *n)
{
	struct reduce *op = n->op;
	if (op)
		free(op->acc);
	free(op);
}

/* The fp32 kernels (scalar) on real values. */
static int reduce_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in,
                      float *out)
{
	struct reduce f = *(const struct reduce *)n->op;
	(void)g;
	f.fp32 = true;
	f.acc_f32 = acc_f32_scalar;
	f.all_f32 = all_f32_scalar;
	float *acc = malloc((f.nout ? f.nout : 1) * sizeof *acc);
	if (!acc)
		return DNNQ_E_NOMEM;
	reduce_range(&f, in[0], acc, out, 0, f.units);
	free(acc);
	return DNNQ_OK;
}

const struct node_ops dnnq_reduce_ops = { reduce_create, reduce_infer, reduce_setup,
                                          reduce_run, reduce_destroy, reduce_ref, false,
                                          false };
