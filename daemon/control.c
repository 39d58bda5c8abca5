/*
 * The control protocol, daemon side (control.h, shm/dnnq_proto.h).
 *
 * Admission happens at accept time, from SO_PEERCRED, before a byte is
 * read: a peer the ACL does not allow, or one over a limit (server.c), is
 * sent DNNQ_E_PERM or DNNQ_E_BUSY with a message saying why, as a HELLO
 * reply with seq 0, and closed at once: it never holds a connection slot
 * that an allowed peer could have.
 *
 * Every message is hostile until checked, in this order: at least a header
 * (else the connection is closed: there is nothing to answer), magic,
 * version, a zero status, a known type, the exact size of that type, the
 * connection's state (HELLO first and once), then each field. A message
 * that fails answers DNNQ_E_PROTO; the connection stays open. Replies echo
 * seq and the type, except that OPEN and INFO are answered with type MODEL;
 * HELLO, STATS and RELOAD replies always carry their whole struct, so an
 * error has its message, the others are a bare header on error. A RELOAD
 * is not answered at once: the connection waits (reload_waiting) and the
 * control loop answers it through dnnqd_conn_reloaded when a reload that
 * started after it has finished; a HELLO refused only over region bytes
 * that closed sessions of its uid still count waits for the tick's reaps
 * (dnnqd_conn_hello_again). Sends never block: a
 * peer that does not read its replies is closed (its session kept,
 * counting, until the replies are read or dropped: dnnqd_session_retire
 * says why). A connection refuses fds
 * (SO_PASSRIGHTS 0, dnnqd_refuse_fds: the peer's sendmsg fails EPERM on
 * Linux >= 6.16); before that kernel, recv() passes no control buffer, so
 * any fds a peer sends are discarded by the kernel (MSG_CTRUNC) instead of
 * piling up in the daemon.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/log.h"
#include "daemon/reload.h"
#include "daemon/session.h"

#define MSGS_PER_WAKE 16    /* then the loop serves the others */
#define REFUSALS_LOGGED 8   /* at info; then only the 2^nth (refusal_logged) */

struct reply {
	union {
		struct dnnq_msg_hdr hdr;
		struct dnnq_msg_hello_reply hello;
		struct dnnq_msg_model model;
		struct dnnq_msg_stats stats;
		struct dnnq_msg_reload reload;
		struct dnnq_msg_model_stats mstats;
	} u;
	size_t len;
	bool deferred;                  /* answered later (RELOAD) */
	int fds[DNNQ_PROTO_NFDS];
	unsigned nfds;
};

static const struct msg_kind {
	const char *name;
	size_t size;
} kinds[] = {
	[DNNQ_MSG_HELLO] = { "HELLO", sizeof(struct dnnq_msg_hello) },
	[DNNQ_MSG_OPEN]  = { "OPEN", sizeof(struct dnnq_msg_open) },
	[DNNQ_MSG_INFO]  = { "INFO", sizeof(struct dnnq_msg_open) },
	[DNNQ_MSG_CLOSE] = { "CLOSE", sizeof(struct dnnq_msg_close) },
	[DNNQ_MSG_STATS] = { "STATS", sizeof(struct dnnq_msg_hdr) },
	[DNNQ_MSG_MODEL] = { NULL, 0 },
	[DNNQ_MSG_RELOAD] = { "RELOAD", sizeof(struct dnnq_msg_hdr) },
	[DNNQ_MSG_MODEL_STATS] = { "MODEL_STATS", sizeof(struct dnnq_msg_open) },
};

static bool listed(const uint32_t *ids, unsigned n, uint32_t id)
{
	for (unsigned i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* The peer's supplementary groups (SO_PEERGROUPS) against the ACL. */
static bool groups_allowed(int fd, const struct dnnqd_acl *acl)
{
	socklen_t len = 0;
	bool ok = false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) && errno != ERANGE)
		return false;
	gid_t *g = malloc(len ? len : 1);
	if (g && !getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len))
		for (size_t i = 0; i < len / sizeof *g && !ok; i++)
			ok = listed(acl->gids, acl->ngids, g[i]);
	free(g);
	return ok;
}

