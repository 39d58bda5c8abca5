/*
 * bench/conv.c — `dnnq-bench conv`: every distinct convolution of ResNet-18
 * (bench/models.h, batch 1), dnnq's int8 convolution against oneDNN's int8
 * convolution primitive on the same shape, the same integers and the same
 * thread count, measured interleaved.
 *
 * Both compute  dst = u8(round(in_scale * w_scale[c] / out_scale * (acc + bias)))
 * with u8 NHWC activations, s8 weights (7-bit, -63..63, per output channel
 * scales) and an int32-domain bias, the output clamped to u8 (zero point 0:
 * a fused ReLU). Everything either library can do ahead of time is done
 * outside the timed region: dnnq_conv_create packs the weights (as at model
 * load); oneDNN gets its weights in the layout it asks for (format `any`,
 * reordered once) and its primitive is created once. What is timed is what
 * a graph run repeats: dnnq_conv_setup + dnnq_conv_run (engine/graph.c
 * binds every node before running it), and dnnl_primitive_execute +
 * dnnl_stream_wait.
 *
 * Each layer is checked once, outside the timing: both outputs against
 * dnnq_conv_reference (double precision, quantized here) on 36 pixels (6
 * rows x 6 columns, corners and borders included), every channel; dnnq must
 * be within 1 LSB, oneDNN is warned about.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "bench/bench.h"
#include "bench/models.h"
#include "engine/conv.h"
#include "tests/rng.h"

#define DNNL_CHECK(call)                                                        \
	do {                                                                    \
		dnnl_status_t st_ = (call);                                     \
		if (st_ != dnnl_success)                                        \
			bench_die("bench: %s failed: oneDNN status %d", #call, (int)st_); \
	} while (0)

/* The oneDNN objects every layer shares. */
struct onednn {
	dnnl_engine_t eng;
	dnnl_stream_t stream;
};

/* One layer: operands, dnnq's operator, oneDNN's primitive. */
struct layer {
	const struct model_conv_shape *s;
	size_t oh, ow, k;            /* k: kh * kw * cin */
	uint8_t *in;                 /* h x w x cin */
	int8_t *w;                   /* OHWI */
	float *w_scale, *bias;       /* bias: real values, exact at in_scale * w_scale */
	float *dnnl_bias, *dnnl_oscale;
	struct dnnq_qparams in_qp, out_qp;
	uint8_t *out_dnnq, *out_dnnl;
	struct dnnq_conv *conv;
	const struct dnnq_executor *ex;
	unsigned nthreads;
	/* oneDNN */
	const struct onednn *dn;
	dnnl_primitive_t prim;
	dnnl_memory_t src, wei, bia, dst;
	char impl[64];
};

static void run_dnnq(void *arg)
{
	struct layer *l = arg;
	int rc = dnnq_conv_setup(l->conv, 1, l->s->h, l->s->w, l->in, l->out_dnnq, l->nthreads);
	if (!rc)
		rc = dnnq_conv_run(l->conv, l->ex);
	if (rc)
		bench_die("bench: conv %s: dnnq failed: %s", l->s->name, dnnq_strerror(rc));
}

static void run_onednn(void *arg)
{
	struct layer *l = arg;
	const dnnl_exec_arg_t args[] = {
		{ DNNL_ARG_SRC, l->src }, { DNNL_ARG_WEIGHTS, l->wei },
		{ DNNL_ARG_BIAS, l->bia }, { DNNL_ARG_DST, l->dst },
	};
	DNNL_CHECK(dnnl_primitive_execute(l->prim, l->dn->stream, 4, args));
	DNNL_CHECK(dnnl_stream_wait(l->dn->stream));
}

/* ---- operands ---- */

