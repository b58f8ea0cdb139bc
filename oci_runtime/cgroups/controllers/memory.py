"""The memory controller: ``linux.resources.memory`` on cgroup v1 (memory.limit_in_bytes,
memory.memsw.*, kmem, swappiness, oom_control...), on cgroup v2 (memory.max, memory.swap.max,
memory.low) and as systemd properties; OCI's memory+swap figure turned into v2's swap-only one;
the memory statistics; and OOM notification (an eventfd on v1, poll of memory.events on v2)."""
import errno
import os
import time

from oci_runtime.errors import OCIError

from ..fields import MAX_UINT64, RESOURCES, flag, num, pointer, v2_num
from ..files import read_int, read_kv, read_or, write_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..views import V1Cgroup, V2Cgroup

FIELD = pointer(RESOURCES, "memory")


def swap_v1_to_v2(swap: int | None, memory: int | None) -> int:
    """OCI memory.swap is memory+swap (v1 memory.memsw.limit_in_bytes); v2 memory.swap.max is swap only.

    Returns the v2 value: -1 = "max", 0 = leave unset.  Raises ValueError like runc
    ConvertMemorySwapToCgroupV2Value.  (memory is 0/None when not given.)
    """
    swap = int(swap or 0)
    memory = int(memory or 0)
    if memory == -1 and swap == 0:
        return -1
    if swap in (-1, 0):
        return swap
    if memory in (0, -1):
        raise ValueError("unable to set swap limit without memory limit")
    if memory < 0:
        raise ValueError(f"invalid memory value: {memory}")
    if swap < memory:
        raise ValueError(f"memory+swap limit ({swap}) should be >= memory limit ({memory})")
    return swap - memory


def swap_v2_string(swap: int | None, memory: int | None) -> str:
    """The string to write to memory.swap.max, or '' to leave it alone (runc fs2 setMemory)."""
    v = swap_v1_to_v2(swap, memory)
    s = v2_num(v)
    if s == "" and v == 0 and int(swap or 0) > 0:
        return "0"      # memory and swap set to the same value: disable swap
    return s


def _check_before_update(mem: "dict[str, Any]", limit: int | None, usage_file: str, updating: bool) -> None:
    if updating and flag(mem, "checkBeforeUpdate", FIELD) and limit is not None and limit > 0:
        usage = read_int(usage_file)
        if usage >= limit:
            raise OCIError(f"{FIELD}/limit: rejecting memory limit {limit} below current usage "
                           f"{usage} (checkBeforeUpdate)")


def apply_v1(cgroup: "V1Cgroup", mem: "dict[str, Any]", updating: bool) -> None:
    f = FIELD
    p = cgroup.controller_dir("memory", f)
    limit = num(mem, "limit", f)
    swap = num(mem, "swap", f)
    limit_file = os.path.join(p, "memory.limit_in_bytes")
    swap_file = os.path.join(p, "memory.memsw.limit_in_bytes")
    _check_before_update(mem, limit, os.path.join(p, "memory.usage_in_bytes"), updating)
    have_swap = os.path.exists(swap_file)
    if limit == -1 and swap is None and have_swap:
        swap = -1

    def set_limit() -> None:
        if limit is None or limit == 0:
            return
        try:
            write_value(limit_file, limit, f"{f}/limit")
        except OCIError as exc:
            if exc.errno == errno.EBUSY:
                usage = read_int(os.path.join(p, "memory.usage_in_bytes"))
                peak = read_int(os.path.join(p, "memory.max_usage_in_bytes"))
                raise OCIError(f"{exc} (current usage: {usage}, peak usage: {peak})", exc.errno) from None
            if exc.errno == errno.EINVAL and have_swap and swap is None:
                memsw = read_int(swap_file)
                if 0 <= memsw < limit:
                    raise OCIError(f"{exc} (the memory+swap limit is {memsw}, lower than the new limit; "
                                   f"set {f}/swap too)", exc.errno) from None
            raise

    def set_swap() -> None:
        if swap is None or swap == 0:
            return
        if not have_swap:
            if swap == -1:
                return
            raise OCIError(f"{f}/swap: swap accounting is not enabled on this host ({swap_file} "
                           f"does not exist)")
        write_value(swap_file, swap, f"{f}/swap")

    if limit and swap:
        cur = read_int(limit_file)
        # order the writes so memsw >= memory holds at every step (runc setMemoryAndSwap)
        if swap == -1 or cur < swap:
            set_swap()
            set_limit()
        else:
            set_limit()
            set_swap()
    else:
        set_limit()
        set_swap()
    v = num(mem, "reservation", f)
    if v is not None and v != 0:
        write_value(os.path.join(p, "memory.soft_limit_in_bytes"), v, f"{f}/reservation")
    for key, fname in (("kernel", "memory.kmem.limit_in_bytes"),
                       ("kernelTCP", "memory.kmem.tcp.limit_in_bytes")):
        v = num(mem, key, f)
        if v is None or v == 0:
            continue
        path = os.path.join(p, fname)
        if not os.path.exists(path):
            if key == "kernel":
                continue    # removed from the kernel; deprecated in the spec, runc ignores it too
            raise OCIError(f"{f}/{key}: {path} does not exist on this kernel")
        try:
            write_value(path, v, f"{f}/{key}")
        except OCIError as exc:
            if key == "kernel" and exc.errno in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
                continue    # kmem limits are no longer supported (Linux >= 5.16); ignored like runc
            raise
    v = num(mem, "swappiness", f)
    if v is not None and v != -1:
        if not 0 <= v <= 100:
            raise OCIError(f"{f}/swappiness: invalid value {v}; valid memory swappiness range is 0-100")
        write_value(os.path.join(p, "memory.swappiness"), v, f"{f}/swappiness")
    disable = flag(mem, "disableOOMKiller", f)
    if disable is not None:
        write_value(os.path.join(p, "memory.oom_control"), "1" if disable else "0",
                    f"{f}/disableOOMKiller")
    hierarchy = flag(mem, "useHierarchy", f)
    if hierarchy is not None:
        path = os.path.join(p, "memory.use_hierarchy")
        want = "1" if hierarchy else "0"
        if read_or(path).strip() != want:
            write_value(path, want, f"{f}/useHierarchy")


