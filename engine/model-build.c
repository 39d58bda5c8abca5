/*
 * dnnq_model_build: a struct dnnq_model to a finalized graph through the
 * builder API. Weights come from the model's tensors (PACKED ones unpacked
 * to int8 first), scales from the weight tensor's qparams (per tensor or per
 * output channel, axis 0); every size is checked against the tensor before
 * an operator sees it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/model-internal.h"

struct weights {
	int8_t *w;            /* points into the tensor, or owned (unpacked) */
	bool owned;
	size_t nwq;
	const float *scale;
	const int32_t *zp;    /* NULL when every zero point is 0 */
	const float *bias;
	const int32_t *bias_i32;
};

#define BERR(rc, ...) dnnq_model_node_err(diag, "", j, n->name, rc, __VA_ARGS__)

static int get_weights(const struct dnnq_model *m, size_t j, size_t rows, size_t numel,
                       struct weights *wt, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &m->nodes[j];
	memset(wt, 0, sizeof *wt);
	if (n->weight < 0 || (size_t)n->weight >= m->ntensors)
		return BERR(DNNQ_E_FORMAT, "weight %d: no such tensor", n->weight);
	const struct dnnq_qtensor *t = &m->tensors[n->weight].t;
	if (dnnq_qtensor_numel(t) != numel || !t->is_signed ||
	    (t->dtype != DNNQ_DTYPE_S8 && t->dtype != DNNQ_DTYPE_PACKED))
		return BERR(DNNQ_E_SHAPE, "weight tensor %d: want %zu signed s8 or packed values",
		            n->weight, numel);
	if (t->nqparams != 1 && !(t->qaxis == 0 && t->nqparams == rows))
		return BERR(DNNQ_E_SHAPE, "weight tensor %d: qparams: want per tensor or %zu on axis 0",
		            n->weight, rows);
	wt->nwq = t->nqparams;
	wt->scale = t->scales;
	for (size_t i = 0; i < t->nqparams; i++)
		if (t->zero_points[i])
			wt->zp = t->zero_points;
	if (t->dtype == DNNQ_DTYPE_S8) {
		wt->w = t->data;
	} else {
		if (!(wt->w = malloc(numel ? numel : 1)))
			return BERR(DNNQ_E_NOMEM, "cannot unpack %zu weights", numel);
		wt->owned = true;
		dnnq_unpack_bits(t->data, numel, t->precision, true, wt->w);
	}
	/* on failure the caller frees wt->w when wt->owned */
	if (n->bias >= (int32_t)m->ntensors)
		return BERR(DNNQ_E_FORMAT, "bias %d: no such tensor", n->bias);
	if (n->bias >= 0) {
		const struct dnnq_qtensor *b = &m->tensors[n->bias].t;
		if (dnnq_qtensor_numel(b) != rows ||
		    (b->dtype != DNNQ_DTYPE_F32 && b->dtype != DNNQ_DTYPE_S32))
			return BERR(DNNQ_E_SHAPE, "bias tensor %d: want %zu f32 or s32 values",
			            n->bias, rows);
		if (b->dtype == DNNQ_DTYPE_F32)
			wt->bias = b->data;
		else
			wt->bias_i32 = b->data;
	}
	return DNNQ_OK;
}

static struct dnnq_qparams out_qp(const struct dnnq_model_node *n)
{
	return (struct dnnq_qparams){ n->out_scale, n->out_zero_point, (uint8_t)n->out_precision,
	                              n->out_signed };
}

