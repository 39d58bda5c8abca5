/*
 * onnx/calib.c — calibration of an imported model (onnx/calib.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph.h"
#include "onnx/calib.h"

static size_t output_numel(const struct dnnq_ir *ir, size_t k, size_t n)
{
	return dnnq_ir_numel(&ir->values[ir->outputs[k]], n);
}

int dnnq_onnx_calib_init(struct dnnq_onnx_calib *c, const struct dnnq_ir *ir, uint32_t nbins,
                         struct dnnq_diag *diag)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < ir->ninputs + ir->noutputs; i++) {
		bool in = i < ir->ninputs;
		const struct dnnq_ir_value *v = &ir->values[in ? ir->inputs[i]
		                                               : ir->outputs[i - ir->ninputs]];
		if (v->dtype != DNNQ_IR_F32 || !v->batched)
			return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "calibration: %s '%s' is %s%s;"
			                     " calibration needs batched float32 inputs and outputs",
			                     in ? "input" : "output", v->name, dnnq_ir_dtype_name(v->dtype),
			                     v->batched ? "" : " without a batch");
	}
	c->ir = ir;
	size_t nio = ir->ninputs + ir->noutputs + 1;
	c->hist = calloc(ir->nvalues + 1, sizeof *c->hist);
	c->x = calloc(nio, sizeof *c->x);
	c->x_numel = calloc(nio, sizeof *c->x_numel);
	c->ref = calloc(nio, sizeof *c->ref);
	c->cache = calloc((ir->nvalues + 1) * DNNQ_CALIB_METHOD_COUNT, sizeof *c->cache);
	c->cached = calloc((ir->nvalues + 1) * DNNQ_CALIB_METHOD_COUNT, 1);
	if (!c->hist || !c->x || !c->x_numel || !c->ref || !c->cache || !c->cached) {
		dnnq_onnx_calib_free(c);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "calibration: out of memory");
	}
	for (size_t i = 0; i < ir->ninputs; i++)
		c->x_numel[i] = dnnq_ir_numel(&ir->values[ir->inputs[i]], 1);
	for (size_t v = 0; v < ir->nvalues; v++) {
		const struct dnnq_ir_value *val = &ir->values[v];
		if (val->dtype != DNNQ_IR_F32 || val->data)
			continue;
		int rc = dnnq_hist_init(&c->hist[v], nbins, diag);
		if (rc) {
			dnnq_onnx_calib_free(c);
			return rc;
		}
	}
	return DNNQ_OK;
}

void dnnq_onnx_calib_free(struct dnnq_onnx_calib *c)
{
	if (c->hist)
		for (size_t v = 0; v < c->ir->nvalues; v++)
			dnnq_hist_destroy(&c->hist[v]);
	for (size_t k = 0; c->ref && k < c->ir->noutputs; k++)
		free(c->ref[k]);
	for (size_t i = 0; c->x && i < c->ir->ninputs; i++)
		free(c->x[i]);
	free(c->hist);
	free(c->ref);
	free(c->x);
	free(c->x_numel);
	free(c->cache);
	free(c->cached);
	memset(c, 0, sizeof *c);
}

static int observe(void *ctx, const struct dnnq_ir *ir, int32_t value, const void *data,
                   size_t numel)
{
	struct dnnq_onnx_calib *c = ctx;
	(void)ir;
	if (!c->hist[value].counts)
		return 0;
	return dnnq_hist_add(&c->hist[value], data, numel);
}

/* Grows *p to hold n floats. */
static int grow(float **p, size_t n)
{
	float *q = realloc(*p, n * sizeof *q);
	if (!q)
		return DNNQ_E_NOMEM;
	*p = q;
	return 0;
}

