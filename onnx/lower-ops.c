/*
 * onnx/lower-ops.c — one lowering per IR operator (onnx/lower.c drives).
 *
 * Conv and Gemm absorb what follows them when they are its only input: a
 * BatchNormalization (folded into weights and bias), then a Relu or Clip
 * (the output stage's clamp). Weights are reordered for the engine (OIHW to
 * OHWI, Gemm's B to N x K, columns permuted after a flattened NCHW tensor)
 * and quantized here; QLinearConv / QLinearMatMul keep the model's integers
 * (a uint8 weight w with zero point z is the int8 w - 128 with z - 128: the
 * same products).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/conv.h"
#include "engine/op.h"
#include "engine/qlinear.h"
#include "engine/resize.h"
#include "engine/unary.h"
#include "onnx/lower-internal.h"

#define NODE(j) (&L->ir->nodes[j])

static int nomem(struct lower *L)
{
	return dnnq_diag_set(L->diag, DNNQ_E_NOMEM, "lower: out of memory");
}


/* Checks n's inputs 0..count-1; those in the bit mask optional may be absent. */
static int check_inputs(struct lower *L, const struct dnnq_ir_node *n, uint32_t count,
                        uint32_t optional)
{
	int rc = DNNQ_OK;
	for (uint32_t k = 0; k < count && !rc; k++)
		rc = check_input(L, n, k, optional >> k & 1);
	return rc;
}

/* The node's output becomes a u8 tensor with the output value's parameters. */
int act_out(struct lower *L, const struct dnnq_ir_node *n, int32_t out,
            struct dnnq_model_node *mn, int32_t ref)
{
	if (L->fp32) {
		mn->out_dtype = DNNQ_DTYPE_F32;
		L->v[out].f32 = ref;
		L->v[out].f32_onnx = false;
		return DNNQ_OK;
	}
	struct dnnq_qparams qp;
	int rc = value_qp(L, n, out, &qp);
	if (rc)
		return rc;
	set_out_qp(mn, &qp);
	mn->out_dtype = DNNQ_DTYPE_U8;
	L->v[out].u8 = ref;
	L->v[out].qp = qp;
	return DNNQ_OK;
}

/* Node mn (value ref) produces n's output in its input's quantization (an
 * int8 node that moves or takes the max of bytes), or f32 in fp32. */
static int input_qp_out(struct lower *L, const struct dnnq_ir_node *n, int32_t out,
                        struct dnnq_model_node *mn, int32_t ref)
{
	if (L->fp32)
		return act_out(L, n, out, mn, ref);
	L->v[out].u8 = ref;
	L->v[out].qp = L->v[n->inputs[0]].qp;
	return DNNQ_OK;
}

/* ---- BatchNormalization ---- */

/* y = a * x + b per channel: a = scale / sqrt(var + eps), b = B - mean * a. */
static int bn_coeffs(struct lower *L, const struct dnnq_ir_node *n, size_t c, float *a, float *b)
{
	float *p[4] = { 0 };
	int rc = DNNQ_OK;
	if (n->ninputs < 5)
		return lower_err(L, n, DNNQ_E_FORMAT, "%u inputs: want 5", n->ninputs);
	for (int i = 0; i < 4 && !rc; i++)
		rc = const_f32(L, n, n->inputs[1 + i], c, &p[i], NULL);
	for (size_t k = 0; k < c && !rc; k++) {
		double v = (double)p[3][k] + n->epsilon;
		if (!(v > 0))
			rc = lower_err(L, n, DNNQ_E_RANGE, "channel %zu: var + epsilon = %g", k, v);
		else {
			a[k] = (float)(p[0][k] / sqrt(v));
			b[k] = (float)(p[1][k] - (double)p[2][k] * a[k]);
		}
	}
	for (int i = 0; i < 4; i++)
		free(p[i]);
	return rc;
}

/* ---- what Conv and Gemm absorb ---- */

struct chain {
	int32_t out;          /* the value the fused node produces */
	const struct dnnq_ir_node *last;
	bool bn, relu, clip;
	float cmin, cmax;
};

/* Reader r of node j's output when the two have the same precision, else -1
 * (an fp32 follower stays a node of its own, and so does an int8 one). */
static int32_t same_precision(const struct lower *L, size_t j, int32_t r)
{
	const bool *f = L->o->fp32_nodes;
	return r < 0 || !f || f[j] == f[r] ? r : -1;
}

/* The BatchNormalization node j's output goes through (fused), or -1. */
static int32_t bn_follower(const struct lower *L, size_t j)
{
	int32_t out = NODE(j)->outputs[0], r = same_precision(L, j, sole_reader(L, out));
	return r >= 0 && NODE(r)->op == DNNQ_IR_BATCHNORM && NODE(r)->inputs[0] == out ? r : -1;
}

/* w: rows x cols (NULL: only b, the weights coming from the cache), b:
 * rows (channel = row). */
static int fuse(struct lower *L, size_t j, size_t rows, size_t cols, float *w, float *b,
                bool allow_clip, struct chain *c)
{
	const struct dnnq_ir_node *n = NODE(j);
	*c = (struct chain){ .out = n->outputs[0], .last = n };
	int32_t r = bn_follower(L, j);
	if (r >= 0) {
		const struct dnnq_ir_node *bn = NODE(r);
		float *a = malloc(rows * sizeof *a), *bb = malloc(rows * sizeof *bb);
		int rc = a && bb ? bn_coeffs(L, bn, rows, a, bb) : nomem(L);
		for (size_t o = 0; o < rows && !rc; o++) {
			for (size_t k = 0; w && k < cols; k++)
				w[o * cols + k] *= a[o];
			b[o] = b[o] * a[o] + bb[o];
		}
		free(a);
		free(bb);
		if (rc)
			return rc;
		L->done[r] = true;
		c->out = bn->outputs[0];
		c->last = bn;
		c->bn = true;
	}
	r = same_precision(L, j, sole_reader(L, c->out));
	if (r >= 0 && NODE(r)->op == DNNQ_IR_RELU) {
		c->relu = true;
	} else if (r >= 0 && NODE(r)->op == DNNQ_IR_CLIP && allow_clip &&
	           NODE(r)->clip_min <= NODE(r)->clip_max) {
		c->clip = true;
		c->cmin = NODE(r)->clip_min;
		c->cmax = NODE(r)->clip_max;
	} else {
		return DNNQ_OK;
	}
	L->done[r] = true;
	c->out = NODE(r)->outputs[0];
	c->last = NODE(r);
	return DNNQ_OK;
}

/* ---- weights the model quantized itself ---- */

/* The model's weight quantization: w (u8 or s8) as s8, scales and zero
 * points expanded to `rows` entries (or 1). */
struct qweights {
	int8_t *w;
	float *s;
	int32_t *z;
	size_t nq;
};

static int qweights(struct lower *L, const struct dnnq_ir_node *n, uint32_t wi, size_t rows,
                    struct qweights *q);
static void qweights_free(struct qweights *q);
static int qweight_tensor(struct lower *L, const char *node, const struct qweights *q,
                          const int8_t *w, uint32_t ndim, const int64_t *dims);

/* The DequantizeLinear of an int8 / uint8 constant weight w is, per tensor
 * or along the output-channel axis (rows parameters), or NULL: its
 * integers and parameters are kept (QDQ models the importer did not fuse,
 * ONNX Runtime's dynamic quantization). */
static const struct dnnq_ir_node *model_dq(struct lower *L, int32_t w, size_t rows, int64_t axis)
{
	const struct dnnq_ir_value *wv = lval_ir(L, w);
	if (wv->data || wv->producer < 0 || !is_const(L, w))
		return NULL;
	const struct dnnq_ir_node *dq = NODE(wv->producer);
	const struct dnnq_ir_value *x = lval_ir(L, dq->inputs[0]);
	if ((x->dtype != DNNQ_IR_U8 && x->dtype != DNNQ_IR_S8) || !is_const(L, dq->inputs[1]))
		return NULL;
	size_t ns = dnnq_ir_numel(lval_ir(L, dq->inputs[1]), 1);
	return ns == 1 || (ns == rows && dq->axis == axis) ? dq : NULL;
}

/* model_dq's integers in q: 1 when there is none (quantize the floats),
 * 0 when q is filled, < 0: an error. */
static int model_weights(struct lower *L, int32_t w, size_t rows, int64_t axis,
                         struct qweights *q)
{
	const struct dnnq_ir_node *dq = model_dq(L, w, rows, axis);
	memset(q, 0, sizeof *q);
	return dq ? qweights(L, dq, 0, rows, q) : 1;
}

/* ---- Conv ---- */

/* The conv node's channels, groups and kernel (from weight input wi, which
 * conv_shapes checked), strides, dilations and pads. */
static int conv_geometry(struct lower *L, const struct dnnq_ir_node *n, uint32_t wi,
                         struct dnnq_model_node *mn)
{
	const int64_t *wd = lval_ir(L, n->inputs[wi])->dims;
	mn->cin = (uint32_t)(wd[1] * n->group);
	mn->cout = (uint32_t)wd[0];
	mn->groups = (uint32_t)n->group;
	mn->kernel[0] = (uint32_t)wd[2];
	mn->kernel[1] = (uint32_t)wd[3];
	return map_attrs(L, n, mn);     /* strides, dilations, pads */
}

/* Checks X [N, cin, H, W] against W [cout, cin / group, kh, kw]. */
static int conv_shapes(struct lower *L, const struct dnnq_ir_node *n, int32_t x, int32_t w,
                       int64_t *cout, int64_t *cig, int64_t *kh, int64_t *kw)
{
	const struct dnnq_ir_value *xv = lval_ir(L, x), *wv = lval_ir(L, w);
	if (xv->ndim != 4 || wv->ndim != 4)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input rank %u, weight rank %u: only 2-D "
		                 "convolutions (rank 4)", xv->ndim, wv->ndim);
	*cout = wv->dims[0];
	*cig = wv->dims[1];
	*kh = wv->dims[2];
	*kw = wv->dims[3];
	if (n->group < 1 || *cout < 1 || *cig < 1 || *kh < 1 || *kw < 1 ||
	    xv->dims[1] != *cig * n->group || *cout % n->group)
		return lower_err(L, n, DNNQ_E_SHAPE, "input has %lld channels, weight is [%lld, %lld,"
		                 " %lld, %lld], group %lld: inconsistent", (long long)xv->dims[1],
		                 (long long)*cout, (long long)*cig, (long long)*kh, (long long)*kw,
		                 (long long)n->group);
	return DNNQ_OK;
}

/* OIHW -> OHWI, elements of size es: inlined for each size used, so the
 * element copy is one move (a call to memcpy per weight cost the
 * precision pass's lowerings a few percent of dnnq-convert). */
static inline __attribute__((always_inline)) void
transpose_ohwi(const char *s, char *d, size_t o, size_t i, size_t h, size_t w, size_t es)
{
	for (size_t a = 0; a < o; a++)       /* the writes in order */
		for (size_t y = 0; y < h; y++)
			for (size_t x = 0; x < w; x++)
				for (size_t b = 0; b < i; b++)
					memcpy(d + (((a * h + y) * w + x) * i + b) * es,
					       s + (((a * i + b) * h + y) * w + x) * es, es);
}

static void oihw_to_ohwi(const void *src, void *dst, size_t o, size_t i, size_t h, size_t w,
                         size_t es)
{
	if (es == sizeof(float))
		transpose_ohwi(src, dst, o, i, h, w, sizeof(float));
	else if (es == 1)
		transpose_ohwi(src, dst, o, i, h, w, 1);
	else
		transpose_ohwi(src, dst, o, i, h, w, es);
}

/* 16-bit accumulation of the layer named after IR node `ir`, as asked. */
static void set_acc16(const struct lower *L, const struct dnnq_ir_node *ir,
                      struct dnnq_model_node *mn)
{
	const struct dnnq_lower_opts *o = L->o;
	size_t j = (size_t)(ir - L->ir->nodes);
	if (o->acc16 != DNNQ_ACC16_ON || (o->acc16_nodes && !o->acc16_nodes[j]))
		return;
	mn->acc16 = 1;
	mn->acc16_nbits = o->acc16_opts.nbits;
	mn->acc16_spill = o->acc16_opts.spill;
}

/* The key of IR node j's int8 weights (dnnq_lower_wcache) with the
 * column permutation of la (NULL: none), of the model's own integers
 * (model_dq) or not. */
static struct wkey weights_key(const struct lower *L, size_t j, const struct lval *la,
                               bool model)
{
	struct wkey k = { .bn = bn_follower(L, j) >= 0, .per_channel = L->o->per_channel,
	                  .symmetric = L->o->symmetric_weights, .model = model };
	if (la && la->perm) {
		k.perm = true;
		k.pc = la->pc;
		k.ph = la->ph;
		k.pw = la->pw;
	}
	return k;
}

/* The model node of Conv and Gemm (kind) IR node j reading x: its weights
 * of shape dims (ndim; rows = dims[0]), the model's integers w (int8;
 * cached under k) when q is given, else the tensor *share when share and
 * *share >= 0 (else made and kept there), else cached (key k's,
 * dnnq_lower_wcache) when not NULL,
 * else floats w to quantize (and cache under k); the f32 bias [rows]; what
 * ch fused. NULL with *rc set on failure. */