static int conv_desc(const struct dnnq_model *m, size_t j, enum dnnq_isa isa,
                     struct dnnq_node_desc *d, struct weights *wt, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &m->nodes[j];
	size_t numel;
	if (!n->groups || n->cin % n->groups || n->cout % n->groups ||
	    !dnnq_mul_size((size_t)n->cout * n->kernel[0], (size_t)n->kernel[1] * (n->cin / n->groups),
	                   &numel) || n->kernel[0] > 65536)
		return BERR(DNNQ_E_SHAPE, "cin %u cout %u groups %u kernel %ux%u: invalid",
		            n->cin, n->cout, n->groups, n->kernel[0], n->kernel[1]);
	int rc = get_weights(m, j, n->cout, numel, wt, diag);
	if (rc)
		return rc;
	d->op.conv = (struct dnnq_conv_desc){
		.isa = isa, .cin = n->cin, .cout = n->cout, .groups = n->groups,
		.kh = n->kernel[0], .kw = n->kernel[1], .stride_h = n->strides[0],
		.stride_w = n->strides[1], .dil_h = n->dilations[0], .dil_w = n->dilations[1],
		.pad_t = n->pads[0], .pad_l = n->pads[1], .pad_b = n->pads[2], .pad_r = n->pads[3],
		.w = wt->w, .nwq = wt->nwq, .w_scale = wt->scale, .w_zero_point = wt->zp,
		.bias = wt->bias, .bias_i32 = wt->bias_i32, .out_dtype = n->out_dtype,
		.out_qp = out_qp(n), .requant = n->requant, .relu = n->relu, .clip = n->clip,
		.clip_min = n->clip_min, .clip_max = n->clip_max, .acc16 = n->acc16,
		.acc16_opts = { n->acc16_nbits, n->acc16_spill },
	};
	return DNNQ_OK;
}

static int fc_desc(const struct dnnq_model *m, size_t j, enum dnnq_isa isa,
                   struct dnnq_node_desc *d, struct weights *wt, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &m->nodes[j];
	size_t numel;
	if (!dnnq_mul_size(n->n, n->k, &numel))
		return BERR(DNNQ_E_SHAPE, "n %u k %u: the weight count overflows", n->n, n->k);
	int rc = get_weights(m, j, n->n, numel, wt, diag);
	if (rc)
		return rc;
	d->op.fc = (struct dnnq_fc_desc){
		.isa = isa, .n = n->n, .k = n->k, .w = wt->w, .nwq = wt->nwq, .w_scale = wt->scale,
		.w_zero_point = wt->zp, .bias = wt->bias, .bias_i32 = wt->bias_i32,
		.dynamic = n->dynamic, .out_dtype = n->out_dtype, .out_qp = out_qp(n),
		.requant = n->requant, .relu = n->relu, .clip = n->clip, .clip_min = n->clip_min,
		.clip_max = n->clip_max, .acc16 = n->acc16,
		.acc16_opts = { n->acc16_nbits, n->acc16_spill },
	};
	return DNNQ_OK;
}

static int ewlin_desc(const struct dnnq_model *m, size_t j, enum dnnq_isa isa,
                      struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &m->nodes[j];
	if (n->weight < 0 || (size_t)n->weight >= m->ntensors ||
	    n->bias >= (int32_t)m->ntensors || m->tensors[n->weight].t.dtype != DNNQ_DTYPE_F32)
		return BERR(DNNQ_E_FORMAT, "weight %d: want an f32 tensor of multipliers", n->weight);
	const struct dnnq_qtensor *a = &m->tensors[n->weight].t;
	const struct dnnq_qtensor *b = n->bias >= 0 ? &m->tensors[n->bias].t : NULL;
	if (b && (b->dtype != DNNQ_DTYPE_F32 || dnnq_qtensor_numel(b) != dnnq_qtensor_numel(a)))
		return BERR(DNNQ_E_FORMAT, "bias %d: want %zu f32 offsets", n->bias,
		            dnnq_qtensor_numel(a));
	d->op.ewlin = (struct dnnq_elementwise_linear_desc){
		.isa = isa, .channels = dnnq_qtensor_numel(a), .a = a->data,
		.b = b ? b->data : NULL, .out_qp = out_qp(n),
	};
	return DNNQ_OK;
}

static int pool_geom(const struct dnnq_model_node *n, struct dnnq_pooling_geom *g)
{
	*g = (struct dnnq_pooling_geom){ n->pool[0], n->pool[1], n->pool[2], n->pool[3], n->pool[4],
	                                 n->pool[5], n->pool[6], n->pool[7], n->pool[8], n->pool[9],
	                                 n->ceil_mode };
	return DNNQ_OK;
}

