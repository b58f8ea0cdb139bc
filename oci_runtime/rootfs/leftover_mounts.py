"""The mounts a container without a mount namespace leaves on the host, removed at `delete`.

config-linux.md: a namespace type not listed is inherited from the runtime.  A container without
a `mount` namespace therefore mounts in the runtime's own mount namespace (its init chroots into
the rootfs instead of pivot_root), and every mount it makes under its rootfs (/proc, /dev, binds,
the masked and read-only paths...) outlives it on the host; runc leaks them.

`create` records which mounts were at or under the rootfs before the init made any
(``mounts_before``: their mount ids; the caller's own, such as podman's overlay at the rootfs,
are among them); `delete` detaches every other one (``remove_container_mounts``), deepest first,
lazily (MNT_DETACH: a process still using one does not keep delete from finishing) and without
following a symlink the container may have put in place of a mount point (UMOUNT_NOFOLLOW).
A mount id of the record that was unmounted meanwhile and reused by a container mount keeps
that mount: the error is on the side of leaving a mount, never of removing the caller's.
"""
from oci_runtime.errors import OCIError
from oci_runtime.kernel import mountinfo as mountinfo_table

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_EINVAL, _ENOENT = 22, 2


def mounts_under(rootfs: str, mountinfo: str = "/proc/self/mountinfo"
                 ) -> "list[tuple[int, str]]":
    """[(mount id, mount point)] of the mounts at or under ``rootfs``, in mountinfo order (a
    mount's parent comes before it)."""
    prefix = rootfs.rstrip("/") + "/"
    try:
        mounts = mountinfo_table.entries(mountinfo)
    except OSError as exc:
        raise OCIError.from_os(f"reading {mountinfo} for the mounts under {rootfs}", exc) from exc
    return [(entry.mount_id, entry.mount_point) for entry in mounts
            if entry.mount_point == rootfs.rstrip("/") or entry.mount_point.startswith(prefix)]


def mounts_before(rootfs: str) -> "list[int]":
    """The ids of the mounts at or under ``rootfs`` now: create records them before the init
    of a container without a mount namespace mounts anything."""
    return sorted(mount_id for mount_id, _ in mounts_under(rootfs))


def remove_container_mounts(rootfs: str, kept_ids: "Iterable[int]",
                            warn: "Callable[[str], None] | None" = None) -> "list[str]":
    """Detach every mount at or under ``rootfs`` whose id is not in ``kept_ids``, deepest first
    (for mounts stacked on one point, the last made first).  Returns the mount points detached;
    a failure other than "already gone" is reported through ``warn``, and the rest still go."""

    from oci_runtime.kernel import syscalls as kernel

    kept = set(kept_ids)
    leftovers = [(point.count("/"), order, point)
                 for order, (mount_id, point) in enumerate(mounts_under(rootfs))
                 if mount_id not in kept]
    removed: "list[str]" = []
    for _, _, point in sorted(leftovers, reverse=True):
        try:
            kernel.umount2(point, kernel.MNT_DETACH | kernel.UMOUNT_NOFOLLOW)
            removed.append(point)
        except OSError as exc:
            if exc.errno in (_EINVAL, _ENOENT):
                continue  # went with a mount detached before it
            if warn is not None:
                warn(f"delete: unmounting {point} left by the container: {exc.strerror}")
    return removed
