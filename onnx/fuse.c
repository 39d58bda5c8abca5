/*
 * onnx/fuse.c — activation fusions on the imported IR (onnx/fuse.h).
 *
 * Each node is tried as the last node of every pattern: the matcher walks
 * back from its inputs through producers that only it reads, recording them
 * to die, and gives the pattern's x when the walk meets the same x at every
 * place the formula names it. A failed branch forgets what it recorded.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/op.h"
#include "onnx/fuse.h"
#include "onnx/qdq.h"

#define FUSE_TOL 1e-4          /* a constant's relative distance from the formula's */
#define FUSE_MAX_NODES 8       /* the longest pattern's intermediate nodes */

struct match {
	const struct dnnq_ir *ir;
	const int32_t *readers;    /* node inputs reading a value; graph outputs count 2 */
	const bool *dead;
	uint32_t kdiv;             /* the registry's div kind */
	int32_t kill[FUSE_MAX_NODES];
	int n;
};

typedef int32_t (*pattern_fn)(struct match *m, int32_t v);

const char *dnnq_ir_fusion_name(enum dnnq_ir_fusion f)
{
	static const char *const names[] = {
		[DNNQ_IR_FUSED_HARDSWISH_CLIP] = "x*Clip(x+3,0,6)/6 -> HardSwish",
		[DNNQ_IR_FUSED_HARDSWISH_HSIG] = "x*HardSigmoid(x) -> HardSwish",
		[DNNQ_IR_FUSED_SWISH] = "x*Sigmoid(x) -> Swish",
		[DNNQ_IR_FUSED_GELU] = "x*0.5*(1+Erf(x/sqrt2)) -> GELU",
		[DNNQ_IR_FUSED_LAYERNORM] = ("ReduceMean,Sub,Pow,ReduceMean,Add,Sqrt,Div,Mul[,Add] -> "
		                             "LayerNormalization"),
		[DNNQ_IR_FUSED_CONV_AFFINE] = "Conv,Mul|Add by constants per channel -> Conv",
		[DNNQ_IR_FUSED_AFFINE] = "Mul|Add by constants per channel -> BatchNormalization",
	};
	return (unsigned)f < DNNQ_IR_FUSED_COUNT ? names[f] : "?";
}

/* The node producing v when op is its operator, v's one reader is the
 * pattern and it is no graph output; recorded to die. */
static const struct dnnq_ir_node *take(struct match *m, int32_t v, enum dnnq_ir_op op)
{
	if (v < 0 || m->n == FUSE_MAX_NODES || m->readers[v] != 1)
		return NULL;
	int32_t p = m->ir->values[v].producer;
	if (p < 0 || m->dead[p] || m->ir->nodes[p].op != op)
		return NULL;
	m->kill[m->n++] = p;
	return &m->ir->nodes[p];
}

/* v is an f32 scalar constant within FUSE_TOL of want. */
static bool scalar(const struct match *m, int32_t v, double want)
{
	if (v < 0)
		return false;
	const struct dnnq_ir_value *c = &m->ir->values[v];
	if (!c->data || c->dtype != DNNQ_IR_F32 || c->batched || dnnq_ir_numel(c, 1) != 1)
		return false;
	return fabs(*(const float *)c->data - want) <= FUSE_TOL * fabs(want);
}

/* n computes u * k (Mul, either order, or Div by 1/k): u, else -1. */
static int32_t times(const struct match *m, const struct dnnq_ir_node *n, double k)
{
	if (!n || n->ninputs != 2)
		return -1;
	if (n->op == DNNQ_IR_MUL) {
		if (scalar(m, n->inputs[1], k))
			return n->inputs[0];
		if (scalar(m, n->inputs[0], k))
			return n->inputs[1];
	} else if (n->op == DNNQ_IR_ENGINE && n->kind == m->kdiv && scalar(m, n->inputs[1], 1 / k)) {
		return n->inputs[0];
	}
	return -1;
}