static struct dnnq_model_node *fused_node(struct lower *L, size_t j, enum dnnq_node_kind kind,
                                          const struct chain *ch, int32_t x,
                                          const struct qweights *q,
                                          const struct dnnq_qtensor *cached,
                                          const struct wkey *k, int32_t *share,
                                          const void *w, const float *bias, uint32_t ndim,
                                          const int64_t *dims, int32_t *ref, int *rc)
{
	const char *name = ch->last->name;
	char nm[DNNQ_MODEL_NAME_MAX];
	size_t rows = (size_t)dims[0], cols = 1;
	for (uint32_t i = 1; i < ndim; i++)
		cols *= (size_t)dims[i];
	int wid;
	if (q) {
		wid = qweight_tensor(L, name, q, w, ndim, dims);
		if (wid >= 0 && (*rc = wcache_put(L, j, k, wid)))
			return NULL;
	} else if (share && *share >= 0) {
		wid = *share;
	} else {
		model_name(nm, name, ":weight");
		wid = cached  ? add_tensor_copy(L, nm, cached)
		    : L->fp32 ? add_f32_tensor(L, nm, w, rows * cols)
		              : add_weight_tensor(L, nm, w, rows, cols, ndim, dims);
		if (!cached && wid >= 0 && (*rc = wcache_put(L, j, k, wid)))
			return NULL;
		if (share)
			*share = wid;
	}
	model_name(nm, name, ":bias");
	int bid = wid < 0 ? wid : add_f32_tensor(L, nm, bias, rows);
	if (bid < 0) {
		*rc = bid;
		return NULL;
	}
	struct dnnq_model_node *mn = add_node1(L, kind, name, x, ref);
	if (!mn) {
		*rc = DNNQ_E_NOMEM;
		return NULL;
	}
	mn->weight = wid;
	mn->bias = bid;
	mn->relu = ch->relu;
	mn->clip = ch->clip;
	mn->clip_min = ch->cmin;
	mn->clip_max = ch->cmax;
	mn->requant = DNNQ_REQUANT_FLOAT;
	if (!L->fp32)
		set_acc16(L, ch->last, mn);
	*rc = DNNQ_OK;
	return mn;
}

/* Row r of int8 weights w, its scale its own (per channel, or the one
 * row), requantized at scale s (zero point 0): a channel whose weights are all but zero (a dead channel of a
 * trained model: 1e-38) gets a scale of their size, at which its bias
 * cannot be held in int32; at the bias's scale its weights round to the
 * little they are. */
static void requantize_row(struct dnnq_qtensor *w, size_t r, double s)
{
	size_t span = 1;
	for (uint32_t i = 1; i < w->ndim; i++)
		span *= (size_t)w->dims[i];
	int8_t *q = (int8_t *)w->data + r * span;
	double old = w->scales[r];
	for (size_t i = 0; i < span; i++) {
		double v = nearbyint((q[i] - w->zero_points[r]) * old / s);
		q[i] = (int8_t)fmax(-127, fmin(127, v));
	}
	w->scales[r] = (float)s;
	w->zero_points[r] = 0;
}

/* An int8 Conv / Gemm node mn (lowered from n) keeps its f32 bias as int32
 * at the input's scale times each channel's weight scale (engine/qlinear.h).
 * A bias beyond int32 there is refused, unless the weights are quantized
 * here (ours: not a quantized model's own) and the row has a scale of its
 * own (per channel, or one row: SSR-Net's Linear of one output whose
 * weights are all 1e-40, its bias 0.058): then that row's weight scale
 * grows until its bias fits (requantize_row). */
static int int8_bias(struct lower *L, const struct dnnq_ir_node *n,
                     const struct dnnq_model_node *mn, bool ours)
{
	if (L->fp32 || mn->dynamic)
		return DNNQ_OK;
	struct dnnq_qtensor *w = &L->m->tensors[mn->weight].t;
	const float *b = L->m->tensors[mn->bias].t.data;
	double in_scale = L->v[n->inputs[0]].qp.scale;
	for (size_t r = 0, rows = (size_t)w->dims[0]; r < rows; r++) {
		double s = in_scale * w->scales[w->nqparams == 1 ? 0 : r];
		if (dnnq_qlinear_bias_fits(b[r], s))
			continue;
		/* no scale holds inf or NaN, per channel or not: the model's */
		if (!isfinite(b[r]))
			return int8_refuse(L, n, "bias[%zu] = %g: not finite, which no int32 holds at "
			                   "any scale (the model's bias, or what it folds in: fix the "
			                   "model)", r, b[r]);
		if (ours && (w->nqparams > 1 || rows == 1) &&
		    (float)(fabs(b[r]) / in_scale / 0x1p30) > 0)
			requantize_row(w, r, (float)(fabs(b[r]) / in_scale / 0x1p30));
		else
			return int8_refuse(L, n, "bias[%zu] = %g: too large for int32 at scale %g%s",
			                   r, b[r], s, ours && w->nqparams == 1 && rows > 1 ? " (one "
			                   "weight scale for every row: --per-channel gives each its own)"
			                   : "");
	}
	return DNNQ_OK;
}

static int lower_conv(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_inputs(L, n, 3, 1u << 2);
	if (rc)
		return rc;
	int64_t cout, cig, kh, kw;
	if ((rc = conv_shapes(L, n, n->inputs[0], n->inputs[1], &cout, &cig, &kh, &kw)))
		return rc;
	if (!L->fp32 && (kh > DNNQ_CONV_MAX_WINDOW || kw > DNNQ_CONV_MAX_WINDOW ||
	                 n->strides[0] > DNNQ_CONV_MAX_WINDOW || n->strides[1] > DNNQ_CONV_MAX_WINDOW ||
	                 n->dilations[0] > DNNQ_CONV_MAX_WINDOW ||
	                 n->dilations[1] > DNNQ_CONV_MAX_WINDOW))
		return int8_refuse(L, n, "kernel %lldx%lld, strides %lldx%lld, dilations %lldx%lld: "
		                   "the int8 conv takes at most %d (an STFT's frame: runs fp32)",
		                   (long long)kh, (long long)kw, (long long)n->strides[0],
		                   (long long)n->strides[1], (long long)n->dilations[0],
		                   (long long)n->dilations[1], DNNQ_CONV_MAX_WINDOW);
	size_t cols = (size_t)(cig * kh * kw), rows = (size_t)cout;
	float *w = NULL, *wt = NULL, *b = NULL;
	struct chain ch;
	struct qweights q = { 0 };
	int32_t x, ref;
	struct wkey key = weights_key(L, j, NULL, model_dq(L, n->inputs[1], rows, 0) != NULL);
	/* the weights as they are, lowered already by another Conv reading
	 * them (a 3-D Conv's depths): nothing to read, fold or transpose */
	int32_t *share = &L->v[n->inputs[1]].wshared[WS_ROWS][L->fp32];
	bool shared = !key.bn && *share >= 0;
	const struct dnnq_qtensor *cached = shared ? NULL : wcache_find(L, j, &key);
	if (!cached && !shared && (rc = const_f32(L, n, n->inputs[1], rows * cols, &w, NULL)))
		return rc;
	if (n->ninputs > 2 && n->inputs[2] >= 0)
		rc = const_f32(L, n, n->inputs[2], rows, &b, NULL);
	else if (!(b = calloc(rows, sizeof *b)))
		rc = nomem(L);
	if (!rc && w && !(wt = malloc(rows * cols * sizeof *wt)))
		rc = nomem(L);
	if (rc || (rc = fuse(L, j, rows, cols, w, b, true, &ch)) ||
	    (rc = need_act(L, n, n->inputs[0], &x)))
		goto out;
	int64_t dims[4] = { cout, kh, kw, cig };
	int mw = shared || cached || ch.bn || L->fp32
	       ? 1 : model_weights(L, n->inputs[1], rows, 0, &q);
	if (mw < 0) {
		rc = mw;
		goto out;
	}
	if (mw == 0)
		oihw_to_ohwi(q.w, wt, rows, (size_t)cig, (size_t)kh, (size_t)kw, 1);
	else if (w)
		oihw_to_ohwi(w, wt, rows, (size_t)cig, (size_t)kh, (size_t)kw, sizeof *w);
	/* the model's own integers are converted per reader (an int8_bias
	 * refuses, not requantizes, a row): none of them shared, taken from
	 * the cache or not */
	if (ch.bn || !mw || (key.model && !L->fp32))
		share = NULL;
	/* a cached tensor of the model's own integers is theirs too */
	bool ours = cached ? !key.model || ch.bn : mw != 0;
	struct dnnq_model_node *mn = fused_node(L, j, DNNQ_NODE_CONV, &ch, x, mw ? NULL : &q,
	                                        cached, &key, share, wt, b, 4, dims, &ref, &rc);
	if (mn && !(rc = conv_geometry(L, n, 1, mn)) && !(rc = int8_bias(L, n, mn, ours)))
		rc = act_out(L, ch.last, ch.out, mn, ref);
out:
	qweights_free(&q);
	free(w);
	free(wt);
	free(b);
	return rc;
}

/* ---- Gemm ---- */

/* Columns of w (rows x k, elements of es bytes) from the ONNX flattening
 * (c, h, w) to the engine's (h, w, c). */
static int permute_cols(struct lower *L, const struct lval *lv, void *w, size_t rows, size_t k,
                        size_t es)
{
	if (!lv->perm)
		return DNNQ_OK;
	size_t pc = (size_t)lv->pc, ph = (size_t)lv->ph, pw = (size_t)lv->pw;
	char *tmp = malloc(k * es), *row = w;
	if (!tmp)
		return nomem(L);
	for (size_t r = 0; r < rows; r++, row += k * es) {
		for (size_t c = 0; c < pc; c++)
			for (size_t y = 0; y < ph; y++)
				for (size_t x = 0; x < pw; x++)
					memcpy(tmp + ((y * pw + x) * pc + c) * es,
					       row + ((c * ph + y) * pw + x) * es, es);
		memcpy(row, tmp, k * es);
	}
	free(tmp);
	return DNNQ_OK;
}

/* A matrix product's A: an activation of rank >= 2 whose last axis (k)
 * is multiplied, the leading dims being rows (the engine's FC); a 4-D one
 * only when its NHWC and NCHW orders agree. */
static int matmul_a(struct lower *L, const struct dnnq_ir_node *n, int32_t a, size_t k)
{
	const struct dnnq_ir_value *av = lval_ir(L, a);
	if (av->ndim < 2 || !av->batched || (av->ndim == 4 && !same_order(av)) ||
	    (size_t)av->dims[av->ndim - 1] != k)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "A '%s' of rank %u, last dim %lld%s: want "
		                 "a batched [N, ..., %zu] activation (4-D only with C or H and W "
		                 "1)", av->name, av->ndim, av->ndim ? (long long)av->dims[av->ndim - 1]
		                 : 0LL, av->batched ? "" : " (no batch)", k);
	return DNNQ_OK;
}

static int lower_gemm(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_inputs(L, n, 3, 1u << 2);
	if (rc)
		return rc;
	const struct dnnq_ir_value *bv = lval_ir(L, n->inputs[1]);
	if (n->trans_a)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "transA = 1");
	if (bv->ndim != 2)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "B of rank %u: want a 2-D B", bv->ndim);
	size_t k = (size_t)(n->trans_b ? bv->dims[1] : bv->dims[0]);
	size_t nn = (size_t)(n->trans_b ? bv->dims[0] : bv->dims[1]);
	if ((rc = matmul_a(L, n, n->inputs[0], k)))
		return rc;
	if (!k || !nn)
		return lower_err(L, n, DNNQ_E_SHAPE, "B is [%lld, %lld]", (long long)bv->dims[0],
		                 (long long)bv->dims[1]);
	const struct lval *la = &L->v[n->inputs[0]];
	if (la->perm && (size_t)(la->pc * la->ph * la->pw) != k)
		return lower_err(L, n, DNNQ_E_SHAPE, "flattened input: %lld x %lld x %lld != %zu",
		                 (long long)la->pc, (long long)la->ph, (long long)la->pw, k);
	float *b = NULL, *w = NULL, *bias = NULL;
	int8_t *wi = NULL;
	size_t nc = 0;
	struct qweights q = { 0 };
	struct chain ch;
	int32_t x, ref;
	bool dyn = (L->o->dynamic || n->dynamic) && !L->fp32;
	struct wkey key = weights_key(L, j, la,
	                              model_dq(L, n->inputs[1], nn, n->trans_b ? 0 : 1) != NULL);
	/* the weights in this layout, lowered already by another Gemm reading
	 * them (an unrolled LSTM's steps): nothing to read, fold or transpose */
	int32_t *share = la->perm || n->alpha != 1 ? NULL
	               : &L->v[n->inputs[1]].wshared[n->trans_b ? WS_ROWS : WS_COLS][L->fp32];
	bool shared = share && !key.bn && *share >= 0;
	const struct dnnq_qtensor *cached = shared ? NULL : wcache_find(L, j, &key);
	if (!cached && !shared && (rc = const_f32(L, n, n->inputs[1], nn * k, &b, NULL)))
		return rc;
	if ((b && !(w = malloc(nn * k * sizeof *w))) || !(bias = calloc(nn, sizeof *bias))) {
		rc = nomem(L);
		goto out;
	}
	for (size_t r = 0; w && r < nn; r++)
		for (size_t c = 0; c < k; c++)
			w[r * k + c] = n->alpha * (n->trans_b ? b[r * k + c] : b[c * nn + r]);
	if (n->ninputs > 2 && n->inputs[2] >= 0) {
		free(b);
		b = NULL;
		if ((rc = const_f32(L, n, n->inputs[2], 0, &b, &nc)))
			goto out;
		if (nc != nn && nc != 1) {
			rc = lower_err(L, n, DNNQ_E_UNSUPPORTED, "C has %zu elements: only [%zu] or a "
			               "scalar (no per-row bias)", nc, nn);
			goto out;
		}
		for (size_t r = 0; r < nn; r++)
			bias[r] = n->beta * b[nc == 1 ? 0 : r];
	}
	if ((w && (rc = permute_cols(L, la, w, nn, k, sizeof *w))) ||
	    (rc = fuse(L, j, nn, k, w, bias, !dyn, &ch)) ||
	    (rc = dyn ? need_f32(L, n, n->inputs[0], &x) : need_act(L, n, n->inputs[0], &x)))
		goto out;
	int64_t dims[2] = { (int64_t)nn, (int64_t)k };
	int mw = shared || cached || ch.bn || n->alpha != 1 || L->fp32
	       ? 1 : model_weights(L, n->inputs[1], nn, n->trans_b ? 0 : 1, &q);
	if (mw < 0) {
		rc = mw;
		goto out;
	}
	if (mw == 0) {
		if (!(wi = malloc(nn * k))) {
			rc = nomem(L);
			goto out;
		}
		for (size_t r = 0; r < nn; r++)
			for (size_t c = 0; c < k; c++)
				wi[r * k + c] = n->trans_b ? q.w[r * k + c] : q.w[c * nn + r];
		if ((rc = permute_cols(L, la, wi, nn, k, 1)))
			goto out;
	}
	/* the model's own integers per reader, as a Conv's */
	if (ch.bn || !mw || (key.model && !L->fp32))
		share = NULL;
	struct dnnq_model_node *mn = fused_node(L, j, DNNQ_NODE_FC, &ch, x, mw ? NULL : &q, cached,
	                                        &key, share, mw ? (const void *)w : wi, bias, 2,
	                                        dims, &ref, &rc);
	if (!mn)
		goto out;
	mn->n = (uint32_t)nn;
	mn->k = (uint32_t)k;
	if (dyn) {
		mn->dynamic = 1;
		mn->out_dtype = DNNQ_DTYPE_F32;
		L->v[ch.out].f32 = ref;
		L->v[ch.out].f32_onnx = false;
	} else if (!(rc = int8_bias(L, n, mn, cached ? !key.model || ch.bn || n->alpha != 1
	                                             : mw != 0))) {
		rc = act_out(L, ch.last, ch.out, mn, ref);
	}
