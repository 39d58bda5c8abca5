"""ctypes declarations of libdnnq-client.so.1 (client/dnnq.h).

The library is found as $DNNQ_CLIENT_LIB when that is set (a path), else by
the dynamic linker's usual search for libdnnq-client.so.1 (make install puts
it in Debian's multiarch directory). Every call made through ctypes.CDLL
releases the GIL while it runs.
"""
import ctypes
import os

MAX_RANK = 8
MAX_IO = 16
TYPE_U8, TYPE_S8, TYPE_S32, TYPE_F32 = 1, 2, 3, 4
INPUT, OUTPUT = 0, 1
E_AGAIN = -14
E_DISCONNECTED = -15


class ConnectOpts(ctypes.Structure):
    _fields_ = [("slots", ctypes.c_uint32), ("arena_bytes", ctypes.c_uint64),
                ("spin_us", ctypes.c_int32), ("timeout_ms", ctypes.c_int32)]


class IOInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("rank", ctypes.c_uint32),
                ("dims", ctypes.c_int64 * MAX_RANK), ("scale", ctypes.c_float),
                ("zero_point", ctypes.c_int32)]


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("bytes", ctypes.c_size_t), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_uint32), ("dims", ctypes.c_int64 * MAX_RANK),
                ("offset", ctypes.c_uint64)]


class Request(ctypes.Structure):
    _fields_ = [("client", ctypes.c_void_p), ("slot", ctypes.c_uint32),
                ("ticket", ctypes.c_uint32)]


class Stats(ctypes.Structure):
    _fields_ = [("uptime_ns", ctypes.c_uint64), ("requests", ctypes.c_uint64),
                ("failures", ctypes.c_uint64), ("bytes_copied", ctypes.c_uint64),
                ("session_requests", ctypes.c_uint64), ("session_failures", ctypes.c_uint64),
                ("sessions", ctypes.c_uint32), ("models", ctypes.c_uint32),
                ("workers", ctypes.c_uint32), ("pid", ctypes.c_uint32),
                ("scope", ctypes.c_uint32), ("status", ctypes.c_char * 256)]


class ModelStats(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 64), ("model_id", ctypes.c_uint32),
                ("generation", ctypes.c_uint32), ("models", ctypes.c_uint32),
                ("requests", ctypes.c_uint64), ("failures", ctypes.c_uint64),
                ("samples", ctypes.c_uint64), ("run_ns", ctypes.c_uint64),
                ("latency", ctypes.c_uint64 * 12), ("queued", ctypes.c_uint64),
                ("queue_ns", ctypes.c_uint64), ("runs", ctypes.c_uint64),
                ("run_items", ctypes.c_uint64), ("expired", ctypes.c_uint64),
                ("waiting", ctypes.c_uint64), ("batches", ctypes.c_uint64 * 12),
                ("team_requests", ctypes.c_uint64), ("team_workers", ctypes.c_uint64)]


_P = ctypes.c_void_p
_I = ctypes.c_int
_U32 = ctypes.c_uint32
_POINTER = ctypes.POINTER

# name: (restype, argtypes)
_SIGNATURES = {
    "dnnq_connect": (_I, [ctypes.c_char_p, _POINTER(ConnectOpts), _POINTER(_P)]),
    "dnnq_close": (None, [_P]),
    "dnnq_close_keep_mapping": (None, [_P, _POINTER(_P), _POINTER(ctypes.c_size_t)]),
    "dnnq_event_fd": (_I, [_P]),
    "dnnq_model_open": (_I, [_P, ctypes.c_char_p, _POINTER(_P)]),
    "dnnq_model_close": (None, [_P]),
    "dnnq_model_name": (_I, [_P, _U32, ctypes.c_char_p, ctypes.c_size_t]),
    "dnnq_model_num_inputs": (_U32, [_P]),
    "dnnq_model_num_outputs": (_U32, [_P]),
    "dnnq_model_max_batch": (_U32, [_P]),
    "dnnq_model_generation": (_U32, [_P]),
    "dnnq_model_io": (_I, [_P, _I, _U32, _POINTER(IOInfo)]),
    "dnnq_tensor_alloc": (_I, [_P, _I, _U32, _POINTER(ctypes.c_int64), _POINTER(Tensor)]),
    "dnnq_tensor_free": (None, [_P, _POINTER(Tensor)]),
    # the data path: arguments passed as ready-made ctypes objects
    "dnnq_infer": (_I, [_P, _P, _P, _I]),
    "dnnq_submit": (_I, [_P, _P, _P, _POINTER(Request)]),
    "dnnq_poll": (_I, [_POINTER(Request)]),
    "dnnq_wait": (_I, [_POINTER(Request), _I]),
    "dnnq_stats": (_I, [_P, _POINTER(Stats)]),
    "dnnq_model_stats": (_I, [_P, _U32, _POINTER(ModelStats)]),
    "dnnq_strerror": (ctypes.c_char_p, [_I]),
    "dnnq_last_error": (ctypes.c_char_p, []),
}


def _load():
    path = os.environ.get("DNNQ_CLIENT_LIB") or "libdnnq-client.so.1"
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            f"dnnq: cannot load {path} ({e}); install libdnnq-client (make install) "
            "or set DNNQ_CLIENT_LIB to its path") from None
    for name, (res, args) in _SIGNATURES.items():
        try:
            f = getattr(lib, name)
        except AttributeError:
            raise ImportError(f"dnnq: {path} has no {name}: a libdnnq-client older "
                              "than this package (0.4 is needed)") from None
        f.restype = res
        f.argtypes = args
    return lib


lib = _load()
_libc = ctypes.CDLL(None, use_errno=True)
munmap = _libc.munmap
munmap.restype = ctypes.c_int
munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
