"""Client, Model, Request and Future: dnnqd from Python over ctypes.

Lifetimes (docs/python.md says the same for users):

- A Client owns a C client (dnnq_connect). Every C call made through it
  counts itself in `_busy` under `_lock`; close() refuses new calls, waits
  for the ones running to return, then closes with
  dnnq_close_keep_mapping: the shared region's addresses stay mapped as
  private pages (the live blocks' bytes copied back into them), owned by a
  _Region that munmaps them when its last reference goes.
- Each tensor in the arena is a _Block, and a numpy view of it has the
  block as its base (the __array_interface__ protocol). A block holds the
  _Region, so a view keeps the addresses it points at mapped: reading a view
  of a closed client gives what it gave before, never a fault. A block
  holds its client weakly (a view must not keep the session open). A block is given back to
  the arena (dnnq_tensor_free) only when its Request and every view of it
  are gone, so a view never aliases another request's tensor.
- Blocks a request in flight may still be written into (a timeout, a
  disconnect) are not given back while it may: they stay on the client
  until close, or until the client sees the request end (a request left
  to dnnqd, by a main-thread run's timeout or Ctrl-C, a Request.close()
  or drop in flight, or a closed event loop, is polled to its end: _reap).
  Nothing waits for dnnqd without the caller's timeout: Request.close()
  never does.
"""
from __future__ import annotations

import asyncio
import ctypes
import math
import numbers
import operator
import os
import socket
import sys
import threading
import time
import weakref
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence, Union, overload

try:
    import numpy as np
except ImportError as e:  # say what to install: the interpreter may not be Debian's
    raise ImportError(f"dnnq needs numpy, which {sys.executable} cannot import: Debian's "
                      "python3-numpy serves /usr/bin/python3; for another interpreter, "
                      "pip install numpy") from e

from . import _lib
from ._lib import lib
from .errors import (Disconnected, DtypeError, Error, InvalidArgument, NoSpace, RangeError,
                     ShapeError, Timeout, from_code)

_NP_OF: Dict[int, np.dtype[Any]] = {_lib.TYPE_U8: np.dtype(np.uint8), _lib.TYPE_S8: np.dtype(np.int8),
          _lib.TYPE_S32: np.dtype(np.int32), _lib.TYPE_F32: np.dtype(np.float32)}
_CODE_OF = {v: k for k, v in _NP_OF.items()}
_F32 = np.dtype(np.float32)
_I64 = np.dtype(np.int64)
_I32_MIN, _I32_MAX = np.iinfo(np.int32).min, np.iinfo(np.int32).max
_TYPESTR = {k: v.str for k, v in _NP_OF.items()}
_E_BUSY = -18
_E_MODEL_CHANGED = -19
_DRAIN = 64     # completion bytes read per wake-up of run_async's reader

# What Model.run takes (one array, a list in input order, a dict by name)
# and gives back (one array, else a list or a dict by output name).
ArrayIn = Union[np.ndarray, Sequence[Any], Dict[str, Any]]
DtypeLike = Optional[Any]   # None, or a numpy dtype (np.float32)


def _timeout_ms(timeout):
    """None (or infinity): wait for ever (dnnqd's death still ends the wait
    within 100 ms). A NaN, a negative or a non-number is InvalidArgument,
    not the TypeError / OverflowError int() would raise."""
    if timeout is None:
        return -1
    # compared, not converted: math.isnan(10**400) and int(1e306 * 1000)
    # raise OverflowError, and a numpy integer's product by 1000 wraps
    # (np.int64(2**62) s read as 0 ms)
    if (not isinstance(timeout, numbers.Real) or isinstance(timeout, bool) or
            timeout != timeout or timeout < 0):
        raise InvalidArgument(f"timeout {timeout!r}: must be seconds >= 0, or None")
    if timeout == math.inf:
        return -1
    if timeout >= (2**31 - 1) / 1000:
        return 2**31 - 1
    return int(float(timeout) * 1000 + 0.999)


# Python runs signal handlers (Ctrl-C's KeyboardInterrupt) in the main
# thread, between bytecodes: never while a ctypes call blocks. So the main
# thread waits for a request in slices of this many ms; the others, whom no
# signal interrupts, in one call (dnnq_infer, one C call fewer).
_SLICE_MS = 100


_main = threading.main_thread().ident


def _sliced(ms):
    """Whether a wait of ms (< 0: for ever) goes in slices."""
    return (ms < 0 or ms > _SLICE_MS) and threading.get_ident() == _main


def _submit_wait(h, ins, outs, req):
    """(submitted, status): dnnq_submit, then one slice of dnnq_wait."""
    rc = lib.dnnq_submit(h, ins, outs, req)
    return (False, rc) if rc else (True, lib.dnnq_wait(req, _SLICE_MS))


def _tagged(e, tag):
    """e with tag ("model 'digits'") before its text, unless the text
    names it already (the library's seldom says which model)."""
    if tag not in e.message:
        e.message = f"{tag}: {e.message}"
        e.args = (e.message,)
    return e


def _as_array(v, name):
    """np.asarray(v) for input `name`; lists of unequal lengths, which
    numpy >= 1.24 refuses with ValueError (older ones made an object array
    of them, which Model._check refuses), DtypeError as that."""
    try:
        return np.asarray(v)
    except ValueError as e:
        raise DtypeError(f"input '{name}': lists of unequal lengths (numpy: {e}): not an "
                         "array of numbers") from None


def _closed_error(what, client=None):
    why = client._closed_why if client is not None else "the client is closed"
    return Disconnected(f"{what}: {why}")


# Every open Client, for the fork handler below.
_LIVE: "weakref.WeakSet[Client]" = weakref.WeakSet()


def _after_fork_in_child():
    """A forked child must not use its parent's sessions: each process's
    copy of the library would hand out the same slots and arena blocks (the
    parent then read other requests' answers), and a control call could
    read the other's reply. So each is closed here, in the child only, as
    close() would, but without waiting for threads the child does not have;
    a call on it then raises Disconnected saying to connect again."""
    global _main
    _main = threading.main_thread().ident   # the thread that forked
    for c in list(_LIVE):
        c._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Region:
    """The address range of a closed client's region (private zero pages
    since dnnq_close_keep_mapping); unmapped when the last block goes."""

    def __init__(self):
        self.base = None
        self.size = 0

    def __del__(self):
        if self.base:
            try:
                _lib.munmap(self.base, self.size)
            except Exception:   # interpreter shutdown: the process unmaps it
                pass
            self.base = None


