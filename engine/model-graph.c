/*
 * The GRAPH section of the `.dnnq` file: nodes with their attributes as
 * (u16 key, u16 type, u32 length, value) entries, one per field of
 * struct dnnq_model_node that the node's kind lists in its description
 * (engine/op.h; keys in dnnq_attrs). Keys with bit 15 set are optional: a
 * reader skips the ones it does not know and refuses unknown required ones.
 * Every node is then checked against its description: input count,
 * attribute ranges, the kind's own check.
 */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine/le.h"
#include "engine/model-internal.h"
#include "engine/op.h"

#define ATTR_OPTIONAL 0x8000u
#define ATTR_W32 1u    /* the file's types: 32-bit words (u32, i32 or f32) */
#define ATTR_W64 2u    /* 64-bit words (i64) */
#define NODE_MIN 18u   /* kind, name length, ninputs, noutputs, nattrs */

static size_t attr_width(const struct dnnq_attr_def *a)
{
	return a->type == DNNQ_ATTR_I64 ? 8 : 4;
}

/* A node carries the attributes its kind lists (engine/op.h). The acc16
 * keys (31..33) only when 16-bit accumulation is set: a file without it
 * stays readable by a reader that predates them; the measurements (34,
 * optional) only when there are some; precision (35) only on fp32 nodes. */
static bool attr_written(const struct dnnq_model_node *n, const struct dnnq_op_def *d,
                         size_t i)
{
	if (!dnnq_op_has(d, i))
		return false;
	if (i == DNNQ_A_ACC16_MEASURED)
		return n->acc16_measured;
	if (i == DNNQ_A_PRECISION)
		return n->precision;
	if (i == DNNQ_A_ACC16 || i == DNNQ_A_ACC16_NBITS || i == DNNQ_A_ACC16_SPILL)
		return n->acc16 || n->acc16_nbits || n->acc16_spill;
	return true;
}

static void write_attr(const struct dnnq_model_node *n, const struct dnnq_attr_def *a,
                       struct wbuf *b)
{
	size_t w = attr_width(a);
	uint8_t *p = wb_take(b, 8 + w * a->count);
	if (!p)
		return;
	const uint8_t *src = (const uint8_t *)n + a->off;
	dnnq_put_le16(p, a->key);
	dnnq_put_le16(p + 2, w == 8 ? ATTR_W64 : ATTR_W32);
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
		const struct dnnq_op_def *d = dnnq_op_get(n->kind);
		size_t na = 0;
		for (size_t a = 0; a < DNNQ_A_COUNT; a++)
			na += attr_written(n, d, a);
		wb_u32(b, (uint32_t)na);
		for (size_t a = 0; a < DNNQ_A_COUNT; a++)
			if (attr_written(n, d, a))
				write_attr(n, &dnnq_attrs[a], b);
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
	const struct dnnq_attr_def *a = NULL;
	size_t id = 0;
	for (size_t i = 0; i < DNNQ_A_COUNT; i++)
		if (dnnq_attrs[i].key == key) {
			a = &dnnq_attrs[i];
			id = i;
		}
	if (!a) {
		if (key & ATTR_OPTIONAL)
			return DNNQ_OK;
		return NODE_ERR(DNNQ_E_UNSUPPORTED, "attribute %u: unknown required key", key);
	}
	size_t w = attr_width(a);
	unsigned want = w == 8 ? ATTR_W64 : ATTR_W32;
	if (type != want || len != w * a->count)
		return NODE_ERR(DNNQ_E_FORMAT, "attribute %s: type %u length %" PRIu32 ": want type %u"
		                " length %zu", a->name, type, len, want, w * a->count);
	/* one its kind does not list (format 1.0 wrote every field on every
	 * node): skipped, the field keeps its default */
	if (!dnnq_op_has(dnnq_op_get(n->kind), id))
		return DNNQ_OK;
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

static int check_node(struct rd *r, size_t j, const struct dnnq_model_node *n, size_t ntensors)
{
	if (n->weight < -1 || n->weight >= (int64_t)ntensors)
		return NODE_ERR(DNNQ_E_FORMAT, "weight %d: no such tensor", n->weight);
	if (n->bias < -1 || n->bias >= (int64_t)ntensors)
		return NODE_ERR(DNNQ_E_FORMAT, "bias %d: no such tensor", n->bias);
	char why[160];
	int rc = dnnq_op_check_node(n, why, sizeof why);
	return rc ? NODE_ERR(rc, "%s", why) : DNNQ_OK;
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
	if (!dnnq_op_get(kind))
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

/* Constants: u8 tensors with per-tensor qparams, or f32 ones (fp32 nodes'). */
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
		if (t->dtype != DNNQ_DTYPE_F32 &&
		    (t->dtype != DNNQ_DTYPE_U8 || t->nqparams != 1 || t->qaxis != -1))
			return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: GRAPH: constant %zu: tensor %"
			                     PRIu32 " ('%s'): must be f32, or u8 with per-tensor qparams",
			                     i, id, m->tensors[id].name);
		m->constants[i] = (int32_t)id;
	}
	return DNNQ_OK;
}

int dnnq_model_read_graph(struct rd *r, struct dnnq_model *m)
{
	int rc;
	size_t n;
	if ((rc = read_constants(r, m)) ||
	    (rc = rd_count(r, "node count", NODE_MIN, DNNQ_MODEL_MAX_NODES, &n)))
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
