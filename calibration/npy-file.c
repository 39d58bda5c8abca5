/*
 * Thin file wrappers around the .npy buffer functions (calibration/npy.h):
 * the only file I/O in calibration/, and the whole-file reader the tools
 * share (dnnq-run and dnnq-bench read .dnnq models with it). Reading takes the whole file into one
 * buffer, growing it as data arrives and refusing to go past the caller's
 * limit (the size a stat reports is only a first guess: pipes and /proc
 * files have none), then hands the buffer to dnnq_npy_parse().
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calibration/npy.h"

static int grow(uint8_t **buf, size_t *cap, size_t limit)
{
	size_t n = *cap < 65536 ? 65536 : *cap > SIZE_MAX / 2 ? SIZE_MAX : *cap * 2;
	if (n > limit + 1 && limit < SIZE_MAX)
		n = limit + 1;
	uint8_t *p = realloc(*buf, n);
	if (!p)
		return DNNQ_E_NOMEM;
	*buf = p;
	*cap = n;
	return DNNQ_OK;
}

#define NPY_MAGIC "\x93NUMPY"

/* The whole stream into *buf (at most limit bytes). For a .npy (npy), a
 * stream that does not begin with its magic is refused as soon as its
 * first bytes are in, not after reading up to the limit (/dev/zero). */
static int slurp(FILE *f, const char *path, size_t limit, bool npy, uint8_t **buf,
                 size_t *len, struct dnnq_diag *diag)
{
	size_t cap = 0, n = 0, mlen = npy ? strlen(NPY_MAGIC) : 0;
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size <= limit)
		cap = (size_t)st.st_size + 1;          /* one more, to see the end */
	*buf = cap ? malloc(cap) : NULL;
	if (cap && !*buf)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", path);
	for (;;) {
		if (n == cap && (n > limit || grow(buf, &cap, limit)))
			break;
		size_t got = fread(*buf + n, 1, cap - n, f);
		if (n < mlen && n + got >= mlen && memcmp(*buf, NPY_MAGIC, mlen))
			return dnnq_diag_set(diag, DNNQ_E_FORMAT, "%s: not a .npy file%s", path,
			                     dnnq_npy_not_npy(*buf, n + got));
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: read failed: %s", path, strerror(errno));
	if (n > limit)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: larger than the %zu-byte limit",
		                     path, limit);
	if (n == cap && !feof(f))
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", path);
	*len = n;
	return DNNQ_OK;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int k = 7; k >= 0; k--)
		v = v << 8 | p[k];
	return v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

/* The doubles at p become floats in place (float i at p + 4i is written
 * after double i at p + 8i has been read, and 4i <= 8i). */
static void f64_to_f32(uint8_t *p, struct dnnq_npy *a)
{
	for (size_t i = 0; i < a->count; i++) {
		uint64_t bits = le64(p + 8 * i);
		double v;
		memcpy(&v, &bits, sizeof v);
		float f = (float)v;
		uint32_t fb;
		memcpy(&fb, &f, sizeof fb);
		put_le32(p + 4 * i, fb);
	}
	a->nbytes = a->count * 4;
}

/* The int64s at p become int32s in place (as f64_to_f32); DNNQ_E_RANGE,
 * naming the element, at the first value outside int32's range. */
static int i64_to_i32(uint8_t *p, struct dnnq_npy *a, const char *path,
                      struct dnnq_diag *diag)
{
	for (size_t i = 0; i < a->count; i++) {
		int64_t v = (int64_t)le64(p + 8 * i);
		if (v < INT32_MIN || v > INT32_MAX)
			return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: element %zu = %" PRId64 ": an "
			                     "int64 array is read as int32, and this value does not fit",
			                     path, i, v);
		put_le32(p + 4 * i, (uint32_t)v);
	}
	a->nbytes = a->count * 4;
	return DNNQ_OK;
}

static int read_whole(const char *path, size_t limit, bool npy, void **buf, size_t *len,
                      struct dnnq_diag *diag)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: %s", path, strerror(errno));
	uint8_t *data = NULL;
	int rc = slurp(f, path, limit, npy, &data, len, diag);
	fclose(f);
	if (rc) {
		free(data);
		return rc;
	}
	*buf = data;
	return DNNQ_OK;
}

int dnnq_file_read(const char *path, size_t limit, void **buf, size_t *len,
                   struct dnnq_diag *diag)
{
	return read_whole(path, limit, false, buf, len, diag);
}

