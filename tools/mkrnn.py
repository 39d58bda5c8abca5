#!/usr/bin/python3
"""tools/mkrnn.py: the fixtures of stateful and control-flow models
(tests/onnx/rnn/), for suite rnn (tests/test_rnn.c).

  lstm.onnx   torch: a bidirectional LSTM without initial state, then a
              forward LSTM from inputs h0 and c0 (torch.onnx.export, opset
              13), over x [5, 1, 6]; x.npy, h0.npy, c0.npy and torch's
              outputs y.npy, hn.npy, cn.npy; x and y with a leading batch axis
              of 1 (dnnq's batch: their dim 0 of 5 is the sequence), h0, c0,
              hn, cn as they are (a dim 0 of 1 is the batch).
  gru.onnx    torch: the same with GRUs (linear_before_reset, as torch
              exports them) over x [4, 1, 6], h0 [1, 1, 8]; gru_*.npy.
  lstm_bf.onnx  torch: a bidirectional LSTM with batch_first=True (no
              state: torch's zeros of a ConstantOfShape of the batch), then a
              Linear, exported with a dynamic batch, over x [3, 5, 6];
              lstm_bf_x.npy and torch's lstm_bf_y.npy.
  gru_bf.onnx the same with a GRU; gru_bf_*.npy.
  lstm_last.onnx  the same with a forward LSTM (its Y squeezed, not
              reshaped) whose last step y[:, -1] feeds the Linear;
              lstm_last_*.npy.
  lstm_l2.onnx, lstm_l3.onnx, gru_l2.onnx, gru_l3.onnx  the same with
              num_layers 2 and 3 (torch's zero state [layers * dirs, N, 8]
              sliced per layer): a bidirectional LSTM of 2 layers and a
              Linear on every step, a forward LSTM of 3 whose last step feeds
              it, a forward GRU of 2 whose mean over time feeds it, a
              bidirectional GRU of 3 and a Linear on every step; *_x.npy,
              *_y.npy.
  lstm_tm.onnx, gru_tm.onnx  batch_first=False, a dynamic batch on dim 1 of
              x [5, N, 6]: a bidirectional LSTM of 2 layers whose y[-1] feeds
              a Linear, a forward GRU of 2 returning y; *_x.npy, *_y.npy as
              dnnq's items ([N, 5, 1, 6]: ONNX's item behind a batch axis).
  rnn_relu_bf.onnx, rnn_tm.onnx  torch's plain RNN so: bidirectional with
              ReLU (DeepSpeech's) and batch_first, a Linear on every step;
              tanh, 2 layers, forward, time-major, returning y.
  lstm_tm_fc.onnx  the same, a bidirectional LSTM whose y [5, N, 16] feeds
              a Linear on every step: y [5, N, 3] (MatMul and Add of the
              bias with the batch on dim 1).
  lstm_st.onnx, gru_st.onnx  the state as inputs and outputs (a streaming
              model): a forward LSTM from h0, c0 [1, N, 8] returning y, hn,
              cn, a bidirectional GRU from h0 [2, N, 8] returning y, hn, over
              x [4, N, 6]; *_x, _h0, _c0, _y, _hn, _cn.npy as dnnq's items
              ([N, 1, 8], [N, 2, 1, 8]).
  lstm_st2.onnx  the same with a forward LSTM of 2 layers (h0 and c0
              [2, N, 8] sliced per layer) returning y, hn, cn (each the
              Concat of the layers' states on ONNX's dim 0); lstm_st2_*.npy.
  lstm_l1.onnx  ONNX's layout 1 (batch first), which torch does not write:
              a bidirectional LSTM node built with onnx.helper from torch's
              batch_first weights, x [N, 4, 6], h0, c0 [N, 2, 8] inputs, y
              [N, 4, 2, 8], hn, cn [N, 2, 8]; lstm_l1_*.npy, torch's.
  gru_symt.onnx  a GRU over x [T, N, 6], both dims symbolic: T is fixed by
              --input-shape (the test's), N stays the batch.
  if.onnx     onnx.helper: y = If(sr == 16000) then x * 2 (2: an initializer of
              the graph, read from the branch) else (If(sr == 8000) then x * -1
              (-1: the branch's initializer) else relu(x)), x and
              sr inputs (sr int64, a scalar: frozen with --input-value); the
              expected outputs are written by the test (they are x * 2, -x).
  if_dyn.onnx the same then-branch under a condition that is an input
              (flag, uint8): refused.
  if_deep.onnx 40 Ifs nested: refused before unpacking (protobuf depth 100).
  if_select.onnx  a condition only known at run time, as openWakeWord's
              hey_jarvis model verifies a detection: p = Sigmoid(ReduceMean(x)),
              If(Cast(p >= 0.5, bool)) then 2x else relu(x), x [N, 4]; both
              branches run, each sample takes its own (the condition has one
              element per sample); sel_x.npy, sel_y.npy (numpy's).
  where.onnx  y = Where(Not(x < 0), x, -x); y2 = Where(Equal(x <= 0.5, mask),
              x, 0), mask a bool initializer [4] broadcast over x [N, 4];
              y3 = Max(x, [-inf, 0.5, -inf, 1]) (an infinite constant: the
              node runs fp32); where_x.npy, where_y*.npy (numpy's).
  loop.onnx   onnx.helper: a Loop of a constant trip count (3) carrying x
              (acc = acc * k + i, k = If(i == 0) then 1 else 0.5,
              y3 through a CastLike to x's type), indices (Concat of i each
              step: [0, 0, 1, 2]) and a sequence (SequenceEmpty, then
              SequenceInsert of i); y = Gather(x, CastLike(ConcatFromSequence
              of the sequence, int32), axis 1), y2 = Gather(x, the indices
              as [2, 2], axis 1): [N, 2, 2]; loop_x.npy, loop_y*.npy (numpy's).
  loop_while.onnx  the same with the body's condition computed from x
              (ReduceMax(acc) < 2): refused.
  loop_seqread.onnx  the same with the sequence read by an Identity: refused.
  loop_long.onnx  2^40 iterations of a body that passes x through: refused
              at the bound on the nodes an import walks.
  loop_pad.onnx  x [N, 1, 4, 4] padded by 1 (P), P read by a Conv (3x3 of
              ones, Y) and by a Loop's body (1 iteration, L = P): the Pad is
              not merged into the Conv; loop_pad_x.npy, loop_pad_*.npy.
  loop_twice.onnx  two Loops (2 iterations of a + 1 each) whose bodies use
              the same names: y = x + 4; loop_twice_x.npy, loop_twice_y.npy.
  loop_scan.onnx  a Loop of 3 iterations carrying a = x + i (x [1, 4]) and
              writing a * i as its scan output: y = x + 3, ys [3, 1, 4];
              loop_scan_x.npy, loop_scan_y*.npy. loop_scan_long.onnx: 17
              iterations, refused.
  loop_shadow.onnx  a body input named x, as the graph input: refused.
  loop_seqmem.onnx  2^40 iterations inserting into a sequence of 1023
              tensors: refused at the bound on the sequences' tensors.
  castlike_int.onnx  y = CastLike(ArgMax(x, axis 1), x): a computed int64
              to float; castlike_int_x.npy, castlike_int_y.npy.
  castlike_bool.onnx  y = CastLike(x, b0), b0 a bool initializer; y2 = x +
              Cast(CastLike(k, x > 0), FLOAT), k the constant [0, 2.5, -1, 0]:
              both a Cast to bool (y the float 0/1 dnnq gives a bool);
              castlike_bool_x.npy (zeros, the others at least 0.25 from
              0), castlike_bool_y*.npy.
  loop_at_names.onnx  y = x + 2 by a Loop of 2 iterations whose body
              Add (node add) defines t, beside a node add@1 defining t@1 =
              x + 1 (the names iteration 1 would take); loop_at_names_x.npy,
              loop_at_names_y.npy, loop_at_names_t@1.npy.
  reduceprod_noop.onnx  ReduceProd with noop_with_empty_axes 2: refused.
  seq_mixed.onnx  ConcatFromSequence of x and an int64 tensor: refused,
              naming both tensors.
  loop_many.onnx  4200 iterations of x + 1: --precision auto leaves its
              4200 units int8 unmeasured (past DNNQ_PRECISION_MAX_WORK).
  loop_cond_squeeze.onnx  y = x + 3: a Loop whose condition (and its
              body's) is a Squeeze of a bool constant, the body adding
              Cast(CastLike(0.5, cond)) (1: cond is a bool); _x.npy, _y.npy.
  loop_cond_int.onnx  a body whose condition out is its iteration number
              (int64): refused (it stopped the loop at iteration 0).
  bool_moves.onnx  x cast like (CastLike, then Cast to float) 28 bools
              moved unchanged from a bool initializer b0 (Squeeze,
              Reshape, Flatten, Transpose, Expand, Slice, Gather, Concat,
              Identity, Where, Tile, Split, ConstantOfShape,
              ConcatFromSequence of SequenceConstruct and of SequenceEmpty
              then SequenceInsert, Pad, ScatterND, an inlined If, a Loop
              carrying b0) and from g = x > 0 (Unsqueeze, Transpose, Slice,
              Concat, Gather, Where, Flatten, Tile, an If on a computed
              condition whose branches give bools), concatenated: y,
              x != 0 28 times; y2
              x cast like Cast(g, FLOAT), x; bool_moves_x.npy,
              bool_moves_y*.npy (numpy's).
  bool_carriers.onnx  Not and Where of a bool initializer b4, Equal of a
              folded Cast to bool and b4, their Concat: folded; y, x times
              each (numpy's); bool_carriers_x.npy, bool_carriers_y.npy.
  bool_frozen.onnx  a bool input flag (a scalar, frozen by the test):
              y = CastLike(x, flag), y2 = If(Not(flag)) then 2x else -x.

Run with Debian's interpreter (torch, onnx, numpy):
    /usr/bin/python3 tools/mkrnn.py [--out tests/onnx/rnn]
Deterministic: fixed seed, one torch thread.
"""
import argparse
import functools
import os

