/*
 * Typed scalars of the config (conf/internal.h): integers, sizes, modes,
 * booleans, strings and CPU lists, each read from one node with one error
 * line when it is not what the key wants.
 *
 * The text is read as written, not as YAML 1.1 would type it: an integer
 * is plain decimal digits (no sign, no 0x, no leading zero, which YAML 1.1
 * reads as octal), a mode is always octal, true/false are the only
 * booleans (no yes/no/on/off). A quoted scalar is a string, so "50" where
 * an integer belongs is refused; keys that take text (names, paths, sizes,
 * modes, CPU lists) take it plain or quoted.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"
#include "engine/base.h"

#define NUMBER_MAX_TEXT 40

bool conf_is_null(const struct conf_node *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	if (n->kind != CONF_SCALAR || n->quoted)
		return false;
	for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
		if (n->len == strlen(nulls[i]) && !memcmp(n->text, nulls[i], n->len))
			return true;
	return false;
}

/* What n is, for "got ...": "a mapping", "'50x'", "the string \"50\"". */
static const char *describe(const struct conf_node *n, char *buf, size_t size)
{
	char text[NUMBER_MAX_TEXT + 4];
	size_t k = 0;
	if (n->kind == CONF_MAP)
		return "a mapping";
	if (n->kind != CONF_SCALAR)
		return n->kind == CONF_SEQ ? "a sequence" : "an alias";
	if (conf_is_null(n))
		return "nothing (null)";
	for (size_t i = 0; i < n->len && k < NUMBER_MAX_TEXT; i++)
		text[k++] = (unsigned char)n->text[i] < 0x20 || n->text[i] == 0x7f ? '?' : n->text[i];
	strcpy(text + k, n->len > k ? "..." : "");
	snprintf(buf, size, n->quoted ? "the string \"%s\"" : "'%s'", text);
	return buf;
}

int conf_expected(struct conf_walk *w, const struct conf_node *n, const char *what)
{
	char buf[NUMBER_MAX_TEXT + 24];
	return conf_fail(w, n, DNNQ_E_INVAL, "expected %s, got %s", what, describe(n, buf, sizeof buf));
}

static int out_of_range(struct conf_walk *w, const struct conf_node *n, uint64_t lo,
                        uint64_t hi)
{
	char buf[NUMBER_MAX_TEXT + 24];
	return conf_fail(w, n, DNNQ_E_RANGE, "%s is out of range (%llu..%llu)",
	                 describe(n, buf, sizeof buf), (unsigned long long)lo,
	                 (unsigned long long)hi);
}

/* 0 when n is a scalar with text (plain, or quoted too when quoted_ok),
 * else the "expected WHAT" error. */
static int scalar_text(struct conf_walk *w, const struct conf_node *n, bool quoted_ok,
                       const char *what)
{
	if (n->kind != CONF_SCALAR || conf_is_null(n) || (n->quoted && !quoted_ok))
		return conf_expected(w, n, what);
	if (strlen(n->text) != n->len)
		return conf_fail(w, n, DNNQ_E_INVAL, "a string with a NUL byte");
	return 0;
}

/* Plain digits with a leading zero, which YAML 1.1 reads as octal (a
 * size's 010000000 is 2 MiB to PyYAML, 10 MB to a decimal reader): the
 * same file would mean two things, so it is refused. */
static bool leading_zero(const struct conf_node *n)
{
	return !n->quoted && n->len > 1 && n->text[0] == '0' && strspn(n->text, "0123456789") == n->len;
}

static int leading_zero_refused(struct conf_walk *w, const struct conf_node *n)
{
	return conf_fail(w, n, DNNQ_E_INVAL, "'%s': a leading zero is ambiguous in YAML (octal?);"
	                 " write the number without it", n->text);
}

