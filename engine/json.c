/* The tools' --json failure object (engine/base.h): the one piece of
 * process state here, the tool's, never the engine's. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/base.h"

/* The first line written to stderr since dnnq_json_failures (a tool's
 * error line comes first: with --json there is no progress bar). */
static struct {
	FILE *real;
	char line[512];
	size_t len;
	bool done;
} first;

static ssize_t tee_write(void *cookie, const char *buf, size_t n)
{
	(void)cookie;
	for (size_t i = 0; i < n && !first.done; i++) {
		if (buf[i] == '\n')
			first.done = true;
		else if (first.len + 1 < sizeof first.line)
			first.line[first.len++] = buf[i];
	}
	return (ssize_t)fwrite(buf, 1, n, first.real);
}

void dnnq_json_failures(void)
{
	if (first.real)
		return;
	FILE *tee = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = tee_write });
	if (!tee)
		return;
	setvbuf(tee, NULL, _IONBF, 0);
	first.real = stderr;
	stderr = tee;
}

int dnnq_json_exit(int exit_code, int status)
{
	if (!first.real || !exit_code)
		return exit_code;
	first.line[first.len] = 0;
	printf("{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":",
	       dnnq_status_name(status < 0 ? status : exit_code == 2 ? DNNQ_E_INVAL : DNNQ_E_IO));
	dnnq_json_string(stdout, first.line);
	printf("}}\n");
	fflush(stdout);
	return exit_code;
}
