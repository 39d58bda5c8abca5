/*
 * Convolution (conv.h): create validates and packs, setup binds shapes and
 * sizes the per-thread scratch, run splits the output into tasks.
 *
 * Results never depend on the thread count: the im2col path cuts the
 * output pixels into blocks of up to DNNQ_GEMM_MC (fewer where that evens
 * the blocks out over the threads: dnnq_gemm_block_rows), the depthwise
 * path into output rows and, on more than two threads where the rows
 * do not go evenly to them, blocks of channels (depthwise_task), the 1x1 path is one dnnq_gemm call (which splits
 * itself the same way); each pixel is computed alike in any block.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/conv-kernels.h"
#include "engine/f32.h"
#include "engine/pooling.h"
#include "engine/wcache.h"

/* A band's input runs at most (im2col by bands, band_shape): in L1 with
 * the stem's weights */
#define BAND_BYTES 24576

enum { WCACHE_CONV = 1, WCACHE_CONV_ACC16 = 2, WCACHE_CONV_WINO = 9 };  /* fc.c 3-4, f32.c 5-7, ops/embed.c 8 */

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
	CHECK(d->kh <= DNNQ_CONV_MAX_WINDOW && d->kw <= DNNQ_CONV_MAX_WINDOW &&
	      d->dil_h <= DNNQ_CONV_MAX_WINDOW && d->dil_w <= DNNQ_CONV_MAX_WINDOW &&
	      d->stride_h <= DNNQ_CONV_MAX_WINDOW && d->stride_w <= DNNQ_CONV_MAX_WINDOW,
	      DNNQ_E_RANGE, "kernel, stride and dilation must be <= %d", DNNQ_CONV_MAX_WINDOW);
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
	/* strided, a 1x1 takes im2col: its blocks of DNNQ_GEMM_MC pixels
	 * cross output rows (a GEMM call per output row left 1-3 rows of
	 * ResNet's 14x14 and 7x7 downsamples to the tail tiles and streamed
	 * the weights once per row; VNNI reads the pixels in place by
	 * segments) */
	if (d->groups == 1 && d->kh == 1 && d->kw == 1 && d->stride_h == 1 && d->stride_w == 1 &&
	    !d->pad_t && !d->pad_l && !d->pad_b && !d->pad_r)
		return DNNQ_CONV_GEMM_1X1;
	if (d->groups > 1 && d->groups == d->cin && d->cout == d->cin)
		return DNNQ_CONV_DEPTHWISE;
	return DNNQ_CONV_IM2COL;
}

/* The depthwise block's parts: dw_ref (OHWI), then the kernel's layout. */
static size_t dw_ref_bytes(const struct dnnq_conv *c)
{
	return (c->d.cout * c->d.kh * c->d.kw + 63) & ~(size_t)63;
}

static void dw_bind(struct dnnq_conv *c, void *block)
{
	c->dw_block = block;
	c->dw_ref = block;
	c->dw_w = (char *)block + dw_ref_bytes(c);
}

static int pack_depthwise(struct dnnq_conv *c, size_t *bytes)
{
	size_t taps = c->d.kh * c->d.kw, cout = c->d.cout;
	const struct dnnq_dw_ukernel *k = &dnnq_kernels_of(c->d.isa)->dw;
	*bytes = dw_ref_bytes(c) + k->pack(NULL, cout, taps, NULL);
	void *block = dnnq_aligned_alloc(*bytes);
	c->dw_sums.row_sums = calloc(cout, sizeof(int32_t));
	if (!block || !c->dw_sums.row_sums) {
		free(block);
		return DNNQ_E_NOMEM;
	}
	dw_bind(c, block);
	memcpy(block, c->d.w, cout * taps);
	k->pack(c->d.w, cout, taps, (char *)block + dw_ref_bytes(c));
	for (size_t i = 0; i < cout * taps; i++)
		c->dw_sums.row_sums[i / taps] += c->d.w[i];
	c->dw_sums.n = cout;
	c->dw_sums.k = taps;
	c->dw_sums.isa = c->d.isa;
	return DNNQ_OK;
}

size_t dnnq_dw_pack_scalar(const int8_t *w, size_t cout, size_t taps, void *dst)
{
	(void)w, (void)cout, (void)taps, (void)dst;
	return 0;   /* the scalar kernel reads dw_ref */
}

static int pack_groups(struct dnnq_conv *c, struct dnnq_diag *diag)
{
	size_t g = c->d.groups;
	c->gw = calloc(g, sizeof *c->gw);
	if (!c->gw)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "conv: out of memory");
	for (size_t i = 0; i < g; i++) {
		const int8_t *w = c->d.w + i * c->coutg * c->k;
		int rc = c->d.acc16 ? dnnq_gemm_pack_acc16(c->d.isa, w, c->coutg, c->k, c->k,
		                                           &c->d.acc16_opts, &c->gw[i], diag)
		                    : dnnq_gemm_pack(c->d.isa, w, c->coutg, c->k, c->k, &c->gw[i], diag);
		if (rc)
			return rc;
	}
	return DNNQ_OK;
}

/* The packed weights: borrowed from the cache when it has this node's, else
 * packed here and, when there is a cache, handed to it. */
static int get_weights(struct dnnq_conv *c, struct dnnq_diag *diag)
{
	const struct dnnq_conv_desc *d = &c->d;
	bool dw = c->path == DNNQ_CONV_DEPTHWISE;
	int kind = d->acc16 && !dw ? WCACHE_CONV_ACC16 : WCACHE_CONV;
	const struct dnnq_wcache_entry *e =
		dnnq_weights_cache_find(d->cache, d->cache_key, kind, d->isa, d->cout, c->k);
	/* another path's or group count's (a key named after a weight tensor
	 * that other convs read, graph-nodes.c) is not this one's */
	if (e && e->ngw != (dw ? 0 : d->groups))
		e = NULL;
	if (e) {
		c->gw = e->gw;
		if (dw)
			dw_bind(c, e->blob);
		c->dw_sums = (struct dnnq_gemm_weights){ .isa = d->isa, .n = d->cout,
		                                         .k = d->kh * d->kw,
		                                         .row_sums = e->dw_row_sums };
		c->borrowed = true;
		return DNNQ_OK;
	}
	size_t dw_bytes = 0;
	int rc = dw ? pack_depthwise(c, &dw_bytes) : pack_groups(c, diag);
	if (dw && rc)
		rc = dnnq_diag_set(diag, rc, "conv: out of memory");
	if (rc || !d->cache)
		return rc;
	struct dnnq_wcache_entry add = {
		.key = d->cache_key, .kind = kind, .isa = d->isa, .n = d->cout, .k = c->k,
		.gw = c->gw, .ngw = dw ? 0 : d->groups, .blob = c->dw_block,
		.dw_row_sums = c->dw_sums.row_sums, .blob_bytes = dw_bytes,
	};
	/* no room: kept private, which is only the memory this saves */
	c->borrowed = !dnnq_weights_cache_add(d->cache, &add);
	if (c->borrowed && dw)
		dw_bind(c, add.blob);   /* moved into the cache's arena */
	return DNNQ_OK;
}

/* First layers on AVX2 take dnnq_conv_pairs_avx2 (not with acc16, whose
 * saturation the pairs would not reproduce), or with 7-tap rows at stride 2
 * along x the stem by 1-D Winograd (conv-kernels.h; not with weight zero
 * points, whose activation sums per pixel it does not compute): 0.75x the
 * pairs kernel's time on ResNet's stem (docs/gemm.md). */
static int pack_pairs(struct dnnq_conv *c, struct dnnq_diag *diag)
{
	const struct dnnq_conv_desc *d = &c->d;
	if (d->isa != DNNQ_ISA_AVX2 || c->path != DNNQ_CONV_IM2COL || d->groups > 1 ||
	    c->cing > DNNQ_CONV_PAIRS_CIN || d->acc16)
		return DNNQ_OK;
	if (d->kw == 7 && d->stride_w == 2 && d->dil_w == 1 && !c->q.out.nwzp &&
	    d->kh * d->cin <= DNNQ_STEM_MAX_K) {
		size_t bytes = dnnq_stem_pack_avx2(NULL, d->cout, d->kh, d->cin, NULL);
		if (!(c->stem = dnnq_aligned_alloc(bytes)))
			return dnnq_diag_set(diag, DNNQ_E_NOMEM, "conv: out of memory");
		dnnq_stem_pack_avx2(d->w, d->cout, d->kh, d->cin, c->stem);
		return DNNQ_OK;
	}
	size_t bytes = dnnq_conv_pairs_pack_avx2(c->d.w, c->d.cout, c->k, NULL);
	if (!(c->pairs = dnnq_aligned_alloc(bytes)))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "conv: out of memory");
	dnnq_conv_pairs_pack_avx2(c->d.w, c->d.cout, c->k, c->pairs);
	return DNNQ_OK;
}

