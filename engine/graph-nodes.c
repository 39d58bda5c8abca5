/*
 * One adapter per operator kind (struct node_ops): what the graph needs to
 * know of an operator — how it checks and creates itself from its input
 * tensors, the shape it produces, and how it binds and runs. The operators
 * themselves know nothing of the graph.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph-internal.h"
#include "engine/op.h"
#include "engine/quant-scalar.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)

/* Creates an operator of struct `type` into n->op (through a typed pointer:
 * n->op is a void *) and names the node in a failure's message. */
#define CREATE(type, fn, desc) ({                                   \
	struct type *op_ = NULL;                                    \
	int rc_ = fn(desc, &op_, diag);                             \
	n->op = op_;                                                \
	wrap(rc_, n, diag);                                         \
})

/* The input must be of type dt and the given rank (0: any). */
static int want_type(struct dnnq_graph *g, struct gnode *n, size_t k, enum dnnq_dtype dt,
                     uint32_t rank, struct dnnq_diag *diag)
{
	struct gtensor *t = gin(g, n, k);
	if (t->dtype != dt)
		return FAIL(DNNQ_E_DTYPE, "node '%s': input '%s' is %s: need %s", n->name, t->name,
		            dnnq_dtype_name(t->dtype), dnnq_dtype_name(dt));
	if (rank && t->ndim != rank)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' has rank %u: need %u", n->name,
		            t->name, t->ndim, rank);
	return DNNQ_OK;
}

static int want_u8(struct dnnq_graph *g, struct gnode *n, size_t k, uint32_t rank,
                   struct dnnq_diag *diag)
{
	return want_type(g, n, k, DNNQ_DTYPE_U8, rank, diag);
}

static void same_shape(struct gtensor *out, const struct gtensor *in)
{
	out->ndim = in->ndim;
	memcpy(out->dims, in->dims, sizeof out->dims);
}

static int wrap(int rc, const struct gnode *n, struct dnnq_diag *diag)
{
	if (rc && diag) {
		char msg[sizeof diag->msg];
		snprintf(msg, sizeof msg, "%s", diag->msg);
		dnnq_diag_set(diag, rc, "node '%s': %s", n->name, msg);
	}
	return rc;
}

static int infer_same(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                      struct dnnq_diag *diag)
{
	(void)diag;
	same_shape(out, gin(g, n, 0));
	return DNNQ_OK;
}

static int no_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	(void)g;
	(void)n;
	(void)nthreads;
	return DNNQ_OK;
}

/* fp32 adapters (the end of this file) */
static const struct node_ops conv_f32_ops, fc_f32_ops, pool_f32_ops, eltwise_f32_ops,
	act_f32_ops, softmax_f32_ops, ewlin_f32_ops, concat_f32_ops;

/* ---- Conv ---- */

/* A convolution's input: NHWC of type dt with cin channels. */
static int conv_input(struct dnnq_graph *g, struct gnode *n, enum dnnq_dtype dt, size_t cin,
                      struct dnnq_diag *diag)
{
	struct gtensor *x = gin(g, n, 0);
	int rc = want_type(g, n, 0, dt, 4, diag);
	if (rc)
		return rc;
	if ((size_t)x->dims[3] != cin)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' has %lld channels, cin = %zu",
		            n->name, x->name, (long long)x->dims[3], cin);
	return DNNQ_OK;
}

static int conv_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                       struct dnnq_diag *diag)
{
	struct dnnq_conv_desc *d = &n->desc.op.conv;
	struct gtensor *x = gin(g, n, 0);
	int rc = conv_input(g, n, DNNQ_DTYPE_U8, d->cin, diag);
	if (rc)
		return rc;
	if (d->out_dtype != DNNQ_DTYPE_U8 && d->out_dtype != DNNQ_DTYPE_F32 &&
	    d->out_dtype != DNNQ_DTYPE_S32)
		return FAIL(DNNQ_E_DTYPE, "node '%s': output dtype must be u8, s32 or f32", n->name);
	d->in_qp = x->qp;
	if ((rc = CREATE(dnnq_conv, dnnq_conv_create, d)))
		return rc;
	out->dtype = d->out_dtype;
	out->qp = d->out_qp;
	out->ndim = 4;
	out->dims[3] = (int64_t)d->cout;
	return DNNQ_OK;
}

/* A convolution's output dims: oh x ow from its operator's geometry
 * (size_rc: the operator's answer, non-zero when the input is smaller
 * than the kernel). */
static int conv_dims(struct dnnq_graph *g, struct gnode *n, struct gtensor *out, int size_rc,
                     size_t oh, size_t ow, struct dnnq_diag *diag)
{
	struct gtensor *x = gin(g, n, 0);
	if (size_rc)
		return FAIL(DNNQ_E_SHAPE, "node '%s': a %lldx%lld input is smaller than the kernel",
		            n->name, (long long)x->dims[1], (long long)x->dims[2]);
	out->dims[0] = x->dims[0];
	out->dims[1] = (int64_t)oh;
	out->dims[2] = (int64_t)ow;
	return DNNQ_OK;
}

static int conv_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                      struct dnnq_diag *diag)
{
	struct gtensor *x = gin(g, n, 0);
	size_t oh = 0, ow = 0;
	int rc = dnnq_conv_output_size(n->op, (size_t)x->dims[1], (size_t)x->dims[2], &oh, &ow);
	return conv_dims(g, n, out, rc, oh, ow, diag);
}

static int conv_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct gtensor *x = gin(g, n, 0);
	return dnnq_conv_setup(n->op, (size_t)x->dims[0], (size_t)x->dims[1], (size_t)x->dims[2],
	                       x->buf, g->t[n->out].buf, nthreads);
}

static int conv_run(struct gnode *n, const struct dnnq_executor *ex)
{
	return dnnq_conv_run(n->op, ex);
}

static void conv_destroy(struct gnode *n)
{
	dnnq_conv_destroy(n->op);
}

static int conv_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct gtensor *x = gin(g, n, 0);
	return dnnq_conv_reference(n->op, (size_t)x->dims[0], (size_t)x->dims[1],
	                           (size_t)x->dims[2], in[0], out, g->shadow_ex);
}

static const struct node_ops conv_ops = { conv_create, conv_infer, conv_setup, conv_run,
                                          conv_destroy, conv_ref, false, false };

bool dnnq_node_takes_table(const struct gnode *n)
{
	return n->ops == &conv_ops;
}

int dnnq_node_set_table(struct gnode *n, const uint8_t *table)
{
	return dnnq_node_takes_table(n) ? dnnq_conv_set_lut(n->op, table) : DNNQ_E_INVAL;
}

int dnnq_node_set_post(struct gnode *n, const struct gnode *e)
{
	if (!dnnq_node_takes_table(n) || (e && !dnnq_node_runs_at(e)))
		return DNNQ_E_INVAL;
	return dnnq_conv_set_post(n->op, e ? dnnq_eltwise_run_at : NULL, e ? e->op : NULL);
}

bool dnnq_node_takes_pre(const struct gnode *n)
{
	return n->ops == &conv_ops && dnnq_conv_can_pre(n->op);
}

int dnnq_node_set_pre(struct gnode *n, const struct gnode *e)
{
	if (!dnnq_node_takes_pre(n))
		return DNNQ_E_INVAL;
	return dnnq_conv_set_pre(n->op, e ? dnnq_binary_pixels : NULL, e ? e->op : NULL);
}

int dnnq_node_run_chain(struct gnode *n, struct gnode *next, const struct dnnq_executor *ex)
{
	if (!dnnq_node_takes_pre(n) || !dnnq_node_takes_pre(next))
		return DNNQ_E_INVAL;
	return dnnq_conv_run_chain(n->op, next->op, ex);
}

bool dnnq_node_runs_bands(const struct gnode *n)
{
	return dnnq_node_takes_pre(n) && dnnq_conv_bands_pay(n->op);
}

int dnnq_node_run_bands(struct gnode *n, struct gnode *dw, struct gnode *pw, uint8_t *buf,
                        size_t stride, const struct dnnq_executor *ex)
{
	if (!dnnq_node_takes_pre(n) || !dnnq_node_sums_rows(dw) || (pw && !dnnq_node_takes_pre(pw)))
		return DNNQ_E_INVAL;
	return dnnq_conv_run_bands(n->op, dw->op, pw ? pw->op : NULL, buf, stride, ex);
}

bool dnnq_node_sums_rows(const struct gnode *n)
{
	return n->ops == &conv_ops && dnnq_conv_can_sum(n->op);
}

int dnnq_node_set_sums(struct gnode *n, bool on)
{
	return n->ops == &conv_ops ? dnnq_conv_set_sums(n->op, on) : DNNQ_E_INVAL;
}

#define BERR(rc, ...) dnnq_op_build_err(b, diag, rc, __VA_ARGS__)

