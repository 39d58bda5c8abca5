/*
 * ConvTranspose: ONNX's 2-D ConvTranspose on an NHWC image, int8 and fp32.
 * File code 61.
 *
 * Each input pixel scatters a kh x kw x cout / groups patch into the
 * output: per image and group, one GEMM makes every pixel's patch
 * (columns: ih * iw rows of kh * kw * cout / groups), and col2im adds each
 * patch at its place (oy = iy * stride - pad + ky * dilation). A task is
 * one image and one group (it owns those output channels), so results do
 * not depend on the thread count.
 *
 * fp32: the fp32 table's sgemm (OpenBLAS on AVX2 hosts, the scalar loop
 * otherwise), col2im through its elementwise add, after the bias. int8:
 * the engine's u8 x s8 GEMM (engine/gemm.h: exact, the same int32 sums on
 * every ISA) into int32 columns, col2im in int32 (exact), then per output
 * channel y = round(acc * x_scale * w_scale / y_scale + bias / y_scale) +
 * y_zero_point, saturated, in float by one scalar loop: bit-exact across
 * ISAs. Weights are packed at create per group (not shared through the
 * weights cache). The reference is the direct sum in double of the
 * (dequantized) weights.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/f32-kernels.h"
#include "engine/gemm.h"
#include "engine/graph-internal.h"
#include "engine/op.h"
#include "engine/quant-scalar.h"

#define FAIL(rc, ...) dnnq_diag_set(diag, rc, __VA_ARGS__)

struct convt {
	size_t cin, cout, g, cig, cog, kh, kw, sh, sw, dh, dw, pt, pl;
	size_t ih, iw, oh, ow, n;
	size_t ncols;                  /* kh * kw * cog: a pixel's patch */
	float *w;                      /* per group: ncols x cig (the GEMM's b, row-major);
	                                  int8: dequantized, for the reference */
	float *bias;                   /* cout, or NULL */
	const struct dnnq_f32_kernels *kn;
	/* int8 */
	bool q8;
	struct dnnq_gemm_weights *wg;  /* per group */
	int32_t *wzp;                  /* per group: ncols zero points, or NULL */
	float *mult, *boff;            /* per output channel: x s * w s / y s; bias / y s */
	int32_t *bias32;               /* cout, or NULL */
	int32_t xzp;
	float yzp;
	/* per thread: columns (ih * iw x ncols) and, int8, the sums (oh * ow x cog) */
	void *scratch;
	size_t scratch_per;
	unsigned nthreads;
	const void *x;
	void *y;
};

/* Output index of input index i, tap k: -1 when outside [0, n). */
static ptrdiff_t tap(size_t i, size_t s, size_t pad, size_t k, size_t d, size_t n)
{
	ptrdiff_t o = (ptrdiff_t)(i * s + k * d) - (ptrdiff_t)pad;
	return o >= 0 && (size_t)o < n ? o : -1;
}

/* Where weight (co, ci, k) of a group (co, ci inside it) sits in its GEMM
 * b: row (k * cog + co), column ci. */
static size_t b_index(const struct convt *op, size_t co, size_t ci, size_t k)
{
	return (k * op->cog + co) * op->cig + ci;
}

/* Calls add(dst, src, n) for every patch row src of cols that lands in
 * the output, dst its place (elements of size es from y). */
static void col2im(const struct convt *op, const void *cols, void *y, size_t es,
                   void (*add)(const struct convt *op, void *dst, const void *src))
{
	for (size_t p = 0; p < op->ih * op->iw; p++)
		for (size_t k = 0; k < op->kh * op->kw; k++) {
			ptrdiff_t oy = tap(p / op->iw, op->sh, op->pt, k / op->kw, op->dh, op->oh);
			ptrdiff_t ox = tap(p % op->iw, op->sw, op->pl, k % op->kw, op->dw, op->ow);
			if (oy >= 0 && ox >= 0)
				add(op, (uint8_t *)y + ((size_t)oy * op->ow + (size_t)ox) * op->cog * es,
				    (const uint8_t *)cols + (p * op->ncols + k * op->cog) * es);
		}
}

static void add_f32(const struct convt *op, void *dst, const void *src)
{
	static const bool full[2] = { true, true };
	const float *in[2] = { dst, src };
	op->kn->ew(DNNQ_ELTWISE_ADD, 2, in, full, op->cog, dst);
}

