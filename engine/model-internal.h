/* Shared between engine/model*.c: the growable write buffer and the section
 * read cursor. */
#ifndef DNNQ_ENGINE_MODEL_INTERNAL_H
#define DNNQ_ENGINE_MODEL_INTERNAL_H

#include <stdio.h>

#include "engine/model.h"

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

void wb_reserve(struct wbuf *b, size_t n);
uint8_t *wb_take(struct wbuf *b, size_t n);
void wb_u32(struct wbuf *b, uint32_t v);
void wb_u64(struct wbuf *b, uint64_t v);
void wb_f32(struct wbuf *b, float v);
void wb_str(struct wbuf *b, const char *s);

struct rd {
	const uint8_t *p;
	size_t len, off;
	const char *sec;
	struct dnnq_diag *diag;
};

const uint8_t *rd_take(struct rd *r, size_t n);
int rd_trunc(struct rd *r, const char *field);
int rd_u32(struct rd *r, const char *field, uint32_t *v);
int rd_u64(struct rd *r, const char *field, uint64_t *v);
int rd_f32(struct rd *r, const char *field, float *v);
int rd_str(struct rd *r, const char *field, char *dst);
int rd_count(struct rd *r, const char *field, size_t min, uint32_t limit, size_t *out);

/* "model: <where>node j ('name'): <message>" into diag; returns rc. */
int dnnq_model_node_err(struct dnnq_diag *diag, const char *where, size_t j,
                        const char *name, int rc, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

void dnnq_model_write_graph(const struct dnnq_model *m, struct wbuf *b);
int dnnq_model_read_graph(struct rd *r, struct dnnq_model *m);

#endif
