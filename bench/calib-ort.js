// dnnq-bench calib's peer: ONNX Runtime (onnxruntime-node, one intra-op
// thread) runs MODEL on every sample of NPY (float32 [n, ...]) one at a
// time, once to warm up, then once timed: prints the timed pass's seconds,
// wall-clock and CPU (the process's user + system time over the pass: on
// a shared host the wall-clock time counts the other processes' turns).
// usage: node calib-ort.js MODEL NPY
const ort = require('onnxruntime-node');
const fs = require('fs');

function npy(path) {
    const b = fs.readFileSync(path);
    const hl = b.readUInt16LE(8), h = b.subarray(10, 10 + hl).toString();
    if (!h.includes("'<f4'"))
        throw new Error(`${path}: not float32`);
    const shape = h.match(/shape': \(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
    const data = new Float32Array(b.buffer.slice(b.byteOffset + 10 + hl, b.byteOffset + b.length));
    return { shape, data };
}

async function pass(s, a) {
    const per = a.data.length / a.shape[0], one = [1, ...a.shape.slice(1)];
    for (let i = 0; i < a.shape[0]; i++) {
        const x = new ort.Tensor('float32', a.data.subarray(i * per, (i + 1) * per), one);
        await s.run({ [s.inputNames[0]]: x });
    }
}

(async () => {
    const [model, path] = process.argv.slice(2);
    const a = npy(path);
    const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1,
        interOpNumThreads: 1, executionMode: 'sequential' });
    await pass(s, a);
    const t = process.hrtime.bigint(), c = process.cpuUsage();
    await pass(s, a);
    const cpu = process.cpuUsage(c);
    console.log(Number(process.hrtime.bigint() - t) / 1e9, (cpu.user + cpu.system) / 1e6);
})().catch(e => { console.error(e.message); process.exit(1); });
