/*
 * onnx/lower-xfmr.c — lowering of the transformer and reduction operators
 * (engine/xfmr.h): Transpose, MatMul of activations, ReduceSum/Mean/Max,
 * Softmax on any axis, LogSoftmax, LayerNormalization, LRN.
 *
 * The engine keeps 4-D values NHWC; these operators take ONNX's axes
 * composed with that layout here (a Transpose's perm, a reduction's axes,
 * a softmax's axis, MatMul's NCHW operand bits), so no activation moves
 * for a layout change. The precision is the node's (L->fp32): the kinds
 * with no int8 kernel (softmax_axis, logsoftmax, layernorm, lrn) are fp32
 * by the registry (onnx/lower.c fp32_only), and a Softmax on an axis the
 * int8 softmax kind does not take is made fp32 here.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/argmax.h"
#include "engine/op.h"
#include "onnx/lower-internal.h"

#define NODE(j) (&L->ir->nodes[j])

/* The ONNX axis of engine dim i of value v (engine_axis's inverse). */
static uint32_t onnx_axis(const struct dnnq_ir_value *v, uint32_t i)
{
	static const uint32_t nhwc[4] = { 0, 2, 3, 1 };
	return v->ndim == 4 && i < 4 ? nhwc[i] : i;
}

/* Input k of n as an activation in the node's precision (not a flattened
 * NCHW value stored NHWC: its element order is neither). */
static int xfmr_input(struct lower *L, const struct dnnq_ir_node *n, uint32_t k, int32_t *ref)
{
	int rc = check_input(L, n, k, false);
	if (rc)
		return rc;
	int32_t v = n->inputs[k];
	if (L->v[v].perm)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s' is a flattened NCHW value kept "
		                 "in NHWC order", lval_ir(L, v)->name);
	return need_act(L, n, v, ref);
}

/* A node of the registry's kind `name` reading in. */
static struct dnnq_model_node *xfmr_node(struct lower *L, const struct dnnq_ir_node *n,
                                         const char *name, int32_t in, int32_t *ref)
{
	return add_node1(L, (enum dnnq_node_kind)dnnq_op_find(name)->kind, n->name, in, ref);
}

/* The output: act_out's, but with input 0's parameters when keep (data
 * movement, max) in int8. */
static int xfmr_out(struct lower *L, const struct dnnq_ir_node *n, struct dnnq_model_node *mn,
                    int32_t ref, bool keep)
{
	if (!keep || L->fp32)
		return act_out(L, n, n->outputs[0], mn, ref);
	struct lval *ly = &L->v[n->outputs[0]];
	ly->qp = L->v[n->inputs[0]].qp;
	set_out_qp(mn, &ly->qp);
	mn->out_dtype = DNNQ_DTYPE_U8;
	ly->u8 = ref;
	return DNNQ_OK;
}

/* Output engine dim i is input engine dim perm[i]. */
int lower_transpose(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]), *yv = lval_ir(L, n->outputs[0]);
	int32_t in, ref;
	int rc = xfmr_input(L, n, 0, &in);
	if (rc)
		return rc;
	if (n->nints != xv->ndim)
		return lower_err(L, n, DNNQ_E_FORMAT, "perm of %u for rank %u", n->nints, xv->ndim);
	struct dnnq_model_node *mn = xfmr_node(L, n, "transpose", in, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->ndim = xv->ndim;
	for (uint32_t i = 0; i < xv->ndim; i++)
		mn->dims[i] = engine_axis(xv, (uint32_t)n->ints[onnx_axis(yv, i)]);
	return xfmr_out(L, n, mn, ref, true);
}

/* Operands of rank 4 are NHWC in the graph (a constant stays in ONNX's
 * layout): op bits say so. */
