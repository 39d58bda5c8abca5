/*
 * Hostile clients against a real dnnqd (suite hostile, issue 9).
 *
 * Each test starts dnnqd (tools/serve-fixture.h) on a temporary socket,
 * keeps an honest client (client/dnnq.h) whose every answer must equal the
 * in-process engine's, and lets an offender loose: a raw protocol client
 * in this file that speaks shm/dnnq_proto.h itself (HELLO, the fds by
 * SCM_RIGHTS, mmap, dnnq_shm_attach) and then writes whatever it likes
 * into its region and onto its socket. The offender gets an error or is
 * disconnected; the honest client keeps being served during and after
 * the attack; once the offender is gone dnnqd's open fds are back to
 * their count and its RSS within RSS_MARGIN_KB of its level; SIGTERM
 * still ends dnnqd with status 0 (under ASan, an empty leak report).
 *
 * Each attack prints one line, `hostile: ATTACK: N tries: OUTCOME`, for
 * docs/reliability.md (and one `hostile: ATTACK: dnnqd after: ...` line
 * with the fd and RSS levels). Nothing here asserts a speed.
 *
 * Tests: descriptors (every field out of range, overlaps, dtypes, shapes,
 * batch), the ring (indices that are not slots, scribbled head, tail and
 * cell seqs), data and slots rewritten while a worker copies and runs
 * them, completions never collected, --max-inflight and --max-clients,
 * O_NONBLOCK cleared on the passed eventfds, a uid that is not allowed
 * (as root only), malformed control messages and a peer that never reads.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "shm/dnnq_proto.h"
#include "shm/dnnq_shm.h"
#include "tests/rng.h"
#include "tests/suites.h"
#include "tools/serve-fixture.h"

#define TIMEOUT_MS   20000     /* an honest request that takes this long has hung */
#define RAW_WAIT_MS  2000      /* an offender's request not answered by then: dropped */
#define RSS_MARGIN_KB (16 * 1024)  /* allocator slack, ASan quarantine */
#define RAW_SLOTS    8
#define RAW_ARENA    (1u << 20)

/* ---- the daemon ---------------------------------------------------------- */

static void dump_log(const struct fixture_daemon *d)
{
	char buf[4096];
	fixture_daemon_log(d, buf, sizeof buf);
	fprintf(stderr, "---- %s (end) ----\n%s---- end of log ----\n", d->log, buf);
}

static void start(struct fixture_daemon *d, const char *const *extra)
{
	struct dnnq_diag diag = { "" };
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	ck_assert_msg(bin, "no dnnqd: set DNNQ_DNNQD to the binary (make check does)");
	int rc = fixture_daemon_start(d, bin, FIXTURE_ALL_MODELS, extra, &diag);
	if (rc)
		dump_log(d);
	ck_assert_msg(rc == 0, "%s", diag.msg);
}

static void stop(struct fixture_daemon *d)
{
	struct dnnq_diag diag = { "" };
	int rc = fixture_daemon_stop(d, &diag);
	if (rc)
		dump_log(d);
	fixture_daemon_destroy(d);
	ck_assert_msg(rc == 0, "%s", diag.msg);
}

/* The daemon is alive (not exited, not a zombie). */
static void assert_alive(const struct fixture_daemon *d)
{
	int st = fixture_wait(d->pid, 0);
	if (st != -1)
		dump_log(d);
	ck_assert_msg(st == -1, "dnnqd ended (wait status 0x%x)", st);
}

static int count_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	ck_assert_msg(dir, "%s: %s", path, strerror(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	ck_assert_msg(kb >= 0, "%s: no VmRSS", path);
	return kb;
}

struct level {
	int fds;
	long rss_kb;
};

/* Taken once the count has settled: a session closed just before (the
 * fixture's start-up probe) is freed on a later tick, after its grace
 * period. */
static struct level level_of(const struct fixture_daemon *d)
{
	int fds = count_fds(d->pid);
	for (int same = 0, i = 0; same < 10 && i < 500; i++) {
		fixture_sleep_ms(20);
		int now = count_fds(d->pid);
		same = now == fds ? same + 1 : 0;
		fds = now;
	}
	return (struct level){ fds, rss_kb(d->pid) };
}

/* After the offender is gone: the fds back to the count (retired sessions
 * are freed on a later tick, so wait for it), RSS within the margin. */
static void assert_level(const struct fixture_daemon *d, struct level was, const char *attack)
{
	int fds = count_fds(d->pid);
	for (int i = 0; i < 1000 && fds != was.fds; i++) {
		fixture_sleep_ms(10);
		fds = count_fds(d->pid);
	}
	long rss = rss_kb(d->pid);
	printf("hostile: %s: dnnqd after: %d fds (before %d), VmRSS %ld kB (before %ld kB,"
	       " margin %d kB)\n", attack, fds, was.fds, rss, was.rss_kb, RSS_MARGIN_KB);
	ck_assert_msg(fds == was.fds, "%s: dnnqd has %d fds open, %d before", attack, fds,
	              was.fds);
	ck_assert_msg(rss <= was.rss_kb + RSS_MARGIN_KB, "%s: dnnqd VmRSS %ld kB, %ld kB before",
	              attack, rss, was.rss_kb);
}

/* utime + stime of pid, in clock ticks. */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	long ut = 0, st = 0;
	/* after the comm: state, then fields 4..13, then utime stime */
	ck_assert(p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
	                      &ut, &st) == 2);
	return ut + st;
}

static void report(const char *attack, unsigned tries, const char *outcome)
{
	printf("hostile: %s: %u tries: %s\n", attack, tries, outcome);
	fflush(stdout);
}

/* ---- the honest client ----------------------------------------------------- */

/* relu64 and fc1024 through the library, each result against the engine. */
struct honest {
	struct dnnq_client *c;
	struct dnnq_model *m[2];
	struct fixture_ref *ref[2];
	struct dnnq_tensor in[2], out[2];
	void *want[2];
	uint64_t seed;
	unsigned served;
};

static const enum fixture_model honest_models[2] = { FIXTURE_RELU64, FIXTURE_FC1024 };

static int honest_open(struct honest *h, const char *socket)
{
	struct dnnq_connect_opts o = { .slots = 4, .arena_bytes = 1u << 20 };
	memset(h, 0, sizeof *h);
	h->seed = 0x9e3779b97f4a7c15ull;
	int rc = dnnq_connect(socket, &o, &h->c);
	for (int k = 0; !rc && k < 2; k++) {
		if (!(rc = dnnq_model_open(h->c, fixture_model_name(honest_models[k]), &h->m[k])))
			rc = fixture_ref_create(honest_models[k], &h->ref[k], NULL);
		if (!rc)
			rc = dnnq_tensor_alloc_io(h->m[k], DNNQ_INPUT, 0, 1, &h->in[k]);
		if (!rc)
			rc = dnnq_tensor_alloc_io(h->m[k], DNNQ_OUTPUT, 0, 1, &h->out[k]);
		if (!rc && !(h->want[k] = malloc(h->out[k].bytes)))
			rc = DNNQ_E_NOMEM;
	}
	return rc;
}