/* The cache key of conv or FC n's packed weights: "n/" and its name, or
 * when other convs or FCs read its weight tensor (b->shared), "t/" and the
 * tensor's with the checksum of its bytes (b->sums), its groups, kernel
 * and 16-bit accumulation (the operators check the rest: their kind, n,
 * k, the layout's size). The prefixes keep the two apart whatever a file
 * names its nodes. */
static const char *weights_key(struct dnnq_op_build *b, const struct dnnq_model_node *n)
{
	if (b->shared && n->weight >= 0 && (size_t)n->weight < b->m->ntensors &&
	    b->shared[n->weight])
		snprintf(b->key, sizeof b->key, "t/%s#%d/c%08" PRIx32 "/g%u/%ux%u/a%u.%u.%u",
		         b->m->tensors[n->weight].name, n->weight, b->sums[n->weight], n->groups,
		         n->kernel[0], n->kernel[1], n->acc16, n->acc16_nbits, n->acc16_spill);
	else if (b->perm)
		/* a channel order's CRC32C too: a cache serving several models
		 * (--precision auto's trials) may see the node without it */
		snprintf(b->key, sizeof b->key, "n/%s/o%c%08" PRIx32, n->name,
		         b->perm_in ? 'i' : 'o', b->perm_sum);
	else
		snprintf(b->key, sizeof b->key, "n/%s", n->name);
	return b->key;
}

static int conv_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	struct dnnq_op_weights wt;
	size_t numel;
	if (!n->groups || n->cin % n->groups || n->cout % n->groups ||
	    !dnnq_mul_size((size_t)n->cout * n->kernel[0], (size_t)n->kernel[1] * (n->cin / n->groups),
	                   &numel))
		return BERR(DNNQ_E_SHAPE, "cin %u cout %u groups %u kernel %ux%u: invalid",
		            n->cin, n->cout, n->groups, n->kernel[0], n->kernel[1]);
	if (n->precision == DNNQ_PRECISION_FP32) {
		const float *w, *bias;
		int rc = dnnq_op_weights_f32(b, n->cout, numel, &w, &bias, diag);
		d->op.conv_f32 = (struct dnnq_f32_conv_desc){
			.isa = b->isa, .cin = n->cin, .cout = n->cout, .groups = n->groups,
			.kh = n->kernel[0], .kw = n->kernel[1], .stride_h = n->strides[0],
			.stride_w = n->strides[1], .dil_h = n->dilations[0], .dil_w = n->dilations[1],
			.pad_t = n->pads[0], .pad_l = n->pads[1], .pad_b = n->pads[2],
			.pad_r = n->pads[3], .w = w, .bias = bias, .relu = n->relu, .clip = n->clip,
			.clip_min = n->clip_min, .clip_max = n->clip_max, .cache = b->cache,
			.cache_key = weights_key(b, n),
		};
		return rc;
	}
	int rc = dnnq_op_weights(b, n->cout, numel, &wt, diag);
	if (rc)
		return rc;
	d->op.conv = (struct dnnq_conv_desc){
		.isa = b->isa, .cin = n->cin, .cout = n->cout, .groups = n->groups,
		.kh = n->kernel[0], .kw = n->kernel[1], .stride_h = n->strides[0],
		.stride_w = n->strides[1], .dil_h = n->dilations[0], .dil_w = n->dilations[1],
		.pad_t = n->pads[0], .pad_l = n->pads[1], .pad_b = n->pads[2], .pad_r = n->pads[3],
		.w = wt.w, .nwq = wt.nwq, .w_scale = wt.scale, .w_zero_point = wt.zp,
		.bias = wt.bias, .bias_i32 = wt.bias_i32, .out_dtype = n->out_dtype,
		.out_qp = dnnq_op_out_qp(n), .requant = n->requant, .relu = n->relu, .clip = n->clip,
		.clip_min = n->clip_min, .clip_max = n->clip_max, .acc16 = n->acc16,
		.acc16_opts = { n->acc16_nbits, n->acc16_spill }, .cache = b->cache,
		.cache_key = weights_key(b, n),
	};
	return DNNQ_OK;
}

/* The 16-bit accumulation attributes of a conv or an FC beyond their ranges:
 * nbits 1, and what dnnq-convert measured. */
static int check_acc16(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->acc16_nbits == 1) {
		snprintf(why, cap, "acc16_nbits 1: want 0 (default) or 2..8");
		return DNNQ_E_FORMAT;
	}
	if (n->acc16_measured > 1) {
		snprintf(why, cap, "acc16_measured %u: want 0 or 1", n->acc16_measured);
		return DNNQ_E_FORMAT;
	}
	if (!(n->acc16_saturation >= 0 && n->acc16_saturation <= 1) &&
	    !isnan(n->acc16_saturation)) {
		snprintf(why, cap, "acc16_saturation %g: want a rate in [0, 1] or NaN",
		         (double)n->acc16_saturation);
		return DNNQ_E_FORMAT;
	}
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_conv = {
	.kind = DNNQ_NODE_CONV, .name = "conv", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_WEIGHT) | DNNQ_A(DNNQ_A_BIAS) |
	         DNNQ_A(DNNQ_A_CIN) |
	         DNNQ_A(DNNQ_A_COUT) | DNNQ_A(DNNQ_A_GROUPS) | DNNQ_A(DNNQ_A_KERNEL) |
	         DNNQ_A(DNNQ_A_STRIDES) | DNNQ_A(DNNQ_A_DILATIONS) | DNNQ_A(DNNQ_A_PADS) |
	         DNNQ_A(DNNQ_A_RELU) | DNNQ_A(DNNQ_A_CLIP) | DNNQ_A(DNNQ_A_CLIP_MIN) |
	         DNNQ_A(DNNQ_A_CLIP_MAX) | DNNQ_A(DNNQ_A_REQUANT) | DNNQ_A_OUT_QP |
	         DNNQ_A(DNNQ_A_ACC16) | DNNQ_A(DNNQ_A_ACC16_NBITS) | DNNQ_A(DNNQ_A_ACC16_SPILL) |
	         DNNQ_A(DNNQ_A_ACC16_MEASURED),
	.check = check_acc16, .build = conv_build, .ops = &conv_ops,
	.ops_f32 = &conv_f32_ops,
};

/* ---- FC ---- */

/* An FC multiplies the last axis of an input of rank >= 2 ([..., k]); the
 * leading dims (the batch first) are its rows. */
static int fc_input(struct dnnq_graph *g, struct gnode *n, size_t k, struct dnnq_diag *diag)
{
	const struct gtensor *x = gin(g, n, 0);
	if (x->ndim < 2 || (size_t)x->dims[x->ndim - 1] != k)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' must be [batch, ..., %zu]", n->name,
		            x->name, k);
	return DNNQ_OK;
}

static size_t fc_rows(const struct gtensor *x)
{
	size_t rows = 1;
	for (uint32_t i = 0; i + 1 < x->ndim; i++)
		rows *= (size_t)x->dims[i];
	return rows;
}

/* The output: x's leading dims, then n. */
static void fc_shape(struct gtensor *out, const struct gtensor *x, size_t nout)
{
	out->ndim = x->ndim;
	memcpy(out->dims, x->dims, sizeof out->dims);
	out->dims[x->ndim - 1] = (int64_t)nout;
}

static int fc_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	struct dnnq_fc_desc *d = &n->desc.op.fc;
	struct gtensor *x = gin(g, n, 0);
	int rc = fc_input(g, n, d->k, diag);
	if (rc)
		return rc;
	if (d->out_dtype != DNNQ_DTYPE_U8 && d->out_dtype != DNNQ_DTYPE_F32 &&
	    d->out_dtype != DNNQ_DTYPE_S32)
		return FAIL(DNNQ_E_DTYPE, "node '%s': output dtype must be u8, s32 or f32", n->name);
	d->in_dtype = x->dtype;
	if (x->dtype == DNNQ_DTYPE_U8) {
		d->in_qp = x->qp;
		d->dynamic = false;
	}
	if ((rc = CREATE(dnnq_fc, dnnq_fc_create, d)))
		return rc;
	out->dtype = d->out_dtype;
	out->qp = d->out_qp;
	fc_shape(out, x, d->n);
	return DNNQ_OK;
}

static int fc_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                    struct dnnq_diag *diag)
{
	(void)diag;
	const struct gtensor *x = gin(g, n, 0);
	fc_shape(out, x, (size_t)out->dims[x->ndim - 1]);
	return DNNQ_OK;
}

static int fc_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct gtensor *x = gin(g, n, 0);
	(void)nthreads;
	return dnnq_fc_setup(n->op, fc_rows(x), x->buf, g->t[n->out].buf);
}

static int fc_run(struct gnode *n, const struct dnnq_executor *ex)
{
	return dnnq_fc_run(n->op, ex);
}

static void fc_destroy(struct gnode *n)
{
	dnnq_fc_destroy(n->op);
}

static int fc_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	return dnnq_fc_reference(n->op, fc_rows(gin(g, n, 0)), in[0], out, g->shadow_ex);
}

static const struct node_ops fc_ops = { fc_create, fc_infer, fc_setup, fc_run, fc_destroy,
                                        fc_ref, false, false };

