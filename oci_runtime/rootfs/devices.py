"""Device nodes in the container's /dev: the spec's defaults plus linux.devices (the executor
makes them: plan/create.py)."""
import stat

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

# config-linux.md "Default Devices": the runtime MUST supply these.
DEFAULT_DEVICES = (
    {"path": "/dev/null", "type": "c", "major": 1, "minor": 3},
    {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5},
    {"path": "/dev/full", "type": "c", "major": 1, "minor": 7},
    {"path": "/dev/random", "type": "c", "major": 1, "minor": 8},
    {"path": "/dev/urandom", "type": "c", "major": 1, "minor": 9},
    {"path": "/dev/tty", "type": "c", "major": 5, "minor": 0},
)

TYPE_BITS = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}

# runtime-linux.md "Dev symbolic links", plus /dev/ptmx pointing at the container's own devpts.
DEV_SYMLINKS = (
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
)


def devices_to_create(config_devices: "Sequence[dict[str, Any]]") -> "list[dict[str, Any]]":
    """Defaults first, then linux.devices; a configured path replaces the default one."""
    configured = {device["path"] for device in config_devices}
    merged: "list[dict[str, Any]]" = [dict(d, fileMode=0o666) for d in DEFAULT_DEVICES
                                      if d["path"] not in configured]
    return merged + [dict(d, pointer=f"/linux/devices/{i}") for i, d in enumerate(config_devices)]
