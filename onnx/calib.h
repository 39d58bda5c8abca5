/*
 * onnx/calib.h — calibrating an imported model (onnx/ir.h) and turning it
 * into a .dnnq model: what dnnq-convert does, as a library the tests use.
 *
 *   1. dnnq_onnx_calib_add: the fp32 reference (dnnq_ir_run_ex) over the
 *      calibration batches, every f32 value (graph inputs and every node's
 *      output) into its histogram (calibration/hist.h);
 *   2. dnnq_onnx_calib_qparams: one range method per value
 *      (calibration/range.h) gives each value's quantization parameters;
 *   3. dnnq_onnx_lower (onnx/lower.h) with them, then
 *   4. dnnq_onnx_eval: the lowered model run through the engine on the
 *      calibration data, its outputs' SQNR against the fp32 reference.
 * dnnq_onnx_calib_auto picks the method per value (--method auto): a
 * greedy pass over the values in order, each trying every method with the
 * others held, keeping the one with the best output SQNR.
 *
 * The calibration data is a set of samples of the model's inputs, in the
 * ONNX layout, as f32: the same number of samples for every input.
 */
#ifndef DNNQ_ONNX_CALIB_H
#define DNNQ_ONNX_CALIB_H

#include "calibration/hist.h"
#include "calibration/range.h"
#include "engine/executor.h"
#include "onnx/lower.h"

struct dnnq_onnx_calib {
	const struct dnnq_ir *ir;
	/* Set by the caller after init (both may stay NULL): the threads of
	 * the fp32 reference and of the lowered model's runs (results do not
	 * depend on their count), and a hook called as each node of a
	 * dnnq_onnx_calib_add run completes, with (work done, work) of the
	 * call: its samples times the model's nodes, a node counting the
	 * samples of the sub-run it completed in, so done only grows. */
	const struct dnnq_executor *ex;
	void (*progress)(void *ctx, size_t done, size_t total);
	void *progress_ctx;
	struct dnnq_hist *hist;         /* nvalues; counts NULL: not an observed value */
	size_t samples;                 /* added so far */
	/* the samples themselves (a copy), for evaluation */
	void **x;                       /* per graph input: f32, or int32 for an int32 input */
	size_t *x_numel;                /* per graph input: elements (4 bytes) per sample */
	float **ref;                    /* per graph output: the fp32 reference on x */
	/* each value's parameters by each method, computed once for cache_opts
	 * (the range searches dominate --method auto otherwise) */
	struct dnnq_qparams *cache;     /* nvalues x DNNQ_CALIB_METHOD_COUNT */
	uint8_t *cached;
	struct dnnq_calib_opts cache_opts;
	/* When set (precision auto, for its trials; else NULL): the packed
	 * weights dnnq_onnx_eval's models share (engine/wcache.h). Only for
	 * models lowered with the same options and ranges, whose int8 nodes
	 * then have the same weights under the same names: a node's int8
	 * weights are its IR node's (and its fused followers') quantized;
	 * a weight tensor several convs read, whose bytes a reader may
	 * change (int8_bias), is cached under their checksum too. */
	struct dnnq_weights_cache *wcache;
	/* A stateful model's links (dnnq_onnx_calib_state; none: nstate 0):
	 * its runs, the reference's among them, go closed loop over the
	 * samples in their order, each a step at batch 1 whose state inputs
	 * are the step before's state outputs, but where start[t] (sample t
	 * is a stream's first: t 0, or its recorded state all zeros) */
	struct dnnq_onnx_state *state;
	size_t nstate;
	bool *start;                    /* samples entries */
};

/* A stateful model's state (docs/models.md): graph output `out` feeds
 * graph input `in` at the next step. Indices into ir->outputs and
 * ir->inputs. */
struct dnnq_onnx_state {
	size_t in, out;
	bool detected;                  /* by dnnq_onnx_state_detect, not named */
	double chain_db;                /* dnnq_onnx_state_chain_db */
};

/* A link below this, detected, is not one: the samples do not chain. */
#define DNNQ_STATE_CHAIN_DB 40.0
#define DNNQ_STATE_MAX 64           /* links per model (dnnq-convert --state) */

