/*
 * dnnqd's main(): parse the command line, settle the settings (the config
 * file or the embedded default, the command line over it), load the
 * models, bind the socket (or take systemd's), start the workers, say
 * READY=1, run the control loop until SIGTERM or SIGINT, then take
 * everything down again, so that a clean exit frees every byte (the ASan
 * leak check is part of the tests).
 *
 * Exit status: 0 after a signal, 1 when start-up fails (the config, a
 * model file, the socket, a worker) or --check-config finds an error, 2
 * for a bad command line. SIGTERM, SIGINT and SIGHUP are blocked from
 * the executable's .preinit_array, which runs before any library's
 * constructor (OpenBLAS's starts its pool threads), so every thread
 * inherits the block and none takes them, and one sent in the first
 * milliseconds waits (at the default action, a SIGHUP then killed dnnqd:
 * status 129); the control loop reads them from a signalfd. The commands
 * that serve nothing (--check-config, --help, --version) unblock them
 * again. A thread that unblocks them itself gets a handler that hands the
 * signal to the main thread, where it waits for the signalfd. SIGPIPE is
 * ignored, a vanished client is an error return, not a death.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "daemon/dnnqd.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/models.h"
#include "daemon/notify.h"
#include "daemon/options.h"
#include "daemon/reload.h"
#include "daemon/server.h"
#include "engine/f32.h"

static pthread_t main_thread;

/* Descriptors 0 to 2 on /dev/null where they are closed: dnnqd started
 * with one closed (`2>&-`, a careless supervisor) would get it back from
 * its first open, and every log line would go to whatever that is (with
 * stderr closed: the signalfd or the listening socket, or under socket
 * activation an eventfd, each refusing the write, so nothing was logged at
 * all). Before anything else is opened; 0, or -1 after a line on stderr. */
static int std_fds_open(void)
{
	/* in order: open takes the lowest free descriptor, fd */
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) < 0) {
			fprintf(stderr, "dnnqd: descriptor %d is closed and /dev/null cannot take its"
			        " place: %s\n", fd, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* In a thread that does not block sig (pthread_kill is async-signal-safe). */
static void forward_signal(int sig)
{
	int e = errno;
	pthread_kill(main_thread, sig);
	errno = e;
}

static const int control_sigs[] = { SIGTERM, SIGINT, SIGHUP };

static void control_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof control_sigs / sizeof control_sigs[0]; i++)
		sigaddset(set, control_sigs[i]);
}

/* First of all (the top comment): .preinit_array's functions get argc,
 * argv and envp, unused here. */
static void block_control_signals(int argc, char **argv, char **envp)
{
	(void)argc, (void)argv, (void)envp;
	sigset_t set;
	control_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

__attribute__((section(".preinit_array"), used))
static void (*const preinit_block)(int, char **, char **) = block_control_signals;

/* For the commands that serve nothing: the signals act as usual. */
static void unblock_control_signals(void)
{
	sigset_t set;
	control_set(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static int signals_fd(void)
{
	sigset_t set;
	control_set(&set);
	struct sigaction sa = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	main_thread = pthread_self();
	for (size_t i = 0; i < sizeof control_sigs / sizeof control_sigs[0]; i++)
		if (sigaction(control_sigs[i], &sa, NULL))
			return -1;
	signal(SIGPIPE, SIG_IGN);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* A session holds four descriptors (its socket, the memfd, the daemon's
 * ends of two socketpairs), one closed and not freed yet three; the usual soft limit of 1024 would cap the
 * daemon near 250 clients, so ask for what max_clients needs, up to the
 * hard limit. */
static void raise_fd_limit(const struct dnnq_config *c)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)c->limits.max_clients * 4 + 3 * DNNQD_CLOSING_MAX +
	              DNNQD_PENDING_MAX + 2 * (rlim_t)c->workers.ncpus + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < want)
		dnnqd_log(DNNQD_LOG_WARN, "RLIMIT_NOFILE %llu: %u clients need %llu descriptors",
		          (unsigned long long)rl.rlim_cur, c->limits.max_clients,
		          (unsigned long long)want);
}

/* The first table: the same path as a reload, from an empty one. */
static int load_models(const struct dnnq_config *c, struct dnnqd_models **out,
                       struct dnnq_diag *diag)
{
	struct dnnqd_models *none = dnnqd_models_new(c->workers.ncpus);
	struct dnnqd_cancel on_signal = { .signals = true };
	unsigned changed;
	int rc = none ? dnnqd_models_next(none, c, &on_signal, out, &changed, diag)
	              : dnnq_diag_set(diag, DNNQ_E_NOMEM, "model table: out of memory");
	if (!rc)
		dnnqd_models_log_loaded(NULL, *out);
	dnnqd_models_free(none);
	return rc;
}

/* systemd's socket when it passed one (*activated); else what the bind
 * would refuse (a directory this user may not write, another dnnqd
 * answering on ours), found before the models load rather than after. */
static int take_activated(const struct dnnq_config *c, int *fd, bool *activated,
                          struct dnnq_diag *diag)
{
	int rc = dnnqd_listen_fds(fd, diag);
	*activated = rc == 1;
	if (rc)
		return rc < 0 ? rc : 0;
	return dnnqd_listen_taken(c->listen.path, diag);
}

/* The address fd listens on, as the ready line names it: the path, "@name"
 * for an abstract socket, else what the config said (or "?"). */
static void socket_name(int fd, const char *fallback, char *buf, size_t len)
{
	struct sockaddr_un a;
	socklen_t alen = sizeof a;
	memset(&a, 0, sizeof a);
	size_t off = offsetof(struct sockaddr_un, sun_path);
	if (getsockname(fd, (struct sockaddr *)&a, &alen) || a.sun_family != AF_UNIX ||
	    alen <= off) {
		snprintf(buf, len, "%s", fallback ? fallback : "?");
		return;
	}
	size_t n = alen - off;
	if (a.sun_path[0])
		snprintf(buf, len, "%.*s", (int)strnlen(a.sun_path, n), a.sun_path);
	else
		snprintf(buf, len, "@%.*s", (int)(n - 1), a.sun_path + 1);
}

/* A descriptor left after start-up: the control loop keeps one spare to
 * accept a peer and tell it when it has run out (server.c); without even
 * that, dnnqd would say ready and leave every client unanswered in the
 * backlog until its own timeout. */
static int descriptor_left(struct dnnq_diag *diag)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	else if (errno == EMFILE || errno == ENFILE)
		return dnnq_diag_set(diag, DNNQ_E_IO, "no descriptor left for a client after start-up"
		                     " (%s): raise RLIMIT_NOFILE (LimitNOFILE=)", strerror(errno));
	return 0;
}

