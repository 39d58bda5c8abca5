/*
 * ONNX models end to end (issue 6): import, calibrate, lower, run through
 * the engine.
 *
 *   digits: the CNN and the MLP that tools/mkonnx.py trained on
 *     scikit-learn's digits, converted with every calibration method (and
 *     auto); int8 top-1 on the held-out split within 1.0 point of fp32 (for
 *     every method but KL, and for the best), and the best method's output
 *     SQNR >= 25 dB. Each row is printed
 *     ("convert: digits ...": BENCHMARKS.md's table).
 *   conformance: every model of tests/onnx/ops/MANIFEST converted and run
 *     as dnnq-convert and dnnq-run do (tests/conformance.h) against the
 *     expected outputs of the generator's own NumPy implementation: int8
 *     cases exactly, fp32 cases (calibrated on the case's input) at SQNR
 *     >= 30 dB int8 and within 1e-5 with every node fp32.
 *   tools: dnnq-convert and dnnq-run as a user runs them (DNNQ_BINDIR);
 *     the defaults (no -o, the model name, the creation time), float64
 *     inputs, and dnnqctl infer's batch split and output directory against
 *     the fake daemon (tests/fakedaemon.h).
 */
#define _GNU_SOURCE
#include <check.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "calibration/npy.h"
#include "daemon/pool.h"
#include "engine/f32-kernels.h"
#include "engine/op.h"
#include "engine/wcache.h"
#include "onnx/calib.h"
#include "onnx/precision.h"
#include "onnx/onnx.pb-c.h"
#include "tests/conformance.h"
#include "tests/fakedaemon.h"
#include "tests/qtensor-eq.h"
#include "tests/samples.h"
#include "tests/suites.h"

#define DIGITS "tests/onnx/digits"
#define OPS "tests/onnx/ops"
#define NPY_LIMIT ((size_t)1 << 28)

/* An array from a .npy file, its elements copied out (aligned). */
struct array {
	struct dnnq_npy a;
	void *data;
};

static void load(const char *path, struct array *out)
{
	struct dnnq_diag d = { "" };
	void *buf = NULL;
	int rc = dnnq_npy_read_file(path, NPY_LIMIT, &buf, &out->a, &d);
	ck_assert_msg(rc == 0, "%s", d.msg);
	out->data = malloc(out->a.nbytes ? out->a.nbytes : 1);
	ck_assert_ptr_nonnull(out->data);
	memcpy(out->data, out->a.data, out->a.nbytes);
	out->a.data = out->data;
	free(buf);
}

static void import_with(const char *path, const struct dnnq_onnx_import_opts *opts,
                        struct dnnq_ir *ir)
{
	struct dnnq_diag d = { "" };
	int rc = dnnq_onnx_import_file(path, opts, ir, NULL, NULL, &d);
	ck_assert_msg(rc == 0, "%s: %s", path, d.msg);
}

static void import(const char *path, struct dnnq_ir *ir)
{
	import_with(path, NULL, ir);
}

/* The model run on inputs (batch samples) as dnnq-run runs its file;
 * outputs malloc'd. */
static void run_model(const struct dnnq_model *m, size_t batch, const void *const *in,
                      void **out, struct dnnq_tensor_info *info)
{
	struct dnnq_diag d = { "" };
	int rc = conf_run_model(m, batch, in, out, info, &d);
	ck_assert_msg(rc == 0, "%s", d.msg);
}

static double top1(const float *logits, const int32_t *labels, size_t n, size_t classes)
{
	size_t hit = 0;
	for (size_t i = 0; i < n; i++) {
		const float *l = logits + i * classes;
		size_t best = 0;
		for (size_t c = 1; c < classes; c++)
			if (l[c] > l[best])
				best = c;
		hit += (int32_t)best == labels[i];
	}
	return 100.0 * (double)hit / (double)n;
}

/* ---- digits ----------------------------------------------------------------- */

/* A digits model, its calibration images, test images and labels. */
struct digits {
	struct dnnq_ir ir;
	struct array calib, x, y;
	size_t n;                       /* test images */
};

static void digits_load(const char *name, struct digits *g)
{
	char path[256];
	snprintf(path, sizeof path, DIGITS "/%s.onnx", name);
	import(path, &g->ir);
	load(DIGITS "/calib_x.npy", &g->calib);
	load(DIGITS "/test_x.npy", &g->x);
	load(DIGITS "/test_y.npy", &g->y);
	ck_assert_int_eq(g->x.a.dtype, DNNQ_DTYPE_F32);
	ck_assert_int_eq(g->y.a.dtype, DNNQ_DTYPE_S32);
	g->n = g->x.a.shape[0];
	ck_assert_uint_eq(g->ir.noutputs, 1);
	ck_assert_uint_eq(dnnq_ir_numel(&g->ir.values[g->ir.outputs[0]], g->n), g->n * 10);
}

/* c: observations of g's model on its calibration images. */
static void digits_calib(const struct digits *g, struct dnnq_onnx_calib *c)
{
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_onnx_calib_init(c, &g->ir, 0, &d) == 0, "%s", d.msg);
	const void *cx[1] = { g->calib.data };
	ck_assert_msg(dnnq_onnx_calib_add(c, cx, g->calib.a.shape[0], &d) == 0, "%s", d.msg);
}

static void digits_free(struct digits *g)
{
	free(g->calib.data);
	free(g->x.data);
	free(g->y.data);
	dnnq_ir_free(&g->ir);
}

/* The fp32 reference executor's logits on the test images (malloc'd). */
static float *digits_ref(const struct digits *g)
{
	struct dnnq_diag d = { "" };
	float *ref = malloc(g->n * 10 * sizeof *ref);
	const void *in[1] = { g->x.data };
	void *refp[1] = { ref };
	ck_assert_ptr_nonnull(ref);
	ck_assert_msg(dnnq_ir_run(&g->ir, g->n, in, refp, NULL, NULL, &d) == 0, "%s", d.msg);
	return ref;
}

static void digits(const char *name)
{
	struct digits g;
	digits_load(name, &g);
	const size_t n = g.n, classes = 10;
	struct dnnq_diag d = { "" };
	const void *in[1] = { g.x.data };
	float *ref = digits_ref(&g);
	double fp32 = top1(ref, g.y.data, n, classes);

	struct dnnq_onnx_calib c;
	digits_calib(&g, &c);

	struct dnnq_calib_opts o = { .spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false } };
	enum dnnq_calib_method *method = calloc(g.ir.nvalues, sizeof *method);
	double best_db = -INFINITY, best_top1 = 0;
	for (int k = 0; k <= DNNQ_CALIB_METHOD_COUNT; k++) {
		bool autom = k == DNNQ_CALIB_METHOD_COUNT;
		dnnq_onnx_calib_methods(&c, autom ? DNNQ_CALIB_L2 : (enum dnnq_calib_method)k, method);
		struct dnnq_lower_opts lo = { .per_channel = true, .calibration = "test" };
		double calib_db;
		if (autom)
			ck_assert_msg(dnnq_onnx_calib_auto(&c, &o, &lo, NULL, method, &calib_db, NULL,
			                                   NULL, &d) == 0, "auto: %s", d.msg);
		struct dnnq_model m;
		ck_assert_msg(dnnq_onnx_calib_lower(&c, &o, method, &lo, &m, &d) == 0, "%s: %s",
		              name, d.msg);
		void *out[1];
		struct dnnq_tensor_info info[1];
		run_model(&m, n, in, out, info);
		ck_assert_int_eq(info[0].dtype, DNNQ_DTYPE_F32);
		double acc = top1(out[0], g.y.data, n, classes);
		double db = dnnq_sqnr_db(ref, out[0], n * classes);
		const char *mname = autom ? "auto" : dnnq_calib_method_name((enum dnnq_calib_method)k);
		printf("convert: digits %s %-10s top-1 %6.2f %% (fp32 %6.2f %%), logits SQNR"
		       " %6.2f dB on %zu test images\n", name, mname, acc, fp32, db, n);
		/* KL is the exception: on 128 images the first convolution's
		 * histogram (2048 bins) is too sparse for it (docs/onnx.md) */
		if (k != DNNQ_CALIB_KL)
			ck_assert_msg(acc >= fp32 - 1.0, "digits %s, %s: int8 top-1 %.2f %% vs fp32"
			              " %.2f %%", name, mname, acc, fp32);
		if (db > best_db) {
			best_db = db;
			best_top1 = acc;
		}
		free(out[0]);
		dnnq_model_free(&m);
	}
	ck_assert_msg(best_db >= 25.0, "digits %s: the best method's SQNR is %.2f dB", name,
	              best_db);
	ck_assert_msg(best_top1 >= fp32 - 1.0, "digits %s: the best method's top-1 %.2f %%,"
	              " fp32 %.2f %%", name, best_top1, fp32);
	free(method);
	free(ref);
	dnnq_onnx_calib_free(&c);
	digits_free(&g);
}

START_TEST(digits_cnn)
{
	digits("cnn");
}
END_TEST

START_TEST(digits_mlp)
{
	digits("mlp");
}
END_TEST

/* ---- fp32 nodes beside int8 ------------------------------------------------- */

/*
 * Issue 15, item 3: the digits models with every node kept fp32 match the
 * fp32 reference executor within 1e-4 relative (sgemm's summation order and
 * the vectorized exp: docs/graph.md, "Precision"); with the first half of
 * the nodes fp32 and the rest int8, the lowering places Quantize and
 * Dequantize at the border, the precisions are as asked, and the logits
 * keep the int8 model's accuracy. Names that are no node, or a node
 * without an fp32 form, are refused all at once.
 */
static void digits_mixed(const char *name)
{
	struct digits g;
	digits_load(name, &g);
	const size_t n = g.n, classes = 10;
	struct dnnq_diag d = { "" };
	const void *in[1] = { g.x.data };
	float *ref = digits_ref(&g);
	struct dnnq_onnx_calib c;
	digits_calib(&g, &c);
	struct dnnq_calib_opts o = { .spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false } };
	enum dnnq_calib_method *method = calloc(g.ir.nvalues, sizeof *method);
	dnnq_onnx_calib_methods(&c, DNNQ_CALIB_L2, method);
	/* the names: every node with arithmetic, then the first half of them */
	char all[4096] = "", half[4096] = "";
	size_t nk = 0, len = 0;
	for (size_t j = 0; j < g.ir.nnodes; j++)
		if (g.ir.nodes[j].op != DNNQ_IR_RESHAPE)
			nk++;
	for (size_t j = 0, k = 0; j < g.ir.nnodes; j++) {
		if (g.ir.nodes[j].op == DNNQ_IR_RESHAPE)
			continue;
		len += (size_t)snprintf(all + len, sizeof all - len, "%s%s", len ? "," : "",
		                        g.ir.nodes[j].name);
		if (++k == nk / 2)
			snprintf(half, sizeof half, "%s", all);
	}
	for (int pass = 0; pass < 2; pass++) {
		bool *keep;
		ck_assert_msg(dnnq_onnx_keep_fp32(&g.ir, pass ? half : all, &keep, &d) == 0, "%s",
		              d.msg);
		struct dnnq_lower_opts lo = { .per_channel = true, .calibration = "test",
		                              .fp32_nodes = keep };
		struct dnnq_model m;
		ck_assert_msg(dnnq_onnx_calib_lower(&c, &o, method, &lo, &m, &d) == 0, "%s: %s",
		              name, d.msg);
		size_t fp32 = 0, int8 = 0, conv = 0;
		for (size_t j = 0; j < m.nnodes; j++) {
			const struct dnnq_op_def *def = dnnq_op_get(m.nodes[j].kind);
			if (!dnnq_op_has(def, DNNQ_A_PRECISION))
				conv += m.nodes[j].kind == DNNQ_NODE_CONVERT;
			else if (m.nodes[j].precision == DNNQ_PRECISION_FP32)
				fp32++;
			else
				int8++;
		}
		void *out[1];
		struct dnnq_tensor_info info[1];
		run_model(&m, n, in, out, info);
		double rel = conf_max_rel(out[0], ref, n * classes);
		double db = dnnq_sqnr_db(ref, out[0], n * classes);
		printf("convert: digits %s %s fp32: %zu fp32 nodes, %zu int8, %zu converts; logits "
		       "SQNR %.2f dB, max rel %.2g\n", name, pass ? "half" : "all", fp32, int8, conv,
		       db, rel);
		if (!pass) {
			ck_assert_uint_eq(int8, 0);
			ck_assert_msg(rel <= 1e-4, "digits %s all fp32: max rel error %g", name, rel);
		} else {
			ck_assert_uint_gt(fp32, 0);
			ck_assert_uint_gt(int8, 0);
			ck_assert_uint_ge(conv, 2);      /* a Quantize at the border, a Dequantize */
			ck_assert_msg(db >= 25.0, "digits %s half fp32: %.2f dB", name, db);
		}
		free(out[0]);
		dnnq_model_free(&m);
		free(keep);
	}
	bool *keep = NULL;
	ck_assert_int_eq(dnnq_onnx_keep_fp32(&g.ir, "nosuch,other", &keep, &d), DNNQ_E_INVAL);
	ck_assert_ptr_null(keep);
	ck_assert_str_eq(d.msg, "--keep-fp32: 'nosuch' is no node of the model; 'other' is no "
	                 "node of the model");
	free(method);
	free(ref);
	dnnq_onnx_calib_free(&c);
	digits_free(&g);
}

START_TEST(digits_cnn_mixed)
{
	digits_mixed("cnn");
}
END_TEST

START_TEST(digits_mlp_mixed)
{
	digits_mixed("mlp");
}
END_TEST

/* ---- acc16 ------------------------------------------------------------------ */

static size_t count_acc16(const struct dnnq_model *m, size_t *gemm)
{
	size_t k = 0;
	*gemm = 0;
	for (size_t j = 0; j < m->nnodes; j++) {
		bool g = m->nodes[j].kind == DNNQ_NODE_CONV || m->nodes[j].kind == DNNQ_NODE_FC;
		*gemm += g;
		k += g && m->nodes[j].acc16;
	}
	return k;
}

/* --acc16=auto keeps top-1 on the held-out digits exactly (issue 10), with
 * the default split (7 bits) and with 6 bits (where it keeps layers: the
 * digits' u8 activations are large, 7-bit main weights saturate); every
 * kept layer lost < 0.5 dB at its output. Forced acc16 marks every layer,
 * an acc16_nodes mask only the layer it names. */
