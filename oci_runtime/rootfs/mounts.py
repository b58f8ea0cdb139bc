"""Building the container's filesystem view: config.json's mounts, in order, then pivot_root,
then maskedPaths / readonlyPaths / root.readonly.  Runs in the container's init, inside its mount
namespace, as root of its user namespace."""
import errno
import os
import stat

from oci_runtime import kernel
from oci_runtime.errors import OCIError
from oci_runtime.rootfs.mount_options import plan_mount_options
from oci_runtime.rootfs.paths import ensure_mountpoint, fd_path, open_in_root

# statvfs f_flag bits -> the mount(2) flags a bind remount must repeat: inside a user namespace
# the kernel refuses to drop (unlock) flags the mount already has.
_LOCKED_STATVFS_FLAGS = (
    (os.ST_NOSUID, kernel.MS_NOSUID),
    (os.ST_NODEV, kernel.MS_NODEV),
    (os.ST_NOEXEC, kernel.MS_NOEXEC),
    (os.ST_RDONLY, kernel.MS_RDONLY),
    (os.ST_NOATIME, kernel.MS_NOATIME),
    (os.ST_NODIRATIME, kernel.MS_NODIRATIME),
    (os.ST_RELATIME, kernel.MS_RELATIME),
)


def _flags_of_mount(path):
    current = os.statvfs(path).f_flag
    return sum(ms for st, ms in _LOCKED_STATVFS_FLAGS if current & st)


def _is_bind(mount, plan):
    return plan.is_bind or mount.type == "bind"


class MountContext:
    """What mounting needs beyond the mount entry itself."""

    def __init__(self, rootfs, new_network_ns, new_cgroup_ns, cgroup_mounts, mount_label):
        self.rootfs = rootfs
        self.new_network_ns = new_network_ns
        self.new_cgroup_ns = new_cgroup_ns
        # [(controller directory name under /sys/fs/cgroup, fstype, mount data, host path)]
        self.cgroup_mounts = cgroup_mounts
        self.mount_label = mount_label


def prepare_root(rootfs, propagation):
    """Make the rootfs a mount point of its own, private to this namespace."""
    kernel.mount(None, "/", None, propagation or (kernel.MS_SLAVE | kernel.MS_REC))
    _make_parent_mount_private(rootfs)
    kernel.mount(rootfs, rootfs, None, kernel.MS_BIND | kernel.MS_REC)


