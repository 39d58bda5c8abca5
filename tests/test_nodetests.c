/*
 * ONNX's backend tests (issue 16, item 6), as Debian's libonnx-testdata
 * installs them (TEST_DATA, from the Makefile's ONNX_TEST_DATA):
 * TEST_DATA/SET/test_NAME/model.onnx and test_data_set_0/
 * input_N.pb, output_N.pb (serialized TensorProtos, read by the importer's
 * own tensor code, dnnq_onnx_tensor_read), for the sets node/ (one
 * operator each), pytorch-converted/ and pytorch-operator/ (PyTorch
 * modules and functions as its exporter wrote them for opset 6 and IR 3:
 * old-style broadcast attributes, weights listed among the graph's inputs)
 * and simple/. Test names are unique across the sets.
 *
 * Every test whose model the importer takes is converted and run as
 * dnnq-convert and dnnq-run do it (tests/conformance.h):
 *   - float tests (every input and output float): calibrated on the test's
 *     own inputs and run int8, SQNR >= 40 dB against the expected outputs;
 *     and with every node fp32, within 1e-5 relative (normwise);
 *   - float inputs and int32 outputs (ArgMax's indices; ONNX's int64
 *     expected values narrowed), or int32 inputs beside float ones
 *     (GatherElements' indices): calibrated as a float test, the indices
 *     exact with every node fp32, the int8 run's wrong ones counted;
 *   - integer tests (any other): exact.
 * int64 inputs and outputs are narrowed to int32 (dnnq's indices and ids).
 * Weights the tests feed as graph inputs are given as initializers where
 * dnnq asks for constants (run_test). A model the importer refuses for an operator it does not know ("unsupported
 * operator", or another domain's) is not run: it counts as not supported.
 * Every other failure must be listed with its reason in SKIPS; a listed test
 * that passes, is not supported or does not exist fails the suite, so the
 * list stays true (node_tests_list_checked proves it on a wrong list). With
 * DNNQ_NODE_SKIPS_WRITE=FILE the suite writes today's failures, each with
 * its message, to FILE instead (`make conformance-skips`).
 *
 * Each test runs in a child process, so a crash or a hang is one failure
 * with its signal, not the end of the run. The last line counts them all.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "onnx/onnx.pb-c.h"
#include "tests/conformance.h"
#include "tests/suites.h"

#define SKIPS "tests/onnx/node-skips.txt"
#define MIN_SQNR_DB 40.0
#define MAX_FP32_REL 1e-5
#define FILE_LIMIT ((long)64 << 20)
#define CASE_SECONDS 60
#define MAX_IO 16

enum verdict { NOT_SUPPORTED, PASSED, FAILED };

/* What a child reports of one test. */
struct outcome {
	enum verdict verdict;
	char what[480];                 /* FAILED: why; PASSED: the measures */
};

static enum verdict failed(struct outcome *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum verdict failed(struct outcome *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->what, sizeof o->what, fmt, ap);
	va_end(ap);
	for (char *s = o->what; *s; s++)        /* one line of the list */
		if (*s == '\n')
			*s = ' ';
	return FAILED;
}

/* A whole file (at most FILE_LIMIT bytes) into *buf (free it). */
static int read_file(const char *path, void **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n = -1;
	*buf = NULL;
	if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && n <= FILE_LIMIT &&
	    !fseek(f, 0, SEEK_SET) && (*buf = malloc(n ? (size_t)n : 1)) &&
	    fread(*buf, 1, (size_t)n, f) == (size_t)n) {
		fclose(f);
		*len = (size_t)n;
		return 0;
	}
	if (n > FILE_LIMIT)
		errno = EFBIG;
	if (f)
		fclose(f);
	free(*buf);
	*buf = NULL;
	return -1;
}

/* The line of list where the importer refused an operator it does not
 * know, or NULL. */
static const char *unknown_operator(const char *list)
{
	const char *s = list ? strstr(list, ": unsupported operator") : NULL;
	if (!s && list)
		s = strstr(list, ": operator domain '");
	while (s && s > list && s[-1] != '\n')
		s--;
	return s;
}

static const char *S(const char *s)
{
	return s ? s : "";
}

/* A test's tensors, each as the file holds it (pb) and as an array (a, its
 * data v's). */
struct tensors {
	size_t n;
	Onnx__TensorProto *pb[MAX_IO];
	struct dnnq_ir_value v[MAX_IO];
	struct dnnq_npy a[MAX_IO];
};

