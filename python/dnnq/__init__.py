"""dnnq: run int8 models served by dnnqd, from Python.

    import dnnq
    with dnnq.Client() as c:            # socket: argument, $DNNQ_SOCKET, default
        m = c.model("digits")
        y = m.run(x)                    # numpy in, numpy out

A pure-Python package over libdnnq-client.so.1 (ctypes): docs/python.md.
"""
from .client import Client, Future, Model, Request, TensorInfo, connect
from .errors import (Busy, Disconnected, DtypeError, Error, InvalidArgument, IoError,
                     ModelChanged, NoMemory, NoSpace, NotFound, PermissionDenied,
                     ProtocolError, RangeError, ShapeError, Timeout, Unsupported)

__version__ = "0.7.0"

__all__ = [
    "Client", "Model", "Request", "Future", "TensorInfo", "connect",
    "Error", "InvalidArgument", "NoMemory", "RangeError", "ProtocolError", "ShapeError",
    "DtypeError", "Unsupported", "NoSpace", "IoError", "Timeout", "Busy", "Disconnected",
    "PermissionDenied", "NotFound", "ModelChanged",
]
