"""Paths inside a rootfs, resolved and made from the runtime's side without ever leaving it.

The executor resolves paths with openat2(RESOLVE_IN_ROOT) in C; CRIU's restore needs a few of
the same answers from Python before any process exists: which path a mount destination really
names (its symlinks followed inside the rootfs, as the executor mounted it) and a mount point
that is missing from a rootfs restored elsewhere (runc's prepareCriuRestoreMounts).  Symlinks are
read, never followed by the kernel: every component is opened with O_NOFOLLOW relative to its
parent's fd, so a link pointing out of the rootfs ("../../etc", "/etc") stays inside it.
"""
import errno
import os
import stat

from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

_MAX_LINKS = 40  # as the kernel's MAXSYMLINKS


def under_any(path: str, mounts: "Sequence[str]") -> bool:
    """Whether container path ``path`` is one of ``mounts`` (no trailing "/") or below one."""
    return any(path == mount or path.startswith(mount + "/") for mount in mounts)


def resolve_in_root(root: str, path: str, stop_under: "Sequence[str]" = ()) -> str:
    """``path`` (absolute, inside the container) with every symlink that exists in ``root``
    followed as the container would see it: "/" is ``root``, ".." stops there.  Components that
    do not exist are kept as they are.  Once the path reached is one of ``stop_under`` (mount
    destinations, without a trailing "/") or below one, the rest is kept as it is: what lies
    there is the mount's, not the rootfs's."""
    pending = [part for part in path.split("/") if part]
    resolved: "list[str]" = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        inside = "/" + "/".join(resolved + [part])
        if under_any(inside, stop_under):
            return "/".join([inside] + pending)
        candidate = root + "/" + "/".join(resolved + [part])
        try:
            is_link = stat.S_ISLNK(os.lstat(candidate).st_mode)
        except OSError:
            is_link = False
        if not is_link:
            resolved.append(part)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OCIError(f"{path}: too many levels of symbolic links in {root}")
        target = os.readlink(candidate)
        if target.startswith("/"):
            resolved = []
        pending = [p for p in target.split("/") if p] + pending
    return "/" + "/".join(resolved)


def make_mountpoint(root: str, path: str, is_file: bool) -> bool:
    """Create ``path`` (resolved, inside ``root``) as a directory, or an empty file when
    ``is_file``, with any missing parents (0755).  True if anything was made."""
    parts = [part for part in resolve_in_root(root, path).split("/") if part]
    made = False
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last and is_file:
                try:
                    os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                                     | os.O_CLOEXEC, 0o644, dir_fd=fd))
                    made = True
                except FileExistsError:
                    pass
                break
            try:
                os.mkdir(part, 0o755, dir_fd=fd)
                made = True
            except FileExistsError:
                pass
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                            dir_fd=fd)
            os.close(fd)
            fd = child
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OCIError(f"creating mount point {path} in {root}: a symbolic link replaced "
                           "a directory while it was made") from None
        raise OCIError.from_os(f"creating mount point {path} in {root}", exc) from None
    finally:
        os.close(fd)
    return made
