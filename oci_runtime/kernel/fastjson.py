"""JSON for the hot path without importing the ``json`` package.

``import json`` pulls in ``re`` and costs ~10 ms, more than a whole ``state`` call should.  The C
accelerator ``_json`` that ``json`` itself uses does the real work; this module only builds its
scanner and encoder once.  Output and accepted input match ``json.dumps``/``json.loads`` for the
documents the runtime reads and writes (objects, arrays, strings, numbers, booleans, null).
"""
import _json


class _ScannerContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo = None

    @staticmethod
    def parse_constant(name):
        raise ValueError(f"invalid JSON constant {name}")


_scan = _json.make_scanner(_ScannerContext())
_WHITESPACE = " \t\n\r"


def _not_serializable(obj):
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


# (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys, allow_nan)
_encode_compact = _json.make_encoder(
    {}, _not_serializable, _json.encode_basestring_ascii, None, ":", ",", False, False, False
)


# Go's encoding/json (runc's) reads documents nested up to 10000 levels; so does this module.
MAX_DEPTH = 10000


def loads(text):
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


def _scan_deep(text, start):
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


def _scan_with_errors(text, start):
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


def dumps(value):
    """Compact JSON (no spaces), like ``json.dumps(value, separators=(',', ':'))``."""
    return "".join(_encode_compact(value, 0))