/* "OUT=IN" into *s: graph output OUT feeds graph input IN; both float32
 * and the same shape per sample, else an error naming them. */
int dnnq_onnx_state_parse(const struct dnnq_ir *ir, const char *spec,
                          struct dnnq_onnx_state *s, struct dnnq_diag *diag);
/* The links a model's names and shapes suggest, at most max in s: an
 * output whose name extends a float input's (stateN of state, hn of h),
 * of its shape, each input fed by one such output at most, and at least
 * one input left that no output feeds (what drives the model). */
size_t dnnq_onnx_state_detect(const struct dnnq_ir *ir, struct dnnq_onnx_state *s,
                              size_t max);
/* How well c's samples chain along s: the SQNR of each sample's recorded
 * state input against the reference's state output on the sample before
 * (c's open-loop reference: call before dnnq_onnx_calib_state), over the
 * samples that are not a stream's first; NaN when there is none, -inf
 * when a state or the output is not finite. */
double dnnq_onnx_state_chain_db(const struct dnnq_onnx_calib *c,
                                const struct dnnq_onnx_state *s);
/* c's runs go closed loop along s (n links; c copies them), from now on:
 * an input fed twice is an error; c->ref is run again closed loop, and
 * an output it turns NaN or infinite (finite from the recorded state) is
 * DNNQ_E_RANGE. */
int dnnq_onnx_calib_state(struct dnnq_onnx_calib *c, const struct dnnq_onnx_state *s, size_t n,
                          struct dnnq_diag *diag);
/* The inputs of closed-loop step t (c->ir->ninputs entries in x): sample
 * t's, but for the state inputs, which are out[link's output] + (t - 1)
 * samples unless sample t starts a stream. */
void dnnq_onnx_state_inputs(const struct dnnq_onnx_calib *c, size_t t, void *const *out,
                            const void **x);

/* Fails with DNNQ_E_UNSUPPORTED for a model with an input other than f32
 * or s32, or an output other than f32. nbins 0: the histograms' default. */
int dnnq_onnx_calib_init(struct dnnq_onnx_calib *c, const struct dnnq_ir *ir, uint32_t nbins,
                         struct dnnq_diag *diag);
void dnnq_onnx_calib_free(struct dnnq_onnx_calib *c);
/* n samples: x[i] holds n * c->x_numel[i] elements of graph input i, in
 * its dtype (float32, or int32). */
int dnnq_onnx_calib_add(struct dnnq_onnx_calib *c, const void *const *x, size_t n,
                        struct dnnq_diag *diag);
/* dnnq_onnx_calib_add with the reference run on at most step samples at a
 * time (dnnq_onnx_calib_add's step: dnnq_ir_fit_batch's, which only an
 * item of a large part of the host's memory makes smaller than n; the
 * tests give a small one). */
int dnnq_onnx_calib_add_by(struct dnnq_onnx_calib *c, const void *const *x, size_t n,
                           size_t step, struct dnnq_diag *diag);
/* The fp32 reference on n samples x (as dnnq_onnx_calib_add's) into y
 * (per graph output, n samples' room; an int32 output as its integers'
 * values), nothing observed. */
int dnnq_onnx_calib_ref(struct dnnq_onnx_calib *c, const void *const *x, size_t n,
                        float *const *y, struct dnnq_diag *diag);
/* method[v] = m for every value but the graph outputs, which get min/max:
 * clipping an output saturates the very values a caller compares (a
 * classifier's logits; KL clips the CNN's enough to lose 2.5 points of
 * top-1). --method auto may still choose another for them. */
void dnnq_onnx_calib_methods(const struct dnnq_onnx_calib *c, enum dnnq_calib_method m,
                             enum dnnq_calib_method *method);

/* The parameters of every observed value, value v by method[v] (the same
 * options otherwise). has[v] says which were set. c's cache is filled
 * (and emptied when o differs from the last call's). */
int dnnq_onnx_calib_qparams(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *o,
                            const enum dnnq_calib_method *method, struct dnnq_qparams *qp,
                            bool *has, struct dnnq_diag *diag);

