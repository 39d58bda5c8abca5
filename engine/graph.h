/*
 * engine/graph.h — a model as a graph of operators, run with zero-copy I/O.
 *
 * Build: add the graph inputs, then nodes (each node reads existing tensors
 * and produces one new tensor, so the order of addition is a topological
 * order), then mark outputs, then finalize (validation: every tensor is
 * consumed or an output, every name unique). Every node's operator is
 * created when it is added: weights are packed once, at model load.
 *
 * Shapes: tensors are NHWC (4-D) for images, [N, features] (2-D) for FC, or
 * any rank up to 8; dims[0] is the batch, symbolic until dnnq_graph_plan
 * fixes it (the value given at build time is ignored).
 *
 * Plan: for a batch size, infers every shape, lays the intermediate tensors
 * out in one arena by liveness (a buffer is reused once its last reader has
 * run; reshapes are views, no copy), and sizes per-thread scratch.
 * Run: the graph inputs are read from, and the outputs written to, the
 * caller's buffers (shared memory in the daemon) without a copy.
 */
#ifndef DNNQ_ENGINE_GRAPH_H
#define DNNQ_ENGINE_GRAPH_H

#include "engine/conv.h"
#include "engine/eltwise.h"
#include "engine/f32.h"
#include "engine/fc.h"
#include "engine/pooling.h"
#include "engine/qtensor.h"
#include "engine/remap.h"

#define DNNQ_GRAPH_MAX_NODE_INPUTS 16
#define DNNQ_GRAPH_NAME_MAX 64

enum dnnq_node_kind {
	DNNQ_NODE_CONV,
	DNNQ_NODE_FC,
	DNNQ_NODE_MAXPOOL,
	DNNQ_NODE_AVGPOOL,
	DNNQ_NODE_GAVGPOOL,
	DNNQ_NODE_ELTWISE,       /* Add, Mul, Sum, SumRelu */
	DNNQ_NODE_ACTIVATION,    /* Relu, Clip, ... through a table */
	DNNQ_NODE_CONVERT,       /* Quantize, Dequantize */
	DNNQ_NODE_SOFTMAX,
	DNNQ_NODE_ELTWISE_LINEAR,
	DNNQ_NODE_CONCAT,
	DNNQ_NODE_RESHAPE,       /* a view: Flatten, Reshape, Squeeze */
	DNNQ_NODE_KIND_COUNT,    /* the built-in kinds; engine/ops/ adds more */
};

/* A node's arithmetic: int8 (u8 activations in and out, or the boundary
 * kinds' mix) or fp32 (f32 in and out, engine/f32.h); docs/graph.md. */
enum dnnq_precision {
	DNNQ_PRECISION_INT8 = 0,
	DNNQ_PRECISION_FP32 = 1,
};

/* xfmr: the model node's generic attributes as the transformer and
 * reduction operators read them (engine/xfmr.h). */
struct dnnq_xfmr_desc {
	enum dnnq_isa isa;
	struct dnnq_qparams out_qp;
	uint32_t op, axis, ndim;
	uint32_t k;                    /* topk: the elements kept */
	int64_t dims[DNNQ_MAX_DIMS];
	float params[4];
	const float *w, *b;            /* layernorm: scale and bias (f32), wn each */
	size_t wn;
};

/* engine/ops/embed.c: the table, rows x width f32 (the model's tensor) */
struct dnnq_embed_desc {
	const float *table;
	size_t rows, width;
	struct dnnq_weights_cache *cache;   /* the table shared by the model's graphs */
};

