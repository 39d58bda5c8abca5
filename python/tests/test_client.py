"""The Python client against a real dnnqd (conftest.py starts it)."""
import asyncio
import gc
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import dnnq
from daemon import DIGITS, DNNQCTL, NLP, ROOT

RNG = np.random.default_rng(21)


def relu64_input(batch):
    return RNG.integers(0, 256, size=(batch, 64), dtype=np.uint8)


# ---- results --------------------------------------------------------------


def dnnqctl_infer(socket, model, name, x, tmp_path):
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    subprocess.run([DNNQCTL, "--socket", socket, "infer", model, "--input",
                    f"{name}={tmp_path / 'x.npy'}", "--output-dir", str(out)],
                   check=True, capture_output=True)
    return out


@pytest.mark.parametrize("count", [1, 64, 360])
def test_digits_equal_dnnqctl_infer(daemon, client, tmp_path, count):
    x = np.load(os.path.join(DIGITS, "test_x.npy"))[:count]
    out = dnnqctl_infer(daemon.socket, "digits", "input", x, tmp_path)
    want = np.load(out / "logits.npy")
    m = client.model("digits")
    got = m.run(x)
    assert got.dtype == np.float32 and got.shape == (count, 10)
    assert np.array_equal(got, want)
    # and the digits read right: the model is 96.9 % accurate on these
    if count == 360:
        labels = np.load(os.path.join(DIGITS, "test_y.npy"))
        assert (got.argmax(1) == labels).mean() > 0.9


def test_u8_model_equals_dnnqctl_infer(daemon, client, tmp_path):
    x = relu64_input(5)
    out = dnnqctl_infer(daemon.socket, "relu64", "x", x, tmp_path)
    got = client.model("relu64").run(x)
    assert got.dtype == np.uint8
    assert np.array_equal(got, np.load(out / "y.npy"))
    assert got.any()


def test_token_ids_int64(daemon, client, tmp_path):
    # bert's inputs are int32; numpy's int64 arrays go as int32 when they fit
    ids, mask = np.load(os.path.join(NLP, "ids.npy")), np.load(os.path.join(NLP, "mask.npy"))
    assert ids.dtype == np.int64
    m = client.model("bert")
    assert [i.dtype for i in m.inputs] == [np.dtype(np.int32)] * 2
    got, = m.run([ids, mask])
    assert got.dtype == np.float32 and got.shape == (16, 3)
    assert np.array_equal(got, m.run([ids.astype(np.int32), mask])[0])
    out = tmp_path / "out"
    subprocess.run([DNNQCTL, "--socket", daemon.socket, "infer", "bert", "--input",
                    f"ids={os.path.join(NLP, 'ids.npy')}", "--input",
                    f"mask={os.path.join(NLP, 'mask.npy')}", "--output-dir", str(out)],
                   check=True, capture_output=True)
    assert np.array_equal(got, np.load(out / "y.npy"))
    y = np.load(os.path.join(NLP, "y.npy"))
    assert 10 * np.log10((y ** 2).sum() / ((y - got) ** 2).sum()) > 30
    big = ids.copy()
    big[1, 2] = 1 << 40
    with pytest.raises(dnnq.RangeError, match="int64 values from 0 to 1099511627776"):
        m.run([big, mask])
    # an id outside the vocabulary (100) fails that request, in the daemon
    ids[3, 1] = 100
    with pytest.raises(dnnq.RangeError):
        m.run([ids, mask])
    assert np.array_equal(m.run([ids[:3], mask[:3]])[0], got[:3])


def test_signature(client):
    m = client.model("relu64")
    assert m.name == "relu64" and m.max_batch >= 1 and m.generation >= 1
    (i,), (o,) = m.inputs, m.outputs
    assert (i.name, i.dtype, i.shape) == ("x", np.dtype(np.uint8), (None, 64))
    assert i.scale > 0 and 0 <= i.zero_point <= 255
    assert (o.name, o.shape) == ("y", (None, 64))
    d = client.model("digits")
    assert d.inputs[0].dtype == np.float32 and d.inputs[0].scale is None
    assert d.inputs[0].shape == (None, 1, 8, 8)
    assert set(client.models()) >= {"digits", "relu64", "multi"}


