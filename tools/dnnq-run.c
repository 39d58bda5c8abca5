/*
 * dnnq-run: runs a model in-process on .npy inputs and writes its outputs.
 *
 *   dnnq-run MODEL -i|--input NAME=FILE.npy ... [-o|--output-dir DIR] [--threads N]
 *            [--pin] [--repeat N] [--isa ISA] [--json] [--max-constants MiB]
 *
 * MODEL is a .dnnq model (the engine, int8 inside, as dnnqd runs it) or an
 * .onnx model (the fp32 reference executor, onnx/ref.c), told apart by the
 * .dnnq magic, so fp32 and int8 outputs of one model come from one tool.
 * --isa picks the engine's kernel table (default: the best the CPU runs),
 * e.g. scalar for the reference kernels.
 * Each output is written as DIR/NAME.npy in its own dtype. --repeat N runs
 * N more times and prints latency statistics. Exit status: 0; 1 when the
 * model or an input cannot be read or run; 2 for a usage error.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/dnnq.h"
#include "daemon/pool.h"
#include "engine/f32.h"
#include "engine/model.h"
#include "engine/op.h"
#include "engine/peak.h"
#include "onnx/cli.h"

#define MODEL_LIMIT ((size_t)4 << 30)
#define MAX_IO 64

static const char *argv0 = "dnnq-run";

struct binding {
	const char *name, *path;
};

struct opts {
	const char *model, *outdir;
	struct binding in[MAX_IO];
	size_t nin;
	unsigned threads;
	long repeat;
	enum dnnq_isa isa;
	bool json, profile, pin;
	bool threads_set, isa_set;      /* --threads, --isa given */
	size_t max_const_bytes;         /* --max-constants (0: by the file) */
};

/* One model input or output, in either kind of model. */
struct io {
	char name[256];
	enum dnnq_dtype dtype;
	uint32_t ndim;
	int64_t dims[DNNQ_MAX_DIMS];
	void *buf;                      /* inputs: the .npy file; outputs: the data */
	struct dnnq_npy a;              /* inputs */
	size_t bytes;                   /* outputs */
	size_t sample;                  /* the bytes of one sample (0: an output without
	                                 * a batch, written whole by every run) */
};

struct run {
	bool onnx;
	struct dnnq_ir ir;
	struct dnnq_graph *g;
	struct dnnq_pool *pool;
	struct dnnq_executor ex;
	size_t nin, nout, batch;
	uint32_t max_batch;             /* the model's (0: any) */
	size_t chunk;                   /* samples a run of the model takes: the
	                                 * batch, or 1, runs after runs */
	struct io in[MAX_IO], out[MAX_IO];
	const void *inp[MAX_IO];
	void *outp[MAX_IO];
	uint64_t *ns;                   /* --profile: each node's time, summed, */
	uint64_t *min_ns;               /* its fastest run's (one allocation, ns's) */
	uint64_t *run_ns;               /* and the current run's */
	bool have_peak;                 /* --profile: the ISA has a measured int8 peak */
	enum dnnq_peak_kind peak;
	double peak_gops, peak_gbps;    /* on --threads threads, measured at start */
};

static void usage(void)
{
	printf(
		"usage: %s MODEL --input NAME=FILE.npy ... [--output-dir DIR] [--threads N]\n"
		"                [--pin] [--repeat N] [--profile] [--isa ISA] [--json]\n"
		"                [--max-constants MiB]\n"
		"Runs a .dnnq model (int8, through the engine) or an .onnx model (fp32, through\n"
		"the reference executor) on .npy inputs and writes each output as NAME.npy.\n"
		"  -i, --input NAME=FILE  the array for input NAME ([n, ...]: n samples); once\n"
		"                     per input (NAME may be left out when the model has one);\n"
		"                     a float64 array is converted to float32, an int64 one\n"
		"                     to int32 (each value must fit)\n"
		"  -o, --output-dir DIR  where the outputs go, created if missing (default .)\n"
		"  --threads N        engine threads, 1..256 (default 1; .dnnq models)\n"
		"  --pin              each engine thread on a CPU of its own, the first\n"
		"                     --threads of the CPUs this process may run on, as\n"
		"                     dnnqd pins its workers (.dnnq models)\n"
		"  --repeat N         N timed runs after the first: latency statistics\n"
		"  --profile          each node's time over the timed runs (--repeat, default\n"
		"                     20; .dnnq models): op, output, us (the mean), min us\n"
		"                     (the fastest run: what a busy host disturbs least),\n"
		"                     share, GOP/s, GB/s, and those as a share of this\n"
		"                     machine's peaks, measured first (0.2 s): the int8\n"
		"                     multiply-add loop of the ISA's kernels and memcpy of\n"
		"                     2 MiB buffers, on --threads threads\n"
		"  --isa ISA          the engine's kernels: scalar, avx2 or avx512vnni (default:\n"
		"                     the best this CPU runs; .dnnq models)\n"
		"  --json             one JSON object on stdout\n"
		"  --max-constants MiB  an ONNX model's: the most constants its import may hold,\n"
		"                     read and folded, 1..1024 (default: 16 times the\n"
		"                     model's bytes, at least 64 MiB, at most 1024)\n"
		"  -h, --help         this text\n"
		"  --version          dnnq's version\n",
		argv0);
}