/* 3x3 stride-1 convolutions on AVX2 take Winograd F(4, 3) (conv-kernels.h;
 * not with acc16, whose saturation it would not reproduce, nor with weight
 * zero points, whose activation sums per pixel it does not compute): up to
 * DNNQ_WINO_F43_MAX_CIN input channels its weights transformed here, above
 * the int8 weights in pairs for the transform on the fly. On AVX-512 VNNI
 * only the packed ones from DNNQ_WINO_VNNI_MIN_CIN channels. */
static int pack_wino(struct dnnq_conv *c, struct dnnq_diag *diag)
{
	const struct dnnq_conv_desc *d = &c->d;
	bool vnni = d->isa == DNNQ_ISA_AVX512VNNI;
	size_t min_cin = vnni ? DNNQ_WINO_VNNI_MIN_CIN : DNNQ_WINO_MIN_CIN;
	size_t max_cin = d->isa == DNNQ_ISA_AVX2 ? DNNQ_WINO_MAX_CIN
	               : vnni ? DNNQ_WINO_F43_MAX_CIN
	               : 0;
	if (c->path != DNNQ_CONV_IM2COL || d->groups > 1 || d->kh != 3 || d->kw != 3 ||
	    d->stride_h != 1 || d->stride_w != 1 || d->dil_h != 1 || d->dil_w != 1 || d->acc16 ||
	    c->q.out.nwzp || d->cin < min_cin || d->cin > max_cin)
		return DNNQ_OK;
	c->wino_fly = d->cin > DNNQ_WINO_F43_MAX_CIN;
	if (!(c->wino_zero = malloc(d->cin)))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "conv: out of memory");
	memset(c->wino_zero, d->in_qp.zero_point, d->cin);
	/* the transformed weights: once per model version, as get_weights' */
	const struct dnnq_wcache_entry *e = dnnq_weights_cache_find(d->cache, d->cache_key,
	                                                            WCACHE_CONV_WINO, d->isa,
	                                                            d->cout, d->cin);
	if (e) {
		c->wino = e->blob;
		c->wino_borrowed = true;
		return DNNQ_OK;
	}
	size_t bytes = c->wino_fly ? dnnq_wino_fly_pack_avx2(NULL, d->cout, d->cin, NULL)
	                           : dnnq_wino_pack_avx2(NULL, d->cout, d->cin, NULL);
	/* packed in the cache's arena: its, entry or not */
	void *w = dnnq_weights_cache_alloc(d->cache, bytes);
	if (!w)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "conv: out of memory");
	c->wino_borrowed = d->cache != NULL;
	if (c->wino_fly)
		dnnq_wino_fly_pack_avx2(d->w, d->cout, d->cin, w);
	else
		dnnq_wino_pack_avx2(d->w, d->cout, d->cin, w);
	c->wino = w;
	struct dnnq_wcache_entry add = {
		.key = d->cache_key, .kind = WCACHE_CONV_WINO, .isa = d->isa, .n = d->cout,
		.k = d->cin, .blob = w, .blob_bytes = bytes,
	};
	/* no room: not found by the next graph, which packs its own */
	if (d->cache)
		(void)dnnq_weights_cache_add(d->cache, &add);
	return DNNQ_OK;
}

/* The output pipelines (c->gout): one per group, one for all the
 * channels of a depthwise convolution. */
static size_t out_groups(const struct dnnq_conv *c)
{
	return c->path == DNNQ_CONV_DEPTHWISE ? 1 : c->d.groups;
}

/* The output pipeline: constants for the static input scale, with the
 * weights' sums folded in, then one slice per group. */
static int bind_output(struct dnnq_conv *c, struct dnnq_diag *diag)
{
	size_t groups = out_groups(c);
	size_t per = c->d.cout / groups;
	int32_t *wsum = malloc(c->d.cout * sizeof *wsum);
	c->gout = calloc(groups, sizeof *c->gout);
	if (!wsum || !c->gout) {
		free(wsum);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "conv: out of memory");
	}
	for (size_t g = 0; g < groups; g++) {
		const int32_t *src = c->path == DNNQ_CONV_DEPTHWISE ? c->dw_sums.row_sums
		                                                    : c->gw[g].row_sums;
		memcpy(wsum + g * per, src, per * sizeof *wsum);
	}
	size_t k = c->path == DNNQ_CONV_DEPTHWISE ? c->dw_sums.k : c->k;
	int rc = dnnq_qlinear_set_weight_sums(&c->q, wsum, k);
	free(wsum);
	if (rc)
		return dnnq_diag_set(diag, rc, "conv: out of memory");
	if ((rc = dnnq_qlinear_bind(&c->q, &c->d.in_qp, diag)))
		return rc;
	for (size_t g = 0; g < groups; g++)
		c->gout[g] = dnnq_qlinear_slice(&c->q, g * per, per);
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
	if (!dnnq_isa_supported(d->isa))
		return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "conv: %s not supported here",
		                     dnnq_isa_name(d->isa));
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
		d->out_dtype, d->out_qp, d->requant, d->relu, d->clip, d->clip_min, d->clip_max,
	};
	if ((rc = dnnq_qlinear_init(&c->q, &qd, diag)))
		goto error;
	if ((rc = get_weights(c, diag)) || (rc = pack_pairs(c, diag)) ||
	    (rc = bind_output(c, diag)) || (rc = pack_wino(c, diag)))
		goto error;
	if (c->path == DNNQ_CONV_IM2COL && !c->wino && d->isa == DNNQ_ISA_AVX512VNNI &&
	    d->groups == 1 && d->dil_w == 1 && d->kw * d->cin % 4 == 0 && !d->acc16 && !c->q.out.nwzp &&
	    c->gw[0].kernel->block == dnnq_gemm_6x64c4__avx512vnni) {
		if (!(c->seg_zero = malloc(d->kw * d->cin))) {
			rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "conv: out of memory");
			goto error;
		}
		memset(c->seg_zero, d->in_qp.zero_point, d->kw * d->cin);
	}
	c->bands = c->path == DNNQ_CONV_IM2COL && !c->wino && d->isa == DNNQ_ISA_AVX512VNNI &&
	           !c->seg_zero && d->groups == 1 && d->dil_h == 1 && d->dil_w == 1 &&
	           d->kh > d->stride_h && c->gw[0].kernel->block == dnnq_gemm_6x64c4__avx512vnni;
	if (c->path == DNNQ_CONV_DEPTHWISE) {
		if (!(c->dw_zero = malloc(d->cout))) {
			rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "conv: out of memory");
			goto error;
		}
		memset(c->dw_zero, d->in_qp.zero_point, d->cout);
	}
	c->d.w = NULL;
	c->d.w_scale = NULL;
	c->d.w_zero_point = NULL;
	c->d.bias = NULL;
	c->d.bias_i32 = NULL;
	c->d.cache = NULL;
	c->d.cache_key = NULL;
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

/* A depthwise row's scratch: the tap table of the kernel that runs, or the
 * scalar kernel's sums of one pixel. */
static size_t dw_scratch_bytes(const struct dnnq_conv *c)
{
	size_t tg = dnnq_kernels_of(c->d.isa)->dw.tg, taps = c->d.kh * c->d.kw;
	size_t table = c->ow * ((taps + tg - 1) / tg * tg) * sizeof(const uint8_t *);
	size_t sums = 2 * c->d.cout * sizeof(int32_t);
	return table > sums ? table : sums;
}

/* Where an im2col scratch holds the pairs kernel's int16 rows: after the
 * bytes of a block, 32-byte aligned. */
static size_t pairs_offset(const struct dnnq_conv *c)
{
	return (DNNQ_GEMM_MC * c->k + 31) & ~(size_t)31;
}

/* By bands (c->bands), for the bound shape: strips of c->band_w output
 * columns (even ones of at most DNNQ_GEMM_MC, whole tiles of the kernel's
 * where that fits: 112 columns 60 and 52, not 56 and 56 with a 2-row tile
 * each) and bands of c->mc output rows (even ones, as many rows as keep
 * a band's runs within BAND_BYTES, or one); the bytes of a
 * band's runs. */