/* Why an allowed peer of uid cannot have a connection now, or NULL. The
 * connections that have not sent HELLO have a budget of their own, in all
 * and per uid, so peers that never speak cannot crowd out the sessions,
 * nor one uid's the others'. */
static const char *over_limit(struct dnnqd *d, uint32_t uid, char *buf, size_t len)
{
	const char *full = dnnqd_uid_full(d, uid, buf, len);
	const struct dnnqd_uid *u = dnnqd_uid_find(d, uid);
	if (d->nsessions >= d->cfg.max_clients)
		return DNNQD_CLIENTS_FULL;
	if (full)
		return full;
	if (u && u->pending >= DNNQD_PENDING_PER_UID)
		snprintf(buf, len, "uid %u has %u connections waiting to say HELLO, the most one"
		         " uid may", uid, u->pending);
	else if (d->npending >= DNNQD_PENDING_MAX)
		snprintf(buf, len, "%u connections are waiting to say HELLO, the most the daemon"
		         " keeps", d->npending);
	else
		return NULL;
	return buf;
}

/* c, a fresh connection on fd, with its peer's credentials; false when
 * SO_PEERCRED has none. */
static bool conn_init(struct dnnqd_conn *c, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	memset(c, 0, sizeof *c);
	c->fd = fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	c->pid = (uint32_t)cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
	return true;
}

static void refuse(struct dnnqd_conn *c, int status, const char *why, uint64_t nth);

bool dnnqd_conn_admit(struct dnnqd *d, struct dnnqd_conn *c, int fd,
                      const struct dnnqd_acl *acl, uint64_t now_ns)
{
	char buf[160];
	bool known = conn_init(c, fd);
	c->deadline_ns = now_ns + DNNQD_HELLO_TIMEOUT_NS;
	if (!known) {
		c->refusal = DNNQ_E_PERM;
		return false;
	}
	bool allowed = listed(acl->uids, acl->nuids, c->uid) ||
	               listed(acl->gids, acl->ngids, c->gid) ||
	               (acl->ngids && groups_allowed(fd, acl));
	const char *why = allowed ? over_limit(d, c->uid, buf, sizeof buf) : NULL;
	struct dnnqd_uid *u = allowed && !why ? dnnqd_uid_get(d, c->uid) : NULL;
	if (!u) {
		refuse(c, allowed ? DNNQ_E_BUSY : DNNQ_E_PERM, why ? why : "no room",
		       allowed ? 0 : ++d->refused);
		return false;
	}
	u->pending++;
	d->npending++;
	c->pending = true;
	return true;
}

/* c has its session, or is closing: out of the pending budget. */
static void unpend(struct dnnqd *d, struct dnnqd_conn *c)
{
	struct dnnqd_uid *u = c->pending ? dnnqd_uid_get(d, c->uid) : NULL;
	if (!u)
		return;
	u->pending--;
	d->npending--;
	c->pending = false;
	dnnqd_uid_put(d, c->uid);
}

/* The reply skeleton for request h: its seq, its type (MODEL for OPEN and
 * INFO), and the size of a success or of an error reply. */
static void reply_start(struct reply *r, const struct dnnq_msg_hdr *h)
{
	memset(r, 0, sizeof *r);
	r->u.hdr.magic = DNNQ_PROTO_MAGIC;
	r->u.hdr.version = DNNQ_PROTO_VERSION;
	r->u.hdr.seq = h->seq;
	r->u.hdr.type = h->type == DNNQ_MSG_OPEN || h->type == DNNQ_MSG_INFO ? DNNQ_MSG_MODEL : h->type;
	r->len = sizeof r->u.hdr;
	if (h->type == DNNQ_MSG_HELLO) {
		r->len = sizeof r->u.hello;
		r->u.hello.abi_major = DNNQ_SHM_ABI_MAJOR;
		r->u.hello.abi_minor = DNNQ_SHM_ABI_MINOR;
	} else if (h->type == DNNQ_MSG_STATS) {
		r->len = sizeof r->u.stats;
	} else if (h->type == DNNQ_MSG_RELOAD) {
		r->len = sizeof r->u.reload;
	}
}

