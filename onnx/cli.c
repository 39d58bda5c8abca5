/*
 * onnx/cli.c — what dnnq-convert and dnnq-run share (onnx/cli.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "onnx/cli.h"

#define NPY_LIMIT ((size_t)1 << 30)
#define BAR_WIDTH 40

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void dnnq_progress_start(struct dnnq_progress *p, const char *label, bool quiet)
{
	*p = (struct dnnq_progress){ !quiet && isatty(STDERR_FILENO), label, -1, -1, now_s() };
}

void dnnq_progress_update(struct dnnq_progress *p, size_t done, size_t total)
{
	if (!p->on || total == 0)
		return;
	done = done < total ? done : total;
	int pct = (int)(done * 100 / total);
	double el = now_s() - p->t0;
	long eta = done ? (long)(el * (double)(total - done) / (double)done + 0.5) : -1;
	if (pct == p->last && eta == p->last_eta)
		return;
	p->last = pct;
	p->last_eta = eta;
	int fill = pct * BAR_WIDTH / 100;
	fprintf(stderr, "\r%s [%.*s%*s] %3d%%", p->label, fill,
	        "########################################", BAR_WIDTH - fill, "", pct);
	if (eta >= 0)
		fprintf(stderr, "  ETA %ld:%02ld ", eta / 60, eta % 60);
	fflush(stderr);
}

void dnnq_progress_end(struct dnnq_progress *p)
{
	if (p->on && p->last >= 0)
		fprintf(stderr, "\n");
	p->last = -1;
	p->last_eta = -1;
}

int dnnq_npy_load_batch(const char *path, uint32_t ndim, const int64_t *dims, bool converted,
                        void **buf, struct dnnq_npy *a, struct dnnq_diag *diag)
{
	int rc = dnnq_npy_read_file(path, NPY_LIMIT, buf, a, diag);	/* its lines name path */
	if (rc)
		return rc;
	bool ok = a->ndim == ndim && ndim >= 1 && a->shape[0] >= 1;
	for (uint32_t k = 1; ok && k < ndim; k++)
		ok = (int64_t)a->shape[k] == dims[k];
	if (ok)
		return DNNQ_OK;
	char want[160] = "[n", got[DNNQ_NPY_MAX_DIMS * 22 + 2] = "[";	/* ", " + 20 digits */
	for (uint32_t k = 1; k < ndim; k++)
		snprintf(want + strlen(want), sizeof want - strlen(want), ", %lld",
		         (long long)dims[k]);
	for (unsigned k = 0; k < a->ndim; k++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", k ? ", " : "",
		         a->shape[k]);
	const char *hint = dnnq_npy_shape_hint(a, ndim, dims, converted);
	free(*buf);
	*buf = NULL;
	return dnnq_diag_set(diag, DNNQ_E_SHAPE, "%s: shape %s], want %s] (n >= 1 samples)%s",
	                     path, got, want, hint);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dnnq_npy_list(const char *path, char ***paths, size_t *n, struct dnnq_diag *diag)
{
	struct stat st;
	*paths = NULL;
	*n = 0;
	if (stat(path, &st))
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		char **one = malloc(sizeof *one);
		if (!one || !(one[0] = strdup(path))) {
			free(one);
			return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", path);
		}
		*paths = one;
		*n = 1;
		return DNNQ_OK;
	}
	DIR *d = opendir(path);
	if (!d)
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: %s", path, strerror(errno));
	size_t cap = 0;
	int rc = DNNQ_OK;
	for (struct dirent *e; !rc && (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".npy"))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			char **p = realloc(*paths, cap * sizeof *p);
			if (!p) {
				rc = DNNQ_E_NOMEM;
				break;
			}
			*paths = p;
		}
		if (asprintf(&(*paths)[*n], "%s/%s", path, e->d_name) < 0)
			rc = DNNQ_E_NOMEM;
		else
			++*n;
	}
	closedir(d);
	if (!rc && *n == 0)
		rc = dnnq_diag_set(diag, DNNQ_E_IO, "%s: no .npy file in the directory", path);
	else if (rc)
		dnnq_diag_set(diag, rc, "%s: out of memory", path);
	if (rc) {
		for (size_t i = 0; i < *n; i++)
			free((*paths)[i]);
		free(*paths);
		*paths = NULL;
		*n = 0;
		return rc;
	}
	qsort(*paths, *n, sizeof **paths, by_name);
	return DNNQ_OK;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void dnnq_latency_summary(double *t, size_t n, struct dnnq_latency *out)
{
	*out = (struct dnnq_latency){ .runs = n };
	if (n == 0)
		return;
	qsort(t, n, sizeof *t, by_value);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += t[i];
	out->min_ms = t[0];
	out->median_ms = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	out->p99_ms = t[(n * 99 + 99) / 100 - 1];
	out->mean_ms = sum / (double)n;
}

