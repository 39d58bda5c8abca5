/*
 * onnx/import.c — an ONNX ModelProto to the IR (onnx/ir.h).
 *
 * protobuf-c parses the bytes (code generated from onnx.proto); this file
 * walks the graph once, in topological order (onnx/import-order.c), and
 * infers every value's dtype and static shape as it goes (the batch, dim 0 of the graph inputs, stays
 * symbolic: stored as 1 and flagged `batched`).
 *
 * Nothing in the model is trusted: every count, index, dimension and
 * attribute type is checked, constants are size-checked against their dims
 * before anything is allocated, and their total is capped. Problems do not
 * stop the walk: each one becomes a line of the list the caller gets, the
 * first one also the diag. A node that fails marks its outputs unknown, and
 * the nodes reading unknown values are skipped without a message of their
 * own (their operator is still checked), so one bad node costs one line.
 *
 * The operators themselves (attributes, shape rules) are in
 * onnx/import-ops.c; the helpers both files share are in onnx/import-int.h.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/fuse.h"
#include "onnx/import-int.h"
#include "onnx/qdq.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onnx/import.c copies little-endian raw_data as is"
#endif

#define IMP_MAX_FILE ((size_t)2 << 30)

/* ---- problems ----------------------------------------------------------- */

void imp_problem(struct imp *m, int status, const char *fmt, ...)
{
	char raw[512], line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	dnnq_escape(line, sizeof line, raw);    /* the names are the model's */
	if (!m->status) {
		m->status = status;
		dnnq_diag_set(m->diag, status, "%s", line);
	}
	m->nproblems++;
	size_t n = strlen(line);
	if (m->list_len + n + 2 > m->list_cap) {
		size_t cap = (m->list_cap ? m->list_cap * 2 : 1024) + n + 2;
		char *p = realloc(m->list, cap);
		if (!p) {
			m->nomem = true;
			return;
		}
		m->list = p;
		m->list_cap = cap;
	}
	memcpy(m->list + m->list_len, line, n);
	m->list_len += n;
	m->list[m->list_len++] = '\n';
	m->list[m->list_len] = '\0';
}

/* ---- names: one open-addressing table, name -> what it is ------------------ */

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

struct imp_name *imp_find(struct imp *m, const char *name)
{
	if (!m->ncap)
		return NULL;
	for (size_t i = name_hash(name) & (m->ncap - 1);; i = (i + 1) & (m->ncap - 1)) {
		if (!m->names[i].name)
			return NULL;
		if (!strcmp(m->names[i].name, name))
			return &m->names[i];
	}
}

void *imp_hold(struct imp *m, void *p)
{
	if (!p || dnnq_ir_grow((void **)&m->held, &m->hcap, m->nheld, sizeof *m->held)) {
		free(p);
		return NULL;
	}
	return m->held[m->nheld++] = p;
}

/* Adds name (not yet present; the string must outlive the import). */
int imp_add_name(struct imp *m, const char *name, enum imp_kind kind, int32_t idx)
{
	if ((m->nused + 1) * 2 > m->ncap) {
		size_t cap = m->ncap ? m->ncap * 2 : 256;
		struct imp_name *t = calloc(cap, sizeof *t);
		if (!t)
			return DNNQ_E_NOMEM;
		for (size_t i = 0; i < m->ncap; i++) {
			if (!m->names[i].name)
				continue;
			size_t j = name_hash(m->names[i].name) & (cap - 1);
			while (t[j].name)
				j = (j + 1) & (cap - 1);
			t[j] = m->names[i];
		}
		free(m->names);
		m->names = t;
		m->ncap = cap;
	}
	size_t j = name_hash(name) & (m->ncap - 1);
	while (m->names[j].name)
		j = (j + 1) & (m->ncap - 1);
	m->names[j] = (struct imp_name){ name, kind, idx, false, false };
	m->nused++;
	return 0;
}

bool imp_is_bool(struct imp *m, const char *name)
{
	const struct imp_name *e = imp_find(m, name);
	return e && e->is_bool;
}

void imp_mark_bool(struct imp *m, const char *name, bool is_bool)
{
	struct imp_name *e = imp_find(m, name);
	if (e)
		e->is_bool = is_bool;
}

bool imp_is_int(struct imp *m, const char *name)
{
	const struct imp_name *e = imp_find(m, name);
	return e && e->is_int;
}

void imp_mark_int(struct imp *m, const char *name)
{
	struct imp_name *e = imp_find(m, name);
	if (e)
		e->is_int = true;
}

/* Removes name from the table, if there (a Loop's body defines its names
 * again each iteration: onnx/import-loop.c). Linear probing: each entry
 * after it in its run moves back into the hole when its home slot is not
 * between the hole and where it is. */
void imp_forget_name(struct imp *m, const char *name)
{
	struct imp_name *e = imp_find(m, name);
	if (!e)
		return;
	size_t hole = (size_t)(e - m->names), mask = m->ncap - 1;
	for (size_t j = (hole + 1) & mask; m->names[j].name; j = (j + 1) & mask) {
		size_t home = name_hash(m->names[j].name) & mask;
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			m->names[hole] = m->names[j];
			hole = j;
		}
	}
	m->names[hole] = (struct imp_name){ 0 };
	m->nused--;
}

/* ---- values and nodes --------------------------------------------------- */

/* Appends a value (a copy of *from, name duplicated); its id, or < 0.
 * *from may be a value of the table: it is copied before the table grows. */
int32_t imp_new_value(struct imp *m, const struct dnnq_ir_value *from, bool known)
{
	struct dnnq_ir *ir = m->ir;
	if (ir->nvalues >= INT32_MAX / 2)
		return DNNQ_E_NOMEM;
	const struct dnnq_ir_value v = *from;
	size_t n = ir->nvalues, c[5] = { m->vcap, m->vcap, m->vcap, m->vcap, m->vcap };
	if (dnnq_ir_grow((void **)&ir->values, &c[0], n, sizeof *ir->values) ||
	    dnnq_ir_grow((void **)&m->known, &c[1], n, sizeof *m->known) ||
	    dnnq_ir_grow((void **)&m->batch, &c[2], n, sizeof *m->batch) ||
	    dnnq_ir_grow((void **)&m->moved, &c[3], n, sizeof *m->moved) ||
	    dnnq_ir_grow((void **)&m->empty_batch, &c[4], n, sizeof *m->empty_batch))
		return DNNQ_E_NOMEM;
	m->vcap = c[0];
	const char *base = v.name ? v.name : "";
	size_t a = strlen(base), b = strlen(m->scope);
	char *name = malloc(a + b + 1);
	if (!name)
		return DNNQ_E_NOMEM;
	memcpy(name, base, a);
	memcpy(name + a, m->scope, b + 1);
	ir->values[ir->nvalues] = v;
	ir->values[ir->nvalues].name = name;
	m->known[ir->nvalues] = known;
	m->batch[ir->nvalues] = false;
	m->moved[ir->nvalues] = 0;
	m->empty_batch[ir->nvalues] = false;
	return (int32_t)ir->nvalues++;
}

int imp_settled(struct imp *m, const char *name, const char *op_type, enum dnnq_ir_settled how)
{
	struct dnnq_ir *ir = m->ir;
	if (dnnq_ir_grow((void **)&ir->removed, &m->rcap, ir->nremoved, sizeof *ir->removed))
		return DNNQ_E_NOMEM;
	struct dnnq_ir_removed *r = &ir->removed[ir->nremoved];
	*r = (struct dnnq_ir_removed){ strdup(name), strdup(op_type), how };
	if (!r->name || !r->op_type) {
		free(r->name);
		free(r->op_type);
		return DNNQ_E_NOMEM;
	}
	ir->nremoved++;
	return 0;
}

static int new_node(struct imp *m, const struct dnnq_ir_node *n)
{
	struct dnnq_ir *ir = m->ir;
	if (!n->name || !n->op_type)
		return DNNQ_E_NOMEM;
	if (n->ninputs > DNNQ_IR_MAX_INPUTS || n->noutputs > DNNQ_IR_MAX_OUTPUTS) {
		imp_problem(m, DNNQ_E_RANGE, "node '%s' (%s): the import made it of %u inputs and "
		            "%u outputs, more than a node holds (%d, %d)", n->name, n->op_type,
		            n->ninputs, n->noutputs, DNNQ_IR_MAX_INPUTS, DNNQ_IR_MAX_OUTPUTS);
		return DNNQ_E_RANGE;
	}
	if (dnnq_ir_grow((void **)&ir->nodes, &m->ncap_nodes, ir->nnodes, sizeof *ir->nodes))
		return DNNQ_E_NOMEM;
	ir->nodes[ir->nnodes] = *n;
	if (*m->scope) {
		size_t a = strlen(n->name), b = strlen(m->scope);
		char *p = realloc(n->name, a + b + 1);
		if (!p)
			return DNNQ_E_NOMEM;
		memcpy(p + a, m->scope, b + 1);
		ir->nodes[ir->nnodes].name = p;
	}
	ir->nnodes++;
	return 0;
}

