/*
 * .npy reading and writing on memory buffers (calibration/npy.h).
 *
 *   offset  size   field
 *   0       6      magic "\x93NUMPY"
 *   6       1, 1   version major (1, 2, 3), minor (0)
 *   8       2 / 4  header length, little-endian (2 bytes in 1.0, 4 in 2.0/3.0)
 *   10/12   hlen   header: a Python dict literal, ASCII, ending in spaces and
 *                  "\n"; keys exactly 'descr', 'fortran_order', 'shape'
 *   ...            data, C order, exactly count * itemsize bytes
 *
 * The header is parsed by a small recursive-descent reader over a length-
 * bounded cursor (no NUL termination assumed, no allocation): strings in
 * single or double quotes without escapes, True/False, and tuples of
 * non-negative decimal integers ("()", "(5,)", "(2, 3)"; a one-element tuple
 * needs its comma, as in Python). The writer emits what numpy.save emits:
 * version 1.0, the header padded with spaces so the data starts at a
 * multiple of 64 bytes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/npy.h"
#include "engine/le.h"

static const char MAGIC[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

size_t dnnq_npy_itemsize(enum dnnq_dtype dt)
{
	switch (dt) {
	case DNNQ_DTYPE_U8:
	case DNNQ_DTYPE_S8:  return 1;
	case DNNQ_DTYPE_S32:
	case DNNQ_DTYPE_F32: return 4;
	default:             return 0;
	}
}

int dnnq_npy_check_dtype(const struct dnnq_npy *a, const char *path, const char *input,
                         enum dnnq_dtype want, bool f32_for_u8, struct dnnq_diag *diag)
{
	bool u8_as_f32 = f32_for_u8 && want == DNNQ_DTYPE_U8;
	if (a->dtype == want || (u8_as_f32 && a->dtype == DNNQ_DTYPE_F32))
		return DNNQ_OK;
	/* the file's own type where the reader converted it */
	const char *was = a->from_i64 ? " (int64 in the file)"
	                : a->from_f64 ? " (float64 in the file)" : "";
	return dnnq_diag_set(diag, DNNQ_E_DTYPE, "%s: dtype %s%s: input '%s' takes %s%s%s", path,
	                     dnnq_dtype_name(a->dtype), was, input, dnnq_dtype_name(want),
	                     u8_as_f32 ? " or f32" : "", want == DNNQ_DTYPE_F32 || u8_as_f32 ?
	                     " (x.astype(np.float32) converts an array)" : "");
}

const char *dnnq_npy_shape_hint(const struct dnnq_npy *a, unsigned rank, const int64_t *dims,
                                bool converted)
{
	/* a .dnnq model's dims were fixed when it was converted: an image of
	 * another size for a model exported with symbolic H and W is the
	 * mistake to expect */
	bool other = false;
	for (unsigned k = 1; converted && a->ndim == rank && k < rank; k++)
		other |= (int64_t)a->shape[k] != dims[k];
	const char *fixed = other
	                    ? "; a .dnnq model takes the shape it was converted for (dnnq-convert "
	                      "fixes an ONNX model's symbolic dims by --input-shape or the "
	                      "calibration samples): convert again for another" : "";
	bool unbatched = a->ndim + 1 == rank;
	for (unsigned k = 0; unbatched && k < a->ndim; k++)
		unbatched = (int64_t)a->shape[k] == dims[k + 1];
	if (unbatched)
		return "; one sample without its batch axis? x[None] adds it";
	if (rank != 4 || a->ndim != 4)
		return fixed;
	int64_t s1 = (int64_t)a->shape[1], s2 = (int64_t)a->shape[2], s3 = (int64_t)a->shape[3];
	/* the input's dims permuted whole, else (its H and W taken from this
	 * very array: symbolic) the channels alone where the other layout has
	 * them; where this layout has them too (a W equal to C), only when the
	 * dim between is the array's as well, as symbolic dims taken from it
	 * are ([n, 4, 50, 40] for a fixed [n, 4, 5, 4] is an image of another
	 * size, no NHWC array) */
	bool last = s1 == dims[2] && s2 == dims[3] && s3 == dims[1];
	bool first = s1 == dims[3] && s2 == dims[1] && s3 == dims[2];
	if (last == first) {
		last = !first && s3 == dims[1] && s1 != dims[1] && (s3 != dims[3] || s2 == dims[2]);
		first = !last && s1 == dims[3] && s3 != dims[3] && (s1 != dims[1] || s2 == dims[2]);
	}
	return last ? "; channels last? np.transpose(x, (0, 3, 1, 2)) makes the NCHW array the "
	              "input takes"
	     : first ? "; channels first? np.transpose(x, (0, 2, 3, 1)) makes the NHWC array the "
	               "input takes" : fixed;
}

