/*
 * A session: dnnq_connect opens the control socket, says HELLO, receives
 * the region memfd and the ends of the doorbell and completion socketpairs
 * (AF_UNIX datagram sockets, or the reply is refused), maps the region
 * and builds the private state the data path needs (the validated view,
 * the arena allocator, the slot table and its free list). dnnq_close
 * undoes it all.
 *
 * The region is hostile input like any reply: the memfd must be a regular
 * file on tmpfs sealed against shrinking (or a daemon could make our loads
 * fault), at least as large as the size the reply announces;
 * dnnq_shm_attach then validates the header and from there on only the
 * view's private copies are used. A region smaller than asked for is refused: the daemon may say
 * no, never silently give less.
 *
 * Every failure after the socket exists goes through client_free, which
 * copes with a half-built client, so an error path leaks no fd, mapping or
 * allocation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "client/client-internal.h"

/* opts with the defaults filled in; DNNQ_E_INVAL / _NOMEM, the field
 * named, for values no daemon accepts. */
static int resolve_opts(const struct dnnq_connect_opts *opts, struct dnnq_connect_opts *o)
{
	*o = opts ? *opts : (struct dnnq_connect_opts){ 0 };
	if (o->timeout_ms < 0)
		return client_errorf(DNNQ_E_INVAL, "dnnq_connect: timeout_ms %d: 0 (the default,"
		                     " %d) or more", o->timeout_ms, CLIENT_DEFAULT_TIMEOUT);
	if (o->slots > DNNQ_SHM_MAX_SLOTS)
		return client_errorf(DNNQ_E_INVAL, "dnnq_connect: slots %u: at most %u",
		                     (unsigned)o->slots, DNNQ_SHM_MAX_SLOTS);
	if (o->arena_bytes > DNNQ_SHM_MAX_ARENA)
		return client_errorf(DNNQ_E_NOMEM, "dnnq_connect: arena_bytes %llu: at most %llu"
		                     " (64 GiB)", (unsigned long long)o->arena_bytes,
		                     (unsigned long long)DNNQ_SHM_MAX_ARENA);
	/* slots 0 goes as 0: the daemon's default, 64 or its
	 * limits.max_inflight when lower (dnnq(3)); 64 sent here made every
	 * default connect fail on a daemon whose limit is lower */
	if (!o->arena_bytes)
		o->arena_bytes = CLIENT_DEFAULT_ARENA;
	if (!o->spin_us)
		o->spin_us = CLIENT_DEFAULT_SPIN_US;
	if (!o->timeout_ms)
		o->timeout_ms = CLIENT_DEFAULT_TIMEOUT;
	return 0;
}

static struct dnnq_client *client_new(const struct dnnq_connect_opts *o)
{
	size_t size = (sizeof(struct dnnq_client) + 63) & ~(size_t)63;
	struct dnnq_client *c = aligned_alloc(64, size);
	if (!c)
		return NULL;
	memset(c, 0, sizeof *c);
	c->sock = c->doorbell_fd = c->event_fd = -1;
	c->timeout_ms = o->timeout_ms;
	c->spin_ns = o->spin_us < 0 ? -1 : (int64_t)o->spin_us * 1000;
	pthread_mutex_init(&c->ctl_lock, NULL);
	pthread_mutex_init(&c->live_lock, NULL);
	return c;
}

static void client_free(struct dnnq_client *c)
{
	model_free_all(c);
	if (c->view.base)
		munmap(c->view.base, c->map_size);
	dnnq_shm_arena_destroy(&c->arena);
	free(c->slots);
	int fds[] = { c->sock, c->doorbell_fd, c->event_fd };
	for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	pthread_mutex_destroy(&c->ctl_lock);
	pthread_mutex_destroy(&c->live_lock);
	free(c);
}

/* Maps `size` bytes of the region memfd and attaches the view. Each
 * refusal names the rule the reply broke (dnnq_last_error): a daemon's
 * bug, or something else listening on the socket. */
