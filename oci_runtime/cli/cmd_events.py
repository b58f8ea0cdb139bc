"""events [--stats] [--interval 5s] ID: the container's cgroup as JSON lines, like `runc events`.

--stats prints one {"type":"stats","id":ID,"data":{...}} line and exits.  Without it, a stats line
is printed every --interval, and {"type":"oom","id":ID} once for every OOM kill in the container's
cgroup as soon as it happens, until the container stops.
"""
import sys
import time

from oci_runtime.cli.args import UsageError, parse
from oci_runtime.container import Container
from oci_runtime.errors import OCIError
from oci_runtime.fastjson import dumps

OPTIONS = {
    "--stats": (None, None, None, "print the statistics once and exit"),
    "--interval": (None, "DURATION", "5s", "time between two statistics lines (e.g. 500ms, 5s, 1m)"),
}

# How often the stream looks at the container's status (and, without a pollable OOM source, at
# the OOM counter) between two stats lines: bounds how late an exit or an OOM is noticed.
_WATCH_SLICE = 0.5


def _seconds(text):
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


def _emit(event):
    sys.stdout.write(dumps(event) + "\n")
    sys.stdout.flush()


def run(context, argv):
    values, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime events [--stats] [--interval 5s] CONTAINER_ID")
    container = Container.load(context.store, positionals[0])
    interval = _seconds(values["interval"])
    if values.get("stats"):
        _emit({"type": "stats", "id": container.id, "data": container.stats()})
        return
    _stream(container, interval)


def _stream(container, interval):
    saved = container.record.get("cgroup")
    if not saved or container.status == "stopped":
        raise OCIError(f"container {container.id!r} is not running")
    from oci_runtime.cgroups import manager_from_dict

    manager = manager_from_dict(saved)
    watcher = _OOMWatcher(manager)
    try:
        while True:
            try:
                data = container.stats()
            except OCIError:
                if container.status == "stopped":  # exited between the check and the read
                    return
                raise
            _emit({"type": "stats", "id": container.id, "data": data})
            next_stats = time.monotonic() + interval
            while True:
                remaining = next_stats - time.monotonic()
                if remaining <= 0:
                    break
                watcher.wait(min(remaining, _WATCH_SLICE))
                for _ in range(watcher.new_kills()):
                    _emit({"type": "oom", "id": container.id})
                if container.status == "stopped":
                    return
    finally:
        watcher.close()


class _OOMWatcher:
    """The cgroup's OOM-kill counter is the truth (one event per kill, none lost or doubled);
    the manager's notifier only wakes the stream up at once instead of at the next poll."""

    def __init__(self, manager):
        self.manager = manager
        self.seen = self._count() or 0
        try:
            self.notifier = manager.oom_notifier()
        except OCIError:
            self.notifier = None  # no memory controller: the counter is polled instead

    def _count(self):
        try:
            return self.manager.oom_events()
        except (OCIError, OSError):
            return None  # the cgroup went away: the container is stopping

    def wait(self, timeout):
        """Return after ``timeout`` seconds, or earlier when the notifier reports an OOM."""
        started = time.monotonic()
        if self.notifier is not None and self.notifier.wait(timeout):
            return
        # Without a notifier, or one whose cgroup was removed (it returns at once): sleep out
        # the rest, so the stream never spins.
        left = timeout - (time.monotonic() - started)
        if left > 0:
            time.sleep(left)

    def new_kills(self):
        count = self._count()
        if count is None or count <= self.seen:
            return 0
        new, self.seen = count - self.seen, count
        return new

    def close(self):
        if self.notifier is not None:
            self.notifier.close()
