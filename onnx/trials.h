/*
 * onnx/trials.h — the engine runs of --precision auto's trials, each from
 * the first node where its model differs from a baseline's.
 *
 * A trial's model is the baseline (the all-int8 model, or the choice so
 * far) with one more unit fp32: its nodes before that unit are the
 * baseline's, with the same weights, and compute the same values bit for
 * bit. So the baseline's graph runs only as far as the trials need
 * (nodes [0, k) once for every trial whose change starts at k or later,
 * the trials coming in node order), and a trial runs its nodes [k, n)
 * from the values the baseline's arena holds at k
 * (engine/graph.h dnnq_graph_run_from). Sameness is proven, not assumed:
 * k is the first node whose record or weights differ from the
 * baseline's (same_prefix); a model whose inputs or constants differ, or
 * a value the baseline no longer holds, runs whole.
 *
 * Memory: the baseline's and the trial's models and graphs (arenas), at
 * once, and the buffers of the last run retired for the next one to take
 * (dnnq_onnx_trials_done, before the next model is lowered); nothing else
 * is saved.
 */
#ifndef DNNQ_ONNX_TRIALS_H
#define DNNQ_ONNX_TRIALS_H

#include "onnx/calib.h"

/* A model built and planned on c's samples, with its output buffers. */
struct dnnq_onnx_run {
	struct dnnq_model m;
	struct dnnq_graph *g;
	float **y;                    /* ir->noutputs */
	size_t at;                    /* the baseline: its nodes [0, at) have run */
};

struct dnnq_onnx_trials {
	const struct dnnq_onnx_calib *c;
	const struct dnnq_executor *ex;
	bool whole;                   /* every run whole (tests compare) */
	bool has_base, has_last;
	struct dnnq_onnx_run base, last;
	/* a run done with: its graph's arena and its outputs go to the next
	 * one (dnnq_graph_take_buffers), whose pages are then faulted in
	 * already (ISNet at 1024x1024: a few hundred MB each) */
	struct dnnq_onnx_run spare;
	/* what ran: trials resumed and whole, nodes run and nodes in all */
	size_t resumed, wholes;
	uint64_t nodes_run, nodes_all;
};

void dnnq_onnx_trials_init(struct dnnq_onnx_trials *r, const struct dnnq_onnx_calib *c,
                           const struct dnnq_executor *ex, bool whole);
void dnnq_onnx_trials_free(struct dnnq_onnx_trials *r);
/* Runs m (r takes it, and frees it, also on failure) on c's samples;
 * *sqnr_db as dnnq_onnx_eval. */
int dnnq_onnx_trials_run(struct dnnq_onnx_trials *r, struct dnnq_model *m, double *sqnr_db,
                         struct dnnq_diag *diag);
/* The last run's model becomes the baseline of the next ones. */
void dnnq_onnx_trials_keep(struct dnnq_onnx_trials *r);
/* The last run, not kept, is done with: its model freed, its buffers kept
 * for the next run. dnnq_onnx_trials_run does it too, but called before
 * the next model is lowered it spares a third model's weights at once
 * (wide_resnet50_2's SQNR floor trials: 0.28 GB of fp32 weights each). */
void dnnq_onnx_trials_done(struct dnnq_onnx_trials *r);

#endif
