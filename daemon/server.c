/*
 * The control loop (server.h), after redis's ae.c: the loop only waits for
 * events and hands them to their handlers; what a message means is
 * control.c's, what a session is is session.c's. It is poll()-based today;
 * because the handlers know nothing of poll, the same loop can move to
 * io_uring (accept, recvmsg, signalfd, timers as submissions) without them
 * changing.
 *
 * One iteration: poll the signalfd, the listening socket, the reloader's
 * inotify and done fds (daemon/reload.h) and every connection with a
 * timeout that ends at the next 10 ms tick; serve the readable connections
 * (closing the ones that hung up or must go), accept new ones, then, on
 * the tick, bump every session's heartbeat, close connections that sent
 * no HELLO within a second, free the retired sessions and model tables
 * whose grace period is over, start a reload that is due, hand the
 * metrics textfile writer a snapshot when one is due, and ping the
 * systemd watchdog (every WATCHDOG_USEC / 2, and only while every worker
 * has shown life within WATCHDOG_USEC: a stuck worker stops the pings and
 * lets systemd restart the daemon).
 *
 * Signals: SIGHUP asks for a reload; SIGTERM and SIGINT say STOPPING=1 to
 * systemd and end the loop, after which the workers finish what they run.
 *
 * A peer is refused (DNNQ_E_PERM, DNNQ_E_BUSY) at accept, before it says
 * anything, and closed there (control.c); the connection array has room
 * for max-clients sessions and the pending budget (DNNQD_PENDING_MAX
 * connections that have not sent HELLO, at most DNNQD_PENDING_PER_UID per
 * uid, each closed after a second of silence). When accept runs out of
 * descriptors (EMFILE, ENFILE), the spare descriptor the loop keeps open
 * (/dev/null) is given up for a moment to accept the peer and refuse it
 * with DNNQ_E_BUSY, so a client learns why at once instead of waiting
 * unanswered in the backlog; without a spare (it is opened again on the
 * tick) the listening socket is left alone until the next tick, instead
 * of spinning on it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/control.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/reload.h"
#include "daemon/server.h"
#include "daemon/session.h"
#include "shm/dnnq_socket.h"

#define ACCEPTS_PER_WAKE 32
#define TICK_NS ((uint64_t)DNNQD_HEARTBEAT_MS * 1000000)
#define BACKLOG 128

static void set_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof a->sun_path, "%s", path);
}

/* Whether dir is the directory of a default socket (/run/dnnq, or
 * $XDG_RUNTIME_DIR/dnnq by shm/dnnq_socket.h's rule): the only one made
 * when missing. */
static bool default_dir(const char *dir)
{
	char def[DNNQ_SOCKET_PATH_MAX];
	const char *runs[2] = { DNNQ_SYSTEM_SOCKET,
	                        dnnq_default_socket(geteuid(), getenv("XDG_RUNTIME_DIR"), def,
	                                            sizeof def) };
	for (int i = 0; i < 2; i++) {
		const char *slash = strrchr(runs[i], '/');
		if (slash && strlen(dir) == (size_t)(slash - runs[i]) &&
		    !strncmp(dir, runs[i], (size_t)(slash - runs[i])))
			return true;
	}
	return false;
}

/* What to do when this user may not write the socket's directory dir
 * (err EACCES, EPERM or EROFS): the default one is the service's. "" for
 * any other err. */
static const char *denied_hint(const char *dir, int err)
{
	if (err != EACCES && err != EPERM && err != EROFS)
		return "";
	return default_dir(dir) ? " (the default socket's directory: run dnnqd as root or as"
	                          " dnnqd.service, or listen where this user may: --socket PATH,"
	                          " listen.path, or set $XDG_RUNTIME_DIR)"
	                        : " (this user may not write the socket's directory: listen where"
	                          " it may: --socket PATH, listen.path)";
}

/* The socket's directory: made (0755) when it is the default one, else it
 * must exist; a typo in listen.path is refused, not served. Without
 * `create`, 1 for a default one still to be made. */
