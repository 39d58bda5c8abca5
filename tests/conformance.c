/*
 * tests/conformance.c — a model through dnnq-convert's and dnnq-run's
 * library calls, against expected outputs (tests/conformance.h). Nothing
 * here asserts: every failure is a status and a message, so a runner of
 * hundreds of cases can list them all.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/calib.h"
#include "tests/conformance.h"

double conf_max_rel(const float *a, const float *b, size_t n)
{
	double big = 0, worst = 0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)a[i] - b[i]);
		if (isnan(e))           /* fmax would drop it */
			return NAN;
		big = fmax(big, fabs(b[i]));
		worst = fmax(worst, e);
	}
	return big > 0 ? worst / big : worst;
}

enum dnnq_dtype conf_dtype(enum dnnq_ir_dtype t)
{
	switch (t) {
	case DNNQ_IR_F32: return DNNQ_DTYPE_F32;
	case DNNQ_IR_U8:  return DNNQ_DTYPE_U8;
	case DNNQ_IR_S8:  return DNNQ_DTYPE_S8;
	case DNNQ_IR_S32: return DNNQ_DTYPE_S32;
	default:          return DNNQ_DTYPE_INVALID;
	}
}

static enum dnnq_isa conf_isa = DNNQ_ISA_COUNT;

void conf_set_isa(enum dnnq_isa isa)
{
	conf_isa = isa;
}

int conf_run_model(const struct dnnq_model *m, size_t batch, const void *const *in, void **out,
                   struct dnnq_tensor_info *info, struct dnnq_diag *d)
{
	struct dnnq_diag why = { "" };
	struct dnnq_model back;
	struct dnnq_graph *g = NULL;
	void *file;
	size_t len, nout = 0;
	int rc = dnnq_model_write(m, &file, &len, &why);
	if (rc)
		return dnnq_diag_set(d, rc, "write: %s", why.msg);
	rc = dnnq_model_read(file, len, &back, &why);
	free(file);
	if (rc)
		return dnnq_diag_set(d, rc, "read: %s", why.msg);
	rc = dnnq_model_build(&back, conf_isa < DNNQ_ISA_COUNT ? conf_isa : dnnq_isa_best(), &g,
	                      &why);
	dnnq_model_free(&back);
	if (rc)
		return dnnq_diag_set(d, rc, "build: %s", why.msg);
	if ((rc = dnnq_graph_plan(g, batch, 1, &why))) {
		dnnq_diag_set(d, rc, "plan at batch %zu: %s", batch, why.msg);
		goto out;
	}
	for (; nout < dnnq_graph_num_outputs(g); nout++) {
		dnnq_graph_output_info(g, nout, &info[nout]);
		if (!(out[nout] = malloc(info[nout].bytes ? info[nout].bytes : 1))) {
			rc = dnnq_diag_set(d, DNNQ_E_NOMEM, "out of memory");
			goto out;
		}
	}
	if ((rc = dnnq_graph_run(g, in, (void *const *)out, NULL)))
		dnnq_diag_set(d, rc, "run: %s", dnnq_strerror(rc));
out:
	if (rc)
		while (nout)
			free(out[--nout]);
	dnnq_graph_destroy(g);
	return rc;
}

/* A model's tensor of ndim dims (dims[0] 1) that an array of andim dims is
 * one batch item of: the import put a batch axis in front of the ONNX
 * dims (onnx/import-batch.c: a dim 0 the model fixes, not the batch). */
static bool lifted(uint32_t ndim, int64_t dim0, uint32_t andim)
{
	return ndim == andim + 1 && dim0 == 1;
}