static int fc_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	struct dnnq_op_weights wt;
	size_t numel;
	if (!dnnq_mul_size(n->n, n->k, &numel))
		return BERR(DNNQ_E_SHAPE, "n %u k %u: the weight count overflows", n->n, n->k);
	if (n->precision == DNNQ_PRECISION_FP32) {
		const float *w, *bias;
		int rc = dnnq_op_weights_f32(b, n->n, numel, &w, &bias, diag);
		d->op.fc_f32 = (struct dnnq_f32_fc_desc){
			.isa = b->isa, .n = n->n, .k = n->k, .w = w, .bias = bias, .relu = n->relu,
			.clip = n->clip, .clip_min = n->clip_min, .clip_max = n->clip_max,
			.cache = b->cache, .cache_key = weights_key(b, n),
		};
		return rc;
	}
	int rc = dnnq_op_weights(b, n->n, numel, &wt, diag);
	if (rc)
		return rc;
	d->op.fc = (struct dnnq_fc_desc){
		.isa = b->isa, .n = n->n, .k = n->k, .w = wt.w, .nwq = wt.nwq, .w_scale = wt.scale,
		.w_zero_point = wt.zp, .bias = wt.bias, .bias_i32 = wt.bias_i32,
		.dynamic = n->dynamic, .out_dtype = n->out_dtype, .out_qp = dnnq_op_out_qp(n),
		.requant = n->requant, .relu = n->relu, .clip = n->clip, .clip_min = n->clip_min,
		.clip_max = n->clip_max, .acc16 = n->acc16,
		.acc16_opts = { n->acc16_nbits, n->acc16_spill }, .cache = b->cache,
		.cache_key = weights_key(b, n),
	};
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_fc = {
	.kind = DNNQ_NODE_FC, .name = "fc", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_WEIGHT) | DNNQ_A(DNNQ_A_BIAS) |
	         DNNQ_A(DNNQ_A_N) | DNNQ_A(DNNQ_A_K) | DNNQ_A(DNNQ_A_DYNAMIC) | DNNQ_A(DNNQ_A_RELU) |
	         DNNQ_A(DNNQ_A_CLIP) | DNNQ_A(DNNQ_A_CLIP_MIN) |
	         DNNQ_A(DNNQ_A_CLIP_MAX) | DNNQ_A(DNNQ_A_REQUANT) | DNNQ_A_OUT_QP |
	         DNNQ_A(DNNQ_A_ACC16) | DNNQ_A(DNNQ_A_ACC16_NBITS) | DNNQ_A(DNNQ_A_ACC16_SPILL) |
	         DNNQ_A(DNNQ_A_ACC16_MEASURED),
	.check = check_acc16, .build = fc_build, .ops = &fc_ops,
	.ops_f32 = &fc_f32_ops,
};

/* ---- pooling ---- */

static int pool_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                       struct dnnq_diag *diag)
{
	int rc = want_u8(g, n, 0, 4, diag);
	if (rc)
		return rc;
	struct gtensor *x = gin(g, n, 0);
	same_shape(out, x);
	out->dtype = DNNQ_DTYPE_U8;
	switch (n->desc.kind) {
	case DNNQ_NODE_MAXPOOL:
		n->desc.op.maxpool.qp = x->qp;
		out->qp = x->qp;
		rc = CREATE(dnnq_maxpool, dnnq_maxpool_create, &n->desc.op.maxpool);
		break;
	case DNNQ_NODE_AVGPOOL:
		n->desc.op.avgpool.in_qp = x->qp;
		out->qp = n->desc.op.avgpool.out_qp;
		rc = CREATE(dnnq_avgpool, dnnq_avgpool_create, &n->desc.op.avgpool);
		break;
	default:
		n->desc.op.gavgpool.in_qp = x->qp;
		out->qp = n->desc.op.gavgpool.out_qp;
		rc = CREATE(dnnq_gavgpool, dnnq_gavgpool_create, &n->desc.op.gavgpool);
		break;
	}
	return rc;
}

static int pool_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                      struct dnnq_diag *diag)
{
	struct gtensor *x = gin(g, n, 0);
	same_shape(out, x);
	if (n->desc.kind == DNNQ_NODE_GAVGPOOL) {
		out->dims[1] = out->dims[2] = 1;
		return DNNQ_OK;
	}
	const struct dnnq_pooling_geom *geom = n->desc.kind == DNNQ_NODE_MAXPOOL
		? &n->desc.op.maxpool.geom : &n->desc.op.avgpool.geom;
	size_t oh, ow;
	int rc = dnnq_pooling_output_size(geom, (size_t)x->dims[1], (size_t)x->dims[2], &oh, &ow, diag);
	out->dims[1] = (int64_t)oh;
	out->dims[2] = (int64_t)ow;
	return wrap(rc, n, diag);
}

static int pool_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct gtensor *x = gin(g, n, 0);
	size_t d[4] = { (size_t)x->dims[0], (size_t)x->dims[1], (size_t)x->dims[2], (size_t)x->dims[3] };
	uint8_t *y = g->t[n->out].buf;
	/* the producer summed its rows in this run (graph.c, fuse_pools) */
	const uint32_t *sums = n->sums_of && !g->unfused ? dnnq_conv_row_sums(n->sums_of->op) : NULL;
	(void)nthreads;
	switch (n->desc.kind) {
	case DNNQ_NODE_MAXPOOL: return dnnq_maxpool_setup(n->op, d[0], d[1], d[2], d[3], x->buf, y);
	case DNNQ_NODE_AVGPOOL: return dnnq_avgpool_setup(n->op, d[0], d[1], d[2], d[3], x->buf, y);
	default:
		return sums ? dnnq_gavgpool_setup_sums(n->op, d[0], d[1], d[2], d[3], sums, y)
		            : dnnq_gavgpool_setup(n->op, d[0], d[1], d[2], d[3], x->buf, y);
	}
}

static int pool_run(struct gnode *n, const struct dnnq_executor *ex)
{
	switch (n->desc.kind) {
	case DNNQ_NODE_MAXPOOL: return dnnq_maxpool_run(n->op, ex);
	case DNNQ_NODE_AVGPOOL: return dnnq_avgpool_run(n->op, ex);
	default:                return dnnq_gavgpool_run(n->op, ex);
	}
}

static void pool_destroy(struct gnode *n)
{
	switch (n->desc.kind) {
	case DNNQ_NODE_MAXPOOL: dnnq_maxpool_destroy(n->op); break;
	case DNNQ_NODE_AVGPOOL: dnnq_avgpool_destroy(n->op); break;
	default:                dnnq_gavgpool_destroy(n->op); break;
	}
}

static int pool_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	struct gtensor *x = gin(g, n, 0);
	size_t d[4] = { (size_t)x->dims[0], (size_t)x->dims[1], (size_t)x->dims[2], (size_t)x->dims[3] };
	switch (n->desc.kind) {
	case DNNQ_NODE_MAXPOOL: return dnnq_maxpool_reference(n->op, d[0], d[1], d[2], d[3], in[0], out);
	case DNNQ_NODE_AVGPOOL: return dnnq_avgpool_reference(n->op, d[0], d[1], d[2], d[3], in[0], out);
	default:                return dnnq_gavgpool_reference(n->op, d[0], d[1], d[2], d[3], in[0], out);
	}
}

static const struct node_ops pool_ops = { pool_create, pool_infer, pool_setup, pool_run,
                                          pool_destroy, pool_ref, false, false };

bool dnnq_node_pools_sums(const struct gnode *n)
{
	return n->ops == &pool_ops && n->desc.kind == DNNQ_NODE_GAVGPOOL;
}

struct dnnq_pooling_geom dnnq_model_pool_geom(const struct dnnq_model_node *n)
{
	return (struct dnnq_pooling_geom){ n->pool[0], n->pool[1], n->pool[2], n->pool[3],
	                                   n->pool[4], n->pool[5], n->pool[6], n->pool[7],
	                                   n->pool[8], n->pool[9], n->ceil_mode };
}

static int maxpool_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                         struct dnnq_diag *diag)
{
	(void)diag;
	d->op.maxpool = (struct dnnq_maxpool_desc){ .isa = b->isa,
	                                            .geom = dnnq_model_pool_geom(&b->m->nodes[b->j]) };
	return DNNQ_OK;
}

static int avgpool_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                         struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	(void)diag;
	d->op.avgpool = (struct dnnq_avgpool_desc){ .isa = b->isa, .geom = dnnq_model_pool_geom(n),
	                                            .count_include_pad = n->count_include_pad,
	                                            .out_qp = dnnq_op_out_qp(n) };
	return DNNQ_OK;
}

static int gavgpool_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                          struct dnnq_diag *diag)
{
	(void)diag;
	d->op.gavgpool = (struct dnnq_gavgpool_desc){ .isa = b->isa,
	                                              .out_qp = dnnq_op_out_qp(&b->m->nodes[b->j]) };
	return DNNQ_OK;
}