struct dnnq_node_desc {
	uint32_t kind;                 /* enum dnnq_node_kind, or an engine/ops/ code */
	uint32_t precision;            /* enum dnnq_precision */
	const char *name;
	size_t ninputs;
	int inputs[DNNQ_GRAPH_MAX_NODE_INPUTS];    /* tensor ids */
	/* The operator's description. The graph fills in what the input tensors
	 * determine: input qparams (conv, fc, pooling, eltwise, activation,
	 * softmax, elementwise-linear, concat), channel counts, broadcasting,
	 * concat's rank; the caller gives the rest (weights, geometry, output
	 * qparams). */
	union {
		struct dnnq_conv_desc conv;
		struct dnnq_fc_desc fc;
		struct dnnq_f32_conv_desc conv_f32;
		struct dnnq_f32_fc_desc fc_f32;
		struct dnnq_maxpool_desc maxpool;
		struct dnnq_avgpool_desc avgpool;
		struct dnnq_gavgpool_desc gavgpool;
		struct dnnq_eltwise_desc eltwise;
		struct dnnq_activation_desc activation;
		struct dnnq_convert_desc convert;
		struct dnnq_softmax_desc softmax;
		struct dnnq_elementwise_linear_desc ewlin;
		struct dnnq_concat_desc concat;
		struct {                       /* engine/binary.h, engine/unary.h */
			enum dnnq_isa isa;
			struct dnnq_qparams out_qp;
		} binary;
		struct {
			uint32_t ndim;
			int64_t dims[DNNQ_MAX_DIMS];   /* dims[0] ignored: the batch */
		} reshape;
		/* vision: engine/ops/resize.c (op: engine/resize.h's mode) */
		struct {
			enum dnnq_isa isa;
			uint32_t mode;
			float scale[2];                /* H, W: output / input */
			int64_t out_h, out_w;
			float cubic_a;                 /* cubic: the coefficient A */
			bool exclude;                  /* cubic: exclude_outside */
		} resize;
		struct {                       /* engine/ops/convtranspose.c */
			enum dnnq_isa isa;
			size_t cin, cout, groups, kh, kw, sh, sw, dh, dw;
			size_t pad_t, pad_l, pad_b, pad_r, out_h, out_w;
			/* weights cout x cin / groups x kh x kw: fp32 w; int8 wq
			 * with nwq (1 or cout) scales and zero points (NULL: 0) */
			const float *w;
			const int8_t *wq;
			size_t nwq;
			const float *w_scale;
			const int32_t *w_zero_point;
			const float *bias;             /* cout, or NULL */
			const int32_t *bias_i32;       /* int8: cout at x scale * w scale, or NULL */
			struct dnnq_qparams out_qp;    /* int8 */
		} convt;
		struct {                       /* engine/ops/maxpool_indices.c */
			struct dnnq_pooling_geom geom;
			uint32_t op;               /* DNNQ_POOL_INDICES_COLUMNS or 0 */
		} pool_indices;
		struct dnnq_remap_desc remap;  /* engine/remap.h: slice, pad, gather */
		/* xfmr: the transformer and reduction operators (engine/xfmr.h) */
		struct dnnq_xfmr_desc xfmr;
		struct dnnq_embed_desc embed;
	} op;
};

struct dnnq_tensor_info {
	const char *name;
	enum dnnq_dtype dtype;         /* U8 or F32 */
	struct dnnq_qparams qp;        /* U8 */
	uint32_t ndim;
	int64_t dims[DNNQ_MAX_DIMS];   /* dims[0]: the planned batch (0 before) */
	size_t bytes;                  /* at the planned batch */
};

struct dnnq_graph;

int dnnq_graph_create(struct dnnq_graph **out);
void dnnq_graph_destroy(struct dnnq_graph *g);

/* Returns the new tensor's id (>= 0) or a negative status. */
int dnnq_graph_add_input(struct dnnq_graph *g, const char *name, enum dnnq_dtype dt,
                         uint32_t ndim, const int64_t *dims, const struct dnnq_qparams *qp,
                         struct dnnq_diag *diag);
/* A constant u8 tensor (a per-channel or scalar operand of Add/Mul, say):
 * no batch dimension; data (numel bytes) is copied. */
int dnnq_graph_add_constant(struct dnnq_graph *g, const char *name, uint32_t ndim,
                            const int64_t *dims, const struct dnnq_qparams *qp,
                            const uint8_t *data, struct dnnq_diag *diag);
/* The same of f32 values, for fp32 nodes (int8 ones refuse it). */
int dnnq_graph_add_constant_f32(struct dnnq_graph *g, const char *name, uint32_t ndim,
                                const int64_t *dims, const float *data, struct dnnq_diag *diag);
