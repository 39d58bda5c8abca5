/*
 * dnnq-convert: an ONNX model (fp32, or already quantized) to a .dnnq model.
 *
 *   dnnq-convert IN.onnx [-o OUT.dnnq] [--calib PATH] [--method M] [options]
 *
 * Import (onnx/import.c: every unsupported node is listed at once), then,
 * with --calib, the fp32 reference over the calibration samples into one
 * histogram per value and a range per value (onnx/calib.h), then the
 * lowering (onnx/lower.h) and the file, written to a temporary name and
 * renamed (without -o: IN's name with .dnnq, said on stderr), its creation
 * time recorded (SOURCE_DATE_EPOCH when set). --report runs the lowered
 * model on the calibration samples: each layer's SQNR (engine/graph.h's
 * shadow run) and the outputs' SQNR against the fp32 ONNX model.
 * --keep-fp32 runs the named nodes in fp32 (onnx/lower.h). --precision
 * auto (the default) measures each node's int8 loss on the first
 * --precision-samples calibration samples and runs fp32 those above
 * --fp32-threshold dB (onnx/precision.h), and lowers fp32 a node int8
 * cannot represent; --precision int8 runs int8 wherever a kernel exists.
 * --acc16 marks
 * every Conv and Gemm layer for 16-bit accumulation; --acc16=auto measures each one on the calibration samples
 * and keeps it where the SQNR at the layer's output drops by less than
 * --acc16-threshold dB (onnx/calib.h). The fp32 reference and the runs of
 * the lowered model use --threads threads (default: the online CPUs; the
 * results do not depend on the count). A progress bar with an ETA goes to
 * stderr when it is a terminal. Exit status: 0; 1 when the model cannot be
 * converted; 2 for a usage error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "calibration/npy.h"
#include "daemon/pool.h"
#include "engine/f32.h"
#include "engine/op.h"
#include "onnx/calib.h"
#include "onnx/cli.h"
#include "onnx/precision.h"

#define CALIB_CHUNK 32
#define MAX_SHAPES 64

static const char *argv0 = "dnnq-convert";

struct opts {
	const char *in, *out, *calib, *name, *keep_fp32;
	char out_default[4096];            /* IN's stem + .dnnq, when no -o */
	bool autom, report, json;
	bool prec_int8;                    /* --precision int8 (else auto) */
	int64_t created;                   /* the file's time (creation_time) */
	struct dnnq_precision_opts po;
	double acc16_threshold;
	struct dnnq_calib_opts c;
	struct dnnq_lower_opts lo;
	unsigned bins;
	struct dnnq_onnx_shape shapes[MAX_SHAPES];  /* --input-shape */
	size_t nshapes;
	struct dnnq_onnx_value values[MAX_SHAPES];  /* --input-value */
	size_t nvalues;
	size_t max_const_bytes;                     /* --max-constants (0: by the file) */
	const char *state[DNNQ_STATE_MAX];          /* --state OUT=IN */
	size_t nstate;
	bool state_none;                            /* --state none */
	uint32_t given;                             /* the long options given: 1 << (O_x - O_CALIB) */
	unsigned threads;
};

/* The long options without a short form, in the order of their bits in
 * struct opts' given. */
enum { O_CALIB = 256, O_METHOD, O_PCT, O_PERCH, O_SYMW, O_ASYMW, O_DYN, O_BITS, O_BINS, O_NAME,
       O_REPORT, O_JSON, O_ACC16, O_ACC16_TH, O_ACC16_NBITS, O_ACC16_SPILL,
       O_KEEP_FP32, O_INPUT_SHAPE, O_INPUT_VALUE, O_MAX_CONST, O_THREADS, O_PRECISION, O_FP32_TH,
       O_PREC_SAMPLES, O_SQNR_FLOOR, O_STATE };

#define GIVEN(o, opt) (((o)->given >> ((opt) - O_CALIB)) & 1)

static void usage(void)
{
	printf(
		"usage: %s IN.onnx [-o OUT.dnnq] [--calib PATH] [--method M] [--percentile P]\n"
		"                    [--per-channel] [--asymmetric-weights|--symmetric-weights]\n"
		"                    [--dynamic] [--bits N] [--bins N] [--name NAME] [--report]\n"
		"                    [--json] [--acc16[=auto]] [--acc16-threshold DB]\n"
		"                    [--acc16-nbits N] [--acc16-spill N] [--keep-fp32 NODE,...]\n"
		"                    [--input-shape NAME=D0xD1x...]... [--input-value NAME=V,...]...\n"
		"                    [--max-constants MiB]\n"
		"                    [--threads N] [--precision auto|int8] [--fp32-threshold DB]\n"
		"                    [--precision-samples N] [--sqnr-floor DB] [--state OUT=IN|none]...\n"
		"Converts an ONNX model to a .dnnq model: a float model is calibrated on the\n"
		"samples in PATH and quantized; an already-quantized model (QDQ, QLinearConv,\n"
		"QLinearMatMul, ConvInteger, MatMulInteger) keeps its parameters.\n"
		"  -o, --output FILE      the .dnnq model to write (default: IN with its\n"
		"                         extension replaced by .dnnq)\n"
		"  --calib PATH           a .npy of samples of the model's input ([n, ...], the\n"
		"                         ONNX layout), or a directory of such files; for a\n"
		"                         model with several inputs, a directory holding\n"
		"                         INPUT.npy for each input (optional for an input\n"
		"                         no node reads: zeros stand in for it)\n"
		"  --input-shape NAME=D0xD1x...\n"
		"                         fixes the symbolic dims of input NAME (repeatable;\n"
		"                         D0 is the batch, which stays symbolic; D1 for an\n"
		"                         LSTM's or GRU's X or state); without it the\n"
		"                         calibration samples' shape fixes them; a dim\n"
		"                         named as one they fix (or a sum of such names\n"
		"                         and integers) takes its value\n"
		"  --input-value NAME=V[,V...]\n"
		"                         freezes input NAME to these values (repeatable; as\n"
		"                         many as its elements, row-major; 0 or 1 for a bool\n"
		"                         input): it leaves the model's inputs, what reads it\n"
		"                         folds at import and an If whose condition it\n"
		"                         decides is inlined\n"
		"  --max-constants MiB    the most constants the import may hold, read and\n"
		"                         folded, 1..1024 (default: 16 times the model's bytes,\n"
		"                         at least 64 MiB, at most 1024)\n"
		"  --method M             minmax, percentile, l1, l2 (default), l2approx, kl, or\n"
		"                         auto: per tensor, the method with the best output SQNR\n"
		"  --percentile P         for --method percentile (default 99.99)\n"
		"  --per-channel          one weight scale per output channel\n"
		"  --asymmetric-weights   weight zero points fitted to each range (default:\n"
		"                         0, symmetric, as PyTorch and ONNX Runtime quantize\n"
		"                         weights; no activation sums in the GEMM)\n"
		"  --symmetric-weights    the default, spelled out\n"
		"  --dynamic              FC layers quantize their input at run time\n"
		"  --bits N               activation precision, 2..8 (default 8)\n"
		"  --bins N               histogram bins (default 2048; not for minmax)\n"
		"  --name NAME            the model's name (default: the ONNX graph's, or IN's\n"
		"                         stem for an exporter's generic name like torch_jit)\n"
		"  --acc16[=auto]         16-bit accumulation in every Conv/Gemm layer, or (auto,\n"
		"                         needs --calib) where the SQNR loss at the layer's\n"
		"                         output is below the threshold\n"
		"  --acc16-threshold DB   auto's largest loss, dB (default 0.5)\n"
		"  --acc16-nbits N        acc16 weights of N bits stay dense, 2..8 (default 7)\n"
		"  --acc16-spill N        K steps between 16-to-32-bit spills, 1..65535\n"
		"  --keep-fp32 NODE,...   run these ONNX nodes in fp32 (f32 weights and values;\n"
		"                         Quantize/Dequantize at their borders); * names all\n"
		"  --precision auto|int8  auto (default): with --calib, each node whose int8 form\n"
		"                         costs the outputs more SQNR than the threshold runs\n"
		"                         fp32, and a node int8 cannot represent (a bias beyond\n"
		"                         int32) runs fp32; int8: int8 wherever a kernel exists\n"
		"  --fp32-threshold DB    auto's largest int8 loss, dB (default 0.5)\n"
		"  --precision-samples N  auto measures on the first N samples (default 4; a\n"
		"                         stateful model's: all of them, closed loop)\n"
		"  --sqnr-floor DB        auto: when the outputs' SQNR all int8 is below DB, the\n"
		"                         fewest nodes that lift it there run fp32 too\n"
		"                         (default 20 at 8 bits, 25 for a stateful model, 6.02\n"
		"                         dB less per bit fewer with --bits; 0: off)\n"
		"  --state OUT=IN         output OUT is the state input IN takes at the next\n"
		"                         call (repeatable): the calibration samples are steps\n"
		"                         in order, and the outputs' SQNR and auto's trials run\n"
		"                         them closed loop, each step's IN the step before's OUT\n"
		"                         (a sample whose states are all zeros starts a stream).\n"
		"                         Default: the outputs whose name extends an input's, of\n"
		"                         its shape, where the samples chain (stateN of state,\n"
		"                         hn of h); none: no state\n"
		"  --report               per layer precision and SQNR, and the outputs' SQNR, on\n"
		"                         the calibration samples; the nodes folded or removed\n"
		"                         at import\n"
		"  --threads N            threads of the calibration and evaluation runs, 1..256\n"
		"                         (default: the online CPUs; results do not depend on it)\n"
		"  --json                 one JSON object on stdout\n"
		"  -h, --help             this text\n"
		"  --version              dnnq's version\n",
		argv0);
}

