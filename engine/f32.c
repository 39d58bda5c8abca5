/*
 * The fp32 twins (f32.h): the operators, their drivers and the scalar
 * kernels (the oracle; engine/f32-kernels.h). AVX2 and AVX-512 VNNI take
 * engine/f32-avx2.c's kernels and multiply through OpenBLAS, but for the
 * convolutions' and FCs' constant weights on AVX-512, which
 * engine/f32-avx512vnni.c multiplies, packed once at create (Debian's
 * OpenBLAS 0.3.21 runs its AVX2 kernels on CPUs it does not know, Zen 5
 * among them, at half the speed); the scalar table multiplies with a plain
 * loop (each sum in k order).
 *
 * Work is cut into fixed chunks: elementwise kernels CHUNK elements (whole
 * rows of the channel period when an operand is per channel), softmax whole
 * rows, pooling WINDOW_ROWS output rows by CBLOCK channels, depthwise
 * convolution one output row, the GEMM paths MC output pixels (FC: rows) by
 * NC output columns (a grouped convolution: all of them). A stateless kernel given an ISA this CPU lacks runs the
 * scalar one; one given a geometry dnnq_pooling_output_size refuses writes
 * nothing.
 */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "engine/conv.h"
#include "engine/f32-kernels.h"
#include "engine/unary.h"
#include "engine/wcache.h"

#define CHUNK 16384u        /* elements one elementwise task covers */
#define CBLOCK 256          /* channels one pooling task covers */
#define WINDOW_ROWS 4       /* output rows one pooling task covers */
#define MC 128              /* output pixels (FC rows) one GEMM task covers */
#define NC 256              /* output columns one task covers (FC; conv when groups = 1) */

enum { WCACHE_F32_CONV = 5, WCACHE_F32_DW = 6, WCACHE_F32_FC = 7 };  /* conv.c 1-2 and 9, fc.c 3-4, ops/embed.c 8 */

/* ---- exp and the scalar kernels ------------------------------------------ */

static float pow2i(int32_t n)
{
	uint32_t b = (uint32_t)(n + 127) << 23;
	float f;
	memcpy(&f, &b, sizeof f);
	return f;
}

float dnnq_f32_exp(float x)
{
	if (x != x)
		return x;
	float xc = x > DNNQ_F32_EXP_LO ? x : DNNQ_F32_EXP_LO;
	xc = xc < DNNQ_F32_EXP_HI ? xc : DNNQ_F32_EXP_HI;
	float fn = floorf(xc * DNNQ_F32_LOG2E + 0.5f);
	float r = xc - fn * DNNQ_F32_LN2_HI;
	r = r - fn * DNNQ_F32_LN2_LO;
	float p = DNNQ_F32_EXP_P0 * r + DNNQ_F32_EXP_P1;
	p = p * r + DNNQ_F32_EXP_P2;
	p = p * r + DNNQ_F32_EXP_P3;
	p = p * r + DNNQ_F32_EXP_P4;
	p = p * r + DNNQ_F32_EXP_P5;
	p = p * (r * r) + r;
	p = p + 1.0f;
	int32_t n = (int32_t)fn, n1 = n >> 1;
	float y = p * pow2i(n1) * pow2i(n - n1);
	return x > DNNQ_F32_EXP_HI ? INFINITY : y;
}

static float tanh1(float x)
{
	float ax = fabsf(x);
	if (ax < DNNQ_F32_TANH_SMALL) {
		float z = x * x;
		float p = DNNQ_F32_TANH_P0 * z + DNNQ_F32_TANH_P1;
		p = p * z + DNNQ_F32_TANH_P2;
		p = p * z + DNNQ_F32_TANH_P3;
		p = p * z + DNNQ_F32_TANH_P4;
		return p * z * x + x;
	}
	float e = dnnq_f32_exp(ax + ax);
	return copysignf(1.0f - 2.0f / (e + 1.0f), x);
}

static float act1(enum dnnq_activation_kind kind, const struct dnnq_act_params *p, float x)
{
	float t;
	switch (kind) {
	case DNNQ_ACT_RELU:
		return 0.0f > x ? 0.0f : x;
	case DNNQ_ACT_CLIP:
		t = p->min > x ? p->min : x;
		return p->max < t ? p->max : t;
	case DNNQ_ACT_LEAKY_RELU:
		return x >= 0.0f ? x : p->alpha * x;
	case DNNQ_ACT_SIGMOID:
		return dnnq_sigmoid1(x);
	case DNNQ_ACT_TANH:
		return tanh1(x);
	case DNNQ_ACT_HARD_SIGMOID:
		t = p->alpha * x + p->beta;
		t = 1.0f < t ? 1.0f : t;
		return 0.0f > t ? 0.0f : t;
	case DNNQ_ACT_HARD_SWISH:
		t = x / 6.0f + 0.5f;
		t = 1.0f < t ? 1.0f : t;
		t = 0.0f > t ? 0.0f : t;
		return x * t;
	case DNNQ_ACT_ELU:
		return x > 0.0f ? x : p->alpha * (dnnq_f32_exp(x) - 1.0f);
	case DNNQ_ACT_SELU:
		return p->beta * (x > 0.0f ? x : p->alpha * (dnnq_f32_exp(x) - 1.0f));
	case DNNQ_ACT_CELU:
		return x > 0.0f ? x : p->alpha * (dnnq_f32_exp(x / p->alpha) - 1.0f);
	case DNNQ_ACT_SHRINK:
		return x < -p->alpha ? x + p->beta : x > p->alpha ? x - p->beta : 0.0f;
	case DNNQ_ACT_THRESHOLDED_RELU:
		return x > p->alpha ? x : 0.0f;
	}
	return x;
}

void dnnq_f32_act_scalar(enum dnnq_activation_kind kind, const struct dnnq_act_params *p,
                         const float *x, float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = act1(kind, p, x[i]);
}

void dnnq_f32_ew_scalar(enum dnnq_eltwise_op op, size_t ninputs, const float *const x[],
                        const bool full[], size_t n, float *y)
{
	for (size_t i = 0; i < n; i++) {
		float t = x[0][full[0] ? i : 0];
		for (size_t k = 1; k < ninputs; k++) {
			float v = x[k][full[k] ? i : 0];
			t = op == DNNQ_ELTWISE_MUL ? t * v : t + v;
		}
		y[i] = op == DNNQ_ELTWISE_SUM_RELU && 0.0f > t ? 0.0f : t;
	}
}

