/*
 * The control channel: a Unix SOCK_SEQPACKET socket to dnnqd carrying the
 * fixed-layout messages of shm/dnnq_proto.h. Only session set-up, model
 * look-ups and stats use it; the data path never does.
 *
 * The socket is non-blocking and every wait is a poll(2) against one
 * deadline, so a daemon that stops answering costs a caller at most its
 * timeout and never a hang. Exchanges are serialised by c->ctl_lock (taken
 * with the same deadline); each request gets a fresh sequence number
 * (never 0, the daemon's refusal at accept). A reply that arrives after its
 * request timed out is recognised by its older seq (serial-number
 * arithmetic: older across the 2^32 wrap too) and skipped, so one slow
 * answer does not shift every later reply by one; the deadline is looked
 * at after each one skipped, so a daemon that never stops sending such
 * answers does not hold a call either.
 *
 * Replies are hostile input: the packet's size is checked for its type and
 * status, then magic, version, type, seq and status; file descriptors are
 * accepted only where the protocol sends them (HELLO) and every other one
 * (an empty packet's too) is closed at once, so an error path never leaks
 * an fd. Names must be UTF-8 text (ctl_name_ok) and messages are escaped
 * (ctl_text) before a caller sees them: they reach terminals and logs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/client-internal.h"
#include "shm/dnnq_path.h"
#include "shm/dnnq_socket.h"

/* $DNNQ_SOCKET, else the default of shm/dnnq_socket.h's rule; when that is
 * a per-user socket that does not exist, the system's (where the system
 * service listens). *how says which, for the error message. */
static const char *default_path(char *buf, size_t cap, const char **how)
{
	const char *env = secure_getenv("DNNQ_SOCKET");
	if (env && *env) {
		*how = "$DNNQ_SOCKET";
		return env;
	}
	*how = "the default socket";
	dnnq_default_socket(geteuid(), secure_getenv("XDG_RUNTIME_DIR"), buf, cap);
	if (strcmp(buf, DNNQ_SYSTEM_SOCKET) != 0 && access(buf, F_OK) != 0)
		return DNNQ_SYSTEM_SOCKET;
	return buf;
}

/* What to do about a connect that failed with errno e on path. */
static const char *connect_hint(int e, const char *path)
{
	struct stat st;
	switch (e) {
	case EACCES:
	case EPERM:
		return "the socket (or a directory above it) does not let you in: join its "
		       "group (dnnq for the system service: usermod -aG dnnq $USER, then log "
		       "in again) or check its permissions (ls -l)";
	case ECONNREFUSED:
	case ENOTSOCK:
		if (stat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
			return "that file is not a socket: wrong path?";
		return "a socket file nobody listens on (a dnnqd that exited?): is dnnqd "
		       "running? systemctl status dnnqd.socket";
	case EPROTOTYPE:
		return "a socket of another type, not dnnqd's (SOCK_SEQPACKET): wrong path?";
	case ENOENT:
	case ENOTDIR:
		return "no such socket: is dnnqd running? systemctl status dnnqd.socket "
		       "(or name its socket: $DNNQ_SOCKET, dnnq_connect's path, dnnq.Client(path),"
		       " dnnqctl --socket PATH)";
	}
	return "is dnnqd running? systemctl status dnnqd.socket";
}

static int errno_status(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:      return DNNQ_E_PERM;
	case ECONNRESET:
	case EPIPE:      return DNNQ_E_DISCONNECTED;
	case ENOMEM:
	case ENOBUFS:    return DNNQ_E_NOMEM;
	}
	return DNNQ_E_IO;
}

/* Waits for `events` on fd until deadline_ns: 0, DNNQ_E_TIMEDOUT or _IO. */
static int wait_fd(int fd, short events, int64_t deadline_ns)
{
	for (;;) {
		int64_t left = deadline_ns - client_now_ns();
		if (left <= 0)
			return DNNQ_E_TIMEDOUT;
		struct pollfd p = { .fd = fd, .events = events };
		int ms = (int)((left + 999999) / 1000000);
		int n = poll(&p, 1, ms);
		if (n > 0)
			return 0;	/* readable, writable or hung up: the call says which */
		if (n < 0 && errno != EINTR)
			return DNNQ_E_IO;
	}
}