struct dnnq_model_node *matmul_node(struct lower *L, const struct dnnq_ir_node *n, int32_t a,
                                    int32_t b, int32_t b_value, bool b_const, int32_t *ref)
{
	struct dnnq_model_node *mn = xfmr_node(L, n, "matmul", a, ref);
	if (!mn)
		return NULL;
	mn->ninputs = 2;
	mn->inputs[1] = b;
	mn->op = (lval_ir(L, n->inputs[0])->ndim == 4 ? 1u : 0u) |
	         (!b_const && lval_ir(L, b_value)->ndim == 4 ? 2u : 0u) |
	         (lval_ir(L, n->outputs[0])->ndim == 4 ? 4u : 0u);
	return mn;
}

int lower_matmul(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int32_t in[2], ref;
	int rc = xfmr_input(L, n, 0, &in[0]);
	if (rc || (rc = check_input(L, n, 1, false)))
		return rc;
	int32_t b = n->inputs[1];
	const struct dnnq_ir_value *bv = lval_ir(L, b);
	if (is_const(L, b)) {
		float *c;
		char nm[DNNQ_MODEL_NAME_MAX];
		if ((rc = const_f32(L, n, b, 0, &c, NULL)))
			return rc;
		model_name(nm, n->name, ":b");
		rc = add_constant_nd(L, nm, c, bv->ndim, bv->dims, &in[1]);
		free(c);
	} else {
		rc = xfmr_input(L, n, 1, &in[1]);
	}
	if (rc)
		return rc;
	struct dnnq_model_node *mn = matmul_node(L, n, in[0], in[1], b, is_const(L, b), &ref);
	return mn ? xfmr_out(L, n, mn, ref, false) : DNNQ_E_NOMEM;
}

/* ArgMax, ArgMin: the registry's argmax / argmin along the axis in the
 * engine's layout, s32 indices (read as int32 token ids are: a graph
 * output, a reshape, a cast). A 4-D input's H or W without keepdims would
 * leave [N, W, C] where ONNX has [N, C, W]: the node keeps the dim
 * ([N, 1, W, C]), a to_nchw (":nchw") gives [N, C, 1, W] and a reshape
 * (":drop") ONNX's [N, C, W]. */
int lower_arg(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]), *yv = lval_ir(L, n->outputs[0]);
	char nm[DNNQ_MODEL_NAME_MAX];
	int32_t in, ref;
	int rc = xfmr_input(L, n, 0, &in);
	if (rc)
		return rc;
	uint32_t axis = engine_axis(xv, (uint32_t)n->axis);
	bool moved = xv->ndim == 4 && !n->keepdims && axis != 3;
	struct dnnq_model_node *mn = xfmr_node(L, n, dnnq_op_get(n->kind)->name, in, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->axis = axis;
	mn->op = (n->keepdims || moved ? DNNQ_ARG_KEEPDIMS : 0) | (n->mode & 1 ? DNNQ_ARG_LAST : 0);
	mn->out_dtype = DNNQ_DTYPE_S32;
	if (moved) {
		model_name(nm, n->name, ":nchw");
		if (!(mn = add_node1(L, DNNQ_NODE_CONVERT, nm, ref, &ref)))
			return DNNQ_E_NOMEM;
		mn->op = DNNQ_CONVERT_TO_NCHW;
		model_name(nm, n->name, ":drop");
		if (!(mn = add_node1(L, DNNQ_NODE_RESHAPE, nm, ref, &ref)))
			return DNNQ_E_NOMEM;
		mn->ndim = yv->ndim;
		memcpy(mn->dims, yv->dims, yv->ndim * sizeof *yv->dims);
	}
	L->v[n->outputs[0]].s32 = ref;
	return DNNQ_OK;
}

/* TopK: the registry's topk (values, the input's parameters in int8) and
 * topk_indices (NAME:indices, s32) along the axis in the engine's layout,
 * each only when its output is read; both read the input. */
