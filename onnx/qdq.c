/*
 * onnx/qdq.c — QDQ fusion and compaction (onnx/qdq.h).
 *
 * A QDQ model spells a quantized convolution as
 *     DQ(x_q) -> Conv(., DQ(w_q const), [DQ(b_s32 const)]) -> Q -> y_q
 * which is exactly QLinearConv(x_q, xs, xz, w_q, ws, wz, ys, yz, [b]) when
 * the bias's scale is xs * ws (what quantizers write). The fused node takes
 * the Q node's place (after all it reads); the Conv, and each DQ left with no
 * reader, die, and compaction drops them and the fp32 values between.
 * Gemm/MatMul the same, to QLinearMatMul (with the bias as input 8, and B
 * stored [K,N] when the Gemm had transB).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/op.h"
#include "onnx/qdq.h"

struct fuse {
	struct dnnq_ir *ir;
	int32_t *readers;           /* a value: node inputs + graph outputs reading it */
	size_t vcap;                /* values and readers hold this many */
	bool *dead;
};

static struct dnnq_ir_value *val(struct fuse *f, int32_t id)
{
	return id >= 0 ? &f->ir->values[id] : NULL;
}

/* The DequantizeLinear node producing value id, or NULL. */
static struct dnnq_ir_node *dq_of(struct fuse *f, int32_t id)
{
	const struct dnnq_ir_value *v = val(f, id);
	if (!v || v->producer < 0 || f->dead[v->producer])
		return NULL;
	struct dnnq_ir_node *n = &f->ir->nodes[v->producer];
	return n->op == DNNQ_IR_DEQUANTIZE ? n : NULL;
}

static size_t numel(const struct dnnq_ir_value *v)
{
	return dnnq_ir_numel(v, 1);
}

/* Scale constant (1 or n values); zero point absent or constant alike. */
static bool const_params(struct fuse *f, const struct dnnq_ir_node *q, size_t n)
{
	const struct dnnq_ir_value *s = val(f, q->inputs[1]), *z = val(f, (int32_t)(q->ninputs > 2 ? q->inputs[2] : -1));
	if (!s || !s->data || (numel(s) != 1 && numel(s) != n))
		return false;
	for (size_t i = 0; i < numel(s); i++)
		if (!(((const float *)s->data)[i] > 0) || !isfinite(((const float *)s->data)[i]))
			return false;
	return !z || (z->data && numel(z) == numel(s));
}

static int32_t zp_of(const struct dnnq_ir_node *q)
{
	return q->ninputs > 2 ? q->inputs[2] : -1;
}

/* A new constant value (data owned by it); its id or -1. */
static int32_t new_const(struct fuse *f, const char *name, enum dnnq_ir_dtype dt, uint32_t ndim,
                         const int64_t *dims, void *data)
{
	struct dnnq_ir *ir = f->ir;
	size_t n = ir->nvalues, c[2] = { f->vcap, f->vcap };
	if (dnnq_ir_grow((void **)&ir->values, &c[0], n, sizeof *ir->values) ||
	    dnnq_ir_grow((void **)&f->readers, &c[1], n, sizeof *f->readers))
		return -1;
	f->vcap = c[0];
	struct dnnq_ir_value v = { .name = strdup(name), .dtype = dt, .ndim = ndim, .data = data,
	                           .producer = -1 };
	if (!v.name)
		return -1;
	if (ndim)
		memcpy(v.dims, dims, ndim * sizeof *dims);
	f->readers[n] = 0;
	ir->values[n] = v;
	return (int32_t)ir->nvalues++;
}

/* The zero point of q (a DQ or Q node), made a constant 0 of dt if absent. */
static int32_t zero_point(struct fuse *f, const struct dnnq_ir_node *q, enum dnnq_ir_dtype dt)
{
	if (zp_of(q) >= 0)
		return zp_of(q);
	void *z = calloc(1, 1);
	if (!z)
		return -1;
	int32_t id = new_const(f, "zero_point", dt, 0, NULL, z);
	if (id < 0)
		free(z);
	return id;
}

