// tools/stateful-ort.js — runs a stateful ONNX model (a streaming VAD:
// silero VAD v4 "legacy", v5, v6) over a generated audio signal in ONNX
// Runtime, feeding each call's state outputs back as the next call's
// inputs, as an application does (v5 and v6 read 64 samples of context
// before each 512-sample frame, as silero's own wrapper feeds them).
// Writes, in OUTDIR:
//   input.npy, and state.npy (v5/v6) or h.npy and c.npy (legacy): each
//     call's inputs, a --calib directory for dnnq-convert (the states are
//     the ones the model really sees, recorded, not made up);
//   ref/OUTPUT.npy: each call's outputs, the fp32 reference.
// The signal: silence (faint noise), a tone burst, noise, a harmonic
// "voiced" burst with a syllable-rate envelope, silence again.
//
// With WAV (16-bit PCM, mono: espeak-ng -w speech.wav "some words"), that
// recording, resampled linearly to SR, is the signal instead.
//
// usage: node tools/stateful-ort.js MODEL.onnx OUTDIR [CHUNKS=20] [SR=16000] [WAV]
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

// A 16-bit PCM mono WAV file's samples at rate sr, n of them (zeros past
// its end).
function wav(file, n, sr) {
	const b = fs.readFileSync(file);
	let at = 12, rate = 0, data = null;
	while (at + 8 <= b.length) {
		const id = b.toString('latin1', at, at + 4), len = b.readUInt32LE(at + 4);
		if (id === 'fmt ') {
			if (b.readUInt16LE(at + 8) !== 1 || b.readUInt16LE(at + 10) !== 1 ||
			    b.readUInt16LE(at + 22) !== 16)
				throw new Error(`${file}: not 16-bit PCM mono`);
			rate = b.readUInt32LE(at + 12);
		} else if (id === 'data') {
			data = new Int16Array(b.buffer.slice(b.byteOffset + at + 8,
				b.byteOffset + at + 8 + Math.min(len, b.length - at - 8)));
		}
		at += 8 + len + (len & 1);
	}
	if (!rate || !data) throw new Error(`${file}: no fmt or data chunk`);
	const x = new Float32Array(n);
	for (let i = 0; i < n; i++) {
		const t = i * rate / sr, k = Math.floor(t), f = t - k;
		const a = k < data.length ? data[k] : 0, c = k + 1 < data.length ? data[k + 1] : 0;
		x[i] = (a + f * (c - a)) / 32768;
	}
	return x;
}

async function main() {
	const [model, out, chunksArg, srArg, wavFile] = process.argv.slice(2);
	if (!model || !out) {
		console.error('usage: node tools/stateful-ort.js MODEL.onnx OUTDIR [CHUNKS] [SR] [WAV]');
		process.exit(2);
	}
	const chunks = Number(chunksArg || 20), sr = Number(srArg || 16000);
	const win = sr === 16000 ? 512 : 256;
	const s = await ort.InferenceSession.create(model);
	const legacy = s.inputNames.includes('h');
	const states = legacy ? [['h', 'hn'], ['c', 'cn']] : [['state', 'stateN']];
	const sdims = legacy ? [2, 1, 64] : [2, 1, 128];
	const x = wavFile ? wav(wavFile, chunks * win, sr) : signal(chunks * win, sr);
	const rec = { input: [] }, ref = {};
	let st = Object.fromEntries(states.map(([i]) => [i, new Float32Array(sdims.reduce((a, b) => a * b))]));
	for (const [i] of states) rec[i] = [];
	// v5 and v6 read each frame after the last 64 samples of the one before
	// (silero's wrapper, vad-web's): [1, 64 + 512]
	const ctx = legacy ? 0 : sr === 16000 ? 64 : 32, len = ctx + win;
	for (let k = 0; k < chunks; k++) {
		const chunk = new Float32Array(len);
		chunk.set(x.slice(Math.max(0, k * win - ctx), (k + 1) * win), k ? 0 : ctx);
		const feeds = { input: new ort.Tensor('float32', chunk, [1, len]) };
		if (s.inputNames.includes('sr'))     // a 16 kHz-only export has none
			feeds.sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(sr)]), []);
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
	npy(path.join(out, 'input.npy'), [chunks, len], rec.input);
	for (const [i] of states) npy(path.join(out, i + '.npy'), [chunks, ...sdims], rec[i]);
	for (const name of s.outputNames) {
		const per = ref[name].length / chunks;
		npy(path.join(out, 'ref', name + '.npy'), [chunks, per], ref[name]);
	}
	console.log(`${chunks} chunks of ${win} samples (${len} with context) at ${sr} Hz; output: ` +
		ref.output.map((p) => p.toFixed(3)).join(' '));
}

main().catch((e) => { console.error(e); process.exit(1); });
