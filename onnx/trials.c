/*
 * onnx/trials.c — running calibration's models through the engine:
 * dnnq_onnx_eval (onnx/calib.h), and --precision auto's trials resumed
 * from a baseline (onnx/trials.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model.h"
#include "onnx/trials.h"

static void run_free(const struct dnnq_onnx_calib *c, struct dnnq_onnx_run *r)
{
	for (size_t k = 0; r->y && k < c->ir->noutputs; k++)
		free(r->y[k]);
	free(r->y);
	dnnq_graph_destroy(r->g);
	r->y = NULL;
	r->g = NULL;
}

/* r->g and r->y for model m on c's samples (m stays the caller's), with
 * the buffers of spare (a run on the same samples, or NULL) when it has
 * them: its graph's arena and its outputs, which it loses. */
static int run_prepare(const struct dnnq_onnx_calib *c, const struct dnnq_model *m,
                       const struct dnnq_executor *ex, struct dnnq_onnx_run *r,
                       struct dnnq_onnx_run *spare, struct dnnq_diag *diag)
{
	const struct dnnq_ir *ir = c->ir;
	r->g = NULL;
	r->y = NULL;
	r->at = 0;
	if (c->samples == 0)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "evaluation: no calibration samples");
	int rc = dnnq_model_build_shared(m, dnnq_isa_best(), c->wcache, &r->g, diag);
	if (!rc && spare && spare->g)
		rc = dnnq_graph_take_buffers(r->g, spare->g);
	/* closed loop (a stateful model): one step, one sample, at a time */
	size_t batch = c->nstate ? 1 : c->samples;
	if (!rc)
		rc = dnnq_graph_plan(r->g, batch, dnnq_executor_threads(ex), diag);
	size_t nout = rc ? 0 : dnnq_graph_num_outputs(r->g);
	if (!rc && nout != ir->noutputs)
		rc = dnnq_diag_set(diag, DNNQ_E_SHAPE, "evaluation: the model has %zu outputs,"
		                   " the ONNX graph %zu", nout, ir->noutputs);
	if (!rc && spare && spare->y) {
		r->y = spare->y;        /* the same outputs: ir's, on c's samples */
		spare->y = NULL;
	} else if (!rc && !(r->y = calloc(nout ? nout : 1, sizeof *r->y))) {
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "evaluation: out of memory");
	}
	for (size_t k = 0; !rc && k < nout; k++) {
		struct dnnq_tensor_info ti;
		const struct dnnq_ir_value *v = &ir->values[ir->outputs[k]];
		dnnq_graph_output_info(r->g, k, &ti);
		if (ti.dtype != (v->dtype == DNNQ_IR_S32 ? DNNQ_DTYPE_S32 : DNNQ_DTYPE_F32) ||
		    ti.bytes != dnnq_ir_numel(v, batch) * 4)
			rc = dnnq_diag_set(diag, DNNQ_E_SHAPE, "evaluation: output '%s' is not the"
			                   " ONNX output's %s shape", ti.name,
			                   dnnq_ir_dtype_name(v->dtype));
		else if (!r->y[k] && !(r->y[k] = malloc(dnnq_ir_numel(v, c->samples) * 4)))
			rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "evaluation: out of memory");
	}
	if (rc)
		run_free(c, r);
	return rc;
}

/* run_sqnr's sums go by chunks of an output's elements, each summed in
 * four lanes (which the compiler vectorizes), the chunks' sums added in
 * order: the same bits whatever the thread count. A trial of ISNet at
 * 1024x1024 compares 100M output values (its side features). */
enum { SQNR_CHUNK = 1 << 14 };

struct sqnr_job {
	const struct dnnq_onnx_calib *c;
	const struct dnnq_onnx_run *r;
	size_t *first;                /* ir->noutputs + 1: output k's first chunk */
	double (*sums)[2];            /* per chunk: signal, noise */
};

