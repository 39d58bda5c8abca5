/*
 * bench/table.c — how results are printed: an aligned table for people, or
 * with --tsv a header line plus one tab-separated row per measurement for
 * scripts (everything else then goes to stderr, so stdout stays clean TSV).
 * Also the two helpers every file needs: dying with a message and aligned
 * allocation.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

FILE *bench_text(bool tsv)
{
	return tsv ? stderr : stdout;
}

/* Whether column c is printed: width 0 marks a TSV-only column. */
static bool shown(const struct bench_table *t, size_t c)
{
	return t->tsv || t->cols[c].width > 0;
}

/* Printed width of column c: negative (left-aligned) for prec < -1. */
static int width(const struct bench_table *t, size_t c)
{
	const struct bench_col *col = &t->cols[c];
	return t->tsv ? 0 : col->prec < -1 ? -col->width : col->width;
}

/* The separator before column c, when a printed column precedes it. */
static void separate(const struct bench_table *t, size_t c)
{
	for (size_t i = 0; i < c; i++) {
		if (shown(t, i)) {
			fputs(t->tsv ? "\t" : "  ", stdout);
			return;
		}
	}
}

/* Starts the next cell; false when its column is not printed. */
static bool next_cell(struct bench_table *t, int *w, int *prec)
{
	if (t->cur >= t->ncols)
		bench_die("bench: table row has more than %zu cells", t->ncols);
	size_t c = t->cur++;
	if (!shown(t, c))
		return false;
	separate(t, c);
	*w = width(t, c);
	*prec = t->cols[c].prec < 0 ? 0 : t->cols[c].prec;
	return true;
}

void bench_table_begin(struct bench_table *t, const struct bench_col *cols,
                       size_t ncols, bool tsv)
{
	static bool printed;
	*t = (struct bench_table){ .cols = cols, .ncols = ncols, .tsv = tsv };
	if (tsv && printed)
		printf("\n");   /* tables of `all` are separated by a blank line */
	printed = true;
	for (size_t i = 0; i < ncols; i++) {
		if (!shown(t, i))
			continue;
		separate(t, i);
		printf("%*s", width(t, i), tsv ? cols[i].key : cols[i].head);
	}
	printf("\n");
	fflush(stdout);
}

void bench_cell_num(struct bench_table *t, double v)
{
	int w, prec;
	if (next_cell(t, &w, &prec))
		printf("%*.*f", w, prec, v);
}

void bench_cell_int(struct bench_table *t, long long v)
{
	int w, prec;
	if (next_cell(t, &w, &prec))
		printf("%*lld", w, v);
}

void bench_cell_str(struct bench_table *t, const char *s)
{
	int w, prec;
	if (next_cell(t, &w, &prec))
		printf("%*s", w, s);
}

void bench_cell_opt(struct bench_table *t, bool have, double v, int prec)
{
	char buf[32];
	if (have)
		snprintf(buf, sizeof buf, "%.*f", prec, v);
	else
		snprintf(buf, sizeof buf, "%s", t->tsv ? "" : "-");
	bench_cell_str(t, buf);
}

void bench_row_end(struct bench_table *t)
{
	if (t->cur != t->ncols)
		bench_die("bench: table row has %zu of %zu cells", t->cur, t->ncols);
	t->cur = 0;
	printf("\n");
	fflush(stdout);
}

#define NOTE_WIDTH 96

/* Prints s greedily wrapped at NOTE_WIDTH, continuation lines indented. */
static void print_wrapped(const char *s)
{
	size_t col = 0, indent = 0;
	while (*s) {
		size_t w = strcspn(s, " ");
		if (col > indent && col + 1 + w > NOTE_WIDTH) {
			printf("\n  ");
			col = indent = 2;
		} else if (col > indent) {
			putchar(' ');
			col++;
		}
		printf("%.*s", (int)w, s);
		col += w;
		s += w;
		s += strspn(s, " ");
	}
	putchar('\n');
}

void bench_note(const struct bench_table *t, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	if (t->tsv)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	print_wrapped(buf);
}

void bench_warn(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	va_start(ap, fmt);
	dnnq_tool_vline("bench: warning", "", fmt, ap);
	va_end(ap);
}

void bench_die(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	va_start(ap, fmt);
	dnnq_tool_vline(NULL, "", fmt, ap);
	va_end(ap);
	exit(1);
}

void *bench_alloc(size_t n)
{
	size_t sz = (n + 63) & ~(size_t)63;
	void *p = sz >= n ? aligned_alloc(64, sz ? sz : 64) : NULL;
	if (!p)
		bench_die("bench: out of memory (%zu bytes)", n);
	return p;
}