out:
	qweights_free(&q);
	free(b);
	free(w);
	free(wi);
	free(bias);
	return rc;
}

/* ---- one-input u8 operators ---- */

static struct dnnq_model_node *simple(struct lower *L, const struct dnnq_ir_node *n,
                                      enum dnnq_node_kind kind, uint32_t rank, int32_t *ref,
                                      int *rc)
{
	int32_t x;
	if ((*rc = check_input(L, n, 0, false)))
		return NULL;
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]);
	if (rank && xv->ndim != rank) {
		*rc = lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s' has rank %u: want %u",
		                xv->name, xv->ndim, rank);
		return NULL;
	}
	if ((*rc = need_act(L, n, n->inputs[0], &x)))
		return NULL;
	struct dnnq_model_node *mn = add_node1(L, kind, n->name, x, ref);
	if (!mn)
		*rc = DNNQ_E_NOMEM;
	return mn;
}

static int lower_bn(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_input(L, n, 0, false);
	if (rc)
		return rc;
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]);
	if (xv->ndim != 4 && xv->ndim != 2)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input of rank %u: want 2 or 4", xv->ndim);
	size_t c = (size_t)xv->dims[1];
	float *a = malloc((c + 1) * sizeof *a), *b = malloc((c + 1) * sizeof *b);
	int32_t ref;
	rc = a && b ? bn_coeffs(L, n, c, a, b) : nomem(L);
	char nm[DNNQ_MODEL_NAME_MAX];
	model_name(nm, n->name, ":a");
	int aid = rc ? rc : add_f32_tensor(L, nm, a, c);
	model_name(nm, n->name, ":b");
	int bid = aid < 0 ? aid : add_f32_tensor(L, nm, b, c);
	free(a);
	free(b);
	if (bid < 0)
		return bid;
	struct dnnq_model_node *mn = simple(L, n, DNNQ_NODE_ELTWISE_LINEAR, 0, &ref, &rc);
	if (!mn)
		return rc;
	mn->weight = aid;
	mn->bias = bid;
	return act_out(L, n, n->outputs[0], mn, ref);
}

static int lower_activation(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	static const enum dnnq_activation_kind kinds[] = {
		[DNNQ_IR_RELU] = DNNQ_ACT_RELU, [DNNQ_IR_LEAKYRELU] = DNNQ_ACT_LEAKY_RELU,
		[DNNQ_IR_CLIP] = DNNQ_ACT_CLIP, [DNNQ_IR_SIGMOID] = DNNQ_ACT_SIGMOID,
		[DNNQ_IR_TANH] = DNNQ_ACT_TANH, [DNNQ_IR_HARDSIGMOID] = DNNQ_ACT_HARD_SIGMOID,
		[DNNQ_IR_HARDSWISH] = DNNQ_ACT_HARD_SWISH, [DNNQ_IR_ELU] = DNNQ_ACT_ELU,
		[DNNQ_IR_SELU] = DNNQ_ACT_SELU, [DNNQ_IR_CELU] = DNNQ_ACT_CELU,
		[DNNQ_IR_SHRINK] = DNNQ_ACT_SHRINK,
		[DNNQ_IR_THRESHOLDEDRELU] = DNNQ_ACT_THRESHOLDED_RELU,
	};
	int32_t ref;
	int rc;
	struct dnnq_model_node *mn = simple(L, n, DNNQ_NODE_ACTIVATION, 0, &ref, &rc);
	if (!mn)
		return rc;
	mn->op = kinds[n->op];
	if ((rc = map_attrs(L, n, mn)))   /* params: alpha, beta, clip min and max */
		return rc;
	return act_out(L, n, n->outputs[0], mn, ref);
}

/* A 1-D pooling's input reshaped to [N, C, L, 1] (NAME:2d) into *x4. */
static int pool1d_input(struct lower *L, const struct dnnq_ir_node *n,
                        const struct dnnq_ir_value *xv, int32_t *x4)
{
	int32_t x;
	char nm[DNNQ_MODEL_NAME_MAX];
	int rc = need_act(L, n, n->inputs[0], &x);
	if (rc)
		return rc;
	model_name(nm, n->name, ":2d");
	struct dnnq_model_node *mn = add_node1(L, DNNQ_NODE_RESHAPE, nm, x, x4);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->ndim = 4;
	memcpy(mn->dims, xv->dims, 3 * sizeof *xv->dims);
	mn->dims[3] = 1;
	return DNNQ_OK;
}

/* Node output ref (set as n's output, a rank the output value lacks: a
 * 1-D pooling's [N, C, L', 1], a scalar Gather's) reshaped, a view, to the
 * output value's dims, the same element order. */
static int reshape_output(struct lower *L, const struct dnnq_ir_node *n, int32_t ref)
{
	const struct dnnq_ir_value *yv = lval_ir(L, n->outputs[0]);
	char nm[DNNQ_MODEL_NAME_MAX];
	int32_t y;
	model_name(nm, n->name, ":view");
	struct dnnq_model_node *mn = add_node1(L, DNNQ_NODE_RESHAPE, nm, ref, &y);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->ndim = yv->ndim;
	memcpy(mn->dims, yv->dims, yv->ndim * sizeof *yv->dims);
	*(L->fp32 ? &L->v[n->outputs[0]].f32 : &L->v[n->outputs[0]].u8) = y;
	return DNNQ_OK;
}

/* MaxPool's Indices: the registry's maxpool_indices (NAME:indices, s32)
 * reading the values node's input in (a 1-D one's [N, C, L, 1], its
 * output reshaped back, NAME:indices:view), its geometry. */
static int pool_indices(struct lower *L, const struct dnnq_ir_node *n, int32_t in, bool one_d)
{
	char nm[DNNQ_MODEL_NAME_MAX];
	int32_t ref;
	const struct dnnq_ir_value *yv = lval_ir(L, n->outputs[1]);
	model_name(nm, n->name, ":indices");
	struct dnnq_model_node *mn = add_node1(L, (enum dnnq_node_kind)dnnq_op_find(
		"maxpool_indices")->kind, nm, in, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	int rc = map_attrs(L, n, mn);     /* the geometry, ceil_mode */
	if (rc)
		return rc;
	mn->op = one_d ? 0 : n->mode;     /* storage_order: the same in 1-D */
	mn->out_dtype = DNNQ_DTYPE_S32;
	if (one_d) {
		model_name(nm, n->name, ":indices:view");
		if (!(mn = add_node1(L, DNNQ_NODE_RESHAPE, nm, ref, &ref)))
			return DNNQ_E_NOMEM;
		mn->ndim = yv->ndim;
		memcpy(mn->dims, yv->dims, yv->ndim * sizeof *yv->dims);
	}
	L->v[n->outputs[1]].s32 = ref;
	return DNNQ_OK;
}

static int lower_pool(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	static const enum dnnq_node_kind kinds[] = {
		[DNNQ_IR_MAXPOOL] = DNNQ_NODE_MAXPOOL, [DNNQ_IR_AVGPOOL] = DNNQ_NODE_AVGPOOL,
		[DNNQ_IR_GAVGPOOL] = DNNQ_NODE_GAVGPOOL,
	};
	int32_t in, ref;
	int rc = check_input(L, n, 0, false);
	if (rc)
		return rc;
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]);
	/* 1-D: [N, C, L] is, in memory, the NHWC image [N, C, L, 1] (H = C, W = L,
	 * one channel): reshaped there and back, pooled over W */
	bool one_d = xv->ndim == 3 && n->op != DNNQ_IR_GAVGPOOL;
	if (one_d)
		rc = pool1d_input(L, n, xv, &in);
	else if (xv->ndim != 4)
		rc = lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s' has rank %u: want 4", xv->name,
		               xv->ndim);
	else
		rc = need_act(L, n, n->inputs[0], &in);
	if (rc)
		return rc;
	/* MaxPool's values, unless only its Indices are read (torch's offsets) */
	if (L->nreaders[n->outputs[0]]) {
		struct dnnq_model_node *mn = add_node1(L, kinds[n->op], n->name, in, &ref);
		if (!mn)
			return DNNQ_E_NOMEM;
		if ((rc = map_attrs(L, n, mn)))   /* the geometry, ceil_mode, count_include_pad */
			return rc;
		/* the max is taken in the input's quantization */
		rc = n->op == DNNQ_IR_MAXPOOL ? input_qp_out(L, n, n->outputs[0], mn, ref)
		                              : act_out(L, n, n->outputs[0], mn, ref);
		if (!rc && one_d)
			rc = reshape_output(L, n, ref);
	}
	return rc || n->noutputs < 2 || !L->nreaders[n->outputs[1]] ? rc
	                                                           : pool_indices(L, n, in, one_d);
}

/* ---- Add, Mul, Sum ---- */

static bool same_shape(const struct dnnq_ir_value *a, const struct dnnq_ir_value *b)
{
	return a->ndim == b->ndim && !memcmp(a->dims, b->dims, a->ndim * sizeof *a->dims);
}

/* Whether constant c broadcasts per channel against activation x. */
static bool per_channel(const struct dnnq_ir_value *x, const struct dnnq_ir_value *c)
{
	if (x->ndim == 4) {
		int64_t ch = x->dims[1];
		return (c->ndim == 3 && c->dims[0] == ch && c->dims[1] == 1 && c->dims[2] == 1) ||
		       (c->ndim == 4 && c->dims[0] == 1 && c->dims[1] == ch && c->dims[2] == 1 &&
		        c->dims[3] == 1);
	}
	/* other ranks keep the ONNX layout: the channel is the last dimension */
	if (x->ndim < 2 || c->ndim < 1 || c->ndim > x->ndim ||
	    c->dims[c->ndim - 1] != x->dims[x->ndim - 1])
		return false;
	for (uint32_t i = 0; i + 1 < c->ndim; i++)
		if (c->dims[i] != 1)
			return false;
	return true;
}

/* A constant c (k elements, value *cv, of rank r or less, dims[0] 1 at
 * rank r) that broadcasts against an activation of rank r: *cv becomes its
 * r-D shape (leading 1s) and, at rank 4, c its data in NHWC order. The
 * engine reads a 4-D value as NHWC whatever it is: a 4-D constant against
 * a 5-D activation (lifted attention scores, [1, B*nW, heads, N, N] plus
 * a [1, heads, N, N] bias) must be 5-D, its ONNX order kept. */
static int const_to_rank(struct lower *L, const struct dnnq_ir_node *n, struct dnnq_ir_value *cv,
                         float *c, size_t k, uint32_t r)
{
	uint32_t lead = r - cv->ndim;
	memmove(cv->dims + lead, cv->dims, cv->ndim * sizeof *cv->dims);
	for (uint32_t i = 0; i < lead; i++)
		cv->dims[i] = 1;
	cv->ndim = r;
	if (r != 4 || same_order(cv))
		return DNNQ_OK;
	float *t = malloc(k * sizeof *t);
	if (!t)
		return lower_err(L, n, DNNQ_E_NOMEM, "out of memory");
	size_t C = (size_t)cv->dims[1], HW = (size_t)(cv->dims[2] * cv->dims[3]);
	for (size_t ch = 0; ch < C; ch++)
		for (size_t p = 0; p < HW; p++)
			t[p * C + ch] = c[ch * HW + p];
	memcpy(c, t, k * sizeof *t);
	free(t);
	return DNNQ_OK;
}

