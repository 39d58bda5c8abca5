/*
 * ReduceProd (engine/reduce.h): file code 54, fp32 only.
 */
#include "engine/reduce.h"

DNNQ_REDUCE_OP(reduce_prod, "ReduceProd", 54, DNNQ_REDUCE_PROD);