/* The bias DQ fits: constant s32 input of n values, zero point 0, scale
 * xs * ws (per channel) to 1e-5 relative. */
static bool bias_fits(struct fuse *f, const struct dnnq_ir_node *db, float xs,
                      const struct dnnq_ir_value *ws, size_t n)
{
	const struct dnnq_ir_value *b = val(f, db->inputs[0]), *s = val(f, db->inputs[1]),
	                           *z = val(f, zp_of(db));
	if (!b->data || b->dtype != DNNQ_IR_S32 || numel(b) != n || !const_params(f, db, n))
		return false;
	for (size_t i = 0; z && i < numel(z); i++)
		if (((const int32_t *)z->data)[i])
			return false;
	for (size_t i = 0; i < n; i++) {
		float want = xs * ((const float *)ws->data)[numel(ws) == 1 ? 0 : i];
		float got = ((const float *)s->data)[numel(s) == 1 ? 0 : i];
		if (fabsf(got - want) > 1e-5f * fabsf(want))
			return false;
	}
	return true;
}

static void unread(struct fuse *f, int32_t id)
{
	if (id < 0)
		return;
	f->readers[id]--;
	struct dnnq_ir_node *d = dq_of(f, id);
	if (d && f->readers[id] == 0) {
		f->dead[f->ir->values[id].producer] = true;
		for (uint32_t i = 0; i < d->ninputs; i++)
			if (d->inputs[i] >= 0)
				f->readers[d->inputs[i]]--;
	}
}

/* B [N,K] to [K,N] (s8/u8). */
static int32_t transposed(struct fuse *f, int32_t id)
{
	const struct dnnq_ir_value *b = val(f, id);
	size_t N = (size_t)b->dims[0], K = (size_t)b->dims[1];
	uint8_t *t = malloc(N * K + 1);
	if (!t)
		return -1;
	for (size_t n = 0; n < N; n++)
		for (size_t k = 0; k < K; k++)
			t[k * N + n] = ((const uint8_t *)b->data)[n * K + k];
	int64_t d[2] = { (int64_t)K, (int64_t)N };
	char name[200];
	snprintf(name, sizeof name, "%.180s:T", b->name);
	int32_t r = new_const(f, name, b->dtype, 2, d, t);
	if (r < 0)
		free(t);
	return r;
}

