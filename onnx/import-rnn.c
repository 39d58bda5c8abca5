/*
 * onnx/import-rnn.c — ONNX's LSTM, GRU and RNN, unrolled at import.
 *
 * A recurrent layer over a static sequence is a fixed chain of products
 * and elementwise steps, so the importer writes that chain out in IR nodes
 * the reference, the calibration, the precision choice and the lowering
 * already handle: per direction and time step, for each gate (ONNX's
 * order i, o, f, c), GEMM(x_t, W_g, Wb_g + Rb_g) + GEMM(h, R_g), then
 *
 *     c' = sigmoid(f) * c + sigmoid(i) * tanh(g),   h' = sigmoid(o) * tanh(c')
 *
 * (no R term, no f * c at a step whose state is all zero: the first one
 * without initial_h / initial_c). A GRU's gates are z, r, h (gru_step); a
 * plain RNN's one, h' = f(x W^T + h R^T + b), f Tanh or Relu (DeepSpeech's
 * bidirectional ReLU RNN). Y concatenates the h of every step,
 * Y_h and Y_c are the last ones. Each gate has a GEMM of its own rather
 * than one of 4H columns and slices: x and h keep their own scales in
 * int8, and --precision auto may keep any one gate fp32. Unrolling costs
 * a node group per step, so sequences are bounded (IMP_MAX_LSTM_STEPS);
 * real exports that stream audio (silero VAD) run a step or a few per call.
 *
 * X's batch is on dim 1 (the state's too). When X has it there, moved (a
 * graph input [T, N, I], onnx/import.c, or a Transpose of torch's
 * batch_first [N, T, I]), the IR holds it as [N, T, I], each step slices
 * its dim 1 and Y ([T, dirs, N, H] in ONNX) is the IR's [N, T, dirs, H],
 * its batch moved to ONNX's dim 2 for the Transposes after it
 * (import-ops.c); a state input is the IR's [N, dirs, H]. Otherwise the
 * model is imported with the batch fixed to 1. layout 1 (batch first:
 * X [N, T, I], Y [N, T, dirs, H], the states [N, dirs, H]) is that form
 * in ONNX itself: the same chain, nothing moved.
 *
 * Refused, clearly: activations other than the defaults, clip,
 * input_forget, peepholes (P), sequence_lens other than the full length.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/op.h"
#include "onnx/import-int.h"

#define IMP_MAX_LSTM_STEPS 256   /* time steps x directions */

enum { X, W, R, B, SEQ_LENS, INIT_H, INIT_C, P };

struct lstm {
	struct nctx *c;
	bool gru, lbr;                      /* a GRU; its linear_before_reset */
	bool rnn;                           /* a plain RNN */
	enum dnnq_ir_op act[2];             /* an RNN's activation per direction */
	bool moved;                         /* X's batch on ONNX's dim 1, dim 0 in the IR
	                                       (batch_first: X a Transpose of [N, T, I]) */
	bool layout1;                       /* ONNX's layout 1: batch first */
	bool nfirst;                        /* the IR's X, Y and states batch first
	                                       ([N, T, I]: moved or layout 1) */
	bool batched;                       /* nfirst, X batched: the values made are */
	int G;                              /* gates: 4 (LSTM: i, o, f, c), 3 (GRU: z, r, h),
	                                       1 (RNN) */
	int64_t T, Bn, I, H, D;
	uint32_t slice_kind, sub_kind;
	int32_t w[2][4], r[2][4], b[2][4];  /* constants per direction and gate */
	int32_t rbh[2];                     /* GRU linear_before_reset: Rb_h, apart */
	int32_t h, cs;                      /* the state of the step being built; -1: zero */
	size_t seq;                         /* names: a counter per emitted value */
};

static const char *op_name(const struct lstm *l)
{
	return l->rnn ? "RNN" : l->gru ? "GRU" : "LSTM";
}