int lower_topk(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]);
	int32_t in, ref;
	int rc = xfmr_input(L, n, 0, &in);
	for (uint32_t k = 0; !rc && k < 2; k++) {
		if (!L->nreaders[n->outputs[k]])
			continue;
		char nm[DNNQ_MODEL_NAME_MAX];
		uint32_t kind = dnnq_op_find(k ? "topk_indices" : "topk")->kind;
		model_name(nm, n->name, k ? ":indices" : "");
		struct dnnq_model_node *mn = add_node1(L, (enum dnnq_node_kind)kind, nm, in, &ref);
		if (!mn)
			return DNNQ_E_NOMEM;
		mn->axis = engine_axis(xv, (uint32_t)n->axis);
		mn->k = (uint32_t)n->k;
		mn->op = n->mode;
		if (k) {
			mn->out_dtype = DNNQ_DTYPE_S32;
			L->v[n->outputs[1]].s32 = ref;
		} else {
			rc = xfmr_out(L, n, mn, ref, true);
		}
	}
	return rc;
}

/* A transpose of src by perm (engine dims, ndim of them), keeping src's
 * dtype; the node's name gets suffix. */
static int transpose_nd(struct lower *L, const struct dnnq_ir_node *n, int32_t src,
                        uint32_t ndim, const uint32_t *perm, const char *suffix, int32_t *ref)
{
	char nm[DNNQ_MODEL_NAME_MAX];
	model_name(nm, n->name, suffix);
	struct dnnq_model_node *mn = add_node1(L, (enum dnnq_node_kind)dnnq_op_find("transpose")->kind,
	                                       nm, src, ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->ndim = ndim;
	for (uint32_t i = 0; i < ndim; i++)
		mn->dims[i] = perm[i];
	return DNNQ_OK;
}

/* The axes in the engine's layout. Without keepdims the reduction leaves
 * the kept dims in the engine's order; where that is not the output's (a
 * 4-D input's H or W reduced, C kept: [N, C, T, F] -> mean over F, an audio
 * net's pooling), a transpose ":order" after it moves them into place. */
int lower_reduce(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	const char *kind = dnnq_op_get(n->kind)->name;
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]), *yv = lval_ir(L, n->outputs[0]);
	bool red[DNNQ_MAX_DIMS] = { false };
	int32_t in, ref;
	int rc = xfmr_input(L, n, 0, &in);
	if (rc)
		return rc;
	for (uint32_t k = 0; k < n->nints; k++)
		red[engine_axis(xv, (uint32_t)n->ints[k])] = true;
	uint32_t kept[DNNQ_MAX_DIMS], nk = 0, onnx_kept[DNNQ_MAX_DIMS], no = 0;
	for (uint32_t i = 0; i < xv->ndim; i++) {
		if (!red[i])
			kept[nk++] = onnx_axis(xv, i);
		bool on = false;
		for (uint32_t k = 0; k < n->nints; k++)
			on |= n->ints[k] == (int64_t)i;
		if (!on)
			onnx_kept[no++] = i;
	}
	/* order[i]: the reduction's output dim that is the output's engine dim i */
	uint32_t order[DNNQ_MAX_DIMS];
	bool moved = false;
	for (uint32_t i = 0; !n->keepdims && i < nk; i++) {
		for (order[i] = 0; kept[order[i]] != onnx_kept[onnx_axis(yv, i)]; order[i]++)
			;
		moved |= order[i] != i;
	}
	struct dnnq_model_node *mn = xfmr_node(L, n, kind, in, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->op = n->keepdims;
	for (uint32_t i = 0; i < xv->ndim; i++)
		if (red[i])
			mn->dims[mn->ndim++] = i;
	if ((rc = xfmr_out(L, n, mn, ref, !strcmp(kind, "reduce_max"))) || !moved)
		return rc;
	if ((rc = transpose_nd(L, n, ref, nk, order, ":order", &ref)))
		return rc;
	struct lval *ly = &L->v[n->outputs[0]];
	mn = &L->m->nodes[ref - REF_NODE];
	if (L->fp32) {
		mn->out_dtype = DNNQ_DTYPE_F32;
		ly->f32 = ref;
	} else {
		set_out_qp(mn, &ly->qp);
		mn->out_dtype = DNNQ_DTYPE_U8;
		ly->u8 = ref;
	}
	return DNNQ_OK;
}

