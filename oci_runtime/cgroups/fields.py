"""The JSON pointers cgroup errors name (``/linux/resources/memory/limit``) and the checks of
``linux.resources`` values: each error says which field of config.json (or of `update`'s
resources) is wrong.  Imports only oci_runtime.errors."""
from oci_runtime.errors import OCIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RESOURCES = "/linux/resources"
CGROUPS_PATH = "/linux/cgroupsPath"
MAX_UINT64 = (1 << 64) - 1


def pointer(base: str, *tokens: object) -> str:
    """``base`` extended by ``tokens`` (RFC 6901: '~' is written '~0' and '/' is written '~1')."""
    return base + "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in tokens)


def section(resources: "dict[str, Any]", key: str, kind: type = dict) -> object:
    """resources[key] checked to be of ``kind`` (None when absent)."""
    value = resources.get(key)
    if value is None:
        return None
    if not isinstance(value, kind):
        raise OCIError(f"{pointer(RESOURCES, key)}: expected "
                       f"{'an object' if kind is dict else 'an array'}, got {value!r}")
    return value


def num(obj: "dict[str, Any]", key: str, field: str, signed: bool = True) -> int | None:
    """obj[key] as int (None when absent); bools and non-integers are rejected."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise OCIError(f"{field}/{key}: expected an integer, got {value!r}")
    if not signed and value < 0:
        raise OCIError(f"{field}/{key}: expected a non-negative integer, got {value!r}")
    return value


def flag(obj: "dict[str, Any]", key: str, field: str) -> bool | None:
    """obj[key] as a bool (None when absent)."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise OCIError(f"{field}/{key}: expected a boolean, got {value!r}")
    return value


def v2_num(value: int | None) -> str:
    """runc numToStr: 0/None -> '' (unset), -1 -> 'max', else decimal."""
    if value is None or value == 0:
        return ""
    if value == -1:
        return "max"
    return str(int(value))


def limit_string(value: int) -> str:
    """A limit where 0 is meaningful (pids.max): negative -> 'max'."""
    value = int(value)
    return "max" if value < 0 else str(value)
