/*
 * Fully connected operator (fc.h). create checks the description and packs
 * the weights; the output pipeline's per-channel constants depend on the
 * activation scale, so static mode computes them once at create and dynamic
 * mode again in each run (n multiplies, next to n * k * batch for the GEMM).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fc.h"

struct dnnq_fc {
	struct dnnq_fc_desc d;        /* pointer fields are not kept */
	struct dnnq_gemm_weights w;
	float *w_scale;               /* nwq */
	int32_t *w_zp;                /* nwq, or NULL */
	float *bias;                  /* n, or NULL */
	int32_t *bias_i32;            /* n, or NULL: the caller's */
	int32_t *ibias;               /* n: the bias in the accumulator domain */
	float *fmult, *oscale;        /* n each */
	int32_t *qmult, *qshift;      /* n each */
	struct dnnq_gemm_output out;
	struct dnnq_qparams in_qp;
	size_t batch;
	const void *in;
	void *y;
	uint8_t *qin;                 /* quantized f32 input, batch x k */
	size_t qin_cap;
};

static void *dup(const void *p, size_t bytes)
{
	void *q = p ? malloc(bytes) : NULL;
	if (q)
		memcpy(q, p, bytes);
	return q;
}

/* The output pipeline's constants for activations with scale in_qp.scale. */
static int bind_scales(struct dnnq_fc *fc, struct dnnq_diag *diag)
{
	const struct dnnq_fc_desc *d = &fc->d;
	size_t nch = fc->d.nwq;
	float s_in = fc->in_qp.scale;
	struct dnnq_gemm_output *o = &fc->out;
	bool int_bias = d->out_dtype != DNNQ_DTYPE_F32 || fc->bias_i32;
	o->bias = NULL;
	o->fbias = NULL;
	for (size_t j = 0; j < d->n; j++) {
		double s = (double)s_in * fc->w_scale[nch == 1 ? 0 : j];
		if (fc->bias_i32) {
			fc->ibias[j] = fc->bias_i32[j];
		} else if (fc->bias && int_bias) {
			double b = nearbyint(fc->bias[j] / s);
			if (!(fabs(b) <= 2147483647.0))
				return dnnq_diag_set(diag, DNNQ_E_RANGE,
				                     "fc: bias[%zu] = %g: too large for int32 at scale %g",
				                     j, fc->bias[j], s);
			fc->ibias[j] = (int32_t)b;
		}
		if (j >= nch)
			continue;
		fc->oscale[j] = (float)s;
		if (d->out_dtype != DNNQ_DTYPE_U8)
			continue;
		double m = s / d->out_qp.scale;
		fc->fmult[j] = (float)m;
		struct dnnq_fixedpoint fp = { 0, 0 };
		if (d->requant == DNNQ_REQUANT_FIXED && dnnq_fixedpoint_from_real(m, &fp))
			return dnnq_diag_set(diag, DNNQ_E_RANGE,
			                     "fc: requantization multiplier %g (channel %zu): "
			                     "fixed point needs [2^-32, 1)", m, j);
		fc->qmult[j] = fp.multiplier;
		fc->qshift[j] = fp.shift;
	}
	if (fc->bias_i32 || (fc->bias && int_bias))
		o->bias = fc->ibias;
	else if (fc->bias)
		o->fbias = fc->bias;
	o->a_zero_point = fc->in_qp.zero_point;
	return DNNQ_OK;
}

static int check_desc(const struct dnnq_fc_desc *d, struct dnnq_diag *diag)
{
	if (!d->w || !d->w_scale)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fc: weights or their scales missing");
	if (d->n == 0 || d->k == 0)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "fc: n = %zu, k = %zu: must be > 0", d->n, d->k);
	if (d->nwq != 1 && d->nwq != d->n)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "fc: %zu weight scales for %zu outputs: "
		                     "need 1 or %zu", d->nwq, d->n, d->n);
	for (size_t j = 0; j < d->nwq; j++) {
		if (!isfinite(d->w_scale[j]) || !(d->w_scale[j] > 0))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "fc: w_scale[%zu] = %g: must be finite "
			                     "and positive", j, d->w_scale[j]);
		if (d->w_zero_point && (d->w_zero_point[j] < -128 || d->w_zero_point[j] > 127))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "fc: w_zero_point[%zu] = %d: outside "
			                     "[-128, 127]", j, d->w_zero_point[j]);
	}
	if (d->in_dtype != DNNQ_DTYPE_U8 && d->in_dtype != DNNQ_DTYPE_F32)
		return dnnq_diag_set(diag, DNNQ_E_DTYPE, "fc: input dtype %s: need u8 or f32",
		                     dnnq_dtype_name(d->in_dtype));
	if (d->dynamic && d->in_dtype != DNNQ_DTYPE_F32)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fc: dynamic quantization needs f32 input");
	struct dnnq_diag qd;
	if (!d->dynamic && dnnq_qparams_check(&d->in_qp, DNNQ_DTYPE_U8, &qd))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "fc: input qparams: %s", qd.msg);
	if (d->bias && d->bias_i32)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fc: give a float or an int32 bias, not both");
	if (d->bias_i32 && d->dynamic)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fc: an int32 bias needs a static input scale");
	if (d->requant != DNNQ_REQUANT_FLOAT && d->requant != DNNQ_REQUANT_FIXED)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fc: requantization kind %d: unknown",
		                     (int)d->requant);
	switch (d->out_dtype) {
	case DNNQ_DTYPE_U8:
		if (dnnq_qparams_check(&d->out_qp, DNNQ_DTYPE_U8, &qd))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "fc: output qparams: %s", qd.msg);
		return DNNQ_OK;
	case DNNQ_DTYPE_F32:
		return DNNQ_OK;
	case DNNQ_DTYPE_S32:
		if (d->relu)
			return dnnq_diag_set(diag, DNNQ_E_INVAL, "fc: ReLU needs a u8 or f32 output");
		return DNNQ_OK;
	default:
		return dnnq_diag_set(diag, DNNQ_E_DTYPE, "fc: output dtype %s: need u8, s32 or f32",
		                     dnnq_dtype_name(d->out_dtype));
	}
}

