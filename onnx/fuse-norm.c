/*
 * onnx/fuse-norm.c — LayerNorm's decomposition fused into
 * LayerNormalization, a pattern pass on the IR after import.
 *
 * torch (1.13) exports nn.LayerNorm below opset 17 as
 *
 *     m = ReduceMean(X, axes)          axes: the last k dims, keepdims 1
 *     d = Sub(X, m)
 *     v = ReduceMean(Pow(d, 2), axes)
 *     n = Div(d, Sqrt(Add(v, eps)))    eps a scalar constant
 *     Y = Add(Mul(n, gamma), beta)     gamma, beta constants of the
 *                                      normalized shape (beta optional)
 *
 * which runs as nine nodes, five of them fp32 only; fused it is one
 * LayerNormalization (engine/ops/layernorm.c). Each intermediate value
 * must be read only inside the pattern. The last node (the Add, or the
 * Mul) becomes the LayerNormalization; the others are left without
 * readers (the lowering skips dead nodes). Sub, Pow, Sqrt and Div are
 * recognized by their ONNX op_type on DNNQ_IR_ENGINE nodes (the registry's
 * elementwise kinds), Add and Mul also as the IR's own.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/op.h"
#include "onnx/ir.h"

struct fctx {
	struct dnnq_ir *ir;
	int32_t *readers;              /* nvalues: node inputs reading it (+1: an output) */
};

static struct dnnq_ir_node *prod(const struct fctx *f, int32_t v)
{
	return v >= 0 && f->ir->values[v].producer >= 0 ? &f->ir->nodes[f->ir->values[v].producer]
	                                                : NULL;
}

/* n is the op_type's node with two inputs (ENGINE; or the IR's ADD/MUL). */
static bool is(const struct dnnq_ir_node *n, const char *op_type, uint32_t ninputs)
{
	if (!n || n->ninputs != ninputs || strcmp(n->op_type, op_type))
		return false;
	return n->op == DNNQ_IR_ENGINE || (!strcmp(op_type, "Add") && n->op == DNNQ_IR_ADD) ||
	       (!strcmp(op_type, "Mul") && n->op == DNNQ_IR_MUL);
}

/* Value v is read once (by the pattern). */
static bool once(const struct fctx *f, int32_t v)
{
	return v >= 0 && f->readers[v] == 1;
}

static bool scalar_const(const struct fctx *f, int32_t v, float *out)
{
	const struct dnnq_ir_value *c = v >= 0 ? &f->ir->values[v] : NULL;
	if (!c || !c->data || c->dtype != DNNQ_IR_F32 || dnnq_ir_numel(c, 1) != 1)
		return false;
	*out = *(const float *)c->data;
	return true;
}

/* ReduceMean of x over its last axes (keepdims); *first gets the first. */
static bool mean_last(const struct fctx *f, const struct dnnq_ir_node *n, int32_t x,
                      int64_t *first)
{
	const struct dnnq_op_def *d = dnnq_op_find("reduce_mean");
	const struct dnnq_ir_value *xv = &f->ir->values[x];
	if (!n || n->op != DNNQ_IR_ENGINE || n->kind != d->kind || n->inputs[0] != x ||
	    !n->keepdims || !n->nints)
		return false;
	for (uint32_t k = 0; k < n->nints; k++)
		if (n->ints[k] != (int64_t)(xv->ndim - n->nints + k))
			return false;
	*first = n->ints[0];
	return true;
}

/* A constant whose element count is the normalized size (dims from axis). */
static bool norm_const(const struct fctx *f, int32_t v, int32_t x, int64_t axis)
{
	const struct dnnq_ir_value *c = &f->ir->values[v], *xv = &f->ir->values[x];
	size_t n = 1;
	for (uint32_t i = (uint32_t)axis; i < xv->ndim; i++)
		n *= (size_t)xv->dims[i];
	if (!c->data || c->dtype != DNNQ_IR_F32 || c->batched || c->ndim > xv->ndim - axis ||
	    dnnq_ir_numel(c, 1) != n)
		return false;
	return true;
}

/* The other input of binary node n than v (-1 when v is neither). */
static int32_t other(const struct dnnq_ir_node *n, int32_t v)
{
	return n->inputs[0] == v ? n->inputs[1] : n->inputs[1] == v ? n->inputs[0] : -1;
}