/* Input k of a binary node as a value of the model in the node's
 * precision: an activation as it is, a constant (a scalar, or per channel
 * of activation x) as a new u8 or f32 constant. */
static int binary_input(struct lower *L, const struct dnnq_ir_node *n, int32_t v,
                        const struct dnnq_ir_value *x, int32_t *ref, bool *shaped)
{
	if (!is_const(L, v))
		return need_act(L, n, v, ref);
	const struct dnnq_ir_value *cv = lval_ir(L, v);
	float *c;
	size_t k;
	int rc = const_f32(L, n, v, 0, &c, &k);
	if (rc)
		return rc;
	char nm[DNNQ_MODEL_NAME_MAX];
	model_name(nm, n->name, ":const");
	if (k == 1 || per_channel(x, cv)) {
		rc = add_constant(L, nm, c, k, ref);
	} else if (cv->ndim <= x->ndim && (cv->ndim < x->ndim || cv->dims[0] == 1)) {
		/* any other shape that broadcasts (a ViT's position embeddings, the
		 * bias of a channels-last 4-D value): kept whole, for the
		 * registry's broadcasting operators, at the activation's rank
		 * (against a 4-D activation in the engine's order) */
		struct dnnq_ir_value c4 = *cv;
		int64_t d[DNNQ_MAX_DIMS];
		rc = const_to_rank(L, n, &c4, c, k, x->ndim);
		engine_dims(&c4, d);
		if (!rc)
			rc = add_constant_nd(L, nm, c, c4.ndim, d, ref);
		*shaped = true;
	} else {
		rc = lower_err(L, n, DNNQ_E_UNSUPPORTED, "constant '%s' (%zu elements) does not "
		               "broadcast against '%s' without its batch", cv->name, k, x->name);
	}
	free(c);
	return rc;
}

/* The Relu that is the sole reader of Add j's output, of its precision,
 * or -1: the eltwise kind's SumRelu does both in one pass (a ResNet block's
 * tail), rounding once, at the Relu's parameters. */
static int32_t add_relu(const struct lower *L, size_t j)
{
	int32_t r = same_precision(L, j, sole_reader(L, NODE(j)->outputs[0]));
	return r >= 0 && NODE(r)->op == DNNQ_IR_RELU ? r : -1;
}

/* Add and Mul (the eltwise kind: input 0 an activation of the output's
 * shape, an Add with the Relu after it folded in), and the registry's
 * binary operators (engine/binary.h: either input may be the constant;
 * activations broadcast against each other). */
static int lower_binary(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	bool engine = n->op == DNNQ_IR_ENGINE;
	int rc;
	if (n->ninputs != 2)
		return lower_err(L, n, DNNQ_E_FORMAT, "%u inputs: want 2", n->ninputs);
	if ((rc = check_input(L, n, 0, false)) || (rc = check_input(L, n, 1, false)))
		return rc;
	int32_t a = n->inputs[0], b = n->inputs[1], in[2], ref;
	if (is_const(L, a) && !engine) {
		int32_t t = a;
		a = b;
		b = t;
	}
	if (is_const(L, a) && is_const(L, b))
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "both inputs are constants");
	const struct dnnq_ir_value *av = lval_ir(L, a), *bv = lval_ir(L, b);
	const struct dnnq_ir_value *x = is_const(L, a) ? bv : av;
	uint32_t kind = engine ? n->kind : DNNQ_NODE_ELTWISE;
	if (!engine && is_const(L, b) && !same_shape(av, lval_ir(L, n->outputs[0]))) {
		/* the constant makes the output larger: the registry's add and mul */
		kind = dnnq_op_find(n->op == DNNQ_IR_ADD ? "add" : "mul")->kind;
		engine = true;
	}
	if (!is_const(L, a) && !is_const(L, b) && !same_shape(av, bv)) {
		/* activations that broadcast: the registry's add and mul do it */
		if (av->ndim != bv->ndim || L->v[a].perm || L->v[b].perm)
			return lower_err(L, n, DNNQ_E_UNSUPPORTED, "inputs '%s' and '%s' have different "
			                 "shapes: broadcasting between activations of different ranks",
			                 av->name, bv->name);
		kind = engine ? n->kind : dnnq_op_find(n->op == DNNQ_IR_ADD ? "add" : "mul")->kind;
		engine = true;
	}
	bool shaped = false;
	if ((rc = binary_input(L, n, a, x, &in[0], &shaped)) ||
	    (rc = binary_input(L, n, b, x, &in[1], &shaped)))
		return rc;
	if (shaped && !engine) {     /* the eltwise kind takes no shaped constant */
		kind = dnnq_op_find(n->op == DNNQ_IR_ADD ? "add" : "mul")->kind;
		engine = true;
	}
	int32_t relu = !engine && n->op == DNNQ_IR_ADD ? add_relu(L, j) : -1;
	const struct dnnq_ir_node *last = relu >= 0 ? NODE(relu) : n;
	struct dnnq_model_node *mn = add_node(L, kind, last->name, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	if (!engine)
		mn->op = relu >= 0 ? DNNQ_ELTWISE_SUM_RELU
		       : n->op == DNNQ_IR_ADD ? DNNQ_ELTWISE_ADD : DNNQ_ELTWISE_MUL;
	mn->ninputs = 2;
	mn->inputs[0] = in[0];
	mn->inputs[1] = in[1];
	if (relu >= 0)
		L->done[relu] = true;
	return act_out(L, n, last->outputs[0], mn, ref);
}

/* An elementwise registry operator: a unary one (engine/unary.h) reads its
 * activation as it is, whatever the layout; a binary one broadcasts. */
static int lower_elementwise(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	if (!dnnq_unary_fn(dnnq_op_get(n->kind)))
		return lower_binary(L, j);
	int32_t ref;
	int rc;
	struct dnnq_model_node *mn = simple(L, n, n->kind, 0, &ref, &rc);
	return mn ? act_out(L, n, n->outputs[0], mn, ref) : rc;
}

/* Sum and Concat: 1..16 activations. */
static int lower_multi(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int32_t in[DNNQ_IR_MAX_INPUTS], ref;
	int rc;
	if (n->ninputs < 1 || n->ninputs > DNNQ_GRAPH_MAX_NODE_INPUTS)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "%u inputs: want 1..16", n->ninputs);
	const struct dnnq_ir_value *x0 = lval_ir(L, n->inputs[0] < 0 ? 0 : n->inputs[0]);
	for (uint32_t k = 0; k < n->ninputs; k++) {
		if ((rc = check_input(L, n, k, false)))
			return rc;
		const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[k]);
		if (is_const(L, n->inputs[k]))
			return lower_err(L, n, DNNQ_E_UNSUPPORTED, "constant input '%s'", xv->name);
		if (n->op == DNNQ_IR_SUM ? !same_shape(xv, x0) : xv->ndim != x0->ndim)
			return lower_err(L, n, DNNQ_E_SHAPE, "input '%s': another %s than '%s'", xv->name,
			                 n->op == DNNQ_IR_SUM ? "shape" : "rank", x0->name);
		if (n->op == DNNQ_IR_SUM && n->ninputs == 1) {
			/* its input as it is, made int8 only by a reader that wants
			 * it so (a graph output copies an f32 graph input; a
			 * quantize no node reads fails the graph's build) */
			L->v[n->outputs[0]] = L->v[n->inputs[0]];
			return DNNQ_OK;
		}
		if ((rc = need_act(L, n, n->inputs[k], &in[k])))
			return rc;
	}
	if (n->op == DNNQ_IR_CONCAT && (n->axis < 1 || n->axis >= (int64_t)x0->ndim))
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "axis %lld: want 1..%u (not the batch)",
		                 (long long)n->axis, x0->ndim - 1);
	struct dnnq_model_node *mn = add_node(L, n->op == DNNQ_IR_SUM ? DNNQ_NODE_ELTWISE
	                                      : DNNQ_NODE_CONCAT, n->name, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->op = DNNQ_ELTWISE_SUM;
	if ((rc = map_attrs(L, n, mn)))   /* concat: the axis in the engine's layout */
		return rc;
	mn->ninputs = n->ninputs;
	memcpy(mn->inputs, in, n->ninputs * sizeof *in);
	return act_out(L, n, n->outputs[0], mn, ref);
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze ---- */

/* Whether every reader of v reads it as the data input of a Gemm or QLinearMatMul. */
static bool only_gemms(const struct lower *L, int32_t v)
{
	if (L->is_output[v])
		return false;
	for (size_t j = 0; j < L->ir->nnodes; j++) {
		const struct dnnq_ir_node *n = NODE(j);
		if (!L->live[j])
			continue;
		for (uint32_t k = 0; k < n->ninputs; k++)
			if (n->inputs[k] == v && (k != 0 || (n->op != DNNQ_IR_GEMM &&
			                                     n->op != DNNQ_IR_QLINEARMATMUL)))
				return false;
	}
	return true;
}

/* Reshape n of an int32 value (token ids, a mask: a graph input) as a view
 * in the engine's layout, where that keeps the element order. */
static int reshape_s32(struct lower *L, const struct dnnq_ir_node *n, struct lval *ly)
{
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]), *yv = lval_ir(L, n->outputs[0]);
	if (!same_order(xv) || !same_order(yv))
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "int32 '%s' to '%s': only reshapes that "
		                 "keep the element order in NHWC", xv->name, yv->name);
	struct dnnq_model_node *mn = add_node1(L, DNNQ_NODE_RESHAPE, n->name,
	                                       L->v[n->inputs[0]].s32, &ly->s32);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->ndim = yv->ndim;
	engine_dims(yv, mn->dims);
	L->v[n->outputs[0]] = *ly;
	return DNNQ_OK;
}

static int lower_reshape(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_input(L, n, 0, false);
	if (rc)
		return rc;
	int32_t x = n->inputs[0], y = n->outputs[0], src, ref;
	const struct dnnq_ir_value *xv = lval_ir(L, x), *yv = lval_ir(L, y);
	struct lval *lx = &L->v[x];
	int64_t px = 1, py = 1;
	for (uint32_t i = 1; i < xv->ndim; i++)
		px *= xv->dims[i];
	for (uint32_t i = 1; i < yv->ndim; i++)
		py *= yv->dims[i];
	if (!xv->batched || !yv->batched || yv->ndim < 1 || yv->ndim > DNNQ_MAX_DIMS || px != py)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "'%s' to '%s': only reshapes that keep the "
		                 "batch as dims[0] (rank 1..8)", xv->name, yv->name);
	struct lval ly = { .u8 = -1, .f32 = -1, .s32 = -1 };
	if (lx->s32 >= 0 && lx->u8 < 0 && lx->f32 < 0)
		return reshape_s32(L, n, &ly);
	/* an f32 tensor in the ONNX order reshapes as in ONNX; prefer it to the
	 * u8 one when the u8 one would need the permutation */
	bool f32 = lx->f32 >= 0 && (xv->ndim != 4 || lx->f32_onnx) &&
	           (lx->u8 < 0 || !same_order(xv) || !same_order(yv));
	/* only f32 in the engine's layout (an fp32 region): reshaped as the u8
	 * one would be */
	bool nhwc_f32 = !f32 && lx->u8 < 0 && lx->f32 >= 0 && !lx->f32_onnx;
	if (f32) {
		/* f32 in the ONNX order: the reshape is one in the ONNX layout too */
		src = lx->f32;
		ly.f32_onnx = yv->ndim == 4;
	} else if (nhwc_f32) {
		src = lx->f32;         /* an fp32 region's value: the engine layout */
	} else {
		if ((rc = need_u8(L, n, x, &src)))
			return rc;
	}
	if (!f32) {
		ly.qp = lx->qp;
		if (lx->perm) {
			if (yv->ndim != 2 || !only_gemms(L, y))
				return lower_err(L, n, DNNQ_E_UNSUPPORTED, "reshape of a flattened NCHW "
				                 "tensor read by other than Gemm");
			ly.perm = true;
			ly.pc = lx->pc;
			ly.ph = lx->ph;
			ly.pw = lx->pw;
		} else if (!same_order(xv) || !same_order(yv)) {
			if (xv->ndim != 4 || yv->ndim != 2 || !only_gemms(L, y))
				return lower_reshape_reordered(L, n, src, nhwc_f32);
			ly.perm = true;
			ly.pc = xv->dims[1];
			ly.ph = xv->dims[2];
			ly.pw = xv->dims[3];
		}
	}
	struct dnnq_model_node *mn = add_node1(L, DNNQ_NODE_RESHAPE, n->name, src, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->ndim = yv->ndim;
	if (f32)
		memcpy(mn->dims, yv->dims, yv->ndim * sizeof *yv->dims);
	else
		engine_dims(yv, mn->dims);
	if (f32 || nhwc_f32)
		ly.f32 = ref;
	else
		ly.u8 = ref;
	L->v[y] = ly;
	return DNNQ_OK;
}

/* ---- Softmax ---- */

static int lower_softmax(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_input(L, n, 0, false);
	if (rc)
		return rc;
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]);
	int64_t ax = n->axis;
	bool ok = xv->ndim >= 1 && ax == (int64_t)xv->ndim - 1;
	if (xv->ndim == 4 && ax == 1)
		ok = L->ir->opset >= 13 || xv->dims[2] * xv->dims[3] == 1;
	else if (xv->ndim == 4)
		ok = false;
	if (!ok)
		return lower_softmax_axis(L, j);
	int32_t ref;
	if (!simple(L, n, DNNQ_NODE_SOFTMAX, 0, &ref, &rc))
		return rc;
	L->v[n->outputs[0]].f32 = ref;
	L->v[n->outputs[0]].f32_onnx = false;
	return DNNQ_OK;
}

