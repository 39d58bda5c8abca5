/*
 * The `.dnnq` model file (docs/model-format.md, "Model file"): the writer
 * and the reader of the header, the section table and the sections.
 *
 * The writer builds each section in a growable buffer, then lays them out
 * 64-byte aligned behind the table. The reader checks the header, the table
 * (bounds, alignment, overlaps, checksums) and then parses each section with
 * a cursor that never steps past it, checking every count against the bytes
 * left before allocating.
 */
#include <math.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/crc32c.h"
#include "engine/le.h"
#include "engine/model-internal.h"

#define HEADER_SIZE DNNQ_MODEL_HEADER_SIZE
#define ENTRY_SIZE 28u
#define SECTION_ALIGN 64u

const char *dnnq_model_section_name(uint32_t type)
{
	switch (type) {
	case DNNQ_SECTION_META:      return "META";
	case DNNQ_SECTION_SIGNATURE: return "SIGNATURE";
	case DNNQ_SECTION_TENSORS:   return "TENSORS";
	case DNNQ_SECTION_GRAPH:     return "GRAPH";
	case DNNQ_SECTION_STATS:     return "STATS";
	}
	return "unknown";
}

void dnnq_model_node_init(struct dnnq_model_node *n, uint32_t kind, const char *name)
{
	memset(n, 0, sizeof *n);
	n->kind = kind;
	snprintf(n->name, sizeof n->name, "%s", name);
	n->weight = n->bias = -1;
	n->acc16_saturation = n->acc16_sqnr_db[0] = n->acc16_sqnr_db[1] = NAN;
}

void dnnq_model_free(struct dnnq_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ntensors && m->tensors; i++)
		dnnq_qtensor_free(&m->tensors[i].t);
	free(m->inputs);
	free(m->outputs);
	free(m->tensors);
	free(m->nodes);
	free(m->constants);
	free(m->stats);
	memset(m, 0, sizeof *m);
}

/* ---- writer ----------------------------------------------------------- */

void wb_reserve(struct wbuf *b, size_t n)
{
	if (b->err || n <= b->cap - b->len)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->err = 1;
			return;
		}
		cap *= 2;
	}
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->err = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

uint8_t *wb_take(struct wbuf *b, size_t n)
{
	wb_reserve(b, n);
	if (b->err)
		return NULL;
	uint8_t *p = b->p + b->len;
	b->len += n;
	return p;
}

void wb_u32(struct wbuf *b, uint32_t v)
{
	uint8_t *p = wb_take(b, 4);
	if (p)
		dnnq_put_le32(p, v);
}

void wb_u64(struct wbuf *b, uint64_t v)
{
	uint8_t *p = wb_take(b, 8);
	if (p)
		dnnq_put_le64(p, v);
}

void wb_f32(struct wbuf *b, float v)
{
	uint8_t *p = wb_take(b, 4);
	if (p)
		dnnq_put_lef32(p, v);
}

void wb_str(struct wbuf *b, const char *s)
{
	size_t n = strnlen(s, DNNQ_MODEL_NAME_MAX - 1);
	uint8_t *p = wb_take(b, 2 + n);
	if (p) {
		dnnq_put_le16(p, (uint16_t)n);
		memcpy(p + 2, s, n);
	}
}

static void write_meta(const struct dnnq_model *m, struct wbuf *b)
{
	wb_str(b, m->name);
	wb_str(b, m->producer);
	wb_str(b, m->calibration);
	wb_u64(b, (uint64_t)m->created);
	if (m->max_batch)            /* absent: any batch (what earlier writers meant) */
		wb_u32(b, m->max_batch);
}

static void write_io(const struct dnnq_model_io *io, struct wbuf *b, bool output)
{
	wb_str(b, io->name);
	wb_u32(b, io->dtype);
	wb_u32(b, io->ndim);
	for (uint32_t i = 0; i < io->ndim && i < DNNQ_MAX_DIMS; i++)
		wb_u64(b, (uint64_t)io->dims[i]);
	wb_f32(b, io->qp.scale);
	wb_u32(b, (uint32_t)io->qp.zero_point);
	wb_u32(b, io->qp.precision);
	wb_u32(b, io->qp.is_signed);
	if (output)
		wb_u32(b, (uint32_t)io->value);
}

static void write_signature(const struct dnnq_model *m, struct wbuf *b)
{
	wb_u32(b, (uint32_t)m->ninputs);
	for (size_t i = 0; i < m->ninputs; i++)
		write_io(&m->inputs[i], b, false);
	wb_u32(b, (uint32_t)m->noutputs);
	for (size_t i = 0; i < m->noutputs; i++)
		write_io(&m->outputs[i], b, true);
}