static struct dnnq_ir_node base_node(enum dnnq_ir_op op)
{
	struct dnnq_ir_node n = { .op = op, .group = 1, .alpha = 1.0f, .beta = 1.0f,
	                          .clip_min = -INFINITY, .clip_max = INFINITY };
	n.strides[0] = n.strides[1] = n.dilations[0] = n.dilations[1] = 1;
	for (size_t i = 0; i < DNNQ_IR_MAX_INPUTS; i++)
		n.inputs[i] = -1;
	for (size_t i = 0; i < DNNQ_IR_MAX_OUTPUTS; i++)
		n.outputs[i] = -1;
	return n;
}

/* A value for node output or constant `what` (name: the LSTM's "/what.N",
 * or oname when given); its id, or < 0. */
static int32_t new_value(struct lstm *l, const char *what, const char *oname, uint32_t ndim,
                         const int64_t *dims, void *data, int32_t producer)
{
	char name[256];
	snprintf(name, sizeof name, "%s/%s.%zu", l->c->name, what, l->seq++);
	struct dnnq_ir_value v = { .name = (char *)(oname && *oname ? oname : name),
	                           .dtype = DNNQ_IR_F32, .ndim = ndim, .data = data,
	                           .batched = l->batched && producer >= 0, .producer = producer };
	memcpy(v.dims, dims, ndim * sizeof *dims);
	return imp_new_value(l->c->m, &v, true);
}

/* Node n (op, attributes, inputs) with one output of dims; its id, or < 0. */
static int32_t node(struct lstm *l, struct dnnq_ir_node n, uint32_t nin, const char *what,
                    const char *oname, uint32_t ndim, const int64_t *dims)
{
	struct imp *m = l->c->m;
	int32_t id = new_value(l, what, oname, ndim, dims, NULL, (int32_t)m->ir->nnodes);
	if (id < 0)
		return id;
	n.ninputs = nin;
	n.noutputs = 1;
	n.outputs[0] = id;
	n.name = strdup(m->ir->values[id].name);
	n.op_type = strdup(op_name(l));
	int rc = imp_new_node(m, &n);
	return rc ? rc : id;
}

static int32_t unary(struct lstm *l, enum dnnq_ir_op op, int32_t a, const char *what)
{
	struct dnnq_ir_node n = base_node(op);
	n.inputs[0] = a;
	const struct dnnq_ir_value *v = &l->c->m->ir->values[a];
	return node(l, n, 1, what, NULL, v->ndim, v->dims);
}

static int32_t binary(struct lstm *l, enum dnnq_ir_op op, int32_t a, int32_t b, const char *what,
                      const char *oname)
{
	struct dnnq_ir_node n = base_node(op);
	n.inputs[0] = a;
	n.inputs[1] = b;
	const struct dnnq_ir_value *v = &l->c->m->ir->values[a];
	return node(l, n, 2, what, oname, v->ndim, v->dims);
}

static int32_t reshape(struct lstm *l, int32_t a, uint32_t ndim, const int64_t *dims,
                       const char *oname)
{
	struct dnnq_ir_node n = base_node(DNNQ_IR_RESHAPE);
	n.inputs[0] = a;
	return node(l, n, 1, "reshape", oname, ndim, dims);
}

/* a[k] along axis (a 3-D value), keeping the axis: [.., 1, ..]. */
static int32_t pick(struct lstm *l, int32_t a, uint32_t axis, int64_t k)
{
	const struct dnnq_ir_value *v = &l->c->m->ir->values[a];
	struct dnnq_ir_node n = base_node(DNNQ_IR_ENGINE);
	int64_t d[DNNQ_IR_MAX_DIMS];
	n.kind = l->slice_kind;
	for (uint32_t i = 0; i < v->ndim; i++) {
		n.starts[i] = i == axis ? k : 0;
		n.steps[i] = 1;
		d[i] = i == axis ? 1 : v->dims[i];
	}
	n.inputs[0] = a;
	return node(l, n, 1, "slice", NULL, v->ndim, d);
}

static int32_t constant(struct lstm *l, const float *src, const float *src2, int64_t rows,
                        int64_t cols, int64_t ld, bool vec, const char *what);

