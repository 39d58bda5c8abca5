/*
 * Pooling operators (pooling.h). The three operators share one engine, a
 * `struct pooler`: GlobalAveragePool is an AveragePool whose window is the
 * whole image, set at setup. run splits the output into tasks of a fixed
 * number of output rows (over all images) times a fixed block of channels;
 * a task walks its output pixels, works out each window's taps inside the
 * image (and, for the average's divisor, inside the padded image) and hands
 * the window to the ISA's kernel, which reduces all taps channel by channel
 * (a max pool hands a row's window rows to the ISA's row kernel, which
 * works out the windows along the row).
 * The per-pixel quantities (tap counts, the requantization multiplier) are
 * computed here, once, for both ISAs: the kernels only add, compare and
 * apply the shared output step, which is why AVX2 and scalar agree bit for
 * bit. Geometry is computed in int64 from int32 fields and int32-bounded
 * sizes, so no product can overflow. A global pool may instead be handed
 * its input's sums per row, taken where the input was made
 * (dnnq_gavgpool_setup_sums): it then adds rows and requantizes.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels.h"
#include "engine/pooling.h"
#include "engine/quant-scalar.h"

#define CBLOCK 256          /* channels one task covers */
#define WINDOW_ROWS 4       /* output rows one MaxPool/AveragePool task covers */

struct pooler {
	const struct dnnq_kernels *kn;
	bool avg, include_pad, ceil_mode, bound;
	struct dnnq_pooling_axis ax[2];   /* height, width */
	double sx, sy;               /* input and output scales */
	int32_t zx;
	float zy, qmin, qmax;
	size_t rows_per_task;
	size_t n, h, w, c, oh, ow;
	const uint8_t *in;
	const uint32_t *row_sums;    /* global, bound by setup_sums: read instead of in */
	uint8_t *out;
};

struct dnnq_maxpool { struct pooler p; };
struct dnnq_avgpool { struct pooler p; };
struct dnnq_gavgpool { struct pooler p; };

/* The window of output position o on one axis (pooling.h). */
struct dnnq_pooling_span dnnq_pooling_window(const struct dnnq_pooling_axis *a, int64_t o,
                                             int64_t in)
{
	int64_t s = o * a->s - a->p0;                     /* first tap */
	int64_t j0, j1, jp;
	if (a->d == 1) {   /* the common case without its three divisions (a
	                    * pooling's every output pixel calls this) */
		j0 = s < 0 ? -s : 0;
		j1 = s < in ? in - 1 - s : -1;
		jp = in + a->p1 - 1 - s;
	} else {
		j0 = s < 0 ? (-s + a->d - 1) / a->d : 0;  /* first inside */
		j1 = s < in ? (in - 1 - s) / a->d : -1;   /* last inside */
		jp = (in + a->p1 - 1 - s) / a->d;         /* last inside the padding */
	}
	j1 = j1 < a->k - 1 ? j1 : a->k - 1;
	jp = jp < a->k - 1 ? jp : a->k - 1;
	struct dnnq_pooling_span r = { 0, j1 >= j0 ? j1 - j0 + 1 : 0, jp + 1 };
	if (r.n)
		r.first = s + j0 * a->d;
	return r;
}

/* Output length of one axis as ONNX defines it, floor or ceil of
 * (in + pads - extent) / stride, plus 1, for either sign (in ceil mode a
 * stride of 2 or more lets the padded input fall short of the extent); then
 * ceil mode drops a last window that would start in the end padding.
 * 0 when no window fits. */
static int64_t axis_out(const struct dnnq_pooling_axis *a, int64_t in, bool ceil_mode)
{
	if (in < 1)
		return 0;
	int64_t room = in + a->p0 + a->p1 - ((a->k - 1) * a->d + 1), s = a->s, q;
	if (room >= 0)
		q = ceil_mode ? (room + s - 1) / s : room / s;
	else
		q = ceil_mode ? -(-room / s) : -((-room + s - 1) / s);
	int64_t o = q + 1;
	if (o < 1)
		return 0;
	if (ceil_mode && (o - 1) * s >= in + a->p0)
		o--;
	return o;
}

