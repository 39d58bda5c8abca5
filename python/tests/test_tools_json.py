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
    ([DNNQCTL, "--socket", NOSOCK, "models", "--json", "extra"], 2, "DNNQ_E_INVAL"),
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
