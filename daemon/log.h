/*
 * daemon/log.h — dnnqd's log lines: one line on stderr per event, always
 * starting with "dnnqd: " (journald and the tests read stderr), filtered by
 * --log-level. Each line is formatted into a buffer and written with one
 * write(2), so lines from the control loop and the workers never interleave.
 */
#ifndef DNNQ_DAEMON_LOG_H
#define DNNQ_DAEMON_LOG_H

#include <stdbool.h>

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

#endif