def apply_v2(cgroup: "V2Cgroup", mem: "dict[str, Any]", updating: bool) -> None:
    f = FIELD
    limit = num(mem, "limit", f)
    swap = num(mem, "swap", f)
    reservation = num(mem, "reservation", f)
    if limit is None and swap is None and reservation is None:
        return      # kernel, kernelTCP, swappiness, disableOOMKiller, useHierarchy: no v2 files
    _check_before_update(mem, limit, os.path.join(cgroup.path, "memory.current"), updating)
    if swap is not None:
        mem_for_swap = limit
        if mem_for_swap is None:          # update of swap alone: relative to the current limit
            mem_for_swap = read_int(os.path.join(cgroup.path, "memory.max"))
        try:
            s = swap_v2_string(swap, mem_for_swap)
        except ValueError as exc:
            raise OCIError(f"{f}/swap: {exc}") from None
    elif limit == -1:
        s = "max"
    else:
        s = ""
    if s:
        target = os.path.join(cgroup.path, "memory.swap.max")
        if os.path.exists(target):
            write_value(target, s, f"{f}/swap")
        elif s not in ("max", "0"):
            cgroup.require_controller("memory", f"{f}/swap")
            raise OCIError(f"{f}/swap: swap accounting is not available ({target} does not exist)")
    v = v2_num(limit)
    if v:
        write_value(cgroup.controller_file("memory.max", f"{f}/limit"), v, f"{f}/limit")
    v = v2_num(reservation)
    if v:
        write_value(cgroup.controller_file("memory.low", f"{f}/reservation"), v, f"{f}/reservation")


def systemd_properties(mem: "dict[str, Any]", v2: bool) -> "list[tuple[str, str, Any]]":
    props: "list[tuple[str, str, Any]]" = []
    limit = mem.get("limit")
    if limit:
        props.append(("MemoryMax" if v2 else "MemoryLimit", "t", MAX_UINT64 if limit < 0 else limit))
    if v2:
        if mem.get("reservation"):
            res = mem["reservation"]
            props.append(("MemoryLow", "t", MAX_UINT64 if res < 0 else res))
        if mem.get("swap") or limit == -1:
            try:
                sw = swap_v1_to_v2(mem.get("swap"), limit)
            except ValueError as exc:
                raise OCIError(f"{FIELD}/swap: {exc}") from None
            if sw == -1:
                props.append(("MemorySwapMax", "t", MAX_UINT64))
            elif sw > 0 or (mem.get("swap") or 0) > 0:
                props.append(("MemorySwapMax", "t", sw))
    return props


