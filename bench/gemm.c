/*
 * bench/gemm.c — `dnnq-bench gemm` and `dnnq-bench scaling`: the u8 x s8 ->
 * s32 GEMM under FC and convolution (engine/gemm.h), against oneDNN's
 * dnnl_gemm_u8s8s32 on the same integers and OpenBLAS's cblas_sgemm on the
 * same shapes in fp32 (what an unquantized model would run), all three with
 * the same thread count and measured interleaved. Each shape is first
 * checked: dnnq's int32 result must equal oneDNN's exactly.
 *
 * dnnq's weights are packed once, outside the timed region (as at model
 * load); oneDNN and OpenBLAS get the weight layout they are fastest with on
 * that shape, found by a short probe. dnnq's GOPS are also read as a share
 * of the measured peaks (peak.c): the AVX2 one on every row, the AVX-512
 * VNNI one on the rows where dnnq_gemm runs its vpdpbusd kernel (weights
 * packed for DNNQ_ISA_AVX512VNNI; --isa avx2 keeps the AVX2 kernel).
 * `scaling` measures dnnq alone, on one thread and on a pool of N,
 * interleaved.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include "bench/bench.h"
#include "daemon/pool.h"
#include "engine/gemm.h"
#include "tests/rng.h"

/* One shape's operands, in every layout a candidate needs. */
struct gemm_data {
	size_t m, n, k;
	uint8_t *a;          /* M x K, 7-bit values */
	int8_t *w;           /* N x K */
	int8_t *wt;          /* K x N: w transposed */
	float *af, *wf, *wtf;
	struct dnnq_gemm_weights pw;
	int32_t *c_dnnq, *c_dnnl;
	float *c_blas;
};

/* One candidate: dnnq on an executor, or a peer with B as N x K (trans 'T')
 * or K x N ('N'), writing to c. */
struct gemm_cand {
	const struct gemm_data *d;
	const struct dnnq_executor *ex;
	char trans;
	void *c;
};

static void run_dnnq(void *arg)
{
	const struct gemm_cand *g = arg;
	const struct gemm_data *d = g->d;
	const struct dnnq_gemm_output out = { .dtype = DNNQ_DTYPE_S32 };
	int rc = dnnq_gemm(&d->pw, d->m, d->a, d->k, g->c, d->n, &out, g->ex);
	if (rc)
		bench_die("bench: dnnq_gemm %zux%zux%zu failed: %s", d->m, d->n, d->k,
		          dnnq_strerror(rc));
}

static void run_onednn(void *arg)
{
	static const int32_t co = 0;
	const struct gemm_cand *g = arg;
	const struct gemm_data *d = g->d;
	bool t = g->trans == 'T';
	dnnl_status_t st = dnnl_gemm_u8s8s32('N', g->trans, 'F', d->m, d->n, d->k, 1.0f,
	                                     d->a, d->k, 0, t ? d->w : d->wt, t ? d->k : d->n,
	                                     0, 0.0f, g->c, d->n, &co);
	if (st != dnnl_success)
		bench_die("bench: dnnl_gemm_u8s8s32 %zux%zux%zu failed: status %d", d->m, d->n,
		          d->k, (int)st);
}

static void run_openblas(void *arg)
{
	const struct gemm_cand *g = arg;
	const struct gemm_data *d = g->d;
	bool t = g->trans == 'T';
	cblas_sgemm(CblasRowMajor, CblasNoTrans, t ? CblasTrans : CblasNoTrans,
	            (int)d->m, (int)d->n, (int)d->k, 1.0f, d->af, (int)d->k,
	            t ? d->wf : d->wtf, t ? (int)d->k : (int)d->n, 0.0f, g->c, (int)d->n);
}

/* ---- operands ---- */

static void fill(struct gemm_data *d, uint64_t seed)
{
	struct rng r = { seed };
	for (size_t i = 0; i < d->m * d->k; i++)
		d->a[i] = (uint8_t)rng_int(&r, 0, 127);
	for (size_t i = 0; i < d->n * d->k; i++)
		d->w[i] = (int8_t)rng_int(&r, -128, 127);
}

/* The transposed and fp32 copies the peers read. */
static void peer_layouts(struct gemm_data *d)
{
	size_t n = d->n, k = d->k;
	d->wt = bench_alloc(n * k);
	d->af = bench_alloc(d->m * k * sizeof(float));
	d->wf = bench_alloc(n * k * sizeof(float));
	d->wtf = bench_alloc(n * k * sizeof(float));
	d->c_dnnl = bench_alloc(d->m * n * sizeof(int32_t));
	d->c_blas = bench_alloc(d->m * n * sizeof(float));
	for (size_t i = 0; i < d->m * k; i++)
		d->af[i] = d->a[i];
	for (size_t j = 0; j < n; j++) {
		for (size_t kk = 0; kk < k; kk++) {
			d->wt[kk * n + j] = d->w[j * k + kk];
			d->wf[j * k + kk] = d->w[j * k + kk];
			d->wtf[kk * n + j] = d->w[j * k + kk];
		}
	}
}

