/*
 * Model builders for the whole-model benchmark (models.h). The builder keeps
 * a calibration sample of every tensor (batch 1) beside the graph; a layer
 * is first run with a float output on its input's sample, the output range
 * gives its qparams (ReLU: [0, max]; ReLU6: [0, 6]; else [min, max]), and
 * the quantized float output becomes the layer's sample.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/models.h"
#include "tests/rng.h"

#define MAX_T 512

enum act { ACT_NONE, ACT_RELU, ACT_RELU6 };

struct mb {
	struct dnnq_graph *g;
	enum dnnq_isa isa;
	struct rng r;
	struct dnnq_diag *diag;
	int fail;
	uint8_t *sample[MAX_T];       /* u8 sample of each tensor */
	size_t h[MAX_T], w[MAX_T], c[MAX_T];
	struct dnnq_qparams qp[MAX_T];
	int nconv;
	const struct model_opts *o;
};

/* Whether layer (0: conv1, ..., nconv: the FC) is acc16. */
static bool acc16_here(const struct mb *m, int layer)
{
	return m->o && m->o->acc16 &&
	       (!m->o->acc16_mask || (layer < MODEL_MAX_LAYERS && m->o->acc16_mask[layer]));
}

static struct dnnq_qparams range_qparams(const float *y, size_t n, enum act act)
{
	float lo, hi;
	dnnq_minmax(y, n, &lo, &hi);
	if (act == ACT_RELU6)
		return (struct dnnq_qparams){ 6.0f / 255, 0, 8, false };
	if (act == ACT_RELU)
		lo = 0;
	struct dnnq_qspec spec = { DNNQ_QSCHEME_ASYMMETRIC, 8, false, false };
	struct dnnq_qparams qp;
	dnnq_choose_qparams(lo, hi, &spec, &qp, NULL);
	return qp;
}

/* Records tensor id's sample: y quantized with qp (ReLU clamps at zp = 0). */
static void set_sample(struct mb *m, int id, const float *y, size_t h, size_t w, size_t c,
                       struct dnnq_qparams qp)
{
	size_t n = h * w * c;
	m->sample[id] = malloc(n);
	dnnq_quantize(m->isa, y, m->sample[id], DNNQ_DTYPE_U8, n, &qp);
	m->h[id] = h;
	m->w[id] = w;
	m->c[id] = c;
	m->qp[id] = qp;
}

