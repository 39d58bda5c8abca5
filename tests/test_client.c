/*
 * libdnnq-client against the fake daemon of tests/fakedaemon.h (no real
 * dnnqd: tests/test_serve.c does that): connecting and every malformed
 * HELLO reply (each an error, with no fd or mapping left behind), model
 * signatures and their malformed replies, a daemon answering every model
 * index (the library and dnnqctl stop), tensors and the checks of a
 * request, synchronous and asynchronous requests, ticket misuse, abandoned
 * slots, the event fd and the doorbell, threads sharing a client, and the
 * daemon dying or hanging (socket hang-up, stale heartbeat, late control
 * replies). Time is asserted only as loose upper bounds on detection.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calibration/npy.h"
#include "client/client-internal.h"
#include "client/dnnq.h"
#include "engine/base.h"
#include "shm/dnnq_proto.h"
#include "tests/fakedaemon.h"
#include "tests/suites.h"

#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define LOAD(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)

static struct fake_daemon fake;

/* The fake's worker leaves the ring alone from now on: a pass already past
 * its look at `paused` (a request submitted next could be in it) ends
 * under the lock first. */
static void pause_fake(void)
{
	STORE(&fake.paused, 1);
	pthread_mutex_lock(&fake.lock);
	pthread_mutex_unlock(&fake.lock);
}

/* Until the fake has completed n requests in all. */
static void served_at_least(uint64_t n)
{
	while (LOAD(&fake.served) < n)
		usleep(100);
}

static void fake_up(void)
{
	ck_assert_int_eq(fake_daemon_start(&fake), 0);
}

static void fake_down(void)
{
	fake_daemon_stop(&fake);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_path(const char *path, uint32_t slots, int timeout_ms,
                        struct dnnq_client **c)
{
	struct dnnq_connect_opts o = {
		.slots = slots, .arena_bytes = 1 << 20, .timeout_ms = timeout_ms,
	};
	return dnnq_connect(path, &o, c);
}

static int connect_opts(uint32_t slots, int timeout_ms, struct dnnq_client **c)
{
	return connect_path(fake.path, slots, timeout_ms, c);
}

static struct dnnq_client *connect_fake(uint32_t slots)
{
	struct dnnq_client *c = NULL;
	ck_assert_int_eq(connect_opts(slots, 2000, &c), 0);
	return c;
}

static struct dnnq_model *open_model(struct dnnq_client *c, const char *name)
{
	struct dnnq_model *m = NULL;
	ck_assert_int_eq(dnnq_model_open(c, name, &m), 0);
	return m;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

static int fake_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(f);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, "dnnq-fake") != NULL;
	fclose(f);
	return n;
}

/* Tensors for "double" at batch b, x filled with 0, 1, 2, ... */
struct io {
	struct dnnq_tensor in, out;
};

static void io_alloc(struct dnnq_model *m, uint32_t b, struct io *io)
{
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, b, &io->in), 0);
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, 0, b, &io->out), 0);
	float *x = io->in.data;
	for (size_t i = 0; i < io->in.bytes / 4; i++)
		x[i] = (float)i;
	memset(io->out.data, 0, io->out.bytes);
}

static void io_check(const struct io *io, float add)
{
	const float *y = io->out.data;
	for (size_t i = 0; i < io->out.bytes / 4; i++)
		ck_assert_float_eq(y[i], 2 * ((float)i + add));
}

static int io_infer(struct dnnq_model *m, struct io *io, int timeout_ms)
{
	const struct dnnq_tensor *ins[] = { &io->in };
	struct dnnq_tensor *outs[] = { &io->out };
	return dnnq_infer(m, ins, outs, timeout_ms);
}

static int io_submit(struct dnnq_model *m, struct io *io, struct dnnq_request *r)
{
	const struct dnnq_tensor *ins[] = { &io->in };
	struct dnnq_tensor *outs[] = { &io->out };
	return dnnq_submit(m, ins, outs, r);
}

/* A client of the fake daemon with a model open and one set of tensors. */
struct env {
	struct dnnq_client *c;
	struct dnnq_model *m;
	struct io io;
};

static void env_up(struct env *e, uint32_t slots, const char *model, uint32_t batch)
{
	fake_up();
	e->c = connect_fake(slots);
	e->m = open_model(e->c, model);
	io_alloc(e->m, batch, &e->io);
}

static void env_down(struct env *e)
{
	dnnq_close(e->c);
	fake_down();
}

static struct dnnq_shm_request last_request(void)
{
	pthread_mutex_lock(&fake.lock);
	struct dnnq_shm_request r = fake.last;
	pthread_mutex_unlock(&fake.lock);
	return r;
}

/* ---- connecting ---------------------------------------------------------- */

START_TEST(connect_infer_stats)
{
	fake_up();
	struct dnnq_client *c = connect_fake(4);
	ck_assert_uint_eq(fake.hello_slots, 4);
	ck_assert_uint_eq(fake.hello_arena, 1 << 20);
	struct dnnq_model *m = open_model(c, "double");
	ck_assert_str_eq(dnnq_model_name_of(m), "double");
	ck_assert_uint_eq(dnnq_model_num_inputs(m), 1);
	ck_assert_uint_eq(dnnq_model_num_outputs(m), 1);
	ck_assert_uint_eq(dnnq_model_max_batch(m), 8);
	ck_assert_uint_eq(dnnq_model_generation(m), 3);
	struct dnnq_io_info info;
	ck_assert_int_eq(dnnq_model_io(m, DNNQ_OUTPUT, 0, &info), 0);
	ck_assert_str_eq(info.name, "y");
	ck_assert_int_eq(info.dtype, DNNQ_TYPE_F32);
	ck_assert_uint_eq(info.rank, 2);
	ck_assert_int_eq(info.dims[0], 1);
	ck_assert_int_eq(info.dims[1], 4);
	ck_assert_int_eq(dnnq_model_io(m, DNNQ_INPUT, 1, &info), DNNQ_E_RANGE);

	struct io io;
	io_alloc(m, 3, &io);
	ck_assert_uint_eq(io.in.bytes, 3 * 4 * 4);
	ck_assert_uint_eq((uintptr_t)io.in.data % 64, 0);
	ck_assert_int_eq(io_infer(m, &io, 2000), 0);
	io_check(&io, 0);
	struct dnnq_shm_request r = last_request();
	ck_assert_uint_eq(r.model_id, 7);
	ck_assert_uint_eq(r.model_gen, 3);
	ck_assert_uint_eq(r.batch, 3);
	ck_assert_uint_eq(r.n_inputs, 1);
	ck_assert_uint_eq(r.n_outputs, 1);
	ck_assert_uint_eq(r.t[0].offset, io.in.offset);
	ck_assert_uint_eq(r.t[1].bytes, io.out.bytes);
	ck_assert_int_eq(r.t[1].dims[0], 3);
	ck_assert_int_eq(r.t[1].dims[1], 4);

	struct dnnq_stats st;
	ck_assert_int_eq(dnnq_stats(c, &st), 0);
	ck_assert_uint_eq(st.uptime_ns, 1234567890);
	ck_assert_uint_eq(st.requests, 1);
	ck_assert_uint_eq(st.pid, (uint32_t)getpid());
	ck_assert_str_eq(st.status, "serving 3 models");
	dnnq_tensor_free(c, &io.in);
	dnnq_tensor_free(c, &io.out);
	ck_assert_ptr_null(io.in.data);
	dnnq_model_close(m);
	dnnq_close(c);
	fake_down();
}
END_TEST

START_TEST(connect_arguments_and_paths)
{
	struct dnnq_client *c = (void *)1;
	struct dnnq_connect_opts o = { .timeout_ms = -1 };
	ck_assert_int_eq(dnnq_connect("/nonexistent/dnnq.sock", NULL, &c), DNNQ_E_IO);
	ck_assert_ptr_null(c);
	/* each option refused names its field and range (the text was
	 * "dnnq_connect: options: invalid argument") */
	ck_assert_int_eq(dnnq_connect("/tmp/x", &o, &c), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_connect: timeout_ms -1: 0 (the default, 5000)"
	                 " or more");
	o = (struct dnnq_connect_opts){ .slots = DNNQ_SHM_MAX_SLOTS + 1 };
	ck_assert_int_eq(dnnq_connect("/tmp/x", &o, &c), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_connect: slots 4097: at most 4096");
	o = (struct dnnq_connect_opts){ .arena_bytes = DNNQ_SHM_MAX_ARENA + 1 };
	ck_assert_int_eq(dnnq_connect("/tmp/x", &o, &c), DNNQ_E_NOMEM);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_connect: arena_bytes 68719476737: at most"
	                 " 68719476736 (64 GiB)");
	ck_assert_int_eq(dnnq_connect("/tmp/x", NULL, NULL), DNNQ_E_INVAL);
	char longpath[200];
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = 0;
	ck_assert_int_eq(dnnq_connect(longpath, NULL, &c), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_connect("", NULL, &c), DNNQ_E_INVAL);

	/* NULL path: $DNNQ_SOCKET; the default socket when it is unset. */
	fake_up();
	setenv("DNNQ_SOCKET", fake.path, 1);
	o = (struct dnnq_connect_opts){ .slots = 2, .arena_bytes = 4096 };
	ck_assert_int_eq(dnnq_connect(NULL, &o, &c), 0);
	dnnq_close(c);
	unsetenv("DNNQ_SOCKET");
	setenv("XDG_RUNTIME_DIR", "/nonexistent", 1);
	int rc = dnnq_connect(NULL, &o, &c);
	if (access(DNNQ_DEFAULT_SOCKET, F_OK) != 0)
		ck_assert_int_eq(rc, DNNQ_E_IO);
	else if (rc == 0)
		dnnq_close(c);
	dnnq_close(NULL);
	fake_down();
}
END_TEST

/* What the library hands on from a hostile daemon is text: UTF-8 without
 * a control (no escape sequence, no newline) for terminals and logs. */
static void assert_text(const char *s, const char *what)
{
	for (size_t n, at = 0; s[at]; at += n)
		ck_assert_msg((n = dnnq_utf8_char(s + at)) > 0, "%s: byte %zu of '%s' is %#x", what,
		              at, s, (unsigned char)s[at]);
}