int imp_new_node(struct imp *m, const struct dnnq_ir_node *n)
{
	int rc = new_node(m, n);
	if (rc) {
		free(n->name);
		free(n->op_type);
	}
	return rc;
}

/* ---- tensors ------------------------------------------------------------ */

int imp_dtype(int32_t onnx, enum dnnq_ir_dtype *dt)
{
	switch (onnx) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: *dt = DNNQ_IR_F32; return 0;
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: *dt = DNNQ_IR_U8; return 0;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:  *dt = DNNQ_IR_S8; return 0;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: *dt = DNNQ_IR_S32; return 0;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: *dt = DNNQ_IR_S64; return 0;
	default: return DNNQ_E_DTYPE;
	}
}

const char *imp_onnx_dtype_name(int32_t t)
{
	static const char *const n[] = { "undefined", "float", "uint8", "int8", "uint16",
		"int16", "int32", "int64", "string", "bool", "float16", "double", "uint32",
		"uint64", "complex64", "complex128", "bfloat16" };
	return t >= 0 && (size_t)t < sizeof n / sizeof n[0] ? n[t] : "unknown";
}

const char *dnnq_onnx_output_retyped(const struct dnnq_ir *ir, size_t k, enum dnnq_dtype served)
{
	int32_t t = ir->output_types && k < ir->noutputs ? ir->output_types[k] : 0;
	enum dnnq_dtype same;
	switch (t) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: same = DNNQ_DTYPE_U8; break;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: same = DNNQ_DTYPE_S8; break;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: same = DNNQ_DTYPE_S32; break;
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
	case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: same = DNNQ_DTYPE_INVALID; break;
	default: return NULL;   /* none given, or not an integer */
	}
	return served == same ? NULL : imp_onnx_dtype_name(t);
}

static int copy_ints(const int32_t *src, size_t n, enum dnnq_ir_dtype dt, void *dst)
{
	for (size_t i = 0; i < n; i++) {
		int32_t v = src[i];
		if (dt == DNNQ_IR_U8) {
			if (v < 0 || v > 255)
				return -1;
			((uint8_t *)dst)[i] = (uint8_t)v;
		} else if (dt == DNNQ_IR_S8) {
			if (v < -128 || v > 127)
				return -1;
			((int8_t *)dst)[i] = (int8_t)v;
		} else {
			((int32_t *)dst)[i] = v;
		}
	}
	return 0;
}

bool imp_const_over(struct imp *m, size_t bytes, const char *what)
{
	size_t set = m->opts ? m->opts->max_const_bytes : 0, limit = set;
	if (!set) {
		limit = m->model_bytes > IMP_MAX_CONST_BYTES / IMP_CONST_PER_BYTE
		        ? IMP_MAX_CONST_BYTES : m->model_bytes * IMP_CONST_PER_BYTE;
		limit = limit < IMP_CONST_FLOOR ? IMP_CONST_FLOOR : limit;
	}
	if (m->const_bytes <= limit && bytes <= limit - m->const_bytes)
		return false;
	char why[160];
	if (set)
		snprintf(why, sizeof why, "set by --max-constants");
	else
		snprintf(why, sizeof why, "%d times the model's %zu bytes, at least %zu MiB, at most "
		         "%zu MiB; --max-constants MiB raises it", IMP_CONST_PER_BYTE, m->model_bytes,
		         IMP_CONST_FLOOR >> 20, IMP_MAX_CONST_BYTES >> 20);
	imp_problem(m, DNNQ_E_NOMEM, "%s: %zu bytes of constants, after the %zu before, exceed the "
	            "limit of %zu MiB (%s)", what, bytes, m->const_bytes, limit >> 20, why);
	return true;
}

int imp_const_alloc(struct imp *m, size_t bytes, const char *what, void **p)
{
	*p = NULL;
	if (imp_const_over(m, bytes, what))
		return DNNQ_E_NOMEM;
	if (!(*p = malloc(bytes ? bytes : 1)))
		return imp_problem(m, DNNQ_E_NOMEM, "%s: out of memory", what), DNNQ_E_NOMEM;
	m->const_bytes += bytes;
	return 0;
}

/* An IEEE half's bits as the float it is (every half is exactly a float). */
static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, f = h & 0x3ff, bits;
	if (e == 0x1f)
		bits = sign | 0x7f800000u | f << 13;             /* inf, nan */
	else if (e)
		bits = sign | (e + 112) << 23 | f << 13;          /* normal: bias 15 -> 127 */
	else if (!f)
		bits = sign;                                       /* zero */
	else {                                                 /* subnormal: normalize */
		int s = 0;
		while (!(f & 0x400))
			f <<= 1, s++;
		bits = sign | (uint32_t)(113 - s) << 23 | (f & 0x3ff) << 13;
	}
	float x;
	memcpy(&x, &bits, sizeof x);
	return x;
}

/* A float16 tensor (raw_data: little-endian halves; int32_data: one half's
 * bits per element) widened into v->data, v an F32 value. */
static int tensor_data_f16(struct imp *m, const Onnx__TensorProto *t, struct dnnq_ir_value *v,
                           const char *what)
{
	size_t numel = dnnq_ir_numel(v, 1);
	size_t have = t->has_raw_data ? t->raw_data.len : t->n_int32_data;
	size_t need = t->has_raw_data ? 2 * numel : numel;
	if (have != need)
		return imp_problem(m, DNNQ_E_FORMAT, "%s: float16 %s has %zu %s, dims [%s] need %zu",
		                   what, t->has_raw_data ? "raw_data" : "int32_data", have,
		                   t->has_raw_data ? "bytes" : "elements", imp_dims_str(v), need),
		       DNNQ_E_FORMAT;
	int rc = imp_const_alloc(m, numel * sizeof(float), what, &v->data);
	for (size_t i = 0; !rc && i < numel; i++) {
		const uint8_t *r = t->has_raw_data ? t->raw_data.data + 2 * i : NULL;
		uint16_t h = r ? (uint16_t)(r[0] | r[1] << 8) : (uint16_t)t->int32_data[i];
		((float *)v->data)[i] = half_to_float(h);
	}
	return rc;
}

/* A bool tensor (raw_data: one byte per element; int32_data: one per
 * element) as the floats 0 and 1 into v->data, v an F32 value: a bool is
 * carried as the float 0 or 1 (docs/onnx.md). */
static int tensor_data_bool(struct imp *m, const Onnx__TensorProto *t, struct dnnq_ir_value *v,
                            const char *what)
{
	size_t numel = dnnq_ir_numel(v, 1);
	size_t have = t->has_raw_data ? t->raw_data.len : t->n_int32_data;
	if (have != numel)
		return imp_problem(m, DNNQ_E_FORMAT, "%s: bool %s has %zu elements, dims [%s] need "
		                   "%zu", what, t->has_raw_data ? "raw_data" : "int32_data", have,
		                   imp_dims_str(v), numel),
		       DNNQ_E_FORMAT;
	int rc = imp_const_alloc(m, numel * sizeof(float), what, &v->data);
	for (size_t i = 0; !rc && i < numel; i++)
		((float *)v->data)[i] = (t->has_raw_data ? t->raw_data.data[i] : t->int32_data[i]) != 0;
	return rc;
}

