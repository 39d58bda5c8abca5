/*
 * The public API's edges (issue 20): the default socket rule shared by
 * dnnqd and the client (shm/dnnq_socket.h), the text of a failed connect
 * (path, errno, hint) through dnnq_last_error and dnnqctl, the daemon's
 * refusal message surfaced, the last-error text of other calls, and
 * examples/infer.c (built by `make check-api` against the installed
 * library) and tests/api/cxx.cc (C++17, asynchronous) run against a dnnqd
 * serving relu64 and multi; the text of a request dnnq_submit refuses.
 */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "conf/config.h"
#include "shm/dnnq_socket.h"
#include "tests/suites.h"
#include "tools/serve-fixture.h"

#define contains(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' lacks '%s'", (hay), (needle))

/* Reads fd to its end into out (NUL-terminated) and closes it. */
static void read_all(int fd, char *out, size_t len)
{
	ssize_t n = 0, r;
	while ((r = read(fd, out + n, len - 1 - (size_t)n)) > 0)
		n += r;
	out[n] = 0;
	close(fd);
}

/* Runs argv[0] (a path) with stdout and stderr into out; its exit status. */
static int run_capture(char *const *argv, char *out, size_t len, int timeout_ms)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fixture_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	read_all(p[0], out, len);
	int st = fixture_wait(pid, timeout_ms);
	ck_assert(st >= 0 && WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* ---- the default socket ------------------------------------------------ */

START_TEST(api_default_socket_rule)
{
	char buf[DNNQ_SOCKET_PATH_MAX], long_dir[200];
	ck_assert_str_eq(DNNQ_DEFAULT_SOCKET, DNNQ_SYSTEM_SOCKET);
	/* root: the system socket, whatever the environment says */
	ck_assert_str_eq(dnnq_default_socket(0, "/run/user/0", buf, sizeof buf),
	                 "/run/dnnq/dnnqd.sock");
	ck_assert_str_eq(dnnq_default_socket(0, NULL, buf, sizeof buf), "/run/dnnq/dnnqd.sock");
	/* another user: under $XDG_RUNTIME_DIR when set, absolute and fitting */
	ck_assert_str_eq(dnnq_default_socket(1000, "/run/user/1000", buf, sizeof buf),
	                 "/run/user/1000/dnnq/dnnqd.sock");
	ck_assert_str_eq(dnnq_default_socket(1000, NULL, buf, sizeof buf), "/run/dnnq/dnnqd.sock");
	ck_assert_str_eq(dnnq_default_socket(1000, "", buf, sizeof buf), "/run/dnnq/dnnqd.sock");
	ck_assert_str_eq(dnnq_default_socket(1000, "run/user", buf, sizeof buf),
	                 "/run/dnnq/dnnqd.sock");
	memset(long_dir, 'x', sizeof long_dir - 1);
	long_dir[0] = '/';
	long_dir[sizeof long_dir - 1] = 0;
	ck_assert_str_eq(dnnq_default_socket(1000, long_dir, buf, sizeof buf),
	                 "/run/dnnq/dnnqd.sock");

	/* dnnqd's default (conf/) is the same function at this process's uid */
	const char *envs[] = { "/run/user/4242", "", NULL };
	for (unsigned i = 0; i < 3; i++) {
		struct dnnq_config c;
		if (envs[i])
			setenv("XDG_RUNTIME_DIR", envs[i], 1);
		else
			unsetenv("XDG_RUNTIME_DIR");
		dnnq_config_default(&c);
		ck_assert_str_eq(c.listen.path,
		                 dnnq_default_socket(geteuid(), envs[i], buf, sizeof buf));
		dnnq_config_free(&c);
	}
}
END_TEST

/* A listening SOCK_SEQPACKET socket at path with the given mode. */
static int listen_at(const char *path, mode_t mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	return fd;
}

/* In a child as `uid`: dnnq_connect(NULL) with $XDG_RUNTIME_DIR = xdg;
 * the last-error text back through a pipe. */
static int connect_as(uid_t uid, const char *xdg, char *msg, size_t len)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (uid != geteuid() && (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
		                         setresuid(uid, uid, uid)))
			_exit(99);
		unsetenv("DNNQ_SOCKET");
		setenv("XDG_RUNTIME_DIR", xdg, 1);
		struct dnnq_client *c;
		struct dnnq_connect_opts o = { .timeout_ms = 500 };
		int rc = dnnq_connect(NULL, &o, &c);
		if (rc == 0)
			dnnq_close(c);
		const char *e = dnnq_last_error();
		ssize_t w = write(p[1], e, strlen(e));
		_exit(w < 0 ? 98 : -rc);
	}
	close(p[1]);
	read_all(p[0], msg, len);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_ne(WEXITSTATUS(st), 99);
	return -WEXITSTATUS(st);
}