static void honest_close(struct honest *h)
{
	for (int k = 0; k < 2; k++) {
		free(h->want[k]);
		fixture_ref_destroy(h->ref[k]);
		if (h->in[k].data)
			dnnq_tensor_free(h->c, &h->in[k]);
		if (h->out[k].data)
			dnnq_tensor_free(h->c, &h->out[k]);
		if (h->m[k])
			dnnq_model_close(h->m[k]);
	}
	dnnq_close(h->c);
	memset(h, 0, sizeof *h);
}

/* One request of each model; 0, or a DNNQ_E_* / -1 (wrong answer) and why. */
static int honest_round(struct honest *h, char *why, size_t len)
{
	for (int k = 0; k < 2; k++) {
		struct rng r = { (h->seed += 0x632be59bd9b4e019ull) | 1 };
		for (size_t i = 0; i < h->in[k].bytes; i++)
			((uint8_t *)h->in[k].data)[i] = (uint8_t)rng_next(&r);
		const void *ins[1] = { h->in[k].data };
		void *outs[1] = { h->want[k] };
		int rc = fixture_ref_run(h->ref[k], 1, ins, outs);
		if (rc) {
			snprintf(why, len, "reference: %s", dnnq_strerror(rc));
			return rc;
		}
		memset(h->out[k].data, 0xa5, h->out[k].bytes);
		const struct dnnq_tensor *ti[1] = { &h->in[k] };
		struct dnnq_tensor *to[1] = { &h->out[k] };
		if ((rc = dnnq_infer(h->m[k], ti, to, TIMEOUT_MS))) {
			snprintf(why, len, "honest %s: dnnq_infer: %s",
			         fixture_model_name(honest_models[k]), dnnq_strerror(rc));
			return rc;
		}
		if (memcmp(h->out[k].data, h->want[k], h->out[k].bytes)) {
			snprintf(why, len, "honest %s: the result differs from the engine's",
			         fixture_model_name(honest_models[k]));
			return -1;
		}
		h->served++;
	}
	return 0;
}

static void assert_honest(struct honest *h)
{
	char why[256] = "";
	int rc = honest_round(h, why, sizeof why);
	ck_assert_msg(rc == 0, "%s", why);
}

static void assert_honest_open(struct honest *h, const struct fixture_daemon *d)
{
	int rc = honest_open(h, d->socket);
	ck_assert_msg(rc == 0, "honest client on %s: %s", d->socket, dnnq_strerror(rc));
	assert_honest(h);
}

/* ---- the raw client: the protocol and the region by hand ------------------- */

struct raw {
	int fd;
	int fds[DNNQ_PROTO_NFDS];   /* region, doorbell, completion */
	void *base;
	size_t size;
	struct dnnq_shm v;
	uint32_t seq;
	struct dnnq_msg_model model;  /* relu64's OPEN reply */
};

static int raw_socket(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	ck_assert_msg(!connect(fd, (struct sockaddr *)&a, sizeof a), "connect %s: %s", path,
	              strerror(errno));
	return fd;
}

static void raw_hdr(struct raw *r, struct dnnq_msg_hdr *h, uint16_t type)
{
	h->magic = DNNQ_PROTO_MAGIC;
	h->version = DNNQ_PROTO_VERSION;
	h->type = type;
	h->seq = ++r->seq;
	h->status = 0;
}

/* Up to len bytes of the next reply with a 5 s timeout, and any fds
 * (fds may be NULL: they are closed). Bytes, 0 on hang-up, -1 on timeout. */
static ssize_t raw_recv(int fd, void *buf, size_t len, int *fds, unsigned *nfds)
{
	struct pollfd p = { fd, POLLIN, 0 };
	if (poll(&p, 1, 5000) != 1)
		return -1;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
	                     .msg_controllen = sizeof ctl.buf };
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	unsigned got = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *p = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < k; i++) {
			if (fds && got < DNNQ_PROTO_NFDS)
				fds[got++] = p[i];
			else
				close(p[i]);
		}
	}
	if (nfds)
		*nfds = got;
	return n < 0 ? 0 : n;
}

/* HELLO with a small region; 0 or the reply's status. */
static int raw_hello(struct raw *r, const char *socket, uint32_t slots)
{
	memset(r, 0, sizeof *r);
	r->fd = raw_socket(socket);
	struct dnnq_msg_hello m = { .abi_major = DNNQ_SHM_ABI_MAJOR, .abi_minor = DNNQ_SHM_ABI_MINOR,
	                            .slots = slots, .arena_bytes = RAW_ARENA };
	raw_hdr(r, &m.hdr, DNNQ_MSG_HELLO);
	ck_assert_int_eq(send(r->fd, &m, sizeof m, MSG_NOSIGNAL), (ssize_t)sizeof m);
	struct dnnq_msg_hello_reply hr;
	unsigned nfds = 0;
	ssize_t n = raw_recv(r->fd, &hr, sizeof hr, r->fds, &nfds);
	ck_assert_msg(n == (ssize_t)sizeof hr, "HELLO reply: %zd bytes", n);
	if (hr.hdr.status) {
		for (unsigned i = 0; i < nfds; i++)
			close(r->fds[i]);
		memset(r->fds, 0, sizeof r->fds);
		return hr.hdr.status;
	}
	ck_assert_uint_eq(nfds, DNNQ_PROTO_NFDS);
	r->size = hr.region_size;
	r->base = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fds[0], 0);
	ck_assert_msg(r->base != MAP_FAILED, "mmap: %s", strerror(errno));
	struct dnnq_diag diag = { "" };
	ck_assert_msg(!dnnq_shm_attach(r->base, r->size, &r->v, &diag), "attach: %s", diag.msg);
	/* OPEN relu64: the model a descriptor names */
	struct dnnq_msg_open o = { 0 };
	raw_hdr(r, &o.hdr, DNNQ_MSG_OPEN);
	snprintf(o.name, sizeof o.name, "%s", fixture_model_name(FIXTURE_RELU64));
	ck_assert_int_eq(send(r->fd, &o, sizeof o, MSG_NOSIGNAL), (ssize_t)sizeof o);
	n = raw_recv(r->fd, &r->model, sizeof r->model, NULL, NULL);
	ck_assert_msg(n == (ssize_t)sizeof r->model && r->model.hdr.status == 0,
	              "OPEN reply: %zd bytes, status %d", n, r->model.hdr.status);
	return 0;
}

static void raw_close(struct raw *r)
{
	if (r->base && r->base != MAP_FAILED)
		munmap(r->base, r->size);
	for (unsigned i = 0; i < DNNQ_PROTO_NFDS; i++)
		if (r->fds[i] > 0)
			close(r->fds[i]);
	if (r->fd > 0)
		close(r->fd);
	memset(r, 0, sizeof *r);
}

/* A correct relu64 request at batch 1: x at arena 0, y at 4096. */
static struct dnnq_shm_request raw_good(const struct raw *r)
{
	struct dnnq_shm_request q = { .model_id = r->model.model_id,
	                              .model_gen = r->model.generation, .batch = 1,
	                              .n_inputs = 1, .n_outputs = 1 };
	for (int k = 0; k < 2; k++) {
		q.t[k].offset = 4096u * (unsigned)k;
		q.t[k].bytes = 64;
		q.t[k].dtype = DNNQ_SHM_DTYPE_U8;
		q.t[k].rank = 2;
		q.t[k].dims[0] = 1;
		q.t[k].dims[1] = 64;
	}
	return q;
}