void dnnq_f32_ewlin_scalar(const float *a, const float *b, const float *x, float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = b ? a[i] * x[i] + b[i] : a[i] * x[i];
}

void dnnq_f32_epi_scalar(const float *bias, bool relu, const struct dnnq_act_params *clip,
                         float *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float t = bias ? y[i] + bias[i] : y[i];
		if (relu)
			t = act1(DNNQ_ACT_RELU, clip, t);
		y[i] = clip ? act1(DNNQ_ACT_CLIP, clip, t) : t;
	}
}

/* Each window's first tap, then a later larger value (a NaN never larger,
 * nor anything than a NaN; a later equal value never replaces it), as
 * ONNX Runtime's MaxPool with Indices and dnnq's maxpool_indices:
 * [NaN, -5] gives NaN, [1, NaN, -7] 1, [-0, 0] -0 (docs/onnx.md). */
void dnnq_f32_maxpool_scalar(const struct dnnq_f32_win *win, size_t c, float *y)
{
	for (size_t ch = 0; ch < c; ch++) {
		float v = win->x[ch];
		for (size_t i = 0; i < win->nh; i++)
			for (size_t j = 0; j < win->nw; j++) {
				float t = win->x[i * win->sh + j * win->sw + ch];
				v = t > v ? t : v;
			}
		y[ch] = v;
	}
}

void dnnq_f32_avgpool_scalar(const struct dnnq_f32_win *win, size_t c, float count, float *y)
{
	for (size_t ch = 0; ch < c; ch++) {
		float s = 0.0f;
		for (size_t i = 0; i < win->nh; i++)
			for (size_t j = 0; j < win->nw; j++)
				s += win->x[i * win->sh + j * win->sw + ch];
		y[ch] = s / count;
	}
}

void dnnq_f32_dw_scalar(const struct dnnq_f32_win *win, const float *w, size_t wsh,
                        size_t wsw, size_t c, float *y)
{
	for (size_t ch = 0; ch < c; ch++) {
		float s = 0.0f;
		for (size_t i = 0; i < win->nh; i++)
			for (size_t j = 0; j < win->nw; j++)
				s += win->x[i * win->sh + j * win->sw + ch] * w[i * wsh + j * wsw + ch];
		y[ch] = s;
	}
}

void dnnq_f32_softmax_row_scalar(const float *x, float *y, size_t c, bool logsm)
{
	float mx = x[0];
	for (size_t i = 1; i < c; i++)
		mx = mx > x[i] ? mx : x[i];
	double s[8] = { 0 };
	for (size_t i = 0; i < c; i++) {
		y[i] = dnnq_f32_exp(x[i] - mx);
		s[i % 8] += (double)y[i];
	}
	if (logsm) {
		float ls = (float)dnnq_log_sum8(s);
		for (size_t i = 0; i < c; i++)
			y[i] = (x[i] - mx) - ls;
		return;
	}
	float inv = (float)(1.0 / dnnq_softmax_sum8(s));
	for (size_t i = 0; i < c; i++)
		y[i] = y[i] * inv;
}

/* c = a times b^T (trans_b; b: n x k, ldb) or a times b (b: k x n). */
static void gemm_scalar_any(bool trans_b, size_t m, size_t n, size_t k, const float *a,
                            size_t lda, const float *b, size_t ldb, float *c, size_t ldc)
{
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++) {
			float s = 0.0f;
			for (size_t p = 0; p < k; p++)
				s += a[i * lda + p] * (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
			c[i * ldc + j] = s;
		}
}

/*
 * OpenBLAS's buffers. A call (one thread: blas_init) that is not small
 * takes a buffer from the library's pool, and maps one more (128 MiB with
 * Debian 0.3.21's SkylakeX kernels) when all are in use; kept mapped, any
 * thread's next call reuses it. When that mmap fails (RLIMIT_AS,
 * LimitAS=) blas_memory_alloc maps again forever: under a 100 MB limit
 * dnnq-run's first fp32 FC of 128 rows spun there, and a dnnqd worker
 * would have, its client waiting for good. So under an address-space
 * limit, a call that may need one more buffer than the process has
 * mapped first checks that 2 buffers' worth can be mapped, and if so has
 * OpenBLAS map it now (blas_grow); if not, it multiplies with the scalar
 * loop (slow, but it ends). Without a limit this costs nothing.
 */
#define BLAS_PROBE ((size_t)256 << 20)   /* twice the buffer: room for others' maps */
#define BLAS_WARM 256                    /* a square product past OpenBLAS's small path */

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static bool blas_limited;                /* RLIMIT_AS is finite */
static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned blas_mapped, blas_busy;  /* buffers mapped (by blas_grow); calls running */

/* The executor owns the threads: OpenBLAS runs on the caller's. */
static void blas_init(void)
{
	struct rlimit rl;
	openblas_set_num_threads(1);
	blas_limited = !getrlimit(RLIMIT_AS, &rl) && rl.rlim_cur != RLIM_INFINITY;
}

/* One more buffer in OpenBLAS's pool, if BLAS_PROBE bytes can be mapped:
 * a product of BLAS_WARM squares (all buffers but the one it takes are in
 * use, blas_lock held). */
static bool blas_grow(void)
{
	void *p = mmap(NULL, BLAS_PROBE, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	munmap(p, BLAS_PROBE);
	float *w = calloc(3 * BLAS_WARM * BLAS_WARM, sizeof *w);
	if (!w)
		return false;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BLAS_WARM, BLAS_WARM, BLAS_WARM,
	            1.0f, w, BLAS_WARM, w + BLAS_WARM * BLAS_WARM, BLAS_WARM, 0.0f,
	            w + 2 * BLAS_WARM * BLAS_WARM, BLAS_WARM);
	free(w);
	blas_mapped++;
	return true;
}

/* Whether this call may run OpenBLAS: a buffer is free for it (then
 * blas_leave after it). */
static bool blas_enter(void)
{
	if (!blas_limited)
		return true;
	pthread_mutex_lock(&blas_lock);
	bool ok = blas_busy < blas_mapped || blas_grow();
	blas_busy += ok;
	pthread_mutex_unlock(&blas_lock);
	return ok;
}

static void blas_leave(void)
{
	if (!blas_limited)
		return;
	pthread_mutex_lock(&blas_lock);
	blas_busy--;
	pthread_mutex_unlock(&blas_lock);
}