static void fill(struct layer *l, uint64_t seed)
{
	const struct model_conv_shape *s = l->s;
	struct rng r = { seed };
	size_t nin = s->h * s->w * s->cin;
	for (size_t i = 0; i < nin; i++)
		l->in[i] = (uint8_t)rng_int(&r, 0, 255);
	/* 7-bit weights, as the models use (bench/models.c) */
	for (size_t i = 0; i < s->cout * l->k; i++)
		l->w[i] = (int8_t)rng_int(&r, -63, 63);
	/* He-like scales; the output scale puts the accumulators' spread
	 * (sqrt(K) * rms(u8) 147 * rms(w) 36.7) at about 50 LSB */
	l->in_qp = (struct dnnq_qparams){ 1.0f / 64, 0, 8, false };
	float base = (float)(sqrt(2.0 / (double)l->k) / 36.7);
	double spread = sqrt((double)l->k) * 147 * 36.7 * l->in_qp.scale * base;
	l->out_qp = (struct dnnq_qparams){ (float)(spread / 50), 0, 8, false };
	for (size_t j = 0; j < s->cout; j++) {
		l->w_scale[j] = base * (float)rng_uniform(&r, 0.8, 1.2);
		double acc_scale = (double)l->in_qp.scale * l->w_scale[j];
		/* an integer bias of up to +-20 output LSB, in the accumulator domain */
		double ib = nearbyint(rng_uniform(&r, -20, 20) * l->out_qp.scale / acc_scale);
		l->bias[j] = (float)(ib * acc_scale);
		l->dnnl_bias[j] = (float)ib;
		l->dnnl_oscale[j] = (float)(acc_scale / l->out_qp.scale);
	}
}

static void dnnq_create(struct layer *l)
{
	const struct model_conv_shape *s = l->s;
	struct dnnq_diag diag = { "" };
	struct dnnq_conv_desc d = {
		.isa = bench_dnnq_isa(), .cin = s->cin, .cout = s->cout, .groups = 1,
		.kh = s->k, .kw = s->k, .stride_h = s->stride, .stride_w = s->stride,
		.dil_h = 1, .dil_w = 1, .pad_t = s->pad, .pad_l = s->pad, .pad_b = s->pad,
		.pad_r = s->pad, .w = l->w, .nwq = s->cout, .w_scale = l->w_scale,
		.bias = l->bias, .in_qp = l->in_qp, .out_dtype = DNNQ_DTYPE_U8,
		.out_qp = l->out_qp, .relu = true,
	};
	int rc = dnnq_conv_create(&d, &l->conv, &diag);
	if (rc)
		bench_die("bench: conv %s: dnnq_conv_create: %s: %s", s->name, dnnq_strerror(rc),
		          diag.msg);
	if (dnnq_conv_output_size(l->conv, s->h, s->w, &l->oh, &l->ow))
		bench_die("bench: conv %s: bad geometry", s->name);
}

/* ---- oneDNN ---- */

static void md_tag(dnnl_memory_desc_t *md, int nd, dnnl_dim_t d0, dnnl_dim_t d1, dnnl_dim_t d2,
                   dnnl_dim_t d3, dnnl_data_type_t dt, dnnl_format_tag_t tag)
{
	const dnnl_dims_t dims = { d0, d1, d2, d3 };
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, nd, dims, dt, tag));
}

/* The weights, in the layout the primitive chose, from the OHWI array. */
static void onednn_weights(struct layer *l, const dnnl_memory_desc_t *want)
{
	const struct model_conv_shape *s = l->s;
	dnnl_memory_desc_t user_md;
	dnnl_memory_t user;
	dnnl_primitive_desc_t rpd;
	dnnl_primitive_t reorder;
	md_tag(&user_md, 4, (dnnl_dim_t)s->cout, (dnnl_dim_t)s->cin, (dnnl_dim_t)s->k,
	       (dnnl_dim_t)s->k, dnnl_s8, dnnl_ohwi);
	DNNL_CHECK(dnnl_memory_create(&user, &user_md, l->dn->eng, l->w));
	DNNL_CHECK(dnnl_memory_create(&l->wei, want, l->dn->eng, DNNL_MEMORY_ALLOCATE));
	DNNL_CHECK(dnnl_reorder_primitive_desc_create(&rpd, &user_md, l->dn->eng, want,
	                                              l->dn->eng, NULL));
	DNNL_CHECK(dnnl_primitive_create(&reorder, rpd));
	const dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, user }, { DNNL_ARG_TO, l->wei } };
	DNNL_CHECK(dnnl_primitive_execute(reorder, l->dn->stream, 2, args));
	DNNL_CHECK(dnnl_stream_wait(l->dn->stream));
	dnnl_primitive_destroy(reorder);
	dnnl_primitive_desc_destroy(rpd);
	dnnl_memory_destroy(user);
}

