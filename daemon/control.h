/*
 * daemon/control.h — one client connection on the control socket: who the
 * peer is, whether it may have a session, and the answers to its messages
 * (shm/dnnq_proto.h). The event loop (server.c) only says when a
 * connection is readable; everything a message means is decided here, so
 * the loop can change (io_uring) without touching the protocol, and the
 * tests can drive a connection over a socketpair.
 */
#ifndef DNNQ_DAEMON_CONTROL_H
#define DNNQ_DAEMON_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/dnnqd.h"
#include "daemon/options.h"
#include "shm/dnnq_proto.h"

#define DNNQD_HELLO_TIMEOUT_NS 1000000000ull   /* a silent new peer is closed */

struct dnnqd_conn {
	int fd;                         /* non-blocking SOCK_SEQPACKET */
	uint32_t pid, uid, gid;         /* SO_PEERCRED */
	int refusal;                    /* 0, or DNNQ_E_PERM / DNNQ_E_BUSY: refused
	                                   (dnnqd_conn_refuse), to be closed */
	uint64_t deadline_ns;           /* closed then if it has no session yet */
	bool pending;                   /* counted in the pending budget (no HELLO yet) */
	struct dnnqd_session *session;  /* after a HELLO */
	bool reload_waiting;            /* a RELOAD to answer ... */
	uint32_t reload_seq;            /* ... with this seq ... */
	uint32_t reload_at;             /* ... once d->reloads reaches this */
	bool hello_waiting;             /* a HELLO to answer at a tick ... */
	struct dnnq_msg_hello hello;    /* ... this one (dnnqd_conn_hello_again) */
};

/* Reads the peer's credentials before anything else and decides: a peer
 * the ACL allows, while the daemon and its uid are under their limits
 * (sessions, connections waiting for HELLO), is kept (true; it counts as
 * pending until its HELLO); any other is refused (dnnqd_conn_refuse) and
 * the caller closes it (false). */
bool dnnqd_conn_admit(struct dnnqd *d, struct dnnqd_conn *c, int fd,
                      const struct dnnqd_acl *acl, uint64_t now_ns);
/* Refuses the peer before it has said anything: a HELLO reply with seq 0,
 * `status` and `why` (for DNNQ_E_PERM the message names the uid and the
 * access settings, `why` may be NULL); c->refusal is set, and the caller
 * closes the connection. dnnqd_conn_admit does the same, logging the
 * refusals of peers not allowed at info only thinned out (d->refused). */
void dnnqd_conn_refuse(struct dnnqd_conn *c, int status, const char *why);
/* The same for a connection the daemon does not keep (it has no room to):
 * the peer on fd is refused with status and why; the caller closes fd. */
void dnnqd_conn_refuse_fd(int fd, int status, const char *why);
/* Receives and answers what the peer has sent (non-blocking); false when
 * the connection must be closed (a hang-up, an unanswerable message, a
 * reply that cannot be sent, a refusal given). */
bool dnnqd_conn_readable(struct dnnqd *d, struct dnnqd_conn *c);
/* What dnnqd_conn_readable does with one received message of len bytes,
 * all of them at buf, without a recv(): the fuzzer's entry point
 * (tests/fuzz/control.c). The reply goes to c->fd (a failed send, as to
 * fd -1, returns false as there). */
bool dnnqd_conn_handle(struct dnnqd *d, struct dnnqd_conn *c, const void *buf, size_t len);
/* A reload has finished: answers c's RELOAD if it was waiting for this
 * one; false when the reply cannot be sent (close it). */
bool dnnqd_conn_reloaded(struct dnnqd *d, struct dnnqd_conn *c);
/* c's HELLO waits (hello_waiting) when it was refused only over its uid's
 * region bytes while sessions the uid closed still count them: they are
 * freed by a reap once a grace period is over, which a worker woken by
 * the close can hold past the next HELLO (a client that closed a session
 * and connected again at once was refused DNNQ_E_NOMEM, a quarter of
 * 300 such reconnects, --max-bytes-per-uid 100000000). The control loop's
 * tick calls this after its reap: the HELLO is answered, or waits again
 * until c's HELLO deadline; false when the reply cannot be sent. */
bool dnnqd_conn_hello_again(struct dnnqd *d, struct dnnqd_conn *c);
/* The STATS figures (but the session's own) for a client of uid: the
 * daemon's when `all`, else uid's open sessions' (control loop only; the
 * textfile writer asks as the daemon). st is zeroed by the caller. */
void dnnqd_stats_fill(struct dnnqd *d, uint32_t uid, bool all, struct dnnq_msg_stats *st);
/* The index-th served model's counters (index < its count), summed over
 * the workers, into o (zeroed by the caller); control loop only. */
void dnnqd_model_stats_fill(struct dnnqd *d, uint32_t index, struct dnnq_msg_model_stats *o);
/* Closes the socket and retires the session, if any. */
void dnnqd_conn_close(struct dnnqd *d, struct dnnqd_conn *c);

#endif
