/*
 * dnnq-fuzz-seeds DIR: writes the seed corpora of the fuzz harnesses
 * (tests/fuzz/) into DIR/<harness>/ (`make fuzz-seeds` runs it on
 * tests/fuzz/corpus). Every seed is a small valid input made by the
 * project's own writers, so the fuzzer starts past the magic numbers and
 * the checksums; each file stays well under 64 KiB. (One model seed is
 * refused on purpose: finding 6 of issue 19, a reshape with negative dims,
 * one mutation away from files that read.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calibration/npy.h"
#include "client/dnnq.h"
#include "engine/grid-sample.h"
#include "engine/model.h"
#include "engine/op.h"
#include "engine/qtensor.h"
#include "shm/dnnq_proto.h"
#include "shm/dnnq_shm.h"
#include "tools/serve-fixture.h"

static const char *root;

static void fail(const char *what, const char *why)
{
	dnnq_tool_line("dnnq-fuzz-seeds", "%s: %s", what, why);   /* what: DIR's paths */
	exit(1);
}

static void dir(const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", root, name);
	if (mkdir(path, 0755) && errno != EEXIST)
		fail(path, strerror(errno));
}

static void put(const char *harness, const char *file, const void *buf, size_t len)
{
	char path[4096];
	dir(harness, path, sizeof path);
	snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", file);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
		fail(path, strerror(errno));
}

/* A seed model: one input and two outputs, a chain of nodes, tensors. */
struct seed {
	struct dnnq_model_io io[3];
	struct dnnq_model_node n[9];
	struct dnnq_model_tensor t[6];
	size_t nnodes, ntensors;
};

/* Node j: kinds[j], named names[j], reading value from[j]. */
static void seed_nodes(struct seed *s, size_t count, const char *const *names,
                       const enum dnnq_node_kind *kinds, const int32_t *from)
{
	s->nnodes = count;
	for (size_t j = 0; j < count; j++) {
		dnnq_model_node_init(&s->n[j], kinds[j], names[j]);
		s->n[j].ninputs = 1;
		s->n[j].inputs[0] = from[j];
	}
}

/* Writes the seed as model/<file> and frees its tensors. */
static void seed_write(struct seed *s, const char *file)
{
	struct dnnq_model m;
	struct dnnq_diag d = { "" };
	memset(&m, 0, sizeof m);
	snprintf(m.name, sizeof m.name, "%s", file);
	snprintf(m.producer, sizeof m.producer, "tools/fuzz-seeds.c");
	m.ninputs = 1;
	m.noutputs = 2;
	m.inputs = s->io;
	m.outputs = s->io + 1;
	m.nnodes = s->nnodes;
	m.nodes = s->n;
	m.ntensors = s->ntensors;
	m.tensors = s->t;
	void *buf;
	size_t len;
	int rc = dnnq_model_write(&m, &buf, &len, &d);
	for (size_t i = 0; i < s->ntensors; i++)
		dnnq_qtensor_free(&s->t[i].t);
	if (rc)
		fail(file, d.msg);
	put("model", file, buf, len);
	free(buf);
}

static void out_qp(struct dnnq_model_node *n, float scale, int32_t zero_point)
{
	n->out_dtype = DNNQ_DTYPE_U8;
	n->out_scale = scale;
	n->out_zero_point = zero_point;
	n->out_precision = 8;
}

/*
 * x u8 [1, 2, xc] -> relu -> reshape 'r1' (r1 dims) -> softmax 'prob', f32;
 * relu -> reshape 'r2' {1, -1} 'flat', u8 (an output that is a view).
 * With r1 {1, 0, -1}: ONNX's 0 and -1, resolved at build. With xc 8 and
 * r1 {1, -1, -16} (-1 * -16 = 16 elements, as many as x has): finding 6 of
 * issue 19, which the reader now refuses.
 */
