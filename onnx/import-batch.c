/*
 * onnx/import-batch.c — a graph whose batch leaves dim 0 (dnnq_ir_fix_batch,
 * onnx/ir.h).
 *
 * torch's nn.MultiheadAttention (batch_first False, and True, which
 * transposes inside) moves the batch to dim 1 and merges it with the
 * heads; a Gemm with transA makes it K; a reduction, a softmax or a
 * concatenation can run across it. The engine keeps the batch on dim 0 of
 * every activation, so the importer fixes the batch to 1 (a second
 * import: dim 0 an ordinary axis, every shape static, the arithmetic on
 * the batch folded) and this pass makes the graph batched again. A value
 * is in one of two forms:
 *   - B: its dim 0, of size 1, is the batch, as the engine wants it;
 *   - L (lifted): a batch axis of 1 put in front of its ONNX dims, which
 *     are then all ordinary axes.
 * A node whose activations all have a dim 0 of 1 and that leaves dim 0
 * alone (no axis attribute on it) runs in form B, as any batched node; any
 * other runs in form L: its B inputs lifted by a Reshape, its axes shifted
 * by one, its outputs lifted. An L value read by a B node, or a graph
 * output, is brought back by a Reshape that drops the leading 1. Each
 * batch item of a run is then one run of the ONNX graph at batch 1; the
 * model records a batch of at most 1 (ir->max_batch), because a graph
 * that moves its batch may also mix the items.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/op.h"
#include "onnx/ir.h"

/* F_W: a weight, the DequantizeLinear of a constant the dynamic
 * quantization's fusion (onnx/qdq.c) leaves a product: neither form. */
enum form { F_NONE, F_B, F_L, F_W };

/* A value lifted to a higher ONNX rank (1s in front, as broadcasting reads
 * it), made once and shared by every node that reads it so. */
struct lift {
	int32_t v, id;
	uint32_t rank;
};

struct fix {
	struct dnnq_ir *ir;
	struct dnnq_ir_node *nodes;     /* the new node list */
	size_t nnodes, ncap, vcap;
	enum form *form;                /* per value */
	int32_t *other;                 /* per value: its other form's value, or -1 */
	struct lift *lifts;             /* the padded lifts and the constants' expansions
	                                   made, room for one a read */
	size_t nlifts;
	uint32_t transpose, matmul, expand;     /* the registry's kinds */
	int32_t rows[2];                /* a rows node's output and ONNX output, or -1 */
	const char *why;                /* the import's first refusal */
	struct dnnq_diag *diag;
};

static bool is_act(const struct fix *f, int32_t v)
{
	return v >= 0 && !f->ir->values[v].data && f->form[v] != F_W;
}

/* The value's ONNX rank and dim 0 (a lifted value's are one further). */
static uint32_t onnx_rank(const struct fix *f, int32_t v)
{
	return f->ir->values[v].ndim - (f->form[v] == F_L);
}

static int64_t onnx_dim0(const struct fix *f, int32_t v)
{
	return f->ir->values[v].dims[f->form[v] == F_L];
}

static int fail(struct fix *f, const struct dnnq_ir_node *n, int rc, const char *what)
{
	return dnnq_diag_set(f->diag, rc, "node '%s' (%s): %s", n->name, n->op_type, what);
}

/* Whether node n works on dim 0 of its activations (an axis attribute on
 * it, a Gemm's transA): it cannot keep the batch there. */
static bool touches_dim0(const struct fix *f, const struct dnnq_ir_node *n)
{
	const struct dnnq_op_def *def = n->op == DNNQ_IR_ENGINE ? dnnq_op_get(n->kind) : NULL;
	switch (n->op) {
	case DNNQ_IR_CONCAT:
	case DNNQ_IR_SOFTMAX:
	case DNNQ_IR_QUANTIZE:
	case DNNQ_IR_DEQUANTIZE:
		return n->axis == 0;
	case DNNQ_IR_GEMM:
		return n->trans_a;
	case DNNQ_IR_ENGINE:
		if (!def)
			return true;
		if ((n->split || dnnq_op_has(def, DNNQ_A_AXIS)) && n->axis == 0)
			return true;
		if (dnnq_op_has(def, DNNQ_A_STARTS) && (n->starts[0] != 0 || n->steps[0] != 1))
			return true;
		for (uint32_t i = 0; i < n->nints; i++)
			if (n->kind == f->transpose ? i == 0 && n->ints[0] != 0 : n->ints[i] == 0)
				return true;
		return false;
	default:
		return false;
	}
}

