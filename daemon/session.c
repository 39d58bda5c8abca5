/*
 * Sessions (session.h): the region, the table, the grace period.
 *
 * The region is a memfd sealed against shrinking and growing before the
 * client ever sees it (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), so no
 * client can truncate memory the daemon has mapped and make a worker fault;
 * the daemon attaches its own view right after initialising it and never
 * reads a size or offset from the header again.
 *
 * Publishing stores the session into a free table entry (after its
 * doorbell is in every worker's epoll set, and raising the scan bound
 * first), then wakes the workers: a sleeping worker has not announced
 * itself in the new region, so the client would not ring, and the worker
 * must look at it before it sleeps again. Retiring is the reverse plus the
 * epoch snapshot of daemon/qsbr.h; EPOLL_CTL_DEL must precede the close of
 * the doorbell because an epoll set holds the open file, not the fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/session.h"
#include "daemon/worker.h"

static int make_region(struct dnnqd_session *s, const struct dnnq_shm_layout *l,
                       struct dnnq_diag *d)
{
	const char *what = "memfd_create";
	s->memfd = memfd_create("dnnq-session", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->memfd < 0)
		goto fail;
	what = "ftruncate";
	if (ftruncate(s->memfd, (off_t)l->total_size))
		goto fail;
	what = "F_ADD_SEALS";
	if (fcntl(s->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		goto fail;
	what = "mmap";
	s->map = mmap(NULL, l->total_size, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		goto fail;
	}
	s->map_size = l->total_size;
	/* Pages dnnqd faults in (outputs in arena pages the client never
	 * touched) are charged to dnnqd, and a client can pin them past the
	 * session by splicing them into a pipe (docs/serving.md): with shmem
	 * huge pages on, each would be 2 MiB. Best effort: the kernel may
	 * have no THP at all. */
	(void)madvise(s->map, s->map_size, MADV_NOHUGEPAGE);
	what = "socketpair";
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s->doorbell) ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s->completion))
		goto fail;
	/* dnnqd's ends: the doorbell's is read for wake-ups only, the
	 * completion's only written */
	dnnqd_refuse_fds(s->doorbell[0], false);
	dnnqd_refuse_fds(s->completion[0], true);
	int rc = dnnq_shm_init(s->map, s->map_size, l);
	return rc ? rc : dnnq_shm_attach(s->map, s->map_size, &s->view, d);
fail:
	return dnnq_diag_set(d, DNNQ_E_IO, "session region: %s: %s", what, strerror(errno));
}

/* The region's shape, or why the HELLO of a peer of uid cannot have it. */
static int session_layout(struct dnnqd *d, uint32_t uid, uint32_t slots, uint64_t arena,
                          struct dnnq_shm_layout *l, bool *later, struct dnnq_diag *diag)
{
	char why[256];
	if (dnnqd_uid_full(d, uid, why, sizeof why))
		return dnnq_diag_set(diag, DNNQ_E_BUSY, "%s", why);
	/* a connection admitted while there was room may say HELLO once the
	 * table is full, and again at once: no region is made for a session
	 * that cannot be published */
	if (d->nsessions >= d->cfg.max_clients)
		return dnnq_diag_set(diag, DNNQ_E_BUSY, DNNQD_CLIENTS_FULL);
	const struct dnnqd_uid *u = dnnqd_uid_find(d, uid);
	uint64_t held = u ? u->bytes : 0, quota = d->cfg.max_bytes_per_uid;
	uint32_t cap = d->cfg.max_inflight;
	if (slots > DNNQ_SHM_MAX_SLOTS)
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "slots %u: at most %u", slots,
		                     DNNQ_SHM_MAX_SLOTS);
	if (cap && slots > cap)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "slots %u: over the daemon's limit of %u"
		                     " requests in flight per client (limits.max_inflight)",
		                     slots, cap);
	if (!slots)
		slots = cap && cap < DNNQD_DEFAULT_SLOTS ? cap : DNNQD_DEFAULT_SLOTS;
	if (arena > DNNQ_SHM_MAX_ARENA)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "arena_bytes %llu: at most %llu",
		                     (unsigned long long)arena, (unsigned long long)DNNQ_SHM_MAX_ARENA);
	int rc = dnnq_shm_layout(slots, arena ? arena : DNNQD_DEFAULT_ARENA, l);
	if (rc)
		return dnnq_diag_set(diag, rc, "slots %u, arena_bytes %llu: no layout", slots,
		                     (unsigned long long)arena);
	if (l->total_size > d->cfg.max_session_bytes)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "a region of %llu bytes (%u slot%s, arena"
		                     " %llu bytes) is over the daemon's limit of %llu bytes"
		                     " (limits.max_session_bytes, --max-session-bytes)", (unsigned long long)l->total_size,
		                     l->slot_count, l->slot_count == 1 ? "" : "s",
		                     (unsigned long long)l->arena_size,
		                     (unsigned long long)d->cfg.max_session_bytes);
	if (quota && l->total_size > quota - (held < quota ? held : quota)) {
		*later = u && u->closing > u->kept;
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "a region of %llu bytes: uid %u holds"
		                     " %llu bytes of regions, and may hold %llu"
		                     " (limits.max_bytes_per_uid, --max-bytes-per-uid)",
		                     (unsigned long long)l->total_size, uid,
		                     (unsigned long long)held, (unsigned long long)quota);
	}
	return 0;
}