/* Writes q into `slot`, submits it and waits: the final state's status, or
 * INT32_MIN when it was not answered within wait_ms. */
static int raw_submit_wait(struct raw *r, uint32_t slot, const struct dnnq_shm_request *q,
                           int wait_ms)
{
	struct dnnq_shm_slot *s = &r->v.slots[slot];
	uint32_t st = dnnq_shm_slot_state(&r->v, slot);
	if (st == DNNQ_SLOT_DONE || st == DNNQ_SLOT_FAILED)
		dnnq_shm_slot_transition(&r->v, slot, st, DNNQ_SLOT_FREE);
	if (dnnq_shm_slot_state(&r->v, slot) != DNNQ_SLOT_FREE)
		return INT32_MIN;
	memcpy(&s->req, q, sizeof *q);
	/* fails only when a scribbler of this test moved the state */
	if (dnnq_shm_slot_transition(&r->v, slot, DNNQ_SLOT_FREE, DNNQ_SLOT_SUBMITTED))
		return INT32_MIN;
	if (dnnq_shm_ring_push(&r->v, slot))
		return INT32_MIN;
	dnnq_shm_doorbell_ring(&r->v, r->fds[1]);
	for (int i = 0; i < wait_ms; i++) {
		st = dnnq_shm_slot_state(&r->v, slot);
		if (st == DNNQ_SLOT_DONE || st == DNNQ_SLOT_FAILED)
			return __atomic_load_n(&s->status, __ATOMIC_ACQUIRE);
		fixture_sleep_ms(1);
	}
	return INT32_MIN;
}

static int raw_submit_slot(struct raw *r, uint32_t slot, const struct dnnq_shm_request *q)
{
	return raw_submit_wait(r, slot, q, RAW_WAIT_MS);
}

static int raw_submit(struct raw *r, const struct dnnq_shm_request *q)
{
	return raw_submit_slot(r, 0, q);
}

/* The raw client's own correct request still works (and the answer is
 * ReLU's: y = max(x, zero point) in the quantized domain, checked against
 * the engine through fixture_ref). */
static void assert_raw_good(struct raw *r, struct fixture_ref *ref)
{
	struct dnnq_shm_request q = raw_good(r);
	uint8_t *x = r->v.arena, *y = r->v.arena + 4096, want[64];
	for (int i = 0; i < 64; i++)
		x[i] = (uint8_t)(i * 37 + 11);
	const void *ins[1] = { x };
	void *outs[1] = { want };
	ck_assert_int_eq(fixture_ref_run(ref, 1, ins, outs), 0);
	memset(y, 0xa5, 64);
	int rc = raw_submit(r, &q);
	ck_assert_msg(rc == 0, "the raw client's correct request: %d (%s)", rc,
	              rc == INT32_MIN ? "no answer" : dnnq_strerror(rc));
	ck_assert_msg(!memcmp(y, want, 64), "the raw client's result differs from the engine's");
}

/* ---- descriptors ----------------------------------------------------------- */

enum bad_desc {
	BAD_OFFSET_PAST_ARENA, BAD_OFFSET_MISALIGNED, BAD_OFFSET_WRAPS, BAD_BYTES_PAST_ARENA,
	BAD_BYTES_SHORT, BAD_BYTES_HUGE, BAD_OUTPUT_OVERLAPS_INPUT, BAD_OUTPUT_INSIDE_INPUT,
	BAD_DTYPE_S32, BAD_DTYPE_UNKNOWN, BAD_RANK, BAD_RANK_HUGE, BAD_DIM, BAD_DIM_NEGATIVE,
	BAD_DIM0_NOT_BATCH, BAD_BATCH_OVER_MAX, BAD_BATCH_OVER_ABI, BAD_BATCH_ZERO,
	BAD_NO_INPUTS, BAD_NO_OUTPUTS, BAD_TOO_MANY_TENSORS, BAD_COUNTS, BAD_MODEL_ID,
	BAD_MODEL_GEN_OLD, BAD_MODEL_GEN_FUTURE, BAD_NDESC
};

static void bad_desc(const struct raw *r, enum bad_desc b, struct dnnq_shm_request *q)
{
	uint64_t arena = r->v.arena_size;
	*q = raw_good(r);
	switch (b) {
	case BAD_OFFSET_PAST_ARENA:     q->t[0].offset = arena; break;
	case BAD_OFFSET_MISALIGNED:     q->t[0].offset = 8; break;
	case BAD_OFFSET_WRAPS:          q->t[1].offset = UINT64_MAX - 63; break;
	case BAD_BYTES_PAST_ARENA:      q->t[1].offset = arena - 64; q->t[1].bytes = 128; break;
	case BAD_BYTES_SHORT:           q->t[0].bytes = 63; break;
	case BAD_BYTES_HUGE:            q->t[0].bytes = UINT64_MAX; break;
	case BAD_OUTPUT_OVERLAPS_INPUT: q->t[1].offset = 0; break;
	case BAD_OUTPUT_INSIDE_INPUT:
		q->t[0].dims[0] = 2; q->t[0].bytes = 128; q->batch = 2;
		q->t[1].dims[0] = 2; q->t[1].bytes = 128; q->t[1].offset = 64;
		break;
	case BAD_DTYPE_S32:             q->t[0].dtype = DNNQ_SHM_DTYPE_S32; q->t[0].bytes = 256; break;
	case BAD_DTYPE_UNKNOWN:         q->t[1].dtype = 99; break;
	case BAD_RANK:                  q->t[0].rank = 3; q->t[0].dims[2] = 1; break;
	case BAD_RANK_HUGE:             q->t[0].rank = 9; break;
	case BAD_DIM:                   q->t[0].dims[1] = 32; q->t[0].bytes = 32; break;
	case BAD_DIM_NEGATIVE:          q->t[0].dims[0] = -1; q->t[0].dims[1] = -64; break;
	case BAD_DIM0_NOT_BATCH:        q->t[1].dims[0] = 2; q->t[1].bytes = 128; break;
	case BAD_BATCH_OVER_MAX:
	case BAD_BATCH_OVER_ABI: {
		uint32_t nb = b == BAD_BATCH_OVER_MAX ? r->model.max_batch + 1
		                                      : DNNQ_SHM_MAX_BATCH + 1;
		q->batch = nb;
		for (int k = 0; k < 2; k++) {
			q->t[k].dims[0] = nb;
			q->t[k].bytes = 64ull * nb;
		}
		/* the output after the input when both fit, else past the arena */
		q->t[1].offset = 64ull * nb <= arena / 2 ? arena / 2 : 4096;
		break;
	}
	case BAD_BATCH_ZERO:            q->batch = 0; q->t[0].dims[0] = q->t[1].dims[0] = 0;
	                                q->t[0].bytes = q->t[1].bytes = 0; break;
	case BAD_NO_INPUTS:             q->n_inputs = 0; break;
	case BAD_NO_OUTPUTS:            q->n_outputs = 0; break;
	case BAD_TOO_MANY_TENSORS:      q->n_inputs = 9; q->n_outputs = 8; break;
	case BAD_COUNTS:                q->n_inputs = 2; break;
	case BAD_MODEL_ID:              q->model_id = 1000; break;
	case BAD_MODEL_GEN_OLD:         q->model_gen = 0; break;
	case BAD_MODEL_GEN_FUTURE:      q->model_gen = r->model.generation + 1; break;
	case BAD_NDESC:                 break;
	}
}

