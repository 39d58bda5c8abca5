/*
 * dnnqd's YAML config (conf/config.h): a config with every key read back
 * field by field, the defaults, one case per error class with the exact
 * FILE:LINE:COLUMN: KEY.PATH line asserted, sizes, CPU lists, user and
 * group names, relative model paths, loading files (the example
 * systemd/dnnqd.yaml among them; the suite runs from the repository root,
 * as `make check` does) and a thousand random mutations of a valid config,
 * each of which must parse or fail with a diag line, never crash or leak.
 * The CPUs used are taken from this process's affinity mask, so the suite
 * runs on any host.
 */
#define _GNU_SOURCE
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/config.h"
#include "daemon/options.h"
#include "shm/dnnq_path.h"
#include "shm/dnnq_proto.h"
#include "tests/rng.h"
#include "tests/suites.h"

#define FILE_NAME "dnnqd.yaml"

/* The first CPU this process may run on, and the first it may not (-1
 * when every possible CPU is allowed). */
static int cpu_allowed(void)
{
	cpu_set_t s;
	ck_assert_int_eq(sched_getaffinity(0, sizeof s, &s), 0);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &s))
			return c;
	ck_abort_msg("empty affinity mask");
	return -1;
}

static int cpu_missing(void)
{
	cpu_set_t s;
	ck_assert_int_eq(sched_getaffinity(0, sizeof s, &s), 0);
	for (int c = CPU_SETSIZE - 1; c >= 0; c--)
		if (!CPU_ISSET(c, &s))
			return c;
	return -1;
}

static int parse(const char *yaml, const char *file, struct dnnq_config *c,
                 struct dnnq_diag *d)
{
	memset(d, 0, sizeof *d);
	return dnnq_config_parse(yaml, strlen(yaml), file, c, d);
}

static void parse_ok(const char *yaml, const char *file, struct dnnq_config *c)
{
	struct dnnq_diag d;
	int rc = parse(yaml, file, c, &d);
	ck_assert_msg(rc == 0, "rc %d: %s\n--\n%s", rc, d.msg, yaml);
}

/* The config must be refused with exactly this status and line. */
static void parse_fails(const char *yaml, int status, const char *msg)
{
	struct dnnq_config c;
	struct dnnq_diag d;
	int rc = parse(yaml, FILE_NAME, &c, &d);
	ck_assert_msg(rc == status, "rc %d (want %d) for:\n%s\n-> %s", rc, status, yaml, d.msg);
	ck_assert_str_eq(d.msg, msg);
}

static void assert_defaults(const struct dnnq_config *c)
{
	struct dnnq_config def;
	dnnq_config_default(&def);
	ck_assert_str_eq(c->listen.path, def.listen.path);
	ck_assert_uint_eq(c->listen.mode, 0660);
	ck_assert(!c->listen.has_group);
	ck_assert_uint_eq(c->workers.ncpus, def.workers.ncpus);
	cpu_set_t s;
	ck_assert_int_eq(sched_getaffinity(0, sizeof s, &s), 0);
	ck_assert_uint_eq(c->workers.ncpus, (unsigned)CPU_COUNT(&s));
	ck_assert(!memcmp(c->workers.cpus, def.workers.cpus, def.workers.ncpus * sizeof(int)));
	ck_assert_uint_eq(c->workers.spin_us, 50);
	ck_assert_uint_eq(c->workers.reserve_max_ms, 100);
	ck_assert_uint_eq(c->limits.max_clients, 256);
	ck_assert_uint_eq(c->limits.max_session_bytes, 1ull << 30);
	ck_assert_uint_eq(c->limits.max_inflight, 64);
	ck_assert_uint_eq(c->limits.max_batch, 64);
	ck_assert_uint_eq(c->limits.max_sessions_per_uid, 64);
	ck_assert_uint_eq(c->limits.max_bytes_per_uid, 4ull << 30);
	ck_assert(!c->access.public_stats);
	ck_assert_uint_eq(c->access.nuids + c->access.ngids + c->nmodels, 0);
	ck_assert_ptr_null(c->access.uids);
	ck_assert_ptr_null(c->models);
	ck_assert_int_eq(c->log_level, DNNQ_CONFIG_LOG_INFO);
}

/* Every key, none at its default. */
static void full_config(char *buf, size_t len)
{
	snprintf(buf, len,
	         "# every key\n"
	         "listen:\n"
	         "  path: /tmp/dnnq-test.sock\n"
	         "  mode: 0640\n"
	         "  group: root\n"
	         "workers:\n"
	         "  cpus: [%d]\n"
	         "  spin_us: 1000\n"
	         "  reserve_max_ms: 40\n"
	         "limits:\n"
	         "  max_clients: 17\n"
	         "  max_session_bytes: 256MiB\n"
	         "  max_inflight: 9\n"
	         "  max_batch: 128\n"
	         "  max_sessions_per_uid: 5\n"
	         "  max_bytes_per_uid: 2GiB\n"
	         "access:\n"
	         "  uids: [1234, 0, 1234]\n"
	         "  users: [root]\n"
	         "  gids: [4321]\n"
	         "  groups: [\"root\"]\n"
	         "  public_stats: true\n"
	         "models:\n"
	         "  - name: resnet-50_v1.5\n"
	         "    path: models/resnet.dnnq\n"
	         "    max_batch: 100\n"
	         "    threads: 1\n"
	         "    warmup: false\n"
	         "  - {name: digits, path: '/abs/digits.dnnq'}\n"
	         "log:\n"
	         "  level: warn\n", cpu_allowed());
}

START_TEST(full_round_trip)
{
	char yaml[2048];
	struct dnnq_config c;
	full_config(yaml, sizeof yaml);
	parse_ok(yaml, "/srv/dnnq/dnnqd.yaml", &c);
	ck_assert_str_eq(c.listen.path, "/tmp/dnnq-test.sock");
	ck_assert_uint_eq(c.listen.mode, 0640);
	ck_assert(c.listen.has_group);
	ck_assert_uint_eq(c.listen.gid, 0);
	ck_assert_uint_eq(c.workers.ncpus, 1);
	ck_assert_int_eq(c.workers.cpus[0], cpu_allowed());
	ck_assert_uint_eq(c.workers.spin_us, 1000);
	ck_assert_uint_eq(c.workers.reserve_max_ms, 40);
	ck_assert_uint_eq(c.limits.max_clients, 17);
	ck_assert_uint_eq(c.limits.max_session_bytes, 256ull << 20);
	ck_assert_uint_eq(c.limits.max_inflight, 9);
	ck_assert_uint_eq(c.limits.max_batch, 128);
	ck_assert_uint_eq(c.limits.max_sessions_per_uid, 5);
	ck_assert_uint_eq(c.limits.max_bytes_per_uid, 2ull << 30);
	ck_assert(c.access.public_stats);
	/* users merge into uids, groups into gids: sorted, each once */
	ck_assert_uint_eq(c.access.nuids, 2);
	ck_assert_uint_eq(c.access.uids[0], 0);
	ck_assert_uint_eq(c.access.uids[1], 1234);
	ck_assert_uint_eq(c.access.ngids, 2);
	ck_assert_uint_eq(c.access.gids[0], 0);
	ck_assert_uint_eq(c.access.gids[1], 4321);
	ck_assert_uint_eq(c.nmodels, 2);
	ck_assert_str_eq(c.models[0].name, "resnet-50_v1.5");
	ck_assert_str_eq(c.models[0].path, "/srv/dnnq/models/resnet.dnnq");
	ck_assert_uint_eq(c.models[0].max_batch, 100);
	ck_assert_uint_eq(c.models[0].threads, 1);
	ck_assert(!c.models[0].warmup);
	ck_assert_str_eq(c.models[1].name, "digits");
	ck_assert_str_eq(c.models[1].path, "/abs/digits.dnnq");
	ck_assert_uint_eq(c.models[1].max_batch, 128);    /* limits.max_batch */
	ck_assert_uint_eq(c.models[1].threads, 1);
	ck_assert(c.models[1].warmup);
	ck_assert_int_eq(c.log_level, DNNQ_CONFIG_LOG_WARN);
	dnnq_config_free(&c);
	ck_assert_ptr_null(c.models);
	dnnq_config_free(&c);                /* twice, and NULL: harmless */
	dnnq_config_free(NULL);
}
END_TEST

START_TEST(defaults)
{
	static const char *const empty[] = {
		"", "# only a comment\n\n   # and another\n", "---\n", "---\n...\n", "{}\n",
		"listen:\nworkers:\nlimits:\naccess:\nmodels:\nlog:\n",
		"workers:\n  cpus:\naccess:\n  uids: ~\n  users: null\nmodels: []\n",
	};
	struct dnnq_config c;
	for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
		parse_ok(empty[i], FILE_NAME, &c);
		assert_defaults(&c);
		dnnq_config_free(&c);
	}
	struct dnnq_diag d;
	ck_assert_int_eq(dnnq_config_parse(NULL, 0, NULL, &c, &d), 0);
	assert_defaults(&c);
	dnnq_config_default(&c);
	assert_defaults(&c);
	dnnq_config_free(&c);
}
END_TEST

