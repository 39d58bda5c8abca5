/*
 * The model file loader (daemon/loader.h, suite loader): io_uring and
 * read(2) read files of every awkward size (0, 1, 63, 64, 4095, 1 MiB and
 * its neighbours, 5 MiB + 7) bit for bit into 64-byte aligned buffers with
 * zeroed padding, also with odd depths and chunks and with IOSQE_ASYNC;
 * AUTO picks io_uring where the kernel has it and read(2) where a seccomp
 * filter takes it away (ENOSYS, EPERM), where URING fails; the size limit,
 * missing files, directories, FIFOs and devices are refused with the path
 * in the message; a fault injected at the first, a middle and the last
 * read fails the load cleanly in both loaders (no fd left open, no read
 * issued after it, the offset named), including while other reads are in
 * flight; EINTR is retried; a file that shrinks while read is an error; and
 * a real .dnnq file loads and parses.
 *
 * Files live in a directory per test under the fixture's temporary
 * directory, which the Check parent removes after the suite.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __x86_64__
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include "daemon/loader.h"
#include "engine/model.h"
#include "tests/rng.h"
#include "tests/suites.h"
#include "tools/serve-fixture.h"

#define MIB (1u << 20)
#define NO_LIMIT UINT64_MAX

static const struct dnnqd_loader_tuning defaults = DNNQD_LOADER_DEFAULTS;

/* ---- helpers ------------------------------------------------------------- */

