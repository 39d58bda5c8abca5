/*
 * The quantization core: parameter choice, argument checks, dispatch to the
 * per-ISA kernels, and the scalar reference kernels themselves. The math and
 * the rounding rules are written up in docs/quantization.md.
 */
#include <float.h>
#include <math.h>

#include "engine/kernels.h"
#include "engine/quant-kernels.h"
#include "engine/quant-scalar.h"

int dnnq_qparams_check(const struct dnnq_qparams *qp, enum dnnq_dtype dt,
                       struct dnnq_diag *diag)
{
	if (!qp)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "qparams: NULL");
	if (!isfinite(qp->scale) || !(qp->scale > 0))
		return dnnq_diag_set(diag, DNNQ_E_RANGE,
		                     "scale %g: must be finite and positive", qp->scale);
	unsigned p = qp->precision;
	if (p < 1 || p > DNNQ_MAX_PRECISION)
		return dnnq_diag_set(diag, DNNQ_E_RANGE,
		                     "precision %u: must be 1..%d bits", p, DNNQ_MAX_PRECISION);
	bool fits;
	switch (dt) {
	case DNNQ_DTYPE_U8:     fits = !qp->is_signed && p <= 8; break;
	case DNNQ_DTYPE_S8:     fits = qp->is_signed && p <= 8; break;
	case DNNQ_DTYPE_S32:    fits = true; break;
	case DNNQ_DTYPE_PACKED: fits = p <= 7; break;
	default:
		return dnnq_diag_set(diag, DNNQ_E_DTYPE, "dtype %s: not an integer type",
		                     dnnq_dtype_name(dt));
	}
	if (!fits)
		return dnnq_diag_set(diag, DNNQ_E_DTYPE, "%s %u-bit values do not fit dtype %s",
		                     qp->is_signed ? "signed" : "unsigned", p, dnnq_dtype_name(dt));
	int32_t lo = dnnq_qmin(p, qp->is_signed), hi = dnnq_qmax(p, qp->is_signed);
	if (qp->zero_point < lo || qp->zero_point > hi)
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "zero point %d: outside [%d, %d]",
		                     qp->zero_point, lo, hi);
	return DNNQ_OK;
}

int dnnq_choose_qparams(float min, float max, const struct dnnq_qspec *spec,
                        struct dnnq_qparams *out, struct dnnq_diag *diag)
{
	if (!spec || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "choose_qparams: NULL argument");
	unsigned p = spec->precision;
	if (p < 1 || p > DNNQ_MAX_PRECISION || (spec->reduce_range && p < 2))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "precision %u%s: must be 1..%d bits",
		                     p, spec->reduce_range ? " with reduced range" : "",
		                     DNNQ_MAX_PRECISION);
	p -= spec->reduce_range;
	if (!isfinite(min) || !isfinite(max) || min > max)
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "range [%g, %g]: must be finite and ordered",
		                     min, max);
	double lo = fmin(min, 0.0), hi = fmax(max, 0.0);
	enum dnnq_qscheme scheme = spec->scheme;
	if (scheme == DNNQ_QSCHEME_PRESERVE_SPARSITY)
		scheme = lo < 0 && hi > 0 ? DNNQ_QSCHEME_SYMMETRIC : DNNQ_QSCHEME_ASYMMETRIC;
	int32_t qmin = dnnq_qmin(p, spec->is_signed), qmax = dnnq_qmax(p, spec->is_signed);
	double scale;
	double zp;
	switch (scheme) {
	case DNNQ_QSCHEME_SYMMETRIC: {
		if (p < 2)
			return dnnq_diag_set(diag, DNNQ_E_INVAL, "symmetric quantization needs >= 2 bits");
		double a = fmax(-lo, hi);
		scale = a / (double)((1 << (p - 1)) - 1);
		zp = spec->is_signed ? 0 : (1 << (p - 1));
		break;
	}
	case DNNQ_QSCHEME_ASYMMETRIC:
		scale = (hi - lo) / (double)(qmax - qmin);
		zp = 0; /* set below, from the float scale */
		break;
	default:
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "scheme %d: unknown", (int)spec->scheme);
	}
	float s = scale == 0 ? 1.0f : (float)scale;
	if (!isfinite(s))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "range [%g, %g]: too wide for a float scale",
		                     min, max);
	if (s < FLT_MIN) /* keep 1/scale finite; the range only grows */
		s = FLT_MIN;
	if (scheme == DNNQ_QSCHEME_ASYMMETRIC) {
		zp = nearbyint((double)qmin - lo / s);
		zp = zp < qmin ? qmin : zp > qmax ? qmax : zp;
	}
	out->scale = s;
	out->zero_point = (int32_t)zp;
	out->precision = (uint8_t)p;
	out->is_signed = spec->is_signed;
	return DNNQ_OK;
}

