"""The CgroupManager interface (modelled on youki's CgroupManager trait) and shared helpers."""

import errno
import os
import _signal  # the C module: signal.py imports enum (~3 ms)
import time

from oci_runtime.errors import OCIError

from . import _util

FIELD = "linux.resources"


def section(resources, key, kind=dict):
    """resources[key] checked to be of ``kind`` (None when absent)."""
    v = resources.get(key)
    if v is None:
        return None
    if not isinstance(v, kind):
        raise OCIError(f"{FIELD}.{key}: expected {'an object' if kind is dict else 'an array'}, got {v!r}")
    return v


def num(obj, key, field, signed=True):
    """obj[key] as int (None when absent); bools and non-integers are rejected."""
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise OCIError(f"{field}.{key}: expected an integer, got {v!r}")
    if not signed and v < 0:
        raise OCIError(f"{field}.{key}: expected a non-negative integer, got {v!r}")
    return v


def flag(obj, key, field):
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, bool):
        raise OCIError(f"{field}.{key}: expected a boolean, got {v!r}")
    return v


class OOMNotifier:
    """Pollable OOM notification source.  ``fileno()`` can go into select/poll; ``wait(timeout)``
    returns True when at least one OOM event happened since the last call (False on timeout or when
    the cgroup went away); ``close()`` releases the fds."""

    def fileno(self):
        raise NotImplementedError

    def wait(self, timeout=None):
        raise NotImplementedError

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class CgroupManager:
    """One container's cgroup (on every hierarchy that applies).

    Implementations: V1Manager (cgroupfs v1; also hybrid, adding membership of the v2 hierarchy),
    V2Manager (cgroupfs v2) and SystemdManager (a transient unit via D-Bus, then cgroupfs writes).
    """

    driver = "cgroupfs"
    mode = None

    # -- lifecycle ----------------------------------------------------------------------------
    def create(self):
        """Create the cgroup directories (parents included)."""
        raise NotImplementedError

    def apply(self, pid):
        """Place ``pid`` in the cgroup on every hierarchy (creating the directories if needed)."""
        raise NotImplementedError

    def set(self, resources):
        """Apply a raw ``linux.resources`` dict (config.json)."""
        self._set(resources or {}, updating=False)

    def update(self, resources):
        """Like set(), for ``oci-runtime update``: only the given fields change, and
        memory.checkBeforeUpdate rejects a limit below current usage."""
        self._set(resources or {}, updating=True)

    def _set(self, resources, updating):
        raise NotImplementedError

    def destroy(self, timeout=5.0):
        """Remove the cgroup directories bottom-up (retrying EBUSY up to ``timeout`` seconds);
        kills nothing."""
        raise NotImplementedError

    def remove_after_kill(self, timeout=1.0):
        """SIGKILL every process left, wait (``timeout`` at most) for the cgroup to empty, then
        remove it: what an undo or `delete --force` does, never waiting seconds on EBUSY."""
        if self.pids():
            self.kill_all(_signal.SIGKILL)
            deadline = time.monotonic() + timeout
            while self.pids():  # a killed process leaves within milliseconds: poll that often
                if time.monotonic() > deadline:
                    raise OCIError(f"cgroup of the container: processes {self.pids()[:8]} still "
                                   f"in it {timeout:g} s after SIGKILL")
                time.sleep(0.001)
        self.destroy(timeout=timeout)

    def exists(self):
        raise NotImplementedError

    # -- freezer ------------------------------------------------------------------------------
    def freeze(self):
        raise NotImplementedError

    def thaw(self):
        raise NotImplementedError

    def is_frozen(self):
        raise NotImplementedError

    # -- processes ----------------------------------------------------------------------------
    def pids(self):
        """All pids in the cgroup and its descendants."""
        raise NotImplementedError

    def kill_all(self, sig=_signal.SIGKILL):
        """Signal every process: freeze, signal each pid, thaw (so nothing forks in between)."""
        self._signal_frozen(sig)

    def _signal_frozen(self, sig):
        frozen = False
        try:
            self.freeze()
            frozen = True
        except OCIError:
            pass   # no freezer: best effort
        try:
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        finally:
            if frozen:
                self.thaw()

    # -- observation --------------------------------------------------------------------------
    def stats(self):
        """runc ``events --stats`` "data"-shaped dict."""
        raise NotImplementedError

    def oom_events(self):
        """Number of OOM kills seen in this cgroup so far."""
        raise NotImplementedError

    def oom_notifier(self):
        """An OOMNotifier to wait for OOM events."""
        raise NotImplementedError

    def path_for(self, controller):
        """Directory of this cgroup for ``controller`` ('' or 'unified' = the v2 hierarchy)."""
        raise NotImplementedError

    def to_dict(self):
        raise NotImplementedError