/* v = u * k by a node only the pattern reads: u, else -1. */
static int32_t scaled(struct match *m, int32_t v, double k)
{
	int32_t p = v >= 0 ? m->ir->values[v].producer : -1;
	const struct dnnq_ir_node *n = p >= 0 ? &m->ir->nodes[p] : NULL;
	if (!n || (n->op != DNNQ_IR_MUL && n->op != DNNQ_IR_ENGINE))
		return -1;
	int32_t u = times(m, n, k);
	return u >= 0 && take(m, v, n->op) ? u : -1;
}

/* Mul node n = x * pat(x), in either order: x, else -1. */
static int32_t product(struct match *m, const struct dnnq_ir_node *n, pattern_fn pat)
{
	if (!n || n->op != DNNQ_IR_MUL || n->ninputs != 2)
		return -1;
	for (int k = 0; k < 2; k++) {
		int save = m->n;
		int32_t x = pat(m, n->inputs[k]);
		if (x >= 0 && x == n->inputs[1 - k])
			return x;
		m->n = save;
	}
	return -1;
}

/* ---- the gates: v = g(x), x returned ------------------------------------------ */

/* Clip(x + 3, 0, 6), a Relu between allowed (torch's relu6) */
static int32_t relu6_gate(struct match *m, int32_t v)
{
	const struct dnnq_ir_node *c = take(m, v, DNNQ_IR_CLIP), *r, *a;
	if (!c || c->clip_min != 0.0f || c->clip_max != 6.0f)
		return -1;
	v = c->inputs[0];
	if ((r = take(m, v, DNNQ_IR_RELU)))
		v = r->inputs[0];
	if (!(a = take(m, v, DNNQ_IR_ADD)) || a->ninputs != 2)
		return -1;
	return scalar(m, a->inputs[1], 3) ? a->inputs[0] : scalar(m, a->inputs[0], 3) ? a->inputs[1]
	                                                                                : -1;
}

/* Clip(x + 3, 0, 6) / 6 */
static int32_t hardsigmoid_by_clip(struct match *m, int32_t v)
{
	int32_t u = scaled(m, v, 1.0 / 6);
	return u >= 0 ? relu6_gate(m, u) : -1;
}

/* HardSigmoid(x) with alpha 1/6, beta 0.5 */
static int32_t hardsigmoid_gate(struct match *m, int32_t v)
{
	const struct dnnq_ir_node *h = take(m, v, DNNQ_IR_HARDSIGMOID);
	return h && fabs(h->alpha - 1.0 / 6) <= FUSE_TOL / 6 && fabs(h->beta - 0.5) <= FUSE_TOL / 2
	       ? h->inputs[0] : -1;
}

static int32_t sigmoid_gate(struct match *m, int32_t v)
{
	const struct dnnq_ir_node *s = take(m, v, DNNQ_IR_SIGMOID);
	return s ? s->inputs[0] : -1;
}

/* 1 + Erf(x / sqrt 2), either Add order */
static int32_t erf_gate(struct match *m, int32_t v)
{
	const struct dnnq_ir_node *a = take(m, v, DNNQ_IR_ADD), *e;
	if (!a || a->ninputs != 2)
		return -1;
	int32_t t = scalar(m, a->inputs[1], 1) ? a->inputs[0] : scalar(m, a->inputs[0], 1)
	                                                     ? a->inputs[1] : -1;
	uint32_t kerf = dnnq_op_find("erf")->kind;
	if (!(e = take(m, t, DNNQ_IR_ENGINE)) || e->kind != kerf)
		return -1;
	return scaled(m, e->inputs[0], M_SQRT1_2);
}

/* x * 0.5 */
static int32_t half(struct match *m, int32_t v)
{
	return scaled(m, v, 0.5);
}

/* ---- the patterns: o the last node ------------------------------------------ */