class _Block:
    """One tensor in the arena; numpy views of it have it as their base."""

    def __init__(self, client, t):
        # weak: a view kept must not keep the session (a 64 MiB region and
        # a place under dnnqd's per-uid limits) once the client is dropped
        self.client = weakref.ref(client)
        self.region = client._region
        self.t = t
        client._blocks.add(self)
        shape = tuple(t.dims[:t.rank])
        self.__array_interface__ = {
            "version": 3, "shape": shape, "typestr": _TYPESTR[t.dtype],
            "data": (t.data, False),
        }

    def __del__(self):
        c = self.client()
        if c is not None:
            try:
                c._free_tensor(self.t)
            except Exception:   # interpreter shutdown
                pass


class TensorInfo:
    """An input or output of a model's signature. shape[0] is None (the
    batch); scale and zero_point are None for float32."""
    __slots__ = ("name", "dtype", "shape", "scale", "zero_point", "_code")

    def __init__(self, io):
        self.name = io.name.decode("utf-8", "replace")
        self._code = io.dtype
        self.dtype = _NP_OF.get(io.dtype)
        self.shape = (None,) + tuple(io.dims[1:io.rank])
        q = io.dtype == _lib.TYPE_U8
        self.scale = float(io.scale) if q else None
        self.zero_point = int(io.zero_point) if q else None

    def __repr__(self):
        q = f", scale={self.scale:g}, zero_point={self.zero_point}" if self.scale is not None else ""
        return f"TensorInfo({self.name!r}, {self.dtype}, {self.shape}{q})"

    def _tensor_dtype(self, want, what, arg=None):
        """The dtype code of a tensor for this signature entry: its own, or
        float32 where it is uint8 (the daemon then converts). arg: the
        keyword want came from (input_dtype, output_dtype), else an array's."""
        if want is None:
            return self._code
        want = np.dtype(want)
        if want == self.dtype:
            return self._code
        if want == _F32 and self._code == _lib.TYPE_U8:
            return _lib.TYPE_F32
        takes = f"{self.dtype} or float32" if self._code == _lib.TYPE_U8 else str(self.dtype)
        if arg:     # not an array: .astype is no answer ('output_dtype=np.float16')
            raise DtypeError(f"{what} '{self.name}': {arg}={want}: takes None (the "
                             f"signature's {self.dtype})" +
                             (" or numpy.float32" if self._code == _lib.TYPE_U8 else ""))
        # the right kind in another byte order, or numpy's default float
        # (the tools convert it, the client wants it said)
        native = want.newbyteorder("=")
        if not want.isnative and (native == self.dtype or
                                  (native == _F32 and self._code == _lib.TYPE_U8)):
            hint = f" (big-endian {native}: .astype(numpy.{native}))"
        elif (want.kind == "f" and "float32" in takes) or \
                (want.kind in "biu" and self.dtype == _F32):
            # numpy's default float, or ints where the model takes float32
            # (an image's uint8); not ints for a uint8 one, which may be
            # its quantized values
            hint = " (.astype(numpy.float32))"
        else:
            hint = ""
        raise DtypeError(f"{what} '{self.name}': dtype {want}: takes {takes}{hint}")