/* dnnl_convolution_auto lets oneDNN pick the algorithm; direct if refused. */
static void onednn_create(struct layer *l)
{
	const struct model_conv_shape *s = l->s;
	dnnl_memory_desc_t src_md, wei_md, bia_md, dst_md;
	dnnl_convolution_desc_t cd;
	dnnl_primitive_attr_t attr;
	dnnl_primitive_desc_t pd;
	const dnnl_dims_t strides = { (dnnl_dim_t)s->stride, (dnnl_dim_t)s->stride };
	const dnnl_dims_t pad = { (dnnl_dim_t)s->pad, (dnnl_dim_t)s->pad };
	md_tag(&src_md, 4, 1, (dnnl_dim_t)s->cin, (dnnl_dim_t)s->h, (dnnl_dim_t)s->w, dnnl_u8,
	       dnnl_nhwc);
	md_tag(&wei_md, 4, (dnnl_dim_t)s->cout, (dnnl_dim_t)s->cin, (dnnl_dim_t)s->k,
	       (dnnl_dim_t)s->k, dnnl_s8, dnnl_format_tag_any);
	md_tag(&bia_md, 1, (dnnl_dim_t)s->cout, 0, 0, 0, dnnl_f32, dnnl_x);
	md_tag(&dst_md, 4, 1, (dnnl_dim_t)s->cout, (dnnl_dim_t)l->oh, (dnnl_dim_t)l->ow,
	       dnnl_u8, dnnl_nhwc);
	DNNL_CHECK(dnnl_primitive_attr_create(&attr));
	DNNL_CHECK(dnnl_primitive_attr_set_output_scales(attr, (dnnl_dim_t)s->cout, 1 << 1,
	                                                 l->dnnl_oscale));
	dnnl_status_t st = dnnl_unimplemented;
	static const dnnl_alg_kind_t algs[] = { dnnl_convolution_auto, dnnl_convolution_direct };
	for (size_t i = 0; i < 2 && st != dnnl_success; i++) {
		st = dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, algs[i],
		                                        &src_md, &wei_md, &bia_md, &dst_md,
		                                        strides, pad, pad);
		if (st == dnnl_success)
			st = dnnl_primitive_desc_create(&pd, &cd, attr, l->dn->eng, NULL);
	}
	if (st != dnnl_success)
		bench_die("bench: conv %s: oneDNN has no int8 convolution for it (status %d)",
		          s->name, (int)st);
	const char *impl = NULL;
	if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success)
		impl = "?";
	snprintf(l->impl, sizeof l->impl, "%s", impl ? impl : "?");
	DNNL_CHECK(dnnl_primitive_create(&l->prim, pd));
	onednn_weights(l, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
	DNNL_CHECK(dnnl_memory_create(&l->src, &src_md, l->dn->eng, l->in));
	DNNL_CHECK(dnnl_memory_create(&l->bia, &bia_md, l->dn->eng, l->dnnl_bias));
	DNNL_CHECK(dnnl_memory_create(&l->dst, &dst_md, l->dn->eng, l->out_dnnl));
	dnnl_primitive_desc_destroy(pd);
	dnnl_primitive_attr_destroy(attr);
}

static void layer_init(struct layer *l, const struct model_conv_shape *s,
                       const struct onednn *dn, const struct bench_threads *th, unsigned n)
{
	*l = (struct layer){ .s = s, .k = s->k * s->k * s->cin, .dn = dn, .ex = th->ex,
	                     .nthreads = n };
	l->in = bench_alloc(s->h * s->w * s->cin);
	l->w = bench_alloc(s->cout * l->k);
	l->w_scale = bench_alloc(s->cout * sizeof(float));
	l->bias = bench_alloc(s->cout * sizeof(float));
	l->dnnl_bias = bench_alloc(s->cout * sizeof(float));
	l->dnnl_oscale = bench_alloc(s->cout * sizeof(float));
	fill(l, 0x2545f4914f6cdd1dull ^ (s->h * 7919 + s->cin * 104729 + s->cout * 31 + s->k));
	dnnq_create(l);
	l->out_dnnq = bench_alloc(l->oh * l->ow * s->cout);
	l->out_dnnl = bench_alloc(l->oh * l->ow * s->cout);
	onednn_create(l);
}

static void layer_free(struct layer *l)
{
	dnnq_conv_destroy(l->conv);
	dnnl_primitive_destroy(l->prim);
	dnnl_memory_destroy(l->src);
	dnnl_memory_destroy(l->wei);
	dnnl_memory_destroy(l->bia);
	dnnl_memory_destroy(l->dst);
	free(l->in);
	free(l->w);
	free(l->w_scale);
	free(l->bias);
	free(l->dnnl_bias);
	free(l->dnnl_oscale);
	free(l->out_dnnq);
	free(l->out_dnnl);
}

