/*
 * ConvTranspose: ONNX's 2-D ConvTranspose on an NHWC image, fp32 (the
 * lowering runs a kind with no int8 adapter in fp32). File code 61.
 *
 * Each input pixel scatters a kh x kw x cout / groups patch into the
 * output: per image and group, one GEMM makes every pixel's patch
 * (columns: ih * iw rows of kh * kw * cout / groups), and col2im adds each
 * patch at its place (oy = iy * stride - pad + ky * dilation), after the
 * bias. A task is one image and one group (it owns those output
 * channels), so results do not depend on the thread count. The GEMM is
 * the fp32 table's (OpenBLAS on AVX2 hosts, the scalar loop otherwise);
 * col2im adds through its elementwise kernel. The reference is the direct
 * sum in double.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/f32-kernels.h"
#include "engine/graph-internal.h"
#include "engine/op.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)

struct convt {
	size_t cin, cout, g, cig, cog, kh, kw, sh, sw, dh, dw, pt, pl;
	size_t ih, iw, oh, ow, n;
	size_t ncols;                  /* kh * kw * cog: a pixel's patch */
	float *w;                      /* per group: ncols x cig (the GEMM's b, row-major) */
	float *bias;                   /* cout, or NULL */
	const struct dnnq_f32_kernels *kn;
	float *cols;                   /* per thread: ih * iw x ncols */
	unsigned nthreads;
	const float *x;
	float *y;
};

/* Output index of input index i, tap k: -1 when outside [0, n). */
static ptrdiff_t tap(size_t i, size_t s, size_t pad, size_t k, size_t d, size_t n)
{
	ptrdiff_t o = (ptrdiff_t)(i * s + k * d) - (ptrdiff_t)pad;
	return o >= 0 && (size_t)o < n ? o : -1;
}

static void convt_task(void *arg, size_t t, unsigned tid)
{
	const struct convt *op = arg;
	size_t img = t / op->g, grp = t % op->g, npix = op->ih * op->iw;
	float *cols = op->cols + (size_t)tid * npix * op->ncols;
	float *y = op->y + img * op->oh * op->ow * op->cout + grp * op->cog;
	static const bool full[2] = { true, true };
	op->kn->gemm(npix, op->ncols, op->cig, op->x + img * npix * op->cin + grp * op->cig,
	             op->cin, op->w + grp * op->ncols * op->cig, op->cig, cols, op->ncols);
	for (size_t p = 0; p < op->oh * op->ow; p++)
		for (size_t c = 0; c < op->cog; c++)
			y[p * op->cout + c] = op->bias ? op->bias[grp * op->cog + c] : 0;
	for (size_t p = 0; p < npix; p++)
		for (size_t ky = 0; ky < op->kh; ky++) {
			ptrdiff_t oy = tap(p / op->iw, op->sh, op->pt, ky, op->dh, op->oh);
			for (size_t kx = 0; oy >= 0 && kx < op->kw; kx++) {
				ptrdiff_t ox = tap(p % op->iw, op->sw, op->pl, kx, op->dw, op->ow);
				if (ox < 0)
					continue;
				float *dst = y + ((size_t)oy * op->ow + (size_t)ox) * op->cout;
				const float *in[2] = { dst, cols + p * op->ncols + (ky * op->kw + kx) * op->cog };
				op->kn->ew(DNNQ_ELTWISE_ADD, 2, in, full, op->cog, dst);
			}
		}
}

