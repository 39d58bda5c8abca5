/*
 * engine/f32.h — the fp32 twin of every operator kind, for the nodes a
 * model keeps in fp32 (docs/graph.md, "Precision"): f32 NHWC activations in,
 * f32 out, the same geometry and the same create -> setup -> run ->
 * destroy life as the int8 operators (engine/fc.h), the same executor
 * contract (fixed chunks: results never depend on the thread count).
 *
 * Kernels: a scalar one (the oracle) and an AVX2 one (AVX-512 hosts use
 * AVX2 here but for the products and the depthwise convolution), chosen by
 * `isa`; convolution and FC multiply through OpenBLAS's sgemm
 * (single-threaded: the executor owns the threads) on AVX2 and through
 * engine/f32-avx512vnni.c's kernel, on weights packed at create, on
 * AVX-512, so their results may differ from the scalar oracle by float
 * rounding of the summation order, within the tolerance the tests
 * document; the other kernels are exact against their scalar versions
 * except where noted (exp in Sigmoid, Tanh, Softmax: a vectorized exp
 * within 2 ulp).
 *
 * Weights are copied (packed) at create, or borrowed from the weights
 * cache (engine/wcache.h) when desc->cache is set, so every worker's graph
 * of a model shares one copy.
 */
#ifndef DNNQ_ENGINE_F32_H
#define DNNQ_ENGINE_F32_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/eltwise.h"
#include "engine/executor.h"
#include "engine/pooling.h"

struct dnnq_weights_cache;

/* OpenBLAS starts a pool of threads when it is loaded, before main,
 * unless OPENBLAS_NUM_THREADS is 1, and no dnnq program uses it (the
 * engine runs OpenBLAS on the caller's thread). A pool thread whose buffer
 * cannot be mapped (RLIMIT_AS, LimitAS=, ulimit -v) loops in
 * blas_memory_alloc for good, and at exit the library's destructor waits
 * for it: under an address-space limit of 80 to 160 MB dnnqd said ready
 * with a CPU spinning and never ended on SIGTERM (test
 * hostile_address_space), and every tool hung, `dnnq-run --version`
 * too. So every program's main calls this first: under an
 * address-space limit it executes the program again once with the
 * variable at 1 (argv: main's); when that fails it goes on as it is. */
void dnnq_f32_blas_pool_off(char **argv);

/* fp32 weights n x k (transposed to k x n when transpose: the
 * convolution) for the node cached as key, kind (an operator's own tag,
 * engine/wcache.h): borrowed from the cache when it has them (*borrowed),
 * else copied from src, DNNQ_ALIGN-aligned, and, with a cache, handed to
 * it (*borrowed then too); free what is not borrowed. */
int dnnq_f32_weights_get(struct dnnq_weights_cache *cache, const char *key, int kind, size_t n,
                         size_t k, const float *src, bool transpose, float **out,
                         bool *borrowed);

/* ---- convolution (NHWC, weights OHWI as engine/conv.h) ------------------- */

struct dnnq_f32_conv_desc {
	enum dnnq_isa isa;
	size_t cin, cout, groups;
	size_t kh, kw, stride_h, stride_w, dil_h, dil_w;
	size_t pad_t, pad_l, pad_b, pad_r;
	const float *w;                 /* OHWI: cout x kh x kw x (cin / groups) */
	const float *bias;              /* cout, or NULL */
	bool relu, clip;                /* fused: max(y, 0); min(max(y, lo), hi) */
	float clip_min, clip_max;
	struct dnnq_weights_cache *cache;
	const char *cache_key;
};

struct dnnq_f32_conv;
int dnnq_f32_conv_create(const struct dnnq_f32_conv_desc *d, struct dnnq_f32_conv **out,
                         struct dnnq_diag *diag);
int dnnq_f32_conv_output_size(const struct dnnq_f32_conv *c, size_t h, size_t w, size_t *oh,
                              size_t *ow);
/* n x h x w x cin in, n x oh x ow x cout out; per-thread scratch sized here. */
int dnnq_f32_conv_setup(struct dnnq_f32_conv *c, size_t n, size_t h, size_t w,
                        const float *in, float *out, unsigned nthreads);
int dnnq_f32_conv_run(struct dnnq_f32_conv *c, const struct dnnq_executor *ex);
void dnnq_f32_conv_destroy(struct dnnq_f32_conv *c);

/* ---- fully connected: y[m][n] = sum_k x[m][k] * w[n][k] + bias[n] ------- */