/* [B, H] from a [1, B, H] slice of a 3-D value: input k of the node, per
 * direction; -1 when the input is absent or a constant of zeros (torch
 * exports an LSTM without state so: Expand of a 0). */
static int32_t state_in(struct lstm *l, size_t k, int64_t dir)
{
	int32_t v = k < l->c->nin ? l->c->in[k] : -1;
	if (v < 0)
		return -1;
	const float *data = l->c->m->ir->values[v].data;
	if (data) {
		size_t n = (size_t)(l->Bn * l->H);
		bool zero = true;
		for (size_t i = 0; i < n; i++)
			zero &= data[(size_t)dir * n + i] == 0;
		if (!zero && l->batched)
			return batch_moves(l->c, "a nonzero constant initial state beside X's batch");
		if (!zero && l->layout1 && l->Bn > 1)
			return bad(l->c, DNNQ_E_UNSUPPORTED, "a nonzero constant initial state of "
			           "layout 1 over %lld rows", (long long)l->Bn);
		return zero ? -1 : constant(l, data + (size_t)dir * n, NULL, l->Bn, l->H, l->H, false,
		                            "state");
	}
	int32_t s = l->D > 1 ? pick(l, v, l->layout1 || l->c->m->ir->values[v].batched, dir) : v;
	int64_t d[2] = { l->Bn, l->H };
	return s < 0 ? s : reshape(l, s, 2, d, NULL);
}

/* Concatenation of ids[0..n) along axis, chained 16 at a time. */
static int32_t concat(struct lstm *l, const int32_t *ids, size_t n, uint32_t axis,
                      const char *oname)
{
	int32_t acc = ids[0];
	for (size_t i = 1; i < n && acc >= 0;) {
		struct dnnq_ir_node nd = base_node(DNNQ_IR_CONCAT);
		nd.axis = axis;
		nd.inputs[0] = acc;
		const struct dnnq_ir_value *v = &l->c->m->ir->values[acc];
		int64_t d[DNNQ_IR_MAX_DIMS];
		memcpy(d, v->dims, sizeof d);
		uint32_t k = 1, ndim = v->ndim;
		for (; k < DNNQ_IR_MAX_INPUTS && i < n; k++, i++) {
			nd.inputs[k] = ids[i];
			d[axis] += l->c->m->ir->values[ids[i]].dims[axis];
		}
		acc = node(l, nd, k, "concat", i == n ? oname : NULL, ndim, d);
	}
	return acc;
}

/* One gate's pre-activation at a step: x W_g^T + b_g [+ hin R_g^T (+ rb)];
 * hin -1: none. */
static int32_t gate(struct lstm *l, int32_t x, int32_t hin, int32_t rb, int64_t dir, int g)
{
	struct dnnq_ir_node n = base_node(DNNQ_IR_GEMM);
	int64_t d[2] = { l->Bn, l->H };
	n.trans_b = true;
	n.inputs[0] = x;
	n.inputs[1] = l->w[dir][g];
	n.inputs[2] = l->b[dir][g];
	int32_t a = node(l, n, 3, "gemm_x", NULL, 2, d);
	if (a < 0 || hin < 0)
		return a;
	n.inputs[0] = hin;
	n.inputs[1] = l->r[dir][g];
	n.inputs[2] = rb;
	int32_t b = node(l, n, rb >= 0 ? 3 : 2, "gemm_h", NULL, 2, d);
	return b < 0 ? b : binary(l, DNNQ_IR_ADD, a, b, "gates", NULL);
}