static int make_dir(const char *path, bool create, struct dnnq_diag *d)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (!stat(dir, &st))
		return S_ISDIR(st.st_mode) ? 0 : dnnq_diag_set(d, DNNQ_E_IO, "%s: socket directory"
		                                               " is not a directory", dir);
	if (errno != ENOENT || !default_dir(dir))
		return dnnq_diag_set(d, DNNQ_E_IO, "%s: socket directory: %s", dir,
		                     errno == ENOENT ? "does not exist (create it, or listen in one "
		                     "that does: --socket, listen.path)" : strerror(errno));
	if (!create)
		return 1;
	if (mkdir(dir, 0755) && errno != EEXIST) {
		int err = errno;
		return dnnq_diag_set(d, DNNQ_E_IO, "%s: cannot create: %s%s", dir, strerror(err),
		                     denied_hint(dir, err));
	}
	return 0;
}

/* Whether this user may make the socket file in path's directory (bind
 * creates it): a user's dnnqd where root or tmpfiles made /run/dnnq said
 * only "bind: Permission denied", once its models had loaded. Judged with
 * the effective ids, as bind is (access() took the real ones: a real uid
 * of root's passed). A missing directory passes: make_dir judges it. */
static int may_bind(const char *path, struct dnnq_diag *d)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';		/* "/x.sock": in / */
	else
		*slash = '\0';
	if (!faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) || errno == ENOENT)
		return 0;
	int err = errno;
	return dnnq_diag_set(d, DNNQ_E_IO, "%s: cannot make the socket there: %s%s", path,
	                     strerror(err), denied_hint(dir, err));
}

/* Nothing at path, or a socket file (*there). */
static int no_file_but_a_socket(const char *path, bool *there, struct dnnq_diag *d)
{
	struct stat st;
	*there = !lstat(path, &st);
	if (!*there)
		return errno == ENOENT ? 0 : dnnq_diag_set(d, DNNQ_E_IO, "%s: %s", path, strerror(errno));
	return S_ISSOCK(st.st_mode) ? 0 : dnnq_diag_set(d, DNNQ_E_IO, "%s: exists and is not a"
	                                                " socket", path);
}

/* A socket file nothing answers on is left by a daemon that died: remove
 * it (when `remove`). One something answers on is another daemon's. */
static int clear_stale(const char *path, bool remove, struct dnnq_diag *d)
{
	bool there;
	int rc = no_file_but_a_socket(path, &there, d);
	if (rc || !there)
		return rc;
	struct sockaddr_un a;
	set_addr(&a, path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return dnnq_diag_set(d, DNNQ_E_IO, "socket: %s", strerror(errno));
	rc = connect(fd, (struct sockaddr *)&a, sizeof a) ? errno : 0;
	struct ucred cr;
	socklen_t len = sizeof cr;
	bool stranger = rc == 0 && !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) &&
	                cr.uid != 0 && cr.uid != geteuid();
	close(fd);
	/* another user's program took the path (a socket directory others may
	 * write to, as under /tmp, while dnnqd was down): say whose, and that
	 * clients refuse it (libdnnq-client judges SO_PEERCRED too) */
	if (stranger)
		return dnnq_diag_set(d, DNNQ_E_BUSY, "%s: uid %u (pid %d) is listening there, not"
		                     " root or dnnqd's uid %u: another user took the path while dnnqd"
		                     " was down? (clients refuse it; listen where only dnnqd's uid "
		                     "may write: listen.path)", path, (unsigned)cr.uid, (int)cr.pid,
		                     (unsigned)geteuid());
	if (rc == ECONNREFUSED && !remove)
		return 0;
	if (rc == ECONNREFUSED) {
		dnnqd_log(DNNQD_LOG_INFO, "%s: removing a stale socket", path);
		return unlink(path) ? dnnq_diag_set(d, DNNQ_E_IO, "%s: unlink: %s", path,
		                                    strerror(errno)) : 0;
	}
	/* connected, or a full backlog (EAGAIN), or a stream socket
	 * (EPROTOTYPE): somebody is there */
	return dnnq_diag_set(d, DNNQ_E_BUSY, "%s: %s", path, rc == 0 || rc == EAGAIN
	                     ? "another dnnqd is listening there" : strerror(rc));
}

/* What dnnqd_listen_as checks before it binds; `start`: as it does at
 * start (the default directory made, a stale socket removed), else
 * without changing anything (--check-config: a socket, live or stale, is
 * fine there). */
