/*
 * onnx/ir.c — the IR's small helpers (onnx/ir.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/ir.h"

#if !defined(DNNQ_MOVING_TABLE) && defined(__SANITIZE_ADDRESS__)
#define DNNQ_MOVING_TABLE 1     /* GCC's ASan */
#endif
#if !defined(DNNQ_MOVING_TABLE) && defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DNNQ_MOVING_TABLE 1     /* clang's (the fuzzers') */
#endif
#endif
#ifdef DNNQ_MOVING_TABLE
/* dnnq_ir_grow moves an array at every append up to this size */
#define MOVE_ALWAYS_BYTES ((size_t)64 << 10)
#endif

void dnnq_ir_free(struct dnnq_ir *ir)
{
	if (!ir)
		return;
	for (size_t i = 0; i < ir->nvalues; i++) {
		free(ir->values[i].name);
		free(ir->values[i].data);
	}
	for (size_t i = 0; i < ir->nnodes; i++) {
		free(ir->nodes[i].name);
		free(ir->nodes[i].op_type);
	}
	for (size_t i = 0; i < ir->nremoved; i++) {
		free(ir->removed[i].name);
		free(ir->removed[i].op_type);
	}
	free(ir->removed);
	free(ir->values);
	free(ir->nodes);
	free(ir->inputs);
	free(ir->outputs);
	free(ir->output_types);
	free(ir->name);
	free(ir->producer);
	free(ir->batch_note);
	*ir = (struct dnnq_ir){ 0 };
}

int32_t *dnnq_ir_readers(const struct dnnq_ir *ir)
{
	int32_t *r = calloc(ir->nvalues + 1, sizeof *r);
	if (!r)
		return NULL;
	for (size_t i = 0; i < ir->nnodes; i++)
		for (uint32_t k = 0; k < ir->nodes[i].ninputs; k++)
			if (ir->nodes[i].inputs[k] >= 0)
				r[ir->nodes[i].inputs[k]]++;
	for (size_t i = 0; i < ir->noutputs; i++)
		r[ir->outputs[i]]++;
	return r;
}

void dnnq_ir_liveness(const struct dnnq_ir *ir, bool *live, bool *used)
{
	for (size_t i = 0; i < ir->noutputs; i++)
		used[ir->outputs[i]] = true;
	for (size_t j = ir->nnodes; j-- > 0;) {
		const struct dnnq_ir_node *n = &ir->nodes[j];
		for (uint32_t k = 0; k < n->noutputs; k++)
			live[j] |= used[n->outputs[k]];
		if (live[j])
			for (uint32_t k = 0; k < n->ninputs; k++)
				if (n->inputs[k] >= 0)
					used[n->inputs[k]] = true;
	}
}

bool *dnnq_ir_unread_inputs(const struct dnnq_ir *ir)
{
	bool *live = calloc(ir->nnodes + 1, sizeof *live);
	bool *used = calloc(ir->nvalues + 1, sizeof *used);
	bool *unread = calloc(ir->ninputs + 1, sizeof *unread);
	if (live && used && unread) {
		dnnq_ir_liveness(ir, live, used);
		for (size_t i = 0; i < ir->ninputs; i++)
			unread[i] = !used[ir->inputs[i]];
	} else {
		free(unread);
		unread = NULL;
	}
	free(live);
	free(used);
	return unread;
}

bool dnnq_ir_matmul_is_gemm(const struct dnnq_ir_value *a, const struct dnnq_ir_value *b)
{
	return b->data && b->ndim == 2 && a->batched && a->ndim >= 2 && a->ndim != 4;
}

void dnnq_ir_node_name(char *buf, const char *name)
{
	size_t n = strlen(name);
	if (n <= DNNQ_IR_NODE_NAME_MAX) {
		memcpy(buf, name, n + 1);
		return;
	}
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(buf, DNNQ_IR_NODE_NAME_MAX + 8, "%.*s~%08x",
	         (int)dnnq_utf8_cut(name, DNNQ_IR_NODE_NAME_MAX - 9), name, (unsigned)h);
}

size_t dnnq_utf8_cut(const char *s, size_t n)
{
	/* a character has 3 continuation bytes at most */
	for (int k = 0; k < 3 && n && ((uint8_t)s[n] & 0xC0) == 0x80; k++)
		n--;
	return n;
}

size_t dnnq_ir_numel(const struct dnnq_ir_value *v, size_t batch)
{
	size_t n = 1;
	for (uint32_t i = 0; i < v->ndim; i++)
		n *= i == 0 && v->batched ? batch : (size_t)v->dims[i];
	return n;
}

int dnnq_ir_grow(void **array, size_t *cap, size_t n, size_t size)
{
	size_t c = n < *cap ? *cap : *cap ? *cap * 2 : 16;
#ifdef DNNQ_MOVING_TABLE
	/* moved even when there is room while the array is small (a small
	 * model's: some 600 values, 130 nodes), so that a pointer held is
	 * caught at once; past that at every growth only, so that a model of
	 * a million values (a Loop unrolled) still imports in linear time */
	if (n < *cap && n * size > MOVE_ALWAYS_BYTES)
		return 0;
	void *p = malloc(c * size);
	if (!p)
		return DNNQ_E_NOMEM;
	if (n)
		memcpy(p, *array, n * size);
	free(*array);
#else
	if (n < *cap)
		return 0;
	void *p = realloc(*array, c * size);
	if (!p)
		return DNNQ_E_NOMEM;
#endif
	*array = p;
	*cap = c;
	return 0;
}

size_t dnnq_ir_dtype_size(enum dnnq_ir_dtype dt)
{
	static const size_t size[] = { 4, 1, 1, 4, 8 };
	return (unsigned)dt < sizeof size / sizeof size[0] ? size[dt] : 0;
}

const char *dnnq_ir_op_name(enum dnnq_ir_op op)
{
	static const char *const name[DNNQ_IR_OP_COUNT] = {
		"conv", "gemm", "batchnorm", "relu", "leakyrelu", "clip", "sigmoid", "tanh",
		"hardsigmoid", "hardswish", "elu", "selu", "celu", "shrink", "thresholdedrelu", "maxpool", "avgpool", "gavgpool", "add", "mul", "sum",
		"concat", "reshape", "softmax", "quantize", "dequantize", "qlinearconv",
		"qlinearmatmul", "convinteger", "matmulinteger", "dynquant", "cast", "engine",
	};
	return (unsigned)op < DNNQ_IR_OP_COUNT ? name[op] : "?";
}

const char *dnnq_ir_dtype_name(enum dnnq_ir_dtype dt)
{
	static const char *const name[] = { "float32", "uint8", "int8", "int32", "int64" };
	return (unsigned)dt < sizeof name / sizeof name[0] ? name[dt] : "?";
}

const char *dnnq_ir_settled_name(enum dnnq_ir_settled how)
{
	static const char *const name[] = { "folded", "removed", "merged", "inlined" };
	return (unsigned)how < sizeof name / sizeof name[0] ? name[how] : "?";
}