static void sqnr_task(void *arg, size_t task, unsigned tid)
{
	const struct sqnr_job *j = arg;
	size_t k = 0;
	(void)tid;
	while (j->first[k + 1] <= task)
		k++;
	size_t n = dnnq_ir_numel(&j->c->ir->values[j->c->ir->outputs[k]], j->c->samples);
	size_t i = (task - j->first[k]) * SQNR_CHUNK, end = n - i < SQNR_CHUNK ? n : i + SQNR_CHUNK;
	const float *x = j->c->ref[k], *y = j->r->y[k];
	double sig[4] = { 0 }, noise[4] = { 0 };
	if (j->c->ir->values[j->c->ir->outputs[k]].dtype == DNNQ_IR_S32) {
		const int32_t *iy = (const int32_t *)j->r->y[k];   /* ArgMax's indices */
		for (; i < end; i++) {
			double ref = x[i], d = ref - iy[i];
			sig[0] += ref * ref;
			noise[0] += d * d;
		}
	}
	for (; i + 4 <= end; i += 4)
		for (int l = 0; l < 4; l++) {
			double ref = x[i + l], d = ref - y[i + l];
			sig[l] += ref * ref;
			noise[l] += d * d;
		}
	for (; i < end; i++) {
		double ref = x[i], d = ref - y[i];
		sig[0] += ref * ref;
		noise[0] += d * d;
	}
	j->sums[task][0] = (sig[0] + sig[1]) + (sig[2] + sig[3]);
	j->sums[task][1] = (noise[0] + noise[1]) + (noise[2] + noise[3]);
}

/* *db: the SQNR of r's outputs against the fp32 reference (an int32
 * output, ArgMax's indices, as its integers' values), each output's noise
 * taken relative to its own signal and those ratios averaged: a small
 * output beside a large one (YOLOv8-seg's prototype masks, ~0.5, beside
 * its boxes in pixels) weighs as much as it. An output whose reference is
 * all zeros has no scale and is left out, unless every one is. */
static int run_sqnr(const struct dnnq_onnx_calib *c, const struct dnnq_onnx_run *r,
                    const struct dnnq_executor *ex, double *db, struct dnnq_diag *diag)
{
	const struct dnnq_ir *ir = c->ir;
	struct sqnr_job j = { c, r, malloc((ir->noutputs + 1) * sizeof *j.first), NULL };
	size_t chunks = 0;
	for (size_t k = 0; j.first && k < ir->noutputs; k++) {
		size_t n = dnnq_ir_numel(&ir->values[ir->outputs[k]], c->samples);
		j.first[k] = chunks;
		chunks += (n + SQNR_CHUNK - 1) / SQNR_CHUNK;
	}
	if (j.first)
		j.first[ir->noutputs] = chunks;
	if (!j.first || !(j.sums = malloc((chunks ? chunks : 1) * sizeof *j.sums))) {
		free(j.first);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "evaluation: out of memory");
	}
	dnnq_parallel_for(ex, chunks, sqnr_task, &j);
	double rel = 0, zero_noise = 0;
	size_t scaled = 0;
	for (size_t k = 0; k < ir->noutputs; k++) {
		double sig = 0, noise = 0;
		for (size_t t = j.first[k]; t < j.first[k + 1]; t++) {
			sig += j.sums[t][0];
			noise += j.sums[t][1];
		}
		if (sig > 0) {
			rel += noise / sig;
			scaled++;
		} else {
			zero_noise += noise;
		}
	}
	free(j.first);
	free(j.sums);
	if (!scaled)                /* every reference zero: any noise is the worst */
		*db = zero_noise == 0 ? INFINITY : -INFINITY;
	else if (!isfinite(rel))
		*db = -INFINITY;        /* NaN or inf outputs (int8 zero into a Log): the worst */
	else
		*db = rel > 0 ? -10 * log10(rel / (double)scaled) : INFINITY;
	return DNNQ_OK;
}

/* r's graph run on c's samples: at once, or (a stateful model) closed
 * loop, a step per sample in order, each step's state inputs the step
 * before's state outputs (onnx/calib.h dnnq_onnx_calib_state). */