/* A request for the model of an OPEN reply, from its signature, at
 * batch 1: every tensor in its own 64 KiB of the arena. */
static struct dnnq_shm_request from_signature(const struct dnnq_msg_model *m)
{
	struct dnnq_shm_request q = { .model_id = m->model_id, .model_gen = m->generation,
	                              .batch = 1, .n_inputs = m->n_inputs,
	                              .n_outputs = m->n_outputs };
	for (uint32_t i = 0; i < m->n_inputs + m->n_outputs; i++) {
		const struct dnnq_wire_tensor *w = &m->t[i];
		struct dnnq_shm_tensor *t = &q.t[i];
		t->offset = 65536ull * i;
		t->dtype = w->dtype;
		t->rank = w->rank;
		uint64_t n = dnnq_shm_dtype_size(w->dtype);
		for (uint32_t k = 0; k < w->rank; k++)
			n *= (uint64_t)(t->dims[k] = k ? w->dims[k] : 1);
		t->bytes = n;
	}
	return q;
}

static void raw_open(struct raw *r, const char *name, struct dnnq_msg_model *out);

/* multi: two outputs, so outputs can overlap each other. */
static unsigned multi_overlaps(struct raw *r, struct honest *h)
{
	struct dnnq_msg_model mm;
	raw_open(r, fixture_model_name(FIXTURE_MULTI), &mm);
	ck_assert_uint_eq(mm.n_inputs + mm.n_outputs, 4);
	struct dnnq_shm_request good = from_signature(&mm), q;
	ck_assert_int_eq(raw_submit(r, &good), 0);
	unsigned tries = 0;
	for (int round = 0; round < 4; round++) {
		q = good;                       /* output 1 inside output 0 */
		q.t[3].offset = q.t[2].offset;
		ck_assert_int_eq(raw_submit(r, &q), DNNQ_E_INVAL);
		q = good;                       /* output 0 over input 1 */
		q.t[2].offset = q.t[1].offset;
		ck_assert_int_eq(raw_submit(r, &q), DNNQ_E_INVAL);
		q = good;                       /* the F32 output given as U8 */
		q.t[3].dtype = DNNQ_SHM_DTYPE_U8;
		q.t[3].bytes /= 4;
		ck_assert_int_lt(raw_submit(r, &q), 0);
		q = good;                       /* the inputs swapped for outputs */
		q.n_inputs = 1;
		q.n_outputs = 3;
		ck_assert_int_lt(raw_submit(r, &q), 0);
		tries += 4;
		assert_honest(h);
	}
	ck_assert_int_eq(raw_submit(r, &good), 0);
	return tries;
}

START_TEST(hostile_descriptors)
{
	struct fixture_daemon d = { 0 };
	struct honest h;
	struct raw r;
	struct fixture_ref *ref;
	start(&d, NULL);
	assert_honest_open(&h, &d);
	struct level was = level_of(&d);
	ck_assert_int_eq(fixture_ref_create(FIXTURE_RELU64, &ref, NULL), 0);
	ck_assert_int_eq(raw_hello(&r, d.socket, RAW_SLOTS), 0);
	assert_raw_good(&r, ref);
	unsigned tries = 0;
	for (int round = 0; round < 4; round++) {
		for (int b = 0; b < BAD_NDESC; b++) {
			struct dnnq_shm_request q;
			bad_desc(&r, b, &q);
			int rc = raw_submit(&r, &q);
			ck_assert_msg(rc != INT32_MIN, "bad descriptor %d: not answered", b);
			ck_assert_msg(rc < 0, "bad descriptor %d: status %d, want an error", b, rc);
			tries++;
			if (b % 5 == 0)
				assert_honest(&h);
		}
		assert_raw_good(&r, ref);
	}
	assert_alive(&d);
	report("bad descriptors (offsets, sizes, overlaps, dtypes, shapes, batch, counts, model)",
	       tries, "each completed FAILED with an error; honest served");
	tries = multi_overlaps(&r, &h);
	report("multi: outputs overlapping each other or an input, wrong output dtype, counts",
	       tries, "each completed FAILED with an error; honest served");
	raw_close(&r);
	fixture_ref_destroy(ref);
	assert_honest(&h);
	assert_level(&d, was, "bad descriptors");
	honest_close(&h);
	stop(&d);
}
END_TEST

/* ---- the ring -------------------------------------------------------------- */

START_TEST(hostile_ring)
{
	struct fixture_daemon d = { 0 };
	struct honest h;
	struct raw r;
	struct fixture_ref *ref;
	start(&d, NULL);
	assert_honest_open(&h, &d);
	struct level was = level_of(&d);
	ck_assert_int_eq(fixture_ref_create(FIXTURE_RELU64, &ref, NULL), 0);

	/* indices that are not slots */
	ck_assert_int_eq(raw_hello(&r, d.socket, RAW_SLOTS), 0);
	const uint32_t bad_idx[] = { RAW_SLOTS, RAW_SLOTS + 1, 4096, 65535, UINT32_MAX };
	unsigned tries = 0;
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < sizeof bad_idx / sizeof bad_idx[0]; i++, tries++)
			if (!dnnq_shm_ring_push(&r.v, bad_idx[i]))
				dnnq_shm_doorbell_ring(&r.v, r.fds[1]);
		/* a slot pushed that is not SUBMITTED, and one pushed twice */
		dnnq_shm_ring_push(&r.v, 1);
		dnnq_shm_ring_push(&r.v, 1);
		dnnq_shm_doorbell_ring(&r.v, r.fds[1]);
		tries += 2;
		fixture_sleep_ms(2);
		if (round % 4 == 0)
			assert_honest(&h);
	}
	assert_raw_good(&r, ref);
	report("slot index out of range / not submitted / pushed twice on the ring", tries,
	       "dropped; the offender's next request served; honest served");

	/* scribbled positions and cell sequence numbers */
	struct rng g = { 12345 };
	unsigned scribbles = 0, answered = 0;
	for (int round = 0; round < 200; round++, scribbles++) {
		struct dnnq_shm_ring_ctl *ctl = r.v.ring;
		uint64_t x = rng_next(&g);
		switch (round % 5) {
		case 0: __atomic_store_n(&ctl->head, x, __ATOMIC_RELAXED); break;
		case 1: __atomic_store_n(&ctl->tail, x, __ATOMIC_RELAXED); break;
		case 2: __atomic_store_n(&r.v.cells[x & r.v.ring_mask].seq,
		                         __atomic_load_n(&ctl->head, __ATOMIC_RELAXED) + 1,
		                         __ATOMIC_RELEASE); break;
		case 3: __atomic_store_n(&r.v.cells[x & r.v.ring_mask].seq, x, __ATOMIC_RELEASE);
		        __atomic_store_n(&r.v.cells[x & r.v.ring_mask].value, (uint32_t)(x >> 32),
		                         __ATOMIC_RELAXED); break;
		default:
			for (uint32_t c = 0; c <= r.v.ring_mask; c++)
				__atomic_store_n(&r.v.cells[c].seq,
				                 __atomic_load_n(&ctl->head, __ATOMIC_RELAXED) + 1,
				                 __ATOMIC_RELEASE);
			break;
		}
		dnnq_shm_doorbell_ring(&r.v, r.fds[1]);
		if (round % 25 == 0) {
			struct dnnq_shm_request q = raw_good(&r);
			uint32_t slot = (uint32_t)(round / 25) % RAW_SLOTS;
			answered += raw_submit_slot(&r, slot, &q) != INT32_MIN;
			assert_honest(&h);
		}
	}
	assert_alive(&d);
	/* the ring left corrupt: the workers still go to sleep (printed, not
	 * asserted: a number of ticks is a speed) */
	long ticks = cpu_ticks(d.pid);
	fixture_sleep_ms(1000);
	ticks = cpu_ticks(d.pid) - ticks;
	char outcome[200];
	snprintf(outcome, sizeof outcome, "daemon unharmed, %ld of %ld CPU ticks used idle over 1 s"
	         " after; the offender's own requests answered %u of 8; honest served", ticks,
	         sysconf(_SC_CLK_TCK), answered);
	report("ring head/tail/cell seq scribbled", scribbles, outcome);
	raw_close(&r);
	fixture_ref_destroy(ref);
	assert_honest(&h);
	assert_level(&d, was, "ring");
	honest_close(&h);
	stop(&d);
}
END_TEST

