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