static void digits_acc16(const char *name)
{
	struct digits g;
	digits_load(name, &g);
	const size_t n = g.n, classes = 10;
	struct dnnq_diag d = { "" };
	struct dnnq_onnx_calib c;
	digits_calib(&g, &c);
	struct dnnq_calib_opts o = { .spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false } };
	enum dnnq_calib_method *method = calloc(g.ir.nvalues, sizeof *method);
	dnnq_onnx_calib_methods(&c, DNNQ_CALIB_L2, method);
	const void *in[1] = { g.x.data };
	void *out[1];
	struct dnnq_tensor_info info[1];

	struct dnnq_lower_opts lo = { .per_channel = true, .calibration = "test" };
	struct dnnq_model m32;
	ck_assert_msg(dnnq_onnx_calib_lower(&c, &o, method, &lo, &m32, &d) == 0, "%s", d.msg);
	run_model(&m32, n, in, out, info);
	double top32 = top1(out[0], g.y.data, n, classes);
	float *logits32 = out[0];
	size_t ngemm;
	ck_assert_uint_eq(count_acc16(&m32, &ngemm), 0);
	ck_assert_uint_gt(ngemm, 0);

	for (unsigned nbits = 7; nbits >= 6; nbits--) {
		struct dnnq_model m;
		ck_assert_msg(dnnq_onnx_calib_lower(&c, &o, method, &lo, &m, &d) == 0, "%s", d.msg);
		struct dnnq_acc16_opts ao = { nbits, 0 };
		struct dnnq_acc16_layer *L;
		size_t nl;
		ck_assert_msg(dnnq_onnx_calib_acc16_auto(&c, &m, &ao, DNNQ_ACC16_THRESHOLD_DB, &L, &nl,
		                                         NULL, NULL, &d) == 0, "%s", d.msg);
		ck_assert_uint_eq(nl, ngemm);
		size_t kept = count_acc16(&m, &ngemm);
		for (size_t l = 0; l < nl; l++) {
			ck_assert(L[l].acc16 == (m.nodes[L[l].node].acc16 == 1));
			ck_assert(L[l].outlier_density > 0 && L[l].outlier_density < 1);
			ck_assert(L[l].sat_adds > 0 && L[l].saturation >= 0 && L[l].saturation < 1);
			if (L[l].acc16)
				ck_assert_double_lt(L[l].sqnr_db_acc32 - L[l].sqnr_db_acc16,
				                    DNNQ_ACC16_THRESHOLD_DB);
			else
				ck_assert(!(L[l].sqnr_db_acc32 - L[l].sqnr_db_acc16 <
				            DNNQ_ACC16_THRESHOLD_DB));
		}
		if (nbits == 6)
			ck_assert_uint_gt(kept, 0);
		run_model(&m, n, in, out, info);
		double acc = top1(out[0], g.y.data, n, classes);
		printf("convert: digits %s acc16 auto (%u-bit split): %zu of %zu layers, top-1"
		       " %6.2f %% (acc32 %6.2f %%), logits SQNR vs acc32 %6.2f dB\n", name, nbits,
		       kept, nl, acc, top32, dnnq_sqnr_db(logits32, out[0], n * classes));
		ck_assert_msg(acc == top32, "digits %s, acc16 auto: top-1 %.2f %%, acc32 %.2f %%",
		              name, acc, top32);
		free(out[0]);
		free(L);
		dnnq_model_free(&m);
	}

	/* forced everywhere */
	lo.acc16 = DNNQ_ACC16_ON;
	struct dnnq_model mf;
	ck_assert_msg(dnnq_onnx_calib_lower(&c, &o, method, &lo, &mf, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(count_acc16(&mf, &ngemm), ngemm);
	struct dnnq_acc16_layer *L;
	size_t nl;
	ck_assert_msg(dnnq_onnx_calib_acc16_measure(&c, &mf, NULL, &L, &nl, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(nl, ngemm);
	for (size_t l = 0; l < nl; l++)
		ck_assert(L[l].acc16 && L[l].outliers > 0 && !isnan(L[l].saturation));
	free(L);
	run_model(&mf, n, in, out, info);
	printf("convert: digits %s acc16 everywhere (7-bit split): top-1 %6.2f %%\n", name,
	       top1(out[0], g.y.data, n, classes));
	free(out[0]);
	/* a mask: only the layer named after the IR node of the first one */
	const char *first = NULL;
	for (size_t j = 0; j < mf.nnodes && !first; j++)
		if (mf.nodes[j].acc16)
			first = mf.nodes[j].name;
	bool *mask = calloc(g.ir.nnodes, sizeof *mask);
	for (size_t i = 0; i < g.ir.nnodes; i++)
		mask[i] = g.ir.nodes[i].name && !strcmp(g.ir.nodes[i].name, first);
	lo.acc16_nodes = mask;
	lo.acc16_opts = (struct dnnq_acc16_opts){ 6, 8 };
	struct dnnq_model mm;
	ck_assert_msg(dnnq_onnx_calib_lower(&c, &o, method, &lo, &mm, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(count_acc16(&mm, &ngemm), 1);
	for (size_t j = 0; j < mm.nnodes; j++)
		if (mm.nodes[j].acc16) {
			ck_assert_str_eq(mm.nodes[j].name, first);
			ck_assert_uint_eq(mm.nodes[j].acc16_nbits, 6);
			ck_assert_uint_eq(mm.nodes[j].acc16_spill, 8);
		}
	free(mask);
	dnnq_model_free(&mm);
	dnnq_model_free(&mf);
	free(logits32);
	dnnq_model_free(&m32);
	free(method);
	dnnq_onnx_calib_free(&c);
	digits_free(&g);
}

START_TEST(digits_cnn_acc16)
{
	digits_acc16("cnn");
}
END_TEST

START_TEST(digits_mlp_acc16)
{
	digits_acc16("mlp");
}
END_TEST

/* ---- conformance ------------------------------------------------------------ */

/* Cases the engine cannot run, each for the reason given: the lowering
 * must refuse them (DNNQ_E_UNSUPPORTED naming the node); the reference
 * executor still computes them exactly (the onnx suite checks that). */
static const char *const reference_only[][2] = {
	{ "dynamicquantize", "DynamicQuantizeLinear's scale and zero point outputs" },
	{ "dynamicquantize_nonneg", "DynamicQuantizeLinear's scale and zero point outputs" },
};

static const char *reference_only_reason(const char *name)
{
	for (size_t i = 0; i < sizeof reference_only / sizeof reference_only[0]; i++)
		if (!strcmp(reference_only[i][0], name))
			return reference_only[i][1];
	return NULL;
}

/* Case NAME of a MANIFEST of dir (NAME.onnx; NINPUTS NAME.inK.npy) imported
 * with its inputs' shapes. */
static void import_case(const char *dir, const char *name, unsigned nin, struct dnnq_ir *ir)
{
	char path[512];
	struct dnnq_onnx_shape shapes[8];
	struct dnnq_onnx_import_opts opts = case_shapes(dir, name, nin, shapes);
	snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
	import_with(path, &opts, ir);
	ck_assert_msg(ir->ninputs == nin, "%s: %zu inputs, MANIFEST says %u", name, ir->ninputs,
	              nin);
}

/* One case of a MANIFEST of dir: NAME KIND NINPUTS, through
 * tests/conformance.h: an int8 case exactly, an fp32 one at SQNR >= 30 dB
 * int8 and within 1e-5 with every node fp32, an approx one at 30 dB both
 * ways. The int8 run's SQNR (inf for an int8 case). */
static double conformance_in(const char *dir, const char *name, const char *kind, unsigned nin)
{
	char path[512];
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	import_case(dir, name, nin, &ir);
	const char *why = reference_only_reason(name);
	if (why) {
		struct dnnq_model m;
		struct dnnq_lower_opts lo = { .calibration = "none" };
		int rc = dnnq_onnx_lower(&ir, &lo, NULL, NULL, &m, &d);
		ck_assert_msg(rc == DNNQ_E_UNSUPPORTED, "%s: lowered (%s), though listed as"
		              " reference-only (%s)", name, dnnq_strerror(rc), why);
		printf("convert: conformance %-28s int8  reference only (%s): %s\n", name, why,
		       d.msg);
		dnnq_ir_free(&ir);
		return INFINITY;
	}
	struct array in[8], want[DNNQ_IR_MAX_OUTPUTS];
	struct dnnq_npy ina[8], wanta[DNNQ_IR_MAX_OUTPUTS];
	ck_assert_uint_le(nin, 8);
	ck_assert_uint_le(ir.noutputs, DNNQ_IR_MAX_OUTPUTS);
	for (unsigned i = 0; i < nin; i++) {
		snprintf(path, sizeof path, "%s/%s.in%u.npy", dir, name, i);
		load(path, &in[i]);
		ina[i] = in[i].a;
	}
	for (size_t k = 0; k < ir.noutputs; k++) {
		if (k)
			snprintf(path, sizeof path, "%s/%s.out%zu.npy", dir, name, k);
		else
			snprintf(path, sizeof path, "%s/%s.out.npy", dir, name);
		load(path, &want[k]);
		wanta[k] = want[k].a;
	}
	/* int8: integer outputs, exact; fp32: a float model, int8 within 30 dB
	 * and all-fp32 within 1e-5; approx: a model quantized its own way
	 * (ONNX Runtime's dynamic quantization), both runs within 30 dB */
	bool exact = !strcmp(kind, "int8"), approx = !strcmp(kind, "approx");
	struct conf_result r;
	int rc = conf_run(&ir, exact, ina, wanta, &r, &d);
	ck_assert_msg(rc == 0, "%s: %s", name, d.msg);
	if (exact) {
		ck_assert_msg(r.differ == 0, "%s: %zu of %zu elements differ (first at %zu)", name,
		              r.differ, r.elements, r.first);
		printf("convert: conformance %-28s int8  exact (%zu elements)\n", name, r.elements);
	} else if (approx) {
		printf("convert: conformance %-28s approx SQNR %6.2f dB, all-fp32 %6.2f dB\n",
		       name, r.sqnr_db, r.fp32_sqnr_db);
		ck_assert_msg(r.sqnr_db >= 30.0, "%s: SQNR %.2f dB < 30", name, r.sqnr_db);
		ck_assert_msg(r.fp32_sqnr_db >= 30.0, "%s: in fp32: SQNR %.2f dB < 30", name,
		              r.fp32_sqnr_db);
	} else {
		printf("convert: conformance %-28s fp32  SQNR %6.2f dB, all-fp32 max rel %.2g", name,
		       r.sqnr_db, r.fp32_rel);
		/* integer outputs (ArgMax's indices): exact in fp32, int8's wrong counted */
		bool indices = false;
		for (size_t k = 0; k < ir.noutputs; k++)
			indices |= wanta[k].dtype == DNNQ_DTYPE_S32;
		if (indices)
			printf(", indices: int8 %zu of %zu wrong", r.int8_differ, r.elements);
		printf("\n");
		ck_assert_msg(r.sqnr_db >= 30.0, "%s: SQNR %.2f dB < 30", name, r.sqnr_db);
		ck_assert_msg(r.fp32_rel <= 1e-5, "%s: in fp32: max rel error %g", name, r.fp32_rel);
		ck_assert_msg(r.differ == 0, "%s: in fp32: %zu of %zu indices differ (first at %zu)",
		              name, r.differ, r.elements, r.first);
	}
	for (unsigned i = 0; i < nin; i++)
		free(in[i].data);
	for (size_t k = 0; k < ir.noutputs; k++)
		free(want[k].data);
	dnnq_ir_free(&ir);
	return exact ? INFINITY : r.sqnr_db;
}

/* A case of dir's MANIFEST as conformance_in judges it. */
static void conformance_at(const char *dir, const char *name, const char *kind, unsigned nin)
{
	conformance_in(dir, name, kind, nin);
}

/* Each case of dir's MANIFEST (lines NAME KIND NINPUTS; by: the script
 * that writes it) into fn; how many there were. */
static unsigned each_case(const char *dir, const char *by,
                          void (*fn)(const char *dir, const char *name, const char *kind,
                                     unsigned nin))
{
	char manifest[256];
	snprintf(manifest, sizeof manifest, "%s/MANIFEST", dir);
	FILE *f = fopen(manifest, "r");
	ck_assert_msg(f, "%s: cannot open (%s writes it)", manifest, by);
	char line[256];
	unsigned cases = 0;
	while (fgets(line, sizeof line, f)) {
		char name[128], kind[16];
		unsigned nin;
		if (line[0] == '#' || sscanf(line, "%127s %15s %u", name, kind, &nin) != 3)
			continue;
		fn(dir, name, kind, nin);
		cases++;
	}
	fclose(f);
	return cases;
}

START_TEST(conformance)
{
	ck_assert_uint_ge(each_case(OPS, "tools/mkonnx.py", conformance_at), 40);
}
END_TEST

#define NORM "tests/onnx/norm"

/* tools/mknorm.py's models against ONNX Runtime's outputs as the
 * conformance cases of kind fp32: a small net of the ONNX Model Zoo's
 * Caffe-converted CNNs (Conv, Relu, LRN, MaxPool, an inception Concat,
 * Gemm; opset 9), LRN alone over 21 channels (LRN runs fp32 between the
 * int8 nodes in the first run, every node fp32 in the second), and
 * LpNormalization and MeanVarianceNormalization after Convs (the latter
 * also in opset 8's form: across_channels, normalize_variance). */
START_TEST(norm_models)
{
	ck_assert_uint_eq(each_case(NORM, "tools/mknorm.py", conformance_at), 5);
}
END_TEST

/* The 3-D cases of the MANIFEST (conv3d_*, *pool3d*: imported as 2-D nodes,
 * docs/onnx.md) on every ISA the CPU runs, against tools/mkonnx.py's
 * float64 reference, as conformance judges them. A 3-D AveragePool's two
 * pools run fp32 (onnx/lower.c fp32_only), so converted int8 the cases
 * of one are exact (dnnq-convert --precision int8, rounding between the
 * pools: 40.7 dB). */
START_TEST(conformance_3d_isas)
{
	static const char *const isa_name[DNNQ_ISA_COUNT] = { "scalar", "avx2", "avx512vnni" };
	unsigned cases = 0;
	for (int isa = 0; isa < DNNQ_ISA_COUNT; isa++) {
		if (!dnnq_isa_supported((enum dnnq_isa)isa))
			continue;
		printf("convert: conformance on %s\n", isa_name[isa]);
		conf_set_isa((enum dnnq_isa)isa);
		FILE *f = fopen(OPS "/MANIFEST", "r");
		ck_assert_msg(f, OPS "/MANIFEST: cannot open (tools/mkonnx.py writes it)");
		char line[256];
		while (fgets(line, sizeof line, f)) {
			char name[128], kind[16];
			unsigned nin;
			if (line[0] == '#' || sscanf(line, "%127s %15s %u", name, kind, &nin) != 3 ||
			    (strncmp(name, "conv3d", 6) && !strstr(name, "pool3d")))
				continue;
			double db = conformance_in(OPS, name, kind, nin);
			ck_assert_msg(strncmp(name, "avgpool3d", 9) || db >= 100, "%s: int8 SQNR %.2f dB",
			              name, db);
			cases++;
		}
		fclose(f);
	}
	conf_set_isa(DNNQ_ISA_COUNT);
	ck_assert_uint_ge(cases, 14);
}
END_TEST

/* ---- ONNX Runtime's contrib operators (tools/mkms.py) ------------------------ */

#define MS "tests/onnx/ms"

/* How a lowered model's one output compares with ONNX Runtime's. */
struct ms_diff {
	size_t elements, differ;
	int steps;              /* u8 / s8: the largest code difference */
	double sqnr_db;         /* f32 */
	size_t argmax_differ;   /* f32 [N, C]: the rows whose argmax differs */
};

static struct ms_diff ms_compare(const struct dnnq_npy *want, const void *got)
{
	struct ms_diff r = { .elements = want->count, .sqnr_db = INFINITY };
	if (want->dtype == DNNQ_DTYPE_F32) {
		const float *w = (const float *)want->data, *g = got;
		r.sqnr_db = dnnq_sqnr_db(w, g, want->count);
		size_t C = want->ndim == 2 ? (size_t)want->shape[1] : 0;
		for (size_t i = 0; i < want->count; i++)
			r.differ += w[i] != g[i];
		for (size_t n = 0; C && n < want->count / C; n++) {
			size_t bw = 0, bg = 0;
			for (size_t k = 1; k < C; k++) {
				bw = w[n * C + k] > w[n * C + bw] ? k : bw;
				bg = g[n * C + k] > g[n * C + bg] ? k : bg;
			}
			r.argmax_differ += bw != bg;
		}
		return r;
	}
	ck_assert_msg(want->dtype == DNNQ_DTYPE_U8 || want->dtype == DNNQ_DTYPE_S8, "dtype %d",
	              (int)want->dtype);
	bool s8 = want->dtype == DNNQ_DTYPE_S8;
	for (size_t i = 0; i < want->count; i++) {
		int w = s8 ? ((const int8_t *)want->data)[i] : ((const uint8_t *)want->data)[i];
		int g = s8 ? ((const int8_t *)got)[i] : ((const uint8_t *)got)[i];
		r.differ += w != g;
		r.steps = abs(w - g) > r.steps ? abs(w - g) : r.steps;
	}
	return r;
}

/* One case of tests/onnx/ms/MANIFEST converted with the parameters it
 * carries (no calibration; every node fp32 when fp32), run (on its inputs
 * as poke, when given, changes them), against ONNX Runtime's outputs
 * (NAME.out.npy, NAME.out1.npy, ...): the worst of them (the most
 * elements differing, steps, argmax, the lowest SQNR). */
static struct ms_diff ms_case(const char *name, unsigned nin, bool fp32,
                              void (*poke)(struct array *in))
{
	char path[512];
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	import_case(MS, name, nin, &ir);
	size_t nout = ir.noutputs;
	ck_assert_msg(nout >= 1 && nout <= DNNQ_IR_MAX_OUTPUTS, "%s: %zu outputs", name, nout);
	struct array in[8], want[DNNQ_IR_MAX_OUTPUTS];
	const void *x[8];
	for (unsigned i = 0; i < nin; i++) {
		snprintf(path, sizeof path, MS "/%s.in%u.npy", name, i);
		load(path, &in[i]);
		x[i] = in[i].data;
	}
	if (poke)
		poke(in);
	for (size_t k = 0; k < nout; k++) {
		if (k)
			snprintf(path, sizeof path, MS "/%s.out%zu.npy", name, k);
		else
			snprintf(path, sizeof path, MS "/%s.out.npy", name);
		load(path, &want[k]);
	}
	struct dnnq_lower_opts lo = { .calibration = "none" };
	bool *keep = NULL;
	if (fp32) {
		ck_assert_msg(dnnq_onnx_keep_fp32(&ir, "*", &keep, &d) == 0, "%s", d.msg);
		lo.fp32_nodes = keep;
	}
	struct dnnq_model m;
	int rc = dnnq_onnx_lower(&ir, &lo, NULL, NULL, &m, &d);
	free(keep);
	ck_assert_msg(rc == 0, "%s: lower: %s", name, d.msg);
	void *out[DNNQ_IR_MAX_OUTPUTS];
	struct dnnq_tensor_info info[DNNQ_IR_MAX_OUTPUTS];
	run_model(&m, (size_t)in[0].a.shape[0], x, out, info);
	struct ms_diff r = { .sqnr_db = INFINITY };
	for (size_t k = 0; k < nout; k++) {
		ck_assert_msg(info[k].dtype == want[k].a.dtype && info[k].ndim == want[k].a.ndim,
		              "%s: output %zu dtype %d rank %u, ONNX Runtime's %d %u", name, k,
		              (int)info[k].dtype, info[k].ndim, (int)want[k].a.dtype,
		              want[k].a.ndim);
		for (unsigned j = 0; j < want[k].a.ndim; j++)
			ck_assert_int_eq(info[k].dims[j], (int64_t)want[k].a.shape[j]);
		struct ms_diff o = ms_compare(&want[k].a, out[k]);
		r.elements += o.elements;
		r.differ += o.differ;
		r.argmax_differ += o.argmax_differ;
		r.steps = o.steps > r.steps ? o.steps : r.steps;
		r.sqnr_db = o.sqnr_db < r.sqnr_db ? o.sqnr_db : r.sqnr_db;
		free(out[k]);
		free(want[k].data);
	}
	dnnq_model_free(&m);
	for (unsigned i = 0; i < nin; i++)
		free(in[i].data);
	dnnq_ir_free(&ir);
	return r;
}

/* The import of path refused (status rc, the first problem's) with
 * `problems` problems, each of want[0 .. n) among them: the problem list
 * (free it). */
static char *refused_with(const char *path, int rc, size_t problems, const char *const *want,
                          size_t n)
{
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	char *list;
	size_t count;
	int got = dnnq_onnx_import_file(path, NULL, &ir, &list, &count, &d);
	ck_assert_msg(got == rc, "%s: %d %s", path, got, d.msg);
	ck_assert_msg(count == problems, "%s: %zu problems: %s", path, count, list);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strstr(list, want[i]), "'%s' not in: %s", want[i], list);
	return list;
}

/* tests/onnx/ms/bad_domains.onnx: every refused node named, with its op
 * and (where it is the reason) its domain or attribute. */
START_TEST(ms_refused)
{
	static const char *const want[] = {
		"node 'ms_nbits' (MatMulNBits): operator domain 'com.microsoft' is supported "
		"only for Attention, BiasAdd,",
		"node 'gqa_total' (GroupQueryAttention): input 6 'x3' (total_sequence_length): a "
		"constant of at least the query's sequence 4 expected",
		"node 'gqa_rotary' (GroupQueryAttention): do_rotary 1 without inputs 7 and 8",
		"node 'fused_selu' (FusedConv): activation 'Selu' (Relu, Sigmoid, Tanh",
		"node 'std_qlinearadd' (QLinearAdd): unsupported operator",
		"node 'foo_qlinearadd' (QLinearAdd): operator domain 'ai.foo' is not supported",
		"node 'no_scale' (QLinearAdd): input 6 (the output's scale) is missing",
		"node 'bad_concat' (QLinearConcat): 4 inputs",
		"node 'qgemm_beta' (QGemm): attribute 'beta' is not one of QGemm's (alpha transA "
		"transB)",
		"node 'scales4' (QLinearAdd): input 4 's4' holds 4 values: a scale of one value",
		"node 'fused_leaky' (FusedConv): attribute 'activation_params': 0 values, LeakyRelu "
		"takes 1",
		"node 'direct_input' (Transpose): input 0 'x' is uint8 / int8: only the output of a "
		"QuantizeLinear,",
		"node 'resize_linear' (Resize): input 0 'x' is uint8 / int8: only the output of a "
		"QuantizeLinear,",
		"node 'pad_no_value' (Pad): a uint8 / int8 Pad of mode constant without input 2",
		"node 'conv_nhwc' (QLinearConv): channels_last = 2: 0 or 1 expected",
		"node 'concat_scales' (Concat): input 1 'qb' is quantized at another scale",
		"node 'reads_mean' (Relu): reads 'mean', an output of node 'skipln_mean' that dnnq "
		"does not compute",
		"node 'quickgelu_beta' (QuickGelu): attribute 'beta' is not one of QuickGelu's (alpha)",
		"node 'rmsnorm_stash' (SimplifiedLayerNormalization): stash_type 0: only 1 (float)",
		"node 'attention_mask3d' (Attention): input 3 'x3' (mask_index) [N:1,4,4]: the "
		"[batch, 4] form (0 masks a key) or the [batch] one (lengths) supported",
		"node 'mha_past' (MultiHeadAttention): input 6 'x3' (past_key) [N:1,4,4]: rank 4 "
		"supported",
		"node 'mha_uni2' (MultiHeadAttention): attribute 'unidirectional' = 2: 0 or 1 expected",
		"node 'mha_mask_len' (MultiHeadAttention): input 4 'mlen2' (key_padding_mask) [N:1,3]: "
		"the [batch, 4] form",
		"node 'rope_packed' (RotaryEmbedding): attribute 'is_packed_batching' = 1: 0 "
		"supported",
		"node 'attention_past' (Attention): input 4 'x3' (past): not supported",
		"node 'attention_sizes' (Attention): attribute 'qkv_hidden_sizes': only three sizes "
		"equal",
		"node 'reads_mask_index' (Relu): reads 'el_mi', an output of node 'eln_type0' that "
		"dnnq does not compute",
		"node 'eln_segids' (EmbedLayerNormalization): input 1 'ids' (segment_ids) without "
		"input 4 (segment_embedding)",
		"node 'conv_nhwc_1d' (QLinearConv): attribute 'channels_last' = 1: only 2-D (rank 4 "
		"X) supported; input 0 'x' is [N:1,4]",
		"node 'reducemean_noaxes' (QLinearReduceMean): attribute 'axes' is missing",
		"node 'gqa_heads_big' (GroupQueryAttention): attribute 'num_heads' = "
		"4611686018427387904: at most 2147483648 supported",
		"node 'rope_heads_big' (RotaryEmbedding): attribute 'num_heads' = "
		"4611686018427387904: at most 2147483648 supported",
		"node 'rope_perm_big' (RotaryEmbedding): interleaved heads of 134217728 values: at "
		"most 67108864 supported",
		"node 'gqa_past_long' (GroupQueryAttention): input 3 'p6' (past_key): a prompt (4 "
		"positions, total_sequence_length) after a cache of 6 rows: not supported",
		"node 'gqa_past_heads' (GroupQueryAttention): input 3 'p3' (past_key) [N:1,2,3,1]: "
		"dims[1] 1 expected",
		"node 'gqa_no_past' (GroupQueryAttention): input 6 'total6' (total_sequence_length) "
		"6: a query of 4 positions after a cache without inputs 3 and 4",
		"node 'gqa_half_past' (GroupQueryAttention): input 4 (past_value) is missing",
		"node 'gqa_window_big' (GroupQueryAttention): attribute 'local_window_size' = "
		"4611686018427387904: at most 2147483648 supported",
		"node 'gqa_pos_norot' (GroupQueryAttention): input 9 'mlen2' (position_ids): read "
		"with do_rotary 1 only",
		"node 'gqa_pos_shape' (GroupQueryAttention): input 9 'mlen2' (position_ids) [N:1,3] "
		"int32: [batch, 4] of int64 expected",
		"node 'mha_past_heads' (MultiHeadAttention): input 6 'p3' (past_key) [N:1,2,3,1]: "
		"dims[3] 2 expected",
		"node 'mha_half_past' (MultiHeadAttention): input 7 (past_value) is missing",
		"node 'mha_qk' (MultiHeadAttention): output 3 'k8_qk' (qk): not supported",
		"node 'gqa_no_seqlens' (GroupQueryAttention): input 5 (seqlens_k) is missing",
		"node 'mha_no_query' (MultiHeadAttention): input 0 (query) is missing",
		"node 'attention_no_weights' (Attention): input 1 (weights) is missing",
		"node 'rope_no_pos' (RotaryEmbedding): input 1 (position_ids) is missing",
		"node 'mha_filter_inf' (MultiHeadAttention): attribute 'mask_filter_value' = -inf: "
		"a finite number expected",
		"node 'dqlstm_computed_w' (DynamicQuantizeLSTM): input 1 'x3': a constant int8 or "
		"uint8 [dirs, rows, 4*hidden] expected",
		"node 'dqlstm_no_w_scale' (DynamicQuantizeLSTM): input 8 (W_scale) is missing",
	};
	char *list = refused_with(MS "/bad_domains.onnx", DNNQ_E_UNSUPPORTED, 50, want,
	                          sizeof want / sizeof want[0]);
	ck_assert_msg(!strstr(list, "'good'"), "%s", list);
	free(list);
}
END_TEST

/* A MultiHeadAttention's key_padding_mask and a GroupQueryAttention's
 * seqlens_k, initializers [2] read when the values table is full (the
 * Relus before them; tools/mkms.py): the lookup that makes them values
 * moves the table, the query read after it (a use after free under
 * ASan), then the mask refused (a [batch] one of a batched query); and a
 * QGemm's bias C whose scale constant, a new value, fills the table
 * under the pointer to B's scale, and a uint8 Pad whose constant_value
 * initializer fills it under the tensor's (imported: no problem). */
START_TEST(ms_full_table)
{
	static const char *const name[] = { "mha_mask_full_table", "gqa_seqlens_full_table",
	                                    "qgemm_bias_full_table", "pad_value_full_table" };
	static const char *const want[] = {
		"node 'mha' (MultiHeadAttention): input 4 'mask' (key_padding_mask) [2]: the [batch, "
		"4] form",
		"node 'gqa' (GroupQueryAttention): input 5 'sl' (seqlens_k) [2]: the [batch, 4] form",
		NULL,
		NULL,
	};
	for (size_t i = 0; i < 4; i++) {
		char path[200];
		struct dnnq_ir ir;
		struct dnnq_diag d = { "" };
		char *list = NULL;
		size_t count = 0;
		snprintf(path, sizeof path, MS "/%s.onnx", name[i]);
		int rc = dnnq_onnx_import_file(path, NULL, &ir, &list, &count, &d);
		if (!want[i]) {
			ck_assert_msg(rc == 0, "%s: %d %s", name[i], rc, d.msg);
			dnnq_ir_free(&ir);
			free(list);
			continue;
		}
		ck_assert_msg(rc == DNNQ_E_UNSUPPORTED && count == 1 && strstr(list, want[i]),
		              "%s: %d, %zu problems: %s", name[i], rc, count, list);
		free(list);
	}
}
END_TEST

/* gqa_past_buffer's past_key and past_value [2, 2, 6, 8] (seqlens_k 3
 * and 1, one token: pasts of 3 and 1 rows) with NaN and inf in the rows
 * past each item's: ONNX Runtime reads none of them. */
static void cache_garbage(struct array *in)
{
	static const int64_t past[2] = { 3, 1 };
	for (size_t i = 3; i < 5; i++) {
		float *p = in[i].data;
		ck_assert_uint_eq(in[i].a.count, 2 * 2 * 6 * 8);
		for (size_t e = 0; e < in[i].a.count; e++)
			if ((int64_t)(e / 8 % 6) >= past[e / (2 * 6 * 8)])
				p[e] = e % 2 ? NAN : -INFINITY;
	}
}

/* GroupQueryAttention after a buffer longer than the items' caches: the
 * rows past an item's are not read (a NaN in them would reach the
 * outputs), its outputs ONNX Runtime's on the same buffer without the
 * garbage. */
START_TEST(ms_cache_garbage)
{
	struct ms_diff r = ms_case("gqa_past_buffer", 6, true, cache_garbage);
	ck_assert_msg(r.sqnr_db >= 100.0, "SQNR %.2f dB", r.sqnr_db);
}
END_TEST

/* Every case against ONNX Runtime (1.31, CPU): `exact` equal, `step`
 * within one code, `fp32` (QGemm's float output, FusedConv, FusedGemm;
 * every node fp32) at 100 dB,
 * `model` (the QOperator ResNet) at 30 dB and every argmax; `float` (the
 * transformer fusions) and `approx` (the dynamic quantization's) as the
 * conformance cases of kind fp32 and approx. */
/* A case of kind `refused`: it imports, and its lowering is refused
 * naming a node (an ONNX Runtime computation the engine does not run). */
static void ms_refused_case(const char *name, unsigned nin)
{
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	struct dnnq_model m;
	struct dnnq_lower_opts lo = { .calibration = "none" };
	import_case(MS, name, nin, &ir);
	int rc = dnnq_onnx_lower(&ir, &lo, NULL, NULL, &m, &d);
	if (!rc)
		dnnq_model_free(&m);
	dnnq_ir_free(&ir);
	printf("convert: ms %-30s refused: %s\n", name, d.msg);
	ck_assert_msg(rc != 0 && strstr(d.msg, "node '"), "%s: lowered (%d), not refused naming a "
	              "node", name, rc);
}

static void ms_check(const char *dir, const char *name, const char *kind, unsigned nin)
{
	(void)dir;      /* MS: the helpers below name it */
	if (!strcmp(kind, "refused")) {
		ms_refused_case(name, nin);
		return;
	}
	if (!strcmp(kind, "float") || !strcmp(kind, "approx")) {
		conformance_in(MS, name, kind[0] == 'f' ? "fp32" : kind, nin);
		return;
	}
	struct ms_diff r = ms_case(name, nin, !strcmp(kind, "fp32"), NULL);
	printf("convert: ms %-30s %-5s %zu of %zu differ", name, kind, r.differ, r.elements);
	if (isfinite(r.sqnr_db) || !strcmp(kind, "model"))
		printf(", SQNR %.2f dB, argmax %zu differ", r.sqnr_db, r.argmax_differ);
	else
		printf(", by at most %d", r.steps);
	printf("\n");
	if (!strcmp(kind, "exact")) {
		ck_assert_msg(r.differ == 0, "%s: %zu of %zu elements differ", name, r.differ,
		              r.elements);
	} else if (!strcmp(kind, "step")) {
		ck_assert_msg(r.steps <= 1, "%s: %d steps off", name, r.steps);
	} else if (!strcmp(kind, "fp32")) {
		ck_assert_msg(r.sqnr_db >= 100.0, "%s: SQNR %.2f dB", name, r.sqnr_db);
	} else {
		ck_assert_msg(!strcmp(kind, "model"), "%s: kind '%s'", name, kind);
		ck_assert_msg(r.sqnr_db >= 30.0, "%s: SQNR %.2f dB", name, r.sqnr_db);
		ck_assert_msg(r.argmax_differ == 0, "%s: %zu argmax differ", name, r.argmax_differ);
	}
}

START_TEST(ms_ops)
{
	ck_assert_uint_ge(each_case(MS, "tools/mkms.py", ms_check), 32);
}
END_TEST

/* ir, calibrated on its inputs in (nin arrays of one sample each), lowered
 * int8 and with every node fp32: its nodes of kind read `tensors` weight
 * tensors (`readers` nodes in all), and a graph packs each tensor once
 * for them (engine/model-build.c), on every ISA: a weights cache holds
 * one copy of each, and a second graph on it adds nothing. */
static void packed_once(const struct dnnq_ir *ir, const struct array *in, size_t nin,
                        enum dnnq_node_kind kind, size_t readers, size_t tensors)
{
	struct dnnq_diag d = { "" };
	struct dnnq_onnx_calib c;
	ck_assert_msg(dnnq_onnx_calib_init(&c, ir, 0, &d) == 0, "%s", d.msg);
	const void *cx[8];
	ck_assert_uint_le(nin, 8);
	for (size_t i = 0; i < nin; i++)
		cx[i] = in[i].data;
	ck_assert_msg(dnnq_onnx_calib_add(&c, cx, 1, &d) == 0, "%s", d.msg);
	struct dnnq_calib_opts o = { .spec = { DNNQ_QSCHEME_SYMMETRIC, 8, false, false } };
	enum dnnq_calib_method *method = calloc(ir->nvalues, sizeof *method);
	ck_assert_ptr_nonnull(method);
	dnnq_onnx_calib_methods(&c, DNNQ_CALIB_MINMAX, method);
	for (int fp32 = 0; fp32 < 2; fp32++) {
		bool *keep = NULL;
		ck_assert_int_eq(dnnq_onnx_keep_fp32(ir, fp32 ? "*" : "", &keep, &d), 0);
		struct dnnq_lower_opts lo = { .per_channel = true, .calibration = "test",
		                              .fp32_nodes = keep };
		struct dnnq_model m;
		ck_assert_msg(dnnq_onnx_calib_lower(&c, &o, method, &lo, &m, &d) == 0, "%s", d.msg);
		/* each tensor once, by its first reader's output channels and depth */
		int32_t *w = calloc(m.nnodes + 1, sizeof *w);
		size_t *n = calloc(m.nnodes + 1, sizeof *n), *k = calloc(m.nnodes + 1, sizeof *k);
		size_t nodes = 0, nt = 0;
		ck_assert(w && n && k);
		for (size_t j = 0; j < m.nnodes; j++) {
			const struct dnnq_model_node *mn = &m.nodes[j];
			if (mn->kind != kind)
				continue;
			nodes++;
			size_t t = 0;
			while (t < nt && w[t] != mn->weight)
				t++;
			if (t < nt)
				continue;
			ck_assert_uint_le(mn->groups, 1);
			w[nt] = mn->weight;
			n[nt] = kind == DNNQ_NODE_FC ? mn->n : mn->cout;
			k[nt++] = kind == DNNQ_NODE_FC ? mn->k
			        : (size_t)mn->kernel[0] * mn->kernel[1] * mn->cin;
		}
		printf("convert: %s %zu readers of %zu weight tensors\n", fp32 ? "fp32" : "int8",
		       nodes, nt);
		ck_assert_uint_eq(nodes, readers);
		ck_assert_uint_eq(nt, tensors);
		for (int isa = 0; isa < DNNQ_ISA_COUNT; isa++) {
			if (!dnnq_isa_supported((enum dnnq_isa)isa))
				continue;
			/* one copy of each: int8, the GEMM's packing of the tensor;
			 * fp32, its floats transposed or in panels */
			size_t lo_b = 0, hi_b = 0;
			for (size_t t = 0; t < nt; t++) {
				const struct dnnq_qtensor *wt = &m.tensors[w[t]].t;
				if (fp32) {
					lo_b += n[t] * k[t] * sizeof(float);
					hi_b += dnnq_f32_panel_floats(n[t], k[t]) * sizeof(float);
					continue;
				}
				struct dnnq_gemm_weights gw;
				ck_assert_int_eq(wt->dtype, DNNQ_DTYPE_S8);
				ck_assert_msg(dnnq_gemm_pack((enum dnnq_isa)isa, wt->data, n[t], k[t], k[t], &gw,
				                             &d) == 0, "%s", d.msg);
				lo_b += gw.data_bytes;
				hi_b += gw.data_bytes;
				dnnq_gemm_weights_free(&gw);
			}
			struct dnnq_weights_cache *cache;
			struct dnnq_graph *g[2];
			ck_assert_int_eq(dnnq_weights_cache_create(&cache), 0);
			for (int i = 0; i < 2; i++) {
				ck_assert_msg(dnnq_model_build_shared(&m, (enum dnnq_isa)isa, cache, &g[i], &d) == 0,
				              "%s", d.msg);
				size_t bytes = dnnq_weights_cache_bytes(cache);
				ck_assert_msg(bytes >= lo_b && bytes <= hi_b, "%s, isa %d: %zu bytes of packed "
				              "weights, one copy is %zu..%zu", fp32 ? "fp32" : "int8", isa,
				              bytes, lo_b, hi_b);
			}
			dnnq_graph_destroy(g[0]);
			dnnq_graph_destroy(g[1]);
			dnnq_weights_cache_destroy(cache);
		}
		free(w);
		free(n);
		free(k);
		dnnq_model_free(&m);
		free(keep);
	}
	free(method);
	dnnq_onnx_calib_free(&c);
}

/* ops case name (one input) through packed_once */
static void case_packed_once(const char *name, enum dnnq_node_kind kind, size_t readers,
                             size_t tensors)
{
	struct dnnq_ir ir;
	struct array in;
	char path[256];
	import_case(OPS, name, 1, &ir);
	snprintf(path, sizeof path, OPS "/%s.in0.npy", name);
	load(path, &in);
	packed_once(&ir, &in, 1, kind, readers, tensors);
	free(in.data);
	dnnq_ir_free(&ir);
}

/* The per-depth Convs of a 3-D Conv read one weight tensor (conv3d_1x3x3:
 * its 5 depths), packed once. */
START_TEST(conv3d_packed_once)
{
	case_packed_once("conv3d_1x3x3", DNNQ_NODE_CONV, 5, 1);
}
END_TEST

/* Gemms and MatMuls reading one constant share a tensor per layout
 * (onnx/lower-ops.c lower_gemm): gemm_shared_layouts' transB Gemms one,
 * its transB 0 Gemm and MatMul the other (its outputs: conformance); the
 * unrolled steps of tests/onnx/rnn/lstm.onnx (a bidirectional LSTM and a
 * forward one, 5 steps: 110 gate GEMMs, the stateless first steps' forget
 * gates being dead) one per gate and direction, W and R (24), each packed
 * once; a file whose FCs read one tensor as other shapes is refused. */
START_TEST(fc_packed_once)
{
	case_packed_once("gemm_shared_layouts", DNNQ_NODE_FC, 4, 2);
	static const char *const names[3] = { "x", "h0", "c0" };
	struct array in[3];
	struct dnnq_ir ir;
	for (size_t i = 0; i < 3; i++) {
		char path[64];
		snprintf(path, sizeof path, "tests/onnx/rnn/%s.npy", names[i]);
		load(path, &in[i]);
	}
	import("tests/onnx/rnn/lstm.onnx", &ir);
	packed_once(&ir, in, 3, DNNQ_NODE_FC, 110, 24);
	/* a file whose FCs read one tensor as other shapes: a gemm_h (k 8)
	 * on a gemm_x's [8, 6] is refused, naming the node, written and read
	 * back too */
	struct dnnq_diag d = { "" };
	bool *keep = NULL;
	ck_assert_int_eq(dnnq_onnx_keep_fp32(&ir, "*", &keep, &d), 0);
	struct dnnq_lower_opts lo = { .calibration = "none", .fp32_nodes = keep };
	struct dnnq_model m, back;
	ck_assert_msg(dnnq_onnx_lower(&ir, &lo, NULL, NULL, &m, &d) == 0, "%s", d.msg);
	int32_t w6 = -1;
	size_t j8 = m.nnodes;
	for (size_t j = 0; j < m.nnodes; j++)
		if (m.nodes[j].kind == DNNQ_NODE_FC && m.nodes[j].k == 6)
			w6 = m.nodes[j].weight;
		else if (m.nodes[j].kind == DNNQ_NODE_FC && m.nodes[j].k == 8)
			j8 = j;
	ck_assert(w6 >= 0 && j8 < m.nnodes);
	m.nodes[j8].weight = w6;
	void *buf;
	size_t len;
	ck_assert_msg(dnnq_model_write(&m, &buf, &len, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_model_read(buf, len, &back, &d) == 0, "%s", d.msg);
	for (int i = 0; i < 2; i++) {
		struct dnnq_graph *g;
		int rc = dnnq_model_build(i ? &back : &m, dnnq_isa_best(), &g, &d);
		ck_assert_msg(rc == DNNQ_E_SHAPE && strstr(d.msg, m.nodes[j8].name), "%s (%d)", d.msg,
		              rc);
	}
	free(buf);
	dnnq_model_free(&back);
	dnnq_model_free(&m);
	free(keep);
	for (size_t i = 0; i < 3; i++)
		free(in[i].data);
	dnnq_ir_free(&ir);
}
END_TEST

/* ---- the tools -------------------------------------------------------------- */

struct cmd {
	int status;
	char out[65536], err[65536];
};

static const char *bindir(void)
{
	const char *b = getenv("DNNQ_BINDIR");
	return b ? b : "build/bin";
}

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
}

/* Runs "BINDIR/ARGS" through the shell; stdout and stderr captured. */
static void sh(struct cmd *c, const char *dir, const char *fmt, ...)
{
	char args[2048], line[4096], o[512], e[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(o, sizeof o, "%s/stdout", dir);
	snprintf(e, sizeof e, "%s/stderr", dir);
	snprintf(line, sizeof line, "%s/%s >%s 2>%s </dev/null", bindir(), args, o, e);
	int st = system(line);
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	slurp(o, c->out, sizeof c->out);
	slurp(e, c->err, sizeof c->err);
}

/* sh, which must exit 1 with want in its stderr. */
static void sh_refused(struct cmd *c, const char *dir, const char *want, const char *fmt, ...)
{
	char args[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	sh(c, dir, "%s", args);
	ck_assert_msg(c->status == 1 && strstr(c->err, want), "%s: exit %d, want 1 and '%s': %s",
	              args, c->status, want, c->err);
}

START_TEST(tools_end_to_end)
{
	char dir[] = "/tmp/dnnq-convert-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;

	sh(&c, dir, "dnnq-convert --help");
	ck_assert_int_eq(c.status, 0);
	ck_assert_ptr_nonnull(strstr(c.out, "--calib"));
	sh(&c, dir, "dnnq-run --help");
	ck_assert_int_eq(c.status, 0);
	sh(&c, dir, "dnnq-convert");
	ck_assert_int_eq(c.status, 2);
	ck_assert_ptr_nonnull(strstr(c.err, "no input model"));
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/x.dnnq --method fancy", dir);
	ck_assert_int_eq(c.status, 2);

	/* convert with calibration (every node int8), then run the int8 and
	 * the fp32 model */
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/cnn.dnnq --calib " DIGITS
	   "/calib_x.npy --method l1 --per-channel --precision int8 --report --json", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_ptr_nonnull(strstr(c.out, "\"sqnr_db\":"));
	ck_assert_ptr_nonnull(strstr(c.out, "\"layers\":[{"));
	const char *s = strstr(c.out, "\"sqnr_db\":");
	double db = strtod(s + strlen("\"sqnr_db\":"), NULL);
	ck_assert_msg(db >= 20.0, "convert --json: sqnr_db %.2f", db);

	sh(&c, dir, "dnnq-run %s/cnn.dnnq --input input=" DIGITS "/test_x.npy --output-dir %s"
	   " --repeat 3 --json", dir, dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_ptr_nonnull(strstr(c.out, "\"latency_ms\":{\"runs\":3"));
	/* the text form in 4 significant digits: a run of microseconds is not
	 * "0.000 ms" */
	sh(&c, dir, "dnnq-run %s/cnn.dnnq --input input=" DIGITS "/demo_x.npy --output-dir %s"
	   " --repeat 3", dir, dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	const char *min = strstr(c.out, "3 runs of batch 1: min ");
	ck_assert_msg(min && strtod(min + strlen("3 runs of batch 1: min "), NULL) > 0 &&
	              strstr(min, " ms, median "), "%s", c.out);
	/* --profile: one row per engine node (8 in the CNN: quantize, conv,
	 * maxpool, conv, maxpool, reshape, fc, dequantize); the shares add to 1;
	 * the convolutions report GOP/s; an .onnx model is refused */
	sh(&c, dir, "dnnq-run %s/cnn.dnnq --input input=" DIGITS "/test_x.npy --output-dir %s"
	   " --repeat 2 --profile --json", dir, dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	const char *prof = strstr(c.out, "\"profile\":[");
	ck_assert_ptr_nonnull(prof);
	double shares = 0;
	unsigned rows = 0, convs = 0;
	for (const char *p = strstr(prof, "\"share\":"); p; p = strstr(p + 1, "\"share\":"), rows++)
		shares += strtod(p + strlen("\"share\":"), NULL);
	for (const char *p = strstr(prof, "\"kind\":\"conv\""); p;
	     p = strstr(p + 1, "\"kind\":\"conv\""), convs++)
		ck_assert_msg(strtod(strstr(p, "\"gops\":") + 7, NULL) > 0, "%s", p);
	ck_assert_uint_eq(rows, 8);
	ck_assert_uint_eq(convs, 2);
	ck_assert_msg(fabs(shares - 1) < 1e-3, "shares add to %g", shares);
	/* each row's fastest run: no slower than the mean, and timed */
	rows = 0;
	for (const char *p = strstr(prof, "\"us\":"); p; p = strstr(p + 1, "\"us\":"), rows++) {
		double mean = strtod(p + 5, NULL);
		const char *q = strstr(p, ",\"min_us\":");
		ck_assert_msg(q, "%.60s", p);
		double least = strtod(q + strlen(",\"min_us\":"), NULL);
		ck_assert_msg(least <= mean + 5e-4 && (least > 0 || mean < 1), "%.60s", p);
	}
	ck_assert_uint_eq(rows, 8);
	/* ... and as a share of the peaks measured first: every node of memory,
	 * the convolutions of int8 multiply-adds (on a SIMD ISA) */
	const char *peak = strstr(c.out, "\"peak\":{\"threads\":1,");
	ck_assert_ptr_nonnull(peak);
	ck_assert_msg(strtod(strstr(peak, "\"gbps\":") + 7, NULL) > 0, "%s", peak);
	rows = 0;
	for (const char *p = strstr(prof, "\"bw_of_peak\":"); p;
	     p = strstr(p + 1, "\"bw_of_peak\":"), rows++)
		ck_assert_msg(strtod(p + strlen("\"bw_of_peak\":"), NULL) > 0, "%s", p);
	ck_assert_uint_eq(rows, 8);
	for (const char *p = strstr(prof, "\"kind\":\"conv\""); p && dnnq_isa_best() != DNNQ_ISA_SCALAR;
	     p = strstr(p + 1, "\"kind\":\"conv\""))
		ck_assert_msg(strtod(strstr(p, "\"ops_of_peak\":") + 14, NULL) > 0, "%s", p);
	sh(&c, dir, "dnnq-run %s/cnn.dnnq --input input=" DIGITS "/test_x.npy --output-dir %s"
	   " --repeat 1 --profile", dir, dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_ptr_nonnull(strstr(c.out, "peak on 1 thread, measured now: "));
	ck_assert_ptr_nonnull(strstr(c.out, "%ops"));
	sh(&c, dir, "dnnq-run " DIGITS "/cnn.onnx --input " DIGITS "/test_x.npy --profile");
	ck_assert_int_eq(c.status, 1);
	ck_assert_ptr_nonnull(strstr(c.err, "--profile: .dnnq models only"));
	char path[512];
	struct array q, f;
	snprintf(path, sizeof path, "%s/logits.npy", dir);
	load(path, &q);
	sh(&c, dir, "dnnq-run " DIGITS "/cnn.onnx --input " DIGITS "/test_x.npy --output-dir %s",
	   dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	load(path, &f);
	ck_assert_uint_eq(q.a.count, f.a.count);
	ck_assert_uint_eq(q.a.ndim, 2);
	ck_assert_uint_eq(q.a.shape[1], 10);
	double run_db = dnnq_sqnr_db(f.data, q.data, q.a.count);
	ck_assert_msg(run_db >= 20.0, "dnnq-run int8 vs fp32: %.2f dB", run_db);
	free(q.data);
	free(f.data);

	/* --pin: the bytes of an unpinned run, on 2 threads where 2 CPUs are
	 * allowed; with this process held to one CPU (the child inherits the
	 * mask), more threads than allowed CPUs is an error that says so */
	int cpus[2];
	unsigned ncpus = dnnq_pool_allowed_cpus(2, cpus);
	ck_assert_uint_ge(ncpus, 1);
	if (ncpus == 2) {
		sh(&c, dir, "dnnq-run %s/cnn.dnnq --input input=" DIGITS "/test_x.npy --output-dir %s"
		   " --threads 2", dir, dir);
		ck_assert_msg(c.status == 0, "%s", c.err);
		load(path, &q);
		sh(&c, dir, "dnnq-run %s/cnn.dnnq --input input=" DIGITS "/test_x.npy --output-dir %s"
		   " --threads 2 --pin", dir, dir);
		ck_assert_msg(c.status == 0, "%s", c.err);
		load(path, &f);
		ck_assert_uint_eq(q.a.nbytes, f.a.nbytes);
		ck_assert(!memcmp(q.data, f.data, q.a.nbytes));
		free(q.data);
		free(f.data);
	}
	cpu_set_t was, one;
	ck_assert_int_eq(sched_getaffinity(0, sizeof was, &was), 0);
	CPU_ZERO(&one);
	CPU_SET(cpus[0], &one);
	ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
	sh(&c, dir, "dnnq-run %s/cnn.dnnq --input input=" DIGITS "/test_x.npy --output-dir %s"
	   " --threads 2 --pin", dir, dir);
	ck_assert_int_eq(sched_setaffinity(0, sizeof was, &was), 0);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "--pin: 2 threads on 1 allowed CPUs"), "%s", c.err);

	/* 16-bit accumulation: everywhere, then auto; the file says so */
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/cnn16.dnnq --calib " DIGITS
	   "/calib_x.npy --per-channel --precision int8 --acc16 --report", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "acc16: 3 of 3 conv/fc layers") &&
	              strstr(c.out, "sat rate") && strstr(c.out, " acc16 "), "%s", c.out);
	sh(&c, dir, "dnnq-inspect %s/cnn16.dnnq --json", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "\"accumulation\": \"acc16\", \"acc16_nbits\": 7, "
	                            "\"acc16_spill\": ") && strstr(c.out, "\"outlier_density\": 0."),
	              "%s", c.out);
	sh(&c, dir, "dnnq-run %s/cnn16.dnnq --input input=" DIGITS "/test_x.npy --output-dir %s",
	   dir, dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/cnn16a.dnnq --calib " DIGITS
	   "/calib_x.npy --per-channel --precision int8 --acc16=auto --acc16-nbits 6 --report "
	   "--json", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "\"acc16\":{\"mode\":\"auto\",\"layers\":3") &&
	              strstr(c.out, "\"accumulation\":\"acc16\"") &&
	              strstr(c.out, "\"saturation_rate\":") && strstr(c.out, "\"sqnr_db_acc16\":"),
	              "%s", c.out);
	/* the measurements are in the file: dnnq-inspect shows them for every
	 * layer, kept or not, at the split they were measured with */
	sh(&c, dir, "dnnq-inspect %s/cnn16a.dnnq", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	{
		int layers = 0;
		for (const char *p = c.out; (p = strstr(p, "\"acc16_nbits\": 6, ")); p++) {
			ck_assert_msg(strstr(p, "\"outlier_density\": 0.") &&
			              strstr(p, "\"acc16_saturation\": 0.") &&
			              strstr(p, "\"sqnr_db_acc32\": ") && strstr(p, "\"sqnr_db_acc16\": "),
			              "%s", p);
			layers++;
		}
		ck_assert_msg(layers == 3, "%d layers measured: %s", layers, c.out);
	}
	/* the whole conversion (calibration, precision auto's trials, kept
	 * int8 by the threshold, acc16=auto's shadow run and trials,
	 * evaluation) on 1 and on 3 threads: the same report, every SQNR and
	 * choice */
	{
		static char one[sizeof c.out];
		for (int t = 1; t <= 3; t += 2) {
			sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/t.dnnq --calib " DIGITS
			   "/calib_x.npy --per-channel --fp32-threshold 100 --acc16=auto --acc16-nbits 6 "
			   "--report --json --threads %d", dir, t);
			ck_assert_msg(c.status == 0 && strstr(c.out, "\"sqnr_db_acc16\":"), "%s", c.err);
			if (t == 1)
				memcpy(one, c.out, sizeof one);
			else
				ck_assert_msg(!strcmp(one, c.out), "1 thread:\n%s\n3 threads:\n%s", one,
				              c.out);
		}
	}
	sh(&c, dir, "dnnq-inspect %s/cnn.dnnq", dir);
	ck_assert_msg(c.status == 0 && strstr(c.out, "\"accumulation\": \"acc32\"") &&
	              !strstr(c.out, "acc16"), "%s", c.out);
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/x.dnnq --acc16=auto", dir);
	ck_assert_int_eq(c.status, 2);
	ck_assert_ptr_nonnull(strstr(c.err, "--acc16=auto needs --calib"));
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/x.dnnq --acc16=fast", dir);
	ck_assert_int_eq(c.status, 2);
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/x.dnnq --acc16-nbits 9", dir);
	ck_assert_int_eq(c.status, 2);

	/* errors a user makes */
	sh(&c, dir, "dnnq-run %s/cnn.dnnq --input input=" DIGITS "/test_y.npy", dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_ptr_nonnull(strstr(c.err, "test_y.npy"));
	sh(&c, dir, "dnnq-run %s/cnn.dnnq --input nosuch=" DIGITS "/test_x.npy", dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "--input nosuch: the model has no input of that name (its"
	                            " inputs: 'input')\n"), "%s", c.err);
	/* files without names to a model of two inputs: name them, and which */
	sh(&c, dir, "dnnq-run tests/onnx/nlp/bert.onnx -i tests/onnx/nlp/ids.npy"
	   " -i tests/onnx/nlp/mask.npy");
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "--input tests/onnx/nlp/ids.npy: the model has 2 inputs ("),
	              "%s", c.err);
	ck_assert_msg(strstr(c.err, "): give each as NAME=FILE\n"), "%s", c.err);
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/x.dnnq", dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_ptr_nonnull(strstr(c.err, "--calib"));
	/* a file that is no .npy: named once (the file reader's line already
	 * starts with its path), for an input and for --calib alike */
	sh(&c, dir, "dnnq-run %s/cnn.dnnq --input " DIGITS "/digits.json", dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_str_eq(c.err, "dnnq-run: " DIGITS "/digits.json: not a .npy file (it does not begin"
	                 " with \\x93NUMPY, as np.save writes)\n");
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/x.dnnq --calib " DIGITS "/digits.json",
	   dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_str_eq(c.err, "dnnq-convert: " DIGITS "/digits.json: not a .npy file (it does not"
	                 " begin with \\x93NUMPY, as np.save writes)\n");
	/* a .dnnq given to dnnq-convert: said so, with what to do with it; a
	 * file that is neither kind given to dnnq-run */
	sh(&c, dir, "dnnq-convert %s/cnn.dnnq -o %s/x.dnnq", dir, dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "/cnn.dnnq is a .dnnq model already (what dnnq-convert writes)"),
	              "%s", c.err);
	sh(&c, dir, "dnnq-run " DIGITS "/digits.json -i " DIGITS "/demo_x.npy");
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "; nor is it a .dnnq model (dnnq-run runs either)\n"), "%s",
	              c.err);
	/* a model of two inputs: --calib a file, or a directory without one of
	 * them, names the inputs it wants */
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "mkdir -p %s/two && cp tests/onnx/nlp/ids.npy %s/two/", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	sh(&c, dir, "dnnq-convert tests/onnx/nlp/bert.onnx -o %s/x.dnnq --calib %s/two", dir, dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "/two: no mask.npy for input 'mask' (the model's inputs: 'ids',"
	                            " 'mask'; one INPUT.npy each)\n"), "%s", c.err);
	sh(&c, dir, "dnnq-convert tests/onnx/nlp/bert.onnx -o %s/x.dnnq --calib %s/two/ids.npy",
	   dir, dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "/ids.npy: the model has 2 inputs ('ids', 'mask'): give a "
	                            "directory holding INPUT.npy for each\n"), "%s", c.err);
	/* dnnq-inspect: the system's reason, and its name before a model's fault */
	sh(&c, dir, "dnnq-inspect %s", dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "dnnq-inspect: ") && strstr(c.err, ": Is a directory\n"), "%s",
	              c.err);
	sh(&c, dir, "dnnq-inspect " DIGITS "/cnn.onnx");
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(!strncmp(c.err, "dnnq-inspect: " DIGITS "/cnn.onnx: model: header: magic: not a"
	                       " .dnnq file", 60), "%s", c.err);
	/* an unknown option: one line naming it (and the option meant, for a
	 * typo) and a pointer to --help, not the whole usage */
	sh(&c, dir, "dnnq-run %s/cnn.dnnq --bogus", dir);
	ck_assert_int_eq(c.status, 2);
	ck_assert_str_eq(c.err, "dnnq-run: unrecognized option '--bogus' (try --help)\n");
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx --calb x.npy");
	ck_assert_int_eq(c.status, 2);
	ck_assert_str_eq(c.err, "dnnq-convert: unrecognized option '--calb': did you mean '--calib'?"
	                 " (try --help)\n");
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx --calib");
	ck_assert_int_eq(c.status, 2);
	ck_assert_str_eq(c.err, "dnnq-convert: option '--calib' needs a value (try --help)\n");
	sh(&c, dir, "dnnq-convert tests/onnx/bad/unsupported.onnx -o %s/x.dnnq", dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "bad_einsum") && strstr(c.err, "bad_random"),
	              "every unsupported node named: %s", c.err);
	ck_assert_msg(strstr(c.err, "node 'bad_random' (RandomNormalLike): unsupported operator\n"
	                            "dnnq-convert: onnx.md (\"Supported operators\"; docs/ in dnnq's"
	                            " sources, PREFIX/share/doc/dnnq/ once installed) lists the"
	                            " operators dnnq imports: "), "%s", c.err);
	/* calibration samples that are all NaN: named as such, not as a value
	 * without quantization parameters */
	float nans[2 * 64];
	char nanf[512];
	for (int i = 0; i < 2 * 64; i++)
		nans[i] = NAN;
	snprintf(nanf, sizeof nanf, "%s/nan.npy", dir);
	ck_assert_int_eq(dnnq_npy_write_file(nanf, DNNQ_DTYPE_F32, (size_t[]){ 2, 1, 8, 8 }, 4, nans,
	                                     NULL), 0);
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/x.dnnq --calib %s", dir, nanf);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "/nan.npy: input 'input': no finite value in its samples (NaN"
	                            " or infinity only)\n"), "%s", c.err);
	/* an image array in the other layout: the transpose that makes it the
	 * input's is named, to dnnq-convert and dnnq-run alike */
	snprintf(nanf, sizeof nanf, "%s/nhwc.npy", dir);
	ck_assert_int_eq(dnnq_npy_write_file(nanf, DNNQ_DTYPE_F32, (size_t[]){ 2, 8, 8, 1 }, 4, nans,
	                                     NULL), 0);
	sh_refused(&c, dir, "/nhwc.npy: shape [2, 8, 8, 1], want [n, 1, 8, 8] (n >= 1 samples); "
	           "channels last? np.transpose(x, (0, 3, 1, 2)) makes the NCHW array the input "
	           "takes\n", "dnnq-convert " DIGITS "/cnn.onnx -o %s/x.dnnq --calib %s", dir, nanf);
	sh_refused(&c, dir, "channels last? np.transpose(x, (0, 3, 1, 2))",
	           "dnnq-run " DIGITS "/cnn.onnx -i %s -o %s/y", nanf, dir);
	/* an image of another size for the .dnnq: the dims it was converted
	 * for are named as the cause (not to the ONNX model: its dims are not
	 * a conversion's) */
	ck_assert_int_eq(dnnq_npy_write_file(nanf, DNNQ_DTYPE_F32, (size_t[]){ 1, 1, 4, 4 }, 4, nans,
	                                     NULL), 0);
	sh_refused(&c, dir, "/nhwc.npy: shape [1, 1, 4, 4], want [n, 1, 8, 8] (n >= 1 samples); a "
	           ".dnnq model takes the shape it was converted for (dnnq-convert fixes an ONNX "
	           "model's symbolic dims by --input-shape or the calibration samples): convert "
	           "again for another\n", "dnnq-run %s/cnn.dnnq -i %s -o %s/y", dir, nanf, dir);
	sh_refused(&c, dir, "want [n, 1, 8, 8] (n >= 1 samples)\n",
	           "dnnq-run " DIGITS "/cnn.onnx -i %s -o %s/y", nanf, dir);
	/* finite inputs whose Det's element (0, 0) is inf in every sample: its
	 * readers run fp32 with --precision auto (they were refused, 'must be
	 * quantized and has no quantization parameters'), --precision int8
	 * names the first */
	float inf9[2 * 9];
	for (int i = 0; i < 2 * 9; i++)
		inf9[i] = i % 9 ? 0.5f : INFINITY;
	snprintf(nanf, sizeof nanf, "%s/inf.npy", dir);
	ck_assert_int_eq(dnnq_npy_write_file(nanf, DNNQ_DTYPE_F32, (size_t[]){ 2, 9 }, 2, inf9,
	                                     NULL), 0);
	sh(&c, dir, "dnnq-convert tests/onnx/opgaps/det_2d.onnx -o %s/inf.dnnq --calib %s", dir, nanf);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.err, "det_2d.onnx: node 'Det_5:e00' runs fp32: value 'Det_5:e00' held"
	                            " no finite value on the calibration samples (NaN or infinity "
	                            "only)\n"), "%s", c.err);
	sh(&c, dir, "dnnq-convert tests/onnx/opgaps/det_2d.onnx -o %s/x.dnnq --calib %s "
	   "--precision int8", dir, nanf);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "node 'Det_5:e00': value 'Det_5:e00' held no finite value on the "
	                            "calibration samples"), "%s", c.err);
	/* every node fp32: nothing refused (the final Reshape has no fp32 form
	 * to keep, and follows its input) */
	sh(&c, dir, "dnnq-convert tests/onnx/opgaps/det_2d.onnx -o %s/inf.dnnq --calib %s "
	   "--precision int8 --keep-fp32 '*'", dir, nanf);
	ck_assert_msg(c.status == 0, "%s", c.err);
	sh(&c, dir, "dnnq-convert tests/onnx/bad/not_onnx.onnx -o %s/x.dnnq", dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_ptr_nonnull(strstr(c.err, "not_onnx.onnx"));
	ck_assert_int_ne(access(path, F_OK), -1);
	snprintf(path, sizeof path, "%s/x.dnnq", dir);
	ck_assert_int_eq(access(path, F_OK), -1);	/* nothing written on failure */

	char rm[600];
	snprintf(rm, sizeof rm, "rm -rf %s", dir);
	ck_assert_int_eq(system(rm), 0);
}
END_TEST