static int run_all(const struct dnnq_onnx_calib *c, struct dnnq_onnx_run *r,
                   const struct dnnq_executor *ex)
{
	const struct dnnq_ir *ir = c->ir;
	if (!c->nstate)
		return dnnq_graph_run(r->g, (const void *const *)c->x, (void *const *)r->y, ex);
	const void **x = malloc((ir->ninputs + 1) * sizeof *x);
	void **y = malloc((ir->noutputs + 1) * sizeof *y);
	int rc = x && y ? DNNQ_OK : DNNQ_E_NOMEM;
	for (size_t t = 0; !rc && t < c->samples; t++) {
		dnnq_onnx_state_inputs(c, t, (void *const *)r->y, x);
		for (size_t k = 0; k < ir->noutputs; k++)
			y[k] = (uint8_t *)r->y[k] + dnnq_ir_numel(&ir->values[ir->outputs[k]], t) * 4;
		rc = dnnq_graph_run(r->g, x, y, ex);
	}
	free(x);
	free(y);
	return rc;
}

int dnnq_onnx_eval(const struct dnnq_onnx_calib *c, const struct dnnq_model *m,
                   const struct dnnq_executor *ex, double *sqnr_db, struct dnnq_diag *diag)
{
	struct dnnq_onnx_run r;
	int rc = run_prepare(c, m, ex, &r, NULL, diag);
	if (rc)
		return rc;
	if ((rc = run_all(c, &r, ex)))
		dnnq_diag_set(diag, rc, "evaluation: the model failed to run");
	else
		rc = run_sqnr(c, &r, ex, sqnr_db, diag);
	run_free(c, &r);
	return rc;
}

void dnnq_onnx_trials_init(struct dnnq_onnx_trials *r, const struct dnnq_onnx_calib *c,
                           const struct dnnq_executor *ex, bool whole)
{
	memset(r, 0, sizeof *r);
	r->c = c;
	r->ex = ex;
	r->whole = whole;
}

static void drop(struct dnnq_onnx_trials *r, struct dnnq_onnx_run *run, bool *has)
{
	if (*has) {
		run_free(r->c, run);
		dnnq_model_free(&run->m);
	}
	*has = false;
}

/* run, done with, becomes r's spare: its model freed, its graph and
 * outputs kept for their buffers (the spare they replace freed). */
static void retire(struct dnnq_onnx_trials *r, struct dnnq_onnx_run *run, bool *has)
{
	if (!*has)
		return;
	run_free(r->c, &r->spare);
	r->spare.g = run->g;
	r->spare.y = run->y;
	run->g = NULL;
	run->y = NULL;
	drop(r, run, has);
}

void dnnq_onnx_trials_free(struct dnnq_onnx_trials *r)
{
	drop(r, &r->base, &r->has_base);
	drop(r, &r->last, &r->has_last);
	run_free(r->c, &r->spare);
}

/* Whether the same bytes (b may be NULL only when a is, or n is 0). */
static bool same_bytes(const void *a, const void *b, size_t n)
{
	return n == 0 || a == b || (a && b && !memcmp(a, b, n));
}

/* Tensor ia of a and tensor ib of b: the same name, type, shape,
 * quantization and data (-1: none, on both sides). */
static bool same_tensor(const struct dnnq_model *a, int32_t ia, const struct dnnq_model *b,
                        int32_t ib)
{
	if (ia < 0 || ib < 0 || (size_t)ia >= a->ntensors || (size_t)ib >= b->ntensors)
		return ia == -1 && ib == -1;
	const struct dnnq_model_tensor *x = &a->tensors[ia], *y = &b->tensors[ib];
	const struct dnnq_qtensor *s = &x->t, *t = &y->t;
	size_t nq = s->nqparams, bytes = dnnq_qtensor_nbytes(s);
	return !strcmp(x->name, y->name) && s->dtype == t->dtype &&
	       s->precision == t->precision && s->is_signed == t->is_signed &&
	       s->ndim == t->ndim && s->ndim <= DNNQ_MAX_DIMS &&
	       !memcmp(s->dims, t->dims, s->ndim * sizeof *s->dims) && s->qaxis == t->qaxis &&
	       nq == t->nqparams && same_bytes(s->scales, t->scales, nq * sizeof *s->scales) &&
	       same_bytes(s->zero_points, t->zero_points, nq * sizeof *s->zero_points) &&
	       bytes == dnnq_qtensor_nbytes(t) && same_bytes(s->data, t->data, bytes);
}

/* Node j of a and of b: the same record, but for the tensor ids of their
 * weights and biases, which must be the same tensors, as must the
 * constants it reads (a and b have the same inputs and counts of
 * constants: the same value ids). */
