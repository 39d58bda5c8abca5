/*
 * Hot reload (reload.h).
 *
 * Triggers. SIGHUP reloads at once. Files are watched through their
 * parent directories (IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE, IN_DELETE),
 * matched by name: a file written in place ends with IN_CLOSE_WRITE, one
 * renamed over (the atomic replace) with IN_MOVED_TO on the directory,
 * and a watch on the file itself would follow the old inode away. Every
 * matching event restarts a quiet period of DNNQD_RELOAD_QUIET_MS; the
 * reload starts when it ends, so a burst of writes is one reload. A
 * queue overflow counts as a change. The watched set is the config file
 * and every model path of the last config read plus the served table's
 * (a model that failed to load is watched too, so fixing it reloads),
 * each also where it leads when it is a symlink; it is recomputed after
 * every reload, so a link pointed elsewhere is followed.
 *
 * A reload runs on a thread of its own, so the control loop keeps serving
 * its sockets: the thread re-reads the settings (the config file, or the
 * default, with the command line over it: options.h) and builds the next
 * table from the served one (dnnqd_models_next: unchanged versions shared,
 * changed ones loaded, every worker's graph built and warmed up). The
 * served table cannot change meanwhile, because only the control loop
 * publishes and only after this thread ends. The control loop then
 * publishes the new table when something changed, or keeps the served one
 * and the error: a failed reload changes nothing that serves, and its
 * message stays in the STATS line until a reload succeeds.
 *
 * Only the models follow a reload. The listening socket, the workers, the
 * limits, the access lists, the metrics file and the log level are read at
 * start; a reload that reads another value of one of them says which at
 * warning (limits.max_inflight changed in the file, the reload "worked"
 * and nothing told the operator that the daemon still had the old one),
 * once for the same keys, until the file agrees with the daemon again.
 * limits.max_batch does follow: it is the models' default and cap.
 *
 * A failure is not news every time. A model file missing from a sticky
 * directory (/tmp) may be created and deleted by another user in a loop,
 * each change a failed reload: the lines about failures (a reload's
 * error, a directory that cannot be watched) are logged at their level
 * the first time their text is seen since the last reload that worked,
 * and at debug after (news). The good reload says how many failed before
 * it and how many of those were logged at debug.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/notify.h"
#include "daemon/reload.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ONLYDIR)
#define QUIET_NS ((uint64_t)DNNQD_RELOAD_QUIET_MS * 1000000)
/* The failure texts remembered since the last good reload (news). */
#define CAUSES_KEPT 16

struct watched {
	int wd;                 /* its directory's watch */
	char *base;             /* its name there */
};

struct dnnqd_reload {
	const struct dnnqd_options *o;
	const struct dnnq_config *start;        /* the settings dnnqd started with */
	uint32_t unapplied;     /* the keys last said to differ from them (1 << KEY_...) */
	int ifd, done_fd;
	struct watched *files;
	unsigned nfiles;
	bool pending;           /* a trigger not yet acted on ... */
	uint64_t due_ns;        /* ... due then */
	/* the reload in progress: written by its thread until done_fd fires */
	bool running;
	pthread_t thread;
	struct dnnqd_cancel cancel;
	const struct dnnqd_models *cur;
	int rc;
	struct dnnq_diag diag;
	struct dnnq_config c;
	bool have_config;
	struct dnnqd_models *next;
	unsigned changed;
	struct dnnq_msg_reload result;  /* the last finished one's (RELOAD) */
	/* since the last reload that worked (news) */
	unsigned failed, quiet;         /* reloads failed, of them logged at debug */
	unsigned ncauses;
	char causes[CAUSES_KEPT][sizeof(struct dnnq_diag)];
};

/* Whether a line about a failure is news, logged at its level rather than
 * at debug: its text not seen since the last reload that worked (while
 * fewer than CAUSES_KEPT texts are remembered; by their first 511 bytes),
 * or past them the 2^nth failed reload in a row. */
static bool news(struct dnnqd_reload *r, const char *text)
{
	for (unsigned i = 0; i < r->ncauses; i++)
		if (!strncmp(r->causes[i], text, sizeof r->causes[i] - 1))
			return false;
	if (r->ncauses < CAUSES_KEPT) {
		snprintf(r->causes[r->ncauses++], sizeof r->causes[0], "%s", text);
		return true;
	}
	return !(r->failed & (r->failed - 1));
}

/* ---- the watched files ----------------------------------------------------- */

