"""The hot path's bindings: the one module that imports CPython's private C modules.

`state`, `start` and `kill` are made 4-6 times per container, each by a new ``python -I -S``
(no site: nothing is preloaded), so what they import is most of what they cost.  The rules, and
what each saves (``python -I -S -X importtime -c "import X"``, cumulative, median of 5, CPython
3.11.2 here, where a whole `state` call takes ~9 ms, 7.5 of them the interpreter's own start):

* ``posix``, not ``os``: os imports ``stat``, ``posixpath`` and ``_collections_abc`` (~1.4 ms).
  posix is built in and loaded before any of our code runs: it costs nothing.
* ``_signal``, not ``signal``: signal.py turns every constant into an IntEnum (enum: ~4.5 ms).
  Built in and already loaded at start-up.
* ``_socket``, not ``socket``: socket.py imports enum and selectors (~7.5 ms).  Built in, but
  loaded (~0.15 ms) only on first use of a socket name: `state` and `kill` never need one.
* ``_json``, not ``json``: json imports re (~8.4 ms); the C scanner and encoder json itself uses
  (``make_scanner``, ``make_encoder``) are all ``loads`` and ``dumps`` below need.  An extension
  module here (~0.3 ms); every command reads or writes JSON.
* ``posix._exit`` (``exit_now``): the command exits without the interpreter's finalisation
  (module teardown and GC: ~1.5 ms) once stdio is flushed.
* The command raises the cyclic GC's first threshold from 700 allocations to 100 000
  (``cli.main_and_exit``): the collections a `state`, `start` or `kill` made on the way were
  ~0.3 M of the ~3 M instructions it runs above the interpreter's own (valgrind --tool=callgrind).
* ``_thread.start_new_thread``, not ``threading`` (~4 ms: it imports os, functools, ...).
* ``_sha2`` (``_sha256`` before 3.12), not ``hashlib``: hashlib loads OpenSSL (~2.5 ms), more
  than the rest of a seccomp cache hit in `create`.

Every other module calls these through this one: ``from oci_runtime.kernel import hotpath``,
then ``hotpath.open(...)``, ``hotpath.pthread_sigmask(...)``, ``hotpath.socket(...)``,
``hotpath.loads(...)``.  Names are the C modules' own.  Besides ``_json``, the module imports
nothing that is not loaded already.

These are private or undocumented APIs (``_json.make_encoder``'s nine positional arguments, the
scanner's context attributes, the ``_sha2`` rename), so the interpreters they are known to work
on are pinned: ``SUPPORTED_PYTHON`` below and ``requires-python`` in pyproject.toml say the same
range, and tests/unit/test_hotpath.py checks every name used here, with its behaviour, on every
interpreter of that range it finds (verified: CPython 3.11.2 (Debian /usr/bin/python3.11),
3.11.7, 3.12.1 and 3.13.0 (pyenv)).  Extending the range means running that test on the new
version first (``python3.X tests/unit/test_hotpath.py`` runs it without pytest).
"""
# mypy: disable-error-code="attr-defined"
# (the scanner settings are a function's attributes, and a JSONDecodeError's msg/pos are read
# without importing json: neither is what typeshed describes.)
import _json
from _signal import (  # noqa: F401 - re-exported
    SIG_BLOCK, SIG_SETMASK, SIGKILL, getsignal, pidfd_send_signal, pthread_sigmask, sigpending,
    signal, sigtimedwait,
)
from _thread import get_ident, start_new_thread  # noqa: F401 - re-exported
from posix import (  # noqa: F401 - re-exported
    O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_PATH, O_RDONLY, O_TRUNC, O_WRONLY, P_PID,
    WEXITED, WNOHANG, WNOWAIT, close, environ, fstat, getcwd, getegid, geteuid, getpid, listdir,
    mkdir, open, pidfd_open, read, readlink, rename, rmdir, scandir, stat, strerror, unlink,
    waitid, write,
)
from posix import _exit as exit_now  # noqa: F401 - re-exported

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from hashlib import _Hash
    from typing import Any, NoReturn

# (oldest supported, first unsupported); pyproject.toml's requires-python says the same.
SUPPORTED_PYTHON = ((3, 11), (3, 14))

# _socket's names, loaded on first use of one (PEP 562 __getattr__ below).
_SOCKET_NAMES = ("AF_UNIX", "SOCK_STREAM", "SOCK_SEQPACKET", "SOCK_CLOEXEC", "SOCK_NONBLOCK",
                 "SOL_SOCKET", "SCM_RIGHTS", "CMSG_SPACE", "socket", "socketpair")


