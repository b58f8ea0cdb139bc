"""cgroupfs v2 (unified hierarchy) manager."""

import errno
import os
import _signal  # the C module: signal.py imports enum (~3 ms)

from oci_runtime.errors import OCIError

from . import _util, convert
from .base import (FIELD, CgroupManager, PollOOMNotifier, flag, num, rmdir_paths, section,
                   wait_until)
from ._util import read_int, read_kv, read_or, write_value
from .v1 import _devnum, hugetlb_stats, set_hugetlb, set_rdma, write_unified


class V2Manager(CgroupManager):
    mode = "v2"

    def __init__(self, root, inner, path):
        self.root = root            # the cgroup2 mountpoint
        self.inner = inner          # "/a/b"
        self.path = path            # root + inner

    def to_dict(self):
        return {"driver": "cgroupfs", "mode": "v2", "root": self.root, "inner": self.inner,
                "path": self.path}

    @classmethod
    def from_dict(cls, d):
        return cls(d["root"], d.get("inner", ""), d["path"])

    def path_for(self, controller):
        return self.path

    def exists(self):
        return os.path.isdir(self.path)

    # -- lifecycle ----------------------------------------------------------------------------
    def create(self):
        """mkdir every level and enable all available controllers in each ancestor (runc
        CreateCgroupPath); a controller the kernel refuses is skipped, not fatal."""
        rel = os.path.relpath(self.path, self.root)
        comps = [] if rel == "." else rel.split("/")
        cur = self.root
        for i, comp in enumerate(comps):
            self._enable_all(cur)
            cur = os.path.join(cur, comp)
            _util.mkdir_p(cur)

    @staticmethod
    def _enable_all(d):
        sc = os.path.join(d, "cgroup.subtree_control")
        avail = read_or(os.path.join(d, "cgroup.controllers"), "").split()
        have = read_or(sc, "").split()
        missing = [c for c in avail if c not in have]
        if not missing:
            return
        try:
            write_value(sc, " ".join("+" + c for c in missing), "cgroupsPath")
        except OCIError:
            for c in missing:
                try:
                    write_value(sc, "+" + c, "cgroupsPath")
                except OCIError:
                    pass

    def apply(self, pid):
        self.create()
        try:
            _util.write_procs(self.path, pid)
        except OCIError as exc:
            if exc.errno == errno.EBUSY:
                raise OCIError(f"{exc} (cgroup v2 forbids processes in a cgroup that has controllers "
                               f"enabled for its children; {self.path} must be a leaf)", exc.errno) from None
            raise

    def destroy(self, timeout=5.0):
        rmdir_paths([self.path], timeout)

    # -- resources ----------------------------------------------------------------------------
    def _set(self, r, updating):
        if not isinstance(r, dict):
            raise OCIError(f"{FIELD}: expected an object, got {r!r}")
        p = self.path
        cpu = section(r, "cpu")
        if cpu:
            self._set_cpuset(cpu)
        if r.get("devices") is not None:
            self._set_devices(section(r, "devices", list))
        mem = section(r, "memory")
        if mem:
            self._set_memory(mem, updating)
        if cpu:
            self._set_cpu(cpu, updating)
        pids = section(r, "pids")
        if pids and pids.get("limit") is not None:
            write_value(self._file("pids.max", f"{FIELD}.pids.limit"),
                        convert.limit_string(num(pids, "limit", f"{FIELD}.pids")), f"{FIELD}.pids.limit")
        bio = section(r, "blockIO")
        if bio:
            self._set_io(bio)
        huge = section(r, "hugepageLimits", list)
        if huge:
            self._check_ctrl("hugetlb", f"{FIELD}.hugepageLimits")
            set_hugetlb(p, huge, v2=True)
        net = section(r, "network")
        if net and (net.get("classID") is not None or net.get("priorities")):
            raise OCIError(f"{FIELD}.network: net_cls/net_prio do not exist on cgroup v2 (use eBPF "
                           f"programs for traffic classification instead)")
        rdma = section(r, "rdma")
        if rdma:
            self._check_ctrl("rdma", f"{FIELD}.rdma")
            set_rdma(p, rdma)
        uni = section(r, "unified")
        if uni:
            write_unified(p, uni, f"{FIELD}.unified")

    def _check_ctrl(self, ctrl, field):
        avail = read_or(os.path.join(self.path, "cgroup.controllers"), "").split()
        if ctrl not in avail:
            raise OCIError(f"{field}: the {ctrl} controller is not enabled for {self.path} "
                           f"(available: {' '.join(avail) or 'none'})")

    def _file(self, name, field):
        target = os.path.join(self.path, name)
        if not os.path.exists(target):
            self._check_ctrl(name.split(".", 1)[0], field)
        return target

    def _set_cpuset(self, cpu):
        f = f"{FIELD}.cpu"
        for key in ("cpus", "mems"):
            v = cpu.get(key)
            if v is not None and v != "":
                write_value(self._file(f"cpuset.{key}", f"{f}.{key}"), str(v), f"{f}.{key}")

    def _set_devices(self, rules):
        from . import devices
        f = f"{FIELD}.devices"
        try:
            insns = devices.build_program(rules, f)
        except ValueError as exc:
            raise OCIError(str(exc)) from None
        from . import _bpf
        _bpf.attach_device_filter(self.path, devices.encode_program(insns), f)

    def _set_memory(self, mem, updating):
        f = f"{FIELD}.memory"
        limit = num(mem, "limit", f)
        swap = num(mem, "swap", f)
        reservation = num(mem, "reservation", f)
        if limit is None and swap is None and reservation is None:
            return      # kernel, kernelTCP, swappiness, disableOOMKiller, useHierarchy: no v2 files
        if updating and flag(mem, "checkBeforeUpdate", f) and limit is not None and limit > 0:
            usage = read_int(os.path.join(self.path, "memory.current"))
            if usage >= limit:
                raise OCIError(f"{f}.limit: rejecting memory limit {limit} below current usage {usage} "
                               f"(checkBeforeUpdate)")
        if swap is not None:
            mem_for_swap = limit
            if mem_for_swap is None:          # update of swap alone: relative to the current limit
                mem_for_swap = read_int(os.path.join(self.path, "memory.max"))
            try:
                s = convert.swap_v2_string(swap, mem_for_swap)
            except ValueError as exc:
                raise OCIError(f"{f}.swap: {exc}") from None
        elif limit == -1:
            s = "max"
        else:
            s = ""
        if s:
            target = os.path.join(self.path, "memory.swap.max")
            if os.path.exists(target):
                write_value(target, s, f"{f}.swap")
            elif s not in ("max", "0"):
                self._check_ctrl("memory", f"{f}.swap")
                raise OCIError(f"{f}.swap: swap accounting is not available ({target} does not exist)")
        v = convert.v2_num(limit)
        if v:
            write_value(self._file("memory.max", f"{f}.limit"), v, f"{f}.limit")
        v = convert.v2_num(reservation)
        if v:
            write_value(self._file("memory.low", f"{f}.reservation"), v, f"{f}.reservation")

    def _set_cpu(self, cpu, updating):
        f = f"{FIELD}.cpu"
        for k in ("realtimeRuntime", "realtimePeriod"):
            if cpu.get(k):
                raise OCIError(f"{f}.{k}: real-time group scheduling is not supported on cgroup v2")
        idle = num(cpu, "idle", f)
        if idle is not None:
            write_value(self._file("cpu.idle", f"{f}.idle"), idle, f"{f}.idle")
        shares = num(cpu, "shares", f, signed=False)
        if shares:
            write_value(self._file("cpu.weight", f"{f}.shares"), convert.shares_to_weight(shares),
                        f"{f}.shares")
        quota = num(cpu, "quota", f)
        period = num(cpu, "period", f, signed=False)
        burst = num(cpu, "burst", f, signed=False)
        pending_burst = None
        if burst is not None:
            try:
                write_value(self._file("cpu.max.burst", f"{f}.burst"), burst, f"{f}.burst")
            except OCIError as exc:
                if exc.errno != errno.EINVAL or not (quota or period):
                    raise
                pending_burst = burst
        if period and not quota:
            # keep the current quota when only the period changes (runc merges with the saved config)
            cur = read_or(os.path.join(self.path, "cpu.max"), "max").split()
            quota = -1 if not cur or cur[0] == "max" else int(cur[0])
        s = convert.cpu_max_string(quota, period)
        if s is not None:
            write_value(self._file("cpu.max", f"{f}.quota"), s, f"{f}.quota" if quota else f"{f}.period")
            if pending_burst is not None:
                write_value(os.path.join(self.path, "cpu.max.burst"), pending_burst, f"{f}.burst")

    def _set_io(self, bio):
        f = f"{FIELD}.blockIO"
        p = self.path
        w = num(bio, "weight", f, signed=False)
        bfq = os.path.join(p, "io.bfq.weight")
        have_bfq = os.path.exists(bfq)
        if w:
            if have_bfq:
                write_value(bfq, w, f"{f}.weight")
            else:
                write_value(self._file("io.weight", f"{f}.weight"), convert.blkio_weight_to_io_weight(w),
                            f"{f}.weight")
        wds = bio.get("weightDevice") or ()
        for i, wd in enumerate(wds):
            fld = f"{f}.weightDevice[{i}]"
            major, minor = _devnum(wd, fld)
            if not wd.get("weight"):
                continue           # leafWeight has no v2 equivalent
            if have_bfq:
                write_value(bfq, convert.blkio_weight_device_string(major, minor, wd["weight"]), fld)
            else:
                write_value(self._file("io.weight", fld),
                            convert.blkio_weight_device_string(
                                major, minor, convert.blkio_weight_to_io_weight(wd["weight"])), fld)
        for key, name in (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
                          ("throttleReadIOPSDevice", "riops"), ("throttleWriteIOPSDevice", "wiops")):
            for i, td in enumerate(bio.get(key) or ()):
                fld = f"{f}.{key}[{i}]"
                major, minor = _devnum(td, fld)
                write_value(self._file("io.max", fld),
                            convert.io_max_string(major, minor, name, td.get("rate", 0)), fld)

    # -- freezer ------------------------------------------------------------------------------
    def _frozen_flag(self):
        return read_kv(os.path.join(self.path, "cgroup.events")).get("frozen", 0) == 1

    def freeze(self):
        target = os.path.join(self.path, "cgroup.freeze")
        if not os.path.exists(target):
            raise OCIError(f"freeze: {target} does not exist (kernel without the cgroup v2 freezer?)")
        write_value(target, "1", "freeze")
        if not wait_until(self._frozen_flag, 10.0):
            write_value(target, "0", "freeze")
            raise OCIError(f"freeze: {self.path} did not reach the frozen state")

    def thaw(self):
        target = os.path.join(self.path, "cgroup.freeze")
        write_value(target, "0", "thaw")
        wait_until(lambda: not self._frozen_flag(), 5.0)

    def is_frozen(self):
        return read_or(os.path.join(self.path, "cgroup.freeze"), "0").strip() == "1"

    def pids(self):
        return sorted(set(_util.procs_recursive(self.path)))

    def kill_all(self, sig=_signal.SIGKILL):
        kill = os.path.join(self.path, "cgroup.kill")
        if sig == _signal.SIGKILL and os.path.exists(kill):
            write_value(kill, "1", "kill")
            return
        self._signal_frozen(sig)

    # -- observation --------------------------------------------------------------------------
    def oom_events(self):
        return read_kv(os.path.join(self.path, "memory.events")).get("oom_kill", 0)

    def oom_notifier(self):
        return PollOOMNotifier(os.path.join(self.path, "memory.events"))

    def stats(self):
        p = self.path
        st = {}
        kv = read_kv(os.path.join(p, "cpu.stat"))
        st["cpu"] = {"usage": {"total": kv.get("usage_usec", 0) * 1000,
                               "user": kv.get("user_usec", 0) * 1000,
                               "kernel": kv.get("system_usec", 0) * 1000},
                     "throttling": {"periods": kv.get("nr_periods", 0),
                                    "throttled_periods": kv.get("nr_throttled", 0),
                                    "throttled_time": kv.get("throttled_usec", 0) * 1000}}
        if os.path.exists(os.path.join(p, "cpuset.cpus")):
            st["cpuset"] = {"cpus": read_or(os.path.join(p, "cpuset.cpus.effective"), "").strip(),
                            "mems": read_or(os.path.join(p, "cpuset.mems.effective"), "").strip()}
        if os.path.exists(os.path.join(p, "memory.current")):
            raw = read_kv(os.path.join(p, "memory.stat"))
            ev = read_kv(os.path.join(p, "memory.events"))
            lim = read_int(os.path.join(p, "memory.max"))
            swlim = read_int(os.path.join(p, "memory.swap.max"))
            mx = convert.MAX_UINT64
            st["memory"] = {
                "cache": raw.get("file", 0),
                "usage": {"limit": mx if lim < 0 else lim, "usage": read_int(os.path.join(p, "memory.current")),
                          "max": read_int(os.path.join(p, "memory.peak")), "failcnt": ev.get("max", 0)},
                "swap": {"limit": mx if swlim < 0 else swlim,
                         "usage": read_int(os.path.join(p, "memory.swap.current")),
                         "max": read_int(os.path.join(p, "memory.swap.peak")),
                         "failcnt": read_kv(os.path.join(p, "memory.swap.events")).get("max", 0)},
                "raw": raw,
            }
        if os.path.exists(os.path.join(p, "pids.current")):
            lim = read_int(os.path.join(p, "pids.max"))
            st["pids"] = {"current": read_int(os.path.join(p, "pids.current")), "limit": 0 if lim < 0 else lim}
        if os.path.exists(os.path.join(p, "io.stat")):
            sb, sv = [], []
            for line in read_or(os.path.join(p, "io.stat"), "").splitlines():
                parts = line.split()
                if not parts or ":" not in parts[0]:
                    continue
                ma, mi = (int(x) for x in parts[0].split(":"))
                kvs = dict(x.split("=", 1) for x in parts[1:] if "=" in x)
                for key, op, lst in (("rbytes", "Read", sb), ("wbytes", "Write", sb),
                                     ("rios", "Read", sv), ("wios", "Write", sv)):
                    if key in kvs:
                        lst.append({"major": ma, "minor": mi, "op": op, "value": int(kvs[key])})
            st["blkio"] = {"ioServiceBytesRecursive": sb, "ioServicedRecursive": sv}
        st["hugetlb"] = hugetlb_stats(p, v2=True)
        return st