static void tensors_free(struct tensors *t)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->pb[i])
			onnx__tensor_proto__free_unpacked(t->pb[i], NULL);
		free(t->v[i].name);
		free(t->v[i].data);
	}
}

/* IR < 4 lists every initializer among the graph's inputs too: those are
 * the model's weights (constants, as the importer takes them), not inputs
 * a test feeds. From IR 4 on, an input with an initializer is a default
 * the test data may override: kept. */
static void drop_initializer_inputs(Onnx__ModelProto *mp)
{
	Onnx__GraphProto *g = mp->graph;
	if (mp->ir_version >= 4)
		return;
	size_t n = 0;
	for (size_t k = 0; k < g->n_input; k++) {
		bool init = false;
		for (size_t i = 0; i < g->n_initializer && !init; i++)
			init = !strcmp(S(g->input[k]->name), S(g->initializer[i]->name));
		if (init)
			onnx__value_info_proto__free_unpacked(g->input[k], NULL);
		else
			g->input[n++] = g->input[k];
	}
	g->n_input = n;
}

/* dir/test_data_set_0/KIND_N.pb for each of the graph's n inputs or
 * outputs vi[], which they must match in number and name. */
static enum verdict read_tensors(const char *dir, const char *kind,
                                 Onnx__ValueInfoProto *const *vi, size_t n, struct tensors *t,
                                 struct outcome *o)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/test_data_set_0/%s_%zu.pb", dir, kind, n);
	if (n > MAX_IO)
		return failed(o, "%zu %ss: the runner takes %d", n, kind, MAX_IO);
	if (!access(path, F_OK))
		return failed(o, "more %s files than the model's %zu %ss", kind, n, kind);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		void *buf;
		struct dnnq_diag d = { "" };
		snprintf(path, sizeof path, "%s/test_data_set_0/%s_%zu.pb", dir, kind, i);
		if (read_file(path, &buf, &len))
			return failed(o, "%s_%zu.pb: %s (the model has %zu %ss)", kind, i,
			              strerror(errno), n, kind);
		int rc = dnnq_onnx_tensor_read(buf, len, &t->v[i], &d);
		if (!rc) {
			t->n = i + 1;
			if (!(t->pb[i] = onnx__tensor_proto__unpack(NULL, len, buf)))
				rc = dnnq_diag_set(&d, DNNQ_E_FORMAT, "does not parse");
		}
		free(buf);
		if (rc)
			return failed(o, "%s_%zu.pb: %s", kind, i, d.msg);
		const char *want = vi[i] ? S(vi[i]->name) : "";
		if (*t->v[i].name && strcmp(t->v[i].name, want))
			return failed(o, "%s_%zu.pb is '%s', the model's %s %zu '%s'", kind, i,
			              t->v[i].name, kind, i, want);
		if (t->v[i].dtype == DNNQ_IR_S64) {
			/* ArgMax's int64 indices: dnnq gives int32 (docs/onnx.md);
			 * int64 ids and indices (Gather's, OneHot's, GatherElements')
			 * it reads as int32 */
			size_t m = dnnq_ir_numel(&t->v[i], (size_t)t->v[i].dims[0]);
			const int64_t *s = t->v[i].data;
			int32_t *w = t->v[i].data;
			for (size_t e = 0; e < m; e++) {
				if (s[e] < INT32_MIN || s[e] > INT32_MAX)
					return failed(o, "%s_%zu.pb: element %zu = %lld: not an int32", kind,
					              i, e, (long long)s[e]);
				w[e] = (int32_t)s[e];
			}
			t->v[i].dtype = DNNQ_IR_S32;
		}
		struct dnnq_npy *a = &t->a[i];
		*a = (struct dnnq_npy){ .dtype = conf_dtype(t->v[i].dtype), .ndim = t->v[i].ndim,
		                        .count = 1, .data = t->v[i].data };
		for (uint32_t k = 0; k < a->ndim; k++) {
			a->shape[k] = (size_t)t->v[i].dims[k];
			a->count *= a->shape[k];
		}
		a->nbytes = a->count * dnnq_npy_itemsize(a->dtype);
	}
	return PASSED;
}

/* The model with the graph inputs marked constant given as initializers
 * holding the test's data (each named as its input), serialized. */
