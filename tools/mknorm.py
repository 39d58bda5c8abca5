#!/usr/bin/python3
"""tools/mknorm.py: the fixtures of the normalizations, tests/onnx/norm/
(LRN, LpNormalization, MeanVarianceNormalization), for the convert
suite's case norm_models (tests/test_convert.c; docs/onnx.md, "Supported
operators").

Each case is a model built with onnx.helper (seeded numpy weights), its
inputs and ONNX Runtime's outputs on them (CPU provider, through
onnxruntime-node and tools/ort-npy.js): NAME.onnx, NAME.in0.npy,
NAME.out.npy. MANIFEST has one line per case, NAME KIND NINPUTS, KIND
`fp32` as the conformance cases of tests/onnx/ops: calibrated on its
inputs and converted int8 (SQNR >= 30 dB against ONNX Runtime's outputs),
and with every node fp32 (within 1e-5).

lrn_net: the layer pattern of the ONNX Model Zoo's Caffe-converted CNNs
(bvlcalexnet, caffenet, googlenet, zfnet512), opset 9 as theirs: Conv
(3->16, 5x5, stride 2) Relu LRN (size 5, alpha 1e-4, beta 0.75, bias 1:
AlexNet's) MaxPool (3x3, stride 2), an inception block (1x1; 1x1 then
3x3; MaxPool 3x3 stride 1 then 1x1; each with its Relu) and its Concat,
LRN (size 3, alpha 2e-4, beta 0.75, bias 2), MaxPool, Flatten, Gemm to 10
classes. Inputs [4, 3, 32, 32] as a Caffe model sees an image: pixels
0..255 less a mean of 117, so the sums of squares are large enough for
LRN to change the activations by a factor up to ~3, as in the zoo's.

lrn_wide: LRN alone (size 7, alpha 1e-3, beta 0.6, bias 1.5) over 21
channels of [2, 21, 5, 3]: the kernel's vector path in the middle
channels and its scalar edges.

lpnorm_net: Conv (3->8, 3x3) Relu LpNormalization (axis 1, p 1: the
channels of each pixel summing to 1; a pixel the Relu zeroed stays 0)
GlobalAveragePool Flatten Gemm (8->16) LpNormalization (axis -1, p 2: a
unit embedding, as a face or retrieval model ends), opset 13, on
[4, 3, 8, 8].

mvn: Conv (3->6, 3x3, pad 1) MeanVarianceNormalization (axes [2, 3]:
each channel of each image) Relu, opset 13, on [4, 3, 8, 8].

mvn_opset8: Conv (3->6, 3x3, pad 1) MeanVarianceNormalization
(across_channels 1, normalize_variance 1) Relu MeanVarianceNormalization
(across_channels 0, normalize_variance 0), opset 8, on [1, 3, 8, 8]: the
form before opset 9, whose statistics take in the batch as opset 9's
default axes do (the import fixes the batch to 1). The onnx package has
no schema for it, so this model skips onnx.checker.

Run from the repository root with Debian's interpreter (onnx, numpy) and
onnxruntime-node on NODE_PATH:
    NODE_PATH=build/bench-calib/node_modules /usr/bin/python3 tools/mknorm.py
Deterministic: fixed seeds.
"""

import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "onnx", "norm")


def save(name, kind, graph, opset, x, manifest, check=True):
    """check False: the onnx package has no schema for the operator at
    this opset (MeanVarianceNormalization before 9); ONNX Runtime runs it."""
    import onnx
    from onnx import helper as h
    m = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)],
                     producer_name="tools/mknorm.py")
    m.ir_version = 4
    if check:
        onnx.checker.check_model(m, full_check=True)
    path = os.path.join(OUT, name + ".onnx")
    onnx.save(m, path)
    xin = os.path.join(OUT, name + ".in0.npy")
    np.save(xin, x, allow_pickle=False)
    subprocess.run(["node", os.path.join(ROOT, "tools", "ort-npy.js"), path,
                    os.path.join(OUT, name), xin], check=True)
    manifest.append("%s %s 1" % (name, kind))


def lrn_net(manifest):
    from onnx import TensorProto, helper as h, numpy_helper as nh
    r = np.random.default_rng(42)
    inits = []

    def w(name, shape, fan_in):
        a = (r.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        inits.append(nh.from_array(a, name))
        return name

    def b(name, n):
        inits.append(nh.from_array((r.standard_normal(n) * 0.1).astype(np.float32), name))
        return name

    def conv(x, y, cin, cout, k, stride=1, pad=0):
        return [h.make_node("Conv", [x, w(y + "_w", (cout, cin, k, k), cin * k * k),
                                     b(y + "_b", cout)], [y + "_c"], kernel_shape=[k, k],
                            strides=[stride, stride], pads=[pad] * 4),
                h.make_node("Relu", [y + "_c"], [y])]

    nodes = conv("data_0", "conv1", 3, 16, 5, 2, 2)
    nodes += [h.make_node("LRN", ["conv1"], ["norm1"], size=5, alpha=1e-4, beta=0.75, bias=1.0),
              h.make_node("MaxPool", ["norm1"], ["pool1"], kernel_shape=[3, 3], strides=[2, 2])]
    nodes += conv("pool1", "inc_1x1", 16, 8, 1)
    nodes += conv("pool1", "inc_3x3_reduce", 16, 6, 1)
    nodes += conv("inc_3x3_reduce", "inc_3x3", 6, 12, 3, 1, 1)
    nodes += [h.make_node("MaxPool", ["pool1"], ["inc_pool"], kernel_shape=[3, 3],
                          strides=[1, 1], pads=[1, 1, 1, 1])]
    nodes += conv("inc_pool", "inc_pool_proj", 16, 4, 1)
    nodes += [h.make_node("Concat", ["inc_1x1", "inc_3x3", "inc_pool_proj"], ["inc_out"],
                          axis=1),
              h.make_node("LRN", ["inc_out"], ["norm2"], size=3, alpha=2e-4, beta=0.75,
                          bias=2.0),
              h.make_node("MaxPool", ["norm2"], ["pool2"], kernel_shape=[3, 3], strides=[2, 2]),
              h.make_node("Flatten", ["pool2"], ["flat"]),
              h.make_node("Gemm", ["flat", w("fc_w", (10, 24 * 3 * 3), 24 * 9),
                                   b("fc_b", 10)], ["prob"], transB=1)]
    g = h.make_graph(nodes, "lrn_net",
                     [h.make_tensor_value_info("data_0", TensorProto.FLOAT, ["N", 3, 32, 32])],
                     [h.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 10])],
                     initializer=inits)
    x = (r.integers(0, 256, (4, 3, 32, 32)) - 117).astype(np.float32)
    save("lrn_net", "fp32", g, 9, x, manifest)


