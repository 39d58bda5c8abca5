/*
 * tools/serve-fixture.c — models, their in-process reference and a dnnqd
 * process, for the serving tests and the IPC benchmark (the header says
 * what each is).
 *
 * Models: each is described once, as the struct dnnq_model the `.dnnq`
 * writer takes; the file dnnqd loads and the reference graph are both made
 * from that one description, so "the daemon equals the engine" compares two
 * runs of the same model and nothing else. The description is made again
 * for each use (a fixed seed makes it the same): no state is kept.
 *
 * Processes: dnnqd runs as a child of the caller with PR_SET_PDEATHSIG, so
 * it dies with the thread that started it however that ends (a failed Check
 * assertion _exit()s the test's process; a timeout SIGKILLs it). Readiness
 * is "dnnq_connect succeeds": the one thing a client needs, and no protocol
 * of our own with the daemon. Its output goes to a log file beside the
 * socket, which a failing test prints.
 *
 * This file is linked into the test binary and the benchmark, not into a
 * library: it includes the engine and the client headers side by side
 * (their `struct dnnq_model` is the same tag: this file only uses the
 * engine's; the client's handle never appears here).
 */
#define _GNU_SOURCE   /* vasprintf */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "engine/model.h"
#include "tests/rng.h"
#include "tools/serve-fixture.h"

/* ---- model descriptions -------------------------------------------------- */

#define QP(s, z) ((struct dnnq_qparams){ (s), (z), 8, false })

static const char *const model_names[FIXTURE_NMODELS_ALL] = {
	"relu64", "fc1024", "multi", "k-conv", "k-fc", "k-maxpool", "k-avgpool", "k-gavgpool",
	"k-eltwise", "k-activation", "k-convert", "k-softmax", "k-ewlin", "k-concat", "k-reshape",
	"resnet18", "mlp",
};

const char *fixture_model_name(enum fixture_model m)
{
	return (unsigned)m < FIXTURE_NMODELS_ALL ? model_names[m] : "?";
}

static void set_name(char *dst, const char *s)
{
	snprintf(dst, DNNQ_MODEL_NAME_MAX, "%s", s);
}

/* Zeroed arrays for the counts; DNNQ_E_NOMEM (m keeps what it got, for
 * dnnq_model_free). */
static int model_alloc(struct dnnq_model *m, const char *name, size_t nin, size_t nout,
                       size_t ntensors, size_t nnodes)
{
	memset(m, 0, sizeof *m);
	set_name(m->name, name);
	set_name(m->producer, "tools/serve-fixture.c");
	set_name(m->calibration, "none");
	m->created = 1764000000;
	m->ninputs = nin;
	m->noutputs = nout;
	m->ntensors = ntensors;
	m->nnodes = nnodes;
	m->inputs = calloc(nin, sizeof *m->inputs);
	m->outputs = calloc(nout, sizeof *m->outputs);
	m->tensors = calloc(ntensors ? ntensors : 1, sizeof *m->tensors);
	m->nodes = calloc(nnodes, sizeof *m->nodes);
	for (size_t i = 0; m->tensors && i < ntensors; i++)
		dnnq_qtensor_init(&m->tensors[i].t);
	return m->inputs && m->outputs && m->tensors && m->nodes ? DNNQ_OK : DNNQ_E_NOMEM;
}

/* A signature entry; dims[0] (the batch) is 1. */
static void set_io(struct dnnq_model_io *io, const char *name, enum dnnq_dtype dt,
                   uint32_t ndim, const int64_t *dims, struct dnnq_qparams qp, int32_t value)
{
	set_name(io->name, name);
	io->dtype = dt;
	io->ndim = ndim;
	memcpy(io->dims, dims, ndim * sizeof *dims);
	io->dims[0] = 1;
	io->qp = dt == DNNQ_DTYPE_U8 ? qp : (struct dnnq_qparams){ 0 };
	io->value = value;
}

/* Random s8 weights in [-127, 127]; scales per output channel (axis 0) in
 * [0.002, 0.006], or one of 0.004. */
static int make_weight(struct dnnq_model_tensor *mt, struct rng *r, const char *name,
                       uint32_t ndim, const int64_t *dims, bool per_channel)
{
	struct dnnq_qtensor *t = &mt->t;
	set_name(mt->name, name);
	int rc = dnnq_qtensor_set_type(t, DNNQ_DTYPE_S8, 8, true);
	if (!rc)
		rc = dnnq_qtensor_resize(t, ndim, dims);
	if (!rc && per_channel) {
		size_t n = (size_t)dims[0];
		float *sc = malloc(n * sizeof *sc);
		int32_t *zp = calloc(n, sizeof *zp);
		for (size_t i = 0; sc && i < n; i++)
			sc[i] = (float)rng_uniform(r, 0.002, 0.006);
		rc = sc && zp ? dnnq_qtensor_set_qparams_axis(t, 0, n, sc, zp) : DNNQ_E_NOMEM;
		free(sc);
		free(zp);
	} else if (!rc) {
		rc = dnnq_qtensor_set_qparams(t, &(struct dnnq_qparams){ 0.004f, 0, 8, true });
	}
	for (size_t i = 0; !rc && i < dnnq_qtensor_numel(t); i++)
		((int8_t *)t->data)[i] = (int8_t)rng_int(r, -127, 127);
	return rc;
}

/* n biases: f32 in [-0.5, 0.5], or s32 (at in_scale * w_scale) in
 * [-2000, 2000]. */
static int make_bias(struct dnnq_model_tensor *mt, struct rng *r, const char *name, int64_t n,
                     enum dnnq_dtype dt)
{
	set_name(mt->name, name);
	int rc = dnnq_qtensor_set_type(&mt->t, dt, 0, true);
	if (!rc)
		rc = dnnq_qtensor_resize(&mt->t, 1, &n);
	for (int64_t i = 0; !rc && i < n; i++) {
		if (dt == DNNQ_DTYPE_F32)
			((float *)mt->t.data)[i] = (float)rng_uniform(r, -0.5, 0.5);
		else
			((int32_t *)mt->t.data)[i] = (int32_t)rng_int(r, -2000, 2000);
	}
	return rc;
}

static void set_out_qp(struct dnnq_model_node *n, struct dnnq_qparams q)
{
	n->out_dtype = DNNQ_DTYPE_U8;
	n->out_scale = q.scale;
	n->out_zero_point = q.zero_point;
	n->out_precision = q.precision;
	n->out_signed = q.is_signed;
}

/* A node reading `ninputs` values from `in`, writing u8 with q (when q's
 * scale is set). */