static const int hello_want[FAKE_HELLO_NFAULTS] = {
	[FAKE_HELLO_OK]         = 0,
	[FAKE_HELLO_SHORT]      = DNNQ_E_PROTO,
	[FAKE_HELLO_LONG]       = DNNQ_E_PROTO,
	[FAKE_HELLO_TYPE]       = DNNQ_E_PROTO,
	[FAKE_HELLO_SEQ]        = DNNQ_E_PROTO,
	[FAKE_HELLO_MAGIC]      = DNNQ_E_PROTO,
	[FAKE_HELLO_VERSION]    = DNNQ_E_VERSION,
	[FAKE_HELLO_NO_FDS]     = DNNQ_E_PROTO,
	[FAKE_HELLO_TWO_FDS]    = DNNQ_E_PROTO,
	[FAKE_HELLO_FOUR_FDS]   = DNNQ_E_PROTO,
	[FAKE_HELLO_BIG_REGION] = DNNQ_E_PROTO,
	[FAKE_HELLO_CORRUPT]    = DNNQ_E_FORMAT,
	[FAKE_HELLO_UNSEALED]   = DNNQ_E_PROTO,
	[FAKE_HELLO_MESSAGE]    = DNNQ_E_PROTO,
	[FAKE_HELLO_ABI]        = DNNQ_E_VERSION,
	[FAKE_HELLO_PERM]       = DNNQ_E_PERM,
	[FAKE_HELLO_SMALL]      = DNNQ_E_PROTO,
	[FAKE_HELLO_HDR_ONLY]   = DNNQ_E_PROTO,
	[FAKE_HELLO_HANGUP]     = DNNQ_E_DISCONNECTED,
	[FAKE_HELLO_SILENT]     = DNNQ_E_TIMEDOUT,
	[FAKE_HELLO_EMPTY_FD]   = 0,	/* the packet (read as a hang-up, then not) dropped */
	[FAKE_HELLO_ESCAPE]     = DNNQ_E_PERM,
	[FAKE_HELLO_PIPE_FDS]   = DNNQ_E_PROTO,
	[FAKE_HELLO_STREAM_FD]  = DNNQ_E_PROTO,
	[FAKE_HELLO_HUGETLB]    = DNNQ_E_PROTO,
	[FAKE_HELLO_WRITE_SEALED] = DNNQ_E_IO,
};

/* What dnnq_last_error says for the region's faults: the rule the reply
 * broke, not only "session set-up: protocol error". */
static const char *const hello_said[FAKE_HELLO_NFAULTS] = {
	[FAKE_HELLO_BIG_REGION] = "region memfd: region_size ",
	[FAKE_HELLO_CORRUPT]    = "region: magic 0x",
	[FAKE_HELLO_UNSEALED]   = "region memfd: not sealed against shrinking",
	[FAKE_HELLO_WRITE_SEALED] = "region memfd: mmap of ",
};

START_TEST(hello_faults_leave_nothing)
{
	fake_up();
	int fds = count_fds();
	for (int f = 0; f < FAKE_HELLO_NFAULTS; f++) {
		struct dnnq_client *c = NULL;
		STORE(&fake.hello_fault, f);
		int64_t t0 = now_ms();
		int rc = connect_opts(4, 300, &c);
		ck_assert_msg(rc == hello_want[f], "fault %d: rc %d (%s), want %d", f, rc,
		              dnnq_strerror(rc), hello_want[f]);
		ck_assert_int_lt(now_ms() - t0, 2000);
		assert_text(dnnq_last_error(), "the last error");
		ck_assert_msg(!hello_said[f] || (strstr(dnnq_last_error(), hello_said[f]) &&
		                                 strstr(dnnq_last_error(), fake.path)),
		              "fault %d: '%s' does not say '%s'", f, dnnq_last_error(), hello_said[f]);
		if (rc == 0)
			dnnq_close(c);
		else
			ck_assert_ptr_null(c);
		ck_assert_int_eq(fake_daemon_wait_ended(&fake, (uint64_t)f + 1), 0);
		ck_assert_msg(count_fds() == fds, "fault %d: %d fds open, %d before", f,
		              count_fds(), fds);
		ck_assert_msg(fake_mapped() == 0, "fault %d: the region is still mapped", f);
	}
	fake_down();
}
END_TEST

/* A process out of descriptors: the HELLO reply's three cannot all be
 * installed (the kernel drops the rest, MSG_CTRUNC). That read as
 * "session set-up: protocol error", which sent people after dnnqd; now
 * DNNQ_E_NOMEM saying the process has no descriptor left, none kept. In a
 * child, whose limit is its own; its exit status says what failed. */
START_TEST(out_of_fds_says_so)
{
	fake_up();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int before = count_fds(), lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
		close(lowest);
		struct rlimit was, low;
		getrlimit(RLIMIT_NOFILE, &was);
		/* room for the socket and one of the reply's fds */
		low = (struct rlimit){ (rlim_t)lowest + 2, was.rlim_max };
		struct dnnq_client *c = NULL;
		int rc = setrlimit(RLIMIT_NOFILE, &low) ? 0 : connect_opts(2, 2000, &c);
		bool said = strstr(dnnq_last_error(), "no file descriptor left (its RLIMIT_NOFILE") &&
		            strstr(dnnq_last_error(), fake.path);
		setrlimit(RLIMIT_NOFILE, &was);
		int after = count_fds();
		int again = connect_opts(2, 2000, &c);
		if (!again)
			dnnq_close(c);
		_exit(rc != DNNQ_E_NOMEM ? 1 : !said ? 2 : after != before ? 3 : again ? 4 : 0);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	static const char *const what[] = {
		"", "not DNNQ_E_NOMEM", "no text naming RLIMIT_NOFILE and the socket",
		"descriptors left open", "no connect once the limit was back",
	};
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "out of descriptors: %s",
	              WIFEXITED(status) && WEXITSTATUS(status) < 5 ? what[WEXITSTATUS(status)]
	              : "the child died");
	fake_down();
}
END_TEST

/* The fake's socket made uid 65534's: a child of that uid calls listen(2)
 * on it again, which is what SO_PEERCRED reports to a connect. */
static void listener_becomes(uid_t uid)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid) ||
		      listen(fake.listen_fd, 8) ? 1 : 0);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "listen as uid %u",
	              (unsigned)uid);
}

/* Whether every directory from / down to dir is root's and writable by no
 * group or other user (the way only root may change). */
