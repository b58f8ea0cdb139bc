"""The runtime's one seam to the kernel for calls Python 3.11 lacks.

Thin wrappers over the cffi shim (cext/kernel_shim.c): each raises OSError with the errno and the
path or operation it concerns, and does nothing else.  Everything above this module decides policy;
tests can replace these functions (monkeypatch) to inject errnos.  Importing this module loads the
compiled extension, so only the create/exec paths import it: never state, start or kill.
"""
import os

from oci_runtime._kernel import ffi, lib

from oci_runtime.kernel.constants import *  # noqa: F401,F403 - the seam re-exports the flags


TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any, NoReturn


def _fail(what: str) -> "NoReturn":
    err = ffi.errno
    raise OSError(err, os.strerror(err), what)


def _c(text: "str | bytes | None") -> "Any":
    return ffi.NULL if text is None else os.fsencode(text)


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0,
          data: str | None = None) -> None:
    if lib.oci_mount(_c(source), _c(target), _c(fstype), flags, _c(data)) < 0:
        _fail(target)


def umount2(target: str, flags: int = 0) -> None:
    if lib.oci_umount2(_c(target), flags) < 0:
        _fail(target)



def unshare(flags: int) -> None:
    if lib.oci_unshare(flags) < 0:
        _fail("unshare")


def setns(fd: int, nstype: int = 0) -> None:
    if lib.oci_setns(fd, nstype) < 0:
        _fail("setns")




def set_child_subreaper(value: int) -> None:
    if lib.oci_set_child_subreaper(value) < 0:
        _fail("prctl(PR_SET_CHILD_SUBREAPER)")


def child_subreaper() -> int:
    value = ffi.new("int *")
    if lib.oci_get_child_subreaper(value) < 0:
        _fail("prctl(PR_GET_CHILD_SUBREAPER)")
    return int(value[0])


def capget() -> "tuple[int, int, int]":
    """Return (effective, permitted, inheritable) as 64-bit masks of the calling thread."""
    sets = ffi.new("uint64_t[3]")
    if lib.oci_capget(sets, sets + 1, sets + 2) < 0:
        _fail("capget")
    return sets[0], sets[1], sets[2]









def open_tree(dirfd: int, path: str, flags: int) -> int:
    fd: int = lib.oci_open_tree(dirfd, _c(path), flags)
    if fd < 0:
        _fail(path)
    return fd



def mount_setattr(dirfd: int, path: str, flags: int, attr_set: int = 0, attr_clr: int = 0,
                  propagation: int = 0, userns_fd: int = 0) -> None:
    if lib.oci_mount_setattr(dirfd, _c(path), flags, attr_set, attr_clr, propagation, userns_fd) < 0:
        _fail(path)




def seccomp(operation: int, flags: int) -> int:
    """seccomp(2) without an argument (probing a flag, a mode); returns its result.  Filters are
    loaded by the executor, never here."""
    result: int = lib.oci_seccomp(operation, flags, ffi.NULL)
    if result < 0:
        _fail("seccomp")
    return result


def bpf(command: int, attr: bytearray) -> int:
    """bpf(2) with ``attr`` a bytearray holding union bpf_attr (the kernel may write into it)."""
    result: int = lib.oci_bpf(command, ffi.from_buffer(attr), len(attr))
    if result < 0:
        _fail(f"bpf({command})")
    return result


def address_of(buffer: bytearray) -> int:
    """The address of a bytearray's memory, for the pointer fields of bpf_attr.  Valid while the
    bytearray lives and is not resized."""
    return int(ffi.cast("uintptr_t", ffi.from_buffer(buffer)))
