/*
 * bench/main.c — dnnq-bench's command line: the subcommands (peak, quant,
 * gemm, scaling, conv, model, models, ipc, batching, memory, team, loader,
 * calib, all), their options and help.
 * Every run starts with the machine it measured on; `all` is what `make
 * bench` runs.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "client/dnnq.h"

enum {
	OPT_TSV = 1 << 0,
	OPT_QUICK = 1 << 1,
	OPT_THREADS = 1 << 2,
	OPT_SHAPES = 1 << 3,
	OPT_MIN_M = 1 << 4,
	OPT_SECONDS = 1 << 5,
	OPT_ONEDNN_ISA = 1 << 6,
	OPT_ISA = 1 << 7,
};

struct cmd {
	const char *name;
	int (*run)(const struct bench_opts *o);
	unsigned opts;      /* OPT_* it accepts */
	const char *help;
};

static int cmd_all(const struct bench_opts *o);

#define COMMON \
	"  --tsv         a header line and one tab-separated row per measurement on\n" \
	"                stdout; the machine description and notes go to stderr\n" \
	"  --quick       smoke test: >= 0.02 s and >= 3 reps per candidate and row\n" \
	"                instead of 0.2 s and 5 (also DNNQ_BENCH_QUICK=1)\n"

#define ONEDNN_ISA \
	"  --onednn-isa ISA  cap oneDNN's JIT ISA (avx2, avx2_vnni, avx512_core,\n" \
	"                avx512_core_vnni, ...), e.g. to compare on dnnq's ISA\n"

#define ISA_OPT \
	"  --isa ISA     dnnq's kernel table: scalar, avx2 (compare with --onednn-isa\n" \
	"                avx2) or avx512vnni (AVX-512 VNNI vpdpbusd GEMM); dies when\n" \
	"                the CPU lacks it. Default: the best the CPU runs\n"

#define SHAPES \
	"  --shapes LIST MxNxK[,MxNxK...], each 1..1048576 in digits, instead of the\n" \
	"                defaults: M in {1, 4, 16, 64, 256, 1024} x (N,K) in {(1024,1024),\n" \
	"                (4096,1024), (1024,4096)}, and the ResNet-50 GEMMs 3136x64x576,\n" \
	"                196x256x2304, 49x512x4608\n" \
	"  --min-m M     skip shapes with fewer than M rows\n"