/* ---- rewriting the input while it is computed ------------------------------ */

struct scribbler {
	uint8_t *p;
	size_t len;
	atomic_bool stop;
	unsigned long passes;
};

static void *scribble_main(void *arg)
{
	struct scribbler *s = arg;
	struct rng r = { 77 };
	while (!atomic_load(&s->stop)) {
		for (size_t i = 0; i < s->len; i += 8) {
			uint64_t x = rng_next(&r);
			memcpy(s->p + i, &x, 8);
		}
		s->passes++;
	}
	return NULL;
}

/* An fc1024 request with the descriptor at `slot`: x at 0, y at 64 KiB;
 * the region shape of raw_hello (1 MiB arena) holds batch 16. */
static struct dnnq_shm_request fc_req(const struct raw *r, uint32_t model_id, uint32_t gen,
                                      uint32_t batch)
{
	struct dnnq_shm_request q = { .model_id = model_id, .model_gen = gen, .batch = batch,
	                              .n_inputs = 1, .n_outputs = 1 };
	(void)r;
	for (int k = 0; k < 2; k++) {
		q.t[k].offset = k ? 1u << 19 : 0;
		q.t[k].bytes = 1024ull * batch;
		q.t[k].dtype = DNNQ_SHM_DTYPE_U8;
		q.t[k].rank = 2;
		q.t[k].dims[0] = batch;
		q.t[k].dims[1] = 1024;
	}
	return q;
}

static void raw_open(struct raw *r, const char *name, struct dnnq_msg_model *out)
{
	struct dnnq_msg_open o = { 0 };
	raw_hdr(r, &o.hdr, DNNQ_MSG_OPEN);
	snprintf(o.name, sizeof o.name, "%s", name);
	ck_assert_int_eq(send(r->fd, &o, sizeof o, MSG_NOSIGNAL), (ssize_t)sizeof o);
	ssize_t n = raw_recv(r->fd, out, sizeof *out, NULL, NULL);
	ck_assert_msg(n == (ssize_t)sizeof *out && out->hdr.status == 0, "OPEN %s: %zd, %d", name,
	              n, out->hdr.status);
}

START_TEST(hostile_input_rewrite)
{
	struct fixture_daemon d = { 0 };
	struct honest h;
	struct raw r;
	start(&d, NULL);
	assert_honest_open(&h, &d);
	struct level was = level_of(&d);
	ck_assert_int_eq(raw_hello(&r, d.socket, RAW_SLOTS), 0);
	struct dnnq_msg_model fc;
	raw_open(&r, fixture_model_name(FIXTURE_FC1024), &fc);
	uint32_t batch = fc.max_batch < 16 ? fc.max_batch : 16;
	/* the offender rewrites its input, its output and its descriptors */
	struct scribbler s = { .p = r.v.arena, .len = 1u << 20 };
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, scribble_main, &s), 0);
	unsigned tries = 0, answered = 0;
	double t0 = fixture_now_s();
	for (int i = 0; i < 60; i++, tries++) {
		struct dnnq_shm_request q = fc_req(&r, fc.model_id, fc.generation, batch);
		answered += raw_submit_slot(&r, (uint32_t)i % RAW_SLOTS, &q) == 0;
		if (i % 3 == 0)
			assert_honest(&h);
	}
	atomic_store(&s.stop, true);
	pthread_join(t, NULL);
	assert_alive(&d);
	char outcome[200];
	snprintf(outcome, sizeof outcome, "%u completed (results the offender's own business),"
	         " %lu arena rewrites in %.1f s; honest results equal the engine's", answered,
	         s.passes, fixture_now_s() - t0);
	report("input rewritten while computed (fc1024)", tries, outcome);

	/* then the slot table itself: descriptors, states, status and waiters
	 * words rewritten while the worker copies and runs */
	struct scribbler s2 = { .p = (uint8_t *)r.v.slots,
	                        .len = RAW_SLOTS * sizeof(struct dnnq_shm_slot) };
	ck_assert_int_eq(pthread_create(&t, NULL, scribble_main, &s2), 0);
	unsigned tries2 = 0, answered2 = 0;
	for (int i = 0; i < 200; i++, tries2++) {
		struct dnnq_shm_request q = fc_req(&r, fc.model_id, fc.generation, batch);
		uint32_t slot = (uint32_t)i % RAW_SLOTS;
		/* take the slot back whatever state the scribbler left */
		__atomic_store_n(&r.v.slots[slot].state, DNNQ_SLOT_FREE, __ATOMIC_RELEASE);
		/* the state word is noise now: a short look, then the next */
		answered2 += raw_submit_wait(&r, slot, &q, 5) != INT32_MIN;
		if (i % 20 == 0)
			assert_honest(&h);
	}
	atomic_store(&s2.stop, true);
	pthread_join(t, NULL);
	assert_alive(&d);
	snprintf(outcome, sizeof outcome, "%u seen finished (any status), %lu slot-table rewrites;"
	         " honest results equal the engine's", answered2, s2.passes);
	report("slot descriptors and state words rewritten while copied and run", tries2,
	       outcome);
	raw_close(&r);
	assert_honest(&h);
	assert_level(&d, was, "input rewrite");
	honest_close(&h);
	stop(&d);
}
END_TEST

/* ---- completions never collected, in-flight and session limits ------------- */

