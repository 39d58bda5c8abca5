/*
 * Fuzzes the .dnnq reader (engine/model.h): dnnq_model_read on the bytes,
 * and for a file it accepts, dnnq_model_build, which must refuse what the
 * reader let through but the graph cannot run, never crash on it.
 *
 * A mutated section almost never keeps its crc32c, so the sections' parsers
 * would only ever see the seeds: each input is read once as it is (the
 * header and table checks), then, when that changes anything, once more
 * with the header's file size and every in-bounds table entry's checksum
 * set to what the bytes are.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/crc32c.h"
#include "engine/le.h"
#include "engine/model.h"

#define HEADER_SIZE 24u      /* engine/model.c */
#define ENTRY_SIZE 28u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_build(const uint8_t *p, size_t len, enum dnnq_isa isa)
{
	struct dnnq_model m;
	struct dnnq_graph *g;
	struct dnnq_diag diag = { "" };
	if (dnnq_model_read(p, len, &m, &diag))
		return;
	if (dnnq_model_build(&m, isa, &g, &diag) == 0)
		dnnq_graph_destroy(g);
	dnnq_model_free(&m);
}

/* The header's size and the checksums made right; false: nothing to fix. */
static bool fix_up(uint8_t *p, size_t len)
{
	if (len < HEADER_SIZE || memcmp(p, DNNQ_MODEL_MAGIC, 8))
		return false;
	dnnq_put_le64(p + 16, len);
	uint32_t n = dnnq_le32(p + 12);
	for (uint32_t i = 0; i < n && i < DNNQ_MODEL_MAX_SECTIONS; i++) {
		uint8_t *e = p + HEADER_SIZE + (size_t)i * ENTRY_SIZE;
		if ((size_t)(e - p) + ENTRY_SIZE > len)
			break;
		uint64_t off = dnnq_le64(e + 8), sz = dnnq_le64(e + 16);
		if (off <= len && sz <= len - off)
			dnnq_put_le32(e + 24, dnnq_crc32c(p + off, (size_t)sz));
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static enum dnnq_isa isa;
	static int have_isa;
	if (!have_isa) {
		isa = dnnq_isa_best();
		have_isa = 1;
	}
	read_build(data, size, isa);
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (fix_up(copy, size) && memcmp(copy, data, size))
		read_build(copy, size, isa);
	free(copy);
	return 0;
}
