/*
 * onnx/calib.c — calibration of an imported model (onnx/calib.h).
 */
#include <math.h>
#include <stdio.h>
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
		/* the lowering's words: an empty one is a folded constant (not
		 * batched), which the test below would call "without a batch" */
		if (!in && !dnnq_ir_numel(v, 1))
			return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "graph output '%s': it has no "
			                     "elements (a dim of 0)", v->name);
		if ((v->dtype != DNNQ_IR_F32 && v->dtype != DNNQ_IR_S32) || !v->batched)
			return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "calibration: %s '%s' is %s%s;"
			                     " calibration needs batched float32 or int32 inputs and "
			                     "outputs", in ? "input" : "output", v->name,
			                     dnnq_ir_dtype_name(v->dtype), v->batched ? "" : " without a "
			                     "batch");
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
	free(c->state);
	free(c->start);
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

/* A sub-run of dnnq_onnx_calib_add: samples [first, first + size) of its n,
 * nodes_done of its nodes done. */
struct sub_run {
	struct dnnq_onnx_calib *c;
	size_t first, size, n, nodes_done;
};

/* The reference's observer in a sub-run: observe, and the progress hook
 * after a node's last output (graph inputs are observed before the run),
 * the call's work weighted by samples: each sub-run's nodes count its
 * samples, so the sub-runs' reports go on where the last one stopped (a
 * sub-run reporting its nodes of the model's again sent dnnq-convert's bar
 * back at every one). */