void dnnq_f32_blas_pool_off(char **argv)
{
	/* without an address-space limit the pool's threads only sleep: no
	 * second start-up for every tool run */
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return;
	const char *n = getenv("OPENBLAS_NUM_THREADS");
	if ((n && !strcmp(n, "1")) || setenv("OPENBLAS_NUM_THREADS", "1", 1))
		return;
	execv("/proc/self/exe", argv);
}

static void gemm_blas_any(bool trans_b, size_t m, size_t n, size_t k, const float *a,
                          size_t lda, const float *b, size_t ldb, float *c, size_t ldc)
{
	pthread_once(&blas_once, blas_init);
	if (!blas_enter()) {
		gemm_scalar_any(trans_b, m, n, k, a, lda, b, ldb, c, ldc);
		return;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (blasint)m,
	            (blasint)n, (blasint)k, 1.0f, a, (blasint)lda, b, (blasint)ldb, 0.0f, c,
	            (blasint)ldc);
	blas_leave();
}

/* The table's gemm (B transposed) and gemm_nn of one NAME##_any. */
#define GEMM_ENTRIES(name) \
	static void name(size_t m, size_t n, size_t k, const float *a, size_t lda, \
	                 const float *b, size_t ldb, float *c, size_t ldc) \
	{ \
		name##_any(true, m, n, k, a, lda, b, ldb, c, ldc); \
	} \
	static void name##_nn(size_t m, size_t n, size_t k, const float *a, size_t lda, \
	                      const float *b, size_t ldb, float *c, size_t ldc) \
	{ \
		name##_any(false, m, n, k, a, lda, b, ldb, c, ldc); \
	}

GEMM_ENTRIES(gemm_scalar)
GEMM_ENTRIES(gemm_blas)

#define F32_KERNELS(isa, gemm_fn, gemm_pk_fn, dw_fn) { \
	.gemm = gemm_fn, \
	.gemm_pk = gemm_pk_fn, \
	.gemm_nn = gemm_fn##_nn, \
	.dw = dw_fn, \
	.maxpool = dnnq_f32_maxpool_##isa, \
	.avgpool = dnnq_f32_avgpool_##isa, \
	.ew = dnnq_f32_ew_##isa, \
	.act = dnnq_f32_act_##isa, \
	.softmax_row = dnnq_f32_softmax_row_##isa, \
	.ewlin = dnnq_f32_ewlin_##isa, \
	.epi = dnnq_f32_epi_##isa, \
}

static const struct dnnq_f32_kernels f32_tables[DNNQ_ISA_COUNT] = {
	[DNNQ_ISA_SCALAR] = F32_KERNELS(scalar, gemm_scalar, NULL, dnnq_f32_dw_scalar),
	[DNNQ_ISA_AVX2] = F32_KERNELS(avx2, gemm_blas, NULL, dnnq_f32_dw_avx2),
	[DNNQ_ISA_AVX512VNNI] = F32_KERNELS(avx2, gemm_blas, dnnq_f32_gemm_pk_avx512,
	                                    dnnq_f32_dw_avx512),
};

static const struct dnnq_f32_kernels *kernels(enum dnnq_isa isa)
{
	return &f32_tables[dnnq_isa_supported(isa) ? isa : DNNQ_ISA_SCALAR];
}

const struct dnnq_f32_kernels *dnnq_f32_kernels_of(enum dnnq_isa isa)
{
	return kernels(isa);
}

