/*
 * The config schema (conf/config.h, docs/config.md): a walk over the tree
 * tree.c built, driven by one table of keys per mapping.
 *
 * Each key names a setter that reads its value node into the config, with
 * the field's offset and range for the generic ones (numbers, sizes,
 * booleans, sections), so adding a key is one table line. walk_map refuses
 * unknown and repeated keys and keeps the key path ("models[2].path") that
 * every error line carries; conf_each does the same for sequence items.
 * `models` is walked after every other section, because its defaults and
 * ranges come from limits.max_batch and the worker count, wherever those
 * appear in the file. The config is built in a local copy and handed out
 * only when all of it is valid, so a failed parse (a failed reload)
 * changes nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/internal.h"
#include "engine/base.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#define KEYS_MAX 8

int conf_fail(struct conf_walk *w, const struct conf_node *n, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = conf_vdiag(w->diag, status, w->file, n->line, n->col, w->path, fmt, ap);
	va_end(ap);
	return rc;
}

int conf_check(struct conf_walk *w, const struct conf_node *n)
{
	return n->refused ? conf_fail(w, n, DNNQ_E_INVAL, "%s are not allowed", n->refused) : 0;
}

/* Appends to the key path; returns the length to pop back to. */
__attribute__((format(printf, 2, 3)))
static size_t path_push(struct conf_walk *w, const char *fmt, ...)
{
	size_t old = w->plen;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(w->path + old, sizeof w->path - old, fmt, ap);
	va_end(ap);
	w->plen = n < 0 ? old : old + (size_t)n < sizeof w->path ? old + (size_t)n
	                                                          : sizeof w->path - 1;
	return old;
}

static void path_pop(struct conf_walk *w, size_t old)
{
	w->path[w->plen = old] = 0;
}

int conf_each(struct conf_walk *w, const struct conf_node *n, conf_item_fn fn, void *ctx)
{
	if (conf_is_null(n))
		return 0;
	if (n->kind != CONF_SEQ)
		return conf_expected(w, n, "a sequence");
	int rc = 0;
	unsigned i = 0;
	for (const struct conf_node *it = n->first; it && !rc; it = it->next, i++) {
		size_t old = path_push(w, "[%u]", i);
		if (!(rc = conf_check(w, it)))
			rc = fn(w, it, ctx);
		path_pop(w, old);
	}
	return rc;
}

struct key_def;
typedef int (*set_fn)(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                      void *obj);
/* A key whose value is a string: s is v's text, checked by conf_string. */
typedef int (*text_fn)(struct conf_walk *w, const struct conf_node *v, const char *s, void *obj);

struct key_table {
	const struct key_def *keys;
	unsigned n;
};

struct key_def {
	const char *name;
	set_fn set;
	size_t off, size;            /* numbers and sections: the field in obj */
	uint64_t min, max;           /* numbers: the range */
	const struct key_table *sub; /* sections: their keys */
	text_fn text;                /* strings: what takes them */
};

/* "unknown key: did you mean 'spin_us'? (expected cpus, spin_us, reserve_max_ms)" */
static int unknown_key(struct conf_walk *w, const struct conf_node *k, const struct key_table *t)
{
	char list[160];
	size_t n = 0;
	list[0] = 0;
	for (unsigned i = 0; i < t->n && n < sizeof list; i++)
		n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", t->keys[i].name);
	const char *name = k->text, *near = dnnq_nearest(name, strlen(name), &t->keys[0].name, t->n,
	                                                 sizeof t->keys[0]);
	if (near)
		return conf_fail(w, k, DNNQ_E_INVAL, "unknown key: did you mean '%s'? (expected %s)",
		                 near, list);
	return conf_fail(w, k, DNNQ_E_INVAL, "unknown key (expected %s)", list);
}

