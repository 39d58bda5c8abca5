/*
 * dnnqctl infer MODEL --input NAME=FILE.npy ... [--output-dir DIR] [--json]
 *
 * Reads every input file first (a float64 file is converted to float32,
 * an int64 one to int32, with a note) and makes the output directory (mkdir -p, checked
 * writable), so that a bad file or directory fails before the daemon is
 * bothered; opens the model, matches each of its inputs to a file by name
 * and checks the file against the signature: the dtype (the signature's,
 * or f32 for a u8 input, which the daemon then quantizes) and the shape
 * (the batch is the first dim, the rest must match; a file without the
 * batch dim is batch 1). A batch larger than the model's maximum is sent
 * as several requests of at most the maximum (said once on stderr): for
 * each, the tensors are allocated in the shared arena, the rows copied in
 * and one synchronous dnnq_infer runs; the outputs are concatenated. Each
 * output is written as DIR/NAME.npy in its signature dtype; the summary
 * gives each output's shape and, for an [N, C] output, the top-1 class and
 * value of every row, and the latency of the requests alone.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calibration/npy.h"
#include "client/dnnqctl.h"

/* The .npy data is little-endian and is copied into the arena as is. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host");
_Static_assert((int)DNNQ_DTYPE_U8 == (int)DNNQ_TYPE_U8 &&
               (int)DNNQ_DTYPE_F32 == (int)DNNQ_TYPE_F32, "npy and wire dtypes");

#define NPY_LIMIT ((size_t)1 << 32)	/* bytes of one input file */

static const char infer_help[] =
	"usage: dnnqctl infer MODEL --input NAME=FILE.npy ... [OPTIONS]\n"
	"Runs MODEL once on the inputs and writes each output as DIR/NAME.npy.\n"
	"\n"
	"  -i, --input NAME=FILE  the model input NAME from FILE (a model with one\n"
	"                         input also takes just FILE); the first dim is\n"
	"                         the batch (a file without it is batch 1); f32\n"
	"                         files are accepted for u8 inputs\n"
	"  -o, --output-dir DIR   where the outputs go, created if missing\n"
	"                         (default: .)\n"
	"      --timeout MS       how long the request may take, 1..86400000 (default:\n"
	"                         10000)\n"
	"      --json             the summary as one JSON object\n"
	"  -h, --help             this text\n";

struct infer_args {
	const char *model, *outdir;
	bool json;
	unsigned timeout_ms;
	unsigned n_files;
	struct {
		const char *name;	/* NULL: FILE alone */
		const char *path;
		void *buf;
		struct dnnq_npy npy;
	} file[DNNQ_MAX_IO];
};

struct infer_run {
	uint32_t batch, chunk;          /* the files' batch; one request's */
	unsigned file[DNNQ_MAX_IO];     /* the file of each model input */
	struct dnnq_tensor in[DNNQ_MAX_IO], out[DNNQ_MAX_IO];
	void *result[DNNQ_MAX_IO];      /* each output at the whole batch */
	char path[DNNQ_MAX_IO][DNNQ_NPY_PATH_MAX];
	char stem[DNNQ_MAX_IO][DNNQ_NPY_STEM_MAX];
	double latency_us;
};

static int add_input(struct infer_args *a, char *arg)
{
	if (a->n_files == DNNQ_MAX_IO)
		return ctl_usage_error("infer ", "more than %u inputs", DNNQ_MAX_IO);
	char *eq = strchr(arg, '=');
	a->file[a->n_files].name = eq ? arg : NULL;
	a->file[a->n_files].path = eq ? eq + 1 : arg;
	if (eq)
		*eq = 0;
	if (!*a->file[a->n_files].path || (eq && !*arg))
		return ctl_usage_error("infer ", "--input wants NAME=FILE");
	a->n_files++;
	return 0;
}

