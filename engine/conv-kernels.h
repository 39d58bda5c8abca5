/*
 * engine/conv-kernels.h — the convolution object, shared by conv.c (create,
 * setup, run, the scalar and im2col paths), the depthwise kernels
 * (conv-avx2.c, conv-avx512vnni.c) and the AVX2 first-layer GEMM
 * (conv-avx2.c).
 *
 * A depthwise kernel computes one output row, the output stage included
 * (no int32 row goes through memory): per block of channels and output
 * pixel, the sums over the taps stay in registers and go straight to the
 * GEMM's output stage of that ISA. The taps of every pixel of the row come
 * from a table of pointers (dnnq_dw_tap_table) in which a padded tap points
 * at a pixel of the input zero point, so the kernels have no branch on the
 * border. Weights are laid out per kernel (struct dnnq_dw_ukernel's pack);
 * the OHWI copy (dw_ref) serves the scalar kernel, the oracle, and the
 * fp32 reference.
 */
#ifndef DNNQ_ENGINE_CONV_KERNELS_H
#define DNNQ_ENGINE_CONV_KERNELS_H

#include "engine/conv.h"
#include "engine/gemm-kernels.h"
#include "engine/qlinear.h"

enum dnnq_conv_path {
	DNNQ_CONV_GEMM_1X1,
	DNNQ_CONV_DEPTHWISE,
	DNNQ_CONV_IM2COL,
};

struct dnnq_conv {
	struct dnnq_conv_desc d;          /* pointer fields are not kept */
	enum dnnq_conv_path path;
	size_t cing, coutg;               /* channels per group */
	size_t k;                         /* kh * kw * cing: one im2col row */
	struct dnnq_gemm_weights *gw;     /* packed weights, one set per group */
	struct dnnq_qlinear q;
	struct dnnq_gemm_output *gout;    /* the output pipeline of each group */
	/* depthwise: one block, dw_ref (the cout x taps OHWI weights) then,
	 * 64-byte aligned, dw_w (the kernel's layout) */
	void *dw_block;
	const int8_t *dw_ref;
	const void *dw_w;
	uint8_t *dw_zero;                 /* cout bytes of the input zero point */
	struct dnnq_gemm_weights dw_sums; /* only row_sums (per channel) and k (taps) */
	bool borrowed;                    /* gw, dw_block, dw_sums.row_sums: the cache's */
	/* im2col with few input channels on AVX2: the weights as int16 pairs
	 * (dnnq_conv_pairs_pack_avx2), else NULL */
	int16_t *pairs;
	/* 7-tap stride-2 first layers on AVX2 (conv.c, pack_stem): the weights
	 * for the stem by 1-D Winograd (dnnq_stem_pack_avx2; pairs then NULL),
	 * else NULL */
	int16_t *stem;
	/* im2col by segments on VNNI (one group, kernel rows of kw * cin bytes,
	 * a multiple of 4, symmetric weights): an interior pixel's kernel row
	 * read where it lies in the input, not copied
	 * (dnnq_gemm_segs_avx512vnni); kw * cin bytes of the input zero point
	 * for the rows in the padding; else NULL */
	uint8_t *seg_zero;
	/* im2col by bands on VNNI where neither by segments nor Winograd (one
	 * group, no dilation, kernels taller than their stride: ResNet's 7x7
	 * stem, MobileNet's 3x3 stride-2 one, convolutions with weight zero
	 * points): per band of output rows and strip
	 * of columns, each column's kw * cin input runs of the band's input
	 * rows one after the other, in which pixel (oy, ox)'s im2col row is
	 * the window from stride_h * (oy - oy0) runs on; up to kh /
	 * stride_h times fewer bytes copied (conv.c, band_task) */
	bool bands;
	size_t band_w;                    /* by bands: output columns a strip, per setup */
	/* 3x3, stride 1, one group on AVX2 (conv.c, pack_wino): the weights
	 * transformed for Winograd F(4, 3) (dnnq_wino_pack_avx2), or with
	 * wino_fly the int8 weights in pairs for the transform on the fly
	 * (dnnq_wino_fly_pack_avx2); the cache's when wino_borrowed; and cin
	 * bytes of the input zero point; else NULL */
	const void *wino;
	bool wino_fly;
	uint8_t *wino_zero;
	bool wino_borrowed;
	/* bound by setup */
	size_t n, h, w, oh, ow;
	const uint8_t *in;
	void *out;
	size_t out_es;                    /* output element size */
	size_t nsplit;                    /* im2col: column chunks per pixel block */
	size_t dw_mid;                    /* depthwise: the row run as two tasks of
	                                     half the channels each, or SIZE_MAX */
	bool dw_across;                   /* depthwise on two threads: each task
	                                     reads its input rows of the other
	                                     half first (dw_read_across) */
	size_t mc;                        /* im2col: pixels a block (<= DNNQ_GEMM_MC), per run;
	                                   * by bands: output rows a band;
	                                   * Winograd: tiles a block (dnnq_wino_block_tiles);
	                                   * the stem: tiles a block of rows */
	uint8_t **scratch;                /* per thread */
	unsigned nscratch;
	size_t scratch_bytes;
	/* depthwise, while dnnq_conv_set_sums is on: per output row (n x oh)
	 * and channel, the sum of the u8 values the row's tasks stored */
	bool sum_rows;
	uint32_t *row_sums;
	size_t row_sums_cap;              /* elements */
	struct dnnq_gemm_job job[2];      /* 1x1: the GEMM's job (and a chain's
	                                   * two) kept from run to run, which
	                                   * the tasks read (dnnq_gemm_run_kept) */
	/* 1x1 with a depthwise convolution run by bands in its tasks
	 * (dnnq_conv_run_bands), kept from run to run: that convolution, the
	 * 1x1 one after it in the bands (or NULL), the bands of the depthwise
	 * output rows, and the threads' private copies of this one's output
	 * (band_stride bytes apart) */
	const struct dnnq_conv *band_dw, *band_pw;
	struct dnnq_pieces band_rows;
	size_t band_cut;                  /* two bands: the row the second
	                                     starts at, where that is not
	                                     band_rows' (band_rows_cut) */
	uint8_t *band_buf;
	size_t band_stride;
};