/* The floats of a .npy file written back as float64 ('<f8'). */
static void write_f64(const char *path, const float *x, const size_t *shape, unsigned ndim)
{
	char dict[256], dims[128] = "";
	size_t count = 1;
	for (unsigned k = 0; k < ndim; k++) {
		snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%zu,%s", shape[k],
		         k + 1 < ndim ? " " : "");
		count *= shape[k];
	}
	int n = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, "
	                 "'shape': (%s), }", dims);
	int pad = 64 - (10 + n + 1) % 64;
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	uint16_t hlen = (uint16_t)(n + pad + 1);
	fwrite("\x93NUMPY\x01\x00", 1, 8, f);
	fputc(hlen & 0xff, f);
	fputc(hlen >> 8, f);
	fprintf(f, "%s%*s\n", dict, pad, "");
	for (size_t i = 0; i < count; i++) {
		double v = x[i];
		fwrite(&v, sizeof v, 1, f);
	}
	ck_assert_int_eq(fclose(f), 0);
}

static void rm_rf(const char *dir)
{
	char rm[600];
	snprintf(rm, sizeof rm, "rm -rf %s", dir);
	ck_assert_int_eq(system(rm), 0);
}

#define MODERN "tests/onnx/modern"

/* A case of kind `auto` (attention whose mask, finfo.min or -inf, is
 * added to the scores: every node int8 quantizes the sum at the mask's
 * range, and the Softmax sees one code for every kept score): all fp32
 * within 1e-5 of ONNX Runtime's outputs, and dnnq-convert's default
 * precision (auto) at 30 dB or more against the fp32 model on the
 * inputs. The every-node-int8 SQNR is printed, not judged. */
static void modern_auto(const char *name, unsigned nin)
{
	char path[512], dir[] = "/tmp/dnnq-modern-XXXXXX";
	static struct cmd c;
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	struct array in[8], want[DNNQ_IR_MAX_OUTPUTS];
	struct dnnq_npy ina[8], wanta[DNNQ_IR_MAX_OUTPUTS];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	import_case(MODERN, name, nin, &ir);
	ck_assert_uint_le(nin, 8);
	for (unsigned i = 0; i < nin; i++) {
		char to[600], abs[PATH_MAX];
		snprintf(path, sizeof path, MODERN "/%s.in%u.npy", name, i);
		load(path, &in[i]);
		ina[i] = in[i].a;
		snprintf(to, sizeof to, "%s/%s.npy", dir, ir.values[ir.inputs[i]].name);
		ck_assert_ptr_nonnull(realpath(path, abs));
		ck_assert_int_eq(symlink(abs, to), 0);
	}
	for (size_t k = 0; k < ir.noutputs; k++) {
		if (k)
			snprintf(path, sizeof path, MODERN "/%s.out%zu.npy", name, k);
		else
			snprintf(path, sizeof path, MODERN "/%s.out.npy", name);
		load(path, &want[k]);
		wanta[k] = want[k].a;
	}
	struct conf_result r;
	ck_assert_msg(conf_run(&ir, false, ina, wanta, &r, &d) == 0, "%s: %s", name, d.msg);
	sh(&c, dir, "dnnq-convert " MODERN "/%s.onnx -o %s/m.dnnq --calib %s --json", name, dir,
	   dir);
	ck_assert_msg(c.status == 0, "%s: %s", name, c.err);
	const char *s = strstr(c.out, "\"sqnr_db\":");
	ck_assert_msg(s, "%s: %s", name, c.out);
	double db = strtod(s + strlen("\"sqnr_db\":"), NULL);
	printf("convert: modern %-14s auto  SQNR %6.2f dB (every node int8 %6.2f dB), all-fp32 "
	       "max rel %.2g\n", name, db, r.sqnr_db, r.fp32_rel);
	ck_assert_msg(r.fp32_rel <= 1e-5, "%s: in fp32: max rel error %g", name, r.fp32_rel);
	ck_assert_msg(db >= 30.0, "%s: default precision: SQNR %.2f dB < 30", name, db);
	rm_rf(dir);
	for (unsigned i = 0; i < nin; i++)
		free(in[i].data);
	for (size_t k = 0; k < ir.noutputs; k++)
		free(want[k].data);
	dnnq_ir_free(&ir);
}

static void modern_case(const char *dir, const char *name, const char *kind, unsigned nin)
{
	if (!strcmp(kind, "auto"))
		modern_auto(name, nin);
	else
		conformance_in(dir, name, kind, nin);
}

/* tools/mkmodern.py's opset 18-21 models, as torch 2's exporters write
 * them (ViT, ConvNeXt, EfficientNet, BERT blocks, a YOLOv8 head, the
 * boolean-mask attention, GroupNormalization, Gelu, Mish, the newer
 * reductions, Trilu of activations, model-local functions and the names
 * their calls make, in a Loop's body too, Einsum Linears), against ONNX
 * Runtime's outputs as the conformance cases of
 * kind fp32, or (kind auto, the masked attentions) modern_auto. */
START_TEST(modern_models)
{
	ck_assert_uint_eq(each_case(MODERN, "tools/mkmodern.py", modern_case), 13);
}
END_TEST

/* got against ONNX Runtime's want, n floats: the same infinities, no NaN,
 * the finite ones within 1e-5 relative. */
static void same_infinities(const char *what, const float *want, const float *got, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isinf(want[i]))
			ck_assert_msg(got[i] == want[i], "%s[%zu]: %g, want %g", what, i, got[i], want[i]);
		else
			ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-5f * fabsf(want[i]),
			              "%s[%zu]: %g, want %g", what, i, got[i], want[i]);
}

/* tests/onnx/modern/lse_inf.onnx: ReduceLogSumExp of rows of -inf and rows
 * holding inf gives ONNX Runtime's -inf and inf (x less an infinite maximum
 * was NaN), in the reference executor and the engine with every node fp32. */
START_TEST(modern_infinities)
{
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	struct array x, want[2];
	import_case(MODERN, "lse_inf", 1, &ir);
	load(MODERN "/lse_inf.in0.npy", &x);
	load(MODERN "/lse_inf.out.npy", &want[0]);
	load(MODERN "/lse_inf.out1.npy", &want[1]);
	ck_assert_uint_eq(ir.noutputs, 2);
	size_t batch = (size_t)x.a.shape[0];
	float *ref[2];
	for (int k = 0; k < 2; k++) {
		ck_assert_uint_eq(dnnq_ir_numel(&ir.values[ir.outputs[k]], batch), want[k].a.count);
		ck_assert_ptr_nonnull(ref[k] = malloc(want[k].a.count * sizeof *ref[k]));
	}
	ck_assert_msg(dnnq_ir_run(&ir, batch, (const void *const[]){ x.data }, (void *const *)ref,
	                          NULL, NULL, &d) == 0, "%s", d.msg);
	bool *keep;
	ck_assert_msg(dnnq_onnx_keep_fp32(&ir, "*", &keep, &d) == 0, "%s", d.msg);
	struct dnnq_lower_opts lo = { .calibration = "none", .fp32_nodes = keep };
	struct dnnq_model m;
	ck_assert_msg(dnnq_onnx_lower(&ir, &lo, NULL, NULL, &m, &d) == 0, "%s", d.msg);
	free(keep);
	void *out[2];
	struct dnnq_tensor_info info[2];
	run_model(&m, batch, (const void *const[]){ x.data }, out, info);
	for (int k = 0; k < 2; k++) {
		same_infinities("reference", want[k].data, ref[k], want[k].a.count);
		same_infinities("engine", want[k].data, out[k], want[k].a.count);
		free(ref[k]);
		free(out[k]);
		free(want[k].data);
	}
	free(x.data);
	dnnq_model_free(&m);
	dnnq_ir_free(&ir);
}
END_TEST

/* tests/onnx/modern/bad_modern.onnx: each node refused naming it and the
 * attribute or input at fault; bad_fanout.onnx's calls stopped. */
START_TEST(modern_refused)
{
	static const char *const want[] = {
		"node 'gelu_fast' (Gelu): attribute 'approximate' = 'fast': 'none' or 'tanh' "
		"expected",
		"node 'gn_groups3' (GroupNormalization): num_groups 3: want a divisor of the 8 "
		"channels",
		"node 'gn_scale8' (GroupNormalization): input 1 'ones8' [8]: [4] (the groups, opset "
		"18) expected",
		"node 'gn_no_groups' (GroupNormalization): attribute 'num_groups' is missing",
		"node 'gn_stash0' (GroupNormalization): stash_type 0: only 1 (float)",
		"node 'gn_empty' (GroupNormalization): input 0 'empty' [0,8,2]: [N, C, ...] of "
		"some elements expected",
		"node 'isinf_2' (IsInf): detect_negative 2, detect_positive 1: 0 or 1 expected",
		"node 'lse_foo' (ReduceLogSumExp): attribute 'foo' is not one of ReduceLogSumExp's "
		"(axes keepdims noop_with_empty_axes)",
		"node 'mish_2' (Mish): 2 inputs, 1 outputs (1 to 1, and 1 to 1 expected)",
		"node 'seq_split6' (SplitToSequence): split's lengths add to 6, not the 8 of axis 1",
		"node 'seq_at5' (SequenceAt): position 5 is outside [-4, 4)",
		"node 'trilu_k2' (Trilu): input 1 'three' (k) [2]: one value expected",
		"node 'fn_no_slope' (aten_leaky_relu): function 'aten_leaky_relu': attribute "
		"'negative_slope' is not given by the call (a function's default is not read)",
		"node 'fn_recursive/Twice#0' (Twice): function 'Twice' calls itself",
		"node 'fn_graph_ref' (Branches): function 'Branches': node '' (If) has a subgraph: "
		"not inlined",
		"node 'lse_axes_attr' (ReduceLogSumExp): attribute 'axes' in opset 18: axes is an "
		"input from opset 18 on",
		"node 'clash' (Twice2): function 'Twice2': its names made as 'clash/NAME' and "
		"'clash~1..8/NAME' are names of the model",
	};
	static const char *const fanout[] = {
		"node 'fanout/F1#0/F2#0/F3#0/F4#0/F5#0",
		"nodes take the inlined functions past 32768 nodes",
	};
	free(refused_with(MODERN "/bad_modern.onnx", DNNQ_E_RANGE, 17, want,
	                  sizeof want / sizeof want[0]));
	/* 2^24 calls: one problem, at 2^15 inlined nodes */
	free(refused_with(MODERN "/bad_fanout.onnx", DNNQ_E_UNSUPPORTED, 1, fanout, 2));
}
END_TEST

#define OPGAPS "tests/onnx/opgaps"

/* tools/mkopgaps.py's operators and attributes that real models use less
 * often (a float cast to integers at run time, ...), against ONNX
 * Runtime's outputs as the conformance cases. */
START_TEST(opgaps_models)
{
	ck_assert_uint_eq(each_case(OPGAPS, "tools/mkopgaps.py", conformance_at), 21);
}
END_TEST