/* One time step: l->h and l->cs advance. */
static int step(struct lstm *l, int32_t x, int64_t dir)
{
	int32_t a[4];
	for (int g = 0; g < 4; g++)
		if ((a[g] = gate(l, x, l->h, -1, dir, g)) < 0)
			return a[g];
	int32_t i = unary(l, DNNQ_IR_SIGMOID, a[0], "i");
	int32_t o = i < 0 ? i : unary(l, DNNQ_IR_SIGMOID, a[1], "o");
	int32_t f = o < 0 ? o : unary(l, DNNQ_IR_SIGMOID, a[2], "f");
	int32_t g = f < 0 ? f : unary(l, DNNQ_IR_TANH, a[3], "g");
	int32_t ig = g < 0 ? g : binary(l, DNNQ_IR_MUL, i, g, "ig", NULL);
	int32_t cn = ig;
	if (cn >= 0 && l->cs >= 0) {
		int32_t fc = binary(l, DNNQ_IR_MUL, f, l->cs, "fc", NULL);
		cn = fc < 0 ? fc : binary(l, DNNQ_IR_ADD, fc, ig, "c", NULL);
	}
	int32_t tc = cn < 0 ? cn : unary(l, DNNQ_IR_TANH, cn, "tanh_c");
	int32_t hn = tc < 0 ? tc : binary(l, DNNQ_IR_MUL, o, tc, "h", NULL);
	if (hn < 0)
		return hn;
	l->h = hn;
	l->cs = cn;
	return 0;
}

/* One RNN time step: h' = f(x W^T + h R^T + b). l->h advances. */
static int rnn_step(struct lstm *l, int32_t x, int64_t dir)
{
	int32_t a = gate(l, x, l->h, -1, dir, 0);
	int32_t hn = a < 0 ? a : unary(l, l->act[dir], a, "h");
	if (hn < 0)
		return hn;
	l->h = hn;
	return 0;
}

static int32_t sub(struct lstm *l, int32_t a, int32_t b, const char *what)
{
	struct dnnq_ir_node n = base_node(DNNQ_IR_ENGINE);
	n.kind = l->sub_kind;
	n.inputs[0] = a;
	n.inputs[1] = b;
	const struct dnnq_ir_value *v = &l->c->m->ir->values[a];
	return node(l, n, 2, what, NULL, v->ndim, v->dims);
}

/* One GRU time step (ONNX's z, r, h): h' = hh + z * (h - hh), hh = tanh(x
 * W_h^T + b + (r * h) R_h^T), or with linear_before_reset r * (h R_h^T +
 * Rb_h); with no state h' = hh - z * hh. l->h advances. */
static int gru_step(struct lstm *l, int32_t x, int64_t dir)
{
	int32_t z = gate(l, x, l->h, -1, dir, 0);
	z = z < 0 ? z : unary(l, DNNQ_IR_SIGMOID, z, "z");
	int32_t r = z < 0 ? z : gate(l, x, l->h, -1, dir, 1);
	r = r < 0 ? r : unary(l, DNNQ_IR_SIGMOID, r, "r");
	int32_t a;
	if (r < 0)
		return r;
	if (!l->lbr) {
		int32_t rh = l->h < 0 ? -1 : binary(l, DNNQ_IR_MUL, r, l->h, "rh", NULL);
		a = rh < -1 ? rh : gate(l, x, rh, -1, dir, 2);
	} else {
		/* r * (h R_h^T + Rb_h); no state: r * Rb_h */
		struct dnnq_ir_node n = base_node(DNNQ_IR_GEMM);
		int64_t d[2] = { l->Bn, l->H };
		n.trans_b = true;
		n.inputs[0] = l->h;
		n.inputs[1] = l->r[dir][2];
		n.inputs[2] = l->rbh[dir];
		int32_t hr = l->h < 0 ? l->rbh[dir] : node(l, n, 3, "gemm_h", NULL, 2, d);
		int32_t xa = hr < 0 ? hr : gate(l, x, -1, -1, dir, 2);
		int32_t m = xa < 0 ? xa : binary(l, DNNQ_IR_MUL, r, hr, "rh", NULL);
		a = m < 0 ? m : binary(l, DNNQ_IR_ADD, xa, m, "gates", NULL);
	}
	int32_t hh = a < 0 ? a : unary(l, DNNQ_IR_TANH, a, "hh");
	int32_t hn;
	if (hh < 0)
		return hh;
	if (l->h < 0) {
		int32_t zh = binary(l, DNNQ_IR_MUL, z, hh, "zh", NULL);
		hn = zh < 0 ? zh : sub(l, hh, zh, "h");
	} else {
		int32_t d = sub(l, l->h, hh, "h_hh");
		int32_t zd = d < 0 ? d : binary(l, DNNQ_IR_MUL, z, d, "zd", NULL);
		hn = zd < 0 ? zd : binary(l, DNNQ_IR_ADD, hh, zd, "h", NULL);
	}
	if (hn < 0)
		return hn;
	l->h = hn;
	return 0;
}

