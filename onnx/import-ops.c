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
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/op.h"
#include "onnx/import-int.h"

static const char *S(const char *s)
{
	return s ? s : "";
}

const char *imp_node_name(struct imp *m, size_t i, char buf[128])
{
	const Onnx__NodeProto *np = m->g->node[i];
	if (np && np->name && *np->name)
		snprintf(buf, 128, "%.120s", np->name);
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

/* Input i's value; NULL when absent. */
struct dnnq_ir_value *V(struct nctx *c, size_t i)
{
	return i < c->nin && c->in[i] >= 0 ? &c->m->ir->values[c->in[i]] : NULL;
}

static size_t numel(const struct dnnq_ir_value *v)
{
	return dnnq_ir_numel(v, 1);
}

const char *iname(struct nctx *c, size_t i)
{
	return i < c->nin ? S(c->np->input[i]) : "";
}

/* ---- input checks ---------------------------------------------------------- */

int need(struct nctx *c, size_t i, unsigned dts, bool constant)
{
	struct dnnq_ir_value *v = V(c, i);
	if (!v)
		return bad(c, DNNQ_E_FORMAT, "input %zu is missing", i);
	if (!(dts & DT(v->dtype)))
		return bad(c, DNNQ_E_DTYPE, "input %zu '%.80s' is %s: not supported here", i,
		           iname(c, i), dnnq_ir_dtype_name(v->dtype));
	if (constant && !v->data)
		return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' must be a constant (an "
		           "initializer or a Constant node)", i, iname(c, i));
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

static int a_bool(struct nctx *c, const char *name, bool *out)
{
	int64_t v;
	int rc = a_int(c, name, 0, &v);
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
	size_t n = a->s.len < cap - 1 ? a->s.len : cap - 1;
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

/* One spatial axis: output length, pads resolved (pb, pe in and out). */
static int out_len(struct nctx *c, int axis, int64_t in, int64_t k, int64_t s, int64_t d,
                   int64_t *pb, int64_t *pe, enum autopad ap, bool ceil_mode, int64_t *out)
{
	int64_t ek = (k - 1) * d + 1;
	if (ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
		*out = (in + s - 1) / s;
		int64_t total = (*out - 1) * s + ek - in;
		if (total < 0)
			total = 0;
		*pb = ap == PAD_SAME_UPPER ? total / 2 : total - total / 2;
		*pe = total - *pb;
		return 0;
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
	return 0;
}

/* strides, dilations (when has_dil), pads, auto_pad, ceil_mode (when
 * has_ceil) into c->node; kernel already in c->node.kernel; out[2]. */
static int spatial(struct nctx *c, const struct dnnq_ir_value *x, bool has_dil, bool has_ceil,
                   int64_t out[2])
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
	if (!has_dil && (n->dilations[0] != 1 || n->dilations[1] != 1))
		return bad(c, DNNQ_E_UNSUPPORTED, "dilations other than 1 are not supported here");
	if (has_ceil && (rc = a_bool(c, "ceil_mode", &n->ceil_mode)))
		return rc;
	enum autopad a;
	if (!strcmp(ap, "NOTSET") || !*ap)
		a = PAD_NOTSET;
	else if (!strcmp(ap, "SAME_UPPER"))
		a = PAD_SAME_UPPER;
	else if (!strcmp(ap, "SAME_LOWER"))
		a = PAD_SAME_LOWER;
	else if (!strcmp(ap, "VALID"))
		a = PAD_VALID;
	else
		return bad(c, DNNQ_E_RANGE, "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or "
		           "VALID", ap);
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
	if ((rc = spatial(c, x, true, false, o)))
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

static int op_conv(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need_weight(c, 1, DT_F32)) ||
	    (rc = conv_shape(c, 0, 1)))
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
		return bad(c, DNNQ_E_UNSUPPORTED, "transA of a batched input (the batch would be K)");
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
	int64_t ta, tb;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need_weight(c, 1, DT_F32)) ||
	    (rc = a_float(c, "alpha", 1.0f, &c->node.alpha)) ||
	    (rc = a_float(c, "beta", 1.0f, &c->node.beta)) || (rc = a_int(c, "transA", 0, &ta)) ||
	    (rc = a_int(c, "transB", 0, &tb)))
		return rc;
	c->node.trans_a = ta != 0;
	c->node.trans_b = tb != 0;
	if ((rc = matmul_shape(c, 0, 1, ta != 0, tb != 0, false, DNNQ_IR_F32)))
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