static int convt_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                        struct dnnq_diag *diag)
{
	const __typeof__(n->desc.op.convt) *d = &n->desc.op.convt;
	struct gtensor *x = gin(g, n, 0);
	if (x->dtype != DNNQ_DTYPE_F32 || x->ndim != 4 || x->const_data ||
	    x->dims[3] != (int64_t)d->cin || x->dims[1] < 1 || x->dims[2] < 1)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' must be a 4-D f32 activation of %zu "
		            "channels", n->name, x->name, d->cin);
	size_t ih = (size_t)x->dims[1], iw = (size_t)x->dims[2];
	/* the output padding: what the output has past the last tap, below a stride */
	int64_t full_h = (int64_t)((ih - 1) * d->sh + (d->kh - 1) * d->dh + 1) -
	                 (int64_t)(d->pad_t + d->pad_b);
	int64_t full_w = (int64_t)((iw - 1) * d->sw + (d->kw - 1) * d->dw + 1) -
	                 (int64_t)(d->pad_l + d->pad_r);
	int64_t oph = (int64_t)d->out_h - full_h, opw = (int64_t)d->out_w - full_w;
	if (oph < 0 || opw < 0 || oph >= (int64_t)(d->sh > d->dh ? d->sh : d->dh) ||
	    opw >= (int64_t)(d->sw > d->dw ? d->sw : d->dw))
		return FAIL(DNNQ_E_SHAPE, "node '%s': output %zu x %zu: the geometry gives %lld x %lld "
		            "plus an output padding below the stride", n->name, d->out_h, d->out_w,
		            (long long)full_h, (long long)full_w);
	struct convt *op = calloc(1, sizeof *op);
	if (!op)
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	n->op = op;
	*op = (struct convt){
		.cin = d->cin, .cout = d->cout, .g = d->groups, .cig = d->cin / d->groups,
		.cog = d->cout / d->groups, .kh = d->kh, .kw = d->kw, .sh = d->sh, .sw = d->sw,
		.dh = d->dh, .dw = d->dw, .pt = d->pad_t, .pl = d->pad_l, .ih = ih, .iw = iw,
		.oh = d->out_h, .ow = d->out_w, .kn = dnnq_f32_kernels_of(d->isa),
	};
	op->ncols = op->kh * op->kw * op->cog;
	size_t nw = op->cin * op->ncols;
	op->w = malloc(nw * sizeof *op->w);
	op->bias = d->bias ? malloc(op->cout * sizeof *op->bias) : NULL;
	if (!op->w || (d->bias && !op->bias))
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	if (d->bias)
		memcpy(op->bias, d->bias, op->cout * sizeof *op->bias);
	/* ONNX's ci x co x ky x kx into, per group, ((ky * kw + kx) * cog + co) x ci */
	for (size_t ci = 0; ci < op->cin; ci++)
		for (size_t co = 0; co < op->cog; co++)
			for (size_t k = 0; k < op->kh * op->kw; k++)
				op->w[(ci / op->cig) * op->ncols * op->cig + (k * op->cog + co) * op->cig +
				      ci % op->cig] = d->w[(ci * op->cog + co) * op->kh * op->kw + k];
	out->dtype = DNNQ_DTYPE_F32;
	out->qp = (struct dnnq_qparams){ 0 };
	out->ndim = 4;
	out->dims[0] = x->dims[0];
	out->dims[1] = (int64_t)d->out_h;
	out->dims[2] = (int64_t)d->out_w;
	out->dims[3] = (int64_t)d->cout;
	return DNNQ_OK;
}

static int convt_setup(struct dnnq_graph *g, struct gnode *n, unsigned nthreads)
{
	struct convt *op = n->op;
	size_t per = op->ih * op->iw * op->ncols, want;
	if (!nthreads)
		nthreads = 1;
	if (nthreads > op->nthreads) {
		if (!dnnq_mul_size(per, nthreads * sizeof(float), &want))
			return DNNQ_E_NOMEM;
		float *c = realloc(op->cols, want);
		if (!c)
			return DNNQ_E_NOMEM;
		op->cols = c;
		op->nthreads = nthreads;
	}
	op->n = (size_t)gin(g, n, 0)->dims[0];
	op->x = gin(g, n, 0)->buf;
	op->y = g->t[n->out].buf;
	return DNNQ_OK;
}

static int convt_run(struct gnode *n, const struct dnnq_executor *ex)
{
	struct convt *op = n->op;
	if (!op->x || !op->y || dnnq_executor_threads(ex) > op->nthreads)
		return DNNQ_E_INVAL;
	dnnq_parallel_for(ex, op->n * op->g, convt_task, op);
	return DNNQ_OK;
}

static void convt_destroy(struct gnode *n)
{
	struct convt *op = n->op;
	if (!op)
		return;
	free(op->w);
	free(op->bias);
	free(op->cols);
	free(op);
}