static void gemm_data_init(struct gemm_data *d, struct bench_shape s, bool peers)
{
	struct dnnq_diag diag = { "" };
	*d = (struct gemm_data){ .m = s.m, .n = s.n, .k = s.k };
	d->a = bench_alloc(s.m * s.k);
	d->w = bench_alloc(s.n * s.k);
	d->c_dnnq = bench_alloc(s.m * s.n * sizeof(int32_t));
	fill(d, 0x9e3779b97f4a7c15ull ^ (s.m * 1000003 + s.n * 1009 + s.k));
	int rc = dnnq_gemm_pack(bench_dnnq_isa(), d->w, s.n, s.k, s.k, &d->pw, &diag);
	if (rc)
		bench_die("bench: dnnq_gemm_pack %zux%zu failed: %s: %s", s.n, s.k,
		          dnnq_strerror(rc), diag.msg);
	if (peers)
		peer_layouts(d);
}

static void gemm_data_free(struct gemm_data *d)
{
	dnnq_gemm_weights_free(&d->pw);
	free(d->a);
	free(d->w);
	free(d->wt);
	free(d->af);
	free(d->wf);
	free(d->wtf);
	free(d->c_dnnq);
	free(d->c_dnnl);
	free(d->c_blas);
}

/* ---- verification, outside the timed region ---- */

static long long exact(const struct gemm_data *d, size_t i, size_t j)
{
	long long s = 0;
	for (size_t kk = 0; kk < d->k; kk++)
		s += (long long)d->a[i * d->k + kk] * d->w[j * d->k + kk];
	return s;
}

/* oneDNN with layout `trans` must give dnnq's int32 result bit for bit. */
static void verify_onednn(struct gemm_data *d, char trans)
{
	struct gemm_cand g = { .d = d, .trans = trans, .c = d->c_dnnl };
	size_t n = d->m * d->n, bad = 0, first = 0;
	memset(d->c_dnnl, 0xa5, n * sizeof(int32_t));
	run_onednn(&g);
	for (size_t i = n; i-- > 0;)
		if (d->c_dnnq[i] != d->c_dnnl[i])
			bad++, first = i;
	if (!bad)
		return;
	size_t r = first / d->n, c = first % d->n;
	bench_die("bench: gemm %zux%zux%zu: dnnq and oneDNN (B %s) disagree in %zu of %zu "
	          "elements; first C[%zu][%zu]: dnnq %d, oneDNN %d, exact %lld",
	          d->m, d->n, d->k, trans == 'T' ? "N x K, transB T" : "K x N", bad, n, r, c,
	          d->c_dnnq[first], d->c_dnnl[first], exact(d, r, c));
}

/* OpenBLAS in fp32 cannot be exact (sums pass 2^24); this only catches a
 * wrong call: error within 1e-5 of the largest possible |C|. */
static void verify_openblas(struct gemm_data *d, char trans)
{
	struct gemm_cand g = { .d = d, .trans = trans, .c = d->c_blas };
	double tol = 1e-5 * (double)d->k * 127 * 128;
	run_openblas(&g);
	for (size_t i = 0; i < d->m * d->n; i++)
		if (!(fabs(d->c_blas[i] - (double)d->c_dnnq[i]) <= tol))
			bench_die("bench: gemm %zux%zux%zu: OpenBLAS (trans %c) C[%zu] = %g, "
			          "int32 result %d", d->m, d->n, d->k, trans, i,
			          d->c_blas[i], d->c_dnnq[i]);
}

static void verify(struct gemm_data *d, const struct dnnq_executor *ex)
{
	struct gemm_cand g = { .d = d, .ex = ex, .c = d->c_dnnq };
	run_dnnq(&g);
	verify_onednn(d, 'T');
	verify_onednn(d, 'N');
	verify_openblas(d, 'T');
	verify_openblas(d, 'N');
}

/* ---- shapes ---- */

static const size_t default_m[] = { 1, 4, 16, 64, 256, 1024 };
static const struct bench_shape default_nk[] = { { 0, 1024, 1024 }, { 0, 4096, 1024 },
                                           { 0, 1024, 4096 } };
static const struct bench_shape resnet[] = { { 3136, 64, 576 }, { 196, 256, 2304 },
                                       { 49, 512, 4608 } };

