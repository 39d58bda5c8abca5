/*
 * daemon/loader.c — a model file into 64-byte aligned memory (loader.h).
 *
 * Both loaders share everything but the reading: open (O_NONBLOCK, so a
 * FIFO cannot hang the open waiting for a writer; cleared again once fstat
 * has said "regular file", because io_uring honours it on regular files and
 * would answer EAGAIN instead of waiting for the disk), fstat, the size
 * limit, one aligned_alloc of the size rounded up to 64 with the padding
 * zeroed (an empty file gets 64 zero bytes: callers free() one non-NULL
 * buffer whatever the size, and nothing special-cases 0).
 *
 * io_uring: the file is cut into chunks; `depth` slots each own one read in
 * flight. A completion hands its slot the rest of a short read, or else the
 * next unclaimed chunk, so the device always sees up to `depth` reads of
 * the file at once and readahead is no longer the only thing keeping it
 * busy. Buffered reads (no O_DIRECT: the page cache is what makes a reload
 * of an unchanged file cheap, and O_DIRECT would need aligned offsets and a
 * fallback for file systems without it). A read that fails, or finds the
 * end of the file early, ends the load, but the buffer is freed only after
 * every read already submitted has completed: the kernel writes into it
 * until then (what was prepared but not yet submitted is dropped with the
 * ring and never runs).
 *
 * Depth x chunk, 8 x 1 MiB (loader.h), from `dnnq-bench loader` (218 MB
 * file, interleaved medians; reruns on this shared machine move a ratio by
 * about 0.05) on the 2-core VM dnnq is developed on: ext4 on virtio-blk,
 * mq-deadline, read_ahead_kb 8192. With that much readahead read(2) keeps
 * the device busy by itself, and io_uring at 8 x 1 MiB ties it, cold
 * (0.98-1.02x) and warm (0.96-1.01x); 16 in flight or 8 of 4 MiB lost
 * (0.69-0.86x), 8 of 256 KiB too (0.80-0.92x), and 1 to 4 in flight did
 * no better than 8. Where readahead does not cover (the bench's
 * POSIX_FADV_RANDOM rows, a stand-in for the 128 KiB default of most
 * hosts) depth is what reads ahead: 4, 8 and 16 in flight beat read(2) by
 * 1.24-1.31x, 1.44-1.51x and 1.58-1.62x. So 8: the best with
 * readahead, close to the best without. Both paths advise
 * POSIX_FADV_SEQUENTIAL (twice the readahead window for this file): without
 * it 8 in flight fell to 0.8-0.9x of read(2), the out-of-order reads
 * breaking up the file's one readahead state. Warm, both loaders are bound
 * by faulting in the fresh buffer (about 1.2 GB/s here, against 9 GB/s
 * copying into touched memory), which no I/O interface changes.
 * IOSQE_ASYNC stays off: it hands every copy to io-wq kernel threads, which
 * run on any CPU, the pinned workers' too, so a reload would take CPU from
 * serving; it won (1.4-1.5x warm) only while the second CPU was idle, and
 * not cold.
 *
 * One ring per load, torn down at the end: a load happens at start-up and
 * at a reload; setting a ring up and tearing it down (io_uring_setup, a
 * probe, the ring mappings) costs about 60 us here, against about 1 ms to
 * read even a 1 MB model from the page cache; and a kept ring would be
 * state shared by the reload thread and anyone else loading, holding an fd
 * and locked memory for the daemon's lifetime. Per load also lets AUTO
 * decide afresh whether io_uring is there.
 *
 * AUTO falls back to read(2) when io_uring_queue_init says io_uring is not
 * there (ENOSYS: old kernel or gVisor; EPERM: seccomp, Docker's default
 * profile, kernel.io_uring_disabled; ENOMEM: no locked memory for the
 * rings) or the kernel cannot IORING_OP_READ (before 5.6: EOPNOTSUPP from
 * the probe). Any other setup failure is a failure.
 *
 * read(2) reads chunk bytes per call (the default chunk costs one system
 * call per MiB, nothing against the copy), retries EINTR, continues short
 * reads, and stops at an early end of file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/loader.h"

int (*dnnqd_loader_fault)(uint64_t offset, size_t len);

struct dnnqd_loader_tuning dnnqd_loader_tuning = DNNQD_LOADER_DEFAULTS;

const char *dnnqd_loader_name(enum dnnqd_loader l)
{
	switch (l) {
	case DNNQD_LOADER_AUTO: return "auto";
	case DNNQD_LOADER_URING: return "io_uring";
	case DNNQD_LOADER_READ: return "read";
	}
	return "?";
}

/* One load: the open file, the buffer its bytes go to, how to read. */
struct load {
	const char *path;
	struct dnnq_diag *diag;
	int fd;
	uint8_t *buf;
	uint64_t size;
	struct dnnqd_loader_tuning tune;
};

