/*
 * Model handles. dnnq_model_open sends OPEN and keeps a private copy of the
 * MODEL reply's signature (id, generation, max batch, each input's and
 * output's name, dtype, shape and quantization); requests are checked
 * against that copy and carry its (id, generation). dnnq_model_name lists
 * the daemon's models with INFO, dnnq_model_close sends CLOSE.
 *
 * A MODEL reply is validated as a whole before anything is kept: every
 * string NUL-terminated, counts within DNNQ_SHM_MAX_TENSORS, max_batch in
 * [1, DNNQ_SHM_MAX_BATCH], and per tensor a signature dtype (U8, S8, S32 or
 * F32), a rank in [1, 8], dims[0] = 1, the other dims >= 1 with a size that
 * cannot overflow at max_batch, and for U8 (S8) a finite positive scale and
 * a zero point in [0, 255] ([-128, 127]).
 *
 * The client keeps its open handles in a list so dnnq_close can free them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client-internal.h"

static const struct ctl_spec model_spec = {
	DNNQ_MSG_OPEN, DNNQ_MSG_MODEL, sizeof(struct dnnq_msg_model), false, false,
};
static const struct ctl_spec close_spec = {
	DNNQ_MSG_CLOSE, DNNQ_MSG_CLOSE, sizeof(struct dnnq_msg_hdr), false, false,
};

static int io_from_wire(struct client_io *io, const struct dnnq_wire_tensor *w,
                        uint32_t max_batch)
{
	uint64_t bytes;
	if (!ctl_name_ok(w->name, sizeof w->name))
		return DNNQ_E_PROTO;
	if (!dnnq_shm_dtype_size(w->dtype))
		return DNNQ_E_PROTO;
	if (w->rank < 1 || w->rank > DNNQ_SHM_MAX_RANK || w->dims[0] != 1)
		return DNNQ_E_PROTO;
	int64_t dims[DNNQ_SHM_MAX_RANK];
	memcpy(dims, w->dims, sizeof dims);
	dims[0] = max_batch;
	if (tensor_bytes(w->dtype, w->rank, dims, &bytes))
		return DNNQ_E_PROTO;
	bool u8 = w->dtype == DNNQ_SHM_DTYPE_U8, s8 = w->dtype == DNNQ_SHM_DTYPE_S8;
	if ((u8 || s8) && (!isfinite(w->scale) || !(w->scale > 0) ||
	                   w->zero_point < (s8 ? -128 : 0) || w->zero_point > (s8 ? 127 : 255)))
		return DNNQ_E_PROTO;
	memcpy(io->name, w->name, sizeof io->name);
	io->info = (struct dnnq_io_info){
		.name = io->name, .dtype = (enum dnnq_type)w->dtype, .rank = w->rank,
		.scale = w->scale, .zero_point = w->zero_point,
	};
	memcpy(io->info.dims, w->dims, sizeof io->info.dims);
	for (uint32_t k = w->rank; k < DNNQ_SHM_MAX_RANK; k++)
		io->info.dims[k] = 0;
	return 0;
}

/* The validated signature of a MODEL reply into m. */
static int model_from_reply(struct dnnq_model *m, const struct dnnq_msg_model *r)
{
	if (!ctl_name_ok(r->name, sizeof r->name) || r->n_inputs < 1 || r->n_outputs < 1 ||
	    r->n_inputs > DNNQ_SHM_MAX_TENSORS || r->n_outputs > DNNQ_SHM_MAX_TENSORS ||
	    r->n_inputs + r->n_outputs > DNNQ_SHM_MAX_TENSORS)
		return DNNQ_E_PROTO;
	if (r->max_batch < 1 || r->max_batch > DNNQ_SHM_MAX_BATCH)
		return DNNQ_E_PROTO;
	for (uint32_t i = 0; i < r->n_inputs + r->n_outputs; i++) {
		int rc = io_from_wire(&m->io[i], &r->t[i], r->max_batch);
		if (rc)
			return rc;
	}
	m->id = r->model_id;
	m->generation = r->generation;
	m->max_batch = r->max_batch;
	m->n_inputs = r->n_inputs;
	m->n_outputs = r->n_outputs;
	memcpy(m->name, r->name, sizeof m->name);
	return 0;
}

/* OPEN (name) or INFO (index): the validated reply into m. */
static int ask_model(struct dnnq_client *c, uint16_t type, const char *name, uint32_t index,
                     struct dnnq_model *m, uint32_t *n_models)
{
	struct ctl_spec spec = model_spec;
	spec.req_type = type;
	struct dnnq_msg_open req = { .index = index };
	if (name)
		strcpy(req.name, name);
	struct dnnq_msg_model rep;
	int rc = ctl_call(c, &spec, &req, sizeof req, &rep, NULL);
	if (rc == 0)
		rc = model_from_reply(m, &rep);
	if (rc == 0)
		*n_models = rep.n_models;
	return rc;
}

static int model_open_call(struct dnnq_client *c, const char *name, struct dnnq_model **out)
{
	if (out)
		*out = NULL;
	if (!out || !c || !name)
		return client_errorf(DNNQ_E_INVAL, "dnnq_model_open: %s is NULL", !out ? "out"
		                     : !c ? "the client" : "the name");
	size_t len = strlen(name);
	if (!len || len >= DNNQ_PROTO_NAME_MAX)
		return client_errorf(DNNQ_E_INVAL, "model '%.64s%s': a name of %zu bytes: dnnqd's"
		                     " are 1..%u", name, len > 64 ? "..." : "", len,
		                     DNNQ_PROTO_NAME_MAX - 1);
	struct dnnq_model *m = calloc(1, sizeof *m);
	if (!m)
		return DNNQ_E_NOMEM;
	uint32_t n_models;
	int rc = ask_model(c, DNNQ_MSG_OPEN, name, 0, m, &n_models);
	if (rc) {
		free(m);
		return rc;
	}
	m->client = c;
	pthread_mutex_lock(&c->ctl_lock);
	m->next = c->models;
	c->models = m;
	pthread_mutex_unlock(&c->ctl_lock);
	*out = m;
	return 0;
}

