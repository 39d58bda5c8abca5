/*
 * The fake dnnqd of tests/fakedaemon.h. The control thread accepts one
 * session at a time and answers each message; between messages (every
 * 5 ms) it bumps the heartbeat. The worker thread pops the ring, copies and
 * validates the descriptor with the same shm/ functions dnnqd uses, runs
 * its toy model and completes the slot (and signals the completion socket
 * when the client armed it). Region teardown and the worker's request
 * both hold fd->lock, so a session can end while the worker runs.
 *
 * The malformed replies are built by taking the good one and breaking one
 * thing, so each fault tests exactly one check of the client. A session
 * under mutate_seed instead breaks one to three things of each reply at
 * random (send_reply), and some of the region header, of the statuses the
 * worker completes with and of the slots' state and waiters words.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "shm/dnnq_proto.h"
#include "tests/fakedaemon.h"

#define LOAD(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static void sleep_us(long us)
{
	nanosleep(&(struct timespec){ .tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000 },
	          NULL);
}

static int send_fds(int sock, const void *buf, size_t len, const int *fds, unsigned n)
{
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n) {
		mh.msg_control = cb.b;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* ---- seeded mutation ---------------------------------------------------- */

static const uint64_t edges[] = {
	0, 1, 2, 63, 64, 4096, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
	(uint64_t)1 << 40, INT64_MAX, UINT64_MAX, (uint64_t)-4096,
};

static uint64_t edge(struct rng *g)
{
	return edges[rng_int(g, 0, sizeof edges / sizeof edges[0] - 1)];
}

/* A value at an edge into the w-byte field at a random w-aligned offset. */
static void put_edge(struct rng *g, unsigned char *buf, size_t len, size_t w)
{
	if (len < w)
		return;
	uint64_t v = edge(g);
	memcpy(buf + (size_t)rng_int(g, 0, (int64_t)(len / w) - 1) * w, &v, w);
}

/* One mutation of a reply (len bytes of buf, room for cap) and its fds
 * (n of them, room for 4; `other` an fd of another kind). */
static void mutate_reply(struct rng *g, unsigned char *buf, size_t *len, size_t cap, int *fds,
                         unsigned *n, int other)
{
	struct dnnq_msg_hdr *h = (void *)buf;
	size_t i = *len ? (size_t)rng_int(g, 0, (int64_t)*len - 1) : 0;
	switch (rng_int(g, 0, 9)) {
	case 0:	 if (*len) buf[i] ^= (unsigned char)(1u << rng_int(g, 0, 7)); break;
	case 1:	 put_edge(g, buf, *len, 4); break;
	case 2:	 put_edge(g, buf, *len, 8); break;
	case 3:	 put_edge(g, buf, *len, 2); break;
	case 4:	 *len = i; break;
	case 5:	 if (*len < cap) *len += (size_t)rng_int(g, 1, (int64_t)(cap - *len)); break;
	case 6:	 if (*len >= sizeof *h) h->seq += (uint32_t)rng_int(g, -1, 1); break;
	case 7:	 if (*len >= sizeof *h) h->status = (int32_t)rng_int(g, -40, 3); break;
	case 8:	 /* a NUL-terminated name or message no more */
		if (*len > i)
			memset(buf + i, 'x', (size_t)rng_int(g, 1, (int64_t)(*len - i)));
		break;
	default: {	/* an fd of another kind or twice, one fewer, one more */
		int64_t what = rng_int(g, 0, 2);
		if (what == 0 && *n)
			fds[rng_int(g, 0, *n - 1)] = rng_int(g, 0, 1) ? other : fds[0];
		else if (what == 1 && *n)
			(*n)--;
		else if (*n < 4)
			fds[(*n)++] = other;
	}
	}
}

/* fd->conn gets msg (len bytes, n fds); in a session under mutate_seed,
 * one reply in three mutated (so that some sessions get far). */
