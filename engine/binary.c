/*
 * The graph adapter of the binary elementwise operators (engine/binary.h):
 * broadcasting, the walk over rows, and the fp32 reference.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/binary.h"
#include "engine/graph-internal.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define ROWS_PER_TASK_MIN 4096u   /* elements per task, at least */

struct binary {
	const struct dnnq_op_def *def;
	dnnq_binary_row row;           /* int8 */
	dnnq_binary_row_f32 row_f32;   /* fp32 */
	struct dnnq_binary_q q;
	bool fp32;                     /* the node's precision */
	float *cst[2];                 /* fp32: a constant input as f32 */
	/* the walk, set by infer at the planned shapes: the output's dims
	 * coalesced to nd dims (the last one the contiguous run), with each
	 * input's element strides (0: broadcast) */
	uint32_t nd;
	size_t dims[DNNQ_MAX_DIMS];
	size_t stride[2][DNNQ_MAX_DIMS];
	size_t rows, per_task;
	struct dnnq_pieces pieces;     /* the rows' cut, this run (dnnq_split_even) */
	/* bound by setup */
	const void *a, *b;
	void *y;
};

int dnnq_binary_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                      struct dnnq_diag *diag)
{
	(void)diag;
	d->op.binary.isa = b->isa;
	d->op.binary.out_qp = dnnq_op_out_qp(&b->m->nodes[b->j]);
	return DNNQ_OK;
}

/* Input k's dim i of the output's rank r (aligned to the right; 1 where it
 * has none). */
static int64_t dim_of(const struct gtensor *t, uint32_t r, uint32_t i)
{
	uint32_t lead = r - t->ndim;
	return i < lead ? 1 : t->dims[i - lead];
}

/* The output's shape: the inputs' broadcast; dims[0] the batch. */
static int broadcast(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	struct gtensor *a = gin(g, n, 0), *b = gin(g, n, 1);
	const struct gtensor *x = a->const_data ? b : a;      /* an activation */
	if (a->const_data && b->const_data)
		return FAIL(DNNQ_E_SHAPE, "node '%s': both inputs are constants", n->name);
	uint32_t r = x->ndim;
	for (int k = 0; k < 2; k++) {
		const struct gtensor *t = k ? b : a;
		if (t->const_data ? t->ndim > r || (t->ndim == r && r && t->dims[0] != 1)
		                  : t->ndim != r)
			return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' (rank %u) does not broadcast "
			            "against '%s' (rank %u): activations need the same rank, a constant "
			            "at most that rank and no batch", n->name, t->name, t->ndim, x->name, r);
	}
	out->ndim = r;
	out->dims[0] = x->dims[0];
	for (uint32_t i = 1; i < r; i++) {
		int64_t da = dim_of(a, r, i), db = dim_of(b, r, i);
		if (da != db && da != 1 && db != 1)
			return FAIL(DNNQ_E_SHAPE, "node '%s': dims[%u]: %lld ('%s') and %lld ('%s') do "
			            "not broadcast", n->name, i, (long long)da, a->name, (long long)db,
			            b->name);
		out->dims[i] = da == 1 ? db : da;
	}
	return DNNQ_OK;
}

static int binary_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                         struct dnnq_diag *diag)
{
	const struct dnnq_qparams *oq = &n->desc.op.binary.out_qp;
	struct gtensor *in[2] = { gin(g, n, 0), gin(g, n, 1) };
	bool fp32 = n->desc.precision == DNNQ_PRECISION_FP32;
	enum dnnq_dtype dt = fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8;
	if (n->desc.ninputs != 2)
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu inputs: want 2", n->name, n->desc.ninputs);
	for (int k = 0; k < 2; k++)   /* an fp32 node reads the graph's (u8) constants too */
		if (in[k]->dtype != dt && !(fp32 && in[k]->const_data))
			return FAIL(DNNQ_E_DTYPE, "node '%s': input '%s' is %s: need %s", n->name,
			            in[k]->name, dnnq_dtype_name(in[k]->dtype), dnnq_dtype_name(dt));
	struct dnnq_diag why = { 0 };
	int rc = fp32 ? DNNQ_OK : dnnq_qparams_check(oq, DNNQ_DTYPE_U8, &why);
	if (rc)
		return FAIL(rc, "node '%s': output qparams: %s", n->name, why.msg);
	rc = broadcast(g, n, out, diag);
	if (rc)
		return rc;
	struct binary *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->fp32 = fp32;
	enum dnnq_isa isa = n->desc.op.binary.isa;
	const struct dnnq_binary_impl *impl;
	op->def = dnnq_op_get(n->desc.kind);
	impl = op->def->impl;
	if ((unsigned)isa >= DNNQ_ISA_COUNT)
		isa = DNNQ_ISA_SCALAR;
	op->row = impl->row[isa];
	op->row_f32 = impl->row_f32[isa];
	for (int k = 0; fp32 && k < 2; k++) {
		if (!in[k]->const_data)
			continue;
		if (!(op->cst[k] = dnnq_graph_const_f32(in[k])))
			return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	}
	out->dtype = dt;
	out->qp = fp32 ? (struct dnnq_qparams){ 0 } : *oq;
	op->q = (struct dnnq_binary_q){
		.sa = in[0]->qp.scale, .za = (float)in[0]->qp.zero_point,
		.sb = in[1]->qp.scale, .zb = (float)in[1]->qp.zero_point,
		.sy = oq->scale, .zy = (float)oq->zero_point,
		.qmin = 0, .qmax = 255,
	};
	return DNNQ_OK;
}