def __getattr__(name: str) -> "Any":
    if name not in _SOCKET_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import _socket

    for each in _SOCKET_NAMES:
        globals()[each] = getattr(_socket, each)
    return globals()[name]


def sha256() -> "_Hash":
    """A new SHA-256 hash object, CPython's built-in implementation (hashlib where a build has
    none)."""
    try:
        from _sha2 import sha256 as new  # CPython >= 3.12
    except ImportError:
        try:
            from _sha256 import sha256 as new  # CPython 3.11
        except ImportError:
            from hashlib import sha256 as new
    digest: "_Hash" = new()
    return digest


# -- JSON: json.loads/json.dumps for the documents the runtime reads and writes (objects, arrays,
# strings, numbers, booleans, null), the same output and accepted input, without json's import.

def _invalid_constant(name: str) -> "NoReturn":
    raise ValueError(f"invalid JSON constant {name}")


def _scanner_settings() -> None:
    """What _json.make_scanner reads (json.JSONDecoder's attributes).  A function holds them:
    it is made in 0.2 µs where a class takes 4.5 µs."""


_scanner_settings.strict = True
_scanner_settings.object_hook = None
_scanner_settings.object_pairs_hook = None
_scanner_settings.parse_float = float
_scanner_settings.parse_int = int
_scanner_settings.parse_constant = _invalid_constant
_scan = _json.make_scanner(_scanner_settings)  # type: ignore[arg-type]  # any such object
_WHITESPACE = " \t\n\r"


def _not_serializable(obj: object) -> "NoReturn":
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


# Go's encoding/json (runc's) reads documents nested up to 10000 levels; so does loads.
MAX_DEPTH = 10000


def loads(text: str | bytes | bytearray) -> "Any":
    """Parse one JSON document; raises ValueError ("... at char N") on anything else."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode()
    start = 0
    end = len(text)
    while start < end and text[start] in _WHITESPACE:
        start += 1
    try:
        try:
            value, stop = _scan_with_errors(text, start)
        except RecursionError:
            value, stop = _scan_deep(text, start)
    except StopIteration as exc:
        raise ValueError(f"expecting a JSON value at char {exc.value}") from None
    while stop < end and text[stop] in _WHITESPACE:
        stop += 1
    if stop != end:
        raise ValueError(f"extra data at char {stop}")
    return value


def _scan_deep(text: str, start: int) -> "tuple[Any, int]":
    """Deeper than the interpreter's recursion limit (about 1000 levels): read what Go reads."""
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + MAX_DEPTH)
    try:
        return _scan_with_errors(text, start)
    except RecursionError:
        raise ValueError(f"arrays and objects nested more than about {MAX_DEPTH} levels deep") \
            from None
    finally:
        sys.setrecursionlimit(limit)


def _scan_with_errors(text: str, start: int) -> "tuple[Any, int]":
    try:
        try:
            return _scan(text, start)
        except SystemError:
            # _json raises json.decoder.JSONDecodeError only if json.decoder is already
            # imported, and otherwise returns NULL without an exception: import it on the way
            # to an error (a valid document never gets here).
            import json.decoder  # noqa: F401

            return _scan(text, start)
    except ValueError as exc:
        if not hasattr(exc, "pos"):
            raise
        # "Expecting ',' delimiter: line 1 column 9 (char 8)": the position once, as ours.
        message = exc.msg[:-3] if exc.msg.endswith(" at") else exc.msg  # "...character at"
        raise ValueError(f"{message} at char {exc.pos}") from None


def _encoder(sort_keys: bool, ensure_ascii: bool) -> "Any":  # a _json.make_encoder
    encode_string = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys,
    #  allow_nan)
    return _json.make_encoder({}, _not_serializable, encode_string, None, ":", ",", sort_keys,
                              False, False)


# Made once (a new one per call costs more than encoding a small document): the one for the
# runtime's own documents now, the seccomp cache key's on first use.
_encoders: "dict[tuple[bool, bool], Any]" = {(False, True): _encoder(False, True)}


def dumps(value: object, *, sort_keys: bool = False, ensure_ascii: bool = True) -> str:
    """Compact JSON (no spaces): ``json.dumps(value, separators=(',', ':'), sort_keys=sort_keys,
    ensure_ascii=ensure_ascii)``, except that NaN and infinities are refused (ValueError), as
    JSON has none."""
    encode = _encoders.get((sort_keys, ensure_ascii))
    if encode is None:
        encode = _encoders[sort_keys, ensure_ascii] = _encoder(sort_keys, ensure_ascii)
    try:
        return "".join(encode(value, 0))
    except BaseException:
        # A call that failed half-way leaves the containers it entered in the circular-reference
        # markers, which would keep them alive for good.
        encode.markers.clear()
        raise