static int socket_place(const char *path, bool start, struct dnnq_diag *d)
{
	bool there;
	int rc = make_dir(path, start, d);
	if (rc)
		return rc > 0 ? 0 : rc;
	/* a directory another user may write to would let them put their
	 * socket where clients connect, or swap ours for a symlink before the
	 * chmod and chown below */
	rc = dnnq_config_dir_trusted(path, "the socket clients connect to", d);
	if (!rc && start)
		rc = may_bind(path, d);
	if (!rc)
		rc = start ? clear_stale(path, true, d) : no_file_but_a_socket(path, &there, d);
	return rc;
}

int dnnqd_listen_check(const char *path, struct dnnq_diag *d)
{
	return socket_place(path, false, d);
}

int dnnqd_listen_taken(const char *path, struct dnnq_diag *d)
{
	int rc = socket_place(path, false, d);
	if (!rc)
		rc = may_bind(path, d);
	if (rc)
		return rc;
	struct dnnq_diag why = { "" };
	if (clear_stale(path, false, &why) != DNNQ_E_BUSY)
		return 0;
	*d = why;
	return DNNQ_E_BUSY;
}

int dnnqd_listen(const char *path, int *out, struct dnnq_diag *d)
{
	return dnnqd_listen_as(path, 0666, -1, out, NULL, d);
}

int dnnqd_listen_as(const char *path, uint32_t mode, int64_t gid, int *out, struct stat *bound,
                    struct dnnq_diag *d)
{
	struct sockaddr_un a;
	int rc = socket_place(path, true, d);
	if (rc)
		return rc;
	set_addr(&a, path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	const char *what = fd < 0 ? "socket"
	                 : bind(fd, (struct sockaddr *)&a, sizeof a) ? "bind"
	                 /* beyond the mode, who may connect is SO_PEERCRED's to decide */
	                 : chmod(path, (mode_t)mode) ? "chmod"
	                 : gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) ? "chown"
	                 : bound && lstat(path, bound) ? "lstat"
	                 : listen(fd, BACKLOG) ? "listen" : NULL;
	if (what) {
		rc = dnnq_diag_set(d, DNNQ_E_IO, "%s: %s: %s", path, what, strerror(errno));
		if (fd >= 0)
			close(fd);
		/* the file is ours once bound */
		if (fd >= 0 && strcmp(what, "bind"))
			unlink(path);
		return rc;
	}
	*out = fd;
	return 0;
}

void dnnqd_unlisten(const char *path, const struct stat *bound)
{
	struct stat st;
	if (lstat(path, &st))
		return;
	if (st.st_dev != bound->st_dev || st.st_ino != bound->st_ino)
		dnnqd_log(DNNQD_LOG_WARN, "%s: not removed: it is no longer the socket this dnnqd"
		          " bound (another one listens there?)", path);
	else if (unlink(path))
		dnnqd_log(DNNQD_LOG_WARN, "%s: unlink: %s", path, strerror(errno));
}

struct server {
	struct dnnqd *d;
	const struct dnnqd_acl *acl;
	int listen_fd, sig_fd;
	bool accept_paused;             /* out of fds: until the next tick */
	int spare_fd;                   /* given up to refuse a peer when out of fds */
	struct dnnqd_conn *conns;
	uint32_t nconns, cap;
	struct pollfd *pfds;            /* FIXED_FDS, then the conns */
	uint64_t wd_window_ns;          /* WATCHDOG_USEC; 0: no watchdog */
	uint64_t wd_next_ns;
};

enum { PFD_SIG, PFD_LISTEN, PFD_INOTIFY, PFD_RELOADED, FIXED_FDS };

/* Idempotent: a connection closed earlier in the iteration is skipped. */
static void close_conn(struct server *sv, struct dnnqd_conn *c)
{
	if (c->fd >= 0)
		dnnqd_conn_close(sv->d, c);
}

/* The RELOAD requests a finished reload answers. */
static void answer_reloads(struct server *sv)
{
	for (uint32_t i = 0; i < sv->nconns; i++) {
		struct dnnqd_conn *c = &sv->conns[i];
		if (c->fd >= 0 && !dnnqd_conn_reloaded(sv->d, c))
			close_conn(sv, c);
	}
}