int dnnqd_session_create(struct dnnqd *d, uint32_t uid, uint32_t slots, uint64_t arena_bytes,
                         struct dnnqd_session **out, bool *later, struct dnnq_diag *diag)
{
	struct dnnq_shm_layout l;
	*later = false;
	int rc = session_layout(d, uid, slots, arena_bytes, &l, later, diag);
	if (rc)
		return rc;
	struct dnnqd_session *s = calloc(1, sizeof *s);
	if (!s)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "session: out of memory");
	s->memfd = s->conn_fd = -1;
	s->doorbell[0] = s->doorbell[1] = s->completion[0] = s->completion[1] = -1;
	s->grace = calloc(d->nworkers, sizeof *s->grace);
	s->counts = dnnqd_counters_alloc(d->nworkers);
	if (!s->grace || !s->counts) {
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "session: out of memory");
		goto fail;
	}
	if ((rc = make_region(s, &l, diag)))
		goto fail;
	s->id = ++d->next_session_id;
	s->uid = uid;
	*out = s;
	return 0;
fail:
	dnnqd_session_free(s);
	return rc;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void dnnqd_session_peer_ends_sent(struct dnnqd_session *s)
{
	close_fd(&s->doorbell[1]);
	close_fd(&s->completion[1]);
}

void dnnqd_session_free(struct dnnqd_session *s)
{
	if (!s)
		return;
	if (s->uload)
		s->uload->refs--;
	if (s->map)
		munmap(s->map, s->map_size);
	close_fd(&s->memfd);
	close_fd(&s->conn_fd);
	close_fd(&s->doorbell[0]);
	close_fd(&s->completion[0]);
	dnnqd_session_peer_ends_sent(s);
	free(s->grace);
	free(s->counts);
	free(s);
}

static void unwatch_all(struct dnnqd *d, const struct dnnqd_session *s, unsigned n)
{
	for (unsigned w = 0; w < n; w++)
		dnnqd_worker_unwatch(&d->workers[w], s);
}

/* The uid's shared load record: the one its other sessions hold, else a
 * free one (NULL when there is none: a connect/close storm can keep more
 * retired sessions alive than there are records). */
static struct dnnqd_uid_load *uid_load(struct dnnqd *d, uint32_t uid)
{
	struct dnnqd_uid_load *free_one = NULL;
	for (uint32_t i = 0; i < d->cfg.max_clients; i++) {
		struct dnnqd_uid_load *l = &d->loads[i];
		if (l->refs && l->uid == uid) {
			l->refs++;
			return l;
		}
		if (!l->refs && !free_one)
			free_one = l;
	}
	if (free_one) {
		/* no worker holds it: every session that did was freed after
		 * its grace period, and its requests had finished */
		free_one->uid = uid;
		free_one->refs = 1;
		atomic_store_explicit(&free_one->l.running, 0, memory_order_relaxed);
		atomic_store_explicit(&free_one->l.active_ns, 0, memory_order_relaxed);
	}
	return free_one;
}

int dnnqd_session_publish(struct dnnqd *d, struct dnnqd_session *s)
{
	uint32_t i = 0;
	while (i < d->cfg.max_clients && atomic_load(&d->table[i]))
		i++;
	struct dnnqd_uid *u = i < d->cfg.max_clients ? dnnqd_uid_get(d, s->uid) : NULL;
	if (!u)
		return DNNQ_E_BUSY;
	s->index = i;
	for (unsigned w = 0; w < d->nworkers; w++) {
		if (dnnqd_worker_watch(&d->workers[w], s)) {
			unwatch_all(d, s, w);
			dnnqd_uid_put(d, s->uid);
			return DNNQ_E_IO;
		}
	}
	if (i >= atomic_load(&d->hwm))
		atomic_store(&d->hwm, i + 1);
	s->uload = uid_load(d, s->uid);
	atomic_store(&d->table[i], s);
	d->nsessions++;
	u->sessions++;
	u->bytes += s->map_size;
	for (unsigned w = 0; w < d->nworkers; w++)
		dnnqd_worker_wake(&d->workers[w]);
	return 0;
}