void dnnq_minmax(const float *x, size_t n, float *min, float *max)
{
	float lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		lo = x[i] < lo ? x[i] : lo;   /* NaN compares false: skipped */
		hi = x[i] > hi ? x[i] : hi;
	}
	if (lo > hi)
		lo = hi = 0;
	*min = lo;
	*max = hi;
}

static int quant_k(const struct dnnq_qparams *qp, enum dnnq_dtype dt,
                   struct dnnq_quant_k *k)
{
	if (dt != DNNQ_DTYPE_U8 && dt != DNNQ_DTYPE_S8 && dt != DNNQ_DTYPE_S32)
		return DNNQ_E_DTYPE;
	int rc = dnnq_qparams_check(qp, dt, NULL);
	if (rc)
		return rc;
	k->scale = qp->scale;
	k->izp = qp->zero_point;
	k->zp = (float)qp->zero_point;
	k->qmin = (float)dnnq_qmin(qp->precision, qp->is_signed);
	k->qmax = (float)dnnq_qmax(qp->precision, qp->is_signed);
	return DNNQ_OK;
}

/* What dnnq_quantize and dnnq_dequantize check before their kernel runs:
 * the parameters, the buffers (src to dst, n values) and the ISA. */
static int quant_args(enum dnnq_isa isa, const void *src, const void *dst, enum dnnq_dtype dt,
                      size_t n, const struct dnnq_qparams *qp, struct dnnq_quant_k *k)
{
	int rc = quant_k(qp, dt, k);
	if (!rc && n && (!src || !dst))
		rc = DNNQ_E_INVAL;
	if (!rc && !dnnq_kernels(isa))
		rc = DNNQ_E_UNSUPPORTED;
	return rc;
}

int dnnq_quantize(enum dnnq_isa isa, const float *x, void *q, enum dnnq_dtype dt,
                  size_t n, const struct dnnq_qparams *qp)
{
	struct dnnq_quant_k k;
	int rc = quant_args(isa, x, q, dt, n, qp, &k);
	if (rc)
		return rc;
	dnnq_kernels_of(isa)->quantize(x, q, dt, n, &k);
	return DNNQ_OK;
}

int dnnq_dequantize(enum dnnq_isa isa, const void *q, enum dnnq_dtype dt,
                    float *x, size_t n, const struct dnnq_qparams *qp)
{
	struct dnnq_quant_k k;
	int rc = quant_args(isa, q, x, dt, n, qp, &k);
	if (rc)
		return rc;
	dnnq_kernels_of(isa)->dequantize(q, dt, x, n, &k);
	return DNNQ_OK;
}

void dnnq_quantize_scalar(const float *x, void *q, enum dnnq_dtype dt, size_t n,
                          const struct dnnq_quant_k *k)
{
	for (size_t i = 0; i < n; i++)
		dnnq_int_set(q, dt, i, dnnq_quantize_1(x[i], k->scale, k->zp, k->qmin, k->qmax));
}

void dnnq_dequantize_scalar(const void *q, enum dnnq_dtype dt, float *x, size_t n,
                            const struct dnnq_quant_k *k)
{
	for (size_t i = 0; i < n; i++)
		x[i] = dnnq_dequantize_1(dnnq_int_get(q, dt, i), k->izp, k->scale);
}