#define MAX_THREADS 256

/* --threads' default: the CPUs online, 1 if unknown, at most MAX_THREADS. */
static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

static int bad_option(const char *name, const char *value, const char *rule)
{
	return dnnq_usage_error(argv0, "--%s %s: %s", name, value, rule);
}

/* IN with its extension (if any) replaced by .dnnq, in IN's directory. */
static const char *default_output(struct opts *o)
{
	const char *base = strrchr(o->in, '/') ? strrchr(o->in, '/') + 1 : o->in;
	const char *dot = strrchr(base, '.');
	int n = dot && dot != base ? (int)(dot - o->in) : (int)strlen(o->in);
	snprintf(o->out_default, sizeof o->out_default, "%.*s.dnnq", n, o->in);
	return o->out_default;
}

/* The SQNR floor at 8 bits, less what each bit fewer (--bits) costs. */
static double default_floor(const struct opts *o, double at8)
{
	return fmax(0, at8 - DNNQ_DB_PER_BIT * (8 - o->c.spec.precision));
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "calib", required_argument, NULL, O_CALIB },
		{ "method", required_argument, NULL, O_METHOD },
		{ "percentile", required_argument, NULL, O_PCT },
		{ "per-channel", no_argument, NULL, O_PERCH },
		{ "symmetric-weights", no_argument, NULL, O_SYMW },
		{ "asymmetric-weights", no_argument, NULL, O_ASYMW },
		{ "dynamic", no_argument, NULL, O_DYN },
		{ "bits", required_argument, NULL, O_BITS },
		{ "bins", required_argument, NULL, O_BINS },
		{ "name", required_argument, NULL, O_NAME },
		{ "report", no_argument, NULL, O_REPORT },
		{ "json", no_argument, NULL, O_JSON },
		{ "acc16", optional_argument, NULL, O_ACC16 },
		{ "acc16-threshold", required_argument, NULL, O_ACC16_TH },
		{ "acc16-nbits", required_argument, NULL, O_ACC16_NBITS },
		{ "acc16-spill", required_argument, NULL, O_ACC16_SPILL },
		{ "keep-fp32", required_argument, NULL, O_KEEP_FP32 },
		{ "input-shape", required_argument, NULL, O_INPUT_SHAPE },
		{ "input-value", required_argument, NULL, O_INPUT_VALUE },
		{ "max-constants", required_argument, NULL, O_MAX_CONST },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "precision", required_argument, NULL, O_PRECISION },
		{ "fp32-threshold", required_argument, NULL, O_FP32_TH },
		{ "precision-samples", required_argument, NULL, O_PREC_SAMPLES },
		{ "sqnr-floor", required_argument, NULL, O_SQNR_FLOOR },
		{ "state", required_argument, NULL, O_STATE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct opts){ .c = { .method = DNNQ_CALIB_L2,
	                           .spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false } },
	                    .lo = { .symmetric_weights = true },
                    .po = { .threshold_db = DNNQ_FP32_THRESHOLD_DB,
                            .samples = DNNQ_PRECISION_SAMPLES,
                            .floor_db = DNNQ_PRECISION_FLOOR_DB },
	                    .acc16_threshold = DNNQ_ACC16_THRESHOLD_DB, .threads = online_cpus() };
	int ch, moved = 0;
	uint64_t b;
	opterr = 0;	/* bad_usage names the option, with the one meant */
	while ((ch = dnnq_getopt_long(argc, argv, "o:h", lopts, &moved)) != -1) {
		if (ch >= O_CALIB)
			o->given |= 1u << (ch - O_CALIB);
		switch (ch) {
		case 'o': o->out = optarg; break;
		case O_CALIB: o->calib = optarg; break;
		case O_METHOD:
			o->autom = !strcmp(optarg, "auto");
			if (!o->autom && dnnq_calib_method_parse(optarg, &o->c.method))
				return bad_option("method", optarg, "minmax, percentile, l1, l2,"
				                  " l2approx, kl or auto");
			break;
		case O_PCT:
			if (dnnq_usage_real(argv0, "--percentile", optarg, 50, 100, false, &o->c.percentile))
				return 2;
			break;
		case O_PERCH: o->lo.per_channel = true; break;
		case O_SYMW: o->lo.symmetric_weights = true; break;
		case O_ASYMW: o->lo.symmetric_weights = false; break;
		case O_DYN: o->lo.dynamic = true; break;
		case O_BITS:
			if (dnnq_usage_digits(argv0, "--bits", optarg, 2, 8, &b))
				return 2;
			o->c.spec.precision = (uint8_t)b;
			break;
		case O_BINS:
			if (dnnq_usage_digits(argv0, "--bins", optarg, DNNQ_HIST_MIN_BINS, 1 << 20, &b))
				return 2;
			o->bins = (unsigned)b;
			break;
		case O_NAME: o->name = optarg; break;
		case O_KEEP_FP32:
			if (!optarg[strspn(optarg, ",")])
				return bad_option("keep-fp32", optarg, "node names (NODE,...) or '*'");
			o->keep_fp32 = optarg;
			break;
		case O_INPUT_SHAPE: {
			struct dnnq_diag d = { "" };
			if (o->nshapes == MAX_SHAPES)
				return bad_option("input-shape", optarg, "given more than 64 times");
			if (dnnq_input_shape_parse(optarg, &o->shapes[o->nshapes++], &d))
				return bad_option("input-shape", optarg, d.msg);
			break;
		}
		case O_INPUT_VALUE: {
			struct dnnq_diag d = { "" };
			if (o->nvalues == MAX_SHAPES)
				return bad_option("input-value", optarg, "given more than 64 times");
			if (dnnq_input_value_parse(optarg, &o->values[o->nvalues++], &d))
				return bad_option("input-value", optarg, d.msg);
			break;
		}
		case O_MAX_CONST: {
			struct dnnq_diag d = { "" };
			if (dnnq_max_constants_parse(optarg, &o->max_const_bytes, &d))
				return bad_option("max-constants", optarg, d.msg);
			break;
		}
		case O_REPORT: o->report = true; break;
		case O_JSON: o->json = true; dnnq_json_failures(); break;
		case O_ACC16:
			if (optarg && strcmp(optarg, "auto"))
				return bad_option("acc16", optarg, "no value (every layer) or auto");
			o->lo.acc16 = optarg ? DNNQ_ACC16_AUTO : DNNQ_ACC16_ON;
			break;
		case O_ACC16_TH:
			if (dnnq_usage_real(argv0, "--acc16-threshold", optarg, 0, 100, false, &o->acc16_threshold))
				return 2;
			break;
		case O_ACC16_NBITS:
			if (dnnq_usage_digits(argv0, "--acc16-nbits", optarg, 2, 8, &b))
				return 2;
			o->lo.acc16_opts.nbits = (unsigned)b;
			break;
		case O_ACC16_SPILL:
			if (dnnq_usage_digits(argv0, "--acc16-spill", optarg, 1, 65535, &b))
				return 2;
			o->lo.acc16_opts.spill = (unsigned)b;
			break;
		case O_THREADS:
			if (dnnq_usage_digits(argv0, "--threads", optarg, 1, MAX_THREADS, &b))
				return 2;
			o->threads = (unsigned)b;
			break;
		case O_PRECISION:
			if (strcmp(optarg, "auto") && strcmp(optarg, "int8"))
				return bad_option("precision", optarg, "auto or int8");
			o->prec_int8 = !strcmp(optarg, "int8");
			break;
		case O_FP32_TH:
			if (dnnq_usage_real(argv0, "--fp32-threshold", optarg, 0, 100, false, &o->po.threshold_db))
				return 2;
			break;
		case O_PREC_SAMPLES:
			if (dnnq_usage_digits(argv0, "--precision-samples", optarg, 1, 65536, &b))
				return 2;
			o->po.samples = (size_t)b;
			break;
		case O_SQNR_FLOOR:
			if (dnnq_usage_real(argv0, "--sqnr-floor", optarg, 0, 100, false, &o->po.floor_db))
				return 2;
			break;
		case O_STATE:
			if (!strcmp(optarg, "none")) {
				o->state_none = true;
			} else if (!strchr(optarg, '=')) {
				return bad_option("state", optarg, "OUT=IN (a graph output, the input it"
				                  " feeds at the next call) or none");
			} else {
				if (o->nstate == DNNQ_STATE_MAX)
					return bad_option("state", optarg, "given more than 64 times");
				o->state[o->nstate++] = optarg;
			}
			break;
		case 'h': usage(); exit(0);
		case 'V': printf("%s %s\n", argv0, DNNQ_VERSION); exit(0);
		default: {
			char why[256];
			dnnq_getopt_error(argv, "o:h", lopts, why, sizeof why);
			fprintf(stderr, "%s: %s (try --help)\n", argv0, why);
			return 2;
		}
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "%s: %s (try --help)\n", argv0,
		        optind >= argc ? "no input model" : "one input model only");
		return 2;
	}
	o->in = argv[optind];
	/* the default floor follows --bits: each bit fewer costs about 6 dB,
	 * which the user asked for */
	if (!GIVEN(o, O_SQNR_FLOOR))
		o->po.floor_db = default_floor(o, DNNQ_PRECISION_FLOOR_DB);
	bool named = o->out;
	if (!named)
		o->out = default_output(o);
	/* -o naming the model itself (a slip of the shell's completion), or
	 * an ONNX file named .dnnq, would have the .dnnq written over it */
	struct stat si, so;
	if (!stat(o->in, &si) && !stat(o->out, &so) && si.st_dev == so.st_dev &&
	    si.st_ino == so.st_ino) {
		dnnq_tool_line(argv0, "%s %s is the input model: the output would overwrite it (%s)",
		               named ? "-o" : "the default output", o->out,
		               named ? "try --help" : "name another with -o");
		return 2;
	}
	bool acc16_auto = o->lo.acc16 == DNNQ_ACC16_AUTO, state = o->nstate || o->state_none;
	if ((o->autom || o->report || acc16_auto || state) && !o->calib) {
		fprintf(stderr, "%s: --%s needs --calib (try --help)\n", argv0,
		        o->autom ? "method auto" : acc16_auto ? "acc16=auto" : o->report ? "report"
		                                                                          : "state");
		return 2;
	}
	/* an option that tunes a step this run does not take would be ignored
	 * without a word: refuse it, naming what it needs */
	bool calib = o->calib, auto_prec = calib && !o->prec_int8;
	bool acc16 = o->lo.acc16 != DNNQ_ACC16_OFF;
	const struct { int opt; bool used; const char *name, *needs; } tuning[] = {
		{ O_METHOD, calib, "method", "--calib" },
		{ O_BINS, calib && (o->autom || o->c.method != DNNQ_CALIB_MINMAX), "bins",
		  "--calib and a --method other than minmax (whose range is the samples' own)" },
		{ O_BITS, calib, "bits", "--calib" },
		{ O_PCT, calib && (o->autom || o->c.method == DNNQ_CALIB_PERCENTILE), "percentile",
		  "--calib and --method percentile (or auto)" },
		{ O_ACC16_TH, acc16_auto, "acc16-threshold", "--acc16=auto" },
		{ O_ACC16_NBITS, acc16, "acc16-nbits", "--acc16 or --acc16=auto" },
		{ O_ACC16_SPILL, acc16, "acc16-spill", "--acc16 or --acc16=auto" },
		{ O_FP32_TH, auto_prec, "fp32-threshold", "--calib and --precision auto (the default)" },
		{ O_PREC_SAMPLES, auto_prec, "precision-samples",
		  "--calib and --precision auto (the default)" },
		{ O_SQNR_FLOOR, auto_prec, "sqnr-floor", "--calib and --precision auto (the default)" },
	};
	for (size_t i = 0; i < sizeof tuning / sizeof tuning[0]; i++) {
		if (GIVEN(o, tuning[i].opt) && !tuning[i].used) {
			fprintf(stderr, "%s: --%s needs %s: without it, it changes nothing (try --help)\n",
			        argv0, tuning[i].name, tuning[i].needs);
			return 2;
		}
	}
	if (o->nstate && o->state_none) {
		return dnnq_usage_error(argv0, "--state none and --state %s: one or the other",
		                        o->state[0]);
	}
	o->lo.name = o->name;
	return 0;
}