/* Q node qi: fuses what feeds it, when it fits. 1 fused, 0 not, < 0 NOMEM. */
static int fuse_one(struct fuse *f, size_t qi)
{
	struct dnnq_ir *ir = f->ir;
	struct dnnq_ir_node q = ir->nodes[qi];
	int32_t y = q.inputs[0];
	const struct dnnq_ir_value *yv = val(f, y);
	if (!yv || yv->producer < 0 || f->readers[y] != 1 || f->dead[yv->producer])
		return 0;
	size_t ci = (size_t)yv->producer;
	struct dnnq_ir_node c = ir->nodes[ci];
	bool conv = c.op == DNNQ_IR_CONV;
	if ((!conv && c.op != DNNQ_IR_GEMM) || !const_params(f, &q, 1))
		return 0;
	if (!conv && (c.trans_a || c.alpha != 1.0f || (c.ninputs > 2 && c.inputs[2] >= 0 && c.beta != 1.0f)))
		return 0;
	struct dnnq_ir_node *dx = dq_of(f, c.inputs[0]), *dw = dq_of(f, c.inputs[1]);
	struct dnnq_ir_node *db = c.ninputs > 2 && c.inputs[2] >= 0 ? dq_of(f, c.inputs[2]) : NULL;
	if (!dx || !dw || (c.ninputs > 2 && c.inputs[2] >= 0 && !db))
		return 0;
	const struct dnnq_ir_value *xq = val(f, dx->inputs[0]), *wq = val(f, dw->inputs[0]);
	size_t nch = (size_t)(conv ? wq->dims[0] : wq->dims[c.trans_b ? 0 : 1]);
	int64_t wax = conv || c.trans_b ? 0 : 1;
	if ((xq->dtype != DNNQ_IR_U8 && xq->dtype != DNNQ_IR_S8) || !const_params(f, dx, 1) ||
	    !wq->data || (wq->dtype != DNNQ_IR_U8 && wq->dtype != DNNQ_IR_S8) ||
	    !const_params(f, dw, nch) || (numel(val(f, dw->inputs[1])) > 1 && dw->axis != wax))
		return 0;
	float xs = *(const float *)val(f, dx->inputs[1])->data;
	if (db && !bias_fits(f, db, xs, val(f, dw->inputs[1]), nch))
		return 0;
	const struct dnnq_ir_value *yz = val(f, zp_of(&q));
	enum dnnq_ir_dtype ydt = yz ? yz->dtype : DNNQ_IR_U8;
	if (ydt != DNNQ_IR_U8 && ydt != DNNQ_IR_S8)
		return 0;
	enum dnnq_ir_dtype xdt = xq->dtype, wdt = wq->dtype;
	int32_t xz = zero_point(f, dx, xdt), wz = zero_point(f, dw, wdt);
	int32_t yzid = zero_point(f, &q, ydt);
	int32_t w = conv || !c.trans_b ? dw->inputs[0] : transposed(f, dw->inputs[0]);
	if (xz < 0 || wz < 0 || yzid < 0 || w < 0)
		return DNNQ_E_NOMEM;
	/* pointers into values may have moved: re-fetch by index from here on */
	struct dnnq_ir_node n = c;
	n.op = conv ? DNNQ_IR_QLINEARCONV : DNNQ_IR_QLINEARMATMUL;
	n.trans_b = false;
	int32_t in[9] = { dx->inputs[0], dx->inputs[1], xz, w, dw->inputs[1], wz, q.inputs[1], yzid,
	                  db ? db->inputs[0] : -1 };
	n.ninputs = db ? 9 : 8;
	for (uint32_t i = 0; i < DNNQ_IR_MAX_INPUTS; i++)
		n.inputs[i] = i < n.ninputs ? in[i] : -1;
	n.noutputs = 1;
	memcpy(n.outputs, q.outputs, sizeof n.outputs);
	n.op_type = strdup(conv ? "QLinearConv" : "QLinearMatMul");
	if (!n.op_type)
		return DNNQ_E_NOMEM;
	for (uint32_t i = 0; i < n.ninputs; i++)
		f->readers[in[i]]++;
	/* the Conv/Gemm dies; it read x, w, b; the Q read y, its scale and zp */
	f->dead[ci] = true;
	for (uint32_t i = 0; i < c.ninputs; i++)
		unread(f, c.inputs[i]);
	for (uint32_t i = 0; i < q.ninputs; i++)
		if (q.inputs[i] >= 0)
			f->readers[q.inputs[i]]--;
	free(q.name);
	free(q.op_type);
	free(ir->nodes[ci].op_type);
	ir->nodes[ci].name = ir->nodes[ci].op_type = NULL;
	ir->nodes[qi] = n;
	return 1;
}

/* ---- dynamic quantization ---------------------------------------------------- */

/* The live node producing value id when its op is op and id has one
 * reader, or NULL. */
static struct dnnq_ir_node *sole_producer(struct fuse *f, int32_t id, enum dnnq_ir_op op)
{
	const struct dnnq_ir_value *v = val(f, id);
	if (!v || v->producer < 0 || f->dead[v->producer] || f->readers[id] != 1)
		return NULL;
	struct dnnq_ir_node *n = &f->ir->nodes[v->producer];
	return n->op == op ? n : NULL;
}

/* A constant f32 scale of 1 or n values, all finite and positive. */
static bool const_scale(struct fuse *f, int32_t id, size_t n)
{
	const struct dnnq_ir_value *s = val(f, id);
	if (!s || !s->data || s->dtype != DNNQ_IR_F32 || (numel(s) != 1 && numel(s) != n))
		return false;
	for (size_t i = 0; i < numel(s); i++)
		if (!(((const float *)s->data)[i] > 0) || !isfinite(((const float *)s->data)[i]))
			return false;
	return true;
}