static int write_tensors(const struct dnnq_model *m, struct wbuf *b, struct dnnq_diag *diag)
{
	wb_u32(b, (uint32_t)m->ntensors);
	for (size_t i = 0; i < m->ntensors; i++) {
		const struct dnnq_qtensor *t = &m->tensors[i].t;
		size_t n = dnnq_qtensor_serialized_size(t);
		wb_str(b, m->tensors[i].name);
		wb_u64(b, n);
		uint8_t *p = wb_take(b, n);
		if (p && dnnq_qtensor_serialize(t, p, n, NULL))
			return dnnq_diag_set(diag, DNNQ_E_INVAL,
			                     "model: TENSORS: tensor %zu ('%s'): cannot serialize",
			                     i, m->tensors[i].name);
	}
	return DNNQ_OK;
}

static void write_stats(const struct dnnq_model *m, struct wbuf *b)
{
	wb_u32(b, (uint32_t)m->nstats);
	for (size_t i = 0; i < m->nstats; i++) {
		wb_u32(b, (uint32_t)m->stats[i].value);
		wb_f32(b, m->stats[i].min);
		wb_f32(b, m->stats[i].max);
	}
}

int dnnq_model_write(const struct dnnq_model *m, void **buf, size_t *len, struct dnnq_diag *diag)
{
	if (!m || !buf || !len)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "model: NULL argument");
	struct wbuf sec[5] = { { 0 } };
	static const uint32_t types[5] = { DNNQ_SECTION_META, DNNQ_SECTION_SIGNATURE,
	                                   DNNQ_SECTION_TENSORS, DNNQ_SECTION_GRAPH,
	                                   DNNQ_SECTION_STATS };
	int rc;
	write_meta(m, &sec[0]);
	write_signature(m, &sec[1]);
	if ((rc = write_tensors(m, &sec[2], diag)))
		goto out;
	dnnq_model_write_graph(m, &sec[3]);
	write_stats(m, &sec[4]);
	struct wbuf f = { 0 };
	size_t off = HEADER_SIZE + 5 * ENTRY_SIZE;
	wb_take(&f, off);
	for (int i = 0; i < 5; i++) {
		if (sec[i].err)
			f.err = 1;
		size_t at = (f.len + SECTION_ALIGN - 1) / SECTION_ALIGN * SECTION_ALIGN;
		uint8_t *pad = wb_take(&f, at - f.len);
		if (pad)
			memset(pad, 0, at - (size_t)(pad - f.p));
		uint8_t *p = wb_take(&f, sec[i].len);
		if (!p)
			break;
		if (sec[i].len)
			memcpy(p, sec[i].p, sec[i].len);
		uint8_t *e = f.p + HEADER_SIZE + (size_t)i * ENTRY_SIZE;
		dnnq_put_le32(e, types[i]);
		dnnq_put_le32(e + 4, 0);
		dnnq_put_le64(e + 8, at);
		dnnq_put_le64(e + 16, sec[i].len);
		dnnq_put_le32(e + 24, dnnq_crc32c(p, sec[i].len));
	}
	if (f.err) {
		free(f.p);
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "model: out of memory while writing");
		goto out;
	}
	memcpy(f.p, DNNQ_MODEL_MAGIC, 8);
	dnnq_put_le16(f.p + 8, DNNQ_MODEL_VERSION_MAJOR);
	dnnq_put_le16(f.p + 10, DNNQ_MODEL_VERSION_MINOR);
	dnnq_put_le32(f.p + 12, 5);
	dnnq_put_le64(f.p + 16, f.len);
	*buf = f.p;
	*len = f.len;
out:
	for (int i = 0; i < 5; i++)
		free(sec[i].p);
	return rc;
}

/* ---- reader ----------------------------------------------------------- */

