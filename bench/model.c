/*
 * bench/model.c — `dnnq-bench model`: ResNet-18 and MobileNetV2 end to end
 * (bench/models.h: the graph API, random weights, activations calibrated on
 * a random image), batch 1, 224 x 224 x 3 u8 in, 1000 f32 logits out, on
 * one thread and on a dnnq_pool of N (default 2), measured interleaved so
 * the speedup compares the same machine state.
 *
 * There is no peer in the run: oneDNN and OpenBLAS have no int8 graph
 * runtime to load these models into. For scale the table ends with fixed,
 * published numbers of ONNX Runtime on the same models, and the targets.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/models.h"
#include "tests/rng.h"

#define MIN_REPS       20
#define MIN_REPS_QUICK 5

/* Published reference numbers (not measured here): ONNX Runtime 1.30, int8
 * QDQ models, 1 thread. And the targets. */
#define ORT_RESNET18_MS    31.6
#define ORT_MOBILENETV2_MS 9.0
#define TARGET_RESNET18_MS    30.0
#define TARGET_MOBILENETV2_MS 8.0
#define TARGET_RESNET18_SPEEDUP 1.7

struct model {
	enum model_kind kind;
	struct dnnq_graph *g;
	uint8_t *in;
	float *out;              /* logits, one run */
	size_t out_bytes;
	double build_s;
};

struct model_cand {
	struct model *m;
	const struct dnnq_executor *ex;
	float *out;
};

static void run_model(void *arg)
{
	const struct model_cand *c = arg;
	const void *in[1] = { c->m->in };
	void *out[1] = { c->out };
	int rc = dnnq_graph_run(c->m->g, in, out, c->ex);
	if (rc)
		bench_die("bench: %s: dnnq_graph_run failed: %s", model_name(c->m->kind),
		          dnnq_strerror(rc));
}

/* Builds (mo: NULL, or the accumulation options) and plans for up to
 * nthreads; a random image in (the same one for a kind, whatever mo). */
static void model_init(struct model *m, enum model_kind kind, unsigned nthreads,
                       const struct model_opts *mo)
{
	struct dnnq_diag diag = { "" };
	struct dnnq_tensor_info ii, oi;
	*m = (struct model){ .kind = kind };
	double t0 = bench_now();
	m->g = model_build_opts(kind, bench_dnnq_isa(), 1, mo, &diag);
	if (!m->g)
		bench_die("bench: model_build(%s): %s", model_name(kind), diag.msg);
	m->build_s = bench_now() - t0;
	int rc = dnnq_graph_plan(m->g, 1, nthreads, &diag);
	if (rc)
		bench_die("bench: %s: dnnq_graph_plan: %s: %s", model_name(kind), dnnq_strerror(rc),
		          diag.msg);
	if (dnnq_graph_num_inputs(m->g) != 1 || dnnq_graph_num_outputs(m->g) != 1 ||
	    dnnq_graph_input_info(m->g, 0, &ii) || dnnq_graph_output_info(m->g, 0, &oi) ||
	    ii.dtype != DNNQ_DTYPE_U8 || oi.dtype != DNNQ_DTYPE_F32)
		bench_die("bench: %s: expected one u8 input and one f32 output", model_name(kind));
	m->in = bench_alloc(ii.bytes);
	m->out = bench_alloc(oi.bytes);
	m->out_bytes = oi.bytes;
	struct rng r = { 0x6a09e667f3bcc909ull + (uint64_t)kind };
	for (size_t i = 0; i < ii.bytes; i++)
		m->in[i] = (uint8_t)rng_int(&r, 0, 255);
}

static void model_free(struct model *m)
{
	dnnq_graph_destroy(m->g);
	free(m->in);
	free(m->out);
}

/* Outside the timing: the logits are finite and not all alike, and the
 * N-thread run gives the 1-thread result bit for bit (engine/executor.h). */
static void check(struct model *m, const struct bench_threads *th, float *out_n)
{
	struct model_cand c1 = { m, NULL, m->out }, cn = { m, th->ex, out_n };
	size_t n = m->out_bytes / sizeof(float);
	run_model(&c1);
	float lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(m->out[i]))
			bench_die("bench: %s: logit %zu is %g", model_name(m->kind), i, m->out[i]);
		lo = fminf(lo, m->out[i]);
		hi = fmaxf(hi, m->out[i]);
	}
	if (!(hi > lo))
		bench_die("bench: %s: all %zu logits are %g", model_name(m->kind), n, lo);
	if (th->ex) {
		run_model(&cn);
		if (memcmp(out_n, m->out, m->out_bytes))
			bench_die("bench: %s: the logits on 1 and %u threads differ",
			          model_name(m->kind), th->exec.nthreads);
	}
}

