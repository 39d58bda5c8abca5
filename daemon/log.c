/*
 * dnnqd's log lines (log.h). The prefix and the newline are added here so a
 * caller writes only what happened; a line longer than the buffer is cut,
 * never split into two writes.
 *
 * Bytes a terminal or journald acts on are escaped (dnnq_escape).
 *
 * A line never waits for room on stderr (emit): one that does not fit is
 * dropped and counted, and the next that fits is preceded by the count.
 *
 * The format is decided once (dnnqd_log_setup, or the first line) and kept
 * in an atomic word: workers read it on every line without a lock, and two
 * threads racing to decide it first compute the same answer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "shm/dnnq_error.h"

enum dnnqd_log_level dnnqd_log_threshold = DNNQD_LOG_INFO;

enum { FORMAT_UNDECIDED, FORMAT_PLAIN, FORMAT_JOURNAL };
static int log_format = FORMAT_UNDECIDED;
/* stderr a pipe or a socket (decided with the format): see write_nowait */
static bool stderr_pipe;

/* The sd-daemon priority prefixes, by level. */
static const char *const journal_prefix[] = {
	[DNNQD_LOG_ERROR] = SD_ERR, [DNNQD_LOG_WARN] = SD_WARNING,
	[DNNQD_LOG_INFO] = SD_INFO, [DNNQD_LOG_DEBUG] = SD_DEBUG,
};

/* $JOURNAL_STREAM is "DEVICE:INODE" in decimal and names stderr: a
 * variable inherited from a parent whose stderr was the journal, while
 * ours was redirected, names some other file. */
static bool stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	struct stat st;
	if (!v || !*v || fstat(STDERR_FILENO, &st))
		return false;
	char *end;
	unsigned long long dev = strtoull(v, &end, 10);
	if (end == v || *end != ':' || end[1] < '0' || end[1] > '9')
		return false;
	const char *ino_s = end + 1;
	unsigned long long ino = strtoull(ino_s, &end, 10);
	return !*end && dev == (unsigned long long)st.st_dev &&
	       ino == (unsigned long long)st.st_ino;
}

void dnnqd_log_setup(void)
{
	struct stat st;
	bool pipe = !fstat(STDERR_FILENO, &st) && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
	__atomic_store_n(&stderr_pipe, pipe, __ATOMIC_RELAXED);
	__atomic_store_n(&log_format, stderr_is_journal() ? FORMAT_JOURNAL : FORMAT_PLAIN,
	                 __ATOMIC_RELEASE);
}

bool dnnqd_log_to_journal(void)
{
	if (__atomic_load_n(&log_format, __ATOMIC_ACQUIRE) == FORMAT_UNDECIDED)
		dnnqd_log_setup();
	return __atomic_load_n(&log_format, __ATOMIC_RELAXED) == FORMAT_JOURNAL;
}

/* A line's prefix at level into line: the journal's priority, or the time. */
static int line_prefix(enum dnnqd_log_level level, char *line, size_t len)
{
	if (dnnqd_log_to_journal())
		return snprintf(line, len, "%s", level <= DNNQD_LOG_DEBUG ? journal_prefix[level]
		                                                          : "dnnqd: ");
	/* journald stamps its lines itself; a file or a terminal gets the
	 * time in UTC, to the millisecond */
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = (int)strftime(line, len, "%Y-%m-%dT%H:%M:%S", &tm);
	return n + snprintf(line + n, len - (size_t)n, ".%03ldZ dnnqd: ", ts.tv_nsec / 1000000);
}

/* Lines dropped since the last one written (stderr had no room). */
static unsigned long dropped;

/* Whether the n bytes of line went to stderr whole, without waiting for
 * room. A pipe or a socket takes RWF_NOWAIT (a pipe a line whole or not
 * at all; a stream socket may take the start of one, and the rest is
 * dropped with it). Anything else, or a kernel without RWF_NOWAIT there:
 * poll says whether there is room (a terminal stopped by ^S has none),
 * then write(2). A file always has room (RWF_NOWAIT on a file may refuse
 * a write that must allocate: lines a disk would take, lost). */
static bool write_nowait(const char *line, size_t n)
{
	if (__atomic_load_n(&stderr_pipe, __ATOMIC_RELAXED)) {
		struct iovec iov = { (void *)line, n };
		ssize_t w = pwritev2(STDERR_FILENO, &iov, 1, -1, RWF_NOWAIT);
		if (w >= 0 || errno == EAGAIN)
			return w == (ssize_t)n;
	}
	struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) &&
	       write(STDERR_FILENO, line, n) == (ssize_t)n;
}

/* A line for stderr, or counted as dropped when it has no room: a log
 * nobody reads (a stopped terminal, a pipe whose reader hung, a journald
 * that does not keep up) must not hold the control loop or a worker.
 * The first line with room again is preceded by how many were dropped. */
static void emit(enum dnnqd_log_level level, const char *line, size_t n)
{
	unsigned long lost = __atomic_exchange_n(&dropped, 0, __ATOMIC_RELAXED);
	if (lost) {
		char note[128];
		int k = line_prefix(level < DNNQD_LOG_WARN ? level : DNNQD_LOG_WARN, note,
		                    sizeof note);
		k += snprintf(note + k, sizeof note - (size_t)k, "%lu log lines dropped: stderr was"
		              " full\n", lost);
		if (!write_nowait(note, (size_t)k)) {
			__atomic_fetch_add(&dropped, lost + 1, __ATOMIC_RELAXED);
			return;
		}
	}
	if (!write_nowait(line, n))
		__atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);
}

void dnnqd_log(enum dnnqd_log_level level, const char *fmt, ...)
{
	if (!dnnqd_log_enabled(level))
		return;
	char line[1024];
	int n = line_prefix(level, line, sizeof line);
	char msg[sizeof line];
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (m >= 0)
		n += (int)dnnq_escape(line + n, sizeof line - 1 - (size_t)n, msg);
	line[n++] = '\n';	/* where the escape put its NUL */
	emit(level, line, (size_t)n);
}
