/*
 * conf/config.h — dnnqd's YAML config (docs/config.md), parsed with libyaml
 * and validated into struct dnnq_config: every value resolved (user and
 * group names to ids, relative model paths to absolute ones, CPU lists
 * checked against the CPUs this process may run on) and every default
 * filled in. It expresses everything dnnqd's command line does.
 *
 * Input is outside input: anything that is not exactly the schema (an
 * unknown or repeated key, a wrong type, an out-of-range value, an anchor,
 * alias or tag, a second document) is refused with one diag line
 *     FILE:LINE:COLUMN: KEY.PATH: what is wrong
 * e.g. "dnnqd.yaml:14:11: models[2].path: expected a string, got a
 * sequence" (line and column 1-based). Status codes: DNNQ_E_FORMAT (YAML
 * syntax), DNNQ_E_RANGE (a value out of its range), DNNQ_E_NOTFOUND (no
 * such CPU, user or group), DNNQ_E_INVAL (any other schema error),
 * DNNQ_E_IO (reading the file, sched_getaffinity, getcwd), DNNQ_E_NOMEM.
 *
 * This layer uses libc, libyaml and shm/dnnq_error.h only.
 */
#ifndef DNNQ_CONF_CONFIG_H
#define DNNQ_CONF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/dnnq_error.h"

#define DNNQ_CONFIG_SOCKET_MAX 108u     /* sizeof sun_path: at most 107 bytes + NUL */
#define DNNQ_CONFIG_NAME_MAX   64u      /* model names: 1..63 bytes + NUL (= DNNQ_PROTO_NAME_MAX) */
#define DNNQ_CONFIG_CPUS_MAX   1024u    /* = CPU_SETSIZE */
#define DNNQ_CONFIG_FILE_MAX   (1u << 20) /* dnnq_config_load and _parse refuse larger input */
#define DNNQ_CONFIG_FILE_NAME_MAX 4096u /* struct dnnq_config's file, NUL included */

/* The same values, in the same order, as daemon/log.h's dnnqd_log_level. */
enum dnnq_config_log_level {
	DNNQ_CONFIG_LOG_ERROR = 0,
	DNNQ_CONFIG_LOG_WARN  = 1,
	DNNQ_CONFIG_LOG_INFO  = 2,
	DNNQ_CONFIG_LOG_DEBUG = 3,
};

struct dnnq_config_listen {
	char path[DNNQ_CONFIG_SOCKET_MAX]; /* as written (not resolved); never empty */
	uint32_t mode;               /* file mode of the socket, 0..0777; default 0660 */
	bool has_group;              /* group given: chown the socket to gid */
	uint32_t gid;
	unsigned line, col;          /* where the file gave path (1-based); 0: the
	                              * default's, or --socket's */
};

struct dnnq_config_workers {
	int cpus[DNNQ_CONFIG_CPUS_MAX]; /* one pinned worker each, in the order written */
	unsigned ncpus;              /* >= 1; default: every CPU of the affinity mask */
	uint32_t spin_us;            /* 0..1000000, default 50 */
	uint32_t reserve_max_ms;     /* the reserve's longest learned window, 10..1000, default 100 */
};

/* limits.max_session_bytes' range, the key's and --max-session-bytes' (a
 * region's arena holds at most 64 GiB: shm/dnnq_shm.h DNNQ_SHM_MAX_ARENA). */
#define DNNQ_CONFIG_SESSION_BYTES_MIN ((uint64_t)1 << 20)
#define DNNQ_CONFIG_SESSION_BYTES_MAX ((uint64_t)64 << 30)
struct dnnq_config_limits {
	uint32_t max_clients;        /* sessions at once, 1..4096, default 256 */
	uint64_t max_session_bytes;  /* largest region, DNNQ_CONFIG_SESSION_BYTES_MIN..MAX
	                              * (1 MiB..64 GiB), default 1 GiB */
	uint32_t max_inflight;       /* requests in flight per client, 1..4096, default 64 */
	uint32_t max_batch;          /* largest batch, 1..65536, default 64 */
	uint32_t max_sessions_per_uid; /* sessions one uid may hold, 1..4096, default 64 */
	uint64_t max_bytes_per_uid;  /* region bytes one uid may hold, 1 MiB..1 TiB, default 4 GiB */
};

