/*
 * daemon/log.h — dnnqd's log lines: one line on stderr per event, filtered
 * by --log-level. Each line is formatted into a buffer and written with one
 * write(2), so lines from the control loop and the workers never interleave,
 * and never waits for room: a line stderr cannot take at once (a stopped
 * terminal, a pipe nobody reads) is dropped, and the next that fits says
 * how many were.
 *
 * Two formats. On a terminal, a file or a pipe (the tests read a log file)
 * a line starts with the time in UTC, ISO 8601 to the millisecond, then
 * "dnnqd: " ("2026-12-03T07:16:04.123Z dnnqd: ready: ..."). When stderr is the journal (systemd sets
 * $JOURNAL_STREAM to stderr's "DEVICE:INODE", see systemd.exec(5)) a line
 * starts with its syslog priority instead, "<3>" error, "<4>" warning,
 * "<6>" info, "<7>" debug (sd-daemon.h's SD_ERR...): journald takes the
 * prefix off and files the line at that priority, and names the daemon
 * itself (SYSLOG_IDENTIFIER) and stamps the time, so a "dnnqd: " or a
 * timestamp would only repeat them.
 */
#ifndef DNNQ_DAEMON_LOG_H
#define DNNQ_DAEMON_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum dnnqd_log_level {
	DNNQD_LOG_ERROR = 0,
	DNNQD_LOG_WARN  = 1,
	DNNQD_LOG_INFO  = 2,
	DNNQD_LOG_DEBUG = 3,
};

/* Set once at start-up, before any worker thread exists. */
extern enum dnnqd_log_level dnnqd_log_threshold;

static inline bool dnnqd_log_enabled(enum dnnqd_log_level level)
{
	return level <= dnnqd_log_threshold;
}

void dnnqd_log(enum dnnqd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Decides the format from $JOURNAL_STREAM and stderr. The first dnnqd_log
 * does it by itself; call it again after stderr or the variable changed
 * (the tests do), while no other thread logs. */
void dnnqd_log_setup(void);

/* Whether lines go out in the journal's format (for the tests). */
bool dnnqd_log_to_journal(void);

#endif