static int observe_run(void *ctx, const struct dnnq_ir *ir, int32_t value, const void *data,
                       size_t numel)
{
	struct sub_run *r = ctx;
	struct dnnq_onnx_calib *c = r->c;
	int rc = observe(c, ir, value, data, numel);
	const struct dnnq_ir_node *n = &ir->nodes[r->nodes_done];
	if (!rc && c->progress && n->outputs[n->noutputs - 1] == value)
		c->progress(c->progress_ctx, r->first * ir->nnodes + ++r->nodes_done * r->size,
		            r->n * ir->nnodes);
	return rc;
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

/* The reference on n samples x into y, observed by observer (ctx). */
static int run_ref(struct dnnq_onnx_calib *c, const void *const *x, size_t n, float *const *y,
                   dnnq_ir_observer observer, void *ctx, struct dnnq_diag *diag)
{
	const struct dnnq_ir *ir = c->ir;
	int rc = dnnq_ir_run_ex(ir, n, x, (void *const *)y, observer, ctx, c->ex, diag);
	/* an int32 output (ArgMax's indices) is kept as its integers' values */
	for (size_t k = 0; !rc && k < ir->noutputs; k++)
		if (ir->values[ir->outputs[k]].dtype == DNNQ_IR_S32)
			for (size_t e = 0, m = output_numel(ir, k, n); e < m; e++)
				y[k][e] = (float)((const int32_t *)y[k])[e];
	return rc;
}

int dnnq_onnx_calib_ref(struct dnnq_onnx_calib *c, const void *const *x, size_t n,
                        float *const *y, struct dnnq_diag *diag)
{
	return run_ref(c, x, n, y, NULL, NULL, diag);
}

int dnnq_onnx_calib_add(struct dnnq_onnx_calib *c, const void *const *x, size_t n,
                        struct dnnq_diag *diag)
{
	/* the reference judges one item: the samples go in sub-runs whose
	 * values fit (all at once, a multi-input model's whole set did) */
	return dnnq_onnx_calib_add_by(c, x, n, dnnq_ir_fit_batch(c->ir, n, c->ex), diag);
}

int dnnq_onnx_calib_add_by(struct dnnq_onnx_calib *c, const void *const *x, size_t n,
                           size_t step, struct dnnq_diag *diag)
{
	const struct dnnq_ir *ir = c->ir;
	size_t total = c->samples + n;
	if (n == 0)
		return DNNQ_OK;
	for (size_t i = 0; i < ir->ninputs; i++) {
		size_t per = c->x_numel[i];
		/* 4-byte elements: floats, or an int32 input's integers */
		void *grown = total > SIZE_MAX / 4 / (per ? per : 1) ? NULL
		              : realloc(c->x[i], total * per * 4);
		if (!grown)
			return dnnq_diag_set(diag, DNNQ_E_NOMEM, "calibration: %zu samples do not fit",
			                     total);
		c->x[i] = grown;
		memcpy((uint8_t *)c->x[i] + c->samples * per * 4, x[i], n * per * 4);
		int rc = observe(c, ir, ir->inputs[i], x[i], n * per);
		if (rc)
			return rc;
	}
	void **outs = calloc(ir->noutputs + 1, sizeof *outs);
	const void **xs = calloc(ir->ninputs + 1, sizeof *xs);
	int rc = outs && xs ? DNNQ_OK : DNNQ_E_NOMEM;
	for (size_t k = 0; !rc && k < ir->noutputs; k++)
		rc = grow(&c->ref[k], output_numel(ir, k, total));
	if (rc) {
		free(outs);
		free(xs);
		return dnnq_diag_set(diag, rc, "calibration: out of memory");
	}
	step = step ? step : n;
	for (size_t s = 0; !rc && s < n; s += step) {
		size_t m = n - s < step ? n - s : step;
		struct sub_run r = { .c = c, .first = s, .size = m, .n = n };
		for (size_t i = 0; i < ir->ninputs; i++)
			xs[i] = (const uint8_t *)x[i] + s * c->x_numel[i] * 4;
		for (size_t k = 0; k < ir->noutputs; k++)
			outs[k] = c->ref[k] + output_numel(ir, k, c->samples + s);
		rc = run_ref(c, xs, m, (float *const *)outs, observe_run, &r, diag);
	}
	free(outs);
	free(xs);
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

int dnnq_onnx_calib_trial(struct dnnq_onnx_calib *c, const struct dnnq_calib_opts *o,
                          const enum dnnq_calib_method *method,
                          const struct dnnq_lower_opts *lo, const struct dnnq_executor *ex,
                          double *sqnr_db, struct dnnq_diag *diag)
{
	struct dnnq_model m;
	struct dnnq_lower_opts t = *lo;
	t.trial = true;               /* dnnq_onnx_eval builds it */
	int rc = dnnq_onnx_calib_lower(c, o, method, &t, &m, diag);
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
	int rc = dnnq_onnx_calib_trial(c, o, method, lo, ex, &best, diag);
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
			rc = dnnq_onnx_calib_trial(c, o, method, lo, ex, &s, diag);
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

/* ---- 16-bit accumulation (--acc16, --acc16=auto) ---- */

/* int8 conv and fc nodes (an fp32 one has no integer accumulator) */
static bool gemm_node(const struct dnnq_model_node *n)
{
	return (n->kind == DNNQ_NODE_CONV || n->kind == DNNQ_NODE_FC) &&
	       n->precision != DNNQ_PRECISION_FP32;
}

/* conv.c's depthwise path, which does not run the GEMM */
static bool depthwise_node(const struct dnnq_model_node *n)
{
	return n->kind == DNNQ_NODE_CONV && n->groups > 1 && n->groups == n->cin &&
	       n->cout == n->cin;
}

/* A conv or fc node's GEMM: groups, rows (output channels) per group, k. */
static void gemm_shape(const struct dnnq_model_node *n, size_t *groups, size_t *rows, size_t *k)
{
	if (n->kind == DNNQ_NODE_FC) {
		*groups = 1;
		*rows = n->n;
		*k = n->k;
		return;
	}
	*groups = n->groups ? n->groups : 1;
	*rows = n->cout / *groups;
	*k = (size_t)n->kernel[0] * n->kernel[1] * (n->cin / *groups);
}

/* The node's weights packed for acc16, one set per group (gw: groups entries). */
static int pack_layer(const struct dnnq_model *m, size_t j, const struct dnnq_acc16_opts *o,
                      struct dnnq_gemm_weights *gw, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &m->nodes[j];
	size_t groups, rows, k;
	gemm_shape(n, &groups, &rows, &k);
	if (n->weight < 0 || (size_t)n->weight >= m->ntensors)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "acc16: node '%s': no weights", n->name);
	const struct dnnq_qtensor *t = &m->tensors[n->weight].t;
	size_t numel = groups * rows * k;
	if (dnnq_qtensor_numel(t) != numel ||
	    (t->dtype != DNNQ_DTYPE_S8 && t->dtype != DNNQ_DTYPE_PACKED))
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "acc16: node '%s': weights: want %zu s8",
		                     n->name, numel);
	int8_t *w = t->data;
	if (t->dtype == DNNQ_DTYPE_PACKED) {
		if (!(w = malloc(numel ? numel : 1)))
			return dnnq_diag_set(diag, DNNQ_E_NOMEM, "acc16: out of memory");
		dnnq_unpack_bits(t->data, numel, t->precision, true, w);
	}
	int rc = DNNQ_OK;
	for (size_t g = 0; !rc && g < groups; g++)
		rc = dnnq_gemm_pack_acc16(dnnq_isa_best(), w + g * rows * k, rows, k, k, o, &gw[g],
		                          diag);
	if (w != t->data)
		free(w);
	return rc;
}

/* Output buffers of graph g (planned), y[k] of its output k. */
static int alloc_outputs(struct dnnq_graph *g, void ***y, struct dnnq_diag *diag)
{
	size_t nout = dnnq_graph_num_outputs(g);
	*y = calloc(nout ? nout : 1, sizeof **y);
	if (!*y)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "acc16: out of memory");
	for (size_t k = 0; k < nout; k++) {
		struct dnnq_tensor_info ti;
		dnnq_graph_output_info(g, k, &ti);
		if (!((*y)[k] = malloc(ti.bytes ? ti.bytes : 1)))
			return dnnq_diag_set(diag, DNNQ_E_NOMEM, "acc16: out of memory");
	}
	return DNNQ_OK;
}