/* A name from the ONNX file as the terminal may show it (dnnq_escape);
 * one buffer per slot, so a line can hold two. */
static const char *shown(const char *name, int slot)
{
	static char buf[2][256];
	dnnq_escape(buf[slot], sizeof buf[slot], name);
	return buf[slot];
}

static int fail(const char *what, const struct dnnq_diag *d)
{
	fprintf(stderr, "%s: %s: %s\n", argv0, what, d->msg);
	return 1;
}

/* One input's samples from path (*x: free it), n of them: floats, or an
 * int32 input's int32s (an int64 file read as int32). */
static int load_samples(const char *path, const struct dnnq_ir_value *in, void **x, size_t *n,
                        struct dnnq_diag *d)
{
	void *buf = NULL;
	struct dnnq_npy a;
	bool ints = in->dtype == DNNQ_IR_S32;
	int rc = dnnq_npy_load_batch(path, in->ndim, in->dims, false, &buf, &a, d);
	if (!rc && ints && a.dtype != DNNQ_DTYPE_S32)
		rc = dnnq_diag_set(d, DNNQ_E_DTYPE, "%s: %s, input '%s' takes int32 (or int64)", path,
		                   dnnq_dtype_name(a.dtype), in->name);
	/* integers for a float input are refused, as dnnq-run and dnnqctl
	 * refuse them: raw uint8 pixels for a model that normalizes first would
	 * calibrate it on the wrong range without a word */
	if (!rc && in->dtype == DNNQ_IR_F32)
		rc = dnnq_npy_check_dtype(&a, path, in->name, DNNQ_DTYPE_F32, false, d);
	*x = rc ? NULL : malloc(a.count * 4);
	if (!rc && !*x)
		rc = dnnq_diag_set(d, DNNQ_E_NOMEM, "%s: out of memory", path);
	if (!rc) {
		if (dnnq_npy_narrowed(&a))
			dnnq_tool_line(argv0, "%s: %s", path, dnnq_npy_narrowed(&a));
		if (ints)
			memcpy(*x, a.data, a.nbytes);
		else
			dnnq_npy_to_f32(&a, *x);
		*n = a.shape[0];
	}
	free(buf);
	return rc;
}

/* Where the calibration is: file f of npaths, samples [s, s + k) of its n;
 * the reference reports its work done of that chunk's (onnx/calib.h). */
struct calib_at {
	struct dnnq_progress bar;
	size_t f, npaths, s, k, n;
};

static void on_node(void *ctx, size_t done, size_t total)
{
	struct calib_at *a = ctx;
	double in_file = ((double)a->s + (double)a->k * (double)done / (double)total) / (double)a->n;
	dnnq_progress_update(&a->bar, (size_t)(((double)a->f + in_file) * 1000), a->npaths * 1000);
}

static void bar_start(const struct opts *o, struct dnnq_onnx_calib *c, struct calib_at *at)
{
	dnnq_progress_start(&at->bar, "calibrating", o->json);
	c->progress = on_node;
	c->progress_ctx = at;
}

static void bar_end(struct dnnq_onnx_calib *c, struct calib_at *at)
{
	c->progress = NULL;
	dnnq_progress_end(&at->bar);
}

/* The samples of a model with one input: each file of the list in chunks. */
static int calibrate_one(const struct opts *o, struct dnnq_onnx_calib *c, struct dnnq_diag *d)
{
	char **paths;
	struct calib_at at = { .n = 1 };
	int rc = dnnq_npy_list(o->calib, &paths, &at.npaths, d);
	if (rc)
		return rc;
	bar_start(o, c, &at);
	for (at.f = 0; !rc && at.f < at.npaths; at.f++) {
		void *x = NULL;
		rc = load_samples(paths[at.f], &c->ir->values[c->ir->inputs[0]], &x, &at.n, d);
		for (at.s = 0; !rc && at.s < at.n; at.s += CALIB_CHUNK) {
			at.k = at.n - at.s < CALIB_CHUNK ? at.n - at.s : CALIB_CHUNK;
			const void *xs[1] = { (const uint8_t *)x + at.s * c->x_numel[0] * 4 };
			rc = dnnq_onnx_calib_add(c, xs, at.k, d);
		}
		free(x);
	}
	bar_end(c, &at);
	for (size_t f = 0; f < at.npaths; f++)
		free(paths[f]);
	free(paths);
	return rc;
}

/* A float input whose samples held no finite value has no range (the
 * lowering would say only that it lacks quantization parameters). */
static int check_finite(const struct opts *o, const struct dnnq_onnx_calib *c,
                        struct dnnq_diag *d)
{
	for (size_t i = 0; i < c->ir->ninputs; i++) {
		const struct dnnq_hist *h = &c->hist[c->ir->inputs[i]];
		if (h->counts && !h->nfinite)
			return dnnq_diag_set(d, DNNQ_E_RANGE, "--calib %s: input '%s': no finite value"
			                     " in its samples (NaN or infinity only)", o->calib,
			                     shown(c->ir->values[c->ir->inputs[i]].name, 0));
	}
	return 0;
}

/* A node reading or writing a value whose samples held no finite value
 * (NaN or infinity only: the determinant of matrices holding inf) has no
 * int8 range: with --precision auto it runs fp32 (*keep, allocated when
 * NULL), as a node reading an inf or NaN constant does (onnx/lower.c
 * fp32_only), said on stderr; with int8 it is refused, named (the
 * lowering would say only that the value lacks quantization parameters). */
