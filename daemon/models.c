/*
 * Model versions and tables (models.h).
 *
 * Making a version: the bytes (from the loader, or from a test) are parsed,
 * then every worker's graph is built, planned for batch 1 and, when the
 * entry says warmup, run once on zeros, so the first request pays no
 * allocation and a model that cannot be served fails here, in the thread
 * that loads it, never in a worker. The signature is read off graph 0.
 *
 * A version is accepted only if the daemon can serve it: it parses, it
 * builds, its inputs plus outputs fit a request (16 tensors), no name in
 * its signature has a control character or is not UTF-8 text (clients
 * print them, dnnqctl into JSON), every tensor
 * is U8 or F32 with a rank the wire carries, its declared signature says
 * what the graph computes, and a tensor of max_batch items has a size that
 * fits in memory arithmetic. A tensor's name is the one the signature
 * declares (an output's graph tensor is named after the node that makes
 * it); everything else comes from the graph, which is what runs.
 *
 * The next table (dnnqd_models_next) decides per name: same config entry
 * and same file identity (dev, inode, size, mtime, ctime, of the path
 * before and after the read and of the descriptor read, so a file replaced
 * while it was read, or a path swapped to another file and back around the
 * open, is read again) keeps
 * the version; anything else loads a new one. The whole table is built
 * before anything is published, so one bad file fails the reload and
 * leaves the served table as it was.
 *
 * Reference counts are atomic because the reload thread takes references
 * on shared versions while the control loop may drop others'.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/loader.h"
#include "daemon/log.h"
#include "daemon/models.h"
#include "shm/dnnq_shm.h"

#define MAX_MODEL_FILE ((uint64_t)1 << 36)
#define READ_TRIES 3        /* a file replaced while read is read again */

/* u8 and s8 values carry quantization parameters; s32 (an integer
 * operator's sums) and f32 do not. */
static bool quantized(enum dnnq_dtype dt)
{
	return dt == DNNQ_DTYPE_U8 || dt == DNNQ_DTYPE_S8;
}

/* A byte below 0x20 or DEL: a name with one is refused, because every
 * client is sent the signature's names and dnnqctl prints them. */
static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Text a terminal and JSON take as it is (dnnq_utf8_char): the names go
 * into dnnqctl's JSON, which must be UTF-8, and onto terminals. */
static bool utf8_text(const char *s)
{
	for (size_t n; *s; s += n)
		if (!(n = dnnq_utf8_char(s)))
			return false;
	return true;
}

/* io from the declared name and the graph's tensor; dims[0] becomes 1. */
static int signature_io(const struct dnnq_model_io *decl, const struct dnnq_tensor_info *ti,
                        uint32_t max_batch, struct dnnqd_io *io, struct dnnq_diag *d)
{
	memset(io, 0, sizeof *io);
	if (has_control(decl->name))
		return dnnq_diag_set(d, DNNQ_E_FORMAT, "'%s': a control character in a signature"
		                     " name", decl->name);
	if (!utf8_text(decl->name))
		return dnnq_diag_set(d, DNNQ_E_FORMAT, "'%s': a signature name that is not UTF-8"
		                     " text (a malformed sequence, a C1 or bidi control, a line separator)", decl->name);
	if (!dnnq_shm_dtype_size(ti->dtype))
		return dnnq_diag_set(d, DNNQ_E_DTYPE, "'%s': dtype %s: only u8, s8, s32 and f32 are "
		                     "served", decl->name, dnnq_dtype_name(ti->dtype));
	if (ti->ndim < 1 || ti->ndim > DNNQ_SHM_MAX_RANK)
		return dnnq_diag_set(d, DNNQ_E_SHAPE, "'%s': rank %u: must be 1..%u", decl->name,
		                     ti->ndim, DNNQ_SHM_MAX_RANK);
	snprintf(io->name, sizeof io->name, "%s", decl->name);
	io->dtype = ti->dtype;
	io->qp = quantized(ti->dtype) ? ti->qp : (struct dnnq_qparams){ 0 };
	io->rank = ti->ndim;
	io->dims[0] = 1;
	size_t n = 1, bytes;
	for (uint32_t k = 1; k < ti->ndim; k++) {
		io->dims[k] = ti->dims[k];
		if (!dnnq_mul_size(n, (size_t)ti->dims[k], &n))
			return dnnq_diag_set(d, DNNQ_E_SHAPE, "'%s': element count overflows", decl->name);
	}
	if (!dnnq_mul_size(n, (size_t)max_batch * sizeof(float), &bytes))
		return dnnq_diag_set(d, DNNQ_E_SHAPE, "'%s': %u items overflow a size", decl->name,
		                     max_batch);
	io->numel = n;
	return 0;
}

