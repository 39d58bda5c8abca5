/*
 * The output pipeline shared by FC and convolution (qlinear.h): validation
 * of the weight quantization and bias, and the per-channel constants
 * (requantization multipliers, the bias at in_scale * w_scale).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/qlinear.h"

static void *dup(const void *p, size_t bytes)
{
	void *q = p ? malloc(bytes) : NULL;
	if (q)
		memcpy(q, p, bytes);
	return q;
}

static int check(const struct dnnq_qlinear_desc *d, struct dnnq_diag *diag)
{
	const char *op = d->op;
	if (!d->w_scale)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: weight scales missing", op);
	if (d->nwq != 1 && d->nwq != d->n)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "%s: %zu weight scales for %zu outputs: "
		                     "need 1 or %zu", op, d->nwq, d->n, d->n);
	for (size_t j = 0; j < d->nwq; j++) {
		if (!isfinite(d->w_scale[j]) || !(d->w_scale[j] > 0))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: w_scale[%zu] = %g: must be finite "
			                     "and positive", op, j, d->w_scale[j]);
		if (d->w_zero_point && (d->w_zero_point[j] < -128 || d->w_zero_point[j] > 127))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: w_zero_point[%zu] = %d: outside "
			                     "[-128, 127]", op, j, d->w_zero_point[j]);
	}
	if (d->bias && d->bias_i32)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: give a float or an int32 bias, not both", op);
	if (d->requant != DNNQ_REQUANT_FLOAT && d->requant != DNNQ_REQUANT_FIXED)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: requantization kind %d: unknown",
		                     op, (int)d->requant);
	if (d->clip && (!(d->clip_min <= d->clip_max) || d->out_dtype != DNNQ_DTYPE_U8))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: clip [%g, %g]: needs min <= max and a "
		                     "u8 output", op, d->clip_min, d->clip_max);
	struct dnnq_diag qd;
	switch (d->out_dtype) {
	case DNNQ_DTYPE_U8:
		if (dnnq_qparams_check(&d->out_qp, DNNQ_DTYPE_U8, &qd))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: output qparams: %s", op, qd.msg);
		return DNNQ_OK;
	case DNNQ_DTYPE_F32:
		return DNNQ_OK;
	case DNNQ_DTYPE_S32:
		if (d->relu)
			return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: ReLU needs a u8 or f32 output", op);
		return DNNQ_OK;
	default:
		return dnnq_diag_set(diag, DNNQ_E_DTYPE, "%s: output dtype %s: need u8, s32 or f32",
		                     op, dnnq_dtype_name(d->out_dtype));
	}
}

int dnnq_qlinear_init(struct dnnq_qlinear *q, const struct dnnq_qlinear_desc *d,
                      struct dnnq_diag *diag)
{
	memset(q, 0, sizeof *q);
	int rc = check(d, diag);
	if (rc)
		return rc;
	size_t n = d->n;
	q->d = *d;
	q->w_scale = dup(d->w_scale, d->nwq * sizeof(float));
	q->w_zp = dup(d->w_zero_point, d->nwq * sizeof(int32_t));
	q->bias = dup(d->bias, n * sizeof(float));
	q->bias_i32 = dup(d->bias_i32, n * sizeof(int32_t));
	q->ibias = malloc(n * sizeof(int32_t));
	q->fmult = malloc(n * sizeof(float));
	q->oscale = malloc(n * sizeof(float));
	q->qmult = malloc(n * sizeof(int32_t));
	q->qshift = malloc(n * sizeof(int32_t));
	if (!q->w_scale || (d->w_zero_point && !q->w_zp) || (d->bias && !q->bias) ||
	    (d->bias_i32 && !q->bias_i32) || !q->ibias || !q->fmult || !q->oscale ||
	    !q->qmult || !q->qshift) {
		dnnq_qlinear_free(q);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", d->op);
	}
	q->d.w_scale = q->w_scale;
	q->d.w_zero_point = q->w_zp;
	q->d.bias = q->bias;
	q->d.bias_i32 = q->bias_i32;
	struct dnnq_gemm_output *o = &q->out;
	o->nwzp = q->w_zp ? d->nwq : 0;
	o->w_zero_points = q->w_zp;
	o->dtype = d->out_dtype;
	o->nscale = d->nwq;
	o->scale = q->oscale;
	o->relu = d->relu;
	o->rq = (struct dnnq_requant){
		.kind = d->requant, .nchan = d->nwq, .fmult = q->fmult, .qmult = q->qmult,
		.qshift = q->qshift, .zero_point = d->out_qp.zero_point,
		.qmin = dnnq_qmin(d->out_qp.precision, false),
		.qmax = dnnq_qmax(d->out_qp.precision, false),
	};
	if (d->relu && o->rq.qmin < d->out_qp.zero_point)
		o->rq.qmin = d->out_qp.zero_point;
	if (d->clip) {
		/* the clip bounds as output levels (they saturate like any value) */
		struct dnnq_qparams qp = d->out_qp;
		uint8_t lo, hi;
		dnnq_quantize(DNNQ_ISA_SCALAR, &d->clip_min, &lo, DNNQ_DTYPE_U8, 1, &qp);
		dnnq_quantize(DNNQ_ISA_SCALAR, &d->clip_max, &hi, DNNQ_DTYPE_U8, 1, &qp);
		o->rq.qmin = lo > o->rq.qmin ? lo : o->rq.qmin;
		o->rq.qmax = hi < o->rq.qmax ? hi : o->rq.qmax;
	}
	return DNNQ_OK;
}