static bool has_wd(const struct watched *f, unsigned n, int wd)
{
	for (unsigned i = 0; i < n; i++)
		if (f[i].wd == wd)
			return true;
	return false;
}

/* path's directory watched and its name remembered; a directory that
 * cannot be watched (missing) is skipped: a SIGHUP still reloads. */
static int watch_name(struct dnnqd_reload *r, const char *path, struct watched **files,
                      unsigned *n)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	int wd = inotify_add_watch(r->ifd, dir, WATCH_MASK);
	if (wd < 0) {
		char why[PATH_MAX + 64];
		snprintf(why, sizeof why, "%s: cannot watch: %s", dir, strerror(errno));
		dnnqd_log(news(r, why) ? DNNQD_LOG_WARN : DNNQD_LOG_DEBUG, "%s", why);
		return 0;
	}
	struct watched *f = realloc(*files, (*n + 1) * sizeof *f);
	if (!f)
		return DNNQ_E_NOMEM;
	*files = f;
	if (!(f[*n].base = strdup(slash ? slash + 1 : path)))
		return DNNQ_E_NOMEM;
	f[(*n)++].wd = wd;
	return 0;
}

/* path, and where it leads when it is a symlink (the file read is there:
 * a change to it is a change to the model); a link that leads through
 * others has its first and its last watched. */
static int watch_path(struct dnnqd_reload *r, const char *path, struct watched **files,
                      unsigned *n)
{
	int rc = watch_name(r, path, files, n);
	char *real = rc ? NULL : realpath(path, NULL);
	if (real && strcmp(real, path))
		rc = watch_name(r, real, files, n);
	free(real);
	return rc;
}

static void files_free(struct watched *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(f[i].base);
	free(f);
}

/* The config file, c's model paths (c may be NULL) and ms's. */
static void watch_all(struct dnnqd_reload *r, const struct dnnq_config *c,
                      const struct dnnqd_models *ms)
{
	struct watched *f = NULL;
	unsigned n = 0;
	int rc = r->o->config ? watch_path(r, r->o->config, &f, &n) : 0;
	for (unsigned i = 0; !rc && c && i < c->nmodels; i++)
		rc = watch_path(r, c->models[i].path, &f, &n);
	for (uint32_t k = 0; !rc && ms && k < ms->count; k++) {
		const char *p = ms->m[ms->order[k]]->src.path;
		rc = p ? watch_path(r, p, &f, &n) : 0;
	}
	if (rc) {
		dnnqd_log(DNNQD_LOG_WARN, "reload: watching the files: out of memory");
		files_free(f, n);
		return;
	}
	/* the same directory has the same wd: only the ones gone are removed */
	for (unsigned i = 0; i < r->nfiles; i++)
		if (!has_wd(f, n, r->files[i].wd) && !has_wd(r->files, i, r->files[i].wd))
			inotify_rm_watch(r->ifd, r->files[i].wd);
	files_free(r->files, r->nfiles);
	r->files = f;
	r->nfiles = n;
}

static bool watched_name(const struct dnnqd_reload *r, int wd, const char *name)
{
	for (unsigned i = 0; i < r->nfiles; i++)
		if (r->files[i].wd == wd && !strcmp(r->files[i].base, name))
			return true;
	return false;
}