/* (x * g) * k, g = pat(x): the product only the last node reads */
static int32_t scaled_product(struct match *m, const struct dnnq_ir_node *o, double k,
                              pattern_fn pat)
{
	int32_t u = times(m, o, k);
	int32_t p = u >= 0 ? m->ir->values[u].producer : -1;
	if (p < 0 || m->ir->nodes[p].op != DNNQ_IR_MUL)
		return -1;
	const struct dnnq_ir_node *mm = take(m, u, DNNQ_IR_MUL);
	return mm ? product(m, mm, pat) : -1;
}

/* (x * 0.5) * E, E = erf_gate(x), either order */
static int32_t gelu_half_first(struct match *m, const struct dnnq_ir_node *o)
{
	if (o->op != DNNQ_IR_MUL || o->ninputs != 2)
		return -1;
	for (int k = 0; k < 2; k++) {
		int save = m->n;
		int32_t x = half(m, o->inputs[k]);
		if (x >= 0 && erf_gate(m, o->inputs[1 - k]) == x)
			return x;
		m->n = save;
	}
	return -1;
}

static int32_t hardswish_clip_last(struct match *m, const struct dnnq_ir_node *o)
{
	return scaled_product(m, o, 1.0 / 6, relu6_gate);
}

static int32_t hardswish_clip_first(struct match *m, const struct dnnq_ir_node *o)
{
	return product(m, o, hardsigmoid_by_clip);
}

static int32_t hardswish_hsig(struct match *m, const struct dnnq_ir_node *o)
{
	return product(m, o, hardsigmoid_gate);
}

static int32_t swish(struct match *m, const struct dnnq_ir_node *o)
{
	return product(m, o, sigmoid_gate);
}

static int32_t gelu_half_last(struct match *m, const struct dnnq_ir_node *o)
{
	return scaled_product(m, o, 0.5, erf_gate);
}

static const struct {
	enum dnnq_ir_fusion f;
	int32_t (*match)(struct match *m, const struct dnnq_ir_node *o);
} patterns[] = {
	{ DNNQ_IR_FUSED_HARDSWISH_CLIP, hardswish_clip_last },
	{ DNNQ_IR_FUSED_HARDSWISH_CLIP, hardswish_clip_first },
	{ DNNQ_IR_FUSED_HARDSWISH_HSIG, hardswish_hsig },
	{ DNNQ_IR_FUSED_SWISH, swish },
	{ DNNQ_IR_FUSED_GELU, gelu_half_last },
	{ DNNQ_IR_FUSED_GELU, gelu_half_first },
};

/* Which pattern o ends, and its x; -1 when none. */
static int32_t match_one(struct match *m, const struct dnnq_ir_node *o, enum dnnq_ir_fusion *f)
{
	for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++) {
		m->n = 0;
		int32_t x = patterns[i].match(m, o);
		if (x >= 0) {
			*f = patterns[i].f;
			return x;
		}
	}
	return -1;
}

static bool same_shape(const struct dnnq_ir_value *a, const struct dnnq_ir_value *b)
{
	return a->ndim == b->ndim && a->batched == b->batched && a->dtype == b->dtype &&
	       !memcmp(a->dims, b->dims, a->ndim * sizeof *a->dims);
}

/* o becomes the fused operator of x. */
static int become(struct dnnq_ir_node *o, enum dnnq_ir_fusion f, int32_t x)
{
	static const char *const op_types[] = { "HardSwish", "HardSwish", "Swish", "Gelu" };
	char *t = strdup(op_types[f]);
	if (!t)
		return DNNQ_E_NOMEM;
	free(o->op_type);
	o->op_type = t;
	o->op = f == DNNQ_IR_FUSED_SWISH || f == DNNQ_IR_FUSED_GELU ? DNNQ_IR_ENGINE
	                                                            : DNNQ_IR_HARDSWISH;
	o->kind = o->op == DNNQ_IR_ENGINE ? dnnq_op_find(f == DNNQ_IR_FUSED_SWISH ? "swish"
	                                                                          : "gelu")->kind
	                                  : 0;
	o->ninputs = 1;
	o->inputs[0] = x;
	for (size_t k = 1; k < DNNQ_IR_MAX_INPUTS; k++)
		o->inputs[k] = -1;
	return 0;
}