static size_t band_shape(struct dnnq_conv *c)
{
	const struct dnnq_conv_desc *d = &c->d;
	size_t mr = c->gw[0].kernel->mr, run = d->kw * d->cin;
	size_t ns = (c->ow + DNNQ_GEMM_MC - 1) / DNNQ_GEMM_MC;
	size_t sw = ((c->ow + ns - 1) / ns + mr - 1) / mr * mr;
	DNNQ_KEEP(c->band_w, sw < DNNQ_GEMM_MC ? sw : DNNQ_GEMM_MC);
	size_t runs = BAND_BYTES / (c->band_w * run);
	size_t most = runs > d->kh ? 1 + (runs - d->kh) / d->stride_h : 1;
	size_t nb = (c->oh + most - 1) / most;
	DNNQ_KEEP(c->mc, (c->oh + nb - 1) / nb);
	return c->band_w * ((c->mc - 1) * d->stride_h + d->kh) * run;
}

static int size_scratch(struct dnnq_conv *c, unsigned nthreads)
{
	/* by segments (VNNI): a block's segment pointers, then the padded ones'
	 * bytes; the pairs (AVX2): the block's bytes, then its int16 rows */
	size_t segs = c->seg_zero ? DNNQ_GEMM_MC * c->d.kh * sizeof(const uint8_t *) : 0;
	size_t a16 = c->pairs ? (DNNQ_GEMM_MC * c->k + 1) * sizeof(int16_t) : 0;
	size_t bytes = c->wino ? dnnq_wino_scratch_bytes(c)
	             : c->stem ? dnnq_stem_scratch_bytes(c)
	             : c->bands ? band_shape(c)
	             : c->path == DNNQ_CONV_IM2COL ? segs + pairs_offset(c) + a16
	             : c->path == DNNQ_CONV_DEPTHWISE ? dw_scratch_bytes(c)
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
		if (!(c->scratch[t] = dnnq_aligned_alloc(bytes))) {
			/* the next setup allocates again: the early return above
			 * would take the NULL ones (dnnqd sets up again on the
			 * next request of the same batch, without a new plan) */
			c->scratch_bytes = 0;
			return DNNQ_E_NOMEM;
		}
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
	/* kept: run after run the same values (DNNQ_KEEP) */
	DNNQ_KEEP(c->n, n);
	DNNQ_KEEP(c->h, h);
	DNNQ_KEEP(c->w, w);
	DNNQ_KEEP(c->oh, oh);
	DNNQ_KEEP(c->ow, ow);
	DNNQ_KEEP(c->in, in);
	DNNQ_KEEP(c->out, out);
	DNNQ_KEEP(c->nsplit, 1);
	size_t sums = c->sum_rows ? n * oh * c->d.cout : 0;
	if (sums > c->row_sums_cap) {
		free(c->row_sums);
		c->row_sums_cap = 0;
		if (!(c->row_sums = malloc(sums * sizeof *c->row_sums)))
			return DNNQ_E_NOMEM;
		c->row_sums_cap = sums;
	}
	return size_scratch(c, nthreads ? nthreads : 1);
}

/* memcpy for the short runs of im2col (3 channels x 7 taps = 21 bytes on a
 * first layer): fixed-size moves the compiler inlines, overlapping at the
 * end, instead of a library call per run. */