bool dnnqd_peer_unread(int fd)
{
	int queued;
	/* AF_UNIX: the bytes sent on fd that its peer has not read yet; a
	 * peer that closed its socket has dropped them */
	return !ioctl(fd, SIOCOUTQ, &queued) && queued > 0;
}

void dnnqd_session_retire(struct dnnqd *d, struct dnnqd_session *s, int conn_fd)
{
	atomic_store(&d->table[s->index], NULL);
	uint32_t h = atomic_load(&d->hwm);
	while (h > 0 && !atomic_load(&d->table[h - 1]))
		h--;
	atomic_store(&d->hwm, h);
	unwatch_all(d, s, d->nworkers);
	/* after the NULL store above: the order qsbr.h's argument needs */
	dnnqd_grace_begin(d, s->grace);
	/* at the end: the reaps spend the tick's budget of pages from the
	 * front, so the regions closed first are freed first (at the front,
	 * a client closing a region of pages every tick took the whole
	 * budget, and one closed before kept its pages); a walk of at most
	 * DNNQD_CLOSING_MAX, as every reap's */
	struct dnnqd_session **end = &d->retired;
	while (*end)
		end = &(*end)->next;
	s->next = NULL;
	*end = s;
	s->conn_fd = conn_fd;
	if (conn_fd < 0)
		d->nsessions--;
	d->nclosing++;
	struct dnnqd_uid *u = dnnqd_uid_get(d, s->uid);
	if (u) {
		u->sessions -= conn_fd < 0;
		u->kept += conn_fd >= 0;
		u->closing++;
	}
}

/* s's peer has read or dropped what its connection held (or the daemon
 * stops): the connection goes, and s no longer counts as a session. */
static void let_go(struct dnnqd *d, struct dnnqd_session *s, bool stopping)
{
	if (s->conn_fd < 0 || (!stopping && dnnqd_peer_unread(s->conn_fd)))
		return;
	close_fd(&s->conn_fd);
	d->nsessions--;
	struct dnnqd_uid *u = dnnqd_uid_get(d, s->uid);
	if (u) {
		u->sessions--;
		u->kept--;
	}
}

/* s is freed: out of its uid's count and bytes. */
static void uid_release(struct dnnqd *d, const struct dnnqd_session *s)
{
	struct dnnqd_uid *u = dnnqd_uid_get(d, s->uid);
	d->nclosing--;
	if (u && u->closing) {
		u->closing--;
		u->bytes -= s->map_size;
		dnnqd_uid_put(d, s->uid);
	}
}

/* What one punch costs the tick's budget at least (a region nearly all
 * holes is punched in a few calls, each a system call). */
#define SCRUB_CALL ((uint64_t)256 << 10)

/* Bytes of pages memfd holds (tmpfs counts them in st_blocks). */
static uint64_t held_bytes(int memfd)
{
	struct stat st;
	return fstat(memfd, &st) ? 0 : (uint64_t)st.st_blocks * 512;
}

/* Frees the pages of s's region, whoever still holds the memfd, from
 * s->scrubbed on while *budget lasts: its peer gets a region of holes,
 * which read as zeros and which only the peer's own writes fill again
 * (charged to the peer). True once the region holds no page or has been
 * punched to its end (or cannot be: the last close frees the pages). */
static bool scrub(struct dnnqd_session *s, uint64_t *budget)
{
	uint64_t held = s->memfd >= 0 ? held_bytes(s->memfd) : 0;
	while (held && s->scrubbed < s->map_size) {
		if (!*budget)
			return false;
		uint64_t n = s->map_size - s->scrubbed;
		n = n < DNNQD_SCRUB_CHUNK ? n : DNNQD_SCRUB_CHUNK;
		if (fallocate(s->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		              (off_t)s->scrubbed, (off_t)n))
			return true;
		s->scrubbed += n;
		/* what the punch could have freed, at most: a peer writing
		 * pages meanwhile cannot make it look cheaper */
		uint64_t cost = held < n ? held : n;
		cost = cost > SCRUB_CALL ? cost : SCRUB_CALL;
		*budget -= cost < *budget ? cost : *budget;
		held = held_bytes(s->memfd);
	}
	return true;
}

void dnnqd_session_reap(struct dnnqd *d)
{
	bool stopping = atomic_load(&d->stop);
	for (struct dnnqd_session **p = &d->retired; *p;) {
		struct dnnqd_session *s = *p;
		let_go(d, s, stopping);
		if (dnnqd_grace_over(d, s->grace) && (stopping || scrub(s, &d->scrub_left)) &&
		    s->conn_fd < 0) {
			*p = s->next;
			uid_release(d, s);
			dnnqd_session_free(s);
		} else {
			p = &s->next;
		}
	}
}