/* A bad command line: one line, its pointer to --help, exit status 2. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dnnq_tool_vline(argv0, " (try --help)", fmt, ap);   /* escaped: it quotes what was typed */
	va_end(ap);
	return 2;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_THREADS = 256, O_PIN, O_REPEAT, O_PROFILE, O_ISA, O_JSON, O_MAX_CONST };
	static const struct option lopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output-dir", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "pin", no_argument, NULL, O_PIN },
		{ "repeat", required_argument, NULL, O_REPEAT },
		{ "profile", no_argument, NULL, O_PROFILE },
		{ "isa", required_argument, NULL, O_ISA },
		{ "json", no_argument, NULL, O_JSON },
		{ "max-constants", required_argument, NULL, O_MAX_CONST },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct opts){ .outdir = ".", .threads = 1, .isa = dnnq_isa_best() };
	int ch, moved = 0;
	uint64_t v;
	opterr = 0;	/* the default case names the option, with the one meant */
	while ((ch = dnnq_getopt_long(argc, argv, "i:o:h", lopts, &moved)) != -1) {
		switch (ch) {
		case 'i': {
			if (o->nin == MAX_IO)
				return usage_error("more than %d --input", MAX_IO);
			char *eq = strchr(optarg, '=');
			o->in[o->nin++] = eq ? (struct binding){ optarg, eq + 1 }
			                     : (struct binding){ NULL, optarg };
			if (eq)
				*eq = 0;
			break;
		}
		case 'o': o->outdir = optarg; break;
		case O_THREADS:
			if (dnnq_usage_digits(argv0, "--threads", optarg, 1, 256, &v))
				return 2;
			o->threads = (unsigned)v;
			o->threads_set = true;
			break;
		case O_REPEAT:
			if (dnnq_usage_digits(argv0, "--repeat", optarg, 0, 100000000, &v))
				return 2;
			o->repeat = (long)v;
			break;
		case O_ISA:
			o->isa_set = true;
			switch (dnnq_isa_parse(optarg, &o->isa)) {
			case DNNQ_OK: break;
			case DNNQ_E_UNSUPPORTED:
				return usage_error("--isa %s: this CPU lacks it", optarg);
			default:
				return usage_error("--isa %s: scalar, avx2 or avx512vnni", optarg);
			}
			break;
		case O_PIN: o->pin = true; break;
		case O_PROFILE: o->profile = true; break;
		case O_JSON: o->json = true; dnnq_json_failures(); break;
		case O_MAX_CONST: {
			struct dnnq_diag d = { "" };
			if (dnnq_max_constants_parse(optarg, &o->max_const_bytes, &d))
				return usage_error("--max-constants %s: %s", optarg, d.msg);
			break;
		}
		case 'h': usage(); exit(0);
		case 'V': printf("%s %s\n", argv0, DNNQ_VERSION); exit(0);
		default: {
			char why[256];
			dnnq_getopt_error(argv, "i:o:h", lopts, why, sizeof why);
			return usage_error("%s", why);
		}
		}
	}
	if (optind + 1 != argc)
		return usage_error("%s", optind >= argc ? "no model" : "one model only");
	o->model = argv[optind];
	if (o->profile && !o->repeat)
		o->repeat = 20;
	return 0;
}

static enum dnnq_dtype engine_dtype(enum dnnq_ir_dtype t)
{
	switch (t) {
	case DNNQ_IR_U8:  return DNNQ_DTYPE_U8;
	case DNNQ_IR_S8:  return DNNQ_DTYPE_S8;
	case DNNQ_IR_S32: return DNNQ_DTYPE_S32;
	default:          return DNNQ_DTYPE_F32;
	}
}

static void set_io(struct io *io, const char *name, enum dnnq_dtype dt, uint32_t ndim,
                   const int64_t *dims)
{
	snprintf(io->name, sizeof io->name, "%s", name);
	io->dtype = dt;
	io->ndim = ndim;
	memcpy(io->dims, dims, ndim * sizeof *dims);
}