static inline void copy_run(uint8_t *d, const uint8_t *s, size_t n)
{
	uint64_t a, b;
	if (n > 32) {
		memcpy(d, s, n);
	} else if (n >= 16) {
		/* two 16-byte moves (SSE2's movdqu on x86-64), overlapping */
		struct { uint8_t v[16]; } h, t;
		memcpy(&h, s, 16);
		memcpy(&t, s + n - 16, 16);
		memcpy(d, &h, 16);
		memcpy(d + n - 16, &t, 16);
	} else if (n >= 8) {
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else {
		while (n--)
			*d++ = *s++;
	}
}

/* Output column ox's kernel rows (no dilation across): taps [*lo, *hi) lie
 * inside the image, tap 0 at input column *ix0. */
static void tap_span(const struct dnnq_conv *c, size_t ox, ptrdiff_t *ix0, size_t *lo,
                     size_t *hi)
{
	size_t kw = c->d.kw;
	*ix0 = (ptrdiff_t)(ox * c->d.stride_w) - (ptrdiff_t)c->d.pad_l;
	ptrdiff_t l = -*ix0, h = (ptrdiff_t)c->w - *ix0;
	*lo = l < 0 ? 0 : (size_t)l < kw ? (size_t)l : kw;
	*hi = h < 0 ? 0 : (size_t)h < kw ? (size_t)h : kw;
}

/* One group, no dilation across: a kernel row's taps are one run of kw *
 * cin input bytes, copied at once from input row `in` (NULL: the row is
 * in the padding); only its ends (taps outside [lo, hi), tap_span) can
 * fall in the padding, the zero point there. */
static void kernel_run(const struct dnnq_conv *c, const uint8_t *in, ptrdiff_t ix0, size_t lo,
                       size_t hi, uint8_t *row)
{
	const uint8_t zx = (uint8_t)c->d.in_qp.zero_point;
	size_t kw = c->d.kw, cin = c->d.cin;
	if (!in || lo >= hi) {
		memset(row, zx, kw * cin);
		return;
	}
	if (lo)
		memset(row, zx, lo * cin);
	copy_run(row + lo * cin, in + ((size_t)ix0 + lo) * cin, (hi - lo) * cin);
	if (hi < kw)
		memset(row + hi * cin, zx, (kw - hi) * cin);
}

/* The im2col row of output pixel (img, oy, ox): its receptive field in
 * group g, tap-major (ky, kx, channel) like the OHWI weights. */
static void im2col_row(const struct dnnq_conv *c, size_t img, size_t oy, size_t ox, size_t g,
                       uint8_t *row)
{
	const uint8_t zx = (uint8_t)c->d.in_qp.zero_point;
	const uint8_t *base = c->in + img * c->h * c->w * c->d.cin + g * c->cing;
	bool runs = c->d.groups == 1 && c->d.dil_w == 1;
	size_t kw = c->d.kw, cin = c->d.cin, lo, hi;
	ptrdiff_t ix0;
	tap_span(c, ox, &ix0, &lo, &hi);
	for (size_t ky = 0; ky < c->d.kh; ky++) {
		ptrdiff_t iy = dnnq_conv_iy(c, oy, ky);
		if (runs) {
			kernel_run(c, iy < 0 ? NULL : base + (size_t)iy * c->w * cin, ix0, lo, hi, row);
			row += kw * cin;
			continue;
		}
		for (size_t kx = 0; kx < kw; kx++, row += c->cing) {
			ptrdiff_t ix = dnnq_conv_ix(c, ox, kx);
			if (iy < 0 || ix < 0)
				memset(row, zx, c->cing);
			else
				copy_run(row, base + ((size_t)iy * c->w + (size_t)ix) * cin, c->cing);
		}
	}
}

/* Output columns [lo, hi) whose taps all lie inside the image across. */
static void x_interior(const struct dnnq_conv *c, size_t *lo, size_t *hi)
{
	const struct dnnq_conv_desc *d = &c->d;
	size_t ext = d->dil_w * (d->kw - 1) + 1, sw = d->stride_w;
	*lo = *hi = c->ow;
	if (c->w + d->pad_l < ext)
		return;
	*lo = (d->pad_l + sw - 1) / sw;
	size_t end = (c->w + d->pad_l - ext) / sw + 1;
	*lo = *lo < c->ow ? *lo : c->ow;
	*hi = end < *lo ? *lo : end < c->ow ? end : c->ow;
}

static void dw_interior(const struct dnnq_conv *c, size_t oy, size_t *lo, size_t *hi);

/* The im2col rows of pixels [ox0, ox0 + cnt) of output row (img, oy), all
 * of whose taps are inside the image, with one group and no dilation
 * across: per kernel row, one run of kw * cin input bytes a pixel, the
 * runs stride_w pixels apart. */
static void im2col_interior(const struct dnnq_conv *c, size_t img, size_t oy, size_t ox0,
                            size_t cnt, uint8_t *a)
{
	const struct dnnq_conv_desc *d = &c->d;
	size_t run = d->kw * d->cin, step = d->stride_w * d->cin;
	size_t iy0 = oy * d->stride_h - d->pad_t, ix0 = ox0 * d->stride_w - d->pad_l;
	const uint8_t *s0 = c->in + ((img * c->h + iy0) * c->w + ix0) * d->cin;
	for (size_t ky = 0; ky < d->kh; ky++) {
		const uint8_t *s = s0 + ky * d->dil_h * c->w * d->cin;
		uint8_t *row = a + ky * run;
		for (size_t i = 0; i < cnt; i++, s += step, row += c->k)
			copy_run(row, s, run);
	}
}

/* The im2col rows of output pixels [p0, p0 + rows) in group g, row stride
 * c->k, an output row's stretch at a time: its interior pixels kernel row
 * by kernel row (im2col_interior), the rest pixel by pixel. No division
 * per pixel: those were a third of a first layer's im2col. */
static void im2col_block(const struct dnnq_conv *c, size_t p0, size_t rows, size_t g, uint8_t *a)
{
	size_t img = p0 / (c->oh * c->ow), oy = p0 / c->ow % c->oh, ox = p0 % c->ow;
	bool runs = c->d.groups == 1 && c->d.dil_w == 1;
	while (rows) {
		size_t end = ox + (rows < c->ow - ox ? rows : c->ow - ox), lo = end, hi = end;
		if (runs) {
			dw_interior(c, oy, &lo, &hi);
			lo = lo < ox ? ox : lo < end ? lo : end;
			hi = hi < lo ? lo : hi < end ? hi : end;
		}
		for (; ox < lo; ox++, rows--, a += c->k)
			im2col_row(c, img, oy, ox, g, a);
		if (hi > ox) {
			im2col_interior(c, img, oy, ox, hi - ox, a);
			a += (hi - ox) * c->k;
			rows -= hi - ox;
		}
		for (ox = hi; ox < end; ox++, rows--, a += c->k)
			im2col_row(c, img, oy, ox, g, a);
		if (ox == c->ow) {
			ox = 0;
			if (++oy == c->oh) {
				oy = 0;
				img++;
			}
		}
	}
}

/* Column chunk `task % nsplit` of n channels (a group's outputs), whole
 * blocks of `align` (a power of 2): [*j0, *j1). */
static void column_chunk(const struct dnnq_conv *c, size_t n, size_t task, size_t align,
                         size_t *j0, size_t *j1)
{
	size_t chunk = (n + c->nsplit - 1) / c->nsplit;
	chunk = (chunk + align - 1) & ~(align - 1);
	*j0 = task % c->nsplit * chunk;
	*j1 = *j0 + chunk < n ? *j0 + chunk : n;
}

/* Task = (pixel block, column chunk): a block of DNNQ_GEMM_MC output pixels
 * is turned into im2col rows in this thread's scratch and multiplied with
 * one chunk of the output channels (all of them unless the layer has too
 * few pixels to keep every thread busy: then the columns are split and the
 * block's im2col is redone per chunk). */
/* The kernel rows of output pixels [p0, p0 + rows) by segments
 * (c->seg_zero): segs[r * kh + ky] is pixel p0 + r's kernel row ky, kw *
 * cin bytes, where it lies in the input when all its taps are inside, the
 * zero point's row when the row is in the padding, else assembled in buf. */
static void segs_block(const struct dnnq_conv *c, size_t p0, size_t rows, const uint8_t **segs,
                       uint8_t *buf)
{
	const struct dnnq_conv_desc *d = &c->d;
	const size_t kh = d->kh, kw = d->kw, cin = d->cin, w = c->w;
	const uint8_t *zero = c->seg_zero;
	size_t img = p0 / (c->oh * c->ow), oy = p0 / c->ow % c->oh, ox = p0 % c->ow;
	/* the input rows of the output row's kernel rows, NULL in the padding:
	 * an interior pixel's segments are these plus its offset (locals: the
	 * stores through segs could alias *c) */
	const uint8_t *in_row[DNNQ_CONV_MAX_WINDOW];
	for (size_t r = 0; r < rows; r++) {
		if (r == 0 || ox == 0) {
			const uint8_t *image = c->in + img * c->h * w * cin;
			for (size_t ky = 0; ky < kh; ky++) {
				ptrdiff_t iy = dnnq_conv_iy(c, oy, ky);
				in_row[ky] = iy < 0 ? NULL : image + (size_t)iy * w * cin;
			}
		}
		ptrdiff_t ix0 = (ptrdiff_t)(ox * d->stride_w) - (ptrdiff_t)d->pad_l;
		const uint8_t **sp = segs + r * kh;
		if (ix0 >= 0 && ix0 + (ptrdiff_t)kw <= (ptrdiff_t)w) {
			for (size_t ky = 0; ky < kh; ky++)
				sp[ky] = in_row[ky] ? in_row[ky] + (size_t)ix0 * cin : zero;
		} else {
			for (size_t ky = 0; ky < kh; ky++) {
				if (!in_row[ky]) {
					sp[ky] = zero;
					continue;
				}
				for (size_t kx = 0; kx < kw; kx++) {
					ptrdiff_t ix = dnnq_conv_ix(c, ox, kx);
					if (ix < 0)
						memset(buf + kx * cin, d->in_qp.zero_point, cin);
					else
						memcpy(buf + kx * cin, in_row[ky] + (size_t)ix * cin, cin);
				}
				sp[ky] = buf;
				buf += kw * cin;
			}
		}
		if (++ox == c->ow) {
			ox = 0;
			if (++oy == c->oh) {
				oy = 0;
				img++;
			}
		}
	}
}

static void im2col_task(void *arg, size_t task, unsigned tid)
{
	const struct dnnq_conv *c = arg;
	size_t npix = c->n * c->oh * c->ow, p0 = task / c->nsplit * c->mc, j0, j1;
	size_t rows = npix - p0 < c->mc ? npix - p0 : c->mc;
	column_chunk(c, c->coutg, task, DNNQ_GEMM_NR, &j0, &j1);
	uint8_t *a = c->scratch[tid];
	if (c->seg_zero && j0 < j1) {
		const uint8_t **segs = (const uint8_t **)(void *)a;
		segs_block(c, p0, rows, segs, a + DNNQ_GEMM_MC * c->d.kh * sizeof *segs);
		dnnq_gemm_segs_avx512vnni(&c->gw[0], rows, segs, c->d.kh, c->d.kw * c->d.cin,
		                          (char *)c->out + p0 * c->d.cout * c->out_es, c->d.cout,
		                          &c->gout[0], j0, j1);
		return;
	}
	for (size_t g = 0; g < c->d.groups && j0 < j1; g++) {
		im2col_block(c, p0, rows, g, a);
		char *y = (char *)c->out + (p0 * c->d.cout + g * c->coutg) * c->out_es;
		if (c->pairs) {
			dnnq_conv_pairs_avx2(c, rows, a, (int16_t *)(a + pairs_offset(c)), y, j0, j1);
			dnnq_gemm_apply_post(c->d.isa, &c->gout[g], y, c->d.cout, 0, rows, j0, j1);
		} else {
			dnnq_gemm_rows(&c->gw[g], rows, a, c->k, y, c->d.cout, &c->gout[g], j0, j1);
		}
	}
}

/* Task = (block of c->mc tiles of one image, row-major, column chunk);
 * the fused post runs on the block's stretch of each output row. */
static void wino_task(void *arg, size_t task, unsigned tid)
{
	const struct dnnq_conv *c = arg;
	const size_t tm = DNNQ_WINO_M;
	size_t tw = (c->ow + tm - 1) / tm, per_img = (c->oh + tm - 1) / tm * tw;
	size_t t = task / c->nsplit, blocks = (per_img + c->mc - 1) / c->mc, img = t / blocks;
	size_t t0 = t % blocks * c->mc, t1 = t0 + c->mc < per_img ? t0 + c->mc : per_img, j0, j1;
	column_chunk(c, c->coutg, task, DNNQ_GEMM_NR, &j0, &j1);
	if (j0 >= j1)
		return;
	if (c->d.isa == DNNQ_ISA_AVX512VNNI)
		dnnq_wino_avx512vnni(c, img, t0, t1, j0, j1, c->scratch[tid]);
	else
		dnnq_wino_avx2(c, img, t0, t1, j0, j1, c->scratch[tid]);
	for (size_t oy = t0 / tw * tm; oy < (t1 - 1) / tw * tm + tm && oy < c->oh; oy++) {
		size_t x0 = oy / tm == t0 / tw ? t0 % tw * tm : 0;
		size_t x1 = oy / tm == (t1 - 1) / tw ? (t1 - 1) % tw * tm + tm : c->ow;
		size_t row = (img * c->oh + oy) * c->ow;
		dnnq_gemm_apply_post(c->d.isa, &c->gout[0], c->out, c->d.cout, row + x0,
		                     row + (x1 < c->ow ? x1 : c->ow), j0, j1);
	}
}

/* The input runs of a band (c->bands): for output columns [ox0, ox0 +
 * cols) of image img, the (rows - 1) * stride_h + kh kernel rows
 * (kernel_run) of input rows oy0 * stride_h - pad_t on, column x's at b +
 * x * ts, one after the other; the input rows one at a time, across the
 * strip. */
static void band_runs(const struct dnnq_conv *c, size_t img, size_t oy0, size_t rows,
                      size_t ox0, size_t cols, size_t ts, uint8_t *b)
{
	const struct dnnq_conv_desc *d = &c->d;
	const uint8_t *image = c->in + img * c->h * c->w * d->cin;
	size_t run = d->kw * d->cin, step = d->stride_w * d->cin, lo, hi, xa, xb;
	ptrdiff_t ix0, iy = (ptrdiff_t)(oy0 * d->stride_h) - (ptrdiff_t)d->pad_t;
	/* the strip's columns [xa, xb) take their runs whole (the loop that
	 * is the time: the others tap_span and kernel_run) */
	x_interior(c, &xa, &xb);
	xa = xa < ox0 ? 0 : xa - ox0 < cols ? xa - ox0 : cols;
	xb = xb < ox0 + xa ? xa : xb - ox0 < cols ? xb - ox0 : cols;
	for (size_t r = 0; r < (rows - 1) * d->stride_h + d->kh; r++, iy++, b += run) {
		const uint8_t *in = iy < 0 || iy >= (ptrdiff_t)c->h ? NULL
		                  : image + (size_t)iy * c->w * d->cin;
		for (size_t x = 0; x < cols; x++) {
			if (in && x == xa && xa < xb) {
				const uint8_t *src = in + ((ox0 + xa) * d->stride_w - d->pad_l) * d->cin;
				for (uint8_t *dst = b + x * ts; x < xb; x++, dst += ts, src += step)
					copy_run(dst, src, run);
				if (x == cols)
					break;
			}
			tap_span(c, ox0 + x, &ix0, &lo, &hi);
			kernel_run(c, in, ix0, lo, hi, b + x * ts);
		}
	}
}

/* Task = (image, band of c->mc output rows, strip of c->band_w output
 * columns, column chunk), a band's strips one after the other: the
 * band's input runs (band_runs) in this thread's scratch, then per output
 * row the GEMM of the strip's pixels, pixel x's im2col row the kh runs
 * from column x's (oy - oy0) * stride_h th on (row stride ts, the
 * column's runs): the bytes of im2col_task's, the same rows and kernel,
 * with kh / stride_h times fewer bytes copied as bands grow. */
static void band_task(void *arg, size_t task, unsigned tid)
{
	const struct dnnq_conv *c = arg;
	const struct dnnq_conv_desc *d = &c->d;
	size_t strips = (c->ow + c->band_w - 1) / c->band_w, bands = (c->oh + c->mc - 1) / c->mc;
	size_t t = task / c->nsplit, ox0 = t % strips * c->band_w, oy0 = t / strips % bands * c->mc;
	size_t img = t / strips / bands, rows = c->oh - oy0 < c->mc ? c->oh - oy0 : c->mc;
	size_t cols = c->ow - ox0 < c->band_w ? c->ow - ox0 : c->band_w, j0, j1;
	size_t run = d->kw * d->cin, ts = ((rows - 1) * d->stride_h + d->kh) * run;
	column_chunk(c, c->coutg, task, DNNQ_GEMM_NR, &j0, &j1);
	if (j0 >= j1)
		return;
	band_runs(c, img, oy0, rows, ox0, cols, ts, c->scratch[tid]);
	char *y = (char *)c->out + ((img * c->oh + oy0) * c->ow + ox0) * d->cout * c->out_es;
	for (size_t r = 0; r < rows; r++, y += c->ow * d->cout * c->out_es)
		dnnq_gemm_rows(&c->gw[0], cols, c->scratch[tid] + r * d->stride_h * run, ts, y,
		               d->cout, &c->gout[0], j0, j1);
}

/* Task = (DNNQ_STEM_ROWS output rows of an image, block of c->mc tiles of
 * DNNQ_STEM_TILE_W output pixels, column chunk); the fused post runs on
 * the block's pixels. */
static void stem_task(void *arg, size_t task, unsigned tid)
{
	const struct dnnq_conv *c = arg;
	const size_t tw = (c->ow + DNNQ_STEM_TILE_W - 1) / DNNQ_STEM_TILE_W;
	size_t per_row = (tw + c->mc - 1) / c->mc, t = task / c->nsplit;
	size_t rows = (c->oh + DNNQ_STEM_ROWS - 1) / DNNQ_STEM_ROWS, r = t / per_row, j0, j1;
	size_t img = r / rows, oy0 = r % rows * DNNQ_STEM_ROWS, t0 = t % per_row * c->mc;
	size_t oy1 = oy0 + DNNQ_STEM_ROWS < c->oh ? oy0 + DNNQ_STEM_ROWS : c->oh;
	size_t t1 = t0 + c->mc < tw ? t0 + c->mc : tw, x0 = DNNQ_STEM_TILE_W * t0;
	size_t x1 = DNNQ_STEM_TILE_W * t1 < c->ow ? DNNQ_STEM_TILE_W * t1 : c->ow;
	column_chunk(c, c->coutg, task, DNNQ_GEMM_NR, &j0, &j1);
	if (j0 >= j1)
		return;
	dnnq_stem_avx2(c, img, oy0, oy1, t0, t1, j0, j1, c->scratch[tid]);
	for (size_t oy = oy0; oy < oy1; oy++) {
		size_t row = (img * c->oh + oy) * c->ow;
		dnnq_gemm_apply_post(c->d.isa, &c->gout[0], c->out, c->d.cout, row + x0, row + x1,
		                     j0, j1);
	}
}

/* Runs `blocks` pixel blocks, each in nsplit column chunks: columns are split
 * only when the blocks alone do not go evenly to the threads (the 7x7
 * layers of ResNet have one block; dnnq_gemm_chunk_cols). The split never
 * changes a result. */
static void run_blocks(struct dnnq_conv *c, size_t blocks, dnnq_task_fn fn,
                       const struct dnnq_executor *ex)
{
	size_t nc = c->d.groups > 1 ? c->coutg : dnnq_gemm_chunk_cols(ex, blocks, c->coutg, c->coutg);
	DNNQ_KEEP(c->nsplit, nc ? (c->coutg + nc - 1) / nc : 0);
	dnnq_parallel_for(ex, blocks * c->nsplit, fn, c);
}

/* Task = (output row, channel chunk): on more than two threads, where the
 * rows alone do not go evenly to them, their channels are cut too
 * (dnnq_split_panels). */
/* Row dw_mid's first task: its first about half of the channels, in
 * whole blocks. */
static size_t dw_half(const struct dnnq_conv *c)
{
	return (c->d.cout / 2 + DNNQ_DW_BLOCK / 2) / DNNQ_DW_BLOCK * DNNQ_DW_BLOCK;
}

/* Before depthwise output row `row` (of n * oh) is computed on two
 * threads: its input rows in the other half of the input's n * h rows (and
 * the middle one of an odd count), read a line at a time. The node before
 * cut its output by rows as well, the caller making the top half and the
 * worker the bottom (daemon/claim.h), so these are mostly lines the other
 * core wrote: read in order they are fetched many at once, where the
 * kernel, whose taps take kh rows pixel by pixel, waited for them a few at
 * a time. With the two vCPUs apart (a line's round trip ~400 ns) that made
 * mobilenet_v3_small's 5x5 nodes at 14x14x240 and 7x7x576 2-3 us faster
 * each (docs/graph.md, "Lines the other core wrote"); the lines of the own
 * half are not read. A task of channels [c0, c1) only (row dw_mid's two
 * halves) reads only those channels of each pixel: both halves read the
 * whole rows before, twice the lines either needed (at H = 1 the one row
 * is the middle one, and its two tasks each read the whole input). */
static void dw_read_across(const struct dnnq_conv *c, size_t row, size_t c0, size_t c1)
{
	size_t rows = c->n * c->h, img = row / c->oh, oy = row % c->oh, cout = c->d.cout;
	size_t line = c->w * cout;
	bool bottom = 2 * row >= c->n * c->oh, all = c0 == 0 && c1 == cout;
	const volatile uint8_t *in = c->in;
	for (size_t ky = 0; ky < c->d.kh; ky++) {
		ptrdiff_t iy = dnnq_conv_iy(c, oy, ky);
		if (iy < 0)
			continue;
		size_t g = img * c->h + (size_t)iy;   /* of all n * h rows */
		if (2 * g + 1 != rows && (2 * g >= rows) == bottom)
			continue;
		/* whole rows as one run of channels; else each pixel's */
		for (size_t px = 0, n = all ? 1 : c->w; px < n; px++) {
			const volatile uint8_t *p = in + g * line + (all ? 0 : px * cout + c0);
			size_t len = all ? line : c1 - c0;
			for (size_t b = 0; b < len; b += 64)
				(void)p[b];
			(void)p[len - 1];   /* the run's last line, when runs are not aligned */
		}
	}
}

/* Channels [c0, c1) of depthwise output row `row` (of n * oh) from c's
 * input, stored through the output stage (and summed for a global pool). */
static void dw_row(const struct dnnq_conv *c, size_t row, size_t c0, size_t c1, unsigned tid)
{
	dnnq_kernels_of(c->d.isa)->dw.row(c, row / c->oh, row % c->oh, c0, c1, c->scratch[tid]);
	dnnq_gemm_apply_post(c->d.isa, &c->gout[0], c->out, c->d.cout, row * c->ow,
	                     (row + 1) * c->ow, c0, c1);
	if (c->sum_rows) {   /* for a global pool of the output, while the row is in L1 */
		size_t cout = c->d.cout;
		const struct dnnq_pooling_win win = {
			(const uint8_t *)c->out + row * c->ow * cout + c0, 1, c->ow, 0, cout };
		dnnq_kernels_of(c->d.isa)->pool_sums(&win, c1 - c0, c->row_sums + row * cout + c0);
	}
}

static void depthwise_task(void *arg, size_t task, unsigned tid)
{
	const struct dnnq_conv *c = arg;
	size_t row = task / c->nsplit, c0, c1;
	column_chunk(c, c->d.cout, task, DNNQ_DW_BLOCK, &c0, &c1);
	if (task > c->dw_mid) {   /* rows only: task dw_mid + 1 is that row's second half */
		row = task - 1;
		c0 = row == c->dw_mid ? dw_half(c) : 0;
	} else if (task == c->dw_mid) {
		c1 = dw_half(c);
	}
	if (c->dw_across)
		dw_read_across(c, row, c0, c1);
	dw_row(c, row, c0, c1, tid);
}

/* Output pixels [lo, hi) of a row whose taps are all inside the image. */
static void dw_interior(const struct dnnq_conv *c, size_t oy, size_t *lo, size_t *hi)
{
	*lo = *hi = c->ow;
	if (dnnq_conv_iy(c, oy, 0) >= 0 && dnnq_conv_iy(c, oy, c->d.kh - 1) >= 0)
		x_interior(c, lo, hi);
}

struct dnnq_dw_taps dnnq_dw_tap_table(const struct dnnq_conv *c, size_t img, size_t oy,
                                      size_t stride, void *scratch)
{
	struct dnnq_dw_taps tt = { scratch, stride, 0, 0,
	                           (ptrdiff_t)(c->d.stride_w * c->d.cout) };
	const uint8_t *rows[64];
	const size_t kh = c->d.kh, kw = c->d.kw, cout = c->d.cout;
	const uint8_t *image = c->in + img * c->h * c->w * cout;
	dw_interior(c, oy, &tt.lo, &tt.hi);
	for (size_t ky = 0; ky < kh; ky++) {
		ptrdiff_t iy = dnnq_conv_iy(c, oy, ky);
		rows[ky] = iy < 0 ? NULL : image + (size_t)iy * c->w * cout;
	}
	for (size_t ox = 0; ox < c->ow; ox++) {
		if (ox > tt.lo && ox < tt.hi)
			ox = tt.hi;   /* the interior reads pixel lo's taps, shifted */
		if (ox >= c->ow)
			break;
		const uint8_t **t = tt.tab + ox * stride;
		for (size_t kx = 0; kx < kw; kx++) {
			ptrdiff_t ix = dnnq_conv_ix(c, ox, kx);
			for (size_t ky = 0; ky < kh; ky++)
				t[ky * kw + kx] = !rows[ky] || ix < 0 ? c->dw_zero
				                : rows[ky] + (size_t)ix * cout;
		}
		/* past the taps: weight 0 and left out of the input sums, so any
		 * pixel; tap 0's stays valid when the interior shifts it */
		for (size_t i = kh * kw; i < stride; i++)
			t[i] = t[0];
	}
	return tt;
}

void dnnq_dw_row_scalar(const struct dnnq_conv *c, size_t img, size_t oy, size_t c0, size_t c1,
                        void *scratch)
{
	size_t cout = c->d.cout;
	const uint8_t *image = c->in + img * c->h * c->w * cout;
	int32_t *acc = scratch, *xsum = acc + cout;
	struct dnnq_gemm_job job = dnnq_dw_job(c);
	for (size_t ox = 0; ox < c->ow; ox++) {
		for (size_t ch = c0; ch < c1; ch++)
			dnnq_dw_one(c, image, oy, ox, ch, &acc[ch - c0], &xsum[ch - c0]);
		dnnq_gemm_store_row_scalar(&job, (img * c->oh + oy) * c->ow + ox, c0, c1, acc,
		                           c->q.out.nwzp ? xsum : NULL);
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
		return dnnq_gemm_run_kept(&c->job[0], &(struct dnnq_gemm_job){
			.w = &c->gw[0], .m = npix, .a = c->in, .lda = c->d.cin, .c = c->out,
			.ldc = c->d.cout, .out = &c->gout[0] }, ex);
	case DNNQ_CONV_DEPTHWISE: {
		if (c->sum_rows && c->row_sums_cap < c->n * c->oh * c->d.cout)
			return DNNQ_E_INVAL;   /* sums set on after setup */
		/* rows only on two threads: each channel chunk costs more than
		 * the 4-against-3 rows at 7x7 lose (docs/graph.md) */
		size_t split = (c->d.cout + DNNQ_DW_BLOCK - 1) / DNNQ_DW_BLOCK;
		if (dnnq_executor_threads(ex) > 2)
			split = dnnq_split_panels(ex, c->n * c->oh, split, 1);
		DNNQ_KEEP(c->nsplit, (c->d.cout + split * DNNQ_DW_BLOCK - 1) / (split * DNNQ_DW_BLOCK));
		/* an odd number of rows on two threads: the middle one in two
		 * halves of the channels, a task each (7 rows went 4 against 3) */
		DNNQ_KEEP(c->dw_mid, dnnq_executor_threads(ex) == 2 && c->nsplit == 1 &&
		                     c->n * c->oh % 2 && c->d.cout >= 2 * DNNQ_DW_BLOCK
		                     ? c->n * c->oh / 2 : SIZE_MAX);
		DNNQ_KEEP(c->dw_across, dnnq_executor_threads(ex) == 2);
		dnnq_parallel_for(ex, c->n * c->oh * c->nsplit + (c->dw_mid != SIZE_MAX),
		                  depthwise_task, c);
		return DNNQ_OK;
	}
	case DNNQ_CONV_IM2COL:
		if (c->wino) {
			/* whole rows of tiles where they fit (blocks across rows
			 * were 1.1x slower on ResNet's 56x56 layers, 1 thread) */
			size_t tm = DNNQ_WINO_M, tw = (c->ow + tm - 1) / tm;
			size_t tiles = (c->oh + tm - 1) / tm * tw, cap = dnnq_wino_block_tiles(c);
			cap = tw <= cap ? cap / tw * tw : cap;
			size_t mc = dnnq_even_pieces(ex, tiles, cap, 1);
			/* on the fly, rather than blocks of fewer tiles than the
			 * micro-kernel's 4, each transforming every panel's
			 * weights, one block whose columns the threads split:
			 * ResNet's 7x7 layers on two threads 0.75x the time of 2
			 * blocks of 2 tiles (its 14x14 ones, 16 tiles, as fast in
			 * one block by columns as in 2 of 8) */
			if (c->wino_fly && mc < 4)
				mc = tiles < cap ? tiles : cap;
			DNNQ_KEEP(c->mc, mc);
			run_blocks(c, c->n * ((tiles + c->mc - 1) / c->mc), wino_task, ex);
			return DNNQ_OK;
		}
		if (c->stem) {
			/* rows of tiles in even blocks of at most DNNQ_STEM_TILES */
			size_t tw = (c->ow + DNNQ_STEM_TILE_W - 1) / DNNQ_STEM_TILE_W;
			size_t b = (tw + DNNQ_STEM_TILES - 1) / DNNQ_STEM_TILES;
			DNNQ_KEEP(c->mc, (tw + b - 1) / b);
			size_t rows = (c->oh + DNNQ_STEM_ROWS - 1) / DNNQ_STEM_ROWS;
			run_blocks(c, c->n * rows * ((tw + c->mc - 1) / c->mc), stem_task, ex);
			return DNNQ_OK;
		}
		if (c->bands) {
			band_shape(c);
			size_t strips = (c->ow + c->band_w - 1) / c->band_w;
			run_blocks(c, c->n * ((c->oh + c->mc - 1) / c->mc) * strips, band_task, ex);
			return DNNQ_OK;
		}
		DNNQ_KEEP(c->mc, dnnq_gemm_block_rows(ex, npix));
		run_blocks(c, (npix + c->mc - 1) / c->mc, im2col_task, ex);
		return DNNQ_OK;
	}
	return DNNQ_E_INVAL;
}

int dnnq_conv_run_chain(struct dnnq_conv *c, struct dnnq_conv *next,
                        const struct dnnq_executor *ex)
{
	if (!c || !next)
		return DNNQ_E_INVAL;
	if (!dnnq_conv_can_pre(c) || !dnnq_conv_can_pre(next) || next->in != c->out ||
	    dnnq_executor_threads(ex) > c->nscratch || dnnq_executor_threads(ex) > next->nscratch) {
		int rc = dnnq_conv_run(c, ex);
		return rc ? rc : dnnq_conv_run(next, ex);
	}
	const struct dnnq_gemm_job job[2] = {
		{ .w = &c->gw[0], .m = c->n * c->oh * c->ow, .a = c->in, .lda = c->d.cin,
		  .c = c->out, .ldc = c->d.cout, .out = &c->gout[0] },
		{ .w = &next->gw[0], .m = next->n * next->oh * next->ow, .a = next->in,
		  .lda = next->d.cin, .c = next->out, .ldc = next->d.cout, .out = &next->gout[0] },
	};
	return dnnq_gemm_run_chain(c->job, job, ex);
}

/* The input rows [*lo, *hi) of depthwise c that its output rows [r0, r1)
 * read (image 0). */
static void dw_input_rows(const struct dnnq_conv *c, size_t r0, size_t r1, size_t *lo,
                          size_t *hi)
{
	ptrdiff_t a = (ptrdiff_t)(r0 * c->d.stride_h) - (ptrdiff_t)c->d.pad_t;
	ptrdiff_t b = (ptrdiff_t)((r1 - 1) * c->d.stride_h + (c->d.kh - 1) * c->d.dil_h + 1) -
	              (ptrdiff_t)c->d.pad_t;
	*lo = a < 0 ? 0 : (size_t)a;
	*hi = b < 0 ? 0 : (size_t)b < c->h ? (size_t)b : c->h;
	if (*hi < *lo)
		*hi = *lo;
}

/* Where band t starts, in depthwise output rows. */
static size_t band_start(const struct dnnq_conv *e, size_t t)
{
	return t == 1 && e->band_cut ? e->band_cut : dnnq_piece_start(&e->band_rows, t);
}

/* Two bands of depthwise d's odd number of output rows: the first row of
 * the second band where giving the first band the middle row makes the
 * larger band read fewer input rows (the expansion rows it makes) than
 * band_rows' cut, which gives it to the second, else 0. The top padding
 * cuts the first band's halo: MobileNetV2's 14x14 -> 7x7 block (3x3,
 * stride 2) made 6 and 9 expansion rows of 14, now 8 and 7. */
static size_t band_rows_cut(const struct dnnq_conv *d)
{
	size_t c = d->oh / 2, most[2];
	if (d->oh % 2 == 0 || d->oh < 3)
		return 0;
	for (size_t k = 0; k < 2; k++) {
		size_t a0, a1, b0, b1;
		dw_input_rows(d, 0, c + k, &a0, &a1);
		dw_input_rows(d, c + k, d->oh, &b0, &b1);
		most[k] = a1 - a0 > b1 - b0 ? a1 - a0 : b1 - b0;
	}
	return most[1] < most[0] ? c + 1 : 0;
}

/* Band t of a 1x1 convolution and the depthwise one after it: the 1x1
 * rows the band's depthwise rows read, its own and the halo both, into
 * the thread's private copy of the 1x1's output, then the band's
 * depthwise rows from that copy. */
static void dw_band_task(void *arg, size_t t, unsigned tid)
{
	const struct dnnq_conv *e = arg, *d = e->band_dw;
	size_t r0 = band_start(e, t), r1 = band_start(e, t + 1), lo, hi;
	if (r1 <= r0)
		return;
	uint8_t *own = e->band_buf + tid * e->band_stride;
	dw_input_rows(d, r0, r1, &lo, &hi);
	const struct dnnq_gemm_job job = { .w = &e->gw[0], .m = e->oh * e->ow, .a = e->in,
	                                   .lda = e->d.cin, .c = own, .ldc = e->d.cout,
	                                   .out = &e->gout[0] };
	for (size_t i = lo * e->ow, end = hi * e->ow; i < end; i += DNNQ_GEMM_MC) {
		size_t i1 = i + DNNQ_GEMM_MC < end ? i + DNNQ_GEMM_MC : end;
		e->gw[0].kernel->block(&job, i, i1, 0, e->d.cout);
		dnnq_gemm_apply_post(e->d.isa, &e->gout[0], own, e->d.cout, i, i1, 0, e->d.cout);
	}
	struct dnnq_conv v = *d;   /* reading the thread's copy */
	v.in = own;
	for (size_t row = r0; row < r1; row++)
		dw_row(&v, row, 0, d->d.cout, tid);
	const struct dnnq_conv *p = e->band_pw;
	if (!p)
		return;
	const struct dnnq_gemm_job pj = { .w = &p->gw[0], .m = p->oh * p->ow, .a = p->in,
	                                  .lda = p->d.cin, .c = p->out, .ldc = p->d.cout,
	                                  .out = &p->gout[0] };
	for (size_t i = r0 * p->ow, end = r1 * p->ow; i < end; i += DNNQ_GEMM_MC) {
		size_t i1 = i + DNNQ_GEMM_MC < end ? i + DNNQ_GEMM_MC : end;
		p->gw[0].kernel->block(&pj, i, i1, 0, p->d.cout);
		dnnq_gemm_apply_post(p->d.isa, &p->gout[0], p->out, p->d.cout, i, i1, 0, p->d.cout);
	}
}

bool dnnq_conv_bands_pay(const struct dnnq_conv *c)
{
	return c && c->d.isa != DNNQ_ISA_AVX2;
}

int dnnq_conv_run_bands(struct dnnq_conv *e, struct dnnq_conv *d, struct dnnq_conv *p,
                        uint8_t *buf, size_t stride, const struct dnnq_executor *ex)
{
	if (!e || !d)
		return DNNQ_E_INVAL;
	unsigned nt = dnnq_executor_threads(ex);
	if (p && (!dnnq_conv_can_pre(p) || p->in != d->out || p->gout[0].pre || p->n != 1 ||
	          p->h != d->oh || p->w != d->ow || p->d.cin != d->d.cout ||
	          d->q.d.out_dtype != DNNQ_DTYPE_U8 || nt > p->nscratch)) {
		int rc = dnnq_conv_run_bands(e, d, NULL, buf, stride, ex);
		return rc ? rc : dnnq_conv_run(p, ex);
	}
	if (nt == 1 || !buf || !dnnq_conv_can_pre(e) || d->path != DNNQ_CONV_DEPTHWISE ||
	    e->n != 1 || d->n != 1 || d->in != e->out || e->gout[0].pre || e->gout[0].post ||
	    e->q.d.out_dtype != DNNQ_DTYPE_U8 || d->h != e->oh || d->w != e->ow ||
	    d->d.cout != e->d.cout || stride < e->oh * e->ow * e->d.cout ||
	    nt > e->nscratch || nt > d->nscratch ||
	    (d->sum_rows && d->row_sums_cap < d->oh * d->d.cout)) {
		int rc = dnnq_conv_run(e, ex);
		if (!rc)
			rc = dnnq_conv_run(d, ex);
		return rc || !p ? rc : dnnq_conv_run(p, ex);
	}
	struct dnnq_pieces bands = { d->oh, nt < d->oh ? nt : d->oh, 1 };
	DNNQ_KEEP(e->band_dw, d);
	DNNQ_KEEP(e->band_pw, p);
	DNNQ_KEEP(e->band_cut, nt == 2 ? band_rows_cut(d) : 0);
	DNNQ_KEEP(e->band_buf, buf);
	DNNQ_KEEP(e->band_stride, stride);
	dnnq_keep_bytes(&e->band_rows, &bands, sizeof bands);
	dnnq_parallel_for(ex, bands.count, dw_band_task, e);
	return DNNQ_OK;
}

int dnnq_conv_set_lut(struct dnnq_conv *c, const uint8_t *table)
{
	if (!c)
		return DNNQ_E_INVAL;
	if (table && c->q.d.out_dtype != DNNQ_DTYPE_U8)
		return DNNQ_E_DTYPE;
	for (size_t g = 0; g < out_groups(c); g++)
		DNNQ_KEEP(c->gout[g].lut, table);
	return DNNQ_OK;
}

int dnnq_conv_set_post(struct dnnq_conv *c, void (*post)(const void *ctx, uint8_t *y, size_t n),
                       const void *ctx)
{
	if (!c)
		return DNNQ_E_INVAL;
	if (post && c->q.d.out_dtype != DNNQ_DTYPE_U8)
		return DNNQ_E_DTYPE;
	for (size_t g = 0; g < out_groups(c); g++) {
		DNNQ_KEEP(c->gout[g].post, post);
		DNNQ_KEEP(c->gout[g].post_ctx, ctx);
	}
	return DNNQ_OK;
}

bool dnnq_conv_can_pre(const struct dnnq_conv *c)
{
	return c && c->path == DNNQ_CONV_GEMM_1X1;
}

int dnnq_conv_set_pre(struct dnnq_conv *c, void (*pre)(const void *ctx, size_t p0, size_t p1),
                      const void *ctx)
{
	if (!c)
		return DNNQ_E_INVAL;
	if (pre && !dnnq_conv_can_pre(c))
		return DNNQ_E_UNSUPPORTED;
	DNNQ_KEEP(c->gout[0].pre, pre);
	DNNQ_KEEP(c->gout[0].pre_ctx, ctx);
	return DNNQ_OK;
}

bool dnnq_conv_can_sum(const struct dnnq_conv *c)
{
	return c && c->path == DNNQ_CONV_DEPTHWISE && c->q.d.out_dtype == DNNQ_DTYPE_U8;
}

int dnnq_conv_set_sums(struct dnnq_conv *c, bool on)
{
	if (!c)
		return DNNQ_E_INVAL;
	if (on && !dnnq_conv_can_sum(c))
		return DNNQ_E_UNSUPPORTED;
	DNNQ_KEEP(c->sum_rows, on);
	return DNNQ_OK;
}

const uint32_t *dnnq_conv_row_sums(const struct dnnq_conv *c)
{
	return c->sum_rows ? c->row_sums : NULL;
}

/* The raw weight of output channel o, tap t (ky * kw + kx), channel ci of
 * its group, from whichever layout create packed. */
static int8_t conv_weight(const struct dnnq_conv *c, size_t o, size_t t, size_t ci)
{
	if (c->path == DNNQ_CONV_DEPTHWISE)
		return c->dw_ref[o * c->d.kh * c->d.kw + t];
	return dnnq_gemm_weight(&c->gw[o / c->coutg], o % c->coutg, t * c->cing + ci);
}

/* Pixel p's im2col row for group g of one NHWC image: the taps in order,
 * each the group's cing channels, 0 in the padding. */
static void ref_row(const struct dnnq_conv *c, const float *image, size_t ow, size_t p,
                    size_t g, float *row)
{
	size_t taps = c->d.kh * c->d.kw;
	for (size_t t = 0; t < taps; t++, row += c->cing) {
		ptrdiff_t iy = dnnq_conv_iy(c, p / ow, t / c->d.kw);
		ptrdiff_t ix = dnnq_conv_ix(c, p % ow, t % c->d.kw);
		if (iy < 0 || ix < 0)
			memset(row, 0, c->cing * sizeof *row);
		else
			memcpy(row, image + ((size_t)iy * c->w + (size_t)ix) * c->d.cin + g * c->cing,
			       c->cing * sizeof *row);
	}
}

/* The weights dequantized, cout x (taps x cing) as the im2col rows, and
 * the biases: the reference's operands (float sgemm; the shadow run calls
 * it on every node of every trial, where double loops cost minutes). */
static int ref_operands(const struct dnnq_conv *c, float **wf, float **bias)
{
	size_t k = c->d.kh * c->d.kw * c->cing;
	*wf = malloc((c->d.cout * k + 1) * sizeof **wf);
	*bias = malloc((c->d.cout + 1) * sizeof **bias);
	int8_t *row = malloc(k + 1);
	int rc = *wf && *bias && row ? DNNQ_OK : DNNQ_E_NOMEM;
	for (size_t o = 0; !rc && o < c->d.cout; o++) {
		(*bias)[o] = dnnq_qlinear_bias(&c->q, o, c->d.in_qp.scale);
		if (c->path == DNNQ_CONV_DEPTHWISE)
			for (size_t j = 0; j < k; j++)
				row[j] = conv_weight(c, o, j, 0);
		else
			dnnq_gemm_weight_row(&c->gw[o / c->coutg], o % c->coutg, row);
		for (size_t j = 0; j < k; j++)
			(*wf)[o * k + j] = dnnq_qlinear_weight(&c->q, o, row[j]);
	}
	free(row);
	return rc;
}

/* One task of the reference: image i / groups, group i % groups, with
 * thread tid's im2col scratch. */
struct ref_job {
	const struct dnnq_conv *c;
	size_t oh, ow, k;
	const float *x, *wf, *bias;
	float *y, **scratch;
};

static void ref_task(void *arg, size_t i, unsigned tid)
{
	const struct ref_job *j = arg;
	const struct dnnq_conv *c = j->c;
	size_t img = i / c->d.groups, g = i % c->d.groups, np = j->oh * j->ow, cout = c->d.cout;
	const float *image = j->x + img * c->h * c->w * c->d.cin;
	float *a = j->scratch[tid], *yi = j->y + img * np * cout;
	for (size_t p = 0; p < np; p++)
		ref_row(c, image, j->ow, p, g, a + p * j->k);
	dnnq_f32_gemm(c->d.isa, true, np, c->coutg, j->k, a, j->k, j->wf + g * c->coutg * j->k,
	              j->k, yi + g * c->coutg, cout);
	for (size_t p = 0; p < np; p++)
		for (size_t o = g * c->coutg; o < (g + 1) * c->coutg; o++)
			yi[p * cout + o] = dnnq_qlinear_activate(&c->q.d, (double)yi[p * cout + o] +
			                                         j->bias[o]);
}

int dnnq_conv_reference(const struct dnnq_conv *cc, size_t n, size_t h, size_t w,
                        const float *x, float *y, const struct dnnq_executor *ex)
{
	struct dnnq_conv c = *cc;   /* the geometry helpers read h and w */
	size_t oh, ow;
	int rc = dnnq_conv_output_size(&c, h, w, &oh, &ow);
	if (rc || !x || !y)
		return rc ? rc : DNNQ_E_INVAL;
	c.h = h;
	c.w = w;
	unsigned nt = dnnq_executor_threads(ex);
	float *wf = NULL, *bias = NULL, **scratch = calloc(nt, sizeof *scratch);
	size_t k = c.d.kh * c.d.kw * c.cing;
	rc = scratch ? ref_operands(&c, &wf, &bias) : DNNQ_E_NOMEM;
	for (unsigned t = 0; !rc && t < nt; t++)
		if (!(scratch[t] = malloc((oh * ow * k + 1) * sizeof **scratch)))
			rc = DNNQ_E_NOMEM;
	struct ref_job j = { &c, oh, ow, k, x, wf, bias, y, scratch };
	if (!rc)
		dnnq_parallel_for(ex, n * c.d.groups, ref_task, &j);
	for (unsigned t = 0; scratch && t < nt; t++)
		free(scratch[t]);
	free(scratch);
	free(wf);
	free(bias);
	return rc;
}

const char *dnnq_conv_path(const struct dnnq_conv *c)
{
	static const char *names[] = { "gemm-1x1", "depthwise", "im2col" };
	return c->wino ? "winograd" : c->stem ? "stem-winograd" : c->bands ? "im2col-bands"
	     : names[c->path];
}

const struct dnnq_gemm_weights *dnnq_conv_weights(const struct dnnq_conv *c, size_t g)
{
	return c->path == DNNQ_CONV_DEPTHWISE || g >= c->d.groups ? NULL : &c->gw[g];
}

void dnnq_conv_destroy(struct dnnq_conv *c)
{
	if (!c)
		return;
	if (!c->borrowed) {
		for (size_t g = 0; c->gw && g < c->d.groups; g++)
			dnnq_gemm_weights_free(&c->gw[g]);
		free(c->gw);
		free(c->dw_block);
		free(c->dw_sums.row_sums);
	}
	free(c->dw_zero);
	free(c->seg_zero);
	free(c->pairs);
	free(c->stem);
	if (!c->wino_borrowed)
		free((void *)c->wino);
	free(c->wino_zero);
	free(c->row_sums);
	free(c->gout);
	for (unsigned t = 0; t < c->nscratch; t++)
		free(c->scratch[t]);
	free(c->scratch);
	dnnq_qlinear_free(&c->q);
	free(c);
}