#define NDEFAULT (sizeof default_nk / sizeof *default_nk * \
                  sizeof default_m / sizeof *default_m + sizeof resnet / sizeof *resnet)

static size_t default_shapes(struct bench_shape *s)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof default_nk / sizeof *default_nk; i++)
		for (size_t j = 0; j < sizeof default_m / sizeof *default_m; j++)
			s[n++] = (struct bench_shape){ default_m[j], default_nk[i].n, default_nk[i].k };
	for (size_t i = 0; i < sizeof resnet / sizeof *resnet; i++)
		s[n++] = resnet[i];
	return n;
}

/* The shapes to run: --shapes or the defaults, without M below min_m. */
static struct bench_shape *shapes(const struct bench_opts *o, size_t *count)
{
	struct bench_shape *s;
	size_t n = 0;
	if (o->shapes) {
		s = bench_alloc(o->nshapes * sizeof *s);
		memcpy(s, o->shapes, o->nshapes * sizeof *s);
		*count = o->nshapes;
	} else {
		s = bench_alloc(NDEFAULT * sizeof *s);
		*count = default_shapes(s);
	}
	for (size_t i = 0; i < *count; i++)
		if (s[i].m >= o->min_m)
			s[n++] = s[i];
	*count = n;
	return s;
}

static double gops(const struct gemm_data *d, double seconds)
{
	return 2.0 * (double)d->m * (double)d->n * (double)d->k / seconds * 1e-9;
}

/* ---- threads ---- */

/* CPU time / wall time of each library on a mid-size GEMM: proves the
 * thread settings took (1 thread must not show 2 busy CPUs, and so on). */
static void threads_check(FILE *f, const struct bench_threads *t, unsigned n)
{
	struct gemm_data d;
	double secs = bench_is_quick() ? 0.05 : 0.2, r[3];
	gemm_data_init(&d, (struct bench_shape){ 256, 1024, 1024 }, true);
	struct gemm_cand g[3] = { { &d, NULL, 'T', d.c_dnnl }, { &d, NULL, 'T', d.c_blas },
	                          { &d, t->ex, 0, d.c_dnnq } };
	struct bench_cand c[3] = { { "oneDNN", run_onednn, &g[0] },
	                           { "OpenBLAS", run_openblas, &g[1] },
	                           { "dnnq", run_dnnq, &g[2] } };
	fprintf(f, "threads: %u; CPUs kept busy (CPU time / wall time, 256x1024x1024):", n);
	for (int i = 0; i < 3; i++) {
		r[i] = bench_cpu_per_wall(&c[i], secs);
		fprintf(f, " %s %.2f", c[i].name, r[i]);
	}
	fprintf(f, "\n");
	for (int i = 0; i < 3; i++) {
		if (n == 1 && r[i] > 1.5)
			bench_die("bench: %s keeps %.2f CPUs busy with 1 thread set", c[i].name, r[i]);
		if (n > 1 && r[i] < 0.75 * n)
			bench_warn("%s keeps only %.2f CPUs busy with %u threads (are other "
			           "processes using the CPUs?)", c[i].name, r[i], n);
	}
	gemm_data_free(&d);
}

/* ---- gemm ---- */

static const struct bench_col gemm_cols[] = {
	{ "threads", "", 0, -1 },
	{ "m", "M", 5, -1 },
	{ "n", "N", 5, -1 },
	{ "k", "K", 5, -1 },
	{ "dnnq_gops", "dnnq GOPS", 9, 1 },
	{ "onednn_gops", "oneDNN GOPS", 11, 1 },
	{ "openblas_gflops", "OpenBLAS GFLOPS", 15, 1 },
	{ "dnnq_vs_onednn", "dnnq/oneDNN", 11, 2 },
	{ "dnnq_vs_openblas", "dnnq/OpenBLAS", 13, 2 },
	{ "dnnq_kernel", "kernel", 10, -1 },
	{ "dnnq_pct_peak_avx2", "% AVX2 peak", 11, 1 },
	{ "dnnq_pct_peak_vnni", "% VNNI peak", 11, -1 },
	{ "onednn_b", "oneDNN B", 8, -1 },
	{ "openblas_b", "OpenBLAS B", 10, -1 },
	{ "others_cpus", "others", 6, 2 },
	{ "dnnq_us", "", 0, 1 },
	{ "onednn_us", "", 0, 1 },
	{ "openblas_us", "", 0, 1 },
	{ "dnnq_iqr", "", 0, 3 },
	{ "onednn_iqr", "", 0, 3 },
	{ "openblas_iqr", "", 0, 3 },
	{ "reps", "reps", 6, -1 },
};