/* The Add node that alone reads Mul node mi's output and adds to it a
 * constant f32 bias of n values along the channels (the last axis of a
 * matrix product, axis 1 of a conv): the bias's id, *ai the Add; or -1. */
static int32_t bias_add(struct fuse *f, size_t mi, size_t n, bool conv, size_t *ai)
{
	struct dnnq_ir *ir = f->ir;
	int32_t y = ir->nodes[mi].outputs[0];
	if (f->readers[y] != 1)
		return -1;
	for (size_t j = mi + 1; j < ir->nnodes; j++) {
		const struct dnnq_ir_node *a = &ir->nodes[j];
		if (f->dead[j] || a->op != DNNQ_IR_ADD || (a->inputs[0] != y && a->inputs[1] != y))
			continue;
		int32_t b = a->inputs[a->inputs[0] == y];
		const struct dnnq_ir_value *bv = val(f, b), *yv = val(f, y);
		if (!bv->data || bv->dtype != DNNQ_IR_F32 || numel(bv) != n || bv->ndim > yv->ndim)
			return -1;
		/* n along the channel axis of y, 1 elsewhere */
		uint32_t cax = conv ? 1 : yv->ndim - 1, lead = yv->ndim - bv->ndim;
		for (uint32_t i = 0; i < bv->ndim; i++)
			if (bv->dims[i] != (i + lead == cax ? (int64_t)n : 1))
				return -1;
		*ai = j;
		return b;
	}
	return -1;
}

/* The live node of registry kind `name` producing value id when id has one
 * reader, or NULL. */
static struct dnnq_ir_node *sole_kind(struct fuse *f, int32_t id, const char *name)
{
	struct dnnq_ir_node *n = sole_producer(f, id, DNNQ_IR_ENGINE);
	return n && n->kind == dnnq_op_find(name)->kind ? n : NULL;
}

/* Mul nodes a and b multiply the same two values. */
static bool same_product(const struct dnnq_ir_node *a, const struct dnnq_ir_node *b)
{
	return (a->inputs[0] == b->inputs[0] && a->inputs[1] == b->inputs[1]) ||
	       (a->inputs[0] == b->inputs[1] && a->inputs[1] == b->inputs[0]);
}

/* ONNX Runtime's older dynamic quantization adds a float bias b to the
 * integer accumulator quantized per call at the accumulator's scale:
 * [Reshape of] Floor(Div(b, Mul(xs, ws))), cast to int32 (imported as the
 * floats, marked integers). Value id computed so, sm the Mul of the
 * product's scale (the same two values): b's id (a constant f32), or -1.
 * kill: those nodes die (a walk, not a recursion: a model may chain any
 * number of Reshapes), b read by the product instead of the Div. */
static int32_t int_bias(struct fuse *f, int32_t id, const struct dnnq_ir_node *sm, bool kill)
{
	struct dnnq_ir_node *r;
	while ((r = sole_producer(f, id, DNNQ_IR_RESHAPE))) {
		f->dead[val(f, id)->producer] |= kill;
		id = r->inputs[0];
	}
	struct dnnq_ir_node *fl = sole_kind(f, id, "floor"), *dv, *s;
	if (!fl || !(dv = sole_kind(f, fl->inputs[0], "div")) ||
	    !(s = sole_producer(f, dv->inputs[1], DNNQ_IR_MUL)) || !same_product(s, sm))
		return -1;
	const struct dnnq_ir_value *b = val(f, dv->inputs[0]);
	if (!b->data || b->dtype != DNNQ_IR_F32)
		return -1;
	if (kill) {
		f->dead[val(f, id)->producer] = f->dead[val(f, fl->inputs[0])->producer] = true;
		f->dead[val(f, dv->inputs[1])->producer] = true;
		f->readers[s->inputs[0]]--;
		f->readers[s->inputs[1]]--;
	}
	return dv->inputs[0];
}