static int conv(struct mb *m, int x, size_t cout, size_t k, size_t stride, size_t groups,
                enum act act)
{
	if (m->fail || x < 0 || x >= MAX_T - 1)
		return m->fail = -1;
	size_t cin = m->c[x], cing = cin / groups, kk = k * k * cing, pad = k / 2;
	int8_t *w = malloc(cout * kk);
	float *scale = malloc(cout * sizeof *scale), *bias = malloc(cout * sizeof *bias);
	/* 7-bit weights (-63..63), as oneDNN uses on CPUs without VNNI: every
	 * vpmaddubsw pair is then safe for full 8-bit activations */
	for (size_t i = 0; i < cout * kk; i++)
		w[i] = (int8_t)rng_int(&m->r, -63, 63);
	for (size_t j = 0; j < cout; j++) {
		/* He initialisation: std sqrt(2 / fan_in); these ints have std ~36.7 */
		scale[j] = (float)(sqrt(2.0 / (double)kk) / 36.7 * rng_uniform(&m->r, 0.8, 1.2));
		bias[j] = (float)rng_uniform(&m->r, -0.1, 0.1);
	}
	struct dnnq_conv_desc d = {
		.isa = m->isa, .cin = cin, .cout = cout, .groups = groups, .kh = k, .kw = k,
		.stride_h = stride, .stride_w = stride, .dil_h = 1, .dil_w = 1,
		.pad_t = pad, .pad_l = pad, .pad_b = pad, .pad_r = pad, .w = w, .nwq = cout,
		.w_scale = scale, .bias = bias, .in_qp = m->qp[x], .out_dtype = DNNQ_DTYPE_F32,
		.relu = act != ACT_NONE,
	};
	/* calibration: the float output on the sample */
	struct dnnq_conv *c;
	size_t oh, ow;
	int id = -1;
	if (dnnq_conv_create(&d, &c, m->diag) == 0) {
		dnnq_conv_output_size(c, m->h[x], m->w[x], &oh, &ow);
		float *y = malloc(oh * ow * cout * sizeof *y);
		dnnq_conv_setup(c, 1, m->h[x], m->w[x], m->sample[x], y, 1);
		dnnq_conv_run(c, NULL);
		dnnq_conv_destroy(c);
		d.out_dtype = DNNQ_DTYPE_U8;
		d.out_qp = range_qparams(y, oh * ow * cout, act);
		d.clip = act == ACT_RELU6;
		d.clip_min = 0;
		d.clip_max = 6;
		d.acc16 = acc16_here(m, m->nconv);
		if (m->o)
			d.acc16_opts = m->o->acc16_opts;
		char name[32];
		snprintf(name, sizeof name, "conv%d", ++m->nconv);
		struct dnnq_node_desc n = { .kind = DNNQ_NODE_CONV, .name = name, .ninputs = 1,
		                            .inputs = { x }, .op.conv = d };
		id = dnnq_graph_add_node(m->g, &n, m->diag);
		if (id >= 0 && id < MAX_T)
			set_sample(m, id, y, oh, ow, cout, d.out_qp);
		free(y);
	}
	free(w);
	free(scale);
	free(bias);
	if (id < 0 || id >= MAX_T)
		m->fail = -1;
	return id;
}

/* a + b (ReLU optional), qparams from the sum's range on the sample */
static int add(struct mb *m, int a, int b, bool relu)
{
	if (m->fail)
		return -1;
	size_t n = m->h[a] * m->w[a] * m->c[a];
	float *fa = malloc(n * sizeof *fa), *fb = malloc(n * sizeof *fb);
	dnnq_dequantize(m->isa, m->sample[a], DNNQ_DTYPE_U8, fa, n, &m->qp[a]);
	dnnq_dequantize(m->isa, m->sample[b], DNNQ_DTYPE_U8, fb, n, &m->qp[b]);
	for (size_t i = 0; i < n; i++)
		fa[i] = relu && fa[i] + fb[i] < 0 ? 0 : fa[i] + fb[i];
	struct dnnq_qparams qp = range_qparams(fa, n, relu ? ACT_RELU : ACT_NONE);
	char name[32];
	snprintf(name, sizeof name, "add%d", m->nconv);
	struct dnnq_node_desc d = { .kind = DNNQ_NODE_ELTWISE, .name = name, .ninputs = 2,
	                            .inputs = { a, b } };
	d.op.eltwise = (struct dnnq_eltwise_desc){ .isa = m->isa, .out_qp = qp,
		.op = relu ? DNNQ_ELTWISE_SUM_RELU : DNNQ_ELTWISE_SUM };
	int id = dnnq_graph_add_node(m->g, &d, m->diag);
	if (id >= 0 && id < MAX_T)
		set_sample(m, id, fa, m->h[a], m->w[a], m->c[a], qp);
	else
		m->fail = -1;
	free(fa);
	free(fb);
	return id;
}