static void reshape_model(const char *file, int64_t xc, const int64_t *r1)
{
	static const struct dnnq_qparams qx = { 0.05f, 128, 8, false }, qr = { 0.025f, 0, 8, false };
	static const char *const names[4] = { "relu", "r1", "prob", "r2" };
	static const enum dnnq_node_kind kinds[4] = { DNNQ_NODE_ACTIVATION, DNNQ_NODE_RESHAPE,
	                                              DNNQ_NODE_SOFTMAX, DNNQ_NODE_RESHAPE };
	static const int32_t from[4] = { 0, 1, 2, 1 };
	struct seed s = { .io = {
		{ .name = "x", .dtype = DNNQ_DTYPE_U8, .ndim = 3, .dims = { 1, 2, xc }, .qp = qx },
		{ .name = "prob", .dtype = DNNQ_DTYPE_F32, .ndim = 3, .dims = { 1, 2, xc }, .value = 3 },
		{ .name = "flat", .dtype = DNNQ_DTYPE_U8, .ndim = 2, .dims = { 1, 2 * xc }, .qp = qr,
		  .value = 4 },
	} };
	seed_nodes(&s, 4, names, kinds, from);
	s.n[0].op = DNNQ_ACT_RELU;
	out_qp(&s.n[0], qr.scale, qr.zero_point);
	s.n[1].ndim = 3;
	memcpy(s.n[1].dims, r1, 3 * sizeof *r1);
	s.n[3].ndim = 2;
	s.n[3].dims[0] = 1;
	s.n[3].dims[1] = -1;
	seed_write(&s, file);
}

/* A tensor of dt and shape, values v(i) (per-channel on axis 0 when
 * nscales > 1, per tensor when 1, none when 0). */
static void seed_tensor(struct dnnq_model_tensor *mt, const char *name, enum dnnq_dtype dt,
                        uint32_t ndim, const int64_t *dims, size_t nscales)
{
	struct dnnq_qtensor *t = &mt->t;
	snprintf(mt->name, sizeof mt->name, "%s", name);
	dnnq_qtensor_init(t);
	bool wide = dt == DNNQ_DTYPE_F32 || dt == DNNQ_DTYPE_S32;
	if (dnnq_qtensor_set_type(t, dt, wide ? 32 : 8, true) ||
	    dnnq_qtensor_resize(t, ndim, dims))
		fail(name, "type / shape");
	float sc[16];
	int32_t zp[16] = { 0 };
	for (size_t i = 0; i < 16; i++)
		sc[i] = 0.004f + 0.001f * (float)i;
	if ((nscales > 1 && dnnq_qtensor_set_qparams_axis(t, 0, nscales, sc, zp)) ||
	    (nscales == 1 && dnnq_qtensor_set_qparams(t, &(struct dnnq_qparams){ 0.01f, 0, 8, true })))
		fail(name, "qparams");
	for (size_t i = 0; i < dnnq_qtensor_numel(t); i++) {
		if (dt == DNNQ_DTYPE_F32)
			((float *)t->data)[i] = 0.5f + 0.125f * (float)(i % 7);
		else if (dt == DNNQ_DTYPE_S32)      /* indices: 0 and 1 */
			((int32_t *)t->data)[i] = (int32_t)(i % 2);
		else
			((int8_t *)t->data)[i] = (int8_t)((int)(i * 37 % 255) - 127);
	}
}

/*
 * The node kinds multi.dnnq leaves out: x u8 [1, 4, 4, 4] -> conv 1x1 pad 1
 * 'pw' (the im2col path) -> depthwise conv 3x3 pad 1 'dw' -> avgpool 2x2/2
 * ceil 'avg' and maxpool 3x3/2 pad 1 'max' -> concat on C 'cat' (an output,
 * read on) -> sigmoid 'sig' -> elementwise-linear 'lin' -> global average
 * 'gap' -> dequantize_nchw 'deq', f32 [1, 8, 1, 1]. A mutated geometry
 * changes the spatial sizes without breaking the chain.
 */