/* The loop from READY=1 to the end of the drain. */
static int serve(const struct dnnqd_options *o, const struct dnnq_config *c,
                 struct dnnqd_models *ms, int listen_fd, bool activated, int sig_fd,
                 struct dnnq_diag *diag)
{
	struct dnnqd d;
	struct dnnqd_acl acl;
	struct dnnqd_reload *rl = NULL;
	struct dnnqd_metrics *mx = NULL;
	struct dnnqd_config cfg = { c->workers.cpus, c->workers.ncpus, c->workers.spin_us,
	                            c->limits.max_clients, c->limits.max_session_bytes,
	                            c->limits.max_inflight, c->limits.max_sessions_per_uid,
	                            c->limits.max_bytes_per_uid, c->access.public_stats,
	                            c->workers.reserve_max_ms };
	int rc = dnnqd_acl_from(c, &acl) ? dnnq_diag_set(diag, DNNQ_E_NOMEM, "access: out of memory")
	                                 : dnnqd_reload_create(&rl, o, c, diag);
	if (!rc && c->metrics.textfile[0])
		rc = dnnqd_metrics_create(c->metrics.textfile, c->metrics.interval_s, &mx, diag);
	if (rc) {
		dnnqd_models_free(ms);
		goto out;
	}
	if ((rc = dnnqd_start(&d, &cfg, ms, diag)))
		goto out;
	d.reload = rl;
	d.metrics = mx;
	if ((rc = descriptor_left(diag))) {
		dnnqd_stop(&d);
		goto stop;
	}
	char status[256], where[sizeof(struct sockaddr_un)];
	dnnqd_state_line(&d, status, sizeof status);
	socket_name(listen_fd, c->listen.path, where, sizeof where);
	dnnqd_log(DNNQD_LOG_INFO, "ready: %s, %u worker%s, socket %s%s", status, d.nworkers,
	          d.nworkers == 1 ? "" : "s", where, activated ? " (from systemd)" : "");
	/* clients follow $DNNQ_SOCKET, dnnqd does not: one exported in this
	 * shell for them, to another path, sends them where nothing listens */
	const char *env = getenv("DNNQ_SOCKET");
	if (env && *env && strcmp(env, where))
		dnnqd_log(DNNQD_LOG_WARN, "$DNNQ_SOCKET is %s, not this socket: clients that "
		          "follow it will not find dnnqd, which listens where --socket or "
		          "listen.path says", env);
	/* the shipped config serves nothing until models: names some */
	if (!c->nmodels)
		dnnqd_log(DNNQD_LOG_WARN, "no models to serve: name them under models: in %s (dnnqd"
		          " reloads when it changes) or with --model NAME=FILE", o->config ? o->config
		          : "a --config file");
	dnnqd_notify_ready(status);
	rc = dnnqd_serve(&d, &acl, listen_fd, sig_fd, diag);
stop:
	/* the reload thread reads the served table: it ends first */
	dnnqd_reload_destroy(rl);
	rl = NULL;
	dnnqd_destroy(&d);
out:
	dnnqd_metrics_destroy(mx);
	dnnqd_reload_destroy(rl);
	dnnqd_acl_free(&acl);
	return rc;
}

