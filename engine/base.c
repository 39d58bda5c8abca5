/* Diagnostics, aligned allocation and CPU feature detection (engine/base.h). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/base.h"

uint64_t dnnq_memory_bound(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size / 2 : UINT64_MAX;
}

void *dnnq_aligned_alloc(size_t n)
{
	size_t sz = dnnq_aligned_size(n);
	if (n == 0 || sz == SIZE_MAX)
		return NULL;
	if (sz < DNNQ_HUGE_PAGE)
		return aligned_alloc(DNNQ_ALIGN, sz);
	/* At least a huge page (weights streamed from memory each run:
	 * ResNet's 7x7x512 Winograd blobs, 2.3 MB): at a huge page's
	 * boundary, its whole huge pages advised as such (THP "madvise"),
	 * so that streaming them takes a TLB entry and a page walk a 2 MiB,
	 * not a 4 KiB (docs/gemm.md, "F(4, 3) on the fly at its bounds; huge pages"). The tail stays 4 KiB
	 * (advised so: with THP "always" the allocator's slack past it
	 * would let a huge page cover it), so no more bytes are resident.
	 * Advice only: where THP is off or absent madvise fails and nothing
	 * else changes. */
	void *p;   /* (aligned_alloc wants sz a multiple of the alignment) */
	if (posix_memalign(&p, DNNQ_HUGE_PAGE, sz))
		return NULL;
	size_t whole = sz & ~(DNNQ_HUGE_PAGE - 1);
	(void)madvise(p, whole, MADV_HUGEPAGE);
	if (whole < sz)
		(void)madvise((char *)p + whole, sz - whole, MADV_NOHUGEPAGE);
	return p;
}

bool dnnq_isa_supported(enum dnnq_isa isa)
{
	__builtin_cpu_init();
	switch (isa) {
	case DNNQ_ISA_SCALAR:
		return true;
	case DNNQ_ISA_AVX2:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	case DNNQ_ISA_AVX512VNNI:
		return dnnq_isa_supported(DNNQ_ISA_AVX2) && __builtin_cpu_supports("avx512f") &&
		       __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
		       __builtin_cpu_supports("avx512vnni");
	}
	return false;
}

enum dnnq_isa dnnq_isa_best(void)
{
	for (int isa = DNNQ_ISA_COUNT - 1; isa > DNNQ_ISA_SCALAR; isa--)
		if (dnnq_isa_supported((enum dnnq_isa)isa))
			return (enum dnnq_isa)isa;
	return DNNQ_ISA_SCALAR;
}

const char *dnnq_isa_name(enum dnnq_isa isa)
{
	switch (isa) {
	case DNNQ_ISA_SCALAR:     return "scalar";
	case DNNQ_ISA_AVX2:       return "avx2";
	case DNNQ_ISA_AVX512VNNI: return "avx512vnni";
	}
	return "unknown";
}

int dnnq_isa_parse(const char *s, enum dnnq_isa *out)
{
	for (int isa = 0; isa < DNNQ_ISA_COUNT; isa++)
		if (s && !strcmp(s, dnnq_isa_name((enum dnnq_isa)isa))) {
			if (!dnnq_isa_supported((enum dnnq_isa)isa))
				return DNNQ_E_UNSUPPORTED;
			*out = (enum dnnq_isa)isa;
			return DNNQ_OK;
		}
	return DNNQ_E_INVAL;
}
const char *dnnq_dtype_name(enum dnnq_dtype dt)
{
	switch (dt) {
	case DNNQ_DTYPE_U8:     return "u8";
	case DNNQ_DTYPE_S8:     return "s8";
	case DNNQ_DTYPE_S32:    return "s32";
	case DNNQ_DTYPE_F32:    return "f32";
	case DNNQ_DTYPE_PACKED: return "packed";
	case DNNQ_DTYPE_INVALID: break;
	}
	return "invalid";
}

void dnnq_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (size_t k; *s; s += k) {
		unsigned char ch = (unsigned char)*s;
		k = ch < 0x80 ? 1 : dnnq_utf8_char(s);
		if (!k) {   /* no UTF-8 character's byte: the text \xNN, as dnnq_escape */
			fprintf(f, "\\\\x%02x", ch);
			k = 1;
		} else if (ch == '"' || ch == '\\') {
			fprintf(f, "\\%c", ch);
		} else if (ch < 0x20) {
			fprintf(f, "\\u%04x", ch);
		} else {
			fwrite(s, 1, k, f);
		}
	}
	fputc('"', f);
}

void dnnq_json_number(FILE *f, double x, int decimals)
{
	if (isfinite(x))
		fprintf(f, "%.*f", decimals, x);
	else
		fputs("null", f);
}

/* Optimal string alignment distance of a[0, la) and b, at most 3 (past it
 * the names are unrelated): a row of the table per letter of a. */
static unsigned osa_distance(const char *a, size_t la, const char *b)
{
	enum { MAXLEN = 64 };
	size_t lb = strlen(b);
	if (la >= MAXLEN || lb >= MAXLEN)
		return 3;
	unsigned d[MAXLEN][MAXLEN];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			unsigned sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			unsigned del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			unsigned m = sub < del ? sub : del;
			m = m < ins ? m : ins;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < m)
				m = d[i - 2][j - 2] + 1;
			d[i][j] = m;
		}
	return d[la][lb] < 3 ? d[la][lb] : 3;
}

