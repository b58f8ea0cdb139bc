"""A recording fake of the kernel seam (oci_runtime.kernel), after youki's Syscall trait.

Every function of ``oci_runtime.kernel`` that changes the system (mount, pivot_root, setns, prctl,
...) is replaced by one that records the call and returns; ``openat2`` and ``close_range`` stay
real (they only resolve paths and mark fds), so ``open_in_root`` works on a rootfs under
tmp_path without privileges.

The fake keeps a small mount table so that code which mounts and then looks at the result sees
what a kernel would show:

* mount points are keyed by the (st_dev, st_ino) of the directory or file mounted on, with their
  mount(2) flags; ``os.statvfs`` reports those flags (as ST_*) for a path on such a point;
* a bind mount inherits the flags of the mount it copies; ``add_mount(..., locked=True)`` declares
  a mount whose flags are locked, as for mounts inherited into a user namespace: a bind remount
  that would drop one of them fails with EPERM, as the kernel's does.

Calls are recorded as ``Call(name, args)``; an argument that is a /proc/self/fd/N magic link, or an
fd for a dirfd/nsfd parameter, is recorded as the path it named at the time of the call, so tests
can assert on paths instead of fd numbers.  ``fail(name, errno, when=...)`` injects an error.
"""
import errno as errno_codes
import os
from typing import NamedTuple

from oci_runtime import kernel

# Functions that only read or resolve: they keep working for real.
PASS_THROUGH = frozenset({"openat2", "close_range"})

# Positions of fd arguments that name a file or namespace (recorded as its path).
FD_ARGUMENTS = {
    "setns": (0,),
    "mount_setattr": (0,),
    "open_tree": (0,),
    "move_mount": (0, 2),
}

# mount(2) flags a mount point carries (and statvfs reports), as (MS_*, ST_*) pairs.
PER_MOUNT_FLAGS = (
    (kernel.MS_RDONLY, os.ST_RDONLY),
    (kernel.MS_NOSUID, os.ST_NOSUID),
    (kernel.MS_NODEV, os.ST_NODEV),
    (kernel.MS_NOEXEC, os.ST_NOEXEC),
    (kernel.MS_NOATIME, os.ST_NOATIME),
    (kernel.MS_NODIRATIME, os.ST_NODIRATIME),
    (kernel.MS_RELATIME, os.ST_RELATIME),
)
_PER_MOUNT_MASK = sum(ms for ms, _ in PER_MOUNT_FLAGS)
_PROPAGATION = kernel.MS_SHARED | kernel.MS_PRIVATE | kernel.MS_SLAVE | kernel.MS_UNBINDABLE


class Call(NamedTuple):
    name: str
    args: tuple


class MountPoint(NamedTuple):
    path: str  # where it was mounted, as first seen (for messages)
    flags: int  # MS_* per-mount flags
    locked: int  # flags a remount may not drop


class _Failure(NamedTuple):
    name: str
    errno: int
    when: object  # None or predicate(Call) -> bool
    remaining: object  # None = every matching call, else a count


def _describe_fd(fd):
    if not isinstance(fd, int) or fd < 0:
        return fd
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return fd


def _resolve_magic(argument):
    if isinstance(argument, str) and argument.startswith("/proc/self/fd/"):
        try:
            return os.readlink(argument)
        except OSError:
            return argument
    return argument