/* A full listen backlog makes a non-blocking connect fail with EAGAIN:
 * retry every millisecond until the deadline. *err: the errno of a
 * failure (0 for a timeout). */
static int connect_by(int fd, const struct sockaddr_un *sa, int64_t deadline_ns, int *err)
{
	*err = 0;
	while (connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS)
			return wait_fd(fd, POLLOUT, deadline_ns);
		if (errno != EAGAIN) {
			*err = errno;
			return errno_status(errno);
		}
		if (client_now_ns() >= deadline_ns)
			return DNNQ_E_TIMEDOUT;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return 0;
}

/* Whether a directory on the way is one only root and uid (*arg) may
 * change; a link goes on (owns_the_way follows it). */
static int dir_kept(void *arg, const char *at, const struct stat *st)
{
	uid_t uid = *(const uid_t *)arg;
	(void)at;
	return S_ISLNK(st->st_mode) ||
	       (S_ISDIR(st->st_mode) && !(st->st_mode & (S_IWGRP | S_IWOTH)) &&
	        (st->st_uid == 0 || st->st_uid == uid)) ? 0 : -1;
}

/* Whether uid owns the way to path's directory: every directory from /
 * down to it (path made absolute from the working directory) is root's or
 * uid's and writable by no group or other user, and the last one is
 * uid's. A symlink on the way (/var/run -> /run) is followed: it lies in
 * a directory judged so, so only root or uid chose where it leads, and
 * the way it leads is judged the same (40 links at most, as the kernel's
 * walk: dnnq_path_walk). Then only root and uid could have put a socket
 * at path. */
static bool owns_the_way(const char *path, uid_t uid)
{
	char dir[PATH_MAX];
	struct stat st;
	return !dnnq_path_walk(path, false, dir_kept, &uid, dir) && !lstat(dir, &st) &&
	       st.st_uid == uid;
}

/* The uid $DNNQ_DAEMON_UID names into *uid: 1 when it names one, 0 when
 * unset or empty, or DNNQ_E_INVAL (the last-error text says why). */
static int named_daemon_uid(uid_t *uid)
{
	const char *env = secure_getenv("DNNQ_DAEMON_UID");
	if (!env || !*env)
		return 0;
	char *end;
	errno = 0;
	unsigned long v = strtoul(env, &end, 10);
	if (errno || *end || env[0] < '0' || env[0] > '9' || v >= (uid_t)-1)
		return client_errorf(DNNQ_E_INVAL, "$DNNQ_DAEMON_UID '%.40s': not a uid (a number,"
		                     " as id -u USER prints)", env);
	*uid = (uid_t)v;
	return 1;
}

/* The number a uid not mapped into this process's user namespace reads
 * as (SO_PEERCRED, stat) when the process is in one other than the
 * initial namespace (a container's), else -1: there root's dnnqd outside
 * and any other unmapped user's look the same. */
static long overflow_uid(void)
{
	unsigned long in, out, count, o = 65534;
	FILE *f = fopen("/proc/self/uid_map", "re");
	bool initial = f && fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3 && !in && !out &&
	               count == 4294967295ul && fscanf(f, "%lu", &in) != 1;
	if (f)
		fclose(f);
	if (initial)
		return -1;
	f = fopen("/proc/sys/kernel/overflowuid", "re");
	if (f && fscanf(f, "%lu", &o) != 1)
		o = 65534;
	if (f)
		fclose(f);
	return (long)o;
}

