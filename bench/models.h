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

/* 16-bit accumulation (engine/gemm.h) in the layers acc16_mask marks
 * (NULL: every conv and the FC; the depthwise ones ignore it), counted in
 * build order from 0 (conv1 is 0, the FC last; MODEL_MAX_LAYERS entries);
 * calibration (the qparams) stays acc32, so the graph differs from
 * model_build's only in the accumulation. */
#define MODEL_MAX_LAYERS 64
struct model_opts {
	bool acc16;
	struct dnnq_acc16_opts acc16_opts;
	const bool *acc16_mask;
	int *nlayers;                 /* optional, out: conv + fc layers built */
};
struct dnnq_graph *model_build_opts(enum model_kind kind, enum dnnq_isa isa, uint64_t seed,
                                    const struct model_opts *o, struct dnnq_diag *diag);
const char *model_name(enum model_kind kind);

/* dnnq-convert --acc16=auto's rule for the synthetic models (no calibration
 * set, no ONNX), on a random image (not the one the benchmark times): each
 * layer alone acc16 (opts ao), the others acc32; loss_db[l] is how much the
 * SQNR of its output against the graph's fp32 chain (dnnq_graph_shadow)
 * drops from the all-acc32 model's; keep[l] when it is below max_loss_db. */
int model_acc16_select(enum model_kind kind, enum dnnq_isa isa, uint64_t seed,
                       const struct dnnq_acc16_opts *ao, double max_loss_db, bool *keep,
                       double *loss_db, int *nlayers, struct dnnq_diag *diag);
/* g planned for 1 image and 1 thread, and its shadow run on image:
 * sqnr_db[l] (MODEL_MAX_LAYERS entries) is the SQNR of layer l's output
 * (conv and fc nodes, in order; the last one is the fc: the logits) against
 * the graph's fp32 chain (engine/graph.h). */
int model_shadow_layers(struct dnnq_graph *g, const uint8_t *image, double *sqnr_db,
                        int *nlayers, struct dnnq_diag *diag);

/* The distinct convolutions of ResNet-18 (batch 1), for per-layer tables. */
struct model_conv_shape {
	const char *name;
	size_t h, w, cin, cout, k, stride, pad;
};
extern const struct model_conv_shape model_resnet18_convs[];
extern const size_t model_resnet18_nconvs;

#endif