static void *model_bytes(Onnx__ModelProto *mp, const bool *constant, const struct tensors *in,
                         size_t *len)
{
	Onnx__GraphProto *g = mp->graph;
	size_t n0 = g->n_initializer, n = n0;
	Onnx__TensorProto **init0 = g->initializer;
	Onnx__TensorProto **init = malloc((n0 + in->n + 1) * sizeof *init);
	char *names[MAX_IO];
	void *buf = NULL;
	if (!init)
		return NULL;
	if (n0)
		memcpy(init, init0, n0 * sizeof *init);
	for (size_t k = 0; k < in->n; k++)
		if (constant[k]) {
			names[k] = in->pb[k]->name;
			in->pb[k]->name = g->input[k]->name;
			init[n++] = in->pb[k];
		}
	g->initializer = init;
	g->n_initializer = n;
	*len = onnx__model_proto__get_packed_size(mp);
	if ((buf = malloc(*len ? *len : 1)))
		onnx__model_proto__pack(mp, buf);
	g->initializer = init0;
	g->n_initializer = n0;
	for (size_t k = 0; k < in->n; k++)
		if (constant[k])
			in->pb[k]->name = names[k];
	free(init);
	return buf;
}

/* A model's bytes imported into *ir: NOT_SUPPORTED for an operator the
 * importer does not know, else FAILED with the first problem. *list: the
 * problems (free it). */
static enum verdict import(const void *buf, size_t len, struct dnnq_ir *ir, char **list,
                           struct outcome *o)
{
	size_t count = 0;
	struct dnnq_diag d = { "" };
	int rc = dnnq_onnx_import(buf, len, NULL, ir, list, &count, &d);
	if (!rc)
		return PASSED;
	const char *line = unknown_operator(*list);
	if (line) {
		snprintf(o->what, sizeof o->what, "%.*s", (int)strcspn(line, "\n"), line);
		return NOT_SUPPORTED;
	}
	return count > 1 ? failed(o, "import: %s (and %zu more)", d.msg, count - 1)
	                 : failed(o, "import: %s", d.msg);
}

/* One conversion of the model, with the inputs marked constant, and its
 * run. *list: the importer's problems, if any (free it). */
static enum verdict attempt(Onnx__ModelProto *mp, const bool *constant,
                            const struct tensors *in, const struct tensors *want,
                            struct outcome *o, char **list)
{
	size_t len;
	struct dnnq_ir ir;
	struct dnnq_diag d = { "" };
	void *buf = model_bytes(mp, constant, in, &len);
	if (!buf)
		return failed(o, "out of memory");
	enum verdict r = import(buf, len, &ir, list, o);
	free(buf);
	if (r != PASSED)
		return r;
	/* the arrays of the inputs still inputs, in the IR's order */
	struct dnnq_npy a[MAX_IO];
	bool exact = false;
	for (size_t i = 0; i < ir.ninputs && r == PASSED; i++) {
		const struct dnnq_ir_value *v = &ir.values[ir.inputs[i]];
		size_t k = 0;
		while (k < in->n && (constant[k] || strcmp(S(mp->graph->input[k]->name), v->name)))
			k++;
		if (k == in->n)
			r = failed(o, "the model's input '%s' has no input_N.pb", v->name);
		else
			a[i] = in->a[k];
	}
	/* float inputs and int32 outputs (ArgMax's), or int32 inputs beside
	 * float ones (GatherElements' indices): calibrated as a float model,
	 * the indices exact in fp32 */
	bool floats = false;
	for (size_t i = 0; i < ir.ninputs + ir.noutputs; i++) {
		enum dnnq_ir_dtype dt =
			ir.values[i < ir.ninputs ? ir.inputs[i] : ir.outputs[i - ir.ninputs]].dtype;
		exact |= dt != DNNQ_IR_F32 && dt != DNNQ_IR_S32;
		floats |= i < ir.ninputs && dt == DNNQ_IR_F32;
	}
	exact |= ir.ninputs && !floats;
	bool indices = false;
	for (size_t i = 0; !exact && i < ir.noutputs; i++)
		indices |= ir.values[ir.outputs[i]].dtype == DNNQ_IR_S32;
	struct conf_result c;
	if (r == PASSED && conf_run(&ir, exact, a, want->a, &c, &d))
		r = failed(o, "%s", d.msg);
	else if (r == PASSED && exact && c.differ)
		r = failed(o, "exact: %zu of %zu elements differ (the first at %zu)", c.differ,
		           c.elements, c.first);
	else if (r == PASSED && indices && c.differ)
		r = failed(o, "fp32: %zu of %zu indices differ (the first at %zu)", c.differ,
		           c.elements, c.first);
	else if (r == PASSED && !exact && !(c.sqnr_db >= MIN_SQNR_DB))
		r = failed(o, "int8: SQNR %.3f dB < %.0f", c.sqnr_db, MIN_SQNR_DB);
	else if (r == PASSED && !exact && !(c.fp32_rel <= MAX_FP32_REL))
		r = failed(o, "fp32: max rel error %.3g > %g", c.fp32_rel, MAX_FP32_REL);
	else if (r == PASSED && exact)
		snprintf(o->what, sizeof o->what, "exact, %zu elements", c.elements);
	else if (r == PASSED && indices)
		snprintf(o->what, sizeof o->what, "fp32 indices exact, int8 %zu of %zu differ",
		         c.int8_differ, c.elements);
	else if (r == PASSED)
		snprintf(o->what, sizeof o->what, "int8 SQNR %.2f dB, fp32 max rel %.2g", c.sqnr_db,
		         c.fp32_rel);
	dnnq_ir_free(&ir);
	return r;
}

