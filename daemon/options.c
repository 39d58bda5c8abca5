/*
 * dnnqd's command line (options.h). A table maps each option to a setter
 * that validates its value; "--opt value" and "--opt=value" both work, a
 * repeated scalar option keeps the last value and the list options
 * (--model, --allow-uid, --allow-gid) add up. Each option records that it
 * was given; the defaults, including those that depend on the environment
 * (the socket path, the CPUs), are the config's (dnnq_config_default), and
 * dnnqd_options_apply puts the given options over the config.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/loader.h"
#include "daemon/options.h"
#include "engine/base.h"
#include "shm/dnnq_proto.h"

#define DEFAULT_SPIN_US 50   /* = conf's defaults, for --help and the tests */
#define DEFAULT_MAX_CLIENTS 256
#define DEFAULT_MAX_SESSION_BYTES ((uint64_t)1 << 30)
#define DEFAULT_MAX_INFLIGHT 64
#define DEFAULT_MAX_BATCH 64
#define DEFAULT_MAX_SESSIONS_PER_UID 64
#define DEFAULT_MAX_BYTES_PER_UID ((uint64_t)4 << 30)
/* The session table has max-clients entries and a worker's epoll data
 * packs a table index in 16 bits. */
#define MAX_CLIENTS_LIMIT 4096
#define MAX_SPIN_US 1000000
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

/* "OPT: 'VALUE': rule"; vlen < 0 prints all of val. */
__attribute__((format(printf, 5, 6)))
static int bad(struct dnnq_diag *d, const char *opt, const char *val, int vlen,
               const char *fmt, ...)
{
	char rule[192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rule, sizeof rule, fmt, ap);
	va_end(ap);
	return dnnq_diag_set(d, DNNQ_E_INVAL, "%s: '%.*s': %s", opt, vlen, val, rule);
}

/* A size as the config writes one (dnnq_config_size: 1073741824, 1GiB or
 * "1 GiB"); a size is a whole option's value, which ends at s[len]. */
static int read_size(const char *s, size_t len, uint64_t *v)
{
	(void)len;
	return dnnq_config_size(s, v);
}

/* How a number of dnnqd's command line is read (dnnq_number_form): digits
 * (dnnq_digits_form) or a size. */
static const struct dnnq_number_form size_form = {
	read_size, "digits only or with B, KiB, MiB, GiB or TiB", dnnq_config_size_text
};

/* Calls fn on every comma-separated entry of list, empty ones included. */
static int each_entry(const char *list, void *ctx,
                      int (*fn)(void *ctx, const char *s, size_t len))
{
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		int rc = fn(ctx, p, len);
		if (rc || !p[len])
			return rc;
		p += len;
	}
}

struct cpu_parse {
	const char *opt;
	const cpu_set_t *online;
	cpu_set_t seen;
	int *cpus;
	unsigned n;
	struct dnnq_diag *diag;
};

/* "OPT: 'TEXT': RULE (online: CPUS)" */
static int not_online(struct cpu_parse *p, const char *s, int len, const char *rule)
{
	char on[128];
	dnnq_config_format_cpus(p->online, on, sizeof on);
	return bad(p->diag, p->opt, s, len, "%s (online: %s)", rule, on);
}

static int add_cpu(struct cpu_parse *p, uint64_t c)
{
	char num[24];
	snprintf(num, sizeof num, "%llu", (unsigned long long)c);
	if (c >= CPU_SETSIZE || !CPU_ISSET(c, p->online))
		return not_online(p, num, -1, "no such CPU");
	if (CPU_ISSET(c, &p->seen))
		return bad(p->diag, p->opt, num, -1, "listed twice");
	CPU_SET(c, &p->seen);
	p->cpus[p->n++] = (int)c;
	return 0;
}

/* One entry of a CPU list: "N" or "A-B", each number read as the numeric
 * options' are (dnnq_read_number: "-1" is a CPU out of range, "+1" no number). */
