// tools/ort-npy.js: ONNX Runtime's outputs (CPU provider, onnxruntime-node) of MODEL
// on .npy inputs of any of float32, uint8, int8, int32, int64 (the whole batch in one run),
// written as OUT_PREFIX.out.npy, OUT_PREFIX.out1.npy, ... in the outputs' own dtypes.
// tools/mkms.py runs it for the fixtures of tests/onnx/ms (docs/onnx.md).
// usage: NODE_PATH=.../node_modules node ort-npy.js MODEL OUT_PREFIX X0.npy X1.npy ...
'use strict';
const ort = require('onnxruntime-node');
const fs = require('fs');
const TYPES = { '<f4': ['float32', Float32Array], '|u1': ['uint8', Uint8Array],
                '|i1': ['int8', Int8Array], '<i4': ['int32', Int32Array],
                '<i8': ['int64', BigInt64Array] };
function load(path) {
  const b = fs.readFileSync(path), hl = b.readUInt16LE(8), h = b.subarray(10, 10 + hl).toString();
  const descr = h.match(/'descr': '([^']*)'/)[1], t = TYPES[descr];
  if (!t) throw new Error(`${path}: dtype ${descr}`);
  const shape = h.match(/'shape': \(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const raw = b.subarray(10 + hl), copy = new ArrayBuffer(raw.length);
  new Uint8Array(copy).set(raw);
  return new ort.Tensor(t[0], new t[1](copy), shape);
}
function save(path, t) {
  const descr = Object.keys(TYPES).find(k => TYPES[k][0] === t.type);
  if (!descr) throw new Error(`${path}: output type ${t.type}`);
  const dims = t.dims.join(', ') + (t.dims.length === 1 ? ',' : '');
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  while ((h.length + 11) % 64) h += ' ';
  h += '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(h.length, 8);
  const d = t.data;
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(h, 'latin1'),
                                        Buffer.from(d.buffer, d.byteOffset, d.byteLength)]));
}
(async () => {
  const [model, prefix, ...inputs] = process.argv.slice(2);
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const feeds = {};
  s.inputNames.forEach((n, i) => { feeds[n] = load(inputs[i]); });
  const r = await s.run(feeds);
  s.outputNames.forEach((n, k) => save(`${prefix}.out${k ? k : ''}.npy`, r[n]));
})().catch(e => { console.error(e.message); process.exit(1); });
