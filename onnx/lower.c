/*
 * onnx/lower.c — an IR to a .dnnq model (onnx/lower.h): the driver.
 *
 * Steps: liveness (nodes whose outputs nothing reads are dropped), the Q/DQ
 * pass (QuantizeLinear and DequantizeLinear parameters override
 * calibration: a Q's output and the value it quantizes take its
 * parameters, a DQ's output is the very u8 tensor it reads), the graph
 * inputs (f32 in the ONNX layout, quantized lazily), every node in order
 * (lower-ops.c), the graph outputs (dequantized back to f32 and NCHW), the
 * renumbering of the model values, and a self-check: the model is built and
 * planned once, and its graph's inputs and outputs must be the signature
 * (dtype and dims, what dnnqd checks at load).
 *
 * Each IR value has at most one u8 tensor (NHWC) and one f32 tensor in the
 * model (struct lval); need_u8 / need_f32 insert a Quantize or Dequantize
 * the first time a reader needs the other kind, and later readers share it.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine/op.h"
#include "onnx/lower-internal.h"

int lower_err(struct lower *L, const struct dnnq_ir_node *n, int rc, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (n)
		return dnnq_diag_set(L->diag, rc, "node '%s' (%s): %s", n->name ? n->name : "?",
		                     n->op_type ? n->op_type : dnnq_ir_op_name(n->op), what);
	return dnnq_diag_set(L->diag, rc, "%s", what);
}

int int8_refuse(struct lower *L, const struct dnnq_ir_node *n, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	L->refused = (int32_t)L->cur;
	return lower_err(L, n, DNNQ_E_RANGE, "%s", what);
}

const struct dnnq_ir_value *lval_ir(const struct lower *L, int32_t v)
{
	return &L->ir->values[v];
}

int check_input(struct lower *L, const struct dnnq_ir_node *n, uint32_t k, bool optional)
{
	if (k >= n->ninputs || n->inputs[k] < 0) {
		if (optional)
			return DNNQ_OK;
		return lower_err(L, n, DNNQ_E_FORMAT, "input %u: missing", k);
	}
	if ((size_t)n->inputs[k] >= L->ir->nvalues)
		return lower_err(L, n, DNNQ_E_FORMAT, "input %u: value %d: no such value", k,
		                 n->inputs[k]);
	return DNNQ_OK;
}

bool same_order(const struct dnnq_ir_value *v)
{
	return v->ndim != 4 || v->dims[1] == 1 || v->dims[2] * v->dims[3] == 1;
}

void engine_dims(const struct dnnq_ir_value *v, int64_t *dims)
{
	memset(dims, 0, DNNQ_MAX_DIMS * sizeof *dims);
	if (v->ndim == 4) {
		dims[0] = v->dims[0];
		dims[1] = v->dims[2];
		dims[2] = v->dims[3];
		dims[3] = v->dims[1];
		return;
	}
	for (uint32_t i = 0; i < v->ndim && i < DNNQ_MAX_DIMS; i++)
		dims[i] = v->dims[i];
}

uint32_t engine_axis(const struct dnnq_ir_value *v, uint32_t axis)
{
	static const uint32_t nchw[4] = { 0, 3, 1, 2 };
	return v->ndim == 4 && axis < 4 ? nchw[axis] : axis;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return DNNQ_OK;
	size_t c = *cap ? *cap * 2 : 16;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * size);
	if (!q)
		return DNNQ_E_NOMEM;
	*p = q;
	*cap = c;
	return DNNQ_OK;
}

struct dnnq_model_node *add_node(struct lower *L, enum dnnq_node_kind kind, const char *name,
                                 int32_t *ref)
{
	struct dnnq_model *m = L->m;
	if (grow((void **)&m->nodes, &L->cap_nodes, m->nnodes + 1, sizeof *m->nodes)) {
		dnnq_diag_set(L->diag, DNNQ_E_NOMEM, "lower: out of memory");
		return NULL;
	}
	struct dnnq_model_node *mn = &m->nodes[m->nnodes];
	char full[DNNQ_MODEL_NAME_MAX];
	model_name(full, name, "");
	dnnq_model_node_init(mn, kind, full);
	mn->precision = L->fp32 && dnnq_op_has(dnnq_op_get(kind), DNNQ_A_PRECISION)
	                ? DNNQ_PRECISION_FP32 : DNNQ_PRECISION_INT8;
	*ref = REF_NODE + (int32_t)m->nnodes++;
	return mn;
}

struct dnnq_model_node *add_node1(struct lower *L, enum dnnq_node_kind kind, const char *name,
                                  int32_t in, int32_t *ref)
{
	struct dnnq_model_node *mn = add_node(L, kind, name, ref);
	if (mn) {
		mn->ninputs = 1;
		mn->inputs[0] = in;
	}
	return mn;
}

struct dnnq_model_node *add_node2(struct lower *L, enum dnnq_node_kind kind, const char *name,
                                  int32_t in0, int32_t in1, int32_t *ref)
{
	struct dnnq_model_node *mn = add_node1(L, kind, name, in0, ref);
	if (mn) {
		mn->ninputs = 2;
		mn->inputs[1] = in1;
	}
	return mn;
}

int add_tensor(struct lower *L, const char *name, struct dnnq_qtensor **t)
{
	struct dnnq_model *m = L->m;
	if (grow((void **)&m->tensors, &L->cap_tensors, m->ntensors + 1, sizeof *m->tensors))
		return dnnq_diag_set(L->diag, DNNQ_E_NOMEM, "lower: out of memory");
	struct dnnq_model_tensor *mt = &m->tensors[m->ntensors];
	memset(mt, 0, sizeof *mt);
	snprintf(mt->name, sizeof mt->name, "%s", name);
	dnnq_qtensor_init(&mt->t);
	*t = &mt->t;
	return (int)m->ntensors++;
}

static int shaped(struct lower *L, struct dnnq_qtensor *t, enum dnnq_dtype dt, uint32_t ndim,
                  const int64_t *dims, const char *name)
{
	int rc = dnnq_qtensor_set_type(t, dt, 0, dt != DNNQ_DTYPE_U8);
	if (!rc)
		rc = dnnq_qtensor_resize(t, ndim, dims);
	if (rc)
		return dnnq_diag_set(L->diag, rc, "lower: tensor '%s': cannot allocate", name);
	return DNNQ_OK;
}

static size_t dims_numel(uint32_t ndim, const int64_t *dims)
{
	size_t n = 1;
	for (uint32_t i = 0; i < ndim; i++)
		n *= (size_t)dims[i];
	return n;
}

int add_tensor_nd(struct lower *L, const char *name, enum dnnq_dtype dt,
                         const void *data, uint32_t ndim, const int64_t *dims)
{
	struct dnnq_qtensor *t;
	int id = add_tensor(L, name, &t);
	if (id < 0)
		return id;
	int rc = shaped(L, t, dt, ndim, dims, name);
	if (rc)
		return rc;
	memcpy(t->data, data, dnnq_qtensor_numel(t) * 4);
	return id;
}

int add_f32_tensor(struct lower *L, const char *name, const float *data, size_t n)
{
	int64_t d = (int64_t)n;
	return add_tensor_nd(L, name, DNNQ_DTYPE_F32, data, 1, &d);
}

int add_s32_tensor(struct lower *L, const char *name, const int32_t *data, size_t n)
{
	int64_t d = (int64_t)n;
	return add_tensor_nd(L, name, DNNQ_DTYPE_S32, data, 1, &d);
}

static int add_constant_ref(struct lower *L, int id, int32_t *ref)
{
	struct dnnq_model *m = L->m;
	if (grow((void **)&m->constants, &L->cap_consts, m->nconstants + 1, sizeof *m->constants))
		return dnnq_diag_set(L->diag, DNNQ_E_NOMEM, "lower: out of memory");
	m->constants[m->nconstants] = id;
	*ref = REF_CONST + (int32_t)m->nconstants++;
	return DNNQ_OK;
}

static int u8_constant_nd(struct lower *L, const char *name, const float *data, uint32_t ndim,
                          const int64_t *dims, int32_t *ref);

int add_constant_nd(struct lower *L, const char *name, const float *data, uint32_t ndim,
                    const int64_t *dims, int32_t *ref)
{
	return L->fp32 ? add_f32_constant(L, name, data, ndim, dims, ref)
	               : u8_constant_nd(L, name, data, ndim, dims, ref);
}

int add_constant(struct lower *L, const char *name, const float *data, size_t n, int32_t *ref)
{
	int64_t d = (int64_t)n;
	return add_constant_nd(L, name, data, 1, &d, ref);
}

int add_f32_constant(struct lower *L, const char *name, const float *data, uint32_t ndim,
                     const int64_t *dims, int32_t *ref)
{
	int id = add_tensor_nd(L, name, DNNQ_DTYPE_F32, data, ndim, dims);
	return id < 0 ? id : add_constant_ref(L, id, ref);
}

int add_u8_constant(struct lower *L, const char *name, const float *data, size_t n,
                    int32_t *ref)
{
	int64_t d = (int64_t)n;
	return u8_constant_nd(L, name, data, 1, &d, ref);
}

/* A u8 constant tensor of shape dims with parameters qp, its data left to
 * the caller (*t); its id, or a negative status. */