static int cpu_entry(void *ctx, const char *s, size_t len)
{
	struct cpu_parse *p = ctx;
	uint64_t lo, hi;
	const char *dash = len > 1 ? memchr(s + 1, '-', len - 1) : NULL;
	size_t nlo = dash ? (size_t)(dash - s) : len;
	int rc = dnnq_read_number(s, nlo, &dnnq_digits_form, &lo);
	int rc_hi = dash ? dnnq_read_number(dash + 1, len - nlo - 1, &dnnq_digits_form, &hi) : 0;
	if (rc == DNNQ_E_INVAL || rc_hi == DNNQ_E_INVAL)
		return not_online(p, s, (int)len, "must be a CPU or a range of them, digits only");
	if (rc || rc_hi)
		return not_online(p, s, (int)len, "no such CPU");
	if (!dash)
		hi = lo;
	if (lo > hi)
		return bad(p->diag, p->opt, s, (int)len, "range runs backwards");
	/* every CPU past the online ones fails, so the loop is short */
	for (uint64_t c = lo; c <= hi; c++) {
		int rc = add_cpu(p, c);
		if (rc)
			return rc;
	}
	return 0;
}

int dnnqd_parse_cpus(const char *opt, const char *list, const cpu_set_t *online, int **cpus,
                     unsigned *n, struct dnnq_diag *diag)
{
	struct cpu_parse p = { .opt = opt, .online = online, .diag = diag };
	CPU_ZERO(&p.seen);
	/* each listed CPU is online and distinct: at most CPU_COUNT of them */
	p.cpus = malloc(((size_t)CPU_COUNT(online) + 1) * sizeof *p.cpus);
	if (!p.cpus)
		return dnnq_diag_set(diag, DNNQ_E_NOMEM, "%s: out of memory", opt);
	int rc = each_entry(list, &p, cpu_entry);
	if (rc) {
		free(p.cpus);
		return rc;
	}
	*cpus = p.cpus;
	*n = p.n;
	return 0;
}

/* Appends id unless present. */
static int push_id(uint32_t **ids, unsigned *n, uint32_t id)
{
	for (unsigned i = 0; i < *n; i++)
		if ((*ids)[i] == id)
			return 0;
	uint32_t *a = realloc(*ids, (*n + 1) * sizeof *a);
	if (!a)
		return DNNQ_E_NOMEM;
	a[(*n)++] = id;
	*ids = a;
	return 0;
}

struct id_parse {
	const char *opt;
	uint32_t **ids;
	unsigned *n;
	struct dnnq_diag *diag;
};

static int id_entry(void *ctx, const char *s, size_t len)
{
	struct id_parse *p = ctx;
	uint64_t v;
	/* (uid_t)-1 means "no id" to the kernel */
	int rc = dnnq_opt_number(p->diag, p->opt, s, len, &dnnq_digits_form, 0, UINT32_MAX - 1, &v);
	if (rc)
		return rc;
	if (push_id(p->ids, p->n, (uint32_t)v))
		return dnnq_diag_set(p->diag, DNNQ_E_NOMEM, "%s: out of memory", p->opt);
	return 0;
}

struct option_def;
typedef int (*option_set_fn)(struct dnnqd_options *o, const struct option_def *def,
                             const char *val, struct dnnq_diag *d);

struct option_def {
	const char *name;
	option_set_fn set;       /* NULL: a flag without a value (a bool at field, set true) */
	uint32_t given;          /* its enum dnnqd_given bit, or 0 */
	size_t field;            /* numbers and flags: offsetof the field ... */
	size_t size;             /* ... its size (4 or 8) ... */
	uint64_t min, max;       /* ... its range ... */
	const struct dnnq_number_form *form;     /* ... and how it is written */
};

/* A number in def's form (dnnq_opt_number): digits, or a size. */
static int set_number(struct dnnqd_options *o, const struct option_def *def, const char *val,
                      struct dnnq_diag *d)
{
	uint64_t v;
	int rc = dnnq_opt_number(d, def->name, val, strlen(val), def->form, def->min, def->max, &v);
	char *f = (char *)o + def->field;
	if (rc)
		return rc;
	if (def->size == sizeof(uint32_t))
		*(uint32_t *)f = (uint32_t)v;
	else
		*(uint64_t *)f = v;
	return 0;
}