#define POOL_A (DNNQ_A(DNNQ_A_POOL) | DNNQ_A(DNNQ_A_CEIL_MODE))
const struct dnnq_op_def dnnq_op_maxpool = {
	.kind = DNNQ_NODE_MAXPOOL, .name = "maxpool", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | POOL_A, .build = maxpool_build,
	.ops = &pool_ops, .ops_f32 = &pool_f32_ops,
};
const struct dnnq_op_def dnnq_op_avgpool = {
	.kind = DNNQ_NODE_AVGPOOL, .name = "avgpool", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | POOL_A | DNNQ_A(DNNQ_A_COUNT_INCLUDE_PAD) | DNNQ_A_OUT_QP,
	.build = avgpool_build, .ops = &pool_ops, .ops_f32 = &pool_f32_ops,
};
const struct dnnq_op_def dnnq_op_gavgpool = {
	.kind = DNNQ_NODE_GAVGPOOL, .name = "gavgpool", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A_OUT_QP, .build = gavgpool_build,
	.ops = &pool_ops, .ops_f32 = &pool_f32_ops,
};

/* ---- Add, Mul, Sum ---- */

static int eltwise_bcast(struct dnnq_graph *g, struct gnode *n, enum dnnq_broadcast *bcast,
                         size_t *channels, struct dnnq_diag *diag);

static int eltwise_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                          struct dnnq_diag *diag)
{
	struct dnnq_eltwise_desc *d = &n->desc.op.eltwise;
	struct gtensor *x0 = gin(g, n, 0);
	d->ninputs = n->desc.ninputs;
	for (size_t k = 0; k < d->ninputs; k++) {
		int rc = want_u8(g, n, k, 0, diag);
		if (rc)
			return rc;
		d->in_qp[k] = gin(g, n, k)->qp;
	}
	int rc = eltwise_bcast(g, n, d->bcast, &d->channels, diag);
	if (rc)
		return rc;
	same_shape(out, x0);
	out->dtype = DNNQ_DTYPE_U8;
	out->qp = d->out_qp;
	return CREATE(dnnq_eltwise, dnnq_eltwise_create, d);
}

/* How each input of an eltwise node meets input 0 (an activation): full
 * size, a scalar or a per-channel constant. */
static int eltwise_bcast(struct dnnq_graph *g, struct gnode *n, enum dnnq_broadcast *bcast,
                         size_t *channels, struct dnnq_diag *diag)
{
	struct gtensor *x0 = gin(g, n, 0);
	size_t c = (size_t)x0->dims[x0->ndim - 1];
	if (x0->const_data)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input 0 must not be a constant", n->name);
	*channels = c;
	for (size_t k = 0; k < n->desc.ninputs; k++) {
		struct gtensor *t = gin(g, n, k);
		if (!t->const_data) {
			if (t->ndim != x0->ndim || memcmp(t->dims + 1, x0->dims + 1,
			                                  (t->ndim - 1) * sizeof *t->dims))
				return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' has another shape than '%s'",
				            n->name, t->name, x0->name);
			bcast[k] = DNNQ_BCAST_NONE;
		} else if (gnumel(t) == 1) {
			bcast[k] = DNNQ_BCAST_SCALAR;
		} else if (gnumel(t) == c && t->dims[t->ndim - 1] == (int64_t)c) {
			bcast[k] = DNNQ_BCAST_CHANNEL;
		} else {
			return FAIL(DNNQ_E_SHAPE, "node '%s': constant '%s' must have 1 or %zu (channel) "
			            "elements", n->name, t->name, c);
		}
	}
	return DNNQ_OK;
}

static int eltwise_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	const uint8_t *in[DNNQ_ELTWISE_MAX_INPUTS];
	(void)nthreads;
	for (size_t k = 0; k < n->desc.ninputs; k++)
		in[k] = gin(g, n, k)->buf;
	return dnnq_eltwise_setup(n->op, gnumel(gin(g, n, 0)), in, g->t[n->out].buf, NULL);
}

static int eltwise_run(struct gnode *n, const struct dnnq_executor *ex)
{
	return dnnq_eltwise_run(n->op, ex);
}

static void eltwise_destroy(struct gnode *n)
{
	dnnq_eltwise_destroy(n->op);
}

static int eltwise_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in,
                       float *out)
{
	const struct dnnq_eltwise_desc *d = &n->desc.op.eltwise;
	dnnq_eltwise_ref(d->op, d->ninputs, in, d->bcast, d->channels, gnumel(gin(g, n, 0)), out);
	return DNNQ_OK;
}

static const struct node_ops eltwise_ops = { eltwise_create, infer_same, eltwise_setup,
                                             eltwise_run, eltwise_destroy, eltwise_ref, true,
                                             false };

bool dnnq_node_runs_at(const struct gnode *n)
{
	return n->ops == &eltwise_ops && dnnq_eltwise_full_size(n->op);
}

static int eltwise_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                         struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	(void)diag;
	d->op.eltwise = (struct dnnq_eltwise_desc){ .isa = b->isa, .op = n->op,
	                                            .out_qp = dnnq_op_out_qp(n) };
	return DNNQ_OK;
}

/* A check of the op attribute against the kind's last valid value. */
static int check_op(const struct dnnq_model_node *n, uint32_t last, const char *what,
                    char *why, size_t cap)
{
	if (n->op <= last)
		return DNNQ_OK;
	snprintf(why, cap, "op %u: not %s (0..%u)", n->op, what, last);
	return DNNQ_E_FORMAT;
}

static int eltwise_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	return check_op(n, DNNQ_ELTWISE_SUM_RELU, "an eltwise op", why, cap);
}

const struct dnnq_op_def dnnq_op_eltwise = {
	.kind = DNNQ_NODE_ELTWISE, .name = "eltwise", .min_inputs = 2,
	.max_inputs = DNNQ_ELTWISE_MAX_INPUTS,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_OP) | DNNQ_A_OUT_QP,
	.check = eltwise_check, .build = eltwise_build, .ops = &eltwise_ops,
	.ops_f32 = &eltwise_f32_ops,
};

/* ---- table activations ---- */

static int act_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                      struct dnnq_diag *diag)
{
	int rc = want_u8(g, n, 0, 0, diag);
	if (rc)
		return rc;
	n->desc.op.activation.in_qp = gin(g, n, 0)->qp;
	same_shape(out, gin(g, n, 0));
	out->dtype = DNNQ_DTYPE_U8;
	out->qp = n->desc.op.activation.out_qp;
	return CREATE(dnnq_activation, dnnq_activation_create, &n->desc.op.activation);
}

static int act_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	(void)nthreads;
	return dnnq_activation_setup(n->op, gnumel(gin(g, n, 0)), gin(g, n, 0)->buf,
	                             g->t[n->out].buf, NULL);
}

static int act_run(struct gnode *n, const struct dnnq_executor *ex)
{
	return dnnq_activation_run(n->op, ex);
}

static void act_destroy(struct gnode *n)
{
	dnnq_activation_destroy(n->op);
}

static int act_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	const struct dnnq_activation_desc *d = &n->desc.op.activation;
	dnnq_activation_ref(d->kind, &d->p, in[0], out, gnumel(gin(g, n, 0)));
	return DNNQ_OK;
}

static const struct node_ops act_ops = { act_create, infer_same, act_setup, act_run, act_destroy,
                                         act_ref, false, false };

const uint8_t *dnnq_node_table(const struct gnode *n)
{
	return n->ops == &act_ops ? dnnq_activation_table(n->op) : NULL;
}

static int act_build(struct dnnq_op_build *b, struct dnnq_node_desc *d, struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	(void)diag;
	d->op.activation = (struct dnnq_activation_desc){
		.isa = b->isa, .kind = n->op, .p = { n->params[0], n->params[1], n->params[2],
		                                     n->params[3] }, .out_qp = dnnq_op_out_qp(n) };
	return DNNQ_OK;
}

static int act_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	int rc = check_op(n, DNNQ_ACT_LAST, "an activation", why, cap);
	if (rc)
		return rc;
	struct dnnq_act_params p = { n->params[0], n->params[1], n->params[2], n->params[3] };
	return dnnq_activation_check_params((enum dnnq_activation_kind)n->op, &p, why, cap)
	       ? DNNQ_E_FORMAT : DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_activation = {
	.kind = DNNQ_NODE_ACTIVATION, .name = "activation", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_OP) | DNNQ_A(DNNQ_A_PARAMS) | DNNQ_A_OUT_QP,
	.check = act_check, .build = act_build, .ops = &act_ops, .ops_f32 = &act_f32_ops,
};

/* ---- Quantize, Dequantize ---- */

/* QUANTIZE_NCHW reads ONNX's f32 [N, C, H, W] and writes [N, H, W, C];
 * DEQUANTIZE_NCHW the reverse. */