void dnnq_pooling_axes(const struct dnnq_pooling_geom *g, struct dnnq_pooling_axis ax[2])
{
	ax[0] = (struct dnnq_pooling_axis){ g->kernel_h, g->stride_h, g->pad_top, g->pad_bottom,
	                                    g->dilation_h };
	ax[1] = (struct dnnq_pooling_axis){ g->kernel_w, g->stride_w, g->pad_left, g->pad_right,
	                                    g->dilation_w };
}

static int check_geom(const struct dnnq_pooling_geom *g, const char *op, struct dnnq_diag *diag)
{
	static const char *const name[2][5] = {
		{ "kernel_h", "stride_h", "dilation_h", "pad_top", "pad_bottom" },
		{ "kernel_w", "stride_w", "dilation_w", "pad_left", "pad_right" },
	};
	const int32_t v[2][5] = {
		{ g->kernel_h, g->stride_h, g->dilation_h, g->pad_top, g->pad_bottom },
		{ g->kernel_w, g->stride_w, g->dilation_w, g->pad_left, g->pad_right },
	};
	for (int a = 0; a < 2; a++) {
		for (int f = 0; f < 3; f++)
			if (v[a][f] < 1)
				return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: %s = %d: must be >= 1",
				                     op, name[a][f], v[a][f]);
		int64_t ext = (int64_t)(v[a][0] - 1) * v[a][2] + 1;
		for (int f = 3; f < 5; f++) {
			if (v[a][f] < 0)
				return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: %s = %d: must be >= 0",
				                     op, name[a][f], v[a][f]);
			if (v[a][f] >= ext)
				return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: %s = %d: must be < the "
				                     "kernel extent (%s - 1) * %s + 1 = %lld", op,
				                     name[a][f], v[a][f], name[a][0], name[a][2],
				                     (long long)ext);
		}
	}
	return DNNQ_OK;
}

int dnnq_pooling_output_size(const struct dnnq_pooling_geom *g, size_t in_h, size_t in_w,
                             size_t *out_h, size_t *out_w, struct dnnq_diag *diag)
{
	if (!g || !out_h || !out_w)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "pooling: NULL argument");
	int rc = check_geom(g, "pooling", diag);
	if (rc)
		return rc;
	struct dnnq_pooling_axis ax[2];
	dnnq_pooling_axes(g, ax);
	const size_t in[2] = { in_h, in_w };
	int64_t o[2];
	for (int a = 0; a < 2; a++) {
		const char *what = a ? "width" : "height";
		if (in[a] < 1 || in[a] > INT32_MAX)
			return dnnq_diag_set(diag, DNNQ_E_SHAPE, "pooling: input %s %zu: must be "
			                     "1..%d", what, in[a], INT32_MAX);
		if (!(o[a] = axis_out(&ax[a], (int64_t)in[a], g->ceil_mode)))
			return dnnq_diag_set(diag, DNNQ_E_SHAPE, "pooling: input %s %zu padded by "
			                     "%lld + %lld: no window fits (kernel extent %lld, "
			                     "stride %lld)", what, in[a], (long long)ax[a].p0,
			                     (long long)ax[a].p1, (long long)((ax[a].k - 1) * ax[a].d + 1),
			                     (long long)ax[a].s);
	}
	*out_h = (size_t)o[0];
	*out_w = (size_t)o[1];
	return DNNQ_OK;
}

/* Common create checks: the ISA and one set of u8 qparams. */
static int check_common(enum dnnq_isa isa, const struct dnnq_qparams *qp, const char *op,
                        const char *field, struct dnnq_diag *diag)
{
	if (!dnnq_kernels(isa))
		return dnnq_diag_set(diag, DNNQ_E_UNSUPPORTED, "%s: isa %d (%s): not supported "
		                     "by this CPU", op, (int)isa, dnnq_isa_name(isa));
	struct dnnq_diag qd;
	if (dnnq_qparams_check(qp, DNNQ_DTYPE_U8, &qd))
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: %s: %s", op, field, qd.msg);
	return DNNQ_OK;
}

