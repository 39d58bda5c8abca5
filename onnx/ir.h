/*
 * onnx/ir.h — an ONNX model as dnnq understands it: the importer's output
 * (onnx/import.c), run in fp32 by the reference executor (onnx/ref.c, for
 * calibration and `dnnq-run model.onnx`), lowered to a .dnnq model by
 * onnx/lower.c.
 *
 * The IR keeps ONNX's semantics and layout (NCHW); what the importer has
 * already settled is gone from it:
 *   - no-ops are removed (their readers read the input): Identity,
 *     Dropout, a Cast to the value's own type, a Reshape (Flatten,
 *     Squeeze, Unsqueeze) to the same shape, a Pad of zeros; except one
 *     whose output is a graph output and whose input is a graph input, a
 *     constant or another graph output: that one is a RESHAPE to the same
 *     shape (a copy), so every graph output is its own value;
 *   - a constant-mode Pad of zeros on the spatial dims of a 4-D value whose
 *     only reader is a Conv or an AveragePool is merged into that node's
 *     pads (the AveragePool then counts the padding: count_include_pad);
 *   - Constant nodes and initializers are constant values with their data;
 *   - a node computable from constants and static shapes (Shape, Size,
 *     Cast, Slice, Concat, Gather, Squeeze, Unsqueeze, Range,
 *     ConstantOfShape, Expand, Reshape, arithmetic on shape tensors...) is
 *     folded: its output is a constant value (onnx/import-fold.c);
 *     `removed` lists what the importer folded, removed or merged;
 *   - every attribute has its default filled in, auto_pad is resolved into
 *     explicit pads, Clip's min/max inputs (opset 11+) are attributes,
 *     Reshape/Flatten/Squeeze/Unsqueeze carry their resolved output shape;
 *   - MatMul by a 2-D constant B is a GEMM with alpha 1, beta 0 (its A of
 *     rank >= 2, the last axis multiplied, the leading dims rows); any
 *     other MatMul is the registry's matmul (DNNQ_IR_ENGINE);
 *   - a Conv's W and B, a Gemm's B and C are constants, or (QDQ models not
 *     fused into QLINEARCONV / QLINEARMATMUL by onnx/qdq.c) the output of a
 *     DEQUANTIZE whose input 0 is a constant;
 *   - every value has a static shape. dims[0] of a `batched` value is the
 *     batch: symbolic in ONNX (a dim_param, or any value the user gives),
 *     stored as 1 here; executors and the lowering scale it. The graph
 *     inputs' other symbolic dims are fixed at import (struct
 *     dnnq_onnx_import_opts: --input-shape, the calibration samples).
 *
 * Values are numbered in the order the importer creates them: the graph
 * inputs first, then constants and node outputs interleaved; a node only
 * reads values with smaller ids than its outputs (topological order).
 */
#ifndef DNNQ_ONNX_IR_H
#define DNNQ_ONNX_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base.h"

#define DNNQ_IR_MAX_DIMS 8
#define DNNQ_IR_MAX_INPUTS 16
#define DNNQ_IR_MAX_OUTPUTS 8       /* Split's */

enum dnnq_ir_dtype {
	DNNQ_IR_F32 = 0,
	DNNQ_IR_U8,
	DNNQ_IR_S8,
	DNNQ_IR_S32,
	DNNQ_IR_S64,        /* shapes, axes (constants only) */
};