static int u8_tensor_q(struct lower *L, const char *name, uint32_t ndim, const int64_t *dims,
                       const struct dnnq_qparams *qp, struct dnnq_qtensor **t)
{
	int id = add_tensor(L, name, t), rc;
	if (id < 0)
		return id;
	if ((rc = shaped(L, *t, DNNQ_DTYPE_U8, ndim, dims, name)) ||
	    (rc = dnnq_qtensor_set_qparams(*t, qp)))
		return rc < 0 ? rc : dnnq_diag_set(L->diag, rc, "lower: constant '%s': qparams", name);
	return id;
}

int add_q8_constant(struct lower *L, const char *name, const void *data, bool s8, uint32_t ndim,
                    const int64_t *dims, const struct dnnq_qparams *qp, int32_t *ref)
{
	struct dnnq_qtensor *t;
	int id = u8_tensor_q(L, name, ndim, dims, qp, &t);
	if (id < 0)
		return id;
	size_t n = dims_numel(ndim, dims);
	for (size_t i = 0; i < n; i++)   /* int8 as uint8: + 128 (the zero point too) */
		((uint8_t *)t->data)[i] = (uint8_t)(((const uint8_t *)data)[i] ^ (s8 ? 0x80 : 0));
	return add_constant_ref(L, id, ref);
}

static int u8_constant_nd(struct lower *L, const char *name, const float *data, uint32_t ndim,
                          const int64_t *dims, int32_t *ref)
{
	size_t n = dims_numel(ndim, dims);
	float lo, hi;
	dnnq_minmax(data, n, &lo, &hi);
	struct dnnq_qspec spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false };
	struct dnnq_qparams qp;
	int rc = dnnq_choose_qparams(lo, hi, &spec, &qp, L->diag);
	if (rc)
		return rc;
	struct dnnq_qtensor *t;
	int id = u8_tensor_q(L, name, ndim, dims, &qp, &t);
	if (id < 0)
		return id;
	dnnq_quantize(dnnq_isa_best(), data, t->data, DNNQ_DTYPE_U8, n, &qp);
	return add_constant_ref(L, id, ref);
}

int add_weight_tensor(struct lower *L, const char *name, const float *w, size_t rows,
                      size_t cols, uint32_t ndim, const int64_t *dims)
{
	bool pc = L->o->per_channel;
	size_t nq = pc ? rows : 1, span = pc ? cols : rows * cols;
	struct dnnq_qspec spec = {
		L->o->symmetric_weights ? DNNQ_QSCHEME_SYMMETRIC : DNNQ_QSCHEME_ASYMMETRIC, 8, true,
		false,
	};
	float *scales = malloc(nq * sizeof *scales);
	int32_t *zps = malloc(nq * sizeof *zps);
	struct dnnq_qtensor *t;
	int rc = scales && zps ? DNNQ_OK : dnnq_diag_set(L->diag, DNNQ_E_NOMEM, "lower: out of memory");
	int id = rc ? rc : add_tensor(L, name, &t);
	if (id < 0) {
		rc = id;
		goto out;
	}
	if ((rc = shaped(L, t, DNNQ_DTYPE_S8, ndim, dims, name)))
		goto out;
	for (size_t q = 0; q < nq; q++) {
		float lo, hi;
		struct dnnq_qparams qp;
		dnnq_minmax(w + q * span, span, &lo, &hi);
		if (!isfinite(lo) || !isfinite(hi)) {
			rc = dnnq_diag_set(L->diag, DNNQ_E_RANGE, "lower: weights '%s': not finite", name);
			goto out;
		}
		if ((rc = dnnq_choose_qparams(lo, hi, &spec, &qp, L->diag)))
			goto out;
		scales[q] = qp.scale;
		zps[q] = qp.zero_point;
		dnnq_quantize(dnnq_isa_best(), w + q * span, (int8_t *)t->data + q * span,
		              DNNQ_DTYPE_S8, span, &qp);
	}
	if (pc)
		rc = dnnq_qtensor_set_qparams_axis(t, 0, rows, scales, zps);
	else
		rc = dnnq_qtensor_set_qparams(t, &(struct dnnq_qparams){ scales[0], zps[0], 8, true });
	if (rc)
		rc = dnnq_diag_set(L->diag, rc, "lower: weights '%s': qparams", name);
out:
	free(scales);
	free(zps);
	return rc ? rc : id;
}

void set_out_qp(struct dnnq_model_node *mn, const struct dnnq_qparams *qp)
{
	mn->out_scale = qp->scale;
	mn->out_zero_point = qp->zero_point;
	mn->out_precision = qp->precision;
	mn->out_signed = qp->is_signed;
}

int value_qp(struct lower *L, const struct dnnq_ir_node *n, int32_t v, struct dnnq_qparams *qp)
{
	if (!L->has_qp[v])
		return lower_err(L, n, DNNQ_E_INVAL, "value '%s' must be quantized and has no "
		                 "quantization parameters", lval_ir(L, v)->name);
	*qp = L->qp[v];
	if (qp->is_signed && qp->precision >= 1 && qp->precision <= 8) {
		/* int8 levels q are the uint8 levels q + 2^(p-1) */
		qp->zero_point += 1 << (qp->precision - 1);
		qp->is_signed = false;
	}
	struct dnnq_diag d;
	if (qp->is_signed || dnnq_qparams_check(qp, DNNQ_DTYPE_U8, &d))
		return lower_err(L, n, DNNQ_E_RANGE, "value '%s': quantization parameters (scale %g,"
		                 " zero point %d): not usable for u8", lval_ir(L, v)->name, qp->scale,
		                 qp->zero_point);
	return DNNQ_OK;
}