/* Operators that only run on a batched 4-D (or 3-D) value as it is. */
static bool spatial(const struct dnnq_ir_node *n)
{
	switch (n->op) {
	case DNNQ_IR_CONV: case DNNQ_IR_BATCHNORM: case DNNQ_IR_MAXPOOL: case DNNQ_IR_AVGPOOL:
	case DNNQ_IR_GAVGPOOL: case DNNQ_IR_QLINEARCONV: case DNNQ_IR_CONVINTEGER:
		return true;
	case DNNQ_IR_ENGINE: {
		const struct dnnq_op_def *def = dnnq_op_get(n->kind);
		return !def || !strcmp(def->name, "resize") || !strcmp(def->name, "convtranspose") ||
		       !strcmp(def->name, "grid_sample");
	}
	default:
		return false;
	}
}

static struct dnnq_ir_node *new_node(struct fix *f)
{
	if (dnnq_ir_grow((void **)&f->nodes, &f->ncap, f->nnodes, sizeof *f->nodes))
		return NULL;
	struct dnnq_ir_node *n = &f->nodes[f->nnodes++];
	memset(n, 0, sizeof *n);
	return n;
}

/* A new value like v named v's name + suffix, of dims (ndim), batched; its
 * id, or a negative status. */
static int32_t new_value(struct fix *f, int32_t v, const char *suffix, uint32_t ndim,
                         const int64_t *dims)
{
	struct dnnq_ir *ir = f->ir;
	size_t n = ir->nvalues, c[3] = { f->vcap, f->vcap, f->vcap };
	if (dnnq_ir_grow((void **)&ir->values, &c[0], n, sizeof *ir->values) ||
	    dnnq_ir_grow((void **)&f->form, &c[1], n, sizeof *f->form) ||
	    dnnq_ir_grow((void **)&f->other, &c[2], n, sizeof *f->other))
		return DNNQ_E_NOMEM;
	f->vcap = c[0];
	const struct dnnq_ir_value *src = &ir->values[v];
	size_t len = strlen(src->name) + strlen(suffix) + 1;
	char *name = malloc(len);
	if (!name)
		return DNNQ_E_NOMEM;
	snprintf(name, len, "%s%s", src->name, suffix);
	int32_t id = (int32_t)ir->nvalues++;
	struct dnnq_ir_value *nv = &ir->values[id];
	/* the same elements moved: integers stay integers ("Token ids") */
	*nv = (struct dnnq_ir_value){ .name = name, .dtype = src->dtype, .ndim = ndim,
	                              .batched = true, .producer = -1,
	                              .integer = src->integer };
	memcpy(nv->dims, dims, ndim * sizeof *dims);
	f->form[id] = F_NONE;
	f->other[id] = v;
	return id;
}

/* A node of op (kind) from value in to value out (named after out with
 * suffix), out in form; DNNQ_OK or a negative status. */
static int adapter_to(struct fix *f, enum dnnq_ir_op op, uint32_t kind, int32_t in, int32_t out,
                      const char *suffix, enum form form, const char *op_type)
{
	struct dnnq_ir_node *n = new_node(f);
	if (!n)
		return DNNQ_E_NOMEM;
	const char *base = f->ir->values[out].name;
	size_t len = strlen(base) + strlen(suffix) + 1;
	n->op = op;
	n->kind = kind;
	n->name = malloc(len);
	n->op_type = strdup(op_type);
	if (!n->name || !n->op_type)
		return DNNQ_E_NOMEM;
	snprintf(n->name, len, "%s%s", base, suffix);
	n->ninputs = n->noutputs = 1;
	n->inputs[0] = in;
	n->outputs[0] = out;
	f->form[out] = form;
	return DNNQ_OK;
}

/* A node of op (kind) from value in to a new value of dims (ndim), named
 * after in with suffix; the new value's id, or a negative status. */