enum dnnq_ir_op {
	/* fp32 operators */
	DNNQ_IR_CONV,            /* X, W, [B]                                    */
	DNNQ_IR_GEMM,            /* A, B, [C]: Gemm (2-D), MatMul (A of rank >= 2) */
	DNNQ_IR_BATCHNORM,       /* X, scale, B, mean, var (constants)           */
	DNNQ_IR_RELU,
	DNNQ_IR_LEAKYRELU,       /* alpha                                        */
	DNNQ_IR_CLIP,            /* clip_min, clip_max (-inf / +inf when absent) */
	DNNQ_IR_SIGMOID,
	DNNQ_IR_TANH,
	DNNQ_IR_HARDSIGMOID,     /* alpha, beta                                  */
	DNNQ_IR_HARDSWISH,
	DNNQ_IR_ELU,             /* alpha                                        */
	DNNQ_IR_SELU,            /* alpha, beta (ONNX's gamma)                   */
	DNNQ_IR_CELU,            /* alpha (not 0)                                */
	DNNQ_IR_SHRINK,          /* alpha (lambd), beta (bias)                   */
	DNNQ_IR_THRESHOLDEDRELU, /* alpha                                        */
	DNNQ_IR_MAXPOOL,         /* kernel, strides, pads, dilations, ceil_mode  */
	DNNQ_IR_AVGPOOL,         /* kernel, strides, pads, ceil_mode,
	                            count_include_pad                            */
	DNNQ_IR_GAVGPOOL,
	DNNQ_IR_ADD,             /* 2 inputs, numpy broadcasting                 */
	DNNQ_IR_MUL,             /* 2 inputs, numpy broadcasting                 */
	DNNQ_IR_SUM,             /* 1..16 inputs of one shape                    */
	DNNQ_IR_CONCAT,          /* axis (>= 0)                                  */
	DNNQ_IR_RESHAPE,         /* Reshape, Flatten, Squeeze, Unsqueeze: the
	                            output value's shape says it all; only the
	                            data input is kept (ninputs 1)               */
	DNNQ_IR_SOFTMAX,         /* axis (>= 0); opset < 13 coerces to 2-D       */
	/* quantized operators (ONNX's definitions, round half to even) */
	DNNQ_IR_QUANTIZE,        /* QuantizeLinear: x, scale, [zp]; axis         */
	DNNQ_IR_DEQUANTIZE,      /* DequantizeLinear: x, scale, [zp]; axis       */
	DNNQ_IR_QLINEARCONV,     /* x, xs, xz, w, ws, wz, ys, yz, [B]            */
	DNNQ_IR_QLINEARMATMUL,   /* a, as, az, b, bs, bz, ys, yz, [B]: B is a
	                            dnnq extension (QDQ fusion of a Gemm with a
	                            bias): N int32 values added to the
	                            accumulator, like QLinearConv's B            */
	DNNQ_IR_CONVINTEGER,     /* x, w, [xz], [wz] -> s32                      */
	DNNQ_IR_MATMULINTEGER,   /* a, b, [az], [bz] -> s32                      */
	DNNQ_IR_DYNQUANT,        /* DynamicQuantizeLinear: x -> y, ys, yz        */
	DNNQ_IR_CAST,            /* Cast of integers (u8, s8, s32) to float      */
	/* an operator described by the engine's registry (engine/op.h): kind
	 * names it; imported, run and lowered through its description (today:
	 * binary elementwise with numpy broadcasting, e.g. Sub, Div, Pow;
	 * unary elementwise, e.g. Erf, and the fused Swish and GELU) */
	DNNQ_IR_ENGINE,
	DNNQ_IR_OP_COUNT,
};

struct dnnq_ir_value {
	char *name;                     /* the ONNX name (owned) */
	enum dnnq_ir_dtype dtype;
	uint32_t ndim;                  /* 0: a scalar */
	int64_t dims[DNNQ_IR_MAX_DIMS];
	bool batched;                   /* dims[0] is the batch */
	bool integer;                   /* f32 holding integers an ONNX integer operator
	                                   computed (token ids' arithmetic: docs/onnx.md,
	                                   "Token ids"); its nodes run fp32 */
	void *data;                     /* constants: numel elements (owned); else NULL */
	int32_t producer;               /* node index; -1: graph input or constant */
};