static bool roots_way(const char *dir)
{
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return false;
	for (;;) {
		struct stat st;
		if (stat(real, &st) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
			return false;
		if (real[1] == '\0')
			return true;	/* "/" was the last */
		char *slash = strrchr(real, '/');
		slash[slash == real] = '\0';
	}
}

/* One connect to path: its status, its text into said. */
static int connect_at(const char *path, char *said, size_t len)
{
	struct dnnq_client *c = NULL;
	int rc = connect_path(path, 2, 2000, &c);
	snprintf(said, len, "%s", dnnq_last_error());
	if (rc == 0)
		dnnq_close(c);
	return rc;
}

/* One connect to the fake: its status, its text into said. */
static int connect_said(char *said, size_t len)
{
	return connect_at(fake.path, said, len);
}

/* A connect to the fake from a child in a user namespace of its own,
 * root's uid mapped there or none: 2 when refused naming the overflow
 * uid, 1 when refused otherwise, 0 when served, 3 when unshare failed, 4
 * for another error. */
static int in_userns(bool map_root)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char said[512];
		int f = unshare(CLONE_NEWUSER) ? -1 : map_root ? open("/proc/self/uid_map", O_WRONLY)
		                                            : 0;
		if (f < 0 || (map_root && (write(f, "0 0 1", 5) != 5 || close(f))))
			_exit(3);
		int rc = connect_said(said, sizeof said);
		_exit(rc == 0 ? 0 : rc != DNNQ_E_PERM ? 4 : strstr(said, "uid 65534 is the overflow "
		      "uid: root's dnnqd outside") ? 2 : 1);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* attack52: a socket in a directory every user may write to (listen.path
 * under /tmp) is anyone's while dnnqd is down, and the library talked to
 * whatever listened there: another user's program got the inputs and
 * answered with outputs of its choosing. Now the listener's uid
 * (SO_PEERCRED) must be root, the caller's, the owner of the socket's way
 * or $DNNQ_DAEMON_UID's. */
START_TEST(impostor_daemon_refused)
{
	if (geteuid() != 0) {
		printf("client: impostor daemon: skipped (not root: cannot listen as uid 65534)\n");
		return;
	}
	char cwd[PATH_MAX], said[512], refused[512];
	bool owned_way = getcwd(cwd, sizeof cwd) && strlen(cwd) < 60 && roots_way(cwd);
	int fds = count_fds();
	/* uid 65534 listening in root's directory under /tmp, then in its own */
	fake_up();
	listener_becomes(65534);
	unsetenv("DNNQ_DAEMON_UID");
	ck_assert_int_eq(connect_said(refused, sizeof refused), DNNQ_E_PERM);
	ck_assert_msg(strstr(refused, fake.path) && strstr(refused, "uid 65534 (pid ") &&
	              strstr(refused, "DNNQ_DAEMON_UID=65534"), "said '%s'", refused);
	/* from a user namespace, where uid 65534 is unmapped and reads as the
	 * overflow uid: refused saying so, and also when the client's own uid
	 * is unmapped there (it read as 65534 too, and was taken for its own) */
	ck_assert_int_eq(in_userns(true), 2);
	ck_assert_int_eq(in_userns(false), 2);
	ck_assert_int_eq(chown(fake.dir, 65534, 65534), 0);
	ck_assert_int_eq(connect_said(said, sizeof said), DNNQ_E_PERM);
	/* named: served; a name that is no uid: refused saying so */
	setenv("DNNQ_DAEMON_UID", "65534", 1);
	ck_assert_int_eq(connect_said(said, sizeof said), 0);
	/* a sign, a space, trailing text, (uid_t)-1 and past 2^64 each refused
	 * by name (review fix56: strtoul alone takes all but the last two) */
	static const char *const bad[] = { "65534x", " 65534", "+65534", "-1", "0x10",
	                                   "4294967295", "99999999999999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char want[96];
		setenv("DNNQ_DAEMON_UID", bad[i], 1);
		ck_assert_int_eq(connect_said(said, sizeof said), DNNQ_E_INVAL);
		snprintf(want, sizeof want, "$DNNQ_DAEMON_UID '%s': not a uid", bad[i]);
		ck_assert_msg(strstr(said, want), "said '%s'", said);
	}
	unsetenv("DNNQ_DAEMON_UID");
	ck_assert_int_eq(fake_daemon_wait_ended(&fake, 4), 0);
	fake_down();
	/* uid 65534's directory (0755) on a way only root may change: it owns
	 * what is there, as the system service's dnnq user owns /run/dnnq */
	if (owned_way) {
		ck_assert_int_eq(fake_daemon_start_in(&fake, cwd), 0);
		listener_becomes(65534);
		ck_assert_int_eq(chown(fake.dir, 65534, 65534), 0);
		ck_assert_int_eq(chmod(fake.dir, 0755), 0);
		ck_assert_int_eq(connect_said(said, sizeof said), 0);
		/* the same directory reached through a link root put in root's
		 * directory (/var/run -> /run), relative with '..' and '//'
		 * (each was refused as "a symlink on the way" or not seen
		 * through); a link in a group-writable one is refused */
		const char *base = strrchr(fake.dir, '/') + 1;
		char link[sizeof fake.dir + 8], wdir[sizeof fake.dir + 8], p[2 * sizeof fake.dir + 32];
		snprintf(link, sizeof link, "%s.link", fake.dir);
		snprintf(wdir, sizeof wdir, "%s.w", fake.dir);
		ck_assert_int_eq(symlink(base, link), 0);
		ck_assert_int_eq(mkdir(wdir, 0775), 0);
		ck_assert_int_eq(chmod(wdir, 0775), 0);
		snprintf(p, sizeof p, "%s/l", wdir);
		ck_assert_int_eq(symlink(fake.dir, p), 0);
		snprintf(p, sizeof p, "%s/dnnqd.sock", link);
		ck_assert_msg(connect_at(p, said, sizeof said) == 0, "%s: '%s'", p, said);
		snprintf(p, sizeof p, "%s.link//../%s.link/dnnqd.sock", base, base);
		ck_assert_msg(connect_at(p, said, sizeof said) == 0, "%s: '%s'", p, said);
		snprintf(p, sizeof p, "%s/l/dnnqd.sock", wdir);
		ck_assert_int_eq(connect_at(p, said, sizeof said), DNNQ_E_PERM);
		snprintf(p, sizeof p, "%s/l", wdir);
		ck_assert_int_eq(unlink(p), 0);
		ck_assert_int_eq(rmdir(wdir), 0);
		ck_assert_int_eq(unlink(link), 0);
		ck_assert_int_eq(chmod(fake.dir, 0775), 0);
		ck_assert_int_eq(connect_said(said, sizeof said), DNNQ_E_PERM);
		fake_down();
	}
	ck_assert_int_eq(count_fds(), fds);
	printf("client: uid 65534 listening on the socket's path (in root's directory under /tmp;"
	       " in its own there%s): %d tries: refused in /tmp, DNNQ_E_PERM ('%s'); served with"
	       " DNNQ_DAEMON_UID=65534%s\n", owned_way ? "; in its own of mode 0755, then 0775, on"
	       " a way only root may change, through a link of root's, relative with '..' and '//', and"
	       " a link in a group-writable directory" : "", owned_way ? 8 : 3, refused, owned_way ?
	       ", and in its own 0755 directory on root's way, through root's link too (refused"
	       " through the group-writable directory's, and once 0775)" : "");
}
END_TEST

/* Each call of a session, the answers hostile: every one returns 0 or an
 * error (with its text), none crashes, hangs past the timeout or (ASan)
 * reads or writes outside its buffers. The first error ends it. */
static int mutated_session(struct dnnq_client *c)
{
	char name[64];
	struct dnnq_stats st;
	int rc = dnnq_model_name(c, 1, name, sizeof name);
	if (rc >= 0 && (rc = dnnq_stats(c, &st)) == 0)
		assert_text(st.status, "STATS");
	for (unsigned i = 0; i < 2 && rc >= 0; i++) {
		struct dnnq_model *m = NULL;
		rc = dnnq_model_open(c, i ? "quant" : "double", &m);
		if (rc)
			break;
		struct dnnq_io_info info;
		ck_assert_int_eq(dnnq_model_io(m, DNNQ_OUTPUT, 0, &info), 0);
		ck_assert_uint_lt(strlen(info.name), 64);
		struct dnnq_tensor t[2];
		rc = dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, 2, &t[0]);
		if (rc == 0 && (rc = dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, 0, 2, &t[1])) != 0)
			dnnq_tensor_free(c, &t[0]);
		if (rc == 0) {
			memset(t[0].data, 1, t[0].bytes);
			const struct dnnq_tensor *in = &t[0];
			struct dnnq_tensor *out = &t[1];
			rc = dnnq_infer(m, &in, &out, 100);
			dnnq_tensor_free(c, &t[0]);
			dnnq_tensor_free(c, &t[1]);
		}
		dnnq_model_close(m);
	}
	return rc > 0 ? 0 : rc;
}

#define MUTATED 300

START_TEST(mutated_replies)
{
	fake_up();
	int fds = count_fds();
	int connected = 0, whole = 0;
	for (uint64_t k = 1; k <= MUTATED; k++) {
		struct dnnq_client *c = NULL;
		STORE(&fake.mutate_seed, k * 0x9e3779b97f4a7c15ull);
		int rc = connect_opts(4, 100, &c);
		if (rc == 0) {
			connected++;
			rc = mutated_session(c);
			whole += rc == 0;
			dnnq_close(c);
		} else {
			ck_assert_ptr_null(c);
		}
		/* 0 or a documented code, whatever status the daemon made up */
		ck_assert_msg(rc <= 0 && rc >= DNNQ_E_PROTO, "seed %d: rc %d", (int)k, rc);
		ck_assert_msg(rc == 0 || dnnq_last_error()[0], "seed %d: no text", (int)k);
		assert_text(dnnq_last_error(), "the last error");
		ck_assert_msg(fake_daemon_wait_ended(&fake, k) == 0, "seed %d: still connected",
		              (int)k);
		ck_assert_msg(count_fds() == fds, "seed %d: %d fds open, %d before", (int)k,
		              count_fds(), fds);
		ck_assert_msg(fake_mapped() == 0, "seed %d: the region is still mapped", (int)k);
	}
	STORE(&fake.mutate_seed, 0);
	dnnq_close(connect_fake(2));
	printf("client: a session's replies mutated (bits, u16/u32/u64 fields at edges, cut, "
	       "grown, seq, status, NULs gone, fds of another kind, twice, fewer, more; the region "
	       "header; completion statuses; slot state and waiters words): %d tries: %d connected, %d sessions whole\n",
	       MUTATED, connected, whole);
	fake_down();
}
END_TEST

/* ---- models ---------------------------------------------------------------- */

