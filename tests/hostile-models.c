/*
 * Hostile model files (hostile-models.h): the fixture's models read back,
 * their shapes and node lists rewritten, written again. The file format
 * checks everything a reader can check alone; what these files carry is
 * cost, which only the shapes tell.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "engine/eltwise.h"
#include "engine/model.h"
#include "engine/op.h"
#include "tests/hostile-models.h"
#include "tools/serve-fixture.h"

static void read_fixture(enum fixture_model which, struct dnnq_model *m)
{
	struct dnnq_diag diag = { "" };
	void *buf;
	size_t len;
	ck_assert_int_eq(fixture_model_bytes(which, &buf, &len, &diag), 0);
	ck_assert_msg(dnnq_model_read(buf, len, m, &diag) == 0, "%s", diag.msg);
	free(buf);
}

/* m's node 0 repeated to n nodes, each reading the one before; the one
 * output the last node's. */
static void repeat_node(struct dnnq_model *m, size_t n, const char *prefix)
{
	struct dnnq_model_node *nodes = realloc(m->nodes, n * sizeof *nodes);
	ck_assert_ptr_nonnull(nodes);
	m->nodes = nodes;
	m->nnodes = n;
	for (size_t j = 1; j < n; j++) {
		nodes[j] = nodes[0];
		snprintf(nodes[j].name, sizeof nodes[j].name, "%s%zu", prefix, j);
		nodes[j].inputs[0] = (int32_t)dnnq_model_node_value(m, j - 1);
	}
	m->noutputs = 1;
	m->outputs[0].value = (int32_t)dnnq_model_node_value(m, n - 1);
}

static void write_model(struct dnnq_model *m, void **buf, size_t *len)
{
	struct dnnq_diag diag = { "" };
	ck_assert_msg(dnnq_model_write(m, buf, len, &diag) == 0, "%s", diag.msg);
	dnnq_model_free(m);
}

void hostile_chain_bytes(size_t n, int64_t features, void **buf, size_t *len)
{
	struct dnnq_model m;
	read_fixture(FIXTURE_RELU64, &m);
	ck_assert_uint_eq(m.nnodes, 1);
	repeat_node(&m, n, "relu");
	/* a file's dims are at most INT32_MAX: more features as [N, f / 2^20, 2^20] */
	struct dnnq_model_io *io[2] = { &m.inputs[0], &m.outputs[0] };
	for (int k = 0; k < 2; k++) {
		io[k]->ndim = features > INT32_MAX ? 3 : 2;
		io[k]->dims[1] = features > INT32_MAX ? features >> 20 : features;
		io[k]->dims[2] = (int64_t)1 << 20;
	}
	write_model(&m, buf, len);
}

void hostile_pool_bytes(size_t n, int64_t side, int32_t kernel, void **buf, size_t *len)
{
	struct dnnq_model m;
	read_fixture(FIXTURE_KIND_MAXPOOL, &m);
	const int32_t geom[10] = { kernel, kernel, 1, 1, (kernel - 1) / 2, (kernel - 1) / 2,
	                           kernel / 2, kernel / 2, 1, 1 };
	memcpy(m.nodes[0].pool, geom, sizeof geom);
	snprintf(m.nodes[0].name, sizeof m.nodes[0].name, "pool0");
	repeat_node(&m, n, "pool");
	const int64_t dims[4] = { 1, side, side, 1 };
	memcpy(m.inputs[0].dims, dims, sizeof dims);
	memcpy(m.outputs[0].dims, dims, sizeof dims);
	m.outputs[0].qp = m.inputs[0].qp;
	write_model(&m, buf, len);
}

void hostile_same_name_bytes(bool depthwise, void **buf, size_t *len)
{
	struct dnnq_model m;
	read_fixture(FIXTURE_KIND_CONV, &m);
	struct dnnq_model_node *n = &m.nodes[1], first = m.nodes[0];
	first.inputs[0] = n->inputs[0];
	*n = first;
	if (depthwise) {
		n->weight = 2;
		n->groups = 4;
	} else {
		n->groups = 2;
		n->kernel[1] = 6;
		n->pads[1] = 2;
		n->pads[3] = 3;
	}
	write_model(&m, buf, len);
}

