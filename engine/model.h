/*
 * engine/model.h — the `.dnnq` model file: an in-memory model description,
 * its byte form (docs/model-format.md, "Model file") and the graph built
 * from it.
 *
 * Values: the graph's tensors are numbered as the builder numbers them:
 * input i is value i, constant c is value ninputs + c, node j produces
 * value ninputs + nconstants + j. Node inputs and outputs name values; a
 * node's weight and bias, and a constant, name entries of `tensors`
 * (QTensors: s8 or PACKED weights, f32 or s32 biases, u8 constants with
 * per-tensor qparams).
 *
 * dnnq_model_read checks every count, size, offset, id and string against
 * the bytes that are there before it allocates; a failure is one diag line
 * naming the section and the field.
 */
#ifndef DNNQ_ENGINE_MODEL_H
#define DNNQ_ENGINE_MODEL_H

#include "engine/graph.h"

#define DNNQ_MODEL_MAGIC "DNNQMODL"
#define DNNQ_MODEL_VERSION_MAJOR 1
#define DNNQ_MODEL_VERSION_MINOR 1
/* META's max batch, when present: 1..this */
#define DNNQ_MODEL_MAX_BATCH 65536
#define DNNQ_MODEL_NAME_MAX 64         /* strings: at most 63 bytes */
#define DNNQ_MODEL_MAX_SECTIONS 64
/* GRAPH's node count: 1..this. The graph's passes (names, table fusion,
 * the arena planner) are linear in the node count: a chain of 131,072
 * ReLUs loads into two graphs in about 3 s on the 2-core development VM
 * (the planner was quadratic once: 16,000 nodes took 1 s a graph, a
 * million hours). Each node costs each worker's graph about 1 KiB; the
 * largest real model converted here (ViT-B/16) has under 1,700 ONNX
 * nodes. */
#define DNNQ_MODEL_MAX_NODES 131072

enum dnnq_model_section {
	DNNQ_SECTION_META = 1,
	DNNQ_SECTION_SIGNATURE = 2,
	DNNQ_SECTION_TENSORS = 3,
	DNNQ_SECTION_GRAPH = 4,
	DNNQ_SECTION_STATS = 5,
};

struct dnnq_model_io {
	char name[DNNQ_MODEL_NAME_MAX];
	enum dnnq_dtype dtype;         /* U8 or F32 */
	uint32_t ndim;
	int64_t dims[DNNQ_MAX_DIMS];   /* dims[0]: the symbolic batch */
	struct dnnq_qparams qp;
	int32_t value;                 /* outputs: the value marked output */
};

struct dnnq_model_tensor {
	char name[DNNQ_MODEL_NAME_MAX];
	struct dnnq_qtensor t;
};

/* Attributes: a kind's description (engine/op.h) lists the fields it
 * uses; the file carries those, the others keep dnnq_model_node_init's
 * defaults. Ids are -1 when absent. */
struct dnnq_model_node {
	uint32_t kind;                 /* enum dnnq_node_kind, or an engine/ops/ code */
	char name[DNNQ_MODEL_NAME_MAX];
	uint32_t ninputs;
	int32_t inputs[DNNQ_GRAPH_MAX_NODE_INPUTS];
	int32_t weight, bias;                   /* tensor ids */
	uint32_t cin, cout, groups;             /* conv */
	uint32_t kernel[2], strides[2], dilations[2], pads[4];  /* t l b r */
	uint32_t n, k, dynamic;                 /* fc */
	uint32_t relu, clip;
	float clip_min, clip_max;
	uint32_t requant, out_dtype;
	float out_scale;                        /* out qparams */
	int32_t out_zero_point;
	uint32_t out_precision, out_signed;
	int32_t pool[10];                       /* pooling geometry, as struct dnnq_pooling_geom */
	uint32_t ceil_mode, count_include_pad;
	uint32_t op;                            /* eltwise op, activation / convert kind */
	float params[4];                        /* activation parameters */
	uint32_t axis;                          /* concat */
	uint32_t ndim;                          /* reshape */
	int64_t dims[DNNQ_MAX_DIMS];
	/* conv, fc: 16-bit accumulation (engine/gemm.h dnnq_gemm_pack_acc16):
	 * acc16 0 or 1; nbits 0 (default 7) or 2..8; spill 0 (default) or the
	 * interval in k steps. Written only when acc16 is set. */
	uint32_t acc16, acc16_nbits, acc16_spill;
	/* conv, fc: what dnnq-convert measured about 16-bit accumulation on its
	 * calibration samples, for dnnq-inspect (an optional attribute, written
	 * when acc16_measured is 1): acc16_saturation, the share of int16
	 * additions that saturated (engine/gemm.h dnnq_gemm_acc16_saturation),
	 * in [0, 1] or NaN (not measurable: f32 input); acc16_sqnr_db, the SQNR
	 * (dB) at the layer's output against the fp32 model with every layer
	 * acc32 and with this one alone acc16 (NaN unless --acc16=auto ran). */
	uint32_t acc16_measured;
	float acc16_saturation, acc16_sqnr_db[2];
	/* enum dnnq_precision: fp32 nodes take and give f32 values; their
	 * conv and fc weights and biases are f32 tensors */
	uint32_t precision;
	/* vision: slice, pad (engine/remap.h): per axis, the input index output
	 * index 0 reads and the step between neighbours */
	int64_t starts[DNNQ_MAX_DIMS], steps[DNNQ_MAX_DIMS];
};

