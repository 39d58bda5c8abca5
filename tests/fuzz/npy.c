/*
 * Fuzzes the .npy reader (calibration/npy.h): dnnq_npy_parse on the bytes;
 * an accepted array must lie inside them, and converting it touches every
 * element.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "calibration/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnnq_npy a;
	struct dnnq_diag diag = { "" };
	if (dnnq_npy_parse(data, size, &a, &diag))
		return 0;
	if (a.data_offset > size || a.nbytes > size - a.data_offset ||
	    a.data != data + a.data_offset || a.nbytes != a.count * dnnq_npy_itemsize(a.dtype))
		abort();
	float *f = malloc(a.count ? a.count * sizeof *f : 1);
	if (f)
		dnnq_npy_to_f32(&a, f);
	free(f);
	return 0;
}
