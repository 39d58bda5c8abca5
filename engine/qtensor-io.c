/*
 * QTensor record: the byte form of a QTensor (docs/model-format.md).
 *
 *   off  size        field
 *   0    4           magic "DNQT"
 *   4    2, 2        version major, minor
 *   8    1, 1, 1, 1  dtype, precision, is_signed (0/1), ndim (0..8)
 *   12   4           qaxis (int32, -1 = per tensor)
 *   16   4           nqparams
 *   20   4           reserved, 0
 *   24   8 * ndim    dims (int64, >= 0)
 *        4 * nq      scales (f32), then 4 * nq zero points (int32)
 *        8           data byte count (must equal the shape's byte size)
 *        ...         data
 *        4           CRC32C of every byte before it
 *
 * The reader walks the record with a cursor that refuses to step past the
 * buffer, checks the checksum over the declared extent before allocating,
 * and only then builds the tensor.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/crc32c.h"
#include "engine/le.h"
#include "engine/qtensor.h"

#define HEADER 24u

size_t dnnq_qtensor_serialized_size(const struct dnnq_qtensor *t)
{
	return HEADER + 8u * t->ndim + 8u * (size_t)t->nqparams + 8 +
	       dnnq_qtensor_nbytes(t) + 4;
}

int dnnq_qtensor_serialize(const struct dnnq_qtensor *t, void *buf, size_t cap,
                           size_t *written)
{
	size_t need = dnnq_qtensor_serialized_size(t), nbytes = dnnq_qtensor_nbytes(t);
	if (nbytes > t->capacity)
		return DNNQ_E_INVAL;   /* a fresh tensor has a shape but no storage */
	if (!buf || cap < need)
		return DNNQ_E_NOSPACE;
	uint8_t *p = buf;
	dnnq_put_le32(p, DNNQ_QTENSOR_MAGIC);
	dnnq_put_le16(p + 4, DNNQ_QTENSOR_VERSION_MAJOR);
	dnnq_put_le16(p + 6, DNNQ_QTENSOR_VERSION_MINOR);
	p[8] = (uint8_t)t->dtype;
	p[9] = t->precision;
	p[10] = t->is_signed;
	p[11] = (uint8_t)t->ndim;
	dnnq_put_le32(p + 12, (uint32_t)t->qaxis);
	dnnq_put_le32(p + 16, t->nqparams);
	dnnq_put_le32(p + 20, 0);
	p += HEADER;
	for (uint32_t i = 0; i < t->ndim; i++, p += 8)
		dnnq_put_le64(p, (uint64_t)t->dims[i]);
	for (uint32_t i = 0; i < t->nqparams; i++, p += 4)
		dnnq_put_lef32(p, t->scales[i]);
	for (uint32_t i = 0; i < t->nqparams; i++, p += 4)
		dnnq_put_le32(p, (uint32_t)t->zero_points[i]);
	dnnq_put_le64(p, nbytes);
	p += 8;
	if (nbytes)
		memcpy(p, t->data, nbytes);
	/* A packed tensor's last byte may end in bits no element owns; they
	 * hold whatever the allocation held (dnnq_qtensor_resize does not
	 * clear it): written as zeros, so the record is a function of the
	 * tensor's values alone and carries no heap bytes into a file. */
	size_t used = dnnq_qtensor_numel(t) * t->precision % 8;
	if (t->dtype == DNNQ_DTYPE_PACKED && nbytes && used)
		p[nbytes - 1] &= (uint8_t)((1u << used) - 1);
	p += nbytes;
	dnnq_put_le32(p, dnnq_crc32c(buf, (size_t)(p - (uint8_t *)buf)));
	if (written)
		*written = need;
	return DNNQ_OK;
}

struct cursor {
	const uint8_t *base;
	size_t len, off;
};

/* The next n bytes, or NULL when the buffer ends first. */
static const uint8_t *take(struct cursor *c, size_t n)
{
	if (n > c->len - c->off)
		return NULL;
	const uint8_t *p = c->base + c->off;
	c->off += n;
	return p;
}

#define TRUNC(what) dnnq_diag_set(diag, DNNQ_E_TRUNCATED, \
	"qtensor: %s: record ends at byte %zu of %zu", what, c.off, c.len)