import numpy as np


def lstm(out):
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.LSTM(6, 8, bidirectional=True)
            self.b = torch.nn.LSTM(16, 8)

        def forward(self, x, h0, c0):
            y, _ = self.a(x)
            y2, (hn, cn) = self.b(y, (h0, c0))
            return y2, hn, cn

    torch.manual_seed(7)
    torch.set_num_threads(1)
    net = Net().eval()
    x = torch.randn(5, 1, 6)
    h0 = torch.randn(1, 1, 8) * 0.5
    c0 = torch.randn(1, 1, 8) * 0.5
    with torch.no_grad():
        y, hn, cn = net(x, h0, c0)
    torch.onnx.export(net, (x, h0, c0), os.path.join(out, "lstm.onnx"), opset_version=13,
                      input_names=["x", "h0", "c0"], output_names=["y", "hn", "cn"])
    for name, v in (("x", x), ("h0", h0), ("c0", c0), ("y", y), ("hn", hn), ("cn", cn)):
        v = v.numpy().astype(np.float32)
        np.save(os.path.join(out, name + ".npy"), v[None] if v.shape[0] != 1 else v)


def gru(out):
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.GRU(6, 8, bidirectional=True)
            self.b = torch.nn.GRU(16, 8)

        def forward(self, x, h0):
            y, _ = self.a(x)
            return self.b(y, h0)

    torch.manual_seed(11)
    torch.set_num_threads(1)
    net = Net().eval()
    x = torch.randn(4, 1, 6)
    h0 = torch.randn(1, 1, 8) * 0.5
    with torch.no_grad():
        y, hn = net(x, h0)
    torch.onnx.export(net, (x, h0), os.path.join(out, "gru.onnx"), opset_version=13,
                      input_names=["x", "h0"], output_names=["y", "hn"])
    for name, v in (("x", x), ("h0", h0), ("y", y), ("hn", hn)):
        v = v.numpy().astype(np.float32)
        np.save(os.path.join(out, "gru_" + name + ".npy"), v[None] if v.shape[0] != 1 else v)


def items(v):
    """torch's [A, N, B] as dnnq's items [N, A, 1, B] (a dim A of 1 is the
    batch axis itself: [N, 1, B])"""
    v = np.moveaxis(v.numpy().astype(np.float32), 1, 0)
    return (v if v.shape[1] == 1 else np.expand_dims(v, 2)).copy()


def sequences(out):
    import torch

    class Net(torch.nn.Module):
        def __init__(self, cell, bidi, layers, head, bf):
            super().__init__()
            self.head = head
            self.a = cell(6, 8, num_layers=layers, bidirectional=bidi, batch_first=bf)
            self.fc = torch.nn.Linear(16 if bidi else 8, 3)

        def forward(self, x):
            y, _ = self.a(x)
            if self.head == "y":
                return y
            return self.fc({"all": y, "last": y[:, -1], "mean": y.mean(1), "y[-1]": y[-1]}
                           [self.head])

    for name, cell, bidi, layers, head, seed in (
            ("lstm_bf", torch.nn.LSTM, True, 1, "all", 13),
            ("gru_bf", torch.nn.GRU, True, 1, "all", 17),
            ("lstm_last", torch.nn.LSTM, False, 1, "last", 19),
            ("lstm_l2", torch.nn.LSTM, True, 2, "all", 23),
            ("lstm_l3", torch.nn.LSTM, False, 3, "last", 29),
            ("gru_l2", torch.nn.GRU, False, 2, "mean", 31),
            ("gru_l3", torch.nn.GRU, True, 3, "all", 37),
            ("lstm_tm", torch.nn.LSTM, True, 2, "y[-1]", 41),
            ("gru_tm", torch.nn.GRU, False, 2, "y", 43),
            ("lstm_tm_fc", torch.nn.LSTM, True, 1, "all", 67),
            ("rnn_relu_bf", functools.partial(torch.nn.RNN, nonlinearity="relu"), True, 1,
             "all", 71),
            ("rnn_tm", torch.nn.RNN, False, 2, "y", 73)):
        bf = "_tm" not in name           # time-major: x [T, N, I]
        tm_y = head == "y" or (not bf and head == "all")     # y [T, N, ...]
        torch.manual_seed(seed)
        torch.set_num_threads(1)
        net = Net(cell, bidi, layers, head, bf).eval()
        x = torch.randn(3, 5, 6) if bf else torch.randn(5, 3, 6)
        with torch.no_grad():
            y = net(x)
        torch.onnx.export(net, (x,), os.path.join(out, name + ".onnx"), opset_version=13,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {int(not bf): "N"},
                                        "y": {int(tm_y): "N"}})
        np.save(os.path.join(out, name + "_x.npy"),
                x.numpy().astype(np.float32) if bf else items(x))
        np.save(os.path.join(out, name + "_y.npy"),
                items(y) if tm_y else y.numpy().astype(np.float32))