/* Returns the id of the tensor the node produces, or a negative status with a
 * message naming the node. */
int dnnq_graph_add_node(struct dnnq_graph *g, const struct dnnq_node_desc *d,
                        struct dnnq_diag *diag);
int dnnq_graph_add_output(struct dnnq_graph *g, int tensor, struct dnnq_diag *diag);
int dnnq_graph_finalize(struct dnnq_graph *g, struct dnnq_diag *diag);

int dnnq_graph_plan(struct dnnq_graph *g, size_t batch, unsigned nthreads,
                    struct dnnq_diag *diag);
/* src's activation arena and staging buffer handed to dst, before dst is
 * planned (DNNQ_E_INVAL once it is): dst's plan keeps them where they are
 * big enough. One graph after another at one batch (dnnq-convert's
 * trials, onnx/trials.h) thus reuses memory the process has already
 * faulted in, instead of mapping and zeroing an arena of its own each
 * time. src is left unplanned: it runs again only once planned again. */
int dnnq_graph_take_buffers(struct dnnq_graph *dst, struct dnnq_graph *src);
/* What running g at `batch` on nthreads threads takes, from the shapes
 * alone (nothing is allocated or run; dnnq_graph_plan again before a
 * run). Work counts
 * operations: a byte a node reads or writes, a multiply-add, a pooling
 * window's tap. dnnqd refuses a model past its bounds (docs/serving.md). */
struct dnnq_graph_cost {
	uint64_t bytes;                /* the activation arena and staging buffer */
	uint64_t graph_bytes;          /* the graph's own nodes and tensors */
	uint64_t work;                 /* every node's (saturating) */
	uint64_t node_work;            /* the costliest node's ... */
	size_t node;                   /* ... and its index */
};
int dnnq_graph_cost(struct dnnq_graph *g, size_t batch, unsigned nthreads,
                    struct dnnq_graph_cost *out, struct dnnq_diag *diag);

/* inputs[i] / outputs[i]: buffers of graph input / output i at the planned
 * batch. */
int dnnq_graph_run(struct dnnq_graph *g, const void *const *inputs, void *const *outputs,
                   const struct dnnq_executor *ex);

/* dnnq_graph_run that calls stop(arg) before each node and ends with
 * DNNQ_E_AGAIN when it says so (dnnqd's warm-up, cancelled by SIGTERM). */
int dnnq_graph_run_stoppable(struct dnnq_graph *g, const void *const *inputs,
                             void *const *outputs, const struct dnnq_executor *ex,
                             bool (*stop)(void *arg), void *arg);

/* Part of a run (dnnq-convert's trials, onnx/trials.h): the buffers bound as
 * dnnq_graph_run binds them, then nodes [from, to) alone (from == to: only
 * the binding), table activations, elementwise nodes, scales and chained
 * 1x1 convolutions apart from the convolutions they are fused into. The arena keeps its values between calls, so runs of [0, k)
 * then [k, n) compute what one dnnq_graph_run does. */
int dnnq_graph_run_nodes(struct dnnq_graph *g, const void *const *inputs, void *const *outputs,
                         const struct dnnq_executor *ex, size_t from, size_t to);
/* Nodes [k, n) of g, with the values of its nodes before k taken from src,
 * whose last dnnq_graph_run_nodes stopped at k: the caller proves that
 * both graphs' nodes before k are the same (the same records and weights,
 * onnx/resume.c) and binds the same inputs. DNNQ_E_UNSUPPORTED, before
 * anything runs, when a value g needs is no longer in src's buffers (src
 * does not read it after k) or has another size or type there: run g
 * whole then. */
int dnnq_graph_run_from(struct dnnq_graph *g, const struct dnnq_graph *src, size_t k,
                        const void *const *inputs, void *const *outputs,
                        const struct dnnq_executor *ex);

/* The shadow run (DNNLOWP's measure_quantization_error, for the whole
 * graph): dnnq_graph_run, and beside it every node's fp32 reference. Per
 * node, `sqnr_db` compares the node's quantized output (dequantized) with an
 * fp32 chain started from the dequantized graph inputs (the error the model
 * has accumulated there), `local_sqnr_db` with the node's fp32 reference fed
 * the node's own quantized inputs (the error this node adds). report has
 * dnnq_graph_num_nodes entries; name points into the graph. */