static struct dnnq_model_node *node(struct dnnq_model *m, size_t j, enum dnnq_node_kind kind,
                                    const char *name, uint32_t ninputs, const int32_t *in,
                                    struct dnnq_qparams q)
{
	struct dnnq_model_node *n = &m->nodes[j];
	dnnq_model_node_init(n, kind, name);
	n->ninputs = ninputs;
	memcpy(n->inputs, in, ninputs * sizeof *in);
	if (q.scale > 0)
		set_out_qp(n, q);
	return n;
}

/* Values: x(0) -> relu(1). */
static int make_relu64(struct dnnq_model *m, struct rng *r)
{
	(void)r;
	int rc = model_alloc(m, "relu64", 1, 1, 0, 1);
	if (rc)
		return rc;
	static const int64_t dims[2] = { 1, 64 };
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 2, dims, QP(0.05f, 128), -1);
	node(m, 0, DNNQ_NODE_ACTIVATION, "relu", 1, (int32_t[]){ 0 }, QP(0.025f, 0))->op =
		DNNQ_ACT_RELU;
	set_io(&m->outputs[0], "y", DNNQ_DTYPE_U8, 2, dims, QP(0.025f, 0), 1);
	return DNNQ_OK;
}

static void fc_node(struct dnnq_model_node *n, int32_t w, int32_t b, uint32_t nout, uint32_t k)
{
	n->weight = w;
	n->bias = b;
	n->n = nout;
	n->k = k;
}

/* Values: x(0) -> fc(1). y ~ N(0, 14): scale 0.4 keeps 2 sigma in range. */
static int make_fc1024(struct dnnq_model *m, struct rng *r)
{
	enum { K = 1024 };
	int rc = model_alloc(m, "fc1024", 1, 1, 2, 1);
	static const int64_t dims[2] = { 1, K }, wdims[2] = { K, K };
	if (!rc)
		rc = make_weight(&m->tensors[0], r, "fc.w", 2, wdims, true);
	if (!rc)
		rc = make_bias(&m->tensors[1], r, "fc.b", K, DNNQ_DTYPE_S32);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 2, dims, QP(0.02f, 128), -1);
	fc_node(node(m, 0, DNNQ_NODE_FC, "fc", 1, (int32_t[]){ 0 }, QP(0.4f, 128)), 0, 1, K, K);
	set_io(&m->outputs[0], "y", DNNQ_DTYPE_U8, 2, dims, QP(0.4f, 128), 1);
	return DNNQ_OK;
}

enum { MH = 6, MW = 6, MC = 4, MC2 = 8, MCLS = 10, MFLAT = (MH / 2) * (MW / 2) * MC2 };

static void multi_nodes(struct dnnq_model *m)
{
	struct dnnq_model_node *n;
	n = node(m, 0, DNNQ_NODE_ELTWISE, "add", 2, (int32_t[]){ 0, 1 }, QP(0.07f, 112));
	n->op = DNNQ_ELTWISE_ADD;
	n = node(m, 1, DNNQ_NODE_CONV, "conv", 1, (int32_t[]){ 2 }, QP(0.06f, 0));
	n->weight = 0;
	n->bias = 1;
	n->cin = MC;
	n->cout = MC2;
	n->groups = 1;
	n->kernel[0] = n->kernel[1] = 3;
	n->strides[0] = n->strides[1] = n->dilations[0] = n->dilations[1] = 1;
	for (int i = 0; i < 4; i++)
		n->pads[i] = 1;
	n->relu = 1;
	/* kernel 2x2, stride 2, no padding, dilation 1 */
	static const int32_t geom[10] = { 2, 2, 2, 2, 0, 0, 0, 0, 1, 1 };
	memcpy(node(m, 2, DNNQ_NODE_MAXPOOL, "pool", 1, (int32_t[]){ 3 }, QP(0, 0))->pool, geom,
	       sizeof geom);
	n = node(m, 3, DNNQ_NODE_RESHAPE, "flatten", 1, (int32_t[]){ 4 }, QP(0, 0));
	n->ndim = 2;
	n->dims[1] = MFLAT;
	n = node(m, 4, DNNQ_NODE_FC, "fc", 1, (int32_t[]){ 5 }, QP(0.25f, 128));
	fc_node(n, 2, 3, MCLS, MFLAT);
	node(m, 5, DNNQ_NODE_SOFTMAX, "prob", 1, (int32_t[]){ 6 }, QP(0, 0));
}

/* Values: a(0), b(1) -> add(2) -> conv(3) -> pool(4) -> flatten(5) -> fc(6)
 * -> softmax(7); outputs fc (u8) and softmax (f32). */
static int make_multi(struct dnnq_model *m, struct rng *r)
{
	int rc = model_alloc(m, "multi", 2, 2, 4, 6);
	static const int64_t in[4] = { 1, MH, MW, MC }, out[2] = { 1, MCLS };
	static const int64_t wc[4] = { MC2, 3, 3, MC }, wf[2] = { MCLS, MFLAT };
	if (!rc)
		rc = make_weight(&m->tensors[0], r, "conv.w", 4, wc, true);
	if (!rc)
		rc = make_bias(&m->tensors[1], r, "conv.b", MC2, DNNQ_DTYPE_F32);
	if (!rc)
		rc = make_weight(&m->tensors[2], r, "fc.w", 2, wf, false);
	if (!rc)
		rc = make_bias(&m->tensors[3], r, "fc.b", MCLS, DNNQ_DTYPE_S32);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "a", DNNQ_DTYPE_U8, 4, in, QP(0.04f, 120), -1);
	set_io(&m->inputs[1], "b", DNNQ_DTYPE_U8, 4, in, QP(0.03f, 100), -1);
	multi_nodes(m);
	set_io(&m->outputs[0], "logits", DNNQ_DTYPE_U8, 2, out, QP(0.25f, 128), 6);
	set_io(&m->outputs[1], "prob", DNNQ_DTYPE_F32, 2, out, QP(0, 0), 7);
	return DNNQ_OK;
}

/* ---- one model per node kind (the header draws them) ------------------- */

/* u8 activations: scale 0.05 and zero point 128 unless a node says
 * otherwise; the NHWC shape most kinds take. */
#define KQ QP(0.05f, 128)
static const int64_t k_nhwc[4] = { 1, 6, 6, 4 };