static int32_t adapter(struct fix *f, enum dnnq_ir_op op, uint32_t kind, int32_t in,
                       const char *suffix, uint32_t ndim, const int64_t *dims, enum form form,
                       const char *op_type)
{
	int32_t out = new_value(f, in, suffix, ndim, dims);
	if (out < 0)
		return out;
	int rc = adapter_to(f, op, kind, in, out, "", form, op_type);
	return rc ? rc : out;
}

/* Value v lifted to ONNX rank `rank`, at least its own (1s in front, as
 * broadcasting reads it): [1, 1..., dims...]; v itself when it is that.
 * Each lift is made once and shared by its readers (two nodes broadcasting
 * one value): a B value's plain lift, NAME:lift, through f->other; a lift
 * to a higher rank R, NAME:liftR, through f->lifts. */
static int32_t lifted(struct fix *f, const struct dnnq_ir_node *n, int32_t v, uint32_t rank)
{
	uint32_t r = onnx_rank(f, v), pad = rank - r;
	if (f->form[v] == F_L && !pad)
		return v;
	if (!pad && f->other[v] >= 0)
		return f->other[v];
	for (size_t i = 0; pad && i < f->nlifts; i++)
		if (f->lifts[i].v == v && f->lifts[i].rank == rank)
			return f->lifts[i].id;
	const struct dnnq_ir_value *x = &f->ir->values[v];
	int64_t d[DNNQ_IR_MAX_DIMS];
	if (rank + 1 > DNNQ_IR_MAX_DIMS)
		return fail(f, n, DNNQ_E_UNSUPPORTED, "a value of rank 8 cannot take a batch axis "
		            "in front (the graph moves its batch)");
	for (uint32_t i = 0; i <= pad; i++)
		d[i] = 1;
	memcpy(d + 1 + pad, x->dims + (f->form[v] == F_L), r * sizeof *d);
	char suffix[16] = ":lift";
	if (pad)
		snprintf(suffix, sizeof suffix, ":lift%u", rank);
	int32_t id = adapter(f, DNNQ_IR_RESHAPE, 0, v, suffix, rank + 1, d, F_L, "Reshape");
	if (id < 0)
		return id;
	f->other[id] = pad ? -1 : v;
	if (pad)
		f->lifts[f->nlifts++] = (struct lift){ .v = v, .id = id, .rank = rank };
	else
		f->other[v] = id;
	return id;
}

/* Whether n broadcasts its inputs against each other (NumPy's rules: a
 * lower rank reads as 1s in front). */
static bool broadcasts(const struct dnnq_ir_node *n)
{
	const struct dnnq_op_def *def = n->op == DNNQ_IR_ENGINE ? dnnq_op_get(n->kind) : NULL;
	return n->op == DNNQ_IR_ADD || n->op == DNNQ_IR_MUL || (def && def->f32);
}

/* Whether n's activation v reads as the output's rank, 1s in front:
 * broadcasting's rule, a MatMul's (but a vector operand's). */
static bool reads_at_out_rank(const struct fix *f, const struct dnnq_ir_node *n, int32_t v)
{
	return broadcasts(n) || (n->op == DNNQ_IR_ENGINE && n->kind == f->matmul &&
	                         onnx_rank(f, v) >= 2);
}

/* Value v (form L, ONNX dim 0 of 1) back to form B; made once. */
static int32_t dropped(struct fix *f, int32_t v)
{
	if (f->other[v] >= 0)
		return f->other[v];
	const struct dnnq_ir_value *x = &f->ir->values[v];
	int64_t d[DNNQ_IR_MAX_DIMS];
	memcpy(d, x->dims + 1, (x->ndim - 1) * sizeof *d);
	int32_t id = adapter(f, DNNQ_IR_RESHAPE, 0, v, ":batch", x->ndim - 1, d, F_B, "Reshape");
	if (id >= 0)
		f->other[v] = id;
	return id;
}

/* Constant v, an input of a node that expands_consts, expanded to the batch (each batch row a copy: a ViT's class token once the batch
 * is fixed), lifted or not; its id, or a negative status. Each expansion
 * is made once and shared by its readers (a Sum or a Concat naming the
 * constant twice, two Concats of it), kept in f->lifts with the rank 0 or
 * 1 (lifted): a constant is never an activation's lift. Made again, the
 * second Expand's name was the first's, and the graph refused the valid
 * model ("tensor name 'k:expand:const' used twice"). */