/* An ONNX model, its symbolic dims fixed by the --input arrays' shapes. */
static int import_onnx(const struct opts *o, const void *buf, size_t len, struct dnnq_ir *ir,
                       struct dnnq_diag *d)
{
	struct dnnq_onnx_shape s[MAX_IO];
	/* external data beside the model, as dnnq_onnx_import_file reads it */
	char *dir = dnnq_onnx_data_dir(o->model);
	struct dnnq_onnx_import_opts io = { .samples = s, .data_dir = dir,
	                                    .samples_are_inputs = true,
	                                    .max_const_bytes = o->max_const_bytes };
	struct dnnq_diag why = { "" };
	int rc = dir ? 0 : dnnq_diag_set(d, DNNQ_E_NOMEM, "%s: out of memory", o->model);
	*ir = (struct dnnq_ir){ 0 };
	for (; !rc && io.nsamples < o->nin; io.nsamples++)
		rc = dnnq_sample_shape(o->in[io.nsamples].path, o->in[io.nsamples].name,
		                       &s[io.nsamples], d);
	if (!rc && (rc = dnnq_onnx_import(buf, len, &io, ir, NULL, NULL, &why)))
		dnnq_diag_set(d, rc, "%s: %s%s", o->model, why.msg, strstr(why.msg, "not an ONNX model")
		              ? "; nor is it a .dnnq model (dnnq-run runs either)" : "");
	for (size_t i = 0; i < io.nsamples; i++)
		free((char *)s[i].name);
	free(dir);
	return rc;
}

/* The model and the description of its inputs and outputs. */
static int open_model(const struct opts *o, struct run *r, struct dnnq_diag *d)
{
	void *buf = NULL;
	size_t len = 0;
	int rc = dnnq_file_read(o->model, MODEL_LIMIT, &buf, &len, d);
	if (rc)
		return rc;
	r->onnx = len < 8 || memcmp(buf, DNNQ_MODEL_MAGIC, 8);
	/* an option of the other kind of model would change nothing: refuse it
	 * (the reference executor runs on the calling thread, its own kernels) */
	const char *other = !r->onnx ? (o->max_const_bytes ? "--max-constants: .onnx models only "
	                                                     "(a .dnnq holds no constants to fold)"
	                                                   : NULL)
	                  : o->profile ? "--profile: .dnnq models only (the engine's nodes)"
	                  : o->threads_set ? "--threads: .dnnq models only (the fp32 reference runs"
	                                     " on one thread)"
	                  : o->pin ? "--pin: .dnnq models only (the fp32 reference runs on one thread)"
	                  : o->isa_set ? "--isa: .dnnq models only (the engine's kernels)" : NULL;
	if (other) {
		free(buf);
		return dnnq_diag_set(d, DNNQ_E_INVAL, "%s: %s", o->model, other);
	}
	if (r->onnx) {
		rc = import_onnx(o, buf, len, &r->ir, d);
		free(buf);
		if (rc)
			return rc;
		r->nin = r->ir.ninputs;
		r->nout = r->ir.noutputs;
		r->max_batch = r->ir.max_batch;
		if (r->nin > MAX_IO || r->nout > MAX_IO)
			return dnnq_diag_set(d, DNNQ_E_UNSUPPORTED, "%s: more than %d inputs or outputs",
			                     o->model, MAX_IO);
		for (size_t i = 0; i < r->nin; i++) {
			const struct dnnq_ir_value *v = &r->ir.values[r->ir.inputs[i]];
			set_io(&r->in[i], v->name, engine_dtype(v->dtype), v->ndim, v->dims);
		}
		for (size_t i = 0; i < r->nout; i++) {
			const struct dnnq_ir_value *v = &r->ir.values[r->ir.outputs[i]];
			/* int64 is a constant the import folded, a Shape's with its
			 * batch kept symbolic (INT64_MIN): its bytes went out as
			 * float32 ([0, -0] for the [N, 4] of ONNX Runtime) */
			if (v->dtype == DNNQ_IR_S64)
				return dnnq_diag_set(d, DNNQ_E_UNSUPPORTED, "%s: output '%s': int64 the "
				                     "import folded (a Shape's, a Constant's): dnnq-run writes"
				                     " float32, int32, uint8 and int8 outputs", o->model,
				                     v->name);
			set_io(&r->out[i], v->name, engine_dtype(v->dtype), v->ndim, v->dims);
		}
		return DNNQ_OK;
	}
	struct dnnq_model m;
	struct dnnq_diag why = { "" };
	rc = dnnq_model_read(buf, len, &m, &why);
	free(buf);
	if (rc)
		return dnnq_diag_set(d, rc, "%s: %s", o->model, why.msg);
	rc = dnnq_model_build(&m, o->isa, &r->g, &why);
	r->nin = m.ninputs;
	r->nout = m.noutputs;
	r->max_batch = m.max_batch;
	if (!rc && (r->nin > MAX_IO || r->nout > MAX_IO))
		rc = dnnq_diag_set(&why, DNNQ_E_UNSUPPORTED, "more than %d inputs or outputs", MAX_IO);
	/* the signature's names (the graph's tensors are named by their nodes) */
	for (size_t i = 0; !rc && i < r->nin + r->nout; i++) {
		bool in = i < r->nin;
		const struct dnnq_model_io *io = in ? &m.inputs[i] : &m.outputs[i - r->nin];
		set_io(in ? &r->in[i] : &r->out[i - r->nin], io->name, io->dtype, io->ndim, io->dims);
	}
	dnnq_model_free(&m);
	return rc ? dnnq_diag_set(d, rc, "%s: %s", o->model, why.msg) : DNNQ_OK;
}