/* tests/onnx/opgaps/matmul_bcast_batch.onnx: MatMuls of [N, 3, 4] by
 * constants [1, 5, 4, 2] and [5, 4, 2], whose leading dims broadcast
 * against the batch: the import fixes it to 1 (the build refused it,
 * `batch dims[1]: 0 ('x') and 5 ... do not broadcast`: the batch not yet
 * planned), the calibration's run of 4 samples reads x at the output's
 * rank (it read x's batch against the 5: 0.72 dB with every node fp32),
 * and dnnq-run's 4 runs of one sample are ONNX Runtime's. */
static double file_sqnr(const char *want_path, const char *got_path);

START_TEST(matmul_bcast_batch)
{
	char dir[] = "/tmp/dnnq-mmb-XXXXXX", want[512], got[512];
	static struct cmd c;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	sh(&c, dir, "dnnq-convert " OPGAPS "/matmul_bcast_batch.onnx -o %s/m.dnnq --calib "
	   OPGAPS "/matmul_bcast_batch.in0.npy --json", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "\"max_batch\":1,") && strstr(c.out, "\"batch_mixes\":true"),
	              "%s", c.out);
	sh(&c, dir, "dnnq-run %s/m.dnnq -i " OPGAPS "/matmul_bcast_batch.in0.npy -o %s/o", dir,
	   dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	static const char *const outs[] = { "matmul_3_0", "matmul_5_0" };
	for (int k = 0; k < 2; k++) {
		snprintf(want, sizeof want, OPGAPS "/matmul_bcast_batch.out%s.npy", k ? "1" : "");
		snprintf(got, sizeof got, "%s/o/%s.npy", dir, outs[k]);
		double db = file_sqnr(want, got);
		printf("convert: matmul_bcast_batch output %d %6.2f dB against ONNX Runtime\n", k, db);
		ck_assert_double_ge(db, 30);
	}
	rm_rf(dir);
}
END_TEST

/* tests/onnx/opgaps/conv_affine.onnx: two Convs followed by Mul and Add
 * of constants per channel become two Convs (the third, whose output is
 * read twice, stays), the Mul and Add after a Relu one BatchNormalization,
 * Paddle's x * Sigmoid(x * 1) a Swish after its Mul by 1 goes (the
 * conformance case compares the outputs with ONNX Runtime's). */
START_TEST(conv_affine_fused)
{
	char dir[] = "/tmp/dnnq-caf-XXXXXX";
	static struct cmd c;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	sh(&c, dir, "dnnq-convert " OPGAPS "/conv_affine.onnx -o %s/m.dnnq --calib "
	   OPGAPS "/conv_affine.in0.npy --report", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "fusions: 1 x*Sigmoid(x) -> Swish, 2 Conv,Mul|Add by constants "
	                     "per channel -> Conv, 1 Mul|Add by constants per channel -> "
	                     "BatchNormalization\n") &&
	              strstr(c.out, "import: 1 removed (Mul 1)\n"), "%s", c.out);
	rm_rf(dir);
}
END_TEST

/* tests/onnx/opgaps/conv_affine_nonfinite.onnx (tools/mkopgaps.py): a
 * Mul by 3e38 or by [1, inf, 1, -inf] after a Conv, and one by [1, inf, 2,
 * -inf] before an Add, stay nodes (only the Mul by 2 before the inf folds):
 * folded, the weights held inf, whose sums gave NaN where the Mul gives
 * +-inf or a finite product (every output of y1, half of y2's and y3's
 * NaN; attack57). The reference executor's outputs: no NaN, y2's and y3's
 * channels 1 and 3 +-inf. */
START_TEST(conv_affine_finite)
{
	char dir[] = "/tmp/dnnq-cafn-XXXXXX", path[64];
	static struct cmd c;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	sh(&c, dir, "dnnq-run " OPGAPS "/conv_affine_nonfinite.onnx -i " OPGAPS
	   "/conv_affine_nonfinite.in0.npy -o %s", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	for (int y = 1; y <= 3; y++) {
		struct array a;
		snprintf(path, sizeof path, "%s/y%d.npy", dir, y);
		load(path, &a);
		const float *v = a.data;
		size_t n = a.a.nbytes / sizeof *v, nans = 0, infs = 0;
		for (size_t i = 0; i < n; i++) {
			nans += isnan(v[i]);
			infs += isinf(v[i]) && (i / 25 % 2 == 1);
		}
		ck_assert_uint_eq(n, 100);
		ck_assert_msg(nans == 0, "y%d: %zu of %zu NaN", y, nans, n);
		if (y > 1)
			ck_assert_uint_eq(infs, 50);
		free(a.data);
	}
	sh(&c, dir, "dnnq-convert " OPGAPS "/conv_affine_nonfinite.onnx -o %s/m.dnnq --calib "
	   OPGAPS "/conv_affine_nonfinite.in0.npy --report", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "fusions: 1 Conv,Mul|Add by constants per channel -> Conv\n"),
	              "%s", c.out);
	rm_rf(dir);
}
END_TEST

/* tests/onnx/opgaps/bad_opgaps.onnx: each node refused naming it and the
 * attribute or input at fault. */
START_TEST(opgaps_refused)
{
	static const char *const want[] = {
		"node 'pad_wrap_crop' (Pad): axis 3: pads 1, -1: a negative pad (a crop) with mode "
		"'wrap' is not supported",
		"node 'cast_int16' (Cast): casting to int16 is not supported (a float computed at "
		"run time: to int8, uint8, int32 or int64)",
		"node 'lppool_p0' (LpPool): p = 0: 1..64 expected",
		"node 'lppool_nokernel' (LpPool): attribute 'kernel_shape' is missing",
		"node 'lppool_1d' (LpPool): input 0 'l'",
		"only 2-D LpPool (4-D NCHW input) is supported",
		"node 'resize_aa2' (Resize): antialias 2: 0 or 1 expected",
		"node 'det_8x16' (Det): input 0 'l' [N:1,8,16]: only square matrices [..., M, M] of "
		"M 1, 2 or 3 are supported",
		"node 'col2im_12_blocks' (Col2Im): input 0 'l' [N:1,8,16]: want [N, C x 4, 12] "
		"(blocks of 2 x 2, 3 x 4 of them)",
		/* H W past int64 was computed first: SIGSEGV in dnnq-convert */
		"node 'affine_grid_2p32' (AffineGrid): size [.., 4294967296, 4294967296]: want H, "
		"W >= 1 and H W up to 2^24",
		"node 'resize_axes_twice' (Resize): axis 3 given twice",
		"node 'pad_axes_twice' (Pad): axis 3 given twice",
		"node 'pad_2p40' (Pad): axis 3: pads 0, 1099511627776: out of range",
		/* both overflowed int64 in the blocks' arithmetic (UBSan) */
		"node 'col2im_img_min' (Col2Im): image_shape [-9223372036854775807, 5], block_shape "
		"[2, 2] (dilations, pads): blocks that fit the padded image, up to 2^31 a side",
		"node 'col2im_pads_2p31' (Col2Im): image_shape [4, 5], block_shape [2, 2]",
		/* a file's -2^63 read as the batch ('Tile repeats[2] is the batch's size') */
		"node 'tile_reps_min' (Tile): repeats[2] = -9223372036854775807: want 1..1024",
		/* before: the operands the import makes of them, "A [N:1,16,8] and B [7,5]" */
		"node 'matmul_left_k' (MatMul): [5,7] and [N:1,8,16] do not chain: K 7 vs 8",
		"node 'matmul_vector_k' (MatMul): [N:1,8,16] and [5] do not chain: K 16 vs 5",
		/* before: converted, computed as floats (ONNX Runtime refuses both) */
		"node 'int_times_float' (Mul): input 1 'v16' is float32 where another input holds "
		"integers",
		"node 'float_input_plus_int' (Add): input 0 'l' is float32 where another input holds "
		"integers",
	};
	free(refused_with(OPGAPS "/bad_opgaps.onnx", DNNQ_E_UNSUPPORTED, 19, want,
	                  sizeof want / sizeof want[0]));
}
END_TEST

/* dnnq-convert --keep-fp32: the kept node is fp32 in --report --json and
 * in dnnq-inspect, the summary counts the precisions and the converts, the
 * model runs; bad names are refused at once, each named. */
START_TEST(tools_keep_fp32)
{
	char dir[] = "/tmp/dnnq-keep-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/k.dnnq --calib " DIGITS
	   "/calib_x.npy --keep-fp32 /0/Conv,/7/Gemm --precision int8 --report --json", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "\"name\":\"/0/Conv\",\"kind\":\"conv\",\"precision\":\"fp32\""),
	              "%s", c.out);
	ck_assert_msg(strstr(c.out, "\"precision\":\"int8\""), "%s", c.out);
	ck_assert_msg(strstr(c.out, "\"fp32_nodes\":2,"), "%s", c.out);
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/k.dnnq --calib " DIGITS
	   "/calib_x.npy --keep-fp32 /0/Conv --precision int8 --report", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "precision: 5 int8 and 1 fp32 nodes;"), "%s", c.out);
	ck_assert_msg(strstr(c.out, " fp32 "), "%s", c.out);
	sh(&c, dir, "dnnq-inspect %s/k.dnnq --json", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "\"precision\": \"fp32\""), "%s", c.out);
	sh(&c, dir, "dnnq-run %s/k.dnnq -i " DIGITS "/test_x.npy -o %s/y.npy", dir, dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/bad.dnnq --calib " DIGITS
	   "/calib_x.npy --keep-fp32 nosuch,/6/Flatten", dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "--keep-fp32: 'nosuch' is no node of the model; '/6/Flatten' "
	                     "only moves data (a reshape)"), "%s", c.err);
	rm_rf(dir);
}
END_TEST

/* A torch export with symbolic N, H and W: refused without a shape (the
 * message names the input and the option), converted with --input-shape
 * (what import folded reported), run by dnnq-run against torch's output;
 * dnnq-run fixes the ONNX model's dims from its input. Bad shapes refused. */
START_TEST(tools_input_shape)
{
	char dir[] = "/tmp/dnnq-shape-XXXXXX", path[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	const char *m = OPS "/fold_torch_view.onnx", *x = OPS "/fold_torch_view.in0.npy";
	/* under a long path (the model's path first, a line of 256 bytes cut
	 * the advice: "or calibratio") the lines stay whole */
	char deep[200], real[PATH_MAX], dm[300];
	snprintf(deep, sizeof deep, "%s/%0150d", dir, 0);
	ck_assert_int_eq(mkdir(deep, 0700), 0);
	snprintf(dm, sizeof dm, "%s/m.onnx", deep);
	ck_assert_ptr_nonnull(realpath(m, real));
	ck_assert_int_eq(symlink(real, dm), 0);
	sh_refused(&c, dir, "/m.onnx: input 'x': dims[2] is 'H' (symbolic): fix it with "
	           "--input-shape x=1x3x<H>x<W> (dim 0 is the batch) or calibration samples of that"
	           " shape\n", "dnnq-convert %s -o %s/v.dnnq", dm, dir);
	/* dnnq-run has no --input-shape: its arrays fix the dims, and an array
	 * of another rank is told the shape it needs, and named */
	sh_refused(&c, dir, "/m.onnx: input 'x': dims[2] is 'H' (symbolic): fix it with an --input"
	           " array of shape 1x3x<H>x<W> (dim 0 is the batch); the --input array given is "
	           "[360], of rank 1 where the input has 4 (dim 0 counts the samples)\n",
	           "dnnq-run %s -i " DIGITS "/test_y.npy -o %s", dm, dir);
	/* calibration samples of another rank are named likewise */
	sh_refused(&c, dir, "(dim 0 is the batch) or calibration samples of that shape; the "
	           "calibration samples' array given is [360], of rank 1 where the input has 4 (dim"
	           " 0 counts the samples)\n", "dnnq-convert %s -o %s/v.dnnq --calib " DIGITS
	           "/test_y.npy", m, dir);
	/* a directory of images saved one by one without the batch axis: named
	 * with its first file's shape (it said only that x.npy was missing) */
	char cdir[300];
	snprintf(cdir, sizeof cdir, "%s/imgs", dir);
	ck_assert_int_eq(mkdir(cdir, 0700), 0);
	snprintf(path, sizeof path, "%s/img0.npy", cdir);
	static const float img[3 * 6 * 6];
	ck_assert_int_eq(dnnq_npy_write_file(path, DNNQ_DTYPE_F32, (size_t[]){ 3, 6, 6 }, 3, img,
	                                     NULL), 0);
	sh_refused(&c, dir, "or calibration samples of that shape (the --calib directory has no "
	           "x.npy; its first file's array is [3, 6, 6], of another rank)\n",
	           "dnnq-convert %s -o %s/v.dnnq --calib %s", m, dir, cdir);
	sh_refused(&c, dir, "/img0.npy: shape [3, 6, 6], want [n, 3, 6, 6] (n >= 1 samples); one "
	           "sample without its batch axis? x[None] adds it\n",
	           "dnnq-convert %s -o %s/v.dnnq --calib %s --input-shape x=1x3x6x6", m, dir, cdir);
	/* --input-value: NAME=V expected; a value the input's type refuses */
	sh(&c, dir, "dnnq-convert tests/onnx/rnn/if.onnx -o %s/i.dnnq --input-value sr", dir);
	ck_assert_int_eq(c.status, 2);
	ck_assert_msg(strstr(c.err, "--input-value sr: NAME=V[,V...] expected"), "%s", c.err);
	sh(&c, dir, "dnnq-convert tests/onnx/rnn/if.onnx -o %s/i.dnnq --input-value sr=1.5", dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "input 'sr': --input-value '1.5': value 0: '1.5' is not a "
	                     "number"), "%s", c.err);
	sh(&c, dir, "dnnq-convert %s -o %s/v.dnnq --input-shape x=2x3x6x6 --calib %s --report", m,
	   dir, x);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "import: 4 folded (Shape 1, Gather 1, Unsqueeze 1, Concat 1)") &&
	              strstr(c.out, "  folded  Shape "), "%s", c.out);
	sh(&c, dir, "dnnq-convert %s -o %s/v.dnnq --input-shape x=1x3x6x6 --calib %s --json", m,
	   dir, x);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "\"import\":{\"folded\":{\"Shape\":1,\"Gather\":1,"
	                     "\"Unsqueeze\":1,\"Concat\":1},\"removed\":{},\"merged\":{},"
	                     "\"inlined\":{},\"nodes\":["),
	              "%s", c.out);
	struct array want, got;
	load(OPS "/fold_torch_view.out.npy", &want);
	for (int onnx = 0; onnx < 2; onnx++) {
		char model[512];
		snprintf(model, sizeof model, onnx ? "%s" : "%s/v.dnnq", onnx ? m : dir);
		sh(&c, dir, "dnnq-run %s -i %s -o %s", model, x, dir);
		ck_assert_msg(c.status == 0, "%s", c.err);
		snprintf(path, sizeof path, "%s/y.npy", dir);
		load(path, &got);
		ck_assert_uint_eq(got.a.count, want.a.count);
		double db = dnnq_sqnr_db(want.data, got.data, want.a.count);
		printf("convert: fold_torch_view --input-shape, dnnq-run %s: SQNR %.2f dB\n",
		       onnx ? "fp32 ONNX" : "int8", db);
		ck_assert_msg(db >= (onnx ? 80.0 : 30.0), "%s: %.2f dB", onnx ? "onnx" : "int8", db);
		free(got.data);
	}
	free(want.data);
	sh(&c, dir, "dnnq-convert %s -o %s/v.dnnq --input-shape x=1x4x6x6 --calib %s", m, dir, x);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "input 'x': --input-shape gives dims[1] = 4, the model fixes "
	                     "it at 3"), "%s", c.err);
	sh(&c, dir, "dnnq-convert %s -o %s/v.dnnq --input-shape image=1x3x6x6 --calib %s", m, dir,
	   x);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "--input-shape 'image': the model has no input"), "%s", c.err);
	sh(&c, dir, "dnnq-convert %s -o %s/v.dnnq --input-shape x=1x3xHx6", m, dir);
	ck_assert_int_eq(c.status, 2);
	ck_assert_msg(strstr(c.err, "dims are positive integers"), "%s", c.err);
	rm_rf(dir);
}
END_TEST

/* The number after the first "key": in dnnq-convert's --json out. */
static double json_at(const char *out, const char *key)
{
	char k[64];
	snprintf(k, sizeof k, "\"%s\":", key);
	const char *s = strstr(out, k);
	ck_assert_msg(s, "%s lacks %s", out, k);
	return strtod(s + strlen(k), NULL);
}

/* The output SQNR dnnq-convert --json printed (its first "sqnr_db"). */
static double json_sqnr(const char *out)
{
	return json_at(out, "sqnr_db");
}

#define PREC "tests/onnx/precision"

/* tests/onnx/precision/NAME.onnx converted to DIR/OUT with its calibration
 * samples (calib_NAME.npy) and args. */
static void convert_prec(struct cmd *c, const char *dir, const char *name, const char *out,
                         const char *args)
{
	sh(c, dir, "dnnq-convert " PREC "/%s.onnx -o %s/%s --calib " PREC "/calib_%s.npy %s", name,
	   dir, out, name, args);
}

/* --precision auto (the default): the Conv whose int8 weights a dead
 * channel's outlier ruins (tools/mkonnx.py make_precision) is measured
 * into fp32, alone, and the outputs gain; --precision int8 keeps it int8;
 * --fp32-threshold moves the count (with the SQNR floor off: the floor
 * alone sends that Conv fp32 too); --report and --json show each node's
 * precision and int8 loss; a bias int8 cannot hold is lowered fp32 under
 * auto and refused naming the node under int8; bad values are usage
 * errors; a small output beside a large one counts (scales.onnx). */
START_TEST(tools_precision_auto)
{
	char dir[] = "/tmp/dnnq-prec-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	convert_prec(&c, dir, "sensitive", "a.dnnq", "--json");
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "\"fp32_nodes\":1,") &&
	              strstr(c.out, "\"precision\":{\"mode\":\"auto\",\"threshold_db\":0.500,"
	                     "\"floor_db\":20.000,\"samples\":4,") &&
	              strstr(c.out, "{\"name\":\"relu_r2\",\"op\":\"Conv\",\"precision\":\"fp32\","
	                     "\"why\":\"loss\",\"int8_loss_db\":") &&
	              strstr(c.out, "{\"name\":\"relu_r1\",\"op\":\"Conv\",\"precision\":\"int8\","
	                     "\"why\":\"loss\",\"int8_loss_db\":"), "%s", c.out);
	double auto_db = json_sqnr(c.out);
	convert_prec(&c, dir, "sensitive", "i.dnnq", "--precision int8 --json");
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "\"fp32_nodes\":0,") &&
	              strstr(c.out, "\"precision\":{\"mode\":\"int8\",\"fallbacks\":[]}"),
	              "%s", c.out);
	double int8_db = json_sqnr(c.out);
	ck_assert_msg(auto_db > int8_db + 20, "auto %.2f dB, int8 %.2f dB", auto_db, int8_db);
	convert_prec(&c, dir, "sensitive", "t.dnnq",
	             "--fp32-threshold 100 --sqnr-floor 0 --precision-samples 2 --json");
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "\"fp32_nodes\":0,") && strstr(c.out, "\"samples\":2,"),
	              "%s", c.out);
	convert_prec(&c, dir, "sensitive", "a.dnnq", "--report");
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "precision auto: 1 of 5 measured nodes fp32 (int8 loss above "
	                     "0.50 dB on 4 samples;") &&
	              strstr(c.out, "  fp32: node 'relu_r2' (Conv): int8 loss ") &&
	              strstr(c.out, " int8 loss\n") &&
	              strstr(c.out, "\nrelu_r2                          conv         fp32 "),
	              "%s", c.out);
	ck_assert_msg(!strstr(c.out, "no measured node stayed int8"), "%s", c.out);
	/* every node kept fp32: nothing measured, said so (it said '0 of 0
	 * measured nodes fp32 (...; int8 wherever possible 137 dB)') */
	convert_prec(&c, dir, "sensitive", "k.dnnq", "--keep-fp32 '*'");
	ck_assert_msg(c.status == 0 && strstr(c.out, "precision auto: no node to measure (each is "
	                                      "fp32: --keep-fp32, int8 refused or fp32 only)\n") &&
	              !strstr(c.out, "0 of 0"), "%s", c.out);
	/* the digits MLP: both of its layers lose more than 0.5 dB, so nothing
	 * stays int8, and the summary says how to keep some */
	sh(&c, dir, "dnnq-convert " DIGITS "/mlp.onnx -o %s/m.dnnq --calib " DIGITS "/calib_x.npy",
	   dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "precision: 0 int8 and 2 fp32 nodes;") &&
	              strstr(c.out, "\nprecision auto: no measured node stayed int8; --fp32-threshold"
	                            " DB allows more loss, --precision int8 keeps every node int8\n"),
	              "%s", c.out);
	/* every node kept fp32 by hand: none measured, so no advice on keeping
	 * some int8 (it said "no measured node stayed int8" of 0 nodes) */
	sh(&c, dir, "dnnq-convert " DIGITS "/mlp.onnx -o %s/m.dnnq --calib " DIGITS "/calib_x.npy "
	   "--keep-fp32 '*'", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "precision: 0 int8 and 2 fp32 nodes;") &&
	              !strstr(c.out, "no measured node stayed int8"), "%s", c.out);
	sh(&c, dir, "dnnq-inspect %s/a.dnnq --json", dir);
	ck_assert_msg(c.status == 0 && strstr(c.out, "\"precision\": \"fp32\""), "%s", c.out);

	convert_prec(&c, dir, "bias_overflow", "b.dnnq", "");
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "  fp32 (int8 refused): node 'gemm_y' (Gemm): bias[0] = 0.5: "
	                     "too large for int32 at scale "), "%s", c.out);
	sh(&c, dir, "dnnq-run %s/b.dnnq -i " PREC "/calib_bias_overflow.npy -o %s/y.npy", dir,
	   dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	convert_prec(&c, dir, "bias_overflow", "b.dnnq", "--json");
	ck_assert_msg(c.status == 0 && strstr(c.out, "\"fallbacks\":[\"node 'gemm_y' (Gemm): bias[0]") &&
	              strstr(c.out, "{\"name\":\"gemm_y\",\"op\":\"Gemm\",\"precision\":\"fp32\","
	                     "\"why\":\"int8 refused\",\"int8_loss_db\":null}"), "%s", c.out);
	convert_prec(&c, dir, "bias_overflow", "b8.dnnq", "--precision int8");
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "node 'gemm_y' (Gemm): bias[0] = 0.5: too large for int32 at "
	                     "scale "), "%s", c.err);

	static const char *const bad[][2] = {
		{ "--precision fp16", "--precision fp16: auto or int8" },
		{ "--fp32-threshold -1", "--fp32-threshold: '-1': must be 0..100 (" },
		{ "--precision-samples 0", "--precision-samples: '0': must be 1..65536" },
		{ "--sqnr-floor -1", "--sqnr-floor: '-1': must be 0..100 (" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sh(&c, dir, "dnnq-convert " PREC "/sensitive.onnx -o %s/x.dnnq %s", dir, bad[i][0]);
		ck_assert_int_eq(c.status, 2);
		ck_assert_msg(strstr(c.err, bad[i][1]), "%s", c.err);
	}
	/* the outputs' SQNR takes each at its own scale: scales.onnx's small
	 * output, which one Conv's int8 ruins, counts beside one 1e4 larger,
	 * so that Conv goes fp32 and the big output's stays int8 (pooled, the
	 * reverse) */
	convert_prec(&c, dir, "scales", "s.dnnq", "--json");
	ck_assert_msg(c.status == 0 && strstr(c.out, "\"fp32_nodes\":1,") &&
	              strstr(c.out, "{\"name\":\"conv_small\",\"op\":\"Conv\",\"precision\":"
	                     "\"fp32\",") &&
	              strstr(c.out, "{\"name\":\"conv_big\",\"op\":\"Conv\",\"precision\":"
	                     "\"int8\",") && json_sqnr(c.out) > 30, "%s%s", c.out, c.err);
	convert_prec(&c, dir, "scales", "s8.dnnq", "--precision int8 --json");
	ck_assert_msg(c.status == 0 && json_sqnr(c.out) < 10, "%s%s", c.out, c.err);
	rm_rf(dir);
}
END_TEST

/* A stateful model (tests/onnx/precision/stateful.onnx, tools/mkonnx.py):
 * its output sN is the state its input s takes at the next step, found by
 * the names; the trials run the 32 samples closed loop (all of them, the
 * SQNR floor at 25 dB: defaults of a stateful model), where the int8
 * accumulator 'acc' stops the state growing (its increment rounds away),
 * and send it fp32; one step from the recorded state (--state none) it
 * loses nothing and stays int8. --state names a link; a bad one is an
 * error naming what is wrong. */