static void add_s32(const struct convt *op, void *dst, const void *src)
{
	int32_t *d = dst;
	const int32_t *s = src;
	for (size_t c = 0; c < op->cog; c++)
		d[c] += s[c];
}

/* fp32: col2im adds into a dense accumulator of the group's channels
 * (rows cog apart), copied into y's rows (cout apart) at the end. */
static void task_f32(const struct convt *op, size_t img, size_t grp, void *scratch)
{
	size_t npix = op->ih * op->iw, opix = op->oh * op->ow;
	float *cols = scratch, *acc = cols + npix * op->ncols;
	float *y = (float *)op->y + img * opix * op->cout + grp * op->cog;
	op->kn->gemm(npix, op->ncols, op->cig, (const float *)op->x + img * npix * op->cin +
	             grp * op->cig, op->cin, op->w + grp * op->ncols * op->cig, op->cig, cols,
	             op->ncols);
	for (size_t p = 0; p < opix; p++)
		for (size_t c = 0; c < op->cog; c++)
			acc[p * op->cog + c] = op->bias ? op->bias[grp * op->cog + c] : 0;
	col2im(op, cols, acc, sizeof(float), add_f32);
	for (size_t p = 0; p < opix; p++)
		memcpy(y + p * op->cout, acc + p * op->cog, op->cog * sizeof *y);
}

static void task_u8(const struct convt *op, size_t img, size_t grp, void *scratch)
{
	size_t npix = op->ih * op->iw, opix = op->oh * op->ow;
	int32_t *cols = scratch, *acc = cols + npix * op->ncols;
	struct dnnq_gemm_output out = {
		.a_zero_point = op->xzp, .nwzp = op->wzp ? op->ncols : 0,
		.w_zero_points = op->wzp ? op->wzp + grp * op->ncols : NULL, .dtype = DNNQ_DTYPE_S32,
	};
	dnnq_gemm(&op->wg[grp], npix, (const uint8_t *)op->x + img * npix * op->cin + grp * op->cig,
	          op->cin, cols, op->ncols, &out, NULL);
	memset(acc, 0, opix * op->cog * sizeof *acc);
	col2im(op, cols, acc, sizeof(int32_t), add_s32);
	uint8_t *y = (uint8_t *)op->y + img * opix * op->cout + grp * op->cog;
	for (size_t p = 0; p < opix; p++)
		for (size_t c = 0, m = grp * op->cog; c < op->cog; c++, m++) {
			int32_t a = acc[p * op->cog + c] + (op->bias32 ? op->bias32[m] : 0);
			y[p * op->cout + c] = (uint8_t)dnnq_saturate_rne((float)a * op->mult[m] + op->boff[m],
			                                                 op->yzp, 0, 255);
		}
}

static void convt_task(void *arg, size_t t, unsigned tid)
{
	const struct convt *op = arg;
	void *scratch = (uint8_t *)op->scratch + (size_t)tid * op->scratch_per;
	(op->q8 ? task_u8 : task_f32)(op, t / op->g, t % op->g, scratch);
}

/* int8: per group, the s8 GEMM b packed, its rows' zero points; per
 * channel the requantization; the dequantized weights for the reference. */
