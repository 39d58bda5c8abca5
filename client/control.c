/*
 * The control channel: a Unix SOCK_SEQPACKET socket to dnnqd carrying the
 * fixed-layout messages of shm/dnnq_proto.h. Only session set-up, model
 * look-ups and stats use it; the data path never does.
 *
 * The socket is non-blocking and every wait is a poll(2) against one
 * deadline, so a daemon that stops answering costs a caller at most its
 * timeout and never a hang. Exchanges are serialised by c->ctl_lock (taken
 * with the same deadline); each request gets a fresh sequence number. A
 * reply that arrives after its request timed out is recognised by its older
 * seq and skipped, so one slow answer does not shift every later reply by
 * one.
 *
 * Replies are hostile input: the packet's size is checked for its type and
 * status, then magic, version, type, seq and status; file descriptors are
 * accepted only where the protocol sends them (HELLO) and every other one
 * is closed at once, so an error path never leaks an fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/client-internal.h"

/* $DNNQ_SOCKET, else the per-user socket when it exists, else the system's. */
static const char *default_path(char *buf, size_t cap)
{
	const char *env = secure_getenv("DNNQ_SOCKET");
	if (env && *env)
		return env;
	const char *xdg = secure_getenv("XDG_RUNTIME_DIR");
	if (geteuid() != 0 && xdg && *xdg) {
		int n = snprintf(buf, cap, "%s/dnnq/dnnqd.sock", xdg);
		if (n > 0 && (size_t)n < cap && access(buf, F_OK) == 0)
			return buf;
	}
	return DNNQ_DEFAULT_SOCKET;
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
 * retry every millisecond until the deadline. */
static int connect_by(int fd, const struct sockaddr_un *sa, int64_t deadline_ns)
{
	while (connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS)
			return wait_fd(fd, POLLOUT, deadline_ns);
		if (errno != EAGAIN)
			return errno_status(errno);
		if (client_now_ns() >= deadline_ns)
			return DNNQ_E_TIMEDOUT;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return 0;
}

int ctl_connect(const char *path, int64_t deadline_ns, int *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[sizeof sa.sun_path];
	if (!path)
		path = default_path(buf, sizeof buf);
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof sa.sun_path)
		return DNNQ_E_INVAL;
	memcpy(sa.sun_path, path, len + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno_status(errno);
	int rc = connect_by(fd, &sa, deadline_ns);
	if (rc) {
		close(fd);
		return rc == DNNQ_E_DISCONNECTED ? DNNQ_E_IO : rc;
	}
	*sock = fd;
	return 0;
}

bool ctl_str_ok(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
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
 * NFDS are closed here, the rest by the caller through *n. */
static int take_fds(struct msghdr *mh, int *fds, unsigned *n)
{
	int rc = 0;
	*n = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			rc = DNNQ_E_PROTO;
			continue;
		}
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
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
	if (mh->msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		rc = DNNQ_E_PROTO;	/* more fds or bytes than any reply has */
	return rc;
}

/* One packet into reply[0, size); *len is its true length (size + 1 means
 * longer). fds get what came along. 0, or TIMEDOUT / DISCONNECTED / IO.
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
			return take_fds(&mh, fds, nfds);
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
	if (h->seq != 0 && h->seq < seq)
		return 1;
	if (h->seq != seq || h->status > 0)
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
		size_t size = spec->size > sizeof buf.refusal ? spec->size : sizeof buf.refusal;
		int rc = recv_by(c->sock, &buf, size, &len, got, &n, deadline_ns);
		if (rc == 0)
			rc = check_reply(&buf.refusal.hdr, len, spec, seq);
		if (rc == 1) {
			close_fds(got, n);	/* a late answer to a request that timed out */
			continue;
		}
		if (rc == 2) {
			close_fds(got, n);
			return buf.refusal.hdr.status;
		}
		if (rc == 0)
			memcpy(reply, &buf, spec->size);
		if (rc == 0)
			rc = ((struct dnnq_msg_hdr *)reply)->status;
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
	if (spec->takes_fds)
		for (unsigned i = 0; i < DNNQ_PROTO_NFDS; i++)
			fds[i] = -1;
	if (client_is_dead(c))
		return DNNQ_E_DISCONNECTED;
	int64_t deadline = client_now_ns() + (int64_t)c->timeout_ms * 1000000;
	int rc = lock_by(&c->ctl_lock, deadline);
	if (rc)
		return rc;
	struct dnnq_msg_hdr *h = req;
	*h = (struct dnnq_msg_hdr){
		.magic = DNNQ_PROTO_MAGIC, .version = DNNQ_PROTO_VERSION,
		.type = spec->req_type, .seq = ++c->seq,
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