void dnnqd_reload_on_inotify(struct dnnqd_reload *r, uint64_t now)
{
	_Alignas(struct inotify_event) char buf[4096];
	ssize_t len;
	while ((len = read(r->ifd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof *ev + ev->len;
			if (!(ev->mask & IN_Q_OVERFLOW) &&
			    !(ev->len && watched_name(r, ev->wd, ev->name)))
				continue;
			dnnqd_log(DNNQD_LOG_DEBUG, "reload: %s changed",
			          ev->len ? ev->name : "(queue overflow)");
			r->pending = true;
			r->due_ns = now + QUIET_NS;
		}
	}
}

/* ---- the settings read at start only ------------------------------------------ */

/* Each key read at start only: its bit in a mask, its name. */
#define START_ONLY_KEYS(X) \
	X(LISTEN_PATH, "listen.path") X(LISTEN_MODE, "listen.mode") \
	X(LISTEN_GROUP, "listen.group") X(WORKERS_CPUS, "workers.cpus") \
	X(WORKERS_SPIN_US, "workers.spin_us") X(WORKERS_RESERVE_MAX_MS, "workers.reserve_max_ms") \
	X(MAX_CLIENTS, "limits.max_clients") X(MAX_SESSION_BYTES, "limits.max_session_bytes") \
	X(MAX_INFLIGHT, "limits.max_inflight") \
	X(MAX_SESSIONS_PER_UID, "limits.max_sessions_per_uid") \
	X(MAX_BYTES_PER_UID, "limits.max_bytes_per_uid") X(ACCESS_USERS, "access.users") \
	X(ACCESS_GROUPS, "access.groups") X(ACCESS_PUBLIC_STATS, "access.public_stats") \
	X(METRICS_TEXTFILE, "metrics.textfile") X(METRICS_INTERVAL, "metrics.interval") \
	X(LOG_LEVEL, "log.level")
#define KEY_ENUM(e, name) KEY_##e,
#define KEY_NAME(e, name) name,
#define KEY_TEXT(e, name) + sizeof name + 1
enum start_only_key { START_ONLY_KEYS(KEY_ENUM) START_ONLY_KEYS_N };
static const char *const start_only_names[] = { START_ONLY_KEYS(KEY_NAME) };
/* Room for every name, ", " between them (sizeof counts a byte more). */
#define START_ONLY_TEXT (1 START_ONLY_KEYS(KEY_TEXT))
_Static_assert(START_ONLY_KEYS_N <= 32, "a start-only key's bit in a uint32_t");

/* Whether every id of a is in b. */
static bool ids_in(const uint32_t *a, unsigned na, const uint32_t *b, unsigned nb)
{
	for (unsigned i = 0; i < na; i++) {
		unsigned j = 0;
		while (j < nb && b[j] != a[i])
			j++;
		if (j == nb)
			return false;
	}
	return true;
}

/* Whether lists a and b hold the same ids, in any order: the config's are
 * sorted, the command line's come after them unless already there, so one
 * set may be listed in two orders. */
static bool ids_same(const uint32_t *a, unsigned na, const uint32_t *b, unsigned nb)
{
	return ids_in(a, na, b, nb) && ids_in(b, nb, a, na);
}

#define KEY_IF(changed, e) ((uint32_t)!!(changed) << KEY_##e)

/* The keys read at start only whose value in c, the settings a reload
 * read, is not the one dnnqd started with (start), as a mask of
 * (1 << KEY_...) bits. workers.cpus keeps its order: worker i runs on the
 * list's ith CPU. */
static uint32_t unapplied_keys(const struct dnnq_config *start, const struct dnnq_config *c)
{
	const struct dnnq_config_listen *la = &start->listen, *lb = &c->listen;
	const struct dnnq_config_limits *a = &start->limits, *b = &c->limits;
	return KEY_IF(strcmp(la->path, lb->path), LISTEN_PATH) |
	       KEY_IF(la->mode != lb->mode, LISTEN_MODE) |
	       KEY_IF(la->has_group != lb->has_group || la->gid != lb->gid, LISTEN_GROUP) |
	       KEY_IF(start->workers.ncpus != c->workers.ncpus ||
	              memcmp(start->workers.cpus, c->workers.cpus,
	                     c->workers.ncpus * sizeof c->workers.cpus[0]), WORKERS_CPUS) |
	       KEY_IF(start->workers.spin_us != c->workers.spin_us, WORKERS_SPIN_US) |
	       KEY_IF(start->workers.reserve_max_ms != c->workers.reserve_max_ms,
	              WORKERS_RESERVE_MAX_MS) |
	       KEY_IF(a->max_clients != b->max_clients, MAX_CLIENTS) |
	       KEY_IF(a->max_session_bytes != b->max_session_bytes, MAX_SESSION_BYTES) |
	       KEY_IF(a->max_inflight != b->max_inflight, MAX_INFLIGHT) |
	       KEY_IF(a->max_sessions_per_uid != b->max_sessions_per_uid, MAX_SESSIONS_PER_UID) |
	       KEY_IF(a->max_bytes_per_uid != b->max_bytes_per_uid, MAX_BYTES_PER_UID) |
	       KEY_IF(!ids_same(start->access.uids, start->access.nuids, c->access.uids,
	                        c->access.nuids), ACCESS_USERS) |
	       KEY_IF(!ids_same(start->access.gids, start->access.ngids, c->access.gids,
	                        c->access.ngids), ACCESS_GROUPS) |
	       KEY_IF(start->access.public_stats != c->access.public_stats, ACCESS_PUBLIC_STATS) |
	       KEY_IF(strcmp(start->metrics.textfile, c->metrics.textfile), METRICS_TEXTFILE) |
	       KEY_IF(start->metrics.interval_s != c->metrics.interval_s, METRICS_INTERVAL) |
	       KEY_IF(start->log_level != c->log_level, LOG_LEVEL);
}

/* After a reload that read settings c: the keys it does not apply, every
 * one named, at warning when they are not the ones said last. */
static void say_unapplied(struct dnnqd_reload *r, const struct dnnq_config *c)
{
	uint32_t keys = unapplied_keys(r->start, c);
	char text[START_ONLY_TEXT];
	size_t n = 0;
	for (unsigned k = 0; k < START_ONLY_KEYS_N; k++)
		if (keys >> k & 1)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", n ? ", " : "",
			                      start_only_names[k]);
	if (keys)
		dnnqd_log(keys != r->unapplied ? DNNQD_LOG_WARN : DNNQD_LOG_DEBUG, "reload: %s: %s"
		          " changed: read at start only, not applied (restart dnnqd to apply; the"
		          " models follow a reload)",
		          r->o->config ? r->o->config : "the command line and defaults", text);
	r->unapplied = keys;
}