void hostile_no_input_bytes(void **buf, size_t *len)
{
	struct dnnq_model m;
	read_fixture(FIXTURE_RELU64, &m);
	const struct dnnq_model_io *x = &m.inputs[0];
	struct dnnq_model_tensor *t = calloc(1, sizeof *t);
	int32_t *c = calloc(1, sizeof *c);
	ck_assert(t && c);
	snprintf(t->name, sizeof t->name, "%s", x->name);
	dnnq_qtensor_init(&t->t);
	ck_assert_int_eq(dnnq_qtensor_set_type(&t->t, DNNQ_DTYPE_U8, 8, false), 0);
	ck_assert_int_eq(dnnq_qtensor_resize(&t->t, x->ndim, x->dims), 0);
	ck_assert_int_eq(dnnq_qtensor_set_qparams(&t->t, &x->qp), 0);
	/* value 0 is now the constant, which the ReLU reads */
	m.tensors = t;
	m.ntensors = 1;
	m.constants = c;
	m.nconstants = 1;
	m.ninputs = 0;
	write_model(&m, buf, len);
}

void hostile_dynamic_fc_bytes(void **buf, size_t *len)
{
	struct dnnq_model m;
	read_fixture(FIXTURE_FC1024, &m);
	ck_assert_uint_eq(m.nnodes, 1);
	m.inputs[0].dtype = DNNQ_DTYPE_F32;
	m.inputs[0].qp = (struct dnnq_qparams){ 0 };
	m.nodes[0].dynamic = 1;
	/* a dynamic FC takes an f32 bias (an s32 one needs a static input scale) */
	struct dnnq_qtensor *b = &m.tensors[m.nodes[0].bias].t;
	int64_t n = b->dims[0];
	dnnq_qtensor_free(b);
	dnnq_qtensor_init(b);
	ck_assert_int_eq(dnnq_qtensor_set_type(b, DNNQ_DTYPE_F32, 0, true), 0);
	ck_assert_int_eq(dnnq_qtensor_resize(b, 1, &n), 0);
	for (int64_t i = 0; i < n; i++)
		((float *)b->data)[i] = 0.01f * (float)(i % 7);
	write_model(&m, buf, len);
}

/* An f32 signature entry [1, side, side, 1] (s32: indices) of value v */
static void unpool_io(struct dnnq_model_io *io, const char *name, enum dnnq_dtype dtype,
                      int64_t side, int32_t v)
{
	memset(io, 0, sizeof *io);
	snprintf(io->name, sizeof io->name, "%s", name);
	io->dtype = dtype;
	io->ndim = 4;
	const int64_t dims[4] = { 1, side, side, 1 };
	memcpy(io->dims, dims, sizeof dims);
	io->value = v;
}

/* An fp32 node of kind reading ninputs values from in: a 2 x 2 pool of
 * stride 2 (the pools), or to [N, side, side, C] (the unpool) */
static void unpool_node(struct dnnq_model_node *n, uint32_t kind, const char *name,
                        uint32_t ninputs, const int32_t *in, int64_t side)
{
	static const int32_t pool[10] = { 2, 2, 2, 2, 0, 0, 0, 0, 1, 1 };
	memset(n, 0, sizeof *n);
	n->kind = kind;
	snprintf(n->name, sizeof n->name, "%s", name);
	n->ninputs = ninputs;
	memcpy(n->inputs, in, ninputs * sizeof *in);
	n->weight = n->bias = -1;
	n->precision = DNNQ_PRECISION_FP32;
	memcpy(n->pool, pool, sizeof pool);
	n->ndim = 2;
	n->dims[0] = n->dims[1] = side;
}