static const char *descr_of(enum dnnq_dtype dt)
{
	switch (dt) {
	case DNNQ_DTYPE_U8:  return "|u1";
	case DNNQ_DTYPE_S8:  return "|i1";
	case DNNQ_DTYPE_S32: return "<i4";
	case DNNQ_DTYPE_F32: return "<f4";
	default:             return NULL;
	}
}

/* ---- the header reader ---- */

struct cur {
	const char *s;
	size_t n, pos;
	struct dnnq_diag *diag;
	bool f64_ok;                      /* '<f8' accepted (DNNQ_NPY_F64) */
	bool i64_ok;                      /* '<i8' accepted (DNNQ_NPY_I64) */
};

static void skip_ws(struct cur *c)
{
	while (c->pos < c->n && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' ||
	                         c->s[c->pos] == '\n' || c->s[c->pos] == '\r'))
		c->pos++;
}

static int peek(struct cur *c)
{
	skip_ws(c);
	return c->pos < c->n ? (unsigned char)c->s[c->pos] : -1;
}

static int fail(struct cur *c, const char *what)
{
	return dnnq_diag_set(c->diag, DNNQ_E_FORMAT, "header: %s at offset %zu", what, c->pos);
}

static int expect(struct cur *c, char ch, const char *what)
{
	if (peek(c) != ch)
		return fail(c, what);
	c->pos++;
	return DNNQ_OK;
}

static int read_string(struct cur *c, char *out, size_t cap, const char *what)
{
	int q = peek(c);
	if (q != '\'' && q != '"')
		return fail(c, what);
	size_t start = ++c->pos;
	while (c->pos < c->n && c->s[c->pos] != q) {
		if (c->s[c->pos] == '\\')
			return fail(c, "escape sequences are not supported");
		c->pos++;
	}
	if (c->pos >= c->n)
		return fail(c, "unterminated string");
	size_t len = c->pos++ - start;
	if (len >= cap)
		return fail(c, "string too long");
	memcpy(out, c->s + start, len);
	out[len] = 0;
	return DNNQ_OK;
}

static bool match_word(struct cur *c, const char *w)
{
	size_t len = strlen(w);
	if (c->n - c->pos < len || memcmp(c->s + c->pos, w, len))
		return false;
	c->pos += len;
	return true;
}

static int read_bool(struct cur *c, bool *out)
{
	peek(c);
	if (match_word(c, "True"))
		*out = true;
	else if (match_word(c, "False"))
		*out = false;
	else
		return fail(c, "'fortran_order' must be True or False");
	return DNNQ_OK;
}

static int read_dim(struct cur *c, struct dnnq_npy *a)
{
	if (a->ndim >= DNNQ_NPY_MAX_DIMS)
		return dnnq_diag_set(c->diag, DNNQ_E_RANGE, "shape: more than %d dimensions",
		                     DNNQ_NPY_MAX_DIMS);
	size_t v = 0, digits = 0;
	for (peek(c); c->pos < c->n && c->s[c->pos] >= '0' && c->s[c->pos] <= '9'; c->pos++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (size_t)(c->s[c->pos] - '0'), &v))
			return dnnq_diag_set(c->diag, DNNQ_E_RANGE, "shape[%u]: too large", a->ndim);
		digits++;
	}
	if (!digits)
		return fail(c, "'shape' must be a tuple of non-negative integers");
	a->shape[a->ndim++] = v;
	return DNNQ_OK;
}