static int map_region(struct dnnq_client *c, int memfd, uint64_t size)
{
	static const char what[] = "the HELLO reply's region memfd";
	struct stat st;
	/* the seal first, then the size: a daemon still holding the memfd
	 * could otherwise shrink it between the two and seal it after, and the
	 * size seen would be gone (SIGBUS on the pages past the new end);
	 * once sealed against shrinking it can only grow */
	int seals = fcntl(memfd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return client_errorf(DNNQ_E_PROTO, "%s: %s", what, seals < 0 ? "not a memfd"
		                     : "not sealed against shrinking (F_SEAL_SHRINK)");
	if (fstat(memfd, &st) < 0 || !S_ISREG(st.st_mode))
		return client_errorf(DNNQ_E_PROTO, "%s: not a regular file", what);
	if (size < sizeof(struct dnnq_shm_header) || size > (uint64_t)st.st_size)
		return client_errorf(DNNQ_E_PROTO, "%s: region_size %llu: the memfd holds %lld"
		                     " bytes, a region at least %zu", what, (unsigned long long)size,
		                     (long long)st.st_size, sizeof(struct dnnq_shm_header));
	/* tmpfs, as memfd_create makes without MFD_HUGETLB: on hugetlbfs
	 * (which takes seals too) a daemon punching holes gives back our huge
	 * page reservation, and a later fault with the pool empty is SIGBUS */
	struct statfs fs;
	if (fstatfs(memfd, &fs) < 0 || fs.f_type != TMPFS_MAGIC)
		return client_errorf(DNNQ_E_PROTO, "%s: not on tmpfs (a hugetlbfs memfd?)", what);
	/* a memfd sealed against writing (F_SEAL_WRITE, F_SEAL_FUTURE_WRITE)
	 * fails here, EPERM */
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (base == MAP_FAILED)
		return client_errorf(errno == ENOMEM ? DNNQ_E_NOMEM : DNNQ_E_IO, "%s: mmap of %llu"
		                     " bytes, shared, read and write: %s", what,
		                     (unsigned long long)size, strerror(errno));
	struct dnnq_diag why = { "" };
	int rc = dnnq_shm_attach(base, size, &c->view, &why);
	if (rc) {
		munmap(base, size);
		memset(&c->view, 0, sizeof c->view);
		return client_errorf(rc, "the HELLO reply's region: %s", why.msg);
	}
	c->map_size = size;
	return 0;
}

/* Whether fd is what dnnqd passes as the doorbell and the completion
 * ends: an AF_UNIX datagram socket. The library only ever sends on the
 * doorbell with MSG_DONTWAIT, and dnnq_event_fd promises a datagram
 * socket its caller reads with MSG_DONTWAIT (whatever O_NONBLOCK says: the
 * flag is the open file's, which the daemon that made it can change): a
 * pipe, an eventfd or a regular file in their place could block or fail
 * the caller's reads, so a reply carrying one is refused. */
static bool dgram_socket(int fd)
{
	int domain, type;
	socklen_t len = sizeof domain;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) || domain != AF_UNIX)
		return false;
	len = sizeof type;
	return !getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) && type == SOCK_DGRAM;
}

/* HELLO: the region and the socketpair ends; keeps the heartbeat period. */
static int hello(struct dnnq_client *c, const struct dnnq_connect_opts *o, uint32_t *hb_ms)
{
	static const struct ctl_spec spec = {
		DNNQ_MSG_HELLO, DNNQ_MSG_HELLO, sizeof(struct dnnq_msg_hello_reply), true, true,
	};
	struct dnnq_msg_hello req = {
		.abi_major = DNNQ_SHM_ABI_MAJOR, .abi_minor = DNNQ_SHM_ABI_MINOR,
		.slots = o->slots, .arena_bytes = o->arena_bytes,
	};
	struct dnnq_msg_hello_reply rep;
	int fds[DNNQ_PROTO_NFDS];
	int rc = ctl_call(c, &spec, &req, sizeof req, &rep, fds);
	if (rc == 0 && !ctl_str_ok(rep.message, sizeof rep.message))
		rc = DNNQ_E_PROTO;
	else if (rc == 0 && rep.abi_major != DNNQ_SHM_ABI_MAJOR)
		rc = DNNQ_E_VERSION;
	else if (rc == 0 && !(dgram_socket(fds[1]) && dgram_socket(fds[2])))
		rc = client_errorf(DNNQ_E_PROTO, "the HELLO reply's doorbell or completion"
		                   " descriptor is not an AF_UNIX datagram socket");
	else if (rc == 0)
		rc = map_region(c, fds[0], rep.region_size);
	if (fds[0] >= 0)
		close(fds[0]);	/* the mapping keeps the region */
	c->doorbell_fd = fds[1];
	c->event_fd = fds[2];
	*hb_ms = rc ? 0 : rep.heartbeat_ms;
	return rc;
}

