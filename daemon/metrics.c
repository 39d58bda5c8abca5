/*
 * The Prometheus textfile writer (metrics.h). The control loop owns the
 * snapshot (it is the only reader of the session and model tables that
 * may); the writer thread owns the file. They meet at one slot under a
 * mutex: the latest formatted text, which the thread takes and writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "shm/dnnq_metrics.h"

struct dnnqd_metrics {
	char *path, *tmp;
	uint64_t interval_ns, next_ns;  /* control loop */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *text;                     /* under mu: the next file, or NULL */
	size_t len;
	bool stop;                      /* under mu */
	char failed[256];               /* the writer's: the last failure logged, or "" */
};

/* The daemon's figures as text (malloc'd), or NULL when out of memory. */
static char *snapshot(struct dnnqd *d, size_t *len)
{
	struct dnnq_msg_stats st;
	char *text = NULL;
	memset(&st, 0, sizeof st);
	dnnqd_stats_fill(d, 0, true, &st);
	uint32_t n = dnnqd_models_now(d)->count;
	struct dnnq_msg_model_stats *ms = calloc(n ? n : 1, sizeof *ms);
	FILE *f = ms ? open_memstream(&text, len) : NULL;
	for (uint32_t i = 0; f && i < n; i++)
		dnnqd_model_stats_fill(d, i, &ms[i]);
	int rc = f ? dnnq_metrics_write(f, &st, ms, n, NULL) : -1;
	if (f && fclose(f))
		rc = -1;
	free(ms);
	if (rc) {
		free(text);
		return NULL;
	}
	return text;
}

/* PATH.tmp.PID written and renamed over PATH; 0, or the errno with what
 * failed in *what. Whatever is at PATH.tmp.PID goes first and the file is
 * made new (O_EXCL): one left there, by a crash or by whoever else may
 * write the directory, could be a FIFO (open would block the writer, and
 * the daemon's shutdown with it, for ever) or a hard link to a file root
 * must not truncate. */
static int write_file(struct dnnqd_metrics *m, const char *text, size_t len, const char **what)
{
	*what = "unlink";
	if (unlink(m->tmp) && errno != ENOENT)
		return errno;
	*what = "open";
	int fd = open(m->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	int err = 0;
	*what = "chmod";
	/* the umask may have taken bits node_exporter's user needs */
	if (fchmod(fd, 0644))
		err = errno;
	for (size_t off = 0; !err && off < len;) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		*what = "write";
		if (n <= 0)
			err = n < 0 ? errno : EIO;
		off += n > 0 ? (size_t)n : 0;
	}
	if (close(fd) && !err) {
		*what = "close";
		err = errno;
	}
	if (!err && rename(m->tmp, m->path)) {
		*what = "rename";
		err = errno;
	}
	if (err)
		unlink(m->tmp);
	return err;
}

/* A failure is logged when it is not the one logged last. */
static void report(struct dnnqd_metrics *m, int err, const char *what)
{
	char now[sizeof m->failed];
	if (!err) {
		if (m->failed[0])
			dnnqd_log(DNNQD_LOG_INFO, "metrics: %s: written again", m->path);
		m->failed[0] = '\0';
		return;
	}
	snprintf(now, sizeof now, "%s: %s", what, strerror(err));
	if (!strcmp(now, m->failed))
		return;
	memcpy(m->failed, now, sizeof now);
	dnnqd_log(DNNQD_LOG_WARN, "metrics: %s: %s (logged once; dnnqd goes on serving)", m->path,
	          now);
}

static void *writer(void *arg)
{
	struct dnnqd_metrics *m = arg;
	pthread_mutex_lock(&m->mu);
	for (;;) {
		while (!m->text && !m->stop)
			pthread_cond_wait(&m->cv, &m->mu);
		if (m->stop)
			break;
		char *text = m->text;
		size_t len = m->len;
		m->text = NULL;
		pthread_mutex_unlock(&m->mu);
		const char *what = "";
		int err = write_file(m, text, len, &what);
		report(m, err, what);
		free(text);
		pthread_mutex_lock(&m->mu);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

int dnnqd_metrics_create(const char *path, uint32_t interval_s, struct dnnqd_metrics **out,
                         struct dnnq_diag *diag)
{
	struct dnnqd_metrics *m = calloc(1, sizeof *m);
	*out = NULL;
	if (!m || !(m->path = strdup(path)) ||
	    asprintf(&m->tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		if (m)
			free(m->path);
		free(m);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "metrics: out of memory");
	}
	m->interval_ns = (uint64_t)(interval_s ? interval_s : 5) * 1000000000u;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	int rc = pthread_create(&m->thread, NULL, writer, m);
	m->started = !rc;
	if (rc) {
		dnnqd_metrics_destroy(m);
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "metrics: thread: %s", strerror(rc));
	}
	dnnqd_log(DNNQD_LOG_INFO, "metrics: writing %s every %u s", path,
	          (unsigned)(m->interval_ns / 1000000000u));
	*out = m;
	return 0;
}

void dnnqd_metrics_tick(struct dnnqd_metrics *m, struct dnnqd *d, uint64_t now_ns)
{
	if (now_ns < m->next_ns)
		return;
	m->next_ns = now_ns + m->interval_ns;
	size_t len;
	char *text = snapshot(d, &len);
	if (!text) {
		dnnqd_log(DNNQD_LOG_DEBUG, "metrics: snapshot: out of memory");
		return;
	}
	pthread_mutex_lock(&m->mu);
	char *old = m->text;
	m->text = text;
	m->len = len;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	free(old);
}

void dnnqd_metrics_destroy(struct dnnqd_metrics *m)
{
	if (!m)
		return;
	if (m->started) {
		pthread_mutex_lock(&m->mu);
		m->stop = true;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->thread, NULL);
	}
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free(m->text);
	free(m->path);
	free(m->tmp);
	free(m);
}