/* A constant [rows, cols] (vec: [cols], a bias) copied from src (row
 * stride ld; NULL: zeros), plus src2 when given (the two biases); its id,
 * or < 0. */
static int32_t constant(struct lstm *l, const float *src, const float *src2, int64_t rows,
                        int64_t cols, int64_t ld, bool vec, const char *what)
{
	float *p;
	size_t n = (size_t)(rows * cols);
	int rc = imp_const_alloc(l->c->m, n * sizeof *p, l->c->who, (void **)&p);
	if (rc)
		return rc;
	for (int64_t r = 0; r < rows; r++)
		for (int64_t k = 0; k < cols; k++)
			p[r * cols + k] = src ? src[r * ld + k] + (src2 ? src2[r * ld + k] : 0) : 0;
	int64_t d[2] = { rows, cols };
	int32_t id = new_value(l, what, NULL, vec ? 1 : 2, vec ? d + 1 : d, p, -1);
	if (id < 0)
		free(p);
	return id;
}

/* The attributes dnnq cannot honour, refused; direction into l->D. */
static int attributes(struct lstm *l, bool *reverse)
{
	struct nctx *c = l->c;
	int64_t hs, layout, fg, lbr;
	float clip;
	char dir[32];
	int rc;
	if ((rc = a_int(c, "hidden_size", 0, &hs)) || (rc = a_int(c, "layout", 0, &layout)) ||
	    (rc = a_int(c, "input_forget", 0, &fg)) || (rc = a_float(c, "clip", INFINITY, &clip)) ||
	    (rc = a_int(c, "linear_before_reset", 0, &lbr)) ||
	    (rc = a_str(c, "direction", "forward", dir, sizeof dir)))
		return rc;
	l->lbr = lbr != 0;
	if (layout != 0 && layout != 1)
		return bad(c, DNNQ_E_FORMAT, "layout %lld: 0 or 1 expected", (long long)layout);
	l->layout1 = layout == 1;
	if (fg || attr(c, "clip") || attr(c, "activation_alpha") || attr(c, "activation_beta"))
		return bad(c, DNNQ_E_UNSUPPORTED, "%s is not supported (only no clip, input_forget "
		           "0, default activations)", fg ? "input_forget" : attr(c, "clip") ? "clip" :
		           "activation_alpha/beta");
	const Onnx__AttributeProto *act = attr(c, "activations");
	size_t per = l->rnn ? 1 : l->gru ? 2 : 3;       /* activations per direction */
	l->act[0] = l->act[1] = DNNQ_IR_TANH;
	for (size_t i = 0; act && i < act->n_strings; i++) {
		static const char *const want[3] = { "Sigmoid", "Tanh", "Tanh" };
		const ProtobufCBinaryData *s = &act->strings[i];
		bool relu = s->len == 4 && !memcmp(s->data, "Relu", 4);
		if (l->rnn && i < 2 && (relu || (s->len == 4 && !memcmp(s->data, "Tanh", 4)))) {
			l->act[i] = relu ? DNNQ_IR_RELU : DNNQ_IR_TANH;
			continue;
		}
		if (l->rnn || s->len != strlen(want[i % per]) || memcmp(s->data, want[i % per], s->len))
			return bad(c, DNNQ_E_UNSUPPORTED, "activations[%zu] '%.*s': only %s are "
			           "supported", i, (int)(s->len < 30 ? s->len : 30),
			           (const char *)s->data, l->rnn ? "Tanh and Relu" : l->gru ?
			           "the default Sigmoid, Tanh" : "the default Sigmoid, Tanh, Tanh");
	}
	*reverse = !strcmp(dir, "reverse");
	l->D = !strcmp(dir, "bidirectional") ? 2 : 1;
	if (strcmp(dir, "forward") && !*reverse && l->D == 1)
		return bad(c, DNNQ_E_FORMAT, "direction '%s': forward, reverse or bidirectional", dir);
	if (act && act->n_strings != per * (size_t)l->D)
		return bad(c, DNNQ_E_FORMAT, "%zu activations for %lld direction(s): %zu each",
		           act->n_strings, (long long)l->D, per);
	l->H = hs;
	return 0;
}