static bool convert_is_nchw(const struct gnode *n)
{
	enum dnnq_convert_kind k = n->desc.op.convert.kind;
	return k == DNNQ_CONVERT_QUANTIZE_NCHW || k == DNNQ_CONVERT_DEQUANTIZE_NCHW ||
	       k == DNNQ_CONVERT_TO_NHWC || k == DNNQ_CONVERT_TO_NCHW;
}

static int convert_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                          struct dnnq_diag *diag)
{
	struct dnnq_convert_desc *d = &n->desc.op.convert;
	struct gtensor *x = gin(g, n, 0);
	bool q = d->kind == DNNQ_CONVERT_QUANTIZE || d->kind == DNNQ_CONVERT_QUANTIZE_NCHW;
	bool move = d->kind == DNNQ_CONVERT_TO_NHWC || d->kind == DNNQ_CONVERT_TO_NCHW;
	bool s8_in = d->kind == DNNQ_CONVERT_S8_TO_U8, s8_out = d->kind == DNNQ_CONVERT_U8_TO_S8;
	bool cast = d->kind == DNNQ_CONVERT_CAST;
	enum dnnq_dtype in = q || move ? DNNQ_DTYPE_F32 : s8_in ? DNNQ_DTYPE_S8 : DNNQ_DTYPE_U8;
	/* moved as they are, 4 bytes each; or cast to f32 */
	if ((move || cast) && x->dtype == DNNQ_DTYPE_S32)
		in = DNNQ_DTYPE_S32;
	if (x->dtype != in)
		return FAIL(DNNQ_E_DTYPE, "node '%s': input '%s' is %s: need %s", n->name, x->name,
		            dnnq_dtype_name(x->dtype), dnnq_dtype_name(in));
	if (cast && d->qp.scale != 1)
		return FAIL(DNNQ_E_INVAL, "node '%s': a cast's scale is 1 (not %g)", n->name,
		            d->qp.scale);
	d->from_s32 = cast && in == DNNQ_DTYPE_S32;
	if (!q && !move && !cast)
		d->qp = x->qp;
	same_shape(out, x);
	out->dtype = q || s8_in ? DNNQ_DTYPE_U8 : s8_out ? DNNQ_DTYPE_S8 : move ? in : DNNQ_DTYPE_F32;
	out->qp = q ? d->qp : (struct dnnq_qparams){ 0 };
	if (s8_in || s8_out) {       /* the same reals, the other storage */
		out->qp = x->qp;
		out->qp.zero_point += s8_in ? 128 : -128;
		out->qp.is_signed = s8_out;
		d->qp = s8_in ? out->qp : x->qp;
	}
	return CREATE(dnnq_convert, dnnq_convert_create, d);
}

static int convert_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                         struct dnnq_diag *diag)
{
	struct gtensor *x = gin(g, n, 0);
	if (!convert_is_nchw(n))
		return infer_same(g, n, out, diag);
	bool q = dnnq_convert_to_nhwc(n->desc.op.convert.kind);
	if (x->ndim != 4)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' has rank %u: need 4 (%s)", n->name,
		            x->name, x->ndim, q ? "[N, C, H, W]" : "[N, H, W, C]");
	static const int to_nhwc[4] = { 0, 2, 3, 1 }, to_nchw[4] = { 0, 3, 1, 2 };
	const int *perm = q ? to_nhwc : to_nchw;
	out->ndim = 4;
	for (int i = 0; i < 4; i++)
		out->dims[i] = x->dims[perm[i]];
	return DNNQ_OK;
}

/* batch, channels and spatial size of the input of an NCHW convert. */
static void convert_split(struct dnnq_graph *g, struct gnode *n, size_t *b, size_t *c,
                          size_t *hw)
{
	struct gtensor *x = gin(g, n, 0);
	bool q = dnnq_convert_to_nhwc(n->desc.op.convert.kind);
	*b = (size_t)x->dims[0];
	*c = (size_t)x->dims[q ? 1 : 3];
	*hw = (size_t)x->dims[q ? 2 : 1] * (size_t)x->dims[q ? 3 : 2];
}

static int convert_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	(void)nthreads;
	if (!convert_is_nchw(n))
		return dnnq_convert_setup(n->op, gnumel(gin(g, n, 0)), gin(g, n, 0)->buf,
		                          g->t[n->out].buf, NULL);
	size_t b, c, hw;
	convert_split(g, n, &b, &c, &hw);
	return dnnq_convert_setup_nchw(n->op, b, c, hw, gin(g, n, 0)->buf, g->t[n->out].buf,
	                               NULL);
}

static int convert_run(struct gnode *n, const struct dnnq_executor *ex)
{
	return dnnq_convert_run(n->op, ex);
}

static void convert_destroy(struct gnode *n)
{
	dnnq_convert_destroy(n->op);
}

/* Reshape changes no real value. */
static int identity_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in,
                        float *out)
{
	memcpy(out, in[0], gnumel(gin(g, n, 0)) * sizeof *out);
	return DNNQ_OK;
}

/* Quantize and Dequantize change no real value, the NCHW kinds its place. */
static int convert_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in,
                       float *out)
{
	if (!convert_is_nchw(n))
		return identity_ref(g, n, in, out);
	size_t b, c, hw;
	convert_split(g, n, &b, &c, &hw);
	dnnq_convert_ref(n->desc.op.convert.kind, b, c, hw, in[0], out);
	return DNNQ_OK;
}

static const struct node_ops convert_ops = { convert_create, convert_infer, convert_setup,
                                             convert_run, convert_destroy, convert_ref, false,
                                             false };

static int convert_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                         struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	(void)diag;
	d->op.convert = (struct dnnq_convert_desc){ .isa = b->isa, .kind = n->op,
	                                            .qp = dnnq_op_out_qp(n) };
	return DNNQ_OK;
}

static int convert_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	return check_op(n, DNNQ_CONVERT_CAST, "a convert kind", why, cap);
}

const struct dnnq_op_def dnnq_op_convert = {
	.kind = DNNQ_NODE_CONVERT, .name = "convert", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_OP) | DNNQ_A_OUT_QP, .check = convert_check,
	.build = convert_build, .ops = &convert_ops,
};

/* ---- Softmax ---- */

/* A kind that works along the last dim (`what`): of a rank-1 input, that
 * is the batch. A softmax there normalized across the batch, so one
 * item's value changed every other's (dynamic batching runs different
 * clients' requests as one batch); an fp32 ElementwiseLinear of 0
 * multipliers, which the batch's 0 matched when built, read one a batch
 * item past them (the heap's bytes in a client's output). */
static int last_dim_not_batch(struct dnnq_graph *g, const struct gnode *n, const char *what,
                              struct dnnq_diag *diag)
{
	const struct gtensor *x = gin(g, n, 0);
	if (x->ndim < 2)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' has rank %u: %s, its last dim, would "
		            "be the batch (want rank 2..%d)", n->name, x->name, x->ndim, what,
		            DNNQ_MAX_DIMS);
	return DNNQ_OK;
}

static int softmax_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                          struct dnnq_diag *diag)
{
	int rc = want_u8(g, n, 0, 0, diag);
	if (!rc)
		rc = last_dim_not_batch(g, n, "the softmax's axis", diag);
	if (rc)
		return rc;
	struct gtensor *x = gin(g, n, 0);
	n->desc.op.softmax.in_qp = x->qp;
	n->desc.op.softmax.channels = (size_t)x->dims[x->ndim - 1];
	same_shape(out, x);
	out->dtype = DNNQ_DTYPE_F32;
	return CREATE(dnnq_softmax, dnnq_softmax_create, &n->desc.op.softmax);
}

static int softmax_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct gtensor *x = gin(g, n, 0);
	(void)nthreads;
	return dnnq_softmax_setup(n->op, gnumel(x) / (size_t)x->dims[x->ndim - 1], x->buf,
	                          g->t[n->out].buf, NULL);
}

static int softmax_run(struct gnode *n, const struct dnnq_executor *ex)
{
	return dnnq_softmax_run(n->op, ex);
}

static void softmax_destroy(struct gnode *n)
{
	dnnq_softmax_destroy(n->op);
}

static int softmax_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in,
                       float *out)
{
	struct gtensor *x = gin(g, n, 0);
	size_t c = (size_t)x->dims[x->ndim - 1];
	dnnq_softmax_ref(in[0], out, gnumel(x) / c, c);
	return DNNQ_OK;
}

/* stable_inputs: the row's maximum indexes the exp table (m - x[i]) */
static const struct node_ops softmax_ops = { softmax_create, infer_same, softmax_setup,
                                             softmax_run, softmax_destroy, softmax_ref, false,
                                             true };

static int softmax_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                         struct dnnq_diag *diag)
{
	(void)diag;
	d->op.softmax.isa = b->isa;
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_softmax = {
	.kind = DNNQ_NODE_SOFTMAX, .name = "softmax", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION), .build = softmax_build,
	.ops = &softmax_ops, .ops_f32 = &softmax_f32_ops,
};

/* ---- ElementwiseLinear ---- */