static const struct bench_col model_cols[] = {
	{ "model", "model", 11, -2 },
	{ "nodes", "nodes", 5, -1 },
	{ "threads", "threads", 7, -1 },
	{ "ms_1t", "1-thread ms", 11, 2 },
	{ "ms_nt", "N-thread ms", 11, 2 },
	{ "speedup", "speedup", 7, 2 },
	{ "efficiency_pct", "efficiency %", 12, 1 },
	{ "iqr_1t", "1t IQR %", 8, 1 },
	{ "iqr_nt", "Nt IQR %", 8, 1 },
	{ "others_cpus", "others", 6, 2 },
	{ "reps", "reps", 4, -1 },
	{ "build_s", "", 0, 2 },
	{ "arena_bytes", "", 0, -1 },
};

/* res[0]: 1 thread, res[1]: N threads (when n > 1). Returns the CPUs other
 * processes kept busy meanwhile. */
static double model_row(struct bench_table *t, enum model_kind kind, unsigned n,
                        const struct bench_threads *th, struct bench_result *res)
{
	struct model m;
	model_init(&m, kind, n, NULL);
	float *out_n = bench_alloc(m.out_bytes);
	check(&m, th, out_n);
	struct model_cand mc[2] = { { &m, NULL, m.out }, { &m, th->ex, out_n } };
	struct bench_cand c[2] = { { "1 thread", run_model, &mc[0] },
	                           { "N threads", run_model, &mc[1] } };
	struct bench_budget b = bench_budget_threads(bench_budget(), n);
	unsigned want = bench_is_quick() ? MIN_REPS_QUICK : MIN_REPS;
	b.min_reps = b.min_reps > want ? b.min_reps : want;
	double others = bench_interleave_guarded(c, n > 1 ? 2 : 1, b, n, res);
	bool nt = n > 1;
	double x = nt ? res[0].median / res[1].median : 0;
	bench_cell_str(t, model_name(kind));
	bench_cell_int(t, (long long)dnnq_graph_num_nodes(m.g));
	bench_cell_int(t, n);
	bench_cell_num(t, res[0].median * 1e3);
	bench_cell_opt(t, nt, res[1].median * 1e3, 2);
	bench_cell_opt(t, nt, x, 2);
	bench_cell_opt(t, nt, 100 * x / n, 1);
	bench_cell_num(t, 100 * res[0].iqr);
	bench_cell_opt(t, nt, 100 * res[1].iqr, 1);
	bench_cell_num(t, others);
	bench_cell_int(t, res[0].reps);
	bench_cell_num(t, m.build_s);
	bench_cell_int(t, (long long)dnnq_graph_arena_bytes(m.g));
	bench_row_end(t);
	free(out_n);
	model_free(&m);
	return others;
}

/* "what <= limit: met (value)", MISSED, or not judged when other processes
 * took CPUs the measurement needed. */
static void target(char *buf, size_t size, const char *what, double value, double limit,
                   bool at_most, const char *unit, double others, unsigned threads)
{
	bool ok = at_most ? value <= limit : value >= limit;
	snprintf(buf, size, "%s %s %.1f%s: %s (%.2f%s)", what, at_most ? "<=" : ">=", limit, unit,
	         bench_load_disturbed(others, threads) ? "not judged, other processes busy"
	         : ok ? "met" : "MISSED", value, unit);
}

static const struct bench_col acc16_cols[] = {
	{ "model", "model", 11, -2 },
	{ "acc16_layers", "acc16 layers", 12, -2 },
	{ "ms_acc32", "acc32 ms", 9, 2 },
	{ "ms_acc16", "acc16 ms", 9, 2 },
	{ "ratio", "acc32/acc16", 11, 2 },
	{ "logits_db", "logits dB", 9, 1 },
	{ "acc32_fp32_db", "acc32 vs fp32 dB", 16, 2 },
	{ "acc16_fp32_db", "acc16 vs fp32 dB", 16, 2 },
	{ "others_cpus", "others", 6, 2 },
	{ "reps", "reps", 4, -1 },
};