def stateful(out):
    import torch

    class Stateful(torch.nn.Module):
        def __init__(self, cell, bidi, layers):
            super().__init__()
            self.a = cell(6, 8, num_layers=layers, bidirectional=bidi)
            self.layers = layers

        def forward(self, x, *state):
            y, s = self.a(x, state if len(state) > 1 else state[0])
            # h_n of several layers: a Concat of theirs on ONNX's dim 0
            return (y,) + (s if isinstance(s, tuple) else (s,))

    for name, cell, bidi, layers, seed in (("lstm_st", torch.nn.LSTM, False, 1, 47),
                                           ("gru_st", torch.nn.GRU, True, 1, 53),
                                           ("lstm_st2", torch.nn.LSTM, False, 2, 59)):
        torch.manual_seed(seed)
        torch.set_num_threads(1)
        net = Stateful(cell, bidi, layers).eval()
        dirs = 2 if bidi else 1
        x = torch.randn(4, 3, 6)
        state = tuple(torch.randn(layers * dirs, 3, 8) * 0.5
                      for _ in range(2 if cell is torch.nn.LSTM else 1))
        names = ["h0", "c0"][:len(state)]
        outs = ["y", "hn", "cn"][:len(state) + 1]
        with torch.no_grad():
            got = net(x, *state)
        axes = {k: {1: "N"} for k in ["x"] + names + outs}
        torch.onnx.export(net, (x,) + state, os.path.join(out, name + ".onnx"),
                          opset_version=13, input_names=["x"] + names, output_names=outs,
                          dynamic_axes=axes)
        for k, v in zip(["x"] + names, (x,) + state):
            np.save(os.path.join(out, name + "_" + k + ".npy"), items(v))
        for k, v in zip(outs, got):
            np.save(os.path.join(out, name + "_" + k + ".npy"), items(v))


def layout1(out):
    """ONNX's layout 1 (batch first), which torch never writes: a
    bidirectional LSTM node built with onnx.helper from torch's
    nn.LSTM(batch_first=True) weights (gates i, f, g, o reordered to ONNX's
    i, o, f, c), X [N, 4, 6], initial_h and initial_c [N, 2, 8] inputs, Y
    [N, 4, 2, 8], Y_h and Y_c [N, 2, 8]; torch's outputs expected."""
    import torch
    import onnx
    from onnx import helper, numpy_helper
    torch.manual_seed(79)
    a = torch.nn.LSTM(6, 8, bidirectional=True, batch_first=True).eval()
    x, h0, c0 = torch.randn(3, 4, 6), torch.randn(2, 3, 8) * 0.5, torch.randn(2, 3, 8) * 0.5
    with torch.no_grad():
        y, (hn, cn) = a(x, (h0, c0))
    order = [0, 3, 1, 2]

    def gates(t):
        return torch.cat([t.detach().view(4, 8, -1)[order].reshape(32, -1)])

    sfx = ["", "_reverse"]
    w = torch.stack([gates(getattr(a, "weight_ih_l0" + k)) for k in sfx])
    r = torch.stack([gates(getattr(a, "weight_hh_l0" + k)) for k in sfx])
    b = torch.stack([torch.cat([gates(getattr(a, "bias_ih_l0" + k)).view(-1),
                                gates(getattr(a, "bias_hh_l0" + k)).view(-1)]) for k in sfx])
    f32 = onnx.TensorProto.FLOAT
    vi = lambda n, *d: helper.make_tensor_value_info(n, f32, ["N", *d])
    g = helper.make_graph(
        [helper.make_node("LSTM", ["x", "W", "R", "B", "", "h0", "c0"], ["y", "hn", "cn"],
                          hidden_size=8, direction="bidirectional", layout=1)],
        "lstm_layout1", [vi("x", 4, 6), vi("h0", 2, 8), vi("c0", 2, 8)],
        [vi("y", 4, 2, 8), vi("hn", 2, 8), vi("cn", 2, 8)],
        [numpy_helper.from_array(v.numpy().astype(np.float32), n)
         for n, v in (("W", w), ("R", r), ("B", b))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)], producer_name="mkrnn")
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, os.path.join(out, "lstm_l1.onnx"))
    for k, v in (("x", x), ("h0", h0.transpose(0, 1)), ("c0", c0.transpose(0, 1)),
                 ("y", y.view(3, 4, 2, 8)), ("hn", hn.transpose(0, 1)),
                 ("cn", cn.transpose(0, 1))):
        np.save(os.path.join(out, "lstm_l1_" + k + ".npy"), v.numpy().astype(np.float32))


def symbolic_time(out):
    import torch

    torch.manual_seed(61)
    torch.set_num_threads(1)
    net = torch.nn.GRU(6, 8).eval()
    torch.onnx.export(net, (torch.randn(5, 3, 6),), os.path.join(out, "gru_symt.onnx"),
                      opset_version=13, input_names=["x"], output_names=["y", "hn"],
                      dynamic_axes={"x": {0: "T", 1: "N"}, "y": {0: "T", 1: "N"},
                                    "hn": {1: "N"}})