static const struct cmd cmds[] = {
	{ "peak", bench_cmd_peak, OPT_TSV | OPT_QUICK | OPT_THREADS | OPT_SECONDS,
	  "usage: dnnq-bench peak [--threads N] [--seconds S] [--tsv] [--quick]\n"
	  "The u8 x s8 multiply-add peak of one core in GOPS (one multiply-add = 2 ops),\n"
	  "and of N threads at once (default: every online CPU), from register-only\n"
	  "loops with 8 accumulators: avx2 (vpmaddubsw + vpmaddwd + vpaddd, the ceiling\n"
	  "of an AVX2 kernel) and, on CPUs with AVX-512 VNNI, avx512-vnni (vpdpbusd on\n"
	  "zmm, the ceiling of dnnq's VNNI GEMM kernel). An estimate of the clock turns\n"
	  "them into multiply-adds per cycle.\n"
	  "  --seconds S   measuring time per figure (default 1, --quick 0.1)\n" COMMON },
	{ "quant", bench_cmd_quant, OPT_TSV | OPT_QUICK,
	  "usage: dnnq-bench quant [--tsv] [--quick]\n"
	  "Throughput of the quantization core on 1M elements, AVX2 against the scalar\n"
	  "reference, interleaved: quantize f32->u8, dequantize, requantize s32->u8\n"
	  "(float and fixed-point, per tensor and per channel), in Gelem/s.\n" COMMON },
	{ "gemm", bench_cmd_gemm,
	  OPT_TSV | OPT_QUICK | OPT_THREADS | OPT_SHAPES | OPT_MIN_M | OPT_ONEDNN_ISA |
	  OPT_ISA,
	  "usage: dnnq-bench gemm [--threads N] [--shapes LIST] [--min-m M]\n"
	  "                       [--onednn-isa ISA] [--isa ISA] [--tsv] [--quick]\n"
	  "u8 x s8 -> s32 GEMM: dnnq_gemm (pre-packed weights) against oneDNN's\n"
	  "dnnl_gemm_u8s8s32 and OpenBLAS's cblas_sgemm (fp32), interleaved, in GOPS,\n"
	  "as ratios and as a share of the measured int8 peaks: the AVX2 one always,\n"
	  "the AVX-512 VNNI one when dnnq runs its VNNI kernel. Each shape is first\n"
	  "checked: dnnq's int32 result must equal oneDNN's exactly.\n"
	  "  --threads N   threads for all three (dnnq: a dnnq_pool; default 1)\n" SHAPES
	  ONEDNN_ISA ISA_OPT COMMON },
	{ "scaling", bench_cmd_scaling,
	  OPT_TSV | OPT_QUICK | OPT_THREADS | OPT_SHAPES | OPT_MIN_M | OPT_ISA,
	  "usage: dnnq-bench scaling [--threads N] [--shapes LIST] [--min-m M]\n"
	  "                          [--isa ISA] [--tsv] [--quick]\n"
	  "dnnq GEMM on N threads (a dnnq_pool, default 2) against one thread,\n"
	  "interleaved: throughput ratio and efficiency. Without --shapes or --min-m,\n"
	  "the default shapes with M >= 64.\n" SHAPES ISA_OPT COMMON },
	{ "conv", bench_cmd_conv,
	  OPT_TSV | OPT_QUICK | OPT_THREADS | OPT_ONEDNN_ISA | OPT_ISA,
	  "usage: dnnq-bench conv [--threads N] [--onednn-isa ISA] [--isa ISA]\n"
	  "                       [--tsv] [--quick]\n"
	  "Every distinct ResNet-18 convolution (batch 1, u8 NHWC in and out, s8\n"
	  "weights, per-channel scales): dnnq's convolution against oneDNN's int8\n"
	  "convolution primitive (weights in the format oneDNN chooses, reordered\n"
	  "before timing), interleaved, in ms, as a ratio and in GOPS, with the path\n"
	  "dnnq took. Each layer is first checked against dnnq_conv_reference.\n"
	  "  --threads N   threads for both (dnnq: a dnnq_pool; default 1)\n"
	  ONEDNN_ISA ISA_OPT COMMON },
	{ "model", bench_cmd_model, OPT_TSV | OPT_QUICK | OPT_THREADS | OPT_ISA,
	  "usage: dnnq-bench model [--threads N] [--isa ISA] [--tsv] [--quick]\n"
	  "ResNet-18 and MobileNetV2 end to end (dnnq_graph_run, batch 1, 224x224x3)\n"
	  "on 1 thread and on a dnnq_pool of N, interleaved: median ms of >= 20 runs\n"
	  "(--quick: 5) and the speedup; published ONNX Runtime numbers and the\n"
	  "targets as a footnote.\n"
	  "  --threads N   the multi-threaded configuration (default 2; 1: only 1)\n"
	  ISA_OPT COMMON },
	{ "models", bench_cmd_models, OPT_TSV | OPT_QUICK | OPT_THREADS | OPT_ISA,
	  "usage: dnnq-bench models [--threads N] [--isa ISA] [--tsv] [--quick]\n"
	  "torchvision ResNet-18, MobileNetV2 and mobilenet_v3_small (seeded weights,\n"
	  "BatchNorm settled on data), batch 1, 224x224, on 1 and N threads: dnnq (the\n"
	  ".dnnq of dnnq-convert --per-channel --precision int8, through the engine as\n"
	  "dnnq-run runs it) against ONNX Runtime int8 (PyTorch's all-int8 QDQ export)\n"
	  "and fp32 (the float ONNX), in the same run: interleaved rounds, median ms, ORT\n"
	  "int8 / dnnq, the N-thread speedup (the median of each round's 1-thread over\n"
	  "N-thread block) and each engine's output SQNR against ORT fp32. On a CPU with\n"
	  "AVX-512 VNNI, dnnq also runs its AVX2 kernels. The fixture is in\n"
	  "$DNNQ_BENCH_MODELS_DIR (make bench makes it: bench/models-ort-fixture.py,\n"
	  "dnnq-convert, onnxruntime-node from npm; node on PATH); skipped without it.\n"
	  "  --threads N   the multi-threaded configuration (default 2; 1: only 1)\n"
	  ISA_OPT COMMON },
	{ "memory", bench_cmd_memory, OPT_TSV,
	  "usage: dnnq-bench memory [--tsv]\n"
	  "What a second dnnqd worker costs: VmRSS of dnnqd (from $DNNQ_DNNQD, else dnnqd\n"
	  "beside dnnq-bench) serving a ResNet-18 (tools/serve-fixture's resnet18) with\n"
	  "one worker and with two, after requests from two sessions, twice; the\n"
	  "difference against the .dnnq file's size.\n"
	  "  --tsv         a header line and one tab-separated row per measurement on\n"
	  "                stdout; the machine description and notes go to stderr\n" },
	{ "team", bench_cmd_team, OPT_TSV | OPT_QUICK,
	  "usage: dnnq-bench team [--tsv] [--quick]\n"
	  "One client's batch-1 ResNet-18 requests (tools/serve-fixture's resnet18)\n"
	  "through dnnqd (from $DNNQ_DNNQD, else dnnqd beside dnnq-bench) on --cpus 0,1,\n"
	  "the model served twice: threads: 1 and threads: 2 (idle workers join the\n"
	  "request), alternating; median ms per request (the p50), the ratio, and how\n"
	  "many threads-2 requests the other worker joined. Target beside the result.\n"
	  COMMON },
	{ "ipc", bench_cmd_ipc, OPT_TSV | OPT_QUICK,
	  "usage: dnnq-bench ipc [--tsv] [--quick]\n"
	  "The serving path: dnnqd (from $DNNQ_DNNQD, else dnnqd beside dnnq-bench) started\n"
	  "with one worker spinning on CPU 1, this thread on CPU 0. Round trip of a 64 B\n"
	  "request (relu64, batch 1), p50/p99/p99.9 of 200k requests (--quick: 20k),\n"
	  "against the same bytes over a Unix SOCK_SEQPACKET socketpair to a forked echo\n"
	  "server on CPU 1, interleaved in blocks; FC 1x1024x1024 through dnnqd against\n"
	  "the engine in-process (interleaved medians); pipelined throughput of 32\n"
	  "requests in flight from one thread. Targets beside the results. Without a\n"
	  "dnnqd binary only the socket row runs.\n" COMMON },
	{ "batching", bench_cmd_batching, OPT_TSV | OPT_QUICK,
	  "usage: dnnq-bench batching [--tsv] [--quick]\n"
	  "Dynamic batching across clients: dnnqd (from $DNNQ_DNNQD, every CPU a worker)\n"
	  "serving the MLP 1024-2048-2048-1024 FC with and without dynamic_batching, loaded\n"
	  "by `dnnqctl bench` ($DNNQ_DNNQCTL, else dnnqctl beside dnnq-bench): 8 clients x\n"
	  "batch 1 batched, 8 x 1 unbatched, 2 x 8 unbatched, in turn, 2 s each, medians\n"
	  "of 5 rounds (--quick: one round of 1 s): samples/s, p50, p99, mean executed\n"
	  "batch; the issue's targets beside them.\n" COMMON },
	{ "loader", bench_cmd_loader, OPT_TSV | OPT_QUICK,
	  "usage: dnnq-bench loader [--tsv] [--quick]\n"
	  "Model loading (daemon/loader.c) on a 218 MB .dnnq file (13 FC 4096 x 4096\n"
	  "layers; --quick: 50 MB) written to a temporary directory under /tmp: io_uring\n"
	  "against read(2), interleaved, in MB/s, with the file in the page cache (warm)\n"
	  "and dropped from it before each rep (cold, posix_fadvise + mincore); io_uring's\n"
	  "queue depth x chunk size against read(2), with and without readahead; load +\n"
	  "parse + pack with the loader dnnqd uses, split by stage. About 70 s.\n" COMMON },
	{ "calib", bench_cmd_calib, OPT_TSV | OPT_QUICK,
	  "usage: dnnq-bench calib [--tsv] [--quick]\n"
	  "dnnq-convert of ResNet-18 with 32 calibration images (--threads 1, the whole\n"
	  "command) against ONNX Runtime's fp32 inference of the same images (one\n"
	  "thread), in alternation, medians of 5 rounds (1 with --quick). The fixture\n"
	  "is in $DNNQ_BENCH_CALIB_DIR (make bench makes it: bench/calib-fixture.py,\n"
	  "onnxruntime-node from npm); skipped without it.\n"
	  COMMON },
	{ "all", cmd_all, OPT_TSV | OPT_QUICK | OPT_THREADS | OPT_ONEDNN_ISA | OPT_ISA,
	  "usage: dnnq-bench all [--threads N] [--onednn-isa ISA] [--isa ISA]\n"
	  "                      [--tsv] [--quick]\n"
	  "peak; quant; model and models on 1 and N threads; ipc; batching; memory; team;\n"
	  "gemm on 1 thread; gemm and scaling on N threads for the shapes with M >= 64;\n"
	  "conv on 1 thread; loader; calib.\n"
	  "About 6.5 minutes on 2 cores; --quick: about 105 s.\n"
	  "Under --tsv the tables are separated by blank lines.\n"
	  "  --threads N   the multi-threaded part's thread count (default 2; 1 skips it)\n"
	  ONEDNN_ISA ISA_OPT COMMON },
};