START_TEST(model_listing_and_lookup)
{
	fake_up();
	struct dnnq_client *c = connect_fake(2);
	char name[64];
	ck_assert_int_eq(dnnq_model_name(c, 0, name, sizeof name), 3);
	ck_assert_str_eq(name, "double");
	ck_assert_int_eq(dnnq_model_name(c, 2, name, sizeof name), 3);
	ck_assert_str_eq(name, "stale");
	ck_assert_int_eq(dnnq_model_name(c, 1, NULL, 0), 3);
	ck_assert_int_eq(dnnq_model_name(c, 1, name, 5), DNNQ_E_NOSPACE);
	ck_assert_int_eq(dnnq_model_name(c, 3, name, sizeof name), DNNQ_E_NOTFOUND);
	ck_assert_int_eq(dnnq_model_name(c, 0, NULL, 4), DNNQ_E_INVAL);

	struct dnnq_model *m = (void *)1;
	ck_assert_int_eq(dnnq_model_open(c, "resnet", &m), DNNQ_E_NOTFOUND);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(dnnq_last_error(), "model 'resnet': not found (dnnqd serves: 'double',"
	                 " 'quant', 'stale')");
	char longname[80];
	memset(longname, 'm', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	/* each refusal says what is wrong (they said "invalid argument") */
	ck_assert_int_eq(dnnq_model_open(c, longname, &m), DNNQ_E_INVAL);
	char want[160];
	snprintf(want, sizeof want, "model '%.64s...': a name of 79 bytes: dnnqd's are 1..63",
	         longname);
	ck_assert_str_eq(dnnq_last_error(), want);
	ck_assert_int_eq(dnnq_model_open(c, "", &m), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "model '': a name of 0 bytes: dnnqd's are 1..63");
	m = (void *)1;
	ck_assert_int_eq(dnnq_model_open(NULL, "double", &m), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_model_open: the client is NULL");
	ck_assert_ptr_null(m);
	ck_assert_int_eq(dnnq_model_open(c, NULL, &m), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_model_open: the name is NULL");

	m = open_model(c, "quant");
	struct dnnq_io_info info;
	ck_assert_int_eq(dnnq_model_io(m, DNNQ_INPUT, 0, &info), 0);
	ck_assert_str_eq(info.name, "img");
	ck_assert_int_eq(info.dtype, DNNQ_TYPE_U8);
	ck_assert_float_eq(info.scale, 0.5f);
	ck_assert_int_eq(info.zero_point, 10);
	ck_assert_uint_eq(info.rank, 3);
	ck_assert_int_eq(dnnq_model_io(m, 5, 0, &info), DNNQ_E_INVAL);
	/* Left open: dnnq_close frees it (ASan would see a leak). */
	open_model(c, "double");
	dnnq_close(c);
	fake_down();
}
END_TEST

/* What the caller gave (a socket path, $DNNQ_SOCKET, $DNNQ_DAEMON_UID, a
 * model name) comes back in dnnq_last_error escaped, as dnnqd's texts and
 * the engine's diags are (attack56): dnnqctl, the Python client's
 * exceptions and logs print it. Before: ESC, BEL and bytes that are not
 * UTF-8 went out as they were ("model 'x^[[2J': not found" cleared the
 * terminal of the dnnqctl that printed it). */
START_TEST(caller_text_escaped)
{
	static const char esc[] = "\x1b[2J\a\xff";
	char path[64], name[32];
	struct dnnq_client *c = NULL;
	struct dnnq_model *m = NULL;
	snprintf(path, sizeof path, "/nonexistent/%s", esc);
	snprintf(name, sizeof name, "m%s", esc);
	ck_assert_int_eq(dnnq_connect(path, NULL, &c), DNNQ_E_IO);
	assert_text(dnnq_last_error(), "a path's connect");
	ck_assert_msg(strstr(dnnq_last_error(), "/nonexistent/\\x1b[2J\\x07\\xff"), "%s",
	              dnnq_last_error());
	setenv("DNNQ_SOCKET", path, 1);
	ck_assert_int_eq(dnnq_connect(NULL, NULL, &c), DNNQ_E_IO);
	assert_text(dnnq_last_error(), "$DNNQ_SOCKET's connect");
	unsetenv("DNNQ_SOCKET");
	fake_up();
	setenv("DNNQ_DAEMON_UID", esc, 1);
	ck_assert_int_eq(dnnq_connect(fake.path, NULL, &c), DNNQ_E_INVAL);
	assert_text(dnnq_last_error(), "$DNNQ_DAEMON_UID");
	ck_assert_msg(strstr(dnnq_last_error(), "$DNNQ_DAEMON_UID '\\x1b[2J"), "%s",
	              dnnq_last_error());
	unsetenv("DNNQ_DAEMON_UID");
	c = connect_fake(2);
	ck_assert_int_eq(dnnq_model_open(c, name, &m), DNNQ_E_NOTFOUND);
	assert_text(dnnq_last_error(), "a model name");
	ck_assert_msg(strstr(dnnq_last_error(), "model 'm\\x1b[2J\\x07\\xff': not found"), "%s",
	              dnnq_last_error());
	dnnq_close(c);
	fake_down();
}
END_TEST

/* Callers walk the model indices until an error (dnnqctl status, metrics
 * and models): a daemon that answers every INFO and MODEL_STATS, each
 * reply claiming one model more than the index asked, must not keep them
 * going. Before: dnnq_model_name went on to index 2^31 - 1, and
 * dnnq_model_stats for good. */
START_TEST(endless_model_indices)
{
	char name[64];
	struct dnnq_model_stats ms;
	fake_up();
	struct dnnq_client *c = connect_fake(2);
	STORE(&fake.endless, 1);
	uint32_t named = 0, counted = 0;
	int rc_name, rc_stats;
	while ((rc_name = dnnq_model_name(c, named, name, sizeof name)) > 0 && named < 4096)
		named++;
	while (!(rc_stats = dnnq_model_stats(c, counted, &ms)) && counted < 4096)
		counted++;
	ck_assert_msg(named == DNNQ_PROTO_MAX_MODELS && rc_name == DNNQ_E_PROTO,
	              "INFO answered for indices 0 to %u (rc %d)", named, rc_name);
	ck_assert_msg(counted == DNNQ_PROTO_MAX_MODELS && rc_stats == DNNQ_E_PROTO,
	              "MODEL_STATS answered for indices 0 to %u (rc %d)", counted, rc_stats);
	/* a count past the most a daemon serves, or one not above the index */
	STORE(&fake.endless, DNNQ_PROTO_MAX_MODELS + 1);
	ck_assert_int_eq(dnnq_model_name(c, 0, name, sizeof name), DNNQ_E_PROTO);
	ck_assert_int_eq(dnnq_model_stats(c, 0, &ms), DNNQ_E_PROTO);
	/* a model not found: the served names, as many as fit, or none when
	 * the daemon's count is broken */
	struct dnnq_model *m;
	ck_assert_int_eq(dnnq_model_open(c, "resnet", &m), DNNQ_E_NOTFOUND);
	ck_assert_str_eq(dnnq_last_error(), "model 'resnet': not found");
	STORE(&fake.endless, 500);
	ck_assert_int_eq(dnnq_model_open(c, "resnet", &m), DNNQ_E_NOTFOUND);
	const char *msg = dnnq_last_error();
	ck_assert_msg(!strncmp(msg, "model 'resnet': not found (dnnqd serves: 'double', 'quant',"
	                       " 'stale', 'double', ", 66) && strstr(msg, "' and ") &&
	              !strcmp(msg + strlen(msg) - 6, " more)"), "%s", msg);
	STORE(&fake.endless, 0);
	ck_assert_int_eq(dnnq_model_name(c, 0, name, sizeof name), 3);
	dnnq_close(c);
	fake_down();
}
END_TEST

START_TEST(model_reply_faults)
{
	fake_up();
	struct dnnq_client *c = connect_fake(2);
	for (int f = 1; f < FAKE_MODEL_NFAULTS; f++) {
		struct dnnq_model *m = (void *)1;
		char name[64];
		STORE(&fake.model_fault, f);
		int rc = dnnq_model_open(c, "quant", &m);
		ck_assert_msg(rc == DNNQ_E_PROTO, "fault %d: rc %d (%s)", f, rc, dnnq_strerror(rc));
		ck_assert_ptr_null(m);
		ck_assert_int_eq(dnnq_model_name(c, 0, name, sizeof name), DNNQ_E_PROTO);
	}
	STORE(&fake.model_fault, FAKE_MODEL_OK);
	dnnq_model_close(open_model(c, "quant"));
	dnnq_close(c);
	fake_down();
}
END_TEST

/* ---- tensors and request checks ----------------------------------------- */

START_TEST(tensor_alloc_checks)
{
	fake_up();
	struct dnnq_client *c = connect_fake(2);
	struct dnnq_tensor t;
	int64_t dims[] = { 2, 3, 5 };
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_S32, 3, dims, &t), 0);
	ck_assert_uint_eq(t.bytes, 2 * 3 * 5 * 4);
	ck_assert_uint_eq(t.offset % 64, 0);
	dnnq_tensor_free(c, &t);
	/* each refusal names the argument and its range (the texts were the
	 * codes' alone: "dnnq_tensor_alloc: shape mismatch") */
	ck_assert_int_eq(dnnq_tensor_alloc(c, 0, 3, dims, &t), DNNQ_E_DTYPE);
	ck_assert_int_eq(dnnq_tensor_alloc(c, 7, 3, dims, &t), DNNQ_E_DTYPE);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc: dtype 7: not a DNNQ_TYPE_*");
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 0, dims, &t), DNNQ_E_SHAPE);
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 9, dims, &t), DNNQ_E_SHAPE);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc: rank 9: 1..8");
	int64_t zero[] = { 2, 0 }, neg[] = { -1, 4 }, huge[] = { INT64_MAX, INT64_MAX };
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 2, zero, &t), DNNQ_E_SHAPE);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc: dims[1] 0: 1 or more");
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 2, neg, &t), DNNQ_E_SHAPE);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc: dims[0] -1: 1 or more");
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 2, huge, &t), DNNQ_E_RANGE);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc: the tensor's bytes (the dims'"
	                 " product times 1) are past 2^64");
	/* an overflow before a later dim under 1: the overflow, as its code */
	int64_t past[] = { (int64_t)1 << 62, (int64_t)1 << 62, 0 };
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 3, past, &t), DNNQ_E_RANGE);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc: the tensor's bytes (the dims'"
	                 " product times 1) are past 2^64");
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 2, NULL, &t), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc: dims is NULL");
	int64_t big[] = { 2 << 20 };
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 1, big, &t), DNNQ_E_NOSPACE);
	/* the arena named, not DNNQ_E_NOSPACE's "output buffer too small" */
	ck_assert_str_eq(dnnq_last_error(), "a tensor of 2097152 bytes: no free block that"
	                 " large in the session's 1048576-byte arena (free tensors no longer used,"
	                 " or connect with a larger arena_bytes)");
	/* The whole arena, twice: the first frees space for the second. */
	int64_t all[] = { 1 << 20 };
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 1, all, &t), 0);
	struct dnnq_tensor t2;
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 1, dims, &t2), DNNQ_E_NOSPACE);
	dnnq_tensor_free(c, &t);
	dnnq_tensor_free(c, &t);	/* cleared: a no-op */
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 1, all, &t), 0);
	dnnq_tensor_free(c, &t);

	struct dnnq_model *m = open_model(c, "double");
	/* each refusal names the model, the tensor and the bound */
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, 0, &t), DNNQ_E_RANGE);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc_io: model 'double' input 0 'x':"
	                 " batch 0: 1..8 (the model's max_batch)");
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, 9, &t), DNNQ_E_RANGE);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc_io: model 'double' input 0 'x':"
	                 " batch 9: 1..8 (the model's max_batch)");
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, 1, 1, &t), DNNQ_E_RANGE);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc_io: model 'double' has 1 output:"
	                 " index 1");
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, (enum dnnq_io_kind)5, 0, 1, &t), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc_io: kind 5: DNNQ_INPUT or DNNQ_OUTPUT");
	ck_assert_int_eq(dnnq_tensor_alloc_io(NULL, DNNQ_INPUT, 0, 1, &t), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_tensor_alloc_io: the model is NULL");
	dnnq_close(c);
	fake_down();
}
END_TEST

/* Submits `in` and `out` for m: the status of the submission. */
static int try_submit(struct dnnq_model *m, const struct dnnq_tensor *in,
                      struct dnnq_tensor *out)
{
	struct dnnq_request r;
	const struct dnnq_tensor *ins[] = { in };
	struct dnnq_tensor *outs[] = { out };
	int rc = dnnq_submit(m, ins, outs, &r);
	if (rc == 0)
		ck_assert_int_eq(dnnq_wait(&r, 2000), 0);
	return rc;
}

