/*
 * onnx/precision.h — automatic mixed precision (dnnq-convert --precision
 * auto): which nodes of a calibrated model run int8 and which fp32.
 *
 * A unit is what one lowered node computes: an IR node and the followers
 * its lowering fuses (Conv + BatchNormalization + Relu). Each unit that
 * lowers to int8 and has an fp32 form is measured on the first few
 * calibration samples, through the engine (the very int8 kernels the
 * model will run; a stateful model's closed loop, every step's state the
 * step before's output: onnx/calib.h dnnq_onnx_calib_state):
 *
 *   loss(u) = SQNR(all int8 but u, fp32) - SQNR(all int8)
 *
 * the output SQNR against the fp32 reference that the model loses because
 * u runs int8 rather than fp32, every other unit int8 (each unit is
 * measured against the same all-int8 model, so the order does not
 * matter). Both SQNRs are capped at DNNQ_PRECISION_CEILING_DB: beyond it
 * the outputs differ by the fp32 kernels' own rounding (sgemm sums in
 * another order than the reference: 1e-4 relative at worst), not by int8
 * (torchvision's googlenet with random weights gives logits that are
 * their biases, 256 dB all int8, where every unit "lost" 4 dB of
 * rounding). Units whose loss exceeds the threshold run fp32. Cost: one lowering per
 * unit and one for the all-int8 baseline; each unit's engine run on those
 * samples starts at the unit, from the baseline's values there
 * (onnx/trials.h). When the all-int8 SQNR is below floor_db, the fewest
 * units that lift the choice to it go fp32 too (WHY_FLOOR; precision.c's
 * floor_pass). Bounded: the units to measure times the model's nodes (the
 * lowerings' work) at most DNNQ_PRECISION_MAX_WORK, else none is measured
 * and all stay int8 (WHY_UNMEASURED): a small ONNX file can unroll to
 * thousands of one-node units (a Loop), whose trials took hours.
 */
#ifndef DNNQ_ONNX_PRECISION_H
#define DNNQ_ONNX_PRECISION_H

#include "onnx/calib.h"

#define DNNQ_FP32_THRESHOLD_DB 0.5
#define DNNQ_PRECISION_SAMPLES 4
#define DNNQ_PRECISION_CEILING_DB 80.0
#define DNNQ_PRECISION_FLOOR_DB 20.0   /* at 8 bits */
/* a stateful model's, closed loop (dnnq-convert's default): the state
 * errors at the floor feed every next call, and the calibration
 * recording's closed loop predicts another's loosely (silero legacy: 21.0
 * dB there, its state 17.9 dB on held-out speech; at 25, 35.8 and 22.1) */
#define DNNQ_PRECISION_STATE_FLOOR_DB 25.0
#define DNNQ_DB_PER_BIT 6.02           /* the floor's drop per activation bit fewer */
#define DNNQ_PRECISION_MAX_WORK ((uint64_t)1 << 24)   /* units x nodes (2000 x 2000:
                                                           27 s of one-Add units) */

struct dnnq_precision_opts {
	double threshold_db;          /* the largest loss that stays int8, dB */
	size_t samples;               /* measured on the first min(samples, all) */
	double floor_db;              /* below this output SQNR, more units go fp32 (0: off) */
	/* every trial lowered and run whole, as a model of its own: not
	 * resumed from its baseline (onnx/trials.h), no int8 weights reused
	 * (dnnq_lower_wcache); the tests' reference, the same losses */
	bool whole;
};

/* What the trials ran (onnx/trials.h), for --report: the trials (the
 * baselines among them), those resumed from their baseline, and the
 * engine nodes run against the nodes of whole runs. */
struct dnnq_precision_cost {
	size_t trials, resumed;
	uint64_t nodes_run, nodes_all;
};

/* Why a unit runs in the precision it does. */
enum dnnq_precision_why {
	DNNQ_PRECISION_WHY_LOSS,      /* measured: loss_db against the threshold */
	DNNQ_PRECISION_WHY_KEPT,      /* fp32 as asked (--keep-fp32) */
	DNNQ_PRECISION_WHY_REFUSED,   /* int8 cannot represent it (lo->int8_refused) */
	DNNQ_PRECISION_WHY_FP32_ONLY, /* the engine runs it only in fp32 */
	DNNQ_PRECISION_WHY_FLOOR,     /* one of the fewest that lift the outputs to floor_db */
	DNNQ_PRECISION_WHY_UNMEASURED, /* int8: measuring every unit passes
	                                  DNNQ_PRECISION_MAX_WORK */
};

struct dnnq_precision_unit {
	int32_t head, last;           /* IR nodes: the first and the last fused */
	bool fp32;                    /* the choice */
	enum dnnq_precision_why why;
	double loss_db;               /* measured (why LOSS, FLOOR), else NaN */
};

/* The choice for the model c calibrated, lowered with calibration options
 * co, methods method[] and lo (whose fp32_nodes are kept fp32, and whose
 * int8_refused, which must be set and cleared, gets the refusals). fp32
 * (ir->nnodes entries) gets the nodes to keep in fp32, for lo's fp32_nodes
 * in the final lowering; *units (free it) one entry per unit with an
 * arithmetic precision, *nunits of them, in node order; *base_db the
 * all-int8 SQNR on the samples measured; *cost what the trials ran.
 * progress (may be NULL) is called after each lowering with (done,
 * total). */
int dnnq_onnx_precision_auto(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *co,
                             const enum dnnq_calib_method *method,
                             const struct dnnq_lower_opts *lo,
                             const struct dnnq_precision_opts *po, bool *fp32,
                             struct dnnq_precision_unit **units, size_t *nunits,
                             double *base_db, struct dnnq_precision_cost *cost,
                             void (*progress)(void *ctx, size_t done, size_t total),
                             void *ctx, struct dnnq_diag *diag);

/* "loss", "keep-fp32", "int8 refused", "fp32 only", "sqnr floor",
 * "unmeasured". */
const char *dnnq_precision_why_name(enum dnnq_precision_why why);

#endif