static void kinds_model(void)
{
	static const char *const names[9] = { "pw", "dw", "avg", "max", "cat", "sig", "lin", "gap",
	                                      "deq" };
	static const enum dnnq_node_kind kinds[9] = {
		DNNQ_NODE_CONV, DNNQ_NODE_CONV, DNNQ_NODE_AVGPOOL, DNNQ_NODE_MAXPOOL, DNNQ_NODE_CONCAT,
		DNNQ_NODE_ACTIVATION, DNNQ_NODE_ELTWISE_LINEAR, DNNQ_NODE_GAVGPOOL, DNNQ_NODE_CONVERT,
	};
	static const int32_t from[9] = { 0, 1, 2, 2, 3, 5, 6, 7, 8 };
	static const int32_t avg[10] = { 2, 2, 2, 2, 0, 0, 0, 0, 1, 1 };
	static const int32_t max[10] = { 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 };
	struct seed s = { .io = {
		{ .name = "x", .dtype = DNNQ_DTYPE_U8, .ndim = 4, .dims = { 1, 4, 4, 4 },
		  .qp = { 0.05f, 128, 8, false } },
		{ .name = "y", .dtype = DNNQ_DTYPE_F32, .ndim = 4, .dims = { 1, 8, 1, 1 }, .value = 9 },
		{ .name = "cat", .dtype = DNNQ_DTYPE_U8, .ndim = 4, .dims = { 1, 3, 3, 8 },
		  .qp = { 0.06f, 0, 8, false }, .value = 5 },
	}, .ntensors = 6 };
	seed_tensor(&s.t[0], "dw.w", DNNQ_DTYPE_S8, 4, (const int64_t[]){ 4, 3, 3, 1 }, 4);
	seed_tensor(&s.t[1], "dw.b", DNNQ_DTYPE_F32, 1, (const int64_t[]){ 4 }, 0);
	seed_tensor(&s.t[2], "lin.a", DNNQ_DTYPE_F32, 1, (const int64_t[]){ 8 }, 0);
	seed_tensor(&s.t[3], "lin.b", DNNQ_DTYPE_F32, 1, (const int64_t[]){ 8 }, 0);
	seed_tensor(&s.t[4], "pw.w", DNNQ_DTYPE_S8, 4, (const int64_t[]){ 4, 1, 1, 4 }, 1);
	seed_tensor(&s.t[5], "pw.b", DNNQ_DTYPE_F32, 1, (const int64_t[]){ 4 }, 0);
	seed_nodes(&s, 9, names, kinds, from);
	struct dnnq_model_node *n = s.n;
	n[0].weight = 4;
	n[0].bias = 5;
	n[0].cin = n[0].cout = 4;
	n[0].groups = 1;
	n[0].kernel[0] = n[0].kernel[1] = 1;
	n[1].weight = 0;
	n[1].bias = 1;
	n[1].cin = n[1].cout = n[1].groups = 4;
	n[1].kernel[0] = n[1].kernel[1] = 3;
	n[1].relu = 1;
	for (int j = 0; j < 2; j++) {
		n[j].strides[0] = n[j].strides[1] = n[j].dilations[0] = n[j].dilations[1] = 1;
		for (int i = 0; i < 4; i++)
			n[j].pads[i] = 1;
	}
	out_qp(&n[0], 0.05f, 128);
	out_qp(&n[1], 0.06f, 0);
	memcpy(n[2].pool, avg, sizeof avg);
	n[2].ceil_mode = 1;
	out_qp(&n[2], 0.06f, 0);
	memcpy(n[3].pool, max, sizeof max);
	n[4].ninputs = 2;
	n[4].inputs[1] = 4;
	n[4].axis = 3;
	out_qp(&n[4], 0.06f, 0);
	n[5].op = DNNQ_ACT_SIGMOID;
	out_qp(&n[5], 1.0f / 255, 0);
	n[6].weight = 2;
	n[6].bias = 3;
	out_qp(&n[6], 0.02f, 0);
	out_qp(&n[7], 0.02f, 0);
	n[8].op = DNNQ_CONVERT_DEQUANTIZE_NCHW;
	seed_write(&s, "kinds.dnnq");
}

/*
 * The registry's elementwise kinds: x u8 [1, 3, 8] -> gelu 'g' -> prelu 'p'
 * (slope: x) -> erf 'e' -> dequantize 'deq', f32; 'g' the second output.
 */
static void eltwise_model(void)
{
	static const struct dnnq_qparams qx = { 0.05f, 128, 8, false }, qg = { 0.03f, 10, 8, false };
	static const char *const names[4] = { "g", "p", "e", "deq" };
	const enum dnnq_node_kind kinds[4] = {
		(enum dnnq_node_kind)dnnq_op_find("gelu")->kind,
		(enum dnnq_node_kind)dnnq_op_find("prelu")->kind,
		(enum dnnq_node_kind)dnnq_op_find("erf")->kind, DNNQ_NODE_CONVERT,
	};
	static const int32_t from[4] = { 0, 1, 2, 3 };
	struct seed s = { .io = {
		{ .name = "x", .dtype = DNNQ_DTYPE_U8, .ndim = 3, .dims = { 1, 3, 8 }, .qp = qx },
		{ .name = "y", .dtype = DNNQ_DTYPE_F32, .ndim = 3, .dims = { 1, 3, 8 }, .value = 4 },
		{ .name = "g", .dtype = DNNQ_DTYPE_U8, .ndim = 3, .dims = { 1, 3, 8 }, .qp = qg,
		  .value = 1 },
	} };
	seed_nodes(&s, 4, names, kinds, from);
	out_qp(&s.n[0], qg.scale, qg.zero_point);
	s.n[1].ninputs = 2;
	s.n[1].inputs[1] = 0;
	out_qp(&s.n[1], 0.02f, 128);
	out_qp(&s.n[2], 1.0f / 127, 127);
	s.n[3].op = DNNQ_CONVERT_DEQUANTIZE;
	seed_write(&s, "eltwise.dnnq");
}

