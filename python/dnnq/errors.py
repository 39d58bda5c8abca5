"""dnnq.Error and its subclasses: one per family of DNNQ_E_* codes.

Each carries the library's code (``.code``, negative), its name as the C
header spells it (``.name``, "DNNQ_E_NOTFOUND": what the tools' --json
failure objects say), dnnq_strerror's text (``.strerror``) and the message of dnnq_last_error() for the failed call,
or the package's own message for what it refuses before anything is sent.
Where a family matches a built-in exception, the class also derives from it
(ShapeError is a ValueError, Disconnected a ConnectionError, Timeout a
TimeoutError, ...), so generic handlers catch them too.
"""
from ._lib import lib


class Error(Exception):
    """A failed dnnq call. code: the DNNQ_E_* value (0 when the package
    refused an argument itself); name: that code's name; strerror: its
    text."""
    code = 0

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    @property
    def name(self) -> str:
        """The code's name, "DNNQ_E_NOTFOUND" ("" when it is 0)."""
        return _CODES.get(self.code, ("DNNQ_E_UNKNOWN", Error))[0] if self.code else ""

    @property
    def strerror(self) -> str:
        """dnnq_strerror's text for the code ("" when it is 0)."""
        return _strerror(self.code) if self.code else ""

    def __str__(self):
        return self.message


class InvalidArgument(Error, ValueError):
    """DNNQ_E_INVAL: an argument breaks the contract (or a closed object)."""
    code = -1


class NoMemory(Error):
    """DNNQ_E_NOMEM: an allocation failed or a limit refused it."""
    code = -2


class RangeError(Error, ValueError):
    """DNNQ_E_RANGE: a value (an index, a batch) out of its range."""
    code = -3


class ProtocolError(Error):
    """DNNQ_E_FORMAT, _VERSION, _CHECKSUM, _TRUNCATED, _PROTO: malformed or
    incompatible data from the other side."""
    code = -20


class ShapeError(Error, ValueError):
    """DNNQ_E_SHAPE: shapes or dimensions do not agree."""
    code = -8


class DtypeError(Error, TypeError):
    """DNNQ_E_DTYPE: a wrong or unsupported element type."""
    code = -9


class Unsupported(Error):
    """DNNQ_E_UNSUPPORTED: valid, but not implemented by this daemon."""
    code = -10


class NoSpace(Error):
    """DNNQ_E_NOSPACE: the arena (or a buffer) has no room that large."""
    code = -11


class IoError(Error, ConnectionError):  # type: ignore[misc]  # Error.strerror wins by MRO
    """DNNQ_E_IO: a system call failed (e.g. nothing listens on the socket)."""
    code = -12


class Timeout(Error, TimeoutError):  # type: ignore[misc]  # Error.strerror wins by MRO
    """DNNQ_E_TIMEDOUT: a wait ran out of time."""
    code = -13


class Busy(Error):
    """DNNQ_E_BUSY, _AGAIN: every slot is in flight, or a limit is reached."""
    code = -18


class Disconnected(Error, ConnectionError):  # type: ignore[misc]  # Error.strerror wins by MRO
    """DNNQ_E_DISCONNECTED: dnnqd went away, or the client was closed.
    Close the client and connect again once dnnqd is back."""
    code = -15


class PermissionDenied(Error, PermissionError):  # type: ignore[misc]  # Error.strerror wins by MRO
    """DNNQ_E_PERM: dnnqd refuses the caller, or the caller refuses what
    listens on the socket (another user's program: dnnq(3), "The daemon's
    uid")."""
    code = -16


class NotFound(Error, LookupError):
    """DNNQ_E_NOTFOUND: no model (or other named thing) by that name."""
    code = -17


class ModelChanged(Error):
    """DNNQ_E_MODEL_CHANGED: the model was reloaded with another
    signature; open it again."""
    code = -19


# code: (its name in shm/dnnq_error.h, the class raised for it)
_CODES = {
    -1: ("DNNQ_E_INVAL", InvalidArgument), -2: ("DNNQ_E_NOMEM", NoMemory),
    -3: ("DNNQ_E_RANGE", RangeError), -4: ("DNNQ_E_FORMAT", ProtocolError),
    -5: ("DNNQ_E_VERSION", ProtocolError), -6: ("DNNQ_E_CHECKSUM", ProtocolError),
    -7: ("DNNQ_E_TRUNCATED", ProtocolError), -8: ("DNNQ_E_SHAPE", ShapeError),
    -9: ("DNNQ_E_DTYPE", DtypeError), -10: ("DNNQ_E_UNSUPPORTED", Unsupported),
    -11: ("DNNQ_E_NOSPACE", NoSpace), -12: ("DNNQ_E_IO", IoError),
    -13: ("DNNQ_E_TIMEDOUT", Timeout), -14: ("DNNQ_E_AGAIN", Busy),
    -15: ("DNNQ_E_DISCONNECTED", Disconnected), -16: ("DNNQ_E_PERM", PermissionDenied),
    -17: ("DNNQ_E_NOTFOUND", NotFound), -18: ("DNNQ_E_BUSY", Busy),
    -19: ("DNNQ_E_MODEL_CHANGED", ModelChanged), -20: ("DNNQ_E_PROTO", ProtocolError),
}


def _strerror(code):
    return lib.dnnq_strerror(code).decode("utf-8", "replace")


def from_code(code, what=None):
    """The exception for a negative status of the call just made on this
    thread: dnnq_last_error()'s text, else `what: strerror`."""
    text = lib.dnnq_last_error().decode("utf-8", "replace")
    if not text:
        text = f"{what}: {_strerror(code)}" if what else _strerror(code)
    cls = _CODES.get(code, ("", Error))[1]
    return cls(text, code)