int dnnq_ir_fuse_activations(struct dnnq_ir *ir, struct dnnq_diag *diag)
{
	int32_t *readers = dnnq_ir_readers(ir);   /* a graph output: never read once */
	bool *dead = calloc(ir->nnodes + 1, sizeof *dead);
	int rc = 0;
	if (!readers || !dead) {
		rc = DNNQ_E_NOMEM;
		goto out;
	}
	struct match m = { .ir = ir, .readers = readers, .dead = dead,
	                   .kdiv = dnnq_op_find("div")->kind };
	bool any = false;
	for (size_t i = 0; i < ir->nnodes && !rc; i++) {
		struct dnnq_ir_node *o = &ir->nodes[i];
		enum dnnq_ir_fusion f;
		int32_t x = match_one(&m, o, &f);
		if (x < 0 || !same_shape(&ir->values[x], &ir->values[o->outputs[0]]))
			continue;
		for (int k = 0; k <= m.n; k++) {   /* x is read once now, by o */
			const struct dnnq_ir_node *p = k < m.n ? &ir->nodes[m.kill[k]] : o;
			for (uint32_t j = 0; j < p->ninputs; j++)
				readers[x] -= p->inputs[j] == x;
			if (k < m.n)
				dead[m.kill[k]] = true;
		}
		readers[x]++;
		rc = become(o, f, x);
		ir->fused[f]++;
		any = true;
	}
	if (!rc && any)
		rc = dnnq_ir_compact(ir, dead, diag);
out:
	free(readers);
	free(dead);
	return rc == DNNQ_E_NOMEM ? dnnq_diag_set(diag, rc, "onnx: fusion: out of memory") : rc;
}

/* ---- Conv, then Mul and Add by constants per channel ---- */

/* Constant v as a factor per channel of a rank-4 value of C channels
 * (every dim 1 but, right-aligned, dim 1 of C): its C values in out, a
 * scalar repeated; false when it is none, or holds inf or NaN (a Mul by
 * inf folded gave weights the lowering refuses, and a BatchNormalization
 * of scale inf NaN where ONNX's 0 * inf is NaN and x * inf inf). */
static bool channel_const(const struct dnnq_ir *ir, int32_t v, int64_t C, float *out)
{
	const struct dnnq_ir_value *c = &ir->values[v];
	if (!c->data || c->dtype != DNNQ_IR_F32 || c->batched || c->ndim > 4)
		return false;
	for (uint32_t i = 0; i < c->ndim; i++)
		if (c->dims[i] != 1 && !(4 - c->ndim + i == 1 && c->dims[i] == C))
			return false;
	size_t n = dnnq_ir_numel(c, 1);
	for (int64_t k = 0; k < C; k++)
		if (!isfinite(out[k] = ((const float *)c->data)[n == 1 ? 0 : k]))
			return false;
	return true;
}

/* A new f32 constant of ndim dims holding data (owned by it from now on,
 * freed here on failure); its id, or -1 out of memory. */
static int32_t new_f32(struct dnnq_ir *ir, size_t *cap, const char *name, uint32_t ndim,
                       const int64_t *dims, float *data)
{
	char *nm = strdup(name);
	if (!nm || dnnq_ir_grow((void **)&ir->values, cap, ir->nvalues, sizeof *ir->values)) {
		free(nm);
		free(data);
		return -1;
	}
	struct dnnq_ir_value v = { .name = nm, .dtype = DNNQ_IR_F32, .ndim = ndim, .data = data,
	                           .producer = -1 };
	memcpy(v.dims, dims, ndim * sizeof *dims);
	ir->values[ir->nvalues] = v;
	return (int32_t)ir->nvalues++;
}