void model_name(char buf[DNNQ_MODEL_NAME_MAX], const char *name, const char *suffix)
{
	size_t sl = strlen(suffix), nl = strlen(name);
	uint32_t h = 2166136261u;          /* FNV-1a of name and suffix */
	if (sl > DNNQ_MODEL_NAME_MAX - 11)
		sl = DNNQ_MODEL_NAME_MAX - 11;
	/* cut: the hash stands for what is gone (a name that fits was hashed
	 * too when it came to MAX - 10 bytes with its suffix: 'NAME~811c9dc5',
	 * the FNV basis, which no IR name matched, so --precision auto never
	 * found that node: silero VAD's 54-byte ReLUs stayed int8) */
	bool cut = nl + sl >= DNNQ_MODEL_NAME_MAX;
	if (cut) {
		for (const char *p = name; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		for (const char *p = suffix; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		nl = dnnq_utf8_cut(name, DNNQ_MODEL_NAME_MAX - 10 - sl);
	}
	memcpy(buf, name, nl);
	if (cut) {
		char hex[10];
		snprintf(hex, sizeof hex, "~%08x", (unsigned)h);
		memcpy(buf + nl, hex, 9);
		nl += 9;
	}
	memcpy(buf + nl, suffix, sl);
	buf[nl + sl] = '\0';
}

/* A node of kind and op reading in, named after value vname with suffix
 * ("x:quantize"); NULL when out of memory (diag set). */
static struct dnnq_model_node *value_node(struct lower *L, enum dnnq_node_kind kind, uint32_t op,
                                          const char *vname, const char *suffix, int32_t in,
                                          int32_t *ref)
{
	char name[DNNQ_MODEL_NAME_MAX];
	model_name(name, vname, suffix);
	struct dnnq_model_node *mn = add_node1(L, kind, name, in, ref);
	if (mn)
		mn->op = op;
	return mn;
}

int need_u8(struct lower *L, const struct dnnq_ir_node *n, int32_t v, int32_t *ref)
{
	struct lval *lv = &L->v[v];
	const struct dnnq_ir_value *iv = lval_ir(L, v);
	if (lv->u8 >= 0) {
		*ref = lv->u8;
		return DNNQ_OK;
	}
	if (lv->f32 < 0)
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s': %s here", iv->name,
		                 is_const(L, v) ? "a constant is not supported"
		                                : "not computed (unsupported producer)");
	struct dnnq_qparams qp;
	int rc = value_qp(L, n, v, &qp);
	if (rc)
		return rc;
	struct dnnq_model_node *mn = value_node(L, DNNQ_NODE_CONVERT,
	                                        iv->ndim == 4 && lv->f32_onnx
	                                        ? DNNQ_CONVERT_QUANTIZE_NCHW : DNNQ_CONVERT_QUANTIZE,
	                                        iv->name, ":quantize", lv->f32, ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	set_out_qp(mn, &qp);
	lv->u8 = *ref;
	lv->qp = qp;
	return DNNQ_OK;
}

int need_act(struct lower *L, const struct dnnq_ir_node *n, int32_t v, int32_t *ref)
{
	return L->fp32 ? need_f32(L, n, v, ref) : need_u8(L, n, v, ref);
}

int need_f32(struct lower *L, const struct dnnq_ir_node *n, int32_t v, int32_t *ref)
{
	struct lval *lv = &L->v[v];
	const struct dnnq_ir_value *iv = lval_ir(L, v);
	if (lv->f32 >= 0 && (!lv->f32_onnx || iv->ndim != 4)) {
		*ref = lv->f32;
		return DNNQ_OK;
	}
	if (lv->f32 >= 0) {
		/* an NCHW f32 value (a graph input) into the engine's layout, values
		 * unchanged: an fp32 region starts there without a quantization */
		if (!value_node(L, DNNQ_NODE_CONVERT, DNNQ_CONVERT_TO_NHWC, iv->name, ":nhwc",
		                lv->f32, ref))
			return DNNQ_E_NOMEM;
		lv->f32 = *ref;
		lv->f32_onnx = false;
		return DNNQ_OK;
	}
	int32_t u;
	int rc = need_u8(L, n, v, &u);
	if (rc)
		return rc;
	if (!value_node(L, DNNQ_NODE_CONVERT, DNNQ_CONVERT_DEQUANTIZE, lval_ir(L, v)->name,
	                ":dequantize", u, ref))
		return DNNQ_E_NOMEM;
	lv->f32 = *ref;
	lv->f32_onnx = false;
	return DNNQ_OK;
}

/* ---- constants ---- */

static const struct dnnq_ir_node *producer(const struct lower *L, int32_t v)
{
	int32_t p = lval_ir(L, v)->producer;
	return p >= 0 && (size_t)p < L->ir->nnodes ? &L->ir->nodes[p] : NULL;
}

static bool plain_const(const struct lower *L, int32_t v)
{
	return v >= 0 && (size_t)v < L->ir->nvalues && lval_ir(L, v)->data != NULL;
}

bool is_const(const struct lower *L, int32_t v)
{
	if (plain_const(L, v))
		return true;
	const struct dnnq_ir_node *p = producer(L, v);
	return p && p->op == DNNQ_IR_DEQUANTIZE && p->ninputs >= 2 && plain_const(L, p->inputs[0]);
}

static double elem(const struct dnnq_ir_value *v, size_t i)
{
	switch (v->dtype) {
	case DNNQ_IR_F32: return ((const float *)v->data)[i];
	case DNNQ_IR_U8:  return ((const uint8_t *)v->data)[i];
	case DNNQ_IR_S8:  return ((const int8_t *)v->data)[i];
	case DNNQ_IR_S32: return ((const int32_t *)v->data)[i];
	case DNNQ_IR_S64: return (double)((const int64_t *)v->data)[i];
	}
	return 0;
}

static size_t numel(const struct dnnq_ir_value *v)
{
	return dnnq_ir_numel(v, 1);
}

int const_int(struct lower *L, const struct dnnq_ir_node *n, int32_t v, int64_t **out,
              size_t *count)
{
	if (!plain_const(L, v))
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s' must be a constant",
		                 v >= 0 ? lval_ir(L, v)->name : "(absent)");
	const struct dnnq_ir_value *iv = lval_ir(L, v);
	if (iv->dtype == DNNQ_IR_F32)
		return lower_err(L, n, DNNQ_E_DTYPE, "input '%s': float, want integers", iv->name);
	size_t k = numel(iv);
	int64_t *p = malloc((k ? k : 1) * sizeof *p);
	if (!p)
		return dnnq_diag_set(L->diag, DNNQ_E_NOMEM, "lower: out of memory");
	for (size_t i = 0; i < k; i++)
		p[i] = iv->dtype == DNNQ_IR_S64 ? ((const int64_t *)iv->data)[i] : (int64_t)elem(iv, i);
	*out = p;
	*count = k;
	return DNNQ_OK;
}

/* Dequantizes constant x with scale s and zero point z per tensor or along axis. */
static int dq_const(struct lower *L, const struct dnnq_ir_node *dq, float *out)
{
	const struct dnnq_ir_value *x = lval_ir(L, dq->inputs[0]);
	int32_t sv = dq->inputs[1], zv = dq->ninputs > 2 ? dq->inputs[2] : -1;
	if (!plain_const(L, sv) || (zv >= 0 && !plain_const(L, zv)))
		return lower_err(L, dq, DNNQ_E_UNSUPPORTED, "scale and zero point must be constants");
	const struct dnnq_ir_value *s = lval_ir(L, sv), *z = zv >= 0 ? lval_ir(L, zv) : NULL;
	size_t ns = numel(s), n = numel(x);
	if (s->dtype != DNNQ_IR_F32 || (z && numel(z) != ns) ||
	    (ns != 1 && (dq->axis < 0 || (uint32_t)dq->axis >= x->ndim ||
	                 (size_t)x->dims[dq->axis] != ns)))
		return lower_err(L, dq, DNNQ_E_SHAPE, "scale/zero point: want 1 or one per axis-%lld"
		                 " element", (long long)dq->axis);
	size_t inner = 1;
	if (ns != 1)
		for (uint32_t d = (uint32_t)dq->axis + 1; d < x->ndim; d++)
			inner *= (size_t)x->dims[d];
	for (size_t i = 0; i < n; i++) {
		size_t c = ns == 1 ? 0 : (i / inner) % ns;
		double zp = z ? elem(z, c) : 0;
		out[i] = (float)(elem(x, i) - zp) * ((const float *)s->data)[c];
	}
	return DNNQ_OK;
}

int const_f32(struct lower *L, const struct dnnq_ir_node *n, int32_t v, size_t want,
              float **out, size_t *count)
{
	if (v < 0 || !is_const(L, v))
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "input '%s' must be a constant",
		                 v >= 0 ? lval_ir(L, v)->name : "(absent)");
	const struct dnnq_ir_value *iv = lval_ir(L, v);
	const struct dnnq_ir_node *p = plain_const(L, v) ? NULL : producer(L, v);
	size_t k = numel(p ? lval_ir(L, p->inputs[0]) : iv);
	if (want && k != want)
		return lower_err(L, n, DNNQ_E_SHAPE, "constant '%s' has %zu elements, want %zu",
		                 iv->name, k, want);
	float *f = malloc((k ? k : 1) * sizeof *f);
	if (!f)
		return dnnq_diag_set(L->diag, DNNQ_E_NOMEM, "lower: out of memory");
	int rc = DNNQ_OK;
	if (p)
		rc = dq_const(L, p, f);
	else if (iv->dtype == DNNQ_IR_S64)
		rc = lower_err(L, n, DNNQ_E_DTYPE, "constant '%s': int64, want numbers", iv->name);
	else if (iv->dtype == DNNQ_IR_F32)
		memcpy(f, iv->data, k * sizeof *f);
	else
		for (size_t i = 0; i < k; i++)
			f[i] = (float)elem(iv, i);
	if (rc) {
		free(f);
		return rc;
	}
	*out = f;
	if (count)
		*count = k;
	return DNNQ_OK;
}

int32_t sole_reader(const struct lower *L, int32_t v)
{
	return L->nreaders[v] == 1 && !L->is_output[v] ? L->reader[v] : -1;
}

/* ---- the Q/DQ pass ---- */

/* x's zero point of ConvInteger / MatMulInteger n (input 2; 0 when absent),
 * in the uint8 storage (an int8 one + 128). */
int integer_zero_point(struct lower *L, const struct dnnq_ir_node *n, int32_t *zp)
{
	*zp = 0;
	int32_t zv = n->ninputs > 2 ? n->inputs[2] : -1;
	bool s8 = lval_ir(L, n->inputs[0])->dtype == DNNQ_IR_S8;
	if (zv < 0) {
		*zp = s8 ? 128 : 0;
		return DNNQ_OK;
	}
	int64_t *z;
	size_t nz;
	int rc = const_int(L, n, zv, &z, &nz);
	if (rc)
		return rc;
	if (nz != 1)
		rc = lower_err(L, n, DNNQ_E_UNSUPPORTED, "x zero point: %zu values: want 1", nz);
	else
		*zp = (int32_t)z[0] + (s8 ? 128 : 0);
	free(z);
	return rc;
}

/* Per-tensor activation parameters of a Q/DQ-like node: scale input si,
 * zero point input zi (optional), the integer tensor's dtype dt. */
int act_qparams(struct lower *L, const struct dnnq_ir_node *n, uint32_t si, uint32_t zi,
                enum dnnq_ir_dtype dt, struct dnnq_qparams *qp)
{
	float *s = NULL;
	int64_t *z = NULL;
	size_t nz = 0;
	int rc = const_f32(L, n, n->inputs[si], 0, &s, &nz);
	if (rc)
		return rc;
	if (nz != 1) {
		free(s);
		return lower_err(L, n, DNNQ_E_UNSUPPORTED, "per-axis quantization of an activation");
	}
	int64_t zp = 0;
	if (zi < n->ninputs && n->inputs[zi] >= 0) {
		if ((rc = const_int(L, n, n->inputs[zi], &z, &nz))) {
			free(s);
			return rc;
		}
		if (nz != 1)
			rc = lower_err(L, n, DNNQ_E_UNSUPPORTED, "per-axis zero point of an activation");
		else
			zp = z[0];
		dt = lval_ir(L, n->inputs[zi])->dtype;
	}
	if (!rc && dt != DNNQ_IR_U8 && dt != DNNQ_IR_S8)
		rc = lower_err(L, n, DNNQ_E_UNSUPPORTED, "%s activations: only uint8 and int8",
		               dnnq_ir_dtype_name(dt));
	if (!rc && !(s[0] > 0 && isfinite(s[0])))
		rc = lower_err(L, n, DNNQ_E_RANGE, "scale %g: must be finite and positive", s[0]);
	if (!rc)
		*qp = (struct dnnq_qparams){ s[0], (int32_t)zp + (dt == DNNQ_IR_S8 ? 128 : 0), 8,
		                             false };
	free(s);
	free(z);
	return rc;
}