/* A conv node of `groups` with weight tensor w and bias tensor w + 1. */
static void k_conv_node(struct dnnq_model_node *n, int32_t w, uint32_t c, uint32_t groups,
                        uint32_t pad)
{
	n->weight = w;
	n->bias = w + 1;
	n->cin = n->cout = c;
	n->groups = groups;
	n->kernel[0] = n->kernel[1] = 3;
	n->strides[0] = n->strides[1] = n->dilations[0] = n->dilations[1] = 1;
	for (int i = 0; i < 4; i++)
		n->pads[i] = pad;
}

/* Values: x(0) -> conv(1) -> dwconv(2). */
static int make_k_conv(struct dnnq_model *m, struct rng *r)
{
	static const int64_t w1[4] = { 4, 3, 3, 4 }, w2[4] = { 4, 3, 3, 1 };
	int rc = model_alloc(m, "k-conv", 1, 2, 4, 2);
	if (!rc)
		rc = make_weight(&m->tensors[0], r, "conv.w", 4, w1, true);
	if (!rc)
		rc = make_bias(&m->tensors[1], r, "conv.b", 4, DNNQ_DTYPE_F32);
	if (!rc)
		rc = make_weight(&m->tensors[2], r, "dw.w", 4, w2, true);
	if (!rc)
		rc = make_bias(&m->tensors[3], r, "dw.b", 4, DNNQ_DTYPE_S32);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 4, k_nhwc, KQ, -1);
	k_conv_node(node(m, 0, DNNQ_NODE_CONV, "conv", 1, (int32_t[]){ 0 }, QP(0.06f, 128)), 0, 4,
	            1, 1);
	k_conv_node(node(m, 1, DNNQ_NODE_CONV, "dwconv", 1, (int32_t[]){ 1 }, QP(0.03f, 128)), 2,
	            4, 4, 1);
	set_io(&m->outputs[0], "a", DNNQ_DTYPE_U8, 4, k_nhwc, QP(0.06f, 128), 1);
	set_io(&m->outputs[1], "b", DNNQ_DTYPE_U8, 4, k_nhwc, QP(0.03f, 128), 2);
	return DNNQ_OK;
}

/* Values: x(0) -> fc(1) -> fc(2). */
static int make_k_fc(struct dnnq_model *m, struct rng *r)
{
	static const int64_t x[2] = { 1, 64 }, a[2] = { 1, 32 }, b[2] = { 1, 16 };
	static const int64_t w1[2] = { 32, 64 }, w2[2] = { 16, 32 };
	int rc = model_alloc(m, "k-fc", 1, 2, 4, 2);
	if (!rc)
		rc = make_weight(&m->tensors[0], r, "fc1.w", 2, w1, true);
	if (!rc)
		rc = make_bias(&m->tensors[1], r, "fc1.b", 32, DNNQ_DTYPE_S32);
	if (!rc)
		rc = make_weight(&m->tensors[2], r, "fc2.w", 2, w2, false);
	if (!rc)
		rc = make_bias(&m->tensors[3], r, "fc2.b", 16, DNNQ_DTYPE_F32);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 2, x, KQ, -1);
	fc_node(node(m, 0, DNNQ_NODE_FC, "fc1", 1, (int32_t[]){ 0 }, QP(0.1f, 128)), 0, 1, 32, 64);
	fc_node(node(m, 1, DNNQ_NODE_FC, "fc2", 1, (int32_t[]){ 1 }, QP(0.1f, 128)), 2, 3, 16, 32);
	set_io(&m->outputs[0], "a", DNNQ_DTYPE_U8, 2, a, QP(0.1f, 128), 1);
	set_io(&m->outputs[1], "b", DNNQ_DTYPE_U8, 2, b, QP(0.1f, 128), 2);
	return DNNQ_OK;
}

/* Values: x(0) -> pool 2x2/2 (1) -> pool 3x3/1 pad 1 (2). */
static int make_k_pool(struct dnnq_model *m, enum dnnq_node_kind kind, const char *name)
{
	static const int64_t x[4] = { 1, 8, 8, 4 }, y[4] = { 1, 4, 4, 4 };
	static const int32_t g1[10] = { 2, 2, 2, 2, 0, 0, 0, 0, 1, 1 };
	static const int32_t g2[10] = { 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 };
	int rc = model_alloc(m, name, 1, 2, 0, 2);
	if (rc)
		return rc;
	bool avg = kind == DNNQ_NODE_AVGPOOL;
	struct dnnq_qparams q1 = avg ? QP(0.04f, 120) : KQ, q2 = avg ? QP(0.03f, 110) : KQ;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 4, x, KQ, -1);
	struct dnnq_model_node *n = node(m, 0, kind, "pool1", 1, (int32_t[]){ 0 }, QP(0, 0));
	memcpy(n->pool, g1, sizeof g1);
	if (avg)
		set_out_qp(n, q1);
	n = node(m, 1, kind, "pool2", 1, (int32_t[]){ 1 }, QP(0, 0));
	memcpy(n->pool, g2, sizeof g2);
	if (avg)
		set_out_qp(n, q2);
	set_io(&m->outputs[0], "a", DNNQ_DTYPE_U8, 4, y, q1, 1);
	set_io(&m->outputs[1], "b", DNNQ_DTYPE_U8, 4, y, q2, 2);
	return DNNQ_OK;
}

static int make_k_maxpool(struct dnnq_model *m, struct rng *r)
{
	(void)r;
	return make_k_pool(m, DNNQ_NODE_MAXPOOL, "k-maxpool");
}

static int make_k_avgpool(struct dnnq_model *m, struct rng *r)
{
	(void)r;
	return make_k_pool(m, DNNQ_NODE_AVGPOOL, "k-avgpool");
}

/* Values: x(0) -> gap(1) -> gap(2). */
static int make_k_gavgpool(struct dnnq_model *m, struct rng *r)
{
	static const int64_t x[4] = { 1, 6, 6, 8 }, y[4] = { 1, 1, 1, 8 };
	(void)r;
	int rc = model_alloc(m, "k-gavgpool", 1, 2, 0, 2);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 4, x, KQ, -1);
	node(m, 0, DNNQ_NODE_GAVGPOOL, "gap1", 1, (int32_t[]){ 0 }, QP(0.02f, 128));
	node(m, 1, DNNQ_NODE_GAVGPOOL, "gap2", 1, (int32_t[]){ 1 }, QP(0.01f, 128));
	set_io(&m->outputs[0], "a", DNNQ_DTYPE_U8, 4, y, QP(0.02f, 128), 1);
	set_io(&m->outputs[1], "b", DNNQ_DTYPE_U8, 4, y, QP(0.01f, 128), 2);
	return DNNQ_OK;
}