class Client:
    """A session with dnnqd. socket: a path; None means $DNNQ_SOCKET, else
    the default socket (dnnq(3)'s rule). slots, arena_bytes, spin_us: as in
    struct dnnq_connect_opts (0: the library's default); timeout: seconds
    for the connect and control replies (None: the default, 5 s). One Client
    serves many threads."""

    def __init__(self, socket: Optional[Union[str, os.PathLike]] = None, *, slots: int = 0,
                 arena_bytes: int = 0, spin_us: int = 0,
                 timeout: Optional[float] = None) -> None:
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._busy = 0
        self._closing = False
        self._closed_why = "the client is closed"
        self._region: Optional[_Region] = _Region()
        self._abandoned: List[_Block] = []
        self._orphans: List[Request] = []
        self._blocks: "weakref.WeakSet[_Block]" = weakref.WeakSet()
        self._aio = None
        self._h: Optional[ctypes.c_void_p] = ctypes.c_void_p()
        self._pid = os.getpid()
        self.socket = os.fspath(socket) if socket is not None else None
        path = os.fsencode(self.socket) if self.socket is not None else None
        if path is not None and b"\0" in path:
            raise InvalidArgument(f"socket {self.socket!r}: a path holds no NUL byte")
        tmo = 0 if timeout is None else _timeout_ms(timeout) or 1
        if tmo < 0:     # infinity: the longest the C field holds
            tmo = 2**31 - 1
        # ctypes would wrap a value past its C field (slots=2**32 is 0, the
        # default; arena_bytes=-5 a huge arena): refuse it here, named
        for name, v, lo, hi in (("slots", slots, 0, 2**32 - 1),
                                ("arena_bytes", arena_bytes, 0, 2**64 - 1),
                                ("spin_us", spin_us, -2**31, 2**31 - 1)):
            if not isinstance(v, int) or not lo <= v <= hi:
                raise InvalidArgument(f"{name} {v!r}: must be an integer in [{lo}, {hi}]")
        opts = _lib.ConnectOpts(slots, arena_bytes, spin_us, tmo)
        rc = lib.dnnq_connect(path, ctypes.byref(opts), ctypes.byref(self._h))
        if rc:
            self._h = None
            raise from_code(rc, "dnnq_connect")
        _LIVE.add(self)

    # ---- the guard every C call goes through --------------------------------

    def _enter(self, m=None, what="dnnq"):
        with self._lock:
            if self._closing:
                raise _closed_error(f"model '{m.name}': {what}" if m is not None else what, self)
            if m is not None:
                if m._h is None or m._closing:
                    raise InvalidArgument(f"model '{m.name}' is closed")
                m._busy += 1
            self._busy += 1

    def _leave(self, m=None):
        with self._lock:
            self._busy -= 1
            if m is not None:
                m._busy -= 1
            if self._closing or (m is not None and m._closing):
                self._cond.notify_all()

    def _free_tensor(self, t):
        with self._lock:
            if not self._closing:
                lib.dnnq_tensor_free(self._h, ctypes.byref(t))

    def _reap(self):
        """Drops the requests left in flight (Request.__del__, and
        _leave_to_daemon's: a timeout or Ctrl-C on the main thread, a
        Request.close() in flight) that have ended, which frees their slots
        and tensors: a left request's, kept on the client while dnnqd could
        write them, go back to the arena once it ended (they were kept until
        close(): a long-lived client lost arena space at every timeout, then
        got NoSpace). The requests a closed event loop left (run_async's
        timeouts, awaited by nobody) join them: they held their slots until
        close()."""
        with self._lock:
            aio = self._aio
            if aio is not None and aio.loop.is_closed():
                self._aio = None
                aio.close()
            orphans, self._orphans = self._orphans, []
        left = []
        ended = set()
        for r in orphans:
            rc = r._poll()
            if rc == _lib.E_AGAIN:
                left.append(r)
                continue
            r._ended(rc)
            if rc != _lib.E_DISCONNECTED:   # a stuck dnnqd may write them yet
                ended.update(id(b) for b in r._left_blocks)
        with self._lock:
            if not self._closing:
                self._orphans.extend(left)
                if ended:
                    self._abandoned = [b for b in self._abandoned if id(b) not in ended]

    def _reap_due(self):
        """Whether _reap has requests to look at."""
        aio = self._aio
        return bool(self._orphans) or (aio is not None and bool(aio.pending) and
                                       aio.loop.is_closed())

    def _alloc(self, dtype, dims, what):
        if self._reap_due():
            self._reap()
        t = _lib.Tensor()
        d = (ctypes.c_int64 * len(dims))(*dims)
        self._enter(what=what)
        try:
            rc = lib.dnnq_tensor_alloc(self._h, dtype, len(dims), d, ctypes.byref(t))
            if not rc:
                # in the guard: a close() meanwhile would leave the block
                # without the _Region (None) and out of the blocks whose
                # bytes it keeps, its view pointing at a range unmapped
                # once the others' last block went
                return _Block(self, t)
        finally:
            self._leave()
        raise _tagged(from_code(rc, what), what)

    # ---- the API -------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closing

    def model(self, name: str) -> Model:
        """Opens the model served under `name` (NotFound when there is none)."""
        return Model(self, name)

    def models(self) -> List[str]:
        """The names of the models dnnqd serves, in its order."""
        names = []
        buf = ctypes.create_string_buffer(256)
        self._enter(what="models")
        try:
            n = lib.dnnq_model_name(self._h, 0, None, 0)
            for i in range(max(n, 0)):
                rc = lib.dnnq_model_name(self._h, i, buf, len(buf))
                if rc < 0:
                    raise from_code(rc, "dnnq_model_name")
                names.append(buf.value.decode("utf-8", "replace"))
        finally:
            self._leave()
        if n < 0 and n != -17:
            raise from_code(n, "dnnq_model_name")
        return names

    def stats(self) -> SimpleNamespace:
        """dnnq_stats: the daemon's counters, as attributes (uptime_ns,
        requests, failures, bytes_copied, session_requests,
        session_failures, sessions, models, workers, pid, scope, status)."""
        s = _lib.Stats()
        self._enter(what="stats")
        try:
            rc = lib.dnnq_stats(self._h, ctypes.byref(s))
        finally:
            self._leave()
        if rc:
            raise from_code(rc, "dnnq_stats")
        d = {f: getattr(s, f) for f, _ in _lib.Stats._fields_}
        d["status"] = s.status.decode("utf-8", "replace")
        return SimpleNamespace(**d)

    def close(self) -> None:
        """Refuses new calls, waits for the calls other threads are making
        to return, closes the session. Views of its tensors stay readable
        and keep their data (private copies). Idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            while self._busy:
                self._cond.wait()
            aio, self._aio = self._aio, None
            if aio is not None:
                aio.close()
            self._release()

    def _forked(self):
        """In a forked child: closed as close() closes, with fresh locks (a
        parent thread may have held them) and no wait for the calls of
        threads that are not in this process. The asyncio state is dropped
        without touching its loop: the epoll instance is the parent's too."""
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._busy = 0
        if self._closing:
            return
        self._closing = True
        self._closed_why = (f"the client was connected by process {self._pid}, before a "
                            "fork: connect again in this one")
        aio, self._aio = self._aio, None
        if aio is not None:
            aio.sock.close()
        self._release()

    def _release(self):
        """dnnq_close_keep_mapping: the region's range stays mapped (private
        zero pages) for the blocks still viewed, which get their bytes back:
        a view kept reads what it read before the close, not zeros."""
        with self._lock:
            base, size = ctypes.c_void_p(), ctypes.c_size_t()
            kept = [(b.t.data, ctypes.string_at(b.t.data, b.t.bytes))
                    for b in list(self._blocks)] if self._h else []
            if self._h:
                lib.dnnq_close_keep_mapping(self._h, ctypes.byref(base), ctypes.byref(size))
            if base.value:
                for address, data in kept:
                    ctypes.memmove(address, data, len(data))
            if self._region is not None:
                self._region.base, self._region.size = base.value, size.value
            self._h = None
            self._region = None     # the blocks still hold it
            self._abandoned = []
            self._orphans = []

    def __enter__(self) -> Client:
        """`with dnnq.Client() as c:` closes c at the block's end."""
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def __aenter__(self) -> Client:
        """`async with dnnq.Client() as c:` closes c at the block's end."""
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_h", None):
            try:
                self.close()
            except Exception:   # interpreter shutdown
                pass

    def __repr__(self):
        state = "closed" if self._closing else "open"
        return f"<dnnq.Client {self.socket or '(default socket)'} {state}>"

    # ---- asyncio ---------------------------------------------------------------

    def _aio_here(self):
        """The running loop's waiter of completions, made on its first use;
        refuses (before anything is submitted, so no request is left in
        flight unwatched) a closed client or one another live loop uses."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closing:
                raise _closed_error("run_async", self)
            old = self._aio
            if old is None or old.loop is not loop:
                if old is not None and old.pending and not old.loop.is_closed():
                    raise InvalidArgument("run_async: this client is in use by another "
                                          "event loop")
                self._aio = _Aio(self, loop)
                if old is not None:     # a closed loop's leftovers: finished here
                    old.close(keep=self._aio)
            return self._aio

    async def _wait_async(self, aio, req, timeout):
        """Until req (submitted after _aio_here gave aio) ends; its status.
        Wakes on the client's completion fd (dnnq_event_fd), with a 50 ms
        tick as the backstop that notices a dead daemon."""
        fut = aio.loop.create_future()
        aio.add(req, fut)
        aio.check()
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError) as e:
            if req in aio.pending:
                aio.pending[req] = None     # left to finish; nobody awaits it
            if isinstance(e, asyncio.CancelledError):
                raise
            raise req._timeout("run_async", timeout * 1000) from None


class _Aio:
    """A client's asyncio state on one event loop: the requests awaited."""

    def __init__(self, client, loop):
        self.client = client
        self.loop = loop
        self.pending = {}       # Request -> asyncio future (None: abandoned)
        self.fd = None
        self.tick = None
        client._enter(what="dnnq_event_fd")
        try:
            fd = lib.dnnq_event_fd(client._h)
        finally:
            client._leave()
        if fd < 0:
            raise from_code(fd, "dnnq_event_fd")
        self.fd = fd
        # read with MSG_DONTWAIT, never a plain read: O_NONBLOCK is the
        # open file's, which the daemon that made the socket may clear
        # (a read after the last byte then blocked the event loop for good)
        self.sock = socket.socket(fileno=os.dup(fd))
        self.sock.setblocking(False)
        loop.add_reader(fd, self.readable)

    def add(self, req, fut):
        self.pending[req] = fut
        if self.tick is None:
            self.tick = self.loop.call_later(0.05, self.on_tick)

    def readable(self):
        """At most _DRAIN completion bytes (a datagram each), then the
        requests: a daemon that kept the socket full would otherwise hold
        the event loop here for good. Bytes left make the fd readable, so
        the loop calls again after its other work."""
        try:
            for _ in range(_DRAIN):
                if not self.drain_one():
                    break
        except (BlockingIOError, OSError):
            pass
        self.check()

    def drain_one(self):
        """One completion datagram (b"" once the client's end is shut)."""
        return self.sock.recv(64, socket.MSG_DONTWAIT)

    def on_tick(self):
        self.tick = None
        self.check()
        if self.pending:
            self.tick = self.loop.call_later(0.05, self.on_tick)

    def check(self):
        for req in list(self.pending):
            rc = req._poll()
            if rc == _lib.E_AGAIN:
                continue
            fut = self.pending.pop(req)
            req._ended(rc)
            if fut is not None and not fut.done():
                if rc:
                    fut.set_exception(req._error)
                else:
                    fut.set_result(None)

    def close(self, keep=None):
        """Leaves the loop: on client close (the fd is about to go) every
        awaiting future fails; on a change of loop, `keep` (the new loop's
        state) takes the requests still in flight, awaited by nobody; else
        (the loop closed: _reap) they are left to the client."""
        loop = self.loop
        try:
            if loop.is_closed():
                pass
            elif loop.is_running() and not _running(loop):
                loop.call_soon_threadsafe(loop.remove_reader, self.fd)
            else:
                loop.remove_reader(self.fd)
        except (RuntimeError, ValueError):
            pass
        if self.tick is not None:
            self.tick.cancel()
        self.sock.close()
        for req, fut in self.pending.items():
            if keep is not None:
                keep.add(req, None)
                continue
            req._leave_to_daemon()
            if fut is not None and not fut.done():
                try:
                    self.loop.call_soon_threadsafe(_set_exc, fut,
                                                  _closed_error("run_async", self.client))
                except RuntimeError:    # the loop is closed: nobody awaits it
                    pass
        self.pending = {}