const uint8_t *rd_take(struct rd *r, size_t n)
{
	if (n > r->len - r->off)
		return NULL;
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

int rd_trunc(struct rd *r, const char *field)
{
	return dnnq_diag_set(r->diag, DNNQ_E_TRUNCATED, "model: %s: %s: section ends at byte %zu of %zu",
	                     r->sec, field, r->off, r->len);
}

int rd_u32(struct rd *r, const char *field, uint32_t *v)
{
	const uint8_t *p = rd_take(r, 4);
	if (!p)
		return rd_trunc(r, field);
	*v = dnnq_le32(p);
	return DNNQ_OK;
}

int rd_u64(struct rd *r, const char *field, uint64_t *v)
{
	const uint8_t *p = rd_take(r, 8);
	if (!p)
		return rd_trunc(r, field);
	*v = dnnq_le64(p);
	return DNNQ_OK;
}

int rd_f32(struct rd *r, const char *field, float *v)
{
	uint32_t u;
	int rc = rd_u32(r, field, &u);
	if (!rc)
		memcpy(v, &u, 4);
	return rc;
}

int rd_str(struct rd *r, const char *field, char *dst)
{
	const uint8_t *p = rd_take(r, 2);
	if (!p)
		return rd_trunc(r, field);
	uint16_t n = dnnq_le16(p);
	if (n >= DNNQ_MODEL_NAME_MAX)
		return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: %s: %s: length %u: at most %d",
		                     r->sec, field, n, DNNQ_MODEL_NAME_MAX - 1);
	if (!(p = rd_take(r, n)))
		return rd_trunc(r, field);
	if (memchr(p, 0, n))
		return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: %s: %s: contains a NUL byte",
		                     r->sec, field);
	memcpy(dst, p, n);
	dst[n] = 0;
	return DNNQ_OK;
}

/* A count of items of at least `min` bytes each, checked against the bytes left. */
int rd_count(struct rd *r, const char *field, size_t min, uint32_t limit, size_t *out)
{
	uint32_t n;
	int rc = rd_u32(r, field, &n);
	if (rc)
		return rc;
	if (n > limit)
		return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: %s: %s = %" PRIu32 ": at most"
		                     " %" PRIu32, r->sec, field, n, limit);
	if ((size_t)n > (r->len - r->off) / min)
		return dnnq_diag_set(r->diag, DNNQ_E_FORMAT,
		                     "model: %s: %s = %" PRIu32 ": more than the %zu bytes left can hold",
		                     r->sec, field, n, r->len - r->off);
	*out = n;
	return DNNQ_OK;
}

static int read_meta(struct rd *r, struct dnnq_model *m)
{
	uint64_t t;
	int rc;
	if ((rc = rd_str(r, "name", m->name)) || (rc = rd_str(r, "producer", m->producer)) ||
	    (rc = rd_str(r, "calibration", m->calibration)) || (rc = rd_u64(r, "created", &t)))
		return rc;
	m->created = (int64_t)t;
	if (r->off == r->len)
		return DNNQ_OK;
	if ((rc = rd_u32(r, "max batch", &m->max_batch)))
		return rc;
	if (m->max_batch < 1 || m->max_batch > DNNQ_MODEL_MAX_BATCH)
		return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: META: max batch %" PRIu32
		                     ": must be 1..%d", m->max_batch, DNNQ_MODEL_MAX_BATCH);
	return DNNQ_OK;
}

static int read_io(struct rd *r, struct dnnq_model_io *io, bool output, size_t i)
{
	char f[160];
	const char *what = output ? "output" : "input";
	uint32_t u, prec, sgn;
	int rc;
	snprintf(f, sizeof f, "%s %zu: name", what, i);
	if ((rc = rd_str(r, f, io->name)))
		return rc;
	snprintf(f, sizeof f, "%s %zu ('%s')", what, i, io->name);
	if ((rc = rd_u32(r, f, &u)))
		return rc;
	/* s8: an int8 graph input or output; s32: an input of integers (token
	 * ids) or an output (an integer operator's accumulator) */
	if (u != DNNQ_DTYPE_U8 && u != DNNQ_DTYPE_F32 && u != DNNQ_DTYPE_S8 &&
	    u != DNNQ_DTYPE_S32)
		return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: %s: %s: dtype %u: must be u8, s8,"
		                     " s32 or f32", r->sec, f, u);
	io->dtype = u;
	if ((rc = rd_u32(r, f, &io->ndim)))
		return rc;
	if (io->ndim < 1 || io->ndim > DNNQ_MAX_DIMS)
		return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: %s: %s: rank %u: must be 1..%d",
		                     r->sec, f, io->ndim, DNNQ_MAX_DIMS);
	for (uint32_t d = 0; d < io->ndim; d++) {
		uint64_t v;
		if ((rc = rd_u64(r, f, &v)))
			return rc;
		if (v > (uint64_t)INT32_MAX)
			return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: %s: %s: dims[%u] = %" PRIu64
			                     ": out of range", r->sec, f, d, v);
		io->dims[d] = (int64_t)v;
	}
	size_t bytes = 4;   /* f32 at most; dims[0] is the batch */
	for (uint32_t d = 1; d < io->ndim; d++)
		if (!dnnq_mul_size(bytes, (size_t)io->dims[d], &bytes))
			return dnnq_diag_set(r->diag, DNNQ_E_RANGE, "model: %s: %s: dims[1..%u]: the size"
			                     " of a batch item overflows", r->sec, f, io->ndim - 1);
	if ((rc = rd_f32(r, f, &io->qp.scale)) || (rc = rd_u32(r, f, &u)) ||
	    (rc = rd_u32(r, f, &prec)) || (rc = rd_u32(r, f, &sgn)))
		return rc;
	if (prec > 32 || sgn > 1)
		return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: %s: %s: qparams precision %u"
		                     " signed %u: invalid", r->sec, f, prec, sgn);
	io->qp.zero_point = (int32_t)u;
	io->qp.precision = (uint8_t)prec;
	io->qp.is_signed = sgn;
	if (output) {
		if ((rc = rd_u32(r, f, &u)))
			return rc;
		io->value = (int32_t)u;
	}
	return DNNQ_OK;
}