int dnnq_input_shape_parse(char *arg, struct dnnq_onnx_shape *s, struct dnnq_diag *diag)
{
	char *eq = strrchr(arg, '=');
	*s = (struct dnnq_onnx_shape){ .name = arg };
	if (!eq || eq == arg)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "NAME=D0xD1x... expected");
	*eq = '\0';
	for (char *p = eq + 1;; p++) {
		char *end;
		errno = 0;
		long long d = strtoll(p, &end, 10);
		if (end == p || errno || d < 1 || d > INT32_MAX || s->ndim == DNNQ_IR_MAX_DIMS ||
		    (*end && *end != 'x'))
			return dnnq_diag_set(diag, DNNQ_E_INVAL, "'%s': dims are positive integers "
			                     "(at most 2^31 - 1), at most %d of them, joined by 'x'",
			                     eq + 1, DNNQ_IR_MAX_DIMS);
		s->dims[s->ndim++] = d;
		p = end;
		if (!*p)
			return DNNQ_OK;
	}
}

int dnnq_input_value_parse(char *arg, struct dnnq_onnx_value *v, struct dnnq_diag *diag)
{
	char *eq = strchr(arg, '=');
	*v = (struct dnnq_onnx_value){ .name = arg };
	if (!eq || eq == arg || !eq[1])
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "NAME=V[,V...] expected");
	*eq = '\0';
	v->text = eq + 1;
	return DNNQ_OK;
}

int dnnq_max_constants_parse(const char *arg, size_t *bytes, struct dnnq_diag *diag)
{
	char *end;
	errno = 0;
	unsigned long mib = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || !mib ||
	    mib > DNNQ_ONNX_MAX_CONST_BYTES >> 20)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "MiB of constants, an integer in [1, %zu]",
		                     DNNQ_ONNX_MAX_CONST_BYTES >> 20);
	*bytes = (size_t)mib << 20;
	return DNNQ_OK;
}

int dnnq_sample_shape(const char *path, const char *name, struct dnnq_onnx_shape *s,
                        struct dnnq_diag *diag)
{
	void *buf = NULL;
	struct dnnq_npy a;
	int rc = dnnq_npy_read_file(path, NPY_LIMIT, &buf, &a, diag);	/* its lines name path */
	free(buf);
	if (rc)
		return rc;
	*s = (struct dnnq_onnx_shape){ .ndim = a.ndim };
	if (name && !(s->name = strdup(name)))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", path);
	for (unsigned k = 0; k < a.ndim && k < DNNQ_IR_MAX_DIMS; k++)
		s->dims[k] = (int64_t)a.shape[k];
	return DNNQ_OK;
}

void dnnq_sample_shapes_free(struct dnnq_onnx_shape *shapes, size_t n)
{
	for (size_t i = 0; shapes && i < n; i++)
		free((char *)shapes[i].name);
	free(shapes);
}

int dnnq_sample_shapes(const char *path, struct dnnq_onnx_shape **shapes, size_t *n,
                       struct dnnq_diag *diag)
{
	char **paths;
	size_t np;
	struct stat st;
	*shapes = NULL;
	*n = 0;
	int rc = dnnq_npy_list(path, &paths, &np, diag);
	if (rc)
		return rc;
	bool dir = !stat(path, &st) && S_ISDIR(st.st_mode);
	size_t want = dir ? np + 1 : 1;
	struct dnnq_onnx_shape *s = calloc(want, sizeof *s);
	if (!s)
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", path);
	for (size_t i = 0; !rc && dir && i < np; i++, ++*n) {
		const char *base = strrchr(paths[i], '/') + 1;
		char *stem = strndup(base, strlen(base) - 4);
		rc = stem ? dnnq_sample_shape(paths[i], stem, &s[i], diag)
		          : dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", path);
		free(stem);
	}
	if (!rc && !(rc = dnnq_sample_shape(paths[0], NULL, &s[*n], diag)))
		++*n;
	for (size_t i = 0; i < np; i++)
		free(paths[i]);
	free(paths);
	if (rc) {
		dnnq_sample_shapes_free(s, *n);
		*n = 0;
		return rc;
	}
	*shapes = s;
	return DNNQ_OK;
}