struct dnnq_model_stat {
	int32_t value;
	float min, max;
};

struct dnnq_model {
	char name[DNNQ_MODEL_NAME_MAX], producer[DNNQ_MODEL_NAME_MAX];
	char calibration[DNNQ_MODEL_NAME_MAX];
	int64_t created;                        /* unix seconds */
	uint32_t max_batch;                     /* 0: any batch; else the largest a run may
	                                           have (dnnq-convert fixed the batch of a
	                                           graph that moves it: 1) */
	size_t ninputs, noutputs, ntensors, nconstants, nnodes, nstats;
	int32_t *constants;                     /* tensor ids of u8 constants */
	struct dnnq_model_io *inputs, *outputs;
	struct dnnq_model_tensor *tensors;
	struct dnnq_model_node *nodes;
	struct dnnq_model_stat *stats;
	/* filled by dnnq_model_read, for tools */
	uint16_t version_major, version_minor;
	size_t nsections;
	struct dnnq_model_section_info {
		uint32_t type, flags;
		uint64_t offset, size;
		uint32_t crc;
	} sections[DNNQ_MODEL_MAX_SECTIONS];
};

static inline size_t dnnq_model_num_values(const struct dnnq_model *m)
{
	return m->ninputs + m->nconstants + m->nnodes;
}

/* The value node j produces. */
static inline size_t dnnq_model_node_value(const struct dnnq_model *m, size_t j)
{
	return m->ninputs + m->nconstants + j;
}

/* A node with every id -1 and every count 0: set what the kind needs. */
void dnnq_model_node_init(struct dnnq_model_node *n, uint32_t kind, const char *name);

int dnnq_model_write(const struct dnnq_model *m, void **buf, size_t *len, struct dnnq_diag *diag);
/* The first len bytes of a file of file_size bytes (at least
 * DNNQ_MODEL_HEADER_SIZE of them): the magic, the major version and the
 * size the header declares, checked as dnnq_model_read checks them, so a
 * reader can refuse a file that is not a .dnnq of exactly that size before
 * it reads (and allocates) the rest. */
#define DNNQ_MODEL_HEADER_SIZE 24u
int dnnq_model_check_header(const void *buf, size_t len, uint64_t file_size,
                            struct dnnq_diag *diag);
/* out is overwritten (not freed first); on failure it holds nothing to free. */
int dnnq_model_read(const void *buf, size_t len, struct dnnq_model *out, struct dnnq_diag *diag);
void dnnq_model_free(struct dnnq_model *m);

/* The graph of m. Each output the signature declares (rank 1..8) must be
 * the graph's tensor (dtype, dims but the batch, a quantized one's
 * qparams), else DNNQ_E_FORMAT naming both: callers size buffers from the
 * signature. An output of rank 0 (in memory only) is not compared. */
int dnnq_model_build(const struct dnnq_model *m, enum dnnq_isa isa, struct dnnq_graph **out,
                     struct dnnq_diag *diag);
/* The same, with the packed weights of convolutions and FCs shared through
 * cache (engine/wcache.h): the first graph built packs them into it, the
 * next ones borrow them. Destroy the cache after every graph built with it. */
struct dnnq_weights_cache;
int dnnq_model_build_shared(const struct dnnq_model *m, enum dnnq_isa isa,
                            struct dnnq_weights_cache *cache, struct dnnq_graph **out,
                            struct dnnq_diag *diag);

const char *dnnq_model_section_name(uint32_t type);

#endif
