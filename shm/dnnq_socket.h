/*
 * The default socket path: one rule, used by dnnqd (conf/'s embedded
 * default) and by libdnnq-client (dnnq_connect with a NULL path), so both
 * sides agree. docs/serving.md ("The default socket") documents it.
 *
 *   root (uid 0)   /run/dnnq/dnnqd.sock, always: the service is root's
 *                  system unit (dnnqd.socket listens there), and a root
 *                  login's $XDG_RUNTIME_DIR (/run/user/0) is nobody's
 *                  serving directory
 *   any other uid  $XDG_RUNTIME_DIR/dnnq/dnnqd.sock when the variable is set,
 *                  non-empty, absolute and the path fits sun_path; else
 *                  /run/dnnq/dnnqd.sock
 *
 * A client whose per-user socket does not exist falls back to the system
 * socket (a user without a dnnqd of their own reaches the system service);
 * that fallback is the client's, see client/control.c.
 */
#ifndef DNNQ_SOCKET_H
#define DNNQ_SOCKET_H

#include <stddef.h>
#include <sys/types.h>

#define DNNQ_SYSTEM_SOCKET "/run/dnnq/dnnqd.sock"
#define DNNQ_SOCKET_PATH_MAX 108u	/* sizeof sun_path, NUL included */

/* Writes the default socket for `uid` with $XDG_RUNTIME_DIR = xdg (NULL:
 * unset) into buf[0, len) (len >= sizeof DNNQ_SYSTEM_SOCKET); returns buf.
 * Pure: reads no environment (callers pass getenv's answer). */
char *dnnq_default_socket(uid_t uid, const char *xdg, char *buf, size_t len);

#endif