/* ---- check, outside the timed region ---- */

#define CHECK_ROWS 6   /* output rows checked: first, last and 4 between */
#define CHECK_COLS 6

/* Largest distance from the quantized reference, over the checked pixels. */
struct check_err {
	int dnnq, onednn;     /* max |output - quantize(reference)|, LSB */
	size_t pixels;
};

/* Output rows checked: 0, oh - 1 and evenly spaced ones; the same for
 * columns. Distinct, ascending. */
static size_t pick(size_t n, size_t want, size_t *out)
{
	size_t m = 0;
	for (size_t i = 0; i < want; i++) {
		size_t v = want > 1 ? i * (n - 1) / (want - 1) : 0;
		if (!m || out[m - 1] != v)
			out[m++] = v;
	}
	return m;
}

/*
 * Output row oy of the reference, all columns and channels, in yrow.
 * dnnq_conv_reference on the whole layer would cost K double-precision
 * multiply-adds per output (seconds for the big layers), so it runs on a
 * crop of input rows [c0, c1) (the reference pads the crop as the layer pads
 * the image). With c0 = (oy - r) * stride, the crop's output row r reads the
 * input rows output row oy reads; r = ceil(pad / stride) (or oy, when
 * smaller, and then c0 = 0) keeps it off the crop's top padding, and c1 ends
 * the crop after the last row it reads (or at the image's bottom, where the
 * padding is real).
 */
static void ref_row(const struct layer *l, const float *x, size_t oy, float *yrow)
{
	const struct model_conv_shape *s = l->s;
	size_t r = (s->pad + s->stride - 1) / s->stride;
	if (r > oy)
		r = oy;
	size_t c0 = (oy - r) * s->stride;
	size_t need = oy * s->stride + s->k;                  /* padded row after the last */
	size_t c1 = need > s->pad ? need - s->pad : 0;        /* input row after the last */
	if (c1 > s->h)
		c1 = s->h;
	size_t ch = c1 - c0;
	size_t oh, ow;
	if (dnnq_conv_output_size(l->conv, ch, s->w, &oh, &ow) || oh <= r || ow != l->ow)
		bench_die("bench: conv %s: check crop rows %zu..%zu for output row %zu",
		          s->name, c0, c1, oy);
	float *y = bench_alloc(oh * ow * s->cout * sizeof *y);
	if (dnnq_conv_reference(l->conv, 1, ch, s->w, x + c0 * s->w * s->cin, y, NULL))
		bench_die("bench: conv %s: dnnq_conv_reference failed", s->name);
	memcpy(yrow, y + r * ow * s->cout, ow * s->cout * sizeof *y);
	free(y);
}

static int quant_ref(const struct layer *l, float y)
{
	double q = nearbyint((double)y / l->out_qp.scale) + l->out_qp.zero_point;
	return q < 0 ? 0 : q > 255 ? 255 : (int)q;
}

static struct check_err check(struct layer *l)
{
	const struct model_conv_shape *s = l->s;
	struct check_err e = { 0, 0, 0 };
	size_t rows[CHECK_ROWS], cols[CHECK_COLS];
	size_t nr = pick(l->oh, CHECK_ROWS, rows), nc = pick(l->ow, CHECK_COLS, cols);
	size_t nin = s->h * s->w * s->cin;
	float *x = bench_alloc(nin * sizeof *x), *yrow = bench_alloc(l->ow * s->cout * sizeof *x);
	memset(l->out_dnnq, 0xa5, l->oh * l->ow * s->cout);
	memset(l->out_dnnl, 0x5a, l->oh * l->ow * s->cout);
	run_dnnq(l);
	run_onednn(l);
	for (size_t i = 0; i < nin; i++)
		x[i] = l->in_qp.scale * (float)((int)l->in[i] - l->in_qp.zero_point);
	for (size_t a = 0; a < nr; a++) {
		ref_row(l, x, rows[a], yrow);
		for (size_t b = 0; b < nc; b++) {
			size_t px = rows[a] * l->ow + cols[b];
			for (size_t c = 0; c < s->cout; c++) {
				int want = quant_ref(l, yrow[cols[b] * s->cout + c]);
				int dq = abs((int)l->out_dnnq[px * s->cout + c] - want);
				int dn = abs((int)l->out_dnnl[px * s->cout + c] - want);
				if (dq > 1)
					bench_die("bench: conv %s: dnnq output (%zu, %zu, %zu) = %d, "
					          "quantized reference %d", s->name, rows[a], cols[b], c,
					          l->out_dnnq[px * s->cout + c], want);
				e.dnnq = dq > e.dnnq ? dq : e.dnnq;
				e.onednn = dn > e.onednn ? dn : e.onednn;
			}
			e.pixels++;
		}
	}
	if (e.onednn > 1)
		bench_warn("conv %s: oneDNN's output is off the reference by up to %d LSB; its row "
		           "does not compute the same thing", s->name, e.onednn);
	free(x);
	free(yrow);
	return e;
}