def _running(loop):
    """Whether loop is the one running in this thread."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _set_exc(fut, err):
    if not fut.done():
        fut.set_exception(err)


class Model:
    """A model served by dnnqd (Client.model). inputs / outputs: tuples of
    TensorInfo; max_batch, generation: the daemon's."""

    def __init__(self, client, name):
        self.client = client
        self.name = name
        self._h = None
        self._busy = 0
        self._closing = False
        self._pool = {}
        if not isinstance(name, str):
            raise InvalidArgument(f"model name {name!r}: not a str")
        try:
            bname = name.encode()
        except UnicodeEncodeError:
            raise InvalidArgument(f"model name {name!r}: not UTF-8") from None
        if b"\0" in bname:     # C would read the name up to it: another model's
            raise InvalidArgument(f"model name {name!r}: holds a NUL byte")
        h = ctypes.c_void_p()
        client._enter(what=f"model '{name}'")
        try:
            rc = lib.dnnq_model_open(client._h, bname, ctypes.byref(h))
            if rc:
                raise from_code(rc, f"model '{name}'")
            try:
                self._describe(h)
            except BaseException:
                lib.dnnq_model_close(h)
                raise
        finally:
            client._leave()
        self._h = h
        self._in_names = tuple(t.name for t in self.inputs)
        self._one_out = len(self.outputs) == 1
        self._sig_out_codes = tuple(o._code for o in self.outputs)

    def _describe(self, h):
        """The signature and the counts, read from the handle."""
        info = _lib.IOInfo()
        ios = []
        for kind, n in ((_lib.INPUT, lib.dnnq_model_num_inputs(h)),
                        (_lib.OUTPUT, lib.dnnq_model_num_outputs(h))):
            for i in range(n):
                rc = lib.dnnq_model_io(h, kind, i, ctypes.byref(info))
                if rc:
                    raise from_code(rc, "dnnq_model_io")
                ios.append((kind, TensorInfo(info)))
        self.inputs = tuple(t for k, t in ios if k == _lib.INPUT)
        self.outputs = tuple(t for k, t in ios if k == _lib.OUTPUT)
        self.max_batch = lib.dnnq_model_max_batch(h)
        self.generation = lib.dnnq_model_generation(h)

    def __repr__(self):
        return (f"<dnnq.Model {self.name!r} generation {self.generation}, inputs "
                f"{list(self.inputs)}, outputs {list(self.outputs)}>")

    def close(self) -> None:
        """Closes the model handle (waiting for the calls on it to return)."""
        c = self.client
        with c._lock:
            if self._h is None or self._closing:
                return
            self._closing = True
            while self._busy and not c._closing:   # the client's close waited for them
                c._cond.wait()
            self._pool = {}
            if not c._closing:
                lib.dnnq_model_close(self._h)
            self._h = None

    def __enter__(self) -> Model:
        """`with c.model(name) as m:` closes m at the block's end."""
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_h", None) is not None and not self.client._closing:
            try:
                self.close()
            except Exception:   # interpreter shutdown
                pass

    def request(self, batch: int = 1, *, input_dtype: DtypeLike = None,
                output_dtype: DtypeLike = None) -> Request:
        """A reusable request whose inputs and outputs are numpy views of
        the shared arena (zero copy). input_dtype / output_dtype: None for
        the signature's, or np.float32 where it says uint8 (the daemon then
        quantizes / dequantizes, a copy counted in bytes_copied)."""
        return Request(self, batch, input_dtype, output_dtype)

    # ---- run: arrays in, arrays out ------------------------------------------

    def _arrays(self, x):
        """x as a tuple of arrays in input order, and how to shape the result."""
        if isinstance(x, dict):
            unknown = set(x) - set(self._in_names)
            if unknown:
                raise InvalidArgument(f"model '{self.name}' has no input "
                                      f"{', '.join(repr(u) for u in sorted(unknown))} (its "
                                      f"inputs: {', '.join(repr(n) for n in self._in_names)})")
            missing = [n for n in self._in_names if n not in x]
            if missing:
                raise InvalidArgument(f"model '{self.name}': no value for input '{missing[0]}'")
            return tuple(_as_array(x[n], n) for n in self._in_names), "dict"
        if isinstance(x, (list, tuple)) and not (len(self.inputs) == 1 and len(x) and
                                                  not isinstance(x[0], np.ndarray)):
            if len(x) != len(self.inputs):
                n = len(self.inputs)
                raise InvalidArgument(f"model '{self.name}' takes {n} input{'s' * (n != 1)}, "
                                      f"given {len(x)}")
            return tuple(_as_array(a, n) for a, n in zip(x, self._in_names)), "list"
        if len(self.inputs) != 1:
            raise InvalidArgument(f"model '{self.name}' takes {len(self.inputs)} inputs "
                                  f"{list(self._in_names)}: pass a list in that order or a "
                                  "dict by name")
        return (x if type(x) is np.ndarray else _as_array(x, self._in_names[0]),), "array"

    def _inputs(self, x):
        """_arrays and _check of run's x: the arrays, how to shape the result,
        the batch and the input dtype codes; a refusal names the model
        ("model 'digits': input 'input': shape (2, 8, 8): wants ...")."""
        try:
            arrays, how = self._arrays(x)
            return (arrays, how) + self._check(arrays)
        except Error as e:
            raise _tagged(e, f"model '{self.name}'") from None

    def _check(self, arrays):
        """The batch and the input dtype codes; refuses a bad dtype or shape."""
        batch = None
        codes = []
        for info, a in zip(self.inputs, arrays):
            dt = a.dtype
            if dt == info.dtype:
                codes.append(info._code)
            elif dt == _F32 and info._code == _lib.TYPE_U8:
                codes.append(_lib.TYPE_F32)
            elif dt == _I64 and info._code == _lib.TYPE_S32:
                # numpy's default integer (token ids): copied as int32 if it fits
                if a.size and (a.min() < _I32_MIN or a.max() > _I32_MAX):
                    raise RangeError(f"input '{info.name}': int64 values from {a.min()} to "
                                     f"{a.max()}: an int32 input takes "
                                     f"{_I32_MIN}..{_I32_MAX}")
                codes.append(info._code)
            elif dt == object:
                # None, another object, or lists of unequal lengths: numpy's
                # "dtype object" says none of it
                what = (f"{type(a.item()).__name__} {a.item()!r:.40}" if a.ndim == 0 else
                        f"an array of Python objects, shape {a.shape} (lists of unequal "
                        "lengths, or not numbers)")
                raise DtypeError(f"input '{info.name}': {what}: not an array of numbers")
            else:
                info._tensor_dtype(dt, "input")     # raises DtypeError
            if a.ndim != len(info.shape) or a.shape[1:] != info.shape[1:] or a.shape[0] < 1:
                want = "(N, " + ", ".join(str(d) for d in info.shape[1:]) + ")"
                raise ShapeError(f"input '{info.name}': shape {a.shape}: wants {want} "
                                 "with N >= 1")
            if batch is not None and a.shape[0] != batch:
                raise ShapeError(f"input '{info.name}': batch {a.shape[0]}: the other "
                                 f"inputs have {batch}")
            batch = a.shape[0]
        return batch, tuple(codes)

    def _take(self, batch, in_codes, out_codes):
        key = (batch, in_codes, out_codes)
        free = self._pool.get(key)
        try:
            return free.pop()
        except (AttributeError, IndexError):
            pass
        try:
            return Request(self, batch, None, None, in_codes, out_codes)
        except NoSpace:
            self._pool = {}     # give the arena back, and once more
            return Request(self, batch, None, None, in_codes, out_codes)

    def _give(self, r):
        if r._h_abandoned:
            return
        free = self._pool.setdefault((r.batch, r._in_codes, r._out_codes), [])
        if len(free) < 8:
            free.append(r)

    def _out_codes(self, output_dtype):
        if output_dtype is None:
            return self._sig_out_codes
        return tuple(o._tensor_dtype(output_dtype, "output", "output_dtype")
                     for o in self.outputs)

    def _result(self, outs, how):
        if how == "array" and self._one_out:
            return outs[0]
        if how == "list":
            return list(outs)
        return {o.name: a for o, a in zip(self.outputs, outs)}

    # What run and run_async return, for a type checker: a dict for a dict,
    # a list for a list of arrays; for one array, an array when the model
    # has one output and a dict when it has more, which only the model
    # knows (Any: y.argmax() and y["logits"] both check; the union that
    # was here made every caller narrow it, isinstance or cast)
    @overload
    def run(self, x: Dict[str, Any], *, timeout: Optional[float] = None,
            output_dtype: DtypeLike = None) -> Dict[str, np.ndarray]: ...

    @overload
    def run(self, x: Sequence[np.ndarray], *, timeout: Optional[float] = None,
            output_dtype: DtypeLike = None) -> List[np.ndarray]: ...

    @overload
    def run(self, x: Any, *, timeout: Optional[float] = None,
            output_dtype: DtypeLike = None) -> Any: ...

    def run(self, x: ArrayIn, *, timeout: Optional[float] = None,
            output_dtype: DtypeLike = None) -> Any:
        """Runs the model once and returns fresh arrays.

        x: one array (a model with one input), a list in input order, or a
        dict by input name; each [N, ...] with the signature's dims and
        dtype, or float32 for a uint8 input (quantized by the daemon).
        Returns one array (array in, one output), else a dict by output
        name (a list for a list). output_dtype=np.float32 has uint8 outputs
        dequantized. A batch above max_batch is sent as several requests.
        timeout: seconds for the whole call (all of those requests), None
        waits (a dead daemon still ends it)."""
        arrays, how, batch, in_codes = self._inputs(x)
        out_codes = self._out_codes(output_dtype)
        ms = _timeout_ms(timeout)
        chunks = self._chunks(arrays, batch)
        end = None if ms < 0 else time.monotonic() + ms / 1000
        parts: List[List[np.ndarray]] = []
        for a, b in chunks:
            left = -1 if end is None else self._left_ms(end, timeout, len(parts), len(chunks))
            parts.append(self._run_chunk(a, b, in_codes, out_codes, left))
        return self._joined(parts, how)

    def _left_ms(self, end, timeout, done, n):
        """The ms left of a run's timeout before its next request (the
        first always goes, with what the timeout gives it); Timeout when
        none is left and some were sent: the rest are not."""
        left = end - time.monotonic()
        if left <= 0 and done:
            raise Timeout(f"model '{self.name}': run: no result within {timeout} s: {done} of "
                          f"{n} requests of the batch done, the rest not sent")
        return max(0, math.ceil(left * 1000))

    def _chunks(self, arrays, batch):
        """(arrays, batch) for each request a batch of `batch` takes: one,
        or max_batch-sized slices."""
        step = self.max_batch or batch
        if batch <= step:
            return [(arrays, batch)]
        return [([a[o:o + step] for a in arrays], min(step, batch - o))
                for o in range(0, batch, step)]

    def _joined(self, parts, how):
        """The outputs of the chunks' requests, concatenated."""
        if len(parts) == 1:
            return self._result(parts[0], how)
        return self._result([np.concatenate(p) for p in zip(*parts)], how)

    def _staged(self, arrays, batch, in_codes, out_codes):
        """A pooled request with the arrays copied into its inputs."""
        r = self._take(batch, in_codes, out_codes)
        for view, a in zip(r._in_views, arrays):
            view[...] = a
        return r

    def _collected(self, r):
        """Copies of r's outputs; r goes back to the pool."""
        outs = [v.copy() for v in r._out_views]
        self._give(r)
        return outs

    def _run_chunk(self, arrays, batch, in_codes, out_codes, ms):
        r = self._staged(arrays, batch, in_codes, out_codes)
        r._infer(ms)
        return self._collected(r)

    @overload
    async def run_async(self, x: Dict[str, Any], *, timeout: Optional[float] = None,
                        output_dtype: DtypeLike = None) -> Dict[str, np.ndarray]: ...

    @overload
    async def run_async(self, x: Sequence[np.ndarray], *, timeout: Optional[float] = None,
                        output_dtype: DtypeLike = None) -> List[np.ndarray]: ...

    @overload
    async def run_async(self, x: Any, *, timeout: Optional[float] = None,
                        output_dtype: DtypeLike = None) -> Any: ...

    async def run_async(self, x: ArrayIn, *, timeout: Optional[float] = None,
                        output_dtype: DtypeLike = None) -> Any:
        """run() for asyncio: submits, then awaits the completion on the
        client's event fd (dnnq_event_fd) without blocking the loop. A
        batch above max_batch goes as several requests, one after another
        (as run() sends them: a huge batch never holds every slot), timeout
        being for all of them, as there."""
        arrays, how, batch, in_codes = self._inputs(x)
        out_codes = self._out_codes(output_dtype)
        ms = _timeout_ms(timeout)
        chunks = self._chunks(arrays, batch)
        end = None if ms < 0 else time.monotonic() + ms / 1000
        parts: List[List[np.ndarray]] = []
        for a, b in chunks:
            left = None if end is None else \
                self._left_ms(end, timeout, len(parts), len(chunks)) / 1000
            parts.append(await self._run_chunk_async(a, b, in_codes, out_codes, left))
        return self._joined(parts, how)

    async def _run_chunk_async(self, arrays, batch, in_codes, out_codes, timeout):
        r = self._staged(arrays, batch, in_codes, out_codes)
        aio = self.client._aio_here()
        r._submit()
        await self.client._wait_async(aio, r, timeout)
        return self._collected(r)