static void free_outputs(void **y, size_t n)
{
	for (size_t k = 0; y && k < n; k++)
		free(y[k]);
	free(y);
}

/* Every node's shadow-run SQNR (sqnr[j], m->nnodes entries) on the
 * calibration samples; with keep (may be NULL), the fp32 chain's values at
 * the outputs of the nodes j with keep[j] in chain[j] (engine/graph.h
 * dnnq_graph_shadow_keep). */
static int shadow_sqnr(const struct dnnq_onnx_calib *c, const struct dnnq_model *m,
                       double *sqnr, const bool *keep, float **chain, struct dnnq_diag *diag)
{
	struct dnnq_graph *g = NULL;
	void **y = NULL;
	struct dnnq_node_report *r = NULL;
	int rc = dnnq_model_build(m, dnnq_isa_best(), &g, diag);
	if (!rc)
		rc = dnnq_graph_plan(g, c->samples, dnnq_executor_threads(c->ex), diag);
	if (!rc && dnnq_graph_num_nodes(g) != m->nnodes)
		rc = dnnq_diag_set(diag, DNNQ_E_SHAPE, "acc16: graph of %zu nodes for %zu",
		                   dnnq_graph_num_nodes(g), m->nnodes);
	if (!rc && !(r = calloc(m->nnodes ? m->nnodes : 1, sizeof *r)))
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "acc16: out of memory");
	if (!rc)
		rc = alloc_outputs(g, &y, diag);
	if (!rc && (rc = dnnq_graph_shadow_keep(g, (const void *const *)c->x, (void *const *)y,
	                                        c->ex, r, keep, chain)))
		dnnq_diag_set(diag, rc, "acc16: the shadow run failed");
	for (size_t j = 0; !rc && j < m->nnodes; j++)
		sqnr[j] = r[j].sqnr_db;
	free_outputs(y, g ? dnnq_graph_num_outputs(g) : 0);
	free(r);
	dnnq_graph_destroy(g);
	return rc;
}