bool per_axis(const struct lower *L, const struct dnnq_ir_node *n)
{
	return n->ninputs > 1 && n->inputs[1] >= 0 && dnnq_ir_numel(lval_ir(L, n->inputs[1]), 1) > 1;
}

struct dnnq_qparams raw_qp(enum dnnq_ir_dtype dt)
{
	return (struct dnnq_qparams){ 1, dt == DNNQ_IR_S8 ? 128 : 0, 8, false };
}

static void set_qp(struct lower *L, int32_t v, const struct dnnq_qparams *qp, bool force)
{
	if (v < 0 || (!force && L->has_qp[v]))
		return;
	L->qp[v] = *qp;
	L->has_qp[v] = true;
}

static int qdq_pass(struct lower *L)
{
	const struct dnnq_ir *ir = L->ir;
	bool *set = calloc(ir->nvalues + 1, 1);   /* parameters from the model itself */
	if (!set)
		return dnnq_diag_set(L->diag, DNNQ_E_NOMEM, "lower: out of memory");
	int rc = DNNQ_OK;
	for (size_t j = 0; j < ir->nnodes && !rc; j++) {
		const struct dnnq_ir_node *n = &ir->nodes[j];
		struct dnnq_qparams qp;
		if (!L->live[j])
			continue;
		switch (n->op) {
		case DNNQ_IR_QUANTIZE:
		case DNNQ_IR_DEQUANTIZE: {
			bool q = n->op == DNNQ_IR_QUANTIZE;
			if (!q && is_const(L, n->inputs[0]))
				break;
			/* the integer side: Quantize's output, Dequantize's input */
			int32_t iv = q ? n->outputs[0] : n->inputs[0];
			if (per_axis(L, n)) {
				/* the integers as they are; the float side has no
				 * per-tensor parameters (lower_*quantize_axis) */
				qp = raw_qp(lval_ir(L, iv)->dtype);
				set_qp(L, iv, &qp, true);
				set[iv] = true;
				break;
			}
			if ((rc = act_qparams(L, n, 1, 2, lval_ir(L, iv)->dtype, &qp)))
				break;
			set_qp(L, n->outputs[0], &qp, true);
			set_qp(L, n->inputs[0], &qp, !set[n->inputs[0]]);
			set[n->outputs[0]] = set[n->inputs[0]] = true;
			break;
		}
		case DNNQ_IR_CONVINTEGER:
		case DNNQ_IR_MATMULINTEGER:
			/* x's integers as they are: scale 1, its zero point (int8
			 * stored as uint8: + 128) */
			if ((rc = integer_zero_point(L, n, &qp.zero_point)))
				break;
			qp = (struct dnnq_qparams){ 1, qp.zero_point, 8, false };
			set_qp(L, n->inputs[0], &qp, true);
			break;
		case DNNQ_IR_QLINEARCONV:
		case DNNQ_IR_QLINEARMATMUL:
			if ((rc = act_qparams(L, n, 1, 2, lval_ir(L, n->inputs[0])->dtype, &qp)))
				break;
			set_qp(L, n->inputs[0], &qp, !set[n->inputs[0]]);
			set[n->inputs[0]] = true;
			/* QLinearMatMul's b, an activation (xfmr: any rank) */
			if (n->op == DNNQ_IR_QLINEARMATMUL && !is_const(L, n->inputs[3])) {
				if ((rc = act_qparams(L, n, 4, 5, lval_ir(L, n->inputs[3])->dtype, &qp)))
					break;
				set_qp(L, n->inputs[3], &qp, !set[n->inputs[3]]);
				set[n->inputs[3]] = true;
			}
			if ((rc = act_qparams(L, n, 6, 7, lval_ir(L, n->outputs[0])->dtype, &qp)))
				break;
			set_qp(L, n->outputs[0], &qp, true);
			set[n->outputs[0]] = true;
			break;
		default:
			break;
		}
	}
	free(set);
	return rc;
}

/* ---- validation and liveness ---- */

static int check_ir(struct lower *L)
{
	const struct dnnq_ir *ir = L->ir;
	for (size_t i = 0; i < ir->ninputs + ir->noutputs; i++) {
		int32_t v = i < ir->ninputs ? ir->inputs[i] : ir->outputs[i - ir->ninputs];
		if (v < 0 || (size_t)v >= ir->nvalues)
			return dnnq_diag_set(L->diag, DNNQ_E_FORMAT, "graph %s %zu: value %d: no such value",
			                     i < ir->ninputs ? "input" : "output",
			                     i < ir->ninputs ? i : i - ir->ninputs, v);
	}
	for (size_t v = 0; v < ir->nvalues; v++) {
		const struct dnnq_ir_value *iv = &ir->values[v];
		if (iv->ndim > DNNQ_IR_MAX_DIMS || !iv->name)
			return dnnq_diag_set(L->diag, DNNQ_E_FORMAT, "value %zu: rank %u or name invalid",
			                     v, iv->ndim);
		for (uint32_t d = 0; d < iv->ndim; d++)
			if (iv->dims[d] < 0 || iv->dims[d] > (1 << 24))
				return dnnq_diag_set(L->diag, DNNQ_E_SHAPE, "value '%s': dims[%u] = %lld: out"
				                     " of range", iv->name, d, (long long)iv->dims[d]);
	}
	for (size_t j = 0; j < ir->nnodes; j++) {
		const struct dnnq_ir_node *n = &ir->nodes[j];
		if (n->ninputs > DNNQ_IR_MAX_INPUTS || n->noutputs < 1 ||
		    n->noutputs > DNNQ_IR_MAX_OUTPUTS || (unsigned)n->op >= DNNQ_IR_OP_COUNT)
			return lower_err(L, n, DNNQ_E_FORMAT, "%u inputs, %u outputs: invalid",
			                 n->ninputs, n->noutputs);
		for (uint32_t k = 0; k < n->noutputs; k++) {
			int32_t o = n->outputs[k];
			if (o < 0 || (size_t)o >= ir->nvalues || ir->values[o].producer != (int32_t)j)
				return lower_err(L, n, DNNQ_E_FORMAT, "output %u: value %d: invalid", k, o);
		}
		for (uint32_t k = 0; k < n->ninputs; k++) {
			int32_t v = n->inputs[k];
			if (v >= (int32_t)ir->nvalues || v < -1 || (v >= 0 && v >= n->outputs[0]))
				return lower_err(L, n, DNNQ_E_FORMAT, "input %u: value %d: not an earlier value",
				                 k, v);
		}
	}
	return DNNQ_OK;
}

static void liveness(struct lower *L)
{
	const struct dnnq_ir *ir = L->ir;
	for (size_t i = 0; i < ir->noutputs; i++)
		L->is_output[ir->outputs[i]] = true;
	dnnq_ir_liveness(ir, L->live, L->used);
	for (size_t v = 0; v < ir->nvalues; v++) {
		L->reader[v] = -1;
		L->nreaders[v] = L->is_output[v];
	}
	for (size_t j = 0; j < ir->nnodes; j++) {
		const struct dnnq_ir_node *n = &ir->nodes[j];
		for (uint32_t k = 0; L->live[j] && k < n->ninputs; k++) {
			int32_t v = n->inputs[k];
			if (v < 0)
				continue;
			L->nreaders[v]++;
			if (L->reader[v] < 0)
				L->reader[v] = (int32_t)j;
		}
	}
}

/* ---- edges ---- */

