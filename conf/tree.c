/*
 * libyaml's event stream → a tree of conf_node (conf/internal.h).
 *
 * The event API rather than yaml_parser_load: the document loader resolves
 * aliases into shared nodes and forgets anchors and explicit tags, and the
 * config refuses all three, so it must see them. Nodes and their text live
 * in one bump arena of chunks, so pointers stay put while the tree grows
 * and freeing is one walk over the chunks. Building is a loop with an
 * explicit stack of open containers (at most CONF_DEPTH_MAX deep), so no
 * input nests the C stack. libyaml's own errors keep its problem text and
 * mark; a second document is refused here, everything else in config.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "conf/internal.h"

#define CHUNK_MIN 16384u

struct conf_chunk {
	struct conf_chunk *next;
	size_t used, size;
	max_align_t data[];
};

int conf_vdiag(struct dnnq_diag *d, int status, const char *file, unsigned line, unsigned col,
               const char *path, const char *fmt, va_list ap)
{
	char msg[sizeof d->msg];
	if (!d)
		return status;
	vsnprintf(msg, sizeof msg, fmt, ap);
	return dnnq_diag_set(d, status, "%s:%u:%u: %s%s%s", file, line, col, path,
	                     path[0] ? ": " : "", msg);
}

__attribute__((format(printf, 6, 7)))
static int diag_at(struct dnnq_diag *d, int status, const char *file, unsigned line,
                   unsigned col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = conf_vdiag(d, status, file, line, col, "", fmt, ap);
	va_end(ap);
	return rc;
}

/* size bytes, aligned for any type; NULL when out of memory. */
static void *arena_alloc(struct conf_tree *t, size_t size)
{
	const size_t align = sizeof(max_align_t);
	size = (size + align - 1) / align * align;
	struct conf_chunk *c = t->chunks;
	if (!c || c->size - c->used < size) {
		size_t cap = size > CHUNK_MIN ? size : CHUNK_MIN;
		if (!(c = malloc(sizeof *c + cap)))
			return NULL;
		c->next = t->chunks;
		c->used = 0;
		c->size = cap;
		t->chunks = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += size;
	return p;
}

void conf_tree_free(struct conf_tree *t)
{
	while (t->chunks) {
		struct conf_chunk *c = t->chunks;
		t->chunks = c->next;
		free(c);
	}
	t->root = NULL;
}

struct builder {
	struct conf_tree *t;
	const char *file;
	struct dnnq_diag *diag;
	struct conf_node *open[CONF_DEPTH_MAX]; /* containers not yet ended */
	unsigned depth;
	unsigned documents;
};

static int oom(struct builder *b)
{
	return dnnq_diag_set(b->diag, DNNQ_E_NOMEM, "%s: out of memory", b->file);
}

/* A node for event e, hung under the innermost open container. */
static struct conf_node *add_node(struct builder *b, const yaml_event_t *e, enum conf_kind kind,
                                  const void *anchor, const void *tag)
{
	struct conf_node *n = arena_alloc(b->t, sizeof *n);
	if (!n)
		return NULL;
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->line = (unsigned)e->start_mark.line + 1;
	n->col = (unsigned)e->start_mark.column + 1;
	n->refused = kind == CONF_ALIAS ? "aliases" : anchor ? "anchors" : tag ? "tags" : NULL;
	if (!b->depth) {
		b->t->root = n;
		return n;
	}
	struct conf_node *p = b->open[b->depth - 1];
	if (p->last)
		p->last->next = n;
	else
		p->first = n;
	p->last = n;
	p->count++;
	return n;
}

static int add_scalar(struct builder *b, const yaml_event_t *e)
{
	const size_t len = e->data.scalar.length;
	struct conf_node *n = add_node(b, e, CONF_SCALAR, e->data.scalar.anchor, e->data.scalar.tag);
	char *text = n ? arena_alloc(b->t, len + 1) : NULL;
	if (!text)
		return oom(b);
	memcpy(text, e->data.scalar.value, len);
	text[len] = 0;
	n->text = text;
	n->len = len;
	n->quoted = e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	return 0;
}

static int open_container(struct builder *b, const yaml_event_t *e, enum conf_kind kind,
                          const void *anchor, const void *tag)
{
	if (b->depth == CONF_DEPTH_MAX)
		return diag_at(b->diag, DNNQ_E_INVAL, b->file, (unsigned)e->start_mark.line + 1,
		               (unsigned)e->start_mark.column + 1, "nested deeper than %u levels",
		               CONF_DEPTH_MAX);
	struct conf_node *n = add_node(b, e, kind, anchor, tag);
	if (!n)
		return oom(b);
	b->open[b->depth++] = n;
	return 0;
}

static int add_event(struct builder *b, const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->documents++)
			return diag_at(b->diag, DNNQ_E_INVAL, b->file,
			               (unsigned)e->start_mark.line + 1,
			               (unsigned)e->start_mark.column + 1,
			               "a second document (the config is one YAML document)");
		return 0;
	case YAML_SCALAR_EVENT:
		return add_scalar(b, e);
	case YAML_ALIAS_EVENT:
		return add_node(b, e, CONF_ALIAS, NULL, NULL) ? 0 : oom(b);
	case YAML_MAPPING_START_EVENT:
		return open_container(b, e, CONF_MAP, e->data.mapping_start.anchor,
		                      e->data.mapping_start.tag);
	case YAML_SEQUENCE_START_EVENT:
		return open_container(b, e, CONF_SEQ, e->data.sequence_start.anchor,
		                      e->data.sequence_start.tag);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		b->depth--;      /* libyaml pairs every end with its start */
		return 0;
	default:
		return 0;
	}
}