START_TEST(tools_precision_stateful)
{
	char dir[] = "/tmp/dnnq-state-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	const char *acc_fp32 = "{\"name\":\"acc\",\"op\":\"Add\",\"precision\":\"fp32\","
	                       "\"why\":\"loss\",";
	const char *cmd = "dnnq-convert " PREC "/stateful.onnx -o %s/s.dnnq --calib "
	                  PREC "/calib_stateful %s";
	sh(&c, dir, cmd, dir, "--json");
	ck_assert_msg(c.status == 0 && strstr(c.out, acc_fp32) &&
	              strstr(c.out, ",\"state\":{\"steps\":32,\"links\":[{\"output\":\"sN\","
	                     "\"input\":\"s\",\"detected\":true,\"fed_back\":true,") &&
	              strstr(c.out, "\"floor_db\":25.000,\"samples\":32,"), "%s%s", c.out, c.err);
	sh(&c, dir, cmd, dir, "--state none --json");
	ck_assert_msg(c.status == 0 && !strstr(c.out, "\"state\":") &&
	              strstr(c.out, "\"floor_db\":20.000,\"samples\":4,") &&
	              strstr(c.out, "{\"name\":\"acc\",\"op\":\"Add\",\"precision\":\"int8\","),
	              "%s%s", c.out, c.err);
	sh(&c, dir, cmd, dir, "--state sN=s");
	ck_assert_msg(c.status == 0 && strstr(c.out, "state: output 'sN' feeds input 's' at the next "
	                                      "call (--state; the samples chain at inf dB): the 32 "
	                                      "samples run closed loop\n") &&
	              strstr(c.out, "  fp32: node 'acc' (Add): int8 loss "), "%s%s", c.out, c.err);
	static const char *const bad[][2] = {
		{ "--state y=s", "--state y=s: output 'y' (float32 3) cannot feed input 's' (float32 8): a "
		                 "state is float32 of one shape" },
		{ "--state q=s", "--state q=s: no graph output 'q' (the outputs: 'y', 'sN')" },
		{ "--state sN=q", "--state sN=q: no graph input 'q' (the inputs: 'x', 's')" },
		{ "--state sN=s --state sN=x", "--state: output 'sN' is in two links" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sh(&c, dir, cmd, dir, bad[i][0]);
		ck_assert_msg(c.status == 1 && strstr(c.err, bad[i][1]), "%s: %s", bad[i][0], c.err);
	}
	/* named before the calibration, whose samples are not even read (no
	 * x.npy, s.npy: an error of its own) */
	char path[512];
	float z = 0;
	snprintf(path, sizeof path, "%s/z.npy", dir);
	ck_assert_int_eq(dnnq_npy_write_file(path, DNNQ_DTYPE_F32, (size_t[]){ 1 }, 1, &z, NULL), 0);
	sh(&c, dir, "dnnq-convert " PREC "/stateful.onnx -o %s/s.dnnq --calib %s --state q=s",
	   dir, dir);
	ck_assert_msg(c.status == 1 && strstr(c.err, "--state q=s: no graph output 'q'"), "%s", c.err);
	static const char *const usage[][2] = {
		{ "--calib " PREC "/calib_stateful --state sN", "--state sN: OUT=IN" },
		{ "--calib " PREC "/calib_stateful --state none --state sN=s", "--state none and "
		                                                                "--state sN=s" },
		{ "--state sN=s", "--state needs --calib" },
	};
	for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
		sh(&c, dir, "dnnq-convert " PREC "/stateful.onnx -o %s/s.dnnq %s", dir, usage[i][0]);
		ck_assert_msg(c.status == 2 && strstr(c.err, usage[i][1]), "%s: %s", usage[i][0], c.err);
	}
	rm_rf(dir);
}
END_TEST

/* Calibration samples of stateful.onnx (sN = s + x) whose first step's
 * reference is NaN (s +inf, x -inf there), and whose recorded states do
 * not chain: a NaN difference is the worst chain, not a perfect one, so
 * the detected link is not taken; named, fed back from sample 0, the fp32
 * closed loop turns NaN at sample 1 (finite on its recorded state): an
 * error that says so, not an all-fp32 model at -inf dB. */
START_TEST(tools_precision_state_nan)
{
	char dir[] = "/tmp/dnnq-state-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	float x[4 * 8], s[4 * 8];
	char path[512];
	for (int i = 0; i < 4 * 8; i++) {
		x[i] = 1;
		s[i] = 5 + 2 * (float)(i / 8);
	}
	x[0] = -INFINITY;
	s[0] = INFINITY;
	snprintf(path, sizeof path, "%s/x.npy", dir);
	ck_assert_int_eq(dnnq_npy_write_file(path, DNNQ_DTYPE_F32, (size_t[]){ 4, 8 }, 2, x, NULL), 0);
	snprintf(path, sizeof path, "%s/s.npy", dir);
	ck_assert_int_eq(dnnq_npy_write_file(path, DNNQ_DTYPE_F32, (size_t[]){ 4, 8 }, 2, s, NULL), 0);
	const char *cmd = "dnnq-convert " PREC "/stateful.onnx -o %s/s.dnnq --calib %s %s";
	sh(&c, dir, cmd, dir, dir, "--json");
	ck_assert_msg(c.status == 0 && strstr(c.out, "\"state\":{\"steps\":0,\"links\":[{\"output\":"
	                                      "\"sN\",\"input\":\"s\",\"detected\":true,\"fed_back\":"
	                                      "false,\"chain_db\":null}]}"), "%s%s", c.out, c.err);
	sh(&c, dir, cmd, dir, dir, "");
	ck_assert_msg(c.status == 0 && strstr(c.out, "state: output 'sN' is not fed back to input 's':"
	                                      " the samples do not chain (-inf dB, below 40)"),
	              "%s%s", c.out, c.err);
	sh(&c, dir, cmd, dir, dir, "--state sN=s");
	ck_assert_msg(c.status == 1 && strstr(c.err, "closed loop: the fp32 model's output 'y' is not "
	                                      "finite at sample 1 (it is from the recorded state), its"
	                                      " state fed back from sample 0: "), "%s%s", c.out, c.err);
	rm_rf(dir);
}
END_TEST

/* The precision units of OPS case name converted by default (c->out: the
 * --json, in dir), counted. */
static unsigned json_units(struct cmd *c, const char *dir, const char *name)
{
	sh(c, dir, "dnnq-convert " OPS "/%s.onnx -o %s/a.dnnq --calib " OPS "/%s.in0.npy --json",
	   name, dir, name);
	ck_assert_msg(c->status == 0, "%s: %s", name, c->err);
	unsigned units = 0;
	for (const char *w = strstr(c->out, "\"why\":"); w; w = strstr(w + 1, "\"why\":"))
		units++;
	return units;
}

/* OPS case name converted --precision int8 with node keep fp32 (c->out:
 * the --report, in dir). */
static void kept_report(struct cmd *c, const char *dir, const char *name, const char *keep)
{
	sh(c, dir, "dnnq-convert " OPS "/%s.onnx -o %s/k.dnnq --calib " OPS "/%s.in0.npy "
	   "--precision int8 --keep-fp32 %s --report", name, dir, name, keep);
	ck_assert_msg(c->status == 0, "%s: %s", name, c->err);
}

/* A 3-D Conv's nodes (its per-depth Convs, Slices, Concats and the
 * Transposes around them: docs/onnx.md) are one precision unit named
 * after the ONNX node: auto measures it once, --json names it so, and
 * --keep-fp32 with its name keeps every one of its nodes fp32; so are a
 * standalone BatchNorm3d's, a 3-D pool's and a 1-D Conv's. */
START_TEST(tools_precision_conv3d)
{
	char dir[] = "/tmp/dnnq-prec3d-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	/* the Conv, the Relu, the BatchNormalization; each a unit of its own
	 * per depth before */
	ck_assert_msg(json_units(&c, dir, "conv3d_bn") == 3 && !strstr(c.out, "\"name\":\"conv_c:") &&
	              strstr(c.out, "\"units\":[{\"name\":\"conv_c\",\"op\":\"Conv\",") &&
	              strstr(c.out, "{\"name\":\"batchnormalization_y\",\"op\":"
	                     "\"BatchNormalization\","), "%s", c.out);
	kept_report(&c, dir, "conv3d_bn", "conv_c");
	ck_assert_msg(strstr(c.out, "\nconv_c:od0                       conv         fp32 ") &&
	              strstr(c.out, "\nconv_c:od4                       conv         fp32 ") &&
	              strstr(c.out, "\nconv_c:od2.0                     slice        fp32 ") &&
	              strstr(c.out, "\nconv_c                           transpose    fp32 ") &&
	              strstr(c.out, "\nrelu_r                           activation   int8 ") &&
	              !strstr(c.out, "conv         int8"), "%s", c.out);
	/* the standalone BatchNorm3d (NAME:4d, NAME:bn, NAME) by its name */
	kept_report(&c, dir, "conv3d_bn", "batchnormalization_y");
	ck_assert_msg(strstr(c.out, "\nbatchnormalization_y:bn") &&
	              !strstr(c.out, "elementwise_linear int8") &&
	              strstr(c.out, "elementwise_linear fp32"), "%s", c.out);
	/* a 3-D pool's nodes (NAME:chw, the (H, W) pool NAME:hw, NAME:cd, the
	 * depth pool NAME:d, and NAME, a Reshape) and a 3-D global pool's
	 * (NAME:4d, NAME:pool, NAME) too: one trial each, and --keep-fp32
	 * NAME keeps both pools fp32 (before: a unit per pool, and NAME, a
	 * Reshape, was refused as a node that only moves data) */
	static const char *const cases[][2] = { { "maxpool3d", "maxpool_y" },
	                                        { "globalavgpool3d", "globalaveragepool_y" },
	                                        { "conv_1d", "conv_y" } };
	for (size_t i = 0; i < 3; i++) {
		char want[96];
		snprintf(want, sizeof want, "\"units\":[{\"name\":\"%s\",", cases[i][1]);
		ck_assert_msg(json_units(&c, dir, cases[i][0]) == 1 && strstr(c.out, want), "%s: %s",
		              cases[i][0], c.out);
	}
	kept_report(&c, dir, "maxpool3d", "maxpool_y");
	ck_assert_msg(strstr(c.out, "\nmaxpool_y:hw                     maxpool      fp32 ") &&
	              strstr(c.out, "\nmaxpool_y:d                      maxpool      fp32 ") &&
	              !strstr(c.out, "maxpool      int8"), "%s", c.out);
	/* a 1-D Conv (NAME:1d, the 2-D Conv NAME:2d, NAME: Reshapes around
	 * it) by its name (before: the unit was NAME:2d, and NAME was refused
	 * as a node that only moves data) */
	kept_report(&c, dir, "conv_1d", "conv_y");
	ck_assert_msg(strstr(c.out, "\nconv_y:2d") && !strstr(c.out, "conv         int8"), "%s",
	              c.out);
	rm_rf(dir);
}
END_TEST

/* --sqnr-floor: spread.onnx's int8 noise is spread over the units after
 * its middle Conv, none of which moves the outputs alone (tools/mkonnx.py
 * make_precision): the per-unit trials keep them all int8, far below the
 * floor; the floor pass sends the noisy ones fp32, not the harmless ones
 * before, and the outputs meet the floor; --sqnr-floor 0 keeps the
 * per-unit choice. */
START_TEST(tools_precision_floor)
{
	char dir[] = "/tmp/dnnq-floor-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	convert_prec(&c, dir, "spread", "s.dnnq", "--json");
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(json_at(c.out, "int8_sqnr_db") < 15, "%s", c.out);
	ck_assert_msg(json_sqnr(c.out) >= 20, "%s", c.out);
	ck_assert_msg(strstr(c.out, "{\"name\":\"conv_d0\",\"op\":\"Conv\",\"precision\":\"int8\","
	                     "\"why\":\"loss\",") &&
	              strstr(c.out, "{\"name\":\"conv_d11\",\"op\":\"Conv\",\"precision\":\"fp32\","
	                     "\"why\":\"sqnr floor\",") &&
	              !strstr(c.out, "\"precision\":\"fp32\",\"why\":\"loss\""), "%s", c.out);
	convert_prec(&c, dir, "spread", "s.dnnq", "--report");
	ck_assert_msg(c.status == 0 && strstr(c.out, " more fp32, the fewest whose int8 noise alone "
	                                      "is the largest that lift the outputs to the 20.00 dB "
	                                      "floor (--sqnr-floor)\n"), "%s", c.out);
	/* a floor the trials' one sample met and the whole set misses: said on
	 * the line (it said the outputs were lifted to it, under the warning
	 * that they were not) */
	convert_prec(&c, dir, "spread", "s.dnnq", "--sqnr-floor 32 --precision-samples 1");
	ck_assert_msg(c.status == 0 && strstr(c.out, " that lift the outputs to the 32.00 dB floor "
	                                      "on the trials' 1 sample (all the samples: ") &&
	              strstr(c.err, "below the 32.00 dB floor"), "%s%s", c.out, c.err);
	convert_prec(&c, dir, "spread", "s.dnnq", "--sqnr-floor 0 --json");
	ck_assert_msg(c.status == 0 && strstr(c.out, "\"fp32_nodes\":0,") && json_sqnr(c.out) < 15,
	              "%s", c.out);
	/* the default floor follows --bits: 20 - 6.02 dB at 7 bits, off at 4 */
	convert_prec(&c, dir, "spread", "s.dnnq", "--bits 7 --json");
	ck_assert_msg(c.status == 0 && fabs(json_at(c.out, "floor_db") - 13.98) < 1e-6, "%s", c.out);
	convert_prec(&c, dir, "spread", "s.dnnq", "--bits 4 --json");
	ck_assert_msg(c.status == 0 && json_at(c.out, "floor_db") == 0 &&
	              !strstr(c.out, "\"why\":\"sqnr floor\""), "%s", c.out);
	rm_rf(dir);
}
END_TEST

/* A 300-byte file of a Loop unrolled into 4200 one-Add units: measuring
 * each (a trial lowers all 4200 nodes) took about 10 minutes; past
 * DNNQ_PRECISION_MAX_WORK none is measured, all stay int8, and both the
 * text and the JSON say so. */
START_TEST(tools_precision_bounded)
{
	char dir[] = "/tmp/dnnq-bounded-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	sh(&c, dir, "dnnq-convert tests/onnx/rnn/loop_many.onnx -o %s/m.dnnq --calib "
	   "tests/onnx/rnn/loop_twice_x.npy", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "\nprecision auto: 4200 nodes int8 unmeasured: 4200 trials of a "
	                     "model of 4200 nodes pass the bound of 16777216 (--keep-fp32 NODE,... "
	                     "chooses by hand)\n") &&
	              !strstr(c.out, "no measured node stayed int8"), "%s", c.out);
	/* the JSON (600 kB: past c.out) read whole from the stdout sh left */
	sh(&c, dir, "dnnq-convert tests/onnx/rnn/loop_many.onnx -o %s/m.dnnq --calib "
	   "tests/onnx/rnn/loop_twice_x.npy --json", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	char path[256];
	snprintf(path, sizeof path, "%s/stdout", dir);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	static char json[1 << 20];
	size_t len = fread(json, 1, sizeof json - 1, f);
	fclose(f);
	json[len] = 0;
	ck_assert_msg(len < sizeof json - 1 && strstr(json, "\"fp32_nodes\":0,") &&
	              !strstr(json, "\"why\":\"loss\""), "%.300s", json);
	size_t unmeasured = 0;
	for (const char *p = json; (p = strstr(p, "\"precision\":\"int8\",\"why\":\"unmeasured\""));
	     p++)
		unmeasured++;
	ck_assert_uint_eq(unmeasured, 4200);
	rm_rf(dir);
}
END_TEST

/* Graph inputs and outputs keep names of more than 63 bytes distinct
 * (the head, '~', a hash of the whole name): two outputs that agree in
 * their first 70 bytes stay two outputs dnnq-run writes apart. */
START_TEST(tools_long_output_names)
{
	char dir[] = "/tmp/dnnq-names-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	sh(&c, dir, "dnnq-convert " OPS "/long_output_names.onnx -o %s/l.dnnq --calib " OPS
	   "/long_output_names.in0.npy", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	sh(&c, dir, "dnnq-inspect %s/l.dnnq", dir);
	const char *o = strstr(c.out, "\noutputs:\n");
	ck_assert_msg(o, "%s", c.out);
	const char *a = strstr(o, "  0 {\"name\": \""), *b = strstr(o, "  1 {\"name\": \"");
	ck_assert_msg(a && b, "%s", c.out);
	a += strlen("  0 {\"name\": \"");
	b += strlen("  1 {\"name\": \"");
	ck_assert_msg(strncmp(a, b, strcspn(a, "\"") + 1) && strchr(a, '~'), "%s", c.out);
	rm_rf(dir);
}
END_TEST

/* Two outputs whose names make one file name (y/0 and y_0: y_0.npy) are
 * written apart, the later one with a suffix, as the JSON says (before:
 * the second overwrote the first); the stem rule alone on odd names. */
START_TEST(tools_colliding_output_names)
{
	char dir[] = "/tmp/dnnq-collide-XXXXXX", got[512], want[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	sh(&c, dir, "dnnq-run " OPS "/output_names_collide.onnx -i " OPS
	   "/output_names_collide.in0.npy -o %s --json", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	snprintf(want, sizeof want, "\"file\":\"%s/y_0-2.npy\"", dir);
	ck_assert_msg(strstr(c.out, want), "%s", c.out);
	static const char *const files[2] = { "y_0", "y_0-2" }, *const outs[2] = { "out", "out1" };
	for (int k = 0; k < 2; k++) {
		snprintf(got, sizeof got, "%s/%s.npy", dir, files[k]);
		snprintf(want, sizeof want, OPS "/output_names_collide.%s.npy", outs[k]);
		struct array a, b;
		load(got, &a);
		load(want, &b);
		ck_assert_msg(a.a.nbytes == b.a.nbytes && !memcmp(a.data, b.data, a.a.nbytes),
		              "%s is not %s", got, want);
		free(a.data);
		free(b.data);
	}
	char stems[6][DNNQ_NPY_STEM_MAX];
	static const char *const names[6] = { "a_b", "a/b", "a_b-2", ".x", "a:b", "" },
	                         *const stem_want[6] = { "a_b", "a_b-2", "a_b-2-2", "_x", "a_b-3",
	                                                 "_" };
	for (size_t i = 0; i < 6; i++) {
		dnnq_npy_output_stem(names[i], stems, i);
		ck_assert_str_eq(stems[i], stem_want[i]);
	}
	rm_rf(dir);
}
END_TEST

/*
 * Real architectures (tools/mkonnx.py's models set, exported by torch with
 * dynamic H and W): each converted as a user would (--per-channel, the
 * default --precision auto), with --input-shape fixing H and W, then run
 * by dnnq-run on its test input; int8 against torch's fp32 output: >= 30
 * dB for the CNNs, >= 25 dB for the ViT (issue 16). The ViT measures 32.3
 * dB (29.8 with --asymmetric-weights; 24.8 dB, asymmetric, before
 * precision auto's pass 2, which keeps fp32 the class-token Concat next to
 * the position-embedding Add: its 0.02-sized token shared the patch
 * embeddings' int8 scale).
 */
#define MODELS "tests/onnx/models"

/* The SQNR of the f32 array in file got against the one in file want. */
static double file_sqnr(const char *want_path, const char *got_path)
{
	struct array want, got;
	load(want_path, &want);
	load(got_path, &got);
	ck_assert_uint_eq(got.a.count, want.a.count);
	double db = dnnq_sqnr_db(want.data, got.data, want.a.count);
	free(want.data);
	free(got.data);
	return db;
}

/*
 * Architectures as torch 1.13's exporter writes them (tools/mktorch.py,
 * tests/onnx/torch/MANIFEST: NAME KIND MIN_DB), a new user's way: KIND
 * calib converted with --calib and the defaults, the int8 output against
 * ONNX Runtime's >= MIN_DB, the .onnx through dnnq-run's reference
 * executor >= 100 dB, the .dnnq on a batch of 4 (the static batch of 2 of
 * attn_static2's export too); KIND torchref the same against torch's
 * output (plain_layernorm: LayerNormalization with an empty Scale, which
 * ONNX Runtime refuses to load); KIND qdq (torch FX's QDQ) converted without
 * samples, its output ONNX Runtime's to the bit. unet_gn (symbolic H and
 * W) runs a 48x40 image as an .onnx, and its .dnnq, converted at 32x32,
 * refuses it naming the conversion. KIND refused: dnnq-convert and
 * dnnq-run name the node and what dnnq does not compute.
 */
#define TORCH "tests/onnx/torch"

static const struct {
	const char *name, *want;
} torch_refusals[] = {
	{ "maxpool3d_indices", "node '/MaxPool' (MaxPool): output 1 '/MaxPool_output_1', the "
	  "Indices of a 3-D MaxPool: only a 1-D or 2-D MaxPool's are computed\n" },
};

START_TEST(torch_exports)
{
	char name[64], kind[16], dir[] = "/tmp/dnnq-torch-XXXXXX", want[512], got[512];
	double min_db = 0;
	FILE *f = fopen(TORCH "/MANIFEST", "r");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i <= _i; i++)
		ck_assert_int_eq(fscanf(f, "%63s %15s %lf", name, kind, &min_db), 3);
	fclose(f);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	if (!strcmp(kind, "refused")) {
		size_t k = 0;
		while (k < sizeof torch_refusals / sizeof *torch_refusals &&
		       strcmp(torch_refusals[k].name, name))
			k++;
		ck_assert_msg(k < sizeof torch_refusals / sizeof *torch_refusals, "%s", name);
		sh_refused(&c, dir, torch_refusals[k].want, "dnnq-convert " TORCH "/%s.onnx -o "
		           "%s/m.dnnq --calib " TORCH "/%s.calib.npy", name, dir, name);
		sh_refused(&c, dir, torch_refusals[k].want, "dnnq-run " TORCH "/%s.onnx -i " TORCH
		           "/%s.test.npy -o %s/r", name, name, dir);
		rm_rf(dir);
		return;
	}
	bool qdq = !strcmp(kind, "qdq");
	sh(&c, dir, "dnnq-convert " TORCH "/%s.onnx -o %s/m.dnnq%s%s%s", name, dir,
	   qdq ? "" : " --calib " TORCH "/", qdq ? "" : name, qdq ? "" : ".calib.npy");
	ck_assert_msg(c.status == 0, "%s: %s", name, c.err);
	sh(&c, dir, "dnnq-run %s/m.dnnq -i " TORCH "/%s.test.npy -o %s/q", dir, name, dir);
	ck_assert_msg(c.status == 0, "%s: %s", name, c.err);
	snprintf(want, sizeof want, TORCH "/%s.out.npy", name);
	snprintf(got, sizeof got, "%s/q/y.npy", dir);
	double db = file_sqnr(want, got);
	sh(&c, dir, "dnnq-run " TORCH "/%s.onnx -i " TORCH "/%s.test.npy -o %s/r", name, name, dir);
	ck_assert_msg(c.status == 0, "%s: %s", name, c.err);
	snprintf(got, sizeof got, "%s/r/y.npy", dir);
	double ref = file_sqnr(want, got);
	printf("convert: torch %-16s %s SQNR %6.2f dB, the .onnx %6.2f dB against %s\n", name,
	       qdq ? "QDQ " : "int8", db, ref, strcmp(kind, "torchref") ? "ONNX Runtime" : "torch");
	ck_assert_msg(qdq ? db == INFINITY : db >= min_db, "%s: %.2f dB", name, db);
	ck_assert_msg(ref >= 100, "%s: the .onnx %.2f dB", name, ref);
	sh(&c, dir, "dnnq-run %s/m.dnnq -i " TORCH "/%s.calib.npy -o %s/b4", dir, name, dir);
	ck_assert_msg(c.status == 0, "%s: %s", name, c.err);
	struct array b4;
	snprintf(got, sizeof got, "%s/b4/y.npy", dir);
	load(got, &b4);
	ck_assert_uint_eq(b4.a.shape[0], 4);
	free(b4.data);
	if (!strcmp(name, "unet_gn")) {
		sh(&c, dir, "dnnq-run " TORCH "/%s.onnx -i " TORCH "/%s.big.npy -o %s/big", name,
		   name, dir);
		ck_assert_msg(c.status == 0, "%s: %s", name, c.err);
		snprintf(want, sizeof want, TORCH "/%s.big.out.npy", name);
		snprintf(got, sizeof got, "%s/big/y.npy", dir);
		ck_assert_double_ge(file_sqnr(want, got), 100);
		sh_refused(&c, dir, "want [n, 3, 32, 32] (n >= 1 samples); a .dnnq model takes the "
		           "shape it was converted for", "dnnq-run %s/m.dnnq -i " TORCH "/%s.big.npy "
		           "-o %s/big", dir, name, dir);
	}
	rm_rf(dir);
}
END_TEST

/* tests/onnx/torch/mha_pad_mask.onnx under --precision int8: the -inf a
 * Where makes of the key_padding_mask, the Mul and the Add that take it to
 * the scores stay float (an int8 level of -inf masked nothing: 3.5 dB). */
START_TEST(int8_mask_stays_float)
{
	char dir[] = "/tmp/dnnq-mask-XXXXXX", want[512], got[512];
	static struct cmd c;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	sh(&c, dir, "dnnq-convert " TORCH "/mha_pad_mask.onnx -o %s/m.dnnq --calib " TORCH
	   "/mha_pad_mask.calib.npy --precision int8", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	sh(&c, dir, "dnnq-run %s/m.dnnq -i " TORCH "/mha_pad_mask.test.npy -o %s/q", dir, dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	snprintf(want, sizeof want, TORCH "/mha_pad_mask.out.npy");
	snprintf(got, sizeof got, "%s/q/y.npy", dir);
	double db = file_sqnr(want, got);
	printf("convert: mha_pad_mask --precision int8 %6.2f dB against ONNX Runtime\n", db);
	ck_assert_double_ge(db, 25);
	rm_rf(dir);
}
END_TEST

/* DIR/m.dnnq run by dnnq-run on SET/NAME.test.npy: the SQNR of its output
 * against SET/NAME.out.npy. */
static double run_sqnr(struct cmd *c, const char *dir, const char *set, const char *name)
{
	char want[512], got[512];
	sh(c, dir, "dnnq-run %s/m.dnnq -i %s/%s.test.npy -o %s", dir, set, name, dir);
	ck_assert_msg(c->status == 0, "%s: %s", name, c->err);
	snprintf(want, sizeof want, "%s/%s.out.npy", set, name);
	snprintf(got, sizeof got, "%s/output.npy", dir);
	return file_sqnr(want, got);
}

START_TEST(models_end_to_end)
{
	static const struct {
		const char *name;
		double min_db;
	} models[] = { { "mobilenet_v3_small", 30 }, { "fpn_tiny", 30 }, { "vit_tiny", 25 } };
	const char *name = models[_i].name;
	char dir[] = "/tmp/dnnq-models-XXXXXX", path[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	struct array x;
	snprintf(path, sizeof path, MODELS "/%s.test.npy", name);
	load(path, &x);
	ck_assert_uint_eq(x.a.ndim, 4);
	sh(&c, dir, "dnnq-convert " MODELS "/%s.onnx -o %s/m.dnnq --calib " MODELS
	   "/%s.calib.npy --per-channel --input-shape input=1x%zux%zux%zu --report", name, dir, name,
	   x.a.shape[1], x.a.shape[2], x.a.shape[3]);
	ck_assert_msg(c.status == 0, "%s: %s", name, c.err);
	double db = run_sqnr(&c, dir, MODELS, name);
	printf("convert: models %-20s int8 SQNR %6.2f dB against torch fp32 (%zux%zu)\n", name, db,
	       x.a.shape[2], x.a.shape[3]);
	ck_assert_msg(db >= models[_i].min_db, "%s: %.2f dB < %.0f", name, db, models[_i].min_db);
	free(x.data);
	rm_rf(dir);
}
END_TEST

/* The fixture ONNX model onnx imported at the shape of its calibration
 * samples (calib: *x, the caller frees x->data), and *c those samples run
 * through the reference. */
static void calibrated_model(const char *onnx, const char *calib, struct array *x,
                             struct dnnq_ir *ir, struct dnnq_onnx_calib *c)
{
	struct dnnq_diag d = { "" };
	load(calib, x);
	ck_assert_int_eq(x->a.dtype, DNNQ_DTYPE_F32);
	struct dnnq_onnx_shape shape = { .ndim = (uint32_t)x->a.ndim };
	for (size_t i = 0; i < x->a.ndim; i++)
		shape.dims[i] = (int64_t)x->a.shape[i];
	struct dnnq_onnx_import_opts io = { .samples = &shape, .nsamples = 1 };
	import_with(onnx, &io, ir);
	ck_assert_msg(dnnq_onnx_calib_init(c, ir, 0, &d) == 0, "%s", d.msg);
	const void *cx[1] = { x->data };
	ck_assert_msg(dnnq_onnx_calib_add(c, cx, x->a.shape[0], &d) == 0, "%s", d.msg);
}

/* tests/onnx/models' fixture name, calibrated_model on its samples. */
static void calibrated_fixture(const char *name, struct array *x, struct dnnq_ir *ir,
                               struct dnnq_onnx_calib *c)
{
	char onnx[512], calib[512];
	snprintf(onnx, sizeof onnx, MODELS "/%s.onnx", name);
	snprintf(calib, sizeof calib, MODELS "/%s.calib.npy", name);
	calibrated_model(onnx, calib, x, ir, c);
}

/* --precision auto's trials resumed at their first changed node
 * (onnx/trials.h) give the losses, the choice and the all-int8 SQNR of
 * trials run whole, bit for bit, on the fixtures of issue 16 (the ViT's
 * choice takes pass 2; MobileNet's squeeze-excitation branches and
 * HardSwish; the FPN's Resize and Concat) and on spread.onnx, whose
 * choice takes the SQNR floor's trials, and most trials resume. */
START_TEST(precision_trials_resumed)
{
	static const char *const names[] = { "vit_tiny", "mobilenet_v3_small", "fpn_tiny",
	                                     "spread" };
	const char *name = names[_i];
	struct dnnq_diag d = { "" };
	struct array x;
	struct dnnq_ir ir;
	struct dnnq_onnx_calib c;
	if (!strcmp(name, "spread"))
		calibrated_model(PREC "/spread.onnx", PREC "/calib_spread.npy", &x, &ir, &c);
	else
		calibrated_fixture(name, &x, &ir, &c);
	struct dnnq_calib_opts o = { .spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false } };
	enum dnnq_calib_method *method = calloc(ir.nvalues, sizeof *method);
	struct dnnq_diag *refused = calloc(ir.nnodes, sizeof *refused);
	bool *fp32[2] = { calloc(ir.nnodes, sizeof **fp32), calloc(ir.nnodes, sizeof **fp32) };
	ck_assert(method && refused && fp32[0] && fp32[1]);
	dnnq_onnx_calib_methods(&c, DNNQ_CALIB_L2, method);
	struct dnnq_lower_opts lo = { .per_channel = true, .calibration = "test",
	                              .int8_refused = refused };
	struct dnnq_precision_unit *u[2];
	size_t nu[2];
	double db[2];
	struct dnnq_precision_cost cost[2];
	for (int k = 0; k < 2; k++) {
		struct dnnq_precision_opts po = { .threshold_db = DNNQ_FP32_THRESHOLD_DB,
		                                  .samples = DNNQ_PRECISION_SAMPLES,
		                                  .floor_db = DNNQ_PRECISION_FLOOR_DB,
		                                  .whole = k == 0 };
		memset(refused, 0, ir.nnodes * sizeof *refused);
		ck_assert_msg(dnnq_onnx_precision_auto(&c, &o, method, &lo, &po, fp32[k], &u[k],
		                                       &nu[k], &db[k], &cost[k], NULL, NULL, &d) == 0,
		              "%s: %s", name, d.msg);
	}
	ck_assert_uint_eq(nu[0], nu[1]);
	ck_assert_msg(!memcmp(&db[0], &db[1], sizeof db[0]), "%s: all int8 %.17g / %.17g dB", name,
	              db[0], db[1]);
	size_t measured = 0, fp32_units = 0, floor_units = 0;
	for (size_t i = 0; i < nu[0]; i++) {
		const struct dnnq_precision_unit *w = &u[0][i], *r = &u[1][i];
		ck_assert_int_eq(w->head, r->head);
		ck_assert_int_eq(w->fp32, r->fp32);
		ck_assert_int_eq(w->why, r->why);
		ck_assert_msg(!memcmp(&w->loss_db, &r->loss_db, sizeof w->loss_db),
		              "%s: unit '%s': whole %.17g dB, resumed %.17g dB", name,
		              ir.nodes[w->last].name, w->loss_db, r->loss_db);
		measured += w->why == DNNQ_PRECISION_WHY_LOSS;
		fp32_units += w->fp32 && w->why == DNNQ_PRECISION_WHY_LOSS;
		floor_units += w->why == DNNQ_PRECISION_WHY_FLOOR;
	}
	ck_assert(!memcmp(fp32[0], fp32[1], ir.nnodes * sizeof **fp32));
	ck_assert_msg((floor_units > 0) == !strcmp(name, "spread"), "%s: %zu units fp32 for the "
	              "floor", name, floor_units);
	ck_assert_uint_eq(cost[0].trials, cost[1].trials);
	ck_assert_uint_eq(cost[0].resumed, 0);
	ck_assert_uint_eq(cost[0].nodes_run, cost[0].nodes_all);
	/* most trials resume (not the all-int8 baseline, nor a trial whose
	 * fp32 unit reads a value the baseline no longer holds: the ViT's
	 * fp32 k MatMul reads the LayerNorm's f32 output, which the
	 * baseline quantizes once for q, k and v), and run under 70 % of
	 * the nodes; measured 55 of 65 (62 % of the nodes), 119 of 122
	 * (53 %), 14 of 16 (57 %) */
	ck_assert_msg(cost[1].resumed * 4 >= (cost[1].trials - 1) * 3 &&
	              cost[1].nodes_run * 10 < cost[1].nodes_all * 7,
	              "%s: %zu of %zu trials resumed, %" PRIu64 " of %" PRIu64 " nodes run", name,
	              cost[1].resumed, cost[1].trials, cost[1].nodes_run, cost[1].nodes_all);
	printf("convert: precision %-18s %zu of %zu measured units fp32, %zu trials (%zu resumed):"
	       " %" PRIu64 " of %" PRIu64 " nodes run\n", name, fp32_units, measured,
	       cost[1].trials, cost[1].resumed, cost[1].nodes_run, cost[1].nodes_all);
	free(u[0]);
	free(u[1]);
	free(fp32[0]);
	free(fp32[1]);
	free(refused);
	free(method);
	free(x.data);
	dnnq_onnx_calib_free(&c);
	dnnq_ir_free(&ir);
}
END_TEST

/* Trials share one engine weights cache (onnx/precision.c), and convs
 * that read one weight tensor pack it once, under the tensor
 * (engine/model-build.c). shared.onnx's three Convs read one tensor, and
 * conv_b's bias makes int8 requantize a row of it (onnx/lower-ops.c
 * int8_bias): the same tensor, name and id, holds other bytes when
 * conv_b is fp32. That trial, run after the all-int8 model on one cache,
 * gives what a fresh build of it gives, to the bit. */
START_TEST(precision_shared_weights)
{
	struct dnnq_diag d = { "" };
	struct array x;
	struct dnnq_ir ir;
	struct dnnq_onnx_calib c;
	calibrated_model(PREC "/shared.onnx", PREC "/calib_shared.npy", &x, &ir, &c);
	struct dnnq_calib_opts o = { .spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false } };
	enum dnnq_calib_method *method = calloc(ir.nvalues, sizeof *method);
	ck_assert_ptr_nonnull(method);
	dnnq_onnx_calib_methods(&c, DNNQ_CALIB_MINMAX, method);
	struct dnnq_model m[2];
	for (int k = 0; k < 2; k++) {
		bool *keep = NULL;
		ck_assert_int_eq(dnnq_onnx_keep_fp32(&ir, k ? "conv_b" : "", &keep, &d), 0);
		struct dnnq_lower_opts lo = { .per_channel = true, .calibration = "test",
		                              .fp32_nodes = keep };
		ck_assert_msg(dnnq_onnx_calib_lower(&c, &o, method, &lo, &m[k], &d) == 0, "%s", d.msg);
		free(keep);
	}
	/* conv_a's and conv_c's int8 weights: one tensor, its bytes changed
	 * by conv_b */
	const struct dnnq_model_node *a[2] = { NULL, NULL }, *cc = NULL;
	for (int k = 0; k < 2; k++)
		for (size_t j = 0; j < m[k].nnodes; j++)
			if (!strcmp(m[k].nodes[j].name, "conv_a"))
				a[k] = &m[k].nodes[j];
			else if (!k && !strcmp(m[k].nodes[j].name, "conv_c"))
				cc = &m[k].nodes[j];
	ck_assert(a[0] && a[1] && cc);
	ck_assert_int_eq(a[0]->weight, a[1]->weight);
	ck_assert_int_eq(cc->weight, a[0]->weight);
	const struct dnnq_qtensor *w[2] = { &m[0].tensors[a[0]->weight].t,
	                                    &m[1].tensors[a[1]->weight].t };
	ck_assert_int_eq(w[0]->dtype, DNNQ_DTYPE_S8);
	ck_assert_str_eq(m[0].tensors[a[0]->weight].name, m[1].tensors[a[1]->weight].name);
	ck_assert(memcmp(w[0]->data, w[1]->data, dnnq_qtensor_nbytes(w[0])) != 0);
	double db[3];
	ck_assert_int_eq(dnnq_weights_cache_create(&c.wcache), 0);
	for (int k = 0; k < 2; k++)
		ck_assert_msg(dnnq_onnx_eval(&c, &m[k], c.ex, &db[k], &d) == 0, "%s", d.msg);
	dnnq_weights_cache_destroy(c.wcache);
	c.wcache = NULL;
	ck_assert_msg(dnnq_onnx_eval(&c, &m[1], c.ex, &db[2], &d) == 0, "%s", d.msg);
	ck_assert_msg(!memcmp(&db[1], &db[2], sizeof *db), "conv_b fp32: %.17g dB after the "
	              "all-int8 model (%.17g dB) on one cache, %.17g dB built afresh", db[1], db[0],
	              db[2]);
	for (int k = 0; k < 2; k++)
		dnnq_model_free(&m[k]);
	free(method);
	free(x.data);
	dnnq_onnx_calib_free(&c);
	dnnq_ir_free(&ir);
}
END_TEST

/* The lowering's weights cache (dnnq_lower_opts.wcache: --precision
 * auto's trials) also holds the integers a Conv or Gemm converts from the
 * model's own (ONNX Runtime's dynamic quantization, fused into a Conv or
 * a dynamic Gemm reading a DequantizeLinear): a lowering that takes them
 * from the cache writes the tensors of one that converts them. */
START_TEST(lower_wcache_model_integers)
{
	/* each model: its ONNX file, calibration samples and the s8 tensors
	 * of a lowering (shared_q: three Convs reading one DequantizeLinear
	 * of the model's integers, each converting its own copy; taken from
	 * the cache, they shared one) */
	static const struct { const char *onnx, *in; size_t s8; } cases[] = {
		{ OPS "/ort_dynamic_conv.onnx", OPS "/ort_dynamic_conv.in0.npy", 1 },
		{ OPS "/ort_dynamic_matmul.onnx", OPS "/ort_dynamic_matmul.in0.npy", 1 },
		{ PREC "/shared_q.onnx", PREC "/calib_shared.npy", 3 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct dnnq_diag d = { "" };
		const char *onnx = cases[i].onnx, *in = cases[i].in;
		struct array x;
		struct dnnq_ir ir;
		struct dnnq_onnx_calib c;
		calibrated_model(onnx, in, &x, &ir, &c);
		struct dnnq_calib_opts o = { .spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false } };
		enum dnnq_calib_method *method = calloc(ir.nvalues, sizeof *method);
		struct dnnq_lower_wcache *lw;
		ck_assert_ptr_nonnull(method);
		ck_assert_int_eq(dnnq_lower_wcache_create(ir.nnodes, &lw), 0);
		dnnq_onnx_calib_methods(&c, DNNQ_CALIB_MINMAX, method);
		struct dnnq_model m[3];
		for (int k = 0; k < 3; k++) {
			struct dnnq_lower_opts lo = { .per_channel = true, .calibration = "test",
			                              .wcache = k ? lw : NULL };
			ck_assert_msg(dnnq_onnx_calib_lower(&c, &o, method, &lo, &m[k], &d) == 0, "%s: %s",
			              onnx, d.msg);
		}
		size_t s8 = 0;
		for (int k = 1; k < 3; k++) {
			ck_assert_msg(m[k].ntensors == m[0].ntensors, "%s: lowering %d: %zu tensors, "
			              "%zu afresh", onnx, k, m[k].ntensors, m[0].ntensors);
			for (size_t t = 0; t < m[0].ntensors; t++) {
				ck_assert_str_eq(m[k].tensors[t].name, m[0].tensors[t].name);
				assert_qtensor_eq(&m[0].tensors[t].t, &m[k].tensors[t].t);
				s8 += m[k].tensors[t].t.dtype == DNNQ_DTYPE_S8;
			}
		}
		ck_assert_uint_eq(s8, 2 * cases[i].s8);   /* the weights, converted and cached */
		for (int k = 0; k < 3; k++)
			dnnq_model_free(&m[k]);
		dnnq_lower_wcache_destroy(lw);
		free(method);
		free(x.data);
		dnnq_onnx_calib_free(&c);
		dnnq_ir_free(&ir);
	}
}
END_TEST

/* The evaluation's output SQNR (what every trial of --precision auto
 * compares) is summed by chunks of the outputs over the executor
 * (onnx/trials.c run_sqnr): the same bits on 1 and on 3 threads, and the
 * plain double sum's value. The FPN fixture's 8 samples give 61440
 * output values, several chunks. */
START_TEST(eval_sqnr_threads)
{
	struct dnnq_diag d = { "" };
	struct array x;
	struct dnnq_ir ir;
	struct dnnq_onnx_calib c;
	calibrated_fixture("fpn_tiny", &x, &ir, &c);
	struct dnnq_calib_opts o = { .spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false } };
	enum dnnq_calib_method *method = calloc(ir.nvalues, sizeof *method);
	ck_assert_ptr_nonnull(method);
	dnnq_onnx_calib_methods(&c, DNNQ_CALIB_L2, method);
	struct dnnq_lower_opts lo = { .per_channel = true, .calibration = "test" };
	struct dnnq_model m;
	ck_assert_msg(dnnq_onnx_calib_lower(&c, &o, method, &lo, &m, &d) == 0, "%s", d.msg);
	struct dnnq_pool *pool = dnnq_pool_create(3, NULL);
	ck_assert_ptr_nonnull(pool);
	struct dnnq_executor ex = dnnq_pool_executor(pool);
	double db[2];
	ck_assert_msg(dnnq_onnx_eval(&c, &m, NULL, &db[0], &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_onnx_eval(&c, &m, &ex, &db[1], &d) == 0, "%s", d.msg);
	ck_assert_msg(!memcmp(&db[0], &db[1], sizeof db[0]), "1 thread %.17g dB, 3: %.17g dB",
	              db[0], db[1]);
	/* the plain sum, in order, of the model's outputs run here */
	struct dnnq_graph *g;
	ck_assert_msg(dnnq_model_build(&m, dnnq_isa_best(), &g, &d) == 0, "%s", d.msg);
	ck_assert_msg(dnnq_graph_plan(g, c.samples, 1, &d) == 0, "%s", d.msg);
	size_t n = dnnq_ir_numel(&ir.values[ir.outputs[0]], c.samples);
	ck_assert_uint_gt(n, 3 * 16384);
	float *y = malloc(n * sizeof *y);
	void *out[1] = { y };
	ck_assert_ptr_nonnull(y);
	ck_assert_int_eq(dnnq_graph_run(g, (const void *const *)c.x, out, NULL), 0);
	double sig = 0, noise = 0;
	for (size_t i = 0; i < n; i++) {
		double r = c.ref[0][i], e = r - y[i];
		sig += r * r;
		noise += e * e;
	}
	double want = 10 * log10(sig / noise);
	ck_assert_msg(fabs(db[0] - want) < 1e-9 && want > 10, "%.17g dB, plain sum %.17g dB",
	              db[0], want);
	free(y);
	dnnq_graph_destroy(g);
	dnnq_pool_destroy(pool);
	dnnq_model_free(&m);
	free(method);
	free(x.data);
	dnnq_onnx_calib_free(&c);
	dnnq_ir_free(&ir);
}
END_TEST

/*
 * Graphs whose batch leaves dim 0 and a channels-last LayerNorm
 * (tools/mkonnx.py's layout set): torch's nn.MultiheadAttention with
 * batch_first False and True, Gemm with transA, a broadcast against the
 * batch with a reduction over it (each converted with the batch fixed to 1:
 * dnnq-convert warns and reports why, the model records it, dnnq-run
 * refuses a batch of 8), and a ConvNeXt block (any batch). Each converted
 * as a user would (--per-channel, --precision auto) and run on its test
 * input: int8 against the fp32 output (torch's or NumPy's). Measured 31.9,
 * 36.7, 50.6, 54.1 and 44.6 dB; the bounds leave room for the calibration.
 */
#define LAYOUT "tests/onnx/layout"

START_TEST(layout_end_to_end)
{
	static const struct {
		const char *name;
		double min_db;
		bool fixed;
	} models[] = {
		{ "mha_seq", 28, true }, { "mha_batch_first", 32, true }, { "gemm_transa", 40, true },
		{ "batch_broadcast", 40, true }, { "convnext_block", 38, false },
	};
	const char *name = models[_i].name;
	char dir[] = "/tmp/dnnq-layout-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	sh(&c, dir, "dnnq-convert " LAYOUT "/%s.onnx -o %s/m.dnnq --calib " LAYOUT "/%s.calib.npy "
	   "--per-channel --report", name, dir, name);
	ck_assert_msg(c.status == 0, "%s: %s", name, c.err);
	ck_assert_msg(!strstr(c.out, "batch fixed to 1") == !models[_i].fixed, "%s: %s", name, c.out);
	/* each moves its batch, none names a node computing across it */
	ck_assert_msg(!strstr(c.out, "computes across"), "%s: %s", name, c.out);
	ck_assert_msg(!strstr(c.err, "warning: ") == !models[_i].fixed, "%s: %s", name, c.err);
	sh(&c, dir, "dnnq-inspect --json %s/m.dnnq", dir);
	ck_assert_msg(strstr(c.out, models[_i].fixed ? "\"max_batch\": 1" : "\"max_batch\": 0"),
	              "%s: %s", name, c.out);
	double db = run_sqnr(&c, dir, LAYOUT, name);
	printf("convert: layout %-18s int8 SQNR %6.2f dB against fp32\n", name, db);
	ck_assert_msg(db >= models[_i].min_db, "%s: %.2f dB < %.0f", name, db, models[_i].min_db);
	/* a batch of 8: where the batch is fixed (it was refused) run sample by
	 * sample, as dnnqctl infer splits a call, each sample's output the
	 * bytes of its run alone; the .onnx through the reference executor too */
	sh(&c, dir, "dnnq-run %s/m.dnnq -i " LAYOUT "/%s.calib.npy -o %s/b8", dir, name, dir);
	ck_assert_msg(c.status == 0, "%s: %s", name, c.err);
	sh(&c, dir, "dnnq-run " LAYOUT "/%s.onnx -i " LAYOUT "/%s.calib.npy -o %s/r8", name, name,
	   dir);
	ck_assert_msg(c.status == 0, "%s: %s", name, c.err);
	char path[512];
	struct array all, o8, o1;
	snprintf(path, sizeof path, LAYOUT "/%s.calib.npy", name);
	load(path, &all);
	ck_assert_uint_eq(all.a.shape[0], 8);
	size_t shape[DNNQ_NPY_MAX_DIMS];
	memcpy(shape, all.a.shape, sizeof shape);
	shape[0] = 1;
	snprintf(path, sizeof path, "%s/one.npy", dir);
	ck_assert_int_eq(dnnq_npy_write_file(path, DNNQ_DTYPE_F32, shape, all.a.ndim,
	                                     (const char *)all.data + 3 * (all.a.nbytes / 8), NULL),
	                 0);
	sh(&c, dir, "dnnq-run %s/m.dnnq -i %s -o %s/b1", dir, path, dir);
	ck_assert_msg(c.status == 0, "%s: %s", name, c.err);
	snprintf(path, sizeof path, "%s/b8/output.npy", dir);
	load(path, &o8);
	snprintf(path, sizeof path, "%s/b1/output.npy", dir);
	load(path, &o1);
	ck_assert_uint_eq(o8.a.shape[0], 8);
	ck_assert_uint_eq(o8.a.nbytes, 8 * o1.a.nbytes);
	if (models[_i].fixed)
		ck_assert_mem_eq((const char *)o8.data + 3 * o1.a.nbytes, o1.data, o1.a.nbytes);
	free(all.data);
	free(o8.data);
	free(o1.data);
	rm_rf(dir);
}
END_TEST

/*
 * Typed values through the serving path: a model with an int8 input
 * (DequantizeLinear), one with an int8 output (QuantizeLinear) and one with
 * an int32 output (ConvInteger) served by a real dnnqd ($DNNQ_BINDIR's)
 * and run with dnnqctl infer: every output equals NumPy's exactly, in its
 * dtype. The daemon is stopped at the end, or dies with the test.
 */
/* dnnqd (argv[0]) started, its socket sock there; it dies with the test. */
static pid_t start_dnnqd(char *const *argv, const char *sock)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], argv);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	for (int t = 0; t < 2000 && access(sock, F_OK); t++)
		usleep(5000);
	return pid;
}