struct dnnq_f32_fc_desc {
	enum dnnq_isa isa;
	size_t n, k;
	const float *w;                 /* n x k */
	const float *bias;              /* n, or NULL */
	bool relu, clip;
	float clip_min, clip_max;
	struct dnnq_weights_cache *cache;
	const char *cache_key;
};

struct dnnq_f32_fc;
int dnnq_f32_fc_create(const struct dnnq_f32_fc_desc *d, struct dnnq_f32_fc **out,
                       struct dnnq_diag *diag);
int dnnq_f32_fc_setup(struct dnnq_f32_fc *op, size_t m, const float *in, float *out,
                      unsigned nthreads);
int dnnq_f32_fc_run(struct dnnq_f32_fc *op, const struct dnnq_executor *ex);
void dnnq_f32_fc_destroy(struct dnnq_f32_fc *op);

/* ---- stateless kernels --------------------------------------------------- */
/* c (m x n, row stride ldc) = a (m x k, lda) times b^T (trans_b; b: n x k)
 * or b (b: k x n), row-major, ldb b's row stride: the sgemm under conv and
 * FC, for callers outside the engine that keep their own layout (the ONNX
 * reference executor, NCHW). One call runs on the calling thread; the
 * order of its sums depends on the shapes only. */
void dnnq_f32_gemm(enum dnnq_isa isa, bool trans_b, size_t m, size_t n, size_t k,
                   const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc);


/* Each computes all of its output, split over ex in fixed chunks. An isa
 * this CPU lacks runs the scalar kernels; a geometry or shape the operator
 * cannot have (dnnq_pooling_output_size refuses it, c == 0) writes nothing. */

/* Max or average pooling of x (n x h x w x c) into y (n x oh x ow x c), the
 * geometry of engine/pooling.h (dnnq_pooling_output_size gives oh, ow);
 * average: count_include_pad as ONNX. A window with no tap in the image
 * (only dilation makes one) gives 0, as the fp32 references of pooling.h. */
void dnnq_f32_maxpool(enum dnnq_isa isa, const struct dnnq_pooling_geom *g, size_t n,
                      size_t h, size_t w, size_t c, const float *x, float *y,
                      const struct dnnq_executor *ex);
void dnnq_f32_avgpool(enum dnnq_isa isa, const struct dnnq_pooling_geom *g,
                      bool count_include_pad, size_t n, size_t h, size_t w, size_t c,
                      const float *x, float *y, const struct dnnq_executor *ex);
/* y (n x c) = mean over the h*w pixels of x (n x hw x c). */
void dnnq_f32_gavgpool(enum dnnq_isa isa, size_t n, size_t hw, size_t c, const float *x,
                       float *y, const struct dnnq_executor *ex);

/* Add, Mul, Sum, SumRelu of ninputs inputs, each full size (n), a scalar or
 * per channel (engine/eltwise.h's broadcast kinds); y may be in[0]. */
void dnnq_f32_eltwise(enum dnnq_isa isa, enum dnnq_eltwise_op op, size_t ninputs,
                      const float *const in[], const enum dnnq_broadcast bcast[],
                      size_t channels, size_t n, float *y, const struct dnnq_executor *ex);

/* The table activations of engine/eltwise.h in fp32; y may be x. */
void dnnq_f32_activation(enum dnnq_isa isa, enum dnnq_activation_kind kind,
                         const struct dnnq_act_params *p, size_t n, const float *x, float *y,
                         const struct dnnq_executor *ex);

/* Softmax along rows of length c: y[r][i] = exp(x - max) / sum; y may be x.
 * A row with a NaN, or whose max is infinite, gives NaN. */
void dnnq_f32_softmax(enum dnnq_isa isa, size_t rows, size_t c, const float *x, float *y,
                      const struct dnnq_executor *ex);

/* LogSoftmax along rows of length c: y = (x - max) - log(sum of exp(x - max)),
 * the sum as Softmax's; y may not be x. */
void dnnq_f32_log_softmax(enum dnnq_isa isa, size_t rows, size_t c, const float *x, float *y,
                          const struct dnnq_executor *ex);
/* One row of either on the caller's thread (a strided axis gathered into a
 * row first: engine/softmax-axis.c). */
void dnnq_f32_softmax_1(enum dnnq_isa isa, bool logsm, const float *x, float *y, size_t c);

/* y[i] = a[i % c] * x[i] + (b ? b[i % c] : 0); y may be x. */
void dnnq_f32_ewlin(enum dnnq_isa isa, size_t n, size_t c, const float *a, const float *b,
                    const float *x, float *y, const struct dnnq_executor *ex);

#endif