/* m's nodes up to j alone (*prefix, its outputs in *ios: every value of
 * theirs none of them reads, j's among them, for a graph uses them all);
 * false when one of those cannot be a graph output (s32). */
static bool prefix_model(const struct dnnq_model *m, size_t j, struct dnnq_model *prefix,
                         struct dnnq_model_io *ios, bool *read)
{
	*prefix = *m;
	prefix->nnodes = j + 1;
	prefix->outputs = ios;
	prefix->noutputs = 0;
	for (size_t k = 0; k <= j; k++)
		for (uint32_t i = 0; i < m->nodes[k].ninputs; i++)
			if (m->nodes[k].inputs[i] >= 0 &&
			    (size_t)m->nodes[k].inputs[i] < dnnq_model_num_values(m))
				read[m->nodes[k].inputs[i]] = true;
	for (size_t k = 0; k <= j; k++) {
		size_t v = dnnq_model_node_value(m, k);
		enum dnnq_dtype dt = (enum dnnq_dtype)m->nodes[k].out_dtype;
		if (read[v])
			continue;
		if (dt != DNNQ_DTYPE_U8 && dt != DNNQ_DTYPE_F32)
			return false;
		struct dnnq_model_io *io = &ios[prefix->noutputs++];
		*io = (struct dnnq_model_io){ .dtype = dt, .value = (int32_t)v };
		snprintf(io->name, sizeof io->name, "acc16-trial-%zu", k);
	}
	return true;
}

/* Output k of graph g (values y) against ref, the SQNR in *db. */
static int output_sqnr(struct dnnq_graph *g, size_t k, const void *y, const float *ref,
                       double *db)
{
	struct dnnq_tensor_info ti;
	int rc = dnnq_graph_output_info(g, k, &ti);
	if (rc)
		return rc;
	size_t n = ti.bytes / (ti.dtype == DNNQ_DTYPE_F32 || ti.dtype == DNNQ_DTYPE_S32 ? 4 : 1);
	float *x = ti.dtype == DNNQ_DTYPE_F32 ? (float *)y : malloc((n ? n : 1) * sizeof *x);
	if (!x)
		return DNNQ_E_NOMEM;
	if (ti.dtype == DNNQ_DTYPE_S32)        /* indices: their integers */
		for (size_t i = 0; i < n; i++)
			x[i] = (float)((const int32_t *)y)[i];
	else if (x != y)
		rc = dnnq_dequantize(DNNQ_ISA_SCALAR, y, ti.dtype, x, n, &ti.qp);
	if (!rc)
		*db = dnnq_sqnr_db(ref, x, n);
	if (x != y)
		free(x);
	return rc;
}

/* The shadow-run SQNR at node j's output (*db), against chain, the fp32
 * chain's values there (dnnq_graph_shadow_keep of m with every layer
 * acc32: the fp32 chain does not depend on the layers' accumulation, nor
 * do the int8 nodes before j, which run the same kernels on the same
 * values): m's nodes up to j alone run once (the nodes after j cannot
 * change it, and --acc16=auto's trials were shadow runs of the whole model
 * before, each computing the fp32 chain again). When the prefix cannot be
 * a model of its own (an s32 value), the shadow run of all of m. */
