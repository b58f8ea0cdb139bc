"""update [--resources FILE|-] [--memory N] [--cpu-quota N] ... ID: change resource limits,
like `runc update`.  Per-field flags override what --resources gives."""
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

# flag -> (section, key, value parser, value name, help)
_FIELD_FLAGS = {
    "--memory": ("memory", "limit", "bytes", "BYTES", "memory limit"),
    "--memory-reservation": ("memory", "reservation", "bytes", "BYTES",
                             "memory reservation (soft limit)"),
    "--memory-swap": ("memory", "swap", "bytes", "BYTES",
                      "memory plus swap limit; -1 for unlimited swap"),
    "--kernel-memory": ("memory", "kernel", "bytes", "BYTES", "kernel memory limit (cgroup v1)"),
    "--kernel-memory-tcp": ("memory", "kernelTCP", "bytes", "BYTES",
                            "kernel TCP buffer memory limit (cgroup v1)"),
    "--cpu-share": ("cpu", "shares", "int", "N", "CPU shares (relative weight)"),
    "--cpu-shares": ("cpu", "shares", "int", "N", "same as --cpu-share"),
    "--cpu-quota": ("cpu", "quota", "int", "USECS",
                    "CFS quota: CPU time allowed in each period; -1 for no limit"),
    "--cpu-period": ("cpu", "period", "int", "USECS", "CFS period the quota applies to"),
    "--cpu-burst": ("cpu", "burst", "int", "USECS", "CFS burst: unused quota kept for later"),
    "--cpu-rt-runtime": ("cpu", "realtimeRuntime", "int", "USECS",
                         "real-time CPU time allowed in each real-time period"),
    "--cpu-rt-period": ("cpu", "realtimePeriod", "int", "USECS", "real-time period"),
    "--cpu-idle": ("cpu", "idle", "int", "N",
                   "1: the cgroup's tasks run as SCHED_IDLE (cpu.idle); 0: the default"),
    "--cpuset-cpus": ("cpu", "cpus", "str", "LIST", "CPUs to run on (e.g. 0-2,4)"),
    "--cpuset-mems": ("cpu", "mems", "str", "LIST", "memory nodes to allocate from"),
    "--pids-limit": ("pids", "limit", "int", "N", "maximum number of processes; -1 for no limit"),
    "--blkio-weight": ("blockIO", "weight", "int", "N", "block I/O weight (10 to 1000)"),
}
# runc's Intel RDT flags: refused with a reason, not accepted and ignored.
_RESCTRL_FLAGS = {
    "--l3-cache-schema": (None, "SCHEMA", None, "Intel RDT L3 cache schema: refused (no resctrl "
                          "support)"),
    "--mem-bw-schema": (None, "SCHEMA", None, "Intel RDT memory bandwidth schema: refused (no "
                        "resctrl support)"),
}
OPTIONS: "OptionTable" = {
    "--resources": ("-r", "FILE", None, "a linux.resources JSON object from FILE, or - for stdin"),
    **{flag: (None, value_name, None, text)
       for flag, (_, _, _, value_name, text) in _FIELD_FLAGS.items()},
    **_RESCTRL_FLAGS,
}
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _parse_value(flag: str, text: str, kind: str) -> str | int:
    if kind == "str":
        return text
    if kind == "bytes" and text and text[-1].lower() in _UNITS:
        number, unit = text[:-1], _UNITS[text[-1].lower()]
    elif kind == "bytes" and text.lower().endswith("b") and len(text) > 1 and text[-2].lower() in _UNITS:
        number, unit = text[:-2], _UNITS[text[-2].lower()]
    else:
        number, unit = text, 1
    try:
        return int(number) * unit
    except ValueError:
        raise UsageError(f"{flag}: not a number: {text!r}") from None


def resources_from_args(values: "dict[str, Any]") -> "dict[str, Any]":
    resources: "dict[str, Any]" = {}
    path = values.get("resources")
    if path is not None:
        from oci_runtime.config.load import read_json_file

        resources = read_json_file(path, f"update --resources {path}")
        if not isinstance(resources, dict):
            raise OCIError(f"update --resources {path}: must be a JSON object (linux.resources)")
    for flag in _RESCTRL_FLAGS:
        if values.get(flag[2:].replace("-", "_")) is not None:
            raise UsageError(f"{flag}: Intel RDT (resctrl) is not supported by this runtime")
    for flag, (section, key, kind, _, _) in _FIELD_FLAGS.items():
        text = values.get(flag[2:].replace("-", "_"))
        if text is not None:
            resources.setdefault(section, {})[key] = _parse_value(flag, text, kind)
    return resources


def run(context: "Context", argv: "Sequence[str]") -> None:
    values, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime update [--resources FILE|-] [--memory N] ... ID")
    resources = resources_from_args(values)
    if not resources:
        raise UsageError("update: nothing to change (give --resources or a field flag)")
    context.runtime.get(positionals[0]).update(resources)
