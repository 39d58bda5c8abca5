/*
 * onnx/lower-internal.h — what onnx/lower.c (the driver: values, edges,
 * Q/DQ parameters) and onnx/lower-ops.c (one function per IR operator)
 * share. Not for callers.
 *
 * Model values are referenced while lowering by a tagged id (the model
 * numbers constants before nodes, and the constant count is known only at
 * the end): graph inputs as they are, constant c as REF_CONST + c, node j
 * as REF_NODE + j; dnnq_onnx_lower renumbers them once everything exists.
 */
#ifndef DNNQ_ONNX_LOWER_INTERNAL_H
#define DNNQ_ONNX_LOWER_INTERNAL_H

#include "onnx/lower.h"

#define REF_NODE 0x20000000
#define REF_CONST 0x40000000

enum { WS_ROWS, WS_COLS };     /* struct lval's wshared layouts */

/* How an IR value exists in the model being built. */
struct lval {
	int32_t u8;                /* ref of its u8 tensor, engine layout (NHWC), or -1 */
	struct dnnq_qparams qp;    /* that tensor's parameters */
	int32_t f32;               /* ref of an f32 tensor, or -1 */
	int32_t s32;               /* ref of an int32 tensor (engine layout), or -1 */
	bool f32_onnx;             /* ... in the ONNX layout (a graph input) */
	/* a flattened NCHW tensor, stored in NHWC order: element (c, h, w) of
	 * the ONNX flattening sits at (h * pw + w) * pc + c */
	bool perm;
	int64_t pc, ph, pw;
	/* a constant: the model tensor of the Conv or Gemm weights lowered
	 * from it as they are (no BatchNormalization folded, no alpha, no
	 * column permutation), per layout (WS_ROWS: a Conv's, a Gemm's with
	 * transB; WS_COLS: transposed, a Gemm's without, a MatMul's) and
	 * precision (int8 [0], fp32 [1]), or -1; the other readers of that
	 * layout share it (a 3-D Conv's per-depth 2-D Convs, an unrolled
	 * LSTM's steps: docs/onnx.md) */
	int32_t wshared[2][2];
};

struct lower {
	const struct dnnq_ir *ir;
	const struct dnnq_lower_opts *o;
	struct dnnq_qparams *qp;   /* nvalues: the caller's, then Q/DQ overrides */
	bool *has_qp;
	struct lval *v;            /* nvalues */
	uint32_t *nreaders;        /* nvalues: node inputs reading it (+1 if an output) */
	int32_t *reader;           /* nvalues: the first live node reading it, -1 */
	bool *is_output;           /* nvalues */
	bool *nonfinite;           /* nvalues: may hold inf or NaN (a float constant that
	                              does, and what a node computes from one, up to a
	                              Softmax: an attention mask's -inf) */
	bool *live, *done;         /* nnodes: needed; lowered (or fused into another) */
	bool *used;                /* nvalues: scratch of the liveness pass */
	struct dnnq_model *m;
	bool fp32;                 /* the node being lowered is kept in fp32 */
	size_t cur;                /* the node being lowered */
	int32_t refused;           /* the node int8 refused (int8_refuse), or -1 */
	uint32_t whole;            /* the last node lowered's dnnq_ir_node.whole */
	int32_t whole_head;        /* its unit: the first of its nodes with an fp32 form, or -1 */
	size_t cap_nodes, cap_tensors, cap_consts;
	struct dnnq_diag *diag;
};

/* The attributes of mn's kind (its description, engine/op.h) that have an
 * ONNX counterpart in the IR node, copied into mn after a check against
 * the attribute's range (onnx/lower.c's table says which and from where);
 * an error naming the node, the attribute and the range. */
int map_attrs(struct lower *L, const struct dnnq_ir_node *n, struct dnnq_model_node *mn);

/* What decides a Conv's or Gemm's weights beside its IR node and its
 * precision (dnnq_lower_wcache): a BatchNormalization folded in, the
 * column permutation of a flattened input (struct lval's perm), the
 * options. */
struct wkey {
	bool bn, perm, per_channel, symmetric;
	int64_t pc, ph, pw;
	bool model;                /* the weight is a DequantizeLinear of integers */
};

/* The weight tensor IR node j's (unit's) key k gave before at L's
 * precision (int8 or fp32), or NULL (no cache, or not yet, or another
 * key). */
const struct dnnq_qtensor *wcache_find(const struct lower *L, size_t j, const struct wkey *k);
/* A copy of model tensor id, for IR node j and key k (no cache: nothing). */
int wcache_put(struct lower *L, size_t j, const struct wkey *k, int id);
/* A new model tensor named name, a copy of t; its id. */
int add_tensor_copy(struct lower *L, const char *name, const struct dnnq_qtensor *t);