int dnnq_fixedpoint_from_real(double real, struct dnnq_fixedpoint *out)
{
	if (!out)
		return DNNQ_E_INVAL;
	if (!(real >= ldexp(1.0, -32)) || !(real < 1.0))
		return DNNQ_E_RANGE;
	int e;
	double m = frexp(real, &e);   /* real = m * 2^e, m in [0.5, 1) */
	int64_t q = (int64_t)nearbyint(ldexp(m, 31));
	if (q == (int64_t)1 << 31) {
		q >>= 1;
		e++;
	}
	if (e > 0 || -e > 31)
		return DNNQ_E_RANGE;
	out->multiplier = (int32_t)q;
	out->shift = -e;
	return DNNQ_OK;
}

int dnnq_requant_check(enum dnnq_dtype dt, size_t cols, const struct dnnq_requant *rq)
{
	if (!rq || (dt != DNNQ_DTYPE_U8 && dt != DNNQ_DTYPE_S8))
		return rq ? DNNQ_E_DTYPE : DNNQ_E_INVAL;
	if (rq->nchan != 1 && rq->nchan != cols)
		return DNNQ_E_SHAPE;
	int32_t lo = dt == DNNQ_DTYPE_U8 ? 0 : -128, hi = dt == DNNQ_DTYPE_U8 ? 255 : 127;
	if (rq->qmin < lo || rq->qmax > hi || rq->qmin > rq->qmax ||
	    rq->zero_point < lo || rq->zero_point > hi)
		return DNNQ_E_RANGE;
	for (size_t c = 0; c < rq->nchan; c++) {
		if (rq->kind == DNNQ_REQUANT_FLOAT) {
			if (!rq->fmult)
				return DNNQ_E_INVAL;
			if (!isfinite(rq->fmult[c]) || !(rq->fmult[c] > 0))
				return DNNQ_E_RANGE;
		} else if (rq->kind == DNNQ_REQUANT_FIXED) {
			if (!rq->qmult || !rq->qshift)
				return DNNQ_E_INVAL;
			if (rq->qmult[c] < (1 << 30) || rq->qshift[c] < 0 || rq->qshift[c] > 31)
				return DNNQ_E_RANGE;
		} else {
			return DNNQ_E_INVAL;
		}
	}
	return DNNQ_OK;
}

int dnnq_requantize(enum dnnq_isa isa, const int32_t *acc, void *out,
                    enum dnnq_dtype dt, size_t rows, size_t cols,
                    const struct dnnq_requant *rq)
{
	size_t n;
	int rc = dnnq_requant_check(dt, cols, rq);
	if (!rc && !dnnq_mul_size(rows, cols, &n))
		rc = DNNQ_E_RANGE;
	if (!rc && n && (!acc || !out))
		rc = DNNQ_E_INVAL;
	if (!rc && !dnnq_kernels(isa))
		rc = DNNQ_E_UNSUPPORTED;
	if (rc)
		return rc;
	dnnq_kernels_of(isa)->requantize(acc, out, dt, rows, cols, rq);
	return DNNQ_OK;
}

void dnnq_requantize_scalar(const int32_t *acc, void *out, enum dnnq_dtype dt,
                            size_t rows, size_t cols, const struct dnnq_requant *rq)
{
	float zp = (float)rq->zero_point, qmin = (float)rq->qmin, qmax = (float)rq->qmax;
	for (size_t r = 0; r < rows; r++) {
		for (size_t c = 0; c < cols; c++) {
			size_t i = r * cols + c, ch = rq->nchan == 1 ? 0 : c;
			int32_t v = rq->kind == DNNQ_REQUANT_FLOAT
				? dnnq_requant_float_1(acc[i], rq->fmult[ch], zp, qmin, qmax)
				: dnnq_requant_fixed_1(acc[i], rq->qmult[ch], rq->qshift[ch],
				                       rq->zero_point, rq->qmin, rq->qmax);
			dnnq_int_set(out, dt, i, v);
		}
	}
}
