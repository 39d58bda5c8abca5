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

/* What a name in the graph stands for. */
enum imp_kind {
	IMP_VALUE,      /* idx: a value id */
	IMP_INIT,       /* idx: an initializer not yet read (made a value when it is) */
	IMP_UNKNOWN,    /* a value whose node failed: readers are skipped quietly */
	IMP_UNUSED,     /* idx: the ONNX node whose optional output dnnq does not
	                   compute (BatchNormalization's mean, Dropout's mask) */
};

struct imp_name {
	const char *name;       /* points into the unpacked model */
	enum imp_kind kind;
	int32_t idx;
};

#define IMP_ID_UNKNOWN (-1000)

struct imp {
	struct dnnq_ir *ir;
	const Onnx__GraphProto *g;
	int64_t opset;
	size_t vcap, ncap_nodes;
	bool *known;                /* a value: its shape is known */
	struct imp_name *names;
	size_t ncap, nused;
	size_t const_bytes;
	/* problems */
	char *list;
	size_t list_len, list_cap, nproblems;
	int status;                 /* the first problem's */
	bool nomem;
	struct dnnq_diag *diag;
};

void imp_problem(struct imp *m, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct imp_name *imp_find(struct imp *m, const char *name);
int imp_add_name(struct imp *m, const char *name, enum imp_kind kind, int32_t idx);
int32_t imp_new_value(struct imp *m, const struct dnnq_ir_value *v, bool known);
int imp_new_node(struct imp *m, const struct dnnq_ir_node *n);
int imp_dtype(int32_t onnx, enum dnnq_ir_dtype *dt);
const char *imp_onnx_dtype_name(int32_t t);
const char *imp_dims_str(const struct dnnq_ir_value *v);
const char *imp_dims_str_r(const struct dnnq_ir_value *v, char *buf, size_t cap);
int32_t imp_tensor_value(struct imp *m, const Onnx__TensorProto *t, const char *name,
                         const char *what);
int32_t imp_lookup(struct imp *m, const char *name, const char *who);
/* The IR name of ONNX node i: its name, or "OpType#i". */
const char *imp_node_name(struct imp *m, size_t i, char buf[128]);

/* onnx/import-ops.c: one ONNX node into the IR (0, or DNNQ_E_NOMEM: every
 * other problem is recorded and the walk goes on). */
int imp_node(struct imp *m, const Onnx__NodeProto *np, size_t index);

#endif
