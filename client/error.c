/*
 * dnnq_last_error: one message per thread, written by every public call
 * that fails. A call's inner layers may leave a detailed line (the socket
 * path and errno of a connect, the daemon's own words on a refusal) with
 * client_errorf; the public function's last step, client_status, keeps it,
 * or writes "dnnq_<call>: <dnnq_strerror>" when there is none (with what
 * to do, for DNNQ_E_DISCONNECTED). A detail
 * never outlives its call: client_status consumes it either way.
 */
#include <stdarg.h>
#include <stdio.h>

#include "client/client-internal.h"

#define LAST_ERROR_MAX 512

static _Thread_local char last_error[LAST_ERROR_MAX];
static _Thread_local bool detail_pending;

/* The line escaped as dnnq_diag_set's are (dnnq_escape): it carries what
 * the caller gave (a socket path, $DNNQ_SOCKET, a model name) and goes to
 * terminals, logs and exceptions; a daemon's text is escaped already
 * (ctl_text), which this leaves as it is. */
int client_errorf(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dnnq_vescapef(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	detail_pending = true;
	return rc;
}

bool client_error_pending(void)
{
	return detail_pending;
}

const char *client_hint(int rc)
{
	return rc == DNNQ_E_DISCONNECTED ? " (dnnqd stopped, restarted or ended the session: this"
	       " client is done; close it, connect again once dnnqd is back)" : "";
}

int client_status(int rc, const char *what)
{
	bool detail = detail_pending;
	detail_pending = false;
	if (rc < 0 && rc != DNNQ_E_AGAIN && !detail)
		snprintf(last_error, sizeof last_error, "%s: %s%s", what, dnnq_strerror(rc),
		         client_hint(rc));
	return rc;
}

const char *dnnq_last_error(void)
{
	return last_error;
}