/*
 * ONNX Runtime's dynamic quantization (quantize_dynamic) spells a MatMul
 * or Conv as
 *     DynamicQuantizeLinear(x) -> xq, xs, xz
 *     MatMulInteger(xq, wq, xz, [wz]) or ConvInteger(...) -> acc (int32)
 *     Mul(Cast(acc), Mul(xs, ws)) -> y
 * with wq, ws, wz constants: the product of x and DequantizeLinear(wq, ws,
 * wz), x quantized per call; its older form adds its bias to acc (int_bias
 * above: Mul(Cast(Add(acc, bq)), ...)), the product's bias then.
 * Mul node mi (the last one) becomes that GEMM
 * (marked dynamic: the lowering makes it the engine's dynamic FC) or CONV,
 * reading x and a DequantizeLinear that takes the integer node's place;
 * the Cast, the scale Mul and the DynamicQuantizeLinear die once nothing
 * else reads them. 1 fused, 0 not, < 0 NOMEM.
 */
static int fuse_dynamic(struct fuse *f, size_t mi)
{
	struct dnnq_ir *ir = f->ir;
	struct dnnq_ir_node m = ir->nodes[mi];
	if (m.ninputs != 2)
		return 0;
	for (int k = 0; k < 2; k++) {
		struct dnnq_ir_node *sm = sole_producer(f, m.inputs[!k], DNNQ_IR_MUL);
		struct dnnq_ir_node *a = sole_producer(f, m.inputs[k], DNNQ_IR_ADD);
		int32_t cv = m.inputs[k], bq = -1, ib = -1;     /* the Cast's output, the int bias */
		for (int j = 0; sm && a && ib < 0 && j < 2; j++)
			if (sole_producer(f, a->inputs[j], DNNQ_IR_CAST) &&
			    (ib = int_bias(f, a->inputs[!j], sm, false)) >= 0)
				cv = a->inputs[j], bq = a->inputs[!j];
		struct dnnq_ir_node *c = sole_producer(f, cv, DNNQ_IR_CAST);
		if (!c || !sm)
			continue;
		int32_t acc = c->inputs[0];
		struct dnnq_ir_node *ii = sole_producer(f, acc, DNNQ_IR_MATMULINTEGER);
		if (!ii)
			ii = sole_producer(f, acc, DNNQ_IR_CONVINTEGER);
		if (!ii)
			continue;
		bool conv = ii->op == DNNQ_IR_CONVINTEGER;
		const struct dnnq_ir_value *xq = val(f, ii->inputs[0]), *wq = val(f, ii->inputs[1]);
		if (xq->producer < 0 || f->dead[xq->producer] ||
		    ir->nodes[xq->producer].op != DNNQ_IR_DYNQUANT)
			continue;
		struct dnnq_ir_node *dq = &ir->nodes[xq->producer];
		/* xq's zero point offsets it: without xz the product is not x's */
		if (ii->ninputs <= 2 || ii->inputs[2] != dq->outputs[2] ||
		    !wq->data || (wq->dtype != DNNQ_IR_U8 && wq->dtype != DNNQ_IR_S8))
			continue;
		size_t nch = (size_t)(conv ? wq->dims[0] : wq->dims[1]);
		int32_t ws = sm->inputs[0] == dq->outputs[1] ? sm->inputs[1]
		           : sm->inputs[1] == dq->outputs[1] ? sm->inputs[0] : -1;
		int32_t wz = ii->ninputs > 3 ? ii->inputs[3] : -1;
		const struct dnnq_ir_value *wzv = val(f, wz);
		if (ws < 0 || !const_scale(f, ws, nch) ||
		    (wzv && (!wzv->data || (numel(wzv) != 1 && numel(wzv) != numel(val(f, ws))))) ||
		    (ib >= 0 && numel(val(f, ib)) != nch))
			continue;
		int32_t x = dq->inputs[0];
		/* the integer node becomes DequantizeLinear(wq, ws, [wz]) -> acc */
		size_t di = (size_t)val(f, acc)->producer;
		struct dnnq_ir_node d = ir->nodes[di];
		struct dnnq_ir_node g = d;          /* the conv's attributes */
		char *dtype = strdup("DequantizeLinear"), *gtype = strdup(conv ? "Conv" : "MatMul");
		if (!dtype || !gtype) {
			free(dtype);
			free(gtype);
			return DNNQ_E_NOMEM;
		}
		f->readers[d.inputs[0]]--;          /* xq, xz: read no more */
		f->readers[d.inputs[2]]--;
		free(d.op_type);
		d.op = DNNQ_IR_DEQUANTIZE;
		d.op_type = dtype;
		d.axis = conv ? 0 : 1;
		d.ninputs = wz >= 0 ? 3 : 2;
		int32_t din[3] = { ii->inputs[1], ws, wz };
		for (uint32_t i = 0; i < DNNQ_IR_MAX_INPUTS; i++)
			d.inputs[i] = i < d.ninputs ? din[i] : -1;
		f->readers[ws]++;
		struct dnnq_ir_value *av = &ir->values[acc];
		av->dtype = DNNQ_IR_F32;
		av->ndim = wq->ndim;
		memcpy(av->dims, wq->dims, sizeof av->dims);
		av->batched = false;
		/* the Cast (and the Add of the int bias) and the scale Mul die */
		size_t ci = (size_t)val(f, cv)->producer, si = (size_t)val(f, m.inputs[!k])->producer;
		f->dead[ci] = f->dead[si] = true;
		if (bq >= 0) {
			f->dead[val(f, m.inputs[k])->producer] = true;
			int_bias(f, bq, sm, true);
		}
		for (uint32_t i = 0; i < sm->ninputs; i++)
			f->readers[sm->inputs[i]]--;
		f->readers[m.inputs[0]]--;
		f->readers[m.inputs[1]]--;
		bool dq_dead = true;
		for (uint32_t o = 0; o < dq->noutputs; o++)
			dq_dead &= dq->outputs[o] < 0 || f->readers[dq->outputs[o]] == 0;
		if (dq_dead) {
			f->dead[xq->producer] = true;
			f->readers[x]--;
		}
		ir->nodes[di] = d;
		/* the last Mul becomes the product of x and the weights */
		g.op = conv ? DNNQ_IR_CONV : DNNQ_IR_GEMM;
		g.name = m.name;
		free(ir->nodes[mi].op_type);
		ir->nodes[mi].op_type = NULL;
		g.op_type = gtype;
		g.ninputs = 2;
		for (uint32_t i = 0; i < DNNQ_IR_MAX_INPUTS; i++)
			g.inputs[i] = i == 0 ? x : i == 1 ? acc : -1;
		memcpy(g.outputs, m.outputs, sizeof g.outputs);
		g.noutputs = 1;
		g.alpha = 1.0f;
		g.beta = 0.0f;
		g.trans_a = g.trans_b = false;
		g.dynamic = !conv;
		f->readers[x]++;
		f->readers[acc]++;
		size_t gi = mi;
		int32_t b = ib >= 0 ? -1 : bias_add(f, mi, nch, conv, &gi);
		if (ib >= 0) {
			g.inputs[2] = ib;
			g.ninputs = 3;
			g.beta = 1.0f;
		} else if (b >= 0) {    /* the bias Add after it: the product's bias */
			f->dead[mi] = true;         /* compaction frees its name */
			g.name = ir->nodes[gi].name;
			free(ir->nodes[gi].op_type);
			memcpy(g.outputs, ir->nodes[gi].outputs, sizeof g.outputs);
			g.inputs[2] = b;
			g.ninputs = 3;
			g.beta = 1.0f;
			f->readers[m.outputs[0]]--;
		}
		ir->nodes[gi] = g;
		return 1;
	}
	return 0;
}

