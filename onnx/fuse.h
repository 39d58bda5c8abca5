/*
 * onnx/fuse.h — activation fusions on the imported IR (onnx/fuse.c): the
 * forms exporters spell in several operators become the one operator the
 * engine runs (a table in int8, one vectorized pass in fp32).
 *
 *   x * Clip(x + 3, 0, 6) / 6 (a Relu before the Clip, as torch's relu6
 *   exports; either Mul order; Div by 6 or Mul by 1/6, before or after
 *   the product)                              -> HARDSWISH
 *   x * HardSigmoid(x) (alpha 1/6, beta 0.5)  -> HARDSWISH
 *   x * Sigmoid(x)                            -> swish (engine/ops/swish.c)
 *   x * 0.5 * (1 + Erf(x / sqrt 2)) (any association of the three factors,
 *   Div by sqrt 2 or Mul by 1/sqrt 2)         -> gelu (engine/ops/gelu.c)
 *
 * A pattern fuses only when every intermediate value has the pattern's
 * node as its one reader and is no graph output, its constants are f32
 * scalars within 1e-4 (relative) of the numbers above, and the result has
 * x's shape. The fused node takes the place and the name of the pattern's
 * last node; the others are dropped (dnnq_ir_compact).
 */
#ifndef DNNQ_ONNX_FUSE_H
#define DNNQ_ONNX_FUSE_H

#include "onnx/ir.h"

/* Fuses every pattern, counting them in ir->fused, then compacts.
 * DNNQ_E_NOMEM is the only failure. */
int dnnq_ir_fuse_activations(struct dnnq_ir *ir, struct dnnq_diag *diag);

/* Chains of Mul and Add by finite f32 constants per channel (a scalar, or
 * [C, 1, 1], [1, C, 1, 1]) of a rank-4 value, either operand order, each
 * the sole reader of the value before and leaving its shape: after a Conv
 * of f32 constant weights (and bias) whose sole reader starts it
 * (PP-LCNetV3's learnable affine blocks, a BatchNormalization exported as
 * Mul and Add),
 * one Conv of the weights scaled and the bias moved (new constants
 * NAME:weight, NAME:bias); of two steps or more elsewhere (the blocks after
 * an activation), one BatchNormalization of scale a, B b, mean 0, var 1,
 * epsilon 0 (NAME:scale, ...), which runs int8 as one requantization. The
 * node made takes the last step's place and output, and the Conv's name
 * (--keep-fp32 names it as before) or the last step's. A fold whose
 * coefficients or weights would overflow to inf is not made. Counted in
 * ir->fused, then compacted. DNNQ_E_NOMEM is the only failure. */
int dnnq_ir_fuse_affine(struct dnnq_ir *ir, struct dnnq_diag *diag);

#endif
