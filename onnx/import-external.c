/*
 * onnx/import-external.c — a tensor whose bytes live outside the model
 * (ONNX "external data": data_location EXTERNAL, external_data entries
 * location, offset, length, checksum), as exporters write models of more
 * than 2 GiB and as `onnx.save_model(..., save_as_external_data=True)`
 * writes any model.
 *
 * The location names a file relative to the model's directory
 * (dnnq_onnx_import_opts.data_dir). Like the bytes of the model itself it
 * is not trusted: an absolute location or one with a `..` component is
 * refused (a model must not read files outside its own directory), and so
 * is one through a symbolic link (the directory the model came in, an
 * unpacked archive, may hold a link to any file: w.bin -> /etc/shadow was
 * read and became the model's weights), the
 * file must be a regular one, offset and length are decimal and must lie
 * inside it, and the length, when given, must be the bytes the tensor's
 * dims and type need. The bytes are read whole, before anything else
 * looks at them, so a file rewritten during the import changes nothing
 * but the values.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/import-int.h"

/* A decimal count (digits only, no sign, no overflow) into *v. */
static bool parse_count(const char *s, uint64_t *v)
{
	*v = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || *v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	return true;
}

/* A location that stays inside the model's directory: relative, no ".."
 * component, no empty name. */
static bool location_ok(const char *loc)
{
	if (!loc || !*loc || loc[0] == '/')
		return false;
	for (const char *p = loc; *p;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += n + (e != NULL);
	}
	return true;
}

/* loc (a location_ok one) opened for reading under dir one name at a
 * time, none followed when it is a symbolic link (ELOOP; O_NOFOLLOW, which
 * every kernel has): each name but the last opened as itself (O_PATH)
 * and required to be a directory. */
static int open_beneath(const char *dir, const char *loc)
{
	char name[NAME_MAX + 1];
	struct stat st;
	int at = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), err;
	for (const char *p = loc; at >= 0;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n >= sizeof name) {
			close(at);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, p, n);
		name[n] = 0;
		if (!e) {
			int fd = openat(at, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			err = errno;
			close(at);
			errno = err;
			return fd;
		}
		int next = n ? openat(at, name, O_PATH | O_NOFOLLOW | O_CLOEXEC) : dup(at);	/* a//b */
		err = next < 0 || fstat(next, &st) ? errno
		      : S_ISDIR(st.st_mode) ? 0 : S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
		close(at);
		if (err) {
			if (next >= 0)
				close(next);
			errno = err;
			return -1;
		}
		at = next;
		p = e + 1;
	}
	return -1;
}

int imp_external_data(struct imp *m, const Onnx__TensorProto *t, size_t need, const char *what,
                      void **out)
{
	const char *loc = NULL, *off_s = NULL, *len_s = NULL;
	*out = NULL;
	for (size_t i = 0; i < t->n_external_data; i++) {
		const Onnx__StringStringEntryProto *e = t->external_data[i];
		if (!e || !e->key)
			continue;
		if (!strcmp(e->key, "location"))
			loc = e->value;
		else if (!strcmp(e->key, "offset"))
			off_s = e->value;
		else if (!strcmp(e->key, "length"))
			len_s = e->value;
	}
	const char *dir = m->opts ? m->opts->data_dir : NULL;
	if (!loc)
		return imp_problem(m, DNNQ_E_FORMAT, "%s: external data without a location", what),
		       DNNQ_E_FORMAT;
	if (!location_ok(loc))
		return imp_problem(m, DNNQ_E_FORMAT, "%s: external data location '%s': must be a "
		                   "path inside the model's directory (relative, no '..')", what,
		                   loc), DNNQ_E_FORMAT;
	if (!dir)
		return imp_problem(m, DNNQ_E_UNSUPPORTED, "%s: external data '%s': the model was "
		                   "given as bytes, not as a file beside its data", what, loc),
		       DNNQ_E_UNSUPPORTED;
	uint64_t off = 0, len = need;
	if ((off_s && !parse_count(off_s, &off)) || (len_s && !parse_count(len_s, &len)))
		return imp_problem(m, DNNQ_E_FORMAT, "%s: external data '%s': offset '%s' or length "
		                   "'%s' is not a count", what, loc, off_s ? off_s : "",
		                   len_s ? len_s : ""), DNNQ_E_FORMAT;
	if (len != need)
		return imp_problem(m, DNNQ_E_FORMAT, "%s: external data '%s': length %llu, the "
		                   "tensor needs %zu bytes", what, loc, (unsigned long long)len, need),
		       DNNQ_E_FORMAT;
	int fd = open_beneath(dir, loc), err = fd < 0 ? errno : 0;
	struct stat st;
	if (!err && fstat(fd, &st))
		err = errno;
	else if (!err && !S_ISREG(st.st_mode))
		err = EINVAL;
	if (err) {
		if (fd >= 0)
			close(fd);
		return imp_problem(m, DNNQ_E_IO, "%s: external data '%s' in %s: %s", what, loc, dir,
		                   err == EINVAL ? "not a regular file"
		                   : err == ELOOP ? "a symbolic link on the way (the data must be in"
		                                    " the model's directory: copy it in, cp -L)" : strerror(err)),
		       DNNQ_E_IO;
	}
	if (off > (uint64_t)st.st_size || need > (uint64_t)st.st_size - off) {
		close(fd);
		return imp_problem(m, DNNQ_E_FORMAT, "%s: external data '%s': offset %llu + %zu "
		                   "bytes pass its end (%lld bytes)", what, loc,
		                   (unsigned long long)off, need, (long long)st.st_size),
		       DNNQ_E_FORMAT;
	}
	/* the file holds them: they count as the model's bytes (the limit on
	 * constants scales with them) before they count against that limit */
	m->model_bytes += need;
	if (imp_const_over(m, need, what)) {
		close(fd);
		return DNNQ_E_NOMEM;
	}
	uint8_t *buf = malloc(need ? need : 1);
	size_t got = 0;
	while (buf && got < need) {
		ssize_t r = pread(fd, buf + got, need - got, (off_t)(off + got));
		if (r <= 0 && !(r < 0 && errno == EINTR))
			break;
		got += r > 0 ? (size_t)r : 0;
	}
	close(fd);
	if (!buf)
		return imp_problem(m, DNNQ_E_NOMEM, "%s: out of memory", what), DNNQ_E_NOMEM;
	if (got < need) {
		free(buf);
		return imp_problem(m, DNNQ_E_IO, "%s: external data '%s': read %zu of %zu bytes",
		                   what, loc, got, need), DNNQ_E_IO;
	}
	*out = buf;
	return 0;
}

char *dnnq_onnx_data_dir(const char *model_path)
{
	const char *slash = strrchr(model_path, '/');
	return slash ? strndup(model_path, slash == model_path ? 1 : (size_t)(slash - model_path))
	             : strdup(".");
}