static int32_t expanded(struct fix *f, const struct dnnq_ir_node *n, int32_t v, bool lift)
{
	for (size_t i = 0; i < f->nlifts; i++)
		if (f->lifts[i].v == v && f->lifts[i].rank == lift)
			return f->lifts[i].id;
	const struct dnnq_ir_value *c = &f->ir->values[v];
	int64_t d[DNNQ_IR_MAX_DIMS] = { 1 };
	if (c->ndim + lift > DNNQ_IR_MAX_DIMS || (!lift && (c->ndim < 1 || c->dims[0] != 1)))
		return fail(f, n, DNNQ_E_UNSUPPORTED, "a constant input that cannot be expanded to "
		            "the batch (rank 8, or a dim 0 other than 1)");
	memcpy(d + lift, c->dims, c->ndim * sizeof *d);
	int32_t id = adapter(f, DNNQ_IR_ENGINE, f->expand, v, lift ? ":expand:lift" : ":expand",
	                     c->ndim + lift, d, lift ? F_L : F_B, "Expand");
	if (id < 0)
		return id;
	f->other[id] = -1;
	f->lifts[f->nlifts++] = (struct lift){ .v = v, .id = id, .rank = lift };
	return id;
}

/* Whether n reads its constant inputs expanded to the batch: a Concat or a
 * Sum beside batched values, and the indexed moves whose engine nodes read
 * activations only (onnx/import-ops.c, indexed_consts). */
static bool expands_consts(const struct dnnq_ir_node *n)
{
	static const char *const moves[] = { "scatter_elements", "scatter_nd", "gather_nd" };
	const struct dnnq_op_def *d = n->op == DNNQ_IR_ENGINE ? dnnq_op_get(n->kind) : NULL;
	for (size_t k = 0; d && k < sizeof moves / sizeof moves[0]; k++)
		if (!strcmp(d->name, moves[k]))
			return true;
	return n->op == DNNQ_IR_CONCAT || n->op == DNNQ_IR_SUM;
}

/* Node n's axes one further (its values lifted). */
static void shift_axes(const struct fix *f, struct dnnq_ir_node *n)
{
	const struct dnnq_op_def *def = n->op == DNNQ_IR_ENGINE ? dnnq_op_get(n->kind) : NULL;
	bool axis = n->op == DNNQ_IR_CONCAT || n->op == DNNQ_IR_SOFTMAX ||
	            n->op == DNNQ_IR_QUANTIZE || n->op == DNNQ_IR_DEQUANTIZE ||
	            n->split || (def && dnnq_op_has(def, DNNQ_A_AXIS));
	if (axis)
		n->axis++;
	if (n->nints && n->nints < DNNQ_IR_MAX_DIMS) {
		bool perm = n->op == DNNQ_IR_ENGINE && n->kind == f->transpose;
		memmove(n->ints + perm, n->ints, n->nints * sizeof *n->ints);
		for (uint32_t i = perm; i < n->nints + perm; i++)
			n->ints[i]++;
		n->ints[0] = perm ? 0 : n->ints[0];
		n->nints += perm;
	}
	memmove(n->starts + 1, n->starts, (DNNQ_IR_MAX_DIMS - 1) * sizeof *n->starts);
	memmove(n->steps + 1, n->steps, (DNNQ_IR_MAX_DIMS - 1) * sizeof *n->steps);
	n->starts[0] = 0;
	n->steps[0] = 1;
}

/* A Gemm's transA on a lifted A [1, K, M]: a transpose to [1, M, K] first. */
static int untranspose_a(struct fix *f, struct dnnq_ir_node *n)
{
	const struct dnnq_ir_value *a = &f->ir->values[n->inputs[0]];
	int64_t d[DNNQ_IR_MAX_DIMS] = { 1, a->dims[2], a->dims[1] };
	int32_t t = adapter(f, DNNQ_IR_ENGINE, f->transpose, n->inputs[0], ":transA", 3, d, F_L,
	                    "Transpose");
	if (t < 0)
		return t;
	struct dnnq_ir_node *tn = &f->nodes[f->nnodes - 1];
	tn->ints[0] = 0;
	tn->ints[1] = 2;
	tn->ints[2] = 1;
	tn->nints = 3;
	n->inputs[0] = t;
	n->trans_a = false;
	return DNNQ_OK;
}