/* The walk at the planned shapes: per dim, each input's element stride (0
 * where it broadcasts), then neighbouring dims merged where both inputs
 * walk them as one. */
static int binary_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                        struct dnnq_diag *diag)
{
	struct binary *op = n->op;
	int rc = broadcast(g, n, out, diag);
	if (rc)
		return rc;
	uint32_t r = out->ndim;
	size_t dims[DNNQ_MAX_DIMS + 1], st[2][DNNQ_MAX_DIMS + 1];
	for (int k = 0; k < 2; k++) {
		const struct gtensor *t = gin(g, n, k);
		size_t s = 1;
		for (uint32_t i = r; i-- > 0;) {
			int64_t d = dim_of(t, r, i);
			if (!t->const_data && i == 0)
				d = out->dims[0];
			st[k][i] = d == 1 && out->dims[i] != 1 ? 0 : s;
			s *= (size_t)d;
		}
	}
	for (uint32_t i = 0; i < r; i++)
		dims[i] = (size_t)out->dims[i];
	if (!r) {                      /* a scalar: one element */
		dims[0] = 1;
		st[0][0] = st[1][0] = 1;
		r = 1;
	}
	uint32_t nd = 0;
	for (uint32_t i = 0; i < r; i++) {
		if (nd && st[0][nd - 1] == st[0][i] * dims[i] && st[1][nd - 1] == st[1][i] * dims[i]) {
			dims[nd - 1] *= dims[i];
			st[0][nd - 1] = st[0][i];
			st[1][nd - 1] = st[1][i];
			continue;
		}
		if (dims[i] == 1)      /* a dim of 1 walks nothing */
			continue;
		dims[nd] = dims[i];
		st[0][nd] = st[0][i];
		st[1][nd] = st[1][i];
		nd++;
	}
	if (!nd) {
		dims[0] = 1;
		st[0][0] = st[1][0] = 1;
		nd = 1;
	}
	op->nd = nd;
	memcpy(op->dims, dims, nd * sizeof *dims);
	memcpy(op->stride[0], st[0], nd * sizeof *dims);
	memcpy(op->stride[1], st[1], nd * sizeof *dims);
	size_t inner = dims[nd - 1];
	op->rows = inner ? gnumel(out) / inner : 0;
	size_t per = (ROWS_PER_TASK_MIN + inner - 1) / (inner ? inner : 1);
	op->per_task = per ? per : 1;
	return DNNQ_OK;
}

/* The offsets of row r's first elements in a and b. */
static void row_offsets(const struct binary *op, size_t r, size_t *oa, size_t *ob)
{
	size_t a = 0, b = 0;
	for (uint32_t i = op->nd - 1; i-- > 0;) {
		size_t idx = r % op->dims[i];
		r /= op->dims[i];
		a += idx * op->stride[0][i];
		b += idx * op->stride[1][i];
	}
	*oa = a;
	*ob = b;
}