struct dnnq_ir_node {
	enum dnnq_ir_op op;
	char *name;                     /* the ONNX name, or "OpType#index" (owned) */
	char *op_type;                  /* the ONNX op_type, for messages (owned) */
	uint32_t ninputs, noutputs;
	int32_t inputs[DNNQ_IR_MAX_INPUTS];   /* value ids; -1: optional input absent */
	int32_t outputs[DNNQ_IR_MAX_OUTPUTS];
	/* attributes, defaults filled in; a kind reads those it needs */
	int64_t kernel[2], strides[2], dilations[2];
	int64_t pads[4];                /* top, left, bottom, right */
	int64_t group;
	bool ceil_mode, count_include_pad;
	float alpha, beta;              /* Gemm, LeakyRelu, HardSigmoid, Elu, Selu
	                                   (beta: gamma), Celu; Resize: cubic_coeff_a,
	                                   exclude_outside (0 or 1) */
	bool trans_a, trans_b;          /* Gemm */
	float clip_min, clip_max;       /* Clip */
	float epsilon;                  /* BatchNormalization; LRN: bias */
	int64_t axis;                   /* Concat, Softmax, Quantize/DequantizeLinear
	                                   (normalised to >= 0) */
	uint32_t kind;                  /* DNNQ_IR_ENGINE: the registry's kind */
	/* vision (registry kinds of engine/ops/): */
	uint32_t mode;                  /* Resize: engine/resize.h's mode; Pad:
	                                   engine/remap.h's; ArgMax, ArgMin: 1
	                                   select_last_index; TopK: engine/topk.h's
	                                   op; MaxPool: storage_order */
	float scales[2];                /* Resize: H, W (output / input) */
	/* Slice, Pad: per axis (ONNX's order), output index o reads input index
	 * starts[i] + steps[i] * o (Pad: steps 1, outside: the mode decides) */
	int64_t starts[DNNQ_IR_MAX_DIMS], steps[DNNQ_IR_MAX_DIMS];
	float value;                    /* Pad: the constant */
	bool split;                     /* Split (kind slice): output k is the k-th
	                                   run of its dim along axis */
	bool dynamic;                   /* GEMM: its input is quantized per call (the
	                                   model was quantized dynamically: qdq.c) */
	/* xfmr: Transpose's perm, the reductions' axes (ascending, >= 0) */
	int64_t ints[DNNQ_IR_MAX_DIMS];
	uint32_t nints;
	bool keepdims;                  /* the reductions, ArgMax, ArgMin */
	int64_t k;                      /* TopK: the elements kept; LRN: size */
	/* Non-zero: one ONNX node the importer wrote as several IR nodes that
	 * are one precision unit (a 3-D Conv: its Transposes, per-depth
	 * Slices, Concats and Convs; a 3-D pool, whose AveragePools the
	 * lowering runs fp32; a standalone rank-3 or rank-5
	 * BatchNormalization; docs/onnx.md), one after the other, each
	 * carrying this number (distinct per such ONNX node), the last named
	 * after the ONNX node. 0: a node of its own. */
	uint32_t whole;
};

/* What the importer settled without a node (reported by dnnq-convert). */
enum dnnq_ir_settled {
	DNNQ_IR_FOLDED,          /* computed at import: its outputs are constants */
	DNNQ_IR_NOOP,            /* a no-op: its readers read its input           */
	DNNQ_IR_MERGED,          /* a Pad merged into its reader's pads, a
	                            BatchNormalization into the 3-D Conv it
	                            follows (onnx/import-ops.c, fold_bn)        */
	DNNQ_IR_INLINED,         /* an If: the branch its constant condition takes
	                            was imported in its place (onnx/import-if.c) */
};

struct dnnq_ir_removed {
	char *name, *op_type;           /* the ONNX node's (owned) */
	enum dnnq_ir_settled how;
};

/* The patterns the importer fuses (onnx/fuse.h, onnx/fuse-norm.c). */
enum dnnq_ir_fusion {
	DNNQ_IR_FUSED_HARDSWISH_CLIP,   /* x * Clip(x + 3, 0, 6) / 6 */
	DNNQ_IR_FUSED_HARDSWISH_HSIG,   /* x * HardSigmoid(x) */
	DNNQ_IR_FUSED_SWISH,            /* x * Sigmoid(x) */
	DNNQ_IR_FUSED_GELU,             /* x * 0.5 * (1 + Erf(x / sqrt 2)) */
	DNNQ_IR_FUSED_LAYERNORM,        /* torch's LayerNorm below opset 17 (fuse-norm.c) */
	DNNQ_IR_FUSED_CONV_AFFINE,      /* Conv, then Mul / Add by constants per channel */
	DNNQ_IR_FUSED_AFFINE,           /* Mul / Add by constants per channel, 2 or more */
	DNNQ_IR_FUSED_COUNT,
};