void dnnq_f32_gemm(enum dnnq_isa isa, bool trans_b, size_t m, size_t n, size_t k,
                   const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc)
{
	const struct dnnq_f32_kernels *kn = kernels(isa);
	(trans_b ? kn->gemm : kn->gemm_nn)(m, n, k, a, lda, b, ldb, c, ldc);
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* ---- elementwise drivers: segments of a chunk ---------------------------- */

/* Calls seg(ctx, i, len) over [0, n) in chunks of CHUNK elements (whole
 * periods when period > 0), cut at every multiple of period. */
struct seg_job {
	void (*seg)(const void *ctx, size_t i, size_t len);
	const void *ctx;
	size_t n, period, chunk;
};

static void seg_task(void *arg, size_t t, unsigned tid)
{
	(void)tid;
	const struct seg_job *j = arg;
	size_t i1 = min_size(j->n, (t + 1) * j->chunk);
	for (size_t i = t * j->chunk; i < i1;) {
		size_t len = j->period ? min_size(j->period - i % j->period, i1 - i) : i1 - i;
		j->seg(j->ctx, i, len);
		i += len;
	}
}

static void run_segments(const struct dnnq_executor *ex, size_t n, size_t period,
                         void (*seg)(const void *ctx, size_t i, size_t len), const void *ctx)
{
	size_t chunk = period ? period * (CHUNK / period > 1 ? CHUNK / period : 1) : CHUNK;
	struct seg_job j = { seg, ctx, n, period, chunk };
	dnnq_parallel_for(ex, (n + chunk - 1) / chunk, seg_task, &j);
}

struct ew_job {
	const struct dnnq_f32_kernels *kn;
	enum dnnq_eltwise_op op;
	size_t ninputs, channels;
	const float *const *in;
	const enum dnnq_broadcast *bcast;
	float *y;
};

static void ew_seg(const void *ctx, size_t i, size_t len)
{
	const struct ew_job *e = ctx;
	const float *x[DNNQ_ELTWISE_MAX_INPUTS];
	bool full[DNNQ_ELTWISE_MAX_INPUTS];
	for (size_t k = 0; k < e->ninputs; k++) {
		full[k] = e->bcast[k] != DNNQ_BCAST_SCALAR;
		x[k] = e->in[k] + (e->bcast[k] == DNNQ_BCAST_NONE ? i
		                   : e->bcast[k] == DNNQ_BCAST_CHANNEL ? i % e->channels : 0);
	}
	e->kn->ew(e->op, e->ninputs, x, full, len, e->y + i);
}

void dnnq_f32_eltwise(enum dnnq_isa isa, enum dnnq_eltwise_op op, size_t ninputs,
                      const float *const in[], const enum dnnq_broadcast bcast[],
                      size_t channels, size_t n, float *y, const struct dnnq_executor *ex)
{
	struct ew_job e = { kernels(isa), op, min_size(ninputs, DNNQ_ELTWISE_MAX_INPUTS),
	                    channels, in, bcast, y };
	bool per_channel = false;
	for (size_t k = 0; k < e.ninputs; k++)
		per_channel |= bcast[k] == DNNQ_BCAST_CHANNEL;
	if (e.ninputs && (!per_channel || channels))
		run_segments(ex, n, per_channel ? channels : 0, ew_seg, &e);
}

struct act_job {
	const struct dnnq_f32_kernels *kn;
	enum dnnq_activation_kind kind;
	const struct dnnq_act_params *p;
	const float *x;
	float *y;
};

static void act_seg(const void *ctx, size_t i, size_t len)
{
	const struct act_job *a = ctx;
	a->kn->act(a->kind, a->p, a->x + i, a->y + i, len);
}

void dnnq_f32_activation(enum dnnq_isa isa, enum dnnq_activation_kind kind,
                         const struct dnnq_act_params *p, size_t n, const float *x, float *y,
                         const struct dnnq_executor *ex)
{
	struct act_job a = { kernels(isa), kind, p, x, y };
	run_segments(ex, n, 0, act_seg, &a);
}

struct row_job {
	const struct dnnq_f32_kernels *kn;
	const float *a, *b, *x;
	float *y;
	size_t c;
	bool logsm;                    /* softmax: LogSoftmax */
};

static void softmax_seg(const void *ctx, size_t i, size_t len)
{
	const struct row_job *r = ctx;
	r->kn->softmax_row(r->x + i, r->y + i, len, r->logsm);
}

void dnnq_f32_softmax(enum dnnq_isa isa, size_t rows, size_t c, const float *x, float *y,
                      const struct dnnq_executor *ex)
{
	struct row_job r = { kernels(isa), NULL, NULL, x, y, c, false };
	if (c)
		run_segments(ex, rows * c, c, softmax_seg, &r);
}

void dnnq_f32_log_softmax(enum dnnq_isa isa, size_t rows, size_t c, const float *x, float *y,
                          const struct dnnq_executor *ex)
{
	struct row_job r = { kernels(isa), NULL, NULL, x, y, c, true };
	if (c)
		run_segments(ex, rows * c, c, softmax_seg, &r);
}

void dnnq_f32_softmax_1(enum dnnq_isa isa, bool logsm, const float *x, float *y, size_t c)
{
	if (c)
		kernels(isa)->softmax_row(x, y, c, logsm);
}

static void ewlin_seg(const void *ctx, size_t i, size_t len)
{
	const struct row_job *r = ctx;
	size_t j = i % r->c;
	r->kn->ewlin(r->a + j, r->b ? r->b + j : NULL, r->x + i, r->y + i, len);
}

void dnnq_f32_ewlin(enum dnnq_isa isa, size_t n, size_t c, const float *a, const float *b,
                    const float *x, float *y, const struct dnnq_executor *ex)
{
	struct row_job r = { kernels(isa), a, b, x, y, c, false };
	if (c)
		run_segments(ex, n, c, ewlin_seg, &r);
}

/* ---- pooling ------------------------------------------------------------- */

struct pool_job {
	const struct dnnq_f32_kernels *kn;
	struct dnnq_pooling_axis ax[2];
	bool avg, include_pad;
	size_t n, h, w, c, oh, ow;
	const float *x;
	float *y;
};

static void pool_pixel(const struct pool_job *p, size_t r, const struct dnnq_pooling_span *hs,
                       size_t ox, size_t c0, size_t nc)
{
	struct dnnq_pooling_span ws = dnnq_pooling_window(&p->ax[1], (int64_t)ox, (int64_t)p->w);
	float *y = p->y + (r * p->ow + ox) * p->c + c0;
	if (!hs->n || !ws.n) {
		memset(y, 0, nc * sizeof *y);
		return;
	}
	size_t img = r / p->oh;
	struct dnnq_f32_win win = {
		p->x + ((img * p->h + (size_t)hs->first) * p->w + (size_t)ws.first) * p->c + c0,
		(size_t)hs->n, (size_t)ws.n, (size_t)p->ax[0].d * p->w * p->c,
		(size_t)p->ax[1].d * p->c,
	};
	if (!p->avg)
		p->kn->maxpool(&win, nc, y);
	else
		p->kn->avgpool(&win, nc, (float)(p->include_pad ? hs->count * ws.count
		                                                : hs->n * ws.n), y);
}

static void pool_task(void *arg, size_t t, unsigned tid)
{
	(void)tid;
	const struct pool_job *p = arg;
	size_t nblocks = (p->c + CBLOCK - 1) / CBLOCK;
	size_t c0 = t % nblocks * CBLOCK, nc = min_size(p->c - c0, CBLOCK);
	size_t r0 = t / nblocks * WINDOW_ROWS, r1 = min_size(r0 + WINDOW_ROWS, p->n * p->oh);
	for (size_t r = r0; r < r1; r++) {
		struct dnnq_pooling_span hs =
			dnnq_pooling_window(&p->ax[0], (int64_t)(r % p->oh), (int64_t)p->h);
		for (size_t ox = 0; ox < p->ow; ox++)
			pool_pixel(p, r, &hs, ox, c0, nc);
	}
}

static void pool(enum dnnq_isa isa, const struct dnnq_pooling_geom *g, bool avg,
                 bool include_pad, size_t n, size_t h, size_t w, size_t c, const float *x,
                 float *y, const struct dnnq_executor *ex)
{
	struct pool_job p = { kernels(isa), { { 0 } }, avg, include_pad, n, h, w, c, 0, 0, x, y };
	if (!c || dnnq_pooling_output_size(g, h, w, &p.oh, &p.ow, NULL))
		return;
	dnnq_pooling_axes(g, p.ax);
	size_t tasks = (n * p.oh + WINDOW_ROWS - 1) / WINDOW_ROWS;
	dnnq_parallel_for(ex, tasks * ((c + CBLOCK - 1) / CBLOCK), pool_task, &p);
}

void dnnq_f32_maxpool(enum dnnq_isa isa, const struct dnnq_pooling_geom *g, size_t n,
                      size_t h, size_t w, size_t c, const float *x, float *y,
                      const struct dnnq_executor *ex)
{
	pool(isa, g, false, false, n, h, w, c, x, y, ex);
}

void dnnq_f32_avgpool(enum dnnq_isa isa, const struct dnnq_pooling_geom *g,
                      bool count_include_pad, size_t n, size_t h, size_t w, size_t c,
                      const float *x, float *y, const struct dnnq_executor *ex)
{
	pool(isa, g, true, count_include_pad, n, h, w, c, x, y, ex);
}

/* The whole image as one hw x 1 window. */
void dnnq_f32_gavgpool(enum dnnq_isa isa, size_t n, size_t hw, size_t c, const float *x,
                       float *y, const struct dnnq_executor *ex)
{
	if (hw > INT32_MAX)
		return;
	const struct dnnq_pooling_geom g = { (int32_t)hw, 1, 1, 1, 0, 0, 0, 0, 1, 1, false };
	pool(isa, &g, true, false, n, hw, 1, c, x, y, ex);
}

/* ---- convolution and FC: weights, epilogue ------------------------------- */

/* What follows the product: bias, then ReLU, then Clip. */
struct epilogue {
	const struct dnnq_f32_kernels *kn;
	float *bias;
	bool relu, clip;
	struct dnnq_act_params clip_p;
};

static int epilogue_init(struct epilogue *e, enum dnnq_isa isa, const float *bias, size_t n,
                         bool relu, bool clip, float lo, float hi)
{
	*e = (struct epilogue){ kernels(isa), NULL, relu, clip, { 0, 0, lo, hi } };
	if (!bias)
		return DNNQ_OK;
	if (!(e->bias = malloc(n * sizeof *e->bias)))
		return DNNQ_E_NOMEM;
	memcpy(e->bias, bias, n * sizeof *e->bias);
	return DNNQ_OK;
}

/* rows x cols of y (ld floats a row), output columns [col0, col0 + cols). */
static void epilogue_run(const struct epilogue *e, float *y, size_t rows, size_t cols,
                         size_t ld, size_t col0)
{
	if (!e->bias && !e->relu && !e->clip)
		return;
	for (size_t r = 0; r < rows; r++)
		e->kn->epi(e->bias ? e->bias + col0 : NULL, e->relu, e->clip ? &e->clip_p : NULL,
		           y + r * ld, cols);
}

/* How a product's weights (src: n x k rows) are laid out: as they are,
 * transposed to k x n, or, for a table's gemm_pk, in DNNQ_F32_NR panels,
 * one set of panels a group of n / groups rows (panel_floats each). */
enum wlayout { W_ROWS, W_TRANSPOSED, W_PANELS };

size_t dnnq_f32_panel_floats(size_t n, size_t k)
{
	return (n + DNNQ_F32_NR - 1) / DNNQ_F32_NR * DNNQ_F32_NR * k;
}

void dnnq_f32_pack_panels(const float *src, size_t n, size_t k, size_t groups, float *out)
{
	size_t ng = n / groups, np = (ng + DNNQ_F32_NR - 1) / DNNQ_F32_NR;
	for (size_t g = 0; g < groups; g++)
		for (size_t p = 0; p < np; p++)
			for (size_t kk = 0; kk < k; kk++)
				for (size_t j = p * DNNQ_F32_NR; j < (p + 1) * DNNQ_F32_NR; j++)
					*out++ = j < ng ? src[(g * ng + j) * k + kk] : 0.0f;
}

static void weights_fill(enum wlayout l, size_t n, size_t k, size_t groups, const float *src,
                         float *w)
{
	if (l == W_PANELS) {
		dnnq_f32_pack_panels(src, n, k, groups, w);
		return;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < k; j++)
			w[l == W_TRANSPOSED ? j * n + i : i * k + j] = src[i * k + j];
}

/* dnnq_f32_weights_get in layout l (W_PANELS: groups sets of panels). */
static int weights_get(struct dnnq_weights_cache *cache, const char *key, int kind,
                       enum wlayout l, size_t n, size_t k, size_t groups, const float *src,
                       float **out, bool *borrowed)
{
	/* the cache tells the layouts apart by ISA: the panels are the AVX-512
	 * product's, the rest the same floats for every ISA */
	const enum dnnq_isa isa = l == W_PANELS ? DNNQ_ISA_AVX512VNNI : DNNQ_ISA_SCALAR;
	const struct dnnq_wcache_entry *e = dnnq_weights_cache_find(cache, key, kind, isa, n, k);
	size_t count = l == W_PANELS ? groups * dnnq_f32_panel_floats(n / groups, k) : n * k;
	/* another layout's (a key named after a weight tensor that other
	 * convs read, graph-nodes.c) is not this one's */
	if (e && e->f32w_count == count) {
		*out = e->f32w;
		*borrowed = true;
		return DNNQ_OK;
	}
	float *w = dnnq_aligned_alloc(count * sizeof *w);
	if (!w)
		return DNNQ_E_NOMEM;
	weights_fill(l, n, k, groups, src, w);
	struct dnnq_wcache_entry add = { .key = key, .kind = kind, .isa = isa, .n = n,
	                                 .k = k, .f32w = w, .f32w_count = count };
	/* no room: kept private, which is only the memory this saves */
	*borrowed = cache && key && !dnnq_weights_cache_add(cache, &add);
	*out = add.f32w;        /* the cache's arena's, when it took it */
	return DNNQ_OK;
}

/* e's epilogue for a product whose first column is output column col0. */
static struct dnnq_f32_epi epi_at(const struct epilogue *e, size_t col0)
{
	return (struct dnnq_f32_epi){ e->bias ? e->bias + col0 : NULL, e->relu,
	                              e->clip ? &e->clip_p : NULL };
}

int dnnq_f32_weights_get(struct dnnq_weights_cache *cache, const char *key, int kind, size_t n,
                         size_t k, const float *src, bool transpose, float **out,
                         bool *borrowed)
{
	return weights_get(cache, key, kind, transpose ? W_TRANSPOSED : W_ROWS, n, k, 1, src, out,
	                   borrowed);
}

/* ---- convolution --------------------------------------------------------- */

enum conv_path { PATH_1X1, PATH_DEPTHWISE, PATH_IM2COL };

struct dnnq_f32_conv {
	size_t cin, cout, groups, cing, coutg, k, kh, kw;
	struct dnnq_pooling_axis ax[2];   /* kernel, stride, pads, dilation */
	enum conv_path path;
	struct epilogue epi;
	float *w;                         /* OHWI transposed: (ky, kx, channel) x cout;
	                                   * epi.kn->gemm_pk's panels, gstride floats a group */
	size_t gstride;
	bool pk;                          /* w is panels */
	size_t ncb;                       /* column blocks of NC a pixel block has */
	bool borrowed;
	size_t n, h, wd, oh, ow;
	const float *in;
	float *out;
	float **scratch;                  /* per thread: MC x groups * k (im2col) */
	unsigned nscratch;
	size_t scratch_floats;
};

#define CHECK(cond, rc, ...) \
	do { if (!(cond)) return dnnq_diag_set(diag, rc, "f32 conv: " __VA_ARGS__); } while (0)

static int conv_check(const struct dnnq_f32_conv_desc *d, struct dnnq_diag *diag)
{
	CHECK(d->w, DNNQ_E_INVAL, "weights missing");
	CHECK(dnnq_isa_supported(d->isa), DNNQ_E_UNSUPPORTED, "%s not supported here",
	      dnnq_isa_name(d->isa));
	CHECK(d->groups >= 1, DNNQ_E_SHAPE, "groups = %zu: must be >= 1", d->groups);
	CHECK(d->cin >= 1 && d->cin % d->groups == 0, DNNQ_E_SHAPE,
	      "cin = %zu: must be a positive multiple of groups = %zu", d->cin, d->groups);
	CHECK(d->cout >= 1 && d->cout % d->groups == 0, DNNQ_E_SHAPE,
	      "cout = %zu: must be a positive multiple of groups = %zu", d->cout, d->groups);
	CHECK(d->kh >= 1 && d->kw >= 1 && d->stride_h >= 1 && d->stride_w >= 1 && d->dil_h >= 1 &&
	      d->dil_w >= 1, DNNQ_E_SHAPE, "kernel, stride and dilation must be >= 1");
	CHECK(d->kh <= DNNQ_F32_CONV_MAX_WINDOW && d->kw <= DNNQ_F32_CONV_MAX_WINDOW &&
	      d->dil_h <= DNNQ_F32_CONV_MAX_WINDOW && d->dil_w <= DNNQ_F32_CONV_MAX_WINDOW &&
	      d->stride_h <= DNNQ_F32_CONV_MAX_WINDOW && d->stride_w <= DNNQ_F32_CONV_MAX_WINDOW,
	      DNNQ_E_RANGE, "kernel, stride and dilation must be <= %d", DNNQ_F32_CONV_MAX_WINDOW);
	CHECK(d->pad_t < 1024 && d->pad_l < 1024 && d->pad_b < 1024 && d->pad_r < 1024,
	      DNNQ_E_RANGE, "pads must be < 1024");
	CHECK(d->cin <= (1u << 20) && d->cout <= (1u << 20), DNNQ_E_RANGE,
	      "cin and cout must be <= 2^20");
	CHECK(d->kh * d->kw * d->cin <= INT_MAX / MC, DNNQ_E_RANGE,
	      "kh * kw * cin = %zu: at most %d", d->kh * d->kw * d->cin, INT_MAX / MC);
	return DNNQ_OK;
}

int dnnq_f32_conv_create(const struct dnnq_f32_conv_desc *d, struct dnnq_f32_conv **out,
                         struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "f32 conv: NULL argument");
	*out = NULL;
	int rc = conv_check(d, diag);
	if (rc)
		return rc;
	struct dnnq_f32_conv *c = calloc(1, sizeof *c);
	if (!c)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "f32 conv: out of memory");
	*c = (struct dnnq_f32_conv){
		.cin = d->cin, .cout = d->cout, .groups = d->groups, .cing = d->cin / d->groups,
		.coutg = d->cout / d->groups, .k = d->kh * d->kw * (d->cin / d->groups),
		.kh = d->kh, .kw = d->kw,
		.ax = { { (int64_t)d->kh, (int64_t)d->stride_h, (int64_t)d->pad_t,
		          (int64_t)d->pad_b, (int64_t)d->dil_h },
		        { (int64_t)d->kw, (int64_t)d->stride_w, (int64_t)d->pad_l,
		          (int64_t)d->pad_r, (int64_t)d->dil_w } },
	};
	bool nopad = !d->pad_t && !d->pad_l && !d->pad_b && !d->pad_r;
	c->path = d->groups == 1 && d->kh == 1 && d->kw == 1 && d->stride_h == 1 &&
	          d->stride_w == 1 && nopad ? PATH_1X1
	        : d->groups > 1 && d->groups == d->cin && d->cout == d->cin ? PATH_DEPTHWISE
	        : PATH_IM2COL;
	bool dw = c->path == PATH_DEPTHWISE;
	/* one group's columns split in blocks of NC, so that a layer of few
	 * pixels (the last of a ResNet: 7 x 7) still has a task per thread */
	c->ncb = d->groups == 1 ? (d->cout + NC - 1) / NC : 1;
	rc = epilogue_init(&c->epi, d->isa, d->bias, d->cout, d->relu, d->clip, d->clip_min,
	                   d->clip_max);
	/* a group of fewer than half a panel's columns stays with gemm_nn: its
	 * panels would be mostly zeros (128-row calls, 1 thread: 4 columns,
	 * k 36: OpenBLAS 28 GFLOP/s, panels 24; 8, 72: 59, 52; 16, 144: 77,
	 * 107) */
	c->pk = !dw && c->epi.kn->gemm_pk && c->coutg >= DNNQ_F32_PK_MIN_N;
	c->gstride = c->pk ? dnnq_f32_panel_floats(c->coutg, c->k) : c->coutg;
	if (!rc)
		rc = weights_get(d->cache, d->cache_key, dw ? WCACHE_F32_DW : WCACHE_F32_CONV,
		                 c->pk ? W_PANELS : W_TRANSPOSED, d->cout, c->k, d->groups, d->w, &c->w,
		                 &c->borrowed);
	if (rc) {
		dnnq_f32_conv_destroy(c);
		return dnnq_diag_set(diag, rc, "f32 conv: out of memory");
	}
	*out = c;
	return DNNQ_OK;
}