/* Peers allowed besides the daemon's own uid and root, which are always
 * allowed and are NOT listed here. A peer is allowed when its uid is in
 * uids, or its gid or one of its supplementary groups is in gids. Names
 * (access.users, access.groups) are resolved at parse time and merged
 * into these lists; no id appears twice. */
struct dnnq_config_access {
	uint32_t *uids, *gids;       /* malloc'd, NULL when empty */
	unsigned nuids, ngids;
	bool public_stats;           /* access.public_stats: daemon-wide STATS for all, default false */
};

/* metrics: the Prometheus textfile dnnqd rewrites (docs/config.md). */
#define DNNQ_CONFIG_TEXTFILE_MAX 4000u  /* room for ".tmp.PID" within PATH_MAX */
struct dnnq_config_metrics {
	char textfile[DNNQ_CONFIG_TEXTFILE_MAX]; /* absolute, its directory existing when
	                              * parsed; "" (the default): none written */
	uint32_t interval_s;         /* rewritten every 1..3600 s, default 5 */
};

/* models[i].dynamic_batching (docs/config.md): requests of any sessions
 * gathered into one run of up to max_batch items. */
#define DNNQ_CONFIG_PREFERRED_MAX 8u
#define DNNQ_CONFIG_QUEUE_DELAY_US 100u
struct dnnq_config_batching {
	bool enabled;                /* the key is given; default off */
	uint32_t max_queue_delay_us; /* 0..10000000 (10 s), default
	                              * DNNQ_CONFIG_QUEUE_DELAY_US: the longest
	                              * a request waits for company */
	uint32_t preferred[DNNQ_CONFIG_PREFERRED_MAX]; /* 1..max_batch each, ascending,
	                              * no repeats: a batch of one of these sizes runs
	                              * at once */
	unsigned npreferred;
};

struct dnnq_config_model {
	char name[DNNQ_CONFIG_NAME_MAX]; /* [A-Za-z0-9._-]{1,63}, unique in the list */
	char *path;                  /* malloc'd; absolute when the file had it
	                              * relative (resolved against the config
	                              * file's directory); never opened here */
	uint32_t max_batch;          /* 1..limits.max_batch, default limits.max_batch */
	uint32_t threads;            /* 1..workers.ncpus, default 1 */
	bool warmup;                 /* default true */
	struct dnnq_config_batching batching;
	unsigned line, col;          /* where the file gave path (1-based); 0: not
	                              * from the file (a --model) */
};

struct dnnq_config {
	struct dnnq_config_listen listen;
	struct dnnq_config_workers workers;
	struct dnnq_config_limits limits;
	struct dnnq_config_access access;
	struct dnnq_config_metrics metrics;
	struct dnnq_config_model *models; /* malloc'd, NULL when nmodels is 0 */
	unsigned nmodels;
	enum dnnq_config_log_level log_level; /* log.level, default info */
	char file[DNNQ_CONFIG_FILE_NAME_MAX]; /* the file parsed, as named to
	                              * dnnq_config_parse (cut short past the
	                              * size); "": none */
};

/* The embedded default: the socket of shm/dnnq_socket.h's rule
 * (dnnq_default_socket: /run/dnnq/dnnqd.sock for root, else
 * $XDG_RUNTIME_DIR/dnnq/dnnqd.sock when that is set, absolute and fits);
 * mode 0660, no group; every CPU of the affinity mask (CPU 0 alone should
 * sched_getaffinity fail); the limits' defaults; no extra peers; no models;
 * no metrics textfile (interval 5 s); log level info. Allocates nothing (dnnq_config_free on it is harmless). */
void dnnq_config_default(struct dnnq_config *out);

/* Parses and validates the YAML text buf[0..len) (need not be
 * NUL-terminated; at most DNNQ_CONFIG_FILE_MAX bytes). `filename` names the
 * input in diag lines (NULL: "<config>") and its directory is the base of
 * relative model paths (NULL or no '/': the working directory). An empty
 * input, or one of comments only, is the default config.
 * 0: *out holds the config (overwritten, not freed first: free it with
 * dnnq_config_free). Negative status: *out is not touched and diag (when
 * non-NULL) holds the line. */
