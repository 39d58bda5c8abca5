/*
 * calibration/hist-kernels.h — the two passes of dnnq_hist_add over a
 * block of values (calibration/hist.c), in plain C and in AVX2
 * (hist-avx2.c). The scalar ones are the oracle: the AVX2 ones compute the
 * same extremes, counters and bin counts, value for value
 * (tests/test_calib.c hist_kernels_agree).
 */
#ifndef DNNQ_CALIBRATION_HIST_KERNELS_H
#define DNNQ_CALIBRATION_HIST_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* What a scan found: the finite extremes (+inf, -inf when none; a zero of
 * either sign as it came) and the counts of each kind. */
struct hist_scan {
	float lo, hi;
	uint64_t finite, nan, posinf, neginf;
};

#define HIST_SCAN_EMPTY ((struct hist_scan){ INFINITY, -INFINITY, 0, 0, 0, 0 })

/* One value into s. */
static inline void hist_scan_one(struct hist_scan *s, float v)
{
	if (isnan(v)) {
		s->nan++;
	} else if (isinf(v)) {
		if (v > 0)
			s->posinf++;
		else
			s->neginf++;
	} else {
		s->finite++;
		s->lo = v < s->lo ? v : s->lo;
		s->hi = v > s->hi ? v : s->hi;
	}
}

/* x[0..n) into s (which holds what came before). */
void hist_scan_scalar(struct hist_scan *s, const float *x, size_t n);
void hist_scan_avx2(struct hist_scan *s, const float *x, size_t n);

/* counts[floor(x * inv) - base]++ for each finite x of x[0..n); every
 * finite one must land in counts (the grid holds the block's range). inv
 * is a power of two, so x * inv and its floor are exact in double. The
 * AVX2 one puts every other value into spare instead (which may be counts
 * itself): runs of equal values, the zeros after a Relu, then make two
 * chains of increments, not one (the sum of both arrays is the count). */
void hist_count_scalar(uint64_t *counts, const float *x, size_t n, double inv, int64_t base);
void hist_count_avx2(uint64_t *counts, uint64_t *spare, const float *x, size_t n, double inv,
                     int64_t base);

#endif
