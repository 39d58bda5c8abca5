/*
 * QTensor: storage, quantization parameters, packed low-bit access and the
 * byte serialization. The reader checks every field before it allocates:
 * sizes are compared with what is left of the buffer, never trusted.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/crc32c.h"
#include "engine/le.h"
#include "engine/qtensor.h"

void dnnq_qtensor_init(struct dnnq_qtensor *t)
{
	memset(t, 0, sizeof *t);
	t->dtype = DNNQ_DTYPE_F32;
	t->precision = 32;
	t->is_signed = true;
	t->qaxis = -1;
}

static void drop_qparams(struct dnnq_qtensor *t)
{
	free(t->scales);
	free(t->zero_points);
	t->scales = NULL;
	t->zero_points = NULL;
	t->nqparams = 0;
	t->qaxis = -1;
}

void dnnq_qtensor_free(struct dnnq_qtensor *t)
{
	drop_qparams(t);
	free(t->data);
	dnnq_qtensor_init(t);
}

int dnnq_dtype_check(enum dnnq_dtype dt, unsigned p, bool is_signed, struct dnnq_diag *diag)
{
	bool ok;
	switch (dt) {
	case DNNQ_DTYPE_U8:     ok = p >= 1 && p <= 8 && !is_signed; break;
	case DNNQ_DTYPE_S8:     ok = p >= 1 && p <= 8 && is_signed; break;
	case DNNQ_DTYPE_S32:    ok = p >= 1 && p <= (is_signed ? 32u : 31u); break;
	case DNNQ_DTYPE_F32:    ok = p == 32 && is_signed; break;
	case DNNQ_DTYPE_PACKED: ok = p >= 1 && p <= 7; break;
	default:
		return dnnq_diag_set(diag, DNNQ_E_DTYPE, "dtype %d: unknown", (int)dt);
	}
	if (!ok)
		return dnnq_diag_set(diag, DNNQ_E_DTYPE, "dtype %s: cannot hold %s %u-bit values",
		                     dnnq_dtype_name(dt), is_signed ? "signed" : "unsigned", p);
	return DNNQ_OK;
}

size_t dnnq_packed_size(size_t n, unsigned bits)
{
	/* n * bits / 8 rounded up, without overflowing for n near SIZE_MAX */
	return n / 8 * bits + (n % 8 * bits + 7) / 8;
}

int dnnq_shape_size(enum dnnq_dtype dt, unsigned p, uint32_t ndim, const int64_t *dims,
                    size_t *numel, size_t *nbytes, struct dnnq_diag *diag)
{
	size_t n = 1;
	for (uint32_t i = 0; i < ndim; i++) {
		if (dims[i] < 0)
			return dnnq_diag_set(diag, DNNQ_E_SHAPE, "dims[%u] = %lld: must be >= 0",
			                     i, (long long)dims[i]);
		if ((uint64_t)dims[i] > SIZE_MAX || !dnnq_mul_size(n, (size_t)dims[i], &n))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "dims[%u] = %lld: element count overflows",
			                     i, (long long)dims[i]);
	}
	size_t b;
	if (dt == DNNQ_DTYPE_PACKED)
		b = dnnq_packed_size(n, p);
	else if (!dnnq_mul_size(n, dt == DNNQ_DTYPE_U8 || dt == DNNQ_DTYPE_S8 ? 1 : 4, &b))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "tensor byte size overflows");
	if (dnnq_aligned_size(b) == SIZE_MAX)
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "tensor byte size overflows");
	*numel = n;
	*nbytes = b;
	return DNNQ_OK;
}

size_t dnnq_qtensor_numel(const struct dnnq_qtensor *t)
{
	size_t n = 1;
	for (uint32_t i = 0; i < t->ndim; i++)
		n *= (size_t)t->dims[i];
	return n;
}