static int send_reply(struct fake_daemon *fd, const void *msg, size_t len, const int *fds,
                      unsigned n)
{
	unsigned char buf[DNNQ_PROTO_MAX_MSG + 64];
	int f[4] = { -1, -1, -1, -1 };
	memcpy(buf, msg, len);
	if (n)
		memcpy(f, fds, n * sizeof *fds);
	memset(buf + len, 0xa5, sizeof buf - len);
	if (!fd->mut.s || rng_int(&fd->mut, 0, 2))
		return send_fds(fd->conn, buf, len, f, n);
	int other = eventfd(0, EFD_CLOEXEC);
	for (int64_t k = rng_int(&fd->mut, 1, 3); k > 0; k--)
		mutate_reply(&fd->mut, buf, &len, sizeof buf, f, &n, other);
	int rc = send_fds(fd->conn, buf, len, f, n);
	close(other);
	return rc;
}

static struct dnnq_msg_hdr reply_hdr(const struct dnnq_msg_hdr *req, uint16_t type, int status)
{
	return (struct dnnq_msg_hdr){
		.magic = DNNQ_PROTO_MAGIC, .version = DNNQ_PROTO_VERSION,
		.type = type, .seq = req->seq, .status = status,
	};
}

static int send_hdr(struct fake_daemon *fd, const struct dnnq_msg_hdr *req, uint16_t type,
                    int status)
{
	struct dnnq_msg_hdr h = reply_hdr(req, type, status);
	return send_reply(fd, &h, sizeof h, NULL, 0);
}

/* ---- the region -------------------------------------------------------- */

/* seals: 0 (none), or what F_SEAL_SEAL joins once the fake has mapped
 * the region (F_SEAL_FUTURE_WRITE would refuse its own mapping before) */
static int make_region(struct fake_daemon *fd, uint32_t slots, uint64_t arena, int seals)
{
	struct dnnq_shm_layout l;
	if (dnnq_shm_layout(slots, arena, &l))
		return -1;
	fd->memfd = memfd_create("dnnq-fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd->memfd < 0 || ftruncate(fd->memfd, (off_t)l.total_size) < 0)
		return -1;
	void *base = mmap(NULL, l.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd->memfd, 0);
	if (base == MAP_FAILED)
		return -1;
	if (seals && fcntl(fd->memfd, F_ADD_SEALS, seals | F_SEAL_SEAL) < 0) {
		munmap(base, l.total_size);
		return -1;
	}
	fd->base = base;
	fd->size = l.total_size;
	if (dnnq_shm_init(base, l.total_size, &l) ||
	    dnnq_shm_attach(base, l.total_size, &fd->view, NULL))
		return -1;
	return socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd->doorbell) ||
	       socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd->event)
	       ? -1 : 0;
}

static void end_session(struct fake_daemon *fd)
{
	pthread_mutex_lock(&fd->lock);
	STORE(&fd->ready, 0);
	if (fd->base)
		munmap(fd->base, fd->size);
	fd->base = NULL;
	int *fds[] = { &fd->memfd, &fd->doorbell[0], &fd->doorbell[1], &fd->event[0],
	               &fd->event[1], &fd->conn };
	for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	pthread_mutex_unlock(&fd->lock);
	__atomic_fetch_add(&fd->sessions_ended, 1, __ATOMIC_RELEASE);
}

/* ---- HELLO --------------------------------------------------------------- */

static void break_hello(struct dnnq_msg_hello_reply *r, int fault, size_t *len, unsigned *nfds)
{
	switch (fault) {
	case FAKE_HELLO_SHORT:      *len = 20; break;
	case FAKE_HELLO_LONG:       *len = sizeof *r + 1; break;
	case FAKE_HELLO_TYPE:       r->hdr.type = DNNQ_MSG_OPEN; break;
	case FAKE_HELLO_SEQ:        r->hdr.seq++; break;
	case FAKE_HELLO_MAGIC:      r->hdr.magic ^= 1; break;
	case FAKE_HELLO_VERSION:    r->hdr.version++; break;
	case FAKE_HELLO_NO_FDS:     *nfds = 0; break;
	case FAKE_HELLO_TWO_FDS:    *nfds = 2; break;
	case FAKE_HELLO_FOUR_FDS:   *nfds = 4; break;
	case FAKE_HELLO_BIG_REGION: r->region_size += 4096; break;
	case FAKE_HELLO_MESSAGE:    memset(r->message, 'x', sizeof r->message); break;
	case FAKE_HELLO_ABI:        r->abi_major++; break;
	case FAKE_HELLO_PERM:       r->hdr.status = DNNQ_E_PERM; break;
	case FAKE_HELLO_ESCAPE:     r->hdr.status = DNNQ_E_PERM;
	                            strcpy(r->message, "no\x1b[2J\n"); break;
	case FAKE_HELLO_HDR_ONLY:   r->hdr.status = DNNQ_E_BUSY; *len = sizeof r->hdr; break;
	}
}