/* Values: x(0), y(1); add(2), mul(3), sumrelu(4). */
static int make_k_eltwise(struct dnnq_model *m, struct rng *r)
{
	(void)r;
	int rc = model_alloc(m, "k-eltwise", 2, 3, 0, 3);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 4, k_nhwc, KQ, -1);
	set_io(&m->inputs[1], "y", DNNQ_DTYPE_U8, 4, k_nhwc, QP(0.03f, 100), -1);
	node(m, 0, DNNQ_NODE_ELTWISE, "add", 2, (int32_t[]){ 0, 1 }, QP(0.08f, 128))->op =
		DNNQ_ELTWISE_ADD;
	node(m, 1, DNNQ_NODE_ELTWISE, "mul", 2, (int32_t[]){ 2, 0 }, QP(0.2f, 128))->op =
		DNNQ_ELTWISE_MUL;
	node(m, 2, DNNQ_NODE_ELTWISE, "sumrelu", 3, (int32_t[]){ 0, 1, 2 }, QP(0.1f, 0))->op =
		DNNQ_ELTWISE_SUM_RELU;
	set_io(&m->outputs[0], "a", DNNQ_DTYPE_U8, 4, k_nhwc, QP(0.08f, 128), 2);
	set_io(&m->outputs[1], "b", DNNQ_DTYPE_U8, 4, k_nhwc, QP(0.2f, 128), 3);
	set_io(&m->outputs[2], "c", DNNQ_DTYPE_U8, 4, k_nhwc, QP(0.1f, 0), 4);
	return DNNQ_OK;
}

/* Values: x(0); sigmoid(1), tanh(2), clip(3). */
static int make_k_activation(struct dnnq_model *m, struct rng *r)
{
	static const int64_t x[2] = { 1, 64 };
	(void)r;
	int rc = model_alloc(m, "k-activation", 1, 3, 0, 3);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 2, x, KQ, -1);
	node(m, 0, DNNQ_NODE_ACTIVATION, "sigmoid", 1, (int32_t[]){ 0 }, QP(1.0f / 256, 0))->op =
		DNNQ_ACT_SIGMOID;
	node(m, 1, DNNQ_NODE_ACTIVATION, "tanh", 1, (int32_t[]){ 1 }, QP(1.0f / 128, 128))->op =
		DNNQ_ACT_TANH;
	struct dnnq_model_node *n = node(m, 2, DNNQ_NODE_ACTIVATION, "clip", 1, (int32_t[]){ 0 },
	                                 QP(0.01f, 128));
	n->op = DNNQ_ACT_CLIP;
	n->params[2] = -1.0f;
	n->params[3] = 1.0f;
	set_io(&m->outputs[0], "a", DNNQ_DTYPE_U8, 2, x, QP(1.0f / 256, 0), 1);
	set_io(&m->outputs[1], "b", DNNQ_DTYPE_U8, 2, x, QP(1.0f / 128, 128), 2);
	set_io(&m->outputs[2], "c", DNNQ_DTYPE_U8, 2, x, QP(0.01f, 128), 3);
	return DNNQ_OK;
}

/* Values: x(0) f32 -> quantize(1) -> dequantize(2). */
static int make_k_convert(struct dnnq_model *m, struct rng *r)
{
	static const int64_t x[2] = { 1, 32 };
	(void)r;
	int rc = model_alloc(m, "k-convert", 1, 2, 0, 2);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_F32, 2, x, QP(0, 0), -1);
	node(m, 0, DNNQ_NODE_CONVERT, "quantize", 1, (int32_t[]){ 0 }, KQ)->op =
		DNNQ_CONVERT_QUANTIZE;
	node(m, 1, DNNQ_NODE_CONVERT, "dequantize", 1, (int32_t[]){ 1 }, QP(0, 0))->op =
		DNNQ_CONVERT_DEQUANTIZE;
	set_io(&m->outputs[0], "a", DNNQ_DTYPE_U8, 2, x, KQ, 1);
	set_io(&m->outputs[1], "b", DNNQ_DTYPE_F32, 2, x, QP(0, 0), 2);
	return DNNQ_OK;
}

/* Values: x(0); softmax(1), relu(2), softmax(3). */
static int make_k_softmax(struct dnnq_model *m, struct rng *r)
{
	static const int64_t x[2] = { 1, 16 };
	(void)r;
	int rc = model_alloc(m, "k-softmax", 1, 3, 0, 3);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 2, x, QP(0.25f, 128), -1);
	node(m, 0, DNNQ_NODE_SOFTMAX, "softmax_x", 1, (int32_t[]){ 0 }, QP(0, 0));
	node(m, 1, DNNQ_NODE_ACTIVATION, "relu", 1, (int32_t[]){ 0 }, QP(0.125f, 0))->op =
		DNNQ_ACT_RELU;
	node(m, 2, DNNQ_NODE_SOFTMAX, "softmax_r", 1, (int32_t[]){ 2 }, QP(0, 0));
	set_io(&m->outputs[0], "q", DNNQ_DTYPE_F32, 2, x, QP(0, 0), 1);
	set_io(&m->outputs[1], "r", DNNQ_DTYPE_U8, 2, x, QP(0.125f, 0), 2);
	set_io(&m->outputs[2], "p", DNNQ_DTYPE_F32, 2, x, QP(0, 0), 3);
	return DNNQ_OK;
}

/* Values: x(0) -> ewlin(1) -> ewlin(2). */
static int make_k_ewlin(struct dnnq_model *m, struct rng *r)
{
	static const int64_t x[4] = { 1, 6, 6, 8 };
	int rc = model_alloc(m, "k-ewlin", 1, 2, 3, 2);
	if (!rc)
		rc = make_bias(&m->tensors[0], r, "a1", 8, DNNQ_DTYPE_F32);
	if (!rc)
		rc = make_bias(&m->tensors[1], r, "b1", 8, DNNQ_DTYPE_F32);
	if (!rc)
		rc = make_bias(&m->tensors[2], r, "a2", 8, DNNQ_DTYPE_F32);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 4, x, KQ, -1);
	struct dnnq_model_node *n = node(m, 0, DNNQ_NODE_ELTWISE_LINEAR, "ewlin1", 1,
	                                 (int32_t[]){ 0 }, QP(0.02f, 128));
	n->weight = 0;
	n->bias = 1;
	n = node(m, 1, DNNQ_NODE_ELTWISE_LINEAR, "ewlin2", 1, (int32_t[]){ 1 }, QP(0.01f, 128));
	n->weight = 2;
	set_io(&m->outputs[0], "a", DNNQ_DTYPE_U8, 4, x, QP(0.02f, 128), 1);
	set_io(&m->outputs[1], "b", DNNQ_DTYPE_U8, 4, x, QP(0.01f, 128), 2);
	return DNNQ_OK;
}