/* The model's input names for a message, "'a', 'b'" (cut to fit). */
static const char *input_names(const struct run *r, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->nin && n < len; i++) {
		char name[128];
		dnnq_escape(name, sizeof name, r->in[i].name);
		n += (size_t)snprintf(buf + n, len - n, "%s'%s'", i ? ", " : "", name);
	}
	return buf;
}

/* Each --input bound to a model input, read, checked; the batch agreed. */
static int load_inputs(const struct opts *o, struct run *r, struct dnnq_diag *d)
{
	char names[160];
	if (!r->nin)    /* no batch to take: it would be 0 */
		return dnnq_diag_set(d, DNNQ_E_UNSUPPORTED, "%s has no inputs: nothing to run (its "
		                     "outputs are constants)", o->model);
	if (o->nin != r->nin)
		return dnnq_diag_set(d, DNNQ_E_INVAL, "%s has %zu input%s (%s), %zu --input given",
		                     o->model, r->nin, r->nin == 1 ? "" : "s",
		                     input_names(r, names, sizeof names), o->nin);
	for (size_t k = 0; k < o->nin; k++) {
		const struct binding *b = &o->in[k];
		size_t i = 0;
		if (b->name || r->nin != 1)
			for (i = 0; i < r->nin && (!b->name || strcmp(b->name, r->in[i].name)); i++)
				;
		if (i == r->nin && !b->name)
			return dnnq_diag_set(d, DNNQ_E_INVAL, "--input %s: the model has %zu inputs"
			                     " (%s): give each as NAME=FILE", b->path, r->nin,
			                     input_names(r, names, sizeof names));
		if (i == r->nin)
			return dnnq_diag_set(d, DNNQ_E_NOTFOUND, "--input %s: the model has no input"
			                     " of that name (its inputs: %s)", b->name,
			                     input_names(r, names, sizeof names));
		struct io *io = &r->in[i];
		if (io->buf)
			return dnnq_diag_set(d, DNNQ_E_INVAL, "--input %s given twice", io->name);
		int rc = dnnq_npy_load_batch(b->path, io->ndim, io->dims, !r->onnx, &io->buf,
		                             &io->a, d);
		if (rc)
			return rc;
		if (dnnq_npy_narrowed(&io->a))
			dnnq_tool_line(argv0, "%s: %s", b->path, dnnq_npy_narrowed(&io->a));
		if ((rc = dnnq_npy_check_dtype(&io->a, b->path, io->name, io->dtype, false, d)))
			return rc;
		if (r->batch && r->batch != io->a.shape[0])
			return dnnq_diag_set(d, DNNQ_E_SHAPE, "%s: %zu samples, another input has %zu",
			                     b->path, io->a.shape[0], r->batch);
		r->batch = io->a.shape[0];
		/* the data may be unaligned in the file: copy it out */
		void *x = dnnq_aligned_alloc(io->a.nbytes);
		if (!x)
			return dnnq_diag_set(d, DNNQ_E_NOMEM, "%s: out of memory", b->path);
		memcpy(x, io->a.data, io->a.nbytes);
		free(io->buf);
		io->buf = x;
		r->inp[i] = x;
	}
	return DNNQ_OK;
}