/* A hugetlbfs memfd of at least size bytes, sealed against shrinking, so
 * that only its file system is wrong (not mapped: a host without huge
 * pages cannot); where there is no hugetlbfs, an unsealed one of tmpfs,
 * refused too. -1 when neither can be made. */
static int hugetlb_memfd(size_t size)
{
	off_t huge = 1 << 30;	/* a multiple of every huge page size */
	int m = memfd_create("dnnq-fake-huge", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB);
	if (m >= 0 && !ftruncate(m, ((off_t)size + huge - 1) / huge * huge) &&
	    !fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK))
		return m;
	if (m >= 0)
		close(m);
	m = memfd_create("dnnq-fake-unsealed", MFD_CLOEXEC);
	if (m >= 0 && ftruncate(m, (off_t)size)) {
		close(m);
		m = -1;
	}
	return m;
}

static int on_hello(struct fake_daemon *fd, const struct dnnq_msg_hello *h)
{
	int fault = LOAD(&fd->hello_fault);
	if (fault == FAKE_HELLO_HANGUP)
		return 1;
	if (fault == FAKE_HELLO_SILENT)
		return 0;
	fd->hello_slots = h->slots;
	fd->hello_arena = h->arena_bytes;
	uint32_t want = h->slots ? h->slots : 64;	/* 0: dnnqd's default */
	uint32_t slots = fault == FAKE_HELLO_SMALL ? want / 2 : want;
	int seals = fault == FAKE_HELLO_UNSEALED ? 0 : F_SEAL_SHRINK | F_SEAL_GROW;
	if (fault == FAKE_HELLO_WRITE_SEALED)
		seals |= F_SEAL_FUTURE_WRITE;
	if (make_region(fd, slots, h->arena_bytes, seals))
		return 1;
	if (fault == FAKE_HELLO_CORRUPT)
		((struct dnnq_shm_header *)fd->base)->magic ^= 1;
	/* after the worker's view attached: what the client attaches to */
	if (fd->mut.s && rng_int(&fd->mut, 0, 3) == 0)
		put_edge(&fd->mut, fd->base, sizeof(struct dnnq_shm_header),
		         rng_int(&fd->mut, 0, 1) ? 4 : 8);
	unsigned char buf[sizeof(struct dnnq_msg_hello_reply) + 1] = { 0 };
	struct dnnq_msg_hello_reply *r = (void *)buf;
	r->hdr = reply_hdr(&h->hdr, DNNQ_MSG_HELLO, 0);
	r->abi_major = DNNQ_SHM_ABI_MAJOR;
	r->abi_minor = DNNQ_SHM_ABI_MINOR;
	r->session_id = 42;
	r->region_size = fd->size;
	r->workers = 1;
	r->spin_us = 50;
	r->heartbeat_ms = 5;
	strcpy(r->message, "welcome");
	size_t len = sizeof *r;
	unsigned nfds = 3;
	break_hello(r, fault, &len, &nfds);
	int extra = eventfd(0, EFD_CLOEXEC), other[2] = { -1, -1 };
	int fds[4] = { fd->memfd, fd->doorbell[1], fd->event[1], extra };
	if (fault == FAKE_HELLO_PIPE_FDS && !pipe2(other, O_CLOEXEC))
		memcpy(&fds[1], other, sizeof other);
	if (fault == FAKE_HELLO_STREAM_FD &&
	    !socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, other))
		fds[2] = other[1];
	if (fault == FAKE_HELLO_HUGETLB && (other[0] = hugetlb_memfd(fd->size)) >= 0)
		fds[0] = other[0];
	int rc = fault == FAKE_HELLO_EMPTY_FD ? send_fds(fd->conn, "", 0, &extra, 1) : 0;
	rc = rc ? rc : send_reply(fd, buf, len, fds, nfds);
	close(extra);
	for (int i = 0; i < 2; i++)
		if (other[i] >= 0)
			close(other[i]);
	if (fault == FAKE_HELLO_OK || fault == FAKE_HELLO_EMPTY_FD)
		STORE(&fd->ready, 1);
	return rc ? 1 : 0;
}