static int lower_inputs(struct lower *L)
{
	const struct dnnq_ir *ir = L->ir;
	struct dnnq_model *m = L->m;
	if (!(m->inputs = calloc(ir->ninputs + 1, sizeof *m->inputs)))
		return dnnq_diag_set(L->diag, DNNQ_E_NOMEM, "lower: out of memory");
	m->ninputs = ir->ninputs;
	for (size_t i = 0; i < ir->ninputs; i++) {
		int32_t v = ir->inputs[i];
		const struct dnnq_ir_value *iv = lval_ir(L, v);
		struct dnnq_model_io *io = &m->inputs[i];
		model_name(io->name, iv->name, "");
		if (iv->ndim < 1 || iv->ndim > DNNQ_MAX_DIMS || !iv->batched || iv->data)
			return dnnq_diag_set(L->diag, DNNQ_E_UNSUPPORTED, "graph input '%s': rank %u%s:"
			                     " want a batched tensor of rank 1..%d", iv->name, iv->ndim,
			                     iv->batched ? "" : " without a batch", DNNQ_MAX_DIMS);
		io->ndim = iv->ndim;
		memcpy(io->dims, iv->dims, iv->ndim * sizeof *iv->dims);
		if (!L->used[v] && iv->dtype != DNNQ_IR_S64) {
			/* read by no node: in the signature as ONNX gives it, its
			 * integers (u8, s8) of scale 1, and no node */
			static const enum dnnq_dtype dt[] = { [DNNQ_IR_F32] = DNNQ_DTYPE_F32,
			                                      [DNNQ_IR_U8] = DNNQ_DTYPE_U8,
			                                      [DNNQ_IR_S8] = DNNQ_DTYPE_S8,
			                                      [DNNQ_IR_S32] = DNNQ_DTYPE_S32 };
			io->dtype = dt[iv->dtype];
			if (iv->dtype == DNNQ_IR_U8 || iv->dtype == DNNQ_IR_S8)
				io->qp = (struct dnnq_qparams){ .scale = 1, .precision = 8,
				                                .is_signed = iv->dtype == DNNQ_IR_S8 };
			continue;
		}
		if (iv->dtype == DNNQ_IR_F32) {
			io->dtype = DNNQ_DTYPE_F32;
			L->v[v].f32 = (int32_t)i;
			L->v[v].f32_onnx = true;
			continue;
		}
		if (iv->dtype == DNNQ_IR_S32 && same_order(iv)) {
			/* integers as they are (token ids, a mask): an embedding or a
			 * Cast reads them */
			io->dtype = DNNQ_DTYPE_S32;
			L->v[v].s32 = (int32_t)i;
			continue;
		}
		if (iv->dtype == DNNQ_IR_S32) {
			/* 4-D integers (indices, a mask) in ONNX's order: cast to
			 * floats (exact within +-2^24, as computed integers are),
			 * which need_f32 moves to the engine's NHWC as an f32 input */
			struct dnnq_qparams raw = raw_qp(DNNQ_IR_S32);
			struct dnnq_model_node *mn = value_node(L, DNNQ_NODE_CONVERT, DNNQ_CONVERT_CAST,
			                                        iv->name, ":f32", (int32_t)i,
			                                        &L->v[v].f32);
			if (!mn)
				return DNNQ_E_NOMEM;
			io->dtype = DNNQ_DTYPE_S32;
			set_out_qp(mn, &raw);
			L->v[v].f32_onnx = true;
			continue;
		}
		if (iv->dtype != DNNQ_IR_U8 && iv->dtype != DNNQ_IR_S8)
			return dnnq_diag_set(L->diag, DNNQ_E_UNSUPPORTED, "graph input '%s': %s: inputs "
			                     "are float32, uint8, int8 or int32 (int64 read as int32)",
			                     iv->name, dnnq_ir_dtype_name(iv->dtype));
		struct dnnq_qparams qp;
		int rc = value_qp(L, NULL, v, &qp);
		if (rc)
			return rc;
		io->dtype = DNNQ_DTYPE_U8;
		io->qp = qp;
		int32_t in = (int32_t)i;
		if (iv->dtype == DNNQ_IR_S8) {
			/* int8 in the signature; the graph runs the same reals in uint8
			 * (q + 128: qp's zero point is the uint8 one, act_qparams) */
			io->dtype = DNNQ_DTYPE_S8;
			io->qp.zero_point -= 128;
			io->qp.is_signed = true;
			if (!value_node(L, DNNQ_NODE_CONVERT, DNNQ_CONVERT_S8_TO_U8, iv->name, ":u8",
			                (int32_t)i, &in))
				return DNNQ_E_NOMEM;
		}
		if (!same_order(iv)) {
			/* NCHW u8 to NHWC: dequantized (NCHW f32), then need_u8's
			 * Quantize to NHWC with the same parameters gives back the
			 * very integers */
			if (!value_node(L, DNNQ_NODE_CONVERT, DNNQ_CONVERT_DEQUANTIZE, iv->name,
			                ":dequantize", in, &L->v[v].f32))
				return DNNQ_E_NOMEM;
			L->v[v].f32_onnx = true;
			continue;
		}
		L->v[v].u8 = in;
		L->v[v].qp = qp;
		if (iv->ndim == 4) {
			char name[DNNQ_MODEL_NAME_MAX];
			model_name(name, iv->name, ":reshape");
			struct dnnq_model_node *mn = add_node1(L, DNNQ_NODE_RESHAPE, name, in,
			                                       &L->v[v].u8);
			if (!mn)
				return DNNQ_E_NOMEM;
			mn->ndim = 4;
			engine_dims(iv, mn->dims);
		}
	}
	return DNNQ_OK;
}

static int out_node(struct lower *L, enum dnnq_node_kind kind, uint32_t op, const char *name,
                    int32_t in, const struct dnnq_ir_value *iv, int32_t *ref)
{
	struct dnnq_model_node *mn = add_node1(L, kind, name, in, ref);
	if (!mn)
		return DNNQ_E_NOMEM;
	mn->op = op;
	mn->ndim = iv->ndim;
	memcpy(mn->dims, iv->dims, iv->ndim * sizeof *iv->dims);
	return DNNQ_OK;
}

/* The tensor whose buffer ref uses (following reshape views). */
static int32_t view_base(const struct lower *L, int32_t ref)
{
	while (ref >= REF_NODE && ref < REF_CONST &&
	       L->m->nodes[ref - REF_NODE].kind == DNNQ_NODE_RESHAPE)
		ref = L->m->nodes[ref - REF_NODE].inputs[0];
	return ref;
}

/* Whether ref can be graph output i: computed by a node (not a view of a
 * graph input) whose buffer no earlier output writes. */
static bool can_output(const struct lower *L, size_t i, int32_t ref)
{
	int32_t b = view_base(L, ref);
	if (b < REF_NODE || b >= REF_CONST)
		return false;
	for (size_t k = 0; k < i; k++)
		if (view_base(L, L->m->outputs[k].value) == b)
			return false;
	return true;
}

/* A copy of in for graph output iv when its tensor is a graph input's or
 * another output's: a transpose by the identity permutation, any rank;
 * fp32 (f32, or int32 moved as it is), or int8 moving u8 codes of
 * parameters qp. The node is NAME:copy, or NAME:copyI for graph output I
 * listing a value again. */
static int copy_output(struct lower *L, int32_t in, const struct dnnq_ir_value *iv,
                       const char *suffix, const struct dnnq_qparams *qp, int32_t *ref)
{
	char name[DNNQ_MODEL_NAME_MAX];
	model_name(name, iv->name, suffix);
	int rc = out_node(L, (enum dnnq_node_kind)dnnq_op_find("transpose")->kind, 0, name, in, iv,
	                  ref);
	if (rc)
		return rc;
	struct dnnq_model_node *mn = &L->m->nodes[*ref - REF_NODE];
	mn->precision = qp ? DNNQ_PRECISION_INT8 : DNNQ_PRECISION_FP32;
	if (qp) {
		set_out_qp(mn, qp);
		mn->out_dtype = DNNQ_DTYPE_U8;
	}
	for (uint32_t d = 0; d < iv->ndim; d++)
		mn->dims[d] = d;
	return DNNQ_OK;
}

/* Graph output i lists the value of earlier output k again (ONNX lets a
 * graph name a value twice among its outputs): a copy of output k's
 * tensor, so each output has a buffer of its own. An int8 output copies
 * the u8 codes before their shift to int8, and shifts them again. */
static int dup_output(struct lower *L, size_t i, size_t k)
{
	int32_t v = L->ir->outputs[i];
	const struct dnnq_ir_value *iv = lval_ir(L, v);
	struct dnnq_model_io *io = &L->m->outputs[i];
	char suffix[32];
	*io = L->m->outputs[k];
	bool f32 = io->dtype == DNNQ_DTYPE_F32 || io->dtype == DNNQ_DTYPE_S32;
	bool s8 = io->dtype == DNNQ_DTYPE_S8;
	int32_t src = s8 ? L->m->nodes[io->value - REF_NODE].inputs[0] : io->value;
	snprintf(suffix, sizeof suffix, ":copy%zu", i);
	int rc = copy_output(L, src, iv, suffix, f32 ? NULL : &L->v[v].qp, &io->value);
	if (!rc && s8) {
		char name[DNNQ_MODEL_NAME_MAX];
		snprintf(suffix, sizeof suffix, ":copy%zu:s8", i);
		model_name(name, iv->name, suffix);
		rc = out_node(L, DNNQ_NODE_CONVERT, DNNQ_CONVERT_U8_TO_S8, name, io->value, iv,
		              &io->value);
	}
	return rc;
}