static int read_shape(struct cur *c, struct dnnq_npy *a)
{
	int rc = expect(c, '(', "'shape' must be a tuple");
	bool comma = false;
	while (!rc && peek(c) != ')') {
		rc = read_dim(c, a);
		comma = !rc && peek(c) == ',';
		if (comma)
			c->pos++;
		else if (!rc && peek(c) != ')')
			rc = fail(c, "expected ',' or ')' in 'shape'");
	}
	if (!rc && a->ndim == 1 && !comma)
		rc = fail(c, "'shape' (n) is not a tuple: a one-element tuple is (n,)");
	return rc ? rc : expect(c, ')', "'shape' must be a tuple");
}

/* " (int16)" for the type part of a descr ("i2"), as numpy names it, into
 * buf; "" for one it does not name so. */
static const char *numpy_name(const char *t, char *buf, size_t len)
{
	static const struct { char kind; const char *name; bool sized; } kinds[] = {
		{ 'f', "float", true }, { 'i', "int", true }, { 'u', "uint", true },
		{ 'c', "complex", true }, { 'b', "bool", false }, { 'O', "object", false },
		{ 'U', "str", false }, { 'S', "bytes", false }, { 'M', "datetime64", false },
		{ 'm', "timedelta64", false }, { 'V', "void", false },
	};
	char *end;
	long bytes = t[0] ? strtol(t + 1, &end, 10) : 0;
	for (size_t i = 0; t[0] && i < sizeof kinds / sizeof kinds[0]; i++)
		if (kinds[i].kind == t[0]) {
			if (!kinds[i].sized)
				snprintf(buf, len, " (%s)", kinds[i].name);
			else if (bytes > 0 && bytes <= 16 && !*end)
				snprintf(buf, len, " (%s%ld)", kinds[i].name, bytes * 8);
			else
				break;
			return buf;
		}
	return "";
}

static int set_descr(struct cur *c, struct dnnq_npy *a)
{
	char d[32];
	int rc = read_string(c, d, sizeof d,
	                     "'descr' must be a string (structured dtypes are not supported)");
	if (rc)
		return rc;
	char order = d[0];
	const char *t = order ? d + 1 : d;
	bool one = !strcmp(t, "u1") || !strcmp(t, "i1"), four = !strcmp(t, "f4") || !strcmp(t, "i4");
	/* 8-byte elements the file reader narrows (DNNQ_NPY_F64, DNNQ_NPY_I64) */
	bool eight = (c->f64_ok && !strcmp(t, "f8")) || (c->i64_ok && !strcmp(t, "i8"));
	if (eight && (order == '<' || order == '=')) {
		a->from_f64 = *t == 'f';
		a->from_i64 = *t == 'i';
		a->dtype = a->from_f64 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_S32;
		return DNNQ_OK;
	}
	char name[24];
	if (!order || !strchr("<|>=", order) || (!one && !four && !eight))
		return dnnq_diag_set(c->diag, DNNQ_E_DTYPE, "dtype '%s'%s: dnnq reads float32, uint8,"
		                     " int8 and int32%s arrays (x.astype(np.float32) converts one)",
		                     d, numpy_name(t, name, sizeof name), c->f64_ok || c->i64_ok ? " (float64 and"
		                     " int64 converted)" : "");
	if ((four || eight) && order != '<')
		return dnnq_diag_set(c->diag, DNNQ_E_DTYPE, "descr '%s': %s (x.astype('<%s') "
		                     "converts an array)", d, order == '>' ? "big-endian data is not"
		                     " supported" : "byte order must be '<'", t);
	a->dtype = !strcmp(t, "f4") ? DNNQ_DTYPE_F32 : !strcmp(t, "i4") ? DNNQ_DTYPE_S32
	         : !strcmp(t, "u1") ? DNNQ_DTYPE_U8 : DNNQ_DTYPE_S8;
	return DNNQ_OK;
}

