/*
 * daemon/models.h — the models dnnqd serves, as immutable versions behind
 * one table that hot reload replaces as a whole.
 *
 * A version (struct dnnqd_model) is one load of one model file: its parsed
 * description, its signature (the inputs and outputs a request must match,
 * in the engine's terms and the wire's), where it came from (the config
 * entry and the file's identity), and one built, planned and warmed-up
 * graph per worker: a graph is stateful (its plan, bound buffers and
 * activation arena), so worker i only ever runs graphs[i]. Whoever loads a
 * version builds all its graphs (start-up, or the reload thread), so a
 * worker never builds anything. Nothing in a version changes after it is
 * published except graphs[i].batch, which only worker i touches.
 *
 * A table (struct dnnqd_models) maps model ids to versions. Ids are stable
 * per name: a reloaded name keeps its id, a removed name leaves its id
 * NULL for good, a new name gets the next id. Tables are immutable too; a
 * reload builds a new one (sharing the versions that did not change, which
 * are reference-counted) and publishes it through the daemon's one atomic
 * table pointer (dnnqd.h); the old table is freed after a QSBR grace
 * period, and with it every version no other table holds.
 *
 * Generations: a version's generation is 1 when its name first appears
 * and one more at every replacement. sig_gen is the oldest generation
 * whose signature (and max batch) equals this one's: a request made for
 * any generation in [sig_gen, generation] is served by this version.
 */
#ifndef DNNQ_DAEMON_MODELS_H
#define DNNQ_DAEMON_MODELS_H

#include <stdatomic.h>
#include <stdint.h>

#include "conf/config.h"
#include "engine/model.h"
#include "engine/wcache.h"
#include "shm/dnnq_proto.h"

/* One input or output as requests see it: dims[0] = 1 stands for the batch. */
struct dnnqd_io {
	char name[DNNQ_PROTO_NAME_MAX];
	enum dnnq_dtype dtype;          /* U8 or F32 */
	struct dnnq_qparams qp;         /* U8 */
	uint32_t rank;
	int64_t dims[DNNQ_SHM_MAX_RANK];
	size_t numel;                   /* elements of one batch item */
};

/* Worker i's graph of a version, alone on its cache line. */
struct dnnqd_graph_slot {
	_Alignas(64) struct dnnq_graph *g;
	uint32_t batch;                 /* the current plan; 0: none */
};