def _key(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


class FakeKernel:
    def __init__(self, monkeypatch):
        self.calls = []
        self.mount_table = {}
        self._failures = []
        self._real_statvfs = os.statvfs
        for name in dir(kernel):
            value = getattr(kernel, name)
            if name.startswith("_") or not callable(value) or name in PASS_THROUGH:
                continue
            if getattr(value, "__module__", None) != kernel.__name__:
                continue  # ffi/lib and anything imported into the module
            monkeypatch.setattr(kernel, name, self._recorder(name))
        monkeypatch.setattr(os, "statvfs", self._statvfs)

    # -- set-up ------------------------------------------------------------------------------

    def add_mount(self, path, flags=0, locked=False):
        """Declare that ``path`` is a mount point with mount(2) ``flags`` (e.g. a host mount a
        bind source lives on); ``locked`` makes its flags undroppable, as in a user namespace."""
        flags &= _PER_MOUNT_MASK
        self.mount_table[_key(path)] = MountPoint(path, flags, flags if locked else 0)

    def fail(self, name, error_number, when=None, times=None):
        """Make calls of ``name`` (for which ``when(call)`` is true) raise OSError(error_number);
        ``times`` limits how many calls fail."""
        self._failures.append(_Failure(name, error_number, when, times))

    # -- inspection --------------------------------------------------------------------------

    def called(self, name):
        return [call.args for call in self.calls if call.name == name]

    def flags_at(self, path):
        """The mount(2) flags of the mount at ``path`` (None if the fake has none there)."""
        point = self.mount_table.get(_key(path))
        return None if point is None else point.flags

    # -- the fake system calls ---------------------------------------------------------------

    def _recorder(self, name):
        positions = FD_ARGUMENTS.get(name, ())

        def fake(*args):
            recorded = tuple(_describe_fd(a) if i in positions else _resolve_magic(a)
                             for i, a in enumerate(args))
            call = Call(name, recorded)
            self.calls.append(call)
            self._maybe_fail(call)
            if name == "mount":
                self._mount(*args)
            elif name in ("prctl", "personality"):
                return 0
            elif name == "capget":
                return (0, 0, 0)
            elif name == "open_tree":
                # A detached copy of the tree is an O_PATH fd to the kernel's callers; the fake
                # hands out one of the path itself (relative to dirfd, "" = dirfd).
                dirfd, path = args[0], args[1]
                return os.open(path or ".", os.O_PATH | os.O_CLOEXEC, dir_fd=dirfd)
            return None

        fake.__name__ = name
        return fake

    def _maybe_fail(self, call):
        for index, failure in enumerate(self._failures):
            if failure.name != call.name or (failure.when and not failure.when(call)):
                continue
            if failure.remaining is not None:
                if failure.remaining <= 0:
                    continue
                self._failures[index] = failure._replace(remaining=failure.remaining - 1)
            target = call.args[1] if call.name == "mount" else call.name
            raise OSError(failure.errno, os.strerror(failure.errno), target)

    def _mount(self, source, target, fstype, flags=0, data=None):
        target_key = _key(target)
        if target_key is None:
            raise OSError(errno_codes.ENOENT, os.strerror(errno_codes.ENOENT), target)
        if flags & kernel.MS_REMOUNT:
            point = self.mount_table.get(target_key)
            if point is None:
                raise OSError(errno_codes.EINVAL, "remount of a path that is not a mount point",
                              target)
            wanted = flags & _PER_MOUNT_MASK
            if point.locked & ~wanted:
                # fs/namespace.c can_change_locked_flags(): a locked flag cannot be cleared.
                raise OSError(errno_codes.EPERM, os.strerror(errno_codes.EPERM), target)
            self.mount_table[target_key] = point._replace(flags=wanted)
        elif flags & kernel.MS_BIND:
            origin = self._mount_containing(source)
            inherited = origin.flags if origin else 0
            locked = origin.locked if origin else 0
            self.mount_table[target_key] = MountPoint(_resolve_magic(target), inherited, locked)
        elif flags & (_PROPAGATION | kernel.MS_MOVE):
            if flags & _PROPAGATION and target_key not in self.mount_table and target != "/":
                raise OSError(errno_codes.EINVAL, "propagation change of a non-mount-point",
                              target)
        else:
            self.mount_table[target_key] = MountPoint(_resolve_magic(target),
                                                      flags & _PER_MOUNT_MASK, 0)

    def _mount_containing(self, path):
        """The declared mount that ``path`` is on: itself or its nearest declared ancestor."""
        path = os.path.realpath(_resolve_magic(path))
        while True:
            point = self.mount_table.get(_key(path))
            if point is not None:
                return point
            if path == "/":
                return None
            path = os.path.dirname(path)

    def _statvfs(self, path):
        real = self._real_statvfs(path)
        point = self._mount_containing(path)
        if point is None:
            return real
        flag = sum(st for ms, st in PER_MOUNT_FLAGS if point.flags & ms)
        return os.statvfs_result((*real[:8], flag, real[9]))