/* Whether n runs in form B: every activation with a dim 0 of 1, none moved;
 * a broadcasting node's (a MatMul's too) of the output's rank, so its dim
 * 0 is the output's (x [1, 3, 4] by a constant [1, 5, 4, 2] reads it as
 * dim 1, against the 5). */
static bool form_b(const struct fix *f, const struct dnnq_ir_node *n)
{
	const struct dnnq_ir *ir = f->ir;
	if (touches_dim0(f, n))
		return false;
	uint32_t rank = n->noutputs ? ir->values[n->outputs[0]].ndim : 0;
	for (uint32_t k = 0; k < n->ninputs; k++)
		if (is_act(f, n->inputs[k]) &&
		    (onnx_rank(f, n->inputs[k]) < 1 || onnx_dim0(f, n->inputs[k]) != 1 ||
		     (reads_at_out_rank(f, n, n->inputs[k]) && onnx_rank(f, n->inputs[k]) < rank)))
			return false;
	for (uint32_t k = 0; k < n->noutputs; k++) {
		const struct dnnq_ir_value *y = &ir->values[n->outputs[k]];
		if (y->ndim < 1 || y->dims[0] != 1)
			return false;
	}
	return true;
}

/* A transpose of axes 1 and 2 of 4-D value in to a new value (suffix),
 * in form; its id, or a negative status. */
static int32_t swap12(struct fix *f, int32_t in, const char *suffix, enum form form)
{
	const int64_t *x = f->ir->values[in].dims;
	int64_t d[4] = { x[0], x[2], x[1], x[3] };
	int32_t t = adapter(f, DNNQ_IR_ENGINE, f->transpose, in, suffix, 4, d, form, "Transpose");
	if (t < 0)
		return t;
	struct dnnq_ir_node *tn = &f->nodes[f->nnodes - 1];
	static const int64_t perm[4] = { 0, 2, 1, 3 };
	memcpy(tn->ints, perm, sizeof perm);
	tn->nints = 4;
	f->other[t] = -1;
	return t;
}

/* Whether spatial node n, its input lifted, reads [B, C, 1, W], writes
 * [B, M, 1, W'] and leaves H alone (kernel 1, stride 1, no pads on it: a
 * 1-D Conv or ConvTranspose as the 2-D node), so that it can run on B as
 * its H (rows). A ConvTranspose's output_padding can grow H to 2 (under a
 * dilation of 2): rows' output keeps one row an image. */
static bool rows_ok(const struct fix *f, const struct dnnq_ir_node *n)
{
	const struct dnnq_ir_value *x = &f->ir->values[n->inputs[0]];
	const struct dnnq_ir_value *y = &f->ir->values[n->outputs[0]];
	const struct dnnq_op_def *def = n->op == DNNQ_IR_ENGINE ? dnnq_op_get(n->kind) : NULL;
	return (n->op == DNNQ_IR_CONV || (def && !strcmp(def->name, "convtranspose"))) &&
	       f->form[n->inputs[0]] == F_L && x->ndim == 5 && x->dims[3] == 1 &&
	       y->ndim == 4 && y->dims[2] == 1 && n->kernel[0] == 1 &&
	       n->strides[0] == 1 && !n->pads[0] && !n->pads[2];
}

/* Spatial node n (rows_ok) on its lifted input [1, B, C, 1, W] as
 * [1, C, B, W] (a Reshape and a Transpose), batched: B, the ONNX dim 0
 * that is not the batch, is its H (Conv-TasNet's decoder, a 1-D
 * ConvTranspose over [N * sources, F, L]). Its output, [1, M, B, W'] (form
 * B), goes back to n's output lifted after n (f->rows). */
static int rows(struct fix *f, struct dnnq_ir_node *n)
{
	struct dnnq_ir *ir = f->ir;
	int32_t y = n->outputs[0];
	const int64_t *x = ir->values[n->inputs[0]].dims, *yd = ir->values[y].dims;
	int64_t d[4] = { 1, x[1], x[2], x[4] }, o[4] = { 1, yd[1], yd[0], yd[3] };
	/* named after y: unique, if two nodes read one value */
	int32_t a = new_value(f, y, ":rows_in", 4, d);
	if (a < 0)
		return a;
	int rc = adapter_to(f, DNNQ_IR_RESHAPE, 0, n->inputs[0], a, "", F_L, "Reshape");
	f->other[a] = -1;
	int32_t b = rc ? rc : swap12(f, a, ":T", F_B);
	int32_t r = b < 0 ? b : new_value(f, y, ":rows", 4, o);
	if (r < 0)
		return r;
	f->form[r] = F_B;
	f->other[r] = -1;
	n->inputs[0] = b;
	n->outputs[0] = r;
	f->rows[0] = r;
	f->rows[1] = y;
	return DNNQ_OK;
}

