"""The systemd cgroup driver (runc --systemd-cgroup): the container's cgroup is a transient unit
(cgroupsPath "slice:prefix:name" -> unit "prefix-name.scope" in "slice") started over D-Bus with
StartTransientUnit and the properties runc sets; everything systemd has no property for is then
written through cgroupfs by the v1/v2 manager underneath.

D-Bus is spoken through ``busctl`` (systemd's own client), so no D-Bus library is needed.  The
unit properties come from the controllers (oci_runtime.cgroups.dispatch.systemd_properties).
"""

import os
import time

from oci_runtime.errors import OCIError
from oci_runtime.kernel import hotpath

from . import dispatch, files
from .base import CgroupManager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .controllers.memory import OOMNotifier
    from .v1 import V1Manager
    from .v2 import V2Manager

NOT_RUNNING = "systemd cgroup driver requested but systemd is not running"
_DEST = ("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager")


def systemd_running(run_dir: str = "/run/systemd/system") -> bool:
    """sd_booted(): systemd is PID 1 when /run/systemd/system exists."""
    return os.path.isdir(run_dir)


def _busctl(args: list[str], what: str) -> str:
    import shutil
    import subprocess
    exe = shutil.which("busctl")
    if exe is None:
        raise OCIError(f"{what}: busctl not found (needed to talk to systemd over D-Bus)")
    try:
        res = subprocess.run([exe, "--system", *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OCIError(f"{what}: running busctl: {exc}") from exc
    if res.returncode != 0:
        raise OCIError(f"{what}: {res.stderr.strip() or res.stdout.strip() or 'busctl failed'}")
    return res.stdout.strip()


def _encode_props(props: "list[tuple[str, str, Any]]") -> list[str]:
    """[(name, signature, value)] -> busctl argument words for a(sv)."""
    out = [str(len(props))]
    for name, sig, value in props:
        out += [name, sig]
        if sig == "b":
            out.append("true" if value else "false")
        elif sig in ("au", "at"):
            out.append(str(len(value)))
            out += [str(int(v)) for v in value]
        elif sig == "ay":
            out.append(str(len(value)))
            out += [str(b) for b in value]
        else:
            out.append(str(value))
    return out


def expand_slice(slice_name: str) -> str:
    """'a-b-c.slice' -> '/a.slice/a-b.slice/a-b-c.slice' (runc systemd ExpandSlice); '-.slice' -> '/'."""
    suffix = ".slice"
    if not slice_name.endswith(suffix) or len(slice_name) < len(suffix) or "/" in slice_name:
        raise ValueError(f"invalid slice name {slice_name!r}")
    if slice_name == "-.slice":
        return "/"
    name = slice_name[:-len(suffix)]
    path, prefix = "", ""
    for comp in name.split("-"):
        if comp == "":
            raise ValueError(f"invalid slice name {slice_name!r}")
        path += "/" + prefix + comp + suffix
        prefix += comp + "-"
    return path


def parse_systemd_path(cgroups_path: str | None, container_id: str,
                       default_prefix: str = "oci-runtime") -> tuple[str, str]:
    """'slice:prefix:name' -> (slice, unit name).  Absent path -> ('system.slice', '<prefix>-<id>.scope').

    An empty slice means system.slice (runc's default for root); a name ending in .slice asks for a
    slice unit instead of a scope.
    """
    if not cgroups_path:
        parent, prefix, name = "", default_prefix, container_id
    else:
        parts = cgroups_path.split(":")
        if len(parts) != 3:
            raise ValueError(f'expected cgroupsPath to be of format "slice:prefix:name" for systemd '
                             f'cgroups, got {cgroups_path!r} instead')
        parent, prefix, name = parts
    if not name:
        raise ValueError(f"cgroupsPath {cgroups_path!r}: empty unit name")
    parent = parent or "system.slice"
    if name.endswith(".slice"):
        unit = name
    elif prefix:
        unit = f"{prefix}-{name}.scope"
    else:
        unit = f"{name}.scope"
    return parent, unit


class SystemdManager(CgroupManager):
    driver = "systemd"

    slice: str
    unit: str
    fs: "V1Manager | V2Manager"
    started: bool

    def __init__(self, slice_name: str, unit: str, fs: "V1Manager | V2Manager",
                 started: bool = False) -> None:
        self.slice = slice_name
        self.unit = unit
        self.fs = fs
        self.mode = fs.mode
        self.started = started
        self._pending: "dict[str, Any] | None" = None

    def to_dict(self) -> "dict[str, Any]":
        return {"driver": "systemd", "mode": self.mode, "slice": self.slice, "unit": self.unit,
                "started": self.started, "fs": self.fs.to_dict()}

    @classmethod
    def from_dict(cls, d: "dict[str, Any]", fs: "V1Manager | V2Manager") -> "SystemdManager":
        """Rebuild from to_dict(); ``fs`` is the cgroupfs manager rebuilt from d["fs"]."""
        return cls(d["slice"], d["unit"], fs, d.get("started", True))

    @property
    def root(self) -> str:
        return self.fs.root

    def path_for(self, controller: str) -> str:
        return self.fs.path_for(controller)

    def directories(self) -> dict[str, str]:
        return self.fs.directories()

    def exists(self) -> bool:
        return self.fs.exists()

    # -- D-Bus ----------------------------------------------------------------------------------
    def _check(self) -> None:
        if not systemd_running():
            raise OCIError(NOT_RUNNING)

    def _wait_job(self, job: str, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                _busctl(["get-property", "org.freedesktop.systemd1", job, "org.freedesktop.systemd1.Job",
                         "State"], what)
            except OCIError:
                return      # the job object is gone: finished
            time.sleep(0.02)
        raise OCIError(f"{what}: timed out waiting for systemd job {job}")

    def _unit_state(self) -> str | None:
        try:
            path = _busctl(["call", *_DEST, "GetUnit", "s", self.unit], "GetUnit").split()[-1].strip('"')
            st = _busctl(["get-property", "org.freedesktop.systemd1", path,
                          "org.freedesktop.systemd1.Unit", "ActiveState"], "ActiveState")
            return st.split()[-1].strip('"')
        except OCIError:
            return None

    def _start(self, pid: int | None) -> None:
        scope = self.unit.endswith(".scope")
        props: "list[tuple[str, str, Any]]" = [
            ("Description", "s", f"oci-runtime container {self.unit}")]
        if scope:
            props.append(("Slice", "s", self.slice))
            props.append(("Delegate", "b", True))
            if pid is not None:
                props.append(("PIDs", "au", [pid]))
        props += [("DefaultDependencies", "b", False), ("MemoryAccounting", "b", True),
                  ("CPUAccounting", "b", True), ("TasksAccounting", "b", True),
                  ("IOAccounting" if self.mode == "v2" else "BlockIOAccounting", "b", True)]
        props += dispatch.systemd_properties(self._pending, self.mode == "v2")
        what = f"starting systemd unit {self.unit}"
        try:
            out = _busctl(["call", *_DEST, "StartTransientUnit", "ssa(sv)a(sa(sv))", self.unit, "replace",
                           *_encode_props(props), "0"], what)
        except OCIError as exc:
            if "already exists" not in str(exc):
                raise
            if self._unit_state() not in ("active", "activating"):
                _busctl(["call", *_DEST, "ResetFailedUnit", "s", self.unit], what)
                out = _busctl(["call", *_DEST, "StartTransientUnit", "ssa(sv)a(sa(sv))", self.unit,
                               "replace", *_encode_props(props), "0"], what)
            else:
                out = None       # reuse the running unit; the pid is joined through cgroupfs below
        if out:
            self._wait_job(out.split()[-1].strip('"'), what)
            state = self._unit_state()
            if state not in ("active", "activating"):
                raise OCIError(f"{what}: unit is {state or 'not loaded'} after start")
        self.started = True

    # -- lifecycle ------------------------------------------------------------------------------
    def create(self) -> None:
        """Nothing yet: systemd creates the cgroup when apply() starts the unit with its first pid."""
        self._check()

    def apply(self, pid: int) -> None:
        self._check()
        if not self.started:
            self._start(pid)
        if self.mode != "v2":
            self.fs.create()      # hierarchies systemd does not manage (cpuset, ...)
        elif not os.path.isdir(self.fs.path_for("")):
            raise OCIError(f"systemd unit {self.unit} started but {self.fs.path_for('')} does not exist")
        if self.mode != "v2":
            self.fs.apply(pid)
        else:   # systemd made the directory and enabled its controllers
            files.write_procs(self.fs.path_for(""), pid)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.fs.set(pending)

    def write_resources(self, resources: "dict[str, Any]", updating: bool) -> None:
        if not self.started:
            # applied when the unit is started (apply): properties at creation, the rest via cgroupfs
            self._pending = resources
            return
        self._check()
        props = dispatch.systemd_properties(resources, self.mode == "v2")
        if props:
            _busctl(["call", *_DEST, "SetUnitProperties", "sba(sv)", self.unit, "true",
                     *_encode_props(props)], f"setting properties of systemd unit {self.unit}")
        self.fs.write_resources(resources, updating)

    def check_resources(self, resources: "dict[str, Any]") -> None:
        self.fs.check_resources(resources)

    def destroy(self, timeout: float = 5.0) -> None:
        if systemd_running():
            try:
                out = _busctl(["call", *_DEST, "StopUnit", "ss", self.unit, "replace"],
                              f"stopping systemd unit {self.unit}")
                self._wait_job(out.split()[-1].strip('"'), f"stopping systemd unit {self.unit}")
            except OCIError as exc:
                if "not loaded" not in str(exc) and "NoSuchUnit" not in str(exc):
                    raise
            try:
                _busctl(["call", *_DEST, "ResetFailedUnit", "s", self.unit], "reset-failed")
            except OCIError:
                pass
        self.fs.destroy(timeout)
        self.started = False

    # -- delegated to cgroupfs ------------------------------------------------------------------
    def freeze(self) -> None:
        self.fs.freeze()

    def thaw(self) -> None:
        self.fs.thaw()

    def is_frozen(self) -> bool:
        return self.fs.is_frozen()

    def frozen_at(self) -> str | None:
        return self.fs.frozen_at()

    def pids(self) -> list[int]:
        return self.fs.pids()

    def kill_all(self, sig: int = hotpath.SIGKILL) -> None:
        self.fs.kill_all(sig)

    def stats(self) -> "dict[str, Any]":
        return self.fs.stats()

    def oom_events(self) -> int:
        return self.fs.oom_events()

    def oom_notifier(self) -> "OOMNotifier":
        return self.fs.oom_notifier()
