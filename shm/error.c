/* dnnq_strerror: the text for each status code of dnnq_error.h; diagnostics,
 * escaped. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

size_t dnnq_utf8_char(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned n = *s < 0x80 ? 0 : *s >= 0xc2 && *s <= 0xdf ? 1
	           : *s >= 0xe0 && *s <= 0xef ? 2 : *s >= 0xf0 && *s <= 0xf4 ? 3 : 4;
	if (n == 4)
		return 0;
	uint32_t c = n ? *s & (0x3fu >> n) : *s;
	for (unsigned i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	/* C0, DEL, C1; overlong, a surrogate, past U+10FFFF */
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (n == 2 && c < 0x800) ||
	    (n == 3 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n + 1;
}

size_t dnnq_escape(char *out, size_t len, const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p;) {
		size_t k = dnnq_utf8_char(p);
		if (n + (k ? k : 4) >= len)
			break;
		if (k) {
			memcpy(out + n, p, k);
			n += k;
			p += k;
		} else {
			n += (size_t)sprintf(out + n, "\\x%02x", (unsigned char)*p++);
		}
	}
	if (len)
		out[n] = 0;
	return n;
}

int dnnq_diag_set(struct dnnq_diag *d, int status, const char *fmt, ...)
{
	if (d) {
		va_list ap;
		va_start(ap, fmt);
		char raw[sizeof d->msg];
		vsnprintf(raw, sizeof raw, fmt, ap);
		va_end(ap);
		dnnq_escape(d->msg, sizeof d->msg, raw);
	}
	return status;
}