def if_model(out):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    f = TensorProto.FLOAT
    two = numpy_helper.from_array(np.full([1, 4], 2, np.float32), "two")
    minus = numpy_helper.from_array(np.full([1, 4], -1, np.float32), "minus")
    then_g = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["t"], "times2")],
                               "then", [], [helper.make_tensor_value_info("t", f, [1, 4])])
    neg_g = helper.make_graph([helper.make_node("Mul", ["x", "minus"], ["n"], "neg")], "neg",
                              [], [helper.make_tensor_value_info("n", f, [1, 4])], [minus])
    relu_g = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], "relu")], "relu", [],
                               [helper.make_tensor_value_info("r", f, [1, 4])])
    else_g = helper.make_graph([
        helper.make_node("Constant", [], ["k8"], "k8",
                         value=numpy_helper.from_array(np.array(8000, np.int64))),
        helper.make_node("Equal", ["sr", "k8"], ["is8"], "eq8"),
        helper.make_node("If", ["is8"], ["e"], "inner", then_branch=neg_g, else_branch=relu_g),
    ], "else", [], [helper.make_tensor_value_info("e", f, [1, 4])])
    g = helper.make_graph([
        helper.make_node("Constant", [], ["k16"], "k16",
                         value=numpy_helper.from_array(np.array(16000, np.int64))),
        helper.make_node("Equal", ["sr", "k16"], ["is16"], "eq16"),
        helper.make_node("If", ["is16"], ["y"], "outer", then_branch=then_g, else_branch=else_g),
    ], "if", [helper.make_tensor_value_info("x", f, ["N", 4]),
              helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", f, ["N", 4])], [two])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="mkrnn")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "if.onnx"))
    # the condition an input of the graph (uint8, not ONNX's bool: the
    # checker is not run), which nothing can fold: refused
    g = helper.make_graph([helper.make_node("If", ["flag"], ["y"], "dyn", then_branch=then_g,
                                            else_branch=relu_g)], "if_dyn",
                          [helper.make_tensor_value_info("x", f, ["N", 4]),
                           helper.make_tensor_value_info("flag", TensorProto.UINT8, [])],
                          [helper.make_tensor_value_info("y", f, ["N", 4])], [two])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                                producer_name="mkrnn"), os.path.join(out, "if_dyn.onnx"))
    # 40 Ifs nested in their then-branches, each on the frozen sr: deeper
    # than the importer follows (protobuf nesting past 100 messages, onnx/wire.c)
    inner = relu_g
    for k in range(40):
        eq = helper.make_node("Equal", ["sr", "k16"], [f"c{k}"], f"eq{k}")
        node = helper.make_node("If", [f"c{k}"], [f"d{k}"], f"nest{k}", then_branch=inner,
                                else_branch=relu_g)
        inner = helper.make_graph([eq, node], f"b{k}", [],
                                  [helper.make_tensor_value_info(f"d{k}", f, [1, 4])])
    g = helper.make_graph([
        helper.make_node("Constant", [], ["k16"], "k16",
                         value=numpy_helper.from_array(np.array(16000, np.int64))),
    ] + list(inner.node), "if_deep", [helper.make_tensor_value_info("x", f, ["N", 4]),
                                      helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("d39", f, ["N", 4])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                                producer_name="mkrnn"), os.path.join(out, "if_deep.onnx"))


def select_models(out):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    f = TensorProto.FLOAT
    c = lambda name, v: numpy_helper.from_array(np.asarray(v), name)
    rng = np.random.default_rng(5)
    # samples whose mean is well away from 0 (p far from the 0.5 threshold)
    x = (rng.uniform(-1, 1, (8, 4)) + np.repeat([[1.5], [-1.5]], 4, 0)).astype(np.float32)
    then_g = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["t"], "times2")],
                               "then", [], [helper.make_tensor_value_info("t", f, [1, 4])])
    relu_g = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], "relu")], "relu", [],
                               [helper.make_tensor_value_info("r", f, [1, 4])])
    g = helper.make_graph([
        helper.make_node("ReduceMean", ["x"], ["m"], "mean", axes=[1], keepdims=1),
        helper.make_node("Sigmoid", ["m"], ["p"], "score"),
        helper.make_node("GreaterOrEqual", ["p", "half"], ["ge"], "detect"),
        helper.make_node("Cast", ["ge"], ["cond"], "to_bool", to=TensorProto.BOOL),
        helper.make_node("If", ["cond"], ["y"], "verify", then_branch=then_g,
                         else_branch=relu_g),
    ], "if_select", [helper.make_tensor_value_info("x", f, ["N", 4])],
        [helper.make_tensor_value_info("y", f, ["N", 4])],
        [c("two", np.full([1, 4], 2, np.float32)), c("half", np.float32(0.5))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="mkrnn")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "if_select.onnx"))
    p = 1 / (1 + np.exp(-x.mean(1, keepdims=True)))
    np.save(os.path.join(out, "sel_x.npy"), x)
    np.save(os.path.join(out, "sel_y.npy"), np.where(p >= 0.5, 2 * x, np.maximum(x, 0)))

    x = rng.uniform(-2, 2, (6, 4)).astype(np.float32)
    mask = np.array([True, False, True, False])
    g = helper.make_graph([
        helper.make_node("Less", ["x", "zero"], ["neg"], "is_neg"),
        helper.make_node("Not", ["neg"], ["pos"], "is_pos"),
        helper.make_node("Neg", ["x"], ["nx"], "minus"),
        helper.make_node("Where", ["pos", "x", "nx"], ["y"], "abs"),
        helper.make_node("LessOrEqual", ["x", "half"], ["le"], "small"),
        helper.make_node("Equal", ["le", "mask"], ["eq"], "agree"),
        helper.make_node("Where", ["eq", "x", "zero"], ["y2"], "pick"),
        helper.make_node("Max", ["x", "floor"], ["y3"], "floored"),
    ], "where", [helper.make_tensor_value_info("x", f, ["N", 4])],
        [helper.make_tensor_value_info("y", f, ["N", 4]),
         helper.make_tensor_value_info("y2", f, ["N", 4]),
         helper.make_tensor_value_info("y3", f, ["N", 4])],
        [c("zero", np.float32(0)), c("half", np.float32(0.5)), c("mask", mask),
         c("floor", np.array([-np.inf, 0.5, -np.inf, 1], np.float32))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="mkrnn")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "where.onnx"))
    np.save(os.path.join(out, "where_x.npy"), x)
    np.save(os.path.join(out, "where_y.npy"), np.abs(x))
    np.save(os.path.join(out, "where_y2.npy"),
            np.where((x <= 0.5) == mask, x, 0).astype(np.float32))
    np.save(os.path.join(out, "where_y3.npy"),
            np.maximum(x, [-np.inf, 0.5, -np.inf, 1]).astype(np.float32))

    # two Ifs of two outputs each, named alike in their first 110 bytes
    # (tf2onnx's long scoped names): their outputs' nodes NAME:0, NAME:1
    # stay four names (cut at 100 bytes they were two, "used twice")
    def branch(name, op):
        return helper.make_graph(
            [helper.make_node(op, ["x"], [name + "a"], name + "n1"),
             helper.make_node("Neg", ["x"], [name + "b"], name + "n2")], name, [],
            [helper.make_tensor_value_info(name + "a", f, [1, 4]),
             helper.make_tensor_value_info(name + "b", f, [1, 4])])
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], "mean", axes=[1], keepdims=1),
             helper.make_node("GreaterOrEqual", ["m", "zero"], ["cond"], "ge")]
    for i in (1, 2):
        nodes.append(helper.make_node("If", ["cond"], ["y%da" % i, "y%db" % i],
                                      "A" * 110 + str(i), then_branch=branch("t%d" % i, "Relu"),
                                      else_branch=branch("e%d" % i, "Sigmoid")))
    nodes.append(helper.make_node("Sum", ["y1a", "y1b", "y2a", "y2b"], ["y"], "sum"))
    g = helper.make_graph(nodes, "if_long_names", [helper.make_tensor_value_info("x", f, ["N", 4])],
                          [helper.make_tensor_value_info("y", f, ["N", 4])],
                          [c("zero", np.float32(0))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="mkrnn")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, "if_long_names.onnx"))
    x = (np.random.default_rng(6).uniform(-1, 1, (8, 4))
         + np.repeat([[1.0], [-1.0]], 4, 0)).astype(np.float32)
    pos = x.mean(1, keepdims=True) >= 0
    np.save(os.path.join(out, "ifl_x.npy"), x)
    np.save(os.path.join(out, "ifl_y.npy"),
            (2 * np.where(pos, np.maximum(x, 0), 1 / (1 + np.exp(-x))) - 2 * x).astype(np.float32))