static int read_signature(struct rd *r, struct dnnq_model *m)
{
	int rc;
	if ((rc = rd_count(r, "input count", 2 + 4 * 4 + 8, DNNQ_GRAPH_MAX_NODE_INPUTS * 64, &m->ninputs)))
		return rc;
	if (m->ninputs && !(m->inputs = calloc(m->ninputs, sizeof *m->inputs)))
		return dnnq_diag_set(r->diag, DNNQ_E_NOMEM, "model: SIGNATURE: out of memory");
	for (size_t i = 0; i < m->ninputs; i++)
		if ((rc = read_io(r, &m->inputs[i], false, i)))
			return rc;
	if ((rc = rd_count(r, "output count", 2 + 4 * 5 + 8, 1024, &m->noutputs)))
		return rc;
	if (m->noutputs && !(m->outputs = calloc(m->noutputs, sizeof *m->outputs)))
		return dnnq_diag_set(r->diag, DNNQ_E_NOMEM, "model: SIGNATURE: out of memory");
	for (size_t i = 0; i < m->noutputs; i++)
		if ((rc = read_io(r, &m->outputs[i], true, i)))
			return rc;
	return DNNQ_OK;
}

static int read_tensors(struct rd *r, struct dnnq_model *m)
{
	int rc;
	size_t n;
	/* a record is at least 24 + 8 + 4 bytes, plus the name and length */
	if ((rc = rd_count(r, "tensor count", 2 + 8 + 36, UINT32_MAX, &n)))
		return rc;
	if (n && !(m->tensors = calloc(n, sizeof *m->tensors)))
		return dnnq_diag_set(r->diag, DNNQ_E_NOMEM, "model: TENSORS: out of memory");
	for (size_t i = 0; i < n; i++)
		dnnq_qtensor_init(&m->tensors[i].t);
	m->ntensors = n;
	for (size_t i = 0; i < n; i++) {
		struct dnnq_model_tensor *t = &m->tensors[i];
		char f[160];
		uint64_t len;
		snprintf(f, sizeof f, "tensor %zu: name", i);
		if ((rc = rd_str(r, f, t->name)))
			return rc;
		snprintf(f, sizeof f, "tensor %zu ('%s'): record length", i, t->name);
		if ((rc = rd_u64(r, f, &len)))
			return rc;
		if (len > r->len - r->off)
			return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: TENSORS: %s = %" PRIu64
			                     ": only %zu bytes left", f, len, r->len - r->off);
		struct dnnq_diag qd;
		size_t used;
		rc = dnnq_qtensor_deserialize(r->p + r->off, (size_t)len, &t->t, &used, &qd);
		if (rc)
			return dnnq_diag_set(r->diag, rc, "model: TENSORS: tensor %zu ('%s'): %s",
			                     i, t->name, qd.msg);
		if (used != len)
			return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: TENSORS: %s = %" PRIu64
			                     ": the record has %zu bytes", f, len, used);
		r->off += used;
	}
	return DNNQ_OK;
}

