/*
 * The GRAPH section of the `.dnnq` file: nodes with their attributes as
 * (u16 key, u16 type, u32 length, value) entries, one per field of
 * struct dnnq_model_node. Keys with bit 15 set are optional: a reader skips
 * the ones it does not know and refuses unknown required ones.
 */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine/le.h"
#include "engine/model-internal.h"

#define ATTR_OPTIONAL 0x8000u
#define ATTR_W32 1u    /* 32-bit words: u32, i32 or f32 */
#define ATTR_W64 2u    /* 64-bit words: i64 */
#define NODE_MIN 18u   /* kind, name length, ninputs, noutputs, nattrs */

#define A32(key, field, count) { key, ATTR_W32, offsetof(struct dnnq_model_node, field), count, #field }
static const struct attr {
	uint16_t key, type;
	size_t off, count;
	const char *name;
} attrs[] = {
	A32(1, weight, 1), A32(2, bias, 1), A32(3, cin, 1), A32(4, cout, 1), A32(5, groups, 1),
	A32(6, kernel, 2), A32(7, strides, 2), A32(8, dilations, 2), A32(9, pads, 4),
	A32(10, n, 1), A32(11, k, 1), A32(12, dynamic, 1), A32(13, relu, 1), A32(14, clip, 1),
	A32(15, clip_min, 1), A32(16, clip_max, 1), A32(17, requant, 1), A32(18, out_dtype, 1),
	A32(19, out_scale, 1), A32(20, out_zero_point, 1), A32(21, out_precision, 1),
	A32(22, out_signed, 1), A32(23, pool, 10), A32(24, ceil_mode, 1),
	A32(25, count_include_pad, 1), A32(26, op, 1), A32(27, params, 4), A32(28, axis, 1),
	A32(29, ndim, 1),
	{ 30, ATTR_W64, offsetof(struct dnnq_model_node, dims), DNNQ_MAX_DIMS, "dims" },
	A32(31, acc16, 1), A32(32, acc16_nbits, 1), A32(33, acc16_spill, 1),
	/* acc16_measured, acc16_saturation, acc16_sqnr_db[2]: four words */
	A32(34 | ATTR_OPTIONAL, acc16_measured, 4),
};
#define NATTRS (sizeof attrs / sizeof attrs[0])
#define ACC16_SPILL_MAX 65535u

/* The acc16 keys (31..33) are written only for a node that uses 16-bit
 * accumulation: a file without it stays readable by a reader that predates
 * them, one with it is refused there (unknown required key). The
 * measurements (34, optional) only when there are some; such a reader skips
 * them. */
static bool attr_written(const struct dnnq_model_node *n, const struct attr *a)
{
	if (a->key == (34 | ATTR_OPTIONAL))
		return n->acc16_measured;
	if (a->key >= 31 && a->key <= 33)
		return n->acc16 || n->acc16_nbits || n->acc16_spill;
	return true;
}

static void write_attr(const struct dnnq_model_node *n, const struct attr *a, struct wbuf *b)
{
	size_t w = a->type == ATTR_W64 ? 8 : 4;
	uint8_t *p = wb_take(b, 8 + w * a->count);
	if (!p)
		return;
	const uint8_t *src = (const uint8_t *)n + a->off;
	dnnq_put_le16(p, a->key);
	dnnq_put_le16(p + 2, a->type);
	dnnq_put_le32(p + 4, (uint32_t)(w * a->count));
	for (size_t i = 0; i < a->count; i++) {
		if (w == 8) {
			uint64_t v;
			memcpy(&v, src + 8 * i, 8);
			dnnq_put_le64(p + 8 + 8 * i, v);
		} else {
			uint32_t v;
			memcpy(&v, src + 4 * i, 4);
			dnnq_put_le32(p + 8 + 4 * i, v);
		}
	}
}