static int node_desc(const struct dnnq_model *m, size_t j, enum dnnq_isa isa,
                     struct dnnq_node_desc *d, struct weights *wt, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &m->nodes[j];
	switch (n->kind) {
	case DNNQ_NODE_CONV:
		return conv_desc(m, j, isa, d, wt, diag);
	case DNNQ_NODE_FC:
		return fc_desc(m, j, isa, d, wt, diag);
	case DNNQ_NODE_MAXPOOL:
		d->op.maxpool.isa = isa;
		return pool_geom(n, &d->op.maxpool.geom);
	case DNNQ_NODE_AVGPOOL:
		d->op.avgpool.isa = isa;
		d->op.avgpool.count_include_pad = n->count_include_pad;
		d->op.avgpool.out_qp = out_qp(n);
		return pool_geom(n, &d->op.avgpool.geom);
	case DNNQ_NODE_GAVGPOOL:
		d->op.gavgpool = (struct dnnq_gavgpool_desc){ .isa = isa, .out_qp = out_qp(n) };
		return DNNQ_OK;
	case DNNQ_NODE_ELTWISE:
		d->op.eltwise = (struct dnnq_eltwise_desc){ .isa = isa, .op = n->op,
		                                            .out_qp = out_qp(n) };
		return DNNQ_OK;
	case DNNQ_NODE_ACTIVATION:
		d->op.activation = (struct dnnq_activation_desc){
			.isa = isa, .kind = n->op, .p = { n->params[0], n->params[1], n->params[2],
			                                  n->params[3] }, .out_qp = out_qp(n) };
		return DNNQ_OK;
	case DNNQ_NODE_CONVERT:
		d->op.convert = (struct dnnq_convert_desc){ .isa = isa, .kind = n->op, .qp = out_qp(n) };
		return DNNQ_OK;
	case DNNQ_NODE_SOFTMAX:
		d->op.softmax.isa = isa;
		return DNNQ_OK;
	case DNNQ_NODE_ELTWISE_LINEAR:
		return ewlin_desc(m, j, isa, d, diag);
	case DNNQ_NODE_CONCAT:
		d->op.concat = (struct dnnq_concat_desc){ .isa = isa, .axis = n->axis,
		                                          .out_qp = out_qp(n) };
		return DNNQ_OK;
	case DNNQ_NODE_RESHAPE:
		d->op.reshape.ndim = n->ndim;
		memcpy(d->op.reshape.dims, n->dims, sizeof n->dims);
		return DNNQ_OK;
	default:
		return BERR(DNNQ_E_UNSUPPORTED, "kind %d: unknown", n->kind);
	}
}

static int add_node(struct dnnq_graph *g, const struct dnnq_model *m, size_t j,
                    enum dnnq_isa isa, struct dnnq_weights_cache *cache, int *vals,
                    struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &m->nodes[j];
	struct dnnq_node_desc d;
	memset(&d, 0, sizeof d);
	d.kind = n->kind;
	d.name = n->name;
	if (n->ninputs > DNNQ_GRAPH_MAX_NODE_INPUTS)
		return BERR(DNNQ_E_FORMAT, "ninputs %u: at most %d", n->ninputs,
		            DNNQ_GRAPH_MAX_NODE_INPUTS);
	d.ninputs = n->ninputs;
	for (uint32_t i = 0; i < n->ninputs; i++) {
		if (n->inputs[i] < 0 || (size_t)n->inputs[i] >= dnnq_model_node_value(m, j))
			return BERR(DNNQ_E_FORMAT, "input %d: no such tensor", n->inputs[i]);
		d.inputs[i] = vals[n->inputs[i]];
	}
	struct weights wt = { 0 };
	int rc = node_desc(m, j, isa, &d, &wt, diag);
	if (n->kind == DNNQ_NODE_CONV) {
		d.op.conv.cache = cache;
		d.op.conv.cache_key = n->name;
	} else if (n->kind == DNNQ_NODE_FC) {
		d.op.fc.cache = cache;
		d.op.fc.cache_key = n->name;
	}
	if (!rc) {
		rc = dnnq_graph_add_node(g, &d, diag);
		if (rc >= 0) {
			vals[dnnq_model_node_value(m, j)] = rc;
			rc = DNNQ_OK;
		}
	}
	if (wt.owned)
		free(wt.w);
	return rc;
}