static int model_name_call(struct dnnq_client *c, uint32_t index, char *buf, size_t len);

/* The models c's daemon serves, quoted, as many as fit in buf ("'a', 'b'
 * and 3 more", "none"); false when the daemon does not answer. */
static bool served_names(struct dnnq_client *c, char *buf, size_t len)
{
	char name[DNNQ_PROTO_NAME_MAX];
	size_t at = 0;
	int n = model_name_call(c, 0, NULL, 0);
	snprintf(buf, len, "none");
	if (n == DNNQ_E_NOTFOUND)	/* serving nothing */
		return true;
	if (n < 0)
		return false;
	for (int i = 0; i < n; i++) {
		if (model_name_call(c, (uint32_t)i, name, sizeof name) < 0)
			return false;
		/* room for this name and for " and N more" after it */
		if (at + strlen(name) + 40 > len) {
			snprintf(buf + at, len - at, " and %d more", n - i);
			break;
		}
		at += (size_t)snprintf(buf + at, len - at, "%s'%s'", i ? ", " : "", name);
	}
	return true;
}

int dnnq_model_open(struct dnnq_client *c, const char *name, struct dnnq_model **out)
{
	char served[320];
	int rc = model_open_call(c, name, out);
	bool detailed = client_error_pending();
	if (rc == DNNQ_E_NOTFOUND && !detailed && served_names(c, served, sizeof served))
		client_errorf(rc, "model '%.64s': %s (dnnqd serves: %s)", name, dnnq_strerror(rc),
		              served);
	else if (rc < 0 && !detailed && name)
		client_errorf(rc, "model '%.64s': %s%s", name, dnnq_strerror(rc), client_hint(rc));
	return client_status(rc, "dnnq_model_open");
}

void dnnq_model_close(struct dnnq_model *m)
{
	if (!m)
		return;
	struct dnnq_client *c = m->client;
	pthread_mutex_lock(&c->ctl_lock);
	struct dnnq_model **p = &c->models;
	while (*p && *p != m)
		p = &(*p)->next;
	if (*p)
		*p = m->next;
	pthread_mutex_unlock(&c->ctl_lock);
	struct dnnq_msg_close req = { .model_id = m->id };
	struct dnnq_msg_hdr rep;
	ctl_call(c, &close_spec, &req, sizeof req, &rep, NULL);	/* nothing to do if it fails */
	free(m);
}

void model_free_all(struct dnnq_client *c)
{
	while (c->models) {
		struct dnnq_model *m = c->models;
		c->models = m->next;
		free(m);
	}
}

static int model_name_call(struct dnnq_client *c, uint32_t index, char *buf, size_t len)
{
	if (!c || (!buf && len))
		return DNNQ_E_INVAL;
	struct dnnq_model m;
	uint32_t n_models;
	int rc = ask_model(c, DNNQ_MSG_INFO, NULL, index, &m, &n_models);
	if (rc)
		return rc;
	if (!ctl_models_ok(n_models, index))
		return DNNQ_E_PROTO;
	size_t need = strlen(m.name) + 1;
	if (len && need > len)
		return DNNQ_E_NOSPACE;
	if (len)
		memcpy(buf, m.name, need);
	return (int)n_models;
}

int dnnq_model_name(struct dnnq_client *c, uint32_t index, char *buf, size_t len)
{
	return client_status(model_name_call(c, index, buf, len), "dnnq_model_name");
}

const char *dnnq_model_name_of(const struct dnnq_model *m)
{
	return m ? m->name : NULL;
}

uint32_t dnnq_model_num_inputs(const struct dnnq_model *m)
{
	return m ? m->n_inputs : 0;
}

uint32_t dnnq_model_num_outputs(const struct dnnq_model *m)
{
	return m ? m->n_outputs : 0;
}

uint32_t dnnq_model_max_batch(const struct dnnq_model *m)
{
	return m ? m->max_batch : 0;
}

uint32_t dnnq_model_generation(const struct dnnq_model *m)
{
	return m ? m->generation : 0;
}

int model_io_call(const char *fn, const struct dnnq_model *m, enum dnnq_io_kind kind,
                  uint32_t i, struct dnnq_io_info *out)
{
	if (!m || !out)
		return client_errorf(DNNQ_E_INVAL, "%s: %s is NULL", fn, !m ? "the model" : "out");
	if (kind != DNNQ_INPUT && kind != DNNQ_OUTPUT)
		return client_errorf(DNNQ_E_INVAL, "%s: kind %d: DNNQ_INPUT or DNNQ_OUTPUT", fn,
		                     (int)kind);
	uint32_t n = kind == DNNQ_INPUT ? m->n_inputs : m->n_outputs;
	if (i >= n)
		return client_errorf(DNNQ_E_RANGE, "%s: model '%s' has %u %s%s: index %u", fn,
		                     m->name, n, kind == DNNQ_INPUT ? "input" : "output",
		                     n == 1 ? "" : "s", i);
	*out = m->io[(kind == DNNQ_INPUT ? 0 : m->n_inputs) + i].info;
	return 0;
}

int dnnq_model_io(const struct dnnq_model *m, enum dnnq_io_kind kind, uint32_t i,
                  struct dnnq_io_info *out)
{
	return client_status(model_io_call("dnnq_model_io", m, kind, i, out), "dnnq_model_io");
}
