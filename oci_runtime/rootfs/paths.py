"""Resolving paths inside a container's root filesystem without ever leaving it.

An image is untrusted: `/etc/resolv.conf` may be a symlink to `/../../host/etc/shadow`.  Every path
the runtime touches inside the rootfs is opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
relative to an fd of the rootfs, so symlinks resolve as if the rootfs were `/`, and the runtime then
acts on the resulting fd (mounting onto `/proc/self/fd/N`), never on a path re-resolved later.
"""
import os
import stat

from oci_runtime import kernel

_IN_ROOT = kernel.RESOLVE_IN_ROOT | kernel.RESOLVE_NO_MAGICLINKS
O_PATH = os.O_PATH


def fd_path(fd):
    """The magic link that names exactly what ``fd`` refers to, for calls that take a path."""
    return f"/proc/self/fd/{fd}"


def open_in_root(root_fd, path, flags=O_PATH):
    """Open ``path`` (absolute or relative) as seen from ``root_fd``; raises OSError."""
    return kernel.openat2(root_fd, path.lstrip("/") or ".", flags, 0, _IN_ROOT)


def _split(path):
    return [part for part in path.split("/") if part and part != "."]


_MAX_SYMLINKS = 40  # as the kernel's own limit on nested links


def make_dirs_in_root(root_fd, path, mode=0o755, _depth=0):
    """mkdir -p inside the root; returns an O_PATH fd of the final directory.  A symlink on the
    way that points nowhere yet is followed as if the root were `/`: its target is created
    inside the root, never outside."""
    if _depth > _MAX_SYMLINKS:
        raise OSError(40, os.strerror(40), path)  # ELOOP
    current = os.dup(root_fd)
    try:
        walked = ""
        for part in _split(path):
            if part == "..":
                # RESOLVE_IN_ROOT clamps '..' at the root; resolve the prefix afresh to honour it.
                walked = walked + "/.."
                next_fd = open_in_root(root_fd, walked, O_PATH | os.O_DIRECTORY)
            else:
                walked = walked + "/" + part
                try:
                    next_fd = open_in_root(root_fd, walked, O_PATH | os.O_DIRECTORY)
                except FileNotFoundError:
                    try:
                        os.mkdir(part, mode, dir_fd=current)
                        next_fd = open_in_root(root_fd, walked, O_PATH | os.O_DIRECTORY)
                    except FileExistsError:
                        # A dangling symlink: create what it points to, resolved in the root.
                        target = os.readlink(part, dir_fd=current)
                        parent = walked.rsplit("/", 1)[0]
                        resolved = target if target.startswith("/") else f"{parent}/{target}"
                        os.close(make_dirs_in_root(root_fd, resolved, mode, _depth + 1))
                        next_fd = open_in_root(root_fd, walked, O_PATH | os.O_DIRECTORY)
            os.close(current)
            current = next_fd
        return current
    except BaseException:
        os.close(current)
        raise


def make_file_in_root(root_fd, path, mode=0o644):
    """Create an empty file at ``path`` (parents too) unless something is there; returns an
    O_PATH fd of what is at the path afterwards."""
    parent, _, name = path.rstrip("/").rpartition("/")
    parent_fd = make_dirs_in_root(root_fd, parent)
    try:
        try:
            fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                         mode, dir_fd=parent_fd)
            os.close(fd)
        except FileExistsError:
            pass
        return open_in_root(root_fd, path)
    finally:
        os.close(parent_fd)


def ensure_mountpoint(root_fd, path, directory):
    """An O_PATH fd for a mount destination, creating a directory or file as needed."""
    try:
        fd = open_in_root(root_fd, path)
    except FileNotFoundError:
        return make_dirs_in_root(root_fd, path) if directory else make_file_in_root(root_fd, path)
    if directory != stat.S_ISDIR(os.fstat(fd).st_mode):
        # Mounting a file on a directory (or the reverse) fails with ENOTDIR; let the mount
        # report it with the destination named, as runc does.
        pass
    return fd
