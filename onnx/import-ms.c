/*
 * onnx/import-ms.c — ONNX Runtime's quantized operators of domain
 * com.microsoft, as its quantization tool writes them in the QOperator
 * format (quantize_static(quant_format=QOperator): the ONNX Model Zoo's
 * *-int8 models): QLinearAdd, QLinearMul, QLinearSigmoid,
 * QLinearLeakyRelu, QLinearGlobalAveragePool, QLinearAveragePool,
 * QLinearSoftmax, QLinearConcat, QLinearWhere, QLinearReduceMean, QGemm
 * and QLinearConv (channels_last 0: the standard one; 1: between
 * transposes); and the standard operators the format runs on the
 * quantized tensor itself (MaxPool, Transpose, DepthToSpace,
 * SpaceToDepth, Resize, Pad, Concat, Tile of a uint8 / int8 tensor). Also the fp32 fusions of ONNX Runtime's transformer optimizer
 * (Gelu, FastGelu, BiasGelu, QuickGelu, BiasAdd, SkipLayerNormalization,
 * SkipSimplifiedLayerNormalization, SimplifiedLayerNormalization of the
 * default domain, Attention, MultiHeadAttention, GroupQueryAttention,
 * RotaryEmbedding, EmbedLayerNormalization) as their
 * decompositions in standard operators, and
 * quantize_dynamic's fused MatMulIntegerToFloat and DynamicQuantizeMatMul
 * as the unfused nodes onnx/qdq.c makes a dynamic FC of, and its
 * DynamicQuantizeLSTM as the LSTM of the dequantized weights.
 *
 * Each quantized one is the QDQ form its definition spells: DequantizeLinear of every
 * quantized input, the standard float operator, QuantizeLinear at the
 * output's scale and zero point. The node is imported as those ONNX nodes,
 * made here and handed to imp_node as if the model held them, so every
 * check, attribute default and shape rule is the standard operator's, and
 * the QDQ fusion (onnx/qdq.c: QGemm becomes a QLinearMatMul) and the
 * lowering (the float operator run int8 at the Q's parameters) treat them
 * as they treat a QDQ model.
 *
 * Names: the float operator is the node's own name NAME (what the lowering
 * names the engine node after), the others NAME:dq0, NAME:dq1, ... (one per
 * quantized input), NAME:c (QGemm's bias), NAME:pad_value (a Pad's
 * constant_value, a float constant), NAME:nchw and NAME:nhwc
 * (channels_last) and NAME:q; the values between them are named as their
 * nodes (the float operator's NAME:f) and forgotten once the node is in,
 * so they are no names of the model.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/op.h"
#include "onnx/import-int.h"

static const char *S(const char *s)
{
	return s ? s : "";
}

/* A contrib operator: its float operator, input counts, where its
 * quantized operands (x, scale, zero point: consecutive, zero points
 * optional) start and how many there are (0: all inputs from `first` on;
 * else the inputs before `first` are the float operator's first, as they
 * are: QLinearWhere's condition), and the output's scale (its zero point
 * next). */
struct ms;

struct msdef {
	const char *name, *op;
	uint16_t min_in, max_in;
	uint8_t first, nq, ys;
	int (*fn)(struct ms *s);    /* imports it */
	const char *attrs;          /* its attributes, " name name ... "
	                             * (NULL: the standard operator's checks) */
};

/* One contrib node being imported. */
struct ms {
	struct nctx *c;
	const struct msdef *d;
	char **made;                /* the names of the values made here */
	size_t nmade, cap;
};

static int expand(struct ms *s);
static int fused(struct ms *s);
static int direct(struct ms *s);
static int same_op(struct ms *s);
static int gelus(struct ms *s);
static int norms(struct ms *s);
static int dyn_matmul(struct ms *s);
static int quant_rnn(struct ms *s);
static int attention(struct ms *s);
static int mha(struct ms *s);
static int rotary(struct ms *s);
static int gqa(struct ms *s);
static int embed_norm(struct ms *s);
static int std_ops(struct ms *s);

/* The contrib operators (domain com.microsoft), then the standard ones
 * (`direct`) the QOperator format runs on the uint8 / int8 tensor itself:
 * they only move or select values (MaxPool takes a maximum of them; a
 * Resize not of mode nearest interpolates, requantized); input
 * 0 the tensor, the others (Resize's roi, scales, sizes) as the standard
 * operator reads them; Pad's constant_value a code of the tensor's (the
 * float constant NAME:pad_value its value). */
static const struct msdef MS[] = {
	{ "QLinearAdd", "Add", 7, 8, 0, 2, 6, expand, " " },
	{ "QLinearMul", "Mul", 7, 8, 0, 2, 6, expand, " " },
	{ "QLinearSigmoid", "Sigmoid", 4, 5, 0, 1, 3, expand, " " },
	{ "QLinearLeakyRelu", "LeakyRelu", 4, 5, 0, 1, 3, expand, " alpha " },
	{ "QLinearGlobalAveragePool", "GlobalAveragePool", 5, 5, 0, 1, 3, expand,
	  " channels_last " },
	{ "QLinearAveragePool", "AveragePool", 4, 5, 0, 1, 3, expand,
	  " auto_pad ceil_mode channels_last count_include_pad kernel_shape pads strides " },
	{ "QLinearSoftmax", "Softmax", 5, 5, 0, 1, 3, expand, " axis opset " },
	{ "QLinearConcat", "Concat", 5, IMP_MAX_NODE_INPUTS, 2, 0, 0, expand, " axis " },
	{ "QLinearWhere", "Where", 9, 9, 1, 2, 7, expand, " " },
	{ "QLinearReduceMean", "ReduceMean", 4, 5, 0, 1, 3, expand, " axes keepdims " },
	{ "QGemm", "Gemm", 6, 9, 0, 2, 7, expand, " alpha transA transB " },
	{ "FusedConv", "Conv", 2, 4, 0, 0, 0, fused, " auto_pad dilations group kernel_shape pads "
	  "strides activation activation_params " },
	{ "FusedGemm", "Gemm", 2, 3, 0, 0, 0, fused, " alpha beta transA transB activation "
	  "activation_alpha activation_beta activation_gamma " },
	{ "QLinearConv", "QLinearConv", 8, 9, 0, 0, 0, same_op, " auto_pad channels_last dilations "
	  "group kernel_shape pads strides " },
	{ "Gelu", "", 1, 1, 0, 0, 0, gelus, " " },
	{ "FastGelu", "", 1, 2, 0, 0, 0, gelus, " " },
	{ "BiasGelu", "", 2, 2, 0, 0, 0, gelus, " " },
	{ "QuickGelu", "", 1, 1, 0, 0, 0, gelus, " alpha " },
	{ "BiasAdd", "", 3, 3, 0, 0, 0, gelus, " " },
	{ "SkipLayerNormalization", "", 3, 5, 0, 0, 0, norms, " epsilon " },
	{ "SkipSimplifiedLayerNormalization", "", 3, 4, 0, 0, 0, norms, " epsilon " },
	{ "MatMulIntegerToFloat", "", 4, 7, 0, 0, 0, dyn_matmul, " " },
	{ "DynamicQuantizeMatMul", "", 3, 5, 0, 0, 0, dyn_matmul, " " },
	{ "DynamicQuantizeLSTM", "LSTM", 12, 12, 0, 0, 0, quant_rnn, NULL },
	{ "Attention", "", 2, 7, 0, 0, 0, attention, " num_heads unidirectional qkv_hidden_sizes "
	  "mask_filter_value scale do_rotary rotary_embedding_dim past_present_share_buffer " },
	{ "EmbedLayerNormalization", "", 7, 9, 0, 0, 0, embed_norm, " epsilon mask_index_type " },
	{ "MultiHeadAttention", "", 1, 10, 0, 0, 0, mha, " num_heads unidirectional "
	  "mask_filter_value scale " },
	{ "GroupQueryAttention", "", 7, 16, 0, 0, 0, gqa, " num_heads kv_num_heads scale softcap "
	  "do_rotary rotary_interleaved local_window_size smooth_softmax qk_output causal "
	  "sliding_window_cache k_quant_type v_quant_type kv_cache_bit_width qk_norm_epsilon " },
	{ "RotaryEmbedding", "", 4, 4, 0, 0, 0, rotary, " interleaved is_packed_batching "
	  "num_heads rotary_embedding_dim scale " },
#define DIRECT(op, min_in, max_in) { op, op, min_in, max_in, 0, 1, 0, direct, NULL }
	DIRECT("MaxPool", 1, 1), DIRECT("Transpose", 1, 1), DIRECT("DepthToSpace", 1, 1),
	DIRECT("SpaceToDepth", 1, 1), DIRECT("Resize", 1, 4), DIRECT("Pad", 2, 4),
	DIRECT("Concat", 1, IMP_MAX_NODE_INPUTS), DIRECT("Tile", 2, 2),
#undef DIRECT
};

/* Operators of the default domain imported here as a few others: ONNX
 * Runtime's SimplifiedLayerNormalization (its RMSNorm); ONNX's Gelu (opset
 * 20: torch 2's dynamo export of nn.GELU), which is com.microsoft's with
 * `approximate` ('tanh' computes FastGelu's formula); and the ONNX
 * operators of std_ops. */
#define REDUCE(op) { op, "", 1, 2, 0, 0, 0, std_ops, " axes keepdims noop_with_empty_axes " }
static const struct msdef STD[] = {
	{ "SimplifiedLayerNormalization", "", 2, 2, 0, 0, 0, norms, " axis epsilon stash_type " },
	{ "Gelu", "", 1, 1, 0, 0, 0, gelus, " approximate " },
	{ "Mish", "", 1, 1, 0, 0, 0, std_ops, " " },
	{ "Softsign", "", 1, 1, 0, 0, 0, std_ops, " " },
	{ "IsNaN", "", 1, 1, 0, 0, 0, std_ops, " " },
	{ "IsInf", "", 1, 1, 0, 0, 0, std_ops, " detect_negative detect_positive " },
	{ "Mean", "", 1, DNNQ_IR_MAX_INPUTS, 0, 0, 0, std_ops, " " },
	REDUCE("ReduceL1"), REDUCE("ReduceLogSum"), REDUCE("ReduceLogSumExp"),
};
#undef REDUCE

static const char *in_name(const struct ms *s, size_t i)
{
	return i < s->c->np->n_input ? S(s->c->np->input[i]) : "";
}

/* *out = "NAME:what", the name of a value made here (kept until ms_done
 * forgets it); DNNQ_E_FORMAT when the model has that name already. */
static int made_name(struct ms *s, const char *what, const char **out)
{
	char buf[200];
	snprintf(buf, sizeof buf, "%s:%s", s->c->name, what);
	if (imp_find(s->c->m, buf))
		return bad(s->c, DNNQ_E_FORMAT, "'%.100s', a name its import makes, is a name of "
		           "the model", buf);
	char *p = strdup(buf);
	if (!p || dnnq_ir_grow((void **)&s->made, &s->cap, s->nmade, sizeof *s->made)) {
		free(p);
		return DNNQ_E_NOMEM;
	}
	*out = s->made[s->nmade++] = p;
	return 0;
}

static void ms_done(struct ms *s)
{
	for (size_t i = 0; i < s->nmade; i++) {
		imp_forget_name(s->c->m, s->made[i]);
		free(s->made[i]);
	}
	free(s->made);
}

/* ONNX node op named `name`, its inputs and attributes, outputs out (nout
 * of them), imported in the contrib node's place; 0 or DNNQ_E_NOMEM
 * (imp_node records the other problems and names the outputs unknown). */
static int sub_n(struct ms *s, const char *op, const char *name, const char *const *in,
                 size_t nin, Onnx__AttributeProto **attrs, size_t nattr,
                 const char *const *out, size_t nout)
{
	Onnx__NodeProto np = ONNX__NODE_PROTO__INIT;
	np.n_input = nin;
	np.input = (char **)in;
	np.n_output = nout;
	np.output = (char **)out;
	np.name = (char *)name;
	np.op_type = (char *)op;
	np.domain = (char *)"";
	np.n_attribute = nattr;
	np.attribute = attrs;
	return imp_node(s->c->m, &np, s->c->index);
}

/* sub_n of the one output out. */
static int sub(struct ms *s, const char *op, const char *name, const char *const *in,
               size_t nin, Onnx__AttributeProto **attrs, size_t nattr, const char *out)
{
	return sub_n(s, op, name, in, nin, attrs, nattr, &out, 1);
}

/* An attribute of the nodes made here (name: a literal or the model's). */
static Onnx__AttributeProto typed(const char *name, Onnx__AttributeProto__AttributeType t)
{
	Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
	a.name = (char *)name;
	a.has_type = true;
	a.type = t;
	return a;
}

