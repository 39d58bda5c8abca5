/*
 * calibration/range.h — choosing a quantization range from a histogram.
 *
 * Every method produces a float range [min, max] first and only then the
 * quantization parameters, through dnnq_choose_qparams(); the range is the
 * continuous optimum of the method, before the zero point is rounded to an
 * integer. docs/calibration.md gives the formulas.
 *
 *   MINMAX      the data's finite extremes
 *   PERCENTILE  the P-th percentile (and the (100-P)-th), of |x| when symmetric
 *   L2, L1      search over ranges on bin edges for the smallest modelled
 *               squared (absolute) error: uniform density within each bin, the
 *               exact nearest-level error inside the range, clipping outside
 *               it. Every candidate up to a grid of ~130 edges a side (2048
 *               symmetric), then refined to single bins. min/max is one of
 *               the candidates, so the result's modelled error never exceeds
 *               min/max's
 *   L2_APPROX   greedy: shrink from either end while the modelled L2 error falls
 *   KL          entropy calibration (TensorRT): the threshold whose 2^bits-level
 *               (2^(bits-1) for symmetric |x|) quantized distribution has the
 *               smallest KL divergence from the clipped reference
 *
 * The quantizer that the models score is the one dnnq_choose_qparams() will
 * build for the range: asymmetric 2^bits levels from min to max (the range
 * always contains 0), symmetric levels k * a / (2^(bits-1) - 1) for
 * k = -2^(bits-1) .. 2^(bits-1) - 1. Preserve-sparsity picks symmetric when
 * the data has both signs. reduce_range takes one bit off the precision.
 */
#ifndef DNNQ_CALIBRATION_RANGE_H
#define DNNQ_CALIBRATION_RANGE_H

#include "calibration/hist.h"
#include "engine/quant.h"

enum dnnq_calib_method {
	DNNQ_CALIB_MINMAX = 0,
	DNNQ_CALIB_PERCENTILE = 1,
	DNNQ_CALIB_L1 = 2,
	DNNQ_CALIB_L2 = 3,
	DNNQ_CALIB_L2_APPROX = 4,
	DNNQ_CALIB_KL = 5,
};
#define DNNQ_CALIB_METHOD_COUNT 6

#define DNNQ_CALIB_DEFAULT_PERCENTILE 99.99

struct dnnq_calib_opts {
	enum dnnq_calib_method method;
	struct dnnq_qspec spec;   /* precision 1..16, signedness, scheme */
	double percentile;        /* PERCENTILE: 50..100; 0 means 99.99 */
};

/* "minmax", "percentile", "l1", "l2", "l2approx", "kl"; NULL if unknown. */
const char *dnnq_calib_method_name(enum dnnq_calib_method m);
/* The method of that name; DNNQ_E_INVAL if there is none. */
int dnnq_calib_method_parse(const char *name, enum dnnq_calib_method *out);

/* Checks opts (method, precision, scheme, percentile), naming the field. */
int dnnq_calib_opts_check(const struct dnnq_calib_opts *o, struct dnnq_diag *diag);

/* The range the method chooses for the histogram's data, before zero-point
 * rounding. An empty histogram (no finite value) gives [0, 0]. Asymmetric
 * ranges contain 0; symmetric ones are [-a, a]. DNNQ_E_NOMEM possible. */
int dnnq_calib_range(const struct dnnq_hist *h, const struct dnnq_calib_opts *o,
                     float *min, float *max, struct dnnq_diag *diag);

/* The range, then dnnq_choose_qparams(). For the asymmetric L1, L2 and
 * L2_APPROX searches the range is first snapped to an integer zero point:
 * among the quantizers with an integer zero point next to the continuous
 * optimum (step kept, or stretched to keep either end) and the one min/max
 * gives, the one with the smallest modelled error. min/max (may be NULL) get
 * the range handed to dnnq_choose_qparams(). */
int dnnq_calib_qparams(const struct dnnq_hist *h, const struct dnnq_calib_opts *o,
                       struct dnnq_qparams *qp, float *min, float *max,
                       struct dnnq_diag *diag);

/* Modelled error of quantizing the histogram's data with the quantizer that
 * [min, max] gives under o->spec (norm 1: sum |err|, norm 2: sum err^2), in
 * the same model the L1/L2 searches minimise. Negative on bad arguments. */
double dnnq_calib_model_error(const struct dnnq_hist *h, const struct dnnq_calib_opts *o,
                              float min, float max, int norm);

/* Weights: one range and one set of parameters per row of a row-major
 * rows x cols matrix (per output channel). MINMAX works on the values
 * directly; every other method builds a histogram of `nbins` bins (0 means
 * the default) per row. mins, maxs (may be NULL) and qp hold `rows` entries. */
int dnnq_calib_per_channel(const float *w, size_t rows, size_t cols,
                           const struct dnnq_calib_opts *o, uint32_t nbins,
                           float *mins, float *maxs, struct dnnq_qparams *qp,
                           struct dnnq_diag *diag);

#endif