int dnnq_onnx_calib_add(struct dnnq_onnx_calib *c, const float *const *x, size_t n,
                        struct dnnq_diag *diag)
{
	const struct dnnq_ir *ir = c->ir;
	size_t total = c->samples + n;
	if (n == 0)
		return DNNQ_OK;
	for (size_t i = 0; i < ir->ninputs; i++) {
		size_t per = c->x_numel[i];
		if (total > SIZE_MAX / sizeof(float) / (per ? per : 1) || grow(&c->x[i], total * per))
			return dnnq_diag_set(diag, DNNQ_E_NOMEM, "calibration: %zu samples do not fit",
			                     total);
		memcpy(c->x[i] + c->samples * per, x[i], n * per * sizeof **x);
		int rc = observe(c, ir, ir->inputs[i], x[i], n * per);
		if (rc)
			return rc;
	}
	void **outs = calloc(ir->noutputs + 1, sizeof *outs);
	if (!outs)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "calibration: out of memory");
	for (size_t k = 0; k < ir->noutputs; k++) {
		if (grow(&c->ref[k], output_numel(ir, k, total))) {
			free(outs);
			return dnnq_diag_set(diag, DNNQ_E_NOMEM, "calibration: out of memory");
		}
		outs[k] = c->ref[k] + output_numel(ir, k, c->samples);
	}
	int rc = dnnq_ir_run(ir, n, (const void *const *)x, outs, observe, c, diag);
	free(outs);
	if (rc)
		return rc;
	c->samples = total;
	return DNNQ_OK;
}

void dnnq_onnx_calib_methods(const struct dnnq_onnx_calib *c, enum dnnq_calib_method m,
                             enum dnnq_calib_method *method)
{
	for (size_t v = 0; v < c->ir->nvalues; v++)
		method[v] = m;
	for (size_t k = 0; k < c->ir->noutputs; k++)
		method[c->ir->outputs[k]] = DNNQ_CALIB_MINMAX;
}

int dnnq_onnx_calib_qparams(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *o,
                            const enum dnnq_calib_method *method, struct dnnq_qparams *qp,
                            bool *has, struct dnnq_diag *diag)
{
	struct dnnq_calib_opts key = *o, *k = &c->cache_opts;
	key.method = DNNQ_CALIB_MINMAX;
	if (key.spec.scheme != k->spec.scheme || key.spec.precision != k->spec.precision ||
	    key.spec.is_signed != k->spec.is_signed ||
	    key.spec.reduce_range != k->spec.reduce_range || key.percentile != k->percentile) {
		memset(c->cached, 0, c->ir->nvalues * DNNQ_CALIB_METHOD_COUNT);
		c->cache_opts = key;
	}
	for (size_t v = 0; v < c->ir->nvalues; v++) {
		has[v] = false;
		const struct dnnq_hist *h = &c->hist[v];
		if (!h->counts || h->nfinite == 0)
			continue;
		if ((unsigned)method[v] >= DNNQ_CALIB_METHOD_COUNT)
			return dnnq_diag_set(diag, DNNQ_E_INVAL, "value '%s': method %d",
			                     c->ir->values[v].name, (int)method[v]);
		size_t at = v * DNNQ_CALIB_METHOD_COUNT + method[v];
		if (!c->cached[at]) {
			struct dnnq_calib_opts vo = key;
			vo.method = method[v];
			struct dnnq_diag why = { "" };
			int rc = dnnq_calib_qparams(h, &vo, &c->cache[at], NULL, NULL, &why);
			if (rc)
				return dnnq_diag_set(diag, rc, "value '%s': %s", c->ir->values[v].name,
				                     why.msg);
			c->cached[at] = 1;
		}
		qp[v] = c->cache[at];
		has[v] = true;
	}
	return DNNQ_OK;
}

int dnnq_onnx_calib_lower(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *o,
                          const enum dnnq_calib_method *method,
                          const struct dnnq_lower_opts *lo, struct dnnq_model *m,
                          struct dnnq_diag *diag)
{
	size_t nv = c->ir->nvalues;
	struct dnnq_qparams *qp = calloc(nv ? nv : 1, sizeof *qp);
	bool *has = calloc(nv ? nv : 1, sizeof *has);
	int rc = !qp || !has ? dnnq_diag_set(diag, DNNQ_E_NOMEM, "calibration: out of memory")
	                     : dnnq_onnx_calib_qparams(c, o, method, qp, has, diag);
	if (!rc)
		rc = dnnq_onnx_lower(c->ir, lo, qp, has, m, diag);
	free(qp);
	free(has);
	return rc;
}

