/*
 * TopK's values (engine/topk.h): file code 52.
 */
#include "engine/topk.h"

DNNQ_TOPK_OP(topk, 52, false);