/* ---- models ------------------------------------------------------------ */

static const char *const model_names[] = { "double", "quant", "stale" };
#define N_MODELS 3u

static void wire(struct dnnq_wire_tensor *t, const char *name, uint32_t dtype, uint32_t rank,
                 const int64_t *dims, float scale, int32_t zp)
{
	strcpy(t->name, name);
	t->dtype = dtype;
	t->rank = rank;
	memcpy(t->dims, dims, rank * sizeof *dims);
	t->scale = scale;
	t->zero_point = zp;
}

static void fill_model(unsigned i, struct dnnq_msg_model *r)
{
	static const int64_t d4[] = { 1, 4 }, d22[] = { 1, 2, 2 }, d3[] = { 1, 3 };
	static const uint32_t ids[] = { 7, 9, 11 }, gens[] = { 3, 1, 1 }, maxb[] = { 8, 4, 8 };
	r->model_id = ids[i];
	r->generation = gens[i];
	r->max_batch = maxb[i];
	r->n_inputs = r->n_outputs = 1;
	r->n_models = N_MODELS;
	strcpy(r->name, model_names[i]);
	if (i == 1) {
		wire(&r->t[0], "img", DNNQ_SHM_DTYPE_U8, 3, d22, 0.5f, 10);
		wire(&r->t[1], "probs", DNNQ_SHM_DTYPE_U8, 2, d3, 0.25f, 0);
	} else {
		wire(&r->t[0], "x", DNNQ_SHM_DTYPE_F32, 2, d4, 0, 0);
		wire(&r->t[1], "y", DNNQ_SHM_DTYPE_F32, 2, d4, 0, 0);
	}
}

static void break_model(struct dnnq_msg_model *r, int fault, size_t *len)
{
	switch (fault) {
	case FAKE_MODEL_NAME:      memset(r->t[1].name, 'n', sizeof r->t[1].name); break;
	case FAKE_MODEL_NO_INPUTS: r->n_inputs = 0; break;
	case FAKE_MODEL_TOO_MANY:  r->n_inputs = 15; r->n_outputs = 2; break;
	case FAKE_MODEL_DTYPE:     r->t[0].dtype = 9; break;   /* no such dtype */
	case FAKE_MODEL_RANK:      r->t[1].rank = 9; break;
	case FAKE_MODEL_BATCH_DIM: r->t[0].dims[0] = 2; break;
	case FAKE_MODEL_MAX_BATCH: r->max_batch = 0; break;
	case FAKE_MODEL_SCALE:     r->t[0].dtype = DNNQ_SHM_DTYPE_U8; r->t[0].scale = NAN; break;
	case FAKE_MODEL_SHORT:     *len = sizeof *r - 1; break;
	case FAKE_MODEL_HDR_ONLY:  *len = sizeof r->hdr; break;
	case FAKE_MODEL_SEQ:       r->hdr.seq++; break;
	case FAKE_MODEL_ESCAPE:    strcpy(r->t[1].name, "y\x1b[2J\n"); break;
	}
}