/* Marks constant every graph input that text says "must be a constant",
 * refuses as int64, or that calibration cannot take for having no batch (a
 * Clip's bounds, a Dropout's ratio: one value for every request, as a
 * deployed model's constants are); true when there was one not yet
 * marked. */
static bool more_constants(const Onnx__GraphProto *g, const char *text, bool *constant)
{
	static const char *const says[] = { "'%.200s' must be a constant",
	                                    "input '%.200s': element type int64 ",
	                                    "input '%.200s' is float32 without a batch" };
	bool more = false;
	for (size_t k = 0; text && k < g->n_input && k < MAX_IO; k++) {
		bool must = false;
		for (size_t j = 0; j < sizeof says / sizeof says[0]; j++) {
			char needle[300];
			snprintf(needle, sizeof needle, says[j], S(g->input[k]->name));
			must |= strstr(text, needle) != NULL;
		}
		if (!constant[k] && must)
			more = constant[k] = true;
	}
	return more;
}

/*
 * One test, in this process. ONNX's node tests feed weights (a Conv's W, a
 * Gemm's B, a Clip's bounds, a QuantizeLinear's scale) as graph inputs,
 * where dnnq, like a deployed model, takes them only as constants: an input
 * the importer or the lowering says must be a constant is given to the
 * model as an initializer of the test's data, and the model converted
 * again. The outcome names those inputs.
 */
static enum verdict run_test(const char *dir, struct outcome *o)
{
	char path[1024];
	void *buf;
	size_t len;
	struct tensors in = { 0 }, want = { 0 };
	bool constant[MAX_IO] = { false };
	snprintf(path, sizeof path, "%s/model.onnx", dir);
	if (read_file(path, &buf, &len))
		return failed(o, "model.onnx: %s", strerror(errno));
	/* as it is: an operator the importer does not know ends it; so does a
	 * problem no constant input would solve */
	char *list = NULL;
	struct dnnq_ir ir;
	enum verdict r = import(buf, len, &ir, &list, o);
	if (r == PASSED)
		dnnq_ir_free(&ir);
	Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
	free(buf);
	if (mp && mp->graph)
		drop_initializer_inputs(mp);
	if (!mp || !mp->graph)
		r = failed(o, "model.onnx does not parse");
	else if (r == PASSED || (r == FAILED && more_constants(mp->graph, list, constant)))
		r = read_tensors(dir, "input", mp->graph->input, mp->graph->n_input, &in, o);
	if (r == PASSED)
		r = read_tensors(dir, "output", mp->graph->output, mp->graph->n_output, &want, o);
	free(list);
	for (bool again = r == PASSED; again;) {
		list = NULL;
		r = attempt(mp, constant, &in, &want, o, &list);
		again = r == FAILED && (more_constants(mp->graph, list, constant) ||
		                        more_constants(mp->graph, o->what, constant));
		free(list);
	}
	for (size_t k = 0, n = 0; r != NOT_SUPPORTED && k < in.n; k++) {
		size_t at = strlen(o->what);
		bool last = !memchr(constant + k + 1, true, in.n - k - 1);
		if (constant[k])
			snprintf(o->what + at, sizeof o->what - at, "%s%s%s", n++ ? ", " : " (constant: ",
			         S(mp->graph->input[k]->name), last ? ")" : "");
	}
	tensors_free(&in);
	tensors_free(&want);
	if (mp)
		onnx__model_proto__free_unpacked(mp, NULL);
	return r;
}