/* Values: x(0), y(1); concat C (2), concat C (3), concat H (4). */
static int make_k_concat(struct dnnq_model *m, struct rng *r)
{
	static const int64_t a[4] = { 1, 6, 6, 8 }, b[4] = { 1, 6, 6, 12 }, c[4] = { 1, 12, 6, 4 };
	(void)r;
	int rc = model_alloc(m, "k-concat", 2, 3, 0, 3);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 4, k_nhwc, KQ, -1);
	set_io(&m->inputs[1], "y", DNNQ_DTYPE_U8, 4, k_nhwc, QP(0.03f, 100), -1);
	node(m, 0, DNNQ_NODE_CONCAT, "cat_c", 2, (int32_t[]){ 0, 1 }, QP(0.06f, 128))->axis = 3;
	node(m, 1, DNNQ_NODE_CONCAT, "cat_ac", 2, (int32_t[]){ 2, 0 }, QP(0.07f, 128))->axis = 3;
	node(m, 2, DNNQ_NODE_CONCAT, "cat_h", 2, (int32_t[]){ 0, 1 }, QP(0.05f, 120))->axis = 1;
	set_io(&m->outputs[0], "a", DNNQ_DTYPE_U8, 4, a, QP(0.06f, 128), 2);
	set_io(&m->outputs[1], "b", DNNQ_DTYPE_U8, 4, b, QP(0.07f, 128), 3);
	set_io(&m->outputs[2], "c", DNNQ_DTYPE_U8, 4, c, QP(0.05f, 120), 4);
	return DNNQ_OK;
}

/* Values: x(0); reshape(1) -> fc(2); relu(3) -> reshape(4) -> fc(5). */
static int make_k_reshape(struct dnnq_model *m, struct rng *r)
{
	static const int64_t x[4] = { 1, 4, 4, 4 }, a[2] = { 1, 64 }, f[2] = { 1, 16 };
	static const int64_t w[2] = { 16, 64 };
	int rc = model_alloc(m, "k-reshape", 1, 3, 4, 5);
	if (!rc)
		rc = make_weight(&m->tensors[0], r, "fc1.w", 2, w, true);
	if (!rc)
		rc = make_bias(&m->tensors[1], r, "fc1.b", 16, DNNQ_DTYPE_S32);
	if (!rc)
		rc = make_weight(&m->tensors[2], r, "fc2.w", 2, w, true);
	if (!rc)
		rc = make_bias(&m->tensors[3], r, "fc2.b", 16, DNNQ_DTYPE_S32);
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 4, x, KQ, -1);
	struct dnnq_model_node *n = node(m, 0, DNNQ_NODE_RESHAPE, "flat_x", 1, (int32_t[]){ 0 },
	                                 QP(0, 0));
	n->ndim = 2;
	n->dims[1] = 64;
	fc_node(node(m, 1, DNNQ_NODE_FC, "fc1", 1, (int32_t[]){ 1 }, QP(0.1f, 128)), 0, 1, 16, 64);
	node(m, 2, DNNQ_NODE_ACTIVATION, "relu", 1, (int32_t[]){ 0 }, QP(0.025f, 0))->op =
		DNNQ_ACT_RELU;
	n = node(m, 3, DNNQ_NODE_RESHAPE, "flat_r", 1, (int32_t[]){ 3 }, QP(0, 0));
	n->ndim = 2;
	n->dims[1] = 64;
	fc_node(node(m, 4, DNNQ_NODE_FC, "fc2", 1, (int32_t[]){ 4 }, QP(0.1f, 128)), 2, 3, 16, 64);
	set_io(&m->outputs[0], "c", DNNQ_DTYPE_U8, 2, f, QP(0.1f, 128), 2);
	set_io(&m->outputs[1], "a", DNNQ_DTYPE_U8, 2, a, QP(0.025f, 0), 4);
	set_io(&m->outputs[2], "b", DNNQ_DTYPE_U8, 2, f, QP(0.1f, 128), 5);
	return DNNQ_OK;
}

/* ---- ResNet-18 ---------------------------------------------------------- */

struct rn {
	struct dnnq_model *m;
	struct rng *r;
	size_t node, tensor;
	int rc;
};

/* A k x k convolution (pad k / 2) of value `in` with its weight and s32 bias
 * tensors; its value. */
static int32_t rn_conv(struct rn *b, const char *name, int32_t in, uint32_t cin,
                       uint32_t cout, uint32_t k, uint32_t stride, bool relu)
{
	const int64_t wd[4] = { cout, k, k, cin };
	char wname[DNNQ_MODEL_NAME_MAX], bname[DNNQ_MODEL_NAME_MAX];
	snprintf(wname, sizeof wname, "%s.w", name);
	snprintf(bname, sizeof bname, "%s.b", name);
	size_t t = b->tensor;
	b->tensor += 2;
	if (!b->rc)
		b->rc = make_weight(&b->m->tensors[t], b->r, wname, 4, wd, true);
	if (!b->rc)
		b->rc = make_bias(&b->m->tensors[t + 1], b->r, bname, cout, DNNQ_DTYPE_S32);
	struct dnnq_model_node *n = node(b->m, b->node, DNNQ_NODE_CONV, name, 1, &in,
	                                 relu ? QP(0.05f, 0) : QP(0.1f, 128));
	n->weight = (int32_t)t;
	n->bias = (int32_t)t + 1;
	n->cin = cin;
	n->cout = cout;
	n->groups = 1;
	n->kernel[0] = n->kernel[1] = k;
	n->strides[0] = n->strides[1] = stride;
	n->dilations[0] = n->dilations[1] = 1;
	for (int i = 0; i < 4; i++)
		n->pads[i] = k / 2;
	n->relu = relu;
	return (int32_t)(1 + b->node++);
}

/* A basic block: two 3x3 convolutions and the shortcut (a 1x1 one when
 * the shape changes), summed with ReLU. */
static int32_t rn_block(struct rn *b, const char *name, int32_t in, uint32_t cin, uint32_t cout,
                        uint32_t stride)
{
	char n1[DNNQ_MODEL_NAME_MAX], n2[DNNQ_MODEL_NAME_MAX], nd[DNNQ_MODEL_NAME_MAX];
	snprintf(n1, sizeof n1, "%s.conv1", name);
	snprintf(n2, sizeof n2, "%s.conv2", name);
	snprintf(nd, sizeof nd, "%s.down", name);
	int32_t a = rn_conv(b, n1, in, cin, cout, 3, stride, true);
	int32_t c = rn_conv(b, n2, a, cout, cout, 3, 1, false);
	int32_t s = stride != 1 || cin != cout ? rn_conv(b, nd, in, cin, cout, 1, stride, false)
	                                       : in;
	node(b->m, b->node, DNNQ_NODE_ELTWISE, name, 2, (int32_t[]){ c, s },
	     QP(0.05f, 0))->op = DNNQ_ELTWISE_SUM_RELU;
	return (int32_t)(1 + b->node++);
}

