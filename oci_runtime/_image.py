"""The import image: the package's modules compiled into one file, so that a command loads each
module it imports with a stat (is the image still the source's?) and at most one pread, instead
of importlib's path finder and source loader: a dozen system calls per module (a stat of the
directory, two of the source, the .pyc's open, two fstats, an isatty ioctl, two lseeks, two
reads, a close) and ~0.2 M instructions of importlib's Python.  Every CLI call is a new
interpreter that imports 12 (`state`) to 60 (`create`) of the package's modules: those were
the largest part of what a `state` added to the interpreter's own start (docs/performance.md).

`python -m oci_runtime.cli.launcher` (scripts/setup) writes it (cli/launcher.py,
``write_image``) as ``oci_runtime/__pycache__/image.<cache tag>``, beside the .pyc files:

    MAGIC: importlib's MAGIC_NUMBER, this interpreter's bytecode (4 bytes)
    FORMAT: b"img2", this layout (4 bytes)
    the number of modules, the length of their names, where the head ends, where the warm
    part ends (4 bytes each, little-endian)
    the names, UTF-8, one per line
    one RECORD per module, in the names' order: offset and length of its code, its source's
    mtime_ns and size (the .pyc's check), whether it is a package
    each module's code object (marshal), at its offset: the hot path's (`state`, `start`,
    `kill`, `delete`) first; with the index before them, they make the head, which install()
    reads in one go (`state` reads nothing more).  Then the warm part, the rest of `create`'s
    and `run`'s modules, read in one go when the first of them is imported.  Then the others.
    oci_runtime/cli/import_sets.py lists each command's modules.

No descriptor of the image stays open (one held by the runtime would take a number a caller's
--preserve-fds may name): the warm part, or a module past it, is read by an open, an fstat (is
it still the image the index came from? a rebuild replaces the file), a pread and a close; a
replaced image makes the usual import.

The package's ``__init__`` calls ``install()`` first: a finder ahead of importlib's on
``sys.meta_path`` serves the modules whose source is unchanged since; anything else (a module
changed since, one the image lacks, no image, another interpreter's) is imported the usual
way.  The image is only ever a cache: rebuilding or deleting it changes nothing but the time
an import takes.

This module imports only what the interpreter has loaded before any code runs (``posix``,
``marshal``, ``sys``); with the package's ``__init__`` it is imported the usual way.
"""
import marshal
import sys
from posix import O_CLOEXEC, O_RDONLY, close, fstat, pread, stat
from posix import open as open_fd

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import CodeType, ModuleType

_PACKAGE_DIR = __file__.rpartition("/")[0]
FORMAT = b"img2"
HEADER = 24
# offset, length (4 bytes each), source mtime_ns (8), source size (4), is a package (1), pad (3)
RECORD = 24


def image_path(package_dir: str = _PACKAGE_DIR) -> str:
    return f"{package_dir}/__pycache__/image.{sys.implementation.cache_tag}"


def magic() -> bytes:
    number: bytes = sys.modules["_frozen_importlib_external"].MAGIC_NUMBER
    return number