const char *dnnq_nearest(const char *word, size_t len, const char *const *names, size_t n,
                         size_t stride)
{
	const char *best = NULL, *prefixed = NULL;
	unsigned best_d = 3, nprefixed = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = *(const char *const *)(const void *)((const char *)names +
		                                                        i * stride);
		if (!name)
			continue;
		unsigned d = osa_distance(word, len, name);
		if (d == 0)
			return NULL;
		if (d < best_d && d <= (strlen(name) >= 6 ? 2u : 1u) && d < len) {
			best = name;
			best_d = d;
		}
		if (len >= 4 && !strncmp(name, word, len) && !nprefixed++)
			prefixed = name;
	}
	/* else a name the word begins (max_queue_delay: max_queue_delay_us) */
	return best ? best : nprefixed == 1 ? prefixed : NULL;
}

int dnnq_getopt_long(int argc, char **argv, const char *shortopts, const struct option *opts,
                     int *moved)
{
	/* '-': getopt returns each operand in place (1), whatever
	 * POSIXLY_CORRECT says; it goes to the end of argv, and getopt goes on
	 * over the rest, argc less the operands moved */
	char in_order[strlen(shortopts) + 2];
	in_order[0] = '-';
	strcpy(in_order + 1, shortopts);
	for (;;) {
		int ch = getopt_long(argc - *moved, argv, in_order, opts, NULL);
		if (ch == 1) {
			int at = optind - 1;
			char *operand = argv[at];
			memmove(&argv[at], &argv[at + 1], (size_t)(argc - 1 - at) * sizeof *argv);
			argv[argc - 1] = operand;
			optind = at;
			++*moved;
			continue;
		}
		if (ch != -1)
			return ch;
		/* after "--": the operands before it come first, in order */
		for (int k = 0; k < *moved; k++) {
			char *last = argv[argc - 1];
			memmove(&argv[optind + 1], &argv[optind], (size_t)(argc - 1 - optind) * sizeof *argv);
			argv[optind] = last;
		}
		return -1;
	}
}

/* The option of opts named exactly name[0, len), or NULL. */
static const struct option *long_option(const struct option *opts, const char *name, size_t len)
{
	for (; opts->name; opts++)
		if (strlen(opts->name) == len && !strncmp(opts->name, name, len))
			return opts;
	return NULL;
}

static void getopt_why(char *const *argv, const char *shortopts, const struct option *opts,
                       char *buf, size_t len)
{
	/* getopt has stepped past a long one (optopt 0 when unknown, its val
	 * when its value is missing); a short one may sit in a group (-xq)
	 * after a long one */
	const char *arg = argv[optind - 1], *name = arg + 2;
	size_t nlen = strcspn(name, "=");
	const struct option *o = strncmp(arg, "--", 2) ? NULL : long_option(opts, name, nlen);
	if (optopt && (!o || o->val != optopt)) {
		const char *s = strchr(shortopts, optopt);
		snprintf(buf, len, s && s[1] == ':' ? "option '-%c' needs a value"
		                                      : "unrecognized option '-%c'", optopt);
		return;
	}
	if (o) {
		snprintf(buf, len, o->has_arg == no_argument ? "option '--%s' takes no value"
		                                             : "option '--%s' needs a value", o->name);
		return;
	}
	size_t n = 0;
	while (opts[n].name)
		n++;
	size_t k = (size_t)snprintf(buf, len, "option '--%.*s' is ambiguous:", (int)nlen, name);
	unsigned prefixed = 0;
	for (size_t i = 0; i < n && k < len; i++)
		if (nlen && !strncmp(opts[i].name, name, nlen))
			k += (size_t)snprintf(buf + k, len - k, "%s --%s", prefixed++ ? "," : "",
			                      opts[i].name);
	if (prefixed > 1)
		return;
	const char *near = dnnq_nearest(name, nlen, &opts[0].name, n, sizeof *opts);
	snprintf(buf, len, "unrecognized option '%s'%s%s%s", arg, near ? ": did you mean '--" : "",
	         near ? near : "", near ? "'?" : "");
}

/* The words escaped (dnnq_escape): they quote the option as typed. */
void dnnq_getopt_error(char *const *argv, const char *shortopts, const struct option *opts,
                       char *buf, size_t len)
{
	char raw[512];
	getopt_why(argv, shortopts, opts, raw, sizeof raw);
	dnnq_escape(buf, len, raw);
}

void dnnq_tool_vline(const char *tool, const char *tail, const char *fmt, va_list ap)
{
	char *shown = dnnq_escape_vasprintf(fmt, ap);
	fprintf(stderr, "%s%s%s%s\n", tool ? tool : "", tool ? ": " : "",
	        shown ? shown : "out of memory", tail);
	free(shown);
}