/* The client at another uid: the per-user socket when it exists (here one
 * root made 0600, so the uid gets EACCES and the permissions hint), the
 * system socket when it does not; root never looks under XDG. */
START_TEST(api_client_default_socket)
{
	char dir[] = "/tmp/dnnq-api-XXXXXX", sub[64], sock[96], msg[1024];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(sub, sizeof sub, "%s/dnnq", dir);
	snprintf(sock, sizeof sock, "%s/dnnqd.sock", sub);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	int fd = listen_at(sock, 0600);

	if (geteuid() == 0) {
		const uid_t nobody = 65534;
		int rc = connect_as(nobody, dir, msg, sizeof msg);
		ck_assert_int_eq(rc, DNNQ_E_PERM);
		contains(msg, sock);
		contains(msg, "Permission denied");
		contains(msg, "usermod -aG dnnq");
		/* root: the system socket, not the one under XDG */
		rc = connect_as(0, dir, msg, sizeof msg);
		if (access(DNNQ_SYSTEM_SOCKET, F_OK) != 0) {
			ck_assert_int_eq(rc, DNNQ_E_IO);
			contains(msg, DNNQ_SYSTEM_SOCKET " (the default socket)");
		}
		ck_assert_ptr_null(strstr(msg, dir));
	} else {
		int rc = connect_as(geteuid(), dir, msg, sizeof msg);
		ck_assert_int_ne(rc, 0);	/* nobody answers the HELLO */
	}
	/* no per-user socket: the system's */
	close(fd);
	unlink(sock);
	int rc = connect_as(geteuid() ? geteuid() : 65534, dir, msg, sizeof msg);
	if (access(DNNQ_SYSTEM_SOCKET, F_OK) != 0) {
		ck_assert_int_eq(rc, DNNQ_E_IO);
		contains(msg, "connect to " DNNQ_SYSTEM_SOCKET " (the default socket)");
	}
	rmdir(sub);
	rmdir(dir);
}
END_TEST

/* ---- connect failures ---------------------------------------------------- */


static int connect_fails(const char *path, char *msg, size_t len)
{
	struct dnnq_client *c = (struct dnnq_client *)1;
	struct dnnq_connect_opts o = { .timeout_ms = 500 };
	int rc = dnnq_connect(path, &o, &c);
	ck_assert_ptr_null(c);
	snprintf(msg, len, "%s", dnnq_last_error());
	return rc;
}

/* dnnqctl's stderr and exit status for `--socket path status`. */
static int dnnqctl_status(const char *path, char *out, size_t len)
{
	const char *ctl = fixture_binary("DNNQ_DNNQCTL", "dnnqctl");
	ck_assert_msg(ctl, "no dnnqctl: set DNNQ_DNNQCTL (make check does)");
	char *argv[] = { (char *)ctl, "--socket", (char *)path, "status", NULL };
	return run_capture(argv, out, len, 10000);
}

