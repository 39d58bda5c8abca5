/*
 * Embedding lookup, fp32 (file code 49): y[..., :] = table[ids[...], :], a
 * constant f32 table [V, D] (the node's weight) read by run-time s32 ids
 * [N, T...] (token ids a client sends), giving f32 [N, T..., D]. ONNX's
 * Gather on axis 0 of a constant with computed indices (torch's
 * nn.Embedding); a Gather of constant indices is engine/ops/gather.c.
 *
 * The ids come from client memory (docs/architecture.md, "Client memory
 * never steers the daemon"): the graph hands the node a private copy
 * (stable_inputs), and each id is read once, a negative one wrapped once
 * (as ONNX counts from the end) and anything still outside [0, V) fails
 * the run with DNNQ_E_RANGE before a row is read from it. Ids the graph
 * computed from the ids (RoBERTa's position ids) come as f32 holding
 * integers (docs/onnx.md, "Token ids"): one that is not an integer is
 * outside too.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/f32.h"
#include "engine/graph-internal.h"
#include "engine/op.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)
#define BERR(rc, ...) dnnq_op_build_err(b, diag, rc, __VA_ARGS__)

/* The table's tag in the weights cache (engine/wcache.h; f32.c has 5-7). */
#define WCACHE_EMBED 8

struct embed {
	float *table;                  /* rows x width: borrowed from the cache, or a copy */
	bool borrowed;
	size_t rows, width, n;         /* n: ids at the planned batch */
	const void *ids;               /* s32, or f32 holding integers (ids the graph computed) */
	bool f32;
	float *y;
};

/* y = row id of the table (a negative id wrapped once); DNNQ_E_RANGE,
 * nothing read, when it is still outside. */
static int put_row(const struct embed *op, int64_t id, float *y)
{
	if (id < 0)
		id += (int64_t)op->rows;
	if (id < 0 || id >= (int64_t)op->rows)
		return DNNQ_E_RANGE;
	memcpy(y, op->table + (size_t)id * op->width, op->width * sizeof *y);
	return DNNQ_OK;
}

/* put_row of an id held in a float: one that is no integer (or NaN) is
 * outside too. */
static int put_row_f(const struct embed *op, float id, float *y)
{
	if (!(id >= -(float)op->rows && id < (float)op->rows) || id != (float)(int64_t)id)
		return DNNQ_E_RANGE;
	return put_row(op, (int64_t)id, y);
}

static int embed_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                       struct dnnq_diag *diag)
{
	struct embed *op = n->op;
	const struct gtensor *x = gin(g, n, 0);
	(void)diag;
	out->ndim = x->ndim + 1;
	memcpy(out->dims, x->dims, x->ndim * sizeof *x->dims);
	out->dims[x->ndim] = (int64_t)op->width;
	return DNNQ_OK;
}

static int embed_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                        struct dnnq_diag *diag)
{
	const struct gtensor *x = gin(g, n, 0);
	const struct dnnq_embed_desc *d = &n->desc.op.embed;
	if (n->desc.precision != DNNQ_PRECISION_FP32)
		return FAIL(DNNQ_E_UNSUPPORTED, "node '%s': int8: an embedding runs in fp32", n->name);
	if ((x->dtype != DNNQ_DTYPE_S32 && x->dtype != DNNQ_DTYPE_F32) || x->const_data ||
	    x->ndim >= DNNQ_MAX_DIMS)
		return FAIL(DNNQ_E_DTYPE, "node '%s': input '%s' is %s %s of rank %u: want s32 (or "
		            "f32 integer) ids of rank 1..%d, computed", n->name, x->name,
		            dnnq_dtype_name(x->dtype),
		            x->const_data ? "constant" : "activation", x->ndim, DNNQ_MAX_DIMS - 1);
	if (!d->table || d->rows < 1 || d->rows > (size_t)INT32_MAX || d->width < 1 ||
	    d->width > ((size_t)1 << 24))
		return FAIL(DNNQ_E_SHAPE, "node '%s': table [%zu, %zu]: want 1..2^31-1 rows of "
		            "1..2^24 values", n->name, d->rows, d->width);
	struct embed *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	op->rows = d->rows;
	op->width = d->width;
	/* one copy for every graph of the model (dnnqd's workers): a BERT-base
	 * vocabulary is 94 MB */
	if (dnnq_f32_weights_get(d->cache, n->name, WCACHE_EMBED, d->rows, d->width, d->table,
	                         false, &op->table, &op->borrowed))
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	out->dtype = DNNQ_DTYPE_F32;
	out->qp = (struct dnnq_qparams){ 0 };
	return embed_infer(g, n, out, diag);
}

static int embed_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct embed *op = n->op;
	(void)nthreads;
	op->ids = gin(g, n, 0)->buf;
	op->f32 = gin(g, n, 0)->dtype == DNNQ_DTYPE_F32;
	op->y = g->t[n->out].buf;
	op->n = gnumel(gin(g, n, 0));
	return DNNQ_OK;
}

static int embed_run(struct gnode *n, const struct dnnq_executor *ex)
{
	const struct embed *op = n->op;
	(void)ex;
	if (!op->ids || !op->y)
		return DNNQ_E_INVAL;
	int rc = DNNQ_OK;
	for (size_t k = 0; !rc && k < op->n; k++)
		rc = op->f32 ? put_row_f(op, ((const float *)op->ids)[k], op->y + k * op->width)
		             : put_row(op, ((const int32_t *)op->ids)[k], op->y + k * op->width);
	return rc;
}

static void embed_destroy(struct gnode *n)
{
	struct embed *op = n->op;
	if (op && !op->borrowed)
		free(op->table);
	free(op);
}

/* The ids as the shadow run gives them (floats of the s32 values). */
static int embed_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	const struct embed *op = n->op;
	size_t count = gnumel(gin(g, n, 0));
	int rc = DNNQ_OK;
	for (size_t k = 0; !rc && k < count; k++)
		rc = put_row_f(op, in[0][k], out + k * op->width);
	return rc;
}

static const struct node_ops embed_ops = { embed_create, embed_infer, embed_setup, embed_run,
                                           embed_destroy, embed_ref, false, true };

/* The table: the node's weight, an f32 tensor [V, D]. */
static int embed_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	const struct dnnq_qtensor *t = n->weight >= 0 && (size_t)n->weight < b->m->ntensors
	                               ? &b->m->tensors[n->weight].t : NULL;
	if (!t || t->dtype != DNNQ_DTYPE_F32 || t->ndim != 2)
		return BERR(DNNQ_E_SHAPE, "weight %d: want an f32 tensor [rows, width] (the table)",
		            n->weight);
	d->op.embed.table = t->data;
	d->op.embed.rows = (size_t)t->dims[0];
	d->op.embed.width = (size_t)t->dims[1];
	d->op.embed.cache = b->cache;
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_embed = {
	.kind = 49, .name = "embed", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_WEIGHT) | DNNQ_A(DNNQ_A_PRECISION),
	.build = embed_build, .ops_f32 = &embed_ops,
};