/* The key's table index; on error the path already names the key. */
static int find_key(struct conf_walk *w, const struct conf_node *k, const struct key_table *t,
                    const struct conf_node **seen, unsigned *idx)
{
	const char *name;
	int rc = conf_check(w, k);
	if (rc || (k->kind != CONF_SCALAR && (rc = conf_expected(w, k, "a key"))) ||
	    (rc = conf_string(w, k, &name)))
		return rc;
	/* keys are printable identifiers; anything else is unknown anyway */
	for (size_t i = 0; name[i]; i++)
		if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e)
			return conf_fail(w, k, DNNQ_E_INVAL, "unknown key");
	path_push(w, "%s%.40s", w->plen ? "." : "", name);
	for (*idx = 0; *idx < t->n && strcmp(t->keys[*idx].name, name); ++*idx)
		;
	if (*idx == t->n)
		return unknown_key(w, k, t);
	if (seen[*idx])
		return conf_fail(w, k, DNNQ_E_INVAL, "duplicate key (first at %u:%u)",
		                 seen[*idx]->line, seen[*idx]->col);
	seen[*idx] = k;
	return 0;
}

/* Each key of mapping n through its setter; null is an empty mapping. */
static int walk_map(struct conf_walk *w, const struct conf_node *n, const struct key_table *t,
                    void *obj)
{
	const struct conf_node *seen[KEYS_MAX] = { 0 };
	int rc = 0;
	if (conf_is_null(n))
		return 0;
	if (n->kind != CONF_MAP)
		return conf_expected(w, n, "a mapping");
	for (const struct conf_node *k = n->first; k && !rc; k = k->next->next) {
		size_t old = w->plen;
		unsigned i = 0;
		if (!(rc = find_key(w, k, t, seen, &i)) && !(rc = conf_check(w, k->next)))
			rc = t->keys[i].set(w, k->next, &t->keys[i], obj);
		path_pop(w, old);
	}
	return rc;
}

static int set_section(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                       void *obj)
{
	return walk_map(w, v, k->sub, (char *)obj + k->off);
}

static int set_number(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                      void *obj)
{
	uint64_t x;
	int rc = conf_uint(w, v, k->min, k->max, &x);
	if (!rc && k->size == sizeof(uint32_t))
		*(uint32_t *)((char *)obj + k->off) = (uint32_t)x;
	else if (!rc)
		*(uint64_t *)((char *)obj + k->off) = x;
	return rc;
}

static int set_text(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                    void *obj)
{
	const char *s;
	int rc = conf_string(w, v, &s);
	return rc ? rc : k->text(w, v, s, obj);
}

static int set_size(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                    void *obj)
{
	return conf_size(w, v, k->min, k->max, (uint64_t *)((char *)obj + k->off));
}

static int set_flag(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                    void *obj)
{
	return conf_bool(w, v, (bool *)((char *)obj + k->off));
}

#define NUMBER(type, key, field, lo, hi) \
	{ .name = #key, .set = set_number, .off = offsetof(type, field), \
	  .size = sizeof(((type *)0)->field), .min = lo, .max = hi }