/* The average's qparams: both valid, and sx / sy a finite float, so that the
 * multiplier of an all-zero-point window is finite (0 * m = 0). */
static int check_avg_qparams(enum dnnq_isa isa, const struct dnnq_qparams *in_qp,
                             const struct dnnq_qparams *out_qp, const char *op,
                             struct dnnq_diag *diag)
{
	int rc = check_common(isa, in_qp, op, "in_qp", diag);
	if (!rc)
		rc = check_common(isa, out_qp, op, "out_qp", diag);
	if (!rc && !((double)in_qp->scale / out_qp->scale <= FLT_MAX))
		rc = dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: in_qp.scale / out_qp.scale = %g / %g: "
		                   "too large for a float multiplier", op, in_qp->scale,
		                   out_qp->scale);
	return rc;
}

static void set_avg(struct pooler *p, const struct dnnq_qparams *in_qp,
                    const struct dnnq_qparams *out_qp)
{
	p->avg = true;
	p->sx = in_qp->scale;
	p->sy = out_qp->scale;
	p->zx = in_qp->zero_point;
	p->zy = (float)out_qp->zero_point;
	p->qmin = (float)dnnq_qmin(out_qp->precision, false);
	p->qmax = (float)dnnq_qmax(out_qp->precision, false);
}

/* Binds the shape and buffers; the axes (and a global pool's row_sums)
 * are already set. */
static int bind(struct pooler *p, size_t n, size_t h, size_t w, size_t c,
                const uint8_t *in, uint8_t *out)
{
	p->bound = false;
	if (h < 1 || w < 1 || c < 1 || h > INT32_MAX || w > INT32_MAX)
		return DNNQ_E_SHAPE;
	if (n && ((!in && !p->row_sums) || !out))
		return DNNQ_E_INVAL;
	int64_t oh = axis_out(&p->ax[0], (int64_t)h, p->ceil_mode);
	int64_t ow = axis_out(&p->ax[1], (int64_t)w, p->ceil_mode);
	if (!oh || !ow)
		return DNNQ_E_SHAPE;
	size_t sz;
	if (!dnnq_mul_size(n, h, &sz) || !dnnq_mul_size(sz, w, &sz) || !dnnq_mul_size(sz, c, &sz) ||
	    !dnnq_mul_size(n, (size_t)oh, &sz) || !dnnq_mul_size(sz, (size_t)ow, &sz) ||
	    !dnnq_mul_size(sz, c, &sz))
		return DNNQ_E_RANGE;
	int64_t th = p->ax[0].k < (int64_t)h ? p->ax[0].k : (int64_t)h;
	int64_t tw = p->ax[1].k < (int64_t)w ? p->ax[1].k : (int64_t)w;
	if (p->avg && th * tw > DNNQ_AVGPOOL_MAX_TAPS)
		return DNNQ_E_RANGE;
	p->n = n;
	p->h = h;
	p->w = w;
	p->c = c;
	p->oh = (size_t)oh;
	p->ow = (size_t)ow;
	p->in = in;
	p->out = out;
	p->bound = true;
	return DNNQ_OK;
}

/* The output step of an average of `taps` values inside the image over
 * `count`. */
static struct dnnq_avgpool_k avg_k(const struct pooler *p, int64_t taps, int64_t count)
{
	return (struct dnnq_avgpool_k){
		(int32_t)taps * p->zx, count ? (float)(p->sx / (p->sy * (double)count)) : 0.0f,
		p->zy, p->qmin, p->qmax,
	};
}

/* One output pixel of an average, channels [c0, c0 + nc), from output row
 * r (over all images) and the height window hs of that row. */
