/*
 * Matching a request against its model, and running it (request.h).
 *
 * The worker loads the table once per request and passes it to both
 * calls, so the check and the run see the same version even when a reload
 * publishes another table meanwhile; that table stays allocated until the
 * worker's next quiescent point (daemon/qsbr.h).
 *
 * The descriptor is the worker's private copy, so every check here is
 * final: a client rewriting its slot meanwhile changes nothing. What it can
 * still change is tensor data in the arena while the graph reads or writes
 * it. That must only change its own results, which takes more than "every
 * byte is a valid U8 value": a kernel that reads a value twice, or derives
 * an index from it, could be steered between the two reads (Softmax's
 * max - x indexed its exp table before 1 KiB of the daemon's heap). The
 * rule is the graph's: a node that needs its inputs stable
 * (node_ops.stable_inputs) reads a private copy of any graph input or
 * output it takes (engine/graph.c, stage_inputs), and every other kernel
 * reads each value once and derives no address from it. F32 values enter
 * through dnnq_quantize, whose saturation maps NaN to qmin and +-Inf to the
 * ends of the range before the float-to-int conversion (quant-scalar.h
 * dnnq_saturate_rne, maxps/minps in the AVX2 kernel), so no value a client
 * writes makes that conversion undefined. Outputs never overlap inputs or
 * each other, so a graph never reads a buffer it is writing through
 * another name.
 *
 * A gathered batch (dynamic batching: dnnqd_runner_run_batch) is one
 * graph run over the worker's private staging buffers: each request's
 * inputs are copied (or quantized) into its rows and its outputs copied
 * (or dequantized) back out of them, so the graph never sees client
 * memory at all, and a batch of one request runs in place as above.
 *
 * Cost on the serving path: a few comparisons per tensor (the overlap test
 * pairs each output with the tensors before it: at most 120 pairs of 16
 * tensors), a re-plan only when the batch changes, no allocation unless a
 * conversion buffer must grow, and no copy when the dtypes match.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "daemon/request.h"

static int check_tensor(const struct dnnqd_model *m, const struct dnnq_shm_request *r,
                        unsigned i, struct dnnq_diag *d)
{
	const struct dnnq_shm_tensor *t = &r->t[i];
	const struct dnnqd_io *s = &m->io[i];
	if (t->rank != s->rank)
		return dnnq_diag_set(d, DNNQ_E_SHAPE, "tensor[%u].rank %u: '%s' has rank %u", i,
		                     t->rank, s->name, s->rank);
	if (t->dims[0] != (int64_t)r->batch)
		return dnnq_diag_set(d, DNNQ_E_SHAPE, "tensor[%u].dims[0] %lld: the batch is %u", i,
		                     (long long)t->dims[0], r->batch);
	for (uint32_t k = 1; k < t->rank; k++)
		if (t->dims[k] != s->dims[k])
			return dnnq_diag_set(d, DNNQ_E_SHAPE, "tensor[%u].dims[%u] %lld: '%s' has %lld",
			                     i, k, (long long)t->dims[k], s->name, (long long)s->dims[k]);
	if (t->dtype != (uint32_t)s->dtype &&
	    !(s->dtype == DNNQ_DTYPE_U8 && t->dtype == DNNQ_SHM_DTYPE_F32))
		return dnnq_diag_set(d, DNNQ_E_DTYPE, "tensor[%u].dtype %u: '%s' takes %s%s", i,
		                     t->dtype, s->name, dnnq_dtype_name(s->dtype),
		                     s->dtype == DNNQ_DTYPE_U8 ? " or f32" : "");
	return 0;
}

/* The arena extents are inside the arena (checked), so the sums cannot
 * overflow. */
static bool overlap(const struct dnnq_shm_tensor *a, const struct dnnq_shm_tensor *b)
{
	return a->offset < b->offset + b->bytes && b->offset < a->offset + a->bytes;
}

static int check_overlaps(const struct dnnq_shm_request *r, struct dnnq_diag *d)
{
	for (unsigned o = r->n_inputs; o < r->n_inputs + r->n_outputs; o++)
		for (unsigned j = 0; j < o; j++)
			if (overlap(&r->t[o], &r->t[j]))
				return dnnq_diag_set(d, DNNQ_E_INVAL, "tensor[%u]: an output overlapping"
				                     " tensor[%u]", o, j);
	return 0;
}

/* The version serving the request's (id, generation), or why none does. */
static int check_model(const struct dnnqd_models *ms, const struct dnnq_shm_request *r,
                       const struct dnnqd_model **out, struct dnnq_diag *d)
{
	if (r->model_id >= ms->n)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "model_id %u: the daemon has given out %u ids",
		                     r->model_id, ms->n);
	const struct dnnqd_model *m = ms->m[r->model_id];
	if (!m)
		return dnnq_diag_set(d, DNNQ_E_NOTFOUND, "model_id %u: no longer served",
		                     r->model_id);
	if (r->model_gen < m->sig_gen || r->model_gen > m->generation)
		return dnnq_diag_set(d, DNNQ_E_MODEL_CHANGED, "model_gen %u: '%s' is at generation"
		                     " %u, with this signature since %u", r->model_gen, m->name,
		                     m->generation, m->sig_gen);
	*out = m;
	return 0;
}

