"""Cgroup management for containers: one interface (CgroupManager), four implementations.

    open_manager(cgroups_path, container_id, *, systemd=False, root="/sys/fs/cgroup") -> CgroupManager
    manager_from_dict(d) -> CgroupManager          # rebuild from CgroupManager.to_dict() (saved state)
    detect_mode(root="/sys/fs/cgroup") -> "v1" | "v2" | "hybrid"

Implementations: V1Manager (cgroupfs v1, and hybrid = v1 controllers plus membership of the cgroup2
hierarchy, as runc does), V2Manager (cgroupfs v2), SystemdManager (transient unit over D-Bus, then
cgroupfs for the rest).  The mode is detected from the mount table (the mounts under ``root`` in
/proc/self/mountinfo), never assumed.

cgroupsPath resolution (runc-compatible, cgroupfs driver):
  * absolute "/a/b": relative to the root of every hierarchy (<mount>/a/b);
  * relative "a/b": cgroup v1 (and the unified part of hybrid) -> below the runtime's own cgroup for
    each controller (from /proc/self/cgroup); cgroup v2 -> below the *parent* of the runtime's own
    cgroup (the own one usually has processes, so it cannot have controllers for children);
  * absent: the relative path "<container_id>" (that is what runc does).
  '..' cannot escape upwards (runc CleanPath).
systemd driver: "slice:prefix:name" -> unit "prefix-name.scope" in "slice" (empty slice = system.slice,
a name ending in ".slice" makes a slice unit); absent -> "system.slice:oci-runtime:<id>" (runc uses
the prefix "runc").

Layout: base (the CgroupManager interface) <- v1, v2, systemd (the drivers) -> dispatch (the one
walk over the controllers) -> controllers/<name> (each controller's v1 and v2 writes, systemd
properties and statistics); below them fields (JSON pointers, value checks), files (cgroup file
I/O), hierarchy (mounts, /proc/self/cgroup, paths) and _bpf (the device filter's bpf(2) calls).

Importing this package is cheap: implementation modules load on first use.
"""
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .base import CgroupManager

DEFAULT_ROOT = "/sys/fs/cgroup"


def detect_mode(root: str = DEFAULT_ROOT, *, mountinfo: str = "/proc/self/mountinfo") -> str:
    """'v1', 'v2' or 'hybrid', from the cgroup mounts at/under root."""
    from ._open import detect_mode
    return detect_mode(root, mountinfo=mountinfo)


def open_manager(cgroups_path: str | None, container_id: str, *, systemd: bool = False,
                 root: str = DEFAULT_ROOT, mountinfo: str = "/proc/self/mountinfo",
                 proc_cgroup: str = "/proc/self/cgroup") -> "CgroupManager":
    """Resolve cgroupsPath for this host and return the CgroupManager (nothing is created yet)."""
    from ._open import open_manager
    return open_manager(cgroups_path, container_id, systemd=systemd, root=root, mountinfo=mountinfo,
                        proc_cgroup=proc_cgroup)


def manager_from_dict(d: object) -> "CgroupManager":
    """Rebuild a manager from CgroupManager.to_dict() (no config.json and no mount scan needed)."""
    from ._open import manager_from_dict
    return manager_from_dict(d)


def remove_empty(saved: object) -> bool:
    """Remove the cgroup of a stopped container from its saved record alone (CgroupManager.
    to_dict()): one rmdir per directory of its "directories", the ones create made, nothing
    imported or probed.  True once they are gone (or were); False, having removed what it
    could, when that is not enough: a directory still holds a process or a child cgroup
    (EBUSY), a systemd unit is to be stopped, the record predates the list.  Then the
    manager's remove_after_kill does the rest."""
    if not isinstance(saved, dict) or saved.get("driver") != "cgroupfs":
        return False
    directories = saved.get("directories")
    if not isinstance(directories, list):
        return False
    from oci_runtime.kernel.hotpath import rmdir

    for directory in directories:
        try:
            rmdir(directory)
        except FileNotFoundError:
            pass
        except OSError:
            return False
    return True


def __getattr__(name: str) -> type:
    if name == "CgroupManager":
        from .base import CgroupManager
        return CgroupManager
    if name == "V1Manager":
        from .v1 import V1Manager
        return V1Manager
    if name == "V2Manager":
        from .v2 import V2Manager
        return V2Manager
    if name == "SystemdManager":
        from .systemd import SystemdManager
        return SystemdManager
    raise AttributeError(name)


__all__ = ["open_manager", "manager_from_dict", "detect_mode", "remove_empty", "CgroupManager",
           "DEFAULT_ROOT"]