static void open_spare(struct server *sv)
{
	if (sv->spare_fd < 0)
		sv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of descriptors: the spare one makes room to accept a peer and tell
 * it so; false when there is no spare or no peer. */
static bool refuse_out_of_fds(struct server *sv, int err)
{
	if (sv->spare_fd < 0)
		return false;
	close(sv->spare_fd);
	sv->spare_fd = -1;
	int fd = accept4(sv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		dnnqd_conn_refuse_fd(fd, DNNQ_E_BUSY, err == EMFILE
		                     ? "dnnqd has no file descriptor left (its RLIMIT_NOFILE)"
		                     : "the system has no file descriptor left (fs.file-max)");
		close(fd);
	}
	open_spare(sv);
	return fd >= 0;
}

static void accept_some(struct server *sv, uint64_t now)
{
	for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
		int fd = accept4(sv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int err = errno;
			if ((err == EMFILE || err == ENFILE) && refuse_out_of_fds(sv, err))
				continue;
			if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
				dnnqd_log(DNNQD_LOG_DEBUG, "accept: %s", strerror(err));
				sv->accept_paused = true;
			}
			return;
		}
		/* control messages carry no fds to dnnqd */
		dnnqd_refuse_fds(fd, false);
		/* the budgets keep it from filling; closing is the last word */
		if (sv->nconns < sv->cap &&
		    dnnqd_conn_admit(sv->d, &sv->conns[sv->nconns], fd, sv->acl, now))
			sv->nconns++;
		else
			close(fd);
	}
}

static void tick(struct server *sv, uint64_t now)
{
	/* first: what it frees may answer a waiting HELLO */
	dnnqd_reap(sv->d);
	for (uint32_t i = 0; i < sv->nconns; i++) {
		struct dnnqd_conn *c = &sv->conns[i];
		if (c->fd < 0)
			continue;       /* closed earlier in this iteration */
		if (c->hello_waiting && !dnnqd_conn_hello_again(sv->d, c))
			close_conn(sv, c);
		else if (c->session)
			dnnq_shm_heartbeat(&c->session->view);
		else if (!c->hello_waiting && now >= c->deadline_ns)
			close_conn(sv, c);
	}
	sv->accept_paused = false;
	open_spare(sv);
	if (sv->d->reload) {
		dnnqd_reload_tick(sv->d, sv->d->reload, now);
		answer_reloads(sv);     /* a reload that could not start */
	}
	if (sv->d->metrics)
		dnnqd_metrics_tick(sv->d->metrics, sv->d, now);
	/* every tick, so a worker's epoch is seen moving at 10 ms granularity */
	bool alive = sv->wd_window_ns && dnnqd_workers_alive(sv->d, now, sv->wd_window_ns);
	if (alive && now >= sv->wd_next_ns) {
		dnnqd_notify_watchdog();
		sv->wd_next_ns = now + sv->wd_window_ns / 2;
	}
}

/* Drops the closed connections (fd -1) from the array. */
static void compact(struct server *sv)
{
	uint32_t j = 0;
	for (uint32_t i = 0; i < sv->nconns; i++)
		if (sv->conns[i].fd >= 0)
			sv->conns[j++] = sv->conns[i];
	sv->nconns = j;
}

static int wait_events(struct server *sv, uint64_t next_tick)
{
	const struct dnnqd_reload *rl = sv->d->reload;
	sv->pfds[PFD_SIG] = (struct pollfd){ .fd = sv->sig_fd, .events = POLLIN };
	sv->pfds[PFD_LISTEN] = (struct pollfd){ .fd = sv->accept_paused ? -1 : sv->listen_fd,
	                                        .events = POLLIN };
	sv->pfds[PFD_INOTIFY] = (struct pollfd){ .fd = rl ? dnnqd_reload_inotify_fd(rl) : -1,
	                                         .events = POLLIN };
	sv->pfds[PFD_RELOADED] = (struct pollfd){ .fd = rl ? dnnqd_reload_done_fd(rl) : -1,
	                                          .events = POLLIN };
	for (uint32_t i = 0; i < sv->nconns; i++)
		sv->pfds[FIXED_FDS + i] = (struct pollfd){ .fd = sv->conns[i].fd,
		                                           .events = POLLIN | POLLRDHUP };
	uint64_t now = dnnqd_now_ns();
	int ms = now >= next_tick ? 0 : (int)((next_tick - now + 999999) / 1000000);
	int n = poll(sv->pfds, FIXED_FDS + sv->nconns, ms);
	return n < 0 && errno != EINTR ? DNNQ_E_IO : 0;
}

