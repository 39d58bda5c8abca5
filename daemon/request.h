/*
 * daemon/request.h — one request, once a worker holds a private copy of
 * its descriptor that dnnq_shm_desc_copy_validate has checked against the
 * region: matched against the model table the worker loaded for it
 * (dnnqd_request_check), then run on the worker's own graph of the version
 * that serves it (struct dnnqd_runner).
 *
 * A runner belongs to one worker thread: its index picks the worker's
 * graph in every version (daemon/models.h), and it holds the private
 * buffers that F32 <-> U8 conversions go through.
 */
#ifndef DNNQ_DAEMON_REQUEST_H
#define DNNQ_DAEMON_REQUEST_H

#include "daemon/models.h"
#include "daemon/team.h"

/* The request against the table: the id served, a generation the version
 * serves (models.h: [sig_gen, generation], else DNNQ_E_MODEL_CHANGED),
 * tensor counts, batch, each tensor's rank, dims and dtype, and no output
 * overlapping an input or another output. 0 or the status to complete the
 * slot with. */
int dnnqd_request_check(const struct dnnqd_models *ms, const struct dnnq_shm_request *r,
                        struct dnnq_diag *diag);

struct dnnqd_runner_buf {
	void *p;
	size_t cap;
};

struct dnnqd_runner {
	enum dnnq_isa isa;
	unsigned index;                 /* the worker's: graphs[index] of each version */
	/* tensor i's U8 buffer when the request has F32 where the model has U8;
	 * grown on demand, never shrunk */
	struct dnnqd_runner_buf conv[DNNQ_SHM_MAX_TENSORS];
	/* the workers a request of a model with threads > 1 runs on (team.h);
	 * dnnqd_team_init'ed by the worker */
	struct dnnqd_team team;
	/* tensor i of a gathered batch (dynamic batching): every request's
	 * items one after the other, in the graph's dtype */
	struct dnnqd_runner_buf stage[DNNQ_SHM_MAX_TENSORS];
	/* bumped before each node of a graph run and each round of a batch's
	 * gathering (dnnqd_runner_step; written by the worker alone, read by
	 * the control loop's watchdog): a worker in one long request still
	 * shows life, where its QSBR epoch moves only between requests */
	_Atomic uint64_t steps;
};

void dnnqd_runner_init(struct dnnqd_runner *r, unsigned worker_index);
void dnnqd_runner_destroy(struct dnnqd_runner *r);
/* One more step of r's worker (the steps field). */
void dnnqd_runner_step(struct dnnqd_runner *r);

/* Runs a request that passed dnnqd_request_check against ms, reading
 * inputs from and writing outputs to `arena` (zero copy when the dtypes
 * match); adds the bytes of converted tensors to *copied. 0 or a DNNQ_E_*
 * status. */
int dnnqd_runner_run(struct dnnqd_runner *r, const struct dnnqd_models *ms, uint8_t *arena,
                     const struct dnnq_shm_request *req, uint64_t *copied);

/* One request of a gathered batch (daemon/worker.c): its private
 * descriptor, the arena it names, and what the worker needs to complete
 * it. */
struct dnnqd_session;
struct dnnqd_job {
	struct dnnq_shm_request req;
	uint8_t *arena;
	struct dnnqd_session *s;
	uint32_t slot;
	int status;
	uint32_t model_id;              /* as sent (req.model_id: UINT32_MAX when the table
	                                   serves no such id, so nothing counts on it) */
	uint32_t stats;                 /* its model's counters row (dnnqd_model.stats) */
	bool recheck;                   /* failed its check against a table a reload has
	                                   replaced since: checked again (worker.c) */
	bool joined;                    /* rides on the worker another request claimed */
	bool published;                 /* its result is in its slot (worker.c) */
	uint64_t submit, t0;            /* the slot's stamp; when its check began */
	uint64_t copied;
};

/* Runs n jobs that passed dnnqd_request_check against ms for one model,
 * `batch` items in all (<= its max_batch), as one graph run: inputs
 * gathered into the runner's staging buffers (quantized there when F32),
 * outputs scattered back into each job's arena; one job runs in place
 * (dnnqd_runner_run). Adds each job's copied bytes to its `copied`. 0 or
 * the status of every job. */
int dnnqd_runner_run_batch(struct dnnqd_runner *r, const struct dnnqd_models *ms,
                           struct dnnqd_job *jobs, unsigned n, uint32_t batch);

#endif
