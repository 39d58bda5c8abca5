/*
 * engine/op.h — the operator registry: each node kind described once.
 *
 * A description (struct dnnq_op_def) says what the rest of dnnq needs to
 * know of a kind, and everything that handles nodes reads it instead of
 * switching on the kind:
 *
 *   - its name, and the ONNX operator it implements when the importer may
 *     map it without help (onnx/import-ops.c, onnx/ref.c, onnx/lower-ops.c);
 *   - its input count, and its attributes: the fields of struct
 *     dnnq_model_node it uses, each with its file key, type, element
 *     count and valid range (dnnq_attrs[]); the .dnnq GRAPH section writes
 *     and reads exactly those (engine/model-graph.c) and dnnq-inspect prints
 *     them (tools/inspect.c);
 *   - build: how a node of the file becomes the graph's node description
 *     (engine/model-build.c calls it);
 *   - the graph adapter (engine/graph-internal.h struct node_ops): create,
 *     shape inference, setup, run per ISA, destroy, and the fp32 reference;
 *   - for an elementwise operator, its fp32 function (used by the reference
 *     executor of ONNX models and by the shadow run).
 *
 * The built-in kinds (codes 0..11) are described in engine/graph-nodes.c;
 * every file engine/ops/NAME.c defines one more, `dnnq_op_NAME`, and the
 * Makefile lists those files in the generated header dnnq-ops.h, so adding
 * an operator adds one file (docs/architecture.md, "Adding an operator").
 */
#ifndef DNNQ_ENGINE_OP_H
#define DNNQ_ENGINE_OP_H

#include "engine/model.h"

struct node_ops;

/* ---- attributes ---------------------------------------------------------- */

enum dnnq_attr_type {
	DNNQ_ATTR_U32,
	DNNQ_ATTR_I32,
	DNNQ_ATTR_F32,
	DNNQ_ATTR_I64,
};

/* One field of struct dnnq_model_node as the file stores it. */
struct dnnq_attr_def {
	const char *name;
	uint16_t key;              /* the file's key; bit 15: a reader may skip it */
	uint8_t type;              /* enum dnnq_attr_type */
	uint8_t count;             /* elements */
	uint16_t off;              /* offsetof(struct dnnq_model_node, field) */
	double min, max;           /* each element's valid range (NaN allowed: nan_ok) */
	bool nan_ok;
};

/* Attribute ids: bit i of dnnq_op_def.attrs names dnnq_attrs[i]. */
enum dnnq_attr_id {
	DNNQ_A_WEIGHT, DNNQ_A_BIAS, DNNQ_A_CIN, DNNQ_A_COUT, DNNQ_A_GROUPS, DNNQ_A_KERNEL,
	DNNQ_A_STRIDES, DNNQ_A_DILATIONS, DNNQ_A_PADS, DNNQ_A_N, DNNQ_A_K, DNNQ_A_DYNAMIC,
	DNNQ_A_RELU, DNNQ_A_CLIP, DNNQ_A_CLIP_MIN, DNNQ_A_CLIP_MAX, DNNQ_A_REQUANT,
	DNNQ_A_OUT_DTYPE, DNNQ_A_OUT_SCALE, DNNQ_A_OUT_ZERO_POINT, DNNQ_A_OUT_PRECISION,
	DNNQ_A_OUT_SIGNED, DNNQ_A_POOL, DNNQ_A_CEIL_MODE, DNNQ_A_COUNT_INCLUDE_PAD, DNNQ_A_OP,
	DNNQ_A_PARAMS, DNNQ_A_AXIS, DNNQ_A_NDIM, DNNQ_A_DIMS, DNNQ_A_ACC16, DNNQ_A_ACC16_NBITS,
	DNNQ_A_ACC16_SPILL, DNNQ_A_ACC16_MEASURED, DNNQ_A_PRECISION,
	/* vision (engine/remap.h): per axis, where output index 0 reads, and the stride */
	DNNQ_A_STARTS, DNNQ_A_STEPS,
	DNNQ_A_COUNT,
};

#define DNNQ_A(id) (UINT64_C(1) << (id))
/* The output's quantization: every kind that produces u8 has these. */
#define DNNQ_A_OUT_QP (DNNQ_A(DNNQ_A_OUT_DTYPE) | DNNQ_A(DNNQ_A_OUT_SCALE) |               \
                       DNNQ_A(DNNQ_A_OUT_ZERO_POINT) | DNNQ_A(DNNQ_A_OUT_PRECISION) |       \
                       DNNQ_A(DNNQ_A_OUT_SIGNED))

extern const struct dnnq_attr_def dnnq_attrs[DNNQ_A_COUNT];

/* ---- operators ----------------------------------------------------------- */

/* What a node's build may borrow from the model for the graph (weights
 * unpacked for it; the caller frees `owned` after the graph is built). */