/* Whether the process listening on fd's peer (SO_PEERCRED: the uid that
 * called listen(2), systemd's root for a socket unit) may be dnnqd: root,
 * this process's uid, the owner of the socket's way (owns_the_way) or the
 * uid $DNNQ_DAEMON_UID names. Anything else is refused before a byte is
 * sent: in a directory others may write to (a socket under /tmp) another
 * user can bind the path while dnnqd is down, and would be handed the
 * caller's inputs and return it outputs of its choosing. The fix the
 * refusal names depends on why the uid is unknown: an unmapped one in a
 * user namespace, or a set-user-ID program (secure_getenv reads no
 * $DNNQ_DAEMON_UID there). */
static int check_daemon(int fd, const char *path)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		return client_errorf(errno_status(errno), "connect to %s: SO_PEERCRED: %s", path,
		                     strerror(errno));
	uid_t named = 0;
	int rc = named_daemon_uid(&named);
	if (rc < 0)
		return rc;
	/* a process whose own uid is unmapped in its user namespace reads as
	 * the overflow uid too, as does every unmapped listener: none is its */
	long over = overflow_uid();
	if (cr.uid == 0 || (cr.uid == geteuid() && over != (long)cr.uid) ||
	    (rc && cr.uid == named) || owns_the_way(path, cr.uid))
		return 0;
	char also[48] = "", fix[256];
	unsigned u = (unsigned)cr.uid;
	const char *other = "another user's program in dnnqd's place? (a socket where others may"
	                    " write, as in /tmp, is anyone's while dnnqd is down); ";
	if (rc)
		snprintf(also, sizeof also, ", $DNNQ_DAEMON_UID %u", (unsigned)named);
	if (over == (long)u)
		snprintf(fix, sizeof fix, "in this user namespace (a container?) uid %u is the "
		         "overflow uid: root's dnnqd outside and any other unmapped user's read the "
		         "same; map dnnqd's uid in, or if no one else can listen there, "
		         "DNNQ_DAEMON_UID=%u", u, u);
	else if (getauxval(AT_SECURE))
		snprintf(fix, sizeof fix, "%sa set-user-ID program reads no $DNNQ_DAEMON_UID: let "
		         "uid %u's dnnqd listen in a directory of its own", other, u);
	else
		snprintf(fix, sizeof fix, "%sif uid %u runs your dnnqd, name it: DNNQ_DAEMON_UID=%u",
		         other, u, u);
	return client_errorf(DNNQ_E_PERM, "connect to %s: uid %u (pid %d) listens there, not "
	                     "root, this process's uid %u%s or the owner of the socket's "
	                     "directory (dnnq(3)): %s", path, u, (int)cr.pid, (unsigned)geteuid(),
	                     also, fix);
}

int ctl_connect(const char *path, int64_t deadline_ns, int *sock, char *tried, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[sizeof sa.sun_path];
	const char *how = NULL;
	if (!path)
		path = default_path(buf, sizeof buf, &how);
	snprintf(tried, cap, "%s", path);
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof sa.sun_path)
		return client_errorf(DNNQ_E_INVAL, "connect to '%.200s': a socket path is 1..%zu "
		                     "bytes", path, sizeof sa.sun_path - 1);
	memcpy(sa.sun_path, path, len + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return client_errorf(errno_status(errno), "socket(AF_UNIX): %s", strerror(errno));
	int e;
	int rc = connect_by(fd, &sa, deadline_ns, &e);
	if (rc) {
		close(fd);
		rc = rc == DNNQ_E_DISCONNECTED ? DNNQ_E_IO : rc;
		const char *from = how ? " (" : "", *close_paren = how ? ")" : "";
		if (e)
			return client_errorf(rc, "connect to %s%s%s%s: %s; %s", path, from,
			                     how ? how : "", close_paren, strerror(e),
			                     connect_hint(e, path));
		return client_errorf(rc, "connect to %s%s%s%s: %s (the daemon's listen queue "
		                     "stayed full)", path, from, how ? how : "", close_paren,
		                     dnnq_strerror(rc));
	}
	rc = check_daemon(fd, path);
	if (rc) {
		close(fd);
		return rc;
	}
	*sock = fd;
	return 0;
}

