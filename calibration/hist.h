/*
 * calibration/hist.h — the histogram observer: one per tensor, fed batch by
 * batch during calibration and merged across workers.
 *
 * Grid. Bin i covers [(base + i) * 2^exp, (base + i + 1) * 2^exp): widths are
 * powers of two and every edge is a multiple of the width, so each grid is a
 * coarsening of every finer one and an old bin always lies inside exactly one
 * new bin. Re-binning therefore only adds counts; it never splits a bin.
 *
 * Canonical grid. The grid is a function of the finite minimum and maximum
 * seen so far and nothing else: exp is the smallest integer (not below a
 * floor that keeps bin indices exact in a double) at which [min, max] spans
 * at most nbins bins, and base = floor(min / 2^exp). A wider range never
 * needs a smaller exp, so the grid only coarsens as data arrives. Because
 * counts are re-binned exactly, the histogram of a data set does not depend
 * on how the data was cut into batches, nor in which order partial
 * histograms were merged: merging the histograms of two halves gives the
 * histogram of the whole, bin for bin (tests/test_calib.c checks it).
 *
 * The price of the power-of-two grid: the data fills between half of the
 * bins and all of them (1024..2048 of the default 2048).
 *
 * NaN, +inf and -inf are counted separately and otherwise ignored.
 */
#ifndef DNNQ_CALIBRATION_HIST_H
#define DNNQ_CALIBRATION_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base.h"

#define DNNQ_HIST_DEFAULT_BINS 2048u
#define DNNQ_HIST_MIN_BINS     2u
#define DNNQ_HIST_MAX_BINS     (1u << 24)

struct dnnq_hist {
	uint32_t nbins;
	int32_t exp;          /* bin width 2^exp (0 while nfinite == 0) */
	int64_t base;         /* bin 0 starts at base * 2^exp */
	uint64_t *counts;     /* nbins */
	uint64_t *scratch;    /* nbins, for re-binning without allocating */
	uint64_t nfinite, nnan, nposinf, nneginf;
	float min, max;       /* finite extremes (+0 for either zero); 0 when empty */
};

/* An empty histogram of `nbins` bins (0 means DNNQ_HIST_DEFAULT_BINS);
 * DNNQ_E_RANGE for a count outside [DNNQ_HIST_MIN_BINS, DNNQ_HIST_MAX_BINS],
 * DNNQ_E_NOMEM. Free with dnnq_hist_destroy(). */
int dnnq_hist_init(struct dnnq_hist *h, uint32_t nbins, struct dnnq_diag *diag);
void dnnq_hist_destroy(struct dnnq_hist *h);
/* Back to empty, keeping the storage. */
void dnnq_hist_clear(struct dnnq_hist *h);

/* Counts x[0..n), widening (re-binning) first when the batch falls outside
 * the current range. Never allocates. */
int dnnq_hist_add(struct dnnq_hist *h, const float *x, size_t n);

/* dst += src: both re-binned onto the canonical grid of the union. The bin
 * counts must agree (DNNQ_E_SHAPE otherwise). */
int dnnq_hist_merge(struct dnnq_hist *dst, const struct dnnq_hist *src,
                    struct dnnq_diag *diag);

/* Same grid, same counts, same extremes and non-finite counters. */
bool dnnq_hist_equal(const struct dnnq_hist *a, const struct dnnq_hist *b);

/* Left edge of bin i (i may equal nbins: the right edge of the last bin). */
double dnnq_hist_edge(const struct dnnq_hist *h, uint32_t i);

/* The counts re-binned onto the coarser grid (exp >= h->exp, base) of n
 * bins, as doubles, into out[0..n); bins that fall outside are dropped. */
void dnnq_hist_counts_on(const struct dnnq_hist *h, int32_t exp, int64_t base,
                         double *out, size_t n);

/* The canonical grid of [min, max] with `nbins` bins (min <= max, finite):
 * what a histogram holding exactly that range uses. */
void dnnq_hist_grid(double min, double max, uint32_t nbins, int32_t *exp, int64_t *base);

#endif