/* 0, CTL_EXIT_USAGE, or -1 after --help. */
static int parse_args(int argc, char **argv, struct infer_args *a)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output-dir", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch, rc, moved = 0;
	*a = (struct infer_args){ .outdir = ".", .timeout_ms = 10000 };
	opterr = 0;	/* ctl_bad_option names the option */
	while ((ch = dnnq_getopt_long(argc, argv, "i:o:h", opts, &moved)) != -1) {
		switch (ch) {
		case 'i': if ((rc = add_input(a, optarg))) return rc; break;
		case 'o': a->outdir = optarg; break;
		case 'j': a->json = true; dnnq_json_failures(); break;
		case 't':
			if (ctl_parse_u32("infer ", "--timeout", optarg, 1, 86400000, &a->timeout_ms))
				return CTL_EXIT_USAGE;
			break;
		case 'h': fputs(infer_help, stdout); return -1;
		default:  return ctl_bad_option("infer ", argv, "i:o:h", opts);
		}
	}
	if (optind != argc - 1)
		return ctl_usage_error("infer ", optind < argc ? "one MODEL only" : "no MODEL");
	if (!a->n_files)
		return ctl_usage_error("infer ", "no --input");
	a->model = argv[optind];
	return 0;
}

/* The npy file wrappers' lines already start with the path. */
static int fail_file(const char *path, int rc, const struct dnnq_diag *d)
{
	return d->msg[0] ? ctl_failf_rc(rc, "%s", d->msg)
	                 : ctl_failf_rc(rc, "%s: %s", path, dnnq_strerror(rc));
}

static int load_files(struct infer_args *a)
{
	for (unsigned i = 0; i < a->n_files; i++) {
		struct dnnq_diag d = { "" };
		int rc = dnnq_npy_read_file(a->file[i].path, NPY_LIMIT, &a->file[i].buf,
		                            &a->file[i].npy, &d);
		if (rc)
			return fail_file(a->file[i].path, rc, &d);
		if (dnnq_npy_narrowed(&a->file[i].npy))
			ctl_note("%s: %s", a->file[i].path, dnnq_npy_narrowed(&a->file[i].npy));
	}
	struct dnnq_diag d = { "" };
	int rc = dnnq_npy_make_dir(a->outdir, &d);
	return rc ? ctl_failf("%s", d.msg) : 0;
}

static void free_files(struct infer_args *a)
{
	for (unsigned i = 0; i < a->n_files; i++)
		free(a->file[i].buf);
}

/* The one file for the model's input io: by name, or an unnamed one when the
 * model has one input. */
static int find_file(const struct infer_args *a, const struct dnnq_model *m,
                     const struct dnnq_io_info *io, unsigned *f)
{
	unsigned n = 0, unnamed = 0;
	for (unsigned i = 0; i < a->n_files; i++) {
		unnamed += !a->file[i].name;
		if (a->file[i].name ? !strcmp(a->file[i].name, io->name)
		                    : dnnq_model_num_inputs(m) == 1)
			*f = n++ ? *f : i;
	}
	if (n > 1)
		return ctl_failf("infer: model '%s' input '%s': %u --input files for it, give one",
		                 a->model, io->name, n);
	if (!n && unnamed)
		return ctl_failf("infer: model '%s' has %u inputs: name each file (--input %s=FILE)",
		                 a->model, dnnq_model_num_inputs(m), io->name);
	return n ? 0 : ctl_failf("infer: model '%s' input '%s': no --input %s=FILE", a->model,
	                         io->name, io->name);
}

/* Every --input NAME must be an input of the model. */
static int check_names(const struct infer_args *a, const struct dnnq_model *m)
{
	for (unsigned i = 0; i < a->n_files; i++) {
		uint32_t k = 0;
		struct dnnq_io_info io;
		while (a->file[i].name && dnnq_model_io(m, DNNQ_INPUT, k, &io) == 0 &&
		       strcmp(io.name, a->file[i].name))
			k++;
		if (a->file[i].name && k == dnnq_model_num_inputs(m)) {
			char names[512] = "";
			for (uint32_t j = 0, n = 0; dnnq_model_io(m, DNNQ_INPUT, j, &io) == 0 &&
			                            n < sizeof names; j++)
				n += (size_t)snprintf(names + n, sizeof names - n, "%s'%s'", j ? ", " : "",
				                      io.name);
			return ctl_failf_rc(DNNQ_E_NOTFOUND, "infer: model '%s' has no input '%s' (its "
			                    "inputs: %s)", a->model, a->file[i].name, names);
		}
	}
	return 0;
}