START_TEST(request_checks)
{
	fake_up();
	struct dnnq_client *c = connect_fake(2);
	struct dnnq_model *m = open_model(c, "double");
	struct io io, io2;
	io_alloc(m, 2, &io);
	io_alloc(m, 3, &io2);
	struct dnnq_tensor t, tb9;
	int64_t d_rank[] = { 2, 4, 1 }, d_dim[] = { 2, 5 }, d_b9[] = { 9, 4 };
	ck_assert_int_eq(try_submit(m, &io.in, &io.out), 0);
	ck_assert_int_eq(try_submit(m, &io.in, &io2.out), DNNQ_E_SHAPE);	/* batch 2 vs 3 */
	ck_assert_int_eq(try_submit(m, NULL, &io.out), DNNQ_E_INVAL);
	ck_assert_int_eq(try_submit(m, &io.in, NULL), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_S32, 2, (int64_t[]){ 2, 4 }, &t), 0);
	ck_assert_int_eq(try_submit(m, &t, &io.out), DNNQ_E_DTYPE);
	dnnq_tensor_free(c, &t);
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 2, (int64_t[]){ 2, 4 }, &t), 0);
	ck_assert_int_eq(try_submit(m, &t, &io.out), DNNQ_E_DTYPE);	/* U8 for F32: no */
	dnnq_tensor_free(c, &t);
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_F32, 3, d_rank, &t), 0);
	ck_assert_int_eq(try_submit(m, &t, &io.out), DNNQ_E_SHAPE);
	dnnq_tensor_free(c, &t);
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_F32, 2, d_dim, &t), 0);
	ck_assert_int_eq(try_submit(m, &io.in, &t), DNNQ_E_SHAPE);
	dnnq_tensor_free(c, &t);
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_F32, 2, d_b9, &tb9), 0);
	ck_assert_int_eq(try_submit(m, &tb9, &io.out), DNNQ_E_RANGE);
	t = io.in;
	t.bytes += 64;	/* a struct changed behind the library's back */
	ck_assert_int_eq(try_submit(m, &t, &io.out), DNNQ_E_INVAL);
	t = io.in;
	t.data = (char *)t.data + 64;
	ck_assert_int_eq(try_submit(m, &t, &io.out), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_submit(NULL, NULL, NULL, NULL), DNNQ_E_INVAL);

	/* A tensor of another client (same offsets, other mapping). */
	struct fake_daemon other;
	struct dnnq_client *c2;
	ck_assert_int_eq(fake_daemon_start(&other), 0);
	ck_assert_int_eq(connect_path(other.path, 2, 2000, &c2), 0);
	struct dnnq_model *m2 = open_model(c2, "double");
	struct io theirs;
	io_alloc(m2, 2, &theirs);
	ck_assert_uint_eq(theirs.in.offset, io.in.offset);
	ck_assert_int_eq(try_submit(m, &theirs.in, &io.out), DNNQ_E_INVAL);
	ck_assert_int_eq(try_submit(m2, &theirs.in, &theirs.out), 0);
	dnnq_close(c2);
	fake_daemon_stop(&other);

	/* F32 for a U8 input is passed through for the daemon to quantize. */
	struct dnnq_model *q = open_model(c, "quant");
	struct dnnq_tensor qin, qout;
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_F32, 3, (int64_t[]){ 2, 2, 2 }, &qin), 0);
	ck_assert_int_eq(dnnq_tensor_alloc_io(q, DNNQ_OUTPUT, 0, 2, &qout), 0);
	ck_assert_int_eq(try_submit(q, &qin, &qout), 0);
	struct dnnq_shm_request r = last_request();
	ck_assert_uint_eq(r.model_id, 9);
	ck_assert_uint_eq(r.t[0].dtype, DNNQ_SHM_DTYPE_F32);
	ck_assert_uint_eq(r.t[1].dtype, DNNQ_SHM_DTYPE_U8);
	ck_assert_uint_eq(((uint8_t *)qout.data)[4], 200);
	dnnq_close(c);
	fake_down();
}
END_TEST

/* ---- requests ------------------------------------------------------------- */

START_TEST(async_poll_wait_tickets)
{
	fake_up();
	struct dnnq_client *c = connect_fake(4);
	struct dnnq_model *m = open_model(c, "double");
	struct io io[5];
	struct dnnq_request r[5];
	pause_fake();
	for (int i = 0; i < 5; i++)
		io_alloc(m, 1, &io[i]);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(io_submit(m, &io[i], &r[i]), 0);
	ck_assert_int_eq(io_submit(m, &io[4], &r[4]), DNNQ_E_BUSY);
	ck_assert_int_eq(dnnq_poll(&r[0]), DNNQ_E_AGAIN);
	ck_assert_int_eq(dnnq_wait(&r[1], 20), DNNQ_E_TIMEDOUT);
	/* the wait and what follows (it said "dnnq_wait: timed out") */
	ck_assert_str_eq(dnnq_last_error(), "dnnq_wait: no result within 20 ms (the request is"
	                 " still in flight: dnnq_wait or dnnq_poll it again)");
	ck_assert_int_eq(dnnq_wait(&r[1], 0), DNNQ_E_TIMEDOUT);
	STORE(&fake.paused, 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(dnnq_wait(&r[i], 2000), 0);
		io_check(&io[i], 0);
	}
	/* Finished: every further look is refused. */
	ck_assert_int_eq(dnnq_poll(&r[0]), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_wait(&r[0], 100), DNNQ_E_INVAL);
	/* A stale request whose slot now runs another. */
	pause_fake();
	ck_assert_int_eq(io_submit(m, &io[4], &r[4]), 0);
	int reused = 0;
	for (int i = 0; i < 4; i++) {
		if (r[i].slot != r[4].slot)
			continue;
		ck_assert_uint_ne(r[i].ticket, r[4].ticket);
		ck_assert_int_eq(dnnq_poll(&r[i]), DNNQ_E_INVAL);
		reused++;
	}
	ck_assert_int_eq(reused, 1);
	struct dnnq_request forged = r[4];
	forged.slot = 99;
	ck_assert_int_eq(dnnq_poll(&forged), DNNQ_E_INVAL);
	forged = r[4];
	forged.ticket = 0;
	ck_assert_int_eq(dnnq_wait(&forged, 0), DNNQ_E_INVAL);
	forged.client = NULL;
	ck_assert_int_eq(dnnq_poll(&forged), DNNQ_E_INVAL);
	ck_assert_int_eq(dnnq_poll(NULL), DNNQ_E_INVAL);
	STORE(&fake.paused, 0);
	int rc;
	while ((rc = dnnq_poll(&r[4])) == DNNQ_E_AGAIN)
		usleep(100);
	ck_assert_int_eq(rc, 0);
	io_check(&io[4], 0);
	dnnq_close(c);
	fake_down();
}
END_TEST

/* A wait spins only while the recent waits on its model fit in spin_us:
 * a wait that lasted 20 ms (a timeout: the fake is paused) is past the
 * 50 µs default, so the next wait on that model sleeps at once; another
 * model's estimate is its own. */
START_TEST(wait_spins_only_when_waits_are_short)
{
	fake_up();
	struct dnnq_client *c = connect_fake(2);
	struct dnnq_model *m = open_model(c, "double");
	struct io io;
	struct dnnq_request r;
	io_alloc(m, 1, &io);
	ck_assert(client_wait_spins(c, 7));
	pause_fake();
	ck_assert_int_eq(io_submit(m, &io, &r), 0);
	ck_assert_int_eq(dnnq_wait(&r, 20), DNNQ_E_TIMEDOUT);
	ck_assert(!client_wait_spins(c, 7));
	ck_assert(client_wait_spins(c, 9));
	STORE(&fake.paused, 0);
	ck_assert_int_eq(dnnq_wait(&r, 2000), 0);
	io_check(&io, 0);
	dnnq_close(c);
	fake_down();
}
END_TEST

/* The fake up and a session with spin_us 5 ms on its model "double". */
static struct dnnq_model *spin_session(struct dnnq_client **c)
{
	fake_up();
	struct dnnq_connect_opts o = { .slots = 2, .arena_bytes = 1 << 20, .timeout_ms = 2000,
	                               .spin_us = 5000 };
	*c = NULL;
	ck_assert_int_eq(dnnq_connect(fake.path, &o, c), 0);
	return open_model(*c, "double");
}

/* A model fast again after a slow wait is spun on again: the waits that
 * sleep see their ends late, but one in CLIENT_SPIN_PROBE spins, and when
 * that spin sees the end the estimate is its wait. spin_us 5 ms; a 800 ms
 * wait puts the estimate at 100 ms, which 16 sleeping waits alone would
 * only bring to ~12 ms (7/8 each), still no spin. Each request is answered
 * before its wait starts, so the probe sees its end however slowly a
 * loaded host runs the fake. */
START_TEST(wait_spins_again_when_fast_again)
{
	struct dnnq_client *c;
	struct dnnq_model *m = spin_session(&c);
	struct io io;
	struct dnnq_request r;
	io_alloc(m, 1, &io);
	pause_fake();
	ck_assert_int_eq(io_submit(m, &io, &r), 0);
	ck_assert_int_eq(dnnq_wait(&r, 800), DNNQ_E_TIMEDOUT);
	STORE(&fake.paused, 0);
	ck_assert_int_eq(dnnq_wait(&r, 2000), 0);	/* sleeps: the first of 16 */
	ck_assert(!client_wait_spins(c, m->id));
	for (unsigned k = 1; k < CLIENT_SPIN_PROBE; k++) {
		uint64_t served = LOAD(&fake.served);
		ck_assert_int_eq(io_submit(m, &io, &r), 0);
		served_at_least(served + 1);
		ck_assert_int_eq(dnnq_wait(&r, 2000), 0);
	}
	ck_assert_msg(client_wait_spins(c, m->id), "estimate %lld ns",
	              (long long)c->wait_ns[m->id % CLIENT_WAIT_MODELS]);
	io_check(&io, 0);
	dnnq_close(c);
	fake_down();
}
END_TEST