def loop_models(out):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    f, i64 = TensorProto.FLOAT, TensorProto.INT64
    c = lambda name, v: numpy_helper.from_array(np.asarray(v), name)
    then_g = helper.make_graph([helper.make_node("Identity", ["one"], ["k1"], "k_first")],
                               "first", [], [helper.make_tensor_value_info("k1", f, [])])
    else_g = helper.make_graph([helper.make_node("Identity", ["half"], ["k2"], "k_next")],
                               "next", [], [helper.make_tensor_value_info("k2", f, [])])
    body = helper.make_graph([
        helper.make_node("Cast", ["i"], ["fi"], "fi", to=f),
        helper.make_node("Equal", ["i", "zero"], ["first"], "is_first"),
        helper.make_node("If", ["first"], ["k"], "pick", then_branch=then_g, else_branch=else_g),
        helper.make_node("Mul", ["acc", "k"], ["scaled"], "scale"),
        helper.make_node("Add", ["scaled", "fi"], ["acc_out"], "step"),
        helper.make_node("Reshape", ["i", "flat"], ["i1"], "i1"),
        helper.make_node("Concat", ["idx", "i1"], ["idx_out"], "grow", axis=0),
        helper.make_node("SequenceInsert", ["seq", "i1"], ["seq_out"], "insert"),
        helper.make_node("Identity", ["cond"], ["cond_out"], "go_on"),
    ], "body", [helper.make_tensor_value_info("i", i64, []),
                helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
                helper.make_tensor_value_info("acc", f, ["N", 4]),
                helper.make_tensor_value_info("idx", i64, [None]),
                helper.make_tensor_sequence_value_info("seq", i64, [1])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_out", f, ["N", 4]),
         helper.make_tensor_value_info("idx_out", i64, [None]),
         helper.make_tensor_sequence_value_info("seq_out", i64, [1])],
        [c("zero", np.int64(0)), c("flat", np.array([-1], np.int64))])
    g = helper.make_graph([
        helper.make_node("SequenceEmpty", [], ["seq0"], "empty", dtype=i64),
        helper.make_node("Loop", ["three", "", "x", "idx0", "seq0"], ["acc3", "idx3", "seq3"],
                         "unrolled", body=body),
        helper.make_node("ConcatFromSequence", ["seq3"], ["all"], "all", axis=0),
        helper.make_node("CastLike", ["all", "like32"], ["all32"], "to_i32"),
        helper.make_node("Gather", ["x", "all32"], ["y"], "pick3", axis=1),
        helper.make_node("Reshape", ["idx3", "two_by_two"], ["idx2d"], "idx2d"),
        helper.make_node("Gather", ["x", "idx2d"], ["y2"], "pick2d", axis=1),
        helper.make_node("CastLike", ["acc3", "x"], ["y3"], "same_type"),
    ], "loop", [helper.make_tensor_value_info("x", f, ["N", 4])],
        [helper.make_tensor_value_info("y", f, ["N", 3]),
         helper.make_tensor_value_info("y2", f, ["N", 2, 2]),
         helper.make_tensor_value_info("y3", f, ["N", 4])],
        [c("three", np.int64(3)), c("idx0", np.array([0], np.int64)),
         c("like32", np.array([0], np.int32)), c("two_by_two", np.array([2, 2], np.int64)),
         c("one", np.float32(1)), c("half", np.float32(0.5))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 15)], producer_name="mkrnn")
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, os.path.join(out, "loop.onnx"))
    x = np.random.default_rng(6).uniform(-2, 2, (3, 4)).astype(np.float32)
    np.save(os.path.join(out, "loop_x.npy"), x)
    np.save(os.path.join(out, "loop_y.npy"), np.ascontiguousarray(x[:, [0, 1, 2]]))
    np.save(os.path.join(out, "loop_y2.npy"), np.ascontiguousarray(x[:, [[0, 0], [1, 2]]]))
    acc = x
    for i, k in enumerate((1, 0.5, 0.5)):
        acc = acc * np.float32(k) + np.float32(i)
    np.save(os.path.join(out, "loop_y3.npy"), acc)
    # the body's condition computed from the carried value: refused
    body = m.graph.node[1].attribute[0].g
    body.node[-1].CopyFrom(helper.make_node("ReduceMax", ["acc_out"], ["top"], "top",
                                            keepdims=0))
    body.node.append(helper.make_node("Less", ["top", "limit"], ["cond_out"], "go_on"))
    body.initializer.append(c("limit", np.float32(2)))
    onnx.save(m, os.path.join(out, "loop_while.onnx"))
    # a sequence read by a node other than ConcatFromSequence: refused
    m = onnx.load(os.path.join(out, "loop.onnx"))
    m.graph.node[2].CopyFrom(helper.make_node("Identity", ["seq3"], ["all"], "all"))
    onnx.save(m, os.path.join(out, "loop_seqread.onnx"))
    # 2^40 iterations of an empty body: refused at the walk's bound
    empty = helper.make_graph(
        [], "pass", [helper.make_tensor_value_info("i", i64, []),
                     helper.make_tensor_value_info("go", TensorProto.BOOL, []),
                     helper.make_tensor_value_info("a", f, ["N", 4])],
        [helper.make_tensor_value_info("go", TensorProto.BOOL, []),
         helper.make_tensor_value_info("a", f, ["N", 4])])
    g = helper.make_graph([helper.make_node("Loop", ["many", "", "x"], ["y"], "long", body=empty)],
                          "loop_long", [helper.make_tensor_value_info("x", f, ["N", 4])],
                          [helper.make_tensor_value_info("y", f, ["N", 4])],
                          [c("many", np.int64(1 << 40))])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 15)],
                                producer_name="mkrnn"), os.path.join(out, "loop_long.onnx"))