/* The tensor's data into v->data (v's dtype and dims set); what: for messages. */
static int tensor_data(struct imp *m, const Onnx__TensorProto *t, struct dnnq_ir_value *v,
                       const char *what)
{
	if (t->has_data_type && t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16)
		return tensor_data_f16(m, t, v, what);
	if (t->has_data_type && t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
		return tensor_data_bool(m, t, v, what);
	size_t numel = dnnq_ir_numel(v, 1), es = dnnq_ir_dtype_size(v->dtype), bytes = numel * es;
	size_t have;
	const char *field;
	if (t->has_raw_data) {
		have = t->raw_data.len, field = "raw_data";
		if (have != bytes)
			goto size;
	} else if (v->dtype == DNNQ_IR_F32) {
		have = t->n_float_data, field = "float_data";
	} else if (v->dtype == DNNQ_IR_S64) {
		have = t->n_int64_data, field = "int64_data";
	} else {
		have = t->n_int32_data, field = "int32_data";
	}
	if (have != (t->has_raw_data ? bytes : numel))
		goto size;
	int rc = imp_const_alloc(m, bytes, what, &v->data);
	if (rc)
		return rc;
	if (t->has_raw_data) {
		if (bytes)
			memcpy(v->data, t->raw_data.data, bytes);
	} else if (v->dtype == DNNQ_IR_F32) {
		if (bytes)
			memcpy(v->data, t->float_data, bytes);
	} else if (v->dtype == DNNQ_IR_S64) {
		if (bytes)
			memcpy(v->data, t->int64_data, bytes);
	} else if (copy_ints(t->int32_data, numel, v->dtype, v->data)) {
		free(v->data);
		v->data = NULL;
		return imp_problem(m, DNNQ_E_FORMAT, "%s: int32_data holds a value out of %s's range",
		                   what, dnnq_ir_dtype_name(v->dtype)), DNNQ_E_FORMAT;
	}
	return 0;
size:
	imp_problem(m, DNNQ_E_FORMAT, "%s: %s has %zu %s, dims [%s] need %zu", what, field, have,
	            t->has_raw_data ? "bytes" : "elements", imp_dims_str(v), t->has_raw_data ? bytes : numel);
	return DNNQ_E_FORMAT;
}

/* v's dims for a message ("N:2,3,4"), in one of IMP_DIMS_STRS buffers
 * used in turn: a message may print that many shapes (each call's string
 * lives until as many later calls have been made). */
const char *imp_dims_str(const struct dnnq_ir_value *v)
{
	static __thread char bufs[IMP_DIMS_STRS][128];
	static __thread unsigned next;
	char *buf = bufs[next++ % IMP_DIMS_STRS];
	size_t o = 0, cap = sizeof bufs[0];
	buf[0] = '\0';
	for (uint32_t i = 0; i < v->ndim && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s%lld", i ? "," : "",
		                      i == 0 && v->batched ? "N:" : "", (long long)v->dims[i]);
	return buf;
}

/* A TensorProto (an initializer, a Constant's value) to a constant value named
 * name; its id, or < 0 (the problem recorded). */
int32_t imp_tensor_value(struct imp *m, const Onnx__TensorProto *t, const char *name,
                         const char *what)
{
	struct dnnq_ir_value v = { .name = (char *)name, .producer = -1 };
	int32_t dt = t->has_data_type ? t->data_type : 0;
	if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 || dt == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
		v.dtype = DNNQ_IR_F32;  /* widened: an fp16 model computes in fp32, a bool is
		                           the float 0 or 1 (docs/onnx.md) */
	else if (imp_dtype(dt, &v.dtype)) {
		imp_problem(m, DNNQ_E_DTYPE, "%s: data type %s (%d) is not supported", what,
		            imp_onnx_dtype_name(dt), (int)dt);
		return DNNQ_E_DTYPE;
	}
	if (t->segment) {
		imp_problem(m, DNNQ_E_UNSUPPORTED, "%s: segmented tensors are not supported", what);
		return DNNQ_E_UNSUPPORTED;
	}
	if (t->n_dims > DNNQ_IR_MAX_DIMS) {
		imp_problem(m, DNNQ_E_UNSUPPORTED, "%s: %zu dims (at most %d)", what, t->n_dims,
		            DNNQ_IR_MAX_DIMS);
		return DNNQ_E_UNSUPPORTED;
	}
	v.ndim = (uint32_t)t->n_dims;
	size_t numel = 1;
	for (size_t i = 0; i < t->n_dims; i++) {
		v.dims[i] = t->dims[i];
		if (t->dims[i] < 0 || t->dims[i] > IMP_MAX_DIM ||
		    !dnnq_mul_size(numel, (size_t)t->dims[i], &numel) || numel > IMP_MAX_NUMEL) {
			imp_problem(m, DNNQ_E_FORMAT, "%s: dims[%zu] = %lld: negative or too large", what,
			            i, (long long)t->dims[i]);
			return DNNQ_E_FORMAT;
		}
	}
	int rc;
	if ((t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
	    t->n_external_data) {
		/* the file's bytes as the tensor's raw_data */
		Onnx__TensorProto ext = *t;
		size_t es = dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ? 2
		          : dt == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? 1 : dnnq_ir_dtype_size(v.dtype);
		void *bytes;
		if ((rc = imp_external_data(m, t, numel * es, what, &bytes)))
			return rc;
		ext.has_raw_data = 1;
		ext.raw_data.len = numel * es;
		ext.raw_data.data = bytes;
		rc = tensor_data(m, &ext, &v, what);
		free(bytes);
	} else {
		rc = tensor_data(m, t, &v, what);
	}
	if (rc)
		return rc;
	int32_t id = imp_new_value(m, &v, true);
	if (id < 0) {
		free(v.data);
		imp_problem(m, DNNQ_E_NOMEM, "%s: out of memory", what);
	}
	return id;
}

/* ---- the graph's inputs, initializers and outputs ------------------------ */

static const char *S(const char *s)
{
	return s ? s : "";
}

int dnnq_onnx_tensor_read(const void *bytes, size_t len, struct dnnq_ir_value *v,
                          struct dnnq_diag *diag)
{
	*v = (struct dnnq_ir_value){ .producer = -1 };
	struct dnnq_diag why = { "" };
	Onnx__TensorProto *t = NULL;
	if (!imp_wire_check(&onnx__tensor_proto__descriptor, bytes, len, &why) &&
	    !(t = onnx__tensor_proto__unpack(NULL, len, bytes)))
		dnnq_diag_set(&why, DNNQ_E_FORMAT, "the protobuf does not parse (%zu bytes)", len);
	if (!t)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "not a TensorProto: %s", why.msg);
	/* imp_tensor_value's checks and copy, into an IR of its own */
	struct dnnq_ir ir = { 0 };
	struct imp m = { .ir = &ir, .diag = diag };
	char what[160];
	snprintf(what, sizeof what, "tensor '%.100s'", S(t->name));
	int32_t id = imp_tensor_value(&m, t, S(t->name), what);
	if (id >= 0)            /* else the problem is in the diag */
		*v = ir.values[id];
	free(ir.values);
	free(m.known);
	free(m.batch);
	free(m.moved);
	free(m.empty_batch);
	free(m.list);
	onnx__tensor_proto__free_unpacked(t, NULL);
	return id < 0 ? id : DNNQ_OK;
}

/* The samples' shape for graph input k, named name: its named file's
 * (--calib DIR), else the k-th nameless one's; NULL: none. */
static const struct dnnq_onnx_shape *sample_of(const struct imp *m, const char *name, size_t k)
{
	const struct dnnq_onnx_import_opts *o = m->opts;
	const struct dnnq_onnx_shape *pos = NULL;
	for (size_t i = 0, nameless = 0; o && i < o->nsamples; i++) {
		const struct dnnq_onnx_shape *s = &o->samples[i];
		if (s->name && !strcmp(s->name, name))
			return s;
		if (!s->name && nameless++ == k)
			pos = s;
	}
	return pos;
}

/* The shape the options give graph input k, named name, of shape sh:
 * --input-shape's (*strict), else the samples' of that rank (or of one
 * more, lifted: *lift); NULL: none. */
static const struct dnnq_onnx_shape *given_shape(const struct imp *m, const char *name, size_t k,
                                                 const Onnx__TensorShapeProto *sh, bool *strict,
                                                 struct dnnq_onnx_shape *lift)
{
	uint32_t ndim = (uint32_t)sh->n_dim;
	const struct dnnq_onnx_import_opts *o = m->opts;
	*strict = true;
	for (size_t i = 0; o && i < o->nshapes; i++)
		if (o->shapes[i].name && !strcmp(o->shapes[i].name, name))
			return &o->shapes[i];
	*strict = false;
	const struct dnnq_onnx_shape *s = sample_of(m, name, k);
	if (s && s->ndim == ndim)
		return s;
	/* samples of a model input lifted behind a batch axis (a dim 0 the
	 * model fixes is not the batch: state.npy [n, 2, 1, 128] for
	 * [2, batch, 128]): the dims after the batch axis */
	const Onnx__TensorShapeProto__Dimension *d0 = ndim ? sh->dim[0] : NULL;
	if (s && s->name && s->ndim == ndim + 1 && d0 &&
	    d0->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
	    d0->dim_value > 1 && s->dims[1] == d0->dim_value) {
		*lift = (struct dnnq_onnx_shape){ .name = s->name, .ndim = ndim };
		memcpy(lift->dims, s->dims + 1, ndim * sizeof *lift->dims);
		return lift;
	}
	return NULL;
}

/* "x=1x3x<height>x<width>": what --input-shape would say, for the message
 * (the batch, on dim b, 1 unless the model fixes it). */
static void shape_example(const char *name, const Onnx__TensorShapeProto *sh, uint32_t b,
                          char *buf, size_t cap)
{
	size_t o = (size_t)snprintf(buf, cap, "%.60s=", name);
	for (size_t i = 0; i < sh->n_dim && o < cap; i++) {
		const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
		if (i && o < cap)
			buf[o++] = 'x';
		if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
			o += (size_t)snprintf(buf + o, cap - o, "%lld", (long long)d->dim_value);
		else if (i == b)
			o += (size_t)snprintf(buf + o, cap - o, "1");
		else
			o += (size_t)snprintf(buf + o, cap - o, "<%.40s>", d &&
			                      d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ?
			                      S(d->dim_param) : "?");
	}
}

/* Whether the samples are a directory's named files (--calib DIR) and
 * none is input name's: its NAME.npy is missing or misspelt. */
static bool named_sample_missing(const struct dnnq_onnx_import_opts *o, const char *name)
{
	bool named = false;
	for (size_t i = 0; o && i < o->nsamples; i++) {
		if (o->samples[i].name && !strcmp(o->samples[i].name, name))
			return false;
		named |= o->samples[i].name != NULL;
	}
	return named;
}

static const Onnx__TypeProto__Tensor *tensor_type(const Onnx__ValueInfoProto *vi)
{
	const Onnx__TypeProto *tp = vi->type;
	return tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? tp->tensor_type : NULL;
}

/* m->syms: the symbolic dim names past dim 0 of the graph inputs that a
 * named shape gives (--input-shape, or samples by name), with the value
 * it gives; made once (the shapes given are few: each names one input).
 * optimum's decoder exports name every past key and value's length
 * "past_sequence_length": one --input-shape fixes them all. */
static int make_syms(struct imp *m)
{
	m->syms_made = true;
	for (size_t k = 0; k < m->g->n_input; k++) {
		const Onnx__ValueInfoProto *vi = m->g->input[k];
		const Onnx__TypeProto__Tensor *tt = vi ? tensor_type(vi) : NULL;
		if (!tt || !tt->shape || tt->shape->n_dim > DNNQ_IR_MAX_DIMS)
			continue;
		bool strict;
		struct dnnq_onnx_shape lift;
		const struct dnnq_onnx_shape *given = given_shape(m, S(vi->name), SIZE_MAX, tt->shape,
		                                                  &strict, &lift);
		for (size_t j = 1; given && given->ndim == tt->shape->n_dim && j < given->ndim; j++) {
			const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[j];
			if (!d || d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
				continue;
			size_t i = 0;
			while (i < m->nsyms && strcmp(m->syms[i].name, S(d->dim_param)))
				i++;
			if (i < m->nsyms) {
				if (m->syms[i].value != given->dims[j])
					m->syms[i].value = -1;
				continue;
			}
			struct imp_sym *g = realloc(m->syms, (m->nsyms + 1) * sizeof *g);
			if (!g)
				return DNNQ_E_NOMEM;
			m->syms = g;
			m->syms[m->nsyms++] = (struct imp_sym){ S(d->dim_param), given->dims[j] };
		}
	}
	return 0;
}

/* The value m->syms gives the symbol sym (len bytes); -1: none. */
static int64_t symbol_value(const struct imp *m, const char *sym, size_t len)
{
	for (size_t i = 0; i < m->nsyms; i++)
		if (strlen(m->syms[i].name) == len && !memcmp(m->syms[i].name, sym, len))
			return m->syms[i].value;
	return -1;
}

/* A symbolic dim named sym: the value the other inputs' named shapes give
 * that name, or, a name that is a sum of at most 8 such names and integers
 * ("past_sequence_length + 1", "past_sequence_length + sequence_length":
 * optimum's attention mask and present key/values), their sum; -1: not
 * known. */
static int64_t symbolic_dim(const struct imp *m, const char *sym)
{
	int64_t sum = 0;
	for (int terms = 0; terms < 8; terms++) {
		const char *t = sym;
		t += strspn(t, " ");
		size_t len = strcspn(t, "+");
		while (len && t[len - 1] == ' ')
			len--;
		char *end;
		errno = 0;
		long long lit = strtoll(t, &end, 10);
		int64_t v = len && end == t + len && !errno && lit >= 0 && lit <= IMP_MAX_DIM ? lit :
		            len ? symbol_value(m, t, len) : -1;
		if (v < 0 || v > IMP_MAX_DIM)  /* a shape's dims are not checked yet */
			return -1;
		sum += v;
		if (sum > IMP_MAX_DIM)
			return -1;
		sym = strchr(t, '+');
		if (!sym)
			return sum;
		sym++;
	}
	return -1;
}

/* dims[i] of input `what`: the model's, checked against the given shape's
 * (strict), or, symbolic, the given shape's, else the value the other
 * inputs' shapes give its symbol (symbolic_dim). other: the samples given
 * for it when they are of another rank (named in the refusal). */
static int input_dim(struct imp *m, const char *name, const char *what,
                     const Onnx__TensorShapeProto *sh, uint32_t i, uint32_t b,
                     const struct dnnq_onnx_shape *given, bool strict,
                     const struct dnnq_onnx_shape *other, int64_t *out)
{
	const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
	bool val = d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
	if (val && given && strict && given->dims[i] != d->dim_value) {
		imp_problem(m, DNNQ_E_SHAPE, "%s: --input-shape gives dims[%u] = %lld, the model fixes "
		            "it at %lld", what, i, (long long)given->dims[i], (long long)d->dim_value);
		return DNNQ_E_SHAPE;
	}
	if (val || given) {
		*out = val ? d->dim_value : given->dims[i];
		return 0;
	}
	bool param = d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
	if (param && !m->syms_made && make_syms(m))
		return DNNQ_E_NOMEM;
	if (param && (*out = symbolic_dim(m, S(d->dim_param))) > 0)
		return 0;
	char ex[160];
	shape_example(name, sh, b, ex, sizeof ex);
	bool run = m->opts && m->opts->samples_are_inputs;
	/* dnnq-run: the array's shape, ex without its "NAME=" */
	const char *shape = ex + (strlen(name) < 60 ? strlen(name) : 60) + 1;
	char missing[240] = "", dims[100] = "";
	for (uint32_t k = 0; other && k < other->ndim && strlen(dims) < 80; k++)
		snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%s%lld", k ? ", " : "",
		         (long long)other->dims[k]);
	if (!run && named_sample_missing(m->opts, name))
		snprintf(missing, sizeof missing, " (the --calib directory has no %.60s.npy%s%s%s)",
		         name, other ? "; its first file's array is [" : "", dims,
		         other ? "], of another rank" : "");
	else if (other)
		snprintf(missing, sizeof missing, "; the %s given is [%s], of rank %u where the input"
		         " has %zu (dim 0 counts the samples)", run ? "--input array" :
		         "calibration samples' array", dims, other->ndim, sh->n_dim);
	imp_problem(m, DNNQ_E_UNSUPPORTED, "%s: dims[%u] is %s%.60s%s: fix it with %s%s (dim %u is"
	            " the batch)%s%s", what, i, param ? "'" : "unknown", param ? S(d->dim_param) : "",
	            param ? "' (symbolic)" : "", run ? "an --input array of shape " : "--input-shape ",
	            run ? shape : ex, b, run ? "" : " or calibration samples of that shape", missing);
	return DNNQ_E_UNSUPPORTED;
}

/* A graph input's dim 0: a fixed one is the batch the model was exported
 * with (static exports write it into Reshape targets). */
static void static_batch(struct imp *m, const Onnx__TensorShapeProto__Dimension *d)
{
	if (!d || d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
	    d->dim_value < 1)
		return;
	m->static_batch = !m->static_batch || m->static_batch == d->dim_value ? d->dim_value : -1;
}

/* Graph input k, value v; its id, or a negative status. */
static int32_t declare_input(struct imp *m, const struct dnnq_ir_value *v, size_t k)
{
	int32_t id = imp_new_value(m, v, true);
	if (id >= 0)
		m->ir->inputs[k] = id;
	return id;
}

static bool batch_on_dim1(struct imp *m, const char *name);

/* A Reshape node of value in to a new value named name of dims (ndim),
 * batched, the node named name + suffix; the new value's id, or a negative
 * status. */
static int32_t edge_reshape(struct imp *m, int32_t in, const char *name, const char *suffix,
                            uint32_t ndim, const int64_t *dims)
{
	struct dnnq_ir_value v = { .name = (char *)name, .dtype = m->ir->values[in].dtype,
	                           .ndim = ndim, .batched = true,
	                           .producer = (int32_t)m->ir->nnodes };
	memcpy(v.dims, dims, ndim * sizeof *dims);
	int32_t id = imp_new_value(m, &v, true);
	if (id < 0)
		return id;
	size_t len = strlen(name) + strlen(suffix) + 1;
	struct dnnq_ir_node n = { .op = DNNQ_IR_RESHAPE, .ninputs = 1, .noutputs = 1,
	                          .inputs = { in }, .outputs = { id }, .name = malloc(len),
	                          .op_type = strdup("Reshape") };
	if (n.name)
		snprintf(n.name, len, "%s%s", name, suffix);
	int rc = imp_new_node(m, &n);
	return rc ? rc : id;
}

/* Graph input k whose batch is on ONNX's dim 1 (v: ONNX's [D0, 1, D2]):
 * ONNX's item behind a batch axis, [1, D0, 1, D2], as once the batch is
 * fixed (onnx/import-batch.c; a D0 of 1 is the batch axis itself), and a
 * Reshape to [1, D0, D2], the value the graph reads, the batch first and
 * moved to ONNX's dim 1; that value's id, or a negative status. */
static int32_t batch_dim1_input(struct imp *m, const struct dnnq_ir_value *v, size_t k)
{
	struct dnnq_ir_value e = *v;
	int64_t d[3] = { 1, v->dims[0], v->dims[2] };
	if (v->dims[0] > 1) {
		e.ndim = 4;
		e.dims[0] = 1;
		e.dims[1] = v->dims[0];
		e.dims[2] = 1;
		e.dims[3] = v->dims[2];
	}
	int32_t id = declare_input(m, &e, k);
	char name[160];
	snprintf(name, sizeof name, "%.100s:batch", v->name);
	if (id >= 0 && v->dims[0] > 1)
		id = edge_reshape(m, id, name, "", 3, d);
	if (id >= 0)
		m->moved[id] = 1;
	return id;
}

/* A graph input's or output's ONNX element type (0: none). */
static int32_t elem_type(const Onnx__ValueInfoProto *vi)
{
	const Onnx__TypeProto__Tensor *tt = tensor_type(vi);
	return tt && tt->has_elem_type ? tt->elem_type : 0;
}

/* Graph input k; *as: the value its name stands for. */
static int graph_input(struct imp *m, const Onnx__ValueInfoProto *vi, size_t k, int32_t *as)
{
	char what[160];
	snprintf(what, sizeof what, "input '%.100s'", S(vi->name));
	const Onnx__TypeProto__Tensor *tt = tensor_type(vi);
	if (!tt) {
		imp_problem(m, DNNQ_E_UNSUPPORTED, "%s: not a tensor (or no type)", what);
		return DNNQ_E_UNSUPPORTED;
	}
	struct dnnq_ir_value v = { .name = (char *)S(vi->name), .producer = -1 };
	int32_t et = elem_type(vi);
	/* an int64 tensor (token ids, a mask) is an int32 input: a client sends
	 * int32; an int64 scalar is a setting, frozen rather than served */
	bool setting = et == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 &&
	               (!tt->shape || !tt->shape->n_dim);
	/* a bool input is the float 0 or 1; a float16 one (a model converted to
	 * half precision with its inputs: the engine computes fp16 models in
	 * float32, as their fp16 constants) is served as float32 */
	if (et == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL || et == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16)
		v.dtype = DNNQ_IR_F32;
	else if (et == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 && !setting)
		v.dtype = DNNQ_IR_S32;
	else if (imp_dtype(et, &v.dtype) || setting) {
		imp_problem(m, DNNQ_E_DTYPE, "%s: element type %s is not supported%s", what,
		            imp_onnx_dtype_name(et), setting ? " as a scalar input (a setting, as a "
		            "sample rate? freeze it with --input-value NAME=V)" : "");
		return DNNQ_E_DTYPE;
	}
	if (!tt->shape) {
		imp_problem(m, DNNQ_E_UNSUPPORTED, "%s: no shape (dnnq needs static shapes)", what);
		return DNNQ_E_UNSUPPORTED;
	}
	if (tt->shape->n_dim > DNNQ_IR_MAX_DIMS) {
		imp_problem(m, DNNQ_E_UNSUPPORTED, "%s: %zu dims (at most %d)", what,
		            tt->shape->n_dim, DNNQ_IR_MAX_DIMS);
		return DNNQ_E_UNSUPPORTED;
	}
	v.ndim = (uint32_t)tt->shape->n_dim;
	v.batched = v.ndim > 0 && !m->fixed;
	bool strict;
	struct dnnq_onnx_shape lift;
	const struct dnnq_onnx_shape *given = given_shape(m, v.name, k, tt->shape, &strict, &lift);
	const struct dnnq_onnx_shape *other = given ? NULL : sample_of(m, v.name, k);
	if (given && strict && given->ndim != v.ndim) {
		imp_problem(m, DNNQ_E_SHAPE, "%s: --input-shape gives %u dims, the model %u", what,
		            given->ndim, v.ndim);
		return DNNQ_E_SHAPE;
	}
	/* an LSTM's X [T, N, I] or state [dirs, N, H]: the batch on dim 1,
	 * dim 0 an ordinary axis */
	const Onnx__TensorShapeProto__Dimension *d1 = v.ndim == 3 ? tt->shape->dim[1] : NULL;
	uint32_t b = !m->fixed && d1 && (d1->value_case !=
	             ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || d1->dim_value == 1) &&
	             batch_on_dim1(m, v.name);
	size_t numel = 1;
	for (uint32_t i = 0; i < v.ndim; i++) {
		if (i == b) {
			/* the batch, stored as 1; once it is fixed (m->fixed), a dim 0 the
			 * model fixes is an ordinary axis that keeps its size (silero VAD's
			 * state [2, batch, 128], a static export's batch, an LSTM's
			 * sequence): the batch axis goes in front (onnx/import-batch.c),
			 * and the graph runs at the shapes it was exported with */
			const Onnx__TensorShapeProto__Dimension *d0 = tt->shape->dim[i];
			v.dims[i] = m->fixed && d0 && d0->value_case ==
			            ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
			            d0->dim_value > 1 && d0->dim_value <= IMP_MAX_DIM ? d0->dim_value : 1;
			numel *= (size_t)v.dims[i];
			static_batch(m, d0);
			continue;
		}
		int64_t dv;
		int rc = input_dim(m, v.name, what, tt->shape, i, b, given, strict, other, &dv);
		if (rc)
			return rc;
		if (dv <= 0 || dv > IMP_MAX_DIM || !dnnq_mul_size(numel, (size_t)dv, &numel) ||
		    numel > IMP_MAX_NUMEL) {
			imp_problem(m, DNNQ_E_SHAPE, "%s: dims[%u] = %lld: must be positive and the "
			            "element count at most 2^31", what, i, (long long)dv);
			return DNNQ_E_SHAPE;
		}
		v.dims[i] = dv;
	}
	*as = b ? batch_dim1_input(m, &v, k) : declare_input(m, &v, k);
	return *as < 0 ? *as : 0;
}

/* ---- inputs frozen to constants (--input-value) ----------------------------- */

static const struct dnnq_onnx_value *frozen(const struct imp *m, const char *name)
{
	for (size_t i = 0; m->opts && i < m->opts->nvalues; i++)
		if (m->opts->values[i].name && !strcmp(m->opts->values[i].name, name))
			return &m->opts->values[i];
	return NULL;
}

/* Element i of a frozen input's text into data (dtype dt; a bool's float
 * 0 or 1); 0, or a message into why. */
static int frozen_elem(const char *s, char **end, enum dnnq_ir_dtype dt, bool is_bool,
                       void *data, size_t i, char *why, size_t cap)
{
	static const long long lo[] = { [DNNQ_IR_U8] = 0, [DNNQ_IR_S8] = -128,
	                                [DNNQ_IR_S32] = INT32_MIN, [DNNQ_IR_S64] = INT64_MIN };
	static const long long hi[] = { [DNNQ_IR_U8] = 255, [DNNQ_IR_S8] = 127,
	                                [DNNQ_IR_S32] = INT32_MAX, [DNNQ_IR_S64] = INT64_MAX };
	errno = 0;
	if (dt == DNNQ_IR_F32 && !is_bool) {
		float f = strtof(s, end);
		if (*end == s || errno || !isfinite(f))
			return snprintf(why, cap, "value %zu: '%.30s' is not a finite float", i, s), -1;
		((float *)data)[i] = f;
		return 0;
	}
	long long v = strtoll(s, end, 10);
	long long bottom = is_bool ? 0 : lo[dt], top = is_bool ? 1 : hi[dt];
	if (*end == s || errno || v < bottom || v > top)
		return snprintf(why, cap, "value %zu: '%.30s' is not an integer in [%lld, %lld] (%s)",
		                i, s, bottom, top, is_bool ? "bool" : dnnq_ir_dtype_name(dt)), -1;
	switch (dt) {
	case DNNQ_IR_F32: ((float *)data)[i] = (float)v; break;      /* a bool */
	case DNNQ_IR_U8: ((uint8_t *)data)[i] = (uint8_t)v; break;
	case DNNQ_IR_S8: ((int8_t *)data)[i] = (int8_t)v; break;
	case DNNQ_IR_S32: ((int32_t *)data)[i] = (int32_t)v; break;
	default: ((int64_t *)data)[i] = v; break;
	}
	return 0;
}

/* Input vi, frozen to f's values: a constant named as the input (every dim
 * fixed by the model, one value an element; a bool the float 0 or 1, as a
 * bool initializer); its id, or < 0. */
static int32_t frozen_input(struct imp *m, const Onnx__ValueInfoProto *vi,
                            const struct dnnq_onnx_value *f, const char *what)
{
	const Onnx__TypeProto__Tensor *tt = tensor_type(vi);
	struct dnnq_ir_value v = { .name = (char *)S(vi->name), .producer = -1 };
	int32_t et = elem_type(vi);
	bool is_bool = et == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
	if (is_bool)
		v.dtype = DNNQ_IR_F32;
	if (!tt || (!is_bool && imp_dtype(et, &v.dtype)))
		return imp_problem(m, DNNQ_E_DTYPE, "%s: --input-value: element type %s cannot be "
		                   "frozen", what, imp_onnx_dtype_name(et)), DNNQ_E_DTYPE;
	if (!tt->shape || tt->shape->n_dim > DNNQ_IR_MAX_DIMS)
		return imp_problem(m, DNNQ_E_UNSUPPORTED, "%s: --input-value: the model gives no "
		                   "shape of at most %d dims", what, DNNQ_IR_MAX_DIMS), DNNQ_E_UNSUPPORTED;
	v.ndim = (uint32_t)tt->shape->n_dim;
	size_t numel = 1;
	for (uint32_t i = 0; i < v.ndim; i++) {
		const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
		if (!d || d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
		    d->dim_value < 0 || d->dim_value > 65536 ||
		    !dnnq_mul_size(numel, (size_t)d->dim_value, &numel) || numel > 65536)
			return imp_problem(m, DNNQ_E_SHAPE, "%s: --input-value: dims[%u] is not fixed "
			                   "(or the input has more than 65536 elements): only an input "
			                   "of fixed shape can be frozen", what, i), DNNQ_E_SHAPE;
		v.dims[i] = d->dim_value;
	}
	int rc = imp_const_alloc(m, numel * dnnq_ir_dtype_size(v.dtype), what, &v.data);
	if (rc)
		return rc;
	char why[200] = "";
	const char *s = f->text;
	size_t i = 0;
	for (char *end; !*why && *s; i++) {
		if (i == numel) {
			snprintf(why, sizeof why, "more than the %zu value%s its shape [%s] holds", numel,
			         numel == 1 ? "" : "s", imp_dims_str(&v));
			break;
		}
		if (frozen_elem(s, &end, v.dtype, is_bool, v.data, i, why, sizeof why))
			break;
		if (*end && *end != ',')
			snprintf(why, sizeof why, "value %zu: '%.30s' is not a number", i, s);
		s = *end ? end + 1 : end;
	}
	if (!*why && i < numel)
		snprintf(why, sizeof why, "%zu value%s, its shape [%s] holds %zu", i, i == 1 ? "" : "s",
		         imp_dims_str(&v), numel);
	if (*why) {
		free(v.data);
		return imp_problem(m, DNNQ_E_INVAL, "%s: --input-value '%.60s': %s", what, f->text,
		                   why), DNNQ_E_INVAL;
	}
	int32_t id = imp_new_value(m, &v, true);
	if (id < 0)
		free(v.data);
	return id;
}

/* Every --input-shape names an input of the model. */
static void check_shape_names(struct imp *m)
{
	for (size_t i = 0; m->opts && i < m->opts->nshapes; i++) {
		const char *name = m->opts->shapes[i].name;
		struct imp_name *e = name ? imp_find(m, name) : NULL;
		bool input = false;
		for (size_t k = 0; e && k < m->ir->ninputs; k++)      /* by the value's name: */
			input |= e->kind == IMP_VALUE &&               /* e's may be its Reshape */
			         !strcmp(m->ir->values[m->ir->inputs[k]].name, name);
		if (!input && !(e && e->kind == IMP_UNKNOWN))
			imp_problem(m, DNNQ_E_NOTFOUND, "--input-shape '%.100s': the model has no input "
			            "of that name", name ? name : "");
	}
	for (size_t i = 0; m->opts && i < m->opts->nvalues; i++) {
		const char *name = m->opts->values[i].name;
		bool input = false;
		for (size_t k = 0; k < m->g->n_input; k++)
			input |= m->g->input[k] && !strcmp(S(m->g->input[k]->name), name);
		struct imp_name *e = imp_find(m, name);
		if (!input || (e && e->kind == IMP_INIT))
			imp_problem(m, DNNQ_E_NOTFOUND, "--input-value '%.100s': the model has no input "
			            "of that name", name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->opts->values[j].name, name))
				imp_problem(m, DNNQ_E_INVAL, "--input-value '%.100s': given twice", name);
	}
}