/* Values: x(0), then one per node in order; 20 convolutions (40 tensors),
 * 8 sums, max pool, global average pool, flatten, FC (2 tensors). */
static int make_resnet18(struct dnnq_model *m, struct rng *r)
{
	enum { NODES = 32, TENSORS = 42, CLS = 1000 };
	static const int64_t in[4] = { 1, 224, 224, 3 }, out[2] = { 1, CLS }, wf[2] = { CLS, 512 };
	static const int32_t pool[10] = { 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 };
	struct rn b = { m, r, 0, 0, model_alloc(m, "resnet18", 1, 1, TENSORS, NODES) };
	if (b.rc)
		return b.rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 4, in, QP(0.02f, 128), -1);
	int32_t v = rn_conv(&b, "conv1", 0, 3, 64, 7, 2, true);
	memcpy(node(m, b.node++, DNNQ_NODE_MAXPOOL, "maxpool", 1, &v, QP(0, 0))->pool, pool,
	       sizeof pool);
	v = (int32_t)b.node;
	static const uint32_t width[4] = { 64, 128, 256, 512 };
	uint32_t c = 64;
	for (int l = 0; l < 4; l++) {
		char name[32];
		for (int k = 0; k < 2; k++) {
			snprintf(name, sizeof name, "layer%d.%d", l + 1, k);
			v = rn_block(&b, name, v, c, width[l], l && !k ? 2 : 1);
			c = width[l];
		}
	}
	node(m, b.node++, DNNQ_NODE_GAVGPOOL, "avgpool", 1, &v, QP(0.02f, 0));
	v = (int32_t)b.node;
	struct dnnq_model_node *n = node(m, b.node++, DNNQ_NODE_RESHAPE, "flatten", 1, &v, QP(0, 0));
	n->ndim = 2;
	n->dims[1] = 512;
	v = (int32_t)b.node;
	size_t t = b.tensor;
	if (!b.rc)
		b.rc = make_weight(&m->tensors[t], r, "fc.w", 2, wf, true);
	if (!b.rc)
		b.rc = make_bias(&m->tensors[t + 1], r, "fc.b", CLS, DNNQ_DTYPE_S32);
	fc_node(node(m, b.node++, DNNQ_NODE_FC, "fc", 1, &v, QP(0.1f, 128)), (int32_t)t,
	        (int32_t)t + 1, CLS, 512);
	set_io(&m->outputs[0], "logits", DNNQ_DTYPE_U8, 2, out, QP(0.1f, 128), (int32_t)b.node);
	return b.rc;
}

/* Values: x(0) -> fc1(1) -> fc2(2) -> fc3(3); ReLU fused in the first two.
 * Output scales keep about 2 sigma of each layer in range. */
static int make_mlp(struct dnnq_model *m, struct rng *r)
{
	static const uint32_t width[4] = { 1024, 2048, 2048, 1024 };
	static const float scale[4] = { 0.02f, 0.4f, 3.0f, 25.0f };
	static const char *const names[3][3] = {
		{ "fc1", "fc1.w", "fc1.b" }, { "fc2", "fc2.w", "fc2.b" }, { "fc3", "fc3.w", "fc3.b" },
	};
	int rc = model_alloc(m, "mlp", 1, 1, 6, 3);
	const int64_t in[2] = { 1, width[0] }, out[2] = { 1, width[3] };
	for (int l = 0; l < 3 && !rc; l++) {
		const int64_t wdims[2] = { width[l + 1], width[l] };
		rc = make_weight(&m->tensors[2 * l], r, names[l][1], 2, wdims, true);
		if (!rc)
			rc = make_bias(&m->tensors[2 * l + 1], r, names[l][2], width[l + 1],
			               DNNQ_DTYPE_S32);
		if (rc)
			break;
		struct dnnq_model_node *n = node(m, (size_t)l, DNNQ_NODE_FC, names[l][0], 1,
		                                 (int32_t[]){ l }, QP(scale[l + 1], l < 2 ? 0 : 128));
		fc_node(n, 2 * l, 2 * l + 1, width[l + 1], width[l]);
		n->relu = l < 2;
	}
	if (rc)
		return rc;
	set_io(&m->inputs[0], "x", DNNQ_DTYPE_U8, 2, in, QP(scale[0], 128), -1);
	set_io(&m->outputs[0], "y", DNNQ_DTYPE_U8, 2, out, QP(scale[3], 128), 3);
	return DNNQ_OK;
}

/* The description of model `which`; dnnq_model_free it (also on failure). */
static int describe(enum fixture_model which, struct dnnq_model *m, struct dnnq_diag *diag)
{
	static int (*const make[FIXTURE_NMODELS_ALL])(struct dnnq_model *, struct rng *) = {
		make_relu64, make_fc1024, make_multi, make_k_conv, make_k_fc, make_k_maxpool,
		make_k_avgpool, make_k_gavgpool, make_k_eltwise, make_k_activation, make_k_convert,
		make_k_softmax, make_k_ewlin, make_k_concat, make_k_reshape, make_resnet18,
		make_mlp,
	};
	struct rng r = { 0x5eed0000u + (uint64_t)which };
	memset(m, 0, sizeof *m);
	if ((unsigned)which >= FIXTURE_NMODELS_ALL)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fixture: model %d: no such model", which);
	int rc = make[which](m, &r);
	return rc ? dnnq_diag_set(diag, rc, "fixture: %s: cannot describe: %s",
	                          model_names[which], dnnq_strerror(rc)) : DNNQ_OK;
}

static int write_file(const char *path, const void *buf, size_t len, struct dnnq_diag *diag)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(buf, 1, len, f) == len;
	if (f && fclose(f))
		ok = false;
	return ok ? DNNQ_OK : dnnq_diag_set(diag, DNNQ_E_IO, "fixture: %s: %s", path,
	                                    strerror(errno));
}

int fixture_model_bytes(enum fixture_model which, void **buf, size_t *len,
                        struct dnnq_diag *diag)
{
	struct dnnq_model m;
	*buf = NULL;
	int rc = describe(which, &m, diag);
	if (!rc) {
		rc = dnnq_model_write(&m, buf, len, diag);
		dnnq_model_free(&m);
	}
	return rc;
}

