/*
 * Model files a hostile author writes (tests/hostile-models.c): small,
 * valid .dnnq images whose cost is in their shapes (or, the dynamic FC, in
 * what batching does with them), made from the serving fixture's relu64,
 * fc1024, k-conv and k-maxpool (tools/serve-fixture.h). Each returns the
 * bytes (malloc'd) and fails the test on any error.
 */
#ifndef DNNQ_TESTS_HOSTILE_MODELS_H
#define DNNQ_TESTS_HOSTILE_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* relu64 grown to a chain of n ReLUs over [N, features] (past INT32_MAX:
 * [N, features / 2^20, 2^20]). */
void hostile_chain_bytes(size_t n, int64_t features, void **buf, size_t *len);
/* A chain of n MaxPools, each a kernel x kernel window, stride 1, padded
 * to keep the size, over a u8 input [N, side, side, 1]. */
void hostile_pool_bytes(size_t n, int64_t side, int32_t kernel, void **buf, size_t *len);
/* k-conv with its second node named "conv" like the first and of its
 * geometry but for: 2 groups over a 3 x 6 kernel reading the first one's
 * weights, or (depthwise) 4 groups over the depthwise weights. */
void hostile_same_name_bytes(bool depthwise, void **buf, size_t *len);
/* relu64 with its input made a constant: a model of no inputs. */
void hostile_no_input_bytes(void **buf, size_t *len);
/* fc1024 made a dynamic FC: an f32 input [N, 1024], quantized with one
 * scale for the whole batch (ONNX Runtime's dynamic quantization), and an
 * f32 bias. */
void hostile_dynamic_fc_bytes(void **buf, size_t *len);
/* fp32 models of MaxPool's Indices and MaxUnpool (file codes 114, 115)
 * over one channel: HOSTILE_UNPOOL_GIVEN unpools x [N, 2, 2, 1] to [N, 2,
 * 2, 1] by s32 indices i [N, 2, 2, 1] the client gives (ONNX's places in
 * [N, C, H, W], the batch counted in); HOSTILE_UNPOOL_INDICES_OUT gives
 * the Indices of x [N, 4, 4, 1]'s 2 x 2 pool as its output;
 * HOSTILE_UNPOOL_SEGNET pools x [N, 4, 4, 1] 2 x 2 and unpools the maxima
 * by their Indices back to [N, 4, 4, 1]. */
enum hostile_unpool { HOSTILE_UNPOOL_GIVEN, HOSTILE_UNPOOL_INDICES_OUT, HOSTILE_UNPOOL_SEGNET };
void hostile_unpool_bytes(enum hostile_unpool which, void **buf, size_t *len);
/* Models with a node that would not keep the batch items apart on dim 0:
 * HOSTILE_ON_BATCH_MATMUL (fp32) multiplies x [N, 2, 3] by a u8 constant
 * [3, 3, 4] (node 'mm': the constant's 3 broadcast against the batch, so
 * item i took matrix i, and the output was 3 items at any batch);
 * HOSTILE_ON_BATCH_SOFTMAX (fp32) takes the softmax of x [N] (node
 * 'softmax': along its last dim, the batch); HOSTILE_ON_BATCH_CONSTANT is
 * relu64's x [N, 64] plus the ReLU of a u8 constant [1, 64] (node 'crelu':
 * 1 item at any batch, which the Add read N items of);
 * HOSTILE_ON_BATCH_SCALE (fp32) is an ElementwiseLinear of x [N] by no
 * multipliers (node 'scale': its channels, the last dim, the batch, whose
 * 0 matched the multipliers' when built). */
enum hostile_on_batch {
	HOSTILE_ON_BATCH_MATMUL, HOSTILE_ON_BATCH_SOFTMAX, HOSTILE_ON_BATCH_CONSTANT,
	HOSTILE_ON_BATCH_SCALE
};
void hostile_on_batch_bytes(enum hostile_on_batch which, void **buf, size_t *len);
/* buf[len] written to path through a renamed temporary file. */
void hostile_write(const char *path, const void *buf, size_t len);

/* A config for dnnqd holding yaml, written as dnnqd.yaml in a new
 * directory (under $DNNQ_FIXTURE_TMP, else /tmp): its path into path;
 * hostile_config_remove takes both away. The model paths in yaml may be
 * placeholders that the fixture's --model NAME=FILE replaces. */
void hostile_config(const char *yaml, char *path, size_t len);
void hostile_config_remove(const char *path);

/* A RELOAD on dnnqd at socket refused with want and a message holding
 * `needle`, relu64 still served at generation 1; the message into msg. */
void hostile_reload_refused(const char *socket, int want, const char *needle, char *msg,
                            size_t len);

#endif