/* After a rows node: its output [1, M, B, W'] back to its ONNX output
 * [B, M, 1, W'], lifted. */
static int unrows(struct fix *f)
{
	int32_t t = swap12(f, f->rows[0], ":T", F_L);
	f->rows[0] = -1;
	if (t < 0)
		return t;
	struct dnnq_ir_value *y = &f->ir->values[f->rows[1]];      /* after swap12 grew them */
	memmove(y->dims + 1, y->dims, y->ndim * sizeof *y->dims);
	y->dims[0] = 1;
	y->ndim++;
	y->batched = true;
	return adapter_to(f, DNNQ_IR_RESHAPE, 0, t, f->rows[1], ":unrows", F_L, "Reshape");
}

/* Node n (a copy in the new list) in form L. */
static int lift_node(struct fix *f, struct dnnq_ir_node *n)
{
	struct dnnq_ir *ir = f->ir;
	if (spatial(n) && rows_ok(f, n))
		return rows(f, n);
	if (spatial(n))
		return fail(f, n, DNNQ_E_UNSUPPORTED, "its input's dim 0 is not the batch (the graph "
		            "moves the batch): only a batched 4-D input, or a 1-D Conv's H of 1, "
		            "is supported");
	bool same_rank = expands_consts(n);
	uint32_t rank = ir->values[n->outputs[0]].ndim;
	for (uint32_t k = 0; k < n->ninputs; k++) {
		int32_t v = n->inputs[k], id = v;
		if (is_act(f, v))
			id = lifted(f, n, v, reads_at_out_rank(f, n, v) && rank > onnx_rank(f, v)
			                     ? rank : onnx_rank(f, v));
		else if (v >= 0 && same_rank)
			id = expanded(f, n, v, true);
		if (id < 0)
			return id;
		n->inputs[k] = id;
	}
	for (uint32_t k = 0; k < n->noutputs; k++) {
		struct dnnq_ir_value *y = &ir->values[n->outputs[k]];
		if (y->ndim + 1 > DNNQ_IR_MAX_DIMS)
			return fail(f, n, DNNQ_E_UNSUPPORTED, "an output of rank 8 cannot take a batch "
			            "axis in front (the graph moves its batch)");
		memmove(y->dims + 1, y->dims, y->ndim * sizeof *y->dims);
		y->dims[0] = 1;
		y->ndim++;
		y->batched = true;
		f->form[n->outputs[k]] = F_L;
	}
	shift_axes(f, n);
	return n->op == DNNQ_IR_GEMM && n->trans_a ? untranspose_a(f, n) : DNNQ_OK;
}

/* Node n (a copy in the new list) in form B. */
static int keep_node(struct fix *f, struct dnnq_ir_node *n)
{
	struct dnnq_ir *ir = f->ir;
	bool same_rank = expands_consts(n);
	for (uint32_t k = 0; k < n->ninputs; k++) {
		int32_t v = n->inputs[k];
		if (is_act(f, v) && f->form[v] == F_L && (n->inputs[k] = dropped(f, v)) < 0)
			return n->inputs[k];
		if (v >= 0 && ir->values[v].data && same_rank && (n->inputs[k] = expanded(f, n, v, false)) < 0)
			return n->inputs[k];
	}
	for (uint32_t k = 0; k < n->noutputs; k++) {
		ir->values[n->outputs[k]].batched = true;
		f->form[n->outputs[k]] = F_B;
	}
	return DNNQ_OK;
}

/* The registry's MatMul by a 2-D constant, its A batched now: the GEMM
 * (the engine's FC) it would have been with a batch. */