int dnnq_fc_create(const struct dnnq_fc_desc *d, struct dnnq_fc **out, struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fc: NULL argument");
	*out = NULL;
	int rc = check_desc(d, diag);
	if (rc)
		return rc;
	struct dnnq_fc *fc = calloc(1, sizeof *fc);
	if (!fc)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "fc: out of memory");
	fc->d = *d;
	size_t n = d->n;
	fc->w_scale = dup(d->w_scale, d->nwq * sizeof(float));
	fc->w_zp = dup(d->w_zero_point, d->nwq * sizeof(int32_t));
	fc->bias = dup(d->bias, n * sizeof(float));
	fc->bias_i32 = dup(d->bias_i32, n * sizeof(int32_t));
	fc->ibias = malloc(n * sizeof(int32_t));
	fc->fmult = malloc(n * sizeof(float));
	fc->oscale = malloc(n * sizeof(float));
	fc->qmult = malloc(n * sizeof(int32_t));
	fc->qshift = malloc(n * sizeof(int32_t));
	if (!fc->w_scale || (d->w_zero_point && !fc->w_zp) || (d->bias && !fc->bias) ||
	    (d->bias_i32 && !fc->bias_i32) || !fc->ibias || !fc->fmult || !fc->oscale ||
	    !fc->qmult || !fc->qshift) {
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "fc: out of memory");
		goto error;
	}
	if ((rc = dnnq_gemm_pack(d->isa, d->w, n, d->k, d->k, &fc->w, diag)))
		goto error;
	struct dnnq_gemm_output *o = &fc->out;
	o->nwzp = fc->w_zp ? d->nwq : 0;
	o->w_zero_points = fc->w_zp;
	o->dtype = d->out_dtype;
	o->nscale = d->nwq;
	o->scale = fc->oscale;
	o->relu = d->relu;
	o->rq = (struct dnnq_requant){
		.kind = d->requant, .nchan = d->nwq, .fmult = fc->fmult, .qmult = fc->qmult,
		.qshift = fc->qshift, .zero_point = d->out_qp.zero_point,
		.qmin = dnnq_qmin(d->out_qp.precision, false),
		.qmax = dnnq_qmax(d->out_qp.precision, false),
	};
	if (d->relu && o->rq.qmin < d->out_qp.zero_point)
		o->rq.qmin = d->out_qp.zero_point;
	if (!d->dynamic) {
		fc->in_qp = d->in_qp;
		if ((rc = bind_scales(fc, diag)))
			goto error;
	}
	*out = fc;
	return DNNQ_OK;
error:
	dnnq_fc_destroy(fc);
	return rc;
}

int dnnq_fc_setup(struct dnnq_fc *fc, size_t batch, const void *in, void *out)
{
	if (!fc || (batch && (!in || !out)))
		return DNNQ_E_INVAL;
	size_t need;
	if (!dnnq_mul_size(batch, fc->d.k, &need))
		return DNNQ_E_RANGE;
	if (fc->d.in_dtype == DNNQ_DTYPE_F32 && need > fc->qin_cap) {
		uint8_t *p = dnnq_aligned_alloc(need);
		if (!p)
			return DNNQ_E_NOMEM;
		free(fc->qin);
		fc->qin = p;
		fc->qin_cap = need;
	}
	fc->batch = batch;
	fc->in = in;
	fc->y = out;
	return DNNQ_OK;
}

int dnnq_fc_run(struct dnnq_fc *fc, const struct dnnq_executor *ex)
{
	if (!fc)
		return DNNQ_E_INVAL;
	const struct dnnq_fc_desc *d = &fc->d;
	size_t nin = fc->batch * d->k;
	const uint8_t *a = fc->in;
	int rc;
	if (d->in_dtype == DNNQ_DTYPE_F32) {
		if (d->dynamic) {
			static const struct dnnq_qspec spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false };
			float lo, hi;
			dnnq_minmax(fc->in, nin, &lo, &hi);
			if ((rc = dnnq_choose_qparams(lo, hi, &spec, &fc->in_qp, NULL)) ||
			    (rc = bind_scales(fc, NULL)))
				return rc;
		}
		rc = dnnq_quantize(d->isa, fc->in, fc->qin, DNNQ_DTYPE_U8, nin, &fc->in_qp);
		if (rc)
			return rc;
		a = fc->qin;
	}
	return dnnq_gemm(&fc->w, fc->batch, a, d->k, fc->y, d->n, &fc->out, ex);
}

struct dnnq_qparams dnnq_fc_input_qparams(const struct dnnq_fc *fc)
{
	return fc->in_qp;
}

const struct dnnq_gemm_weights *dnnq_fc_weights(const struct dnnq_fc *fc)
{
	return &fc->w;
}

void dnnq_fc_destroy(struct dnnq_fc *fc)
{
	if (!fc)
		return;
	dnnq_gemm_weights_free(&fc->w);
	free(fc->w_scale);
	free(fc->w_zp);
	free(fc->bias);
	free(fc->bias_i32);
	free(fc->ibias);
	free(fc->fmult);
	free(fc->oscale);
	free(fc->qmult);
	free(fc->qshift);
	free(fc->qin);
	free(fc);
}