START_TEST(default_socket)
{
	struct dnnq_config c;
	char long_dir[200];
	/* root: always the system socket (shm/dnnq_socket.h; tests/test_api.c
	 * checks the rule at both uids) */
	const char *user = geteuid() ? "/run/user/1000/dnnq/dnnqd.sock" : "/run/dnnq/dnnqd.sock";
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	dnnq_config_default(&c);
	ck_assert_str_eq(c.listen.path, user);
	parse_ok("", FILE_NAME, &c);
	ck_assert_str_eq(c.listen.path, user);
	setenv("XDG_RUNTIME_DIR", "", 1);
	dnnq_config_default(&c);
	ck_assert_str_eq(c.listen.path, "/run/dnnq/dnnqd.sock");
	memset(long_dir, 'x', sizeof long_dir - 1);
	long_dir[0] = '/';
	long_dir[sizeof long_dir - 1] = 0;
	setenv("XDG_RUNTIME_DIR", long_dir, 1);     /* does not fit sun_path */
	dnnq_config_default(&c);
	ck_assert_str_eq(c.listen.path, "/run/dnnq/dnnqd.sock");
	unsetenv("XDG_RUNTIME_DIR");
	dnnq_config_default(&c);
	ck_assert_str_eq(c.listen.path, "/run/dnnq/dnnqd.sock");
}
END_TEST

