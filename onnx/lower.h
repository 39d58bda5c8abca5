/*
 * onnx/lower.h — an IR (onnx/ir.h) to a .dnnq model (engine/model.h).
 *
 * fp32 operators become int8 ones with the quantization parameters the
 * caller chose for each value (calibration, in dnnq-convert): a Conv or
 * Gemm absorbs a following BatchNormalization and Relu/Clip; weights are
 * quantized here (s8, per tensor or per output channel, symmetric or not),
 * biases stay f32. Already-quantized operators (QLinearConv, QLinearMatMul,
 * ConvInteger, MatMulInteger, QuantizeLinear/DequantizeLinear around
 * supported operators) keep the parameters the model carries and compute
 * exactly what ONNX defines.
 *
 * Layout: the engine is NHWC inside. The model's inputs and outputs keep the
 * ONNX layout and names (f32 in, f32 out, NCHW for 4-D); the conversion is
 * done at the edges. Flatten/Reshape of an NCHW tensor feeding a Gemm is
 * absorbed by permuting the Gemm's weight columns.
 */
#ifndef DNNQ_ONNX_LOWER_H
#define DNNQ_ONNX_LOWER_H

#include "engine/model.h"
#include "onnx/ir.h"

struct dnnq_lower_opts {
	bool per_channel;         /* per-output-channel weight scales */
	bool symmetric_weights;   /* weight zero point 0 */
	bool dynamic;             /* Gemm layers quantize their input per call */
	const char *name;         /* the model's name (meta); NULL: the graph's */
	const char *calibration;  /* what chose the ranges (meta), e.g. "kl" */
	/* 16-bit accumulation of Conv and Gemm layers (engine/gemm.h):
	 * DNNQ_ACC16_OFF none; DNNQ_ACC16_ON every one, or with acc16_nodes
	 * those it marks. acc16_nodes (ir->nnodes entries, may be NULL) is
	 * indexed by the IR node a layer is named after (the last of its fused
	 * chain). DNNQ_ACC16_AUTO lowers like OFF: the choice is made on the
	 * lowered model by dnnq_onnx_calib_acc16_auto (onnx/calib.h). */
	enum { DNNQ_ACC16_OFF, DNNQ_ACC16_ON, DNNQ_ACC16_AUTO } acc16;
	const bool *acc16_nodes;
	struct dnnq_acc16_opts acc16_opts;   /* nbits and spill of those layers */
	/* Nodes kept in fp32 (ir->nnodes entries, may be NULL): the lowered
	 * node takes and gives f32 values, with f32 weights; Quantize and
	 * Dequantize are placed where its neighbours are int8. A node fuses
	 * with a follower (BatchNormalization, Relu, Clip) only of the same
	 * precision. dnnq_onnx_keep_fp32 fills it from node names. */
	const bool *fp32_nodes;
	/* Nodes int8 cannot represent (a bias beyond int32 at its scale,
	 * engine/qlinear.h): NULL makes such a node an error naming it; else
	 * (ir->nnodes entries, --precision auto) the node is lowered fp32
	 * instead, with its followers, and refused[j].msg says why int8 was
	 * refused (the caller clears the array; a lowering only sets). */
	struct dnnq_diag *int8_refused;
	/* When non-NULL (ir->nnodes entries), filled with each node's unit:
	 * the node whose lowering computes it (itself, or the Conv / Gemm it
	 * is fused into: a follower is always the sole reader of the output
	 * it follows), or for the nodes of one whole (dnnq_ir_node.whole: a
	 * 3-D Conv's) its first node with an fp32 form, so that they are one
	 * unit named after the ONNX node (its last); -1 for a node nothing
	 * needs. */
	int32_t *unit;
	/* A trial's model (dnnq_onnx_calib_trial: --precision auto, --method
	 * auto), which the caller builds and runs at once: the lowering skips
	 * its own build of the model (the check that it builds, plans and has
	 * the signature's inputs and outputs), a fifth of a trial's lowering;
	 * the final lowering keeps it. */
	bool trial;
	/* When non-NULL (--precision auto's trials): the int8 and fp32
	 * weights of the Conv and Gemm nodes lowered before with the same
	 * options, reused by IR node (a trial's lowering otherwise quantizes,
	 * or folds and transposes, every weight again: most of its cost); see
	 * dnnq_lower_wcache_create. */
	struct dnnq_lower_wcache *wcache;
};

/* A cache of lowered weights, for lowerings of one IR with the same
 * options but fp32_nodes (dnnq_lower_opts.wcache). An entry is the s8
 * weight tensor of a Conv or Gemm node quantized from float weights or
 * converted from the model's own integers (a DequantizeLinear of int8
 * constants: QDQ models, ONNX Runtime's dynamic quantization), or the
 * node's fp32 weight tensor (two entries per node), kept with what
 * decided it (a BatchNormalization folded in, the permutation of a
 * flattened input, the weight options, the integers' origin): a lowering
 * that would decide otherwise makes it afresh. */
struct dnnq_lower_wcache;
/* For an IR of nnodes nodes. */
int dnnq_lower_wcache_create(size_t nnodes, struct dnnq_lower_wcache **out);
/* NULL is a no-op. */
void dnnq_lower_wcache_destroy(struct dnnq_lower_wcache *c);
/* Frees IR node j's fp32 entry, if any (c NULL: a no-op): for weights no
 * lowering to come takes fp32, or few enough to make afresh. */
void dnnq_lower_wcache_drop_fp32(struct dnnq_lower_wcache *c, size_t j);

/* Whether IR operator op has arithmetic the engine also runs in fp32 (a
 * reshape has none: it follows its input's precision). */
bool dnnq_onnx_has_fp32_form(enum dnnq_ir_op op);

/* keep[j] for every IR node named in the comma-separated list names (ONNX
 * node names; ir->nnodes entries, calloc'd into *keep), and for the
 * nodes with an fp32 form of the whole a named node is part of (a 3-D
 * Conv's: dnnq_ir_node.whole); "*" names every node with an fp32 form. Every name must exist and be an operator with
 * arithmetic: one the engine runs in fp32 (not QuantizeLinear, a QLinear
 * operator, a reshape). The error names every problem at once. */
int dnnq_onnx_keep_fp32(const struct dnnq_ir *ir, const char *names, bool **keep,
                        struct dnnq_diag *diag);

/* qp[v] (has_qp[v]) is the quantization of IR value v, for each value the
 * caller calibrated (typically every f32 value the reference run produced,
 * and the graph inputs). A value that must be quantized and has none is an
 * error naming it. m is filled (free it with dnnq_model_free). Each lowered
 * node is named after the IR node whose output it produces (the last of a
 * fused chain). */
int dnnq_onnx_lower(const struct dnnq_ir *ir, const struct dnnq_lower_opts *o,
                    const struct dnnq_qparams *qp, const bool *has_qp,
                    struct dnnq_model *m, struct dnnq_diag *diag);

#endif