void hostile_unpool_bytes(enum hostile_unpool which, void **buf, size_t *len)
{
	struct dnnq_model m;
	read_fixture(FIXTURE_RELU64, &m);
	const uint32_t indices = dnnq_op_find("maxpool_indices")->kind,
	               unpool = dnnq_op_find("maxunpool")->kind;
	bool given = which == HOSTILE_UNPOOL_GIVEN;
	m.ninputs = given ? 2 : 1;
	m.nnodes = given ? 1 : which == HOSTILE_UNPOOL_SEGNET ? 3 : 1;
	m.inputs = realloc(m.inputs, 2 * sizeof *m.inputs);
	m.nodes = realloc(m.nodes, 3 * sizeof *m.nodes);
	ck_assert(m.inputs && m.nodes);
	unpool_io(&m.inputs[0], "x", DNNQ_DTYPE_F32, given ? 2 : 4, 0);
	if (given) {
		unpool_io(&m.inputs[1], "i", DNNQ_DTYPE_S32, 2, 1);
		unpool_node(&m.nodes[0], unpool, "unpool", 2, (const int32_t[]){ 0, 1 }, 2);
		unpool_io(&m.outputs[0], "y", DNNQ_DTYPE_F32, 2, 2);
	} else {
		unpool_node(&m.nodes[0], indices, "indices", 1, (const int32_t[]){ 0 }, 0);
		unpool_io(&m.outputs[0], "j", DNNQ_DTYPE_S32, 2, 1);
	}
	if (which == HOSTILE_UNPOOL_SEGNET) {
		unpool_node(&m.nodes[1], DNNQ_NODE_MAXPOOL, "pool", 1, (const int32_t[]){ 0 }, 0);
		unpool_node(&m.nodes[2], unpool, "unpool", 2, (const int32_t[]){ 2, 1 }, 4);
		unpool_io(&m.outputs[0], "y", DNNQ_DTYPE_F32, 4, 3);
	}
	write_model(&m, buf, len);
}

/* A u8 constant of 1, 2, ... (relu64's input's parameters): [1, 64], or
 * (matrices) [3, 3, 4]; tensor 0 and value 1 of m (relu64, which has
 * none). */
static void on_batch_constant(struct dnnq_model *m, bool matrices)
{
	static const int64_t row[2] = { 1, 64 }, mats[3] = { 3, 3, 4 };
	struct dnnq_model_tensor *t = calloc(1, sizeof *t);
	int32_t *c = calloc(1, sizeof *c);
	ck_assert(t && c);
	ck_assert_uint_eq(m->ntensors, 0);
	snprintf(t->name, sizeof t->name, "w");
	dnnq_qtensor_init(&t->t);
	ck_assert_int_eq(dnnq_qtensor_set_type(&t->t, DNNQ_DTYPE_U8, 8, false), 0);
	ck_assert_int_eq(dnnq_qtensor_resize(&t->t, matrices ? 3 : 2, matrices ? mats : row), 0);
	ck_assert_int_eq(dnnq_qtensor_set_qparams(&t->t, &(struct dnnq_qparams){
		.scale = 0.05f, .zero_point = 128, .precision = 8 }), 0);
	for (size_t i = 0; i < dnnq_qtensor_numel(&t->t); i++)
		((uint8_t *)t->t.data)[i] = (uint8_t)(i + 1);
	m->tensors = t;
	m->ntensors = 1;
	m->constants = c;
	m->nconstants = 1;
}