/* The file's batch after checking its dtype and shape against io. */
static int check_file(const char *path, const struct dnnq_npy *npy,
                      const struct dnnq_io_info *io, uint32_t *batch)
{
	struct dnnq_diag d;
	int rc = dnnq_npy_check_dtype(npy, path, io->name, (enum dnnq_dtype)io->dtype, true, &d);
	if (rc)
		return ctl_failf_rc(rc, "%s", d.msg);
	unsigned skip = npy->ndim + 1 == io->rank ? 1 : 0;	/* no batch dim */
	bool ok = npy->ndim + skip == io->rank;
	for (unsigned k = 1; ok && k < io->rank; k++)
		ok = npy->shape[k - skip] == (size_t)io->dims[k];
	size_t b = skip ? 1 : ok ? npy->shape[0] : 0;
	if (!ok || b < 1 || b > UINT32_MAX) {
		/* one line, escaped: the path is the caller's, the name the model's */
		char *shapes = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&shapes, &len);
		if (!f)
			return ctl_fail(path, DNNQ_E_NOMEM);
		for (unsigned k = 0; k < npy->ndim; k++)
			fprintf(f, "%s%zu", k ? "x" : "", npy->shape[k]);
		fputc(0, f);
		ctl_print_shape(f, io->rank, io->dims, true, false);
		if (fclose(f)) {
			free(shapes);
			return ctl_fail(path, DNNQ_E_NOMEM);
		}
		rc = ctl_failf_rc(DNNQ_E_SHAPE, "%s: shape %s: input '%s' wants %s with N >= 1%s", path,
		                  shapes, io->name, shapes + strlen(shapes) + 1,
		                  dnnq_npy_shape_hint(npy, io->rank, io->dims, true));
		free(shapes);
		return rc;
	}
	*batch = (uint32_t)b;
	return 0;
}

/* Checks every input file against m and sets r->batch, r->chunk (at most
 * the model's maximum batch) and r->file. */
static int check_inputs(const struct infer_args *a, struct dnnq_model *m, struct infer_run *r)
{
	for (uint32_t i = 0; i < dnnq_model_num_inputs(m); i++) {
		struct dnnq_io_info io;
		unsigned f = 0;
		uint32_t b = 0;
		dnnq_model_io(m, DNNQ_INPUT, i, &io);
		int rc = find_file(a, m, &io, &f);
		if (rc || (rc = check_file(a->file[f].path, &a->file[f].npy, &io, &b)))
			return rc;
		if (i && b != r->batch)
			return ctl_failf("%s: batch %u: the other inputs have %u", a->file[f].path, b,
			                 r->batch);
		r->batch = b;
		r->file[i] = f;
	}
	uint32_t max = dnnq_model_max_batch(m);
	r->chunk = r->batch < max || !max ? r->batch : max;
	return 0;
}

/* One request: rows [off, off + k) of every input file in, the outputs
 * appended to r->result. */
