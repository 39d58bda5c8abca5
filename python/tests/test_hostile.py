"""The Python client against a hostile daemon: tests/fakedaemon.c's, as the
process dnnq-fakedaemon ($DNNQ_FAKEDAEMON, python/tests/fakedaemon.c).

Every way it breaks a HELLO or a MODEL reply (a wrong size or type, a
region bigger than its memfd, an unsealed memfd, a corrupt region header,
fds missing, a close without an answer, no answer at all, bad dtypes,
ranks, dims, scales) and its replies mutated at random (fields at their
edges, bits, lengths, fds, the region header and the slots' words) must
end in a dnnq.Error, never in another exception, a crash or a hang, and
every numpy view the client hands out must lie inside the shared region
it mapped."""
import asyncio
import contextlib
import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

import dnnq
from daemon import BINDIR

FAKEDAEMON = os.environ.get("DNNQ_FAKEDAEMON",
                            os.path.join(os.path.dirname(BINDIR), "tests", "dnnq-fakedaemon"))
MUTATED = 150


class Fake:
    """dnnq-fakedaemon, driven through its stdin."""

    def __init__(self):
        self.proc = subprocess.Popen([FAKEDAEMON], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.socket, hello, model = self.proc.stdout.readline().split()
        self.hello_faults, self.model_faults = int(hello), int(model)

    def do(self, *words):
        self.proc.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        assert answer == "ok", f"{words}: {answer}"

    def stop(self):
        self.proc.stdin.close()
        rc = self.proc.wait(30)
        assert rc == 0, f"dnnq-fakedaemon exited with {rc}"


@pytest.fixture
def fake():
    f = Fake()
    try:
        yield f
    finally:
        if f.proc.poll() is None:
            f.stop()


@pytest.fixture
def sigint_raises():
    """SIGINT raising KeyboardInterrupt for the test: Python installs that
    handler only where SIGINT came in at its default, and a shell without
    job control starts its background jobs (a CI script's `cmd &`) with
    SIGINT ignored, where the os.kill below would do nothing."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def backstop(fake, what):
    """Unpauses the fake after 10 s if the block still runs then: `what`
    failed (the block waited for a request the paused fake never ends),
    instead of a hang."""
    released = threading.Event()

    def release():
        released.set()
        fake.do("pause", 0)
    timer = threading.Timer(10, release)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
    assert not released.is_set(), what


def run_when_free(m, x):
    """m.run(x), again while Busy: until the fake has served the request
    left to it that holds the client's slot."""
    for _ in range(200):
        try:
            return m.run(x, timeout=2)
        except dnnq.Busy:
            time.sleep(0.01)
    return m.run(x, timeout=2)


def assert_reaped(c, m):
    """Allocations reap the requests left to the fake once it served them:
    none is kept, nor their tensors, and the model runs."""
    for _ in range(200):
        m.request(1).close()
        if not c._orphans:
            break
        time.sleep(0.01)
    assert not c._orphans and not c._abandoned, "the left requests' tensors kept"
    x = np.ones((1, 4), np.float32)
    assert np.array_equal(m.run(x, timeout=2), 2 * x)


def region_of(address):
    """The mapping of /proc/self/maps holding address: (start, end, name)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(v, 16) for v in fields[0].split("-"))
            if start <= address < end:
                return start, end, fields[5] if len(fields) > 5 else ""
    return None


def assert_in_region(view):
    """view's bytes lie in one mapping, the fake's shared memfd."""
    address = view.__array_interface__["data"][0]
    found = region_of(address)
    assert found, f"a view at {address:#x}: not mapped"
    start, end, name = found
    assert "dnnq-fake" in name, f"a view at {address:#x} in {name!r}, not the region"
    assert address + view.nbytes <= end, \
        f"a view of {view.nbytes} bytes at {address:#x} runs past the region's end {end:#x}"


def session(socket):
    """Connects, opens the fake's models, runs each; a dnnq.Error may end it
    anywhere. The views handed out are checked against the region."""
    with dnnq.Client(socket, slots=4, timeout=0.2) as c:
        c.models()
        c.stats()
        for name in ("double", "quant", "stale"):
            m = c.model(name)
            shapes = [(1,) + i.shape[1:] for i in m.inputs]
            with m.request(1) as r:
                for view in list(r.inputs.values()) + list(r.outputs.values()):
                    assert_in_region(view)
                for view, shape in zip(r.inputs.values(), shapes):
                    assert view.shape == shape
                    view[...] = 1
                try:
                    out = r.run(timeout=0.5)
                except dnnq.ModelChanged:
                    if name != "stale":     # its every request fails so
                        raise
                    continue
                for view in out.values():
                    assert_in_region(view)
                    np.sum(view)
            m.close()


def test_model_changed_says_how_in_python(fake):
    """ModelChanged (the fake's model 'stale' fails every request so) says
    what opens the model again in Python, after the library's words."""
    with dnnq.Client(fake.socket, slots=4, timeout=1) as c:
        m = c.model("stale")
        with pytest.raises(dnnq.ModelChanged,
                           match=r"the model changed: open it again \(in Python: "
                                 r"client\.model\('stale'\) again, and read its inputs and "
                                 r"outputs: the new version's differ\)$"):
            m.run(np.ones((1,) + m.inputs[0].shape[1:], m.inputs[0].dtype), timeout=1)


def test_hello_faults(fake):
    """Each broken HELLO reply: a dnnq.Error, or (a fault the library
    repairs, such as a stray empty packet) a session that works whole."""
    refused = 0
    for fault in range(1, fake.hello_faults):
        fake.do("hello", fault)
        try:
            session(fake.socket)
        except dnnq.Error as e:
            assert str(e), f"HELLO fault {fault}: no message"
            refused += 1
        fake.do("ended", fault)
    assert refused, "no broken HELLO was refused"
    fake.do("hello", 0)
    session(fake.socket)


def test_model_faults(fake):
    refused = 0
    with dnnq.Client(fake.socket, timeout=0.5) as c:
        for fault in range(1, fake.model_faults):
            fake.do("model", fault)
            try:
                m = c.model("double")
                with m.request(1) as r:
                    for view in list(r.inputs.values()) + list(r.outputs.values()):
                        assert_in_region(view)
                m.close()
            except dnnq.Error as e:
                assert str(e), f"MODEL fault {fault}: no message"
                refused += 1
    assert refused, "no broken MODEL reply was refused"
    fake.do("model", 0)
    session(fake.socket)


def test_endless_models(fake):
    """A daemon answering every model index, each reply claiming 5000
    models more than the index: models() refuses a count past the 1024 a
    daemon serves at most with a ProtocolError (before: any count up to
    2^31 - 1 was taken, and that many names asked for and listed)."""
    fake.do("endless", 5000)
    with dnnq.Client(fake.socket, timeout=0.5) as c:
        with pytest.raises(dnnq.ProtocolError) as e:
            c.models()
        assert e.value.code == -20, e.value
    fake.do("endless", 0)
    session(fake.socket)


def test_completion_flood(fake, monkeypatch):
    """A daemon keeping the completion socket full: run_async's reader
    drains at most 64 datagrams a call, then looks at its requests and
    leaves the event loop to the others (before: it read until the socket
    was empty, which a flooding daemon never lets happen, and the loop hung
    in it; the test stops the flood after 2000 reads to see that)."""
    from dnnq import client as dc
    real_read, real_readable = dc._Aio.drain_one, dc._Aio.readable
    count = {"in": False, "reads": 0, "most": 0, "all": 0}

    def read(self):
        if count["in"]:
            count["reads"] += 1
            count["all"] += 1
            if count["all"] == 2000:
                fake.do("flood", 0)
        return real_read(self)

    def readable(self):
        count["in"], count["reads"] = True, 0
        try:
            real_readable(self)
        finally:
            count["in"] = False
            count["most"] = max(count["most"], count["reads"])

    monkeypatch.setattr(dc._Aio, "drain_one", read)
    monkeypatch.setattr(dc._Aio, "readable", readable)
    fake.do("flood", 1)
    with dnnq.Client(fake.socket, timeout=2) as c:
        m = c.model("double")
        x = np.arange(4, dtype=np.float32).reshape(1, 4)
        y = asyncio.run(m.run_async(x, timeout=30))
        assert np.array_equal(y, 2 * x)
    fake.do("flood", 0)
    assert 0 < count["most"] <= 64, f"{count['most']} reads in one call of the reader"


def test_completion_end_made_blocking(fake):
    """A daemon clearing O_NONBLOCK on the client's completion end (the
    flag is the open file's, which the daemon that made the socket keeps;
    attack43): run_async's reader used os.read until EAGAIN, so the read
    after the last byte blocked the event loop for good. It now reads
    with MSG_DONTWAIT. The requests run on a thread of their own, so a
    hang fails the test instead of holding it (the thread is left)."""
    done = {}

    def run():
        try:
            with dnnq.Client(fake.socket, timeout=2) as c:
                m = c.model("double")
                x = np.arange(4, dtype=np.float32).reshape(1, 4)
                for _ in range(3):
                    y = asyncio.run(m.run_async(x, timeout=10))
                    assert np.array_equal(y, 2 * x)
            done["ok"] = True
        except Exception as e:     # reported by the test thread
            done["error"] = e

    fake.do("blocking", 1)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(30)
    fake.do("blocking", 0)
    assert not t.is_alive(), "run_async hung in the completion reader"
    assert done.get("ok"), done.get("error")


def test_mutated_replies(fake):
    whole = 0
    for k in range(1, MUTATED + 1):
        fake.do("mutate", k * 0x9e3779b97f4a7c15 % 2**64)
        try:
            session(fake.socket)
            whole += 1
        except dnnq.Error as e:
            assert str(e), f"seed {k}: an error without a message"
        fake.do("ended", k)
    fake.do("mutate", 0)
    session(fake.socket)
    assert whole < MUTATED, "no mutated session failed: the mutation did nothing"


def test_death_mid_request(fake):
    """The daemon dies while a request waits for its worker, and when a
    client connects after: Disconnected, with the views still readable."""
    c = dnnq.Client(fake.socket, timeout=0.5)
    m = c.model("double")
    r = m.request(1)
    fake.do("pause", 1)
    future = r.submit()
    fake.do("kill")
    with pytest.raises(dnnq.Disconnected):
        future.result(timeout=None)
    with pytest.raises(dnnq.Error):
        m.run(np.ones((1, 4), np.float32), timeout=None)
    c.close()
    for view in r.outputs.values():
        assert not view.any()   # never written: a closed client's views keep their bytes
    with pytest.raises(dnnq.Error):
        dnnq.Client(fake.socket, timeout=0.5)


def test_dropped_and_timed_out_requests(fake):
    """A request dropped in flight keeps its tensors and slot until it ends
    (they went back to the arena at once: the next request got the tensors
    dnnqd was about to write, and the slot was lost for good); one that
    timed out is not run again on those tensors."""
    c = dnnq.Client(fake.socket, slots=2, timeout=0.5)
    m = c.model("double")
    fake.do("pause", 1)
    r = m.request(1)
    r.submit()
    held = r.outputs["y"].__array_interface__["data"][0]
    del r
    r = m.request(1)
    assert r.outputs["y"].__array_interface__["data"][0] != held
    # in run()'s words and seconds: it said "dnnq_infer: timed out"
    with pytest.raises(dnnq.Timeout, match=r"^model 'double': run: no result within 0\.05 s "
                       r"\(the request is left to finish\)$"):
        r.run(timeout=0.05)
    fake.do("pause", 0)
    with pytest.raises(dnnq.InvalidArgument, match="timed out or interrupted, and dnnqd may"):
        r.run(timeout=1)
    # both slots end once the fake serves them, reaped at an allocation
    # (Busy until then: the left one holds its slot; the refused run above
    # used to clear its ticket, and the slot was lost)
    runs = 0
    for _ in range(200):
        try:
            assert np.array_equal(m.run(np.ones((1, 4), np.float32), timeout=2),
                                  np.full((1, 4), 2, np.float32))
            runs += 1
        except dnnq.Busy:
            time.sleep(0.01)
        if runs == 4:
            break
    assert runs == 4 and not c._orphans
    c.close()


def test_ctrl_c_during_a_blocking_wait(fake, sigint_raises):
    """Ctrl-C (SIGINT) while the main thread waits without a timeout for a
    request dnnqd does not serve raises KeyboardInterrupt (it was held
    until the request ended: for ever here): Model.run's request is left to
    dnnqd, a Future's stays in flight and ends later."""
    c = dnnq.Client(fake.socket, slots=3, timeout=0.5)
    m = c.model("double")
    x = np.ones((1, 4), np.float32)
    fake.do("pause", 1)
    released = threading.Event()

    def release():      # the backstop: the wait would end here without the fix
        released.set()
        fake.do("pause", 0)
    for wait in (lambda: m.run(x), lambda: future.result()):
        future = m.request(1).submit()
        backstop = threading.Timer(10, release)
        backstop.start()
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            wait()
        backstop.cancel()
        assert not released.is_set(), "KeyboardInterrupt came only once the request ended"
    fake.do("pause", 0)
    assert np.array_equal(future.result(timeout=2)["y"], 2 * future.request.inputs["x"])
    for _ in range(4):      # the one run() left: reaped, its slot free again
        assert np.array_equal(m.run(x, timeout=2), 2 * x)
        m.request(1)
    assert not c._orphans
    c.close()


def test_slot_left_by_ctrl_c_is_reaped(fake, sigint_raises):
    """The one slot, held by a run() that Ctrl-C left to dnnqd: once that
    request ended, a submit of a request made before gets the slot (it was
    DNNQ_E_BUSY until some allocation reaped it)."""
    c = dnnq.Client(fake.socket, slots=1, timeout=0.5)
    m = c.model("double")
    r = m.request(1)
    r.inputs["x"][...] = 3
    fake.do("pause", 1)
    backstop = threading.Timer(10, fake.do, ("pause", 0))   # a failure, not a hang
    backstop.start()
    threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        m.run(np.ones((1, 4), np.float32))
    backstop.cancel()
    fake.do("pause", 0)
    for _ in range(200):    # Busy until the fake has served the left request
        try:
            future = r.submit()
            break
        except dnnq.Busy:
            time.sleep(0.01)
    assert np.array_equal(future.result(timeout=2)["y"], np.full((1, 4), 6, np.float32))
    c.close()


def test_run_on_a_submitted_request_keeps_it(fake):
    """run() or submit() on a request in flight is refused and leaves it
    as it was: its Future still ends it (run() used to clear its ticket
    first, and the Future then failed InvalidArgument, the request's result
    and its slot lost)."""
    c = dnnq.Client(fake.socket, slots=2, timeout=0.5)
    m = c.model("double")
    r = m.request(1)
    r.inputs["x"][...] = 5
    fake.do("pause", 1)
    future = r.submit()
    for again in (lambda: r.run(timeout=1), r.submit):
        with pytest.raises(dnnq.InvalidArgument, match="already in flight"):
            again()
    fake.do("pause", 0)
    assert np.array_equal(future.result(timeout=2)["y"], np.full((1, 4), 10, np.float32))
    assert np.array_equal(r.run(timeout=2)["y"], np.full((1, 4), 10, np.float32))
    c.close()


class _InterruptedSubmit:
    """The library, whose dnnq_submit is followed by a KeyboardInterrupt:
    Ctrl-C landing once the C call returned, before Python looked at it."""

    def __init__(self, lib):
        self._lib = lib

    def __getattr__(self, name):
        return getattr(self._lib, name)

    def dnnq_submit(self, *args):
        rc = self._lib.dnnq_submit(*args)
        assert rc == 0
        raise KeyboardInterrupt


def test_ctrl_c_right_after_submit(fake, monkeypatch):
    """A KeyboardInterrupt once dnnq_submit has returned leaves the request
    to dnnqd (the client polls it to its end): the request used to be lost,
    its slot never ended (the one slot: Busy for good) and its tensors back
    in the arena while dnnqd could write them."""
    import dnnq.client as client
    c = dnnq.Client(fake.socket, slots=1, timeout=0.5)
    m = c.model("double")
    r = m.request(1)
    monkeypatch.setattr(client, "lib", _InterruptedSubmit(client.lib))
    with pytest.raises(KeyboardInterrupt):
        r.submit()
    monkeypatch.undo()
    with pytest.raises(dnnq.InvalidArgument, match="timed out or interrupted"):
        r.submit()
    x = np.ones((1, 4), np.float32)
    assert np.array_equal(run_when_free(m, x), 2 * x)
    assert not c._orphans and not c._abandoned, "the left request's slot or tensors kept"
    c.close()


def test_close_after_a_timeout_does_not_wait(fake):
    """A request whose run() timed out on the main thread is left to dnnqd:
    closing it (the end of its `with` block) does not wait for it, which
    dnnqd may never end (it waited; run() on another thread did not), and
    once the client has seen it end its tensors go back to the arena (they
    were kept until close(): every timeout took arena space for good)."""
    c = dnnq.Client(fake.socket, slots=2, timeout=0.5)
    m = c.model("double")
    fake.do("pause", 1)
    with backstop(fake, "close() waited for the request left to dnnqd"):
        with pytest.raises(dnnq.Timeout):
            with m.request(1) as r:
                r.run(timeout=0.2)
    assert c._abandoned
    fake.do("pause", 0)
    assert_reaped(c, m)
    c.close()


def test_close_after_a_future_timeout_does_not_wait(fake):
    """A Future whose result() timed out stays in flight: result() may be
    called again and gets the end. Closing its request (the end of its
    `with` block), or one whose Future was dropped unwaited, does not wait
    (it did: for ever, for a request dnnqd never ends): the request is left
    to the client, its Future done, result() InvalidArgument, and its
    tensors go back to the arena once the client has seen it end."""
    c = dnnq.Client(fake.socket, slots=4, timeout=0.5)
    m = c.model("double")
    fake.do("pause", 1)
    with backstop(fake, "close() waited for a request dnnqd never ended"):
        with m.request(1) as r:
            again = r.submit()
            for _ in range(2):
                with pytest.raises(dnnq.Timeout, match=r"^model 'double': result: no result "
                                   r"within 0\.05 s \(still in flight: result\(\) again"):
                    again.result(timeout=0.05)
        with pytest.raises(dnnq.Timeout):
            with m.request(1) as r:
                f = r.submit()
                f.result(timeout=0.05)
        with m.request(1) as dropped:
            dropped.submit()
    assert f.done() and again.done()
    for future in (f, again):
        with pytest.raises(dnnq.InvalidArgument, match="closed before its end"):
            future.result(timeout=1)
    assert len(c._orphans) == 3 and c._abandoned
    r = m.request(1)
    r.inputs["x"][...] = 5
    f = r.submit()
    with pytest.raises(dnnq.Timeout):
        f.result(timeout=0.05)
    fake.do("pause", 0)
    assert np.array_equal(f.result(timeout=2)["y"], np.full((1, 4), 10, np.float32))
    r.close()
    assert_reaped(c, m)
    c.close()


def test_run_async_timeout_left_by_a_closed_loop_is_reaped(fake):
    """A run_async that timed out leaves its request to finish; once its
    event loop is closed (asyncio.run returned), nobody awaits it: the
    client polls it to its end like a left run(), and its slot serves
    Model.run again (the one slot was Busy until the client's close)."""
    c = dnnq.Client(fake.socket, slots=1, timeout=0.5)
    m = c.model("double")
    x = np.ones((1, 4), np.float32)
    fake.do("pause", 1)
    with pytest.raises(dnnq.Timeout, match=r"^model 'double': run_async: no result within "
                       r"0\.05 s \(the request is left to finish\)$"):
        asyncio.run(m.run_async(x, timeout=0.05))
    fake.do("pause", 0)
    assert np.array_equal(run_when_free(m, x), 2 * x)
    assert not c._orphans and not c._abandoned, "the left request's slot or tensors kept"
    c.close()


def test_close_while_a_tensor_is_made(fake, monkeypatch):
    """close() from another thread while a request's tensor is being made
    (after dnnq_tensor_alloc returned) waits for it: the tensor's view then
    holds the closed region and reads what was written. It used to be made
    after the guard: close() could run in between, the block got no region
    (its range unmapped once the other blocks went) and no bytes kept."""
    import dnnq.client as client
    c = dnnq.Client(fake.socket, slots=2, timeout=0.5)
    m = c.model("double")
    closer = threading.Thread(target=c.close)
    made = []

    class SlowBlock(client._Block):
        def __init__(self, cl, t):
            if not made:    # the first tensor: let close() run meanwhile
                closer.start()
                time.sleep(0.2)
            super().__init__(cl, t)
            made.append(self)
    monkeypatch.setattr(client, "_Block", SlowBlock)
    try:
        r = m.request(1)
    except dnnq.Disconnected:
        r = None    # closed between two tensors: refused, not half made
    closer.join()
    assert made and all(b.region is not None for b in made), "a block without its region"
    if r is not None:
        r.inputs["x"][...] = 7
        assert (r.inputs["x"] == 7).all()


def test_closed_request_is_refused(fake):
    """run() and submit() on a closed request raise InvalidArgument saying
    so: they passed the C library the addresses of its tensors' structs,
    freed with them (read as garbage: 'not a tensor allocated from this
    client', a batch of 0, or another request's tensor)."""
    c = dnnq.Client(fake.socket, slots=2, timeout=0.5)
    m = c.model("double")
    r = m.request(1)
    r.close()
    for again in (lambda: r.run(timeout=1), r.submit):
        with pytest.raises(dnnq.InvalidArgument, match="request of model 'double': closed"):
            again()
    assert np.array_equal(m.run(np.ones((1, 4), np.float32), timeout=2),
                          np.full((1, 4), 2, np.float32))
    c.close()