static const struct {
	const char *yaml;
	int status;
	const char *msg;
} errors[] = {
	/* unknown keys, at any level */
	{ "workers:\n  cpu: 1\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:3: workers.cpu: unknown key: did you mean 'cpus'? (expected cpus, spin_us,"
	  " reserve_max_ms)" },
	{ "listen: {path: /x}\nmodel: []\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:1: model: unknown key: did you mean 'models'? (expected listen, workers,"
	  " limits, access, metrics, models, log)" },
	{ "models:\n  - {name: a, path: b, thread: 1}\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:24: models[0].thread: unknown key: did you mean 'threads'? (expected name,"
	  " path, max_batch, threads, warmup, dynamic_batching)" },
	{ "models:\n  - {name: a, path: b, dynamic_batching: {delay_us: 1}}\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:43: models[0].dynamic_batching.delay_us: unknown key (expected"
	  " max_queue_delay_us, preferred_batch_size)" },
	{ "models:\n  - {name: a, path: b, dynamic_batching: {max_queue_delay: 1}}\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:43: models[0].dynamic_batching.max_queue_delay: unknown key: did you mean"
	  " 'max_queue_delay_us'? (expected max_queue_delay_us, preferred_batch_size)" },
	/* wrong types */
	{ "models:\n  - name: a\n    path: [x]\n", DNNQ_E_INVAL,
	  FILE_NAME ":3:11: models[0].path: expected a string, got a sequence" },
	{ "limits:\n  max_batch: {a: 1}\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:14: limits.max_batch: expected an unsigned decimal integer, got a mapping" },
	{ "workers:\n  spin_us: fast\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:12: workers.spin_us: expected an unsigned decimal integer, got 'fast'" },
	{ "workers:\n  spin_us: \"5\"\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:12: workers.spin_us: expected an unsigned decimal integer, got the string \"5\"" },
	{ "workers:\n  spin_us:\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:11: workers.spin_us: expected an unsigned decimal integer, got nothing (null)" },
	{ "models:\n- {name: a, path: b, warmup: yes}\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:30: models[0].warmup: expected true or false, got 'yes'" },
	{ "models:\n- {name: a, path: b, warmup: \"true\"}\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:30: models[0].warmup: expected true or false, got the string \"true\"" },
	{ "listen: 5\n", DNNQ_E_INVAL, FILE_NAME ":1:9: listen: expected a mapping, got '5'" },
	/* dynamic_batching */
	{ "models:\n- name: a\n  path: b\n  dynamic_batching: 100\n", DNNQ_E_INVAL,
	  FILE_NAME ":4:21: models[0].dynamic_batching: expected a mapping, got '100'" },
	{ "models:\n- name: a\n  path: b\n  dynamic_batching: {max_queue_delay_us: 10000001}\n",
	  DNNQ_E_RANGE, FILE_NAME ":4:42: models[0].dynamic_batching.max_queue_delay_us: '10000001'"
	  " is out of range (0..10000000)" },
	{ "models:\n- name: a\n  path: b\n  dynamic_batching: {preferred_batch_size: [4, 2]}\n",
	  DNNQ_E_INVAL, FILE_NAME ":4:48: models[0].dynamic_batching.preferred_batch_size[1]: 2"
	  " after 4: the sizes must ascend" },
	{ "models:\n- name: a\n  path: b\n  dynamic_batching: {preferred_batch_size: [0]}\n",
	  DNNQ_E_RANGE, FILE_NAME ":4:45: models[0].dynamic_batching.preferred_batch_size[0]: '0' is"
	  " out of range (1..64)" },
	{ "models:\n- name: a\n  path: b\n  dynamic_batching: {preferred_batch_size:"
	  " [1, 2, 3, 4, 5, 6, 7, 8, 9]}\n", DNNQ_E_RANGE, FILE_NAME ":4:69: models[0]."
	  "dynamic_batching.preferred_batch_size[8]: more than 8 sizes" },
	{ "models:\n- name: a\n  dynamic_batching: {preferred_batch_size: [2, 16]}\n"
	  "  max_batch: 8\n  path: b\n", DNNQ_E_RANGE, FILE_NAME ":3:48: models[0].dynamic_batching"
	  ".preferred_batch_size[1]: 16: more than the model's max_batch 8" },
	{ "models: {a: 1}\n", DNNQ_E_INVAL, FILE_NAME ":1:9: models: expected a sequence, got a mapping" },
	{ "models: [x]\n", DNNQ_E_INVAL, FILE_NAME ":1:10: models[0]: expected a mapping, got 'x'" },
	{ "access: {users: [[root]]}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:18: access.users[0]: expected a string, got a sequence" },
	{ "workers: {cpus: {a: 1}}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:17: workers.cpus: expected a CPU list ([0, 2] or \"0,2-3\"), got a mapping" },
	{ "- 1\n", DNNQ_E_INVAL, FILE_NAME ":1:1: expected a mapping, got a sequence" },
	{ "? [a]\n: 1\n", DNNQ_E_INVAL, FILE_NAME ":1:3: expected a key, got a sequence" },
	{ "log: {level: loud}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:14: log.level: expected error, warn, info or debug, got 'loud'" },
	{ "listen: {path: \"/x\\0y\"}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:16: listen.path: a string with a NUL byte" },
	/* integers: range, overflow, signs, junk, YAML 1.1 octal */
	{ "workers: {spin_us: 1000001}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:20: workers.spin_us: '1000001' is out of range (0..1000000)" },
	{ "workers:\n  reserve_max_ms: 9\n", DNNQ_E_RANGE,
	  FILE_NAME ":2:19: workers.reserve_max_ms: '9' is out of range (10..1000)" },
	{ "workers: {reserve_max_ms: 1001}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:27: workers.reserve_max_ms: '1001' is out of range (10..1000)" },
	{ "limits: {max_clients: 0}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:23: limits.max_clients: '0' is out of range (1..4096)" },
	{ "limits: {max_inflight: 4097}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:24: limits.max_inflight: '4097' is out of range (1..4096)" },
	{ "limits: {max_batch: 65537}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:21: limits.max_batch: '65537' is out of range (1..65536)" },
	{ "limits: {max_batch: 18446744073709551616}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:21: limits.max_batch: '18446744073709551616' is out of range (1..65536)" },
	{ "limits: {max_batch: +5}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:21: limits.max_batch: expected an unsigned decimal integer, got '+5'" },
	{ "limits: {max_batch: -5}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:21: limits.max_batch: expected an unsigned decimal integer, got '-5'" },
	{ "limits: {max_batch: 5x}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:21: limits.max_batch: expected an unsigned decimal integer, got '5x'" },
	{ "limits: {max_batch: 0x10}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:21: limits.max_batch: expected an unsigned decimal integer, got '0x10'" },
	{ "limits: {max_batch: 010}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:21: limits.max_batch: '010': a leading zero is ambiguous in YAML (octal?);"
	  " write the number without it" },
	{ "access: {uids: [4294967295]}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:17: access.uids[0]: '4294967295' is out of range (0..4294967294)" },
	/* the per-uid quotas and public_stats (issue 19) */
	{ "limits: {max_sessions_per_uid: 0}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:32: limits.max_sessions_per_uid: '0' is out of range (1..4096)" },
	{ "limits:\n  max_sessions_per_uid: 4097\n", DNNQ_E_RANGE,
	  FILE_NAME ":2:25: limits.max_sessions_per_uid: '4097' is out of range (1..4096)" },
	{ "limits: {max_sessions_per_uid: 1MiB}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:32: limits.max_sessions_per_uid: expected an unsigned decimal integer,"
	  " got '1MiB'" },
	{ "limits: {max_bytes_per_uid: 1048575}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:29: limits.max_bytes_per_uid: '1048575' is out of range (1 MiB..1 TiB)" },
	/* a size or a CPU list of bare digits is an integer: YAML 1.1 reads
	 * 010000000 as 2 MiB and 010 as 8, a decimal reader 10 MB and CPU 10
	 * (attack56: taken so) */
	{ "limits: {max_bytes_per_uid: 010000000}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:29: limits.max_bytes_per_uid: '010000000': a leading zero is ambiguous in"
	  " YAML (octal?); write the number without it" },
	{ "workers: {cpus: 01}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:17: workers.cpus: '01': a leading zero is ambiguous in YAML (octal?);"
	  " write the number without it" },
	{ "limits:\n  max_session_bytes: 00\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:22: limits.max_session_bytes: '00': a leading zero is ambiguous in YAML"
	  " (octal?); write the number without it" },
	{ "limits: {max_bytes_per_uid: 1025GiB}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:29: limits.max_bytes_per_uid: '1025GiB' is out of range (1 MiB..1 TiB)" },
	{ "limits: {max_bytes_per_uid: 4GB}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:29: limits.max_bytes_per_uid: expected a size (bytes, or a number with B,"
	  " KiB, MiB, GiB or TiB), got '4GB'" },
	{ "limits:\n  max_bytes_per_uid:\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:21: limits.max_bytes_per_uid: expected a size (bytes, or a number with B,"
	  " KiB, MiB, GiB or TiB), got nothing (null)" },
	{ "access: {public_stats: yes}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:24: access.public_stats: expected true or false, got 'yes'" },
	{ "access: {public_stats: \"true\"}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:24: access.public_stats: expected true or false, got the string \"true\"" },
	{ "access: {public_stat: true}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:10: access.public_stat: unknown key: did you mean 'public_stats'? (expected"
	  " uids, users, gids, groups, public_stats)" },
	/* sizes and modes */
	{ "limits: {max_session_bytes: 64MB}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:29: limits.max_session_bytes: expected a size (bytes, or a number with B,"
	  " KiB, MiB, GiB or TiB), got '64MB'" },
	{ "limits: {max_session_bytes: 1.5GiB}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:29: limits.max_session_bytes: expected a size (bytes, or a number with B,"
	  " KiB, MiB, GiB or TiB), got '1.5GiB'" },
	/* a space only before a unit (it took "2097152 " for 2 MiB) */
	{ "limits: {max_session_bytes: \"2097152 \"}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:29: limits.max_session_bytes: expected a size (bytes, or a number with B,"
	  " KiB, MiB, GiB or TiB), got the string \"2097152 \"" },
	{ "limits: {max_session_bytes: 1048575}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:29: limits.max_session_bytes: '1048575' is out of range (1 MiB..64 GiB)" },
	{ "limits: {max_session_bytes: 65GiB}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:29: limits.max_session_bytes: '65GiB' is out of range (1 MiB..64 GiB)" },
	{ "limits: {max_session_bytes: 20000000000TiB}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:29: limits.max_session_bytes: '20000000000TiB' is out of range"
	  " (1 MiB..64 GiB)" },
	{ "listen: {mode: 0800}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:16: listen.mode: expected an octal file mode like 0660, got '0800'" },
	{ "listen: {mode: 01000}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:16: listen.mode: '01000' is out of range (0..0777)" },
	{ "listen: {path: \"\"}\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:16: listen.path: a socket path is 1..107 bytes" },
	/* repeated keys, missing keys, repeated model names */
	{ "log:\n  level: info\n  level: warn\n", DNNQ_E_INVAL,
	  FILE_NAME ":3:3: log.level: duplicate key (first at 2:3)" },
	{ "log: {}\nlimits: {}\nlog: {}\n", DNNQ_E_INVAL,
	  FILE_NAME ":3:1: log: duplicate key (first at 1:1)" },
	{ "models:\n  - path: x\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:5: models[0]: missing required key 'name'" },
	{ "models:\n  - name: x\n  -\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:5: models[0]: missing required key 'path'" },
	{ "models:\n  - {name: a, path: x}\n  - {name: b, path: y}\n  - {name: a, path: z}\n",
	  DNNQ_E_INVAL, FILE_NAME ":4:12: models[2].name: 'a' is already the name of models[0]"
	  " (at 2:12)" },
	{ "models: [{name: 'a b', path: x}]\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:17: models[0].name: 'a b': a model name is 1..63 of A-Z a-z 0-9 . _ -" },
	{ "models: [{name: '', path: x}]\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:17: models[0].name: '': a model name is 1..63 of A-Z a-z 0-9 . _ -" },
	{ "models: [{name: a, path: ''}]\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:26: models[0].path: an empty path" },
	{ "models: [{name: a, path: ./}]\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:26: models[0].path: an empty path" },
	{ "limits: {max_batch: 8}\nmodels: [{name: a, path: x, max_batch: 9}]\n", DNNQ_E_RANGE,
	  FILE_NAME ":2:40: models[0].max_batch: '9' is out of range (1..8: limits.max_batch)" },
	{ "models: [{name: a, path: x, max_batch: 0}]\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:40: models[0].max_batch: '0' is out of range (1..64: limits.max_batch)" },
	{ "models: [{name: a, path: x, max_batch: 18446744073709551616}]\n", DNNQ_E_RANGE,
	  FILE_NAME ":1:40: models[0].max_batch: '18446744073709551616' is out of range (1..64:"
	  " limits.max_batch)" },
	/* names that do not resolve */
	{ "access:\n  users: [root, no-such-user-dnnq]\n", DNNQ_E_NOTFOUND,
	  FILE_NAME ":2:17: access.users[1]: no such user 'no-such-user-dnnq'" },
	{ "access:\n  groups: [no-such-group-dnnq]\n", DNNQ_E_NOTFOUND,
	  FILE_NAME ":2:12: access.groups[0]: no such group 'no-such-group-dnnq'" },
	{ "listen: {group: no-such-group-dnnq}\n", DNNQ_E_NOTFOUND,
	  FILE_NAME ":1:17: listen.group: no such group 'no-such-group-dnnq'" },
	/* anchors, aliases, tags, documents */
	{ "limits:\n  max_batch: &b 5\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:14: limits.max_batch: anchors are not allowed" },
	{ "listen: &l {path: /x}\n", DNNQ_E_INVAL, FILE_NAME ":1:9: listen: anchors are not allowed" },
	{ "&k log: {}\n", DNNQ_E_INVAL, FILE_NAME ":1:1: anchors are not allowed" },
	{ "log: *a\n", DNNQ_E_INVAL, FILE_NAME ":1:6: log: aliases are not allowed" },
	{ "access: {uids: [0, *a]}\n", DNNQ_E_INVAL,
	  FILE_NAME ":1:20: access.uids[1]: aliases are not allowed" },
	{ "log:\n  level: !!str info\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:10: log.level: tags are not allowed" },
	{ "!config\nlog: {}\n", DNNQ_E_INVAL, FILE_NAME ":1:1: tags are not allowed" },
	{ "log: {}\n---\nlog: {}\n", DNNQ_E_INVAL,
	  FILE_NAME ":2:1: a second document (the config is one YAML document)" },
	/* libyaml's own errors, with its text and mark */
	{ "listen: [\n", DNNQ_E_FORMAT,
	  FILE_NAME ":2:1: did not find expected node content (while parsing a flow node at 2:1);"
	  " check the brackets and commas on line 2" },
	{ "a: b: c\n", DNNQ_E_FORMAT, FILE_NAME ":1:5: mapping values are not allowed in this context;"
	  " check the indentation (spaces), ':' and '-' on line 1" },
	/* a tab in the indentation, said as such */
	{ "log:\n\tlevel: info\n", DNNQ_E_FORMAT,
	  FILE_NAME ":2:1: found character that cannot start any token (while scanning for the"
	  " next token at 2:1); line 2 is indented with a tab: YAML indents with spaces only" },
	{ "limits:\n  max_batch: 4\n  \tmax_clients: 3\n", DNNQ_E_FORMAT,
	  FILE_NAME ":3:3: found a tab character that violates indentation (while scanning a plain"
	  " scalar at 2:14); line 3 is indented with a tab: YAML indents with spaces only" },
	{ "models:\n  - name: a\n   path: a.dnnq\n", DNNQ_E_FORMAT,
	  FILE_NAME ":3:4: did not find expected '-' indicator (while parsing a block collection at"
	  " 2:3); check the indentation (spaces), ':' and '-' on lines 2-3" },
	{ "log: {level: \"\xc3\x28\"}\n", DNNQ_E_FORMAT,
	  FILE_NAME ":1:16: invalid trailing UTF-8 octet" },
	{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", DNNQ_E_INVAL,
	  FILE_NAME ":1:65: nested deeper than 64 levels" },
};