static int run_chunk(const struct infer_args *a, struct dnnq_client *c, struct dnnq_model *m,
                     struct infer_run *r, uint32_t off, uint32_t k)
{
	const struct dnnq_tensor *ins[DNNQ_MAX_IO];
	struct dnnq_tensor *outs[DNNQ_MAX_IO];
	int rc;
	for (uint32_t i = 0; i < dnnq_model_num_inputs(m); i++) {
		struct dnnq_io_info io;
		const struct dnnq_npy *npy = &a->file[r->file[i]].npy;
		dnnq_model_io(m, DNNQ_INPUT, i, &io);
		io.dims[0] = k;
		if ((rc = dnnq_tensor_alloc(c, (enum dnnq_type)npy->dtype, io.rank, io.dims,
		                            &r->in[i])))
			return ctl_failf_rc(rc, "input '%s': %s", io.name, dnnq_strerror(rc));
		memcpy(r->in[i].data, npy->data + (size_t)off * (r->in[i].bytes / k), r->in[i].bytes);
		ins[i] = &r->in[i];
	}
	for (uint32_t i = 0; i < dnnq_model_num_outputs(m); i++) {
		if ((rc = dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, i, k, &r->out[i])))
			return ctl_fail("output", rc);
		outs[i] = &r->out[i];
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = dnnq_infer(m, ins, outs, (int)a->timeout_ms);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->latency_us += (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
	                 (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
	/* the request's status is all the daemon sends back: say what it
	 * likely means, and where the node at fault is named */
	if (rc == DNNQ_E_TIMEDOUT)
		return ctl_failf_rc(rc, "infer: timed out after %u ms (--timeout MS gives it longer)",
		                    a->timeout_ms);
	if (rc == DNNQ_E_RANGE)
		return ctl_failf_rc(rc, "infer: %s: the model's run refused a value of the inputs (an"
		                    " id outside an embedding's table?); dnnq-run on the .dnnq file"
		                    " names the node", dnnq_strerror(rc));
	if (rc)
		return ctl_fail("infer", rc);
	for (uint32_t i = 0; i < dnnq_model_num_outputs(m); i++) {
		size_t row = r->out[i].bytes / k, all;
		if (!r->result[i] && (__builtin_mul_overflow(row, (size_t)r->batch, &all) ||
		                      !(r->result[i] = malloc(all))))
			return ctl_fail("output", DNNQ_E_NOMEM);
		memcpy((char *)r->result[i] + (size_t)off * row, r->out[i].data, r->out[i].bytes);
	}
	return 0;
}

static void free_chunk(struct dnnq_client *c, struct dnnq_model *m, struct infer_run *r)
{
	for (uint32_t i = 0; i < dnnq_model_num_inputs(m); i++)
		dnnq_tensor_free(c, &r->in[i]);
	for (uint32_t i = 0; i < dnnq_model_num_outputs(m); i++)
		dnnq_tensor_free(c, &r->out[i]);
}

/* The whole batch in requests of at most r->chunk rows; r->out then
 * describes each output at the whole batch, its data in r->result. */
static int run_model(const struct infer_args *a, struct dnnq_client *c, struct dnnq_model *m,
                     struct infer_run *r)
{
	int rc = 0;
	if (r->chunk < r->batch)
		ctl_note("batch %u is larger than model '%s' takes (%u): sending it as %u requests",
		         r->batch, a->model, r->chunk, (r->batch + r->chunk - 1) / r->chunk);
	struct dnnq_tensor last[DNNQ_MAX_IO];
	uint32_t k = 0;
	for (uint32_t off = 0; !rc && off < r->batch; off += k) {
		k = r->batch - off < r->chunk ? r->batch - off : r->chunk;
		rc = run_chunk(a, c, m, r, off, k);
		memcpy(last, r->out, sizeof last);
		free_chunk(c, m, r);
	}
	for (uint32_t i = 0; !rc && i < dnnq_model_num_outputs(m); i++) {
		r->out[i] = last[i];
		r->out[i].data = r->result[i];
		r->out[i].bytes = last[i].bytes / k * r->batch;
		r->out[i].dims[0] = r->batch;
		r->out[i].offset = 0;
	}
	return rc;
}

static int write_outputs(const struct infer_args *a, struct dnnq_model *m, struct infer_run *r)
{
	for (uint32_t i = 0; i < dnnq_model_num_outputs(m); i++) {
		struct dnnq_io_info io;
		struct dnnq_diag d = { "" };
		size_t shape[DNNQ_MAX_RANK];
		dnnq_model_io(m, DNNQ_OUTPUT, i, &io);
		for (uint32_t k = 0; k < r->out[i].rank; k++)
			shape[k] = (size_t)r->out[i].dims[k];
		dnnq_npy_output_stem(io.name, r->stem, i);	/* a name from the daemon */
		char stem[DNNQ_NPY_STEM_MAX];	/* apart from r: GCC's -Wrestrict */
		memcpy(stem, r->stem[i], sizeof stem);
		snprintf(r->path[i], sizeof r->path[i], "%s/%s.npy", a->outdir, stem);
		int rc = dnnq_npy_write_file(r->path[i], (enum dnnq_dtype)io.dtype, shape,
		                             r->out[i].rank, r->out[i].data, &d);
		if (rc)
			return fail_file(r->path[i], rc, &d);
	}
	return 0;
}

/* Row n's top-1 (class and real value) of an [N, C] output. */
static void top1(const struct dnnq_tensor *t, const struct dnnq_io_info *io, int64_t n,
                 int64_t *cls, double *val)
{
	int64_t c = t->dims[1];
	*cls = 0;
	*val = -INFINITY;
	for (int64_t j = 0; j < c; j++) {
		double v;
		if (t->dtype == DNNQ_TYPE_U8)
			v = io->scale * ((double)((const uint8_t *)t->data)[n * c + j] - io->zero_point);
		else
			v = ((const float *)t->data)[n * c + j];
		if (v > *val) {
			*cls = j;
			*val = v;
		}
	}
}

/* The text summary's top-1 rows of a batch; the rest are counted. */
#define TEXT_ROWS 8

static void print_output(const struct dnnq_tensor *t, const struct dnnq_io_info *io,
                         const char *path, bool json)
{
	if (json) {
		printf("{\"name\":");
		dnnq_json_string(stdout, io->name);
		printf(",\"dtype\":\"%s\",\"shape\":", dnnq_shm_dtype_name(t->dtype));
		ctl_print_shape(stdout, t->rank, t->dims, false, true);
		printf(",\"file\":");
		dnnq_json_string(stdout, path);
	} else {
		printf("output %s  %s ", io->name, dnnq_shm_dtype_name(t->dtype));
		ctl_print_shape(stdout, t->rank, t->dims, false, false);
		printf("  -> %s\n", path);
	}
	if (t->rank == 2) {
		printf(json ? ",\"top1\":[" : "");
		for (int64_t n = 0; n < t->dims[0] && (json || n < TEXT_ROWS); n++) {
			int64_t cls;
			double val;
			top1(t, io, n, &cls, &val);
			if (json)
				printf("%s{\"class\":%lld,\"value\":%.9g}", n ? "," : "", (long long)cls, val);
			else if (t->dims[1] == 1 && t->dims[0] == 1)	/* [N, 1]: a score, */
				printf("  value %.6g\n", val);		/* no class to pick */
			else if (t->dims[1] == 1)
				printf("  row %lld: value %.6g\n", (long long)n, val);
			else if (t->dims[0] == 1)
				printf("  predicted class %lld (%.6g)\n", (long long)cls, val);
			else
				printf("  row %lld: predicted class %lld (%.6g)\n", (long long)n,
				       (long long)cls, val);
		}
		if (!json && t->dims[0] > TEXT_ROWS)
			printf("  ... %lld more rows (%s has them all; --json lists every row's class)\n",
			       (long long)(t->dims[0] - TEXT_ROWS), path);
		printf(json ? "]" : "");
	}
	printf(json ? "}" : "");
}

static void print_summary(const struct infer_args *a, struct dnnq_model *m,
                          const struct infer_run *r)
{
	if (a->json) {
		printf("{\"model\":");
		dnnq_json_string(stdout, a->model);
		printf(",\"batch\":%u,\"latency_us\":%.3f,\"outputs\":[", r->batch, r->latency_us);
	} else {
		printf("model %s, batch %u: %.1f us\n", a->model, r->batch, r->latency_us);
	}
	for (uint32_t i = 0; i < dnnq_model_num_outputs(m); i++) {
		struct dnnq_io_info io;
		dnnq_model_io(m, DNNQ_OUTPUT, i, &io);
		printf(a->json && i ? "," : "");
		print_output(&r->out[i], &io, r->path[i], a->json);
	}
	printf(a->json ? "]}\n" : "");
}

int ctl_cmd_infer(const struct ctl_global *g, int argc, char **argv)
{
	struct infer_args a;
	struct dnnq_client *c = NULL;
	struct dnnq_model *m;
	static struct infer_run r;	/* the paths make it large */
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	if ((rc = load_files(&a)))
		goto out;
	/* A first small session reads the signature, so that the files can be
	 * checked and the real session's arena sized for them. */
	if ((rc = ctl_open(g, a.model, CTL_PROBE_ARENA, 1, &c, &m)) ||
	    (rc = check_names(&a, m)) || (rc = check_inputs(&a, m, &r)))
		goto out;
	uint64_t need = ctl_io_bytes(m, r.chunk, true);
	dnnq_close(c);
	if ((rc = ctl_open(g, a.model, need, 1, &c, &m)))
		goto out;
	if ((rc = check_inputs(&a, m, &r)) || (rc = run_model(&a, c, m, &r)) ||
	    (rc = write_outputs(&a, m, &r)))
		goto out;
	print_summary(&a, m, &r);
out:
	dnnq_close(c);
	free_files(&a);
	for (unsigned i = 0; i < DNNQ_MAX_IO; i++)
		free(r.result[i]);
	return rc;
}