static const char *layout_name(char trans)
{
	return trans == 'T' ? "NxK,T" : "KxN,N";
}

/* The faster layout of each peer on this shape, from a short interleaved
 * probe of all four (results not reported). */
static void probe_layouts(struct gemm_data *d, unsigned n, char *dnnl_trans, char *blas_trans)
{
	struct gemm_cand g[4] = { { d, NULL, 'T', d->c_dnnl }, { d, NULL, 'N', d->c_dnnl },
	                          { d, NULL, 'T', d->c_blas }, { d, NULL, 'N', d->c_blas } };
	struct bench_cand c[4] = { { "oneDNN T", run_onednn, &g[0] },
	                           { "oneDNN N", run_onednn, &g[1] },
	                           { "OpenBLAS T", run_openblas, &g[2] },
	                           { "OpenBLAS N", run_openblas, &g[3] } };
	struct bench_result r[4];
	bench_interleave(c, 4, bench_budget_threads(bench_budget_probe(), n), r);
	*dnnl_trans = r[0].median <= r[1].median ? 'T' : 'N';
	*blas_trans = r[2].median <= r[3].median ? 'T' : 'N';
}

/* The peaks dnnq is read against: the AVX2 one always (the spec's), the
 * AVX-512 VNNI one when dnnq runs its vpdpbusd kernel (0 otherwise). */
struct peaks {
	double avx2, vnni;
};

/* The percentage of `peak`, or a blank ("-" in the table) without one. */
static void pct_cell(struct bench_table *t, double gops, double peak)
{
	char buf[32];
	if (peak > 0)
		snprintf(buf, sizeof buf, "%.1f", 100 * gops / peak);
	else
		snprintf(buf, sizeof buf, "%s", t->tsv ? "" : "-");
	bench_cell_str(t, buf);
}

static void gemm_cells(struct bench_table *t, const struct gemm_data *d, unsigned n,
                       const struct bench_result *r, struct peaks peak, char dt, char bt,
                       double others)
{
	double g = gops(d, r[0].median);
	bench_cell_int(t, n);
	bench_cell_int(t, (long long)d->m);
	bench_cell_int(t, (long long)d->n);
	bench_cell_int(t, (long long)d->k);
	bench_cell_num(t, g);
	bench_cell_num(t, gops(d, r[1].median));
	bench_cell_num(t, gops(d, r[2].median));
	bench_cell_num(t, r[1].median / r[0].median);
	bench_cell_num(t, r[2].median / r[0].median);
	bench_cell_str(t, dnnq_isa_name(d->pw.isa));
	pct_cell(t, g, peak.avx2);
	pct_cell(t, g, d->pw.isa == DNNQ_ISA_AVX512VNNI ? peak.vnni : 0);
	bench_cell_str(t, layout_name(dt));
	bench_cell_str(t, layout_name(bt));
	bench_cell_num(t, others);
	for (int i = 0; i < 3; i++)
		bench_cell_num(t, r[i].median * 1e6);
	for (int i = 0; i < 3; i++)
		bench_cell_num(t, r[i].iqr);
	bench_cell_int(t, r[0].reps);
	bench_row_end(t);
}

static void gemm_row(struct bench_table *t, struct bench_shape s, const struct bench_threads *th,
                     unsigned n, struct peaks peak)
{
	struct gemm_data d;
	struct bench_result r[3];
	char dt, bt;
	gemm_data_init(&d, s, true);
	verify(&d, th->ex);
	probe_layouts(&d, n, &dt, &bt);
	struct gemm_cand g[3] = { { &d, th->ex, 0, d.c_dnnq }, { &d, NULL, dt, d.c_dnnl },
	                          { &d, NULL, bt, d.c_blas } };
	struct bench_cand c[3] = { { "dnnq", run_dnnq, &g[0] },
	                           { "oneDNN", run_onednn, &g[1] },
	                           { "OpenBLAS", run_openblas, &g[2] } };
	double others = bench_interleave_guarded(c, 3, bench_budget_threads(bench_budget(), n),
	                                         n, r);
	gemm_cells(t, &d, n, r, peak, dt, bt, others);
	gemm_data_free(&d);
}

