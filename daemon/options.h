/*
 * daemon/options.h — dnnqd's command line, parsed and validated into
 * struct dnnqd_options. Every bad argument is one diag line naming the
 * option, the value and the rule ("--cpus: '7': no such CPU (online: 0-1)");
 * main() prints it after "dnnqd: " and exits 2.
 * (Includers define _GNU_SOURCE first: cpu_set_t needs it.)
 */
#ifndef DNNQ_DAEMON_OPTIONS_H
#define DNNQ_DAEMON_OPTIONS_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/un.h>

#include "daemon/log.h"
#include "shm/dnnq_proto.h"

#define DNNQD_VERSION "0.1.0"
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

struct dnnqd_options {
	char socket[DNNQD_SOCKET_MAX];
	struct dnnqd_model_arg *models;
	unsigned nmodels;
	int *cpus;                   /* one worker each, in this order */
	unsigned ncpus;
	uint32_t spin_us;
	struct dnnqd_acl acl;
	uint32_t max_clients;
	uint64_t max_session_bytes;
	uint32_t max_batch;
	enum dnnqd_log_level log_level;
	bool help, version;          /* print and exit 0; nothing else is checked */
};

/* 0, or DNNQ_E_INVAL / DNNQ_E_NOMEM with the diag line. Free with
 * dnnqd_options_free whatever the result. */
int dnnqd_options_parse(struct dnnqd_options *o, int argc, char *const *argv,
                        struct dnnq_diag *diag);
void dnnqd_options_free(struct dnnqd_options *o);
void dnnqd_usage(FILE *f);

/* A CPU list ("0,2-3") for option `opt`: every CPU online and listed once.
 * *cpus is malloc'd (free it) and keeps the order given. */
int dnnqd_parse_cpus(const char *opt, const char *list, const cpu_set_t *online, int **cpus,
                     unsigned *n, struct dnnq_diag *diag);

#endif
