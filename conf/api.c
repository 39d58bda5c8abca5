/*
 * The public face of conf/ (conf/config.h): the default config, parsing a
 * buffer, loading a file, freeing, and the two helpers a reload diffs
 * model lists with. dnnq_config_parse is the one entry point over outside
 * input (the fuzz harness calls it): it builds the tree (tree.c), walks
 * the schema over it (config.c) into a local config, and copies that out
 * only when all of it is valid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/internal.h"
#include "shm/dnnq_path.h"

static void default_cpus(struct dnnq_config_workers *wk, const cpu_set_t *allowed)
{
	wk->ncpus = 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, allowed))
			wk->cpus[wk->ncpus++] = c;
	if (!wk->ncpus)
		wk->cpus[wk->ncpus++] = 0;
}

void dnnq_config_default(struct dnnq_config *out)
{
	cpu_set_t allowed;
	memset(out, 0, sizeof *out);
	conf_default_socket(out->listen.path, sizeof out->listen.path);
	out->listen.mode = 0660;
	if (conf_affinity(&allowed))
		CPU_ZERO(&allowed);
	default_cpus(&out->workers, &allowed);
	out->workers.spin_us = 50;
	out->workers.reserve_max_ms = 100;
	out->limits.max_clients = 256;
	out->limits.max_session_bytes = (uint64_t)1 << 30;
	out->limits.max_inflight = 64;
	out->limits.max_batch = 64;
	out->limits.max_sessions_per_uid = 64;
	out->limits.max_bytes_per_uid = (uint64_t)4 << 30;
	out->metrics.interval_s = 5;
	out->log_level = DNNQ_CONFIG_LOG_INFO;
}

void dnnq_config_free(struct dnnq_config *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->nmodels; i++)
		free(c->models[i].path);
	free(c->models);
	free(c->access.uids);
	free(c->access.gids);
	memset(c, 0, sizeof *c);
}

int dnnq_config_parse(const char *buf, size_t len, const char *filename,
                      struct dnnq_config *out, struct dnnq_diag *diag)
{
	struct dnnq_config c;
	struct conf_walk w = { .file = filename ? filename : "<config>", .filename = filename,
	                       .diag = diag, .c = &c };
	struct conf_tree t = { 0 };
	int rc, e;
	dnnq_config_default(&c);
	if (len > DNNQ_CONFIG_FILE_MAX)
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: larger than %u bytes", w.file,
		                     DNNQ_CONFIG_FILE_MAX);
	if ((e = conf_affinity(&w.allowed)))
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: sched_getaffinity: %s", w.file, strerror(-e));
	default_cpus(&c.workers, &w.allowed);
	if ((rc = conf_tree_build(&t, buf ? buf : "", buf ? len : 0, w.file, diag)))
		goto out;
	rc = conf_walk_config(&w, t.root);
	if (filename)
		snprintf(c.file, sizeof c.file, "%s", filename);
out:
	conf_tree_free(&t);
	free(w.base);
	if (rc)
		dnnq_config_free(&c);
	else
		*out = c;
	return rc;
}

/* Whether every user may change an inode of mode m. Another owner is the
 * operator's choice (a deploy user's models, root serving a user's file):
 * only a file or directory anyone may write is refused. */
static const char *others_may_write(mode_t m)
{
	return m & S_IWOTH ? "writable by every user" : NULL;
}

/* The length of the directory above r's first n bytes. */
static size_t up_len(const char *r, size_t n)
{
	size_t pn = (size_t)((const char *)memrchr(r, '/', n) - r);
	return pn ? pn : 1;
}

/*
 * The directories on the way to r (a resolved path: realpath's, so no
 * symlink and no ".." is left) judged, up to /: none may be writable by
 * every user, since another user could rename r's way away and put their
 * own in its place, except a sticky one (/tmp), where only an entry's owner
 * may rename or remove it; there the entry on r's way must be root's or
 * ours, since anyone may create that name while it is missing. st: r's
 * inode when r is the file `path` names, from its directory up; NULL when
 * r is path's directory, judged itself first (a sticky one passes: what
 * goes in it is the caller's). Messages name `path` as given, with " -> r"
 * when a symlink led elsewhere.
 */
