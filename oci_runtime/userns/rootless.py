"""Rootless mode: the runtime runs without the host's root privileges.

Set with the global `--rootless true|false|auto` (runc's option); `auto`, the default, means
rootless when the caller's euid is not 0, or when it runs in a user namespace that is not the
host's (root there has no privilege over the host's cgroups).  What it changes:

* cgroups (``rootless_cgroup``): a cgroup is used only where the caller may write (a subtree
  delegated to it, as systemd does for user sessions); without one, no cgroup is made when the
  config asks for no resources, and create fails naming the field when it does;
* the state root defaults to $XDG_RUNTIME_DIR/oci-runtime (``state.default_root``);
* id maps the caller may not write itself go through newuidmap/newgidmap (``oci_runtime.userns.idmap``,
  chosen by capability, whatever the mode).
"""
import os

from oci_runtime.errors import OCIError
from oci_runtime.kernel.files import running_in_user_namespace

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any

    from oci_runtime.cgroups.base import CgroupManager


def is_rootless(setting: bool | None = None) -> bool:
    """``setting``: --rootless as True or False, or None (auto: detect)."""
    if setting is not None:
        return setting
    return os.geteuid() != 0 or running_in_user_namespace()


def resources_requested(resources: "dict[str, Any] | None") -> str | None:
    """The first linux.resources field the config sets, as a JSON pointer, or None.  Device
    rules do not count: without a cgroup there is no device controller, and in a user namespace
    device access is what the bound device nodes allow (runc ignores them alike)."""
    for key in sorted(resources or {}):
        if key == "devices":
            continue
        value = resources[key]  # type: ignore[index]  # not None: it has keys
        if isinstance(value, dict):
            for sub in sorted(value):
                if value[sub] not in (None, [], {}, ""):
                    return f"/linux/resources/{key}/{sub}"
        elif value not in (None, [], {}, ""):
            return f"/linux/resources/{key}"
    return None


def cgroup_writable(manager: "CgroupManager") -> bool:
    """Whether the caller may make the manager's cgroup: each directory it would create has a
    nearest existing ancestor the caller can write to (a delegated subtree), or exists already
    and is the caller's to move processes into."""
    paths = _manager_paths(manager)
    return bool(paths) and all(_can_create(path) for path in paths)


def _manager_paths(manager: "CgroupManager") -> "list[str]":
    return list(manager.directories().values())


def _can_create(path: str) -> bool:
    if os.path.isdir(path):
        return os.access(f"{path}/cgroup.procs", os.W_OK)
    parent = os.path.dirname(path)
    while parent != "/" and not os.path.isdir(parent):
        parent = os.path.dirname(parent)
    return os.access(parent, os.W_OK | os.X_OK)


def rootless_cgroup(manager: "CgroupManager", resources: "dict[str, Any] | None",
                    systemd: bool = False) -> "CgroupManager | None":
    """The manager to use in rootless mode: ``manager`` itself when its cgroup is the caller's to
    make, else None (no cgroup) when no resources are asked for; else OCIError naming the
    first field asked for."""
    if systemd or cgroup_writable(manager):
        return manager
    field = resources_requested(resources)
    if field is None:
        return None
    where = ", ".join(_manager_paths(manager)[:1]) or "the cgroup"
    raise OCIError(f"config.json: {field}: rootless container: cannot set resource limits "
                   f"without a cgroup delegated to uid {os.geteuid()} ({where} cannot be "
                   "created by this user); remove linux.resources or run with a delegated "
                   "cgroup (systemd: --systemd-cgroup in a user session)")
