"""``linux.resources.unified``: cgroup v2 files written as given (key = file name in the
cgroup); on a hybrid host, in the cgroup2 hierarchy, for the controllers enabled there."""
import os

from oci_runtime.errors import OCIError

from ..fields import RESOURCES, pointer
from ..files import enable_controllers, mkdir_p, read_words, write_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..views import V1Cgroup, V2Cgroup

FIELD = pointer(RESOURCES, "unified")


def _write(path: str, uni: "dict[str, Any]") -> None:
    for key, value in uni.items():
        field = pointer(FIELD, key)
        if "/" in key or key.startswith(".") or not key:
            raise OCIError(f"{field}: invalid unified key (must be a file name in the cgroup)")
        target = os.path.join(path, key)
        if not os.path.exists(target):
            ctrl = key.split(".", 1)[0]
            avail = read_words(os.path.join(path, "cgroup.controllers"))
            if ctrl != "cgroup" and ctrl not in avail:
                raise OCIError(f"{field}: controller {ctrl!r} is not available in {path} "
                               f"(available: {' '.join(avail) or 'none'})")
            raise OCIError(f"{field}: {target} does not exist")
        write_value(target, str(value), field)


def check_v1(cgroup: "V1Cgroup", uni: "dict[str, Any]") -> None:
    """A v1 or hybrid host: the keys' controllers must be in its cgroup2 hierarchy."""
    if not cgroup.unified or not cgroup.unified_mount:
        raise OCIError(f"{FIELD}: cannot use unified resources on a cgroup v1 host "
                       f"(no cgroup2 hierarchy mounted under {cgroup.root})")
    avail = read_words(os.path.join(cgroup.unified_mount, "cgroup.controllers"))
    for key in uni:
        ctrl = key.split(".", 1)[0]
        if ctrl != "cgroup" and ctrl not in avail:
            raise OCIError(f"{pointer(FIELD, key)}: controller {ctrl!r} is not in the cgroup v2 "
                           f"hierarchy on this hybrid host (available there: "
                           f"{' '.join(avail) or 'none'}); use the cgroup v1 fields instead")


def apply_v1(cgroup: "V1Cgroup", uni: "dict[str, Any]", updating: bool) -> None:
    check_v1(cgroup, uni)
    assert cgroup.unified and cgroup.unified_mount  # check_v1 refused it otherwise
    mkdir_p(cgroup.unified)
    need = sorted({k.split(".", 1)[0] for k in uni} - {"cgroup"})
    if need:
        enable_controllers(cgroup.unified_mount, cgroup.unified, need, FIELD)
    _write(cgroup.unified, uni)


def apply_v2(cgroup: "V2Cgroup", uni: "dict[str, Any]", updating: bool) -> None:
    _write(cgroup.path, uni)
