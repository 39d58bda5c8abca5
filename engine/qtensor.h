/*
 * engine/qtensor.h — QTensor: a shaped, typed, optionally quantized tensor
 * with DNNQ_ALIGN-aligned storage, and its byte serialization.
 *
 * Types: U8 (1..8-bit unsigned values), S8 (1..8-bit signed), S32 (1..32-bit,
 * accumulators and biases), F32 (no quantization), PACKED (1..7-bit values,
 * signed or unsigned, `precision` bits each in a little-endian bit stream).
 * Quantization: none (nqparams 0), per tensor (qaxis -1, nqparams 1) or per
 * axis (qaxis >= 0, nqparams == dims[qaxis]).
 *
 * The serialized form (docs/model-format.md, "QTensor record") is versioned,
 * little-endian and ends with a CRC32C; dnnq_qtensor_deserialize checks every
 * field against the buffer before it allocates anything.
 */
#ifndef DNNQ_ENGINE_QTENSOR_H
#define DNNQ_ENGINE_QTENSOR_H

#include "engine/quant.h"

#define DNNQ_MAX_DIMS 8
#define DNNQ_QTENSOR_MAGIC 0x54514e44u   /* "DNQT" */
#define DNNQ_QTENSOR_VERSION_MAJOR 1
#define DNNQ_QTENSOR_VERSION_MINOR 0

struct dnnq_qtensor {
	enum dnnq_dtype dtype;
	uint8_t precision;
	bool is_signed;
	uint32_t ndim;
	int64_t dims[DNNQ_MAX_DIMS];
	int32_t qaxis;         /* -1: per tensor */
	uint32_t nqparams;     /* 0, 1, or dims[qaxis] */
	float *scales;         /* nqparams, owned */
	int32_t *zero_points;  /* nqparams, owned */
	void *data;            /* DNNQ_ALIGN aligned, owned; NULL while empty */
	size_t capacity;       /* bytes allocated at data */
};

/* An F32 scalar without storage: give it a type or a shape before using its
 * data (serializing it fails). Every tensor starts here and ends with _free. */
void dnnq_qtensor_init(struct dnnq_qtensor *t);
void dnnq_qtensor_free(struct dnnq_qtensor *t);

/* Whether dtype dt can hold `precision`-bit values of that signedness. */
int dnnq_dtype_check(enum dnnq_dtype dt, unsigned precision, bool is_signed,
                     struct dnnq_diag *diag);
/* Element count and byte size of a shape of dt; DNNQ_E_SHAPE / DNNQ_E_RANGE
 * for negative or overflowing dimensions. */
int dnnq_shape_size(enum dnnq_dtype dt, unsigned precision, uint32_t ndim,
                    const int64_t *dims, size_t *numel, size_t *nbytes,
                    struct dnnq_diag *diag);
/* Whether (scale, zero_point) suit t's precision; `i` names the channel. */
int dnnq_qtensor_qparam_check(const struct dnnq_qtensor *t, float scale, int32_t zp,
                              size_t i, struct dnnq_diag *diag);

/* Sets the element type; drops quantization parameters. Precision 0 means
 * the type's full width (U8/S8 8, S32 32 signed or 31 unsigned, F32 32; PACKED
 * has none and needs 1..7). A PACKED tensor's precision changes only here. */
int dnnq_qtensor_set_type(struct dnnq_qtensor *t, enum dnnq_dtype dt,
                          unsigned precision, bool is_signed);

/* Sets the shape, growing the storage when it no longer fits (contents are
 * then undefined). Fails with DNNQ_E_SHAPE when per-axis parameters no longer
 * match, DNNQ_E_RANGE on overflow, DNNQ_E_NOMEM. */
int dnnq_qtensor_resize(struct dnnq_qtensor *t, uint32_t ndim, const int64_t *dims);

/* Per-tensor parameters; the tensor takes precision (up to its type's width)
 * and signedness from qp. */
int dnnq_qtensor_set_qparams(struct dnnq_qtensor *t, const struct dnnq_qparams *qp);
/* Per-axis parameters, n == dims[axis], with the tensor's precision. */
int dnnq_qtensor_set_qparams_axis(struct dnnq_qtensor *t, uint32_t axis, size_t n,
                                  const float *scales, const int32_t *zero_points);
/* Parameters of channel ch (0 for per-tensor). */
int dnnq_qtensor_qparams(const struct dnnq_qtensor *t, size_t ch, struct dnnq_qparams *out);

size_t dnnq_qtensor_numel(const struct dnnq_qtensor *t);
size_t dnnq_qtensor_nbytes(const struct dnnq_qtensor *t);

/* Integer element i of a U8, S8, S32 or PACKED tensor (no bounds check). */
int32_t dnnq_qtensor_get_int(const struct dnnq_qtensor *t, size_t i);
void dnnq_qtensor_set_int(struct dnnq_qtensor *t, size_t i, int32_t v);

/* Bit packing of `bits`-bit values (1..7), element i at bit i*bits. */
size_t dnnq_packed_size(size_t n, unsigned bits);
void dnnq_pack_bits(const int8_t *src, size_t n, unsigned bits, uint8_t *dst);
void dnnq_unpack_bits(const uint8_t *src, size_t n, unsigned bits, bool is_signed,
                      int8_t *dst);

/* t's storage = quantize(x) with t's parameters (numel floats); the reverse. */
int dnnq_qtensor_quantize(enum dnnq_isa isa, const float *x, struct dnnq_qtensor *t);
int dnnq_qtensor_dequantize(enum dnnq_isa isa, const struct dnnq_qtensor *t, float *x);

size_t dnnq_qtensor_serialized_size(const struct dnnq_qtensor *t);
/* Writes the record into buf; DNNQ_E_NOSPACE when cap is too small. */
int dnnq_qtensor_serialize(const struct dnnq_qtensor *t, void *buf, size_t cap,
                           size_t *written);
/* Reads one record from buf[0..len) into t (initialized; replaced on success,
 * unchanged on failure); *consumed gets the record's length. */
int dnnq_qtensor_deserialize(const void *buf, size_t len, struct dnnq_qtensor *t,
                             size_t *consumed, struct dnnq_diag *diag);

#endif