static int set_socket(struct dnnqd_options *o, const struct option_def *def, const char *val,
                      struct dnnq_diag *d)
{
	if (!val[0])
		return bad(d, def->name, val, -1, "empty path");
	if (strlen(val) >= sizeof o->socket)
		return bad(d, def->name, val, -1, "longer than %zu bytes", sizeof o->socket - 1);
	strcpy(o->socket, val);
	return 0;
}

static int set_model(struct dnnqd_options *o, const struct option_def *def, const char *val,
                     struct dnnq_diag *d)
{
	const char *eq = strchr(val, '=');
	if (!eq && strstr(val, ".dnnq")) {	/* the file alone: name it after its stem */
		const char *base = strrchr(val, '/') ? strrchr(val, '/') + 1 : val;
		return bad(d, def->name, val, -1, "want NAME=FILE, the name clients open it by"
		           " (--model %.*s=%s)", (int)strcspn(base, "."), base, val);
	}
	if (!eq || eq == val || !eq[1])
		return bad(d, def->name, val, -1, "want NAME=FILE");
	size_t len = (size_t)(eq - val);
	if (len >= DNNQ_PROTO_NAME_MAX)
		return bad(d, def->name, val, (int)len, "NAME longer than %u bytes",
		           DNNQ_PROTO_NAME_MAX - 1);
	if (strspn(val, NAME_CHARS) < len)
		return bad(d, def->name, val, (int)len, "NAME may hold only letters, digits, '.', '_'"
		           " and '-'");
	for (unsigned i = 0; i < o->nmodels; i++)
		if (strlen(o->models[i].name) == len && !memcmp(o->models[i].name, val, len))
			return bad(d, def->name, val, (int)len, "NAME used twice");
	struct dnnqd_model_arg *m = realloc(o->models, (o->nmodels + 1) * sizeof *m);
	if (!m)
		return dnnq_diag_set(d, DNNQ_E_NOMEM, "%s: out of memory", def->name);
	o->models = m;
	m = &o->models[o->nmodels++];
	memcpy(m->name, val, len);
	m->name[len] = 0;
	m->path = eq + 1;
	return 0;
}

static int set_cpus(struct dnnqd_options *o, const struct option_def *def, const char *val,
                    struct dnnq_diag *d)
{
	cpu_set_t online;
	if (sched_getaffinity(0, sizeof online, &online))
		return dnnq_diag_set(d, DNNQ_E_IO, "%s: sched_getaffinity failed", def->name);
	int *cpus;
	unsigned n;
	int rc = dnnqd_parse_cpus(def->name, val, &online, &cpus, &n, d);
	if (rc)
		return rc;
	free(o->cpus);
	o->cpus = cpus;
	o->ncpus = n;
	return 0;
}

static int add_ids(const char *opt, const char *list, uint32_t **ids, unsigned *n,
                   struct dnnq_diag *d)
{
	struct id_parse p = { opt, ids, n, d };
	return each_entry(list, &p, id_entry);
}

static int set_uids(struct dnnqd_options *o, const struct option_def *def, const char *val,
                    struct dnnq_diag *d)
{
	return add_ids(def->name, val, &o->acl.uids, &o->acl.nuids, d);
}

static int set_gids(struct dnnqd_options *o, const struct option_def *def, const char *val,
                    struct dnnq_diag *d)
{
	return add_ids(def->name, val, &o->acl.gids, &o->acl.ngids, d);
}

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static int set_log_level(struct dnnqd_options *o, const struct option_def *def, const char *val,
                         struct dnnq_diag *d)
{
	for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (!strcmp(val, level_names[i])) {
			o->log_level = (enum dnnqd_log_level)i;
			return 0;
		}
	}
	return bad(d, def->name, val, -1, "want error, warn, info or debug");
}

static int set_path(struct dnnqd_options *o, const struct option_def *def, const char *val,
                    struct dnnq_diag *d)
{
	if (!val[0])
		return bad(d, def->name, val, -1, "empty path");
	*(const char **)((char *)o + def->field) = val;
	return 0;
}

#define NUMBER(name, bit, field, lo, hi) \
	{ name, set_number, DNNQD_GIVEN_##bit, offsetof(struct dnnqd_options, field), \
	  sizeof(((struct dnnqd_options *)0)->field), lo, hi, &dnnq_digits_form }