static int sqnr_at(const struct dnnq_onnx_calib *c, const struct dnnq_model *m, size_t j,
                   const float *chain, double *db, struct dnnq_diag *diag)
{
	struct dnnq_model prefix;
	struct dnnq_graph *g = NULL;
	void **y = NULL;
	struct dnnq_model_io *ios = calloc(j + 1, sizeof *ios);
	bool *read = calloc(dnnq_model_num_values(m) + 1, sizeof *read);
	double *sq = malloc((m->nnodes + 1) * sizeof *sq);
	int rc = ios && read && sq ? DNNQ_OK : dnnq_diag_set(diag, DNNQ_E_NOMEM,
	                                                     "acc16: out of memory");
	if (rc)
		goto out;
	if (!chain || !prefix_model(m, j, &prefix, ios, read)) {
		if (!(rc = shadow_sqnr(c, m, sq, NULL, NULL, diag)))
			*db = sq[j];
		goto out;
	}
	/* node j's output is the prefix's last: nothing reads it */
	if ((rc = dnnq_model_build(&prefix, dnnq_isa_best(), &g, diag)) ||
	    (rc = dnnq_graph_plan(g, c->samples, dnnq_executor_threads(c->ex), diag)) ||
	    (rc = alloc_outputs(g, &y, diag)))
		goto out;
	if ((rc = dnnq_graph_run(g, (const void *const *)c->x, (void *const *)y, c->ex)) ||
	    (rc = output_sqnr(g, prefix.noutputs - 1, y[prefix.noutputs - 1], chain, db)))
		dnnq_diag_set(diag, rc, "acc16: the trial of node '%s' failed", m->nodes[j].name);
out:
	free_outputs(y, g ? dnnq_graph_num_outputs(g) : 0);
	dnnq_graph_destroy(g);
	free(ios);
	free(read);
	free(sq);
	return rc;
}

/* The u8 input of each layer, from m run with every layer acc32 and the
 * layers' inputs as extra outputs: in[l] (NULL: not u8 or not a node's
 * output) and info[l]; layer_inputs_free releases it all. */
struct layer_inputs {
	struct dnnq_graph *g;
	void **y;
	size_t ny;
	const uint8_t **in;
	struct dnnq_tensor_info *info;
};

static int layer_inputs(const struct dnnq_onnx_calib *c, const struct dnnq_model *m,
                        const struct dnnq_acc16_layer *layers, size_t nl,
                        struct layer_inputs *li, struct dnnq_diag *diag)
{
	struct dnnq_model mm = *m;
	size_t nv = dnnq_model_num_values(m), first = m->ninputs + m->nconstants;
	int *out_of = malloc((nv ? nv : 1) * sizeof *out_of);
	int *idx = calloc(nl ? nl : 1, sizeof *idx);
	mm.nodes = malloc((m->nnodes ? m->nnodes : 1) * sizeof *mm.nodes);
	mm.outputs = calloc(m->noutputs + nl + 1, sizeof *mm.outputs);
	li->in = calloc(nl ? nl : 1, sizeof *li->in);
	li->info = calloc(nl ? nl : 1, sizeof *li->info);
	int rc = DNNQ_OK;
	if (!out_of || !idx || !mm.nodes || !mm.outputs || !li->in || !li->info) {
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "acc16: out of memory");
		goto out;
	}
	for (size_t j = 0; j < m->nnodes; j++) {
		mm.nodes[j] = m->nodes[j];
		mm.nodes[j].acc16 = 0;
	}
	for (size_t k = 0; k < m->noutputs; k++)
		mm.outputs[k] = m->outputs[k];
	for (size_t v = 0; v < nv; v++)
		out_of[v] = -1;
	for (size_t k = 0; k < m->noutputs; k++)
		if (m->outputs[k].value >= 0 && (size_t)m->outputs[k].value < nv)
			out_of[m->outputs[k].value] = (int)k;
	for (size_t l = 0; l < nl; l++) {
		const struct dnnq_model_node *n = &m->nodes[layers[l].node];
		int32_t v = n->ninputs ? n->inputs[0] : -1;
		idx[l] = -1;
		if (v < (int32_t)first || (size_t)v >= nv)
			continue;
		if (out_of[v] < 0) {
			struct dnnq_model_io *io = &mm.outputs[mm.noutputs];
			snprintf(io->name, sizeof io->name, "acc16-input-%zu", l);
			io->dtype = DNNQ_DTYPE_U8;
			io->value = v;
			out_of[v] = (int)mm.noutputs++;
		}
		idx[l] = out_of[v];
	}
	if ((rc = dnnq_model_build(&mm, dnnq_isa_best(), &li->g, diag)) ||
	    (rc = dnnq_graph_plan(li->g, c->samples, dnnq_executor_threads(c->ex), diag)))
		goto out;
	li->ny = dnnq_graph_num_outputs(li->g);
	if ((rc = alloc_outputs(li->g, &li->y, diag)))
		goto out;
	if ((rc = dnnq_graph_run(li->g, (const void *const *)c->x, (void *const *)li->y, c->ex))) {
		dnnq_diag_set(diag, rc, "acc16: the model failed to run");
		goto out;
	}
	for (size_t l = 0; l < nl; l++) {
		if (idx[l] < 0)
			continue;
		dnnq_graph_output_info(li->g, (size_t)idx[l], &li->info[l]);
		if (li->info[l].dtype == DNNQ_DTYPE_U8)
			li->in[l] = li->y[idx[l]];
	}