static int nonfinite_fp32(const struct opts *o, const struct dnnq_onnx_calib *c, bool **keep,
                          struct dnnq_diag *d)
{
	const struct dnnq_ir *ir = c->ir;
	for (size_t j = 0; j < ir->nnodes; j++) {
		const struct dnnq_ir_node *n = &ir->nodes[j];
		int32_t v = -1;
		for (uint32_t i = 0; v < 0 && i < n->ninputs + n->noutputs; i++) {
			int32_t k = i < n->ninputs ? n->inputs[i] : n->outputs[i - n->ninputs];
			const struct dnnq_hist *h = k >= 0 ? &c->hist[k] : NULL;
			if (h && !h->nfinite && h->nnan + h->nposinf + h->nneginf)
				v = k;
		}
		if (v < 0 || !dnnq_onnx_has_fp32_form(n->op) || (*keep && (*keep)[j]))
			continue;       /* a reshape follows its input's precision */
		if (o->prec_int8)
			return dnnq_diag_set(d, DNNQ_E_RANGE, "node '%s': value '%s' held no finite value"
			                     " on the calibration samples (NaN or infinity only): no int8 "
			                     "range holds it (--keep-fp32 names the nodes to run fp32)",
			                     shown(n->name, 0), shown(ir->values[v].name, 1));
		if (!*keep && !(*keep = calloc(ir->nnodes + 1, sizeof **keep)))
			return dnnq_diag_set(d, DNNQ_E_NOMEM, "out of memory");
		(*keep)[j] = true;
		dnnq_tool_line(argv0, "warning: %s: node '%s' runs fp32: value '%s' held no finite "
		               "value on the calibration samples (NaN or infinity only)", o->in, n->name,
		               ir->values[v].name);
	}
	return 0;
}

/* "'ids', 'mask'": the model's input names, for a message. */
static const char *input_names(const struct dnnq_ir *ir)
{
	static char buf[256];
	size_t k = 0;
	buf[0] = 0;
	for (size_t i = 0; i < ir->ninputs && k < sizeof buf; i++)
		k += (size_t)snprintf(buf + k, sizeof buf - k, "%s'%s'", i ? ", " : "",
		                      shown(ir->values[ir->inputs[i]].name, 0));
	return buf;
}

/* A model with several inputs: the directory holds NAME.npy for each; one
 * of an input no node reads may be missing (zeros stand in for it). */
static int calibrate_many(const struct opts *o, struct dnnq_onnx_calib *c, const bool *unread,
                          struct dnnq_diag *d)
{
	const struct dnnq_ir *ir = c->ir;
	struct stat st;
	if (stat(o->calib, &st) == 0 && !S_ISDIR(st.st_mode))
		return dnnq_diag_set(d, DNNQ_E_INVAL, "--calib %s: the model has %zu inputs (%s): give"
		                     " a directory holding INPUT.npy for each", o->calib, ir->ninputs,
		                     input_names(ir));
	void **x = calloc(ir->ninputs, sizeof *x);
	size_t n = 0, given = 0;
	int rc = x ? 0 : dnnq_diag_set(d, DNNQ_E_NOMEM, "out of memory");
	for (size_t i = 0; !rc && i < ir->ninputs; i++) {
		const struct dnnq_ir_value *in = &ir->values[ir->inputs[i]];
		char path[4096];
		size_t k = 0;
		/* the name is the ONNX file's: a '/' in it would leave the
		 * directory ("../../x"), a cut path lose its ".npy" */
		if (strchr(in->name, '/') || snprintf(path, sizeof path, "%s/%s.npy", o->calib,
		                                      in->name) >= (int)sizeof path)
			rc = dnnq_diag_set(d, DNNQ_E_INVAL, "input '%s': not a file name in --calib "
			                   "%s (a '/', or too long)", in->name, o->calib);
		if (!rc && access(path, F_OK) && unread[i]) {
			dnnq_tool_line(argv0, "note: --calib %s: no %s.npy: input '%s' is read by no "
			               "node, zeros stand in for it", o->calib, in->name, in->name);
			continue;
		}
		if (!rc && access(path, F_OK))
			rc = dnnq_diag_set(d, DNNQ_E_IO, "--calib %s: no %s.npy for input '%s' (the model's"
			                   " inputs: %s; one INPUT.npy each)", o->calib, in->name, in->name,
			                   input_names(ir));
		if (!rc)
			rc = load_samples(path, in, &x[i], &k, d);
		if (!rc && given++ && k != n)
			rc = dnnq_diag_set(d, DNNQ_E_SHAPE, "%s: %zu samples, the other inputs' %zu",
			                   path, k, n);
		n = k;
	}
	if (!rc && !given)
		rc = dnnq_diag_set(d, DNNQ_E_IO, "--calib %s: no INPUT.npy of the model's inputs (%s)",
		                   o->calib, input_names(ir));
	for (size_t i = 0; !rc && i < ir->ninputs; i++)
		if (!x[i] && !(x[i] = calloc(n * c->x_numel[i] + 1, 4)))
			rc = dnnq_diag_set(d, DNNQ_E_NOMEM, "out of memory");
	if (!rc) {
		struct calib_at at = { .npaths = 1, .k = n, .n = n };
		bar_start(o, c, &at);
		rc = dnnq_onnx_calib_add(c, (const void *const *)x, n, d);
		bar_end(c, &at);
	}
	for (size_t i = 0; x && i < ir->ninputs; i++)
		free(x[i]);
	free(x);
	return rc;
}

/* A stateful model's links: --state's, or those detected whose samples
 * chain; the detected ones that do not, for the summary. */
struct states {
	struct dnnq_onnx_state on[DNNQ_STATE_MAX], off[DNNQ_STATE_MAX];
	size_t non, noff;
};

/* --state's links into st->on (before the calibration: a typo costs
 * nothing). */
static int parse_state(const struct opts *o, const struct dnnq_ir *ir, struct states *st,
                       struct dnnq_diag *d)
{
	st->non = st->noff = 0;
	for (size_t i = 0; i < o->nstate; i++) {
		int rc = dnnq_onnx_state_parse(ir, o->state[i], &st->on[st->non++], d);
		if (rc)
			return rc;
	}
	return 0;
}

/* The state links set on c (onnx/calib.h dnnq_onnx_calib_state): st's
 * parsed by parse_state, or those detected; its evaluations and trials
 * run closed loop from now on. */
static int set_state(const struct opts *o, struct dnnq_onnx_calib *c, struct states *st,
                     struct dnnq_diag *d)
{
	struct dnnq_onnx_state found[DNNQ_STATE_MAX];
	size_t n = st->non;
	if (o->state_none)
		return 0;
	memcpy(found, st->on, n * sizeof *found);
	if (!o->nstate)
		n = dnnq_onnx_state_detect(c->ir, found, DNNQ_STATE_MAX);
	st->non = 0;
	for (size_t i = 0; i < n; i++) {
		found[i].chain_db = dnnq_onnx_state_chain_db(c, &found[i]);
		if (!found[i].detected || found[i].chain_db >= DNNQ_STATE_CHAIN_DB)
			st->on[st->non++] = found[i];
		else
			st->off[st->noff++] = found[i];
	}
	return dnnq_onnx_calib_state(c, st->on, st->non, d);
}

/* The links, a line each, or "state":{...}; nothing without one. */
static void print_state(const struct opts *o, const struct dnnq_onnx_calib *c,
                        const struct states *st)
{
	const struct dnnq_ir *ir = c->ir;
	if (st->non + st->noff == 0)
		return;
	if (o->json) {
		printf(",\"state\":{\"steps\":%zu,\"links\":[", st->non ? c->samples : 0);
		for (size_t k = 0; k < st->non + st->noff; k++) {
			const struct dnnq_onnx_state *s = k < st->non ? &st->on[k] : &st->off[k - st->non];
			printf("%s{\"output\":", k ? "," : "");
			dnnq_json_string(stdout, ir->values[ir->outputs[s->out]].name);
			printf(",\"input\":");
			dnnq_json_string(stdout, ir->values[ir->inputs[s->in]].name);
			printf(",\"detected\":%s,\"fed_back\":%s,\"chain_db\":",
			       s->detected ? "true" : "false", k < st->non ? "true" : "false");
			dnnq_json_number(stdout, s->chain_db, 3);
			printf("}");
		}
		printf("]}");
		return;
	}
	char why[96];
	for (size_t k = 0; k < st->non; k++) {
		if (isnan(st->on[k].chain_db))
			snprintf(why, sizeof why, "no sample continues another's state");
		else
			snprintf(why, sizeof why, "the samples chain at %.1f dB", st->on[k].chain_db);
		printf("state: output '%s' feeds input '%s' at the next call (%s; %s): the %zu samples "
		       "run closed loop\n", shown(ir->values[ir->outputs[st->on[k].out]].name, 0),
		       shown(ir->values[ir->inputs[st->on[k].in]].name, 1),
		       st->on[k].detected ? "found by name and shape" : "--state", why, c->samples);
	}
	for (size_t k = 0; k < st->noff; k++) {
		if (isnan(st->off[k].chain_db))
			snprintf(why, sizeof why, "no sample continues another's state");
		else
			snprintf(why, sizeof why, "the samples do not chain (%.1f dB, below %.0f)",
			         st->off[k].chain_db, DNNQ_STATE_CHAIN_DB);
		printf("state: output '%s' is not fed back to input '%s': %s; --state to insist\n",
		       shown(ir->values[ir->outputs[st->off[k].out]].name, 0),
		       shown(ir->values[ir->inputs[st->off[k].in]].name, 1), why);
	}
}

