/*
 * engine/xfmr.h — what the transformer and reduction operators share
 * (engine/ops/transpose.c, matmul.c, reduce_*.c, softmax_axis.c,
 * logsoftmax.c, layernorm.c): the node description (struct dnnq_xfmr_desc,
 * engine/graph.h) filled from the model node's generic attributes, the
 * checks of create, and the strides of a tensor.
 *
 * Layout: these operators see a tensor's dims as the graph has them (4-D
 * image tensors NHWC); the lowering composes ONNX's axes with that layout
 * (onnx/lower-xfmr.c), so no activation moves for a layout change.
 */
#ifndef DNNQ_ENGINE_XFMR_H
#define DNNQ_ENGINE_XFMR_H

#include "engine/graph-internal.h"
#include "engine/op.h"

/* The generic attributes an xfmr kind may list (each lists a subset). */
#define DNNQ_XFMR_ATTRS (DNNQ_A(DNNQ_A_OP) | DNNQ_A(DNNQ_A_AXIS) | DNNQ_A(DNNQ_A_NDIM) |     \
                         DNNQ_A(DNNQ_A_DIMS) | DNNQ_A(DNNQ_A_PARAMS) | DNNQ_A(DNNQ_A_PRECISION))

/* Fills d->op.xfmr from the model node (op, axis, ndim, dims, params, the
 * output's qparams, the ISA). */
int dnnq_xfmr_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag);

/* create's common checks: nin inputs, each u8 (int8 nodes) or f32 (fp32
 * nodes; a constant may be u8 there, read through dnnq_graph_const_f32),
 * input 0 an activation. *fp32 gets the node's precision. */
int dnnq_xfmr_inputs(struct dnnq_graph *g, struct gnode *n, size_t nin, bool *fp32,
                     struct dnnq_diag *diag);

/* The output's dtype and qparams: f32, or u8 with the node's out_qp
 * (checked), or with input x's when keep (data movement, max). */
int dnnq_xfmr_out(struct gnode *n, struct gtensor *out, const struct gtensor *x, bool fp32,
                  bool keep, struct dnnq_diag *diag);

/* The table index of the node's ISA (an unknown one: scalar). */
enum dnnq_isa dnnq_xfmr_isa(const struct gnode *n);

/* Element strides of t's dims (row-major). */
void dnnq_xfmr_strides(const struct gtensor *t, size_t *st);

/* Tasks of at least min_elems elements each over rows of len elements:
 * rows per task (>= 1). */
size_t dnnq_xfmr_rows_per_task(size_t len, size_t min_elems);

/* Computed indices (engine/ops/gather_elements.c, scatter_elements.c,
 * gather_nd.c, scatter_nd.c), read once a run before any element moves:
 * element e of src (s32, or f32 holding integers the graph computed). */
static inline double dnnq_xfmr_index_at(const void *src, bool f32, size_t e)
{
	return f32 ? (double)((const float *)src)[e] : ((const int32_t *)src)[e];
}
/* Index v of an axis of len elements, a negative one counted from the end
 * once (as ONNX does), into *i; false when still outside (or, f32, no
 * integer): the caller fails the run, nothing read or written. */
bool dnnq_xfmr_index(double v, int64_t len, int32_t *i);

/* Room for n elements of esz bytes in *table (*cap of them now): grown,
 * never shrunk (setup, at each plan's shapes); DNNQ_E_NOMEM. */
int dnnq_xfmr_reserve(void **table, size_t *cap, size_t n, size_t esz);

/* ScatterElements' and ScatterND's reduction (the node's op; ONNX's
 * names, in this order): y combined with the update u. */
enum { DNNQ_SCATTER_NONE, DNNQ_SCATTER_ADD, DNNQ_SCATTER_MUL, DNNQ_SCATTER_MAX,
       DNNQ_SCATTER_MIN, DNNQ_SCATTER_OPS };
static inline float dnnq_scatter_reduce(uint32_t op, float y, float u)
{
	switch (op) {
	case DNNQ_SCATTER_ADD: return y + u;
	case DNNQ_SCATTER_MUL: return y * u;
	case DNNQ_SCATTER_MAX: return u > y ? u : y;
	case DNNQ_SCATTER_MIN: return u < y ? u : y;
	default: return u;
	}
}
/* Their reader's check: an axis but the batch, op a reduction. */
int dnnq_scatter_check(const struct dnnq_model_node *n, char *why, size_t cap);

/* setup's binding: input 0's buffer into *x, the output's into *y. */
void dnnq_xfmr_bind(struct dnnq_graph *g, const struct gnode *n, const void **x, void **y);

/* run: fn over ceil(units / per_task) tasks of op; DNNQ_E_INVAL when the
 * output y is not bound. */
int dnnq_xfmr_run(const struct dnnq_executor *ex, const void *y, size_t units, size_t per_task,
                  dnnq_task_fn fn, void *op);

#endif
