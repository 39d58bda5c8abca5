/*
 * engine/graph-internal.h — the graph's tensors and nodes, shared by
 * graph.c (building, validation, planning, running) and graph-nodes.c (one
 * adapter per operator kind).
 */
#ifndef DNNQ_ENGINE_GRAPH_INTERNAL_H
#define DNNQ_ENGINE_GRAPH_INTERNAL_H

#include "engine/graph.h"

struct gtensor {
	char name[DNNQ_GRAPH_NAME_MAX];
	enum dnnq_dtype dtype;
	struct dnnq_qparams qp;
	uint32_t ndim;
	int64_t dims[DNNQ_MAX_DIMS];  /* dims[0] = batch once planned (constants: fixed) */
	int producer;                 /* node index; -1: graph input or constant */
	int last_use;                 /* last node reading it (or a view of it); -1 */
	int input_idx, output_idx;    /* -1 when not a graph input / output */
	uint32_t reads;               /* node inputs naming it */
	uint32_t unpooled;            /* of them, MaxUnpools' indices that stay in the
	                                 item (engine/ops/maxunpool.c) */
	int view_of;                  /* reshape: the tensor whose buffer this is */
	int out_alias;                /* an output index whose buffer this tensor uses */
	uint8_t *const_data;          /* constants */
	size_t bytes, offset;         /* size at the planned batch; arena offset */
	void *buf;                    /* resolved for the current run */
	/* channels (the last dim, perm_n) stored in another order than the
	 * model's (model-build.c, hidden channels): channel i holds the
	 * model's perm[i]; NULL: the model's order. Owned. */
	uint32_t *perm;
	size_t perm_n;
};

struct gnode;

struct node_ops {
	/* Creates the operator from n->desc and the input tensors; sets the
	 * output tensor's dtype, qparams and rank (dims other than the batch
	 * where they are known). */
	int (*create)(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
	              struct dnnq_diag *diag);
	/* The output's dims from the inputs' at the planned batch. */
	int (*infer)(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
	             struct dnnq_diag *diag);
	/* Binds the tensors' current buffers (every run: I/O buffers move). */
	int (*setup)(struct dnnq_graph *g, struct gnode *n, unsigned nthreads);
	int (*run)(struct gnode *n, const struct dnnq_executor *ex);
	/* Frees n->op; NULL: n->op is one allocation, which
	 * the graph frees. */
	void (*destroy)(struct gnode *n);
	/* The node's fp32 reference on real-valued inputs (at the planned
	 * shapes), for the shadow run. */
	int (*reference)(struct dnnq_graph *g, struct gnode *n, const float *const *in,
	                 float *out);
	/* The operator may write its output over input 0 (same size and type). */
	bool inplace;
	/* The kernel derives an index from its input's values, or reads them
	 * more than once and relies on getting the same: an input in the
	 * caller's memory (a graph input or output, which another process
	 * may rewrite while the node runs) is copied into private memory
	 * first (graph.c, stage_inputs). */
	bool stable_inputs;
};

struct gnode {
	const struct node_ops *ops;
	struct dnnq_node_desc desc;   /* pointer fields cleared after create */
	char name[DNNQ_GRAPH_NAME_MAX];
	int out;
	void *op;
	float *aux;                   /* what a reference needs that the operator keeps
	                                 private (elementwise-linear's a and b) */
	bool serial;                  /* planned: too little work to split (plan_serial) */
	const uint8_t *post_table;    /* fused: the table of the activation it feeds */
	struct gnode *post_eltwise;   /* fused: the elementwise node it feeds */
	struct gnode *pre_node;       /* fused: the node whose output it reads,
	                                 made in its tasks (dnnq_node_by_pixel) */
	bool fused;                   /* an activation or elementwise node its
	                                 producer applies, or a node its reader
	                                 makes (pre_node); not run */
	struct gnode *chain;          /* the 1x1 convolution after it, run in its
	                                 tasks (graph.c, chain_convs), or a
	                                 depthwise one's in its bands
	                                 (band_convs) */
	struct gnode *bands;          /* the depthwise convolution after it, run
	                                 with it by bands of rows (graph.c,
	                                 band_convs) */
	bool post_sums;               /* fused: sums its rows for a global pool */
	const struct gnode *sums_of;  /* fused: the global pool adds these row sums */
};

struct dnnq_graph {
	struct gtensor *t;
	size_t nt, capt;
	struct gnode *n;
	size_t nn, capn;
	int *inputs, *outputs;
	size_t ninputs, noutputs;
	/* tensor ids by name (open addressing, -1 free, at most half full):
	 * a name is checked for reuse in constant time (graph.c, name_taken) */
	int *names;
	size_t names_cap;
	bool finalized;
	size_t batch;
	unsigned nthreads;
	bool planned;
	uint8_t *arena;
	size_t arena_bytes;
	size_t arena_used;            /* what the plan lays out (under ASan the
	                               * rest of the arena is poisoned) */
	uint8_t *stage;               /* private copies for stable_inputs nodes */
	ptrdiff_t failed;             /* dnnq_graph_failed_node */
	size_t stage_bytes;
	/* the shadow run's executor while it runs (else NULL): the conv and
	 * FC references split their work on it */
	const struct dnnq_executor *shadow_ex;
	/* the shadow run: fused activations run as nodes of their own, so
	 * that each node's output is its own (graph.c, fuse_into_convs) */
	bool unfused;
	/* built without a weights cache (engine/model-build.c): its convs'
	 * and FCs' packed weights, in the cache's huge-page arena; or NULL */
	struct dnnq_weights_cache *own_cache;
};