static int declare_inputs(struct imp *m, const Onnx__GraphProto *g)
{
	for (size_t i = 0; i < g->n_initializer; i++) {
		const Onnx__TensorProto *t = g->initializer[i];
		const char *name = t ? S(t->name) : "";
		if (!*name) {
			imp_problem(m, DNNQ_E_FORMAT, "initializer %zu has no name", i);
			continue;
		}
		if (imp_find(m, name)) {
			imp_problem(m, DNNQ_E_FORMAT, "initializer '%.100s' is defined twice", name);
			continue;
		}
		if (imp_add_name(m, name, IMP_INIT, (int32_t)i))
			return DNNQ_E_NOMEM;
		imp_mark_bool(m, name, t->has_data_type &&
		              t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL);
	}
	m->ir->inputs = calloc(g->n_input ? g->n_input : 1, sizeof *m->ir->inputs);
	if (!m->ir->inputs)
		return DNNQ_E_NOMEM;
	for (size_t i = 0; i < g->n_input; i++) {
		const Onnx__ValueInfoProto *vi = g->input[i];
		const char *name = vi ? S(vi->name) : "";
		if (!*name) {
			imp_problem(m, DNNQ_E_FORMAT, "graph input %zu has no name", i);
			continue;
		}
		struct imp_name *e = imp_find(m, name);
		if (e && e->kind == IMP_INIT)
			continue;       /* an initializer: a constant, not an input */
		if (e) {
			imp_problem(m, DNNQ_E_FORMAT, "input '%.100s' is listed twice", name);
			continue;
		}
		const struct dnnq_onnx_value *f = frozen(m, name);
		if (f) {
			char what[160];
			snprintf(what, sizeof what, "input '%.100s'", name);
			int32_t id = frozen_input(m, vi, f, what);
			if (id == DNNQ_E_NOMEM)
				return id;
			if (imp_add_name(m, name, id < 0 ? IMP_UNKNOWN : IMP_VALUE, id < 0 ? -1 : id))
				return DNNQ_E_NOMEM;
			imp_mark_bool(m, name, elem_type(vi) == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL);
			continue;
		}
		size_t k = m->ir->ninputs;
		int32_t as;
		int rc = graph_input(m, vi, k, &as);
		if (rc == DNNQ_E_NOMEM)
			return rc;
		if (imp_add_name(m, name, rc ? IMP_UNKNOWN : IMP_VALUE, rc ? -1 : as))
			return DNNQ_E_NOMEM;
		imp_mark_bool(m, name, elem_type(vi) == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL);
		if (!rc)
			m->ir->ninputs++;
	}
	check_shape_names(m);
	imp_reads_free(m->reads);       /* the walk builds its own */
	m->reads = NULL;
	return 0;
}

