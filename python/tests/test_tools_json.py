"""--json on failure: every tool that takes --json prints one object on
stdout when it fails too, {"ok": false, "error": {"code", "message"}}, the
message also on stderr, the exit status unchanged (docs/serving.md)."""
import json
import os
import subprocess

import pytest

from daemon import BINDIR, DNNQCTL

NOSOCK = "/nonexistent/dnnqd.sock"

# (argv, exit status, code or None for any DNNQ_E_*)
CASES = [
    (["dnnq-run", "--json", "/nonexistent.dnnq"], 1, None),
    (["dnnq-run", "--json", "--threads", "0", "m.dnnq"], 2, "DNNQ_E_INVAL"),
    (["dnnq-convert", "--json", "/nonexistent.onnx"], 1, None),
    (["dnnq-convert", "--json", "--no-such-option", "m.onnx"], 2, "DNNQ_E_INVAL"),
    (["dnnq-inspect", "--json", "/nonexistent.dnnq"], 1, "DNNQ_E_IO"),
    (["dnnq-inspect", "--json", "a.dnnq", "b.dnnq"], 2, "DNNQ_E_INVAL"),
    (["dnnq-calibrate", "stats", "--json", "/nonexistent.npy"], 1, None),
    (["dnnq-calibrate", "table", "--json", "extra"], 2, "DNNQ_E_INVAL"),
    ([DNNQCTL, "--socket", NOSOCK, "status", "--json"], 1, None),
    ([DNNQCTL, "--socket", NOSOCK, "status", "--json", "extra"], 2, "DNNQ_E_INVAL"),
    ([DNNQCTL, "--socket", NOSOCK, "reload", "--json"], 1, None),
    ([DNNQCTL, "--socket", NOSOCK, "infer", "--json", "m", "--bogus"], 2, "DNNQ_E_INVAL"),
    ([DNNQCTL, "--socket", NOSOCK, "bench", "--json", "m", "--duration", "0.1"], 1, None),
]


def run(argv):
    exe = argv[0] if os.path.isabs(argv[0]) else os.path.join(BINDIR, argv[0])
    return subprocess.run([exe] + argv[1:], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)


def failure(p):
    """The failure object p printed, checked against its stderr."""
    doc = json.loads(p.stdout)
    assert doc["ok"] is False, p.stdout
    err = doc["error"]
    assert err["code"].startswith("DNNQ_E_") and err["code"] != "DNNQ_E_UNKNOWN", p.stdout
    assert err["message"] and err["message"] == p.stderr.rstrip("\n"), (p.stdout, p.stderr)
    return err


@pytest.mark.parametrize("argv,status,code", CASES, ids=[" ".join(c[0][-4:]) for c in CASES])
def test_json_on_failure(argv, status, code):
    p = run(argv)
    assert p.returncode == status, (p.returncode, p.stderr)
    err = failure(p)
    if code:
        assert err["code"] == code, p.stdout


def test_json_on_failure_daemon(daemon, tmp_path):
    """A failure the daemon reports keeps its code: a model it does not serve."""
    p = run([DNNQCTL, "--socket", daemon.socket, "bench", "--json", "nosuch",
             "--duration", "0.1"])
    assert p.returncode == 1, p.stderr
    assert failure(p)["code"] == "DNNQ_E_NOTFOUND"


@pytest.mark.parametrize("argv", [
    ["dnnq-inspect", "--bogus", "--json"],
    ["dnnq-calibrate", "--json", "stats", "x.npy"],
    ["dnnq-run", "--bogus", "m.dnnq", "--json"],
    [DNNQCTL, "--json", "status"],
    [DNNQCTL, "--socket", NOSOCK, "statuss", "--json"],
], ids=lambda a: " ".join(a[-3:]))
def test_json_usage_error_before_json(argv):
    """A bad command line answers --json wherever --json is on it (a bad
    option before it, or a command word after it, printed nothing)."""
    p = run(argv)
    assert p.returncode == 2, p.stderr
    err = failure(p)
    assert err["code"] == "DNNQ_E_INVAL", p.stdout
    if argv[1] == "--json":     # a command's option first: where it goes
        assert "'--json' before the command" in err["message"], err


def test_json_infer_input_mistakes(daemon, tmp_path):
    """dnnqctl infer's input checks answer --json too (an array of the wrong
    shape printed its line on stderr only), and a wrong input name lists the
    model's inputs."""
    import numpy as np
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 1, 9, 9), np.float32))
    p = run([DNNQCTL, "--socket", daemon.socket, "infer", "--json", "digits",
             "--input", f"input={x}", "-o", str(tmp_path)])
    assert p.returncode == 1, p.stderr
    err = failure(p)
    assert err["code"] == "DNNQ_E_SHAPE" and "wants [N, 1, 8, 8]" in err["message"], err
    p = run([DNNQCTL, "--socket", daemon.socket, "infer", "--json", "digits",
             "--input", f"x={x}", "-o", str(tmp_path)])
    assert p.returncode == 1, p.stderr
    err = failure(p)
    assert err["code"] == "DNNQ_E_NOTFOUND", err
    assert err["message"].endswith("has no input 'x' (its inputs: 'input')"), err


# The keys dnnqctl(1)'s JSON OUTPUT lists, command by command: a key added
# here goes there too, and one renamed or gone breaks the promise made there.
STATUS_KEYS = {"pid", "uptime_ns", "workers", "scope", "sessions", "models", "requests",
               "failures", "bytes_copied", "session_requests", "session_failures", "status",
               "model_stats"}