int conf_uint(struct conf_walk *w, const struct conf_node *n, uint64_t lo, uint64_t hi,
              uint64_t *out)
{
	const char *what = "an unsigned decimal integer";
	int rc = scalar_text(w, n, false, what);
	if (rc)
		return rc;
	rc = dnnq_digits_form.read(n->text, n->len, out);
	if (rc == DNNQ_E_INVAL)
		return conf_expected(w, n, what);
	if (leading_zero(n))
		return leading_zero_refused(w, n);
	if (rc || *out < lo || *out > hi)
		return out_of_range(w, n, lo, hi);
	return 0;
}

int conf_string(struct conf_walk *w, const struct conf_node *n, const char **s)
{
	int rc = scalar_text(w, n, true, "a string");
	if (!rc)
		*s = n->text;
	return rc;
}

int conf_bool(struct conf_walk *w, const struct conf_node *n, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE" }, *const no[] = { "false", "False", "FALSE" };
	int rc = scalar_text(w, n, false, "true or false");
	for (size_t i = 0; !rc && i < sizeof yes / sizeof yes[0]; i++) {
		if (!strcmp(n->text, yes[i]) || !strcmp(n->text, no[i])) {
			*out = n->text[0] == 't' || n->text[0] == 'T';
			return 0;
		}
	}
	return rc ? rc : conf_expected(w, n, "true or false");
}

