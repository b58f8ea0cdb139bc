"""update [--resources FILE|-] [--memory N] [--cpu-quota N] ... ID: change resource limits,
like `runc update`.  Per-field flags override what --resources gives."""
import json
import sys

from oci_runtime.cli.args import UsageError, parse
from oci_runtime.container import Container
from oci_runtime.errors import OCIError

# flag -> (section, key, value parser)
_FIELD_FLAGS = {
    "--memory": ("memory", "limit", "bytes"),
    "--memory-reservation": ("memory", "reservation", "bytes"),
    "--memory-swap": ("memory", "swap", "bytes"),
    "--kernel-memory": ("memory", "kernel", "bytes"),
    "--kernel-memory-tcp": ("memory", "kernelTCP", "bytes"),
    "--cpu-shares": ("cpu", "shares", "int"),
    "--cpu-quota": ("cpu", "quota", "int"),
    "--cpu-period": ("cpu", "period", "int"),
    "--cpu-burst": ("cpu", "burst", "int"),
    "--cpu-rt-runtime": ("cpu", "realtimeRuntime", "int"),
    "--cpu-rt-period": ("cpu", "realtimePeriod", "int"),
    "--cpuset-cpus": ("cpu", "cpus", "str"),
    "--cpuset-mems": ("cpu", "mems", "str"),
    "--pids-limit": ("pids", "limit", "int"),
    "--blkio-weight": ("blockIO", "weight", "int"),
}
OPTIONS = {"--resources": ("-r", True), **{flag: (None, True) for flag in _FIELD_FLAGS}}
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _parse_value(flag, text, kind):
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


def resources_from_args(values):
    resources = {}
    path = values.get("resources")
    if path is not None:
        try:
            text = sys.stdin.read() if path == "-" else open(path).read()
            resources = json.loads(text)
        except (OSError, ValueError) as exc:
            raise OCIError(f"--resources {path}: {exc}") from exc
        if not isinstance(resources, dict):
            raise OCIError(f"--resources {path}: must be a JSON object (linux.resources)")
    for flag, (section, key, kind) in _FIELD_FLAGS.items():
        text = values.get(flag.lstrip("-").replace("-", "_"))
        if text is not None:
            resources.setdefault(section, {})[key] = _parse_value(flag, text, kind)
    return resources


def run(context, argv):
    values, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime update [--resources FILE|-] [--memory N] ... ID")
    resources = resources_from_args(values)
    if not resources:
        raise UsageError("update: nothing to change (give --resources or a field flag)")
    Container.load(context.store, positionals[0]).update(resources)
