"""The CgroupManager interface (modelled on youki's CgroupManager trait): what every driver
(cgroupfs v1/hybrid, cgroupfs v2, systemd) does for a container's cgroup, and the parts they
share (set/update, kill via the freezer, `exec --cgroup`'s sub-cgroups)."""
import os
import time

from oci_runtime.errors import OCIError
from oci_runtime.kernel import hotpath

from . import files

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .controllers.memory import OOMNotifier


class CgroupJoin:
    """How a new process enters the container's cgroup by itself, the runtime writing no pid for
    it (the executor's FORK and JOIN_CGROUP steps): born in ``clone_into`` (a cgroup v2
    directory: clone3's CLONE_INTO_CGROUP), then writing "0" to each of ``thread_files``
    (cgroup v1 ``tasks`` files: the calling thread, of a single-threaded process).  Neither
    write-locks the kernel's cgroup_threadgroup_rwsem, whose first writer after a quiet spell
    waits for an RCU grace period (5-15 ms per create on this host, holding cgroup_mutex, so
    that every cgroup mkdir meanwhile waits too).  ``by_runtime``: directories the runtime
    still places the pid in (a cgroup v2 hierarchy the process, in a new user namespace, may
    not enter by itself)."""

    __slots__ = ("clone_into", "thread_files", "by_runtime")

    def __init__(self, clone_into: str | None = None, thread_files: "tuple[str, ...]" = (),
                 by_runtime: "tuple[str, ...]" = ()) -> None:
        self.clone_into = clone_into
        self.thread_files = thread_files
        self.by_runtime = by_runtime


