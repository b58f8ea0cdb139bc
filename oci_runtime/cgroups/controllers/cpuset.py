"""The cpuset controller: ``linux.resources.cpu.cpus``/``mems`` (cpuset.cpus, cpuset.mems;
systemd AllowedCPUs/AllowedMemoryNodes on v2), a new v1 cpuset's initialisation from its
parent, and the cpuset statistics."""
import os

from oci_runtime.errors import OCIError

from ..fields import CGROUPS_PATH, RESOURCES, pointer
from ..files import mkdir_p, read_or, write_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..views import V1Cgroup, V2Cgroup

FIELD = pointer(RESOURCES, "cpu")
KEYS = ("cpus", "mems")


def parse_cpu_list(spec: str | None) -> list[int]:
    """'0-3,7' -> sorted list of ints.  ValueError on garbage."""
    out: set[int] = set()
    spec = (spec or "").strip()
    if not spec:
        return []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            first, last = int(a), int(b)
            if first > last or first < 0:
                raise ValueError(f"invalid range {part!r}")
            out.update(range(first, last + 1))
        else:
            n = int(part)
            if n < 0:
                raise ValueError(f"invalid cpu {part!r}")
            out.add(n)
    return sorted(out)


def cpu_list_to_bitmask(spec: str | None) -> bytes:
    """'0-3,9' -> bytes for systemd AllowedCPUs/AllowedMemoryNodes (ay; bit n = cpu n, little endian)."""
    cpus = parse_cpu_list(spec)
    if not cpus:
        return b""
    buf = bytearray(cpus[-1] // 8 + 1)
    for c in cpus:
        buf[c // 8] |= 1 << (c % 8)
    return bytes(buf)


def create_v1(path: str, mount: str) -> None:
    """mkdir each level below ``mount``; a new cpuset starts empty, so copy cpus/mems from the
    parent (runc)."""
    rel = os.path.relpath(path, mount)
    cur = mount
    for comp in [] if rel == "." else rel.split("/"):
        parent, cur = cur, os.path.join(cur, comp)
        mkdir_p(cur)
        for f in ("cpuset.cpus", "cpuset.mems"):
            mine = read_or(os.path.join(cur, f)).strip()
            if not mine:
                val = read_or(os.path.join(parent, f)).strip()
                if val:
                    write_value(os.path.join(cur, f), val, f"{CGROUPS_PATH} (initialising cpuset)")


def apply_v1(cgroup: "V1Cgroup", cpu: "dict[str, Any]", updating: bool) -> None:
    for key in KEYS:
        value = cpu.get(key)
        if value is not None and value != "":
            field = f"{FIELD}/{key}"
            write_value(os.path.join(cgroup.controller_dir("cpuset", field), f"cpuset.{key}"),
                        str(value), field)


def apply_v2(cgroup: "V2Cgroup", cpu: "dict[str, Any]", updating: bool) -> None:
    for key in KEYS:
        value = cpu.get(key)
        if value is not None and value != "":
            field = f"{FIELD}/{key}"
            write_value(cgroup.controller_file(f"cpuset.{key}", field), str(value), field)


def systemd_properties(cpu: "dict[str, Any]", v2: bool) -> "list[tuple[str, str, Any]]":
    props: "list[tuple[str, str, Any]]" = []
    if not v2:
        return props
    for key, prop in (("cpus", "AllowedCPUs"), ("mems", "AllowedMemoryNodes")):
        if cpu.get(key):
            try:
                props.append((prop, "ay", cpu_list_to_bitmask(cpu[key])))
            except ValueError as exc:
                raise OCIError(f"{FIELD}/{key}: {exc}") from None
    return props


def stats_v1(cgroup: "V1Cgroup") -> "dict[str, Any] | None":
    directory = cgroup.paths.get("cpuset")
    if directory is None:
        return None
    return {"cpus": read_or(os.path.join(directory, "cpuset.cpus")).strip(),
            "mems": read_or(os.path.join(directory, "cpuset.mems")).strip()}


def stats_v2(cgroup: "V2Cgroup") -> "dict[str, Any] | None":
    p = cgroup.path
    if not os.path.exists(os.path.join(p, "cpuset.cpus")):
        return None
    return {"cpus": read_or(os.path.join(p, "cpuset.cpus.effective")).strip(),
            "mems": read_or(os.path.join(p, "cpuset.mems.effective")).strip()}
