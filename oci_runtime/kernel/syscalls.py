"""The runtime's one seam to the kernel for calls Python 3.11 lacks.

Thin wrappers over the cffi shim (cext/kernel_shim.c): each raises OSError with the errno and the
path or operation it concerns, and does nothing else.  Everything above this module decides policy;
tests can replace these functions (monkeypatch) to inject errnos.  Importing this module loads the
compiled extension, so only the create/exec paths import it: never state, start or kill.
"""
import os

from oci_runtime._kernel import ffi, lib

from oci_runtime.kernel.constants import *  # noqa: F401,F403 - the seam re-exports the flags


def _fail(what):
    err = ffi.errno
    raise OSError(err, os.strerror(err), what)


def _c(text):
    return ffi.NULL if text is None else os.fsencode(text)


def mount(source, target, fstype, flags=0, data=None):
    if lib.oci_mount(_c(source), _c(target), _c(fstype), flags, _c(data)) < 0:
        _fail(target)


def umount2(target, flags=0):
    if lib.oci_umount2(_c(target), flags) < 0:
        _fail(target)



def unshare(flags):
    if lib.oci_unshare(flags) < 0:
        _fail("unshare")


def setns(fd, nstype=0):
    if lib.oci_setns(fd, nstype) < 0:
        _fail("setns")




def capget():
    """Return (effective, permitted, inheritable) as 64-bit masks of the calling thread."""
    sets = ffi.new("uint64_t[3]")
    if lib.oci_capget(sets, sets + 1, sets + 2) < 0:
        _fail("capget")
    return sets[0], sets[1], sets[2]



def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    result = lib.oci_prctl(option, arg2, arg3, arg4, arg5)
    if result < 0:
        _fail(f"prctl({option})")
    return result






def open_tree(dirfd, path, flags):
    fd = lib.oci_open_tree(dirfd, _c(path), flags)
    if fd < 0:
        _fail(path)
    return fd



def mount_setattr(dirfd, path, flags, attr_set=0, attr_clr=0, propagation=0, userns_fd=0):
    if lib.oci_mount_setattr(dirfd, _c(path), flags, attr_set, attr_clr, propagation, userns_fd) < 0:
        _fail(path)




def seccomp(operation, flags):
    """seccomp(2) without an argument (probing a flag, a mode); returns its result."""
    result = lib.oci_seccomp(operation, flags, ffi.NULL)
    if result < 0:
        _fail("seccomp")
    return result


def seccomp_set_filter(operation, flags, program):
    """Load ``program`` (bytes of struct sock_filter, 8 each); returns seccomp(2)'s result (a
    listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER)."""
    result = lib.oci_seccomp_set_filter(operation, flags, ffi.from_buffer(program),
                                        len(program) // 8)
    if result < 0:
        _fail("seccomp(SECCOMP_SET_MODE_FILTER)")
    return result


def bpf(command, attr):
    """bpf(2) with ``attr`` a bytearray holding union bpf_attr (the kernel may write into it)."""
    result = lib.oci_bpf(command, ffi.from_buffer(attr), len(attr))
    if result < 0:
        _fail(f"bpf({command})")
    return result


def address_of(buffer):
    """The address of a bytearray's memory, for the pointer fields of bpf_attr.  Valid while the
    bytearray lives and is not resized."""
    return int(ffi.cast("uintptr_t", ffi.from_buffer(buffer)))