/* A probe that does not see the end doubles the gap to the next, up to
 * CLIENT_SPIN_PROBE << CLIENT_PROBE_BACKOFF waits, so a model that stays
 * slow is rarely spun on; a probe that sees the end brings the gap back.
 * The estimate is held far above spin_us (only probes spin) and the waits
 * are of 0 ms on a paused daemon (every probe fails, at once): the probes
 * come at the 16th, 32nd, 64th, ... wait. */
START_TEST(failed_probes_back_off)
{
	struct dnnq_client *c;
	struct dnnq_model *m = spin_session(&c);
	uint32_t *shift = &c->probe_shift[m->id % CLIENT_WAIT_MODELS];
	int64_t *estimate = &c->wait_ns[m->id % CLIENT_WAIT_MODELS];
	const uint32_t most = CLIENT_SPIN_PROBE << CLIENT_PROBE_BACKOFF;
	struct io io;
	struct dnnq_request r;
	io_alloc(m, 1, &io);
	pause_fake();
	ck_assert_int_eq(io_submit(m, &io, &r), 0);
	for (uint32_t k = 1; k <= 2 * most; k++) {
		*estimate = INT64_MAX / 2;
		ck_assert_int_eq(dnnq_wait(&r, 0), DNNQ_E_TIMEDOUT);
		uint32_t probes = 0;
		for (uint32_t gap = CLIENT_SPIN_PROBE; gap <= k && probes < CLIENT_PROBE_BACKOFF; gap *= 2)
			probes++;
		ck_assert_msg(*shift == probes, "after %u waits: shift %u, not %u", k, *shift, probes);
	}
	uint64_t served = LOAD(&fake.served);
	STORE(&fake.paused, 0);
	served_at_least(served + 1);	/* the probe sees the end at once */
	c->wait_probes = 3 * most - 1;	/* the next wait is a probe */
	*estimate = INT64_MAX / 2;
	ck_assert_int_eq(dnnq_wait(&r, 2000), 0);
	ck_assert_uint_eq(*shift, 0);
	io_check(&io, 0);
	dnnq_close(c);
	fake_down();
}
END_TEST

START_TEST(infer_timeout_abandons_slot)
{
	struct env e;
	struct dnnq_request r;
	env_up(&e, 1, "double", 2);
	pause_fake();
	ck_assert_int_eq(io_infer(e.m, &e.io, 20), DNNQ_E_TIMEDOUT);
	/* the model, the wait and the slot's fate (it said "dnnq_infer: timed out") */
	ck_assert_str_eq(dnnq_last_error(), "model 'double': dnnq_infer: no result within 20 ms"
	                 " (the request is abandoned: dnnqd may still write its outputs)");
	ck_assert_int_eq(io_submit(e.m, &e.io, &r), DNNQ_E_BUSY);	/* still the daemon's */
	STORE(&fake.paused, 0);
	served_at_least(1);
	/* Reclaimed once it ended; the late outputs were written. */
	io_check(&e.io, 0);
	ck_assert_int_eq(io_infer(e.m, &e.io, 2000), 0);
	ck_assert_int_eq(io_infer(e.m, &e.io, 2000), 0);
	env_down(&e);
}
END_TEST

START_TEST(failed_request_status)
{
	struct env e;
	env_up(&e, 2, "stale", 1);
	ck_assert_int_eq(io_infer(e.m, &e.io, 2000), DNNQ_E_MODEL_CHANGED);
	ck_assert_int_eq(io_infer(e.m, &e.io, 2000), DNNQ_E_MODEL_CHANGED);
	dnnq_model_close(e.m);
	env_down(&e);
}
END_TEST

START_TEST(event_fd_and_doorbell)
{
	struct env e;
	struct dnnq_request r;
	env_up(&e, 2, "double", 1);
	const struct dnnq_shm_header *h = fake.view.hdr;
	ck_assert_uint_eq(LOAD(&h->event_armed), 0);
	int efd = dnnq_event_fd(e.c);
	ck_assert_int_ge(efd, 0);
	ck_assert_uint_eq(LOAD(&h->event_armed), 1);
	ck_assert_int_eq(io_submit(e.m, &e.io, &r), 0);
	struct pollfd p = { .fd = efd, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	char n[64];
	ck_assert_int_gt(read(efd, n, sizeof n), 0);
	ck_assert_int_eq(dnnq_poll(&r), 0);
	ck_assert_int_eq(dnnq_event_fd(NULL), DNNQ_E_INVAL);

	/* The doorbell is written only while a worker says it may sleep. */
	ck_assert_uint_eq(LOAD(&fake.doorbells), 0);
	STORE(&fake.view.hdr->workers_sleeping, 1);
	ck_assert_int_eq(io_infer(e.m, &e.io, 2000), 0);
	STORE(&fake.view.hdr->workers_sleeping, 0);
	ck_assert_int_eq(io_infer(e.m, &e.io, 2000), 0);
	ck_assert_int_eq(io_infer(e.m, &e.io, 2000), 0);
	ck_assert_uint_eq(LOAD(&fake.doorbells), 1);
	env_down(&e);
}
END_TEST

struct shared {
	struct dnnq_model *m;
	int depth, n, failures;
};

static int io_wrong(const struct io *io)
{
	const float *y = io->out.data;
	int wrong = 0;
	for (size_t i = 0; i < io->out.bytes / 4; i++)
		wrong += y[i] != 2.0f * (float)i;
	memset(io->out.data, 0, io->out.bytes);
	return wrong;
}

/* n requests of its own, `depth` of them in flight at a time. */
static void *hammer(void *arg)
{
	struct shared *s = arg;
	struct io io[4];
	struct dnnq_request r[4];
	for (int d = 0; d < s->depth; d++) {
		io_alloc(s->m, 1 + (uint32_t)d, &io[d]);
		s->failures += io_submit(s->m, &io[d], &r[d]) != 0;
	}
	for (int i = 0; i < s->n; i++) {
		int d = i % s->depth;
		s->failures += dnnq_wait(&r[d], 5000) != 0;
		s->failures += io_wrong(&io[d]);
		s->failures += io_submit(s->m, &io[d], &r[d]) != 0;
	}
	for (int d = 0; d < s->depth; d++) {
		s->failures += dnnq_wait(&r[d], 5000) != 0;
		s->failures += io_wrong(&io[d]);
	}
	return NULL;
}

START_TEST(threads_share_a_client)
{
	fake_up();
	struct dnnq_client *c = connect_fake(16);
	struct dnnq_model *m = open_model(c, "double");
	pthread_t th[4];
	struct shared s[4];
	for (int i = 0; i < 4; i++) {
		s[i] = (struct shared){ .m = m, .depth = 1 + i % 4, .n = 500 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, &s[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(s[i].failures, 0);
	}
	ck_assert_uint_eq(LOAD(&fake.served), 4 * 500 + 1 + 2 + 3 + 4);
	dnnq_close(c);
	fake_down();
}
END_TEST

/* ---- the daemon dying ----------------------------------------------------- */

/* A waiting thread's model and tensors (allocated before the thread
 * starts: on a loaded host it may first run after the kill, when an
 * allocation fails too) and the status its wait ended with. */
struct waiter {
	struct dnnq_model *m;
	struct io io;
	int rc;
};

static void *wait_forever(void *arg)
{
	struct waiter *w = arg;
	w->rc = io_infer(w->m, &w->io, -1);   /* no timeout: only the death ends it */
	return NULL;
}

START_TEST(daemon_death_ends_every_wait)
{
	fake_up();
	struct dnnq_client *c = connect_fake(4);
	struct dnnq_model *m = open_model(c, "double");
	pause_fake();
	pthread_t th[3];
	struct waiter w[3];
	for (int i = 0; i < 3; i++) {
		w[i] = (struct waiter){ .m = m };
		io_alloc(m, 1, &w[i].io);
		ck_assert_int_eq(pthread_create(&th[i], NULL, wait_forever, &w[i]), 0);
	}
	usleep(50000);
	fake_daemon_kill(&fake);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(w[i].rc, DNNQ_E_DISCONNECTED);
	}
	struct io io;
	struct dnnq_request r;
	struct dnnq_stats st;
	struct dnnq_model *m2;
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, 1, &io.in), DNNQ_E_DISCONNECTED);
	ck_assert_int_eq(dnnq_stats(c, &st), DNNQ_E_DISCONNECTED);
	ck_assert_int_eq(dnnq_model_open(c, "double", &m2), DNNQ_E_DISCONNECTED);
	ck_assert_int_eq(dnnq_event_fd(c), DNNQ_E_DISCONNECTED);
	ck_assert_int_eq(io_submit(m, &io, &r), DNNQ_E_DISCONNECTED);
	dnnq_model_close(m);
	dnnq_close(c);
	fake_down();
}
END_TEST

START_TEST(poll_notices_death)
{
	struct env e;
	struct dnnq_request r;
	env_up(&e, 2, "double", 1);
	pause_fake();
	ck_assert_int_eq(io_submit(e.m, &e.io, &r), 0);
	ck_assert_int_eq(dnnq_poll(&r), DNNQ_E_AGAIN);
	fake_daemon_kill(&fake);
	int64_t t0 = now_ms();
	int rc;
	while ((rc = dnnq_poll(&r)) == DNNQ_E_AGAIN && now_ms() - t0 < 10000)
		usleep(1000);
	ck_assert_int_eq(rc, DNNQ_E_DISCONNECTED);
	ck_assert_int_eq(dnnq_wait(&r, 100), DNNQ_E_DISCONNECTED);
	env_down(&e);
}
END_TEST

START_TEST(stale_heartbeat_is_death)
{
	struct env e;
	env_up(&e, 2, "double", 1);
	ck_assert_int_eq(io_infer(e.m, &e.io, 2000), 0);
	pause_fake();
	STORE(&fake.beat, 0);
	int64_t t0 = now_ms();
	ck_assert_int_eq(io_infer(e.m, &e.io, 10000), DNNQ_E_DISCONNECTED);
	int64_t took = now_ms() - t0;
	ck_assert_int_ge(took, 1500);
	ck_assert_int_lt(took, 5000);
	env_down(&e);
}
END_TEST