static void on_trial(void *ctx, size_t done, size_t total)
{
	dnnq_progress_update(ctx, done, total);
}

/* Now, in unix seconds, or SOURCE_DATE_EPOCH when set (reproducible
 * builds) into *t: 0; DNNQ_E_INVAL after saying why when it is no number
 * of seconds (strtoll's text was taken as now: a file meant to be
 * reproducible was not, silently). Read before the conversion's work. */
static int creation_time(int64_t *t)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	struct dnnq_diag d;
	uint64_t v;
	if (!e || !*e) {
		*t = (int64_t)time(NULL);
		return 0;
	}
	if (dnnq_opt_digits(&d, "SOURCE_DATE_EPOCH", e, 0, INT64_MAX, &v)) {
		dnnq_tool_line(argv0, "%s (seconds since 1970; unset it for now)", d.msg);
		return DNNQ_E_INVAL;
	}
	*t = (int64_t)v;
	return 0;
}

/* The file, whole, under a temporary name renamed over path. */
static int write_model(const char *path, const struct dnnq_model *m, struct dnnq_diag *d)
{
	void *buf;
	size_t len;
	if (m->nnodes > DNNQ_MODEL_MAX_NODES)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "%s: the lowered model has %zu nodes: a .dnnq"
		                     " holds at most %d (dnnqd refuses more)", path, m->nnodes,
		                     DNNQ_MODEL_MAX_NODES);
	int rc = dnnq_model_write(m, &buf, &len, d);
	if (rc)
		return rc;
	rc = dnnq_file_replace(path, buf, len, d);
	free(buf);
	return rc;
}

/* The acc16 entry of model node j, or NULL (not conv or fc). */
static const struct dnnq_acc16_layer *acc16_layer(const struct dnnq_acc16_layer *l, size_t nl,
                                                  size_t j)
{
	for (size_t i = 0; i < nl; i++)
		if (l[i].node == j)
			return &l[i];
	return NULL;
}

static void json_acc16(const struct dnnq_acc16_layer *a)
{
	printf(",\"accumulation\":\"%s\",\"outlier_density\":", a->acc16 ? "acc16" : "acc32");
	dnnq_json_number(stdout, a->applicable ? a->outlier_density : NAN, 6);
	printf(",\"saturation_rate\":");
	dnnq_json_number(stdout, a->saturation, 9);
	if (!isnan(a->sqnr_db_acc16)) {
		printf(",\"sqnr_db_acc32\":");
		dnnq_json_number(stdout, a->sqnr_db_acc32, 3);
		printf(",\"sqnr_db_acc16\":");
		dnnq_json_number(stdout, a->sqnr_db_acc16, 3);
	}
}

/* "acc16 0.12% 1.3e-06 0.02": accumulation, outlier density, saturation
 * rate and (auto) the SQNR loss acc16 alone costs at the layer's output. */
static void text_acc16(const struct dnnq_acc16_layer *a)
{
	if (!a) {
		printf(" %-6s %10s %10s %10s", "", "", "", "");
		return;
	}
	printf(" %-6s", a->acc16 ? "acc16" : "acc32");
	if (a->applicable)
		printf(" %9.3f%%", 100 * a->outlier_density);
	else
		printf(" %10s", "dw");
	if (isnan(a->saturation))
		printf(" %10s", "-");
	else
		printf(" %10.3g", a->saturation);
	if (isnan(a->sqnr_db_acc16))
		printf(" %10s", "-");
	else
		printf(" %10.2f", a->sqnr_db_acc32 - a->sqnr_db_acc16);
}

/* "int8" or "fp32" for a kind with arithmetic; NULL for one without
 * (convert, reshape), whose precision means nothing. */
static const char *node_precision(uint32_t kind, uint32_t precision)
{
	return dnnq_op_has(dnnq_op_get(kind), DNNQ_A_PRECISION) ? dnnq_precision_name(precision)
	                                                         : NULL;
}

/* --precision auto's outcome. */
struct prec {
	struct dnnq_diag *refused;        /* ir.nnodes: why int8 refused a node ("": not) */
	bool *fp32;                       /* ir.nnodes: the nodes measured into fp32 */
	struct dnnq_precision_unit *units;
	size_t nunits, samples;
	struct dnnq_precision_opts po;    /* what auto ran with */
	double int8_db;                   /* all int8 on those samples */
	struct dnnq_precision_cost cost;  /* what the trials ran */
};

/* With --calib, each unit's precision measured (onnx/precision.h): lo's
 * fp32 nodes become the choice. */
static int choose_precision(const struct opts *o, struct dnnq_onnx_calib *c,
                            const enum dnnq_calib_method *method, struct dnnq_lower_opts *lo,
                            struct prec *p, struct dnnq_diag *d)
{
	if (!(p->fp32 = calloc(c->ir->nnodes + 1, sizeof *p->fp32)))
		return dnnq_diag_set(d, DNNQ_E_NOMEM, "out of memory");
	struct dnnq_progress bar;
	p->po = o->po;
	if (c->nstate && !GIVEN(o, O_PREC_SAMPLES))
		p->po.samples = c->samples;     /* the steps that accumulate the error */
	if (c->nstate && !GIVEN(o, O_SQNR_FLOOR))
		p->po.floor_db = default_floor(o, DNNQ_PRECISION_STATE_FLOOR_DB);
	dnnq_progress_start(&bar, "choosing precisions", o->json);
	int rc = dnnq_onnx_precision_auto(c, &o->c, method, lo, &p->po, p->fp32, &p->units,
	                                  &p->nunits, &p->int8_db, &p->cost, on_trial, &bar, d);
	dnnq_progress_end(&bar);
	p->samples = p->po.samples < c->samples ? p->po.samples : c->samples;
	lo->fp32_nodes = p->fp32;
	return rc;
}

/* The measured unit whose lowered node is named name, or NULL. */
static const struct dnnq_precision_unit *unit_named(const struct dnnq_ir *ir,
                                                   const struct prec *p, const char *name)
{
	for (size_t i = 0; i < p->nunits; i++)
		if (!isnan(p->units[i].loss_db) && !strcmp(ir->nodes[p->units[i].last].name, name))
			return &p->units[i];
	return NULL;
}

static int report(const struct opts *o, const struct dnnq_onnx_calib *c,
                  const struct dnnq_model *m, double out_db,
                  const struct dnnq_acc16_layer *acc, size_t nacc, const struct prec *p,
                  struct dnnq_diag *d)
{
	struct dnnq_graph *g = NULL;
	int rc = dnnq_model_build(m, dnnq_isa_best(), &g, d);
	if (!rc)
		rc = dnnq_graph_plan(g, c->samples, dnnq_executor_threads(c->ex), d);
	size_t nn = rc ? 0 : dnnq_graph_num_nodes(g), nout = rc ? 0 : dnnq_graph_num_outputs(g);
	struct dnnq_node_report *r = calloc(nn ? nn : 1, sizeof *r);
	void **y = calloc(nout ? nout : 1, sizeof *y);
	if (!rc && (!r || !y))
		rc = dnnq_diag_set(d, DNNQ_E_NOMEM, "report: out of memory");
	for (size_t k = 0; !rc && k < nout; k++) {
		struct dnnq_tensor_info ti;
		dnnq_graph_output_info(g, k, &ti);
		if (!(y[k] = malloc(ti.bytes)))
			rc = dnnq_diag_set(d, DNNQ_E_NOMEM, "report: out of memory");
	}
	if (!rc && (rc = dnnq_graph_shadow(g, (const void *const *)c->x, (void *const *)y, c->ex,
	                                   r)))
		dnnq_diag_set(d, rc, "report: the shadow run failed");
	for (size_t i = 0; !rc && i < nn; i++) {
		if (o->json) {
			printf("%s{\"name\":", i ? "," : "");
			dnnq_json_string(stdout, r[i].name);
			printf(",\"kind\":\"%s\",", dnnq_node_kind_name(r[i].kind));
			const char *prec = node_precision(r[i].kind, r[i].precision);
			if (prec)
				printf("\"precision\":\"%s\",", prec);
			printf("\"sqnr_db\":");
			dnnq_json_number(stdout, r[i].sqnr_db, 3);
			printf(",\"local_sqnr_db\":");
			dnnq_json_number(stdout, r[i].local_sqnr_db, 3);
			const struct dnnq_precision_unit *u = unit_named(c->ir, p, r[i].name);
			if (u) {
				printf(",\"int8_loss_db\":");
				dnnq_json_number(stdout, u->loss_db, 3);
			}
			const struct dnnq_acc16_layer *a = acc16_layer(acc, nacc, i);
			if (a)
				json_acc16(a);
			printf("}");
		} else {
			if (i == 0) {
				printf("%-32s %-12s %-5s %10s %10s %10s", "layer", "kind", "prec", "SQNR dB",
				       "local dB", "int8 loss");
				if (nacc)
					printf(" %-6s %11s %10s %10s", "accum", "outliers", "sat rate",
					       "acc16 loss");
				printf("\n");
			}
			const char *prec = node_precision(r[i].kind, r[i].precision);
			const struct dnnq_precision_unit *u = unit_named(c->ir, p, r[i].name);
			printf("%-32s %-12s %-5s %10.2f %10.2f", shown(r[i].name, 0),
			       dnnq_node_kind_name(r[i].kind),
			       prec ? prec : "-", r[i].sqnr_db, r[i].local_sqnr_db);
			if (u)
				printf(" %10.2f", u->loss_db);
			else
				printf(" %10s", "-");
			if (nacc)
				text_acc16(acc16_layer(acc, nacc, i));
			printf("\n");
		}
	}
	if (!rc && !o->json)
		printf("outputs against the fp32 ONNX model: %.2f dB on %zu samples\n", out_db,
		       c->samples);
	for (size_t k = 0; y && k < nout; k++)
		free(y[k]);
	free(y);
	free(r);
	dnnq_graph_destroy(g);
	return rc;
}

