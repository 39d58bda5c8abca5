/*
 * Elementwise, activation and data-movement operators (eltwise.h): argument
 * checks, the constants each operator precomputes, the fp32 references and
 * the scalar kernels, which are the reference the AVX2 kernels in
 * eltwise-avx2.c reproduce bit for bit (their tails call these very
 * functions). One file because the operators share the checks, the chunked
 * runner and the per-channel "period" trick described at period_of().
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eltwise.h"
#include "engine/kernels.h"
#include "engine/quant-scalar.h"

/* ---- shared helpers ----------------------------------------------------- */

/* Elements (or bytes) per parallel task: fixed, never derived from the
 * thread count, so the split cannot change a result. */
#define CHUNK 65536u

static int check_isa(const char *op, enum dnnq_isa isa, struct dnnq_diag *diag)
{
	if ((unsigned)isa >= DNNQ_ISA_COUNT)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: isa %d: unknown", op, (int)isa);
	if (!dnnq_kernels(isa))
		return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "%s: isa %s: not supported by this CPU",
		                     op, dnnq_isa_name(isa));
	return DNNQ_OK;
}

/* u8 qparams of `what` ("output", "input 2") of operator `op`. */
static int check_qp(const char *op, const char *what, const struct dnnq_qparams *qp,
                    struct dnnq_diag *diag)
{
	struct dnnq_diag qd;
	int rc = dnnq_qparams_check(qp, DNNQ_DTYPE_U8, &qd);
	return rc ? dnnq_diag_set(diag, rc, "%s: %s qparams: %s", op, what, qd.msg) : DNNQ_OK;
}

static int check_input_qp(const char *op, size_t k, const struct dnnq_qparams *qp,
                          struct dnnq_diag *diag)
{
	char what[32];
	snprintf(what, sizeof what, "input %zu", k);
	return check_qp(op, what, qp, diag);
}

/* A multiplier worked out in double, stored as the float the kernels use;
 * one beyond float range is refused (inf * 0 would turn zeros into NaN). */
static int float_mult(const char *op, const char *what, double m, float *out,
                      struct dnnq_diag *diag)
{
	*out = (float)m;
	if (!isfinite(*out))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: %s multiplier %g: outside float range",
		                     op, what, m);
	return DNNQ_OK;
}

static float out_qmax(const struct dnnq_qparams *qp)
{
	return (float)dnnq_qmax(qp->precision, false);
}

/*
 * Per-channel constants are stored repeated over a period P: a multiple of C
 * (element i uses index i % P) and also of 8 unless that would take more
 * than about 8192 entries (large C), so the SIMD loops over a period have
 * no ragged end even for C = 3 or 17. At least 256, so loops rarely restart.
 */
static size_t period_of(size_t c)
{
	size_t p = c;
	while (p % 8 && p <= 8192)
		p += c;
	if (p % 8)
		p = c;
	while (p < 256)
		p *= 2;
	return p;
}

struct chunked {
	struct dnnq_pieces pieces;
	void (*fn)(void *op, size_t i0, size_t i1);
	void *op;
};

static void chunk_task(void *arg, size_t t, unsigned tid)
{
	const struct chunked *c = arg;
	(void)tid;
	c->fn(c->op, dnnq_piece_start(&c->pieces, t), dnnq_piece_start(&c->pieces, t + 1));
}

/* fn(op, i0, i1) over [0, n) in pieces of at most `chunk` (a multiple of
 * `align`), each starting at a multiple of align, as many as a multiple of
 * the threads and of sizes at most align apart (dnnq_split_even: a
 * 28x28x24 Add was one piece); each element's result does not depend on
 * where a piece starts. */
static void run_chunked(const struct dnnq_executor *ex, size_t n, size_t chunk, size_t align,
                        void (*fn)(void *, size_t, size_t), void *op)
{
	struct chunked c = { dnnq_split_even(ex, n, chunk, align), fn, op };
	dnnq_parallel_for(ex, c.pieces.count, chunk_task, &c);
}

/* ---- scalar kernels ----------------------------------------------------- */

static inline float ew_term(const struct dnnq_ew_kernel *k, size_t in, size_t i, size_t j)
{
	if (!k->x[in])
		return k->pre[in][j];
	float v = (float)((int32_t)k->x[in][i] - k->z[in]);
	return k->mul ? v : k->m[in] * v;
}

void dnnq_ew_scalar(const struct dnnq_ew_kernel *k, size_t i0, size_t i1)
{
	size_t j = i0 % k->period;
	for (size_t i = i0; i < i1; i++) {
		float t = ew_term(k, 0, i, j);
		for (size_t in = 1; in < k->ninputs; in++) {
			float u = ew_term(k, in, i, j);
			t = k->mul ? t * u : t + u;
		}
		if (k->mul)
			t = k->mout * t;
		k->y[i] = (uint8_t)dnnq_saturate_rne(t, k->zy, k->qmin, k->qmax);
		if (++j == k->period)
			j = 0;
	}
}

void dnnq_ewlin_scalar(const struct dnnq_ewlin_kernel *k, size_t i0, size_t i1)
{
	size_t j = i0 % k->period;
	for (size_t i = i0; i < i1; i++) {
		float t = k->mult[j] * (float)((int32_t)k->x[i] - k->zx) + k->add[j];
		k->y[i] = (uint8_t)dnnq_saturate_rne(t, k->zy, k->qmin, k->qmax);
		if (++j == k->period)
			j = 0;
	}
}

void dnnq_lut_scalar(const uint8_t table[256], const uint8_t *x, uint8_t *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = table[x[i]];
}

/* The table index is taken mod 256: the graph gives this kernel a stable
 * row (node_ops.stable_inputs), and should a caller not, a value raised
 * between the two reads still indexes the table, never memory before it. */
void dnnq_softmax_row_scalar(const float texp[256], const uint8_t *x, float *y, size_t n)
{
	uint8_t m = 0;
	for (size_t i = 0; i < n; i++)
		m = x[i] > m ? x[i] : m;
	double s[8] = { 0 };
	for (size_t i = 0; i < n; i++) {
		y[i] = texp[(uint8_t)(m - x[i])];
		s[i % 8] += y[i];
	}
	float inv = (float)(1.0 / dnnq_softmax_sum8(s));
	for (size_t i = 0; i < n; i++)
		y[i] = y[i] * inv;
}