static void reply_fail(struct reply *r, int status, const char *why)
{
	r->u.hdr.status = status;
	r->nfds = 0;
	if (r->u.hdr.type == DNNQ_MSG_HELLO)
		snprintf(r->u.hello.message, sizeof r->u.hello.message, "%s", why);
	else if (r->u.hdr.type == DNNQ_MSG_STATS)
		snprintf(r->u.stats.message, sizeof r->u.stats.message, "%s", why);
	else if (r->u.hdr.type == DNNQ_MSG_RELOAD)
		snprintf(r->u.reload.message, sizeof r->u.reload.message, "%s", why);
}

static int on_hello(struct dnnqd *d, struct dnnqd_conn *c, const void *msg, struct reply *r,
                    struct dnnq_diag *why)
{
	struct dnnq_msg_hello m;
	struct dnnqd_session *s;
	bool later;
	memcpy(&m, msg, sizeof m);
	if (m.reserved)
		return dnnq_diag_set(why, DNNQ_E_PROTO, "HELLO: reserved %u: must be 0", m.reserved);
	if (m.abi_major != DNNQ_SHM_ABI_MAJOR)
		return dnnq_diag_set(why, DNNQ_E_VERSION, "HELLO: abi_major %u: this daemon speaks"
		                     " %u.%u", m.abi_major, DNNQ_SHM_ABI_MAJOR, DNNQ_SHM_ABI_MINOR);
	int rc = dnnqd_session_create(d, c->uid, m.slots, m.arena_bytes, &s, &later, why);
	if (rc && later && dnnqd_now_ns() < c->deadline_ns) {
		c->hello = m;
		c->hello_waiting = true;
		r->deferred = true;
		return 0;
	}
	if (rc)
		return rc;
	/* published before the reply: a failed send closes the connection,
	 * which retires it like any other */
	if ((rc = dnnqd_session_publish(d, s))) {
		dnnqd_session_free(s);
		return dnnq_diag_set(why, rc, "HELLO: no room for another session");
	}
	c->session = s;
	unpend(d, c);
	struct dnnq_msg_hello_reply *hr = &r->u.hello;
	hr->session_id = s->id;
	hr->region_size = s->map_size;
	hr->workers = d->nworkers;
	hr->spin_us = d->cfg.spin_us;
	hr->heartbeat_ms = DNNQD_HEARTBEAT_MS;
	r->fds[0] = s->memfd;
	r->fds[1] = s->doorbell[1];
	r->fds[2] = s->completion[1];
	r->nfds = DNNQ_PROTO_NFDS;
	dnnqd_log(DNNQD_LOG_DEBUG, "session %llu: pid %u uid %u: %u slot%s, %llu arena bytes",
	          (unsigned long long)s->id, c->pid, c->uid, s->view.slot_count,
	          s->view.slot_count == 1 ? "" : "s", (unsigned long long)s->view.arena_size);
	return 0;
}

static int check_name(const char *name, size_t size, struct dnnq_diag *why)
{
	return memchr(name, 0, size) ? 0
	       : dnnq_diag_set(why, DNNQ_E_PROTO, "OPEN: name: no NUL within %zu bytes", size);
}

/* An OPEN, INFO or MODEL_STATS message (struct dnnq_msg_open) into m. */
static int read_open(const struct dnnq_msg_hdr *h, const void *msg, struct dnnq_msg_open *m,
                     struct dnnq_diag *why)
{
	memcpy(m, msg, sizeof *m);
	return m->reserved ? dnnq_diag_set(why, DNNQ_E_PROTO, "%s: reserved %u: must be 0",
	                                   kinds[h->type].name, m->reserved) : 0;
}