static int lower_output(struct lower *L, size_t i)
{
	int32_t v = L->ir->outputs[i];
	const struct dnnq_ir_value *iv = lval_ir(L, v);
	struct lval *lv = &L->v[v];
	struct dnnq_model_io *io = &L->m->outputs[i];
	const struct dnnq_ir_node *p = producer(L, v);
	char name[DNNQ_MODEL_NAME_MAX];
	int32_t ref = -1, in;
	int rc = DNNQ_OK;
	for (size_t k = 0; k < i; k++)
		if (L->ir->outputs[k] == v)
			return dup_output(L, i, k);
	model_name(io->name, iv->name, "");
	io->ndim = iv->ndim;
	memcpy(io->dims, iv->dims, iv->ndim * sizeof *iv->dims);
	/* a float or int32 graph input passed through is copied (below); a
	 * uint8 or int8 one is not, though its NCHW form has an f32 value too
	 * (its dequantization, whose name the copy's would take again) */
	bool input = !p && !iv->data && (iv->dtype == DNNQ_IR_F32 ? lv->f32 >= 0 :
	                                 iv->dtype == DNNQ_IR_S32 && lv->s32 >= 0);
	if ((!p && !input) || iv->ndim < 1 || iv->ndim > DNNQ_MAX_DIMS || !iv->batched)
		return dnnq_diag_set(L->diag, DNNQ_E_UNSUPPORTED, "graph output '%s': %s", iv->name,
		                     !dnnq_ir_numel(iv, 1) ? "it has no elements (a dim of 0)" :
		                     !p && !input ? "a constant or a uint8/int8 graph input" :
		                     "want a batched tensor of rank 1..8");
	if (iv->dtype == DNNQ_IR_U8 || iv->dtype == DNNQ_IR_S8) {
		if ((rc = need_u8(L, p, v, &in)))
			return rc;
		io->dtype = DNNQ_DTYPE_U8;
		io->qp = lv->qp;
		ref = in;
		if (!same_order(iv)) {
			/* NHWC u8 to NCHW: dequantized to NCHW f32, quantized back with
			 * the same parameters: the very integers */
			int32_t f;
			model_name(name, iv->name, ":dequantize");
			if ((rc = out_node(L, DNNQ_NODE_CONVERT, DNNQ_CONVERT_DEQUANTIZE_NCHW, name, in, iv,
			                   &f)))
				return rc;
			model_name(name, iv->name, ":quantize");
			if ((rc = out_node(L, DNNQ_NODE_CONVERT, DNNQ_CONVERT_QUANTIZE, name, f, iv, &ref)))
				return rc;
			set_out_qp(&L->m->nodes[ref - REF_NODE], &lv->qp);
		} else if (iv->ndim == 4) {
			model_name(name, iv->name, ":reshape");
			rc = out_node(L, DNNQ_NODE_RESHAPE, 0, name, in, iv, &ref);
		}
		if (!rc && iv->dtype == DNNQ_IR_S8) {
			/* int8 in the signature: the same reals, q - 128 */
			model_name(name, iv->name, ":s8");
			rc = out_node(L, DNNQ_NODE_CONVERT, DNNQ_CONVERT_U8_TO_S8, name, ref, iv, &ref);
			io->dtype = DNNQ_DTYPE_S8;
			io->qp.zero_point -= 128;
			io->qp.is_signed = true;
		}
	} else if (iv->dtype == DNNQ_IR_S32 && lv->s32 >= 0) {
		/* an integer operator's sums; NHWC back to NCHW moves them as is */
		io->dtype = DNNQ_DTYPE_S32;
		ref = lv->s32;
		model_name(name, iv->name, same_order(iv) ? ":reshape" : ":nchw");
		if (iv->ndim == 4)
			rc = out_node(L, same_order(iv) ? DNNQ_NODE_RESHAPE : DNNQ_NODE_CONVERT,
			              same_order(iv) ? 0 : DNNQ_CONVERT_TO_NCHW, name, lv->s32, iv, &ref);
		if (!rc && !can_output(L, i, ref))
			rc = copy_output(L, ref, iv, ":copy", NULL, &ref);
	} else if (iv->dtype != DNNQ_IR_F32) {
		return lower_err(L, p, DNNQ_E_UNSUPPORTED, "%s graph output '%s'",
		                 dnnq_ir_dtype_name(iv->dtype), iv->name);
	} else {
		io->dtype = DNNQ_DTYPE_F32;
		if (p && p->op == DNNQ_IR_DEQUANTIZE)
			snprintf(name, sizeof name, "%s", p->name);
		else
			model_name(name, iv->name, ":dequantize");
		/* a graph input, or an f32 view of one (an identity, a reshape),
		 * is copied exactly */
		bool onnx_f32 = lv->f32 >= 0 && (iv->ndim != 4 || lv->f32_onnx);
		if (onnx_f32 && can_output(L, i, lv->f32)) {
			ref = lv->f32;
		} else if (onnx_f32) {
			rc = copy_output(L, lv->f32, iv, ":copy", NULL, &ref);
		} else if (lv->f32 >= 0 && !lv->f32_onnx && same_order(iv) &&
		           can_output(L, i, lv->f32)) {
			model_name(name, iv->name, ":reshape");
			rc = out_node(L, DNNQ_NODE_RESHAPE, 0, name, lv->f32, iv, &ref);
		} else if (lv->f32 >= 0 && !lv->f32_onnx && iv->ndim == 4) {
			/* an fp32 region's NHWC f32 value back to NCHW, unchanged */
			model_name(name, iv->name, ":nchw");
			rc = out_node(L, DNNQ_NODE_CONVERT, DNNQ_CONVERT_TO_NCHW, name, lv->f32, iv, &ref);
		} else if (!(rc = need_u8(L, p, v, &in))) {
			rc = out_node(L, DNNQ_NODE_CONVERT, iv->ndim == 4 ? DNNQ_CONVERT_DEQUANTIZE_NCHW
			              : DNNQ_CONVERT_DEQUANTIZE, name, in, iv, &ref);
		}
	}
	if (rc)
		return rc;
	if (!can_output(L, i, ref))
		return lower_err(L, p, DNNQ_E_UNSUPPORTED, "graph output '%s' is a graph input or "
		                 "shares another output's tensor", iv->name);
	io->value = ref;
	return DNNQ_OK;
}

/* ---- the model ---- */

static int32_t renumber(const struct dnnq_model *m, int32_t ref)
{
	if (ref >= REF_CONST)
		return (int32_t)m->ninputs + (ref - REF_CONST);
	if (ref >= REF_NODE)
		return (int32_t)(m->ninputs + m->nconstants) + (ref - REF_NODE);
	return ref;
}

static int finish(struct lower *L)
{
	struct dnnq_model *m = L->m;
	const char *name = L->o->name ? L->o->name : L->ir->name ? L->ir->name : "";
	snprintf(m->name, sizeof m->name, "%s", name);
	snprintf(m->producer, sizeof m->producer, "dnnq-convert");
	snprintf(m->calibration, sizeof m->calibration, "%s",
	         L->o->calibration ? L->o->calibration : "");
	m->created = 0;
	m->max_batch = L->ir->max_batch;
	if (!(m->stats = calloc(m->nnodes + 1, sizeof *m->stats)))
		return dnnq_diag_set(L->diag, DNNQ_E_NOMEM, "lower: out of memory");
	for (size_t j = 0; j < m->nnodes; j++) {
		struct dnnq_model_node *mn = &m->nodes[j];
		for (uint32_t k = 0; k < mn->ninputs; k++)
			mn->inputs[k] = renumber(m, mn->inputs[k]);
		/* the range a u8 node output can represent */
		bool u8 = mn->out_scale > 0 && !mn->out_signed && mn->out_precision &&
		          mn->out_dtype == DNNQ_DTYPE_U8 && mn->kind != DNNQ_NODE_CONVERT;
		if (mn->kind == DNNQ_NODE_CONVERT && mn->op != DNNQ_CONVERT_DEQUANTIZE &&
		    mn->op != DNNQ_CONVERT_DEQUANTIZE_NCHW && mn->out_scale > 0)
			u8 = true;
		if (u8) {
			struct dnnq_model_stat *s = &m->stats[m->nstats++];
			s->value = (int32_t)dnnq_model_node_value(m, j);
			s->min = mn->out_scale * (float)(0 - mn->out_zero_point);
			s->max = mn->out_scale *
			         (float)(dnnq_qmax(mn->out_precision, false) - mn->out_zero_point);
		}
	}
	for (size_t i = 0; i < m->noutputs; i++)
		m->outputs[i].value = renumber(m, m->outputs[i].value);
	return DNNQ_OK;
}

/* The model builds (dnnq_model_build also holds the signature's outputs
 * to the graph's, what dnnqd needs) and plans: a mistake here, or an IR
 * whose shapes do not follow from its operators, is caught at conversion. */
static int self_check(struct lower *L)
{
	struct dnnq_graph *g;
	struct dnnq_diag d;
	int rc = dnnq_model_build(L->m, DNNQ_ISA_SCALAR, &g, &d);
	if (rc)
		return dnnq_diag_set(L->diag, rc, "lower: the model does not build: %s", d.msg);
	if ((rc = dnnq_graph_plan(g, 1, 1, &d)))
		rc = dnnq_diag_set(L->diag, rc, "lower: the model does not plan: %s", d.msg);
	dnnq_graph_destroy(g);
	return rc;
}

/* L->nonfinite: each float constant holding inf or NaN (an attention
 * mask's -inf, a bound), and each output of a node reading one (a Where
 * or a Mul of the mask, the scores it is added to), up to a Softmax
 * (whose outputs are in [0, 1]). */
static void mark_nonfinite(struct lower *L)
{
	const struct dnnq_ir *ir = L->ir;
	for (size_t i = 0; i < ir->nvalues; i++) {
		const struct dnnq_ir_value *v = &ir->values[i];
		for (size_t e = 0, ne = v->data && v->dtype == DNNQ_IR_F32 ? dnnq_ir_numel(v, 1) : 0;
		     e < ne && !L->nonfinite[i]; e++)
			L->nonfinite[i] = !isfinite(((const float *)v->data)[e]);
	}
	for (size_t j = 0; j < ir->nnodes; j++) {
		const struct dnnq_ir_node *n = &ir->nodes[j];
		bool in = false;
		for (uint32_t i = 0; i < n->ninputs; i++)
			in |= n->inputs[i] >= 0 && L->nonfinite[n->inputs[i]];
		for (uint32_t k = 0; in && n->op != DNNQ_IR_SOFTMAX && k < n->noutputs; k++)
			if (n->outputs[k] >= 0)
				L->nonfinite[n->outputs[k]] = true;
	}
}