/* ---- the reload thread ------------------------------------------------------ */

static void *reload_main(void *arg)
{
	struct dnnqd_reload *r = arg;
	r->rc = dnnqd_settings_load(r->o, &r->c, &r->diag);
	r->have_config = !r->rc;
	if (!r->rc)
		r->rc = dnnqd_models_next(r->cur, &r->c, &r->cancel, &r->next, &r->changed, &r->diag);
	uint64_t one = 1;
	if (write(r->done_fd, &one, sizeof one) < 0)
		dnnqd_log(DNNQD_LOG_ERROR, "reload: cannot signal the control loop: %s",
		          strerror(errno));
	return NULL;
}

static void note(struct dnnq_msg_reload *o, const struct dnnqd_model *m, uint32_t change)
{
	uint32_t *count = change == DNNQ_RELOAD_ADDED ? &o->added
	                  : change == DNNQ_RELOAD_CHANGED ? &o->changed : &o->removed;
	(*count)++;
	if (o->n_listed >= DNNQ_PROTO_RELOAD_MAX)
		return;
	struct dnnq_wire_reload_model *w = &o->m[o->n_listed++];
	snprintf(w->name, sizeof w->name, "%s", m->name);
	w->change = change;
	w->generation = m->generation;
}

/* What next does to cur, by id (ids are stable per name). */
static void compare(const struct dnnqd_models *cur, const struct dnnqd_models *next,
                    struct dnnq_msg_reload *o)
{
	for (uint32_t id = 0; id < next->n; id++) {
		const struct dnnqd_model *a = id < cur->n ? cur->m[id] : NULL, *b = next->m[id];
		if (b && !a)
			note(o, b, DNNQ_RELOAD_ADDED);
		else if (b && a != b)
			note(o, b, DNNQ_RELOAD_CHANGED);
		else if (a && !b)
			note(o, a, DNNQ_RELOAD_REMOVED);
	}
}

/* Publishes or keeps the served table, records, logs and notifies. */
static void finish(struct dnnqd *d, struct dnnqd_reload *r)
{
	struct dnnqd_models *next = r->next;
	int rc = r->rc;
	struct dnnq_msg_reload *o = &r->result;
	memset(o, 0, sizeof *o);
	if (!rc && r->changed && next)
		compare(r->cur, next, o);
	r->next = NULL;
	if (!rc && r->changed && (rc = dnnqd_models_publish(d, next)))
		dnnq_diag_set(&r->diag, rc, "model table: out of memory");
	else if (!rc && r->changed) {
		/* r->cur is retired, not freed, until a later tick */
		dnnqd_models_log_loaded(r->cur, next);
		next = NULL;            /* d's now */
	}
	dnnqd_models_free(next);
	d->reloads++;
	o->hdr.status = rc;
	o->reloads = d->reloads;
	o->served = dnnqd_models_now(d)->count;
	if (rc) {
		o->added = o->changed = o->removed = o->n_listed = 0;
		/* clients print these: the model file's strings escaped */
		dnnq_escape(o->message, sizeof o->message, r->diag.msg);
		dnnq_escape(d->reload_error, sizeof d->reload_error, r->diag.msg);
		r->failed++;
		bool logged = news(r, r->diag.msg);
		r->quiet += !logged;
		dnnqd_log(logged ? DNNQD_LOG_ERROR : DNNQD_LOG_DEBUG, "reload failed: %s (%u in a"
		          " row%s)", r->diag.msg, r->failed, logged ? "" : ", not news");
	} else {
		d->reload_error[0] = 0;
		char before[128] = "", quiet[64] = "";
		if (r->quiet)
			snprintf(quiet, sizeof quiet, ", %u of them logged at debug only", r->quiet);
		if (r->failed)
			snprintf(before, sizeof before, "; %u failed reload%s before it%s", r->failed,
			         r->failed == 1 ? "" : "s", quiet);
		/* the loaded ones have their own lines; the removed are named here */
		for (uint32_t k = 0; k < o->n_listed; k++)
			if (o->m[k].change == DNNQ_RELOAD_REMOVED)
				dnnqd_log(DNNQD_LOG_INFO, "model %s: removed (no longer in the config)",
				          o->m[k].name);
		/* dnnqctl reload's words */
		dnnqd_log(DNNQD_LOG_INFO, "reload: %u added, %u changed, %u removed; %u served%s",
		          o->added, o->changed, o->removed, dnnqd_models_now(d)->count, before);
		r->failed = r->quiet = r->ncauses = 0;
	}
	if (r->have_config)
		say_unapplied(r, &r->c);
	watch_all(r, r->have_config ? &r->c : NULL, dnnqd_models_now(d));
	dnnq_config_free(&r->c);
	r->have_config = false;
	char status[256];
	dnnqd_state_line(d, status, sizeof status);
	dnnqd_notify_ready(status);
	if (rc)
		dnnqd_notify_status(status);
}