/* The graph's inputs and outputs are the model's, in the same order
 * (dnnq_model_build adds them so). */
static int signature(struct dnnqd_model *m, const struct dnnq_graph *g, struct dnnq_diag *d)
{
	size_t ni = dnnq_graph_num_inputs(g), no = dnnq_graph_num_outputs(g);
	if (ni + no > DNNQ_SHM_MAX_TENSORS)
		return dnnq_diag_set(d, DNNQ_E_UNSUPPORTED, "%zu inputs + %zu outputs: a request"
		                     " carries at most %u tensors", ni, no, DNNQ_SHM_MAX_TENSORS);
	m->n_inputs = (uint32_t)ni;
	m->n_outputs = (uint32_t)no;
	int rc = 0;
	for (size_t i = 0; i < ni + no && !rc; i++) {
		struct dnnq_tensor_info ti;
		const struct dnnq_model_io *decl = i < ni ? &m->parsed.inputs[i]
		                                          : &m->parsed.outputs[i - ni];
		rc = i < ni ? dnnq_graph_input_info(g, i, &ti) : dnnq_graph_output_info(g, i - ni, &ti);
		if (!rc)
			rc = signature_io(decl, &ti, m->max_batch, &m->io[i], d);
	}
	return rc;
}

static size_t io_bytes(const struct dnnqd_io *io, uint32_t batch)
{
	return (size_t)batch * io->numel * dnnq_shm_dtype_size(io->dtype);
}

bool dnnqd_cancelled(const struct dnnqd_cancel *c)
{
	sigset_t p;
	if (!c)
		return false;
	if (atomic_load(&c->set))
		return true;
	return c->signals && !sigpending(&p) &&
	       (sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1);
}

static bool stop_warm_up(void *cancel)
{
	return dnnqd_cancelled(cancel);
}

/* The entry's dynamic_batching against the batch the graph takes, which
 * may be less than the entry's max_batch (conf/ checked against that):
 * batching that could never gather, or a preferred size never reached,
 * is an error, not a setting that silently does nothing. */
static int check_batching(const struct dnnqd_model *m, struct dnnq_diag *d)
{
	const struct dnnq_config_batching *b = &m->src.batching;
	if (b->enabled && m->max_batch == 1)
		return dnnq_diag_set(d, DNNQ_E_INVAL, "dynamic_batching: the graph takes 1 item"
		                     " at most: a request would never have company");
	for (unsigned i = 0; b->enabled && i < b->npreferred; i++)
		if (b->preferred[i] > m->max_batch)
			return dnnq_diag_set(d, DNNQ_E_RANGE, "dynamic_batching.preferred_batch_size"
			                     "[%u] %u: the graph takes %u items at most", i,
			                     b->preferred[i], m->max_batch);
	return 0;
}

/* Dynamic batching runs the requests of different clients as one batch,
 * which must not change any request's result: a graph in which one item's
 * output depends on the others' values (a dynamic FC: one input scale for
 * the whole batch, so one client's row of 1e6 turned every other client's
 * output into the zero point, status 0) or on its place in the batch
 * (MaxPool's Indices, MaxUnpool's places: they count the items before) is
 * refused batching, naming the node and why. */