void dnnq_model_write_graph(const struct dnnq_model *m, struct wbuf *b)
{
	wb_u32(b, (uint32_t)m->nconstants);
	for (size_t i = 0; i < m->nconstants; i++)
		wb_u32(b, (uint32_t)m->constants[i]);
	wb_u32(b, (uint32_t)m->nnodes);
	for (size_t j = 0; j < m->nnodes; j++) {
		const struct dnnq_model_node *n = &m->nodes[j];
		wb_u32(b, n->kind);
		wb_str(b, n->name);
		wb_u32(b, n->ninputs);
		for (uint32_t i = 0; i < n->ninputs && i < DNNQ_GRAPH_MAX_NODE_INPUTS; i++)
			wb_u32(b, (uint32_t)n->inputs[i]);
		wb_u32(b, 1);
		wb_u32(b, (uint32_t)dnnq_model_node_value(m, j));
		size_t na = 0;
		for (size_t a = 0; a < NATTRS; a++)
			na += attr_written(n, &attrs[a]);
		wb_u32(b, (uint32_t)na);
		for (size_t a = 0; a < NATTRS; a++)
			if (attr_written(n, &attrs[a]))
				write_attr(n, &attrs[a], b);
	}
}

#define NODE_ERR(rc, ...) dnnq_model_node_err(r->diag, "GRAPH: ", j, n->name, rc, __VA_ARGS__)

static int read_attr(struct rd *r, size_t j, struct dnnq_model_node *n)
{
	const uint8_t *h = rd_take(r, 8);
	if (!h)
		return NODE_ERR(DNNQ_E_TRUNCATED, "attribute header: section ends at byte %zu", r->off);
	uint16_t key = dnnq_le16(h), type = dnnq_le16(h + 2);
	uint32_t len = dnnq_le32(h + 4);
	const uint8_t *v = rd_take(r, len);
	if (!v)
		return NODE_ERR(DNNQ_E_TRUNCATED, "attribute %u: length %" PRIu32 ": only %zu bytes"
		                " left", key, len, r->len - r->off);
	const struct attr *a = NULL;
	for (size_t i = 0; i < NATTRS; i++)
		if (attrs[i].key == key)
			a = &attrs[i];
	if (!a) {
		if (key & ATTR_OPTIONAL)
			return DNNQ_OK;
		return NODE_ERR(DNNQ_E_UNSUPPORTED, "attribute %u: unknown required key", key);
	}
	size_t w = a->type == ATTR_W64 ? 8 : 4;
	if (type != a->type || len != w * a->count)
		return NODE_ERR(DNNQ_E_FORMAT, "attribute %s: type %u length %" PRIu32 ": want type %u"
		                " length %zu", a->name, type, len, a->type, w * a->count);
	uint8_t *dst = (uint8_t *)n + a->off;
	for (size_t i = 0; i < a->count; i++) {
		if (w == 8) {
			uint64_t x = dnnq_le64(v + 8 * i);
			memcpy(dst + 8 * i, &x, 8);
		} else {
			uint32_t x = dnnq_le32(v + 4 * i);
			memcpy(dst + 4 * i, &x, 4);
		}
	}
	return DNNQ_OK;
}

/* A reshape's dims[1..ndim) (dims[0] is the batch): each 1..2^31-1, or
 * ONNX's 0 (copy the input's dim) or -1 (what the others leave), at most
 * one -1. dnnq_model_build resolves 0 and -1 against the input's shape and
 * refuses a product other than its element count (engine/graph-nodes.c). */
static int check_reshape(struct rd *r, size_t j, const struct dnnq_model_node *n)
{
	if (n->ndim < 1)
		return NODE_ERR(DNNQ_E_SHAPE, "ndim 0: a reshape has rank 1..%d", DNNQ_MAX_DIMS);
	uint32_t minus = 0;
	for (uint32_t i = 1; i < n->ndim; i++) {
		int64_t v = n->dims[i];
		if (v == -1 && minus)
			return NODE_ERR(DNNQ_E_SHAPE, "dims[%u] = -1: a second -1 (dims[%u] is one)", i,
			                minus);
		if (v == -1)
			minus = i;
		else if (v < 0)
			return NODE_ERR(DNNQ_E_SHAPE, "dims[%u] = %" PRId64 ": must be >= 1 (or 0, the "
			                "input's, or one -1)", i, v);
		else if (v > INT32_MAX)
			return NODE_ERR(DNNQ_E_SHAPE, "dims[%u] = %" PRId64 ": at most %d", i, v,
			                INT32_MAX);
	}
	return DNNQ_OK;
}