def conv_init(r, name, cout, cin, k):
    from onnx import numpy_helper as nh
    w = (r.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))).astype(np.float32)
    return [nh.from_array(w, name + "_w"),
            nh.from_array((r.standard_normal(cout) * 0.1).astype(np.float32), name + "_b")]


def lpnorm_net(manifest):
    from onnx import TensorProto, helper as h, numpy_helper as nh
    r = np.random.default_rng(44)
    fc = (r.standard_normal((16, 8)) * 0.5).astype(np.float32)
    inits = conv_init(r, "c1", 8, 3, 3) + [nh.from_array(fc, "fc_w")]
    nodes = [h.make_node("Conv", ["x", "c1_w", "c1_b"], ["c1"], kernel_shape=[3, 3]),
             h.make_node("Relu", ["c1"], ["r1"]),
             h.make_node("LpNormalization", ["r1"], ["n1"], axis=1, p=1),
             h.make_node("GlobalAveragePool", ["n1"], ["g"]),
             h.make_node("Flatten", ["g"], ["f"]),
             h.make_node("Gemm", ["f", "fc_w"], ["e"], transB=1),
             h.make_node("LpNormalization", ["e"], ["y"], axis=-1, p=2)]
    g = h.make_graph(nodes, "lpnorm_net",
                     [h.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                     [h.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 16])],
                     initializer=inits)
    save("lpnorm_net", "fp32", g, 13, r.standard_normal((4, 3, 8, 8)).astype(np.float32),
         manifest)


def mvn(manifest):
    from onnx import TensorProto, helper as h
    r = np.random.default_rng(45)
    nodes = [h.make_node("Conv", ["x", "c1_w", "c1_b"], ["c1"], kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
             h.make_node("MeanVarianceNormalization", ["c1"], ["n1"], axes=[2, 3]),
             h.make_node("Relu", ["n1"], ["y"])]
    g = h.make_graph(nodes, "mvn",
                     [h.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                     [h.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6, 8, 8])],
                     initializer=conv_init(r, "c1", 6, 3, 3))
    save("mvn", "fp32", g, 13, (r.standard_normal((4, 3, 8, 8)) * 3 + 1).astype(np.float32),
         manifest)


def mvn_opset8(manifest):
    """MeanVarianceNormalization before opset 9 (its experimental form's
    attributes, which ONNX Runtime's kernel of opsets 1-8 requires): one
    across the channels, normalizing C, H, W together (and the batch: one
    image), then one of the mean alone per channel."""
    from onnx import TensorProto, helper as h
    r = np.random.default_rng(46)
    nodes = [h.make_node("Conv", ["x", "c1_w", "c1_b"], ["c1"], kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
             h.make_node("MeanVarianceNormalization", ["c1"], ["n1"], across_channels=1,
                         normalize_variance=1),
             h.make_node("Relu", ["n1"], ["r1"]),
             h.make_node("MeanVarianceNormalization", ["r1"], ["y"], across_channels=0,
                         normalize_variance=0)]
    g = h.make_graph(nodes, "mvn_opset8",
                     [h.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                     [h.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6, 8, 8])],
                     initializer=conv_init(r, "c1", 6, 3, 3))
    save("mvn_opset8", "fp32", g, 8,
         (r.standard_normal((1, 3, 8, 8)) * 3 + 1).astype(np.float32), manifest, check=False)


def lrn_wide(manifest):
    from onnx import TensorProto, helper as h
    r = np.random.default_rng(43)
    g = h.make_graph([h.make_node("LRN", ["x"], ["y"], size=7, alpha=1e-3, beta=0.6, bias=1.5)],
                     "lrn_wide",
                     [h.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 21, 5, 3])],
                     [h.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 21, 5, 3])])
    x = (r.standard_normal((2, 21, 5, 3)) * 20).astype(np.float32)
    save("lrn_wide", "fp32", g, 13, x, manifest)


def main():
    if len(sys.argv) > 1:
        sys.exit(__doc__)
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    lrn_net(manifest)
    lrn_wide(manifest)
    lpnorm_net(manifest)
    mvn(manifest)
    mvn_opset8(manifest)
    with open(os.path.join(OUT, "MANIFEST"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    print("norm: %d cases" % len(manifest))


if __name__ == "__main__":
    main()