/* ---- QuantizeLinear, DequantizeLinear ---- */

/* ---- per-axis QuantizeLinear / DequantizeLinear of an activation ---- */

/* The per-axis parameters of Q/DQ node n on x (its scale input 1, zero
 * point input 2 as floats, zeros when absent) as f32 constants shaped to
 * broadcast along the axis in the engine's layout. */
static int axis_params(struct lower *L, const struct dnnq_ir_node *n, int32_t x, int32_t *sref,
                       int32_t *zref)
{
	const struct dnnq_ir_value *xv = lval_ir(L, x);
	float *sc = NULL, *zf = NULL;
	int64_t *z = NULL;
	size_t ns = 0, nz = 0;
	int rc = const_f32(L, n, n->inputs[1], 0, &sc, &ns);
	if (rc)
		return rc;
	if (n->axis < (xv->batched ? 1 : 0) || n->axis >= (int64_t)xv->ndim ||
	    (size_t)xv->dims[n->axis] != ns) {
		rc = lower_err(L, n, DNNQ_E_UNSUPPORTED, "per-axis parameters: %zu scales along axis "
		               "%lld of '%s' (rank %u)%s", ns, (long long)n->axis, xv->name, xv->ndim,
		               xv->batched && n->axis == 0 ? ": not along the batch" : "");
		goto out;
	}
	if (!(zf = calloc(ns, sizeof *zf))) {
		rc = nomem(L);
		goto out;
	}
	if (n->ninputs > 2 && n->inputs[2] >= 0) {
		if ((rc = const_int(L, n, n->inputs[2], &z, &nz)))
			goto out;
		if (nz != ns) {
			rc = lower_err(L, n, DNNQ_E_SHAPE, "%zu zero points for %zu scales", nz, ns);
			goto out;
		}
		for (size_t i = 0; i < ns; i++)
			zf[i] = (float)z[i];
	}
	for (size_t i = 0; i < ns && !rc; i++)
		if (!(sc[i] > 0 && isfinite(sc[i])))
			rc = lower_err(L, n, DNNQ_E_RANGE, "scale[%zu] = %g: must be finite and positive",
			               i, sc[i]);
	if (rc)
		goto out;
	uint32_t a = engine_axis(xv, (uint32_t)n->axis), nd = xv->ndim - a;
	int64_t d[DNNQ_MAX_DIMS];
	for (uint32_t i = 0; i < nd; i++)
		d[i] = i ? 1 : (int64_t)ns;
	char nm[DNNQ_MODEL_NAME_MAX];
	model_name(nm, n->name, ":scale");
	if (!(rc = add_f32_constant(L, nm, sc, nd, d, sref))) {
		model_name(nm, n->name, ":zero_point");
		rc = add_f32_constant(L, nm, zf, nd, d, zref);
	}
out:
	free(sc);
	free(zf);
	free(z);
	return rc;
}

/* An fp32 node of registry kind `name` on a and b; *ref its value. */
static int f32_binary(struct lower *L, const struct dnnq_ir_node *n, const char *name,
                      const char *suffix, int32_t a, int32_t b, int32_t *ref)
{
	char nm[DNNQ_MODEL_NAME_MAX];
	model_name(nm, n->name, suffix);
	bool fp32 = L->fp32;
	L->fp32 = true;
	struct dnnq_model_node *mn = add_node(L, dnnq_op_find(name)->kind, nm, ref);
	L->fp32 = fp32;
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->ninputs = 2;
	mn->inputs[0] = a;
	mn->inputs[1] = b;
	return DNNQ_OK;
}

/* y = saturate(round(x / scale[c]) + zero_point[c]): fp32 div, round_add
 * (exact integers), then a quantize with scale 1 that saturates them. */
static int lower_quantize_axis(struct lower *L, const struct dnnq_ir_node *n)
{
	int32_t x = n->inputs[0], y = n->outputs[0], f, s, z, t, ref;
	int rc;
	if ((rc = need_f32(L, n, x, &f)) || (rc = axis_params(L, n, x, &s, &z)) ||
	    (rc = f32_binary(L, n, "div", ":div", f, s, &t)) ||
	    (rc = f32_binary(L, n, "round_add", ":round", t, z, &t)))
		return rc;
	struct dnnq_model_node *mn = add_node1(L, DNNQ_NODE_CONVERT, n->name, t, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->op = DNNQ_CONVERT_QUANTIZE;
	set_out_qp(mn, &L->qp[y]);
	L->v[y].u8 = ref;
	L->v[y].qp = L->qp[y];
	return DNNQ_OK;
}

/* y = (x - zero_point[c]) * scale[c] on x's integers: a dequantize with
 * scale 1, then fp32 sub and mul (exact, then ONNX's one rounding). */
static int lower_dequantize_axis(struct lower *L, const struct dnnq_ir_node *n)
{
	int32_t x = n->inputs[0], u, f, s, z, t, ref;
	int rc;
	if ((rc = need_u8(L, n, x, &u)))
		return rc;
	if (L->v[x].qp.scale != 1)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "'%s' holds no integers as they are (scale "
		                 "%g): per-axis dequantization", lval_ir(L, x)->name, L->v[x].qp.scale);
	char nm[DNNQ_MODEL_NAME_MAX];
	model_name(nm, n->name, ":int");
	struct dnnq_model_node *mn = add_node1(L, DNNQ_NODE_CONVERT, nm, u, &f);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->op = DNNQ_CONVERT_DEQUANTIZE;
	if ((rc = axis_params(L, n, x, &s, &z)) ||
	    (rc = f32_binary(L, n, "sub", ":sub", f, z, &t)) ||
	    (rc = f32_binary(L, n, "mul", ":mul", t, s, &ref)))
		return rc;
	L->v[n->outputs[0]].f32 = ref;
	L->v[n->outputs[0]].f32_onnx = false;
	return DNNQ_OK;
}

static int lower_quantize(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_input(L, n, 0, false);
	if (rc)
		return rc;
	if (per_axis(L, n))
		return lower_quantize_axis(L, n);
	int32_t x = n->inputs[0], y = n->outputs[0], ref;
	struct lval *lx = &L->v[x];
	struct dnnq_qparams qp = L->qp[y];
	const struct dnnq_ir_value *xv = lval_ir(L, x);
	if (lx->u8 >= 0 && qp_eq(&lx->qp, &qp)) {
		ref = lx->u8;
	} else if (lx->f32 >= 0) {
		struct dnnq_model_node *mn = add_node1(L, DNNQ_NODE_CONVERT, n->name, lx->f32, &ref);
		if (!mn)
			return DNNQ_E_NOMEM;
		mn->op = xv->ndim == 4 && lx->f32_onnx ? DNNQ_CONVERT_QUANTIZE_NCHW
		                                       : DNNQ_CONVERT_QUANTIZE;
		set_out_qp(mn, &qp);
		if (L->has_qp[x] && qp_eq(&L->qp[x], &qp)) {
			lx->u8 = ref;
			lx->qp = qp;
		}
	} else if (lx->u8 >= 0) {
		/* another quantization of the same real values, with no floats to
		 * read (from the floats it is ONNX's: requantized, another zero
		 * point clipped x at the first one's range) */
		int64_t d[DNNQ_MAX_DIMS];
		engine_dims(xv, d);
		size_t c = xv->ndim ? (size_t)d[xv->ndim - 1] : 1;
		float *a = malloc((c + 1) * sizeof *a);
		if (!a)
			return nomem(L);
		for (size_t i = 0; i < c; i++)
			a[i] = 1;
		char nm[DNNQ_MODEL_NAME_MAX];
		model_name(nm, n->name, ":a");
		int aid = add_f32_tensor(L, nm, a, c);
		free(a);
		if (aid < 0)
			return aid;
		struct dnnq_model_node *mn = add_node1(L, DNNQ_NODE_ELTWISE_LINEAR, n->name, lx->u8,
		                                       &ref);
		if (!mn)
			return DNNQ_E_NOMEM;
		mn->weight = aid;
		set_out_qp(mn, &qp);
	} else {
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s': %s", xv->name,
		                 is_const(L, x) ? "quantizing a constant" : "not computed");
	}
	L->v[y].u8 = ref;
	L->v[y].qp = qp;
	return DNNQ_OK;
}

static int lower_dequantize(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_input(L, n, 0, false);
	if (rc)
		return rc;
	int32_t x = n->inputs[0], y = n->outputs[0], ref;
	if (is_const(L, x))
		return DNNQ_OK;  /* a weight: its readers dequantize it (const_f32) */
	if (per_axis(L, n))
		return lower_dequantize_axis(L, n);
	if ((rc = need_u8(L, n, x, &ref)))
		return rc;
	if (!qp_eq(&L->v[x].qp, &L->qp[y]))
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "scale %g zero point %d: '%s' is quantized "
		                 "with scale %g zero point %d", L->qp[y].scale, L->qp[y].zero_point,
		                 lval_ir(L, x)->name, L->v[x].qp.scale, L->v[x].qp.zero_point);
	L->v[y].u8 = ref;
	L->v[y].qp = L->v[x].qp;
	return DNNQ_OK;
}

/* Cast of integers to float: the integers as they are (convert cast: an
 * s32 sum, or a u8 tensor whose storage is the ONNX integer, + 128 for
 * int8), in the engine's layout. */
static int lower_cast(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_input(L, n, 0, false);
	if (rc)
		return rc;
	int32_t x = n->inputs[0], in, ref;
	struct dnnq_qparams qp = raw_qp(lval_ir(L, x)->dtype);
	if (L->v[x].s32 < 0 && L->v[x].f32 >= 0 && lval_ir(L, x)->dtype == DNNQ_IR_S32) {
		/* a 4-D int32 graph input, cast to floats as it came in: those */
		L->v[n->outputs[0]].f32 = L->v[x].f32;
		L->v[n->outputs[0]].f32_onnx = L->v[x].f32_onnx;
		return DNNQ_OK;
	}
	if (L->v[x].s32 >= 0)
		in = L->v[x].s32;
	else if ((rc = need_u8(L, n, x, &in)))
		return rc;
	struct dnnq_model_node *mn = add_node1(L, DNNQ_NODE_CONVERT, n->name, in, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->op = DNNQ_CONVERT_CAST;
	set_out_qp(mn, &qp);
	L->v[n->outputs[0]].f32 = ref;
	L->v[n->outputs[0]].f32_onnx = false;
	return DNNQ_OK;
}

/* ---- QLinearConv, QLinearMatMul ---- */

/* Leaves q empty: qweights frees on failure, and Conv's and Gemm's exit path frees again. */
static void qweights_free(struct qweights *q)
{
	free(q->w);
	free(q->s);
	free(q->z);
	memset(q, 0, sizeof *q);
}

/* Weights wv with scales sv (-1: 1, an integer operator's) and zero points
 * zv (-1: 0), per tensor or per row, as int8 with their parameters. */
static int qweights_of(struct lower *L, const struct dnnq_ir_node *n, int32_t wv, int32_t sv,
                       int32_t zv, size_t rows, struct qweights *q)
{
	const struct dnnq_ir_value *w = lval_ir(L, wv);
	memset(q, 0, sizeof *q);
	if (!w->data || (w->dtype != DNNQ_IR_U8 && w->dtype != DNNQ_IR_S8))
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "weight '%s' must be a uint8 or int8 "
		                 "constant", w->name);
	int off = w->dtype == DNNQ_IR_U8 ? 128 : 0;
	size_t nw = dnnq_ir_numel(w, 1), ns = 1, nz = 0;
	int64_t *z = NULL;
	int rc = DNNQ_OK;
	if (sv >= 0)
		rc = const_f32(L, n, sv, 0, &q->s, &ns);
	else if (!(q->s = malloc(sizeof *q->s)))
		rc = nomem(L);
	else
		q->s[0] = 1.0f;
	if (!rc && zv >= 0)
		rc = const_int(L, n, zv, &z, &nz);
	if (!rc && ((ns != 1 && ns != rows) || (zv >= 0 && nz != 1 && nz != rows)))
		rc = lower_err(L, n, DNNQ_E_SHAPE, "weight scale (%zu) / zero point (%zu): want 1 or "
		               "%zu", ns, nz, rows);
	q->nq = ns == rows || nz == rows ? rows : 1;
	if (!rc && (!(q->w = malloc(nw + 1)) || !(q->z = calloc(q->nq, sizeof *q->z))))
		rc = nomem(L);
	if (!rc && ns != q->nq) {
		float *s = realloc(q->s, q->nq * sizeof *s);
		if (!s)
			rc = nomem(L);
		else
			for (size_t i = (q->s = s, 1); i < q->nq; i++)
				s[i] = s[0];
	}
	for (size_t i = 0; !rc && i < q->nq; i++) {
		int64_t zp = z ? z[nz == 1 ? 0 : i] : 0;
		q->z[i] = (int32_t)(zp - off);
		if (!(q->s[i] > 0 && isfinite(q->s[i])))
			rc = lower_err(L, n, DNNQ_E_RANGE, "weight scale %g: must be finite and positive",
			               q->s[i]);
	}
	for (size_t i = 0; !rc && i < nw; i++)
		q->w[i] = (int8_t)(off ? ((const uint8_t *)w->data)[i] - off
		                       : ((const int8_t *)w->data)[i]);
	free(z);
	if (rc)
		qweights_free(q);
	return rc;
}