out:
	free(out_of);
	free(idx);
	free(mm.nodes);
	free(mm.outputs);
	return rc;
}

static void layer_inputs_free(struct layer_inputs *li)
{
	free_outputs(li->y, li->ny);
	dnnq_graph_destroy(li->g);
	free(li->in);
	free(li->info);
}

/* Row p of group g of the im2col matrix of conv node n over the NHWC u8
 * input x (batch x h x w x cin), padding read as the zero point zx. */
static void im2col_row(const struct dnnq_model_node *n, const uint8_t *x, size_t h, size_t w,
                       size_t oh, size_t ow, size_t p, size_t g, uint8_t zx, uint8_t *row)
{
	size_t cin = n->cin, cing = cin / n->groups;
	size_t img = p / (oh * ow), oy = p / ow % oh, ox = p % ow;
	for (size_t ky = 0; ky < n->kernel[0]; ky++) {
		ptrdiff_t iy = (ptrdiff_t)(oy * n->strides[0] + ky * n->dilations[0]) -
		               (ptrdiff_t)n->pads[0];
		for (size_t kx = 0; kx < n->kernel[1]; kx++, row += cing) {
			ptrdiff_t ix = (ptrdiff_t)(ox * n->strides[1] + kx * n->dilations[1]) -
			               (ptrdiff_t)n->pads[1];
			if (iy < 0 || ix < 0 || iy >= (ptrdiff_t)h || ix >= (ptrdiff_t)w)
				memset(row, zx, cing);
			else
				memcpy(row, x + ((img * h + (size_t)iy) * w + (size_t)ix) * cin + g * cing,
				       cing);
		}
	}
}

/* A conv layer's saturation is measured on at most this many output
 * pixels, evenly spaced over the samples' (the scalar 16-bit emulation
 * of every pixel cost --acc16=auto more than all its shadow runs). */
#define SAT_PIXELS 1024

/* Saturation events and additions of the acc16 GEMM of layer l on its
 * input x (info ti). */