class CgroupManager:
    """One container's cgroup (on every hierarchy that applies).

    Implementations: V1Manager (cgroupfs v1; also hybrid, adding membership of the v2 hierarchy),
    V2Manager (cgroupfs v2) and SystemdManager (a transient unit via D-Bus, then cgroupfs writes).
    """

    driver: str = "cgroupfs"
    mode: str | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def create(self) -> None:
        """Create the cgroup directories (parents included)."""
        raise NotImplementedError

    def apply(self, pid: int) -> None:
        """Place ``pid`` in the cgroup on every hierarchy (creating the directories if needed)."""
        raise NotImplementedError

    def join(self, clone_into: bool) -> CgroupJoin | None:
        """How a new process (not yet forked) may enter the cgroup by itself, or None: the
        runtime places it with apply() (systemd, which moves it itself).  ``clone_into``: it is
        forked with the runtime's credentials and cgroup namespace, so that CLONE_INTO_CGROUP
        may place it (that checks the child's credentials, and a cgroup2 mounted with
        nsdelegate refuses, ENOENT, a move across what the forking process's cgroup namespace
        sees)."""
        return None

    def expect_placement(self, join: CgroupJoin | None) -> None:
        """Before a process is forked that will enter the cgroup as ``join`` says: when the
        runtime is to move it in from outside (place()), start paying the kernel's RCU grace
        period now, in the background (files.warm_up_attach)."""
        if join is None or join.by_runtime:
            files.warm_up_attach()

    def place(self, pid: int, join: CgroupJoin | None) -> None:
        """Finish placing ``pid``, which entered the cgroup as ``join`` (this manager's join())
        says: apply() when it did not, else the directories left to the runtime."""
        if join is None:
            self.apply(pid)
            return
        for directory in join.by_runtime:
            files.write_procs(directory, pid)

    def set(self, resources: "dict[str, Any] | None") -> None:
        """Apply a raw ``linux.resources`` dict (config.json)."""
        self.write_resources(resources or {}, updating=False)

    def update(self, resources: "dict[str, Any] | None") -> None:
        """Like set(), for ``oci-runtime update``: only the given fields change, and
        memory.checkBeforeUpdate rejects a limit below current usage."""
        self.write_resources(resources or {}, updating=True)

    def write_resources(self, resources: "dict[str, Any]", updating: bool) -> None:
        """set() or update() (``updating``): each controller's part of ``resources``."""
        raise NotImplementedError

    def check_resources(self, resources: "dict[str, Any]") -> None:
        """Refuse, before anything is made, ``resources`` this host's hierarchies cannot take
        (dispatch.check_resources); the kernel still has the last word when they are written."""
        raise NotImplementedError

    def destroy(self, timeout: float = 5.0) -> None:
        """Remove the cgroup directories bottom-up (retrying EBUSY up to ``timeout`` seconds);
        kills nothing."""
        raise NotImplementedError

    def remove_after_kill(self, timeout: float = 1.0) -> None:
        """SIGKILL every process left, wait (``timeout`` at most) for the cgroup to empty, then
        remove it: what an undo or `delete --force` does, never waiting seconds on EBUSY."""
        if self.pids():
            self.kill_all(hotpath.SIGKILL)
            deadline = time.monotonic() + timeout
            while self.pids():  # a killed process leaves within milliseconds: poll that often
                if time.monotonic() > deadline:
                    raise OCIError(f"cgroup of the container: processes {self.pids()[:8]} still "
                                   f"in it {timeout:g} s after SIGKILL")
                time.sleep(0.001)
        self.destroy(timeout=timeout)

    def exists(self) -> bool:
        raise NotImplementedError

    def check_before_create(self) -> None:
        """runc's preconditions for a new container's cgroup (libcontainer's Create), so that
        create fails at once with one line instead of sharing, or hanging in, a cgroup it did
        not make: it may exist, but hold no process (another container's would be counted,
        frozen and killed as this one's), and be neither frozen nor below a frozen cgroup (the
        init could never run).  The messages begin with runc's words."""
        found = sorted({pid for directory in self.directories().values()
                        for pid in files.procs_recursive(directory)})
        if found:
            shown = " ".join(map(str, found[:8])) + (" ..." if len(found) > 8 else "")
            raise OCIError(f"container's cgroup is not empty: {len(found)} process(es) found "
                           f"in {self.describe()} (pids {shown})")
        frozen = self.frozen_at()
        if frozen is not None:
            where = "it" if frozen in self.directories().values() else f"its parent {frozen}"
            raise OCIError(f"container's cgroup unexpectedly frozen: {self.describe()} ({where} "
                           f"is frozen; thaw it, or use another linux.cgroupsPath)")

    def frozen_at(self) -> str | None:
        """The directory that keeps the cgroup frozen (its own, or the nearest existing
        ancestor's when it does not exist yet), or None."""
        raise NotImplementedError

    def describe(self) -> str:
        """The cgroup for messages: its first directory."""
        return next(iter(self.directories().values()), "the container's cgroup")

    def realtime_problem(self, policy: str) -> str | None:
        """Why processes with the scheduler ``policy`` cannot run in this cgroup (a real-time
        one without real-time runtime: see controllers/cpu.py), or None."""
        from .controllers import cpu

        if policy not in cpu.REALTIME_POLICIES:
            return None
        try:
            directory = self.path_for("cpu")
        except OCIError:
            return None
        return cpu.realtime_budget_problem(directory, policy)

    # -- freezer ------------------------------------------------------------------------------
    def freeze(self) -> None:
        raise NotImplementedError

    def thaw(self) -> None:
        raise NotImplementedError

    def is_frozen(self) -> bool:
        raise NotImplementedError

    # -- processes ----------------------------------------------------------------------------
    def pids(self) -> list[int]:
        """All pids in the cgroup and its descendants."""
        raise NotImplementedError

    def kill_all(self, sig: int = hotpath.SIGKILL) -> None:
        """Signal every process: freeze, signal each pid, thaw (so nothing forks in between)."""
        self._signal_frozen(sig)

    def _signal_frozen(self, sig: int) -> None:
        """Signal every process with the cgroup frozen (best effort without a freezer).

        A cgroup that was frozen already (a paused container) stays frozen, its processes
        getting the signal when resumed, except for SIGKILL: then it is thawed, as runc does,
        for a frozen task dies only once thawed."""
        was_frozen = frozen = False
        try:
            was_frozen = self.is_frozen()
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
            if frozen and (sig == hotpath.SIGKILL or not was_frozen):
                self.thaw()

    # -- where the cgroup is ------------------------------------------------------------------
    def directories(self) -> dict[str, str]:
        """{controller: directory} of the container's cgroup on every hierarchy, '' for the
        cgroup v2 one, as runc keeps them in its state (so `exec --cgroup`'s controller names
        are runc's)."""
        raise NotImplementedError

    def sub_cgroup_directories(self, sub_cgroups: dict[str, str]) -> list[str]:
        """The directories an `exec --cgroup` process joins: each hierarchy's container cgroup,
        or the sub-cgroup below it that ``sub_cgroups`` ({controller: path}, '' = every
        hierarchy) names.  A path is relative to the container's cgroup even with a leading
        '/', and may not climb out of it (runc: "is not a sub cgroup path")."""
        directories = self.directories()
        joined = dict(directories)
        if "" in sub_cgroups:
            wanted = {controller: sub_cgroups[""] for controller in directories}
        else:
            unknown = sorted(set(sub_cgroups) - set(directories))
            if unknown:
                raise OCIError(f"exec --cgroup: unknown controller {', '.join(unknown)} (this "
                               f"container has: {', '.join(sorted(c for c in directories if c))})")
            wanted = sub_cgroups
        for controller, sub_path in wanted.items():
            base = directories[controller]
            candidate = os.path.normpath(f"{base}/{sub_path.lstrip('/')}")
            if candidate != base and not candidate.startswith(base + "/"):
                raise OCIError(f"exec --cgroup: {sub_path} is not a sub cgroup path")
            joined[controller] = candidate
        return sorted(set(joined.values()))

    def join_existing(self, directories: list[str], pid: int) -> None:
        """Move ``pid`` into ``directories`` (sub_cgroup_directories()), which must exist."""
        files.join_existing(directories, pid)

    def path_for(self, controller: str) -> str:
        """Directory of this cgroup for ``controller`` ('' or 'unified' = the v2 hierarchy)."""
        raise NotImplementedError

    # -- observation --------------------------------------------------------------------------
    def stats(self) -> "dict[str, Any]":
        """runc ``events --stats`` "data"-shaped dict."""
        raise NotImplementedError

    def oom_events(self) -> int:
        """Number of OOM kills seen in this cgroup so far."""
        raise NotImplementedError

    def oom_notifier(self) -> "OOMNotifier":
        """An OOMNotifier to wait for OOM events."""
        raise NotImplementedError

    def to_dict(self) -> "dict[str, Any]":
        """What the container's state records, for manager_from_dict; a cgroupfs manager's
        holds "directories", the container's cgroup directories (one per hierarchy), which a
        delete removes without rebuilding the manager (oci_runtime.cgroups.remove_empty)."""
        raise NotImplementedError
