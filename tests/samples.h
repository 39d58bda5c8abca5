/*
 * tests/samples.h — the import options an ops/ case needs: its inputs'
 * shapes (DIR/NAME.inK.npy) fix the model's symbolic dims, as the
 * calibration samples do in dnnq-convert.
 */
#ifndef DNNQ_TESTS_SAMPLES_H
#define DNNQ_TESTS_SAMPLES_H

#include <check.h>
#include <stdio.h>

#include "onnx/cli.h"

static inline struct dnnq_onnx_import_opts case_shapes(const char *dir, const char *name,
                                                       unsigned nin,
                                                       struct dnnq_onnx_shape shapes[8])
{
	ck_assert_uint_le(nin, 8);
	for (unsigned i = 0; i < nin; i++) {
		char path[512];
		struct dnnq_diag d = { "" };
		snprintf(path, sizeof path, "%s/%s.in%u.npy", dir, name, i);
		ck_assert_msg(dnnq_sample_shape(path, NULL, &shapes[i], &d) == 0, "%s", d.msg);
	}
	return (struct dnnq_onnx_import_opts){ .samples = shapes, .nsamples = nin };
}

#endif