/* One test in a child: its outcome, or the signal that ended it. */
static void run_child(const char *dir, struct outcome *o)
{
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fd[0]);
		alarm(CASE_SECONDS);
		o->verdict = run_test(dir, o);
		ssize_t n = write(fd[1], o, sizeof *o);
		_exit(n == (ssize_t)sizeof *o ? 0 : 1);
	}
	close(fd[1]);
	size_t got = 0;
	for (ssize_t n; got < sizeof *o; got += (size_t)n)
		if ((n = read(fd[0], (char *)o + got, sizeof *o - got)) <= 0)
			break;
	close(fd[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (got == sizeof *o && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		o->verdict = failed(o, "did not finish in %d s", CASE_SECONDS);
	else if (WIFSIGNALED(st))
		o->verdict = failed(o, "crashed: signal %d (%s)", WTERMSIG(st),
		                    strsignal(WTERMSIG(st)));
	else
		o->verdict = failed(o, "the child exited with status %d", WEXITSTATUS(st));
}

/* ---- the list of skipped tests ------------------------------------------- */

struct skip {
	char *name;
	bool seen;
};

/* A list's entries: "test_name: reason" lines; '#' and blank lines
 * ignored. */
static struct skip *load_skips(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "%s: %s (make conformance-skips writes it)", path, strerror(errno));
	struct skip *s = NULL;
	size_t cap = 0;
	char line[2048];
	*n = 0;
	for (unsigned ln = 1; fgets(line, sizeof line, f); ln++) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char *colon = strstr(line, ": ");
		ck_assert_msg(colon && colon > line && strncmp(line, "test_", 5) == 0 &&
		              strcspn(line, " \t:") == (size_t)(colon - line),
		              "%s:%u: not 'test_name: reason'", path, ln);
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			s = realloc(s, cap * sizeof *s);
			ck_assert_ptr_nonnull(s);
		}
		s[*n] = (struct skip){ strndup(line, (size_t)(colon - line)), false };
		ck_assert_ptr_nonnull(s[*n].name);
		for (size_t i = 0; i < *n; i++)
			ck_assert_msg(strcmp(s[i].name, s[*n].name), "%s:%u: %s is listed twice", path,
			              ln, s[*n].name);
		(*n)++;
	}
	fclose(f);
	return s;
}

static void free_skips(struct skip *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].name);
	free(s);
}

static struct skip *find_skip(struct skip *s, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s[i].name, name))
			return &s[i];
	return NULL;
}

static int is_test(const struct dirent *e)
{
	return !strncmp(e->d_name, "test_", 5);
}

static bool named(const char *const *only, const char *name)
{
	for (; only && *only; only++)
		if (!strcmp(*only, name))
			return true;
	return !only;
}

/* What a run of the tests found; disagree: tests the list is wrong about. */
struct tally {
	size_t tests, ran, passed, listed, unsupported, disagree;
};

static const char *const sets[] = { "node", "pytorch-converted", "pytorch-operator", "simple" };

/* Test dir (named name) judged against the list's entry s (NULL: not
 * listed); with out, a failure is written there instead. */
static void judge(const char *dir, const char *name, struct skip *s, FILE *out, struct tally *n)
{
	struct outcome o = { 0 };
	n->tests++;
	run_child(dir, &o);
	if (s)
		s->seen = true;
	n->unsupported += o.verdict == NOT_SUPPORTED;
	n->ran += o.verdict != NOT_SUPPORTED;
	n->passed += o.verdict == PASSED;
	n->listed += o.verdict == FAILED && (s || out);
	if (o.verdict == FAILED && out)
		fprintf(out, "%s: %s\n", name, o.what);
	const char *problem = out ? NULL
	                    : o.verdict == FAILED && !s ? "fails and is not listed"
	                    : o.verdict == PASSED && s ? "passes: remove it from the list"
	                    : o.verdict == NOT_SUPPORTED && s ?
	                      "is not supported: remove it from the list" : NULL;
	n->disagree += problem != NULL;
	if (o.verdict != NOT_SUPPORTED || problem)
		printf("nodetests: %-44s %s: %s%s%s\n", name, o.verdict == PASSED ? "pass"
		       : o.verdict == FAILED ? "FAIL" : "unsupported", o.what,
		       problem ? "; ERROR: " : "", problem ? problem : "");
}