static int convt_create_q8(struct convt *op, const __typeof__(((struct dnnq_node_desc *)0)->op.convt) *d,
                           const struct dnnq_qparams *xq, struct dnnq_diag *diag)
{
	size_t nb = op->ncols * op->cig;
	int8_t *b = malloc(nb);
	op->wg = calloc(op->g, sizeof *op->wg);
	op->mult = malloc(op->cout * sizeof *op->mult);
	op->boff = malloc(op->cout * sizeof *op->boff);
	op->wzp = d->w_zero_point ? malloc(op->g * op->ncols * sizeof *op->wzp) : NULL;
	op->bias32 = d->bias_i32 ? malloc(op->cout * sizeof *op->bias32) : NULL;
	int rc = b && op->wg && op->mult && op->boff && (op->wzp || !d->w_zero_point) &&
	         (op->bias32 || !d->bias_i32) ? DNNQ_OK : DNNQ_E_NOMEM;
	op->q8 = true;
	op->xzp = xq->zero_point;
	op->yzp = (float)d->out_qp.zero_point;
	for (size_t m = 0; !rc && m < op->cout; m++) {
		size_t q = d->nwq > 1 ? m : 0;
		op->mult[m] = xq->scale * d->w_scale[q] / d->out_qp.scale;
		op->boff[m] = d->bias ? d->bias[m] / d->out_qp.scale : 0;
		if (d->bias_i32)
			op->bias32[m] = d->bias_i32[m];
	}
	for (size_t grp = 0; !rc && grp < op->g; grp++) {
		for (size_t co = 0; co < op->cog; co++) {
			size_t m = grp * op->cog + co, q = d->nwq > 1 ? m : 0;
			for (size_t ci = 0; ci < op->cig; ci++)
				for (size_t k = 0; k < op->kh * op->kw; k++) {
					int8_t v = d->wq[(m * op->cig + ci) * op->kh * op->kw + k];
					b[b_index(op, co, ci, k)] = v;
					op->w[grp * nb + b_index(op, co, ci, k)] =
						d->w_scale[q] * (float)(v - (d->w_zero_point ? d->w_zero_point[q] : 0));
				}
			for (size_t k = 0; op->wzp && k < op->kh * op->kw; k++)
				op->wzp[grp * op->ncols + k * op->cog + co] = d->w_zero_point[q];
		}
		rc = dnnq_gemm_pack(d->isa, b, op->ncols, op->cig, op->cig, &op->wg[grp], diag);
	}
	free(b);
	return rc;
}

static int convt_create(struct dnnq_graph *g, struct gnode *n, struct gtensor *out,
                        struct dnnq_diag *diag)
{
	const __typeof__(n->desc.op.convt) *d = &n->desc.op.convt;
	struct gtensor *x = gin(g, n, 0);
	bool fp32 = n->desc.precision == DNNQ_PRECISION_FP32;
	enum dnnq_dtype dt = fp32 ? DNNQ_DTYPE_F32 : DNNQ_DTYPE_U8;
	struct dnnq_diag why = { 0 };
	if (!d->groups || !d->cout || d->cin % d->groups || d->cout % d->groups || !d->kh ||
	    !d->kw || !d->sh || !d->sw || !d->dh || !d->dw)
		return FAIL(DNNQ_E_RANGE, "node '%s': groups %zu, cin %zu, cout %zu, kernel, strides, "
		            "dilations: want channels a multiple of groups and sizes >= 1", n->name,
		            d->groups, d->cin, d->cout);
	if (x->dtype != dt || x->ndim != 4 || x->const_data || x->dims[3] != (int64_t)d->cin ||
	    x->dims[1] < 1 || x->dims[2] < 1)
		return FAIL(DNNQ_E_SHAPE, "node '%s': input '%s' must be a 4-D %s activation of %zu "
		            "channels", n->name, x->name, dnnq_dtype_name(dt), d->cin);
	if (!fp32 && dnnq_qparams_check(&d->out_qp, DNNQ_DTYPE_U8, &why))
		return FAIL(DNNQ_E_RANGE, "node '%s': output qparams: %s", n->name, why.msg);
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
	op->w = malloc(op->cin * op->ncols * sizeof *op->w);
	op->bias = d->bias ? malloc(op->cout * sizeof *op->bias) : NULL;
	if (!op->w || (d->bias && !op->bias))
		return FAIL(DNNQ_E_NOMEM, "node '%s': out of memory", n->name);
	if (d->bias)
		memcpy(op->bias, d->bias, op->cout * sizeof *op->bias);
	if (fp32) {
		for (size_t m = 0; m < op->cout; m++)
			for (size_t ci = 0; ci < op->cig; ci++)
				for (size_t k = 0; k < op->kh * op->kw; k++)
					op->w[m / op->cog * op->ncols * op->cig + b_index(op, m % op->cog, ci, k)] =
						d->w[(m * op->cig + ci) * op->kh * op->kw + k];
	} else {
		struct dnnq_diag pd = { 0 };
		int rc = convt_create_q8(op, d, &x->qp, &pd);
		if (rc)
			return FAIL(rc, "node '%s': %s", n->name, pd.msg[0] ? pd.msg : "out of memory");
	}
	out->dtype = dt;
	out->qp = fp32 ? (struct dnnq_qparams){ 0 } : d->out_qp;
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
	/* columns and sums, 4 bytes each (f32 or int32), every product checked */
	size_t cols, sums, per, want;
	if (!dnnq_mul_size(op->ih * op->iw, op->ncols, &cols) ||
	    !dnnq_mul_size(op->oh * op->ow, op->cog, &sums) || cols + sums < cols ||
	    !dnnq_mul_size(cols + sums, 4, &per))
		return DNNQ_E_NOMEM;
	if (!nthreads)
		nthreads = 1;
	if (nthreads > op->nthreads) {
		if (!dnnq_mul_size(per, nthreads, &want))
			return DNNQ_E_NOMEM;
		void *sc = realloc(op->scratch, want);
		if (!sc)
			return DNNQ_E_NOMEM;
		op->scratch = sc;
		op->nthreads = nthreads;
	}
	op->scratch_per = per;
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
	for (size_t grp = 0; op->wg && grp < op->g; grp++)
		dnnq_gemm_weights_free(&op->wg[grp]);
	free(op->wg);
	free(op->wzp);
	free(op->mult);
	free(op->boff);
	free(op->bias32);
	free(op->w);
	free(op->bias);
	free(op->scratch);
	free(op);
}