START_TEST(error_lines)
{
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
		parse_fails(errors[i].yaml, errors[i].status, errors[i].msg);
}
END_TEST

START_TEST(failure_leaves_out_alone)
{
	struct dnnq_config c, before;
	struct dnnq_diag d;
	memset(&c, 0x5a, sizeof c);
	before = c;
	ck_assert_int_lt(parse("models: [{name: a, path: x}, {name: a, path: y}]\n", FILE_NAME, &c,
	                       &d), 0);
	ck_assert(!memcmp(&c, &before, sizeof c));
	/* and a NULL diag is fine */
	ck_assert_int_eq(dnnq_config_parse("log: [", 6, FILE_NAME, &c, NULL), DNNQ_E_FORMAT);
	ck_assert(!memcmp(&c, &before, sizeof c));
}
END_TEST

/* The two size keys, limits.max_session_bytes (1 MiB..64 GiB) and
 * limits.max_bytes_per_uid (1 MiB..1 TiB), each beside the other's default. */
START_TEST(sizes)
{
	static const struct { bool per_uid; const char *text; uint64_t bytes; } ok[] = {
		{ false, "1048576", 1ull << 20 }, { false, "1MiB", 1ull << 20 },
		{ false, "\"64MiB\"", 64ull << 20 }, { false, "64 MiB", 64ull << 20 },
		{ false, "1GiB", 1ull << 30 }, { false, "2048KiB", 2ull << 20 },
		{ false, "3145728B", 3ull << 20 }, { false, "64GiB", 64ull << 30 },
		{ false, "'1 GiB'", 1ull << 30 },
		{ true, "1048576", 1ull << 20 }, { true, "1MiB", 1ull << 20 },
		{ true, "\"4 GiB\"", 4ull << 30 }, { true, "'3072 MiB'", 3ull << 30 },
		{ true, "1TiB", 1ull << 40 }, { true, "1024GiB", 1ull << 40 },
		{ true, "1099511627776", 1ull << 40 }, { true, "65GiB", 65ull << 30 },
	};
	char yaml[128];
	struct dnnq_config c;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		snprintf(yaml, sizeof yaml, "limits:\n  %s: %s\n",
		         ok[i].per_uid ? "max_bytes_per_uid" : "max_session_bytes", ok[i].text);
		parse_ok(yaml, FILE_NAME, &c);
		ck_assert_uint_eq(ok[i].per_uid ? c.limits.max_bytes_per_uid
		                                : c.limits.max_session_bytes, ok[i].bytes);
		ck_assert_uint_eq(ok[i].per_uid ? c.limits.max_session_bytes
		                                : c.limits.max_bytes_per_uid,
		                  ok[i].per_uid ? 1ull << 30 : 4ull << 30);
		dnnq_config_free(&c);
	}
}
END_TEST

/* limits.max_sessions_per_uid and access.public_stats: good values, at
 * and inside the bounds, and their defaults beside other keys (the sizes
 * are in `sizes`). */
START_TEST(quotas)
{
	static const struct { const char *yaml; uint32_t sessions; bool public_stats; } ok[] = {
		{ "limits: {max_sessions_per_uid: 1}\n", 1, false },
		{ "limits: {max_sessions_per_uid: 64}\naccess: {public_stats: false}\n", 64, false },
		{ "limits:\n  max_sessions_per_uid: 4096\naccess:\n  public_stats: true\n", 4096, true },
		{ "access: {uids: [7], public_stats: True}\n", 64, true },
		{ "access: {public_stats: TRUE}\n", 64, true },
		{ "access: {public_stats: False}\n", 64, false },
		{ "access: {public_stats: FALSE}\n", 64, false },
		{ "limits: {max_clients: 8}\naccess: {gids: [1]}\n", 64, false },
	};
	struct dnnq_config c;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		parse_ok(ok[i].yaml, FILE_NAME, &c);
		ck_assert_uint_eq(c.limits.max_sessions_per_uid, ok[i].sessions);
		ck_assert(c.access.public_stats == ok[i].public_stats);
		ck_assert_uint_eq(c.limits.max_bytes_per_uid, 4ull << 30);
		dnnq_config_free(&c);
	}
}
END_TEST

START_TEST(modes)
{
	static const struct { const char *text; uint32_t mode; } ok[] = {
		{ "0660", 0660 }, { "660", 0660 }, { "0o600", 0600 }, { "\"0640\"", 0640 },
		{ "0", 0 }, { "0777", 0777 }, { "00007", 07 },
	};
	char yaml[128];
	struct dnnq_config c;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		snprintf(yaml, sizeof yaml, "listen: {mode: %s}\n", ok[i].text);
		parse_ok(yaml, FILE_NAME, &c);
		ck_assert_uint_eq(c.listen.mode, ok[i].mode);
		dnnq_config_free(&c);
	}
}
END_TEST

START_TEST(cpu_lists)
{
	cpu_set_t s;
	int all[CPU_SETSIZE], n = 0, c0 = cpu_allowed();
	char yaml[256];
	struct dnnq_config c;
	ck_assert_int_eq(sched_getaffinity(0, sizeof s, &s), 0);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &s))
			all[n++] = i;
	/* every form names the same first CPU */
	static const char *const forms[] = { "[%d]", "%d", "\"%d\"", "' %d '", "\"%d-%d\"" };
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		char list[64];
		snprintf(list, sizeof list, forms[i], c0, c0);
		snprintf(yaml, sizeof yaml, "workers: {cpus: %s}\n", list);
		parse_ok(yaml, FILE_NAME, &c);
		ck_assert_uint_eq(c.workers.ncpus, 1);
		ck_assert_int_eq(c.workers.cpus[0], c0);
		dnnq_config_free(&c);
	}
	if (n >= 2) {
		/* the order given is kept */
		snprintf(yaml, sizeof yaml, "workers: {cpus: \"%d,%d\"}\n", all[1], all[0]);
		parse_ok(yaml, FILE_NAME, &c);
		ck_assert_uint_eq(c.workers.ncpus, 2);
		ck_assert_int_eq(c.workers.cpus[0], all[1]);
		ck_assert_int_eq(c.workers.cpus[1], all[0]);
		snprintf(yaml, sizeof yaml, "workers: {cpus: [%d, %d]}\nmodels: [{name: a, path: x,"
		         " threads: 2}]\n", all[0], all[1]);
		parse_ok(yaml, FILE_NAME, &c);
		ck_assert_uint_eq(c.models[0].threads, 2);
		dnnq_config_free(&c);
	}
}
END_TEST

START_TEST(cpu_lists_refused)
{
	int c0 = cpu_allowed(), missing = cpu_missing();
	char yaml[256], msg[256];
	struct dnnq_config c;
	snprintf(yaml, sizeof yaml, "workers: {cpus: [%d]}\nmodels: [{name: a, path: x,"
	         " threads: 2}]\n", c0);
	parse_fails(yaml, DNNQ_E_RANGE, FILE_NAME ":2:38: models[0].threads: '2' is out of range"
	            " (1..1: the workers, one per CPU of workers.cpus)");
	snprintf(yaml, sizeof yaml, "workers: {cpus: [%d, %d]}\n", c0, c0);
	snprintf(msg, sizeof msg, FILE_NAME ":1:%d: workers.cpus[1]: CPU %d is listed twice",
	         21 + (c0 > 9) + (c0 > 99) + (c0 > 999), c0);
	parse_fails(yaml, DNNQ_E_INVAL, msg);
	parse_fails("workers: {cpus: []}\n", DNNQ_E_INVAL, FILE_NAME ":1:17: workers.cpus: no CPUs listed");
	parse_fails("workers: {cpus: \"1-0\"}\n", DNNQ_E_INVAL,
	            FILE_NAME ":1:17: workers.cpus: '1-0': the range runs backwards");
	parse_fails("workers: {cpus: \"0,,1\"}\n", DNNQ_E_INVAL,
	            FILE_NAME ":1:17: workers.cpus: '' is not a CPU number or range (like 0,2-3)");
	parse_fails("workers: {cpus: [-1]}\n", DNNQ_E_INVAL,
	            FILE_NAME ":1:18: workers.cpus[0]: expected an unsigned decimal integer, got '-1'");
	if (missing >= 0) {
		char on[128];
		struct dnnq_diag d;
		snprintf(yaml, sizeof yaml, "workers:\n  cpus: \"%d\"\n", missing);
		ck_assert_int_eq(parse(yaml, FILE_NAME, &c, &d), DNNQ_E_NOTFOUND);
		snprintf(on, sizeof on, FILE_NAME ":2:9: workers.cpus: CPU %d is not available (this"
		         " process may run on ", missing);
		ck_assert_msg(!strncmp(d.msg, on, strlen(on)), "%s", d.msg);
		snprintf(yaml, sizeof yaml, "workers:\n  cpus: [%d, %d]\n", c0, missing);
		ck_assert_int_eq(parse(yaml, FILE_NAME, &c, &d), DNNQ_E_NOTFOUND);
		ck_assert_msg(strstr(d.msg, ": workers.cpus[1]: CPU "), "%s", d.msg);
	}
	parse_fails("workers: {cpus: \"0-99999999999999999999\"}\n", DNNQ_E_INVAL,
	            FILE_NAME ":1:17: workers.cpus: '0-99999999999999999999' is not a CPU number or"
	            " range (like 0,2-3)");
}
END_TEST