/* One "key: value" entry; `seen` collects the keys met so far. */
static int read_entry(struct cur *c, struct dnnq_npy *a, unsigned *seen)
{
	static const char *const keys[3] = { "descr", "fortran_order", "shape" };
	char key[32];
	int rc = read_string(c, key, sizeof key, "expected a quoted key");
	if (!rc)
		rc = expect(c, ':', "expected ':' after a key");
	if (rc)
		return rc;
	unsigned k = 0;
	while (k < 3 && strcmp(key, keys[k]))
		k++;
	if (k == 3)
		return dnnq_diag_set(c->diag, DNNQ_E_FORMAT,
		                     "header: key '%s': not one of descr, fortran_order, shape", key);
	if (*seen & 1u << k)
		return dnnq_diag_set(c->diag, DNNQ_E_FORMAT, "header: key '%s' appears twice", key);
	*seen |= 1u << k;
	if (k == 0)
		return set_descr(c, a);
	if (k == 2)
		return read_shape(c, a);
	bool fortran = false;
	rc = read_bool(c, &fortran);
	if (!rc && fortran)
		rc = dnnq_diag_set(c->diag, DNNQ_E_FORMAT,
		                   "header: 'fortran_order' is True: only C order is supported "
		                   "(np.save(f, np.ascontiguousarray(x)) writes it)");
	return rc;
}

static int read_dict(struct cur *c, struct dnnq_npy *a)
{
	unsigned seen = 0;
	int rc = expect(c, '{', "the header must be a dict");
	while (!rc && peek(c) != '}') {
		rc = read_entry(c, a, &seen);
		if (!rc && peek(c) == ',')
			c->pos++;
		else if (!rc && peek(c) != '}')
			rc = fail(c, "expected ',' or '}' after an entry");
	}
	if (!rc)
		rc = expect(c, '}', "the header must be a dict");
	if (!rc && peek(c) != -1)
		rc = fail(c, "text after the dict");
	for (unsigned k = 0; !rc && k < 3; k++)
		if (!(seen & 1u << k))
			rc = dnnq_diag_set(c->diag, DNNQ_E_FORMAT, "header: no '%s' key",
			                   k == 0 ? "descr" : k == 1 ? "fortran_order" : "shape");
	return rc;
}

static int check_ascii(const uint8_t *h, size_t n, struct dnnq_diag *diag)
{
	for (size_t i = 0; i < n; i++)
		if ((h[i] < 0x20 || h[i] > 0x7e) && h[i] != '\n' && h[i] != '\r' && h[i] != '\t')
			return dnnq_diag_set(diag, DNNQ_E_FORMAT,
			                     "header: byte 0x%02x at offset %zu is not printable ASCII",
			                     h[i], i);
	return DNNQ_OK;
}

/* ---- the file ---- */

const char *dnnq_npy_not_npy(const void *p, size_t n)
{
	/* np.savez writes a ZIP archive of .npy files: a local file header */
	return n >= 4 && !memcmp(p, "PK\x03\x04", 4)
	       ? " (a .npz archive, np.savez's: dnnq reads .npy files; np.save(f, "
	         "np.load(path)[NAME]) writes one)"
	       : " (it does not begin with \\x93NUMPY, as np.save writes)";
}