/* SIGTERM, and dnnqd must exit 0. */
static void stop_dnnqd(pid_t pid)
{
	kill(pid, SIGTERM);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "dnnqd status %d", st);
}

START_TEST(tools_serve_typed)
{
	static const char *const cases[][2] = {
		{ "dq", "dequantize_s8" }, { "q", "quantize_s8" }, { "ci", "convinteger_u8s8" },
	};
	char dir[] = "/tmp/dnnq-typed-XXXXXX", sock[128], dnnqd[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	char *argv[16] = { dnnqd, "--socket", sock };
	int argc = 3;
	static char models[3][300];
	for (int i = 0; i < 3; i++) {
		sh(&c, dir, "dnnq-convert " OPS "/%s.onnx -o %s/%s.dnnq", cases[i][1], dir,
		   cases[i][0]);
		ck_assert_msg(c.status == 0, "%s", c.err);
		snprintf(models[i], sizeof models[i], "%s=%s/%s.dnnq", cases[i][0], dir, cases[i][0]);
		argv[argc++] = "--model";
		argv[argc++] = models[i];
	}
	snprintf(sock, sizeof sock, "%s/d.sock", dir);
	snprintf(dnnqd, sizeof dnnqd, "%s/dnnqd", bindir());
	pid_t pid = start_dnnqd(argv, sock);
	for (int i = 0; i < 3; i++) {
		sh(&c, dir, "dnnqctl --socket %s infer %s -i " OPS "/%s.in0.npy -o %s/out-%s", sock,
		   cases[i][0], cases[i][1], dir, cases[i][0]);
		if (c.status)
			kill(pid, SIGKILL);
		ck_assert_msg(c.status == 0, "%s: %s", cases[i][0], c.err);
		char got[512], want[512];
		snprintf(got, sizeof got, "%s/out-%s/y.npy", dir, cases[i][0]);
		snprintf(want, sizeof want, OPS "/%s.out.npy", cases[i][1]);
		struct array a, b;
		load(got, &a);
		load(want, &b);
		ck_assert_int_eq(a.a.dtype, b.a.dtype);
		ck_assert_uint_eq(a.a.nbytes, b.a.nbytes);
		ck_assert_msg(!memcmp(a.data, b.data, b.a.nbytes), "%s: outputs differ", cases[i][1]);
		free(a.data);
		free(b.data);
	}
	/* an array in the other layout: dnnqctl infer names the transpose, as
	 * dnnq-convert and dnnq-run do */
	char nhwc[512];
	static const int8_t zeros[2 * 4 * 4 * 3];
	snprintf(nhwc, sizeof nhwc, "%s/nhwc.npy", dir);
	ck_assert_int_eq(dnnq_npy_write_file(nhwc, DNNQ_DTYPE_S8, (size_t[]){ 2, 4, 4, 3 }, 4, zeros,
	                                     NULL), 0);
	sh(&c, dir, "dnnqctl --socket %s infer dq -i %s -o %s/out-nhwc", sock, nhwc, dir);
	if (c.status != 1)
		kill(pid, SIGKILL);
	ck_assert_msg(c.status == 1 && strstr(c.err, "nhwc.npy: shape 2x4x4x3: input 'x' wants [N, "
	                                      "3, 4, 4] with N >= 1; channels last? np.transpose(x, "
	                                      "(0, 3, 1, 2)) makes the NCHW array the input takes\n"),
	              "%d: %s", c.status, c.err);
	/* examples/infer.c (BINDIR/dnnq-example: make check-api builds it)
	 * writes an s8 input and reads s8 and s32 outputs in their dtypes, not
	 * as bytes: quantize_s8 maps the ramp's first values (< 1/32) to its
	 * zero point, -5 */
	static const char *const example[][2] = {
		{ "dq", "dq: 1 input, 1 output\ny f32 [1, 3, 4, 4]: 0.1110 0.1480 0.1850 " },
		{ "q", "q: 1 input, 1 output\ny s8 [1, 3, 4, 4]: -5 -5 -5 -5 -5 -5 -5 -5 ...\n" },
		{ "ci", "ci: 1 input, 1 output\ny s32 [1, 4, 5, 5]: " },
	};
	for (int i = 0; i < 3; i++) {
		sh(&c, dir, "dnnq-example %s %s", example[i][0], sock);
		if (c.status)
			kill(pid, SIGKILL);
		ck_assert_msg(c.status == 0 && strstr(c.out, example[i][1]), "%s: %s%s",
		              example[i][0], c.out, c.err);
	}
	stop_dnnqd(pid);
	rm_rf(dir);
}
END_TEST

#define UNREAD "tests/onnx/unread"

/* An input no node reads, from the start (unread_input's u) or once its
 * Shape is folded (unread_shape's s): converted with a warning naming it,
 * calibrated on a directory without its samples (a note), listed in
 * --json; it stays an input: dnnq-run of the .dnnq and of the .onnx, and
 * dnnqd, take it, check its shape and ignore its values. */
START_TEST(tools_unread_inputs)
{
	static const char *const cases[][2] = { { "unread_input", "u" }, { "unread_shape", "s" } };
	char dir[] = "/tmp/dnnq-unread-XXXXXX", sock[128], dnnqd[512], model[600], path[600];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	for (int i = 0; i < 2; i++) {
		const char *n = cases[i][0], *u = cases[i][1];
		sh(&c, dir, "dnnq-convert " UNREAD "/%s.onnx -o %s/%s.dnnq --calib " UNREAD
		   "/%s.calib --precision int8 --json", n, dir, n, n);
		ck_assert_msg(c.status == 0, "%s: %s", n, c.err);
		char want[160];
		snprintf(want, sizeof want, "\"unread_inputs\":[\"%s\"]", u);
		ck_assert_msg(strstr(c.out, want), "%s", c.out);
		snprintf(want, sizeof want, "warning: " UNREAD "/%s.onnx: input '%s' is read by no "
		         "node", n, u);
		ck_assert_msg(strstr(c.err, want), "%s", c.err);
		snprintf(want, sizeof want, "no %s.npy: input '%s' is read by no node, zeros stand in"
		         " for it", u, u);
		ck_assert_msg(strstr(c.err, want), "%s", c.err);
		for (int onnx = 0; onnx < 2; onnx++) {
			sh(&c, dir, "dnnq-run %s/%s.%s --input x=" UNREAD "/%s.x.npy --input %s=" UNREAD
			   "/%s.%s.npy --output-dir %s/%s", onnx ? UNREAD : dir, n, onnx ? "onnx" : "dnnq",
			   n, u, n, u, dir, n);
			ck_assert_msg(c.status == 0, "%s: %s", n, c.err);
			snprintf(path, sizeof path, "%s/%s/y.npy", dir, n);
			snprintf(want, sizeof want, UNREAD "/%s.out.npy", n);
			ck_assert_double_gt(file_sqnr(want, path), onnx ? 100 : 30);
		}
		/* checked like any input: x's samples are not u's shape */
		sh(&c, dir, "dnnq-run %s/%s.dnnq --input x=" UNREAD "/%s.x.npy --input %s=" UNREAD
		   "/%s.calib/x.npy --output-dir %s/%s", dir, n, n, u, n, dir, n);
		ck_assert_int_ne(c.status, 0);
		ck_assert_msg(strstr(c.err, u), "%s", c.err);
	}
	char *argv[8] = { dnnqd, "--socket", sock, "--model", model };
	snprintf(sock, sizeof sock, "%s/d.sock", dir);
	snprintf(dnnqd, sizeof dnnqd, "%s/dnnqd", bindir());
	snprintf(model, sizeof model, "m=%s/unread_input.dnnq", dir);
	pid_t pid = start_dnnqd(argv, sock);
	sh(&c, dir, "dnnqctl --socket %s infer m -i x=" UNREAD "/unread_input.x.npy -i u=" UNREAD
	   "/unread_input.u.npy -o %s/served", sock, dir);
	if (c.status)
		kill(pid, SIGKILL);
	ck_assert_msg(c.status == 0, "%s", c.err);
	snprintf(path, sizeof path, "%s/served/y.npy", dir);
	ck_assert_double_gt(file_sqnr(UNREAD "/unread_input.out.npy", path), 30);
	sh(&c, dir, "dnnqctl --socket %s infer m -i x=" UNREAD "/unread_input.x.npy -i u=" UNREAD
	   "/unread_input.x.npy -o %s/served", sock, dir);
	if (!c.status)
		kill(pid, SIGKILL);
	ck_assert_int_ne(c.status, 0);
	stop_dnnqd(pid);
	rm_rf(dir);
}
END_TEST

#define NLP "tests/onnx/nlp"

/* ids.npy (int64 [16, 8]) with element 5 set to v, as DIR/NAME.npy. */
static void ids_with(const char *dir, const char *name, int64_t v)
{
	static uint8_t buf[4096];
	FILE *f = fopen(NLP "/ids.npy", "rb");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	struct dnnq_npy a;
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_npy_parse_flags(buf, n, DNNQ_NPY_I64, &a, &d) == 0, "%s", d.msg);
	ck_assert(a.from_i64);
	for (int k = 0; k < 8; k++)
		buf[a.data_offset + 8 * 5 + (size_t)k] = (uint8_t)((uint64_t)v >> (8 * k));
	char path[512];
	snprintf(path, sizeof path, "%s/%s.npy", dir, name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
	fclose(f);
}

/* DIR/y.npy against NLP/y.npy: the SQNR. */
static double nlp_sqnr(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/y.npy", dir);
	return file_sqnr(NLP "/y.npy", path);
}

/* A tiny BERT-like model with token ids (tools/mknlp.py), exported with
 * int64 and int32 inputs: both convert from the int64 samples (read as
 * int32) and run close to torch int8, near-exact all fp32; an id outside
 * the vocabulary or int32 fails the run or the read, naming what; dnnqd
 * serves it with int32 ids and refuses a bad id without a crash. */
START_TEST(nlp_token_ids)
{
	static const char *const models[2] = { "bert", "bert_i32" };
	char dir[] = "/tmp/dnnq-nlp-XXXXXX", sock[128], dnnqd[512], model[600];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	const char *run = "dnnq-run %s/%s.dnnq -i ids=" NLP "/ids.npy -i mask=" NLP "/mask.npy "
	                  "-o %s";
	for (int i = 0; i < 2; i++) {
		sh(&c, dir, "dnnq-convert " NLP "/%s.onnx --calib " NLP " -o %s/%s.dnnq", models[i],
		   dir, models[i]);
		ck_assert_msg(c.status == 0, "%s", c.err);
		ck_assert_msg(strstr(c.err, "ids.npy: int64 converted to int32"), "%s", c.err);
		sh(&c, dir, run, dir, models[i], dir);
		ck_assert_msg(c.status == 0, "%s", c.err);
		double db = nlp_sqnr(dir);
		sh(&c, dir, "dnnq-convert " NLP "/%s.onnx --calib " NLP " --keep-fp32 '*' -o "
		   "%s/f.dnnq", models[i], dir);
		ck_assert_msg(c.status == 0, "%s", c.err);
		sh(&c, dir, run, dir, "f", dir);
		ck_assert_msg(c.status == 0, "%s", c.err);
		double fdb = nlp_sqnr(dir);
		printf("convert: nlp %-8s int8 SQNR %6.2f dB, all fp32 %6.2f dB against torch\n",
		       models[i], db, fdb);
		ck_assert_msg(db >= 30 && fdb >= 100, "%s: %.2f, %.2f dB", models[i], db, fdb);
	}
	/* V = 100: id 100 is outside, -101 too (wrapped once), 2^40 no int32 */
	ids_with(dir, "oov", 100);
	ids_with(dir, "neg", -101);
	ids_with(dir, "big", (int64_t)1 << 40);
	sh(&c, dir, "dnnq-run %s/bert.dnnq -i ids=%s/oov.npy -i mask=" NLP "/mask.npy -o %s", dir,
	   dir, dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "(embed): value out of range"), "%s", c.err);
	sh(&c, dir, "dnnq-run %s/bert.dnnq -i ids=%s/neg.npy -i mask=" NLP "/mask.npy -o %s", dir,
	   dir, dir);
	ck_assert_msg(c.status == 1 && strstr(c.err, "(embed)"), "%s", c.err);
	sh(&c, dir, "dnnq-run " NLP "/bert.onnx -i ids=%s/oov.npy -i mask=" NLP "/mask.npy -o %s",
	   dir, dir);
	ck_assert_msg(c.status == 1 && strstr(c.err, "ids[5] = 100: outside the 100 rows"), "%s",
	              c.err);
	sh(&c, dir, "dnnq-run %s/bert.dnnq -i ids=%s/big.npy -i mask=" NLP "/mask.npy -o %s", dir,
	   dir, dir);
	ck_assert_msg(c.status == 1 && strstr(c.err, "big.npy: element 5 = 1099511627776"), "%s",
	              c.err);
	/* served: the same bytes as dnnq-run's; a bad id fails its request only */
	snprintf(sock, sizeof sock, "%s/d.sock", dir);
	snprintf(dnnqd, sizeof dnnqd, "%s/dnnqd", bindir());
	snprintf(model, sizeof model, "bert=%s/bert.dnnq", dir);
	char *argv[] = { dnnqd, "--socket", sock, "--model", model, NULL };
	pid_t pid = start_dnnqd(argv, sock);
	sh(&c, dir, run, dir, "bert", dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	char oov[512];
	snprintf(oov, sizeof oov, "%s/oov.npy", dir);
	for (int round = 0; round < 2; round++) {
		sh(&c, dir, "dnnqctl --socket %s infer bert -i ids=%s -i mask=" NLP "/mask.npy -o "
		   "%s/served", sock, round ? oov : NLP "/ids.npy", dir);
		if (round == 0) {
			ck_assert_msg(c.status == 0, "%s", c.err);
			char path[512];
			struct array a, b;
			snprintf(path, sizeof path, "%s/served/y.npy", dir);
			load(path, &a);
			snprintf(path, sizeof path, "%s/y.npy", dir);
			load(path, &b);
			ck_assert_uint_eq(a.a.nbytes, b.a.nbytes);
			ck_assert_msg(!memcmp(a.data, b.data, b.a.nbytes), "served output differs");
			free(a.data);
			free(b.data);
		} else {
			/* the request's status only comes back: what it likely is, and
			 * which tool names the node */
			ck_assert_msg(c.status == 1 && strstr(c.err, "dnnqctl: infer: value out of "
			                                      "range: the model's run refused a value of"
			                                      " the inputs (an id outside an embedding's"
			                                      " table?); dnnq-run on the .dnnq file names"
			                                      " the node\n"), "%d %s", c.status, c.err);
		}
	}
	stop_dnnqd(pid);
	rm_rf(dir);
}
END_TEST

/* DIR/SUB/NAME.npy holds the bytes of the .npy file want's data. */
static void same_as(const char *dir, const char *sub, const char *name, const char *want)
{
	char path[512];
	struct array a, b;
	snprintf(path, sizeof path, "%s/%s/%s.npy", dir, sub, name);
	load(path, &a);
	load(want, &b);
	ck_assert_msg(a.a.dtype == b.a.dtype && a.a.nbytes == b.a.nbytes &&
	              !memcmp(a.data, b.data, b.a.nbytes), "%s/%s: not %s", sub, name, want);
	free(a.data);
	free(b.data);
}

/* OPS/CASE.onnx (inputs named in[0 .. nin-1]) converted from its own
 * inputs (int8 by default), run by dnnq-run into DIR/run and served by
 * dnnqd into DIR/served. */
static void convert_run_serve(const char *dir, const char *name, const char *const *in, int nin)
{
	static struct cmd c;
	char sock[128], dnnqd[512], model[600], ins[512] = "";
	for (int k = 0; k < nin; k++) {
		char one[160], cp[512];
		snprintf(one, sizeof one, " -i %s=" OPS "/%s.in%d.npy", in[k], name, k);
		strcat(ins, one);
		snprintf(cp, sizeof cp, "mkdir -p %s/cal && cp " OPS "/%s.in%d.npy %s/cal/%s.npy", dir,
		         name, k, dir, in[k]);
		ck_assert_int_eq(system(cp), 0);
	}
	sh(&c, dir, "dnnq-convert " OPS "/%s.onnx --calib %s/cal -o %s/p.dnnq", name, dir, dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	sh(&c, dir, "dnnq-run %s/p.dnnq%s -o %s/run", dir, ins, dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	snprintf(sock, sizeof sock, "%s/d.sock", dir);
	snprintf(dnnqd, sizeof dnnqd, "%s/dnnqd", bindir());
	snprintf(model, sizeof model, "p=%s/p.dnnq", dir);
	char *argv[] = { dnnqd, "--socket", sock, "--model", model, NULL };
	pid_t pid = start_dnnqd(argv, sock);
	sh(&c, dir, "dnnqctl --socket %s infer p%s -o %s/served", sock, ins, dir);
	stop_dnnqd(pid);
	ck_assert_msg(c.status == 0, "%s", c.err);
}

/* Graph outputs that are graph inputs passed through (tf2onnx's BERT-SQuAD
 * `unique_ids`; tools/mkonnx.py passthrough_ids: int64 ids as they are,
 * int32 ones through an Identity, the float input): converted, run by
 * dnnq-run and served by dnnqd, each the very input (int64 read as int32). */
START_TEST(passthrough_served)
{
	char dir[] = "/tmp/dnnq-pass-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static const char *const in[3] = { "x", "ids", "tok" };
	convert_run_serve(dir, "passthrough_ids", in, 3);
	for (int r = 0; r < 2; r++) {
		const char *sub = r ? "served" : "run";
		same_as(dir, sub, "x", OPS "/passthrough_ids.in0.npy");
		same_as(dir, sub, "ids", OPS "/passthrough_ids.in1.npy");
		same_as(dir, sub, "tok_out", OPS "/passthrough_ids.in2.npy");
	}
	rm_rf(dir);
}
END_TEST

/* Values listed as graph outputs more than once (tools/mkonnx.py
 * dup_outputs: outputs y, y, a, b, x, x of y = Relu(x), a and b
 * Identities of y; refused before: "tensor name 'y:dequantize' used
 * twice", "'x:copy' used twice"): converted, run and served, each output
 * a copy of its own (a name given twice written NAME-2.npy): y near the
 * Relu, the others its bytes or x's. */
START_TEST(dup_outputs_served)
{
	char dir[] = "/tmp/dnnq-dup-XXXXXX", y[600];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static const char *const in[1] = { "x" };
	convert_run_serve(dir, "dup_outputs", in, 1);
	for (int r = 0; r < 2; r++) {
		const char *sub = r ? "served" : "run";
		snprintf(y, sizeof y, "%s/%s/y.npy", dir, sub);
		double db = file_sqnr(OPS "/dup_outputs.out.npy", y);
		ck_assert_msg(db >= 30, "%s: %.2f dB", sub, db);
		same_as(dir, sub, "y-2", y);
		same_as(dir, sub, "a", y);
		same_as(dir, sub, "b", y);
		same_as(dir, sub, "x", OPS "/dup_outputs.in0.npy");
		same_as(dir, sub, "x-2", OPS "/dup_outputs.in0.npy");
	}
	rm_rf(dir);
}
END_TEST

/* Each NLP/MODEL.onnx of models[0 .. n-1] converted int8 (default) and all
 * fp32 from the samples in NLP, run on NLP/ids.npy, mask.npy (ids1, mask1
 * when the batch is fixed, which dnnq-convert must say, or must not): y
 * within min_db (int8) and 100 dB (all fp32) of NLP/y_MODEL.npy, torch's. */
static void nlp_convert_both(const char *dir, const char *const *models, int n, bool fixed,
                             double min_db)
{
	static struct cmd c;
	const char *one = fixed ? "1" : "";
	for (int i = 0; i < 2 * n; i++) {
		const char *model = models[i / 2];
		int fp32 = i % 2;
		static double db[2];
		sh(&c, dir, "dnnq-convert " NLP "/%s.onnx --calib " NLP " %s -o %s/m.dnnq", model,
		   fp32 ? "--keep-fp32 '*'" : "", dir);
		ck_assert_msg(c.status == 0 && !strstr(c.err, "batch fixed to 1") == !fixed, "%s",
		              c.err);
		sh(&c, dir, "dnnq-run %s/m.dnnq -i ids=" NLP "/ids%s.npy -i mask=" NLP "/mask%s.npy "
		   "-o %s", dir, one, one, dir);
		ck_assert_msg(c.status == 0, "%s", c.err);
		char want[128], got[512];
		snprintf(want, sizeof want, NLP "/y_%s.npy", model);
		snprintf(got, sizeof got, "%s/y.npy", dir);
		db[fp32] = file_sqnr(want, got);
		if (!fp32)
			continue;
		printf("convert: nlp %-6s int8 SQNR %6.2f dB, all fp32 %6.2f dB against torch\n",
		       model, db[0], db[1]);
		ck_assert_msg(db[0] >= min_db && db[1] >= 100, "%s: %.2f, %.2f dB", model, db[0],
		              db[1]);
	}
}

/* The integer arithmetic on ids and the attention masks Hugging Face's
 * exports hold (tools/mknlp.py: ints.onnx, masks.onnx, batch and length
 * symbolic, the length fixed by the samples): RoBERTa's position ids
 * (Equal, Not, Cast, CumSum, Mul, Add on the ids, then a Gather of the
 * position table by them), token type zeros expanded to the batch, the
 * masked mean pooling's Expand of the mask; DistilBERT's masked_fill, the
 * SDPA mask, CLIP's Trilu. Both convert, run close to torch int8 and
 * near-exact all fp32, with the batch kept; refused before (an int64
 * constant expanded to the batch, Trilu). */
START_TEST(nlp_int_patterns)
{
	static const char *const models[2] = { "ints", "masks" };
	char dir[] = "/tmp/dnnq-nlpi-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	nlp_convert_both(dir, models, 2, false, 30);
	rm_rf(dir);
}
END_TEST

/* A GPT-2 block as transformers writes it, with T5's relative position
 * bias and RMSNorm (tools/mknlp.py causal.onnx): Conv1D's x.view(-1, D)
 * fixes the batch to 1 (said so), where(causal, scores, finfo.min) has
 * constant halves, the bias buckets fold (Greater, Abs, Less, Log of 0
 * cast to int64, Min); CLIP's pooling x[arange(b), ids.argmax(-1)]
 * (pool.onnx: a Gather of activations by computed indices); refused
 * before. Integer Div of computed integers ((ids + 1) // 2) is refused
 * naming the node. */
START_TEST(nlp_causal)
{
	char dir[] = "/tmp/dnnq-nlpc-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	static const char *const models[2] = { "causal", "pool" };
	nlp_convert_both(dir, models, 2, true, 25);
	sh(&c, dir, "dnnq-convert " NLP "/iddiv.onnx --calib " NLP " -o %s/d.dnnq", dir);
	ck_assert_msg(c.status != 0 && strstr(c.err, "node '/Div' (Div): input 0 '/Add_output_0' "
	              "holds integers computed at run time"), "%s", c.err);
	rm_rf(dir);
}
END_TEST

/* Integers computed from the ids in the one-hot Gather (tools/mknlp.py
 * gathers, calibrated on ids.npy alone: one input): introws.onnx, a token
 * id at a computed position embedded, converted --precision int8, keeps
 * every node on integers fp32 (the one-hot GEMM too) and gives numpy's
 * rows exactly; negidx.onnx's index -1 picks the last row, as ONNX counts
 * from the end (zeros before); padint.onnx's integer Div after Pads that
 * fold away is refused naming the Div, as without the Pads. */
START_TEST(nlp_int_gathers)
{
	char dir[] = "/tmp/dnnq-nlpg-XXXXXX", cal[64], ids[PATH_MAX];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cal, sizeof cal, "%s/cal", dir);
	ck_assert_int_eq(mkdir(cal, 0700), 0);
	ck_assert_ptr_nonnull(realpath(NLP "/ids.npy", ids));
	char link[96];
	snprintf(link, sizeof link, "%s/ids.npy", cal);
	ck_assert_int_eq(symlink(ids, link), 0);
	static struct cmd c;
	static const char *const models[2] = { "introws", "negidx" };
	for (int i = 0; i < 2; i++) {
		sh(&c, dir, "dnnq-convert " NLP "/%s.onnx --calib %s --precision int8 %s -o %s/m.dnnq",
		   models[i], cal, i ? "--keep-fp32 '*'" : "", dir);
		ck_assert_msg(c.status == 0, "%s", c.err);
		sh(&c, dir, "dnnq-inspect %s/m.dnnq", dir);
		ck_assert_msg(c.status == 0 && !strstr(c.out, "\"precision\": \"int8\""), "%s",
		              c.out);
		sh(&c, dir, "dnnq-run %s/m.dnnq -i ids=" NLP "/ids1.npy -o %s", dir, dir);
		ck_assert_msg(c.status == 0, "%s", c.err);
		char want[128], got[512];
		snprintf(want, sizeof want, NLP "/y_%s.npy", models[i]);
		snprintf(got, sizeof got, "%s/y.npy", dir);
		struct array a, b;
		load(want, &a);
		load(got, &b);
		ck_assert_uint_eq(a.a.nbytes, b.a.nbytes);
		ck_assert_msg(!memcmp(a.data, b.data, b.a.nbytes), "%s: not numpy's rows", models[i]);
		free(a.data);
		free(b.data);
	}
	sh(&c, dir, "dnnq-convert " NLP "/padint.onnx --calib %s -o %s/d.dnnq", cal, dir);
	ck_assert_msg(c.status != 0 && strstr(c.err, "node '/Div' (Div): input 0 'p' holds integers "
	              "computed at run time"), "%s", c.err);
	rm_rf(dir);
}
END_TEST

#define LLM "tests/onnx/llm"

/* " -i NAME=LLM/MODEL/in/NAME.npy" for each input model has, into buf. */
static void llm_inputs(const char *model, char *buf, size_t cap)
{
	static const char *const names[5] = { "input_ids", "attention_mask", "position_ids",
	                                      "past_key_values.0.key", "past_key_values.0.value" };
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < 5 && o < cap; i++) {
		char path[256];
		snprintf(path, sizeof path, LLM "/%s/in/%s.npy", model, names[i]);
		if (!access(path, F_OK))
			o += (size_t)snprintf(buf + o, cap - o, " -i %s=%s", names[i], path);
	}
}

/* The arrays in files a and b: the same dtype, shape and bytes. */
static void same_npy(const char *a_path, const char *b_path)
{
	struct array a, b;
	load(a_path, &a);
	load(b_path, &b);
	ck_assert_msg(a.a.dtype == b.a.dtype && a.a.nbytes == b.a.nbytes &&
	              !memcmp(a.data, b.data, b.a.nbytes), "%s and %s differ", a_path, b_path);
	free(a.data);
	free(b.data);
}

/* How many of the [N, T, V] logits' last positions pick torch's token. */
static size_t next_tokens_agree(const char *want_path, const char *got_path, size_t *n)
{
	struct array w, g;
	load(want_path, &w);
	load(got_path, &g);
	ck_assert_uint_eq(w.a.ndim, 3);
	ck_assert_uint_eq(g.a.count, w.a.count);
	size_t t = (size_t)w.a.shape[1], v = (size_t)w.a.shape[2], agree = 0;
	*n = (size_t)w.a.shape[0];
	for (size_t i = 0; i < *n; i++) {
		const float *pw = (const float *)w.data + (i * t + t - 1) * v;
		const float *pg = (const float *)g.data + (i * t + t - 1) * v;
		size_t aw = 0, ag = 0;
		for (size_t k = 1; k < v; k++) {
			aw = pw[k] > pw[aw] ? k : aw;
			ag = pg[k] > pg[ag] ? k : ag;
		}
		agree += aw == ag;
	}
	free(w.data);
	free(g.data);
	return agree;
}

/* dnnq-convert LLM/SRC/model.onnx ARGS -o DIR/OUT.dnnq (c holds what it
 * said), then dnnq-run of it on LLM/INS/in's arrays into DIR/OUT/. */
static void llm_convert_run(struct cmd *c, const char *dir, const char *src, const char *args,
                            const char *ins, const char *out)
{
	char in[1024];
	static struct cmd r;
	sh(c, dir, "dnnq-convert " LLM "/%s/model.onnx %s -o %s/%s.dnnq", src, args, dir, out);
	ck_assert_msg(c->status == 0, "%s: %s", out, c->err);
	llm_inputs(ins, in, sizeof in);
	sh(&r, dir, "dnnq-run %s/%s.dnnq%s -o %s/%s", dir, out, in, dir, out);
	ck_assert_msg(r.status == 0, "%s: %s", out, r.err);
}

/* tools/mkllm.py's decoders (bench/llm-archs.py's, one layer): a LLaMA
 * decode step (past key/values in, the past's length symbolic; rotary
 * Sin and Cos of the position_ids input at run time; grouped-query
 * attention) and a Qwen2 prefill (rotary tables and torch 2's sdpa scale
 * folded: Sin, Cos, Sqrt, Reciprocal of constants), each refused before:
 * converted default and all fp32 from their samples, close to torch (the
 * logits and the present key) and the next token torch's; the decode
 * step converted with one --input-shape for its past (the other past, the
 * mask's "past_sequence_length + 1" follow) gives the calibrated all-fp32
 * bytes; served by dnnqd, the default one gives dnnq-run's bytes. */
START_TEST(llm_decoders)
{
	char dir[] = "/tmp/dnnq-llm-XXXXXX", in[1024], sock[128], dnnqd[512], model[600];
	char want[512], got[600], args[256], out[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	static const char *const models[2] = { "llama_past", "qwen" };
	static const char *const outs[3] = { "logits", "present.0.key", "present.0.value" };
	for (int i = 0; i < 4; i++) {
		const char *m = models[i / 2];
		int fp32 = i % 2;
		snprintf(args, sizeof args, "--calib " LLM "/%s/in%s", m, fp32 ? " --keep-fp32 '*'" : "");
		snprintf(out, sizeof out, "%s%d", m, fp32);
		llm_convert_run(&c, dir, m, args, m, out);
		double db[2];
		for (int k = 0; k < 2; k++) {
			snprintf(want, sizeof want, LLM "/%s/y_%s.npy", m, outs[k]);
			snprintf(got, sizeof got, "%s/%s/%s.npy", dir, out, outs[k]);
			db[k] = file_sqnr(want, got);
		}
		size_t n, agree;
		snprintf(want, sizeof want, LLM "/%s/y_logits.npy", m);
		snprintf(got, sizeof got, "%s/%s/logits.npy", dir, out);
		agree = next_tokens_agree(want, got, &n);
		printf("convert: llm %-10s %s: logits %6.2f dB, present key %6.2f dB, next token "
		       "%zu/%zu against torch\n", m, fp32 ? "all fp32" : "default ", db[0], db[1],
		       agree, n);
		ck_assert_msg(db[0] >= (fp32 ? 100 : 25) && db[1] >= (fp32 ? 100 : 30) && agree == n,
		              "%s %d: %.2f, %.2f dB, %zu/%zu", m, fp32, db[0], db[1], agree, n);
	}
	llm_convert_run(&c, dir, "llama_past", "--keep-fp32 '*' --input-shape "
	                "past_key_values.0.key=1x2x7x8", "llama_past", "shape");
	snprintf(want, sizeof want, "%s/llama_past1/logits.npy", dir);
	snprintf(got, sizeof got, "%s/shape/logits.npy", dir);
	same_npy(want, got);

	snprintf(sock, sizeof sock, "%s/d.sock", dir);
	snprintf(dnnqd, sizeof dnnqd, "%s/dnnqd", bindir());
	snprintf(model, sizeof model, "llm=%s/llama_past0.dnnq", dir);
	char *argv[8] = { dnnqd, "--socket", sock, "--model", model };
	pid_t pid = start_dnnqd(argv, sock);
	llm_inputs("llama_past", in, sizeof in);
	sh(&c, dir, "dnnqctl --socket %s infer llm%s -o %s/served", sock, in, dir);
	if (c.status)
		kill(pid, SIGKILL);
	ck_assert_msg(c.status == 0, "%s", c.err);
	for (int k = 0; k < 3; k++) {
		snprintf(want, sizeof want, "%s/llama_past0/%s.npy", dir, outs[k]);
		snprintf(got, sizeof got, "%s/served/%s.npy", dir, outs[k]);
		same_npy(want, got);
	}
	stop_dnnqd(pid);
	rm_rf(dir);
}
END_TEST

/* optimum's decoder_model_merged (tools/mkllm.py llama_merged: an If on
 * the bool input use_cache_branch, the decode step and the prefill its
 * branches): frozen to 1 by --input-value, the If is the decode step, all
 * fp32 the bytes of the step's own conversion; frozen to 0, the prefill,
 * the past given a stand-in length of 1 (dnnq has no empty dims; no node
 * reads it, zeros fed) and the mask its own length, near torch. */
START_TEST(llm_merged)
{
	static const char *const outs[2] = { "logits", "present.0.key" };
	static struct cmd c;
	char dir[] = "/tmp/dnnq-llmm-XXXXXX", want[512], got[600];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	llm_convert_run(&c, dir, "llama_past", "--calib " LLM "/llama_past/in --keep-fp32 '*'",
	                "llama_past", "step");
	llm_convert_run(&c, dir, "llama_merged", "--calib " LLM "/llama_past/in --input-value "
	                "use_cache_branch=1 --keep-fp32 '*'", "llama_past", "m1");
	ck_assert_msg(strstr(c.out, "inlined (If 1)"), "%s", c.out);
	for (int k = 0; k < 2; k++) {
		snprintf(want, sizeof want, "%s/step/%s.npy", dir, outs[k]);
		snprintf(got, sizeof got, "%s/m1/%s.npy", dir, outs[k]);
		same_npy(want, got);
	}
	llm_convert_run(&c, dir, "llama_merged", "--input-value use_cache_branch=0 --keep-fp32 '*' "
	                "--input-shape past_key_values.0.key=1x2x1x8 --input-shape input_ids=1x8 "
	                "--input-shape attention_mask=1x8", "llama_merged", "m0");
	snprintf(got, sizeof got, "%s/m0/logits.npy", dir);
	size_t n, agree = next_tokens_agree(LLM "/llama_merged/y_logits.npy", got, &n);
	double db = file_sqnr(LLM "/llama_merged/y_logits.npy", got);
	printf("convert: llm merged prefill all fp32: logits %.2f dB, next token %zu/%zu against "
	       "torch\n", db, agree, n);
	ck_assert_msg(db >= 100 && agree == n, "%.2f dB, %zu/%zu", db, agree, n);
	rm_rf(dir);
}
END_TEST

/* src with its graph edited as dst: edit(g, arg) changes g, a shallow
 * copy of the graph (what it points at stays src's, freed as read). */
static void edit_graph(const char *src, const char *dst,
                       void (*edit)(Onnx__GraphProto *, const void *), const void *arg)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(src, "rb");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	ck_assert_uint_lt(n, sizeof buf);
	Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, n, buf);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(m->graph);
	Onnx__GraphProto g = *m->graph, *read = m->graph;
	edit(&g, arg);
	m->graph = &g;
	size_t len = onnx__model_proto__get_packed_size(m);
	uint8_t *out = malloc(len);
	ck_assert_ptr_nonnull(out);
	onnx__model_proto__pack(m, out);
	m->graph = read;
	onnx__model_proto__free_unpacked(m, NULL);
	f = fopen(dst, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(out, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	free(out);
}

/* The graph named name. */
static void renamed(Onnx__GraphProto *g, const void *name)
{
	g->name = (char *)name;
}

/* The graph without inputs or nodes, its output its first initializer. */
static void constant_only(Onnx__GraphProto *g, const void *arg)
{
	static Onnx__ValueInfoProto out;
	static Onnx__ValueInfoProto *outs[1] = { &out };
	(void)arg;
	ck_assert_uint_ge(g->n_initializer, 1);
	out = *g->output[0];
	out.name = g->initializer[0]->name;
	g->output = outs;
	g->n_output = 1;
	g->n_input = g->n_node = 0;
}

/* dnnq-run of an .onnx without inputs (its output a constant) says it has
 * nothing to run and exits 1: its batch was 0 and it divided by it
 * (SIGFPE). */
START_TEST(tools_run_no_inputs)
{
	char dir[] = "/tmp/dnnq-noin-XXXXXX", path[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	snprintf(path, sizeof path, "%s/noin.onnx", dir);
	edit_graph(DIGITS "/cnn.onnx", path, constant_only, NULL);
	sh_refused(&c, dir, "dnnq-run: " , "dnnq-run %s -o %s", path, dir);
	char want[600];
	snprintf(want, sizeof want, "dnnq-run: %s has no inputs: nothing to run (its outputs are "
	         "constants)\n", path);
	ck_assert_msg(!strcmp(c.err, want), "%s", c.err);
	rm_rf(dir);
}
END_TEST

/* g with a second output, value `name` declared elem_type of no shape
 * (one such graph at a time: the storage is static). */
static void add_output(Onnx__GraphProto *g, char *name, int32_t elem_type)
{
	static Onnx__ValueInfoProto out;
	static Onnx__TypeProto type;
	static Onnx__TypeProto__Tensor tensor;
	static Onnx__ValueInfoProto *outs[2];
	onnx__value_info_proto__init(&out);
	onnx__type_proto__init(&type);
	onnx__type_proto__tensor__init(&tensor);
	tensor.has_elem_type = true;
	tensor.elem_type = elem_type;
	type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	type.tensor_type = &tensor;
	out.name = name;
	out.type = &type;
	outs[0] = g->output[0];
	outs[1] = &out;
	g->output = outs;
	g->n_output = 2;
}

/* The graph with its first initializer (the CNN's conv weight, [8, 1, 3,
 * 3]) a second output, declared float32; its 72 floats into arg. */
static void initializer_output(Onnx__GraphProto *g, const void *arg)
{
	const Onnx__TensorProto *w = g->initializer[0];
	ck_assert_uint_eq(w->n_dims, 4);
	ck_assert_uint_eq(w->raw_data.len, 72 * sizeof(float));
	memcpy((void *)arg, w->raw_data.data, w->raw_data.len);
	add_output(g, w->name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
}

/* The graph with a second output, its input's Shape, declared int64. */
static void shape_output(Onnx__GraphProto *g, const void *arg)
{
	static Onnx__NodeProto shape;
	static Onnx__NodeProto *nodes[64];
	static char *in[1], *sout[1] = { "shape" };
	(void)arg;
	ck_assert_uint_lt(g->n_node, 64);
	onnx__node_proto__init(&shape);
	shape.name = "shape_of_input";
	shape.op_type = "Shape";
	in[0] = g->input[0]->name;
	shape.n_input = 1;
	shape.input = in;
	shape.n_output = 1;
	shape.output = sout;
	memcpy(nodes, g->node, g->n_node * sizeof *nodes);
	nodes[g->n_node++] = &shape;
	g->node = nodes;
	add_output(g, sout[0], ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
}

/* dnnq-run of an .onnx whose output has no batch (an initializer's):
 * written whole, in the graph's shape. It was written as [128] (the
 * samples' count) of its 288 bytes cut by the batch, 256, and each run
 * copied the whole value at its samples' place: a heap overflow past the
 * 256 (valgrind: invalid write in dnnq_ir_run_ex), the file's bytes the
 * buffer's. */
START_TEST(tools_run_unbatched_output)
{
	char dir[] = "/tmp/dnnq-unbatched-XXXXXX", path[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	static float w[72];
	snprintf(path, sizeof path, "%s/two.onnx", dir);
	edit_graph(DIGITS "/cnn.onnx", path, initializer_output, w);
	sh(&c, dir, "dnnq-run %s -i " DIGITS "/calib_x.npy -o %s", path, dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "/0.weight.npy: f32 [8, 1, 3, 3]\n") &&
	              strstr(c.out, "/logits.npy: f32 [128, 10]\n"), "%s", c.out);
	struct array a;
	snprintf(path, sizeof path, "%s/0.weight.npy", dir);
	load(path, &a);
	ck_assert_uint_eq(a.a.count, 72);
	ck_assert_mem_eq(a.data, w, sizeof w);
	free(a.data);
	/* an int64 output folded at import (the input's Shape, its batch kept
	 * symbolic): refused, where its int64 bytes went out as two float32
	 * (0 and -0 for ONNX Runtime's [128, 1, 8, 8]) */
	snprintf(path, sizeof path, "%s/shape.onnx", dir);
	edit_graph(DIGITS "/cnn.onnx", path, shape_output, NULL);
	char want[700];
	snprintf(want, sizeof want, "dnnq-run: %s: output 'shape': int64 the import folded (a "
	         "Shape's, a Constant's): dnnq-run writes float32, int32, uint8 and int8 outputs\n",
	         path);
	sh_refused(&c, dir, want, "dnnq-run %s -i " DIGITS "/calib_x.npy -o %s", path, dir);
	rm_rf(dir);
}
END_TEST

/* castlike_int's ArgMax (x -> am), then y = am + am, declared int64:
 * integers the graph computes, which dnnq serves as float32. */
static void argmax_doubled(Onnx__GraphProto *g, const void *arg)
{
	static Onnx__NodeProto add;
	static Onnx__NodeProto *nodes[2];
	static char *in[2] = { "am", "am" }, *out[1] = { "y" };
	(void)arg;
	ck_assert_uint_eq(g->n_node, 2);
	ck_assert_str_eq(g->node[0]->op_type, "ArgMax");
	onnx__node_proto__init(&add);
	add.name = "twice";
	add.op_type = "Add";
	add.n_input = 2;
	add.input = in;
	add.n_output = 1;
	add.output = out;
	nodes[0] = g->node[0];
	nodes[1] = &add;
	g->node = nodes;
	g->output[0]->type->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
}

/* A graph output the ONNX graph declares an integer or bool type that
 * dnnq serves as another (docs/onnx.md, "Integer outputs"): one note on
 * stderr naming it and what a client gets, and --json's integer_outputs
 * (nothing said before: the client found int32 or float32 where ONNX
 * Runtime gave int64). ArgMax's int64 indices come as int32, integers the
 * graph computed and a bool as float32; a float output, or an int32 one
 * served int32, is not listed. Under POSIXLY_CORRECT, the options after
 * the model (it stopped at the model: 'one input model only'). */
START_TEST(tools_integer_outputs)
{
	char dir[] = "/tmp/dnnq-intout-XXXXXX", path[512], want[800];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	setenv("POSIXLY_CORRECT", "1", 1);
	sh(&c, dir, "dnnq-convert " OPS "/argmax_h.onnx -o %s/a.dnnq --calib " OPS
	   "/argmax_h.in0.npy --json", dir);
	unsetenv("POSIXLY_CORRECT");
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, ",\"integer_outputs\":[{\"name\":\"y\",\"onnx\":\"int64\","
	                     "\"served\":\"int32\"}],"), "%s", c.out);
	ck_assert_msg(strstr(c.err, "dnnq-convert: note: " OPS "/argmax_h.onnx: output 'y': int64 in"
	                     " the ONNX graph, int32 from dnnq (the same values; .astype(np.int64) "
	                     "gives ONNX Runtime's)\n"), "%s", c.err);
	snprintf(path, sizeof path, "%s/i64.onnx", dir);
	edit_graph("tests/onnx/rnn/castlike_int.onnx", path, argmax_doubled, NULL);
	sh(&c, dir, "dnnq-convert %s -o %s/i.dnnq --calib tests/onnx/rnn/castlike_int_x.npy", path,
	   dir);
	snprintf(want, sizeof want, "dnnq-convert: note: %s: output 'y': int64 in the ONNX graph, "
	         "float32 from dnnq (the integers, exact below 2^24; .astype(np.int64) gives ONNX "
	         "Runtime's)\n", path);
	ck_assert_msg(c.status == 0 && strstr(c.err, want), "%s", c.err);
	sh(&c, dir, "dnnq-convert tests/onnx/rnn/castlike_bool.onnx -o %s/b.dnnq --calib "
	   "tests/onnx/rnn/castlike_bool_x.npy --json", dir);
	ck_assert_msg(c.status == 0 && strstr(c.out, ",\"integer_outputs\":[{\"name\":\"y\","
	                                      "\"onnx\":\"bool\",\"served\":\"float32\"}],"),
	              "%s%s", c.out, c.err);
	ck_assert_msg(strstr(c.err, "output 'y': bool in the ONNX graph, float32 from dnnq (0 or 1;"
	                     " .astype(bool) gives ONNX Runtime's)\n") && !strstr(c.err, "'y2'"),
	              "%s", c.err);
	/* the float CNN: none */
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/c.dnnq --calib " DIGITS
	   "/calib_x.npy --precision int8 --json", dir);
	ck_assert_msg(c.status == 0 && strstr(c.out, ",\"integer_outputs\":[],") &&
	              !strstr(c.err, "note:"), "%s%s", c.out, c.err);
	rm_rf(dir);
}
END_TEST

/* dnnq-convert without -o writes MODEL.dnnq next to MODEL.onnx and says
 * so; float64 calibration samples are converted with a note; a graph named
 * like an exporter's default (torch_jit) takes the file's stem as the model
 * name; dnnq-inspect shows the conversion time in UTC ISO 8601. */
START_TEST(tools_defaults)
{
	char dir[] = "/tmp/dnnq-tools-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	char path[512], calib[512], want[1200];

	/* float64 samples and a torch_jit graph */
	void *buf;
	struct dnnq_npy a;
	struct dnnq_diag d = { "" };
	ck_assert_msg(dnnq_npy_read_file(DIGITS "/calib_x.npy", 1 << 28, &buf, &a, &d) == 0, "%s",
	              d.msg);
	ck_assert_int_eq(a.dtype, DNNQ_DTYPE_F32);
	float *x = malloc(a.count * sizeof *x);
	ck_assert_ptr_nonnull(x);
	dnnq_npy_to_f32(&a, x);
	snprintf(calib, sizeof calib, "%s/calib64.npy", dir);
	write_f64(calib, x, a.shape, a.ndim);
	free(x);
	free(buf);
	snprintf(path, sizeof path, "%s/digits-cnn.onnx", dir);
	edit_graph(DIGITS "/cnn.onnx", path, renamed, "torch_jit");

	time_t t0 = time(NULL);
	sh(&c, dir, "dnnq-convert %s --calib %s", path, calib);
	time_t t1 = time(NULL);
	ck_assert_msg(c.status == 0, "%s", c.err);
	snprintf(want, sizeof want, "dnnq-convert: %s: float64 converted to float32\n", calib);
	ck_assert_msg(strstr(c.err, want), "%s", c.err);
	snprintf(want, sizeof want, "dnnq-convert: no -o given: wrote %s/digits-cnn.dnnq\n", dir);
	ck_assert_msg(strstr(c.err, want), "%s", c.err);
	snprintf(path, sizeof path, "%s/digits-cnn.dnnq", dir);
	ck_assert_int_eq(access(path, R_OK), 0);

	sh(&c, dir, "dnnq-inspect %s", path);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "model \"digits-cnn\""), "%s", c.out);
	const char *s = strstr(c.out, ", created ");
	ck_assert_ptr_nonnull(s);
	struct tm tm = { 0 };
	const char *end = strptime(s + strlen(", created "), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ck_assert_msg(end && *end == ',', "%s", s);
	time_t t = timegm(&tm);
	ck_assert_msg(t >= t0 && t <= t1, "created %lld, converted in [%lld, %lld]",
	              (long long)t, (long long)t0, (long long)t1);
	sh(&c, dir, "dnnq-inspect %s --json", path);
	ck_assert_msg(c.status == 0 && strstr(c.out, "\"created_utc\": \"20"), "%s", c.out);
	/* SOURCE_DATE_EPOCH that is no number of seconds: refused before the
	 * work (it was taken as now, silently) */
	setenv("SOURCE_DATE_EPOCH", "17e8", 1);
	sh(&c, dir, "dnnq-convert %s/digits-cnn.onnx -o %s/epoch.dnnq", dir, dir);
	unsetenv("SOURCE_DATE_EPOCH");
	ck_assert_msg(c.status == 1 && strstr(c.err, "dnnq-convert: SOURCE_DATE_EPOCH: '17e8': must "
	                                      "be 0..9223372036854775807, digits only"), "%s", c.err);
	snprintf(want, sizeof want, "%s/epoch.dnnq", dir);
	ck_assert_int_ne(access(want, F_OK), 0);

	/* dnnq-run: -i and -o, float64 inputs, the output directory made first */
	sh(&c, dir, "dnnq-run %s -i %s -o %s/run/a", path, calib, dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	snprintf(want, sizeof want, "dnnq-run: %s: float64 converted to float32\n", calib);
	ck_assert_msg(strstr(c.err, want), "%s", c.err);
	snprintf(want, sizeof want, "%s/run/a/logits.npy", dir);
	ck_assert_int_eq(access(want, R_OK), 0);
	sh(&c, dir, "dnnq-run %s -i %s -o %s/calib64.npy/sub", path, calib, dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "calib64.npy/sub: cannot create: Not a directory"), "%s",
	              c.err);

	/* the ONNX graph's own name is kept */
	snprintf(path, sizeof path, "%s/named.onnx", dir);
	edit_graph(DIGITS "/cnn.onnx", path, renamed, "digits_classifier");
	sh(&c, dir, "dnnq-convert %s --calib " DIGITS "/calib_x.npy -o %s/n.dnnq", path, dir);
	ck_assert_msg(c.status == 0 && !strstr(c.err, "float64") && !strstr(c.err, "no -o"), "%s",
	              c.err);
	sh(&c, dir, "dnnq-inspect %s/n.dnnq", dir);
	ck_assert_msg(strstr(c.out, "model \"digits_classifier\""), "%s", c.out);
	rm_rf(dir);
}
END_TEST

/* dnnqctl infer against the fake daemon: a float64 batch of 20 to a model
 * of maximum batch 8 is sent as three requests, the outputs written whole
 * into an output directory that did not exist; an output directory that
 * cannot be made fails before the daemon is asked. */
START_TEST(tools_infer_split)
{
	static struct fake_daemon fake;
	ck_assert_int_eq(fake_daemon_start(&fake), 0);
	static struct cmd c;
	char x[256], y[256];
	float xs[20 * 4];
	for (int i = 0; i < 20 * 4; i++)
		xs[i] = (float)i * 0.5f - 7;
	snprintf(x, sizeof x, "%s/x.npy", fake.dir);
	write_f64(x, xs, (size_t[]){ 20, 4 }, 2);
	sh(&c, fake.dir, "dnnqctl --socket %s infer double -i x=%s -o %s/out/a --json", fake.path,
	   x, fake.dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	char want[600];
	snprintf(want, sizeof want, "dnnqctl: %s: float64 converted to float32\n", x);
	ck_assert_msg(strstr(c.err, want), "%s", c.err);
	ck_assert_msg(strstr(c.err, "dnnqctl: batch 20 is larger than model 'double' takes (8):"
	                            " sending it as 3 requests\n"), "%s", c.err);
	ck_assert_msg(strstr(c.out, "\"batch\":20,"), "%s", c.out);
	snprintf(y, sizeof y, "%s/out/a/y.npy", fake.dir);
	void *buf;
	struct dnnq_npy npy;
	ck_assert_int_eq(dnnq_npy_read_file(y, 1 << 20, &buf, &npy, NULL), 0);
	ck_assert(npy.ndim == 2 && npy.shape[0] == 20 && npy.shape[1] == 4);
	float ys[20 * 4];
	dnnq_npy_to_f32(&npy, ys);
	for (int i = 0; i < 20 * 4; i++)
		ck_assert_float_eq(ys[i], 2 * xs[i]);
	free(buf);
	/* the text summary: the first 8 rows' classes, the other 12 counted */
	sh(&c, fake.dir, "dnnqctl --socket %s infer double -i x=%s -o %s/out/b", fake.path, x,
	   fake.dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	ck_assert_msg(strstr(c.out, "\n  row 7: predicted class ") && !strstr(c.out, "row 8:") &&
	              strstr(c.out, "/out/b/y.npy has them all; --json lists every row's class)\n") &&
	              strstr(c.out, "\n  ... 12 more rows ("), "%s", c.out);
	/* an output directory that cannot be made: refused before the daemon is asked */
	sh(&c, fake.dir, "dnnqctl --socket %s infer double -i x=%s -o %s/x.npy/sub", fake.path, x,
	   fake.dir);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "x.npy/sub: cannot create: Not a directory"), "%s", c.err);
	fake_daemon_stop(&fake);
}
END_TEST

/* dnnqctl infer's mistakes against the fake daemon, each named with what to
 * do: two files for one input, a model it does not serve. */
START_TEST(tools_infer_mistakes)
{
	static struct fake_daemon fake;
	ck_assert_int_eq(fake_daemon_start(&fake), 0);
	static struct cmd c;
	char x[256];
	float xs[4] = { 1, 2, 3, 4 };
	snprintf(x, sizeof x, "%s/x.npy", fake.dir);
	write_f64(x, xs, (size_t[]){ 1, 4 }, 2);
	sh(&c, fake.dir, "dnnqctl --socket %s infer double -i %s -i x=%s", fake.path, x, x);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "dnnqctl: infer: model 'double' input 'x': 2 --input files"
	                            " for it, give one\n"), "%s", c.err);
	/* bench's values out of range: the option and its range */
	sh(&c, fake.dir, "dnnqctl --socket %s bench double --async 5000", fake.path);
	ck_assert_int_eq(c.status, 2);
	ck_assert_msg(strstr(c.err, "dnnqctl: --async: '5000': must be 1..4096 (try"
	                            " 'dnnqctl bench --help')\n"), "%s", c.err);
	/* --timeout 0 would time out at once: refused */
	sh(&c, fake.dir, "dnnqctl --socket %s infer double -i %s --timeout 0", fake.path, x);
	ck_assert_int_eq(c.status, 2);
	ck_assert_msg(strstr(c.err, "--timeout: '0': must be 1..86400000"), "%s", c.err);
	/* a request the (paused) daemon does not answer in time: the timeout
	 * named, and how to give it longer */
	__atomic_store_n(&fake.paused, 1, __ATOMIC_RELEASE);
	sh(&c, fake.dir, "dnnqctl --socket %s infer double -i %s --timeout 50", fake.path, x);
	__atomic_store_n(&fake.paused, 0, __ATOMIC_RELEASE);
	ck_assert_msg(c.status == 1 && strstr(c.err, "dnnqctl: infer: timed out after 50 ms "
	                                             "(--timeout MS gives it longer)\n"), "%s",
	              c.err);
	sh(&c, fake.dir, "dnnqctl --socket %s infer nosuch -i %s", fake.path, x);
	ck_assert_int_eq(c.status, 1);
	ck_assert_msg(strstr(c.err, "dnnqctl: model 'nosuch': not found (dnnqd serves: 'double',"
	                            " 'quant', 'stale')\n"), "%s", c.err);
	/* an int32 array for an f32 input: dnnqctl and dnnq-run refuse it with
	 * the same words (dnnq-run converted it to f32) */
	char want[600];
	int32_t is[2 * 64] = { 0 };
	snprintf(x, sizeof x, "%s/i.npy", fake.dir);
	ck_assert_int_eq(dnnq_npy_write_file(x, DNNQ_DTYPE_S32, (size_t[]){ 1, 4 }, 2, is, NULL), 0);
	sh(&c, fake.dir, "dnnqctl --socket %s infer double -i %s", fake.path, x);
	snprintf(want, sizeof want, "dnnqctl: %s: dtype s32: input 'x' takes f32 (x.astype("
	         "np.float32) converts an array)\n", x);
	ck_assert_msg(c.status == 1 && strstr(c.err, want), "%s", c.err);
	ck_assert_int_eq(dnnq_npy_write_file(x, DNNQ_DTYPE_S32, (size_t[]){ 2, 1, 8, 8 }, 4, is,
	                                     NULL), 0);
	sh(&c, fake.dir, "dnnq-run " DIGITS "/cnn.onnx -i %s", x);
	snprintf(want, sizeof want, "dnnq-run: %s: dtype s32: input 'input' takes f32 (x.astype("
	         "np.float32) converts an array)\n", x);
	ck_assert_msg(c.status == 1 && strstr(c.err, want), "%s", c.err);
	fake_daemon_stop(&fake);
}
END_TEST

