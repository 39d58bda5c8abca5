/*
 * ReduceMax (engine/reduce.h): file code 45.
 */
#include "engine/reduce.h"

DNNQ_REDUCE_OP(reduce_max, "ReduceMax", 45, DNNQ_REDUCE_MAX);
