"""Find the libseccomp.so.2 file the dynamic loader would pick, without loading it.

The compile cache is keyed by the library that would produce the BPF program; a cache hit must not
dlopen() libseccomp (that is the cost the cache exists to avoid), so we locate the file ourselves the
way ld.so does: LD_LIBRARY_PATH, then /etc/ld.so.cache, then the default directories.  A candidate
only counts if its ELF class and machine match the running interpreter (a multilib system lists
32-bit and 64-bit copies).  When we do load the library we dlopen() this exact path, so the cache key
and the code that generated the cached bytes always agree.
"""

import os
import struct
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Literal

SONAME = "libseccomp.so.2"
_LD_SO_CACHE = "/etc/ld.so.cache"
_LD_SO_CACHE_MAGIC = b"glibc-ld.so.cache1.1"
_LD_SO_CACHE_HEADER_SIZE = 48  # magic(20) nlibs(4) len_strings(4) flags(1) pad(3) ext_offset(4) unused(12)
_LD_SO_CACHE_ENTRY_SIZE = 24  # flags(4) key(4) value(4) osversion(4) hwcap(8)
_MULTIARCH = getattr(sys.implementation, "_multiarch", "")  # e.g. "x86_64-linux-gnu" on Debian
_DEFAULT_DIRECTORIES = tuple(
    directory
    for directory in (f"/lib/{_MULTIARCH}", f"/usr/lib/{_MULTIARCH}", "/lib64", "/usr/lib64", "/lib", "/usr/lib")
    if _MULTIARCH or not directory.endswith("/")
)


class LibraryFile:
    __slots__ = ("path", "identity")

    def __init__(self, path: str, identity: str) -> None:
        self.path = path  # what to dlopen()
        self.identity = identity  # resolved file name, size and mtime: changes when the library is replaced


def _elf_signature(path: str) -> "tuple[int, int, int] | None":
    """(EI_CLASS, EI_DATA, e_machine) of an ELF file, or None if it is not one."""
    try:
        with open(path, "rb") as elf:
            header = elf.read(20)
    except OSError:
        return None
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    byteorder: "Literal['little', 'big']" = "little" if header[5] == 1 else "big"
    return header[4], header[5], int.from_bytes(header[18:20], byteorder)


def _ld_so_cache_candidates() -> "list[str]":
    """Paths /etc/ld.so.cache maps SONAME to, in cache order (the order ld.so tries them)."""
    try:
        with open(_LD_SO_CACHE, "rb") as cache_file:
            data = cache_file.read()
    except OSError:
        return []
    # Old glibc writes a legacy table first; the new-format table's string offsets are relative to
    # its own header, wherever that header starts.
    base = data.find(_LD_SO_CACHE_MAGIC)
    if base < 0 or len(data) < base + _LD_SO_CACHE_HEADER_SIZE:
        return []
    entry_count = int.from_bytes(data[base + 20:base + 24], sys.byteorder)
    # ldconfig merges string suffixes, so the key "libseccomp.so.2" may sit inside a path string:
    # find every place the name occurs, then pick the entries whose key points at one of them.
    wanted = SONAME.encode() + b"\0"
    name_offsets: "set[int]" = set()
    found = data.find(wanted, base)
    while found >= 0:
        name_offsets.add(found - base)
        found = data.find(wanted, found + 1)
    entries_start = base + _LD_SO_CACHE_HEADER_SIZE
    entries_end = min(entries_start + entry_count * _LD_SO_CACHE_ENTRY_SIZE, len(data))
    entries_end -= (entries_end - entries_start) % _LD_SO_CACHE_ENTRY_SIZE
    candidates: "list[str]" = []
    for _, key, value, _, _ in struct.iter_unpack("=iIIIQ", data[entries_start:entries_end]):
        if key in name_offsets:
            candidates.append(data[base + value:data.find(b"\0", base + value)].decode(errors="replace"))
    return candidates


def locate_libseccomp() -> LibraryFile | None:
    """Return the :class:`LibraryFile` ld.so would load for SONAME, or None if it cannot be found."""
    own_signature = _elf_signature("/proc/self/exe") or _elf_signature(sys.executable)
    search_path = [os.path.join(directory, SONAME)
                   for directory in os.environ.get("LD_LIBRARY_PATH", "").split(":") if directory]
    search_path += _ld_so_cache_candidates()
    search_path += [os.path.join(directory, SONAME) for directory in _DEFAULT_DIRECTORIES]
    for candidate in search_path:
        if _elf_signature(candidate) != own_signature:
            continue
        resolved = os.path.realpath(candidate)
        status = os.stat(resolved)
        return LibraryFile(candidate, f"{resolved}:{status.st_size}:{status.st_mtime_ns}")
    return None