/* A name a node reads: its value id; -1 for "" (an absent optional input);
 * IMP_ID_UNKNOWN when it is unknown (a problem already said why); or a
 * negative status, the problem recorded (who: "node 'x' (Op)"). */
int32_t imp_lookup(struct imp *m, const char *name, const char *who)
{
	if (!*name)
		return -1;
	struct imp_name *e = imp_find(m, name);
	if (!e) {
		imp_problem(m, DNNQ_E_FORMAT, "%s: input '%.100s' is not a graph input, an initializer "
		            "or the output of an earlier node", who, name);
		return DNNQ_E_FORMAT;
	}
	switch (e->kind) {
	case IMP_VALUE:
		return e->idx;
	case IMP_UNKNOWN:
		return IMP_ID_UNKNOWN;
	case IMP_UNUSED:
	{
		char nn[128];
		imp_problem(m, DNNQ_E_UNSUPPORTED, "%s: reads '%.100s', an output of node '%s' "
		            "that dnnq does not compute", who, name, imp_node_name(m, e->idx, nn));
		return DNNQ_E_UNSUPPORTED;
	}
	case IMP_SEQUENCE:
		imp_problem(m, DNNQ_E_UNSUPPORTED, "%s: reads '%.100s', a sequence: only "
		            "ConcatFromSequence and a Loop read one", who, name);
		return DNNQ_E_UNSUPPORTED;
	case IMP_INIT: {
		char what[160];
		snprintf(what, sizeof what, "initializer '%.100s'", name);
		int32_t id = imp_tensor_value(m, m->root->initializer[e->idx], name, what);
		if (id == DNNQ_E_NOMEM)
			return id;
		e->kind = id < 0 ? IMP_UNKNOWN : IMP_VALUE;
		e->idx = id;
		return id < 0 ? IMP_ID_UNKNOWN : id;
	}
	}
	return DNNQ_E_FORMAT;
}