/* Conv node i's weights scaled by a and its bias b (a and b: C each) as
 * new constants, NAME:weight and NAME:bias, read by node o, which becomes
 * the Conv: the Conv's name (what --keep-fp32 and the report name) in the
 * place of o, and o's output; node i gets o's name and op_type, to be
 * dropped. 1, the IR as it was, when a weight or the bias would overflow
 * to inf (a large factor times a large weight). */
static int conv_becomes(struct dnnq_ir *ir, size_t *cap, size_t i, size_t o, const float *a,
                        const float *b)
{
	const struct dnnq_ir_node *conv = &ir->nodes[i];
	const struct dnnq_ir_value *wv = &ir->values[conv->inputs[1]];
	const float *bv = conv->ninputs > 2 && conv->inputs[2] >= 0
	                ? ir->values[conv->inputs[2]].data : NULL;
	int64_t wd[4], C = wv->dims[0];    /* new_f32 moves ir->values */
	memcpy(wd, wv->dims, sizeof wd);
	size_t per = dnnq_ir_numel(wv, 1) / (size_t)C;
	float *w = malloc((size_t)C * per * sizeof *w), *bias = malloc((size_t)C * sizeof *bias);
	if (!w || !bias) {
		free(w);
		free(bias);
		return DNNQ_E_NOMEM;
	}
	bool finite = true;
	for (size_t k = 0; k < (size_t)C; k++) {
		for (size_t e = 0; e < per; e++)
			finite &= isfinite(w[k * per + e] = ((const float *)wv->data)[k * per + e] * a[k]);
		finite &= isfinite(bias[k] = (bv ? bv[k] * a[k] : 0) + b[k]);
	}
	if (!finite) {
		free(w);
		free(bias);
		return 1;
	}
	char nm[DNNQ_IR_NODE_NAME_MAX + 16];
	snprintf(nm, sizeof nm, "%s:weight", ir->nodes[i].name);
	int32_t wn = new_f32(ir, cap, nm, 4, wd, w), bn = -1;
	snprintf(nm, sizeof nm, "%s:bias", ir->nodes[i].name);
	if (wn >= 0)
		bn = new_f32(ir, cap, nm, 1, &C, bias);
	else
		free(bias);
	if (bn < 0)
		return DNNQ_E_NOMEM;
	struct dnnq_ir_node n = ir->nodes[i], *to = &ir->nodes[o];
	ir->nodes[i].name = to->name;
	ir->nodes[i].op_type = to->op_type;
	n.ninputs = 3;
	n.inputs[1] = wn;
	n.inputs[2] = bn;
	memcpy(n.outputs, to->outputs, sizeof n.outputs);
	n.noutputs = to->noutputs;
	*to = n;
	return 0;
}

/* A standalone chain's last node o becomes y = a * x + b, a
 * BatchNormalization of x of scale a, B b, mean 0 and var 1 (epsilon 0:
 * exactly the affine), new constants NAME:scale, :B, :mean, :var. */
static int affine_becomes(struct dnnq_ir *ir, size_t *cap, int32_t x, size_t o, const float *a,
                          const float *b)
{
	int64_t C = ir->values[x].dims[1];
	static const char *const sfx[] = { "scale", "B", "mean", "var" };
	int32_t in[4] = { -1, -1, -1, -1 };
	for (int k = 0; k < 4; k++) {
		float *d = malloc((size_t)C * sizeof *d);
		if (!d)
			return DNNQ_E_NOMEM;
		for (int64_t c = 0; c < C; c++)
			d[c] = k == 0 ? a[c] : k == 1 ? b[c] : k == 2 ? 0.0f : 1.0f;
		char nm[DNNQ_IR_NODE_NAME_MAX + 16];
		snprintf(nm, sizeof nm, "%s:%s", ir->nodes[o].name, sfx[k]);
		if ((in[k] = new_f32(ir, cap, nm, 1, &C, d)) < 0)
			return DNNQ_E_NOMEM;
	}
	char *op_type = strdup("BatchNormalization");
	if (!op_type)
		return DNNQ_E_NOMEM;
	struct dnnq_ir_node *n = &ir->nodes[o];
	free(n->op_type);
	n->op_type = op_type;
	n->op = DNNQ_IR_BATCHNORM;
	n->ninputs = 5;
	n->inputs[0] = x;
	for (int k = 0; k < 4; k++)
		n->inputs[1 + k] = in[k];
	n->epsilon = 0;
	return 0;
}

