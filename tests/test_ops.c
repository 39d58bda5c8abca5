/*
 * What an operator sees of dnnqd (suite ops): --check-config checking every
 * model a config names, and the log lines of a real dnnqd ($DNNQ_DNNQD) on
 * a temporary socket: one line per model loaded (at start and at a
 * reload), session lines only at --log-level debug, a timestamp unless
 * stderr is the journal, the ready line naming the socket served (the
 * received one under socket activation), and a socket in a missing
 * directory refused with the directory named.
 *
 * Each daemon is started here with stderr on a log file and JOURNAL_STREAM
 * set (to that file's "DEVICE:INODE", as systemd would) or unset in the
 * child only, and always stopped with SIGTERM (exit 0 asserted) or killed
 * by fixture_fork's death signal when a test fails.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/dnnq.h"
#include "tests/suites.h"
#include "tools/serve-fixture.h"

#define WAIT_MS 60000

/* ISO 8601 in UTC to the millisecond, then "dnnqd: " */
#define STAMP "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z dnnqd: "

static void expect_in(const char *s, const char *part)
{
	ck_assert_msg(strstr(s, part), "'%s' does not say '%s'", s, part);
}

static void make_dir(char *dir, size_t len)
{
	const char *tmp = getenv("DNNQ_FIXTURE_TMP");
	snprintf(dir, len, "%s/ops-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void put_file(const char *path, const void *buf, size_t len)
{
	char tmp[512];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", tmp, strerror(errno));
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

static void put_text(const char *path, const char *text)
{
	put_file(path, text, strlen(text));
}

static void read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

static void model_file(enum fixture_model m, const char *path)
{
	struct dnnq_diag d = { "" };
	ck_assert_msg(fixture_model_write(m, path, &d) == 0, "%s", d.msg);
}

/* The line of text containing part ("" when none), into line. */
static bool line_with(const char *text, const char *part, char *line, size_t len)
{
	const char *p = strstr(text, part);
	line[0] = 0;
	if (!p)
		return false;
	const char *b = p, *e = strchr(p, '\n');
	while (b > text && b[-1] != '\n')
		b--;
	snprintf(line, len, "%.*s", (int)((e ? e : p + strlen(p)) - b), b);
	return true;
}

static bool matches(const char *s, const char *pattern)
{
	regex_t re;
	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	bool ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* Every line of text (cut into lines in place) matches `must` and, unless
 * NULL, not `must_not`. */
static void expect_every_line(char *text, const char *must, const char *must_not)
{
	for (char *l = text, *e; *l; l = e + 1) {
		ck_assert_ptr_nonnull(e = strchr(l, '\n'));
		*e = 0;
		ck_assert_msg(matches(l, must) && !(must_not && matches(l, must_not)),
		              "'%s' is not '%s'%s%s", l, must, must_not ? " without " : "",
		              must_not ? must_not : "");
	}
}

/* ---- a dnnqd -------------------------------------------------------------- */

struct proc {
	pid_t pid;
	char log[320];
};

/* argv[0] .. (NULL-terminated) with stdout and stderr on p->log, and
 * JOURNAL_STREAM naming that file (journal) or unset, in the child only.
 * argv[0] NULL: dnnqd itself. */
static void spawn(struct proc *p, const char *dir, const char *const *argv, bool journal)
{
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	ck_assert_msg(bin, "no dnnqd: set DNNQ_DNNQD");
	char *args[24];
	int n = 0;
	for (; argv[n] && n < 22; n++)
		args[n] = (char *)(strcmp(argv[n], "DNNQD") ? argv[n] : bin);
	args[n] = NULL;
	snprintf(p->log, sizeof p->log, "%s/log", dir);
	int made = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(made, 0);
	close(made);
	p->pid = fixture_fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		struct stat st;
		char v[64];
		int fd = open(p->log, O_WRONLY | O_APPEND);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || fstat(fd, &st))
			_exit(126);
		snprintf(v, sizeof v, "%llu:%llu", (unsigned long long)st.st_dev,
		         (unsigned long long)st.st_ino);
		if (journal)
			setenv("JOURNAL_STREAM", v, 1);
		else
			unsetenv("JOURNAL_STREAM");
		execvp(args[0], args);
		_exit(127);
	}
}

/* Until the log has `part` (polling); the log's text in buf. */
static void wait_log(struct proc *p, const char *part, char *buf, size_t len)
{
	for (int i = 0; i < WAIT_MS / 5; i++) {
		read_text(p->log, buf, len);
		if (strstr(buf, part))
			return;
		int st = fixture_wait(p->pid, 0);
		ck_assert_msg(st == -1, "dnnqd ended (status %#x) before '%s': %s", (unsigned)st,
		              part, buf);
		fixture_sleep_ms(5);
	}
	ck_abort_msg("no '%s' in the log: %s", part, buf);
}

/* SIGTERM, exit 0; the whole log in buf. */
static void stop(struct proc *p, char *buf, size_t len)
{
	kill(p->pid, SIGTERM);
	int st = fixture_wait(p->pid, WAIT_MS);
	if (st == -1)
		kill(p->pid, SIGKILL);
	read_text(p->log, buf, len);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	              "wait status %#x; log: %s", (unsigned)st, buf);
	p->pid = 0;
}

/* One session opened and closed. */
static void one_session(const char *sock, uint32_t slots)
{
	struct dnnq_connect_opts o = { .slots = slots, .arena_bytes = 1 << 20, .timeout_ms = 20000 };
	struct dnnq_client *c = NULL;
	int rc = dnnq_connect(sock, &o, &c);
	ck_assert_msg(rc == 0, "dnnq_connect(%s): %s", sock, dnnq_strerror(rc));
	dnnq_close(c);
}

/* A fresh directory with relu64.dnnq in it, its socket path (`sock`
 * under dir) and the --model argument for it. */
struct setup {
	char dir[256], sock[320], model[320], arg[340];
};

static void set_up(struct setup *u, const char *sock)
{
	make_dir(u->dir, sizeof u->dir);
	snprintf(u->sock, sizeof u->sock, "%s/%s", u->dir, sock);
	snprintf(u->model, sizeof u->model, "%s/relu64.dnnq", u->dir);
	snprintf(u->arg, sizeof u->arg, "relu64=%s", u->model);
	model_file(FIXTURE_RELU64, u->model);
}

/* The ready line of text ends with ", socket SOCK" and `tail`. */
static void expect_ready_socket(const char *text, const char *sock, const char *tail)
{
	char want[400], line[1024];
	ck_assert_msg(line_with(text, "ready: ", line, sizeof line), "no ready line: %s", text);
	snprintf(want, sizeof want, ", socket %s%s", sock, tail);
	size_t n = strlen(line), w = strlen(want);
	ck_assert_msg(n > w && !strcmp(line + n - w, want), "'%s' does not end '%s'", line, want);
}

/* ---- --check-config ---------------------------------------------------------- */

static int check_config(const char *dir, const char *yaml, char *out, size_t olen, char *err,
                        size_t elen)
{
	struct proc p;
	char o[320], e[320];
	snprintf(o, sizeof o, "%s/out", dir);
	snprintf(e, sizeof e, "%s/err", dir);
	const char *bin = fixture_binary("DNNQ_DNNQD", "dnnqd");
	ck_assert_ptr_nonnull(bin);
	p.pid = fixture_fork();
	ck_assert_int_ge(p.pid, 0);
	if (p.pid == 0) {
		int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(126);
		execl(bin, bin, "--check-config", yaml, (char *)NULL);
		_exit(127);
	}
	int st = fixture_wait(p.pid, WAIT_MS);
	ck_assert_msg(st != -1 && WIFEXITED(st), "dnnqd --check-config did not exit");
	read_text(o, out, olen);
	read_text(e, err, elen);
	return WEXITSTATUS(st);
}

START_TEST(check_config_models)
{
	char dir[256], yaml[300], path[320], out[1024], err[4096], want[1024], line[1024];
	make_dir(dir, sizeof dir);
	snprintf(yaml, sizeof yaml, "%s/dnnqd.yaml", dir);
	/* good.dnnq; text.dnnq: words; short.dnnq: the first half of one */
	snprintf(path, sizeof path, "%s/good.dnnq", dir);
	model_file(FIXTURE_RELU64, path);
	void *buf;
	size_t len;
	struct dnnq_diag d = { "" };
	ck_assert_int_eq(fixture_model_bytes(FIXTURE_FC1024, &buf, &len, &d), 0);
	snprintf(path, sizeof path, "%s/short.dnnq", dir);
	put_file(path, buf, len / 2);
	free(buf);
	snprintf(path, sizeof path, "%s/text.dnnq", dir);
	put_text(path, "models are not text\n");
	put_text(yaml, "models:\n"
	               "  - name: gone\n    path: gone.dnnq\n"
	               "  - name: text\n    path: text.dnnq\n"
	               "  - name: short\n    path: short.dnnq\n"
	               "  - name: good\n    path: good.dnnq\n");
	ck_assert_int_eq(check_config(dir, yaml, out, sizeof out, err, sizeof err), 1);
	ck_assert_str_eq(out, "");
	/* one line per bad model, in config order, the good one not named */
	int lines = 0;
	for (const char *p = err; (p = strchr(p, '\n')); p++)
		lines++;
	ck_assert_msg(lines == 3, "want 3 lines: %s", err);
	const char *names[] = { "gone", "text", "short" };
	const char *why[] = { "No such file or directory", "", "" };
	const char *at = err;
	for (int i = 0; i < 3; i++) {
		/* where the file names it: line, column and key */
		snprintf(want, sizeof want, "%s:%d:11: models[%d].path: model %s: %s/%s.dnnq: ",
		         yaml, 3 + 2 * i, i, names[i], dir, names[i]);
		ck_assert_msg(line_with(at, want, line, sizeof line), "no '%s' in: %s", want, err);
		ck_assert_msg(!strncmp(at, want, strlen(want)), "out of order: %s", err);
		ck_assert_msg(strlen(line) > strlen(want), "no reason: %s", line);
		expect_in(line, why[i]);
		at += strlen(line) + 1;
	}
	ck_assert_ptr_null(strstr(err, "good"));
	/* the good one alone */
	put_text(yaml, "models:\n  - name: good\n    path: good.dnnq\n");
	ck_assert_int_eq(check_config(dir, yaml, out, sizeof out, err, sizeof err), 0);
	snprintf(want, sizeof want, "dnnqd: %s: ok\n", yaml);
	ck_assert_str_eq(out, want);
	ck_assert_str_eq(err, "");
}
END_TEST

/* ---- log lines ---------------------------------------------------------------- */

/* "model NAME: PATH, generation G, SIZE, SETTINGS, loaded in N ms", size
 * from the file; settings "max_batch B, threads T[, dynamic batching D us]" */
static void expect_model_line(const char *text, const char *name, const char *path,
                              unsigned gen, const char *settings)
{
	char want[512], line[1024], pattern[1024];
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	snprintf(want, sizeof want, "model %s: %s, generation %u, ", name, path, gen);
	ck_assert_msg(line_with(text, want, line, sizeof line), "no '%s' in: %s", want, text);
	double kb = (double)st.st_size / 1000;
	char size[32];
	if (st.st_size < 1000)
		snprintf(size, sizeof size, "%lld B", (long long)st.st_size);
	else if (kb < 999.95)
		snprintf(size, sizeof size, "%.1f kB", kb);
	else
		snprintf(size, sizeof size, "%.1f MB", kb / 1000);
	snprintf(pattern, sizeof pattern, "^" STAMP "%s%s, %s, loaded in [0-9]+ ms$", want, size,
	         settings);
	ck_assert_msg(matches(line, pattern), "'%s' is not '%s'", line, pattern);
}

START_TEST(log_models_and_stamps)
{
	char yaml[320], text[16384];
	struct setup u;
	struct proc p;
	set_up(&u, "dnnqd.sock");
	snprintf(yaml, sizeof yaml, "%s/dnnqd.yaml", u.dir);
	put_text(yaml, "models:\n  - name: m\n    path: relu64.dnnq\n");
	spawn(&p, u.dir, (const char *const[]){ "DNNQD", "--config", yaml, "--socket", u.sock,
	                                        NULL }, false);
	wait_log(&p, "ready: ", text, sizeof text);
	expect_model_line(text, "m", u.model, 1, "max_batch 64, threads 1");
	/* the ready line names the socket it serves */
	expect_ready_socket(text, u.sock, "");
	/* a reload names the model it loaded again, with its new settings */
	model_file(FIXTURE_FC1024, u.model);
	put_text(yaml, "models:\n  - name: m\n    path: relu64.dnnq\n    max_batch: 4\n"
	         "    dynamic_batching: { max_queue_delay_us: 300, preferred_batch_size: [2, 4] }\n"
	         "    warmup: false\n");
	kill(p.pid, SIGHUP);
	wait_log(&p, "generation 2", text, sizeof text);
	/* every setting given, the preferred sizes and warm-up off too */
	expect_model_line(text, "m", u.model, 2, "max_batch 4, threads 1, dynamic batching 300 us, "
	                  "preferred 2,4, no warm-up");
	wait_log(&p, "reload: 0 added, 1 changed, 0 removed; 1 served", text, sizeof text);
	/* a model added and one removed, in dnnqctl reload's words */
	put_text(yaml, "models:\n  - name: m2\n    path: relu64.dnnq\n");
	kill(p.pid, SIGHUP);
	wait_log(&p, "reload: 1 added, 0 changed, 1 removed; 1 served", text, sizeof text);
	ck_assert_msg(strstr(text, "model m: removed (no longer in the config)"), "%s", text);
	/* one failed reload, then a good one that says so, in the singular */
	put_text(yaml, "models:\n  - name: m2\n    path: nothere.dnnq\n");
	kill(p.pid, SIGHUP);
	wait_log(&p, "reload failed: ", text, sizeof text);
	put_text(yaml, "models:\n  - name: m2\n    path: relu64.dnnq\n");
	kill(p.pid, SIGHUP);
	wait_log(&p, " before it\n", text, sizeof text);
	/* the config watch may have reloaded the bad file a second time */
	char line[1024];
	ck_assert(line_with(text, " before it", line, sizeof line));
	ck_assert_msg(matches(line, "; 1 served; (1 failed reload before it|[2-9] failed reloads"
	                      " before it(, [1-9] of them logged at debug only)?)$"), "%s", line);
	/* sessions are debug lines */
	one_session(u.sock, 4);
	stop(&p, text, sizeof text);
	ck_assert_msg(!strstr(text, "session "), "session lines at info: %s", text);
	/* every line stamped */
	expect_every_line(text, "^" STAMP, NULL);
}
END_TEST

START_TEST(log_debug_sessions_journal)
{
	char text[16384], line[1024];
	struct setup u;
	struct proc p;
	set_up(&u, "dnnqd.sock");
	spawn(&p, u.dir, (const char *const[]){ "DNNQD", "--socket", u.sock, "--model", u.arg,
	                                        "--log-level", "debug", NULL }, true);
	wait_log(&p, "ready: ", text, sizeof text);
	one_session(u.sock, 4);
	wait_log(&p, "session 1: closed", text, sizeof text);
	one_session(u.sock, 1);
	wait_log(&p, "session 2: closed", text, sizeof text);
	stop(&p, text, sizeof text);
	/* the journal's priority prefixes, no timestamp; one slot in the
	 * singular (it said '1 slots') */
	ck_assert_msg(line_with(text, "session 1: pid ", line, sizeof line), "%s", text);
	ck_assert_msg(!strncmp(line, "<7>session 1: pid ", 18), "'%s'", line);
	ck_assert_msg(strstr(line, ": 4 slots, "), "'%s'", line);
	ck_assert_msg(line_with(text, "session 2: pid ", line, sizeof line), "%s", text);
	ck_assert_msg(strstr(line, ": 1 slot, "), "'%s'", line);
	ck_assert_msg(line_with(text, "session 1: closed", line, sizeof line), "%s", text);
	ck_assert_str_eq(line, "<7>session 1: closed");
	ck_assert_msg(line_with(text, "model relu64: ", line, sizeof line), "%s", text);
	ck_assert_msg(matches(line, "^<6>model relu64: /.*/relu64\\.dnnq, generation 1, "
	                            "[0-9.]+ [kM]?B, max_batch [0-9]+, threads 1, "
	                            "loaded in [0-9]+ ms$"), "'%s'", line);
	expect_every_line(text, "^<[0-7]>", "[0-9]{2}:[0-9]{2}:[0-9]{2}\\.");
}
END_TEST

/* The dnnqd of p exits 1 within WAIT_MS, its log (into text) saying want. */
static void expect_start_fails(struct proc *p, const char *want, char *text, size_t len)
{
	int st = fixture_wait(p->pid, WAIT_MS);
	read_text(p->log, text, len);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %#x: %s",
	              (unsigned)st, text);
	expect_in(text, want);
}