/* x u8 [1, 5, 7] -> elu 'e' (alpha 0.7) -> argmax 'a' (axis 2, keepdims,
 * select_last_index): s32 [1, 5, 1]; e is the second output. */
static void argmax_model(void)
{
	static const struct dnnq_qparams qx = { 0.05f, 128, 8, false }, qe = { 0.04f, 40, 8, false };
	static const char *const names[2] = { "e", "a" };
	const enum dnnq_node_kind kinds[2] = {
		DNNQ_NODE_ACTIVATION, (enum dnnq_node_kind)dnnq_op_find("argmax")->kind,
	};
	static const int32_t from[2] = { 0, 1 };
	struct seed s = { .io = {
		{ .name = "x", .dtype = DNNQ_DTYPE_U8, .ndim = 3, .dims = { 1, 5, 7 }, .qp = qx },
		{ .name = "a", .dtype = DNNQ_DTYPE_S32, .ndim = 3, .dims = { 1, 5, 1 }, .value = 2 },
		{ .name = "e", .dtype = DNNQ_DTYPE_U8, .ndim = 3, .dims = { 1, 5, 7 }, .qp = qe,
		  .value = 1 },
	} };
	seed_nodes(&s, 2, names, kinds, from);
	s.n[0].op = DNNQ_ACT_ELU;
	s.n[0].params[0] = 0.7f;
	out_qp(&s.n[0], qe.scale, qe.zero_point);
	s.n[1].axis = 2;
	s.n[1].op = 3;
	seed_write(&s, "argmax.dnnq");
}

/* x u8 [1, 5, 7] -> topk 't' and topk_indices 'i' (axis 2, k 3, the
 * smallest): u8 [1, 5, 3] in x's parameters and s32 [1, 5, 3]. */
static void topk_model(void)
{
	static const struct dnnq_qparams qx = { 0.05f, 128, 8, false };
	static const char *const names[2] = { "t", "i" };
	const enum dnnq_node_kind kinds[2] = {
		(enum dnnq_node_kind)dnnq_op_find("topk")->kind,
		(enum dnnq_node_kind)dnnq_op_find("topk_indices")->kind,
	};
	static const int32_t from[2] = { 0, 0 };
	struct seed s = { .io = {
		{ .name = "x", .dtype = DNNQ_DTYPE_U8, .ndim = 3, .dims = { 1, 5, 7 }, .qp = qx },
		{ .name = "t", .dtype = DNNQ_DTYPE_U8, .ndim = 3, .dims = { 1, 5, 3 }, .qp = qx,
		  .value = 1 },
		{ .name = "i", .dtype = DNNQ_DTYPE_S32, .ndim = 3, .dims = { 1, 5, 3 }, .value = 2 },
	} };
	seed_nodes(&s, 2, names, kinds, from);
	for (int k = 0; k < 2; k++) {
		s.n[k].axis = 2;
		s.n[k].k = 3;
		s.n[k].op = 1;
	}
	seed_write(&s, "topk.dnnq");
}

/*
 * The registry's fp32 gathers: x f32 [1, 2, 2, 2] -> grid_sample 'gs' (x
 * its own grid, [N, Wo, 2, Ho]: bicubic, reflection) -> gather_elements
 * 'ge' (axis 3, x the computed f32 indices) -> gather_elements 'gc' (axis
 * 1, constant s32 indices [1, 2, 2, 2] of 0 and 1); 'gs' the second
 * output. The run's grid and indices are the fuzz input's floats: huge,
 * NaN, non-integer.
 */
static void gather_grid_model(void)
{
	static const char *const names[3] = { "gs", "ge", "gc" };
	const enum dnnq_node_kind kinds[3] = {
		(enum dnnq_node_kind)dnnq_op_find("grid_sample")->kind,
		(enum dnnq_node_kind)dnnq_op_find("gather_elements")->kind,
		(enum dnnq_node_kind)dnnq_op_find("gather_elements")->kind,
	};
	static const int32_t from[3] = { 0, 1, 2 };
	struct seed s = { .io = {
		{ .name = "x", .dtype = DNNQ_DTYPE_F32, .ndim = 4, .dims = { 1, 2, 2, 2 } },
		{ .name = "gc", .dtype = DNNQ_DTYPE_F32, .ndim = 4, .dims = { 1, 2, 2, 2 }, .value = 3 },
		{ .name = "gs", .dtype = DNNQ_DTYPE_F32, .ndim = 4, .dims = { 1, 2, 2, 2 }, .value = 1 },
	}, .ntensors = 1 };
	seed_tensor(&s.t[0], "gc.indices", DNNQ_DTYPE_S32, 4, (const int64_t[]){ 1, 2, 2, 2 }, 0);
	seed_nodes(&s, 3, names, kinds, from);
	for (int j = 0; j < 3; j++)
		s.n[j].precision = DNNQ_PRECISION_FP32;
	s.n[0].ninputs = s.n[1].ninputs = 2;
	s.n[0].inputs[1] = s.n[1].inputs[1] = 0;
	s.n[0].op = DNNQ_GS_BICUBIC | DNNQ_GS_REFLECTION << 2;
	s.n[1].axis = 3;
	s.n[2].axis = 1;
	s.n[2].weight = 0;
	seed_write(&s, "gather-grid.dnnq");
}

