/*
 * LogSoftmax along any axis, fp32 (engine/softmax-axis.h). File code 46.
 */
#include "engine/softmax-axis.h"

DNNQ_SOFTMAX_AXIS_OP(logsoftmax, "LogSoftmax", 46, true);