#define SIZE(name, bit, field, lo, hi) \
	{ name, set_number, DNNQD_GIVEN_##bit, offsetof(struct dnnqd_options, field), \
	  sizeof(uint64_t), lo, hi, &size_form }
#define PATH(name, field) { name, set_path, 0, offsetof(struct dnnqd_options, field), 0, 0, 0, NULL }
#define FLAG(name, bit, field) \
	{ name, NULL, bit, offsetof(struct dnnqd_options, field), 0, 0, 0, NULL }

static const struct option_def options[] = {
	PATH("--config", config),
	PATH("--check-config", check_config),
	{ "--socket", set_socket, DNNQD_GIVEN_SOCKET, 0, 0, 0, 0, NULL },
	{ "--model", set_model, 0, 0, 0, 0, 0, NULL },
	{ "--cpus", set_cpus, DNNQD_GIVEN_CPUS, 0, 0, 0, 0, NULL },
	NUMBER("--spin-us", SPIN_US, spin_us, 0, MAX_SPIN_US),
	{ "--allow-uid", set_uids, 0, 0, 0, 0, 0, NULL },
	{ "--allow-gid", set_gids, 0, 0, 0, 0, 0, NULL },
	NUMBER("--max-clients", MAX_CLIENTS, max_clients, 1, MAX_CLIENTS_LIMIT),
	SIZE("--max-session-bytes", MAX_SESSION_BYTES, max_session_bytes,
	     DNNQ_CONFIG_SESSION_BYTES_MIN, DNNQ_CONFIG_SESSION_BYTES_MAX),
	NUMBER("--max-inflight", MAX_INFLIGHT, max_inflight, 1, DNNQ_SHM_MAX_SLOTS),
	NUMBER("--max-batch", MAX_BATCH, max_batch, 1, DNNQ_SHM_MAX_BATCH),
	NUMBER("--max-sessions-per-uid", MAX_SESSIONS_PER_UID, max_sessions_per_uid, 1,
	       MAX_CLIENTS_LIMIT),
	SIZE("--max-bytes-per-uid", MAX_BYTES_PER_UID, max_bytes_per_uid, (uint64_t)1 << 20,
	       (uint64_t)1 << 40),
	FLAG("--public-stats", DNNQD_GIVEN_PUBLIC_STATS, public_stats),
	{ "--log-level", set_log_level, DNNQD_GIVEN_LOG_LEVEL, 0, 0, 0, 0, NULL },
	FLAG("--help", 0, help),
	FLAG("--version", 0, version),
};

static const struct option_def *find_option(const char *arg, size_t len)
{
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
		if (strlen(options[i].name) == len && !memcmp(options[i].name, arg, len))
			return &options[i];
	return NULL;
}

/* Argument i (and its value, which may be argv[i + 1]); returns how many
 * arguments it took, or a negative status. */
static int parse_one(struct dnnqd_options *o, int argc, char *const *argv, int i,
                     struct dnnq_diag *d)
{
	const char *arg = argv[i];
	size_t len = strcspn(arg, "=");
	const struct option_def *def = find_option(arg, len);
	/* `dnnqd dnnqd.yaml`: the likeliest stray word is the config */
	if (arg[0] != '-')
		return dnnq_diag_set(d, DNNQ_E_INVAL, "'%s': not an option (a config is --config FILE,"
		                     " a model --model NAME=FILE)", arg);
	if (!def) {
		const char *near = dnnq_nearest(arg, len, &options[0].name,
		                                sizeof options / sizeof options[0], sizeof options[0]);
		return dnnq_diag_set(d, DNNQ_E_INVAL, "'%s': unknown option%s%s%s", arg,
		                     near ? ": did you mean '" : "", near ? near : "", near ? "'?" : "");
	}
	if (!def->set) {
		if (arg[len])
			return dnnq_diag_set(d, DNNQ_E_INVAL, "%s: takes no value", def->name);
		*(bool *)((char *)o + def->field) = true;
		o->given |= def->given;
		return 1;
	}
	if (!arg[len] && i + 1 >= argc)
		return dnnq_diag_set(d, DNNQ_E_INVAL, "%s: needs a value", def->name);
	int rc = def->set(o, def, arg[len] ? arg + len + 1 : argv[i + 1], d);
	o->given |= rc ? 0 : def->given;
	return rc ? rc : arg[len] ? 1 : 2;
}