static int read_stats(struct rd *r, struct dnnq_model *m)
{
	int rc;
	if ((rc = rd_count(r, "stat count", 12, UINT32_MAX, &m->nstats)))
		return rc;
	if (m->nstats && !(m->stats = calloc(m->nstats, sizeof *m->stats)))
		return dnnq_diag_set(r->diag, DNNQ_E_NOMEM, "model: STATS: out of memory");
	size_t nvalues = dnnq_model_num_values(m);
	for (size_t i = 0; i < m->nstats; i++) {
		struct dnnq_model_stat *s = &m->stats[i];
		uint32_t v;
		if ((rc = rd_u32(r, "value", &v)) || (rc = rd_f32(r, "min", &s->min)) ||
		    (rc = rd_f32(r, "max", &s->max)))
			return rc;
		if (v >= nvalues)
			return dnnq_diag_set(r->diag, DNNQ_E_FORMAT, "model: STATS: stat %zu: value %"
			                     PRIu32 ": no such tensor", i, v);
		s->value = (int32_t)v;
	}
	return DNNQ_OK;
}

static bool all_zero(const uint8_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i])
			return false;
	return true;
}

/* Every byte outside the header, the table and the sections is padding and
 * must be 0 (so a damaged section count or table cannot go unnoticed). */
static int check_padding(const uint8_t *p, size_t len, size_t table_end,
                         const struct dnnq_model *m, struct dnnq_diag *diag)
{
	struct dnnq_model_section_info s[DNNQ_MODEL_MAX_SECTIONS];
	size_t n = m->nsections, at = table_end;
	memcpy(s, m->sections, n * sizeof *s);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && s[j].offset < s[j - 1].offset; j--) {
			struct dnnq_model_section_info t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	for (size_t i = 0; i <= n; i++) {
		size_t end = i < n ? (size_t)s[i].offset : len;
		if (end > at && !all_zero(p, at, end))
			return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: padding: bytes %zu..%zu are"
			                     " not zero (a damaged table?)", at, end);
		if (i < n && s[i].offset + s[i].size > at)
			at = (size_t)(s[i].offset + s[i].size);
	}
	return DNNQ_OK;
}

int dnnq_model_check_header(const void *buf, size_t len, uint64_t file_size,
                            struct dnnq_diag *diag)
{
	const uint8_t *p = buf;
	/* a short file is judged by the magic's bytes it has: a text file is
	 * not a .dnnq file being copied */
	if (memcmp(p, DNNQ_MODEL_MAGIC, len < 8 ? len : 8))
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: header: magic: not a .dnnq file"
		                     " (dnnq-convert makes one from an ONNX model)");
	if (len < HEADER_SIZE)
		return dnnq_diag_set(diag, DNNQ_E_TRUNCATED, "model: header: %zu bytes, need %u (%s:"
		                     " still being written? write it beside and rename it)", len,
		                     HEADER_SIZE, len ? "cut short" : "an empty file");
	if (dnnq_le16(p + 8) != DNNQ_MODEL_VERSION_MAJOR)
		return dnnq_diag_set(diag, DNNQ_E_VERSION, "model: header: file version %u.%u: this build"
		                     " reads %d.x (convert the ONNX model again with this build's"
		                     " dnnq-convert)", dnnq_le16(p + 8), dnnq_le16(p + 10),
		                     DNNQ_MODEL_VERSION_MAJOR);
	uint64_t size = dnnq_le64(p + 16);
	if (size != file_size)
		return dnnq_diag_set(diag, size > file_size ? DNNQ_E_TRUNCATED : DNNQ_E_FORMAT,
		                     "model: header: file size %" PRIu64 ", the file has %" PRIu64
		                     " bytes (%s)", size, file_size, size > file_size
		                     ? "cut short: still being copied? write it beside and rename it"
		                     : "bytes past its end");
	return DNNQ_OK;
}

/* Header and table: every known section found once, every section inside
 * the file, aligned, past the table, not overlapping another, intact. */