const char *dnnq_npy_narrowed(const struct dnnq_npy *a)
{
	return a->from_f64 ? "float64 converted to float32" : a->from_i64 ? "int64 converted to "
	       "int32" : NULL;
}

int dnnq_npy_read_file(const char *path, size_t limit, void **buf, struct dnnq_npy *out,
                       struct dnnq_diag *diag)
{
	if (!path || !buf || !out)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "npy_read_file: NULL argument");
	*buf = NULL;
	void *file = NULL;
	size_t len = 0;
	int rc = read_whole(path, limit, true, &file, &len, diag);
	uint8_t *data = file;
	struct dnnq_diag pd;
	if (!rc && (rc = dnnq_npy_parse_flags(data, len, DNNQ_NPY_F64 | DNNQ_NPY_I64, out,
	                                      &pd)) != 0)
		dnnq_diag_set(diag, rc, "%s: %s", path, pd.msg);
	if (!rc && out->from_i64)
		rc = i64_to_i32(data + out->data_offset, out, path, diag);
	if (rc) {
		free(data);
		return rc;
	}
	if (out->from_f64)
		f64_to_f32(data + out->data_offset, out);
	*buf = data;
	return DNNQ_OK;
}

int dnnq_file_replace(const char *path, const void *buf, size_t len, struct dnnq_diag *diag)
{
	static _Atomic unsigned seq;
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), seq++) >=
	    sizeof tmp)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: path too long", path);
	/* O_EXCL: a file or symlink already under the temporary name is not
	 * written through */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0)	/* the name the caller gave, but for a leftover temporary file */
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: cannot write: %s", errno == EEXIST ? tmp : path,
		                     strerror(errno));
	const uint8_t *p = buf;
	int err = 0;
	for (size_t off = 0; off < len && !err;) {
		ssize_t n = write(fd, p + off, len - off);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EINTR)
			err = errno;
	}
	if (close(fd) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err) {
		unlink(tmp);
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: cannot write: %s", path, strerror(err));
	}
	return DNNQ_OK;
}

int dnnq_npy_write_file(const char *path, enum dnnq_dtype dt, const size_t *shape,
                        unsigned ndim, const void *data, struct dnnq_diag *diag)
{
	size_t size;
	int rc = dnnq_npy_encoded_size(dt, shape, ndim, &size, diag);
	if (rc)
		return rc;
	uint8_t *buf = malloc(size);
	if (!buf)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: %zu bytes: out of memory", path, size);
	rc = dnnq_npy_encode(buf, size, dt, shape, ndim, data, NULL, diag);
	if (!rc)
		rc = dnnq_file_replace(path, buf, size, diag);
	free(buf);
	return rc;
}

int dnnq_npy_make_dir(const char *dir, struct dnnq_diag *diag)
{
	char p[DNNQ_NPY_PATH_MAX];
	size_t n = dir ? strlen(dir) : 0;
	/* room for "/STEM.npy" after it: no output path is ever cut short */
	if (!n || n + 1 + DNNQ_NPY_STEM_MAX + 4 >= sizeof p)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "output directory '%.200s': %s",
		                     dir ? dir : "", n ? "too long" : "empty");
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		char c = p[i];
		p[i] = 0;
		if (mkdir(p, 0777) && errno != EEXIST)
			return dnnq_diag_set(diag, DNNQ_E_IO, "%s: cannot create: %s", p, strerror(errno));
		p[i] = c;
	}
	struct stat st;
	if (stat(dir, &st))
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: not a directory", dir);
	if (access(dir, W_OK | X_OK))
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: not writable: %s", dir, strerror(errno));
	return DNNQ_OK;
}

static bool stem_taken(const char *s, char (*stems)[DNNQ_NPY_STEM_MAX], size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (!strcmp(stems[k], s))
			return true;
	return false;
}

void dnnq_npy_output_stem(const char *name, char (*stems)[DNNQ_NPY_STEM_MAX], size_t i)
{
	char safe[64];
	size_t n = 0;
	for (; name[n] && n < sizeof safe - 1; n++) {
		char ch = name[n];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || (ch == '.' && n);
		safe[n] = ok ? ch : '_';
	}
	safe[n] = 0;
	if (!n)	/* an empty name: not the hidden file .npy */
		strcpy(safe, "_");
	/* at most i stems are taken: one of -2 .. -(i + 2) is free */
	snprintf(stems[i], DNNQ_NPY_STEM_MAX, "%s", safe);
	for (size_t k = 2; stem_taken(stems[i], stems, i); k++)
		snprintf(stems[i], DNNQ_NPY_STEM_MAX, "%s-%zu", safe, k);
}