/*
 * The registry's scatters and tuples, every index the fuzz input's floats
 * (huge, NaN, non-integer, negative): x f32 [1, 3, 2] -> scatter_elements
 * 'sa' (axis 2, add; x the data, the indices and the updates) ->
 * scatter_elements 'sm' (axis 1, max; indices and updates x again) ->
 * gather_nd 'gn' (axis 1: x's rows as tuples of 2 into sm's [3, 2]: [1, 3])
 * -> scatter_nd 'sn' (axis 1, mul: x the data and the tuples, gn the
 * updates): [1, 3, 2]; 'sa' the second output.
 */
static void scatter_model(void)
{
	static const char *const names[4] = { "sa", "sm", "gn", "sn" };
	const enum dnnq_node_kind kinds[4] = {
		(enum dnnq_node_kind)dnnq_op_find("scatter_elements")->kind,
		(enum dnnq_node_kind)dnnq_op_find("scatter_elements")->kind,
		(enum dnnq_node_kind)dnnq_op_find("gather_nd")->kind,
		(enum dnnq_node_kind)dnnq_op_find("scatter_nd")->kind,
	};
	static const int32_t from[4] = { 0, 1, 2, 0 };
	struct seed s = { .io = {
		{ .name = "x", .dtype = DNNQ_DTYPE_F32, .ndim = 3, .dims = { 1, 3, 2 } },
		{ .name = "sn", .dtype = DNNQ_DTYPE_F32, .ndim = 3, .dims = { 1, 3, 2 }, .value = 4 },
		{ .name = "sa", .dtype = DNNQ_DTYPE_F32, .ndim = 3, .dims = { 1, 3, 2 }, .value = 1 },
	} };
	seed_nodes(&s, 4, names, kinds, from);
	for (int j = 0; j < 4; j++) {
		s.n[j].precision = DNNQ_PRECISION_FP32;
		s.n[j].ninputs = j == 2 ? 2 : 3;
		s.n[j].inputs[1] = s.n[j].inputs[2] = 0;
	}
	s.n[0].axis = 2;
	s.n[0].op = 1;
	s.n[1].axis = 1;
	s.n[1].op = 3;
	s.n[2].axis = 1;
	s.n[3].axis = 1;
	s.n[3].op = 2;
	s.n[3].inputs[2] = 3;
	seed_write(&s, "scatter.dnnq");
}

/* x f32 [1, 5, 7] -> registry kind k0 'names[0]' -> k1 'names[1]', both
 * fp32: the second node's output (of dims out) the first output, the first
 * node's ([1, 5, 7]) the second. */
static void fp32_pair(struct seed *s, const char *const *names, const char *k0, const char *k1,
                      const int64_t *out)
{
	const enum dnnq_node_kind kinds[2] = { (enum dnnq_node_kind)dnnq_op_find(k0)->kind,
	                                       (enum dnnq_node_kind)dnnq_op_find(k1)->kind };
	static const int32_t from[2] = { 0, 1 };
	*s = (struct seed){ .io = {
		{ .name = "x", .dtype = DNNQ_DTYPE_F32, .ndim = 3, .dims = { 1, 5, 7 } },
		{ .dtype = DNNQ_DTYPE_F32, .ndim = 3, .value = 2 },
		{ .dtype = DNNQ_DTYPE_F32, .ndim = 3, .dims = { 1, 5, 7 }, .value = 1 },
	} };
	memcpy(s->io[1].dims, out, 3 * sizeof *out);
	for (int k = 0; k < 2; k++)
		snprintf(s->io[2 - k].name, sizeof s->io[0].name, "%s", names[k]);
	seed_nodes(s, 2, names, kinds, from);
	for (int k = 0; k < 2; k++)
		s->n[k].precision = DNNQ_PRECISION_FP32;
}

/* lrn 'l' (axis 2, size 3) -> hardmax 'h' (axis 2): f32 [1, 5, 7] each
 * (a size or axis one mutation from hostile: k 65536 over the 7
 * channels). */