/* Everything after the command line; 0 or 1. */
static int run(const struct dnnqd_options *o)
{
	struct dnnq_config c;
	struct dnnqd_models *ms = NULL;
	struct dnnq_diag diag = { "" };
	bool activated = false;
	struct stat bound;
	int listen_fd = -1, sig_fd = signals_fd(), rc = sig_fd < 0 ? DNNQ_E_IO : 0;
	if (rc)
		dnnq_diag_set(&diag, rc, "signalfd: cannot set up");
	int crc = dnnqd_settings_load(o, &c, &diag);
	rc = rc ? rc : crc;
	if (!rc) {
		dnnqd_log_threshold = (enum dnnqd_log_level)c.log_level;
		raise_fd_limit(&c);
		rc = take_activated(&c, &listen_fd, &activated, &diag);
	}
	if (!rc) {
		rc = load_models(&c, &ms, &diag);
		if (rc == DNNQ_E_AGAIN) {	/* SIGTERM or SIGINT while loading */
			dnnqd_log(DNNQD_LOG_INFO, "stopped while loading the models");
			if (listen_fd >= 0)
				close(listen_fd);
			dnnq_config_free(&c);
			close(sig_fd);
			return 0;
		}
	}
	if (!rc && !activated)
		rc = dnnqd_listen_as(c.listen.path, c.listen.mode,
		                     c.listen.has_group ? (int64_t)c.listen.gid : -1, &listen_fd, &bound,
		                     &diag);
	if (!rc)
		rc = serve(o, &c, ms, listen_fd, activated, sig_fd, &diag);
	else
		dnnqd_models_free(ms);
	if (listen_fd >= 0)
		close(listen_fd);
	if (listen_fd >= 0 && !activated)
		dnnqd_unlisten(c.listen.path, &bound);
	if (sig_fd >= 0)
		close(sig_fd);
	dnnq_config_free(&c);
	if (rc)
		dnnqd_log(DNNQD_LOG_ERROR, "%s", diag.msg);
	return rc ? 1 : 0;
}

/* --check-config FILE: "dnnqd: FILE: ok", or the config's own diag line,
 * or one line per thing the daemon would refuse at start: the
 * metrics.textfile, listen.path ("FILE:LINE:COL: listen.path: why", or
 * "FILE: listen.path: why" for the default), each model
 * ("FILE:LINE:COL: models[I].path: model NAME: PATH: why"), every one checked, as `nginx -t`
 * does. */
static int check_config(const char *path)
{
	struct dnnq_config c;
	struct dnnq_diag diag = { "" };
	int rc = dnnq_config_load(path, &c, &diag);
	if (rc) {
		fprintf(stderr, "%s\n", diag.msg);
		return 1;
	}
	unsigned bad = 0;
	if (dnnqd_settings_check(path, &c, &diag)) {
		fprintf(stderr, "%s\n", diag.msg);
		bad++;
	}
	/* what the start would refuse before it binds (not under socket
	 * activation, where listen.path is not used: the unit's
	 * ExecStartPre= cannot tell) */
	diag.msg[0] = 0;
	if (dnnqd_listen_check(c.listen.path, &diag)) {
		char at[32] = "";
		if (c.listen.line)
			snprintf(at, sizeof at, ":%u:%u", c.listen.line, c.listen.col);
		fprintf(stderr, "%s%s: listen.path: %s\n", path, at, diag.msg);
		bad++;
	}
	for (unsigned i = 0; i < c.nmodels; i++) {
		diag.msg[0] = 0;
		if (dnnqd_models_check(&c.models[i], &diag)) {
			char where[sizeof diag.msg];
			dnnq_config_model_where(&c, i, where, sizeof where);
			fprintf(stderr, "%smodel %s: %s\n", where, c.models[i].name, diag.msg);
			bad++;
		}
	}
	dnnq_config_free(&c);
	if (bad)
		return 1;
	printf("dnnqd: %s: ok\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	dnnq_f32_blas_pool_off(argv);
	if (std_fds_open())
		return 1;
	struct dnnqd_options o;
	struct dnnq_diag diag = { "" };
	int status = 0;
	int bad = dnnqd_options_parse(&o, argc, argv, &diag);
	if (bad || o.help || o.version || o.check_config)
		unblock_control_signals();
	if (bad) {
		fprintf(stderr, "dnnqd: %s (try --help)\n", diag.msg);
		status = 2;
	} else if (o.help) {
		dnnqd_usage(stdout);
	} else if (o.version) {
		printf("dnnqd %s\n", DNNQ_VERSION);
	} else if (o.check_config) {
		status = check_config(o.check_config);
	} else {
		if (o.given & DNNQD_GIVEN_LOG_LEVEL)
			dnnqd_log_threshold = o.log_level;
		status = run(&o);
	}
	dnnqd_options_free(&o);
	return status;
}
