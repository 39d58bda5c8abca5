/*
 * daemon/loader.h — reading a model file into memory: io_uring with several
 * reads in flight into 64-byte aligned memory, or plain read(2) where
 * io_uring is unavailable (ENOSYS, EPERM under a seccomp filter...). This is
 * the only code that reads model files; parsing and packing come after.
 * daemon/loader.c's top comment has the design and the measurements.
 */
#ifndef DNNQ_DAEMON_LOADER_H
#define DNNQ_DAEMON_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "shm/dnnq_error.h"

enum dnnqd_loader {
	DNNQD_LOADER_AUTO = 0,   /* io_uring, falling back to read(2) */
	DNNQD_LOADER_URING,      /* io_uring or fail (DNNQ_E_UNSUPPORTED) */
	DNNQD_LOADER_READ,       /* read(2) only */
};

/* "a directory", "a FIFO", ... for a mode that is not a regular file's. */
const char *dnnqd_file_kind(mode_t m);

/*
 * Reads all of path (a regular file) into *buf, *len bytes. *buf is 64-byte
 * aligned, its size *len rounded up to 64 (64 for an empty file, which is
 * not an error), the bytes past *len zero; free() it. *used says which
 * loader did it (URING or READ; NULL: not wanted). On failure *buf is NULL,
 * *len 0, *used untouched, and the diag is one line starting "PATH: ":
 *   DNNQ_E_IO           open, fstat or a read failed ("PATH: read at
 *                       OFFSET: strerror"), or the file shrank meanwhile
 *   DNNQ_E_INVAL        not a regular file (directory, FIFO, device), or
 *                       a bad `which` or dnnqd_loader_tuning
 *   DNNQ_E_NOMEM        larger than max_bytes, or no memory for it
 *   DNNQ_E_UNSUPPORTED  DNNQD_LOADER_URING where io_uring is unavailable
 * Growth while reading is not noticed: the bytes are those of the size
 * fstat saw (the caller compares the file's identity before and after).
 */
int dnnqd_load_file(const char *path, enum dnnqd_loader which, uint64_t max_bytes, void **buf,
                    size_t *len, enum dnnqd_loader *used, struct dnnq_diag *diag);

/* A look at a file before it is read whole: `check` is given its first
 * `len` bytes (all of it when it is shorter) and the size fstat gave the
 * open file, and a non-zero return (with its diag line, which gets "PATH: "
 * in front) refuses the file before its buffer is allocated. The daemon
 * checks a model's header so a file that is not a .dnnq of exactly its
 * size (a sparse multi-gigabyte file, a disk image named by mistake) costs
 * one small read, not its size in memory. */
struct dnnqd_load_head {
	size_t len;
	int (*check)(const void *head, size_t len, uint64_t file_size, struct dnnq_diag *diag);
};

/* dnnqd_load_file, after `head` (NULL: none) has passed the file; `opened`
 * (NULL: not wanted) gets fstat of the file it read, taken after the read:
 * the caller compares it with stat of the path before and after, so a path
 * swapped to another file and back around the open is seen. */
int dnnqd_load_file_head(const char *path, enum dnnqd_loader which, uint64_t max_bytes,
                         const struct dnnqd_load_head *head, void **buf, size_t *len,
                         enum dnnqd_loader *used, struct stat *opened,
                         struct dnnq_diag *diag);

/* For the fault tests: when set, called before each read is issued (both
 * loaders) with the file offset and length; a non-zero return fails that
 * read with that errno as if the device had (EINTR: the read is retried,
 * and the hook asked again). NULL in production. */
extern int (*dnnqd_loader_fault)(uint64_t offset, size_t len);

/*
 * How the loaders read, for the benchmark and the tests (the daemon keeps
 * the defaults): io_uring keeps `depth` reads of `chunk` bytes in flight;
 * read(2) reads `chunk` bytes per call, so an offset means the same read
 * in both. `async` sets IOSQE_ASYNC: every read goes to the kernel's io-wq
 * threads, which copy page-cache hits on several CPUs at once (loader.c
 * says why it is off, and how the defaults were measured). `no_readahead`
 * advises POSIX_FADV_RANDOM instead of SEQUENTIAL, so reads reach the
 * device as issued: what the benchmark uses to show what depth buys where
 * readahead does not keep the device busy. Checked at each
 * load: depth 1..DNNQD_LOADER_MAX_DEPTH, chunk 1..DNNQD_LOADER_MAX_CHUNK,
 * else DNNQ_E_INVAL. Like the fault hook, change it only while no load runs.
 */
struct dnnqd_loader_tuning {
	unsigned depth;
	uint32_t chunk;
	bool async;
	bool no_readahead;
};

#define DNNQD_LOADER_DEPTH 8
#define DNNQD_LOADER_CHUNK (1u << 20)
/* An initializer: struct dnnqd_loader_tuning t = DNNQD_LOADER_DEFAULTS; */
#define DNNQD_LOADER_DEFAULTS { DNNQD_LOADER_DEPTH, DNNQD_LOADER_CHUNK, false, false }
#define DNNQD_LOADER_MAX_DEPTH 64
#define DNNQD_LOADER_MAX_CHUNK (1u << 30)

extern struct dnnqd_loader_tuning dnnqd_loader_tuning;

/* "auto", "io_uring", "read"; "?" for anything else. */
const char *dnnqd_loader_name(enum dnnqd_loader l);

#endif
