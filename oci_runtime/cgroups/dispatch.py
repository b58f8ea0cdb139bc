"""The one walk over the controllers (oci_runtime.cgroups.controllers): which member of
``linux.resources`` each applies, in which order, for cgroup v1 (and hybrid), cgroup v2 and the
systemd driver's unit properties; and the statistics each reports.  A controller module is
imported the first time a config uses it, so create loads only its config's controllers."""
from oci_runtime.errors import OCIError

from .fields import RESOURCES, section

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from types import ModuleType

    from .base import CgroupManager

# (linux.resources member, its JSON type, controller): applied in this order (runc's: cpuset
# before memory and cpu, devices early).  The cpu member is read by two controllers.
APPLY_ORDER = (
    ("cpu", dict, "cpuset"),
    ("devices", list, "devices"),
    ("memory", dict, "memory"),
    ("cpu", dict, "cpu"),
    ("pids", dict, "pids"),
    ("blockIO", dict, "blkio"),
    ("hugepageLimits", list, "hugetlb"),
    ("network", dict, "network"),
    ("rdma", dict, "rdma"),
    ("unified", dict, "unified"),
)
# The sections of runc's `events --stats` data, in its order.
STATS_ORDER = ("cpu", "cpuset", "memory", "pids", "blkio", "hugetlb")
# The controllers systemd has unit properties for, in the order runc lists them.
SYSTEMD_ORDER = (("memory", "memory"), ("cpu", "cpu"), ("pids", "pids"), ("cpu", "cpuset"),
                 ("blockIO", "blkio"))


def controller(name: str) -> "ModuleType":
    """The controller module ``name``, imported on first use (each import is spelled out, so
    the import-graph test sees every edge)."""
    if name == "cpuset":
        from .controllers import cpuset
        return cpuset
    if name == "devices":
        from .controllers import devices
        return devices
    if name == "memory":
        from .controllers import memory
        return memory
    if name == "cpu":
        from .controllers import cpu
        return cpu
    if name == "pids":
        from .controllers import pids
        return pids
    if name == "blkio":
        from .controllers import blkio
        return blkio
    if name == "hugetlb":
        from .controllers import hugetlb
        return hugetlb
    if name == "network":
        from .controllers import network
        return network
    if name == "rdma":
        from .controllers import rdma
        return rdma
    if name == "unified":
        from .controllers import unified
        return unified
    raise KeyError(name)


def _used(resources: "dict[str, Any]") -> "Iterator[tuple[ModuleType, Any]]":
    """(controller module, its member of ``resources``) in APPLY_ORDER.  An absent member is
    skipped, and so is an empty one, except devices (an empty rule list still replaces the
    rules)."""
    if not isinstance(resources, dict):
        raise OCIError(f"{RESOURCES}: expected an object, got {resources!r}")
    for key, kind, name in APPLY_ORDER:
        value = section(resources, key, kind)
        if value is not None and (value or key == "devices"):
            yield controller(name), value


def write_resources(manager: "CgroupManager", resources: "dict[str, Any]", updating: bool, v2: bool) -> None:
    """Apply ``resources`` (linux.resources) controller by controller: each controller's
    ``apply_v1`` (cgroup v1 and hybrid) or ``apply_v2``."""
    for module, value in _used(resources):
        (module.apply_v2 if v2 else module.apply_v1)(manager, value, updating)


def check_resources(manager: "CgroupManager", resources: "dict[str, Any]", v2: bool) -> None:
    """What this host's hierarchies can tell of ``resources`` before anything is made, so that
    create refuses it before its first mkdir and `check` reports what create would: each
    controller's ``check_v1`` / ``check_v2``, for the controllers that have one."""
    for module, value in _used(resources):
        check = getattr(module, "check_v2" if v2 else "check_v1", None)
        if check is not None:
            check(manager, value)


def stats(manager: "CgroupManager", v2: bool) -> "dict[str, Any]":
    """runc's `events --stats` data: each controller's ``stats_v1``/``stats_v2`` (None: the
    controller is not there, and its section is left out)."""
    data = {}
    for name in STATS_ORDER:
        module = controller(name)
        value = (module.stats_v2 if v2 else module.stats_v1)(manager)
        if value is not None:
            data[name] = value
    return data


def systemd_properties(resources: "dict[str, Any] | None", v2: bool) -> "list[tuple[str, str, Any]]":
    """The unit properties runc derives from linux.resources (systemd/v1.go, v2.go), as
    (name, D-Bus signature, value)."""
    properties: "list[tuple[str, str, Any]]" = []
    for key, name in SYSTEMD_ORDER:
        value = (resources or {}).get(key) or {}
        properties += controller(name).systemd_properties(value, v2)
    return properties