/* The direct sum, in double, per output element's contributions (the
 * int8 node's real values: its weights dequantized, its bias). */
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
					const float *w = op->w + grp * op->ncols * op->cig;
					for (size_t co = 0; co < op->cog; co++)
						a[grp * op->cog + co] += (double)x[p * op->cin + ci] *
						                         w[b_index(op, co, ci % op->cig, k)];
				}
			}
		for (size_t i = 0; i < opix * op->cout; i++)
			out[img * opix * op->cout + i] = (float)acc[i];
	}
	free(acc);
	return DNNQ_OK;
}

/* Each input element times its group's patch of columns (kh x kw x cout /
 * groups): one multiply-add each. */
static uint64_t convt_work(const struct dnnq_graph *g, const struct gnode *n)
{
	const struct convt *op = n->op;
	return (uint64_t)gnumel(&g->t[n->desc.inputs[0]]) * op->ncols;
}

/* Both precisions share the adapter: create reads the node's. */
static const struct node_ops convt_ops = { convt_create, dnnq_infer_batch, convt_setup,
                                           convt_run, convt_destroy, convt_ref, false, false };

static int convt_build(struct dnnq_op_build *b, struct dnnq_node_desc *d,
                       struct dnnq_diag *diag)
{
	const struct dnnq_model_node *n = &b->m->nodes[b->j];
	size_t numel;
	if (!dnnq_mul_size((size_t)n->cout * (n->cin / n->groups), (size_t)n->kernel[0] *
	                   n->kernel[1], &numel))
		return dnnq_op_build_err(b, diag, DNNQ_E_RANGE, "the weight's size overflows");
	d->op.convt = (__typeof__(d->op.convt)){
		.isa = b->isa, .cin = n->cin, .cout = n->cout, .groups = n->groups,
		.kh = n->kernel[0], .kw = n->kernel[1], .sh = n->strides[0], .sw = n->strides[1],
		.dh = n->dilations[0], .dw = n->dilations[1], .pad_t = n->pads[0],
		.pad_l = n->pads[1], .pad_b = n->pads[2], .pad_r = n->pads[3],
		.out_h = (size_t)n->dims[0], .out_w = (size_t)n->dims[1],
		.out_qp = dnnq_op_out_qp(n),
	};
	if (n->precision == DNNQ_PRECISION_FP32)
		return dnnq_op_weights_f32(b, n->cout, numel, &d->op.convt.w, &d->op.convt.bias, diag);
	struct dnnq_op_weights wt;
	int rc = dnnq_op_weights(b, n->cout, numel, &wt, diag);
	d->op.convt.wq = wt.w;
	d->op.convt.nwq = wt.nwq;
	d->op.convt.w_scale = wt.scale;
	d->op.convt.w_zero_point = wt.zp;
	d->op.convt.bias = wt.bias;
	d->op.convt.bias_i32 = wt.bias_i32;
	return rc;
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
	         DNNQ_A(DNNQ_A_PADS) | DNNQ_A(DNNQ_A_NDIM) | DNNQ_A(DNNQ_A_DIMS) | DNNQ_A_OUT_QP,
	.check = convt_check, .build = convt_build, .ops = &convt_ops, .ops_f32 = &convt_ops,
	.work = convt_work,
};