int dnnqd_options_parse(struct dnnqd_options *o, int argc, char *const *argv,
                        struct dnnq_diag *diag)
{
	memset(o, 0, sizeof *o);
	o->spin_us = DEFAULT_SPIN_US;
	o->max_clients = DEFAULT_MAX_CLIENTS;
	o->max_session_bytes = DEFAULT_MAX_SESSION_BYTES;
	o->max_inflight = DEFAULT_MAX_INFLIGHT;
	o->max_batch = DEFAULT_MAX_BATCH;
	o->max_sessions_per_uid = DEFAULT_MAX_SESSIONS_PER_UID;
	o->max_bytes_per_uid = DEFAULT_MAX_BYTES_PER_UID;
	o->log_level = DNNQD_LOG_INFO;
	unsigned nopts = 0;
	for (int i = 1; i < argc; nopts++) {
		int n = parse_one(o, argc, argv, i, diag);
		if (n < 0)
			return n;
		i += n;
	}
	/* --check-config judges the file alone (as the unit's ExecStartPre=
	 * runs it): another option beside it would change nothing */
	if (o->check_config && nopts > 1 && !o->help && !o->version)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "--check-config FILE takes no other option: it"
		                     " checks FILE as --config FILE reads it, without the command"
		                     " line's overrides");
	return 0;
}

void dnnqd_options_free(struct dnnqd_options *o)
{
	free(o->models);
	free(o->cpus);
	free(o->acl.uids);
	free(o->acl.gids);
	memset(o, 0, sizeof *o);
}

void dnnqd_usage(FILE *f)
{
	fprintf(f,
	        "usage: dnnqd [--config FILE] [--model NAME=FILE.dnnq ...] [options]\n"
	        "       dnnqd --check-config FILE\n"
	        "Serves int8 models to local clients through shared memory.\n\n"
	        "  --config FILE            the YAML config (dnnqd.yaml(5)); without it the\n"
	        "                           defaults below and no models\n"
	        "  --check-config FILE      validate FILE (alone), print 'dnnqd: FILE: ok' or its\n"
	        "                           errors, exit 0/1\n"
	        "  --socket PATH            listen here (default /run/dnnq/dnnqd.sock as root;\n"
	        "                           else $XDG_RUNTIME_DIR/dnnq/dnnqd.sock when set)\n"
	        "  --model NAME=FILE        serve FILE under NAME (repeatable; replaces the\n"
	        "                           config's path for NAME; 1024 models at most)\n"
	        "  --cpus LIST              one pinned worker per CPU, e.g. 0,2-3 (default: all)\n"
	        "  --spin-us N              a worker spins N µs without work before it sleeps (50)\n"
	        "  --allow-uid LIST         more uids that may connect (own uid and root always)\n"
	        "  --allow-gid LIST         gids whose members may connect\n"
	        "  --max-clients N          sessions at once (256)\n"
	        "  --max-session-bytes SIZE largest shared region of a session (1GiB)\n"
	        "  --max-inflight N         most request slots a client may have (64)\n"
	        "  --max-batch N            largest batch of a request (64)\n"
	        "  --max-sessions-per-uid N sessions one uid may hold at once (64)\n"
	        "  --max-bytes-per-uid SIZE shared-region bytes one uid may hold (4GiB)\n"
	        "  --public-stats           STATS gives daemon-wide figures to every client, not\n"
	        "                           only to root and dnnqd's own uid\n"
	        "  --log-level LEVEL        error, warn, info (default) or debug\n"
	        "  --help, --version\n"
	        "SIZE: bytes, or a number with B, KiB, MiB, GiB or TiB, as in the config.\n\n"
	        "Precedence: an option given here overrides the config file's value (the\n"
	        "uid/gid lists add to the file's); the file overrides the defaults.\n"
	        "SIGHUP, or a change to the config or a model file, reloads the models.\n");
}

static int add_ids_to(uint32_t **ids, unsigned *n, const uint32_t *add, unsigned nadd)
{
	for (unsigned i = 0; i < nadd; i++)
		if (push_id(ids, n, add[i]))
			return DNNQ_E_NOMEM;
	return 0;
}