/* Everything private the data path needs, once the region is mapped. */
static int session_init(struct dnnq_client *c, const struct dnnq_connect_opts *o, uint32_t hb_ms)
{
	if (c->view.slot_count < o->slots || c->view.arena_size < o->arena_bytes)
		return DNNQ_E_PROTO;
	int rc = dnnq_shm_arena_init(&c->arena, c->view.arena_size);
	if (rc)
		return rc;
	c->slots = aligned_alloc(64, (size_t)c->view.slot_count * sizeof *c->slots);
	if (!c->slots)
		return DNNQ_E_NOMEM;
	memset(c->slots, 0, (size_t)c->view.slot_count * sizeof *c->slots);
	request_slots_init(c);
	/* A daemon that beats slowly must not look dead between two beats. */
	c->stale_ns = CLIENT_STALE_NS;
	if ((int64_t)hb_ms * 4000000 > c->stale_ns)
		c->stale_ns = (int64_t)hb_ms * 4000000;
	c->hb_value = dnnq_shm_load_acquire64(&c->view.hdr->heartbeat);
	c->hb_moved_ns = c->live_checked_ns = client_now_ns();
	return 0;
}

/* After the socket connected: the failure's text names the socket too. */
static int session_failed(int rc, const char *tried, const char *step)
{
	char why[384];
	if (client_error_pending())
		snprintf(why, sizeof why, "%s", dnnq_last_error());
	else
		snprintf(why, sizeof why, "%s: %s", step, dnnq_strerror(rc));
	return client_errorf(rc, "dnnqd at %s: %s", tried, why);
}

static int connect_call(const char *path, const struct dnnq_connect_opts *opts,
                        struct dnnq_client **out)
{
	struct dnnq_connect_opts o;
	if (!out)
		return DNNQ_E_INVAL;
	*out = NULL;
	int rc = resolve_opts(opts, &o);
	if (rc)
		return rc;
	struct dnnq_client *c = client_new(&o);
	if (!c)
		return DNNQ_E_NOMEM;
	uint32_t hb_ms = 0;
	char tried[256];
	int64_t deadline = client_now_ns() + (int64_t)o.timeout_ms * 1000000;
	rc = ctl_connect(path, deadline, &c->sock, tried, sizeof tried);
	if (rc)
		goto fail;
	rc = hello(c, &o, &hb_ms);
	if (rc == 0)
		rc = session_init(c, &o, hb_ms);
	if (rc) {
		session_failed(rc, tried, "session set-up");
		goto fail;
	}
	*out = c;
	return 0;
fail:
	client_free(c);
	return rc;
}

int dnnq_connect(const char *path, const struct dnnq_connect_opts *opts,
                 struct dnnq_client **out)
{
	return client_status(connect_call(path, opts, out), "dnnq_connect");
}

void dnnq_close(struct dnnq_client *c)
{
	if (c)
		client_free(c);
}

void dnnq_close_keep_mapping(struct dnnq_client *c, void **base, size_t *size)
{
	void *b = NULL;
	size_t n = 0;
	if (c && base && size && c->view.base) {
		b = c->view.base;
		n = c->map_size;
		/* Private zero pages over the shared ones in one call: the range is
		 * never unmapped, so no other mmap can land in it meanwhile. Should
		 * that fail, the shared mapping itself is handed over (the region
		 * is this session's own memfd, which no other session sees). */
		mmap(b, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
		     MAP_NORESERVE, -1, 0);
		c->view.base = NULL;	/* client_free leaves it mapped */
	}
	if (base)
		*base = b;
	if (size)
		*size = n;
	dnnq_close(c);
}