/* ---- Add, Mul, Sum, SumRelu --------------------------------------------- */

struct dnnq_eltwise {
	struct dnnq_eltwise_desc d;
	const char *name;
	struct dnnq_ew_kernel k;      /* x[] and y bound at setup */
	const uint8_t *in[DNNQ_ELTWISE_MAX_INPUTS];
	float *pre;                   /* ninputs x period: broadcast terms */
	size_t n, chunk;
	bool per_channel;
};

static const char *eltwise_name(enum dnnq_eltwise_op op)
{
	static const char *const names[] = { "add", "mul", "sum", "sum_relu" };
	return (unsigned)op < 4 ? names[op] : "eltwise";
}

static int eltwise_check(const struct dnnq_eltwise_desc *d, const char *op,
                         struct dnnq_diag *diag)
{
	if ((unsigned)d->op > DNNQ_ELTWISE_SUM_RELU)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "eltwise: op %d: unknown", (int)d->op);
	bool two = d->op == DNNQ_ELTWISE_ADD || d->op == DNNQ_ELTWISE_MUL;
	if (two ? d->ninputs != 2 : d->ninputs < 2 || d->ninputs > DNNQ_ELTWISE_MAX_INPUTS)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: ninputs = %zu: need %s", op, d->ninputs,
		                     two ? "2" : "2..16");
	int rc = check_isa(op, d->isa, diag);
	for (size_t k = 0; !rc && k < d->ninputs; k++) {
		if ((unsigned)d->bcast[k] > DNNQ_BCAST_CHANNEL)
			return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: bcast[%zu] = %d: unknown", op, k,
			                     (int)d->bcast[k]);
		if (k == 0 && d->bcast[0] != DNNQ_BCAST_NONE)
			return dnnq_diag_set(diag, DNNQ_E_SHAPE, "%s: bcast[0]: input 0 must be "
			                     "full-size", op);
		if (d->bcast[k] == DNNQ_BCAST_CHANNEL && d->channels == 0)
			return dnnq_diag_set(diag, DNNQ_E_SHAPE, "%s: channels = 0: input %zu is "
			                     "per-channel", op, k);
		rc = check_input_qp(op, k, &d->in_qp[k], diag);
	}
	return rc ? rc : check_qp(op, "output", &d->out_qp, diag);
}

/* The multipliers: Add/Sum s_k / s_y per input, Mul sa * sb / sy. */
static int eltwise_mults(struct dnnq_eltwise *e, struct dnnq_diag *diag)
{
	const struct dnnq_eltwise_desc *d = &e->d;
	double sy = d->out_qp.scale;
	if (e->k.mul)
		return float_mult(e->name, "output", (double)d->in_qp[0].scale * d->in_qp[1].scale / sy,
		                  &e->k.mout, diag);
	for (size_t k = 0; k < d->ninputs; k++) {
		char what[32];
		snprintf(what, sizeof what, "input %zu", k);
		int rc = float_mult(e->name, what, d->in_qp[k].scale / sy, &e->k.m[k], diag);
		if (rc)
			return rc;
	}
	return DNNQ_OK;
}

int dnnq_eltwise_create(const struct dnnq_eltwise_desc *d, struct dnnq_eltwise **out,
                        struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "eltwise: NULL argument");
	*out = NULL;
	const char *name = eltwise_name(d->op);
	int rc = eltwise_check(d, name, diag);
	if (rc)
		return rc;
	struct dnnq_eltwise *e = calloc(1, sizeof *e);
	if (!e)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", name);
	e->d = *d;
	e->name = name;
	for (size_t k = 0; k < d->ninputs; k++)
		e->per_channel |= d->bcast[k] == DNNQ_BCAST_CHANNEL;
	struct dnnq_ew_kernel *k = &e->k;
	k->ninputs = d->ninputs;
	k->mul = d->op == DNNQ_ELTWISE_MUL;
	k->period = period_of(e->per_channel ? d->channels : 1);
	for (size_t i = 0; i < d->ninputs; i++)
		k->z[i] = d->in_qp[i].zero_point;
	k->zy = (float)d->out_qp.zero_point;
	k->qmin = d->op == DNNQ_ELTWISE_SUM_RELU ? k->zy : 0;
	k->qmax = out_qmax(&d->out_qp);
	e->chunk = k->period * (CHUNK / k->period > 1 ? CHUNK / k->period : 1);
	size_t bytes;
	if (!dnnq_mul_size(d->ninputs * k->period, sizeof(float), &bytes) ||
	    !(e->pre = malloc(bytes))) {
		dnnq_eltwise_destroy(e);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", name);
	}
	if ((rc = eltwise_mults(e, diag))) {
		dnnq_eltwise_destroy(e);
		return rc;
	}
	*out = e;
	return DNNQ_OK;
}

int dnnq_eltwise_setup(struct dnnq_eltwise *e, size_t n, const uint8_t *const in[],
                       uint8_t *out, struct dnnq_diag *diag)
{
	if (!e || !in)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "eltwise setup: NULL argument");
	size_t c = e->d.channels;
	int rc = e->per_channel && n % c
	         ? dnnq_diag_set(diag, DNNQ_E_SHAPE, "%s: n = %zu: not a multiple of channels = %zu",
	                         e->name, n, c)
	         : DNNQ_OK;
	for (size_t k = 0; !rc && k < e->d.ninputs; k++)
		if (n && !in[k])
			rc = dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: input %zu: NULL", e->name, k);
	if (!rc && n && !out)
		rc = dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: output: NULL", e->name);
	if (rc) {
		e->n = 0;
		return rc;
	}
	/* kept: a fused Add's tasks read them on every thread (DNNQ_KEEP) */
	for (size_t k = 0; k < e->d.ninputs; k++) {
		DNNQ_KEEP(e->in[k], in[k]);
		DNNQ_KEEP(e->k.x[k], e->d.bcast[k] == DNNQ_BCAST_NONE ? in[k] : NULL);
		DNNQ_KEEP(e->k.pre[k], e->pre + k * e->k.period);
	}
	DNNQ_KEEP(e->k.y, out);
	DNNQ_KEEP(e->n, n);
	return DNNQ_OK;
}