#define NCMDS (sizeof cmds / sizeof *cmds)

static void usage(void)
{
	printf("usage: dnnq-bench COMMAND [OPTIONS]\n"
	       "Measures dnnq's int8 kernels against oneDNN and OpenBLAS on this machine.\n"
	       "Candidates are timed in alternation and compared by medians.\n\nCommands:\n"
	       "  peak      int8 multiply-add peaks of this core (AVX2, AVX-512 VNNI)\n"
	       "  quant     quantization core, AVX2 against scalar\n"
	       "  gemm      u8 x s8 GEMM against oneDNN and OpenBLAS\n"
	       "  scaling   dnnq GEMM on N threads against one\n"
	       "  conv      ResNet-18 convolutions against oneDNN's int8 convolution\n"
	       "  model     ResNet-18 and MobileNetV2 end to end, 1 and N threads\n"
	       "  models    real models against ONNX Runtime int8 and fp32, 1 and N threads\n"
	       "  ipc       round trip and throughput through dnnqd, against a socket\n"
	       "  batching  dynamic batching across clients through dnnqd (MLP, dnnqctl bench)\n"
	       "  memory    RSS of dnnqd with 1 and 2 workers serving ResNet-18\n"
	       "  team      one client's ResNet-18 through dnnqd, model threads 1 vs 2\n"
	       "  loader    model file loading: io_uring against read(2), then parse + pack\n"
	       "  calib     dnnq-convert's calibration against ONNX Runtime fp32\n"
	       "  all       all of the above (make bench)\n\n"
	       "dnnq-bench COMMAND -h, --help describes each; dnnq-bench --version prints"
	       " dnnq's version.\n");
}