static void make_dir(char *dir, size_t n)
{
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	snprintf(dir, n, "%s/loader-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* dir/name with n random bytes; the bytes (free them). */
static uint8_t *write_random(const char *dir, const char *name, size_t n, char *path,
                             size_t cap)
{
	struct rng r = { 0x10ad0000u + n };
	uint8_t *p = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng_next(&r);
	snprintf(path, cap, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
	return p;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Whether this kernel lets us make a ring (else URING is skipped, with a
 * note: CI runs on machines where it works). */
static bool uring_works(void)
{
	static int works = -1;
	if (works < 0) {
		struct io_uring ring;
		int rc = io_uring_queue_init(1, &ring, 0);
		works = rc == 0;
		if (works)
			io_uring_queue_exit(&ring);
		else
			printf("loader: note: io_uring_queue_init: %s: io_uring cases skipped\n",
			       strerror(-rc));
	}
	return works;
}

/* A load that must fail with status: NULL buffer, path in the message. */
static void assert_fails(const char *path, enum dnnqd_loader which, uint64_t max, int status,
                         struct dnnq_diag *d)
{
	void *buf = (void *)1;
	size_t len = 1;
	int rc = dnnqd_load_file(path, which, max, &buf, &len, NULL, d);
	ck_assert_msg(rc == status, "%s (%s): %d, not %d: %s", path, dnnqd_loader_name(which), rc,
	              status, d->msg);
	ck_assert_ptr_null(buf);
	ck_assert_uint_eq(len, 0);
	ck_assert_msg(strstr(d->msg, path) == d->msg, "'%s' does not start with %s", d->msg, path);
}

/* A load that must give want[0..n): aligned, zero padding, which loader. */
static void assert_loads(const char *path, enum dnnqd_loader which, const uint8_t *want,
                         size_t n)
{
	struct dnnq_diag d = { "" };
	void *buf;
	size_t len;
	enum dnnqd_loader used = DNNQD_LOADER_AUTO;
	int rc = dnnqd_load_file(path, which, NO_LIMIT, &buf, &len, &used, &d);
	ck_assert_msg(rc == 0, "%s (%s): %s", path, dnnqd_loader_name(which), d.msg);
	ck_assert_uint_eq(len, n);
	ck_assert_uint_eq((uintptr_t)buf % 64, 0);
	ck_assert(n == 0 || memcmp(buf, want, n) == 0);
	for (size_t i = n; i < (n ? (n + 63) / 64 * 64 : 64); i++)
		ck_assert_uint_eq(((uint8_t *)buf)[i], 0);
	if (which == DNNQD_LOADER_READ)
		ck_assert_int_eq(used, DNNQD_LOADER_READ);
	else if (uring_works())
		ck_assert_int_eq(used, DNNQD_LOADER_URING);
	free(buf);
}

/* The loaders a test runs: URING only where io_uring works. */
static size_t loaders(enum dnnqd_loader *l, bool with_auto)
{
	size_t n = 0;
	l[n++] = DNNQD_LOADER_READ;
	if (uring_works())
		l[n++] = DNNQD_LOADER_URING;
	if (with_auto)
		l[n++] = DNNQD_LOADER_AUTO;
	return n;
}

/* ---- reading ------------------------------------------------------------- */

static const size_t sizes[] = { 0, 1, 63, 64, 4095, MIB - 1, MIB, MIB + 1, 5 * MIB + 7 };
#define NSIZES (sizeof sizes / sizeof *sizes)

/* Every size, with the defaults, an odd depth and chunk (many completions
 * per slot, chunks across page boundaries) and IOSQE_ASYNC. */
START_TEST(loader_sizes_bit_exact)
{
	static const struct dnnqd_loader_tuning tunings[] = {
		DNNQD_LOADER_DEFAULTS,
		{ 3, 65537, false, false },
		{ 2, MIB, true, false },
		{ 5, MIB, false, true },
	};
	char dir[256], path[320], name[32];
	enum dnnqd_loader l[3];
	size_t nl = loaders(l, true);
	make_dir(dir, sizeof dir);
	for (size_t s = 0; s < NSIZES; s++) {
		snprintf(name, sizeof name, "f%zu", sizes[s]);
		uint8_t *want = write_random(dir, name, sizes[s], path, sizeof path);
		for (size_t t = 0; t < sizeof tunings / sizeof *tunings; t++) {
			dnnqd_loader_tuning = tunings[t];
			for (size_t i = 0; i < nl; i++)
				assert_loads(path, l[i], want, sizes[s]);
		}
		dnnqd_loader_tuning = defaults;
		free(want);
	}
}
END_TEST

START_TEST(loader_max_bytes)
{
	char dir[256], path[320];
	enum dnnqd_loader l[3];
	size_t nl = loaders(l, true);
	make_dir(dir, sizeof dir);
	uint8_t *want = write_random(dir, "f", 4096, path, sizeof path);
	for (size_t i = 0; i < nl; i++) {
		struct dnnq_diag d = { "" };
		assert_fails(path, l[i], 4095, DNNQ_E_NOMEM, &d);
		ck_assert_ptr_nonnull(strstr(d.msg, "4096 bytes"));
		assert_fails(path, l[i], 0, DNNQ_E_NOMEM, &d);
		void *buf;
		size_t len;
		ck_assert_int_eq(dnnqd_load_file(path, l[i], 4096, &buf, &len, NULL, &d), 0);
		ck_assert_mem_eq(buf, want, 4096);
		free(buf);
	}
	free(want);
}
END_TEST

/* Missing files and things that are not regular files; a FIFO without a
 * writer must not hang the open. */
START_TEST(loader_not_regular)
{
	char dir[256], path[5][320];
	enum dnnqd_loader l[3];
	size_t nl = loaders(l, true);
	make_dir(dir, sizeof dir);
	snprintf(path[0], sizeof path[0], "%s/missing", dir);
	snprintf(path[1], sizeof path[1], "%s", dir);
	snprintf(path[2], sizeof path[2], "%s/fifo", dir);
	snprintf(path[3], sizeof path[3], "%s/fifo-0", dir);
	snprintf(path[4], sizeof path[4], "/dev/zero");
	ck_assert_int_eq(mkfifo(path[2], 0600), 0);
	ck_assert_int_eq(mkfifo(path[3], 0), 0);
	int fds = count_fds();
	for (size_t i = 0; i < nl; i++) {
		struct dnnq_diag d = { "" };
		assert_fails(path[0], l[i], NO_LIMIT, DNNQ_E_IO, &d);
		ck_assert_ptr_nonnull(strstr(d.msg, strerror(ENOENT)));
		assert_fails(path[1], l[i], NO_LIMIT, DNNQ_E_INVAL, &d);
		ck_assert_ptr_nonnull(strstr(d.msg, "a directory"));
		assert_fails(path[2], l[i], NO_LIMIT, DNNQ_E_INVAL, &d);
		ck_assert_ptr_nonnull(strstr(d.msg, "a FIFO"));
		/* mode 0: EACCES unless root, who opens it and finds a FIFO */
		assert_fails(path[3], l[i], NO_LIMIT, geteuid() ? DNNQ_E_IO : DNNQ_E_INVAL, &d);
		assert_fails(path[4], l[i], NO_LIMIT, DNNQ_E_INVAL, &d);
		ck_assert_ptr_nonnull(strstr(d.msg, "a character device"));
	}
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(loader_bad_arguments)
{
	char dir[256], path[320];
	struct dnnq_diag d = { "" };
	make_dir(dir, sizeof dir);
	free(write_random(dir, "f", 100, path, sizeof path));
	assert_fails(path, (enum dnnqd_loader)7, NO_LIMIT, DNNQ_E_INVAL, &d);
	static const struct dnnqd_loader_tuning bad[] = {
		{ 0, MIB, false, false },
		{ DNNQD_LOADER_MAX_DEPTH + 1, MIB, false, false },
		{ 4, 0, false, false },
		{ 4, DNNQD_LOADER_MAX_CHUNK + 1, false, false },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		dnnqd_loader_tuning = bad[i];
		assert_fails(path, DNNQD_LOADER_READ, NO_LIMIT, DNNQ_E_INVAL, &d);
		ck_assert_ptr_nonnull(strstr(d.msg, "loader"));
	}
	dnnqd_loader_tuning = defaults;
	ck_assert_str_eq(dnnqd_loader_name(DNNQD_LOADER_AUTO), "auto");
	ck_assert_str_eq(dnnqd_loader_name(DNNQD_LOADER_URING), "io_uring");
	ck_assert_str_eq(dnnqd_loader_name(DNNQD_LOADER_READ), "read");
	ck_assert_str_eq(dnnqd_loader_name((enum dnnqd_loader)7), "?");
}
END_TEST

/* ---- faults -------------------------------------------------------------- */

/* What the hook does: fail (or interrupt, once) the read that covers
 * `target`, or truncate the file to `shrink_to` when it is issued. */
static struct {
	uint64_t target;
	int err;
	const char *truncate_path;
	off_t shrink_to;
	const char *link_path, *link_to;   /* repointed as the read is issued */
	bool fired;
	uint64_t fired_at;
	unsigned calls_after;
} hook;

static int fault_hook(uint64_t off, size_t len)
{
	if (hook.fired) {
		hook.calls_after++;
		return 0;
	}
	if (hook.target < off || hook.target >= off + len)
		return 0;
	hook.fired = true;
	hook.fired_at = off;
	if (hook.truncate_path)
		ck_assert_int_eq(truncate(hook.truncate_path, hook.shrink_to), 0);
	if (hook.link_path) {
		char tmp[400];
		snprintf(tmp, sizeof tmp, "%s.new", hook.link_path);
		ck_assert_int_eq(symlink(hook.link_to, tmp), 0);
		ck_assert_int_eq(rename(tmp, hook.link_path), 0);
	}
	return hook.err;
}

static void hook_arm(uint64_t target, int err)
{
	memset(&hook, 0, sizeof hook);
	hook.target = target;
	hook.err = err;
	dnnqd_loader_fault = fault_hook;
}

/* An EIO at the first, a middle and the last read, with the defaults (all
 * of a small file's reads are prepared before the fault) and with 2 x
 * 64 KiB (the fault comes while another read is in flight). */
START_TEST(loader_faults)
{
	static const struct dnnqd_loader_tuning tunings[] = {
		DNNQD_LOADER_DEFAULTS,
		{ 2, 64 << 10, false, false },
	};
	const size_t n = 5 * MIB + 7;
	const uint64_t targets[3] = { 0, n / 2, n - 1 };
	char dir[256], path[320], want[64];
	enum dnnqd_loader l[3];
	size_t nl = loaders(l, false);
	make_dir(dir, sizeof dir);
	free(write_random(dir, "f", n, path, sizeof path));
	int fds = count_fds();
	for (size_t t = 0; t < 2; t++) {
		dnnqd_loader_tuning = tunings[t];
		for (size_t i = 0; i < nl; i++) {
			for (int k = 0; k < 3; k++) {
				struct dnnq_diag d = { "" };
				hook_arm(targets[k], EIO);
				assert_fails(path, l[i], NO_LIMIT, DNNQ_E_IO, &d);
				ck_assert(hook.fired);
				snprintf(want, sizeof want, ": read at %llu: %s",
				         (unsigned long long)hook.fired_at, strerror(EIO));
				ck_assert_msg(strstr(d.msg, want), "'%s' lacks '%s'", d.msg, want);
				ck_assert_uint_eq(hook.calls_after, 0);
				ck_assert_int_eq(count_fds(), fds);
			}
		}
	}
	dnnqd_loader_fault = NULL;
	dnnqd_loader_tuning = defaults;
}
END_TEST

START_TEST(loader_eintr_retried)
{
	const size_t n = 3 * MIB + 5;
	char dir[256], path[320];
	enum dnnqd_loader l[3];
	size_t nl = loaders(l, false);
	make_dir(dir, sizeof dir);
	uint8_t *want = write_random(dir, "f", n, path, sizeof path);
	for (size_t i = 0; i < nl; i++) {
		hook_arm(n / 2, EINTR);
		assert_loads(path, l[i], want, n);
		ck_assert(hook.fired);
		ck_assert_uint_gt(hook.calls_after, 0);
	}
	dnnqd_loader_fault = NULL;
	free(want);
}
END_TEST

/* The file is cut to mid + 100 bytes as the read at mid is issued: that
 * read comes back short, the rest of it finds the end of the file. */
START_TEST(loader_file_shrinks)
{
	const size_t n = 5 * MIB + 7, mid = 2 * MIB + 3;
	char dir[256], path[320], want[64];
	enum dnnqd_loader l[3];
	size_t nl = loaders(l, false);
	make_dir(dir, sizeof dir);
	uint8_t *bytes = write_random(dir, "f", n, path, sizeof path);
	for (size_t i = 0; i < nl; i++) {
		struct dnnq_diag d = { "" };
		FILE *f = fopen(path, "wb");
		ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
		ck_assert_int_eq(fclose(f), 0);
		hook_arm(mid, 0);
		hook.truncate_path = path;
		hook.shrink_to = (off_t)(mid + 100);
		assert_fails(path, l[i], NO_LIMIT, DNNQ_E_IO, &d);
		ck_assert_msg(strstr(d.msg, "file shrank while reading"), "%s", d.msg);
		/* read(2) goes in order: the first end of file is right after the cut */
		snprintf(want, sizeof want, "at %zu of %zu bytes", mid + 100, n);
		if (l[i] == DNNQD_LOADER_READ)
			ck_assert_msg(strstr(d.msg, want), "'%s' lacks '%s'", d.msg, want);
	}
	dnnqd_loader_fault = NULL;
	free(bytes);
}
END_TEST

/* The path is a symlink repointed from a to b once the file is open:
 * `opened` describes the file read (a), not what the path names after. */
START_TEST(loader_reports_file_read)
{
	char dir[256], a[320], b[320], link[320];
	enum dnnqd_loader l[3];
	size_t nl = loaders(l, true);
	make_dir(dir, sizeof dir);
	uint8_t *abytes = write_random(dir, "a", 70000, a, sizeof a);
	free(write_random(dir, "b", 1000, b, sizeof b));
	snprintf(link, sizeof link, "%s/m", dir);
	struct stat sa, sb, now;
	ck_assert_int_eq(stat(a, &sa), 0);
	ck_assert_int_eq(stat(b, &sb), 0);
	for (size_t i = 0; i < nl; i++) {
		unlink(link);
		ck_assert_int_eq(symlink(a, link), 0);
		hook_arm(0, 0);
		hook.link_path = link;
		hook.link_to = b;
		struct dnnq_diag d = { "" };
		struct stat opened;
		void *buf;
		size_t len;
		ck_assert_msg(dnnqd_load_file_head(link, l[i], NO_LIMIT, NULL, &buf, &len, NULL,
		                                   &opened, &d) == 0, "%s", d.msg);
		ck_assert(hook.fired);
		ck_assert_uint_eq(len, 70000);
		ck_assert_int_eq(memcmp(buf, abytes, len), 0);
		ck_assert_uint_eq(opened.st_ino, sa.st_ino);
		ck_assert_int_eq(stat(link, &now), 0);
		ck_assert_uint_eq(now.st_ino, sb.st_ino);
		free(buf);
	}
	dnnqd_loader_fault = NULL;
	free(abytes);
}
END_TEST

/* ---- no io_uring --------------------------------------------------------- */

#ifdef __x86_64__
/* From here on io_uring_setup fails with err in this process. */
static int deny_io_uring(int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof *f, f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* In a child without io_uring: 0, or the step that went wrong. */
static int without_io_uring(int err, const char *path, const uint8_t *want, size_t n)
{
	struct dnnq_diag d = { "" };
	void *buf;
	size_t len;
	enum dnnqd_loader used = DNNQD_LOADER_AUTO;
	if (deny_io_uring(err))
		return 10;
	if (dnnqd_load_file(path, DNNQD_LOADER_AUTO, NO_LIMIT, &buf, &len, &used, &d))
		return 11;
	int bad = len != n || memcmp(buf, want, n) || used != DNNQD_LOADER_READ || d.msg[0];
	free(buf);
	if (bad)
		return 12;
	if (dnnqd_load_file(path, DNNQD_LOADER_URING, NO_LIMIT, &buf, &len, NULL, &d) !=
	    DNNQ_E_UNSUPPORTED || buf)
		return 13;
	if (strncmp(d.msg, path, strlen(path)) || !strstr(d.msg, strerror(err)))
		return 14;
	return 0;
}
#endif

START_TEST(loader_falls_back_without_io_uring)
{
#ifdef __x86_64__
	static const int errs[2] = { ENOSYS, EPERM };
	const size_t n = MIB + 1;
	char dir[256], path[320];
	make_dir(dir, sizeof dir);
	uint8_t *want = write_random(dir, "f", n, path, sizeof path);
	for (int i = 0; i < 2; i++) {
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			_exit(without_io_uring(errs[i], path, want, n));
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		              "%s: wait status %#x (exit 10: no seccomp filter, 11-12: AUTO, 13-14: "
		              "URING)", strerror(errs[i]), status);
	}
	free(want);
#else
	printf("loader: note: the seccomp filter is written for x86-64: fallback not tested\n");
#endif
}
END_TEST

/* ---- a real model -------------------------------------------------------- */

START_TEST(loader_real_model)
{
	char dir[256], path[320];
	struct dnnq_diag d = { "" };
	enum dnnqd_loader l[3];
	size_t nl = loaders(l, true);
	make_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/multi.dnnq", dir);
	ck_assert_msg(fixture_model_write(FIXTURE_MULTI, path, &d) == 0, "%s", d.msg);
	for (size_t i = 0; i < nl; i++) {
		void *buf;
		size_t len;
		struct dnnq_model m;
		ck_assert_msg(dnnqd_load_file(path, l[i], NO_LIMIT, &buf, &len, NULL, &d) == 0, "%s",
		              d.msg);
		ck_assert_msg(dnnq_model_read(buf, len, &m, &d) == 0, "%s", d.msg);
		ck_assert_str_eq(m.name, "multi");
		ck_assert_uint_eq(m.ninputs, 2);
		dnnq_model_free(&m);
		free(buf);
	}
}
END_TEST

Suite *suite_loader(void)
{
	Suite *s = suite_create("loader");
	TCase *tc = tcase_create("loader");
	tcase_add_unchecked_fixture(tc, fixture_tmp_begin, fixture_tmp_end);
	tcase_add_test(tc, loader_sizes_bit_exact);
	tcase_add_test(tc, loader_max_bytes);
	tcase_add_test(tc, loader_not_regular);
	tcase_add_test(tc, loader_bad_arguments);
	tcase_add_test(tc, loader_faults);
	tcase_add_test(tc, loader_eintr_retried);
	tcase_add_test(tc, loader_file_shrinks);
	tcase_add_test(tc, loader_reports_file_read);
	tcase_add_test(tc, loader_falls_back_without_io_uring);
	tcase_add_test(tc, loader_real_model);
	suite_add_tcase(s, tc);
	return s;
}