START_TEST(api_connect_errors_name_the_cause)
{
	char dir[] = "/tmp/dnnq-api-XXXXXX", path[96], msg[1024];
	ck_assert_ptr_nonnull(mkdtemp(dir));

	/* nothing there */
	snprintf(path, sizeof path, "%s/none.sock", dir);
	ck_assert_int_eq(connect_fails(path, msg, sizeof msg), DNNQ_E_IO);
	contains(msg, path);
	contains(msg, "No such file or directory");
	contains(msg, "systemctl status dnnqd.socket");
	contains(msg, "(or name its socket: $DNNQ_SOCKET, dnnq_connect's path");
	ck_assert_int_ne(dnnqctl_status(path, msg, sizeof msg), 0);
	contains(msg, "dnnqctl: connect to ");
	contains(msg, path);
	contains(msg, "No such file or directory");
	contains(msg, "is dnnqd running?");

	/* a regular file */
	snprintf(path, sizeof path, "%s/file", dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(connect_fails(path, msg, sizeof msg), DNNQ_E_IO);
	contains(msg, path);
	contains(msg, "not a socket");
	ck_assert_int_ne(dnnqctl_status(path, msg, sizeof msg), 0);
	contains(msg, path);
	contains(msg, "not a socket");
	unlink(path);

	/* a socket file nobody listens on */
	snprintf(path, sizeof path, "%s/stale.sock", dir);
	fd = listen_at(path, 0666);
	close(fd);
	ck_assert_int_eq(connect_fails(path, msg, sizeof msg), DNNQ_E_IO);
	contains(msg, path);
	contains(msg, "Connection refused");
	contains(msg, "nobody listens");
	unlink(path);

	/* a stream socket: not dnnqd's kind */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(connect_fails(path, msg, sizeof msg), DNNQ_E_IO);
	contains(msg, path);
	contains(msg, "another type");
	close(fd);
	unlink(path);

	/* a path too long for a socket address */
	char longpath[200];
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[0] = '/';
	longpath[sizeof longpath - 1] = 0;
	ck_assert_int_eq(connect_fails(longpath, msg, sizeof msg), DNNQ_E_INVAL);
	contains(msg, "a socket path is 1..107 bytes");
	rmdir(dir);
}
END_TEST

/* ---- against dnnqd --------------------------------------------------- */

static void start(struct fixture_daemon *d, const char *const *extra)
{
	struct dnnq_diag diag = { "" };
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	ck_assert_msg(bin, "no dnnqd: set DNNQ_DNNQD to the binary (make check does)");
	unsigned models = 1u << FIXTURE_RELU64 | 1u << FIXTURE_MULTI;
	int rc = fixture_daemon_start(d, bin, models, extra, &diag);
	if (rc) {
		char log[2048];
		fixture_daemon_log(d, log, sizeof log);
		fprintf(stderr, "%s\n", log);
	}
	ck_assert_msg(rc == 0, "%s", diag.msg);
}

static void *fail_in_thread(void *arg)
{
	(void)arg;
	struct dnnq_tensor t;
	int rc = dnnq_tensor_alloc(NULL, DNNQ_TYPE_U8, 1, NULL, &t);
	return (void *)(long)(rc == DNNQ_E_INVAL &&
	                      strcmp(dnnq_last_error(), "dnnq_tensor_alloc: the client is NULL") == 0);
}

/* The daemon's words when it refuses a session (here: over --max-clients
 * 1, refused at accept), and the text of other failing calls. */
START_TEST(api_last_error_messages)
{
	struct fixture_daemon d = { 0 };
	const char *extra[] = { "--max-clients", "1", NULL };
	start(&d, extra);
	struct dnnq_client *c1, *c2;
	ck_assert_int_eq(dnnq_connect(d.socket, NULL, &c1), 0);
	int rc = dnnq_connect(d.socket, NULL, &c2);
	ck_assert_int_eq(rc, DNNQ_E_BUSY);
	const char *msg = dnnq_last_error();
	contains(msg, d.socket);
	contains(msg, "dnnqd refused the session: ");
	ck_assert_msg(strlen(msg) > strlen("dnnqd at : dnnqd refused the session: ") +
	              strlen(d.socket) + strlen(dnnq_strerror(rc)) + 3,
	              "no message from dnnqd: %s", msg);

	/* other calls: the call and dnnq_strerror's text, or a detail */
	struct dnnq_model *m;
	ck_assert_int_eq(dnnq_model_open(c1, "no-such-model", &m), DNNQ_E_NOTFOUND);
	ck_assert_str_eq(dnnq_last_error(), "model 'no-such-model': not found (dnnqd serves:"
	                 " 'relu64', 'multi')");
	ck_assert_int_eq(dnnq_model_open(c1, "relu64", &m), 0);
	/* success leaves the text */
	ck_assert_str_eq(dnnq_last_error(), "model 'no-such-model': not found (dnnqd serves:"
	                 " 'relu64', 'multi')");
	struct dnnq_io_info io;
	ck_assert_int_eq(dnnq_model_io(m, DNNQ_OUTPUT, 7, &io), DNNQ_E_RANGE);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_model_io: model 'relu64' has 1 output: index 7");
	struct dnnq_request r = { 0 };
	ck_assert_int_eq(dnnq_poll(&r), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_poll: not a request in flight (never submitted, or its end was"
	                 " returned already, by dnnq_wait or dnnq_poll)");
	/* one text per thread */
	pthread_t t;
	void *ok;
	ck_assert_int_eq(pthread_create(&t, NULL, fail_in_thread, NULL), 0);
	ck_assert_int_eq(pthread_join(t, &ok), 0);
	ck_assert(ok);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_poll: not a request in flight (never submitted, or its end was"
	                 " returned already, by dnnq_wait or dnnq_poll)");
	dnnq_model_close(m);
	dnnq_close(c1);
	struct dnnq_diag diag = { "" };
	ck_assert_msg(fixture_daemon_stop(&d, &diag) == 0, "%s", diag.msg);
	fixture_daemon_destroy(&d);
}
END_TEST

/* A request dnnq_submit / dnnq_infer refuses: the last-error line names
 * the model, the tensor and the field (not only the code's text); a full
 * set of slots says how many and what to do; so does a call after the
 * daemon went away. */
START_TEST(api_submit_errors_name_the_tensor)
{
	struct fixture_daemon d = { 0 };
	start(&d, NULL);
	struct dnnq_client *c;
	struct dnnq_connect_opts o = { .slots = 2 };
	ck_assert_int_eq(dnnq_connect(d.socket, &o, &c), 0);
	struct dnnq_model *m;
	ck_assert_int_eq(dnnq_model_open(c, "multi", &m), 0);
	struct dnnq_tensor a, b, lg, pr, small, wide;
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, 2, &a), 0);
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_INPUT, 1, 2, &b), 0);
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, 0, 2, &lg), 0);
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, 1, 2, &pr), 0);
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_INPUT, 1, 1, &small), 0);
	const int64_t wd[] = { 2, 6, 5, 4 };
	ck_assert_int_eq(dnnq_tensor_alloc(c, DNNQ_TYPE_U8, 4, wd, &wide), 0);
	memset(a.data, 0, a.bytes);
	memset(b.data, 0, b.bytes);
	struct dnnq_tensor *outs[] = { &lg, &pr }, *swapped[] = { &pr, &lg };
	const struct dnnq_tensor *ins[] = { &a, &b }, *batch1[] = { &a, &small },
	                         *bad_dim[] = { &a, &wide }, *null_b[] = { &a, NULL };
	ck_assert_int_eq(dnnq_infer(m, batch1, outs, 1000), DNNQ_E_SHAPE);
	ck_assert_str_eq(dnnq_last_error(),
	                 "model 'multi' input 1 'b': batch (dims[0]) 1, inputs[0]'s is 2");
	ck_assert_int_eq(dnnq_infer(m, bad_dim, outs, 1000), DNNQ_E_SHAPE);
	ck_assert_str_eq(dnnq_last_error(),
	                 "model 'multi' input 1 'b': dims[2] 5, the signature's is 6");
	/* logits (u8) takes f32, which dnnqd converts; prob (f32) no u8 */
	ck_assert_int_eq(dnnq_infer(m, ins, swapped, 1000), DNNQ_E_DTYPE);
	ck_assert_str_eq(dnnq_last_error(),
	                 "model 'multi' output 1 'prob': dtype u8, the signature's is f32");
	struct dnnq_request r[3];
	ck_assert_int_eq(dnnq_submit(m, null_b, outs, &r[0]), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "model 'multi' input 1 'b': the tensor pointer is NULL");
	/* two slots: the third submit finds none */
	ck_assert_int_eq(dnnq_submit(m, ins, outs, &r[0]), 0);
	ck_assert_int_eq(dnnq_submit(m, ins, outs, &r[1]), 0);
	ck_assert_int_eq(dnnq_submit(m, ins, outs, &r[2]), DNNQ_E_BUSY);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_submit: every request slot of this client (2) "
	                 "is in flight: end one (dnnq_poll, dnnq_wait) or connect with more "
	                 "(dnnq_connect_opts.slots)");
	ck_assert_int_eq(dnnq_infer(m, ins, outs, 1000), DNNQ_E_BUSY);
	contains(dnnq_last_error(), "dnnq_infer: every request slot of this client (2) is in flight");
	ck_assert_int_eq(dnnq_wait(&r[0], 5000), 0);
	ck_assert_int_eq(dnnq_wait(&r[1], 5000), 0);
	/* waiting twice: refused saying why (it said "invalid argument") */
	ck_assert_int_eq(dnnq_wait(&r[0], 5000), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_wait: not a request in flight (never submitted,"
	                 " or its end was returned already, by dnnq_wait or dnnq_poll)");
	ck_assert_int_eq(dnnq_poll(NULL), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_poll: req is NULL");
	ck_assert_int_eq(dnnq_submit(NULL, ins, outs, &r[2]), DNNQ_E_INVAL);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_submit: the model is NULL");
	/* the daemon gone: the text says what to do */
	struct dnnq_diag diag = { "" };
	ck_assert_msg(fixture_daemon_stop(&d, &diag) == 0, "%s", diag.msg);
	int rc = 0;
	for (int i = 0; i < 100 && rc != DNNQ_E_DISCONNECTED; i++)
		rc = dnnq_infer(m, ins, outs, 1000);
	ck_assert_int_eq(rc, DNNQ_E_DISCONNECTED);
	ck_assert_str_eq(dnnq_last_error(), "dnnq_infer: disconnected from the daemon (dnnqd "
	                 "stopped, restarted or ended the session: this client is done; close it, "
	                 "connect again once dnnqd is back)");
	/* opening a model then says the same, naming the model (it said only
	 * "disconnected from the daemon") */
	struct dnnq_model *again;
	ck_assert_int_eq(dnnq_model_open(c, "multi", &again), DNNQ_E_DISCONNECTED);
	ck_assert_str_eq(dnnq_last_error(), "model 'multi': disconnected from the daemon (dnnqd "
	                 "stopped, restarted or ended the session: this client is done; close it, "
	                 "connect again once dnnqd is back)");
	struct dnnq_tensor *all[] = { &a, &b, &lg, &pr, &small, &wide };
	for (unsigned i = 0; i < 6; i++)
		dnnq_tensor_free(c, all[i]);
	dnnq_model_close(m);
	dnnq_close(c);
	fixture_daemon_destroy(&d);
}
END_TEST

/* dnnq_close_keep_mapping: the tensor's address stays readable (zeros, no
 * longer the daemon's region) and writable until the caller's munmap. */
START_TEST(api_close_keep_mapping)
{
	struct fixture_daemon d = { 0 };
	start(&d, NULL);
	struct dnnq_client *c;
	struct dnnq_model *m;
	struct dnnq_tensor in, out;
	ck_assert_int_eq(dnnq_connect(d.socket, NULL, &c), 0);
	ck_assert_int_eq(dnnq_model_open(c, "relu64", &m), 0);
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_INPUT, 0, 1, &in), 0);
	ck_assert_int_eq(dnnq_tensor_alloc_io(m, DNNQ_OUTPUT, 0, 1, &out), 0);
	memset(in.data, 200, in.bytes);
	const struct dnnq_tensor *ins[] = { &in };
	struct dnnq_tensor *outs[] = { &out };
	ck_assert_int_eq(dnnq_infer(m, ins, outs, 10000), 0);
	uint8_t *p = in.data, *q = out.data;
	ck_assert_int_eq(p[0], 200);
	void *base = (void *)1;
	size_t size = 1;
	dnnq_close_keep_mapping(c, &base, &size);
	ck_assert_ptr_nonnull(base);
	ck_assert((uint8_t *)base <= p && p + in.bytes <= (uint8_t *)base + size);
	for (size_t i = 0; i < in.bytes; i++)
		ck_assert_int_eq(p[i] | q[i], 0);
	p[0] = 7;
	ck_assert_int_eq(p[0], 7);
	ck_assert_int_eq(munmap(base, size), 0);
	dnnq_close_keep_mapping(NULL, &base, &size);
	ck_assert_ptr_null(base);
	ck_assert_uint_eq(size, 0);
	struct dnnq_diag diag = { "" };
	ck_assert_msg(fixture_daemon_stop(&d, &diag) == 0, "%s", diag.msg);
	fixture_daemon_destroy(&d);
}
END_TEST