static int cmd_all(const struct bench_opts *o)
{
	struct bench_opts g = *o;
	unsigned n = o->threads ? o->threads : 2;
	double t0 = bench_now();
	g.threads = n;
	bench_cmd_peak(&g);
	bench_cmd_quant(o);
	/* the models first: once the peers have run on N threads, their idle
	 * OpenMP / OpenBLAS threads stay in this process, and MobileNetV2's 65
	 * short steps on the dnnq pool measured 1.1x instead of 1.85x after
	 * them (the model table has no peer, so nothing is lost) */
	bench_cmd_model(&g);
	bench_cmd_models(&g);
	/* before the peers for the same reason: the latency percentiles would
	 * see their idle threads */
	bench_cmd_ipc(o);
	bench_cmd_batching(o);
	bench_cmd_memory(o);
	bench_cmd_team(o);
	g.threads = 1;
	bench_cmd_gemm(&g);
	g.threads = n;
	g.min_m = 64;
	if (n > 1) {
		bench_cmd_gemm(&g);
		bench_cmd_scaling(&g);
	}
	g.threads = 1;
	g.min_m = 0;
	bench_cmd_conv(&g);
	bench_cmd_loader(o);
	bench_cmd_calib(o);
	fprintf(bench_text(o->tsv), "\nall: %.0f s\n", bench_now() - t0);
	return 0;
}

/* A bad command line: one line, as the other tools say it, and exit 2. */
__attribute__((format(printf, 1, 2), noreturn))
static void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dnnq_tool_vline("dnnq-bench", " (try --help)", fmt, ap);
	va_end(ap);
	exit(2);
}

static unsigned long parse_num(const char *s, const char *opt, unsigned long max)
{
	uint64_t v;
	if (dnnq_usage_digits("dnnq-bench", opt, s, 1, max, &v))
		exit(2);
	return (unsigned long)v;
}

/* --shapes "MxNxK[,MxNxK...]" into o, each number digits only in
 * 1..2^20; else a usage error naming the item and the number in it. */
static void parse_shapes(const char *list, struct bench_opts *o)
{
	size_t cap = 1;
	for (const char *p = list; *p; p++)
		cap += *p == ',';
	struct bench_shape *s = bench_alloc(cap * sizeof *s);
	const char *p = list;
	for (size_t i = 0; i < cap; i++) {
		size_t len = strcspn(p, ","), at = 0;
		char opt[64];
		uint64_t v[3];
		struct dnnq_diag d = { "" };
		snprintf(opt, sizeof opt, "--shapes: shape %zu of %zu", i + 1, cap);
		for (int j = 0; j < 3; j++) {
			const char *x = j < 2 ? memchr(p + at, 'x', len - at) : NULL;
			size_t end = x ? (size_t)(x - p) : len;
			if (j < 2 && !x)
				usage_error("%s: '%.*s': expected MxNxK", opt, (int)len, p);
			if (dnnq_opt_number(&d, opt, p + at, end - at, &dnnq_digits_form, 1, 1u << 20,
			                    &v[j]))
				usage_error("%s (in '%.*s')", d.msg, (int)len, p);
			at = end + 1;
		}
		s[i] = (struct bench_shape){ v[0], v[1], v[2] };
		p += len + 1;
	}
	o->shapes = s;
	o->nshapes = cap;
}