static void lrn_model(void)
{
	static const char *const names[2] = { "l", "h" };
	struct seed s;
	fp32_pair(&s, names, "lrn", "hardmax", (const int64_t[3]){ 1, 5, 7 });
	for (int k = 0; k < 2; k++)
		s.n[k].axis = 2;
	s.n[0].k = 3;
	memcpy(s.n[0].params, (const float[3]){ 1e-2f, 0.75f, 1.0f }, 3 * sizeof(float));
	seed_write(&s, "lrn.dnnq");
}

/* layernorm 'n' (axes 1..2, weight -1: a unit scale, no bias;
 * InstanceNormalization's) -> transpose 't' (0, 2, 1): t [1, 7, 5] (a
 * weight or bias one mutation from a bias without a scale, refused at
 * build). */
static void layernorm_model(void)
{
	static const char *const names[2] = { "n", "t" };
	struct seed s;
	fp32_pair(&s, names, "layernorm", "transpose", (const int64_t[3]){ 1, 7, 5 });
	s.n[0].axis = 1;
	s.n[0].params[0] = 1e-5f;
	s.n[1].ndim = 3;
	memcpy(s.n[1].dims, (const int64_t[3]){ 0, 2, 1 }, 3 * sizeof(int64_t));
	seed_write(&s, "layernorm-unit.dnnq");
}

/* Two serving models, the kinds above and the reshapes. */
static void models(void)
{
	static const enum fixture_model which[] = { FIXTURE_RELU64, FIXTURE_MULTI };
	struct dnnq_diag d = { "" };
	char path[4096];
	for (size_t i = 0; i < sizeof which / sizeof which[0]; i++) {
		dir("model", path, sizeof path);
		snprintf(path + strlen(path), sizeof path - strlen(path), "/%s.dnnq",
		         fixture_model_name(which[i]));
		if (fixture_model_write(which[i], path, &d))
			fail(path, d.msg);
	}
	kinds_model();
	reshape_model("reshape-onnx.dnnq", 12, (const int64_t[]){ 1, 0, -1 });
	reshape_model("reshape-negative.dnnq", 8, (const int64_t[]){ 1, -1, -16 });
	eltwise_model();
	argmax_model();
	topk_model();
	gather_grid_model();
	scatter_model();
	lrn_model();
	layernorm_model();
}

static void qtensor(const char *file, enum dnnq_dtype dt, unsigned precision, bool is_signed,
                    uint32_t ndim, const int64_t *dims, int axis)
{
	struct dnnq_qtensor t;
	uint8_t buf[4096];
	size_t n;
	dnnq_qtensor_init(&t);
	if (dnnq_qtensor_set_type(&t, dt, precision, is_signed) || dnnq_qtensor_resize(&t, ndim, dims))
		fail(file, "type / shape");
	for (size_t i = 0; i < dnnq_qtensor_numel(&t); i++) {
		if (dt == DNNQ_DTYPE_F32)   /* set: the record would carry heap garbage */
			((float *)t.data)[i] = 0.25f * (float)i - 0.5f;
		else
			dnnq_qtensor_set_int(&t, i, (int32_t)(i % 7) - (is_signed ? 3 : 0));
	}
	if (axis >= 0) {
		float s[16];
		int32_t z[16];
		for (int i = 0; i < 16; i++)
			s[i] = 0.01f * (float)(i + 1), z[i] = 0;
		if (dnnq_qtensor_set_qparams_axis(&t, (uint32_t)axis, (size_t)dims[axis], s, z))
			fail(file, "qparams");
	} else if (dt != DNNQ_DTYPE_F32 && dt != DNNQ_DTYPE_S32) {
		struct dnnq_qparams qp = { .scale = 0.05f, .zero_point = is_signed ? 0 : 128,
		                           .precision = (uint8_t)precision, .is_signed = is_signed };
		if (dnnq_qtensor_set_qparams(&t, &qp))
			fail(file, "qparams");
	}
	if (dnnq_qtensor_serialize(&t, buf, sizeof buf, &n))
		fail(file, "serialize");
	put("qtensor", file, buf, n);
	dnnq_qtensor_free(&t);
}

static void npy(const char *file, enum dnnq_dtype dt, const size_t *shape, unsigned ndim,
                const void *data)
{
	struct dnnq_diag d = { "" };
	uint8_t buf[4096];
	size_t n;
	if (dnnq_npy_encode(buf, sizeof buf, dt, shape, ndim, data, &n, &d))
		fail(file, d.msg);
	put("npy", file, buf, n);
}

