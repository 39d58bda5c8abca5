#!/usr/bin/python3
"""bench/python.py — the Python client (python/dnnq) beside the C client,
in the same run against the same dnnqd: what `make bench` prints after
dnnq-bench's tables, in their style.

  1. Round trip of relu64 (64 B in, 64 B out, batch 1): the C client
     (`dnnqctl bench relu64`, a loop of dnnq_infer, each request timed by
     dnnqctl), Python's Model.run (a copy in, dnnq_infer, a fresh array
     out) and Python's Request.run (zero copy, numpy views of the arena),
     interleaved in rounds of BLOCK_S seconds each, each block after a 5 ms
     sleep; p50 is the median of the rounds' p50s, p99 / p99.9 of the
     rounds' too. dnnqd runs with `--cpus 1` (one worker spinning on CPU
     1), this process and dnnqctl on CPU 0, as in `dnnq-bench ipc`.
  2. The digits CNN (tests/onnx/digits/cnn.onnx through dnnq-convert, one
     image a request): requests/s of Model.run from one Python thread
     against `dnnqctl bench digits`, interleaved slices.

Results are checked first: Model.run's output equals Request.run's. The
target: Python Model.run p50 <= 15 us. `others`: CPUs that processes other
than these kept busy meanwhile (/proc/stat); a figure they disturbed is not
judged. --quick: fewer, shorter rounds.

Run with Debian's python3 (numpy); make bench sets DNNQ_BINDIR,
DNNQ_DNNQD, DNNQ_DNNQCTL and DNNQ_CLIENT_LIB for its build.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python",
                                "tests"))
from daemon import DNNQCTL, Daemon, dnnq  # noqa: E402 (puts this tree's dnnq first)

import numpy as np  # noqa: E402

TARGET_P50_US = 15.0
CLIENT_CPU, SERVER_CPU = 0, 1
SETTLE_S = 5e-3


# ---- measuring ------------------------------------------------------------------


def cpu_busy():
    """(busy jiffies of the whole machine, wall time)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], time.monotonic()


