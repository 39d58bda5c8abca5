/*
 * dnnqd's log lines (log.h). The prefix and the newline are added here so a
 * caller writes only what happened; a line longer than the buffer is cut,
 * never split into two writes.
 *
 * Bytes a terminal or journald acts on are escaped (dnnq_escape).
 *
 * The format is decided once (dnnqd_log_setup, or the first line) and kept
 * in an atomic word: workers read it on every line without a lock, and two
 * threads racing to decide it first compute the same answer.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "shm/dnnq_error.h"

enum dnnqd_log_level dnnqd_log_threshold = DNNQD_LOG_INFO;

enum { FORMAT_UNDECIDED, FORMAT_PLAIN, FORMAT_JOURNAL };
static int log_format = FORMAT_UNDECIDED;

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
	__atomic_store_n(&log_format, stderr_is_journal() ? FORMAT_JOURNAL : FORMAT_PLAIN,
	                 __ATOMIC_RELAXED);
}

bool dnnqd_log_to_journal(void)
{
	if (__atomic_load_n(&log_format, __ATOMIC_RELAXED) == FORMAT_UNDECIDED)
		dnnqd_log_setup();
	return __atomic_load_n(&log_format, __ATOMIC_RELAXED) == FORMAT_JOURNAL;
}

void dnnqd_log(enum dnnqd_log_level level, const char *fmt, ...)
{
	if (!dnnqd_log_enabled(level))
		return;
	char line[1024];
	int n;
	if (dnnqd_log_to_journal()) {
		n = snprintf(line, sizeof line, "%s", level <= DNNQD_LOG_DEBUG
		             ? journal_prefix[level] : "dnnqd: ");
	} else {
		/* journald stamps its lines itself; a file or a terminal gets
		 * the time in UTC, to the millisecond */
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
		n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ dnnqd: ",
		              ts.tv_nsec / 1000000);
	}
	char msg[sizeof line];
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (m >= 0)
		n += (int)dnnq_escape(line + n, sizeof line - 1 - (size_t)n, msg);
	line[n++] = '\n';	/* where the escape put its NUL */
	/* Nothing useful can be done when stderr is gone. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
