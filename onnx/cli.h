/*
 * onnx/cli.h — what dnnq-convert and dnnq-run share: a progress bar on a
 * terminal, .npy arrays checked against a tensor's shape, and latency
 * statistics.
 */
#ifndef DNNQ_ONNX_CLI_H
#define DNNQ_ONNX_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "calibration/npy.h"
#include "onnx/ir.h"

/* A bar with an ETA on stderr, drawn only when stderr is a terminal (and
 * not quiet): "calibrating [#####     ]  52%  ETA 0:07". It is redrawn
 * when the percentage or the ETA's second changes; the ETA is the elapsed
 * time scaled by what remains. */
struct dnnq_progress {
	bool on;
	const char *label;
	int last;                       /* the last percentage drawn */
	long last_eta;                  /* the last ETA drawn, seconds */
	double t0;                      /* start, seconds (CLOCK_MONOTONIC) */
};

void dnnq_progress_start(struct dnnq_progress *p, const char *label, bool quiet);
void dnnq_progress_update(struct dnnq_progress *p, size_t done, size_t total);
void dnnq_progress_end(struct dnnq_progress *p);

/* An array read from path (at most 1 GiB) for a tensor of `ndim` dims
 * whose dims[1..] are fixed and dims[0] is the batch: the file's shape must
 * be [n, dims[1..]] (n >= 1). *buf (free it) holds the file, a->data the
 * elements. Messages name the file and what does not match, with
 * dnnq_npy_shape_hint's hint (converted: the tensor is a .dnnq model's). */
int dnnq_npy_load_batch(const char *path, uint32_t ndim, const int64_t *dims, bool converted,
                        void **buf, struct dnnq_npy *a, struct dnnq_diag *diag);

/* The .npy files of a directory in name order (or path itself, if it is a
 * file): *paths (free each, then the array) and *n. */
int dnnq_npy_list(const char *path, char ***paths, size_t *n, struct dnnq_diag *diag);

/* dnnq-convert --input-shape NAME=D0xD1x... (D0, the batch, a positive
 * number that is not kept): *s, whose name points into arg (its last '='
 * becomes the name's end). */
int dnnq_input_shape_parse(char *arg, struct dnnq_onnx_shape *s, struct dnnq_diag *diag);

/* dnnq-convert --input-value NAME=V[,V...]: *v, whose name points into arg
 * (its first '=' becomes the name's end) and text after it; the values are
 * checked against the input's type and shape at import. */
int dnnq_input_value_parse(char *arg, struct dnnq_onnx_value *v, struct dnnq_diag *diag);

/* dnnq-convert and dnnq-run --max-constants MiB: *bytes, for
 * dnnq_onnx_import_opts.max_const_bytes (1 to 1024 MiB). */
int dnnq_max_constants_parse(const char *arg, size_t *bytes, struct dnnq_diag *diag);

/* The shape of the array in path, for an input named name (NULL: the
 * input at its position; the name is copied). */
int dnnq_sample_shape(const char *path, const char *name, struct dnnq_onnx_shape *s,
                      struct dnnq_diag *diag);

/* The calibration samples' shapes, for the importer to fix symbolic dims
 * (struct dnnq_onnx_import_opts.samples): path is a .npy file (one
 * nameless entry) or a directory (an entry named NAME for each NAME.npy,
 * then a nameless one, the first file's). Free with
 * dnnq_sample_shapes_free. */
int dnnq_sample_shapes(const char *path, struct dnnq_onnx_shape **shapes, size_t *n,
                       struct dnnq_diag *diag);
void dnnq_sample_shapes_free(struct dnnq_onnx_shape *shapes, size_t n);

struct dnnq_latency {
	size_t runs;
	double min_ms, median_ms, p99_ms, mean_ms;
};

/* Sorts t[0..n) (milliseconds) and summarises it. */
void dnnq_latency_summary(double *t, size_t n, struct dnnq_latency *out);

#endif
