/*
 * onnx/import-ops.c — the ONNX operators dnnq imports: for each, the
 * inputs it must have (dtype, rank, constant or not), its attributes with
 * their defaults, and the shape of what it produces.
 *
 * One handler an operator, table-driven: imp_node resolves the node's
 * inputs (skipping it quietly when one is unknown), calls the handler, which
 * fills the IR node and its output shapes or records why it cannot, and then
 * creates the outputs and names them.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/conv.h"
#include "engine/op.h"
#include "engine/unary.h"
#include "engine/remap.h"
#include "engine/resize.h"
#include "engine/topk.h"
#include "onnx/import-int.h"

static const char *S(const char *s)
{
	return s ? s : "";
}

const char *imp_node_name(struct imp *m, size_t i, char buf[128])
{
	const Onnx__NodeProto *np = i < m->g->n_node ? m->g->node[i] : NULL;
	if (np && np->name && *np->name)
		dnnq_ir_node_name(buf, np->name);
	else
		snprintf(buf, 128, "%.100s#%zu", np ? S(np->op_type) : "", i);
	return buf;
}

int bad(struct nctx *c, int status, const char *fmt, ...)
{
	char msg[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	imp_problem(c->m, status, "%s: %s", c->who, msg);
	return status;
}

/* The batch leaves dim 0 at c (mixes: c computes across it): a problem
 * counted in m->nbatch, the first (of the mixing ones first) in batch_why. */
static int batch_problem(struct nctx *c, bool mixes, const char *fmt, va_list ap)
{
	char msg[320];
	vsnprintf(msg, sizeof msg, fmt, ap);
	struct imp *m = c->m;
	if (!m->nbatch++ || (mixes && !m->batch_mixes)) {
		snprintf(m->batch_why, sizeof m->batch_why, "%s: %s", c->who, msg);
		m->batch_mixes = mixes;
	}
	return bad(c, DNNQ_E_UNSUPPORTED, "%s", msg);
}

int batch_moves(struct nctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = batch_problem(c, false, fmt, ap);
	va_end(ap);
	return rc;
}

int batch_mixes(struct nctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = batch_problem(c, true, fmt, ap);
	va_end(ap);
	return rc;
}

/* The ONNX dim input i's batch is on, moved there by a Transpose
 * (op_transpose) or an unrolled LSTM / GRU: the IR keeps it on dim 0, then
 * ONNX's other dims in order; 0 when it is not moved. */
static unsigned moved_at(const struct nctx *c, size_t i)
{
	return i < c->nin && c->in[i] >= 0 ? c->m->moved[c->in[i]] : 0;
}

static bool in_moved(const struct nctx *c, size_t i)
{
	return moved_at(c, i) != 0;
}

/* ONNX's axis a (normalised) of input i as the IR's. */
static int64_t ir_axis(const struct nctx *c, size_t i, int64_t a)
{
	int64_t k = moved_at(c, i);
	return !k || a > k ? a : a == k ? 0 : a + 1;
}

/* Whether op reads input i whose batch is on ONNX's dim `at`: a Transpose,
 * a Squeeze or a Shape (onnx/import-fold.c) wherever it is; on dim 1, an
 * LSTM's or GRU's X or state, a Reshape that keeps dims 0 and 1, and, each
 * through ir_axis, the operators that take one part of ONNX's dim 0 (q, k
 * and v of an attention's [3, N, heads, L, d]) and so can bring the batch
 * back, and a Concat of such values (stacked layers' states); a MatMul's A
 * by a 2-D constant B and an elementwise Add, Sub, Mul or Div whose other
 * operand broadcasts alike in both layouts (op_binary: a Linear and its
 * bias on [T, N, H]). */
static bool reads_moved(const char *op, size_t i, unsigned at)
{
	if (!strcmp(op, "Transpose") || !strcmp(op, "Squeeze") || !strcmp(op, "Shape"))
		return true;
	if (imp_rnn_op(op))
		return at == 1 && (i == 0 || i == 5 || i == 6);
	if (!strcmp(op, "Reshape"))
		return at == 1 && i == 0;
	if (!strcmp(op, "MatMul"))      /* a Linear on [T, N, H]: op_matmul checks B */
		return at == 1 && i == 0;
	return at == 1 && (!strcmp(op, "Slice") || !strcmp(op, "Split") || !strcmp(op, "Gather") ||
	                   !strcmp(op, "Concat") || !strcmp(op, "Add") || !strcmp(op, "Sub") ||
	                   !strcmp(op, "Mul") || !strcmp(op, "Div"));
}

/* Input i's value; NULL when absent. */
struct dnnq_ir_value *V(struct nctx *c, size_t i)
{
	return i < c->nin && c->in[i] >= 0 ? &c->m->ir->values[c->in[i]] : NULL;
}

static size_t numel(const struct dnnq_ir_value *v)
{
	return dnnq_ir_numel(v, 1);
}

/* Input i's name: the ONNX node's, or for ConcatFromSequence (its one
 * input the sequence) the value's. */
const char *iname(struct nctx *c, size_t i)
{
	if (!strcmp(S(c->np->op_type), "ConcatFromSequence"))
		return V(c, i) ? S(V(c, i)->name) : "";
	return i < c->nin && i < c->np->n_input ? S(c->np->input[i]) : "";
}

/* ---- input checks ---------------------------------------------------------- */

int need(struct nctx *c, size_t i, unsigned dts, bool constant)
{
	struct dnnq_ir_value *v = V(c, i);
	if (!v)
		return bad(c, DNNQ_E_FORMAT, "input %zu is missing", i);
	/* a computed value where a constant belongs (an int32 input as a
	 * Reshape's shape) is told so before its type */
	if (constant && !v->data)
		return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' must be a constant (an "
		           "initializer or a Constant node)", i, iname(c, i));
	if (!(dts & DT(v->dtype)))
		return bad(c, DNNQ_E_DTYPE, "input %zu '%.80s' is %s: not supported here", i,
		           iname(c, i), dnnq_ir_dtype_name(v->dtype));
	return 0;
}

/* A weight: a constant, or (QDQ models) DequantizeLinear of a constant. */
static int need_weight(struct nctx *c, size_t i, unsigned dts)
{
	int rc = need(c, i, dts, false);
	if (rc)
		return rc;
	const struct dnnq_ir_value *v = V(c, i);
	if (v->data)
		return 0;
	const struct dnnq_ir *ir = c->m->ir;
	if (v->producer >= 0 && ir->nodes[v->producer].op == DNNQ_IR_DEQUANTIZE &&
	    ir->values[ir->nodes[v->producer].inputs[0]].data)
		return 0;
	return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' must be a constant (an initializer, "
	           "a Constant node, or DequantizeLinear of one)", i, iname(c, i));
}

static int need_rank(struct nctx *c, size_t i, uint32_t rank, const char *why)
{
	struct dnnq_ir_value *v = V(c, i);
	if (v->ndim != rank)
		return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' has rank %u: %s", i, iname(c, i),
		           v->ndim, why);
	return 0;
}

/* A scale or zero point: a scalar (any rank of one element), or, when n > 1,
 * n elements in 1-D; constant when asked; dtype one of dts. */
static int need_param(struct nctx *c, size_t i, unsigned dts, bool constant, size_t n)
{
	int rc = need(c, i, dts, constant);
	if (rc)
		return rc;
	struct dnnq_ir_value *v = V(c, i);
	if (v->batched && !v->data)
		return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' must be a constant (an "
		           "initializer or a Constant node): it has the batch [%s]", i, iname(c, i),
		           imp_dims_str(v));
	if (v->batched || (numel(v) != 1 && (n <= 1 || v->ndim != 1 || numel(v) != n)))
		return bad(c, DNNQ_E_SHAPE, "input %zu '%.80s' has shape [%s]: a scalar%s expected",
		           i, iname(c, i), imp_dims_str(v), n > 1 ? " or one value a channel" : "");
	return 0;
}

int same_dtype(struct nctx *c, size_t i, size_t j)
{
	struct dnnq_ir_value *a = V(c, i), *b = V(c, j);
	if (a && b && a->dtype != b->dtype)
		return bad(c, DNNQ_E_DTYPE, "input %zu '%.80s' is %s, input %zu '%.80s' %s: they must "
		           "match", i, iname(c, i), dnnq_ir_dtype_name(a->dtype), j, iname(c, j),
		           dnnq_ir_dtype_name(b->dtype));
	return 0;
}

/* ---- attributes -------------------------------------------------------------- */

const Onnx__AttributeProto *imp_attr(const Onnx__NodeProto *np, const char *name)
{
	for (size_t i = 0; i < np->n_attribute; i++) {
		const Onnx__AttributeProto *a = np->attribute[i];
		if (a && a->name && !strcmp(a->name, name))
			return a;
	}
	return NULL;
}

const Onnx__AttributeProto *attr(struct nctx *c, const char *name)
{
	return imp_attr(c->np, name);
}

static bool attr_is(const Onnx__AttributeProto *a, Onnx__AttributeProto__AttributeType t,
                    bool present)
{
	return a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED ?
	       a->type == t : present;
}

/* Attribute name when it is of type t (one without a type: when it holds
 * the field of t); *out NULL when absent, an error saying it is not `what`
 * when of another type. */
static int typed_attr(struct nctx *c, const char *name, Onnx__AttributeProto__AttributeType t,
                      const char *what, const Onnx__AttributeProto **out)
{
	const Onnx__AttributeProto *a = attr(c, name);
	*out = NULL;
	if (!a)
		return 0;
	bool present;
	switch (t) {
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:   present = a->has_i; break;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: present = a->has_f; break;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:  present = a->n_ints > 0; break;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: present = a->n_floats > 0; break;
	default:                                           present = a->has_s; break;
	}
	if (!attr_is(a, t, present))
		return bad(c, DNNQ_E_FORMAT, "attribute '%s' is not %s", name, what);
	*out = a;
	return 0;
}

int a_int(struct nctx *c, const char *name, int64_t def, int64_t *out)
{
	const Onnx__AttributeProto *a;
	int rc = typed_attr(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "an int", &a);
	*out = a ? a->i : def;
	return rc;
}

int a_bool(struct nctx *c, const char *name, bool def, bool *out)
{
	int64_t v;
	int rc = a_int(c, name, def, &v);
	if (!rc && v != 0 && v != 1)
		return bad(c, DNNQ_E_RANGE, "attribute '%s' = %lld: 0 or 1 expected", name, (long long)v);
	*out = v == 1;
	return rc;
}

int a_float(struct nctx *c, const char *name, float def, float *out)
{
	const Onnx__AttributeProto *a;
	int rc = typed_attr(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "a float", &a);
	*out = a ? a->f : def;
	return rc;
}

/* *n = -1 when absent. */
int a_ints(struct nctx *c, const char *name, const int64_t **v, ptrdiff_t *n)
{
	const Onnx__AttributeProto *a;
	int rc = typed_attr(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
	                    "a list of ints", &a);
	*v = a ? a->ints : NULL;
	*n = a ? (ptrdiff_t)a->n_ints : -1;
	return rc;
}

/* A string attribute into buf (NUL-terminated, truncated). */
int a_str(struct nctx *c, const char *name, const char *def, char *buf, size_t cap)
{
	const Onnx__AttributeProto *a;
	int rc = typed_attr(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, "a string", &a);
	snprintf(buf, cap, "%s", def);
	if (!a)
		return rc;
	/* not cut short: a prefix may be another valid value (an Einsum's
	 * "nij->nj" of "nij->nj <spaces> i") */
	if (a->s.len >= cap)
		return bad(c, DNNQ_E_FORMAT, "attribute '%s': %zu bytes, longer than any value taken "
		           "(at most %zu)", name, a->s.len, cap - 1);
	size_t n = a->s.len;
	if (n)
		memcpy(buf, a->s.data, n);
	buf[n] = '\0';
	if (memchr(buf, '\0', n))
		buf[0] = '?';
	return 0;
}

/* 2 ints in [lo, IMP_MAX_DIM] into out (default def when absent). */
static int a_pair(struct nctx *c, const char *name, int64_t def, int64_t lo, int64_t *out,
                  size_t count)
{
	const int64_t *v;
	ptrdiff_t n;
	int rc = a_ints(c, name, &v, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < count; i++)
		out[i] = def;
	if (n < 0)
		return 0;
	if ((size_t)n != count)
		return bad(c, DNNQ_E_UNSUPPORTED, "attribute '%s' has %td values, %zu expected (only "
		           "2-D convolution and pooling are supported)", name, n, count);
	for (size_t i = 0; i < count; i++) {
		if (v[i] < lo || v[i] > IMP_MAX_DIM)
			return bad(c, DNNQ_E_RANGE, "attribute '%s'[%zu] = %lld: out of range", name, i,
			           (long long)v[i]);
		out[i] = v[i];
	}
	return 0;
}

/* ---- outputs --------------------------------------------------------------- */

int set_out(struct nctx *c, uint32_t k, enum dnnq_ir_dtype dt, uint32_t ndim,
            const int64_t *dims, bool batched)
{
	struct dnnq_ir_value *o = &c->out[k];
	*o = (struct dnnq_ir_value){ .dtype = dt, .ndim = ndim, .batched = batched && ndim > 0 };
	size_t n = 1;
	for (uint32_t i = 0; i < ndim; i++) {
		o->dims[i] = dims[i];
		if (dims[i] < 0 || dims[i] > IMP_MAX_DIM || !dnnq_mul_size(n, (size_t)dims[i], &n) ||
		    n > IMP_MAX_NUMEL)
			return bad(c, DNNQ_E_SHAPE, "output %u: dims[%u] = %lld: the output would have "
			           "more than 2^31 elements or a negative size", k, i, (long long)dims[i]);
	}
	if (c->nout < k + 1)
		c->nout = k + 1;
	return 0;
}

static int same_out(struct nctx *c, const struct dnnq_ir_value *v, enum dnnq_ir_dtype dt)
{
	return set_out(c, 0, dt, v->ndim, v->dims, v->batched);
}

/* ---- convolution and pooling geometry ----------------------------------------- */

enum autopad { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID };

/* auto_pad's value ap as *a. */
static int autopad_of(struct nctx *c, const char *ap, enum autopad *a)
{
	*a = !strcmp(ap, "SAME_UPPER") ? PAD_SAME_UPPER
	   : !strcmp(ap, "SAME_LOWER") ? PAD_SAME_LOWER
	   : !strcmp(ap, "VALID") ? PAD_VALID : PAD_NOTSET;
	if (*a == PAD_NOTSET && *ap && strcmp(ap, "NOTSET"))
		return bad(c, DNNQ_E_RANGE, "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or "
		           "VALID", ap);
	return 0;
}

/* One spatial axis: output length, pads resolved (pb, pe in and out). */
static int out_len(struct nctx *c, int axis, int64_t in, int64_t k, int64_t s, int64_t d,
                   int64_t *pb, int64_t *pe, enum autopad ap, bool ceil_mode, int64_t *out)
{
	int64_t ek = (k - 1) * d + 1, cut = 0, crop = -1;
	if (ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
		/* ONNX Runtime's pools pad a dilated kernel as if it were not,
		 * then slide the dilated one over that padding: fewer outputs
		 * than ceil(in / s) (its Conv, and the spec, pad for the dilated
		 * kernel); the explicit pads' rule below gives them */
		bool ort_pool = d > 1 && strstr(S(c->np->op_type), "Pool");
		int64_t t = (in + s - 1) / s;
		int64_t total = (t - 1) * s + (ort_pool ? k : ek) - in;
		/* ONNX Runtime's pools keep a negative one (a crop: the kernel
		 * shorter than the stride), which the engine's pads cannot
		 * say. Taken as 0 where its windows are the same: a MaxPool
		 * whose head pad, rounded toward 0, is 0 and whose count
		 * agrees (crop, in its integer arithmetic); refused elsewhere
		 * (taken as 0 it gave more or moved windows, and its other
		 * pools end a window at the cropped end, a tap short) */
		if (ort_pool && total < 0) {
			int64_t head = ap == PAD_SAME_UPPER ? total / 2 : (total + 1) / 2;
			int64_t span = in + total - ek;
			cut = total;
			crop = head || strcmp(S(c->np->op_type), "MaxPool") ? 0
			     : (ceil_mode && span > 0 ? (span + s - 1) / s : span / s) + 1;
		}
		if (total < 0)
			total = 0;
		*pb = ap == PAD_SAME_UPPER ? total / 2 : total - total / 2;
		*pe = total - *pb;
		if (!ort_pool) {
			*out = t;
			return 0;
		}
	}
	if (ap == PAD_VALID)
		*pb = *pe = 0;
	int64_t span = in + *pb + *pe - ek;
	if (span < 0)
		return bad(c, DNNQ_E_SHAPE, "spatial axis %d: the kernel (%lld, dilated) is larger "
		           "than the padded input (%lld)", axis, (long long)ek,
		           (long long)(in + *pb + *pe));
	*out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
	if (ceil_mode && (*out - 1) * s >= in + *pb)
		(*out)--;       /* the last window would start in the end padding */
	if (crop >= 0 && *out != crop)
		return bad(c, DNNQ_E_UNSUPPORTED, "spatial axis %d: auto_pad SAME with dilations "
		           "pads %lld here (ONNX Runtime pads for the undilated kernel, %lld, "
		           "shorter than the stride %lld: a crop)", axis, (long long)cut,
		           (long long)k, (long long)s);
	return 0;
}

/* strides, dilations, pads, auto_pad, ceil_mode (when has_ceil) into
 * c->node; kernel already in c->node.kernel; out[2]. */
static int spatial(struct nctx *c, const struct dnnq_ir_value *x, bool has_ceil, int64_t out[2])
{
	struct dnnq_ir_node *n = &c->node;
	char ap[32];
	int rc;
	if ((rc = a_pair(c, "strides", 1, 1, n->strides, 2)) ||
	    (rc = a_pair(c, "dilations", 1, 1, n->dilations, 2)) ||
	    (rc = a_pair(c, "pads", 0, 0, n->pads, 4)) ||
	    (rc = a_str(c, "auto_pad", "NOTSET", ap, sizeof ap)))
		return rc;
	int64_t merged[4];
	imp_merged_pads(c->m, c->index, merged);
	for (int i = 0; i < 4; i++) {
		n->pads[i] += merged[i];
		n->count_include_pad |= merged[i] != 0;
	}
	if (has_ceil && (rc = a_bool(c, "ceil_mode", false, &n->ceil_mode)))
		return rc;
	enum autopad a;
	if ((rc = autopad_of(c, ap, &a)))
		return rc;
	for (int i = 0; i < 2; i++)
		if ((rc = out_len(c, i, x->dims[2 + i], n->kernel[i], n->strides[i], n->dilations[i],
		                  &n->pads[i], &n->pads[2 + i], a, n->ceil_mode, &out[i])))
			return rc;
	return 0;
}

/* Conv and its quantized forms: x input ix, w input iw (constant, 4-D). */
static int conv_shape(struct nctx *c, size_t ix, size_t iw)
{
	const struct dnnq_ir_value *x = V(c, ix), *w = V(c, iw);
	int rc;
	if ((rc = need_rank(c, ix, 4, "only 2-D convolutions (4-D NCHW input) are supported")) ||
	    (rc = need_rank(c, iw, 4, "the weight of a 2-D convolution is 4-D")))
		return rc;
	if ((rc = a_int(c, "group", 1, &c->node.group)))
		return rc;
	int64_t g = c->node.group, C = x->dims[1], M = w->dims[0];
	if (g < 1 || g > C || C % g || M % g || w->dims[1] * g != C || M < 1)
		return bad(c, DNNQ_E_SHAPE, "group %lld, input channels %lld, weight [%s] do not agree",
		           (long long)g, (long long)C, imp_dims_str(w));
	c->node.kernel[0] = w->dims[2];
	c->node.kernel[1] = w->dims[3];
	int64_t ks[2];
	if ((rc = a_pair(c, "kernel_shape", 0, 1, ks, 2)))
		return rc;
	if (attr(c, "kernel_shape") && (ks[0] != w->dims[2] || ks[1] != w->dims[3]))
		return bad(c, DNNQ_E_SHAPE, "kernel_shape [%lld,%lld] disagrees with the weight [%s]",
		           (long long)ks[0], (long long)ks[1], imp_dims_str(w));
	if (w->dims[2] < 1 || w->dims[3] < 1)
		return bad(c, DNNQ_E_SHAPE, "weight [%s]: empty kernel", imp_dims_str(w));
	int64_t o[2];
	if ((rc = spatial(c, x, false, o)))
		return rc;
	int64_t d[4] = { x->dims[0], M, o[0], o[1] };
	return set_out(c, 0, DNNQ_IR_F32, 4, d, x->batched);
}

static int bias(struct nctx *c, size_t i, unsigned dts, int64_t m)
{
	struct dnnq_ir_value *b = V(c, i);
	if (!b)
		return 0;
	int rc = dts == DT_F32 ? need_weight(c, i, dts) : need(c, i, dts, true);
	if (!rc && (b->ndim != 1 || b->dims[0] != m))
		return bad(c, DNNQ_E_SHAPE, "bias '%.80s' has shape [%s], [%lld] expected", iname(c, i),
		           imp_dims_str(b), (long long)m);
	return rc;
}

static int op_conv1d(struct nctx *c);
static int as_2d(struct nctx *c, int64_t M, int64_t o);
static int a_nd(struct nctx *c, int nd, const char *name, int64_t lo, size_t count,
                int64_t *out);
static int op_conv3d(struct nctx *c);

static int op_conv(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need_weight(c, 1, DT_F32)))
		return rc;
	if (V(c, 0)->ndim == 3)
		return op_conv1d(c);
	if (V(c, 0)->ndim == 5)
		return op_conv3d(c);
	if ((rc = need_rank(c, 0, 4, "only 1-D, 2-D and 3-D convolutions (3-D NCL, 4-D NCHW, "
	                    "5-D NCDHW input) are supported")) || (rc = conv_shape(c, 0, 1)))
		return rc;
	return bias(c, 2, DT_F32, V(c, 1)->dims[0]);
}

static int op_qlinearconv(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_Q8, false)) || (rc = need(c, 3, DT_Q8, true)) ||
	    (rc = conv_shape(c, 0, 3)))
		return rc;
	size_t M = (size_t)V(c, 3)->dims[0];
	if ((rc = need_param(c, 1, DT_F32, true, 1)) || (rc = need_param(c, 2, DT_Q8, true, 1)) ||
	    (rc = need_param(c, 4, DT_F32, true, M)) || (rc = need_param(c, 5, DT_Q8, true, M)) ||
	    (rc = need_param(c, 6, DT_F32, true, 1)) || (rc = need_param(c, 7, DT_Q8, true, 1)) ||
	    (rc = same_dtype(c, 0, 2)) || (rc = same_dtype(c, 3, 5)) ||
	    (rc = bias(c, 8, DT(DNNQ_IR_S32), (int64_t)M)))
		return rc;
	c->out[0].dtype = V(c, 7)->dtype;
	return 0;
}

static int op_convinteger(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_Q8, false)) || (rc = need(c, 1, DT_Q8, true)) ||
	    (rc = conv_shape(c, 0, 1)))
		return rc;
	size_t M = (size_t)V(c, 1)->dims[0];
	if ((V(c, 2) && ((rc = need_param(c, 2, DT_Q8, false, 1)) || (rc = same_dtype(c, 0, 2)))) ||
	    (V(c, 3) && ((rc = need_param(c, 3, DT_Q8, true, M)) || (rc = same_dtype(c, 1, 3)))))
		return rc;
	c->out[0].dtype = DNNQ_IR_S32;
	return 0;
}

/* A [M,K] by B [K,N] (constant), both 2-D; ta/tb transposed. */
/* Gemm (2-D, transposes) and the MatMul family: an A of rank >= 2 whose
 * last axis is multiplied by a 2-D B (the leading dims are rows: a
 * transformer's [batch, sequence, hidden] by a linear layer's weights). */
static int matmul_shape(struct nctx *c, size_t ia, size_t ib, bool ta, bool tb, bool nd,
                        enum dnnq_ir_dtype dt)
{
	int rc;
	const struct dnnq_ir_value *a = V(c, ia), *b = V(c, ib);
	if ((!nd || a->ndim < 2 ? (rc = need_rank(c, ia, 2, "only 2-D matrix products are "
	                                               "supported")) : 0) ||
	    (rc = need_rank(c, ib, 2, "only a 2-D B is supported")))
		return rc;
	if (ta && a->batched)
		return batch_mixes(c, "transA of a batched input (the batch would be K)");
	uint32_t r = a->ndim;
	int64_t M = a->dims[r - 2 + ta], K = a->dims[r - 1 - ta], Kb = b->dims[tb], N = b->dims[!tb];
	if (K != Kb)
		return bad(c, DNNQ_E_SHAPE, "A [%s] and B [%lld,%lld] do not chain: K %lld vs %lld",
		           imp_dims_str(a), (long long)b->dims[0], (long long)b->dims[1],
		           (long long)K, (long long)Kb);
	int64_t d[DNNQ_IR_MAX_DIMS];
	memcpy(d, a->dims, sizeof d);
	d[r - 2] = M;
	d[r - 1] = N;
	return set_out(c, 0, dt, r, d, a->batched);
}

static int op_gemm(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need_weight(c, 1, DT_F32)) ||
	    (rc = a_float(c, "alpha", 1.0f, &c->node.alpha)) ||
	    (rc = a_float(c, "beta", 1.0f, &c->node.beta)) ||
	    (rc = a_bool(c, "transA", false, &c->node.trans_a)) ||
	    (rc = a_bool(c, "transB", false, &c->node.trans_b)))
		return rc;
	if ((rc = matmul_shape(c, 0, 1, c->node.trans_a, c->node.trans_b, false, DNNQ_IR_F32)))
		return rc;
	struct dnnq_ir_value *cv = V(c, 2);
	if (!cv)
		return 0;
	if ((rc = need_weight(c, 2, DT_F32)))
		return rc;
	int64_t M = c->out[0].dims[0], N = c->out[0].dims[1];
	bool ok = cv->ndim <= 2 && !cv->batched;
	if (ok && cv->ndim >= 1)
		ok = cv->dims[cv->ndim - 1] == 1 || cv->dims[cv->ndim - 1] == N;
	if (ok && cv->ndim == 2)
		ok = cv->dims[0] == 1 || (cv->dims[0] == M && !c->out[0].batched);
	if (!ok)
		return bad(c, DNNQ_E_SHAPE, "C [%s] does not broadcast to [%lld,%lld]",
		           imp_dims_str(cv), (long long)M, (long long)N);
	return 0;
}

static int op_matmul_any(struct nctx *c);
static int op_qlinearmatmul_any(struct nctx *c);
static int32_t const_swapped(struct nctx *c, const struct dnnq_ir_value *x, const char *suffix);
static int no_chain(struct nctx *c, size_t ia, size_t ib, int64_t ka, int64_t kb);

static int matmul_const_left(struct nctx *c);
static int matmul_vector(struct nctx *c, size_t i);

static int op_matmul(struct nctx *c)
{
	int rc;
	const struct dnnq_ir_value *a = V(c, 0), *b = V(c, 1);
	if (a && b && a->ndim != 1 && b->ndim == 1 && b->data && !a->data)
		return matmul_vector(c, 1);
	if (a && b && a->ndim == 1 && b->ndim != 1 && a->data && !b->data)
		return matmul_vector(c, 0);
	if (a && b && a->data && !b->data)
		return matmul_const_left(c);
	if (a && b && !dnnq_ir_matmul_is_gemm(a, b) && in_moved(c, 0))
		return batch_moves(c, "input 0 '%.80s' has its batch on dim %u: only a 2-D "
		                   "constant B multiplies it", iname(c, 0), moved_at(c, 0));
	if (a && b && !dnnq_ir_matmul_is_gemm(a, b))
		return op_matmul_any(c);
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need_weight(c, 1, DT_F32)))
		return rc;
	c->node.op = DNNQ_IR_GEMM;
	c->node.alpha = 1.0f;
	c->node.beta = 0.0f;
	/* rows are every dim but the last: a batch on ONNX's dim 1 stays */
	c->moved[0] = (uint8_t)moved_at(c, 0);
	return matmul_shape(c, 0, 1, false, false, true, DNNQ_IR_F32);
}

static int op_qlinearmatmul(struct nctx *c)
{
	int rc;
	const struct dnnq_ir_value *a = V(c, 0), *b = V(c, 3);
	if (a && b && !dnnq_ir_matmul_is_gemm(a, b))
		return op_qlinearmatmul_any(c);
	if ((rc = need(c, 0, DT_Q8, false)) || (rc = need(c, 3, DT_Q8, true)) ||
	    (rc = need_param(c, 7, DT_Q8, true, 1)) ||
	    (rc = matmul_shape(c, 0, 3, false, false, true, V(c, 7)->dtype)))
		return rc;
	size_t N = (size_t)V(c, 3)->dims[1];
	if ((rc = need_param(c, 1, DT_F32, true, 1)) || (rc = need_param(c, 2, DT_Q8, true, 1)) ||
	    (rc = need_param(c, 4, DT_F32, true, N)) || (rc = need_param(c, 5, DT_Q8, true, N)) ||
	    (rc = need_param(c, 6, DT_F32, true, 1)) || (rc = same_dtype(c, 0, 2)) ||
	    (rc = same_dtype(c, 3, 5)))
		return rc;
	return 0;
}

static int op_matmulinteger(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_Q8, false)) || (rc = need(c, 1, DT_Q8, true)) ||
	    (rc = matmul_shape(c, 0, 1, false, false, true, DNNQ_IR_S32)))
		return rc;
	size_t N = (size_t)V(c, 1)->dims[1];
	if ((V(c, 2) && ((rc = need_param(c, 2, DT_Q8, false, 1)) || (rc = same_dtype(c, 0, 2)))) ||
	    (V(c, 3) && ((rc = need_param(c, 3, DT_Q8, true, N)) || (rc = same_dtype(c, 1, 3)))))
		return rc;
	return 0;
}

static int op_pool1d(struct nctx *c);
static int op_pool3d(struct nctx *c);
static int gpool3d(struct nctx *c);

/* MaxPool's second output, Indices, when the model names it: int32 (ONNX's
 * int64) of the values' dims, the maximum's place in the input flattened
 * (batch and channel counted in; storage_order in node.mode). */
static int pool_indices(struct nctx *c, uint32_t ndim, const int64_t *d)
{
	if (c->node.op != DNNQ_IR_MAXPOOL || c->np->n_output < 2 || !*c->np->output[1])
		return 0;
	return set_out(c, 1, DNNQ_IR_S32, ndim, d, V(c, 0)->batched);
}

static int op_pool(struct nctx *c)
{
	int rc;
	bool max = c->node.op == DNNQ_IR_MAXPOOL;
	if ((rc = need(c, 0, DT_F32, false)))
		return rc;
	if (max) {
		int64_t so;
		if ((rc = a_int(c, "storage_order", 0, &so)))
			return rc;
		if (so != 0 && so != 1)
			return bad(c, DNNQ_E_RANGE, "storage_order = %lld: 0 or 1 expected",
			           (long long)so);
		c->node.mode = (uint32_t)so;
	} else if ((rc = a_bool(c, "count_include_pad", false, &c->node.count_include_pad))) {
		return rc;
	}
	if (V(c, 0)->ndim == 3)
		return op_pool1d(c);
	if (V(c, 0)->ndim == 5 && max && c->np->n_output > 1 && *c->np->output[1])
		return bad(c, DNNQ_E_UNSUPPORTED, "output 1 '%.80s', the Indices of a 3-D MaxPool: "
		           "only a 1-D or 2-D MaxPool's are computed", c->np->output[1]);
	if (V(c, 0)->ndim == 5)
		return op_pool3d(c);
	if ((rc = need_rank(c, 0, 4, "only 1-D, 2-D and 3-D pooling (3-D NCL, 4-D NCHW, 5-D "
	                    "NCDHW input) is supported")))
		return rc;
	if (!attr(c, "kernel_shape"))
		return bad(c, DNNQ_E_FORMAT, "attribute 'kernel_shape' is missing");
	if ((rc = a_pair(c, "kernel_shape", 1, 1, c->node.kernel, 2)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t o[2];
	if ((rc = spatial(c, x, true, o)))
		return rc;
	int64_t d[4] = { x->dims[0], x->dims[1], o[0], o[1] };
	return (rc = set_out(c, 0, DNNQ_IR_F32, 4, d, x->batched)) ? rc : pool_indices(c, 4, d);
}

static int op_gavgpool(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)))
		return rc;
	if (V(c, 0)->ndim == 5)
		return gpool3d(c);
	if ((rc = need_rank(c, 0, 4, "only 2-D and 3-D pooling (4-D NCHW, 5-D NCDHW input) is "
	                    "supported")))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t d[4] = { x->dims[0], x->dims[1], 1, 1 };
	return set_out(c, 0, DNNQ_IR_F32, 4, d, x->batched);
}

/* ---- elementwise ------------------------------------------------------------ */

static int op_unary(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)))
		return rc;
	switch (c->node.op) {
	case DNNQ_IR_LEAKYRELU:
		rc = a_float(c, "alpha", 0.01f, &c->node.alpha);
		break;
	case DNNQ_IR_HARDSIGMOID:
		if (!(rc = a_float(c, "alpha", 0.2f, &c->node.alpha)))
			rc = a_float(c, "beta", 0.5f, &c->node.beta);
		break;
	case DNNQ_IR_ELU: case DNNQ_IR_CELU: case DNNQ_IR_THRESHOLDEDRELU:
		rc = a_float(c, "alpha", 1.0f, &c->node.alpha);
		break;
	case DNNQ_IR_SHRINK:
		if (!(rc = a_float(c, "lambd", 0.5f, &c->node.alpha)))
			rc = a_float(c, "bias", 0.0f, &c->node.beta);
		break;
	case DNNQ_IR_SELU:   /* ONNX's defaults, float32 as the spec writes them */
		if (!(rc = a_float(c, "alpha", 1.67326319217681884765625f, &c->node.alpha)))
			rc = a_float(c, "gamma", 1.05070102214813232421875f, &c->node.beta);
		break;
	default:
		break;
	}
	if (rc)
		return rc;
	if (!isfinite(c->node.alpha) || !isfinite(c->node.beta))
		return bad(c, DNNQ_E_RANGE, "alpha or lambd %g, beta, gamma or bias %g: finite values "
		           "expected", c->node.alpha, c->node.beta);
	if (c->node.op == DNNQ_IR_CELU && c->node.alpha == 0)
		return bad(c, DNNQ_E_RANGE, "alpha 0: Celu divides by it");
	return same_out(c, V(c, 0), DNNQ_IR_F32);
}

static int clip_bound(struct nctx *c, size_t i, float *out)
{
	if (!V(c, i))
		return 0;
	int rc = need_param(c, i, DT_F32, true, 1);
	if (!rc)
		*out = *(const float *)V(c, i)->data;
	return rc;
}

static int op_binary(struct nctx *c);
static int link_as(struct nctx *c, const char *suffix, size_t nin);

/* Whether input i is a constant bound that clips nothing: -inf (at) or
 * +inf. */
static bool no_bound(struct nctx *c, size_t i, float at)
{
	const struct dnnq_ir_value *v = V(c, i);
	return v && v->data && v->dtype == DNNQ_IR_F32 && numel(v) == 1 &&
	       *(const float *)v->data == at;
}

/* Clip (opset 11+) with a bound computed at run time (a log spectrogram's
 * floor at its maximum less 80 dB): Max(x, min) (NAME:max), then
 * Min(that, max), the registry's binaries, broadcasting the bounds; a
 * constant infinite bound clips nothing and is left out. */
static int clip_dynamic(struct nctx *c)
{
	int32_t hi = c->nin > 2 && !no_bound(c, 2, INFINITY) ? c->in[2] : -1;
	int rc;
	if (no_bound(c, 1, -INFINITY))
		c->in[1] = -1;
	c->node.op = DNNQ_IR_ENGINE;
	c->nin = 2;
	if (c->in[1] >= 0) {
		c->node.kind = dnnq_op_find_onnx("Max")->kind;
		if (hi < 0)
			return op_binary(c);
		if ((rc = op_binary(c)) || (rc = link_as(c, ":max", 2)))
			return rc;
	}
	c->in[1] = hi;
	c->node.kind = dnnq_op_find_onnx("Min")->kind;
	return op_binary(c);
}

static int op_clip(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)))
		return rc;
	if (c->m->opset >= 11 && ((V(c, 1) && !V(c, 1)->data) || (V(c, 2) && !V(c, 2)->data)))
		return clip_dynamic(c);
	if (c->m->opset < 11) {
		if ((rc = a_float(c, "min", -INFINITY, &c->node.clip_min)) ||
		    (rc = a_float(c, "max", INFINITY, &c->node.clip_max)))
			return rc;
	} else {
		c->node.clip_min = -INFINITY;
		c->node.clip_max = INFINITY;
		if ((rc = clip_bound(c, 1, &c->node.clip_min)) || (rc = clip_bound(c, 2, &c->node.clip_max)))
			return rc;
	}
	if (isnan(c->node.clip_min) || isnan(c->node.clip_max))
		return bad(c, DNNQ_E_RANGE, "min or max is NaN");
	c->nin = 1;
	return same_out(c, V(c, 0), DNNQ_IR_F32);
}

static int32_t new_constant(struct nctx *c, const struct dnnq_ir_value *v, const char *suffix,
                            void *data);

/* Opset < 7's broadcast = 1 (Caffe2-era exports: a bias [C] added to
 * [N, C, H, W] with axis 1): B's dims match A's from `axis` on, by default
 * A's last ones, which is numpy's alignment. A constant B gets the
 * trailing 1s that make numpy align it there too; a B computed at run
 * time must already align. broadcast = 0 wants equal shapes, which numpy
 * broadcasting takes as they are. */
static int align_at(struct nctx *c, int64_t axis);

static int legacy_broadcast(struct nctx *c)
{
	int64_t on, axis;
	int rc;
	if ((rc = a_int(c, "broadcast", 0, &on)) || !on || !attr(c, "axis") ||
	    (rc = a_int(c, "axis", 0, &axis)))
		return rc;
	return align_at(c, axis);
}

/* B (input 1) aligned to A's dims from axis on, numpy's way: a constant B
 * given trailing 1s. */
static int align_at(struct nctx *c, int64_t axis)
{
	const struct dnnq_ir_value *a = V(c, 0), *b = V(c, 1);
	if (!a || !b)
		return bad(c, DNNQ_E_SHAPE, "broadcast needs inputs A and B");
	if (axis < 0)
		axis += a->ndim;
	if (axis < 0 || axis + b->ndim > a->ndim)
		return bad(c, DNNQ_E_SHAPE, "broadcast axis %lld: B of rank %u does not fit in A's "
		           "rank %u", (long long)axis, b->ndim, a->ndim);
	uint32_t pad = a->ndim - (uint32_t)axis - b->ndim;
	if (!pad)
		return DNNQ_OK;
	if (!b->data)
		return bad(c, DNNQ_E_UNSUPPORTED, "broadcast axis %lld of a B computed at run time "
		           "(only a constant B is aligned)", (long long)axis);
	size_t bytes = numel(b) * dnnq_ir_dtype_size(b->dtype);
	void *copy = malloc(bytes ? bytes : 1);
	if (!copy)
		return DNNQ_E_NOMEM;
	memcpy(copy, b->data, bytes);
	struct dnnq_ir_value v = *b;
	for (uint32_t i = 0; i < pad; i++)
		v.dims[v.ndim++] = 1;
	int32_t id = new_constant(c, &v, ":axis", copy);
	if (id < 0)
		return id;
	c->in[1] = id;
	return DNNQ_OK;
}

/* numpy broadcasting; the batch must stay dim 0 of the result. */
/* An elementwise operand whose batch is on ONNX's dim k (k > 0): the IR
 * broadcasts its layout as ONNX does its own when the other operand has
 * the batch on dim k too at the same rank, or is unbatched and covers only
 * ONNX's dims after k (a bias [H] on [T, N, H]); the output keeps it there. */
static int binary_moved(struct nctx *c)
{
	unsigned k = moved_at(c, 0) ? moved_at(c, 0) : moved_at(c, 1);
	for (size_t i = 0; k && i < 2; i++) {
		const struct dnnq_ir_value *v = V(c, i), *o = V(c, 1 - i);
		if (moved_at(c, i) == k)
			continue;
		if (moved_at(c, i) || v->batched || v->ndim + 1 + k > o->ndim)
			return batch_moves(c, "input %zu '%.80s' [%s] broadcasts against the batch on "
			                   "dim %u of the other", i, iname(c, i), imp_dims_str(v), k);
	}
	if (k && moved_at(c, 0) == moved_at(c, 1) && V(c, 0)->ndim != V(c, 1)->ndim)
		return batch_moves(c, "inputs of ranks %u and %u, both batched on dim %u",
		                   V(c, 0)->ndim, V(c, 1)->ndim, k);
	if (k)
		c->moved[0] = (uint8_t)k;
	return 0;
}

static int op_binary(struct nctx *c)
{
	int rc;
	if (c->m->opset < 7 && (rc = legacy_broadcast(c)))
		return rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need(c, 1, DT_F32, false)))
		return rc;
	const struct dnnq_ir_value *a = V(c, 0), *b = V(c, 1);
	uint32_t r = a->ndim > b->ndim ? a->ndim : b->ndim;
	int64_t d[DNNQ_IR_MAX_DIMS];
	bool batched = false;
	if ((rc = binary_moved(c)))
		return rc;
	for (uint32_t i = 0; i < r; i++) {
		int64_t da = i + a->ndim >= r ? a->dims[i + a->ndim - r] : 1;
		int64_t db = i + b->ndim >= r ? b->dims[i + b->ndim - r] : 1;
		if (da != db && da != 1 && db != 1)
			return bad(c, DNNQ_E_SHAPE, "shapes [%s] and [%s] do not broadcast", imp_dims_str(a),
			           imp_dims_str(b));
		d[i] = da == 1 ? db : da;
	}
	for (int k = 0; k < 2; k++) {
		const struct dnnq_ir_value *v = k ? b : a;
		/* against a dim of more than 1 each sample meets its own slice */
		if (v->batched && v->ndim != r)
			return (d[r - v->ndim] > 1 ? batch_mixes : batch_moves)(
				c, "input %d '%.80s' is batched but broadcasts to rank %u: the batch "
				"would not stay dim 0%s", k, iname(c, (size_t)k), r,
				d[r - v->ndim] > 1 ? ", it broadcasts against the other's" : "");
		batched |= v->batched;
	}
	if (batched && d[0] != 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "an input of dim 0 = %lld broadcasts against the "
		           "batch", (long long)d[0]);
	return set_out(c, 0, DNNQ_IR_F32, r, d, batched);
}

static bool same_shape(const struct dnnq_ir_value *a, const struct dnnq_ir_value *b)
{
	if (a->ndim != b->ndim || a->batched != b->batched)
		return false;
	for (uint32_t i = 0; i < a->ndim; i++)
		if (a->dims[i] != b->dims[i])
			return false;
	return true;
}

static int binary_chain(struct nctx *c);

/* Whether v is the f32 scalar constant `unit` (one element, exactly). */
static bool scalar_is(const struct dnnq_ir_value *v, float unit)
{
	return v->data && v->dtype == DNNQ_IR_F32 && numel(v) == 1 &&
	       *(const float *)v->data == unit;
}

/* Add and Mul; an Add of a scalar constant 0 or a Mul by a scalar constant
 * 1 is its other input, as Identity is (Paddle exports swish as
 * x * Sigmoid(x * 1), which then fuses: onnx/fuse.h). A constant of more
 * elements stays, all ones or not: a LayerNorm's weights of ones
 * (untrained) are what fuse-norm.c's pattern reads. */
static int op_add_mul(struct nctx *c)
{
	int rc = op_binary(c);
	float unit = c->node.op == DNNQ_IR_MUL ? 1.0f : 0.0f;
	for (size_t k = 0; k < 2 && !rc && !c->moved[0]; k++) {
		const struct dnnq_ir_value *u = V(c, k), *x = V(c, 1 - k);
		if (x->data || !scalar_is(u, unit) || !same_shape(x, &c->out[0]))
			continue;
		c->in[0] = c->in[1 - k];
		c->nin = 1;
		return pass_through(c);
	}
	return rc;
}


/* Sum of inputs of one shape is one node; of broadcasting shapes (ONNX's
 * Sum and Mean broadcast as Add does) a chain of Adds. */
static int op_sum(struct nctx *c)
{
	int rc;
	bool same = true;
	if (c->nin < 1)
		return bad(c, DNNQ_E_FORMAT, "no inputs");
	for (size_t i = 0; i < c->nin; i++) {
		if ((rc = need(c, i, DT_F32, false)))
			return rc;
		same = same && same_shape(V(c, i), V(c, 0));
	}
	if (same)
		return same_out(c, V(c, 0), DNNQ_IR_F32);
	c->node.op = DNNQ_IR_ADD;
	return binary_chain(c);
}

int norm_axis(struct nctx *c, int64_t *axis, uint32_t rank, const char *what)
{
	if (*axis < -(int64_t)rank || *axis >= (int64_t)rank)
		return bad(c, DNNQ_E_RANGE, "%s %lld is out of range for rank %u", what,
		           (long long)*axis, rank);
	if (*axis < 0)
		*axis += rank;
	return 0;
}

/* A node of c->node's operator on c->in[0 .. nin - 1] whose output
 * (c->out[0], "NAME" then suffix) becomes c->in[0]; integers when the
 * node computes on integers (c->ints), as its last output is. */
static int link_as(struct nctx *c, const char *suffix, size_t nin)
{
	char nm[160];
	snprintf(nm, sizeof nm, "%.140s%.16s", c->name, suffix);
	c->out[0].name = nm;
	c->out[0].producer = (int32_t)c->m->ir->nnodes;
	c->out[0].integer = c->ints;
	int32_t id = imp_new_value(c->m, &c->out[0], true);
	if (id < 0)
		return id;
	struct dnnq_ir_node n = c->node;
	n.ninputs = (uint32_t)nin;
	n.noutputs = 1;
	for (size_t i = 0; i < DNNQ_IR_MAX_INPUTS; i++)
		n.inputs[i] = i < nin ? c->in[i] : -1;
	for (size_t i = 0; i < DNNQ_IR_MAX_OUTPUTS; i++)
		n.outputs[i] = i ? -1 : id;
	n.whole = c->whole;
	n.name = strdup(nm);
	n.op_type = strdup(S(c->np->op_type));
	int rc = imp_new_node(c->m, &n);
	if (rc)
		return rc;
	c->in[0] = id;
	return 0;
}

/* Where(cond, x, y) as where_join(where_keep(cond, x) (NAME:then),
 * where_drop(cond, y) (NAME:else)): the registry's fp32 binaries, each
 * broadcasting (engine/ops/where_keep.c). The join is c's node, not yet
 * linked. */
static int32_t new_constant(struct nctx *c, const struct dnnq_ir_value *v, const char *suffix,
                            void *data);
static int32_t scalar_const(struct nctx *c, float v, const char *suffix);

/* A half of Where whose condition and operand are constants (GPT-2's
 * where(causal, scores, finfo.min)): the constant Where(cond, x, 0)
 * (Where(cond, 0, y) for the else half), named NAME<suffix>, as *out. */
static int where_half_const(struct nctx *c, int32_t cond, int32_t v, bool then,
                            const char *suffix, int32_t *out)
{
	int32_t z = scalar_const(c, 0.0f, ":zero");
	if (z < 0)
		return z;
	c->nin = 3;
	c->in[0] = cond;
	c->in[1] = then ? v : z;
	c->in[2] = then ? z : v;
	int rc = imp_fold_where(c);
	if (rc)
		return rc;
	struct dnnq_ir_value *r = &c->m->ir->values[c->constant];
	char nm[160];
	snprintf(nm, sizeof nm, "%.140s%.16s", c->name, suffix);
	char *name = strdup(nm);
	if (!name)
		return DNNQ_E_NOMEM;
	free(r->name);
	r->name = name;
	*out = c->constant;
	c->constant = -1;
	c->nconst = 0;
	return 0;
}

/* Where's half `kind` (where_keep, where_drop) of cond and v, NAME<suffix>,
 * as *out: a node, or a constant when both are. */
static int where_half(struct nctx *c, const char *kind, int32_t cond, int32_t v,
                      const char *suffix, int32_t *out)
{
	const struct dnnq_ir_value *cv = &c->m->ir->values[cond], *vv = &c->m->ir->values[v];
	bool then = !strcmp(kind, "where_keep");
	if (cv->data && vv->data && cv->dtype == DNNQ_IR_F32 && vv->dtype == DNNQ_IR_F32)
		return where_half_const(c, cond, v, then, suffix, out);
	c->node.op = DNNQ_IR_ENGINE;
	c->node.kind = dnnq_op_find(kind)->kind;
	c->nin = 2;
	c->in[0] = cond;
	c->in[1] = v;
	int rc = op_binary(c);
	if (rc || (rc = link_as(c, suffix, 2)))
		return rc;
	*out = c->in[0];
	return 0;
}

static int where_halves(struct nctx *c, int32_t cond, int32_t x, int32_t y)
{
	int rc;
	int32_t taken, dropped;
	if ((rc = where_half(c, "where_keep", cond, x, ":then", &taken)) ||
	    (rc = where_half(c, "where_drop", cond, y, ":else", &dropped)))
		return rc;
	c->node.op = DNNQ_IR_ENGINE;
	c->nin = 2;
	c->in[0] = dropped;
	c->in[1] = taken;
	c->node.kind = dnnq_op_find("where_join")->kind;
	return op_binary(c);
}

static int32_t new_constant(struct nctx *c, const struct dnnq_ir_value *v, const char *suffix,
                            void *data);

/* Trilu of a computed X (a constant one folds: onnx/import-fold.c): the
 * registry's where_keep of a constant mask of X's last two dims
 * (NAME:mask, 1 where the element stays: column - row >= k for upper,
 * <= k for lower), which gives 0 where it is 0 as Trilu does (a product
 * by the mask would give NaN for an infinite element). k is input 1, a
 * constant scalar (0 without it). */
static int op_trilu(struct nctx *c)
{
	int64_t k = 0;
	bool upper;
	const struct dnnq_ir_value *kv = V(c, 1);
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_bool(c, "upper", true, &upper)) ||
	    (kv && (rc = need(c, 1, DT(DNNQ_IR_S64) | DT(DNNQ_IR_S32), true))))
		return rc;
	if (kv && numel(kv) != 1)
		return bad(c, DNNQ_E_SHAPE, "input 1 '%.80s' (k) [%s]: one value expected",
		           iname(c, 1), imp_dims_str(kv));
	if (kv)
		k = kv->dtype == DNNQ_IR_S64 ? *(const int64_t *)kv->data : *(const int32_t *)kv->data;
	const struct dnnq_ir_value *x = V(c, 0);
	uint32_t r = x->ndim;
	if (r < 2)
		return bad(c, DNNQ_E_SHAPE, "input 0 '%.80s' [%s]: rank 2 or more expected",
		           iname(c, 0), imp_dims_str(x));
	if (x->batched && r == 2)
		return batch_mixes(c, "a Trilu of the batch's rows (rank 2)");
	int64_t rows = x->dims[r - 2], cols = x->dims[r - 1];
	struct dnnq_ir_value mv = { .name = c->name, .dtype = DNNQ_IR_F32, .ndim = 2,
	                            .dims = { rows, cols }, .producer = -1 };
	float *mask;
	if ((rc = imp_const_alloc(c->m, numel(&mv) * sizeof *mask, c->who, (void **)&mask)))
		return rc;
	for (int64_t i = 0; i < rows; i++)
		for (int64_t j = 0; j < cols; j++)
			mask[i * cols + j] = upper ? j - i >= k : j - i <= k;
	int32_t mid = new_constant(c, &mv, ":mask", mask);
	if (mid < 0)
		return mid;
	c->node.op = DNNQ_IR_ENGINE;
	c->node.kind = dnnq_op_find("where_keep")->kind;
	c->nin = 2;
	c->in[1] = c->in[0];
	c->in[0] = mid;
	return op_binary(c);
}

static int op_where(struct nctx *c)
{
	return where_halves(c, c->in[0], c->in[1], c->in[2]);
}

int imp_select(struct nctx *c, int32_t cond, int32_t x, int32_t y, int32_t *out)
{
	int rc = where_halves(c, cond, x, y);
	if (rc || (rc = link_as(c, "", 2)))
		return rc;
	*out = c->in[0];
	return 0;
}

/* One link of a chain: link_as with the suffix ":k". */
static int chain_link(struct nctx *c, size_t k, size_t nin)
{
	char suffix[24];
	snprintf(suffix, sizeof suffix, ":%zu", k);
	return link_as(c, suffix, nin);
}

static int concat_shape(struct nctx *c);
static int concat_dims(struct nctx *c);

/* Concat of more inputs than an IR node takes: concatenations of
 * DNNQ_IR_MAX_INPUTS at a time, each the first input of the next. */
/* A Concat of c->nin inputs, more than an IR node takes as a chain of
 * nodes NAME<tag>:1, NAME<tag>:2, ... (each the first input of the next);
 * shape fills the output of each. */
static int concat_chain(struct nctx *c, const char *tag, int (*shape)(struct nctx *c))
{
	int rc;
	size_t n = c->nin, k = 0;
	while (n > DNNQ_IR_MAX_INPUTS) {
		char suffix[40];
		snprintf(suffix, sizeof suffix, "%.16s:%zu", tag, ++k);
		c->nin = DNNQ_IR_MAX_INPUTS;
		/* the link of the inputs shape keeps (concat_shape drops
		 * empty constants), the window consumed all the same */
		if ((rc = shape(c)) || (rc = link_as(c, suffix, c->nin)))
			return rc;
		c->m->moved[c->in[0]] = c->moved[0];
		n -= DNNQ_IR_MAX_INPUTS - 1;
		memmove(c->in + 1, c->in + DNNQ_IR_MAX_INPUTS, (n - 1) * sizeof *c->in);
	}
	c->nin = n;
	return shape(c);
}

static int op_concat(struct nctx *c)
{
	return concat_chain(c, "", concat_shape);
}

/* A float constant of dim 0 = 1 beside batched inputs (tf2onnx's channel
 * padding: a Concat with ConstantOfShape's zeros; a scatter's folded
 * zeros) is the registry's expand to the batch first (NAME:expandK,
 * engine/ops/expand.c). */
static int expand_consts(struct nctx *c)
{
	bool batched = false;
	for (size_t i = 0; i < c->nin; i++)
		batched |= V(c, i) && V(c, i)->batched;
	const struct dnnq_op_def *def = dnnq_op_find("expand");
	for (size_t i = 0; batched && def && i < c->nin; i++) {
		const struct dnnq_ir_value *v = V(c, i);
		if (!v || !v->data || v->batched || v->dtype != DNNQ_IR_F32 || !v->ndim ||
		    v->dims[0] != 1)
			continue;
		int32_t saved[DNNQ_IR_MAX_INPUTS];
		size_t nin = c->nin;
		struct dnnq_ir_node node = c->node;
		bool ints = c->ints;
		memcpy(saved, c->in, nin * sizeof *c->in);
		c->node.op = DNNQ_IR_ENGINE;
		c->node.kind = def->kind;
		c->in[0] = saved[i];
		c->ints = v->integer;          /* floats holding integers stay so */
		char suffix[32];
		snprintf(suffix, sizeof suffix, ":expand%zu", i);
		int rc = set_out(c, 0, DNNQ_IR_F32, v->ndim, v->dims, true);
		if (!rc)
			rc = link_as(c, suffix, 1);
		int32_t id = c->in[0];
		memcpy(c->in, saved, nin * sizeof *c->in);
		c->nin = nin;
		c->node = node;
		c->ints = ints;
		if (rc)
			return rc;
		c->in[i] = id;
	}
	return 0;
}

static int concat_shape(struct nctx *c)
{
	int rc;
	if (c->nin < 1)
		return bad(c, DNNQ_E_FORMAT, "no inputs");
	/* an empty constant adds nothing: torch's cat skips a [0] tensor of
	 * any rank (torchaudio's Emformer concatenates its empty memory bank,
	 * a [0] constant, with [T, N, D]), and so does ONNX Runtime */
	for (size_t i = c->nin; i-- > 0 && c->nin > 1;)
		if (V(c, i) && V(c, i)->data && !dnnq_ir_numel(V(c, i), 1)) {
			memmove(c->in + i, c->in + i + 1, (c->nin - i - 1) * sizeof *c->in);
			c->nin--;
		}
	if ((rc = expand_consts(c)))
		return rc;
	/* optional before opset 4 (1, the channels), required since */
	if (!attr(c, "axis") && c->m->opset >= 4)
		return bad(c, DNNQ_E_FORMAT, "attribute 'axis' is missing");
	if ((rc = need(c, 0, DT_F32 | DT_Q8, false)) || (rc = a_int(c, "axis", 1, &c->node.axis)))
		return rc;
	if ((rc = norm_axis(c, &c->node.axis, V(c, 0)->ndim, "axis")))
		return rc;
	/* inputs whose batch an LSTM or GRU put on ONNX's dim k (their states,
	 * torch's h_n of stacked layers): along another ONNX axis, the IR's */
	unsigned k = moved_at(c, 0);
	for (size_t i = 1; i < c->nin; i++)
		if (moved_at(c, i) != k)
			return batch_moves(c, "input %zu '%.80s' has its batch on dim %u, input 0 "
			                   "on dim %u", i, iname(c, i), moved_at(c, i), k);
	if (k && c->node.axis == k)
		return batch_mixes(c, "concatenation along the batch (axis %u)", k);
	c->node.axis = ir_axis(c, 0, c->node.axis);
	c->moved[0] = (uint8_t)k;
	return concat_dims(c);
}

/* The output of a Concat of c->in along c->node.axis (normalised). */
static int concat_dims(struct nctx *c)
{
	int rc;
	const struct dnnq_ir_value *a = V(c, 0);
	int64_t ax = c->node.axis, d[DNNQ_IR_MAX_DIMS];
	if (a->batched && ax == 0)
		return batch_mixes(c, "concatenation along the batch (axis 0)");
	memcpy(d, a->dims, sizeof d);
	d[ax] = 0;
	for (size_t i = 0; i < c->nin; i++) {
		if ((rc = need(c, i, DT_ANY, false)) || (rc = same_dtype(c, 0, i)))
			return rc;
		const struct dnnq_ir_value *v = V(c, i);
		bool ok = v->ndim == a->ndim && v->batched == a->batched;
		for (uint32_t j = 0; ok && j < a->ndim; j++)
			ok = (int64_t)j == ax || v->dims[j] == a->dims[j];
		if (!ok)
			return bad(c, DNNQ_E_SHAPE, "input %zu '%.80s' [%s] does not match input 0 but "
			           "on axis %lld", i, iname(c, i), imp_dims_str(v), (long long)ax);
		d[ax] += v->dims[ax];
	}
	return set_out(c, 0, a->dtype, a->ndim, d, a->batched);
}

/* [N, C, L] (BatchNorm1d after a Conv1d's activation, as in SpeechBrain's
 * ECAPA-TDNN) and [N, C, D, H, W] (BatchNorm3d not after a 3-D Conv): the
 * engine normalizes channels of rank 2 or 4, so the node becomes NAME:4d,
 * a Reshape to [N, C, L, 1] ([N, C, D*H, W]), NAME:bn, the normalization,
 * and NAME, a Reshape back. */
static int batchnorm_4d(struct nctx *c)
{
	const struct dnnq_ir_value *x = V(c, 0);
	const uint32_t r = x->ndim;
	int64_t d[5];
	memcpy(d, x->dims, r * sizeof *d);
	const int64_t d4[4] = { d[0], d[1], r == 3 ? d[2] : d[2] * d[3], r == 3 ? 1 : d[4] };
	const bool batched = x->batched;
	const struct dnnq_ir_node bn = c->node;
	int rc;
	c->whole = ++c->m->wholes;    /* one precision unit, named NAME */
	c->node.op = DNNQ_IR_RESHAPE;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, d4, batched)) || (rc = link_as(c, ":4d", 1)))
		return rc;
	c->node = bn;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, d4, batched)) || (rc = link_as(c, ":bn", 5)))
		return rc;
	c->node.op = DNNQ_IR_RESHAPE;
	c->nin = 1;
	return set_out(c, 0, DNNQ_IR_F32, r, d, batched);
}

static int affine_const(struct nctx *c, const float *scale, const float *bias, uint32_t r,
                        const int64_t *dims);

/* BatchNormalization with spatial 0 (opsets 6-8; MXNet's exports) of X
 * [N, C, D1, ...]: statistics per activation, scale, B, mean and var of
 * [C, D1, ...] (ONNX Runtime refuses [C] there), folded into one
 * multiplier and offset: X * a + b. (Of [N, C], spatial 0 is spatial 1.) */
static int batchnorm_per_activation(struct nctx *c)
{
	const struct dnnq_ir_value *x = V(c, 0);
	int rc;
	for (size_t i = 1; i <= 4; i++) {
		if ((rc = need(c, i, DT_F32, true)))
			return rc;
		const struct dnnq_ir_value *p = V(c, i);
		if (p->ndim != x->ndim - 1 || memcmp(p->dims, x->dims + 1, p->ndim * sizeof *p->dims))
			return bad(c, DNNQ_E_SHAPE, "input %zu '%.80s' [%s]: spatial 0 wants X's shape "
			           "after the batch", i, iname(c, i), imp_dims_str(p));
	}
	if (!(c->node.epsilon >= 0))
		return bad(c, DNNQ_E_RANGE, "epsilon must be >= 0");
	size_t n = numel(V(c, 1));
	float *a = malloc(2 * n * sizeof *a);
	if (!a)
		return DNNQ_E_NOMEM;
	const float *g = V(c, 1)->data, *b = V(c, 2)->data, *mu = V(c, 3)->data,
	            *var = V(c, 4)->data;
	for (size_t i = 0; i < n; i++) {
		/* refused as spatial 1 refuses it (lower-ops.c bn_coeffs):
		 * no NaN multiplier */
		double v = (double)var[i] + c->node.epsilon;
		if (!(v > 0)) {
			free(a);
			return bad(c, DNNQ_E_RANGE, "activation %zu: var + epsilon = %g: want > 0", i, v);
		}
		a[i] = (float)(g[i] / sqrt(v));
		a[n + i] = (float)(b[i] - (double)mu[i] * a[i]);
	}
	rc = affine_const(c, a, a + n, x->ndim - 1, V(c, 1)->dims);   /* it copies the dims */
	free(a);
	return rc;
}

static int op_batchnorm(struct nctx *c)
{
	int rc;
	int64_t v;
	if ((rc = need(c, 0, DT_F32, false)))
		return rc;
	if (imp_bn_folded(c->m, c->index)) {
		c->merged = true;
		return pass_through(c);
	}
	if ((rc = a_float(c, "epsilon", 1e-5f, &c->node.epsilon)))
		return rc;
	if ((rc = a_int(c, "training_mode", 0, &v)) || v)
		return rc ? rc : bad(c, DNNQ_E_UNSUPPORTED, "training_mode 1");
	if ((rc = a_int(c, "spatial", 1, &v)) || (v != 0 && v != 1))
		return rc ? rc : bad(c, DNNQ_E_RANGE, "spatial %lld: 0 or 1 expected", (long long)v);
	const struct dnnq_ir_value *x = V(c, 0);
	if (x->ndim < 2)
		return bad(c, DNNQ_E_SHAPE, "input [%s]: rank 2 or more expected", imp_dims_str(x));
	if (!v && x->ndim > 2)
		return batchnorm_per_activation(c);
	for (size_t i = 1; i <= 4; i++) {
		if ((rc = need(c, i, DT_F32, true)))
			return rc;
		const struct dnnq_ir_value *p = V(c, i);
		if (p->ndim != 1 || p->dims[0] != x->dims[1])
			return bad(c, DNNQ_E_SHAPE, "input %zu '%.80s' [%s]: [%lld] expected", i,
			           iname(c, i), imp_dims_str(p), (long long)x->dims[1]);
	}
	if (!(c->node.epsilon >= 0))
		return bad(c, DNNQ_E_RANGE, "epsilon must be >= 0");
	if (x->ndim > 5)
		return bad(c, DNNQ_E_UNSUPPORTED, "input [%s]: rank 2 to 5 expected", imp_dims_str(x));
	return x->ndim == 3 || x->ndim == 5 ? batchnorm_4d(c) : same_out(c, x, DNNQ_IR_F32);
}

/* ---- shapes ------------------------------------------------------------------ */

static int reshape_to(struct nctx *c, uint32_t ndim, const int64_t *d, bool batched)
{
	const struct dnnq_ir_value *x = V(c, 0);
	struct dnnq_ir_value t = { .ndim = ndim };
	memcpy(t.dims, d, ndim * sizeof *d);
	if (numel(&t) != numel(x))
		return bad(c, DNNQ_E_SHAPE, "[%s] has %zu elements, not %zu", imp_dims_str(&t),
		           numel(&t), numel(x));
	c->node.op = DNNQ_IR_RESHAPE;
	c->nin = 1;
	int rc = set_out(c, 0, x->dtype, ndim, d, batched);
	return rc || !same_shape(x, &c->out[0]) ? rc : pass_through(c);
}

static int op_flatten(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_ANY, false)) || (rc = a_int(c, "axis", 1, &c->node.axis)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (c->node.axis < -(int64_t)x->ndim || c->node.axis > (int64_t)x->ndim)
		return bad(c, DNNQ_E_RANGE, "axis %lld out of range for rank %u",
		           (long long)c->node.axis, x->ndim);
	int64_t ax = c->node.axis < 0 ? c->node.axis + x->ndim : c->node.axis, d[2] = { 1, 1 };
	for (uint32_t i = 0; i < x->ndim; i++)
		d[(int64_t)i >= ax] *= x->dims[i];
	if (x->batched && (ax == 0 || d[0] != 1))
		return batch_moves(c, "Flatten at axis %lld folds the batch into a "
		           "dimension", (long long)ax);
	c->node.axis = 0;
	return reshape_to(c, 2, d, x->batched);
}

/* Reshape before opset 5 (the caffe2 exports of the ONNX Model Zoo's
 * "-3" models): the shape an attribute, made the constant input 1 of
 * later opsets. */
static int reshape_shape_attr(struct nctx *c)
{
	const int64_t *v;
	ptrdiff_t n;
	int rc = a_ints(c, "shape", &v, &n);
	if (rc)
		return rc;
	if (n < 0)
		return bad(c, DNNQ_E_FORMAT, c->m->opset >= 5 ? "input 1 (the shape) is missing" :
		           "attribute 'shape' is missing");
	if (c->m->opset >= 5)
		return bad(c, DNNQ_E_FORMAT, "attribute 'shape': an input since opset 5");
	struct dnnq_ir_value t = { .name = c->name, .dtype = DNNQ_IR_S64, .ndim = 1,
	                           .dims = { n }, .producer = -1 };
	int64_t *d = malloc(n ? (size_t)n * sizeof *d : 1);
	if (!d)
		return DNNQ_E_NOMEM;
	if (n)
		memcpy(d, v, (size_t)n * sizeof *d);
	int32_t id = new_constant(c, &t, ":shape", d);
	if (id < 0)
		return id;
	c->in[1] = id;
	c->nin = 2;
	return 0;
}

static int op_reshape(struct nctx *c)
{
	int rc;
	bool allowzero;
	if (c->nin < 2 && (rc = reshape_shape_attr(c)))
		return rc;
	if ((rc = need(c, 0, DT_ANY, false)) || (rc = need(c, 1, DT(DNNQ_IR_S64), true)) ||
	    (rc = a_bool(c, "allowzero", false, &allowzero)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0), *s = V(c, 1);
	const int64_t *sh = s->data;
	size_t n = numel(s);
	if (s->ndim != 1 || n > DNNQ_IR_MAX_DIMS)
		return bad(c, DNNQ_E_UNSUPPORTED, "shape [%s]: 1-D, at most %d values expected",
		           imp_dims_str(s), DNNQ_IR_MAX_DIMS);
	/* ONNX's dims of x: its batch b on dim 1 (moved), dims 0 and 1 swapped */
	int64_t d[DNNQ_IR_MAX_DIMS], xd[DNNQ_IR_MAX_DIMS], known = 1;
	uint32_t b = moved_at(c, 0);
	memcpy(xd, x->dims, sizeof xd);
	if (b) {
		xd[0] = x->dims[1];
		xd[1] = x->dims[0];
	}
	int minus = -1;
	bool keep_batch = false, marked = c->m->batch[c->in[1]];
	for (size_t i = 0; i < n; i++) {
		d[i] = sh[i];
		if (i == b && x->batched && ((marked && sh[b] == IMP_BATCH) ||
		                             (c->m->static_batch > 0 && sh[b] == c->m->static_batch))) {
			d[b] = xd[b];
			keep_batch = true;
		} else if (marked && sh[i] == IMP_BATCH) {
			return batch_moves(c, "shape[%zu] is the batch (from a Shape): only "
			           "shape[0] of a batched value may be", i);
		} else if (sh[i] == 0 && !allowzero) {
			if (i >= x->ndim)
				return bad(c, DNNQ_E_SHAPE, "shape[%zu] = 0 copies a dim the input lacks", i);
			d[i] = xd[i];
		} else if (sh[i] == -1) {
			if (minus >= 0)
				return bad(c, DNNQ_E_SHAPE, "shape has two -1");
			minus = (int)i;
			continue;
		} else if (sh[i] < 0 || sh[i] > IMP_MAX_DIM) {
			return bad(c, DNNQ_E_SHAPE, "shape[%zu] = %lld", i, (long long)sh[i]);
		}
		known *= d[i] ? d[i] : 1;
		if (known > (int64_t)IMP_MAX_NUMEL)
			return bad(c, DNNQ_E_SHAPE, "shape has more than 2^31 elements");
	}
	if (minus >= 0) {
		int64_t total = (int64_t)numel(x);
		/* a batch item's elements that do not divide: the -1 takes the
		 * batch in (x.view(-1, C, H, W) of [N, ...] whose dims leave
		 * none for N), which the import fixes to 1 */
		if (total % known && x->batched)
			return batch_moves(c, "shape[%d] = -1 takes the batch in: a batch item has "
			                   "%lld elements, the other dims %lld", minus, (long long)total,
			                   (long long)known);
		if (total % known)
			return bad(c, DNNQ_E_SHAPE, "-1 cannot be resolved: %lld elements by %lld",
			           (long long)total, (long long)known);
		d[minus] = total / known;
	}
	bool batched = false;
	if (x->batched) {
		batched = keep_batch || (n > b && ((sh[b] == 0 && !allowzero) ||
		                                   (sh[b] == -1 && d[b] == 1)));
		if (!batched && !n)
			return batch_moves(c, "reshaping a batched value to a scalar");
		if (!batched || (b && d[0] != xd[0]))
			return batch_moves(c, "reshaping a batched value: shape[%u] = %lld merges "
			           "the batch with other dims or moves it (shape[%u] keeps the batch as "
			           "0, as -1 standing for it, or as the batch the model fixes%s)", b,
			           (long long)sh[b], b, b ? "; shape[0] keeps dim 0" : "");
	}
	if (b) {
		int64_t t = d[0];
		d[0] = d[1];
		d[1] = t;
		c->moved[0] = 1;
	}
	return reshape_to(c, (uint32_t)n, d, batched);
}

/* Squeeze / Unsqueeze axes: the attribute before opset 13, input 1 after. */
static int axes(struct nctx *c, int64_t *ax, size_t *n, bool *given)
{
	*n = 0;
	*given = false;
	if (c->m->opset < 13) {
		const int64_t *v;
		ptrdiff_t k;
		int rc = a_ints(c, "axes", &v, &k);
		if (rc)
			return rc;
		if (k > DNNQ_IR_MAX_DIMS)
			return bad(c, DNNQ_E_SHAPE, "%td axes", k);
		if (k >= 0) {
			*given = true;
			*n = (size_t)k;
			if (k)
				memcpy(ax, v, (size_t)k * sizeof *v);
		}
		return 0;
	}
	if (!V(c, 1))
		return 0;
	int rc = need(c, 1, DT(DNNQ_IR_S64), true);
	if (rc)
		return rc;
	const struct dnnq_ir_value *a = V(c, 1);
	if (a->ndim != 1 || numel(a) > DNNQ_IR_MAX_DIMS)
		return bad(c, DNNQ_E_SHAPE, "axes [%s]: 1-D, at most %d values expected",
		           imp_dims_str(a), DNNQ_IR_MAX_DIMS);
	*given = true;
	*n = numel(a);
	if (*n)
		memcpy(ax, a->data, *n * sizeof *ax);
	return 0;
}

static int op_squeeze(struct nctx *c)
{
	int rc;
	int64_t ax[DNNQ_IR_MAX_DIMS];
	size_t n;
	bool given, drop[DNNQ_IR_MAX_DIMS] = { false };
	if ((rc = need(c, 0, DT_ANY, false)) || (rc = axes(c, ax, &n, &given)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	for (size_t i = 0; i < n; i++) {
		if ((rc = norm_axis(c, &ax[i], x->ndim, "axis")))
			return rc;
		ax[i] = ir_axis(c, 0, ax[i]);
		if (x->dims[ax[i]] != 1)
			return bad(c, DNNQ_E_SHAPE, "axis %lld has size %lld, not 1", (long long)ax[i],
			           (long long)x->dims[ax[i]]);
		if (ax[i] == 0 && x->batched)
			return batch_moves(c, "squeezing the batch (axis 0)");
		drop[ax[i]] = true;
	}
	if (!given || n == 0)
		for (uint32_t i = x->batched ? 1 : 0; i < x->ndim; i++)
			drop[i] = x->dims[i] == 1;
	int64_t d[DNNQ_IR_MAX_DIMS];
	uint32_t r = 0;
	for (uint32_t i = 0; i < x->ndim; i++)
		if (!drop[i])
			d[r++] = x->dims[i];
	/* the batch moves down by the dims dropped before it */
	unsigned k = moved_at(c, 0);
	c->moved[0] = (uint8_t)k;
	for (unsigned i = 1; i <= k; i++)
		c->moved[0] -= drop[i];
	return reshape_to(c, r, d, x->batched);
}

static int op_unsqueeze(struct nctx *c)
{
	int rc;
	int64_t ax[DNNQ_IR_MAX_DIMS];
	size_t n;
	bool given, ins[DNNQ_IR_MAX_DIMS] = { false };
	if ((rc = need(c, 0, DT_ANY, false)) || (rc = axes(c, ax, &n, &given)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (!given || n == 0)
		return bad(c, DNNQ_E_FORMAT, "no axes");
	uint32_t r = x->ndim + (uint32_t)n;
	if (r > DNNQ_IR_MAX_DIMS)
		return bad(c, DNNQ_E_UNSUPPORTED, "the result would have rank %u (at most %d)", r,
		           DNNQ_IR_MAX_DIMS);
	for (size_t i = 0; i < n; i++) {
		if ((rc = norm_axis(c, &ax[i], r, "axis")))
			return rc;
		if (ins[ax[i]])
			return bad(c, DNNQ_E_SHAPE, "axis %lld given twice", (long long)ax[i]);
		if (ax[i] == 0 && x->batched)
			return batch_moves(c, "a new axis 0 would move the batch");
		ins[ax[i]] = true;
	}
	int64_t d[DNNQ_IR_MAX_DIMS];
	for (uint32_t i = 0, j = 0; i < r; i++)
		d[i] = ins[i] ? 1 : x->dims[j++];
	return reshape_to(c, r, d, x->batched);
}

/* ---- removed operators --------------------------------------------------------- */

static bool graph_output(struct imp *m, const char *name)
{
	for (size_t i = 0; i < m->g->n_output; i++)
		if (m->g->output[i] && m->g->output[i]->name && !strcmp(m->g->output[i]->name, name))
			return true;
	return false;
}

/* Whether a graph output named other than out already names value id (by
 * its own name, or an earlier Identity's alias). */
static bool output_names_value(struct imp *m, const char *out, int32_t id)
{
	for (size_t i = 0; i < m->g->n_output; i++) {
		const char *o = m->g->output[i] ? S(m->g->output[i]->name) : "";
		const struct imp_name *e = strcmp(o, out) ? imp_find(m, o) : NULL;
		if (e && e->kind == IMP_VALUE && e->idx == id)
			return true;
	}
	return false;
}

/* Identity and Dropout: their output is their input, unless that would
 * make a graph output a graph input, a constant or another graph output
 * (two Identities of one value, each an output): then a RESHAPE to the
 * same shape copies it, under the output's name. */
int pass_through(struct nctx *c)
{
	const struct dnnq_ir_value *x = V(c, 0);
	const char *out = S(c->np->output[0]);
	if (*out && graph_output(c->m, out) &&
	    (x->producer < 0 || output_names_value(c->m, out, c->in[0]))) {
		c->node.op = DNNQ_IR_RESHAPE;
		c->nin = 1;
		return same_out(c, x, x->dtype);
	}
	c->alias = c->in[0];
	return 0;
}

static int op_identity(struct nctx *c)
{
	int rc = need(c, 0, DT_ANY, false);
	return rc ? rc : pass_through(c);
}

static int op_dropout(struct nctx *c)
{
	int rc = need(c, 0, DT_ANY, false);
	if (rc)
		return rc;
	if (V(c, 2)) {
		if ((rc = need(c, 2, DT_ANY, true)))
			return rc;
		const struct dnnq_ir_value *t = V(c, 2);
		/* a folded bool (one byte) or a bool initializer (the float 0 or 1);
		 * training with a constant ratio 0 drops nothing (Swin's export) */
		bool f32 = t->dtype == DNNQ_IR_F32;
		const struct dnnq_ir_value *r = V(c, 1);
		bool none_dropped = r && r->data && r->dtype == DNNQ_IR_F32 && numel(r) == 1 &&
		                    *(const float *)r->data == 0;
		if (numel(t) != 1 || (!f32 && dnnq_ir_dtype_size(t->dtype) != 1) ||
		    ((f32 ? *(const float *)t->data != 0 : *(const uint8_t *)t->data != 0) &&
		     !none_dropped))
			return bad(c, DNNQ_E_UNSUPPORTED,
			           "training_mode must be a constant false (or ratio a constant 0)");
	}
	int64_t is_test;
	if ((rc = a_int(c, "is_test", 1, &is_test)))
		return rc;
	return pass_through(c);
}

/* ---- eltwise: Min, Max, PRelu (the registry's binary operators) ---------------- */

static void registry_kind(struct nctx *c)
{
	c->node.kind = dnnq_op_find_onnx(S(c->np->op_type))->kind;
}

/* Min and Max of one input are that input, of two the binary operator, of
 * more a chain of them: ((x0 op x1) op x2) ..., this node the last. */
static int op_minmax(struct nctx *c)
{
	int rc;
	registry_kind(c);
	if (c->nin == 1) {
		rc = need(c, 0, DT_F32, false);
		return rc ? rc : pass_through(c);
	}
	return binary_chain(c);
}

/* c's binary operator over its c->nin >= 2 inputs: ((x0 op x1) op x2)
 * ..., the links NAME:1, NAME:2, ..., this node the last. */
static int binary_chain(struct nctx *c)
{
	int rc;
	size_t n = c->nin;
	c->nin = 2;
	for (size_t k = 2; k < n; k++) {
		if ((rc = op_binary(c)) || (rc = chain_link(c, k - 1, 2)))
			return rc;
		c->in[1] = c->in[k];
	}
	return op_binary(c);
}

/* A new constant like *v (its dtype and dims), named after it with
 * suffix, holding data (owned: freed on failure); its id, or < 0. */
static int32_t new_constant(struct nctx *c, const struct dnnq_ir_value *v, const char *suffix,
                            void *data)
{
	char name[200];
	snprintf(name, sizeof name, "%.180s%.16s", v->name, suffix);
	struct dnnq_ir_value nv = *v;
	nv.name = name;
	nv.data = data;
	int32_t id = imp_new_value(c->m, &nv, true);
	if (id < 0)
		free(data);
	return id;
}

/* An integer exponent (opset 12 allows one) is made an f32 constant. */
static int op_pow(struct nctx *c)
{
	registry_kind(c);
	const struct dnnq_ir_value *e = V(c, 1);
	if (e && e->data && (e->dtype == DNNQ_IR_S64 || e->dtype == DNNQ_IR_S32)) {
		size_t n = numel(e);
		float *f = malloc(n ? n * sizeof *f : 1);
		if (!f)
			return DNNQ_E_NOMEM;
		for (size_t i = 0; i < n; i++)
			f[i] = e->dtype == DNNQ_IR_S64 ? (float)((const int64_t *)e->data)[i]
			                               : (float)((const int32_t *)e->data)[i];
		struct dnnq_ir_value v = *e;
		v.dtype = DNNQ_IR_F32;
		int32_t id = new_constant(c, &v, ":f32", f);
		if (id < 0)
			return id;
		c->in[1] = id;
	}
	return op_binary(c);
}

/* The largest axis CumSum sums along (its triangle is T x T floats). */
#define CUMSUM_MAX 2048

/* An integer constant scalar input i (need_param checked it). */
static int64_t int_scalar(struct nctx *c, size_t i)
{
	const struct dnnq_ir_value *v = V(c, i);
	return v->dtype == DNNQ_IR_S64 ? *(const int64_t *)v->data : *(const int32_t *)v->data;
}

static int matmul_swapped(struct nctx *c, uint32_t at, int32_t w);

/* CumSum along any axis but the batch (RoBERTa's position ids,
 * cumsum(mask, 1); a running sum over the time of [N, T, D]): the MatMul
 * of x by a constant [T, T] triangle of ones (NAME:tri; exclusive leaves
 * its diagonal out, reverse takes the other triangle), the engine's FC,
 * exact on integers whose sums stay below 2^24; along another axis than
 * the last, between the Transposes of matmul_swapped that move it last
 * and back. */

static int op_cumsum(struct nctx *c)
{
	bool ex, rev;
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need_param(c, 1, DT_INT, true, 1)) ||
	    (rc = a_bool(c, "exclusive", false, &ex)) || (rc = a_bool(c, "reverse", false, &rev)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t axis = int_scalar(c, 1);
	if ((rc = norm_axis(c, &axis, x->ndim, "axis")))
		return rc;
	int64_t t = x->dims[axis];
	if (x->batched && axis == 0)
		return batch_mixes(c, "axis 0 of [%s]: a sum across the batch", imp_dims_str(x));
	/* both were refused in the words of the MatMul below */
	if (x->data || x->ndim < 2)
		return bad(c, DNNQ_E_UNSUPPORTED, "input 0 '%.80s' [%s]: a CumSum of %s is not "
		           "supported", iname(c, 0), imp_dims_str(x),
		           x->data ? "a constant (it does not fold)" : "one axis");
	if (t > CUMSUM_MAX)
		return bad(c, DNNQ_E_UNSUPPORTED, "axis %lld of [%s]: a sum along at most %d",
		           (long long)axis, imp_dims_str(x), CUMSUM_MAX);
	float *tri;
	if ((rc = imp_const_alloc(c->m, (size_t)(t * t) * sizeof *tri, c->who, (void **)&tri)))
		return rc;
	/* y[j] = sum of x[i] over i <= j (i >= j reversed), i != j when exclusive */
	for (int64_t i = 0; i < t; i++)
		for (int64_t j = 0; j < t; j++)
			tri[i * t + j] = (rev ? i >= j : i <= j) && !(ex && i == j);
	struct dnnq_ir_value v = { .name = x->name, .dtype = DNNQ_IR_F32, .ndim = 2,
	                           .dims = { t, t }, .producer = -1 };
	bool last = (uint32_t)axis == x->ndim - 1;   /* x moves when values are added */
	int32_t id = new_constant(c, &v, ":tri", tri);
	if (id < 0)
		return id;
	if (!last)
		return matmul_swapped(c, (uint32_t)axis, id);
	c->in[1] = id;
	return op_matmul(c);
}

/* The slope broadcasts to X (unidirectionally: the output is X's shape). */
static int engine_kind(struct nctx *c, const char *name);

/* Mod on floats: the registry's fmod (fmod 1, C's fmodf) or mod (fmod 0,
 * NumPy's: the sign of the divisor), broadcasting as the binaries. */
static int op_mod(struct nctx *c)
{
	int64_t fmod;
	int rc = a_int(c, "fmod", 0, &fmod);
	if (rc)
		return rc;
	if (fmod != 0 && fmod != 1)
		return bad(c, DNNQ_E_RANGE, "fmod = %lld: 0 or 1 expected", (long long)fmod);
	return (rc = engine_kind(c, fmod ? "fmod" : "mod")) ? rc : op_binary(c);
}

static int op_prelu(struct nctx *c)
{
	registry_kind(c);
	int rc;
	/* before opset 7, a 1-D slope of C values is per channel (dim 1) */
	const struct dnnq_ir_value *x = V(c, 0), *slope = V(c, 1);
	if (c->m->opset < 7 && x && slope && slope->ndim == 1 && x->ndim > 2 &&
	    slope->dims[0] > 1 && slope->dims[0] == x->dims[1] && (rc = align_at(c, 1)))
		return rc;
	rc = op_binary(c);
	if (rc)
		return rc;
	x = V(c, 0);   /* the values may have moved: align_at added one */
	if (!same_shape(&c->out[0], x))
		return bad(c, DNNQ_E_SHAPE, "slope [%s] does not broadcast to X [%s]",
		           imp_dims_str(V(c, 1)), imp_dims_str(x));
	return 0;
}

/* ---- quantization ------------------------------------------------------------ */

/* Quantize/DequantizeLinear's scale (1) and zero point (2) against x (0):
 * per tensor (one value), or per axis (1-D, one value a slice of x). */
static int qparams(struct nctx *c)
{
	int rc;
	int64_t bs;
	if ((rc = a_int(c, "axis", 1, &c->node.axis)) || (rc = a_int(c, "block_size", 0, &bs)))
		return rc;
	if (bs)
		return bad(c, DNNQ_E_UNSUPPORTED, "blocked quantization (block_size %lld)",
		           (long long)bs);
	if ((rc = need(c, 1, DT_F32, false)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	size_t n = numel(V(c, 1));
	if (n > 1) {
		if ((rc = norm_axis(c, &c->node.axis, x->ndim, "axis")))
			return rc;
		if (x->dims[c->node.axis] != (int64_t)n || (x->batched && c->node.axis == 0))
			return bad(c, DNNQ_E_SHAPE, "scale '%.80s' has %zu values for axis %lld of [%s]",
			           iname(c, 1), n, (long long)c->node.axis, imp_dims_str(x));
	} else if (c->node.axis < -(int64_t)x->ndim || c->node.axis >= (int64_t)x->ndim) {
		c->node.axis = 0;       /* per tensor: the axis does not matter */
	} else if (c->node.axis < 0) {
		c->node.axis += x->ndim;
	}
	if ((rc = need_param(c, 1, DT_F32, false, n)))
		return rc;
	if (V(c, 2) && ((rc = need_param(c, 2, DT_Q8 | DT(DNNQ_IR_S32), false, n)) ||
	                numel(V(c, 2)) != n))
		return rc ? rc : bad(c, DNNQ_E_SHAPE, "the zero point and the scale differ in shape");
	return 0;
}

static int op_quantize(struct nctx *c)
{
	int rc;
	int64_t odt;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = qparams(c)) ||
	    (rc = a_int(c, "output_dtype", 0, &odt)))
		return rc;
	enum dnnq_ir_dtype dt = DNNQ_IR_U8;
	if (V(c, 2))
		dt = V(c, 2)->dtype;
	else if (odt && (imp_dtype((int32_t)odt, &dt) || !(DT(dt) & DT_Q8)))
		return bad(c, DNNQ_E_DTYPE, "output_dtype %s", imp_onnx_dtype_name((int32_t)odt));
	if (!(DT(dt) & DT_Q8))
		return bad(c, DNNQ_E_DTYPE, "quantizing to %s", dnnq_ir_dtype_name(dt));
	return same_out(c, V(c, 0), dt);
}

static int op_dequantize(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_Q8 | DT(DNNQ_IR_S32), false)) || (rc = qparams(c)) ||
	    (rc = same_dtype(c, 0, 2)))
		return rc;
	return same_out(c, V(c, 0), DNNQ_IR_F32);
}

static int op_dynquant(struct nctx *c)
{
	int rc = need(c, 0, DT_F32, false);
	if (rc || (rc = same_out(c, V(c, 0), DNNQ_IR_U8)) ||
	    (rc = set_out(c, 1, DNNQ_IR_F32, 0, NULL, false)))
		return rc;
	return set_out(c, 2, DNNQ_IR_U8, 0, NULL, false);
}

/* Cast of a computed integer value to float (ONNX TensorProto FLOAT = 1),
 * or of a float to bool (BOOL = 9): the registry's nonzero, a bool carried
 * as the float 0 or 1. */
int imp_cast_to(struct nctx *c, int64_t *to)
{
	static const int64_t onnx_of[] = {
		[DNNQ_IR_F32] = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
		[DNNQ_IR_U8] = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
		[DNNQ_IR_S8] = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
		[DNNQ_IR_S32] = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
		[DNNQ_IR_S64] = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
	};
	if (strcmp(S(c->np->op_type), "CastLike")) {
		if (!attr(c, "to"))
			return bad(c, DNNQ_E_FORMAT, "attribute 'to' is missing");
		return a_int(c, "to", 0, to);
	}
	int rc = need(c, 1, DT_ANY, false);
	if (!rc) {
		*to = imp_is_bool(c->m, S(c->np->input[1])) ? ONNX__TENSOR_PROTO__DATA_TYPE__BOOL
		                                            : onnx_of[V(c, 1)->dtype];
		c->nin = 1;     /* input 1 gives only its type */
	}
	return rc;
}

/* The registry kind of a computed float's cast to the integer type to
 * (engine/ops/cast_*.c), or NULL. */
static const char *cast_int_kind(int64_t to)
{
	switch (to) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return "cast_int64";
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return "cast_int32";
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:  return "cast_int8";
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return "cast_uint8";
	default: return NULL;
	}
}

static int op_cast(struct nctx *c)
{
	int64_t to;
	int rc = imp_cast_to(c, &to);
	const char *kind = rc || !V(c, 0) || V(c, 0)->dtype != DNNQ_IR_F32 ? NULL
	                 : to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? "nonzero"
	                 : cast_int_kind(to);
	if (kind) {
		/* a float to bool: the float 0 or 1; to an integer: the float
		 * holding the integer ONNX Runtime gives, marked integer */
		c->node.op = DNNQ_IR_ENGINE;
		c->node.kind = dnnq_op_find(kind)->kind;
		c->ints = to != ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
		return same_out(c, V(c, 0), DNNQ_IR_F32);
	}
	if (rc || (rc = need(c, 0, DT(DNNQ_IR_U8) | DT(DNNQ_IR_S8) | DT(DNNQ_IR_S32), false)))
		return rc;
	if (to != 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "to = %lld: only a cast to float, or to an integer "
		           "of integers (ids, arithmetic on them, bools) or of floats (to int8, "
		           "uint8, int32 or int64)", (long long)to);
	return same_out(c, V(c, 0), DNNQ_IR_F32);
}

/* ---- Constant ---------------------------------------------------------------- */

static int op_constant(struct nctx *c)
{
	const char *out = c->np->n_output ? S(c->np->output[0]) : "";
	const Onnx__AttributeProto *a;
	char what[240];
	snprintf(what, sizeof what, "%s: value", c->who);
	if ((a = attr(c, "value"))) {
		if (!a->t || !attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR, true))
			return bad(c, DNNQ_E_FORMAT, "attribute 'value' is not a tensor");
		int32_t id = imp_tensor_value(c->m, a->t, out, what);
		if (id < 0)
			return id;
		c->constant = id;
		return 0;
	}
	struct dnnq_ir_value v = { .name = (char *)out, .producer = -1 };
	const void *src = NULL;
	size_t n = 1;
	float f;
	int64_t i;
	if ((a = attr(c, "value_float"))) {
		int rc = a_float(c, "value_float", 0, &f);
		if (rc)
			return rc;
		v.dtype = DNNQ_IR_F32, src = &f;
	} else if ((a = attr(c, "value_int"))) {
		int rc = a_int(c, "value_int", 0, &i);
		if (rc)
			return rc;
		v.dtype = DNNQ_IR_S64, src = &i;
	} else if ((a = attr(c, "value_floats"))) {
		if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS, true))
			return bad(c, DNNQ_E_FORMAT, "attribute 'value_floats' is not a list of floats");
		v.dtype = DNNQ_IR_F32, v.ndim = 1, v.dims[0] = (int64_t)a->n_floats;
		n = a->n_floats, src = a->floats;
	} else if ((a = attr(c, "value_ints"))) {
		if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, true))
			return bad(c, DNNQ_E_FORMAT, "attribute 'value_ints' is not a list of ints");
		v.dtype = DNNQ_IR_S64, v.ndim = 1, v.dims[0] = (int64_t)a->n_ints;
		n = a->n_ints, src = a->ints;
	} else {
		return bad(c, DNNQ_E_UNSUPPORTED, "only value, value_float(s) and value_int(s) "
		           "Constants are supported");
	}
	size_t bytes = n * dnnq_ir_dtype_size(v.dtype);
	v.data = malloc(bytes ? bytes : 1);
	if (!v.data)
		return DNNQ_E_NOMEM;
	if (bytes)
		memcpy(v.data, src, bytes);
	int32_t id = imp_new_value(c->m, &v, true);
	if (id < 0) {
		free(v.data);
		return id;
	}
	c->constant = id;
	return 0;
}

/* ---- the registry's kinds (engine/ops/) ---------------------------------------- */

/* The registry kind named name (engine/ops/NAME.c): the node is DNNQ_IR_ENGINE. */
static int engine_kind(struct nctx *c, const char *name)
{
	const struct dnnq_op_def *d = dnnq_op_find(name);
	if (!d)
		return bad(c, DNNQ_E_UNSUPPORTED, "this build has no '%s' operator", name);
	c->node.op = DNNQ_IR_ENGINE;
	c->node.kind = d->kind;
	return 0;
}

/* A 1-D constant of int32 or int64 (input i, or absent: *n = -1) into v
 * (at most max values). */
static int const_ints(struct nctx *c, size_t i, int64_t *v, size_t max, ptrdiff_t *n)
{
	*n = -1;
	if (!V(c, i))
		return 0;
	int rc = need(c, i, DT(DNNQ_IR_S64) | DT(DNNQ_IR_S32), true);
	if (rc)
		return rc;
	const struct dnnq_ir_value *t = V(c, i);
	if (t->ndim != 1 || numel(t) > max)
		return bad(c, DNNQ_E_SHAPE, "input %zu '%.80s' [%s]: 1-D, at most %zu values expected",
		           i, iname(c, i), imp_dims_str(t), max);
	*n = (ptrdiff_t)numel(t);
	/* -2^63 is the batch's mark only where the folds put it (a
	 * file's reads as -2^63 + 1, as import-fold.c geti has it) */
	bool batch = c->m->batch[c->in[i]];
	for (ptrdiff_t k = 0; k < *n; k++) {
		v[k] = t->dtype == DNNQ_IR_S64 ? ((const int64_t *)t->data)[k]
		                               : ((const int32_t *)t->data)[k];
		if (v[k] == IMP_BATCH && !batch)
			v[k]++;
	}
	return 0;
}

/* The same from an ints attribute. */
static int attr_ints(struct nctx *c, const char *name, int64_t *v, size_t max, ptrdiff_t *n)
{
	const int64_t *a;
	int rc = a_ints(c, name, &a, n);
	if (rc || *n < 0)
		return rc;
	if ((size_t)*n > max)
		return bad(c, DNNQ_E_SHAPE, "attribute '%s' has %td values: at most %zu", name, *n, max);
	memcpy(v, a, (size_t)*n * sizeof *v);
	return 0;
}

/* ---- xfmr: transformer and reduction operators (engine/xfmr.h) ----------------- */

/* A product's A and B (inputs ia, ib) whose K (A's ka, B's kb) differ. */
static int no_chain(struct nctx *c, size_t ia, size_t ib, int64_t ka, int64_t kb)
{
	return bad(c, DNNQ_E_SHAPE, "[%s] and [%s] do not chain: K %lld vs %lld",
	           imp_dims_str(V(c, ia)), imp_dims_str(V(c, ib)), (long long)ka, (long long)kb);
}

/* A [..., M, K] by B [..., K, N] (inputs ia, ib), ranks >= 2, NumPy
 * broadcasting of the batch dims; the output of dtype dt. A activation, B
 * an activation or a constant. */
static int matmul_nd(struct nctx *c, size_t ia, size_t ib, enum dnnq_ir_dtype dt)
{
	const struct dnnq_ir_value *a = V(c, ia), *b = V(c, ib);
	if (a->data)
		return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' is a constant: only B may be "
		           "(a MatMul's constant A is taken, not a QLinearMatMul's, nor two "
		           "constants)", ia, iname(c, ia));
	if (a->ndim < 2 || b->ndim < 2)
		return bad(c, DNNQ_E_UNSUPPORTED, "ranks %u and %u: 1-D operands are not supported",
		           a->ndim, b->ndim);
	uint32_t r = a->ndim > b->ndim ? a->ndim : b->ndim;
	for (size_t k = 0; k < 2; k++) {
		const struct dnnq_ir_value *v = k ? b : a;
		if (!v->batched || (v->ndim == r && (r != 2 || k == 0)))  /* B: a constant would do */
			continue;
		/* the batch against the other's dim: more than 1 pairs each sample with
		 * its own slice of it (x [N, 3, 4] by w [1, 5, 4, 2]: sample n with w[0, n]) */
		const struct dnnq_ir_value *o = k ? a : b;
		uint32_t at = r - v->ndim;
		bool mixes = at < r - 2 && at + o->ndim >= r && o->dims[at + o->ndim - r] > 1;
		return (mixes ? batch_mixes : batch_moves)(
			c, "input %zu '%.80s' %s [%s]: the batch would not stay dim 0 of the result%s",
			k ? ib : ia, iname(c, k ? ib : ia),
			k ? "must be a constant, not a batched value" : "is batched", imp_dims_str(v),
			mixes ? ", it broadcasts against the other's" : "");
	}
	int64_t d[DNNQ_IR_MAX_DIMS], K = a->dims[a->ndim - 1], Kb = b->dims[b->ndim - 2];
	if (K != Kb)
		return no_chain(c, ia, ib, K, Kb);
	for (uint32_t i = 0; i + 2 < r; i++) {
		int64_t da = i + a->ndim >= r ? a->dims[i + a->ndim - r] : 1;
		int64_t db = i + b->ndim >= r ? b->dims[i + b->ndim - r] : 1;
		if (da != db && da != 1 && db != 1)
			return bad(c, DNNQ_E_SHAPE, "batch dims of [%s] and [%s] do not broadcast",
			           imp_dims_str(a), imp_dims_str(b));
		/* the batch (dim 0 of the batched one) against another's dim 0 > 1 */
		if (!i && (a->batched ? db : da) > 1 && a->batched != b->batched)
			return batch_mixes(c, "[%s] by [%s]: the batch would broadcast against dim 0 "
			                   "of the other", imp_dims_str(a), imp_dims_str(b));
		d[i] = da == 1 ? db : da;
	}
	d[r - 2] = a->dims[a->ndim - 2];
	d[r - 1] = b->dims[b->ndim - 1];
	return set_out(c, 0, dt, r, d, a->batched || b->batched);
}

/* MatMul that is no GEMM (dnnq_ir_matmul_is_gemm): the registry's. */
static int op_matmul_any(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need(c, 1, DT_F32, false)) ||
	    (rc = matmul_nd(c, 0, 1, DNNQ_IR_F32)))
		return rc;
	return engine_kind(c, "matmul");
}

/* QLinearMatMul that is no GEMM (dnnq_ir_matmul_is_gemm): any rank, b an
 * activation or a constant; per-tensor parameters; no bias (input 8). */
static int op_qlinearmatmul_any(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_Q8, false)) || (rc = need(c, 3, DT_Q8, false)) ||
	    (rc = need_param(c, 7, DT_Q8, true, 1)) || (rc = need_param(c, 1, DT_F32, true, 1)) ||
	    (rc = need_param(c, 2, DT_Q8, true, 1)) || (rc = need_param(c, 4, DT_F32, true, 1)) ||
	    (rc = need_param(c, 5, DT_Q8, true, 1)) || (rc = need_param(c, 6, DT_F32, true, 1)) ||
	    (rc = same_dtype(c, 0, 2)) || (rc = same_dtype(c, 3, 5)))
		return rc;
	if (V(c, 8))
		return bad(c, DNNQ_E_UNSUPPORTED, "a bias (input 8) with a product of rank other than "
		           "2 or an activation b");
	return matmul_nd(c, 0, 3, V(c, 7)->dtype);
}

static int op_transpose(struct nctx *c)
{
	int rc;
	const int64_t *v;
	ptrdiff_t n;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_ints(c, "perm", &v, &n)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	bool seen[DNNQ_IR_MAX_DIMS] = { false };
	if (n >= 0 && (size_t)n != x->ndim)
		return bad(c, DNNQ_E_SHAPE, "perm has %td values for rank %u", n, x->ndim);
	int64_t d[DNNQ_IR_MAX_DIMS], p[DNNQ_IR_MAX_DIMS];
	for (uint32_t i = 0; i < x->ndim; i++) {
		p[i] = n >= 0 ? v[i] : (int64_t)(x->ndim - 1 - i);    /* default: reversed */
		if (p[i] < 0 || p[i] >= (int64_t)x->ndim || seen[p[i]])
			return bad(c, DNNQ_E_RANGE, "perm[%u] = %lld: not a permutation of 0..%u", i,
			           (long long)p[i], x->ndim - 1);
		seen[p[i]] = true;
	}
	/* ONNX's perm on the IR's dims: the batch (ONNX's dim k in, j out) stays
	 * first in the IR, ONNX's other dims follow in order; the output's batch
	 * on a dim other than 0 is moved (for the readers of reads_moved) */
	int64_t k = x->batched ? (int64_t)moved_at(c, 0) : -1, j = 0;
	for (uint32_t i = 0, o = k >= 0; i < x->ndim; i++) {
		if (p[i] == k) {
			j = i;
			continue;
		}
		int64_t at = k < 0 || p[i] > k ? p[i] : p[i] + 1;   /* ONNX's dim p[i] in the IR */
		c->node.ints[o++] = at;
	}
	if (k >= 0)
		c->node.ints[0] = 0;
	for (uint32_t i = 0; i < x->ndim; i++)
		d[i] = x->dims[c->node.ints[i]];
	c->moved[0] = (uint8_t)j;
	c->node.nints = x->ndim;
	if ((rc = engine_kind(c, "transpose")))
		return rc;
	return set_out(c, 0, DNNQ_IR_F32, x->ndim, d, x->batched);
}

/* Einsum's equation split into its terms (spaces dropped): the operands a
 * (t[0]) and b (t[1], "" with one operand) and the output (t[2]), each of
 * at most DNNQ_IR_MAX_DIMS letters; the number of operands, 0 when it is
 * not "A,B->OUT" or "A->OUT" in letters. */
static size_t einsum_terms(const char *eq, char t[3][DNNQ_IR_MAX_DIMS + 1])
{
	size_t k = 0, n = 0, ops = 0;
	for (const char *p = eq; *p; p++) {
		if (*p == ' ')
			continue;
		if ((*p == ',' && k == 0) || (p[0] == '-' && p[1] == '>' && k < 2)) {
			t[k++][n] = 0;
			n = 0;
			ops = *p == '-' ? k : ops;
			if (*p == '-' && k == 1)
				t[k++][0] = 0;
			p += *p == '-';
		} else if (((*p | 32) >= 'a' && (*p | 32) <= 'z') && n < DNNQ_IR_MAX_DIMS) {
			t[k][n++] = *p;
		} else {
			return 0;
		}
	}
	t[k][n] = 0;
	return k == 2 ? ops : 0;
}

static void fresh(struct nctx *c, enum dnnq_ir_op op);
static int transpose_as(struct nctx *c, uint32_t ndim, const int64_t *d, const int64_t *perm,
                        bool batched, const char *suffix);
static int reshape_as(struct nctx *c, uint32_t ndim, const int64_t *dims, bool batched,
                      const char *suffix);

/* The largest product Einsum's general form makes (elements of a sample) */
#define EINSUM_MAX (1 << 22)

/* Einsum's general form, one or two operands (t: einsum_terms), no label
 * twice in a term: the labels ordered as the output's, then the summed
 * ones; each operand moved to that order (NAME:t0, NAME:t1, Transposes;
 * a constant's data at import) and given a dim of 1 for each label it
 * lacks (NAME:r0, NAME:r1, Reshapes), their product (NAME:mul, Mul,
 * broadcasting) and its sum over the summed labels (NAME, ReduceSum):
 * "bij->bji", "bij->bi", "bi,bj->bij", "bnd,nd->bn". The batch label must
 * be the first of each batched operand and of the output. */
static int einsum_general(struct nctx *c, const char *eq, char t[3][DNNQ_IR_MAX_DIMS + 1],
                          size_t nops)
{
	char lab[DNNQ_IR_MAX_DIMS + 1] = "";
	int64_t size[DNNQ_IR_MAX_DIMS];
	size_t nl = strlen(t[2]), nout = nl;
	bool batched = false;
	int rc;
	if (!nout)
		return bad(c, DNNQ_E_UNSUPPORTED, "equation '%.80s': a scalar output is not "
		           "supported", eq);
	for (size_t o = 0; o < 3; o++)
		for (size_t k = 0; t[o][k]; k++)
			if (memchr(t[o], t[o][k], k))
				return bad(c, DNNQ_E_UNSUPPORTED, "equation '%.80s': label '%c' twice in "
				           "a term (a diagonal) is not supported", eq, t[o][k]);
	memcpy(lab, t[2], nl);
	for (size_t o = 0; o < nops; o++) {
		const struct dnnq_ir_value *x = V(c, o);
		if (x->ndim != strlen(t[o]))
			return bad(c, DNNQ_E_SHAPE, "equation '%.80s': operand %zu [%s] has rank %u, its "
			           "term %zu labels", eq, o, imp_dims_str(x), x->ndim, strlen(t[o]));
		if (x->batched && t[o][0] != t[2][0])
			return batch_moves(c, "equation '%.80s': operand %zu's batch label '%c' is not "
			                   "the output's first", eq, o, t[o][0]);
		batched |= x->batched;
		for (size_t k = 0; t[o][k]; k++) {
			if (!memchr(lab, t[o][k], nl)) {
				if (nl == DNNQ_IR_MAX_DIMS)
					return bad(c, DNNQ_E_UNSUPPORTED, "equation '%.80s': more than %d "
					           "labels", eq, DNNQ_IR_MAX_DIMS);
				size[nl] = x->dims[k];
				lab[nl++] = t[o][k];
			}
		}
	}
	for (size_t j = 0; j < nl; j++) {
		size_t seen = 0;
		for (size_t o = 0; o < nops; o++) {
			const char *at = strchr(t[o], lab[j]);
			if (!at)
				continue;
			int64_t n = V(c, o)->dims[at - t[o]];
			if (seen++ && n != size[j])
				return bad(c, DNNQ_E_SHAPE, "equation '%.80s': label '%c' is %lld and %lld",
				           eq, lab[j], (long long)size[j], (long long)n);
			size[j] = n;
		}
		if (!seen)
			return bad(c, DNNQ_E_SHAPE, "equation '%.80s': output label '%c' is in no "
			           "operand", eq, lab[j]);
	}
	for (size_t o = 0; batched && o < nops; o++)
		if (!V(c, o)->batched && strchr(t[o], t[2][0]))
			return batch_moves(c, "equation '%.80s': operand %zu has the batch label '%c' "
			                   "and is not batched", eq, o, t[2][0]);
	size_t total = 1;
	for (size_t j = 0; j < nl; j++)
		if ((total *= (size_t)size[j]) > EINSUM_MAX)
			return bad(c, DNNQ_E_UNSUPPORTED, "equation '%.80s': its product would have "
			           "more than %d elements", eq, EINSUM_MAX);
	c->whole = ++c->m->wholes;
	int32_t in[2] = { c->in[0], c->in[1] };
	for (size_t o = 0; o < nops; o++) {
		const struct dnnq_ir_value *x = &c->m->ir->values[in[o]];
		uint32_t r = x->ndim;
		bool xb = x->batched, moved = false;
		int64_t perm[DNNQ_IR_MAX_DIMS], d[DNNQ_IR_MAX_DIMS], xd[DNNQ_IR_MAX_DIMS];
		memcpy(xd, x->dims, r * sizeof *xd);
		for (size_t j = 0, q = 0; j < nl; j++) {
			const char *at = strchr(t[o], lab[j]);
			d[j] = at ? size[j] : 1;
			if (at) {
				moved |= (int64_t)q != at - t[o];
				perm[q++] = at - t[o];
			}
		}
		if (x->data) {          /* moved here */
			size_t n = numel(x), st[DNNQ_IR_MAX_DIMS];
			float *f;
			if ((rc = imp_const_alloc(c->m, n * sizeof *f, c->who, (void **)&f)))
				return rc;
			for (size_t k = r, acc = 1; k-- > 0; acc *= (size_t)xd[k])
				st[k] = acc;
			for (size_t e = 0; e < n; e++) {
				size_t src = 0, rest = e;
				for (size_t k = r; k-- > 0; rest /= (size_t)xd[perm[k]])
					src += rest % (size_t)xd[perm[k]] * st[perm[k]];
				f[e] = ((const float *)x->data)[src];
			}
			struct dnnq_ir_value v = { .name = c->name, .dtype = DNNQ_IR_F32,
			                           .ndim = (uint32_t)nl, .producer = -1 };
			memcpy(v.dims, d, nl * sizeof *d);
			if ((in[o] = new_constant(c, &v, o ? ":r1" : ":r0", f)) < 0)
				return in[o];
			continue;
		}
		c->in[0] = in[o];
		c->nin = 1;
		if (nops == 1 && nl == nout)  /* a permutation: c's node */
			return moved ? transpose_as(c, r, xd, perm, xb, NULL) : pass_through(c);
		if ((moved && (rc = transpose_as(c, r, xd, perm, xb, o ? ":t1" : ":t0"))) ||
		    (nl != r && (rc = reshape_as(c, (uint32_t)nl, d, xb, o ? ":r1" : ":r0"))))
			return rc;
		in[o] = c->in[0];
	}
	c->in[0] = in[0];
	if (nops == 2) {
		fresh(c, DNNQ_IR_MUL);
		c->nin = 2;
		c->in[1] = in[1];
		if ((rc = op_binary(c)) || (nl > nout && (rc = link_as(c, ":mul", 2))))
			return rc;
	}
	if (nl == nout)     /* one constant: the moved copy is the output */
		return nops == 1 ? pass_through(c) : 0;
	fresh(c, DNNQ_IR_ENGINE);
	if ((rc = engine_kind(c, "reduce_sum")))
		return rc;
	for (size_t j = nout; j < nl; j++)
		c->node.ints[j - nout] = (int64_t)j;
	c->node.nints = (uint32_t)(nl - nout);
	c->node.keepdims = false;
	c->nin = 1;
	return set_out(c, 0, DNNQ_IR_F32, (uint32_t)nout, size, batched);
}

/* The f32 constant x [..., R, C] with its last two dims swapped, a new
 * constant NAME<suffix>: its id, or a negative status. */
static int32_t const_swapped(struct nctx *c, const struct dnnq_ir_value *x, const char *suffix)
{
	uint32_t r = x->ndim;
	size_t n = numel(x), rows = (size_t)x->dims[r - 2], cols = (size_t)x->dims[r - 1];
	struct dnnq_ir_value tv = { .name = c->name, .dtype = DNNQ_IR_F32, .ndim = r,
	                            .producer = -1 };
	memcpy(tv.dims, x->dims, r * sizeof *tv.dims);
	tv.dims[r - 2] = (int64_t)cols;
	tv.dims[r - 1] = (int64_t)rows;
	float *f;
	int rc = imp_const_alloc(c->m, n * sizeof *f, c->who, (void **)&f);
	if (rc)
		return rc;
	for (size_t e = 0; e < n; e++) {
		size_t m = e / (rows * cols), q = e % (rows * cols);
		f[m * rows * cols + q % cols * rows + q / cols] = ((const float *)x->data)[e];
	}
	return new_constant(c, &tv, suffix, f);
}

/* Einsum of the batched matrix product family (MaxViT's attention: "B G H
 * I D, B G H J D -> B G H I J", "B G H I J, B G H J D -> B G H I D"): two
 * operands of the output's rank r >= 2 whose first r - 2 labels are the
 * output's, in order, or b of rank 2 (a Linear written as an Einsum:
 * "bcij,jk->bcik", b its weight, broadcast as MatMul does); the output's
 * last two are i of a and j of b, a and b summing their other one. An
 * operand whose pair is the other way round is transposed first (NAME:t0,
 * NAME:t1; a constant's data at import), then it is MatMul. */
static int op_einsum(struct nctx *c)
{
	char eq[160], t[3][DNNQ_IR_MAX_DIMS + 1];
	int rc = a_str(c, "equation", "", eq, sizeof eq);
	for (size_t o = 0; !rc && o < c->nin; o++)
		rc = need(c, o, DT_F32, false);
	if (rc)
		return rc;
	size_t nops = c->nin <= 2 ? einsum_terms(eq, t) : 0;
	if (nops && nops != c->nin)     /* V(c, 1) below is NULL for one input */
		return bad(c, DNNQ_E_FORMAT, "equation '%.80s' has %zu operands, the node %zu "
		           "inputs", eq, nops, c->nin);
	size_t r = nops == 2 ? strlen(t[2]) : 0, rb = r ? strlen(t[1]) : 0;
	bool ok = r >= 2 && strlen(t[0]) == r && (rb == r || rb == 2) && V(c, 0)->ndim == r &&
	          V(c, 1)->ndim == rb && !strncmp(t[0], t[2], r - 2) &&
	          !strncmp(t[1], t[2], rb - 2);
	const char *b2 = t[1] + (ok ? rb - 2 : 0);      /* b's last two labels */
	char i = ok ? t[2][r - 2] : 0, j = ok ? t[2][r - 1] : 0;
	bool trans[2] = { ok && t[0][r - 1] == i, ok && b2[0] == j };
	char k = trans[0] ? t[0][r - 2] : ok ? t[0][r - 1] : 0;
	ok = ok && i != j && k != i && k != j && t[0][r - 2 + trans[0]] == i &&
	     b2[1 - trans[1]] == j && b2[trans[1]] == k &&
	     !memchr(t[2], k, r - 2) && !memchr(t[2], i, r - 2) && !memchr(t[2], j, r - 2);
	if (!ok && nops)
		return einsum_general(c, eq, t, nops);
	if (!ok)
		return bad(c, DNNQ_E_UNSUPPORTED, "unsupported operator (of Einsum's equations only "
		           "one or two operands, explicit \"->\", letters, are supported): equation "
		           "'%.80s' on %zu operands", eq, c->nin);
	int32_t in[2] = { c->in[0], c->in[1] };
	for (size_t o = 0; o < 2; o++) {
		if (!trans[o])
			continue;
		const struct dnnq_ir_value *x = V(c, o);
		uint32_t ro = x->ndim;
		if (x->batched && ro == 2)
			return batch_moves(c, "operand %zu's labels '%s': the batch (dim 0) would move",
			                   o, t[o]);
		int64_t d[DNNQ_IR_MAX_DIMS];
		for (uint32_t a = 0; a < ro; a++) {
			c->node.ints[a] = a < ro - 2 ? a : (int64_t)(2 * ro - 3 - a);
			d[a] = x->dims[c->node.ints[a]];
		}
		if (x->data) {          /* a weight: transposed here */
			int32_t id = const_swapped(c, x, o ? ":t1" : ":t0");
			if (id < 0)
				return id;
			in[o] = id;
			continue;
		}
		c->node.nints = ro;
		c->in[0] = in[o];
		if ((rc = engine_kind(c, "transpose")) ||
		    (rc = set_out(c, 0, DNNQ_IR_F32, ro, d, x->batched)) ||
		    (rc = link_as(c, o ? ":t1" : ":t0", 1)))
			return rc;
		in[o] = c->in[0];
		c->in[0] = in[0];
		c->in[1] = in[1];
	}
	c->node.nints = 0;
	c->nin = 2;
	c->in[0] = in[0];
	c->in[1] = in[1];
	return op_matmul(c);
}

/* The reductions' axes: the attribute, or input 1 (ReduceSum from opset 13,
 * the others from 18); empty: every axis, or none with
 * noop_with_empty_axes. Normalised, ascending, unique into node.ints. */
/* The n axes ax of x (negative from the end; each once) as on[axis]. */
static int axes_on(struct nctx *c, const struct dnnq_ir_value *x, int64_t *ax, size_t n,
                   bool *on)
{
	int rc;
	for (size_t i = 0; i < n; i++) {
		if ((rc = norm_axis(c, &ax[i], x->ndim, "axis")))
			return rc;
		if (on[ax[i]])
			return bad(c, DNNQ_E_SHAPE, "axis %lld given twice", (long long)ax[i]);
		on[ax[i]] = true;
	}
	return 0;
}

static int reduce_axes(struct nctx *c, const struct dnnq_ir_value *x, bool *noop)
{
	int64_t ax[DNNQ_IR_MAX_DIMS], noop_attr;
	const char *op = S(c->np->op_type);
	bool input = c->m->opset >= (strcmp(op, "ReduceSum") ? 18 : 13);
	ptrdiff_t k;
	int rc = a_int(c, "noop_with_empty_axes", 0, &noop_attr);
	if (rc || (rc = input ? const_ints(c, 1, ax, x->ndim, &k)
	                      : attr_ints(c, "axes", ax, x->ndim, &k)))
		return rc;
	size_t n = k > 0 ? (size_t)k : 0;
	if (noop_attr != 0 && noop_attr != 1)
		return bad(c, DNNQ_E_RANGE, "noop_with_empty_axes = %lld: 0 or 1 expected",
		           (long long)noop_attr);
	if (!input && c->nin > 1)
		return bad(c, DNNQ_E_FORMAT, "%zu inputs: axes is an input from opset %d on, an "
		           "attribute before", c->nin, strcmp(op, "ReduceSum") ? 18 : 13);
	/* not read in this opset: reducing every axis instead would be wrong */
	if (input && attr(c, "axes"))
		return bad(c, DNNQ_E_FORMAT, "attribute 'axes' in opset %lld: axes is an input from "
		           "opset %d on", (long long)c->m->opset, strcmp(op, "ReduceSum") ? 18 : 13);
	*noop = n == 0 && noop_attr;
	bool on[DNNQ_IR_MAX_DIMS] = { false };
	if ((rc = axes_on(c, x, ax, n, on)))
		return rc;
	c->node.nints = 0;
	for (uint32_t i = 0; i < x->ndim; i++)
		if (on[i] || (n == 0 && !*noop))
			c->node.ints[c->node.nints++] = i;
	if (x->batched && c->node.nints && c->node.ints[0] == 0)
		return batch_mixes(c, "a reduction across the batch (axis 0)");
	return 0;
}

/* ReduceMean, ReduceSum, ReduceMax, ReduceProd (fp32: the registry's
 * reduce_prod has no int8 kernel); ReduceSumSquare and ReduceL2 (F.normalize's
 * norm, a face embedding's last step) as Mul, ReduceSum and Sqrt; ReduceMin
 * as Neg, ReduceMax and Neg. */
static int op_reduce(struct nctx *c)
{
	int rc;
	int64_t keep;
	bool noop = false;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_int(c, "keepdims", 1, &keep)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (keep != 0 && keep != 1)
		return bad(c, DNNQ_E_RANGE, "keepdims = %lld: 0 or 1 expected", (long long)keep);
	if ((rc = reduce_axes(c, x, &noop)))
		return rc;
	if (noop || !c->node.nints)
		return pass_through(c);
	const char *op = S(c->np->op_type);
	bool l2 = !strcmp(op, "ReduceL2"), square = l2 || !strcmp(op, "ReduceSumSquare");
	bool min = !strcmp(op, "ReduceMin");
	if (square || min) {
		/* x * x (NAME:square) first, then its ReduceSum; ReduceL2's Sqrt
		 * last. ReduceMin: -ReduceMax(-x), Neg (NAME:neg) first and last */
		struct dnnq_ir_node red = c->node;
		c->node.nints = 0;
		c->node.op = DNNQ_IR_MUL;
		c->nin = 2;
		c->in[1] = c->in[0];
		if (min) {
			c->nin = 1;
			rc = engine_kind(c, "neg");
		}
		if ((rc = rc ? rc : min ? same_out(c, x, DNNQ_IR_F32) : op_binary(c)) ||
		    (rc = link_as(c, min ? ":neg" : ":square", c->nin)))
			return rc;
		c->node = red;
		x = V(c, 0);
	}
	if ((rc = engine_kind(c, !strcmp(op, "ReduceMean") ? "reduce_mean" :
	                         !strcmp(op, "ReduceMax") || min ? "reduce_max" :
	                         !strcmp(op, "ReduceProd") ? "reduce_prod" : "reduce_sum")))
		return rc;
	c->node.keepdims = keep;
	c->nin = 1;
	int64_t d[DNNQ_IR_MAX_DIMS];
	uint32_t r = 0;
	for (uint32_t i = 0, k = 0; i < x->ndim; i++) {
		bool red = k < c->node.nints && c->node.ints[k] == i;
		k += red;
		if (!red || keep)
			d[r++] = red ? 1 : x->dims[i];
	}
	if ((rc = set_out(c, 0, DNNQ_IR_F32, r, d, x->batched)) || !(l2 || min))
		return rc;
	if ((rc = link_as(c, min ? ":max" : ":sum", 1)) ||
	    (rc = engine_kind(c, min ? "neg" : "sqrt")))
		return rc;
	c->node.nints = 0;
	c->node.keepdims = 0;
	return same_out(c, V(c, 0), DNNQ_IR_F32);
}

/* Softmax's checks and axis (opset < 13: the 2-D coercion, supported when
 * it is the last axis), for LogSoftmax and Hardmax too. */
static int op_softmax(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) ||
	    (rc = a_int(c, "axis", c->m->opset < 13 ? 1 : -1, &c->node.axis)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (x->ndim == 0)
		return bad(c, DNNQ_E_SHAPE, "a scalar input");
	if ((rc = norm_axis(c, &c->node.axis, x->ndim, "axis")))
		return rc;
	if (x->batched && c->node.axis == 0)
		return batch_mixes(c, "softmax across the batch (axis 0)");
	if (c->m->opset < 13)
		for (uint32_t i = (uint32_t)c->node.axis + 1; i < x->ndim; i++)
			if (x->dims[i] != 1)
				return bad(c, DNNQ_E_UNSUPPORTED, "opset %lld %s coerces [%s] to 2-D at "
				           "axis %lld: supported only when that is the last axis",
				           (long long)c->m->opset, S(c->np->op_type), imp_dims_str(x),
				           (long long)c->node.axis);
	return same_out(c, x, DNNQ_IR_F32);
}

/* ArgMax and ArgMin: axis, keepdims, select_last_index (opset 12; the
 * registry's argmax / argmin, op bits engine/argmax.h). The indices are
 * int32 (ONNX's int64: docs/onnx.md); across the batch the import fixes it
 * to 1. */
static int op_arg(struct nctx *c)
{
	int rc;
	int64_t keep, last;
	bool min = !strcmp(S(c->np->op_type), "ArgMin");
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_int(c, "axis", 0, &c->node.axis)) ||
	    (rc = a_int(c, "keepdims", 1, &keep)) ||
	    (rc = a_int(c, "select_last_index", 0, &last)) ||
	    (rc = engine_kind(c, min ? "argmin" : "argmax")))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (keep != 0 && keep != 1)
		return bad(c, DNNQ_E_RANGE, "keepdims = %lld: 0 or 1 expected", (long long)keep);
	if (last != 0 && last != 1)
		return bad(c, DNNQ_E_RANGE, "select_last_index = %lld: 0 or 1 expected",
		           (long long)last);
	if (x->ndim == 0)
		return bad(c, DNNQ_E_SHAPE, "a scalar input");
	if ((rc = norm_axis(c, &c->node.axis, x->ndim, "axis")))
		return rc;
	if (x->batched && c->node.axis == 0)
		return batch_mixes(c, "%s across the batch (axis 0)", S(c->np->op_type));
	c->node.keepdims = keep;
	c->node.mode = (uint32_t)last;
	int64_t d[DNNQ_IR_MAX_DIMS];
	uint32_t r = 0;
	for (uint32_t i = 0; i < x->ndim; i++)
		if (i != c->node.axis || keep)
			d[r++] = i == c->node.axis ? 1 : x->dims[i];
	return set_out(c, 0, DNNQ_IR_S32, r, d, x->batched);
}

/* TopK: k (an attribute before opset 10, a constant input from 10), axis,
 * largest, sorted (11); the registry's topk (the values) and topk_indices
 * (int32 indices, engine/topk.h). sorted 0 leaves the order open: the
 * sorted one is given. Across the batch the import fixes it to 1. */
static int op_topk(struct nctx *c)
{
	int rc;
	int64_t k[1], largest, sorted;
	ptrdiff_t nk = 1;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_int(c, "axis", -1, &c->node.axis)) ||
	    (rc = a_int(c, "largest", 1, &largest)) || (rc = a_int(c, "sorted", 1, &sorted)) ||
	    (rc = c->m->opset < 10 ? a_int(c, "k", -1, k) : const_ints(c, 1, k, 1, &nk)) ||
	    (rc = engine_kind(c, "topk")))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (largest != 0 && largest != 1)
		return bad(c, DNNQ_E_RANGE, "largest = %lld: 0 or 1 expected", (long long)largest);
	if (sorted != 0 && sorted != 1)
		return bad(c, DNNQ_E_RANGE, "sorted = %lld: 0 or 1 expected", (long long)sorted);
	if (nk != 1)
		return bad(c, DNNQ_E_FORMAT, "input 1 'K': one value expected, %td given", nk);
	if (x->ndim == 0)
		return bad(c, DNNQ_E_SHAPE, "a scalar input");
	if ((rc = norm_axis(c, &c->node.axis, x->ndim, "axis")))
		return rc;
	if (x->batched && c->node.axis == 0)
		return batch_mixes(c, "TopK across the batch (axis 0)");
	int64_t len = x->dims[c->node.axis];
	if (k[0] < 1 || k[0] > len)
		return bad(c, DNNQ_E_RANGE, "k = %lld: want 1..%lld (the length of axis %lld)",
		           (long long)k[0], (long long)len, (long long)c->node.axis);
	c->node.mode = largest ? 0 : DNNQ_TOPK_SMALLEST;
	c->node.k = k[0];
	int64_t d[DNNQ_IR_MAX_DIMS];
	memcpy(d, x->dims, sizeof d);
	d[c->node.axis] = k[0];
	if ((rc = set_out(c, 0, DNNQ_IR_F32, x->ndim, d, x->batched)))
		return rc;
	return set_out(c, 1, DNNQ_IR_S32, x->ndim, d, x->batched);
}

static int op_logsoftmax(struct nctx *c)
{
	int rc = op_softmax(c);
	return rc ? rc : engine_kind(c, !strcmp(S(c->np->op_type), "Hardmax") ? "hardmax"
	                                                                        : "logsoftmax");
}

/* LayerNormalization (opset 17): X, Scale, [B] (constants of the
 * normalized shape X.dims[axis:], or that with leading 1s dropped); only
 * output Y; stash_type 1 (float). A Scale left empty ("") is ones of the
 * normalized shape (NAME:ones): torch 1.13 exports F.layer_norm without a
 * weight, and nn.LayerNorm(elementwise_affine=False), so at opset 17,
 * which ONNX's schema refuses (ONNX Runtime does not load the model); no
 * scale is what the model means. */
static int op_layernorm(struct nctx *c)
{
	int rc;
	int64_t stash;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_int(c, "axis", -1, &c->node.axis)) ||
	    (rc = a_float(c, "epsilon", 1e-5f, &c->node.epsilon)) ||
	    (rc = a_int(c, "stash_type", 1, &stash)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (stash != 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "stash_type %lld: only 1 (float)", (long long)stash);
	if (!(c->node.epsilon >= 0) || !isfinite(c->node.epsilon))
		return bad(c, DNNQ_E_RANGE, "epsilon %g: want a finite value >= 0", c->node.epsilon);
	if (x->ndim == 0 || (rc = norm_axis(c, &c->node.axis, x->ndim, "axis")))
		return rc ? rc : bad(c, DNNQ_E_SHAPE, "a scalar input");
	if (!V(c, 1) && !*iname(c, 1) && c->nin > 1) {
		struct dnnq_ir_value v = { .name = c->name, .dtype = DNNQ_IR_F32,
		                           .ndim = x->ndim - (uint32_t)c->node.axis, .producer = -1 };
		size_t n = 1;
		for (uint32_t i = 0; i < v.ndim; i++)
			n *= (size_t)(v.dims[i] = x->dims[(uint32_t)c->node.axis + i]);
		float *ones;
		if ((rc = imp_const_alloc(c->m, n * sizeof *ones, c->who, (void **)&ones)))
			return rc;
		for (size_t i = 0; i < n; i++)
			ones[i] = 1;
		int32_t id = new_constant(c, &v, ":ones", ones);
		if (id < 0)
			return id;
		c->in[1] = id;
	}
	if ((rc = need_weight(c, 1, DT_F32)))
		return rc;
	x = V(c, 0);
	if (x->batched && c->node.axis == 0)
		return batch_mixes(c, "normalization across the batch (axis 0)");
	size_t norm = 1;
	for (uint32_t i = (uint32_t)c->node.axis; i < x->ndim; i++)
		norm *= (size_t)x->dims[i];
	for (size_t k = 1; k < 3; k++) {
		const struct dnnq_ir_value *w = V(c, k);
		if (!w)
			continue;
		if (k == 2 && (rc = need_weight(c, 2, DT_F32)))
			return rc;
		bool ok = w->ndim <= x->ndim - (uint32_t)c->node.axis;
		for (uint32_t i = 0; ok && i < w->ndim; i++)
			ok = w->dims[w->ndim - 1 - i] == x->dims[x->ndim - 1 - i];
		if (!ok || numel(w) != norm)
			return bad(c, DNNQ_E_SHAPE, "input %zu '%.80s' [%s] is not the normalized shape",
			           k, iname(c, k), imp_dims_str(w));
	}
	return (rc = engine_kind(c, "layernorm")) ? rc : same_out(c, x, DNNQ_IR_F32);
}

/* LRN: X [N, C, D1, ...] normalized across C (the registry's lrn, fp32);
 * size required (ONNX gives it no default), alpha 1e-4, beta 0.75, bias 1
 * (kept in node.epsilon). */
static int op_lrn(struct nctx *c)
{
	int rc;
	int64_t size;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_int(c, "size", 0, &size)) ||
	    (rc = a_float(c, "alpha", 1e-4f, &c->node.alpha)) ||
	    (rc = a_float(c, "beta", 0.75f, &c->node.beta)) ||
	    (rc = a_float(c, "bias", 1.0f, &c->node.epsilon)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (x->ndim < 3)
		return bad(c, DNNQ_E_SHAPE, "input 0 '%.80s' [%s]: [N, C, D1, ...] expected",
		           iname(c, 0), imp_dims_str(x));
	if (!attr(c, "size"))
		return bad(c, DNNQ_E_RANGE, "size missing: LRN requires it (the channels summed)");
	if (size < 1 || size > 65536)
		return bad(c, DNNQ_E_RANGE, "size %lld: want 1..65536 (the channels summed)",
		           (long long)size);
	if (!isfinite(c->node.alpha) || !isfinite(c->node.beta) || !isfinite(c->node.epsilon))
		return bad(c, DNNQ_E_RANGE, "alpha %g, beta %g, bias %g: finite values expected",
		           c->node.alpha, c->node.beta, c->node.epsilon);
	c->node.k = size;
	c->node.axis = 1;
	return (rc = engine_kind(c, "lrn")) ? rc : same_out(c, x, DNNQ_IR_F32);
}

/* The f32 constant NAME<suffix> of rank r and dims, data's values; its
 * id, or < 0. */
static int32_t affine_constant(struct nctx *c, const float *data, uint32_t r,
                               const int64_t *dims, const char *suffix)
{
	struct dnnq_ir_value v = { .name = c->name, .dtype = DNNQ_IR_F32, .ndim = r,
	                           .producer = -1 };
	memcpy(v.dims, dims, r * sizeof *dims);
	size_t n = numel(&v);
	float *f = malloc(n * sizeof *f);
	if (!f)
		return DNNQ_E_NOMEM;
	memcpy(f, data, n * sizeof *f);
	return new_constant(c, &v, suffix, f);
}

/* InstanceNormalization, X [N, C, D1, ...] with constant scale and B of
 * [C]: the LayerNormalization over D1... without a scale (NAME:norm; the
 * engine's unit scale, nothing stored: a GroupNorm of one group normalizes
 * C x L values), then Mul by scale [C, 1, ...] (NAME:scaled) and Add of B,
 * each left out when it changes nothing (torch's GroupNorm exports scale 1
 * and B 0 over [N, G, L], its affine after the Reshape back). */
static int op_instancenorm(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need(c, 1, DT_F32, true)) ||
	    (rc = need(c, 2, DT_F32, true)) ||
	    (rc = a_float(c, "epsilon", 1e-5f, &c->node.epsilon)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (x->ndim < 3)
		return bad(c, DNNQ_E_SHAPE, "input 0 '%.80s' [%s]: [N, C, D1, ...] expected",
		           iname(c, 0), imp_dims_str(x));
	if (!(c->node.epsilon >= 0) || !isfinite(c->node.epsilon))
		return bad(c, DNNQ_E_RANGE, "epsilon %g: want a finite value >= 0", c->node.epsilon);
	int64_t C = x->dims[1], chan[DNNQ_IR_MAX_DIMS] = { C };
	uint32_t r = x->ndim;
	for (uint32_t i = 1; i < r - 1; i++)
		chan[i] = 1;
	for (size_t k = 1; k < 3; k++)
		if (V(c, k)->ndim != 1 || V(c, k)->dims[0] != C)
			return bad(c, DNNQ_E_SHAPE, "input %zu '%.80s' [%s]: [%lld] (the channels) "
			           "expected", k, iname(c, k), imp_dims_str(V(c, k)), (long long)C);
	/* the data stay where they are when values are added; the values move */
	const float *sd = V(c, 1)->data, *bd = V(c, 2)->data;
	bool scaled = false, biased = false;
	for (int64_t i = 0; i < C; i++) {
		scaled |= sd[i] != 1.0f;
		biased |= bd[i] != 0.0f;
	}
	c->node.axis = 2;
	c->nin = 1;
	if ((rc = engine_kind(c, "layernorm")) || (rc = same_out(c, V(c, 0), DNNQ_IR_F32)) ||
	    (!scaled && !biased) || (rc = link_as(c, ":norm", 1)))
		return rc;
	return affine_const(c, scaled ? sd : NULL, biased ? bd : NULL, r - 1, chan);
}

/* GroupNormalization (opset 18; 21, torch 2's dynamo export of nn.GroupNorm),
 * X [N, C, D1, ...] (or [N, C]) in num_groups groups of C / G channels, each group
 * normalized over its channels and D1...: a Reshape to [N, G, C / G * D1 *
 * ...] (NAME:groups), the registry's layernorm over the last axis without a
 * scale (NAME:norm), the Reshape back (NAME:ungrouped), then the constant
 * scale and bias per channel as InstanceNormalization's (affine_const). Opset
 * 18's scale and bias hold one value a group (ONNX's function repeats it over
 * the group's channels: they are repeated here), opset 21's one a channel.
 * torch 1.13 exports GroupNorm as that Reshape, an InstanceNormalization of
 * scale 1 and bias 0 and the Reshape back: the same nodes. */
static int op_groupnorm(struct nctx *c)
{
	int rc;
	int64_t G, stash;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need(c, 1, DT_F32, true)) ||
	    (rc = need(c, 2, DT_F32, true)) || (rc = a_int(c, "num_groups", 0, &G)) ||
	    (rc = a_int(c, "stash_type", 1, &stash)) ||
	    (rc = a_float(c, "epsilon", 1e-5f, &c->node.epsilon)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	const bool batched = x->batched;
	const uint32_t r = x->ndim;
	/* no elements: the groups' size below divides by N (a constant of N 0
	 * was a division by zero) */
	if (r < 2 || !numel(x))
		return bad(c, DNNQ_E_SHAPE, "input 0 '%.80s' [%s]: [N, C, ...] of some elements "
		           "expected", iname(c, 0), imp_dims_str(x));
	const int64_t C = x->dims[1], per = c->m->opset < 21 ? G : C;
	if (!attr(c, "num_groups"))
		return bad(c, DNNQ_E_FORMAT, "attribute 'num_groups' is missing");
	if (G < 1 || C % G)
		return bad(c, DNNQ_E_RANGE, "num_groups %lld: want a divisor of the %lld channels",
		           (long long)G, (long long)C);
	if (stash != 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "stash_type %lld: only 1 (float)", (long long)stash);
	if (!(c->node.epsilon >= 0) || !isfinite(c->node.epsilon))
		return bad(c, DNNQ_E_RANGE, "epsilon %g: want a finite value >= 0", c->node.epsilon);
	for (size_t k = 1; k < 3; k++)
		if (V(c, k)->ndim != 1 || V(c, k)->dims[0] != per)
			return bad(c, DNNQ_E_SHAPE, "input %zu '%.80s' [%s]: [%lld] (%s, opset %lld) "
			           "expected", k, iname(c, k), imp_dims_str(V(c, k)), (long long)per,
			           per == C ? "the channels" : "the groups", (long long)c->m->opset);
	int64_t xd[DNNQ_IR_MAX_DIMS], gd[3] = { x->dims[0], G, numel(x) / (size_t)x->dims[0] / G },
	        chan[DNNQ_IR_MAX_DIMS] = { C };
	memcpy(xd, x->dims, r * sizeof *xd);
	for (uint32_t i = 1; i < r - 1; i++)
		chan[i] = 1;
	/* per channel (data stay where they are when values are added) */
	const float *sd = V(c, 1)->data, *bd = V(c, 2)->data;
	float *f = malloc(2 * (size_t)C * sizeof *f);
	if (!f)
		return DNNQ_E_NOMEM;
	bool scaled = false, biased = false;
	for (int64_t i = 0; i < C; i++) {
		f[i] = sd[i * per / C];
		f[C + i] = bd[i * per / C];
		scaled |= f[i] != 1.0f;
		biased |= f[C + i] != 0.0f;
	}
	c->node.op = DNNQ_IR_RESHAPE;
	c->nin = 1;
	if (!(rc = set_out(c, 0, DNNQ_IR_F32, 3, gd, batched)) &&
	    !(rc = link_as(c, ":groups", 1)) && !(rc = engine_kind(c, "layernorm"))) {
		c->node.axis = 2;
		if (!(rc = set_out(c, 0, DNNQ_IR_F32, 3, gd, batched)) &&
		    !(rc = link_as(c, ":norm", 1))) {
			c->node.op = DNNQ_IR_RESHAPE;
			c->node.kind = 0;
			c->node.axis = 0;
			rc = set_out(c, 0, DNNQ_IR_F32, r, xd, batched);
			if (!rc && (scaled || biased) && !(rc = link_as(c, ":ungrouped", 1)))
				rc = affine_const(c, scaled ? f : NULL, biased ? f + C : NULL, r - 1, chan);
		}
	}
	free(f);
	return rc;
}

/* y = x * scale + bias with constants scale and bias of [dims] (r of them,
 * broadcasting against x's trailing dims): Mul (NAME:scaled when the Add
 * follows) and Add, either left out where NULL (both: x passes through). */
static int affine_const(struct nctx *c, const float *scale, const float *bias, uint32_t r,
                        const int64_t *dims)
{
	if (!scale && !bias)
		return pass_through(c);
	/* dims may be a value's (a BatchNormalization's scale): the first
	 * constant can move the values */
	int64_t d[DNNQ_IR_MAX_DIMS];
	memcpy(d, dims, r * sizeof *d);
	int32_t sid = scale ? affine_constant(c, scale, r, d, ":gamma") : -1;
	if (scale && sid < 0)
		return sid;
	int32_t bid = bias ? affine_constant(c, bias, r, d, ":beta") : -1;
	if (bias && bid < 0)
		return bid;
	int rc;
	c->nin = 2;
	if (scale) {
		c->node.op = DNNQ_IR_MUL;
		c->in[1] = sid;
		if ((rc = op_binary(c)) || !bias)
			return rc;
		if ((rc = link_as(c, ":scaled", 2)))
			return rc;
	}
	c->node.op = DNNQ_IR_ADD;
	c->in[1] = bid;
	return op_binary(c);
}

/* ImageScaler (an experimental operator of ONNX 1.2-1.4, opsets 1-9, that
 * the ONNX Model Zoo's Tiny YOLOv2 opens with): y = scale * x + bias[c] of
 * X [N, C, H, W], scale and bias as [C, 1, 1] constants. */
static int op_imagescaler(struct nctx *c)
{
	int rc;
	float scale;
	const Onnx__AttributeProto *a;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_float(c, "scale", 1.0f, &scale)) ||
	    (rc = typed_attr(c, "bias", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS,
	                     "a list of floats", &a)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (x->ndim != 4)
		return bad(c, DNNQ_E_SHAPE, "input 0 '%.80s' [%s]: [N, C, H, W] expected",
		           iname(c, 0), imp_dims_str(x));
	int64_t C = x->dims[1], chan[3] = { C, 1, 1 };
	if (a && a->n_floats != (size_t)C)
		return bad(c, DNNQ_E_SHAPE, "attribute 'bias': %zu values for %lld channels",
		           a->n_floats, (long long)C);
	if (!isfinite(scale))
		return bad(c, DNNQ_E_RANGE, "attribute 'scale' = %g: want a finite value", scale);
	bool biased = false;
	for (size_t i = 0; a && i < a->n_floats; i++) {
		if (!isfinite(a->floats[i]))
			return bad(c, DNNQ_E_RANGE, "attribute 'bias'[%zu] = %g: want a finite value",
			           i, a->floats[i]);
		biased |= a->floats[i] != 0.0f;
	}
	float *sd = scale != 1.0f ? malloc((size_t)C * sizeof *sd) : NULL;
	if (scale != 1.0f && !sd)
		return DNNQ_E_NOMEM;
	for (int64_t i = 0; sd && i < C; i++)
		sd[i] = scale;
	rc = affine_const(c, sd, biased ? a->floats : NULL, 3, chan);
	free(sd);
	return rc;
}

/* The reduction kind (reduce_mean, reduce_sum) of c's input 0 over axes
 * on[] (keepdims), linked as NAME<suffix> unless suffix is NULL (the ONNX
 * node's own output); node restored to base first. */
static int reduce_step(struct nctx *c, const struct dnnq_ir_node *base, const char *kind,
                       const bool *on, const char *suffix)
{
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t d[DNNQ_IR_MAX_DIMS];
	int rc;
	c->node = *base;
	c->nin = 1;
	if ((rc = engine_kind(c, kind)))
		return rc;
	c->node.keepdims = true;
	for (uint32_t i = 0; i < x->ndim; i++) {
		d[i] = on[i] ? 1 : x->dims[i];
		if (on[i])
			c->node.ints[c->node.nints++] = i;
	}
	if ((rc = set_out(c, 0, DNNQ_IR_F32, x->ndim, d, x->batched)))
		return rc;
	return suffix ? link_as(c, suffix, 1) : 0;
}

/* The binary operator (DNNQ_IR_ADD, DNNQ_IR_MUL, or the registry's kind
 * `kind`) of a and b; linked as NAME<suffix> unless suffix is NULL (the
 * ONNX node's own output). */
static int binary_step(struct nctx *c, const struct dnnq_ir_node *base, enum dnnq_ir_op op,
                       const char *kind, int32_t a, int32_t b, const char *suffix)
{
	int rc;
	c->node = *base;
	c->node.op = op;
	c->nin = 2;
	c->in[0] = a;
	c->in[1] = b;
	if ((kind && (rc = engine_kind(c, kind))) || (rc = op_binary(c)))
		return rc;
	return suffix ? link_as(c, suffix, 2) : 0;
}

/* The unary registry kind of c's input 0, linked as NAME<suffix> unless
 * suffix is NULL (the ONNX node's own output). */
static int unary_step(struct nctx *c, const struct dnnq_ir_node *base, const char *kind,
                      const char *suffix)
{
	int rc;
	c->node = *base;
	c->nin = 1;
	if ((rc = engine_kind(c, kind)) || (rc = same_out(c, V(c, 0), DNNQ_IR_F32)))
		return rc;
	return suffix ? link_as(c, suffix, 1) : 0;
}

/* MeanVarianceNormalization's axes before opset 9: across_channels (0 or
 * 1, default 0) and normalize_variance (the same, default 1), the
 * experimental operator's attributes; ONNX Runtime's kernel of opsets 1-8
 * reduces over what opset 9's default axes [0, 2, 3] do, with C too when
 * across_channels: the batch and every dim after C, here of any rank from
 * 2. Into ax (n of them) and *variance. */
static int mvn_opset1(struct nctx *c, int64_t *ax, ptrdiff_t *n, bool *variance)
{
	int64_t across, nv;
	int rc;
	if ((rc = a_int(c, "across_channels", 0, &across)) ||
	    (rc = a_int(c, "normalize_variance", 1, &nv)))
		return rc;
	if ((across != 0 && across != 1) || (nv != 0 && nv != 1))
		return bad(c, DNNQ_E_RANGE, "across_channels %lld, normalize_variance %lld: 0 or 1 "
		           "expected (opset %lld)", (long long)across, (long long)nv,
		           (long long)c->m->opset);
	const struct dnnq_ir_value *x = V(c, 0);
	if (x->ndim < 2)
		return bad(c, DNNQ_E_SHAPE, "input 0 '%.80s' [%s]: [N, C, ...] expected", iname(c, 0),
		           imp_dims_str(x));
	*n = 0;
	for (uint32_t i = 0; i < x->ndim; i++)
		if (i != 1 || across)
			ax[(*n)++] = i;
	*variance = nv;
	return 0;
}

/* MeanVarianceNormalization (opset 9+: axes, default [0, 2, 3]; before:
 * mvn_opset1) as its function body, the mean m (NAME:mean) and x - m
 * (NAME:centered) once: (x - m) / (sqrt(mean((x - m)^2)) + 1e-9), the
 * variance as the mean square of x - m (NAME:square, NAME:var) where
 * ONNX's body subtracts m^2 from the mean of x^2 (the same value, without
 * the cancellation), Sqrt (NAME:std), Add 1e-9 (NAME:std_eps), Div; x - m
 * alone without normalize_variance. Axis 0, the batch, makes the import
 * fix the batch to 1 as a reduction across it does. */
static int op_mvn(struct nctx *c)
{
	int64_t ax[DNNQ_IR_MAX_DIMS] = { 0, 2, 3 };
	ptrdiff_t n = 3;
	bool variance = true;
	int rc;
	if ((rc = need(c, 0, DT_F32, false)))
		return rc;
	if (c->m->opset < 9 ? (rc = mvn_opset1(c, ax, &n, &variance)) :
	    attr(c, "axes") && (rc = attr_ints(c, "axes", ax, DNNQ_IR_MAX_DIMS, &n)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	bool on[DNNQ_IR_MAX_DIMS] = { false };
	if (n < 1)
		return bad(c, DNNQ_E_SHAPE, "axes: none given");
	if ((rc = axes_on(c, x, ax, (size_t)n, on)))
		return rc;
	if (x->batched && on[0])
		return batch_mixes(c, "normalization across the batch (axis 0)");
	const struct dnnq_ir_node base = c->node;
	int32_t xid = c->in[0], centered, eps;
	if ((rc = reduce_step(c, &base, "reduce_mean", on, ":mean")) ||
	    (rc = binary_step(c, &base, DNNQ_IR_ENGINE, "sub", xid, c->in[0],
	                      variance ? ":centered" : NULL)) || !variance)
		return rc;
	if ((eps = scalar_const(c, 1e-9f, ":eps")) < 0)
		return eps;
	centered = c->in[0];
	if ((rc = binary_step(c, &base, DNNQ_IR_MUL, NULL, centered, centered, ":square")) ||
	    (rc = reduce_step(c, &base, "reduce_mean", on, ":var")) ||
	    (rc = unary_step(c, &base, "sqrt", ":std")) ||
	    (rc = binary_step(c, &base, DNNQ_IR_ADD, NULL, c->in[0], eps, ":std_eps")))
		return rc;
	return binary_step(c, &base, DNNQ_IR_ENGINE, "div", centered, c->in[0], NULL);
}

/* LpNormalization (axis, default -1; p 1 or 2, default 2): x / ||x||_p
 * along the axis, as |x| (NAME:abs) or x * x (NAME:square), its ReduceSum
 * (NAME:sum; keepdims), the square root for p 2 (NAME:norm), Max with
 * FLT_MIN (NAME:nonzero), Div: a zero vector gives 0, as ONNX Runtime's
 * kernel (0 / 0 would be NaN; the spec says nothing). */
static int op_lpnorm(struct nctx *c)
{
	int64_t axis, p;
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_int(c, "axis", -1, &axis)) ||
	    (rc = a_int(c, "p", 2, &p)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (p != 1 && p != 2)
		return bad(c, DNNQ_E_RANGE, "p = %lld: 1 or 2 expected", (long long)p);
	if (x->ndim == 0 || (rc = norm_axis(c, &axis, x->ndim, "axis")))
		return rc ? rc : bad(c, DNNQ_E_SHAPE, "a scalar input");
	if (x->batched && axis == 0)
		return batch_mixes(c, "normalization across the batch (axis 0)");
	const struct dnnq_ir_node base = c->node;
	bool on[DNNQ_IR_MAX_DIMS] = { false };
	int32_t xid = c->in[0], tiny = scalar_const(c, FLT_MIN, ":flt_min");
	if (tiny < 0)
		return tiny;
	on[axis] = true;
	if ((rc = p == 1 ? unary_step(c, &base, "abs", ":abs")
	                 : binary_step(c, &base, DNNQ_IR_MUL, NULL, xid, xid, ":square")) ||
	    (rc = reduce_step(c, &base, "reduce_sum", on, p == 1 ? ":norm" : ":sum")) ||
	    (p == 2 && (rc = unary_step(c, &base, "sqrt", ":norm"))) ||
	    (rc = binary_step(c, &base, DNNQ_IR_ENGINE, "max", c->in[0], tiny, ":nonzero")))
		return rc;
	return binary_step(c, &base, DNNQ_IR_ENGINE, "div", xid, c->in[0], NULL);
}

/* ---- vision: Resize, Upsample --------------------------------------------------- */

/* One of the strings names (NULL-terminated) or an error; its index in *out. */
static int a_enum(struct nctx *c, const char *name, const char *const *names, int *out)
{
	char buf[40];
	int rc = a_str(c, name, names[0], buf, sizeof buf);
	if (rc)
		return rc;
	for (int i = 0; names[i]; i++)
		if (!strcmp(buf, names[i])) {
			*out = i;
			return 0;
		}
	return bad(c, DNNQ_E_UNSUPPORTED, "attribute '%s' = '%s' is not supported", name, buf);
}

/* X (input 0, 4-D NCHW f32) resized by scale[4] or to size[4] (one of them
 * NULL): the scales of H and W and the output's shape, N and C kept. */
static int resize_shape(struct nctx *c, const double *scale, const int64_t *size)
{
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t d[4] = { x->dims[0], x->dims[1], 0, 0 };
	for (int i = 0; i < 4; i++) {
		if (!i && size && size[0] == IMP_BATCH && x->batched)
			continue;       /* the folded Shape of a batched value: the batch kept */
		double s = scale ? scale[i] : (double)size[i] / (double)x->dims[i];
		if (size && (size[i] < 1 || size[i] > IMP_MAX_DIM))
			return bad(c, DNNQ_E_RANGE, "sizes[%d] = %lld: out of range", i, (long long)size[i]);
		char t[DNNQ_REAL_STR];
		if (!(s > 0 && s < 65536))
			return bad(c, DNNQ_E_RANGE, "scale %d = %s: want more than 0 and less than"
			           " 65536", i, dnnq_real_str(t, s));
		if (i < 2 && (size ? size[i] != x->dims[i] && !(i == 0 && x->batched) : s != 1))
			return bad(c, DNNQ_E_UNSUPPORTED, "resizing axis %d (%s): only H and W resize", i,
			           i ? "the channels" : "the batch");
		if (i < 2)
			continue;
		d[i] = size ? size[i] : (int64_t)floor((double)x->dims[i] * s);
		if (d[i] < 1 || d[i] > (1 << 24))
			return bad(c, DNNQ_E_SHAPE, "output dim %d = %lld: want 1..2^24", i, (long long)d[i]);
		c->node.scales[i - 2] = (float)s;
	}
	return set_out(c, 0, DNNQ_IR_F32, 4, d, x->batched);
}

/* Resize's scales (input 2, or 1 before opset 11) or sizes (input 3):
 * constants of the input's rank, or of opset 18's axes. */
static int resize_operands(struct nctx *c, size_t si, size_t zi)
{
	const struct dnnq_ir_value *sv = V(c, si), *zv = V(c, zi);
	const int64_t *ax = NULL;
	ptrdiff_t nax = -1;
	int rc;
	if (sv && !numel(sv))
		sv = NULL;                 /* opset 11: an empty scales beside sizes */
	if (!sv == !zv)
		return bad(c, DNNQ_E_FORMAT, "exactly one of scales and sizes must be given");
	if (c->m->opset >= 18 && (rc = a_ints(c, "axes", &ax, &nax)))
		return rc;
	size_t i = sv ? si : zi, n = nax >= 0 ? (size_t)nax : 4;
	if ((rc = need(c, i, sv ? DT_F32 : DT(DNNQ_IR_S64), true)))
		return rc;
	if (V(c, i)->ndim != 1 || numel(V(c, i)) != n)
		return bad(c, DNNQ_E_SHAPE, "%s [%s]: %zu values expected", sv ? "scales" : "sizes",
		           imp_dims_str(V(c, i)), n);
	double scale[4];
	int64_t size[4], a4[4] = { 0, 1, 2, 3 };
	bool on[4] = { false };
	/* each axis once (a second scale of one would replace the first) */
	if (ax) {
		if (n > 4)
			return bad(c, DNNQ_E_SHAPE, "attribute 'axes' has %zu values for rank 4", n);
		memcpy(a4, ax, n * sizeof *a4);
		if ((rc = axes_on(c, V(c, 0), a4, n, on)))
			return rc;
	}
	for (int k = 0; k < 4; k++) {
		scale[k] = 1;
		size[k] = V(c, 0)->dims[k];
	}
	for (size_t k = 0; k < n; k++) {
		int64_t a = a4[k];
		if (sv)
			scale[a] = ((const float *)sv->data)[k];
		else
			size[a] = ((const int64_t *)zv->data)[k];
	}
	return resize_shape(c, sv ? scale : NULL, sv ? NULL : size);
}

static int matmul_by(struct nctx *c, int32_t w);

/* ONNX Runtime's source coordinate of output index x at scale (out / in)
 * by transformation t, unclamped, in float as it computes it. */
static float resize_coord(int t, float x, float scale, int64_t in, int64_t out)
{
	switch (t) {
	case DNNQ_RESIZE_HALF_PIXEL: return (x + 0.5f) / scale - 0.5f;
	case DNNQ_RESIZE_PYTORCH_HALF_PIXEL: return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
	case DNNQ_RESIZE_ALIGN_CORNERS:
		return out == 1 ? 0.0f : x * (float)(in - 1) / (float)(out - 1);
	case DNNQ_RESIZE_TF_HALF_PIXEL_FOR_NEAREST: return (x + 0.5f) / scale;
	default: return x / scale;
	}
}

/* Keys' cubic of coefficient a, or the triangle of linear, at x. */
static float aa_filter(float x, bool cubic, float a)
{
	x = fabsf(x);
	if (!cubic)
		return x < 1.0f ? 1.0f - x : 0.0f;
	if (x < 1.0f)
		return ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
	return x < 2.0f ? (((x - 5.0f) * x + 8.0f) * x - 4.0f) * a : 0.0f;
}

/* One axis of an antialiased resize (in -> out at scale, transformation
 * t) as the matrix w [in, out] (zeroed by the caller) that a MatMul
 * multiplies by, ONNX Runtime's filter (upsample_antialias.h): output o's
 * window centre 0.5 + its source coordinate, the filter stretched by
 * 1 / scale when shrinking (support 1 for linear, 2 for cubic, times
 * that), taps floor(centre -+ support + 0.5); a tap outside the axis
 * adds its weight to the edge, or with exclude is dropped; each column
 * normalized to sum 1. */
static void aa_weights(float *w, int64_t in, int64_t out, float scale, int t, bool cubic,
                       float a, bool exclude)
{
	const float stretch = scale < 1.0f ? 1.0f / scale : 1.0f;
	const float support = (cubic ? 2.0f : 1.0f) * stretch;
	for (int64_t o = 0; o < out; o++) {
		float centre = 0.5f + (scale == 1.0f ? (float)o : resize_coord(t, (float)o, scale,
		                                                                 in, out));
		int64_t lo = (int64_t)floorf(centre - support + 0.5f);
		int64_t hi = (int64_t)floorf(centre + support + 0.5f);
		float total = 0.0f;
		for (int64_t x = lo; x < hi; x++) {
			if (exclude && (x < 0 || x >= in))
				continue;
			float f = aa_filter(((float)x - centre + 0.5f) / stretch, cubic, a);
			total += f;
			w[(x < 0 ? 0 : x >= in ? in - 1 : x) * out + o] += f;
		}
		for (int64_t i = 0; total != 0.0f && i < in; i++)
			w[i * out + o] /= total;
	}
}

/* Resize of mode linear or cubic with antialias 1 (c's output shape and
 * scales set), whose filter no kind of the engine has: per resized axis
 * a MatMul by aa_weights' constant matrix (NAME:ww, NAME:wh): W as the
 * last axis (NAME:w), then H between two Transposes (NAME:t, NAME:h,
 * and NAME back); one precision unit NAME. An axis that keeps its length
 * at scale 1 is left alone. */
static int resize_antialias(struct nctx *c, int t, bool cubic, bool exclude)
{
	const struct dnnq_ir_value *x = V(c, 0);
	const bool batched = x->batched;
	const float a = c->node.alpha, sc[2] = { c->node.scales[0], c->node.scales[1] };
	int64_t d[4], out[2] = { c->out[0].dims[2], c->out[0].dims[3] };
	memcpy(d, x->dims, sizeof d);
	bool axis[2];
	int32_t mat[2];
	for (int i = 0; i < 2; i++) {
		axis[i] = out[i] != d[2 + i] || sc[i] != 1.0f;
		float *w;
		int rc = axis[i] ? imp_const_alloc(c->m, (size_t)(d[2 + i] * out[i]) * sizeof *w,
		                                   c->who, (void **)&w) : 0;
		if (rc)
			return rc;
		if (!axis[i])
			continue;
		memset(w, 0, (size_t)(d[2 + i] * out[i]) * sizeof *w);
		aa_weights(w, d[2 + i], out[i], sc[i], t, cubic, a, exclude);
		struct dnnq_ir_value wv = { .name = c->name, .dtype = DNNQ_IR_F32, .ndim = 2,
		                            .dims = { d[2 + i], out[i] }, .producer = -1 };
		if ((mat[i] = new_constant(c, &wv, i ? ":ww" : ":wh", w)) < 0)
			return mat[i];
	}
	static const int64_t swap[4] = { 0, 1, 3, 2 };
	int rc;
	c->whole = ++c->m->wholes;
	if (axis[1]) {
		if ((rc = matmul_by(c, mat[1])) || (axis[0] && (rc = link_as(c, ":w", 2))) || !axis[0])
			return rc;
		d[3] = out[1];
	}
	if ((rc = transpose_as(c, 4, d, swap, batched, ":t")))
		return rc;
	if ((rc = matmul_by(c, mat[0])) || (rc = link_as(c, ":h", 2)))
		return rc;
	int64_t e[4] = { d[0], d[1], d[3], out[0] };
	return transpose_as(c, 4, e, swap, batched, NULL);
}

static int op_resize(struct nctx *c)
{
	static const char *const interp[] = { "nearest", "linear", "cubic", NULL };
	static const char *const coord[] = { "half_pixel", "pytorch_half_pixel", "align_corners",
	                                     "asymmetric", "tf_half_pixel_for_nearest", NULL };
	static const char *const round[] = { "round_prefer_floor", "round_prefer_ceil", "floor",
	                                     "ceil", NULL };
	int rc, m = 0, t = DNNQ_RESIZE_ASYMMETRIC, r = DNNQ_RESIZE_FLOOR;
	int64_t v;
	char policy[16];
	if ((rc = engine_kind(c, "resize")) || (rc = need(c, 0, DT_F32, false)) ||
	    (rc = need_rank(c, 0, 4, "only 4-D NCHW images resize")) ||
	    (rc = a_enum(c, "mode", interp, &m)))
		return rc;
	if (c->m->opset >= 11 &&
	    ((rc = a_enum(c, "coordinate_transformation_mode", coord, &t)) ||
	     (rc = a_enum(c, "nearest_mode", round, &r))))
		return rc;
	/* cubic: Keys' coefficient (alpha) and exclude_outside (beta, 0 or 1) */
	if ((rc = a_float(c, "cubic_coeff_a", -0.75f, &c->node.alpha)) ||
	    (rc = a_int(c, "exclude_outside", 0, &v)))
		return rc;
	if (!isfinite(c->node.alpha) || (v != 0 && v != 1))
		return bad(c, DNNQ_E_RANGE, "cubic_coeff_a %g, exclude_outside %lld: want a finite "
		           "coefficient and 0 or 1", (double)c->node.alpha, (long long)v);
	c->node.beta = (float)v;
	int64_t aa;
	if ((rc = a_int(c, "antialias", 0, &aa)))
		return rc;
	if (aa != 0 && aa != 1)
		return bad(c, DNNQ_E_RANGE, "antialias %lld: 0 or 1 expected", (long long)aa);
	if ((rc = a_str(c, "keep_aspect_ratio_policy", "stretch", policy, sizeof policy)) ||
	    strcmp(policy, "stretch"))
		return rc ? rc : bad(c, DNNQ_E_UNSUPPORTED, "keep_aspect_ratio_policy '%s'", policy);
	c->node.mode = DNNQ_RESIZE_MODE(m, t, r);
	rc = c->m->opset >= 11 ? resize_operands(c, 2, 3) : resize_operands(c, 1, DNNQ_IR_MAX_INPUTS);
	c->nin = 1;
	/* before opset 11 (and Upsample) nearest truncates: a floor when enlarging */
	if (!rc && c->m->opset < 11 && !m && (c->node.scales[0] < 1 || c->node.scales[1] < 1))
		return bad(c, DNNQ_E_UNSUPPORTED, "opset %lld nearest downsampling",
		           (long long)c->m->opset);
	/* antialias filters linear and cubic only (ONNX: nearest ignores it) */
	if (!rc && aa && m && (c->node.scales[0] != 1.0f || c->node.scales[1] != 1.0f ||
	                       c->out[0].dims[2] != V(c, 0)->dims[2] ||
	                       c->out[0].dims[3] != V(c, 0)->dims[3]))
		return resize_antialias(c, t, m == DNNQ_RESIZE_CUBIC, c->node.beta != 0.0f);
	return rc;
}

/* Upsample (opsets 7..9): Resize with asymmetric coordinates; scales an
 * attribute (7) or input 1 (9). */
static int op_upsample(struct nctx *c)
{
	static const char *const interp[] = { "nearest", "linear", NULL };
	int rc, m;
	if ((rc = engine_kind(c, "resize")) || (rc = need(c, 0, DT_F32, false)) ||
	    (rc = need_rank(c, 0, 4, "only 4-D NCHW images resize")) ||
	    (rc = a_enum(c, "mode", interp, &m)))
		return rc;
	c->node.mode = DNNQ_RESIZE_MODE(m, DNNQ_RESIZE_ASYMMETRIC, DNNQ_RESIZE_FLOOR);
	double scale[4];
	const Onnx__AttributeProto *a;
	if (c->nin > 1) {
		if ((rc = need(c, 1, DT_F32, true)))
			return rc;
		if (numel(V(c, 1)) != 4)
			return bad(c, DNNQ_E_SHAPE, "scales [%s]: 4 values expected", imp_dims_str(V(c, 1)));
		for (int k = 0; k < 4; k++)
			scale[k] = ((const float *)V(c, 1)->data)[k];
	} else if ((rc = typed_attr(c, "scales", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS,
	                            "a list of floats", &a)) || !a || a->n_floats != 4) {
		return rc ? rc : bad(c, DNNQ_E_FORMAT, "attribute 'scales': 4 floats expected");
	} else {
		for (int k = 0; k < 4; k++)
			scale[k] = a->floats[k];
	}
	c->nin = 1;
	if (scale[2] < 1 || scale[3] < 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "downsampling (scales %g, %g)", scale[2], scale[3]);
	return resize_shape(c, scale, NULL);
}

/* ---- vision: ConvTranspose ------------------------------------------------------- */

/* One spatial axis of a ConvTranspose: the output length, and the pads
 * (in and out) resolved from auto_pad or output_shape (want > 0). ONNX
 * and its runtimes split an odd total padding differently: refused. */
static int convt_axis(struct nctx *c, int axis, int64_t in, int64_t k, int64_t s, int64_t d,
                      int64_t op, int64_t want, const char *ap, int64_t *pb, int64_t *pe,
                      int64_t *out)
{
	int64_t full = s * (in - 1) + op + (k - 1) * d + 1;
	if (op >= (s > d ? s : d))
		return bad(c, DNNQ_E_RANGE, "output_padding[%d] = %lld: must be below the stride or "
		           "the dilation", axis, (long long)op);
	if (!strcmp(ap, "VALID"))
		*pb = *pe = 0;
	if (want > 0 || !strncmp(ap, "SAME_", 5)) {
		int64_t total = full - (want > 0 ? want : in * s);
		if (total < 0 || total % 2)
			return bad(c, DNNQ_E_UNSUPPORTED, "spatial axis %d: a total padding of %lld (only "
			           "an even one splits the same in ONNX and its runtimes)", axis,
			           (long long)total);
		*pb = *pe = total / 2;
	}
	*out = full - *pb - *pe;
	if (*out < 1 || *out > (1 << 24))
		return bad(c, DNNQ_E_SHAPE, "spatial axis %d: output length %lld", axis, (long long)*out);
	return 0;
}

/* A ConvTranspose ints attribute of per values per spatial axis (pads: 2)
 * into out as the 2-D node's (per * 2 values, def when absent); a 1-D
 * node's (nd 1) values go to W, H keeping def. */
static int convt_ints(struct nctx *c, int nd, const char *name, int64_t def, int64_t lo, int per,
                      int64_t *out)
{
	if (nd == 2)
		return a_pair(c, name, def, lo, out, (size_t)per * 2);
	int64_t v[2] = { def, def };
	for (int i = 0; i < per * 2; i++)
		out[i] = def;
	int rc = a_nd(c, 1, name, lo, (size_t)per, v);
	for (int i = 0; i < per; i++)
		out[2 * i + 1] = v[i];
	return rc;
}

/* ConvTranspose over H, W of [N, C, H, W], or over L of [N, C, L]
 * (ConvTranspose1d, Conv-TasNet's decoder: the 2-D node with H 1, as_2d). */
static int op_convtranspose(struct nctx *c)
{
	struct dnnq_ir_node *n = &c->node;
	int rc;
	if ((rc = engine_kind(c, "convtranspose")) || (rc = need(c, 0, DT_F32, false)) ||
	    (rc = need_weight(c, 1, DT_F32)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0), *w = V(c, 1);
	int nd = (int)x->ndim - 2;
	if (nd != 1 && nd != 2)
		return bad(c, DNNQ_E_UNSUPPORTED, "input [%s]: only 1-D and 2-D ConvTranspose (3-D "
		           "NCL, 4-D NCHW input) are supported", imp_dims_str(x));
	if ((rc = need_rank(c, 1, x->ndim, "the weight of a ConvTranspose has the input's rank")) ||
	    (rc = a_int(c, "group", 1, &n->group)))
		return rc;
	int64_t g = n->group, C = x->dims[1], M, kw = w->dims[nd + 1];
	if (g < 1 || g > C || C % g || w->dims[0] != C || w->dims[1] < 1 ||
	    w->dims[1] > IMP_MAX_DIM / g || w->dims[2] < 1 || kw < 1)
		return bad(c, DNNQ_E_SHAPE, "group %lld, input channels %lld, weight [%s] do not agree",
		           (long long)g, (long long)C, imp_dims_str(w));
	M = w->dims[1] * g;
	n->kernel[0] = nd == 2 ? w->dims[2] : 1;
	n->kernel[1] = kw;
	int64_t ks[2], op[2], want[2] = { 0, 0 }, in[2] = { nd == 2 ? x->dims[2] : 1, x->dims[nd + 1] };
	const int64_t *os;
	ptrdiff_t nos;
	char ap[32];
	if ((rc = convt_ints(c, nd, "kernel_shape", 1, 1, 1, ks)) ||
	    (rc = convt_ints(c, nd, "strides", 1, 1, 1, n->strides)) ||
	    (rc = convt_ints(c, nd, "dilations", 1, 1, 1, n->dilations)) ||
	    (rc = convt_ints(c, nd, "pads", 0, 0, 2, n->pads)) ||
	    (rc = convt_ints(c, nd, "output_padding", 0, 0, 1, op)) ||
	    (rc = a_ints(c, "output_shape", &os, &nos)) ||
	    (rc = a_str(c, "auto_pad", "NOTSET", ap, sizeof ap)))
		return rc;
	if (attr(c, "kernel_shape") && (ks[0] != n->kernel[0] || ks[1] != n->kernel[1]))
		return bad(c, DNNQ_E_SHAPE, "kernel_shape [%lld,%lld] disagrees with the weight [%s]",
		           (long long)ks[0], (long long)ks[1], imp_dims_str(w));
	if (strcmp(ap, "NOTSET") && *ap && strcmp(ap, "VALID") && strcmp(ap, "SAME_UPPER") &&
	    strcmp(ap, "SAME_LOWER"))
		return bad(c, DNNQ_E_RANGE, "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or "
		           "VALID", ap);
	if (nos >= 0 && nos != nd && nos != nd + 2)
		return bad(c, DNNQ_E_SHAPE, "output_shape has %td values: %d (the spatial axes) "
		           "expected", nos, nd);
	for (int i = 0; nos >= nd && i < nd; i++)
		if ((want[2 - nd + i] = os[nos - nd + i]) < 1 || want[2 - nd + i] > (1 << 24))
			return bad(c, DNNQ_E_RANGE, "output_shape[%td] = %lld", nos - nd + i,
			           (long long)os[nos - nd + i]);
	int64_t d[4] = { x->dims[0], M, 0, 0 };
	for (int i = 0; i < 2; i++)
		if ((rc = convt_axis(c, i - 2 + nd, in[i], n->kernel[i], n->strides[i],
		                     n->dilations[i], op[i], want[i], ap, &n->pads[i], &n->pads[2 + i],
		                     &d[2 + i])))
			return rc;
	if ((rc = bias(c, 2, DT_F32, M)))
		return rc;
	if (nd == 1)
		return as_2d(c, M, d[3]);
	return set_out(c, 0, DNNQ_IR_F32, 4, d, x->batched);
}

/* ---- vision: Slice, Split, Pad ------------------------------------------------- */

/* Slice's per-axis start, step and length (ONNX's clamping) on an axis of
 * n elements. */
static void slice_axis(int64_t n, int64_t start, int64_t end, int64_t step, int64_t *s,
                       int64_t *len)
{
	if (start < 0)
		start = start < -n ? -1 : start + n;
	if (end < 0)
		end = end < -n ? -1 : end + n;
	int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? n : n - 1;
	start = start < 0 ? 0 : start > hi ? hi : start;
	end = end < lo ? lo : end > hi ? hi : end;
	int64_t span = step > 0 ? end - start : start - end, st = step > 0 ? step : -step;
	*s = start;
	*len = span > 0 ? (span + st - 1) / st : 0;
}

static int op_slice(struct nctx *c)
{
	struct dnnq_ir_node *n = &c->node;
	int64_t st[DNNQ_IR_MAX_DIMS], en[DNNQ_IR_MAX_DIMS], ax[DNNQ_IR_MAX_DIMS],
		sp[DNNQ_IR_MAX_DIMS];
	ptrdiff_t ns, ne, na, np;
	int rc;
	if ((rc = engine_kind(c, "slice")) || (rc = need(c, 0, DT_F32 | DT_Q8, false)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (c->m->opset < 10) {
		if ((rc = attr_ints(c, "starts", st, DNNQ_IR_MAX_DIMS, &ns)) ||
		    (rc = attr_ints(c, "ends", en, DNNQ_IR_MAX_DIMS, &ne)) ||
		    (rc = attr_ints(c, "axes", ax, DNNQ_IR_MAX_DIMS, &na)))
			return rc;
		np = -1;
	} else if ((rc = const_ints(c, 1, st, DNNQ_IR_MAX_DIMS, &ns)) ||
	           (rc = const_ints(c, 2, en, DNNQ_IR_MAX_DIMS, &ne)) ||
	           (rc = const_ints(c, 3, ax, DNNQ_IR_MAX_DIMS, &na)) ||
	           (rc = const_ints(c, 4, sp, DNNQ_IR_MAX_DIMS, &np))) {
		return rc;
	}
	if (ns < 0 || ns != ne || (na >= 0 && na != ns) || (np >= 0 && np != ns))
		return bad(c, DNNQ_E_SHAPE, "starts, ends, axes and steps must have one length");
	int64_t d[DNNQ_IR_MAX_DIMS];
	bool seen[DNNQ_IR_MAX_DIMS] = { false };
	for (uint32_t i = 0; i < x->ndim; i++) {
		n->starts[i] = 0;
		n->steps[i] = 1;
		d[i] = x->dims[i];
	}
	for (ptrdiff_t k = 0; k < ns; k++) {
		int64_t a = na >= 0 ? ax[k] : k, step = np >= 0 ? sp[k] : 1;
		if ((rc = norm_axis(c, &a, x->ndim, "axes")))
			return rc;
		a = ir_axis(c, 0, a);
		if (seen[a] || !step || step < -IMP_MAX_DIM || step > IMP_MAX_DIM)
			return bad(c, DNNQ_E_RANGE, "axis %lld: repeated, or step %lld", (long long)a,
			           (long long)step);
		seen[a] = true;
		if (a == 0 && x->batched) {
			if (st[k] != 0 || step != 1 || en[k] < INT32_MAX)
				return batch_mixes(c, "slicing the batch (axis 0)");
			continue;
		}
		slice_axis(x->dims[a], st[k], en[k], step, &n->starts[a], &d[a]);
		n->steps[a] = step;
	}
	c->moved[0] = in_moved(c, 0);
	c->nin = 1;
	return set_out(c, 0, x->dtype, x->ndim, d, x->batched);
}

int imp_split_outs(struct nctx *c)
{
	struct dnnq_ir_node *n = &c->node;
	int64_t sz[DNNQ_IR_MAX_OUTPUTS], no;
	ptrdiff_t ns;
	size_t k = c->np->n_output;
	int rc;
	if ((rc = a_int(c, "axis", 0, &n->axis)) || (rc = a_int(c, "num_outputs", 0, &no)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if ((rc = norm_axis(c, &n->axis, x->ndim, "axis")))
		return rc;
	n->axis = ir_axis(c, 0, n->axis);
	if (x->batched && n->axis == 0)
		return batch_mixes(c, "splitting the batch (axis 0)");
	rc = c->m->opset < 13 ? attr_ints(c, "split", sz, DNNQ_IR_MAX_OUTPUTS, &ns)
	                      : const_ints(c, 1, sz, DNNQ_IR_MAX_OUTPUTS, &ns);
	if (rc)
		return rc;
	int64_t dim = x->dims[n->axis], total = 0;
	if (ns >= 0 && (size_t)ns != k)
		return bad(c, DNNQ_E_SHAPE, "%td split sizes for %zu outputs", ns, k);
	if ((no && (size_t)no != k) || (ns < 0 && !no && dim % (int64_t)k))
		return bad(c, DNNQ_E_SHAPE, "num_outputs %lld, %zu outputs: axis %lld of %lld "
		           "elements does not split evenly", (long long)no, k, (long long)n->axis,
		           (long long)dim);
	for (size_t i = 0; i < k; i++) {
		int64_t even = (dim + (int64_t)k - 1) / (int64_t)k;     /* opset 18: the last is smaller */
		int64_t s = ns >= 0 ? sz[i] : i + 1 < k ? even : dim - even * (int64_t)(k - 1);
		if (s < 1 || s > dim - total)
			return bad(c, DNNQ_E_SHAPE, "output %zu: %lld elements of axis %lld (%lld): "
			           "want 1 or more, %lld in all", i, (long long)s, (long long)n->axis,
			           (long long)dim, (long long)dim);
		int64_t d[DNNQ_IR_MAX_DIMS];
		memcpy(d, x->dims, sizeof d);
		d[n->axis] = s;
		total += s;
		c->moved[i] = in_moved(c, 0);
		if ((rc = set_out(c, (uint32_t)i, x->dtype, x->ndim, d, x->batched)))
			return rc;
	}
	if (total != dim)
		return bad(c, DNNQ_E_SHAPE, "split sizes add up to %lld, axis %lld has %lld",
		           (long long)total, (long long)n->axis, (long long)dim);
	return 0;
}

static int op_split(struct nctx *c)
{
	int rc;
	if ((rc = engine_kind(c, "slice")) || (rc = need(c, 0, DT_F32 | DT_Q8, false)) ||
	    (rc = imp_split_outs(c)))
		return rc;
	c->node.split = true;
	c->nin = 1;
	return 0;
}

static int op_pad(struct nctx *c)
{
	static const char *const modes[] = { "constant", "reflect", "edge", "wrap", NULL };
	struct dnnq_ir_node *n = &c->node;
	int64_t p[2 * DNNQ_IR_MAX_DIMS], ax[DNNQ_IR_MAX_DIMS];
	ptrdiff_t np, na = -1;
	int rc, m;
	if ((rc = engine_kind(c, "pad")) || (rc = need(c, 0, DT_F32, false)) ||
	    (rc = a_enum(c, "mode", modes, &m)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	n->mode = DNNQ_PAD_CONSTANT + (uint32_t)m;
	if (c->m->opset < 11) {
		if ((rc = attr_ints(c, "pads", p, 2 * DNNQ_IR_MAX_DIMS, &np)) ||
		    (rc = a_float(c, "value", 0, &n->value)))
			return rc;
	} else {
		if ((rc = const_ints(c, 1, p, 2 * DNNQ_IR_MAX_DIMS, &np)) ||
		    (rc = const_ints(c, 3, ax, DNNQ_IR_MAX_DIMS, &na)))
			return rc;
		if (V(c, 2) && !(rc = need_param(c, 2, DT_F32, true, 1)))
			n->value = *(const float *)V(c, 2)->data;
		if (rc)
			return rc;
	}
	size_t naxes = na >= 0 ? (size_t)na : x->ndim;
	if (np < 0 || (size_t)np != 2 * naxes)
		return bad(c, DNNQ_E_SHAPE, "%td pads for %zu axes", np, naxes);
	if (!isfinite(n->value))
		return bad(c, DNNQ_E_RANGE, "constant value %g", (double)n->value);
	int64_t d[DNNQ_IR_MAX_DIMS];
	bool on[DNNQ_IR_MAX_DIMS] = { false };
	for (uint32_t i = 0; i < x->ndim; i++) {
		n->starts[i] = 0;
		n->steps[i] = 1;
		d[i] = x->dims[i];
	}
	/* each axis once (ONNX Runtime refuses a second pad of one) */
	if (na >= 0 && (rc = axes_on(c, x, ax, naxes, on)))
		return rc;
	for (size_t k = 0; k < naxes; k++) {
		int64_t a = na >= 0 ? ax[k] : (int64_t)k, b = p[k], e = p[naxes + k];
		if (b < -IMP_MAX_DIM || b > IMP_MAX_DIM || e < -IMP_MAX_DIM || e > IMP_MAX_DIM)
			return bad(c, DNNQ_E_RANGE, "axis %lld: pads %lld, %lld: out of range",
			           (long long)a, (long long)b, (long long)e);
		if (a == 0 && x->batched && (b || e))
			return batch_moves(c, "axis %lld: pads %lld, %lld (the batch is not padded)",
			           (long long)a, (long long)b, (long long)e);
		/* ONNX Runtime 1.31 wraps a cropped axis as no rule we could
		 * state (pads 3, -1 of 2 rows gave row 0 four times) */
		if (n->mode == DNNQ_PAD_WRAP && (b < 0 || e < 0))
			return bad(c, DNNQ_E_UNSUPPORTED, "axis %lld: pads %lld, %lld: a negative pad "
			           "(a crop) with mode 'wrap' is not supported", (long long)a,
			           (long long)b, (long long)e);
		n->starts[a] = -b;
		d[a] = x->dims[a] + b + e;
		if (d[a] < 1)
			return bad(c, DNNQ_E_SHAPE, "axis %lld: %lld elements after padding",
			           (long long)a, (long long)d[a]);
	}
	c->nin = 1;
	return set_out(c, 0, DNNQ_IR_F32, x->ndim, d, x->batched);
}

/* Gather on axis 0 of a constant f32 table [V, D] by computed int32 ids
 * [N, T...] (an embedding): the registry's embed, f32 [N, T..., D]; the
 * ids are checked when it runs (engine/ops/embed.c). */
static int op_embed(struct nctx *c)
{
	int rc;
	int64_t axis;
	if ((rc = engine_kind(c, "embed")) || (rc = need(c, 0, DT_F32, true)) ||
	    (rc = need(c, 1, DT(DNNQ_IR_S32) | DT_F32, false)) || (rc = a_int(c, "axis", 0, &axis)))
		return rc;
	const struct dnnq_ir_value *t = V(c, 0), *iv = V(c, 1);
	if (iv->dtype == DNNQ_IR_F32 && !iv->integer)
		return bad(c, DNNQ_E_DTYPE, "indices '%.80s' are floats: ids are integers (an input, "
		           "or integer arithmetic on one)", iname(c, 1));
	if (t->ndim != 2 || (axis != 0 && axis != -2))
		return bad(c, DNNQ_E_UNSUPPORTED, "computed indices '%.80s' into '%.80s' [%s] on axis "
		           "%lld: an embedding reads rows (axis 0) of a 2-D table", iname(c, 1),
		           iname(c, 0), imp_dims_str(t), (long long)axis);
	if ((!iv->batched && !c->m->fixed) || iv->ndim < 1 || iv->ndim + 1 > DNNQ_IR_MAX_DIMS ||
	    t->dims[0] > INT32_MAX)
		return bad(c, DNNQ_E_UNSUPPORTED, "indices '%.80s' [%s] into %lld rows: want batched "
		           "ids of rank 1..%d into at most 2^31-1 rows", iname(c, 1), imp_dims_str(iv),
		           (long long)t->dims[0], DNNQ_IR_MAX_DIMS - 1);
	int64_t d[DNNQ_IR_MAX_DIMS];
	memcpy(d, iv->dims, iv->ndim * sizeof *d);
	d[iv->ndim] = t->dims[1];
	return set_out(c, 0, DNNQ_IR_F32, iv->ndim + 1, d, iv->batched);
}

/* The largest one-hot [K, T] a Gather by computed indices makes. */
#define ONEHOT_MAX (1 << 22)

/* The constant [1, t] of from .. from + t - 1, NAME<suffix>; its id, or < 0. */
static int32_t arange_row(struct nctx *c, int64_t t, int64_t from, const char *suffix)
{
	float *ar;
	int rc = imp_const_alloc(c->m, (size_t)t * sizeof *ar, c->who, (void **)&ar);
	if (rc)
		return rc;
	for (int64_t i = 0; i < t; i++)
		ar[i] = (float)(from + i);
	struct dnnq_ir_value av = { .name = c->name, .dtype = DNNQ_IR_F32, .ndim = 2,
	                           .dims = { 1, t }, .producer = -1 };
	return new_constant(c, &av, suffix, ar);
}

/* The one-hot rows of the float indices c->in[0] reshaped to [d] (nd
 * dims, the last 1; NAME:idx): Or(Equal(NAME:idx, [0 .. t-1])
 * (NAME:ahead), Equal(NAME:idx, [-t .. -1]) (NAME:behind)), c's node,
 * not yet linked. An index in [-t, 0) counts from the end; one outside
 * [-t, t) has no one. */
static int onehot_rows(struct nctx *c, int64_t t, uint32_t nd, const int64_t *d, bool batched)
{
	int32_t ahead = arange_row(c, t, 0, ":arange"), behind = arange_row(c, t, -t, ":arange-T");
	if (ahead < 0 || behind < 0)
		return ahead < 0 ? ahead : behind;
	int rc;
	c->node.op = DNNQ_IR_RESHAPE;
	c->nin = 1;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, nd, d, batched)) || (rc = link_as(c, ":idx", 1)))
		return rc;
	int32_t idx = c->in[0];
	c->in[1] = ahead;
	c->nin = 2;
	if ((rc = engine_kind(c, "equal")) || (rc = op_binary(c)) ||
	    (rc = link_as(c, ":ahead", 2)))
		return rc;
	ahead = c->in[0];
	c->in[0] = idx;
	c->in[1] = behind;
	if ((rc = op_binary(c)) || (rc = link_as(c, ":behind", 2)))
		return rc;
	c->in[1] = ahead;
	return (rc = engine_kind(c, "or")) ? rc : op_binary(c);
}

/* Gather along axis 0 of an activation by indices integer arithmetic
 * computed (floats holding them: "Token ids" in docs/onnx.md; CLIP's
 * x[arange(b), ids.argmax(-1)]: x flattened to [b * t, d], the batch fixed
 * to 1, gathered at arange(b) * t + argmax): the MatMul of the one-hot
 * rows Or(Equal(indices [K, 1] (NAME:idx), [0 .. T-1] (NAME:arange))
 * (NAME:ahead), Equal(NAME:idx, [-T .. -1] (NAME:arange-T)) (NAME:behind))
 * [K, T] (NAME:onehot) by x as [T, R] (NAME:rows), NAME:pick, then
 * indices' dims and x's others. Exact in fp32; an index in [-T, 0) counts
 * from the end, as ONNX's; one outside [-T, T) picks zeros. */
static int gather_rows(struct nctx *c)
{
	int64_t axis;
	int rc = a_int(c, "axis", 0, &axis);
	/* copies: the nodes made here move the values table */
	const struct dnnq_ir_value x = *V(c, 0), iv = *V(c, 1);
	if (rc || (rc = norm_axis(c, &axis, x.ndim, "axis")))
		return rc;
	if (x.batched && axis == 0)
		return batch_mixes(c, "gathering along the batch (axis 0) by computed indices");
	int64_t t = x.dims[0], k = (int64_t)numel(&iv), rows = (int64_t)numel(&x) / (t ? t : 1);
	if (axis != 0 || x.batched || iv.batched || in_moved(c, 0) ||
	    !iv.integer || k * t > ONEHOT_MAX ||
	    iv.ndim + x.ndim > DNNQ_IR_MAX_DIMS + 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "indices '%.80s' [%s] computed at run time into "
		           "the activation '%.80s' [%s] on axis %lld: only integers, on axis 0 of a "
		           "value without the batch, at most 2^22 indices times rows", iname(c, 1),
		           imp_dims_str(&iv), iname(c, 0), imp_dims_str(&x), (long long)axis);
	int32_t xid = c->in[0];
	int64_t d[DNNQ_IR_MAX_DIMS] = { k, 1 };
	/* idx [K, 1] == arange [1, T] or arange - T: the one-hot rows */
	c->in[0] = c->in[1];
	if ((rc = onehot_rows(c, t, 2, d, false)) || (rc = link_as(c, ":onehot", 2)))
		return rc;
	int32_t onehot = c->in[0];
	c->in[0] = xid;
	if (x.ndim != 2) {
		d[0] = t;
		d[1] = rows;
		c->node.op = DNNQ_IR_RESHAPE;
		c->nin = 1;
		if ((rc = set_out(c, 0, DNNQ_IR_F32, 2, d, false)) || (rc = link_as(c, ":rows", 1)))
			return rc;
	}
	c->in[1] = c->in[0];
	c->in[0] = onehot;
	c->nin = 2;
	c->node.op = DNNQ_IR_GEMM;
	if ((rc = op_matmul(c)))
		return rc;
	/* [K, R] as indices' dims, then x's after axis 0 */
	uint32_t r = 0;
	for (uint32_t i = 0; i < iv.ndim; i++)
		d[r++] = iv.dims[i];
	for (uint32_t i = 1; i < x.ndim; i++)
		d[r++] = x.dims[i];
	if (r == 2 && d[0] == k && d[1] == rows)
		return 0;
	if ((rc = link_as(c, ":pick", 2)))
		return rc;
	c->node.op = DNNQ_IR_RESHAPE;
	c->nin = 1;
	return set_out(c, 0, DNNQ_IR_F32, r, d, false);
}

/* One node of trunc_indices on c->in[0], named NAME<suffix>: the
 * registry's unary kind, or (kind NULL) a Mul by value other; its output
 * integers when ints. */
static int trunc_step(struct nctx *c, const struct dnnq_ir_value *x, const char *kind,
                      int32_t other, bool ints, const char *suffix)
{
	int rc;
	c->ints = ints;
	c->nin = kind ? 1 : 2;
	c->in[1] = other;
	if (kind && !(rc = engine_kind(c, kind))) {
		rc = same_out(c, x, DNNQ_IR_F32);
	} else if (!kind) {
		c->node.op = DNNQ_IR_MUL;
		rc = op_binary(c);
	}
	return rc ? rc : link_as(c, suffix, c->nin);
}

/* Float indices c->in[0] as ONNX Runtime casts them to int64 (ONNX's
 * reference: astype): truncated toward 0, Sign(x) (NAME:sign) times
 * Floor(Sign(x) * x) (NAME:abs, NAME:floor; NAME:trunc). Each node makes
 * or reads integers, so runs fp32 (an int8 x would move an index across
 * an integer). A NaN or an infinity stays one and matches no row: off
 * values, as its cast's INT64_MIN does. c->in[0] becomes the result. */
static int trunc_indices(struct nctx *c)
{
	const struct dnnq_ir_value x = *V(c, 0);
	int32_t xid = c->in[0], sign;
	int rc = trunc_step(c, &x, "sign", -1, true, ":sign");
	sign = c->in[0];
	if (rc || (rc = trunc_step(c, &x, NULL, xid, false, ":abs")) ||
	    (rc = trunc_step(c, &x, "floor", -1, true, ":floor")))
		return rc;
	return trunc_step(c, &x, NULL, sign, true, ":trunc");
}

/* OneHot(indices, depth, values) (TensorFlow's tf.one_hot, tf2onnx: BERT's
 * token types): indices (int32 ids, cast to float, floats holding
 * integers, or other floats truncated: trunc_indices) as [..., 1]
 * (NAME:idx), Or(Equal(NAME:idx, [0 .. depth-1])
 * (NAME:ahead), Equal(NAME:idx, [-depth .. -1]) (NAME:behind)), the
 * one-hot rows on the last axis; on another a Transpose (NAME:last, then
 * the node) moves that axis there; then * (on - off) + off where values are
 * not [0, 1] (NAME:onehot). An index in [-depth, 0) counts from the end;
 * one outside [-depth, depth) gives a row of off values, as ONNX says.
 * Integer values (or float ones holding integers) make the outputs
 * integers: computed in fp32, exactly. */
static int op_onehot(struct nctx *c)
{
	int64_t axis;
	int rc;
	if ((rc = need(c, 0, DT_F32 | DT(DNNQ_IR_S32), false)) ||
	    (rc = need(c, 1, DT_F32 | DT_INT, true)) || (rc = need(c, 2, DT_F32 | DT_INT, true)) ||
	    (rc = a_int(c, "axis", -1, &axis)))
		return rc;
	const struct dnnq_ir_value iv = *V(c, 0), *dv = V(c, 1), *vv = V(c, 2);
	if (numel(dv) != 1 || numel(vv) != 2)
		return bad(c, DNNQ_E_SHAPE, "depth [%s] and values [%s]: one value and two "
		           "([off, on]) expected", imp_dims_str(dv), imp_dims_str(vv));
	double depth = dv->dtype == DNNQ_IR_F32 ? ((const float *)dv->data)[0] :
	               dv->dtype == DNNQ_IR_S64 ? (double)((const int64_t *)dv->data)[0] :
	               ((const int32_t *)dv->data)[0];
	double vals[2];
	for (size_t k = 0; k < 2; k++)
		vals[k] = vv->dtype == DNNQ_IR_F32 ? ((const float *)vv->data)[k] :
		          vv->dtype == DNNQ_IR_S64 ? (double)((const int64_t *)vv->data)[k] :
		          ((const int32_t *)vv->data)[k];
	const float off = (float)vals[0], on = (float)vals[1];
	char t0[DNNQ_REAL_STR], t1[DNNQ_REAL_STR];
	if (!(depth >= 1 && depth <= IMP_MAX_DIM))
		return bad(c, DNNQ_E_RANGE, "depth %s: want 1..%lld", dnnq_real_str(t0, depth),
		           (long long)IMP_MAX_DIM);
	/* integers are carried as float32, exact within +-2^24 */
	if (!isfinite(off) || !isfinite(on) ||
	    (vv->dtype != DNNQ_IR_F32 && (fabs(vals[0]) > 0x1p24 || fabs(vals[1]) > 0x1p24)))
		return bad(c, DNNQ_E_RANGE, "values [%s, %s]: want finite values (integers within "
		           "+-2^24)", dnnq_real_str(t0, vals[0]), dnnq_real_str(t1, vals[1]));
	uint32_t r = iv.ndim + 1;
	if ((rc = norm_axis(c, &axis, r, "axis")))
		return rc;
	if (iv.ndim + 1 > DNNQ_IR_MAX_DIMS || numel(&iv) * (size_t)depth > ONEHOT_MAX)
		return bad(c, DNNQ_E_UNSUPPORTED, "indices '%.80s' [%s]: want rank < %d, at most "
		           "2^22 of them times depth", iname(c, 0), imp_dims_str(&iv),
		           DNNQ_IR_MAX_DIMS);
	if (iv.batched && axis == 0)
		return batch_moves(c, "OneHot on axis 0, the batch's");
	int64_t t = (int64_t)depth, d[DNNQ_IR_MAX_DIMS];
	memcpy(d, iv.dims, iv.ndim * sizeof *d);
	d[iv.ndim] = 1;
	c->nin = 1;
	const bool ints = off == floorf(off) && on == floorf(on);
	c->ints = ints;
	if (iv.dtype == DNNQ_IR_S32) {
		c->node.op = DNNQ_IR_CAST;
		if ((rc = same_out(c, &iv, DNNQ_IR_F32)) || (rc = link_as(c, ":float", 1)))
			return rc;
	} else if (!iv.integer) {
		if ((rc = trunc_indices(c)))
			return rc;
		c->ints = ints;
	}
	if ((rc = onehot_rows(c, t, r, d, iv.batched)))
		return rc;
	uint32_t nin = 2;
	if (axis != (int64_t)iv.ndim) {
		/* the rows' last axis moved to axis, the others in order */
		if ((rc = link_as(c, ":last", 2)) || (rc = engine_kind(c, "transpose")))
			return rc;
		for (uint32_t i = 0; i < r; i++) {
			int64_t at = (int64_t)i;
			c->node.ints[i] = at < axis ? at : at == axis ? iv.ndim : at - 1;
			d[i] = at < axis ? iv.dims[i] : at == axis ? t : iv.dims[i - 1];
		}
		c->node.nints = r;
		c->nin = nin = 1;
		if ((rc = set_out(c, 0, DNNQ_IR_F32, r, d, iv.batched)))
			return rc;
	}
	if (off == 0.0f && on == 1.0f)
		return 0;
	if ((rc = link_as(c, ":onehot", nin)))
		return rc;
	int64_t one = 1;
	float scale = on - off;
	return affine_const(c, scale != 1.0f ? &scale : NULL, off != 0.0f ? &off : NULL, 1, &one);
}

/* Gather with constant indices (each in [-n, n)) on one axis, not the
 * batch; computed indices into a constant: op_embed. Indices of rank 2 or
 * more (torch's as_strided, exported as a Gather of the flattened tensor)
 * gather their flattening (NAME:flat), then a Reshape gives their dims. */
static int op_gather(struct nctx *c)
{
	struct dnnq_ir_node *n = &c->node;
	int rc;
	if (V(c, 0) && V(c, 1) && V(c, 0)->data && !V(c, 1)->data)
		return op_embed(c);
	if (V(c, 0) && V(c, 1) && !V(c, 1)->data && V(c, 1)->dtype == DNNQ_IR_F32)
		return gather_rows(c);
	if ((rc = engine_kind(c, "gather")) || (rc = need(c, 0, DT_F32 | DT_Q8, false)) ||
	    (rc = need(c, 1, DT(DNNQ_IR_S64) | DT(DNNQ_IR_S32), true)) ||
	    (rc = a_int(c, "axis", 0, &n->axis)))
		return rc;
	/* copies: NAME:flat moves the values table */
	const struct dnnq_ir_value x = *V(c, 0), iv = *V(c, 1);
	if ((rc = norm_axis(c, &n->axis, x.ndim, "axis")))
		return rc;
	n->axis = ir_axis(c, 0, n->axis);
	if (x.batched && n->axis == 0)
		return batch_mixes(c, "gathering along the batch (axis 0)");
	if (!numel(&iv) || numel(&iv) > (1 << 24) || x.ndim + iv.ndim > DNNQ_IR_MAX_DIMS + 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "indices [%s] on [%s]: 1..2^24 values, and at most "
		           "rank %d out", imp_dims_str(&iv), imp_dims_str(&x), DNNQ_IR_MAX_DIMS);
	if (iv.ndim > 1 && in_moved(c, 0))
		return batch_moves(c, "indices of rank %u on a value whose batch a Transpose moved",
		                   iv.ndim);
	int64_t dim = x.dims[n->axis];
	for (size_t k = 0; k < numel(&iv); k++) {
		int64_t i = iv.dtype == DNNQ_IR_S64 ? ((const int64_t *)iv.data)[k]
		                                    : ((const int32_t *)iv.data)[k];
		if (i < -dim || i >= dim)
			return bad(c, DNNQ_E_RANGE, "indices[%zu] = %lld: axis %lld has %lld elements",
			           k, (long long)i, (long long)n->axis, (long long)dim);
	}
	int64_t d[DNNQ_IR_MAX_DIMS];
	uint32_t r = 0;
	for (uint32_t i = 0; i < x.ndim; i++)
		if (i != n->axis || iv.ndim)
			d[r++] = i == n->axis ? (int64_t)numel(&iv) : x.dims[i];
	/* ONNX's [k, N, ...] is the IR's [N, k, ...]; a scalar's [N, ...] both */
	c->moved[0] = in_moved(c, 0) && (n->axis != 1 || iv.ndim);
	if ((rc = set_out(c, 0, x.dtype, r, d, x.batched)) || iv.ndim < 2)
		return rc;
	if ((rc = link_as(c, ":flat", 2)))
		return rc;
	r = 0;
	for (uint32_t i = 0; i < x.ndim; i++)
		for (uint32_t k = 0; k < (i == n->axis ? iv.ndim : 1); k++)
			d[r++] = i == n->axis ? iv.dims[k] : x.dims[i];
	c->node.op = DNNQ_IR_RESHAPE;
	c->nin = 1;
	return set_out(c, 0, x.dtype, r, d, x.batched);
}

/* ScatterElements' and ScatterND's reduction (opsets 16, 18) into the
 * node's mode: 0 none, 1 add, 2 mul, 3 max, 4 min (the engine's op). */
static int reduction(struct nctx *c)
{
	static const char *const names[] = { "none", "add", "mul", "max", "min" };
	char r[16];
	int rc = a_str(c, "reduction", "none", r, sizeof r);
	uint32_t m = 0;
	while (!rc && m < 5 && strcmp(r, names[m]))
		m++;
	if (!rc && m == 5)
		return bad(c, DNNQ_E_UNSUPPORTED, "reduction '%.15s': want none, add, mul, max or min",
		           r);
	c->node.mode = m;
	return rc;
}

/* The constant inputs of an indexed move beside computed ones (a
 * `zeros(...).scatter_(...)` whose zeros folded, constant indices beside
 * computed updates): integers as floats holding them, then each expanded
 * to the batch (expand_consts): the engine's node reads activations only.
 * With the batch fixed, onnx/import-batch.c expands them as it lifts or
 * keeps the node. A constant that stays beside the batch is refused,
 * naming it, and so is a node of constants only. */
static int indexed_consts(struct nctx *c, const char *inputs)
{
	int rc;
	bool computed = false;
	for (size_t i = 0; i < c->nin; i++) {
		const struct dnnq_ir_value *v = V(c, i);
		if (!v)
			return bad(c, DNNQ_E_FORMAT, "input %zu is missing", i);
		computed |= !v->data;
		if (v->data && v->dtype != DNNQ_IR_F32 && (rc = imp_int_const(c, i)))
			return rc;
	}
	if (!computed)
		return bad(c, DNNQ_E_UNSUPPORTED, "%s all constant: want one computed", inputs);
	if ((rc = expand_consts(c)))
		return rc;
	for (size_t i = 0; i < c->nin && !c->m->fixed; i++)
		if (V(c, i)->data)
			return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' [%s] is a constant beside "
			           "the batch: want a dim 0 of 1 to expand it to the batch", i,
			           iname(c, i), imp_dims_str(V(c, i)));
	return 0;
}

/* GatherND (opsets 11..13) and ScatterND (11..18) by computed indices: the
 * registry's gather_nd and scatter_nd (engine/ops/, kind), the node's axis
 * ONNX's batch_dims (ScatterND's 0). The data (and ScatterND's updates) are
 * computed floats, the indices int32 (an input, ArgMax's, TopK's) or floats
 * holding integers, checked every run; tuples of k indices address the
 * data's dims from batch_dims on. Tuples that address dim 0 (batch_dims
 * 0) of a batched value have the import fix the batch to 1, and the batch
 * fix then lifts the node (axis 1, the engine's batch in front). */
static int nd_computed(struct nctx *c, const char *kind)
{
	struct dnnq_ir_node *n = &c->node;
	bool scatter = !strcmp(kind, "scatter_nd");
	int64_t b = 0;
	int rc;
	if ((!scatter && (rc = a_int(c, "batch_dims", 0, &b))) || (scatter && (rc = reduction(c))))
		return rc;
	/* tuples that address dim 0 of a batched value: the batch fixed first,
	 * so no constant is expanded to a batch that goes */
	for (uint32_t k = 0; k < c->nin; k++)
		if (b == 0 && V(c, k) && V(c, k)->batched)
			return batch_moves(c, "%s's index tuples address dim 0, the batch",
			                   scatter ? "ScatterND" : "GatherND");
	if ((rc = indexed_consts(c, scatter ? "data, indices and updates" : "data and indices")) ||
	    (rc = engine_kind(c, kind)) || (rc = need(c, 0, DT_F32, false)) ||
	    (rc = need(c, 1, DT(DNNQ_IR_S32) | DT_F32, false)) ||
	    (scatter && (rc = need(c, 2, DT_F32, false))))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0), *iv = V(c, 1), *u = scatter ? V(c, 2) : NULL;
	char xs[128], is[128];
	snprintf(xs, sizeof xs, "%s", imp_dims_str(x));
	snprintf(is, sizeof is, "%s", imp_dims_str(iv));
	if (iv->dtype == DNNQ_IR_F32 && !iv->integer)
		return bad(c, DNNQ_E_DTYPE, "indices '%.80s' are floats: want integers (an input, or "
		           "integer arithmetic on one)", iname(c, 1));
	int64_t k = iv->ndim ? iv->dims[iv->ndim - 1] : 0, d[DNNQ_IR_MAX_DIMS];
	bool ok = b >= 0 && b < (int64_t)iv->ndim && k >= 1 && b + k <= (int64_t)x->ndim &&
	          iv->ndim - 1 + x->ndim - k - b <= DNNQ_IR_MAX_DIMS - 1;
	for (int64_t i = 0; ok && i < b; i++)
		ok = iv->dims[i] == x->dims[i];
	uint32_t r = 0;
	for (uint32_t i = 0; ok && i + 1 < iv->ndim; i++)
		d[r++] = iv->dims[i];
	for (uint32_t i = (uint32_t)(b + k); ok && i < x->ndim; i++)
		d[r++] = x->dims[i];
	for (uint32_t i = 0; ok && u && i <= r; i++)
		ok = u->ndim == r && (i == r || u->dims[i] == d[i]);
	if (!ok)
		return bad(c, DNNQ_E_SHAPE, "indices [%s] on [%s], batch_dims %lld%s: want tuples of "
		           "1..rank - batch_dims indices, the batch dims alike%s", is, xs, (long long)b,
		           u ? ", updates of another shape" : "",
		           u ? ", updates of the indices' dims but the last, then the data's after "
		               "the tuples" : "");
	for (uint32_t i = 0; i < c->nin; i++)
		if (in_moved(c, i))
			return batch_moves(c, "tuples into a value whose batch a Transpose moved");
	if (x->batched != iv->batched || (u && u->batched != x->batched))
		return bad(c, DNNQ_E_UNSUPPORTED, "data '%.80s' %s the batch, indices '%.80s' %s: "
		           "want all batched or none", iname(c, 0), x->batched ? "has" : "lacks",
		           iname(c, 1), iv->batched ? "have it" : "lack it");
	n->axis = b;
	return scatter ? set_out(c, 0, DNNQ_IR_F32, x->ndim, x->dims, x->batched)
	               : set_out(c, 0, DNNQ_IR_F32, r, d, x->batched);
}

/* ScatterND of values not all constant (constants fold, onnx/import-fold.c). */
static int op_scatternd(struct nctx *c)
{
	return nd_computed(c, "scatter_nd");
}

/* GatherND (opsets 11..13) with constant indices: a Gather on axis 0 of
 * the input flattened over the dims the index tuples address, batch_dims
 * included (NAME:nd), by each tuple's flat position (NAME:indices, the
 * indices' shape less the last dim): the output is GatherND's,
 * indices.shape[:-1] + data.shape[batch_dims + k:]. Its tuples address dim
 * 0, so a batched input has the import fix the batch to 1. */
static int op_gathernd(struct nctx *c)
{
	int64_t b, *flat;
	int rc;
	if (V(c, 1) && !V(c, 1)->data)
		return nd_computed(c, "gather_nd");
	if ((rc = need(c, 0, DT_F32 | DT_Q8, false)) ||
	    (rc = need(c, 1, DT(DNNQ_IR_S64) | DT(DNNQ_IR_S32), true)) ||
	    (rc = a_int(c, "batch_dims", 0, &b)))
		return rc;
	/* copies: the nodes made here move the values table */
	const struct dnnq_ir_value x = *V(c, 0), iv = *V(c, 1);
	if (x.data)
		return bad(c, DNNQ_E_UNSUPPORTED, "input 0 '%.80s' is a constant: want an activation",
		           iname(c, 0));
	if (x.batched)
		return batch_moves(c, "GatherND's index tuples address dim 0, the batch");
	int64_t k = iv.ndim ? iv.dims[iv.ndim - 1] : 0, lead = 1, span = 1, outer = 1;
	bool ok = b >= 0 && b < (int64_t)iv.ndim && k >= 1 && b + k <= (int64_t)x.ndim;
	for (int64_t i = 0; ok && i < b + k; i++) {
		ok = i >= b || iv.dims[i] == x.dims[i];
		lead *= x.dims[i];
		span *= i < b ? 1 : x.dims[i];
		outer *= i < b ? x.dims[i] : 1;
	}
	if (!ok)
		return bad(c, DNNQ_E_SHAPE, "indices [%s] on [%s], batch_dims %lld: want tuples of 1.."
		           "rank - batch_dims indices, the batch dims alike", imp_dims_str(&iv),
		           imp_dims_str(&x), (long long)b);
	size_t nt = numel(&iv) / (size_t)k;
	if ((rc = imp_const_alloc(c->m, (nt ? nt : 1) * sizeof *flat, c->who, (void **)&flat)))
		return rc;
	for (size_t t = 0; t < nt; t++) {
		int64_t f = 0;
		for (int64_t j = 0; j < k; j++) {
			size_t e = t * (size_t)k + (size_t)j;
			int64_t d = x.dims[b + j], v = iv.dtype == DNNQ_IR_S64
			                                ? ((const int64_t *)iv.data)[e]
			                                : ((const int32_t *)iv.data)[e];
			if (v < -d || v >= d) {
				free(flat);
				return bad(c, DNNQ_E_RANGE, "indices[%zu] = %lld: dim %lld has %lld elements",
				           e, (long long)v, (long long)(b + j), (long long)d);
			}
			f = f * d + (v < 0 ? v + d : v);
		}
		flat[t] = (int64_t)(t / (nt / (size_t)outer)) * span + f;
	}
	int64_t d[DNNQ_IR_MAX_DIMS] = { lead };
	uint32_t r = 1;
	for (uint32_t i = (uint32_t)(b + k); i < x.ndim; i++)
		d[r++] = x.dims[i];
	c->node.op = DNNQ_IR_RESHAPE;
	c->nin = 1;
	if ((rc = set_out(c, 0, x.dtype, r, d, false)) || (rc = link_as(c, ":nd", 1))) {
		free(flat);
		return rc;
	}
	struct dnnq_ir_value fv = { .name = (char *)c->name, .dtype = DNNQ_IR_S64,
	                            .ndim = iv.ndim - 1, .producer = -1 };
	memcpy(fv.dims, iv.dims, fv.ndim * sizeof *fv.dims);
	int32_t id = new_constant(c, &fv, ":indices", flat);
	if (id < 0)
		return id;
	c->in[1] = id;
	c->nin = 2;
	return op_gather(c);
}

/* GatherElements (opsets 11, 13: torch.gather's export): the registry's
 * gather_elements (engine/ops/gather_elements.c), the output of the
 * indices' shape. The indices are computed (int32: TopK's or ArgMax's
 * indices, an int32 input; or floats holding integers) or a constant
 * (each checked here, negative ones counted from the end); the input an
 * activation. On the batch (axis 0), or by constant indices (whose dim 0
 * is theirs, not the batch) into a batched input, the import fixes the
 * batch to 1. */
static int op_gather_elements(struct nctx *c)
{
	struct dnnq_ir_node *n = &c->node;
	int rc;
	if ((rc = engine_kind(c, "gather_elements")) || (rc = need(c, 0, DT_F32, false)) ||
	    (rc = need(c, 1, DT(DNNQ_IR_S64) | DT(DNNQ_IR_S32) | DT_F32, false)) ||
	    (rc = a_int(c, "axis", 0, &n->axis)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0), *iv = V(c, 1);
	if (x->data)
		return bad(c, DNNQ_E_UNSUPPORTED, "input 0 '%.80s' is a constant gathered by "
		           "computed indices: want an activation", iname(c, 0));
	if (iv->dtype == DNNQ_IR_F32 && !iv->integer)
		return bad(c, DNNQ_E_DTYPE, "indices '%.80s' are floats: want integers (an input, or "
		           "integer arithmetic on one)", iname(c, 1));
	if (iv->ndim != x->ndim || !x->ndim)
		return bad(c, DNNQ_E_SHAPE, "indices '%.80s' [%s] on '%.80s' [%s]: want the input's "
		           "rank (at least 1)", iname(c, 1), imp_dims_str(iv), iname(c, 0),
		           imp_dims_str(x));
	if ((rc = norm_axis(c, &n->axis, x->ndim, "axis")))
		return rc;
	if (in_moved(c, 0) || in_moved(c, 1))
		return batch_moves(c, "gathering elements of a value whose batch a Transpose moved");
	if (x->batched && n->axis == 0)
		return batch_mixes(c, "gathering elements along the batch (axis 0)");
	if (x->batched && iv->data)
		return batch_moves(c, "constant indices [%s] into a batched input: the output has "
		                   "their dim 0", imp_dims_str(iv));
	if (x->batched != iv->batched)
		return bad(c, DNNQ_E_UNSUPPORTED, "indices '%.80s' %s the batch and input '%.80s' "
		           "%s: want both batched or neither", iname(c, 1),
		           iv->batched ? "have" : "lack", iname(c, 0), x->batched ? "has" : "lacks");
	for (uint32_t i = 0; i < x->ndim; i++)
		if (i != n->axis && iv->dims[i] > x->dims[i])
			return bad(c, DNNQ_E_SHAPE, "indices '%.80s' [%s] on '%.80s' [%s]: dim %u is "
			           "larger than the input's (only the axis, %lld, may be)", iname(c, 1),
			           imp_dims_str(iv), iname(c, 0), imp_dims_str(x), i, (long long)n->axis);
	int64_t dim = x->dims[n->axis];
	for (size_t k = 0; iv->data && k < numel(iv); k++) {
		int64_t i = iv->dtype == DNNQ_IR_S64 ? ((const int64_t *)iv->data)[k]
		          : iv->dtype == DNNQ_IR_S32 ? ((const int32_t *)iv->data)[k]
		          : (int64_t)((const float *)iv->data)[k];
		if (i < -dim || i >= dim)
			return bad(c, DNNQ_E_RANGE, "indices[%zu] = %lld: axis %lld has %lld elements",
			           k, (long long)i, (long long)n->axis, (long long)dim);
	}
	return set_out(c, 0, DNNQ_IR_F32, iv->ndim, iv->dims, x->batched);
}

/* MaxUnpool (opsets 9, 11; SegNet's decoder) of a 4-D image: the
 * registry's maxunpool (engine/ops/maxunpool.c, fp32), the values and
 * their indices (MaxPool's Indices, int32 here; or floats holding
 * integers) of one shape, positions in the output [N, C, Ho, Wo]
 * flattened; Ho and Wo from kernel_shape, strides and pads, or a constant
 * output_shape (input 2) of that rank and channels, at least as large. */
static int op_maxunpool(struct nctx *c)
{
	int64_t k[2], s[2], p[4], os[4];
	ptrdiff_t nos = -1;
	int rc;
	if ((rc = engine_kind(c, "maxunpool")) || (rc = need(c, 0, DT_F32, false)) ||
	    (rc = need(c, 1, DT(DNNQ_IR_S32) | DT_F32, false)) ||
	    (rc = need_rank(c, 0, 4, "only 2-D MaxUnpool (a 4-D NCHW input) is supported")) ||
	    (rc = const_ints(c, 2, os, 4, &nos)))
		return rc;
	if (!attr(c, "kernel_shape"))
		return bad(c, DNNQ_E_FORMAT, "attribute 'kernel_shape' is missing");
	if ((rc = a_pair(c, "kernel_shape", 1, 1, k, 2)) || (rc = a_pair(c, "strides", 1, 1, s, 2)) ||
	    (rc = a_pair(c, "pads", 0, 0, p, 4)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0), *iv = V(c, 1);
	if (iv->dtype == DNNQ_IR_F32 && !iv->integer)
		return bad(c, DNNQ_E_DTYPE, "indices '%.80s' are floats: want integers (MaxPool's "
		           "Indices, or integer arithmetic on them)", iname(c, 1));
	bool same = iv->ndim == 4 && iv->batched == x->batched;
	for (uint32_t i = 0; same && i < 4; i++)
		same = iv->dims[i] == x->dims[i];
	if (!same) {
		char xs[128];
		snprintf(xs, sizeof xs, "%s", imp_dims_str(x));
		return bad(c, DNNQ_E_SHAPE, "indices '%.80s' [%s], values [%s]: want the same shape",
		           iname(c, 1), imp_dims_str(iv), xs);
	}
	if (in_moved(c, 0) || in_moved(c, 1))
		return batch_moves(c, "unpooling a value whose batch a Transpose moved");
	int64_t d[4] = { x->dims[0], x->dims[1], 0, 0 };
	for (int i = 0; i < 2; i++)
		d[2 + i] = (x->dims[2 + i] - 1) * s[i] + k[i] - p[i] - p[2 + i];
	if (nos >= 0) {
		if (nos != 4 || os[1] != d[1] || os[2] < d[2] || os[3] < d[3])
			return bad(c, DNNQ_E_SHAPE, "output_shape of %td values (channels %lld, %lld x "
			           "%lld): want [N, %lld, H, W], H and W at least %lld x %lld", nos,
			           nos > 1 ? (long long)os[1] : -1LL, nos > 2 ? (long long)os[2] : -1LL,
			           nos > 3 ? (long long)os[3] : -1LL, (long long)d[1],
			           (long long)d[2], (long long)d[3]);
		d[2] = os[2];
		d[3] = os[3];
	}
	if (d[2] < 1 || d[3] < 1)
		return bad(c, DNNQ_E_SHAPE, "the output would be %lld x %lld", (long long)d[2],
		           (long long)d[3]);
	return set_out(c, 0, DNNQ_IR_F32, 4, d, x->batched);
}

/* ScatterElements (opsets 11..18; Scatter, opsets 9 and 10, is the same
 * without reduction; torch's scatter, scatter_add, scatter_reduce): the
 * registry's scatter_elements (engine/ops/scatter_elements.c, fp32), the
 * output of the data's shape. Data, indices and updates are computed, of
 * one rank, the indices int32 (an input, ArgMax's, TopK's) or floats
 * holding integers, checked every run; indices and updates of one shape,
 * each dim but the axis at most the data's. On the batch (axis 0) the
 * import fixes the batch to 1. */
static int op_scatter_elements(struct nctx *c)
{
	struct dnnq_ir_node *n = &c->node;
	int rc;
	if ((rc = indexed_consts(c, "data, indices and updates")) ||
	    (rc = engine_kind(c, "scatter_elements")) || (rc = need(c, 0, DT_F32, false)) ||
	    (rc = need(c, 1, DT(DNNQ_IR_S32) | DT_F32, false)) ||
	    (rc = need(c, 2, DT_F32, false)) || (rc = a_int(c, "axis", 0, &n->axis)) ||
	    (rc = reduction(c)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0), *iv = V(c, 1), *u = V(c, 2);
	char xs[128], is[128], us[128];
	snprintf(xs, sizeof xs, "%s", imp_dims_str(x));
	snprintf(is, sizeof is, "%s", imp_dims_str(iv));
	snprintf(us, sizeof us, "%s", imp_dims_str(u));
	if (iv->dtype == DNNQ_IR_F32 && !iv->integer)
		return bad(c, DNNQ_E_DTYPE, "indices '%.80s' are floats: want integers (an input, or "
		           "integer arithmetic on one)", iname(c, 1));
	bool ok = x->ndim && iv->ndim == x->ndim && u->ndim == x->ndim;
	for (uint32_t i = 0; ok && i < x->ndim; i++)
		ok = iv->dims[i] == u->dims[i];
	if (!ok)
		return bad(c, DNNQ_E_SHAPE, "data '%.80s' [%s], indices [%s], updates [%s]: want one "
		           "rank (at least 1), the indices' shape the updates'", iname(c, 0), xs, is,
		           us);
	if ((rc = norm_axis(c, &n->axis, x->ndim, "axis")))
		return rc;
	for (uint32_t i = 0; i < x->ndim; i++)
		if (i != n->axis && iv->dims[i] > x->dims[i])
			return bad(c, DNNQ_E_SHAPE, "indices [%s] on '%.80s' [%s]: dim %u is larger "
			           "than the data's (only the axis, %lld, may be)", is, iname(c, 0), xs,
			           i, (long long)n->axis);
	if (in_moved(c, 0) || in_moved(c, 1) || in_moved(c, 2))
		return batch_moves(c, "scattering into a value whose batch a Transpose moved");
	if (x->batched && n->axis == 0)
		return batch_mixes(c, "scattering along the batch (axis 0)");
	if (x->batched != iv->batched || x->batched != u->batched)
		return bad(c, DNNQ_E_UNSUPPORTED, "data '%.80s' %s the batch, indices %s, updates "
		           "%s: want all batched or none", iname(c, 0), x->batched ? "has" : "lacks",
		           iv->batched ? "have it" : "lack it", u->batched ? "have it" : "lack it");
	return set_out(c, 0, DNNQ_IR_F32, x->ndim, x->dims, x->batched);
}

/* GridSample (opset 16: mode bilinear, nearest, bicubic; 20 names them
 * linear, nearest, cubic and allows N-D: 2-D here), padding_mode zeros,
 * border, reflection, align_corners: the registry's grid_sample
 * (engine/ops/grid_sample.c), fp32, mode | padding << 2 | align << 4 in
 * the node's mode. X [N, C, H, W] and grid [N, Ho, Wo, 2] computed, the
 * same batch; Y [N, C, Ho, Wo]. */
static int op_grid_sample(struct nctx *c)
{
	static const char *const modes[2][3] = { { "bilinear", "nearest", "bicubic" },
	                                         { "linear", "nearest", "cubic" } };
	static const char *const pads[3] = { "zeros", "border", "reflection" };
	const char *const *names = modes[c->m->opset >= 20];
	char mode[32], pad[32];
	int64_t align;
	int rc;
	if ((rc = engine_kind(c, "grid_sample")) || (rc = need(c, 0, DT_F32, false)) ||
	    (rc = need(c, 1, DT_F32, false)) || (rc = a_str(c, "mode", names[0], mode, sizeof mode)) ||
	    (rc = a_str(c, "padding_mode", "zeros", pad, sizeof pad)) ||
	    (rc = a_int(c, "align_corners", 0, &align)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0), *g = V(c, 1);
	uint32_t m = 0, p = 0;
	while (m < 3 && strcmp(mode, names[m]))
		m++;
	while (p < 3 && strcmp(pad, pads[p]))
		p++;
	if (m == 3 || p == 3 || (align != 0 && align != 1))
		return bad(c, DNNQ_E_UNSUPPORTED, "mode '%.31s', padding_mode '%.31s', align_corners "
		           "%lld: want %s, %s or %s (opset %lld), zeros, border or reflection, and 0 "
		           "or 1", mode, pad, (long long)align, names[0], names[1], names[2],
		           (long long)c->m->opset);
	if (x->data || g->data)
		return bad(c, DNNQ_E_UNSUPPORTED, "input %d '%.80s' is a constant: want the image and "
		           "the grid computed", x->data ? 0 : 1, iname(c, x->data ? 0 : 1));
	if (x->ndim != 4 || g->ndim != 4 || g->dims[3] != 2 || g->dims[0] != x->dims[0] ||
	    g->batched != x->batched)
		return bad(c, DNNQ_E_SHAPE, "X '%.80s' [%s], grid '%.80s' [%s]: want a 2-D sample, "
		           "X [N, C, H, W] and grid [N, Ho, Wo, 2] of the same batch", iname(c, 0),
		           imp_dims_str(x), iname(c, 1),
		           imp_dims_str(g));
	if (in_moved(c, 0) || in_moved(c, 1))
		return batch_moves(c, "sampling a value whose batch a Transpose moved");
	c->node.mode = m | p << 2 | (uint32_t)align << 4;
	int64_t d[4] = { x->dims[0], x->dims[1], g->dims[1], g->dims[2] };
	return set_out(c, 0, DNNQ_IR_F32, 4, d, x->batched);
}

/* ---- vision: 1-D pooling, GlobalMaxPool -------------------------------------------- */

/* A 1-D or 3-D (nd) node's ints attribute: count values >= lo into out
 * (absent: out untouched). */
static int a_nd(struct nctx *c, int nd, const char *name, int64_t lo, size_t count,
                int64_t *out)
{
	const int64_t *v;
	ptrdiff_t n;
	int rc = a_ints(c, name, &v, &n);
	if (rc || n < 0)
		return rc;
	if ((size_t)n != count)
		return bad(c, DNNQ_E_SHAPE, "attribute '%s' has %td values: %zu for a %d-D node",
		           name, n, count, nd);
	for (size_t i = 0; i < count; i++)
		if (v[i] < lo || v[i] > IMP_MAX_DIM)
			return bad(c, DNNQ_E_RANGE, "attribute '%s'[%zu] = %lld: out of range", name, i,
			           (long long)v[i]);
	memcpy(out, v, count * sizeof *v);
	return 0;
}

/* The 1-D geometry over L of [N, C, L] (input 0) as the 2-D one with H 1
 * (kernel, stride, dilation 1 and no pads on it): n->kernel[1] set (the
 * kernel_shape attribute, when given, must agree), strides, dilations,
 * pads and auto_pad read; *o the output length. */
static int geometry1d(struct nctx *c, int64_t *o)
{
	struct dnnq_ir_node *n = &c->node;
	int64_t pads[2] = { 0, 0 }, k = n->kernel[1];
	char ap[32];
	int rc;
	n->kernel[0] = n->strides[0] = n->dilations[0] = 1;
	n->strides[1] = n->dilations[1] = 1;
	if ((rc = a_nd(c, 1, "kernel_shape", 1, 1, &k)) ||
	    (rc = a_nd(c, 1, "strides", 1, 1, &n->strides[1])) ||
	    (rc = a_nd(c, 1, "dilations", 1, 1, &n->dilations[1])) ||
	    (rc = a_nd(c, 1, "pads", 0, 2, pads)) ||
	    (rc = a_str(c, "auto_pad", "NOTSET", ap, sizeof ap)))
		return rc;
	if (n->kernel[1] && k != n->kernel[1])
		return bad(c, DNNQ_E_SHAPE, "kernel_shape [%lld] disagrees with the weight [%s]",
		           (long long)k, imp_dims_str(V(c, 1)));
	n->kernel[1] = k;
	enum autopad a;
	if ((rc = autopad_of(c, ap, &a)))
		return rc;
	if ((rc = out_len(c, 0, V(c, 0)->dims[2], n->kernel[1], n->strides[1], n->dilations[1],
	                  &pads[0], &pads[1], a, n->ceil_mode, o)))
		return rc;
	n->pads[0] = n->pads[2] = 0;
	n->pads[1] = pads[0];
	n->pads[3] = pads[1];
	return 0;
}

/* MaxPool / AveragePool over L of [N, C, L] (storage_order and
 * count_include_pad read by op_pool). */
static int op_pool1d(struct nctx *c)
{
	struct dnnq_ir_node *n = &c->node;
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t o;
	int rc;
	n->kernel[1] = 0;
	if (!attr(c, "kernel_shape"))
		return bad(c, DNNQ_E_FORMAT, "attribute 'kernel_shape' is missing");
	if ((rc = a_bool(c, "ceil_mode", false, &n->ceil_mode)) || (rc = geometry1d(c, &o)))
		return rc;
	int64_t d[3] = { x->dims[0], x->dims[1], o };
	return (rc = set_out(c, 0, DNNQ_IR_F32, 3, d, x->batched)) ? rc : pool_indices(c, 3, d);
}

/* A 1-D node over L of [N, C, L] (a 3-D weight, input 1, [A, B, K]) as
 * its 2-D twin with H 1 (c->node's op, attributes set for 2-D; node
 * NAME:2d, its weight [A, B, 1, K]) between two Reshapes, [N, C, 1, L] in
 * (NAME:1d) and [N, M, L'] out (NAME, M channels of length o), so the
 * reference, the lowering and auto precision see the 2-D node they know;
 * the three are one precision unit named NAME, as the user's node. */
static int as_2d(struct nctx *c, int64_t M, int64_t o)
{
	struct dnnq_ir_node *n = &c->node;
	const struct dnnq_ir_value *x = V(c, 0), *w = V(c, 1);
	enum dnnq_ir_op op = n->op;
	/* x and w move when values are added */
	int64_t N = x->dims[0], C = x->dims[1], L = x->dims[2], d4[4] = { N, C, 1, L },
		y4[4] = { N, M, 1, o };
	bool batched = x->batched;
	size_t nw = numel(w);
	float *f = malloc(nw * sizeof *f);
	if (!f)
		return DNNQ_E_NOMEM;
	memcpy(f, w->data, nw * sizeof *f);
	struct dnnq_ir_value v = *w;
	v.ndim = 4;
	v.dims[2] = 1;
	v.dims[3] = w->dims[2];
	int32_t id = new_constant(c, &v, ":2d", f);
	if (id < 0)
		return id;
	c->in[1] = id;
	c->whole = ++c->m->wholes;    /* one precision unit, named NAME */
	n->op = DNNQ_IR_RESHAPE;
	int rc;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, d4, batched)) || (rc = link_as(c, ":1d", 1)))
		return rc;
	n->op = op;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, y4, batched)) || (rc = link_as(c, ":2d", c->nin)))
		return rc;
	n->op = DNNQ_IR_RESHAPE;
	c->nin = 1;
	int64_t y3[3] = { N, M, o };
	return set_out(c, 0, DNNQ_IR_F32, 3, y3, batched);
}

/* Conv over L of [N, C, L] (a 3-D weight [M, C/g, K]): the 2-D Conv with
 * H 1 (as_2d). */
static int op_conv1d(struct nctx *c)
{
	struct dnnq_ir_node *n = &c->node;
	const struct dnnq_ir_value *x = V(c, 0), *w = V(c, 1);
	int rc = need_rank(c, 1, 3, "the weight of a 1-D convolution is 3-D");
	if (rc || (rc = a_int(c, "group", 1, &n->group)))
		return rc;
	int64_t g = n->group, C = x->dims[1], M = w->dims[0], o, merged[4];
	if (g < 1 || g > C || C % g || M % g || w->dims[1] * g != C || M < 1 || w->dims[2] < 1)
		return bad(c, DNNQ_E_SHAPE, "group %lld, input channels %lld, weight [%s] do not agree",
		           (long long)g, (long long)C, imp_dims_str(w));
	imp_merged_pads(c->m, c->index, merged);
	if (merged[0] || merged[1] || merged[2] || merged[3])
		return bad(c, DNNQ_E_UNSUPPORTED, "a Pad before a 1-D convolution is not supported");
	n->kernel[1] = w->dims[2];
	if ((rc = geometry1d(c, &o)) || (rc = bias(c, 2, DT_F32, M)))
		return rc;
	n->op = DNNQ_IR_CONV;
	return as_2d(c, M, o);
}

/* GlobalMaxPool: a MaxPool whose window is the whole image (3-D: L; 5-D:
 * D*H by W, gpool3d). */
static int op_gmaxpool(struct nctx *c)
{
	struct dnnq_ir_node *n = &c->node;
	int rc = need(c, 0, DT_F32, false);
	if (rc)
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (x->ndim == 5)
		return gpool3d(c);
	if (x->ndim != 3 && x->ndim != 4)
		return bad(c, DNNQ_E_UNSUPPORTED, "input [%s]: 3-D, 4-D or 5-D expected",
		           imp_dims_str(x));
	n->kernel[0] = x->ndim == 4 ? x->dims[2] : 1;
	n->kernel[1] = x->dims[x->ndim - 1];
	int64_t d[4] = { x->dims[0], x->dims[1], 1, 1 };
	return set_out(c, 0, DNNQ_IR_F32, x->ndim, d, x->batched);
}

/* ---- 3-D convolution and pooling (rank-5 NCDHW) ------------------------------- */

/* The geometry over D, H, W of input 0 [N, C, D, H, W]: kernel k (the
 * weight's, or kernel_shape's: they must agree when both are there),
 * strides s, dilations dl, pads pb (begin) and pe (end),
 * auto_pad, ceil_mode (has_ceil); o the output's D, H, W. */
struct geo3 {
	int64_t k[3], s[3], dl[3], pb[3], pe[3], o[3];
};

static int geometry3d(struct nctx *c, bool has_ceil, const int64_t *wk, struct geo3 *g)
{
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t pads[6] = { 0 }, ks[3] = { 0 };
	char ap[32];
	bool ceil_mode = false;
	int rc;
	for (int i = 0; i < 3; i++)
		g->s[i] = g->dl[i] = 1;
	if ((rc = a_nd(c, 3, "kernel_shape", 1, 3, ks)) || (rc = a_nd(c, 3, "strides", 1, 3, g->s)) ||
	    (rc = a_nd(c, 3, "dilations", 1, 3, g->dl)) || (rc = a_nd(c, 3, "pads", 0, 6, pads)) ||
	    (rc = a_str(c, "auto_pad", "NOTSET", ap, sizeof ap)) ||
	    (has_ceil && (rc = a_bool(c, "ceil_mode", false, &ceil_mode))))
		return rc;
	for (int i = 0; i < 3; i++) {
		if (wk && ks[0] && ks[i] != wk[i])
			return bad(c, DNNQ_E_SHAPE, "kernel_shape [%lld,%lld,%lld] disagrees with the "
			           "weight [%s]", (long long)ks[0], (long long)ks[1], (long long)ks[2],
			           imp_dims_str(V(c, 1)));
		g->k[i] = wk ? wk[i] : ks[i];
		g->pb[i] = pads[i];
		g->pe[i] = pads[3 + i];
	}
	if (!wk && !ks[0])
		return bad(c, DNNQ_E_FORMAT, "attribute 'kernel_shape' is missing");
	enum autopad a;
	if ((rc = autopad_of(c, ap, &a)))
		return rc;
	for (int i = 0; i < 3; i++)
		if ((rc = out_len(c, i, x->dims[2 + i], g->k[i], g->s[i], g->dl[i], &g->pb[i],
		                  &g->pe[i], a, ceil_mode, &g->o[i])))
			return rc;
	c->node.ceil_mode = ceil_mode;
	return 0;
}

/* c->node as a fresh node of op (attributes at table_op's defaults). */
static void fresh(struct nctx *c, enum dnnq_ir_op op)
{
	c->node = (struct dnnq_ir_node){ .op = op, .group = 1, .strides = { 1, 1 },
	                                 .dilations = { 1, 1 }, .alpha = 1.0f,
	                                 .clip_min = -INFINITY, .clip_max = INFINITY };
}

/* c's node a fresh MatMul of c->in[0] by the constant w (op_matmul). */
static int matmul_by(struct nctx *c, int32_t w)
{
	fresh(c, DNNQ_IR_GEMM);
	c->in[1] = w;
	c->nin = 2;
	return op_matmul(c);
}

/* A Reshape of c->in[0] to dims (ndim), linked as NAME<suffix>. */
static int reshape_as(struct nctx *c, uint32_t ndim, const int64_t *dims, bool batched,
                      const char *suffix)
{
	int rc;
	fresh(c, DNNQ_IR_RESHAPE);
	c->nin = 1;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, ndim, dims, batched)))
		return rc;
	return suffix ? link_as(c, suffix, 1) : 0;
}

/* A Transpose of c->in[0] (dims d, ndim) by perm, linked as NAME<suffix>
 * (NULL: left as c's node, the last). */
static int transpose_as(struct nctx *c, uint32_t ndim, const int64_t *d, const int64_t *perm,
                        bool batched, const char *suffix)
{
	int64_t o[DNNQ_IR_MAX_DIMS];
	int rc;
	fresh(c, DNNQ_IR_ENGINE);
	if ((rc = engine_kind(c, "transpose")))
		return rc;
	for (uint32_t i = 0; i < ndim; i++) {
		c->node.ints[i] = perm[i];
		o[i] = d[perm[i]];
	}
	c->node.nints = ndim;
	c->nin = 1;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, ndim, o, batched)))
		return rc;
	return suffix ? link_as(c, suffix, 1) : 0;
}

/* c->in[0] (ONNX's batch on the IR's dim 0) times the constant w along
 * its dim `at`: that dim swapped with the last (NAME:t, a Transpose), the
 * product by w (NAME:mm, op_matmul: the engine's FC, int8 as any Linear,
 * where it is a GEMM), its dim `at` swapped back (c's node, a Transpose).
 * The product's rank may exceed x's (w's batch dims broadcast): `at`
 * counts from the end alike in both. */
static int matmul_swapped(struct nctx *c, uint32_t at, int32_t w)
{
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t d[DNNQ_IR_MAX_DIMS], perm[DNNQ_IR_MAX_DIMS];
	uint32_t r = x->ndim, back = r - 1 - at;
	bool batched = x->batched;
	int rc;
	if (batched && at == 0)
		return batch_moves(c, "input [%s]: its batch would be the product's K",
		                   imp_dims_str(x));
	for (uint32_t i = 0; i < r; i++)
		perm[i] = i == at ? r - 1 : i == r - 1 ? at : i;
	memcpy(d, x->dims, r * sizeof *d);
	if (!c->whole)    /* matmul_vector's may hold these nodes too */
		c->whole = ++c->m->wholes;
	if ((rc = transpose_as(c, r, d, perm, batched, ":t")))
		return rc;
	if ((rc = matmul_by(c, w)) || (rc = link_as(c, ":mm", 2)))
		return rc;
	r = c->out[0].ndim;
	at = r - 1 - back;
	batched = c->out[0].batched;
	for (uint32_t i = 0; i < r; i++)
		perm[i] = i == at ? r - 1 : i == r - 1 ? at : i;
	memcpy(d, c->out[0].dims, r * sizeof *d);
	return transpose_as(c, r, d, perm, batched, NULL);
}

/* MatMul of a constant A (W @ x: MLP-Mixer's token mixing, a graph's
 * adjacency) by a computed B: (x^T W^T)^T, x^T its last two dims swapped
 * (matmul_swapped) and W^T a constant (NAME:wt). */
static int matmul_const_left(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, true)) || (rc = need(c, 1, DT_F32, false)))
		return rc;
	const struct dnnq_ir_value *w = V(c, 0), *x = V(c, 1);
	if (w->ndim < 2 || x->ndim < 2)
		return bad(c, DNNQ_E_UNSUPPORTED, "ranks %u and %u: 1-D operands are not supported",
		           w->ndim, x->ndim);
	if (w->dims[w->ndim - 1] != x->dims[x->ndim - 2])
		return no_chain(c, 0, 1, w->dims[w->ndim - 1], x->dims[x->ndim - 2]);
	if (x->batched && w->ndim > x->ndim)
		return batch_moves(c, "input 1 '%.80s' [%s] is batched and of lower rank than the "
		                   "constant A [%s]: the batch would not stay dim 0 of the result",
		                   iname(c, 1), imp_dims_str(x), imp_dims_str(w));
	uint32_t at = x->ndim - 2;   /* x moves when values are added */
	int32_t id = const_swapped(c, w, ":wt");
	if (id < 0)
		return id;
	c->in[0] = c->in[1];
	return matmul_swapped(c, at, id);
}

/* MatMul of a computed value by a constant vector (NumPy's 1-D operand:
 * x @ v [K], an attention pooling's scores; v [K] @ x): the vector made the
 * matrix [K, 1] (v [1, K] for A: NAME:v), the product of the two (NAME:prod,
 * as op_matmul takes it), and the dim of 1 dropped (c's node, a Reshape). */
static int matmul_vector(struct nctx *c, size_t i)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need(c, 1, DT_F32, false)))
		return rc;
	const struct dnnq_ir_value *v = V(c, i), *x = V(c, !i);
	if (x->ndim < 2)
		return bad(c, DNNQ_E_UNSUPPORTED, "ranks %u and %u: a product of two vectors is not "
		           "supported", V(c, 0)->ndim, V(c, 1)->ndim);
	int64_t kx = x->dims[x->ndim - 2 + i];
	if (v->dims[0] != kx)
		return no_chain(c, 0, 1, i ? kx : v->dims[0], i ? v->dims[0] : kx);
	if (i == 0 && x->batched && x->ndim == 2)
		return batch_moves(c, "input 1 '%.80s' [%s]: the batch would be the product's K",
		                   iname(c, 1), imp_dims_str(x));
	int64_t K = v->dims[0];
	float *m;
	if ((rc = imp_const_alloc(c->m, (size_t)K * sizeof *m, c->who, (void **)&m)))
		return rc;
	memcpy(m, v->data, (size_t)K * sizeof *m);
	struct dnnq_ir_value mv = *v;
	mv.ndim = 2;
	mv.dims[0] = i ? K : 1;
	mv.dims[1] = i ? 1 : K;
	mv.producer = -1;
	int32_t id = new_constant(c, &mv, ":v", m);
	if (id < 0)
		return id;
	c->in[i] = id;
	c->whole = ++c->m->wholes;
	if ((rc = op_matmul(c)) || (rc = link_as(c, ":prod", c->nin)))
		return rc;
	int64_t d[DNNQ_IR_MAX_DIMS];
	uint32_t r = c->out[0].ndim, drop = i ? r - 1 : r - 2;
	bool batched = c->out[0].batched;
	for (uint32_t k = 0, j = 0; k < r; k++)
		if (k != drop)
			d[j++] = c->out[0].dims[k];
	return reshape_as(c, r - 1, d, batched, NULL);
}

/* The DFT of L samples of cin parts (1: real, 2: complex, interleaved) as
 * a real matrix: the real and imaginary part of bin k (out 2k, 2k + 1) by
 * sample n's part q (in n cin + q) at w[out * so + in * si], each sample
 * weighted by win[n] (NULL: 1); inverse: e^(+i...) / L. */
static void dft_fill(float *w, int64_t bins, int64_t L, int64_t cin, bool inverse,
                     const float *win, size_t so, size_t si)
{
	double sg = inverse ? 1.0 : -1.0, scale = inverse ? 1.0 / (double)L : 1.0;
	for (int64_t k = 0; k < bins; k++)
		for (int64_t n = 0; n < L; n++) {
			/* k n mod L keeps the angle small: exact for any L */
			double a = 2.0 * M_PI * (double)((k * n) % L) / (double)L;
			double g = (win ? win[n] : 1.0) * scale, co = g * cos(a), si_ = g * sin(a);
			size_t re = (size_t)(2 * k) * so, im = (size_t)(2 * k + 1) * so;
			size_t xr = (size_t)(n * cin) * si, xi = (size_t)(n * cin + 1) * si;
			w[re + xr] = (float)co;             /* x_re e^(sg i a) */
			w[im + xr] = (float)(sg * si_);
			if (cin == 2) {                     /* + i x_im e^(sg i a) */
				w[re + xi] = (float)(-sg * si_);
				w[im + xi] = (float)co;
			}
		}
}

#define DFT_MAX 2048    /* a DFT's length: its matrix is 2 x bins x L x parts */

/* DFT (opset 17: axis an attribute, default 1; 20: input 2, default -2)
 * of x [..., L (axis), ..., cin], real (cin 1) or complex (2), forward or
 * inverse, onesided of a real one: the product by the constant matrix of
 * dft_fill over the axis. The axis moved before the parts (NAME:t, a
 * Transpose, where it is not there), the last two dims merged (NAME:x,
 * [..., L cin]), MatMul by the [L cin, 2 bins] matrix (NAME:dft, the
 * FC over the last axis), Reshape to [..., bins, 2] (NAME:y) and the axis
 * moved back (NAME's Transpose; the Reshape itself when it was there).
 * dft_length other than L (zero padding, truncation) is refused. */
static int op_dft(struct nctx *c)
{
	int rc;
	int64_t onesided, inverse, axis = 1;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_int(c, "onesided", 0, &onesided)) ||
	    (rc = a_int(c, "inverse", 0, &inverse)) ||
	    (c->m->opset < 20 && (rc = a_int(c, "axis", 1, &axis))))
		return rc;
	if (c->m->opset >= 20) {
		axis = -2;
		if (V(c, 2) && !(rc = need_param(c, 2, DT_INT, true, 1)))
			axis = int_scalar(c, 2);
		if (rc)
			return rc;
	}
	const struct dnnq_ir_value *x = V(c, 0);
	uint32_t r = x->ndim;
	int64_t cin = r ? x->dims[r - 1] : 0;
	if (r < 2 || (cin != 1 && cin != 2))
		return bad(c, DNNQ_E_SHAPE, "input 0 '%.80s' [%s]: [..., 1] (real) or [..., 2] "
		           "(complex) expected", iname(c, 0), imp_dims_str(x));
	if ((rc = norm_axis(c, &axis, r, "axis")))
		return rc;
	if ((uint32_t)axis == r - 1 || (x->batched && axis == 0))
		return bad(c, DNNQ_E_UNSUPPORTED, "axis %lld of [%s]: not the parts' or the batch's",
		           (long long)axis, imp_dims_str(x));
	if ((onesided != 0 && onesided != 1) || (inverse != 0 && inverse != 1))
		return bad(c, DNNQ_E_RANGE, "onesided %lld, inverse %lld: 0 or 1 expected",
		           (long long)onesided, (long long)inverse);
	int64_t L = x->dims[axis], bins = onesided ? L / 2 + 1 : L;
	if (onesided && (cin != 1 || inverse))
		return bad(c, DNNQ_E_UNSUPPORTED, "onesided of a complex signal or an inverse DFT");
	if (V(c, 1) && *S(c->np->input[1]) && ((rc = need_param(c, 1, DT_INT, true, 1)) ||
	                                        int_scalar(c, 1) != L))
		return rc ? rc : bad(c, DNNQ_E_UNSUPPORTED, "dft_length %lld: only the signal's "
		                     "length %lld (no padding or truncation)",
		                     (long long)int_scalar(c, 1), (long long)L);
	if (L > DFT_MAX)
		return bad(c, DNNQ_E_RANGE, "a DFT of %lld samples: at most %d", (long long)L,
		           DFT_MAX);
	/* x moves when values are added */
	bool batched = x->batched;
	int64_t d[DNNQ_IR_MAX_DIMS], perm[DNNQ_IR_MAX_DIMS];
	memcpy(d, x->dims, r * sizeof *d);
	float *w;
	if ((rc = imp_const_alloc(c->m, (size_t)(2 * bins * L * cin) * sizeof *w, c->who,
	                          (void **)&w)))
		return rc;
	memset(w, 0, (size_t)(2 * bins * L * cin) * sizeof *w);
	dft_fill(w, bins, L, cin, inverse, NULL, 1, (size_t)(2 * bins));
	struct dnnq_ir_value v = { .name = c->name, .dtype = DNNQ_IR_F32, .ndim = 2,
	                           .dims = { L * cin, 2 * bins }, .producer = -1 };
	int32_t wid = new_constant(c, &v, ":dft", w);
	if (wid < 0)
		return wid;
	/* perm moves the axis to r - 2, the others in order */
	for (uint32_t i = 0, j = 0; i < r; i++)
		if (i != (uint32_t)axis && i != r - 1)
			perm[j++] = i;
	perm[r - 2] = axis;
	perm[r - 1] = r - 1;
	bool moved = (uint32_t)axis != r - 2;
	c->whole = ++c->m->wholes;
	if (moved) {
		if ((rc = transpose_as(c, r, d, perm, batched, ":t")))
			return rc;
		memcpy(d, c->out[0].dims, r * sizeof *d);
	}
	d[r - 2] = L * cin;
	if ((rc = reshape_as(c, r - 1, d, batched, ":x")))
		return rc;
	if ((rc = matmul_by(c, wid)) || (rc = link_as(c, ":dft", 2)))
		return rc;
	d[r - 2] = bins;
	d[r - 1] = 2;
	if (!moved)
		return reshape_as(c, r, d, batched, NULL);
	if ((rc = reshape_as(c, r, d, batched, ":y")))
		return rc;
	int64_t back[DNNQ_IR_MAX_DIMS];
	for (uint32_t i = 0; i < r; i++)
		back[perm[i]] = i;
	return transpose_as(c, r, d, back, batched, NULL);
}

/* STFT (opset 17) of a real signal [N, T, 1], a constant frame_step and
 * window [L] (or frame_length L: a rectangular window): each frame's DFT
 * is a product by the constant rows w[n] cos(2 pi k n / L) and
 * -w[n] sin(2 pi k n / L), so the whole is a strided Conv over T of
 * 2 x bins kernels (NAME:dft), the real and imaginary part of bin k
 * channels 2k and 2k + 1: Reshape [N, 1, 1, T] (NAME:1d), Conv
 * [N, 2 bins, 1, F] (NAME:conv), Transpose [N, F, 2 bins, 1] (NAME:t),
 * Reshape [N, F, bins, 2], ONNX's output (bins = L / 2 + 1 onesided, else
 * L; F = (T - L) / step + 1). One precision unit, NAME. */
static int op_stft(struct nctx *c)
{
	int rc;
	int64_t onesided;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need_param(c, 1, DT_INT, true, 1)) ||
	    (V(c, 2) && (rc = need(c, 2, DT_F32, true))) ||
	    (V(c, 3) && (rc = need_param(c, 3, DT_INT, true, 1))) ||
	    (rc = a_int(c, "onesided", 1, &onesided)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0), *win = V(c, 2);
	if (x->ndim != 3 || x->dims[2] != 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "signal '%.80s' [%s]: only a real signal "
		           "[N, T, 1] (not complex, [N, T, 2])", iname(c, 0), imp_dims_str(x));
	if (onesided != 0 && onesided != 1)
		return bad(c, DNNQ_E_RANGE, "onesided = %lld: 0 or 1 expected", (long long)onesided);
	int64_t step = int_scalar(c, 1), L = V(c, 3) ? int_scalar(c, 3) : 0, T = x->dims[1];
	if (win && win->ndim != 1)
		return bad(c, DNNQ_E_SHAPE, "window '%.80s' [%s]: 1-D expected", iname(c, 2),
		           imp_dims_str(win));
	if (win && V(c, 3) && win->dims[0] != L)
		return bad(c, DNNQ_E_SHAPE, "window '%.80s' [%s] disagrees with frame_length %lld",
		           iname(c, 2), imp_dims_str(win), (long long)L);
	if (!win && !V(c, 3))
		return bad(c, DNNQ_E_FORMAT, "neither a window nor frame_length: the frame's length "
		           "is unknown");
	if (win)
		L = win->dims[0];
	/* the frame is the Conv's kernel and the step its stride: the fp32
	 * conv's limits */
	if (step < 1 || step > DNNQ_F32_CONV_MAX_WINDOW || L < 1 || L > DNNQ_F32_CONV_MAX_WINDOW ||
	    L > T)
		return bad(c, DNNQ_E_RANGE, "frame_step %lld, frame length %lld, signal of %lld: "
		           "want a step and a length of 1..%d, the length at most the signal's",
		           (long long)step, (long long)L, (long long)T, DNNQ_F32_CONV_MAX_WINDOW);
	int64_t bins = onesided ? L / 2 + 1 : L, F = (T - L) / step + 1, N = x->dims[0];
	bool batched = x->batched;
	float *w;
	if ((rc = imp_const_alloc(c->m, (size_t)(2 * bins * L) * sizeof *w, c->who, (void **)&w)))
		return rc;
	dft_fill(w, bins, L, 1, false, win ? win->data : NULL, (size_t)L, 1);
	struct dnnq_ir_value v = { .name = c->name, .dtype = DNNQ_IR_F32, .ndim = 4,
	                           .dims = { 2 * bins, 1, 1, L }, .producer = -1 };
	int32_t wid = new_constant(c, &v, ":dft", w);
	if (wid < 0)
		return wid;
	c->whole = ++c->m->wholes;
	int64_t d1[4] = { N, 1, 1, T }, y[4] = { N, 2 * bins, 1, F }, perm[4] = { 0, 3, 1, 2 },
		out[4] = { N, F, bins, 2 };
	if ((rc = reshape_as(c, 4, d1, batched, ":1d")))
		return rc;
	fresh(c, DNNQ_IR_CONV);
	c->node.kernel[0] = 1;
	c->node.kernel[1] = L;
	c->node.strides[1] = step;
	c->in[1] = wid;
	c->nin = 2;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, y, batched)) || (rc = link_as(c, ":conv", 2)) ||
	    (rc = transpose_as(c, 4, y, perm, batched, ":t")))
		return rc;
	return reshape_as(c, 4, out, batched, NULL);
}

/* A 2-D pool node of op on c->in[0] to out ([N, C, H', W']) with kernel
 * k, strides s, dilations dl, pads pb, pe (H, W each), linked as
 * NAME<suffix>; ceil_mode and count_include_pad as given. */
static int pool2d_as(struct nctx *c, enum dnnq_ir_op op, const int64_t *out, const int64_t *k,
                     const int64_t *s, const int64_t *dl, const int64_t *pb, const int64_t *pe,
                     bool ceil_mode, bool include_pad, bool batched, const char *suffix)
{
	int rc;
	fresh(c, op);
	struct dnnq_ir_node *n = &c->node;
	n->ceil_mode = ceil_mode;
	n->count_include_pad = include_pad;
	for (int i = 0; i < 2; i++) {
		n->kernel[i] = k[i];
		n->strides[i] = s[i];
		n->dilations[i] = dl[i];
		n->pads[i] = pb[i];
		n->pads[2 + i] = pe[i];
	}
	c->nin = 1;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, out, batched)))
		return rc;
	return link_as(c, suffix, 1);
}

/* A float scalar constant v, NAME<suffix>: its id, or < 0. */
static int32_t scalar_const(struct nctx *c, float v, const char *suffix)
{
	float *f = malloc(sizeof *f);
	if (!f)
		return DNNQ_E_NOMEM;
	*f = v;
	struct dnnq_ir_value fv = { .name = c->name, .dtype = DNNQ_IR_F32, .producer = -1 };
	return new_constant(c, &fv, suffix, f);
}

/* The window sums of c's input 0 [N, C, H, W] as a depthwise Conv of ones
 * (NAME:ones) with the pool's geometry (geo: kernel, strides, dilations,
 * pads) to out [N, C, H', W'], linked as NAME<suffix> unless NULL. A
 * ceil_mode window past the end gets as much more end padding, which adds
 * 0, as the pool's sum of it does. */
static int window_sums(struct nctx *c, const struct dnnq_ir_node *geo, const int64_t *out,
                       const char *suffix)
{
	/* x's dims copied: a new value may move the values table */
	const struct dnnq_ir_value *x = V(c, 0);
	const int64_t C = x->dims[1], k = geo->kernel[0] * geo->kernel[1];
	const int64_t in[2] = { x->dims[2], x->dims[3] };
	const bool batched = x->batched;
	float *w;
	int rc = imp_const_alloc(c->m, (size_t)(C * k) * sizeof *w, c->who, (void **)&w);
	if (rc)
		return rc;
	for (int64_t i = 0; i < C * k; i++)
		w[i] = 1.0f;
	struct dnnq_ir_value wv = { .name = c->name, .dtype = DNNQ_IR_F32, .ndim = 4,
	                            .dims = { C, 1, geo->kernel[0], geo->kernel[1] },
	                            .producer = -1 };
	int32_t wid = new_constant(c, &wv, ":ones", w);
	if (wid < 0)
		return wid;
	int32_t xid = c->in[0];
	fresh(c, DNNQ_IR_CONV);
	struct dnnq_ir_node *n = &c->node;
	n->group = C;
	for (int i = 0; i < 2; i++) {
		int64_t ext = (geo->kernel[i] - 1) * geo->dilations[i] + 1;
		int64_t need = (out[2 + i] - 1) * geo->strides[i] + ext - in[i] - geo->pads[i];
		n->kernel[i] = geo->kernel[i];
		n->strides[i] = geo->strides[i];
		n->dilations[i] = geo->dilations[i];
		n->pads[i] = geo->pads[i];
		n->pads[2 + i] = need > geo->pads[2 + i] ? need : geo->pads[2 + i];
	}
	c->nin = 2;
	c->in[0] = xid;
	c->in[1] = wid;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, out, batched)))
		return rc;
	return suffix ? link_as(c, suffix, 2) : 0;
}

/* LpPool (kernel_shape, strides, pads, auto_pad; opset 18's dilations and
 * ceil_mode; p, default 2) and GlobalLpPool of a 4-D NCHW input: the p-th
 * root of the window's sum of |x|^p, the padding adding 0 (ONNX Runtime's
 * kernel). |x|^p (NAME:abs; p 2 x * x, NAME:square; p past 2 Pow of |x|,
 * NAME:pow), the window sums (window_sums, NAME:sum; GlobalLpPool a
 * ReduceSum over H and W), then Sqrt, or Pow 1/p; for p 1 the sum is the
 * output. Each step has int8 kernels, so --precision auto decides them. */
static int op_lppool(struct nctx *c)
{
	const bool global = !strcmp(S(c->np->op_type), "GlobalLpPool");
	int64_t p, o[2] = { 1, 1 };
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_int(c, "p", 2, &p)) ||
	    (rc = need_rank(c, 0, 4, "only 2-D LpPool (4-D NCHW input) is supported")))
		return rc;
	if (p < 1 || p > 64)
		return bad(c, DNNQ_E_RANGE, "p = %lld: 1..64 expected", (long long)p);
	const struct dnnq_ir_node base = c->node;
	const struct dnnq_ir_value *x = V(c, 0);
	if (!global && !attr(c, "kernel_shape"))
		return bad(c, DNNQ_E_FORMAT, "attribute 'kernel_shape' is missing");
	if (!global && ((rc = a_pair(c, "kernel_shape", 1, 1, c->node.kernel, 2)) ||
	                (rc = spatial(c, x, true, o))))
		return rc;
	const struct dnnq_ir_node geo = c->node;
	const int64_t out[4] = { x->dims[0], x->dims[1], o[0], o[1] };
	const bool on[4] = { false, false, true, true };
	const int32_t xid = c->in[0];
	int32_t pc = p > 2 ? scalar_const(c, (float)p, ":p") : 0;
	int32_t inv = p > 2 ? scalar_const(c, 1.0f / (float)p, ":inv_p") : 0;
	if (pc < 0 || inv < 0)
		return pc < 0 ? pc : inv;
	const char *sum = p == 1 ? NULL : ":sum";
	if ((rc = p == 2 ? binary_step(c, &base, DNNQ_IR_MUL, NULL, xid, xid, ":square")
	                 : unary_step(c, &base, "abs", ":abs")) ||
	    (p > 2 && (rc = binary_step(c, &base, DNNQ_IR_ENGINE, "pow", c->in[0], pc, ":pow"))) ||
	    (rc = global ? reduce_step(c, &base, "reduce_sum", on, sum)
	                 : window_sums(c, &geo, out, sum)))
		return rc;
	if (p == 2)
		return unary_step(c, &base, "sqrt", NULL);
	return p > 2 ? binary_step(c, &base, DNNQ_IR_ENGINE, "pow", c->in[0], inv, NULL) : 0;
}

/* Col2Im (opset 18: torch's nn.Fold) of x [N, C kh kw, L] into the image
 * [N, C, H, W] (image_shape, block_shape: constant inputs; strides,
 * dilations, pads): each of the L blocks added at its place, what no block
 * covers 0. That is a ConvTranspose of group C over x seen as
 * [N, C kh kw, oh, ow] (NAME:4d) whose weight [C kh kw, 1, kh, kw]
 * (NAME:onehot) puts input channel (c, i, j) at tap (i, j) of channel c:
 * no kind of its own, int8 or fp32 as any ConvTranspose. */
static int op_col2im(struct nctx *c)
{
	int64_t img[2], blk[2], o[2];
	ptrdiff_t ni, nb;
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = const_ints(c, 1, img, 2, &ni)) ||
	    (rc = const_ints(c, 2, blk, 2, &nb)))
		return rc;
	struct dnnq_ir_node *n = &c->node;
	if ((rc = a_pair(c, "strides", 1, 1, n->strides, 2)) ||
	    (rc = a_pair(c, "dilations", 1, 1, n->dilations, 2)) ||
	    (rc = a_pair(c, "pads", 0, 0, n->pads, 4)))
		return rc;
	const struct dnnq_ir_node g = *n;    /* the geometry: fresh() clears the node */
	const struct dnnq_ir_value *x = V(c, 0);
	if (ni != 2 || nb != 2 || x->ndim != 3)
		return bad(c, DNNQ_E_UNSUPPORTED, "input 0 [%s], image_shape of %td, block_shape of "
		           "%td values: only 2-D Col2Im ([N, C x block, L], 2 and 2) is supported",
		           imp_dims_str(x), ni, nb);
	for (int i = 0; i < 2; i++) {
		/* the sizes bounded before any arithmetic on them: a file's -2^63
		 * or 2^40 x 2^40 overflowed the extent or the block's size */
		bool fits = blk[i] >= 1 && blk[i] <= IMP_MAX_DIM && img[i] >= 1 && img[i] <= (1 << 24);
		int64_t span = fits ? img[i] + g.pads[i] + g.pads[2 + i] -
		                      ((blk[i] - 1) * g.dilations[i] + 1) : -1;
		o[i] = span / g.strides[i] + 1;
		if (span < 0 || o[i] > IMP_MAX_DIM)
			return bad(c, DNNQ_E_SHAPE, "image_shape [%lld, %lld], block_shape [%lld, %lld] "
			           "(dilations, pads): blocks that fit the padded image, up to 2^31 "
			           "a side, expected", (long long)img[0], (long long)img[1],
			           (long long)blk[0], (long long)blk[1]);
	}
	int64_t K = blk[0] * blk[1], N = x->dims[0], L = x->dims[2];
	if (x->dims[1] % K || o[0] * o[1] != L)
		return bad(c, DNNQ_E_SHAPE, "input 0 '%.80s' [%s]: want [N, C x %lld, %lld] (blocks "
		           "of %lld x %lld, %lld x %lld of them)", iname(c, 0), imp_dims_str(x),
		           (long long)K, (long long)(o[0] * o[1]), (long long)blk[0],
		           (long long)blk[1], (long long)o[0], (long long)o[1]);
	const int64_t C = x->dims[1] / K;
	const bool batched = x->batched;
	float *w;
	if ((rc = imp_const_alloc(c->m, (size_t)(C * K * K) * sizeof *w, c->who, (void **)&w)))
		return rc;
	for (int64_t i = 0; i < C * K * K; i++)
		w[i] = i % K == i / K % K ? 1.0f : 0.0f;     /* [c k][0][tap]: tap k */
	struct dnnq_ir_value wv = { .name = c->name, .dtype = DNNQ_IR_F32, .ndim = 4,
	                            .dims = { C * K, 1, blk[0], blk[1] }, .producer = -1 };
	int32_t wid = new_constant(c, &wv, ":onehot", w);
	if (wid < 0)
		return wid;
	const int64_t d4[4] = { N, C * K, o[0], o[1] }, out[4] = { N, C, img[0], img[1] };
	c->whole = ++c->m->wholes;
	if ((rc = reshape_as(c, 4, d4, batched, ":4d")))
		return rc;
	fresh(c, DNNQ_IR_ENGINE);
	if ((rc = engine_kind(c, "convtranspose")))
		return rc;
	n->group = C;
	for (int i = 0; i < 2; i++) {
		n->kernel[i] = blk[i];
		n->strides[i] = g.strides[i];
		n->dilations[i] = g.dilations[i];
		n->pads[i] = g.pads[i];
		n->pads[2 + i] = g.pads[2 + i];
	}
	c->in[1] = wid;
	c->nin = 2;
	return set_out(c, 0, DNNQ_IR_F32, 4, out, batched);
}

/* AffineGrid (opset 20: torch's F.affine_grid, a spatial transformer's
 * sampling grid) of theta [N, 2, 3] for size [N, C, H, W] (a constant
 * input; align_corners): grid[n, h, w] = theta[n] (x_w, y_h, 1), x and y
 * the pixel centres in [-1, 1] (align_corners: the corners at -1 and 1).
 * The product by the constant [3, H W] of the points (NAME:points) is a
 * MatMul of theta (NAME:mm, [N, 2, H W]), then a Transpose (NAME:t) and
 * the Reshape to [N, H, W, 2]. 3-D (theta [N, 3, 4]) is refused. */
static int op_affinegrid(struct nctx *c)
{
	int64_t size[5], ac;
	ptrdiff_t ns;
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = const_ints(c, 1, size, 5, &ns)) ||
	    (rc = a_int(c, "align_corners", 0, &ac)))
		return rc;
	const struct dnnq_ir_value *t = V(c, 0);
	if (ac != 0 && ac != 1)
		return bad(c, DNNQ_E_RANGE, "align_corners %lld: 0 or 1 expected", (long long)ac);
	if (ns != 4 || t->ndim != 3 || t->dims[1] != 2 || t->dims[2] != 3)
		return bad(c, DNNQ_E_UNSUPPORTED, "theta [%s], size of %td values: only 2-D "
		           "AffineGrid (theta [N, 2, 3], size [N, C, H, W]) is supported",
		           imp_dims_str(t), ns);
	const int64_t H = size[2], W = size[3], N = t->dims[0];
	const bool batched = t->batched;     /* t moves with the values table */
	/* each bounded before the product: a file's 2^32 x 2^32 overflows it */
	if (H < 1 || W < 1 || H > (1 << 24) || W > (1 << 24) || H * W > (1 << 24))
		return bad(c, DNNQ_E_RANGE, "size [.., %lld, %lld]: want H, W >= 1 and H W up to 2^24",
		           (long long)H, (long long)W);
	float *p;
	if ((rc = imp_const_alloc(c->m, (size_t)(3 * H * W) * sizeof *p, c->who, (void **)&p)))
		return rc;
	for (int64_t h = 0; h < H; h++)
		for (int64_t w = 0; w < W; w++) {
			int64_t k = h * W + w;
			/* linspace(-1, 1, n), times (n - 1) / n without align_corners
			 * (the centres); a linspace of one point is ONNX Runtime's
			 * (Eigen's LinSpaced: the end, 1), not ONNX's reference's -1 */
			p[k] = W == 1 ? (float)ac
			     : (float)(ac ? -1.0 + 2.0 * (double)w / (double)(W - 1)
			                  : (2.0 * (double)w + 1.0) / (double)W - 1.0);
			p[H * W + k] = H == 1 ? (float)ac
			             : (float)(ac ? -1.0 + 2.0 * (double)h / (double)(H - 1)
			                          : (2.0 * (double)h + 1.0) / (double)H - 1.0);
			p[2 * H * W + k] = 1.0f;
		}
	struct dnnq_ir_value pv = { .name = c->name, .dtype = DNNQ_IR_F32, .ndim = 2,
	                            .dims = { 3, H * W }, .producer = -1 };
	int32_t pid = new_constant(c, &pv, ":points", p);
	if (pid < 0)
		return pid;
	static const int64_t swap[3] = { 0, 2, 1 };
	const int64_t d[3] = { N, 2, H * W }, out[4] = { N, H, W, 2 };
	c->whole = ++c->m->wholes;
	if ((rc = matmul_by(c, pid)) || (rc = link_as(c, ":mm", 2)) ||
	    (rc = transpose_as(c, 3, d, swap, batched, ":t")))
		return rc;
	return reshape_as(c, 4, out, batched, NULL);
}

/* Element (i, j) of the matrices of x (id) [..., M, M] as [..., 1, 1]: a
 * Slice linked as NAME:eIJ; its id, or < 0. */
static int32_t det_element(struct nctx *c, int32_t x, int64_t i, int64_t j)
{
	const struct dnnq_ir_value v = c->m->ir->values[x];
	int64_t d[DNNQ_IR_MAX_DIMS];
	char suffix[16];
	fresh(c, DNNQ_IR_ENGINE);
	int rc = engine_kind(c, "slice");
	if (rc)
		return rc;
	memcpy(d, v.dims, sizeof d);
	for (uint32_t a = 0; a < v.ndim; a++) {
		c->node.starts[a] = a + 2 == v.ndim ? i : a + 1 == v.ndim ? j : 0;
		c->node.steps[a] = 1;
	}
	d[v.ndim - 2] = d[v.ndim - 1] = 1;
	c->nin = 1;
	c->in[0] = x;
	snprintf(suffix, sizeof suffix, ":e%lld%lld", (long long)i, (long long)j);
	if ((rc = set_out(c, 0, DNNQ_IR_F32, v.ndim, d, v.batched)) ||
	    (rc = link_as(c, suffix, 1)))
		return rc;
	return c->in[0];
}

/* Det of x [..., M, M] for M of 1, 2 or 3 (a rotation's, a 3-D pose's, an
 * affine map's: what models compute) by its cofactor expansion: each
 * element a Slice (NAME:eIJ), the 2 x 2 minors a Mul, Mul, Sub
 * (NAME:mJ...), the sum of the first row's terms (NAME:t0, ...), the
 * result Reshaped to [...]. A larger M is refused naming the node: an LU
 * decomposition has no kind of the engine's. */
static int op_det(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	const uint32_t r = x->ndim;
	const int64_t M = r >= 2 ? x->dims[r - 1] : 0;
	/* one matrix [M, M] (ONNX's test_det_2d) whose rows are the batch: the
	 * import again with the batch fixed, dim 0 an ordinary axis */
	if (x->batched && r == 2)
		return batch_moves(c, "input 0 '%.80s' [%s]: the determinant of one matrix "
		                   "[M, M] reads across the batch", iname(c, 0), imp_dims_str(x));
	if (r < 2 || x->dims[r - 2] != M || M < 1 || M > 3)
		return bad(c, DNNQ_E_UNSUPPORTED, "input 0 '%.80s' [%s]: only square matrices "
		           "[..., M, M] of M 1, 2 or 3 are supported", iname(c, 0), imp_dims_str(x));
	const struct dnnq_ir_node base = c->node;
	const bool batched = x->batched;
	int64_t out[DNNQ_IR_MAX_DIMS];
	memcpy(out, x->dims, sizeof out);
	int32_t xid = c->in[0], e[3][3];
	c->whole = ++c->m->wholes;
	for (int64_t i = 0; i < M; i++)
		for (int64_t j = 0; j < M; j++)
			if ((e[i][j] = det_element(c, xid, i, j)) < 0)
				return e[i][j];
	int32_t det = e[0][0];
	if (M == 2) {
		int32_t ad;
		if ((rc = binary_step(c, &base, DNNQ_IR_MUL, NULL, e[0][0], e[1][1], ":ad")))
			return rc;
		ad = c->in[0];
		if ((rc = binary_step(c, &base, DNNQ_IR_MUL, NULL, e[0][1], e[1][0], ":bc")) ||
		    (rc = binary_step(c, &base, DNNQ_IR_ENGINE, "sub", ad, c->in[0], ":det")))
			return rc;
		det = c->in[0];
	} else if (M == 3) {
		/* e0j times its minor of rows 1, 2 and columns k < l (not j), signed */
		static const int cols[3][2] = { { 1, 2 }, { 0, 2 }, { 0, 1 } };
		int32_t term[3];
		for (int j = 0; j < 3; j++) {
			int k = cols[j][0], l = cols[j][1];
			char s1[16], s2[16], s3[16], s4[16];
			snprintf(s1, sizeof s1, ":m%dp", j);
			snprintf(s2, sizeof s2, ":m%dq", j);
			snprintf(s3, sizeof s3, ":m%d", j);
			snprintf(s4, sizeof s4, ":t%d", j);
			if ((rc = binary_step(c, &base, DNNQ_IR_MUL, NULL, e[1][k], e[2][l], s1)))
				return rc;
			int32_t p = c->in[0];
			if ((rc = binary_step(c, &base, DNNQ_IR_MUL, NULL, e[1][l], e[2][k], s2)) ||
			    (rc = binary_step(c, &base, DNNQ_IR_ENGINE, "sub", p, c->in[0], s3)) ||
			    (rc = binary_step(c, &base, DNNQ_IR_MUL, NULL, e[0][j], c->in[0], s4)))
				return rc;
			term[j] = c->in[0];
		}
		if ((rc = binary_step(c, &base, DNNQ_IR_ENGINE, "sub", term[0], term[1], ":t01")) ||
		    (rc = binary_step(c, &base, DNNQ_IR_ADD, NULL, c->in[0], term[2], ":det")))
			return rc;
		det = c->in[0];
	}
	c->in[0] = det;
	return reshape_as(c, r - 2, out, batched, NULL);
}

/* MaxPool / AveragePool over D, H, W of [N, C, D, H, W], separably: the
 * 2-D pool over H, W of [N, C*D, H, W] (NAME:hw), then over D of
 * [N, C, D, H'*W'] (NAME:d, a (kd, 1) window), between Reshapes (NAME:chw,
 * NAME:cd, and NAME back to rank 5). Exact: a maximum of maxima; for the
 * average, each window's count is its D count times its H, W count, with
 * or without the padding alike, so the mean over D of the H, W means is
 * the mean over the box. */
static int op_pool3d(struct nctx *c)
{
	struct geo3 g;
	const bool include_pad = c->node.count_include_pad;   /* op_pool read it */
	int rc;
	if ((rc = geometry3d(c, true, NULL, &g)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	const bool batched = x->batched, ceil_mode = c->node.ceil_mode;
	const enum dnnq_ir_op op = c->node.op;
	const int64_t N = x->dims[0], C = x->dims[1], D = x->dims[2];
	int64_t chw[4] = { N, C * D, x->dims[3], x->dims[4] };
	int64_t hw[4] = { N, C * D, g.o[1], g.o[2] };
	int64_t kd[2] = { g.k[0], 1 }, sd[2] = { g.s[0], 1 }, dd[2] = { g.dl[0], 1 };
	int64_t pbd[2] = { g.pb[0], 0 }, ped[2] = { g.pe[0], 0 };
	c->whole = ++c->m->wholes;    /* one precision unit, named NAME */
	if ((rc = reshape_as(c, 4, chw, batched, ":chw")) ||
	    (rc = pool2d_as(c, op, hw, &g.k[1], &g.s[1], &g.dl[1], &g.pb[1], &g.pe[1], ceil_mode,
	                    include_pad, batched, ":hw")))
		return rc;
	/* H' x W' only now that the (H, W) pool's output was checked */
	int64_t cd[4] = { N, C, D, g.o[1] * g.o[2] }, od[4] = { N, C, g.o[0], g.o[1] * g.o[2] };
	if ((rc = reshape_as(c, 4, cd, batched, ":cd")) ||
	    (rc = pool2d_as(c, op, od, kd, sd, dd, pbd, ped, ceil_mode, include_pad, batched, ":d")))
		return rc;
	int64_t y[5] = { N, C, g.o[0], g.o[1], g.o[2] };
	return reshape_as(c, 5, y, batched, NULL);
}

/* A global pool of [N, C, D, H, W] (the node set up for [N, C, D*H, W]):
 * NAME:4d, a Reshape to that, the pool NAME:pool, and NAME, a Reshape to
 * [N, C, 1, 1, 1]. */
static int gpool3d(struct nctx *c)
{
	const struct dnnq_ir_value *x = V(c, 0);
	const int64_t d4[4] = { x->dims[0], x->dims[1], x->dims[2] * x->dims[3], x->dims[4] };
	const int64_t y4[4] = { d4[0], d4[1], 1, 1 }, y5[5] = { d4[0], d4[1], 1, 1, 1 };
	const bool batched = x->batched;
	const struct dnnq_ir_node pool = c->node;
	int rc;
	c->whole = ++c->m->wholes;    /* one precision unit, named NAME */
	if ((rc = reshape_as(c, 4, d4, batched, ":4d")))
		return rc;
	c->node = pool;
	c->node.kernel[0] = d4[2];
	c->node.kernel[1] = d4[3];
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, y4, batched)) || (rc = link_as(c, ":pool", 1)))
		return rc;
	return reshape_as(c, 5, y5, batched, NULL);
}

/* The BatchNormalization that alone reads Conv c's output, folded into
 * its weights w ([M, K]) and bias b ([M], allocated when NULL): recorded
 * so that the node imports as its input (op_batchnorm); nothing when
 * there is no such node or its parameters are not the constants it needs
 * (it then imports as itself, checked there). */
static int fold_bn(struct nctx *c, int64_t M, size_t K, float *w, float **b)
{
	struct imp *m = c->m;
	size_t at = 0;
	const Onnx__NodeProto *r = imp_only_reader(m, S(c->np->output[0]), c->index, &at);
	if (!r || strcmp(S(r->op_type), "BatchNormalization") || r->n_input != 5 ||
	    r->n_output != 1)
		return 0;
	const Onnx__AttributeProto *a;
	float eps = 1e-5f;
	for (size_t i = 0; i < r->n_attribute; i++) {
		a = r->attribute[i];
		if (!strcmp(S(a->name), "epsilon") && a->has_f)
			eps = a->f;
		else if (strcmp(S(a->name), "momentum") &&
		         !(!strcmp(S(a->name), "training_mode") && a->has_i && !a->i) &&
		         !(!strcmp(S(a->name), "spatial") && a->has_i && a->i == 1))
			return 0;    /* anything else: op_batchnorm's to judge */
	}
	const float *p[4];
	for (int i = 0; i < 4; i++) {
		const struct imp_name *e = imp_find(m, S(r->input[1 + i]));
		int32_t id = e && (e->kind == IMP_VALUE || e->kind == IMP_INIT)
		           ? imp_lookup(m, S(r->input[1 + i]), c->who) : -1;
		const struct dnnq_ir_value *v = id >= 0 ? &m->ir->values[id] : NULL;
		if (!v || !v->data || v->dtype != DNNQ_IR_F32 || v->ndim != 1 || v->dims[0] != M)
			return 0;
		p[i] = v->data;
	}
	if (!(eps >= 0))
		return 0;
	for (int64_t o = 0; o < M; o++)
		if (!((double)p[3][o] + eps > 0))
			return 0;
	if (!*b && !(*b = calloc((size_t)M, sizeof **b)))
		return DNNQ_E_NOMEM;
	if (dnnq_ir_grow((void **)&m->bn_folded, &m->bncap, m->nbn_folded, sizeof *m->bn_folded))
		return DNNQ_E_NOMEM;
	m->bn_folded[m->nbn_folded++] = (struct imp_at){ m->g, at };
	for (int64_t o = 0; o < M; o++) {
		/* the lowering's BatchNormalization coefficients (bn_coeffs) */
		float s = (float)(p[0][o] / sqrt((double)p[3][o] + eps));
		float t = (float)(p[1][o] - (double)p[2][o] * s);
		for (size_t k = 0; k < K; k++)
			w[(size_t)o * K + k] *= s;
		(*b)[o] = (*b)[o] * s + t;
	}
	return 0;
}

/* Conv over D, H, W of [N, C, D, H, W] by W [M, C/g, kd, kh, kw], as 2-D
 * convolutions: x is stacked by depth, [N, g*D*C/g, H, W] (NAME:g for
 * groups > 1, a Reshape to [N, g, C/g, D, H, W]; NAME:dc, a Transpose
 * putting D before the channels; NAME:stack, the Reshape to 4-D); output
 * depth od reads the kd depth slices its window covers, inside the input
 * (the others are the zero padding: left out), each group's a run of
 * channels (NAME:odI.J, a Slice per group, or per tap when dilated;
 * NAME:odI.in, their Concat), and the 2-D Conv NAME:odI of the weight
 * whose channels are those taps' (NAME:w*, shared by the depths that
 * read the same taps) gives [N, M, H', W']; NAME:cat concatenates the
 * depths to [N, D'*M, H', W'], NAME:dm reshapes to [N, D', M, H', W'] and
 * NAME, a Transpose, makes it [N, M, D', H', W']. The work is the 3-D
 * convolution's (no product of a padding zero); a depth whose window is
 * all padding is the bias (pad_depth). A BatchNormalization reading only
 * the output is folded into the weights and the bias. */
enum {
	W3_CACHE = 64,        /* the tap runs whose weights op_conv3d shares */
	MAX_DEPTH3D = 4096,   /* the output depths of a 3-D Conv (a node each) */
};

/* Output depth od of a 3-D Conv whose window lies wholly in the depth
 * padding, y [N, M, H', W']: its bias (zeros without one, bias_id < 0)
 * over H', W', with x's batch. NAME:odI.s, a one-element Slice of the
 * stacked input; NAME:odI.z, Greater of it and itself: 0 whatever x holds
 * (inf, NaN); NAME:odI, the Add of that and the bias [1, M, H', W']
 * (*pad: one constant, NAME:pad, for every such depth). */
static int pad_depth(struct nctx *c, int32_t stacked, const int64_t *y, int32_t bias_id,
                     int32_t *pad, int64_t od, bool batched)
{
	const int64_t one[4] = { y[0], 1, 1, 1 }, M = y[1];
	char sfx[48];
	int rc;
	size_t n;
	if (M < 0 || y[2] < 0 || y[3] < 0 || !dnnq_mul_size((size_t)M, (size_t)y[2], &n) ||
	    !dnnq_mul_size(n, (size_t)y[3], &n) || n > IMP_MAX_NUMEL)
		return bad(c, DNNQ_E_SHAPE, "output [N, %lld, %lld, %lld] a depth: more than 2^31 "
		           "elements", (long long)M, (long long)y[2], (long long)y[3]);
	const int64_t hw = y[2] * y[3];
	if (*pad < 0) {
		const float *b = bias_id >= 0 ? c->m->ir->values[bias_id].data : NULL;
		float *f;
		if ((rc = imp_const_alloc(c->m, (size_t)(M * hw) * sizeof *f, c->who, (void **)&f)))
			return rc;
		for (int64_t m = 0; m < M; m++)
			for (int64_t i = 0; i < hw; i++)
				f[m * hw + i] = b ? b[m] : 0.0f;
		struct dnnq_ir_value v = { .name = c->name, .dtype = DNNQ_IR_F32, .ndim = 4,
		                           .dims = { 1, M, y[2], y[3] }, .producer = -1 };
		if ((*pad = new_constant(c, &v, ":pad", f)) < 0)
			return *pad;
	}
	fresh(c, DNNQ_IR_ENGINE);
	if ((rc = engine_kind(c, "slice")))
		return rc;
	for (int a = 0; a < 4; a++)
		c->node.steps[a] = 1;
	c->in[0] = stacked;
	c->nin = 1;
	snprintf(sfx, sizeof sfx, ":od%lld.s", (long long)od);
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, one, batched)) || (rc = link_as(c, sfx, 1)))
		return rc;
	fresh(c, DNNQ_IR_ENGINE);
	if ((rc = engine_kind(c, "greater")))
		return rc;
	c->in[1] = c->in[0];
	c->nin = 2;
	snprintf(sfx, sizeof sfx, ":od%lld.z", (long long)od);
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, one, batched)) || (rc = link_as(c, sfx, 2)))
		return rc;
	fresh(c, DNNQ_IR_ADD);
	c->in[1] = *pad;
	c->nin = 2;
	snprintf(sfx, sizeof sfx, ":od%lld", (long long)od);
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, y, batched)))
		return rc;
	return link_as(c, sfx, 2);
}

static int op_conv3d(struct nctx *c)
{
	const struct dnnq_ir_value *x = V(c, 0), *w = V(c, 1);
	struct geo3 g;
	int64_t grp;
	int rc = need_rank(c, 1, 5, "the weight of a 3-D convolution is 5-D");
	if (rc || (rc = a_int(c, "group", 1, &grp)))
		return rc;
	const int64_t N = x->dims[0], C = x->dims[1], D = x->dims[2], H = x->dims[3],
	              W = x->dims[4], M = w->dims[0];
	if (grp < 1 || grp > C || C % grp || M % grp || w->dims[1] * grp != C || M < 1)
		return bad(c, DNNQ_E_SHAPE, "group %lld, input channels %lld, weight [%s] do not agree",
		           (long long)grp, (long long)C, imp_dims_str(w));
	for (size_t i = 1; i < 3; i++)
		if (V(c, i) && !V(c, i)->data)
			return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s': the weight and bias of a 3-D "
			           "convolution must be float constants", i, iname(c, i));
	for (int i = 0; i < 3; i++)
		if (w->dims[2 + i] < 1)
			return bad(c, DNNQ_E_SHAPE, "weight [%s]: empty kernel", imp_dims_str(w));
	if ((rc = geometry3d(c, false, &w->dims[2], &g)) || (rc = bias(c, 2, DT_F32, M)))
		return rc;
	const int64_t Cg = C / grp, kd = g.k[0], kh = g.k[1], kw = g.k[2];
	const size_t K = (size_t)(Cg * kd * kh * kw), hw = (size_t)(kh * kw);
	if (g.o[0] > MAX_DEPTH3D)
		return bad(c, DNNQ_E_UNSUPPORTED, "%lld output depths: a 3-D convolution is imported "
		           "as a 2-D one per depth, at most %d", (long long)g.o[0], MAX_DEPTH3D);
	/* the pieces of one output depth's input: a run of taps per group (per
	 * tap when dilated) */
	if ((g.dl[0] > 1 ? kd : 1) * grp > DNNQ_IR_MAX_INPUTS)
		return bad(c, DNNQ_E_UNSUPPORTED, "group %lld with kernel depth %lld and dilation %lld: "
		           "at most %d groups (or taps) of a 3-D convolution are supported",
		           (long long)grp, (long long)kd, (long long)g.dl[0], DNNQ_IR_MAX_INPUTS);
	const bool batched = x->batched;
	float *wt = malloc((size_t)M * K * sizeof *wt), *bt = NULL;
	if (!wt)
		return DNNQ_E_NOMEM;
	memcpy(wt, w->data, (size_t)M * K * sizeof *wt);
	if (V(c, 2) && !(bt = malloc((size_t)M * sizeof *bt))) {
		free(wt);
		return DNNQ_E_NOMEM;
	}
	if (bt)
		memcpy(bt, V(c, 2)->data, (size_t)M * sizeof *bt);
	struct dnnq_ir_value wv = *w, bv = { .dtype = DNNQ_IR_F32, .ndim = 1, .dims = { M },
	                                     .producer = -1 };
	char wname[160], bname[168];
	/* the slices NODE:wI.N: two 3-D Convs of one weight name theirs apart */
	snprintf(wname, sizeof wname, "%.150s", c->name);
	snprintf(bname, sizeof bname, "%.150s:b", c->name);
	wv.name = wname;
	bv.name = bname;
	int32_t bias_id = -1, pad = -1, wids[W3_CACHE] = { 0 }, outs[DNNQ_IR_MAX_INPUTS];
	int64_t wkey[2 * W3_CACHE];
	size_t nw = 0, nouts = 0;
	if ((rc = fold_bn(c, M, K, wt, &bt)))
		goto out;
	if (bt && (bias_id = new_constant(c, &bv, "", bt)) < 0) {
		bt = NULL;
		rc = bias_id;
		goto out;
	}
	bt = NULL;
	c->whole = ++c->m->wholes;    /* its nodes are one precision unit */
	/* x stacked by depth */
	if (grp > 1) {
		int64_t d6[6] = { N, grp, Cg, D, H, W };
		if ((rc = reshape_as(c, 6, d6, batched, ":g")) ||
		    (rc = transpose_as(c, 6, d6, (const int64_t[6]){ 0, 1, 3, 2, 4, 5 }, batched,
		                       ":dc")))
			goto out;
	} else if ((rc = transpose_as(c, 5, (const int64_t[5]){ N, C, D, H, W },
	                              (const int64_t[5]){ 0, 2, 1, 3, 4 }, batched, ":dc"))) {
		goto out;
	}
	int64_t st[4] = { N, grp * D * Cg, H, W };
	if ((rc = reshape_as(c, 4, st, batched, ":stack")))
		goto out;
	const int32_t stacked = c->in[0];
	int32_t cat = -1;
	for (int64_t od = 0; od < g.o[0]; od++) {
		/* the taps inside the input: i0 .. i0 + nt - 1 */
		int64_t i0 = -1, nt = 0;
		for (int64_t i = 0; i < kd; i++) {
			int64_t d = od * g.s[0] - g.pb[0] + i * g.dl[0];
			if (d >= 0 && d < D) {
				i0 = i0 < 0 ? i : i0;
				nt = i - i0 + 1;
			}
		}
		char sfx[48];
		int64_t y[4] = { N, M, g.o[1], g.o[2] };
		if (!nt) {
			if ((rc = pad_depth(c, stacked, y, bias_id, &pad, od, batched)))
				goto out;
			outs[nouts++] = c->in[0];
			goto gather;
		}
		int64_t d0 = od * g.s[0] - g.pb[0] + i0 * g.dl[0];
		bool dense = g.dl[0] == 1 || nt == 1;
		size_t np = (size_t)grp * (dense ? 1 : (size_t)nt);
		int32_t pieces[DNNQ_IR_MAX_INPUTS];
		int64_t pd[4] = { N, (dense ? nt : 1) * Cg, H, W };
		for (size_t p = 0; p < np && !(nt == D && grp == 1); p++) {
			int64_t j = (int64_t)p / (dense ? 1 : nt), t = dense ? 0 : (int64_t)p % nt;
			fresh(c, DNNQ_IR_ENGINE);
			if ((rc = engine_kind(c, "slice")))
				goto out;
			for (int a = 0; a < 4; a++)
				c->node.steps[a] = 1;
			c->node.starts[1] = j * D * Cg + (d0 + t * g.dl[0]) * Cg;
			c->in[0] = stacked;
			c->nin = 1;
			snprintf(sfx, sizeof sfx, ":od%lld.%zu", (long long)od, p);
			if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, pd, batched)) ||
			    (rc = link_as(c, sfx, 1)))
				goto out;
			pieces[p] = c->in[0];
		}
		int64_t cin[4] = { N, grp * nt * Cg, H, W };
		if (nt == D && grp == 1) {
			c->in[0] = stacked;
		} else if (np > 1) {
			fresh(c, DNNQ_IR_CONCAT);
			c->node.axis = 1;
			memcpy(c->in, pieces, np * sizeof *pieces);
			snprintf(sfx, sizeof sfx, ":od%lld.in", (long long)od);
			if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, cin, batched)) ||
			    (rc = link_as(c, sfx, np)))
				goto out;
		}
		/* the weight of taps i0 .. i0 + nt - 1, [M, nt * Cg, kh, kw] */
		size_t k;
		for (k = 0; k < nw && (wkey[2 * k] != i0 || wkey[2 * k + 1] != nt); k++)
			;
		if (k == nw) {
			if (nw == W3_CACHE)
				k = --nw;    /* the last entry makes room */
			/* counted against the import's constants: kd taps and
			 * 2 kd - 1 runs of them would make kd copies of the weight */
			float *f;
			if ((rc = imp_const_alloc(c->m, (size_t)M * (size_t)(nt * Cg) * hw * sizeof *f,
			                          c->who, (void **)&f)))
				goto out;
			for (int64_t o = 0; o < M; o++)
				for (int64_t t = 0; t < nt; t++)
					for (int64_t ci = 0; ci < Cg; ci++)
						memcpy(f + (((size_t)o * (size_t)nt + (size_t)t) * (size_t)Cg +
						            (size_t)ci) * hw,
						       wt + (size_t)o * K + ((size_t)ci * (size_t)kd +
						                             (size_t)(i0 + t)) * hw,
						       hw * sizeof *f);
			struct dnnq_ir_value v = wv;
			v.ndim = 4;
			v.dims[1] = nt * Cg;
			v.dims[2] = kh;
			v.dims[3] = kw;
			snprintf(sfx, sizeof sfx, ":w%lld.%lld", (long long)i0, (long long)nt);
			int32_t id = new_constant(c, &v, sfx, f);
			if (id < 0) {
				rc = id;
				goto out;
			}
			wkey[2 * nw] = i0;
			wkey[2 * nw + 1] = nt;
			wids[nw++] = id;
		}
		fresh(c, DNNQ_IR_CONV);
		struct dnnq_ir_node *n = &c->node;
		n->group = grp;
		for (int i = 0; i < 2; i++) {
			n->kernel[i] = g.k[1 + i];
			n->strides[i] = g.s[1 + i];
			n->dilations[i] = g.dl[1 + i];
			n->pads[i] = g.pb[1 + i];
			n->pads[2 + i] = g.pe[1 + i];
		}
		c->in[1] = wids[k];
		c->in[2] = bias_id;
		snprintf(sfx, sizeof sfx, ":od%lld", (long long)od);
		if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, y, batched)) ||
		    (rc = link_as(c, sfx, bias_id >= 0 ? 3 : 2)))
			goto out;
		outs[nouts++] = c->in[0];
gather:
		/* the depths so far, after the Concat of those before: at most
		 * DNNQ_IR_MAX_INPUTS inputs (a 17th was dropped: from 32 output
		 * depths on the Concat read past its inputs, SIGSEGV) */
		if (nouts + (cat >= 0) == DNNQ_IR_MAX_INPUTS || od + 1 == g.o[0]) {
			size_t base = cat >= 0;
			int64_t have = cat >= 0 ? c->m->ir->values[cat].dims[1] : 0;
			int32_t ins[DNNQ_IR_MAX_INPUTS];
			if (cat >= 0)
				ins[0] = cat;
			memcpy(ins + base, outs, nouts * sizeof *outs);
			if (nouts + base == 1) {
				cat = ins[0];
			} else {
				fresh(c, DNNQ_IR_CONCAT);
				c->node.axis = 1;
				memcpy(c->in, ins, (nouts + base) * sizeof *ins);
				int64_t yc[4] = { N, have + (int64_t)nouts * M, g.o[1], g.o[2] };
				snprintf(sfx, sizeof sfx, ":cat%lld", (long long)od);
				if ((rc = set_out(c, 0, DNNQ_IR_F32, 4, yc, batched)) ||
				    (rc = link_as(c, sfx, nouts + base)))
					goto out;
				cat = c->in[0];
			}
			nouts = 0;
		}
	}
	c->in[0] = cat;
	int64_t dm[5] = { N, g.o[0], M, g.o[1], g.o[2] };
	if ((rc = reshape_as(c, 5, dm, batched, ":dm")))
		goto out;
	rc = transpose_as(c, 5, dm, (const int64_t[5]){ 0, 2, 1, 3, 4 }, batched, NULL);
out:
	free(wt);
	free(bt);
	return rc;
}

/* ---- the table ----------------------------------------------------------------- */

struct opdef {
	const char *name;
	enum dnnq_ir_op op;
	int (*fn)(struct nctx *c);
	uint16_t min_in, max_in, max_out;   /* ONNX's: outputs past the IR's are unused */
};

/* Tile with constant repeats: per axis that repeats (r > 1), a Concat of
 * r copies along it (NAME:tileA, the last one NAME; more than 16 copies
 * a chain, concat_chain). A batch repeated, or repeats that hold the
 * batch's size, fix the batch to 1. */
static int op_tile(struct nctx *c)
{
	int rc;
	int64_t reps[DNNQ_IR_MAX_DIMS];
	ptrdiff_t n;
	if ((rc = need(c, 0, DT_F32 | DT_Q8, false)) ||
	    (rc = const_ints(c, 1, reps, DNNQ_IR_MAX_DIMS, &n)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (n != (ptrdiff_t)x->ndim)
		return bad(c, DNNQ_E_SHAPE, "%td repeats for an input of rank %u", n, x->ndim);
	uint32_t last = x->ndim;
	for (uint32_t i = 0; i < x->ndim; i++) {
		/* a count read off the batch (torch's repeat_interleave by
		 * x.shape[0]): static once the batch is fixed to 1 */
		if (reps[i] == IMP_BATCH)
			return batch_moves(c, "Tile repeats[%u] is the batch's size", i);
		if (reps[i] < 1 || reps[i] > IMP_MAX_NODE_INPUTS)
			return bad(c, DNNQ_E_RANGE, "repeats[%u] = %lld: want 1..%d", i,
			           (long long)reps[i], IMP_MAX_NODE_INPUTS);
		last = reps[i] > 1 ? i : last;
	}
	if (x->batched && reps[0] != 1)
		return batch_moves(c, "Tile repeats the batch (repeats[0] = %lld)",
		                   (long long)reps[0]);
	if (last == x->ndim)
		return pass_through(c);
	for (uint32_t i = 0; i <= last; i++) {
		if (reps[i] == 1)
			continue;
		char tag[24];
		snprintf(tag, sizeof tag, ":tile%u", i);
		c->node.axis = i;
		c->nin = (size_t)reps[i];
		for (size_t k = 1; k < c->nin; k++)
			c->in[k] = c->in[0];
		if ((rc = concat_chain(c, tag, concat_dims)) ||
		    (i < last && (rc = link_as(c, tag, c->nin))))
			return rc;
	}
	return 0;
}

/* Expand of an activation (a pooled map expanded back over H and W,
 * torch's expand_as) to a shape of at most its rank: a slice whose step is 0
 * on each axis of 1 that grows (the engine's remap repeats the element);
 * the batch stays. To a higher rank, the new axes lead: a batched input's
 * batch moves off dim 0 (the import fixes it to 1: import-batch.c); any
 * other is first a Reshape (NAME:rank) that puts 1-axes in front, up to
 * the engine's rank less the batch axis the graph lifts it by. A constant
 * input folds (import-fold.c). */
static int op_expand(struct nctx *c)
{
	struct dnnq_ir_node *n = &c->node;
	int64_t sh[DNNQ_IR_MAX_DIMS], d[DNNQ_IR_MAX_DIMS];
	ptrdiff_t k;
	int rc;
	if ((rc = need(c, 0, DT_F32 | DT_Q8, false)) ||
	    (rc = const_ints(c, 1, sh, DNNQ_IR_MAX_DIMS, &k)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	if (k < 0)
		return bad(c, DNNQ_E_FORMAT, "shape: a 1-D constant expected");
	if (k > (ptrdiff_t)x->ndim && x->batched)
		return batch_moves(c, "shape of %td values for input [%s]: an Expand to a higher "
		                   "rank puts axes before the batch", k, imp_dims_str(x));
	if (k >= DNNQ_IR_MAX_DIMS && k > (ptrdiff_t)x->ndim)
		return bad(c, DNNQ_E_UNSUPPORTED, "shape of %td values for input [%s]: an Expand to "
		           "rank %td (at most %d: the engine's %d less a batch axis)", k,
		           imp_dims_str(x), k, DNNQ_IR_MAX_DIMS - 1, DNNQ_IR_MAX_DIMS);
	if (k > (ptrdiff_t)x->ndim) {
		size_t lead = (size_t)k - x->ndim;
		for (size_t i = 0; i < (size_t)k; i++)
			d[i] = i < lead ? 1 : x->dims[i - lead];
		c->node.op = DNNQ_IR_RESHAPE;
		c->nin = 1;
		if ((rc = set_out(c, 0, x->dtype, (uint32_t)k, d, false)) ||
		    (rc = link_as(c, ":rank", 1)))
			return rc;
		x = V(c, 0);
	}
	if ((rc = engine_kind(c, "slice")))
		return rc;
	/* aligned at the last axis: the leading ones stay */
	size_t lead = x->ndim - (size_t)k;
	memmove(sh + lead, sh, (size_t)k * sizeof *sh);
	for (size_t i = 0; i < lead; i++)
		sh[i] = 1;
	bool grows = false;
	for (uint32_t i = 0; i < x->ndim; i++) {
		n->starts[i] = 0;
		n->steps[i] = 1;
		d[i] = x->dims[i];
		if (i == 0 && x->batched) {
			if (sh[0] != IMP_BATCH && sh[0] != 1 && sh[0] != x->dims[0])
				return batch_moves(c, "shape[0] = %lld: the batch can not grow",
				                   (long long)sh[0]);
			continue;
		}
		if (sh[i] == x->dims[i] || sh[i] == 1)
			continue;
		if (x->dims[i] != 1 || sh[i] < 1 || sh[i] > IMP_MAX_DIM)
			return bad(c, DNNQ_E_SHAPE, "shape[%u] = %lld: input [%s] does not broadcast to it",
			           i, (long long)sh[i], imp_dims_str(x));
		n->steps[i] = 0;
		d[i] = sh[i];
		grows = true;
	}
	c->nin = 1;
	if (!grows)
		return pass_through(c);
	return set_out(c, 0, x->dtype, x->ndim, d, x->batched);
}

/* DepthToSpace and SpaceToDepth as their definition: a 6-D Reshape
 * (NAME:split), a Transpose (NAME:perm), a 4-D Reshape (PixelShuffle and
 * PixelUnshuffle in super-resolution nets and YOLO's focus layers). */
static int op_space_depth(struct nctx *c)
{
	static const char *const modes[] = { "DCR", "CRD", NULL };
	int64_t bs;
	int rc, mode = 0;
	bool to_space = !strcmp(S(c->np->op_type), "DepthToSpace");
	if ((rc = need(c, 0, DT_F32, false)) ||
	    (rc = need_rank(c, 0, 4, "a 4-D NCHW input expected")) ||
	    (rc = a_int(c, "blocksize", 0, &bs)) ||
	    (to_space && (rc = a_enum(c, "mode", modes, &mode))))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0);
	const int64_t n = x->dims[0], ch = x->dims[1], h = x->dims[2], w = x->dims[3];
	const bool batched = x->batched;
	if (bs < 1 || bs > 1024)
		return bad(c, DNNQ_E_RANGE, "blocksize %lld: 1..1024 expected", (long long)bs);
	if (to_space ? ch % (bs * bs) : h % bs || w % bs)
		return bad(c, DNNQ_E_SHAPE, "input [%s]: %s not divisible by blocksize %lld",
		           imp_dims_str(x), to_space ? "C by its square" : "H or W",
		           (long long)bs);
	int64_t split[6], out[4], d[6];
	static const int64_t perms[3][6] = {
		{ 0, 3, 4, 1, 5, 2 },	/* DCR: [N, bs, bs, C', H, W] */
		{ 0, 1, 4, 2, 5, 3 },	/* CRD: [N, C', bs, bs, H, W] */
		{ 0, 3, 5, 1, 2, 4 },	/* SpaceToDepth: [N, C, H', bs, W', bs] */
	};
	const int64_t *perm = perms[to_space ? mode : 2];
	if (!to_space) {
		memcpy(split, (int64_t[6]){ n, ch, h / bs, bs, w / bs, bs }, sizeof split);
		memcpy(out, (int64_t[4]){ n, ch * bs * bs, h / bs, w / bs }, sizeof out);
	} else {
		int64_t cp = ch / (bs * bs);
		memcpy(split, mode ? (int64_t[6]){ n, cp, bs, bs, h, w }
		                   : (int64_t[6]){ n, bs, bs, cp, h, w }, sizeof split);
		memcpy(out, (int64_t[4]){ n, cp, h * bs, w * bs }, sizeof out);
	}
	c->node.op = DNNQ_IR_RESHAPE;
	c->nin = 1;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 6, split, batched)) ||
	    (rc = link_as(c, ":split", 1)) || (rc = engine_kind(c, "transpose")))
		return rc;
	for (uint32_t i = 0; i < 6; i++) {
		c->node.ints[i] = perm[i];
		d[i] = split[perm[i]];
	}
	c->node.nints = 6;
	if ((rc = set_out(c, 0, DNNQ_IR_F32, 6, d, batched)) || (rc = link_as(c, ":perm", 1)))
		return rc;
	c->node.op = DNNQ_IR_RESHAPE;
	c->node.nints = 0;
	return set_out(c, 0, DNNQ_IR_F32, 4, out, batched);
}

static const struct opdef OPS[] = {
	{ "Conv", DNNQ_IR_CONV, op_conv, 2, 3, 1 },
	{ "Gemm", DNNQ_IR_GEMM, op_gemm, 2, 3, 1 },
	{ "MatMul", DNNQ_IR_GEMM, op_matmul, 2, 2, 1 },
	{ "CumSum", DNNQ_IR_GEMM, op_cumsum, 2, 2, 1 },
	{ "STFT", DNNQ_IR_CONV, op_stft, 2, 4, 1 },
	{ "DFT", DNNQ_IR_GEMM, op_dft, 1, 3, 1 },
	{ "Relu", DNNQ_IR_RELU, op_unary, 1, 1, 1 },
	{ "LeakyRelu", DNNQ_IR_LEAKYRELU, op_unary, 1, 1, 1 },
	{ "Clip", DNNQ_IR_CLIP, op_clip, 1, 3, 1 },
	{ "Sigmoid", DNNQ_IR_SIGMOID, op_unary, 1, 1, 1 },
	{ "Tanh", DNNQ_IR_TANH, op_unary, 1, 1, 1 },
	{ "HardSigmoid", DNNQ_IR_HARDSIGMOID, op_unary, 1, 1, 1 },
	{ "HardSwish", DNNQ_IR_HARDSWISH, op_unary, 1, 1, 1 },
	{ "Elu", DNNQ_IR_ELU, op_unary, 1, 1, 1 },
	{ "Selu", DNNQ_IR_SELU, op_unary, 1, 1, 1 },
	{ "Celu", DNNQ_IR_CELU, op_unary, 1, 1, 1 },
	{ "Shrink", DNNQ_IR_SHRINK, op_unary, 1, 1, 1 },
	{ "ThresholdedRelu", DNNQ_IR_THRESHOLDEDRELU, op_unary, 1, 1, 1 },
	{ "MaxPool", DNNQ_IR_MAXPOOL, op_pool, 1, 1, 2 },
	{ "AveragePool", DNNQ_IR_AVGPOOL, op_pool, 1, 1, 1 },
	{ "GlobalAveragePool", DNNQ_IR_GAVGPOOL, op_gavgpool, 1, 1, 1 },
	{ "Add", DNNQ_IR_ADD, op_add_mul, 2, 2, 1 },
	{ "Mul", DNNQ_IR_MUL, op_add_mul, 2, 2, 1 },
	{ "Sum", DNNQ_IR_SUM, op_sum, 1, DNNQ_IR_MAX_INPUTS, 1 },
	{ "Concat", DNNQ_IR_CONCAT, op_concat, 1, IMP_MAX_NODE_INPUTS, 1 },
	{ "Tile", DNNQ_IR_CONCAT, op_tile, 2, 2, 1 },
	{ "Flatten", DNNQ_IR_RESHAPE, op_flatten, 1, 1, 1 },
	{ "Reshape", DNNQ_IR_RESHAPE, op_reshape, 1, 2, 1 },
	{ "Squeeze", DNNQ_IR_RESHAPE, op_squeeze, 1, 2, 1 },
	{ "Unsqueeze", DNNQ_IR_RESHAPE, op_unsqueeze, 1, 2, 1 },
	{ "BatchNormalization", DNNQ_IR_BATCHNORM, op_batchnorm, 5, 5, 5 },
	{ "Softmax", DNNQ_IR_SOFTMAX, op_softmax, 1, 1, 1 },
	{ "Identity", DNNQ_IR_OP_COUNT, op_identity, 1, 1, 1 },
	{ "Dropout", DNNQ_IR_OP_COUNT, op_dropout, 1, 3, 2 },
	{ "Constant", DNNQ_IR_OP_COUNT, op_constant, 0, 0, 1 },
	{ "QuantizeLinear", DNNQ_IR_QUANTIZE, op_quantize, 2, 3, 1 },
	{ "DequantizeLinear", DNNQ_IR_DEQUANTIZE, op_dequantize, 2, 3, 1 },
	{ "QLinearConv", DNNQ_IR_QLINEARCONV, op_qlinearconv, 8, 9, 1 },
	{ "QLinearMatMul", DNNQ_IR_QLINEARMATMUL, op_qlinearmatmul, 8, 8, 1 },
	{ "ConvInteger", DNNQ_IR_CONVINTEGER, op_convinteger, 2, 4, 1 },
	{ "MatMulInteger", DNNQ_IR_MATMULINTEGER, op_matmulinteger, 2, 4, 1 },
	{ "DynamicQuantizeLinear", DNNQ_IR_DYNQUANT, op_dynquant, 1, 1, 3 },
	{ "Cast", DNNQ_IR_CAST, op_cast, 1, 1, 1 },
	{ "CastLike", DNNQ_IR_CAST, op_cast, 2, 2, 1 },
	/* eltwise (the unary operators of the registry import through it) */
	{ "Min", DNNQ_IR_ENGINE, op_minmax, 1, DNNQ_IR_MAX_INPUTS, 1 },
	{ "Max", DNNQ_IR_ENGINE, op_minmax, 1, DNNQ_IR_MAX_INPUTS, 1 },
	{ "PRelu", DNNQ_IR_ENGINE, op_prelu, 2, 2, 1 },
	{ "Pow", DNNQ_IR_ENGINE, op_pow, 2, 2, 1 },
	{ "Mod", DNNQ_IR_ENGINE, op_mod, 2, 2, 1 },
	{ "Where", DNNQ_IR_ENGINE, op_where, 3, 3, 1 },
	{ "Trilu", DNNQ_IR_ENGINE, op_trilu, 1, 2, 1 },
	/* vision: engine/ops/ kinds (DNNQ_IR_ENGINE) */
	{ "Resize", DNNQ_IR_ENGINE, op_resize, 1, 4, 1 },
	{ "Upsample", DNNQ_IR_ENGINE, op_upsample, 1, 2, 1 },
	{ "ConvTranspose", DNNQ_IR_ENGINE, op_convtranspose, 2, 3, 1 },
	{ "Slice", DNNQ_IR_ENGINE, op_slice, 1, 5, 1 },
	{ "Split", DNNQ_IR_ENGINE, op_split, 1, 2, DNNQ_IR_MAX_OUTPUTS },
	{ "Pad", DNNQ_IR_ENGINE, op_pad, 1, 4, 1 },
	{ "Gather", DNNQ_IR_ENGINE, op_gather, 2, 2, 1 },
	{ "OneHot", DNNQ_IR_ENGINE, op_onehot, 3, 3, 1 },
	{ "GatherElements", DNNQ_IR_ENGINE, op_gather_elements, 2, 2, 1 },
	{ "ScatterElements", DNNQ_IR_ENGINE, op_scatter_elements, 3, 3, 1 },
	{ "MaxUnpool", DNNQ_IR_ENGINE, op_maxunpool, 2, 3, 1 },
	{ "Scatter", DNNQ_IR_ENGINE, op_scatter_elements, 3, 3, 1 },
	{ "GatherND", DNNQ_IR_ENGINE, op_gathernd, 2, 2, 1 },
	{ "ScatterND", DNNQ_IR_ENGINE, op_scatternd, 3, 3, 1 },
	{ "GridSample", DNNQ_IR_ENGINE, op_grid_sample, 2, 2, 1 },
	{ "GlobalMaxPool", DNNQ_IR_MAXPOOL, op_gmaxpool, 1, 1, 1 },
	/* xfmr: transformer and reduction operators (the registry's kinds) */
	{ "Transpose", DNNQ_IR_ENGINE, op_transpose, 1, 1, 1 },
	{ "ReduceMean", DNNQ_IR_ENGINE, op_reduce, 1, 2, 1 },
	{ "ReduceSum", DNNQ_IR_ENGINE, op_reduce, 1, 2, 1 },
	{ "ReduceMax", DNNQ_IR_ENGINE, op_reduce, 1, 2, 1 },
	{ "ReduceMin", DNNQ_IR_ENGINE, op_reduce, 1, 2, 1 },
	{ "ReduceProd", DNNQ_IR_ENGINE, op_reduce, 1, 2, 1 },
	{ "ReduceL2", DNNQ_IR_ENGINE, op_reduce, 1, 2, 1 },
	{ "ReduceSumSquare", DNNQ_IR_ENGINE, op_reduce, 1, 2, 1 },
	{ "LogSoftmax", DNNQ_IR_ENGINE, op_logsoftmax, 1, 1, 1 },
	{ "Hardmax", DNNQ_IR_ENGINE, op_logsoftmax, 1, 1, 1 },
	{ "ArgMax", DNNQ_IR_ENGINE, op_arg, 1, 1, 1 },
	{ "ArgMin", DNNQ_IR_ENGINE, op_arg, 1, 1, 1 },
	{ "TopK", DNNQ_IR_ENGINE, op_topk, 1, 2, 2 },
	{ "LayerNormalization", DNNQ_IR_ENGINE, op_layernorm, 2, 3, 3 },
	{ "InstanceNormalization", DNNQ_IR_ENGINE, op_instancenorm, 3, 3, 1 },
	{ "GroupNormalization", DNNQ_IR_ENGINE, op_groupnorm, 3, 3, 1 },
	{ "ImageScaler", DNNQ_IR_MUL, op_imagescaler, 1, 1, 1 },
	{ "LRN", DNNQ_IR_ENGINE, op_lrn, 1, 1, 1 },
	{ "MeanVarianceNormalization", DNNQ_IR_ENGINE, op_mvn, 1, 1, 1 },
	{ "LpNormalization", DNNQ_IR_ENGINE, op_lpnorm, 1, 1, 1 },
	{ "LpPool", DNNQ_IR_ENGINE, op_lppool, 1, 1, 1 },
	{ "Col2Im", DNNQ_IR_ENGINE, op_col2im, 3, 3, 1 },
	{ "AffineGrid", DNNQ_IR_ENGINE, op_affinegrid, 2, 2, 1 },
	{ "Det", DNNQ_IR_ENGINE, op_det, 1, 1, 1 },
	{ "GlobalLpPool", DNNQ_IR_ENGINE, op_lppool, 1, 1, 1 },
	{ "Einsum", DNNQ_IR_ENGINE, op_einsum, 1, DNNQ_IR_MAX_INPUTS, 1 },
	{ "DepthToSpace", DNNQ_IR_RESHAPE, op_space_depth, 1, 1, 1 },
	{ "Expand", DNNQ_IR_ENGINE, op_expand, 2, 2, 1 },
	{ "SpaceToDepth", DNNQ_IR_RESHAPE, op_space_depth, 1, 1, 1 },
};

/* An operator of the engine's registry (engine/op.h) that implements an
 * ONNX operator alone: imported through its description. Binary
 * elementwise ones (f32 set) broadcast as Add does; unary ones
 * (engine/unary.h) keep their input's shape. */
static const struct opdef *find_registry_op(const char *name, struct opdef *tmp,
                                            uint32_t *kind)
{
	const struct dnnq_op_def *def = dnnq_op_find_onnx(name);
	if (def && dnnq_unary_fn(def))
		*tmp = (struct opdef){ def->onnx, DNNQ_IR_ENGINE, op_unary, 1, 1, 1 };
	else if (def && def->f32 && def->min_inputs == 2 && def->max_inputs == 2)
		*tmp = (struct opdef){ def->onnx, DNNQ_IR_ENGINE, op_binary, 2, 2, 1 };
	else
		return NULL;
	*kind = def->kind;
	return tmp;
}

static const struct opdef *find_op(const char *name, struct opdef *tmp, uint32_t *kind)
{
	for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
		if (!strcmp(OPS[i].name, name))
			return &OPS[i];
	return find_registry_op(name, tmp, kind);
}

/* ---- one node ------------------------------------------------------------------ */

/* The node failed (or read an unknown value): its outputs are unknown. */
int imp_outputs_unknown(struct nctx *c)
{
	for (size_t k = 0; k < c->np->n_output; k++) {
		const char *o = S(c->np->output[k]);
		if (*o && !imp_find(c->m, o) && imp_add_name(c->m, o, IMP_UNKNOWN, -1))
			return DNNQ_E_NOMEM;
	}
	return 0;
}

static int resolve_inputs(struct nctx *c, bool *unknown)
{
	*unknown = false;
	for (size_t i = 0; i < c->nin; i++) {
		int32_t id = imp_lookup(c->m, S(c->np->input[i]), c->who);
		if (id == DNNQ_E_NOMEM)
			return id;
		if (id < -1) {
			*unknown = true;
			id = -1;
		}
		c->in[i] = id;
	}
	return 0;
}

/* Creates the IR outputs (or the alias) and names every ONNX output. */
static int emit(struct nctx *c, const struct opdef *d, size_t index)
{
	struct imp *m = c->m;
	int32_t node = c->alias < 0 && c->constant < 0 ? (int32_t)m->ir->nnodes : -1;
	for (size_t k = 0; k < c->np->n_output || k < c->nout; k++) {
		const char *o = k < c->np->n_output ? S(c->np->output[k]) : "";
		if (*o && imp_find(m, o)) {
			imp_problem(m, DNNQ_E_FORMAT, "%s: output '%.100s' is defined twice", c->who, o);
			continue;
		}
		int32_t id;
		if (c->alias >= 0 || c->constant >= 0) {
			if (k > 0 && k >= c->nconst) {
				if (*o && imp_add_name(m, o, IMP_UNUSED, (int32_t)index))
					return DNNQ_E_NOMEM;
				continue;
			}
			id = k ? c->consts[k] : c->alias >= 0 ? c->alias : c->constant;
		} else if (k < c->nout) {
			char syn[200];
			snprintf(syn, sizeof syn, "%s:%zu", c->name, k);
			c->out[k].name = (char *)(*o ? o : syn);
			c->out[k].producer = node;
			if ((id = imp_new_value(m, &c->out[k], true)) < 0)
				return id;
			m->moved[id] = c->moved[k];
			c->node.outputs[k] = id;
		} else {
			if (*o && imp_add_name(m, o, IMP_UNUSED, (int32_t)index))
				return DNNQ_E_NOMEM;
			continue;
		}
		if (*o && imp_add_name(m, o, IMP_VALUE, id))
			return DNNQ_E_NOMEM;
	}
	(void)d;
	if (node < 0)
		return 0;
	c->node.noutputs = c->nout;
	c->node.ninputs = (uint32_t)c->nin;
	for (size_t i = c->nin; i < DNNQ_IR_MAX_INPUTS; i++)
		c->node.inputs[i] = -1;
	memcpy(c->node.inputs, c->in, c->nin * sizeof *c->in);
	for (size_t k = c->nout; k < DNNQ_IR_MAX_OUTPUTS; k++)
		c->node.outputs[k] = -1;
	c->node.whole = c->whole;
	c->node.name = strdup(c->name);
	c->node.op_type = strdup(S(c->np->op_type));
	return imp_new_node(m, &c->node);
}

/* The node's input and output counts fit [min_in, max_in] and [1, max_out]. */
static int arity(struct nctx *c, unsigned min_in, unsigned max_in, unsigned max_out)
{
	const Onnx__NodeProto *np = c->np;
	if (np->n_input < min_in || np->n_input > max_in)
		return bad(c, DNNQ_E_FORMAT, "%zu inputs (%u to %u expected)", np->n_input, min_in,
		           max_in);
	if (np->n_output < 1 || np->n_output > max_out)
		return bad(c, DNNQ_E_FORMAT, "%zu outputs (1 to %u expected)", np->n_output, max_out);
	return 0;
}

/* Whether folding handler f takes the node: its counts fit and the inputs
 * it needs constant are. */
static bool foldable(struct nctx *c, const struct imp_fold *f)
{
	if (!f || c->np->n_input < f->min_in || c->np->n_input > f->max_in ||
	    c->np->n_output < 1 || c->np->n_output > imp_fold_outputs(f))
		return false;
	/* a required input left out (an empty name) is the operator's error
	 * to report, not a constant to fold */
	for (size_t i = 0; i < c->nin; i++)
		if (V(c, i) ? i >= f->const_from && !V(c, i)->data : i < f->min_in)
			return false;
	return true;
}

static const char *unsupported_why(const char *op);

/* A node the operator table knows; a Reshape (Flatten, Squeeze,
 * Unsqueeze) of a constant is folded into a constant. */
static int table_op(struct nctx *c, const struct opdef *d, uint32_t kind)
{
	if (!d)
		return bad(c, DNNQ_E_UNSUPPORTED, "unsupported operator%s",
		           unsupported_why(S(c->np->op_type)));
	int rc = arity(c, d->min_in, d->max_in, d->max_out);
	if (rc)
		return rc;
	c->node.op = d->op;
	c->node.kind = kind;
	c->node.group = 1;
	c->node.strides[0] = c->node.strides[1] = 1;
	c->node.dilations[0] = c->node.dilations[1] = 1;
	c->node.alpha = 1.0f;
	c->node.clip_min = -INFINITY;
	c->node.clip_max = INFINITY;
	if ((rc = d->fn(c)))
		return rc;
	if (c->node.op == DNNQ_IR_RESHAPE && c->alias < 0 && V(c, 0)->data)
		return imp_fold_data(c, V(c, 0));
	return 0;
}

/* What the importer settled without a node, for the report. */
static int settled(struct nctx *c)
{
	const char *op = S(c->np->op_type);
	if (c->alias >= 0)
		return imp_settled(c->m, c->name, op, c->merged ? DNNQ_IR_MERGED : DNNQ_IR_NOOP);
	if (c->constant >= 0 && strcmp(op, "Constant"))
		return imp_settled(c->m, c->name, op, DNNQ_IR_FOLDED);
	return 0;
}

/* What a user needs to know about an operator dnnq does not import, beyond
 * its name, for the families real exports hit (silero VAD's If and LSTM):
 * " (why)", or "". */
static const char *unsupported_why(const char *op)
{
	static const char *const flow = " (of the loops only a Loop of a constant trip count "
	                                "is imported, unrolled)";
	static const char *const values = " (its output's shape depends on the input's "
	                                  "values, and dnnq fixes every shape when the model "
	                                  "is built: only a constant input folds)";
	static const char *const unique = " (its outputs' shapes depend on the input's values, "
	                                  "and dnnq fixes every shape when the model is built)";
	static const char *const nms = " (its output has a row per box kept, as many as the "
	                               "scores decide, and dnnq fixes every shape when the model "
	                               "is built: export the detector without it, its boxes and "
	                               "scores as outputs, and run the NMS on dnnq's outputs)";
	static const struct { const char *op, *why; } known[] = {
		{ "Scan", flow }, { "NonZero", values }, { "Unique", unique },
		{ "BitShift", " (of uint8 constants only, folded at import)" },
		{ "NonMaxSuppression", nms },
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(op, known[i].op))
			return known[i].why;
	return "";
}

/* Whether ONNX node input i is marked bool. */
static bool in_bool(struct nctx *c, size_t i)
{
	return i < c->np->n_input && imp_is_bool(c->m, S(c->np->input[i]));
}

/* Whether attribute name is a bool tensor (a Constant's, a ConstantOfShape's value). */
static bool bool_tensor(struct nctx *c, const char *name)
{
	const Onnx__AttributeProto *a = attr(c, name);
	return a && a->t && a->t->has_data_type &&
	       a->t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
}

#define ALL_INPUTS UINT32_MAX

/* Whether a rule's input set `in` (bit i: input i; ALL_INPUTS: every
 * one) holds input i. */
static bool in_bit(uint32_t in, size_t i)
{
	return i < 32 ? in >> i & 1 : in == ALL_INPUTS;
}

/* Whether the node, imported, makes bools (ONNX's type; the IR's float 0
 * and 1), for a CastLike to them (imp_cast_to): a comparison, a
 * logical operator, a Cast or CastLike to bool, a Constant or
 * ConstantOfShape of a bool tensor, or an operator that moves or selects
 * elements without changing them whose inputs moved are all bools. One
 * rule for a node and its fold alike (folded or not, aliased or not: the
 * mark is the output name's). */
static bool makes_bool(struct nctx *c)
{
	/* bit i of `in`: input i is moved, a bool when every one moved is
	 * (ALL_INPUTS: every input); 0: bools always */
	static const struct { const char *op; uint32_t in; } rules[] = {
		{ "Equal", 0 }, { "Greater", 0 }, { "GreaterOrEqual", 0 }, { "Less", 0 },
		{ "LessOrEqual", 0 }, { "Not", 0 }, { "And", 0 }, { "Or", 0 }, { "Xor", 0 },
		{ "IsNaN", 0 }, { "IsInf", 0 },
		{ "Identity", 1 }, { "Reshape", 1 }, { "Flatten", 1 }, { "Squeeze", 1 },
		{ "Unsqueeze", 1 }, { "Transpose", 1 }, { "Expand", 1 }, { "Tile", 1 },
		{ "Slice", 1 }, { "Split", 1 }, { "Gather", 1 }, { "Pad", 1 },
		{ "DepthToSpace", 1 }, { "SpaceToDepth", 1 }, { "ReduceMax", 1 },
		{ "ReduceMin", 1 }, { "ConcatFromSequence", 1 }, { "ScatterND", 5 },
		{ "Where", 6 }, { "Concat", ALL_INPUTS },
	};
	const char *op = S(c->np->op_type);
	int64_t to;
	if (!strcmp(op, "Cast"))
		return !a_int(c, "to", 0, &to) && to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
	if (!strcmp(op, "CastLike"))
		return in_bool(c, 1);
	if (!strcmp(op, "Constant") || !strcmp(op, "ConstantOfShape"))
		return bool_tensor(c, "value");
	for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++) {
		if (strcmp(op, rules[k].op))
			continue;
		bool all = !rules[k].in || c->np->n_input > 0;
		for (size_t i = 0; all && i < c->np->n_input; i++)
			if (in_bit(rules[k].in, i))
				all = in_bool(c, i);
		return all;
	}
	return false;
}

/* ---- integers computed at run time (token ids' arithmetic) ------------------- */

/* The operators that compute on integers a graph input holds (int32 ids, a
 * mask) or that an integer operator made: their data inputs (bit i: input
 * i; ALL_INPUTS: every one) are computed as floats, exact below 2^24, and
 * their outputs are integers again unless they make bools or indices. */
static const struct { const char *op; uint32_t in; bool ints_out, as_is; } INT_OPS[] = {
	/* views, read as they are (an int32 value too) */
	{ "Reshape", 1, true, true }, { "Unsqueeze", 1, true, true },
	{ "Squeeze", 1, true, true }, { "Flatten", 1, true, true },
	{ "Identity", 1, true, true }, { "Shape", 1, false, true },
	{ "Size", 1, false, true }, { "Cast", 1, false, true }, { "CastLike", 1, false, true },
	{ "Add", 3, true, false }, { "Sub", 3, true, false }, { "Mul", 3, true, false },
	{ "Neg", 1, true, false }, { "Abs", 1, true, false },
	{ "Min", ALL_INPUTS, true, false }, { "Max", ALL_INPUTS, true, false },
	{ "CumSum", 1, true, false }, { "ReduceSum", 1, true, false },
	{ "ReduceMax", 1, true, false }, { "ReduceMin", 1, true, false },
	{ "Expand", 1, true, false }, { "Tile", 1, true, false }, { "Slice", 1, true, false },
	{ "Gather", 1, true, false }, { "Transpose", 1, true, false },
	{ "GatherND", 1, true, false }, { "GatherElements", 1, true, false },
	{ "ScatterND", 5, true, false }, { "ScatterElements", 5, true, false },
	{ "Concat", ALL_INPUTS, true, false }, { "Where", 6, true, false },
	{ "Equal", 3, false, false }, { "Greater", 3, false, false },
	{ "GreaterOrEqual", 3, false, false }, { "Less", 3, false, false },
	{ "LessOrEqual", 3, false, false }, { "ArgMax", 1, false, false },
	{ "ArgMin", 1, false, false }, { "Pow", 3, false, false },
};

/* The largest integer every int32 and float32 holds alike. */
#define INT_EXACT (1 << 24)

/* Whether input i is computed integers: an int32 value, or floats holding them. */
static bool computed_int(struct nctx *c, size_t i)
{
	const struct dnnq_ir_value *v = V(c, i);
	return v && !v->data && (v->dtype == DNNQ_IR_S32 || imp_is_int(c->m, iname(c, i)));
}

/* The float of computed int32 value id: a Cast (NAME:f32) made once and
 * shared; its id, or < 0. */
static int32_t int_cast(struct nctx *c, int32_t id)
{
	struct dnnq_ir *ir = c->m->ir;
	for (size_t k = 0; k < ir->nnodes; k++)
		if (ir->nodes[k].op == DNNQ_IR_CAST && ir->nodes[k].inputs[0] == id &&
		    ir->values[ir->nodes[k].outputs[0]].integer)
			return ir->nodes[k].outputs[0];
	struct dnnq_ir_value v = ir->values[id];
	char nm[200];
	snprintf(nm, sizeof nm, "%.180s:f32", v.name);
	v.name = nm;
	v.dtype = DNNQ_IR_F32;
	v.integer = true;
	v.producer = (int32_t)ir->nnodes;
	int32_t out = imp_new_value(c->m, &v, true);
	if (out < 0)
		return out;
	c->m->moved[out] = c->m->moved[id];
	struct dnnq_ir_node n = { .op = DNNQ_IR_CAST, .ninputs = 1, .noutputs = 1,
	                          .name = strdup(nm), .op_type = strdup("Cast") };
	for (size_t i = 0; i < DNNQ_IR_MAX_INPUTS; i++)
		n.inputs[i] = i ? -1 : id;
	for (size_t i = 0; i < DNNQ_IR_MAX_OUTPUTS; i++)
		n.outputs[i] = i ? -1 : out;
	int rc = imp_new_node(c->m, &n);
	return rc ? rc : out;
}

int imp_int_const(struct nctx *c, size_t i)
{
	const struct dnnq_ir_value *e = V(c, i);
	size_t n = numel(e);
	float *f;
	int rc = imp_const_alloc(c->m, n * sizeof *f, c->who, (void **)&f);
	if (rc)
		return rc;
	for (size_t k = 0; k < n; k++) {
		int64_t x = e->dtype == DNNQ_IR_S64 ? ((const int64_t *)e->data)[k]
		          : e->dtype == DNNQ_IR_S32 ? ((const int32_t *)e->data)[k]
		          : e->dtype == DNNQ_IR_S8 ? ((const int8_t *)e->data)[k]
		          : ((const uint8_t *)e->data)[k];
		if (x < -INT_EXACT || x > INT_EXACT) {
			free(f);
			return bad(c, DNNQ_E_RANGE, "input %zu '%.80s': element %zu = %lld: integers "
			           "computed at run time are carried as float32, exact within +-2^24",
			           i, iname(c, i), k, (long long)x);
		}
		f[k] = (float)x;
	}
	struct dnnq_ir_value v = *e;
	v.dtype = DNNQ_IR_F32;
	v.integer = true;
	int32_t id = new_constant(c, &v, ":f32", f);
	if (id < 0)
		return id;
	c->in[i] = id;
	return 0;
}

/* Whether op reads computed indices (input 1) as they are. */
static bool reads_indices(const char *op)
{
	static const char *const ops[] = { "GatherElements", "ScatterElements", "Scatter",
	                                   "GatherND", "ScatterND" };
	for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
		if (!strcmp(op, ops[k]))
			return true;
	return false;
}

/* Of a node whose data inputs (bit i of `in`: input i) hold integers
 * computed at run time, a data input ONNX types float32: a float
 * constant, or a float graph input, beside a Cast to an integer's output
 * or an integer input. ONNX gives these operators' data inputs one type T
 * (Pow's exponent has its own, T1) and ONNX Runtime refuses the model
 * ("Type parameter (T) ... bound to different types"); dnnq would compute
 * it as floats: refused, naming the input. Floats computed by the graph
 * are not judged: the import marks the integers it computes with, not
 * every integer of ONNX's types. */
static int float_meets_int(struct nctx *c, uint32_t in)
{
	if (!strcmp(S(c->np->op_type), "Pow"))
		return 0;
	for (size_t i = 0; i < c->nin; i++) {
		const struct dnnq_ir_value *v = V(c, i);
		if (!in_bit(in, i) || !v || v->dtype != DNNQ_IR_F32 || v->integer ||
		    computed_int(c, i) || (!v->data && v->producer >= 0))
			continue;
		return bad(c, DNNQ_E_DTYPE, "input %zu '%.80s' is float32 where another input holds "
		           "integers (a Cast to an integer, an integer input): ONNX gives the inputs "
		           "one type, and ONNX Runtime refuses such a model; Cast one of them",
		           i, iname(c, i));
	}
	return 0;
}

/* A node reading computed integers (docs/onnx.md, "Token ids"): of
 * INT_OPS, its integer data inputs become floats (int_cast, imp_int_const);
 * any other operator is refused, naming the input. c->ints: the outputs
 * hold integers. */
static int int_inputs(struct nctx *c, const char *op)
{
	bool *ints = &c->ints;
	size_t k = 0, n = sizeof INT_OPS / sizeof INT_OPS[0];
	while (k < n && strcmp(op, INT_OPS[k].op))
		k++;
	bool gather_embed = !strcmp(op, "Gather") && V(c, 0) && V(c, 0)->data;
	for (size_t i = 0; k == n && i < c->nin; i++) {
		/* an int32 value: the operator's to check; the indices of
		 * GatherElements, ScatterElements, GatherND and ScatterND: read
		 * as they are, each checked every run (engine/ops/) */
		if (!computed_int(c, i) || V(c, i)->dtype == DNNQ_IR_S32 ||
		    (i == 1 && reads_indices(op)))
			continue;
		return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' holds integers computed at run "
		           "time: dnnq computes them (as float32, exact within +-2^24) only in Add, "
		           "Sub, Mul, Neg, Abs, Min, Max, CumSum, ReduceSum/Max/Min, the comparisons, "
		           "ArgMax/ArgMin, Pow, Where and the moves (Expand, Tile, Slice, Gather, "
		           "GatherND, GatherElements, ScatterND, ScatterElements, Transpose, "
		           "Concat), reads them as ids in a Gather of a table and as "
		           "indices of GatherElements, ScatterElements, GatherND and ScatterND, and "
		           "casts them", i, iname(c, i));
	}
	if (k == n || gather_embed)
		return 0;
	if (INT_OPS[k].as_is) {
		*ints = INT_OPS[k].ints_out && computed_int(c, 0) && V(c, 0)->dtype == DNNQ_IR_F32;
		return 0;
	}
	bool any = false, all = true;
	for (size_t i = 0; i < c->nin; i++) {
		bool data = in_bit(INT_OPS[k].in, i);
		const struct dnnq_ir_value *v = V(c, i);
		if (!data || !v)
			continue;
		any |= computed_int(c, i);
		all &= computed_int(c, i) || (v->data && (v->dtype != DNNQ_IR_F32 || v->integer));
	}
	if (!any)
		return 0;
	int bad_mix = float_meets_int(c, INT_OPS[k].in);
	if (bad_mix)
		return bad_mix;
	for (size_t i = 0; i < c->nin; i++) {
		bool data = in_bit(INT_OPS[k].in, i);
		const struct dnnq_ir_value *v = V(c, i);
		int32_t id;
		int rc = 0;
		if (!data || !v || v->dtype == DNNQ_IR_F32)
			continue;
		if (v->data)
			rc = imp_int_const(c, i);
		else if ((id = int_cast(c, c->in[i])) < 0)
			rc = id;
		else
			c->in[i] = id;
		if (rc)
			return rc;
	}
	*ints = all && INT_OPS[k].ints_out;
	return 0;
}

/* The node's outputs, emitted, their names marked bool when it makes bools. */
static int emit_typed(struct nctx *c, const struct opdef *d, size_t index)
{
	int rc = emit(c, d, index);
	bool bools = !rc && makes_bool(c);
	for (size_t k = 0; bools && k < c->np->n_output; k++)
		imp_mark_bool(c->m, S(c->np->output[k]), true);
	for (size_t k = 0; !rc && c->ints && k < c->np->n_output; k++)
		imp_mark_int(c->m, S(c->np->output[k]));
	return rc;
}

int imp_node(struct imp *m, const Onnx__NodeProto *np, size_t index)
{
	if (!np) {
		imp_problem(m, DNNQ_E_FORMAT, "node %zu is empty", index);
		return 0;
	}
	struct nctx c = { .m = m, .np = np, .index = index, .alias = -1, .constant = -1 };
	/* a node of the graph, or one onnx/import-ms.c made in node index's place */
	bool model_node = index < m->g->n_node && np == m->g->node[index];
	if (model_node)
		imp_node_name(m, index, c.name);
	else
		dnnq_ir_node_name(c.name, S(np->name));
	const char *op = S(np->op_type), *dom = S(np->domain);
	snprintf(c.who, sizeof c.who, "node '%s' (%.60s)", c.name, op);
	/* the model's nodes: those made here take what their makers give */
	if (model_node && (!*dom || !strcmp(dom, "ai.onnx")) && imp_schema_check(m, np, c.name))
		return imp_outputs_unknown(&c);
	const Onnx__FunctionProto *fn = *dom && strcmp(dom, "ai.onnx") ? imp_function(m, dom, op)
	                                                               : NULL;
	if (fn)
		return imp_call(&c, fn);
	if (!strcmp(dom, "com.microsoft") || imp_ms_default(&c))
		return imp_ms(&c);
	if (!*dom || !strcmp(dom, "ai.onnx")) {
		if (!strcmp(op, "If"))
			return imp_if(&c);
		if (!strcmp(op, "Loop"))
			return imp_loop(&c);
		if (!strcmp(op, "SequenceEmpty") || !strcmp(op, "SequenceConstruct") ||
		    !strcmp(op, "SequenceInsert") || !strcmp(op, "SplitToSequence"))
			return imp_sequence(&c);
	}
	/* ConcatFromSequence: a Concat of the sequence's tensors; SequenceAt an
	 * Identity of one */
	bool std = !*dom || !strcmp(dom, "ai.onnx"), seq = std && !strcmp(op, "ConcatFromSequence"),
	     seq_at = std && !strcmp(op, "SequenceAt");
	const char *as = seq ? "Concat" : seq_at ? "Identity" : op;
	struct opdef reg, at_def;
	uint32_t kind = 0;
	const struct opdef *d = find_op(as, &reg, &kind);
	const struct imp_fold *f = imp_fold_find(as);
	if (seq_at && d) {      /* the node's two inputs: the sequence, the position */
		at_def = *d;
		at_def.min_in = at_def.max_in = 2;
		d = &at_def;
	}
	bool lstm = !strcmp(op, "LSTM"), gru_rnn = !strcmp(op, "GRU") || !strcmp(op, "RNN");
	int rc = 0;
	if (*dom && strcmp(dom, "ai.onnx"))
		rc = bad(&c, DNNQ_E_UNSUPPORTED, "operator domain '%.60s' is not supported", dom);
	else if (lstm || gru_rnn)
		rc = arity(&c, 3, lstm ? 8 : 6, lstm ? 3 : 2);
	else if (!d && !f)
		rc = bad(&c, DNNQ_E_UNSUPPORTED, "unsupported operator%s", unsupported_why(op));
	else if (!d)
		rc = arity(&c, f->min_in, f->max_in, 1);
	else if (np->n_input > IMP_MAX_NODE_INPUTS)
		rc = bad(&c, DNNQ_E_UNSUPPORTED, "%zu inputs: at most %d", np->n_input,
		         IMP_MAX_NODE_INPUTS);
	if (rc)
		return imp_outputs_unknown(&c);
	c.nin = np->n_input;
	bool unknown;
	if ((rc = seq ? imp_sequence_inputs(&c, &unknown) : seq_at ? imp_sequence_at(&c, &unknown)
	          : resolve_inputs(&c, &unknown)) == DNNQ_E_NOMEM)
		return rc;
	if (rc)
		return imp_outputs_unknown(&c);
	if (unknown)
		return imp_outputs_unknown(&c);
	for (size_t i = 0; i < c.nin; i++)
		if (c.in[i] >= 0 && !m->known[c.in[i]])
			return imp_outputs_unknown(&c);
	for (size_t i = 0; i < c.nin; i++)
		if (in_moved(&c, i) && !reads_moved(op, i, moved_at(&c, i))) {
			batch_moves(&c, "input %zu '%.80s' has its batch on dim %u (a Transpose moved "
			            "it): only a Transpose, a Squeeze or a Shape reads it, or on dim 1 "
			            "Slice, Split, Gather, Concat, Add, Sub, Mul, Div, a MatMul's A, a "
			            "Reshape keeping dims 0 and 1, an LSTM's, GRU's or RNN's X or state", i,
			            iname(&c, i), moved_at(&c, i));
			return imp_outputs_unknown(&c);
		}
	if (lstm || gru_rnn) {
		rc = imp_rnn(&c, op);
		return rc && rc != DNNQ_E_NOMEM ? imp_outputs_unknown(&c) : rc;
	}
	/* an operator only folds know (Shape, Size) has no table op to say
	 * that a required input is left out */
	for (size_t i = 0; !d && i < f->min_in; i++)
		if (c.in[i] < 0) {
			bad(&c, DNNQ_E_FORMAT, "input %zu is missing", i);
			return imp_outputs_unknown(&c);
		}
	bool empty_batch = imp_empty_batch_read(&c);
	rc = foldable(&c, f) ? f->fn(&c) : IMP_NOT_FOLDED;
	if (rc == IMP_NOT_FOLDED && !(rc = int_inputs(&c, op)) && !(rc = table_op(&c, d, kind)))
		rc = imp_fold_empty(&c);
	if (!rc && empty_batch)
		rc = imp_empty_batch(&c);
	for (uint32_t k = 0; !rc && c.ints && k < c.nout; k++)
		c.out[k].integer = true;
	if (!rc && c.ints && c.alias >= 0)
		m->ir->values[c.alias].integer = true;
	if (!rc)
		rc = settled(&c);
	if (rc == DNNQ_E_NOMEM)
		return rc;
	if (rc)
		return imp_outputs_unknown(&c);
	return emit_typed(&c, d, index);
}