static int saturation(const struct dnnq_model_node *n, const struct dnnq_gemm_weights *gw,
                      const uint8_t *x, const struct dnnq_tensor_info *ti, size_t samples,
                      uint64_t *events, uint64_t *adds)
{
	size_t groups, rows, k;
	gemm_shape(n, &groups, &rows, &k);
	*events = *adds = 0;
	if (n->kind == DNNQ_NODE_FC) {
		if (ti->bytes != samples * k)
			return DNNQ_E_SHAPE;
		return dnnq_gemm_acc16_saturation(&gw[0], samples, x, k, events, adds);
	}
	if (ti->ndim != 4 || (size_t)ti->dims[3] != n->cin || !n->strides[0] || !n->strides[1])
		return DNNQ_E_SHAPE;
	size_t h = (size_t)ti->dims[1], w = (size_t)ti->dims[2];
	size_t eh = n->dilations[0] * (n->kernel[0] - 1) + 1;
	size_t ew = n->dilations[1] * (n->kernel[1] - 1) + 1;
	if (h + n->pads[0] + n->pads[2] < eh || w + n->pads[1] + n->pads[3] < ew)
		return DNNQ_E_SHAPE;
	size_t oh = (h + n->pads[0] + n->pads[2] - eh) / n->strides[0] + 1;
	size_t ow = (w + n->pads[1] + n->pads[3] - ew) / n->strides[1] + 1;
	size_t npix = samples * oh * ow, block = 64, take = npix < SAT_PIXELS ? npix : SAT_PIXELS;
	uint8_t *a = malloc(block * k);
	if (!a)
		return DNNQ_E_NOMEM;
	int rc = DNNQ_OK;
	for (size_t g = 0; !rc && g < groups; g++) {
		for (size_t p0 = 0; !rc && p0 < take; p0 += block) {
			size_t r = take - p0 < block ? take - p0 : block;
			for (size_t i = 0; i < r; i++)
				im2col_row(n, x, h, w, oh, ow, (p0 + i) * npix / take, g,
				           (uint8_t)ti->qp.zero_point, a + i * k);
			uint64_t e = 0, s = 0;
			rc = dnnq_gemm_acc16_saturation(&gw[g], r, a, k, &e, &s);
			*events += e;
			*adds += s;
		}
	}
	free(a);
	return rc;
}

int dnnq_onnx_calib_acc16_measure(const struct dnnq_onnx_calib *c, const struct dnnq_model *m,
                                  const struct dnnq_acc16_opts *o,
                                  struct dnnq_acc16_layer **layers, size_t *nlayers,
                                  struct dnnq_diag *diag)
{
	static const struct dnnq_acc16_opts none = { 0, 0 };
	size_t nl = 0;
	*layers = NULL;
	*nlayers = 0;
	for (size_t j = 0; j < m->nnodes; j++)
		nl += gemm_node(&m->nodes[j]);
	struct dnnq_acc16_layer *L = calloc(nl ? nl : 1, sizeof *L);
	if (!L)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "acc16: out of memory");
	for (size_t j = 0, l = 0; j < m->nnodes; j++) {
		const struct dnnq_model_node *n = &m->nodes[j];
		if (!gemm_node(n))
			continue;
		L[l] = (struct dnnq_acc16_layer){ .node = j, .acc16 = n->acc16 && !depthwise_node(n),
		                                  .applicable = !depthwise_node(n), .saturation = NAN,
		                                  .sqnr_db_acc32 = NAN, .sqnr_db_acc16 = NAN };
		l++;
	}
	struct layer_inputs li = { 0 };
	int rc = c->samples ? layer_inputs(c, m, L, nl, &li, diag) : DNNQ_OK;
	for (size_t l = 0; !rc && l < nl; l++) {
		const struct dnnq_model_node *n = &m->nodes[L[l].node];
		if (!L[l].applicable)
			continue;
		struct dnnq_acc16_opts no = n->acc16 ? (struct dnnq_acc16_opts){ n->acc16_nbits,
		                                                                 n->acc16_spill }
		                                     : o ? *o : none;
		size_t groups, rows, k;
		gemm_shape(n, &groups, &rows, &k);
		struct dnnq_gemm_weights *gw = calloc(groups, sizeof *gw);
		if (!gw) {
			rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "acc16: out of memory");
			break;
		}
		rc = pack_layer(m, L[l].node, &no, gw, diag);
		for (size_t g = 0; !rc && g < groups; g++)
			L[l].outliers += gw[g].outliers;
		L[l].outlier_density = (double)L[l].outliers / (double)(groups * rows * k);
		if (!rc && li.in && li.in[l]) {
			int s = saturation(n, gw, li.in[l], &li.info[l], c->samples, &L[l].sat_events,
			                   &L[l].sat_adds);
			if (s == DNNQ_E_NOMEM)
				rc = dnnq_diag_set(diag, s, "acc16: out of memory");
			else if (!s && L[l].sat_adds)
				L[l].saturation = (double)L[l].sat_events / (double)L[l].sat_adds;
		}
		for (size_t g = 0; g < groups; g++)
			dnnq_gemm_weights_free(&gw[g]);
		free(gw);
	}
	if (c->samples)
		layer_inputs_free(&li);
	if (rc) {
		free(L);
		return rc;
	}
	*layers = L;
	*nlayers = nl;
	return DNNQ_OK;
}