static int way_trusted(const char *path, const char *r, const struct stat *st,
                       const char *what, struct dnnq_diag *diag)
{
	char dir[PATH_MAX];
	struct stat child = st ? *st : (struct stat){ 0 }, ds;
	const char *arrow = st && strcmp(path, r) ? " -> " : "", *to = *arrow ? r : "";
	size_t n = strlen(r), dn = st ? up_len(r, n) : n;
	for (unsigned up = 0;; up++) {
		snprintf(dir, sizeof dir, "%.*s", (int)dn, r);
		if (stat(dir, &ds))
			return dnnq_diag_set(diag, DNNQ_E_IO, "%s%s%s: stat of %s: %s", path, arrow, to,
			                     dir, strerror(errno));
		bool own = st && !up;   /* child is the file */
		if (others_may_write(ds.st_mode) && !(ds.st_mode & S_ISVTX))
			return dnnq_diag_set(diag, DNNQ_E_PERM, "%s%s%s: %s%s%s is writable by every user"
			                     " (mode %04o, uid %u): another user could replace %s", path,
			                     arrow, to, up ? "" : "its directory ", dir,
			                     up ? ", a directory on its way," : "",
			                     (unsigned)(ds.st_mode & 07777), (unsigned)ds.st_uid, what);
		if (others_may_write(ds.st_mode) && (st || up) && child.st_uid != 0 &&
		    child.st_uid != geteuid())
			return dnnq_diag_set(diag, DNNQ_E_PERM, "%s%s%s: %.*s%sowned by uid %u, in %s, a"
			                     " directory every user may write to (mode %04o): anyone could"
			                     " have put %s there; only root's or uid %u's is trusted", path,
			                     arrow, to, own ? 0 : (int)n, r,
			                     own ? "" : ", a directory on its way, is ",
			                     (unsigned)child.st_uid, dir, (unsigned)(ds.st_mode & 07777),
			                     own ? what : "it", (unsigned)geteuid());
		if (dn == 1)
			return 0;
		child = ds;
		n = dn;
		dn = up_len(r, n);
	}
}

/* links_trusted's judge: what a walk met, and the path and what it names
 * for way_trusted's messages */
struct link_judge {
	const char *path, *what;
	struct dnnq_diag *diag;
};

static int link_trusted(void *arg, const char *at, const struct stat *st)
{
	const struct link_judge *j = arg;
	return S_ISLNK(st->st_mode) ? way_trusted(j->path, at, st, j->what, j->diag) : 0;
}

/*
 * Every symlink met on the way to path judged where it lies: realpath's
 * walk done by hand (dnnq_path_walk), and the directory holding each link
 * (resolved so far), with every one above it, judged as way_trusted judges
 * a file's, the link standing for the file in a sticky one. The resolved
 * way never passes through that directory: a link in a directory every
 * user may write to was taken while it pointed somewhere trusted, and
 * anyone could point it at a file of theirs later (a reload then served
 * it). A name that does not exist ends the walk: the caller's resolution
 * fails there.
 */
static int links_trusted(const char *path, const char *what, struct dnnq_diag *diag)
{
	char at[PATH_MAX];
	struct link_judge j = { path, what, diag };
	int rc = dnnq_path_walk(path, true, link_trusted, &j, at);
	switch (rc) {
	case DNNQ_WALK_CWD:
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: getcwd: %s", path, strerror(errno));
	case DNNQ_WALK_MISSING:
		return 0;
	case DNNQ_WALK_READLINK:
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: readlink %s: %s", path, at,
		                     strerror(errno));
	case DNNQ_WALK_LONG:
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: longer than PATH_MAX", path);
	case DNNQ_WALK_LOOP:
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: %s", path, strerror(ELOOP));
	}
	return rc;
}

int dnnq_config_dir_trusted(const char *path, const char *what, struct dnnq_diag *diag)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
	         slash ? path : ".");
	int rc = links_trusted(path, what, diag);
	if (rc)
		return rc;
	/* where path names something, the way judged is the one it resolves
	 * to: when its last name is a link, the directory holding the link
	 * (judged above) is not the one that holds what path opens */
	struct stat st;
	char *r = realpath(path, NULL);
	if (r && !stat(r, &st)) {
		rc = way_trusted(path, r, &st, what, diag);
		free(r);
		return rc;
	}
	free(r);
	r = realpath(dir, NULL);
	rc = r ? way_trusted(path, r, NULL, what, diag)
	       : dnnq_diag_set(diag, DNNQ_E_IO, "%s: stat of its directory %s: %s", path, dir,
	                       strerror(errno));
	free(r);
	return rc;
}