static int on_open_info(struct dnnqd *d, const struct dnnq_msg_hdr *h, const void *msg,
                        struct reply *r, struct dnnq_diag *why)
{
	const struct dnnqd_models *ms = dnnqd_models_now(d);
	struct dnnq_msg_open m;
	int rc = read_open(h, msg, &m, why);
	if (rc)
		return rc;
	int id;
	if (h->type == DNNQ_MSG_OPEN) {
		if ((rc = check_name(m.name, sizeof m.name, why)))
			return rc;
		if ((id = dnnqd_models_find(ms, m.name)) < 0)
			return dnnq_diag_set(why, DNNQ_E_NOTFOUND, "OPEN: no model '%s'", m.name);
	} else if (m.index >= ms->count) {
		return dnnq_diag_set(why, DNNQ_E_NOTFOUND, "INFO: index %u: %u models", m.index,
		                     ms->count);
	} else {
		id = (int)ms->order[m.index];
	}
	dnnqd_model_describe(ms, (uint32_t)id, &r->u.model);
	r->len = sizeof r->u.model;
	return 0;
}

/* A handle of a model that a reload removed closes fine too. */
static int on_close(struct dnnqd *d, const void *msg, struct dnnq_diag *why)
{
	const struct dnnqd_models *ms = dnnqd_models_now(d);
	struct dnnq_msg_close m;
	memcpy(&m, msg, sizeof m);
	if (m.reserved)
		return dnnq_diag_set(why, DNNQ_E_PROTO, "CLOSE: reserved %u: must be 0", m.reserved);
	if (m.model_id >= ms->n)
		return dnnq_diag_set(why, DNNQ_E_RANGE, "CLOSE: model_id %u: %u ids given out",
		                     m.model_id, ms->n);
	return 0;
}

/* Whether c's peer may run the daemon: root or the daemon's own uid. */
static bool is_admin(const struct dnnqd_conn *c)
{
	return c->uid == 0 || c->uid == (uint32_t)getuid();
}

/* The counters of uid's open sessions. */
static void uid_totals(struct dnnqd *d, uint32_t uid, struct dnnqd_totals *out)
{
	*out = (struct dnnqd_totals){ 0 };
	for (uint32_t i = 0; i < d->cfg.max_clients; i++) {
		const struct dnnqd_session *s = atomic_load(&d->table[i]);
		struct dnnqd_totals t;
		if (!s || s->uid != uid)
			continue;
		dnnqd_counters_sum(s->counts, d->nworkers, &t);
		out->requests += t.requests;
		out->failures += t.failures;
		out->bytes_copied += t.bytes_copied;
	}
}

void dnnqd_stats_fill(struct dnnqd *d, uint32_t uid, bool all, struct dnnq_msg_stats *st)
{
	const struct dnnqd_models *ms = dnnqd_models_now(d);
	struct dnnqd_totals scope;
	const struct dnnqd_uid *u = dnnqd_uid_find(d, uid);
	if (all)
		dnnqd_counters_sum(d->counts, d->nworkers, &scope);
	else
		uid_totals(d, uid, &scope);
	st->uptime_ns = dnnqd_now_ns() - d->start_ns;
	st->requests = scope.requests;
	st->failures = scope.failures;
	st->bytes_copied = scope.bytes_copied;
	st->sessions = all ? d->nsessions : u ? u->sessions : 0;
	st->models = ms->count;
	st->workers = d->nworkers;
	st->pid = (uint32_t)getpid();
	st->scope = all ? DNNQ_STATS_SCOPE_DAEMON : DNNQ_STATS_SCOPE_UID;
	if (all)
		dnnqd_state_line(d, st->message, sizeof st->message);
	else
		snprintf(st->message, sizeof st->message, "serving %u model%s", ms->count,
		         ms->count == 1 ? "" : "s");
}

/* Daemon-wide figures (every client's traffic, the session count, the
 * last reload's error) go to root, the daemon's own uid, or everybody
 * with access.public_stats; any other client sees its own uid's. */
