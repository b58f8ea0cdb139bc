"""The blkio controller (io on cgroup v2): ``linux.resources.blockIO`` weights and throttles on
cgroup v1 (blkio.weight or blkio.bfq.weight, blkio.throttle.*), cgroup v2 (io.weight or
io.bfq.weight, io.max) and as a systemd property (v1 BlockIOWeight); the line formats and the
weight conversion; the I/O statistics."""
import os

from oci_runtime.errors import OCIError

from ..fields import RESOURCES, num, pointer
from ..files import read_or, write_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..views import V1Cgroup, V2Cgroup

FIELD = pointer(RESOURCES, "blockIO")
# linux.resources.blockIO member -> (v1 file, v2 io.max key)
THROTTLES = (("throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"),
             ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"),
             ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"),
             ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops"))


def blkio_weight_to_io_weight(weight: int) -> int:
    """blkio.weight [10..1000] -> io.weight [1..10000] (runc ConvertBlkIOToIOWeightValue), 0 = unset."""
    weight = int(weight)
    if weight == 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def device_number(entry: object, field: str) -> tuple[int, int]:
    try:
        return int(entry["major"]), int(entry["minor"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{field}: major and minor are required integers") from None


def blkio_weight_device_string(major: int, minor: int, weight: int) -> str:
    return f"{major}:{minor} {int(weight)}"


def blkio_throttle_string(major: int, minor: int, rate: int) -> str:
    """v1 blkio.throttle.*_device line."""
    return f"{major}:{minor} {int(rate)}"


def io_max_string(major: int, minor: int, key: str, rate: int) -> str:
    """v2 io.max line, key in rbps/wbps/riops/wiops; rate 0 means no limit ('max')."""
    rate = int(rate)
    return f"{major}:{minor} {key}={rate if rate > 0 else 'max'}"


def _device(entry: object, field: str) -> tuple[int, int]:
    try:
        return device_number(entry, field)
    except ValueError as exc:
        raise OCIError(str(exc)) from None


def apply_v1(cgroup: "V1Cgroup", bio: "dict[str, Any]", updating: bool) -> None:
    f = FIELD
    p = cgroup.controller_dir("blkio", f)
    if os.path.exists(os.path.join(p, "blkio.weight")):
        wfile, wdfile = "blkio.weight", "blkio.weight_device"
    else:
        wfile, wdfile = "blkio.bfq.weight", "blkio.bfq.weight_device"
    w = num(bio, "weight", f, signed=False)
    if w:
        write_value(os.path.join(p, wfile), w, f"{f}/weight")
    lw = num(bio, "leafWeight", f, signed=False)
    if lw:
        write_value(os.path.join(p, "blkio.leaf_weight"), lw, f"{f}/leafWeight")
    for i, wd in enumerate(bio.get("weightDevice") or ()):
        fld = f"{f}/weightDevice/{i}"
        major, minor = _device(wd, fld)
        if wd.get("weight"):
            write_value(os.path.join(p, wdfile), blkio_weight_device_string(major, minor, wd["weight"]), fld)
        if wd.get("leafWeight"):
            write_value(os.path.join(p, "blkio.leaf_weight_device"),
                        blkio_weight_device_string(major, minor, wd["leafWeight"]), fld)
    for key, fname, _ in THROTTLES:
        for i, td in enumerate(bio.get(key) or ()):
            fld = f"{f}/{key}/{i}"
            major, minor = _device(td, fld)
            write_value(os.path.join(p, fname), blkio_throttle_string(major, minor, td.get("rate", 0)), fld)


def apply_v2(cgroup: "V2Cgroup", bio: "dict[str, Any]", updating: bool) -> None:
    f = FIELD
    w = num(bio, "weight", f, signed=False)
    bfq = os.path.join(cgroup.path, "io.bfq.weight")
    have_bfq = os.path.exists(bfq)
    if w:
        if have_bfq:
            write_value(bfq, w, f"{f}/weight")
        else:
            write_value(cgroup.controller_file("io.weight", f"{f}/weight"), blkio_weight_to_io_weight(w),
                        f"{f}/weight")
    for i, wd in enumerate(bio.get("weightDevice") or ()):
        fld = f"{f}/weightDevice/{i}"
        major, minor = _device(wd, fld)
        if not wd.get("weight"):
            continue           # leafWeight has no v2 equivalent
        if have_bfq:
            write_value(bfq, blkio_weight_device_string(major, minor, wd["weight"]), fld)
        else:
            write_value(cgroup.controller_file("io.weight", fld),
                        blkio_weight_device_string(major, minor, blkio_weight_to_io_weight(wd["weight"])),
                        fld)
    for key, _, name in THROTTLES:
        for i, td in enumerate(bio.get(key) or ()):
            fld = f"{f}/{key}/{i}"
            major, minor = _device(td, fld)
            write_value(cgroup.controller_file("io.max", fld),
                        io_max_string(major, minor, name, td.get("rate", 0)), fld)


def systemd_properties(bio: "dict[str, Any]", v2: bool) -> "list[tuple[str, str, Any]]":
    if not v2 and bio.get("weight"):
        return [("BlockIOWeight", "t", bio["weight"])]
    return []


def _v1_entries(path: str) -> "list[dict[str, Any]]":
    out = []
    for line in read_or(path).splitlines():
        p = line.split()
        if len(p) == 3 and ":" in p[0]:
            ma, mi = p[0].split(":")
            out.append({"major": int(ma), "minor": int(mi), "op": p[1], "value": int(p[2])})
    return out


def stats_v1(cgroup: "V1Cgroup") -> "dict[str, Any] | None":
    b = cgroup.paths.get("blkio")
    if b is None:
        return None
    pre = "blkio.bfq." if os.path.exists(os.path.join(b, "blkio.bfq.io_service_bytes_recursive")) \
        else "blkio.throttle."
    return {"ioServiceBytesRecursive": _v1_entries(os.path.join(b, pre + "io_service_bytes_recursive")),
            "ioServicedRecursive": _v1_entries(os.path.join(b, pre + "io_serviced_recursive"))}


def stats_v2(cgroup: "V2Cgroup") -> "dict[str, Any] | None":
    stat = os.path.join(cgroup.path, "io.stat")
    if not os.path.exists(stat):
        return None
    sb: "list[dict[str, Any]]" = []
    sv: "list[dict[str, Any]]" = []
    for line in read_or(stat).splitlines():
        parts = line.split()
        if not parts or ":" not in parts[0]:
            continue
        ma, mi = (int(x) for x in parts[0].split(":"))
        kvs = dict(x.split("=", 1) for x in parts[1:] if "=" in x)
        for key, op, lst in (("rbytes", "Read", sb), ("wbytes", "Write", sb),
                             ("rios", "Read", sv), ("wios", "Write", sv)):
            if key in kvs:
                lst.append({"major": ma, "minor": mi, "op": op, "value": int(kvs[key])})
    return {"ioServiceBytesRecursive": sb, "ioServicedRecursive": sv}
