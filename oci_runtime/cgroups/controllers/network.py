"""The net_cls and net_prio controllers: ``linux.resources.network`` classID and priorities
(net_cls.classid, net_prio.ifpriomap); cgroup v2 has neither."""
import os

from oci_runtime.errors import OCIError

from ..fields import RESOURCES, num, pointer
from ..files import write_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..views import V1Cgroup, V2Cgroup

FIELD = pointer(RESOURCES, "network")


def apply_v1(cgroup: "V1Cgroup", net: "dict[str, Any]", updating: bool) -> None:
    f = FIELD
    cid = num(net, "classID", f, signed=False)
    if cid is not None:
        p = cgroup.controller_dir("net_cls", f"{f}/classID")
        write_value(os.path.join(p, "net_cls.classid"), cid, f"{f}/classID")
    prios = net.get("priorities")
    if prios:
        p = cgroup.controller_dir("net_prio", f"{f}/priorities")
        for i, pr in enumerate(prios):
            write_value(os.path.join(p, "net_prio.ifpriomap"),
                        f"{pr.get('name')} {int(pr.get('priority', 0))}", f"{f}/priorities/{i}")


def apply_v2(cgroup: "V2Cgroup", net: "dict[str, Any]", updating: bool) -> None:
    if net.get("classID") is not None or net.get("priorities"):
        raise OCIError(f"{FIELD}: net_cls/net_prio do not exist on cgroup v2 (use eBPF "
                       f"programs for traffic classification instead)")