def test_float_input_is_quantized_by_the_daemon(client):
    m = client.model("relu64")
    q = relu64_input(3)
    info = m.inputs[0]
    real = ((q.astype(np.float32) - info.zero_point) * np.float32(info.scale)).astype(np.float32)
    before = client.stats().bytes_copied
    assert np.array_equal(m.run(real), m.run(q))
    assert client.stats().bytes_copied > before
    deq = m.run(q, output_dtype=np.float32)
    o = m.outputs[0]
    assert deq.dtype == np.float32
    assert np.allclose(deq, (m.run(q).astype(np.float32) - o.zero_point) * o.scale)


def test_two_inputs_two_outputs_by_name(client):
    m = client.model("multi")
    a = RNG.integers(0, 256, size=(2, 6, 6, 4), dtype=np.uint8)
    b = RNG.integers(0, 256, size=(2, 6, 6, 4), dtype=np.uint8)
    y = m.run({"a": a, "b": b})
    assert set(y) == {"logits", "prob"}
    assert y["logits"].dtype == np.uint8 and y["prob"].dtype == np.float32
    assert np.allclose(y["prob"].sum(1), 1, atol=1e-3)
    y2 = m.run([a, b])
    assert np.array_equal(y2[0], y["logits"]) and np.array_equal(y2[1], y["prob"])


# ---- zero copy --------------------------------------------------------------


def test_zero_copy_views(client):
    m = client.model("relu64")
    r = m.request(batch=4)
    x = r.inputs["x"]
    assert x.shape == (4, 64) and x.dtype == np.uint8 and not x.flags.owndata
    before = client.stats()
    results = []
    for k in range(3):
        data = relu64_input(4)
        x[:] = data                      # through the view, into the arena
        y = r.run(timeout=10)["y"]
        assert y is r.outputs["y"]       # the same view, rewritten in place
        assert np.array_equal(y, m.run(data))
        results.append(y.copy())
    assert not np.array_equal(results[0], results[1])
    after = client.stats()
    # the three zero-copy requests and the three run() requests: no byte copied
    assert after.bytes_copied == before.bytes_copied
    assert after.session_requests >= before.session_requests + 6
    f = r.submit()
    assert f.result(timeout=10) is r.outputs
    assert f.done()
    r.close()


def test_view_outlives_request_and_client(daemon):
    c = dnnq.Client(daemon.socket)
    r = c.model("relu64").request(batch=2)
    r.inputs["x"][:] = 200
    r.run()
    y = r.outputs["y"]
    x = r.inputs["x"][1]                 # a slice keeps the tensor too
    r.close()
    assert y.any() and (x == 200).all()  # kept, not given back to the arena
    got = y.copy()
    c.close()
    # what they read before, no fault (they read zeros until the close
    # copied the views' bytes back into the private pages)
    assert np.array_equal(y, got) and (x == 200).all()
    x[:] = 1                             # private pages: harmless
    assert (x == 1).all()
    with pytest.raises(dnnq.Disconnected):
        r.run()
    with pytest.raises(dnnq.Disconnected):
        c.model("relu64")
    del y, x, r
    gc.collect()                         # the last view: munmap


def test_kept_view_does_not_keep_the_session(daemon, client):
    """A view kept of a client that is dropped without close(): the client
    is collected and its session closed (a view held it, and with it a
    64 MiB region and a place under dnnqd's per-uid limits); the view
    keeps its data."""
    def sessions():
        return client.stats().sessions
    before = sessions()
    x = relu64_input(2)
    kept = [dnnq.Client(daemon.socket).model("relu64").request(2) for _ in range(3)]
    for r in kept:
        r.inputs["x"][...] = x
    views = [r.run()["y"][1:] for r in kept]
    assert sessions() == before + 3
    del kept, r
    gc.collect()
    for _ in range(500):                 # dnnqd sees the hang-ups on its own time
        if sessions() == before:
            break
        time.sleep(0.01)
    assert sessions() == before
    for v in views:
        assert np.array_equal(v, client.model("relu64").run(x)[1:])


# ---- errors ------------------------------------------------------------------


def test_error_names_are_the_headers():
    """Error.name for every code is the name shm/dnnq_error.h gives it (the
    tools' --json failure objects say the same), and a code the package
    does not know is DNNQ_E_UNKNOWN."""
    import re
    header = os.path.join(ROOT, "shm", "dnnq_error.h")
    with open(header) as f:
        codes = dict((int(v), n) for n, v in re.findall(r"^\s*(DNNQ_E_\w+)\s*=\s*(-\d+)",
                                                       f.read(), re.M))
    assert len(codes) >= 20
    for code, name in codes.items():
        assert dnnq.Error("x", code).name == name, code
    assert dnnq.Error("x", -99).name == "DNNQ_E_UNKNOWN" and dnnq.Error("x").name == ""


