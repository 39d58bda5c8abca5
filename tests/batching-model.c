/*
 * A fixture model whose graph takes fewer items than a config may ask for
 * (test_batching.c, batching_past_the_graph): the engine's model struct
 * and the client's share a name, so this lives apart from the suite.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine/model.h"
#include "tools/serve-fixture.h"

/* The fc1024 fixture, recording a batch of at most max_batch, at path. */
int batching_model_write(const char *path, uint32_t max_batch, struct dnnq_diag *d)
{
	struct dnnq_model m;
	void *buf = NULL, *out = NULL;
	size_t len = 0;
	int rc = fixture_model_bytes(FIXTURE_FC1024, &buf, &len, d);
	if (!rc && !(rc = dnnq_model_read(buf, len, &m, d))) {
		m.max_batch = max_batch;
		rc = dnnq_model_write(&m, &out, &len, d);
		dnnq_model_free(&m);
	}
	FILE *f = rc ? NULL : fopen(path, "wb");
	if (!rc && (!f || fwrite(out, 1, len, f) != len))
		rc = dnnq_diag_set(d, DNNQ_E_IO, "%s: cannot write", path);
	if (f && fclose(f) && !rc)
		rc = dnnq_diag_set(d, DNNQ_E_IO, "%s: cannot write", path);
	free(buf);
	free(out);
	return rc;
}