static int check_node(struct rd *r, size_t j, const struct dnnq_model_node *n, size_t ntensors)
{
	if (n->weight < -1 || n->weight >= (int64_t)ntensors)
		return NODE_ERR(DNNQ_E_FORMAT, "weight %d: no such tensor", n->weight);
	if (n->bias < -1 || n->bias >= (int64_t)ntensors)
		return NODE_ERR(DNNQ_E_FORMAT, "bias %d: no such tensor", n->bias);
	if (n->ndim > DNNQ_MAX_DIMS)
		return NODE_ERR(DNNQ_E_FORMAT, "ndim %u: at most %d", n->ndim, DNNQ_MAX_DIMS);
	if (n->kind == DNNQ_NODE_CONVERT && !dnnq_convert_kind_name(n->op))
		return NODE_ERR(DNNQ_E_FORMAT, "op %u: not a convert kind (0..%d)", n->op,
		                DNNQ_CONVERT_DEQUANTIZE_NCHW);
	bool gemm = n->kind == DNNQ_NODE_CONV || n->kind == DNNQ_NODE_FC;
	if (n->acc16 > 1 || (n->acc16 && !gemm))
		return NODE_ERR(DNNQ_E_FORMAT, "acc16 %u: want 0 or 1%s", n->acc16,
		                gemm ? "" : " (0 on a node that is not conv or fc)");
	if (n->acc16_nbits == 1 || n->acc16_nbits > 8)
		return NODE_ERR(DNNQ_E_FORMAT, "acc16_nbits %u: want 0 (default) or 2..8",
		                n->acc16_nbits);
	if (n->acc16_spill > ACC16_SPILL_MAX)
		return NODE_ERR(DNNQ_E_FORMAT, "acc16_spill %u: want 0 (default) .. %u",
		                n->acc16_spill, ACC16_SPILL_MAX);
	if (n->acc16_measured > 1 || (n->acc16_measured && !gemm))
		return NODE_ERR(DNNQ_E_FORMAT, "acc16_measured %u: want 0 or 1%s", n->acc16_measured,
		                gemm ? "" : " (0 on a node that is not conv or fc)");
	if (!(n->acc16_saturation >= 0 && n->acc16_saturation <= 1) &&
	    !isnan(n->acc16_saturation))
		return NODE_ERR(DNNQ_E_FORMAT, "acc16_saturation %g: want a rate in [0, 1] or NaN",
		                (double)n->acc16_saturation);
	if (n->out_dtype >= DNNQ_DTYPE_COUNT || n->out_precision > 32 || n->out_signed > 1)
		return NODE_ERR(DNNQ_E_FORMAT, "out dtype %u precision %u signed %u: invalid",
		                n->out_dtype, n->out_precision, n->out_signed);
	return n->kind == DNNQ_NODE_RESHAPE ? check_reshape(r, j, n) : DNNQ_OK;
}