static void on_stats(struct dnnqd *d, const struct dnnqd_conn *c, struct reply *r)
{
	struct dnnq_msg_stats *st = &r->u.stats;
	struct dnnqd_totals mine;
	dnnqd_stats_fill(d, c->uid, d->cfg.public_stats || is_admin(c), st);
	dnnqd_counters_sum(c->session->counts, d->nworkers, &mine);
	st->session_requests = mine.requests;
	st->session_failures = mine.failures;
}

void dnnqd_model_stats_fill(struct dnnqd *d, uint32_t index, struct dnnq_msg_model_stats *o)
{
	const struct dnnqd_models *ms = dnnqd_models_now(d);
	uint32_t id = ms->order[index];
	const struct dnnqd_model *v = ms->m[id];
	o->model_id = id;
	o->generation = v->generation;
	o->n_models = ms->count;
	snprintf(o->name, sizeof o->name, "%s", v->name);
	for (unsigned w = 0; v->stats < DNNQD_STATS_MODELS && w < d->nworkers; w++) {
		const struct dnnqd_model_counts *k =
			&d->mcounts[(size_t)w * DNNQD_STATS_MODELS + v->stats];
		o->requests += atomic_load_explicit(&k->requests, memory_order_relaxed);
		o->failures += atomic_load_explicit(&k->failures, memory_order_relaxed);
		o->samples += atomic_load_explicit(&k->samples, memory_order_relaxed);
		o->run_ns += atomic_load_explicit(&k->run_ns, memory_order_relaxed);
		o->queued += atomic_load_explicit(&k->queued, memory_order_relaxed);
		o->queue_ns += atomic_load_explicit(&k->queue_ns, memory_order_relaxed);
		o->runs += atomic_load_explicit(&k->runs, memory_order_relaxed);
		o->run_items += atomic_load_explicit(&k->run_items, memory_order_relaxed);
		o->expired += atomic_load_explicit(&k->expired, memory_order_relaxed);
		o->waiting += atomic_load_explicit(&k->waiting, memory_order_relaxed);
		o->team_requests += atomic_load_explicit(&k->team_requests, memory_order_relaxed);
		o->team_workers += atomic_load_explicit(&k->team_workers, memory_order_relaxed);
		for (unsigned b = 0; b < DNNQ_PROTO_HIST_BUCKETS; b++) {
			o->hist[b] += atomic_load_explicit(&k->hist[b], memory_order_relaxed);
			o->batches[b] += atomic_load_explicit(&k->batches[b], memory_order_relaxed);
		}
	}
}

/* The index-th served model's counters, summed over the workers. Daemon-
 * wide figures: root, the daemon's uid, or access.public_stats only. */
static int on_model_stats(struct dnnqd *d, const struct dnnqd_conn *c,
                          const struct dnnq_msg_hdr *h, const void *msg, struct reply *r,
                          struct dnnq_diag *why)
{
	const struct dnnqd_models *ms = dnnqd_models_now(d);
	struct dnnq_msg_open m;
	int rc = read_open(h, msg, &m, why);
	if (rc)
		return rc;
	if (!d->cfg.public_stats && !is_admin(c))
		return dnnq_diag_set(why, DNNQ_E_PERM, "MODEL_STATS: uid %u: per-model figures are"
		                     " the daemon's (root, its uid, or access.public_stats)", c->uid);
	if (m.index >= ms->count)
		return dnnq_diag_set(why, DNNQ_E_NOTFOUND, "MODEL_STATS: index %u: %u models",
		                     m.index, ms->count);
	dnnqd_model_stats_fill(d, m.index, &r->u.mstats);
	r->len = sizeof r->u.mstats;
	return 0;
}