START_TEST(users_and_groups)
{
	struct dnnq_config c;
	parse_ok("access:\n  users: [root, root]\n  uids: [0]\n  groups: [root]\n  gids: [0, 7]\n"
	         "listen: {group: root}\n", FILE_NAME, &c);
	ck_assert_uint_eq(c.access.nuids, 1);
	ck_assert_uint_eq(c.access.uids[0], 0);
	ck_assert_uint_eq(c.access.ngids, 2);
	ck_assert_uint_eq(c.access.gids[0], 0);
	ck_assert_uint_eq(c.access.gids[1], 7);
	ck_assert(c.listen.has_group);
	ck_assert_uint_eq(c.listen.gid, 0);
	dnnq_config_free(&c);
	/* a numeric group is taken as a gid, resolved or not */
	parse_ok("listen: {group: 54321}\n", FILE_NAME, &c);
	ck_assert(c.listen.has_group);
	ck_assert_uint_eq(c.listen.gid, 54321);
	parse_ok("listen: {group: 0}\n", FILE_NAME, &c);
	ck_assert_uint_eq(c.listen.gid, 0);
}
END_TEST

START_TEST(relative_paths)
{
	static const struct { const char *file, *path, *want; } cases[] = {
		{ "/srv/dnnq/dnnqd.yaml", "m.dnnq", "/srv/dnnq/m.dnnq" },
		{ "/srv/dnnq/dnnqd.yaml", "./m.dnnq", "/srv/dnnq/m.dnnq" },
		{ "/srv/dnnq/dnnqd.yaml", "../m.dnnq", "/srv/dnnq/../m.dnnq" },
		{ "/srv/dnnq/dnnqd.yaml", "/opt/m.dnnq", "/opt/m.dnnq" },
		{ "/dnnqd.yaml", "m.dnnq", "/m.dnnq" },
		{ "conf/dnnqd.yaml", "m.dnnq", "%s/conf/m.dnnq" },
		{ "./dnnqd.yaml", "a/m.dnnq", "%s/a/m.dnnq" },
		{ "dnnqd.yaml", "m.dnnq", "%s/m.dnnq" },
		{ NULL, "m.dnnq", "%s/m.dnnq" },
	};
	char cwd[4096], want[8192], yaml[256];
	struct dnnq_config c;
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(want, sizeof want, cases[i].want, cwd);
		snprintf(yaml, sizeof yaml, "models:\n  - {name: m, path: \"%s\"}\n", cases[i].path);
		parse_ok(yaml, cases[i].file, &c);
		ck_assert_str_eq(c.models[0].path, want);
		dnnq_config_free(&c);
	}
}
END_TEST

START_TEST(batching)
{
	struct dnnq_config c;
	parse_ok("models:\n- {name: x, path: /x}\n- {name: y, path: /y, dynamic_batching: {}}\n"
	         "- name: z\n  path: /z\n  max_batch: 16\n  dynamic_batching:\n"
	         "    max_queue_delay_us: 0\n    preferred_batch_size: [4, 16]\n", FILE_NAME, &c);
	ck_assert(!c.models[0].batching.enabled);
	ck_assert(c.models[1].batching.enabled);
	ck_assert_uint_eq(c.models[1].batching.max_queue_delay_us, DNNQ_CONFIG_QUEUE_DELAY_US);
	ck_assert_uint_eq(c.models[1].batching.npreferred, 0);
	ck_assert(c.models[2].batching.enabled);
	ck_assert_uint_eq(c.models[2].batching.max_queue_delay_us, 0);
	ck_assert_uint_eq(c.models[2].batching.npreferred, 2);
	ck_assert_uint_eq(c.models[2].batching.preferred[0], 4);
	ck_assert_uint_eq(c.models[2].batching.preferred[1], 16);
	dnnq_config_free(&c);
}
END_TEST

START_TEST(model_diffing)
{
	struct dnnq_config a, b;
	parse_ok("models:\n- {name: x, path: /x}\n- {name: y, path: /y}\n", FILE_NAME, &a);
	parse_ok("models:\n- {name: y, path: /y, warmup: false}\n- {name: x, path: /x}\n", FILE_NAME, &b);
	ck_assert(dnnq_config_model_equal(dnnq_config_model_find(&a, "x"),
	                                  dnnq_config_model_find(&b, "x")));
	ck_assert(!dnnq_config_model_equal(dnnq_config_model_find(&a, "y"),
	                                   dnnq_config_model_find(&b, "y")));
	ck_assert_ptr_null(dnnq_config_model_find(&a, "z"));
	dnnq_config_free(&a);
	dnnq_config_free(&b);
	/* dynamic_batching is a setting a reload compares */
	static const char *const batching[] = {
		"{}", "{max_queue_delay_us: 50}", "{preferred_batch_size: [2]}",
		"{preferred_batch_size: [2, 4]}",
	};
	char yaml[200];
	parse_ok("models:\n- {name: x, path: /x}\n", FILE_NAME, &a);
	for (int i = 0; i < 4; i++) {
		snprintf(yaml, sizeof yaml, "models:\n- {name: x, path: /x, dynamic_batching: %s}\n",
		         batching[i]);
		parse_ok(yaml, FILE_NAME, &b);
		ck_assert(!dnnq_config_model_equal(&a.models[0], &b.models[0]));
		dnnq_config_free(&a);
		a = b;
	}
	parse_ok(yaml, FILE_NAME, &b);
	ck_assert(dnnq_config_model_equal(&a.models[0], &b.models[0]));
	dnnq_config_free(&a);
	dnnq_config_free(&b);
}
END_TEST

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(load_files)
{
	char dir[] = "/tmp/dnnq-conf-XXXXXX", path[64], want[128], msg[256];
	struct dnnq_config c;
	struct dnnq_diag d;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/dnnqd.yaml", dir);
	const char *yaml = "models:\n  - name: m\n    path: models/m.dnnq\n";
	write_file(path, yaml, strlen(yaml));
	ck_assert_int_eq(dnnq_config_load(path, &c, &d), 0);
	snprintf(want, sizeof want, "%s/models/m.dnnq", dir);
	ck_assert_str_eq(c.models[0].path, want);
	dnnq_config_free(&c);
	/* errors name the file as given */
	write_file(path, "log: [\n", 7);
	ck_assert_int_eq(dnnq_config_load(path, &c, &d), DNNQ_E_FORMAT);
	ck_assert_msg(!strncmp(d.msg, path, strlen(path)) && d.msg[strlen(path)] == ':', "%s", d.msg);
	/* exactly the limit is fine, a byte more is not */
	char *big = malloc(DNNQ_CONFIG_FILE_MAX + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, '#', DNNQ_CONFIG_FILE_MAX + 1);
	write_file(path, big, DNNQ_CONFIG_FILE_MAX);
	ck_assert_int_eq(dnnq_config_load(path, &c, &d), 0);
	write_file(path, big, DNNQ_CONFIG_FILE_MAX + 1);
	ck_assert_int_eq(dnnq_config_load(path, &c, &d), DNNQ_E_RANGE);
	snprintf(msg, sizeof msg, "%s: larger than %u bytes", path, DNNQ_CONFIG_FILE_MAX);
	ck_assert_str_eq(d.msg, msg);
	ck_assert_int_eq(dnnq_config_parse(big, DNNQ_CONFIG_FILE_MAX + 1, NULL, &c, &d), DNNQ_E_RANGE);
	free(big);
	ck_assert_int_eq(dnnq_config_load(dir, &c, &d), DNNQ_E_IO);
	snprintf(msg, sizeof msg, "%s: not a regular file", dir);
	ck_assert_str_eq(d.msg, msg);
	/* a FIFO without a writer is refused, not waited on */
	unlink(path);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(dnnq_config_load(path, &c, &d), DNNQ_E_IO);
	snprintf(msg, sizeof msg, "%s: not a regular file", path);
	ck_assert_str_eq(d.msg, msg);
	unlink(path);
	ck_assert_int_eq(dnnq_config_load(path, &c, &d), DNNQ_E_IO);
	snprintf(msg, sizeof msg, "%s: No such file or directory", path);
	ck_assert_str_eq(d.msg, msg);
	rmdir(dir);
}
END_TEST

