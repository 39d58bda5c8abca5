// tools/stateful-ort.js — runs a stateful ONNX model (a streaming VAD:
// silero VAD v4 "legacy", v5, v6) over a generated audio signal in ONNX
// Runtime, feeding each call's state outputs back as the next call's
// inputs, as an application does. Writes, in OUTDIR:
//   input.npy, and state.npy (v5/v6) or h.npy and c.npy (legacy): each
//     call's inputs, a --calib directory for dnnq-convert (the states are
//     the ones the model really sees, recorded, not made up);
//   ref/OUTPUT.npy: each call's outputs, the fp32 reference.
// The signal: silence (faint noise), a tone burst, noise, a harmonic
// "voiced" burst with a syllable-rate envelope, silence again.
//
// usage: node tools/stateful-ort.js MODEL.onnx OUTDIR [CHUNKS=20] [SR=16000]
// (needs onnxruntime-node: NODE_PATH=DIR/node_modules)
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function npy(file, shape, data) {
	const dims = shape.join(', ') + (shape.length === 1 ? ',' : '');
	let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
	while ((10 + h.length + 1) % 64) h += ' ';
	h += '\n';
	const head = Buffer.alloc(10);
	head.write('\x93NUMPY', 0, 'latin1');
	head[6] = 1; head[7] = 0; head.writeUInt16LE(h.length, 8);
	fs.writeFileSync(file, Buffer.concat([head, Buffer.from(h, 'latin1'),
		Buffer.from(Float32Array.from(data).buffer)]));
}

// A deterministic signal of n samples at rate sr.
function signal(n, sr) {
	let seed = 12345;
	const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296) - 0.5;
	const x = new Float32Array(n);
	for (let i = 0; i < n; i++) {
		const t = i / sr, part = i / n;
		let v = 0.002 * rnd();
		if (part >= 0.15 && part < 0.3) v += 0.3 * Math.sin(2 * Math.PI * 440 * t);
		else if (part >= 0.3 && part < 0.4) v += 0.2 * rnd();
		else if (part >= 0.45 && part < 0.85) {
			const env = 0.5 * (1 - Math.cos(2 * Math.PI * 4 * t));
			for (let k = 1; k <= 8; k++)
				v += env * 0.25 / k * Math.sin(2 * Math.PI * 130 * k * t * (1 + 0.05 * Math.sin(2 * Math.PI * 3 * t)));
			v += 0.02 * rnd();
		}
		x[i] = v;
	}
	return x;
}

async function main() {
	const [model, out, chunksArg, srArg] = process.argv.slice(2);
	if (!model || !out) {
		console.error('usage: node tools/stateful-ort.js MODEL.onnx OUTDIR [CHUNKS] [SR]');
		process.exit(2);
	}
	const chunks = Number(chunksArg || 20), sr = Number(srArg || 16000);
	const win = sr === 16000 ? 512 : 256;
	const s = await ort.InferenceSession.create(model);
	const legacy = s.inputNames.includes('h');
	const states = legacy ? [['h', 'hn'], ['c', 'cn']] : [['state', 'stateN']];
	const sdims = legacy ? [2, 1, 64] : [2, 1, 128];
	const x = signal(chunks * win, sr);
	const rec = { input: [] }, ref = {};
	let st = Object.fromEntries(states.map(([i]) => [i, new Float32Array(sdims.reduce((a, b) => a * b))]));
	for (const [i] of states) rec[i] = [];
	for (let k = 0; k < chunks; k++) {
		const chunk = x.slice(k * win, (k + 1) * win);
		const feeds = { input: new ort.Tensor('float32', chunk, [1, win]),
			sr: new ort.Tensor('int64', BigInt64Array.from([BigInt(sr)]), []) };
		rec.input.push(...chunk);
		for (const [i] of states) {
			feeds[i] = new ort.Tensor('float32', st[i], sdims);
			rec[i].push(...st[i]);
		}
		const r = await s.run(feeds);
		for (const name of s.outputNames) (ref[name] = ref[name] || []).push(...r[name].data);
		for (const [i, o] of states) st[i] = r[o].data;
	}
	fs.mkdirSync(path.join(out, 'ref'), { recursive: true });
	npy(path.join(out, 'input.npy'), [chunks, win], rec.input);
	for (const [i] of states) npy(path.join(out, i + '.npy'), [chunks, ...sdims], rec[i]);
	for (const name of s.outputNames) {
		const per = ref[name].length / chunks;
		npy(path.join(out, 'ref', name + '.npy'), [chunks, per], ref[name]);
	}
	console.log(`${chunks} chunks of ${win} samples at ${sr} Hz; output: ` +
		ref.output.map((p) => p.toFixed(3)).join(' '));
}

main().catch((e) => { console.error(e); process.exit(1); });
