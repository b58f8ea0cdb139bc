"""events [--stats] [--interval 5s] ID: resource statistics as JSON lines, like `runc events`."""
import sys
import time

from oci_runtime.cli.args import UsageError, parse
from oci_runtime.container import Container
from oci_runtime.fastjson import dumps

OPTIONS = {"--stats": (None, False), "--interval": (None, True)}


def _seconds(text):
    for suffix, scale in (("ms", 0.001), ("s", 1), ("m", 60)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * scale
    if text.replace(".", "", 1).isdigit():
        return float(text)
    raise UsageError(f"--interval: not a duration: {text!r} (e.g. 5s)")


def run(context, argv):
    values, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime events [--stats] [--interval 5s] CONTAINER_ID")
    container = Container.load(context.store, positionals[0])
    interval = _seconds(values.get("interval", "5s"))
    while True:
        event = {"type": "stats", "id": container.id, "data": container.stats()}
        sys.stdout.write(dumps(event) + "\n")
        sys.stdout.flush()
        if values.get("stats"):
            return
        time.sleep(interval)
        if container.status == "stopped":
            return