static int maxpool(struct mb *m, int x)
{
	struct dnnq_node_desc d = { .kind = DNNQ_NODE_MAXPOOL, .name = "maxpool", .ninputs = 1,
	                            .inputs = { x } };
	d.op.maxpool = (struct dnnq_maxpool_desc){ .isa = m->isa, .geom = { 3, 3, 2, 2, 1, 1, 1,
	                                           1, 1, 1, false } };
	int id = dnnq_graph_add_node(m->g, &d, m->diag);
	if (id < 0 || id >= MAX_T)
		return m->fail = -1;
	size_t oh = (m->h[x] - 1) / 2 + 1, ow = (m->w[x] - 1) / 2 + 1, c = m->c[x];
	m->sample[id] = malloc(oh * ow * c);
	for (size_t y = 0; y < oh; y++)
		for (size_t xx = 0; xx < ow; xx++)
			for (size_t ch = 0; ch < c; ch++) {
				uint8_t v = 0;
				for (long dy = -1; dy <= 1; dy++)
					for (long dx = -1; dx <= 1; dx++) {
						long iy = (long)(2 * y) + dy, ix = (long)(2 * xx) + dx;
						if (iy < 0 || ix < 0 || iy >= (long)m->h[x] || ix >= (long)m->w[x])
							continue;
						uint8_t s = m->sample[x][((size_t)iy * m->w[x] + (size_t)ix) * c + ch];
						v = s > v ? s : v;
					}
				m->sample[id][(y * ow + xx) * c + ch] = v;
			}
	m->h[id] = oh;
	m->w[id] = ow;
	m->c[id] = c;
	m->qp[id] = m->qp[x];
	return id;
}

/* global average pool, flatten, FC to 1000 classes (f32 logits) */
static int head(struct mb *m, int x)
{
	struct dnnq_node_desc d = { .kind = DNNQ_NODE_GAVGPOOL, .name = "gap", .ninputs = 1,
	                            .inputs = { x } };
	d.op.gavgpool = (struct dnnq_gavgpool_desc){ .isa = m->isa, .out_qp = m->qp[x] };
	int p = dnnq_graph_add_node(m->g, &d, m->diag);
	struct dnnq_node_desc f = { .kind = DNNQ_NODE_RESHAPE, .name = "flatten", .ninputs = 1,
	                            .inputs = { p } };
	f.op.reshape.ndim = 2;
	f.op.reshape.dims[1] = (int64_t)m->c[x];
	int fl = p < 0 ? p : dnnq_graph_add_node(m->g, &f, m->diag);
	if (fl < 0)
		return m->fail = -1;
	size_t k = m->c[x], n = 1000;
	int8_t *w = malloc(n * k);
	float scale = (float)(sqrt(1.0 / (double)k) / 36.7);
	for (size_t i = 0; i < n * k; i++)
		w[i] = (int8_t)rng_int(&m->r, -63, 63);
	struct dnnq_node_desc fc = { .kind = DNNQ_NODE_FC, .name = "fc", .ninputs = 1,
	                             .inputs = { fl } };
	fc.op.fc = (struct dnnq_fc_desc){ .isa = m->isa, .n = n, .k = k, .w = w, .nwq = 1,
	                                  .w_scale = &scale, .out_dtype = DNNQ_DTYPE_F32,
	                                  .acc16 = acc16_here(m, m->nconv),
	                                  .acc16_opts = m->o ? m->o->acc16_opts
	                                                     : (struct dnnq_acc16_opts){ 0, 0 } };
	int y = dnnq_graph_add_node(m->g, &fc, m->diag);
	free(w);
	if (y < 0 || dnnq_graph_add_output(m->g, y, m->diag) || dnnq_graph_finalize(m->g, m->diag))
		return m->fail = -1;
	return y;
}

static int basic_block(struct mb *m, int x, size_t cout, size_t stride)
{
	int a = conv(m, x, cout, 3, stride, 1, ACT_RELU);
	int b = conv(m, a, cout, 3, 1, 1, ACT_NONE);
	int skip = stride != 1 || m->c[x] != cout ? conv(m, x, cout, 1, stride, 1, ACT_NONE) : x;
	return add(m, b, skip, true);
}

