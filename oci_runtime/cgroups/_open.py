"""Implementation of the package-level API (kept out of __init__ so importing the package is cheap)."""

DEFAULT_ROOT = "/sys/fs/cgroup"


def detect_mode(root=DEFAULT_ROOT, *, mountinfo="/proc/self/mountinfo"):
    from ._util import Mounts
    return Mounts(root, mountinfo).mode


def open_manager(cgroups_path, container_id, *, systemd=False, root=DEFAULT_ROOT,
                 mountinfo="/proc/self/mountinfo", proc_cgroup="/proc/self/cgroup"):
    """Resolve cgroupsPath for this host and return the CgroupManager (nothing is created yet)."""
    import os

    from oci_runtime.errors import OCIError

    from . import _util
    mounts = _util.Mounts(root, mountinfo)
    if not container_id or "/" in container_id:
        raise OCIError(f"invalid container id {container_id!r} for a cgroup name")
    if systemd:
        from . import convert
        from .systemd import NOT_RUNNING, SystemdManager, systemd_running
        if not systemd_running():
            raise OCIError(NOT_RUNNING)
        try:
            slice_name, unit = convert.parse_systemd_path(cgroups_path, container_id)
            inner = convert.expand_slice(slice_name)
        except ValueError as exc:
            raise OCIError(f"linux.cgroupsPath: {exc}") from None
        inner = os.path.join(inner, unit)
        return SystemdManager(slice_name, unit, _fs_manager(mounts, inner, proc_cgroup))
    if cgroups_path is not None and not isinstance(cgroups_path, str):
        raise OCIError(f"linux.cgroupsPath: expected a string, got {cgroups_path!r}")
    inner = _util.clean_path(cgroups_path or "") or container_id
    return _fs_manager(mounts, inner, proc_cgroup)


def _own(proc_cgroup):
    from oci_runtime.errors import OCIError

    from . import _util
    try:
        return _util.parse_proc_cgroup(_util.read_text(proc_cgroup))
    except OSError as exc:
        raise OCIError.from_os(f"reading {proc_cgroup}", exc) from exc


def _rel_to_mount(own_path, mount_root):
    import os
    rel = os.path.relpath(own_path or "/", mount_root or "/")
    if rel == "." or rel.startswith(".."):
        return ""
    return rel


def _fs_manager(mounts, inner, proc_cgroup):
    import os
    from .v1 import V1Manager
    from .v2 import V2Manager
    absolute = inner.startswith("/")
    own = None if absolute else _own(proc_cgroup)
    if mounts.mode == "v2":
        mnt, mroot = mounts.unified
        if absolute:
            path = os.path.normpath(os.path.join(mnt, inner.lstrip("/")))
        else:
            base = _rel_to_mount(os.path.dirname(own.get("", "/")), mroot)
            path = os.path.normpath(os.path.join(mnt, base, inner))
        rel = os.path.relpath(path, mnt)
        return V2Manager(mnt, "/" + ("" if rel == "." else rel), path)
    paths, mnts = {}, {}
    for ctrl, (mnt, mroot) in mounts.v1.items():
        mnts[ctrl] = mnt
        if absolute:
            paths[ctrl] = os.path.normpath(os.path.join(mnt, inner.lstrip("/")))
        else:
            base = _rel_to_mount(own.get(ctrl, "/"), mroot)
            paths[ctrl] = os.path.normpath(os.path.join(mnt, base, inner))
    unified = umnt = None
    if mounts.unified:
        umnt, uroot = mounts.unified
        if absolute:
            unified = os.path.normpath(os.path.join(umnt, inner.lstrip("/")))
        else:
            unified = os.path.normpath(os.path.join(umnt, _rel_to_mount(own.get("", "/"), uroot), inner))
    shown = inner if absolute else "(relative) " + inner
    return V1Manager(mounts.root, shown, paths, mnts, unified, umnt, mounts.mode)


def manager_from_dict(d):
    """Rebuild a manager from CgroupManager.to_dict() (no config.json and no mount scan needed)."""
    from oci_runtime.errors import OCIError
    if not isinstance(d, dict) or "driver" not in d:
        raise OCIError(f"invalid saved cgroup state: {d!r}")
    if d["driver"] == "systemd":
        from .systemd import SystemdManager
        return SystemdManager.from_dict(d)
    if d.get("mode") == "v2":
        from .v2 import V2Manager
        return V2Manager.from_dict(d)
    from .v1 import V1Manager
    return V1Manager.from_dict(d)