/* The axis in the engine's layout; fp32 (softmax_axis, logsoftmax,
 * hardmax). */
static int lower_softmax_kind(struct lower *L, const struct dnnq_ir_node *n, const char *kind)
{
	int32_t in, ref;
	L->fp32 = true;
	int rc = xfmr_input(L, n, 0, &in);
	if (rc)
		return rc;
	struct dnnq_model_node *mn = xfmr_node(L, n, kind, in, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->axis = engine_axis(lval_ir(L, n->inputs[0]), (uint32_t)n->axis);
	return xfmr_out(L, n, mn, ref, false);
}

int lower_softmax_axis(struct lower *L, size_t j)
{
	return lower_softmax_kind(L, NODE(j), "softmax_axis");
}

int lower_logsoftmax(struct lower *L, size_t j)
{
	return lower_softmax_kind(L, NODE(j), "logsoftmax");
}

int lower_hardmax(struct lower *L, size_t j)
{
	return lower_softmax_kind(L, NODE(j), "hardmax");
}

/* fp32 (no int8 kernel): the channels' axis in the engine's layout (a 4-D
 * image's innermost), alpha, beta and bias, the size. */
int lower_lrn(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int32_t in, ref;
	int rc = xfmr_input(L, n, 0, &in);
	if (rc)
		return rc;
	struct dnnq_model_node *mn = xfmr_node(L, n, "lrn", in, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->axis = engine_axis(lval_ir(L, n->inputs[0]), (uint32_t)n->axis);
	mn->k = (uint32_t)n->k;
	mn->params[0] = n->alpha;
	mn->params[1] = n->beta;
	mn->params[2] = n->epsilon;
	return xfmr_out(L, n, mn, ref, false);
}

/* The engine transpose that brings LayerNorm n's normalized ONNX axes
 * (axis..rank-1 of xv) last, in ONNX's order, the other engine dims first
 * in theirs: into perm; false when they are there already (a suffix in
 * order, or a 4-D input's C, H, W, kept HWC inside). */
static bool layernorm_perm(const struct dnnq_ir_value *xv, uint32_t axis, uint32_t *perm)
{
	uint32_t r = xv->ndim, k = 0;
	bool norm[DNNQ_MAX_DIMS] = { false }, moved = false;
	if (r == 4 && axis == 1)
		return false;
	for (uint32_t i = axis; i < r; i++)
		norm[engine_axis(xv, i)] = true;
	for (uint32_t e = 0; e < r; e++)
		if (!norm[e])
			perm[k++] = e;
	for (uint32_t i = axis; i < r; i++, k++) {
		perm[k] = engine_axis(xv, i);
		moved |= perm[k] != k;
	}
	return moved;
}

/* The scale (k 1) or bias (k 2) of LayerNorm n, d elements in the engine's
 * order of the normalized dims (hwc: a 4-D input's C, H, W kept HWC), as
 * mn's f32 tensor. */
static int layernorm_param(struct lower *L, const struct dnnq_ir_node *n,
                           struct dnnq_model_node *mn, uint32_t k, size_t d, bool hwc_order)
{
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]);
	float *w = NULL, *hwc = NULL;
	char nm[DNNQ_MODEL_NAME_MAX];
	int rc = const_f32(L, n, n->inputs[k], d, &w, NULL);
	if (rc)
		return rc;
	if (hwc_order && !(hwc = malloc(d * sizeof *hwc))) {
		free(w);
		return lower_err(L, n, DNNQ_E_NOMEM, "out of memory");
	}
	size_t C = hwc ? (size_t)xv->dims[1] : 1, HW = d / (C ? C : 1);
	for (size_t c = 0; hwc && c < C; c++)
		for (size_t p = 0; p < HW; p++)
			hwc[p * C + c] = w[c * HW + p];
	model_name(nm, n->name, k == 1 ? ":scale" : ":bias");
	int id = add_f32_tensor(L, nm, hwc ? hwc : w, d);
	free(w);
	free(hwc);
	if (id < 0)
		return id;
	*(k == 1 ? &mn->weight : &mn->bias) = id;
	return DNNQ_OK;
}

