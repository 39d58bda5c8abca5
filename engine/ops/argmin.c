/*
 * ArgMin (engine/argmax.h): file code 51.
 */
#include "engine/argmax.h"

DNNQ_ARG_OP(argmin, "ArgMin", 51, true);