int dnnq_f32_conv_output_size(const struct dnnq_f32_conv *c, size_t h, size_t w, size_t *oh,
                              size_t *ow)
{
	if (!c || !oh || !ow)
		return DNNQ_E_INVAL;
	size_t in[2] = { h, w }, o[2];
	for (int a = 0; a < 2; a++) {
		const struct dnnq_pooling_axis *x = &c->ax[a];
		size_t ext = (size_t)(x->d * (x->k - 1) + 1), padded = in[a] + (size_t)(x->p0 + x->p1);
		if (in[a] == 0 || in[a] > (1u << 24) || padded < ext)
			return DNNQ_E_SHAPE;
		o[a] = (padded - ext) / (size_t)x->s + 1;
	}
	*oh = o[0];
	*ow = o[1];
	return DNNQ_OK;
}

int dnnq_f32_conv_setup(struct dnnq_f32_conv *c, size_t n, size_t h, size_t w,
                        const float *in, float *out, unsigned nthreads)
{
	if (!c || (n && (!in || !out)))
		return DNNQ_E_INVAL;
	size_t oh, ow;
	int rc = dnnq_f32_conv_output_size(c, h, w, &oh, &ow);
	if (rc)
		return rc;
	size_t pixels;
	if (!dnnq_mul_size(n, oh * ow, &pixels) || pixels > ((size_t)1 << 40))
		return DNNQ_E_RANGE;
	c->n = n;
	c->h = h;
	c->wd = w;
	c->oh = oh;
	c->ow = ow;
	c->in = in;
	c->out = out;
	nthreads = nthreads ? nthreads : 1;
	size_t floats = c->path == PATH_IM2COL ? MC * c->groups * c->k : 0;
	if (nthreads <= c->nscratch && floats <= c->scratch_floats)
		return DNNQ_OK;
	for (unsigned t = 0; t < c->nscratch; t++)
		free(c->scratch[t]);
	free(c->scratch);
	c->nscratch = 0;
	c->scratch_floats = 0;
	if (!(c->scratch = calloc(nthreads, sizeof *c->scratch)))
		return DNNQ_E_NOMEM;
	c->nscratch = nthreads;
	for (unsigned t = 0; t < nthreads && floats; t++)
		if (!(c->scratch[t] = dnnq_aligned_alloc(floats * sizeof(float))))
			return DNNQ_E_NOMEM;
	c->scratch_floats = floats;
	return DNNQ_OK;
}