static int event_fd_call(struct dnnq_client *c)
{
	if (!c)
		return DNNQ_E_INVAL;
	if (client_is_dead(c))
		return DNNQ_E_DISCONNECTED;
	dnnq_shm_store_release32(&c->view.hdr->event_armed, 1);
	return c->event_fd;
}

int dnnq_event_fd(struct dnnq_client *c)
{
	return client_status(event_fd_call(c), "dnnq_event_fd");
}

static int stats_call(struct dnnq_client *c, struct dnnq_stats *out)
{
	static const struct ctl_spec spec = {
		DNNQ_MSG_STATS, DNNQ_MSG_STATS, sizeof(struct dnnq_msg_stats), true, false,
	};
	if (!c || !out)
		return DNNQ_E_INVAL;
	struct dnnq_msg_hdr req;
	struct dnnq_msg_stats rep;
	int rc = ctl_call(c, &spec, &req, sizeof req, &rep, NULL);
	if (rc == 0 && (!ctl_str_ok(rep.message, sizeof rep.message) ||
	                rep.scope > DNNQ_STATS_SCOPE_UID))
		rc = DNNQ_E_PROTO;
	if (rc)
		return rc;
	*out = (struct dnnq_stats){
		.uptime_ns = rep.uptime_ns, .requests = rep.requests, .failures = rep.failures,
		.bytes_copied = rep.bytes_copied, .session_requests = rep.session_requests,
		.session_failures = rep.session_failures, .sessions = rep.sessions,
		.models = rep.models, .workers = rep.workers, .pid = rep.pid,
		.scope = rep.scope,
	};
	ctl_text(out->status, rep.message, sizeof out->status);
	return 0;
}

int dnnq_stats(struct dnnq_client *c, struct dnnq_stats *out)
{
	return client_status(stats_call(c, out), "dnnq_stats");
}

_Static_assert(DNNQ_RELOAD_MAX_LISTED == DNNQ_PROTO_RELOAD_MAX, "reload list");
_Static_assert(DNNQ_RELOAD_REMOVED == 3 && DNNQ_RELOAD_ADDED == 1, "reload changes");

static int reload_call(struct dnnq_client *c, struct dnnq_reload_result *out, int timeout_ms)
{
	static const struct ctl_spec spec = {
		DNNQ_MSG_RELOAD, DNNQ_MSG_RELOAD, sizeof(struct dnnq_msg_reload), true, false,
	};
	if (!c || !out || timeout_ms < 0)
		return DNNQ_E_INVAL;
	struct dnnq_msg_hdr req;
	static _Thread_local struct dnnq_msg_reload rep;
	memset(&rep, 0, sizeof rep);
	int rc = ctl_call_by(c, &spec, &req, sizeof req, &rep, NULL,
	                     timeout_ms ? timeout_ms : c->timeout_ms);
	if (rep.hdr.magic != DNNQ_PROTO_MAGIC)
		return rc;      /* no answer */
	if (!ctl_str_ok(rep.message, sizeof rep.message) || rep.n_listed > DNNQ_PROTO_RELOAD_MAX)
		return DNNQ_E_PROTO;
	for (uint32_t i = 0; i < rep.n_listed; i++)
		if (!ctl_name_ok(rep.m[i].name, sizeof rep.m[i].name) ||
		    rep.m[i].change < DNNQ_RELOAD_ADDED || rep.m[i].change > DNNQ_RELOAD_REMOVED)
			return DNNQ_E_PROTO;
	*out = (struct dnnq_reload_result){
		.status = rc, .added = rep.added, .changed = rep.changed, .removed = rep.removed,
		.served = rep.served, .reloads = rep.reloads, .n_listed = rep.n_listed,
	};
	ctl_text(out->message, rep.message, sizeof out->message);
	for (uint32_t i = 0; i < rep.n_listed; i++) {
		memcpy(out->models[i].name, rep.m[i].name, sizeof out->models[i].name);
		out->models[i].change = rep.m[i].change;
		out->models[i].generation = rep.m[i].generation;
	}
	if (rc)
		return client_errorf(rc, "reload: %s", out->message);
	return 0;
}

