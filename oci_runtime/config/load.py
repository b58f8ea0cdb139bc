"""Reading config.json: a bundle's file parsed with errors that give line and column, validated,
and exposed as a typed model (oci_runtime.config.model)."""
import os


from oci_runtime.kernel import hotpath
from oci_runtime.config.model import Config
from oci_runtime.errors import ConfigError, OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Config", "load_bundle_config", "parse_config", "parse_json", "read_bundle_config_bytes",
           "read_json_file"]


def _line_and_column(text: str, offset: int) -> "tuple[int, int]":
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _char_offset(message: str) -> int | None:
    # hotpath.loads/_json messages end with "char N" or carry it as ": line 1 column 2 (char 1)".
    digits = ""
    for ch in reversed(message.rstrip(")")):
        if not ch.isdigit():
            break
        digits = ch + digits
    return int(digits) if digits else None


def parse_json(text: str, source: str) -> "Any":
    """One JSON document; a syntax error is one line naming ``source``, the line and column."""
    try:
        return hotpath.loads(text)
    except ValueError as exc:
        message = str(exc)
        offset = _char_offset(message)
        where = ""
        if offset is not None:
            where = " at line %d column %d" % _line_and_column(text, offset)
            message = message[:message.rfind(" at char ")]
        raise ConfigError(f"{source}: invalid JSON{where}: {message}") from None


def read_json_file(path: str, source: str) -> "Any":
    """The JSON document in file ``path`` ("-": standard input), errors naming ``source``."""
    try:
        if path == "-":
            import sys

            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as json_file:
                data = json_file.read()
        text = data.decode()
    except OSError as exc:
        raise OCIError.from_os(f"{source}: cannot read", exc) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    return parse_json(text, source)


def parse_config(text: str, source: str = "config.json") -> Config:
    """Parse and check config JSON text; raises ConfigError naming the position or the field."""
    document = parse_json(text, source)
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: must be a JSON object", "/")
    from oci_runtime.config.validate import validate_config

    validate_config(document)
    return Config(document, source)


def load_bundle_config(bundle: str) -> "tuple[Config, bytes]":
    """The bundle's config.json as a Config, with root.path resolved against the bundle, and the
    bytes it was read from: create saves those, so what it checked is what it keeps (the
    bundle's file may change meanwhile)."""
    data = read_bundle_config_bytes(bundle)
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise OCIError(f"{os.path.join(bundle, 'config.json')}: cannot read: {exc}") from None
    config = parse_config(text)
    config.resolve_paths(bundle)
    return config, data


def read_bundle_config_bytes(bundle: str) -> bytes:
    """The bytes of the bundle's config.json, which must be a regular file: opened non-blocking
    and checked with fstat before reading, so a FIFO or a device there fails at once instead of
    blocking create (or reading a device of the image)."""
    import stat

    path = os.path.join(bundle, "config.json")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (is {bundle!r} an OCI bundle?)") from None
    except OSError as exc:
        raise OCIError(f"{path}: cannot read: {exc.strerror}") from None
    with open(fd, "rb") as config_file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OCIError(f"{path}: not a regular file")
        try:
            return config_file.read()
        except OSError as exc:
            raise OCIError(f"{path}: cannot read: {exc.strerror}") from None