static int check_items_apart(const struct dnnqd_model *m, struct dnnq_diag *d)
{
	const struct dnnq_graph *g = m->graphs[0].g;
	struct dnnq_node_info ni;
	for (size_t i = 0; m->src.batching.enabled && i < dnnq_graph_num_nodes(g); i++)
		if (!dnnq_graph_node_info(g, i, &ni) && ni.couples_items)
			return dnnq_diag_set(d, DNNQ_E_UNSUPPORTED, "dynamic_batching: node '%s' (%s)"
			                     " %s: one client's request would change another's"
			                     " result (serve it unbatched)", ni.name,
			                     dnnq_node_kind_name(ni.kind), ni.couples_items);
	return 0;
}

/* Whether every worker's activations of m at `batch` (its graph's cost
 * into *cost) fit in `bound` bytes; a batch whose sizes overflow does not. */
static bool batch_fits(struct dnnqd_model *m, uint32_t batch, uint64_t bound,
                       struct dnnq_graph_cost *cost)
{
	struct dnnq_diag ignored;
	uint64_t need;
	return !dnnq_graph_cost(m->graphs[0].g, batch, dnnqd_model_threads(m), cost, &ignored) &&
	       !__builtin_mul_overflow(cost->bytes + cost->graph_bytes, (uint64_t)m->ngraphs,
	                               &need) && need <= bound;
}

/*
 * A small file may describe enormous work or memory (a 2048 x 2048 pool
 * over a 4096 x 4096 input: 2^44 taps; an activation declared 2^40
 * bytes): judged from the shapes before anything is allocated or run, so
 * that the warm-up, which cannot be interrupted inside a node, stays
 * short, and no worker's plan at max_batch asks for more memory than the
 * host has. The error names the node or the bytes and the bound.
 */
static int check_cost(struct dnnqd_model *m, struct dnnq_diag *d)
{
	struct dnnq_graph *g = m->graphs[0].g;
	struct dnnq_graph_cost one, most;
	struct dnnq_node_info ni = { .name = "?" };
	int rc = dnnq_graph_cost(g, 1, dnnqd_model_threads(m), &one, d);
	if (rc)
		return rc;
	if (one.node_work > DNNQD_MAX_NODE_WORK) {
		dnnq_graph_node_info(g, one.node, &ni);
		return dnnq_diag_set(d, DNNQ_E_RANGE, "node '%s' (%s): %llu operations a run of one"
		                     " item: more than the %llu (2^36) a node may take", ni.name,
		                     dnnq_node_kind_name(ni.kind), (unsigned long long)one.node_work,
		                     (unsigned long long)DNNQD_MAX_NODE_WORK);
	}
	if (one.work > DNNQD_MAX_MODEL_WORK)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "%llu operations a run of one item: more than"
		                     " the %llu (2^40) a model may take, " DNNQ_MAX_MODEL_WORK_HINT,
		                     (unsigned long long)one.work,
		                     (unsigned long long)DNNQD_MAX_MODEL_WORK);
	uint64_t bound = dnnq_memory_bound();
	if (batch_fits(m, m->max_batch, bound, &most))
		return 0;
	/* A large model (a 1024 x 1024 segmenter: ~300 MB of activations an
	 * item) at the default max_batch of 64 would not fit: the largest
	 * batch that does is served, and the log says so; only a model whose
	 * single item does not fit is refused. */
	uint32_t lo = 1, hi = m->max_batch;     /* lo fits, hi does not */
	unsigned threads = dnnqd_model_threads(m);
	/* the ways out this model and daemon still have: one worker at
	 * threads 1 has only a smaller input left */
	if (!batch_fits(m, 1, bound, &most))
		return dnnq_diag_set(d, DNNQ_E_NOMEM, "activations: %llu bytes for one item at"
		                     " threads %u (and %llu of nodes) for each of %u workers: more than"
		                     " %llu, half of this host's memory (%s%s%s)",
		                     (unsigned long long)most.bytes, threads,
		                     (unsigned long long)most.graph_bytes, m->ngraphs,
		                     (unsigned long long)bound, m->ngraphs > 1 ? "fewer workers: fewer"
		                     " CPUs in --cpus or workers.cpus" : "",
		                     m->ngraphs > 1 && threads > 1 ? "; " : "",
		                     threads > 1 ? "threads 1 keeps no band copies"
		                     : m->ngraphs > 1 ? "" : "one worker at threads 1: convert the"
		                     " model for a smaller input, dnnq-convert --input-shape");
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		*(batch_fits(m, mid, bound, &most) ? &lo : &hi) = mid;
	}
	dnnqd_log(DNNQD_LOG_WARN, "model %s: max_batch %u: the activations of %u workers would"
	          " take more than %llu bytes, half of this host's memory: serving max_batch %u",
	          m->src.name, m->max_batch, m->ngraphs, (unsigned long long)bound, lo);
	m->max_batch = lo;
	if ((rc = check_batching(m, d)))
		return rc;
	return signature(m, g, d);	/* its sizes are max_batch's */
}