/* The errno the fault hook injects into the read of [off, off + len). */
static int injected(uint64_t off, size_t len)
{
	int (*f)(uint64_t, size_t) = dnnqd_loader_fault;
	return f ? f(off, len) : 0;
}

static size_t chunk_at(const struct load *l, uint64_t off)
{
	uint64_t left = l->size - off;
	return left < l->tune.chunk ? (size_t)left : l->tune.chunk;
}

static int read_error(const struct load *l, uint64_t off, int err)
{
	return dnnq_diag_set(l->diag, DNNQ_E_IO, "%s: read at %llu: %s", l->path,
	                     (unsigned long long)off, strerror(err));
}

static int shrank(const struct load *l, uint64_t off)
{
	return dnnq_diag_set(l->diag, DNNQ_E_IO, "%s: file shrank while reading: end of file"
	                     " at %llu of %llu bytes", l->path, (unsigned long long)off,
	                     (unsigned long long)l->size);
}

static int sys_error(const struct load *l, int status, const char *what, int err)
{
	return dnnq_diag_set(l->diag, status, "%s: %s: %s", l->path, what, strerror(err));
}

const char *dnnqd_file_kind(mode_t m)
{
	return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
	     : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

/* l->fd and l->size of a regular file within max_bytes. */
static int open_file(struct load *l, uint64_t max_bytes)
{
	struct stat st;
	/* the way first: where it cannot be trusted, another user chose what
	 * the path opens (a device whose open alone does something) */
	int rc = dnnq_config_dir_trusted(l->path, "the model dnnqd serves", l->diag);
	if (rc)
		return rc;
	l->fd = open(l->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (l->fd < 0)
		return sys_error(l, DNNQ_E_IO, "cannot open", errno);
	if (fstat(l->fd, &st))
		return sys_error(l, DNNQ_E_IO, "fstat", errno);
	if (!S_ISREG(st.st_mode))
		return dnnq_diag_set(l->diag, DNNQ_E_INVAL, "%s: %s, not a regular file: a model"
		                     " is read from a file", l->path, dnnqd_file_kind(st.st_mode));
	if ((rc = dnnq_config_file_trusted(l->path, &st, "the model dnnqd serves", l->diag)))
		return rc;
	if ((uint64_t)st.st_size > max_bytes || (uint64_t)st.st_size > SIZE_MAX - 63)
		return dnnq_diag_set(l->diag, DNNQ_E_NOMEM, "%s: %lld bytes: over the limit of %llu",
		                     l->path, (long long)st.st_size, (unsigned long long)max_bytes);
	if (fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) & ~O_NONBLOCK))
		return sys_error(l, DNNQ_E_IO, "fcntl", errno);
	/* advice only: a kernel that ignores it reads the file all the same */
	posix_fadvise(l->fd, 0, 0, l->tune.no_readahead ? POSIX_FADV_RANDOM : POSIX_FADV_SEQUENTIAL);
	l->size = (uint64_t)st.st_size;
	return 0;
}