static void configs(void)
{
	char buf[1 << 16];
	FILE *f = fopen("systemd/dnnqd.yaml", "rb");
	size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
	if (!f || !n)
		fail("systemd/dnnqd.yaml", "cannot read (run from the top of the tree)");
	fclose(f);
	put("config", "dnnqd.yaml", buf, n);
	static const char every[] =
		"listen:\n  path: /tmp/dnnq-fuzz.sock\n  mode: 0640\n  group: root\n"
		"workers:\n  cpus: [0]\n  spin_us: 1000\n"
		"limits:\n  max_clients: 17\n  max_session_bytes: 256MiB\n  max_inflight: 9\n"
		"  max_batch: 128\n"
		"access:\n  uids: [1234, 0]\n  users: [root]\n  gids: [4321]\n  groups: [\"root\"]\n"
		"models:\n  - name: resnet-50_v1.5\n    path: models/resnet.dnnq\n    max_batch: 100\n"
		"    threads: 1\n    warmup: false\n  - {name: digits, path: '/abs/digits.dnnq'}\n"
		"log:\n  level: warn\n";
	static const char flow[] =
		"{listen: {path: /run/x.sock}, workers: {cpus: \"0\"}, models: [], log: {level: debug}}\n";
	/* the keys every-key.yaml predates, and what the walk must refuse:
	 * aliases (a billion laughs), anchors and tags, a repeated key,
	 * nesting past CONF_DEPTH_MAX */
	static const char later[] =
		"limits:\n  max_sessions_per_uid: 4\n  max_bytes_per_uid: 16MiB\n"
		"access:\n  public_stats: true\n"
		"metrics:\n  textfile: /tmp/dnnq.prom\n  interval: 5\n"
		"models:\n  - name: fc\n    path: fc.dnnq\n    max_batch: 8\n"
		"    dynamic_batching:\n      max_queue_delay_us: 200\n"
		"      preferred_batch_size: [2, 4, 8]\n";
	static const char laughs[] =
		"models:\n  - &a [x, x, x, x, x, x, x, x, x]\n  - &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"  - &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n  - [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
	static const char tagged[] =
		"limits: !!map &l\n  max_clients: !!int 8\nworkers: {spin_us: &s 10}\n"
		"log: {level: !custom warn}\n";
	static const char twice[] =
		"limits:\n  max_clients: 8\n  max_clients: 9\nmodels:\n  - name: a\n"
		"    name: b\n    path: a.dnnq\n";
	char deep[512];
	size_t k = 0;
	for (unsigned i = 0; i < 80; i++)
		deep[k++] = '[';
	for (unsigned i = 0; i < 80; i++)
		deep[k++] = ']';
	deep[k++] = '\n';
	put("config", "every-key.yaml", every, sizeof every - 1);
	put("config", "flow.yaml", flow, sizeof flow - 1);
	put("config", "later-keys.yaml", later, sizeof later - 1);
	put("config", "laughs.yaml", laughs, sizeof laughs - 1);
	put("config", "tags-anchors.yaml", tagged, sizeof tagged - 1);
	put("config", "duplicate-keys.yaml", twice, sizeof twice - 1);
	put("config", "deep.yaml", deep, k);
}

/* Control inputs: an admission byte, then messages as [u16 length][bytes]. */
struct ctl {
	uint8_t b[1024];
	size_t n;
};

static void ctl_msg(struct ctl *c, const void *m, size_t len)
{
	c->b[c->n++] = (uint8_t)len;
	c->b[c->n++] = (uint8_t)(len >> 8);
	memcpy(c->b + c->n, m, len);
	c->n += len;
}

static struct dnnq_msg_hdr hdr(uint16_t type, uint32_t seq)
{
	return (struct dnnq_msg_hdr){ DNNQ_PROTO_MAGIC, DNNQ_PROTO_VERSION, type, seq, 0 };
}

static void controls(void)
{
	struct dnnq_msg_hello hello = { hdr(DNNQ_MSG_HELLO, 1), DNNQ_SHM_ABI_MAJOR,
	                                DNNQ_SHM_ABI_MINOR, 4, 0, 64 << 10 };
	struct dnnq_msg_open open = { .hdr = hdr(DNNQ_MSG_OPEN, 2) };
	struct dnnq_msg_open info = { .hdr = hdr(DNNQ_MSG_INFO, 3) };
	struct dnnq_msg_close close_ = { .hdr = hdr(DNNQ_MSG_CLOSE, 4) };
	struct dnnq_msg_hdr stats = hdr(DNNQ_MSG_STATS, 5);
	struct dnnq_msg_hdr reload = hdr(DNNQ_MSG_RELOAD, 6);
	struct dnnq_msg_open mstats = { .hdr = hdr(DNNQ_MSG_MODEL_STATS, 7) };
	snprintf(open.name, sizeof open.name, "relu64");
	const struct { const char *file; const void *m; size_t len; } after[] = {
		{ "hello", NULL, 0 },
		{ "hello-open", &open, sizeof open },
		{ "hello-info", &info, sizeof info },
		{ "hello-close", &close_, sizeof close_ },
		{ "hello-stats", &stats, sizeof stats },
		{ "hello-reload", &reload, sizeof reload },
		{ "hello-model-stats", &mstats, sizeof mstats },
	};
	for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
		struct ctl c = { .n = 1 };
		ctl_msg(&c, &hello, sizeof hello);
		if (after[i].m)
			ctl_msg(&c, after[i].m, after[i].len);
		put("control", after[i].file, c.b, c.n);
	}
	struct ctl c = { .b = { 1 }, .n = 1 };
	ctl_msg(&c, &hello, sizeof hello);
	put("control", "refused-hello", c.b, c.n);
}

