"""The hugetlb controller: ``linux.resources.hugepageLimits`` (hugetlb.<size>.limit_in_bytes on
v1, hugetlb.<size>.max on v2, the .rsvd variants when present; on a hybrid host without a v1
hierarchy for it, the cgroup2 one), page size names, and the hugetlb statistics."""
import os

from oci_runtime.errors import OCIError

from ..fields import RESOURCES, num, pointer
from ..files import enable_controllers, mkdir_p, read_int, read_kv, write_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..views import V1Cgroup, V2Cgroup

FIELD = pointer(RESOURCES, "hugepageLimits")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def hugepage_size_bytes(page_size: object) -> int:
    """'2MB' -> 2097152 (base 1024, as the spec says).  ValueError for anything else."""
    s = str(page_size)
    if not s.endswith("B") or len(s) < 3:
        raise ValueError(f"invalid hugepage size {page_size!r} (expected e.g. 2MB, 1GB, 64KB)")
    unit = s[-2] if not s[-2].isdigit() else ""
    digits = s[:-2] if unit else s[:-1]
    if not digits.isdigit() or unit not in _UNITS:
        raise ValueError(f"invalid hugepage size {page_size!r} (expected e.g. 2MB, 1GB, 64KB)")
    return int(digits) * _UNITS[unit]


def hugepage_size_name(nbytes: int) -> str:
    """2097152 -> '2MB' (the kernel's hugetlb.<size>.* naming)."""
    for unit in ("G", "M", "K"):
        if nbytes >= _UNITS[unit] and nbytes % _UNITS[unit] == 0:
            return f"{nbytes // _UNITS[unit]}{unit}B"
    return f"{nbytes}B"


def hugepage_sizes() -> list[str]:
    """Kernel hugepage size names ('2MB', '1GB') from /sys/kernel/mm/hugepages."""
    out = []
    try:
        for d in os.listdir("/sys/kernel/mm/hugepages"):
            if d.startswith("hugepages-") and d.endswith("kB"):
                out.append(hugepage_size_name(int(d[10:-2]) * 1024))
    except OSError:
        pass
    return out


def _write_limits(path: str, limits: "list[Any]", v2: bool) -> None:
    for i, hl in enumerate(limits):
        fld = f"{FIELD}/{i}"
        if not isinstance(hl, dict):
            raise OCIError(f"{fld}: expected an object, got {hl!r}")
        size = hl.get("pageSize")
        try:
            name = hugepage_size_name(hugepage_size_bytes(size))
        except ValueError as exc:
            raise OCIError(f"{fld}/pageSize: {exc}") from None
        limit = num(hl, "limit", fld)
        if limit is None:
            raise OCIError(f"{fld}/limit: required")
        lim_name, rsvd_name = (f"hugetlb.{name}.max", f"hugetlb.{name}.rsvd.max") if v2 else \
            (f"hugetlb.{name}.limit_in_bytes", f"hugetlb.{name}.rsvd.limit_in_bytes")
        target = os.path.join(path, lim_name)
        if not os.path.exists(target):
            raise OCIError(f"{fld}/pageSize: hugepage size {size!r} is not supported by this kernel "
                           f"({target} does not exist; sizes: {', '.join(hugepage_sizes()) or 'none'})")
        val = "max" if (v2 and limit < 0) else str(limit)
        write_value(target, val, f"{fld}/limit")
        rsvd = os.path.join(path, rsvd_name)
        if os.path.exists(rsvd):
            write_value(rsvd, val, f"{fld}/limit")


def apply_v1(cgroup: "V1Cgroup", limits: "list[Any]", updating: bool) -> None:
    if "hugetlb" in cgroup.paths:
        _write_limits(cgroup.paths["hugetlb"], limits, v2=False)
    elif cgroup.unified and cgroup.unified_mount and cgroup.unified_has("hugetlb"):
        mkdir_p(cgroup.unified)
        enable_controllers(cgroup.unified_mount, cgroup.unified, ["hugetlb"], FIELD)
        _write_limits(cgroup.unified, limits, v2=True)
    else:
        cgroup.controller_dir("hugetlb", FIELD)


def apply_v2(cgroup: "V2Cgroup", limits: "list[Any]", updating: bool) -> None:
    cgroup.require_controller("hugetlb", FIELD)
    _write_limits(cgroup.path, limits, v2=True)


def _stats(path: str, v2: bool) -> "dict[str, Any]":
    out = {}
    for name in hugepage_sizes():
        if v2:
            cur = os.path.join(path, f"hugetlb.{name}.current")
            if not os.path.exists(cur):
                continue
            lim = read_int(os.path.join(path, f"hugetlb.{name}.max"))
            out[name] = {"usage": read_int(cur), "max": 0,
                         "failcnt": read_kv(os.path.join(path, f"hugetlb.{name}.events")).get("max", 0),
                         "limit": lim}
        else:
            base = os.path.join(path, f"hugetlb.{name}.")
            if not os.path.exists(base + "usage_in_bytes"):
                continue
            out[name] = {"usage": read_int(base + "usage_in_bytes"),
                         "max": read_int(base + "max_usage_in_bytes"),
                         "failcnt": read_int(base + "failcnt")}
    return out


def stats_v1(cgroup: "V1Cgroup") -> "dict[str, Any] | None":
    if "hugetlb" in cgroup.paths:
        return _stats(cgroup.paths["hugetlb"], v2=False)
    if cgroup.unified and cgroup.unified_has("hugetlb"):
        return _stats(cgroup.unified, v2=True)
    return None


def stats_v2(cgroup: "V2Cgroup") -> "dict[str, Any]":
    return _stats(cgroup.path, v2=True)