def wait_until(pred, timeout, interval=0.005, retry=None):
    """Poll pred() until true; call retry() every ~100ms; return the last pred() value."""
    deadline = time.monotonic() + timeout
    last_retry = time.monotonic()
    while True:
        if pred():
            return True
        now = time.monotonic()
        if now >= deadline:
            return False
        if retry is not None and now - last_retry > 0.1:
            retry()
            last_retry = now
        time.sleep(interval)
        interval = min(interval * 1.5, 0.05)


def rmdir_paths(paths, timeout=5.0):
    err = None
    for p in paths:
        try:
            _util.rmdir_tree(p, timeout)
        except OCIError as exc:
            err = err or exc
    if err is not None:
        raise err


class PollOOMNotifier(OOMNotifier):
    """cgroup v2: memory.events is a kernfs notify file: poll() reports POLLPRI when it changes."""

    def __init__(self, events_path):
        self.path = events_path
        try:
            self.fd = os.open(events_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise OCIError.from_os(f"opening {events_path} for OOM notifications", exc) from exc
        self.last = self._count()

    def _count(self):
        try:
            data = os.pread(self.fd, 4096, 0).decode()
        except OSError:
            return None
        kv = {}
        for line in data.splitlines():
            p = line.split()
            if len(p) == 2:
                kv[p[0]] = int(p[1])
        return kv.get("oom_kill", 0) if kv else None

    def fileno(self):
        return self.fd

    def wait(self, timeout=None):
        import select
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = select.poll()
        poller.register(self.fd, select.POLLPRI | select.POLLERR)
        while True:
            cur = self._count()
            if cur is None:
                return False
            if cur > self.last:
                self.last = cur
                return True
            remaining = None if deadline is None else max(0, deadline - time.monotonic())
            if remaining == 0:
                return False
            # also re-check periodically: a change between read and poll is not lost this way
            poller.poll(int(min(remaining if remaining is not None else 0.5, 0.5) * 1000))

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class EventfdOOMNotifier(OOMNotifier):
    """cgroup v1: register an eventfd for memory.oom_control through cgroup.event_control."""

    def __init__(self, memory_dir):
        self.dir = memory_dir
        self.efd = os.eventfd(0, os.EFD_CLOEXEC)
        ctl = os.path.join(memory_dir, "memory.oom_control")
        try:
            self.ocfd = os.open(ctl, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            os.close(self.efd)
            raise OCIError.from_os(f"opening {ctl} for OOM notifications", exc) from exc
        try:
            _util.write_value(os.path.join(memory_dir, "cgroup.event_control"),
                              f"{self.efd} {self.ocfd}", "oom notification")
        except OCIError:
            self.close()
            raise

    def fileno(self):
        return self.efd

    def wait(self, timeout=None):
        import select
        r, _, _ = select.select([self.efd], [], [], timeout)
        if not r:
            return False
        try:
            os.eventfd_read(self.efd)
        except OSError as exc:
            if exc.errno != errno.EAGAIN:
                raise
        # the eventfd also fires when the cgroup is removed
        return os.path.exists(os.path.join(self.dir, "memory.oom_control"))

    def close(self):
        for attr in ("ocfd", "efd"):
            fd = getattr(self, attr, -1)
            if fd >= 0:
                os.close(fd)
                setattr(self, attr, -1)