/* Request inputs: a slot byte, then the descriptor: relu64 (id 0,
 * generation 1), U8 [batch, 64] in and out. */
static void requests(void)
{
	uint8_t b[1 + sizeof(struct dnnq_shm_request)];
	for (uint32_t batch = 1; batch <= 2; batch++) {
		struct dnnq_shm_request r = { 0, 1, batch, 1, 1, 0, { { 0 } } };
		for (int i = 0; i < 2; i++) {
			r.t[i] = (struct dnnq_shm_tensor){ .offset = (uint64_t)i * 128 * batch,
			                                  .bytes = 64u * batch,
			                                  .dtype = DNNQ_SHM_DTYPE_U8, .rank = 2,
			                                  .dims = { batch, 64 } };
		}
		b[0] = (uint8_t)(batch - 1);
		memcpy(b + 1, &r, sizeof r);
		put("request", batch == 1 ? "relu64-batch1" : "relu64-batch2", b, sizeof b);
	}
}

int main(int argc, char **argv)
{
	static const char usage[] =
		"usage: dnnq-fuzz-seeds DIR (e.g. tests/fuzz/corpus)\n"
		"Writes the seed corpora of the fuzz harnesses (tests/fuzz/) into\n"
		"DIR/HARNESS/: small valid inputs made by dnnq's own writers.\n"
		"  -h, --help    this text\n"
		"  --version     dnnq's version\n";
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("dnnq-fuzz-seeds %s\n", DNNQ_VERSION);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		if (argc < 2)
			fputs("dnnq-fuzz-seeds: no DIR (try --help)\n", stderr);
		else if (argv[1][0] == '-')
			dnnq_usage_error("dnnq-fuzz-seeds", "unrecognized option '%s'", argv[1]);
		else
			fputs("dnnq-fuzz-seeds: one DIR only (try --help)\n", stderr);
		return 2;
	}
	root = argv[1];
	if (mkdir(root, 0755) && errno != EEXIST)
		fail(root, strerror(errno));
	models();
	qtensor("u8-per-tensor", DNNQ_DTYPE_U8, 8, false, 2, (const int64_t[]){ 2, 3 }, -1);
	qtensor("s8-per-axis", DNNQ_DTYPE_S8, 8, true, 2, (const int64_t[]){ 4, 3 }, 0);
	qtensor("s32-bias", DNNQ_DTYPE_S32, 32, true, 1, (const int64_t[]){ 5 }, -1);
	qtensor("packed-4bit", DNNQ_DTYPE_PACKED, 4, true, 1, (const int64_t[]){ 9 }, -1);
	qtensor("f32", DNNQ_DTYPE_F32, 32, true, 1, (const int64_t[]){ 3 }, -1);
	npy("f32-2x3.npy", DNNQ_DTYPE_F32, (const size_t[]){ 2, 3 }, 2,
	    (const float[]){ 0.5f, -1, 2, 3.25f, 0, 1e-3f });
	npy("u8-4.npy", DNNQ_DTYPE_U8, (const size_t[]){ 4 }, 1, (const uint8_t[]){ 0, 1, 128, 255 });
	npy("s32-scalar.npy", DNNQ_DTYPE_S32, NULL, 0, (const int32_t[]){ -7 });
	npy("s8-1x2x2.npy", DNNQ_DTYPE_S8, (const size_t[]){ 1, 2, 2 }, 3,
	    (const int8_t[]){ -128, -1, 0, 127 });
	configs();
	controls();
	requests();
	return 0;
}