/* A STATS that times out, then its late answer skipped by the next call;
 * seq: the sequence number the client sent last before the STATS. */
static void late_stats_skipped(uint32_t seq)
{
	fake_up();
	struct dnnq_client *c;
	ck_assert_int_eq(connect_opts(2, 2000, &c), 0);
	c->seq = seq;
	/* control calls give up after 100 ms from here: not the connect, which
	 * a loaded host can take longer over */
	c->timeout_ms = 100;
	struct dnnq_stats st;
	STORE(&fake.stats_delay_ms, 300);
	int64_t t0 = now_ms();
	ck_assert_int_eq(dnnq_stats(c, &st), DNNQ_E_TIMEDOUT);
	ck_assert_int_lt(now_ms() - t0, 5000);	/* gave up, did not wait on */
	STORE(&fake.stats_delay_ms, 0);
	/* the late reply is on its way (not a sleep: a loaded host once took
	 * longer than 400 ms to send it, and then the next call's 100 ms) */
	while (!LOAD(&fake.late_sent))
		usleep(1000);
	c->timeout_ms = 2000;
	ck_assert_int_eq(dnnq_stats(c, &st), 0);
	ck_assert_str_eq(st.status, "serving 3 models");
	struct dnnq_model *m = open_model(c, "double");
	dnnq_model_close(m);
	dnnq_close(c);
	fake_down();
}

START_TEST(late_control_reply_is_skipped)
{
	late_stats_skipped(1);
}
END_TEST

/* The same across the wrap of the 32-bit sequence number: the late answer
 * is to seq 2^32 - 1, the next call's is 1 (0 is the daemon's refusal at
 * accept). Before, a seq past the wrap took the late answer for a
 * malformed reply to itself (DNNQ_E_PROTO): "older" was a plain "<". */
START_TEST(late_control_reply_across_seq_wrap)
{
	late_stats_skipped(UINT32_MAX - 1);
}
END_TEST

/* A late answer longer than the reply the next call waits for (a MODEL
 * reply, 2408 bytes, to an INFO that timed out, read by dnnq_stats, 344)
 * was cut to that call's buffer and failed it as a protocol error instead
 * of being skipped like any other late answer. The fake holds the MODEL
 * reply until the INFO has given up. */
START_TEST(long_late_reply_is_skipped)
{
	fake_up();
	struct dnnq_client *c;
	ck_assert_int_eq(connect_opts(2, 2000, &c), 0);
	char name[64];
	c->timeout_ms = 100;
	STORE(&fake.model_hold, 1);
	ck_assert_int_eq(dnnq_model_name(c, 0, name, sizeof name), DNNQ_E_TIMEDOUT);
	STORE(&fake.model_hold, 0);
	while (!LOAD(&fake.late_sent))
		usleep(1000);
	c->timeout_ms = 2000;
	struct dnnq_stats st;
	int rc = dnnq_stats(c, &st);
	ck_assert_msg(rc == 0, "dnnq_stats after a late MODEL reply: %s", dnnq_strerror(rc));
	ck_assert_int_eq(dnnq_model_name(c, 0, name, sizeof name), 3);
	dnnq_close(c);
	fake_down();
}
END_TEST

/* Late answers (the seq of an earlier request) were skipped and the next
 * packet read at once, without a look at the deadline: a daemon that
 * kept them coming held a control call past its timeout for as long as
 * it liked. Here 32 are queued and the call's deadline has passed when
 * it starts (timeout 0): it reads one, gives up, and leaves the rest. */
START_TEST(late_replies_end_at_the_deadline)
{
	enum { COPIES = 32 };
	fake_up();
	struct dnnq_client *c;
	ck_assert_int_eq(connect_opts(2, 2000, &c), 0);
	struct dnnq_stats st;
	STORE(&fake.stats_copies, COPIES);
	ck_assert_int_eq(dnnq_stats(c, &st), 0);
	STORE(&fake.stats_copies, 0);
	while (!LOAD(&fake.late_sent))
		usleep(1000);
	int queued = 0;
	c->timeout_ms = 0;
	ck_assert_int_eq(dnnq_stats(c, &st), DNNQ_E_TIMEDOUT);
	ck_assert_int_eq(ioctl(c->sock, SIOCINQ, &queued), 0);
	ck_assert_msg(queued >= (COPIES - 1) * (int)sizeof(struct dnnq_msg_stats),
	              "%d bytes left queued: the call read on past its deadline", queued);
	c->timeout_ms = 2000;
	ck_assert_int_eq(dnnq_stats(c, &st), 0);
	dnnq_close(c);
	fake_down();
}
END_TEST

/* ---- dnnqctl ---------------------------------------------------------------- */

/* Runs "$DNNQ_DNNQCTL --socket FAKE args", stdout (and stderr unless
 * stdout_only) into out; returns its exit status. */
static int run_ctl_to(const char *ctl, const char *args, bool stdout_only, char *out,
                      size_t cap)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s --socket %s %s %s", ctl, fake.path, args,
	         stdout_only ? "2>/dev/null" : "2>&1");
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(out, 1, cap - 1, f);
	out[n] = 0;
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run_ctl(const char *ctl, const char *args, char *out, size_t cap)
{
	return run_ctl_to(ctl, args, false, out, cap);
}

/* run_ctl for a command that may never end: its output (stdout and
 * stderr) into out (NUL-terminated, the first cap - 1 bytes), its address
 * space limited to 256 MiB (not under ASan or TSan); past cap bytes of output it
 * is killed (-1).
 * Its exit status, else -1. */
static int run_ctl_capped(const char *ctl, const char *args, char *out, size_t cap)
{
	char cmd[1024];
	int p[2];
	snprintf(cmd, sizeof cmd, "exec %s --socket %s %s 2>&1", ctl, fake.path, args);
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)  /* their shadow: terabytes of address space */
		struct rlimit as = { 256 << 20, 256 << 20 };
		setrlimit(RLIMIT_AS, &as);