/* --model NAME=FILE over c's models: the path of NAME, or a new entry. */
static int apply_model(const struct dnnqd_model_arg *a, struct dnnq_config *c)
{
	struct dnnq_config_model *e = (struct dnnq_config_model *)dnnq_config_model_find(c, a->name);
	char *path = strdup(a->path);
	if (!path)
		return DNNQ_E_NOMEM;
	if (!e) {
		e = realloc(c->models, (c->nmodels + 1) * sizeof *e);
		if (!e) {
			free(path);
			return DNNQ_E_NOMEM;
		}
		c->models = e;
		e = &e[c->nmodels++];
		*e = (struct dnnq_config_model){ .max_batch = c->limits.max_batch, .threads = 1,
		                                 .warmup = true };
		snprintf(e->name, sizeof e->name, "%s", a->name);
	}
	free(e->path);
	e->path = path;
	e->line = e->col = 0;           /* the command line's, not the file's */
	return 0;
}

static void apply_scalars(const struct dnnqd_options *o, struct dnnq_config *c)
{
	if (o->given & DNNQD_GIVEN_SOCKET) {
		snprintf(c->listen.path, sizeof c->listen.path, "%s", o->socket);
		c->listen.line = c->listen.col = 0;
	}
	if (o->given & DNNQD_GIVEN_CPUS) {
		memcpy(c->workers.cpus, o->cpus, o->ncpus * sizeof *o->cpus);
		c->workers.ncpus = o->ncpus;
	}
	if (o->given & DNNQD_GIVEN_SPIN_US)
		c->workers.spin_us = o->spin_us;
	if (o->given & DNNQD_GIVEN_MAX_CLIENTS)
		c->limits.max_clients = o->max_clients;
	if (o->given & DNNQD_GIVEN_MAX_SESSION_BYTES)
		c->limits.max_session_bytes = o->max_session_bytes;
	if (o->given & DNNQD_GIVEN_MAX_INFLIGHT)
		c->limits.max_inflight = o->max_inflight;
	if (o->given & DNNQD_GIVEN_MAX_SESSIONS_PER_UID)
		c->limits.max_sessions_per_uid = o->max_sessions_per_uid;
	if (o->given & DNNQD_GIVEN_MAX_BYTES_PER_UID)
		c->limits.max_bytes_per_uid = o->max_bytes_per_uid;
	if (o->given & DNNQD_GIVEN_PUBLIC_STATS)
		c->access.public_stats = true;
	if (o->given & DNNQD_GIVEN_LOG_LEVEL)
		c->log_level = (enum dnnq_config_log_level)o->log_level;
	if (o->given & DNNQD_GIVEN_MAX_BATCH) {
		c->limits.max_batch = o->max_batch;
		for (unsigned i = 0; i < c->nmodels; i++)
			if (c->models[i].max_batch > o->max_batch)
				c->models[i].max_batch = o->max_batch;
	}
}

int dnnqd_options_apply(const struct dnnqd_options *o, struct dnnq_config *c,
                        struct dnnq_diag *diag)
{
	_Static_assert(sizeof c->listen.path == DNNQD_SOCKET_MAX, "socket path sizes");
	_Static_assert(DNNQ_CONFIG_CPUS_MAX >= CPU_SETSIZE, "cpu list sizes");
	apply_scalars(o, c);
	int rc = add_ids_to(&c->access.uids, &c->access.nuids, o->acl.uids, o->acl.nuids);
	if (!rc)
		rc = add_ids_to(&c->access.gids, &c->access.ngids, o->acl.gids, o->acl.ngids);
	for (unsigned i = 0; !rc && i < o->nmodels; i++)
		rc = apply_model(&o->models[i], c);
	if (rc)
		return dnnq_diag_set(diag, rc, "command line: out of memory");
	/* a client takes a larger n_models for a daemon's lie (the config's
	 * own list is held to it in conf/) */
	if (c->nmodels > DNNQ_PROTO_MAX_MODELS)
		return dnnq_diag_set(diag, DNNQ_E_RANGE, "--model: %u models with the config's: at"
		                     " most %u are served", c->nmodels, DNNQ_PROTO_MAX_MODELS);
	return 0;
}