/* Node r computes a Mul or an Add of v by a constant per channel of y's
 * (its C values in t), of y's shape. */
static bool affine_step(const struct dnnq_ir *ir, const struct dnnq_ir_node *r, int32_t v,
                        const struct dnnq_ir_value *y, float *t)
{
	if ((r->op != DNNQ_IR_MUL && r->op != DNNQ_IR_ADD) || r->ninputs != 2 || r->whole ||
	    (r->inputs[0] == v) == (r->inputs[1] == v) ||
	    !same_shape(&ir->values[r->outputs[0]], y))
		return false;
	return channel_const(ir, r->inputs[r->inputs[0] == v], y->dims[1], t);
}

/* a and b of C channels through a Mul (mul) or an Add by t; false, a and b
 * kept, when a product or a sum overflows to inf. */
static bool affine_apply(bool mul, int64_t C, const float *t, float *a, float *b)
{
	for (int64_t k = 0; k < C; k++)
		if (!isfinite(mul ? a[k] * t[k] : 0) || !isfinite(mul ? b[k] * t[k] : b[k] + t[k]))
			return false;
	for (int64_t k = 0; k < C; k++) {
		a[k] *= mul ? t[k] : 1;
		b[k] = mul ? b[k] * t[k] : b[k] + t[k];
	}
	return true;
}

/* The steps from node first (reading v, of y's shape), each then the sole
 * reader of the step before's output: y = a * v + b (a and b filled,
 * t: scratch). The last step, or -1; *count of them. */
static int32_t affine_chain(const struct dnnq_ir *ir, const int32_t *readers,
                            const int32_t *reader, int32_t first, int32_t v,
                            const struct dnnq_ir_value *y, float *a, float *b, float *t,
                            int *count)
{
	int32_t last = -1;
	for (int64_t k = 0; k < y->dims[1]; k++) {
		a[k] = 1;
		b[k] = 0;
	}
	*count = 0;
	for (int32_t r = first; r >= 0 && *count < FUSE_MAX_NODES; (*count)++) {
		const struct dnnq_ir_node *n = &ir->nodes[r];
		if (!affine_step(ir, n, v, y, t) ||
		    !affine_apply(n->op == DNNQ_IR_MUL, y->dims[1], t, a, b))
			break;
		last = r;
		v = n->outputs[0];
		r = readers[v] == 1 ? reader[v] : -1;
	}
	return last;
}

/* Whether conv is a Conv of f32 constant weights (and bias) of a rank-4
 * output. */
static bool plain_conv(const struct dnnq_ir *ir, const struct dnnq_ir_node *conv)
{
	const struct dnnq_ir_value *y = &ir->values[conv->outputs[0]];
	if (conv->op != DNNQ_IR_CONV || conv->whole || conv->ninputs < 2 || y->ndim != 4 ||
	    y->dims[1] < 1)
		return false;
	const struct dnnq_ir_value *w = &ir->values[conv->inputs[1]];
	int32_t bi = conv->ninputs > 2 ? conv->inputs[2] : -1;
	return w->data && w->dtype == DNNQ_IR_F32 && w->ndim == 4 && w->dims[0] == y->dims[1] &&
	       (bi < 0 || (ir->values[bi].data && ir->values[bi].dtype == DNNQ_IR_F32 &&
	                   dnnq_ir_numel(&ir->values[bi], 1) == (size_t)y->dims[1]));
}

/* The chain node i starts, reading *x: after a plain Conv (x its output,
 * any steps), or of steps alone (i the first; x its input, f32 of rank 4
 * computed at run time; two steps at least). Its last node, or -1. */