/* The depthwise kernels (struct dnnq_dw_ukernel, engine/kernels.h):
 * channels [c0, c1) of output row (img, oy) from the bound input to the
 * bound output; scratch is the calling thread's (dnnq_dw_scratch_bytes).
 * A row is split by channels in blocks of DNNQ_DW_BLOCK, the SIMD kernels'
 * block (so a task never writes another's channels, whose fused table may
 * have run already).
 * 1x1__scalar: one channel of one pixel at a time (dnnq_dw_one), the oracle.
 * 32c2__avx2: 32 channels, taps in pairs: vpmaddubsw of |w| with the input
 * bytes flipped by the weight's sign (the GEMM's sign trick), even and odd
 * channels apart, the pair summed in int16 (exact).
 * 32c4__avx512vnni: 32 channels, taps in fours: vpdpbusd of the four taps'
 * bytes interleaved per channel with the four s8 weights (exact). */
#define DNNQ_DW_BLOCK 32
#define DNNQ_DW_TG_scalar 1
#define DNNQ_DW_TG_avx2 2
#define DNNQ_DW_TG_avx512vnni 4
size_t dnnq_dw_pack_scalar(const int8_t *w, size_t cout, size_t taps, void *dst);
size_t dnnq_dw_pack_avx2(const int8_t *w, size_t cout, size_t taps, void *dst);
size_t dnnq_dw_pack_avx512vnni(const int8_t *w, size_t cout, size_t taps, void *dst);
void dnnq_dw_row_scalar(const struct dnnq_conv *c, size_t img, size_t oy, size_t c0, size_t c1,
                        void *scratch);
void dnnq_dw_row_avx2(const struct dnnq_conv *c, size_t img, size_t oy, size_t c0, size_t c1,
                      void *scratch);