def loop_odd_models(out):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    f, i64, b = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
    c = lambda name, v: numpy_helper.from_array(np.asarray(v), name)
    vi = helper.make_tensor_value_info
    save = lambda g, name: onnx.save(helper.make_model(
        g, opset_imports=[helper.make_opsetid("", 15)], producer_name="mkrnn"),
        os.path.join(out, name))

    def body(ins, nodes, outs):
        return helper.make_graph(nodes + [helper.make_node("Identity", [ins[1]], ["go_" + outs[0]])],
                                 "body_" + outs[0], [vi(ins[0], i64, []), vi(ins[1], b, [])] +
                                 [vi(n, f, None) for n in ins[2:]],
                                 [vi("go_" + outs[0], b, [])] + [vi(n, f, None) for n in outs])
    # a Pad whose output a Loop's body reads as well as a Conv
    g = helper.make_graph([
        helper.make_node("Pad", ["x", "pads"], ["P"], "pad"),
        helper.make_node("Conv", ["P", "w"], ["Y"], "conv"),
        helper.make_node("Loop", ["one", "", "x"], ["L"], "lp",
                         body=body(["i", "go", "a"], [helper.make_node("Identity", ["P"], ["po"])],
                                   ["po"])),
    ], "loop_pad", [vi("x", f, ["N", 1, 4, 4])], [vi("Y", f, ["N", 1, 4, 4]),
                                                  vi("L", f, ["N", 1, 6, 6])],
        [c("one", np.int64(1)), c("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
         c("w", np.ones((1, 1, 3, 3), np.float32))])
    save(g, "loop_pad.onnx")
    x = np.random.default_rng(7).uniform(-2, 2, (3, 1, 4, 4)).astype(np.float32)
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    y = np.zeros_like(x)
    for r in range(3):
        for s in range(3):
            y += p[:, :, r:r + 4, s:s + 4]
    np.save(os.path.join(out, "loop_pad_x.npy"), x)
    np.save(os.path.join(out, "loop_pad_Y.npy"), y)
    np.save(os.path.join(out, "loop_pad_L.npy"), p)
    # two Loops whose bodies use the same names (their inputs i, go, a)
    inc = lambda o: body(["i", "go", "a"], [helper.make_node("Add", ["a", "one_f"], [o], o)], [o])
    g = helper.make_graph([
        helper.make_node("Loop", ["two", "", "x"], ["y1"], "first", body=inc("t")),
        helper.make_node("Loop", ["two", "", "y1"], ["y"], "second", body=inc("u")),
    ], "loop_twice", [vi("x", f, ["N", 4])], [vi("y", f, ["N", 4])],
        [c("two", np.int64(2)), c("one_f", np.float32(1))])
    save(g, "loop_twice.onnx")
    x = np.random.default_rng(8).uniform(-2, 2, (3, 4)).astype(np.float32)
    np.save(os.path.join(out, "loop_twice_x.npy"), x)
    np.save(os.path.join(out, "loop_twice_y.npy"), x + np.float32(4))
    # scan outputs: 3 iterations carrying a = x + i, each writing a * i
    sc = body(["i", "go", "a"], [
        helper.make_node("Add", ["a", "one_f"], ["a1"]),
        helper.make_node("Cast", ["i"], ["fi"], to=f),
        helper.make_node("Mul", ["a", "fi"], ["s"])], ["a1", "s"])
    g = helper.make_graph([
        helper.make_node("Loop", ["three", "", "x"], ["y", "ys"], "scanning", body=sc),
    ], "loop_scan", [vi("x", f, [1, 4])], [vi("y", f, [1, 4]), vi("ys", f, [3, 1, 4])],
        [c("three", np.int64(3)), c("one_f", np.float32(1))])
    save(g, "loop_scan.onnx")
    x = np.random.default_rng(9).uniform(-2, 2, (1, 4)).astype(np.float32)
    np.save(os.path.join(out, "loop_scan_x.npy"), x)
    np.save(os.path.join(out, "loop_scan_y.npy"), x + np.float32(3))
    np.save(os.path.join(out, "loop_scan_ys.npy"),
            np.stack([(x + np.float32(i)) * np.float32(i) for i in range(3)]))
    g.node[0].input[0] = "many"          # 17 iterations: more than a Concat stacks
    g.initializer.append(c("many", np.int64(17)))
    save(g, "loop_scan_long.onnx")
    # a body input shadowing the graph's x
    g = helper.make_graph([
        helper.make_node("Mul", ["x", "ten"], ["x10"], "x10"),
        helper.make_node("Loop", ["two", "", "x10"], ["y"], "shadowing",
                         body=body(["i", "go", "x"], [helper.make_node("Add", ["x", "one_f"], ["t"])],
                                   ["t"])),
    ], "loop_shadow", [vi("x", f, ["N", 4])], [vi("y", f, ["N", 4])],
        [c("two", np.int64(2)), c("ten", np.float32(10)), c("one_f", np.float32(1))])
    save(g, "loop_shadow.onnx")
    # each iteration a copy of a sequence of 1024 tensors
    g = helper.make_graph([
        helper.make_node("SequenceConstruct", ["k"] * 1023, ["s0"], "ones"),
        helper.make_node("Loop", ["many", "", "x"], ["y"], "inserting",
                         body=body(["i", "go", "a"],
                                   [helper.make_node("SequenceInsert", ["s0", "k"], ["s1"], "ins")],
                                   ["a"])),
    ], "loop_seqmem", [vi("x", f, ["N", 4])], [vi("y", f, ["N", 4])],
        [c("many", np.int64(1 << 40)), c("k", np.array([1], np.int64))])
    save(g, "loop_seqmem.onnx")
    # names a Loop's unrolling makes (t@1, add@1) held by the graph already
    g = helper.make_graph([
        helper.make_node("Add", ["x", "one_f"], ["t@1"], "add@1"),
        helper.make_node("Loop", ["two", "", "x"], ["y"], "lp", body=inc("t")),
    ], "loop_at_names", [vi("x", f, ["N", 4])], [vi("y", f, ["N", 4]), vi("t@1", f, ["N", 4])],
        [c("two", np.int64(2)), c("one_f", np.float32(1))])
    g.node[1].attribute[0].g.node[0].name = "add"
    save(g, "loop_at_names.onnx")
    x = np.random.default_rng(10).uniform(-2, 2, (3, 4)).astype(np.float32)
    np.save(os.path.join(out, "loop_at_names_x.npy"), x)
    np.save(os.path.join(out, "loop_at_names_y.npy"), x + np.float32(2))
    np.save(os.path.join(out, "loop_at_names_t@1.npy"), x + np.float32(1))
    # CastLike of a computed integer (ArgMax's int64) to x's float
    g = helper.make_graph([
        helper.make_node("ArgMax", ["x"], ["am"], "am", axis=1, keepdims=1),
        helper.make_node("CastLike", ["am", "x"], ["y"], "to_float"),
    ], "castlike_int", [vi("x", f, ["N", 4])], [vi("y", f, ["N", 1])])
    save(g, "castlike_int.onnx")
    x = np.random.default_rng(9).uniform(-2, 2, (3, 4)).astype(np.float32)
    np.save(os.path.join(out, "castlike_int_x.npy"), x)
    np.save(os.path.join(out, "castlike_int_y.npy"),
            np.argmax(x, axis=1).reshape(3, 1).astype(np.float32))
    # CastLike to a bool: of a computed x to a bool initializer's type, of
    # a constant to a computed bool's (Greater's): Cast(to=BOOL) both
    g = helper.make_graph([
        helper.make_node("CastLike", ["x", "b0"], ["y"], "x_like_b0"),
        helper.make_node("Greater", ["x", "zero"], ["g"], "gt"),
        helper.make_node("CastLike", ["k", "g"], ["kb"], "k_like_g"),
        helper.make_node("Cast", ["kb"], ["kf"], "kf", to=f),
        helper.make_node("Add", ["x", "kf"], ["y2"], "y2"),
    ], "castlike_bool", [vi("x", f, ["N", 4])], [vi("y", b, ["N", 4]), vi("y2", f, ["N", 4])],
        [c("b0", np.array(True)), c("zero", np.float32(0)),
         c("k", np.array([0, 2.5, -1, 0], np.float32))])
    save(g, "castlike_bool.onnx")
    r = np.random.default_rng(11)
    # Cast to bool: 0 is false, any other value true; the others away from
    # 0 (int8 makes a value within half a step of 0 exactly 0, i.e. false)
    x = (r.choice([-1, 1], (3, 4)) * r.uniform(0.25, 2, (3, 4))).astype(np.float32)
    x[[0, 1, 2], [0, 3, 1]] = 0
    np.save(os.path.join(out, "castlike_bool_x.npy"), x)
    np.save(os.path.join(out, "castlike_bool_y.npy"), (x != 0).astype(np.float32))
    np.save(os.path.join(out, "castlike_bool_y2.npy"),
            x + (np.array([0, 2.5, -1, 0], np.float32) != 0).astype(np.float32))
    # ReduceProd (opset 18: axes an input) with noop_with_empty_axes 2
    g = helper.make_graph([
        helper.make_node("ReduceProd", ["x", "axes"], ["y"], "prod", noop_with_empty_axes=2),
    ], "reduceprod_noop", [vi("x", f, ["N", 4])], [vi("y", f, ["N", 1])],
        [c("axes", np.array([1], np.int64))])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)],
                                producer_name="mkrnn"), os.path.join(out, "reduceprod_noop.onnx"))
    # a sequence of x and an int64 constant concatenated
    g = helper.make_graph([
        helper.make_node("SequenceConstruct", ["x", "ints"], ["seq"], "pair"),
        helper.make_node("ConcatFromSequence", ["seq"], ["y"], "cat", axis=1),
    ], "seq_mixed", [vi("x", f, ["N", 4])], [vi("y", f, ["N", 8])],
        [c("ints", np.zeros((1, 4), np.int64))])
    save(g, "seq_mixed.onnx")
    # 4200 iterations of x + 1: as many one-Add units, too many to measure
    g = helper.make_graph([
        helper.make_node("Loop", ["many", "", "x"], ["y"], "adds", body=inc("t")),
    ], "loop_many", [vi("x", f, ["N", 4])], [vi("y", f, ["N", 4])],
        [c("many", np.int64(4200)), c("one_f", np.float32(1))])
    save(g, "loop_many.onnx")
    # a body whose condition out is its iteration number (int64, not a bool)
    cnt = helper.make_graph([helper.make_node("Add", ["a", "one_f"], ["t"])], "count",
                            [vi("i", i64, []), vi("go", b, []), vi("a", f, ["N", 4])],
                            [vi("i", i64, []), vi("t", f, ["N", 4])])
    g = helper.make_graph([helper.make_node("Loop", ["two", "", "x"], ["y"], "counting", body=cnt)],
                          "loop_cond_int", [vi("x", f, ["N", 4])], [vi("y", f, ["N", 4])],
                          [c("two", np.int64(2)), c("one_f", np.float32(1))])
    save(g, "loop_cond_int.onnx")
    # conditions that are bools the import carries as floats: the Loop's a
    # Squeeze of a bool constant, the body's out the same; the body casts
    # 0.5 like its cond input (a bool: 1) and adds it, 3 times
    sq = helper.make_graph([
        helper.make_node("Constant", [], ["cb1"], value=numpy_helper.from_array(np.array([True]))),
        helper.make_node("Squeeze", ["cb1"], ["go_out"]),
        helper.make_node("CastLike", ["half", "go"], ["hb"]),
        helper.make_node("Cast", ["hb"], ["hf"], to=f),
        helper.make_node("Add", ["a", "hf"], ["t"]),
    ], "squeezed", [vi("i", i64, []), vi("go", b, []), vi("a", f, ["N", 4])],
        [vi("go_out", b, []), vi("t", f, ["N", 4])])
    g = helper.make_graph([
        helper.make_node("Constant", [], ["cb"], value=numpy_helper.from_array(np.array([True]))),
        helper.make_node("Squeeze", ["cb"], ["cs"], "cs"),
        helper.make_node("Loop", ["three", "cs", "x"], ["y"], "sq_loop", body=sq),
    ], "loop_cond_squeeze", [vi("x", f, ["N", 4])], [vi("y", f, ["N", 4])],
        [c("three", np.int64(3)), c("half", np.float32(0.5))])
    save(g, "loop_cond_squeeze.onnx")
    x = np.random.default_rng(12).uniform(-2, 2, (3, 4)).astype(np.float32)
    np.save(os.path.join(out, "loop_cond_squeeze_x.npy"), x)
    np.save(os.path.join(out, "loop_cond_squeeze_y.npy"), x + 3)