/* The inputs against the model's: their dtypes and shapes; *batch. */
static int check_inputs(const struct dnnq_ir *ir, const struct dnnq_npy *in, size_t *batch,
                        struct dnnq_diag *d)
{
	bool known = false;             /* *batch: the first batched input's dims[0] */
	*batch = 1;
	for (size_t i = 0; i < ir->ninputs; i++) {
		const struct dnnq_ir_value *v = &ir->values[ir->inputs[i]];
		if (v->batched && ir->max_batch == 1 && lifted(v->ndim, v->dims[0], in[i].ndim)) {
			bool same = in[i].dtype == conf_dtype(v->dtype);
			for (uint32_t k = 0; k < in[i].ndim; k++)
				same &= in[i].shape[k] == (size_t)v->dims[k + 1];
			if (!same)
				return dnnq_diag_set(d, DNNQ_E_SHAPE, "input '%s': not the model's shape "
				                     "less its batch axis", v->name);
			known = true;
			continue;
		}
		if (in[i].dtype != conf_dtype(v->dtype) || in[i].ndim != v->ndim)
			return dnnq_diag_set(d, DNNQ_E_SHAPE, "input '%s': %s of %u dims given, the "
			                     "model's is %s of %u", v->name,
			                     dnnq_dtype_name(in[i].dtype), in[i].ndim,
			                     dnnq_ir_dtype_name(v->dtype), v->ndim);
		if (v->batched && !known) {
			*batch = in[i].shape[0];
			known = true;
		}
		for (uint32_t k = 0; k < v->ndim; k++) {
			size_t want = k == 0 && v->batched ? *batch : (size_t)v->dims[k];
			if (in[i].shape[k] != want)
				return dnnq_diag_set(d, DNNQ_E_SHAPE, "input '%s': dims[%u] is %zu, the "
				                     "model's %zu%s", v->name, k, in[i].shape[k], want,
				                     k == 0 ? " (dim 0 is the batch, the same for every "
				                     "input)" : "");
		}
	}
	return DNNQ_OK;
}

/* "2,3,4" */
static const char *shape_str(char *buf, size_t cap, const size_t *dims, unsigned n)
{
	size_t at = 0;
	buf[0] = '\0';
	for (unsigned j = 0; j < n && at < cap; j++)
		at += (size_t)snprintf(buf + at, cap - at, "%s%zu", j ? "," : "", dims[j]);
	return buf;
}

/* The outputs' shapes against want's, and their dtypes: want's (exact, or
 * an integer output of a float model: ArgMax's indices), or f32. */
static int check_outputs(const struct dnnq_tensor_info *info, size_t n, bool exact,
                         const struct dnnq_npy *want, struct dnnq_diag *d)
{
	for (size_t k = 0; k < n; k++) {
		const struct dnnq_tensor_info *o = &info[k];
		enum dnnq_dtype dt = exact || want[k].dtype == DNNQ_DTYPE_S32 ? want[k].dtype
		                                                              : DNNQ_DTYPE_F32;
		if (o->dtype != dt)
			return dnnq_diag_set(d, DNNQ_E_DTYPE, "output %zu is %s, expected %s", k,
			                     dnnq_dtype_name(o->dtype), dnnq_dtype_name(dt));
		size_t dims[DNNQ_MAX_DIMS];
		uint32_t lift = lifted(o->ndim, o->dims[0], want[k].ndim);
		bool same = o->ndim == want[k].ndim + lift;
		for (uint32_t j = 0; j < o->ndim; j++) {
			dims[j] = (size_t)o->dims[j];
			same &= j < lift || dims[j] == want[k].shape[j - lift];
		}
		if (!same) {
			char got[256], wants[256];
			return dnnq_diag_set(d, DNNQ_E_SHAPE, "output %zu has shape [%s], expected [%s]",
			                     k, shape_str(got, sizeof got, dims, o->ndim),
			                     shape_str(wants, sizeof wants, want[k].shape, want[k].ndim));
		}
	}
	return DNNQ_OK;
}

/* ir lowered once and run on in: exact, with the parameters the model
 * carries; else from c's ranges, every node fp32 when fp32. out[k]
 * gets the outputs (none left on failure); what names the pass in d. */