/* The tests of every set (only those named in only[], NULL-ended, when it
 * is given), each judged against the list at path, each disagreement an
 * ERROR line; with out, the failures are written there instead. */
static struct tally run_all(const char *path, FILE *out, const char *const *only)
{
	size_t nskips = 0;
	struct skip *skips = out ? NULL : load_skips(path, &nskips);
	struct tally n = { 0 };
	for (size_t set = 0; set < sizeof sets / sizeof sets[0]; set++) {
		char top[256], dir[512];
		struct dirent **ents;
		snprintf(top, sizeof top, TEST_DATA "/%s", sets[set]);
		int nt = scandir(top, &ents, is_test, alphasort);
		ck_assert_msg(nt > 0, "%s: %s (Debian's libonnx-testdata: tools/deps.sh installs it)",
		              top, nt < 0 ? strerror(errno) : "no tests");
		for (int t = 0; t < nt; t++) {
			const char *name = ents[t]->d_name;
			snprintf(dir, sizeof dir, "%s/%s", top, name);
			if (named(only, name))
				judge(dir, name, find_skip(skips, nskips, name), out, &n);
			free(ents[t]);
		}
		free(ents);
	}
	for (size_t i = 0; i < nskips; i++)
		if (!skips[i].seen) {
			printf("nodetests: %s: ERROR: listed in %s, but no such test\n", skips[i].name,
			       path);
			n.disagree++;
		}
	free_skips(skips, nskips);
	return n;
}

START_TEST(node_tests)
{
	const char *write_to = getenv("DNNQ_NODE_SKIPS_WRITE");
	FILE *out = NULL;
	if (write_to) {
		out = fopen(write_to, "w");
		ck_assert_msg(out, "%s: %s", write_to, strerror(errno));
		fprintf(out, "# ONNX backend tests (libonnx-testdata) that dnnq runs but does not"
		        " pass,\n# one 'test_name: reason' a line; suite nodetests fails for a test"
		        " that\n# fails unlisted or passes listed (tests/test_nodetests.c). Written"
		        " by\n# `make conformance-skips` from today's failures: review the diff.\n");
	}
	struct tally n = run_all(SKIPS, out, NULL);
	printf("nodetests: %zu tests: %zu ran, %zu passed, %zu skipped (listed), %zu not supported\n",
	       n.tests, n.ran, n.passed, n.listed, n.unsupported);
	if (out) {
		ck_assert_msg(fclose(out) == 0, "%s: %s", write_to, strerror(errno));
		printf("nodetests: wrote %s (%zu entries)\n", write_to, n.listed);
	}
	ck_assert_msg(n.disagree == 0, "%zu tests disagree with " SKIPS " (see the ERROR lines; "
	              "`make conformance-skips` writes it again)", n.disagree);
	ck_assert_uint_gt(n.passed, 0);
}
END_TEST

/* The list is checked both ways: against a list that leaves out a test
 * that fails (SKIPS' first), names one that passes (Relu), one that is
 * not supported (StringNormalizer) and one that does not exist, the run of
 * those tests finds four disagreements. */
START_TEST(node_tests_list_checked)
{
	size_t nskips;
	struct skip *skips = load_skips(SKIPS, &nskips);
	ck_assert_uint_gt(nskips, 0);
	char path[] = "/tmp/dnnq-node-skips-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "# a wrong list\ntest_relu: listed, though it passes\n"
	        "test_strnormalizer_export_monday_casesensintive_lower: listed, not supported\n"
	        "test_no_such_test: listed, though there is no such test\n");
	ck_assert_int_eq(fclose(f), 0);
	const char *only[] = { skips[0].name, "test_relu",
	                       "test_strnormalizer_export_monday_casesensintive_lower", NULL };
	printf("nodetests: against a wrong list, on purpose: four ERROR lines to come\n");
	struct tally n = run_all(path, NULL, only);
	unlink(path);
	ck_assert_uint_eq(n.tests, 3);
	ck_assert_uint_eq(n.ran, 2);
	ck_assert_uint_eq(n.passed, 1);
	ck_assert_uint_eq(n.unsupported, 1);
	ck_assert_uint_eq(n.disagree, 4);
	free_skips(skips, nskips);
}
END_TEST

Suite *suite_nodetests(void)
{
	Suite *s = suite_create("nodetests");
	TCase *tc = tcase_create("nodetests");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, node_tests);
	tcase_add_test(tc, node_tests_list_checked);
	suite_add_tcase(s, tc);
	return s;
}