int dnnq_onnx_calib_acc16_auto(const struct dnnq_onnx_calib *c, struct dnnq_model *m,
                               const struct dnnq_acc16_opts *o, double threshold_db,
                               struct dnnq_acc16_layer **layers, size_t *nlayers,
                               void (*progress)(void *ctx, size_t done, size_t total),
                               void *ctx, struct dnnq_diag *diag)
{
	static const struct dnnq_acc16_opts none = { 0, 0 };
	if (!o)
		o = &none;
	if (c->samples == 0)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "acc16 auto: no calibration samples");
	for (size_t j = 0; j < m->nnodes; j++)
		m->nodes[j].acc16 = m->nodes[j].acc16_nbits = m->nodes[j].acc16_spill = 0;
	struct dnnq_acc16_layer *L;
	size_t nl, done = 0, total = 1;
	int rc = dnnq_onnx_calib_acc16_measure(c, m, o, &L, &nl, diag);
	if (rc)
		return rc;
	double *base = malloc((m->nnodes ? m->nnodes : 1) * sizeof *base);
	bool *keep = calloc(m->nnodes ? m->nnodes : 1, sizeof *keep);
	float **chain = calloc(m->nnodes ? m->nnodes : 1, sizeof *chain);
	if (!base || !keep || !chain)
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "acc16: out of memory");
	for (size_t l = 0; l < nl; l++) {
		total += L[l].applicable;
		if (keep)
			keep[L[l].node] = L[l].applicable;
	}
	if (!rc)
		rc = shadow_sqnr(c, m, base, keep, chain, diag);
	if (progress)
		progress(ctx, ++done, total);
	for (size_t l = 0; !rc && l < nl; l++) {
		struct dnnq_model_node *n = &m->nodes[L[l].node];
		L[l].sqnr_db_acc32 = base[L[l].node];
		if (!L[l].applicable)
			continue;
		n->acc16 = 1;
		n->acc16_nbits = o->nbits;
		n->acc16_spill = o->spill;
		double b = NAN;
		rc = sqnr_at(c, m, L[l].node, chain[L[l].node], &b, diag);
		n->acc16 = n->acc16_nbits = n->acc16_spill = 0;
		if (rc)
			break;
		double a = base[L[l].node];
		L[l].sqnr_db_acc16 = b;
		/* equal (both infinite: exact) is no loss; a NaN is one */
		double loss = a == b ? 0 : a - b;
		L[l].acc16 = loss < threshold_db;
		if (progress)
			progress(ctx, ++done, total);
	}
	for (size_t l = 0; !rc && l < nl; l++) {
		struct dnnq_model_node *n = &m->nodes[L[l].node];
		if (!L[l].acc16)
			continue;
		n->acc16 = 1;
		n->acc16_nbits = o->nbits;
		n->acc16_spill = o->spill;
	}
	for (size_t j = 0; chain && j < m->nnodes; j++)
		free(chain[j]);
	free(chain);
	free(keep);
	free(base);
	if (rc) {
		free(L);
		return rc;
	}
	*layers = L;
	*nlayers = nl;
	return DNNQ_OK;
}