static int32_t chain_at(const struct dnnq_ir *ir, const int32_t *readers, const int32_t *reader,
                        size_t i, int32_t *x, float *a, float *b, float *t)
{
	const struct dnnq_ir_node *n = &ir->nodes[i];
	int count;
	if (plain_conv(ir, n)) {
		*x = n->outputs[0];
		return readers[*x] != 1 ? -1 : affine_chain(ir, readers, reader, reader[*x], *x,
		                                            &ir->values[*x], a, b, t, &count);
	}
	if ((n->op != DNNQ_IR_MUL && n->op != DNNQ_IR_ADD) || n->ninputs != 2)
		return -1;
	*x = ir->values[n->inputs[0]].data ? n->inputs[1] : n->inputs[0];
	const struct dnnq_ir_value *xv = &ir->values[*x];
	if (xv->data || xv->dtype != DNNQ_IR_F32 || xv->integer || xv->ndim != 4 ||
	    xv->dims[1] < 1)
		return -1;
	int32_t last = affine_chain(ir, readers, reader, (int32_t)i, *x, xv, a, b, t, &count);
	return count >= 2 ? last : -1;
}

int dnnq_ir_fuse_affine(struct dnnq_ir *ir, struct dnnq_diag *diag)
{
	int32_t *readers = dnnq_ir_readers(ir), *reader = malloc((ir->nvalues + 1) * sizeof *reader);
	bool *dead = calloc(ir->nnodes + 1, sizeof *dead);
	size_t cmax = 0, cap = ir->nvalues;
	for (size_t i = 0; i < ir->nvalues; i++)
		if (ir->values[i].ndim == 4 && (size_t)ir->values[i].dims[1] > cmax)
			cmax = (size_t)ir->values[i].dims[1];
	float *abt = malloc(3 * (cmax + 1) * sizeof *abt);
	int rc = 0;
	bool any = false;
	if (!readers || !reader || !dead || !abt) {
		rc = DNNQ_E_NOMEM;
		goto out;
	}
	/* the node reading each value (-1: none; a graph output counts in
	 * readers, not here) */
	for (size_t v = 0; v < ir->nvalues; v++)
		reader[v] = -1;
	for (size_t i = 0; i < ir->nnodes; i++)
		for (uint32_t k = 0; k < ir->nodes[i].ninputs; k++)
			if (ir->nodes[i].inputs[k] >= 0)
				reader[ir->nodes[i].inputs[k]] = (int32_t)i;
	for (size_t i = 0; i < ir->nnodes && !rc; i++) {
		float *a = abt, *b = abt + cmax + 1, *t = abt + 2 * (cmax + 1);
		int32_t x = -1, o = dead[i] ? -1 : chain_at(ir, readers, reader, i, &x, a, b, t);
		if (o < 0)
			continue;
		/* the last node becomes the Conv or the BatchNormalization; every
		 * other node of the chain dies */
		bool conv = ir->nodes[i].op == DNNQ_IR_CONV;
		rc = conv ? conv_becomes(ir, &cap, i, (size_t)o, a, b)
		          : affine_becomes(ir, &cap, x, (size_t)o, a, b);
		if (rc == 1) {
			rc = 0;
			continue;
		}
		for (int32_t r = conv ? reader[x] : (int32_t)i; r != o;
		     r = reader[ir->nodes[r].outputs[0]])
			dead[r] = true;
		dead[i] |= conv;
		ir->fused[conv ? DNNQ_IR_FUSED_CONV_AFFINE : DNNQ_IR_FUSED_AFFINE]++;
		any = true;
	}
	if (!rc && any)
		rc = dnnq_ir_compact(ir, dead, diag);
out:
	free(readers);
	free(reader);
	free(dead);
	free(abt);
	return rc == DNNQ_E_NOMEM ? dnnq_diag_set(diag, rc, "onnx: fusion: out of memory") : rc;
}
