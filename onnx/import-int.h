/*
 * onnx/import-int.h — what onnx/import.c (the graph walk) and
 * onnx/import-ops.c (the operators) share. Not an interface: nothing
 * outside onnx/import*.c includes it.
 */
#ifndef DNNQ_ONNX_IMPORT_INT_H
#define DNNQ_ONNX_IMPORT_INT_H

#include "onnx/ir.h"
#include "onnx/onnx.pb-c.h"

/* Limits on what a model may declare: every product of dims is checked
 * against them before it is used. */
#define IMP_MAX_DIM ((int64_t)1 << 31)
#define IMP_MAX_NUMEL ((size_t)1 << 31)
/* ... and on the bytes of all constants, read or folded: in proportion
 * to the model's bytes (its file's, and its external data's as they are
 * read), IMP_CONST_PER_BYTE times them but at least IMP_CONST_FLOOR, for
 * a 37 kB Loop of growing Concats folded ~900 MB (3.7 s, 1.1 GB) before
 * its refusal, and never more than IMP_MAX_CONST_BYTES
 * (dnnq_onnx_import_opts.max_const_bytes sets another; docs/onnx.md). */
#define IMP_MAX_CONST_BYTES DNNQ_ONNX_MAX_CONST_BYTES
#define IMP_CONST_FLOOR ((size_t)64 << 20)
#define IMP_CONST_PER_BYTE 16

/* Refuses (DNNQ_E_FORMAT, the diag says why) bytes that protobuf-c would
 * not unpack as a d, would unpack nested past protobuf's depth limit, or
 * into far more memory than their size (onnx/wire.c). Call before unpack. */
int imp_wire_check(const ProtobufCMessageDescriptor *d, const void *bytes, size_t len,
                   struct dnnq_diag *diag);

/* What a name in the graph stands for. */
enum imp_kind {
	IMP_VALUE,      /* idx: a value id */
	IMP_INIT,       /* idx: an initializer not yet read (made a value when it is) */
	IMP_UNKNOWN,    /* a value whose node failed: readers are skipped quietly */
	IMP_UNUSED,     /* idx: the ONNX node whose optional output dnnq does not
	                   compute (BatchNormalization's mean, Dropout's mask) */
	IMP_SEQUENCE,   /* idx: a sequence of values (struct imp_seq), known at
	                   import; only ConcatFromSequence and a Loop read one */
};

/* A sequence: the value ids of its tensors, in order (onnx/import-loop.c). */
struct imp_seq {
	int32_t *ids;
	size_t n;
};

/* The most tensors a sequence holds (its ConcatFromSequence a Concat). */
#define IMP_MAX_SEQ 1024
/* The most tensor ids the sequences of an import hold in all (each
 * sequence its own copy): 16 MiB. */
#define IMP_MAX_SEQ_IDS ((size_t)1 << 22)

struct imp_name {
	const char *name;       /* points into the unpacked model */
	enum imp_kind kind;
	int32_t idx;
	bool is_bool;           /* ONNX types the name bool (a sequence: of bools), the
	                           IR carrying it as the float 0 or 1: what a
	                           CastLike to it casts to. A mark of the name, not of
	                           its value: a Cast of a bool to float names the same
	                           value and is no bool */
	bool is_int;            /* ONNX types the name integer and the IR carries it as
	                           floats holding integers (computed from token ids:
	                           docs/onnx.md, "Token ids"); a mark of the name, as
	                           is_bool */
};

#define IMP_ID_UNKNOWN (-1000)

/* An element of a folded integer tensor that stands for the batch (Shape
 * of a batched value): INT64_MIN in int64, INT32_MIN in int32, in a value
 * whose `batch` flag is set. The batch stays symbolic: only moving it
 * (Gather, Slice, Concat, Unsqueeze...) and handing it to Reshape as
 * dim 0 are folded; arithmetic on it is refused. */
#define IMP_BATCH INT64_MIN

/* A symbolic dim name of a graph input whose named shape (--input-shape,
 * or named samples) gives its value (onnx/import.c symbolic_dim). */
