"""Device nodes for a container in a user namespace, decided by the parent before it forks.

The kernel refuses mknod of character and block devices to a user namespace that is not the
host's (except the 0:0 "whiteout" character device), so such a container's devices are
bind-mounted from the host (runc, crun) — when the host has that very device: at the same path,
or under /dev/char/<major>:<minor> or /dev/block/<major>:<minor> (udev's links).  FIFOs and
whiteouts are created.  Anything else cannot be provided, and create fails naming it
(/linux/devices/N) before anything is made.

``device_plan`` returns the devices (defaults first, as rootfs.devices.devices_to_create) each
with "bindSource" (a host path) or without (to be created); plan/create.py makes them
BIND_DEVICE and MKNOD steps.
"""
import os
import stat

from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TypeAlias

    Lookup: TypeAlias = "Callable[[str], tuple[int, int] | None]"

_LINK_DIRECTORY = {stat.S_IFCHR: "/dev/char", stat.S_IFBLK: "/dev/block"}


def device_plan(config_devices: "Sequence[dict[str, Any]]", lookup: "Lookup"
                ) -> "list[dict[str, Any]]":
    """``lookup(path)``: (mode, rdev) of a host path, None when there is none (the host facts
    gathered for every path of host_device_candidates)."""
    from oci_runtime.rootfs.devices import TYPE_BITS, devices_to_create

    planned: "list[dict[str, Any]]" = []
    for device in devices_to_create(config_devices):
        where = device.get("pointer", device["path"])
        kind = TYPE_BITS.get(device.get("type", ""))
        if kind is None:
            raise OCIError(f"config.json: {where}/type: unknown device type "
                           f"{device.get('type')!r} (one of c, b, u, p)")
        major, minor = device.get("major", 0), device.get("minor", 0)
        if kind == stat.S_IFIFO or (kind == stat.S_IFCHR and major == 0 and minor == 0):
            planned.append(device)  # the kernel lets a user namespace make these
            continue
        source = host_device(device, kind, os.makedev(major, minor), lookup)
        if source is None:
            raise OCIError(
                f"config.json: {where}: device {device['path']} ({device['type']} "
                f"{major}:{minor}) cannot be made in a user namespace (mknod is not permitted "
                "there) and the host has no such device to bind (looked at "
                f"{device['path']} and {_LINK_DIRECTORY[kind]}/{major}:{minor})")
        planned.append(dict(device, bindSource=source))
    return planned


def host_device_candidates(device: "dict[str, Any]") -> "list[str]":
    """The host paths that may be ``device`` (a linux.devices entry): its own path, and udev's
    /dev/char or /dev/block link of its number."""
    from oci_runtime.rootfs.devices import TYPE_BITS

    kind = TYPE_BITS.get(device.get("type", ""))
    if kind not in _LINK_DIRECTORY:
        return [device["path"]]
    return [device["path"], f"{_LINK_DIRECTORY[kind]}/{device.get('major', 0)}:"
                            f"{device.get('minor', 0)}"]


def host_device(device: "dict[str, Any]", kind: int, number: int, lookup: "Lookup"
                ) -> str | None:
    """A host path that is ``device`` (its type ``kind`` and ``number``), or None."""
    for candidate in host_device_candidates(device):
        found = lookup(candidate)
        if found is not None and stat.S_IFMT(found[0]) == kind and found[1] == number:
            return candidate
    return None