MODEL_STATS_KEYS = {"name", "generation", "requests", "failures", "samples", "run_ns", "queued",
                    "queue_ns", "runs", "run_items", "mean_batch", "expired", "queue_depth",
                    "team_requests", "team_workers", "latency"}
MODEL_KEYS = {"name", "generation", "max_batch", "inputs", "outputs"}
IO_KEYS = {"name", "dtype", "shape"}
INFER_KEYS = {"model", "batch", "latency_us", "outputs"}
INFER_OUTPUT_KEYS = {"name", "dtype", "shape", "file", "top1"}
BENCH_KEYS = {"model", "threads", "sessions", "depth", "batch", "interval_ms", "duration_s",
              "requests", "failures", "requests_per_s", "samples_per_s", "latency_us", "runs",
              "mean_batch", "batches"}
RELOAD_KEYS = {"ok", "added", "changed", "removed", "served", "reloads", "error", "models"}


def ctl_json(daemon, *args):
    p = run([DNNQCTL, "--socket", daemon.socket, *args, "--json"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.endswith("}\n") and p.stdout.count("\n") == 1, p.stdout
    return json.loads(p.stdout)


def test_json_keys_are_the_documented_ones(daemon, tmp_path):
    import numpy as np
    doc = ctl_json(daemon, "status")
    assert set(doc) == STATUS_KEYS, doc
    assert doc["scope"] == "daemon" and doc["model_stats"], doc
    for m in doc["model_stats"]:
        assert set(m) == MODEL_STATS_KEYS, m
        assert all(set(b) == {"le_us", "count"} for b in m["latency"]), m
    doc = ctl_json(daemon, "models")
    assert {m["name"] for m in doc["models"]} >= {"digits", "relu64", "multi", "bert"}, doc
    for m in doc["models"]:
        assert set(m) == MODEL_KEYS, m
        for io in m["inputs"] + m["outputs"]:
            u8 = io["dtype"] == "u8"
            assert set(io) == IO_KEYS | ({"scale", "zero_point"} if u8 else set()), io
            assert io["dtype"] in ("u8", "s8", "s32", "f32") and io["shape"][0] == "N", io
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 1, 8, 8), np.float32))
    doc = ctl_json(daemon, "infer", "digits", "--input", f"input={x}", "-o", str(tmp_path))
    assert set(doc) == INFER_KEYS and doc["batch"] == 2, doc
    assert [set(o) for o in doc["outputs"]] == [INFER_OUTPUT_KEYS], doc
    assert len(doc["outputs"][0]["top1"]) == 2 and doc["outputs"][0]["shape"] == [2, 10], doc
    doc = ctl_json(daemon, "bench", "relu64", "--duration", "0.1")
    assert set(doc) == BENCH_KEYS, doc
    assert set(doc["latency_us"]) == {"p50", "p90", "p99", "p99_9", "max"}, doc
    doc = ctl_json(daemon, "reload")
    assert set(doc) == RELOAD_KEYS and doc["ok"] is True, doc


def test_models_by_name(daemon):
    """dnnqctl models NAME...: those models, in that order, options anywhere;
    a name not served fails before anything is printed, naming those served
    (it was 'unexpected argument')."""
    doc = ctl_json(daemon, "models", "multi", "digits")
    assert [m["name"] for m in doc["models"]] == ["multi", "digits"], doc
    assert ctl_json(daemon, "models", "--json", "relu64")["models"][0]["name"] == "relu64"
    p = run([DNNQCTL, "--socket", daemon.socket, "models", "digits"])
    assert p.returncode == 0 and p.stdout.startswith("digits  (generation ")
    assert "relu64" not in p.stdout, p.stdout
    p = run([DNNQCTL, "--socket", daemon.socket, "models", "digits", "nope"])
    assert p.returncode == 1 and p.stdout == "", (p.stdout, p.stderr)
    assert p.stderr.startswith("dnnqctl: model 'nope': not found (dnnqd serves: "), p.stderr
    assert "'digits'" in p.stderr, p.stderr
    p = run([DNNQCTL, "--socket", daemon.socket, "models", "nope", "--json"])
    assert p.returncode == 1 and failure(p)["code"] == "DNNQ_E_NOTFOUND", p.stdout


def test_infer_text_of_a_score_output(request, tmp_path):
    """dnnqctl infer's summary of an [N, 1] output (a score, silero VAD's
    speech probability) gives each row's value, not 'predicted class 0'."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper, save
    from daemon import Daemon
    w = numpy_helper.from_array(np.full((4, 1), 0.25, np.float32), "w")
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["score"])], "score",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
                          [w])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]),
         str(tmp_path / "score.onnx"))
    x = tmp_path / "x.npy"
    np.save(x, np.arange(8, dtype=np.float32).reshape(2, 4))
    p = run(["dnnq-convert", str(tmp_path / "score.onnx"), "-o", str(tmp_path / "score.dnnq"),
             "--calib", str(x)])
    assert p.returncode == 0, p.stderr
    d = Daemon(extra=("--model", f"score={tmp_path / 'score.dnnq'}"))
    request.addfinalizer(d.destroy)
    d.start()
    p = run([DNNQCTL, "--socket", d.socket, "infer", "score", "-i", f"x={x}",
             "-o", str(tmp_path / "out")])
    assert p.returncode == 0, p.stderr
    assert "\n  row 0: value 1.5" in p.stdout and "\n  row 1: value 5.5" in p.stdout, p.stdout
    assert "predicted class" not in p.stdout, p.stdout
    assert d.stop() == 0, d.tail()