static void pixel(const struct pooler *p, size_t r, const struct dnnq_pooling_span *hs,
                  size_t ow, size_t c0, size_t nc)
{
	struct dnnq_pooling_span ws = dnnq_pooling_window(&p->ax[1], (int64_t)ow, (int64_t)p->w);
	size_t img = r / p->oh;
	struct dnnq_pooling_win win = {
		p->in + ((img * p->h + (size_t)hs->first) * p->w + (size_t)ws.first) * p->c + c0,
		(size_t)hs->n, (size_t)ws.n,
		(size_t)(p->ax[0].d < (int64_t)p->h ? p->ax[0].d : 0) * p->w * p->c,
		(size_t)(p->ax[1].d < (int64_t)p->w ? p->ax[1].d : 0) * p->c,
	};
	uint8_t *y = p->out + (r * p->ow + ow) * p->c + c0;
	int64_t taps = hs->n * ws.n;
	struct dnnq_avgpool_k k = avg_k(p, taps, p->include_pad ? hs->count * ws.count : taps);
	p->kn->avgpool(&win, nc, &k, y);
}

/* Output row r (over all images) of a max pool, channels [c0, c0 + nc),
 * from the height window hs of that row: the row kernel. */
static void max_row(const struct pooler *p, size_t r, const struct dnnq_pooling_span *hs,
                    size_t c0, size_t nc)
{
	size_t img = r / p->oh;
	const struct dnnq_pooling_row row = {
		p->in + (img * p->h + (size_t)hs->first) * p->w * p->c + c0, (size_t)hs->n,
		(size_t)(p->ax[0].d < (int64_t)p->h ? p->ax[0].d : 0) * p->w * p->c, p->c, p->w,
		p->ow, p->ax[1],
	};
	p->kn->maxpool_row(&row, nc, p->out + r * p->ow * p->c + c0);
}

static void task(void *arg, size_t t, unsigned tid)
{
	(void)tid;
	const struct pooler *p = arg;
	size_t nblocks = (p->c + CBLOCK - 1) / CBLOCK;
	size_t c0 = t % nblocks * CBLOCK, nc = p->c - c0 < CBLOCK ? p->c - c0 : CBLOCK;
	size_t r0 = t / nblocks * p->rows_per_task, rows = p->n * p->oh;
	size_t r1 = r0 + p->rows_per_task < rows ? r0 + p->rows_per_task : rows;
	for (size_t r = r0; r < r1; r++) {
		struct dnnq_pooling_span hs =
			dnnq_pooling_window(&p->ax[0], (int64_t)(r % p->oh), (int64_t)p->h);
		if (!p->avg) {
			max_row(p, r, &hs, c0, nc);
			continue;
		}
		for (size_t ow = 0; ow < p->ow; ow++)
			pixel(p, r, &hs, ow, c0, nc);
	}
}

static int run(struct pooler *p, const struct dnnq_executor *ex)
{
	if (!p->bound)
		return DNNQ_E_INVAL;
	size_t rows = p->n * p->oh;
	size_t tasks = (rows + p->rows_per_task - 1) / p->rows_per_task;
	dnnq_parallel_for(ex, tasks * ((p->c + CBLOCK - 1) / CBLOCK), task, p);
	return DNNQ_OK;
}

/* The fp32 reference over the same windows and counts as the kernels: max
 * or mean of the real-valued taps inside the image (an empty window, which
 * only dilation makes, gives 0). global: one window per image. */
