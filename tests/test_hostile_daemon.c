/*
 * Hostile surroundings of dnnqd (suite hostile_daemon): what the process's
 * environment and its signals can do to the control loop. A real dnnqd
 * ($DNNQ_DNNQD, through tools/serve-fixture.h), always stopped.
 *
 *   - $NOTIFY_SOCKET naming a datagram socket nobody reads, then SIGHUPs:
 *     sd_notify's blocking send held the control loop once the socket's
 *     queue was full (no connect answered, SIGTERM ignored); now every
 *     message is sent without blocking and dropped when it does not fit
 *   - --socket in a directory every user may write to: another user could
 *     put their socket where clients connect (or swap dnnqd's for a
 *     symlink before its chmod); now refused at start
 *
 * Each test prints one `hostile: <what>: <n> tries: <outcome>` line for
 * docs/reliability.md.
 */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "tests/suites.h"
#include "tools/serve-fixture.h"

/* Whether a client connects within 5 s: from a child, so a control loop
 * that never answers cannot hold the test. */
static bool connects(const char *path)
{
	pid_t pid = fixture_fork();
	if (pid == 0) {
		struct dnnq_connect_opts o = { .timeout_ms = 5000 };
		struct dnnq_client *c;
		_exit(dnnq_connect(path, &o, &c) ? 1 : (dnnq_close(c), 0));
	}
	int status = fixture_wait(pid, 10000);
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

START_TEST(hostile_notify_unread)
{
	enum { HUPS = 40 };
	struct fixture_daemon d = { 0 };
	struct dnnq_diag diag = { "" };
	char dir[] = "/tmp/dnnq-notify-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s/notify.sock", dir);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	setenv("NOTIFY_SOCKET", a.sun_path, 1);
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	ck_assert_msg(bin, "no dnnqd: set DNNQ_DNNQD to the binary (make check does)");
	int rc = fixture_daemon_start(&d, bin, 1u << FIXTURE_RELU64, NULL, &diag);
	unsetenv("NOTIFY_SOCKET");
	ck_assert_msg(rc == 0, "%s", diag.msg);
	/* each reload is RELOADING=1, then READY=1 with a STATUS=: the
	 * socket's queue (net.unix.max_dgram_qlen, 10 by default) fills */
	for (int i = 0; i < HUPS; i++) {
		kill(d.pid, SIGHUP);
		fixture_sleep_ms(20);
	}
	bool served = connects(d.socket);
	char log[600];
	fixture_daemon_log(&d, log, sizeof log);
	ck_assert_msg(served, "no connect answered after %d SIGHUPs with $NOTIFY_SOCKET unread;"
	              " log: %s", HUPS, log);
	ck_assert_msg(fixture_daemon_stop(&d, &diag) == 0, "%s", diag.msg);
	printf("hostile: $NOTIFY_SOCKET naming a datagram socket nobody reads, then %d SIGHUPs: "
	       "1 tries: connects answered, SIGTERM ended dnnqd with status 0\n", HUPS);
	fixture_daemon_destroy(&d);
	close(fd);
	unlink(a.sun_path);
	rmdir(dir);
}
END_TEST

/* dnnqd run with args until it exits (at most 20 s); its wait status, its
 * stderr in err. */
static int run_dnnqd(const char *const *args, char *err, size_t len)
{
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	ck_assert_msg(bin, "no dnnqd: set DNNQ_DNNQD to the binary (make check does)");
	char log[] = "/tmp/dnnq-run-XXXXXX";
	int fd = mkstemp(log);
	ck_assert_int_ge(fd, 0);
	pid_t pid = fixture_fork();
	if (pid == 0) {
		const char *argv[16] = { bin };
		for (int i = 0; args[i] && i < 14; i++)
			argv[i + 1] = args[i];
		dup2(fd, 1);
		dup2(fd, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	int status = fixture_wait(pid, 20000);
	ssize_t n = pread(fd, err, len - 1, 0);
	err[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(log);
	return status;
}

START_TEST(hostile_socket_dir)
{
	char dir[] = "/tmp/dnnq-sockdir-XXXXXX", sock[64], err[2048];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof sock, "%s/dnnqd.sock", dir);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	const char *const args[] = { "--socket", sock, NULL };
	int status = run_dnnqd(args, err, sizeof err);
	ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1,
	              "dnnqd with its socket in a directory of mode 0777: wait status %#x; %s",
	              (unsigned)status, err);
	ck_assert_msg(strstr(err, "is writable by every user (mode 0777, uid ") &&
	                  strstr(err, "): another user could replace the socket clients connect to"),
	              "%s", err);
	ck_assert_int_eq(access(sock, F_OK), -1);
	char *nl = strchr(err, '\n');
	if (nl)
		*nl = 0;
	printf("hostile: dnnqd told to listen in a directory every user may write to (mode 0777):"
	       " 1 tries: refused at start, exit 1, no socket left ('%s')\n",
	       strstr(err, dir) ? strstr(err, dir) : err);
	rmdir(dir);
}
END_TEST

Suite *suite_hostile_daemon(void)
{
	Suite *s = suite_create("hostile_daemon");
	TCase *tc = tcase_create("daemon");
	tcase_add_test(tc, hostile_notify_unread);
	tcase_add_test(tc, hostile_socket_dir);
	suite_add_tcase(s, tc);
	return s;
}
