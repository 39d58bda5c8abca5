/*
 * The model registry (models.h). Loading is split so that the file I/O is
 * one function (dnnqd_models_load, plain read(2) into one buffer: the
 * io_uring loader replaces just that) and everything after it works on
 * bytes (dnnqd_models_add), which is also what the tests feed.
 *
 * A model is accepted only if the daemon can serve it: it parses, it
 * builds into a graph, its inputs plus outputs fit a request (16 tensors),
 * every tensor is U8 or F32 with a rank the wire carries, its declared
 * signature says what the graph computes, and a tensor of max_batch items
 * has a size that fits in memory arithmetic. A tensor's name is the one
 * the signature declares (an output's graph tensor is named after the node
 * that makes it); everything else comes from the graph, which is what runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/models.h"

/* The declared signature and the graph must agree on what a client sends
 * and gets; dims[0] is the batch, symbolic in both. */
static int check_declared(const struct dnnq_model_io *decl, const struct dnnq_tensor_info *ti,
                          struct dnnq_diag *d)
{
	bool same = decl->dtype == ti->dtype && decl->ndim == ti->ndim;
	for (uint32_t k = 1; same && k < ti->ndim; k++)
		same = decl->dims[k] == ti->dims[k];
	if (same && ti->dtype == DNNQ_DTYPE_U8)
		same = decl->qp.scale == ti->qp.scale && decl->qp.zero_point == ti->qp.zero_point;
	return same ? 0 : dnnq_diag_set(d, DNNQ_E_FORMAT, "'%s': the signature does not match"
	                                " the graph's tensor '%s' (dtype, dims or qparams)",
	                                decl->name, ti->name);
}

/* io from the declared name and the graph's tensor; dims[0] becomes 1. */
static int signature_io(const struct dnnq_model_io *decl, const struct dnnq_tensor_info *ti,
                        uint32_t max_batch, struct dnnqd_io *io, struct dnnq_diag *d)
{
	memset(io, 0, sizeof *io);
	if (ti->dtype != DNNQ_DTYPE_U8 && ti->dtype != DNNQ_DTYPE_F32)
		return dnnq_diag_set(d, DNNQ_E_DTYPE, "'%s': dtype %s: only u8 and f32 are served",
		                     decl->name, dnnq_dtype_name(ti->dtype));
	if (ti->ndim < 1 || ti->ndim > DNNQ_SHM_MAX_RANK)
		return dnnq_diag_set(d, DNNQ_E_SHAPE, "'%s': rank %u: must be 1..%u", decl->name,
		                     ti->ndim, DNNQ_SHM_MAX_RANK);
	int rc = check_declared(decl, ti, d);
	if (rc)
		return rc;
	snprintf(io->name, sizeof io->name, "%s", decl->name);
	io->dtype = ti->dtype;
	io->qp = ti->qp;
	io->rank = ti->ndim;
	io->dims[0] = 1;
	size_t n = 1, bytes;
	for (uint32_t k = 1; k < ti->ndim; k++) {
		io->dims[k] = ti->dims[k];
		if (!dnnq_mul_size(n, (size_t)ti->dims[k], &n))
			return dnnq_diag_set(d, DNNQ_E_SHAPE, "'%s': element count overflows", decl->name);
	}
	if (!dnnq_mul_size(n, (size_t)max_batch * sizeof(float), &bytes))
		return dnnq_diag_set(d, DNNQ_E_SHAPE, "'%s': %u items overflow a size", decl->name,
		                     max_batch);
	io->numel = n;
	return 0;
}

/* The graph's inputs and outputs are the model's, in the same order
 * (dnnq_model_build adds them so). */
static int signature(struct dnnqd_model *m, struct dnnq_diag *d)
{
	struct dnnq_graph *g;
	int rc = dnnq_model_build(&m->parsed, dnnq_isa_best(), &g, d);
	if (rc)
		return rc;
	size_t ni = dnnq_graph_num_inputs(g), no = dnnq_graph_num_outputs(g);
	if (ni + no > DNNQ_SHM_MAX_TENSORS) {
		rc = dnnq_diag_set(d, DNNQ_E_UNSUPPORTED, "%zu inputs + %zu outputs: a request"
		                   " carries at most %u tensors", ni, no, DNNQ_SHM_MAX_TENSORS);
		goto out;
	}
	m->n_inputs = (uint32_t)ni;
	m->n_outputs = (uint32_t)no;
	for (size_t i = 0; i < ni + no && !rc; i++) {
		struct dnnq_tensor_info ti;
		const struct dnnq_model_io *decl = i < ni ? &m->parsed.inputs[i]
		                                          : &m->parsed.outputs[i - ni];
		rc = i < ni ? dnnq_graph_input_info(g, i, &ti) : dnnq_graph_output_info(g, i - ni, &ti);
		if (!rc)
			rc = signature_io(decl, &ti, m->max_batch, &m->io[i], d);
	}
out:
	dnnq_graph_destroy(g);
	return rc;
}