int dnnq_ir_fuse_qdq(struct dnnq_ir *ir, struct dnnq_diag *diag)
{
	struct fuse f = { .ir = ir, .vcap = ir->nvalues };
	f.readers = dnnq_ir_readers(ir);
	f.dead = calloc(ir->nnodes + 1, sizeof *f.dead);
	int rc = 0;
	if (!f.readers || !f.dead)
		goto nomem;
	for (size_t i = 0; i < ir->nnodes; i++) {
		if (f.dead[i] || ir->nodes[i].op != DNNQ_IR_QUANTIZE)
			continue;
		if ((rc = fuse_one(&f, i)) < 0)
			goto nomem;
	}
	for (size_t i = 0; i < ir->nnodes; i++) {
		if (f.dead[i] || ir->nodes[i].op != DNNQ_IR_MUL)
			continue;
		if ((rc = fuse_dynamic(&f, i)) < 0)
			goto nomem;
	}
	rc = dnnq_ir_compact(ir, f.dead, diag);
	free(f.readers);
	free(f.dead);
	return rc;
nomem:
	free(f.readers);
	free(f.dead);
	return dnnq_diag_set(diag, DNNQ_E_NOMEM, "onnx: QDQ fusion: out of memory");
}

/* ---- compaction ------------------------------------------------------------- */