/* dnnq_config_dir_trusted's walk of the links on a way, by hand as
 * realpath's: link loops and chains longer than the kernel's 40 (ELOOP,
 * named), ".." after a link (the physical parent), a relative path from
 * the working directory, a link target too long to join with the rest,
 * and a last name that is a link into a directory of mode 0777 (judged
 * where it leads, not only where the link lies). In a directory of the
 * caller's: no root needed. */
START_TEST(trusted_link_walks)
{
	char dir[] = "/tmp/dnnq-walk-XXXXXX", p[PATH_MAX], q[PATH_MAX + 64], cwd[PATH_MAX];
	struct dnnq_diag d;
	const char *what = "the model dnnqd serves";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	snprintf(p, sizeof p, "%s/w", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(chmod(p, 0777), 0);
	snprintf(p, sizeof p, "%s/ok", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/ok/m.dnnq", dir);
	write_file(p, "m", 1);
	snprintf(p, sizeof p, "%s/w/m.dnnq", dir);
	write_file(p, "m", 1);
	/* a link to itself, and two links to each other */
	snprintf(p, sizeof p, "%s/ok/self", dir);
	ck_assert_int_eq(symlink("self", p), 0);
	ck_assert_int_eq(dnnq_config_dir_trusted(p, what, &d), DNNQ_E_IO);
	snprintf(q, sizeof q, "%s: %s", p, strerror(ELOOP));
	ck_assert_str_eq(d.msg, q);
	snprintf(p, sizeof p, "%s/ok/a", dir);
	ck_assert_int_eq(symlink("b/m.dnnq", p), 0);
	snprintf(p, sizeof p, "%s/ok/b", dir);
	ck_assert_int_eq(symlink("a", p), 0);
	ck_assert_int_eq(dnnq_config_dir_trusted(p, what, &d), DNNQ_E_IO);
	ck_assert_msg(strstr(d.msg, strerror(ELOOP)), "%s", d.msg);
	/* a chain of 40 links resolves, of 41 does not (as the kernel's) */
	for (int i = 1; i <= 41; i++) {
		char to[16];
		snprintf(to, sizeof to, i == 1 ? "m.dnnq" : "c%d", i - 1);
		snprintf(p, sizeof p, "%s/ok/c%d", dir, i);
		ck_assert_int_eq(symlink(to, p), 0);
	}
	snprintf(p, sizeof p, "%s/ok/c40", dir);
	ck_assert_msg(!dnnq_config_dir_trusted(p, what, &d), "%s", d.msg);
	snprintf(p, sizeof p, "%s/ok/c41", dir);
	ck_assert_int_eq(dnnq_config_dir_trusted(p, what, &d), DNNQ_E_IO);
	ck_assert_msg(strstr(d.msg, strerror(ELOOP)), "%s", d.msg);
	/* ".." after a link is the parent of where it leads: ok/up -> ../w/x,
	 * so ok/up/../m.dnnq is w/m.dnnq (refused), not ok/m.dnnq */
	snprintf(p, sizeof p, "%s/w/x", dir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/ok/up", dir);
	ck_assert_int_eq(symlink("../w/x", p), 0);
	snprintf(p, sizeof p, "%s/ok/up/../m.dnnq", dir);
	ck_assert_int_eq(dnnq_config_dir_trusted(p, what, &d), DNNQ_E_PERM);
	snprintf(q, sizeof q, "%s/w is writable by every user (mode 0777", dir);
	ck_assert_msg(strstr(d.msg, q), "%s", d.msg);
	/* the last name a link into w: judged where it leads */
	snprintf(p, sizeof p, "%s/ok/lw.dnnq", dir);
	ck_assert_int_eq(symlink("../w/m.dnnq", p), 0);
	ck_assert_int_eq(dnnq_config_dir_trusted(p, what, &d), DNNQ_E_PERM);
	ck_assert_msg(strstr(d.msg, q), "%s", d.msg);
	/* relative paths from the working directory, ".." in them */
	snprintf(p, sizeof p, "%s/ok", dir);
	ck_assert_int_eq(chdir(p), 0);
	int rc_rel = dnnq_config_dir_trusted("../ok/./lw.dnnq", what, &d);
	int rc_ok = dnnq_config_dir_trusted("c40", what, &d);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_int_eq(rc_rel, DNNQ_E_PERM);
	ck_assert_int_eq(rc_ok, 0);
	/* a target that cannot be joined with the rest of the way */
	char *t = malloc(PATH_MAX);
	ck_assert_ptr_nonnull(t);
	t[0] = '/';
	for (int i = 1; i < PATH_MAX - 64; i += 2)
		memcpy(t + i, "./", 2);
	t[PATH_MAX - 64] = 0;
	snprintf(p, sizeof p, "%s/ok/long", dir);
	ck_assert_int_eq(symlink(t, p), 0);
	free(t);
	snprintf(p, sizeof p, "%s/ok/long/%0100d", dir, 0);
	ck_assert_int_eq(dnnq_config_dir_trusted(p, what, &d), DNNQ_E_RANGE);
	snprintf(q, sizeof q, "%s: longer than PATH_MAX", p);
	ck_assert_str_eq(d.msg, q);
	/* the trusted ways still pass */
	snprintf(p, sizeof p, "%s/ok/m.dnnq", dir);
	ck_assert_msg(!dnnq_config_dir_trusted(p, what, &d), "%s", d.msg);
	snprintf(p, sizeof p, "%s/ok/new.sock", dir);
	ck_assert_msg(!dnnq_config_dir_trusted(p, what, &d), "%s", d.msg);
	snprintf(p, sizeof p, "rm -rf %s", dir);
	ck_assert_int_eq(system(p), 0);
}
END_TEST

/* dnnq_path_walk's record of a walk: every path it called back with, a
 * space before each, and one to stop at (its callback's -7) */
struct walk_trace {
	char seen[8192];
	const char *stop;
};

static int walk_seen(void *arg, const char *at, const struct stat *st)
{
	struct walk_trace *w = arg;
	size_t n = strlen(w->seen);
	snprintf(w->seen + n, sizeof w->seen - n, " %s%s", at, S_ISLNK(st->st_mode) ? "@" : "");
	return w->stop && !strcmp(at, w->stop) ? -7 : 0;
}

/* The walk itself, on the edges the kernel's has: ".." above /, "//", a
 * trailing '/', the last name left out, links relative and absolute, a
 * 41st link, a relative path, a missing name, a callback that stops. */
START_TEST(path_walk_edges)
{
	char tmp[] = "/tmp/dnnq-pw-XXXXXX", dir[128], p[PATH_MAX], at[PATH_MAX], cwd[PATH_MAX];
	char way[1024], q[4096];
	struct walk_trace w = { "", NULL };
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	char *r = realpath(tmp, NULL);  /* /tmp may be a link */
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_lt(strlen(r), sizeof dir);
	strcpy(dir, r);
	free(r);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	strcpy(way, " /");     /* " / /tmp /tmp/dnnq-pw-XXXXXX": dir's way */
	for (const char *s = dir; (s = strchr(s + 1, '/'));)
		snprintf(way + strlen(way), sizeof way - strlen(way), " %.*s", (int)(s - dir), dir);
	snprintf(way + strlen(way), sizeof way - strlen(way), " %s", dir);
	snprintf(p, sizeof p, "%s/d", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/d/f", dir);
	write_file(p, "f", 1);
	snprintf(p, sizeof p, "%s/abs", dir);
	ck_assert_int_eq(symlink(dir, p), 0);
	for (int i = 1; i <= 41; i++) {
		char to[16], l[PATH_MAX];
		snprintf(to, sizeof to, i == 1 ? "d/f" : "c%d", i - 1);
		snprintf(l, sizeof l, "%s/c%d", dir, i);
		ck_assert_int_eq(symlink(to, l), 0);
	}
	/* /'s ".." is /, and "" / "." names stay where they are */
	ck_assert_int_eq(dnnq_path_walk("/../..//./", true, walk_seen, &w, at), 0);
	ck_assert_str_eq(w.seen, " /");
	ck_assert_str_eq(at, "/");
	/* "//" and a trailing '/'; the last name left out */
	snprintf(p, sizeof p, "/%s//d/", dir);
	w.seen[0] = 0;
	ck_assert_int_eq(dnnq_path_walk(p, true, walk_seen, &w, at), 0);
	snprintf(q, sizeof q, "%s %s/d", way, dir);
	ck_assert_str_eq(w.seen, q);
	snprintf(q, sizeof q, "%s/d", dir);
	ck_assert_str_eq(at, q);
	w.seen[0] = 0;
	ck_assert_int_eq(dnnq_path_walk(p, false, walk_seen, &w, at), 0);
	ck_assert_str_eq(w.seen, way);
	ck_assert_str_eq(at, dir);
	/* an absolute target starts at / again, and only names are called */
	snprintf(p, sizeof p, "%s/abs/d/f", dir);
	w.seen[0] = 0;
	ck_assert_int_eq(dnnq_path_walk(p, true, walk_seen, &w, at), 0);
	snprintf(q, sizeof q, "%s %s/abs@%s %s/d %s/d/f", way, dir, way + 2, dir, dir);
	ck_assert_str_eq(w.seen, q);
	snprintf(q, sizeof q, "%s/d/f", dir);
	ck_assert_str_eq(at, q);
	/* 40 links resolve; the 41st is not called, and is where it stopped */
	snprintf(p, sizeof p, "%s/c40", dir);
	ck_assert_int_eq(dnnq_path_walk(p, true, walk_seen, &w, at), 0);
	ck_assert_str_eq(at, q);
	snprintf(p, sizeof p, "%s/c41", dir);
	w.seen[0] = 0;
	ck_assert_int_eq(dnnq_path_walk(p, true, walk_seen, &w, at), DNNQ_WALK_LOOP);
	snprintf(q, sizeof q, "%s/c1", dir);
	ck_assert_str_eq(at, q);
	snprintf(q, sizeof q, " %s/c2@", dir);
	ck_assert_msg(strstr(w.seen, q), "%s", w.seen);
	snprintf(q, sizeof q, " %s/c1@", dir);
	ck_assert_msg(!strstr(w.seen, q), "%s", w.seen);
	/* relative: the working directory's names walked first, and "..";
	 * a missing name stops the walk there */
	ck_assert_int_eq(chdir(dir), 0);
	w.seen[0] = 0;
	int rc_rel = dnnq_path_walk("d/../c1", true, walk_seen, &w, at);
	int rc_missing = dnnq_path_walk("d/nope/x", true, walk_seen, &w, p);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_int_eq(rc_rel, 0);
	snprintf(q, sizeof q, "%s %s/d %s/c1@ %s/d %s/d/f", way, dir, dir, dir, dir);
	ck_assert_msg(!strncmp(w.seen, q, strlen(q)), "%s", w.seen);
	snprintf(q, sizeof q, "%s/d/f", dir);
	ck_assert_str_eq(at, q);
	ck_assert_int_eq(rc_missing, DNNQ_WALK_MISSING);
	snprintf(q, sizeof q, "%s/d/nope", dir);
	ck_assert_str_eq(p, q);
	/* the callback's nonzero is the walk's result, where it said it */
	snprintf(p, sizeof p, "%s/d/f", dir);
	snprintf(q, sizeof q, "%s/d", dir);
	w.stop = q;
	ck_assert_int_eq(dnnq_path_walk(p, true, walk_seen, &w, at), -7);
	ck_assert_str_eq(at, q);
	snprintf(p, sizeof p, "rm -rf %s", dir);
	ck_assert_int_eq(system(p), 0);
}
END_TEST

/* The commented example must stay valid, and so must its commented-out
 * model entry once uncommented. */
START_TEST(example_file)
{
	struct dnnq_config c;
	struct dnnq_diag d;
	int rc = dnnq_config_load("systemd/dnnqd.yaml", &c, &d);
	ck_assert_msg(rc == 0, "%s", d.msg);
	ck_assert_str_eq(c.listen.path, "/run/dnnq/dnnqd.sock");
	ck_assert_uint_eq(c.nmodels, 0);
	dnnq_config_free(&c);

	FILE *f = fopen("systemd/dnnqd.yaml", "r");
	char line[256], text[8192];
	size_t n = 0;
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f)) {
		const char *l = line;
		if (!strcmp(line, "models: []\n"))
			l = "models:\n";
		else if (!strncmp(line, "#  ", 3))
			l = line + 1;
		n += (size_t)snprintf(text + n, sizeof text - n, "%s", l);
		ck_assert_uint_lt(n, sizeof text);
	}
	fclose(f);
	rc = dnnq_config_parse(text, n, "/etc/dnnq/dnnqd.yaml", &c, &d);
	ck_assert_msg(rc == 0, "%s", d.msg);
	ck_assert_uint_eq(c.nmodels, 1);
	ck_assert(!strncmp(c.models[0].path, "/var/lib/dnnq/models/", 21));
	ck_assert(c.models[0].batching.enabled);
	ck_assert_uint_eq(c.models[0].batching.max_queue_delay_us, 500);
	ck_assert_uint_eq(c.models[0].batching.npreferred, 2);
	dnnq_config_free(&c);
}
END_TEST

/* A whole text file into buf (NUL-terminated), which it must fit. */
static void read_whole(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, len - 1, f);
	ck_assert_msg(feof(f) && !ferror(f), "%s: not read whole", path);
	fclose(f);
	buf[n] = '\0';
}

/* Whether text has a line holding key, after spaces, '#' and '-' (the
 * example's keys, commented out or not): "  # users: [alice]". */
static bool example_has_key(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *l = text; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		l += strspn(l, " #-");
		if (!strncmp(l, key, n) && l[n] == ':')
			return true;
	}
	return false;
}