void dnnq_dw_row_avx512vnni(const struct dnnq_conv *c, size_t img, size_t oy, size_t c0,
                            size_t c1, void *scratch);

/* The im2col path's GEMM for first layers (one group, at most
 * DNNQ_CONV_PAIRS_CIN input channels) on AVX2: m im2col rows a (row stride
 * k) times columns [j0, j1) of the weights in c->pairs, through the AVX2
 * output stage into y (row stride cout). Image bytes above 127 against 8-bit
 * weights would send vpmaddubsw's GEMM down its split path (twice the work
 * and a scan of A); vpmaddwd on int16 pairs is exact without it. */
#define DNNQ_CONV_PAIRS_CIN 4
/* a16: scratch for the m rows zero-extended to int16, m * k + 1 of them
 * (the kernel broadcasts each pair with one load) */
void dnnq_conv_pairs_avx2(const struct dnnq_conv *c, size_t m, const uint8_t *a, int16_t *a16,
                          void *y, size_t j0, size_t j1);
size_t dnnq_conv_pairs_pack_avx2(const int8_t *w, size_t cout, size_t k, void *dst);

/* The stem by 1-D Winograd on AVX2 (conv-stem-avx2.c), exact: a first
 * layer the pairs kernel would take (one group, at most
 * DNNQ_CONV_PAIRS_CIN input channels) with 7-tap kernel rows at stride 2
 * along x, no dilation across, symmetric weights and kh * cin at most
 * DNNQ_STEM_MAX_K. Each tile of DNNQ_STEM_TILE_W output columns of a row
 * takes its 13 input columns' kernel rows (kh x cin values each,
 * untransformed) to the even taps' Winograd F(4, 4) and the odd taps'
 * F(4, 3) along x, 13 products, against 28 direct (docs/gemm.md, "The
 * stem by 1-D Winograd"). */
#define DNNQ_STEM_MAX_K 28
/* Output columns a tile. */
#define DNNQ_STEM_TILE_W 4
/* Tiles a block at most: ResNet's 112-pixel rows are 28. */
#define DNNQ_STEM_TILES 32
/* Output rows a task: each row's input columns are the last one's moved
 * down by stride_h kernel rows and stride_h new ones (stem_columns). */
#define DNNQ_STEM_ROWS 8
/* The bytes of the transformed weights (dst NULL: only that) of cout
 * kernels of kh x 7 x cin (OHWI). */
size_t dnnq_stem_pack_avx2(const int8_t *w, size_t cout, size_t kh, size_t cin, int16_t *dst);
size_t dnnq_stem_scratch_bytes(const struct dnnq_conv *c);
/* Tiles [t0, t1) (t1 - t0 <= DNNQ_STEM_TILES) of output rows [oy0, oy1)
 * of image img, output channels [j0, j1) (j0 a multiple of 16), through
 * the output stage (not the fused post). */
void dnnq_stem_avx2(const struct dnnq_conv *c, size_t img, size_t oy0, size_t oy1, size_t t0,
                    size_t t1, size_t j0, size_t j1, void *scratch);

/* Winograd F(4, 3) on AVX2 (conv-avx2.c), exact: 3x3 convolutions with
 * stride 1, dilation 1, one group, symmetric weights and DNNQ_WINO_MIN_CIN
 * to DNNQ_WINO_MAX_CIN input channels. Each 4x4 tile of outputs takes its
 * 6x6 input patch x (padding: the input zero point, as im2col) to V = B^T
 * (x - 128) B (int16, |V| <= 100 * 128), the weights are U = G' g G'^T
 * with G' = diag(4, 6, 6, 24, 24, 1) G, integers (|U| <= 49 * 128), the
 * 36 positions are GEMMs over the input channels by int16 pairs (vpmaddwd,
 * int32 sums), and Y = A'^T M A' (A' = A diag(6, 4, 4, 1, 1, 24)) is 576
 * times the tile's sums of (x - 128) w, mod 2^32 (int32 wraps, a ring
 * homomorphism): 9's inverse mod 2^32 and a shift by 6 give them exactly
 * while they are below 2^25 in magnitude (227 channels at most: more in
 * chunks, their sums added); 128 times the column's weight sum undoes the
 * shift, then the GEMM's output stage. docs/gemm.md, "Winograd F(2, 3) on
 * AVX2", "Winograd, the second pass" and "F(4, 3) on the fly". */
