/* tests/qtensor-eq.h — the Check assertion that two QTensors are equal in
 * every field, parameter and data byte (the second one well formed: storage
 * aligned and large enough), for the suites that round-trip tensors. */
#ifndef DNNQ_TESTS_QTENSOR_EQ_H
#define DNNQ_TESTS_QTENSOR_EQ_H

#include <check.h>

#include "engine/qtensor.h"

static inline void assert_qtensor_eq(const struct dnnq_qtensor *a, const struct dnnq_qtensor *b)
{
	ck_assert_int_eq(a->dtype, b->dtype);
	ck_assert_uint_eq(a->precision, b->precision);
	ck_assert_int_eq(a->is_signed, b->is_signed);
	ck_assert_uint_eq(a->ndim, b->ndim);
	ck_assert_mem_eq(a->dims, b->dims, sizeof a->dims);
	ck_assert_int_eq(a->qaxis, b->qaxis);
	ck_assert_uint_eq(a->nqparams, b->nqparams);
	if (a->nqparams) {
		ck_assert_mem_eq(a->scales, b->scales, a->nqparams * sizeof *a->scales);
		ck_assert_mem_eq(a->zero_points, b->zero_points,
		                 a->nqparams * sizeof *a->zero_points);
	} else {
		ck_assert_ptr_null(b->scales);
		ck_assert_ptr_null(b->zero_points);
	}
	size_t nbytes = dnnq_qtensor_nbytes(a);
	ck_assert_uint_eq(dnnq_qtensor_nbytes(b), nbytes);
	ck_assert_uint_ge(b->capacity, nbytes);
	if (nbytes) {
		ck_assert(dnnq_is_aligned(b->data));
		ck_assert_mem_eq(a->data, b->data, nbytes);
	}
}

#endif