/* The logits' SQNR against the fp32 chain of the same graph on m's image
 * (the last layer's, model_shadow_layers); replans m for 1 thread. */
static double logits_fp32_db(struct model *m)
{
	double db[MODEL_MAX_LAYERS];
	int n;
	struct dnnq_diag diag = { "" };
	if (model_shadow_layers(m->g, m->in, db, &n, &diag) || !n)
		bench_die("bench: %s: %s", model_name(m->kind), diag.msg);
	return db[n - 1];
}

/* ResNet-18 with 16-bit accumulation (issue 10) in the layers
 * model_acc16_select keeps (dnnq-convert --acc16=auto's rule and default
 * threshold: a layer alone acc16 loses less than ACC16_MAX_LOSS_DB of SQNR
 * at its output), against the acc32 model, one thread, interleaved. */
#define ACC16_MAX_LOSS_DB 0.5
#define TARGET_RESNET18_ACC16_MS 25.0

static void acc16_table(const struct bench_opts *o)
{
	struct dnnq_diag diag = { "" };
	struct dnnq_acc16_opts ao = { 0 };
	bool keep[MODEL_MAX_LAYERS] = { false };
	double loss_db[MODEL_MAX_LAYERS];
	int nl = 0, kept = 0;
	if (model_acc16_select(MODEL_RESNET18, bench_dnnq_isa(), 1, &ao, ACC16_MAX_LOSS_DB, keep,
	                       loss_db, &nl, &diag))
		bench_die("bench: acc16 selection: %s", diag.msg);
	for (int l = 0; l < nl; l++)
		kept += keep[l];
	struct model a, b;
	struct model_opts mo = { true, ao, keep, NULL };
	model_init(&a, MODEL_RESNET18, 1, NULL);
	model_init(&b, MODEL_RESNET18, 1, &mo);
	struct model_cand mc[2] = { { &a, NULL, a.out }, { &b, NULL, b.out } };
	run_model(&mc[0]);
	run_model(&mc[1]);
	double db = dnnq_sqnr_db(a.out, b.out, a.out_bytes / sizeof(float));
	double fp32_db[2] = { logits_fp32_db(&a), logits_fp32_db(&b) };
	struct bench_cand c[2] = { { "acc32", run_model, &mc[0] }, { "acc16", run_model, &mc[1] } };
	struct bench_result res[2];
	struct bench_budget bb = bench_budget();
	unsigned want = bench_is_quick() ? MIN_REPS_QUICK : MIN_REPS;
	bb.min_reps = bb.min_reps > want ? bb.min_reps : want;
	double others = bench_interleave_guarded(c, 2, bb, 1, res);
	struct bench_table t;
	char layers[32], t1[128];
	fprintf(bench_text(o->tsv), "\n== ResNet-18, 16-bit accumulation in the layers auto "
	        "keeps (issue 10), 1 thread ==\n");
	bench_table_begin(&t, acc16_cols, sizeof acc16_cols / sizeof *acc16_cols, o->tsv);
	snprintf(layers, sizeof layers, "%d of %d", kept, nl);
	bench_cell_str(&t, model_name(MODEL_RESNET18));
	bench_cell_str(&t, layers);
	bench_cell_num(&t, res[0].median * 1e3);
	bench_cell_num(&t, res[1].median * 1e3);
	bench_cell_num(&t, res[0].median / res[1].median);
	bench_cell_num(&t, db);
	bench_cell_num(&t, fp32_db[0]);
	bench_cell_num(&t, fp32_db[1]);
	bench_cell_num(&t, others);
	bench_cell_int(&t, res[0].reps);
	bench_row_end(&t);
	bench_note(&t, "acc16: the GEMM of engine/gemm.h with W split at nbits %d (outliers in "
	           "32 bits), spill %d; layers kept where acc16 alone loses < %.1f dB of SQNR at "
	           "the layer's output (against the graph's fp32 chain, on another random image: "
	           "dnnq-convert --acc16=auto's rule and default). logits dB: acc16 against acc32 "
	           "on the timed image; vs fp32: the logits against the fp32 chain of the same "
	           "graph (dnnq_graph_shadow).", DNNQ_ACC16_DEFAULT_NBITS,
	           DNNQ_ACC16_DEFAULT_SPILL, ACC16_MAX_LOSS_DB);
	char losses[MODEL_MAX_LAYERS * 10] = "";
	for (int l = 0, at = 0; l < nl && at < (int)sizeof losses; l++)
		at += snprintf(losses + at, sizeof losses - (size_t)at, "%s%.2f%s", l ? " " : "",
		               loss_db[l], keep[l] ? "*" : "");
	bench_note(&t, "Per layer (conv1 .. fc), dB lost with acc16 alone (* kept): %s.", losses);
	bench_note(&t, "Target: acc16 logits SQNR within 1 dB of acc32's: %s (%.2f dB lost).",
	           fp32_db[0] - fp32_db[1] <= 1.0 ? "met" : "MISSED", fp32_db[0] - fp32_db[1]);
	target(t1, sizeof t1, "ResNet-18 with acc16, 1 thread,", res[1].median * 1e3,
	       TARGET_RESNET18_ACC16_MS, true, " ms", others, 1);
	bench_note(&t, "Target: %s.", t1);
	model_free(&a);
	model_free(&b);
}

