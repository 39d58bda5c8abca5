/*
 * tests/conformance.h — one imported ONNX model converted and run as
 * dnnq-convert and dnnq-run do it, its outputs against expected ones. The
 * convert suite's cases (tools/mkonnx.py's tests/onnx/ops) and the
 * nodetests suite (ONNX's backend node tests, Debian's libonnx-testdata)
 * both go through it; each judges the measures against its own bounds.
 *
 *   - a float model (exact false): calibrated on its own inputs as
 *     dnnq-convert does by default (l2 ranges, min/max for the outputs),
 *     weights per channel, and lowered int8; then again with every node kept
 *     fp32 (--keep-fp32 '*');
 *   - a quantized model (exact true): lowered with the parameters it
 *     carries, no calibration, and compared bit for bit.
 * Each lowered model is written as a .dnnq file (in memory), read back,
 * built for the best ISA the CPU runs (or conf_set_isa's), planned at the inputs' batch and run
 * on one thread.
 */
#ifndef DNNQ_TESTS_CONFORMANCE_H
#define DNNQ_TESTS_CONFORMANCE_H

#include "calibration/npy.h"
#include "engine/graph.h"
#include "engine/model.h"
#include "onnx/ir.h"

struct conf_result {
	size_t elements;        /* of all outputs */
	size_t differ, first;   /* exact: elements that differ, the first (over all outputs);
	                           float with integer outputs (ArgMax's): those of the all
	                           fp32 run */
	size_t int8_differ;     /* float: integer outputs' elements the int8 run gets wrong */
	double sqnr_db;         /* float: int8 against want, the worst output's */
	double fp32_rel;        /* float: all fp32, the worst output's conf_max_rel */
	double fp32_sqnr_db;    /* float: all fp32 against want, the worst output's */
};

/* in: ir->ninputs arrays, each of its input's dtype and shape (dims[0] the
 * batch of a batched input, the same for all), data aligned; want:
 * ir->noutputs arrays. DNNQ_OK when the model was lowered and ran and its
 * outputs have want's shapes (and dtypes, exact); r then holds the
 * comparison. Otherwise d says which step failed ("int8: lower: ..."). */
int conf_run(const struct dnnq_ir *ir, bool exact, const struct dnnq_npy *in,
             const struct dnnq_npy *want, struct conf_result *r, struct dnnq_diag *d);

/* A float ir with a batch, calibrated on in as conf_run does, lowered int8
 * and all fp32: in's batch run at once against each item run alone (both
 * through conf_run_model), the output elements whose bytes differ (over
 * both passes) into *differ. */
int conf_items_alone(const struct dnnq_ir *ir, const struct dnnq_npy *in,
                     const struct dnnq_npy *want, size_t *differ, struct dnnq_diag *d);

/* m through the file (written, read back), built for the ISA conf_set_isa
 * chose (else the best the CPU runs), planned at batch and run: out[k]
 * (malloc'd; free each) and info[k] for each output. */
int conf_run_model(const struct dnnq_model *m, size_t batch, const void *const *in, void **out,
                   struct dnnq_tensor_info *info, struct dnnq_diag *d);

/* The ISA the models of conf_run and conf_run_model are built for from now
 * on (one the CPU runs); DNNQ_ISA_COUNT: the best it runs, as before any call. */
void conf_set_isa(enum dnnq_isa isa);

/* The engine's dtype of an IR dtype; DNNQ_DTYPE_INVALID for int64. */
enum dnnq_dtype conf_dtype(enum dnnq_ir_dtype t);

/* The largest |a - b| of n values relative to the largest |b|: a sum that
 * cancels to near 0 is compared at the output's scale, not its own. NaN
 * when a difference is NaN. */
double conf_max_rel(const float *a, const float *b, size_t n);

#endif
