/*
 * dnnqd and its service manager (notify.h), on libsystemd's sd-daemon.
 *
 * Every message is one datagram to $NOTIFY_SOCKET, sd_notify's protocol,
 * but sent here on a non-blocking socket: sd_notify's blocks, and a
 * manager (or whatever the variable names) that stops reading held the
 * control loop in sendmsg for good once the socket's queue (10 datagrams
 * by default) was full, every client's connect with it. Without the
 * variable nothing is sent, so these functions are safe outside systemd,
 * and failures are ignored: a lost STATUS line must not stop a daemon that
 * serves. The environment is left in place because the daemon notifies
 * many times over its life.
 *
 * A STATUS= text is the caller's and may hold anything a log line holds; a
 * newline in it would start a new assignment in the datagram (a "READY=1"
 * smuggled in by a model name, say), so newlines become spaces first.
 *
 * RELOADING=1 carries MONOTONIC_USEC, as Type=notify-reload (systemd 253)
 * wants it to match the reload to the request; older managers ignore it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemon/notify.h"
#include "shm/dnnq_error.h"

#define STATUS_MAX 512

/* "STATUS=" + status with newlines turned into spaces, cut at STATUS_MAX. */
static void status_line(char *buf, size_t len, const char *status)
{
	snprintf(buf, len, "STATUS=%s", status ? status : "");
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		*p = ' ';
}

/* msg to $NOTIFY_SOCKET (a path, or '@' for the abstract namespace), or
 * dropped when it would block. */
static void send_msg(const char *msg)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n = e ? strlen(e) : 0;
	if (n < 2 || n >= sizeof a.sun_path || (e[0] != '/' && e[0] != '@'))
		return;
	memcpy(a.sun_path, e, n);
	a.sun_path[0] = e[0] == '@' ? 0 : e[0];
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&a,
	             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}

static void notify(const char *prefix, const char *status)
{
	char line[sizeof "STATUS=" + STATUS_MAX], msg[sizeof line + 16];
	status_line(line, sizeof line, status);
	snprintf(msg, sizeof msg, "%s%s", prefix, line);
	send_msg(msg);
}

void dnnqd_notify_ready(const char *status)
{
	notify("READY=1\n", status);
}

void dnnqd_notify_status(const char *status)
{
	notify("", status);
}

void dnnqd_notify_reloading(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long us = (unsigned long long)ts.tv_sec * 1000000u +
	                        (unsigned long long)ts.tv_nsec / 1000u;
	char msg[64];
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu", us);
	send_msg(msg);
}

void dnnqd_notify_stopping(void)
{
	send_msg("STOPPING=1");
}

uint64_t dnnqd_watchdog_ns(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	/* a value past 2^64 ns (584 years) wrapped to a few ns: no pings */
	return usec > UINT64_MAX / 1000 ? UINT64_MAX : usec * 1000;
}

void dnnqd_notify_watchdog(void)
{
	send_msg("WATCHDOG=1");
}

/* fd is the one passed socket: an AF_UNIX SOCK_SEQPACKET listener, made
 * non-blocking (the control loop never blocks in accept) and close-on-exec. */
static int check_passed(int fd, struct dnnq_diag *diag)
{
	int r = sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0);
	if (r < 0)
		return dnnq_diag_set(diag, DNNQ_E_IO, "socket activation: fd %d: %s", fd,
		                     strerror(-r));
	if (r == 0)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "socket activation: fd %d is not a listening"
		                     " AF_UNIX SOCK_SEQPACKET socket (ListenSequentialPacket=)", fd);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) || fcntl(fd, F_SETFD, FD_CLOEXEC))
		return dnnq_diag_set(diag, DNNQ_E_IO, "socket activation: fd %d: fcntl: %s", fd,
		                     strerror(errno));
	return 0;
}

/* Whether s is a process id as systemd writes one: decimal digits, > 0. */
static bool pid_text(const char *s)
{
	char *end;
	errno = 0;
	long v = s[0] >= '0' && s[0] <= '9' ? strtol(s, &end, 10) : 0;
	return v > 0 && v <= INT32_MAX && !errno && !*end;
}

int dnnqd_listen_fds(int *fd, struct dnnq_diag *diag)
{
	/* what they said, for the error: sd_listen_fds unsets them */
	char fds[32], pid[32];
	const char *e = getenv("LISTEN_FDS"), *p = getenv("LISTEN_PID");
	snprintf(fds, sizeof fds, "%s", e ? e : "");
	snprintf(pid, sizeof pid, "%s", p ? p : "");
	/* unset LISTEN_*: nothing the daemon starts may take them for its own */
	int n = sd_listen_fds(1);
	/* sd_listen_fds reads LISTEN_PID first: a bad one is the reason */
	if (n < 0 && !pid_text(pid))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "socket activation: LISTEN_PID=%s: %s (want "
		                     "this process's id, which systemd sets)", pid, strerror(-n));
	if (n < 0)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "socket activation: LISTEN_FDS=%s: %s (want "
		                     "1, the listening socket dnnqd.socket passes)", fds, strerror(-n));
	if (n == 0)
		return 0;
	if (n != 1)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "socket activation: %d sockets passed, want"
		                     " exactly one", n);
	int rc = check_passed(SD_LISTEN_FDS_START, diag);
	if (rc)
		return rc;
	*fd = SD_LISTEN_FDS_START;
	return 1;
}