void hostile_on_batch_bytes(enum hostile_on_batch which, void **buf, size_t *len)
{
	struct dnnq_model m;
	read_fixture(FIXTURE_RELU64, &m);
	struct dnnq_model_node relu = m.nodes[0];
	if (which == HOSTILE_ON_BATCH_CONSTANT) {
		/* value 1 the constant, 2 its ReLU, 3 x plus it */
		on_batch_constant(&m, false);
		m.nodes = realloc(m.nodes, 2 * sizeof *m.nodes);
		ck_assert_ptr_nonnull(m.nodes);
		m.nnodes = 2;
		m.nodes[0] = relu;
		m.nodes[0].inputs[0] = 1;
		snprintf(m.nodes[0].name, sizeof m.nodes[0].name, "crelu");
		dnnq_model_node_init(&m.nodes[1], DNNQ_NODE_ELTWISE, "add");
		m.nodes[1].ninputs = 2;
		m.nodes[1].inputs[1] = 2;
		m.nodes[1].op = DNNQ_ELTWISE_ADD;
		m.nodes[1].out_scale = m.outputs[0].qp.scale;
		m.nodes[1].out_zero_point = m.outputs[0].qp.zero_point;
		m.nodes[1].out_precision = 8;
		m.outputs[0].value = 3;
		write_model(&m, buf, len);
		return;
	}
	bool mm = which == HOSTILE_ON_BATCH_MATMUL, scale = which == HOSTILE_ON_BATCH_SCALE;
	struct dnnq_model_io *io[2] = { &m.inputs[0], &m.outputs[0] };
	for (int k = 0; k < 2; k++) {
		io[k]->dtype = DNNQ_DTYPE_F32;
		io[k]->qp = (struct dnnq_qparams){ 0 };
		io[k]->ndim = mm ? 3 : 1;
		memcpy(io[k]->dims, (const int64_t[]){ 1, 2, k ? 4 : 3 }, 3 * sizeof *io[k]->dims);
	}
	struct dnnq_model_node *n = &m.nodes[0];
	dnnq_model_node_init(n, mm ? dnnq_op_find("matmul")->kind
	                        : scale ? DNNQ_NODE_ELTWISE_LINEAR : DNNQ_NODE_SOFTMAX,
	                     mm ? "mm" : scale ? "scale" : "softmax");
	n->precision = DNNQ_PRECISION_FP32;
	n->ninputs = mm ? 2 : 1;
	n->inputs[1] = 1;                  /* value 1: the constant */
	if (mm)
		on_batch_constant(&m, true);
	if (scale) {                       /* tensor 0: no multipliers, f32 [0] */
		ck_assert_uint_eq(m.ntensors, 0);
		m.tensors = calloc(1, sizeof *m.tensors);
		ck_assert_ptr_nonnull(m.tensors);
		m.ntensors = 1;
		snprintf(m.tensors[0].name, sizeof m.tensors[0].name, "a");
		dnnq_qtensor_init(&m.tensors[0].t);
		ck_assert_int_eq(dnnq_qtensor_set_type(&m.tensors[0].t, DNNQ_DTYPE_F32, 0, true), 0);
		ck_assert_int_eq(dnnq_qtensor_resize(&m.tensors[0].t, 1, (const int64_t[]){ 0 }), 0);
		n->weight = 0;
	}
	m.outputs[0].value = (int32_t)dnnq_model_node_value(&m, 0);
	write_model(&m, buf, len);
}

void hostile_write(const char *path, const void *buf, size_t len)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

void hostile_config(const char *yaml, char *path, size_t len)
{
	char dir[300];
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	snprintf(dir, sizeof dir, "%s/hostile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, len, "%s/dnnqd.yaml", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(yaml, f);
	ck_assert_int_eq(fclose(f), 0);
}

void hostile_config_remove(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	ck_assert_ptr_nonnull(slash);
	*slash = 0;
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}

void hostile_reload_refused(const char *socket, int want, const char *needle, char *msg,
                            size_t len)
{
	struct dnnq_client *c;
	struct dnnq_reload_result rr;
	struct dnnq_model *m;
	ck_assert_int_eq(dnnq_connect(socket, NULL, &c), 0);
	int rc = dnnq_reload(c, &rr);
	ck_assert_msg(rc == want && strstr(rr.message, needle), "RELOAD: %s ('%s'), want %s and"
	              " '%s'", dnnq_strerror(rc), rr.message, dnnq_strerror(want), needle);
	ck_assert_int_eq(dnnq_model_open(c, fixture_model_name(FIXTURE_RELU64), &m), 0);
	ck_assert_uint_eq(dnnq_model_generation(m), 1);
	dnnq_model_close(m);
	dnnq_close(c);
	snprintf(msg, len, "%s", rr.message);
}