static void to_gemm(const struct fix *f, struct dnnq_ir_node *n)
{
	const struct dnnq_ir_value *v = f->ir->values;
	if (n->op != DNNQ_IR_ENGINE || n->kind != f->matmul ||
	    !dnnq_ir_matmul_is_gemm(&v[n->inputs[0]], &v[n->inputs[1]]))
		return;
	n->op = DNNQ_IR_GEMM;
	n->kind = 0;
	n->alpha = 1.0f;
	n->beta = 0.0f;
}

/* Graph output i in form B under its own name, when its ONNX dim 0 is 1. */
static int fix_output(struct fix *f, size_t i)
{
	struct dnnq_ir *ir = f->ir;
	int32_t v = ir->outputs[i];
	/* an output whose ONNX dim 0 is not 1 keeps the batch axis in front,
	 * as an input of that kind takes it (fix_nodes) */
	if (f->form[v] != F_L || onnx_rank(f, v) < 1 || onnx_dim0(f, v) != 1)
		return DNNQ_OK;
	int32_t b = dropped(f, v);
	if (b < 0)
		return b;
	for (size_t k = 0; k < i; k++)
		if (ir->outputs[k] == b) {      /* v listed again: named so already */
			ir->outputs[i] = b;
			return DNNQ_OK;
		}
	char *keep = ir->values[v].name;   /* the output's name goes to the B value */
	ir->values[v].name = ir->values[b].name;
	ir->values[b].name = keep;
	ir->outputs[i] = b;
	/* and to the Reshape making it, whose name v now has: a node of v's
	 * producer named so (a Split's output) made the name twice */
	for (size_t j = 0; j < f->nnodes; j++) {
		if (f->nodes[j].outputs[0] != b)
			continue;
		char *name = strdup(keep);
		if (!name)
			return DNNQ_E_NOMEM;
		free(f->nodes[j].name);
		f->nodes[j].name = name;
	}
	return DNNQ_OK;
}

static int fix_nodes(struct fix *f)
{
	struct dnnq_ir *ir = f->ir;
	for (size_t i = 0; i < ir->ninputs; i++) {
		struct dnnq_ir_value *x = &ir->values[ir->inputs[i]];
		if (x->ndim < 1)
			return dnnq_diag_set(f->diag, DNNQ_E_UNSUPPORTED, "graph input '%s': a scalar "
			                     "(the graph moves the batch)", x->name);
		x->batched = true;
		f->form[ir->inputs[i]] = F_B;
		if (x->dims[0] == 1)
			continue;
		/* dim 0 fixed by the model, not the batch (silero VAD's state
		 * [2, batch, 128]): the input takes a batch axis of 1 in front */
		if (x->ndim == DNNQ_IR_MAX_DIMS)
			return dnnq_diag_set(f->diag, DNNQ_E_UNSUPPORTED, "graph input '%s': rank 8 "
			                     "with dim 0 of %lld cannot take a batch axis in front",
			                     x->name, (long long)x->dims[0]);
		memmove(x->dims + 1, x->dims, x->ndim * sizeof *x->dims);
		x->dims[0] = 1;
		x->ndim++;
		f->form[ir->inputs[i]] = F_L;
	}
	for (size_t j = 0; j < ir->nnodes; j++) {
		/* moved; lift_node may add nodes before it */
		struct dnnq_ir_node copy = ir->nodes[j];
		ir->nodes[j].name = ir->nodes[j].op_type = NULL;
		bool weight = copy.op == DNNQ_IR_DEQUANTIZE && !is_act(f, copy.inputs[0]);
		if (weight)
			f->form[copy.outputs[0]] = F_W;
		int rc = weight ? DNNQ_OK : form_b(f, &copy) ? keep_node(f, &copy) : lift_node(f, &copy);
		struct dnnq_ir_node *slot = new_node(f);
		if (!slot) {
			free(copy.name);
			free(copy.op_type);
			return DNNQ_E_NOMEM;
		}
		*slot = copy;
		if (rc)
			return rc;
		to_gemm(f, slot);
		/* after to_gemm: the nodes unrows adds may move slot */
		if (f->rows[0] >= 0 && (rc = unrows(f)))
			return rc;
	}
	for (size_t i = 0; i < ir->noutputs; i++) {
		int rc = fix_output(f, i);
		if (rc)
			return rc;
	}
	return DNNQ_OK;
}

static void take(int32_t *map, int32_t *next, int32_t v)
{
	if (v >= 0 && map[v] < 0)
		map[v] = (*next)++;
}