void dnnqd_reload_tick(struct dnnqd *d, struct dnnqd_reload *r, uint64_t now)
{
	if (!r->pending || r->running || now < r->due_ns)
		return;
	r->pending = false;
	dnnqd_notify_reloading();
	r->cur = dnnqd_models_now(d);
	r->rc = 0;
	r->diag.msg[0] = 0;
	r->changed = 0;
	atomic_store(&r->cancel.set, false);
	int e = pthread_create(&r->thread, NULL, reload_main, r);
	if (!e) {
		r->running = true;
		return;
	}
	r->rc = dnnq_diag_set(&r->diag, DNNQ_E_IO, "reload thread: %s", strerror(e));
	finish(d, r);
}

void dnnqd_reload_done(struct dnnqd *d, struct dnnqd_reload *r)
{
	uint64_t v;
	/* EAGAIN: read already */
	if (read(r->done_fd, &v, sizeof v) < 0 || !r->running)
		return;
	pthread_join(r->thread, NULL);
	r->running = false;
	finish(d, r);
}

void dnnqd_reload_request(struct dnnqd_reload *r)
{
	dnnqd_log(DNNQD_LOG_INFO, "SIGHUP: reloading");
	r->pending = true;
	r->due_ns = 0;
}

unsigned dnnqd_reload_ask(struct dnnqd_reload *r)
{
	r->pending = true;
	r->due_ns = 0;
	/* the one running read the files before the request */
	return r->running ? 2 : 1;
}

const struct dnnq_msg_reload *dnnqd_reload_result(const struct dnnqd_reload *r)
{
	return &r->result;
}

/* ---- life ------------------------------------------------------------------- */

int dnnqd_reload_create(struct dnnqd_reload **out, const struct dnnqd_options *o,
                        const struct dnnq_config *c, struct dnnq_diag *diag)
{
	struct dnnqd_reload *r = calloc(1, sizeof *r);
	if (!r)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "reload: out of memory");
	r->o = o;
	r->start = c;
	r->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	r->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->ifd < 0 || r->done_fd < 0) {
		int rc = dnnq_diag_set(diag, DNNQ_E_IO, "reload: %s: %s",
		                       r->ifd < 0 ? "inotify_init1" : "eventfd", strerror(errno));
		dnnqd_reload_destroy(r);
		return rc;
	}
	watch_all(r, c, NULL);
	*out = r;
	return 0;
}

void dnnqd_reload_destroy(struct dnnqd_reload *r)
{
	if (!r)
		return;
	if (r->running) {
		atomic_store(&r->cancel.set, true);
		pthread_join(r->thread, NULL);
		dnnqd_models_free(r->next);
		dnnq_config_free(&r->c);
	}
	files_free(r->files, r->nfiles);
	if (r->ifd >= 0)
		close(r->ifd);
	if (r->done_fd >= 0)
		close(r->done_fd);
	free(r);
}

int dnnqd_reload_inotify_fd(const struct dnnqd_reload *r)
{
	return r->ifd;
}

int dnnqd_reload_done_fd(const struct dnnqd_reload *r)
{
	return r->done_fd;
}
