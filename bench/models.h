/*
 * bench/models.h — ResNet-18 and MobileNetV2 (224 x 224 x 3, NHWC u8)
 * built with the graph API from random weights, with activation ranges
 * calibrated on a random image as the graph is built: each layer runs on
 * the calibration sample with a float output, its range picks the layer's
 * output qparams, and the quantized result feeds the next layer.
 */
#ifndef DNNQ_BENCH_MODELS_H
#define DNNQ_BENCH_MODELS_H

#include "engine/graph.h"

enum model_kind {
	MODEL_RESNET18,
	MODEL_MOBILENETV2,
};

/* NULL on failure, with diag set. */
struct dnnq_graph *model_build(enum model_kind kind, enum dnnq_isa isa, uint64_t seed,
                               struct dnnq_diag *diag);
const char *model_name(enum model_kind kind);

/* The distinct convolutions of ResNet-18 (batch 1), for per-layer tables. */
struct model_conv_shape {
	const char *name;
	size_t h, w, cin, cout, k, stride, pad;
};
extern const struct model_conv_shape model_resnet18_convs[];
extern const size_t model_resnet18_nconvs;

#endif