static void gemm_notes(const struct bench_table *t, unsigned n, struct peaks peak,
                       const char *kernel)
{
	bench_note(t, "C = A * W^T. A: M x K u8 holding 7-bit values (0..127, what the "
	           "quantizer's reduce_range gives); W: N x K s8 (-128..127); int32 out, no zero "
	           "points, no bias. dnnq: dnnq_gemm, weights packed for %s before timing; "
	           "kernel: the ISA whose table's GEMM kernel dnnq_gemm ran (%s; "
	           "avx512vnni = vpdpbusd, avx2 = vpmaddubsw; --isa picks another). oneDNN: "
	           "dnnl_gemm_u8s8s32. OpenBLAS: cblas_sgemm on the same values in fp32.",
	           dnnq_isa_name(bench_dnnq_isa()), kernel);
	char vnni[160];
	if (peak.vnni > 0)
		snprintf(vnni, sizeof vnni, "%.1f GOPS (a row above 100%% of the AVX2 peak is no "
		         "error: that peak bounds AVX2 kernels only)", peak.vnni);
	else
		snprintf(vnni, sizeof vnni, "not measured: no row runs that kernel");
	bench_note(t, "GOPS, GFLOPS: 2*M*N*K / median time. Ratios: peer median time / dnnq "
	           "median time in the same row (> 1: dnnq faster). %% AVX2 peak: dnnq GOPS as a "
	           "share of the %u-thread AVX2 int8 peak (vpmaddubsw loop), %.1f GOPS. "
	           "%% VNNI peak: on rows where dnnq ran the VNNI kernel, its share of the "
	           "%u-thread AVX-512 VNNI peak (vpdpbusd zmm loop), %s. Peaks measured before "
	           "the table, as `peak` does.", n, peak.avx2, n, vnni);
	bench_note(t, "B: the weight layout the peer got, the faster on this shape of NxK,T "
	           "(B = W, transB) and KxN,N (B = W transposed). Each shape is verified first: "
	           "dnnq's int32 result equals oneDNN's exactly (both layouts). others: CPUs other "
	           "processes kept busy meanwhile (/proc/stat); a row they took needed CPUs from "
	           "is measured twice, the less disturbed kept. reps: interleaved timed reps per "
	           "candidate%s.",
	           n > 1 ? "; before each rep, a 1 ms sleep (the previous candidate's threads "
	           "stop spinning) and one untimed call (this one's wake up): timing.c" : "");
}

/* ---- acc16 (dnnq_gemm_pack_acc16) against the acc32 AVX2 kernel ---- */

/* Operands of an acc16 row: ReLU-like activations and per-channel
 * quantized Gaussian weights, the distributions of a real layer. */
struct acc16_data {
	size_t m, n, k;
	uint8_t *a;
	int8_t *w;
	struct dnnq_gemm_weights w32, w16;
	int32_t *c32, *c16;
};

/* a: max(0, N(0,1)) quantized with the scale that puts 4 sigma at amax
 * (255, or 127 as the quantizer's reduce_range; half the values 0); w:
 * N(0,1) per output channel, scaled so that the channel's largest |w| is
 * 127 (symmetric per-channel quantization). */
static void acc16_fill(struct acc16_data *d, int amax, uint64_t seed)
{
	struct rng r = { seed };
	float *row = bench_alloc(d->k * sizeof *row);
	for (size_t i = 0; i < d->m * d->k; i++) {
		double x = rng_gauss(&r) * amax / 4.0;
		d->a[i] = (uint8_t)(x <= 0 ? 0 : x >= amax ? amax : lrint(x));
	}
	for (size_t j = 0; j < d->n; j++) {
		double mx = 0;
		for (size_t t = 0; t < d->k; t++) {
			row[t] = (float)rng_gauss(&r);
			mx = fabs(row[t]) > mx ? fabs(row[t]) : mx;
		}
		for (size_t t = 0; t < d->k; t++)
			d->w[j * d->k + t] = (int8_t)lrint(row[t] / mx * 127.0);
	}
	free(row);
}

/* The acc32 baseline is the AVX2 kernel even on a CPU with VNNI. */
static void acc16_data_init(struct acc16_data *d, struct bench_shape s, int amax, unsigned nbits,
                            unsigned spill)
{
	struct dnnq_diag diag = { "" };
	struct dnnq_acc16_opts opt = { nbits, spill };
	*d = (struct acc16_data){ .m = s.m, .n = s.n, .k = s.k };
	d->a = bench_alloc(s.m * s.k);
	d->w = bench_alloc(s.n * s.k);
	d->c32 = bench_alloc(s.m * s.n * sizeof(int32_t));
	d->c16 = bench_alloc(s.m * s.n * sizeof(int32_t));
	acc16_fill(d, amax, 0x51ed270b27ull ^ (s.m * 1000003 + s.n * 1009 + s.k));
	/* acc32 on the AVX2 kernel: the one acc16's kernel is measured against */
	int rc = dnnq_gemm_pack(DNNQ_ISA_AVX2, d->w, s.n, s.k, s.k, &d->w32, &diag);
	if (!rc)
		rc = dnnq_gemm_pack_acc16(bench_dnnq_isa(), d->w, s.n, s.k, s.k, &opt, &d->w16, &diag);
	if (rc)
		bench_die("bench: acc16 pack %zux%zu failed: %s: %s", s.n, s.k, dnnq_strerror(rc),
		          diag.msg);
}