def _make_parent_mount_private(rootfs):
    # pivot_root refuses a new root whose parent mount is shared; rootfsPropagation=shared would
    # leave it so.  Find the mount that contains the rootfs (the longest mount point prefix).
    best = "/"
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split(" ", 5)[4].replace("\\040", " ")
            if (rootfs == point or rootfs.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
                best = point
    kernel.mount(None, best, None, kernel.MS_PRIVATE)


def mount_all(root_fd, mounts, context):
    for mount in mounts:
        try:
            mount_one(root_fd, mount, context)
        except OSError as exc:
            raise OCIError.from_os(
                f"config.json: {mount.pointer}: mounting {mount.source or mount.type!r} "
                f"on {mount.destination}", exc) from exc


def mount_one(root_fd, mount, context):
    plan = plan_mount_options(mount.options)
    if plan.idmap or mount.uid_mappings:
        # features reports mountExtensions.idmap disabled; the spec wants an error, not silence.
        raise OCIError(f"config.json: {mount.pointer}: idmapped mounts are not supported yet")
    if mount.type == "cgroup" or mount.type == "cgroup2":
        return _mount_cgroup(root_fd, mount, plan, context)
    if _is_bind(mount, plan):
        source_is_dir = stat.S_ISDIR(os.stat(mount.source).st_mode)
        target_fd = ensure_mountpoint(root_fd, mount.destination, source_is_dir)
        try:
            flags = kernel.MS_BIND | (plan.flags & kernel.MS_REC)
            kernel.mount(mount.source, fd_path(target_fd), None, flags)
        finally:
            os.close(target_fd)
        _finish_bind(root_fd, mount.destination, plan)
    else:
        target_fd = ensure_mountpoint(root_fd, mount.destination, True)
        try:
            copy_from = os.dup(target_fd) if plan.copy_up else None
            flags = plan.flags & ~kernel.MS_REMOUNT
            data = plan.data_string
            if context.mount_label and mount.type in ("tmpfs", "mqueue", "devpts"):
                label = f'context="{context.mount_label}"'
                data = f"{data},{label}" if data else label
            try:
                kernel.mount(mount.source or mount.type, fd_path(target_fd), mount.type, flags, data)
            except PermissionError:
                if mount.type != "sysfs" or context.new_network_ns:
                    raise
                # sysfs of a network namespace we do not own cannot be mounted: bind the host's
                # /sys as runc does, read-only if asked.
                kernel.mount("/sys", fd_path(target_fd), None, kernel.MS_BIND | kernel.MS_REC)
                _finish_bind(root_fd, mount.destination, plan)
                return
        finally:
            os.close(target_fd)
        if copy_from is not None:
            _copy_up(copy_from, root_fd, mount.destination)
    _apply_propagation_and_attrs(root_fd, mount.destination, plan)


def _finish_bind(root_fd, destination, plan):
    """A bind mount ignores flags other than MS_REC; a second remount applies them."""
    wanted = plan.flags & ~(kernel.MS_BIND | kernel.MS_REC | kernel.MS_REMOUNT)
    if wanted or plan.cleared:
        _remount_bind(root_fd, destination, wanted, plan.cleared)


def _remount_bind(root_fd, destination, flags, cleared=0):
    """Remount the bind mount at ``destination`` with ``flags``, keeping the flags it has (in a
    user namespace the kernel refuses to drop locked ones) except ``cleared``."""
    # Reopen: an fd taken before mounting names the directory underneath the new mount.
    fd = open_in_root(root_fd, destination)
    try:
        keep = _flags_of_mount(fd_path(fd)) & ~cleared
        kernel.mount(None, fd_path(fd), None, kernel.MS_BIND | kernel.MS_REMOUNT | flags | keep)
    finally:
        os.close(fd)


def _apply_propagation_and_attrs(root_fd, destination, plan):
    if not (plan.propagation or plan.attr_set or plan.attr_clr):
        return
    fd = open_in_root(root_fd, destination)
    try:
        for propagation in plan.propagation:
            kernel.mount(None, fd_path(fd), None, propagation)
        if plan.attr_set or plan.attr_clr:
            kernel.mount_setattr(fd, "", kernel.AT_EMPTY_PATH | kernel.AT_RECURSIVE,
                                 plan.attr_set, plan.attr_clr)
    finally:
        os.close(fd)


def _copy_up(source_fd, root_fd, destination):
    import shutil

    try:
        target_fd = open_in_root(root_fd, destination)
        try:
            shutil.copytree(fd_path(source_fd), fd_path(target_fd), symlinks=True,
                            dirs_exist_ok=True)
        finally:
            os.close(target_fd)
    finally:
        os.close(source_fd)


def _mount_cgroup(root_fd, mount, plan, context):
    """cgroup mounts: cgroup2 as one filesystem; on v1/hybrid hosts a tmpfs with one mount per
    controller, as runc does.  Without a cgroup namespace, on v1/hybrid the container's own cgroup
    directories are bind-mounted, so the container cannot see its siblings; on v2 cgroup2 is
    mounted all the same (the host's hierarchy, as runc does: `docker --cgroupns=host` relies on it)."""
    flags = plan.flags & ~kernel.MS_REMOUNT
    target_fd = ensure_mountpoint(root_fd, mount.destination, True)
    try:
        if context.cgroup_mounts is None:  # pure v2
            try:
                kernel.mount("cgroup2", fd_path(target_fd), "cgroup2", flags)
            except OSError as exc:
                if context.new_cgroup_ns or exc.errno not in (errno.EPERM, errno.EBUSY):
                    raise
                # A user namespace without its own cgroup namespace may not mount cgroup2:
                # bind the host's hierarchy instead (runc's fallback).
                kernel.mount("/sys/fs/cgroup", fd_path(target_fd), None, kernel.MS_BIND)
                _finish_bind(root_fd, mount.destination, plan)
        else:
            kernel.mount("tmpfs", fd_path(target_fd), "tmpfs",
                         kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC, "mode=755")
    finally:
        os.close(target_fd)
    if context.cgroup_mounts is None:
        return
    for name, fstype, data, host_path in context.cgroup_mounts:
        sub = mount.destination.rstrip("/") + "/" + name
        sub_fd = ensure_mountpoint(root_fd, sub, True)
        try:
            if context.new_cgroup_ns:
                kernel.mount("cgroup", fd_path(sub_fd), fstype, flags, data)
            else:
                kernel.mount(host_path, fd_path(sub_fd), None, kernel.MS_BIND | kernel.MS_REC)
        finally:
            os.close(sub_fd)
        if not context.new_cgroup_ns:
            _finish_bind(root_fd, sub, plan)  # reopens: sub_fd names the directory underneath
    if flags & kernel.MS_RDONLY:
        fd = open_in_root(root_fd, mount.destination)
        try:
            kernel.mount(None, fd_path(fd), None,
                         kernel.MS_REMOUNT | kernel.MS_BIND | kernel.MS_RDONLY |
                         _flags_of_mount(fd_path(fd)))
        finally:
            os.close(fd)


def pivot_into(rootfs):
    """pivot_root without a put_old directory, the way runc does: stack the old root under the
    new one, then detach it.  Leaves the cwd at the new /."""
    old_root = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new_root = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new_root)
        kernel.pivot_root(".", ".")
        os.fchdir(old_root)
        # The old root must not propagate our unmount back to the host.
        kernel.mount(None, ".", None, kernel.MS_SLAVE | kernel.MS_REC)
        kernel.umount2(".", kernel.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old_root)
        os.close(new_root)