/* Graph output `name`, value id, whose batch a Transpose or an LSTM moved
 * to ONNX's dim k, in a graph whose LSTM or GRU reads its batch on dim 1
 * (m->rnn_dim1): ONNX's item (the batch of 1 on dim k) behind a batch
 * axis, as once the batch is fixed (onnx/import-batch.c; a dim 0 of 1 is
 * the batch axis itself), by a Reshape when that is not id's dims; its
 * value, DNNQ_E_UNSUPPORTED at rank 8, or DNNQ_E_NOMEM. */
static int32_t moved_output(struct imp *m, int32_t id, const char *name)
{
	const struct dnnq_ir_value *x = &m->ir->values[id];
	uint32_t k = m->moved[id], r = x->ndim;
	int64_t d[DNNQ_IR_MAX_DIMS + 1] = { 1 };
	for (uint32_t j = 0; j < r; j++)
		d[1 + j] = j == k ? 1 : x->dims[j < k ? j + 1 : j];
	bool front = d[1] != 1;     /* ONNX's dim 0 is not the batch axis */
	if (r + front > DNNQ_IR_MAX_DIMS)
		return DNNQ_E_UNSUPPORTED;
	if (r + front == x->ndim && !memcmp(d + !front, x->dims, r * sizeof *d))
		return id;
	char *keep = NULL;
	if (!strcmp(x->name, name)) {   /* the name goes to the Reshape's value */
		size_t len = strlen(name) + 7;
		if (!(keep = malloc(len)))
			return DNNQ_E_NOMEM;
		snprintf(keep, len, "%s:batch", name);
	}
	int32_t e = edge_reshape(m, id, name, ":items", r + front, d + !front);
	if (e >= 0 && keep) {
		free(m->ir->values[id].name);
		m->ir->values[id].name = keep;
		keep = NULL;
	}
	free(keep);
	return e;
}