static void eltwise_chunk(void *op, size_t i0, size_t i1)
{
	const struct dnnq_eltwise *e = op;
	dnnq_kernels_of(e->d.isa)->ew(&e->k, i0, i1);
}

int dnnq_eltwise_run(struct dnnq_eltwise *e, const struct dnnq_executor *ex)
{
	if (!e)
		return DNNQ_E_INVAL;
	if (e->n == 0)
		return DNNQ_OK;
	/* broadcast inputs: their terms, repeated over the period, with the very
	 * expressions ew_term() uses for full-size inputs */
	struct dnnq_ew_kernel *k = &e->k;
	for (size_t in = 1; in < k->ninputs; in++) {
		if (k->x[in])
			continue;
		size_t cnt = e->d.bcast[in] == DNNQ_BCAST_SCALAR ? 1 : e->d.channels;
		float *pre = e->pre + in * k->period;
		for (size_t j = 0; j < k->period; j++) {
			float v = (float)((int32_t)e->in[in][j % cnt] - k->z[in]);
			pre[j] = k->mul ? v : k->m[in] * v;
		}
	}
	run_chunked(ex, e->n, e->chunk, e->k.period, eltwise_chunk, e);
	return DNNQ_OK;
}

bool dnnq_eltwise_full_size(const struct dnnq_eltwise *e)
{
	for (size_t k = 0; k < e->d.ninputs; k++)
		if (e->d.bcast[k] != DNNQ_BCAST_NONE)
			return false;
	return true;
}

void dnnq_eltwise_run_at(const void *op, uint8_t *y, size_t n)
{
	const struct dnnq_eltwise *e = op;
	size_t i0 = (size_t)(y - e->k.y);
	dnnq_kernels_of(e->d.isa)->ew(&e->k, i0, i0 + n);
}

void dnnq_eltwise_destroy(struct dnnq_eltwise *e)
{
	if (!e)
		return;
	free(e->pre);
	free(e);
}

void dnnq_eltwise_ref(enum dnnq_eltwise_op op, size_t ninputs, const float *const in[],
                      const enum dnnq_broadcast bcast[], size_t channels, size_t n, float *y)
{
	for (size_t i = 0; i < n; i++) {
		float t = in[0][i];
		for (size_t k = 1; k < ninputs; k++) {
			size_t j = bcast[k] == DNNQ_BCAST_SCALAR ? 0
			           : bcast[k] == DNNQ_BCAST_CHANNEL ? i % channels : i;
			t = op == DNNQ_ELTWISE_MUL ? t * in[k][j] : t + in[k][j];
		}
		y[i] = op == DNNQ_ELTWISE_SUM_RELU && !(t > 0) ? 0 : t;
	}
}

/* ---- table activations -------------------------------------------------- */

struct dnnq_activation {
	struct dnnq_activation_desc d;
	uint8_t table[256];
	const uint8_t *x;
	uint8_t *y;
	size_t n;
};

static const char *activation_name(enum dnnq_activation_kind kind)
{
	static const char *const names[] = { "relu", "clip", "leaky_relu", "sigmoid", "tanh",
	                                     "hard_sigmoid", "hard_swish", "elu", "selu", "celu",
	                                     "shrink", "thresholded_relu" };
	return (unsigned)kind <= DNNQ_ACT_LAST ? names[kind] : "activation";
}

/* clamp to [0, 1]; NaN -> 0 */
static float unit_clamp(float v)
{
	return v > 0 ? (v < 1 ? v : 1) : 0;
}

float dnnq_activation_fn(enum dnnq_activation_kind kind, const struct dnnq_act_params *p,
                         float x)
{
	switch (kind) {
	case DNNQ_ACT_RELU:
		return x > 0 ? x : 0;
	case DNNQ_ACT_CLIP:
		return x < p->min ? p->min : x > p->max ? p->max : x;
	case DNNQ_ACT_LEAKY_RELU:   /* alpha 0 is ReLU, even at -inf */
		return x >= 0 ? x : p->alpha == 0 ? 0 : p->alpha * x;
	case DNNQ_ACT_SIGMOID:
		return 1.0f / (1.0f + expf(-x));
	case DNNQ_ACT_TANH:
		return tanhf(x);
	case DNNQ_ACT_HARD_SIGMOID:
		return unit_clamp(p->alpha * x + p->beta);
	case DNNQ_ACT_HARD_SWISH: { /* a closed gate is 0, even at -inf */
		float g = unit_clamp(x / 6.0f + 0.5f);
		return g == 0 ? 0 : x * g;
	}
	case DNNQ_ACT_ELU:
		return x > 0 ? x : p->alpha * expm1f(x);
	case DNNQ_ACT_SELU:
		return p->beta * (x > 0 ? x : p->alpha * expm1f(x));
	case DNNQ_ACT_CELU:
		return x > 0 ? x : p->alpha * expm1f(x / p->alpha);
	case DNNQ_ACT_SHRINK:       /* NaN: 0, as ONNX's reference */
		return x < -p->alpha ? x + p->beta : x > p->alpha ? x - p->beta : 0;
	case DNNQ_ACT_THRESHOLDED_RELU:
		return x > p->alpha ? x : 0;
	}
	return NAN;
}

void dnnq_activation_ref(enum dnnq_activation_kind kind, const struct dnnq_act_params *p,
                         const float *x, float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = dnnq_activation_fn(kind, p, x[i]);
}