static int qweights(struct lower *L, const struct dnnq_ir_node *n, uint32_t wi, size_t rows,
                    struct qweights *q)
{
	return qweights_of(L, n, n->inputs[wi], n->inputs[wi + 1],
	                   wi + 2 < n->ninputs ? n->inputs[wi + 2] : -1, rows, q);
}

static int qweight_tensor(struct lower *L, const char *node, const struct qweights *q,
                          const int8_t *w, uint32_t ndim, const int64_t *dims)
{
	char nm[DNNQ_MODEL_NAME_MAX];
	struct dnnq_qtensor *t;
	model_name(nm, node, ":weight");
	int id = add_tensor(L, nm, &t);
	if (id < 0)
		return id;
	int rc = dnnq_qtensor_set_type(t, DNNQ_DTYPE_S8, 8, true);
	if (!rc)
		rc = dnnq_qtensor_resize(t, ndim, dims);
	if (!rc)
		rc = q->nq == 1 ? dnnq_qtensor_set_qparams(t, &(struct dnnq_qparams){ q->s[0], q->z[0],
		                                                                       8, true })
		                : dnnq_qtensor_set_qparams_axis(t, 0, q->nq, q->s, q->z);
	if (rc)
		return dnnq_diag_set(L->diag, rc, "lower: weights '%s': cannot store", nm);
	memcpy(t->data, w, dnnq_qtensor_numel(t));
	return id;
}

/* The u8 input x of a quantized operator, whose tensor must carry (s, z). */
/* Input k of a QLinear operator (its scale input si, zero point zi) as
 * the u8 tensor it is, checked to carry those parameters. */
static int qlinear_input_k(struct lower *L, const struct dnnq_ir_node *n, uint32_t k,
                           uint32_t si, uint32_t zi, int32_t *ref)
{
	struct dnnq_qparams want;
	int rc = act_qparams(L, n, si, zi, lval_ir(L, n->inputs[k])->dtype, &want);
	if (rc || (rc = need_u8(L, n, n->inputs[k], ref)))
		return rc;
	const struct dnnq_qparams *has = &L->v[n->inputs[k]].qp;
	if (!qp_eq(has, &want))
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input scale %g zero point %d: '%s' is "
		                 "quantized with scale %g zero point %d", want.scale, want.zero_point,
		                 lval_ir(L, n->inputs[k])->name, has->scale, has->zero_point);
	return DNNQ_OK;
}

static int qlinear_input(struct lower *L, const struct dnnq_ir_node *n, int32_t *ref)
{
	return qlinear_input_k(L, n, 0, 1, 2, ref);
}

static int q_out(struct lower *L, const struct dnnq_ir_node *n, struct dnnq_model_node *mn,
                 int32_t ref)
{
	struct dnnq_qparams qp;
	int rc = act_qparams(L, n, 6, 7, lval_ir(L, n->outputs[0])->dtype, &qp);
	if (rc)
		return rc;
	set_out_qp(mn, &qp);
	mn->out_dtype = DNNQ_DTYPE_U8;
	mn->requant = DNNQ_REQUANT_FLOAT;
	L->v[n->outputs[0]].u8 = ref;
	L->v[n->outputs[0]].qp = qp;
	return DNNQ_OK;
}

/* QLinearConv's (and our QLinearMatMul's) int32 bias, n values; its tensor id. */
static int s32_bias(struct lower *L, const struct dnnq_ir_node *n, const int64_t *bias, size_t rows)
{
	struct dnnq_qtensor *t;
	char nm[DNNQ_MODEL_NAME_MAX];
	model_name(nm, n->name, ":bias");
	int id = add_tensor(L, nm, &t), rc;
	if (id < 0)
		return id;
	int64_t d = (int64_t)rows;
	if ((rc = dnnq_qtensor_set_type(t, DNNQ_DTYPE_S32, 32, true)) ||
	    (rc = dnnq_qtensor_resize(t, 1, &d)))
		return dnnq_diag_set(L->diag, rc, "lower: bias '%s': cannot store", nm);
	for (size_t i = 0; i < rows; i++) {
		if (bias[i] < INT32_MIN || bias[i] > INT32_MAX)
			return lower_err(L, n, DNNQ_E_RANGE, "bias[%zu] = %lld: not an int32", i,
			                 (long long)bias[i]);
		((int32_t *)t->data)[i] = (int32_t)bias[i];
	}
	return id;
}

/* The optional int32 bias input bi of n (rows values): *bias NULL when absent. */
static int q_bias(struct lower *L, const struct dnnq_ir_node *n, uint32_t bi, size_t rows,
                  int64_t **bias)
{
	size_t nb = 0;
	int rc;
	*bias = NULL;
	if (n->ninputs <= bi || n->inputs[bi] < 0)
		return DNNQ_OK;
	if (lval_ir(L, n->inputs[bi])->dtype != DNNQ_IR_S32)
		return lower_err(L, n, DNNQ_E_DTYPE, "bias '%s': %s, want int32",
		                 lval_ir(L, n->inputs[bi])->name,
		                 dnnq_ir_dtype_name(lval_ir(L, n->inputs[bi])->dtype));
	if ((rc = const_int(L, n, n->inputs[bi], bias, &nb)))
		return rc;
	if (nb != rows) {
		free(*bias);
		*bias = NULL;
		return lower_err(L, n, DNNQ_E_SHAPE, "bias has %zu elements, want %zu", nb, rows);
	}
	return DNNQ_OK;
}

/* What QLinearConv and QLinearMatMul read: the weights (rows output
 * channels), the optional int32 bias, a buffer w for rows x cols weights in
 * the engine's order, the u8 input x. On failure nothing is left to free. */
static int qlinear_operands(struct lower *L, const struct dnnq_ir_node *n, size_t rows,
                            size_t cols, struct qweights *q, int64_t **bias, int8_t **w,
                            int32_t *x)
{
	*bias = NULL;
	*w = NULL;
	int rc = qweights(L, n, 3, rows, q);
	if (rc)
		return rc;
	if (!(rc = q_bias(L, n, 8, rows, bias)) && !(*w = malloc(rows * cols + 1)))
		rc = nomem(L);
	if (!rc)
		rc = qlinear_input(L, n, x);
	if (rc) {
		qweights_free(q);
		free(*bias);
		free(*w);
	}
	return rc;
}

/* Their model node of kind reading x: the int8 weights w of shape dims
 * (ndim; rows = dims[0]) with q's parameters, the bias [rows] (NULL: none).
 * NULL with *rc set on failure. */
static struct dnnq_model_node *qlinear_node(struct lower *L, const struct dnnq_ir_node *n,
                                            enum dnnq_node_kind kind, int32_t x,
                                            const struct qweights *q, const int8_t *w,
                                            const int64_t *bias, uint32_t ndim,
                                            const int64_t *dims, int32_t *ref, int *rc)
{
	int wid = qweight_tensor(L, n->name, q, w, ndim, dims), bid = -1;
	if (wid < 0 || (bias && (bid = s32_bias(L, n, bias, (size_t)dims[0])) < 0)) {
		*rc = wid < 0 ? wid : bid;
		return NULL;
	}
	struct dnnq_model_node *mn = add_node1(L, kind, n->name, x, ref);
	if (!mn) {
		*rc = DNNQ_E_NOMEM;
		return NULL;
	}
	mn->weight = wid;
	mn->bias = bid;
	set_acc16(L, n, mn);
	*rc = DNNQ_OK;
	return mn;
}

static int lower_qlinearconv(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	/* x, x_scale, [x_zero_point], w, w_scale, [w_zero_point], y_scale, [y_zero_point], [B] */
	int rc = check_inputs(L, n, 9, 1u << 2 | 1u << 5 | 1u << 7 | 1u << 8);
	if (rc)
		return rc;
	int64_t cout, cig, kh, kw;
	if ((rc = conv_shapes(L, n, n->inputs[0], n->inputs[3], &cout, &cig, &kh, &kw)))
		return rc;
	struct qweights q;
	int64_t *bias;
	int8_t *wt;
	int32_t x, ref;
	size_t rows = (size_t)cout, cols = (size_t)(cig * kh * kw);
	if ((rc = qlinear_operands(L, n, rows, cols, &q, &bias, &wt, &x)))
		return rc;
	oihw_to_ohwi(q.w, wt, rows, (size_t)cig, (size_t)kh, (size_t)kw, 1);
	int64_t dims[4] = { cout, kh, kw, cig };
	struct dnnq_model_node *mn = qlinear_node(L, n, DNNQ_NODE_CONV, x, &q, wt, bias, 4, dims,
	                                          &ref, &rc);
	if (mn && !(rc = conv_geometry(L, n, 3, mn)))
		rc = q_out(L, n, mn, ref);
	qweights_free(&q);
	free(bias);
	free(wt);
	return rc;
}

/* QLinearMatMul that is no GEMM (dnnq_ir_matmul_is_gemm: an activation b,
 * a b not 2-D, a 4-D a): the registry's matmul on the u8 tensors (int8
 * stored + 128), per-tensor parameters. */
static int lower_qlinearmatmul_nd(struct lower *L, const struct dnnq_ir_node *n)
{
	int32_t in[2], ref, b = n->inputs[3];
	const struct dnnq_ir_value *bv = lval_ir(L, b);
	struct dnnq_qparams qb;
	int rc = qlinear_input_k(L, n, 0, 1, 2, &in[0]);
	if (rc)
		return rc;
	if (bv->data) {
		char nm[DNNQ_MODEL_NAME_MAX];
		model_name(nm, n->name, ":b");
		rc = act_qparams(L, n, 4, 5, bv->dtype, &qb);
		if (!rc)
			rc = add_q8_constant(L, nm, bv->data, bv->dtype == DNNQ_IR_S8, bv->ndim, bv->dims,
			                     &qb, &in[1]);
	} else {
		rc = qlinear_input_k(L, n, 3, 4, 5, &in[1]);
	}
	if (rc)
		return rc;
	struct dnnq_model_node *mn = matmul_node(L, n, in[0], in[1], b, bv->data != NULL, &ref);
	return mn ? q_out(L, n, mn, ref) : DNNQ_E_NOMEM;
}

static int lower_qlinearmatmul(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	/* x, x_scale, [x_zero_point], w, w_scale, [w_zero_point], y_scale, [y_zero_point], [B] */
	int rc = check_inputs(L, n, 9, 1u << 2 | 1u << 5 | 1u << 7 | 1u << 8);
	if (rc)
		return rc;
	const struct dnnq_ir_value *bv = lval_ir(L, n->inputs[3]);
	if (!dnnq_ir_matmul_is_gemm(lval_ir(L, n->inputs[0]), bv))   /* the registry's matmul */
		return lower_qlinearmatmul_nd(L, n);
	size_t k = (size_t)bv->dims[0], nn = (size_t)bv->dims[1];
	if ((rc = matmul_a(L, n, n->inputs[0], k)))
		return rc;
	const struct lval *la = &L->v[n->inputs[0]];
	if (la->perm && (size_t)(la->pc * la->ph * la->pw) != k)
		return lower_err(L, n, DNNQ_E_SHAPE, "flattened input: %zu elements", k);
	struct qweights q;
	int8_t *w;
	int64_t *bias;
	int32_t x, ref;
	if ((rc = qlinear_operands(L, n, nn, k, &q, &bias, &w, &x)))
		return rc;
	for (size_t r = 0; r < nn; r++)
		for (size_t c = 0; c < k; c++)
			w[r * k + c] = q.w[c * nn + r];
	if ((rc = permute_cols(L, la, w, nn, k, 1)))
		goto out;
	int64_t dims[2] = { (int64_t)nn, (int64_t)k };
	struct dnnq_model_node *mn = qlinear_node(L, n, DNNQ_NODE_FC, x, &q, w, bias, 2, dims,
	                                          &ref, &rc);
	if (!mn)
		goto out;
	mn->n = (uint32_t)nn;
	mn->k = (uint32_t)k;
	rc = q_out(L, n, mn, ref);
out:
	qweights_free(&q);
	free(w);
	free(bias);
	return rc;
}

/* ConvInteger and MatMulInteger: the exact int32 sums of (x - xz) * (w -
 * wz), the engine's conv or fc with an s32 output; x's tensor carries xz
 * (the QDQ pass gave it), w (constant) its zero points, scales 1. The
 * result is an int32 value: a graph output (nothing in the engine reads
 * int32 values). */