/* Every graph planned for batch 1 on the model's threads and, for warmup,
 * run once on zeros (on one thread: the plan sized every thread's scratch);
 * cancel stops it between nodes. */
static int warm_up(struct dnnqd_model *m, const struct dnnqd_cancel *cancel,
                   struct dnnq_diag *d)
{
	void *bufs[DNNQ_SHM_MAX_TENSORS] = { 0 };
	unsigned nt = m->n_inputs + m->n_outputs;
	int rc = 0;
	for (unsigned i = 0; m->src.warmup && i < nt && !rc; i++)
		if (!(bufs[i] = calloc(1, io_bytes(&m->io[i], 1) + 1)))
			rc = dnnq_diag_set(d, DNNQ_E_NOMEM, "warm-up: out of memory");
	for (unsigned w = 0; w < m->ngraphs && !rc; w++) {
		struct dnnqd_graph_slot *gs = &m->graphs[w];
		if ((rc = dnnq_graph_plan(gs->g, 1, dnnqd_model_threads(m), d)))
			break;
		gs->batch = 1;
		if (m->src.warmup &&
		    (rc = dnnq_graph_run_stoppable(gs->g, (const void *const *)bufs,
		                                   bufs + m->n_inputs, NULL, stop_warm_up,
		                                   (void *)cancel)))
			dnnq_diag_set(d, rc, "warm-up run: %s", rc == DNNQ_E_AGAIN ? "cancelled"
			              : dnnq_strerror(rc));
	}
	for (unsigned i = 0; i < nt; i++)
		free(bufs[i]);
	return rc;
}

static void version_free(struct dnnqd_model *m)
{
	if (!m)
		return;
	for (unsigned w = 0; m->graphs && w < m->ngraphs; w++)
		dnnq_graph_destroy(m->graphs[w].g);
	free(m->graphs);
	dnnq_weights_cache_destroy(m->weights);	/* after every graph borrowing from it */
	dnnq_model_free(&m->parsed);
	free(m->src.path);
	free(m);
}

static void version_put(struct dnnqd_model *m)
{
	if (m && atomic_fetch_sub(&m->refs, 1) == 1)
		version_free(m);
}

/* Parse, build every graph, read the signature, judge the cost, warm up. */
static int version_fill(struct dnnqd_model *m, const void *buf, size_t len,
                        const struct dnnqd_cancel *cancel, struct dnnq_diag *d)
{
	int rc = dnnq_model_read(buf, len, &m->parsed, d);
	if (rc)
		return rc;
	if (m->parsed.max_batch && m->max_batch > m->parsed.max_batch)
		m->max_batch = m->parsed.max_batch;     /* a graph that moves its batch */
	if ((rc = check_batching(m, d)))
		return rc;
	if (!(m->graphs = aligned_alloc(_Alignof(struct dnnqd_graph_slot),
	                                m->ngraphs * sizeof *m->graphs)))
		return dnnq_diag_set(d, DNNQ_E_NOMEM, "out of memory");
	memset(m->graphs, 0, m->ngraphs * sizeof *m->graphs);
	/* one copy of the packed weights, whatever the worker count */
	if (dnnq_weights_cache_create(&m->weights))
		return dnnq_diag_set(d, DNNQ_E_NOMEM, "out of memory");
	/* the other workers' graphs only once the first one's cost is judged */
	rc = dnnq_model_build_shared(&m->parsed, dnnq_isa_best(), m->weights, &m->graphs[0].g, d);
	if (!rc)
		rc = signature(m, m->graphs[0].g, d);
	if (!rc)
		rc = check_items_apart(m, d);
	if (!rc)
		rc = check_cost(m, d);
	for (unsigned w = 1; w < m->ngraphs && !rc; w++)
		rc = dnnq_model_build_shared(&m->parsed, dnnq_isa_best(), m->weights,
		                             &m->graphs[w].g, d);
	return rc ? rc : warm_up(m, cancel, d);
}