/* fp32, over the engine dims the normalized ONNX axes map to: a suffix of
 * them as they are (a 4-D input's C, H, W together: HWC inside, the scale
 * and bias reordered), else between two transposes that bring those axes
 * last and back (the channels-last LayerNorm of a 4-D value the model
 * permuted itself, ConvNeXt's). */
int lower_layernorm(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]);
	uint32_t r = xv->ndim, axis = (uint32_t)n->axis, perm[DNNQ_MAX_DIMS], back[DNNQ_MAX_DIMS];
	int32_t in, ref;
	int rc = xfmr_input(L, n, 0, &in);
	if (rc)
		return rc;
	if (axis >= r || r > DNNQ_MAX_DIMS)
		return lower_err(L, n, DNNQ_E_FORMAT, "axis %u of a rank-%u input", axis, r);
	bool moved = layernorm_perm(xv, axis, perm);
	if (moved && perm[0] != 0)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "normalizing across the batch (axis 0)");
	if (moved && (rc = transpose_nd(L, n, in, r, perm, ":last", &in)))
		return rc;
	size_t d = 1;
	for (uint32_t i = axis; i < r; i++)
		d *= (size_t)xv->dims[i];
	struct dnnq_model_node *mn = xfmr_node(L, n, "layernorm", in, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->axis = axis;              /* moved: the last r - axis dims; 4-D axis 1: HWC */
	mn->params[0] = n->epsilon;
	/* no scale (InstanceNormalization's): weight -1, a unit one */
	for (uint32_t k = 1; k < 3 && !rc; k++)
		if (n->ninputs > k && n->inputs[k] >= 0)
			rc = layernorm_param(L, n, mn, k, d, !moved && r == 4);
	if (rc || (rc = xfmr_out(L, n, mn, ref, false)) || !moved)
		return rc;
	for (uint32_t i = 0; i < r; i++)
		back[perm[i]] = i;
	if ((rc = transpose_nd(L, n, ref, r, back, ":back", &ref)))
		return rc;
	L->v[n->outputs[0]].f32 = ref;
	return DNNQ_OK;
}

int lower_reshape_reordered(struct lower *L, const struct dnnq_ir_node *n, int32_t src,
                            bool f32)
{
	static const uint32_t to_nchw[4] = { 0, 3, 1, 2 }, to_nhwc[4] = { 0, 2, 3, 1 };
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]), *yv = lval_ir(L, n->outputs[0]);
	struct lval lx = L->v[n->inputs[0]];
	bool save = L->fp32;
	int32_t ref;
	int rc = DNNQ_OK;
	L->fp32 = f32;                 /* the transposes move what src holds */
	if (xv->ndim == 4 && !same_order(xv))
		rc = transpose_nd(L, n, src, 4, to_nchw, ":nchw", &src);
	struct dnnq_model_node *mn = rc ? NULL : add_node1(L, DNNQ_NODE_RESHAPE, n->name, src, &ref);
	if (!rc && !mn)
		rc = DNNQ_E_NOMEM;
	if (mn) {
		mn->ndim = yv->ndim;
		memcpy(mn->dims, yv->dims, yv->ndim * sizeof *yv->dims);
		if (yv->ndim == 4 && !same_order(yv))
			rc = transpose_nd(L, n, ref, 4, to_nhwc, ":nhwc", &ref);
		else if (yv->ndim == 4)   /* one channel (or pixel): NCHW's bytes, NHWC's dims */
			engine_dims(yv, mn->dims);
	}
	L->fp32 = save;
	if (rc)
		return rc;
	struct lval ly = { .u8 = f32 ? -1 : ref, .qp = lx.qp, .f32 = f32 ? ref : -1, .s32 = -1 };
	L->v[n->outputs[0]] = ly;
	return DNNQ_OK;
}
