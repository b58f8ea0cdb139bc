"""The runtime's one seam to the kernel for calls Python 3.11 lacks.

Thin wrappers over the cffi shim (cext/kernel_shim.c): each raises OSError with the errno and the
path or operation it concerns, and does nothing else.  Everything above this module decides policy;
tests can replace these functions (monkeypatch) to inject errnos.  Importing this module loads the
compiled extension, so only the create/exec paths import it: never state, start or kill.
"""
import os

from oci_runtime._kernel import ffi, lib

# clone/unshare namespace flags (linux/sched.h)
CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount(2) flags (linux/mount.h)
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 0x20000
MS_PRIVATE = 0x40000
MS_SLAVE = 0x80000
MS_SHARED = 0x100000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MS_LAZYTIME = 0x2000000
MNT_DETACH = 0x2

# mount_setattr(2) attributes and flags
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR__ATIME = 0x70
MOUNT_ATTR_RELATIME = 0x0
MOUNT_ATTR_NOATIME = 0x10
MOUNT_ATTR_STRICTATIME = 0x20
MOUNT_ATTR_NODIRATIME = 0x80
MOUNT_ATTR_IDMAP = 0x100000
MOUNT_ATTR_NOSYMFOLLOW = 0x200000
AT_RECURSIVE = 0x8000
AT_EMPTY_PATH = 0x1000
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 0x4

# openat2(2) resolve flags
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10

CLOSE_RANGE_CLOEXEC = 1 << 2

# prctl(2) options
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4


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


def pivot_root(new_root, put_old):
    if lib.oci_pivot_root(_c(new_root), _c(put_old)) < 0:
        _fail(new_root)


def unshare(flags):
    if lib.oci_unshare(flags) < 0:
        _fail("unshare")


def setns(fd, nstype=0):
    if lib.oci_setns(fd, nstype) < 0:
        _fail("setns")


def sethostname(name):
    raw = name.encode()
    if lib.oci_sethostname(raw, len(raw)) < 0:
        _fail("sethostname")


def setdomainname(name):
    raw = name.encode()
    if lib.oci_setdomainname(raw, len(raw)) < 0:
        _fail("setdomainname")


def capget():
    """Return (effective, permitted, inheritable) as 64-bit masks of the calling thread."""
    sets = ffi.new("uint64_t[3]")
    if lib.oci_capget(sets, sets + 1, sets + 2) < 0:
        _fail("capget")
    return sets[0], sets[1], sets[2]


def capset(effective, permitted, inheritable):
    if lib.oci_capset(effective, permitted, inheritable) < 0:
        _fail("capset")


def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    result = lib.oci_prctl(option, arg2, arg3, arg4, arg5)
    if result < 0:
        _fail(f"prctl({option})")
    return result


def join_session_keyring(name=None):
    if lib.oci_keyctl_join_session_keyring(_c(name)) < 0:
        _fail("keyctl(KEYCTL_JOIN_SESSION_KEYRING)")


def personality(persona):
    result = lib.oci_personality(persona)
    if result < 0:
        _fail("personality")
    return result


def openat2(dirfd, path, flags, mode=0, resolve=0):
    fd = lib.oci_openat2(dirfd, _c(path), flags | os.O_CLOEXEC, mode, resolve)
    if fd < 0:
        _fail(path)
    return fd


def close_range(first, last=0xFFFFFFFF, flags=0):
    if lib.oci_close_range(first, last, flags) < 0:
        _fail("close_range")


def open_tree(dirfd, path, flags):
    fd = lib.oci_open_tree(dirfd, _c(path), flags)
    if fd < 0:
        _fail(path)
    return fd


def move_mount(from_dirfd, from_path, to_dirfd, to_path, flags):
    if lib.oci_move_mount(from_dirfd, _c(from_path), to_dirfd, _c(to_path), flags) < 0:
        _fail(to_path)


def mount_setattr(dirfd, path, flags, attr_set=0, attr_clr=0, propagation=0, userns_fd=0):
    if lib.oci_mount_setattr(dirfd, _c(path), flags, attr_set, attr_clr, propagation, userns_fd) < 0:
        _fail(path)


def ioprio_set(which, who, ioprio):
    if lib.oci_ioprio_set(which, who, ioprio) < 0:
        _fail("ioprio_set")


def sched_setattr(pid, policy, flags=0, nice=0, priority=0, runtime=0, deadline=0, period=0):
    if lib.oci_sched_setattr(pid, policy, flags, nice, priority, runtime, deadline, period) < 0:
        _fail("sched_setattr")


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