START_TEST(socket_dir_missing)
{
	char missing[300], text[4096], want[512];
	struct setup u;
	struct proc p;
	set_up(&u, "nowhere/dnnqd.sock");
	snprintf(missing, sizeof missing, "%s/nowhere", u.dir);
	spawn(&p, u.dir, (const char *const[]){ "DNNQD", "--socket", u.sock, "--model", u.arg,
	                                        NULL }, false);
	snprintf(want, sizeof want, "dnnqd: %s: socket directory: does not exist (create it, or "
	         "listen in one that does: --socket, listen.path)\n", missing);
	expect_start_fails(&p, want, text, sizeof text);
	struct stat sb;
	ck_assert_msg(stat(missing, &sb) != 0, "%s was made", missing);
}
END_TEST

/* A second dnnqd on a socket a live one serves is refused before it loads
 * its models (it loaded them all first, which can take minutes, to find
 * the socket taken); the first one serves on. */
START_TEST(second_daemon_refused_before_loading)
{
	char text[4096], text2[4096], want[512];
	struct setup u, u2;
	struct proc p, q;
	set_up(&u, "dnnqd.sock");
	set_up(&u2, "unused.sock");
	spawn(&p, u.dir, (const char *const[]){ "DNNQD", "--socket", u.sock, "--model", u.arg,
	                                        NULL }, false);
	wait_log(&p, "ready: ", text, sizeof text);
	spawn(&q, u2.dir, (const char *const[]){ "DNNQD", "--socket", u.sock, "--model", u2.arg,
	                                         NULL }, false);
	snprintf(want, sizeof want, "dnnqd: %s: another dnnqd is listening there\n", u.sock);
	expect_start_fails(&q, want, text2, sizeof text2);
	ck_assert_msg(!strstr(text2, "generation 1"), "the models were loaded first: %s", text2);
	one_session(u.sock, 4);
	stop(&p, text, sizeof text);
	ck_assert_msg(!strstr(text, "no models to serve"), "%s", text);
}
END_TEST