void dnnq_config_size_text(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "TiB", "GiB", "MiB", "KiB" };
	for (unsigned i = 0; i < 4; i++) {
		uint64_t unit = (uint64_t)1 << (10 * (4 - i));
		if (bytes && bytes % unit == 0) {
			snprintf(buf, len, "%llu %s", (unsigned long long)(bytes / unit), units[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
}

/* The multiplier of a size suffix ("", "B", "KiB" .. "TiB"); 0 if none. */
static uint64_t suffix_unit(const char *s)
{
	static const char *const suffixes[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	if (!*s)
		return 1;
	for (unsigned i = 0; i < 5; i++)
		if (!strcmp(s, suffixes[i]))
			return (uint64_t)1 << (10 * i);
	return 0;
}

int dnnq_config_size(const char *s, uint64_t *out)
{
	size_t nd = strspn(s, "0123456789");
	/* one space only before a unit ("1 GiB"; "1 " is no size) */
	uint64_t unit = s[nd] == ' ' && !s[nd + 1] ? 0 : suffix_unit(s + nd + (s[nd] == ' '));
	int rc = unit ? dnnq_digits_form.read(s, nd, out) : DNNQ_E_INVAL;
	return rc ? rc : __builtin_mul_overflow(*out, unit, out) ? DNNQ_E_RANGE : 0;
}

int conf_size(struct conf_walk *w, const struct conf_node *n, uint64_t lo, uint64_t hi,
              uint64_t *out)
{
	const char *what = "a size (bytes, or a number with B, KiB, MiB, GiB or TiB)";
	char los[32], his[32], buf[NUMBER_MAX_TEXT + 24];
	int rc = scalar_text(w, n, true, what);
	if (rc)
		return rc;
	rc = dnnq_config_size(n->text, out);
	if (rc == DNNQ_E_INVAL)
		return conf_expected(w, n, what);
	if (leading_zero(n))
		return leading_zero_refused(w, n);
	if (rc || *out < lo || *out > hi) {
		dnnq_config_size_text(lo, los, sizeof los);
		dnnq_config_size_text(hi, his, sizeof his);
		return conf_fail(w, n, DNNQ_E_RANGE, "%s is out of range (%s..%s)",
		                 describe(n, buf, sizeof buf), los, his);
	}
	return 0;
}

int conf_mode(struct conf_walk *w, const struct conf_node *n, uint32_t *out)
{
	const char *what = "an octal file mode like 0660";
	int rc = scalar_text(w, n, true, what);
	if (rc)
		return rc;
	const char *s = n->text + (!strncmp(n->text, "0o", 2) ? 2 : 0);
	size_t len = n->len - (size_t)(s - n->text);
	if (!len || strspn(s, "01234567") != len)
		return conf_expected(w, n, what);
	s += strspn(s, "0");      /* at most 3 significant digits: no overflow */
	if (strlen(s) > 3 || (*out = (uint32_t)strtoul(s, NULL, 8)) > 0777)
		return conf_fail(w, n, DNNQ_E_RANGE, "'%s' is out of range (0..0777)", n->text);
	return 0;
}

/* CPU c into the workers' list, or why it cannot be. */
static int add_cpu(struct conf_walk *w, const struct conf_node *n, uint64_t c,
                   struct dnnq_config_workers *wk)
{
	cpu_set_t *seen = &w->cpus_seen;
	if (c >= CPU_SETSIZE || !CPU_ISSET(c, &w->allowed)) {
		char on[96];
		dnnq_config_format_cpus(&w->allowed, on, sizeof on);
		return conf_fail(w, n, DNNQ_E_NOTFOUND, "CPU %llu is not available (this process"
		                 " may run on %s)", (unsigned long long)c, on);
	}
	if (CPU_ISSET(c, seen))
		return conf_fail(w, n, DNNQ_E_INVAL, "CPU %llu is listed twice", (unsigned long long)c);
	CPU_SET(c, seen);
	wk->cpus[wk->ncpus++] = (int)c;
	return 0;
}

/* One entry of "0,2-3": "N" or "A-B", spaces around it allowed. */
static int cpu_range(struct conf_walk *w, const struct conf_node *n, const char *s, size_t len,
                     struct dnnq_config_workers *wk)
{
	uint64_t lo, hi;
	while (len && s[0] == ' ')
		s++, len--;
	while (len && s[len - 1] == ' ')
		len--;
	const char *dash = memchr(s, '-', len);
	size_t nlo = dash ? (size_t)(dash - s) : len;
	if (dnnq_digits_form.read(s, nlo, &lo) ||
	    dnnq_digits_form.read(dash ? dash + 1 : s, dash ? len - nlo - 1 : len, &hi))
		return conf_fail(w, n, DNNQ_E_INVAL, "'%.*s' is not a CPU number or range (like 0,2-3)",
		                 (int)(len < NUMBER_MAX_TEXT ? len : NUMBER_MAX_TEXT), s);
	if (lo > hi)
		return conf_fail(w, n, DNNQ_E_INVAL, "'%.*s': the range runs backwards", (int)len, s);
	/* every CPU past the allowed ones fails: the loop stays short */
	for (uint64_t c = lo; c <= hi; c++) {
		int rc = add_cpu(w, n, c, wk);
		if (rc)
			return rc;
	}
	return 0;
}

static int cpu_item(struct conf_walk *w, const struct conf_node *n, void *wk)
{
	uint64_t c;
	int rc = conf_uint(w, n, 0, CPU_SETSIZE - 1, &c);
	return rc ? rc : add_cpu(w, n, c, wk);
}

int conf_cpus(struct conf_walk *w, const struct conf_node *n, struct dnnq_config_workers *wk)
{
	const char *s;
	int rc;
	CPU_ZERO(&w->cpus_seen);
	wk->ncpus = 0;
	if (n->kind == CONF_SEQ) {
		rc = conf_each(w, n, cpu_item, wk);
	} else if (n->kind != CONF_SCALAR) {
		rc = conf_expected(w, n, "a CPU list ([0, 2] or \"0,2-3\")");
	} else if (leading_zero(n)) {   /* cpus: 010, CPU 8 to YAML 1.1 */
		rc = leading_zero_refused(w, n);
	} else if (!(rc = conf_string(w, n, &s))) {
		for (const char *p = s;; p++) {
			size_t len = strcspn(p, ",");
			if ((rc = cpu_range(w, n, p, len, wk)) || !p[len])
				break;
			p += len;
		}
	}
	if (!rc && !wk->ncpus)
		rc = conf_fail(w, n, DNNQ_E_INVAL, "no CPUs listed");
	return rc;
}