int dnnq_activation_check_params(enum dnnq_activation_kind kind,
                                 const struct dnnq_act_params *p, char *why, size_t cap)
{
	const char *op = activation_name(kind);
	bool alpha = false, beta = false;
	switch (kind) {
	case DNNQ_ACT_CLIP:
		if (isnan(p->min) || isnan(p->max) || p->min > p->max) {
			snprintf(why, cap, "clip: min = %g, max = %g: need min <= max", p->min, p->max);
			return DNNQ_E_RANGE;
		}
		return DNNQ_OK;
	case DNNQ_ACT_HARD_SIGMOID: case DNNQ_ACT_SELU: case DNNQ_ACT_SHRINK:
		beta = true;
		/* fall through */
	case DNNQ_ACT_LEAKY_RELU: case DNNQ_ACT_ELU: case DNNQ_ACT_CELU:
	case DNNQ_ACT_THRESHOLDED_RELU:
		alpha = true;
		break;
	case DNNQ_ACT_RELU: case DNNQ_ACT_SIGMOID: case DNNQ_ACT_TANH: case DNNQ_ACT_HARD_SWISH:
		return DNNQ_OK;
	default:
		snprintf(why, cap, "activation: kind %d: unknown", (int)kind);
		return DNNQ_E_INVAL;
	}
	if ((alpha && !isfinite(p->alpha)) || (beta && !isfinite(p->beta))) {
		snprintf(why, cap, "%s: params[%d] (%s) = %g: must be finite", op,
		         alpha && !isfinite(p->alpha) ? 0 : 1,
		         alpha && !isfinite(p->alpha) ? "alpha" : kind == DNNQ_ACT_SELU ? "gamma" : "beta",
		         alpha && !isfinite(p->alpha) ? p->alpha : p->beta);
		return DNNQ_E_RANGE;
	}
	if (kind == DNNQ_ACT_CELU && p->alpha == 0) {
		snprintf(why, cap, "celu: params[0] (alpha) = 0: divides x");
		return DNNQ_E_RANGE;
	}
	return DNNQ_OK;
}

static int activation_check(const struct dnnq_activation_desc *d, struct dnnq_diag *diag)
{
	const char *op = activation_name(d->kind);
	char why[160];
	int rc = dnnq_activation_check_params(d->kind, &d->p, why, sizeof why);
	if (rc)
		return dnnq_diag_set(diag, rc, "%s", why);
	rc = check_isa(op, d->isa, diag);
	if (!rc)
		rc = check_qp(op, "input", &d->in_qp, diag);
	return rc ? rc : check_qp(op, "output", &d->out_qp, diag);
}

int dnnq_activation_create(const struct dnnq_activation_desc *d, struct dnnq_activation **out,
                           struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "activation: NULL argument");
	*out = NULL;
	int rc = activation_check(d, diag);
	if (rc)
		return rc;
	struct dnnq_activation *a = calloc(1, sizeof *a);
	if (!a)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", activation_name(d->kind));
	a->d = *d;
	const struct dnnq_qparams *iq = &d->in_qp, *oq = &d->out_qp;
	for (int q = 0; q < 256; q++) {
		float f = dnnq_activation_fn(d->kind, &d->p, dnnq_dequantize_1(q, iq->zero_point,
		                                                               iq->scale));
		a->table[q] = (uint8_t)dnnq_quantize_1(f, oq->scale, (float)oq->zero_point, 0,
		                                       out_qmax(oq));
	}
	*out = a;
	return DNNQ_OK;
}

int dnnq_activation_setup(struct dnnq_activation *a, size_t n, const uint8_t *in, uint8_t *out,
                          struct dnnq_diag *diag)
{
	if (!a)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "activation setup: NULL argument");
	a->n = 0;   /* a failed setup leaves nothing to run */
	if (n && (!in || !out))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: %s: NULL", activation_name(a->d.kind),
		                     in ? "output" : "input");
	a->n = n;
	a->x = in;
	a->y = out;
	return DNNQ_OK;
}

static void activation_chunk(void *op, size_t i0, size_t i1)
{
	const struct dnnq_activation *a = op;
	dnnq_kernels_of(a->d.isa)->lut(a->table, a->x + i0, a->y + i0, i1 - i0);
}

int dnnq_activation_run(struct dnnq_activation *a, const struct dnnq_executor *ex)
{
	if (!a)
		return DNNQ_E_INVAL;
	run_chunked(ex, a->n, CHUNK, 64, activation_chunk, a);
	return DNNQ_OK;
}

const uint8_t *dnnq_activation_table(const struct dnnq_activation *a)
{
	return a->table;
}

void dnnq_activation_destroy(struct dnnq_activation *a)
{
	free(a);
}

/* ---- Quantize, Dequantize ----------------------------------------------- */

/*
 * The NCHW kinds transpose while they convert. Their work is split over the
 * flattened positions i = img * spatial + p, every channel of a position in
 * the same task, about CHUNK / 4 elements a task and a multiple of 8
 * positions, so the AVX2 kernels' 8 x 8 blocks are seldom cut. With one
 * channel or one position the two layouts coincide: the plain path runs.
 */
struct dnnq_convert {
	struct dnnq_convert_desc d;
	struct dnnq_nchw_kernel k;    /* x, y, channels, spatial bound at setup */
	size_t n, chunk;              /* elements, or positions when transposing */
	bool transpose;
};

static bool convert_nchw(enum dnnq_convert_kind kind)
{
	return kind == DNNQ_CONVERT_QUANTIZE_NCHW || kind == DNNQ_CONVERT_DEQUANTIZE_NCHW ||
	       kind == DNNQ_CONVERT_TO_NHWC || kind == DNNQ_CONVERT_TO_NCHW;
}

/* The f32-to-f32 kinds: a layout change only. */
static bool convert_moves(enum dnnq_convert_kind kind)
{
	return kind == DNNQ_CONVERT_TO_NHWC || kind == DNNQ_CONVERT_TO_NCHW;
}

/* The int8 <-> uint8 kinds: q + 128 either way, the top bit flipped. */
static bool convert_flips(enum dnnq_convert_kind kind)
{
	return kind == DNNQ_CONVERT_S8_TO_U8 || kind == DNNQ_CONVERT_U8_TO_S8;
}

static bool convert_quantizes(enum dnnq_convert_kind kind)
{
	return kind == DNNQ_CONVERT_QUANTIZE || kind == DNNQ_CONVERT_QUANTIZE_NCHW;
}

const char *dnnq_convert_kind_name(enum dnnq_convert_kind kind)
{
	static const char *const names[] = { "quantize", "dequantize", "quantize_nchw",
	                                     "dequantize_nchw", "to_nhwc", "to_nchw", "s8_to_u8",
	                                     "u8_to_s8", "cast" };
	return (unsigned)kind <= DNNQ_CONVERT_CAST ? names[kind] : NULL;
}

