/*
 * daemon/notify.h — dnnqd and its service manager (sd-daemon): readiness,
 * reload and stop notifications, status lines, the watchdog, and socket
 * activation. Every call is a no-op when NOTIFY_SOCKET is unset (not run
 * by systemd), so the daemon calls them unconditionally.
 */
#ifndef DNNQ_DAEMON_NOTIFY_H
#define DNNQ_DAEMON_NOTIFY_H

#include <stdint.h>

/* READY=1 with a STATUS= line: the socket listens and the models are
 * loaded (start-up), or a reload ended (after dnnqd_notify_reloading). */
void dnnqd_notify_ready(const char *status);
/* RELOADING=1 with MONOTONIC_USEC=now, before a reload starts. */
void dnnqd_notify_reloading(void);
/* STATUS=... alone (e.g. the last reload's result). A newline in any
 * status text becomes a space (it would start another assignment). */
void dnnqd_notify_status(const char *status);
/* STOPPING=1, when a graceful stop begins. */
void dnnqd_notify_stopping(void);
/* The watchdog interval asked by the manager (WATCHDOG_USEC for this pid)
 * in ns, UINT64_MAX past it, 0 when it asks none. Ping at half of it. */
uint64_t dnnqd_watchdog_ns(void);
/* WATCHDOG=1: only from the control loop, only while every worker lives. */
void dnnqd_notify_watchdog(void);

/* Socket activation ($LISTEN_FDS / $LISTEN_PID, which it unsets): 1 and
 * *fd = the passed listening socket (checked to be exactly one AF_UNIX
 * SOCK_SEQPACKET listener, then made O_NONBLOCK and FD_CLOEXEC), 0 when
 * none was passed to this pid, or a negative DNNQ_E_* with diag when what
 * was passed is unusable. The socket's file is the manager's: whoever
 * takes a passed socket must not unlink its path at exit. */
struct dnnq_diag;
int dnnqd_listen_fds(int *fd, struct dnnq_diag *diag);

#endif
