/*
 * daemon/session.h — one client session: its sealed memfd region, the
 * daemon's validated view of it, its doorbell and completion pipes, and
 * its place in the session table.
 *
 * Life: created by a HELLO (dnnqd_session_create), published into the
 * table and every worker's epoll set once the reply with the fds is sent
 * (dnnqd_session_publish), taken out again when the client hangs up
 * (dnnqd_session_retire), and freed by dnnqd_session_reap once the QSBR
 * grace period says no worker can still be using it. Until then the region
 * stays mapped, so a request that was running finishes into it.
 */
#ifndef DNNQ_DAEMON_SESSION_H
#define DNNQ_DAEMON_SESSION_H

#include "daemon/dnnqd.h"
#include "shm/dnnq_shm.h"

struct dnnqd_session {
	uint64_t id;                    /* unique for the daemon's life, from 1 */
	struct dnnq_shm view;           /* the daemon's own, validated view */
	void *map;
	size_t map_size;
	int memfd;
	/* Datagram socketpairs: the daemon reads doorbell[0] and sends on
	 * completion[0], sockets of its own, always with MSG_DONTWAIT (which
	 * no flag a client sets can override); the client gets doorbell[1]
	 * and completion[1], which the daemon closes once the HELLO reply has
	 * passed them (dnnqd_session_peer_ends_sent). */
	int doorbell[2], completion[2];
	uint32_t uid;                   /* SO_PEERCRED: the per-uid limits */
	struct dnnqd_load load;         /* this session's (the workers') */
	struct dnnqd_uid_load *uload;   /* the uid's, shared by its sessions; NULL: none
	                                   was free (no uid reserve for it) */
	uint32_t index;                 /* table entry while published */
	struct dnnqd_session *next;     /* the retired list */
	uint64_t *grace;                /* every worker's epoch when retired */
	struct dnnqd_counters *counts;  /* this session's, one per worker */
	uint64_t scrubbed;              /* region bytes punched out (reap) */
	/* The connection, kept past the retire while its peer has not read
	 * everything dnnqd sent on it (-1 else): the HELLO reply's
	 * descriptors are dnnqd's in the kernel's count until read
	 * (dnnqd_session_retire). */
	int conn_fd;
};

/* Why a peer is refused when the table is full (at accept and at HELLO). */
#define DNNQD_CLIENTS_FULL \
	"the daemon has as many clients as it takes (limits.max_clients, --max-clients)"

/* A region of `slots` slots (0: 64) and `arena_bytes` of arena (0: 64 MiB)
 * for a peer of uid: DNNQ_E_RANGE for too many slots, DNNQ_E_NOMEM over a
 * size limit (the session's, or the uid's region bytes), DNNQ_E_BUSY when
 * the uid holds its most sessions or the table is full (each message names
 * the limit), DNNQ_E_IO when a system call fails. Publishing counts it
 * against the uid. *later: refused over the uid's region bytes while
 * sessions it closed (not kept) still count, which the reaps free. */
int dnnqd_session_create(struct dnnqd *d, uint32_t uid, uint32_t slots, uint64_t arena_bytes,
                         struct dnnqd_session **out, bool *later, struct dnnq_diag *diag);
/* The HELLO reply passed the client's ends: the daemon's copies go. */
void dnnqd_session_peer_ends_sent(struct dnnqd_session *s);
/* Only for a session that is not published (or whose grace period is over). */
void dnnqd_session_free(struct dnnqd_session *s);

/* Into the table and the workers' epoll sets; DNNQ_E_BUSY when the table
 * is full, DNNQ_E_IO when epoll refuses (nothing changed then). */
int dnnqd_session_publish(struct dnnqd *d, struct dnnqd_session *s);
/*
 * Out of the table and the workers' epoll sets, onto the retired list.
 * conn_fd: the session's connection when dnnqd closes it while its peer
 * has yet to read what was sent on it (dnnqd_peer_unread), else -1; the
 * session keeps it, and keeps counting as one of its uid's sessions and
 * of max_clients, until the peer has read or dropped it all. Why: the
 * descriptors of an unread HELLO reply (the region memfd, two socket
 * ends) are in flight, charged by the kernel to dnnqd's uid until the
 * peer's socket reads or closes, which can outlive the connection; past
 * dnnqd's RLIMIT_NOFILE of them every sendmsg with descriptors fails
 * (ETOOMANYREFS, unless the daemon has CAP_SYS_RESOURCE or
 * CAP_SYS_ADMIN, which dnnqd.service does not give), so a peer that
 * said HELLO, sent half a header (or shut its writing side) and never
 * read, 86 times over, kept every other client from a session
 * (hostile_unread_hello). Counted as a session, a uid holds at most
 * max_sessions_per_uid of them, and all uids max_clients: 3 in-flight
 * descriptors each, within the RLIMIT_NOFILE dnnqd asks for.
 */
void dnnqd_session_retire(struct dnnqd *d, struct dnnqd_session *s, int conn_fd);
/* Whether fd's peer has yet to read (or drop) something sent on fd. */
bool dnnqd_peer_unread(int fd);
/* Frees the retired sessions whose grace period is over, in the order
 * they were retired (the budget below goes to the oldest). While the daemon
 * serves, each region's pages are freed first (holes punched over the
 * whole memfd): a client that kept its memfd open past its session would
 * otherwise keep every page the workers faulted in, charged to dnnqd's
 * cgroup and outside every quota, session after session. At stop they
 * are left, for clients still reading their last results.
 * Freeing pages costs 0.2 to 0.6 s a GiB, and the control loop that reaps
 * is the one that moves every session's heartbeat, whose 2 s of silence a
 * client takes for the daemon's death: the reaps between two ticks free
 * about DNNQD_SCRUB_PER_REAP bytes of pages together (DNNQD_SCRUB_CHUNK
 * more at most: d->scrub_left, which the tick's dnnqd_reap refills), and a
 * region with more waits for the next tick; its bytes count against its
 * uid until it is freed. (Before, each call had the budget to itself, and
 * a uid's every connect and HELLO reaps its closed sessions: 64 connects
 * freed 720 MB of 768 MiB between two ticks, hostile_reap_burst.) */
#define DNNQD_SCRUB_PER_REAP ((uint64_t)64 << 20)
#define DNNQD_SCRUB_CHUNK    ((uint64_t)16 << 20)      /* one punch */
void dnnqd_session_reap(struct dnnqd *d);

#endif
