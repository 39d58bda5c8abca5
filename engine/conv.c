/*
 * Convolution (conv.h): create validates and packs, setup binds shapes and
 * sizes the per-thread scratch, run splits the output into tasks.
 *
 * Tasks never depend on the thread count: the im2col path cuts the output
 * pixels into blocks of DNNQ_GEMM_MC, the depthwise path into output rows,
 * the 1x1 path is one dnnq_gemm call (which splits itself the same way).
 */
#include <stdlib.h>
#include <string.h>

#include "engine/conv-kernels.h"

#define CHECK(cond, rc, ...) \
	do { if (!(cond)) return dnnq_diag_set(diag, rc, "conv: " __VA_ARGS__); } while (0)

static int check_geometry(const struct dnnq_conv_desc *d, struct dnnq_diag *diag)
{
	CHECK(d->w, DNNQ_E_INVAL, "weights missing");
	CHECK(d->groups >= 1, DNNQ_E_SHAPE, "groups = %zu: must be >= 1", d->groups);
	CHECK(d->cin >= 1 && d->cin % d->groups == 0, DNNQ_E_SHAPE,
	      "cin = %zu: must be a positive multiple of groups = %zu", d->cin, d->groups);
	CHECK(d->cout >= 1 && d->cout % d->groups == 0, DNNQ_E_SHAPE,
	      "cout = %zu: must be a positive multiple of groups = %zu", d->cout, d->groups);
	CHECK(d->kh >= 1 && d->kw >= 1, DNNQ_E_SHAPE, "kernel %zux%zu: must be >= 1", d->kh, d->kw);
	CHECK(d->stride_h >= 1 && d->stride_w >= 1, DNNQ_E_SHAPE,
	      "stride %zux%zu: must be >= 1", d->stride_h, d->stride_w);
	CHECK(d->dil_h >= 1 && d->dil_w >= 1, DNNQ_E_SHAPE,
	      "dilation %zux%zu: must be >= 1", d->dil_h, d->dil_w);
	CHECK(d->kh <= 64 && d->kw <= 64 && d->dil_h <= 64 && d->dil_w <= 64 &&
	      d->stride_h <= 64 && d->stride_w <= 64, DNNQ_E_RANGE,
	      "kernel, stride and dilation must be <= 64");
	CHECK(d->pad_t < 1024 && d->pad_l < 1024 && d->pad_b < 1024 && d->pad_r < 1024,
	      DNNQ_E_RANGE, "pads must be < 1024");
	size_t k = d->kh * d->kw * (d->cin / d->groups);
	CHECK(k <= DNNQ_GEMM_MAX_K, DNNQ_E_RANGE, "kh * kw * cin / groups = %zu: at most %d",
	      k, DNNQ_GEMM_MAX_K);
	struct dnnq_diag qd;
	if (dnnq_qparams_check(&d->in_qp, DNNQ_DTYPE_U8, &qd))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "conv: input qparams: %s", qd.msg);
	return DNNQ_OK;
}

static enum dnnq_conv_path choose_path(const struct dnnq_conv_desc *d)
{
	if (d->groups == 1 && d->kh == 1 && d->kw == 1 && d->stride_h == 1 && d->stride_w == 1 &&
	    !d->pad_t && !d->pad_l && !d->pad_b && !d->pad_r)
		return DNNQ_CONV_GEMM_1X1;
	if (d->groups > 1 && d->groups == d->cin && d->cout == d->cin)
		return DNNQ_CONV_DEPTHWISE;
	return DNNQ_CONV_IM2COL;
}

static int pack_depthwise(struct dnnq_conv *c)
{
	size_t taps = c->d.kh * c->d.kw, cout = c->d.cout;
	c->cpad = (cout + 15) & ~(size_t)15;
	c->dw_w = dnnq_aligned_alloc(taps * c->cpad * sizeof(int16_t));
	c->dw_sums.row_sums = calloc(cout, sizeof(int32_t));
	if (!c->dw_w || !c->dw_sums.row_sums)
		return DNNQ_E_NOMEM;
	memset(c->dw_w, 0, taps * c->cpad * sizeof(int16_t));
	for (size_t ch = 0; ch < cout; ch++) {
		for (size_t t = 0; t < taps; t++) {
			int8_t v = c->d.w[ch * taps + t];
			c->dw_w[t * c->cpad + ch] = v;
			c->dw_sums.row_sums[ch] += v;
		}
	}
	c->dw_sums.n = cout;
	c->dw_sums.k = taps;
	c->dw_sums.isa = c->d.isa;
	return DNNQ_OK;
}

static int pack_groups(struct dnnq_conv *c, struct dnnq_diag *diag)
{
	size_t g = c->d.groups;
	c->gw = calloc(g, sizeof *c->gw);
	c->gout = calloc(g, sizeof *c->gout);
	if (!c->gw || !c->gout)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "conv: out of memory");
	for (size_t i = 0; i < g; i++) {
		int rc = dnnq_gemm_pack(c->d.isa, c->d.w + i * c->coutg * c->k, c->coutg, c->k, c->k,
		                        &c->gw[i], diag);
		if (rc)
			return rc;
		c->gout[i] = dnnq_qlinear_slice(&c->q, i * c->coutg, c->coutg);
	}
	return DNNQ_OK;
}