/* A size (uint64_t bytes) between lo and hi. */
#define SIZE(type, key, field, lo, hi) \
	{ .name = #key, .set = set_size, .off = offsetof(type, field), .min = lo, .max = hi }
#define FLAG(type, key, field) { .name = #key, .set = set_flag, .off = offsetof(type, field) }
#define SETTER(key, fn) { .name = #key, .set = fn }
#define TEXT(key, fn) { .name = #key, .set = set_text, .text = fn }
#define SECTION(key, table) \
	{ .name = #key, .set = set_section, .off = offsetof(struct dnnq_config, key), .sub = &table }
#define TABLE(name, ...) \
	static const struct key_def name##_keys[] = { __VA_ARGS__ }; \
	_Static_assert(sizeof name##_keys / sizeof name##_keys[0] <= KEYS_MAX, "walk_map's seen[]"); \
	static const struct key_table name = { name##_keys, sizeof name##_keys / sizeof name##_keys[0] }

/* --- listen --- */

static int set_socket(struct conf_walk *w, const struct conf_node *v, const char *s, void *obj)
{
	struct dnnq_config_listen *l = obj;
	if (!s[0] || strlen(s) >= sizeof l->path)
		return conf_fail(w, v, DNNQ_E_RANGE, "a socket path is 1..%zu bytes",
		                 sizeof l->path - 1);
	strcpy(l->path, s);
	l->line = v->line;
	l->col = v->col;
	return 0;
}

static int set_mode(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                    void *obj)
{
	(void)k;
	return conf_mode(w, v, &((struct dnnq_config_listen *)obj)->mode);
}

/* A user or group name from node v into *id. */
static int resolve_name(struct conf_walk *w, const struct conf_node *v, enum conf_id_kind kind,
                        uint32_t *id)
{
	const char *what = kind == CONF_USER ? "user" : "group", *name;
	int err = 0, rc = conf_string(w, v, &name);
	if (!rc)
		rc = conf_lookup_id(kind, name, id, &err);
	if (rc == DNNQ_E_NOTFOUND)
		return conf_fail(w, v, rc, "no such %s '%.40s'", what, name);
	if (rc == DNNQ_E_IO)
		return conf_fail(w, v, rc, "looking up %s '%.40s': %s", what, name, strerror(err));
	return rc == DNNQ_E_NOMEM ? conf_fail(w, v, rc, "out of memory") : rc;
}

static int set_group(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                     void *obj)
{
	struct dnnq_config_listen *l = obj;
	uint64_t gid;
	int rc;
	(void)k;
	if (v->kind == CONF_SCALAR && v->len && strspn(v->text, "0123456789") == v->len) {
		if ((rc = conf_uint(w, v, 0, UINT32_MAX - 1, &gid)))
			return rc;
		l->gid = (uint32_t)gid;
	} else if ((rc = resolve_name(w, v, CONF_GROUP, &l->gid))) {
		return rc;
	}
	l->has_group = true;
	return 0;
}

TABLE(listen_table,
	TEXT(path, set_socket),
	SETTER(mode, set_mode),
	SETTER(group, set_group));

/* --- workers, limits, log --- */

static int set_cpus(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                    void *obj)
{
	(void)k;
	return conf_is_null(v) ? 0 : conf_cpus(w, v, obj);
}

TABLE(workers_table,
	SETTER(cpus, set_cpus),
	NUMBER(struct dnnq_config_workers, spin_us, spin_us, 0, 1000000),
	NUMBER(struct dnnq_config_workers, reserve_max_ms, reserve_max_ms, 10, 1000));

TABLE(limits_table,
	NUMBER(struct dnnq_config_limits, max_clients, max_clients, 1, 4096),
	SIZE(struct dnnq_config_limits, max_session_bytes, max_session_bytes,
	     DNNQ_CONFIG_SESSION_BYTES_MIN, DNNQ_CONFIG_SESSION_BYTES_MAX),
	NUMBER(struct dnnq_config_limits, max_inflight, max_inflight, 1, 4096),
	NUMBER(struct dnnq_config_limits, max_batch, max_batch, 1, 65536),
	NUMBER(struct dnnq_config_limits, max_sessions_per_uid, max_sessions_per_uid, 1, 4096),
	SIZE(struct dnnq_config_limits, max_bytes_per_uid, max_bytes_per_uid,
	     (uint64_t)1 << 20, (uint64_t)1 << 40));

static int set_level(struct conf_walk *w, const struct conf_node *v, const char *s, void *obj)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	for (unsigned i = 0; i < 4; i++) {
		if (!strcmp(s, levels[i])) {
			((struct dnnq_config *)obj)->log_level = (enum dnnq_config_log_level)i;
			return 0;
		}
	}
	return conf_expected(w, v, "error, warn, info or debug");
}

/* log.level lands in dnnq_config itself: the section's object is the config. */
TABLE(log_table, TEXT(level, set_level));

/* --- access --- */

struct id_list {
	uint32_t **ids;
	unsigned *n;
	enum conf_id_kind kind;
};

static int push_id(struct conf_walk *w, const struct conf_node *v, struct id_list *l,
                   uint32_t id)
{
	uint32_t *a;
	if (*l->n >= CONF_LIST_MAX)
		return conf_fail(w, v, DNNQ_E_RANGE, "more than %u ids", CONF_LIST_MAX);
	if (!(a = realloc(*l->ids, (*l->n + 1) * sizeof *a)))
		return conf_fail(w, v, DNNQ_E_NOMEM, "out of memory");
	a[(*l->n)++] = id;
	*l->ids = a;
	return 0;
}

static int id_item(struct conf_walk *w, const struct conf_node *v, void *ctx)
{
	uint64_t id;
	int rc = conf_uint(w, v, 0, UINT32_MAX - 1, &id);  /* (uid_t)-1 is "no id" */
	return rc ? rc : push_id(w, v, ctx, (uint32_t)id);
}

static int name_item(struct conf_walk *w, const struct conf_node *v, void *ctx)
{
	struct id_list *l = ctx;
	uint32_t id;
	int rc = resolve_name(w, v, l->kind, &id);
	return rc ? rc : push_id(w, v, l, id);
}

static int set_ids(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                   void *obj)
{
	struct dnnq_config_access *a = obj;
	bool users = k->min == CONF_USER;
	struct id_list l = { users ? &a->uids : &a->gids, users ? &a->nuids : &a->ngids,
	                     (enum conf_id_kind)k->min };
	return conf_each(w, v, k->max ? name_item : id_item, &l);
}

/* min: whose ids (CONF_USER, CONF_GROUP); max: 1 for names. */
TABLE(access_table,
	{ .name = "uids", .set = set_ids, .min = CONF_USER, .max = 0 },
	{ .name = "users", .set = set_ids, .min = CONF_USER, .max = 1 },
	{ .name = "gids", .set = set_ids, .min = CONF_GROUP, .max = 0 },
	{ .name = "groups", .set = set_ids, .min = CONF_GROUP, .max = 1 },
	FLAG(struct dnnq_config_access, public_stats, public_stats));

static int cmp_id(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Sorted, each id once. */
static void unique_ids(uint32_t *ids, unsigned *n)
{
	unsigned k = 0;
	if (!*n)
		return;
	qsort(ids, *n, sizeof *ids, cmp_id);
	for (unsigned i = 1; i < *n; i++)
		if (ids[i] != ids[k])
			ids[++k] = ids[i];
	*n = k + 1;
}

/* --- metrics --- */

/* An absolute path in an existing directory: the file is written there as
 * PATH.tmp.PID and renamed over PATH. */
static int set_textfile(struct conf_walk *w, const struct conf_node *v, const char *s, void *obj)
{
	struct dnnq_config_metrics *m = obj;
	char dir[DNNQ_CONFIG_TEXTFILE_MAX];
	struct stat st;
	size_t len = strlen(s);
	if (s[0] != '/')
		return conf_fail(w, v, DNNQ_E_INVAL, "'%.40s': the textfile path must be absolute", s);
	if (len >= sizeof m->textfile)
		return conf_fail(w, v, DNNQ_E_RANGE, "the path is longer than %zu bytes",
		                 sizeof m->textfile - 1);
	if (s[len - 1] == '/')
		return conf_fail(w, v, DNNQ_E_INVAL, "'%.40s': a directory, not a file", s);
	memcpy(dir, s, len + 1);
	*strrchr(dir, '/') = '\0';
	const char *d = dir[0] ? dir : "/";
	if (stat(d, &st))
		return conf_fail(w, v, DNNQ_E_NOTFOUND, "the directory '%.60s': %s", d, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return conf_fail(w, v, DNNQ_E_INVAL, "'%.60s' is not a directory", d);
	memcpy(m->textfile, s, len + 1);
	return 0;
}

TABLE(metrics_table,
	TEXT(textfile, set_textfile),
	NUMBER(struct dnnq_config_metrics, interval, interval_s, 1, 3600));

/* --- models --- */

struct model_item {
	struct dnnq_config_model *m;
	const struct conf_node *name, *path, *batching; /* where they were given */
	const struct conf_node *preferred[DNNQ_CONFIG_PREFERRED_MAX];
};

static int set_name(struct conf_walk *w, const struct conf_node *v, const char *s, void *obj)
{
	struct model_item *it = obj;
	if (!s[0] || strlen(s) >= sizeof it->m->name || strspn(s, NAME_CHARS) != strlen(s))
		return conf_fail(w, v, DNNQ_E_INVAL, "'%.*s': a model name is 1..%zu of"
		                 " A-Z a-z 0-9 . _ -", 40, s, sizeof it->m->name - 1);
	strcpy(it->m->name, s);
	it->name = v;
	return 0;
}

/* Relative paths are relative to the config file's directory. */
static int set_path(struct conf_walk *w, const struct conf_node *v, const char *s, void *obj)
{
	struct model_item *it = obj;
	bool absolute = s[0] == '/';
	int rc;
	while (s[0] == '.' && s[1] == '/')
		s += 2 + strspn(s + 2, "/");
	if (!s[0])
		return conf_fail(w, v, DNNQ_E_INVAL, "an empty path");
	if (!absolute && !w->base && (rc = conf_base_dir(w->filename, &w->base)))
		return conf_fail(w, v, rc, "cannot resolve a relative path: %s", strerror(errno));
	const char *dir = absolute ? "" : w->base;      /* w->base is never "" */
	const char *sep = absolute || dir[strlen(dir) - 1] == '/' ? "" : "/";
	if (strlen(dir) + strlen(sep) + strlen(s) >= CONF_PATH_MAX)
		return conf_fail(w, v, DNNQ_E_RANGE, "the path is longer than %u bytes",
		                 CONF_PATH_MAX - 1);
	if (asprintf(&it->m->path, "%s%s%s", dir, sep, s) < 0) {
		it->m->path = NULL;
		return conf_fail(w, v, DNNQ_E_NOMEM, "out of memory");
	}
	it->path = v;
	it->m->line = v->line;
	it->m->col = v->col;
	return 0;
}

/* A bound that depends on other sections: max_batch or threads. */
static int set_model_u32(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                         void *obj)
{
	struct model_item *it = obj;
	uint64_t x;
	bool batch = k->min != 0;
	uint32_t hi = batch ? w->c->limits.max_batch : w->c->workers.ncpus;
	int rc = conf_uint(w, v, 0, UINT64_MAX, &x);
	/* the bound is another key's: named, so that the fix is found (past
	 * 2^64 - 1 too, conf_uint's DNNQ_E_RANGE) */
	if (rc == DNNQ_E_RANGE || (!rc && (x < 1 || x > hi)))
		rc = conf_fail(w, v, DNNQ_E_RANGE, "'%s' is out of range (1..%u: %s)", v->text, hi,
		               batch ? "limits.max_batch" : "the workers, one per CPU of workers.cpus");
	if (!rc)
		*(batch ? &it->m->max_batch : &it->m->threads) = (uint32_t)x;
	return rc;
}

static int set_warmup(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                      void *obj)
{
	(void)k;
	return conf_bool(w, v, &((struct model_item *)obj)->m->warmup);
}

/* --- models[i].dynamic_batching --- */

static int set_delay(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                     void *obj)
{
	struct dnnq_config_batching *b = &((struct model_item *)obj)->m->batching;
	uint64_t x;
	int rc = conf_uint(w, v, k->min, k->max, &x);
	if (!rc)
		b->max_queue_delay_us = (uint32_t)x;
	return rc;
}

/* Ascending without repeats, so a size is in the list at most once; the
 * model's own max_batch is checked once the whole entry is read
 * (check_preferred). */
static int preferred_item(struct conf_walk *w, const struct conf_node *v, void *ctx)
{
	struct model_item *it = ctx;
	struct dnnq_config_batching *b = &it->m->batching;
	uint64_t x;
	int rc = conf_uint(w, v, 1, w->c->limits.max_batch, &x);
	if (rc)
		return rc;
	if (b->npreferred == DNNQ_CONFIG_PREFERRED_MAX)
		return conf_fail(w, v, DNNQ_E_RANGE, "more than %u sizes", DNNQ_CONFIG_PREFERRED_MAX);
	if (b->npreferred && x <= b->preferred[b->npreferred - 1])
		return conf_fail(w, v, DNNQ_E_INVAL, "%llu after %u: the sizes must ascend",
		                 (unsigned long long)x, b->preferred[b->npreferred - 1]);
	it->preferred[b->npreferred] = v;
	b->preferred[b->npreferred++] = (uint32_t)x;
	return 0;
}

static int set_preferred(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                         void *obj)
{
	(void)k;
	return conf_each(w, v, preferred_item, obj);
}

TABLE(batching_table,
	{ .name = "max_queue_delay_us", .set = set_delay, .min = 0, .max = 10000000 },
	SETTER(preferred_batch_size, set_preferred));

static int set_batching(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                        void *obj)
{
	struct model_item *it = obj;
	struct dnnq_config_batching *b = &it->m->batching;
	(void)k;
	it->batching = v;
	b->enabled = true;
	b->max_queue_delay_us = DNNQ_CONFIG_QUEUE_DELAY_US;
	return walk_map(w, v, &batching_table, obj);
}

/* Batching with room for company, and each preferred size within the
 * model's max_batch (given anywhere in the entry). */
static int check_batching(struct conf_walk *w, const struct model_item *it)
{
	const struct dnnq_config_batching *b = &it->m->batching;
	if (b->enabled && it->m->max_batch == 1) {
		size_t old = path_push(w, ".dynamic_batching");
		int rc = conf_fail(w, it->batching, DNNQ_E_INVAL, "the model's max_batch is 1:"
		                   " a request would never have company");
		path_pop(w, old);
		return rc;
	}
	for (unsigned j = 0; j < b->npreferred; j++) {
		if (b->preferred[j] <= it->m->max_batch)
			continue;
		size_t old = path_push(w, ".dynamic_batching.preferred_batch_size[%u]", j);
		int rc = conf_fail(w, it->preferred[j], DNNQ_E_RANGE, "%u: more than the model's"
		                   " max_batch %u", b->preferred[j], it->m->max_batch);
		path_pop(w, old);
		return rc;
	}
	return 0;
}

TABLE(model_table,
	TEXT(name, set_name),
	TEXT(path, set_path),
	{ .name = "max_batch", .set = set_model_u32, .min = 1 },   /* min 1: max_batch */
	SETTER(threads, set_model_u32),
	SETTER(warmup, set_warmup),
	SETTER(dynamic_batching, set_batching));

static int missing(struct conf_walk *w, const struct conf_node *v, const char *key)
{
	return conf_fail(w, v, DNNQ_E_INVAL, "missing required key '%s'", key);
}

static int model_item(struct conf_walk *w, const struct conf_node *v, void *ctx)
{
	struct dnnq_config *c = w->c;
	const struct conf_node **names = ctx;
	struct model_item it = { &c->models[c->nmodels], NULL, NULL, NULL, { NULL } };
	*it.m = (struct dnnq_config_model){ .max_batch = c->limits.max_batch, .threads = 1,
	                                    .warmup = true };
	unsigned i = c->nmodels++;         /* from here dnnq_config_free frees its path */
	int rc = walk_map(w, v, &model_table, &it);
	if (rc)
		return rc;
	if (!it.name)
		return missing(w, v, "name");
	if (!it.path)
		return missing(w, v, "path");
	if ((rc = check_batching(w, &it)))
		return rc;
	names[i] = it.name;
	for (unsigned j = 0; j < i; j++) {
		if (!strcmp(c->models[j].name, it.m->name)) {
			size_t old = path_push(w, ".name");
			rc = conf_fail(w, it.name, DNNQ_E_INVAL, "'%s' is already the name of"
			               " models[%u] (at %u:%u)", it.m->name, j, names[j]->line,
			               names[j]->col);
			path_pop(w, old);
			return rc;
		}
	}
	return 0;
}

static int walk_models(struct conf_walk *w)
{
	const struct conf_node *n = w->models, **names = NULL;
	size_t old = path_push(w, "models");
	int rc = 0;
	if (n->kind == CONF_SEQ && n->count > CONF_MODELS_MAX) {
		rc = conf_fail(w, n, DNNQ_E_RANGE, "more than %u models", CONF_MODELS_MAX);
		goto out;
	}
	if (n->kind == CONF_SEQ && n->count) {
		w->c->models = calloc(n->count, sizeof *w->c->models);
		names = calloc(n->count, sizeof *names);
		if (!w->c->models || !names) {
			rc = conf_fail(w, n, DNNQ_E_NOMEM, "out of memory");
			goto out;
		}
	}
	rc = conf_each(w, n, model_item, names);
out:
	free(names);
	path_pop(w, old);
	return rc;
}

/* --- the top level --- */

static int set_models(struct conf_walk *w, const struct conf_node *v, const struct key_def *k,
                      void *obj)
{
	(void)k, (void)obj;
	w->models = v;
	return 0;
}

TABLE(root_table,
	SECTION(listen, listen_table),
	SECTION(workers, workers_table),
	SECTION(limits, limits_table),
	SECTION(access, access_table),
	SECTION(metrics, metrics_table),
	SETTER(models, set_models),
	{ .name = "log", .set = set_section, .off = 0, .sub = &log_table });

int conf_walk_config(struct conf_walk *w, const struct conf_node *root)
{
	int rc = 0;
	if (root && !(rc = conf_check(w, root)))
		rc = walk_map(w, root, &root_table, w->c);
	if (!rc && w->models)
		rc = walk_models(w);
	unique_ids(w->c->access.uids, &w->c->access.nuids);
	unique_ids(w->c->access.gids, &w->c->access.ngids);
	return rc;
}
