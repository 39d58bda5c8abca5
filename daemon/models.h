/*
 * daemon/models.h — the models dnnqd serves: each one's parsed description
 * (which every worker builds its own graph from) and its signature, the
 * inputs and outputs a request must match, in both the engine's terms and
 * the wire's. The table is fixed once serving starts; a model's id is its
 * index and its generation is 1 until hot reload exists.
 */
#ifndef DNNQ_DAEMON_MODELS_H
#define DNNQ_DAEMON_MODELS_H

#include <stdint.h>

#include "engine/model.h"
#include "shm/dnnq_proto.h"

/* One input or output as requests see it: dims[0] = 1 stands for the batch. */
struct dnnqd_io {
	char name[DNNQ_PROTO_NAME_MAX];
	enum dnnq_dtype dtype;          /* U8 or F32 */
	struct dnnq_qparams qp;         /* U8 */
	uint32_t rank;
	int64_t dims[DNNQ_SHM_MAX_RANK];
	size_t numel;                   /* elements of one batch item */
};

struct dnnqd_model {
	char name[DNNQ_PROTO_NAME_MAX];
	uint32_t generation;
	uint32_t max_batch;
	uint32_t n_inputs, n_outputs;
	struct dnnqd_io io[DNNQ_SHM_MAX_TENSORS];   /* inputs, then outputs */
	/* Kept for the workers' graphs (and the reloads to come): the
	 * weights stay in memory once more beside every worker's packed copy. */
	struct dnnq_model parsed;
};

struct dnnqd_models {
	struct dnnqd_model *m;
	uint32_t n;
};

/* Parses a .dnnq image, builds it once (so a model that cannot be served
 * fails here, not in a worker) and records its signature under `name`. */
int dnnqd_models_add(struct dnnqd_models *ms, const char *name, const void *buf, size_t len,
                     uint32_t max_batch, struct dnnq_diag *diag);
/* The same from a file; every diag line starts with "path: ". This is the
 * one place that reads model files (plain read(2) today). */
int dnnqd_models_load(struct dnnqd_models *ms, const char *name, const char *path,
                      uint32_t max_batch, struct dnnq_diag *diag);
void dnnqd_models_free(struct dnnqd_models *ms);

/* The model's index, or -1. */
int dnnqd_models_find(const struct dnnqd_models *ms, const char *name);
/* Everything of a MODEL reply but the header. */
void dnnqd_model_describe(const struct dnnqd_models *ms, uint32_t id, struct dnnq_msg_model *out);

#endif