/* Whether an elementwise node reads a value that may hold inf or NaN
 * (L->nonfinite): no int8 range holds it, so the value stays float and
 * the node runs fp32 (a mask's -inf quantized to a finite level masked
 * nothing: nn.MultiheadAttention's key_padding_mask, 2.0 dB under
 * --precision int8). */
static bool reads_nonfinite(const struct lower *L, const struct dnnq_ir_node *n)
{
	if (n->op != DNNQ_IR_ENGINE && n->op != DNNQ_IR_ADD && n->op != DNNQ_IR_MUL)
		return false;
	for (uint32_t i = 0; i < n->ninputs; i++)
		if (n->inputs[i] >= 0 && L->nonfinite[n->inputs[i]] &&
		    L->ir->values[n->inputs[i]].dtype == DNNQ_IR_F32)
			return true;
	return false;
}

/* Whether n reads or writes integers computed at run time (struct
 * dnnq_ir_value.integer): an int8 level between two ids is no id. */
static bool on_integers(const struct dnnq_ir *ir, const struct dnnq_ir_node *n)
{
	for (uint32_t i = 0; i < n->ninputs; i++)
		if (n->inputs[i] >= 0 && ir->values[n->inputs[i]].integer &&
		    !ir->values[n->inputs[i]].data)
			return true;
	for (uint32_t k = 0; k < n->noutputs; k++)
		if (n->outputs[k] >= 0 && ir->values[n->outputs[k]].integer)
			return true;
	return false;
}

/* A registry operator with no int8 kernel runs in fp32 whatever the
 * options say, and so does a node reading an inf or NaN constant, one on
 * integers computed at run time, and a 3-D AveragePool's two pools (an
 * AveragePool of a whole: op_pool3d's (H, W) pool, then its depth pool):
 * int8, the value between them is rounded once more; fp32, an int8
 * producer's value is dequantized into them exactly, and an int8 reader
 * quantizes their mean once. */
static bool fp32_only(const struct lower *L, const struct dnnq_ir_node *n)
{
	const struct dnnq_ir *ir = L->ir;
	const struct dnnq_op_def *d = n->op == DNNQ_IR_ENGINE ? dnnq_op_get(n->kind) : NULL;
	return (d && !d->ops && d->ops_f32) || (d && d->ops_f32 && reads_nonfinite(L, n)) ||
	       (!d && reads_nonfinite(L, n)) || on_integers(ir, n) ||
	       (n->op == DNNQ_IR_AVGPOOL && n->whole);
}

/* The follower node k's lowering fused (done with it, and the sole reader
 * of its output), or -1. */
static int32_t fused_next(const struct lower *L, int32_t k)
{
	int32_t out = L->ir->nodes[k].outputs[0];
	int32_t r = out >= 0 ? sole_reader(L, out) : -1;
	return r > k && L->done[r] ? r : -1;
}

/* Whether n's lowering gives its outputs past the first too. */
static bool all_outputs(const struct dnnq_ir_node *n)
{
	return n->op == DNNQ_IR_DYNQUANT || n->split || n->op == DNNQ_IR_MAXPOOL ||
	       (n->op == DNNQ_IR_ENGINE && n->kind == dnnq_op_find("topk")->kind);
}

/* IR operators with arithmetic the engine also runs in fp32 (onnx/lower.h). */
bool dnnq_onnx_has_fp32_form(enum dnnq_ir_op op)
{
	switch (op) {
	case DNNQ_IR_CONV: case DNNQ_IR_GEMM: case DNNQ_IR_BATCHNORM: case DNNQ_IR_RELU:
	case DNNQ_IR_LEAKYRELU: case DNNQ_IR_CLIP: case DNNQ_IR_SIGMOID: case DNNQ_IR_TANH:
	case DNNQ_IR_HARDSIGMOID: case DNNQ_IR_HARDSWISH: case DNNQ_IR_ELU: case DNNQ_IR_SELU:
	case DNNQ_IR_CELU: case DNNQ_IR_SHRINK: case DNNQ_IR_THRESHOLDEDRELU:
	case DNNQ_IR_MAXPOOL: case DNNQ_IR_AVGPOOL: case DNNQ_IR_GAVGPOOL: case DNNQ_IR_ADD: case DNNQ_IR_MUL:
	case DNNQ_IR_SUM: case DNNQ_IR_CONCAT: case DNNQ_IR_SOFTMAX: case DNNQ_IR_ENGINE:
		return true;
	default:
		return false;
	}
}

/* on[k] for the nodes with an fp32 form of the whole IR node j is a node
 * of (dnnq_ir_node.whole; the run of nodes around j carrying its number),
 * when it is one: they are one unit. Whether there were any. */
static bool mark_whole(const struct dnnq_ir *ir, size_t j, bool *on)
{
	uint32_t w = ir->nodes[j].whole;
	size_t a = j, b = j;
	bool any = false;
	while (w && a > 0 && ir->nodes[a - 1].whole == w)
		a--;
	while (w && b + 1 < ir->nnodes && ir->nodes[b + 1].whole == w)
		b++;
	for (size_t k = a; w && k <= b; k++)
		if (dnnq_onnx_has_fp32_form(ir->nodes[k].op))
			any = on[k] = true;
	return any;
}

/* The unit of IR node j (lowered now, L->cur): j, or the head of the
 * whole it is a node of (dnnq_ir_node.whole: its first node with an fp32
 * form, L->whole_head), so a 3-D Conv's nodes are one unit, named after
 * it (its last node). */
static int32_t unit_of(struct lower *L, size_t j)
{
	const struct dnnq_ir_node *n = &L->ir->nodes[j];
	if (n->whole != L->whole) {
		L->whole = n->whole;
		L->whole_head = -1;
	}
	if (n->whole && L->whole_head < 0 && dnnq_onnx_has_fp32_form(n->op))
		L->whole_head = (int32_t)j;
	return L->whole_head >= 0 ? L->whole_head : (int32_t)j;
}

static int run(struct lower *L)
{
	const struct dnnq_ir *ir = L->ir;
	int rc = check_ir(L);
	if (rc)
		return rc;
	liveness(L);
	mark_nonfinite(L);
	if ((rc = qdq_pass(L)) || (rc = lower_inputs(L)))
		return rc;
	for (size_t j = 0; j < ir->nnodes; j++) {
		const struct dnnq_ir_node *n = &ir->nodes[j];
		for (uint32_t k = 1; L->live[j] && !all_outputs(n) && k < n->noutputs; k++)
			if (L->nreaders[n->outputs[k]])
				return lower_err(L, n, DNNQ_E_UNSUPPORTED, "output %u ('%s') is used: only the"
				                 " first output is supported", k,
				                 ir->values[n->outputs[k]].name);
	}
	for (size_t j = 0; j < ir->nnodes; j++)
		if (L->live[j] && !L->done[j]) {
			L->cur = j;
			L->fp32 = (L->o->fp32_nodes && L->o->fp32_nodes[j]) || fp32_only(L, &ir->nodes[j]);
			rc = lower_node(L, j);
			L->done[j] = true;
			int32_t u = unit_of(L, j);
			for (int32_t k = (int32_t)j; k >= 0; k = fused_next(L, k))
				if (L->o->unit)
					L->o->unit[k] = u;
			if (rc)
				return rc;
		}
	L->fp32 = false;
	if (!(L->m->outputs = calloc(ir->noutputs + 1, sizeof *L->m->outputs)))
		return dnnq_diag_set(L->diag, DNNQ_E_NOMEM, "lower: out of memory");
	L->m->noutputs = ir->noutputs;
	for (size_t i = 0; i < ir->noutputs; i++)
		if ((rc = lower_output(L, i)))
			return rc;
	if ((rc = finish(L)))
		return rc;
	return L->o->trial ? DNNQ_OK : self_check(L);
}

static void lower_free(struct lower *L)
{
	free(L->qp);
	free(L->has_qp);
	free(L->v);
	free(L->nreaders);
	free(L->reader);
	free(L->is_output);
	free(L->nonfinite);
	free(L->live);
	free(L->done);
	free(L->used);
}

/* One lowering of ir with o (the model m), into L. */
static int lower_once(struct lower *L, const struct dnnq_ir *ir, const struct dnnq_lower_opts *o,
                      const struct dnnq_qparams *qp, const bool *has_qp, struct dnnq_model *m,
                      struct dnnq_diag *diag)
{
	memset(m, 0, sizeof *m);
	*L = (struct lower){ .ir = ir, .o = o, .m = m, .refused = -1, .whole_head = -1,
	                     .diag = diag };
	size_t nv = ir->nvalues + 1, nn = ir->nnodes + 1;
	L->qp = calloc(nv, sizeof *L->qp);
	L->has_qp = calloc(nv, sizeof *L->has_qp);
	L->v = calloc(nv, sizeof *L->v);
	L->nreaders = calloc(nv, sizeof *L->nreaders);
	L->reader = calloc(nv, sizeof *L->reader);
	L->is_output = calloc(nv, sizeof *L->is_output);
	L->nonfinite = calloc(nv, sizeof *L->nonfinite);
	L->live = calloc(nn, sizeof *L->live);
	L->done = calloc(nn, sizeof *L->done);
	L->used = calloc(nv, sizeof *L->used);
	int rc;
	if (!L->qp || !L->has_qp || !L->v || !L->nreaders || !L->reader || !L->is_output ||
	    !L->nonfinite || !L->live || !L->done || !L->used) {
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "lower: out of memory");
		goto out;
	}
	for (size_t v = 0; v < ir->nvalues; v++) {
		L->v[v] = (struct lval){ .u8 = -1, .f32 = -1, .s32 = -1,
		                         .wshared = { { -1, -1 }, { -1, -1 } } };
		if (has_qp && qp && has_qp[v]) {
			L->qp[v] = qp[v];
			L->has_qp[v] = true;
		}
	}
	for (size_t j = 0; o->unit && j < ir->nnodes; j++)
		o->unit[j] = -1;
	rc = run(L);