static int prepare(const struct opts *o, struct run *r, struct dnnq_diag *d)
{
	/* a model whose import fixed its batch (its graph moves the batch off
	 * dim 0) runs the samples one at a time, as dnnqctl infer splits a call
	 * into requests */
	r->chunk = r->max_batch && r->batch > r->max_batch ? 1 : r->batch;
	if (r->chunk < r->batch && o->profile)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "--profile: batch %zu: the model runs a batch of"
		                     " at most %u (the import fixed it), so %zu runs: profile one",
		                     r->batch, (unsigned)r->max_batch, r->batch);
	if (r->chunk < r->batch)
		dnnq_tool_line(argv0, "%s: batch %zu: the model runs a batch of at most %u (the import"
		               " fixed it): %zu runs of one sample, as dnnqctl infer sends them",
		               o->model, r->batch, (unsigned)r->max_batch, r->batch);
	/* the reference judges one item: the samples go in runs that fit */
	size_t fit = r->onnx ? dnnq_ir_fit_batch(&r->ir, r->chunk, NULL) : r->chunk;
	if (fit < r->chunk)
		dnnq_tool_line(argv0, "%s: batch %zu: %zu samples a run (their values together within"
		               " half of this host's memory)", o->model, r->batch, fit);
	r->chunk = fit;
	for (size_t i = 0; i < r->nin; i++)
		r->in[i].sample = r->in[i].a.nbytes / r->batch;
	if (!r->onnx) {
		int cpus[256];
		unsigned ncpus = o->pin ? dnnq_pool_allowed_cpus(o->threads, cpus) : 0;
		if (o->pin && ncpus < o->threads)
			return dnnq_diag_set(d, DNNQ_E_RANGE, "--pin: %u threads on %u allowed CPUs",
			                     o->threads, ncpus);
		/* one thread pinned: a pool of none but the caller */
		if (o->threads > 1 || o->pin) {
			r->pool = dnnq_pool_create(o->threads, o->pin ? cpus : NULL);
			if (!r->pool)
				return dnnq_diag_set(d, DNNQ_E_NOMEM, "%u threads: cannot start them",
				                     o->threads);
			r->ex = dnnq_pool_executor(r->pool);
		}
		struct dnnq_diag why = { "" };
		int rc = dnnq_graph_plan(r->g, r->chunk, o->threads, &why);
		if (rc)
			return dnnq_diag_set(d, rc, "%s: batch %zu: %s", o->model, r->chunk, why.msg);
	}
	for (size_t i = 0; i < r->nout; i++) {
		struct io *io = &r->out[i];
		size_t item;
		bool batched = true;
		if (r->onnx) {
			/* an output without a batch (a Constant's, an
			 * initializer's) is the whole value, the same in every
			 * run: kept once in the graph's shape (as [batch] of
			 * its bytes cut by the batch, each run wrote all of it
			 * at its samples' place, past the buffer's end) */
			const struct dnnq_ir_value *v = &r->ir.values[r->ir.outputs[i]];
			batched = v->batched;
			item = dnnq_ir_numel(v, 1) * dnnq_ir_dtype_size(v->dtype);
		} else {
			struct dnnq_tensor_info ti;
			dnnq_graph_output_info(r->g, i, &ti);
			item = ti.bytes / r->chunk;
		}
		io->sample = batched ? item : 0;
		io->bytes = batched ? item * r->batch : item;
		if (batched)
			io->dims[0] = (int64_t)r->batch;
		io->buf = dnnq_aligned_alloc(io->bytes ? io->bytes : 1);
		if (!io->buf)
			return dnnq_diag_set(d, DNNQ_E_NOMEM, "output '%s': out of memory", io->name);
		r->outp[i] = io->buf;
	}
	return DNNQ_OK;
}

/* The model run on samples [s, s + chunk) of the inputs and outputs (the
 * last chunk of an .onnx model's runs may be short: dnnq_ir_fit_batch). */
static int run_chunk(const struct opts *o, struct run *r, size_t s, struct dnnq_diag *d)
{
	const void *in[MAX_IO];
	void *out[MAX_IO];
	for (size_t i = 0; i < r->nin; i++)
		in[i] = (const char *)r->inp[i] + s * r->in[i].sample;
	for (size_t i = 0; i < r->nout; i++)
		out[i] = (char *)r->outp[i] + s * r->out[i].sample;
	return r->onnx ? dnnq_ir_run(&r->ir, r->batch - s < r->chunk ? r->batch - s : r->chunk, in,
	                             out, NULL, NULL, d)
	               : dnnq_graph_run_profiled(r->g, in, out, o->threads > 1 ? &r->ex : NULL,
	                                         r->run_ns);
}