#define DNNQ_WINO_M 4
/* At least 16 input channels: the input transform's vectors (the last
 * cin % 16 redo the last 16); at most 512 (ResNet's 7x7 layers; V of 4
 * tiles and U in L2). */
#define DNNQ_WINO_MIN_CIN 16
#define DNNQ_WINO_MAX_CIN 512
/* On the VNNI table, whose direct product (vpdpbusd) has twice vpdpwssd's
 * multiply-adds an instruction, only from DNNQ_WINO_VNNI_MIN_CIN to
 * DNNQ_WINO_F43_MAX_CIN (U packed): ResNet-18's 28x28 layers of 128
 * channels 0.83-0.87x the direct product's time on one thread, 0.93-0.95x
 * on two; its 56x56 ones of 64 0.98-1.02x and 1.03-1.09x, the on-the-fly
 * 14x14 x 256 and 7x7 x 512 1.2x and 1.9x (docs/gemm.md, "Winograd on the
 * VNNI table"). */
#define DNNQ_WINO_VNNI_MIN_CIN 65
/* Up to DNNQ_WINO_F43_MAX_CIN channels U is packed at create (36 positions
 * of int16, 8x the int8 weights' bytes): ResNet's 14x14 layers of 256
 * channels streamed their 4.7 MB from memory a run, so above (channels
 * being the proxy create has for the image size) the weights are
 * transformed on the fly (wino_fly): per panel of 16 columns and chunk of
 * at most DNNQ_WINO_FLY_PAIRS channel pairs, the chunk's int8 weights
 * into a per-thread U (int16, in L2), its 36 positions' products over the
 * block's tiles, its output transform (exact per chunk: 224 channels, 9 *
 * 224 * 128 * 128 < 2^25) summed in int32. */
#define DNNQ_WINO_F43_MAX_CIN 128
#define DNNQ_WINO_FLY_PAIRS 112
/* The bytes of the int8 weights for F(4, 3) on the fly (dst NULL: only
 * that): per panel of 16 columns, pair of channels and tap, the 16
 * columns' two channels interleaved (32 bytes; 0 past cin and cout), then
 * per column 128 times its weight sum, int32. */
size_t dnnq_wino_fly_pack_avx2(const int8_t *w, size_t cout, size_t cin, int8_t *dst);
/* The bytes of the transformed weights, packed (dst NULL: only that): per
 * position, int16 pairs of channels as dnnq_conv_pairs_pack_avx2's (cout
 * rounded up to 16), then the columns' weight sums times 128. */
size_t dnnq_wino_pack_avx2(const int8_t *w, size_t cout, size_t cin, int16_t *dst);
/* A block's scratch at most: V (36 x tiles x cin int16) and a panel's
 * sums (36 x 16 int32 a tile), on the fly U and S' too, in L2 with a
 * panel's weights; and at most DNNQ_WINO_TILES tiles. */
#define DNNQ_WINO_BLOCK_BYTES (640 << 10)
#define DNNQ_WINO_TILES 128
/* Tiles a block at most for c's Winograd (a multiple of the micro-kernel's
 * 4). */
size_t dnnq_wino_block_tiles(const struct dnnq_conv *c);
size_t dnnq_wino_scratch_bytes(const struct dnnq_conv *c);
/* Tiles [t0, t1) of image img (row-major, (ow + 3) / 4 a row), output
 * channels [j0, j1) (j0 a multiple of 16), through the output stage (not
 * the fused post). */
void dnnq_wino_avx2(const struct dnnq_conv *c, size_t img, size_t t0, size_t t1, size_t j0,
                    size_t j1, void *scratch);
