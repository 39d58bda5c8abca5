/* dnnq_strerror: the text for each status code of dnnq_error.h; diagnostics,
 * escaped. */
#define _GNU_SOURCE	/* vasprintf */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shm/dnnq_error.h"

/* Each code's name and text, at -code. */
#define CODE(c, text) [-(c)] = { #c, text }
static const struct {
	const char *name, *text;
} codes[] = {
	CODE(DNNQ_OK, "success"),
	CODE(DNNQ_E_INVAL, "invalid argument"),
	CODE(DNNQ_E_NOMEM, "out of memory or over a size limit"),
	CODE(DNNQ_E_RANGE, "value out of range"),
	CODE(DNNQ_E_FORMAT, "malformed data"),
	CODE(DNNQ_E_VERSION, "unsupported format version"),
	CODE(DNNQ_E_CHECKSUM, "checksum mismatch"),
	CODE(DNNQ_E_TRUNCATED, "data truncated"),
	CODE(DNNQ_E_SHAPE, "shape mismatch"),
	CODE(DNNQ_E_DTYPE, "unsupported or mismatched data type"),
	CODE(DNNQ_E_UNSUPPORTED, "not supported"),
	CODE(DNNQ_E_NOSPACE, "output buffer too small"),
	CODE(DNNQ_E_IO, "I/O error"),
	CODE(DNNQ_E_TIMEDOUT, "timed out"),
	CODE(DNNQ_E_AGAIN, "resource temporarily unavailable"),
	CODE(DNNQ_E_DISCONNECTED, "disconnected from the daemon"),
	CODE(DNNQ_E_PERM, "permission denied"),
	CODE(DNNQ_E_NOTFOUND, "not found"),
	CODE(DNNQ_E_BUSY, "limit reached (sessions or requests in flight)"),
	CODE(DNNQ_E_MODEL_CHANGED, "the model changed: open it again"),
	CODE(DNNQ_E_PROTO, "protocol error"),
};
#undef CODE

static bool known(int status)
{
	return status <= 0 && -(long)status < (long)(sizeof codes / sizeof codes[0]);
}

const char *dnnq_strerror(int status)
{
	return known(status) ? codes[-status].text : "unknown error";
}

const char *dnnq_status_name(int status)
{
	return known(status) ? codes[-status].name : "DNNQ_E_UNKNOWN";
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
	/* C0, DEL, C1; overlong, a surrogate, past U+10FFFF; the bidi
	 * controls (ALM, LRM, RLM, the embeddings, overrides and isolates),
	 * which reorder what a terminal shows after them, and the line and
	 * paragraph separators, a line break to some viewers of a log */
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (n == 2 && c < 0x800) ||
	    (n == 3 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff) ||
	    c == 0x61c || c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069))
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

size_t dnnq_vescapef(char *out, size_t len, const char *fmt, va_list ap)
{
	/* twice out's room: dnnq_escape writes a byte or more for each it
	 * reads, so a character cut at raw's end is never reached */
	char raw[1024];
	vsnprintf(raw, sizeof raw, fmt, ap);
	return dnnq_escape(out, len < sizeof raw / 2 ? len : sizeof raw / 2, raw);
}

char *dnnq_escape_vasprintf(const char *fmt, va_list ap)
{
	char *raw = NULL, *out = NULL;
	if (vasprintf(&raw, fmt, ap) < 0)
		return NULL;
	size_t cap = 4 * strlen(raw) + 1;     /* a byte escaped is 4 */
	if ((out = malloc(cap)))
		dnnq_escape(out, cap, raw);
	free(raw);
	return out;
}

int dnnq_diag_set(struct dnnq_diag *d, int status, const char *fmt, ...)
{
	if (d) {
		va_list ap;
		va_start(ap, fmt);
		dnnq_vescapef(d->msg, sizeof d->msg, fmt, ap);
		va_end(ap);
	}
	return status;
}