int dnnq_conv_create(const struct dnnq_conv_desc *d, struct dnnq_conv **out,
                     struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "conv: NULL argument");
	*out = NULL;
	int rc = check_geometry(d, diag);
	if (rc)
		return rc;
	struct dnnq_conv *c = calloc(1, sizeof *c);
	if (!c)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "conv: out of memory");
	c->d = *d;
	c->cing = d->cin / d->groups;
	c->coutg = d->cout / d->groups;
	c->k = d->kh * d->kw * c->cing;
	c->path = choose_path(d);
	const struct dnnq_qlinear_desc qd = {
		"conv", d->cout, d->nwq, d->w_scale, d->w_zero_point, d->bias, d->bias_i32,
		d->out_dtype, d->out_qp, d->requant, d->relu,
	};
	if ((rc = dnnq_qlinear_init(&c->q, &qd, diag)) ||
	    (rc = dnnq_qlinear_bind(&c->q, &d->in_qp, diag)))
		goto error;
	if (!dnnq_isa_supported(d->isa)) {
		rc = dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "conv: %s not supported here",
		                   dnnq_isa_name(d->isa));
		goto error;
	}
	if (c->path == DNNQ_CONV_DEPTHWISE) {
		c->gout = malloc(sizeof *c->gout);
		if (!c->gout || (rc = pack_depthwise(c))) {
			rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "conv: out of memory");
			goto error;
		}
		c->gout[0] = c->q.out;
	} else if ((rc = pack_groups(c, diag))) {
		goto error;
	}
	c->d.w = NULL;
	c->d.w_scale = NULL;
	c->d.w_zero_point = NULL;
	c->d.bias = NULL;
	c->d.bias_i32 = NULL;
	c->out_es = d->out_dtype == DNNQ_DTYPE_U8 ? 1 : 4;
	*out = c;
	return DNNQ_OK;
error:
	c->d.w = NULL;
	dnnq_conv_destroy(c);
	return rc;
}

int dnnq_conv_output_size(const struct dnnq_conv *c, size_t h, size_t w, size_t *oh, size_t *ow)
{
	const struct dnnq_conv_desc *d = &c->d;
	size_t eh = d->dil_h * (d->kh - 1) + 1, ew = d->dil_w * (d->kw - 1) + 1;
	size_t ph = h + d->pad_t + d->pad_b, pw = w + d->pad_l + d->pad_r;
	if (h == 0 || w == 0 || ph < eh || pw < ew || h > (1u << 24) || w > (1u << 24))
		return DNNQ_E_SHAPE;
	*oh = (ph - eh) / d->stride_h + 1;
	*ow = (pw - ew) / d->stride_w + 1;
	return DNNQ_OK;
}

static int size_scratch(struct dnnq_conv *c, unsigned nthreads)
{
	size_t bytes = c->path == DNNQ_CONV_IM2COL ? DNNQ_GEMM_MC * c->k
	             : c->path == DNNQ_CONV_DEPTHWISE ? 2 * c->ow * c->d.cout * sizeof(int32_t)
	             : 0;
	if (nthreads <= c->nscratch && bytes <= c->scratch_bytes)
		return DNNQ_OK;
	for (unsigned t = 0; t < c->nscratch; t++)
		free(c->scratch[t]);
	free(c->scratch);
	c->nscratch = 0;
	c->scratch = calloc(nthreads, sizeof *c->scratch);
	if (!c->scratch)
		return DNNQ_E_NOMEM;
	c->nscratch = nthreads;
	c->scratch_bytes = bytes;
	for (unsigned t = 0; t < nthreads && bytes; t++)
		if (!(c->scratch[t] = dnnq_aligned_alloc(bytes)))
			return DNNQ_E_NOMEM;
	return DNNQ_OK;
}

int dnnq_conv_setup(struct dnnq_conv *c, size_t n, size_t h, size_t w,
                    const uint8_t *in, void *out, unsigned nthreads)
{
	if (!c || (n && (!in || !out)))
		return DNNQ_E_INVAL;
	size_t oh, ow;
	int rc = dnnq_conv_output_size(c, h, w, &oh, &ow);
	if (rc)
		return rc;
	if (n > (1u << 20) || (n * oh * ow) > ((size_t)1 << 40))
		return DNNQ_E_RANGE;
	c->n = n;
	c->h = h;
	c->w = w;
	c->oh = oh;
	c->ow = ow;
	c->in = in;
	c->out = out;
	return size_scratch(c, nthreads ? nthreads : 1);
}

/* Row r of the im2col block: output pixel p's receptive field in group g,
 * tap-major (ky, kx, channel) like the OHWI weights. */