def bool_models(out):
    """bool_moves.onnx, bool_frozen.onnx: CastLike to bools that moved."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    f, i64, b = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
    c = lambda name, v: numpy_helper.from_array(np.asarray(v), name)
    vi = helper.make_tensor_value_info
    n = helper.make_node

    def save(g, name):
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 15)],
                              producer_name="mkrnn")
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(out, name))

    # each path a bool (of b0, a bool initializer, or g = x > 0, computed)
    # through an operator that moves it unchanged; x cast like each
    sq = helper.make_graph([n("Unsqueeze", ["b0", "ax0"], ["tu"]),
                            n("Squeeze", ["tu", "ax0"], ["to"])], "then_sq", [],
                           [vi("to", b, None)])
    never = helper.make_graph([n("Identity", ["b0"], ["eo"])], "else_b0", [],
                              [vi("eo", b, None)])
    above = helper.make_graph([n("Greater", ["x", "one"], ["ab"])], "above", [],
                              [vi("ab", b, None)])
    below = helper.make_graph([n("Less", ["x", "mone"], ["be"])], "below", [],
                              [vi("be", b, None)])
    body = helper.make_graph([
        n("Identity", ["go"], ["go_out"]),
        n("Unsqueeze", ["bi", "ax0"], ["bu"]), n("Squeeze", ["bu", "ax0"], ["bo"]),
    ], "carry", [vi("i", i64, []), vi("go", b, []), vi("bi", b, None)],
        [vi("go_out", b, []), vi("bo", b, None)])
    paths = [
        # constants, folded at import
        n("Unsqueeze", ["b0", "ax0"], ["b0u"]), n("Squeeze", ["b0u", "ax0"], ["sq"]),
        n("Reshape", ["b0", "s32"], ["rs"]),
        n("Flatten", ["b0"], ["fl"]),
        n("Transpose", ["b0"], ["tr"]),
        n("Expand", ["b0", "s223"], ["ex"]),
        n("Slice", ["b0", "st", "en"], ["sl"]),
        n("Gather", ["b0", "i1"], ["ga"], axis=1),
        n("Concat", ["b0", "b1"], ["ct"], axis=0),
        n("Identity", ["b0"], ["id1"]), n("Identity", ["id1"], ["id"]),
        n("Equal", ["k3", "k3"], ["yes"]), n("Where", ["yes", "b0", "b1"], ["wh"]),
        n("Tile", ["b0", "r12"], ["ti"]),
        n("Split", ["b0"], ["sp0", "sp"], axis=0),
        n("ConstantOfShape", ["s2"], ["cs"], value=helper.make_tensor("v", b, [1], [True])),
        n("SequenceConstruct", ["b0", "b1"], ["seq"]),
        n("ConcatFromSequence", ["seq"], ["cq"], axis=0),
        n("SequenceEmpty", [], ["none"], dtype=b), n("SequenceInsert", ["none", "b0"], ["seq1"]),
        n("ConcatFromSequence", ["seq1"], ["se"], axis=0),
        n("Pad", ["b0", "pads"], ["pd"]),
        n("ScatterND", ["b0", "at00", "b1row"], ["sn"]),
        n("If", ["t"], ["ifc"], then_branch=sq, else_branch=never),
        n("Loop", ["two", "", "b0"], ["lp"], body=body),
        # computed
        n("Greater", ["x", "zero"], ["g"]),
        n("Unsqueeze", ["g", "ax2"], ["gu"]),
        n("Transpose", ["gu"], ["gt"], perm=[0, 2, 1]),
        n("Slice", ["g", "st", "en", "ax1"], ["gs"]),
        n("Concat", ["g", "g"], ["gc"], axis=1),
        n("Gather", ["g", "i1"], ["gg"], axis=1),
        n("Not", ["g"], ["ng"]), n("Where", ["g", "g", "ng"], ["gw"]),
        n("Flatten", ["g"], ["gf"]),
        n("Tile", ["g", "r12"], ["gtl"]),
        n("ReduceMean", ["x"], ["m"], axes=[1], keepdims=1),
        n("GreaterOrEqual", ["m", "zero"], ["ge"]),
        n("If", ["ge"], ["ifd"], then_branch=above, else_branch=below),
    ]
    likes = ["sq", "rs", "fl", "tr", "ex", "sl", "ga", "ct", "id", "wh", "ti", "sp", "cs",
             "cq", "se", "pd", "sn", "ifc", "lp", "gu", "gt", "gs", "gc", "gg", "gw", "gf",
             "gtl", "ifd"]
    for k in likes:
        paths += [n("CastLike", ["x", k], ["x_" + k]), n("Cast", ["x_" + k], ["f_" + k], to=f)]
    paths += [n("Concat", ["f_" + k for k in likes], ["y"], axis=1),
              # a Cast of a bool to float is no bool: x cast like it is x
              n("Cast", ["g"], ["gfl"], to=f), n("CastLike", ["x", "gfl"], ["y2"])]
    b0 = np.array([[True, False, True], [False, True, True]])
    g = helper.make_graph(paths, "bool_moves", [vi("x", f, ["N", 4])],
                          [vi("y", f, ["N", 4 * len(likes)]), vi("y2", f, ["N", 4])],
                          [c("b0", b0), c("b1", ~b0)] +
                          [c(k, np.array(v, np.int64)) for k, v in (
                              ("ax0", [0]), ("ax1", [1]), ("ax2", [2]), ("s32", [3, 2]),
                              ("s223", [2, 2, 3]), ("st", [1]), ("en", [3]), ("i1", [0, 2]),
                              ("k3", 3), ("r12", [1, 2]), ("s2", [2]), ("two", 2),
                              ("pads", [0, 1, 0, 1]), ("at00", [[0, 0]]))] +
                          [c("t", np.array(True)), c("b1row", np.array([False])),
                           c("zero", np.float32(0)),
                           c("one", np.float32(1)), c("mone", np.float32(-1))])
    save(g, "bool_moves.onnx")
    r = np.random.default_rng(13)
    # away from 0 (int8 rounds a value within half a step of 0 to 0: false)
    x = (r.choice([-1, 1], (4, 4)) * r.uniform(0.25, 2, (4, 4))).astype(np.float32)
    x[[0, 1, 2, 3], [0, 3, 1, 2]] = 0
    np.save(os.path.join(out, "bool_moves_x.npy"), x)
    np.save(os.path.join(out, "bool_moves_y.npy"),
            np.tile((x != 0).astype(np.float32), (1, len(likes))))
    np.save(os.path.join(out, "bool_moves_y2.npy"), x)
    # bools carried alike (the float 0 or 1) whichever way they came: Not
    # and Where of a bool initializer b4, Equal of a folded Cast to bool and
    # b4, their Concat (sliced), all folded at import; x times each
    k, b4 = np.array([1, 0, 0, 1], np.float32), np.array([True, False, True, False])
    g = helper.make_graph([
        n("Not", ["b4"], ["nb"]), n("Cast", ["k"], ["kb"], to=b), n("Equal", ["kb", "b4"], ["eq"]),
        n("Concat", ["kb", "b4"], ["cb"], axis=0), n("Slice", ["cb", "st2", "en6"], ["mix"]),
        n("Where", ["b4", "one4", "two4"], ["w"]),
    ] + [n("Cast", [v], [v + "_f"], to=f) for v in ("nb", "eq", "mix")] +
        [n("Mul", ["x", v], ["x_" + v]) for v in ("nb_f", "eq_f", "mix_f", "w")] +
        [n("Concat", ["x_nb_f", "x_eq_f", "x_mix_f", "x_w"], ["y"], axis=1)],
        "bool_carriers", [vi("x", f, ["N", 4])], [vi("y", f, ["N", 16])],
        [c("b4", b4), c("k", k), c("st2", np.array([2], np.int64)),
         c("en6", np.array([6], np.int64)), c("one4", np.ones(4, np.float32)),
         c("two4", np.full(4, 2, np.float32))])
    save(g, "bool_carriers.onnx")
    np.save(os.path.join(out, "bool_carriers_x.npy"), x)
    np.save(os.path.join(out, "bool_carriers_y.npy"), np.concatenate(
        [x * ~b4, x * ((k != 0) == b4), x * np.concatenate([k != 0, b4])[2:6],
         x * np.where(b4, 1, 2)], axis=1).astype(np.float32))
    # a bool input frozen with --input-value: x cast like it; If(Not(flag))
    g = helper.make_graph([
        n("CastLike", ["x", "flag"], ["xb"]), n("Cast", ["xb"], ["y"], to=f),
        n("Not", ["flag"], ["off"]),
        n("If", ["off"], ["y2"], then_branch=helper.make_graph(
            [n("Mul", ["x", "twice"], ["dbl"])], "double", [], [vi("dbl", f, None)]),
          else_branch=helper.make_graph([n("Neg", ["x"], ["neg"])], "negate", [],
                                        [vi("neg", f, None)])),
    ], "bool_frozen", [vi("x", f, ["N", 4]), vi("flag", b, [])],
        [vi("y", f, ["N", 4]), vi("y2", f, ["N", 4])], [c("twice", np.float32(2))])
    save(g, "bool_frozen.onnx")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="tests/onnx/rnn")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    lstm(a.out)
    gru(a.out)
    sequences(a.out)
    stateful(a.out)
    layout1(a.out)
    symbolic_time(a.out)
    if_model(a.out)
    select_models(a.out)
    loop_models(a.out)
    loop_odd_models(a.out)
    bool_models(a.out)


if __name__ == "__main__":
    main()