/* A daemon started on a config that names no model (the shipped one)
 * says where they go, once ready. */
START_TEST(no_models_warned)
{
	char yaml[320], text[4096], want[512];
	struct setup u;
	struct proc p;
	set_up(&u, "dnnqd.sock");
	snprintf(yaml, sizeof yaml, "%s/dnnqd.yaml", u.dir);
	put_text(yaml, "models: []\n");
	spawn(&p, u.dir, (const char *const[]){ "DNNQD", "--config", yaml, "--socket", u.sock,
	                                        NULL }, false);
	snprintf(want, sizeof want, "dnnqd: no models to serve: name them under models: in %s"
	         " (dnnqd reloads when it changes) or with --model NAME=FILE\n", yaml);
	wait_log(&p, want, text, sizeof text);
	stop(&p, text, sizeof text);
}
END_TEST

/* Under socket activation the ready line names the socket received, not
 * the --socket path (which is neither bound nor made). */
START_TEST(ready_names_activated_socket)
{
	char other[320], text[16384];
	struct setup u;
	struct proc p;
	set_up(&u, "passed.sock");
	snprintf(other, sizeof other, "%s/config.sock", u.dir);
	spawn(&p, u.dir, (const char *const[]){ "systemd-socket-activate", "-l", u.sock,
	                                        "--seqpacket", "DNNQD", "--socket", other,
	                                        "--model", u.arg, NULL }, false);
	struct stat sb;
	for (int i = 0; i < 2000 && stat(u.sock, &sb); i++)
		fixture_sleep_ms(5);
	fixture_sleep_ms(50);   /* bound, then listening */
	one_session(u.sock, 4);    /* starts dnnqd */
	wait_log(&p, "ready: ", text, sizeof text);
	stop(&p, text, sizeof text);
	expect_ready_socket(text, u.sock, " (from systemd)");
	ck_assert_msg(stat(other, &sb) != 0, "%s was bound", other);
}
END_TEST

Suite *suite_ops(void)
{
	Suite *s = suite_create("ops");
	TCase *tc = tcase_create("ops");
	tcase_add_unchecked_fixture(tc, fixture_tmp_begin, fixture_tmp_end);
	tcase_add_test(tc, check_config_models);
	tcase_add_test(tc, log_models_and_stamps);
	tcase_add_test(tc, log_debug_sessions_journal);
	tcase_add_test(tc, second_daemon_refused_before_loading);
	tcase_add_test(tc, no_models_warned);
	tcase_add_test(tc, socket_dir_missing);
	tcase_add_test(tc, ready_names_activated_socket);
	suite_add_tcase(s, tc);
	return s;
}
