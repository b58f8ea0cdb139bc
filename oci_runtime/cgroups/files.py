"""Cgroup file I/O shared by the managers and controllers: reads that tolerate a missing file,
writes whose errors name the field (a JSON pointer) being applied, moving a process in, listing
and removing cgroup trees, enabling v2 controllers for a subtree.  Only ``os``, ``errno`` and
``time`` are imported (cheap: this is on create's path)."""
import errno
import os
import time

from oci_runtime.errors import OCIError

from .fields import CGROUPS_PATH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Iterable


def read_text(path: str) -> str:
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def read_or(path: str, default: str = "") -> str:
    """The file's text, or ``default`` when it cannot be read."""
    try:
        return read_text(path)
    except OSError:
        return default


def read_int(path: str, default: int = 0) -> int:
    """Read a single integer ('max' -> -1)."""
    try:
        s = read_text(path)
    except OSError:
        return default
    s = s.strip().split()[0] if s.strip() else ""
    if s == "max":
        return -1
    try:
        return int(s)
    except ValueError:
        return default


def read_kv(path: str) -> dict[str, int]:
    """Read a flat keyed file ("key value" per line) into {key: int}."""
    res: dict[str, int] = {}
    s = read_or(path)
    if not s:
        return res
    for line in s.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                res[parts[0]] = int(parts[1])
            except ValueError:
                res[parts[0]] = -1 if parts[1] == "max" else 0
    return res


def read_words(path: str) -> list[str]:
    """The whitespace-separated words of a file ([] when it cannot be read): cgroup.controllers."""
    return read_or(path).split()


def write_value(path: str, value: object, field: str) -> None:
    """Write ``value`` (one write(2)) to a cgroup file; on failure raise an OCIError naming the field."""
    value = str(value)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OCIError(f'{field}: writing "{value}" to {path}: {reason}', exc.errno or 0) from exc


def mkdir_p(path: str, field: str = CGROUPS_PATH) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise OCIError.from_os(f"{field}: creating cgroup directory {path}", exc) from exc


def write_procs(dirpath: str, pid: int, field: str = CGROUPS_PATH) -> None:
    """Move pid into the cgroup; retries EINVAL briefly (the task may be mid-fork), like runc."""
    path = os.path.join(dirpath, "cgroup.procs")
    for attempt in range(5):
        try:
            write_value(path, pid, field)
            return
        except OCIError as exc:
            if exc.errno != errno.EINVAL or attempt == 4:
                raise
            time.sleep(0.03)


def v2_leaf_rule(directory: str) -> str:
    """Why cgroup v2 refuses a process in ``directory`` with EBUSY: for the message."""
    return (f"cgroup v2 forbids processes in a cgroup that has controllers enabled for its "
            f"children; {directory} must be a leaf")


def join_existing(directories: "Iterable[str]", pid: int) -> None:
    """Move ``pid`` into existing cgroup directories (`exec --cgroup`'s sub-cgroups): unlike the
    container's own cgroup, a sub-cgroup is never created (runc neither): a typo must not make
    a new cgroup."""
    for directory in directories:
        try:
            with open(f"{directory}/cgroup.procs", "w") as procs:
                procs.write(str(pid))
        except OSError as exc:
            hint = ""
            if exc.errno == errno.ENOSPC and os.path.exists(f"{directory}/cpuset.cpus"):
                hint = " (a new cgroup v1 cpuset has no cpuset.cpus/cpuset.mems until they are set)"
            raise OCIError(f"exec --cgroup: adding pid {pid} to {directory}/cgroup.procs: "
                           f"{exc.strerror}{hint}", exc.errno or 0) from exc


def procs_recursive(dirpath: str) -> list[int]:
    """All pids in cgroup.procs of dirpath and every descendant cgroup."""
    pids = []
    for d, _subdirs, _files in os.walk(dirpath):
        for line in read_or(os.path.join(d, "cgroup.procs")).split():
            try:
                pids.append(int(line))
            except ValueError:
                pass
    return pids


def rmdir_tree(dirpath: str, timeout: float = 5.0) -> None:
    """Remove a cgroup directory and its child cgroups bottom-up (cgroup dirs can only be rmdir'ed).

    EBUSY (tasks still exiting) is retried with backoff up to ``timeout`` seconds; nothing is killed.
    """
    if not os.path.isdir(dirpath):
        return
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        dirs = [d for d, _s, _f in os.walk(dirpath)]
        busy = None
        for d in reversed(dirs):   # os.walk is top-down: reversed is bottom-up
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError as exc:
                if exc.errno in (errno.EBUSY, errno.ENOTEMPTY, errno.EAGAIN):
                    busy = exc
                    break
                raise OCIError.from_os(f"removing cgroup {d}", exc) from exc
        if busy is None:
            return
        if time.monotonic() >= deadline:
            raise OCIError.from_os(f"removing cgroup {busy.filename or dirpath} (processes still in it?)", busy) from busy
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def rmdir_paths(paths: "Iterable[str]", timeout: float = 5.0) -> None:
    """rmdir_tree() each path; every one is tried, the first error is raised after."""
    err = None
    for p in paths:
        try:
            rmdir_tree(p, timeout)
        except OCIError as exc:
            err = err or exc
    if err is not None:
        raise err


def wait_until(pred: "Callable[[], bool]", timeout: float, interval: float = 0.005,
               retry: "Callable[[], object] | None" = None) -> bool:
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


def enable_controllers(mount: str, path: str, ctrls: list[str], field: str) -> None:
    """cgroup v2: enable ``ctrls`` in cgroup.subtree_control of every ancestor of ``path`` below
    ``mount``."""
    rel = os.path.relpath(path, mount)
    cur = mount
    for comp in [] if rel == "." else rel.split("/"):
        sc = os.path.join(cur, "cgroup.subtree_control")
        enabled = read_words(sc)
        missing = [c for c in ctrls if c not in enabled]
        if missing:
            write_value(sc, " ".join("+" + c for c in missing), field)
        cur = os.path.join(cur, comp)


def warm_up_attach() -> None:
    """Start, in a background thread, a move of this process into the cgroup it is already in.

    Moving a process between cgroups takes the kernel's cgroup_threadgroup_rwsem for writing,
    and the first writer after a quiet spell waits for an RCU grace period (several ms; the
    largest single cost of create on cgroup v1).  Writers that follow within about one grace
    period find it already passed.  The move changes nothing (same cgroup); its only effect is
    that placing the container's init a few ms later is fast.  Errors are ignored: this is an
    optimisation, never a requirement."""
    from oci_runtime.kernel import hotpath

    try:
        with open("/proc/self/cgroup", "rb") as membership:
            first = membership.readline().decode().rstrip("\n")
    except OSError:
        return
    _, controllers, path = first.split(":", 2)
    directory = controllers.replace("name=", "") if controllers else "unified"
    candidates = [f"/sys/fs/cgroup/{directory}{path}", f"/sys/fs/cgroup{path}"]

    def move_to_own_cgroup() -> None:
        for candidate in candidates:
            try:
                fd = os.open(f"{candidate.rstrip('/')}/cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                os.write(fd, b"0")
            except OSError:
                pass
            finally:
                os.close(fd)
            return

    hotpath.start_new_thread(move_to_own_cgroup, ())