static int add_constant(struct dnnq_graph *g, const struct dnnq_model *m, size_t c, int *vals,
                        struct dnnq_diag *diag)
{
	int32_t id = m->constants[c];
	if (id < 0 || (size_t)id >= m->ntensors)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: constant %zu: tensor %d: no such"
		                     " tensor", c, id);
	const struct dnnq_model_tensor *mt = &m->tensors[id];
	struct dnnq_qparams qp;
	if (mt->t.dtype != DNNQ_DTYPE_U8 || mt->t.nqparams != 1 || dnnq_qtensor_qparams(&mt->t, 0, &qp))
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: constant %zu: tensor %d ('%s'): must"
		                     " be u8 with per-tensor qparams", c, id, mt->name);
	int rc = dnnq_graph_add_constant(g, mt->name, mt->t.ndim, mt->t.dims, &qp, mt->t.data, diag);
	if (rc < 0)
		return rc;
	vals[m->ninputs + c] = rc;
	return DNNQ_OK;
}

static int build(struct dnnq_graph *g, const struct dnnq_model *m, enum dnnq_isa isa,
                 struct dnnq_weights_cache *cache, int *vals, struct dnnq_diag *diag)
{
	int rc;
	for (size_t i = 0; i < m->ninputs; i++) {
		const struct dnnq_model_io *io = &m->inputs[i];
		if (io->ndim > DNNQ_MAX_DIMS)
			return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: input %zu: rank %u", i, io->ndim);
		rc = dnnq_graph_add_input(g, io->name, io->dtype, io->ndim, io->dims, &io->qp, diag);
		if (rc < 0)
			return rc;
		vals[i] = rc;
	}
	for (size_t c = 0; c < m->nconstants; c++)
		if ((rc = add_constant(g, m, c, vals, diag)))
			return rc;
	for (size_t j = 0; j < m->nnodes; j++)
		if ((rc = add_node(g, m, j, isa, cache, vals, diag)))
			return rc;
	for (size_t i = 0; i < m->noutputs; i++) {
		int v = m->outputs[i].value;
		if (v < 0 || (size_t)v >= dnnq_model_num_values(m))
			return dnnq_diag_set(diag, DNNQ_E_FORMAT, "model: output %zu: value %d: no such"
			                     " tensor", i, v);
		if ((rc = dnnq_graph_add_output(g, vals[v], diag)))
			return rc;
	}
	return dnnq_graph_finalize(g, diag);
}

int dnnq_model_build(const struct dnnq_model *m, enum dnnq_isa isa, struct dnnq_graph **out,
                     struct dnnq_diag *diag)
{
	return dnnq_model_build_shared(m, isa, NULL, out, diag);
}

int dnnq_model_build_shared(const struct dnnq_model *m, enum dnnq_isa isa,
                            struct dnnq_weights_cache *cache, struct dnnq_graph **out,
                            struct dnnq_diag *diag)
{
	if (!m || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "model: NULL argument");
	struct dnnq_graph *g;
	int *vals = calloc(dnnq_model_num_values(m) + 1, sizeof *vals);
	int rc = vals ? dnnq_graph_create(&g) : DNNQ_E_NOMEM;
	if (rc) {
		free(vals);
		return dnnq_diag_set(diag, rc, "model: cannot create the graph");
	}
	rc = build(g, m, isa, cache, vals, diag);
	free(vals);
	if (rc) {
		dnnq_graph_destroy(g);
		return rc;
	}
	*out = g;
	return DNNQ_OK;
}