static int declare_outputs(struct imp *m, const Onnx__GraphProto *g)
{
	m->ir->outputs = calloc(g->n_output ? g->n_output : 1, sizeof *m->ir->outputs);
	m->ir->output_types = calloc(g->n_output ? g->n_output : 1, sizeof *m->ir->output_types);
	if (!m->ir->outputs || !m->ir->output_types)
		return DNNQ_E_NOMEM;
	if (!g->n_output)
		imp_problem(m, DNNQ_E_FORMAT, "the graph has no outputs");
	for (size_t i = 0; i < g->n_output; i++) {
		const char *name = g->output[i] ? S(g->output[i]->name) : "";
		char who[160];
		snprintf(who, sizeof who, "graph output %zu", i);
		if (!*name) {
			imp_problem(m, DNNQ_E_FORMAT, "%s has no name", who);
			continue;
		}
		struct imp_name *e = imp_find(m, name);
		if (!e) {
			imp_problem(m, DNNQ_E_FORMAT, "graph output '%.100s' is not produced by any node",
			            name);
			continue;
		}
		int32_t id = imp_lookup(m, name, who);
		if (id == DNNQ_E_NOMEM)
			return id;
		if (id < 0)
			continue;
		int32_t ext = !m->moved[id] ? id : m->rnn_dim1 ? moved_output(m, id, name)
		                                             : DNNQ_E_UNSUPPORTED;
		if (ext == DNNQ_E_NOMEM)
			return ext;
		if (ext < 0) {          /* only the batch stands in the way: counted as such */
			char why[240];
			snprintf(why, sizeof why, "graph output '%.100s': its batch is on dim %u (a "
			         "Transpose moved it)%s", name, m->moved[id], m->rnn_dim1 ? " and it has "
			         "rank 8, no room for a batch axis in front" : "");
			if (!m->nbatch++)
				snprintf(m->batch_why, sizeof m->batch_why, "%s", why);
			imp_problem(m, DNNQ_E_UNSUPPORTED, "%s", why);
			continue;
		}
		id = ext;
		m->ir->output_types[m->ir->noutputs] = elem_type(g->output[i]);
		m->ir->outputs[m->ir->noutputs++] = id;
	}
	return 0;
}

/* A graph output that an Identity made another value's alias takes the
 * output's name, so callers find it (unless that value is a graph input
 * or already an output under another name; the same name listed twice
 * is one name). */
static int name_outputs(struct imp *m, const Onnx__GraphProto *g)
{
	struct dnnq_ir *ir = m->ir;
	for (size_t i = 0; i < ir->noutputs; i++) {
		struct dnnq_ir_value *v = &ir->values[ir->outputs[i]];
		const char *want = S(g->output[i]->name);
		if (!strcmp(v->name, want) || v->producer < 0)
			continue;
		bool taken = false;
		for (size_t j = 0; j < ir->noutputs; j++)
			taken |= ir->outputs[j] == ir->outputs[i] && strcmp(S(g->output[j]->name), want);
		if (taken)
			continue;
		char *s = strdup(want);
		if (!s)
			return DNNQ_E_NOMEM;
		free(v->name);
		v->name = s;
	}
	return 0;
}

/* ---- the model ------------------------------------------------------------ */

static int model_header(struct imp *m, const Onnx__ModelProto *mp)
{
	struct dnnq_ir *ir = m->ir;
	const Onnx__GraphProto *g = mp->graph;
	ir->name = strdup(S(g->name));
	size_t n = strlen(S(mp->producer_name)) + strlen(S(mp->producer_version)) + 2;
	ir->producer = malloc(n);
	if (!ir->name || !ir->producer)
		return DNNQ_E_NOMEM;
	snprintf(ir->producer, n, "%s%s%s", S(mp->producer_name),
	         mp->producer_version && *mp->producer_version ? " " : "", S(mp->producer_version));
	ir->opset = -1;
	for (size_t i = 0; i < mp->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
		if (o && (!*S(o->domain) || !strcmp(o->domain, "ai.onnx")) && o->has_version)
			ir->opset = o->version;
	}
	if (ir->opset < 1 || ir->opset > 1000) {
		imp_problem(m, DNNQ_E_FORMAT, ir->opset < 0 ? "opset_import: no version for the default "
		            "domain" : "opset_import: default domain version %lld is invalid",
		            (long long)ir->opset);
		return DNNQ_E_FORMAT;
	}
	m->opset = ir->opset;
	if (g->n_sparse_initializer)
		imp_problem(m, DNNQ_E_UNSUPPORTED, "sparse initializers are not supported");
	return 0;
}

/* How a node reads a name: what an input whose batch is on dim 1 allows. */
enum read_how { R_OTHER, R_STATE, R_X, R_SHAPE, R_SLICE };

/* A read of a name; via: a Slice's output when the reader is that Slice's
 * data input (torch slices the zero state of num_layers > 1 per layer), a
 * read only if the Slice's output is read itself. */
struct read {
	const char *name, *via;
	enum read_how how;
};

struct imp_reads {
	const char **names;         /* sorted: the reads but the states' */
	size_t n, nall;
	struct read *all;           /* every read, sorted by name */
	bool subgraphs;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* How node n reads its input k. */
static enum read_how read_how(const Onnx__NodeProto *n, size_t k)
{
	const char *op = n->op_type ? n->op_type : "";
	if (imp_rnn_op(op))
		return k == 5 || k == 6 ? R_STATE : k ? R_OTHER : R_X;
	if (!strcmp(op, "Shape"))
		return R_SHAPE;
	return !strcmp(op, "Slice") && !k ? R_SLICE : R_OTHER;
}

static struct imp_reads *reads_of(const Onnx__GraphProto *g)
{
	struct imp_reads *r = calloc(1, sizeof *r);
	size_t cap = g->n_output, n = 0;
	for (size_t i = 0; i < g->n_node; i++)
		cap += g->node[i]->n_input;
	struct read *e = malloc((cap ? cap : 1) * sizeof *e);
	if (!r || !e || !(r->names = malloc((cap ? cap : 1) * sizeof *r->names))) {
		free(e);
		imp_reads_free(r);
		return NULL;
	}
	r->all = e;
	for (size_t i = 0; i < g->n_output; i++)
		if (g->output[i]->name)
			e[n++] = (struct read){ g->output[i]->name, NULL, R_OTHER };
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *nd = g->node[i];
		for (size_t k = 0; k < nd->n_attribute; k++)
			r->subgraphs |= nd->attribute[k]->g || nd->attribute[k]->n_graphs;
		for (size_t k = 0; k < nd->n_input; k++) {
			enum read_how how = read_how(nd, k);
			if (nd->input[k])
				e[n++] = (struct read){ nd->input[k], how == R_SLICE && nd->n_output == 1 ?
				                        nd->output[0] : NULL, how };
		}
	}
	/* struct read begins with its name: the names sort and search as one */
	qsort(e, n, sizeof *e, cmp_name);
	r->nall = n;
	bool *keep = malloc((n ? n : 1) * sizeof *keep);
	if (!keep) {
		imp_reads_free(r);
		return NULL;
	}
	for (size_t k = 0; k < n; k++)
		if (e[k].how != R_STATE)
			r->names[r->n++] = e[k].name;
	/* less the Slices whose output is not read so */
	for (size_t k = 0, j = 0; k < n; k++)
		if (e[k].how != R_STATE)
			keep[j++] = !e[k].via || bsearch(&e[k].via, r->names, r->n, sizeof *r->names,
			                                 cmp_name);
	size_t kept = 0;
	for (size_t j = 0; j < r->n; j++)
		if (keep[j])
			r->names[kept++] = r->names[j];
	r->n = kept;
	free(keep);
	return r;
}

void imp_reads_free(struct imp_reads *r)
{
	if (r) {
		free(r->names);
		free(r->all);
	}
	free(r);
}

/* The graph's reads, built at the first need. */
static const struct imp_reads *reads(struct imp *m)
{
	if (!m->reads && !(m->reads = reads_of(m->g)))
		m->nomem = true;
	return m->reads;
}

int imp_read_elsewhere(struct imp *m, const char *name)
{
	const struct imp_reads *r = reads(m);
	return !r ? -1 : r->subgraphs || bsearch(&name, r->names, r->n, sizeof *r->names, cmp_name);
}

/* The reads of `name` in r that are an LSTM's or GRU's, when every one is
 * of a kind in mask (a bit per enum read_how), a Slice's only when its
 * output is read only as a state (depth: Slices still followed); -1 when
 * one is not. */
static int rnn_reads(const struct imp_reads *r, const char *name, unsigned mask, int depth)
{
	const struct read *e = bsearch(&name, r->all, r->nall, sizeof *r->all, cmp_name);
	int n = 0;
	while (e && e > r->all && !strcmp(e[-1].name, name))
		e--;
	for (; e && e < r->all + r->nall && !strcmp(e->name, name); e++) {
		if (!(mask >> e->how & 1) || (e->how == R_SLICE && (!depth || !e->via ||
		                                                  rnn_reads(r, e->via, 1u << R_STATE,
		                                                            depth - 1) < 1)))
			return -1;
		n += e->how != R_SHAPE;
	}
	return n;
}