static void resnet18(struct mb *m, int x)
{
	x = conv(m, x, 64, 7, 2, 1, ACT_RELU);
	x = maxpool(m, x);
	static const size_t widths[4] = { 64, 128, 256, 512 };
	for (int s = 0; s < 4; s++) {
		x = basic_block(m, x, widths[s], s ? 2 : 1);
		x = basic_block(m, x, widths[s], 1);
	}
	head(m, x);
}

static int inverted_residual(struct mb *m, int x, size_t t, size_t cout, size_t stride)
{
	size_t cin = m->c[x];
	int h = t == 1 ? x : conv(m, x, cin * t, 1, 1, 1, ACT_RELU6);
	h = conv(m, h, cin * t, 3, stride, cin * t, ACT_RELU6);
	h = conv(m, h, cout, 1, 1, 1, ACT_NONE);
	return stride == 1 && cin == cout ? add(m, h, x, false) : h;
}

static void mobilenetv2(struct mb *m, int x)
{
	static const size_t cfg[7][4] = {
		{ 1, 16, 1, 1 }, { 6, 24, 2, 2 }, { 6, 32, 3, 2 }, { 6, 64, 4, 2 },
		{ 6, 96, 3, 1 }, { 6, 160, 3, 2 }, { 6, 320, 1, 1 },
	};
	x = conv(m, x, 32, 3, 2, 1, ACT_RELU6);
	for (int b = 0; b < 7; b++)
		for (size_t i = 0; i < cfg[b][2]; i++)
			x = inverted_residual(m, x, cfg[b][0], cfg[b][1], i ? 1 : cfg[b][3]);
	x = conv(m, x, 1280, 1, 1, 1, ACT_RELU6);
	head(m, x);
}

struct dnnq_graph *model_build(enum model_kind kind, enum dnnq_isa isa, uint64_t seed,
                               struct dnnq_diag *diag)
{
	return model_build_opts(kind, isa, seed, NULL, diag);
}

struct dnnq_graph *model_build_opts(enum model_kind kind, enum dnnq_isa isa, uint64_t seed,
                                    const struct model_opts *o, struct dnnq_diag *diag)
{
	struct mb *m = calloc(1, sizeof *m);
	if (!m || dnnq_graph_create(&m->g)) {
		free(m);
		return NULL;
	}
	m->o = o;
	m->isa = isa;
	m->r.s = seed * 0x9E3779B97F4A7C15ULL + 1;
	m->diag = diag;
	const struct dnnq_qparams qin = { 1.0f / 64, 128, 8, false };
	int64_t dims[4] = { 1, 224, 224, 3 };
	int x = dnnq_graph_add_input(m->g, "image", DNNQ_DTYPE_U8, 4, dims, &qin, diag);
	if (x >= 0) {
		m->sample[x] = malloc(224 * 224 * 3);
		for (size_t i = 0; i < 224 * 224 * 3; i++)
			m->sample[x][i] = (uint8_t)rng_int(&m->r, 0, 255);
		m->h[x] = m->w[x] = 224;
		m->c[x] = 3;
		m->qp[x] = qin;
		if (kind == MODEL_RESNET18)
			resnet18(m, x);
		else
			mobilenetv2(m, x);
	}
	struct dnnq_graph *g = m->g;
	if (o && o->nlayers)
		*o->nlayers = m->nconv + 1;   /* the convolutions and the FC */
	if (x < 0 || m->fail) {
		dnnq_graph_destroy(g);
		g = NULL;
	}
	for (int i = 0; i < MAX_T; i++)
		free(m->sample[i]);
	free(m);
	return g;
}

const char *model_name(enum model_kind kind)
{
	return kind == MODEL_RESNET18 ? "resnet18" : "mobilenetv2";
}