/* An option that tunes a step the command line does not take is refused
 * (exit 2), naming what it needs, instead of being silently ignored:
 * dnnq-convert's calibration, acc16 and precision tunings, dnnq-calibrate's
 * per-command options; and a --keep-fp32 that names no node. */
/* Every tool's numeric options are read by one rule (dnnq_usage_digits,
 * dnnqd's too; dnnq_usage_real for decimals) and refused in one wording, the option, the text and the
 * range, ", digits only" after text that is no number: no 0x, space, sign
 * or trailing text, nothing that wraps (strtoul took "-1" for 2^64 - 1). */
START_TEST(tools_number_options)
{
	char dir[] = "/tmp/dnnq-numbers-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	static const char *const bad[][2] = {
		{ "dnnq-run m.dnnq --threads 0", "dnnq-run: --threads: '0': must be 1..256 (try --help)\n" },
		{ "dnnq-run m.dnnq --threads 0x10", "--threads: '0x10': must be 1..256, digits only (" },
		{ "dnnq-run m.dnnq --repeat -1", "--repeat: '-1': must be 0..100000000 (" },
		{ "dnnq-run m.dnnq --repeat -0", "--repeat: '-0': must be 0..100000000, digits only (" },
		{ "dnnq-run m.dnnq --threads 18446744073709551617",
		  "--threads: '18446744073709551617': must be 1..256 (" },
		{ "dnnq-convert m.onnx --bits ' 4'", "dnnq-convert: --bits: ' 4': must be 2..8, digits only" },
		{ "dnnq-convert m.onnx --threads 2x", "--threads: '2x': must be 1..256, digits only" },
		{ "dnnq-calibrate table --seed -1", "dnnq-calibrate: --seed: '-1': must be "
		  "0..18446744073709551615 (" },
		{ "dnnq-calibrate table --bins +9", "--bins: '+9': must be 2..16777216, digits only" },
		{ "dnnqctl bench m --batch 1e3", "dnnqctl: --batch: '1e3': must be 1..65536, digits only"
		  " (try 'dnnqctl bench --help')" },
		{ "dnnq-soak --clients 2.0", "dnnq-soak: --clients: '2.0': must be 1..64, digits only" },
		/* decimal numbers: the same words (dnnq_opt_real), no inf, nan or 0x */
		{ "dnnq-convert m.onnx --percentile 100.5", "dnnq-convert: --percentile: '100.5': "
		  "must be 50..100 (" },
		{ "dnnq-convert m.onnx --sqnr-floor nan", "--sqnr-floor: 'nan': must be 0..100, a decimal"
		  " number (" },
		{ "dnnq-calibrate table --percentile 0x60", "--percentile: '0x60': must be 50..100, a "
		  "decimal number (" },
		{ "dnnqctl bench m --duration 0", "dnnqctl: --duration: '0': must be above 0, at most "
		  "86400 (try 'dnnqctl bench --help')" },
		{ "dnnq-soak --duration inf", "--duration: 'inf': must be 0.001..10000000, a decimal"
		  " number" },
		/* signs as the digits take them: '+99' and '-0' no numbers (strtod
		 * took them), '-1' out of the range */
		{ "dnnq-convert m.onnx --percentile +99", "--percentile: '+99': must be 50..100, a "
		  "decimal number (" },
		{ "dnnq-convert m.onnx --sqnr-floor -0", "--sqnr-floor: '-0': must be 0..100, a decimal"
		  " number (" },
		{ "dnnq-convert m.onnx --sqnr-floor -1", "--sqnr-floor: '-1': must be 0..100 (" },
		/* the range in the digits the option takes (%g wrote 1e+07) */
		{ "dnnq-soak --reload-every 2e7", "--reload-every: '2e7': must be 0.001..10000000 (" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sh(&c, dir, "%s", bad[i][0]);
		ck_assert_msg(c.status == 2 && strstr(c.err, bad[i][1]), "%s: %d %s", bad[i][0],
		              c.status, c.err);
	}
	rm_rf(dir);
}
END_TEST