/* ---- table ---- */

static const struct bench_col conv_cols[] = {
	{ "layer", "layer", 12, -2 },
	{ "h", "", 0, -1 },
	{ "w", "", 0, -1 },
	{ "cin", "", 0, -1 },
	{ "cout", "", 0, -1 },
	{ "k", "", 0, -1 },
	{ "stride", "", 0, -1 },
	{ "pad", "", 0, -1 },
	{ "shape", "input -> output", 24, -1 },
	{ "threads", "", 0, -1 },
	{ "dnnq_ms", "dnnq ms", 8, 3 },
	{ "onednn_ms", "oneDNN ms", 9, 3 },
	{ "onednn_over_dnnq", "oneDNN/dnnq", 11, 2 },
	{ "dnnq_gops", "dnnq GOPS", 9, 1 },
	{ "onednn_gops", "oneDNN GOPS", 11, 1 },
	{ "dnnq_path", "dnnq path", 9, -1 },
	{ "onednn_impl", "oneDNN impl", 28, -1 },
	{ "dnnq_max_err", "", 0, -1 },
	{ "onednn_max_err", "", 0, -1 },
	{ "dnnq_iqr", "", 0, 3 },
	{ "onednn_iqr", "", 0, 3 },
	{ "others_cpus", "others", 6, 2 },
	{ "reps", "reps", 5, -1 },
};

static double layer_ops(const struct layer *l)
{
	return 2.0 * (double)(l->oh * l->ow * l->s->cout) * (double)l->k;
}

static void conv_row(struct bench_table *t, const struct model_conv_shape *s,
                     const struct onednn *dn, const struct bench_threads *th, unsigned n,
                     double *tot)
{
	struct layer l;
	struct bench_result r[2];
	char shape[64];
	layer_init(&l, s, dn, th, n);
	struct check_err e = check(&l);
	struct bench_cand c[2] = { { "dnnq", run_dnnq, &l }, { "oneDNN", run_onednn, &l } };
	double others = bench_interleave_guarded(c, 2, bench_budget_threads(bench_budget(), n),
	                                         n, r);
	snprintf(shape, sizeof shape, "%zux%zux%zu -> %zux%zux%zu", s->h, s->w, s->cin, l.oh,
	         l.ow, s->cout);
	bench_cell_str(t, s->name);
	bench_cell_int(t, (long long)s->h);
	bench_cell_int(t, (long long)s->w);
	bench_cell_int(t, (long long)s->cin);
	bench_cell_int(t, (long long)s->cout);
	bench_cell_int(t, (long long)s->k);
	bench_cell_int(t, (long long)s->stride);
	bench_cell_int(t, (long long)s->pad);
	bench_cell_str(t, shape);
	bench_cell_int(t, n);
	bench_cell_num(t, r[0].median * 1e3);
	bench_cell_num(t, r[1].median * 1e3);
	bench_cell_num(t, r[1].median / r[0].median);
	bench_cell_num(t, layer_ops(&l) / r[0].median * 1e-9);
	bench_cell_num(t, layer_ops(&l) / r[1].median * 1e-9);
	bench_cell_str(t, dnnq_conv_path(l.conv));
	bench_cell_str(t, l.impl);
	bench_cell_int(t, e.dnnq);
	bench_cell_int(t, e.onednn);
	bench_cell_num(t, r[0].iqr);
	bench_cell_num(t, r[1].iqr);
	bench_cell_num(t, others);
	bench_cell_int(t, r[0].reps);
	bench_row_end(t);
	tot[0] += r[0].median;
	tot[1] += r[1].median;
	layer_free(&l);
}

