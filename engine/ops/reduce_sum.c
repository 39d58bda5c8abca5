/*
 * ReduceSum (engine/reduce.h): file code 44.
 */
#include "engine/reduce.h"

DNNQ_REDUCE_OP(reduce_sum, "ReduceSum", 44, DNNQ_REDUCE_SUM);