/* Channel j's requantization constants for the product scale s. */
static int bind_channel(struct dnnq_qlinear *q, size_t j, double s, struct dnnq_diag *diag)
{
	q->oscale[j] = (float)s;
	if (q->d.out_dtype != DNNQ_DTYPE_U8)
		return DNNQ_OK;
	double m = s / q->d.out_qp.scale;
	struct dnnq_fixedpoint fp = { 0, 0 };
	if (q->d.requant == DNNQ_REQUANT_FIXED && dnnq_fixedpoint_from_real(m, &fp))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: requantization multiplier %g "
		                     "(channel %zu): fixed point needs [2^-32, 1)", q->d.op, m, j);
	/* checked here, not only when a run's output stage is: a model whose
	 * every run would fail is refused when it is built */
	if (!(isfinite((float)m) && (float)m > 0))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: requantization multiplier %g "
		                     "(channel %zu): not a positive finite float", q->d.op, m, j);
	q->fmult[j] = (float)m;
	q->qmult[j] = fp.multiplier;
	q->qshift[j] = fp.shift;
	return DNNQ_OK;
}

/* colterm[j] = bias[j] - za * wsum[j] + k * za * zw[j], in the wrapping
 * arithmetic of dnnq_gemm_correct (which it must reproduce exactly). */
static void fold_columns(struct dnnq_qlinear *q)
{
	uint32_t za = (uint32_t)q->out.a_zero_point;
	for (size_t j = 0; j < q->d.n; j++) {
		uint32_t zw = q->w_zp ? (uint32_t)q->w_zp[q->d.nwq == 1 ? 0 : j] : 0;
		uint32_t v = (q->out.bias ? (uint32_t)q->out.bias[j] : 0) - za * (uint32_t)q->wsum[j];
		q->colterm[j] = (int32_t)(v + zw * (uint32_t)q->k * za);
	}
	q->out.colterm = q->colterm;
}