/* Whether graph input `name` has its batch on dim 1 by what reads it: an
 * LSTM's or GRU's X or state (ONNX's [T, N, I], [dirs, N, H]), Shapes
 * (torch's zero state of the batch) and Slices read as a state (torch's
 * state of num_layers > 1, sliced per layer), and nothing else. */
static bool batch_on_dim1(struct imp *m, const char *name)
{
	const struct imp_reads *r = reads(m);
	return r && !r->subgraphs && rnn_reads(r, name, 1u << R_X | 1u << R_STATE | 1u << R_SHAPE |
	                                       1u << R_SLICE, 1) > 0;
}

int imp_walk(struct imp *m, const Onnx__GraphProto *g)
{
	const Onnx__GraphProto *outer = m->g;
	struct imp_reads *outer_reads = m->reads;
	size_t *order;
	int rc = imp_node_order(g, &order);
	if (rc)
		return rc;
	m->g = g;
	m->reads = NULL;        /* g's, when asked */
	for (size_t i = 0; !rc && i < g->n_node; i++)
		rc = imp_node(m, g->node[order[i]], order[i]);
	imp_reads_free(m->reads);
	m->reads = outer_reads;
	m->g = outer;
	free(order);
	return rc;
}

static int import_graph(struct imp *m, const Onnx__ModelProto *mp)
{
	const Onnx__GraphProto *g = mp->graph;
	int rc = model_header(m, mp);
	if (rc)
		return rc;
	m->g = m->root = g;
	m->model = mp;
	if ((rc = declare_inputs(m, g)))
		return rc;
	if ((rc = imp_walk(m, g)) || (rc = declare_outputs(m, g)))
		return rc;
	if (m->status)
		return m->status;
	return name_outputs(m, g);
}

/* What an import holds besides the IR and the problem list. */
static void imp_release(struct imp *m)
{
	for (size_t i = 0; i < m->nheld; i++)
		free(m->held[i]);
	free(m->held);
	free(m->names);
	free(m->known);
	free(m->batch);
	free(m->moved);
	free(m->empty_batch);
	free(m->pads);
	free(m->syms);
	free(m->bn_folded);
	for (size_t i = 0; i < m->nseqs; i++)
		free(m->seqs[i].ids);
	free(m->seqs);
}

int dnnq_onnx_import(const void *bytes, size_t len, const struct dnnq_onnx_import_opts *opts,
                     struct dnnq_ir *ir, char **list, size_t *count, struct dnnq_diag *diag)
{
	if (list)
		*list = NULL;
	if (count)
		*count = 0;
	if (!ir || (!bytes && len))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "onnx: no model");
	*ir = (struct dnnq_ir){ 0 };
	struct imp m = { .ir = ir, .opts = opts, .model_bytes = len, .diag = diag };
	struct dnnq_diag why = { "" };
	Onnx__ModelProto *mp = NULL;
	if (!imp_wire_check(&onnx__model_proto__descriptor, bytes, len, &why) &&
	    !(mp = onnx__model_proto__unpack(NULL, len, bytes)))
		dnnq_diag_set(&why, DNNQ_E_FORMAT, "the protobuf does not parse (%zu bytes)", len);
	int rc;
	if (!mp) {
		imp_problem(&m, DNNQ_E_FORMAT, "not an ONNX model: %s", why.msg);
		rc = DNNQ_E_FORMAT;
	} else if (!mp->graph) {
		imp_problem(&m, DNNQ_E_FORMAT, "not an ONNX model: no graph");
		rc = DNNQ_E_FORMAT;
	} else if ((rc = import_graph(&m, mp)) && !m.nomem && m.nbatch == m.nproblems) {
		/* only the batch on dim 0 stood in the way: fix it and import again */
		struct imp again = { .ir = ir, .opts = opts, .model_bytes = len, .diag = diag,
		                     .fixed = true };
		memcpy(again.batch_why, m.batch_why, sizeof m.batch_why);
		again.batch_mixes = m.batch_mixes;
		imp_release(&m);
		free(m.list);
		dnnq_ir_free(ir);
		m = again;
		rc = import_graph(&m, mp);
	}
	if (!rc && !m.status && !m.nomem && !(rc = dnnq_ir_fuse_qdq(ir, diag)) &&
	    !(rc = dnnq_ir_fuse_activations(ir, diag)) &&
	    !(rc = dnnq_ir_fuse_affine(ir, diag)) && dnnq_ir_fuse_norm(ir) == DNNQ_E_NOMEM)
		rc = DNNQ_E_NOMEM;
	if (!rc && m.fixed) {
		struct dnnq_diag why = { "" };
		if ((rc = dnnq_ir_fix_batch(ir, m.batch_why, &why)) && rc != DNNQ_E_NOMEM)
			imp_problem(&m, rc, "%s", why.msg);
		ir->batch_mixes = m.batch_mixes;
	}
	if (m.nomem && !rc)
		rc = DNNQ_E_NOMEM;
	if (rc == DNNQ_E_NOMEM && !m.status)
		imp_problem(&m, DNNQ_E_NOMEM, "onnx: out of memory");
	if (!rc)
		rc = m.status;
	if (rc)
		dnnq_ir_free(ir);
	if (mp)
		onnx__model_proto__free_unpacked(mp, NULL);
	if (list && m.nproblems)
		*list = m.list;
	else
		free(m.list);
	if (count)
		*count = m.nproblems;
	imp_release(&m);
	return rc;
}

/* Every line of list gets the prefix too. */
static int prefix_list(char **list, size_t count, const char *path)
{
	if (!list || !*list)
		return 0;
	size_t plen = strlen(path) + 2, n = strlen(*list);
	char *out = malloc(n + count * plen + 1), *o = out;
	if (!out)
		return DNNQ_E_NOMEM;
	for (const char *s = *list; *s;) {
		const char *e = strchr(s, '\n');
		size_t l = e ? (size_t)(e - s) + 1 : strlen(s);
		o += sprintf(o, "%s: ", path);
		memcpy(o, s, l);
		o += l;
		s += l;
	}
	*o = '\0';
	free(*list);
	*list = out;
	return 0;
}

/* A graph name an exporter gives every model: no name at all. */
static bool generic_name(const char *name)
{
	static const char *const generic[] = { "", "torch_jit", "torch-jit-export", "main_graph" };
	for (size_t i = 0; i < sizeof generic / sizeof *generic; i++)
		if (!name || !strcmp(name, generic[i]))
			return true;
	return false;
}

/* ir->name = the file's stem: "models/resnet18.onnx" -> "resnet18". */
static int name_from_path(struct dnnq_ir *ir, const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	const char *dot = strrchr(base, '.');
	size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	if (!n)
		return 0;
	char *s = strndup(base, n);
	if (!s)
		return DNNQ_E_NOMEM;
	free(ir->name);
	ir->name = s;
	return 0;
}

int dnnq_onnx_import_file(const char *path, const struct dnnq_onnx_import_opts *opts,
                          struct dnnq_ir *ir, char **list, size_t *count,
                          struct dnnq_diag *diag)
{
	if (list)
		*list = NULL;
	if (count)
		*count = 0;
	if (ir)
		*ir = (struct dnnq_ir){ 0 };
	if (!path || !ir)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "onnx: no path");
	FILE *f = fopen(path, "rb");
	if (!f)
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: %s", path, strerror(errno));
	void *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= IMP_MAX_FILE) {
				rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: larger than %zu MiB", path,
				                   IMP_MAX_FILE >> 20);
				break;
			}
			cap = cap ? cap * 2 : 1 << 16;
			void *p = realloc(buf, cap);
			if (!p) {
				rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", path);
				break;
			}
			buf = p;
		}
		size_t got = fread((char *)buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f))	/* "Is a directory", as dnnq-run says it */
				rc = dnnq_diag_set(diag, DNNQ_E_IO, "%s: %s", path, strerror(errno));
			break;
		}
	}
	fclose(f);
	/* external data is read from the model's directory unless told otherwise */
	struct dnnq_onnx_import_opts o = opts ? *opts : (struct dnnq_onnx_import_opts){ 0 };
	char *dir = NULL;
	if (!rc && !o.data_dir) {
		if (!(dir = dnnq_onnx_data_dir(path)))
			rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", path);
		o.data_dir = dir;
	}
	if (!rc) {
		struct dnnq_diag d = { "" };
		rc = dnnq_onnx_import(buf, len, &o, ir, list, count, &d);
		if (rc)
			dnnq_diag_set(diag, rc, "%s: %s", path, d.msg);
		else if (generic_name(ir->name) && (rc = name_from_path(ir, path)) != 0) {
			dnnq_ir_free(ir);
			dnnq_diag_set(diag, rc, "%s: out of memory", path);
		}
		if (rc && count && prefix_list(list, *count, path)) {
			free(*list);
			*list = NULL;
		}
	}
	free(buf);
	free(dir);
	return rc;
}