/* What the lowering made of the model: nodes by precision, the converts
 * (Quantize, Dequantize) at the borders of int8 and fp32, and how many of
 * the converts change the layout (NCHW to the engine's NHWC and back). */
struct census {
	size_t int8, fp32, converts, layout;
};

static struct census count_nodes(const struct dnnq_model *m)
{
	struct census c = { 0 };
	for (size_t j = 0; j < m->nnodes; j++) {
		const struct dnnq_model_node *n = &m->nodes[j];
		if (n->kind == DNNQ_NODE_CONVERT) {
			c.converts++;
			c.layout += n->op != DNNQ_CONVERT_QUANTIZE && n->op != DNNQ_CONVERT_DEQUANTIZE;
		} else if (node_precision(n->kind, n->precision)) {
			c.fp32 += n->precision == DNNQ_PRECISION_FP32;
			c.int8 += n->precision != DNNQ_PRECISION_FP32;
		}
	}
	return c;
}

/* Calls f (unless NULL) for each op type of the nodes the importer settled
 * in way `how`, in first-seen order, with their count; the number of such
 * nodes. */
static size_t settled_counts(const struct dnnq_ir *ir, enum dnnq_ir_settled how,
                             void (*f)(size_t k, const char *op, size_t n))
{
	size_t total = 0, k = 0;
	for (size_t i = 0; i < ir->nremoved; i++) {
		const struct dnnq_ir_removed *r = &ir->removed[i];
		bool first = r->how == how;
		for (size_t j = 0; first && j < i; j++)
			first = ir->removed[j].how != how || strcmp(ir->removed[j].op_type, r->op_type);
		total += r->how == how;
		if (!first)
			continue;
		size_t n = 0;
		for (size_t j = i; j < ir->nremoved; j++)
			n += ir->removed[j].how == how && !strcmp(ir->removed[j].op_type, r->op_type);
		if (f)
			f(k++, r->op_type, n);
	}
	return total;
}

static void text_count(size_t k, const char *op, size_t n)
{
	printf("%s%s %zu", k ? ", " : " (", op, n);
}

static void json_count(size_t k, const char *op, size_t n)
{
	printf("%s", k ? "," : "");
	dnnq_json_string(stdout, op);
	printf(":%zu", n);
}

/* What the importer folded, removed (no-ops) and merged (a Pad into its
 * reader): a count per op type; with --report, every node. */
static void import_report(const struct opts *o, const struct dnnq_ir *ir)
{
	if (o->json) {
		printf(",\"import\":{");
		for (int h = DNNQ_IR_FOLDED; h <= DNNQ_IR_INLINED; h++) {
			printf("%s\"%s\":{", h ? "," : "", dnnq_ir_settled_name(h));
			settled_counts(ir, h, json_count);
			printf("}");
		}
		printf(",\"nodes\":[");
		for (size_t i = 0; i < ir->nremoved; i++) {
			printf("%s{\"name\":", i ? "," : "");
			dnnq_json_string(stdout, ir->removed[i].name);
			printf(",\"op_type\":");
			dnnq_json_string(stdout, ir->removed[i].op_type);
			printf(",\"how\":\"%s\"}", dnnq_ir_settled_name(ir->removed[i].how));
		}
		printf("]");
		if (ir->max_batch) {
			printf(",\"max_batch\":%u,\"batch_fixed\":", ir->max_batch);
			dnnq_json_string(stdout, ir->batch_note);
			printf(",\"batch_mixes\":%s", ir->batch_mixes ? "true" : "false");
		}
		printf("}");
		return;
	}
	if (ir->max_batch)
		printf("import: batch fixed to %u (dnnq-run and dnnqctl infer run a larger one a "
		       "sample at a time%s): %s\n", ir->max_batch,
		       ir->batch_mixes ? ", not the model at that batch, which this node computes "
		       "across" : "",
		       ir->batch_note);
	if (!ir->nremoved)
		return;
	printf("import:");
	for (int h = DNNQ_IR_FOLDED; h <= DNNQ_IR_INLINED; h++) {
		size_t n = settled_counts(ir, h, NULL);
		if (!n)
			continue;
		printf(" %zu %s", n, dnnq_ir_settled_name(h));
		settled_counts(ir, h, text_count);
		printf(")");
	}
	printf("\n");
	for (size_t i = 0; o->report && i < ir->nremoved; i++)
		printf("  %-7s %-16s %s\n", dnnq_ir_settled_name(ir->removed[i].how),
		       shown(ir->removed[i].op_type, 0), shown(ir->removed[i].name, 1));
}

/* The name a client's array of dt has ("int32", numpy's and the ONNX
 * graph's word). */
static const char *served_name(enum dnnq_dtype dt)
{
	return dt == DNNQ_DTYPE_U8 ? "uint8" : dt == DNNQ_DTYPE_S8 ? "int8"
	       : dt == DNNQ_DTYPE_S32 ? "int32" : "float32";
}

/* The graph outputs dnnq serves as another type than the ONNX graph's
 * integer or bool one (docs/onnx.md, "Integer outputs"): a note on stderr
 * each, naming what a client gets; in --json, integer_outputs. */
static void integer_outputs(const struct opts *o, const struct dnnq_ir *ir,
                            const struct dnnq_model *m)
{
	if (o->json)
		printf(",\"integer_outputs\":[");
	for (size_t k = 0, n = 0; k < ir->noutputs && k < m->noutputs; k++) {
		enum dnnq_dtype dt = m->outputs[k].dtype;
		const char *onnx = dnnq_onnx_output_retyped(ir, k, dt), *name = m->outputs[k].name;
		if (!onnx)
			continue;
		bool is_bool = !strcmp(onnx, "bool");
		dnnq_tool_line(argv0, "note: %s: output '%s': %s in the ONNX graph, %s from dnnq (%s; "
		               ".astype(%s%s) gives ONNX Runtime's)", o->in, name, onnx, served_name(dt), dt == DNNQ_DTYPE_S32 ? "the same values" : is_bool ? "0 or 1"
		        : dt == DNNQ_DTYPE_F32 ? "the integers, exact below 2^24" : "its codes",
		        is_bool ? "" : "np.", onnx);
		if (!o->json)
			continue;
		printf("%s{\"name\":", n++ ? "," : "");
		dnnq_json_string(stdout, name);
		printf(",\"onnx\":\"%s\",\"served\":\"%s\"}", onnx, served_name(dt));
	}
	if (o->json)
		printf("]");
}

/* The model, its symbolic dims fixed by --input-shape or the samples. */
static int import(const struct opts *o, struct dnnq_ir *ir, char **list, size_t *count,
                  struct dnnq_diag *d)
{
	struct dnnq_onnx_import_opts io = { .shapes = o->shapes, .nshapes = o->nshapes,
	                                    .values = o->values, .nvalues = o->nvalues,
	                                    .max_const_bytes = o->max_const_bytes };
	struct dnnq_onnx_shape *samples = NULL;
	size_t nsamples = 0;
	int rc = o->calib ? dnnq_sample_shapes(o->calib, &samples, &nsamples, d) : 0;
	if (rc) {
		*ir = (struct dnnq_ir){ 0 };
		return rc;
	}
	io.samples = samples;
	io.nsamples = nsamples;
	rc = dnnq_onnx_import_file(o->in, &io, ir, list, count, d);
	dnnq_sample_shapes_free(samples, nsamples);
	if (!rc && ir->max_batch)
		dnnq_tool_line(argv0, "warning: %s: batch fixed to %u (dnnq-run and dnnqctl infer run "
		               "a larger one a sample at a time%s; a client's request of more is "
		               "refused): %s", o->in, ir->max_batch, ir->batch_mixes ? ", each sample's "
		        "outputs the model's at batch 1, not at that batch, which this node computes "
		        "across" : "", ir->batch_note);
	return rc;
}

/* The activation patterns the importer fused (onnx/fuse.h), a count each:
 * a JSON member or a line of text. */
static void print_fusions(const struct opts *o, const struct dnnq_ir *ir)
{
	printf(o->json ? ",\"fusions\":{" : "fusions:");
	size_t k = 0;
	for (int f = 0; f < DNNQ_IR_FUSED_COUNT; f++) {
		if (!ir->fused[f])
			continue;
		if (o->json) {
			printf("%s", k ? "," : "");
			dnnq_json_string(stdout, dnnq_ir_fusion_name(f));
			printf(":%u", ir->fused[f]);
		} else {
			printf("%s %u %s", k ? "," : "", ir->fused[f], dnnq_ir_fusion_name(f));
		}
		k++;
	}
	printf(o->json ? "}" : k ? "\n" : " none\n");
}

