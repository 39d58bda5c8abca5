/*
 * daemon/server.h — the control loop: the listening socket, the client
 * connections, the signalfd, hot reload's fds and the heartbeat timer, on
 * one thread.
 */
#ifndef DNNQ_DAEMON_SERVER_H
#define DNNQ_DAEMON_SERVER_H

#include <sys/stat.h>

#include "daemon/dnnqd.h"
#include "daemon/options.h"

/* Binds and listens on path (SOCK_SEQPACKET, non-blocking): creates its
 * directory (0755) when missing only for the default socket's (/run/dnnq,
 * $XDG_RUNTIME_DIR/dnnq; any other missing directory is DNNQ_E_IO,
 * "DIR: socket directory: does not exist"), removes a stale socket file nobody answers
 * on, and refuses when another daemon listens there. */
int dnnqd_listen(const char *path, int *fd, struct dnnq_diag *diag);
/* What dnnqd_listen would refuse at path, changing nothing: a missing
 * directory (not the default one's), one another user may write to, a
 * file that is not a socket. A socket there, live or stale, passes. For
 * --check-config (whose user need not be the daemon's). */
int dnnqd_listen_check(const char *path, struct dnnq_diag *diag);
/* What dnnqd_listen_check refuses, DNNQ_E_IO when this user may not make
 * the socket in path's existing directory, DNNQ_E_BUSY when something
 * answers on the socket at path (another dnnqd, or another user's
 * program), as dnnqd_listen would find them; 0 otherwise (a default
 * directory still to be made: dnnqd_listen says what fails there). The
 * start asks before it loads the models, which can take minutes. */
int dnnqd_listen_taken(const char *path, struct dnnq_diag *diag);
/* The same with the socket file's mode and, when gid >= 0, its group
 * (listen.mode, listen.group); dnnqd_listen is mode 0666, no group.
 * bound (may be NULL): the socket file's identity, for dnnqd_unlisten. */
int dnnqd_listen_as(const char *path, uint32_t mode, int64_t gid, int *fd, struct stat *bound,
                    struct dnnq_diag *diag);
/* Removes the socket file at path at exit, only when it is still the one
 * dnnqd_listen_as bound (bound: its identity then): an operator may have
 * deleted it and started another dnnqd there, whose socket this would
 * otherwise remove, leaving it serving nobody. */
void dnnqd_unlisten(const char *path, const struct stat *bound);

/* Serves until sig_fd (a signalfd) reports SIGTERM or SIGINT (SIGHUP
 * reloads, when d->reload is set); then stops the workers (running
 * requests finish) and closes every connection. The listening socket stays
 * the caller's. */
int dnnqd_serve(struct dnnqd *d, const struct dnnqd_acl *acl, int listen_fd, int sig_fd,
                struct dnnq_diag *diag);

#endif