/* What a reload compares to see whether a file changed under its name. */
struct dnnqd_file_id {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

#define DNNQD_STATS_NONE UINT32_MAX   /* a model without a counters row */

struct dnnqd_model {
	char name[DNNQ_PROTO_NAME_MAX];
	uint32_t id;
	/* its row of the per-model counters (dnnqd.h, mcounts), which the
	 * name's later versions inherit; DNNQD_STATS_NONE until published
	 * (dnnqd_models_publish), and when the live tables held every row */
	uint32_t stats;
	uint32_t generation, sig_gen;
	uint32_t max_batch;
	uint32_t n_inputs, n_outputs;
	struct dnnqd_io io[DNNQ_SHM_MAX_TENSORS];   /* inputs, then outputs */
	struct dnnq_model parsed;
	struct dnnq_config_model src;   /* the entry it was loaded for (path malloc'd) */
	struct dnnqd_file_id file;      /* all zero when made from bytes */
	uint64_t load_ns;               /* reading, parsing, building, warming up */
	unsigned ngraphs;
	struct dnnqd_graph_slot *graphs;
	struct dnnq_weights_cache *weights;  /* the graphs' packed weights, once */
	_Atomic uint32_t refs;          /* the tables holding it */
};

/* The workers one request of m may use: its entry's threads, at most one
 * per graph (the config allows up to workers.ncpus, which --cpus may
 * have lowered). Every graph of m is planned for that many threads. */
static inline unsigned dnnqd_model_threads(const struct dnnqd_model *m)
{
	return m->src.threads < 1 ? 1 : m->src.threads < m->ngraphs ? m->src.threads : m->ngraphs;
}

struct dnnqd_models {
	struct dnnqd_model **m;         /* by id; NULL: an id no longer served */
	uint32_t n;                     /* ids handed out so far */
	uint32_t *order;                /* the served ids, in config order (INFO) */
	uint32_t count;
	unsigned nworkers;              /* graphs per version */
	/* control loop, once unpublished */
	struct dnnqd_models *next;
	uint64_t *grace;
};

/* The version serving id in ms, or NULL: an id not handed out yet, or
 * no longer served. */
static inline const struct dnnqd_model *dnnqd_models_at(const struct dnnqd_models *ms,
                                                        uint32_t id)
{
	return id < ms->n ? ms->m[id] : NULL;
}

/* An empty table whose versions get `nworkers` graphs; NULL: no memory. */
struct dnnqd_models *dnnqd_models_new(unsigned nworkers);
/* Drops the table's references and frees it; NULL is fine. */
void dnnqd_models_free(struct dnnqd_models *ms);

/* Adds a version made from a .dnnq image under a new id (generation 1):
 * parsed, checked to be servable, every graph built, planned for batch 1
 * and warmed up. What the tests feed. */
int dnnqd_models_add(struct dnnqd_models *ms, const char *name, const void *buf, size_t len,
                     uint32_t max_batch, struct dnnq_diag *diag);
/* The same from a file, read by the loader (daemon/loader.h); every diag
 * line starts with "path: ". */
int dnnqd_models_load(struct dnnqd_models *ms, const char *name, const char *path,
                      uint32_t max_batch, struct dnnq_diag *diag);

/* What stops a load between two models or two nodes of a warm-up run
 * (DNNQ_E_AGAIN, "cancelled"): `set` (the control loop's, at SIGTERM
 * while a reload runs) or, with `signals`, a SIGTERM or SIGINT pending
 * for the calling thread (start-up, where the main thread loads before
 * it reads the signalfd). */
struct dnnqd_cancel {
	_Atomic bool set;
	bool signals;
};
bool dnnqd_cancelled(const struct dnnqd_cancel *c);

/* Bounds on what one model may cost (models.c, check_cost): the
 * operations of one node and of the whole graph for one item (a byte
 * read or written, a multiply-add, a pooling tap: dnnq_graph_cost), and
 * the activation memory of every worker's graph at max_batch: at most
 * half of the host's physical memory. */
#define DNNQD_MAX_NODE_WORK DNNQ_MAX_NODE_WORK
#define DNNQD_MAX_MODEL_WORK DNNQ_MAX_MODEL_WORK

/* The table for config c after table cur: versions whose entry and file
 * are unchanged are shared, the others loaded anew (generation + 1, same
 * id), new names get new ids, names not in c are dropped. *changed counts
 * the names loaded or dropped. On failure nothing is left behind and the
 * diag names the file. `cancel`, when set meanwhile, stops it
 * (DNNQ_E_AGAIN). */
int dnnqd_models_next(const struct dnnqd_models *cur, const struct dnnq_config *c,
                      const struct dnnqd_cancel *cancel, struct dnnqd_models **out,
                      unsigned *changed, struct dnnq_diag *diag);

/* Loads entry e's file as the daemon would (read, checksums, one graph
 * built and warmed up) and drops it: 0, or the diag line starting "PATH: "
 * (what --check-config reports). */
int dnnqd_models_check(const struct dnnq_config_model *e, struct dnnq_diag *diag);

/* Logs one INFO line per version of `next` that `cur` does not serve (a
 * new name, or a new generation): "model NAME: PATH, generation G, SIZE,
 * loaded in N ms". cur NULL: every version of next. */
void dnnqd_models_log_loaded(const struct dnnqd_models *cur, const struct dnnqd_models *next);

/* The served model's id, or -1. */
int dnnqd_models_find(const struct dnnqd_models *ms, const char *name);
/* Everything of a MODEL reply but the header; id is served. */
void dnnqd_model_describe(const struct dnnqd_models *ms, uint32_t id, struct dnnq_msg_model *out);

#endif
