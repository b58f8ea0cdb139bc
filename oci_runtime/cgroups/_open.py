"""The package-level API's implementation (kept out of __init__ so importing the package is
cheap): detect the mode, resolve cgroupsPath into a manager, rebuild a manager from saved state."""
import os

from oci_runtime.errors import OCIError

from .fields import CGROUPS_PATH
from .hierarchy import DEFAULT_ROOT, Mounts, clean_path, own_cgroups, relative_to_mount

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .base import CgroupManager
    from .v1 import V1Manager
    from .v2 import V2Manager


def detect_mode(root: str = DEFAULT_ROOT, *, mountinfo: str = "/proc/self/mountinfo") -> str:
    return Mounts(root, mountinfo).mode


def open_manager(cgroups_path: str | None, container_id: str, *, systemd: bool = False,
                 root: str = DEFAULT_ROOT, mountinfo: str = "/proc/self/mountinfo",
                 proc_cgroup: str = "/proc/self/cgroup") -> "CgroupManager":
    """Resolve cgroupsPath for this host and return the CgroupManager (nothing is created yet)."""
    mounts = Mounts(root, mountinfo)
    if not container_id or "/" in container_id:
        raise OCIError(f"invalid container id {container_id!r} for a cgroup name")
    if systemd:
        from .systemd import NOT_RUNNING, SystemdManager, expand_slice, parse_systemd_path, systemd_running
        if not systemd_running():
            raise OCIError(NOT_RUNNING)
        try:
            slice_name, unit = parse_systemd_path(cgroups_path, container_id)
            inner = expand_slice(slice_name)
        except ValueError as exc:
            raise OCIError(f"{CGROUPS_PATH}: {exc}") from None
        inner = os.path.join(inner, unit)
        return SystemdManager(slice_name, unit, _fs_manager(mounts, inner, proc_cgroup))
    if cgroups_path is not None and not isinstance(cgroups_path, str):
        raise OCIError(f"{CGROUPS_PATH}: expected a string, got {cgroups_path!r}")
    inner = clean_path(cgroups_path or "") or container_id
    return _fs_manager(mounts, inner, proc_cgroup)


def _fs_manager(mounts: Mounts, inner: str, proc_cgroup: str) -> "V1Manager | V2Manager":
    absolute = inner.startswith("/")
    own = {} if absolute else own_cgroups(proc_cgroup)
    if mounts.mode == "v2" and mounts.unified:
        from .v2 import V2Manager
        mnt, mroot = mounts.unified
        if absolute:
            path = os.path.normpath(os.path.join(mnt, inner.lstrip("/")))
        else:
            base = relative_to_mount(os.path.dirname(own.get("", "/")), mroot)
            path = os.path.normpath(os.path.join(mnt, base, inner))
        rel = os.path.relpath(path, mnt)
        return V2Manager(mnt, "/" + ("" if rel == "." else rel), path)
    from .v1 import V1Manager
    paths, mnts = {}, {}
    for ctrl, (mnt, mroot) in mounts.v1.items():
        mnts[ctrl] = mnt
        if absolute:
            paths[ctrl] = os.path.normpath(os.path.join(mnt, inner.lstrip("/")))
        else:
            base = relative_to_mount(own.get(ctrl, "/"), mroot)
            paths[ctrl] = os.path.normpath(os.path.join(mnt, base, inner))
    unified = umnt = None
    if mounts.unified:
        umnt, uroot = mounts.unified
        if absolute:
            unified = os.path.normpath(os.path.join(umnt, inner.lstrip("/")))
        else:
            unified = os.path.normpath(os.path.join(umnt, relative_to_mount(own.get("", "/"), uroot), inner))
    shown = inner if absolute else "(relative) " + inner
    return V1Manager(mounts.root, shown, paths, mnts, unified, umnt, mounts.mode)


def manager_from_dict(d: object) -> "CgroupManager":
    """Rebuild a manager from CgroupManager.to_dict() (no config.json and no mount scan needed)."""
    if not isinstance(d, dict) or "driver" not in d:
        raise OCIError(f"invalid saved cgroup state: {d!r}")
    if d["driver"] == "systemd":
        from .systemd import SystemdManager
        return SystemdManager.from_dict(d, _fs_manager_from_dict(d["fs"]))
    return _fs_manager_from_dict(d)


def _fs_manager_from_dict(d: "dict[str, Any]") -> "V1Manager | V2Manager":
    if d.get("mode") == "v2":
        from .v2 import V2Manager
        return V2Manager.from_dict(d)
    from .v1 import V1Manager
    return V1Manager.from_dict(d)