int dnnq_convert_create(const struct dnnq_convert_desc *d, struct dnnq_convert **out,
                        struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "convert: NULL argument");
	*out = NULL;
	const char *op = dnnq_convert_kind_name(d->kind);
	if (!op)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "convert: kind %d: unknown", (int)d->kind);
	int rc = check_isa(op, d->isa, diag);
	if (rc || (!convert_moves(d->kind) && (rc = check_qp(op, "u8", &d->qp, diag))))
		return rc;
	struct dnnq_convert *c = calloc(1, sizeof *c);
	if (!c)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", op);
	c->d = *d;
	c->k = (struct dnnq_nchw_kernel){ .scale = d->qp.scale, .zp = (float)d->qp.zero_point,
	                                  .qmax = out_qmax(&d->qp), .izp = d->qp.zero_point };
	c->chunk = CHUNK / 4;
	*out = c;
	return DNNQ_OK;
}

int dnnq_convert_setup(struct dnnq_convert *c, size_t n, const void *in, void *out,
                       struct dnnq_diag *diag)
{
	return dnnq_convert_setup_nchw(c, n, 1, 1, in, out, diag);
}

int dnnq_convert_setup_nchw(struct dnnq_convert *c, size_t batch, size_t channels,
                            size_t spatial, const void *in, void *out, struct dnnq_diag *diag)
{
	if (!c)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "convert setup: NULL argument");
	c->n = 0;
	const char *op = dnnq_convert_kind_name(c->d.kind);
	size_t pos, n, bytes;
	if (!dnnq_mul_size(batch, spatial, &pos) || !dnnq_mul_size(pos, channels, &n) ||
	    !dnnq_mul_size(n, sizeof(float), &bytes))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: batch = %zu x channels = %zu x "
		                     "spatial = %zu: too many elements", op, batch, channels, spatial);
	if (n && (!in || !out))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: %s: NULL", op, in ? "output" : "input");
	c->k.x = in;
	c->k.y = out;
	c->k.channels = channels;
	c->k.spatial = spatial;
	c->transpose = convert_nchw(c->d.kind) && channels > 1 && spatial > 1;
	if (c->transpose) {
		size_t per = (CHUNK / 4 / channels) & ~(size_t)7;
		c->chunk = per ? per : 8;
		c->n = pos;
	} else {
		c->chunk = CHUNK / 4;
		c->n = n;
	}
	return DNNQ_OK;
}

/* The f32-to-f32 kinds' kernel, as the others': positions [p0, p1) of
 * image img, channels [c0, c1). A copy: the memory is the cost, so the
 * writes go in order: into NCHW one plane's run of the chunk at a time.
 * Pixel by pixel, every store went to another plane: planes a multiple
 * of 4 KiB apart (224 x 224 floats) all fall in one L1 set, and
 * DeepLabV3's [1, 21, 224, 224] output moved at 1.3 GB/s, a third of the
 * model's time (18.6 -> 12.7 ms a run; lraspp 13.6 -> 7.5 ms). */
static void move_nchw(const struct dnnq_nchw_kernel *k, bool to_nhwc, size_t img, size_t p0,
                      size_t p1, size_t c0, size_t c1)
{
	const size_t nc = k->channels, ns = k->spatial;
	const float *x = (const float *)k->x + img * nc * ns;
	float *y = (float *)k->y + img * nc * ns;
	if (to_nhwc) {
		for (size_t p = p0; p < p1; p++)
			for (size_t ch = c0; ch < c1; ch++)
				y[p * nc + ch] = x[ch * ns + p];
		return;
	}
	for (size_t ch = c0; ch < c1; ch++)
		for (size_t p = p0; p < p1; p++)
			y[ch * ns + p] = x[p * nc + ch];
}

/* Positions [i0, i1), image by image. */
static void convert_nchw_chunk(const struct dnnq_convert *c, size_t i0, size_t i1)
{
	const struct dnnq_nchw_kernel *k = &c->k;
	if (convert_moves(c->d.kind)) {
		for (size_t i = i0; i < i1;) {
			size_t img = i / k->spatial, p0 = i % k->spatial;
			size_t p1 = k->spatial - p0 < i1 - i ? k->spatial : p0 + (i1 - i);
			move_nchw(k, c->d.kind == DNNQ_CONVERT_TO_NHWC, img, p0, p1, 0, k->channels);
			i += p1 - p0;
		}
		return;
	}
	const struct dnnq_kernels *kn = dnnq_kernels_of(c->d.isa);
	void (*run)(const struct dnnq_nchw_kernel *, size_t, size_t, size_t, size_t, size_t) =
		c->d.kind == DNNQ_CONVERT_QUANTIZE_NCHW ? kn->quantize_nchw : kn->dequantize_nchw;
	for (size_t i = i0; i < i1;) {
		size_t img = i / k->spatial, p0 = i % k->spatial;
		size_t p1 = k->spatial - p0 < i1 - i ? k->spatial : p0 + (i1 - i);
		run(k, img, p0, p1, 0, k->channels);
		i += p1 - p0;
	}
}

static void convert_chunk(void *op, size_t i0, size_t i1)
{
	const struct dnnq_convert *c = op;
	if (c->transpose)
		convert_nchw_chunk(c, i0, i1);
	else if (convert_moves(c->d.kind))
		memcpy((float *)c->k.y + i0, (const float *)c->k.x + i0, (i1 - i0) * sizeof(float));
	else if (convert_flips(c->d.kind))
		for (size_t i = i0; i < i1; i++)   /* vectorized by the compiler */
			((uint8_t *)c->k.y)[i] = ((const uint8_t *)c->k.x)[i] ^ 0x80u;
	else if (c->d.kind == DNNQ_CONVERT_CAST && c->d.from_s32)
		for (size_t i = i0; i < i1; i++)   /* vectorized by the compiler */
			((float *)c->k.y)[i] = (float)((const int32_t *)c->k.x)[i];
	else if (convert_quantizes(c->d.kind))
		dnnq_quantize(c->d.isa, (const float *)c->k.x + i0, (uint8_t *)c->k.y + i0,
		              DNNQ_DTYPE_U8, i1 - i0, &c->d.qp);
	else
		dnnq_dequantize(c->d.isa, (const uint8_t *)c->k.x + i0, DNNQ_DTYPE_U8,
		                (float *)c->k.y + i0, i1 - i0, &c->d.qp);
}

int dnnq_convert_run(struct dnnq_convert *c, const struct dnnq_executor *ex)
{
	if (!c)
		return DNNQ_E_INVAL;
	run_chunked(ex, c->n, c->chunk, c->transpose ? 8 : 64, convert_chunk, c);
	return DNNQ_OK;
}

void dnnq_convert_destroy(struct dnnq_convert *c)
{
	free(c);
}