static int run_once(const struct opts *o, struct run *r, struct dnnq_diag *d)
{
	int rc = DNNQ_OK;
	if (r->onnx) {
		for (size_t s = 0; !rc && s < r->batch; s += r->chunk)
			rc = run_chunk(o, r, s, d);
		return rc;
	}
	size_t nn = dnnq_graph_num_nodes(r->g);
	if (r->run_ns)
		memset(r->run_ns, 0, nn * sizeof *r->run_ns);
	for (size_t s = 0; !rc && s < r->batch; s += r->chunk)
		rc = run_chunk(o, r, s, d);
	for (size_t i = 0; r->run_ns && i < nn; i++) {
		r->ns[i] += r->run_ns[i];
		if (r->run_ns[i] < r->min_ns[i])
			r->min_ns[i] = r->run_ns[i];
	}
	struct dnnq_node_info ni;
	if (!rc)
		return DNNQ_OK;
	if (dnnq_graph_failed_node(r->g) < 0 ||
	    dnnq_graph_node_info(r->g, (size_t)dnnq_graph_failed_node(r->g), &ni))
		return dnnq_diag_set(d, rc, "%s: the run failed: %s", o->model, dnnq_strerror(rc));
	/* an embedding refuses an id outside its table so */
	return dnnq_diag_set(d, rc, "%s: the run failed at node '%s' (%s): %s%s", o->model,
	                     ni.name, dnnq_node_kind_name(ni.kind), dnnq_strerror(rc),
	                     rc == DNNQ_E_RANGE ? " (an id outside the table?)" : "");
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int write_outputs(const struct opts *o, struct run *r, struct dnnq_diag *d)
{
	char stem[MAX_IO][DNNQ_NPY_STEM_MAX];
	for (size_t i = 0; i < r->nout; i++) {
		struct io *io = &r->out[i];
		char path[DNNQ_NPY_PATH_MAX];
		size_t shape[DNNQ_MAX_DIMS];
		for (uint32_t k = 0; k < io->ndim; k++)
			shape[k] = (size_t)io->dims[k];
		dnnq_npy_output_stem(io->name, stem, i);
		snprintf(path, sizeof path, "%s/%s.npy", o->outdir, stem[i]);
		int rc = dnnq_npy_write_file(path, io->dtype, shape, io->ndim, io->buf, d);
		if (rc)
			return rc;
		if (o->json) {
			printf("%s{\"name\":", i ? "," : "");
			dnnq_json_string(stdout, io->name);
			printf(",\"file\":");
			dnnq_json_string(stdout, path);
			printf(",\"dtype\":\"%s\",\"shape\":[", dnnq_dtype_name(io->dtype));
			for (uint32_t k = 0; k < io->ndim; k++)
				printf("%s%lld", k ? "," : "", (long long)io->dims[k]);
			printf("]}");
		} else {
			dnnq_fputs_escaped(path, stdout);
			printf(": %s [", dnnq_dtype_name(io->dtype));
			for (uint32_t k = 0; k < io->ndim; k++)
				printf("%s%lld", k ? ", " : "", (long long)io->dims[k]);
			printf("]\n");
		}
	}
	return DNNQ_OK;
}

/* --profile's yardsticks, measured now for PEAK_SECONDS each on the run's
 * threads (the machine's other load lowers them, as it does the nodes). */
#define PEAK_SECONDS 0.1
static void measure_peaks(const struct opts *o, struct run *r)
{
	const struct dnnq_executor *ex = o->threads > 1 ? &r->ex : NULL;
	r->have_peak = dnnq_peak_of_isa(o->isa, &r->peak);
	if (r->have_peak)
		r->peak_gops = dnnq_peak_gops(r->peak, PEAK_SECONDS, ex);
	r->peak_gbps = dnnq_peak_copy_gbps(PEAK_SECONDS, ex);
}

/* v / peak for a share-of-peak column; NaN when there is no peak. */
static double of_peak(double v, double peak)
{
	return peak > 0 ? v / peak : NAN;
}

static int timed(const struct opts *o, struct run *r, struct dnnq_latency *lat,
                 struct dnnq_diag *d)
{
	double *t = malloc((size_t)o->repeat * sizeof *t);
	if (!t)
		return dnnq_diag_set(d, DNNQ_E_NOMEM, "--repeat %ld: out of memory", o->repeat);
	/* an ONNX model (the reference executor) has no graph: --profile is
	 * refused for it */
	size_t nn = o->profile ? dnnq_graph_num_nodes(r->g) + 1 : 0;
	if (o->profile && !(r->ns = calloc(3 * nn, sizeof *r->ns))) {
		free(t);
		return dnnq_diag_set(d, DNNQ_E_NOMEM, "--profile: out of memory");
	}
	if (o->profile) {
		r->min_ns = r->ns + nn;
		r->run_ns = r->min_ns + nn;
		for (size_t i = 0; i < nn; i++)
			r->min_ns[i] = UINT64_MAX;
		measure_peaks(o, r);
	}
	struct dnnq_progress bar;
	dnnq_progress_start(&bar, "running", o->json);
	int rc = DNNQ_OK;
	for (long i = 0; !rc && i < o->repeat; i++) {
		double t0 = now_ms();
		rc = run_once(o, r, d);
		t[i] = now_ms() - t0;
		dnnq_progress_update(&bar, (size_t)i + 1, (size_t)o->repeat);
	}
	dnnq_progress_end(&bar);
	if (!rc)
		dnnq_latency_summary(t, (size_t)o->repeat, lat);
	free(t);
	return rc;
}

/* v, or "-" (JSON null) where there is none (NaN: no peak, a fused
 * node's rate): JSON with jprec decimals, text " %width.tprecf" and unit. */
static void print_opt(bool json, double v, int jprec, int width, int tprec, const char *unit)
{
	if (json)
		printf(isnan(v) ? "null" : "%.*f", jprec, v);
	else if (isnan(v))
		printf(" %*s", width + (int)strlen(unit), "-");
	else
		printf(" %*.*f%s", width, tprec, v, unit);
}

/* A share of peak: " 12.3%" or "     -" (text), 0.123 or null (JSON). */
static void print_frac(bool json, double f)
{
	print_opt(json, json ? f : f * 100, 5, 5, 1, "%");
}

/* A rate: "  123.45" or "       -" (text), 123.450 or null (JSON). */
static void print_rate(bool json, double v)
{
	print_opt(json, v, 3, 7, 2, "");
}

static void print_peaks(const struct opts *o, const struct run *r)
{
	const char *kind = r->have_peak ? dnnq_peak_name(r->peak) : NULL;
	if (o->json) {
		printf(",\"peak\":{\"threads\":%u,\"int8\":", o->threads);
		if (kind)
			printf("\"%s\",\"gops\":%.3f", kind, r->peak_gops);
		else
			printf("null,\"gops\":null");
		printf(",\"copy_bytes\":%zu,\"gbps\":%.3f}", DNNQ_PEAK_COPY_BYTES, r->peak_gbps);
		return;
	}
	printf("peak on %u thread%s, measured now: ", o->threads, o->threads == 1 ? "" : "s");
	if (kind)
		printf("int8 %.1f GOP/s (%s loop)", r->peak_gops, kind);
	else
		printf("no int8 peak for %s kernels", dnnq_isa_name(o->isa));
	printf(", memcpy %.1f GB/s (%zu KiB buffers)\n", r->peak_gbps,
	       DNNQ_PEAK_COPY_BYTES >> 10);
}

/* --profile: one row per node, its time averaged over the timed runs and
 * its fastest run's. */
static void print_profile(const struct opts *o, const struct run *r)
{
	size_t nn = dnnq_graph_num_nodes(r->g);
	double total = 0;
	for (size_t i = 0; i < nn; i++)
		total += (double)r->ns[i];
	print_peaks(o, r);
	if (o->json)
		printf(",\"profile\":[");
	else
		printf("%-36s %-10s %-4s %-22s %9s %9s %7s %7s %7s %7s %7s\n", "node", "kind", "prec",
		       "output", "us", "min us", "share", "GOP/s", "GB/s", "%ops", "%bw");
	for (size_t i = 0; i < nn; i++) {
		struct dnnq_node_info ni;
		if (dnnq_graph_node_info(r->g, i, &ni))
			continue;
		bool has_prec = dnnq_op_has(dnnq_op_get(ni.kind), DNNQ_A_PRECISION);
		const char *prec = has_prec ? dnnq_precision_name(ni.precision) : "-";
		/* the int8 peak bounds int8 multiply-adds only */
		double ops_peak = ni.macs && !(has_prec && ni.precision == DNNQ_PRECISION_FP32)
		                  ? r->peak_gops : 0;
		double us = (double)r->ns[i] / 1e3 / (double)o->repeat;
		double min_us = (double)r->min_ns[i] / 1e3;
		double share = total > 0 ? (double)r->ns[i] / total : 0;
		/* a fused node's work is timed in its producer's row */
		double gops = ni.fused ? NAN : us > 0 ? 2.0 * (double)ni.macs / us / 1e3 : 0;
		double gbps = ni.fused ? NAN : us > 0 ? (double)ni.bytes / us / 1e3 : 0;
		char shape[64];
		int n = snprintf(shape, sizeof shape, "%s ", dnnq_dtype_name(ni.out.dtype));
		for (uint32_t k = 0; k < ni.out.ndim && n > 0 && (size_t)n < sizeof shape; k++)
			n += snprintf(shape + n, sizeof shape - (size_t)n, "%s%lld", k ? "x" : "",
			              (long long)ni.out.dims[k]);
		if (o->json) {
			printf("%s{\"name\":", i ? "," : "");
			dnnq_json_string(stdout, ni.name);
			printf(",\"kind\":\"%s\",\"precision\":\"%s\",\"output\":\"%s\",\"us\":%.3f,"
			       "\"min_us\":%.3f,\"share\":%.5f,\"fused\":%s,\"gops\":",
			       dnnq_node_kind_name(ni.kind), prec, shape, us, min_us, share,
			       ni.fused ? "true" : "false");
			print_rate(true, gops);
			printf(",\"gbps\":");
			print_rate(true, gbps);
			printf(",\"ops_of_peak\":");
			print_frac(true, of_peak(gops, ops_peak));
			printf(",\"bw_of_peak\":");
			print_frac(true, of_peak(gbps, r->peak_gbps));
			printf("}");
		} else {
			char name[37];  /* the model's: escaped for the terminal */
			dnnq_escape(name, sizeof name, ni.name);
			printf("%-36.36s %-10.10s %-4s %-22.22s %9.1f %9.1f %6.1f%%", name,
			       dnnq_node_kind_name(ni.kind), prec, shape, us, min_us, share * 100);
			print_rate(false, gops);
			print_rate(false, gbps);
			print_frac(false, of_peak(gops, ops_peak));
			print_frac(false, of_peak(gbps, r->peak_gbps));
			printf("\n");
		}
	}
	if (o->json)
		printf("]");
	else
		printf("%-36s %-10s %-4s %-22s %9.1f %6.1f%%\n", "total (nodes)", "", "", "",
		       total / 1e3 / (double)o->repeat, 100.0);
}

static void release(struct run *r)
{
	for (size_t i = 0; i < MAX_IO; i++) {
		free(r->in[i].buf);
		free(r->out[i].buf);
	}
	free(r->ns);
	dnnq_graph_destroy(r->g);
	if (r->pool)
		dnnq_pool_destroy(r->pool);
	if (r->onnx)
		dnnq_ir_free(&r->ir);
}

int main(int argc, char **argv)
{
	dnnq_f32_blas_pool_off(argv);
	dnnq_json_failures_if_asked(argc, argv);
	dnnq_stdout_checked("dnnq-run");
	struct opts o;
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return dnnq_json_exit(rc, 0);
	static struct run r;
	struct dnnq_diag d = { "" };
	struct dnnq_latency lat = { 0 };
	rc = dnnq_npy_make_dir(o.outdir, &d);	/* before any work */
	if (!rc)
		rc = open_model(&o, &r, &d);
	if (!rc)
		rc = load_inputs(&o, &r, &d);
	if (!rc)
		rc = prepare(&o, &r, &d);
	if (!rc)
		rc = run_once(&o, &r, &d);
	if (!rc && o.repeat)
		rc = timed(&o, &r, &lat, &d);
	if (!rc && o.json) {
		printf("{\"model\":");
		dnnq_json_string(stdout, o.model);
		printf(",\"kind\":\"%s\",\"batch\":%zu,\"outputs\":[", r.onnx ? "onnx" : "dnnq",
		       r.batch);
	}
	if (!rc)
		rc = write_outputs(&o, &r, &d);
	if (!rc && o.json) {
		printf("]");
		if (o.repeat)
			printf(",\"latency_ms\":{\"runs\":%zu,\"min\":%.6g,\"median\":%.6g,"
			       "\"p99\":%.6g,\"mean\":%.6g}", lat.runs, lat.min_ms, lat.median_ms,
			       lat.p99_ms, lat.mean_ms);
		if (r.ns)
			print_profile(&o, &r);
		printf("}\n");
	} else if (!rc && o.repeat) {
		printf("%zu runs of batch %zu: min %.4g ms, median %.4g ms, p99 %.4g ms,"
		       " mean %.4g ms\n", lat.runs, r.batch, lat.min_ms, lat.median_ms, lat.p99_ms,
		       lat.mean_ms);
		if (r.ns)
			print_profile(&o, &r);
	}
	if (rc)
		fprintf(stderr, "%s: %s\n", argv0, d.msg);
	release(&r);
	return dnnq_json_exit(rc ? 1 : 0, rc);
}
