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


def loads(text):
    """Parse one JSON document; raises ValueError on anything else."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode()
    start = 0
    end = len(text)
    while start < end and text[start] in _WHITESPACE:
        start += 1
    try:
        value, stop = _scan(text, start)
    except StopIteration as exc:
        raise ValueError(f"expecting a JSON value at char {exc.value}") from None
    while stop < end and text[stop] in _WHITESPACE:
        stop += 1
    if stop != end:
        raise ValueError(f"extra data at char {stop}")
    return value


def dumps(value):
    """Compact JSON (no spaces), like ``json.dumps(value, separators=(',', ':'))``."""
    return "".join(_encode_compact(value, 0))