def stats_v1(cgroup: "V1Cgroup") -> "dict[str, Any] | None":
    m = cgroup.paths.get("memory")
    if not m:
        return None

    def entry(prefix: str) -> "dict[str, Any]":
        # v1 reports "unlimited" as a page-rounded LLONG_MAX, given as is (runc too)
        return {"limit": read_int(os.path.join(m, prefix + "limit_in_bytes")),
                "usage": read_int(os.path.join(m, prefix + "usage_in_bytes")),
                "max": read_int(os.path.join(m, prefix + "max_usage_in_bytes")),
                "failcnt": read_int(os.path.join(m, prefix + "failcnt"))}
    raw = read_kv(os.path.join(m, "memory.stat"))
    return {"cache": raw.get("total_cache", raw.get("cache", 0)),
            "usage": entry("memory."), "swap": entry("memory.memsw."),
            "kernel": entry("memory.kmem."), "kernelTCP": entry("memory.kmem.tcp."),
            "raw": raw}


def stats_v2(cgroup: "V2Cgroup") -> "dict[str, Any] | None":
    p = cgroup.path
    if not os.path.exists(os.path.join(p, "memory.current")):
        return None
    raw = read_kv(os.path.join(p, "memory.stat"))
    ev = read_kv(os.path.join(p, "memory.events"))
    lim = read_int(os.path.join(p, "memory.max"))
    swlim = read_int(os.path.join(p, "memory.swap.max"))
    mx = MAX_UINT64
    return {
        "cache": raw.get("file", 0),
        "usage": {"limit": mx if lim < 0 else lim, "usage": read_int(os.path.join(p, "memory.current")),
                  "max": read_int(os.path.join(p, "memory.peak")), "failcnt": ev.get("max", 0)},
        "swap": {"limit": mx if swlim < 0 else swlim,
                 "usage": read_int(os.path.join(p, "memory.swap.current")),
                 "max": read_int(os.path.join(p, "memory.swap.peak")),
                 "failcnt": read_kv(os.path.join(p, "memory.swap.events")).get("max", 0)},
        "raw": raw,
    }


def oom_events_v1(directory: str | None) -> int:
    """OOM kills so far in the v1 memory cgroup ``directory`` (0 without one)."""
    if directory is None:
        return 0
    return read_kv(os.path.join(directory, "memory.oom_control")).get("oom_kill", 0)


def oom_events_v2(directory: str) -> int:
    return read_kv(os.path.join(directory, "memory.events")).get("oom_kill", 0)


class OOMNotifier:
    """Pollable OOM notification source.  ``fileno()`` can go into select/poll; ``wait(timeout)``
    returns True when at least one OOM event happened since the last call (False on timeout or when
    the cgroup went away); ``close()`` releases the fds."""

    def fileno(self) -> int:
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> "OOMNotifier":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PollOOMNotifier(OOMNotifier):
    """cgroup v2: memory.events is a kernfs notify file: poll() reports POLLPRI when it changes."""

    path: str
    fd: int
    last: int | None

    def __init__(self, events_path: str) -> None:
        self.path = events_path
        try:
            self.fd = os.open(events_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise OCIError.from_os(f"opening {events_path} for OOM notifications", exc) from exc
        self.last = self._count()

    def _count(self) -> int | None:
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

    def fileno(self) -> int:
        return self.fd

    def wait(self, timeout: float | None = None) -> bool:
        import select
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = select.poll()
        poller.register(self.fd, select.POLLPRI | select.POLLERR)
        while True:
            cur = self._count()
            if cur is None:
                return False
            if self.last is None or cur > self.last:
                self.last = cur
                return True
            remaining = None if deadline is None else max(0, deadline - time.monotonic())
            if remaining == 0:
                return False
            # also re-check periodically: a change between read and poll is not lost this way
            poller.poll(int(min(remaining if remaining is not None else 0.5, 0.5) * 1000))

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class EventfdOOMNotifier(OOMNotifier):
    """cgroup v1: register an eventfd for memory.oom_control through cgroup.event_control."""

    dir: str
    efd: int
    ocfd: int

    def __init__(self, memory_dir: str) -> None:
        self.dir = memory_dir
        self.efd = os.eventfd(0, os.EFD_CLOEXEC)
        ctl = os.path.join(memory_dir, "memory.oom_control")
        try:
            self.ocfd = os.open(ctl, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            os.close(self.efd)
            raise OCIError.from_os(f"opening {ctl} for OOM notifications", exc) from exc
        try:
            write_value(os.path.join(memory_dir, "cgroup.event_control"),
                        f"{self.efd} {self.ocfd}", "oom notification")
        except OCIError:
            self.close()
            raise

    def fileno(self) -> int:
        return self.efd

    def wait(self, timeout: float | None = None) -> bool:
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

    def close(self) -> None:
        for attr in ("ocfd", "efd"):
            fd = getattr(self, attr, -1)
            if fd >= 0:
                os.close(fd)
                setattr(self, attr, -1)