/* Whether the man page documents key: a word of an item's tag line
 * (".TP\n.B spin_us", ".TP\n.BR uids \", \" users"), or of a section
 * heading for a key that is a whole section (".SH MODELS"). */
static bool page_has_key(const char *page, const char *key)
{
	size_t n = strlen(key);
	char heading[112];
	snprintf(heading, sizeof heading, "\n.SH %s\n", key);
	for (char *h = heading + 5; *h != '\n'; h++)
		*h = (char)toupper((unsigned char)*h);
	if (strstr(page, heading))
		return true;
	for (const char *p = strstr(page, key); p; p = strstr(p + 1, key)) {
		const char *l = p;
		while (l > page && l[-1] != '\n')
			l--;
		if (l - page >= 4 && !strncmp(l - 4, ".TP\n", 4) &&
		    (!strncmp(l, ".B ", 3) || !strncmp(l, ".BR ", 4)) && strchr(" \"", p[-1]) &&
		    strchr(" \"\n", p[n]))
			return true;
	}
	return false;
}

/* Every key of docs/config.md's schema table is in the commented example
 * systemd/dnnqd.yaml (which says a key left out takes the default in its
 * comment) and an item of dnnqd.yaml(5): the example lacked
 * workers.reserve_max_ms. */
START_TEST(example_and_page_hold_every_key)
{
	static char doc[1 << 16], example[1 << 14], page[1 << 16];
	read_whole("docs/config.md", doc, sizeof doc);
	read_whole("systemd/dnnqd.yaml", example, sizeof example);
	read_whole("man/dnnqd.yaml.5", page, sizeof page);
	const char *p = strstr(doc, "\n## Schema\n");
	ck_assert_ptr_nonnull(p);
	p = strstr(p, "\n| --- |");
	ck_assert_ptr_nonnull(p);
	unsigned keys = 0;
	for (p = strchr(p + 1, '\n') + 1; !strncmp(p, "| `", 3); p = strchr(p, '\n') + 1) {
		char key[96];
		size_t n = strcspn(p + 3, "`");
		ck_assert_uint_lt(n, sizeof key);
		snprintf(key, sizeof key, "%.*s", (int)n, p + 3);
		const char *leaf = strrchr(key, '.') ? strrchr(key, '.') + 1 : key;
		ck_assert_msg(example_has_key(example, leaf), "systemd/dnnqd.yaml lacks %s", key);
		ck_assert_msg(page_has_key(page, leaf), "man/dnnqd.yaml.5 has no item for %s", key);
		keys++;
	}
	ck_assert_uint_ge(keys, 29);
}
END_TEST

/* The command line over the file (daemon/options.h): the per-uid quotas
 * and --public-stats override the config's keys as the other limits do,
 * and are refused out of range naming the option. */
