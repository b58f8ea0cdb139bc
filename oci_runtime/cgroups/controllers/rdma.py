"""The rdma controller: ``linux.resources.rdma`` device limits (rdma.max lines, on v1 and v2)."""
import os

from oci_runtime.errors import OCIError

from ..fields import RESOURCES, pointer
from ..files import write_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..views import V1Cgroup, V2Cgroup

FIELD = pointer(RESOURCES, "rdma")


def rdma_string(device: str, limits: "dict[str, Any]") -> str:
    """rdma.max line: 'mlx5_1 hca_handle=3 hca_object=10000' (a missing limit is omitted, as runc)."""
    s = str(device)
    if limits.get("hcaHandles") is not None:
        s += f" hca_handle={int(limits['hcaHandles'])}"
    if limits.get("hcaObjects") is not None:
        s += f" hca_object={int(limits['hcaObjects'])}"
    return s


def _write(path: str, rdma: "dict[str, Any]") -> None:
    for dev, lim in rdma.items():
        field = pointer(FIELD, dev)
        if not isinstance(lim, dict):
            raise OCIError(f"{field}: expected an object, got {lim!r}")
        write_value(os.path.join(path, "rdma.max"), rdma_string(dev, lim), field)


def apply_v1(cgroup: "V1Cgroup", rdma: "dict[str, Any]", updating: bool) -> None:
    _write(cgroup.controller_dir("rdma", FIELD), rdma)


def apply_v2(cgroup: "V2Cgroup", rdma: "dict[str, Any]", updating: bool) -> None:
    cgroup.require_controller("rdma", FIELD)
    _write(cgroup.path, rdma)