/* The first tap of pixel o's window along axis a that lands inside the
 * image (span: dnnq_pooling_window's). */
static size_t first_tap(const struct dnnq_pooling_axis *a, size_t o,
                        const struct dnnq_pooling_span *span)
{
	return (size_t)((span->first - ((int64_t)o * a->s - a->p0)) / a->d);
}

/* n floats of 0 (most windows lie inside the image: no call for none). */
static void zero(float *p, size_t n)
{
	if (n)
		memset(p, 0, n * sizeof *p);
}

/* Rows [p0, p1) of the im2col matrix: each output pixel's receptive field,
 * group-major then (ky, kx, channel) like the weights, 0 outside the image.
 * The taps of one kernel row inside the image are copied as one run of the
 * input when they are contiguous there (one group, no dilation across). */
static void im2col(const struct dnnq_f32_conv *c, size_t p0, size_t p1, float *a)
{
	size_t ld = c->groups * c->k, tap = c->cing, krow = c->kw * tap;
	bool runs = c->groups == 1 && c->ax[1].d == 1;
	for (size_t p = p0; p < p1; p++) {
		size_t img = p / (c->oh * c->ow), oy = p / c->ow % c->oh, ox = p % c->ow;
		struct dnnq_pooling_span hs = dnnq_pooling_window(&c->ax[0], (int64_t)oy,
		                                                  (int64_t)c->h);
		struct dnnq_pooling_span ws = dnnq_pooling_window(&c->ax[1], (int64_t)ox,
		                                                  (int64_t)c->wd);
		float *row = a + (p - p0) * ld;
		if (!hs.n || !ws.n) {
			memset(row, 0, ld * sizeof *row);
			continue;
		}
		size_t ky0 = first_tap(&c->ax[0], oy, &hs), kx0 = first_tap(&c->ax[1], ox, &ws);
		size_t nky = (size_t)hs.n, nkx = (size_t)ws.n;
		const float *x = c->in + ((img * c->h + (size_t)hs.first) * c->wd +
		                          (size_t)ws.first) * c->cin;
		size_t xsh = (size_t)c->ax[0].d * c->wd * c->cin, xsw = (size_t)c->ax[1].d * c->cin;
		for (size_t g = 0; g < c->groups; g++) {
			float *dst = row + g * c->k;
			zero(dst, ky0 * krow);
			zero(dst + (ky0 + nky) * krow, (c->kh - ky0 - nky) * krow);
			for (size_t i = 0; i < nky; i++) {
				float *d = dst + (ky0 + i) * krow;
				const float *src = x + i * xsh + g * tap;
				zero(d, kx0 * tap);
				zero(d + (kx0 + nkx) * tap, (c->kw - kx0 - nkx) * tap);
				if (runs)
					memcpy(d + kx0 * tap, src, nkx * tap * sizeof *d);
				else
					for (size_t j = 0; j < nkx; j++)
						memcpy(d + (kx0 + j) * tap, src + j * xsw, tap * sizeof *d);
			}
		}
	}
}