struct dnnq_op_build {
	const struct dnnq_model *m;
	size_t j;                  /* the node */
	enum dnnq_isa isa;
	struct dnnq_weights_cache *cache;
	void *owned;
	/* per model tensor (NULL: none): read as weights by more than one
	 * conv or FC (a 3-D Conv's depths, an unrolled LSTM's steps,
	 * docs/onnx.md); such a node's packed weights are cached under the
	 * tensor (its name, id and the CRC32C of its bytes, sums[], and what
	 * decides the packing: key), not the node, so one copy serves them */
	const bool *shared;
	const uint32_t *sums;
	/* an order of the node's output channels (perm_in false) or of its
	 * 1x1 input channels (true), or NULL: perm[i] is the model's channel
	 * stored i-th (model-build.c, hidden channels); perm_n entries,
	 * perm_sum their CRC32C (in the weights' cache key) */
	const uint32_t *perm;
	size_t perm_n;
	bool perm_in;
	uint32_t perm_sum;
	char key[2 * DNNQ_MODEL_NAME_MAX + 16];
};

/* A conv's or an FC's weights and bias, checked against rows (output
 * channels) and numel; PACKED weights are unpacked into b->owned, and with
 * b->perm the weights, scales, zero points and bias are copies there in
 * that order. */
struct dnnq_op_weights {
	int8_t *w;
	size_t nwq;
	const float *scale;
	const int32_t *zp;          /* NULL when every zero point is 0 */
	const float *bias;
	const int32_t *bias_i32;
};
int dnnq_op_weights(struct dnnq_op_build *b, size_t rows, size_t numel,
                    struct dnnq_op_weights *wt, struct dnnq_diag *diag);
/* An fp32 conv's or FC's weights (numel f32) and bias (rows f32, or NULL),
 * pointers into the model's tensors. */
int dnnq_op_weights_f32(struct dnnq_op_build *b, size_t rows, size_t numel, const float **w,
                        const float **bias, struct dnnq_diag *diag);
/* The node's output qparams (out_scale, out_zero_point, ...). */
struct dnnq_qparams dnnq_op_out_qp(const struct dnnq_model_node *n);
/* "node j ('name'): message" into diag (engine/model-build.c); returns rc. */
int dnnq_op_build_err(struct dnnq_op_build *b, struct dnnq_diag *diag, int rc,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct gnode;

struct dnnq_op_def {
	uint32_t kind;             /* the file's code: enum dnnq_node_kind, or above */
	const char *name;          /* "conv", "sub" */
	const char *onnx;          /* the ONNX op_type it implements alone, or NULL */
	uint32_t min_inputs, max_inputs;
	uint64_t attrs;            /* DNNQ_A() bits */
	/* Checks what a range cannot (NULL: nothing): a message into why. */
	int (*check)(const struct dnnq_model_node *n, char *why, size_t cap);
	/* Fills d->op from the file's node (NULL: nothing to fill). */
	int (*build)(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag);
	const struct node_ops *ops;
	/* The fp32 adapter (engine/f32.h kernels), for nodes whose precision is
	 * fp32; NULL: the kind has none (a boundary kind: convert, reshape). */
	const struct node_ops *ops_f32;
	/* Elementwise operators: y = f(a, b) on real values (NULL otherwise). */
	float (*f32)(float a, float b);
	/* What the kind's family of adapters needs (engine/binary.h: struct
	 * dnnq_binary_impl), or NULL. */
	const void *impl;
	/* Operations a run beyond the bytes a node reads and writes, at the
	 * planned shapes (dnnq_graph_cost; the built-in conv, FC and pools are
	 * counted by engine/graph.c); NULL: none. */
	uint64_t (*work)(const struct dnnq_graph *g, const struct gnode *n);
	/* Why one batch item's output of node n depends on the other items'
	 * values or on the item's place in the batch (dynamic batching runs
	 * different clients' requests as one batch: dnnq_node_info), NULL
	 * when it does not; NULL: never. */
	const char *(*couples_items)(const struct dnnq_graph *g, const struct gnode *n);
};

/* The description of kind, or NULL. */
const struct dnnq_op_def *dnnq_op_get(uint32_t kind);
/* By name ("sub") or by ONNX op_type ("Sub"); NULL when there is none. */
const struct dnnq_op_def *dnnq_op_find(const char *name);
const struct dnnq_op_def *dnnq_op_find_onnx(const char *op_type);
/* Every description, in kind order: *n entries. */
const struct dnnq_op_def *const *dnnq_op_all(size_t *n);

/* Whether node n has attribute id (its kind lists it). */
static inline bool dnnq_op_has(const struct dnnq_op_def *d, enum dnnq_attr_id id)
{
	return d && (d->attrs & DNNQ_A(id));
}

/* Checks n's attributes against the ranges of its kind's description and
 * its check; a message naming the first bad one into why. */
int dnnq_op_check_node(const struct dnnq_model_node *n, char *why, size_t cap);

#endif