static int reference(const struct pooler *op, bool global, size_t n, size_t h, size_t w,
                     size_t c, const float *x, float *y)
{
	struct pooler p = *op;
	if (global) {
		p.ax[0] = (struct dnnq_pooling_axis){ (int64_t)h, 1, 0, 0, 1 };
		p.ax[1] = (struct dnnq_pooling_axis){ (int64_t)w, 1, 0, 0, 1 };
		p.ceil_mode = false;
	}
	int64_t oh = axis_out(&p.ax[0], (int64_t)h, p.ceil_mode);
	int64_t ow = axis_out(&p.ax[1], (int64_t)w, p.ceil_mode);
	if (!oh || !ow || !x || !y)
		return oh && ow ? DNNQ_E_INVAL : DNNQ_E_SHAPE;
	for (size_t img = 0; img < n; img++)
	for (int64_t oy = 0; oy < oh; oy++) {
		struct dnnq_pooling_span hs = dnnq_pooling_window(&p.ax[0], oy, (int64_t)h);
		for (int64_t ox = 0; ox < ow; ox++) {
			struct dnnq_pooling_span ws = dnnq_pooling_window(&p.ax[1], ox, (int64_t)w);
			int64_t count = p.include_pad ? hs.count * ws.count : hs.n * ws.n;
			for (size_t ch = 0; ch < c; ch++) {
				double v = p.avg ? 0 : -INFINITY;
				for (int64_t i = 0; i < hs.n; i++)
					for (int64_t j = 0; j < ws.n; j++) {
						size_t iy = (size_t)(hs.first + i * p.ax[0].d);
						size_t ix = (size_t)(ws.first + j * p.ax[1].d);
						double t = x[((img * h + iy) * w + ix) * c + ch];
						v = p.avg ? v + t : t > v ? t : v;
					}
				*y++ = (float)(p.avg ? (count ? v / (double)count : 0)
				                     : hs.n && ws.n ? v : 0);
			}
		}
	}
	return DNNQ_OK;
}

int dnnq_maxpool_reference(const struct dnnq_maxpool *op, size_t n, size_t h, size_t w,
                           size_t c, const float *x, float *y)
{
	return op ? reference(&op->p, false, n, h, w, c, x, y) : DNNQ_E_INVAL;
}

int dnnq_avgpool_reference(const struct dnnq_avgpool *op, size_t n, size_t h, size_t w,
                           size_t c, const float *x, float *y)
{
	return op ? reference(&op->p, false, n, h, w, c, x, y) : DNNQ_E_INVAL;
}

int dnnq_gavgpool_reference(const struct dnnq_gavgpool *op, size_t n, size_t h, size_t w,
                            size_t c, const float *x, float *y)
{
	return op ? reference(&op->p, true, n, h, w, c, x, y) : DNNQ_E_INVAL;
}

/* ---- MaxPool ---- */

int dnnq_maxpool_create(const struct dnnq_maxpool_desc *d, struct dnnq_maxpool **out,
                        struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "maxpool: NULL argument");
	*out = NULL;
	int rc = check_geom(&d->geom, "maxpool", diag);
	if (!rc)
		rc = check_common(d->isa, &d->qp, "maxpool", "qp", diag);
	if (rc)
		return rc;
	struct dnnq_maxpool *op = calloc(1, sizeof *op);
	if (!op)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "maxpool: out of memory");
	op->p.kn = dnnq_kernels_of(d->isa);
	op->p.ceil_mode = d->geom.ceil_mode;
	op->p.rows_per_task = WINDOW_ROWS;
	dnnq_pooling_axes(&d->geom, op->p.ax);
	*out = op;
	return DNNQ_OK;
}

int dnnq_maxpool_setup(struct dnnq_maxpool *op, size_t n, size_t h, size_t w, size_t c,
                       const uint8_t *in, uint8_t *out)
{
	return op ? bind(&op->p, n, h, w, c, in, out) : DNNQ_E_INVAL;
}

int dnnq_maxpool_run(struct dnnq_maxpool *op, const struct dnnq_executor *ex)
{
	return op ? run(&op->p, ex) : DNNQ_E_INVAL;
}

void dnnq_maxpool_destroy(struct dnnq_maxpool *op)
{
	free(op);
}

/* ---- AveragePool ---- */