/* y (m x n, the output's row stride) = a (m x k, lda) times group g's
 * weights, its output columns [j0, j0 + n). */
static void conv_product(const struct dnnq_f32_conv *c, size_t m, const float *a, size_t lda,
                         size_t g, size_t j0, size_t n, float *y)
{
	const struct dnnq_f32_kernels *kn = c->epi.kn;
	size_t col0 = g * c->coutg + j0;
	if (c->pk) {
		struct dnnq_f32_epi e = epi_at(&c->epi, col0);
		kn->gemm_pk(m, n, c->k, a, lda, c->w + g * c->gstride + j0 * c->k, y, c->cout, &e);
	} else {
		kn->gemm_nn(m, n, c->k, a, lda, c->w + g * c->gstride + j0, c->cout, y, c->cout);
		epilogue_run(&c->epi, y, m, n, c->cout, col0);
	}
}

/* Task t: MC output pixels by one column block (every group's columns when
 * groups > 1). */
static void conv_gemm_task(void *arg, size_t t, unsigned tid)
{
	const struct dnnq_f32_conv *c = arg;
	size_t p0 = t / c->ncb * MC, p1 = min_size(p0 + MC, c->n * c->oh * c->ow);
	size_t j0 = t % c->ncb * NC, nc = min_size(c->cout - j0, c->ncb > 1 ? NC : c->cout);
	float *y = c->out + p0 * c->cout + j0;
	if (c->path == PATH_1X1) {
		conv_product(c, p1 - p0, c->in + p0 * c->cin, c->cin, 0, j0, nc, y);
	} else {
		float *a = c->scratch[tid];
		im2col(c, p0, p1, a);
		for (size_t g = 0; g < c->groups; g++)
			conv_product(c, p1 - p0, a + g * c->k, c->groups * c->k, g, j0,
			             c->groups > 1 ? c->coutg : nc, y + g * c->coutg);
	}
}

/* One output row of the depthwise path: each pixel's window of taps inside
 * the image with the weights of those taps. */