static int read_node(struct rd *r, struct dnnq_model *m, size_t j)
{
	struct dnnq_model_node *n = &m->nodes[j];
	uint32_t kind, nout, out;
	size_t nattrs;
	int rc;
	dnnq_model_node_init(n, 0, "");
	char f[64];
	snprintf(f, sizeof f, "node %zu: kind", j);
	if ((rc = rd_u32(r, f, &kind)))
		return rc;
	snprintf(f, sizeof f, "node %zu: name", j);
	if ((rc = rd_str(r, f, n->name)))
		return rc;
	if (kind >= DNNQ_NODE_KIND_COUNT)
		return NODE_ERR(DNNQ_E_FORMAT, "kind %" PRIu32 ": unknown", kind);
	n->kind = kind;
	snprintf(f, sizeof f, "node %zu: ninputs", j);
	if ((rc = rd_u32(r, f, &n->ninputs)))
		return rc;
	if (n->ninputs > DNNQ_GRAPH_MAX_NODE_INPUTS)
		return NODE_ERR(DNNQ_E_FORMAT, "ninputs %u: at most %d", n->ninputs,
		                DNNQ_GRAPH_MAX_NODE_INPUTS);
	for (uint32_t i = 0; i < n->ninputs; i++) {
		uint32_t v;
		snprintf(f, sizeof f, "node %zu: input %u", j, i);
		if ((rc = rd_u32(r, f, &v)))
			return rc;
		if (v >= dnnq_model_node_value(m, j))
			return NODE_ERR(DNNQ_E_FORMAT, "input %" PRIu32 ": no such tensor", v);
		n->inputs[i] = (int32_t)v;
	}
	snprintf(f, sizeof f, "node %zu: outputs", j);
	if ((rc = rd_u32(r, f, &nout)) || (rc = rd_u32(r, f, &out)))
		return rc;
	if (nout != 1 || out != dnnq_model_node_value(m, j))
		return NODE_ERR(DNNQ_E_FORMAT, "outputs %" PRIu32 " (%" PRIu32 "): must be 1 (%zu)",
		                nout, out, dnnq_model_node_value(m, j));
	snprintf(f, sizeof f, "node %zu: attribute count", j);
	if ((rc = rd_count(r, f, 8, 4096, &nattrs)))
		return rc;
	for (size_t a = 0; a < nattrs; a++)
		if ((rc = read_attr(r, j, n)))
			return rc;
	return check_node(r, j, n, m->ntensors);
}

/* Constants: u8 tensors with per-tensor qparams. */
static int read_constants(struct rd *r, struct dnnq_model *m)
{
	int rc;
	size_t n;
	if ((rc = rd_count(r, "constant count", 4, UINT32_MAX, &n)))
		return rc;
	if (n && !(m->constants = calloc(n, sizeof *m->constants)))
		return dnnq_diag_set(r->diag, DNNQ_E_NOMEM, "model: GRAPH: out of memory");
	m->nconstants = n;
	for (size_t i = 0; i < n; i++) {
		uint32_t id;
		if ((rc = rd_u32(r, "constant", &id)))
			return rc;
		if (id >= m->ntensors)
			return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: GRAPH: constant %zu: tensor %"
			                     PRIu32 ": no such tensor", i, id);
		const struct dnnq_qtensor *t = &m->tensors[id].t;
		if (t->dtype != DNNQ_DTYPE_U8 || t->nqparams != 1 || t->qaxis != -1)
			return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: GRAPH: constant %zu: tensor %"
			                     PRIu32 " ('%s'): must be u8 with per-tensor qparams", i, id,
			                     m->tensors[id].name);
		m->constants[i] = (int32_t)id;
	}
	return DNNQ_OK;
}

int dnnq_model_read_graph(struct rd *r, struct dnnq_model *m)
{
	int rc;
	size_t n;
	if ((rc = read_constants(r, m)) ||
	    (rc = rd_count(r, "node count", NODE_MIN, UINT32_MAX, &n)))
		return rc;
	if (n && !(m->nodes = calloc(n, sizeof *m->nodes)))
		return dnnq_diag_set(r->diag, DNNQ_E_NOMEM, "model: GRAPH: out of memory");
	m->nnodes = n;
	for (size_t j = 0; j < n; j++)
		if ((rc = read_node(r, m, j)))
			return rc;
	for (size_t i = 0; i < m->noutputs; i++)
		if (m->outputs[i].value < 0 || (size_t)m->outputs[i].value >= dnnq_model_num_values(m))
			return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: SIGNATURE: output %zu ('%s'):"
			                     " value %d: no such tensor", i, m->outputs[i].name,
			                     m->outputs[i].value);
	return DNNQ_OK;
}