static int op_matmul(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need_weight(c, 1, DT_F32)))
		return rc;
	c->node.op = DNNQ_IR_GEMM;
	c->node.alpha = 1.0f;
	c->node.beta = 0.0f;
	return matmul_shape(c, 0, 1, false, false, true, DNNQ_IR_F32);
}

static int op_qlinearmatmul(struct nctx *c)
{
	int rc;
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

static int op_pool(struct nctx *c)
{
	int rc;
	bool max = c->node.op == DNNQ_IR_MAXPOOL;
	if ((rc = need(c, 0, DT_F32, false)) ||
	    (rc = need_rank(c, 0, 4, "only 2-D pooling (4-D NCHW input) is supported")))
		return rc;
	if (!attr(c, "kernel_shape"))
		return bad(c, DNNQ_E_FORMAT, "attribute 'kernel_shape' is missing");
	if ((rc = a_pair(c, "kernel_shape", 1, 1, c->node.kernel, 2)))
		return rc;
	if (max) {
		int64_t so;
		if ((rc = a_int(c, "storage_order", 0, &so)))
			return rc;
		if (so)
			return bad(c, DNNQ_E_UNSUPPORTED, "storage_order %lld (only 0)", (long long)so);
	} else if ((rc = a_bool(c, "count_include_pad", &c->node.count_include_pad))) {
		return rc;
	}
	const struct dnnq_ir_value *x = V(c, 0);
	int64_t o[2];
	if ((rc = spatial(c, x, max, true, o)))
		return rc;
	int64_t d[4] = { x->dims[0], x->dims[1], o[0], o[1] };
	return set_out(c, 0, DNNQ_IR_F32, 4, d, x->batched);
}

static int op_gavgpool(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)) ||
	    (rc = need_rank(c, 0, 4, "only 2-D pooling (4-D NCHW input) is supported")))
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
	if (c->node.op == DNNQ_IR_LEAKYRELU)
		rc = a_float(c, "alpha", 0.01f, &c->node.alpha);
	else if (c->node.op == DNNQ_IR_HARDSIGMOID && !(rc = a_float(c, "alpha", 0.2f, &c->node.alpha)))
		rc = a_float(c, "beta", 0.5f, &c->node.beta);
	return rc ? rc : same_out(c, V(c, 0), DNNQ_IR_F32);
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