static double parse_seconds(const char *s)
{
	double v;
	if (dnnq_usage_real("dnnq-bench", "--seconds", s, 0, 600, true, &v))
		exit(2);
	return v;
}
static const struct option longopts[] = {
	{ "tsv", no_argument, NULL, OPT_TSV },
	{ "quick", no_argument, NULL, OPT_QUICK },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "shapes", required_argument, NULL, OPT_SHAPES },
	{ "min-m", required_argument, NULL, OPT_MIN_M },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "onednn-isa", required_argument, NULL, OPT_ONEDNN_ISA },
	{ "isa", required_argument, NULL, OPT_ISA },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *opt_name(int c)
{
	for (const struct option *l = longopts; l->name; l++)
		if (l->val == c)
			return l->name;
	return "?";
}

static void set_opt(struct bench_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_TSV: o->tsv = true; break;
	case OPT_QUICK: o->quick = true; break;
	case OPT_THREADS: o->threads = parse_num(arg, "--threads", 256); break;
	case OPT_SHAPES: parse_shapes(arg, o); break;
	case OPT_MIN_M: o->min_m = parse_num(arg, "--min-m", 1u << 20); break;
	case OPT_SECONDS: o->seconds = parse_seconds(arg); break;
	case OPT_ONEDNN_ISA: o->onednn_isa = arg; break;
	case OPT_ISA: o->isa = arg; break;
	}
}

/* Parses argv[1..] of the subcommand; exits on --help or a bad option. */
static void parse(const struct cmd *cmd, int argc, char **argv, struct bench_opts *o)
{
	int c;
	*o = (struct bench_opts){ 0 };
	opterr = 0;	/* usage_error names the option */
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(cmd->help, stdout);
			exit(0);
		}
		if (c == '?' || c == ':') {
			char why[256];
			dnnq_getopt_error(argv, "h", longopts, why, sizeof why);
			usage_error("%s: %s", cmd->name, why);
		}
		if (!(cmd->opts & (unsigned)c))
			usage_error("%s: --%s does not apply to it", cmd->name, opt_name(c));
		set_opt(o, c, optarg);
	}
	if (optind < argc)
		usage_error("%s: unexpected argument '%s'", cmd->name, argv[optind]);
}

/*
 * Idle worker threads spin before they sleep: OpenMP (oneDNN) 300000 pauses
 * by default, OpenBLAS 2^28 TSC cycles (0.1 s), dnnq's pool 20000 pauses.
 * Interleaving runs a candidate right after another's call, while that one's
 * threads still spin on the same CPUs: measured here, that slowed OpenBLAS
 * and a dnnq pool up to 2x on 2 threads. So the peers' spin is bounded like
 * dnnq's pool (both libraries read these variables once, when loaded, hence
 * the re-exec) and multi-threaded reps start after a settling sleep
 * (timing.c). A value the user set is kept.
 */
static void bound_spinning(char **argv)
{
	if (getenv("DNNQ_BENCH_EXECED") ||
	    (getenv("GOMP_SPINCOUNT") && getenv("OPENBLAS_THREAD_TIMEOUT")))
		return;
	setenv("DNNQ_BENCH_EXECED", "1", 1);
	setenv("GOMP_SPINCOUNT", "20000", 0);          /* daemon/pool.c: SPIN_ITERS */
	setenv("OPENBLAS_THREAD_TIMEOUT", "20", 0);    /* 2^20 cycles, ~0.4 ms */
	execv("/proc/self/exe", argv);
	fprintf(stderr, "dnnq-bench: warning: cannot re-exec to bound the peers' spinning; "
	        "multi-threaded rows may be skewed\n");
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	bound_spinning(argv);
	if (argc < 2)
		usage_error("no command");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage();
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("dnnq-bench %s\n", DNNQ_VERSION);
		return 0;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		parse(&cmds[i], argc - 1, argv + 1, &o);
		bench_set_quick(o.quick);
		if (o.onednn_isa)
			bench_onednn_max_isa(o.onednn_isa);
		if (o.isa)
			bench_dnnq_isa_select(o.isa);
		bench_machine_print(bench_text(o.tsv));
		return cmds[i].run(&o);
	}
	usage_error("unknown command '%s'", argv[1]);
}