/* Rows [r, end) of the walk. */
static void binary_rows(const struct binary *op, size_t r, size_t end)
{
	const uint32_t l = op->nd - 1;   /* the rows' dim: the one before the run */
	size_t inner = op->dims[l];
	size_t sa = op->stride[0][l], sb = op->stride[1][l];
	while (r < end) {
		size_t oa, ob;
		row_offsets(op, r, &oa, &ob);
		if (op->fp32) {
			op->row_f32((const float *)op->a + oa, sa, (const float *)op->b + ob, sb,
			            (float *)op->y + r * inner, inner);
			r++;
			continue;
		}
		/* the rows up to the end of dim l - 1 (or of the task): one run */
		size_t dim = l ? op->dims[l - 1] : 1, left = dim - r % dim;
		struct dnnq_binary_rows run = {
			(const uint8_t *)op->a + oa, (const uint8_t *)op->b + ob, sa, sb,
			l ? op->stride[0][l - 1] : 0, l ? op->stride[1][l - 1] : 0,
			(uint8_t *)op->y + r * inner, inner, left < end - r ? left : end - r };
		op->row(&run, &op->q);
		r += run.rows;
	}
}

static void binary_task(void *arg, size_t t, unsigned tid)
{
	const struct binary *op = arg;
	(void)tid;
	binary_rows(op, dnnq_piece_start(&op->pieces, t), dnnq_piece_start(&op->pieces, t + 1));
}

/* An int8 node of an n x h x w x c tensor and an (n or 1) x 1 x 1 x c one,
 * h * w > 1 and c > 1: its walk (binary_infer) is then rows of the c
 * channels of one pixel at any batch, since the second input's stride is
 * 0 across the pixels and 1 across the channels, so no dim merges with
 * the channels. */
bool dnnq_node_by_pixel(struct dnnq_graph *g, const struct gnode *n)
{
	if (n->ops != &dnnq_binary_ops || ((const struct binary *)n->op)->fp32)
		return false;
	const struct gtensor *y = &g->t[n->out];
	if (y->ndim != 4 || y->dims[1] * y->dims[2] < 2 || y->dims[3] < 2)
		return false;
	for (size_t k = 0; k < 2; k++) {
		const struct gtensor *x = gin(g, n, k), *s = gin(g, n, 1 - k);
		if (x->ndim == 4 && s->ndim == 4 && !memcmp(x->dims, y->dims, 4 * sizeof *x->dims) &&
		    (s->dims[0] == 1 || s->dims[0] == y->dims[0]) && s->dims[1] == 1 &&
		    s->dims[2] == 1 && s->dims[3] == y->dims[3])
			return true;
	}
	return false;
}

void dnnq_binary_pixels(const void *op, size_t p0, size_t p1)
{
	binary_rows(op, p0, p1);
}

static int binary_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct binary *op = n->op;
	(void)nthreads;
	/* kept: a fused scale's tasks read them on every thread (DNNQ_KEEP) */
	DNNQ_KEEP(op->a, op->cst[0] ? op->cst[0] : gin(g, n, 0)->buf);
	DNNQ_KEEP(op->b, op->cst[1] ? op->cst[1] : gin(g, n, 1)->buf);
	DNNQ_KEEP(op->y, g->t[n->out].buf);
	return DNNQ_OK;
}

static int binary_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct binary *op = n->op;
	if (!op->y)
		return DNNQ_E_INVAL;
	struct dnnq_pieces pieces = dnnq_split_even(ex, op->rows, op->per_task, 1);
	dnnq_keep_bytes(&op->pieces, &pieces, sizeof pieces);
	dnnq_parallel_for(ex, op->pieces.count, binary_task, op);
	return DNNQ_OK;
}

static void binary_destroy(struct gnode *n)
{
	struct binary *op = n->op;
	if (op) {
		free(op->cst[0]);
		free(op->cst[1]);
	}
	free(op);
}

static int binary_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	const struct binary *op = n->op;
	size_t inner = op->dims[op->nd - 1];
	size_t sa = op->stride[0][op->nd - 1], sb = op->stride[1][op->nd - 1];
	(void)g;
	for (size_t r = 0; r < op->rows; r++) {
		size_t oa, ob;
		row_offsets(op, r, &oa, &ob);
		for (size_t i = 0; i < inner; i++)
			out[r * inner + i] = op->def->f32(in[0][oa + i * sa], in[1][ob + i * sb]);
	}
	return DNNQ_OK;
}

/* Both precisions share the adapter: create reads the node's. */
const struct node_ops dnnq_binary_ops = { binary_create, binary_infer, binary_setup,
                                          binary_run, binary_destroy, binary_ref, false, false };