/* examples/infer.c, as `make check-api` built it against the installed
 * library: its output for relu64 and multi, and its failure text. */
static int run_example(const char *model, const char *socket, char *out, size_t len)
{
	const char *ex = fixture_binary("DNNQ_EXAMPLE", "dnnq-example");
	ck_assert_msg(ex, "no dnnq-example: `make check-api` builds it (make check does)");
	char *argv[] = { (char *)ex, (char *)model, (char *)socket, NULL };
	return run_capture(argv, out, len, 20000);
}

START_TEST(api_example_runs)
{
	struct fixture_daemon d = { 0 };
	char out[4096];
	start(&d, NULL);
	ck_assert_msg(run_example("relu64", d.socket, out, sizeof out) == 0, "%s", out);
	contains(out, "relu64: 1 input, 1 output\n");
	contains(out, "y u8 [1, 64]:");
	ck_assert_msg(run_example("multi", d.socket, out, sizeof out) == 0, "%s", out);
	contains(out, "multi: 2 inputs, 2 outputs\n");
	contains(out, "f32 [1, 10]:");
	ck_assert_int_eq(run_example("nope", d.socket, out, sizeof out), 1);
	contains(out, "dnnq-example: open: not found\n  model 'nope': not found");
	struct dnnq_diag diag = { "" };
	ck_assert_msg(fixture_daemon_stop(&d, &diag) == 0, "%s", diag.msg);
	char gone[sizeof d.socket];
	snprintf(gone, sizeof gone, "%s", d.socket);
	fixture_daemon_destroy(&d);
	ck_assert_int_eq(run_example("relu64", gone, out, sizeof out), 1);
	contains(out, "dnnq-example: connect: I/O error\n  connect to ");
	contains(out, gone);
	contains(out, "is dnnqd running?");
}
END_TEST