static int on_model(struct fake_daemon *fd, const struct dnnq_msg_open *o)
{
	unsigned i = 0;
	if (o->hdr.type == DNNQ_MSG_OPEN)
		while (i < N_MODELS && strncmp(o->name, model_names[i], sizeof o->name))
			i++;
	else
		i = LOAD(&fd->endless) ? o->index % N_MODELS : o->index;
	if (i >= N_MODELS)
		return send_hdr(fd, &o->hdr, DNNQ_MSG_MODEL, DNNQ_E_NOTFOUND);
	struct dnnq_msg_model r = { .hdr = reply_hdr(&o->hdr, DNNQ_MSG_MODEL, 0) };
	size_t len = sizeof r;
	fill_model(i, &r);
	if (o->hdr.type == DNNQ_MSG_INFO && LOAD(&fd->endless))
		r.n_models = o->index + LOAD(&fd->endless);
	break_model(&r, LOAD(&fd->model_fault), &len);
	int held = LOAD(&fd->model_hold);
	while (LOAD(&fd->model_hold) && !LOAD(&fd->stop))
		sleep_us(1000);
	int rc = send_reply(fd, &r, len, NULL, 0);
	if (held)
		STORE(&fd->late_sent, 1);
	return rc;
}

static int on_stats(struct fake_daemon *fd, const struct dnnq_msg_hdr *h)
{
	sleep_us(LOAD(&fd->stats_delay_ms) * 1000L);
	struct dnnq_msg_stats r = {
		.hdr = reply_hdr(h, DNNQ_MSG_STATS, 0), .uptime_ns = 1234567890,
		.requests = LOAD(&fd->served), .sessions = 1, .models = N_MODELS, .workers = 1,
		.pid = (uint32_t)getpid(),
	};
	strcpy(r.message, "serving 3 models");
	for (int k = LOAD(&fd->stats_copies); k > 0; k--)
		if (send_reply(fd, &r, sizeof r, NULL, 0))
			return 1;
	STORE(&fd->late_sent, 1);
	return send_reply(fd, &r, sizeof r, NULL, 0);
}

/* MODEL_STATS under endless: every index answered (as for INFO); under
 * model_stats_fail: model 0's (nothing counted), then a failure, as a
 * request failing half-way through `dnnqctl status`. Without either it is
 * refused, as by a daemon older than MODEL_STATS (on_message). */
static int on_model_stats(struct fake_daemon *fd, const struct dnnq_msg_open *o)
{
	uint32_t more = LOAD(&fd->endless);
	if (!more && o->index > 0)
		return send_hdr(fd, &o->hdr, DNNQ_MSG_MODEL_STATS, DNNQ_E_IO);
	struct dnnq_msg_model_stats r = {
		.hdr = reply_hdr(&o->hdr, DNNQ_MSG_MODEL_STATS, 0), .model_id = 7, .generation = 3,
		.n_models = N_MODELS,
	};
	if (more) {
		r.model_id = o->index;
		r.generation = 1;
		r.n_models = o->index + more;
		r.requests = r.runs = r.run_items = 1;
	}
	strcpy(r.name, model_names[o->index % N_MODELS]);
	return send_reply(fd, &r, sizeof r, NULL, 0);
}

/* One message; nonzero ends the session. */
static int on_message(struct fake_daemon *fd, const void *msg, size_t len)
{
	const struct dnnq_msg_hdr *h = msg;
	if (len < sizeof *h || h->magic != DNNQ_PROTO_MAGIC)
		return 1;
	switch (h->type) {
	case DNNQ_MSG_HELLO:
		return len == sizeof(struct dnnq_msg_hello) ? on_hello(fd, msg) : 1;
	case DNNQ_MSG_OPEN:
	case DNNQ_MSG_INFO:
		return len == sizeof(struct dnnq_msg_open) ? on_model(fd, msg) : 1;
	case DNNQ_MSG_CLOSE:
		return len == sizeof(struct dnnq_msg_close) ? send_hdr(fd, h, DNNQ_MSG_CLOSE, 0) : 1;
	case DNNQ_MSG_STATS:
		return len == sizeof *h ? on_stats(fd, h) : 1;
	case DNNQ_MSG_MODEL_STATS:
		if (LOAD(&fd->model_stats_fail) || LOAD(&fd->endless))
			return len == sizeof(struct dnnq_msg_open) ? on_model_stats(fd, msg) : 1;
		break;
	}
	return send_hdr(fd, h, h->type, DNNQ_E_PROTO);
}