static int read_preamble(const uint8_t *p, size_t len, size_t *hstart, size_t *hlen,
                         unsigned *major, struct dnnq_diag *diag)
{
	if (len < 8)
		return dnnq_diag_set(diag, DNNQ_E_TRUNCATED,
		                     "length %zu: too short for the magic and version", len);
	if (memcmp(p, MAGIC, sizeof MAGIC))
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "not a .npy file%s",
		                     dnnq_npy_not_npy(p, len));
	if (p[6] < 1 || p[6] > 3 || p[7] != 0)
		return dnnq_diag_set(diag, DNNQ_E_VERSION,
		                     "version %u.%u: only 1.0, 2.0 and 3.0 are read", p[6], p[7]);
	*major = p[6];
	*hstart = *major == 1 ? 10 : 12;
	if (len < *hstart)
		return dnnq_diag_set(diag, DNNQ_E_TRUNCATED,
		                     "length %zu: too short for the header length", len);
	*hlen = *major == 1 ? dnnq_le16(p + 8) : dnnq_le32(p + 8);
	if (*hlen > len - *hstart)
		return dnnq_diag_set(diag, DNNQ_E_TRUNCATED,
		                     "header_len %zu: the header runs past the end (%zu bytes)",
		                     *hlen, len);
	return DNNQ_OK;
}

/* count and nbytes from the shape, overflow-checked. */
static int shape_bytes(struct dnnq_npy *a, struct dnnq_diag *diag)
{
	a->count = 1;
	for (unsigned i = 0; i < a->ndim; i++)
		if (!dnnq_mul_size(a->count, a->shape[i], &a->count))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "shape: element count overflows");
	size_t item = a->from_f64 || a->from_i64 ? 8 : dnnq_npy_itemsize(a->dtype);
	if (!dnnq_mul_size(a->count, item, &a->nbytes))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "shape: byte count overflows");
	return DNNQ_OK;
}

static int check_sizes(struct dnnq_npy *a, size_t have, struct dnnq_diag *diag)
{
	int rc = shape_bytes(a, diag);
	if (rc)
		return rc;
	if (have < a->nbytes)
		return dnnq_diag_set(diag, DNNQ_E_TRUNCATED, "data: %zu bytes, the shape needs %zu",
		                     have, a->nbytes);
	if (have > a->nbytes)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT,
		                     "data: %zu bytes, the shape needs %zu (trailing bytes)",
		                     have, a->nbytes);
	return DNNQ_OK;
}

int dnnq_npy_parse(const void *buf, size_t len, struct dnnq_npy *out,
                   struct dnnq_diag *diag)
{
	return dnnq_npy_parse_flags(buf, len, 0, out, diag);
}

int dnnq_npy_parse_flags(const void *buf, size_t len, unsigned flags, struct dnnq_npy *out,
                         struct dnnq_diag *diag)
{
	if (!out || (len && !buf))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "npy_parse: NULL argument");
	memset(out, 0, sizeof *out);
	const uint8_t *p = buf;
	size_t hstart = 0, hlen = 0;
	int rc = read_preamble(p, len, &hstart, &hlen, &out->version, diag);
	if (!rc)
		rc = check_ascii(p + hstart, hlen, diag);
	if (rc)
		return rc;
	struct cur c = { (const char *)p + hstart, hlen, 0, diag, (flags & DNNQ_NPY_F64) != 0,
	                  (flags & DNNQ_NPY_I64) != 0 };
	rc = read_dict(&c, out);
	if (!rc)
		rc = check_sizes(out, len - hstart - hlen, diag);
	if (rc)
		return rc;
	out->data_offset = hstart + hlen;
	out->data = p + out->data_offset;
	return DNNQ_OK;
}

void dnnq_npy_to_f32(const struct dnnq_npy *a, float *out)
{
	const uint8_t *p = a->data;
	for (size_t i = 0; i < a->count; i++) {
		switch (a->dtype) {
		case DNNQ_DTYPE_U8:  out[i] = p[i]; break;
		case DNNQ_DTYPE_S8:  out[i] = (int8_t)p[i]; break;
		case DNNQ_DTYPE_S32: out[i] = (float)(int32_t)dnnq_le32(p + 4 * i); break;
		default:             out[i] = dnnq_lef32(p + 4 * i); break;
		}
	}
}

/* ---- the writer ---- */