void dnnq_quantize_nchw_scalar(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
                               size_t p1, size_t c0, size_t c1)
{
	const size_t nc = k->channels, ns = k->spatial;
	const float *x = (const float *)k->x + img * nc * ns;
	uint8_t *y = (uint8_t *)k->y + img * ns * nc;
	for (size_t p = p0; p < p1; p++)
		for (size_t c = c0; c < c1; c++)
			y[p * nc + c] = (uint8_t)dnnq_quantize_1(x[c * ns + p], k->scale, k->zp, 0,
			                                         k->qmax);
}

void dnnq_dequantize_nchw_scalar(const struct dnnq_nchw_kernel *k, size_t img, size_t p0,
                                 size_t p1, size_t c0, size_t c1)
{
	const size_t nc = k->channels, ns = k->spatial;
	const uint8_t *x = (const uint8_t *)k->x + img * ns * nc;
	float *y = (float *)k->y + img * nc * ns;
	for (size_t c = c0; c < c1; c++)
		for (size_t p = p0; p < p1; p++)
			y[c * ns + p] = dnnq_dequantize_1(x[p * nc + c], k->izp, k->scale);
}

void dnnq_convert_ref(enum dnnq_convert_kind kind, size_t batch, size_t channels,
                      size_t spatial, const float *x, float *y)
{
	size_t per = channels * spatial;
	if (!convert_nchw(kind)) {
		if (batch && per)
			memcpy(y, x, batch * per * sizeof *y);
		return;
	}
	bool to_nhwc = dnnq_convert_to_nhwc(kind);
	for (size_t b = 0; b < batch; b++) {
		for (size_t c = 0; c < channels; c++) {
			for (size_t p = 0; p < spatial; p++) {
				size_t chw = b * per + c * spatial + p, hwc = b * per + p * channels + c;
				if (to_nhwc)
					y[hwc] = x[chw];
				else
					y[chw] = x[hwc];
			}
		}
	}
}

/* ---- Softmax ------------------------------------------------------------ */

/*
 * Softmax is shift-invariant and its input is u8: exp(s * (q - max)) takes
 * only 256 values, exp(-s * d) for d = max - q, tabulated at create in double
 * (the exact dequantized differences, no float rounding of x). Sums run in
 * double in eight lanes, so the AVX2 kernel adds in the same order.
 */
struct dnnq_softmax {
	struct dnnq_softmax_desc d;
	float texp[256];
	const uint8_t *x;
	float *y;
	size_t rows, chunk;
};

int dnnq_softmax_create(const struct dnnq_softmax_desc *d, struct dnnq_softmax **out,
                        struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "softmax: NULL argument");
	*out = NULL;
	if (d->channels == 0)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "softmax: channels = 0: must be >= 1");
	int rc = check_isa("softmax", d->isa, diag);
	if (rc || (rc = check_qp("softmax", "input", &d->in_qp, diag)))
		return rc;
	struct dnnq_softmax *s = calloc(1, sizeof *s);
	if (!s)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "softmax: out of memory");
	s->d = *d;
	for (int q = 0; q < 256; q++)
		s->texp[q] = (float)exp(-(double)d->in_qp.scale * q);
	s->chunk = CHUNK / 4 / d->channels ? CHUNK / 4 / d->channels : 1;
	*out = s;
	return DNNQ_OK;
}

int dnnq_softmax_setup(struct dnnq_softmax *s, size_t rows, const uint8_t *in, float *out,
                       struct dnnq_diag *diag)
{
	if (!s)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "softmax setup: NULL argument");
	s->rows = 0;
	size_t n;
	if (!dnnq_mul_size(rows, s->d.channels, &n) || !dnnq_mul_size(n, sizeof(float), &n))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "softmax: rows = %zu x channels = %zu: "
		                     "too many elements", rows, s->d.channels);
	if (rows && (!in || !out))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "softmax: %s: NULL", in ? "output" : "input");
	s->rows = rows;
	s->x = in;
	s->y = out;
	return DNNQ_OK;
}

static void softmax_chunk(void *op, size_t r0, size_t r1)
{
	const struct dnnq_softmax *s = op;
	size_t c = s->d.channels;
	const struct dnnq_kernels *kn = dnnq_kernels_of(s->d.isa);
	for (size_t r = r0; r < r1; r++)
		kn->softmax_row(s->texp, s->x + r * c, s->y + r * c, c);
}

int dnnq_softmax_run(struct dnnq_softmax *s, const struct dnnq_executor *ex)
{
	if (!s)
		return DNNQ_E_INVAL;
	run_chunked(ex, s->rows, s->chunk, 1, softmax_chunk, s);
	return DNNQ_OK;
}

void dnnq_softmax_destroy(struct dnnq_softmax *s)
{
	free(s);
}

void dnnq_softmax_ref(const float *x, float *y, size_t rows, size_t channels)
{
	for (size_t r = 0; r < rows; r++) {
		const float *xr = x + r * channels;
		float *yr = y + r * channels;
		double m = -INFINITY, sum = 0;
		for (size_t i = 0; i < channels; i++)
			m = xr[i] > m ? xr[i] : m;
		for (size_t i = 0; i < channels; i++)
			sum += exp((double)xr[i] - m);
		for (size_t i = 0; i < channels; i++)
			yr[i] = (float)(exp((double)xr[i] - m) / sum);
	}
}

/* ---- ElementwiseLinear -------------------------------------------------- */

struct dnnq_elementwise_linear {
	struct dnnq_elementwise_linear_desc d;   /* a, b not kept */
	struct dnnq_ewlin_kernel k;
	float *mult, *add;            /* period entries each */
	size_t n, chunk;
};

static int ewlin_check(const struct dnnq_elementwise_linear_desc *d, struct dnnq_diag *diag)
{
	static const char op[] = "elementwise_linear";
	if (d->channels == 0)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "%s: channels = 0: must be >= 1", op);
	if (!d->a)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: a: NULL", op);
	for (size_t c = 0; c < d->channels; c++) {
		if (!isfinite(d->a[c]))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: a[%zu] = %g: must be finite",
			                     op, c, d->a[c]);
		if (d->b && !isfinite(d->b[c]))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: b[%zu] = %g: must be finite",
			                     op, c, d->b[c]);
	}
	int rc = check_isa(op, d->isa, diag);
	if (!rc)
		rc = check_qp(op, "input", &d->in_qp, diag);
	return rc ? rc : check_qp(op, "output", &d->out_qp, diag);
}