static void conv_dw_task(void *arg, size_t r, unsigned tid)
{
	(void)tid;
	const struct dnnq_f32_conv *c = arg;
	size_t img = r / c->oh, ch = c->cout;
	struct dnnq_pooling_span hs = dnnq_pooling_window(&c->ax[0], (int64_t)(r % c->oh),
	                                                  (int64_t)c->h);
	size_t ky = hs.n ? first_tap(&c->ax[0], r % c->oh, &hs) : 0;
	float *y = c->out + r * c->ow * ch;
	for (size_t ox = 0; ox < c->ow; ox++) {
		struct dnnq_pooling_span ws = dnnq_pooling_window(&c->ax[1], (int64_t)ox,
		                                                  (int64_t)c->wd);
		if (!hs.n || !ws.n) {
			memset(y + ox * ch, 0, ch * sizeof *y);
			continue;
		}
		size_t kx = first_tap(&c->ax[1], ox, &ws);
		struct dnnq_f32_win win = {
			c->in + ((img * c->h + (size_t)hs.first) * c->wd + (size_t)ws.first) * ch,
			(size_t)hs.n, (size_t)ws.n, (size_t)c->ax[0].d * c->wd * ch,
			(size_t)c->ax[1].d * ch,
		};
		c->epi.kn->dw(&win, c->w + (ky * c->kw + kx) * ch, c->kw * ch, ch, ch,
		              y + ox * ch);
	}
	epilogue_run(&c->epi, y, c->ow, ch, ch, 0);
}

int dnnq_f32_conv_run(struct dnnq_f32_conv *c, const struct dnnq_executor *ex)
{
	if (!c)
		return DNNQ_E_INVAL;
	if (c->path == PATH_DEPTHWISE)
		dnnq_parallel_for(ex, c->n * c->oh, conv_dw_task, c);
	else if (c->path == PATH_IM2COL && c->nscratch < dnnq_executor_threads(ex))
		return DNNQ_E_INVAL;
	else
		dnnq_parallel_for(ex, (c->n * c->oh * c->ow + MC - 1) / MC * c->ncb, conv_gemm_task,
		                  c);
	return DNNQ_OK;
}

void dnnq_f32_conv_destroy(struct dnnq_f32_conv *c)
{
	if (!c)
		return;
	for (unsigned t = 0; t < c->nscratch; t++)
		free(c->scratch[t]);
	free(c->scratch);
	if (!c->borrowed)
		free(c->w);
	free(c->epi.bias);
	free(c);
}

/* ---- fully connected ----------------------------------------------------- */

struct dnnq_f32_fc {
	size_t n, k, m;
	struct epilogue epi;
	float *w;                         /* n x k rows, or epi.kn->gemm_pk's panels when pk */
	bool pk;
	bool borrowed;
	const float *in;
	float *out;
};

int dnnq_f32_fc_create(const struct dnnq_f32_fc_desc *d, struct dnnq_f32_fc **out,
                       struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "f32 fc: NULL argument");
	*out = NULL;
	if (!d->w)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "f32 fc: weights missing");
	if (!dnnq_isa_supported(d->isa))
		return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "f32 fc: %s not supported here",
		                     dnnq_isa_name(d->isa));
	if (d->n == 0 || d->k == 0 || d->n > INT_MAX || d->k > INT_MAX)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "f32 fc: n = %zu, k = %zu: must be 1..%d",
		                     d->n, d->k, INT_MAX);
	struct dnnq_f32_fc *fc = calloc(1, sizeof *fc);
	if (!fc)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "f32 fc: out of memory");
	fc->n = d->n;
	fc->k = d->k;
	int rc = epilogue_init(&fc->epi, d->isa, d->bias, d->n, d->relu, d->clip, d->clip_min,
	                       d->clip_max);
	fc->pk = fc->epi.kn->gemm_pk && d->n >= DNNQ_F32_PK_MIN_N;
	if (!rc)
		rc = weights_get(d->cache, d->cache_key, WCACHE_F32_FC, fc->pk ? W_PANELS : W_ROWS,
		                 d->n, d->k, 1, d->w, &fc->w, &fc->borrowed);
	if (rc) {
		dnnq_f32_fc_destroy(fc);
		return dnnq_diag_set(diag, rc, "f32 fc: out of memory");
	}
	*out = fc;
	return DNNQ_OK;
}

int dnnq_f32_fc_setup(struct dnnq_f32_fc *op, size_t m, const float *in, float *out,
                      unsigned nthreads)
{
	(void)nthreads;   /* no scratch */
	if (!op || (m && (!in || !out)))
		return DNNQ_E_INVAL;
	if (m > INT_MAX)
		return DNNQ_E_RANGE;
	op->m = m;
	op->in = in;
	op->out = out;
	return DNNQ_OK;
}

static void fc_task(void *arg, size_t t, unsigned tid)
{
	(void)tid;
	const struct dnnq_f32_fc *fc = arg;
	size_t nblocks = (fc->n + NC - 1) / NC;
	size_t i0 = t / nblocks * MC, i1 = min_size(i0 + MC, fc->m);
	size_t j0 = t % nblocks * NC, j1 = min_size(j0 + NC, fc->n);
	float *y = fc->out + i0 * fc->n + j0;
	const struct dnnq_f32_kernels *kn = fc->epi.kn;
	if (fc->pk) {   /* j0 starts a panel: NC is a multiple of DNNQ_F32_NR */
		struct dnnq_f32_epi e = epi_at(&fc->epi, j0);
		kn->gemm_pk(i1 - i0, j1 - j0, fc->k, fc->in + i0 * fc->k, fc->k, fc->w + j0 * fc->k,
		            y, fc->n, &e);
	} else {
		kn->gemm(i1 - i0, j1 - j0, fc->k, fc->in + i0 * fc->k, fc->k, fc->w + j0 * fc->k,
		         fc->k, y, fc->n);
		epilogue_run(&fc->epi, y, i1 - i0, j1 - j0, fc->n, j0);
	}
}

int dnnq_f32_fc_run(struct dnnq_f32_fc *op, const struct dnnq_executor *ex)
{
	if (!op)
		return DNNQ_E_INVAL;
	size_t tasks = (op->m + MC - 1) / MC * ((op->n + NC - 1) / NC);
	dnnq_parallel_for(ex, tasks, fc_task, op);
	return DNNQ_OK;
}

void dnnq_f32_fc_destroy(struct dnnq_f32_fc *op)
{
	if (!op)
		return;
	if (!op->borrowed)
		free(op->w);
	free(op->epi.bias);
	free(op);
}