def move_into(rootfs):
    """--no-pivot: move the rootfs over / and chroot (for ramdisk roots where pivot_root fails)."""
    os.chdir(rootfs)
    kernel.mount(rootfs, "/", None, kernel.MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def _existing_paths(root_fd, paths):
    """(path, O_PATH fd) for each of ``paths`` present in the root; the caller owns nothing:
    each fd is closed when the next is taken.  maskedPaths/readonlyPaths skip absent ones."""
    for path in paths:
        try:
            fd = open_in_root(root_fd, path)
        except FileNotFoundError:
            continue
        try:
            yield path, fd
        finally:
            os.close(fd)


def mask_paths(root_fd, paths):
    """maskedPaths: /dev/null over files, an empty read-only tmpfs over directories."""
    for path, fd in _existing_paths(root_fd, paths):
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                kernel.mount("tmpfs", fd_path(fd), "tmpfs", kernel.MS_RDONLY, None)
            else:
                kernel.mount("/dev/null", fd_path(fd), None, kernel.MS_BIND)
        except OSError as exc:
            raise OCIError.from_os(f"config.json: /linux/maskedPaths: masking {path}", exc) from exc


def make_readonly(root_fd, paths):
    """readonlyPaths: each bound onto itself, then remounted read-only."""
    for path, fd in _existing_paths(root_fd, paths):
        try:
            kernel.mount(fd_path(fd), fd_path(fd), None, kernel.MS_BIND | kernel.MS_REC)
            _remount_bind(root_fd, path, kernel.MS_RDONLY)
        except OSError as exc:
            raise OCIError.from_os(f"config.json: /linux/readonlyPaths: {path}", exc) from exc


def make_root_readonly():
    try:
        kernel.mount(None, "/", None,
                     kernel.MS_BIND | kernel.MS_REMOUNT | kernel.MS_RDONLY | _flags_of_mount("/"))
    except OSError as exc:
        raise OCIError.from_os("config.json: /root/readonly: remounting / read-only", exc) from exc