/* mult = a * sx / sy, add = b / sy, per channel, repeated over the period. */
static int ewlin_constants(struct dnnq_elementwise_linear *e, struct dnnq_diag *diag)
{
	const struct dnnq_elementwise_linear_desc *d = &e->d;
	double sx = d->in_qp.scale, sy = d->out_qp.scale;
	for (size_t c = 0; c < d->channels; c++) {
		char what[48];
		snprintf(what, sizeof what, "a[%zu]", c);
		int rc = float_mult("elementwise_linear", what, d->a[c] * sx / sy, &e->mult[c], diag);
		snprintf(what, sizeof what, "b[%zu]", c);
		if (!rc)
			rc = float_mult("elementwise_linear", what, d->b ? d->b[c] / sy : 0,
			                &e->add[c], diag);
		if (rc)
			return rc;
	}
	for (size_t j = d->channels; j < e->k.period; j++) {
		e->mult[j] = e->mult[j % d->channels];
		e->add[j] = e->add[j % d->channels];
	}
	return DNNQ_OK;
}

int dnnq_elementwise_linear_create(const struct dnnq_elementwise_linear_desc *d,
                                   struct dnnq_elementwise_linear **out,
                                   struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "elementwise_linear: NULL argument");
	*out = NULL;
	int rc = ewlin_check(d, diag);
	if (rc)
		return rc;
	struct dnnq_elementwise_linear *e = calloc(1, sizeof *e);
	size_t p = period_of(d->channels);
	if (e && p <= SIZE_MAX / sizeof(float)) {
		e->mult = malloc(p * sizeof(float));
		e->add = malloc(p * sizeof(float));
	}
	if (!e || !e->mult || !e->add) {
		dnnq_elementwise_linear_destroy(e);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "elementwise_linear: out of memory");
	}
	e->d = *d;
	e->k = (struct dnnq_ewlin_kernel){
		.mult = e->mult, .add = e->add, .period = p, .zx = d->in_qp.zero_point,
		.zy = (float)d->out_qp.zero_point, .qmin = 0, .qmax = out_qmax(&d->out_qp),
	};
	e->chunk = p * (CHUNK / p > 1 ? CHUNK / p : 1);
	if ((rc = ewlin_constants(e, diag))) {
		dnnq_elementwise_linear_destroy(e);
		return rc;
	}
	e->d.a = e->d.b = NULL;
	*out = e;
	return DNNQ_OK;
}

int dnnq_elementwise_linear_setup(struct dnnq_elementwise_linear *e, size_t n,
                                  const uint8_t *in, uint8_t *out, struct dnnq_diag *diag)
{
	if (!e)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "elementwise_linear setup: NULL argument");
	e->n = 0;
	if (n % e->d.channels)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "elementwise_linear: n = %zu: not a "
		                     "multiple of channels = %zu", n, e->d.channels);
	if (n && (!in || !out))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "elementwise_linear: %s: NULL",
		                     in ? "output" : "input");
	e->n = n;
	e->k.x = in;
	e->k.y = out;
	return DNNQ_OK;
}

static void ewlin_chunk(void *op, size_t i0, size_t i1)
{
	const struct dnnq_elementwise_linear *e = op;
	dnnq_kernels_of(e->d.isa)->ewlin(&e->k, i0, i1);
}

int dnnq_elementwise_linear_run(struct dnnq_elementwise_linear *e,
                                const struct dnnq_executor *ex)
{
	if (!e)
		return DNNQ_E_INVAL;
	run_chunked(ex, e->n, e->chunk, e->k.period, ewlin_chunk, e);
	return DNNQ_OK;
}

void dnnq_elementwise_linear_destroy(struct dnnq_elementwise_linear *e)
{
	if (!e)
		return;
	free(e->mult);
	free(e->add);
	free(e);
}

void dnnq_elementwise_linear_ref(const float *x, const float *a, const float *b, float *y,
                                 size_t n, size_t channels)
{
	for (size_t i = 0; i < n; i++) {
		size_t c = i % channels;
		y[i] = a[c] * x[i] + (b ? b[c] : 0);
	}
}

/* ---- Concat ------------------------------------------------------------- */

/*
 * An input whose qparams equal the output's (same scale and zero point, no
 * wider precision) is copied with memcpy; any other is requantized through a
 * 256-entry table built at create: table[q] = requant_float(q - z, s / sy),
 * the quantization core's float step, applied by the LUT kernels.
 */
struct dnnq_concat {
	struct dnnq_concat_desc d;
	uint8_t table[DNNQ_CONCAT_MAX_INPUTS][256];
	bool copy[DNNQ_CONCAT_MAX_INPUTS];
	const uint8_t *in[DNNQ_CONCAT_MAX_INPUTS];
	size_t inner[DNNQ_CONCAT_MAX_INPUTS];   /* elements per outer index */
	size_t offset[DNNQ_CONCAT_MAX_INPUTS];  /* within an output row */
	size_t outer, row, chunk;               /* row = sum of inner */
	size_t out_dims[DNNQ_CONCAT_MAX_DIMS];
	uint8_t *y;
};

static int concat_check(const struct dnnq_concat_desc *d, struct dnnq_diag *diag)
{
	if (d->ninputs < 1 || d->ninputs > DNNQ_CONCAT_MAX_INPUTS)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "concat: ninputs = %zu: need 1..%d",
		                     d->ninputs, DNNQ_CONCAT_MAX_INPUTS);
	if (d->ndims < 1 || d->ndims > DNNQ_CONCAT_MAX_DIMS)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "concat: ndims = %zu: need 1..%d",
		                     d->ndims, DNNQ_CONCAT_MAX_DIMS);
	if (d->axis >= d->ndims)
		return dnnq_diag_set(diag, DNNQ_E_SHAPE, "concat: axis = %zu: need < ndims = %zu",
		                     d->axis, d->ndims);
	int rc = check_isa("concat", d->isa, diag);
	for (size_t k = 0; !rc && k < d->ninputs; k++)
		rc = check_input_qp("concat", k, &d->in_qp[k], diag);
	return rc ? rc : check_qp("concat", "output", &d->out_qp, diag);
}