size_t dnnq_qtensor_nbytes(const struct dnnq_qtensor *t)
{
	size_t n = dnnq_qtensor_numel(t);
	switch (t->dtype) {
	case DNNQ_DTYPE_U8:
	case DNNQ_DTYPE_S8:     return n;
	case DNNQ_DTYPE_PACKED: return dnnq_packed_size(n, t->precision);
	default:                return n * 4;
	}
}

int dnnq_qtensor_set_type(struct dnnq_qtensor *t, enum dnnq_dtype dt,
                          unsigned precision, bool is_signed)
{
	if (precision == 0)
		precision = dt == DNNQ_DTYPE_U8 || dt == DNNQ_DTYPE_S8 ? 8 :
		            dt == DNNQ_DTYPE_S32 && !is_signed ? 31 : 32;
	int rc = dnnq_dtype_check(dt, precision, is_signed, NULL);
	size_t numel, nbytes;
	if (!rc)
		rc = dnnq_shape_size(dt, precision, t->ndim, t->dims, &numel, &nbytes, NULL);
	if (rc)
		return rc;
	if (nbytes > t->capacity) {
		free(t->data);
		t->data = NULL;
		t->capacity = 0;
		if (nbytes && !(t->data = dnnq_aligned_alloc(nbytes)))
			return DNNQ_E_NOMEM;
		t->capacity = dnnq_aligned_size(nbytes);
	}
	drop_qparams(t);
	t->dtype = dt;
	t->precision = (uint8_t)precision;
	t->is_signed = is_signed;
	return DNNQ_OK;
}

int dnnq_qtensor_resize(struct dnnq_qtensor *t, uint32_t ndim, const int64_t *dims)
{
	if (ndim > DNNQ_MAX_DIMS || (ndim && !dims))
		return DNNQ_E_INVAL;
	size_t numel, nbytes;
	int rc = dnnq_shape_size(t->dtype, t->precision, ndim, dims, &numel, &nbytes, NULL);
	if (rc)
		return rc;
	if (t->qaxis >= 0 && ((uint32_t)t->qaxis >= ndim || (uint64_t)dims[t->qaxis] != t->nqparams))
		return DNNQ_E_SHAPE;
	if (nbytes > t->capacity) {
		void *p = dnnq_aligned_alloc(nbytes);
		if (!p)
			return DNNQ_E_NOMEM;
		free(t->data);
		t->data = p;
		t->capacity = dnnq_aligned_size(nbytes);
	}
	t->ndim = ndim;
	memset(t->dims, 0, sizeof t->dims);
	if (ndim)
		memcpy(t->dims, dims, ndim * sizeof *dims);
	return DNNQ_OK;
}

static int alloc_qparams(struct dnnq_qtensor *t, size_t n)
{
	float *s = malloc(n * sizeof *s);
	int32_t *z = malloc(n * sizeof *z);
	if (!s || !z) {
		free(s);
		free(z);
		return DNNQ_E_NOMEM;
	}
	drop_qparams(t);
	t->scales = s;
	t->zero_points = z;
	t->nqparams = (uint32_t)n;
	return DNNQ_OK;
}

/* The checks of dnnq_qparams_check, for the tensor's own precision (which
 * may exceed DNNQ_MAX_PRECISION for S32 accumulators). */
int dnnq_qtensor_qparam_check(const struct dnnq_qtensor *t, float scale, int32_t zp,
                              size_t i, struct dnnq_diag *diag)
{
	if (!isfinite(scale) || !(scale > 0))
		return dnnq_diag_set(diag, DNNQ_E_RANGE,
		                     "scales[%zu] = %g: must be finite and positive", i, scale);
	int32_t lo = dnnq_qmin(t->precision, t->is_signed), hi = dnnq_qmax(t->precision, t->is_signed);
	if (zp < lo || zp > hi)
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "zero_points[%zu] = %d: outside [%d, %d]",
		                     i, zp, lo, hi);
	return DNNQ_OK;
}