/* Asks for a reload; the answer waits for dnnqd_conn_reloaded. */
static int on_reload(struct dnnqd *d, struct dnnqd_conn *c, const struct dnnq_msg_hdr *h,
                     struct reply *r, struct dnnq_diag *why)
{
	if (!is_admin(c))
		return dnnq_diag_set(why, DNNQ_E_PERM, "RELOAD: uid %u: only root and the"
		                     " daemon's uid (%u) may reload", c->uid, (unsigned)getuid());
	if (!d->reload)
		return dnnq_diag_set(why, DNNQ_E_UNSUPPORTED, "RELOAD: this daemon has no hot"
		                     " reload");
	if (c->reload_waiting)
		return dnnq_diag_set(why, DNNQ_E_BUSY, "RELOAD: one is waiting already");
	c->reload_at = d->reloads + dnnqd_reload_ask(d->reload);
	c->reload_seq = h->seq;
	c->reload_waiting = true;
	r->deferred = true;
	dnnqd_log(DNNQD_LOG_INFO, "pid %u uid %u: reloading", c->pid, c->uid);
	return 0;
}

/* Everything but the fields: the header, the size for the type, the
 * connection's state. */
static int check_envelope(const struct dnnqd_conn *c, const struct dnnq_msg_hdr *h, size_t len,
                          struct dnnq_diag *why)
{
	if (h->magic != DNNQ_PROTO_MAGIC)
		return dnnq_diag_set(why, DNNQ_E_PROTO, "magic 0x%08x: not a dnnq message", h->magic);
	if (h->version != DNNQ_PROTO_VERSION)
		return dnnq_diag_set(why, DNNQ_E_PROTO, "version %u: this daemon speaks %u",
		                     h->version, DNNQ_PROTO_VERSION);
	if (h->status)
		return dnnq_diag_set(why, DNNQ_E_PROTO, "status %d: must be 0 in a request", h->status);
	if (h->type >= sizeof kinds / sizeof kinds[0] || !kinds[h->type].name)
		return dnnq_diag_set(why, DNNQ_E_PROTO, "type %u: not a request", h->type);
	const struct msg_kind *k = &kinds[h->type];
	if (len != k->size)
		return dnnq_diag_set(why, DNNQ_E_PROTO, "%s: %zu bytes: want %zu", k->name, len,
		                     k->size);
	if (h->type == DNNQ_MSG_HELLO && c->session)
		return dnnq_diag_set(why, DNNQ_E_PROTO, "HELLO: sent twice");
	if (h->type != DNNQ_MSG_HELLO && !c->session)
		return dnnq_diag_set(why, DNNQ_E_PROTO, "%s: before HELLO", k->name);
	return 0;
}

static void dispatch(struct dnnqd *d, struct dnnqd_conn *c, const struct dnnq_msg_hdr *h,
                     const void *msg, size_t len, struct reply *r)
{
	struct dnnq_diag why = { "" };
	int rc = check_envelope(c, h, len, &why);
	if (!rc) {
		switch (h->type) {
		case DNNQ_MSG_HELLO: rc = on_hello(d, c, msg, r, &why); break;
		case DNNQ_MSG_OPEN:
		case DNNQ_MSG_INFO:  rc = on_open_info(d, h, msg, r, &why); break;
		case DNNQ_MSG_CLOSE: rc = on_close(d, msg, &why); break;
		case DNNQ_MSG_RELOAD: rc = on_reload(d, c, h, r, &why); break;
		case DNNQ_MSG_MODEL_STATS: rc = on_model_stats(d, c, h, msg, r, &why); break;
		default:             on_stats(d, c, r); break;
		}
	}
	if (rc) {
		reply_fail(r, rc, why.msg);
		dnnqd_log(DNNQD_LOG_DEBUG, "pid %u uid %u: %s (%s)", c->pid, c->uid, why.msg,
		          dnnq_strerror(rc));
	}
}

static bool send_reply(int fd, const struct reply *r)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * DNNQ_PROTO_NFDS)];
	} ctl;
	struct iovec iov = { (void *)&r->u, r->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (r->nfds) {
		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * r->nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * r->nfds);
		memcpy(CMSG_DATA(cm), r->fds, sizeof(int) * r->nfds);
	}
	return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)r->len;
}

/* Whether the nth refusal of a peer not allowed is logged at info: the
 * first REFUSALS_LOGGED, then each power of two. Anyone who can reach the
 * socket can be refused, as fast as it connects: a line for each would
 * fill the disk of a log file no journald rate-limits (every one is
 * logged at debug). */