static void acc16_data_free(struct acc16_data *d)
{
	dnnq_gemm_weights_free(&d->w32);
	dnnq_gemm_weights_free(&d->w16);
	free(d->a);
	free(d->w);
	free(d->c32);
	free(d->c16);
}

struct acc16_cand {
	const struct acc16_data *d;
	const struct dnnq_gemm_weights *w;
	const struct dnnq_executor *ex;
	int32_t *c;
};

static void run_acc(void *arg)
{
	const struct acc16_cand *g = arg;
	const struct dnnq_gemm_output out = { .dtype = DNNQ_DTYPE_S32 };
	int rc = dnnq_gemm(g->w, g->d->m, g->d->a, g->d->k, g->c, g->d->n, &out, g->ex);
	if (rc)
		bench_die("bench: dnnq_gemm %zux%zux%zu failed: %s", g->d->m, g->d->n, g->d->k,
		          dnnq_strerror(rc));
}

static const struct bench_col acc16_cols[] = {
	{ "threads", "", 0, -1 },
	{ "m", "M", 5, -1 },
	{ "n", "N", 5, -1 },
	{ "k", "K", 5, -1 },
	{ "a_bits", "A bits", 6, -1 },
	{ "nbits", "nbits", 5, -1 },
	{ "spill", "spill", 5, -1 },
	{ "outlier_pct", "outliers %", 10, 2 },
	{ "acc32_sign", "acc32 sign", 10, -1 },
	{ "acc32_gops", "acc32 GOPS", 10, 1 },
	{ "acc16_gops", "acc16 GOPS", 10, 1 },
	{ "acc16_vs_acc32", "acc16/acc32", 11, 2 },
	{ "saturation_rate", "sat. rate", 9, -1 },
	{ "differ_pct", "C differs %", 11, 4 },
	{ "others_cpus", "others", 6, 2 },
	{ "acc32_us", "", 0, 1 },
	{ "acc16_us", "", 0, 1 },
	{ "acc32_iqr", "", 0, 3 },
	{ "acc16_iqr", "", 0, 3 },
	{ "reps", "reps", 6, -1 },
};

static void acc16_row(struct bench_table *t, struct bench_shape s, int amax, unsigned nbits,
                      unsigned spill, const struct bench_threads *th, unsigned n)
{
	struct acc16_data d;
	struct bench_result r[2];
	uint64_t events, adds;
	char rate[32];
	acc16_data_init(&d, s, amax, nbits, spill);
	struct acc16_cand g[2] = { { &d, &d.w32, th->ex, d.c32 }, { &d, &d.w16, th->ex, d.c16 } };
	struct bench_cand c[2] = { { "acc32", run_acc, &g[0] }, { "acc16", run_acc, &g[1] } };
	run_acc(&g[0]);
	run_acc(&g[1]);
	size_t differ = 0;
	for (size_t i = 0; i < s.m * s.n; i++)
		differ += d.c32[i] != d.c16[i];
	if (dnnq_gemm_acc16_saturation(&d.w16, s.m, d.a, s.k, &events, &adds))
		bench_die("bench: dnnq_gemm_acc16_saturation failed");
	if (!events && differ)
		bench_die("bench: acc16 %zux%zux%zu: %zu results differ from acc32 without a "
		          "saturation", s.m, s.n, s.k, differ);
	double others = bench_interleave_guarded(c, 2, bench_budget_threads(bench_budget(), n),
	                                         n, r);
	snprintf(rate, sizeof rate, "%.2g", (double)events / (double)adds);
	bench_cell_int(t, n);
	bench_cell_int(t, (long long)s.m);
	bench_cell_int(t, (long long)s.n);
	bench_cell_int(t, (long long)s.k);
	bench_cell_int(t, amax > 127 ? 8 : 7);
	bench_cell_int(t, d.w16.acc16_nbits);
	bench_cell_int(t, d.w16.acc16_spill);
	bench_cell_num(t, 100 * d.w16.outlier_density);
	/* whether the 32-bit kernel takes its sign trick (gemm-avx2.c) */
	bench_cell_int(t, amax > 127 && !d.w32.pair_safe);
	bench_cell_num(t, gops(&(struct gemm_data){ .m = s.m, .n = s.n, .k = s.k }, r[0].median));
	bench_cell_num(t, gops(&(struct gemm_data){ .m = s.m, .n = s.n, .k = s.k }, r[1].median));
	bench_cell_num(t, r[0].median / r[1].median);
	bench_cell_str(t, rate);
	bench_cell_num(t, 100.0 * (double)differ / (double)(s.m * s.n));
	bench_cell_num(t, others);
	for (int i = 0; i < 2; i++)
		bench_cell_num(t, r[i].median * 1e6);
	for (int i = 0; i < 2; i++)
		bench_cell_num(t, r[i].iqr);
	bench_cell_int(t, r[0].reps);
	bench_row_end(t);
	acc16_data_free(&d);
}