/* tests/api/cxx.cc, the C++17 program `make check-api` built against the
 * installed header: 16 requests submitted at once and awaited on
 * dnnq_event_fd give dnnq_infer's outputs; a refusal prints the code's text
 * and dnnq_last_error's line. */
START_TEST(api_cxx_async_runs)
{
	const char *cxx = fixture_binary("DNNQ_CXX", "dnnq-cxx-example");
	ck_assert_msg(cxx, "no dnnq-cxx-example: `make check-api` builds it (make check does)");
	struct fixture_daemon d = { 0 };
	char out[4096];
	start(&d, NULL);
	const char *models[] = { "relu64", "multi" };
	for (unsigned i = 0; i < 2; i++) {
		char *argv[] = { (char *)cxx, (char *)models[i], d.socket, (char *)"16", NULL };
		ck_assert_msg(run_capture(argv, out, sizeof out, 20000) == 0, "%s", out);
		contains(out, ": 16 async requests match dnnq_infer\n");
		contains(out, models[i]);
	}
	/* 65 at once: over the 64 slots of the default session */
	char *busy[] = { (char *)cxx, (char *)"relu64", d.socket, (char *)"65", NULL };
	ck_assert_int_eq(run_capture(busy, out, sizeof out, 20000), 1);
	contains(out, "cxx: submit: limit reached (sessions or requests in flight)\n"
	         "  dnnq_submit: every request slot of this client (64) is in flight");
	char *nope[] = { (char *)cxx, (char *)"nope", d.socket, NULL };
	ck_assert_int_eq(run_capture(nope, out, sizeof out, 20000), 1);
	contains(out, "cxx: open: not found\n  model 'nope': not found");
	struct dnnq_diag diag = { "" };
	ck_assert_msg(fixture_daemon_stop(&d, &diag) == 0, "%s", diag.msg);
	fixture_daemon_destroy(&d);
}
END_TEST

Suite *suite_api(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");
	tcase_add_unchecked_fixture(tc, fixture_tmp_begin, fixture_tmp_end);
	tcase_add_test(tc, api_default_socket_rule);
	tcase_add_test(tc, api_client_default_socket);
	tcase_add_test(tc, api_connect_errors_name_the_cause);
	tcase_add_test(tc, api_last_error_messages);
	tcase_add_test(tc, api_submit_errors_name_the_tensor);
	tcase_add_test(tc, api_close_keep_mapping);
	tcase_add_test(tc, api_example_runs);
	tcase_add_test(tc, api_cxx_async_runs);
	suite_add_tcase(s, tc);
	return s;
}