START_TEST(hostile_uncollected)
{
	struct fixture_daemon d = { 0 };
	struct honest h;
	const char *extra[] = { "--max-inflight", "16", NULL };
	start(&d, extra);
	assert_honest_open(&h, &d);
	struct level was = level_of(&d);
	unsigned tries = 0;
	for (int round = 0; round < 5; round++) {
		struct dnnq_client *c;
		struct dnnq_model *m;
		struct dnnq_connect_opts o = { .slots = 16, .arena_bytes = 1u << 20 };
		ck_assert_int_eq(dnnq_connect(d.socket, &o, &c), 0);
		ck_assert_int_eq(dnnq_model_open(c, fixture_model_name(FIXTURE_FC1024), &m), 0);
		struct dnnq_tensor in[16], out[16];
		struct dnnq_request rq[17];
		for (int i = 0; i < 16; i++) {
			ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, 1, &in[i]), 0);
			ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, 0, 1, &out[i]), 0);
			memset(in[i].data, i, in[i].bytes);
			const struct dnnq_tensor *ti[1] = { &in[i] };
			struct dnnq_tensor *to[1] = { &out[i] };
			ck_assert_int_eq(dnnq_submit(m, ti, to, &rq[i]), 0);
			tries++;
		}
		/* every slot in flight: the 17th is refused by the library */
		const struct dnnq_tensor *ti[1] = { &in[0] };
		struct dnnq_tensor *to[1] = { &out[0] };
		ck_assert_int_eq(dnnq_submit(m, ti, to, &rq[16]), DNNQ_E_BUSY);
		assert_honest(&h);
		fixture_sleep_ms(50);
		assert_honest(&h);
		/* gone without collecting anything */
		dnnq_close(c);
		assert_honest(&h);
	}
	report("completions never collected (16 in flight, then gone)", tries,
	       "abandoned requests finished into the region; honest served");

	/* more slots than --max-inflight: the HELLO is refused */
	unsigned over = 0;
	for (uint32_t slots = 17; slots <= 4096; slots *= 2, over++) {
		struct dnnq_client *c = NULL;
		struct dnnq_connect_opts o = { .slots = slots, .arena_bytes = 1u << 20 };
		int rc = dnnq_connect(d.socket, &o, &c);
		ck_assert_msg(rc == DNNQ_E_NOMEM, "%u slots over --max-inflight 16: %s", slots,
		              dnnq_strerror(rc));
	}
	{
		struct raw r;
		ck_assert_int_eq(raw_hello(&r, d.socket, 17), DNNQ_E_NOMEM);
		raw_close(&r);
		over++;
	}
	assert_honest(&h);
	report("HELLO over --max-inflight", over, "DNNQ_E_NOMEM; honest served");
	assert_alive(&d);
	assert_level(&d, was, "uncollected / max-inflight");
	honest_close(&h);
	stop(&d);
}
END_TEST

#define MAX_CLIENTS 16

START_TEST(hostile_many_sessions)
{
	struct fixture_daemon d = { 0 };
	struct honest h;
	char mc[16];
	snprintf(mc, sizeof mc, "%d", MAX_CLIENTS);
	const char *extra[] = { "--max-clients", mc, NULL };
	start(&d, extra);
	assert_honest_open(&h, &d);
	struct level was = level_of(&d);
	struct dnnq_client *c[MAX_CLIENTS] = { 0 };
	struct dnnq_connect_opts o = { .slots = 1, .arena_bytes = 4096 };
	int n = 0, rc;
	/* the honest client holds one session: fill the table up */
	while (n < MAX_CLIENTS && !(rc = dnnq_connect(d.socket, &o, &c[n])))
		n++;
	ck_assert_msg(n > 0 && n < MAX_CLIENTS, "%d sessions opened under --max-clients %d", n,
	              MAX_CLIENTS);
	ck_assert_msg(rc == DNNQ_E_BUSY, "session %d: %s, want DNNQ_E_BUSY", n + 1,
	              dnnq_strerror(rc));
	unsigned busy = 1;
	for (int i = 0; i < 2000; i++) {
		struct dnnq_client *x = NULL;
		rc = dnnq_connect(d.socket, &o, &x);
		ck_assert_msg(rc == DNNQ_E_BUSY, "extra session %d: %s", i, dnnq_strerror(rc));
		busy++;
		if (i % 250 == 0)
			assert_honest(&h);
	}
	/* raw ones too, which never say HELLO: closed after a second */
	int quiet[8];
	for (int i = 0; i < 8; i++)
		quiet[i] = raw_socket(d.socket);
	assert_honest(&h);
	char outcome[160];
	snprintf(outcome, sizeof outcome, "%d sessions accepted, %u over --max-clients %d got"
	         " DNNQ_E_BUSY; honest served", n, busy, MAX_CLIENTS);
	report("sessions up to and past --max-clients", (unsigned)n + busy, outcome);
	for (int i = 0; i < 8; i++) {
		char b[16];
		ck_assert_msg(raw_recv(quiet[i], b, sizeof b, NULL, NULL) == 0,
		              "a silent connection was not closed");
		close(quiet[i]);
	}
	report("connections that never send HELLO", 8, "closed by dnnqd");
	for (int i = 0; i < n; i++)
		dnnq_close(c[i]);
	/* the room is back */
	for (int round = 0; round < 3; round++) {
		struct dnnq_client *x = NULL;
		ck_assert_int_eq(dnnq_connect(d.socket, &o, &x), 0);
		dnnq_close(x);
	}
	assert_honest(&h);
	assert_alive(&d);
	assert_level(&d, was, "many sessions");
	honest_close(&h);
	stop(&d);
}
END_TEST

/* ---- the passed fds' file status flags ------------------------------------ */

/* The doorbell and completion eventfds are the daemon's own open file
 * descriptions, passed by SCM_RIGHTS: O_NONBLOCK is shared. The offender
 * clears it on both, saturates the completion counter, arms the event and
 * submits; then leaves the doorbell at 0 and rings nothing. A worker must
 * not block on either fd. */
START_TEST(hostile_blocking_fds)
{
	struct fixture_daemon d = { 0 };
	struct honest h;
	struct raw r;
	start(&d, NULL);
	assert_honest_open(&h, &d);
	struct level was = level_of(&d);
	ck_assert_int_eq(raw_hello(&r, d.socket, RAW_SLOTS), 0);
	ck_assert_int_eq(fcntl(r.fds[1], F_SETFL, 0), 0);
	ck_assert_int_eq(fcntl(r.fds[2], F_SETFL, 0), 0);
	uint64_t max = UINT64_MAX - 1;
	ck_assert_int_eq(write(r.fds[2], &max, sizeof max), (ssize_t)sizeof max);
	__atomic_store_n(&r.v.hdr->event_armed, 1, __ATOMIC_RELEASE);
	unsigned tries = 0, answered = 0;
	for (int i = 0; i < 16; i++, tries++) {
		struct dnnq_shm_request q = raw_good(&r);
		answered += raw_submit_slot(&r, (uint32_t)i % RAW_SLOTS, &q) == 0;
		assert_honest(&h);
	}
	/* the doorbell: rung (the workers drain it) while they may sleep */
	for (int i = 0; i < 50; i++, tries++) {
		uint64_t one = 1;
		ck_assert_int_eq(write(r.fds[1], &one, sizeof one), (ssize_t)sizeof one);
		fixture_sleep_ms(2);
		if (i % 10 == 0)
			assert_honest(&h);
	}
	fixture_sleep_ms(300);
	assert_honest(&h);
	assert_alive(&d);
	char log[4096];
	fixture_daemon_log(&d, log, sizeof log);
	ck_assert_msg(strstr(log, "made an eventfd block"), "dnnqd did not see the blocking fd:"
	              "\n%s", log);
	char outcome[160];
	snprintf(outcome, sizeof outcome, "%u of the offender's requests answered; no worker"
	         " blocked; honest served", answered);
	report("O_NONBLOCK cleared on the passed eventfds, completion counter saturated", tries,
	       outcome);
	raw_close(&r);
	assert_honest(&h);
	assert_level(&d, was, "blocking fds");
	honest_close(&h);
	stop(&d);
}
END_TEST