START_TEST(tools_inert_options)
{
	char dir[] = "/tmp/dnnq-inert-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	static const char *const convert[][2] = {
		{ "--calib " DIGITS "/calib_x.npy --percentile 99",
		  "--percentile needs --calib and --method percentile (or auto)" },
		{ "--calib " DIGITS "/calib_x.npy --method l2 --percentile 99",
		  "--percentile needs --calib and --method percentile (or auto)" },
		{ "--method minmax", "--method needs --calib:" },
		{ "--bins 512", "--bins needs --calib and a --method other than minmax" },
		{ "--calib " DIGITS "/calib_x.npy --method minmax --bins 512",
		  "--bins needs --calib and a --method other than minmax (whose range is the"
		  " samples' own):" },
		{ "--bits 7", "--bits needs --calib:" },
		{ "--acc16 --acc16-threshold 1", "--acc16-threshold needs --acc16=auto:" },
		{ "--acc16-nbits 6", "--acc16-nbits needs --acc16 or --acc16=auto:" },
		{ "--acc16-spill 8", "--acc16-spill needs --acc16 or --acc16=auto:" },
		{ "--calib " DIGITS "/calib_x.npy --precision int8 --fp32-threshold 1",
		  "--fp32-threshold needs --calib and --precision auto (the default):" },
		{ "--precision-samples 2", "--precision-samples needs --calib and --precision auto" },
		{ "--calib " DIGITS "/calib_x.npy --precision int8 --sqnr-floor 10",
		  "--sqnr-floor needs --calib and --precision auto" },
		{ "--keep-fp32 ''", "--keep-fp32 : node names (NODE,...) or '*'" },
		{ "--keep-fp32 ,,", "--keep-fp32 ,,: node names (NODE,...) or '*'" },
	};
	for (size_t i = 0; i < sizeof convert / sizeof convert[0]; i++) {
		sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/x.dnnq %s", dir, convert[i][0]);
		ck_assert_msg(c.status == 2 && strstr(c.err, convert[i][1]), "%s: %d %s",
		              convert[i][0], c.status, c.err);
	}
	char x[512];
	snprintf(x, sizeof x, "%s/x.dnnq", dir);
	ck_assert_int_ne(access(x, F_OK), 0);
	/* -o naming the input model (or the default output being it) is
	 * refused: the .dnnq was written over the ONNX file */
	struct stat st0, st1;
	ck_assert_int_eq(stat(DIGITS "/cnn.onnx", &st0), 0);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "cp " DIGITS "/cnn.onnx %s/m.onnx && cp " DIGITS "/cnn.onnx "
	         "%s/m.dnnq", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	sh(&c, dir, "dnnq-convert %s/m.onnx -o %s/m.onnx --calib " DIGITS "/calib_x.npy", dir, dir);
	ck_assert_msg(c.status == 2 && strstr(c.err, "/m.onnx is the input model: the output would"
	                                             " overwrite it (try --help)\n"), "%s", c.err);
	sh(&c, dir, "dnnq-convert %s/m.dnnq --calib " DIGITS "/calib_x.npy", dir);
	ck_assert_msg(c.status == 2 && strstr(c.err, "the default output ") &&
	              strstr(c.err, "(name another with -o)\n"), "%s", c.err);
	snprintf(x, sizeof x, "%s/m.onnx", dir);
	ck_assert_int_eq(stat(x, &st1), 0);
	ck_assert_int_eq(st1.st_size, st0.st_size);
	/* a directory for the model: the system's reason (it said "read error") */
	sh(&c, dir, "dnnq-convert %s -o %s/y.dnnq", dir, dir);
	ck_assert_msg(c.status == 1 && strstr(c.err, ": Is a directory\n"), "%s", c.err);
	snprintf(x, sizeof x, "%s/x.dnnq", dir);
	/* what they need given, they are taken */
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/x.dnnq --calib " DIGITS
	   "/calib_x.npy --method percentile --percentile 99.9 --precision int8 --json", dir);
	ck_assert_msg(c.status == 0 && strstr(c.out, "\"method\":\"percentile\""), "%s", c.err);

	static const char *const calibrate[][2] = {
		{ "stats " DIGITS "/calib_x.npy --percentile 99",
		  "--percentile needs --method percentile:" },
		{ "stats " DIGITS "/calib_x.npy --method minmax --bins 64",
		  "--bins needs a --method other than minmax (whose range is the data's own):" },
		{ "stats " DIGITS "/calib_x.npy --samples 10", "--samples: for table only" },
		{ "stats " DIGITS "/calib_x.npy --seed 2", "--seed: for table only" },
		{ "table --samples 10 --method kl", "--method: for stats only" },
		{ "table --samples 10 --bits 4", "--bits: for stats only" },
	};
	for (size_t i = 0; i < sizeof calibrate / sizeof calibrate[0]; i++) {
		sh(&c, dir, "dnnq-calibrate %s", calibrate[i][0]);
		ck_assert_msg(c.status == 2 && strstr(c.err, calibrate[i][1]), "%s: %d %s",
		              calibrate[i][0], c.status, c.err);
	}
	sh(&c, dir, "dnnq-calibrate stats " DIGITS "/calib_x.npy --method percentile --percentile 99");
	ck_assert_msg(c.status == 0 && strstr(c.out, "method      percentile 99 "), "%s", c.err);
	sh(&c, dir, "dnnq-calibrate table --samples 1000 --percentile 99.9");
	ck_assert_msg(c.status == 0, "%s", c.err);
	rm_rf(dir);
}
END_TEST

/* A --calib directory without INPUT.npy (mask.npy misspelt msk.npy):
 * the error says which file it looked for. Integer samples for a
 * float input are refused, and dnnq-calibrate's samples of no finite value. */
START_TEST(tools_calib_mistakes)
{
	char dir[] = "/tmp/dnnq-calibdir-XXXXXX", nlp[PATH_MAX], src[PATH_MAX + 16], to[600];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_ptr_nonnull(realpath(NLP, nlp));
	snprintf(to, sizeof to, "%s/s", dir);
	ck_assert_int_eq(mkdir(to, 0755), 0);
	static const char *const files[][2] = { { "ids", "ids" }, { "mask", "msk" } };
	for (int i = 0; i < 2; i++) {
		snprintf(src, sizeof src, "%s/%s.npy", nlp, files[i][0]);
		snprintf(to, sizeof to, "%s/s/%s.npy", dir, files[i][1]);
		ck_assert_int_eq(symlink(src, to), 0);
	}
	static struct cmd c;
	sh(&c, dir, "dnnq-convert " NLP "/ints.onnx --calib %s/s -o %s/x.dnnq", dir, dir);
	/* mask's 'sequence_length' is ids' (the symbolic dims one shape fixes) */
	ck_assert_msg(c.status == 1 && strstr(c.err, "no mask.npy for input 'mask' (the model's "
	                                             "inputs: 'ids', 'mask'; one INPUT.npy each)\n"),
	              "%s", c.err);
	/* both misspelt: no shape gives the symbolic dims; the error says why */
	char from[600];
	snprintf(from, sizeof from, "%s/s/ids.npy", dir);
	snprintf(to, sizeof to, "%s/s/idz.npy", dir);
	ck_assert_int_eq(rename(from, to), 0);
	sh(&c, dir, "dnnq-convert " NLP "/ints.onnx --calib %s/s -o %s/x.dnnq", dir, dir);
	ck_assert_msg(c.status == 1 && strstr(c.err, "input 'mask': dims[1] is 'sequence_length'"
	                                             " (symbolic): fix it with --input-shape mask=1x"
	                                             "<sequence_length> (dim 0 is the batch) or "
	                                             "calibration samples of that shape (the --calib"
	                                             " directory has no mask.npy)\n"), "%s", c.err);
	/* integers for a float input: refused as dnnq-run refuses them */
	static const int32_t zeros[2 * 64];
	snprintf(to, sizeof to, "%s/i.npy", dir);
	ck_assert_int_eq(dnnq_npy_write_file(to, DNNQ_DTYPE_S32, (size_t[]){ 2, 1, 8, 8 }, 4, zeros,
	                                     NULL), 0);
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx --calib %s -o %s/x.dnnq", to, dir);
	char want[800];
	snprintf(want, sizeof want, "dnnq-convert: " DIGITS "/cnn.onnx: %s: dtype s32: input "
	         "'input' takes f32 (x.astype(np.float32) converts an array)\n", to);
	ck_assert_msg(c.status == 1 && strstr(c.err, want), "%s", c.err);
	/* dnnq-calibrate stats of no finite value: refused, not a range of
	 * [0, 0] at an SQNR of inf dB */
	static const float nan4[4] = { NAN, NAN, INFINITY, -INFINITY };
	snprintf(to, sizeof to, "%s/nan.npy", dir);
	ck_assert_int_eq(dnnq_npy_write_file(to, DNNQ_DTYPE_F32, (size_t[]){ 4 }, 1, nan4, NULL), 0);
	sh(&c, dir, "dnnq-calibrate stats %s", to);
	snprintf(want, sizeof want, "dnnq-calibrate: %s: no finite value (4 values, NaN or infinity"
	         " only)\n", to);
	ck_assert_msg(c.status == 1 && strstr(c.err, want) && !c.out[0], "%s%s", c.out, c.err);
	rm_rf(dir);
}
END_TEST

/* dnnq-run --repeat of an .onnx model (the fp32 reference's latency) times
 * it; it read the engine graph's node count, which an ONNX run has none
 * of, and crashed. An engine option for it (or an ONNX one for a .dnnq)
 * is refused naming it. dnnq-inspect's heading of the inputs. */
START_TEST(tools_run_and_inspect)
{
	char dir[] = "/tmp/dnnq-runonnx-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static struct cmd c;
	sh(&c, dir, "dnnq-run " DIGITS "/cnn.onnx -i " DIGITS "/demo_x.npy -o %s --repeat 3 --json",
	   dir);
	ck_assert_msg(c.status == 0 && strstr(c.out, "\"kind\":\"onnx\"") &&
	              strstr(c.out, "\"latency_ms\":{\"runs\":3,"), "%d: %s%s", c.status, c.out,
	              c.err);
	/* the options of the other kind of model are refused, not ignored */
	static const char *const other[][3] = {
		{ DIGITS "/cnn.onnx", "--threads 2", "--threads: .dnnq models only" },
		{ DIGITS "/cnn.onnx", "--pin", "--pin: .dnnq models only" },
		{ DIGITS "/cnn.onnx", "--isa scalar", "--isa: .dnnq models only" },
		{ DIGITS "/cnn.onnx", "--profile", "--profile: .dnnq models only" },
		{ "%s/m.dnnq", "--max-constants 64", "--max-constants: .onnx models only" },
	};
	sh(&c, dir, "dnnq-convert " DIGITS "/cnn.onnx -o %s/m.dnnq --calib " DIGITS "/demo_x.npy",
	   dir);
	ck_assert_msg(c.status == 0, "%s", c.err);
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		char model[600];
		snprintf(model, sizeof model, other[i][0], dir);
		sh(&c, dir, "dnnq-run %s -i " DIGITS "/demo_x.npy -o %s %s", model, dir, other[i][1]);
		ck_assert_msg(c.status == 1 && strstr(c.err, other[i][2]), "%s: %d %s", other[i][1],
		              c.status, c.err);
	}
	/* dnnq-inspect of that .dnnq: the file's dims[0] of 1 is the batch,
	 * and the heading says so (it read as a model of batch 1) */
	sh(&c, dir, "dnnq-inspect %s/m.dnnq", dir);
	ck_assert_msg(c.status == 0 && strstr(c.out, "\ninputs (dims[0], 1 here, is the batch: each"
	                                             " request gives its own):\n  0 {\"name\": "
	                                             "\"input\", \"dtype\": \"f32\", \"dims\": "
	                                             "[1, 1, 8, 8], "), "%s", c.out);
	rm_rf(dir);
}
END_TEST

Suite *suite_convert(void)
{
	Suite *s = suite_create("convert");
	TCase *tc = tcase_create("convert");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, digits_cnn);
	tcase_add_test(tc, digits_mlp);
	tcase_add_test(tc, digits_cnn_mixed);
	tcase_add_test(tc, digits_mlp_mixed);
	tcase_add_test(tc, tools_keep_fp32);
	tcase_add_test(tc, tools_input_shape);
	tcase_add_loop_test(tc, models_end_to_end, 0, 3);
	tcase_add_loop_test(tc, layout_end_to_end, 0, 5);
	tcase_add_loop_test(tc, torch_exports, 0, 18);
	tcase_add_test(tc, int8_mask_stays_float);
	tcase_add_test(tc, tools_precision_auto);
	tcase_add_test(tc, tools_precision_stateful);
	tcase_add_test(tc, tools_precision_state_nan);
	tcase_add_test(tc, tools_precision_floor);
	tcase_add_test(tc, tools_precision_conv3d);
	tcase_add_test(tc, tools_precision_bounded);
	tcase_add_test(tc, tools_long_output_names);
	tcase_add_test(tc, tools_colliding_output_names);
	tcase_add_loop_test(tc, precision_trials_resumed, 0, 4);
	tcase_add_test(tc, precision_shared_weights);
	tcase_add_test(tc, lower_wcache_model_integers);
	tcase_add_test(tc, eval_sqnr_threads);
	tcase_add_test(tc, tools_serve_typed);
	tcase_add_test(tc, nlp_token_ids);
	tcase_add_test(tc, passthrough_served);
	tcase_add_test(tc, dup_outputs_served);
	tcase_add_test(tc, nlp_int_patterns);
	tcase_add_test(tc, nlp_causal);
	tcase_add_test(tc, nlp_int_gathers);
	tcase_add_test(tc, llm_decoders);
	tcase_add_test(tc, llm_merged);
	tcase_add_test(tc, digits_cnn_acc16);
	tcase_add_test(tc, digits_mlp_acc16);
	tcase_add_test(tc, conformance);
	tcase_add_test(tc, norm_models);
	tcase_add_test(tc, modern_models);
	tcase_add_test(tc, modern_refused);
	tcase_add_test(tc, modern_infinities);
	tcase_add_test(tc, conformance_3d_isas);
	tcase_add_test(tc, conv3d_packed_once);
	tcase_add_test(tc, fc_packed_once);
	tcase_add_test(tc, tools_end_to_end);
	tcase_add_test(tc, tools_defaults);
	tcase_add_test(tc, tools_run_no_inputs);
	tcase_add_test(tc, tools_run_unbatched_output);
	tcase_add_test(tc, tools_infer_split);
	tcase_add_test(tc, tools_infer_mistakes);
	suite_add_tcase(s, tc);
	TCase *usage = tcase_create("usage");  /* command-line mistakes, each found at once */
	tcase_add_test(usage, tools_number_options);
	tcase_add_test(usage, tools_inert_options);
	tcase_add_test(usage, tools_calib_mistakes);
	tcase_add_test(usage, tools_run_and_inspect);
	suite_add_tcase(s, usage);
	TCase *unread = tcase_create("unread");
	tcase_add_test(unread, tools_unread_inputs);
	tcase_add_test(unread, tools_integer_outputs);
	suite_add_tcase(s, unread);
	TCase *opgaps = tcase_create("opgaps");
	tcase_add_test(opgaps, opgaps_models);
	tcase_add_test(opgaps, opgaps_refused);
	tcase_add_test(opgaps, matmul_bcast_batch);
	tcase_add_test(opgaps, conv_affine_fused);
	tcase_add_test(opgaps, conv_affine_finite);
	suite_add_tcase(s, opgaps);
	TCase *ms = tcase_create("ms");
	tcase_set_timeout(ms, 600);
	tcase_add_test(ms, ms_ops);
	tcase_add_test(ms, ms_refused);
	tcase_add_test(ms, ms_full_table);
	tcase_add_test(ms, ms_cache_garbage);
	suite_add_tcase(s, ms);
	return s;
}