static void im2col_row(const struct dnnq_conv *c, size_t p, size_t g, uint8_t *row)
{
	size_t img = p / (c->oh * c->ow), oy = p / c->ow % c->oh, ox = p % c->ow;
	const uint8_t zx = (uint8_t)c->d.in_qp.zero_point;
	const uint8_t *base = c->in + img * c->h * c->w * c->d.cin + g * c->cing;
	for (size_t ky = 0; ky < c->d.kh; ky++) {
		ptrdiff_t iy = dnnq_conv_iy(c, oy, ky);
		for (size_t kx = 0; kx < c->d.kw; kx++, row += c->cing) {
			ptrdiff_t ix = dnnq_conv_ix(c, ox, kx);
			if (iy < 0 || ix < 0)
				memset(row, zx, c->cing);
			else
				memcpy(row, base + ((size_t)iy * c->w + (size_t)ix) * c->d.cin, c->cing);
		}
	}
}

static void im2col_task(void *arg, size_t task, unsigned tid)
{
	const struct dnnq_conv *c = arg;
	size_t npix = c->n * c->oh * c->ow, p0 = task * DNNQ_GEMM_MC;
	size_t rows = npix - p0 < DNNQ_GEMM_MC ? npix - p0 : DNNQ_GEMM_MC;
	uint8_t *a = c->scratch[tid];
	for (size_t g = 0; g < c->d.groups; g++) {
		for (size_t r = 0; r < rows; r++)
			im2col_row(c, p0 + r, g, a + r * c->k);
		char *y = (char *)c->out + (p0 * c->d.cout + g * c->coutg) * c->out_es;
		dnnq_gemm_rows(&c->gw[g], rows, a, c->k, y, c->d.cout, &c->gout[g]);
	}
}

static void depthwise_task(void *arg, size_t task, unsigned tid)
{
	const struct dnnq_conv *c = arg;
	size_t img = task / c->oh, oy = task % c->oh, cout = c->d.cout;
	int32_t *acc = (int32_t *)c->scratch[tid];
	int32_t *xsum = c->q.out.nwzp ? acc + c->ow * cout : NULL;
	struct dnnq_gemm_job job = { .w = &c->dw_sums, .c = c->out, .ldc = cout, .out = &c->gout[0] };
	bool avx2 = c->d.isa == DNNQ_ISA_AVX2;
	if (avx2)
		dnnq_dw_row_avx2(c, img, oy, acc, xsum);
	else
		dnnq_dw_row_scalar(c, img, oy, acc, xsum);
	for (size_t ox = 0; ox < c->ow; ox++) {
		size_t i = task * c->ow + ox;
		const int32_t *xs = xsum ? xsum + ox * cout : NULL;
		if (avx2)
			dnnq_gemm_store_row_avx2(&job, i, 0, cout, acc + ox * cout, xs);
		else
			dnnq_gemm_store_row_scalar(&job, i, 0, cout, acc + ox * cout, xs);
	}
}

void dnnq_dw_row_scalar(const struct dnnq_conv *c, size_t img, size_t oy, int32_t *acc,
                        int32_t *xsum)
{
	size_t cout = c->d.cout;
	const uint8_t *image = c->in + img * c->h * c->w * cout;
	for (size_t ox = 0; ox < c->ow; ox++) {
		for (size_t ch = 0; ch < cout; ch++) {
			int32_t xs;
			dnnq_dw_one(c, image, oy, ox, ch, &acc[ox * cout + ch], &xs);
			if (xsum)
				xsum[ox * cout + ch] = xs;
		}
	}
}

int dnnq_conv_run(struct dnnq_conv *c, const struct dnnq_executor *ex)
{
	if (!c)
		return DNNQ_E_INVAL;
	if (c->n == 0)
		return DNNQ_OK;
	if (dnnq_executor_threads(ex) > c->nscratch)
		return DNNQ_E_INVAL;   /* setup was told fewer threads */
	size_t npix = c->n * c->oh * c->ow;
	switch (c->path) {
	case DNNQ_CONV_GEMM_1X1:
		return dnnq_gemm(&c->gw[0], npix, c->in, c->d.cin, c->out, c->d.cout, &c->gout[0], ex);
	case DNNQ_CONV_DEPTHWISE:
		dnnq_parallel_for(ex, c->n * c->oh, depthwise_task, c);
		return DNNQ_OK;
	case DNNQ_CONV_IM2COL:
		dnnq_parallel_for(ex, (npix + DNNQ_GEMM_MC - 1) / DNNQ_GEMM_MC, im2col_task, c);
		return DNNQ_OK;
	}
	return DNNQ_E_INVAL;
}

const char *dnnq_conv_path(const struct dnnq_conv *c)
{
	static const char *names[] = { "gemm-1x1", "depthwise", "im2col" };
	return names[c->path];
}

void dnnq_conv_destroy(struct dnnq_conv *c)
{
	if (!c)
		return;
	for (size_t g = 0; c->gw && g < c->d.groups; g++)
		dnnq_gemm_weights_free(&c->gw[g]);
	free(c->gw);
	free(c->gout);
	free(c->dw_w);
	free(c->dw_sums.row_sums);
	for (unsigned t = 0; t < c->nscratch; t++)
		free(c->scratch[t]);
	free(c->scratch);
	dnnq_qlinear_free(&c->q);
	free(c);
}