/* The direct sum, in double, per output element's contributions. */
static int convt_ref(struct dnnq_graph *g, struct gnode *n, const float *const *in, float *out)
{
	const struct convt *op = n->op;
	size_t nb = (size_t)gin(g, n, 0)->dims[0], opix = op->oh * op->ow;
	double *acc = calloc(opix * op->cout, sizeof *acc);
	if (!acc)
		return DNNQ_E_NOMEM;
	for (size_t img = 0; img < nb; img++) {
		const float *x = in[0] + img * op->ih * op->iw * op->cin;
		for (size_t i = 0; i < opix * op->cout; i++)
			acc[i] = op->bias ? op->bias[i % op->cout] : 0;
		for (size_t p = 0; p < op->ih * op->iw; p++)
			for (size_t k = 0; k < op->kh * op->kw; k++) {
				ptrdiff_t oy = tap(p / op->iw, op->sh, op->pt, k / op->kw, op->dh, op->oh);
				ptrdiff_t ox = tap(p % op->iw, op->sw, op->pl, k % op->kw, op->dw, op->ow);
				if (oy < 0 || ox < 0)
					continue;
				double *a = acc + ((size_t)oy * op->ow + (size_t)ox) * op->cout;
				for (size_t ci = 0; ci < op->cin; ci++) {
					size_t grp = ci / op->cig;
					const float *w = op->w + grp * op->ncols * op->cig + k * op->cog * op->cig +
					                 ci % op->cig;
					for (size_t co = 0; co < op->cog; co++)
						a[grp * op->cog + co] += (double)x[p * op->cin + ci] * w[co * op->cig];
				}
			}
		for (size_t i = 0; i < opix * op->cout; i++)
			out[img * opix * op->cout + i] = (float)acc[i];
	}
	free(acc);
	return DNNQ_OK;
}

static const struct node_ops convt_f32_ops = { convt_create, dnnq_infer_batch, convt_setup,
                                               convt_run, convt_destroy, convt_ref, false,
                                               false };

static int convt_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                       struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	size_t numel;
	if (!dnnq_mul_size((size_t)n->cin * (n->cout / n->groups), (size_t)n->kernel[0] *
	                   n->kernel[1], &numel))
		return dnnq_op_build_err(b, diag, DNNQ_E_RANGE, "the weight's size overflows");
	const float *w, *bias;
	int rc = dnnq_op_weights_f32(b, n->cout, numel, &w, &bias, diag);
	if (rc)
		return rc;
	d->op.convt = (__typeof__(d->op.convt)){
		.isa = b->isa, .cin = n->cin, .cout = n->cout, .groups = n->groups,
		.kh = n->kernel[0], .kw = n->kernel[1], .sh = n->strides[0], .sw = n->strides[1],
		.dh = n->dilations[0], .dw = n->dilations[1], .pad_t = n->pads[0],
		.pad_l = n->pads[1], .pad_b = n->pads[2], .pad_r = n->pads[3],
		.out_h = (size_t)n->dims[0], .out_w = (size_t)n->dims[1], .w = w, .bias = bias,
	};
	return DNNQ_OK;
}

/* cin, cout, groups >= 1, the channels a multiple of groups; kernel,
 * strides, dilations >= 1; ndim 2, dims: the output's H and W, 1..2^24. */
static int convt_check(const struct dnnq_model_node *n, char *why, size_t cap)
{
	if (!n->groups || !n->cin || !n->cout || n->cin % n->groups || n->cout % n->groups) {
		snprintf(why, cap, "cin %u, cout %u, groups %u: want channels a multiple of groups",
		         n->cin, n->cout, n->groups);
		return DNNQ_E_SHAPE;
	}
	for (int i = 0; i < 2; i++)
		if (!n->kernel[i] || !n->strides[i] || !n->dilations[i]) {
			snprintf(why, cap, "kernel, strides, dilations[%d] %u, %u, %u: want >= 1", i,
			         n->kernel[i], n->strides[i], n->dilations[i]);
			return DNNQ_E_RANGE;
		}
	if (n->ndim != 2 || n->dims[0] < 1 || n->dims[1] < 1 || n->dims[0] > (1 << 24) ||
	    n->dims[1] > (1 << 24)) {
		snprintf(why, cap, "ndim %u, dims %lld x %lld: want 2, the output's H and W in "
		         "1..2^24", n->ndim, (long long)n->dims[0], (long long)n->dims[1]);
		return DNNQ_E_SHAPE;
	}
	return DNNQ_OK;
}

const struct dnnq_op_def dnnq_op_convtranspose = {
	.kind = 61, .name = "convtranspose", .min_inputs = 1, .max_inputs = 1,
	.attrs = DNNQ_A(DNNQ_A_PRECISION) | DNNQ_A(DNNQ_A_WEIGHT) | DNNQ_A(DNNQ_A_BIAS) |
	         DNNQ_A(DNNQ_A_CIN) | DNNQ_A(DNNQ_A_COUT) | DNNQ_A(DNNQ_A_GROUPS) |
	         DNNQ_A(DNNQ_A_KERNEL) | DNNQ_A(DNNQ_A_STRIDES) | DNNQ_A(DNNQ_A_DILATIONS) |
	         DNNQ_A(DNNQ_A_PADS) | DNNQ_A(DNNQ_A_NDIM) | DNNQ_A(DNNQ_A_DIMS),
	.check = convt_check, .build = convt_build, .ops_f32 = &convt_f32_ops,
};