static const struct bench_shape acc16_shapes[] = { { 1024, 1024, 1024 }, { 3136, 64, 576 },
                                             { 784, 128, 1152 }, { 196, 256, 2304 } };

/* The acc16 tables: each shape at the defaults and without outliers
 * (nbits 8: W_main is all of W, its vpmaddubsw pair sums may saturate too),
 * with 8-bit and 7-bit activations, then the spill sweep that chose
 * DNNQ_ACC16_DEFAULT_SPILL. */
static void acc16_tables(const struct bench_opts *o, const struct bench_threads *th,
                         unsigned n)
{
	struct bench_table t;
	size_t ns = o->shapes ? o->nshapes : sizeof acc16_shapes / sizeof *acc16_shapes;
	const struct bench_shape *s = o->shapes ? o->shapes : acc16_shapes;
	fprintf(bench_text(o->tsv), "\n== GEMM acc16 (16-bit accumulation + outliers) vs the "
	        "acc32 AVX2 kernel, %u thread%s ==\n", n, n > 1 ? "s" : "");
	bench_table_begin(&t, acc16_cols, sizeof acc16_cols / sizeof *acc16_cols, o->tsv);
	for (size_t i = 0; i < ns; i++) {
		acc16_row(&t, s[i], 255, 0, 0, th, n);
		acc16_row(&t, s[i], 255, 8, 0, th, n);
		acc16_row(&t, s[i], 127, 0, 0, th, n);
		acc16_row(&t, s[i], 127, 8, 0, th, n);
	}
	static const unsigned spills[] = { 1, 2, 4, 8, 16, 32, 64, 65535 };
	struct bench_shape sweep = { 784, 128, 1152 };
	for (size_t i = 0; i < sizeof spills / sizeof *spills; i++)
		acc16_row(&t, sweep, 255, 0, spills[i], th, n);
	bench_note(&t, "C = A * W^T, int32 out. A: ReLU-like u8, max(0, N(0,1)) with 4 sigma at "
	           "255 (A bits 8) or at 127 (A bits 7, the quantizer's reduce_range); half "
	           "zeros. W: N(0,1) per output channel quantized symmetric per channel (largest "
	           "|w| = 127). acc32: dnnq_gemm_pack, the AVX2 kernel (vpmaddubsw, vpmaddwd, "
	           "vpaddd); sign 1: 8-bit activations against weight pairs that could "
	           "saturate vpmaddubsw, so it multiplies by the sign trick (|w| times a ^ key, "
	           "one more vpxor and vpabsb). "
	           "acc16: dnnq_gemm_pack_acc16 with nbits (7 = the default: W_main in -64..63, "
	           "the rest outliers; 8: no outliers, pair sums may saturate) and spill (steps "
	           "of 4 K between int16 -> int32 spills; default %d), interleaved with acc32 in "
	           "the same row.",
	           DNNQ_ACC16_DEFAULT_SPILL);
	bench_note(&t, "sat. rate: saturated 16-bit additions / all 16-bit additions "
	           "(dnnq_gemm_acc16_saturation on this A). C differs: outputs != acc32 (0 "
	           "without saturation: checked). The last %zu rows: the spill sweep on "
	           "784x128x1152, 8-bit A.", sizeof spills / sizeof *spills);
}

int bench_cmd_gemm(const struct bench_opts *o)
{
	struct bench_threads th;
	struct bench_table t;
	size_t ns;
	unsigned n = o->threads ? o->threads : 1;
	struct bench_shape *s = shapes(o, &ns);
	FILE *f = bench_text(o->tsv);
	const char *kernel = bench_dnnq_gemm_kernel();
	fprintf(f, "\n== GEMM u8 x s8 -> s32, %u thread%s, dnnq kernel %s ==\n", n,
	        n > 1 ? "s" : "", kernel);
	bench_peers_threads(n);
	bench_threads_init(&th, n);
	threads_check(f, &th, n);
	struct peaks peak = { bench_peak_best(DNNQ_PEAK_AVX2, n), 0 };
	if (bench_dnnq_isa() == DNNQ_ISA_AVX512VNNI)
		peak.vnni = bench_peak_best(DNNQ_PEAK_VNNI, n);
	bench_table_begin(&t, gemm_cols, sizeof gemm_cols / sizeof *gemm_cols, o->tsv);
	for (size_t i = 0; i < ns; i++)
		gemm_row(&t, s[i], &th, n, peak);
	gemm_notes(&t, n, peak, kernel);
	if (bench_dnnq_isa() != DNNQ_ISA_SCALAR)
		acc16_tables(o, &th, n);
	bench_threads_free(&th);
	free(s);
	return 0;
}

