"""events [--stats] [--interval 5s] ID: the container's cgroup as JSON lines, like `runc events`.

--stats prints one {"type":"stats","id":ID,"data":{...}} line and exits.  Without it, a stats line
is printed every --interval, and {"type":"oom","id":ID} once for every OOM kill in the container's
cgroup as soon as it happens, until the container stops.
"""
import sys

from oci_runtime.cli.args import UsageError, parse
from oci_runtime.kernel.hotpath import dumps

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {
    "--stats": (None, None, None, "print the statistics once and exit"),
    "--interval": (None, "DURATION", "5s", "time between two statistics lines (e.g. 500ms, 5s, 1m)"),
}

def _seconds(text: str) -> float:
    for suffix, scale in (("ms", 0.001), ("s", 1), ("m", 60)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            seconds = float(text[: -len(suffix)]) * scale
            break
    else:
        if not text.replace(".", "", 1).isdigit():
            raise UsageError(f"--interval: not a duration: {text!r} (e.g. 5s)")
        seconds = float(text)
    if seconds <= 0:
        raise UsageError(f"--interval: must be positive, got {text!r}")
    return seconds


def _emit(event: "dict[str, Any]") -> None:
    sys.stdout.write(dumps(event) + "\n")
    sys.stdout.flush()


def run(context: "Context", argv: "Sequence[str]") -> None:
    values, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime events [--stats] [--interval 5s] CONTAINER_ID")
    container = context.runtime.get(positionals[0])
    interval = _seconds(values["interval"])
    if values.get("stats"):
        _emit({"type": "stats", "id": container.id, "data": container.stats()})
        return
    for event in container.events(interval):
        _emit(event)