int dnnq_config_file_trusted(const char *path, const struct stat *st, const char *what,
                             struct dnnq_diag *diag)
{
	const char *who = others_may_write(st->st_mode);
	if (who)
		return dnnq_diag_set(diag, DNNQ_E_PERM, "%s: %s (mode %04o): another user could "
		                     "change %s", path, who, (unsigned)(st->st_mode & 07777), what);
	/* the file read is judged where it lies (a symlink in a trusted
	 * directory may point into one every user may write), and so is
	 * every link on the way to it */
	int rc = links_trusted(path, what, diag);
	if (rc)
		return rc;
	struct stat rs;
	char *r = realpath(path, NULL);
	rc = !r || stat(r, &rs)
	     ? dnnq_diag_set(diag, DNNQ_E_IO, "%s: cannot resolve: %s", path, strerror(errno))
	     : rs.st_dev != st->st_dev || rs.st_ino != st->st_ino
	     ? dnnq_diag_set(diag, DNNQ_E_IO, "%s: replaced while it was opened", path)
	     : way_trusted(path, r, st, what, diag);
	free(r);
	return rc;
}

/* The whole file into a malloc'd buffer of at most DNNQ_CONFIG_FILE_MAX.
 * O_NONBLOCK: a FIFO (or a device) named as the config must not block the
 * open until a writer comes; it is refused as "not a regular file", and a
 * regular file ignores the flag. */
static int read_file(const char *path, char **buf, size_t *len, struct dnnq_diag *diag)
{
	*buf = NULL;
	*len = 0;
	/* the way first: where it cannot be trusted, another user chose what
	 * path opens (a device whose open alone does something) */
	int rc = dnnq_config_dir_trusted(path, "dnnqd's config", diag);
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return dnnq_diag_set(diag, DNNQ_E_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = dnnq_diag_set(diag, DNNQ_E_IO, "%s: %s", path,
		                   fstat(fd, &st) ? strerror(errno) : "not a regular file");
		goto out;
	}
	if ((rc = dnnq_config_file_trusted(path, &st, "dnnqd's config", diag)))
		goto out;
	if (!(*buf = malloc(DNNQ_CONFIG_FILE_MAX + 1))) {
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", path);
		goto out;
	}
	/* one byte past the limit tells a file that is too large */
	while (*len <= DNNQ_CONFIG_FILE_MAX) {
		ssize_t n = read(fd, *buf + *len, DNNQ_CONFIG_FILE_MAX + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = dnnq_diag_set(diag, DNNQ_E_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (!n)
			break;
		*len += (size_t)n;
	}
	if (*len > DNNQ_CONFIG_FILE_MAX)
		rc = dnnq_diag_set(diag, DNNQ_E_RANGE, "%s: larger than %u bytes", path,
		                   DNNQ_CONFIG_FILE_MAX);
out:
	close(fd);
	if (rc) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

int dnnq_config_load(const char *path, struct dnnq_config *out, struct dnnq_diag *diag)
{
	char *buf;
	size_t len;
	int rc = read_file(path, &buf, &len, diag);
	if (!rc)
		rc = dnnq_config_parse(buf, len, path, out, diag);
	free(buf);
	return rc;
}

const struct dnnq_config_model *dnnq_config_model_find(const struct dnnq_config *c,
                                                       const char *name)
{
	for (unsigned i = 0; i < c->nmodels; i++)
		if (!strcmp(c->models[i].name, name))
			return &c->models[i];
	return NULL;
}

static bool batching_equal(const struct dnnq_config_batching *a,
                           const struct dnnq_config_batching *b)
{
	return a->enabled == b->enabled && a->max_queue_delay_us == b->max_queue_delay_us &&
	       a->npreferred == b->npreferred &&
	       !memcmp(a->preferred, b->preferred, a->npreferred * sizeof a->preferred[0]);
}

void dnnq_config_model_where(const struct dnnq_config *c, unsigned i, char *buf, size_t len)
{
	const struct dnnq_config_model *m = &c->models[i];
	if (m->line && c->file[0])
		snprintf(buf, len, "%s:%u:%u: models[%u].path: ", c->file, m->line, m->col, i);
	else if (len)
		buf[0] = 0;
}

bool dnnq_config_model_equal(const struct dnnq_config_model *a,
                             const struct dnnq_config_model *b)
{
	return !strcmp(a->name, b->name) && !strcmp(a->path, b->path) &&
	       a->max_batch == b->max_batch && a->threads == b->threads && a->warmup == b->warmup &&
	       batching_equal(&a->batching, &b->batching);
}