/* A version of entry src from bytes, with one reference; NULL src path:
 * made from memory. */
static int version_make(const struct dnnq_config_model *src, const void *buf, size_t len,
                        unsigned nworkers, const struct dnnqd_cancel *cancel,
                        struct dnnqd_model **out, struct dnnq_diag *d)
{
	if (!src->name[0] || strlen(src->name) >= DNNQ_PROTO_NAME_MAX)
		return dnnq_diag_set(d, DNNQ_E_INVAL, "model name '%s': must have 1..%u bytes",
		                     src->name, DNNQ_PROTO_NAME_MAX - 1);
	if (src->max_batch < 1 || src->max_batch > DNNQ_SHM_MAX_BATCH)
		return dnnq_diag_set(d, DNNQ_E_RANGE, "max_batch %u: must be 1..%u", src->max_batch,
		                     DNNQ_SHM_MAX_BATCH);
	struct dnnqd_model *m = calloc(1, sizeof *m);
	if (!m)
		return dnnq_diag_set(d, DNNQ_E_NOMEM, "model '%s': out of memory", src->name);
	atomic_init(&m->refs, 1);
	strcpy(m->name, src->name);
	m->src = *src;
	m->max_batch = src->max_batch;
	m->generation = m->sig_gen = 1;
	m->stats = DNNQD_STATS_NONE;
	m->ngraphs = nworkers ? nworkers : 1;
	int rc = 0;
	if (src->path && !(m->src.path = strdup(src->path)))
		rc = dnnq_diag_set(d, DNNQ_E_NOMEM, "model '%s': out of memory", src->name);
	if (!rc)
		rc = version_fill(m, buf, len, cancel, d);
	if (rc) {
		version_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

static void file_id(const struct stat *st, struct dnnqd_file_id *id)
{
	*id = (struct dnnqd_file_id){
		(uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
		(int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
		(int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec,
	};
}

static bool file_same(const struct dnnqd_file_id *a, const struct dnnqd_file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

static int stat_id(const char *path, struct dnnqd_file_id *id, struct dnnq_diag *d)
{
	struct stat st;
	if (stat(path, &st))
		return dnnq_diag_set(d, DNNQ_E_IO, "%s: cannot stat: %s", path, strerror(errno));
	file_id(&st, id);
	return 0;
}

/* A model file is refused on its header before it is read whole. */
static const struct dnnqd_load_head model_head = { DNNQ_MODEL_HEADER_SIZE,
                                                   dnnq_model_check_header };

/* The file's bytes and the identity they belong to: the same identity
 * before and after the read, or the read is repeated. */
static int read_stable(const char *path, void **buf, size_t *len, struct dnnqd_file_id *id,
                       struct dnnq_diag *d)
{
	for (int t = 0; t < READ_TRIES; t++) {
		struct dnnqd_file_id after, read_id;
		struct stat opened;
		int rc = stat_id(path, id, d);
		if (!rc)
			rc = dnnqd_load_file_head(path, DNNQD_LOADER_AUTO, MAX_MODEL_FILE, &model_head,
			                          buf, len, NULL, &opened, d);
		if (!rc)
			file_id(&opened, &read_id);
		if (!rc && !(rc = stat_id(path, &after, d)) && file_same(id, &read_id) &&
		    file_same(id, &after)) {
			if (d)
				d->msg[0] = 0;	/* an earlier try's failure is no news */
			return 0;
		}
		if (!rc) {
			free(*buf);
			*buf = NULL;
			rc = dnnq_diag_set(d, DNNQ_E_IO, "%s: changed while read", path);
		}
		if (rc != DNNQ_E_IO || t + 1 == READ_TRIES)
			return rc;
	}
	return DNNQ_E_IO;
}

/* A version of entry src from its file; diag lines start with the path. */
static int version_load(const struct dnnq_config_model *src, unsigned nworkers,
                        const struct dnnqd_cancel *cancel, struct dnnqd_model **out,
                        struct dnnq_diag *diag)
{
	void *buf = NULL;
	size_t len = 0;
	struct dnnqd_file_id id;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = read_stable(src->path, &buf, &len, &id, diag);
	if (rc)
		return rc;
	struct dnnq_diag why = { "" };
	rc = version_make(src, buf, len, nworkers, cancel, out, &why);
	free(buf);
	if (rc)
		return dnnq_diag_set(diag, rc, "%s: %s", src->path, why.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	(*out)->file = id;
	(*out)->load_ns = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000 +
	                             (t1.tv_nsec - t0.tv_nsec));
	return 0;
}

int dnnqd_models_check(const struct dnnq_config_model *e, struct dnnq_diag *diag)
{
	struct dnnqd_model *v;
	int rc = version_load(e, 1, NULL, &v, diag);
	if (!rc)
		version_put(v);
	return rc;
}

/* ---- tables --------------------------------------------------------------- */

struct dnnqd_models *dnnqd_models_new(unsigned nworkers)
{
	struct dnnqd_models *ms = calloc(1, sizeof *ms);
	if (ms)
		ms->nworkers = nworkers;
	return ms;
}

void dnnqd_models_free(struct dnnqd_models *ms)
{
	if (!ms)
		return;
	for (uint32_t i = 0; i < ms->n; i++)
		version_put(ms->m[i]);
	free(ms->m);
	free(ms->order);
	free(ms->grace);
	free(ms);
}

/* Room for ids up to n and for `count` served names. */
static int table_reserve(struct dnnqd_models *ms, uint32_t n, uint32_t count)
{
	struct dnnqd_model **m = realloc(ms->m, (n ? n : 1) * sizeof *m);
	if (!m)
		return DNNQ_E_NOMEM;
	ms->m = m;
	for (uint32_t i = ms->n; i < n; i++)
		m[i] = NULL;
	uint32_t *o = realloc(ms->order, (count ? count : 1) * sizeof *o);
	if (!o)
		return DNNQ_E_NOMEM;
	ms->order = o;
	return 0;
}

/* v (one reference, handed over) as id v->id, served after the others. */
static void table_put(struct dnnqd_models *ms, struct dnnqd_model *v)
{
	ms->m[v->id] = v;
	if (v->id >= ms->n)
		ms->n = v->id + 1;
	ms->order[ms->count++] = v->id;
}

static int add_new(struct dnnqd_models *ms, const char *name, struct dnnqd_model *v,
                   struct dnnq_diag *diag)
{
	int rc = dnnqd_models_find(ms, name) >= 0
	         ? dnnq_diag_set(diag, DNNQ_E_INVAL, "model name '%s': used twice", name)
	         : table_reserve(ms, ms->n + 1, ms->count + 1)
	         ? dnnq_diag_set(diag, DNNQ_E_NOMEM, "model '%s': out of memory", name) : 0;
	if (rc) {
		version_put(v);
		return rc;
	}
	v->id = ms->n;
	table_put(ms, v);
	return 0;
}

int dnnqd_models_add(struct dnnqd_models *ms, const char *name, const void *buf, size_t len,
                     uint32_t max_batch, struct dnnq_diag *diag)
{
	struct dnnq_config_model src = { .max_batch = max_batch, .threads = 1, .warmup = true };
	snprintf(src.name, sizeof src.name, "%s", name);
	if (strlen(name) >= sizeof src.name)
		src.name[0] = 0;	/* refused as too long by version_make */
	struct dnnqd_model *v;
	int rc = version_make(&src, buf, len, ms->nworkers, NULL, &v, diag);
	return rc ? rc : add_new(ms, name, v, diag);
}

int dnnqd_models_load(struct dnnqd_models *ms, const char *name, const char *path,
                      uint32_t max_batch, struct dnnq_diag *diag)
{
	struct dnnq_config_model src = { .path = (char *)path, .max_batch = max_batch,
	                                 .threads = 1, .warmup = true };
	snprintf(src.name, sizeof src.name, "%s", name);
	struct dnnqd_model *v;
	int rc = version_load(&src, ms->nworkers, NULL, &v, diag);
	return rc ? rc : add_new(ms, name, v, diag);
}

static bool io_same(const struct dnnqd_io *a, const struct dnnqd_io *b)
{
	if (strcmp(a->name, b->name) || a->dtype != b->dtype || a->rank != b->rank)
		return false;
	if (quantized(a->dtype) &&
	    (a->qp.scale != b->qp.scale || a->qp.zero_point != b->qp.zero_point))
		return false;
	return !memcmp(a->dims, b->dims, a->rank * sizeof a->dims[0]);
}

/* What a client's handle depends on: every tensor and the max batch. */
static bool signature_same(const struct dnnqd_model *a, const struct dnnqd_model *b)
{
	if (a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs ||
	    a->max_batch != b->max_batch)
		return false;
	for (uint32_t i = 0; i < a->n_inputs + a->n_outputs; i++)
		if (!io_same(&a->io[i], &b->io[i]))
			return false;
	return true;
}

/* The served version of entry e after `old` (NULL: a new name): old itself
 * with another reference when nothing changed, else a fresh load. */
static int next_version(const struct dnnqd_model *old, const struct dnnq_config_model *e,
                        unsigned nworkers, const struct dnnqd_cancel *cancel,
                        struct dnnqd_model **out, bool *loaded, struct dnnq_diag *diag)
{
	struct dnnqd_file_id now;
	*loaded = false;
	if (old && old->src.path && dnnq_config_model_equal(&old->src, e) &&
	    !stat_id(e->path, &now, NULL) && file_same(&now, &old->file)) {
		atomic_fetch_add(&((struct dnnqd_model *)old)->refs, 1);
		*out = (struct dnnqd_model *)old;
		return 0;
	}
	int rc = version_load(e, nworkers, cancel, out, diag);
	if (rc || !old)
		return rc;
	struct dnnqd_model *v = *out;
	*loaded = true;
	v->id = old->id;
	v->stats = old->stats;
	v->generation = old->generation + 1;
	v->sig_gen = signature_same(old, v) ? old->sig_gen : v->generation;
	return 0;
}

int dnnqd_models_next(const struct dnnqd_models *cur, const struct dnnq_config *c,
                      const struct dnnqd_cancel *cancel, struct dnnqd_models **out,
                      unsigned *changed, struct dnnq_diag *diag)
{
	struct dnnqd_models *ms = dnnqd_models_new(cur->nworkers);
	int rc = !ms || table_reserve(ms, cur->n + c->nmodels, c->nmodels)
	         ? dnnq_diag_set(diag, DNNQ_E_NOMEM, "model table: out of memory") : 0;
	uint32_t next_id = cur->n;
	*changed = 0;
	for (unsigned i = 0; !rc && i < c->nmodels; i++) {
		const struct dnnq_config_model *e = &c->models[i];
		int id = dnnqd_models_find(cur, e->name);
		struct dnnqd_model *v;
		bool loaded;
		if (dnnqd_cancelled(cancel)) {
			rc = dnnq_diag_set(diag, DNNQ_E_AGAIN, "cancelled");
			break;
		}
		struct dnnq_diag why = { "" };
		if ((rc = next_version(id >= 0 ? cur->m[id] : NULL, e, cur->nworkers, cancel, &v,
		                       &loaded, &why))) {
			char where[sizeof diag->msg];
			dnnq_config_model_where(c, i, where, sizeof where);
			dnnq_diag_set(diag, rc, "%smodel %s: %s", where, e->name, why.msg);
			break;
		}
		if (id < 0)
			v->id = next_id++;
		*changed += loaded || id < 0;
		table_put(ms, v);
	}
	if (rc) {
		dnnqd_models_free(ms);
		return rc;
	}
	/* ids handed out stay used even when their names are gone */
	ms->n = next_id > ms->n ? next_id : ms->n;
	for (uint32_t k = 0; k < cur->count; k++)
		*changed += dnnqd_models_find(ms, cur->m[cur->order[k]]->name) < 0;
	*out = ms;
	return 0;
}

/* "512 B", "12.3 kB", "1.2 MB", "3.4 GB" (powers of 1000). */
static void size_text(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "kB", "MB", "GB", "TB" };
	if (bytes < 1000) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return;
	}
	double v = (double)bytes / 1000;
	unsigned u = 0;
	for (; v >= 999.95 && u + 1 < sizeof unit / sizeof unit[0]; u++)
		v /= 1000;
	snprintf(buf, len, "%.1f %s", v, unit[u]);
}

void dnnqd_models_log_loaded(const struct dnnqd_models *cur, const struct dnnqd_models *next)
{
	for (uint32_t k = 0; k < next->count; k++) {
		uint32_t id = next->order[k];
		const struct dnnqd_model *v = next->m[id];
		if (cur && id < cur->n && cur->m[id] == v)
			continue;
		/* every setting the config gave it, so a log shows what is served
		 * (the preferred sizes and an off warm-up were not said) */
		char size[32], batching[160] = "";
		const struct dnnq_config_batching *b = &v->src.batching;
		size_text(v->file.size, size, sizeof size);
		if (b->enabled) {
			int n = snprintf(batching, sizeof batching, ", dynamic batching %u us",
			                 b->max_queue_delay_us);
			for (unsigned i = 0; i < b->npreferred; i++)	/* 8 of 5 digits fit */
				n += snprintf(batching + n, sizeof batching - (size_t)n, "%s%u",
				              i ? "," : ", preferred ", b->preferred[i]);
		}
		dnnqd_log(DNNQD_LOG_INFO, "model %s: %s, generation %u, %s, max_batch %u, threads %u%s%s,"
		          " loaded in %llu ms", v->name, v->src.path ? v->src.path : "(memory)",
		          v->generation, size, v->max_batch, dnnqd_model_threads(v), batching,
		          v->src.warmup ? "" : ", no warm-up",
		          (unsigned long long)((v->load_ns + 500000) / 1000000));
	}
}

int dnnqd_models_find(const struct dnnqd_models *ms, const char *name)
{
	for (uint32_t k = 0; k < ms->count; k++)
		if (!strcmp(ms->m[ms->order[k]]->name, name))
			return (int)ms->order[k];
	return -1;
}

void dnnqd_model_describe(const struct dnnqd_models *ms, uint32_t id, struct dnnq_msg_model *out)
{
	const struct dnnqd_model *m = ms->m[id];
	memset((char *)out + sizeof out->hdr, 0, sizeof *out - sizeof out->hdr);
	out->model_id = id;
	out->generation = m->generation;
	out->n_inputs = m->n_inputs;
	out->n_outputs = m->n_outputs;
	out->max_batch = m->max_batch;
	out->n_models = ms->count;
	strcpy(out->name, m->name);
	for (uint32_t i = 0; i < m->n_inputs + m->n_outputs; i++) {
		const struct dnnqd_io *io = &m->io[i];
		struct dnnq_wire_tensor *t = &out->t[i];
		strcpy(t->name, io->name);
		t->dtype = io->dtype;	/* enum dnnq_shm_dtype has the engine's values */
		t->rank = io->rank;
		memcpy(t->dims, io->dims, sizeof t->dims);
		if (quantized(io->dtype)) {
			t->scale = io->qp.scale;
			t->zero_point = io->qp.zero_point;
		}
	}
}
