"""On-disk cache of compiled BPF programs.

The key is sha256 over: the canonical JSON of the parts of the profile that shape the program, the
interpreter's native architecture, and the identity of the libseccomp file that would compile it.
Anything else (listenerPath, listenerMetadata, flags) only matters at install time and is re-read
from the live profile on every call, so containers that differ only in their agent socket share one
entry.

Entries are written to a temporary file and renamed into place, so a reader sees either nothing or a
complete entry; a damaged entry (e.g. after a crash, since we do not fsync) is treated as a miss and
rewritten.  Because a cache entry is a security policy, a directory or entry writable by anyone but
us is ignored rather than trusted.
"""

import os
import stat
import struct
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from hashlib import _Hash
    from typing import Any, NoReturn

# /2: programs carry the ENOSYS stub (seccomp/enosys.py); /1 entries lack it.
_FORMAT = "oci-runtime-seccomp-cache/2"
_PROFILE_FIELDS_IN_KEY = ("defaultAction", "defaultErrnoRet", "architectures", "syscalls")


def native_architecture() -> str:
    """The ABI libseccomp treats as native for this process (not merely the kernel's machine)."""
    abi = getattr(sys.implementation, "_multiarch", "")
    return f"{os.uname().machine}/{abi}/{struct.calcsize('P') * 8}bit"


def cache_key(seccomp: "dict[str, Any]", library_identity: str) -> str:
    from oci_runtime.kernel import hotpath

    relevant = {field: seccomp[field] for field in _PROFILE_FIELDS_IN_KEY if field in seccomp}
    # The bytes of json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False), so
    # existing cache keys stay valid, without json's import (~8 ms with re, a good part of a hit).
    material = hotpath.dumps(
        {"format": _FORMAT, "profile": relevant, "arch": native_architecture(), "libseccomp": library_identity},
        sort_keys=True, ensure_ascii=False)
    digest = hotpath.sha256()  # not hashlib: it loads OpenSSL
    digest.update(material.encode())
    return digest.hexdigest()


def _is_private(status: os.stat_result) -> bool:
    return status.st_uid == os.geteuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def directory_problem(cache_dir: str) -> str | None:
    """Why ``cache_dir`` must not be used, or None if it is fine (it is created if missing)."""
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        status = os.stat(cache_dir)
    except OSError as exc:
        return f"seccomp cache {cache_dir} unusable, compiling without it: {exc.strerror}"
    if not _is_private(status):
        return (f"seccomp cache {cache_dir} is writable by other users or not owned by uid {os.geteuid()}, "
                f"compiling without it")
    return None


def _entry_path(cache_dir: str, key: str) -> str:
    return os.path.join(cache_dir, f"{key}.json")


def read(cache_dir: str, key: str) -> "tuple[bytes, list[str]] | None":
    """Return ``(bpf, warnings)`` stored under ``key``, or None on a miss or an unusable entry."""

    from oci_runtime.kernel import hotpath

    path = _entry_path(cache_dir, key)
    try:
        with open(path, "rb") as entry_file:
            if not _is_private(os.fstat(entry_file.fileno())):
                return None
            entry = hotpath.loads(entry_file.read())
        bpf = bytes.fromhex(entry["bpf"])
        warnings = entry["warnings"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    # ValueError covers bad JSON and bad hex; the checks below catch a well-formed but foreign file.
    if entry.get("format") != _FORMAT or entry.get("key") != key or not bpf or len(bpf) % 8:
        return None
    if not isinstance(warnings, list) or not all(isinstance(warning, str) for warning in warnings):
        return None
    return bpf, warnings


def write(cache_dir: str, key: str, bpf: bytes, warnings: "Iterable[str]") -> bool:
    """Store an entry atomically.  Failure to write is not an error: the next compile just misses."""

    from oci_runtime.kernel import hotpath

    path = _entry_path(cache_dir, key)
    # Random, not pid-based: container inits all run as pid 1 of their own pid namespace and may
    # share one cache directory.
    temporary = f"{path}.{os.urandom(8).hex()}.tmp"
    entry = hotpath.dumps({"format": _FORMAT, "key": key, "warnings": list(warnings), "bpf": bpf.hex()})
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError:
        return False
    try:
        with open(descriptor, "w") as entry_file:
            entry_file.write(entry)
        os.rename(temporary, path)
        return True
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False
