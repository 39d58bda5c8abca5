/*
 * engine/remap.h — data movement by index tables: each output element
 * reads one input element (or a fill value), axis by axis. Slice, Pad and
 * Gather (engine/ops/slice.c, pad.c, gather.c) share this adapter
 * (engine/remap.c), on u8 (the input's quantization kept: only bytes
 * move) and on f32. Dims are the engine's (NHWC for 4-D values); axis 0
 * is the batch and maps to itself.
 *
 * Per axis i, output index o reads input index start[i] + step[i] * o
 * (gather: index[o] on its axis). Where that falls outside the input,
 * the mode decides: a slice or a gather refuses the node at create; a pad
 * writes its constant (quantized with the input's parameters), the edge
 * element, the element mirrored about the edge (period 2 (n - 1), as
 * NumPy's reflect), or the element a period of n away (wrap: i mod n, as
 * ONNX Runtime's, also for pads longer than the axis).
 *
 * A task is a run of output rows (all axes but the last); a row whose
 * last-axis indices are consecutive is one memcpy.
 */
#ifndef DNNQ_ENGINE_REMAP_H
#define DNNQ_ENGINE_REMAP_H

#include "engine/qtensor.h"

enum dnnq_remap_mode {
	DNNQ_REMAP_INSIDE,         /* slice, gather: every index inside the input */
	DNNQ_PAD_CONSTANT,
	DNNQ_PAD_REFLECT,
	DNNQ_PAD_EDGE,
	DNNQ_PAD_WRAP,               /* periodic: index i reads i mod n (opset 19) */
	DNNQ_REMAP_MODE_COUNT,
};

struct dnnq_remap_desc {
	uint32_t mode;               /* enum dnnq_remap_mode */
	float value;                 /* pad constant: a real value */
	uint32_t ndim;               /* the input's rank, and the output's */
	int64_t out[DNNQ_MAX_DIMS];  /* the output's dims (out[0]: the batch, ignored) */
	int64_t start[DNNQ_MAX_DIMS], step[DNNQ_MAX_DIMS];   /* [0] ignored */
	/* gather: axis's output index o reads index[o] (nindex of them);
	 * start and step are ignored on it */
	uint32_t axis;
	const int32_t *index;
	size_t nindex;
};

/* The graph adapter of the three kinds, int8 and fp32 (engine/remap.c). */
struct node_ops;
extern const struct node_ops dnnq_remap_ops;

/* What the kinds' checks share: ndim 1..8; dims[1..ndim), the output's,
 * 1..2^24 (dims[0], starts[0] and steps[0] are ignored: the batch maps to
 * itself). */
struct dnnq_model_node;
int dnnq_remap_check(const struct dnnq_model_node *n, char *why, size_t cap);
/* A file node's description: mode and value as given, ndim, dims as out,
 * starts, and steps (or 1 on every axis when the kind has none). */
void dnnq_remap_desc_of(const struct dnnq_model_node *n, uint32_t mode, float value, bool steps,
                        struct dnnq_remap_desc *d);

#endif
