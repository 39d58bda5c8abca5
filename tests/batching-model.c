/*
 * Fixture models for test_batching.c that the serving fixtures lack: one
 * whose graph takes fewer items than a config may ask for
 * (batching_past_the_graph), one with an s32 output (batched_s32), one
 * whose inputs are token ids (bad_ids_fail_alone). The engine's model
 * struct and the client's share a name, so this lives apart from the
 * suite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model.h"
#include "tools/serve-fixture.h"

/* m's bytes at path; m freed. */
static int write_model(struct dnnq_model *m, const char *path, struct dnnq_diag *d)
{
	void *out = NULL;
	size_t len = 0;
	int rc = dnnq_model_write(m, &out, &len, d);
	dnnq_model_free(m);
	FILE *f = rc ? NULL : fopen(path, "wb");
	if (!rc && (!f || fwrite(out, 1, len, f) != len))
		rc = dnnq_diag_set(d, DNNQ_E_IO, "%s: cannot write", path);
	if (f && fclose(f) && !rc)
		rc = dnnq_diag_set(d, DNNQ_E_IO, "%s: cannot write", path);
	free(out);
	return rc;
}

/* The fc1024 fixture, recording a batch of at most max_batch, at path. */
int batching_model_write(const char *path, uint32_t max_batch, struct dnnq_diag *d)
{
	struct dnnq_model m;
	void *buf = NULL;
	size_t len = 0;
	int rc = fixture_model_bytes(FIXTURE_FC1024, &buf, &len, d);
	if (!rc && !(rc = dnnq_model_read(buf, len, &m, d))) {
		m.max_batch = max_batch;
		rc = write_model(&m, path, d);
	}
	free(buf);
	return rc;
}

/* fc1024 emitting its s32 accumulators, at path. */
int batching_s32_model_write(const char *path, struct dnnq_diag *d)
{
	struct dnnq_model m;
	void *buf = NULL;
	size_t len = 0;
	int rc = fixture_model_bytes(FIXTURE_FC1024, &buf, &len, d);
	if (!rc && !(rc = dnnq_model_read(buf, len, &m, d))) {
		m.nodes[0].out_dtype = DNNQ_DTYPE_S32;
		m.outputs[0].dtype = DNNQ_DTYPE_S32;
		memset(&m.outputs[0].qp, 0, sizeof m.outputs[0].qp);
		rc = write_model(&m, path, d);
	}
	free(buf);
	return rc;
}

/* A token-id model: ids s32 [N, 4] -> embed (file code 49) of an f32 table
 * [8, 4] whose row r holds r * 10 + column -> y f32 [N, 4, 4], max batch
 * 8, at path. */
int batching_embed_model_write(const char *path, struct dnnq_diag *d)
{
	struct dnnq_model m = { .name = "embed", .producer = "tests", .max_batch = 8,
	                        .ninputs = 1, .noutputs = 1, .ntensors = 1, .nnodes = 1 };
	m.inputs = calloc(1, sizeof *m.inputs);
	m.outputs = calloc(1, sizeof *m.outputs);
	m.tensors = calloc(1, sizeof *m.tensors);
	m.nodes = calloc(1, sizeof *m.nodes);
	if (!m.inputs || !m.outputs || !m.tensors || !m.nodes) {
		dnnq_model_free(&m);
		return dnnq_diag_set(d, DNNQ_E_NOMEM, "out of memory");
	}
	m.inputs[0] = (struct dnnq_model_io){ .name = "ids", .dtype = DNNQ_DTYPE_S32, .ndim = 2,
	                                      .dims = { 1, 4 } };
	m.outputs[0] = (struct dnnq_model_io){ .name = "y", .dtype = DNNQ_DTYPE_F32, .ndim = 3,
	                                       .dims = { 1, 4, 4 }, .value = 1 };
	struct dnnq_model_tensor *t = &m.tensors[0];
	snprintf(t->name, sizeof t->name, "table");
	dnnq_qtensor_init(&t->t);
	int rc = dnnq_qtensor_set_type(&t->t, DNNQ_DTYPE_F32, 0, true);
	if (!rc)
		rc = dnnq_qtensor_resize(&t->t, 2, (const int64_t[]){ 8, 4 });
	for (int k = 0; !rc && k < 32; k++)
		((float *)t->t.data)[k] = (float)(k / 4 * 10 + k % 4);
	struct dnnq_model_node *n = &m.nodes[0];
	dnnq_model_node_init(n, 49, "emb");
	n->ninputs = 1;
	n->inputs[0] = 0;
	n->weight = 0;
	n->precision = DNNQ_PRECISION_FP32;
	n->out_dtype = DNNQ_DTYPE_F32;
	if (rc) {
		dnnq_model_free(&m);
		return dnnq_diag_set(d, rc, "table: %s", dnnq_strerror(rc));
	}
	return write_model(&m, path, d);
}