START_TEST(command_line_over_file)
{
	char dir[] = "/tmp/dnnq-conf-XXXXXX", path[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/dnnqd.yaml", dir);
	const char *yaml = "limits:\n  max_sessions_per_uid: 7\n  max_bytes_per_uid: 2GiB\n";
	write_file(path, yaml, strlen(yaml));
	static const struct {
		const char *args[6];
		uint32_t sessions;
		uint64_t bytes;
		bool public_stats;
	} cases[] = {       /* "@": the file */
		{ { "--config", "@" }, 7, 2ull << 30, false },
		{ { "--config", "@", "--public-stats" }, 7, 2ull << 30, true },
		{ { "--config", "@", "--max-sessions-per-uid", "4096" }, 4096, 2ull << 30, false },
		{ { "--config", "@", "--max-bytes-per-uid=1048576" }, 7, 1ull << 20, false },
		{ { "--max-sessions-per-uid=1", "--max-bytes-per-uid", "1099511627776" }, 1,
		  1ull << 40, false },
		/* the config's size spellings: the help's "(4 GiB)" is one */
		{ { "--config", "@", "--max-bytes-per-uid", "3GiB" }, 7, 3ull << 30, false },
		{ { "--max-bytes-per-uid=1 TiB" }, 64, 1ull << 40, false },
		{ { "--model", "m=/m.dnnq" }, 64, 4ull << 30, false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[8] = { "dnnqd" };
		int argc = 1;
		for (const char *a; argc <= 6 && (a = cases[i].args[argc - 1]); argc++)
			argv[argc] = strcmp(a, "@") ? (char *)a : path;
		struct dnnqd_options o;
		struct dnnq_config c;
		struct dnnq_diag d = { "" };
		ck_assert_msg(dnnqd_options_parse(&o, argc, argv, &d) == 0, "case %zu: %s", i, d.msg);
		ck_assert_msg(dnnqd_settings_load(&o, &c, &d) == 0, "case %zu: %s", i, d.msg);
		ck_assert_uint_eq(c.limits.max_sessions_per_uid, cases[i].sessions);
		ck_assert_uint_eq(c.limits.max_bytes_per_uid, cases[i].bytes);
		ck_assert(c.access.public_stats == cases[i].public_stats);
		dnnq_config_free(&c);
		dnnqd_options_free(&o);
	}
	static const struct { const char *arg, *val, *msg; } bad[] = {
		{ "--max-sessions-per-uid", "0", "--max-sessions-per-uid: '0': must be 1..4096" },
		{ "--max-sessions-per-uid", "4097", "--max-sessions-per-uid: '4097': must be 1..4096" },
		{ "--max-bytes-per-uid", "1048575",
		  "--max-bytes-per-uid: '1048575': must be 1 MiB..1 TiB" },
		{ "--max-bytes-per-uid", "1099511627777",
		  "--max-bytes-per-uid: '1099511627777': must be 1 MiB..1 TiB" },
		{ "--max-bytes-per-uid", "4GB", "--max-bytes-per-uid: '4GB': must be"
		  " 1 MiB..1 TiB, digits only or with B, KiB, MiB, GiB or TiB" },
		{ "--max-bytes-per-uid", "2TiB", "--max-bytes-per-uid: '2TiB': must be"
		  " 1 MiB..1 TiB" },
		{ "--max-bytes-per-uid", "99999999999999999999",
		  "--max-bytes-per-uid: '99999999999999999999': must be 1 MiB..1 TiB" },
		{ "--public-stats=true", NULL, "--public-stats: takes no value" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *argv[] = { "dnnqd", (char *)bad[i].arg, (char *)bad[i].val, NULL };
		struct dnnqd_options o;
		struct dnnq_diag d = { "" };
		ck_assert_int_eq(dnnqd_options_parse(&o, bad[i].val ? 3 : 2, argv, &d), DNNQ_E_INVAL);
		ck_assert_str_eq(d.msg, bad[i].msg);
		dnnqd_options_free(&o);
	}
	unlink(path);
	rmdir(dir);
}
END_TEST

/* --model adds to the config's models, and the sum is held to the 1024 a
 * client believes a daemon serves (DNNQ_PROTO_MAX_MODELS: it takes a
 * larger n_models for a lie); before, any number was served. */
START_TEST(command_line_models_capped)
{
	enum { N = DNNQ_PROTO_MAX_MODELS + 1 };
	static char args[N][32];
	static char *argv[1 + 2 * N];
	argv[0] = "dnnqd";
	for (int i = 0; i < N; i++) {
		snprintf(args[i], sizeof args[i], "m%d=/m.dnnq", i);
		argv[1 + 2 * i] = "--model";
		argv[2 + 2 * i] = args[i];
	}
	for (int n = N - 1; n <= N; n++) {
		struct dnnqd_options o;
		struct dnnq_config c;
		struct dnnq_diag d = { "" };
		ck_assert_int_eq(dnnqd_options_parse(&o, 1 + 2 * n, argv, &d), 0);
		int rc = dnnqd_settings_load(&o, &c, &d);
		if (n < N) {
			ck_assert_msg(rc == 0, "%d models: %s", n, d.msg);
			ck_assert_uint_eq(c.nmodels, DNNQ_PROTO_MAX_MODELS);
		} else {
			ck_assert_int_eq(rc, DNNQ_E_RANGE);
			ck_assert_str_eq(d.msg, "--model: 1025 models with the config's: at most 1024"
			                 " are served");
		}
		dnnq_config_free(&c);
		dnnqd_options_free(&o);
	}
}
END_TEST

/* One random edit: a byte changed (often to YAML punctuation), a range
 * cut out, a line repeated, or the end cut off. */
static size_t mutate(struct rng *r, char *buf, size_t len, size_t cap)
{
	static const char special[] = ":-[]{}&*!#|>'\"%@`,? \n\t0~\\";
	size_t at = len ? (size_t)rng_int(r, 0, (int64_t)len - 1) : 0;
	switch (rng_int(r, 0, 4)) {
	case 0:
		buf[at] = (char)rng_int(r, 0, 255);
		return len;
	case 1:
		buf[at] = special[rng_int(r, 0, sizeof special - 2)];
		return len;
	case 2: {
		size_t cut = (size_t)rng_int(r, 0, (int64_t)(len - at));
		memmove(buf + at, buf + at + cut, len - at - cut);
		return len - cut;
	}
	case 3: {
		size_t start = at, end = at;
		while (start && buf[start - 1] != '\n')
			start--;
		while (end < len && buf[end] != '\n')
			end++;
		size_t l = end - start + (end < len);
		if (len + l > cap)
			return len;
		memmove(buf + start + l, buf + start, len - start);
		return len + l;
	}
	default:
		return at;
	}
}

START_TEST(random_mutations)
{
	char base[2048], buf[4096];
	struct rng r = { 0x5eed0c0f1ULL };
	unsigned ok = 0, failed = 0;
	full_config(base, sizeof base);
	for (int i = 0; i < 1000; i++) {
		size_t len = strlen(base);
		memcpy(buf, base, len);
		for (int k = (int)rng_int(&r, 1, 4); k > 0; k--)
			len = mutate(&r, buf, len, sizeof buf);
		struct dnnq_config c;
		struct dnnq_diag d = { { 0 } };
		int rc = dnnq_config_parse(buf, len, "/srv/fuzz.yaml", &c, &d);
		if (!rc) {
			ok++;
			dnnq_config_free(&c);
			continue;
		}
		failed++;
		ck_assert_int_lt(rc, 0);
		ck_assert_msg(!strncmp(d.msg, "/srv/fuzz.yaml:", 15), "rc %d: '%s'", rc, d.msg);
		ck_assert_ptr_null(memchr(d.msg, '\n', strlen(d.msg)));
	}
	/* both outcomes happen, or the mutations test nothing */
	ck_assert_uint_gt(ok, 0);
	ck_assert_uint_gt(failed, 0);
}
END_TEST

Suite *suite_conf(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, full_round_trip);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, batching);
	tcase_add_test(tc, default_socket);
	tcase_add_test(tc, error_lines);
	tcase_add_test(tc, failure_leaves_out_alone);
	suite_add_tcase(s, tc);
	tc = tcase_create("values");
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, quotas);
	tcase_add_test(tc, modes);
	tcase_add_test(tc, cpu_lists);
	tcase_add_test(tc, cpu_lists_refused);
	tcase_add_test(tc, users_and_groups);
	tcase_add_test(tc, relative_paths);
	tcase_add_test(tc, model_diffing);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	tcase_add_test(tc, load_files);
	tcase_add_test(tc, trusted_link_walks);
	tcase_add_test(tc, path_walk_edges);
	tcase_add_test(tc, example_file);
	tcase_add_test(tc, example_and_page_hold_every_key);
	tcase_add_test(tc, command_line_over_file);
	tcase_add_test(tc, command_line_models_capped);
	tcase_add_test(tc, random_mutations);
	suite_add_tcase(s, tc);
	return s;
}
