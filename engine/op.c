/*
 * The operator registry (engine/op.h): the attribute table, the list of
 * descriptions, and the checks every node of a file goes through.
 */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "engine/op.h"

#define OPT 0x8000u
#define F(name, key, type, count, lo, hi) \
	{ #name, key, DNNQ_ATTR_##type, count, offsetof(struct dnnq_model_node, name), lo, hi, false }
#define BIG 2147483647.0

/* Keys are the file's (docs/model-format.md, "GRAPH"): never renumber one. */
const struct dnnq_attr_def dnnq_attrs[DNNQ_A_COUNT] = {
	[DNNQ_A_WEIGHT] = F(weight, 1, I32, 1, -1, BIG),
	[DNNQ_A_BIAS] = F(bias, 2, I32, 1, -1, BIG),
	[DNNQ_A_CIN] = F(cin, 3, U32, 1, 0, BIG),
	[DNNQ_A_COUT] = F(cout, 4, U32, 1, 0, BIG),
	[DNNQ_A_GROUPS] = F(groups, 5, U32, 1, 0, BIG),
	[DNNQ_A_KERNEL] = F(kernel, 6, U32, 2, 0, 65536),
	[DNNQ_A_STRIDES] = F(strides, 7, U32, 2, 0, 65536),
	[DNNQ_A_DILATIONS] = F(dilations, 8, U32, 2, 0, 65536),
	[DNNQ_A_PADS] = F(pads, 9, U32, 4, 0, 65536),
	[DNNQ_A_N] = F(n, 10, U32, 1, 0, BIG),
	[DNNQ_A_K] = F(k, 11, U32, 1, 0, BIG),
	[DNNQ_A_DYNAMIC] = F(dynamic, 12, U32, 1, 0, 1),
	[DNNQ_A_RELU] = F(relu, 13, U32, 1, 0, 1),
	[DNNQ_A_CLIP] = F(clip, 14, U32, 1, 0, 1),
	[DNNQ_A_CLIP_MIN] = F(clip_min, 15, F32, 1, -INFINITY, INFINITY),
	[DNNQ_A_CLIP_MAX] = F(clip_max, 16, F32, 1, -INFINITY, INFINITY),
	[DNNQ_A_REQUANT] = F(requant, 17, U32, 1, 0, 3),
	[DNNQ_A_OUT_DTYPE] = F(out_dtype, 18, U32, 1, 0, DNNQ_DTYPE_COUNT - 1),
	[DNNQ_A_OUT_SCALE] = F(out_scale, 19, F32, 1, -INFINITY, INFINITY),
	[DNNQ_A_OUT_ZERO_POINT] = F(out_zero_point, 20, I32, 1, -BIG - 1, BIG),
	[DNNQ_A_OUT_PRECISION] = F(out_precision, 21, U32, 1, 0, 32),
	[DNNQ_A_OUT_SIGNED] = F(out_signed, 22, U32, 1, 0, 1),
	[DNNQ_A_POOL] = F(pool, 23, I32, 10, -BIG - 1, BIG),
	[DNNQ_A_CEIL_MODE] = F(ceil_mode, 24, U32, 1, 0, 1),
	[DNNQ_A_COUNT_INCLUDE_PAD] = F(count_include_pad, 25, U32, 1, 0, 1),
	[DNNQ_A_OP] = F(op, 26, U32, 1, 0, 4294967295.0),   /* the kind's check */
	[DNNQ_A_PARAMS] = F(params, 27, F32, 4, -INFINITY, INFINITY),
	[DNNQ_A_AXIS] = F(axis, 28, U32, 1, 0, DNNQ_MAX_DIMS - 1),
	[DNNQ_A_NDIM] = F(ndim, 29, U32, 1, 0, DNNQ_MAX_DIMS),
	[DNNQ_A_DIMS] = F(dims, 30, I64, DNNQ_MAX_DIMS, -HUGE_VAL, HUGE_VAL),
	/* 16-bit accumulation (engine/gemm.h dnnq_gemm_pack_acc16): nbits 0
	 * (default 7) or 2..8 (1 is refused by check_acc16), spill 0 or the
	 * interval in k steps */
	[DNNQ_A_ACC16] = F(acc16, 31, U32, 1, 0, 1),
	[DNNQ_A_ACC16_NBITS] = F(acc16_nbits, 32, U32, 1, 0, 8),
	[DNNQ_A_ACC16_SPILL] = F(acc16_spill, 33, U32, 1, 0, 65535),
	/* acc16_measured, acc16_saturation, acc16_sqnr_db[2]: four words, what
	 * dnnq-convert measured (optional: older readers skip it) */
	[DNNQ_A_ACC16_MEASURED] = { "acc16_measured", 34 | OPT, DNNQ_ATTR_F32, 4,
	                            offsetof(struct dnnq_model_node, acc16_measured),
	                            -INFINITY, INFINITY, true },
	/* enum dnnq_precision: written only for fp32 nodes, so a file without
	 * them reads in a build that predates the key */
	[DNNQ_A_PRECISION] = F(precision, 35, U32, 1, 0, 1),
	/* vision (engine/remap.h): slice and pad, per axis in the engine's layout */
	[DNNQ_A_STARTS] = F(starts, 50, I64, DNNQ_MAX_DIMS, -2147483648.0, BIG),
	[DNNQ_A_STEPS] = F(steps, 51, I64, DNNQ_MAX_DIMS, -2147483648.0, BIG),
};

/* The built-in kinds (engine/graph-nodes.c), then the files of engine/ops/. */
#define BUILTIN_OPS DNNQ_OP(conv) DNNQ_OP(fc) DNNQ_OP(maxpool) DNNQ_OP(avgpool)              \
	DNNQ_OP(gavgpool) DNNQ_OP(eltwise) DNNQ_OP(activation) DNNQ_OP(convert) DNNQ_OP(softmax) \
	DNNQ_OP(elementwise_linear) DNNQ_OP(concat) DNNQ_OP(reshape)
#define DNNQ_OP(name) extern const struct dnnq_op_def dnnq_op_##name;
BUILTIN_OPS
DNNQ_OP_LIST
#undef DNNQ_OP
#define DNNQ_OP(name) &dnnq_op_##name,
static const struct dnnq_op_def *const all_ops[] = { BUILTIN_OPS DNNQ_OP_LIST };
#undef DNNQ_OP
#define NOPS (sizeof all_ops / sizeof all_ops[0])

const struct dnnq_op_def *const *dnnq_op_all(size_t *n)
{
	*n = NOPS;
	return all_ops;
}

const struct dnnq_op_def *dnnq_op_get(uint32_t kind)
{
	size_t n;
	const struct dnnq_op_def *const *all = dnnq_op_all(&n);
	for (size_t i = 0; i < n; i++)
		if (all[i]->kind == kind)
			return all[i];
	return NULL;
}

const struct dnnq_op_def *dnnq_op_find(const char *name)
{
	size_t n;
	const struct dnnq_op_def *const *all = dnnq_op_all(&n);
	for (size_t i = 0; name && i < n; i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}

const struct dnnq_op_def *dnnq_op_find_onnx(const char *op_type)
{
	size_t n;
	const struct dnnq_op_def *const *all = dnnq_op_all(&n);
	for (size_t i = 0; op_type && i < n; i++)
		if (all[i]->onnx && !strcmp(all[i]->onnx, op_type))
			return all[i];
	return NULL;
}

/* Element e of attribute a of n as a double (NaN stays NaN). */
static double attr_value(const struct dnnq_model_node *n, const struct dnnq_attr_def *a,
                         size_t e)
{
	const uint8_t *p = (const uint8_t *)n + a->off;
	switch (a->type) {
	case DNNQ_ATTR_U32: { uint32_t v; memcpy(&v, p + 4 * e, 4); return v; }
	case DNNQ_ATTR_I32: { int32_t v; memcpy(&v, p + 4 * e, 4); return v; }
	case DNNQ_ATTR_F32: { float v; memcpy(&v, p + 4 * e, 4); return v; }
	default: { int64_t v; memcpy(&v, p + 8 * e, 8); return (double)v; }
	}
}

int dnnq_op_check_node(const struct dnnq_model_node *n, char *why, size_t cap)
{
	const struct dnnq_op_def *d = dnnq_op_get(n->kind);
	if (!d) {
		snprintf(why, cap, "kind %u: unknown", (unsigned)n->kind);
		return DNNQ_E_FORMAT;
	}
	if (n->ninputs < d->min_inputs || n->ninputs > d->max_inputs) {
		snprintf(why, cap, "%u inputs: a %s node has %u..%u", n->ninputs, d->name,
		         d->min_inputs, d->max_inputs);
		return DNNQ_E_FORMAT;
	}
	for (size_t i = 0; i < DNNQ_A_COUNT; i++) {
		const struct dnnq_attr_def *a = &dnnq_attrs[i];
		if (!(d->attrs & DNNQ_A(i)) || a->nan_ok)
			continue;
		for (size_t e = 0; e < a->count; e++) {
			double v = attr_value(n, a, e);
			if (!(v >= a->min && v <= a->max)) {
				char at[16] = "";
				if (a->count > 1)
					snprintf(at, sizeof at, "[%zu]", e);
				snprintf(why, cap, "%s%s %.17g: want %.17g..%.17g", a->name, at, v, a->min,
				         a->max);
				return DNNQ_E_FORMAT;
			}
		}
	}
	if (n->precision == DNNQ_PRECISION_FP32 && !d->ops_f32) {
		snprintf(why, cap, "precision fp32: a %s node has no fp32 kernel", d->name);
		return DNNQ_E_FORMAT;
	}
	return d->check ? d->check(n, why, cap) : DNNQ_OK;
}