/* The head of the open file through the caller's check. */
static int check_head(const struct load *l, const struct dnnqd_load_head *head)
{
	uint8_t buf[256];
	struct dnnq_diag why = { "" };
	size_t want = head->len < l->size ? head->len : (size_t)l->size;
	if (want > sizeof buf)
		return dnnq_diag_set(l->diag, DNNQ_E_INVAL, "%s: a head of %zu bytes: at most %zu",
		                     l->path, head->len, sizeof buf);
	ssize_t n;
	while ((n = pread(l->fd, buf, want, 0)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return read_error(l, 0, errno);
	int rc = head->check(buf, (size_t)n, l->size, &why);
	return rc ? dnnq_diag_set(l->diag, rc, "%s: %s", l->path, why.msg) : 0;
}

static int alloc_buffer(struct load *l)
{
	size_t cap = l->size ? ((size_t)l->size + 63) & ~(size_t)63 : 64;
	l->buf = aligned_alloc(64, cap);
	if (!l->buf)
		return dnnq_diag_set(l->diag, DNNQ_E_NOMEM, "%s: %llu bytes: out of memory", l->path,
		                     (unsigned long long)l->size);
	memset(l->buf + l->size, 0, cap - (size_t)l->size);
	return 0;
}

/* ---- read(2) ------------------------------------------------------------- */

static int load_read(struct load *l)
{
	uint64_t off = 0;
	while (off < l->size) {
		size_t len = chunk_at(l, off);
		int err = injected(off, len);
		ssize_t n = err ? -1 : read(l->fd, l->buf + off, len);
		if (n < 0 && !err)
			err = errno;
		if (n < 0 && err == EINTR)
			continue;
		if (n < 0)
			return read_error(l, off, err);
		if (n == 0)
			return shrank(l, off);
		off += (uint64_t)n;
	}
	return 0;
}

/* ---- io_uring ------------------------------------------------------------ */

/* What one slot has left to read. */
struct slot {
	uint64_t off;
	size_t len;
};

struct ring_load {
	struct load *l;
	struct io_uring ring;
	struct slot slot[DNNQD_LOADER_MAX_DEPTH];
	uint64_t next;           /* the first byte no slot has claimed */
	unsigned queued;         /* prepared, not yet submitted */
	unsigned inflight;       /* submitted, not yet completed */
	int rc;                  /* the first failure: no read is issued after it */
};

static void ring_fail(struct ring_load *r, int rc)
{
	if (!r->rc)
		r->rc = rc;
}

/* Prepares slot s's read; an injected fault fails it instead. */
static void ring_queue(struct ring_load *r, unsigned s)
{
	struct load *l = r->l;
	struct slot *sl = &r->slot[s];
	int err;
	while ((err = injected(sl->off, sl->len)) == EINTR)
		;
	struct io_uring_sqe *sqe = err ? NULL : io_uring_get_sqe(&r->ring);
	if (!sqe) {
		/* a fault; or no SQE, which cannot be: one per slot, >= depth in the ring */
		ring_fail(r, read_error(l, sl->off, err ? err : EBUSY));
		return;
	}
	io_uring_prep_read(sqe, l->fd, l->buf + sl->off, (unsigned)sl->len, sl->off);
	io_uring_sqe_set_data64(sqe, s);
	if (l->tune.async)
		io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	r->queued++;
}

/* Gives slot s the next chunk, when one is left. */
static void ring_claim(struct ring_load *r, unsigned s)
{
	if (r->rc || r->next >= r->l->size)
		return;
	r->slot[s] = (struct slot){ r->next, chunk_at(r->l, r->next) };
	r->next += r->slot[s].len;
	ring_queue(r, s);
}

/* Slot s's read returned res: the rest of a short read, or the next chunk. */
static void ring_complete(struct ring_load *r, unsigned s, int res)
{
	struct slot *sl = &r->slot[s];
	if (res < 0 && res != -EINTR)
		ring_fail(r, read_error(r->l, sl->off, -res));
	else if (res == 0 && sl->len)
		ring_fail(r, shrank(r->l, sl->off));
	if (r->rc)
		return;
	if (res > 0) {
		sl->off += (unsigned)res;
		sl->len -= (unsigned)res;
	}
	if (sl->len)
		ring_queue(r, s);
	else
		ring_claim(r, s);
}

static void ring_reap(struct ring_load *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&r->ring, head, cqe) {
		n++;
		r->inflight--;
		ring_complete(r, (unsigned)io_uring_cqe_get_data64(cqe), cqe->res);
	}
	io_uring_cq_advance(&r->ring, n);
}

/* Submits what is queued (unless the load failed) and waits for a
 * completion; -errno when the ring itself fails. */
static int ring_wait(struct ring_load *r)
{
	struct io_uring_cqe *cqe;
	int n;
	if (r->rc || !r->queued)
		return (n = io_uring_wait_cqe(&r->ring, &cqe)) == -EINTR ? 0 : n;
	n = io_uring_submit_and_wait(&r->ring, 1);
	if (n > 0) {
		r->queued -= (unsigned)n;
		r->inflight += (unsigned)n;
	}
	return n == -EINTR ? 0 : n < 0 ? n : 0;
}

/* Runs the load to its end; false when reads may still be in flight (the
 * ring failed while draining: the buffer must then not be freed). */
static bool ring_run(struct ring_load *r)
{
	for (unsigned s = 0; s < r->l->tune.depth; s++)
		ring_claim(r, s);
	while (r->inflight || (r->queued && !r->rc)) {
		bool draining = r->rc != 0;
		int e = ring_wait(r);
		if (e < 0 && draining && r->inflight)
			return false;
		if (e < 0)
			ring_fail(r, sys_error(r->l, DNNQ_E_IO, "io_uring_enter", -e));
		ring_reap(r);
	}
	return true;
}

static bool uring_unavailable(int err)
{
	return err == ENOSYS || err == EPERM || err == ENOMEM || err == EOPNOTSUPP;
}

/* A ring that can read, or -errno. */
static int ring_open(struct io_uring *ring, unsigned depth)
{
	int rc = io_uring_queue_init(depth, ring, 0);
	if (rc < 0)
		return rc;
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	bool ok = p && io_uring_opcode_supported(p, IORING_OP_READ);
	io_uring_free_probe(p);
	if (!ok)
		io_uring_queue_exit(ring);
	return ok ? 0 : -EOPNOTSUPP;
}

/* DNNQ_E_UNSUPPORTED (nothing read yet) when io_uring is not there.
 * *keep_buf: the ring failed with reads in flight, l->buf is the kernel's. */
static int load_uring(struct load *l, bool *keep_buf)
{
	struct ring_load r = { .l = l };
	int rc = ring_open(&r.ring, l->tune.depth);
	if (rc < 0)
		return sys_error(l, uring_unavailable(-rc) ? DNNQ_E_UNSUPPORTED : DNNQ_E_IO,
		                 "io_uring", -rc);
	*keep_buf = !ring_run(&r);
	io_uring_queue_exit(&r.ring);
	return r.rc;
}

/* ---- the entry point ----------------------------------------------------- */

static int check_args(enum dnnqd_loader which, const struct dnnqd_loader_tuning *t,
                      const char *path, struct dnnq_diag *d)
{
	if (which != DNNQD_LOADER_AUTO && which != DNNQD_LOADER_URING && which != DNNQD_LOADER_READ)
		return dnnq_diag_set(d, DNNQ_E_INVAL, "%s: loader %d: no such loader", path, which);
	if (t->depth < 1 || t->depth > DNNQD_LOADER_MAX_DEPTH)
		return dnnq_diag_set(d, DNNQ_E_INVAL, "%s: loader depth %u: must be 1..%u", path,
		                     t->depth, DNNQD_LOADER_MAX_DEPTH);
	if (t->chunk < 1 || t->chunk > DNNQD_LOADER_MAX_CHUNK)
		return dnnq_diag_set(d, DNNQ_E_INVAL, "%s: loader chunk %u: must be 1..%u", path,
		                     t->chunk, DNNQD_LOADER_MAX_CHUNK);
	return 0;
}

int dnnqd_load_file(const char *path, enum dnnqd_loader which, uint64_t max_bytes, void **buf,
                    size_t *len, enum dnnqd_loader *used, struct dnnq_diag *diag)
{
	return dnnqd_load_file_head(path, which, max_bytes, NULL, buf, len, used, NULL, diag);
}

int dnnqd_load_file_head(const char *path, enum dnnqd_loader which, uint64_t max_bytes,
                         const struct dnnqd_load_head *head, void **buf, size_t *len,
                         enum dnnqd_loader *used, struct stat *opened, struct dnnq_diag *diag)
{
	struct load l = { .path = path, .diag = diag, .fd = -1, .tune = dnnqd_loader_tuning };
	enum dnnqd_loader how = which == DNNQD_LOADER_READ ? DNNQD_LOADER_READ : DNNQD_LOADER_URING;
	bool keep_buf = false;
	*buf = NULL;
	*len = 0;
	int rc = check_args(which, &l.tune, path, diag);
	if (rc || (rc = open_file(&l, max_bytes)) || (head && (rc = check_head(&l, head))) ||
	    (rc = alloc_buffer(&l)))
		goto out;
	if (how == DNNQD_LOADER_URING) {
		rc = load_uring(&l, &keep_buf);
		if (rc == DNNQ_E_UNSUPPORTED && which == DNNQD_LOADER_AUTO) {
			how = DNNQD_LOADER_READ;
			rc = 0;
			if (diag)
				diag->msg[0] = '\0';
		}
	}
	if (!rc && how == DNNQD_LOADER_READ)
		rc = load_read(&l);
	if (!rc && opened && fstat(l.fd, opened))
		rc = sys_error(&l, DNNQ_E_IO, "fstat", errno);
out:
	if (l.fd >= 0)
		close(l.fd);
	if (rc) {
		/* keep_buf: never in practice (ring_run); a leak beats the
		 * kernel writing into freed memory */
		if (!keep_buf)
			free(l.buf);
		return rc;
	}
	*buf = l.buf;
	*len = (size_t)l.size;
	if (used)
		*used = how;
	return 0;
}