int dnnq_onnx_eval(const struct dnnq_onnx_calib *c, const struct dnnq_model *m,
                   const struct dnnq_executor *ex, double *sqnr_db, struct dnnq_diag *diag)
{
	const struct dnnq_ir *ir = c->ir;
	struct dnnq_graph *g = NULL;
	if (c->samples == 0)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "evaluation: no calibration samples");
	int rc = dnnq_model_build(m, dnnq_isa_best(), &g, diag);
	if (!rc)
		rc = dnnq_graph_plan(g, c->samples, dnnq_executor_threads(ex), diag);
	size_t nout = rc ? 0 : dnnq_graph_num_outputs(g);
	if (!rc && nout != ir->noutputs)
		rc = dnnq_diag_set(diag, DNNQ_E_SHAPE, "evaluation: the model has %zu outputs,"
		                   " the ONNX graph %zu", nout, ir->noutputs);
	float **y = rc ? NULL : calloc(nout ? nout : 1, sizeof *y);
	if (!rc && !y)
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "evaluation: out of memory");
	for (size_t k = 0; !rc && k < nout; k++) {
		struct dnnq_tensor_info ti;
		dnnq_graph_output_info(g, k, &ti);
		if (ti.dtype != DNNQ_DTYPE_F32 || ti.bytes != output_numel(ir, k, c->samples) * 4)
			rc = dnnq_diag_set(diag, DNNQ_E_SHAPE, "evaluation: output '%s' is not the"
			                   " ONNX output's float32 shape", ti.name);
		else if (!(y[k] = malloc(ti.bytes)))
			rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "evaluation: out of memory");
	}
	if (!rc) {
		rc = dnnq_graph_run(g, (const void *const *)c->x, (void *const *)y, ex);
		if (rc)
			dnnq_diag_set(diag, rc, "evaluation: the model failed to run");
	}
	if (!rc) {
		double sig = 0, noise = 0;
		for (size_t k = 0; k < nout; k++)
			for (size_t i = 0, n = output_numel(ir, k, c->samples); i < n; i++) {
				double r = c->ref[k][i], d = r - y[k][i];
				sig += r * r;
				noise += d * d;
			}
		*sqnr_db = noise > 0 ? 10 * log10(sig / noise) : INFINITY;
	}
	for (size_t k = 0; y && k < nout; k++)
		free(y[k]);
	free(y);
	dnnq_graph_destroy(g);
	return rc;
}

/* Lowered with method[], evaluated. */
static int trial(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *o,
                 const enum dnnq_calib_method *method, const struct dnnq_lower_opts *lo,
                 const struct dnnq_executor *ex, double *sqnr_db, struct dnnq_diag *diag)
{
	struct dnnq_model m;
	int rc = dnnq_onnx_calib_lower(c, o, method, lo, &m, diag);
	if (rc)
		return rc;
	rc = dnnq_onnx_eval(c, &m, ex, sqnr_db, diag);
	dnnq_model_free(&m);
	return rc;
}

int dnnq_onnx_calib_auto(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *o,
                         const struct dnnq_lower_opts *lo, const struct dnnq_executor *ex,
                         enum dnnq_calib_method *method, double *sqnr_db,
                         void (*progress)(void *ctx, size_t done, size_t total), void *ctx,
                         struct dnnq_diag *diag)
{
	size_t nv = c->ir->nvalues, observed = 0, done = 0;
	for (size_t v = 0; v < nv; v++)
		observed += c->hist[v].counts != NULL;
	size_t total = 1 + observed * (DNNQ_CALIB_METHOD_COUNT - 1);
	double best;
	int rc = trial(c, o, method, lo, ex, &best, diag);
	if (progress)
		progress(ctx, ++done, total);
	for (size_t v = 0; !rc && v < nv; v++) {
		if (!c->hist[v].counts)
			continue;
		enum dnnq_calib_method keep = method[v];
		for (int m = 0; !rc && m < DNNQ_CALIB_METHOD_COUNT; m++) {
			if ((enum dnnq_calib_method)m == keep)
				continue;
			double s;
			method[v] = (enum dnnq_calib_method)m;
			rc = trial(c, o, method, lo, ex, &s, diag);
			if (!rc && s > best) {
				best = s;
				keep = method[v];
			}
			if (progress)
				progress(ctx, ++done, total);
		}
		method[v] = keep;
	}
	if (!rc)
		*sqnr_db = best;
	return rc;
}