static void number(int32_t *newid, int32_t v, int32_t *next)
{
	if (v >= 0 && newid[v] < 0)
		newid[v] = (*next)++;
}

int dnnq_ir_compact(struct dnnq_ir *ir, const bool *dead, struct dnnq_diag *diag)
{
	int32_t *newid = malloc((ir->nvalues + 1) * sizeof *newid), next = 0;
	struct dnnq_ir_value *vals = NULL;
	if (!newid)
		goto nomem;
	for (size_t i = 0; i < ir->nvalues; i++)
		newid[i] = -1;
	for (size_t i = 0; i < ir->ninputs; i++)
		number(newid, ir->inputs[i], &next);
	for (size_t i = 0; i < ir->nnodes; i++) {
		if (dead && dead[i])
			continue;
		for (uint32_t k = 0; k < ir->nodes[i].ninputs; k++)
			number(newid, ir->nodes[i].inputs[k], &next);
		for (uint32_t k = 0; k < ir->nodes[i].noutputs; k++)
			number(newid, ir->nodes[i].outputs[k], &next);
	}
	for (size_t i = 0; i < ir->noutputs; i++)
		number(newid, ir->outputs[i], &next);
	vals = calloc((size_t)next + 1, sizeof *vals);
	if (!vals)
		goto nomem;
	for (size_t i = 0; i < ir->nvalues; i++) {
		if (newid[i] >= 0) {
			vals[newid[i]] = ir->values[i];
			vals[newid[i]].producer = -1;
		} else {
			free(ir->values[i].name);
			free(ir->values[i].data);
		}
	}
	size_t nn = 0;
	for (size_t i = 0; i < ir->nnodes; i++) {
		struct dnnq_ir_node n = ir->nodes[i];
		if (dead && dead[i]) {
			free(n.name);
			free(n.op_type);
			continue;
		}
		for (uint32_t k = 0; k < n.ninputs; k++)
			n.inputs[k] = n.inputs[k] >= 0 ? newid[n.inputs[k]] : -1;
		for (uint32_t k = 0; k < n.noutputs; k++) {
			n.outputs[k] = newid[n.outputs[k]];
			vals[n.outputs[k]].producer = (int32_t)nn;
		}
		ir->nodes[nn++] = n;
	}
	for (size_t i = 0; i < ir->ninputs; i++)
		ir->inputs[i] = newid[ir->inputs[i]];
	for (size_t i = 0; i < ir->noutputs; i++)
		ir->outputs[i] = newid[ir->outputs[i]];
	free(ir->values);
	ir->values = vals;
	ir->nvalues = (size_t)next;
	ir->nnodes = nn;
	free(newid);
	return 0;
nomem:
	free(newid);
	return dnnq_diag_set(diag, DNNQ_E_NOMEM, "onnx: compaction: out of memory");
}