static Onnx__AttributeProto int_attr(const char *name, int64_t v)
{
	Onnx__AttributeProto a = typed(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
	a.has_i = true;
	a.i = v;
	return a;
}

static Onnx__AttributeProto float_attr(const char *name, float v)
{
	Onnx__AttributeProto a = typed(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
	a.has_f = true;
	a.f = v;
	return a;
}

/* A value made here, as node `what` of one input, output and attribute
 * (NULL: none) makes it from input *v: *v then names it. */
static int step(struct ms *s, const char *op, const char *what, const char *const *in,
                size_t nin, Onnx__AttributeProto *a, const char **v)
{
	const char *out;
	int rc = made_name(s, what, &out);
	if (rc || (rc = sub(s, op, out, in, nin, a ? &a : NULL, a ? 1 : 0, out)))
		return rc;
	*v = out;
	return 0;
}

/* DequantizeLinear (node and output NAME:what) of in: x, scale, [zero
 * point] ("": none); axis a per-axis scale's (QGemm's B). Its output's
 * name into *v. */
static int dequantize(struct ms *s, const char *what, const char *const in[3], int64_t axis,
                      const char **v)
{
	Onnx__AttributeProto ax = int_attr("axis", axis);
	return step(s, "DequantizeLinear", what, in, *in[2] ? 3 : 2, &ax, v);
}

/* Operand k's DequantizeLinear (NAME:dqK; inputs at p: x, scale, [zero
 * point]). */
/* Inputs i and i + 1 (a scale and its zero point, "": absent) hold one
 * value each, as ONNX Runtime requires of all but QGemm's B's. */
static int one_value(struct ms *s, size_t i)
{
	for (size_t k = i; k < i + 2 && *in_name(s, k); k++) {
		int32_t id = imp_lookup(s->c->m, in_name(s, k), s->c->who);
		if (id < 0)
			return id == DNNQ_E_NOMEM ? id : DNNQ_E_FORMAT;
		size_t n = dnnq_ir_numel(&s->c->m->ir->values[id], 1);
		if (n != 1)
			return bad(s->c, DNNQ_E_SHAPE, "input %zu '%.80s' holds %zu values: a %s of "
			           "one value expected", k, in_name(s, k), n,
			           k == i ? "scale" : "zero point");
	}
	return 0;
}

/* Operand k's DequantizeLinear (NAME:dqK; inputs at p: x, scale, [zero
 * point]); per axis `axis` (QGemm's B: per_axis) or of one scale. */
static int operand(struct ms *s, size_t k, size_t p, int64_t axis, bool per_axis,
                   const char **v)
{
	char what[24];
	snprintf(what, sizeof what, "dq%zu", k);
	const char *in[3] = { in_name(s, p), in_name(s, p + 1), in_name(s, p + 2) };
	if (!*in[0] || !*in[1])
		return bad(s->c, DNNQ_E_FORMAT, "input %zu is missing", *in[0] ? p + 1 : p);
	int rc = per_axis ? 0 : one_value(s, p + 1);
	return rc ? rc : dequantize(s, what, in, axis, v);
}

/* A constant scale value (F32, one element when `scalar`) of the model:
 * its id, or < 0 with the problem recorded. */
static int32_t const_scale(struct ms *s, size_t i, bool scalar)
{
	int32_t id = imp_lookup(s->c->m, in_name(s, i), s->c->who);
	if (id < 0)
		return id == DNNQ_E_NOMEM ? id : DNNQ_E_FORMAT;
	const struct dnnq_ir_value *v = &s->c->m->ir->values[id];
	if (!v->data || v->dtype != DNNQ_IR_F32 || (scalar && dnnq_ir_numel(v, 1) != 1))
		return bad(s->c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s': the bias C needs a constant "
		           "float scale%s", i, in_name(s, i), scalar ? " of one value" : "");
	return id;
}

/* A constant NAME:what of dtype dt and dims (ndim of them), made here:
 * its data into *p (to fill), its name into *name. */
static int new_const(struct ms *s, const char *what, enum dnnq_ir_dtype dt, uint32_t ndim,
                     const int64_t *dims, void **p, const char **name)
{
	struct imp *m = s->c->m;
	struct dnnq_ir_value sv = { .dtype = dt, .ndim = ndim, .producer = -1 };
	memcpy(sv.dims, dims, ndim * sizeof *dims);
	size_t n = dnnq_ir_numel(&sv, 1), size = dnnq_ir_dtype_size(dt);
	/* too many bytes (an overflow too) exceed the constants' limit */
	int rc = imp_const_alloc(m, n > SIZE_MAX / size ? SIZE_MAX : n * size, s->c->who, p);
	if (rc)
		return rc;
	sv.data = *p;
	int32_t id;
	if ((rc = made_name(s, what, (const char **)&sv.name)) ||
	    (id = imp_new_value(m, &sv, true)) < 0) {
		free(*p);
		return rc ? rc : DNNQ_E_NOMEM;
	}
	*name = sv.name;
	return imp_add_name(m, sv.name, IMP_VALUE, id) ? DNNQ_E_NOMEM : 0;
}

/* A float constant NAME:what of like's shape, made here: its data into
 * *p (to fill), its name into *name. */
static int new_f32(struct ms *s, const char *what, const struct dnnq_ir_value *like,
                   float **p, const char **name)
{
	return new_const(s, what, DNNQ_IR_F32, like->ndim, like->dims, (void **)p, name);
}

/* QGemm's int32 bias C (input 6): DequantizeLinear at scale alpha * a_scale
 * * b_scale (per column when b_scale is), as ONNX Runtime adds it to the
 * accumulator; its output's name into *v. */
static int gemm_bias(struct ms *s, float alpha, const char **v)
{
	struct imp *m = s->c->m;
	int32_t as = const_scale(s, 1, true), bs = as < 0 ? as : const_scale(s, 4, false);
	if (bs < 0)
		return bs;
	const struct dnnq_ir_value *b = &m->ir->values[bs];
	float a = alpha * *(const float *)m->ir->values[as].data, *p;
	const char *in[3] = { in_name(s, 6), "", "" };
	int rc = new_f32(s, "cscale", b, &p, &in[1]);
	b = &m->ir->values[bs];     /* the new value may have moved the table */
	for (size_t i = 0; !rc && i < dnnq_ir_numel(b, 1); i++)
		p[i] = a * ((const float *)b->data)[i];
	return rc ? rc : dequantize(s, "c", in, -1, v);
}

static Onnx__AttributeProto perm_attr(int64_t *perm)
{
	Onnx__AttributeProto a = typed("perm", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
	a.n_ints = 4;
	a.ints = perm;
	return a;
}

/* QuantizeLinear (node NAME:what) of in: f, scale, [zero point] (absent:
 * 0 of x's type) into y. */
static int quantize(struct ms *s, const char *const in[3], const char *x, const char *what,
                    const char *y)
{
	struct nctx *c = s->c;
	const struct imp_name *e = imp_find(c->m, x);
	bool s8 = e && e->kind == IMP_VALUE && c->m->ir->values[e->idx].dtype == DNNQ_IR_S8;
	Onnx__AttributeProto odt = int_attr("output_dtype", ONNX__TENSOR_PROTO__DATA_TYPE__INT8),
	                     *attrs[1] = { &odt };
	char name[200];
	snprintf(name, sizeof name, "%s:%s", c->name, what);
	return sub(s, "QuantizeLinear", name, in, *in[2] ? 3 : 2, attrs, !*in[2] && s8, y);
}

/* The float operator of the node, from inputs fin (nf of them) into out,
 * with the node's attributes but channels_last, opset and activation*; Softmax in the
 * opset the node names. For channels_last (an NHWC input: the pools) after
 * a Transpose to NCHW (NAME:nchw), its output quantized at the node's
 * output parameters (NAME:pooled_q, the lowering's int8 pool) and
 * dequantized (NAME:pooled_dq), then a Transpose back (NAME:nhwc). */
static int float_op(struct ms *s, const char **fin, size_t nf, bool nhwc, int64_t opset,
                    const char *out)
{
	struct nctx *c = s->c;
	const Onnx__NodeProto *np = c->np;
	Onnx__AttributeProto **pass = calloc(np->n_attribute + 1, sizeof *pass);
	if (!pass)
		return DNNQ_E_NOMEM;
	size_t npass = 0;
	for (size_t i = 0; i < np->n_attribute; i++)
		if (np->attribute[i] && strcmp(S(np->attribute[i]->name), "channels_last") &&
		    strcmp(S(np->attribute[i]->name), "opset") &&
		    strncmp(S(np->attribute[i]->name), "activation", 10))
			pass[npass++] = np->attribute[i];
	int64_t to_nchw[4] = { 0, 3, 1, 2 }, to_nhwc[4] = { 0, 2, 3, 1 };
	Onnx__AttributeProto perm = perm_attr(to_nchw);
	const char *y = out, *q;
	int rc = 0;
	if (nhwc && !(rc = step(s, "Transpose", "nchw", fin, 1, &perm, &fin[0])))
		rc = made_name(s, "pooled", &y);
	int64_t was = c->m->opset;
	c->m->opset = opset;
	if (!rc)
		rc = sub(s, s->d->op, c->name, fin, nf, pass, npass, y);
	c->m->opset = was;
	free(pass);
	if (rc || !nhwc)
		return rc;
	const char *in[3] = { y, in_name(s, s->d->ys), in_name(s, s->d->ys + 1) };
	if ((rc = made_name(s, "pooled_q", &q)) ||
	    (rc = quantize(s, in, in_name(s, s->d->first), "pooled_q", q)))
		return rc;
	in[0] = q;
	if ((rc = dequantize(s, "pooled_dq", in, 1, &y)))
		return rc;
	perm = perm_attr(to_nhwc);
	Onnx__AttributeProto *back = &perm;
	char name[200];
	snprintf(name, sizeof name, "%s:nhwc", c->name);
	return sub(s, "Transpose", name, &y, 1, &back, 1, out);
}

/* The node as its DequantizeLinear / float operator / QuantizeLinear
 * nodes; 0, DNNQ_E_NOMEM or another status with the problem recorded. */
static int expand(struct ms *s)
{
	struct nctx *c = s->c;
	const Onnx__NodeProto *np = c->np;
	const struct msdef *d = s->d;
	bool gemm = !strcmp(d->op, "Gemm");
	if (np->n_input < d->min_in || np->n_input > d->max_in ||
	    (!d->nq && (np->n_input - d->first) % 3))
		return bad(c, DNNQ_E_FORMAT, "%zu inputs (%u to %u%s expected)", np->n_input,
		           d->min_in, d->max_in, d->nq ? "" : ", 2 and then 3 an operand");
	if (np->n_output != 1)
		return bad(c, DNNQ_E_FORMAT, "%zu outputs (1 expected)", np->n_output);
	int64_t nhwc, trans_b, opset = c->m->opset;
	float alpha;
	int rc;
	if ((rc = a_int(c, "channels_last", 0, &nhwc)) || (rc = a_int(c, "transB", 0, &trans_b)) ||
	    (rc = a_float(c, "alpha", 1.0f, &alpha)) ||
	    (!strcmp(d->op, "Softmax") && (rc = a_int(c, "opset", 0, &opset))))
		return rc;
	if (nhwc != 0 && nhwc != 1)
		return bad(c, DNNQ_E_RANGE, "channels_last = %lld: 0 or 1 expected", (long long)nhwc);
	if (!strcmp(d->op, "ReduceMean")) {
		opset = 13;     /* axes an attribute */
		const char *need = !attr(c, "axes") ? "axes" : !attr(c, "keepdims") ? "keepdims" : NULL;
		if (need)
			return bad(c, DNNQ_E_FORMAT, "attribute '%s' is missing (ONNX Runtime's schema "
			           "requires it)", need);
	}
	if (opset < 1)
		return bad(c, DNNQ_E_FORMAT, "attribute 'opset' (the Softmax's) is %s",
		           attr(c, "opset") ? "not positive" : "missing");
	const char *ys = in_name(s, d->ys), *yz = in_name(s, d->ys + 1), *y = S(np->output[0]);
	bool quantized = *ys || *yz;
	if (!*ys && (*yz || !gemm))
		return bad(c, DNNQ_E_FORMAT, "input %u (the output's scale) is missing", d->ys);
	if (gemm && *ys && !*yz)
		return bad(c, DNNQ_E_UNSUPPORTED, "y_scale without y_zero_point (ONNX Runtime's float "
		           "output divided by y_scale)");
	if (*ys && (rc = one_value(s, d->ys)))
		return rc;
	size_t nq = d->nq ? d->nq : (np->n_input - d->first) / 3, lead = d->nq ? d->first : 0;
	const char **fin = calloc(lead + nq + 1, sizeof *fin);
	if (!fin)
		return DNNQ_E_NOMEM;
	for (size_t i = 0; i < lead; i++)
		fin[i] = in_name(s, i);
	for (size_t k = 0; !rc && k < nq; k++)
		rc = operand(s, k, d->first + 3 * k, gemm && k == 1 && !trans_b ? 1 : 0,
		             gemm && k == 1, &fin[lead + k]);
	size_t nf = lead + nq;
	if (!rc && gemm && *in_name(s, 6))
		rc = gemm_bias(s, alpha, &fin[nf++]);
	const char *f = y;
	if (!rc && quantized)
		rc = made_name(s, "f", &f);
	if (!rc)
		rc = float_op(s, fin, nf, nhwc, opset, f);
	const char *qin[3] = { f, ys, yz };
	if (!rc && quantized)
		rc = quantize(s, qin, in_name(s, d->first), "q", y);
	free(fin);
	return rc;
}

/* Transpose by perm of the quantized tensor in (x, scale, [zero point]),
 * as direct does it: DequantizeLinear (NAME:what_dq), Transpose
 * (NAME:what), QuantizeLinear back (NAME:what_q) into out, or a value made
 * here (out NULL): *v its name. */
static int transpose_q(struct ms *s, const char *what, const char *const in[3], int64_t *perm,
                       const char *out, const char **v)
{
	char w[40];
	snprintf(w, sizeof w, "%s_dq", what);
	Onnx__AttributeProto pa = perm_attr(perm);
	const char *f;
	int rc = dequantize(s, w, in, 1, &f);
	if (rc || (rc = step(s, "Transpose", what, &f, 1, &pa, &f)))
		return rc;
	snprintf(w, sizeof w, "%s_q", what);
	if (!out && (rc = made_name(s, w, &out)))
		return rc;
	const char *q[3] = { f, in[1], in[2] };
	*v = out;
	return quantize(s, q, in[0], w, out);
}

/* A contrib operator that is the standard one of its name (QLinearConv)
 * when channels_last is 0: imported as that one (NAME). channels_last 1
 * (ONNX Runtime's NHWC X and Y, W as ever): X transposed to NCHW
 * (NAME:nchw_dq, NAME:nchw, NAME:nchw_q), the operator (NAME), its output
 * transposed back (NAME:nhwc_dq, NAME:nhwc, NAME:nhwc_q): codes moved,
 * exact. */
static int same_op(struct ms *s)
{
	struct nctx *c = s->c;
	size_t n = c->np->n_input;
	int64_t nhwc;
	int rc = a_int(c, "channels_last", 0, &nhwc);
	if (rc)
		return rc;
	if (nhwc != 0 && nhwc != 1)
		return bad(c, DNNQ_E_RANGE, "channels_last = %lld: 0 or 1 expected", (long long)nhwc);
	if (n < s->d->min_in || n > s->d->max_in || c->np->n_output != 1)
		return bad(c, DNNQ_E_FORMAT, "%zu inputs, %zu outputs (%u to %u, and 1 expected)", n,
		           c->np->n_output, s->d->min_in, s->d->max_in);
	if (nhwc) {
		int32_t id = imp_lookup(c->m, in_name(s, 0), c->who);
		if (id < 0)
			return id == DNNQ_E_NOMEM ? id : DNNQ_E_FORMAT;
		const struct dnnq_ir_value *xv = &c->m->ir->values[id];
		if (xv->ndim != 4)
			return bad(c, DNNQ_E_UNSUPPORTED, "attribute 'channels_last' = 1: only 2-D (rank "
			           "4 X) supported; input 0 '%.80s' is [%s]", in_name(s, 0),
			           imp_dims_str(xv));
	}
	const char *y = S(c->np->output[0]), **fin = calloc(n, sizeof *fin), *conv;
	if (!fin)
		return DNNQ_E_NOMEM;
	for (size_t i = 0; i < n; i++)
		fin[i] = in_name(s, i);
	int64_t to_nchw[4] = { 0, 3, 1, 2 }, to_nhwc[4] = { 0, 2, 3, 1 };
	const char *x[3] = { fin[0], fin[1], fin[2] }, *yq[3] = { "", fin[6], fin[7] };
	if (!nhwc)
		rc = float_op(s, fin, n, false, c->m->opset, y);
	else if (!(rc = transpose_q(s, "nchw", x, to_nchw, NULL, &fin[0])) &&
	         !(rc = made_name(s, "conv", &conv)) &&
	         !(rc = float_op(s, fin, n, false, c->m->opset, conv))) {
		yq[0] = conv;
		rc = transpose_q(s, "nhwc", yq, to_nhwc, y, &conv);
	}
	free(fin);
	return rc;
}

/* ---- ONNX Runtime's float fusions ---- */

/* The activations FusedConv and FusedGemm name, and their parameters'
 * attributes and defaults (Clip's min and max: attributes before opset 11,
 * so it is imported in opset 6). */
static const struct act {
	const char *name, *p[2];
	float def[2];
} ACTS[] = {
	{ "Relu", { NULL, NULL }, { 0, 0 } },
	{ "Sigmoid", { NULL, NULL }, { 0, 0 } },
	{ "Tanh", { NULL, NULL }, { 0, 0 } },
	{ "LeakyRelu", { "alpha", NULL }, { 0.01f, 0 } },
	{ "HardSigmoid", { "alpha", "beta" }, { 0.2f, 0.5f } },
	{ "Clip", { "min", "max" }, { -INFINITY, INFINITY } },
};

/* The activation's parameters: FusedConv's activation_params, FusedGemm's
 * activation_alpha and activation_beta; the defaults where absent. */
static int act_params(struct ms *s, const struct act *a, float p[2])
{
	struct nctx *c = s->c;
	const Onnx__AttributeProto *ap = attr(c, "activation_params");
	int rc = 0;
	for (int k = 0; k < 2; k++)
		p[k] = a->def[k];
	if (strcmp(s->d->op, "Gemm")) {
		/* ONNX Runtime takes exactly the activation's parameters */
		size_t want = (a->p[0] != NULL) + (a->p[1] != NULL), have = ap ? ap->n_floats : 0;
		if (have != want)
			return bad(c, DNNQ_E_FORMAT, "attribute 'activation_params': %zu values, %s "
			           "takes %zu", have, a->name, want);
		for (size_t k = 0; k < want; k++)
			p[k] = ap->floats[k];
	} else if (!(rc = a_float(c, "activation_alpha", p[0], &p[0]))) {
		rc = a_float(c, "activation_beta", p[1], &p[1]);
	}
	return rc;
}

/* FusedConv (X, W, [B], [Z]: activation(Conv(X, W, B) + Z)) and FusedGemm
 * (A, B, [C]: activation(Gemm)), what ONNX Runtime's graph optimizations
 * save: the operator (NAME), the Add of Z (NAME:sum), the activation
 * (NAME:act) its attribute names. */
static int fused(struct ms *s)
{
	struct nctx *c = s->c;
	const struct msdef *d = s->d;
	size_t n = c->np->n_input;
	if (n < d->min_in || n > d->max_in || c->np->n_output != 1)
		return bad(c, DNNQ_E_FORMAT, "%zu inputs, %zu outputs (%u to %u, and 1 expected)", n,
		           c->np->n_output, d->min_in, d->max_in);
	char name[32];
	int rc = a_str(c, "activation", "", name, sizeof name);
	const struct act *a = NULL;
	for (size_t i = 0; !rc && *name && !a && i < sizeof ACTS / sizeof ACTS[0]; i++)
		if (!strcmp(name, ACTS[i].name))
			a = &ACTS[i];
	if (rc || (*name && !a))
		return rc ? rc : bad(c, DNNQ_E_UNSUPPORTED, "activation '%s' (Relu, Sigmoid, Tanh, "
		                     "LeakyRelu, HardSigmoid or Clip supported)", name);
	float p[2];
	if (a && (rc = act_params(s, a, p)))
		return rc;
	const char *fin[3], *y = S(c->np->output[0]), *f = y;
	const char *z = strcmp(d->op, "Gemm") && n > 3 ? in_name(s, 3) : "";
	size_t nf = *z || n > 3 ? 3 : n;
	for (size_t i = 0; i < nf; i++)
		fin[i] = in_name(s, i);
	if ((a || *z) && (rc = made_name(s, "f", &f)))
		return rc;
	if ((rc = float_op(s, fin, nf, false, c->m->opset, f)))
		return rc;
	if (*z) {
		const char *in[2] = { f, z };
		char sum[200];
		snprintf(sum, sizeof sum, "%s:sum", c->name);
		if ((a && (rc = made_name(s, "sum", &f))) ||
		    (rc = sub(s, "Add", sum, in, 2, NULL, 0, a ? f : y)))
			return rc;
	}
	if (!a)
		return 0;
	Onnx__AttributeProto pa[2] = { float_attr(S(a->p[0]), p[0]), float_attr(S(a->p[1]), p[1]) },
	                     *attrs[2] = { &pa[0], &pa[1] };
	char act[200];
	snprintf(act, sizeof act, "%s:act", c->name);
	int64_t was = c->m->opset;
	if (a->p[0] && !strcmp(a->name, "Clip"))
		c->m->opset = 6;
	rc = sub(s, a->name, act, &f, 1, attrs, a->p[1] ? 2 : a->p[0] ? 1 : 0, y);
	c->m->opset = was;
	return rc;
}

/* ---- ONNX Runtime's transformer fusions (fp32) ---- */

/* Node op of inputs a and [b] (NULL: none): node and value NAME:what made
 * here, *v its name; or, out given, node NAME (what "") or NAME:what into
 * out (*v = out). */
static int bin(struct ms *s, const char *op, const char *what, const char *a, const char *b,
               const char *out, const char **v)
{
	const char *in[2] = { a, b };
	if (!out)
		return step(s, op, what, in, b ? 2 : 1, NULL, v);
	char name[200];
	snprintf(name, sizeof name, "%s%s%s", s->c->name, *what ? ":" : "", what);
	*v = out;
	return sub(s, op, name, in, b ? 2 : 1, NULL, 0, out);
}

/* bin of a and the float scalar constant k (NAME:what_k). */
static int bin_k(struct ms *s, const char *op, const char *what, const char *a, float k,
                 const char *out, const char **v)
{
	static const struct dnnq_ir_value scalar = { .ndim = 0 };
	char kw[40];
	snprintf(kw, sizeof kw, "%s_k", what);
	const char *kv;
	float *p;
	int rc = new_f32(s, kw, &scalar, &p, &kv);
	if (rc)
		return rc;
	*p = k;
	return bin(s, op, what, a, kv, out, v);
}

/* The node has min_in to max_in inputs and 1 to max_out outputs. */
static int io_count(struct ms *s, size_t max_out)
{
	const Onnx__NodeProto *np = s->c->np;
	if (np->n_input >= s->d->min_in && np->n_input <= s->d->max_in && np->n_output >= 1 &&
	    np->n_output <= max_out)
		return 0;
	return bad(s->c, DNNQ_E_FORMAT, "%zu inputs, %zu outputs (%u to %u, and 1 to %zu "
	           "expected)", np->n_input, np->n_output, s->d->min_in, s->d->max_in, max_out);
}

/* Output k of the node, when named, is not computed: a node reading it is
 * refused. */
static int not_computed(struct ms *s, size_t k)
{
	struct nctx *c = s->c;
	const char *o = k < c->np->n_output ? S(c->np->output[k]) : "";
	if (*o && imp_find(c->m, o))
		return bad(c, DNNQ_E_FORMAT, "output '%.100s' is defined twice", o);
	return *o && imp_add_name(c->m, o, IMP_UNUSED, (int32_t)c->index) ? DNNQ_E_NOMEM : 0;
}

/* Gelu (X), FastGelu (X, [bias]), BiasGelu (A, B), QuickGelu (X; alpha,
 * default 1.702) and BiasAdd (X, bias, skip) as ONNX Runtime's CPU kernels
 * compute them: input 1, when given, added first (NAME:biased); Gelu
 * 0.5 x (1 + Erf(x / sqrt 2)) (NAME:scaled, :erf, :gate, :prod, NAME:
 * onnx/fuse.c makes it the engine's GELU); FastGelu 0.5 x (1 + Tanh(x
 * (0.7978845608 + 0.0356774081 x^2))) (NAME:square, :coef, :inner,
 * :scaled, :tanh, :gate, :prod, NAME); QuickGelu x Sigmoid(alpha x)
 * (NAME:scaled, :gate, NAME); BiasAdd X + bias + skip (NAME). ONNX's Gelu
 * (opset 20) is Gelu, or FastGelu's formula when approximate is 'tanh'. */
static int gelus(struct ms *s)
{
	struct nctx *c = s->c;
	const char *op = s->d->name, *x = in_name(s, 0), *y = S(c->np->output[0]), *t, *g;
	char approx[16];
	int rc = io_count(s, 1);
	if (rc || (rc = a_str(c, "approximate", "none", approx, sizeof approx)))
		return rc;
	if (strcmp(approx, "none") && strcmp(approx, "tanh"))
		return bad(c, DNNQ_E_RANGE, "attribute 'approximate' = '%s': 'none' or 'tanh' "
		           "expected", approx);
	if (!strcmp(approx, "tanh"))
		op = "FastGelu";
	if (*in_name(s, 1) && (rc = bin(s, "Add", "biased", x, in_name(s, 1), NULL, &x)))
		return rc;
	if (!strcmp(op, "BiasAdd"))
		return bin(s, "Add", "", x, in_name(s, 2), y, &t);
	if (!strcmp(op, "QuickGelu")) {
		float alpha;
		if ((rc = a_float(c, "alpha", 1.702f, &alpha)) ||
		    (rc = bin_k(s, "Mul", "scaled", x, alpha, NULL, &t)) ||
		    (rc = bin(s, "Sigmoid", "gate", t, NULL, NULL, &g)))
			return rc;
		return bin(s, "Mul", "", x, g, y, &t);
	}
	if (!strcmp(op, "FastGelu")) {
		if ((rc = bin(s, "Mul", "square", x, x, NULL, &t)) ||
		    (rc = bin_k(s, "Mul", "coef", t, 0.035677408136300125f, NULL, &t)) ||
		    (rc = bin_k(s, "Add", "inner", t, 0.7978845608028654f, NULL, &t)) ||
		    (rc = bin(s, "Mul", "scaled", x, t, NULL, &t)) ||
		    (rc = bin(s, "Tanh", "tanh", t, NULL, NULL, &t)))
			return rc;
	} else if ((rc = bin_k(s, "Mul", "scaled", x, (float)M_SQRT1_2, NULL, &t)) ||
	           (rc = bin(s, "Erf", "erf", t, NULL, NULL, &t))) {
		return rc;
	}
	if ((rc = bin_k(s, "Add", "gate", t, 1.0f, NULL, &g)) ||
	    (rc = bin(s, "Mul", "prod", x, g, NULL, &t)))
		return rc;
	return bin_k(s, "Mul", "", t, 0.5f, y, &t);
}

/* A reduction op (NAME:what, or NAME into out when out is not NULL) of fin
 * (x, [axes]: "" none) with the node's attributes, keepdims 1 when keep;
 * its output's name into *v ("" what: out, node NAME). The node's axes are an attribute before
 * opset 18 (ReduceL1's, ReduceLogSum's, ReduceLogSumExp's, as ReduceMax's):
 * op is imported in opset 12 then, where ReduceSum's are too. */
static int reduce(struct ms *s, const char *op, const char *what, const char *const fin[2],
                  bool keep, const char *out, const char **v)
{
	struct nctx *c = s->c;
	const Onnx__NodeProto *np = c->np;
	Onnx__AttributeProto keep1 = int_attr("keepdims", 1),
	                     **at = calloc(np->n_attribute + 1, sizeof *at);
	if (!at)
		return DNNQ_E_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < np->n_attribute; i++)
		if (!keep || strcmp(S(np->attribute[i]->name), "keepdims"))
			at[n++] = np->attribute[i];
	if (keep)
		at[n++] = &keep1;
	int64_t was = c->m->opset;
	int rc = out ? 0 : made_name(s, what, &out);
	if (!rc) {
		c->m->opset = was < 18 ? 12 : was;
		rc = sub(s, op, what[0] ? out : c->name, fin, *fin[1] ? 2 : 1, at, n, out);
		*v = out;
		c->m->opset = was;
	}
	free(at);
	return rc;
}

/* x clipped to the finite floats (Clip, NAME:what); its output's name into
 * *v. ReduceLogSumExp's shift: ONNX Runtime shifts by 0 where the maximum
 * is infinite, so a row of -inf gives -inf and one holding inf gives inf,
 * where x - max would be inf - inf, NaN; by +-FLT_MAX the same. */
static int finite_max(struct ms *s, const char *what, const char *x, const char **v)
{
	Onnx__AttributeProto at[2] = { float_attr("min", -FLT_MAX), float_attr("max", FLT_MAX) },
	                     *attrs[2] = { &at[0], &at[1] };
	int64_t was = s->c->m->opset;
	int rc = made_name(s, what, v);
	if (rc)
		return rc;
	s->c->m->opset = 6;     /* min and max attributes */
	rc = sub(s, "Clip", *v, &x, 1, attrs, 2, *v);
	s->c->m->opset = was;
	return rc;
}

/* ONNX operators that torch 2's exporters write and dnnq runs as others:
 * Mish x Tanh(Softplus(x)) (NAME:softplus, :tanh, NAME; torch 2's
 * export of nn.Mish from opset 18, YOLOv4's activation); Softsign x / (1 +
 * |x|) (NAME:abs, :denom, NAME); IsNaN Not(Equal(x, x)) (NAME:equal, NAME:
 * the dynamo exporter's attention with a boolean mask writes
 * Where(IsNaN(Softmax(...)), 0, ...) for rows masked whole); IsInf
 * Equal(|x|, inf) or, detecting one sign, Equal(x, +-inf) (NAME:abs,
 * NAME), detecting neither Greater(x, inf), false; Mean Sum (NAME:sum)
 * times 1 / n (NAME); ReduceL1 ReduceSum(Abs(x)) (NAME:abs, NAME);
 * ReduceLogSum Log(ReduceSum(x)) (NAME:sum, NAME); ReduceLogSumExp, as
 * ONNX Runtime computes it without overflow, Log(ReduceSum(Exp(x - m)))
 * + m, m ReduceMax(x) made finite (NAME:max kept dims, :maxf, :shifted,
 * :exp, :sum, :log, NAME:top with the node's keepdims, :topf, NAME). */
static int std_ops(struct ms *s)
{
	struct nctx *c = s->c;
	const char *op = s->d->name, *x = in_name(s, 0), *y = S(c->np->output[0]), *t, *u;
	const char *fin[2] = { x, in_name(s, 1) };
	int rc = io_count(s, 1);
	if (rc)
		return rc;
	if (!strcmp(op, "Mish"))
		return (rc = bin(s, "Softplus", "softplus", x, NULL, NULL, &t)) ||
		       (rc = bin(s, "Tanh", "tanh", t, NULL, NULL, &t)) ? rc
		     : bin(s, "Mul", "", x, t, y, &t);
	if (!strcmp(op, "Softsign"))
		return (rc = bin(s, "Abs", "abs", x, NULL, NULL, &t)) ||
		       (rc = bin_k(s, "Add", "denom", t, 1.0f, NULL, &t)) ? rc
		     : bin(s, "Div", "", x, t, y, &t);
	if (!strcmp(op, "IsNaN"))
		return (rc = bin(s, "Equal", "equal", x, x, NULL, &t)) ? rc
		     : bin(s, "Not", "", t, NULL, y, &t);
	if (!strcmp(op, "IsInf")) {
		int64_t neg, pos;
		if ((rc = a_int(c, "detect_negative", 1, &neg)) ||
		    (rc = a_int(c, "detect_positive", 1, &pos)))
			return rc;
		if ((neg != 0 && neg != 1) || (pos != 0 && pos != 1))
			return bad(c, DNNQ_E_RANGE, "detect_negative %lld, detect_positive %lld: 0 or 1 "
			           "expected", (long long)neg, (long long)pos);
		if (neg && pos && (rc = bin(s, "Abs", "abs", x, NULL, NULL, &x)))
			return rc;
		return bin_k(s, neg || pos ? "Equal" : "Greater", "", x, neg && !pos ? -INFINITY
		             : INFINITY, y, &t);
	}
	if (!strcmp(op, "Mean")) {
		const Onnx__NodeProto *np = c->np;
		if ((rc = made_name(s, "sum", &t)) ||
		    (rc = sub(s, "Sum", t, (const char *const *)np->input, np->n_input, NULL, 0, t)))
			return rc;
		return bin_k(s, "Mul", "", t, 1.0f / (float)np->n_input, y, &t);
	}
	if (!strncmp(op, "Reduce", 6) && c->m->opset < 18 && *fin[1])
		return bad(c, DNNQ_E_FORMAT, "2 inputs: axes is an input from opset 18 on, an "
		           "attribute before");
	if (!strncmp(op, "Reduce", 6) && c->m->opset >= 18 && imp_attr(c->np, "axes"))
		return bad(c, DNNQ_E_FORMAT, "attribute 'axes' in opset %lld: axes is an input from "
		           "opset 18 on", (long long)c->m->opset);
	if (!strcmp(op, "ReduceL1"))
		return (rc = bin(s, "Abs", "abs", x, NULL, NULL, &fin[0])) ? rc
		     : reduce(s, "ReduceSum", "", fin, false, y, &t);
	if (!strcmp(op, "ReduceLogSum"))
		return (rc = reduce(s, "ReduceSum", "sum", fin, false, NULL, &t)) ? rc
		     : bin(s, "Log", "", t, NULL, y, &t);
	/* ReduceLogSumExp */
	if ((rc = reduce(s, "ReduceMax", "max", fin, true, NULL, &u)) ||
	    (rc = finite_max(s, "maxf", u, &u)) ||
	    (rc = bin(s, "Sub", "shifted", x, u, NULL, &t)) ||
	    (rc = bin(s, "Exp", "exp", t, NULL, NULL, &fin[0])) ||
	    (rc = reduce(s, "ReduceSum", "sum", fin, false, NULL, &t)) ||
	    (rc = bin(s, "Log", "log", t, NULL, NULL, &t)))
		return rc;
	fin[0] = x;
	return (rc = reduce(s, "ReduceMax", "top", fin, false, NULL, &u)) ||
	       (rc = finite_max(s, "topf", u, &u)) ? rc : bin(s, "Add", "", t, u, y, &t);
}

/* LayerNormalization (node NAME, opset 17) of x over the last axis, by
 * gamma and [beta] ("": none), into y. */
static int layer_norm(struct ms *s, const char *x, const char *gamma, const char *beta,
                      float eps, const char *y)
{
	Onnx__AttributeProto at[2] = { float_attr("epsilon", eps), int_attr("axis", -1) },
	                     *attrs[2] = { &at[0], &at[1] };
	const char *in[3] = { x, gamma, beta };
	int64_t was = s->c->m->opset;
	s->c->m->opset = 17;
	int rc = sub(s, "LayerNormalization", s->c->name, in, *beta ? 3 : 2, attrs, 2, y);
	s->c->m->opset = was;
	return rc;
}

/* SkipLayerNormalization (input, skip, gamma, [beta], [bias]; epsilon,
 * default 1e-12), SkipSimplifiedLayerNormalization (input, skip, gamma,
 * [bias]; the same) and SimplifiedLayerNormalization (X, scale; axis
 * -1, epsilon 1e-5, stash_type 1; ONNX Runtime's RMSNorm, of the default
 * domain). The Skip ones: input + skip (NAME:sum0) + bias (NAME:sum), the
 * sum their output 3 (input_skip_bias_sum) when named, normalized over the
 * last axis. LayerNormalization (NAME); the simplified one x / Sqrt(
 * ReduceMean(x * x) + epsilon) * scale (NAME:square, :mean, :eps, :rms,
 * :normed, NAME). The mean and inv_std_var outputs are not computed: a node
 * reading one is refused. */
static int norms(struct ms *s)
{
	struct nctx *c = s->c;
	const Onnx__NodeProto *np = c->np;
	bool skip = !strncmp(s->d->name, "Skip", 4), simple = strstr(s->d->name, "Simplified");
	float eps;
	int64_t axis, stash;
	int rc = io_count(s, skip ? 4 : 2);
	if (rc || (rc = a_float(c, "epsilon", skip ? 1e-12f : 1e-5f, &eps)) ||
	    (rc = a_int(c, "axis", -1, &axis)) || (rc = a_int(c, "stash_type", 1, &stash)))
		return rc;
	if (stash != 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "stash_type %lld: only 1 (float)", (long long)stash);
	for (size_t k = 1; !rc && k < 3; k++)
		rc = not_computed(s, k);
	if (rc)
		return rc;
	const char *x = in_name(s, 0), *gamma = in_name(s, skip ? 2 : 1), *y = S(np->output[0]);
	const char *beta = skip && !simple ? in_name(s, 3) : "";
	const char *bias = skip ? in_name(s, simple ? 3 : 4) : "";
	const char *sum = np->n_output > 3 && *S(np->output[3]) ? np->output[3] : NULL;
	if (skip && ((rc = bin(s, "Add", *bias ? "sum0" : "sum", x, in_name(s, 1),
	                       *bias ? NULL : sum, &x)) ||
	             (*bias && (rc = bin(s, "Add", "sum", x, bias, sum, &x)))))
		return rc;
	if (!simple)
		return layer_norm(s, x, gamma, beta, eps, y);
	int64_t was = c->m->opset;
	int32_t id = imp_lookup(c->m, x, c->who);
	if (id < 0)
		return id == DNNQ_E_NOMEM ? id : DNNQ_E_FORMAT;
	int64_t r = c->m->ir->values[id].ndim, axes[DNNQ_IR_MAX_DIMS];
	if (axis < -r || axis >= r)
		return bad(c, DNNQ_E_RANGE, "axis %lld: the input has rank %lld", (long long)axis,
		           (long long)r);
	axis += axis < 0 ? r : 0;
	Onnx__AttributeProto ax = typed("axes", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
	ax.n_ints = (size_t)(r - axis);
	ax.ints = axes;
	for (int64_t i = axis; i < r; i++)
		axes[i - axis] = i;
	const char *t, *sq, *in[1];
	if ((rc = bin(s, "Mul", "square", x, x, NULL, &sq)))
		return rc;
	in[0] = sq;
	c->m->opset = 13;
	rc = step(s, "ReduceMean", "mean", in, 1, &ax, &t);
	c->m->opset = was;
	if (rc || (rc = bin_k(s, "Add", "eps", t, eps, NULL, &t)) ||
	    (rc = bin(s, "Sqrt", "rms", t, NULL, NULL, &t)) ||
	    (rc = bin(s, "Div", "normed", x, t, NULL, &t)))
		return rc;
	return bin(s, "Mul", "", t, gamma, y, &t);
}

/* MatMulIntegerToFloat (A, B, a_scale, b_scale, [a_zero_point],
 * [b_zero_point], [bias]) and DynamicQuantizeMatMul (A float, B,
 * b_scale, [b_zero_point], [bias]; A quantized first: DynamicQuantizeLinear
 * NAME:quant, its outputs NAME:quant, NAME:quant_scale,
 * NAME:quant_zero_point) as what quantize_dynamic writes before ONNX
 * Runtime fuses it: MatMulInteger (NAME:acc), Cast to float (NAME:accf),
 * the product of the scales (NAME:scale), Mul (NAME, or NAME:prod before
 * the Add of bias, NAME). onnx/qdq.c makes that the float product of A
 * and DequantizeLinear(B) when A is a DynamicQuantizeLinear's (the
 * engine's dynamic FC). */
static int dyn_matmul(struct ms *s)
{
	struct nctx *c = s->c;
	bool quant = s->d->name[0] == 'D';
	size_t bi = quant ? 2 : 3;       /* b_scale */
	const char *q[3] = { in_name(s, 0), in_name(s, 2), in_name(s, 4) }, *t, *acc, *sc;
	const char *bias = in_name(s, quant ? 4 : 6), *y = S(c->np->output[0]);
	int rc = io_count(s, 1);
	if (!rc && quant && !((rc = made_name(s, "quant", &q[0])) ||
	                      (rc = made_name(s, "quant_scale", &q[1])))) {
		rc = made_name(s, "quant_zero_point", &q[2]);
		const char *a = in_name(s, 0);
		if (!rc)
			rc = sub_n(s, "DynamicQuantizeLinear", q[0], &a, 1, NULL, 0, q, 3);
	}
	if (rc)
		return rc;
	const char *mi[4] = { q[0], in_name(s, 1), q[2], in_name(s, quant ? 3 : 5) };
	Onnx__AttributeProto to = int_attr("to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
	if ((rc = step(s, "MatMulInteger", "acc", mi, *mi[3] ? 4 : *mi[2] ? 3 : 2, NULL, &acc)) ||
	    (rc = step(s, "Cast", "accf", &acc, 1, &to, &acc)) ||
	    (rc = bin(s, "Mul", "scale", q[1], in_name(s, bi), NULL, &sc)) ||
	    (rc = bin(s, "Mul", *bias ? "prod" : "", acc, sc, *bias ? NULL : y, &t)))
		return rc;
	return *bias ? bin(s, "Add", "", t, bias, y, &t) : 0;
}

static int32_t needed(struct ms *s, size_t i, const char *x, const char *what);

/* DynamicQuantizeLSTM's weight k (1 W [dirs, input, 4*hidden], 2 R [dirs,
 * hidden, 4*hidden]: int8 or uint8 constants; scale and zero point at
 * inputs 6 + 2k and 7 + 2k, per direction [dirs] or per column [dirs,
 * 4*hidden]) dequantized and turned to the LSTM's [dirs, 4*hidden, input]:
 * the float constant NAME:w or NAME:r, its name into *v. */
static int rnn_weight(struct ms *s, size_t k, const char **v)
{
	static const char *const what[2][3] = { { "W", "W_scale", "W_zero_point" },
	                                        { "R", "R_scale", "R_zero_point" } };
	struct nctx *c = s->c;
	int32_t id[3];
	for (size_t i = 0; i < 3; i++) {
		size_t at = i ? 5 + 2 * k + i : k;
		if ((id[i] = needed(s, at, in_name(s, at), what[k - 1][i])) < 0)
			return id[i];
	}
	const struct dnnq_ir_value *w = &c->m->ir->values[id[0]], *sc = &c->m->ir->values[id[1]],
	                           *zp = &c->m->ir->values[id[2]];
	if (!w->data || (w->dtype != DNNQ_IR_S8 && w->dtype != DNNQ_IR_U8) || w->ndim != 3)
		return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s': a constant int8 or uint8 "
		           "[dirs, rows, 4*hidden] expected", k, in_name(s, k));
	int64_t D = w->dims[0], I = w->dims[1], G = w->dims[2];
	size_t ns = dnnq_ir_numel(sc, 1);
	if (!sc->data || sc->dtype != DNNQ_IR_F32 || (ns != (size_t)D && ns != (size_t)(D * G)) ||
	    !zp->data || zp->dtype != w->dtype || dnnq_ir_numel(zp, 1) != ns)
		return bad(c, DNNQ_E_UNSUPPORTED, "inputs %zu and %zu: '%.80s' needs a constant float "
		           "scale and a zero point of its type, per direction or per column", 6 + 2 * k,
		           7 + 2 * k, in_name(s, k));
	struct dnnq_ir_value t = { .ndim = 3, .dims = { D, G, I } };
	float *out;
	int rc = new_f32(s, k == 1 ? "w" : "r", &t, &out, v);
	if (rc)
		return rc;
	/* the lookups' values: new_f32 may have moved the table */
	w = &c->m->ir->values[id[0]], sc = &c->m->ir->values[id[1]], zp = &c->m->ir->values[id[2]];
	const float *scale = sc->data;
	for (int64_t d = 0; d < D; d++)
		for (int64_t i = 0; i < I; i++)
			for (int64_t g = 0; g < G; g++) {
				size_t q = (size_t)((d * I + i) * G + g), p = ns == (size_t)D ? (size_t)d
				                                            : (size_t)(d * G + g);
				int32_t x = w->dtype == DNNQ_IR_S8 ? ((const int8_t *)w->data)[q] -
				                                     ((const int8_t *)zp->data)[p]
				                                   : ((const uint8_t *)w->data)[q] -
				                                     ((const uint8_t *)zp->data)[p];
				out[(d * G + g) * I + i] = (float)x * scale[p];
			}
	return 0;
}

/* DynamicQuantizeLSTM (X, W, R, B, sequence_lens, initial_h, initial_c, P,
 * W_scale, W_zero_point, R_scale, R_zero_point; quantize_dynamic's LSTM):
 * the LSTM (NAME, the node's attributes, outputs and inputs but its
 * weights) of the dequantized W and R (NAME:w, NAME:r, transposed to
 * ONNX's layout), which onnx/import-rnn.c unrolls. ONNX Runtime quantizes
 * X and h per step; dnnq calibrates them as any activation. */
static int quant_rnn(struct ms *s)
{
	struct nctx *c = s->c;
	const char *in[8], *out[3];
	int rc = io_count(s, 3);
	for (size_t i = 0; i < 8; i++)
		in[i] = in_name(s, i);
	if (rc || (rc = rnn_weight(s, 1, &in[1])) || (rc = rnn_weight(s, 2, &in[2])))
		return rc;
	for (size_t k = 0; k < c->np->n_output; k++)
		out[k] = S(c->np->output[k]);
	return sub_n(s, "LSTM", c->name, in, 8, c->np->attribute, c->np->n_attribute, out,
	             c->np->n_output);
}

/* An int64 constant NAME:what of the n values v (a Reshape's shape). */
static int shape_const(struct ms *s, const char *what, const int64_t *v, int64_t n,
                       const char **name)
{
	int64_t *p;
	int rc = new_const(s, what, DNNQ_IR_S64, 1, &n, (void **)&p, name);
	if (!rc)
		memcpy(p, v, (size_t)n * sizeof *p);
	return rc;
}

/* Reshape (node and value NAME:what) of x to the shape v (n values; the
 * constant NAME:what_shape), then Transpose by perm (NAME:what_t) into a
 * value made here, *out its name. */
static int heads(struct ms *s, const char *what, const char *x, const int64_t *v,
                 int64_t *perm, const char **out)
{
	char sw[40], tw[40];
	snprintf(sw, sizeof sw, "%s_shape", what);
	snprintf(tw, sizeof tw, "%s_t", what);
	const char *sh;
	Onnx__AttributeProto pa = perm_attr(perm);
	int rc = shape_const(s, sw, v, 4, &sh);
	if (rc || (rc = bin(s, "Reshape", what, x, sh, NULL, &x)))
		return rc;
	return step(s, "Transpose", tw, &x, 1, &pa, out);
}

/* The value id of x, input i (what) of an attention, a rotary embedding
 * or a DynamicQuantizeLSTM's weights, which it needs; < 0 with the problem recorded (x "": the
 * input is missing, which imp_lookup takes for an optional input left
 * out and records nothing of). */
static int32_t needed(struct ms *s, size_t i, const char *x, const char *what)
{
	if (!*x)
		return bad(s->c, DNNQ_E_FORMAT, "input %zu (%s) is missing", i, what);
	int32_t id = imp_lookup(s->c->m, x, s->c->who);
	return id < 0 && id != DNNQ_E_NOMEM ? DNNQ_E_FORMAT : id;
}

/* The value id of x, input i (the value it stands for: x), of rank
 * `rank`; < 0 with the problem recorded. */
static int32_t ranked(struct ms *s, size_t i, const char *x, uint32_t rank, const char *what)
{
	int32_t id = needed(s, i, x, what);
	if (id < 0)
		return id;
	const struct dnnq_ir_value *v = &s->c->m->ir->values[id];
	if (v->ndim != rank)
		return bad(s->c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' (%s) [%s]: rank %u "
		           "supported", i, x, what, imp_dims_str(v), rank);
	return id;
}

/* How an attention's mask reads (attend). */
enum mask_form {
	MASK_NONE,
	MASK_2D,        /* [B, L]: > 0 keeps the key */
	MASK_LENGTHS,   /* [B]: key j kept where j < the row's length */
	MASK_COUNTED,   /* an EmbedLayerNormalization's mask [B, L]: its 1s counted */
	MASK_SEQLENS,   /* GroupQueryAttention's seqlens_k [B]: key j kept where j <= it */
	MASK_PAST,      /* GroupQueryAttention's seqlens_k [B] after a cache: query s of
	                 * item b sees keys j - s <= seqlens_k[b] + 1 - S (keep_past) */
};

/* What attend computes: num_heads, the hidden sizes of Q and K (hk) and
 * of V (hv), the query's and the keys' sequence lengths (kv_seq: the
 * cache's past keys and this call's), unidirectional, past (the keys
 * before the query's first: the causal mask's offset), win (a local
 * window of that many keys, 0: none), scale (0: 1 / sqrt(hk / nh)),
 * mask_filter_value, the mask (form and value), the attention bias ("":
 * none); the key-value cache (NULL: none): past_k and past_v [B, N, P,
 * H] before this call's keys and values, present_k and present_v the
 * outputs their concatenation goes to; bnsh: k and v come as heads [B,
 * N, L, H] (GroupQueryAttention's cache, gqa_cached). */
struct attn {
	int64_t nh, hk, hv, seq, kv_seq, uni, past, win;
	float scale, filter;
	enum mask_form form;
	const char *mask, *bias, *past_k, *past_v, *present_k, *present_v;
	bool bnsh;
};

/* The keys of the float mask *v kept (1) where their position j + first
 * < the count of the row (*v [B, 1]; NAME:mask_pos, :mask_keep), as ONNX
 * Runtime reads a 1-D mask_index (first 0) or seqlens_k (first -1);
 * counted: *v is an EmbedLayerNormalization's mask [B, L] whose 1s are the
 * count (its mask_index: NAME:mask_ones, :mask_axes, :mask_count). */
static int keep_below(struct ms *s, int64_t seq, bool counted, int64_t first, const char **v)
{
	const char *ax, *pos;
	int64_t one = 1;
	float *p;
	int rc;
	if (counted && ((rc = bin_k(s, "Equal", "mask_ones", *v, 1.0f, NULL, v)) ||
	                (rc = shape_const(s, "mask_axes", &one, 1, &ax)) ||
	                (rc = bin(s, "ReduceSum", "mask_count", *v, ax, NULL, v))))
		return rc;
	if ((rc = new_const(s, "mask_pos", DNNQ_IR_F32, 1, &seq, (void **)&p, &pos)))
		return rc;
	for (int64_t i = 0; i < seq; i++)
		p[i] = (float)(i + first);
	return bin(s, "Less", "mask_keep", pos, *v, NULL, v);
}

/* GroupQueryAttention's keys after a cache (MASK_PAST): the float
 * seqlens_k *v [B, 1, 1] (item b's keys 0 .. seqlens_k[b], this call's S
 * queries the last S of them) kept where query s sees key j: j - s <
 * seqlens_k + 2 - S (NAME:mask_lim; the constant j - s NAME:mask_pos [S,
 * L], Less NAME:mask_keep), and within a local window of win keys
 * (win > 0): j - s > seqlens_k + 1 - S - win (NAME:mask_lo, Less
 * NAME:mask_win, And NAME:mask_both). */
static int keep_past(struct ms *s, const struct attn *a, const char **v)
{
	int64_t dims[2] = { a->seq, a->kv_seq };
	const char *pos, *lim, *lo, *w;
	float *p;
	int rc;
	if ((rc = bin_k(s, "Add", "mask_lim", *v, (float)(2 - a->seq), NULL, &lim)) ||
	    (rc = new_const(s, "mask_pos", DNNQ_IR_F32, 2, dims, (void **)&p, &pos)))
		return rc;
	for (int64_t i = 0; i < a->seq * a->kv_seq; i++)
		p[i] = (float)(i % a->kv_seq - i / a->kv_seq);
	if ((rc = bin(s, "Less", "mask_keep", pos, lim, NULL, v)) || a->win <= 0)
		return rc;
	if ((rc = bin_k(s, "Add", "mask_lo", lim, (float)(-1 - a->win), NULL, &lo)) ||
	    (rc = bin(s, "Less", "mask_win", lo, pos, NULL, &w)))
		return rc;
	return bin(s, "And", "mask_both", *v, w, NULL, v);
}

/* The cache of *v, heads [B, N, L, H]: Concat (NAME:what) after past
 * [B, N, P, H] on the sequence (past NULL: *v as it is, Identity) into
 * out (NULL: a value made here, NAME:what); *v names the result. */
static int cat_past(struct ms *s, const char *what, const char *past, const char *out,
                    const char **v)
{
	const char *in[2] = { past, *v };
	Onnx__AttributeProto ax = int_attr("axis", 2);
	if (!past && !out)
		return 0;
	if (!out)
		return step(s, "Concat", what, in, 2, &ax, v);
	char name[200];
	Onnx__AttributeProto *axp = &ax;
	snprintf(name, sizeof name, "%s:%s", s->c->name, what);
	*v = out;
	return past ? sub(s, "Concat", name, in, 2, &axp, 1, out) :
	              sub(s, "Identity", name, &in[1], 1, NULL, 0, out);
}

/* How input i, mask (the value it stands for), of an attention whose
 * query (value xi) has kv_seq keys, is read: [B, L] (MASK_2D), or [B]
 * (lengths: a batched value, or the batch's size once the batch is
 * fixed); its form into *form, or the problem recorded. The query by its
 * id: the lookup of an initializer mask may move the values. */
static int mask_form(struct ms *s, size_t i, const char *mask, int32_t xi, int64_t kv_seq,
                     const char *what, enum mask_form *form)
{
	int32_t id = needed(s, i, mask, what);
	if (id < 0)
		return id;
	const struct dnnq_ir_value *m = &s->c->m->ir->values[id], *x = &s->c->m->ir->values[xi];
	if (m->ndim == 2 && m->dims[1] == kv_seq) {
		*form = MASK_2D;
		return 0;
	}
	if (m->ndim == 1 && (m->batched ? x->batched : !x->batched && m->dims[0] == x->dims[0])) {
		*form = MASK_LENGTHS;
		return 0;
	}
	return bad(s->c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' (%s) [%s]: the [batch, %lld] "
	           "form (0 masks a key) or the [batch] one (lengths) supported", i, mask, what,
	           imp_dims_str(m), (long long)kv_seq);
}

/* Attention of q [B, S, hk], k [B, L, hk] and v [B, L, hv] (names) into y,
 * as ONNX Runtime's CPU kernels compute it: each Reshaped to [B, S or L,
 * heads, hk / heads] and transposed (NAME:q_h, :q_h_t, ...: K to [B,
 * heads, hk / heads, L]), MatMul (NAME:scores), Mul by scale
 * (NAME:scaled), the mask's 0 or mask_filter_value added (NAME:maskf,
 * :mask_keep, :mask_scaled, :mask_add, :mask4, :masked; lengths
 * NAME:mask_len first, keep_below), the scores above the diagonal (the
 * constant NAME:causal_k; the attention bias added before, NAME:biased)
 * replaced by the lowest float (NAME:causal_low, Where NAME:causal) as
 * ONNX Runtime writes it over the mask, Softmax (NAME:probs), MatMul by V
 * (NAME:ctx), Transpose (NAME:ctx_h_t) and Reshape to [B, S, hv]
 * (NAME). */
static int attend(struct ms *s, const struct attn *a, const char *q, const char *k,
                  const char *v, const char *y)
{
	struct nctx *c = s->c;
	bool past = a->form == MASK_PAST, cache = a->past_k || a->present_k || a->present_v;
	int64_t sq[4] = { 0, 0, a->nh, a->hk / a->nh }, sv[4] = { 0, 0, a->nh, a->hv / a->nh },
	        to_heads[4] = { 0, 2, 1, 3 }, to_keys[4] = { 0, 2, 3, 1 }, kt[4] = { 0, 1, 3, 2 },
	        merged[3] = { 0, 0, a->hv }, m4[4] = { 0, 1, past ? a->seq : 1, a->kv_seq },
	        m2[3] = { 0, 1, 1 };
	float scale = a->scale ? a->scale : 1.0f / sqrtf((float)(a->hk / a->nh));
	const char *t, *sh;
	Onnx__AttributeProto ax = int_attr("axis", -1), pk = perm_attr(kt);
	int64_t was = c->m->opset;
	c->m->opset = 13;
	int rc;
	if ((rc = heads(s, "q_h", q, sq, to_heads, &q)))
		goto out;
	/* the heads of K [B, N, H, L] and V [B, N, L, H]: through the cache
	 * (BNSH) when there is one */
	if (a->bnsh || cache) {
		if (!a->bnsh && ((rc = heads(s, "k_h", k, sq, to_heads, &k)) ||
		                 (rc = cat_past(s, "present_k", a->past_k, a->present_k, &k)) ||
		                 (rc = heads(s, "v_h", v, sv, to_heads, &v)) ||
		                 (rc = cat_past(s, "present_v", a->past_v, a->present_v, &v))))
			goto out;
		rc = step(s, "Transpose", "k_t", &k, 1, &pk, &k);
	} else if (!(rc = heads(s, "k_h", k, sq, to_keys, &k))) {
		rc = heads(s, "v_h", v, sv, to_heads, &v);
	}
	if (rc || (rc = bin(s, "MatMul", "scores", q, k, NULL, &t)) ||
	    (rc = bin_k(s, "Mul", "scaled", t, scale, NULL, &t)))
		goto out;
	if (a->form != MASK_NONE) {
		bool rows = a->form == MASK_LENGTHS || a->form == MASK_SEQLENS || past;
		Onnx__AttributeProto to = int_attr("to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
		const char *mf;
		if ((rc = step(s, "Cast", "maskf", &a->mask, 1, &to, &mf)) ||
		    (rows && ((rc = shape_const(s, "mask_len_shape", m2, past ? 3 : 2, &sh)) ||
		              (rc = bin(s, "Reshape", "mask_len", mf, sh, NULL, &mf)))) ||
		    (rc = a->form == MASK_2D ? bin_k(s, "Greater", "mask_keep", mf, 0.0f, NULL, &mf)
		                             : past ? keep_past(s, a, &mf)
		                             : keep_below(s, a->kv_seq, a->form == MASK_COUNTED,
		                                          a->form == MASK_SEQLENS ? -1 : 0, &mf)) ||
		    (rc = bin_k(s, "Mul", "mask_scaled", mf, -a->filter, NULL, &mf)) ||
		    (rc = bin_k(s, "Add", "mask_add", mf, a->filter, NULL, &mf)) ||
		    (rc = shape_const(s, "mask4_shape", m4, 4, &sh)) ||
		    (rc = bin(s, "Reshape", "mask4", mf, sh, NULL, &mf)) ||
		    (rc = bin(s, "Add", "masked", t, mf, NULL, &t)))
			goto out;
	}
	/* the attention bias before the causal mask: the keys it hides get
	 * the lowest float all the same, and int8 keeps a range for the sum */
	if (*a->bias && (rc = bin(s, "Add", "biased", t, a->bias, NULL, &t)))
		goto out;
	/* ONNX Runtime masks the future of the queries but the last (its
	 * loop: s < sequence_length - 1): query s sees the keys past + s and
	 * before (within the window), the last query all (the keys after past
	 * + s too, of more keys than queries); a query of one position none */
	if (a->uni && (a->seq > 1 || a->win > 0)) {
		int64_t dims[2] = { a->seq, a->kv_seq };
		float *p, *low;
		const char *in[3] = { "", "", t };
		if ((rc = new_const(s, "causal_k", DNNQ_IR_F32, 2, dims, (void **)&p, &in[0])) ||
		    (rc = new_const(s, "causal_low", DNNQ_IR_F32, 0, dims, (void **)&low, &in[1])))
			goto out;
		for (int64_t i = 0; i < a->seq * a->kv_seq; i++) {
			int64_t row = i / a->kv_seq, last = a->past + row, j = i % a->kv_seq;
			p[i] = (j > last && row < a->seq - 1) || (a->win > 0 && j <= last - a->win);
		}
		*low = -FLT_MAX;
		if ((rc = step(s, "Where", "causal", in, 3, NULL, &t)))
			goto out;
	}
	Onnx__AttributeProto pa = perm_attr(to_heads);
	if ((rc = step(s, "Softmax", "probs", &t, 1, &ax, &t)) ||
	    (rc = bin(s, "MatMul", "ctx", t, v, NULL, &t)) ||
	    (rc = step(s, "Transpose", "ctx_h_t", &t, 1, &pa, &t)) ||
	    (rc = shape_const(s, "shape", merged, 3, &sh)))
		goto out;
	rc = bin(s, "Reshape", "", t, sh, y, &t);
out:
	c->m->opset = was;
	return rc;
}

/* Attribute name (default def), a count of heads or a rotary dim, into
 * *v: at most IMP_MAX_DIM (their products and sums stay far from
 * overflowing), or the problem recorded. */
static int a_dim(struct nctx *c, const char *name, int64_t def, int64_t *v)
{
	int rc = a_int(c, name, def, v);
	if (!rc && *v > IMP_MAX_DIM)
		return bad(c, DNNQ_E_RANGE, "attribute '%s' = %lld: at most %lld supported", name,
		           (long long)*v, (long long)IMP_MAX_DIM);
	return rc;
}

/* Attribute mask_filter_value (default -10000), what a masked key's score
 * gets, into *f: finite (attend adds keep * -f + f, which an infinity
 * makes NaN for the keys kept; ONNX Runtime's own output of -inf is
 * neither the keys masked nor not), or the problem recorded. */
static int filter_value(struct nctx *c, float *f)
{
	int rc = a_float(c, "mask_filter_value", -10000.0f, f);
	if (!rc && !isfinite(*f))
		return bad(c, DNNQ_E_RANGE, "attribute 'mask_filter_value' = %g: a finite number "
		           "expected", (double)*f);
	return rc;
}

static int attn_bias(struct ms *s, const struct attn *a, int32_t qi);

/* Attention (input [B, S, D], weights [D, 3 H] (Q, K, V packed), [bias
 * [3 H]], [mask_index [B, S]: > 0 keeps the key; or [B]: lengths],
 * [attention_bias [1 or B, 1 or N, S, S], added to the scores]; num_heads,
 * unidirectional, scale (0: 1 / sqrt(H / num_heads)), mask_filter_value
 * (-10000), qkv_hidden_sizes all equal) as ONNX Runtime's CPU kernel
 * computes it: MatMul (NAME:qkv), Add of bias (NAME:qkv_bias), Split
 * (NAME:q, :k, :v), then attend (an EmbedLayerNormalization's mask_index:
 * the mask whose 1s it counts). The [2 B] mask (start and end), the 3-D
 * and 4-D ones, past / present (the key-value cache) and rotary
 * embeddings are refused. */
static int attention(struct ms *s)
{
	struct nctx *c = s->c;
	const Onnx__NodeProto *np = c->np;
	int64_t rot;
	struct attn a = { .form = MASK_NONE, .bias = "" };
	const int64_t *sizes;
	ptrdiff_t nsizes;
	int rc = io_count(s, 2);
	if (rc || (rc = a_dim(c, "num_heads", 0, &a.nh)) ||
	    (rc = a_int(c, "unidirectional", 0, &a.uni)) || (rc = a_int(c, "do_rotary", 0, &rot)) ||
	    (rc = a_float(c, "scale", 0, &a.scale)) ||
	    (rc = filter_value(c, &a.filter)) ||
	    (rc = a_ints(c, "qkv_hidden_sizes", &sizes, &nsizes)))
		return rc;
	for (size_t i = 4; i < 7; i += 2)
		if (*in_name(s, i))
			return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' (%s): not supported (no "
			           "key-value cache)", i, in_name(s, i),
			           i == 4 ? "past" : "past_sequence_length");
	if (np->n_output > 1 && *S(np->output[1]))
		return bad(c, DNNQ_E_UNSUPPORTED, "output 1 '%.80s' (present): not supported (no "
		           "key-value cache)", np->output[1]);
	if (rot)
		return bad(c, DNNQ_E_UNSUPPORTED, "attribute 'do_rotary' = %lld: 0 supported",
		           (long long)rot);
	if (a.uni != 0 && a.uni != 1)
		return bad(c, DNNQ_E_RANGE, "attribute 'unidirectional' = %lld: 0 or 1 expected",
		           (long long)a.uni);
	int32_t xi = ranked(s, 0, in_name(s, 0), 3, "input"), wi = xi < 0 ? xi : ranked(s, 1, in_name(s, 1), 2, "weights");
	if (wi < 0)
		return wi;
	const struct dnnq_ir_value *x = &c->m->ir->values[xi], *w = &c->m->ir->values[wi];
	int64_t h = w->dims[1] / 3;
	a.seq = a.kv_seq = x->dims[1];
	a.hk = a.hv = h;
	if (w->dims[1] % 3 || a.nh < 1 || h % a.nh)
		return bad(c, DNNQ_E_UNSUPPORTED, "weights [%s], num_heads %lld: [D, 3 H], H a "
		           "multiple of num_heads expected", imp_dims_str(w), (long long)a.nh);
	for (ptrdiff_t i = 0; i < nsizes; i++)
		if (nsizes != 3 || sizes[i] != h)
			return bad(c, DNNQ_E_UNSUPPORTED, "attribute 'qkv_hidden_sizes': only three "
			           "sizes equal to a third of the weights' %lld columns supported",
			           (long long)w->dims[1]);
	const char *qkv[3], *t;
	a.mask = in_name(s, 3);
	/* an EmbedLayerNormalization's mask_index (mask_index_type 1): the mask
	 * whose 1s it counts */
	const struct imp_name *e = imp_find(c->m, a.mask);
	const Onnx__NodeProto *en = e && e->kind == IMP_UNUSED && e->idx >= 0 &&
	                            (size_t)e->idx < c->m->g->n_node ? c->m->g->node[e->idx] : NULL;
	if (en && !strcmp(S(en->op_type), "EmbedLayerNormalization") && en->n_input > 7 &&
	    *S(en->input[7])) {
		int64_t mtype = 1;
		for (size_t i = 0; i < en->n_attribute; i++)
			if (en->attribute[i] && !strcmp(S(en->attribute[i]->name), "mask_index_type"))
				mtype = en->attribute[i]->i;
		if (mtype == 1) {
			a.form = MASK_COUNTED;
			a.mask = en->input[7];
		}
	}
	if (*a.mask && a.form == MASK_NONE &&
	    (rc = mask_form(s, 3, a.mask, xi, a.seq, "mask_index", &a.form)))
		return rc;
	a.bias = in_name(s, 5);
	if (*a.bias && (rc = attn_bias(s, &a, xi)))
		return rc;
	if ((rc = bin(s, "MatMul", "qkv", in_name(s, 0), in_name(s, 1), NULL, &t)) ||
	    (*in_name(s, 2) && (rc = bin(s, "Add", "qkv_bias", t, in_name(s, 2), NULL, &t))) ||
	    (rc = made_name(s, "q", &qkv[0])) || (rc = made_name(s, "k", &qkv[1])) ||
	    (rc = made_name(s, "v", &qkv[2])))
		return rc;
	Onnx__AttributeProto ax = int_attr("axis", -1), *axp = &ax;
	char name[200];
	snprintf(name, sizeof name, "%s:split", c->name);
	int64_t was = c->m->opset;
	c->m->opset = 13;
	rc = sub_n(s, "Split", name, &t, 1, &axp, 1, qkv, 3);
	c->m->opset = was;
	return rc ? rc : attend(s, &a, qkv[0], qkv[1], qkv[2], S(np->output[0]));
}

/* Input i, x, of MultiHeadAttention, the value it stands for: of rank
 * `rank` and size dims[k] == want[k] where want[k] >= 0; its last dim into
 * *last. */
static int mha_input(struct ms *s, size_t i, const char *what, uint32_t rank,
                     const int64_t *want, int64_t *last)
{
	int32_t id = ranked(s, i, in_name(s, i), rank, what);
	if (id < 0)
		return id;
	const struct dnnq_ir_value *v = &s->c->m->ir->values[id];
	for (uint32_t k = 1; k < rank; k++)
		if (want[k] >= 0 && v->dims[k] != want[k])
			return bad(s->c, DNNQ_E_FORMAT, "input %zu '%.80s' (%s) [%s]: dims[%u] %lld "
			           "expected", i, in_name(s, i), what, imp_dims_str(v), k,
			           (long long)want[k]);
	*last = v->dims[rank - 1];
	return 0;
}

/* Input 5, the attention bias a->bias of an attention whose query is
 * value qi: [B or 1, N or 1, S, L], or the problem recorded. */
static int attn_bias(struct ms *s, const struct attn *a, int32_t qi)
{
	struct nctx *c = s->c;
	int64_t want[4] = { -1, -1, a->seq, a->kv_seq }, last;
	int32_t bi = ranked(s, 5, a->bias, 4, "attention_bias");
	int rc = bi < 0 ? bi : mha_input(s, 5, "attention_bias", 4, want, &last);
	if (rc)
		return rc;
	/* after the lookups (an initializer's may move the table) */
	const struct dnnq_ir_value *bv = &c->m->ir->values[bi], *qv = &c->m->ir->values[qi];
	bool b0 = bv->batched || bv->dims[0] == 1 || (!qv->batched && bv->dims[0] == qv->dims[0]);
	if (!b0 || (bv->dims[1] != 1 && bv->dims[1] != a->nh))
		return bad(c, DNNQ_E_FORMAT, "input 5 '%.80s' (attention_bias) [%s]: [batch or 1, "
		           "%lld or 1, %lld, %lld] expected", a->bias, imp_dims_str(bv),
		           (long long)a->nh, (long long)a->seq, (long long)a->kv_seq);
	return 0;
}

/* Part `part` of a packed input i (query [B, S, N, 3, H], or key [B, L,
 * N, 2, H]) on its axis 3: Gather (NAME:what of the index NAME:what_i),
 * [B, S, N, H]. */
static int unpack(struct ms *s, size_t i, int64_t part, const char *what, const char **v)
{
	char w[40];
	int64_t *p;
	const char *ix;
	snprintf(w, sizeof w, "%s_i", what);
	int rc = new_const(s, w, DNNQ_IR_S64, 0, &part, (void **)&p, &ix);    /* a scalar */
	if (rc)
		return rc;
	*p = part;
	const char *in[2] = { in_name(s, i), ix };
	Onnx__AttributeProto ax = int_attr("axis", 3);
	return step(s, "Gather", what, in, 2, &ax, v);
}

/* *v + bias[from, from + n) (a Slice NAME:what_b of the bias, its starts
 * and ends NAME:what_b0, :what_b1; Add NAME:what_biased). */
static int add_part(struct ms *s, const char *what, int64_t from, int64_t n, const char **v)
{
	char w[40], w0[40], w1[40];
	snprintf(w, sizeof w, "%s_b", what);
	snprintf(w0, sizeof w0, "%s_b0", what);
	snprintf(w1, sizeof w1, "%s_b1", what);
	int64_t to = from + n;
	const char *in[3] = { in_name(s, 3), "", "" }, *b;
	int rc;
	if ((rc = shape_const(s, w0, &from, 1, &in[1])) || (rc = shape_const(s, w1, &to, 1, &in[2])) ||
	    (rc = step(s, "Slice", w, in, 3, NULL, &b)))
		return rc;
	snprintf(w, sizeof w, "%s_biased", what);
	return bin(s, "Add", w, *v, b, NULL, v);
}

/* MultiHeadAttention (query [B, S, D], key [B, L, D], value [B, L, Dv];
 * or query and packed key and value [B, L, N, 2, H]; or packed query, key
 * and value [B, S, N, 3, H]; [bias [2 D + Dv]], [key_padding_mask [B, L]
 * or [B]], [attention_bias [1 or B, 1 or N, S, L]], [past_key and
 * past_value [B, N, P, H]: L counts P + this call's keys]; num_heads,
 * unidirectional (query s sees keys 0 .. P + s, the last query all), scale,
 * mask_filter_value) as ONNX Runtime computes it: the packed parts taken
 * (Gather NAME:q, :k, :v), the bias's parts added (add_part: NAME:q_biased
 * ...), then attend (the past's heads before this call's: present_key and
 * present_value when named). past_sequence_length, cache_indirection,
 * the qk output, a key of rank 4 (a past key, BNSH) and a bias with
 * packed inputs (ONNX Runtime's CPU kernel runs no packed input) are
 * refused. */
static int mha(struct ms *s)
{
	struct nctx *c = s->c;
	const Onnx__NodeProto *np = c->np;
	struct attn a = { .form = MASK_NONE, .bias = in_name(s, 5), .mask = in_name(s, 4) };
	int rc = io_count(s, 4);
	if (rc || (rc = a_dim(c, "num_heads", 0, &a.nh)) ||
	    (rc = a_int(c, "unidirectional", 0, &a.uni)) ||
	    (rc = a_float(c, "scale", 0, &a.scale)) ||
	    (rc = filter_value(c, &a.filter)))
		return rc;
	static const char *const cache[] = { "past_sequence_length", "cache_indirection" };
	for (size_t i = 8; i < np->n_input; i++)
		if (*in_name(s, i))
			return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' (%s): not supported", i,
			           in_name(s, i), cache[i - 8]);
	if (np->n_output > 3 && *S(np->output[3]))
		return bad(c, DNNQ_E_UNSUPPORTED, "output 3 '%.80s' (qk): not supported",
		           np->output[3]);
	if (!*in_name(s, 6) != !*in_name(s, 7))
		return bad(c, DNNQ_E_FORMAT, "input %d (%s) is missing: past_key and past_value come "
		           "together", *in_name(s, 6) ? 7 : 6, *in_name(s, 6) ? "past_value" :
		           "past_key");
	if (a.nh < 1)
		return bad(c, DNNQ_E_FORMAT, "attribute 'num_heads' = %lld: positive expected",
		           (long long)a.nh);
	if (a.uni != 0 && a.uni != 1)
		return bad(c, DNNQ_E_RANGE, "attribute 'unidirectional' = %lld: 0 or 1 expected",
		           (long long)a.uni);
	int32_t qi = needed(s, 0, in_name(s, 0), "query"), ki = -1;
	if (qi < 0)
		return qi;
	const struct dnnq_ir_value *qv = &c->m->ir->values[qi];
	const char *q = in_name(s, 0), *k = in_name(s, 1), *v = in_name(s, 2);
	bool packed_qkv = qv->ndim == 5, packed_kv = false;
	int64_t any[5] = { -1, -1, -1, -1, -1 }, last;
	if (!packed_qkv && (rc = mha_input(s, 0, "query", 3, any, &a.hk)))
		return rc;
	if (packed_qkv && *k)
		return bad(c, DNNQ_E_FORMAT, "input 0 '%.80s' (query) [%s] is packed Q, K and V: "
		           "input 1 '%.80s' (key) given too", q, imp_dims_str(qv), k);
	if (!packed_qkv && !*k)
		return bad(c, DNNQ_E_FORMAT, "input 1 (key) is missing (query [%s] is not packed)",
		           imp_dims_str(qv));
	if (*k && (ki = imp_lookup(c->m, k, c->who)) < 0)
		return ki == DNNQ_E_NOMEM ? ki : DNNQ_E_FORMAT;
	packed_kv = ki >= 0 && c->m->ir->values[ki].ndim == 5;
	if ((packed_qkv || packed_kv) && *v)
		return bad(c, DNNQ_E_FORMAT, "input 2 '%.80s' (value) given beside packed %s", v,
		           packed_qkv ? "Q, K and V" : "K and V");
	if ((packed_qkv || packed_kv) && *in_name(s, 3))
		return bad(c, DNNQ_E_UNSUPPORTED, "input 3 '%.80s' (bias) with packed %s: not "
		           "supported (ONNX Runtime's CPU kernel has no packed inputs)", in_name(s, 3),
		           packed_qkv ? "Q, K and V" : "K and V");
	if (packed_qkv || packed_kv) {
		size_t i = packed_qkv ? 0 : 1;
		int64_t want[5] = { -1, -1, a.nh, packed_qkv ? 3 : 2, -1 }, hd;
		if ((rc = mha_input(s, i, packed_qkv ? "packed query, key and value" :
		                    "packed key and value", 5, want, &hd)))
			return rc;
		const struct dnnq_ir_value *pv = &c->m->ir->values[packed_qkv ? qi : ki];
		a.kv_seq = pv->dims[1];
		if (packed_qkv)
			a.hk = a.nh * hd;
		else if (a.hk != a.nh * hd)
			return bad(c, DNNQ_E_FORMAT, "input 1 '%.80s' (packed key and value) [%s]: "
			           "heads of %lld / %lld expected (the query's)", k, imp_dims_str(pv),
			           (long long)a.hk, (long long)a.nh);
		a.hv = a.hk;
		if ((packed_qkv && (rc = unpack(s, 0, 0, "q", &q))) ||
		    (rc = unpack(s, i, packed_qkv ? 1 : 0, "k", &k)) ||
		    (rc = unpack(s, i, packed_qkv ? 2 : 1, "v", &v)))
			return rc;
	} else {
		int64_t kd[3] = { -1, -1, a.hk };
		if (!*v)
			return bad(c, DNNQ_E_FORMAT, "input 2 (value) is missing (key is not packed)");
		if ((rc = mha_input(s, 1, "key", 3, kd, &last)))
			return rc;
		kd[1] = a.kv_seq = c->m->ir->values[ki].dims[1];
		kd[2] = -1;
		if ((rc = mha_input(s, 2, "value", 3, kd, &a.hv)))
			return rc;
	}
	/* the values made since may have moved the table: qv afresh */
	qv = &c->m->ir->values[qi];
	a.seq = packed_qkv ? a.kv_seq : qv->dims[1];
	if (a.hk % a.nh || a.hv % a.nh)
		return bad(c, DNNQ_E_UNSUPPORTED, "hidden sizes %lld (query, key) and %lld (value): "
		           "multiples of num_heads %lld expected", (long long)a.hk, (long long)a.hv,
		           (long long)a.nh);
	if (*in_name(s, 6)) {
		int64_t pk[4] = { -1, a.nh, -1, a.hk / a.nh }, pv[4] = { -1, a.nh, -1, a.hv / a.nh };
		int32_t pi = (rc = mha_input(s, 6, "past_key", 4, pk, &last)) ? rc :
		             imp_lookup(c->m, in_name(s, 6), c->who);
		if (pi < 0)
			return pi;
		pv[2] = a.past = c->m->ir->values[pi].dims[2];
		if ((rc = mha_input(s, 7, "past_value", 4, pv, &last)))
			return rc;
		a.kv_seq += a.past;
		a.past_k = in_name(s, 6);
		a.past_v = in_name(s, 7);
	}
	for (size_t i = 1; i < 3 && i < np->n_output; i++)
		if (*S(np->output[i]))
			*(i == 1 ? &a.present_k : &a.present_v) = np->output[i];
	if (*a.mask && (rc = mask_form(s, 4, a.mask, qi, a.kv_seq, "key_padding_mask", &a.form)))
		return rc;
	if (*a.bias && (rc = attn_bias(s, &a, qi)))
		return rc;
	if (*in_name(s, 3)) {
		int32_t bi = ranked(s, 3, in_name(s, 3), 1, "bias");
		if (bi < 0)
			return bi;
		if (c->m->ir->values[bi].dims[0] != 2 * a.hk + a.hv)
			return bad(c, DNNQ_E_FORMAT, "input 3 '%.80s' (bias) [%s]: [%lld] expected",
			           in_name(s, 3), imp_dims_str(&c->m->ir->values[bi]),
			           (long long)(2 * a.hk + a.hv));
		if ((rc = add_part(s, "q", 0, a.hk, &q)) || (rc = add_part(s, "k", a.hk, a.hk, &k)) ||
		    (rc = add_part(s, "v", 2 * a.hk, a.hv, &v)))
			return rc;
	}
	return attend(s, &a, q, k, v, S(np->output[0]));
}

/* A constant of the model named name, of dtype dt (float32, int32, int8 or
 * uint8) with one element: its value id, the element into *x; -1, *x
 * untouched, when it is not one. The element, not the value: the next
 * lookup may move the values table. */
static int32_t const_one(struct ms *s, const char *name, enum dnnq_ir_dtype dt, double *x)
{
	int32_t id = imp_lookup(s->c->m, name, s->c->who);
	const struct dnnq_ir_value *v = id >= 0 ? &s->c->m->ir->values[id] : NULL;
	if (!v || !v->data || v->dtype != dt || dnnq_ir_numel(v, 1) != 1)
		return -1;
	const void *d = v->data;
	*x = dt == DNNQ_IR_F32 ? *(const float *)d : dt == DNNQ_IR_S32 ? *(const int32_t *)d
	   : dt == DNNQ_IR_S8 ? *(const int8_t *)d : *(const uint8_t *)d;
	return id;
}

/* *v [B, S, kvn H] with each of its kvn heads repeated n / kvn times, as
 * GroupQueryAttention's query head i reads kv head i / (n / kvn):
 * Reshape (NAME:what_kv, to [B, S, kvn, H]), Gather on the heads
 * (NAME:what_rep) and Reshape back (NAME:what_all, [B, S, n H]). */
static int repeat_kv(struct ms *s, const char *what, int64_t n, int64_t kvn, int64_t hd,
                     const char **v)
{
	char w[40];
	int64_t split[4] = { 0, 0, kvn, hd }, merged[3] = { 0, 0, n * hd }, *idx;
	const char *sh, *ix;
	snprintf(w, sizeof w, "%s_kv_shape", what);
	int rc = shape_const(s, w, split, 4, &sh);
	snprintf(w, sizeof w, "%s_kv", what);
	if (rc || (rc = bin(s, "Reshape", w, *v, sh, NULL, v)))
		return rc;
	snprintf(w, sizeof w, "%s_rep_i", what);
	if ((rc = new_const(s, w, DNNQ_IR_S64, 1, &n, (void **)&idx, &ix)))
		return rc;
	for (int64_t i = 0; i < n; i++)
		idx[i] = i / (n / kvn);
	const char *in[2] = { *v, ix };
	Onnx__AttributeProto ax = int_attr("axis", 2);
	snprintf(w, sizeof w, "%s_rep", what);
	if ((rc = step(s, "Gather", w, in, 2, &ax, v)))
		return rc;
	snprintf(w, sizeof w, "%s_all_shape", what);
	if ((rc = shape_const(s, w, merged, 3, &sh)))
		return rc;
	snprintf(w, sizeof w, "%s_all", what);
	return bin(s, "Reshape", w, *v, sh, NULL, v);
}

/* GroupQueryAttention's output k (present_key, present_value), when
 * named: the keys or values x [B, S, kvn H] of this prompt as the cache
 * holds them, [B, kvn, S, H] (Reshape NAME:what, Transpose
 * NAME:what_t, into the output). */
static int present(struct ms *s, size_t k, const char *what, const char *x, int64_t kvn,
                   int64_t hd)
{
	const char *o = k < s->c->np->n_output ? S(s->c->np->output[k]) : "";
	if (!*o)
		return 0;
	char w[40], name[200];
	int64_t split[4] = { 0, 0, kvn, hd }, perm[4] = { 0, 2, 1, 3 };
	const char *sh;
	snprintf(w, sizeof w, "%s_shape", what);
	int rc = shape_const(s, w, split, 4, &sh);
	if (rc || (rc = bin(s, "Reshape", what, x, sh, NULL, &x)))
		return rc;
	Onnx__AttributeProto pa = perm_attr(perm), *pp = &pa;
	snprintf(name, sizeof name, "%s:%s_t", s->c->name, what);
	return sub(s, "Transpose", name, &x, 1, &pp, 1, o);
}

/* Node op (NAME:what) of inputs in (n) and attribute a into a value made
 * here, or, out given, node NAME into out; *v names the value. */
static int last_step(struct ms *s, const char *op, const char *what, const char *const *in,
                     size_t n, Onnx__AttributeProto *a, const char *out, const char **v)
{
	if (!out)
		return step(s, op, what, in, n, a, v);
	*v = out;
	return sub(s, op, s->c->name, in, n, a ? &a : NULL, a ? 1 : 0, out);
}

/* x's last axis gathered by the constant indices idx (n of them;
 * NAME:what_i): NAME:what, or NAME into out. */
static int gather_last(struct ms *s, const char *what, const char *x, const int64_t *idx,
                       int64_t n, const char *out, const char **v)
{
	char w[40];
	snprintf(w, sizeof w, "%s_i", what);
	const char *in[2] = { x, "" };
	Onnx__AttributeProto ax = int_attr("axis", -1);
	int rc = shape_const(s, w, idx, n, &in[1]);
	return rc ? rc : last_step(s, "Gather", what, in, 2, &ax, out, v);
}

/* The rows of RotaryEmbedding's cos or sin cache (input i, NAME:what) at
 * the positions pos, Reshaped (NAME:what_b, its shape NAME:what_bs) to
 * broadcast against the heads: shape (n values; none: as they are). */
static int rope_rows(struct ms *s, size_t i, const char *what, const char *pos,
                     const int64_t *shape, int64_t n, const char **v)
{
	char w[40];
	snprintf(w, sizeof w, "%s_bs", what);
	const char *sh;
	int rc = bin(s, "Gather", what, in_name(s, i), pos, NULL, v);
	if (rc || !n || (rc = shape_const(s, w, shape, n, &sh)))
		return rc;
	snprintf(w, sizeof w, "%s_b", what);
	return bin(s, "Reshape", w, *v, sh, NULL, v);
}

/* What rope rotates: its nodes' name prefix ("", "q_", "k_"),
 * interleaved, the rotary dim r, the head size hs and heads n of input
 * [B, S, n hs] or (bnsh) [B, n, S, hs]. */
struct rope {
	const char *pre;
	int64_t inter, r, hs, n;
	bool bnsh;
};

/* pre what, in buf (48 bytes). */
static const char *pre_name(char *buf, const char *pre, const char *what)
{
	snprintf(buf, 48, "%s%s", pre, what);
	return buf;
}

/* x rotated by the cos and sin rows cs, sn (broadcasting against its
 * heads) as RotaryEmbedding computes it (rotary, below: the nodes NAME:
 * pre heads, pre perm, ...) into y (node NAME), or (y NULL) a value made
 * here (NAME:pre rope); *v names it. */
static int rope(struct ms *s, const struct rope *p, const char *x, const char *cs,
                const char *sn, const char *y, const char **v)
{
	struct nctx *c = s->c;
	char b[48], name[200];
	int64_t hs = p->hs, half = p->r / 2, heads4[4] = { 0, 0, p->n, hs },
	        merged[3] = { 0, 0, p->n * hs }, *perm = NULL, *inv = NULL;
	const char *part[3], *a, *t = x;
	int rc = 0;
	/* interleaved, perm and inv become constants (gather_last): within
	 * their budget before they are allocated */
	if (p->inter && (size_t)hs > IMP_MAX_CONST_BYTES / (2 * sizeof *perm))
		return bad(c, DNNQ_E_RANGE, "interleaved heads of %lld values: at most %zu "
		           "supported (the constants' limit of %zu bytes)", (long long)hs,
		           IMP_MAX_CONST_BYTES / (2 * sizeof *perm), IMP_MAX_CONST_BYTES);
	if (!p->bnsh && ((rc = shape_const(s, pre_name(b, p->pre, "heads_shape"), heads4, 4, &a)) ||
	                 (rc = bin(s, "Reshape", pre_name(b, p->pre, "heads"), t, a, NULL, &t))))
		return rc;
	if (p->inter) {
		if (!(perm = malloc(2 * (size_t)hs * sizeof *perm)))
			return DNNQ_E_NOMEM;
		inv = perm + hs;
		for (int64_t i = 0; i < hs; i++) {
			perm[i] = i >= p->r ? i : i < half ? 2 * i : 2 * (i - half) + 1;
			inv[perm[i]] = i;
		}
		rc = gather_last(s, pre_name(b, p->pre, "perm"), t, perm, hs, NULL, &t);
	}
	int64_t sizes[3] = { half, half, hs - p->r }, np3 = p->r < hs ? 3 : 2;
	Onnx__AttributeProto ax = int_attr("axis", -1), *axp = &ax;
	int64_t was = c->m->opset;
	c->m->opset = 13;
	if (!rc && !(rc = shape_const(s, pre_name(b, p->pre, "split_sizes"), sizes, np3, &a)) &&
	    !(rc = made_name(s, pre_name(b, p->pre, "x1"), &part[0])) &&
	    !(rc = made_name(s, pre_name(b, p->pre, "x2"), &part[1])) &&
	    !(np3 == 3 && (rc = made_name(s, pre_name(b, p->pre, "rest"), &part[2])))) {
		const char *in[2] = { t, a };
		snprintf(name, sizeof name, "%s:%ssplit", c->name, p->pre);
		rc = sub_n(s, "Split", name, in, 2, &axp, 1, part, (size_t)np3);
	}
	if (rc || (rc = bin(s, "Mul", pre_name(b, p->pre, "x1c"), part[0], cs, NULL, &a)) ||
	    (rc = bin(s, "Mul", pre_name(b, p->pre, "x2s"), part[1], sn, NULL, &t)) ||
	    (rc = bin(s, "Sub", pre_name(b, p->pre, "r1"), a, t, NULL, &a)) ||
	    (rc = bin(s, "Mul", pre_name(b, p->pre, "x2c"), part[1], cs, NULL, &t)) ||
	    (rc = bin(s, "Mul", pre_name(b, p->pre, "x1s"), part[0], sn, NULL, &cs)) ||
	    (rc = bin(s, "Add", pre_name(b, p->pre, "r2"), t, cs, NULL, &t)))
		goto out;
	part[0] = a;
	part[1] = t;
	bool done = p->bnsh && !p->inter;
	if ((rc = last_step(s, "Concat", pre_name(b, p->pre, "rot"), part, (size_t)np3, &ax,
	                    done ? y : NULL, v)) || done ||
	    (p->inter && (rc = gather_last(s, pre_name(b, p->pre, "unperm"), *v, inv, hs,
	                                   p->bnsh ? y : NULL, v))) ||
	    p->bnsh || (rc = shape_const(s, pre_name(b, p->pre, "shape"), merged, 3, &a)))
		goto out;
	rc = bin(s, "Reshape", y ? "" : pre_name(b, p->pre, "rope"), *v, a, y, v);
out:
	c->m->opset = was;
	free(perm);
	return rc;
}

/* Inputs i and i + 1, a rotary embedding's cos and sin caches: float
 * constants [max positions, R / 2] of one shape (its dims into *max and
 * *half), or the problem recorded. */
static int rope_caches(struct ms *s, size_t i, int64_t *max, int64_t *half)
{
	const struct dnnq_ir_value *v[2];
	int32_t id[2];
	for (size_t k = 0; k < 2; k++)
		if ((id[k] = needed(s, i + k, in_name(s, i + k), k ? "sin_cache" : "cos_cache")) < 0)
			return id[k];
	for (size_t k = 0; k < 2; k++) {
		/* after both lookups (an initializer's may move the table) */
		v[k] = &s->c->m->ir->values[id[k]];
		if (!v[k]->data || v[k]->dtype != DNNQ_IR_F32 || v[k]->ndim != 2 ||
		    v[k]->dims[0] != v[0]->dims[0] || v[k]->dims[1] != v[0]->dims[1])
			return bad(s->c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' (%s) [%s]: a float "
			           "constant [max positions, rotary dim / 2] (as input %zu) supported",
			           i + k, in_name(s, i + k), k ? "sin_cache" : "cos_cache",
			           imp_dims_str(v[k]), i);
	}
	*max = v[0]->dims[0];
	*half = v[0]->dims[1];
	return 0;
}

/* RotaryEmbedding (input [B, S, N H] or [B, N, S, H], position_ids [B, S]
 * (int64: a graph input's are int32, "Token ids") or a constant offset of one value, cos_cache and sin_cache
 * [max positions, R / 2] constants; interleaved, rotary_embedding_dim R
 * (0: H = 2 * the caches' columns), num_heads, scale (ONNX Runtime's CPU
 * kernel does not read it), is_packed_batching 0) as ONNX Runtime's CPU
 * kernel computes it: a 3-D input Reshaped to heads [B, S, N, H]
 * (NAME:heads); interleaved, the first R of each head's values reordered
 * evens first (Gather NAME:perm) so that both forms rotate halves; Split
 * (NAME:split) into x1, x2 (R / 2 each) and the rest (NAME:x1, :x2,
 * :rest); the caches' rows at the positions (NAME:cos, NAME:sin, Reshaped
 * NAME:cos_b, NAME:sin_b; a constant offset: the positions offset + 0 ..
 * S - 1, NAME:pos, folded); x1 cos - x2 sin (NAME:x1c, :x2s, :r1), x2 cos
 * + x1 sin (NAME:x2c, :x1s, :r2), Concat with the rest (NAME:rot), the
 * order back (Gather NAME:unperm) and the input's shape (NAME). */
static int rotary(struct ms *s)
{
	struct nctx *c = s->c;
	int64_t inter, rdim, nh, packed;
	float scale;
	int rc = io_count(s, 1);
	if (rc || (rc = a_int(c, "interleaved", 0, &inter)) ||
	    (rc = a_dim(c, "rotary_embedding_dim", 0, &rdim)) ||
	    (rc = a_dim(c, "num_heads", 0, &nh)) || (rc = a_int(c, "is_packed_batching", 0, &packed)) ||
	    (rc = a_float(c, "scale", 1.0f, &scale)))
		return rc;
	if (inter != 0 && inter != 1)
		return bad(c, DNNQ_E_RANGE, "attribute 'interleaved' = %lld: 0 or 1 expected",
		           (long long)inter);
	if (packed)
		return bad(c, DNNQ_E_UNSUPPORTED, "attribute 'is_packed_batching' = %lld: 0 supported",
		           (long long)packed);
	if (rdim < 0 || nh < 0 || (rdim > 0 && !nh))
		return bad(c, DNNQ_E_FORMAT, "attributes 'rotary_embedding_dim' = %lld, 'num_heads' = "
		           "%lld: not negative, and num_heads given with rotary_embedding_dim",
		           (long long)rdim, (long long)nh);
	int32_t id[2];
	int64_t half = 0, max = 0;
	for (size_t i = 0; i < 2; i++)
		if ((id[i] = needed(s, i, in_name(s, i), i ? "position_ids" : "input")) < 0)
			return id[i];
	if ((rc = rope_caches(s, 2, &max, &half)))
		return rc;
	/* after the caches' lookups (an initializer's may move the table) */
	const struct dnnq_ir_value *x = &c->m->ir->values[id[0]], *p = &c->m->ir->values[id[1]];
	bool bnsh = x->ndim == 4;
	if (x->ndim != 3 && !bnsh)
		return bad(c, DNNQ_E_FORMAT, "input 0 '%.80s' [%s]: rank 3 or 4 expected",
		           in_name(s, 0), imp_dims_str(x));
	int64_t seq = x->dims[bnsh ? 2 : 1], hidden = bnsh ? x->dims[1] * x->dims[3] : x->dims[2];
	int64_t hs = rdim ? hidden / nh : 2 * half, r = rdim ? rdim : hs, n = nh ? nh : hs ? hidden / hs : 0;
	if (!hs || !n || hidden % hs || hidden / hs != n || r > hs || r != 2 * half ||
	    (bnsh && (x->dims[1] != n || x->dims[3] != hs)))
		return bad(c, DNNQ_E_FORMAT, "input 0 '%.80s' [%s], caches [%lld, %lld], num_heads "
		           "%lld, rotary_embedding_dim %lld: heads of size H, the rotary dim 2 x the "
		           "caches' columns and at most H expected", in_name(s, 0), imp_dims_str(x),
		           (long long)max, (long long)half, (long long)nh, (long long)rdim);
	const char *pos = in_name(s, 1), *y = S(c->np->output[0]);
	int64_t shape[4] = { 0, 0, 1, half }, ns = 4;
	if (dnnq_ir_numel(p, 1) == 1 && p->ndim <= 1 && !p->batched) {
		int64_t *q;
		if (!p->data || p->dtype != DNNQ_IR_S64 || *(const int64_t *)p->data < 0 ||
		    *(const int64_t *)p->data > max - seq)
			return bad(c, DNNQ_E_UNSUPPORTED, "input 1 '%.80s' (position_ids): an offset "
			           "must be an int64 constant from 0 to %lld (the cache's %lld positions "
			           "less the sequence's %lld)", pos, (long long)(max - seq),
			           (long long)max, (long long)seq);
		int64_t off = *(const int64_t *)p->data;
		if ((rc = new_const(s, "pos", DNNQ_IR_S64, 1, &seq, (void **)&q, &pos)))
			return rc;
		for (int64_t i = 0; i < seq; i++)
			q[i] = off + i;
		shape[0] = seq;     /* the rows [S, R / 2]: [S, 1, R / 2] against [B, S, N, H] */
		ns = bnsh ? 0 : 3;
	} else if (p->ndim != 2 || p->dims[1] != seq ||
	           (p->dtype != DNNQ_IR_S64 && p->dtype != DNNQ_IR_S32)) {
		return bad(c, DNNQ_E_FORMAT, "input 1 '%.80s' (position_ids) [%s] %s: [batch, %lld] "
		           "of int64, or one value, expected", pos, imp_dims_str(p),
		           dnnq_ir_dtype_name(p->dtype), (long long)seq);
	} else if (bnsh) {
		shape[1] = 1;       /* [B, S, R / 2] against [B, N, S, H] */
		shape[2] = seq;
	}
	const char *cs, *sn;
	struct rope rp = { .pre = "", .inter = inter, .r = r, .hs = hs, .n = n, .bnsh = bnsh };
	if ((rc = rope_rows(s, 2, "cos", pos, shape, ns, &cs)) ||
	    (rc = rope_rows(s, 3, "sin", pos, shape, ns, &sn)))
		return rc;
	return rope(s, &rp, in_name(s, 0), cs, sn, y, &cs);
}

/* What GroupQueryAttention computes beyond attend's: the query's S
 * positions, total_sequence_length, the cache's past P and present Tp
 * rows, the key-value heads kvn of hd values, rotary_interleaved, and
 * seqlens_k when a cache precedes the query (NULL: the first prompt). */
struct gqa {
	int64_t seq, total, past, present, kvn, hd, inter;
	const char *sl;
};

/* position_ids (input 9, when given: the rotary's positions) [B, S] of
 * int64 or int32, or the problem recorded. */
static int gqa_positions(struct ms *s, int64_t seq)
{
	const char *p = in_name(s, 9);
	int32_t id = *p ? ranked(s, 9, p, 2, "position_ids") : 0;
	if (!*p || id < 0)
		return id;
	const struct dnnq_ir_value *v = &s->c->m->ir->values[id];
	if (v->dims[1] != seq || (v->dtype != DNNQ_IR_S64 && v->dtype != DNNQ_IR_S32))
		return bad(s->c, DNNQ_E_FORMAT, "input 9 '%.80s' (position_ids) [%s] %s: [batch, %lld] "
		           "of int64 expected", p, imp_dims_str(v), dnnq_ir_dtype_name(v->dtype),
		           (long long)seq);
	return 0;
}

/* GroupQueryAttention's do_rotary: q (n heads) and k (kvn heads) rotated
 * as RotaryEmbedding does (rope: NAME:q_heads ... NAME:q_rope, NAME:k_...)
 * by the caches (inputs 7, 8; rows NAME:cos, NAME:sin, NAME:cos_b,
 * NAME:sin_b) at position_ids (input 9) when given, else the positions
 * ONNX Runtime gives them: 0 .. S - 1 for the first prompt (the constant
 * NAME:pos), else item b's past length seqlens_k[b] + 1 - S + 0 .. S - 1
 * (Cast NAME:pos_sl, Reshape NAME:pos_sl2, Add of the constant
 * NAME:pos_k: NAME:pos); the caches
 * hold total_sequence_length positions or more, the rotary dim twice
 * their columns, at most hd. */
static int gqa_rotary(struct ms *s, const struct gqa *g, int64_t n, const char **q,
                      const char **k)
{
	int64_t max = 0, half = 0, *p, seq = g->seq, hd = g->hd;
	int rc = rope_caches(s, 7, &max, &half);
	if (rc)
		return rc;
	if (g->total > max || 2 * half > hd || !half)
		return bad(s->c, DNNQ_E_FORMAT, "inputs 7, 8 (cos_cache, sin_cache) [%lld, %lld]: %lld "
		           "positions (total_sequence_length) and a rotary dim of at most the heads' "
		           "%lld expected", (long long)max, (long long)half, (long long)g->total,
		           (long long)hd);
	const char *pos = in_name(s, 9), *cs, *sn, *t;
	int64_t shape[4] = { 0, 0, 1, half }, ns = 4, two[2] = { 0, 1 };
	if (!*pos && (rc = new_const(s, g->sl ? "pos_k" : "pos", DNNQ_IR_S64, 1, &seq, (void **)&p,
	                             &pos)))
		return rc;
	for (int64_t i = 0; !*in_name(s, 9) && i < seq; i++)
		p[i] = g->sl ? i + 1 - seq : i;
	if (!*in_name(s, 9) && !g->sl) {
		shape[0] = seq;         /* [S, R / 2] to [S, 1, R / 2] */
		shape[1] = 1;
		shape[2] = half;
		ns = 3;
	} else if (!*in_name(s, 9)) {
		Onnx__AttributeProto to = int_attr("to", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
		if ((rc = step(s, "Cast", "pos_sl", &g->sl, 1, &to, &t)) ||
		    (rc = shape_const(s, "pos_sl2_shape", two, 2, &cs)) ||
		    (rc = bin(s, "Reshape", "pos_sl2", t, cs, NULL, &t)) ||
		    (rc = bin(s, "Add", "pos", t, pos, NULL, &pos)))
			return rc;
	}
	struct rope rq = { .pre = "q_", .inter = g->inter, .r = 2 * half, .hs = hd, .n = n },
	            rk = { .pre = "k_", .inter = g->inter, .r = 2 * half, .hs = hd, .n = g->kvn };
	if ((rc = rope_rows(s, 7, "cos", pos, shape, ns, &cs)) ||
	    (rc = rope_rows(s, 8, "sin", pos, shape, ns, &sn)) ||
	    (rc = rope(s, &rq, *q, cs, sn, NULL, q)))
		return rc;
	return rope(s, &rk, *k, cs, sn, NULL, k);
}

/* GroupQueryAttention after a cache: *v [B, S, kvn hd] (keys: what
 * "k", input 3 their past, output 1 their present; values "v", 4, 2)
 * placed as ONNX Runtime places them, at rows pb .. pb + S - 1 of item
 * b's cache, pb its past length seqlens_k[b] + 1 - S (the float *pb
 * [B, 1, 1, 1], gqa_rows): the past's rows t < pb kept, the others 0
 * (the past Padded to Tp rows NAME:what_past_pad; Where NAME:what_past of
 * NAME:cache_keep and the constant NAME:what_zero),
 * this call's rows added (its heads NAME:what_h, MatMul NAME:what_new by
 * NAME:cache_sel), into the present (NAME:present_what when not named),
 * [B, kvn, Tp, hd], rows past the item's keys 0 as ONNX Runtime's; then
 * each kv head repeated for its n / kvn query heads (Gather
 * NAME:what_rep on axis 1, of NAME:what_rep_i): *v [B, n, Tp, hd]. */
static int gqa_cached(struct ms *s, const struct gqa *g, const char *what, int64_t n,
                      const char *keep, const char *sel, const char **v)
{
	char w[40];
	int64_t split[4] = { 0, 0, g->kvn, g->hd }, to_heads[4] = { 0, 2, 1, 3 };
	size_t k = what[0] == 'k' ? 0 : 1;
	const char *t, *pt, *out = k + 1 < s->c->np->n_output ? S(s->c->np->output[k + 1]) : "";
	const char *past = in_name(s, 3 + k);
	int rc;
	snprintf(w, sizeof w, "%s_h", what);
	if ((rc = heads(s, w, *v, split, to_heads, &t)))
		return rc;
	snprintf(w, sizeof w, "%s_new", what);
	if ((rc = bin(s, "MatMul", w, sel, t, NULL, &t)))
		return rc;
	if (g->past < g->present) {
		int64_t pads[8] = { 0, 0, 0, 0, 0, 0, g->present - g->past, 0 };
		snprintf(w, sizeof w, "%s_past_pads", what);
		if ((rc = shape_const(s, w, pads, 8, &pt)))
			return rc;
		snprintf(w, sizeof w, "%s_past_pad", what);
		if ((rc = bin(s, "Pad", w, past, pt, NULL, &past)))
			return rc;
	}
	/* Where, not Mul: the rows past an item's are not read (a buffer's
	 * garbage, inf or NaN, stays out as ONNX Runtime keeps it out) */
	const char *in[3] = { keep, past, "" };
	float *zero;
	snprintf(w, sizeof w, "%s_zero", what);
	if ((rc = new_const(s, w, DNNQ_IR_F32, 0, &n, (void **)&zero, &in[2])))
		return rc;
	*zero = 0;
	snprintf(w, sizeof w, "%s_past", what);
	if ((rc = step(s, "Where", w, in, 3, NULL, &pt)))
		return rc;
	snprintf(w, sizeof w, "present_%s", what);
	if ((rc = bin(s, "Add", w, pt, t, *out ? out : NULL, v)) || n == g->kvn)
		return rc;
	int64_t *idx;
	snprintf(w, sizeof w, "%s_rep_i", what);
	if ((rc = new_const(s, w, DNNQ_IR_S64, 1, &n, (void **)&idx, &t)))
		return rc;
	for (int64_t i = 0; i < n; i++)
		idx[i] = i / (n / g->kvn);
	in[0] = *v;
	in[1] = t;
	Onnx__AttributeProto ax = int_attr("axis", 1);
	snprintf(w, sizeof w, "%s_rep", what);
	return step(s, "Gather", w, in, 2, &ax, v);
}

/* The cache's row selectors of GroupQueryAttention after a cache: item
 * b's past length pb = seqlens_k[b] + 1 - S (Cast NAME:past_len, Reshape
 * NAME:past_len4 [B, 1, 1, 1], Add NAME:past_end), the past's rows kept,
 * t < pb (the constant t NAME:cache_pos [Tp, 1], Less *keep
 * NAME:cache_keep), and where this call's row j goes, t - j == pb (the
 * constant NAME:cache_shift [Tp, S], Equal NAME:cache_at, Cast *sel
 * NAME:cache_sel [B, 1, Tp, S]). */
static int gqa_rows(struct ms *s, const struct gqa *g, const char **keep, const char **sel)
{
	int64_t four[4] = { 0, 1, 1, 1 }, tp[2] = { g->present, 1 }, ts[2] = { g->present, g->seq };
	Onnx__AttributeProto to = int_attr("to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
	const char *pb, *sh, *pos;
	float *p;
	int rc;
	if ((rc = step(s, "Cast", "past_len", &g->sl, 1, &to, &pb)) ||
	    (rc = shape_const(s, "past_len4_shape", four, 4, &sh)) ||
	    (rc = bin(s, "Reshape", "past_len4", pb, sh, NULL, &pb)) ||
	    (rc = bin_k(s, "Add", "past_end", pb, (float)(1 - g->seq), NULL, &pb)) ||
	    (rc = new_const(s, "cache_pos", DNNQ_IR_F32, 2, tp, (void **)&p, &pos)))
		return rc;
	for (int64_t t = 0; t < g->present; t++)
		p[t] = (float)t;
	if ((rc = bin(s, "Less", "cache_keep", pos, pb, NULL, keep)) ||
	    (rc = new_const(s, "cache_shift", DNNQ_IR_F32, 2, ts, (void **)&p, &pos)))
		return rc;
	for (int64_t i = 0; i < g->present * g->seq; i++)
		p[i] = (float)(i / g->seq - i % g->seq);
	if ((rc = bin(s, "Equal", "cache_at", pos, pb, NULL, sel)))
		return rc;
	return step(s, "Cast", "cache_sel", sel, 1, &to, sel);
}

/* GroupQueryAttention: query [B, S, n H], key and value [B, S, kvn H]
 * (or packed into the query [B, S, (n + 2 kvn) H]: Split NAME:split into
 * NAME:q, :k, :v); [past_key, past_value [B, kvn, P, H]]; seqlens_k [B]
 * (each item's length less one), a constant total_sequence_length T of
 * at least S; num_heads, kv_num_heads, scale, causal 1,
 * local_window_size (each query sees that many keys, its own the last;
 * -1 or 0: all); do_rotary (gqa_rotary). As ONNX Runtime's CPU kernel:
 * S == T is the first prompt, which reads no past (P at most S): K and V
 * repeated per group (repeat_kv), then attend, unidirectional (the
 * window in its causal constant), of the seqlens_k mask (NAME:maskf,
 * :mask_len, :mask_pos of -1 .. L - 2, :mask_keep ...: keys past
 * seqlens_k get -10000; the rows past an item's length, unspecified,
 * read its keys 0 .. seqlens_k), present_key and present_value this
 * prompt's keys and values (present). S < T follows a cache: item b's
 * past is its first seqlens_k[b] + 1 - S rows, this call's keys the next
 * S (gqa_rows, gqa_cached: the presents, [B, kvn, max(T, P), H]), attend
 * of those heads (bnsh) and the MASK_PAST mask (causal and window by
 * item). Softcap, smooth softmax, the qk output, a quantized cache,
 * attention_bias, head_sink and the Q / K norms are refused. */
static int gqa(struct ms *s)
{
	struct nctx *c = s->c;
	const Onnx__NodeProto *np = c->np;
	struct attn a = { .form = MASK_SEQLENS, .mask = in_name(s, 5), .bias = "", .uni = 1,
	                  .filter = -10000.0f };
	int64_t kvn, rot, inter, win, smooth, qko, causal, sws;
	float softcap;
	char kq[16], vq[16];
	int rc = io_count(s, 4);
	if (rc || (rc = a_dim(c, "num_heads", 0, &a.nh)) ||
	    (rc = a_dim(c, "kv_num_heads", 0, &kvn)) || (rc = a_float(c, "scale", 0, &a.scale)) ||
	    (rc = a_float(c, "softcap", 0, &softcap)) || (rc = a_int(c, "do_rotary", 0, &rot)) ||
	    (rc = a_int(c, "rotary_interleaved", 0, &inter)) ||
	    (rc = a_dim(c, "local_window_size", -1, &win)) ||
	    (rc = a_int(c, "smooth_softmax", -1, &smooth)) ||
	    (rc = a_int(c, "qk_output", 0, &qko)) || (rc = a_int(c, "causal", 1, &causal)) ||
	    (rc = a_int(c, "sliding_window_cache", 0, &sws)) ||
	    (rc = a_str(c, "k_quant_type", "NONE", kq, sizeof kq)) ||
	    (rc = a_str(c, "v_quant_type", "NONE", vq, sizeof vq)))
		return rc;
	static const char *const names[] = { "smooth_softmax", "qk_output", "causal",
	                                     "sliding_window_cache" };
	const int64_t got[] = { smooth, qko, causal, sws }, ok[] = { 0, 0, 1, 0 };
	if ((rot != 0 && rot != 1) || (inter != 0 && inter != 1))
		return bad(c, DNNQ_E_RANGE, "attribute '%s' = %lld: 0 or 1 expected",
		           rot != 0 && rot != 1 ? "do_rotary" : "rotary_interleaved",
		           (long long)(rot != 0 && rot != 1 ? rot : inter));
	for (size_t i = 0; i < sizeof got / sizeof got[0]; i++)
		if (got[i] != ok[i] && !(i == 0 && got[i] == -1))
			return bad(c, DNNQ_E_UNSUPPORTED, "attribute '%s' = %lld: only %lld supported",
			           names[i], (long long)got[i], (long long)ok[i]);
	if (softcap != 0 || strcmp(kq, "NONE") || strcmp(vq, "NONE"))
		return bad(c, DNNQ_E_UNSUPPORTED, "attribute '%s': only %s supported",
		           softcap != 0 ? "softcap" : strcmp(kq, "NONE") ? "k_quant_type" :
		           "v_quant_type", softcap != 0 ? "0" : "NONE");
	static const char *const extra[] = { "cos_cache", "sin_cache", "position_ids",
	                                     "attention_bias", "head_sink", "k_scale", "v_scale",
	                                     "q_norm_weight", "k_norm_weight" };
	/* the caches, needed by do_rotary 1; position_ids, read by it only */
	for (size_t i = 7; i < np->n_input; i++)
		if (*in_name(s, i) ? !rot || i > 9 : rot && i < 9)
			return bad(c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' (%s): %s", i, in_name(s, i),
			           extra[i - 7], i < 9 ? "given with do_rotary 1 only, and then needed" :
			           i == 9 ? "read with do_rotary 1 only" : "not supported");
	if (rot && np->n_input < 9)
		return bad(c, DNNQ_E_FORMAT, "do_rotary 1 without inputs 7 and 8 (cos_cache, "
		           "sin_cache)");
	if (np->n_output > 3 && *S(np->output[3]))
		return bad(c, DNNQ_E_UNSUPPORTED, "output 3 '%.80s' (output_qk): not supported",
		           np->output[3]);
	if (a.nh < 1 || kvn < 1 || a.nh % kvn)
		return bad(c, DNNQ_E_FORMAT, "attributes 'num_heads' = %lld, 'kv_num_heads' = %lld: "
		           "positive, num_heads a multiple of kv_num_heads expected", (long long)a.nh,
		           (long long)kvn);
	const char *q = in_name(s, 0), *k = in_name(s, 1), *v = in_name(s, 2);
	bool packed = !*k;
	if (packed != !*v)
		return bad(c, DNNQ_E_FORMAT, "input %d (%s) is missing: key and value come together",
		           *k ? 2 : 1, *k ? "value" : "key");
	int64_t any[3] = { -1, -1, -1 }, width, hd;
	if ((rc = mha_input(s, 0, "query", 3, any, &width)))
		return rc;
	int32_t qi = imp_lookup(c->m, q, c->who);
	a.seq = a.kv_seq = c->m->ir->values[qi].dims[1];
	hd = width / (packed ? a.nh + 2 * kvn : a.nh);
	if (hd < 1 || width != hd * (packed ? a.nh + 2 * kvn : a.nh))
		return bad(c, DNNQ_E_FORMAT, "input 0 '%.80s' (query): its %lld values not heads of "
		           "%lld query and %lld key-value heads", q, (long long)width, (long long)a.nh,
		           (long long)kvn);
	int64_t kd[3] = { -1, a.seq, kvn * hd };
	if (!packed && ((rc = mha_input(s, 1, "key", 3, kd, &width)) ||
	                (rc = mha_input(s, 2, "value", 3, kd, &width))))
		return rc;
	struct gqa g = { .seq = a.seq, .kvn = kvn, .hd = hd, .inter = inter };
	if ((rc = gqa_positions(s, a.seq)))
		return rc;
	if (!*in_name(s, 3) != !*in_name(s, 4))
		return bad(c, DNNQ_E_FORMAT, "input %d (%s) is missing: past_key and past_value come "
		           "together", *in_name(s, 3) ? 4 : 3, *in_name(s, 3) ? "past_value" :
		           "past_key");
	for (size_t i = 3; i < 5 && *in_name(s, i); i++) {
		int64_t want[4] = { -1, kvn, i == 3 ? -1 : g.past, hd };
		int32_t id = (rc = mha_input(s, i, i == 3 ? "past_key" : "past_value", 4, want,
		                             &width)) ? rc : imp_lookup(c->m, in_name(s, i), c->who);
		if (id < 0)
			return id;
		g.past = c->m->ir->values[id].dims[2];
	}
	double total;
	if (const_one(s, in_name(s, 6), DNNQ_IR_S32, &total) < 0 || total < a.seq)
		return bad(c, DNNQ_E_UNSUPPORTED, "input 6 '%.80s' (total_sequence_length): a "
		           "constant of at least the query's sequence %lld expected (--input-value "
		           "freezes an input)", in_name(s, 6), (long long)a.seq);
	g.total = (int64_t)total;
	g.present = g.total > g.past ? g.total : g.past;
	/* ONNX Runtime's first prompt (S == total_sequence_length) reads no
	 * past, and writes its S keys at rows 0 .. S - 1 of a present of max(
	 * total, past) rows */
	if (g.total == a.seq && g.past > a.seq)
		return bad(c, DNNQ_E_UNSUPPORTED, "input 3 '%.80s' (past_key): a prompt (%lld "
		           "positions, total_sequence_length) after a cache of %lld rows: not "
		           "supported (at most the prompt's)", in_name(s, 3), (long long)a.seq,
		           (long long)g.past);
	if (g.total > a.seq && !*in_name(s, 3))
		return bad(c, DNNQ_E_FORMAT, "input 6 '%.80s' (total_sequence_length) %lld: a query "
		           "of %lld positions after a cache without inputs 3 and 4 (past_key, "
		           "past_value)", in_name(s, 6), (long long)g.total, (long long)a.seq);
	a.win = win > 0 ? win : 0;
	enum mask_form form;
	if ((rc = mask_form(s, 5, a.mask, qi, a.kv_seq, "seqlens_k", &form)))
		return rc;
	if (form != MASK_LENGTHS)
		return bad(c, DNNQ_E_FORMAT, "input 5 '%.80s' (seqlens_k): [batch] expected", a.mask);
	if (packed) {
		const char *parts[3], *sz;
		int64_t sizes[3] = { a.nh * hd, kvn * hd, kvn * hd };
		Onnx__AttributeProto ax = int_attr("axis", -1), *axp = &ax;
		char name[200];
		snprintf(name, sizeof name, "%s:split", c->name);
		int64_t was = c->m->opset;
		if ((rc = shape_const(s, "split_sizes", sizes, 3, &sz)) ||
		    (rc = made_name(s, "q", &parts[0])) || (rc = made_name(s, "k", &parts[1])) ||
		    (rc = made_name(s, "v", &parts[2])))
			return rc;
		const char *in[2] = { q, sz };
		c->m->opset = 13;
		rc = sub_n(s, "Split", name, in, 2, &axp, 1, parts, 3);
		c->m->opset = was;
		if (rc)
			return rc;
		q = parts[0];
		k = parts[1];
		v = parts[2];
	}
	a.hk = a.hv = a.nh * hd;
	g.sl = g.total > a.seq ? a.mask : NULL;
	if (rot && (rc = gqa_rotary(s, &g, a.nh, &q, &k)))
		return rc;
	if (g.sl) {
		const char *keep, *sel;
		a.form = MASK_PAST;
		a.uni = 0;
		a.kv_seq = g.present;
		a.bnsh = true;
		if ((rc = gqa_rows(s, &g, &keep, &sel)) ||
		    (rc = gqa_cached(s, &g, "k", a.nh, keep, sel, &k)) ||
		    (rc = gqa_cached(s, &g, "v", a.nh, keep, sel, &v)))
			return rc;
		return attend(s, &a, q, k, v, S(np->output[0]));
	}
	if ((rc = present(s, 1, "present_k", k, kvn, hd)) ||
	    (rc = present(s, 2, "present_v", v, kvn, hd)) ||
	    (kvn < a.nh && ((rc = repeat_kv(s, "k", a.nh, kvn, hd, &k)) ||
	                    (rc = repeat_kv(s, "v", a.nh, kvn, hd, &v)))))
		return rc;
	return attend(s, &a, q, k, v, S(np->output[0]));
}

/* EmbedLayerNormalization (input_ids, [segment_ids], word_embedding,
 * position_embedding, [segment_embedding], gamma, beta, [mask],
 * [position_ids]; epsilon, default 1e-12; mask_index_type 1 or 0) as ONNX
 * Runtime's CPU kernel computes it: the word embeddings of the ids
 * (Gather NAME:word), plus the position embeddings (of position_ids, or
 * of 0 .. S - 1: NAME:pos_ids, Gather NAME:pos, Add NAME:sum_wp), plus the
 * segment embeddings of segment_ids, or of segment 0 without them
 * (NAME:segment_ids, Gather NAME:segment, Add NAME:sum), the sum its
 * output 2 (embedding_sum) when named, then LayerNormalization (NAME);
 * segment_ids without segment_embedding are refused, as ONNX Runtime
 * refuses them. Output 1 (mask_index, the count of each row's 1s) is not
 * computed: an Attention reading it (of mask_index_type 1 and a mask)
 * counts the mask itself (attention); anything else reading it is
 * refused. */
static int embed_norm(struct ms *s)
{
	struct nctx *c = s->c;
	const Onnx__NodeProto *np = c->np;
	float eps;
	int64_t mtype;
	int rc = io_count(s, 3);
	if (rc || (rc = a_float(c, "epsilon", 1e-12f, &eps)) ||
	    (rc = a_int(c, "mask_index_type", 1, &mtype)))
		return rc;
	if (mtype != 0 && mtype != 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "attribute 'mask_index_type' = %lld: 0 or 1 "
		           "supported", (long long)mtype);
	const char *w, *p, *g, *pid = in_name(s, 8), *seg = in_name(s, 1), *se = in_name(s, 4);
	if (*seg && !*se)
		return bad(c, DNNQ_E_FORMAT, "input 1 '%.80s' (segment_ids) without input 4 "
		           "(segment_embedding)", seg);
	if ((rc = not_computed(s, 1)))
		return rc;
	int32_t id = ranked(s, 0, in_name(s, 0), 2, "input_ids");
	if (id < 0)
		return id;
	int64_t seq = c->m->ir->values[id].dims[1], *pos;
	const char *sum = np->n_output > 2 && *S(np->output[2]) ? np->output[2] : NULL;
	if (!*pid) {
		if ((rc = new_const(s, "pos_ids", DNNQ_IR_S64, 1, &seq, (void **)&pos, &pid)))
			return rc;
		for (int64_t i = 0; i < seq; i++)
			pos[i] = i;
	}
	if (*se && !*seg) {     /* no segment_ids: every token's segment 0 */
		if ((rc = new_const(s, "segment_ids", DNNQ_IR_S64, 0, &seq, (void **)&pos, &seg)))
			return rc;
		*pos = 0;
	}
	bool segments = *se;
	if ((rc = bin(s, "Gather", "word", in_name(s, 2), in_name(s, 0), NULL, &w)) ||
	    (rc = bin(s, "Gather", "pos", in_name(s, 3), pid, NULL, &p)) ||
	    (rc = bin(s, "Add", segments ? "sum_wp" : "sum", w, p, segments ? NULL : sum, &w)) ||
	    (segments && ((rc = bin(s, "Gather", "segment", se, seg, NULL, &g)) ||
	                  (rc = bin(s, "Add", "sum", w, g, sum, &w)))))
		return rc;
	return layer_norm(s, w, in_name(s, 5), in_name(s, 6), eps, S(np->output[0]));
}

/* ---- standard operators on a quantized tensor ---- */


/* The most nodes that move values (moves) between a direct operator's
 * tensor and the node that quantized it: each direct operator walks them,
 * so a long chain that many read cost their product (4000 Gathers read by
 * 4000 Transposes: 8.6 s of import). */
#define MS_MAX_MOVES 64

/* The engine's kinds of Slice (and Split), Gather and Expand. */
static void moving_kinds(uint32_t kinds[3])
{
	static const char *const names[] = { "slice", "gather", "expand" };
	for (size_t i = 0; i < 3; i++)
		kinds[i] = dnnq_op_find(names[i])->kind;
}

/* Whether IR node n only moves or selects the values of its input 0 (a
 * reshape; an engine node of one of kinds, moving_kinds'). */
static bool moves(const struct dnnq_ir_node *n, const uint32_t kinds[3])
{
	for (size_t i = 0; n->op == DNNQ_IR_ENGINE && i < 3; i++)
		if (n->kind == kinds[i])
			return true;
	return n->op == DNNQ_IR_RESHAPE;
}

/* The names of the scale and zero point ("": none) input i was quantized
 * with by the node producing it (through the nodes that move its values): a QuantizeLinear's, a
 * QLinearConv's or QLinearMatMul's output parameters. */
static int producer_params(struct ms *s, size_t i, const char *out[2])
{
	struct imp *m = s->c->m;
	const char *x = in_name(s, i);
	const struct imp_name *e = imp_find(m, x);
	int32_t id = e && e->kind == IMP_VALUE ? e->idx : -1, si = -1, zi = -1;
	const struct dnnq_ir_node *n = NULL;
	uint32_t kinds[3];
	moving_kinds(kinds);
	for (int hops = 0; id >= 0 && m->ir->values[id].producer >= 0; hops++) {
		n = &m->ir->nodes[m->ir->values[id].producer];
		if (!moves(n, kinds))
			break;
		if (hops == MS_MAX_MOVES)
			return bad(s->c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s': more than %d reshapes, "
			           "Slice, Split, Gather or Expand nodes back to the node that quantized "
			           "it", i, x, MS_MAX_MOVES);
		id = n->inputs[0];
	}
	bool qlinear = n && (n->op == DNNQ_IR_QLINEARCONV || n->op == DNNQ_IR_QLINEARMATMUL);
	if (n && (n->op == DNNQ_IR_QUANTIZE || qlinear)) {
		si = n->inputs[qlinear ? 6 : 1];
		zi = n->ninputs > (qlinear ? 7u : 2u) ? n->inputs[qlinear ? 7 : 2] : -1;
	}
	for (int k = 0; k < 2; k++) {
		int32_t v = k ? zi : si;
		out[k] = v >= 0 ? m->ir->values[v].name : "";
		e = v >= 0 ? imp_find(m, out[k]) : NULL;
		bool named = e && e->kind == IMP_VALUE && e->idx == v;
		if (k ? v >= 0 && !named : !named)
			return bad(s->c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' is uint8 / int8: only "
			           "the output of a QuantizeLinear, QLinearConv or QLinearMatMul "
			           "(through reshapes, Slice, Split, Gather, Expand) is %s, at their "
			           "scale and zero point", i, x,
			           s->d->op[0] == 'M' ? "pooled" : "moved");
	}
	return 0;
}

/* 0 when input k (of a Concat) was quantized at the scale and zero point
 * of input 0 (p, their names), equal in value; the problem recorded
 * otherwise. */
static int same_params(struct ms *s, size_t k, const char *const p[2])
{
	const char *pk[2];
	int rc = producer_params(s, k, pk);
	if (rc)
		return rc;
	const struct dnnq_ir_value *x = s->c->m->ir->values + imp_find(s->c->m, in_name(s, 0))->idx,
	                           *xk = s->c->m->ir->values + imp_find(s->c->m, in_name(s, k))->idx;
	if (xk->dtype != x->dtype)
		return bad(s->c, DNNQ_E_FORMAT, "input %zu '%.80s' is %s, input 0 %s: a Concat's "
		           "inputs are of one type", k, in_name(s, k), dnnq_ir_dtype_name(xk->dtype),
		           dnnq_ir_dtype_name(x->dtype));
	if (!strcmp(p[0], pk[0]) && !strcmp(p[1], pk[1]))
		return 0;
	enum dnnq_ir_dtype dt = x->dtype;   /* x's, before the lookups move the table */
	double z[2] = { 0, 0 }, sc[2] = { NAN, NAN };       /* kept when not constants */
	for (int j = 0; j < 2; j++) {
		const char *const *q = j ? pk : p;
		const_one(s, q[0], DNNQ_IR_F32, &sc[j]);
		if (*q[1])
			const_one(s, q[1], dt, &z[j]);
	}
	return sc[0] == sc[1] && z[0] == z[1] ? 0 :
	       bad(s->c, DNNQ_E_UNSUPPORTED, "input %zu '%.80s' is quantized at another scale or "
	           "zero point than input 0 (a Concat of uint8 / int8 tensors moves the codes: "
	           "QLinearConcat requantizes)", k, in_name(s, k));
}

/* Pad's constant_value (input 2), a code of the tensor's, as the float
 * (code - zero point) * scale (NAME:pad_value) at its parameters p. */
static int pad_value(struct ms *s, const char *const p[2], const char **v)
{
	enum dnnq_ir_dtype dt = s->c->m->ir->values[imp_find(s->c->m, in_name(s, 0))->idx].dtype;
	double code, scale, z = 0;
	int32_t id = const_one(s, in_name(s, 2), dt, &code);
	/* its shape read before the next lookup may move the values table */
	struct dnnq_ir_value like = id >= 0 ? s->c->m->ir->values[id] : (struct dnnq_ir_value){ 0 };
	if (id < 0 || const_one(s, p[0], DNNQ_IR_F32, &scale) < 0 ||
	    (*p[1] && const_one(s, p[1], dt, &z) < 0))
		return bad(s->c, DNNQ_E_UNSUPPORTED, "input 2 '%.80s': a uint8 / int8 Pad needs a "
		           "constant constant_value of the tensor's type and a constant scale and "
		           "zero point of one value", in_name(s, 2));
	float *f;
	int rc = new_f32(s, "pad_value", &like, &f, v);
	if (!rc)
		*f = (float)(code - z) * (float)scale;
	return rc;
}

/* A Tile of the dequantized tensor fin[0] (its parameters p) one
 * repeated axis at a time, so that each is one Concat of the lowering's
 * at the tensor's parameters: every axis but the last a Tile of its own
 * (NAME:tileK of the repeats NAME:tileK_reps), quantized and dequantized
 * back (NAME:tileK_q, NAME:tileK_dq) into fin[0]; the last axis's
 * repeats into fin[1], for the node's own Tile. Repeats not a constant of
 * int64 are left to the Tile's own checks. */
static int tile_axes(struct ms *s, const char *const p[2], const char **fin)
{
	int32_t id = imp_lookup(s->c->m, in_name(s, 1), s->c->who);
	if (id < 0)
		return id == DNNQ_E_NOMEM ? id : DNNQ_E_FORMAT;
	const struct dnnq_ir_value *r = &s->c->m->ir->values[id];
	int64_t n = (int64_t)dnnq_ir_numel(r, 1), one[DNNQ_IR_MAX_DIMS], last = -1;
	if (!r->data || r->dtype != DNNQ_IR_S64 || r->ndim != 1 || n > DNNQ_IR_MAX_DIMS)
		return 0;
	const int64_t *reps = r->data;
	for (int64_t i = 0; i < n; i++)
		last = reps[i] != 1 ? i : last;
	int rc = 0;
	for (int64_t i = 0; !rc && i <= last; i++) {
		if (reps[i] == 1)
			continue;
		char w[40];
		const char *t, *q;
		for (int64_t k = 0; k < n; k++)
			one[k] = k == i ? reps[i] : 1;
		snprintf(w, sizeof w, "tile%lld_reps", (long long)i);
		if ((rc = shape_const(s, w, one, n, &fin[1])) || i == last)
			break;
		snprintf(w, sizeof w, "tile%lld", (long long)i);
		if ((rc = step(s, "Tile", w, fin, 2, NULL, &t)))
			break;
		snprintf(w, sizeof w, "tile%lld_q", (long long)i);
		const char *in[3] = { t, p[0], p[1] };
		if ((rc = made_name(s, w, &q)) || (rc = quantize(s, in, in_name(s, 0), w, q)))
			break;
		in[0] = q;
		snprintf(w, sizeof w, "tile%lld_dq", (long long)i);
		rc = dequantize(s, w, in, 1, &fin[0]);
	}
	return rc;
}

/* A direct operator of a uint8 / int8 tensor, as ONNX Runtime's QOperator
 * format runs it on the quantized tensor itself: dequantized at the
 * parameters its producer quantized it with (NAME:dq0), the float operator
 * (NAME), quantized back (NAME:q); exact: the same codes moved, selected
 * or (MaxPool) their maximum taken (a linear Resize: interpolated and
 * rounded, within a code of ONNX Runtime's). */
static int direct(struct ms *s)
{
	struct nctx *c = s->c;
	const struct msdef *d = s->d;
	size_t n = c->np->n_input;
	if (n < d->min_in || n > d->max_in || c->np->n_output != 1)
		return bad(c, DNNQ_E_UNSUPPORTED, "%zu inputs, %zu outputs of a uint8 / int8 "
		           "%s: %u to %u and 1%s supported", n, c->np->n_output, d->op, d->min_in,
		           d->max_in, d->op[0] == 'M' ? " (no Indices)" : "");
	bool pad = !strcmp(d->op, "Pad");
	char mode[16];
	int rc = a_str(c, "mode", pad ? "constant" : "nearest", mode, sizeof mode);
	if (rc)
		return rc;
	if (pad && !strcmp(mode, "constant") && !*in_name(s, 2))
		return bad(c, DNNQ_E_UNSUPPORTED, "a uint8 / int8 Pad of mode constant without "
		           "input 2 (constant_value; ONNX Runtime's quantizer gives the zero point)");
	const char *x = in_name(s, 0), *p[2], **fin = calloc(n, sizeof *fin), *f;
	if (!fin)
		return DNNQ_E_NOMEM;
	rc = producer_params(s, 0, p);
	/* Concat: every operand a tensor of input 0's parameters */
	bool concat = !strcmp(d->op, "Concat");
	for (size_t i = 0; !rc && i < n; i++) {
		char what[24];
		snprintf(what, sizeof what, "dq%zu", i);
		const char *in[3] = { in_name(s, i), p[0], p[1] };
		fin[i] = in[0];
		if ((i && concat && (rc = same_params(s, i, p))) ||
		    (!rc && (!i || concat) && (rc = dequantize(s, what, in, 1, &fin[i]))))
			break;
	}
	if (!rc && !(pad && *in_name(s, 2) && (rc = pad_value(s, p, &fin[2]))) &&
	    !(!strcmp(d->op, "Tile") && (rc = tile_axes(s, p, fin))) &&
	    !(rc = made_name(s, "f", &f)))
		rc = float_op(s, fin, n, false, c->m->opset, f);
	free(fin);
	if (rc)
		return rc;
	const char *in[3] = { f, p[0], p[1] };
	return quantize(s, in, x, "q", S(c->np->output[0]));
}

/* The definition of node c: a contrib operator's (domain com.microsoft),
 * ONNX Runtime's own of the default domain (SimplifiedLayerNormalization),
 * or a direct operator's of a computed uint8 / int8 input 0 (the default
 * domain; a constant one folds as before); NULL for any other. */
static const struct msdef *find_def(struct nctx *c)
{
	const char *dom = S(c->np->domain);
	const struct imp_name *e = c->np->n_input ? imp_find(c->m, S(c->np->input[0])) : NULL;
	bool ms = !strcmp(dom, "com.microsoft"), std = !*dom || !strcmp(dom, "ai.onnx"),
	     q8 = std && e && e->kind == IMP_VALUE && !c->m->ir->values[e->idx].data &&
	          (c->m->ir->values[e->idx].dtype == DNNQ_IR_U8 ||
	           c->m->ir->values[e->idx].dtype == DNNQ_IR_S8);
	for (size_t i = 0; std && i < sizeof STD / sizeof STD[0]; i++)
		if (!strcmp(S(c->np->op_type), STD[i].name))
			return &STD[i];
	for (size_t i = 0; i < sizeof MS / sizeof MS[0]; i++)
		if (!strcmp(S(c->np->op_type), MS[i].name) && (MS[i].fn == direct ? q8 : ms))
			return &MS[i];
	return NULL;
}

bool imp_ms_default(struct nctx *c)
{
	const char *dom = S(c->np->domain);
	return (!*dom || !strcmp(dom, "ai.onnx")) && find_def(c);
}

int imp_ms(struct nctx *c)
{
	const struct msdef *d = find_def(c);
	if (!d) {
		bad(c, DNNQ_E_UNSUPPORTED, "operator domain 'com.microsoft' is supported only for "
		    "Attention, BiasAdd, BiasGelu, DynamicQuantizeLSTM, DynamicQuantizeMatMul, "
		    "EmbedLayerNormalization, "
		    "FastGelu, FusedConv, FusedGemm, Gelu, GroupQueryAttention, "
		    "MatMulIntegerToFloat, MultiHeadAttention, QGemm, QLinearAdd, QLinearAveragePool, QLinearConcat, "
		    "QLinearConv, QLinearGlobalAveragePool, QLinearLeakyRelu, QLinearMul, "
		    "QLinearReduceMean, QLinearSigmoid, QLinearSoftmax, QLinearWhere, QuickGelu, "
		    "RotaryEmbedding, SkipLayerNormalization and SkipSimplifiedLayerNormalization");
		return imp_outputs_unknown(c);
	}
	for (size_t i = 0; d->attrs && i < c->np->n_attribute; i++) {
		const char *a = c->np->attribute[i] ? S(c->np->attribute[i]->name) : "";
		char word[80];
		snprintf(word, sizeof word, " %.60s ", a);
		if (!*a || !strstr(d->attrs, word)) {
			int n = (int)strlen(d->attrs) - 2;
			bad(c, DNNQ_E_FORMAT, "attribute '%.60s' is not one of %s's (%.*s)", a, d->name,
			    n > 0 ? n : 4, n > 0 ? d->attrs + 1 : "none");
			return imp_outputs_unknown(c);
		}
	}
	struct ms s = { .c = c, .d = d };
	int rc = d->fn(&s);
	ms_done(&s);
	if (rc == DNNQ_E_NOMEM)
		return rc;
	return rc ? imp_outputs_unknown(c) : 0;
}
