/* The tools' --json failure object (engine/base.h): the one piece of
 * process state here, the tool's, never the engine's. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/base.h"

/* What was written to stderr since dnnq_json_failures (with --json there
 * is no progress bar: the error, and any note before it), cut to fit. */
static struct {
	FILE *real;
	char text[4096];
	size_t len;
	bool answered;                    /* stdout holds the tool's object */
} said;

static ssize_t tee_write(void *cookie, const char *buf, size_t n)
{
	(void)cookie;
	size_t k = n < sizeof said.text - 1 - said.len ? n : sizeof said.text - 1 - said.len;
	memcpy(said.text + said.len, buf, k);
	said.len += k;
	return (ssize_t)fwrite(buf, 1, n, said.real);
}

void dnnq_json_failures(void)
{
	if (said.real)
		return;
	FILE *tee = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = tee_write });
	if (!tee)
		return;
	setvbuf(tee, NULL, _IONBF, 0);
	said.real = stderr;
	stderr = tee;
}

void dnnq_json_failures_if_asked(int argc, char *const *argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json")) {
			dnnq_json_failures();
			return;
		}
}

void dnnq_json_answered(void)
{
	said.answered = true;
}

int dnnq_json_exit(int exit_code, int status)
{
	if (!said.real || !exit_code || said.answered)
		return exit_code;
	said.answered = true;
	while (said.len && said.text[said.len - 1] == '\n')
		said.len--;
	said.text[said.len] = 0;
	printf("{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":",
	       dnnq_status_name(status < 0 ? status : exit_code == 2 ? DNNQ_E_INVAL : DNNQ_E_IO));
	dnnq_json_string(stdout, said.text);
	printf("}}\n");
	fflush(stdout);
	return exit_code;
}

static const char *stdout_tool;

/* At exit: stdout's last buffer written, or the tool's failure said. */
static void stdout_check(void)
{
	errno = 0;
	if (!fflush(stdout) && !ferror(stdout))
		return;
	fprintf(stderr, "%s: writing standard output: %s\n", stdout_tool,
	        errno ? strerror(errno) : "write error");
	_exit(1);
}

void dnnq_stdout_checked(const char *tool)
{
	stdout_tool = tool;
	atexit(stdout_check);
}