/* ---- scaling ---- */

static const struct bench_col scaling_cols[] = {
	{ "m", "M", 5, -1 },
	{ "n", "N", 5, -1 },
	{ "k", "K", 5, -1 },
	{ "threads", "threads", 7, -1 },
	{ "gops_1t", "1-thread GOPS", 13, 1 },
	{ "gops_nt", "N-thread GOPS", 13, 1 },
	{ "scaling", "scaling", 7, 2 },
	{ "efficiency_pct", "efficiency %", 12, 1 },
	{ "others_cpus", "others", 6, 2 },
	{ "us_1t", "", 0, 1 },
	{ "us_nt", "", 0, 1 },
	{ "reps", "reps", 6, -1 },
};

/* dnnq's result must not depend on the thread count (engine/executor.h). */
static int32_t *verify_threads(const struct gemm_data *d, const struct bench_threads *th)
{
	int32_t *c = bench_alloc(d->m * d->n * sizeof *c);
	struct gemm_cand g1 = { d, NULL, 0, d->c_dnnq }, gn = { d, th->ex, 0, c };
	run_dnnq(&g1);
	run_dnnq(&gn);
	if (memcmp(c, d->c_dnnq, d->m * d->n * sizeof *c))
		bench_die("bench: gemm %zux%zux%zu: results on 1 and %u threads differ",
		          d->m, d->n, d->k, th->exec.nthreads);
	return c;
}

static void scaling_row(struct bench_table *t, struct bench_shape s, const struct bench_threads *th,
                        unsigned n)
{
	struct gemm_data d;
	struct bench_result r[2];
	gemm_data_init(&d, s, false);
	int32_t *cn = verify_threads(&d, th);
	struct gemm_cand g[2] = { { &d, NULL, 0, d.c_dnnq }, { &d, th->ex, 0, cn } };
	struct bench_cand c[2] = { { "dnnq 1t", run_dnnq, &g[0] },
	                           { "dnnq Nt", run_dnnq, &g[1] } };
	double others = bench_interleave_guarded(c, 2, bench_budget_threads(bench_budget(), n),
	                                         n, r);
	double x = r[0].median / r[1].median;
	bench_cell_int(t, (long long)s.m);
	bench_cell_int(t, (long long)s.n);
	bench_cell_int(t, (long long)s.k);
	bench_cell_int(t, n);
	bench_cell_num(t, gops(&d, r[0].median));
	bench_cell_num(t, gops(&d, r[1].median));
	bench_cell_num(t, x);
	bench_cell_num(t, 100 * x / n);
	bench_cell_num(t, others);
	bench_cell_num(t, r[0].median * 1e6);
	bench_cell_num(t, r[1].median * 1e6);
	bench_cell_int(t, r[0].reps);
	bench_row_end(t);
	free(cn);
	gemm_data_free(&d);
}

int bench_cmd_scaling(const struct bench_opts *o)
{
	struct bench_threads th;
	struct bench_table t;
	size_t ns;
	unsigned n = o->threads ? o->threads : 2;
	struct bench_opts so = *o;
	if (n < 2)
		bench_die("bench: scaling needs --threads >= 2");
	if (!so.shapes && !so.min_m)
		so.min_m = 64;   /* one thread already uses a core well below */
	struct bench_shape *s = shapes(&so, &ns);
	fprintf(bench_text(o->tsv), "\n== dnnq GEMM thread scaling, 1 vs %u threads ==\n", n);
	bench_threads_init(&th, n);
	bench_table_begin(&t, scaling_cols, sizeof scaling_cols / sizeof *scaling_cols, o->tsv);
	for (size_t i = 0; i < ns; i++)
		scaling_row(&t, s[i], &th, n);
	bench_note(&t, "scaling: 1-thread median time / %u-thread median time (a dnnq_pool of "
	           "%u, unpinned), interleaved, each rep after a 1 ms sleep and an untimed call; "
	           "efficiency: scaling / threads. others: CPUs other processes kept busy "
	           "meanwhile; a disturbed row is measured twice, the less disturbed kept.", n, n);
	bench_threads_free(&th);
	free(s);
	return 0;
}