/* Builds the model and runs it on the calibration samples (all of them, one
 * batch); *sqnr_db gets the outputs' SQNR against the fp32 reference, each
 * output's noise relative to its own signal, averaged (docs/onnx.md, "The
 * outputs' SQNR"). ex may be NULL. */
int dnnq_onnx_eval(const struct dnnq_onnx_calib *c, const struct dnnq_model *m,
                   const struct dnnq_executor *ex, double *sqnr_db, struct dnnq_diag *diag);

/* Lowered with the methods in method[] (nvalues entries). */
int dnnq_onnx_calib_lower(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *o,
                          const enum dnnq_calib_method *method,
                          const struct dnnq_lower_opts *lo, struct dnnq_model *m,
                          struct dnnq_diag *diag);

/* dnnq_onnx_calib_lower, then dnnq_onnx_eval of that model. */
int dnnq_onnx_calib_trial(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *o,
                          const enum dnnq_calib_method *method,
                          const struct dnnq_lower_opts *lo, const struct dnnq_executor *ex,
                          double *sqnr_db, struct dnnq_diag *diag);

/* --method auto: method[] (nvalues entries) is the start and gets the
 * choice; *sqnr_db the final output SQNR. progress (may be NULL) is called
 * after each trial with (done, total). */
int dnnq_onnx_calib_auto(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *o,
                         const struct dnnq_lower_opts *lo, const struct dnnq_executor *ex,
                         enum dnnq_calib_method *method, double *sqnr_db,
                         void (*progress)(void *ctx, size_t done, size_t total), void *ctx,
                         struct dnnq_diag *diag);

/* 16-bit accumulation per layer (engine/gemm.h dnnq_gemm_pack_acc16), for
 * each conv and fc node of a lowered model, measured on the calibration
 * samples. */
struct dnnq_acc16_layer {
	size_t node;                  /* model node index */
	bool acc16;                   /* the node's state (after auto: the choice) */
	bool applicable;              /* false: depthwise conv (no GEMM) */
	size_t outliers;              /* weights in the sparse part of the split */
	double outlier_density;       /* outliers / (n * k) */
	/* int16 saturation events over additions, the layer's own u8 input
	 * (from the all-acc32 model) through dnnq_gemm_acc16_saturation (a
	 * conv on at most 1024 output pixels, evenly spaced);
	 * adds 0 and saturation NaN when not measurable (f32 input) */
	uint64_t sat_events, sat_adds;
	double saturation;
	/* shadow run SQNR at the layer's output (engine/graph.h sqnr_db), with
	 * every layer acc32, and with this layer alone acc16 (auto only, else
	 * NaN) */
	double sqnr_db_acc32, sqnr_db_acc16;
};

#define DNNQ_ACC16_THRESHOLD_DB 0.5

/* Fills *layers (malloc'ed, *nlayers entries, one per conv and fc node in
 * order) for model m, whose nodes' acc16 attributes say their state; the
 * split statistics use each node's nbits (o for nodes without acc16). */
int dnnq_onnx_calib_acc16_measure(const struct dnnq_onnx_calib *c, const struct dnnq_model *m,
                                  const struct dnnq_acc16_opts *o,
                                  struct dnnq_acc16_layer **layers, size_t *nlayers,
                                  struct dnnq_diag *diag);

/* --acc16=auto: for each conv and fc node of m in turn (the others acc32),
 * the shadow run's SQNR at the node's output with acc16 against acc32; the
 * node keeps acc16 (with o's nbits and spill) when the loss is below
 * threshold_db. m's acc16 attributes are set to the choice; layers as for
 * dnnq_onnx_calib_acc16_measure. progress may be NULL. */
int dnnq_onnx_calib_acc16_auto(const struct dnnq_onnx_calib *c, struct dnnq_model *m,
                               const struct dnnq_acc16_opts *o, double threshold_db,
                               struct dnnq_acc16_layer **layers, size_t *nlayers,
                               void (*progress)(void *ctx, size_t done, size_t total),
                               void *ctx, struct dnnq_diag *diag);

#endif