int dnnq_qtensor_set_qparams(struct dnnq_qtensor *t, const struct dnnq_qparams *qp)
{
	if (!qp || t->dtype == DNNQ_DTYPE_F32)
		return qp ? DNNQ_E_DTYPE : DNNQ_E_INVAL;
	int rc = dnnq_dtype_check(t->dtype, qp->precision, qp->is_signed, NULL);
	if (rc)
		return rc;
	/* a packed tensor's precision is its storage layout: set_type changes it */
	if (t->dtype == DNNQ_DTYPE_PACKED && qp->precision != t->precision)
		return DNNQ_E_DTYPE;
	uint8_t p = t->precision;
	bool s = t->is_signed;
	t->precision = qp->precision;
	t->is_signed = qp->is_signed;
	rc = dnnq_qtensor_qparam_check(t, qp->scale, qp->zero_point, 0, NULL);
	if (!rc)
		rc = alloc_qparams(t, 1);
	if (rc) {
		t->precision = p;
		t->is_signed = s;
		return rc;
	}
	t->scales[0] = qp->scale;
	t->zero_points[0] = qp->zero_point;
	return DNNQ_OK;
}

int dnnq_qtensor_set_qparams_axis(struct dnnq_qtensor *t, uint32_t axis, size_t n,
                                  const float *scales, const int32_t *zero_points)
{
	if (t->dtype == DNNQ_DTYPE_F32)
		return DNNQ_E_DTYPE;
	if (axis >= t->ndim || (uint64_t)t->dims[axis] != n || n == 0 || n > UINT32_MAX)
		return DNNQ_E_SHAPE;
	if (!scales || !zero_points)
		return DNNQ_E_INVAL;
	for (size_t i = 0; i < n; i++) {
		int rc = dnnq_qtensor_qparam_check(t, scales[i], zero_points[i], i, NULL);
		if (rc)
			return rc;
	}
	int rc = alloc_qparams(t, n);
	if (rc)
		return rc;
	memcpy(t->scales, scales, n * sizeof *scales);
	memcpy(t->zero_points, zero_points, n * sizeof *zero_points);
	t->qaxis = (int32_t)axis;
	return DNNQ_OK;
}

int dnnq_qtensor_qparams(const struct dnnq_qtensor *t, size_t ch, struct dnnq_qparams *out)
{
	if (t->nqparams == 0 || ch >= t->nqparams)
		return t->nqparams ? DNNQ_E_RANGE : DNNQ_E_INVAL;
	out->scale = t->scales[ch];
	out->zero_point = t->zero_points[ch];
	out->precision = t->precision;
	out->is_signed = t->is_signed;
	return DNNQ_OK;
}

static int32_t unpack_one(const uint8_t *src, size_t i, unsigned bits, bool is_signed)
{
	size_t bit = i * bits, byte = bit / 8;
	unsigned sh = bit % 8;
	uint32_t w = src[byte];
	if (sh + bits > 8)
		w |= (uint32_t)src[byte + 1] << 8;
	int32_t v = (int32_t)((w >> sh) & ((1u << bits) - 1));
	if (is_signed && (v >> (bits - 1)))
		v -= 1 << bits;
	return v;
}

static void pack_one(uint8_t *dst, size_t i, unsigned bits, int32_t v)
{
	size_t bit = i * bits, byte = bit / 8;
	unsigned sh = bit % 8;
	uint32_t mask = ((1u << bits) - 1) << sh, u = ((uint32_t)v << sh) & mask;
	dst[byte] = (uint8_t)((dst[byte] & ~mask) | u);
	if (sh + bits > 8)
		dst[byte + 1] = (uint8_t)((dst[byte + 1] & ~(mask >> 8)) | u >> 8);
}

void dnnq_pack_bits(const int8_t *src, size_t n, unsigned bits, uint8_t *dst)
{
	memset(dst, 0, dnnq_packed_size(n, bits));
	for (size_t i = 0; i < n; i++)
		pack_one(dst, i, bits, src[i]);
}