/* The values numbered again in the order the nodes use them (graph inputs
 * first, a node's inputs before its outputs), as onnx/ir.h promises: the
 * adapters' values were added last. */
static int renumber(struct dnnq_ir *ir)
{
	int32_t *map = malloc((ir->nvalues + 1) * sizeof *map), next = 0;
	struct dnnq_ir_value *vals = malloc((ir->nvalues + 1) * sizeof *vals);
	if (!map || !vals) {
		free(map);
		free(vals);
		return DNNQ_E_NOMEM;
	}
	for (size_t v = 0; v < ir->nvalues; v++)
		map[v] = -1;
	for (size_t i = 0; i < ir->ninputs; i++)
		take(map, &next, ir->inputs[i]);
	for (size_t j = 0; j < ir->nnodes; j++) {
		struct dnnq_ir_node *n = &ir->nodes[j];
		for (uint32_t k = 0; k < n->ninputs; k++)
			take(map, &next, n->inputs[k]);
		for (uint32_t k = 0; k < n->noutputs; k++)
			take(map, &next, n->outputs[k]);
	}
	for (size_t v = 0; v < ir->nvalues; v++)
		take(map, &next, (int32_t)v);
	for (size_t v = 0; v < ir->nvalues; v++)
		vals[map[v]] = ir->values[v];
	for (size_t j = 0; j < ir->nnodes; j++) {
		struct dnnq_ir_node *n = &ir->nodes[j];
		for (uint32_t k = 0; k < n->ninputs; k++)
			n->inputs[k] = n->inputs[k] < 0 ? n->inputs[k] : map[n->inputs[k]];
		for (uint32_t k = 0; k < n->noutputs; k++)
			n->outputs[k] = map[n->outputs[k]];
	}
	for (size_t i = 0; i < ir->ninputs; i++)
		ir->inputs[i] = map[ir->inputs[i]];
	for (size_t i = 0; i < ir->noutputs; i++)
		ir->outputs[i] = map[ir->outputs[i]];
	free(ir->values);
	ir->values = vals;
	free(map);
	return DNNQ_OK;
}

int dnnq_ir_fix_batch(struct dnnq_ir *ir, const char *why, struct dnnq_diag *diag)
{
	struct fix f = { .ir = ir, .ncap = 2 * ir->nnodes + 16, .vcap = ir->nvalues,
	                 .transpose = dnnq_op_find("transpose")->kind,
	                 .matmul = dnnq_op_find("matmul")->kind,
	                 .expand = dnnq_op_find("expand")->kind, .rows = { -1, -1 }, .why = why,
	                 .diag = diag };
	f.nodes = malloc(f.ncap * sizeof *f.nodes);
	f.form = calloc(f.vcap + 1, sizeof *f.form);
	f.other = malloc((f.vcap + 1) * sizeof *f.other);
	size_t reads = 0;
	for (size_t j = 0; j < ir->nnodes; j++)
		reads += ir->nodes[j].ninputs;
	f.lifts = malloc((reads + 1) * sizeof *f.lifts);
	ir->batch_note = strdup(why);
	int rc = f.nodes && f.form && f.other && f.lifts && ir->batch_note ? DNNQ_OK
	                                                                 : DNNQ_E_NOMEM;
	for (size_t v = 0; !rc && v < f.vcap; v++)
		f.other[v] = -1;
	if (!rc)
		rc = fix_nodes(&f);
	/* the new list replaces the old either way (names moved into it) */
	for (size_t j = 0; f.nodes && j < ir->nnodes; j++) {
		free(ir->nodes[j].name);
		free(ir->nodes[j].op_type);
	}
	free(ir->nodes);
	ir->nodes = f.nodes;
	ir->nnodes = f.nodes ? f.nnodes : 0;
	if (!rc)
		rc = renumber(ir);
	if (rc == DNNQ_E_NOMEM)
		dnnq_diag_set(diag, rc, "onnx: out of memory");
	for (size_t j = 0; j < ir->nnodes; j++)
		for (uint32_t k = 0; k < ir->nodes[j].noutputs; k++)
			ir->values[ir->nodes[j].outputs[k]].producer = (int32_t)j;
	ir->max_batch = 1;
	free(f.form);
	free(f.other);
	free(f.lifts);
	return rc;
}
