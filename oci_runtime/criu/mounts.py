"""The container's mounts as CRIU must be told about them.

CRIU dumps and restores the mounts a container made itself (proc, sysfs, tmpfs with their
contents, devpts, mqueue, binds between them such as the masked paths' /dev/null).  A mount whose
source is the host's cannot be in an image: it is *external*, dumped under a key (runc's: the
mount point inside the container) and bound again at restore from the host path given for that
key.  These are, as runc has them: bind mounts, the cgroup v1 hierarchies a v1 or hybrid host binds
in when the container has no cgroup namespace, and devices bound from the host (a container in a
user namespace cannot mknod).
"""
from oci_runtime.rootfs.inside import resolve_in_root

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from oci_runtime.cgroups.base import CgroupManager
    from oci_runtime.config.model import Config, Mount


def is_bind(mount: "Mount") -> bool:
    return mount.type == "bind" or "bind" in mount.options or "rbind" in mount.options


def external_mounts(config: "Config", cgroup: "CgroupManager | None") -> "list[tuple[str, str]]":
    """(key, host source) of every external mount, in the config's order; the key is the mount
    point inside the container with its symlinks resolved in the rootfs (what mountinfo shows,
    and what CRIU matches)."""
    root = config.root_path
    found: "list[tuple[str, str]]" = []
    for mount in config.mounts:
        if is_bind(mount):
            found.append((resolve_in_root(root, mount.destination), mount.source))
        elif mount.type in ("cgroup", "cgroup2") and not config.linux.has_new("cgroup"):
            from oci_runtime.cgroups.hierarchy import container_cgroup_mounts

            hierarchies = container_cgroup_mounts(cgroup)
            if hierarchies is None:
                continue  # pure cgroup v2: one real cgroup2 mount, which CRIU restores itself
            base = resolve_in_root(root, mount.destination).rstrip("/")
            found.extend((f"{base}/{name}", host_path) for name, _, _, host_path in hierarchies)
    dev_is_host_bind = any(m.destination == "/dev" and is_bind(m) for m in config.mounts)
    if not dev_is_host_bind:
        from oci_runtime.kernel.files import running_in_user_namespace
        from oci_runtime.rootfs.userns_devices import device_plan

        if config.linux.in_user_namespace(running_in_user_namespace()):
            found.extend((device["path"], device["bindSource"])
                         for device in device_plan(config.linux.devices, _mode_and_rdev)
                         if "bindSource" in device)
    return found


def _mode_and_rdev(path: str) -> "tuple[int, int] | None":
    import os

    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_mode, found.st_rdev