/* Every input's shape and constness; the weights as per-gate constants. */
static int inputs(struct lstm *l)
{
	struct nctx *c = l->c;
	int rc;
	if ((rc = need(c, X, DT_F32, false)) || (rc = need(c, W, DT_F32, true)) ||
	    (rc = need(c, R, DT_F32, true)))
		return rc;
	/* X's batch where ONNX has it, on dim 1 (a graph input [T, N, I], a
	 * Transpose of batch_first's [N, T, I]), the states' too; any other
	 * batched input refused */
	l->moved = !l->layout1 && c->m->moved[c->in[X]] == 1;
	l->nfirst = l->moved || l->layout1;
	l->batched = l->nfirst && V(c, X)->batched;
	c->m->rnn_dim1 |= l->moved;
	/* (layout 1: X and the states batch first, as they are) */
	for (size_t k = 0; k < c->nin; k++)
		if (V(c, k) && V(c, k)->batched &&
		    !(c->m->moved[c->in[k]] == (l->layout1 ? 0 : 1) && l->nfirst &&
		      (k == X || k == INIT_H || k == INIT_C)))
			return batch_moves(c, "%s reads the batch on dim 1 (only an X with its batch "
			                   "there, a graph input [T, N, I] or a Transpose of a "
			                   "batch_first [N, T, I], keeps it)", op_name(l));
	const struct dnnq_ir_value *w = V(c, W), *r = V(c, R);
	struct dnnq_ir_value xo = *V(c, X), *x = &xo;      /* ONNX's dims, for messages */
	if (l->nfirst) {
		xo.dims[0] = V(c, X)->dims[1];
		xo.dims[1] = V(c, X)->dims[0];
		xo.batched = false;
	}
	if (x->ndim != 3)
		return bad(c, DNNQ_E_SHAPE, "X [%s]: [seq_length, batch, input_size] expected",
		           imp_dims_str(x));
	l->T = x->dims[0], l->Bn = x->dims[1], l->I = x->dims[2];
	if (l->T < 1 || l->Bn < 1 || l->I < 1)
		return bad(c, DNNQ_E_SHAPE, "X [%s]: an empty sequence, batch or input",
		           imp_dims_str(x));
	if (l->H < 1 || l->H > 65536 || w->ndim != 3 || w->dims[0] != l->D ||
	    w->dims[1] != l->G * l->H || w->dims[2] != l->I || r->ndim != 3 || r->dims[0] != l->D ||
	    r->dims[1] != l->G * l->H || r->dims[2] != l->H)
		return bad(c, DNNQ_E_SHAPE, "hidden_size %lld, W [%s], R [%s], X [%s]: W must be "
		           "[dirs, %d*hidden, input], R [dirs, %d*hidden, hidden]", (long long)l->H,
		           imp_dims_str(w), imp_dims_str(r), imp_dims_str(x), l->G, l->G);
	if (l->T * l->D > IMP_MAX_LSTM_STEPS)
		return bad(c, DNNQ_E_UNSUPPORTED, "%lld steps in %lld direction(s): the importer "
		           "unrolls at most %d", (long long)l->T, (long long)l->D, IMP_MAX_LSTM_STEPS);
	const struct dnnq_ir_value *b = V(c, B);
	if (b && ((rc = need(c, B, DT_F32, true)) || b->ndim != 2 || b->dims[0] != l->D ||
	          b->dims[1] != 2 * l->G * l->H))
		return rc ? rc : bad(c, DNNQ_E_SHAPE, "B [%s]: [dirs, %d*hidden] expected",
		                     imp_dims_str(b), 2 * l->G);
	if (V(c, P))
		return bad(c, DNNQ_E_UNSUPPORTED, "peepholes (input P) are not supported");
	const struct dnnq_ir_value *sl = V(c, SEQ_LENS);
	if (sl) {
		if ((rc = need(c, SEQ_LENS, DT_INT, true)))
			return rc;
		for (size_t i = 0; i < dnnq_ir_numel(sl, 1); i++) {
			int64_t v = sl->dtype == DNNQ_IR_S32 ? ((const int32_t *)sl->data)[i]
			                                     : ((const int64_t *)sl->data)[i];
			if (v != l->T)
				return bad(c, DNNQ_E_UNSUPPORTED, "sequence_lens[%zu] = %lld: only the "
				           "full length %lld is supported", i, (long long)v,
				           (long long)l->T);
		}
	}
	for (size_t k = INIT_H; k <= (l->G < 4 ? INIT_H : INIT_C); k++) {
		const struct dnnq_ir_value *s = V(c, k);
		bool b = s && (s->batched || l->layout1);       /* the IR's [N, dirs, H] */
		if (s && ((rc = need(c, k, DT_F32, false)) || s->ndim != 3 || s->dims[b] != l->D ||
		          s->dims[!b] != l->Bn || s->dims[2] != l->H))
			return rc ? rc : bad(c, DNNQ_E_SHAPE, "%s [%s]: [%lld, %lld, %lld] expected",
			                     k == INIT_H ? "initial_h" : "initial_c", imp_dims_str(s),
			                     (long long)l->D, (long long)l->Bn, (long long)l->H);
	}
	/* the data, not the values: each constant made moves the values table */
	const float *wd = w->data, *rd = r->data, *bd = b ? b->data : NULL;
	for (int64_t d = 0; d < l->D; d++)
		for (int g = 0; g < l->G; g++) {
			const float *wb = bd ? bd + (d * 2 * l->G + g) * l->H : NULL;
			const float *rb = wb ? wb + l->G * l->H : NULL;
			bool apart = l->gru && l->lbr && g == 2;   /* Rb_h inside r * (...) */
			int64_t o = (d * l->G + g) * l->H;
			if ((l->w[d][g] = constant(l, wd + o * l->I, NULL, l->H, l->I, l->I, false,
			                           "W")) < 0 ||
			    (l->r[d][g] = constant(l, rd + o * l->H, NULL, l->H, l->H, l->H, false,
			                           "R")) < 0 ||
			    (l->b[d][g] = constant(l, wb, apart ? NULL : rb, 1, l->H, l->H, true,
			                           "B")) < 0 ||
			    (apart && (l->rbh[d] = constant(l, rb, NULL, 1, l->H, l->H, true, "Rb")) < 0))
				return DNNQ_E_NOMEM;
		}
	return 0;
}

