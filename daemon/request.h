/*
 * daemon/request.h — one request, once a worker holds a private copy of
 * its descriptor that dnnq_shm_desc_copy_validate has checked against the
 * region: matched against the model's signature (dnnqd_request_check), then
 * run on the worker's own graph of that model (struct dnnqd_runner).
 *
 * A runner belongs to one worker thread. It holds, for every model, a graph
 * built from the parsed model (a graph is stateful: its plan, its bound
 * buffers and its activation arena are per run, so threads cannot share
 * one; the cost is the packed weights and the arena once per worker and
 * model), and the private buffers that F32 <-> U8 conversions go through.
 */
#ifndef DNNQ_DAEMON_REQUEST_H
#define DNNQ_DAEMON_REQUEST_H

#include "daemon/models.h"

/* The request against the model table: id, generation, tensor counts,
 * batch, each tensor's rank, dims and dtype, and no output overlapping an
 * input or another output. 0 or the status to complete the slot with. */
int dnnqd_request_check(const struct dnnqd_models *ms, const struct dnnq_shm_request *r,
                        struct dnnq_diag *diag);

struct dnnqd_runner_graph {
	struct dnnq_graph *g;
	uint32_t batch;                 /* the current plan; 0: none */
};

struct dnnqd_runner_buf {
	void *p;
	size_t cap;
};

struct dnnqd_runner {
	enum dnnq_isa isa;
	const struct dnnqd_models *models;
	struct dnnqd_runner_graph *graphs;      /* one per model */
	/* tensor i's U8 buffer when the request has F32 where the model has U8;
	 * grown on demand, never shrunk */
	struct dnnqd_runner_buf conv[DNNQ_SHM_MAX_TENSORS];
};

/* Builds every model's graph, plans it for batch 1 and runs it once on
 * zeros (so the first request pays no allocation). */
int dnnqd_runner_init(struct dnnqd_runner *r, const struct dnnqd_models *ms,
                      struct dnnq_diag *diag);
void dnnqd_runner_destroy(struct dnnqd_runner *r);

/* Runs a request that passed dnnqd_request_check, reading inputs from and
 * writing outputs to `arena` (zero copy when the dtypes match); adds the
 * bytes of converted tensors to *copied. 0 or a DNNQ_E_* status. */
int dnnqd_runner_run(struct dnnqd_runner *r, uint8_t *arena, const struct dnnq_shm_request *req,
                     uint64_t *copied);

#endif