/* The dict text, unpadded; its length, or 0 for a bad array. */
static size_t header_text(char *s, size_t cap, enum dnnq_dtype dt, const size_t *shape,
                          unsigned ndim)
{
	size_t n = (size_t)snprintf(s, cap, "{'descr': '%s', 'fortran_order': False, 'shape': (",
	                            descr_of(dt));
	for (unsigned i = 0; i < ndim && n < cap; i++)
		n += (size_t)snprintf(s + n, cap - n, i ? ", %zu" : "%zu", shape[i]);
	if (n < cap)
		n += (size_t)snprintf(s + n, cap - n, "%s), }", ndim == 1 ? "," : "");
	return n < cap ? n : 0;
}

#define HEADER_CAP (64 + DNNQ_NPY_MAX_DIMS * 24)

/* Preamble + padded header: a multiple of 64, the last byte '\n'. */
static size_t header_size(size_t text)
{
	return (10 + text + 1 + 63) / 64 * 64;
}

int dnnq_npy_encoded_size(enum dnnq_dtype dt, const size_t *shape, unsigned ndim,
                          size_t *size, struct dnnq_diag *diag)
{
	char text[HEADER_CAP];
	struct dnnq_npy a = { .dtype = dt, .ndim = ndim };
	if (!descr_of(dt))
		return dnnq_diag_set(diag, DNNQ_E_DTYPE, "dtype %s: .npy holds f32, u8, s8, s32",
		                     dnnq_dtype_name(dt));
	if (ndim > DNNQ_NPY_MAX_DIMS || (ndim && !shape))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "ndim %u: must be 0..%d", ndim,
		                     DNNQ_NPY_MAX_DIMS);
	if (ndim)
		memcpy(a.shape, shape, ndim * sizeof *shape);
	size_t text_len = header_text(text, sizeof text, dt, shape, ndim);
	int rc = shape_bytes(&a, diag);
	if (rc)
		return rc;
	if (!text_len || a.nbytes > SIZE_MAX - header_size(text_len))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "shape: the file size overflows");
	*size = header_size(text_len) + a.nbytes;
	return DNNQ_OK;
}

static void put_data(uint8_t *p, enum dnnq_dtype dt, const void *data, size_t count)
{
	if (dnnq_npy_itemsize(dt) == 1) {
		memcpy(p, data, count);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		if (dt == DNNQ_DTYPE_F32)
			dnnq_put_lef32(p + 4 * i, ((const float *)data)[i]);
		else
			dnnq_put_le32(p + 4 * i, (uint32_t)((const int32_t *)data)[i]);
	}
}

int dnnq_npy_encode(void *buf, size_t cap, enum dnnq_dtype dt, const size_t *shape,
                    unsigned ndim, const void *data, size_t *written,
                    struct dnnq_diag *diag)
{
	size_t size;
	int rc = dnnq_npy_encoded_size(dt, shape, ndim, &size, diag);
	if (rc)
		return rc;
	char text[HEADER_CAP];
	size_t text_len = header_text(text, sizeof text, dt, shape, ndim);
	size_t hsize = header_size(text_len), count = (size - hsize) / dnnq_npy_itemsize(dt);
	if (!buf || cap < size)
		return dnnq_diag_set(diag, DNNQ_E_NOSPACE, "buffer: %zu bytes, the array needs %zu",
		                     cap, size);
	if (count && !data)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "data: NULL for %zu elements", count);
	uint8_t *p = buf;
	memcpy(p, MAGIC, sizeof MAGIC);
	p[6] = 1;
	p[7] = 0;
	dnnq_put_le16(p + 8, (uint16_t)(hsize - 10));
	memcpy(p + 10, text, text_len);
	memset(p + 10 + text_len, ' ', hsize - 10 - text_len - 1);
	p[hsize - 1] = '\n';
	put_data(p + hsize, dt, data, count);
	if (written)
		*written = size;
	return DNNQ_OK;
}