int dnnq_avgpool_create(const struct dnnq_avgpool_desc *d, struct dnnq_avgpool **out,
                        struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "avgpool: NULL argument");
	*out = NULL;
	int rc = check_geom(&d->geom, "avgpool", diag);
	if (!rc)
		rc = check_avg_qparams(d->isa, &d->in_qp, &d->out_qp, "avgpool", diag);
	if (rc)
		return rc;
	struct dnnq_avgpool *op = calloc(1, sizeof *op);
	if (!op)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "avgpool: out of memory");
	op->p.kn = dnnq_kernels_of(d->isa);
	op->p.ceil_mode = d->geom.ceil_mode;
	op->p.include_pad = d->count_include_pad;
	op->p.rows_per_task = WINDOW_ROWS;
	dnnq_pooling_axes(&d->geom, op->p.ax);
	set_avg(&op->p, &d->in_qp, &d->out_qp);
	*out = op;
	return DNNQ_OK;
}

int dnnq_avgpool_setup(struct dnnq_avgpool *op, size_t n, size_t h, size_t w, size_t c,
                       const uint8_t *in, uint8_t *out)
{
	return op ? bind(&op->p, n, h, w, c, in, out) : DNNQ_E_INVAL;
}

int dnnq_avgpool_run(struct dnnq_avgpool *op, const struct dnnq_executor *ex)
{
	return op ? run(&op->p, ex) : DNNQ_E_INVAL;
}

void dnnq_avgpool_destroy(struct dnnq_avgpool *op)
{
	free(op);
}

/* ---- GlobalAveragePool: an AveragePool with an h x w window ---- */

int dnnq_gavgpool_create(const struct dnnq_gavgpool_desc *d, struct dnnq_gavgpool **out,
                         struct dnnq_diag *diag)
{
	if (!d || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "gavgpool: NULL argument");
	*out = NULL;
	int rc = check_avg_qparams(d->isa, &d->in_qp, &d->out_qp, "gavgpool", diag);
	if (rc)
		return rc;
	struct dnnq_gavgpool *op = calloc(1, sizeof *op);
	if (!op)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "gavgpool: out of memory");
	op->p.kn = dnnq_kernels_of(d->isa);
	op->p.rows_per_task = 1;     /* one image; channel blocks give the parallelism */
	set_avg(&op->p, &d->in_qp, &d->out_qp);
	*out = op;
	return DNNQ_OK;
}

static int gavgpool_bind(struct dnnq_gavgpool *op, size_t n, size_t h, size_t w, size_t c,
                         const uint8_t *in, const uint32_t *row_sums, uint8_t *out)
{
	if (!op)
		return DNNQ_E_INVAL;
	op->p.bound = false;
	if (h > INT32_MAX || w > INT32_MAX)
		return DNNQ_E_SHAPE;
	op->p.ax[0] = (struct dnnq_pooling_axis){ (int64_t)h, 1, 0, 0, 1 };
	op->p.ax[1] = (struct dnnq_pooling_axis){ (int64_t)w, 1, 0, 0, 1 };
	op->p.row_sums = row_sums;
	return bind(&op->p, n, h, w, c, in, out);
}

int dnnq_gavgpool_setup(struct dnnq_gavgpool *op, size_t n, size_t h, size_t w, size_t c,
                        const uint8_t *in, uint8_t *out)
{
	return gavgpool_bind(op, n, h, w, c, in, NULL, out);
}

int dnnq_gavgpool_setup_sums(struct dnnq_gavgpool *op, size_t n, size_t h, size_t w, size_t c,
                             const uint32_t *row_sums, uint8_t *out)
{
	return gavgpool_bind(op, n, h, w, c, NULL, row_sums, out);
}

/* Each image's h rows of sums added per channel, less the zero point's,
 * then the ISA's requantization by the average's multiplier: the sums are
 * exact (h * w <= DNNQ_AVGPOOL_MAX_TAPS) and the requantization is the
 * avgpool kernels' output step, so the bytes are those of the kernels on
 * the pixels. A few thousand adds (8 lanes at a time): no split. */