struct dnnq_ir {
	char *name;                     /* graph name (owned; may be "") */
	char *producer;                 /* producer_name producer_version (owned) */
	int64_t opset;                  /* the default domain's */
	size_t nvalues, nnodes, ninputs, noutputs;
	struct dnnq_ir_value *values;
	struct dnnq_ir_node *nodes;
	int32_t *inputs, *outputs;      /* value ids, in the ONNX graph's order */
	/* per graph output, the element type the ONNX graph declares
	 * (TensorProto.DataType; 0: none given); NULL in an IR not imported */
	int32_t *output_types;
	size_t nremoved;
	struct dnnq_ir_removed *removed; /* ONNX nodes with no IR node, in order */
	/* onnx/fuse.c: the patterns fused, a count each */
	uint32_t fused[DNNQ_IR_FUSED_COUNT];
	/* onnx/import-batch.c: 1 when the graph moves the batch off dim 0 (the
	 * import fixed it to 1; each batch item of a run is one run of the
	 * ONNX graph at batch 1), else 0; batch_note says where (owned) */
	uint32_t max_batch;
	char *batch_note;
	/* batch_note's node computes across the batch (a sum, a softmax, a
	 * concatenation along it, a constant broadcast against it): a run of
	 * more samples one at a time is not the ONNX graph at that batch */
	bool batch_mixes;
};

/* "x*Clip(x+3,0,6)/6 -> HardSwish" and the like. */
const char *dnnq_ir_fusion_name(enum dnnq_ir_fusion f);

void dnnq_ir_free(struct dnnq_ir *ir);
/* Per value, the node inputs reading it, +1 for a graph output (malloc'd,
 * nvalues + 1; NULL when out of memory): the fusion passes' counts. */
int32_t *dnnq_ir_readers(const struct dnnq_ir *ir);
/* Which nodes lead to a graph output (live, nnodes) and which values such a
 * node or the outputs read (used, nvalues); both zeroed by the caller. */
void dnnq_ir_liveness(const struct dnnq_ir *ir, bool *live, bool *used);
/* The graph inputs no live node reads (an input read by nothing, or only
 * for its shape, folded at import): per input, true when unread (malloc'd,
 * ninputs + 1; NULL when out of memory). They stay in the model's
 * signature and their values are ignored (docs/onnx.md, "Inputs no node
 * reads"). */
bool *dnnq_ir_unread_inputs(const struct dnnq_ir *ir);
/* A MatMul / QLinearMatMul of a by b is a GEMM, the engine's FC over the
 * last axis: b a 2-D constant, a a batched activation of rank >= 2 but not
 * 4-D (NHWC inside: its last axis is not the channels); any other product
 * is the registry's matmul. */
bool dnnq_ir_matmul_is_gemm(const struct dnnq_ir_value *a, const struct dnnq_ir_value *b);
/* Elements of a value with the batch as given (batched values), or as stored. */
size_t dnnq_ir_numel(const struct dnnq_ir_value *v, size_t batch);
/* Room in *array (of *cap elements of size bytes, the first n in use) for
 * element n, doubled (at least 16) when full: 0 or DNNQ_E_NOMEM (*array
 * kept). What grows the IR's tables (values, nodes) and the importer's
 * side tables grows them with it, so a pointer into one held across a
 * growth may dangle: keep ids. The checking build (DNNQ_MOVING_TABLE: every
 * ASan build defines it, -DDNNQ_MOVING_TABLE any other) moves the array at
 * every call while it holds at most 64 KiB, full or not, and at every
 * growth past that, so that such a pointer, used after an append, is a
 * use-after-free ASan reports (docs/architecture.md, "Values are held by
 * id"). */
int dnnq_ir_grow(void **array, size_t *cap, size_t n, size_t size);

/* A node's name as the IR holds it (buf: DNNQ_IR_NODE_NAME_MAX + 8 bytes):
 * the ONNX name itself when it has at most DNNQ_IR_NODE_NAME_MAX bytes, else
 * its first 111 bytes (fewer where a UTF-8 character would be cut:
 * dnnq_utf8_cut), '~' and 8 hex digits of an FNV-1a hash of the whole,
 * so that two long names alike in their first bytes stay two names. */