const struct model_conv_shape model_resnet18_convs[] = {
	{ "conv1 7x7/2", 224, 224, 3, 64, 7, 2, 3 },
	{ "layer1 3x3", 56, 56, 64, 64, 3, 1, 1 },
	{ "layer2 3x3/2", 56, 56, 64, 128, 3, 2, 1 },
	{ "layer2 1x1/2", 56, 56, 64, 128, 1, 2, 0 },
	{ "layer2 3x3", 28, 28, 128, 128, 3, 1, 1 },
	{ "layer3 3x3/2", 28, 28, 128, 256, 3, 2, 1 },
	{ "layer3 1x1/2", 28, 28, 128, 256, 1, 2, 0 },
	{ "layer3 3x3", 14, 14, 256, 256, 3, 1, 1 },
	{ "layer4 3x3/2", 14, 14, 256, 512, 3, 2, 1 },
	{ "layer4 1x1/2", 14, 14, 256, 512, 1, 2, 0 },
	{ "layer4 3x3", 7, 7, 512, 512, 3, 1, 1 },
};
const size_t model_resnet18_nconvs = sizeof model_resnet18_convs / sizeof model_resnet18_convs[0];

/* ---- acc16 where it costs a layer's output little ---- */

int model_shadow_layers(struct dnnq_graph *g, const uint8_t *image, double *sqnr_db,
                        int *nlayers, struct dnnq_diag *diag)
{
	enum { LOGITS = 1000 };
	int rc = dnnq_graph_plan(g, 1, 1, diag);
	size_t nn = dnnq_graph_num_nodes(g);
	struct dnnq_node_report *r = calloc(nn ? nn : 1, sizeof *r);
	float *y = malloc(LOGITS * sizeof *y);
	const void *in[1] = { image };
	void *out[1] = { y };
	if (!rc && (!r || !y))
		rc = dnnq_diag_set(diag, DNNQ_E_NOMEM, "acc16 selection: out of memory");
	if (!rc && (rc = dnnq_graph_shadow(g, in, out, NULL, r)))
		dnnq_diag_set(diag, rc, "acc16 selection: the shadow run failed");
	int n = 0;
	for (size_t i = 0; !rc && i < nn; i++)
		if ((r[i].kind == DNNQ_NODE_CONV || r[i].kind == DNNQ_NODE_FC) && n < MODEL_MAX_LAYERS)
			sqnr_db[n++] = r[i].sqnr_db;
	*nlayers = n;
	free(r);
	free(y);
	return rc;
}

int model_acc16_select(enum model_kind kind, enum dnnq_isa isa, uint64_t seed,
                       const struct dnnq_acc16_opts *ao, double max_loss_db, bool *keep,
                       double *loss_db, int *nlayers, struct dnnq_diag *diag)
{
	uint8_t *image = malloc(224 * 224 * 3);
	double ref[MODEL_MAX_LAYERS], db[MODEL_MAX_LAYERS];
	struct rng r = { 0xbb67ae8584caa73bull + seed };
	int rc = image ? DNNQ_OK : DNNQ_E_NOMEM, n = 0, nl;
	for (size_t i = 0; !rc && i < 224 * 224 * 3; i++)
		image[i] = (uint8_t)rng_int(&r, 0, 255);
	struct dnnq_graph *g = rc ? NULL : model_build_opts(kind, isa, seed, NULL, diag);
	if (!rc && !g)
		rc = DNNQ_E_INVAL;
	if (!rc)
		rc = model_shadow_layers(g, image, ref, &n, diag);
	dnnq_graph_destroy(g);
	for (int l = 0; !rc && l < n; l++) {
		bool only[MODEL_MAX_LAYERS] = { false };
		only[l] = true;
		struct model_opts o = { true, *ao, only, NULL };
		struct dnnq_graph *gl = model_build_opts(kind, isa, seed, &o, diag);
		if (!gl) {
			rc = DNNQ_E_INVAL;
			break;
		}
		rc = model_shadow_layers(gl, image, db, &nl, diag);
		dnnq_graph_destroy(gl);
		loss_db[l] = ref[l] - db[l];
		keep[l] = loss_db[l] < max_loss_db;
	}
	*nlayers = n;
	free(image);
	return rc;
}