def test_errors(client, tmp_path):
    with pytest.raises(dnnq.NotFound) as e:
        client.model("no-such-model")
    assert "no-such-model" in str(e.value) and e.value.code == -17
    assert e.value.strerror and isinstance(e.value, LookupError)
    assert e.value.name == "DNNQ_E_NOTFOUND"

    m = client.model("relu64")
    before = client.stats().session_requests
    with pytest.raises(dnnq.DtypeError, match="float64: takes uint8 or float32"):
        m.run(np.zeros((1, 64)))
    with pytest.raises(dnnq.ShapeError, match=r"^model 'relu64': input 'x': shape \(1, 63\): "
                       r"wants \(N, 64\) with N >= 1$"):
        m.run(np.zeros((1, 63), np.uint8))
    with pytest.raises(dnnq.ShapeError):
        m.run(np.zeros(64, np.uint8))
    with pytest.raises(dnnq.ShapeError):
        m.run(np.zeros((0, 64), np.uint8))
    with pytest.raises(dnnq.InvalidArgument, match=r"no input 'z' \(its inputs: 'x'\)$"):
        m.run({"z": np.zeros((1, 64), np.uint8)})
    with pytest.raises(dnnq.InvalidArgument,
                       match=r"takes 2 inputs \['a', 'b'\]: pass a list in that order or a "
                             "dict by name$"):
        client.model("multi").run(np.zeros((1, 6, 6, 4), np.uint8))
    with pytest.raises(dnnq.InvalidArgument, match=r"model 'relu64' takes 1 input, given 2$"):
        m.run([np.zeros((1, 64), np.uint8)] * 2)
    with pytest.raises(dnnq.ShapeError, match="batch 1: the other inputs have 2"):
        client.model("multi").run({"a": np.zeros((2, 6, 6, 4), np.uint8),
                                   "b": np.zeros((1, 6, 6, 4), np.uint8)})
    with pytest.raises(dnnq.DtypeError,
                       match=r"uint8: takes float32 \(\.astype\(numpy\.float32\)\)$"):
        client.model("digits").run(np.zeros((1, 1, 8, 8), np.uint8))
    # not numbers: said as such (numpy's "dtype object" was all it said)
    with pytest.raises(dnnq.DtypeError,
                       match=r"^model 'relu64': input 'x': NoneType None: not an array of numbers$"):
        m.run(None)
    with pytest.raises(dnnq.DtypeError, match=r"^model 'relu64': input 'x': an array of Python "
                       r"objects, "
                       r"shape \(2,\) \(lists of unequal lengths, or not numbers\)"):
        m.run(np.array([[1] * 64, [2] * 63], dtype=object))
    # the same as lists: numpy >= 1.24's asarray raises ValueError on them
    # (it went up as numpy's, no dnnq.Error)
    with pytest.raises(dnnq.DtypeError, match=r"^model 'relu64': input 'x': lists of unequal "
                       r"lengths "
                       r"\(numpy: .*\): not an array of numbers$"):
        m.run([[1] * 64, [2] * 63])
    with pytest.raises(dnnq.DtypeError,
                       match=r"^model 'multi': input 'b': lists of unequal lengths"):
        client.model("multi").run({"a": np.zeros((1, 6, 6, 4), np.uint8),
                                   "b": [[1, 2], [3]]})
    with pytest.raises(dnnq.DtypeError, match=r"int64: takes uint8 or float32$"):
        m.run(np.zeros((1, 64), np.int64))
    with pytest.raises(dnnq.DtypeError,
                       match=r"float64: takes float32 \(\.astype\(numpy\.float32\)\)$"):
        client.model("digits").run(np.zeros((1, 1, 8, 8)))
    with pytest.raises(dnnq.ShapeError, match="batch 0"):
        m.request(batch=0)
    with pytest.raises(dnnq.ShapeError):
        m.request(batch=m.max_batch + 1)
    # a dtype keyword is named, with what it takes (not .astype: no array)
    with pytest.raises(dnnq.DtypeError, match=r"^output 'y': output_dtype=int16: takes None "
                                              r"\(the signature's uint8\) or numpy\.float32$"):
        m.request(output_dtype=np.int16)
    with pytest.raises(dnnq.DtypeError, match=r"^output 'logits': output_dtype=float16: takes "
                                              r"None \(the signature's float32\)$"):
        client.model("digits").run(np.zeros((1, 1, 8, 8), np.float32), output_dtype=np.float16)
    with pytest.raises(ValueError):
        m.run(np.zeros((1, 64), np.uint8), timeout=-1)
    assert client.stats().session_requests == before    # nothing was sent

    with pytest.raises(dnnq.IoError) as e:
        dnnq.Client(str(tmp_path / "none.sock"), timeout=1)
    assert str(tmp_path / "none.sock") in str(e.value) and isinstance(e.value, ConnectionError)
    with pytest.raises(dnnq.InvalidArgument):
        dnnq.Client("/" + "x" * 200)
    r = m.request()
    r.submit()
    with pytest.raises(dnnq.InvalidArgument, match="in flight"):
        r.run()
    r.close()