def proc_jiffies(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return 0


class Load:
    """CPUs busy with other processes than this one, its children and dnnqd."""

    def __init__(self, daemon_pid):
        self.pid = daemon_pid
        self.busy, self.wall = cpu_busy()
        self.ours = self._ours()

    def _ours(self):
        t = os.times()
        hz = os.sysconf("SC_CLK_TCK")
        mine = (t.user + t.system + t.children_user + t.children_system) * hz
        return mine + proc_jiffies(self.pid)

    def others(self):
        busy, wall = cpu_busy()
        hz = os.sysconf("SC_CLK_TCK")
        other = (busy - self.busy) - (self._ours() - self.ours)
        return max(other / hz / max(wall - self.wall, 1e-9), 0.0)


def pct(sorted_s, p):
    """Nearest rank of the sorted samples (as bench/ipc.c)."""
    r = int(np.ceil(p * len(sorted_s)))
    return sorted_s[max(r - 1, 0)]


def time_block(f, seconds):
    """f() over and over for `seconds`, each call timed; sorted µs."""
    time.sleep(SETTLE_S)
    f()                                  # wakes the worker, untimed
    lat = []
    clock = time.perf_counter_ns
    end = clock() + int(seconds * 1e9)
    t = clock()
    while t < end:
        f()
        t1 = clock()
        lat.append(t1 - t)
        t = t1
    lat.sort()
    return [x / 1e3 for x in lat]


def dnnqctl_bench(socket, model, seconds):
    """`dnnqctl bench MODEL --json` for `seconds`: its JSON."""
    time.sleep(SETTLE_S)
    out = subprocess.run([DNNQCTL, "--socket", socket, "bench", model, "--duration",
                          f"{seconds:.3f}", "--json"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ---- printing, in bench/table.c's style ------------------------------------------


def table(cols, rows):
    """cols: (head, width, prec); prec < -1 left-aligns a string."""
    print("  ".join(f"{h:<{w}}" if p < -1 else f"{h:>{w}}" for h, w, p in cols))
    for row in rows:
        cells = []
        for (h, w, p), v in zip(cols, row):
            if p < -1:
                cells.append(f"{v:<{w}}")
            elif p == -1:
                cells.append(f"{v:>{w}d}")
            else:
                cells.append(f"{v:>{w}.{p}f}")
        print("  ".join(cells))


def note(text, width=96):
    """Greedily wrapped at 96 columns, continuation lines indented by 2."""
    line = ""
    for w in text.split():
        if line and len(line) + 1 + len(w) > width:
            print(line)
            line = "  " + w
        else:
            line = f"{line} {w}" if line and line != "  " else (line + w)
    print(line)


def judge(what, value, limit, others, unit):
    # bench/timing.c's rule: the client and the server each need a CPU
    if others > max(os.cpu_count() - 2, 0) + 0.1:
        verdict = "not judged, other processes busy"
    else:
        verdict = "met" if value <= limit else "MISSED"
    return f"{what} <= {limit:.2f}{unit}: {verdict} ({value:.2f}{unit})"


# ---- 1: round trip -----------------------------------------------------------------


def round_trips(d, c, rounds, block_s):
    m = c.model("relu64")
    x = np.random.default_rng(21).integers(0, 256, size=(1, 64), dtype=np.uint8)
    r = m.request()
    r.inputs["x"][:] = x
    if not np.array_equal(m.run(x), r.run()["y"]):
        sys.exit("bench: relu64: Model.run's result differs from Request.run's")
    run = m.run
    rrun = r.run
    paths = {"C": [], "run": [], "request": []}
    load = Load(d.proc.pid)
    for k in range(rounds):
        order = ["C", "run", "request"] if k % 2 == 0 else ["request", "run", "C"]
        for p in order:
            if p == "C":
                j = dnnqctl_bench(d.socket, "relu64", block_s)
                lat = j["latency_us"]
                paths[p].append((lat["p50"], lat["p99"], lat["p99_9"], j["requests"]))
            else:
                s = time_block((lambda: run(x)) if p == "run" else rrun, block_s)
                paths[p].append((pct(s, 0.5), pct(s, 0.99), pct(s, 0.999), len(s)))
    others = load.others()
    print(f"\n== Python client: round trip, relu64 (64 B in, 64 B out, batch 1): client on "
          f"CPU {CLIENT_CPU}, server on CPU {SERVER_CPU} ==")
    cols = [("path", 40, -2), ("p50 us", 8, 2), ("p99 us", 8, 2), ("p99.9 us", 8, 2),
            ("vs C p50", 8, 2), ("requests", 9, -1), ("rounds", 6, -1), ("others", 6, 2)]
    med = {p: [float(np.median([v[i] for v in paths[p]])) for i in range(3)] for p in paths}
    names = {"C": "C client (dnnqctl bench, dnnq_infer)",
             "run": "Python Model.run (copy in, new array out)",
             "request": "Python Request.run (zero copy)"}
    table(cols, [(names[p], *med[p], med[p][0] / med["C"][0],
                  int(sum(v[3] for v in paths[p])), rounds, others) for p in paths])
    note(f"Interleaved rounds of {block_s:.2f} s per path (order reversed every other "
         f"round), each block after a {SETTLE_S * 1e3:.0f} ms sleep; the C client's "
         "latencies are dnnqctl's own (CLOCK_MONOTONIC around each dnnq_infer), Python's "
         "time.perf_counter_ns around each call. Each figure is the median over the rounds "
         "of that round's percentile. dnnqd: `--cpus 1`, one worker spinning between "
         "requests; both clients spin on the result (the library's 50 us). others: CPUs "
         "other processes kept busy meanwhile (/proc/stat).")
    note(f"Python / C p50: Model.run {med['run'][0] / med['C'][0]:.2f}x "
         f"(+{med['run'][0] - med['C'][0]:.2f} us), Request.run "
         f"{med['request'][0] / med['C'][0]:.2f}x (+{med['request'][0] - med['C'][0]:.2f} us).")
    return med["run"][0], others


# ---- 2: digits CNN, requests/s ---------------------------------------------------------


def digits_rate(d, c, slices, slice_s):
    m = c.model("digits")
    x = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                             "onnx", "digits", "demo_x.npy"))
    m.run(x)
    rates = {"C": [], "py": []}
    load = Load(d.proc.pid)
    for k in range(slices):
        for p in (["C", "py"] if k % 2 == 0 else ["py", "C"]):
            if p == "C":
                rates[p].append(dnnqctl_bench(d.socket, "digits", slice_s)["requests_per_s"])
            else:
                time.sleep(SETTLE_S)
                n = 0
                t0 = time.perf_counter()
                end = t0 + slice_s
                while True:
                    m.run(x)
                    n += 1
                    t = time.perf_counter()
                    if t >= end:
                        break
                rates[p].append(n / (t - t0))
    others = load.others()
    print("\n== Python client: digits CNN (batch 1) from one thread ==")
    cols = [("path", 40, -2), ("median req/s", 12, 0), ("best req/s", 12, 0),
            ("us / request", 12, 2), ("vs C", 6, 2), ("slices", 6, -1), ("others", 6, 2)]
    med = {p: float(np.median(v)) for p, v in rates.items()}
    table(cols, [("C client (dnnqctl bench, dnnq_infer)", med["C"], max(rates["C"]),
                  1e6 / med["C"], 1.0, slices, others),
                 ("Python Model.run", med["py"], max(rates["py"]), 1e6 / med["py"],
                  med["py"] / med["C"], slices, others)])
    note(f"One 8x8 image a request (tests/onnx/digits/demo_x.npy, float32, quantized by the "
         f"daemon) through the digits CNN (Conv+ReLU, MaxPool, Conv+ReLU, MaxPool, Gemm), "
         f"{slices} interleaved slices of {slice_s:.2f} s per path, median and best. One "
         f"dnnqd worker (CPU {SERVER_CPU}).")
    return med["py"]


def main():
    quick = "--quick" in sys.argv[1:] or os.environ.get("DNNQ_BENCH_QUICK") == "1"
    if len(os.sched_getaffinity(0)) < 2 or os.cpu_count() < 2:
        print("python bench: fewer than 2 CPUs: skipped")
        return 0
    d = Daemon(["--cpus", str(SERVER_CPU)])
    try:
        d.start()
        os.sched_setaffinity(0, {CLIENT_CPU})    # after dnnqd: it must not inherit it
        with dnnq.Client(d.socket) as c:
            p50, others = round_trips(d, c, 3 if quick else 7, 0.1 if quick else 0.3)
            rate = digits_rate(d, c, 3 if quick else 5, 0.1 if quick else 0.4)
        if d.stop() != 0:
            print(f"python bench: dnnqd did not stop cleanly: {d.tail()}", file=sys.stderr)
    finally:
        d.destroy()
    print(f"\npython targets: {judge('round trip Python Model.run p50', p50, TARGET_P50_US, others, ' us')}; "
          f"digits CNN from one Python thread: {rate:.0f} req/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