static bool same_node(const struct dnnq_model *a, const struct dnnq_model *b, size_t j)
{
	struct dnnq_model_node x, y;
	memcpy(&x, &a->nodes[j], sizeof x);
	memcpy(&y, &b->nodes[j], sizeof y);
	x.weight = x.bias = y.weight = y.bias = -1;
	if (memcmp(&x, &y, sizeof x) || !same_tensor(a, a->nodes[j].weight, b, b->nodes[j].weight) ||
	    !same_tensor(a, a->nodes[j].bias, b, b->nodes[j].bias))
		return false;
	for (uint32_t i = 0; i < x.ninputs && i < DNNQ_GRAPH_MAX_NODE_INPUTS; i++) {
		size_t c = (size_t)x.inputs[i] - a->ninputs;
		if (x.inputs[i] >= (int32_t)a->ninputs && c < a->nconstants &&
		    !same_tensor(a, a->constants[c], b, b->constants[c]))
			return false;
	}
	return true;
}

/* The number of first nodes a and b have the same, over the same inputs
 * (a constant only the nodes after them read may differ: an Add's operand,
 * u8 or f32 with the Add's precision); 0 when the inputs or the counts of
 * constants differ. */
static size_t same_prefix(const struct dnnq_model *a, const struct dnnq_model *b)
{
	if (a->ninputs != b->ninputs || a->nconstants != b->nconstants ||
	    memcmp(a->inputs, b->inputs, a->ninputs * sizeof *a->inputs))
		return 0;
	size_t k = 0;
	while (k < a->nnodes && k < b->nnodes && same_node(a, b, k))
		k++;
	return k;
}

/* Where r->last may resume from r->base: the nodes they have the same
 * (0: run whole), both graphs a node per model node. */
static size_t resume_at(const struct dnnq_onnx_trials *r)
{
	/* closed loop, a trial's first nodes read its own state, not the
	 * baseline's */
	if (r->whole || !r->has_base || r->c->nstate ||
	    dnnq_graph_num_nodes(r->base.g) != r->base.m.nnodes ||
	    dnnq_graph_num_nodes(r->last.g) != r->last.m.nnodes)
		return 0;
	return same_prefix(&r->base.m, &r->last.m);
}

int dnnq_onnx_trials_run(struct dnnq_onnx_trials *r, struct dnnq_model *m, double *sqnr_db,
                         struct dnnq_diag *diag)
{
	const void *const *x = (const void *const *)r->c->x;
	retire(r, &r->last, &r->has_last);
	r->last.m = *m;
	int rc = run_prepare(r->c, m, r->ex, &r->last, &r->spare, diag);
	if (rc) {
		dnnq_model_free(m);
		return rc;
	}
	r->has_last = true;
	struct dnnq_onnx_run *b = &r->base, *t = &r->last;
	size_t k = resume_at(r);
	if (k) {
		if (b->at > k)
			b->at = 0;
		rc = dnnq_graph_run_nodes(b->g, x, (void *const *)b->y, r->ex, b->at, k);
		b->at = rc ? 0 : k;
		if (!rc)
			rc = dnnq_graph_run_from(t->g, b->g, k, x, (void *const *)t->y, r->ex);
		if (rc == DNNQ_E_UNSUPPORTED) {         /* nothing ran: run whole */
			rc = DNNQ_OK;
			k = 0;
		}
		r->resumed += !rc && k;
	}
	if (!rc && !k) {
		rc = run_all(r->c, t, r->ex);
		r->wholes++;
	}
	if (rc)
		return dnnq_diag_set(diag, rc, "evaluation: the model failed to run");
	r->nodes_run += t->m.nnodes - k;
	r->nodes_all += t->m.nnodes;
	return run_sqnr(r->c, t, r->ex, sqnr_db, diag);
}

void dnnq_onnx_trials_done(struct dnnq_onnx_trials *r)
{
	retire(r, &r->last, &r->has_last);
}

void dnnq_onnx_trials_keep(struct dnnq_onnx_trials *r)
{
	if (!r->has_last)
		return;
	retire(r, &r->base, &r->has_base);
	r->base = r->last;
	r->base.at = 0;             /* its whole run left the arena reused */
	r->has_base = true;
	r->has_last = false;
}