struct dnnq_node_report {
	const char *name;
	uint32_t kind;                 /* enum dnnq_node_kind, or an engine/ops/ code */
	double sqnr_db, local_sqnr_db;
	uint32_t precision;            /* enum dnnq_precision */
};

/* "int8" or "fp32". */
const char *dnnq_precision_name(uint32_t precision);

int dnnq_graph_shadow(struct dnnq_graph *g, const void *const *inputs, void *const *outputs,
                      const struct dnnq_executor *ex, struct dnnq_node_report *report);
/* dnnq_graph_shadow that also hands over the fp32 chain's values at the
 * outputs of the nodes i with keep[i]: chain[i] (malloc'ed, the output's
 * elements, the caller frees; NULL for the others and on failure), so that
 * a later run of the same nodes with other kernels can be compared with
 * them (--acc16=auto's trials) without computing the chain again. */
int dnnq_graph_shadow_keep(struct dnnq_graph *g, const void *const *inputs,
                           void *const *outputs, const struct dnnq_executor *ex,
                           struct dnnq_node_report *report, const bool *keep, float **chain);

size_t dnnq_graph_num_inputs(const struct dnnq_graph *g);
size_t dnnq_graph_num_outputs(const struct dnnq_graph *g);
int dnnq_graph_input_info(const struct dnnq_graph *g, size_t i, struct dnnq_tensor_info *out);
int dnnq_graph_output_info(const struct dnnq_graph *g, size_t i, struct dnnq_tensor_info *out);
size_t dnnq_graph_num_nodes(const struct dnnq_graph *g);

/* dnnq_graph_run timing each node: ns[i] += node i's nanoseconds
 * (CLOCK_MONOTONIC; dnnq_graph_num_nodes entries; NULL: no timing). */
int dnnq_graph_run_profiled(struct dnnq_graph *g, const void *const *inputs,
                            void *const *outputs, const struct dnnq_executor *ex, uint64_t *ns);

/* Node i as a profile shows it. macs: multiply-adds of a conv or FC at the
 * planned batch (0 for other kinds); bytes: what its inputs and output
 * hold at the planned batch (0 before planning); serial: the plan runs it
 * on the calling thread alone, its work being below a fork and join's
 * cost (docs/graph.md, "Running"); fused: below. */
struct dnnq_node_info {
	const char *name;              /* points into the graph */
	uint32_t kind, precision;
	struct dnnq_tensor_info out;
	uint64_t macs, bytes;
	bool serial;
	/* an activation or elementwise node (a residual Add) its producer's
	 * output stage applies, a squeeze-and-excitation scale the 1x1
	 * convolution reading it makes in its tasks, or a 1x1 convolution
	 * run in the tasks of the 1x1 convolution whose output it reads
	 * (docs/graph.md, "Running"): it takes no time of its own */
	bool fused;
	/* a global pool that adds the sums its producer took of the rows it
	 * stored (docs/graph.md, "Running"): it reads none of its input */
	bool summed;
	/* why one batch item's output depends on the other items' values or
	 * on its place in the batch, NULL when it does not: an FC quantizing
	 * its f32 input dynamically takes one scale for the whole batch, so a
	 * large value in one item flattens every other item; MaxPool's
	 * Indices count the items before their own (struct dnnq_op_def's
	 * couples_items) */
	const char *couples_items;
};
int dnnq_graph_node_info(const struct dnnq_graph *g, size_t i, struct dnnq_node_info *out);
/* The node whose run ended the last run of g with an error (an
 * embedding's id outside its table: DNNQ_E_RANGE), or -1. */
ptrdiff_t dnnq_graph_failed_node(const struct dnnq_graph *g);
/* Bytes of the activation arena at the planned batch. */
size_t dnnq_graph_arena_bytes(const struct dnnq_graph *g);
/* The kind's name in its description (engine/op.h), or "unknown". */
const char *dnnq_node_kind_name(uint32_t kind);

#endif
