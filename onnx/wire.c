/*
 * onnx/wire.c — what protobuf-c would make of a message, found before it
 * is asked to.
 *
 * protobuf-c unpacks recursively and has no depth limit: an ONNX file of
 * graphs nested in If attributes 10,000 deep (217 KB) overflowed
 * dnnq-convert's stack. It also allocates every message and repeated
 * element its struct takes in memory: a file of empty NodeProtos (2 bytes
 * each on the wire, ~100 bytes unpacked) or small varints in a packed
 * int64_data (1 byte to 8) asks for many times its size. This walk reads
 * the wire format once, with the schema's descriptors, and refuses nesting
 * past protobuf's own default limit (100, what onnx and ONNX Runtime
 * accept) and an unpacked size past 8 times the bytes plus 256 MiB (packed
 * small varints, the densest honest data, fit). It recurses only into
 * message fields and at most WIRE_MAX_DEPTH deep. Anything malformed here
 * protobuf-c would refuse too: it is reported as not parsing.
 *
 * protobuf-c also hands a string field on as a C string: one holding a NUL
 * byte reads as the part before it, and the importer would take another
 * model than the file is (an op_type "Relu\0Sigmoid" imported as Relu,
 * where onnx and ONNX Runtime know no such op; a node input "lo\0x" wired
 * to the value "lo"; two outputs "t\0a" and "t\0b" refused as one name
 * defined twice). So a string field with a NUL byte is refused here,
 * naming the field and the byte's offset in the file; only doc_string, free
 * text the importer never reads, may hold one.
 */
#include <stdint.h>
#include <string.h>

#include "onnx/import-int.h"

#define WIRE_MAX_DEPTH 100
#define WIRE_SLACK ((uint64_t)256 << 20)

struct wire {
	uint64_t cost;          /* bytes protobuf-c would allocate, about */
	bool deep;              /* nested past WIRE_MAX_DEPTH */
	const ProtobufCMessageDescriptor *nul_in;       /* a string with a NUL: its */
	const ProtobufCFieldDescriptor *nul_field;      /* message and field, */
	const uint8_t *nul_str;                         /* the string, */
	size_t nul_at;                                  /* the NUL's offset in it */
};

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= shift < 64 ? (uint64_t)(b & 0x7f) << shift : 0;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* The bytes one element of a field takes in the unpacked struct. */
static uint64_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
		return 8;
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

/* The elements a packed run of n bytes holds. */
static uint64_t packed_count(ProtobufCType t, const uint8_t *p, uint64_t n)
{
	switch (t) {
	case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
		return n / 4;
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return n / 8;
	default: {
		uint64_t count = 0;
		for (uint64_t i = 0; i < n; i++)
			count += !(p[i] & 0x80);
		return count;
	}
	}
}

/* One field's payload of n bytes at p (wire type 2): its cost, and the
 * walk into it if it is a message. */
static bool delimited(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f,
                      const uint8_t *p, uint64_t n, unsigned depth, struct wire *w);

static bool walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end,
                 unsigned depth, struct wire *w)
{
	if (depth > WIRE_MAX_DEPTH) {
		w->deep = true;
		return false;
	}
	w->cost += d->sizeof_message;
	while (p < end) {
		uint64_t tag, n;
		if (!varint(&p, end, &tag) || tag >> 32 || !(tag >> 3))
			return false;
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
		bool repeated = f && f->label == PROTOBUF_C_LABEL_REPEATED;
		switch (tag & 7) {
		case 0:
			if (!varint(&p, end, &n))
				return false;
			break;
		case 1: case 5:
			n = (tag & 7) == 1 ? 8 : 4;
			if ((uint64_t)(end - p) < n)
				return false;
			p += n;
			break;
		case 2:
			if (!varint(&p, end, &n) || n > (uint64_t)(end - p))
				return false;
			if (!delimited(d, f, p, n, depth, w))
				return false;
			p += n;
			/* a packed run's elements, or a repeated string's, message's */
			repeated = false;
			break;
		default:        /* groups: protobuf-c does not read them either */
			return false;
		}
		w->cost += repeated ? elem_size(f->type) : f ? 0 : sizeof(ProtobufCMessageUnknownField) + 8;
	}
	return true;
}

static bool delimited(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f,
                      const uint8_t *p, uint64_t n, unsigned depth, struct wire *w)
{
	const uint8_t *nul;
	if (!f) {       /* an unknown field: protobuf-c keeps a copy */
		w->cost += sizeof(ProtobufCMessageUnknownField) + n;
		return true;
	}
	bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
		w->cost += repeated ? 8 : 0;
		return walk(f->descriptor, p, p + n, depth + 1, w);
	case PROTOBUF_C_TYPE_STRING:
		if (strcmp(f->name, "doc_string") && (nul = memchr(p, 0, n))) {
			w->nul_in = d;
			w->nul_field = f;
			w->nul_str = p;
			w->nul_at = (size_t)(nul - p);
			return false;
		}
		/* fall through */
	case PROTOBUF_C_TYPE_BYTES:
		w->cost += n + 1 + (repeated ? elem_size(f->type) : 0);
		return true;
	default:        /* packed scalars */
		w->cost += packed_count(f->type, p, n) * elem_size(f->type);
		return true;
	}
}

int imp_wire_check(const ProtobufCMessageDescriptor *d, const void *bytes, size_t len,
                   struct dnnq_diag *diag)
{
	const uint8_t *p = bytes;
	struct wire w = { 0 };
	if (len && !walk(d, p, p + len, 1, &w))        /* no bytes: maybe no pointer */
		return w.nul_in ? dnnq_diag_set(diag, DNNQ_E_FORMAT, "%s.%s '%.*s' (at byte %zu of "
		                                "the file) goes on past a NUL byte: read as text, "
		                                "it would name something else",
		                                w.nul_in->short_name, w.nul_field->name,
		                                (int)(w.nul_at < 64 ? w.nul_at : 64),
		                                (const char *)w.nul_str,
		                                (size_t)(w.nul_str - p))
		     : w.deep ? dnnq_diag_set(diag, DNNQ_E_FORMAT, "the protobuf nests messages "
		                              "more than %d deep (subgraphs in attributes?), "
		                              "protobuf's own limit", WIRE_MAX_DEPTH)
		              : dnnq_diag_set(diag, DNNQ_E_FORMAT, "the protobuf does not parse "
		                              "(%zu bytes)", len);
	if (w.cost > 8 * (uint64_t)len + WIRE_SLACK)
		return dnnq_diag_set(diag, DNNQ_E_FORMAT, "the protobuf of %zu bytes would take "
		                     "%llu bytes unpacked, more than 8 times its size and 256 MiB "
		                     "(repeated fields of empty or tiny elements?)", len,
		                     (unsigned long long)w.cost);
	return 0;
}