class ImageFinder:
    """The meta path finder and loader of the image's modules (importlib's protocol: find_spec,
    create_module, exec_module; get_code, get_source and is_package for runpy, linecache and
    inspect)."""

    def __init__(self, path: str, identity: "tuple[int, int, int]", head: bytes,
                 positions: "dict[str, int]", records: int, package_dir: str,
                 warm_end: int = 0) -> None:
        self._path = path
        self._identity = identity  # the image's (device, inode, mtime_ns) the index came from
        self._head = head
        self._warm_end = warm_end
        self._warm: "bytes | None" = None  # the warm part, once read
        self._positions = positions  # name -> index of its record
        self._records = records      # where the records start in the head
        self.package_dir = package_dir
        self._root = package_dir.rpartition("/")[0]

    def _record(self, name: str) -> "tuple[int, int, int, int, bool] | None":
        position = self._positions.get(name)
        if position is None:
            return None
        start = self._records + position * RECORD
        record = self._head[start:start + RECORD]
        return (int.from_bytes(record[0:4], "little"), int.from_bytes(record[4:8], "little"),
                int.from_bytes(record[8:16], "little"), int.from_bytes(record[16:20], "little"),
                record[20] == 1)

    def source_path(self, name: str, is_package: bool) -> str:
        path = f"{self._root}/{name.replace('.', '/')}"
        return f"{path}/__init__.py" if is_package else f"{path}.py"

    def find_spec(self, name: str, path: "Sequence[str] | None" = None,
                  target: "ModuleType | None" = None) -> "ModuleSpec | None":
        record = self._record(name)
        if record is None:
            return None
        source = self.source_path(name, record[4])
        try:
            seen = stat(source)
        except OSError:
            return None
        if seen.st_mtime_ns != record[2] or seen.st_size != record[3]:
            return None  # changed since the image was made: importlib's .pyc is current
        data = self._data(record)
        if data is None:
            return None  # the image was rebuilt since: the usual import
        spec: "ModuleSpec" = sys.modules["_frozen_importlib"].ModuleSpec(
            name, self, origin=source, is_package=record[4])
        if record[4]:
            spec.submodule_search_locations = [source.rpartition("/")[0]]
        spec.loader_state = data
        return spec

    def create_module(self, spec: "ModuleSpec") -> None:
        return None  # the default module

    def exec_module(self, module: "ModuleType") -> None:
        spec = module.__spec__
        assert spec is not None  # importlib sets it before exec_module
        module.__file__ = spec.origin
        exec(marshal.loads(spec.loader_state), module.__dict__)

    def get_code(self, name: str) -> "CodeType":
        record = self._record(name)
        data = None if record is None else self._data(record)
        if data is None:
            raise ImportError(f"{name} is not in the image", name=name)
        code: "CodeType" = marshal.loads(data)
        return code

    def _data(self, record: "tuple[int, int, int, int, bool]") -> "bytes | memoryview | None":
        """The module's marshalled code: from the head, else read from the image if it is
        still the one the index came from (else None)."""
        offset, length = record[0], record[1]
        head = len(self._head)
        if offset + length <= head:
            return memoryview(self._head)[offset:offset + length]
        if offset + length <= self._warm_end:
            if self._warm is None:
                self._warm = self._read(head, self._warm_end - head)
                if self._warm is None:
                    return None
            return memoryview(self._warm)[offset - head:offset - head + length]
        return self._read(offset, length)

    def _read(self, offset: int, length: int) -> "bytes | None":
        """``length`` bytes at ``offset`` of the image, if it is still the one the index came
        from (else None)."""
        try:
            fd = open_fd(self._path, O_RDONLY | O_CLOEXEC)
        except OSError:
            return None
        try:
            if _identity(fd) != self._identity:
                return None
            data: bytes = pread(fd, length, offset)
        except OSError:
            return None
        finally:
            close(fd)
        return data if len(data) == length else None

    def get_source(self, name: str) -> str:
        import io

        with io.open(self.source_path(name, self.is_package(name)), "rb") as source:
            return source.read().decode()

    def is_package(self, name: str) -> bool:
        record = self._record(name)
        return record is not None and record[4]


def _identity(fd: int) -> "tuple[int, int, int]":
    seen = fstat(fd)
    return seen.st_dev, seen.st_ino, seen.st_mtime_ns


def install(package_dir: str = _PACKAGE_DIR) -> "ImageFinder | None":
    """Put the image's finder first on sys.meta_path, if this interpreter has an image."""
    for present in sys.meta_path:
        if isinstance(present, ImageFinder) and present.package_dir == package_dir:
            return present
    path = image_path(package_dir)
    try:
        fd = open_fd(path, O_RDONLY | O_CLOEXEC)
    except OSError:
        return None
    try:
        identity = _identity(fd)
        header = pread(fd, HEADER, 0)
        if header[:4] != magic() or header[4:8] != FORMAT:
            raise ValueError("another interpreter's image, or another layout")
        count = int.from_bytes(header[8:12], "little")
        names_length = int.from_bytes(header[12:16], "little")
        head = pread(fd, int.from_bytes(header[16:20], "little"), 0)
        warm_end = int.from_bytes(header[20:24], "little")
        records = HEADER + names_length
        names = head[HEADER:records].decode().split("\n")
        if len(names) != count or records + count * RECORD > len(head) or warm_end < len(head):
            raise ValueError("damaged image")
    except (OSError, ValueError):
        return None  # unreadable or damaged: the usual imports
    finally:
        close(fd)
    finder = ImageFinder(path, identity, head, dict(zip(names, range(count))), records,
                         package_dir, warm_end)
    sys.meta_path.insert(0, finder)
    return finder