/* ---- a peer not allowed ---------------------------------------------------- */

START_TEST(hostile_peer_uid)
{
	if (geteuid() != 0) {
		printf("hostile: peer uid not allowed: 0 tries: skipped (not root: cannot drop to"
		       " uid 65534)\n");
		return;
	}
	struct fixture_daemon d = { 0 };
	struct honest h;
	const char *extra[] = { NULL };
	start(&d, extra);
	/* the refusal must come from SO_PEERCRED, not from the file modes */
	char parent[sizeof d.dir];
	snprintf(parent, sizeof parent, "%s", d.dir);
	ck_assert_int_eq(chmod(d.dir, 0755), 0);
	ck_assert_int_eq(chmod(dirname(parent), 0755), 0);
	ck_assert_int_eq(chmod(d.socket, 0666), 0);
	assert_honest_open(&h, &d);
	struct level was = level_of(&d);
	const int tries = 20;
	pid_t pid = fixture_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(3);
		for (int i = 0; i < tries; i++) {
			struct dnnq_client *c = NULL;
			struct dnnq_connect_opts o = { .slots = 1, .arena_bytes = 4096 };
			int rc = dnnq_connect(d.socket, &o, &c);
			if (rc != DNNQ_E_PERM)
				_exit(rc == DNNQ_E_IO ? 4 : 5);
		}
		_exit(0);
	}
	for (int i = 0; i < 3; i++)
		assert_honest(&h);
	int st = fixture_wait(pid, 30000);
	ck_assert_msg(st != -1, "the uid 65534 client hangs");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the uid 65534 client: wait status"
	              " 0x%x (3: could not drop privileges, 4: could not connect at all, 5: not"
	              " DNNQ_E_PERM)", st);
	report("peer uid/gid 65534 not allowed", (unsigned)tries, "DNNQ_E_PERM; honest served");
	assert_honest(&h);
	assert_alive(&d);
	assert_level(&d, was, "peer uid");
	honest_close(&h);
	stop(&d);
}
END_TEST

/* ---- malformed control messages -------------------------------------------- */

/* Sends len bytes of msg (with fds when nfds) and reads the answer: its
 * status, 1 when the connection was closed, 2 on no answer. */
static int raw_exchange(int fd, const void *msg, size_t len, const int *fds, unsigned nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)len)
		return 1;
	_Alignas(8) uint8_t buf[DNNQ_PROTO_MAX_MSG];
	ssize_t n = raw_recv(fd, buf, sizeof buf, NULL, NULL);
	if (n < 0)
		return 2;
	if (n < (ssize_t)sizeof(struct dnnq_msg_hdr))
		return 1;
	struct dnnq_msg_hdr h;
	memcpy(&h, buf, sizeof h);
	return h.status;
}

enum bad_msg {
	MSG_EMPTY, MSG_SHORT, MSG_HDR_ONLY_HELLO, MSG_LONG, MSG_HUGE, MSG_MAGIC, MSG_VERSION,
	MSG_STATUS, MSG_TYPE_ZERO, MSG_TYPE_MODEL, MSG_TYPE_HIGH, MSG_BEFORE_HELLO,
	MSG_HELLO_RESERVED, MSG_HELLO_ABI, MSG_HELLO_SLOTS, MSG_HELLO_ARENA, MSG_HELLO_TWICE,
	MSG_OPEN_NO_NUL, MSG_OPEN_RESERVED, MSG_OPEN_UNKNOWN, MSG_INFO_INDEX, MSG_CLOSE_ID,
	MSG_CLOSE_RESERVED, MSG_FDS, MSG_GARBAGE, MSG_NKINDS
};

static const char *const bad_msg_name[MSG_NKINDS] = {
	"empty", "short", "HELLO header only", "long", "8 KiB + 1", "magic", "version",
	"status", "type 0", "type MODEL", "type 999", "OPEN before HELLO", "HELLO reserved",
	"HELLO abi_major", "HELLO slots 100000", "HELLO arena 2^62", "HELLO twice",
	"OPEN name without NUL", "OPEN reserved", "OPEN unknown model", "INFO index 2^32-1",
	"CLOSE model_id 2^32-1", "CLOSE reserved", "fds passed with STATS", "garbage",
};

/* One malformed message on a connection that has (hello) or has not said
 * HELLO; the outcome: 0 for DNNQ_E_PROTO or a closed connection, else
 * what came back (the error a field deserves, e.g. NOTFOUND). */