static int concat_tables(struct dnnq_concat *c, struct dnnq_diag *diag)
{
	const struct dnnq_qparams *oq = &c->d.out_qp;
	for (size_t k = 0; k < c->d.ninputs; k++) {
		const struct dnnq_qparams *iq = &c->d.in_qp[k];
		c->copy[k] = iq->scale == oq->scale && iq->zero_point == oq->zero_point &&
		             iq->precision <= oq->precision;
		char what[32];
		snprintf(what, sizeof what, "input %zu", k);
		float m;
		int rc = float_mult("concat", what, (double)iq->scale / oq->scale, &m, diag);
		if (rc)
			return rc;
		for (int q = 0; q < 256; q++)
			c->table[k][q] = (uint8_t)dnnq_requant_float_1(q - iq->zero_point, m,
			                                              (float)oq->zero_point, 0,
			                                              out_qmax(oq));
	}
	return DNNQ_OK;
}

int dnnq_concat_create(const struct dnnq_concat_desc *d, struct dnnq_concat **out,
                       struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "concat: NULL argument");
	*out = NULL;
	int rc = concat_check(d, diag);
	if (rc)
		return rc;
	struct dnnq_concat *c = calloc(1, sizeof *c);
	if (!c)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "concat: out of memory");
	c->d = *d;
	if ((rc = concat_tables(c, diag))) {
		free(c);
		return rc;
	}
	*out = c;
	return DNNQ_OK;
}

/* Checks the shapes and computes *outer, inner[], offset[], row, out_dims. */
static int concat_shapes(struct dnnq_concat *c, const size_t *const dims[], size_t *outerp,
                         struct dnnq_diag *diag)
{
	const struct dnnq_concat_desc *d = &c->d;
	size_t outer = 1, inner = 1, along = 0;
	for (size_t k = 0; k < d->ninputs; k++) {
		if (!dims[k])
			return dnnq_diag_set(diag, DNNQ_E_INVAL, "concat: dims[%zu]: NULL", k);
		for (size_t j = 0; j < d->ndims; j++)
			if (j != d->axis && dims[k][j] != dims[0][j])
				return dnnq_diag_set(diag, DNNQ_E_SHAPE, "concat: input %zu dims[%zu] = %zu: "
				                     "input 0 has %zu", k, j, dims[k][j], dims[0][j]);
		if (__builtin_add_overflow(along, dims[k][d->axis], &along))
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "concat: output dims[%zu]: overflows",
			                     d->axis);
	}
	size_t total = along;
	for (size_t j = 0; j < d->ndims; j++) {
		c->out_dims[j] = j == d->axis ? along : dims[0][j];
		bool ok = j == d->axis || dnnq_mul_size(total, dims[0][j], &total);
		ok = ok && (j >= d->axis || dnnq_mul_size(outer, dims[0][j], &outer));
		ok = ok && (j <= d->axis || dnnq_mul_size(inner, dims[0][j], &inner));
		if (!ok)
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "concat: output: element count overflows");
	}
	*outerp = outer;
	c->row = along * inner;
	for (size_t k = 0, off = 0; k < d->ninputs; k++) {
		c->inner[k] = dims[k][d->axis] * inner;   /* <= row: no overflow */
		c->offset[k] = off;
		off += c->inner[k];
	}
	c->chunk = c->row && CHUNK / c->row ? CHUNK / c->row : 1;
	return DNNQ_OK;
}

int dnnq_concat_setup(struct dnnq_concat *c, const size_t *const dims[],
                      const uint8_t *const in[], uint8_t *out, struct dnnq_diag *diag)
{
	if (!c || !dims || !in)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "concat setup: NULL argument");
	c->outer = 0;
	size_t outer = 0;
	int rc = concat_shapes(c, dims, &outer, diag);
	if (rc)
		return rc;
	bool any = outer && c->row;
	for (size_t k = 0; k < c->d.ninputs; k++)
		if (any && c->inner[k] && !in[k])
			return dnnq_diag_set(diag, DNNQ_E_INVAL, "concat: input %zu: NULL", k);
	if (any && !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "concat: output: NULL");
	memcpy(c->in, in, c->d.ninputs * sizeof *in);
	c->y = out;
	c->outer = any ? outer : 0;
	return DNNQ_OK;
}

static void concat_chunk(void *op, size_t o0, size_t o1)
{
	const struct dnnq_concat *c = op;
	const struct dnnq_kernels *kn = dnnq_kernels_of(c->d.isa);
	for (size_t o = o0; o < o1; o++) {
		for (size_t k = 0; k < c->d.ninputs; k++) {
			if (c->inner[k] == 0)   /* an empty input may be NULL */
				continue;
			const uint8_t *src = c->in[k] + o * c->inner[k];
			uint8_t *dst = c->y + o * c->row + c->offset[k];
			if (c->copy[k])
				memcpy(dst, src, c->inner[k]);
			else
				kn->lut(c->table[k], src, dst, c->inner[k]);
		}
	}
}

int dnnq_concat_run(struct dnnq_concat *c, const struct dnnq_executor *ex)
{
	if (!c)
		return DNNQ_E_INVAL;
	run_chunked(ex, c->outer, c->chunk, 1, concat_chunk, c);
	return DNNQ_OK;
}

void dnnq_concat_output_dims(const struct dnnq_concat *c, size_t *dims)
{
	memcpy(dims, c->out_dims, c->d.ndims * sizeof *dims);
}

bool dnnq_concat_input_copied(const struct dnnq_concat *c, size_t k)
{
	return k < c->d.ninputs && c->copy[k];
}

void dnnq_concat_destroy(struct dnnq_concat *c)
{
	free(c);
}

void dnnq_concat_ref(size_t ninputs, const size_t *const dims[], size_t ndims, size_t axis,
                     const float *const in[], float *out)
{
	size_t outer = 1, inner = 1;
	for (size_t j = 0; j < ndims; j++) {
		if (j < axis)
			outer *= dims[0][j];
		else if (j > axis)
			inner *= dims[0][j];
	}
	for (size_t o = 0; o < outer; o++) {
		for (size_t k = 0; k < ninputs; k++) {
			size_t len = dims[k][axis] * inner;
			memcpy(out, in[k] + o * len, len * sizeof *out);
			out += len;
		}
	}
}
