/*
 * engine/base.h — what every engine file needs: status codes, diagnostics,
 * aligned memory, instruction-set dispatch.
 *
 * Diagnostics: functions that judge outside input take an optional
 * `struct dnnq_diag *`; on failure they write one line naming the field and
 * the rule it broke, so a tool can print "model.dnnq: tensors[3].dims[1] ..."
 * without the engine doing any I/O of its own.
 *
 * Dispatch: the engine keeps no global state and reads no environment. A
 * caller asks dnnq_isa_best() once (or takes an ISA from its user: tools
 * have --isa) and passes it to an operator's create, which looks up that
 * ISA's kernel table (engine/kernels.h). Every ISA has a portable scalar
 * table, the reference, and SIMD tables whose kernels must produce
 * bit-identical results.
 */
#ifndef DNNQ_ENGINE_BASE_H
#define DNNQ_ENGINE_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "shm/dnnq_error.h"

#define DNNQ_ALIGN 64u

/* n rounded up to a multiple of DNNQ_ALIGN (0 stays 0); SIZE_MAX on overflow. */
static inline size_t dnnq_aligned_size(size_t n)
{
	if (n > SIZE_MAX - (DNNQ_ALIGN - 1))
		return SIZE_MAX;
	return (n + DNNQ_ALIGN - 1) & ~(size_t)(DNNQ_ALIGN - 1);
}

static inline bool dnnq_is_aligned(const void *p)
{
	return ((uintptr_t)p & (DNNQ_ALIGN - 1)) == 0;
}

/* Half of this host's physical memory in bytes (UINT64_MAX when sysconf
 * cannot tell): the most one model's activations may take, in dnnqd's
 * load (daemon/models.c) and in the reference runs of dnnq-convert
 * (onnx/ref.c). */
uint64_t dnnq_memory_bound(void);

/* The operations one node may take for one item (a multiply-add of a
 * product, a tap of a pool): a file of a few bytes may ask for days of
 * work (a 2047 x 2047 MaxPool over 4096 x 4096, 2^46 taps), which no run
 * may stop inside a node. dnnqd refuses such a model at load; the
 * reference executor before it runs. */
#define DNNQ_MAX_NODE_WORK ((uint64_t)1 << 36)
/* ... and a whole model (64 such nodes, each under the bound, 2^42). */
#define DNNQ_MAX_MODEL_WORK ((uint64_t)1 << 40)
/* What the refusal past DNNQ_MAX_MODEL_WORK adds: the bound is no setting,
 * and the way under it (a Qwen2-0.5B prefill passes it at ~1800 tokens:
 * docs/config.md, "What a model may cost"). */
#define DNNQ_MAX_MODEL_WORK_HINT "a fixed bound: convert the model for smaller inputs (a" \
	" shorter sequence: dnnq-convert --input-shape)"

/* A transparent huge page (x86-64). */
#define DNNQ_HUGE_PAGE ((size_t)2 << 20)

/* DNNQ_ALIGN-aligned allocation of dnnq_aligned_size(n) bytes (n > 0);
 * from DNNQ_HUGE_PAGE up, at a huge page's boundary, its whole huge pages
 * advised as such. NULL on failure. Free with free(). */
void *dnnq_aligned_alloc(size_t n);

/* lv = v, stored only when it changes. A graph binds every node again on
 * each run, and a store of the value a field already held still takes
 * its cache line from the other threads, which then miss on it in the
 * node's tasks: on two threads a line's trip between the cores is
 * ~0.45 us (docs/graph.md). */
#define DNNQ_KEEP(lv, v)                                  \
	do {                                              \
		__typeof__(lv) dnnq_keep_v_ = (v);        \
		if ((lv) != dnnq_keep_v_)                 \
			(lv) = dnnq_keep_v_;              \
	} while (0)

/* *dst = *src (n bytes), stored only when they differ (DNNQ_KEEP). */
static inline void dnnq_keep_bytes(void *dst, const void *src, size_t n)
{
	if (memcmp(dst, src, n))
		memcpy(dst, src, n);
}