int dnnqd_request_check(const struct dnnqd_models *ms, const struct dnnq_shm_request *r,
                        struct dnnq_diag *d)
{
	const struct dnnqd_model *m = NULL;
	int rc = check_model(ms, r, &m, d);
	if (rc)
		return rc;
	if (r->n_inputs != m->n_inputs || r->n_outputs != m->n_outputs)
		return dnnq_diag_set(d, DNNQ_E_INVAL, "n_inputs %u, n_outputs %u: '%s' has %u and %u",
		                     r->n_inputs, r->n_outputs, m->name, m->n_inputs, m->n_outputs);
	if (r->batch < 1 || r->batch > m->max_batch)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "batch %u: outside [1, %u]", r->batch,
		                     m->max_batch);
	for (unsigned i = 0; i < r->n_inputs + r->n_outputs; i++) {
		if ((rc = check_tensor(m, r, i, d)))
			return rc;
	}
	return check_overlaps(r, d);
}

static int grow(struct dnnqd_runner_buf *b, size_t bytes)
{
	if (bytes <= b->cap)
		return 0;
	void *p = dnnq_aligned_alloc(bytes);
	if (!p)
		return DNNQ_E_NOMEM;
	free(b->p);
	b->p = p;
	b->cap = bytes;
	return 0;
}

void dnnqd_runner_init(struct dnnqd_runner *r, unsigned worker_index)
{
	memset(r, 0, sizeof *r);
	r->isa = dnnq_isa_best();
	r->index = worker_index;
}

void dnnqd_runner_destroy(struct dnnqd_runner *r)
{
	for (unsigned i = 0; i < DNNQ_SHM_MAX_TENSORS; i++) {
		free(r->conv[i].p);
		free(r->stage[i].p);
	}
	memset(r, 0, sizeof *r);
}