/* The only node reading v, or NULL. */
static struct dnnq_ir_node *reader(const struct fctx *f, int32_t v)
{
	if (!once(f, v))
		return NULL;
	for (size_t j = 0; j < f->ir->nnodes; j++)
		for (uint32_t k = 0; k < f->ir->nodes[j].ninputs; k++)
			if (f->ir->nodes[j].inputs[k] == v)
				return &f->ir->nodes[j];
	return NULL;
}

/* div: Div(d, Sqrt(Add(ReduceMean(Pow(d, 2)), eps))) with d = Sub(X,
 * ReduceMean(X)); fused into the Mul (and Add) after it. 1: fused. */
static int try_fuse(struct fctx *f, struct dnnq_ir_node *div)
{
	float eps, two;
	int64_t axis, axis2;
	if (!is(div, "Div", 2))
		return 0;
	int32_t d = div->inputs[0];
	struct dnnq_ir_node *sub = prod(f, d), *sq = prod(f, div->inputs[1]);
	if (!is(sub, "Sub", 2) || !is(sq, "Sqrt", 1) || !once(f, div->inputs[1]) ||
	    f->readers[d] != 2)
		return 0;
	int32_t x = sub->inputs[0];
	if (!mean_last(f, prod(f, sub->inputs[1]), x, &axis) || !once(f, sub->inputs[1]))
		return 0;
	struct dnnq_ir_node *add = prod(f, sq->inputs[0]);
	if (!is(add, "Add", 2) || !once(f, sq->inputs[0]))
		return 0;
	int32_t v = scalar_const(f, add->inputs[1], &eps) ? add->inputs[0] : add->inputs[1];
	if (!scalar_const(f, other(add, v), &eps) || !(eps >= 0) || !isfinite(eps) || !once(f, v))
		return 0;
	struct dnnq_ir_node *var = prod(f, v);
	if (!var || !once(f, var->inputs[0]) || !mean_last(f, var, var->inputs[0], &axis2) ||
	    axis2 != axis)
		return 0;
	struct dnnq_ir_node *pow = prod(f, var->inputs[0]);
	if (!is(pow, "Pow", 2) || pow->inputs[0] != d || !scalar_const(f, pow->inputs[1], &two) ||
	    two != 2.0f)
		return 0;
	struct dnnq_ir_node *mul = reader(f, div->outputs[0]);
	int32_t gamma = mul && is(mul, "Mul", 2) ? other(mul, div->outputs[0]) : -1;
	if (gamma < 0 || !norm_const(f, gamma, x, axis))
		return 0;
	struct dnnq_ir_node *last = mul, *bias = reader(f, mul->outputs[0]);
	int32_t beta = bias && is(bias, "Add", 2) ? other(bias, mul->outputs[0]) : -1;
	if (beta >= 0 && norm_const(f, beta, x, axis))
		last = bias;
	else
		beta = -1;
	char *op_type = strdup("LayerNormalization");
	if (!op_type)
		return DNNQ_E_NOMEM;
	free(last->op_type);
	last->op_type = op_type;
	last->op = DNNQ_IR_ENGINE;
	last->kind = dnnq_op_find("layernorm")->kind;
	last->inputs[0] = x;
	last->inputs[1] = gamma;
	last->inputs[2] = beta;
	last->ninputs = beta >= 0 ? 3 : 2;
	last->axis = axis;
	last->epsilon = eps;
	/* the readers the pattern's values lose: the first ReduceMean and the
	 * Sub keep reading x, now dead */
	f->readers[div->outputs[0]] = 0;
	return 1;
}

int dnnq_ir_fuse_norm(struct dnnq_ir *ir)
{
	struct fctx f = { ir, dnnq_ir_readers(ir) };
	if (!f.readers)
		return DNNQ_E_NOMEM;
	int fused = 0;
	for (size_t j = 0; j < ir->nnodes; j++) {
		int rc = try_fuse(&f, &ir->nodes[j]);
		if (rc < 0) {
			free(f.readers);
			return rc;
		}
		fused += rc;
	}
	free(f.readers);
	ir->fused[DNNQ_IR_FUSED_LAYERNORM] += (uint32_t)fused;
	return fused;
}
