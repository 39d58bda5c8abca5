/*
 * engine/grid-sample.h — GridSample's sampling (engine/ops/grid_sample.c),
 * which the graph's node and the ONNX reference (onnx/ref.c, NCHW) share:
 * one output pixel at a time over strided image, grid and output, so each
 * caller gives its layout.
 */
#ifndef DNNQ_ENGINE_GRID_SAMPLE_H
#define DNNQ_ENGINE_GRID_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The node's op: bits 0-1 the mode, 2-3 the padding, bit 4 align_corners. */
enum { DNNQ_GS_BILINEAR, DNNQ_GS_NEAREST, DNNQ_GS_BICUBIC, DNNQ_GS_MODES };
enum { DNNQ_GS_ZEROS, DNNQ_GS_BORDER, DNNQ_GS_REFLECTION, DNNQ_GS_PADDINGS };
#define DNNQ_GS_MODE(op) ((op) & 3u)
#define DNNQ_GS_PAD(op) ((op) >> 2 & 3u)
#define DNNQ_GS_ALIGN 16u

struct dnnq_grid_sample {
	uint32_t mode, pad;
	bool align;
	size_t n, h, w, c, ho, wo;     /* image N x H x W x C, the grid's Ho x Wo points */
	/* element strides: the image and the output per n, row, column,
	 * channel; the grid per n, ho, wo, coordinate (x, then y) */
	size_t xs[4], gs[4], ys[4];
	const float *x, *g;
	float *y;
};

/* mode, pad and align from the node's op. */
void dnnq_grid_sample_init(struct dnnq_grid_sample *op, uint32_t o);
/* The strides of the engine's layouts (n, h, w, c, ho, wo set). */
void dnnq_grid_sample_nhwc(struct dnnq_grid_sample *op);
/* Output pixel p (row-major over n x ho x wo): its c channels into y. */
void dnnq_grid_sample_pixel(const struct dnnq_grid_sample *op, const float *x, const float *g,
                            float *y, size_t p);

#endif
