"""A dnnqd of the Python client's own (the tests' and bench/python.py's): a
temporary directory holding its socket, its log and its models.

Models: relu64 and multi (tools/serve-fixture.c's, as written into
tests/fuzz/corpus/model/ by `make fuzz-seeds`), digits, the digits CNN of
tests/onnx/digits converted by dnnq-convert as `make demo` converts it, and
bert, tests/onnx/nlp's tiny BERT-like model with int32 token-id inputs.

Binaries: $DNNQ_DNNQD, $DNNQ_DNNQCTL, and dnnq-convert in $DNNQ_BINDIR
(make check-python sets them; default build/bin). The library:
$DNNQ_CLIENT_LIB (default build/lib/libdnnq-client.so.1). Importing this
module puts python/ first on sys.path, so `import dnnq` is this tree's.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINDIR = os.path.abspath(os.environ.get("DNNQ_BINDIR", os.path.join(ROOT, "build", "bin")))
os.environ.setdefault("DNNQ_CLIENT_LIB",
                      os.path.join(os.path.dirname(BINDIR), "lib", "libdnnq-client.so.1"))
sys.path.insert(0, os.path.join(ROOT, "python"))

import dnnq  # noqa: E402

DNNQD = os.path.abspath(os.environ.get("DNNQ_DNNQD", os.path.join(BINDIR, "dnnqd")))
DNNQCTL = os.path.abspath(os.environ.get("DNNQ_DNNQCTL", os.path.join(BINDIR, "dnnqctl")))
DIGITS = os.path.join(ROOT, "tests", "onnx", "digits")
NLP = os.path.join(ROOT, "tests", "onnx", "nlp")
FIXTURE_MODELS = os.path.join(ROOT, "tests", "fuzz", "corpus", "model")


class Daemon:
    """dnnqd serving relu64, multi, digits and bert on DIR/dnnqd.sock."""

    def __init__(self, extra=()):
        self.dir = tempfile.mkdtemp(prefix="dnnq-py-")
        self.socket = os.path.join(self.dir, "dnnqd.sock")
        self.log = os.path.join(self.dir, "dnnqd.log")
        self.proc = None
        digits = os.path.join(self.dir, "digits.dnnq")
        subprocess.run([os.path.join(BINDIR, "dnnq-convert"), os.path.join(DIGITS, "cnn.onnx"),
                        "-o", digits, "--calib", os.path.join(DIGITS, "calib_x.npy"),
                        "--per-channel"], check=True, capture_output=True)
        bert = os.path.join(self.dir, "bert.dnnq")
        subprocess.run([os.path.join(BINDIR, "dnnq-convert"), os.path.join(NLP, "bert.onnx"),
                        "-o", bert, "--calib", NLP], check=True, capture_output=True)
        self.argv = [DNNQD, "--socket", self.socket, "--model", "digits=" + digits,
                     "--model", "bert=" + bert,
                     "--model", "relu64=" + os.path.join(FIXTURE_MODELS, "relu64.dnnq"),
                     "--model", "multi=" + os.path.join(FIXTURE_MODELS, "multi.dnnq"),
                     *extra]

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dnnqd exited with {self.proc.returncode}: {self.tail()}")
            try:
                dnnq.Client(self.socket, timeout=1).close()
                return
            except dnnq.Error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dnnqd did not answer within 20 s: {self.tail()}")
                time.sleep(0.01)

    def stop(self):
        """SIGTERM; dnnqd's exit status (SIGKILL after 10 s)."""
        if self.proc is None or self.proc.poll() is not None:
            rc = self.proc.returncode if self.proc else 0
            self.proc = None
            return rc
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def destroy(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)
