/*
 * Fully connected operator (fc.h). create checks the description and packs
 * the weights; the output pipeline (qlinear.h) depends on the activation
 * scale, so static mode binds it once at create and dynamic mode again in
 * each run (n multiplies, next to n * k * batch for the GEMM).
 */
#include <stdlib.h>
#include <string.h>

#include "engine/fc.h"
#include "engine/gemm-kernels.h"
#include "engine/qlinear.h"
#include "engine/wcache.h"

enum { WCACHE_FC = 3, WCACHE_FC_ACC16 = 4 };   /* beside conv.c's 1, 2 and 9 */

struct dnnq_fc {
	struct dnnq_fc_desc d;        /* pointer fields are not kept */
	struct dnnq_gemm_weights w;
	struct dnnq_qlinear q;
	struct dnnq_qparams in_qp;
	size_t batch;
	const void *in;
	void *y;
	bool borrowed;                /* w's arrays: the cache's (engine/wcache.h) */
	uint8_t *qin;                 /* quantized f32 input, batch x k */
	size_t qin_cap;
	struct dnnq_gemm_job job;     /* kept from run to run (dnnq_gemm_run_kept) */
};

static int check_input(const struct dnnq_fc_desc *d, struct dnnq_diag *diag)
{
	if (!d->w)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fc: weights missing");
	if (d->n == 0 || d->k == 0)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "fc: n = %zu, k = %zu: must be > 0", d->n, d->k);
	if (d->in_dtype != DNNQ_DTYPE_U8 && d->in_dtype != DNNQ_DTYPE_F32)
		return dnnq_diag_set(diag, DNNQ_E_DTYPE, "fc: input dtype %s: need u8 or f32",
		                     dnnq_dtype_name(d->in_dtype));
	if (d->dynamic && d->in_dtype != DNNQ_DTYPE_F32)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fc: dynamic quantization needs f32 input");
	if (d->dynamic && d->bias_i32)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fc: an int32 bias needs a static input scale");
	struct dnnq_diag qd;
	if (!d->dynamic && dnnq_qparams_check(&d->in_qp, DNNQ_DTYPE_U8, &qd))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "fc: input qparams: %s", qd.msg);
	return DNNQ_OK;
}

/* The packed weights: borrowed from the cache when it has this node's, else
 * packed here and, when there is a cache, handed to it. */
static int get_weights(struct dnnq_fc *fc, struct dnnq_diag *diag)
{
	const struct dnnq_fc_desc *d = &fc->d;
	int kind = d->acc16 ? WCACHE_FC_ACC16 : WCACHE_FC;
	const struct dnnq_wcache_entry *e =
		dnnq_weights_cache_find(d->cache, d->cache_key, kind, d->isa, d->n, d->k);
	if (e) {
		fc->w = e->gw[0];
		fc->borrowed = true;
		return DNNQ_OK;
	}
	int rc = d->acc16 ? dnnq_gemm_pack_acc16(d->isa, d->w, d->n, d->k, d->k, &d->acc16_opts,
	                                         &fc->w, diag)
	                  : dnnq_gemm_pack(d->isa, d->w, d->n, d->k, d->k, &fc->w, diag);
	struct dnnq_gemm_weights *gw = rc || !d->cache ? NULL : malloc(sizeof *gw);
	if (!gw)
		return rc;
	*gw = fc->w;
	struct dnnq_wcache_entry add = { .key = d->cache_key, .kind = kind, .isa = d->isa,
	                                 .n = d->n, .k = d->k, .gw = gw, .ngw = 1 };
	/* no room: kept private, which is only the memory this saves */
	fc->borrowed = !dnnq_weights_cache_add(d->cache, &add);
	if (fc->borrowed)
		fc->w = *gw;    /* its panels moved into the cache's arena */
	else
		free(gw);
	return DNNQ_OK;
}

int dnnq_fc_create(const struct dnnq_fc_desc *d, struct dnnq_fc **out, struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "fc: NULL argument");
	*out = NULL;
	int rc = check_input(d, diag);
	if (rc)
		return rc;
	struct dnnq_fc *fc = calloc(1, sizeof *fc);
	if (!fc)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "fc: out of memory");
	fc->d = *d;
	const struct dnnq_qlinear_desc qd = {
		"fc", d->n, d->nwq, d->w_scale, d->w_zero_point, d->bias, d->bias_i32,
		d->out_dtype, d->out_qp, d->requant, d->relu, d->clip, d->clip_min, d->clip_max,
	};
	if ((rc = dnnq_qlinear_init(&fc->q, &qd, diag)) || (rc = get_weights(fc, diag)))
		goto error;
	fc->d.cache = NULL;
	fc->d.cache_key = NULL;
	if ((rc = dnnq_qlinear_set_weight_sums(&fc->q, fc->w.row_sums, d->k))) {
		dnnq_diag_set(diag, rc, "fc: out of memory");
		goto error;
	}
	if (!d->dynamic) {
		fc->in_qp = d->in_qp;
		if ((rc = dnnq_qlinear_bind(&fc->q, &fc->in_qp, diag)))
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
			    (rc = dnnq_qlinear_bind(&fc->q, &fc->in_qp, NULL)))
				return rc;
		}
		rc = dnnq_quantize(d->isa, fc->in, fc->qin, DNNQ_DTYPE_U8, nin, &fc->in_qp);
		if (rc)
			return rc;
		a = fc->qin;
	}
	return dnnq_gemm_run_kept(&fc->job, &(struct dnnq_gemm_job){
		.w = &fc->w, .m = fc->batch, .a = a, .lda = d->k, .c = fc->y, .ldc = d->n,
		.out = &fc->q.out }, ex);
}

struct dnnq_qparams dnnq_fc_input_qparams(const struct dnnq_fc *fc)
{
	return fc->in_qp;
}

const struct dnnq_gemm_weights *dnnq_fc_weights(const struct dnnq_fc *fc)
{
	return &fc->w;
}

/* Row i of the reference. */
struct fc_ref_job {
	const struct dnnq_fc *fc;
	const float *x;
	float *y;
};

static void fc_ref_row(void *arg, size_t i, unsigned tid)
{
	(void)tid;
	const struct fc_ref_job *job = arg;
	const struct dnnq_fc *fc = job->fc;
	const struct dnnq_fc_desc *d = &fc->d;
	for (size_t j = 0; j < d->n; j++) {
		double s = dnnq_qlinear_bias(&fc->q, j, fc->in_qp.scale);
		for (size_t t = 0; t < d->k; t++)
			s += (double)job->x[i * d->k + t] *
			     dnnq_qlinear_weight(&fc->q, j, dnnq_gemm_weight(&fc->w, j, t));
		job->y[i * d->n + j] = dnnq_qlinear_activate(&fc->q.d, s);
	}
}

int dnnq_fc_reference(const struct dnnq_fc *fc, size_t batch, const float *x, float *y,
                      const struct dnnq_executor *ex)
{
	if (!fc || (batch && (!x || !y)))
		return DNNQ_E_INVAL;
	struct fc_ref_job job = { fc, x, y };
	dnnq_parallel_for(ex, batch, fc_ref_row, &job);
	return DNNQ_OK;
}

void dnnq_fc_destroy(struct dnnq_fc *fc)
{
	if (!fc)
		return;
	if (!fc->borrowed)
		dnnq_gemm_weights_free(&fc->w);
	dnnq_qlinear_free(&fc->q);
	free(fc->qin);
	free(fc);
}
