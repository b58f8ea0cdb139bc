"""The cgroupfs manager for cgroup v1; in hybrid mode it also places processes in the cgroup v2
(unified) hierarchy and uses it for controllers that only exist there (e.g. hugetlb on this kind
of host) and for ``linux.resources.unified`` keys of controllers enabled there.  What each
controller writes is in oci_runtime.cgroups.controllers."""
import os

from oci_runtime.errors import OCIError

from . import dispatch, files
from .base import CgroupJoin, CgroupManager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .controllers.memory import OOMNotifier


class V1Manager(CgroupManager):
    root: str
    inner: str
    paths: dict[str, str]
    mounts: dict[str, str]
    unified: str | None
    unified_mount: str | None
    mode: str
    # Set by create(): apply() then places the process without making every directory again
    # (create's launch makes them before the executor starts, and places the init later).
    created: bool = False

    def __init__(self, root: str, inner: str, paths: dict[str, str], mounts: dict[str, str],
                 unified: str | None = None, unified_mount: str | None = None,
                 mode: str = "v1") -> None:
        self.root = root
        self.inner = inner                 # the cgroup's path inside the hierarchies ("/a/b")
        self.paths = dict(paths)           # controller -> directory
        self.mounts = dict(mounts)         # controller -> hierarchy mountpoint
        self.unified = unified             # hybrid: directory in the v2 hierarchy
        self.unified_mount = unified_mount
        self.mode = mode

    # -- bookkeeping --------------------------------------------------------------------------
    def to_dict(self) -> "dict[str, Any]":
        return {"driver": "cgroupfs", "mode": self.mode, "root": self.root, "inner": self.inner,
                "paths": dict(self.paths), "mounts": dict(self.mounts), "unified": self.unified,
                "unified_mount": self.unified_mount, "directories": self._dirs()}

    @classmethod
    def from_dict(cls, d: "dict[str, Any]") -> "V1Manager":
        return cls(d["root"], d.get("inner", ""), d["paths"], d.get("mounts", {}), d.get("unified"),
                   d.get("unified_mount"), d.get("mode", "v1"))

    def _dirs(self) -> list[str]:
        seen, out = set(), []
        for p in self.paths.values():
            if p not in seen:
                seen.add(p)
                out.append(p)
        if self.unified and self.unified not in seen:
            out.append(self.unified)
        return out

    def directories(self) -> dict[str, str]:
        directories = dict(self.paths)
        if self.unified:
            directories[""] = self.unified
        return directories

    def path_for(self, controller: str) -> str:
        if controller in ("", "unified"):
            if self.unified is None:
                raise OCIError(f"no cgroup v2 hierarchy on this host (mode {self.mode})")
            return self.unified
        p = self.paths.get(controller)
        if p is None and controller == "hugetlb" and self.unified and self.unified_has("hugetlb"):
            return self.unified
        if p is None:
            raise OCIError(f"the {controller} cgroup controller is not available on this host")
        return p

    def controller_dir(self, ctrl: str, field: str) -> str:
        """The directory for v1 controller ``ctrl``; OCIError naming ``field`` without one."""
        p = self.paths.get(ctrl)
        if p is None:
            raise OCIError(f"{field}: the {ctrl} cgroup controller is not available on this host "
                           f"(no cgroup v1 hierarchy for it under {self.root})")
        return p

    def unified_has(self, ctrl: str) -> bool:
        """Hybrid: whether the cgroup2 hierarchy has controller ``ctrl``."""
        if not self.unified_mount:
            return False
        return ctrl in files.read_words(os.path.join(self.unified_mount, "cgroup.controllers"))

    def exists(self) -> bool:
        return any(os.path.isdir(p) for p in self._dirs())

    # -- lifecycle ----------------------------------------------------------------------------
    def create(self) -> None:
        for ctrl, p in self.paths.items():
            if ctrl == "cpuset":
                from .controllers import cpuset
                cpuset.create_v1(p, self.mounts.get("cpuset") or os.path.dirname(p))
            else:
                files.mkdir_p(p)
        if self.unified:
            files.mkdir_p(self.unified)
        self.created = True

    def apply(self, pid: int) -> None:
        if not self.created:
            self.create()
        for p in self._dirs():
            files.write_procs(p, pid)

    def join(self, clone_into: bool) -> CgroupJoin:
        v1 = tuple(f"{p}/tasks" for p in self._dirs() if p != self.unified)
        if not self.unified:
            return CgroupJoin(thread_files=v1)
        if not clone_into:
            return CgroupJoin(thread_files=v1, by_runtime=(self.unified,))
        return CgroupJoin(clone_into=self.unified, thread_files=v1)

    def destroy(self, timeout: float = 5.0) -> None:
        files.rmdir_paths(self._dirs(), timeout)

    def write_resources(self, resources: "dict[str, Any]", updating: bool) -> None:
        dispatch.write_resources(self, resources, updating, v2=False)

    def check_resources(self, resources: "dict[str, Any]") -> None:
        dispatch.check_resources(self, resources, v2=False)

    # -- freezer ------------------------------------------------------------------------------
    def freeze(self) -> None:
        from .controllers import freezer
        freezer.freeze_v1(self.controller_dir("freezer", "freeze"))

    def thaw(self) -> None:
        from .controllers import freezer
        freezer.thaw_v1(self.controller_dir("freezer", "thaw"))

    def is_frozen(self) -> bool:
        from .controllers import freezer
        return freezer.is_frozen_v1(self.paths.get("freezer"))

    def frozen_at(self) -> str | None:
        from .controllers import freezer
        directory = self.paths.get("freezer")
        frozen = None if directory is None else freezer.frozen_at_v1(
            directory, self.mounts.get("freezer"))
        if frozen is None and self.unified:   # hybrid: cgroup.freeze of the v2 side freezes too
            frozen = freezer.frozen_at_v2(self.unified, self.unified_mount)
        return frozen

    def pids(self) -> list[int]:
        for ctrl in ("freezer", "devices", "memory", "pids", "cpu", "name=systemd"):
            if ctrl in self.paths:
                return sorted(set(files.procs_recursive(self.paths[ctrl])))
        return sorted(set(files.procs_recursive(self.unified))) if self.unified else []

    # -- observation --------------------------------------------------------------------------
    def oom_events(self) -> int:
        from .controllers import memory
        return memory.oom_events_v1(self.paths.get("memory"))

    def oom_notifier(self) -> "OOMNotifier":
        from .controllers import memory
        return memory.EventfdOOMNotifier(self.controller_dir("memory", "oom notification"))

    def stats(self) -> "dict[str, Any]":
        return dispatch.stats(self, v2=False)