int dnnq_config_parse(const char *buf, size_t len, const char *filename,
                      struct dnnq_config *out, struct dnnq_diag *diag);

/* Whether dnnqd may trust the file at `path` (st: fstat of the descriptor
 * it reads): what it holds (`what`: "dnnqd's config", "the model dnnqd
 * serves") reaches every client, so no other user may change it. DNNQ_E_PERM naming the
 * file or its directory when either is writable by every user; a
 * directory every user may write to is fine when sticky and the file is
 * root's or the caller's (/tmp: anyone could have created another's
 * there). Elsewhere another owner is the operator's choice. Group write
 * is the owner's choice, as sshd's StrictModes does not have it. Every
 * directory on the way to the file, path resolved (symlinks followed; the
 * file found there must be st's), is judged up to / by the same rule, the
 * next entry down standing for the file in a sticky one: DNNQ_E_PERM
 * naming it; DNNQ_E_IO when path cannot be resolved or now names another
 * file. Every symlink met on the way (path's own, a directory's, one a
 * link leads to) is judged where it lies, as the file would be in its
 * place: one in a directory every user may write to could be pointed
 * elsewhere later. dnnq_config_dir_trusted is the directory's half (the
 * links on the way; where path names something, the way it resolves to,
 * judged as above: its last name may be a link out of the directory
 * named; where it names nothing yet (a socket before bind), path's
 * directory and every one above it, a sticky one itself passing), which
 * a reader calls before it opens path: where it passes, no other user
 * chooses what path opens. */
struct stat;
int dnnq_config_file_trusted(const char *path, const struct stat *st, const char *what,
                             struct dnnq_diag *diag);
int dnnq_config_dir_trusted(const char *path, const char *what, struct dnnq_diag *diag);

/* Reads the file at `path` (at most DNNQ_CONFIG_FILE_MAX bytes, a file
 * dnnq_config_file_trusted) and parses it as dnnq_config_parse(..., path,
 * ...) does. */
int dnnq_config_load(const char *path, struct dnnq_config *out, struct dnnq_diag *diag);

/* A size as the config writes one: decimal bytes, or a number with B,
 * KiB, MiB, GiB or TiB (powers of 1024) after it, one space allowed
 * between ("1GiB", "1 GiB"). 0 and *out; DNNQ_E_INVAL when s is not a
 * size, DNNQ_E_RANGE when it is past 2^64 - 1 bytes. dnnqd's byte options
 * take the same. */
int dnnq_config_size(const char *s, uint64_t *out);
/* bytes as a range's bound is shown: "64 MiB" when it is a whole number
 * of a unit, else "N bytes". */
void dnnq_config_size_text(uint64_t bytes, char *buf, size_t len);

/* Frees what c holds and zeroes it; NULL and a zeroed config are fine. */
void dnnq_config_free(struct dnnq_config *c);

#ifdef CPU_SETSIZE	/* for includers of <sched.h> with _GNU_SOURCE */
/* "0-3,8": a CPU set as a list (what error messages show), cut short
 * when buf is. */
void dnnq_config_format_cpus(const cpu_set_t *s, char *buf, size_t len);
#endif

/* "FILE:LINE:COL: models[I].path: " for c's models[i] when the file gave
 * its path (the diag line's start for what is wrong with the model file
 * it names), else "" (a --model's). */
void dnnq_config_model_where(const struct dnnq_config *c, unsigned i, char *buf, size_t len);

/* For reload diffing: the model named `name` in c, or NULL. */
const struct dnnq_config_model *dnnq_config_model_find(const struct dnnq_config *c,
                                                       const char *name);

/* Same name, path, max_batch, threads, warmup and dynamic_batching: a reload keeps the
 * loaded model as it is. */
bool dnnq_config_model_equal(const struct dnnq_config_model *a,
                             const struct dnnq_config_model *b);

#endif
