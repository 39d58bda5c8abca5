/*
 * dnnqd's main(): parse the command line, load the models, bind the
 * socket, start the workers, run the control loop until SIGTERM or SIGINT,
 * then take everything down again, so that a clean exit frees every byte
 * (the ASan leak check is part of the tests).
 *
 * Exit status: 0 after a signal, 1 when start-up fails (a model file, the
 * socket, a worker), 2 for a bad command line. SIGTERM and SIGINT are
 * blocked before any thread exists (so no worker can take them) and read
 * from a signalfd by the control loop; SIGPIPE is ignored, a vanished
 * client is an error return, not a death.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon/dnnqd.h"
#include "daemon/log.h"
#include "daemon/options.h"
#include "daemon/server.h"

static int signals_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* A session holds four descriptors (its socket, the memfd, two eventfds);
 * the usual soft limit of 1024 would cap the daemon near 250 clients, so
 * ask for what --max-clients needs, up to the hard limit. */
static void raise_fd_limit(const struct dnnqd_options *o)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)o->max_clients * 4 + 2 * (rlim_t)o->ncpus + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < want)
		dnnqd_log(DNNQD_LOG_WARN, "RLIMIT_NOFILE %llu: %u clients need %llu descriptors",
		          (unsigned long long)rl.rlim_cur, o->max_clients, (unsigned long long)want);
}

static int load_models(const struct dnnqd_options *o, struct dnnqd_models *ms,
                       struct dnnq_diag *diag)
{
	for (unsigned i = 0; i < o->nmodels; i++) {
		int rc = dnnqd_models_load(ms, o->models[i].name, o->models[i].path, o->max_batch, diag);
		if (rc)
			return rc;
	}
	return 0;
}

/* Everything after the command line; 0 or 1. */
static int run(const struct dnnqd_options *o)
{
	struct dnnqd_models ms = { 0 };
	struct dnnqd d;
	struct dnnq_diag diag = { "" };
	struct dnnqd_config cfg = { o->cpus, o->ncpus, o->spin_us, o->max_clients,
	                            o->max_session_bytes };
	int listen_fd = -1, sig_fd = signals_fd(), rc = sig_fd < 0 ? DNNQ_E_IO : 0;
	if (rc)
		dnnq_diag_set(&diag, rc, "signalfd: cannot set up");
	raise_fd_limit(o);
	if (!rc)
		rc = load_models(o, &ms, &diag);
	if (!rc)
		rc = dnnqd_listen(o->socket, &listen_fd, &diag);
	if (!rc && !(rc = dnnqd_start(&d, &cfg, &ms, &diag))) {
		dnnqd_log(DNNQD_LOG_INFO, "ready: %u model%s, %u worker%s, socket %s", ms.n,
		          ms.n == 1 ? "" : "s", d.nworkers, d.nworkers == 1 ? "" : "s", o->socket);
		rc = dnnqd_serve(&d, &o->acl, listen_fd, sig_fd, &diag);
		dnnqd_destroy(&d);
	}
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(o->socket);
	}
	if (sig_fd >= 0)
		close(sig_fd);
	dnnqd_models_free(&ms);
	if (rc)
		dnnqd_log(DNNQD_LOG_ERROR, "%s", diag.msg);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct dnnqd_options o;
	struct dnnq_diag diag = { "" };
	int status = 0;
	if (dnnqd_options_parse(&o, argc, argv, &diag)) {
		fprintf(stderr, "dnnqd: %s\n", diag.msg);
		status = 2;
	} else if (o.help) {
		dnnqd_usage(stdout);
	} else if (o.version) {
		printf("dnnqd %s\n", DNNQD_VERSION);
	} else {
		dnnqd_log_threshold = o.log_level;
		status = run(&o);
	}
	dnnqd_options_free(&o);
	return status;
}