static int convert_run(const char *what, const struct dnnq_ir *ir, struct dnnq_onnx_calib *c,
                       bool fp32, size_t batch, const struct dnnq_npy *in,
                       const struct dnnq_npy *want, void **out, struct dnnq_diag *d)
{
	struct dnnq_diag why = { "" };
	struct dnnq_calib_opts o = { .method = DNNQ_CALIB_L2,
	                             .spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false } };
	struct dnnq_lower_opts lo = { .per_channel = c != NULL, .calibration = c ? "l2" : "none" };
	enum dnnq_calib_method *method = calloc(ir->nvalues + 1, sizeof *method);
	const void **inp = calloc(ir->ninputs + 1, sizeof *inp);
	struct dnnq_tensor_info *info = calloc(ir->noutputs + 1, sizeof *info);
	bool *keep = NULL;
	struct dnnq_model m;
	const char *step = "lower";
	int rc = method && inp && info ? 0 : dnnq_diag_set(&why, DNNQ_E_NOMEM, "out of memory");
	if (!rc && fp32 && !(rc = dnnq_onnx_keep_fp32(ir, "*", &keep, &why)))
		lo.fp32_nodes = keep;
	if (!rc && c)
		dnnq_onnx_calib_methods(c, o.method, method);
	if (!rc)
		rc = c ? dnnq_onnx_calib_lower(c, &o, method, &lo, &m, &why)
		       : dnnq_onnx_lower(ir, &lo, NULL, NULL, &m, &why);
	if (!rc) {
		step = "model";
		for (size_t i = 0; i < ir->ninputs; i++)
			inp[i] = in[i].data;
		if (m.noutputs != ir->noutputs)
			rc = dnnq_diag_set(&why, DNNQ_E_SHAPE, "%zu outputs, the ONNX model's %zu",
			                   m.noutputs, ir->noutputs);
		else if (!(rc = conf_run_model(&m, batch, inp, out, info, &why)) &&
		         (rc = check_outputs(info, ir->noutputs, !c, want, &why)))
			for (size_t k = 0; k < ir->noutputs; k++)
				free(out[k]);
		dnnq_model_free(&m);
	}
	if (rc)
		dnnq_diag_set(d, rc, "%s: %s: %s", what, step, why.msg);
	free(keep);
	free(info);
	free(inp);
	free(method);
	return rc;
}

/* c calibrated on in (batch samples), as dnnq-convert by default. */
static int calibrate(const struct dnnq_ir *ir, const struct dnnq_npy *in, size_t batch,
                     struct dnnq_onnx_calib *c, struct dnnq_diag *d)
{
	struct dnnq_diag why = { "" };
	const void **x = calloc(ir->ninputs + 1, sizeof *x);
	int rc;
	for (size_t i = 0; x && i < ir->ninputs; i++)
		x[i] = in[i].data;
	if (!x)
		rc = dnnq_diag_set(&why, DNNQ_E_NOMEM, "out of memory");
	else if (!(rc = dnnq_onnx_calib_init(c, ir, 0, &why)))
		rc = dnnq_onnx_calib_add(c, x, batch, &why);
	free(x);
	if (rc)
		dnnq_diag_set(d, rc, "calibrating on the inputs: %s", why.msg);
	return rc;
}

/* Item i of the n arrays a of batch items, into v (a view of a's data). */
static void item_view(const struct dnnq_npy *a, size_t n, size_t batch, size_t i,
                      struct dnnq_npy *v)
{
	for (size_t k = 0; k < n; k++) {
		v[k] = a[k];
		v[k].count = a[k].count / batch;
		v[k].shape[0] = 1;
		v[k].nbytes = a[k].nbytes / batch;
		v[k].data = a[k].data + i * v[k].nbytes;
	}
}