static int try_bad_msg(const char *socket, enum bad_msg b, struct rng *g, int *status)
{
	struct raw r;
	bool hello = b >= MSG_HELLO_TWICE || b == MSG_FDS;
	hello = hello && b != MSG_GARBAGE;
	if (hello)
		ck_assert_int_eq(raw_hello(&r, socket, 1), 0);
	else {
		memset(&r, 0, sizeof r);
		r.fd = raw_socket(socket);
	}
	_Alignas(8) uint8_t m[DNNQ_PROTO_MAX_MSG + 64];
	memset(m, 0, sizeof m);
	struct dnnq_msg_hdr *h = (struct dnnq_msg_hdr *)m;
	struct dnnq_msg_hello *he = (struct dnnq_msg_hello *)m;
	struct dnnq_msg_open *op = (struct dnnq_msg_open *)m;
	struct dnnq_msg_close *cl = (struct dnnq_msg_close *)m;
	size_t len = sizeof *he;
	int fds[2] = { -1, -1 };
	unsigned nfds = 0;
	raw_hdr(&r, h, DNNQ_MSG_HELLO);
	he->abi_major = DNNQ_SHM_ABI_MAJOR;
	he->slots = 1;
	he->arena_bytes = 4096;
	switch (b) {
	case MSG_EMPTY:          len = 0; break;
	case MSG_SHORT:          len = 7; break;
	case MSG_HDR_ONLY_HELLO: len = sizeof *h; break;
	case MSG_LONG:           len = sizeof *he + 1; break;
	case MSG_HUGE:           len = DNNQ_PROTO_MAX_MSG + 1; break;
	case MSG_MAGIC:          h->magic ^= 1; break;
	case MSG_VERSION:        h->version = 2; break;
	case MSG_STATUS:         h->status = -1; break;
	case MSG_TYPE_ZERO:      h->type = 0; break;
	case MSG_TYPE_MODEL:     h->type = DNNQ_MSG_MODEL; break;
	case MSG_TYPE_HIGH:      h->type = 999; break;
	case MSG_BEFORE_HELLO:   h->type = DNNQ_MSG_OPEN; len = sizeof *op;
	                         strcpy(op->name, "relu64"); break;
	case MSG_HELLO_RESERVED: he->reserved = 1; break;
	case MSG_HELLO_ABI:      he->abi_major = 7; break;
	case MSG_HELLO_SLOTS:    he->slots = 100000; break;
	case MSG_HELLO_ARENA:    he->arena_bytes = 1ull << 62; break;
	case MSG_HELLO_TWICE:    break;
	case MSG_OPEN_NO_NUL:    h->type = DNNQ_MSG_OPEN; len = sizeof *op;
	                         memset(op->name, 'a', sizeof op->name); break;
	case MSG_OPEN_RESERVED:  h->type = DNNQ_MSG_OPEN; len = sizeof *op;
	                         strcpy(op->name, "relu64"); op->reserved = 1; break;
	case MSG_OPEN_UNKNOWN:   h->type = DNNQ_MSG_OPEN; len = sizeof *op;
	                         strcpy(op->name, "no-such-model"); break;
	case MSG_INFO_INDEX:     h->type = DNNQ_MSG_INFO; len = sizeof *op; op->index = UINT32_MAX;
	                         break;
	case MSG_CLOSE_ID:       h->type = DNNQ_MSG_CLOSE; len = sizeof *cl;
	                         cl->model_id = UINT32_MAX; break;
	case MSG_CLOSE_RESERVED: h->type = DNNQ_MSG_CLOSE; len = sizeof *cl; cl->reserved = 1;
	                         break;
	case MSG_FDS:            h->type = DNNQ_MSG_STATS; len = sizeof *h;
	                         fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	                         fds[1] = dup(r.fd); nfds = 2; break;
	case MSG_GARBAGE:
		len = 1 + rng_next(g) % 512;
		for (size_t i = 0; i < len; i++)
			m[i] = (uint8_t)rng_next(g);
		if (rng_next(g) & 1)
			h->magic = DNNQ_PROTO_MAGIC;
		break;
	case MSG_NKINDS: break;
	}
	int st = raw_exchange(r.fd, m, len, fds, nfds);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	/* the connection still answers a good message, or is closed */
	int after = 1;
	if (st != 1) {
		struct dnnq_msg_hdr s;
		raw_hdr(&r, &s, DNNQ_MSG_STATS);
		after = raw_exchange(r.fd, &s, sizeof s, NULL, 0);
	}
	raw_close(&r);
	*status = st;
	ck_assert_msg(st != 2, "%s: no answer", bad_msg_name[b]);
	/* before HELLO the good STATS is itself "before HELLO" */
	ck_assert_msg(after == 1 || after == 0 || (after == DNNQ_E_PROTO && !hello),
	              "%s: then STATS: %d", bad_msg_name[b], after);
	return st == DNNQ_E_PROTO || st == 1 ? 0 : st;
}

START_TEST(hostile_control_messages)
{
	struct fixture_daemon d = { 0 };
	struct honest h;
	start(&d, NULL);
	assert_honest_open(&h, &d);
	struct level was = level_of(&d);
	struct rng g = { 99 };
	unsigned tries = 0, closed = 0, proto = 0, other = 0;
	for (int round = 0; round < 4; round++) {
		for (int b = 0; b < MSG_NKINDS; b++) {
			int st;
			int rc = try_bad_msg(d.socket, b, &g, &st);
			tries++;
			closed += st == 1;
			proto += st == DNNQ_E_PROTO;
			/* a well-formed message whose field is merely wrong gets that
			 * field's error */
			bool field = b == MSG_HELLO_ABI || b == MSG_HELLO_SLOTS || b == MSG_HELLO_ARENA ||
			             b == MSG_OPEN_UNKNOWN || b == MSG_INFO_INDEX || b == MSG_CLOSE_ID ||
			             b == MSG_FDS;
			if (b == MSG_FDS)
				ck_assert_msg(rc == 0 && st == 0, "STATS with fds: %d", st);
			else if (field)
				ck_assert_msg(st < 0, "%s: %d, want an error", bad_msg_name[b], st);
			else
				ck_assert_msg(rc == 0, "%s: %d (%s), want DNNQ_E_PROTO or a close",
				              bad_msg_name[b], st, dnnq_strerror(st));
			other += rc != 0;
		}
		for (int i = 0; i < 50; i++, tries++) {
			int st;
			try_bad_msg(d.socket, MSG_GARBAGE, &g, &st);
			closed += st == 1;
			proto += st == DNNQ_E_PROTO;
		}
		assert_honest(&h);
	}
	/* a peer that sends and never reads its replies: closed once they
	 * no longer fit (sends never block the control loop) */
	struct raw f;
	ck_assert_int_eq(raw_hello(&f, d.socket, 1), 0);
	unsigned sent = 0;
	for (; sent < 100000; sent++) {
		struct dnnq_msg_hdr st;
		raw_hdr(&f, &st, DNNQ_MSG_STATS);
		if (send(f.fd, &st, sizeof st, MSG_NOSIGNAL) != (ssize_t)sizeof st)
			break;
	}
	ck_assert_msg(sent < 100000, "%u requests sent and never read: still connected", sent);
	{
		_Alignas(8) uint8_t b[DNNQ_PROTO_MAX_MSG];
		ssize_t n;
		while ((n = raw_recv(f.fd, b, sizeof b, NULL, NULL)) > 0)
			;
		ck_assert_msg(n == 0, "the flooding peer was not closed");
	}
	raw_close(&f);
	assert_honest(&h);
	report("requests sent without ever reading the replies", sent,
	       "closed by dnnqd once its replies no longer fit; honest served");
	assert_alive(&d);
	char outcome[200];
	snprintf(outcome, sizeof outcome, "%u DNNQ_E_PROTO, %u closed, %u a field's error"
	         " (VERSION/RANGE/NOMEM/NOTFOUND), fds discarded; honest served", proto, closed,
	         other);
	report("malformed control messages (short, long, magic, version, type, order, names,"
	       " fds, garbage)", tries, outcome);
	assert_honest(&h);
	assert_level(&d, was, "control messages");
	honest_close(&h);
	stop(&d);
}
END_TEST

Suite *suite_hostile(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("hostile");
	tcase_add_unchecked_fixture(tc, fixture_tmp_begin, fixture_tmp_end);
	tcase_add_test(tc, hostile_descriptors);
	tcase_add_test(tc, hostile_ring);
	tcase_add_test(tc, hostile_input_rewrite);
	tcase_add_test(tc, hostile_uncollected);
	tcase_add_test(tc, hostile_many_sessions);
	tcase_add_test(tc, hostile_blocking_fds);
	tcase_add_test(tc, hostile_peer_uid);
	tcase_add_test(tc, hostile_control_messages);
	suite_add_tcase(s, tc);
	return s;
}
