/*
 * onnx/qdq.h — the importer's last passes over the IR (onnx/qdq.c).
 *
 * dnnq_ir_fuse_qdq folds the QDQ form of a quantized Conv or Gemm/MatMul
 * (DequantizeLinear on the activation, the constant weight and the int32
 * bias, the fp32 operator, QuantizeLinear on its output) into one
 * QLINEARCONV / QLINEARMATMUL node, when every scale and zero point is a
 * constant and the fp32 intermediates have no other reader.
 *
 * dnnq_ir_compact drops the nodes marked dead and every value no live node
 * reads or writes and that is no graph input or output, and numbers the
 * rest again: graph inputs first, then each node's constant inputs and
 * outputs in node order (so a node reads only values with smaller ids).
 */
#ifndef DNNQ_ONNX_QDQ_H
#define DNNQ_ONNX_QDQ_H

#include "onnx/ir.h"

/* Fuses, then compacts. DNNQ_E_NOMEM is the only failure. */
int dnnq_ir_fuse_qdq(struct dnnq_ir *ir, struct dnnq_diag *diag);

/* dead: one flag a node (NULL: none dead). */
int dnnq_ir_compact(struct dnnq_ir *ir, const bool *dead, struct dnnq_diag *diag);

#endif