static int read_table(const uint8_t *p, size_t len, struct dnnq_model *m,
                      const struct dnnq_model_section_info **known, struct dnnq_diag *diag)
{
	int rc = dnnq_model_check_header(p, len, len, diag);
	if (rc)
		return rc;
	m->version_major = dnnq_le16(p + 8);
	m->version_minor = dnnq_le16(p + 10);
	uint32_t n = dnnq_le32(p + 12);
	if (n == 0 || n > DNNQ_MODEL_MAX_SECTIONS)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: header: section count %" PRIu32
		                     ": must be 1..%d", n, DNNQ_MODEL_MAX_SECTIONS);
	size_t table_end = HEADER_SIZE + (size_t)n * ENTRY_SIZE;
	if (table_end > len)
		return dnnq_diag_set(diag, DNNQ_E_TRUNCATED, "model: table: %" PRIu32 " entries end at"
		                     " byte %zu of %zu", n, table_end, len);
	m->nsections = n;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = p + HEADER_SIZE + (size_t)i * ENTRY_SIZE;
		struct dnnq_model_section_info *s = &m->sections[i];
		*s = (struct dnnq_model_section_info){ dnnq_le32(e), dnnq_le32(e + 4), dnnq_le64(e + 8),
		                                       dnnq_le64(e + 16), dnnq_le32(e + 24) };
		const char *nm = dnnq_model_section_name(s->type);
		if (s->offset % SECTION_ALIGN || s->offset < table_end || s->offset > len ||
		    s->size > len - s->offset)
			return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: table: section %" PRIu32 " (%s):"
			                     " offset %" PRIu64 " size %" PRIu64 ": outside the file's"
			                     " %zu bytes after the table, or not 64-byte aligned",
			                     i, nm, s->offset, s->size, len);
		for (uint32_t j = 0; j < i; j++) {
			const struct dnnq_model_section_info *o = &m->sections[j];
			if (s->offset < o->offset + o->size && o->offset < s->offset + s->size)
				return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: table: section %" PRIu32
				                     " (%s) overlaps section %" PRIu32, i, nm, j);
			if (s->type == o->type)
				return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: table: section %" PRIu32
				                     ": type %" PRIu32 " (%s) appears twice", i, s->type, nm);
		}
		uint32_t crc = dnnq_crc32c(p + s->offset, (size_t)s->size);
		if (crc != s->crc)
			return dnnq_diag_set(diag, DNNQ_E_CHECKSUM, "model: %s: crc32c 0x%08x, table says"
			                     " 0x%08x", nm, crc, s->crc);
		if (s->type >= DNNQ_SECTION_META && s->type <= DNNQ_SECTION_STATS)
			known[s->type] = s;
		else if (!(s->flags & 1))
			return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "model: table: section %" PRIu32
			                     ": unknown required section type %" PRIu32, i, s->type);
	}
	if ((rc = check_padding(p, len, table_end, m, diag)))
		return rc;
	for (uint32_t t = DNNQ_SECTION_META; t <= DNNQ_SECTION_GRAPH; t++)
		if (!known[t])
			return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: table: no %s section",
			                     dnnq_model_section_name(t));
	return DNNQ_OK;
}

typedef int (*section_reader)(struct rd *r, struct dnnq_model *m);

static int read_section(const uint8_t *p, const struct dnnq_model_section_info *s,
                        section_reader fn, struct dnnq_model *m, struct dnnq_diag *diag)
{
	if (!s)
		return DNNQ_OK;
	const char *nm = dnnq_model_section_name(s->type);
	struct rd r = { p + s->offset, (size_t)s->size, 0, nm, diag };
	int rc = fn(&r, m);
	if (!rc && r.off != r.len)
		rc = dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: %s: %zu bytes left after the last"
		                   " field", nm, r.len - r.off);
	return rc;
}

int dnnq_model_read(const void *buf, size_t len, struct dnnq_model *out, struct dnnq_diag *diag)
{
	if (!buf || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "model: NULL argument");
	struct dnnq_model m;
	memset(&m, 0, sizeof m);
	const struct dnnq_model_section_info *known[DNNQ_SECTION_STATS + 1] = { 0 };
	const uint8_t *p = buf;
	int rc;
	if ((rc = read_table(p, len, &m, known, diag)) ||
	    (rc = read_section(p, known[DNNQ_SECTION_META], read_meta, &m, diag)) ||
	    (rc = read_section(p, known[DNNQ_SECTION_SIGNATURE], read_signature, &m, diag)) ||
	    (rc = read_section(p, known[DNNQ_SECTION_TENSORS], read_tensors, &m, diag)) ||
	    (rc = read_section(p, known[DNNQ_SECTION_GRAPH], dnnq_model_read_graph, &m, diag)) ||
	    (rc = read_section(p, known[DNNQ_SECTION_STATS], read_stats, &m, diag))) {
		dnnq_model_free(&m);
		return rc;
	}
	*out = m;
	return DNNQ_OK;
}

int dnnq_model_node_err(struct dnnq_diag *diag, const char *where, size_t j,
                        const char *name, int rc, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return dnnq_diag_set(diag, rc, "model: %snode %zu ('%s'): %s", where, j, name, what);
}