static void serve_session(struct fake_daemon *fd)
{
	union {
		struct dnnq_msg_hdr h;
		char raw[DNNQ_PROTO_MAX_MSG];
	} m;
	while (!LOAD(&fd->stop) && !LOAD(&fd->killed)) {
		if (LOAD(&fd->beat) && LOAD(&fd->ready))
			dnnq_shm_heartbeat(&fd->view);
		struct pollfd p = { .fd = fd->conn, .events = POLLIN };
		if (poll(&p, 1, 5) <= 0)
			continue;
		ssize_t len = recv(fd->conn, &m, sizeof m, MSG_DONTWAIT);
		if (len == 0 || (len < 0 && errno != EAGAIN))
			return;
		if (len > 0 && on_message(fd, &m, (size_t)len))
			return;
	}
}

static void *ctl_main(void *arg)
{
	struct fake_daemon *fd = arg;
	while (!LOAD(&fd->stop)) {
		struct pollfd p = { .fd = fd->listen_fd, .events = POLLIN };
		if (poll(&p, 1, 5) <= 0)
			continue;
		int conn = accept4(fd->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		pthread_mutex_lock(&fd->lock);
		fd->conn = conn;
		uint64_t seed = LOAD(&fd->mutate_seed);
		fd->mut.s = seed;
		fd->wmut.s = seed ? seed ^ 0x5555555555555555ull : 0;
		pthread_mutex_unlock(&fd->lock);
		serve_session(fd);
		end_session(fd);
	}
	return NULL;
}

/* ---- the worker --------------------------------------------------------- */

static int compute(const struct fake_daemon *fd, const struct dnnq_shm_request *r)
{
	const struct dnnq_shm_tensor *in = &r->t[0], *out = &r->t[1];
	uint8_t *arena = fd->view.arena;
	if (r->n_inputs != 1 || r->n_outputs != 1)
		return DNNQ_E_SHAPE;
	if (r->model_id == 11)
		return DNNQ_E_MODEL_CHANGED;
	if (r->model_id == 7) {
		if (in->dtype != DNNQ_SHM_DTYPE_F32 || out->dtype != in->dtype || out->bytes != in->bytes)
			return DNNQ_E_DTYPE;
		const float *x = (const float *)(arena + in->offset);
		float *y = (float *)(arena + out->offset);
		for (uint64_t i = 0; i < in->bytes / 4; i++)
			y[i] = 2 * x[i];
		return 0;
	}
	if (r->model_id == 9) {
		if (out->dtype != DNNQ_SHM_DTYPE_U8 || out->bytes != (uint64_t)r->batch * 3)
			return DNNQ_E_DTYPE;
		for (uint32_t n = 0; n < r->batch; n++)
			memcpy(arena + out->offset + 3 * n, (uint8_t[]){ 0, 200, 0 }, 3);
		return 0;
	}
	return DNNQ_E_NOTFOUND;
}

static void run(struct fake_daemon *fd, uint32_t idx)
{
	struct dnnq_shm_request r;
	if (dnnq_shm_slot_transition(&fd->view, idx, DNNQ_SLOT_SUBMITTED, DNNQ_SLOT_RUNNING))
		return;
	int rc = dnnq_shm_desc_copy_validate(&fd->view, idx, &r, NULL);
	if (rc == 0) {
		fd->last = r;
		rc = compute(fd, &r);
	}
	/* counted before the completion: a client that has seen it and then
	 * reads `served` finds it counted */
	__atomic_fetch_add(&fd->served, 1, __ATOMIC_RELEASE);
	if (fd->wmut.s && rng_int(&fd->wmut, 0, 3) == 0)
		rc = (int)edge(&fd->wmut);
	dnnq_shm_slot_complete(&fd->view, idx, rc);
	if (fd->wmut.s && rng_int(&fd->wmut, 0, 7) == 0) {	/* a slot's state or waiters */
		struct rng *g = &fd->wmut;
		struct dnnq_shm_slot *s = &fd->view.slots[rng_int(g, 0, fd->view.slot_count - 1)];
		uint32_t v = rng_int(g, 0, 1) ? (uint32_t)rng_int(g, 0, 5) : (uint32_t)edge(g);
		STORE(rng_int(g, 0, 1) ? &s->state : &s->waiters, v);
	}
	char one = 1;
	int fl = fcntl(fd->event[1], F_GETFL);
	if (LOAD(&fd->blocking) && fl >= 0)
		fcntl(fd->event[1], F_SETFL, fl & ~O_NONBLOCK);
	if (dnnq_shm_event_armed(&fd->view) && write(fd->event[0], &one, sizeof one) < 0)
		return;
}

static int serve_one(struct fake_daemon *fd)
{
	int did = 0;
	pthread_mutex_lock(&fd->lock);
	if (LOAD(&fd->ready) && !LOAD(&fd->paused) && !LOAD(&fd->killed)) {
		char n[64];
		if (read(fd->doorbell[0], n, sizeof n) > 0)
			__atomic_fetch_add(&fd->doorbells, 1, __ATOMIC_RELEASE);
		/* a queue full of completion bytes, kept full */
		for (int i = 0; LOAD(&fd->flood) && i < 1024 &&
		     send(fd->event[0], "", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1; i++)
			continue;
		uint32_t idx;
		if (dnnq_shm_ring_pop(&fd->view, &idx) == 0) {
			run(fd, idx);
			did = 1;
		}
	}
	pthread_mutex_unlock(&fd->lock);
	return did;
}

static void *worker_main(void *arg)
{
	struct fake_daemon *fd = arg;
	while (!LOAD(&fd->stop))
		if (!serve_one(fd))
			sleep_us(20);
	return NULL;
}

/* ---- life cycle ---------------------------------------------------------- */

int fake_daemon_start(struct fake_daemon *fd)
{
	return fake_daemon_start_in(fd, "/tmp");
}

int fake_daemon_start_in(struct fake_daemon *fd, const char *base)
{
	memset(fd, 0, sizeof *fd);
	fd->conn = fd->memfd = fd->listen_fd = -1;
	fd->doorbell[0] = fd->doorbell[1] = fd->event[0] = fd->event[1] = -1;
	fd->beat = 1;
	pthread_mutex_init(&fd->lock, NULL);
	int n = snprintf(fd->dir, sizeof fd->dir, "%s/dnnq-client-XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof fd->dir || !mkdtemp(fd->dir))
		return -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	n = snprintf(fd->path, sizeof fd->path, "%s/dnnqd.sock", fd->dir);
	if ((size_t)n >= sizeof sa.sun_path) {
		rmdir(fd->dir);
		return -1;
	}
	strcpy(sa.sun_path, fd->path);
	fd->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd->listen_fd < 0 || bind(fd->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(fd->listen_fd, 8) < 0)
		return -1;
	if (pthread_create(&fd->ctl, NULL, ctl_main, fd))
		return -1;
	return pthread_create(&fd->worker, NULL, worker_main, fd) ? -1 : 0;
}

void fake_daemon_kill(struct fake_daemon *fd)
{
	STORE(&fd->killed, 1);
	pthread_mutex_lock(&fd->lock);
	if (fd->conn >= 0)
		shutdown(fd->conn, SHUT_RDWR);
	pthread_mutex_unlock(&fd->lock);
}

void fake_daemon_stop(struct fake_daemon *fd)
{
	STORE(&fd->stop, 1);
	pthread_join(fd->ctl, NULL);
	pthread_join(fd->worker, NULL);
	close(fd->listen_fd);
	unlink(fd->path);
	rmdir(fd->dir);
	pthread_mutex_destroy(&fd->lock);
}

int fake_daemon_wait_ended(struct fake_daemon *fd, uint64_t n)
{
	for (int i = 0; i < 2000; i++) {
		if (LOAD(&fd->sessions_ended) >= n)
			return 0;
		sleep_us(1000);
	}
	return -1;
}
