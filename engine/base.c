/* Diagnostics, aligned allocation and CPU feature detection (engine/base.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base.h"

void *dnnq_aligned_alloc(size_t n)
{
	size_t sz = dnnq_aligned_size(n);
	if (n == 0 || sz == SIZE_MAX)
		return NULL;
	return aligned_alloc(DNNQ_ALIGN, sz);
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
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
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
