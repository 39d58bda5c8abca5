/*
 * daemon/options.h — dnnqd's command line, parsed and validated into
 * struct dnnqd_options. Every bad argument is one diag line naming the
 * option, the value and the rule ("--cpus: '7': no such CPU (online: 0-1)");
 * main() prints it after "dnnqd: " and exits 2.
 *
 * The daemon's settings are a struct dnnq_config (conf/config.h): the
 * --config file's, or the embedded default without one, and then every
 * option given on the command line on top (dnnqd_settings_load): the
 * command line wins. `given` records which scalar options were given, so
 * an option left at its default does not override the file.
 * (Includers define _GNU_SOURCE first: cpu_set_t needs it.)
 */
#ifndef DNNQ_DAEMON_OPTIONS_H
#define DNNQ_DAEMON_OPTIONS_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/un.h>

#include "conf/config.h"
#include "daemon/log.h"
#include "shm/dnnq_proto.h"

#define DNNQD_SOCKET_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

struct dnnqd_model_arg {
	char name[DNNQ_PROTO_NAME_MAX];
	const char *path;            /* points into argv */
};

/* Who may connect: the peer's uid is in uids, or its gid or one of its
 * groups is in gids. */
struct dnnqd_acl {
	uint32_t *uids, *gids;
	unsigned nuids, ngids;
};

enum dnnqd_given {
	DNNQD_GIVEN_SOCKET = 1u << 0,
	DNNQD_GIVEN_CPUS = 1u << 1,
	DNNQD_GIVEN_SPIN_US = 1u << 2,
	DNNQD_GIVEN_MAX_CLIENTS = 1u << 3,
	DNNQD_GIVEN_MAX_SESSION_BYTES = 1u << 4,
	DNNQD_GIVEN_MAX_BATCH = 1u << 5,
	DNNQD_GIVEN_LOG_LEVEL = 1u << 6,
	DNNQD_GIVEN_MAX_INFLIGHT = 1u << 7,
	DNNQD_GIVEN_MAX_SESSIONS_PER_UID = 1u << 8,
	DNNQD_GIVEN_MAX_BYTES_PER_UID = 1u << 9,
	DNNQD_GIVEN_PUBLIC_STATS = 1u << 10,
};

struct dnnqd_options {
	const char *config;          /* --config FILE (points into argv), or NULL */
	const char *check_config;    /* --check-config FILE: validate, print, exit */
	uint32_t given;              /* enum dnnqd_given bits */
	char socket[DNNQD_SOCKET_MAX];
	struct dnnqd_model_arg *models;
	unsigned nmodels;
	int *cpus;                   /* one worker each, in this order */
	unsigned ncpus;
	uint32_t spin_us;
	struct dnnqd_acl acl;
	uint32_t max_clients;
	uint64_t max_session_bytes;
	uint32_t max_inflight;
	uint32_t max_batch;
	uint32_t max_sessions_per_uid;
	uint64_t max_bytes_per_uid;
	bool public_stats;           /* --public-stats: access.public_stats = true */
	enum dnnqd_log_level log_level;
	bool help, version;          /* print and exit 0; nothing else is checked */
};

/* The scalar values below are the defaults when not given (informative:
 * only given ones are applied). */

/* 0, or DNNQ_E_INVAL / DNNQ_E_NOMEM with the diag line. Free with
 * dnnqd_options_free whatever the result. */
int dnnqd_options_parse(struct dnnqd_options *o, int argc, char *const *argv,
                        struct dnnq_diag *diag);
void dnnqd_options_free(struct dnnqd_options *o);
void dnnqd_usage(FILE *f);

/* Puts what the command line gave over c: --socket, --cpus, --spin-us,
 * --max-clients, --max-session-bytes, --max-inflight, --max-batch (which
 * also caps every model's max_batch), --max-sessions-per-uid,
 * --max-bytes-per-uid, --log-level replace; --public-stats sets
 * access.public_stats; --allow-uid/--allow-gid add to the access lists;
 * --model NAME=FILE replaces the path of the model NAME or adds it
 * (max_batch = limits.max_batch, threads 1, warmup). */
int dnnqd_options_apply(const struct dnnqd_options *o, struct dnnq_config *c,
                        struct dnnq_diag *diag);
/* The settings: o->config loaded (or the default), then o applied. The
 * diag line is the config's "FILE:LINE:COL: key: what". Free c with
 * dnnq_config_free whatever the result. */
int dnnqd_settings_load(const struct dnnqd_options *o, struct dnnq_config *c,
                        struct dnnq_diag *diag);
/* What no single key can judge: metrics.textfile must not be the config
 * file (config, may be NULL), listen.path or a model's file, which the
 * textfile writer would replace every interval. DNNQ_E_INVAL, "CONFIG:
 * metrics.textfile 'PATH' is model NAME's file: ...". Part of
 * dnnqd_settings_load; --check-config calls it too. */
int dnnqd_settings_check(const char *config, const struct dnnq_config *c,
                         struct dnnq_diag *diag);
/* Who may connect: c's access lists plus the daemon's own uid and root.
 * Free with dnnqd_acl_free. */
int dnnqd_acl_from(const struct dnnq_config *c, struct dnnqd_acl *acl);
void dnnqd_acl_free(struct dnnqd_acl *acl);

/* A CPU list ("0,2-3") for option `opt`: every CPU online and listed once.
 * *cpus is malloc'd (free it) and keeps the order given. */
int dnnqd_parse_cpus(const char *opt, const char *list, const cpu_set_t *online, int **cpus,
                     unsigned *n, struct dnnq_diag *diag);

#endif