static int lower_integer(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	bool conv = n->op == DNNQ_IR_CONVINTEGER;
	int rc = check_inputs(L, n, 4, 1u << 2 | 1u << 3);
	if (rc)
		return rc;
	int64_t cout = 0, cig = 0, kh = 1, kw = 1;
	const struct dnnq_ir_value *av = lval_ir(L, n->inputs[0]), *bv = lval_ir(L, n->inputs[1]);
	const struct lval *la = &L->v[n->inputs[0]];
	if (conv) {
		rc = conv_shapes(L, n, n->inputs[0], n->inputs[1], &cout, &cig, &kh, &kw);
	} else if (bv->ndim != 2) {
		rc = lower_err(L, n, DNNQ_E_UNSUPPORTED, "b of rank %u: want a [K, M] constant b",
		               bv->ndim);
	} else if (!(rc = matmul_a(L, n, n->inputs[0], (size_t)bv->dims[0]))) {
		cout = bv->dims[1];
		cig = bv->dims[0];
	}
	if (rc)
		return rc;
	size_t rows = (size_t)cout, cols = (size_t)(cig * kh * kw);
	struct qweights q;
	int8_t *wt = malloc(rows * cols + 1);
	int32_t x, ref;
	if (!wt)
		return nomem(L);
	if ((rc = qweights_of(L, n, n->inputs[1], -1, n->ninputs > 3 ? n->inputs[3] : -1, rows,
	                      &q))) {
		free(wt);
		return rc;
	}
	if (conv)
		oihw_to_ohwi(q.w, wt, rows, (size_t)cig, (size_t)kh, (size_t)kw, 1);
	else
		for (size_t r = 0; r < rows; r++)
			for (size_t c = 0; c < cols; c++)
				wt[r * cols + c] = q.w[c * rows + r];
	struct dnnq_model_node *mn = NULL;
	int64_t dims[4] = { cout, kh, kw, cig }, fdims[2] = { cout, cig };
	int32_t xz = 0;
	if (!(rc = conv ? DNNQ_OK : permute_cols(L, la, wt, rows, cols, 1)) &&
	    !(rc = need_u8(L, n, n->inputs[0], &x)) && !(rc = integer_zero_point(L, n, &xz)) &&
	    L->v[n->inputs[0]].qp.zero_point != xz)
		rc = lower_err(L, n, DNNQ_E_UNSUPPORTED, "x zero point %d: '%s' is stored with %d",
		               xz, av->name, L->v[n->inputs[0]].qp.zero_point);
	if (!rc)
		mn = qlinear_node(L, n, conv ? DNNQ_NODE_CONV : DNNQ_NODE_FC, x, &q, wt, NULL,
		                  conv ? 4 : 2, conv ? dims : fdims, &ref, &rc);
	if (mn && conv)
		rc = conv_geometry(L, n, 1, mn);
	if (mn && !rc) {
		mn->n = conv ? 0 : (uint32_t)cout;
		mn->k = conv ? 0 : (uint32_t)cig;
		mn->out_dtype = DNNQ_DTYPE_S32;
		L->v[n->outputs[0]].s32 = ref;
	}
	qweights_free(&q);
	free(wt);
	return rc;
}

/* ---- vision: the registry kinds of engine/ops/ ---- */

/* Resize, Upsample: H and W of a 4-D image, in the input's quantization. */
static int lower_resize(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	const struct dnnq_ir_value *yv = lval_ir(L, n->outputs[0]);
	int32_t ref;
	int rc;
	struct dnnq_model_node *mn = simple(L, n, n->kind, 4, &ref, &rc);
	if (!mn)
		return rc;
	mn->op = n->mode;
	mn->params[0] = n->scales[0];
	mn->params[1] = n->scales[1];
	if (DNNQ_RESIZE_INTERP(n->mode) == DNNQ_RESIZE_CUBIC) {
		mn->params[2] = n->alpha;
		mn->params[3] = n->beta;
	}
	mn->ndim = 2;
	mn->dims[0] = yv->dims[2];
	mn->dims[1] = yv->dims[3];
	return input_qp_out(L, n, n->outputs[0], mn, ref);
}

/* ConvTranspose: the weight reordered from ONNX's cin x cout / group x kh
 * x kw to cout x cin / group x kh x kw (output channels first: the rows
 * quantized per channel), quantized to s8 (int8) or kept f32; the bias
 * f32. */
static int lower_convtranspose(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_inputs(L, n, 3, 4);
	if (rc)
		return rc;
	const struct dnnq_ir_value *wv = lval_ir(L, n->inputs[1]), *yv = lval_ir(L, n->outputs[0]);
	size_t cin = (size_t)wv->dims[0], cog = (size_t)wv->dims[1], cout = (size_t)yv->dims[1];
	size_t taps = (size_t)(wv->dims[2] * wv->dims[3]), cig = cin / (size_t)n->group, nw, nb;
	float *w = NULL, *b = NULL, *wr = NULL;
	char nm[DNNQ_MODEL_NAME_MAX];
	int wid, bid = -1;
	int32_t ref;
	if ((rc = const_f32(L, n, n->inputs[1], cin * cog * taps, &w, &nw)))
		return rc;
	if (!(wr = malloc(nw * sizeof *wr))) {
		free(w);
		return nomem(L);
	}
	for (size_t ci = 0; ci < cin; ci++)
		for (size_t co = 0; co < cog; co++)
			memcpy(wr + ((ci / cig * cog + co) * cig + ci % cig) * taps,
			       w + (ci * cog + co) * taps, taps * sizeof *w);
	model_name(nm, n->name, ":w");
	int64_t wd[4] = { (int64_t)cout, (int64_t)cig, wv->dims[2], wv->dims[3] };
	wid = L->fp32 ? add_f32_tensor(L, nm, wr, nw) : add_weight_tensor(L, nm, wr, cout,
	                                                                   cig * taps, 4, wd);
	free(w);
	free(wr);
	if (wid < 0)
		return wid;
	if (n->inputs[2] >= 0) {
		if ((rc = const_f32(L, n, n->inputs[2], cout, &b, &nb)))
			return rc;
		model_name(nm, n->name, ":b");
		bid = add_f32_tensor(L, nm, b, nb);
		free(b);
		if (bid < 0)
			return bid;
	}
	struct dnnq_model_node *mn = simple(L, n, n->kind, 4, &ref, &rc);
	if (!mn)
		return rc;
	mn->weight = wid;
	mn->bias = bid;
	mn->cin = (uint32_t)cin;
	mn->cout = (uint32_t)cout;
	mn->groups = (uint32_t)n->group;
	mn->kernel[0] = (uint32_t)n->kernel[0];
	mn->kernel[1] = (uint32_t)n->kernel[1];
	mn->ndim = 2;
	mn->dims[0] = yv->dims[2];
	mn->dims[1] = yv->dims[3];
	if ((rc = map_attrs(L, n, mn)))
		return rc;
	return act_out(L, n, n->outputs[0], mn, ref);
}

/* One slice or pad node (engine/remap.h) of n's input producing IR value
 * out, node name name: per ONNX axis i, start[i] and step[i], moved to the
 * engine's layout; in the input's quantization. */
static int remap_node(struct lower *L, const struct dnnq_ir_node *n, int32_t out,
                      const char *name, const int64_t *start, const int64_t *step)
{
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]), *yv = lval_ir(L, out);
	int32_t x, ref;
	int rc;
	if (L->v[n->inputs[0]].perm)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s' is a flattened NCHW tensor",
		                 xv->name);
	if (!xv->batched || xv->ndim < 1 || xv->ndim > DNNQ_MAX_DIMS)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s': want a batched activation of "
		                 "rank 1..%d", xv->name, DNNQ_MAX_DIMS);
	if ((rc = need_act(L, n, n->inputs[0], &x)))
		return rc;
	struct dnnq_model_node *mn = add_node1(L, n->kind, name, x, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->op = n->mode;
	mn->params[0] = n->value;
	mn->ndim = xv->ndim;
	engine_dims(yv, mn->dims);
	for (uint32_t i = 0; i < xv->ndim; i++) {
		uint32_t e = engine_axis(xv, i);
		mn->starts[e] = start[i];
		mn->steps[e] = step[i];
	}
	return input_qp_out(L, n, out, mn, ref);
}

/* Slice and Pad: one remap node; Split: one slice node per output read. */
static int lower_remap(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_input(L, n, 0, false);
	if (rc || !n->split)
		return rc ? rc : remap_node(L, n, n->outputs[0], n->name, n->starts, n->steps);
	int64_t start[DNNQ_IR_MAX_DIMS] = { 0 }, step[DNNQ_IR_MAX_DIMS];
	for (uint32_t i = 0; i < DNNQ_IR_MAX_DIMS; i++)
		step[i] = 1;
	if (n->axis < 0 || n->axis >= DNNQ_IR_MAX_DIMS)
		return lower_err(L, n, DNNQ_E_RANGE, "axis %lld", (long long)n->axis);
	for (uint32_t k = 0; k < n->noutputs; k++) {
		const struct dnnq_ir_value *yv = lval_ir(L, n->outputs[k]);
		if (L->nreaders[n->outputs[k]] &&
		    (rc = remap_node(L, n, n->outputs[k], yv->name, start, step)))
			return rc;
		start[n->axis] += yv->dims[n->axis];
	}
	return DNNQ_OK;
}

/* Gather: a gather node on the engine's axis with the indices an s32
 * tensor; a scalar index drops the axis through a view, where the
 * engine's element order is the ONNX one (not 4-D, or the channels of
 * 4-D), and a transpose to NHWC after it for a 4-D result (q of an
 * attention's [N, 3, heads, L, d]). */
static int lower_gather(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_inputs(L, n, 2, 0);
	if (rc)
		return rc;
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]), *yv = lval_ir(L, n->outputs[0]);
	bool scalar = yv->ndim < xv->ndim;
	if (n->axis < 1 || n->axis >= (int64_t)xv->ndim || !xv->batched || L->v[n->inputs[0]].perm ||
	    (scalar && xv->ndim == 4 && n->axis != 1))
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "axis %lld of '%s' (rank %u)%s",
		                 (long long)n->axis, xv->name, xv->ndim, scalar ? " with a scalar "
		                 "index: the engine's layout would reorder the result" : "");
	int64_t *idx;
	size_t cnt;
	if ((rc = const_int(L, n, n->inputs[1], &idx, &cnt)))
		return rc;
	int32_t *i32 = malloc((cnt ? cnt : 1) * sizeof *i32);
	int64_t dim = xv->dims[n->axis];
	for (size_t k = 0; i32 && k < cnt; k++)
		i32[k] = (int32_t)(idx[k] < 0 ? idx[k] + dim : idx[k]);
	for (size_t k = 0; i32 && !rc && k < cnt; k++)
		if (i32[k] < 0 || i32[k] >= dim)
			rc = lower_err(L, n, DNNQ_E_RANGE, "indices[%zu] = %lld: axis %lld has %lld "
			               "elements", k, (long long)idx[k], (long long)n->axis, (long long)dim);
	char nm[DNNQ_MODEL_NAME_MAX];
	model_name(nm, n->name, ":indices");
	int tid = rc ? rc : i32 ? add_s32_tensor(L, nm, i32, cnt) : nomem(L);
	free(idx);
	free(i32);
	if (tid < 0)
		return tid;
	struct dnnq_ir_value g = *xv;          /* the gather's output: input 0's rank */
	g.dims[n->axis] = (int64_t)cnt;
	int32_t x, ref;
	if ((rc = need_act(L, n, n->inputs[0], &x)))
		return rc;
	bool nhwc = scalar && yv->ndim == 4;   /* the node's name is the reshape's */
	model_name(nm, n->name, ":gather");
	struct dnnq_model_node *mn = add_node1(L, n->kind, nhwc ? nm : n->name, x, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->axis = engine_axis(xv, (uint32_t)n->axis);
	mn->weight = tid;
	mn->ndim = xv->ndim;
	engine_dims(&g, mn->dims);
	rc = input_qp_out(L, n, n->outputs[0], mn, ref);
	if (rc || !scalar)
		return rc;
	return nhwc ? lower_reshape_reordered(L, n, ref, L->fp32) : reshape_output(L, n, ref);
}

/* GatherElements' constant indices (int64 of shape iv, its rank or one
 * less: a value the batch fix lifted gets a leading 1) as the s32 tensor
 * of one batch item in the engine's layout (NHWC at rank 4), negative ones
 * counted from the end (the import checked the range); its id. */
static int ge_indices(struct lower *L, const struct dnnq_ir_node *n,
                      const struct dnnq_ir_value *xv, const struct dnnq_ir_value *iv)
{
	int64_t *idx, dim = xv->dims[n->axis], d[DNNQ_MAX_DIMS] = { 1 };
	size_t cnt;
	uint32_t lift = xv->ndim - iv->ndim;
	int rc = const_int(L, n, n->inputs[1], &idx, &cnt);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < iv->ndim; i++)
		d[i + lift] = iv->dims[i];
	int32_t *i32 = malloc((cnt ? cnt : 1) * sizeof *i32), *t = i32;
	if (i32 && xv->ndim == 4 && (t = malloc((cnt ? cnt : 1) * sizeof *t)))
		for (size_t k = 0; k < cnt; k++) {   /* NCHW order to NHWC */
			size_t w = k % (size_t)d[3], h = k / (size_t)d[3] % (size_t)d[2];
			size_t c = k / (size_t)(d[2] * d[3]) % (size_t)d[1];
			size_t b = k / (size_t)(d[1] * d[2] * d[3]);
			t[((b * (size_t)d[2] + h) * (size_t)d[3] + w) * (size_t)d[1] + c] =
				(int32_t)(idx[k] < 0 ? idx[k] + dim : idx[k]);
		}
	else
		for (size_t k = 0; i32 && k < cnt; k++)
			i32[k] = (int32_t)(idx[k] < 0 ? idx[k] + dim : idx[k]);
	free(idx);
	int64_t ed[DNNQ_MAX_DIMS];
	struct dnnq_ir_value v = { .ndim = xv->ndim };
	memcpy(v.dims, d, sizeof d);
	engine_dims(&v, ed);
	char nm[DNNQ_MODEL_NAME_MAX];
	model_name(nm, n->name, ":indices");
	int tid = t ? add_tensor_nd(L, nm, DNNQ_DTYPE_S32, t, xv->ndim, ed) : nomem(L);
	if (t != i32)
		free(t);
	free(i32);
	return tid;
}

/* GatherElements: the registry's gather_elements on the engine's layout
 * (input and indices share it), the indices computed (input 1: s32, or
 * f32 integers, which make the node fp32) or a constant (the weight);
 * int8 moves the u8 codes, keeping the input's parameters. */