def test_array_layouts(client):
    """Non-contiguous, Fortran-order and read-only arrays are copied in as
    they read; a big-endian float32 and a 0-d array are refused, saying
    what to do."""
    m = client.model("relu64")
    x = relu64_input(4)
    want = m.run(x)
    wide = np.zeros((4, 128), np.uint8)
    wide[:, ::2] = x
    assert np.array_equal(m.run(wide[:, ::2]), want)
    assert np.array_equal(m.run(np.asfortranarray(x)), want)
    ro = x.copy()
    ro.flags.writeable = False
    assert np.array_equal(m.run(ro), want)
    with pytest.raises(dnnq.DtypeError,
                       match=r"dtype >f4: takes uint8 or float32 "
                             r"\(big-endian float32: \.astype\(numpy\.float32\)\)$"):
        m.run(x.astype(">f4"))
    assert np.array_equal(m.run(x.astype(">f4").astype(np.float32)),
                          m.run(x.astype(np.float32)))
    with pytest.raises(dnnq.ShapeError, match=r"shape \(\): wants \(N, 64\)"):
        m.run(np.uint8(3))


def test_request_views_cannot_be_rebound(client):
    """r.inputs["x"] = a would leave the shared tensor as it was: refused,
    saying to write into the view."""
    m = client.model("relu64")
    x = relu64_input(1)
    with m.request() as r:
        with pytest.raises(TypeError, match=r"write into it, inputs\['x'\]\[\.\.\.\] = value"):
            r.inputs["x"] = x
        with pytest.raises(TypeError, match=r"del outputs\['y'\]: a request's tensors are fixed"):
            del r.outputs["y"]
        r.inputs["x"][...] = x
        assert np.array_equal(r.run(timeout=10)["y"], m.run(x))
        assert list(r.inputs) == ["x"] and len(r.outputs) == 1 and "y" in r.outputs
        # a name it lacks: the model and the names it has (KeyError said 'z')
        assert "z" not in r.inputs and r.outputs.get("z") is None
        with pytest.raises(KeyError, match=r"inputs\['z'\]: model 'relu64' has no input 'z' "
                           r"\(its inputs: 'x'\)"):
            r.inputs["z"]
        with pytest.raises(KeyError, match=r"outputs\['x'\]: model 'relu64' has no output 'x' "
                           r"\(its outputs: 'y'\)"):
            r.outputs["x"]
    with pytest.raises(KeyError, match=r"inputs\['x'\]: the request is closed"):
        r.inputs["x"]


def test_run_async_splits_a_batch_like_run(client):
    m = client.model("relu64")
    x = relu64_input(2 * m.max_batch + 3)
    assert np.array_equal(asyncio.run(m.run_async(x, timeout=10)), m.run(x))