void dnnqd_runner_step(struct dnnqd_runner *r)
{
	/* one writer: no locked read-modify-write on the serving path */
	atomic_store_explicit(&r->steps, atomic_load_explicit(&r->steps, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

/* dnnq_graph_run_stoppable's callback: a step before each node, never a
 * stop (what runs is finished, SIGTERM included). */
static bool step(void *arg)
{
	dnnqd_runner_step(arg);
	return false;
}

/* Where the graph reads or writes tensor i: the arena itself, or tensor
 * i's conversion buffer when the request has F32 where the model has U8. */
static int bind(struct dnnqd_runner *r, const struct dnnqd_io *io,
                const struct dnnq_shm_tensor *t, unsigned i, uint8_t *arena, void **buf)
{
	*buf = arena + t->offset;
	if (t->dtype == (uint32_t)io->dtype)
		return 0;
	int rc = grow(&r->conv[i], t->bytes / sizeof(float));
	*buf = r->conv[i].p;
	return rc;
}

/* An F32 input quantized into its buffer, or an output dequantized out of
 * it; nothing when the dtypes match. */
static int convert(struct dnnqd_runner *r, const struct dnnqd_io *io,
                   const struct dnnq_shm_tensor *t, uint8_t *arena, void *buf, bool input,
                   uint64_t *copied)
{
	if (t->dtype == (uint32_t)io->dtype)
		return 0;
	float *x = (float *)(void *)(arena + t->offset);
	size_t n = t->bytes / sizeof(float);
	*copied += t->bytes;
	return input ? dnnq_quantize(r->isa, x, buf, DNNQ_DTYPE_U8, n, &io->qp)
	             : dnnq_dequantize(r->isa, buf, DNNQ_DTYPE_U8, x, n, &io->qp);
}

/* The worker's graph of m, planned for `batch` items, and the executor
 * that runs it: split into the model's thread count, whoever joins
 * (team.h). */
static int planned(struct dnnqd_runner *r, const struct dnnqd_model *m, uint32_t batch,
                   struct dnnqd_graph_slot **out, struct dnnq_executor *ex)
{
	if (r->index >= m->ngraphs)
		return DNNQ_E_INVAL;
	/* only this worker touches its slot of the (otherwise immutable) version */
	struct dnnqd_graph_slot *gs = (struct dnnqd_graph_slot *)&m->graphs[r->index];
	unsigned threads = dnnqd_model_threads(m);
	*ex = dnnqd_team_executor(&r->team, threads);
	if (gs->batch != batch) {
		gs->batch = 0;	/* a failed plan leaves none */
		int rc = dnnq_graph_plan(gs->g, batch, threads, NULL);
		if (rc)
			return rc;
		gs->batch = batch;
	}
	*out = gs;
	return 0;
}

int dnnqd_runner_run(struct dnnqd_runner *r, const struct dnnqd_models *ms, uint8_t *arena,
                     const struct dnnq_shm_request *req, uint64_t *copied)
{
	const struct dnnqd_model *m = ms->m[req->model_id];
	unsigned ni = req->n_inputs, nt = ni + req->n_outputs;
	void *bufs[DNNQ_SHM_MAX_TENSORS];
	int rc;
	struct dnnqd_graph_slot *gs;
	struct dnnq_executor ex;
	if ((rc = planned(r, m, req->batch, &gs, &ex)))
		return rc;
	for (unsigned i = 0; i < nt && !rc; i++)
		rc = bind(r, &m->io[i], &req->t[i], i, arena, &bufs[i]);
	for (unsigned i = 0; i < ni && !rc; i++)
		rc = convert(r, &m->io[i], &req->t[i], arena, bufs[i], true, copied);
	if (!rc)
		rc = dnnq_graph_run_stoppable(gs->g, (const void *const *)bufs, bufs + ni, &ex,
		                              step, r);
	for (unsigned i = ni; i < nt && !rc; i++)
		rc = convert(r, &m->io[i], &req->t[i], arena, bufs[i], false, copied);
	return rc;
}

/* Bytes of one batch item of tensor i in the graph's dtype (u8, s8, s32
 * or f32: models.c serves no other). */
static size_t item_bytes(const struct dnnqd_io *io)
{
	return io->numel * dnnq_shm_dtype_size((uint32_t)io->dtype);
}

/* Job j's tensor i between its arena and rows [row, row + batch) of the
 * staging buffer `stage`: copied, or converted when the dtypes differ. */
static int move(struct dnnqd_runner *r, const struct dnnqd_io *io, struct dnnqd_job *j,
                unsigned i, uint8_t *stage, bool input)
{
	const struct dnnq_shm_tensor *t = &j->req.t[i];
	uint8_t *x = j->arena + t->offset;
	j->copied += t->bytes;
	if (t->dtype == (uint32_t)io->dtype) {
		memcpy(input ? stage : x, input ? x : stage, t->bytes);
		return 0;
	}
	size_t n = t->bytes / sizeof(float);
	return input ? dnnq_quantize(r->isa, (const float *)(void *)x, stage, DNNQ_DTYPE_U8, n,
	                             &io->qp)
	             : dnnq_dequantize(r->isa, stage, DNNQ_DTYPE_U8, (float *)(void *)x, n,
	                               &io->qp);
}

/* Every job's tensors of one direction moved between its arena and its
 * rows of the staging buffers. */
static int move_all(struct dnnqd_runner *r, const struct dnnqd_model *m, struct dnnqd_job *jobs,
                    unsigned n, bool input)
{
	unsigned lo = input ? 0 : m->n_inputs, hi = input ? m->n_inputs : m->n_inputs + m->n_outputs;
	for (unsigned i = lo; i < hi; i++) {
		size_t row = 0, per = item_bytes(&m->io[i]);
		for (unsigned k = 0; k < n; k++) {
			int rc = move(r, &m->io[i], &jobs[k], i, (uint8_t *)r->stage[i].p + row * per,
			              input);
			if (rc)
				return rc;
			row += jobs[k].req.batch;
		}
	}
	return 0;
}

int dnnqd_runner_run_batch(struct dnnqd_runner *r, const struct dnnqd_models *ms,
                           struct dnnqd_job *jobs, unsigned n, uint32_t batch)
{
	if (n == 1)
		return dnnqd_runner_run(r, ms, jobs[0].arena, &jobs[0].req, &jobs[0].copied);
	const struct dnnqd_model *m = ms->m[jobs[0].req.model_id];
	unsigned ni = m->n_inputs, nt = ni + m->n_outputs;
	void *bufs[DNNQ_SHM_MAX_TENSORS];
	struct dnnqd_graph_slot *gs;
	struct dnnq_executor ex;
	int rc = planned(r, m, batch, &gs, &ex);
	for (unsigned i = 0; i < nt && !rc; i++) {
		/* batch <= max_batch, whose tensors models.c sized without overflow */
		rc = grow(&r->stage[i], item_bytes(&m->io[i]) * batch);
		bufs[i] = r->stage[i].p;
	}
	if (!rc)
		rc = move_all(r, m, jobs, n, true);
	if (!rc)
		rc = dnnq_graph_run_stoppable(gs->g, (const void *const *)bufs, bufs + ni, &ex,
		                              step, r);
	if (!rc)
		rc = move_all(r, m, jobs, n, false);
	return rc;
}