static void run_sums(const struct pooler *p)
{
	typedef uint32_t u32x8 __attribute__((vector_size(32), aligned(4)));
	struct dnnq_avgpool_k k = avg_k(p, (int64_t)(p->h * p->w), (int64_t)(p->h * p->w));
	const struct dnnq_requant rq = { DNNQ_REQUANT_FLOAT, 1, &k.mult, NULL, NULL,
	                                 (int32_t)p->zy, (int32_t)p->qmin, (int32_t)p->qmax };
	uint32_t acc[64];   /* mod 2^32; the result, sum - nzx, is an int32 */
	for (size_t img = 0; img < p->n; img++) {
		for (size_t c0 = 0; c0 < p->c; c0 += 64) {
			size_t nc = p->c - c0 < 64 ? p->c - c0 : 64;
			const uint32_t *s = p->row_sums + img * p->h * p->c + c0;
			for (size_t t = 0; t < 64; t++)
				acc[t] = -(uint32_t)k.nzx;
			for (size_t r = 0; r < p->h; r++, s += p->c) {
				size_t t = 0;
				for (; t + 8 <= nc; t += 8)
					*(u32x8 *)(acc + t) += *(const u32x8 *)(s + t);
				for (; t < nc; t++)
					acc[t] += s[t];
			}
			p->kn->requantize((const int32_t *)acc, p->out + img * p->c + c0, DNNQ_DTYPE_U8,
			                  1, nc, &rq);
		}
	}
}

int dnnq_gavgpool_run(struct dnnq_gavgpool *op, const struct dnnq_executor *ex)
{
	if (op && op->p.bound && op->p.row_sums) {
		run_sums(&op->p);
		return DNNQ_OK;
	}
	return op ? run(&op->p, ex) : DNNQ_E_INVAL;
}

void dnnq_gavgpool_destroy(struct dnnq_gavgpool *op)
{
	free(op);
}

/* ---- scalar kernels: the reference the AVX2 ones reproduce ---- */

void dnnq_maxpool_kernel_scalar(const struct dnnq_pooling_win *win, size_t c, uint8_t *y)
{
	memset(y, 0, c);                          /* qmin: an empty window's result */
	for (size_t i = 0; i < win->nh; i++) {
		for (size_t j = 0; j < win->nw; j++) {
			const uint8_t *x = win->x + i * win->sh + j * win->sw;
			for (size_t k = 0; k < c; k++)
				y[k] = x[k] > y[k] ? x[k] : y[k];
		}
	}
}

void dnnq_maxpool_row_scalar(const struct dnnq_pooling_row *row, size_t c, uint8_t *y)
{
	for (size_t o = 0; o < row->ow; o++) {
		struct dnnq_pooling_span ws = dnnq_pooling_window(&row->ax, (int64_t)o, (int64_t)row->w);
		const struct dnnq_pooling_win win = {
			row->x + (size_t)ws.first * row->sw, row->nh, (size_t)ws.n, row->sh,
			(size_t)(row->ax.d < (int64_t)row->w ? row->ax.d : 0) * row->sw,
		};
		dnnq_maxpool_kernel_scalar(&win, c, y + o * row->sw);
	}
}

void dnnq_pool_sums_scalar(const struct dnnq_pooling_win *win, size_t c, uint32_t *sum)
{
	memset(sum, 0, c * sizeof *sum);
	for (size_t i = 0; i < win->nh; i++) {
		for (size_t j = 0; j < win->nw; j++) {
			const uint8_t *x = win->x + i * win->sh + j * win->sw;
			for (size_t t = 0; t < c; t++)
				sum[t] += x[t];
		}
	}
}

void dnnq_avgpool_kernel_scalar(const struct dnnq_pooling_win *win, size_t c,
                                const struct dnnq_avgpool_k *k, uint8_t *y)
{
	uint32_t acc[64];
	for (size_t c0 = 0; c0 < c; c0 += 64) {
		size_t nc = c - c0 < 64 ? c - c0 : 64;
		struct dnnq_pooling_win part = *win;
		part.x += c0;
		dnnq_pool_sums_scalar(&part, nc, acc);
		for (size_t t = 0; t < nc; t++)
			y[c0 + t] = (uint8_t)dnnq_saturate_rne((float)((int32_t)acc[t] - k->nzx) *
			                                       k->mult, k->zy, k->qmin, k->qmax);
	}
}
