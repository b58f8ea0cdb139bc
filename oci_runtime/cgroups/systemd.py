"""The systemd cgroup driver (runc --systemd-cgroup): the container's cgroup is a transient unit
(cgroupsPath "slice:prefix:name" -> unit "prefix-name.scope" in "slice") started over D-Bus with
StartTransientUnit and the properties runc sets; everything systemd has no property for is then
written through cgroupfs by the v1/v2 manager underneath.

D-Bus is spoken through ``busctl`` (systemd's own client), so no D-Bus library is needed.
"""

import os
import _signal  # the C module: signal.py imports enum (~3 ms)
import time

from oci_runtime.errors import OCIError

from . import convert
from .base import FIELD, CgroupManager

NOT_RUNNING = "systemd cgroup driver requested but systemd is not running"
_DEST = ("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager")


def systemd_running(run_dir="/run/systemd/system"):
    """sd_booted(): systemd is PID 1 when /run/systemd/system exists."""
    return os.path.isdir(run_dir)


def _busctl(args, what):
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


def _encode_props(props):
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


def resource_properties(resources, v2):
    """The unit properties runc derives from linux.resources (systemd/v1.go, v2.go)."""
    props = []
    r = resources or {}
    mem = r.get("memory") or {}
    cpu = r.get("cpu") or {}
    pids = r.get("pids") or {}
    mx = convert.MAX_UINT64
    limit = mem.get("limit")
    if limit:
        props.append(("MemoryMax" if v2 else "MemoryLimit", "t", mx if limit < 0 else limit))
    if v2:
        if mem.get("reservation"):
            res = mem["reservation"]
            props.append(("MemoryLow", "t", mx if res < 0 else res))
        if mem.get("swap") or limit == -1:
            try:
                sw = convert.swap_v1_to_v2(mem.get("swap"), limit)
            except ValueError as exc:
                raise OCIError(f"{FIELD}.memory.swap: {exc}") from None
            if sw == -1:
                props.append(("MemorySwapMax", "t", mx))
            elif sw > 0 or (mem.get("swap") or 0) > 0:
                props.append(("MemorySwapMax", "t", sw))
    if cpu.get("shares"):
        if v2:
            props.append(("CPUWeight", "t", convert.shares_to_weight(cpu["shares"])))
        else:
            props.append(("CPUShares", "t", cpu["shares"]))
    quota, period = cpu.get("quota") or 0, cpu.get("period") or 0
    if period:
        props.append(("CPUQuotaPeriodUSec", "t", period))
    if quota or period:
        if quota == 0:
            quota = -1
        props.append(("CPUQuotaPerSecUSec", "t", convert.cpu_quota_per_sec_usec(quota, period)))
    lim = pids.get("limit")
    if lim is not None and (lim > 0 or lim < 0):
        props.append(("TasksMax", "t", mx if lim < 0 else lim))
    if v2:
        for key, prop in (("cpus", "AllowedCPUs"), ("mems", "AllowedMemoryNodes")):
            if cpu.get(key):
                try:
                    props.append((prop, "ay", convert.cpu_list_to_bitmask(cpu[key])))
                except ValueError as exc:
                    raise OCIError(f"{FIELD}.cpu.{key}: {exc}") from None
    else:
        bio = r.get("blockIO") or {}
        if bio.get("weight"):
            props.append(("BlockIOWeight", "t", bio["weight"]))
    return props


class SystemdManager(CgroupManager):
    driver = "systemd"

    def __init__(self, slice_name, unit, fs, started=False):
        self.slice = slice_name
        self.unit = unit
        self.fs = fs
        self.mode = fs.mode
        self.started = started
        self._pending = None

    def to_dict(self):
        return {"driver": "systemd", "mode": self.mode, "slice": self.slice, "unit": self.unit,
                "started": self.started, "fs": self.fs.to_dict()}

    @classmethod
    def from_dict(cls, d):
        from ._open import manager_from_dict
        return cls(d["slice"], d["unit"], manager_from_dict(d["fs"]), d.get("started", True))

    @property
    def root(self):
        return self.fs.root

    def path_for(self, controller):
        return self.fs.path_for(controller)

    def exists(self):
        return self.fs.exists()

    # -- D-Bus ----------------------------------------------------------------------------------
    def _check(self):
        if not systemd_running():
            raise OCIError(NOT_RUNNING)

    def _wait_job(self, job, what, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                _busctl(["get-property", "org.freedesktop.systemd1", job, "org.freedesktop.systemd1.Job",
                         "State"], what)
            except OCIError:
                return      # the job object is gone: finished
            time.sleep(0.02)
        raise OCIError(f"{what}: timed out waiting for systemd job {job}")

    def _unit_state(self):
        try:
            path = _busctl(["call", *_DEST, "GetUnit", "s", self.unit], "GetUnit").split()[-1].strip('"')
            st = _busctl(["get-property", "org.freedesktop.systemd1", path,
                          "org.freedesktop.systemd1.Unit", "ActiveState"], "ActiveState")
            return st.split()[-1].strip('"')
        except OCIError:
            return None

    def _start(self, pid):
        scope = self.unit.endswith(".scope")
        props = [("Description", "s", f"oci-runtime container {self.unit}")]
        if scope:
            props.append(("Slice", "s", self.slice))
            props.append(("Delegate", "b", True))
            if pid is not None:
                props.append(("PIDs", "au", [pid]))
        props += [("DefaultDependencies", "b", False), ("MemoryAccounting", "b", True),
                  ("CPUAccounting", "b", True), ("TasksAccounting", "b", True),
                  ("IOAccounting" if self.mode == "v2" else "BlockIOAccounting", "b", True)]
        props += resource_properties(self._pending, self.mode == "v2")
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
    def create(self):
        """Nothing yet: systemd creates the cgroup when apply() starts the unit with its first pid."""
        self._check()

    def apply(self, pid):
        self._check()
        if not self.started:
            self._start(pid)
        if self.mode != "v2":
            self.fs.create()      # hierarchies systemd does not manage (cpuset, ...)
        elif not os.path.isdir(self.fs.path):
            raise OCIError(f"systemd unit {self.unit} started but {self.fs.path} does not exist")
        self.fs.apply(pid) if self.mode != "v2" else _join_v2(self.fs, pid)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.fs.set(pending)

    def _set(self, resources, updating):
        if not self.started:
            # applied when the unit is started (apply): properties at creation, the rest via cgroupfs
            self._pending = resources
            return
        self._check()
        props = resource_properties(resources, self.mode == "v2")
        if props:
            _busctl(["call", *_DEST, "SetUnitProperties", "sba(sv)", self.unit, "true",
                     *_encode_props(props)], f"setting properties of systemd unit {self.unit}")
        self.fs._set(resources, updating)

    def destroy(self, timeout=5.0):
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
    def freeze(self):
        self.fs.freeze()

    def thaw(self):
        self.fs.thaw()

    def is_frozen(self):
        return self.fs.is_frozen()

    def pids(self):
        return self.fs.pids()

    def kill_all(self, sig=_signal.SIGKILL):
        self.fs.kill_all(sig)

    def stats(self):
        return self.fs.stats()

    def oom_events(self):
        return self.fs.oom_events()

    def oom_notifier(self):
        return self.fs.oom_notifier()


def _join_v2(fs, pid):
    from . import _util
    _util.write_procs(fs.path, pid)
