/*
 * ReduceMean (engine/reduce.h): file code 43.
 */
#include "engine/reduce.h"

DNNQ_REDUCE_OP(reduce_mean, "ReduceMean", 43, DNNQ_REDUCE_MEAN);