#endif
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t k;
	char sink[4096];
	while ((k = read(p[0], n < cap - 1 ? out + n : sink,
	                 n < cap - 1 ? cap - 1 - n : sizeof sink)) > 0) {
		n += (size_t)k;
		if (n >= cap) {
			kill(pid, SIGKILL);
			break;
		}
	}
	out[n < cap - 1 ? n : cap - 1] = 0;
	close(p[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return n < cap && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* dnnq_getopt_long (dnnqctl's and the tools' parser, options anywhere
 * on the line) takes an optstring of any length: it copied it behind its
 * '-' into 64 bytes, and an option past the 62nd character was cut off
 * without a word (here 'Z' at 79: '?', unrecognized). */
START_TEST(getopt_long_any_optstring)
{
	char shortopts[96] = "", *argv[] = { "tool", "in.npy", "-Z", "v", "-a", "w", "out", NULL };
	for (char c = 'a'; c <= 'z'; c++)
		snprintf(shortopts + strlen(shortopts), sizeof shortopts - strlen(shortopts), "%c:", c);
	strcat(shortopts, "ABCDEFGHIJKLMNOPQRSTUVWXY:Z:");
	ck_assert_uint_gt(strlen(shortopts), 63);
	static const struct option none[] = { { NULL, 0, NULL, 0 } };
	int moved = 0;
	optind = 0;
	opterr = 0;
	ck_assert_int_eq(dnnq_getopt_long(7, argv, shortopts, none, &moved), 'Z');
	ck_assert_str_eq(optarg, "v");
	ck_assert_int_eq(dnnq_getopt_long(7, argv, shortopts, none, &moved), 'a');
	ck_assert_str_eq(optarg, "w");
	ck_assert_int_eq(dnnq_getopt_long(7, argv, shortopts, none, &moved), -1);
	ck_assert_int_eq(optind, 5);
	ck_assert_str_eq(argv[5], "in.npy");
	ck_assert_str_eq(argv[6], "out");
}
END_TEST

#define CTL_OK(args, want) do { \
	ck_assert_msg(run_ctl(ctl, args, out, sizeof out) == 0, "%s: %s", args, out); \
	ck_assert_msg(strstr(out, want), "%s: '%s' lacks '%s'", args, out, want); \
} while (0)

START_TEST(dnnqctl_against_fake)
{
	const char *ctl = getenv("DNNQ_DNNQCTL");
	if (!ctl || access(ctl, X_OK)) {
		fprintf(stderr, "dnnqctl_against_fake: skipped ($DNNQ_DNNQCTL not set)\n");
		return;
	}
	char out[4096], args[512], x[256], y[256];
	fake_up();
	CTL_OK("status --json", "\"models\":3,");
	CTL_OK("status", "serving 3 models");
	/* MODEL_STATS failing after its first model: the failure object alone
	 * on stdout, not the status object half written before it */
	STORE(&fake.model_stats_fail, 1);
	static const char failed[] = "{\"ok\":false,\"error\":{\"code\":\"DNNQ_E_IO\",";
	ck_assert_int_eq(run_ctl_to(ctl, "status --json", true, out, sizeof out), 1);
	ck_assert_msg(!strncmp(out, failed, sizeof failed - 1) && !strstr(out, "\"pid\"") &&
	              strchr(out, '\n') == out + strlen(out) - 1, "status --json: %s", out);
	ck_assert_int_eq(run_ctl_to(ctl, "status", true, out, sizeof out), 1);
	ck_assert_str_eq(out, "");
	STORE(&fake.model_stats_fail, 0);
	/* a model whose signature is refused: no half list either */
	STORE(&fake.model_fault, FAKE_MODEL_DTYPE);
	ck_assert_int_eq(run_ctl_to(ctl, "models --json", true, out, sizeof out), 1);
	ck_assert_msg(!strncmp(out, failed, 21) && !strstr(out, "{\"models\":["),
	              "models --json: %s", out);
	STORE(&fake.model_fault, FAKE_MODEL_OK);
	CTL_OK("models", "[N, 2, 2]  scale 0.5 zero point 10");
	CTL_OK("models --json", "\"shape\":[\"N\",4]");
	/* options after the names, POSIXLY_CORRECT or not (under it, '--json'
	 * was a model's name: "no model '--json'"), "--" before a name */
	setenv("POSIXLY_CORRECT", "1", 1);
	CTL_OK("models double --json", "{\"models\":[{\"name\":\"double\",");
	CTL_OK("models double quant --json", "},{\"name\":\"quant\",");
	CTL_OK("models --json -- double", "{\"models\":[{\"name\":\"double\",");
	ck_assert_int_eq(run_ctl(ctl, "models double -- --json", out, sizeof out), 1);
	ck_assert_msg(strstr(out, "'--json'"), "%s", out);
	unsetenv("POSIXLY_CORRECT");
	snprintf(x, sizeof x, "%s/x.npy", fake.dir);
	snprintf(y, sizeof y, "%s/y.npy", fake.dir);
	const float xs[] = { 1, 2, 3, 4, 8, 7, 6, 5 };
	ck_assert_int_eq(dnnq_npy_write_file(x, DNNQ_DTYPE_F32, (size_t[]){ 2, 4 }, 2, xs, NULL), 0);
	snprintf(args, sizeof args, "infer double --input x=%s --output-dir %s --json", x, fake.dir);
	CTL_OK(args, "\"top1\":[{\"class\":3,\"value\":8},{\"class\":0,\"value\":16}]");
	/* infer's options after its model, under POSIXLY_CORRECT too */
	setenv("POSIXLY_CORRECT", "1", 1);
	snprintf(args, sizeof args, "infer --input x=%s double --output-dir %s --json", x, fake.dir);
	CTL_OK(args, "\"top1\":[{\"class\":3,\"value\":8},{\"class\":0,\"value\":16}]");
	unsetenv("POSIXLY_CORRECT");
	void *buf;
	struct dnnq_npy npy;
	ck_assert_int_eq(dnnq_npy_read_file(y, 1 << 20, &buf, &npy, NULL), 0);
	ck_assert_uint_eq(npy.count, 8);
	float ys[8];
	dnnq_npy_to_f32(&npy, ys);
	for (int i = 0; i < 8; i++)
		ck_assert_float_eq(ys[i], 2 * xs[i]);
	free(buf);
	snprintf(args, sizeof args, "infer quant --input img=%s", x);
	ck_assert_int_eq(run_ctl(ctl, args, out, sizeof out), 1);
	ck_assert_ptr_nonnull(strstr(out, "input 'img' wants [N, 2, 2]"));
	CTL_OK("bench double --duration 0.2 --async 4 --json", "\"failures\":0,");
	/* --interval paces: one request every 100 ms, so at most one more
	 * than the whole 100 ms in the duration it measured (3 in 0.25 s:
	 * at 0, 100 and 200 ms), and one more for the stop given just after
	 * the measured end. Not the asked 0.25 s: on a loaded host the
	 * supervisor's nap ends late, the run lasts 0.3 s and more, and a
	 * 4th request at 300 ms failed the bound of 3 (review rev56b);
	 * back to back would be hundreds. */
	CTL_OK("bench double --duration 0.25 --interval 100 --json", "\"interval_ms\":100,");
	const char *req = strstr(out, "\"requests\":"), *secs = strstr(out, "\"duration_s\":");
	ck_assert_ptr_nonnull(req);
	ck_assert_ptr_nonnull(secs);
	ck_assert_int_le(atoi(req + strlen("\"requests\":")),
	                 (int)(strtod(secs + strlen("\"duration_s\":"), NULL) * 10) + 2);
	ck_assert_int_eq(run_ctl(ctl, "bench double --interval 10 --async 2", out, sizeof out), 2);
	ck_assert_ptr_nonnull(strstr(out, "--interval paces synchronous requests: not with --async"));
	ck_assert_int_eq(run_ctl(ctl, "bench double --interval 0", out, sizeof out), 2);
	ck_assert_int_eq(run_ctl(ctl, "infer double", out, sizeof out), 2);
	ck_assert_int_eq(run_ctl(ctl, "bench double --async 0", out, sizeof out), 2);
	ck_assert_int_eq(run_ctl(ctl, "frob", out, sizeof out), 2);
	/* a bad option named; a typo gets the option meant, an unknown command
	 * the command meant, a command's option before the command, or --socket
	 * after it, where it goes; metrics' missing --json says where JSON is (below) */
	static const struct { const char *args, *out; } usage[] = {
		{ "status --frob", "unrecognized option '--frob' (try 'dnnqctl status --help')" },
		{ "bench double --concurency 2", "unrecognized option '--concurency': did you mean "
		  "'--concurrency'? (try 'dnnqctl bench --help')" },
		{ "infer double --timeout", "option '--timeout' needs a value (try 'dnnqctl infer "
		  "--help')" },
		{ "modles", "unknown command 'modles': did you mean 'models'? (try 'dnnqctl --help')" },
		{ "--async 4 bench double", "'--async' before the command: a command's options go "
		  "after it (dnnqctl bench --async) (try 'dnnqctl --help')" },
		{ "infer double -i x.npy --socket /s", "'--socket' after the command: it is dnnqctl's"
		  " own option and goes before it (dnnqctl --socket PATH infer) (try 'dnnqctl --help')" },
		{ "status --socket=/s", "'--socket' after the command: it is dnnqctl's own option and"
		  " goes before it (dnnqctl --socket PATH status) (try 'dnnqctl --help')" },
	};
	for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
		char want[256];
		snprintf(want, sizeof want, "dnnqctl: %s\n", usage[i].out);
		ck_assert_int_eq(run_ctl(ctl, usage[i].args, out, sizeof out), 2);
		ck_assert_str_eq(out, want);
	}
	/* a short one in a group after a long one: itself, not the long one */
	ck_assert_int_eq(run_ctl(ctl, "status --json -xq", out, sizeof out), 2);
	ck_assert_msg(strstr(out, "\"message\":\"dnnqctl: unrecognized option '-x' (try"), "%s", out);
	/* (and, --json being asked for, the failure object too) */
	ck_assert_int_eq(run_ctl(ctl, "metrics --json", out, sizeof out), 2);
	ck_assert_msg(!strncmp(out, "dnnqctl: --json: metrics prints Prometheus' text format; "
	                       "'status --json' has the same counters as JSON (try 'dnnqctl "
	                       "metrics --help')\n{\"ok\":false,", 146), "%s", out);
	ck_assert_int_eq(run_ctl(ctl, "infer nosuch --input x.npy", out, sizeof out), 1);
	unlink(x);
	unlink(y);
	fake_down();
}
END_TEST

/* dnnqctl status, metrics and models against a daemon that answers every
 * model index (endless_model_indices): each stops at the most models a
 * daemon serves, saying the daemon broke the protocol. Before: status and
 * models printed for good, metrics grew its table until out of memory
 * (and, had it stopped, would have taken the malformed reply for a daemon
 * without MODEL_STATS). */
START_TEST(dnnqctl_against_endless_fake)
{
	const char *ctl = getenv("DNNQ_DNNQCTL");
	if (!ctl || access(ctl, X_OK)) {
		fprintf(stderr, "dnnqctl_against_endless_fake: skipped ($DNNQ_DNNQCTL not set)\n");
		return;
	}
	static char out[4 << 20];
	static const char *const cmds[] = { "status", "status --json", "metrics", "models" };
	fake_up();
	/* two more than the index: "models" goes by the count of each reply */
	STORE(&fake.endless, 2);
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		int st = run_ctl_capped(ctl, cmds[i], out, sizeof out);
		const char *err = strstr(out, "dnnqctl: ");
		ck_assert_msg(st == 1 && err && strstr(err, "protocol error"),
		              "dnnqctl %s: exit %d, %zu bytes of output ending '%s'", cmds[i], st,
		              strlen(out), strlen(out) > 200 ? out + strlen(out) - 200 : out);
	}
	STORE(&fake.endless, 0);
	fake_down();
}
END_TEST

Suite *suite_client(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("connect");
	tcase_add_test(tc, connect_infer_stats);
	tcase_add_test(tc, connect_arguments_and_paths);
	tcase_add_test(tc, hello_faults_leave_nothing);
	tcase_add_test(tc, out_of_fds_says_so);
	tcase_add_test(tc, impostor_daemon_refused);
	tcase_add_test(tc, mutated_replies);
	suite_add_tcase(s, tc);
	tc = tcase_create("model");
	tcase_add_test(tc, model_listing_and_lookup);
	tcase_add_test(tc, caller_text_escaped);
	tcase_add_test(tc, model_reply_faults);
	tcase_add_test(tc, endless_model_indices);
	suite_add_tcase(s, tc);
	tc = tcase_create("tensor");
	tcase_add_test(tc, tensor_alloc_checks);
	tcase_add_test(tc, request_checks);
	suite_add_tcase(s, tc);
	tc = tcase_create("request");
	tcase_add_test(tc, async_poll_wait_tickets);
	tcase_add_test(tc, wait_spins_only_when_waits_are_short);
	tcase_add_test(tc, wait_spins_again_when_fast_again);
	tcase_add_test(tc, failed_probes_back_off);
	tcase_add_test(tc, infer_timeout_abandons_slot);
	tcase_add_test(tc, failed_request_status);
	tcase_add_test(tc, event_fd_and_doorbell);
	tcase_add_test(tc, threads_share_a_client);
	suite_add_tcase(s, tc);
	tc = tcase_create("liveness");
	tcase_add_test(tc, daemon_death_ends_every_wait);
	tcase_add_test(tc, poll_notices_death);
	tcase_add_test(tc, stale_heartbeat_is_death);
	tcase_add_test(tc, late_control_reply_is_skipped);
	tcase_add_test(tc, late_control_reply_across_seq_wrap);
	tcase_add_test(tc, late_replies_end_at_the_deadline);
	tcase_add_test(tc, long_late_reply_is_skipped);
	suite_add_tcase(s, tc);
	tc = tcase_create("dnnqctl");
	tcase_add_test(tc, getopt_long_any_optstring);
	tcase_add_test(tc, dnnqctl_against_fake);
	tcase_add_test(tc, dnnqctl_against_endless_fake);
	suite_add_tcase(s, tc);
	return s;
}