/* Whether paths a and b name one file: the same one when both exist
 * (through symlinks and hard links too), else the same name in the same
 * directory (a socket not bound yet). */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	if (!strcmp(a, b))
		return true;
	if (!stat(a, &sa) && !stat(b, &sb))
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	const char *na = strrchr(a, '/'), *nb = strrchr(b, '/');
	char da[PATH_MAX], db[PATH_MAX];
	snprintf(da, sizeof da, "%.*s", na ? (int)(na - a) + 1 : 1, na ? a : ".");
	snprintf(db, sizeof db, "%.*s", nb ? (int)(nb - b) + 1 : 1, nb ? b : ".");
	return !strcmp(na ? na + 1 : a, nb ? nb + 1 : b) && !stat(da, &sa) && !stat(db, &sb) &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int dnnqd_settings_check(const char *config, const struct dnnq_config *c,
                         struct dnnq_diag *diag)
{
	const char *t = c->metrics.textfile, *what = NULL;
	char model[DNNQ_CONFIG_NAME_MAX + 16];
	if (!t[0])
		return 0;
	if (config && same_file(t, config))
		what = "the config file itself";
	else if (same_file(t, c->listen.path))
		what = "the socket clients connect to (listen.path)";
	for (unsigned i = 0; !what && i < c->nmodels; i++)
		if (same_file(t, c->models[i].path)) {
			snprintf(model, sizeof model, "model %s's file", c->models[i].name);
			what = model;
		}
	if (what)
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: metrics.textfile '%s' is %s: dnnqd"
		                     " would write its metrics over it", config ? config
		                     : "command line", t, what);
	/* the file is renamed over PATH, which replaces whatever is there: a
	 * typo of /dev/null (root's dnnqd made it a regular file of mode
	 * 0644, which other users may not write), a FIFO or a socket another
	 * program uses (a directory is not replaced: each write fails, and
	 * is logged) */
	struct stat st;
	if (!lstat(t, &st) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) &&
	    !S_ISDIR(st.st_mode))
		return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: metrics.textfile '%s' is %s: dnnqd"
		                     " renames its metrics file over it, which would replace it",
		                     config ? config : "command line", t,
		                     dnnqd_file_kind(st.st_mode));
	/* written beside it and renamed over it, by root's dnnqd too: on a
	 * way another user may change (a directory every user may write to,
	 * not sticky) they could replace the metrics node_exporter reads, or
	 * turn a directory of the way into a symlink and have dnnqd create
	 * and rename its files wherever it leads */
	struct dnnq_diag why;
	int rc = dnnq_config_dir_trusted(t, "the metrics dnnqd writes there", &why);
	return rc ? dnnq_diag_set(diag, rc, "%s: metrics.textfile %s", config ? config
	                          : "command line", why.msg) : 0;
}

int dnnqd_settings_load(const struct dnnqd_options *o, struct dnnq_config *c,
                        struct dnnq_diag *diag)
{
	memset(c, 0, sizeof *c);
	if (!o->config)
		dnnq_config_default(c);
	int rc = o->config ? dnnq_config_load(o->config, c, diag) : 0;
	if (!rc)
		rc = dnnqd_options_apply(o, c, diag);
	return rc ? rc : dnnqd_settings_check(o->config, c, diag);
}

int dnnqd_acl_from(const struct dnnq_config *c, struct dnnqd_acl *acl)
{
	memset(acl, 0, sizeof *acl);
	/* the daemon's own user and root are always allowed */
	uint32_t always[2] = { (uint32_t)getuid(), 0 };
	int rc = add_ids_to(&acl->uids, &acl->nuids, always, 2);
	if (!rc)
		rc = add_ids_to(&acl->uids, &acl->nuids, c->access.uids, c->access.nuids);
	if (!rc)
		rc = add_ids_to(&acl->gids, &acl->ngids, c->access.gids, c->access.ngids);
	return rc;
}

void dnnqd_acl_free(struct dnnqd_acl *acl)
{
	free(acl->uids);
	free(acl->gids);
	memset(acl, 0, sizeof *acl);
}