#define DNNQ_IR_NODE_NAME_MAX 120
void dnnq_ir_node_name(char *buf, const char *name);
/* The bytes of s to keep when cut to at most n (n <= strlen(s)): n, or
 * less where s[n] continues a UTF-8 character, so that a cut name stays
 * UTF-8 (names reach JSON: dnnq-run --profile --json). */
size_t dnnq_utf8_cut(const char *s, size_t n);
size_t dnnq_ir_dtype_size(enum dnnq_ir_dtype dt);
const char *dnnq_ir_op_name(enum dnnq_ir_op op);
const char *dnnq_ir_dtype_name(enum dnnq_ir_dtype dt);
const char *dnnq_ir_settled_name(enum dnnq_ir_settled how);

/* ---- onnx/import.c -------------------------------------------------------- */

/* A shape for a graph input: dims[0] is the batch (any positive value:
 * it is not kept), the others fix the input's symbolic dims and must
 * agree with its fixed ones. */
struct dnnq_onnx_shape {
	const char *name;               /* the input's; NULL: see samples below */
	uint32_t ndim;
	int64_t dims[DNNQ_IR_MAX_DIMS];
};

/* An input frozen to a constant (dnnq-convert --input-value NAME=V,...):
 * the input leaves the model's inputs and its readers fold (an If on it
 * is inlined). text: the elements in row-major order, comma-separated,
 * integers for an integer input; their count is the input's element
 * count, every dim of which the model must fix (a scalar has none). */
struct dnnq_onnx_value {
	const char *name, *text;
};

struct dnnq_onnx_import_opts {
	/* dnnq-convert --input-shape: each names an input (a name the model
	 * lacks, a rank or a fixed dim it contradicts is a problem) */
	const struct dnnq_onnx_shape *shapes;
	size_t nshapes;
	/* the calibration samples' shapes, for the inputs `shapes` leave
	 * symbolic: by name, or (name NULL) the k-th nameless entry for the
	 * k-th graph input; entries that do not fit are ignored (the samples
	 * are checked when they are read) */
	const struct dnnq_onnx_shape *samples;
	size_t nsamples;
	/* the samples are dnnq-run's --input arrays, not calibration samples
	 * beside --input-shape: what a symbolic dim's message tells to do */
	bool samples_are_inputs;
	/* --input-value: each names an input (a name the model lacks, a value
	 * that does not fit its type or element count is a problem) */
	const struct dnnq_onnx_value *values;
	size_t nvalues;
	/* the directory a tensor's external data locations are relative to
	 * (the model file's; dnnq_onnx_import_file sets it when NULL); NULL:
	 * a model with external data is refused */
	const char *data_dir;
	/* dnnq-convert --max-constants: the most bytes of constants (read
	 * and folded) the import may hold, at most DNNQ_ONNX_MAX_CONST_BYTES;
	 * 0: 16 times the model's bytes (its file's and its external data's),
	 * at least 64 MiB, at most DNNQ_ONNX_MAX_CONST_BYTES */
	size_t max_const_bytes;
};
#define DNNQ_ONNX_MAX_CONST_BYTES ((size_t)1 << 30)

/* Parses an ONNX ModelProto (bytes) into ir. Everything unsupported (an
 * operator, an attribute value, a dynamic shape, a non-constant weight) is
 * collected: the diag's message names the first ("node 'conv3' (Conv):
 * auto_pad VALID with ..."), and, when list is non-NULL, *list gets every
 * such line of the model, newline-separated (malloc'd; caller frees) and
 * *count their number. DNNQ_E_FORMAT for bytes that are not an ONNX model,
 * DNNQ_E_UNSUPPORTED for a model using what dnnq does not support. opts
 * may be NULL (every input dim but the batch must then be fixed). */
int dnnq_onnx_import(const void *bytes, size_t len, const struct dnnq_onnx_import_opts *opts,
                     struct dnnq_ir *ir, char **list, size_t *count, struct dnnq_diag *diag);
/* The directory of the model file at model_path ("." for a bare name), for
 * dnnq_onnx_import_opts.data_dir; malloc'd, NULL when out of memory. */