void dnnq_fputs_escaped(const char *s, FILE *f)
{
	size_t cap = 4 * strlen(s) + 1;       /* a byte escaped is 4 */
	char *shown = malloc(cap);
	if (shown)
		dnnq_escape(shown, cap, s);
	fputs(shown ? shown : "(out of memory)", f);
	free(shown);
}

void dnnq_tool_line(const char *tool, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dnnq_tool_vline(tool, "", fmt, ap);
	va_end(ap);
}

int dnnq_usage_error(const char *tool, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dnnq_tool_vline(tool, " (try --help)", fmt, ap);
	va_end(ap);
	return 2;
}

/* Decimal digits in [s, s + len) (dnnq_digits_form): 0 with *v,
 * DNNQ_E_RANGE past 2^64, DNNQ_E_INVAL for anything else (empty, a sign, a
 * space, 0x). */
static int read_digits(const char *s, size_t len, uint64_t *v)
{
	bool over = false;
	*v = 0;
	if (!len)
		return DNNQ_E_INVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return DNNQ_E_INVAL;
		over |= __builtin_mul_overflow(*v, 10, v) ||
		        __builtin_add_overflow(*v, (uint64_t)(s[i] - '0'), v);
	}
	return over ? DNNQ_E_RANGE : 0;
}

const struct dnnq_number_form dnnq_digits_form = { read_digits, "digits only", NULL };

int dnnq_read_number(const char *s, size_t len, const struct dnnq_number_form *f, uint64_t *v)
{
	if (!len || s[0] != '-')
		return f->read(s, len, v);
	int rc = f->read(s + 1, len - 1, v);
	return rc == DNNQ_E_RANGE || (!rc && *v) ? DNNQ_E_RANGE : DNNQ_E_INVAL;
}

int dnnq_opt_number(struct dnnq_diag *diag, const char *opt, const char *s, size_t len,
                    const struct dnnq_number_form *f, uint64_t lo, uint64_t hi, uint64_t *v)
{
	int rc = dnnq_read_number(s, len, f, v);
	if (!rc && *v >= lo && *v <= hi)
		return 0;
	char a[32], b[32];
	if (f->show) {
		f->show(lo, a, sizeof a);
		f->show(hi, b, sizeof b);
	} else {
		snprintf(a, sizeof a, "%llu", (unsigned long long)lo);
		snprintf(b, sizeof b, "%llu", (unsigned long long)hi);
	}
	return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: '%.*s': must be %s..%s%s%s", opt, (int)len,
	                     s, a, b, rc == DNNQ_E_INVAL ? ", " : "",
	                     rc == DNNQ_E_INVAL ? f->written : "");
}

int dnnq_opt_digits(struct dnnq_diag *diag, const char *opt, const char *s, uint64_t lo,
                    uint64_t hi, uint64_t *v)
{
	return dnnq_opt_number(diag, opt, s, strlen(s), &dnnq_digits_form, lo, hi, v);
}

const char *dnnq_real_str(char buf[DNNQ_REAL_STR], double v)
{
	if (fabs(v) < 1e17 && v == (double)(long long)v) {
		snprintf(buf, DNNQ_REAL_STR, "%lld", (long long)v);
		return buf;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, DNNQ_REAL_STR, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

int dnnq_opt_real(struct dnnq_diag *diag, const char *opt, const char *s, double lo, double hi,
                  bool above_lo, double *v)
{
	char *end;
	/* strtod takes more: hex, inf, nan, leading space, and a sign the
	 * digits do not (dnnq_read_number: '+5' and '-0' are no numbers, '-5'
	 * one out of range) */
	bool number = *s && *s != '+' && !s[strspn(s, "0123456789.eE+-")];
	*v = number ? strtod(s, &end) : 0;
	number = number && !*end && !(*s == '-' && *v == 0);
	if (number && (above_lo ? *v > lo : *v >= lo) && *v <= hi)
		return 0;
	char range[96], a[DNNQ_REAL_STR], b[DNNQ_REAL_STR];
	snprintf(range, sizeof range, above_lo ? "above %s, at most %s" : "%s..%s",
	         dnnq_real_str(a, lo), dnnq_real_str(b, hi));
	return dnnq_diag_set(diag, DNNQ_E_INVAL, "%s: '%s': must be %s%s", opt, s, range,
	                     number ? "" : ", a decimal number");
}

/* A refused option's d as a usage error of tool: 2 (or 0 for none). */
static int usage_refusal(const char *tool, int rc, const struct dnnq_diag *d)
{
	return rc ? dnnq_usage_error(tool, "%s", d->msg) : 0;
}

int dnnq_usage_digits(const char *tool, const char *opt, const char *s, uint64_t lo,
                      uint64_t hi, uint64_t *v)
{
	struct dnnq_diag d = { "" };
	return usage_refusal(tool, dnnq_opt_digits(&d, opt, s, lo, hi, v), &d);
}

int dnnq_usage_real(const char *tool, const char *opt, const char *s, double lo, double hi,
                    bool above_lo, double *v)
{
	struct dnnq_diag d = { "" };
	return usage_refusal(tool, dnnq_opt_real(&d, opt, s, lo, hi, above_lo, v), &d);
}
