"""Idmapped bind mounts (mounts[].uidMappings/gidMappings, the idmap/ridmap options): the
runtime's side.  For each such mount the runtime, when it launches the executor, makes a detached
copy of the source (open_tree(OPEN_TREE_CLONE)) and idmaps it (mount_setattr(MOUNT_ATTR_IDMAP))
with a user namespace made for the mapping; the executor only moves the detached mount onto its
resolved destination (OP_MOVE_MOUNT).  Nothing of it is attached on the host: if create fails,
the fds close and the copies vanish.

The mapping: the mount's uidMappings/gidMappings; else the option's argument as crun takes it,
`idmap=uids=0-100000-65536#...;gids=...` (each range containerID-hostID-size); else the
container's own user namespace mappings.  A file owned on disk by containerID+i shows as
hostID+i through the mount (as the kernel applies a user namespace's map to an idmapped mount).
"""
import os

from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from oci_runtime.config.model import Linux, Mount
    from oci_runtime.rootfs.mount_options import MountPlan
    from oci_runtime.userns.idmap import IdMapping

_AT_FDCWD = -100


def idmap_supported() -> bool:
    """Whether this kernel has mount_setattr(2) (Linux 5.12): an invalid fd gives EBADF there,
    ENOSYS before (features reports mountExtensions.idmap from this)."""

    from oci_runtime.kernel import syscalls as kernel

    try:
        kernel.mount_setattr(-1, "", kernel.AT_EMPTY_PATH, 0, 0, 0, 0)
    except OSError as exc:
        return exc.errno != 38  # ENOSYS
    return True


def filesystem_supports_idmap(path: str) -> bool:
    """Whether a bind of ``path`` can be idmapped here: the kernel has mount_setattr and the
    filesystem holding ``path`` supports MOUNT_ATTR_IDMAP (tmpfs only since Linux 6.3, for
    instance); EINVAL from mount_setattr says it does not."""
    if not idmap_supported():
        return False

    from oci_runtime.kernel import syscalls as kernel

    userns_fd = make_user_namespace([{"containerID": 0, "hostID": 0, "size": 1}],
                                    [{"containerID": 0, "hostID": 0, "size": 1}], "probe")
    try:
        tree_fd = kernel.open_tree(_AT_FDCWD, path, kernel.OPEN_TREE_CLONE | kernel.OPEN_TREE_CLOEXEC)
        try:
            kernel.mount_setattr(tree_fd, "", kernel.AT_EMPTY_PATH, kernel.MOUNT_ATTR_IDMAP, 0, 0,
                                 userns_fd)
        except OSError as exc:
            if exc.errno == 22:  # EINVAL: the filesystem cannot be idmapped
                return False
            raise
        finally:
            os.close(tree_fd)
    finally:
        os.close(userns_fd)
    return True


def parse_option_argument(argument: str, pointer: str
                          ) -> "tuple[list[IdMapping], list[IdMapping]]":
    """crun's `uids=A-B-C#D-E-F;gids=...` -> (uid mappings, gid mappings)."""
    found: "dict[str, list[IdMapping]]" = {}
    for part in argument.split(";"):
        key, _, ranges = part.partition("=")
        if key not in ("uids", "gids") or not ranges or key in found:
            raise OCIError(f"config.json: {pointer}/options: idmap argument {argument!r}: "
                           "expected uids=CONTAINER-HOST-SIZE[#...];gids=CONTAINER-HOST-SIZE[#...]")
        mappings: "list[IdMapping]" = []
        for text in ranges.split("#"):
            fields = text.split("-")
            if len(fields) != 3 or not all(f.isdigit() for f in fields) or int(fields[2]) == 0:
                raise OCIError(f"config.json: {pointer}/options: idmap range {text!r}: expected "
                               "CONTAINER-HOST-SIZE (decimal, size > 0; '@' is not supported)")
            mappings.append({"containerID": int(fields[0]), "hostID": int(fields[1]),
                             "size": int(fields[2])})
        found[key] = mappings
    if set(found) != {"uids", "gids"}:
        raise OCIError(f"config.json: {pointer}/options: idmap argument {argument!r} needs both "
                       "uids= and gids=")
    return found["uids"], found["gids"]


def idmap_mappings(mount: "Mount", options: "MountPlan", linux: "Linux"
                   ) -> "tuple[Sequence[IdMapping], Sequence[IdMapping] | None]":
    """(uid mappings, gid mappings) of an idmapped mount; OCIError naming it when there are
    none or it is not a bind mount."""
    if not (options.is_bind or mount.type == "bind"):
        raise OCIError(f"config.json: {mount.pointer}: idmapped mounts are supported for "
                       "bind mounts only (add bind or rbind)")
    if mount.uid_mappings:
        return mount.uid_mappings, mount.gid_mappings
    if options.idmap_argument:
        return parse_option_argument(options.idmap_argument, mount.pointer)
    if linux.has_new("user") and linux.uid_mappings:
        return linux.uid_mappings, linux.gid_mappings
    # config.md: idmap without mappings and without a user namespace MUST be an error.
    raise OCIError(f"config.json: {mount.pointer}: idmap needs uidMappings and gidMappings, "
                   "on the mount or in a new user namespace of the container")


def idmapped_tree_opener(mount: "Mount", options: "MountPlan", linux: "Linux"
                         ) -> "tuple[str, Callable[[], int]]":
    """How to open the mount's detached, idmapped copy when the plan is launched: (what it is,
    a function returning the fd).  The plan compiler makes it an fd argument of the step that
    moves it onto the destination (plan/create.py)."""
    uid_mappings, gid_mappings = idmap_mappings(mount, options, linux)
    recursive_clone = options.is_recursive_bind or options.recursive_idmap

    def opener() -> int:
        userns_fd = make_user_namespace(uid_mappings, gid_mappings, mount.pointer)
        try:
            return _idmapped_copy(mount, recursive_clone, options.recursive_idmap, userns_fd)
        finally:
            os.close(userns_fd)
    return f"open_tree({mount.source}) idmapped", opener


def make_user_namespace(uid_mappings: "Sequence[IdMapping] | None",
                        gid_mappings: "Sequence[IdMapping] | None", pointer: str) -> int:
    """An fd of a new user namespace with these maps, held by nothing else (made by the
    executor, not a fork of the runtime: userns/holder.py)."""
    from oci_runtime.userns.holder import user_namespace_fd

    return user_namespace_fd(uid_mappings, gid_mappings, pointer)


def _idmapped_copy(mount: "Mount", recursive_clone: bool, recursive_idmap: bool,
                   userns_fd: int) -> int:

    from oci_runtime.kernel import syscalls as kernel

    flags = kernel.OPEN_TREE_CLONE | kernel.OPEN_TREE_CLOEXEC
    if recursive_clone:
        flags |= kernel.AT_RECURSIVE
    try:
        tree_fd = kernel.open_tree(_AT_FDCWD, mount.source, flags)
    except OSError as exc:
        raise OCIError.from_os(f"config.json: {mount.pointer}: opening {mount.source}",
                               exc) from exc
    try:
        kernel.mount_setattr(tree_fd, "", kernel.AT_EMPTY_PATH |
                             (kernel.AT_RECURSIVE if recursive_idmap else 0),
                             kernel.MOUNT_ATTR_IDMAP, 0, 0, userns_fd)
    except OSError as exc:
        os.close(tree_fd)
        raise OCIError.from_os(f"config.json: {mount.pointer}: idmapping {mount.source} "
                               "(the filesystem must support idmapped mounts, and the caller "
                               "must own the mount's user namespace)", exc) from exc
    return tree_fd