/* "precision":{...}: the mode; under auto the threshold, the samples
 * measured, the all-int8 SQNR there, and each unit: its name (its lowered
 * node's), op, precision, why, int8 loss; and every refusal's note. */
static void json_precision(const struct opts *o, const struct dnnq_ir *ir, const struct prec *p)
{
	printf(",\"precision\":{\"mode\":\"%s\"", o->prec_int8 ? "int8" : "auto");
	if (!o->prec_int8 && p->fp32) {
		printf(",\"threshold_db\":");
		dnnq_json_number(stdout, p->po.threshold_db, 3);
		printf(",\"floor_db\":");
		dnnq_json_number(stdout, p->po.floor_db, 3);
		printf(",\"samples\":%zu,\"int8_sqnr_db\":", p->samples);
		dnnq_json_number(stdout, p->int8_db, 3);
		printf(",\"trials\":%zu,\"trials_resumed\":%zu,\"trial_nodes_run\":%" PRIu64
		       ",\"trial_nodes_whole\":%" PRIu64, p->cost.trials, p->cost.resumed,
		       p->cost.nodes_run, p->cost.nodes_all);
		printf(",\"units\":[");
		for (size_t i = 0; i < p->nunits; i++) {
			const struct dnnq_precision_unit *u = &p->units[i];
			printf("%s{\"name\":", i ? "," : "");
			dnnq_json_string(stdout, ir->nodes[u->last].name);
			printf(",\"op\":");
			dnnq_json_string(stdout, ir->nodes[u->head].op_type);
			printf(",\"precision\":\"%s\",\"why\":\"%s\",\"int8_loss_db\":",
			       u->fp32 ? "fp32" : "int8", dnnq_precision_why_name(u->why));
			dnnq_json_number(stdout, u->loss_db, 3);
			printf("}");
		}
		printf("]");
	}
	printf(",\"fallbacks\":[");
	for (size_t j = 0, k = 0; p->refused && j < ir->nnodes; j++)
		if (p->refused[j].msg[0]) {
			printf("%s", k++ ? "," : "");
			dnnq_json_string(stdout, p->refused[j].msg);
		}
	printf("]}");
}

/* Under auto: how many units run fp32 and why, and each fp32 one; out_db
 * the outputs' SQNR the model written has on the calibration samples. */
static void text_precision(const struct opts *o, const struct dnnq_ir *ir, const struct prec *p,
                           double out_db)
{
	size_t fp32 = 0, measured = 0, floor = 0, unmeasured = 0;
	for (size_t i = 0; i < p->nunits; i++) {
		unmeasured += p->units[i].why == DNNQ_PRECISION_WHY_UNMEASURED;
		fp32 += p->units[i].fp32 && p->units[i].why == DNNQ_PRECISION_WHY_LOSS;
		floor += p->units[i].why == DNNQ_PRECISION_WHY_FLOOR;
		measured += p->units[i].why == DNNQ_PRECISION_WHY_LOSS ||
		            p->units[i].why == DNNQ_PRECISION_WHY_FLOOR;
	}
	if (p->fp32 && measured)
		printf("precision auto: %zu of %zu measured nodes fp32 (int8 loss above %.2f dB on "
		       "%zu samples; int8 wherever possible %.2f dB)\n", fp32, measured, p->po.threshold_db,
		       p->samples, p->int8_db);
	else if (p->fp32 && !unmeasured)	/* '0 of 0 measured nodes fp32 (...; int8
						 * wherever possible 123.30 dB)' of a model
						 * with no node int8 */
		printf("precision auto: no node to measure (each is fp32: --keep-fp32, int8 "
		       "refused or fp32 only)\n");
	if (unmeasured)
		printf("precision auto: %zu nodes int8 unmeasured: %zu trials of a model of %zu nodes "
		       "pass the bound of %llu (--keep-fp32 NODE,... chooses by hand)\n", unmeasured,
		       unmeasured, ir->nnodes, (unsigned long long)DNNQ_PRECISION_MAX_WORK);
	else if (p->fp32 && measured && fp32 == measured)
		printf("precision auto: no measured node stayed int8; --fp32-threshold DB allows more"
		       " loss, --precision int8 keeps every node int8\n");
	if (floor && out_db >= p->po.floor_db)
		printf("precision auto: %zu more fp32, the fewest whose int8 noise alone is the largest "
		       "that lift the outputs to the %.2f dB floor (--sqnr-floor)\n", floor,
		       p->po.floor_db);
	else if (floor && fp32 + floor == measured)	/* it said they lifted them, above a
							 * warning that they did not */
		printf("precision auto: %zu more fp32, every measured node, and the outputs are "
		       "still below the %.2f dB floor (%.2f dB; the nodes left int8 are in no "
		       "measured unit: --keep-fp32 NODE,... or '*')\n", floor, p->po.floor_db,
		       out_db);
	else if (floor)
		printf("precision auto: %zu more fp32, the fewest whose int8 noise alone is the largest "
		       "that lift the outputs to the %.2f dB floor on the trials' %zu sample%s (all "
		       "the samples: %.2f dB)\n", floor, p->po.floor_db, p->samples,
		       p->samples == 1 ? "" : "s", out_db);
	if (p->fp32 && o->report)
		printf("  trials: %zu, %zu of them resumed at their first changed node: %" PRIu64
		       " engine nodes run of %" PRIu64 " (%.0f%%)\n", p->cost.trials, p->cost.resumed,
		       p->cost.nodes_run, p->cost.nodes_all,
		       p->cost.nodes_all ? 100.0 * (double)p->cost.nodes_run / (double)p->cost.nodes_all
		                         : 0.0);
	for (size_t i = 0; i < p->nunits; i++)
		if (p->units[i].fp32 && p->units[i].why == DNNQ_PRECISION_WHY_LOSS)
			printf("  fp32: node '%s' (%s): int8 loss %.2f dB\n",
			       shown(ir->nodes[p->units[i].last].name, 0),
			       shown(ir->nodes[p->units[i].head].op_type, 1), p->units[i].loss_db);
	for (size_t j = 0; p->refused && j < ir->nnodes; j++)
		if (p->refused[j].msg[0])
			printf("  fp32 (int8 refused): %s\n", p->refused[j].msg);
}

/* Whether path begins as a .dnnq model does: the likeliest non-ONNX input. */
static bool is_dnnq_file(const char *path)
{
	char magic[8];
	FILE *f = fopen(path, "rb");
	bool yes = f && fread(magic, 1, sizeof magic, f) == sizeof magic &&
	           !memcmp(magic, DNNQ_MODEL_MAGIC, sizeof magic);
	if (f)
		fclose(f);
	return yes;
}

