"""A container's event stream: its cgroup's statistics at an interval and OOM kills as they
happen (what `oci-runtime events` prints, through oci_runtime.container.api's Container.events)."""
import time

from oci_runtime.errors import OCIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

    from .base import CgroupManager
    from .controllers.memory import OOMNotifier


def stream_events(container: "Any", manager: "CgroupManager", interval: float) -> "Iterator[dict[str, Any]]":
    """The events of Container.events (oci_runtime.container.api): stats every ``interval`` seconds and
    OOM kills as they happen, until the container stops."""
    watcher = _OOMWatcher(manager)
    try:
        while True:
            try:
                data = container.stats()
            except OCIError:
                if container.status == "stopped":  # exited between the check and the read
                    return
                raise
            yield {"type": "stats", "id": container.id, "data": data}
            next_stats = time.monotonic() + interval
            while True:
                remaining = next_stats - time.monotonic()
                if remaining <= 0:
                    break
                watcher.wait(min(remaining, _WATCH_SLICE))
                for _ in range(watcher.new_kills()):
                    yield {"type": "oom", "id": container.id}
                if container.status == "stopped":
                    return
    finally:
        watcher.close()


# How often the event stream looks at the container's status (and, without a pollable OOM
# source, at the OOM counter) between two stats: bounds how late an exit or an OOM is noticed.
_WATCH_SLICE = 0.5


class _OOMWatcher:
    """The cgroup's OOM-kill counter is the truth (one event per kill, none lost or doubled);
    the manager's notifier only wakes the stream up at once instead of at the next poll."""

    def __init__(self, manager: "CgroupManager") -> None:
        self.manager = manager
        self.seen = self._count() or 0
        self.notifier: "OOMNotifier | None"
        try:
            self.notifier = manager.oom_notifier()
        except OCIError:
            self.notifier = None  # no memory controller: the counter is polled instead

    def _count(self) -> int | None:
        try:
            return self.manager.oom_events()
        except (OCIError, OSError):
            return None  # the cgroup went away: the container is stopping

    def wait(self, timeout: float) -> None:
        """Return after ``timeout`` seconds, or earlier when the notifier reports an OOM."""
        started = time.monotonic()
        if self.notifier is not None and self.notifier.wait(timeout):
            return
        # Without a notifier, or one whose cgroup was removed (it returns at once): sleep out
        # the rest, so the stream never spins.
        left = timeout - (time.monotonic() - started)
        if left > 0:
            time.sleep(left)

    def new_kills(self) -> int:
        count = self._count()
        if count is None or count <= self.seen:
            return 0
        new, self.seen = count - self.seen, count
        return new

    def close(self) -> None:
        if self.notifier is not None:
            self.notifier.close()