void dnnq_unpack_bits(const uint8_t *src, size_t n, unsigned bits, bool is_signed,
                      int8_t *dst)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (int8_t)unpack_one(src, i, bits, is_signed);
}

int32_t dnnq_qtensor_get_int(const struct dnnq_qtensor *t, size_t i)
{
	switch (t->dtype) {
	case DNNQ_DTYPE_U8:     return ((const uint8_t *)t->data)[i];
	case DNNQ_DTYPE_S8:     return ((const int8_t *)t->data)[i];
	case DNNQ_DTYPE_PACKED: return unpack_one(t->data, i, t->precision, t->is_signed);
	default:                return ((const int32_t *)t->data)[i];
	}
}

void dnnq_qtensor_set_int(struct dnnq_qtensor *t, size_t i, int32_t v)
{
	switch (t->dtype) {
	case DNNQ_DTYPE_U8:     ((uint8_t *)t->data)[i] = (uint8_t)v; break;
	case DNNQ_DTYPE_S8:     ((int8_t *)t->data)[i] = (int8_t)v; break;
	case DNNQ_DTYPE_PACKED: pack_one(t->data, i, t->precision, v); break;
	default:                ((int32_t *)t->data)[i] = v; break;
	}
}

/*
 * Quantize (xin -> tdata) or dequantize (tdata -> xout) through the
 * per-tensor kernels, one run of `inner` contiguous elements per (outer,
 * channel) pair. PACKED goes through a one-byte-per-value image.
 */
static int convert(enum dnnq_isa isa, const struct dnnq_qtensor *t, void *tdata,
                   const float *xin, float *xout)
{
	if (t->nqparams == 0)
		return DNNQ_E_INVAL;
	size_t numel = dnnq_qtensor_numel(t), outer = 1, nch = 1, inner = numel;
	if (numel == 0)
		return DNNQ_OK;
	if (t->qaxis >= 0) {
		nch = (size_t)t->dims[t->qaxis];
		for (int32_t i = 0; i < t->qaxis; i++)
			outer *= (size_t)t->dims[i];
		inner = numel / outer / nch;
	}
	bool packed = t->dtype == DNNQ_DTYPE_PACKED;
	enum dnnq_dtype dt = !packed ? t->dtype : t->is_signed ? DNNQ_DTYPE_S8 : DNNQ_DTYPE_U8;
	size_t es = dt == DNNQ_DTYPE_S32 ? 4 : 1;
	int8_t *img = NULL;
	if (packed && numel) {
		if (!(img = malloc(numel)))
			return DNNQ_E_NOMEM;
		if (xout)
			dnnq_unpack_bits(tdata, numel, t->precision, t->is_signed, img);
	}
	uint8_t *base = packed ? (uint8_t *)img : tdata;
	int rc = DNNQ_OK;
	for (size_t o = 0; o < outer && !rc; o++) {
		for (size_t c = 0; c < nch && !rc; c++) {
			struct dnnq_qparams qp;
			dnnq_qtensor_qparams(t, t->qaxis >= 0 ? c : 0, &qp);
			size_t off = (o * nch + c) * inner;
			rc = xin ? dnnq_quantize(isa, xin + off, base + off * es, dt, inner, &qp)
			         : dnnq_dequantize(isa, base + off * es, dt, xout + off, inner, &qp);
		}
	}
	if (!rc && packed && xin)
		dnnq_pack_bits(img, numel, t->precision, tdata);
	free(img);
	return rc;
}

int dnnq_qtensor_quantize(enum dnnq_isa isa, const float *x, struct dnnq_qtensor *t)
{
	return convert(isa, t, t->data, x, NULL);
}

int dnnq_qtensor_dequantize(enum dnnq_isa isa, const struct dnnq_qtensor *t, float *x)
{
	return convert(isa, t, t->data, NULL, x);
}