int dnnqd_models_add(struct dnnqd_models *ms, const char *name, const void *buf, size_t len,
                     uint32_t max_batch, struct dnnq_diag *diag)
{
	if (!name[0] || strlen(name) >= DNNQ_PROTO_NAME_MAX)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "model name '%s': must have 1..%u bytes",
		                     name, DNNQ_PROTO_NAME_MAX - 1);
	if (dnnqd_models_find(ms, name) >= 0)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "model name '%s': used twice", name);
	if (max_batch < 1 || max_batch > DNNQ_SHM_MAX_BATCH)
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "max_batch %u: must be 1..%u", max_batch,
		                     DNNQ_SHM_MAX_BATCH);
	struct dnnqd_model *a = realloc(ms->m, (ms->n + 1) * sizeof *a);
	if (!a)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "model '%s': out of memory", name);
	ms->m = a;
	struct dnnqd_model *m = &a[ms->n];
	memset(m, 0, sizeof *m);
	strcpy(m->name, name);
	m->generation = 1;
	m->max_batch = max_batch;
	int rc = dnnq_model_read(buf, len, &m->parsed, diag);
	if (rc)
		return rc;
	if ((rc = signature(m, diag))) {
		dnnq_model_free(&m->parsed);
		return rc;
	}
	ms->n++;
	return 0;
}

/* The whole file into a malloc'd buffer. */
static int read_file(const char *path, void **buf, size_t *len, struct dnnq_diag *d)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dnnq_diag_set(d, DNNQ_E_IO, "%s: cannot open: %s", path, strerror(errno));
	int rc = fstat(fd, &st) ? dnnq_diag_set(d, DNNQ_E_IO, "%s: fstat: %s", path, strerror(errno))
	                        : 0;
	if (!rc && !S_ISREG(st.st_mode))
		rc = dnnq_diag_set(d, DNNQ_E_IO, "%s: not a regular file", path);
	else if (!rc && !(b = malloc(st.st_size ? (size_t)st.st_size : 1)))
		rc = dnnq_diag_set(d, DNNQ_E_NOMEM, "%s: %lld bytes: out of memory", path,
		                   (long long)st.st_size);
	while (!rc && got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = dnnq_diag_set(d, DNNQ_E_IO, "%s: read: %s", path,
			                   n ? strerror(errno) : "file shrank while read");
		else
			got += (size_t)n;
	}
	close(fd);
	if (rc) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = got;
	return 0;
}

int dnnqd_models_load(struct dnnqd_models *ms, const char *name, const char *path,
                      uint32_t max_batch, struct dnnq_diag *diag)
{
	void *buf = NULL;
	size_t len = 0;
	int rc = read_file(path, &buf, &len, diag);
	if (rc)
		return rc;
	struct dnnq_diag why = { "" };
	rc = dnnqd_models_add(ms, name, buf, len, max_batch, &why);
	free(buf);
	return rc ? dnnq_diag_set(diag, rc, "%s: %s", path, why.msg) : 0;
}

void dnnqd_models_free(struct dnnqd_models *ms)
{
	for (uint32_t i = 0; i < ms->n; i++)
		dnnq_model_free(&ms->m[i].parsed);
	free(ms->m);
	ms->m = NULL;
	ms->n = 0;
}

int dnnqd_models_find(const struct dnnqd_models *ms, const char *name)
{
	for (uint32_t i = 0; i < ms->n; i++)
		if (!strcmp(ms->m[i].name, name))
			return (int)i;
	return -1;
}

void dnnqd_model_describe(const struct dnnqd_models *ms, uint32_t id, struct dnnq_msg_model *out)
{
	const struct dnnqd_model *m = &ms->m[id];
	memset((char *)out + sizeof out->hdr, 0, sizeof *out - sizeof out->hdr);
	out->model_id = id;
	out->generation = m->generation;
	out->n_inputs = m->n_inputs;
	out->n_outputs = m->n_outputs;
	out->max_batch = m->max_batch;
	out->n_models = ms->n;
	strcpy(out->name, m->name);
	for (uint32_t i = 0; i < m->n_inputs + m->n_outputs; i++) {
		const struct dnnqd_io *io = &m->io[i];
		struct dnnq_wire_tensor *t = &out->t[i];
		strcpy(t->name, io->name);
		t->dtype = io->dtype;	/* enum dnnq_shm_dtype has the engine's values */
		t->rank = io->rank;
		memcpy(t->dims, io->dims, sizeof t->dims);
		if (io->dtype == DNNQ_DTYPE_U8) {
			t->scale = io->qp.scale;
			t->zero_point = io->qp.zero_point;
		}
	}
}