int fixture_model_write(enum fixture_model which, const char *path, struct dnnq_diag *diag)
{
	void *buf;
	size_t len;
	int rc = fixture_model_bytes(which, &buf, &len, diag);
	if (!rc)
		rc = write_file(path, buf, len, diag);
	free(buf);
	return rc;
}

/* ---- the in-process reference -------------------------------------------- */

struct fixture_ref {
	struct dnnq_graph *g;
	uint32_t planned;                        /* 0: not yet */
	uint32_t count[2];
	struct fixture_io io[2][FIXTURE_MAX_IO];
};

static void io_from_model(struct fixture_io *io, const struct dnnq_model_io *mio)
{
	memset(io, 0, sizeof *io);
	snprintf(io->name, sizeof io->name, "%s", mio->name);
	io->dtype = (uint32_t)mio->dtype;
	io->rank = mio->ndim;
	memcpy(io->dims, mio->dims, sizeof io->dims);
	io->scale = mio->qp.scale;
	io->zero_point = mio->qp.zero_point;
}

int fixture_ref_create(enum fixture_model which, struct fixture_ref **out,
                       struct dnnq_diag *diag)
{
	return fixture_ref_create_shared(which, NULL, out, diag);
}

int fixture_ref_create_shared(enum fixture_model which, struct dnnq_weights_cache *cache,
                              struct fixture_ref **out, struct dnnq_diag *diag)
{
	struct dnnq_model m;
	struct fixture_ref *r = calloc(1, sizeof *r);
	int rc = r ? describe(which, &m, diag) : DNNQ_E_NOMEM;
	if (!rc && (m.ninputs > FIXTURE_MAX_IO || m.noutputs > FIXTURE_MAX_IO))
		rc = dnnq_diag_set(diag, DNNQ_E_RANGE, "fixture: too many inputs or outputs");
	if (!rc)
		rc = dnnq_model_build_shared(&m, dnnq_isa_best(), cache, &r->g, diag);
	if (!rc) {
		r->count[0] = (uint32_t)m.ninputs;
		r->count[1] = (uint32_t)m.noutputs;
		for (size_t i = 0; i < m.ninputs; i++)
			io_from_model(&r->io[0][i], &m.inputs[i]);
		for (size_t i = 0; i < m.noutputs; i++)
			io_from_model(&r->io[1][i], &m.outputs[i]);
	}
	if (r)
		dnnq_model_free(&m);
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return DNNQ_OK;
}

void fixture_ref_destroy(struct fixture_ref *r)
{
	if (!r)
		return;
	dnnq_graph_destroy(r->g);
	free(r);
}

uint32_t fixture_ref_count(const struct fixture_ref *r, int output)
{
	return r->count[output != 0];
}

const struct fixture_io *fixture_ref_io(const struct fixture_ref *r, int output, uint32_t i)
{
	return i < r->count[output != 0] ? &r->io[output != 0][i] : NULL;
}

size_t fixture_io_bytes(const struct fixture_io *io, uint32_t batch)
{
	size_t n = io->dtype == DNNQ_DTYPE_F32 ? sizeof(float) : 1;
	for (uint32_t d = 1; d < io->rank; d++)
		n *= (size_t)io->dims[d];
	return n * batch;
}

int fixture_ref_run(struct fixture_ref *r, uint32_t batch, const void *const *inputs,
                    void *const *outputs)
{
	if (batch != r->planned) {
		int rc = dnnq_graph_plan(r->g, batch, 1, NULL);
		if (rc)
			return rc;
		r->planned = batch;
	}
	return dnnq_graph_run(r->g, inputs, outputs, NULL);
}

static struct dnnq_qparams io_qp(const struct fixture_io *io)
{
	return QP(io->scale, io->zero_point);
}

void fixture_quantize(const struct fixture_io *io, const float *x, uint8_t *q, size_t n)
{
	struct dnnq_qparams qp = io_qp(io);
	dnnq_quantize(dnnq_isa_best(), x, q, DNNQ_DTYPE_U8, n, &qp);
}

void fixture_dequantize(const struct fixture_io *io, const uint8_t *q, float *x, size_t n)
{
	struct dnnq_qparams qp = io_qp(io);
	dnnq_dequantize(dnnq_isa_best(), q, DNNQ_DTYPE_U8, x, n, &qp);
}

/* ---- processes ----------------------------------------------------------- */

const char *fixture_binary(const char *env_var, const char *name)
{
	static __thread char path[PATH_MAX];
	const char *env = getenv(env_var);
	if (env && *env)
		return access(env, X_OK) ? NULL : env;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	int n2 = snprintf(path, sizeof path, "%s/../bin/%s", exe, name);
	return n2 < 0 || (size_t)n2 >= sizeof path || access(path, X_OK) ? NULL : path;
}

long fixture_status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	long kib = -1;
	size_t n = strlen(key);
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, n))
			kib = strtol(line + n, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

pid_t fixture_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)   /* the parent died before prctl */
			_exit(127);
	}
	return pid;
}

void fixture_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

double fixture_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int fixture_wait(pid_t pid, int timeout_ms)
{
	int status;
	for (int waited = 0;; waited++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (waited >= timeout_ms)
			return -1;
		fixture_sleep_ms(1);
	}
}

#define TMP_ENV "DNNQ_FIXTURE_TMP"

void fixture_tmp_begin(void)
{
	char dir[] = "/tmp/dnnq-serve-XXXXXX";
	if (mkdtemp(dir))
		setenv(TMP_ENV, dir, 1);
}