static int ewlin_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                        struct dnnq_diag *diag)
{
	int rc = want_u8(g, n, 0, 0, diag);
	if (!rc)
		rc = last_dim_not_batch(g, n, "the channels", diag);
	if (rc)
		return rc;
	struct gtensor *x = gin(g, n, 0);
	struct dnnq_elementwise_linear_desc *d = &n->desc.op.ewlin;
	if (d->channels != (size_t)x->dims[x->ndim - 1])
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu channels, input '%s' has %lld", n->name,
		            d->channels, x->name, (long long)x->dims[x->ndim - 1]);
	d->in_qp = x->qp;
	same_shape(out, x);
	out->dtype = DNNQ_DTYPE_U8;
	out->qp = d->out_qp;
	rc = CREATE(dnnq_elementwise_linear, dnnq_elementwise_linear_create, d);
	if (rc)
		return rc;
	/* the reference needs a and b; the operator keeps its own copies */
	if (!(n->aux = calloc(2 * d->channels, sizeof *n->aux))) {
		dnnq_elementwise_linear_destroy(n->op);
		n->op = NULL;
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	}
	memcpy(n->aux, d->a, d->channels * sizeof *n->aux);
	if (d->b)
		memcpy(n->aux + d->channels, d->b, d->channels * sizeof *n->aux);
	return DNNQ_OK;
}

static int ewlin_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	(void)nthreads;
	return dnnq_elementwise_linear_setup(n->op, gnumel(gin(g, n, 0)), gin(g, n, 0)->buf,
	                                     g->t[n->out].buf, NULL);
}

static int ewlin_run(struct gnode *n, const struct dnnq_executor *ex)
{
	return dnnq_elementwise_linear_run(n->op, ex);
}

static void ewlin_destroy(struct gnode *n)
{
	dnnq_elementwise_linear_destroy(n->op);
}

static int ewlin_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	size_t c = n->desc.op.ewlin.channels;
	dnnq_elementwise_linear_ref(in[0], n->aux, n->aux + c, out, gnumel(gin(g, n, 0)), c);
	return DNNQ_OK;
}

static const struct node_ops ewlin_ops = { ewlin_create, infer_same, ewlin_setup, ewlin_run,
                                           ewlin_destroy, ewlin_ref, true, false };

static int ewlin_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                       struct dnnq_diag *diag)
{
	const struct dnnq_model *m = b->m;
	const struct dnnq_model_node *n = &m->nodes[b->j];
	if (n->weight < 0 || (size_t)n->weight >= m->ntensors ||
	    n->bias >= (int32_t)m->ntensors || m->tensors[n->weight].t.dtype != DNNQ_DTYPE_F32)
		return BERR(DNNQ_E_FORMAT, "weight %d: want an f32 tensor of multipliers", n->weight);
	const struct dnnq_qtensor *a = &m->tensors[n->weight].t;
	const struct dnnq_qtensor *bt = n->bias >= 0 ? &m->tensors[n->bias].t : NULL;
	if (bt && (bt->dtype != DNNQ_DTYPE_F32 || dnnq_qtensor_numel(bt) != dnnq_qtensor_numel(a)))
		return BERR(DNNQ_E_FORMAT, "bias %d: want %zu f32 offsets", n->bias,
		            dnnq_qtensor_numel(a));
	d->op.ewlin = (struct dnnq_elementwise_linear_desc){
		.isa = b->isa, .channels = dnnq_qtensor_numel(a), .a = a->data,
		.b = bt ? bt->data : NULL, .out_qp = dnnq_op_out_qp(n),
	};
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_elementwise_linear = {
	.kind = DNNQ_NODE_ELTWISE_LINEAR, .name = "elementwise_linear", .min_inputs = 1,
	.max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_WEIGHT) | DNNQ_A(DNNQ_A_BIAS) |
	         DNNQ_A_OUT_QP,
	.build = ewlin_build, .ops = &ewlin_ops, .ops_f32 = &ewlin_f32_ops,
};

/* ---- Concat ---- */

static int concat_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                         struct dnnq_diag *diag)
{
	struct dnnq_concat_desc *d = &n->desc.op.concat;
	struct gtensor *x0 = gin(g, n, 0);
	d->ninputs = n->desc.ninputs;
	d->ndims = x0->ndim;
	for (size_t k = 0; k < d->ninputs; k++) {
		int rc = want_u8(g, n, k, x0->ndim, diag);
		if (rc)
			return rc;
		if (gin(g, n, k)->const_data)
			return FAIL(DNNQ_E_SHAPE, "node '%s': constant inputs are not supported", n->name);
		d->in_qp[k] = gin(g, n, k)->qp;
	}
	if (d->axis == 0 || d->axis >= d->ndims)
		return FAIL(DNNQ_E_RANGE, "node '%s': axis %zu: must be 1..%zu (not the batch)",
		            n->name, d->axis, d->ndims - 1);
	same_shape(out, x0);
	out->dtype = DNNQ_DTYPE_U8;
	out->qp = d->out_qp;
	return CREATE(dnnq_concat, dnnq_concat_create, d);
}

static int concat_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                        struct dnnq_diag *diag)
{
	size_t axis = n->desc.op.concat.axis;
	struct gtensor *x0 = gin(g, n, 0);
	same_shape(out, x0);
	out->dims[axis] = 0;
	for (size_t k = 0; k < n->desc.ninputs; k++) {
		struct gtensor *t = gin(g, n, k);
		for (uint32_t i = 0; i < t->ndim; i++)
			if (i != axis && t->dims[i] != x0->dims[i])
				return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' dims[%u] = %lld, '%s' has %lld",
				            n->name, t->name, i, (long long)t->dims[i], x0->name,
				            (long long)x0->dims[i]);
		out->dims[axis] += t->dims[axis];
	}
	return DNNQ_OK;
}

static int concat_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	size_t dims[DNNQ_CONCAT_MAX_INPUTS][DNNQ_MAX_DIMS];
	const size_t *dp[DNNQ_CONCAT_MAX_INPUTS];
	const uint8_t *in[DNNQ_CONCAT_MAX_INPUTS];
	(void)nthreads;
	for (size_t k = 0; k < n->desc.ninputs; k++) {
		struct gtensor *t = gin(g, n, k);
		for (uint32_t i = 0; i < t->ndim; i++)
			dims[k][i] = (size_t)t->dims[i];
		dp[k] = dims[k];
		in[k] = t->buf;
	}
	return dnnq_concat_setup(n->op, dp, in, g->t[n->out].buf, NULL);
}

static int concat_run(struct gnode *n, const struct dnnq_executor *ex)
{
	return dnnq_concat_run(n->op, ex);
}

static void concat_destroy(struct gnode *n)
{
	dnnq_concat_destroy(n->op);
}

static int concat_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in,
                      float *out)
{
	size_t dims[DNNQ_CONCAT_MAX_INPUTS][DNNQ_MAX_DIMS];
	const size_t *dp[DNNQ_CONCAT_MAX_INPUTS];
	for (size_t k = 0; k < n->desc.ninputs; k++) {
		struct gtensor *t = gin(g, n, k);
		for (uint32_t i = 0; i < t->ndim; i++)
			dims[k][i] = (size_t)t->dims[i];
		dp[k] = dims[k];
	}
	dnnq_concat_ref(n->desc.ninputs, dp, gin(g, n, 0)->ndim, n->desc.op.concat.axis, in, out);
	return DNNQ_OK;
}

static const struct node_ops concat_ops = { concat_create, concat_infer, concat_setup,
                                            concat_run, concat_destroy, concat_ref, false, false };

static int concat_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                        struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	(void)diag;
	d->op.concat = (struct dnnq_concat_desc){ .isa = b->isa, .axis = n->axis,
	                                          .out_qp = dnnq_op_out_qp(n) };
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_concat = {
	.kind = DNNQ_NODE_CONCAT, .name = "concat", .min_inputs = 1,
	.max_inputs = DNNQ_CONCAT_MAX_INPUTS,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_AXIS) | DNNQ_A_OUT_QP,
	.build = concat_build, .ops = &concat_ops, .ops_f32 = &concat_f32_ops,
};

/* ---- Reshape: a view of its input's buffer ---- */

/* The output dims the ONNX way (Reshape with allowzero = 0): dims[i] >= 1
 * as given, 0 copies the input's dims[i], one -1 takes what the others
 * leave; dims[0] is the batch. The product must be the input's count per
 * batch item: every step is checked, nothing wraps. */