/* The same on the AVX-512 VNNI table (conv-wino-avx512vnni.c: the products
 * by vpdpwssd), from DNNQ_WINO_VNNI_MIN_CIN to DNNQ_WINO_F43_MAX_CIN
 * input channels. */
void dnnq_wino_avx512vnni(const struct dnnq_conv *c, size_t img, size_t t0, size_t t1,
                          size_t j0, size_t j1, void *scratch);

/* The taps of output row (img, oy): the pointers of pixel ox's taps (at
 * channel 0 of each) are tab + ox * stride, except in the interior
 * [lo, hi), where every tap is inside the image and pixel ox reads pixel
 * lo's pointers plus (ox - lo) * step bytes (the table is filled only for
 * the border and lo). A tap in the padding points at dw_zero; t in
 * [taps, stride) repeats tap 0 (the kernels give it weight 0 and leave it
 * out of the input sums). */
struct dnnq_dw_taps {
	const uint8_t **tab;
	size_t stride, lo, hi;
	ptrdiff_t step;
};

struct dnnq_dw_taps dnnq_dw_tap_table(const struct dnnq_conv *c, size_t img, size_t oy,
                                      size_t stride, void *scratch);

/* Pixel ox's tap pointers and the offset to add to each. */
static inline const uint8_t *const *dnnq_dw_pixel(const struct dnnq_dw_taps *tt, size_t ox,
                                                  ptrdiff_t *off)
{
	bool in = ox >= tt->lo && ox < tt->hi;
	*off = in ? (ptrdiff_t)(ox - tt->lo) * tt->step : 0;
	return tt->tab + (in ? tt->lo : ox) * tt->stride;
}

/* The output stage of a depthwise row: GEMM row i is output pixel i. */
static inline struct dnnq_gemm_job dnnq_dw_job(const struct dnnq_conv *c)
{
	return (struct dnnq_gemm_job){ .w = &c->dw_sums, .c = c->out, .ldc = c->d.cout,
	                               .out = &c->gout[0] };
}

/* Input row of tap ky for output row oy, or -1 when it falls in the padding. */
static inline ptrdiff_t dnnq_conv_iy(const struct dnnq_conv *c, size_t oy, size_t ky)
{
	ptrdiff_t iy = (ptrdiff_t)(oy * c->d.stride_h + ky * c->d.dil_h) - (ptrdiff_t)c->d.pad_t;
	return iy >= 0 && iy < (ptrdiff_t)c->h ? iy : -1;
}

static inline ptrdiff_t dnnq_conv_ix(const struct dnnq_conv *c, size_t ox, size_t kx)
{
	ptrdiff_t ix = (ptrdiff_t)(ox * c->d.stride_w + kx * c->d.dil_w) - (ptrdiff_t)c->d.pad_l;
	return ix >= 0 && ix < (ptrdiff_t)c->w ? ix : -1;
}

/* Depthwise sum (and input sum) of one output pixel and channel: the
 * scalar kernel's step. */
static inline void dnnq_dw_one(const struct dnnq_conv *c, const uint8_t *image, size_t oy,
                               size_t ox, size_t ch, int32_t *sum, int32_t *xsum)
{
	const int32_t zx = c->d.in_qp.zero_point;
	size_t cout = c->d.cout, kw = c->d.kw;
	const int8_t *w = c->dw_ref + ch * c->d.kh * kw;
	int32_t s = 0, xs = 0;
	for (size_t ky = 0; ky < c->d.kh; ky++) {
		ptrdiff_t iy = dnnq_conv_iy(c, oy, ky);
		for (size_t kx = 0; kx < kw; kx++) {
			ptrdiff_t ix = dnnq_conv_ix(c, ox, kx);
			int32_t x = iy < 0 || ix < 0 ? zx
			          : image[((size_t)iy * c->w + (size_t)ix) * cout + ch];
			s += x * w[ky * kw + kx];
			xs += x;
		}
	}
	*sum = s;
	*xsum = xs;
}

#endif