int dnnq_qlinear_bind(struct dnnq_qlinear *q, const struct dnnq_qparams *in_qp,
                      struct dnnq_diag *diag)
{
	const struct dnnq_qlinear_desc *d = &q->d;
	/* integer outputs need the bias in the accumulator domain */
	bool int_bias = q->bias_i32 || (q->bias && d->out_dtype != DNNQ_DTYPE_F32);
	for (size_t j = 0; j < d->n; j++) {
		double s = (double)in_qp->scale * q->w_scale[d->nwq == 1 ? 0 : j];
		if (q->bias_i32) {
			q->ibias[j] = q->bias_i32[j];
		} else if (int_bias) {
			if (!dnnq_qlinear_bias_fits(q->bias[j], s))
				return dnnq_diag_set(diag, DNNQ_E_RANGE,
				                     "%s: bias[%zu] = %g: too large for int32 at scale %g",
				                     d->op, j, q->bias[j], s);
			q->ibias[j] = (int32_t)nearbyint(q->bias[j] / s);
		}
		int rc = j < d->nwq ? bind_channel(q, j, s, diag) : DNNQ_OK;
		if (rc)
			return rc;
	}
	q->out.bias = int_bias ? q->ibias : NULL;
	q->out.fbias = !int_bias && q->bias ? q->bias : NULL;
	q->out.a_zero_point = in_qp->zero_point;
	if (q->wsum)
		fold_columns(q);
	/* once here, so that no run's GEMM need (dnnq_gemm_run) */
	int rc = dnnq_gemm_output_check(d->n, &q->out);
	return rc ? dnnq_diag_set(diag, rc, "%s: output stage of %zu channels: %s", d->op, d->n,
	                          dnnq_strerror(rc))
	          : DNNQ_OK;
}

int dnnq_qlinear_set_weight_sums(struct dnnq_qlinear *q, const int32_t *wsum, size_t k)
{
	if (!q->wsum && !(q->wsum = malloc(q->d.n * sizeof *q->wsum)))
		return DNNQ_E_NOMEM;
	if (!q->colterm && !(q->colterm = malloc(q->d.n * sizeof *q->colterm)))
		return DNNQ_E_NOMEM;
	memcpy(q->wsum, wsum, q->d.n * sizeof *wsum);
	q->k = k;
	return DNNQ_OK;
}

struct dnnq_gemm_output dnnq_qlinear_slice(const struct dnnq_qlinear *q, size_t j0,
                                           size_t count)
{
	struct dnnq_gemm_output o = q->out;
	bool per_ch = q->d.nwq != 1;
	if (o.bias)
		o.bias += j0;
	if (o.colterm)
		o.colterm += j0;
	if (o.fbias)
		o.fbias += j0;
	if (per_ch) {
		if (o.w_zero_points)
			o.w_zero_points += j0;
		o.nwzp = o.w_zero_points ? count : 0;
		o.nscale = count;
		o.rq.nchan = count;
		o.scale += j0;
		o.rq.fmult += j0;
		o.rq.qmult += j0;
		o.rq.qshift += j0;
	}
	return o;
}

float dnnq_qlinear_activate(const struct dnnq_qlinear_desc *d, double v)
{
	if (d->relu && v < 0)
		v = 0;
	if (d->clip)
		v = v < d->clip_min ? d->clip_min : v > d->clip_max ? d->clip_max : v;
	return (float)v;
}

float dnnq_qlinear_weight(const struct dnnq_qlinear *q, size_t j, int8_t v)
{
	size_t c = q->d.nwq == 1 ? 0 : j;
	return q->w_scale[c] * (float)(v - (q->w_zp ? q->w_zp[c] : 0));
}

float dnnq_qlinear_bias(const struct dnnq_qlinear *q, size_t j, float in_scale)
{
	if (q->bias)
		return q->bias[j];
	if (q->bias_i32)
		return (float)((double)q->bias_i32[j] * in_scale * q->w_scale[q->d.nwq == 1 ? 0 : j]);
	return 0;
}

void dnnq_qlinear_free(struct dnnq_qlinear *q)
{
	free(q->w_scale);
	free(q->w_zp);
	free(q->bias);
	free(q->bias_i32);
	free(q->ibias);
	free(q->fmult);
	free(q->oscale);
	free(q->qmult);
	free(q->qshift);
	free(q->wsum);
	free(q->colterm);
	memset(q, 0, sizeof *q);
}