static bool refusal_logged(uint64_t nth)
{
	return nth <= REFUSALS_LOGGED || !(nth & (nth - 1));
}

/* What a thinned line says of its number nth (refusal_logged): nothing
 * for the first REFUSALS_LOGGED. */
static void thinned(uint64_t nth, char *buf, size_t len)
{
	buf[0] = 0;
	if (nth > REFUSALS_LOGGED)
		snprintf(buf, len, " (#%llu: past #%u only #2^n are logged, the others at debug)",
		         (unsigned long long)nth, REFUSALS_LOGGED);
}

/* A HELLO reply whose descriptors the kernel would not pass: dnnqd's uid
 * has more in flight (sent, not yet received, by any of its processes)
 * than dnnqd's RLIMIT_NOFILE (ETOOMANYREFS; session.h says how dnnqd's
 * own sessions stay within it, which another process of its uid, or a
 * hard limit below what main.c asks for, can undo). The session is
 * closed like any whose reply fails; the peer is told why, without the
 * descriptors, and the operator too (each failure used to be a silent
 * hang-up: 'session set-up' failed, nothing in the log). Any peer can
 * cause one, as fast as it connects: the lines are thinned as the
 * refusals'. */
static void fds_unsent(struct dnnqd *d, const struct dnnqd_conn *c, struct reply *r)
{
	struct rlimit rl = { 0, 0 };
	char why[256], count[96];
	getrlimit(RLIMIT_NOFILE, &rl);
	snprintf(why, sizeof why, "dnnqd could not pass the session's descriptors: its uid has"
	         " more in flight than its RLIMIT_NOFILE of %llu (ETOOMANYREFS); raise the limit"
	         " (LimitNOFILE=) or lower limits.max_clients", (unsigned long long)rl.rlim_cur);
	uint64_t nth = ++d->fds_unsent;
	thinned(nth, count, sizeof count);
	dnnqd_log(refusal_logged(nth) ? DNNQD_LOG_WARN : DNNQD_LOG_DEBUG, "pid %u uid %u: HELLO:"
	          " %s%s", c->pid, c->uid, why, count);
	reply_fail(r, DNNQ_E_BUSY, why);
	send_reply(c->fd, r);
}

/* One message of len bytes (buf holds the first min(len, size) of them). */
static bool handle(struct dnnqd *d, struct dnnqd_conn *c, const void *buf, size_t len)
{
	struct dnnq_msg_hdr h;
	struct reply r;
	if (len < sizeof h)
		return false;
	memcpy(&h, buf, sizeof h);
	reply_start(&r, &h);
	dispatch(d, c, &h, buf, len, &r);
	if (r.deferred)
		return true;
	bool sent = send_reply(c->fd, &r);
	bool unsent = !sent && r.nfds && errno == ETOOMANYREFS;
	/* sent or not, the client's ends are no use to the daemon (before
	 * fds_unsent, whose reply has none: they were kept with the session,
	 * which its peer keeps while the reply is unread) */
	if (r.nfds && c->session)
		dnnqd_session_peer_ends_sent(c->session);
	if (unsent)
		fds_unsent(d, c, &r);
	return sent;
}

/* No more from fd's peer (its sends fail from here on), and what it sent
 * already is dropped. */
static void mute(int fd)
{
	shutdown(fd, SHUT_RD);
	char b;
	for (int i = 0; i < 64 && recv(fd, &b, 1, MSG_DONTWAIT | MSG_TRUNC) >= 0; i++)
		continue;
}

/* dnnqd_conn_refuse; nth: the daemon's count of refusals of peers not
 * allowed, this one's included (0: not counted, logged at info). */