static int convert(const struct opts *o)
{
	struct dnnq_diag d = { "" };
	struct dnnq_ir ir;
	char *list = NULL;
	size_t count = 0;
	int rc = import(o, &ir, &list, &count, &d);
	if (rc) {
		if (count > 1 && list) {   /* the list's lines are diags, escaped */
			dnnq_tool_line(argv0, "%s: %zu problems:", o->in, count);
			fprintf(stderr, "%s%s", list, list[0] && list[strlen(list) - 1] == '\n' ? "" : "\n");
		} else	/* the importer's messages start with the path */
			fprintf(stderr, "%s: %s\n", argv0, d.msg);
		if (rc == DNNQ_E_FORMAT && is_dnnq_file(o->in))
			dnnq_tool_line(argv0, "%s is a .dnnq model already (what dnnq-convert writes): serve"
			               " it (dnnqd --model NAME=%s) or run it (dnnq-run)", o->in, o->in);
		if (strstr(count > 1 && list ? list : d.msg, "unsupported operator"))
			fprintf(stderr, "%s: onnx.md (\"Supported operators\"; docs/ in dnnq's sources,"
			        " PREFIX/share/doc/dnnq/ once installed) lists the operators dnnq"
			        " imports: export the model without the ones named, or with them in a"
			        " supported form\n", argv0);
		free(list);
		return dnnq_json_exit(1, rc);
	}
	free(list);
	bool *unread = dnnq_ir_unread_inputs(&ir);
	for (size_t i = 0; unread && i < ir.ninputs; i++)
		if (unread[i])
			dnnq_tool_line(argv0, "warning: %s: input '%s' is read by no node (or only for "
			               "its shape, folded at import): it stays in the model's inputs, a "
			               "request gives it (checked for shape and dtype) and its values are "
			               "ignored", o->in, ir.values[ir.inputs[i]].name);
	struct dnnq_onnx_calib c = { 0 };
	struct dnnq_pool *pool = NULL;
	struct dnnq_executor pex, *ex = NULL;
	enum dnnq_calib_method *method = calloc(ir.nvalues ? ir.nvalues : 1, sizeof *method);
	struct dnnq_model m;
	bool have_model = false;
	double out_db = NAN;
	struct dnnq_acc16_layer *acc = NULL;
	size_t nacc = 0, kept = 0;
	bool *keep = NULL;
	struct prec p = { .po = o->po, .int8_db = NAN };
	struct states st = { .non = 0 };
	if (!method || !unread ||
	    (!o->prec_int8 && !(p.refused = calloc(ir.nnodes + 1, sizeof *p.refused)))) {
		rc = dnnq_diag_set(&d, DNNQ_E_NOMEM, "out of memory");
		goto out;
	}
	struct dnnq_lower_opts lo = o->lo;
	lo.calibration = o->calib ? (o->autom ? "auto" : dnnq_calib_method_name(o->c.method))
	                          : "none";
	if (o->keep_fp32) {
		if ((rc = dnnq_onnx_keep_fp32(&ir, o->keep_fp32, &keep, &d)))
			goto out;
		lo.fp32_nodes = keep;
	}
	if (o->calib && o->threads > 1) {
		if (!(pool = dnnq_pool_create(o->threads, NULL))) {
			rc = dnnq_diag_set(&d, DNNQ_E_NOMEM, "%u threads: cannot start them", o->threads);
			goto out;
		}
		pex = dnnq_pool_executor(pool);
		ex = &pex;
	}
	lo.int8_refused = p.refused;
	if (o->calib) {
		if ((rc = parse_state(o, &ir, &st, &d)) ||
		    (rc = dnnq_onnx_calib_init(&c, &ir, o->bins, &d)))
			goto out;
		c.ex = ex;
		if ((rc = ir.ninputs == 1 ? calibrate_one(o, &c, &d) : calibrate_many(o, &c, unread, &d)))
			goto out;
		if ((rc = check_finite(o, &c, &d)) || (rc = set_state(o, &c, &st, &d)) ||
		    (rc = nonfinite_fp32(o, &c, &keep, &d)))
			goto out;
		lo.fp32_nodes = keep;
		dnnq_onnx_calib_methods(&c, o->autom ? DNNQ_CALIB_L2 : o->c.method, method);
		if (o->autom) {
			struct dnnq_progress bar;
			dnnq_progress_start(&bar, "choosing methods", o->json);
			rc = dnnq_onnx_calib_auto(&c, &o->c, &lo, ex, method, &out_db, on_trial, &bar, &d);
			dnnq_progress_end(&bar);
			if (rc)
				goto out;
		}
		if (!o->prec_int8 && (rc = choose_precision(o, &c, method, &lo, &p, &d)))
			goto out;
		rc = dnnq_onnx_calib_lower(&c, &o->c, method, &lo, &m, &d);
	} else {
		rc = dnnq_onnx_lower(&ir, &lo, NULL, NULL, &m, &d);
		if (rc == DNNQ_E_RANGE || rc == DNNQ_E_INVAL)
			snprintf(d.msg + strlen(d.msg), sizeof d.msg - strlen(d.msg),
			         " (a float model needs calibration samples: --calib)");
	}
	if (rc)
		goto out;
	have_model = true;
	if (!rc && lo.acc16 == DNNQ_ACC16_AUTO) {
		struct dnnq_progress bar;
		dnnq_progress_start(&bar, "choosing acc16 layers", o->json);
		rc = dnnq_onnx_calib_acc16_auto(&c, &m, &lo.acc16_opts, o->acc16_threshold, &acc,
		                                &nacc, on_trial, &bar, &d);
		dnnq_progress_end(&bar);
	} else if (!rc && lo.acc16 == DNNQ_ACC16_ON) {
		rc = dnnq_onnx_calib_acc16_measure(&c, &m, &lo.acc16_opts, &acc, &nacc, &d);
	}
	for (size_t i = 0; i < nacc; i++) {
		struct dnnq_model_node *n = &m.nodes[acc[i].node];
		kept += acc[i].acc16;
		/* kept in the file for dnnq-inspect, with the split they were
		 * measured at (an acc32 node ignores nbits and spill) */
		n->acc16_nbits = lo.acc16_opts.nbits;
		n->acc16_spill = lo.acc16_opts.spill;
		n->acc16_measured = 1;
		n->acc16_saturation = (float)acc[i].saturation;
		n->acc16_sqnr_db[0] = (float)acc[i].sqnr_db_acc32;
		n->acc16_sqnr_db[1] = (float)acc[i].sqnr_db_acc16;
	}
	if (!rc && o->calib && (!o->autom || lo.acc16 != DNNQ_ACC16_OFF || !o->prec_int8))
		rc = dnnq_onnx_eval(&c, &m, ex, &out_db, &d);
	if (!rc) {
		m.created = o->created;
		rc = write_model(o->out, &m, &d);
		if (!rc && o->out == o->out_default)
			dnnq_tool_line(argv0, "no -o given: wrote %s", o->out);
	}
	if (rc)
		goto out;
	/* auto could not lift the outputs to its floor (every fp32 choice it
	 * measured was not enough, or the full calibration set disagrees with
	 * the trials' samples): say so, a model this sensitive wants a look */
	if (!o->prec_int8 && c.samples && p.po.floor_db > 0 && out_db < p.po.floor_db)
		dnnq_tool_line(argv0, "warning: %s: output SQNR %.2f dB on the calibration samples, "
		               "below the %.2f dB floor (--sqnr-floor): check its outputs on held-out "
		               "inputs, or keep more of it fp32 (--keep-fp32)", o->out, out_db,
		               p.po.floor_db);
	struct census cn = count_nodes(&m);
	if (o->json) {
		printf("{\"input\":");
		dnnq_json_string(stdout, o->in);
		printf(",\"output\":");
		dnnq_json_string(stdout, o->out);
		printf(",\"method\":\"%s\",\"samples\":%zu,\"nodes\":%zu,\"sqnr_db\":",
		       lo.calibration, c.samples, m.nnodes);
		dnnq_json_number(stdout, out_db, 3);
		printf(",\"int8_nodes\":%zu,\"fp32_nodes\":%zu,\"converts\":%zu,"
		       "\"layout_changes\":%zu,\"unread_inputs\":[", cn.int8, cn.fp32, cn.converts,
		       cn.layout);
		for (size_t i = 0, k = 0; i < ir.ninputs; i++)
			if (unread[i]) {
				printf("%s", k++ ? "," : "");
				dnnq_json_string(stdout, ir.values[ir.inputs[i]].name);
			}
		printf("]");
		if (o->autom) {
			printf(",\"methods\":{");
			for (size_t v = 0, k = 0; v < ir.nvalues; v++) {
				if (!c.hist[v].counts)
					continue;
				printf("%s", k++ ? "," : "");
				dnnq_json_string(stdout, ir.values[v].name);
				printf(":\"%s\"", dnnq_calib_method_name(method[v]));
			}
			printf("}");
		}
		if (lo.acc16 != DNNQ_ACC16_OFF) {
			printf(",\"acc16\":{\"mode\":\"%s\",\"layers\":%zu,\"acc16_layers\":%zu",
			       lo.acc16 == DNNQ_ACC16_AUTO ? "auto" : "on", nacc, kept);
			if (lo.acc16 == DNNQ_ACC16_AUTO) {
				printf(",\"threshold_db\":");
				dnnq_json_number(stdout, o->acc16_threshold, 3);
			}
			printf("}");
		}
		import_report(o, &ir);
		integer_outputs(o, &ir, &m);
		print_state(o, &c, &st);
		json_precision(o, &ir, &p);
		if (o->report) {
			print_fusions(o, &ir);
			printf(",\"layers\":[");
			rc = report(o, &c, &m, out_db, acc, nacc, &p, &d);
			printf("]");
		}
		printf("}\n");
	} else {
		dnnq_fputs_escaped(o->out, stdout);
		printf(": %zu nodes, calibration %s", m.nnodes, lo.calibration);
		if (c.samples)
			printf(" on %zu samples, output SQNR %.2f dB", c.samples, out_db);
		printf("\n");
		printf("precision: %zu int8 and %zu fp32 nodes; %zu converts, %zu of them layout "
		       "changes\n", cn.int8, cn.fp32, cn.converts, cn.layout);
		if (lo.acc16 != DNNQ_ACC16_OFF)
			printf("acc16: %zu of %zu conv/fc layers%s\n", kept, nacc,
			       lo.acc16 == DNNQ_ACC16_AUTO ? " (auto)" : "");
		import_report(o, &ir);
		integer_outputs(o, &ir, &m);
		print_state(o, &c, &st);
		text_precision(o, &ir, &p, out_db);
		if (o->report) {
			print_fusions(o, &ir);
			rc = report(o, &c, &m, out_db, acc, nacc, &p, &d);
		}
	}
out:
	if (rc)
		fail(o->in, &d);
	if (have_model)
		dnnq_model_free(&m);
	if (c.ir)
		dnnq_onnx_calib_free(&c);
	free(acc);
	free(method);
	free(unread);
	free(keep);
	free(p.refused);
	free(p.fp32);
	free(p.units);
	dnnq_ir_free(&ir);
	if (pool)
		dnnq_pool_destroy(pool);
	return dnnq_json_exit(rc ? 1 : 0, rc);
}

int main(int argc, char **argv)
{
	dnnq_f32_blas_pool_off(argv);
	dnnq_json_failures_if_asked(argc, argv);
	dnnq_stdout_checked("dnnq-convert");
	struct opts o;
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return dnnq_json_exit(rc, 0);
	return (rc = creation_time(&o.created)) ? dnnq_json_exit(1, rc) : convert(&o);
}