static int op_clip(struct nctx *c)
{
	int rc;
	if ((rc = need(c, 0, DT_F32, false)))
		return rc;
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

/* numpy broadcasting; the batch must stay dim 0 of the result. */
static int op_binary(struct nctx *c)
{
	int rc;
	if (c->m->opset < 7 && attr(c, "broadcast"))
		return bad(c, DNNQ_E_UNSUPPORTED, "the opset < 7 'broadcast' attribute is not "
		           "supported");
	if ((rc = need(c, 0, DT_F32, false)) || (rc = need(c, 1, DT_F32, false)))
		return rc;
	const struct dnnq_ir_value *a = V(c, 0), *b = V(c, 1);
	uint32_t r = a->ndim > b->ndim ? a->ndim : b->ndim;
	int64_t d[DNNQ_IR_MAX_DIMS];
	bool batched = false;
	for (uint32_t i = 0; i < r; i++) {
		int64_t da = i + a->ndim >= r ? a->dims[i + a->ndim - r] : 1;
		int64_t db = i + b->ndim >= r ? b->dims[i + b->ndim - r] : 1;
		if (da != db && da != 1 && db != 1) {
			char bs[128];
			return bad(c, DNNQ_E_SHAPE, "shapes [%s] and [%s] do not broadcast", imp_dims_str(a),
			           imp_dims_str_r(b, bs, sizeof bs));
		}
		d[i] = da == 1 ? db : da;
	}
	for (int k = 0; k < 2; k++) {
		const struct dnnq_ir_value *v = k ? b : a;
		if (v->batched && v->ndim != r)
			return bad(c, DNNQ_E_UNSUPPORTED, "input %d '%.80s' is batched but broadcasts to "
			           "rank %u: the batch would not stay dim 0", k, iname(c, (size_t)k), r);
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

static int op_sum(struct nctx *c)
{
	int rc;
	if (c->nin < 1)
		return bad(c, DNNQ_E_FORMAT, "no inputs");
	for (size_t i = 0; i < c->nin; i++) {
		if ((rc = need(c, i, DT_F32, false)))
			return rc;
		if (!same_shape(V(c, i), V(c, 0)))
			return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' [%s]: only inputs of one "
			           "shape are supported", i, iname(c, i), imp_dims_str(V(c, i)));
	}
	return same_out(c, V(c, 0), DNNQ_IR_F32);
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

static int op_concat(struct nctx *c)
{
	int rc;
	if (c->nin < 1)
		return bad(c, DNNQ_E_FORMAT, "no inputs");
	if (!attr(c, "axis"))
		return bad(c, DNNQ_E_FORMAT, "attribute 'axis' is missing");
	if ((rc = need(c, 0, DT_F32 | DT_Q8, false)) || (rc = a_int(c, "axis", 0, &c->node.axis)))
		return rc;
	const struct dnnq_ir_value *a = V(c, 0);
	if ((rc = norm_axis(c, &c->node.axis, a->ndim, "axis")))
		return rc;
	int64_t ax = c->node.axis, d[DNNQ_IR_MAX_DIMS];
	if (a->batched && ax == 0)
		return bad(c, DNNQ_E_UNSUPPORTED, "concatenation along the batch (axis 0)");
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
		return bad(c, DNNQ_E_UNSUPPORTED, "softmax across the batch (axis 0)");
	if (c->m->opset < 13)
		for (uint32_t i = (uint32_t)c->node.axis + 1; i < x->ndim; i++)
			if (x->dims[i] != 1)
				return bad(c, DNNQ_E_UNSUPPORTED, "opset %lld Softmax coerces [%s] to 2-D at "
				           "axis %lld: supported only when that is the last axis",
				           (long long)c->m->opset, imp_dims_str(x), (long long)c->node.axis);
	return same_out(c, x, DNNQ_IR_F32);
}

static int op_batchnorm(struct nctx *c)
{
	int rc;
	int64_t v;
	if ((rc = need(c, 0, DT_F32, false)) || (rc = a_float(c, "epsilon", 1e-5f, &c->node.epsilon)))
		return rc;
	if ((rc = a_int(c, "training_mode", 0, &v)) || v)
		return rc ? rc : bad(c, DNNQ_E_UNSUPPORTED, "training_mode 1");
	if ((rc = a_int(c, "spatial", 1, &v)) || v != 1)
		return rc ? rc : bad(c, DNNQ_E_UNSUPPORTED, "spatial 0");
	const struct dnnq_ir_value *x = V(c, 0);
	if (x->ndim < 2)
		return bad(c, DNNQ_E_SHAPE, "input [%s]: rank 2 or more expected", imp_dims_str(x));
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
	return same_out(c, x, DNNQ_IR_F32);
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
		return bad(c, DNNQ_E_UNSUPPORTED, "Flatten at axis %lld folds the batch into a "
		           "dimension", (long long)ax);
	c->node.axis = 0;
	return reshape_to(c, 2, d, x->batched);
}

static int op_reshape(struct nctx *c)
{
	int rc;
	int64_t allowzero;
	if ((rc = need(c, 0, DT_ANY, false)) || (rc = need(c, 1, DT(DNNQ_IR_S64), true)) ||
	    (rc = a_int(c, "allowzero", 0, &allowzero)))
		return rc;
	const struct dnnq_ir_value *x = V(c, 0), *s = V(c, 1);
	const int64_t *sh = s->data;
	size_t n = numel(s);
	if (s->ndim != 1 || n > DNNQ_IR_MAX_DIMS)
		return bad(c, DNNQ_E_UNSUPPORTED, "shape [%s]: 1-D, at most %d values expected",
		           imp_dims_str(s), DNNQ_IR_MAX_DIMS);
	int64_t d[DNNQ_IR_MAX_DIMS], known = 1;
	int minus = -1;
	bool keep_batch = false, marked = c->m->batch[c->in[1]];
	for (size_t i = 0; i < n; i++) {
		d[i] = sh[i];
		if (i == 0 && x->batched && ((marked && sh[0] == IMP_BATCH) ||
		                             (c->m->static_batch > 0 && sh[0] == c->m->static_batch))) {
			d[0] = x->dims[0];
			keep_batch = true;
		} else if (marked && sh[i] == IMP_BATCH) {
			return bad(c, DNNQ_E_UNSUPPORTED, "shape[%zu] is the batch (from a Shape): only "
			           "shape[0] of a batched value may be", i);
		} else if (sh[i] == 0 && !allowzero) {
			if (i >= x->ndim)
				return bad(c, DNNQ_E_SHAPE, "shape[%zu] = 0 copies a dim the input lacks", i);
			d[i] = x->dims[i];
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
		if (total % known)
			return bad(c, DNNQ_E_SHAPE, "-1 cannot be resolved: %lld elements by %lld",
			           (long long)total, (long long)known);
		d[minus] = total / known;
	}
	bool batched = false;
	if (x->batched) {
		batched = keep_batch || (n > 0 && ((sh[0] == 0 && !allowzero) ||
		                                   (sh[0] == -1 && d[0] == 1)));
		if (!batched)
			return bad(c, DNNQ_E_UNSUPPORTED, "reshaping a batched value: shape[0] must keep "
			           "the batch (0, -1 standing for it, or the batch the model fixes)");
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
		if (x->dims[ax[i]] != 1)
			return bad(c, DNNQ_E_SHAPE, "axis %lld has size %lld, not 1", (long long)ax[i],
			           (long long)x->dims[ax[i]]);
		if (ax[i] == 0 && x->batched)
			return bad(c, DNNQ_E_UNSUPPORTED, "squeezing the batch (axis 0)");
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
			return bad(c, DNNQ_E_UNSUPPORTED, "a new axis 0 would move the batch");
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

/* Identity and Dropout: their output is their input, unless that would
 * make a graph output a graph input, a constant or another graph output:
 * then a RESHAPE to the same shape copies it, under the output's name. */
int pass_through(struct nctx *c)
{
	const struct dnnq_ir_value *x = V(c, 0);
	const char *out = S(c->np->output[0]);
	if (*out && graph_output(c->m, out) && (x->producer < 0 || graph_output(c->m, x->name))) {
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
		if (numel(t) != 1 || dnnq_ir_dtype_size(t->dtype) != 1 || *(const uint8_t *)t->data)
			return bad(c, DNNQ_E_UNSUPPORTED, "training_mode must be a constant false");
	}
	int64_t is_test;
	if ((rc = a_int(c, "is_test", 1, &is_test)))
		return rc;
	return pass_through(c);
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

/* Cast of a computed integer value to float (ONNX TensorProto FLOAT = 1). */
static int op_cast(struct nctx *c)
{
	int64_t to;
	int rc = need(c, 0, DT(DNNQ_IR_U8) | DT(DNNQ_IR_S8) | DT(DNNQ_IR_S32), false);
	if (rc || (rc = a_int(c, "to", 0, &to)))
		return rc;
	if (to != 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "to = %lld: only a cast to float", (long long)to);
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

/* ---- the table ----------------------------------------------------------------- */

struct opdef {
	const char *name;
	enum dnnq_ir_op op;
	int (*fn)(struct nctx *c);
	uint8_t min_in, max_in, max_out;   /* ONNX's: outputs past the IR's are unused */
};

static const struct opdef OPS[] = {
	{ "Conv", DNNQ_IR_CONV, op_conv, 2, 3, 1 },
	{ "Gemm", DNNQ_IR_GEMM, op_gemm, 2, 3, 1 },
	{ "MatMul", DNNQ_IR_GEMM, op_matmul, 2, 2, 1 },
	{ "Relu", DNNQ_IR_RELU, op_unary, 1, 1, 1 },
	{ "LeakyRelu", DNNQ_IR_LEAKYRELU, op_unary, 1, 1, 1 },
	{ "Clip", DNNQ_IR_CLIP, op_clip, 1, 3, 1 },
	{ "Sigmoid", DNNQ_IR_SIGMOID, op_unary, 1, 1, 1 },
	{ "Tanh", DNNQ_IR_TANH, op_unary, 1, 1, 1 },
	{ "HardSigmoid", DNNQ_IR_HARDSIGMOID, op_unary, 1, 1, 1 },
	{ "HardSwish", DNNQ_IR_HARDSWISH, op_unary, 1, 1, 1 },
	{ "MaxPool", DNNQ_IR_MAXPOOL, op_pool, 1, 1, 2 },
	{ "AveragePool", DNNQ_IR_AVGPOOL, op_pool, 1, 1, 1 },
	{ "GlobalAveragePool", DNNQ_IR_GAVGPOOL, op_gavgpool, 1, 1, 1 },
	{ "Add", DNNQ_IR_ADD, op_binary, 2, 2, 1 },
	{ "Mul", DNNQ_IR_MUL, op_binary, 2, 2, 1 },
	{ "Sum", DNNQ_IR_SUM, op_sum, 1, DNNQ_IR_MAX_INPUTS, 1 },
	{ "Concat", DNNQ_IR_CONCAT, op_concat, 1, DNNQ_IR_MAX_INPUTS, 1 },
	{ "Flatten", DNNQ_IR_RESHAPE, op_flatten, 1, 1, 1 },
	{ "Reshape", DNNQ_IR_RESHAPE, op_reshape, 2, 2, 1 },
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
};

/* An operator of the engine's registry (engine/op.h) that implements an
 * ONNX operator alone: imported through its description. Binary
 * elementwise ones (f32 set) broadcast as Add does. */
static const struct opdef *find_registry_op(const char *name, struct opdef *tmp,
                                            uint32_t *kind)
{
	const struct dnnq_op_def *def = dnnq_op_find_onnx(name);
	if (!def || !def->f32 || def->min_inputs != 2 || def->max_inputs != 2)
		return NULL;
	*tmp = (struct opdef){ def->onnx, DNNQ_IR_ENGINE, op_binary, 2, 2, 1 };
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
static int outputs_unknown(struct nctx *c)
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
			if (k > 0) {
				if (*o && imp_add_name(m, o, IMP_UNUSED, (int32_t)index))
					return DNNQ_E_NOMEM;
				continue;
			}
			id = c->alias >= 0 ? c->alias : c->constant;
		} else if (k < c->nout) {
			char syn[200];
			snprintf(syn, sizeof syn, "%s:%zu", c->name, k);
			c->out[k].name = (char *)(*o ? o : syn);
			c->out[k].producer = node;
			if ((id = imp_new_value(m, &c->out[k], true)) < 0)
				return id;
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
	c->node.name = strdup(c->name);
	c->node.op_type = strdup(S(c->np->op_type));
	if (!c->node.name || !c->node.op_type || imp_new_node(m, &c->node)) {
		free(c->node.name);
		free(c->node.op_type);
		return DNNQ_E_NOMEM;
	}
	return 0;
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
	if (!f || c->np->n_input < f->min_in || c->np->n_input > f->max_in || c->np->n_output != 1)
		return false;
	for (size_t i = f->const_from; i < c->nin; i++)
		if (V(c, i) && !V(c, i)->data)
			return false;
	return true;
}

/* A node the operator table knows; a Reshape (Flatten, Squeeze,
 * Unsqueeze) of a constant is folded into a constant. */
static int table_op(struct nctx *c, const struct opdef *d, uint32_t kind)
{
	if (!d)
		return bad(c, DNNQ_E_UNSUPPORTED, "unsupported operator");
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

int imp_node(struct imp *m, const Onnx__NodeProto *np, size_t index)
{
	if (!np) {
		imp_problem(m, DNNQ_E_FORMAT, "node %zu is empty", index);
		return 0;
	}
	struct nctx c = { .m = m, .np = np, .index = index, .alias = -1, .constant = -1 };
	imp_node_name(m, index, c.name);
	const char *op = S(np->op_type), *dom = S(np->domain);
	snprintf(c.who, sizeof c.who, "node '%s' (%.60s)", c.name, op);
	struct opdef reg;
	uint32_t kind = 0;
	const struct opdef *d = find_op(op, &reg, &kind);
	const struct imp_fold *f = imp_fold_find(op);
	int rc = 0;
	if (*dom && strcmp(dom, "ai.onnx"))
		rc = bad(&c, DNNQ_E_UNSUPPORTED, "operator domain '%.60s' is not supported", dom);
	else if (!d && !f)
		rc = bad(&c, DNNQ_E_UNSUPPORTED, "unsupported operator");
	else if (!d)
		rc = arity(&c, f->min_in, f->max_in, 1);
	if (rc)
		return outputs_unknown(&c);
	c.nin = np->n_input;
	bool unknown;
	if ((rc = resolve_inputs(&c, &unknown)))
		return rc;
	if (unknown)
		return outputs_unknown(&c);
	for (size_t i = 0; i < c.nin; i++)
		if (c.in[i] >= 0 && !m->known[c.in[i]])
			return outputs_unknown(&c);
	rc = foldable(&c, f) ? f->fn(&c) : IMP_NOT_FOLDED;
	if (rc == IMP_NOT_FOLDED)
		rc = table_op(&c, d, kind);
	if (!rc)
		rc = settled(&c);
	if (rc == DNNQ_E_NOMEM)
		return rc;
	if (rc)
		return outputs_unknown(&c);
	return emit(&c, d, index);
}