struct imp_sym {
	const char *name;
	int64_t value;              /* -1: two shapes disagree */
};

/* A Pad merged into the node that reads it (onnx/import-fold.c). */
struct imp_pad {
	const Onnx__GraphProto *g;  /* the graph (or If branch) of both nodes */
	size_t reader;              /* the ONNX node index of the Conv or AveragePool */
	int64_t pads[4];            /* top, left, bottom, right */
};

/* A node of a graph (or If branch): a BatchNormalization folded into the
 * 3-D Conv it reads (onnx/import-ops.c, op_conv3d). */
struct imp_at {
	const Onnx__GraphProto *g;
	size_t node;
};

/* Model-local function calls nested (onnx/import-func.c). */
#define IMP_MAX_CALL_DEPTH 64

struct imp {
	struct dnnq_ir *ir;
	const Onnx__ModelProto *model;      /* its functions (onnx/import-func.c) */
	int calls;                  /* function calls being walked, nested */
	const Onnx__FunctionProto *call_stack[IMP_MAX_CALL_DEPTH]; /* their functions */
	bool calls_refused;         /* one was refused for the limits: no more walked */
	struct imp_slashed *slashed; /* the model's node names of the form CALL/NAME
	                               (onnx/import-func.c), built at the first call */
	size_t inlined;             /* function body nodes copied */
	void **held;                /* imp_hold's: freed with the import */
	size_t nheld, hcap;
	const Onnx__GraphProto *g;          /* the graph being walked (an If branch) */
	const Onnx__GraphProto *root;       /* the model's: IMP_INIT indexes its initializers */
	const struct dnnq_onnx_import_opts *opts;
	int64_t opset;
	bool fixed;                 /* the batch fixed to 1: dim 0 an ordinary axis,
	                               no value batched (a second import) */
	size_t nbatch;              /* problems batch_moves and batch_mixes recorded */
	char batch_why[528];        /* the first of batch_mixes', else the first */
	bool batch_mixes;           /* batch_why computes across the batch */
	int64_t static_batch;       /* dim 0 the graph inputs fix (the batch an export
	                               traced with), read in a Reshape's dim 0 as the
	                               batch; 0: none, or they disagree (-1) */
	size_t vcap, ncap_nodes, rcap;
	bool *known;                /* a value: its shape is known */
	bool *batch;                /* a folded integer value: may hold IMP_BATCH */
	bool *empty_batch;          /* a constant of no elements that stands for a batched
	                               value, whose dims hold the batch as 1 (import-fold.c
	                               imp_fold_empty, imp_empty_batch) */
	bool rnn_dim1;              /* an LSTM or GRU reads its batch on dim 1: a graph
	                               output with its batch moved is given as ONNX's
	                               item behind a batch axis (onnx/import.c) */
	uint8_t *moved;             /* a value whose batch a Transpose (or an unrolled
	                               LSTM / GRU) put on ONNX's dim moved[v] (0: dim
	                               0): the IR keeps it first, then ONNX's other
	                               dims in order (onnx/import-ops.c, op_transpose) */
	struct imp_pad *pads;
	size_t npads, pcap;
	struct imp_sym *syms;       /* made at the first symbolic dim no shape gives */
	size_t nsyms;
	bool syms_made;
	struct imp_at *bn_folded;
	size_t nbn_folded, bncap;
	uint32_t wholes;            /* the dnnq_ir_node.whole numbers given */
	struct imp_seq *seqs;
	size_t nseqs, scap;
	size_t seq_ids;             /* the ids they hold in all (IMP_MAX_SEQ_IDS) */
	struct imp_name *names;
	size_t ncap, nused;
	size_t walked;              /* ONNX nodes of the If branches walked */
	char scope[48];             /* appended to the names of the IR's values and
	                               nodes: "@i" in iteration i of a Loop */
	size_t loop_ats;            /* the '@' of that "@i": one more than any name
	                               in the model holds in a row (0: no Loop yet) */
	struct imp_reads *reads;    /* of the graph being walked, built at the first
	                               need (imp_read_elsewhere), NULL before */
	size_t const_bytes;
	size_t model_bytes;         /* the file's, then its external data's as it is
	                               read: what the constants' limit scales with */
	/* problems */
	char *list;
	size_t list_len, list_cap, nproblems;
	int status;                 /* the first problem's */
	bool nomem;
	struct dnnq_diag *diag;
};