@pytest.mark.parametrize("use_async", [False, True])
def test_run_timeout_covers_the_whole_batch(client, monkeypatch, use_async):
    """run's timeout is the whole call's: a batch above max_batch (several
    requests) gives each what is left of it, and once none is left the
    rest are not sent (dnnq.Timeout saying how many went). Each request
    had the whole timeout: run(x, timeout=1) waited up to 4 s for 4. A
    fake clock in the client (0.375 s per request) makes it exact."""
    import types
    m = client.model("relu64")
    x = relu64_input(3 * m.max_batch + 1)
    want = m.run(x)
    now, given = [0.0], []
    name = "_run_chunk_async" if use_async else "_run_chunk"
    real = getattr(dnnq.client.Model, name)

    def tick(out):
        now[0] += 0.375
        return out

    if use_async:
        async def chunk(self, a, b, i, o, left):
            given.append(left)
            return tick(await real(self, a, b, i, o, left))
    else:
        def chunk(self, a, b, i, o, left):
            given.append(left)
            return tick(real(self, a, b, i, o, left))
    monkeypatch.setattr(dnnq.client.Model, name, chunk)
    monkeypatch.setattr(dnnq.client, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    with pytest.raises(dnnq.Timeout, match=r"^model 'relu64': run: no result within 1.0 s: "
                       r"3 of 4 requests of the batch done, the rest not sent$"):
        if use_async:
            asyncio.run(m.run_async(x, timeout=1.0))
        else:
            m.run(x, timeout=1.0)
    assert given == ([1.0, 0.625, 0.25] if use_async else [1000, 625, 250])
    # the requests that went ended: the client goes on
    now[0], given[:] = 0.0, []
    y = asyncio.run(m.run_async(x, timeout=10.0)) if use_async else m.run(x, timeout=10.0)
    assert np.array_equal(y, want)
    assert len(given) == 4


def test_public_api_has_docstrings_and_type_hints():
    """help() says something of every public function and method, and each
    one's return type is annotated."""
    import inspect
    import typing
    missing = []
    for name in ("Client", "Model", "Request", "Future", "connect"):
        obj = getattr(dnnq, name)
        members = [(name, obj)] if inspect.isfunction(obj) else [
            (f"{name}.{k}", v.fget if isinstance(v, property) else v)
            for k, v in vars(obj).items()
            if (not k.startswith("_") or k in ("__enter__", "__aenter__"))
            and (inspect.isfunction(v) or isinstance(v, property))]
        for qual, f in members:
            if not inspect.getdoc(f):
                missing.append(f"{qual}: no docstring")
            if "return" not in typing.get_type_hints(f):
                missing.append(f"{qual}: no return annotation")
    assert not missing, missing


def test_wheel_and_sdist_hold_the_package_and_py_typed(tmp_path):
    """pip install ./python's wheel (and the sdist) carry every module and
    the py.typed marker, so type checkers read the hints."""
    import importlib.util
    import tarfile
    import zipfile
    here = os.path.join(os.path.dirname(__file__), "..", "build_backend", "dnnq_build.py")
    spec = importlib.util.spec_from_file_location("dnnq_build", here)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    want = {f"dnnq/{n}" for n in ("__init__.py", "_lib.py", "client.py", "errors.py",
                                  "py.typed")}
    with zipfile.ZipFile(tmp_path / build.build_wheel(str(tmp_path))) as z:
        assert want <= set(z.namelist())
    with tarfile.open(tmp_path / build.build_sdist(str(tmp_path))) as t:
        assert {f"dnnq-{dnnq.__version__}/{w}" for w in want} <= set(t.getnames())


def test_closed_model_and_finished_future(client):
    m = client.model("relu64")
    r = m.request()
    f = r.submit()
    f.result(timeout=10)
    assert f.done() and f.exception() is None
    m.close()
    with pytest.raises(dnnq.InvalidArgument, match="closed"):
        m.run(relu64_input(1))
    with pytest.raises(dnnq.InvalidArgument, match="closed"):
        r.run()
    m.close()                            # idempotent
    assert client.model("relu64").run(relu64_input(1)).shape == (1, 64)


def test_closed_client_and_bad_options(daemon):
    c = dnnq.Client(daemon.socket)
    m = c.model("relu64")
    r = m.request()
    c.close()
    with pytest.raises(dnnq.Disconnected, match=r"^model 'relu64': infer: the client is closed$"):
        r.run()
    # the model named, not only the tensor ('x [1]: the client is closed')
    with pytest.raises(dnnq.Disconnected,
                       match=r"^model 'relu64': a request of batch 1, tensor 'x': the client is "
                             "closed$"):
        m.run(relu64_input(1))
    # a value ctypes would wrap is refused, named (slots=2**32 was 0: the default)
    for kw, rule in ((dict(slots=2**32), r"slots 4294967296: must be an integer in \[0, "),
                     (dict(slots=-1), r"slots -1: must be"),
                     (dict(arena_bytes=-5), r"arena_bytes -5: must be an integer in \[0, "),
                     (dict(spin_us=2**40), r"spin_us 1099511627776: must be")):
        with pytest.raises(dnnq.InvalidArgument, match=rule):
            dnnq.Client(daemon.socket, **kw)


def test_future_of_a_closed_client_says_so(daemon):
    """A with-block that exits with a request in flight: the Future's error
    is the closed client's, not the text of the thread's last library call
    (it said 'model 'relu64': dnnq_wait: timed out' as a Disconnected)."""
    with dnnq.Client(daemon.socket) as c:
        f = c.model("relu64").request().submit()
        with pytest.raises(dnnq.NotFound):           # a stale text, ready to leak
            c.model("nope")
    assert f.done()
    with pytest.raises(dnnq.Disconnected,
                       match=r"^model 'relu64': request: the client is closed$"):
        f.result(timeout=1)


def test_argument_edges(daemon, client):
    """A timeout of infinity waits, one past 2^31 ms the longest; NaN, a
    string or a negative one is InvalidArgument (not int()'s OverflowError
    / ValueError / TypeError). A
    bytes socket path is a path; a NUL byte in it or in a model name is
    refused (C would read up to it: "relu64\\0x" opened relu64), as is a
    name that is not UTF-8."""
    m = client.model("relu64")
    x = relu64_input(2)
    assert np.array_equal(m.run(x, timeout=float("inf")), m.run(x))
    # past int()'s reach once in ms (OverflowError), or past a numpy
    # integer's (its product by 1000 wrapped: 2^62 s read as 0 ms, a
    # timeout at once): the longest wait; 30000 s of an int16, 30000000 ms
    for long in (1e306, 10**400, np.int64(2**62), np.uint64(2**63), np.int16(30000)):
        assert np.array_equal(m.run(x, timeout=long), m.run(x))
        assert np.array_equal(asyncio.run(m.run_async(x, timeout=long)), m.run(x))
    assert m.request().run(timeout=np.float32(5))["y"].shape == (1, 64)
    for bad in (float("nan"), "1", -1, True):
        with pytest.raises(dnnq.InvalidArgument, match=r"^timeout .*: must be seconds >= 0"):
            m.run(x, timeout=bad)
    with pytest.raises(dnnq.InvalidArgument, match=r"^timeout nan"):
        asyncio.run(m.run_async(x, timeout=float("nan")))
    assert np.array_equal(asyncio.run(m.run_async(x, timeout=float("inf"))), m.run(x))
    with dnnq.Client(os.fsencode(daemon.socket), timeout=float("inf")) as c:
        assert "relu64" in c.models()
    with pytest.raises(dnnq.InvalidArgument, match="holds no NUL byte"):
        dnnq.Client(daemon.socket + "\0x")
    with pytest.raises(dnnq.InvalidArgument, match=r"^model name 'relu64\\x00x': holds a NUL"):
        client.model("relu64\0x")
    with pytest.raises(dnnq.InvalidArgument, match="not UTF-8"):
        client.model("\udcff")
    # the library says why (it said "invalid argument")
    with pytest.raises(dnnq.InvalidArgument, match=r"a name of 70 bytes: dnnqd's are 1\.\.63$"):
        client.model("m" * 70)
    with pytest.raises(dnnq.InvalidArgument, match=r"^model '': a name of 0 bytes"):
        client.model("")


def test_fork_child_does_not_share_the_session(daemon, client):
    """A forked child's calls on its parent's client raise Disconnected
    (the two processes' copies of the library handed out the same slots
    and arena blocks: the parent read wrong answers); the child connects
    its own, and the parent's session is untouched."""
    m = client.model("relu64")
    x = relu64_input(3)
    want = m.run(x)
    r = m.request(3)
    r.inputs["x"][...] = x
    r.run()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            try:
                m.run(x)
            except dnnq.Disconnected as e:
                assert "before a fork: connect again" in str(e), e
                # the child's views are its own now (zeros), not the parent's tensors
                r.inputs["x"][...] = 7
                with dnnq.Client(daemon.socket) as c:
                    assert np.array_equal(c.model("relu64").run(x), want)
                m.close()
                client.close()
                status = 0
        finally:
            os._exit(status)
    assert os.waitpid(pid, 0)[1] == 0
    assert np.array_equal(r.inputs["x"], x)
    assert np.array_equal(m.run(x), want) and np.array_equal(r.run()["y"], want)


def test_every_slot_in_flight(daemon):
    with dnnq.Client(daemon.socket, slots=1) as c:
        m = c.model("relu64")
        r1, r2 = m.request(), m.request()
        f = r1.submit()                  # its slot is held until its end is seen
        with pytest.raises(dnnq.Busy) as e:
            r2.submit()
        assert e.value.code == -18 and "dnnq_submit" in str(e.value)
        # and what that is in Python
        assert str(e.value).endswith("(in Python: a Future's result() or done() ends one; "
                                     "dnnq.Client(slots=N) has more)"), e.value
        f.result(timeout=10)
        r2.submit().result(timeout=10)


def test_socket_from_environment(daemon, monkeypatch):
    monkeypatch.setenv("DNNQ_SOCKET", daemon.socket)
    with dnnq.Client() as c:
        assert "relu64" in c.models()


def test_arena_exhausted(daemon):
    with dnnq.Client(daemon.socket, arena_bytes=1 << 16) as c:
        m = c.model("relu64")
        held = []
        with pytest.raises(dnnq.NoSpace):
            for _ in range(64):          # 8 KiB each, in a 64 KiB arena
                held.append(m.request(batch=64))
        assert held
        held.clear()                     # given back: room again
        assert m.request(batch=64).inputs["x"].shape == (64, 64)


# ---- threads and asyncio -------------------------------------------------------


def test_many_threads_share_a_client(client):
    m = client.model("relu64")
    inputs = [relu64_input(1 + i % 3) for i in range(8)]
    want = [m.run(x) for x in inputs]
    failures = []

    def work(i):
        try:
            r = m.request(batch=inputs[i].shape[0])
            for k in range(200):
                if k % 2:
                    assert np.array_equal(m.run(inputs[i]), want[i])
                else:
                    r.inputs["x"][:] = inputs[i]
                    assert np.array_equal(r.run()["y"], want[i])
            r.close()
        except BaseException as e:          # noqa: B902 - reported below
            failures.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures


def test_close_waits_for_other_threads(daemon):
    c = dnnq.Client(daemon.socket)
    m = c.model("digits")
    x = np.zeros((64, 1, 8, 8), np.float32)
    seen = []

    def work():
        try:
            while True:
                m.run(x)
        except dnnq.Disconnected as e:
            seen.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    m.run(x)
    c.close()
    for t in threads:
        t.join()
    assert len(seen) == 4 and all("closed" in str(e) for e in seen)


def test_asyncio(client):
    m = client.model("relu64")
    inputs = [relu64_input(1) for _ in range(50)]
    want = [m.run(x) for x in inputs]

    async def main():
        got = await asyncio.gather(*(m.run_async(x) for x in inputs))
        digits = client.model("digits")
        d = await digits.run_async(np.zeros((2, 1, 8, 8), np.float32), timeout=10)
        return got, d

    got, d = asyncio.run(main())
    assert all(np.array_equal(g, w) for g, w in zip(got, want))
    assert d.shape == (2, 10)
    # a second loop later, on the same client
    assert np.array_equal(asyncio.run(m.run_async(inputs[0])), want[0])


def test_asyncio_timeout_leaves_the_request(client, monkeypatch):
    m = client.model("relu64")
    digits = client.model("digits")
    x = relu64_input(1)
    big = np.zeros((64, 1, 8, 8), np.float32)
    real_poll = dnnq.Request._poll
    seen = []                            # the requests (kept: no id is reused)

    def poll(self):
        # a request's first look, right after its submit, finds it running,
        # so that timeout=0 expires whatever the daemon's speed
        if self.model is digits and not any(self is r for r in seen):
            seen.append(self)
            return -14
        return real_poll(self)
    monkeypatch.setattr(dnnq.Request, "_poll", poll)

    async def main():
        with pytest.raises(dnnq.Timeout):
            await digits.run_async(big, timeout=0)
        return await m.run_async(x, timeout=10)

    # the timed-out request may still be in flight when this loop closes:
    # the next loop takes it over
    for _ in range(3):
        assert np.array_equal(asyncio.run(main()), m.run(x))
    assert np.array_equal(digits.run(big), asyncio.run(digits.run_async(big)))


# ---- the daemon goes away ------------------------------------------------------


def test_daemon_restart(own_daemon):
    c = dnnq.Client(own_daemon.socket)
    m = c.model("relu64")
    x = relu64_input(1)
    want = m.run(x)
    r = m.request()
    pending = m.request()
    assert own_daemon.stop() == 0
    with pytest.raises(dnnq.Disconnected):
        for _ in range(1000):            # the first call may find the socket still up
            m.run(x, timeout=5)
    with pytest.raises(dnnq.Disconnected):
        r.run()
    with pytest.raises(dnnq.Disconnected):
        pending.submit().result(timeout=5)
    # every failure names the model and says what to do (a new request's
    # allocation said "dnnq_tensor_alloc: ...", opening one gave no hint)
    for call in (lambda: m.run(relu64_input(3)), lambda: c.model("relu64")):
        with pytest.raises(dnnq.Disconnected,
                           match=r"^model 'relu64'.*: disconnected from the daemon .*connect again"):
            call()

    async def run_async():
        return await m.run_async(x)
    with pytest.raises(dnnq.Disconnected):
        asyncio.run(run_async())
    c.close()
    own_daemon.start()
    with dnnq.Client(own_daemon.socket) as c2:
        assert np.array_equal(c2.model("relu64").run(x), want)


# ---- a hostile daemon ------------------------------------------------------

HELLO_REPLY = 312   # struct dnnq_msg_hello_reply


def _hostile_reply(rng, seq):
    """A reply to HELLO (bytes, fds to pass, fds to close once sent) or None
    (never answered): garbage, or dnnqd's header echoing seq over random
    fields, with fds of every kind."""
    kind = rng.integers(0, 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.bytes(int(rng.integers(0, 8300))), [], []
    size = int(rng.choice([16, HELLO_REPLY - 1, HELLO_REPLY, HELLO_REPLY + 1, 8192]))
    body = bytearray(rng.bytes(size))
    status = int(rng.choice([0, 0, -1, -18, 7, -2**31]))
    body[:16] = (0x50514E44).to_bytes(4, "little") + (4).to_bytes(2, "little") + \
        (1).to_bytes(2, "little") + seq.to_bytes(4, "little") + \
        status.to_bytes(4, "little", signed=True)
    if size >= 40:  # region_size at an edge
        edges = [0, 4096, 2**31, 2**63 - 1, 2**64 - 1]
        edge = edges[int(rng.integers(0, len(edges)))]
        body[32:40] = edge.to_bytes(8, "little")
    memfd = os.memfd_create("hostile")
    os.truncate(memfd, int(rng.choice([0, 4096, 1 << 20])))
    r, w = os.pipe()
    pool = [memfd, r, w, os.open("/dev/null", os.O_RDONLY)]
    fds = [pool[i] for i in rng.integers(0, len(pool), size=int(rng.integers(0, 6)))]
    return bytes(body), fds, pool


def _count_fds():
    return len(os.listdir("/proc/self/fd"))


def test_hostile_daemon_replies(tmp_path):
    """A fake dnnqd answers each HELLO with garbage, a header over random
    fields, sizes at their edges and fds of every kind (a memfd of 0 bytes
    or unsealed, pipes, /dev/null), or never: every Client() raises a
    dnnq.Error within its timeout and leaves no fd open."""
    import socket as so
    path = str(tmp_path / "hostile.sock")
    srv = so.socket(so.AF_UNIX, so.SOCK_SEQPACKET)
    srv.bind(path)
    srv.listen(4)
    rng = np.random.default_rng(24)
    stop = threading.Event()
    ended = threading.Semaphore(0)

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                hello = conn.recv(8192)
                got = _hostile_reply(rng, int.from_bytes(hello[8:12], "little"))
                try:
                    if got is not None:     # else silent
                        so.send_fds(conn, [got[0]], got[1])
                    conn.recv(1)            # until the client hangs up
                except OSError:
                    pass
                for fd in got[2] if got else []:
                    os.close(fd)
            ended.release()

    t = threading.Thread(target=serve)
    t.start()
    try:
        before = _count_fds()
        for i in range(60):
            with pytest.raises(dnnq.Error):
                dnnq.Client(path, timeout=0.3)
            assert ended.acquire(timeout=10), f"try {i}: the client did not hang up"
            assert _count_fds() == before, f"try {i}: fds left open"
    finally:
        stop.set()
        srv.shutdown(so.SHUT_RDWR)
        srv.close()
        t.join()


def test_import_without_numpy_says_what_to_install():
    # an interpreter without numpy (pyenv's, a bare venv): the error names
    # it and the two ways to get numpy, not a bare ModuleNotFoundError
    code = "import sys; sys.modules['numpy'] = None; import dnnq"
    pkg = os.path.dirname(os.path.dirname(dnnq.__file__))
    env = dict(os.environ, PYTHONPATH=pkg)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 1
    assert (f"ImportError: dnnq needs numpy, which {sys.executable} cannot import: Debian's "
            "python3-numpy serves /usr/bin/python3; for another interpreter, pip install "
            "numpy") in r.stderr
