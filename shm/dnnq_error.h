/*
 * dnnq error codes: one vocabulary for every layer.
 *
 * The codes travel between processes (a request slot's status word in shared
 * memory, control-message replies), so they are part of the shared ABI and
 * live here in shm/. Values are stable: new codes are appended, never
 * renumbered. Every public dnnq function returns 0 (or a non-negative count)
 * on success and one of these negative codes on failure.
 */
#ifndef DNNQ_ERROR_H
#define DNNQ_ERROR_H

#include <stdarg.h>
#include <stddef.h>

enum dnnq_status {
	DNNQ_OK             = 0,
	DNNQ_E_INVAL        = -1,  /* an argument breaks the function's contract */
	DNNQ_E_NOMEM        = -2,  /* allocation failed or a size limit refused it */
	DNNQ_E_RANGE        = -3,  /* a value is outside what its field allows */
	DNNQ_E_FORMAT       = -4,  /* malformed serialized data */
	DNNQ_E_VERSION      = -5,  /* serialized data of an unsupported version */
	DNNQ_E_CHECKSUM     = -6,  /* CRC32C mismatch */
	DNNQ_E_TRUNCATED    = -7,  /* data ends before what it declares */
	DNNQ_E_SHAPE        = -8,  /* shapes or dimensions do not agree */
	DNNQ_E_DTYPE        = -9,  /* wrong or unsupported data type */
	DNNQ_E_UNSUPPORTED  = -10, /* valid, but not implemented by this build/CPU */
	DNNQ_E_NOSPACE      = -11, /* an output buffer is too small */
	DNNQ_E_IO           = -12, /* a read, write or system call failed */
	DNNQ_E_TIMEDOUT     = -13, /* a wait ran out of time */
	DNNQ_E_AGAIN        = -14, /* try again: a ring is full or empty */
	DNNQ_E_DISCONNECTED = -15, /* the daemon went away (or the session was closed) */
	DNNQ_E_PERM         = -16, /* the peer is not allowed */
	DNNQ_E_NOTFOUND     = -17, /* no model (or other named thing) by that name */
	DNNQ_E_BUSY         = -18, /* a limit on sessions or requests in flight is reached */
	DNNQ_E_MODEL_CHANGED = -19, /* the model was replaced with another signature */
	DNNQ_E_PROTO        = -20, /* a control message broke the protocol */
};

/* Static English text for a status code; never NULL. */
const char *dnnq_strerror(int status);
/* Its name as spelled here, "DNNQ_E_NOTFOUND" ("DNNQ_E_UNKNOWN" for a value
 * that is no code): for the tools' --json failure objects. */
const char *dnnq_status_name(int status);

/* One line that says what is wrong with outside input, naming the field
 * and the rule ("qtensor: dims[1] = ...: element count overflows"): filled
 * by the functions that judge such input, printed by whoever called them.
 * 512 bytes: the importer's lines run to 300 and more, and a tool puts the
 * model's path before them (at 256 the advice at their end was cut). */
struct dnnq_diag {
	char msg[512];
};

/* The length of the character at s when it is UTF-8 text: a well-formed
 * sequence (no overlong form, surrogate or code point past U+10FFFF) that
 * is not a control (C0, DEL, C1, a bidi control such as U+202E RLO, the
 * line and paragraph separators U+2028 and U+2029); 0 otherwise, and at
 * the NUL. */
size_t dnnq_utf8_char(const char *s);

/* s into out[0, len), NUL-terminated and cut to fit, each byte that is not
 * part of UTF-8 text (dnnq_utf8_char) written as \xNN; the length.
 * Strings from clients and model files (names, a reload's error) pass
 * through it before a log line or a reply carries them: a newline would
 * start a log line (to journald, an entry of dnnqd's at the priority a
 * "<N>" prefix says) of their making, an escape sequence (ESC, or C1's
 * CSI) would drive the terminal that shows it, and a byte that is not
 * UTF-8 would make dnnqctl's JSON invalid. */
size_t dnnq_escape(char *out, size_t len, const char *s);

/* fmt's text into out (at most 512 bytes of it: a diag's) as dnnq_escape
 * writes it; the length. */
size_t dnnq_vescapef(char *out, size_t len, const char *fmt, va_list ap);
/* fmt's whole text escaped (dnnq_escape) in a malloc'd string, or NULL out
 * of memory: a tool's line on stderr, whatever its length. */
char *dnnq_escape_vasprintf(const char *fmt, va_list ap);

/* Formats into d->msg when d is non-NULL, escaped (dnnq_escape): the names
 * it carries come from model files, ONNX files and clients, and the line
 * goes to terminals, logs and JSON. Returns `status` for tail calls. */
int dnnq_diag_set(struct dnnq_diag *d, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
