/* Error measures between a float reference and its approximation (quant.h).
 * Sums in double: n reaches millions and SQNR differences of 0.1 dB matter. */
#include <math.h>

#include "engine/quant.h"

double dnnq_sqnr_db(const float *ref, const float *x, size_t n)
{
	double sig = 0, noise = 0;
	for (size_t i = 0; i < n; i++) {
		double d = (double)ref[i] - x[i];
		sig += (double)ref[i] * ref[i];
		noise += d * d;
	}
	if (noise == 0)
		return INFINITY;
	return 10.0 * log10(sig / noise);
}

double dnnq_l2_error(const float *ref, const float *x, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++) {
		double d = (double)ref[i] - x[i];
		s += d * d;
	}
	return sqrt(s);
}

double dnnq_l1_error(const float *ref, const float *x, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += fabs((double)ref[i] - x[i]);
	return s;
}

double dnnq_max_abs_error(const float *ref, const float *x, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)ref[i] - x[i]);
		m = d > m ? d : m;
	}
	return m;
}
