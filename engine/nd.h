/*
 * engine/nd.h — what GatherND and ScatterND share (engine/ops/gather_nd.c,
 * scatter_nd.c): tensors seen in ONNX's order of dims, and the index
 * tuples that address the data.
 *
 * Layout: the engine holds a 4-D value NHWC. Rather than move it, these
 * operators read and write every tensor through a view in ONNX's order
 * (N, C, H, W), whose strides step through the engine's storage; the
 * lowering hands them values as the graph holds them.
 *
 * The tuples: data x [N, B..., D1..Dk, R...], indices [N, B..., I..., k]
 * (axis = 1 + the count of B, ONNX's batch_dims after the engine's batch):
 * each tuple of k indices picks the slice x[n, b..., i1..ik, :] of its
 * group (n, b...). They are read once a run into a private table before any
 * element moves: a negative index counted from the end once, one still
 * outside its dim (or an f32 that is no integer) fails the run.
 */
#ifndef DNNQ_ENGINE_ND_H
#define DNNQ_ENGINE_ND_H

#include "engine/graph-internal.h"

/* A tensor in ONNX's order: its dims and each one's storage stride. */
struct dnnq_nd_view {
	uint32_t nd;
	int64_t dims[DNNQ_MAX_DIMS];
	size_t st[DNNQ_MAX_DIMS];
};

struct dnnq_nd {
	struct dnnq_nd_view x, ix, g;  /* data, indices, the gathered (GatherND's
	                                  output, ScatterND's updates) */
	uint32_t axis, k;
	size_t tuples, per_group;      /* tuples in all, in each group */
	size_t span, slice;            /* elements of one group of x, of one slice */
	size_t *at;                    /* each tuple's slice: its first element of x in
	                                  ONNX's order (cap of them) */
	size_t cap;
	bool idx_f32;
};

/* t (the graph's dims) as ONNX orders them. */
void dnnq_nd_view(const struct gtensor *t, struct dnnq_nd_view *v);
/* Element e of v in ONNX's row-major order: its offset in the storage. */
size_t dnnq_nd_at(const struct dnnq_nd_view *v, size_t e);
/* The shapes of data x and indices it on axis (1..): nd's sizes, and
 * nd->g the gathered shape (its storage: the graph's layout of its rank);
 * DNNQ_E_SHAPE with a message naming node n when they do not agree. */
int dnnq_nd_shape(struct dnnq_nd *nd, const struct gnode *n, const struct gtensor *x,
                  const struct gtensor *it, uint32_t axis, struct dnnq_diag *diag);
/* The gathered shape as the graph holds it (NHWC at rank 4). */
void dnnq_nd_graph_dims(const struct dnnq_nd_view *g, int64_t *dims);
/* The tuples of indices src (s32, or f32 when f32; the storage of nd->ix)
 * into nd->at; the first element outside its dim (in ONNX's order), or -1. */
ptrdiff_t dnnq_nd_load(struct dnnq_nd *nd, const void *src, bool f32);

#endif