int dnnq_reload(struct dnnq_client *c, struct dnnq_reload_result *out)
{
	return client_status(reload_call(c, out, 0), "dnnq_reload");
}

int dnnq_reload_wait(struct dnnq_client *c, struct dnnq_reload_result *out, int timeout_ms)
{
	return client_status(reload_call(c, out, timeout_ms), "dnnq_reload_wait");
}

_Static_assert(DNNQ_LATENCY_BUCKETS == DNNQ_PROTO_HIST_BUCKETS, "histogram");

static int model_stats_call(struct dnnq_client *c, uint32_t index, struct dnnq_model_stats *out)
{
	static const struct ctl_spec spec = {
		DNNQ_MSG_MODEL_STATS, DNNQ_MSG_MODEL_STATS, sizeof(struct dnnq_msg_model_stats),
		false, false,
	};
	if (!c || !out)
		return DNNQ_E_INVAL;
	struct dnnq_msg_open req = { .index = index };
	struct dnnq_msg_model_stats rep;
	int rc = ctl_call(c, &spec, &req, sizeof req, &rep, NULL);
	if (rc)
		return rc;
	if (!ctl_name_ok(rep.name, sizeof rep.name) || !ctl_models_ok(rep.n_models, index))
		return DNNQ_E_PROTO;
	*out = (struct dnnq_model_stats){
		.model_id = rep.model_id, .generation = rep.generation, .models = rep.n_models,
		.requests = rep.requests, .failures = rep.failures, .samples = rep.samples,
		.run_ns = rep.run_ns, .queued = rep.queued, .queue_ns = rep.queue_ns,
		.runs = rep.runs, .run_items = rep.run_items, .expired = rep.expired,
		.waiting = rep.waiting, .team_requests = rep.team_requests,
		.team_workers = rep.team_workers,
	};
	memcpy(out->name, rep.name, sizeof out->name);
	memcpy(out->latency, rep.hist, sizeof out->latency);
	memcpy(out->batches, rep.batches, sizeof out->batches);
	return 0;
}

/* dnnq_model_stats@@DNNQ_CLIENT_1.5: the struct with the batching and team
 * counts. */
int dnnq_model_stats_1_5(struct dnnq_client *c, uint32_t index, struct dnnq_model_stats *out);
int dnnq_model_stats_1_5(struct dnnq_client *c, uint32_t index, struct dnnq_model_stats *out)
{
	return client_status(model_stats_call(c, index, out), "dnnq_model_stats");
}
__asm__(".symver dnnq_model_stats_1_5, dnnq_model_stats@@DNNQ_CLIENT_1.5");

/* The older versions, for programs linked before: their struct is the head
 * of today's, `head` bytes, and only that much of it is written. */
static int model_stats_head(struct dnnq_client *c, uint32_t index, void *out, size_t head)
{
	struct dnnq_model_stats all;
	int rc = dnnq_model_stats_1_5(c, index, out ? &all : NULL);
	if (!rc)
		memcpy(out, &all, head);
	return rc;
}

/* dnnq_model_stats@DNNQ_CLIENT_1.4 (0.5): it ends before runs. */
int dnnq_model_stats_1_4(struct dnnq_client *c, uint32_t index, void *out);
int dnnq_model_stats_1_4(struct dnnq_client *c, uint32_t index, void *out)
{
	return model_stats_head(c, index, out, offsetof(struct dnnq_model_stats, runs));
}
__asm__(".symver dnnq_model_stats_1_4, dnnq_model_stats@DNNQ_CLIENT_1.4");

/* dnnq_model_stats@DNNQ_CLIENT_1.2 (before 0.5): it ends before queued. */
int dnnq_model_stats_1_2(struct dnnq_client *c, uint32_t index, void *out);
int dnnq_model_stats_1_2(struct dnnq_client *c, uint32_t index, void *out)
{
	return model_stats_head(c, index, out, offsetof(struct dnnq_model_stats, queued));
}
__asm__(".symver dnnq_model_stats_1_2, dnnq_model_stats@DNNQ_CLIENT_1.2");