out:
	if (rc)
		dnnq_model_free(m);
	return rc;
}

int dnnq_onnx_lower(const struct dnnq_ir *ir, const struct dnnq_lower_opts *o,
                    const struct dnnq_qparams *qp, const bool *has_qp,
                    struct dnnq_model *m, struct dnnq_diag *diag)
{
	if (!ir || !o || !m || (ir->nvalues && (!ir->values)) || (ir->nnodes && !ir->nodes) ||
	    (ir->ninputs && !ir->inputs) || (ir->noutputs && !ir->outputs))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "lower: NULL argument");
	memset(m, 0, sizeof *m);
	if (!ir->noutputs)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "lower: the graph has no outputs");
	/* int8 refused a node: lowered again with it (and its followers) fp32 */
	struct dnnq_lower_opts again = *o;
	bool *fp32 = NULL;
	if (o->int8_refused) {
		if (!(fp32 = calloc(ir->nnodes + 1, sizeof *fp32)))
			return dnnq_diag_set(diag, DNNQ_E_NOMEM, "lower: out of memory");
		for (size_t j = 0; j < ir->nnodes; j++)
			fp32[j] = o->fp32_nodes && o->fp32_nodes[j];
		again.fp32_nodes = fp32;
	}
	struct lower L;
	int rc;
	while ((rc = lower_once(&L, ir, &again, qp, has_qp, m, diag)) && o->int8_refused &&
	       L.refused >= 0 && !fp32[L.refused]) {
		o->int8_refused[L.refused] = *diag;
		for (int32_t k = L.refused; k >= 0; k = fused_next(&L, k))
			fp32[k] = true;
		mark_whole(ir, (size_t)L.refused, fp32);
		lower_free(&L);
	}
	lower_free(&L);
	free(fp32);
	return rc;
}

/* Whether name names IR node n: its name, the ONNX name it was shortened
 * from (dnnq_ir_node_name) or the lowered node's (the report's, shortened
 * with a hash of the whole: model_name). */
static bool names_node(const struct dnnq_ir_node *n, const char *name)
{
	char ir[DNNQ_IR_NODE_NAME_MAX + 8];
	dnnq_ir_node_name(ir, name);
	if (!strcmp(n->name, name) || !strcmp(n->name, ir))
		return true;
	char lowered[DNNQ_MODEL_NAME_MAX];
	model_name(lowered, n->name, "");
	return !strcmp(lowered, name);
}

int dnnq_onnx_keep_fp32(const struct dnnq_ir *ir, const char *names, bool **keep,
                        struct dnnq_diag *diag)
{
	*keep = calloc(ir->nnodes ? ir->nnodes : 1, sizeof **keep);
	char *list = strdup(names ? names : "");
	if (!*keep || !list) {
		free(*keep);
		free(list);
		*keep = NULL;
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "--keep-fp32: out of memory");
	}
	char msg[sizeof diag->msg] = "";
	size_t bad = 0, len = 0;
	char *save = NULL;
	for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (!strcmp(name, "*")) {
			for (size_t j = 0; j < ir->nnodes; j++)
				(*keep)[j] |= dnnq_onnx_has_fp32_form(ir->nodes[j].op);
			continue;
		}
		const struct dnnq_ir_node *hit = NULL;
		bool kept = false;
		for (size_t j = 0; j < ir->nnodes && !hit; j++)
			if (names_node(&ir->nodes[j], name)) {
				hit = &ir->nodes[j];
				(*keep)[j] = kept = dnnq_onnx_has_fp32_form(hit->op);
				/* a 3-D pool's name is its last node's, a Reshape */
				kept |= mark_whole(ir, j, *keep);
			}
		if (kept)
			continue;
		bad++;
		if (len < sizeof msg)
			len += (size_t)snprintf(msg + len, sizeof msg - len, "%s'%s' %s", len ? "; " : "",
			                        name, !hit ? "is no node of the model"
			                        : hit->op == DNNQ_IR_RESHAPE ? "only moves data (a reshape)"
			                        : "is a quantized operator (no fp32 form)");
	}
	free(list);
	if (!bad)
		return DNNQ_OK;
	free(*keep);
	*keep = NULL;
	return dnnq_diag_set(diag, DNNQ_E_INVAL, "--keep-fp32: %s", msg);
}

/* ---- attributes --------------------------------------------------------- */

/* Where each registry attribute with an ONNX counterpart comes from in
 * the IR node (the importer filled in defaults and resolved auto_pad):
 * `count` elements of the IR field at `off`, of type `src`, into the
 * attribute's elements from `at` on. Integers are checked against `min`
 * (the least meaningful value where the attribute's range starts lower: a
 * stride of 0 means nothing) and the attribute's max; an axis is the
 * node's input 0's axis in the engine's layout. A kind's lowering calls
 * map_attrs once its node exists; only the attributes its description
 * lists are set. What the engine derives from tensors (channels, kernel
 * size from the weights, reshape dims) stays the lowering functions'. */
enum ir_src { SRC_I64, SRC_BOOL, SRC_F32, SRC_AXIS };

#define IRF(f) offsetof(struct dnnq_ir_node, f)
static const struct {
	enum dnnq_attr_id id;
	uint8_t at, count, src;
	size_t off;
	int64_t min;
} ir_attrs[] = {
	{ DNNQ_A_STRIDES, 0, 2, SRC_I64, IRF(strides), 1 },
	{ DNNQ_A_DILATIONS, 0, 2, SRC_I64, IRF(dilations), 1 },
	{ DNNQ_A_PADS, 0, 4, SRC_I64, IRF(pads), 0 },
	/* struct dnnq_pooling_geom: kernel, strides, pads, dilations */
	{ DNNQ_A_POOL, 0, 2, SRC_I64, IRF(kernel), 1 },
	{ DNNQ_A_POOL, 2, 2, SRC_I64, IRF(strides), 1 },
	{ DNNQ_A_POOL, 4, 4, SRC_I64, IRF(pads), 0 },
	{ DNNQ_A_POOL, 8, 2, SRC_I64, IRF(dilations), 1 },
	{ DNNQ_A_CEIL_MODE, 0, 1, SRC_BOOL, IRF(ceil_mode), 0 },
	{ DNNQ_A_COUNT_INCLUDE_PAD, 0, 1, SRC_BOOL, IRF(count_include_pad), 0 },
	/* struct dnnq_act_params: alpha, beta, min, max */
	{ DNNQ_A_PARAMS, 0, 1, SRC_F32, IRF(alpha), 0 },
	{ DNNQ_A_PARAMS, 1, 1, SRC_F32, IRF(beta), 0 },
	{ DNNQ_A_PARAMS, 2, 1, SRC_F32, IRF(clip_min), 0 },
	{ DNNQ_A_PARAMS, 3, 1, SRC_F32, IRF(clip_max), 0 },
	{ DNNQ_A_AXIS, 0, 1, SRC_AXIS, IRF(axis), 0 },
};
#undef IRF

int map_attrs(struct lower *L, const struct dnnq_ir_node *n, struct dnnq_model_node *mn)
{
	const struct dnnq_op_def *def = dnnq_op_get(mn->kind);
	for (size_t i = 0; i < sizeof ir_attrs / sizeof ir_attrs[0]; i++) {
		const struct dnnq_attr_def *a = &dnnq_attrs[ir_attrs[i].id];
		if (!dnnq_op_has(def, ir_attrs[i].id))
			continue;
		const char *src = (const char *)n + ir_attrs[i].off;
		char *dst = (char *)mn + a->off;
		for (size_t e = 0; e < ir_attrs[i].count; e++) {
			size_t at = ir_attrs[i].at + e;
			if (ir_attrs[i].src == SRC_F32) {
				((float *)dst)[at] = ((const float *)src)[e];
				continue;
			}
			int64_t v = ir_attrs[i].src == SRC_BOOL ? ((const bool *)src)[e]
			          : ((const int64_t *)src)[e];
			if (ir_attrs[i].src == SRC_AXIS)
				v = engine_axis(lval_ir(L, n->inputs[0]), (uint32_t)v);
			if (v < ir_attrs[i].min || (double)v > a->max)
				return lower_err(L, n, DNNQ_E_RANGE, "%s[%zu] = %lld: want %lld..%.0f",
				                 a->name, at, (long long)v, (long long)ir_attrs[i].min,
				                 a->max);
			if (a->type == DNNQ_ATTR_I32)
				((int32_t *)dst)[at] = (int32_t)v;
			else
				((uint32_t *)dst)[at] = (uint32_t)v;
		}
	}
	return DNNQ_OK;
}
