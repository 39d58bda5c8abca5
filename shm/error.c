/* dnnq_strerror: the text for each status code of dnnq_error.h; diagnostics. */
#include <stdarg.h>
#include <stdio.h>

#include "shm/dnnq_error.h"

const char *dnnq_strerror(int status)
{
	switch (status) {
	case DNNQ_OK:            return "success";
	case DNNQ_E_INVAL:       return "invalid argument";
	case DNNQ_E_NOMEM:       return "out of memory or over a size limit";
	case DNNQ_E_RANGE:       return "value out of range";
	case DNNQ_E_FORMAT:      return "malformed data";
	case DNNQ_E_VERSION:     return "unsupported format version";
	case DNNQ_E_CHECKSUM:    return "checksum mismatch";
	case DNNQ_E_TRUNCATED:   return "data truncated";
	case DNNQ_E_SHAPE:       return "shape mismatch";
	case DNNQ_E_DTYPE:       return "unsupported or mismatched data type";
	case DNNQ_E_UNSUPPORTED: return "not supported";
	case DNNQ_E_NOSPACE:     return "output buffer too small";
	case DNNQ_E_IO:          return "I/O error";
	case DNNQ_E_TIMEDOUT:    return "timed out";
	case DNNQ_E_AGAIN:       return "resource temporarily unavailable";
	case DNNQ_E_DISCONNECTED: return "disconnected from the daemon";
	case DNNQ_E_PERM:        return "permission denied";
	case DNNQ_E_NOTFOUND:    return "not found";
	case DNNQ_E_BUSY:        return "limit reached (sessions or requests in flight)";
	case DNNQ_E_MODEL_CHANGED: return "the model changed: open it again";
	case DNNQ_E_PROTO:       return "protocol error";
	}
	return "unknown error";
}

int dnnq_diag_set(struct dnnq_diag *d, int status, const char *fmt, ...)
{
	if (d) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(d->msg, sizeof d->msg, fmt, ap);
		va_end(ap);
	}
	return status;
}