static int lower_gather_elements(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_inputs(L, n, 2, 0);
	if (rc)
		return rc;
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]), *iv = lval_ir(L, n->inputs[1]);
	bool constant = is_const(L, n->inputs[1]);
	int32_t ids = L->v[n->inputs[1]].s32, x, ref;
	if (!constant && iv->integer && (rc = need_f32(L, n, n->inputs[1], &ids)))
		return rc;
	if (n->axis < 1 || !xv->batched || L->v[n->inputs[0]].perm ||
	    (constant ? iv->ndim + 1 < xv->ndim : ids < 0 || L->v[n->inputs[1]].perm))
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "indices '%s' on axis %lld of '%s' (rank "
		                 "%u): want a batched input, an axis but the batch and int32 indices "
		                 "(computed, or a constant)", iv->name, (long long)n->axis, xv->name,
		                 xv->ndim);
	if ((rc = need_act(L, n, n->inputs[0], &x)))
		return rc;
	int tid = constant ? ge_indices(L, n, xv, iv) : -1;
	if (tid < -1)
		return tid;
	struct dnnq_model_node *mn = add_node1(L, n->kind, n->name, x, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->axis = engine_axis(xv, (uint32_t)n->axis);
	mn->weight = tid;
	if (!constant) {
		mn->ninputs = 2;
		mn->inputs[1] = ids;
	}
	return input_qp_out(L, n, n->outputs[0], mn, ref);
}

/* Computed indices of node n (input k): the s32 tensor, or (integer
 * arithmetic, a 4-D int32 graph input) the f32 one; the engine reads them
 * every run. */
static int computed_indices(struct lower *L, const struct dnnq_ir_node *n, uint32_t k,
                            int32_t *ids)
{
	const struct dnnq_ir_value *iv = lval_ir(L, n->inputs[k]);
	*ids = L->v[n->inputs[k]].s32;
	if (!L->v[n->inputs[k]].perm && (iv->integer || (*ids < 0 && L->v[n->inputs[k]].f32 >= 0)))
		return need_f32(L, n, n->inputs[k], ids);
	if (*ids < 0 || L->v[n->inputs[k]].perm)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "indices '%s': want int32 ones (computed) "
		                 "in the engine's layout", iv->name);
	return DNNQ_OK;
}

/* ScatterElements, ScatterND and GatherND by computed indices: the
 * registry's scatter_elements (on the engine's layout, which its data,
 * indices and updates share: the axis composed with it), scatter_nd and
 * gather_nd (which read every tensor in ONNX's order: the axis as it is,
 * ONNX's batch_dims after the batch); the reduction the node's op. The
 * scatters are fp32 by the registry; gather_nd's int8 moves the u8 codes,
 * keeping the data's parameters. */
static int lower_indexed(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	const struct dnnq_op_def *def = dnnq_op_get(n->kind);
	int32_t in[3], ref;
	int rc = check_inputs(L, n, def->max_inputs, 0);
	if (rc || (rc = computed_indices(L, n, 1, &in[1])))
		return rc;
	const struct dnnq_ir_value *xv = lval_ir(L, n->inputs[0]);
	for (uint32_t k = 0; k < def->max_inputs; k += 2) {
		if (L->v[n->inputs[k]].perm || !lval_ir(L, n->inputs[k])->batched || n->axis < 1)
			return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s', axis %lld: want a "
			                 "batched value and an axis but the batch",
			                 lval_ir(L, n->inputs[k])->name, (long long)n->axis);
		if ((rc = need_act(L, n, n->inputs[k], &in[k])))
			return rc;
	}
	struct dnnq_model_node *mn = add_node1(L, n->kind, n->name, in[0], &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->ninputs = def->max_inputs;
	memcpy(mn->inputs + 1, in + 1, (def->max_inputs - 1) * sizeof *in);
	mn->axis = strcmp(def->name, "scatter_elements") ? (uint32_t)n->axis
	                                                 : engine_axis(xv, (uint32_t)n->axis);
	mn->op = dnnq_op_has(def, DNNQ_A_OP) ? n->mode : 0;
	return input_qp_out(L, n, n->outputs[0], mn, ref);
}

/* MaxUnpool: the registry's maxunpool (fp32 by the registry), the values
 * and their computed indices in the engine's layout (both 4-D NHWC, element
 * for element), the output's H and W in dims. */
static int lower_maxunpool(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	const struct dnnq_ir_value *yv = lval_ir(L, n->outputs[0]);
	int32_t in[2], ref;
	int rc = check_inputs(L, n, 2, 0);
	if (rc || (rc = computed_indices(L, n, 1, &in[1])) ||
	    (rc = need_act(L, n, n->inputs[0], &in[0])))
		return rc;
	struct dnnq_model_node *mn = add_node2(L, n->kind, n->name, in[0], in[1], &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->ndim = 2;
	mn->dims[0] = yv->dims[2];
	mn->dims[1] = yv->dims[3];
	return input_qp_out(L, n, n->outputs[0], mn, ref);
}

/* GridSample: the registry's grid_sample (fp32 by the registry: no int8
 * kernel), image and grid in the engine's layout (the kind reads the
 * grid's NHWC there); mode, padding and align_corners in op. */
static int lower_grid_sample(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int32_t in[2], ref;
	int rc = check_inputs(L, n, 2, 0);
	for (uint32_t k = 0; !rc && k < 2; k++) {
		if (L->v[n->inputs[k]].perm || !lval_ir(L, n->inputs[k])->batched)
			return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s': want a batched 4-D "
			                 "value", lval_ir(L, n->inputs[k])->name);
		rc = need_act(L, n, n->inputs[k], &in[k]);
	}
	if (rc)
		return rc;
	struct dnnq_model_node *mn = add_node2(L, n->kind, n->name, in[0], in[1], &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->op = n->mode;
	return act_out(L, n, n->outputs[0], mn, ref);
}

/* An embedding: the table a model tensor [V, D] f32, the ids the int32
 * graph input (or a view of one), the output f32 [N, T..., D], not 4-D
 * (whose engine layout would reorder it). */
static int lower_embed(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_inputs(L, n, 2, 0);
	if (rc)
		return rc;
	const struct dnnq_ir_value *tv = lval_ir(L, n->inputs[0]), *yv = lval_ir(L, n->outputs[0]);
	int32_t ids = L->v[n->inputs[1]].s32, ref;
	/* ids the graph computed: floats holding integers */
	if (lval_ir(L, n->inputs[1])->integer && (rc = need_f32(L, n, n->inputs[1], &ids)))
		return rc;
	if (ids < 0 || yv->ndim == 4 || tv->ndim != 2)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "ids '%s' into table '%s' (rank %u): want "
		                 "int32 ids a graph input holds (or integers computed from one), of "
		                 "rank 1, 2 or 4..7, into a 2-D table",
		                 lval_ir(L, n->inputs[1])->name, tv->name, tv->ndim);
	float *t;
	size_t k;
	if ((rc = const_f32(L, n, n->inputs[0], 0, &t, &k)))
		return rc;
	char nm[DNNQ_MODEL_NAME_MAX];
	model_name(nm, n->name, ":table");
	int tid = add_tensor_nd(L, nm, DNNQ_DTYPE_F32, t, 2, tv->dims);
	free(t);
	if (tid < 0)
		return tid;
	struct dnnq_model_node *mn = add_node1(L, n->kind, n->name, ids, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->weight = tid;
	return act_out(L, n, n->outputs[0], mn, ref);
}

/* Expand of a constant to the batch: the constant (its dims aligned with
 * the output's, 1 where it has none; NHWC for 4-D) a new model constant in
 * the node's precision (u8 with its own min/max), the output in its
 * quantization. */
static int lower_expand(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	int rc = check_inputs(L, n, 1, 0);
	if (rc)
		return rc;
	const struct dnnq_ir_value *cv = lval_ir(L, n->inputs[0]), *yv = lval_ir(L, n->outputs[0]);
	uint32_t R = yv->ndim;
	if (!is_const(L, n->inputs[0]) || !yv->batched || R < 1 || R > DNNQ_MAX_DIMS ||
	    cv->ndim > R)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s' (rank %u) to a batched output "
		                 "of rank %u: want a constant of at most its rank", cv->name, cv->ndim,
		                 R);
	float *c, *t = NULL;
	size_t k;
	if ((rc = const_f32(L, n, n->inputs[0], 0, &c, &k)))
		return rc;
	int64_t cd[DNNQ_MAX_DIMS], yd[DNNQ_MAX_DIMS];
	for (uint32_t i = 0; i < R; i++)
		cd[i] = i + cv->ndim >= R ? cv->dims[i + cv->ndim - R] : 1;
	if (R == 4) {                  /* NCHW to the engine's NHWC */
		if (!(t = malloc((k ? k : 1) * sizeof *t))) {
			free(c);
			return nomem(L);
		}
		oihw_to_ohwi(c, t, (size_t)cd[0], (size_t)cd[1], (size_t)cd[2], (size_t)cd[3],
		             sizeof *t);
		int64_t ch = cd[1];
		cd[1] = cd[2];
		cd[2] = cd[3];
		cd[3] = ch;
	}
	char nm[DNNQ_MODEL_NAME_MAX];
	int32_t in, ref;
	model_name(nm, n->name, ":const");
	rc = add_constant_nd(L, nm, t ? t : c, R, cd, &in);
	free(c);
	free(t);
	if (rc)
		return rc;
	struct dnnq_model_node *mn = add_node1(L, n->kind, n->name, in, &ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->ndim = R;
	engine_dims(yv, yd);
	memcpy(mn->dims, yd, sizeof yd);
	if (L->fp32)
		return act_out(L, n, n->outputs[0], mn, ref);
	L->v[n->outputs[0]].u8 = ref;
	return dnnq_qtensor_qparams(&L->m->tensors[L->m->constants[in - REF_CONST]].t, 0,
	                            &L->v[n->outputs[0]].qp);
}

/* A registry operator: the lowering of its kind by name, elementwise ones
 * (unary and binary) otherwise. */
static int lower_engine(struct lower *L, size_t j)
{
	static const struct {
		const char *kind;
		int (*fn)(struct lower *L, size_t j);
	} by_kind[] = {
		{ "resize", lower_resize }, { "convtranspose", lower_convtranspose },
		{ "slice", lower_remap }, { "pad", lower_remap }, { "gather", lower_gather },
		{ "transpose", lower_transpose }, { "matmul", lower_matmul },
		{ "reduce_mean", lower_reduce }, { "reduce_sum", lower_reduce },
		{ "reduce_max", lower_reduce }, { "reduce_prod", lower_reduce },
		{ "logsoftmax", lower_logsoftmax }, { "hardmax", lower_hardmax },
		{ "layernorm", lower_layernorm }, { "lrn", lower_lrn }, { "expand", lower_expand },
		{ "embed", lower_embed }, { "argmax", lower_arg }, { "argmin", lower_arg },
		{ "topk", lower_topk }, { "gather_elements", lower_gather_elements },
		{ "grid_sample", lower_grid_sample }, { "scatter_elements", lower_indexed },
		{ "maxunpool", lower_maxunpool },
		{ "scatter_nd", lower_indexed }, { "gather_nd", lower_indexed },
	};
	const struct dnnq_op_def *def = dnnq_op_get(NODE(j)->kind);
	for (size_t i = 0; def && i < sizeof by_kind / sizeof by_kind[0]; i++)
		if (!strcmp(def->name, by_kind[i].kind))
			return by_kind[i].fn(L, j);
	return lower_elementwise(L, j);
}

int lower_node(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = NODE(j);
	switch (n->op) {
	case DNNQ_IR_CONV:          return lower_conv(L, j);
	case DNNQ_IR_GEMM:          return lower_gemm(L, j);
	case DNNQ_IR_BATCHNORM:     return lower_bn(L, j);
	case DNNQ_IR_RELU:
	case DNNQ_IR_LEAKYRELU:
	case DNNQ_IR_CLIP:
	case DNNQ_IR_SIGMOID:
	case DNNQ_IR_TANH:
	case DNNQ_IR_HARDSIGMOID:
	case DNNQ_IR_HARDSWISH:
	case DNNQ_IR_ELU:
	case DNNQ_IR_SELU:
	case DNNQ_IR_CELU:
	case DNNQ_IR_SHRINK:
	case DNNQ_IR_THRESHOLDEDRELU: return lower_activation(L, j);
	case DNNQ_IR_MAXPOOL:
	case DNNQ_IR_AVGPOOL:
	case DNNQ_IR_GAVGPOOL:      return lower_pool(L, j);
	case DNNQ_IR_ADD:
	case DNNQ_IR_MUL:           return lower_binary(L, j);
	case DNNQ_IR_ENGINE:        return lower_engine(L, j);
	case DNNQ_IR_SUM:
	case DNNQ_IR_CONCAT:        return lower_multi(L, j);
	case DNNQ_IR_RESHAPE:       return lower_reshape(L, j);
	case DNNQ_IR_SOFTMAX:       return lower_softmax(L, j);
	case DNNQ_IR_QUANTIZE:      return lower_quantize(L, j);
	case DNNQ_IR_DEQUANTIZE:    return lower_dequantize(L, j);
	case DNNQ_IR_QLINEARCONV:   return lower_qlinearconv(L, j);
	case DNNQ_IR_QLINEARMATMUL: return lower_qlinearmatmul(L, j);
	case DNNQ_IR_CONVINTEGER:
	case DNNQ_IR_MATMULINTEGER: return lower_integer(L, j);
	case DNNQ_IR_CAST:          return lower_cast(L, j);
	case DNNQ_IR_DYNQUANT:
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "DynamicQuantizeLinear: per-call "
		                 "quantization is only supported inside Gemm (--dynamic)");
	default:
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "operator %d: unknown", (int)n->op);
	}
}
