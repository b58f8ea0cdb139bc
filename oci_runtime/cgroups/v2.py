"""The cgroupfs manager for cgroup v2 (the unified hierarchy).  What each controller writes is
in oci_runtime.cgroups.controllers."""
import errno
import os

from oci_runtime.errors import OCIError
from oci_runtime.kernel import hotpath

from . import dispatch, files
from .base import CgroupJoin, CgroupManager
from .fields import CGROUPS_PATH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .controllers.memory import OOMNotifier


class V2Manager(CgroupManager):
    mode = "v2"
    root: str
    inner: str
    path: str
    # Set by create(): apply() then places the process without walking the ancestors again.
    created: bool = False

    def __init__(self, root: str, inner: str, path: str) -> None:
        self.root = root            # the cgroup2 mountpoint
        self.inner = inner          # "/a/b"
        self.path = path            # root + inner

    def to_dict(self) -> "dict[str, Any]":
        return {"driver": "cgroupfs", "mode": "v2", "root": self.root, "inner": self.inner,
                "path": self.path, "directories": [self.path]}

    @classmethod
    def from_dict(cls, d: "dict[str, Any]") -> "V2Manager":
        return cls(d["root"], d.get("inner", ""), d["path"])

    def path_for(self, controller: str) -> str:
        return self.path

    def directories(self) -> dict[str, str]:
        return {"": self.path}

    def exists(self) -> bool:
        return os.path.isdir(self.path)

    def require_controller(self, ctrl: str, field: str) -> None:
        """OCIError naming ``field`` unless controller ``ctrl`` is enabled for the cgroup."""
        avail = files.read_words(os.path.join(self.path, "cgroup.controllers"))
        if ctrl not in avail:
            raise OCIError(f"{field}: the {ctrl} controller is not enabled for {self.path} "
                           f"(available: {' '.join(avail) or 'none'})")

    def controller_file(self, name: str, field: str) -> str:
        """The cgroup's file ``name``; when it is missing, OCIError naming ``field`` if its
        controller is not enabled."""
        target = os.path.join(self.path, name)
        if not os.path.exists(target):
            self.require_controller(name.split(".", 1)[0], field)
        return target

    # -- lifecycle ----------------------------------------------------------------------------
    def create(self) -> None:
        """mkdir every level and enable all available controllers in each ancestor (runc
        CreateCgroupPath); a controller the kernel refuses is skipped, not fatal."""
        rel = os.path.relpath(self.path, self.root)
        cur = self.root
        for comp in [] if rel == "." else rel.split("/"):
            self._enable_all(cur)
            cur = os.path.join(cur, comp)
            files.mkdir_p(cur)
        self.created = True

    @staticmethod
    def _enable_all(d: str) -> None:
        sc = os.path.join(d, "cgroup.subtree_control")
        avail = files.read_words(os.path.join(d, "cgroup.controllers"))
        have = files.read_words(sc)
        missing = [c for c in avail if c not in have]
        if not missing:
            return
        try:
            files.write_value(sc, " ".join("+" + c for c in missing), CGROUPS_PATH)
        except OCIError:
            for c in missing:
                try:
                    files.write_value(sc, "+" + c, CGROUPS_PATH)
                except OCIError:
                    pass

    def apply(self, pid: int) -> None:
        if not self.created:
            self.create()
        try:
            files.write_procs(self.path, pid)
        except OCIError as exc:
            if exc.errno == errno.EBUSY:
                raise OCIError(f"{exc} ({files.v2_leaf_rule(self.path)})", exc.errno) from None
            raise

    def join(self, clone_into: bool) -> CgroupJoin | None:
        return CgroupJoin(clone_into=self.path) if clone_into else None  # else apply()

    def destroy(self, timeout: float = 5.0) -> None:
        files.rmdir_paths([self.path], timeout)

    def write_resources(self, resources: "dict[str, Any]", updating: bool) -> None:
        dispatch.write_resources(self, resources, updating, v2=True)

    def check_resources(self, resources: "dict[str, Any]") -> None:
        dispatch.check_resources(self, resources, v2=True)

    # -- freezer ------------------------------------------------------------------------------
    def freeze(self) -> None:
        from .controllers import freezer
        freezer.freeze_v2(self.path)

    def thaw(self) -> None:
        from .controllers import freezer
        freezer.thaw_v2(self.path)

    def is_frozen(self) -> bool:
        from .controllers import freezer
        return freezer.is_frozen_v2(self.path)

    def frozen_at(self) -> str | None:
        from .controllers import freezer
        return freezer.frozen_at_v2(self.path, self.root)

    def pids(self) -> list[int]:
        return sorted(set(files.procs_recursive(self.path)))

    def kill_all(self, sig: int = hotpath.SIGKILL) -> None:
        kill = os.path.join(self.path, "cgroup.kill")
        if sig == hotpath.SIGKILL and os.path.exists(kill):
            files.write_value(kill, "1", "kill")
            return
        self._signal_frozen(sig)

    # -- observation --------------------------------------------------------------------------
    def oom_events(self) -> int:
        from .controllers import memory
        return memory.oom_events_v2(self.path)

    def oom_notifier(self) -> "OOMNotifier":
        from .controllers import memory
        return memory.PollOOMNotifier(os.path.join(self.path, "memory.events"))

    def stats(self) -> "dict[str, Any]":
        return dispatch.stats(self, v2=True)
