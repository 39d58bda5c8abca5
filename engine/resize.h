/*
 * engine/resize.h — Resize / Upsample over H and W of an NHWC image
 * (engine/ops/resize.c), ONNX's semantics (opsets 7..18): the mode packs
 * the interpolation, the coordinate transformation and the nearest
 * rounding, each as ONNX names them:
 *
 *     mode = interp << 5 | coord << 2 | nearest
 *
 * A source coordinate is computed in double from the output index, the
 * scale (output / input, as the model gives it or as sizes imply) and the
 * two lengths, then clamped to [0, in - 1]: nearest rounds it, linear
 * weighs its two neighbours. Cubic (torch's bicubic) weighs the four
 * around the unclamped coordinate with Keys' kernel of coefficient A
 * (ONNX's cubic_coeff_a, -0.75 by default; torch's), those past an edge
 * reading the edge (or, with exclude_outside, dropped and the others
 * renormalized), as ONNX's reference and ONNX Runtime do. The int8 node
 * keeps its input's quantization (a nearest output moves bytes; a linear
 * one is a convex combination of the same quantized values; a cubic one's
 * overshoot is clamped to the codes): weights in Q11 fixed point, integer
 * arithmetic, so every ISA gives the scalar oracle's bytes. The fp32 node
 * weighs in float, scalar and AVX2 with the same operations in the same
 * order (no FMA): bit-exact too (cubic: scalar on every ISA).
 */
#ifndef DNNQ_ENGINE_RESIZE_H
#define DNNQ_ENGINE_RESIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dnnq_resize_interp {
	DNNQ_RESIZE_NEAREST,
	DNNQ_RESIZE_LINEAR,
	DNNQ_RESIZE_CUBIC,
	DNNQ_RESIZE_INTERP_COUNT,
};

enum dnnq_resize_coord {
	DNNQ_RESIZE_HALF_PIXEL,
	DNNQ_RESIZE_PYTORCH_HALF_PIXEL,
	DNNQ_RESIZE_ALIGN_CORNERS,
	DNNQ_RESIZE_ASYMMETRIC,
	DNNQ_RESIZE_TF_HALF_PIXEL_FOR_NEAREST,
	DNNQ_RESIZE_COORD_COUNT,
};

enum dnnq_resize_round {
	DNNQ_RESIZE_ROUND_PREFER_FLOOR,
	DNNQ_RESIZE_ROUND_PREFER_CEIL,
	DNNQ_RESIZE_FLOOR,
	DNNQ_RESIZE_CEIL,
};

#define DNNQ_RESIZE_MODE(interp, coord, round) ((uint32_t)(interp) << 5 | (coord) << 2 | (round))
#define DNNQ_RESIZE_INTERP(mode) ((mode) >> 5)
#define DNNQ_RESIZE_COORD(mode) ((mode) >> 2 & 7u)
#define DNNQ_RESIZE_ROUND(mode) ((mode) & 3u)
#define DNNQ_RESIZE_Q 11         /* linear weights of the int8 node: Q11 */

/* Whether mode names an interpolation, a transformation and a rounding. */
static inline int dnnq_resize_mode_ok(uint32_t mode)
{
	return DNNQ_RESIZE_INTERP(mode) < DNNQ_RESIZE_INTERP_COUNT &&
	       DNNQ_RESIZE_COORD(mode) < DNNQ_RESIZE_COORD_COUNT;
}

/* Output index o's source coordinate on an axis of in -> out elements at
 * scale (out / in as the model states it), clamped to [0, in - 1]. */
double dnnq_resize_source(uint32_t mode, size_t o, double scale, size_t in, size_t out);
/* Nearest: the source index of coordinate x (in [0, in - 1]). */
size_t dnnq_resize_nearest(uint32_t mode, double x, size_t in);
/* Cubic: output index o's four source indices (clamped to [0, in - 1]) and
 * their weights, coefficient a, those outside dropped when exclude. */
void dnnq_resize_cubic(uint32_t mode, size_t o, double scale, size_t in, size_t out, double a,
                       bool exclude, size_t idx[4], double w[4]);

#endif