class _Views(Mapping):
    """A request's views by name. Read-only: `r.inputs["x"] = a` would
    only rebind the name, leaving the shared tensor as it was."""
    __slots__ = ("_views", "_what", "_model")

    def __init__(self, views, what, model=None):
        self._views = views
        self._what = what
        self._model = model     # its name; None: the request is closed

    def __getitem__(self, name):
        try:
            return self._views[name]
        except KeyError:
            if self._model is None:
                why = "the request is closed"
            else:
                names = ", ".join(repr(n) for n in self._views)
                why = (f"model '{self._model}' has no {self._what[:-1]} {name!r} (its "
                       f"{self._what}: {names})")
            raise KeyError(f"{self._what}[{name!r}]: {why}") from None

    def __iter__(self):
        return iter(self._views)

    def __len__(self):
        return len(self._views)

    def __repr__(self):
        return repr(self._views)

    def __setitem__(self, name, value):
        raise TypeError(f"{self._what}[{name!r}] = ... would replace the view, not write the "
                        f"shared tensor: write into it, {self._what}[{name!r}][...] = value")

    def __delitem__(self, name):
        raise TypeError(f"del {self._what}[{name!r}]: a request's tensors are fixed by its "
                        f"model (close() drops them all)")


class Request:
    """Tensors for one request of a model in the shared arena: inputs and
    outputs are dicts of numpy arrays that view them (zero copy). Write the
    inputs, run() or submit(), read the outputs; reuse at will. A view is
    valid until the request runs again; after close() (or the client's),
    views stay readable but are no longer the request's."""

    def __init__(self, model, batch, input_dtype, output_dtype, in_codes=None, out_codes=None):
        try:
            batch = operator.index(batch)
        except TypeError:
            raise ShapeError(f"model '{model.name}': batch {batch!r}: not an integer") from None
        if batch < 1 or (model.max_batch and batch > model.max_batch):
            raise ShapeError(f"model '{model.name}': batch {batch}: takes 1.."
                             f"{model.max_batch}")
        self.model = model
        self.batch = batch
        self._client = model.client
        self._in_codes = in_codes or tuple(
            i._tensor_dtype(input_dtype, "input", "input_dtype") for i in model.inputs)
        self._out_codes = out_codes or tuple(
            o._tensor_dtype(output_dtype, "output", "output_dtype") for o in model.outputs)
        self._h_abandoned = False
        self._left_blocks = ()
        self._timed_out = False
        self._inflight = False
        self._future = None     # weakref to the Future of the last submit()
        self._error = None
        self._closed_error = None   # Disconnected: _poll's on a closed client
        self._req = _lib.Request()
        self._blocks = []
        for info, code in zip(model.inputs + model.outputs, self._in_codes + self._out_codes):
            self._blocks.append(self._client._alloc(
                code, (batch,) + info.shape[1:],
                f"model '{model.name}': a request of batch {batch}, tensor '{info.name}'"))
        n = len(model.inputs)
        ptrs = [ctypes.addressof(b.t) for b in self._blocks]
        self._ins = (ctypes.c_void_p * max(n, 1))(*ptrs[:n])
        self._outs = (ctypes.c_void_p * max(len(ptrs) - n, 1))(*ptrs[n:])
        views = [np.asarray(b) for b in self._blocks]
        self._in_views = views[:n]
        self._out_views = views[n:]
        self.inputs = _Views({i.name: v for i, v in zip(model.inputs, self._in_views)},
                             "inputs", model.name)
        self.outputs = _Views({o.name: v for o, v in zip(model.outputs, self._out_views)},
                              "outputs", model.name)

    def __repr__(self):
        return f"<dnnq.Request {self.model.name!r} batch {self.batch}>"

    def _idle(self):
        """Refuses a closed request, and one dnnqd may still write (left to
        it, or in flight)."""
        if self._ins is None and not self._client._closing:   # else Disconnected
            # its tensors' C structs may be gone: a run read freed memory
            # (refused as 'not a tensor allocated from this client', or the
            # struct of another request's tensor that took its place)
            raise InvalidArgument(f"request of model '{self.model.name}': closed")
        if self._timed_out:
            raise InvalidArgument(f"request of model '{self.model.name}': timed out or "
                                  "interrupted, and dnnqd may still write its tensors: make a "
                                  "new request")
        if self._inflight:
            raise InvalidArgument("request: already in flight (submit()ted)")

    def _call(self, f, last, what):
        """f(model, inputs, outputs, last) on a request not in flight."""
        m = self.model
        c = self._client
        self._idle()
        c._enter(m, what)
        try:
            return f(m._h, self._ins, self._outs, last)
        finally:
            c._leave(m)

    def _failed(self, rc, what):
        """from_code, naming the model where the library's text does not
        (a request's end says "dnnq_wait: the model changed", not which model)."""
        e = _tagged(from_code(rc, what), f"model '{self.model.name}'")
        if rc == _E_BUSY:   # the library's words name its C calls
            e.message += (" (in Python: a Future's result() or done() ends one; "
                          "dnnq.Client(slots=N) has more)")
            e.args = (e.message,)
        elif rc == _E_MODEL_CHANGED:    # 'open it again': which call does that
            e.message += (f" (in Python: client.model('{self.model.name}') again, and read "
                          "its inputs and outputs: the new version's differ)")
            e.args = (e.message,)
        return e

    def _timeout(self, what, ms, after="the request is left to finish"):
        """Timeout of a wait of ms, in the caller's words and seconds (the
        library's names its C call and milliseconds)."""
        return Timeout(f"model '{self.model.name}': {what}: no result within {ms / 1000:g} s "
                       f"({after})")

    def _infer(self, ms):
        if _sliced(ms):
            return self._infer_sliced(ms)
        rc = self._call(lib.dnnq_infer, ms, "infer")
        if rc:
            if rc in (-13, -15):    # abandoned to the daemon, which may still write
                self._abandon()
                # running it again would let the old request's late writes
                # land in the new one's outputs
                self._timed_out = rc == -13
            raise self._timeout("run", ms) if rc == -13 else self._failed(rc, "dnnq_infer")

    def _submitting(self, f, what):
        """_call(f) with the request; once more when every slot was in
        flight and the client holds requests left to dnnqd (a timeout, a
        Ctrl-C, a drop), whose ended ones it then reaps: their slots.
        The request's ticket, which dnnq_submit sets, is cleared first, so
        that it says whether the request went whatever exception comes
        after (_sent_anyway); only on an idle request: the ticket of one in flight
        is what ends it (clearing it first lost that request and its slot
        for the session)."""
        self._idle()
        self._req.ticket = 0
        rc = self._call(f, ctypes.byref(self._req), what)
        if rc in (_E_BUSY, (False, _E_BUSY)) and self._client._reap_due():
            self._client._reap()
            rc = self._call(f, ctypes.byref(self._req), what)
        return rc

    def _infer_sliced(self, ms):
        """dnnq_infer for the main thread (_sliced): submit, then wait in
        slices, the first in the same guard (one C call more than
        dnnq_infer, no more Python). A signal handler that raises between
        them (Ctrl-C's KeyboardInterrupt) leaves the request to dnnqd, as a
        timeout does. It may raise at any bytecode, the most likely right
        after the first slice's C call, before its result is assigned
        (_sent_anyway)."""
        self._idle()
        try:
            submitted, rc = self._submitting(_submit_wait, "infer")
            if submitted:
                self._inflight = True
                self._error = None
                if rc == -13:
                    rc = self._wait(ms - _SLICE_MS if ms >= 0 else ms)
        except BaseException:
            self._sent_anyway()
            raise
        if not submitted:
            raise self._failed(rc, "dnnq_submit")
        if rc == -13:
            self._leave_to_daemon()
            raise self._timeout("run", ms)
        self._ended(rc)
        if rc:
            raise self._error

    def _sent_anyway(self):
        """After an exception in a submit (a signal handler's: Ctrl-C's
        KeyboardInterrupt may land on any bytecode, also once dnnq_submit
        has returned, before its result is looked at): a request that went
        (its ticket, cleared by _submitting, is set) is left to dnnqd. It
        was lost: not marked in flight, its slot was never ended, and its
        tensors went back to the arena while dnnqd could still write them."""
        if self._req.ticket:
            self._leave_to_daemon()

    def _leave_to_daemon(self):
        """A request left in flight: its tensors are never reused, it is
        not run again, and the client polls it to its end (its slot, and
        its tensors: _reap). It is no longer the request's to wait for: a
        close() waited for it (for ever, for one dnnqd does not serve, and
        at the end of every `with` block whose run timed out)."""
        if self._timed_out:
            return
        self._abandon()
        self._timed_out = True
        self._inflight = False
        c = self._client
        with c._lock:
            if not c._closing:
                c._orphans.append(self)

    def run(self, timeout: Optional[float] = None) -> Mapping[str, np.ndarray]:
        """Runs the request and waits (timeout: seconds, None waits); returns
        self.outputs."""
        self._infer(_timeout_ms(timeout))
        return self.outputs

    def _submit(self):
        self._idle()    # outside: a refused request's ticket is not this submit's
        try:
            rc = self._submitting(lib.dnnq_submit, "submit")
            if not rc:
                self._inflight = True
                self._error = None
        except BaseException:
            if not self._inflight:
                self._sent_anyway()
            raise
        if rc:
            raise self._failed(rc, "dnnq_submit")

    def submit(self) -> Future:
        """Submits the request without waiting; returns its Future."""
        self._submit()
        f = Future(self)
        self._future = weakref.ref(f)   # close() ends it there (no cycle: a
        return f                        # dropped request is reaped at once)

    def _poll(self):
        c = self._client
        try:
            c._enter(what="request")
        except Disconnected as e:
            # no call made: _ended raises this, not the library's last text
            # on this thread, another call's ("dnnq_wait: no result within ...")
            self._closed_error = e
            return _lib.E_DISCONNECTED
        try:
            return lib.dnnq_poll(ctypes.byref(self._req))
        finally:
            c._leave()

    def _wait(self, ms):
        """dnnq_wait; in slices in the main thread (_sliced)."""
        if not _sliced(ms):
            return self._wait_once(ms)
        end = None if ms < 0 else time.monotonic() + ms / 1000
        while True:
            left = _SLICE_MS if end is None else \
                min(_SLICE_MS, max(0, int((end - time.monotonic()) * 1000 + 0.999)))
            rc = self._wait_once(left)
            if rc != -13 or (end is not None and time.monotonic() >= end):
                return rc

    def _wait_once(self, ms):
        c = self._client
        c._enter(what="wait")
        try:
            return lib.dnnq_wait(ctypes.byref(self._req), ms)
        finally:
            c._leave()

    def _ended(self, rc):
        self._inflight = False
        closed, self._closed_error = self._closed_error, None
        if rc:
            self._error = _tagged(closed, f"model '{self.model.name}'") if closed \
                else self._failed(rc, "request")
            if rc == _lib.E_DISCONNECTED:
                self._abandon()

    def _abandon(self):
        """The daemon may still write these tensors: they are not reused
        while it may (never, unless the client sees the request end: _reap)."""
        self._h_abandoned = True
        self._left_blocks = tuple(self._blocks)
        c = self._client
        with c._lock:
            if not c._closing:
                c._abandoned.extend(self._blocks)

    def close(self) -> None:
        """Drops the request's tensors, each back to the arena once no view
        of it is left. Never waits for dnnqd: a request still in flight is
        left to the client, which frees its tensors and slot once it ends."""
        if self._inflight and not self._client._closing:
            # one look, through its Future, which then keeps the end; else
            # left (it waited: for ever, for a request dnnqd never ends,
            # at the end of every `with` block whose result() timed out)
            f = self._future() if self._future is not None else None
            if not (f or Future(self)).done():
                self._leave_to_daemon()
        self._blocks = []
        self._ins = self._outs = None
        self.inputs = _Views({}, "inputs")
        self.outputs = _Views({}, "outputs")
        self._in_views = self._out_views = []

    def __del__(self):
        # Dropped in flight (submitted, never waited): dnnqd may still write
        # its tensors, which must not go back to the arena for another
        # request meanwhile. The client keeps it and polls it to its end.
        if getattr(self, "_inflight", False):
            c = self._client
            try:
                with c._lock:
                    if not c._closing:
                        c._orphans.append(self)
            except Exception:   # interpreter shutdown
                pass

    def __enter__(self) -> Request:
        """`with m.request() as r:` closes r at the block's end."""
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Future:
    """A submitted Request's end (Request.submit)."""

    def __init__(self, request):
        self.request = request
        self._rc = None

    def done(self) -> bool:
        """Whether it ended, or its request was closed before (dnnq_poll;
        does not raise)."""
        if self._rc is None and not self._left():
            rc = self.request._poll()
            if rc != _lib.E_AGAIN:
                self._end(rc)
        return self._rc is not None or self._left()

    def _left(self):
        """Whether its request was closed in flight: the client polls it to
        its end now (_reap); a wait here would race that poll."""
        return self._rc is None and self.request._timed_out

    def _end(self, rc):
        self._rc = rc
        self.request._ended(rc)

    def result(self, timeout: Optional[float] = None) -> Mapping[str, np.ndarray]:
        """Waits for the end (timeout: seconds, None waits; Timeout leaves it
        in flight: result() may be called again) and returns the request's
        outputs, or raises its error. InvalidArgument once the request was
        closed before its end (left to the client: nothing reports it)."""
        if self._left():
            raise InvalidArgument(f"request of model '{self.request.model.name}': closed "
                                  "before its end, which is no longer reported (its tensors "
                                  "go back to the arena once dnnqd ended it)")
        if self._rc is None:
            ms = _timeout_ms(timeout)
            rc = self.request._wait(ms)
            if rc == -13:
                raise self.request._timeout("result", ms, "still in flight: result() "
                                            "again waits on")
            self._end(rc)
        if self._rc:
            raise self.request._error
        return self.request.outputs

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        """The request's error, or None when it succeeded; waits like
        result() (Timeout, which leaves it in flight, is raised)."""
        try:
            self.result(timeout)
        except Timeout:
            raise
        except Exception as e:
            return e
        return None


def connect(socket: Optional[Union[str, os.PathLike]] = None, **kw: Any) -> Client:
    """Client(socket, **kw)."""
    return Client(socket, **kw)


