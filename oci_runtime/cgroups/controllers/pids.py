"""The pids controller: ``linux.resources.pids.limit`` (pids.max on v1 and v2, systemd
TasksMax) and the pids statistics."""
import os

from ..fields import MAX_UINT64, RESOURCES, limit_string, num, pointer
from ..files import read_int, write_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..views import V1Cgroup, V2Cgroup

FIELD = pointer(RESOURCES, "pids")


def apply_v1(cgroup: "V1Cgroup", pids: "dict[str, Any]", updating: bool) -> None:
    if pids.get("limit") is None:
        return
    directory = cgroup.controller_dir("pids", f"{FIELD}/limit")
    write_value(os.path.join(directory, "pids.max"), limit_string(num(pids, "limit", FIELD) or 0),
                f"{FIELD}/limit")


def apply_v2(cgroup: "V2Cgroup", pids: "dict[str, Any]", updating: bool) -> None:
    if pids.get("limit") is None:
        return
    write_value(cgroup.controller_file("pids.max", f"{FIELD}/limit"),
                limit_string(num(pids, "limit", FIELD) or 0), f"{FIELD}/limit")


def systemd_properties(pids: "dict[str, Any]", v2: bool) -> "list[tuple[str, str, Any]]":
    limit = pids.get("limit")
    if limit is not None and limit != 0:
        return [("TasksMax", "t", MAX_UINT64 if limit < 0 else limit)]
    return []


def _stats(directory: str) -> "dict[str, Any]":
    limit = read_int(os.path.join(directory, "pids.max"))
    return {"current": read_int(os.path.join(directory, "pids.current")),
            "limit": 0 if limit < 0 else limit}


def stats_v1(cgroup: "V1Cgroup") -> "dict[str, Any] | None":
    return _stats(cgroup.paths["pids"]) if "pids" in cgroup.paths else None


def stats_v2(cgroup: "V2Cgroup") -> "dict[str, Any] | None":
    if not os.path.exists(os.path.join(cgroup.path, "pids.current")):
        return None
    return _stats(cgroup.path)