char *dnnq_onnx_data_dir(const char *model_path);
/* The file's bytes, then dnnq_onnx_import; messages start with the path. */
int dnnq_onnx_import_file(const char *path, const struct dnnq_onnx_import_opts *opts,
                          struct dnnq_ir *ir, char **list, size_t *count,
                          struct dnnq_diag *diag);

/* Graph output k's element type in the ONNX graph ("int64"), when it is
 * an integer or bool type and dnnq serves the output as another (served:
 * the lowered model's output dtype; docs/onnx.md, "Integer outputs": an
 * int64 as int32, integers arithmetic computed as float32, a bool as
 * float32 0 or 1), else NULL. */
const char *dnnq_onnx_output_retyped(const struct dnnq_ir *ir, size_t k, enum dnnq_dtype served);

/* A serialized TensorProto (the input_N.pb and output_N.pb files of ONNX's
 * backend tests) as a constant value: name, dtype, dims and data (owned:
 * free v->name and v->data), checked as an initializer is. */
int dnnq_onnx_tensor_read(const void *bytes, size_t len, struct dnnq_ir_value *v,
                          struct dnnq_diag *diag);

/* ---- onnx/import-batch.c --------------------------------------------------- */

/* The import's second try when the batch leaves dim 0 (why: the first
 * refusal, "node 'X' (Transpose): perm[0] = 1: ..."): ir was imported with
 * the batch fixed to 1 and no value batched. Every activation becomes
 * batched again: a node that keeps dim 0 of size 1 where it is reads and
 * writes the values as they are (dim 0 the batch); any other (dim 0 moved,
 * reduced, of another size) runs on its values with a batch axis of 1 put
 * in front (a Reshape in between), its axes shifted. ir->max_batch = 1. */
int dnnq_ir_fix_batch(struct dnnq_ir *ir, const char *why, struct dnnq_diag *diag);

/* ---- onnx/fuse-norm.c ------------------------------------------------------ */

/* Fuses every LayerNorm decomposition (ReduceMean, Sub, Pow 2, ReduceMean,
 * Add eps, Sqrt, Div, Mul gamma, [Add beta]: torch below opset 17) into a
 * LayerNormalization node, counted in ir->fused; the count fused, or
 * DNNQ_E_NOMEM. dnnq_onnx_import runs it. */
int dnnq_ir_fuse_norm(struct dnnq_ir *ir);

/* ---- onnx/ref.c: the fp32 reference executor ------------------------------ */

/* Called for every value a node produces, once computed (data: numel
 * elements of the value's dtype at this batch). Return non-zero to stop. */
typedef int (*dnnq_ir_observer)(void *ctx, const struct dnnq_ir *ir, int32_t value,
                                const void *data, size_t numel);

/* Runs the IR on `batch` samples: inputs[i] holds graph input i (its dtype,
 * ONNX layout), outputs[i] receives graph output i (malloc'd by the caller:
 * dnnq_ir_numel(value, batch) elements). fp32 Conv and Gemm through the
 * engine's sgemm (float accumulation, within 1e-5 relative of NumPy), the
 * other fp32 operators in plain loops; quantized operators exactly as ONNX
 * defines them. observe may be NULL; it is called on the calling thread. */
int dnnq_ir_run(const struct dnnq_ir *ir, size_t batch, const void *const *inputs,
                void *const *outputs, dnnq_ir_observer observe, void *ctx,
                struct dnnq_diag *diag);
/* The same, the convolutions split over ex (NULL: the calling thread);
 * results do not depend on ex's thread count. */
struct dnnq_executor;
int dnnq_ir_run_ex(const struct dnnq_ir *ir, size_t batch, const void *const *inputs,
                   void *const *outputs, dnnq_ir_observer observe, void *ctx,
                   const struct dnnq_executor *ex, struct dnnq_diag *diag);
/* The largest batch up to want (at least 1) whose values and scratch
 * (ex's threads'), at the batch, dnnq_ir_run_ex's check of one item times
 * the batch, stay within half of this host's memory: the check judges one
 * item, the batch is the caller's to size (dnnq_onnx_calib_add runs its
 * samples in such chunks). want itself when the run would refuse one item
 * (its message names the node). */
size_t dnnq_ir_fit_batch(const struct dnnq_ir *ir, size_t want, const struct dnnq_executor *ex);

#endif