bool ctl_str_ok(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

char *ctl_text(char *out, const char *s, size_t size)
{
	dnnq_escape(out, size, s);
	return out;
}

bool ctl_name_ok(const char *s, size_t size)
{
	if (!ctl_str_ok(s, size))
		return false;
	for (size_t n; *s; s += n)
		if (!(n = dnnq_utf8_char(s)))
			return false;
	return true;
}

bool ctl_models_ok(uint32_t n_models, uint32_t index)
{
	return index < n_models && n_models <= DNNQ_PROTO_MAX_MODELS;
}

/* After a non-blocking call failed with errno: 0 to try it again (it was
 * interrupted, or fd is ready now), else the status to fail with. */
static int retry_when_ready(int fd, short events, int64_t deadline_ns)
{
	if (errno == EINTR)
		return 0;
	return errno == EAGAIN ? wait_fd(fd, events, deadline_ns) : errno_status(errno);
}

static int send_by(int fd, const void *msg, size_t len, int64_t deadline_ns)
{
	for (;;) {
		ssize_t n = send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0)
			return (size_t)n == len ? 0 : DNNQ_E_IO;
		int rc = retry_when_ready(fd, POLLOUT, deadline_ns);
		if (rc)
			return rc;
	}
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The fds of an SCM_RIGHTS message into fds[0, DNNQ_PROTO_NFDS); *n counts
 * them. More fds than that (the control buffer rounds up, so a few more
 * fit), other control data or a truncation is a protocol error; fds past
 * NFDS are closed here, the rest by the caller through *n. A truncation
 * with fewer fds than the buffer holds is this process's: the kernel could
 * not install the rest (no descriptor left), DNNQ_E_NOMEM. */
static int take_fds(struct msghdr *mh, int *fds, unsigned *n)
{
	int rc = 0;
	size_t all = 0;
	*n = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			rc = DNNQ_E_PROTO;
			continue;
		}
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		all += k;
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
			if (*n < DNNQ_PROTO_NFDS) {
				fds[(*n)++] = fd;
			} else {
				close(fd);
				rc = DNNQ_E_PROTO;
			}
		}
	}
	if ((mh->msg_flags & MSG_CTRUNC) && all < DNNQ_PROTO_NFDS)
		rc = DNNQ_E_NOMEM;
	else if (mh->msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		rc = DNNQ_E_PROTO;	/* more fds or bytes than any reply has */
	return rc;
}

/* One packet into reply[0, size); *len is its true length (size + 1 means
 * longer). fds get what came along. 0, or TIMEDOUT / DISCONNECTED / IO.
 *
 * A packet of no bytes reads as an end of file; fds it carried (a hostile
 * peer's) are closed, not left open in this process.
 *
 * An end of file is believed only when a second recvmsg says it again: a
 * non-blocking SEQPACKET recvmsg that finds the queue empty checks for the
 * peer's shutdown afterwards, so when dnnqd sends its reply and closes in
 * between (as it does after refusing a HELLO), the kernel reports EOF with
 * the reply queued (net/unix/af_unix.c, unix_dgram_recvmsg). A closed peer
 * sends nothing more, so the second call sees all there is. ECONNRESET is
 * the same case: a peer that closes with our request unread in its queue
 * (dnnqd refusing at accept) leaves that error, which the next call
 * reports once, before the reply it sent. */