static void serve_conns(struct server *sv)
{
	for (uint32_t i = 0; i < sv->nconns; i++) {
		struct dnnqd_conn *c = &sv->conns[i];
		short ev = sv->pfds[FIXED_FDS + i].revents;
		bool alive = !(ev & POLLIN) || dnnqd_conn_readable(sv->d, c);
		if (!alive || (ev & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)))
			close_conn(sv, c);
	}
}

/* true when the signal ends the loop. */
static bool on_signal(struct server *sv)
{
	struct signalfd_siginfo si;
	if (read(sv->sig_fd, &si, sizeof si) != sizeof si)
		return false;
	if (si.ssi_signo == SIGHUP) {
		if (sv->d->reload)
			dnnqd_reload_request(sv->d->reload);
		return false;
	}
	dnnqd_log(DNNQD_LOG_INFO, "SIG%s: stopping", sigabbrev_np((int)si.ssi_signo));
	dnnqd_notify_stopping();
	return true;
}

/* Until SIGTERM or SIGINT; 0, or DNNQ_E_IO when poll fails. */
static int loop(struct server *sv, struct dnnq_diag *diag)
{
	uint64_t next_tick = dnnqd_now_ns() + TICK_NS;
	for (;;) {
		if (wait_events(sv, next_tick))
			return dnnq_diag_set(diag, DNNQ_E_IO, "poll: %s", strerror(errno));
		if ((sv->pfds[PFD_SIG].revents & POLLIN) && on_signal(sv))
			return 0;
		serve_conns(sv);
		uint64_t now = dnnqd_now_ns();
		if (sv->pfds[PFD_LISTEN].revents & POLLIN)
			accept_some(sv, now);
		if (sv->pfds[PFD_INOTIFY].revents & POLLIN)
			dnnqd_reload_on_inotify(sv->d->reload, now);
		if (sv->pfds[PFD_RELOADED].revents & POLLIN) {
			dnnqd_reload_done(sv->d, sv->d->reload);
			answer_reloads(sv);
		}
		if (now >= next_tick) {
			tick(sv, now);
			next_tick = now + TICK_NS;
		}
		compact(sv);
	}
}

int dnnqd_serve(struct dnnqd *d, const struct dnnqd_acl *acl, int listen_fd, int sig_fd,
                struct dnnq_diag *diag)
{
	struct server sv = { .d = d, .acl = acl, .listen_fd = listen_fd, .sig_fd = sig_fd,
	                     .spare_fd = -1 };
	/* what connects later inherits it (a message sent before accept too) */
	dnnqd_refuse_fds(listen_fd, false);
	open_spare(&sv);
	sv.cap = d->cfg.max_clients + DNNQD_PENDING_MAX;
	sv.conns = calloc(sv.cap, sizeof *sv.conns);
	sv.pfds = calloc(sv.cap + FIXED_FDS, sizeof *sv.pfds);
	sv.wd_window_ns = dnnqd_watchdog_ns();
	if (sv.wd_window_ns && sv.wd_window_ns < 2 * TICK_NS)
		dnnqd_log(DNNQD_LOG_WARN, "WATCHDOG_USEC=%llu: less than twice the control loop's %u ms"
		          " tick, which pings the watchdog at most once a tick (WatchdogSec=30s is the "
		          "unit's)", (unsigned long long)(sv.wd_window_ns / 1000), DNNQD_HEARTBEAT_MS);
	int rc = sv.conns && sv.pfds ? loop(&sv, diag)
	                             : dnnq_diag_set(diag, DNNQ_E_NOMEM, "control loop: out of memory");
	/* requests that are running finish into their regions first */
	dnnqd_stop(d);
	for (uint32_t i = 0; i < sv.nconns; i++)
		close_conn(&sv, &sv.conns[i]);
	free(sv.conns);
	free(sv.pfds);
	if (sv.spare_fd >= 0)
		close(sv.spare_fd);
	return rc;
}