static int reshape_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                          struct dnnq_diag *diag)
{
	struct gtensor *x = gin(g, n, 0);
	const int64_t *dims = n->desc.op.reshape.dims;
	uint32_t nd = n->desc.op.reshape.ndim;
	if (nd < 1 || nd > DNNQ_MAX_DIMS || n->desc.ninputs != 1 || x->const_data)
		return FAIL(DNNQ_E_SHAPE, "node '%s': a reshape takes one non-constant input and a "
		            "rank of 1..%d", n->name, DNNQ_MAX_DIMS);
	size_t want = 1, have = 1;
	for (uint32_t i = 1; i < x->ndim; i++)
		if (x->dims[i] < 1 || !dnnq_mul_size(want, (size_t)x->dims[i], &want))
			return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' dims[%u] = %lld", n->name,
			            x->name, i, (long long)x->dims[i]);
	int64_t d[DNNQ_MAX_DIMS] = { 0 };
	uint32_t minus = 0;            /* the -1's index; 0: none (dims[0] is the batch) */
	for (uint32_t i = 1; i < nd; i++) {
		d[i] = dims[i];
		if (dims[i] == 0) {
			if (i >= x->ndim)
				return FAIL(DNNQ_E_SHAPE, "node '%s': dims[%u] = 0 copies a dim input '%s' "
				            "(rank %u) lacks", n->name, i, x->name, x->ndim);
			d[i] = x->dims[i];
		} else if (dims[i] == -1) {
			if (minus)
				return FAIL(DNNQ_E_SHAPE, "node '%s': dims[%u] = -1: a second -1 (dims[%u] "
				            "is one)", n->name, i, minus);
			minus = i;
			continue;
		} else if (dims[i] < 1 || dims[i] > INT32_MAX) {
			return FAIL(DNNQ_E_SHAPE, "node '%s': dims[%u] = %lld: must be 1..%d, 0 (the "
			            "input's) or one -1", n->name, i, (long long)dims[i], INT32_MAX);
		}
		if (!dnnq_mul_size(have, (size_t)d[i], &have) || have > want)
			return FAIL(DNNQ_E_SHAPE, "node '%s': dims[1..%u] hold more elements than the "
			            "%zu per batch item of input '%s'", n->name, i, want, x->name);
	}
	if (minus) {
		if (want % have)
			return FAIL(DNNQ_E_SHAPE, "node '%s': dims[%u] = -1: %zu elements per batch item "
			            "of input '%s' do not divide by %zu", n->name, minus, want, x->name,
			            have);
		d[minus] = (int64_t)(want / have);
		have = want;
	}
	if (have != want)
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu elements per batch item, input '%s' has %zu",
		            n->name, have, x->name, want);
	out->dtype = x->dtype;
	out->qp = x->qp;
	out->ndim = nd;
	memcpy(out->dims, d, sizeof out->dims);
	out->view_of = n->desc.inputs[0];
	n->op = NULL;
	return DNNQ_OK;
}

int dnnq_infer_batch(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                     struct dnnq_diag *diag)
{
	(void)diag;
	out->dims[0] = gin(g, n, 0)->dims[0];
	return DNNQ_OK;
}

static void reshape_destroy(struct gnode *n)
{
	(void)n;
}

static const struct node_ops reshape_ops = { reshape_create, dnnq_infer_batch, no_setup, NULL,
                                             reshape_destroy, identity_ref, false, false };

static int reshape_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                         struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	(void)diag;
	d->op.reshape.ndim = n->ndim;
	memcpy(d->op.reshape.dims, n->dims, sizeof n->dims);
	return DNNQ_OK;
}

/* dims[1..ndim) (dims[0] is the batch): each 1..2^31-1, or ONNX's 0 (copy
 * the input's dim) or -1 (what the others leave), at most one -1. Building
 * resolves 0 and -1 against the input's shape and refuses a product other
 * than its element count (reshape_create). */
static int reshape_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (n->ndim < 1) {
		snprintf(why, cap, "ndim 0: a reshape has rank 1..%d", DNNQ_MAX_DIMS);
		return DNNQ_E_SHAPE;
	}
	uint32_t minus = 0;
	for (uint32_t i = 1; i < n->ndim; i++) {
		int64_t v = n->dims[i];
		if (v == -1 && minus) {
			snprintf(why, cap, "dims[%u] = -1: a second -1 (dims[%u] is one)", i, minus);
			return DNNQ_E_SHAPE;
		}
		if (v == -1)
			minus = i;
		else if (v < 0)
			snprintf(why, cap, "dims[%u] = %lld: must be >= 1 (or 0, the input's, or one -1)",
			         i, (long long)v);
		else if (v > INT32_MAX)
			snprintf(why, cap, "dims[%u] = %lld: at most %d", i, (long long)v, INT32_MAX);
		if (v < -1 || v > INT32_MAX)
			return DNNQ_E_SHAPE;
	}
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_reshape = {
	.kind = DNNQ_NODE_RESHAPE, .name = "reshape", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_NDIM) | DNNQ_A(DNNQ_A_DIMS), .check = reshape_check,
	.build = reshape_build, .ops = &reshape_ops,
};

const char *dnnq_precision_name(uint32_t precision)
{
	return precision == DNNQ_PRECISION_FP32 ? "fp32" : "int8";
}

const char *dnnq_node_kind_name(uint32_t kind)
{
	const struct dnnq_op_def *d = dnnq_op_get(kind);
	return d ? d->name : "unknown";
}

/* ---- fp32 nodes (engine/f32.h) ------------------------------------------- */

/* What an fp32 node of a stateless kernel keeps: its constant inputs as
 * f32 (a u8 one dequantized once), and what setup binds:
 * every input's buffer and dims, the output, input 0's element count and
 * last dim. */
struct f32_node {
	float *cst[DNNQ_GRAPH_MAX_NODE_INPUTS];
	const float *in[DNNQ_GRAPH_MAX_NODE_INPUTS];
	size_t dims[DNNQ_GRAPH_MAX_NODE_INPUTS][DNNQ_MAX_DIMS];
	uint32_t ndim;
	size_t nx, c;
	float *out;
	enum dnnq_broadcast bcast[DNNQ_ELTWISE_MAX_INPUTS];
	size_t channels;
};

/* The node's state; every input f32 (of the given rank, 0: any), or a
 * constant (f32, or u8 dequantized once) where consts allows one. */
static int f32_node_create(struct dnnq_graph *g, struct gnode *n, uint32_t rank, bool consts,
                           struct dnnq_diag *diag)
{
	struct f32_node *s = calloc(1, sizeof *s);
	if (!s)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = s;
	for (size_t k = 0; k < n->desc.ninputs; k++) {
		struct gtensor *t = gin(g, n, k);
		if (!(consts && t->const_data)) {
			int rc = want_type(g, n, k, DNNQ_DTYPE_F32, rank, diag);
			if (rc)
				return rc;
			if (t->const_data)
				return FAIL(DNNQ_E_SHAPE, "node '%s': constant inputs are not supported",
				            n->name);
			continue;
		}
		if (!(s->cst[k] = dnnq_graph_const_f32(t)))
			return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	}
	return DNNQ_OK;
}

static int f32_node_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct f32_node *s = n->op;
	struct gtensor *x = gin(g, n, 0);
	(void)nthreads;
	for (size_t k = 0; k < n->desc.ninputs; k++) {
		struct gtensor *t = gin(g, n, k);
		s->in[k] = s->cst[k] ? s->cst[k] : t->buf;
		for (uint32_t i = 0; i < t->ndim; i++)
			s->dims[k][i] = (size_t)t->dims[i];
	}
	s->ndim = x->ndim;
	s->nx = gnumel(x);
	s->c = x->ndim ? (size_t)x->dims[x->ndim - 1] : 1;
	s->out = g->t[n->out].buf;
	return DNNQ_OK;
}

static void f32_node_destroy(struct gnode *n)
{
	struct f32_node *s = n->op;
	if (!s)
		return;
	for (size_t k = 0; k < DNNQ_GRAPH_MAX_NODE_INPUTS; k++)
		free(s->cst[k]);
	free(s);
}

/* The kernel of node n on inputs in (shapes as setup bound them) into y. */
static void f32_compute(const struct gnode *n, const float *const *in, float *y,
                        const struct dnnq_executor *ex)
{
	const struct f32_node *s = n->op;
	const struct dnnq_node_desc *d = &n->desc;
	const size_t *xd = s->dims[0];
	switch (d->kind) {
	case DNNQ_NODE_MAXPOOL:
		dnnq_f32_maxpool(d->op.maxpool.isa, &d->op.maxpool.geom, xd[0], xd[1], xd[2], xd[3],
		                 in[0], y, ex);
		break;
	case DNNQ_NODE_AVGPOOL:
		dnnq_f32_avgpool(d->op.avgpool.isa, &d->op.avgpool.geom,
		                 d->op.avgpool.count_include_pad, xd[0], xd[1], xd[2], xd[3], in[0], y,
		                 ex);
		break;
	case DNNQ_NODE_GAVGPOOL:
		dnnq_f32_gavgpool(d->op.gavgpool.isa, xd[0], xd[1] * xd[2], xd[3], in[0], y, ex);
		break;
	case DNNQ_NODE_ELTWISE:
		dnnq_f32_eltwise(d->op.eltwise.isa, d->op.eltwise.op, d->ninputs, in, s->bcast,
		                 s->channels, s->nx, y, ex);
		break;
	case DNNQ_NODE_ACTIVATION:
		dnnq_f32_activation(d->op.activation.isa, d->op.activation.kind, &d->op.activation.p,
		                    s->nx, in[0], y, ex);
		break;
	case DNNQ_NODE_SOFTMAX:
		dnnq_f32_softmax(d->op.softmax.isa, s->c ? s->nx / s->c : 0, s->c, in[0], y, ex);
		break;
	case DNNQ_NODE_ELTWISE_LINEAR:
		dnnq_f32_ewlin(d->op.ewlin.isa, s->nx, s->c, n->aux, n->aux + s->c, in[0], y, ex);
		break;
	default: {                     /* concat: copies */
		const size_t *dp[DNNQ_CONCAT_MAX_INPUTS];
		for (size_t k = 0; k < d->ninputs; k++)
			dp[k] = s->dims[k];
		dnnq_concat_ref(d->ninputs, dp, s->ndim, d->op.concat.axis, in, y);
		break;
	}
	}
}