static int recv_by(int fd, void *reply, size_t size, size_t *len, int *fds, unsigned *nfds,
                   int64_t deadline_ns)
{
	char spare;
	union {
		char buf[CMSG_SPACE(DNNQ_PROTO_NFDS * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov[2] = { { reply, size }, { &spare, 1 } };
	unsigned eof = 0;
	for (;;) {
		struct msghdr mh = {
			.msg_iov = iov, .msg_iovlen = 2,
			.msg_control = cbuf.buf, .msg_controllen = sizeof cbuf.buf,
		};
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n > 0) {
			*len = (size_t)n;
			int rc = take_fds(&mh, fds, nfds);
			/* before, "protocol error", which sent people after dnnqd */
			return rc == DNNQ_E_NOMEM
			       ? client_errorf(rc, "the reply's descriptors could not be received: this"
			                       " process has no file descriptor left (its RLIMIT_NOFILE,"
			                       " ulimit -n, or the system's fs.file-max)") : rc;
		}
		if (n == 0) {	/* an empty packet may carry fds too: into this process */
			take_fds(&mh, fds, nfds);
			close_fds(fds, *nfds);
			*nfds = 0;
		}
		bool closed = n == 0 || errno == ECONNRESET;
		if (closed && eof++)
			return DNNQ_E_DISCONNECTED;
		if (closed)
			continue;
		int rc = retry_when_ready(fd, POLLIN, deadline_ns);
		if (rc)
			return rc;
	}
}

/* dnnqd refuses a peer (DNNQ_E_PERM, DNNQ_E_BUSY) right after accept,
 * before it has sent anything: a HELLO reply with seq 0, then it closes.
 * Whatever this client asked, that is the answer. */
static bool is_refusal(const struct dnnq_msg_hdr *h, size_t len)
{
	return h->seq == 0 && h->type == DNNQ_MSG_HELLO && h->status < 0 &&
	       client_daemon_error(h->status) == h->status &&
	       len == sizeof(struct dnnq_msg_hello_reply);
}

/* A reply's header fields and size; 1 when it answers an older request,
 * 2 when it is a refusal. */
static int check_reply(const struct dnnq_msg_hdr *h, size_t len, const struct ctl_spec *spec,
                       uint32_t seq)
{
	if (len < sizeof *h || h->magic != DNNQ_PROTO_MAGIC)
		return DNNQ_E_PROTO;
	if (h->version != DNNQ_PROTO_VERSION)
		return DNNQ_E_VERSION;
	if (is_refusal(h, len))
		return 2;
	/* older by at most 2^31 - 1: a client's life never spans more */
	if (h->seq != 0 && (int32_t)(seq - h->seq) > 0)
		return 1;
	if (h->seq != seq || (h->status != 0 && client_daemon_error(h->status) != h->status))
		return DNNQ_E_PROTO;
	/* A success carries the reply type; an error may echo the request's
	 * type instead (dnnq_proto.h allows either reading of "echoes"). */
	if (h->type != spec->reply_type && (h->status == 0 || h->type != spec->req_type))
		return DNNQ_E_PROTO;
	if (len == spec->size)
		return 0;
	if (h->status != 0 && !spec->full_on_error && len == sizeof *h)
		return 0;
	return DNNQ_E_PROTO;
}

/* A HELLO reply that says no (at accept or to the HELLO): its message,
 * when it has one, is the call's last-error text. */
static void refusal_message(const struct dnnq_msg_hello_reply *r)
{
	char text[sizeof r->message];
	if (ctl_str_ok(r->message, sizeof r->message) && r->message[0])
		client_errorf(r->hdr.status, "dnnqd refused the session: %s (%s)",
		              ctl_text(text, r->message, sizeof text), dnnq_strerror(r->hdr.status));
}

/* Receives until the reply to `seq` arrives (or the deadline passes). */
static int recv_reply(struct dnnq_client *c, const struct ctl_spec *spec, uint32_t seq,
                      void *reply, int *fds, int64_t deadline_ns)
{
	for (;;) {
		union {
			struct dnnq_msg_hello_reply refusal;
			char any[DNNQ_PROTO_MAX_MSG];
		} buf;
		int got[DNNQ_PROTO_NFDS];
		unsigned n = 0;
		size_t len = 0;
		/* room for any message, not only this reply: a late answer to
		 * another kind of request (a MODEL reply before a STATS one) is
		 * skipped whole, not cut and taken for a malformed reply */
		int rc = recv_by(c->sock, &buf, sizeof buf, &len, got, &n, deadline_ns);
		if (rc == 0)
			rc = check_reply(&buf.refusal.hdr, len, spec, seq);
		if (rc == 1) {
			close_fds(got, n);	/* a late answer to a request that timed out */
			/* a daemon sending such answers without end (recv_by
			 * waits only when nothing is queued) must not hold the
			 * call past its deadline */
			if (client_now_ns() >= deadline_ns)
				return DNNQ_E_TIMEDOUT;
			continue;
		}
		if (rc == 2) {
			close_fds(got, n);
			refusal_message(&buf.refusal);
			return buf.refusal.hdr.status;
		}
		if (rc == 0)
			memcpy(reply, &buf, spec->size);
		if (rc == 0)
			rc = ((struct dnnq_msg_hdr *)reply)->status;
		/* the daemon's words for its own error, not for one of this side */
		if (rc < 0 && spec->reply_type == DNNQ_MSG_HELLO && len == spec->size &&
		    rc == buf.refusal.hdr.status)
			refusal_message(&buf.refusal);
		bool keep = rc == 0 && spec->takes_fds && n == DNNQ_PROTO_NFDS;
		if (rc == 0 && n != (spec->takes_fds ? DNNQ_PROTO_NFDS : 0))
			rc = DNNQ_E_PROTO;
		if (keep)
			memcpy(fds, got, sizeof got);
		else
			close_fds(got, n);
		return rc;
	}
}

/* pthread_mutex_timedlock counts in CLOCK_REALTIME: convert what is left
 * of the monotonic deadline (pthread_mutex_clocklock would avoid that, but
 * the sanitizers do not know it). */
static int lock_by(pthread_mutex_t *m, int64_t deadline_ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t left = deadline_ns - client_now_ns();
	int64_t at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (left > 0 ? left : 0);
	ts = (struct timespec){ .tv_sec = at / 1000000000, .tv_nsec = at % 1000000000 };
	int e = pthread_mutex_timedlock(m, &ts);
	return e == 0 ? 0 : e == ETIMEDOUT ? DNNQ_E_TIMEDOUT : DNNQ_E_IO;
}

int ctl_call(struct dnnq_client *c, const struct ctl_spec *spec, void *req, size_t req_len,
             void *reply, int *fds)
{
	return ctl_call_by(c, spec, req, req_len, reply, fds, c->timeout_ms);
}

int ctl_call_by(struct dnnq_client *c, const struct ctl_spec *spec, void *req, size_t req_len,
                void *reply, int *fds, int timeout_ms)
{
	if (spec->takes_fds)
		for (unsigned i = 0; i < DNNQ_PROTO_NFDS; i++)
			fds[i] = -1;
	if (client_is_dead(c))
		return DNNQ_E_DISCONNECTED;
	int64_t deadline = client_now_ns() + (int64_t)timeout_ms * 1000000;
	int rc = lock_by(&c->ctl_lock, deadline);
	if (rc)
		return rc;
	struct dnnq_msg_hdr *h = req;
	if (!++c->seq)
		c->seq = 1;	/* past the wrap: 0 is a refusal's */
	*h = (struct dnnq_msg_hdr){
		.magic = DNNQ_PROTO_MAGIC, .version = DNNQ_PROTO_VERSION,
		.type = spec->req_type, .seq = c->seq,
	};
	rc = send_by(c->sock, req, req_len, deadline);
	/* refused and closed already: the refusal is still queued */
	if (rc == 0 || rc == DNNQ_E_DISCONNECTED)
		rc = recv_reply(c, spec, h->seq, reply, fds, deadline);
	pthread_mutex_unlock(&c->ctl_lock);
	if (rc == DNNQ_E_DISCONNECTED)
		client_mark_dead(c);
	return rc;
}
