/*
 * Fixture models for test_batching.c that the serving fixtures lack: one
 * whose graph takes fewer items than a config may ask for
 * (batching_past_the_graph), one with an s32 output (batched_s32). The engine's model struct and the client's share a name,
 * so this lives apart from the suite.
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
