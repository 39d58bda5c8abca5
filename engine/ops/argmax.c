/*
 * ArgMax (engine/argmax.h): file code 50.
 */
#include "engine/argmax.h"

DNNQ_ARG_OP(argmax, "ArgMax", 50, false);