/* One diag line naming the IR node: "node 'conv1' (Conv): ...". */
int lower_err(struct lower *L, const struct dnnq_ir_node *n, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* lower_err for what int8 cannot represent in node n (the node being
 * lowered, L->fp32 false): notes the node so that --precision auto lowers
 * it fp32 instead (dnnq_lower_opts.int8_refused). */
int int8_refuse(struct lower *L, const struct dnnq_ir_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

const struct dnnq_ir_value *lval_ir(const struct lower *L, int32_t v);
/* Checks a value id read by n (inputs[k]); -1 (absent) is allowed when optional. */
int check_input(struct lower *L, const struct dnnq_ir_node *n, uint32_t k, bool optional);
/* 4-D values whose NHWC and NCHW element orders agree (C == 1 or H == W == 1). */
bool same_order(const struct dnnq_ir_value *v);
/* The value's dims in the engine's layout. */
void engine_dims(const struct dnnq_ir_value *v, int64_t *dims);
/* The ONNX axis of a value in the engine's layout. */
uint32_t engine_axis(const struct dnnq_ir_value *v, uint32_t axis);

/* name + suffix as a model name: as it is when it fits, else the head of
 * name, '~', a hash of both and the suffix (distinct names stay distinct). */
void model_name(char buf[DNNQ_MODEL_NAME_MAX], const char *name, const char *suffix);

/* A new model node (init'ed, with the precision of the node being
 * lowered), or NULL (diag set); *ref gets its value. */
struct dnnq_model_node *add_node(struct lower *L, enum dnnq_node_kind kind, const char *name,
                                 int32_t *ref);
/* The same with one input, in. */
struct dnnq_model_node *add_node1(struct lower *L, enum dnnq_node_kind kind, const char *name,
                                  int32_t in, int32_t *ref);
/* add_node1 of two inputs, in0 and in1. */
struct dnnq_model_node *add_node2(struct lower *L, enum dnnq_node_kind kind, const char *name,
                                  int32_t in0, int32_t in1, int32_t *ref);
/* A new model tensor named name, initialised; its id, or a negative status. */
int add_tensor(struct lower *L, const char *name, struct dnnq_qtensor **t);
/* An f32 tensor [n] of data; its id, or a negative status. */
int add_f32_tensor(struct lower *L, const char *name, const float *data, size_t n);
/* A tensor of 4-byte elements of dtype dt (f32, s32), of shape dims; its
 * id, or a negative status. */
int add_tensor_nd(struct lower *L, const char *name, enum dnnq_dtype dt, const void *data,
                  uint32_t ndim, const int64_t *dims);
/* An s32 tensor [n] of data (gather's indices); its id, or a negative status. */
int add_s32_tensor(struct lower *L, const char *name, const int32_t *data, size_t n);
/* A constant [n] in the precision of the node being lowered: f32, or u8
 * (add_u8_constant); its ref. */
int add_constant(struct lower *L, const char *name, const float *data, size_t n, int32_t *ref);
/* The same of shape dims (ndim). */
int add_constant_nd(struct lower *L, const char *name, const float *data, uint32_t ndim,
                    const int64_t *dims, int32_t *ref);
/* A u8 constant of shape dims holding the integers data (int8 ones, s8,
 * stored + 128) with parameters qp (the zero point in that storage). */
int add_q8_constant(struct lower *L, const char *name, const void *data, bool s8, uint32_t ndim,
                    const int64_t *dims, const struct dnnq_qparams *qp, int32_t *ref);
/* An f32 constant of shape dims (ndim) whatever the node's precision; its ref. */
int add_f32_constant(struct lower *L, const char *name, const float *data, uint32_t ndim,
                     const int64_t *dims, int32_t *ref);
/* A u8 constant [n] (scalar: n = 1) quantized with its own min/max; its ref. */
int add_u8_constant(struct lower *L, const char *name, const float *data, size_t n,
                    int32_t *ref);
/* Weights rows x cols (row-major, f32) quantized as the options say into a
 * new s8 tensor of shape dims (ndim); its id or a negative status. */
int add_weight_tensor(struct lower *L, const char *name, const float *w, size_t rows,
                      size_t cols, uint32_t ndim, const int64_t *dims);

/* The value's quantization parameters (an error naming it when it has none). */
int value_qp(struct lower *L, const struct dnnq_ir_node *n, int32_t v, struct dnnq_qparams *qp);
/* The u8 / f32 tensor of a value, converting as needed; ref or negative. */
int need_u8(struct lower *L, const struct dnnq_ir_node *n, int32_t v, int32_t *ref);
int need_f32(struct lower *L, const struct dnnq_ir_node *n, int32_t v, int32_t *ref);
/* The activation input of the node being lowered, in its precision: u8,
 * or f32 when it is kept in fp32 (L->fp32). */
int need_act(struct lower *L, const struct dnnq_ir_node *n, int32_t v, int32_t *ref);
/* Sets the node's output quantization from qp. */
void set_out_qp(struct dnnq_model_node *mn, const struct dnnq_qparams *qp);

/* Whether a value is a constant (or DequantizeLinear of one). */
bool is_const(const struct lower *L, int32_t v);
/* Its elements as floats (malloc'd; dequantized for a DequantizeLinear of a
 * constant); an error naming n when it is not a constant or has another
 * element count than want (0: any). */
int const_f32(struct lower *L, const struct dnnq_ir_node *n, int32_t v, size_t want,
              float **out, size_t *numel);
/* Integer constants (u8, s8, s32, s64) as int64 (malloc'd). */
int const_int(struct lower *L, const struct dnnq_ir_node *n, int32_t v, int64_t **out,
              size_t *numel);

/* Per-tensor parameters of an activation quantized by n: scale input si,
 * zero point input zi (absent: 0), the integer dtype dt (int8 is stored as
 * uint8 with the zero point + 128). */
int act_qparams(struct lower *L, const struct dnnq_ir_node *n, uint32_t si, uint32_t zi,
                enum dnnq_ir_dtype dt, struct dnnq_qparams *qp);
/* Whether Quantize/DequantizeLinear n has per-axis parameters (a scale of
 * more than one element). */
bool per_axis(const struct lower *L, const struct dnnq_ir_node *n);
/* The parameters of integers of dtype dt kept as they are: scale 1, int8
 * stored as uint8 + 128. */
struct dnnq_qparams raw_qp(enum dnnq_ir_dtype dt);
static inline bool qp_eq(const struct dnnq_qparams *a, const struct dnnq_qparams *b)
{
	return a->scale == b->scale && a->zero_point == b->zero_point &&
	       a->precision == b->precision && a->is_signed == b->is_signed;
}

/* x's zero point of ConvInteger / MatMulInteger n (input 2; 0 when absent),
 * in the uint8 storage (an int8 one + 128). */
int integer_zero_point(struct lower *L, const struct dnnq_ir_node *n, int32_t *zp);

/* The single live reader of v when v has exactly one and is no graph output, else -1. */
int32_t sole_reader(const struct lower *L, int32_t v);

/* Node mn (value ref) produces IR value out: u8 with out's calibrated
 * parameters, or f32 (engine layout) when kept in fp32. */
int act_out(struct lower *L, const struct dnnq_ir_node *n, int32_t out,
            struct dnnq_model_node *mn, int32_t ref);

/* lower-ops.c: lowers IR node j (and marks what it fuses done). */
int lower_node(struct lower *L, size_t j);

/* lower-xfmr.c: the registry's transformer and reduction operators (rows
 * of lower-ops.c's by_kind: transpose, matmul, reduce_mean / sum / max,
 * logsoftmax, layernorm), and a Softmax along an axis the int8 softmax
 * kind does not take (fp32). */
int lower_transpose(struct lower *L, size_t j);
int lower_matmul(struct lower *L, size_t j);
int lower_reduce(struct lower *L, size_t j);
int lower_arg(struct lower *L, size_t j);
int lower_topk(struct lower *L, size_t j);
int lower_logsoftmax(struct lower *L, size_t j);
int lower_hardmax(struct lower *L, size_t j);
int lower_layernorm(struct lower *L, size_t j);
int lower_lrn(struct lower *L, size_t j);
/* The registry's matmul of a (input 0's value) and b (b_value, b_const: a
 * constant added in ONNX's layout): its node, NCHW operand bits set. */
struct dnnq_model_node *matmul_node(struct lower *L, const struct dnnq_ir_node *n, int32_t a,
                                    int32_t b, int32_t b_value, bool b_const, int32_t *ref);
int lower_softmax_axis(struct lower *L, size_t j);
/* Reshape n of src (u8, or f32 in the engine's layout when f32) whose
 * element order changes in NHWC (a 4-D input or output of other than
 * C == 1 or H == W == 1): transposes to ONNX's order around a reshape in
 * it. */
int lower_reshape_reordered(struct lower *L, const struct dnnq_ir_node *n, int32_t src,
                            bool f32);

#endif