static int f32_node_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct f32_node *s = n->op;
	if (!s->out)
		return DNNQ_E_INVAL;
	f32_compute(n, s->in, s->out, ex);
	return DNNQ_OK;
}

/* The reference of an fp32 node is its own kernel (on one thread). */
static int f32_node_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in,
                        float *out)
{
	(void)g;
	f32_compute(n, in, out, NULL);
	return DNNQ_OK;
}

/* Output: f32, input 0's shape. */
static void f32_out(struct gtensor *out, const struct gtensor *x)
{
	same_shape(out, x);
	out->dtype = DNNQ_DTYPE_F32;
	out->qp = (struct dnnq_qparams){ 0 };
}

static int pool_f32_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                           struct dnnq_diag *diag)
{
	int rc = f32_node_create(g, n, 4, false, diag);
	f32_out(out, gin(g, n, 0));
	return rc;
}

static int eltwise_f32_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                              struct dnnq_diag *diag)
{
	int rc = f32_node_create(g, n, 0, true, diag);
	if (rc)
		return rc;
	struct f32_node *s = n->op;
	if ((rc = eltwise_bcast(g, n, s->bcast, &s->channels, diag)))
		return rc;
	f32_out(out, gin(g, n, 0));
	return DNNQ_OK;
}

static int unary_f32_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                            struct dnnq_diag *diag)
{
	int rc = f32_node_create(g, n, 0, false, diag);
	f32_out(out, gin(g, n, 0));
	return rc;
}

static int softmax_f32_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                              struct dnnq_diag *diag)
{
	int rc = unary_f32_create(g, n, out, diag);
	return rc ? rc : last_dim_not_batch(g, n, "the softmax's axis", diag);
}

/* a and b live in n->aux (the description's pointers are the model's). */
static int ewlin_f32_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                            struct dnnq_diag *diag)
{
	const struct dnnq_elementwise_linear_desc *d = &n->desc.op.ewlin;
	struct gtensor *x = gin(g, n, 0);
	int rc = unary_f32_create(g, n, out, diag);
	if (!rc)
		rc = last_dim_not_batch(g, n, "the channels", diag);
	if (rc)
		return rc;
	if (d->channels != (size_t)x->dims[x->ndim - 1])
		return FAIL(DNNQ_E_SHAPE, "node '%s': %zu channels, input '%s' has another last dim",
		            n->name, d->channels, x->name);
	if (!(n->aux = calloc(2 * d->channels, sizeof *n->aux)))
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	memcpy(n->aux, d->a, d->channels * sizeof *n->aux);
	if (d->b)
		memcpy(n->aux + d->channels, d->b, d->channels * sizeof *n->aux);
	return DNNQ_OK;
}

static int concat_f32_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                             struct dnnq_diag *diag)
{
	struct gtensor *x0 = gin(g, n, 0);
	size_t axis = n->desc.op.concat.axis;
	int rc = f32_node_create(g, n, x0->ndim, false, diag);
	if (rc)
		return rc;
	if (axis == 0 || axis >= x0->ndim)
		return FAIL(DNNQ_E_RANGE, "node '%s': axis %zu: must be 1..%u (not the batch)",
		            n->name, axis, x0->ndim - 1);
	f32_out(out, x0);
	return DNNQ_OK;
}

static const struct node_ops pool_f32_ops = { pool_f32_create, pool_infer, f32_node_setup,
                                              f32_node_run, f32_node_destroy, f32_node_ref,
                                              false, false };
static const struct node_ops eltwise_f32_ops = { eltwise_f32_create, infer_same,
                                                 f32_node_setup, f32_node_run, f32_node_destroy,
                                                 f32_node_ref, true, false };
static const struct node_ops act_f32_ops = { unary_f32_create, infer_same, f32_node_setup,
                                             f32_node_run, f32_node_destroy, f32_node_ref, true,
                                             false };
static const struct node_ops softmax_f32_ops = { softmax_f32_create, infer_same,
                                                 f32_node_setup, f32_node_run, f32_node_destroy,
                                                 f32_node_ref, true, false };
static const struct node_ops ewlin_f32_ops = { ewlin_f32_create, infer_same, f32_node_setup,
                                               f32_node_run, f32_node_destroy, f32_node_ref,
                                               true, false };
static const struct node_ops concat_f32_ops = { concat_f32_create, concat_infer,
                                                f32_node_setup, f32_node_run, f32_node_destroy,
                                                f32_node_ref, false, false };

/* Conv and FC: operators with weights. */

static int conv_f32_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                           struct dnnq_diag *diag)
{
	struct dnnq_f32_conv_desc *d = &n->desc.op.conv_f32;
	struct gtensor *x = gin(g, n, 0);
	int rc = conv_input(g, n, DNNQ_DTYPE_F32, d->cin, diag);
	if (rc)
		return rc;
	if ((rc = CREATE(dnnq_f32_conv, dnnq_f32_conv_create, d)))
		return rc;
	f32_out(out, x);
	out->dims[3] = (int64_t)d->cout;
	return DNNQ_OK;
}

static int conv_f32_infer(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                          struct dnnq_diag *diag)
{
	struct gtensor *x = gin(g, n, 0);
	size_t oh = 0, ow = 0;
	int rc = dnnq_f32_conv_output_size(n->op, (size_t)x->dims[1], (size_t)x->dims[2], &oh,
	                                   &ow);
	return conv_dims(g, n, out, rc, oh, ow, diag);
}

static int conv_f32_bind(struct dnnq_graph *g, struct gnode *n, const float *in, float *y,
                         unsigned nthreads)
{
	struct gtensor *x = gin(g, n, 0);
	return dnnq_f32_conv_setup(n->op, (size_t)x->dims[0], (size_t)x->dims[1],
	                           (size_t)x->dims[2], in, y, nthreads);
}

static int conv_f32_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	return conv_f32_bind(g, n, gin(g, n, 0)->buf, g->t[n->out].buf, nthreads);
}

static int conv_f32_run(struct gnode *n, const struct dnnq_executor *ex)
{
	return dnnq_f32_conv_run(n->op, ex);
}

static void conv_f32_destroy(struct gnode *n)
{
	dnnq_f32_conv_destroy(n->op);
}

/* The kernel itself on the reference's buffers; the next run binds the
 * graph's again (setup runs before every run). */
static int conv_f32_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in,
                        float *out)
{
	int rc = conv_f32_bind(g, n, in[0], out, 1);
	return rc ? rc : dnnq_f32_conv_run(n->op, NULL);
}

static const struct node_ops conv_f32_ops = { conv_f32_create, conv_f32_infer, conv_f32_setup,
                                              conv_f32_run, conv_f32_destroy, conv_f32_ref,
                                              false, false };

static int fc_f32_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                         struct dnnq_diag *diag)
{
	struct dnnq_f32_fc_desc *d = &n->desc.op.fc_f32;
	struct gtensor *x = gin(g, n, 0);
	int rc = want_type(g, n, 0, DNNQ_DTYPE_F32, 0, diag);
	if (rc || (rc = fc_input(g, n, d->k, diag)))
		return rc;
	if ((rc = CREATE(dnnq_f32_fc, dnnq_f32_fc_create, d)))
		return rc;
	f32_out(out, x);
	fc_shape(out, x, d->n);
	return DNNQ_OK;
}

static int fc_f32_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct gtensor *x = gin(g, n, 0);
	return dnnq_f32_fc_setup(n->op, fc_rows(x), x->buf, g->t[n->out].buf, nthreads);
}

static int fc_f32_run(struct gnode *n, const struct dnnq_executor *ex)
{
	return dnnq_f32_fc_run(n->op, ex);
}

static void fc_f32_destroy(struct gnode *n)
{
	dnnq_f32_fc_destroy(n->op);
}

static int fc_f32_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	int rc = dnnq_f32_fc_setup(n->op, fc_rows(gin(g, n, 0)), in[0], out, 1);
	return rc ? rc : dnnq_f32_fc_run(n->op, NULL);
}

static const struct node_ops fc_f32_ops = { fc_f32_create, fc_infer, fc_f32_setup, fc_f32_run,
                                            fc_f32_destroy, fc_f32_ref, false, false };
