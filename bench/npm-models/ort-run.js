// bench/npm-models/ort-run.js: ONNX Runtime's outputs of MODEL, the reference the
// npm-models scripts measure dnnq against (docs/onnx.md, "Pretrained models from npm
// packages"). Runs every sample (dim 0) of the float32 arrays one at a time and
// writes OUTDIR/<output>.npy stacked (':' and other unsafe characters as '_'): on
// dim 0 when the output's dim 0 is 1, on a new dim 0 when it is not (a
// time-major [T, 1, C]). NAME~=X.npy feeds each sample without a dim 0 (an
// unbatched input: SAM's orig_im_size [2]). ORT_REPEAT=N: the session on one
// intra-op thread (as dnnq-run's default), then N timed runs of the first
// sample, their median printed as "ort median ms X".
// usage: NODE_PATH=.../node_modules node ort-run.js MODEL OUTDIR NAME=X.npy ...
const ort = require('onnxruntime-node'); const fs = require('fs');
function npy(path) {
  const b = fs.readFileSync(path); const hl = b.readUInt16LE(8), h = b.subarray(10, 10 + hl).toString();
  const shape = h.match(/shape': \(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  return { shape, data: new Float32Array(b.buffer.slice(b.byteOffset + 10 + hl, b.byteOffset + b.length)) };
}
function save(path, shape, data) {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length == 1 ? ',' : ''}), }`;
  while ((h.length + 11) % 64) h += ' '; h += '\n';
  const hb = Buffer.alloc(10); hb.write('\x93NUMPY', 0, 'latin1'); hb[6] = 1; hb[7] = 0; hb.writeUInt16LE(h.length, 8);
  fs.writeFileSync(path, Buffer.concat([hb, Buffer.from(h, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}
(async () => {
  const [model, out, ...ins] = process.argv.slice(2);
  const reps = Number(process.env.ORT_REPEAT || 0);
  const s = await ort.InferenceSession.create(model, reps ? { intraOpNumThreads: 1, interOpNumThreads: 1 } : {});
  const arrs = ins.map(a => { const [n, p] = a.split('='); return [n.replace(/~$/, ''), npy(p), n.endsWith('~')]; });
  const n = arrs[0][1].shape[0]; const res = {};
  for (let i = 0; i < n; i++) {
    const feeds = {};
    for (const [name, a, flat] of arrs) { const per = a.data.length / n; feeds[name] = new ort.Tensor('float32', a.data.slice(i * per, (i + 1) * per), flat ? a.shape.slice(1) : [1, ...a.shape.slice(1)]); }
    const r = await s.run(feeds);
    for (const k of s.outputNames) { (res[k] = res[k] || []).push(r[k]); }
    if (i == 0 && reps) {
      const ms = [];
      for (let j = 0; j < reps; j++) { const t0 = process.hrtime.bigint(); await s.run(feeds); ms.push(Number(process.hrtime.bigint() - t0) / 1e6); }
      ms.sort((a, b) => a - b); console.log(`ort median ms ${ms[reps >> 1].toFixed(2)}`);
    }
  }
  fs.mkdirSync(out, { recursive: true });
  for (const k of s.outputNames) {
    const t = res[k]; const per = t[0].data.length; const all = new Float32Array(per * n);
    t.forEach((x, i) => all.set(x.data, i * per));
    const d = t[0].dims;
    save(`${out}/${k.replace(/[^A-Za-z0-9_.-]/g, '_')}.npy`, [n, ...(d[0] == 1 ? d.slice(1) : d)], all);
  }
})().catch(e => { console.error(e.message); process.exit(1); });