/* Line and column of byte `offset` (the reader reports only that). */
static void offset_mark(const char *buf, size_t len, size_t offset, unsigned *line,
                        unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < offset && i < len; i++) {
		if (buf[i] == '\n') {
			++*line;
			*col = 1;
		} else {
			++*col;
		}
	}
}

/* Whether line (1-based) of buf[0..len) has a tab in its indentation. */
static bool tab_indented(const char *buf, size_t len, unsigned line)
{
	size_t i = 0;
	for (unsigned l = 1; l < line; l++) {
		const char *nl = memchr(buf + i, '\n', len - i);
		if (!nl)
			return false;
		i = (size_t)(nl - buf) + 1;
	}
	for (; i < len && (buf[i] == ' ' || buf[i] == '\t'); i++)
		if (buf[i] == '\t')
			return true;
	return false;
}

static int yaml_failed(struct builder *b, const yaml_parser_t *p, const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "malformed YAML";
	unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
	if (p->error == YAML_MEMORY_ERROR)
		return oom(b);
	if (p->error == YAML_READER_ERROR) {
		offset_mark(buf, len, p->problem_offset, &line, &col);
		return diag_at(b->diag, DNNQ_E_FORMAT, b->file, line, col, "%s", problem);
	}
	/* a scanner's or parser's: most often an indentation gone wrong (an
	 * unclosed bracket in a flow collection), from the line its context
	 * opened at, if any, to the problem's */
	const char *check = p->context && strstr(p->context, "flow") ? "the brackets and commas"
	                    : "the indentation (spaces), ':' and '-'";
	char where[64], context[160] = "";
	unsigned from = p->context && p->context_mark.line + 1 < line ?
	                (unsigned)p->context_mark.line + 1 : line;
	if (from < line)
		snprintf(where, sizeof where, "lines %u-%u", from, line);
	else
		snprintf(where, sizeof where, "line %u", line);
	if (p->context)
		snprintf(context, sizeof context, " (%s at %zu:%zu)", p->context,
		         p->context_mark.line + 1, p->context_mark.column + 1);
	/* libyaml's words do not say "tab" for every one (a tab where a key
	 * starts: "found character that cannot start any token") */
	if (tab_indented(buf, len, line))
		return diag_at(b->diag, DNNQ_E_FORMAT, b->file, line, col, "%s%s; line %u is indented"
		               " with a tab: YAML indents with spaces only", problem, context, line);
	return diag_at(b->diag, DNNQ_E_FORMAT, b->file, line, col, "%s%s; check %s on %s", problem,
	               context, check, where);
}

int conf_tree_build(struct conf_tree *t, const char *buf, size_t len, const char *file,
                    struct dnnq_diag *d)
{
	struct builder b = { .t = t, .file = file, .diag = d };
	yaml_parser_t p;
	yaml_event_t e;
	int rc = 0;
	t->root = NULL;
	t->chunks = NULL;
	if (!yaml_parser_initialize(&p))
		return oom(&b);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (bool done = false; !done && !rc;) {
		if (!yaml_parser_parse(&p, &e)) {
			rc = yaml_failed(&b, &p, buf, len);
			break;
		}
		rc = add_event(&b, &e);
		done = e.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&p);
	return rc;
}
