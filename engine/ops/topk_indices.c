/*
 * TopK's indices (engine/topk.h): file code 53.
 */
#include "engine/topk.h"

DNNQ_TOPK_OP(topk_indices, 53, true);