static void refuse(struct dnnqd_conn *c, int status, const char *why, uint64_t nth)
{
	struct dnnq_msg_hdr h = { .magic = DNNQ_PROTO_MAGIC, .version = DNNQ_PROTO_VERSION,
	                          .type = DNNQ_MSG_HELLO };
	struct reply r;
	char perm[160], count[96];
	if (status == DNNQ_E_PERM) {
		snprintf(perm, sizeof perm, "uid %u gid %u: not allowed (access: in the config,"
		         " --allow-uid, --allow-gid)", c->uid, c->gid);
		why = perm;
	}
	thinned(nth, count, sizeof count);
	c->refusal = status;
	reply_start(&r, &h);
	reply_fail(&r, status, why);
	dnnqd_log(status == DNNQ_E_PERM && (!nth || refusal_logged(nth)) ? DNNQD_LOG_INFO
	          : DNNQD_LOG_DEBUG, "refused pid %u uid %u: %s%s", c->pid, c->uid, why, count);
	/* a peer whose buffer is full learns it from the close */
	send_reply(c->fd, &r);
	/* a socket closed with unread messages reports ECONNRESET to the
	 * peer before the refusal it holds */
	mute(c->fd);
}

void dnnqd_conn_refuse(struct dnnqd_conn *c, int status, const char *why)
{
	refuse(c, status, why, 0);
}

void dnnqd_conn_refuse_fd(int fd, int status, const char *why)
{
	struct dnnqd_conn c;
	conn_init(&c, fd);
	dnnqd_conn_refuse(&c, status, why);
}

bool dnnqd_conn_handle(struct dnnqd *d, struct dnnqd_conn *c, const void *buf, size_t len)
{
	/* refused: answered already, nothing it says counts; a waiting HELLO
	 * is answered first */
	return !c->refusal && !c->hello_waiting && handle(d, c, buf, len);
}

bool dnnqd_conn_hello_again(struct dnnqd *d, struct dnnqd_conn *c)
{
	c->hello_waiting = false;
	return handle(d, c, &c->hello, sizeof c->hello);
}

bool dnnqd_conn_readable(struct dnnqd *d, struct dnnqd_conn *c)
{
	for (int i = 0; i < MSGS_PER_WAKE; i++) {
		_Alignas(8) uint8_t buf[DNNQ_PROTO_MAX_MSG];
		/* MSG_TRUNC: the packet's real length, so an oversized one is seen */
		ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		/* 0: a hang-up, or an empty packet, which cannot be answered */
		if (n == 0 || !dnnqd_conn_handle(d, c, buf, (size_t)n))
			return false;
	}
	return true;
}

bool dnnqd_conn_reloaded(struct dnnqd *d, struct dnnqd_conn *c)
{
	/* d->reloads only grows; the difference survives its wrap */
	if (!c->reload_waiting || !d->reload || (int32_t)(d->reloads - c->reload_at) < 0)
		return true;
	struct dnnq_msg_hdr h = { .magic = DNNQ_PROTO_MAGIC, .version = DNNQ_PROTO_VERSION,
	                          .type = DNNQ_MSG_RELOAD, .seq = c->reload_seq };
	struct reply r;
	reply_start(&r, &h);
	struct dnnq_msg_hdr keep = r.u.hdr;
	r.u.reload = *dnnqd_reload_result(d->reload);
	keep.status = r.u.reload.hdr.status;
	r.u.reload.hdr = keep;
	c->reload_waiting = false;
	return send_reply(c->fd, &r);
}

void dnnqd_conn_close(struct dnnqd *d, struct dnnqd_conn *c)
{
	unpend(d, c);
	c->hello_waiting = false;
	if (c->session) {
		/* a peer that has not read its HELLO reply holds descriptors
		 * the kernel counts as dnnqd's, past the connection: the
		 * session keeps the connection and counts until it is read or
		 * dropped (dnnqd_session_retire) */
		int keep = c->fd >= 0 && dnnqd_peer_unread(c->fd) ? c->fd : -1;
		dnnqd_log(DNNQD_LOG_DEBUG, "session %llu: closed%s", (unsigned long long)c->session->id,
		          keep >= 0 ? " (kept until its peer reads or drops its replies)" : "");
		if (keep >= 0) {
			mute(keep);
			c->fd = -1;
		}
		dnnqd_session_retire(d, c->session, keep);
		c->session = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