static inline struct gtensor *gin(struct dnnq_graph *g, const struct gnode *n, size_t k)
{
	return &g->t[n->desc.inputs[k]];
}

/* t's element count into *n; false when a dim is negative or the product
 * overflows a size_t. Shape checks and planning use this one. */
static inline bool gnumel_checked(const struct gtensor *t, size_t *n)
{
	size_t p = 1;
	for (uint32_t i = 0; i < t->ndim; i++)
		if (t->dims[i] < 0 || (uint64_t)t->dims[i] > SIZE_MAX ||
		    __builtin_mul_overflow(p, (size_t)t->dims[i], &p))
			return false;
	*n = p;
	return true;
}

/* t's element count; SIZE_MAX (never a usable size) where gnumel_checked
 * fails. The graph refuses such a shape when a node is added and when it
 * is planned (graph.c), so the run-time callers never see SIZE_MAX. */
static inline size_t gnumel(const struct gtensor *t)
{
	size_t n;
	return gnumel_checked(t, &n) ? n : SIZE_MAX;
}

/* The infer of a kind whose output's dims are fixed at create but the
 * batch: dims[0] is input 0's (engine/graph-nodes.c). */
int dnnq_infer_batch(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag);

/* Node n's 256-entry table on its u8 input when n is nothing else (an
 * int8 activation), which graph.c (fuse_into_convs) may move into the
 * producer's output stage; NULL for other nodes (engine/graph-nodes.c). */
const uint8_t *dnnq_node_table(const struct gnode *n);
/* Whether node n can put each u8 output value it stores through a table
 * (an int8 convolution), and setting that table (NULL: none) until set
 * again. */
bool dnnq_node_takes_table(const struct gnode *n);
int dnnq_node_set_table(struct gnode *n, const uint8_t *table);
/* Whether node n computes each output element from the same element of
 * its inputs alone (an int8 eltwise node with no broadcast input), so that
 * a producer of one of them may run it on what it just stored; and
 * setting such a node e (NULL: none) into the output stage of a node n
 * that takes a table, bound to the buffers e's setup bound last. */
bool dnnq_node_runs_at(const struct gnode *n);
int dnnq_node_set_post(struct gnode *n, const struct gnode *e);
/* Whether node n is an int8 binary node whose output is made pixel by
 * pixel, each pixel's channels from the same pixel of one input and a
 * per-channel row (a squeeze-and-excitation scale's Mul:
 * dnnq_binary_pixels makes any range of pixels); whether node n can
 * make its input's pixels before it reads them (a 1x1 convolution of
 * stride 1), and setting such a node e into n (NULL: none), bound to the
 * buffers e's setup bound last. */
bool dnnq_node_by_pixel(struct dnnq_graph *g, const struct gnode *n);
/* Pixels [p0, p1) (over the batch) of the output of op, the operator of
 * a node for which dnnq_node_by_pixel holds, from its inputs as setup
 * bound them (engine/binary.c). */
void dnnq_binary_pixels(const void *op, size_t p0, size_t p1);
bool dnnq_node_takes_pre(const struct gnode *n);
int dnnq_node_set_pre(struct gnode *n, const struct gnode *e);
/* Runs node n, a 1x1 convolution for which dnnq_node_takes_pre holds,
 * and then next, another, reading n's output: in one GEMM chain
 * (dnnq_conv_run_chain), each bound by its setup. */
int dnnq_node_run_chain(struct gnode *n, struct gnode *next, const struct dnnq_executor *ex);
/* Whether node n, a 1x1 convolution for which dnnq_node_takes_pre holds,
 * is to run by bands with the depthwise one after it (dnnq_conv_bands_pay);
 * running node n with dw, a depthwise one reading n's output
 * (dnnq_node_sums_rows holds),
 * and pw, a 1x1 one reading dw's (or NULL), by bands of dw's rows with n's
 * output in private copies at buf + tid * stride (dnnq_conv_run_bands),
 * each bound by its setup. */
bool dnnq_node_runs_bands(const struct gnode *n);
int dnnq_node_run_bands(struct gnode *n, struct gnode *dw, struct gnode *pw, uint8_t *buf,
                        size_t stride, const struct dnnq_executor *ex);
/* Whether node n can sum, per output row and channel, the u8 values it
 * stores (a depthwise int8 convolution: dnnq_conv_set_sums), and turning
 * that on or off; whether node n is a global pool that can add such sums
 * instead of reading its input (int8). */
bool dnnq_node_sums_rows(const struct gnode *n);
int dnnq_node_set_sums(struct gnode *n, bool on);
bool dnnq_node_pools_sums(const struct gnode *n);
/* A model node's pool[] and ceil_mode as the pooling geometry. */
struct dnnq_pooling_geom dnnq_model_pool_geom(const struct dnnq_model_node *n);

/* A constant's values as f32 (malloc'd): an f32 one copied, a u8 one
 * dequantized; NULL when out of memory. */
float *dnnq_graph_const_f32(const struct gtensor *t);

#endif