int dnnq_qtensor_deserialize(const void *buf, size_t len, struct dnnq_qtensor *t,
                             size_t *consumed, struct dnnq_diag *diag)
{
	if (!buf || !t)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "qtensor: NULL argument");
	struct cursor c = { buf, len, 0 };
	const uint8_t *h = take(&c, HEADER);
	if (!h)
		return TRUNC("header");
	if (dnnq_le32(h) != DNNQ_QTENSOR_MAGIC)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "qtensor: magic 0x%08x: not a QTensor record",
		                     dnnq_le32(h));
	if (dnnq_le16(h + 4) != DNNQ_QTENSOR_VERSION_MAJOR)
		return dnnq_diag_set(diag, DNNQ_E_VERSION, "qtensor: version %u.%u: this build reads %d.x",
		                     dnnq_le16(h + 4), dnnq_le16(h + 6), DNNQ_QTENSOR_VERSION_MAJOR);
	enum dnnq_dtype dt = h[8];
	unsigned prec = h[9], ndim = h[11];
	int32_t qaxis = (int32_t)dnnq_le32(h + 12);
	uint32_t nq = dnnq_le32(h + 16);
	if (h[10] > 1)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "qtensor: is_signed = %u: must be 0 or 1", h[10]);
	int rc;
	if ((rc = dnnq_dtype_check(dt, prec, h[10], NULL)))
		return dnnq_diag_set(diag, rc, "qtensor: dtype %u with %s precision %u: invalid",
		                     h[8], h[10] ? "signed" : "unsigned", prec);
	if (ndim > DNNQ_MAX_DIMS)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "qtensor: ndim = %u: at most %d",
		                     ndim, DNNQ_MAX_DIMS);
	if (dnnq_le32(h + 20) != 0)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "qtensor: reserved = 0x%08x: must be 0",
		                     dnnq_le32(h + 20));
	const uint8_t *d = take(&c, 8u * ndim);
	if (!d)
		return TRUNC("dims");
	int64_t dims[DNNQ_MAX_DIMS] = { 0 };
	for (unsigned i = 0; i < ndim; i++) {
		uint64_t v = dnnq_le64(d + 8 * i);
		dims[i] = v > (uint64_t)INT64_MAX ? -1 : (int64_t)v;
	}
	size_t numel, want;
	struct dnnq_diag sd;
	if ((rc = dnnq_shape_size(dt, prec, ndim, dims, &numel, &want, &sd)))
		return dnnq_diag_set(diag, rc, "qtensor: %s", sd.msg);
	if (qaxis < -1 || qaxis >= (int32_t)ndim)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "qtensor: qaxis = %d: must be -1..%d",
		                     qaxis, (int)ndim - 1);
	uint64_t want_nq = qaxis >= 0 ? (uint64_t)dims[qaxis] : 1;
	if (dt == DNNQ_DTYPE_F32 ? nq != 0 || qaxis != -1 : nq != 0 && nq != want_nq)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "qtensor: nqparams = %u: %s", nq,
		                     dt == DNNQ_DTYPE_F32 ? "f32 tensors are not quantized"
		                                          : "must be 0 or the quantized axis' size");
	if (nq == 0 && qaxis != -1)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "qtensor: qaxis = %d without qparams", qaxis);
	const uint8_t *qp = take(&c, 8u * (size_t)nq);   /* nq < 2^32: no overflow */
	if (!qp)
		return TRUNC("qparams");
	const uint8_t *sz = take(&c, 8);
	if (!sz)
		return TRUNC("data size");
	uint64_t nbytes = dnnq_le64(sz);
	if (nbytes != want)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT,
		                     "qtensor: data size = %llu: the shape needs %zu bytes",
		                     (unsigned long long)nbytes, want);
	const uint8_t *data = take(&c, want);
	if (!data)
		return TRUNC("data");
	const uint8_t *crc = take(&c, 4);
	if (!crc)
		return TRUNC("crc32c");
	uint32_t got = dnnq_crc32c(buf, c.off - 4);
	if (got != dnnq_le32(crc))
		return dnnq_diag_set(diag, DNNQ_E_CHECKSUM, "qtensor: crc32c 0x%08x, record says 0x%08x",
		                     got, dnnq_le32(crc));

	/* The record is whole and intact: build the tensor. */
	struct dnnq_qtensor tmp;
	dnnq_qtensor_init(&tmp);
	float *scales = NULL;
	int32_t *zps = NULL;
	if ((rc = dnnq_qtensor_set_type(&tmp, dt, prec, h[10])) ||
	    (rc = dnnq_qtensor_resize(&tmp, ndim, dims))) {
		dnnq_diag_set(diag, rc, "qtensor: cannot allocate %zu bytes", want);
		goto error;
	}
	if (nq) {
		scales = malloc(nq * sizeof *scales);
		zps = malloc(nq * sizeof *zps);
		if (!scales || !zps) {
			rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "qtensor: cannot allocate %u qparams", nq);
			goto error;
		}
		for (uint32_t i = 0; i < nq; i++) {
			scales[i] = dnnq_lef32(qp + 4 * i);
			zps[i] = (int32_t)dnnq_le32(qp + 4 * ((size_t)nq + i));
			struct dnnq_diag qd;
			if ((rc = dnnq_qtensor_qparam_check(&tmp, scales[i], zps[i], i, &qd))) {
				dnnq_diag_set(diag, rc, "qtensor: %s", qd.msg);
				goto error;
			}
		}
		struct dnnq_qparams q = { scales[0], zps[0], (uint8_t)prec, h[10] };
		rc = qaxis < 0 ? dnnq_qtensor_set_qparams(&tmp, &q)
		               : dnnq_qtensor_set_qparams_axis(&tmp, (uint32_t)qaxis, nq, scales, zps);
		if (rc) {
			dnnq_diag_set(diag, rc, "qtensor: qparams: %s", dnnq_strerror(rc));
			goto error;
		}
	}
	if (want)
		memcpy(tmp.data, data, want);
	free(scales);
	free(zps);
	dnnq_qtensor_free(t);
	*t = tmp;
	if (consumed)
		*consumed = c.off;
	return DNNQ_OK;
error:
	free(scales);
	free(zps);
	dnnq_qtensor_free(&tmp);
	return rc;
}