int conf_items_alone(const struct dnnq_ir *ir, const struct dnnq_npy *in,
                     const struct dnnq_npy *want, size_t *differ, struct dnnq_diag *d)
{
	size_t batch, nout = ir->noutputs;
	struct dnnq_onnx_calib c = { 0 };
	*differ = 0;
	int rc = check_inputs(ir, in, &batch, d);
	void **all = calloc(nout + 1, sizeof *all), **one = calloc(nout + 1, sizeof *one);
	struct dnnq_npy *iv = calloc(ir->ninputs + 1, sizeof *iv), *wv = calloc(nout + 1, sizeof *wv);
	if (!rc && (!all || !one || !iv || !wv))
		rc = dnnq_diag_set(d, DNNQ_E_NOMEM, "out of memory");
	if (!rc)
		rc = calibrate(ir, in, batch, &c, d);
	for (int fp32 = 0; !rc && fp32 < 2; fp32++) {
		const char *what = fp32 ? "fp32" : "int8";
		if ((rc = convert_run(what, ir, &c, fp32, batch, in, want, all, d)))
			break;
		for (size_t i = 0; !rc && i < batch; i++) {
			item_view(in, ir->ninputs, batch, i, iv);
			item_view(want, nout, batch, i, wv);
			if ((rc = convert_run(what, ir, &c, fp32, 1, iv, wv, one, d)))
				break;
			for (size_t k = 0; k < nout; k++) {
				size_t es = dnnq_npy_itemsize(want[k].dtype);
				const char *a = (const char *)all[k] + i * wv[k].nbytes;
				for (size_t e = 0; e < wv[k].count; e++)
					*differ += memcmp(a + e * es, (const char *)one[k] + e * es, es) != 0;
				free(one[k]);
			}
		}
		for (size_t k = 0; k < nout; k++)
			free(all[k]);
	}
	if (c.ir)
		dnnq_onnx_calib_free(&c);
	free(wv);
	free(iv);
	free(one);
	free(all);
	return rc;
}

int conf_run(const struct dnnq_ir *ir, bool exact, const struct dnnq_npy *in,
             const struct dnnq_npy *want, struct conf_result *r, struct dnnq_diag *d)
{
	*r = (struct conf_result){ .sqnr_db = INFINITY, .fp32_sqnr_db = INFINITY };
	size_t batch, nout = ir->noutputs;
	int rc = check_inputs(ir, in, &batch, d);
	if (rc)
		return rc;
	void **q = calloc(nout + 1, sizeof *q), **f = calloc(nout + 1, sizeof *f);
	struct dnnq_onnx_calib c = { 0 };
	if (!q || !f) {
		rc = dnnq_diag_set(d, DNNQ_E_NOMEM, "out of memory");
		goto out;
	}
	if (exact) {
		rc = convert_run("exact", ir, NULL, false, batch, in, want, q, d);
	} else {
		if (!(rc = calibrate(ir, in, batch, &c, d)) &&
		    !(rc = convert_run("int8", ir, &c, false, batch, in, want, q, d)) &&
		         (rc = convert_run("fp32", ir, &c, true, batch, in, want, f, d)))
			for (size_t k = 0; k < nout; k++)
				free(q[k]);
	}
	if (rc)
		goto out;
	for (size_t k = 0; k < nout; k++) {
		size_t n = want[k].count, es = dnnq_npy_itemsize(want[k].dtype);
		const float *w = (const float *)want[k].data;
		if (exact || want[k].dtype == DNNQ_DTYPE_S32) {
			/* a float model's integer output: the fp32 run exactly, the int8
			 * one counted */
			for (size_t i = 0; i < n; i++) {
				const char *e = (const char *)want[k].data + i * es;
				if (memcmp((char *)(exact ? q[k] : f[k]) + i * es, e, es) && !r->differ++)
					r->first = r->elements + i;
				r->int8_differ += !exact && memcmp((char *)q[k] + i * es, e, es);
			}
			if (!exact)
				free(f[k]);
		} else {
			/* a NaN anywhere stays: it passes no bound */
			double db = dnnq_sqnr_db(w, q[k], n), rel = conf_max_rel(f[k], w, n);
			r->sqnr_db = isnan(db) || isnan(r->sqnr_db) ? NAN : fmin(r->sqnr_db, db);
			r->fp32_rel = isnan(rel) || isnan(r->fp32_rel) ? NAN : fmax(r->fp32_rel, rel);
			double fdb = dnnq_sqnr_db(w, f[k], n);
			r->fp32_sqnr_db = isnan(fdb) || isnan(r->fp32_sqnr_db) ? NAN
			                                                      : fmin(r->fp32_sqnr_db, fdb);
			free(f[k]);
		}
		r->elements += n;
		free(q[k]);
	}
out:
	if (c.ir)
		dnnq_onnx_calib_free(&c);
	free(q);
	free(f);
	return rc;
}
