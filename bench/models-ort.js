// dnnq-bench models' peer: ONNX Runtime (onnxruntime-node) in one
// long-lived process, so node's start and the sessions' creation are not
// timed.
// usage: node models-ort.js INT8.onnx FP32.onnx INPUT.f32 DIMS OUTDIR T...
// Creates a session for each model (the QDQ int8 one, the float one) and
// each intra-op thread count T (session k: model k / nT, threads T[k % nT]),
// runs each once on INPUT (raw float32 of shape DIMS, e.g. 1x3x224x224),
// writes the output of the first session of each model as raw float32 to
// OUTDIR/ort-int8.f32 and OUTDIR/ort-fp32.f32, then prints "ready K" (K sessions). Then each line
// "k n" on stdin runs session k n times and answers with the n times in ms
// on one line. Ends at the end of stdin.
const ort = require('onnxruntime-node');
const fs = require('fs');
const readline = require('readline');

(async () => {
    const [int8, fp32, input, dims, outdir, ...threads] = process.argv.slice(2);
    if (!threads.length)
        throw new Error('usage: node models-ort.js INT8.onnx FP32.onnx INPUT.f32 DIMS OUTDIR '
                        + 'T...');
    const b = fs.readFileSync(input);
    const data = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    const x = new ort.Tensor('float32', data, dims.split('x').map(Number));
    const sessions = [];
    for (const [model, tag] of [[int8, 'int8'], [fp32, 'fp32']]) {
        for (const t of threads) {
            const s = await ort.InferenceSession.create(model, { intraOpNumThreads: Number(t),
                interOpNumThreads: 1, executionMode: 'sequential',
                graphOptimizationLevel: 'all',
                extra: { session: { intra_op: { allow_spinning: '0' } } } });
            const feeds = { [s.inputNames[0]]: x };
            const y = (await s.run(feeds))[s.outputNames[0]].data;
            if (t === threads[0])
                fs.writeFileSync(`${outdir}/ort-${tag}.f32`, Buffer.from(y.buffer, y.byteOffset,
                                 y.byteLength));
            sessions.push({ s, feeds });
        }
    }
    console.log(`ready ${sessions.length}`);
    for await (const line of readline.createInterface({ input: process.stdin })) {
        const [k, n] = line.trim().split(/\s+/).map(Number);
        if (!(k >= 0 && k < sessions.length) || !(n >= 1))
            throw new Error(`bad request '${line}'`);
        const { s, feeds } = sessions[k], ms = [];
        for (let i = 0; i < n; i++) {
            const t0 = process.hrtime.bigint();
            await s.run(feeds);
            ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        console.log(ms.join(' '));
    }
})().catch(e => { console.error(`models-ort.js: ${e.message}`); process.exit(1); });
