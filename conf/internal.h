/*
 * conf/internal.h — what the files of conf/ share, not part of the API.
 *
 * Parsing is two steps. tree.c turns libyaml's event stream into a small
 * tree of nodes (scalars, mappings, sequences) that remembers each node's
 * mark, and refuses there what no schema could accept: syntax errors, a
 * second document, nesting past CONF_DEPTH_MAX. Anchors, aliases and tags
 * are only noted on the node (`refused`), so the error can name the key
 * path: the walker (config.c) checks every node it visits and the schema
 * reaches every node of a valid file. values.c reads typed scalars,
 * system.c asks the system (CPUs, users, groups, the working directory).
 * All must be included after _GNU_SOURCE (cpu_set_t).
 */
#ifndef DNNQ_CONF_INTERNAL_H
#define DNNQ_CONF_INTERNAL_H

#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "shm/dnnq_proto.h"

#define CONF_DEPTH_MAX 64u
#define CONF_LIST_MAX 4096u     /* entries of an access list */
#define CONF_MODELS_MAX DNNQ_PROTO_MAX_MODELS  /* what a client takes for n_models */
#define CONF_PATH_MAX 4096u     /* a resolved model path, NUL included */

enum conf_kind { CONF_SCALAR, CONF_MAP, CONF_SEQ, CONF_ALIAS };

struct conf_node {
	enum conf_kind kind;
	bool quoted;                 /* a scalar in any style but plain */
	const char *refused;         /* "anchors", "aliases" or "tags": an error */
	unsigned line, col;          /* 1-based */
	const char *text;            /* scalars: NUL-terminated copy ... */
	size_t len;                  /* ... which may hold NULs ("\0") */
	struct conf_node *first, *last, *next; /* children; a map's alternate key, value */
	unsigned count;              /* children */
};

struct conf_chunk;

struct conf_tree {
	struct conf_node *root;      /* NULL: no document, or an empty one */
	struct conf_chunk *chunks;   /* every node and text lives here */
};

/* FILE:LINE:COL: PATH: message (no "PATH: " when path is empty). */
int conf_vdiag(struct dnnq_diag *d, int status, const char *file, unsigned line, unsigned col,
               const char *path, const char *fmt, va_list ap)
	__attribute__((format(printf, 7, 0)));

/* 0, or a status with the diag line; free the tree whatever the result. */
int conf_tree_build(struct conf_tree *t, const char *buf, size_t len, const char *file,
                    struct dnnq_diag *d);
void conf_tree_free(struct conf_tree *t);

/* The schema walk: where it is and what it fills. */
struct conf_walk {
	const char *file;            /* for diag lines */
	const char *filename;        /* as given to dnnq_config_parse: may be NULL */
	struct dnnq_diag *diag;
	struct dnnq_config *c;
	char path[160];              /* "models[2].path" */
	size_t plen;
	cpu_set_t allowed;           /* the CPUs this process may run on */
	cpu_set_t cpus_seen;         /* workers.cpus so far */
	char *base;                  /* directory of relative model paths, lazily */
	const struct conf_node *models; /* walked last: it needs limits and workers */
};

/* The error at node n, with the walk's file and path. */
int conf_fail(struct conf_walk *w, const struct conf_node *n, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* config.c: the whole schema over the tree (root may be NULL). */
int conf_walk_config(struct conf_walk *w, const struct conf_node *root);
/* Every node the walk reads passes here first: anchors, aliases, tags. */
int conf_check(struct conf_walk *w, const struct conf_node *n);
/* fn on each item of sequence n (null: none), path "[i]" pushed. */
typedef int (*conf_item_fn)(struct conf_walk *w, const struct conf_node *item, void *ctx);
int conf_each(struct conf_walk *w, const struct conf_node *n, conf_item_fn fn, void *ctx);

/* values.c: each returns 0 or the status of the diag line it wrote. */
bool conf_is_null(const struct conf_node *n);
int conf_uint(struct conf_walk *w, const struct conf_node *n, uint64_t lo, uint64_t hi,
              uint64_t *out);
int conf_string(struct conf_walk *w, const struct conf_node *n, const char **s);
int conf_bool(struct conf_walk *w, const struct conf_node *n, bool *out);
int conf_size(struct conf_walk *w, const struct conf_node *n, uint64_t lo, uint64_t hi,
              uint64_t *out);
int conf_mode(struct conf_walk *w, const struct conf_node *n, uint32_t *out);
int conf_cpus(struct conf_walk *w, const struct conf_node *n, struct dnnq_config_workers *wk);
/* `what` ("a mapping") for "expected WHAT, got ..." messages. */
int conf_expected(struct conf_walk *w, const struct conf_node *n, const char *what);

/* system.c */
int conf_affinity(cpu_set_t *s);          /* 0 or -errno */
void conf_default_socket(char *buf, size_t len);
enum conf_id_kind { CONF_USER, CONF_GROUP };
/* 0, DNNQ_E_NOTFOUND, DNNQ_E_NOMEM, or DNNQ_E_IO with *err the errno. */
int conf_lookup_id(enum conf_id_kind kind, const char *name, uint32_t *id, int *err);
/* The absolute directory of relative model paths for config `file`. */
int conf_base_dir(const char *file, char **out);

#endif