int bench_cmd_model(const struct bench_opts *o)
{
	struct bench_threads th;
	struct bench_table t;
	struct bench_result r[2][2];
	unsigned n = o->threads ? o->threads : 2;
	const char *kernel = bench_dnnq_gemm_kernel();
	char cfg[32];
	snprintf(cfg, sizeof cfg, n > 1 ? "1 vs %u threads" : "1 thread", n);
	fprintf(bench_text(o->tsv), "\n== Models end to end, batch 1, 224x224x3, %s, dnnq GEMM "
	        "kernel %s ==\n", cfg, kernel);
	bench_threads_init(&th, n);
	memset(r, 0, sizeof r);
	bench_table_begin(&t, model_cols, sizeof model_cols / sizeof *model_cols, o->tsv);
	double others[2];
	others[0] = model_row(&t, MODEL_RESNET18, n, &th, r[0]);
	others[1] = model_row(&t, MODEL_MOBILENETV2, n, &th, r[1]);
	bench_note(&t, "dnnq_graph_run, u8 image in, 1000 f32 logits out; graphs built by "
	           "bench/models.c (random 7-bit weights, activations calibrated on a random "
	           "image) for %s, planned once. 1 thread: the calling thread; N: a dnnq_pool of "
	           "%u (unpinned). ms: median of >= %d interleaved runs each%s; speedup: 1-thread "
	           "median / N-thread median. Checked first: finite, distinct logits, identical on "
	           "1 and N threads.", dnnq_isa_name(bench_dnnq_isa()), n,
	           bench_is_quick() ? MIN_REPS_QUICK : MIN_REPS,
	           n > 1 ? " (before each, a 1 ms sleep and an untimed run: timing.c)" : "");
	bench_note(&t, "others: CPUs other processes kept busy; a run they took needed CPUs from "
	           "is measured twice, the less disturbed kept.");
	bench_note(&t, "For scale, fixed published numbers, not measured in this run: ONNX "
	           "Runtime 1.30 int8 (QDQ), 1 thread: ResNet-18 %.1f ms, MobileNetV2 %.1f ms.",
	           ORT_RESNET18_MS, ORT_MOBILENETV2_MS);
	char t1[128], t2[128], t3[128];
	target(t1, sizeof t1, "ResNet-18, 1 thread,", r[0][0].median * 1e3, TARGET_RESNET18_MS,
	       true, " ms", others[0], 1);
	target(t2, sizeof t2, "MobileNetV2, 1 thread,", r[1][0].median * 1e3,
	       TARGET_MOBILENETV2_MS, true, " ms", others[1], 1);
	if (n == 2)
		target(t3, sizeof t3, "ResNet-18 speedup on 2 threads", r[0][0].median /
		       r[0][1].median, TARGET_RESNET18_SPEEDUP, false, "x", others[0], n);
	else
		snprintf(t3, sizeof t3, "ResNet-18 speedup on 2 threads >= %.1fx: not measured "
		         "(--threads %u)", TARGET_RESNET18_SPEEDUP, n);
	bench_note(&t, "Targets: %s; %s; %s.", t1, t2, t3);
	bench_threads_free(&th);
	if (bench_dnnq_isa() != DNNQ_ISA_SCALAR)
		acc16_table(o);
	return 0;
}