/* CPU time / wall time of both on a mid-size layer: the thread settings took. */
static void threads_check(FILE *f, const struct onednn *dn, const struct bench_threads *th,
                          unsigned n)
{
	struct layer l;
	double secs = bench_is_quick() ? 0.05 : 0.2;
	layer_init(&l, &model_resnet18_convs[1], dn, th, n);
	struct bench_cand c[2] = { { "dnnq", run_dnnq, &l }, { "oneDNN", run_onednn, &l } };
	double busy[2];
	fprintf(f, "threads: %u; CPUs kept busy (CPU time / wall time, %s):", n, l.s->name);
	for (int i = 0; i < 2; i++) {
		busy[i] = bench_cpu_per_wall(&c[i], secs);
		fprintf(f, " %s %.2f", c[i].name, busy[i]);
	}
	fprintf(f, "\n");
	for (int i = 0; i < 2; i++) {
		if (n == 1 && busy[i] > 1.5)
			bench_die("bench: %s keeps %.2f CPUs busy with 1 thread set", c[i].name,
			          busy[i]);
		if (n > 1 && busy[i] < 0.75 * n)
			bench_warn("%s keeps only %.2f CPUs busy with %u threads (are other "
			           "processes using the CPUs?)", c[i].name, busy[i], n);
	}
	layer_free(&l);
}

int bench_cmd_conv(const struct bench_opts *o)
{
	struct bench_threads th;
	struct bench_table t;
	struct onednn dn;
	unsigned n = o->threads ? o->threads : 1;
	double tot[2] = { 0, 0 };
	FILE *f = bench_text(o->tsv);
	const char *kernel = bench_dnnq_gemm_kernel();
	fprintf(f, "\n== ResNet-18 convolutions, batch 1, %u thread%s, dnnq GEMM kernel %s ==\n",
	        n, n > 1 ? "s" : "", kernel);
	DNNL_CHECK(dnnl_engine_create(&dn.eng, dnnl_cpu, 0));
	DNNL_CHECK(dnnl_stream_create(&dn.stream, dn.eng, dnnl_stream_default_flags));
	bench_peers_threads(n);
	bench_threads_init(&th, n);
	threads_check(f, &dn, &th, n);
	bench_table_begin(&t, conv_cols, sizeof conv_cols / sizeof *conv_cols, o->tsv);
	for (size_t i = 0; i < model_resnet18_nconvs; i++)
		conv_row(&t, &model_resnet18_convs[i], &dn, &th, n, tot);
	bench_note(&t, "Sum of the rows (each distinct shape once; ResNet-18 runs some of them "
	           "up to 3 times): dnnq %.2f ms, oneDNN %.2f ms, oneDNN/dnnq %.2f.",
	           tot[0] * 1e3, tot[1] * 1e3, tot[1] / tot[0]);
	bench_note(&t, "Both: u8 NHWC input (0..255, zero point 0), s8 weights -63..63 with "
	           "per-channel scales, an int32-domain bias, u8 NHWC output (zero point 0, so the "
	           "u8 clamp is a fused ReLU). dnnq: dnnq_conv_create (weights packed for the %s "
	           "GEMM kernel) before timing; timed: dnnq_conv_setup + dnnq_conv_run, as a graph "
	           "run does. oneDNN: dnnl_convolution_forward (algorithm auto), weights format "
	           "`any` reordered before timing, per-channel output scales, f32 bias; timed: "
	           "dnnl_primitive_execute + dnnl_stream_wait. impl: the implementation oneDNN "
	           "chose.", kernel);
	bench_note(&t, "ms: median of interleaved reps; oneDNN/dnnq: oneDNN's median time / "
	           "dnnq's (> 1: dnnq faster); GOPS: 2 * OH * OW * Cout * K * K * Cin / median. "
	           "path: dnnq_conv_path. Checked first on up to 36 pixels a layer (first, last "
	           "and middle rows and columns) against dnnq_conv_reference quantized: dnnq "
	           "within 1 LSB (TSV: dnnq_max_err, onednn_max_err). others: CPUs other "
	           "processes kept busy; a disturbed row is measured twice, the less disturbed "
	           "kept.");
	bench_threads_free(&th);
	dnnl_stream_destroy(dn.stream);
	dnnl_engine_destroy(dn.eng);
	return 0;
}