/* Whether value `name` of the graph being walked is a graph output or read
 * by a node other than as an LSTM's or GRU's initial_h / initial_c (or a
 * Slice whose output is read only so), or the graph has subgraphs (whose
 * reads are not looked at): once per graph, a sorted index of its reads (a
 * lookup per node would make an import of n nodes n^2). -1: out of memory. */
int imp_read_elsewhere(struct imp *m, const char *name);
void imp_reads_free(struct imp_reads *r);

void imp_problem(struct imp *m, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct imp_name *imp_find(struct imp *m, const char *name);
int imp_add_name(struct imp *m, const char *name, enum imp_kind kind, int32_t idx);
void imp_forget_name(struct imp *m, const char *name);
/* Whether name is marked bool (struct imp_name); marks it (when defined). */
bool imp_is_bool(struct imp *m, const char *name);
void imp_mark_bool(struct imp *m, const char *name, bool is_bool);
/* The same for struct imp_name.is_int. */
bool imp_is_int(struct imp *m, const char *name);
void imp_mark_int(struct imp *m, const char *name);
int32_t imp_new_value(struct imp *m, const struct dnnq_ir_value *v, bool known);
/* Appends node *n, taking its name and op_type (strdup'd; NULL: out of
 * memory), freed here when it fails: 0, DNNQ_E_NOMEM, or DNNQ_E_RANGE
 * (recorded) when the node holds more inputs or outputs than an IR node
 * can (a lowering's bug, refused here rather than read past). */
int imp_new_node(struct imp *m, const struct dnnq_ir_node *n);
int imp_dtype(int32_t onnx, enum dnnq_ir_dtype *dt);
const char *imp_onnx_dtype_name(int32_t t);
/* The most shapes one message may print with imp_dims_str. */
#define IMP_DIMS_STRS 4
const char *imp_dims_str(const struct dnnq_ir_value *v);
int32_t imp_tensor_value(struct imp *m, const Onnx__TensorProto *t, const char *name,
                         const char *what);
int32_t imp_lookup(struct imp *m, const char *name, const char *who);
/* *p = bytes for a constant (what: for the message), within the limit on
 * all constants. */
int imp_const_alloc(struct imp *m, size_t bytes, const char *what, void **p);
/* Whether `bytes` more constants pass that limit: then the problem is
 * recorded (naming what, the limit and how to raise it). */
bool imp_const_over(struct imp *m, size_t bytes, const char *what);
/* The `need` bytes of tensor t's external data (onnx/import-external.c),
 * read from its file beside the model into *out (malloc'd; the caller
 * frees); 0, or the status of the problem recorded. */
int imp_external_data(struct imp *m, const Onnx__TensorProto *t, size_t need, const char *what,
                      void **out);
const Onnx__AttributeProto *imp_attr(const Onnx__NodeProto *np, const char *name);
/* The IR name of ONNX node i: its name, or "OpType#i". */
const char *imp_node_name(struct imp *m, size_t i, char buf[128]);

int imp_settled(struct imp *m, const char *name, const char *op_type,
                enum dnnq_ir_settled how);

/* The ONNX nodes of all the If branches an import walks (onnx/import-if.c;
 * how deep they nest is bounded by the wire check, onnx/wire.c). */
#define IMP_MAX_WALKED ((size_t)1 << 20)

/* Walks g's nodes (the model's graph, or an If branch: m->g while it
 * runs) in imp_node_order; 0 or DNNQ_E_NOMEM. */
int imp_walk(struct imp *m, const Onnx__GraphProto *g);

/* onnx/import-ops.c: one ONNX node into the IR (0, or DNNQ_E_NOMEM: every
 * other problem is recorded and the walk goes on). */
int imp_node(struct imp *m, const Onnx__NodeProto *np, size_t index);
/* One version of an ONNX operator's schema (onnx/schemas-gen.c, made by
 * tools/mkschemas.py): the attributes it defines, " a b c ". */
struct imp_schema {
	const char *op;
	int since;
	const char *attrs;
};
extern const struct imp_schema imp_schemas[];
extern const size_t imp_nschemas;
extern const int64_t imp_schema_max_opset;     /* the newest opset the table knows */
/* onnx/schemas.c: node np (named name) of the default domain, its
 * attributes against its operator's schema at m->opset; an attribute the
 * schema does not define is a problem recorded, DNNQ_E_FORMAT. 0 as well
 * for an operator the table does not hold and past imp_schema_max_opset. */
int imp_schema_check(struct imp *m, const Onnx__NodeProto *np, const char *name);
/* The order to walk g's nodes in (onnx/import-order.c): *order, n_node
 * indices, the caller's to free; DNNQ_E_NOMEM. */
int imp_node_order(const Onnx__GraphProto *g, size_t **order);

/* ---- one node, as the operators see it (onnx/import-ops.c) ----------------- */

/* The most inputs an ONNX node may have (DenseNet's concatenations have
 * dozens); more is refused before any is read. */
#define IMP_MAX_NODE_INPUTS 1024

struct nctx {
	struct imp *m;
	const Onnx__NodeProto *np;
	size_t index;                      /* the ONNX node's */
	char name[128];
	char who[200];
	size_t nin;
	int32_t in[IMP_MAX_NODE_INPUTS];   /* an IR node takes DNNQ_IR_MAX_INPUTS:
	                                      a longer Concat becomes a chain */
	struct dnnq_ir_node node;
	uint32_t nout;                     /* IR outputs */
	struct dnnq_ir_value out[DNNQ_IR_MAX_OUTPUTS];
	int32_t alias;                     /* >= 0: output 0 is this value, no node */
	int32_t constant;                  /* >= 0: output 0 is this new constant, no node */
	int32_t consts[DNNQ_IR_MAX_OUTPUTS];  /* and outputs 1 .. nconst - 1 these (Split) */
	uint32_t nconst;
	bool merged;                       /* alias: a Pad merged into its reader */
	uint8_t moved[DNNQ_IR_MAX_OUTPUTS]; /* output k's batch is on ONNX's dim moved[k] */
	uint32_t whole;                    /* the IR nodes' dnnq_ir_node.whole (0: none) */
	bool ints;                         /* the outputs are integers held in floats */
};

#define DT(x) (1u << (x))
#define DT_F32 DT(DNNQ_IR_F32)
#define DT_Q8 (DT(DNNQ_IR_U8) | DT(DNNQ_IR_S8))
#define DT_INT (DT(DNNQ_IR_S32) | DT(DNNQ_IR_S64))
#define DT_ANY 0x1fu

int bad(struct nctx *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* bad() for what only a batch on dim 0 refuses (the batch moved, computed
 * with): counted, the first kept, so dnnq_onnx_import can fix the batch
 * and import again (onnx/import.c). */
int batch_moves(struct nctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As batch_moves, for a node that computes across the batch (a sum, a
 * softmax, a concatenation along it; a constant broadcast against it):
 * the model run a sample at a time is not the model at that batch. */
int batch_mixes(struct nctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct dnnq_ir_value *V(struct nctx *c, size_t i);
/* Integer constant input i made floats (each exact: within +-2^24), marked
 * integer (docs/onnx.md, "Token ids"). */
int imp_int_const(struct nctx *c, size_t i);
/* Where of the constants c->in[0..2] as the constant c->constant. */
int imp_fold_where(struct nctx *c);
const char *iname(struct nctx *c, size_t i);
int need(struct nctx *c, size_t i, unsigned dts, bool constant);
int same_dtype(struct nctx *c, size_t i, size_t j);
const Onnx__AttributeProto *attr(struct nctx *c, const char *name);
int a_int(struct nctx *c, const char *name, int64_t def, int64_t *out);
/* An int attribute that is a flag: 0 or 1, anything else refused naming it. */
int a_bool(struct nctx *c, const char *name, bool def, bool *out);
int a_float(struct nctx *c, const char *name, float def, float *out);
int a_ints(struct nctx *c, const char *name, const int64_t **v, ptrdiff_t *n);
int a_str(struct nctx *c, const char *name, const char *def, char *buf, size_t cap);
int set_out(struct nctx *c, uint32_t k, enum dnnq_ir_dtype dt, uint32_t ndim,
            const int64_t *dims, bool batched);
int norm_axis(struct nctx *c, int64_t *axis, uint32_t rank, const char *what);
/* Split's outputs (axis, sizes from the attribute, input 1 or an even
 * split) set on input 0's shape, c->node.axis the axis. */
int imp_split_outs(struct nctx *c);
/* The ONNX type a Cast casts to (its attribute 'to'), or a CastLike (input
 * 1's type, then dropped from the node's inputs); 0, or the problem
 * recorded. */
int imp_cast_to(struct nctx *c, int64_t *to);
/* Identity's rule: output 0 is input 0 (a copy when a graph output needs one). */
int pass_through(struct nctx *c);
/* The node's ONNX outputs named unknown (its readers skipped quietly). */
int imp_outputs_unknown(struct nctx *c);

/* ---- ONNX Runtime's contrib operators (onnx/import-ms.c) ------------------- */

/* A node of domain com.microsoft: the quantized operators ONNX Runtime's
 * QOperator format writes, imported as their QDQ form, and its fp32
 * fusions, as their decompositions; any other refused naming it. Or a node
 * of the default domain imp_ms_default claims: a MaxPool, Transpose,
 * DepthToSpace, SpaceToDepth, Resize, Pad or Concat of a uint8 / int8
 * tensor, as that format runs them on the quantized tensor, or ONNX
 * Runtime's SimplifiedLayerNormalization. 0 or DNNQ_E_NOMEM (other
 * problems recorded, the outputs unknown). */
int imp_ms(struct nctx *c);
bool imp_ms_default(struct nctx *c);

/* ---- LSTM, GRU and RNN (onnx/import-rnn.c) ------------------------------------ */

/* An LSTM (a GRU, an RNN: op) unrolled into the IR's GEMM, Add, Sub, Mul,
 * Sigmoid, Tanh, Relu, Slice, Reshape and Concat nodes, its outputs named;
 * 0, DNNQ_E_NOMEM, or another status with the problem recorded. */
int imp_rnn(struct nctx *c, const char *op);
/* op is a recurrent layer: LSTM, GRU, RNN, or ONNX Runtime's
 * DynamicQuantizeLSTM (onnx/import-ms.c), X input 0, the states 5 and 6. */
bool imp_rnn_op(const char *op);

/* ---- If (onnx/import-if.c) ------------------------------------------------------ */

/* An If whose condition is a constant: the branch it takes is walked in
 * its place, its outputs named as the If's; a dynamic condition is
 * refused, naming the graph inputs it depends on. 0 or DNNQ_E_NOMEM. */
int imp_if(struct nctx *c);
/* Whether the one element of constant v is nonzero (an If's condition, a
 * Loop's). */
bool imp_truth(const struct dnnq_ir_value *v);
/* Subgraph g (an If's branch, a Loop's body) walked as if its nodes were
 * the graph's, its initializers made constants first; counted against
 * IMP_MAX_WALKED. 0, DNNQ_E_NOMEM, or another status with the problem
 * recorded. */
int imp_walk_sub(struct nctx *c, const Onnx__GraphProto *g);

/* ---- Loop (onnx/import-loop.c) -------------------------------------------------- */

/* p (malloc'd), kept until the import ends: the names a node made at
 * import reads or defines (the names table points into them), an inlined
 * function body's nodes and graph (the merged Pads and folded
 * BatchNormalizations point into it); NULL, p freed, without memory. */
void *imp_hold(struct imp *m, void *p);
/* The model-local function of domain and name op, or NULL. */
const Onnx__FunctionProto *imp_function(const struct imp *m, const char *domain,
                                        const char *op);
/* A call of function f: its body walked in the call's place (onnx/import-func.c).
 * 0 or DNNQ_E_NOMEM. */
int imp_call(struct nctx *c, const Onnx__FunctionProto *f);

/* A Loop of a constant trip count: its body walked once per iteration in
 * its place, its outputs named as the last iteration's carried values;
 * anything else refused, naming the node. 0 or DNNQ_E_NOMEM. */
int imp_loop(struct nctx *c);
/* SequenceEmpty, SequenceConstruct, SequenceInsert, SplitToSequence: a new
 * sequence, known at import, its output named it. 0 or DNNQ_E_NOMEM. */
int imp_sequence(struct nctx *c);
/* ConcatFromSequence's tensors as its inputs (c->nin, c->in), to be read
 * as a Concat's; *unknown when one is; 0 or another status, the problem
 * recorded. */
int imp_sequence_inputs(struct nctx *c, bool *unknown);
/* SequenceAt's tensor (a constant position) as its one input, to be read
 * as an Identity's; as imp_sequence_inputs. */
int imp_sequence_at(struct nctx *c, bool *unknown);
/* ONNX's Where(cond, x, y) as IR nodes (onnx/import-ops.c): c->name's
 * ":then", ":else" and, the value *out, c->name itself; 0, DNNQ_E_NOMEM or
 * another status with the problem recorded. */
int imp_select(struct nctx *c, int32_t cond, int32_t x, int32_t y, int32_t *out);

/* ---- folding and no-ops (onnx/import-fold.c) -------------------------------- */

/* How a folding handler ends: IMP_NOT_FOLDED hands the node to the
 * operator table (onnx/import-ops.c), 0 means c->constant, c->alias or
 * c->node is set; other values are errors (the problem recorded). */
#define IMP_NOT_FOLDED 1

struct imp_fold {
	const char *name;
	int (*fn)(struct nctx *c);
	uint16_t min_in, max_in;
	uint8_t const_from;         /* inputs from this one on must be constants
	                               (IMP_ANY_INPUT: the handler decides) */
};

#define IMP_ANY_INPUT DNNQ_IR_MAX_INPUTS

const struct imp_fold *imp_fold_find(const char *op_type);
/* How many outputs f folds (Split's several, the others' one). */
size_t imp_fold_outputs(const struct imp_fold *f);
/* Output 0 = a constant with x's data and c->out[0]'s dtype and shape. */
int imp_fold_data(struct nctx *c, const struct dnnq_ir_value *x);
/* A computed node whose every output has a static dim of 0: its outputs
 * become empty constants (unbatched), no IR node; else nothing changes. */
int imp_fold_empty(struct nctx *c);
/* Such a value folded from a batched one keeps the batch as 1 in its dims
 * (m->empty_batch marks it): whether node c reads one. Then, after the node's
 * fold or op, imp_empty_batch: an output with elements (Shape of it, a
 * reduction over its empty axis, a Pad: the batch-1 answer at every batch)
 * fixes the batch (batch_moves); outputs of no elements are marked in
 * turn. Concat skips such a value. */
bool imp_empty_batch_read(struct nctx *c);
int imp_empty_batch(struct nctx *c);
/* The pads a merged Pad adds to node index (none: all zero). */
void imp_merged_pads(struct imp *m, size_t index, int64_t pads[4]);
/* The one node reading ONNX value `name` (node `index`'s output), as its
 * input 0 (*at its index); NULL when there are other readers, a graph
 * output, or a node with a subgraph (an If's branches, a Loop's body may
 * read it). */
const Onnx__NodeProto *imp_only_reader(struct imp *m, const char *name, size_t index,
                                       size_t *at);
/* Whether node index of the graph being walked is a BatchNormalization
 * folded into the 3-D Conv before it. */
bool imp_bn_folded(const struct imp *m, size_t index);

#endif