/* The ONNX output k's name, "" when absent. */
static const char *oname(struct nctx *c, size_t k)
{
	return k < c->np->n_output && c->np->output[k] ? c->np->output[k] : "";
}

bool imp_rnn_op(const char *op)
{
	return !strcmp(op, "LSTM") || !strcmp(op, "GRU") || !strcmp(op, "RNN") ||
	       !strcmp(op, "DynamicQuantizeLSTM");
}

int imp_rnn(struct nctx *c, const char *op)
{
	bool gru = !strcmp(op, "GRU"), rnn = !strcmp(op, "RNN");
	struct lstm l = { .c = c, .gru = gru, .rnn = rnn, .G = rnn ? 1 : gru ? 3 : 4 };
	bool reverse = false;
	const struct dnnq_op_def *sk = dnnq_op_find("slice"), *sb = dnnq_op_find("sub");
	int rc = attributes(&l, &reverse);
	if (rc || (rc = inputs(&l)))
		return rc;
	if (!sk || !sb)
		return bad(c, DNNQ_E_UNSUPPORTED, "this build has no 'slice' or 'sub' operator");
	l.slice_kind = sk->kind;
	l.sub_kind = sb->kind;
	int32_t *ys = calloc((size_t)(l.T * l.D), sizeof *ys), hs[2], cs[2], out[3] = { -1, -1, -1 };
	if (!ys)
		return DNNQ_E_NOMEM;
	/* Y [T, dirs, N, H], Y_h and Y_c [dirs, N, H]; X's batch moved: the IR's
	 * [N, T, dirs, H] and [N, dirs, H], the batch on ONNX's dims 2 and 1 */
	int64_t y4[4] = { 1, 1, l.Bn, l.H }, s3[3] = { 1, l.Bn, l.H }, xd[2] = { l.Bn, l.I };
	uint32_t ax = l.nfirst;         /* the IR's axis of ONNX's dim 0 */
	if (l.nfirst) {
		y4[0] = l.Bn, y4[2] = 1;
		s3[0] = l.Bn, s3[1] = 1;
	}
	for (int64_t d = 0; !rc && d < l.D; d++) {
		l.h = state_in(&l, INIT_H, d);
		l.cs = l.h < -1 || l.G < 4 ? l.h : state_in(&l, INIT_C, d);
		if (l.h < -1 || l.cs < -1) {
			rc = l.h < -1 ? l.h : l.cs;
			break;
		}
		for (int64_t s = 0; !rc && s < l.T; s++) {
			int64_t t = reverse || d == 1 ? l.T - 1 - s : s;
			int32_t x = l.T > 1 ? pick(&l, c->in[X], ax, t) : c->in[X];
			if (x < 0 || (x = reshape(&l, x, 2, xd, NULL)) < 0 ||
			    (rc = rnn ? rnn_step(&l, x, d) : gru ? gru_step(&l, x, d) : step(&l, x, d)))
				rc = rc ? rc : x;
			else if (*oname(c, 0) && (ys[d * l.T + t] = reshape(&l, l.h, 4, y4, NULL)) < 0)
				rc = ys[d * l.T + t];
		}
		if (!rc && ((hs[d] = reshape(&l, l.h, 3, s3, NULL)) < 0 ||
		            (l.G == 4 && (cs[d] = reshape(&l, l.cs, 3, s3, NULL)) < 0)))
			rc = DNNQ_E_NOMEM;
	}
	/* Y: each direction's steps along axis 0, the directions along axis 1 */
	for (int64_t d = 0; !rc && *oname(c, 0) && d < l.D; d++)
		if ((ys[d] = concat(&l, ys + d * l.T, (size_t)l.T, ax, l.D == 1 ? oname(c, 0) : NULL)) < 0)
			rc = ys[d];
	if (!rc && *oname(c, 0) && (out[0] = concat(&l, ys, (size_t)l.D, ax + 1, oname(c, 0))) < 0)
		rc = out[0];
	if (!rc && *oname(c, 1) && (out[1] = concat(&l, hs, (size_t)l.D, ax, oname(c, 1))) < 0)
		rc = out[1];
	if (!rc && *oname(c, 2) && (out[2] = concat(&l, cs, (size_t)l.D, ax, oname(c, 2))) < 0)
		rc = out[2];
	for (int k = 0; !rc && l.moved && k < 3; k++)
		if (out[k] >= 0)
			c->m->moved[out[k]] = k ? 1 : 2;
	free(ys);
	for (size_t k = 0; !rc && k < c->np->n_output; k++) {
		if (!*oname(c, k))
			continue;
		if (imp_find(c->m, oname(c, k)))
			bad(c, DNNQ_E_FORMAT, "output '%.100s' is defined twice", oname(c, k));
		else if (imp_add_name(c->m, oname(c, k), IMP_VALUE, out[k]))
			rc = DNNQ_E_NOMEM;
	}
	return rc;
}