/* rm -r path, without following links. */
static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[PATH_MAX];
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			remove_tree(sub);
		else
			unlink(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

void fixture_tmp_end(void)
{
	const char *dir = getenv(TMP_ENV);
	if (dir && !strncmp(dir, "/tmp/dnnq-serve-", 16))
		remove_tree(dir);
	unsetenv(TMP_ENV);
}

/* ---- a dnnqd process ----------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static int add_arg(struct fixture_daemon *d, const char *fmt, ...)
{
	va_list ap;
	if (d->argc >= FIXTURE_MAX_ARGS)
		return DNNQ_E_RANGE;
	va_start(ap, fmt);
	int n = vasprintf(&d->argv[d->argc], fmt, ap);
	va_end(ap);
	if (n < 0)
		return DNNQ_E_NOMEM;
	d->argc++;
	return DNNQ_OK;
}

/* dir, the model files and argv. */
static int prepare(struct fixture_daemon *d, const char *dnnqd, unsigned models,
                   const char *const *extra, struct dnnq_diag *diag)
{
	const char *tmp = getenv(TMP_ENV);
	snprintf(d->dir, sizeof d->dir, "%s/dnnqd-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d->dir)) {
		d->dir[0] = '\0';
		return dnnq_diag_set(diag, DNNQ_E_IO, "fixture: mkdtemp: %s", strerror(errno));
	}
	snprintf(d->socket, sizeof d->socket, "%s/dnnqd.sock", d->dir);
	snprintf(d->log, sizeof d->log, "%s/dnnqd.log", d->dir);
	int rc = add_arg(d, "%s", dnnqd);
	if (!rc)
		rc = add_arg(d, "--socket");
	if (!rc)
		rc = add_arg(d, "%s", d->socket);
	for (unsigned m = 0; !rc && m < FIXTURE_NMODELS_ALL; m++) {
		if (!(models & (1u << m)))
			continue;
		char path[400];
		snprintf(path, sizeof path, "%s/%s.dnnq", d->dir, model_names[m]);
		rc = fixture_model_write(m, path, diag);
		if (!rc)
			rc = add_arg(d, "--model");
		if (!rc)
			rc = add_arg(d, "%s=%s", model_names[m], path);
	}
	for (size_t i = 0; !rc && extra && extra[i]; i++)
		rc = add_arg(d, "%s", extra[i]);
	if (rc && !diag->msg[0])
		dnnq_diag_set(diag, rc, "fixture: dnnqd arguments: %s", dnnq_strerror(rc));
	return rc;
}

/* The child: output to the log, then dnnqd. Async-signal-safe calls only. */
static void exec_child(const struct fixture_daemon *d)
{
	int log = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
		_exit(126);
	execv(d->argv[0], d->argv);
	static const char msg[] = "fixture: execv dnnqd failed\n";
	ssize_t w = write(2, msg, sizeof msg - 1);
	(void)w;
	_exit(127);
}

/* "exited with status 3" / "killed by signal 9" */
static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status %#x", (unsigned)status);
}

/* The log's last line, for a one-line diag. */
static void last_line(const struct fixture_daemon *d, char *buf, size_t len)
{
	char tail[512];
	fixture_daemon_log(d, tail, sizeof tail);
	size_t n = strlen(tail);
	while (n && tail[n - 1] == '\n')
		tail[--n] = '\0';
	const char *nl = strrchr(tail, '\n');
	snprintf(buf, len, "%s", nl ? nl + 1 : tail);
}

#define START_TIMEOUT_MS 20000

static int wait_ready(struct fixture_daemon *d, struct dnnq_diag *diag)
{
	struct dnnq_connect_opts o = { .slots = 1, .arena_bytes = 4096, .timeout_ms = 1000 };
	for (int waited = 0; waited < START_TIMEOUT_MS; waited += 5) {
		struct dnnq_client *c;
		if (dnnq_connect(d->socket, &o, &c) == 0) {
			dnnq_close(c);
			return DNNQ_OK;
		}
		int status;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			char how[96], line[200];
			d->pid = 0;
			describe_status(status, how, sizeof how);
			last_line(d, line, sizeof line);
			return dnnq_diag_set(diag, DNNQ_E_IO, "fixture: dnnqd %s before it served: %s",
			                     how, line);
		}
		fixture_sleep_ms(5);
	}
	return dnnq_diag_set(diag, DNNQ_E_TIMEDOUT, "fixture: dnnq_connect(%s) failed for %d ms",
	                     d->socket, START_TIMEOUT_MS);
}

int fixture_daemon_restart(struct fixture_daemon *d, struct dnnq_diag *diag)
{
	if (d->pid)
		return dnnq_diag_set(diag, DNNQ_E_BUSY, "fixture: dnnqd runs already");
	pid_t pid = fixture_fork();
	if (pid < 0)
		return dnnq_diag_set(diag, DNNQ_E_IO, "fixture: fork: %s", strerror(errno));
	if (pid == 0)
		exec_child(d);
	d->pid = pid;
	return wait_ready(d, diag);
}

int fixture_daemon_start(struct fixture_daemon *d, const char *dnnqd, unsigned models,
                         const char *const *extra, struct dnnq_diag *diag)
{
	struct dnnq_diag local;
	if (!diag)
		diag = &local;
	diag->msg[0] = '\0';
	memset(d, 0, sizeof *d);
	if (!dnnqd)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fixture: no dnnqd binary");
	int rc = prepare(d, dnnqd, models, extra, diag);
	return rc ? rc : fixture_daemon_restart(d, diag);
}

#define STOP_TIMEOUT_MS 30000

int fixture_daemon_stop(struct fixture_daemon *d, struct dnnq_diag *diag)
{
	if (!d->pid)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fixture: dnnqd is not running");
	kill(d->pid, SIGTERM);
	int status = fixture_wait(d->pid, STOP_TIMEOUT_MS);
	if (status == -1) {
		fixture_daemon_kill(d);
		return dnnq_diag_set(diag, DNNQ_E_TIMEDOUT, "fixture: dnnqd still ran %d ms after "
		                     "SIGTERM", STOP_TIMEOUT_MS);
	}
	d->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return DNNQ_OK;
	char how[96], line[200];
	describe_status(status, how, sizeof how);
	last_line(d, line, sizeof line);
	return dnnq_diag_set(diag, DNNQ_E_IO, "fixture: dnnqd %s after SIGTERM: %s", how, line);
}

void fixture_daemon_kill(struct fixture_daemon *d)
{
	if (!d->pid)
		return;
	kill(d->pid, SIGKILL);
	while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
		;
	d->pid = 0;
}

void fixture_daemon_destroy(struct fixture_daemon *d)
{
	fixture_daemon_kill(d);
	if (d->dir[0])
		remove_tree(d->dir);
	for (int i = 0; i < d->argc; i++)
		free(d->argv[i]);
	memset(d, 0, sizeof *d);
}

unsigned fixture_daemon_log_count(const struct fixture_daemon *d, const char *needle)
{
	char line[2048];
	unsigned n = 0;
	FILE *f = fopen(d->log, "r");
	while (f && fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

void fixture_daemon_log(const struct fixture_daemon *d, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(d->log, "rb");
	if (!f)
		return;
	long size = fseek(f, 0, SEEK_END) ? 0 : ftell(f);
	long from = size > (long)len - 1 ? size - ((long)len - 1) : 0;
	size_t n = 0;
	if (!fseek(f, from, SEEK_SET))
		n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}
