/*
 * dnnqd's log lines (log.h). The prefix and the newline are added here so a
 * caller writes only what happened; a line longer than the buffer is cut,
 * never split into two writes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon/log.h"

enum dnnqd_log_level dnnqd_log_threshold = DNNQD_LOG_INFO;

void dnnqd_log(enum dnnqd_log_level level, const char *fmt, ...)
{
	if (!dnnqd_log_enabled(level))
		return;
	char line[1024];
	int n = snprintf(line, sizeof line, "dnnqd: ");
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	/* vsnprintf returns what it would have written: clamp to what fits */
	n = m < 0 ? n : n + m > (int)sizeof line - 2 ? (int)sizeof line - 2 : n + m;
	line[n++] = '\n';
	/* Nothing useful can be done when stderr is gone. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