/* a * b into *out; false on size_t overflow. */
static inline bool dnnq_mul_size(size_t a, size_t b, size_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* Element types. PACKED stores `precision` (1-7) bits an element, packed
 * little-endian into a bit stream (two's complement when signed). */
enum dnnq_dtype {
	DNNQ_DTYPE_INVALID = 0,
	DNNQ_DTYPE_U8      = 1,
	DNNQ_DTYPE_S8      = 2,
	DNNQ_DTYPE_S32     = 3,
	DNNQ_DTYPE_F32     = 4,
	DNNQ_DTYPE_PACKED  = 5,
};
#define DNNQ_DTYPE_COUNT 6

const char *dnnq_dtype_name(enum dnnq_dtype dt);

/* Each value names one kernel table (engine/kernels.h); a later one runs
 * only where the CPU has everything the earlier ones need. */
enum dnnq_isa {
	DNNQ_ISA_SCALAR     = 0,
	DNNQ_ISA_AVX2       = 1, /* AVX2 + FMA */
	DNNQ_ISA_AVX512VNNI = 2, /* AVX2 + FMA + AVX-512 F, BW, VL, VNNI */
};
#define DNNQ_ISA_COUNT 3

/* The best ISA this CPU runs (cpuid). */
enum dnnq_isa dnnq_isa_best(void);
/* Whether this CPU can run `isa` (false for a value that names no ISA). */
bool dnnq_isa_supported(enum dnnq_isa isa);
/* "scalar", "avx2", "avx512vnni" ("unknown" for anything else). */
const char *dnnq_isa_name(enum dnnq_isa isa);
/* The ISA named s (as dnnq_isa_name spells it) into *out: for the tools'
 * --isa. DNNQ_E_INVAL when s names none, DNNQ_E_UNSUPPORTED when this CPU
 * lacks it. */
int dnnq_isa_parse(const char *s, enum dnnq_isa *out);

/* s as a JSON string literal (quotes, escapes) on f: for the tools' --json
 * output. JSON is UTF-8: a byte of no UTF-8 character (dnnq_utf8_char: a
 * model file's name of other bytes, a message cut inside a character;
 * C1 and bidi controls and U+2028 too) is written as the text \xNN (in JSON
 * "\\xNN"), as dnnq_escape writes it to a terminal. */
void dnnq_json_string(FILE *f, const char *s);
/* x with `decimals` digits, or null when it is not finite (JSON has no
 * infinity: an exact reconstruction's SQNR prints null). */
void dnnq_json_number(FILE *f, double x, int decimals);
/* --json on failure (engine/json.c). A tool calls dnnq_json_failures()
 * when it reads --json: from then on stderr (its own stream, still written
 * to fd 2) keeps what it is sent (4 KiB at most). dnnq_json_exit(exit_code,
 * status) returns exit_code; when failures are kept and exit_code is not
 * 0 it first prints {"ok":false,"error":{"code":C,"message":M}} on stdout:
 * C dnnq_status_name(status) for a status < 0, else DNNQ_E_INVAL on a usage
 * error (exit 2) and DNNQ_E_IO otherwise; M that text, without its last
 * newline. */
void dnnq_json_failures(void);
/* dnnq_json_failures() when --json is anywhere on the command line (before
 * a "--"): a script that asked for JSON gets the failure object for a bad
 * command line too, whatever the order of its words. */
void dnnq_json_failures_if_asked(int argc, char *const *argv);
int dnnq_json_exit(int exit_code, int status);
/* A tool's output that could not be written (a full disk, a closed fd)
 * is a failure: at exit, when stdout's last flush or an earlier write
 * failed, "TOOL: writing standard output: REASON" and exit status 1,
 * rather than 0 for a JSON object or a table cut short. */
void dnnq_stdout_checked(const char *tool);
/* For a mistyped name (an option, a command, a config key): the name of
 * the table nearest to word[0, len), when it is one typo away (a letter
 * missing, extra, wrong or two swapped; two such for names of 6 letters or
 * more) or, failing that, the one name that word (4 letters or more) begins,
 * else NULL (and NULL for an exact match: nothing to suggest). The
 * names are at `names`, `stride` bytes apart, as the first member of a
 * struct option or a key table's rows; NULL names are skipped. */
const char *dnnq_nearest(const char *word, size_t len, const char *const *names, size_t n,
                         size_t stride);
/* After getopt_long (opterr = 0) returned '?' or ':' for argv: what was
 * wrong, in words, into buf ("unrecognized option '--calb': did you mean
 * '--calib'?", "option '--calib' needs a value"), for the tool to print
 * with its name and its pointer to --help. */
struct option;
void dnnq_getopt_error(char *const *argv, const char *shortopts, const struct option *opts,
                       char *buf, size_t len);
/* "TOOL: MESSAGE TAIL" on stderr, MESSAGE escaped (dnnq_escape), as a
 * diag is: it may quote what the caller typed (a path, an option, a
 * command), and an escape sequence there would drive the terminal. TOOL
 * NULL: "MESSAGE TAIL" (dnnq-bench's messages name their part). */
void dnnq_tool_vline(const char *tool, const char *tail, const char *fmt, va_list ap);
/* s escaped (dnnq_escape) on f, whatever its length: a path the caller
 * typed in a tool's output. */
void dnnq_fputs_escaped(const char *s, FILE *f);
/* dnnq_tool_vline with no tail: a tool's error line. */
void dnnq_tool_line(const char *tool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dnnq_tool_vline with " (try --help)": a usage error; 2, its exit status. */
int dnnq_usage_error(const char *tool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* getopt_long (no longindex) taking options anywhere on the line, as GNU's
 * does unless POSIXLY_CORRECT is set (under it, `dnnqctl models vad
 * --json` took '--json' for a model's name and `dnnq-convert m.onnx -o
 * m.dnnq` refused a second input): once it returns -1 the operands are
 * argv[optind..argc), in their order ("--" ends the options, as
 * usual), argv permuted as GNU's would be. *moved, 0 before the first
 * call, counts the operands moved so far; shortopts without a leading
 * '+' or '-', of any length (each call copies it behind a '-'). */
int dnnq_getopt_long(int argc, char **argv, const char *shortopts, const struct option *opts,
                     int *moved);
/* How a number of a command line is written: read takes [s, s + len)
 * into *v (0; DNNQ_E_RANGE past 2^64; DNNQ_E_INVAL for other text) and
 * written says, in words, what it takes ("digits only"). */
struct dnnq_number_form {
	int (*read)(const char *s, size_t len, uint64_t *v);
	const char *written;
	/* a range's bound in a message ("1 MiB"), or NULL: digits */
	void (*show)(uint64_t v, char *buf, size_t len);
};
/* Decimal digits, nothing else (no sign, space, 0x or trailing text). */
extern const struct dnnq_number_form dnnq_digits_form;
/* The number [s, s + len) in form f: 0 with *v; DNNQ_E_RANGE for one out
 * of any range (past 2^64, or negative: '-' before one that is not 0);
 * DNNQ_E_INVAL for text not written as one ("-0", "+5", "0x10", "5 "). */
int dnnq_read_number(const char *s, size_t len, const struct dnnq_number_form *f, uint64_t *v);
/* Option opt's number [s, s + len) in form f within lo..hi into *v, else
 * DNNQ_E_INVAL with the one wording every tool and dnnqd give in diag:
 * "--threads: '0': must be 1..256", and ", digits only" (f->written)
 * after text that is no number. */
int dnnq_opt_number(struct dnnq_diag *diag, const char *opt, const char *s, size_t len,
                    const struct dnnq_number_form *f, uint64_t lo, uint64_t hi, uint64_t *v);
/* dnnq_opt_number of a whole option value in decimal digits. */
int dnnq_opt_digits(struct dnnq_diag *diag, const char *opt, const char *s, uint64_t lo,
                    uint64_t hi, uint64_t *v);
/* v in buf as a person writes it, for a message that compares it with a
 * bound: an integer in digits (%g gave 1e7 as "1e+07" and 2^31 + 1 as
 * "2.14748e+09"), else the fewest significant digits that read back as v
 * (%g gave 65535.996 as "65536"); buf returned. */
#define DNNQ_REAL_STR 32
const char *dnnq_real_str(char buf[DNNQ_REAL_STR], double v);
/* The same for a decimal number, fractions and exponents allowed (no 0x,
 * inf, nan, space, trailing text, nor a sign the digits refuse: '+5',
 * '-0'), in [lo, hi], or in (lo, hi] with
 * above_lo: "--percentile: '101': must be 50..100", "--duration: '0':
 * must be above 0, at most 600", ", a decimal number" after text that is
 * none. */
int dnnq_opt_real(struct dnnq_diag *diag, const char *opt, const char *s, double lo, double hi,
                  bool above_lo, double *v);
/* A tool's option: dnnq_opt_digits or dnnq_opt_real, its refusal on stderr
 * as a usage error ("dnnq-run: --threads: '0': must be 1..256 (try
 * --help)"), and 2, the tools' exit status for one. */
int dnnq_usage_digits(const char *tool, const char *opt, const char *s, uint64_t lo,
                      uint64_t hi, uint64_t *v);
int dnnq_usage_real(const char *tool, const char *opt, const char *s, double lo, double hi,
                    bool above_lo, double *v);
/* stdout holds one JSON object at most: dnnq_json_exit prints nothing
 * after its own object, nor after the tool's when the tool said so with
 * dnnq_json_answered() (dnnqctl bench's results with failed requests in
 * them: the exit status and stderr still tell the failure). */
void dnnq_json_answered(void);

#endif
