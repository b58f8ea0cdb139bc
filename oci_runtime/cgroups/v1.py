"""cgroupfs v1 manager; in hybrid mode it also places processes in the cgroup v2 (unified) hierarchy
and uses it for controllers that only exist there (e.g. hugetlb on this kind of host) and for
``linux.resources.unified`` keys of controllers enabled there."""

import errno
import os

from oci_runtime.errors import OCIError

from . import _util, convert
from .base import (FIELD, CgroupManager, EventfdOOMNotifier, flag, num, rmdir_paths, section,
                   wait_until)
from ._util import read_int, read_kv, read_or, write_value


class V1Manager(CgroupManager):
    def __init__(self, root, inner, paths, mounts, unified=None, unified_mount=None, mode="v1"):
        self.root = root
        self.inner = inner                 # the cgroup's path inside the hierarchies ("/a/b")
        self.paths = dict(paths)           # controller -> directory
        self.mounts = dict(mounts)         # controller -> hierarchy mountpoint
        self.unified = unified             # hybrid: directory in the v2 hierarchy
        self.unified_mount = unified_mount
        self.mode = mode

    # -- bookkeeping --------------------------------------------------------------------------
    def to_dict(self):
        return {"driver": "cgroupfs", "mode": self.mode, "root": self.root, "inner": self.inner,
                "paths": dict(self.paths), "mounts": dict(self.mounts), "unified": self.unified,
                "unified_mount": self.unified_mount}

    @classmethod
    def from_dict(cls, d):
        return cls(d["root"], d.get("inner", ""), d["paths"], d.get("mounts", {}), d.get("unified"),
                   d.get("unified_mount"), d.get("mode", "v1"))

    def _dirs(self):
        seen, out = set(), []
        for p in self.paths.values():
            if p not in seen:
                seen.add(p)
                out.append(p)
        if self.unified and self.unified not in seen:
            out.append(self.unified)
        return out

    def path_for(self, controller):
        if controller in ("", "unified"):
            if self.unified is None:
                raise OCIError(f"no cgroup v2 hierarchy on this host (mode {self.mode})")
            return self.unified
        p = self.paths.get(controller)
        if p is None and controller == "hugetlb" and self._unified_has("hugetlb"):
            return self.unified
        if p is None:
            raise OCIError(f"the {controller} cgroup controller is not available on this host")
        return p

    def _need(self, ctrl, field):
        p = self.paths.get(ctrl)
        if p is None:
            raise OCIError(f"{field}: the {ctrl} cgroup controller is not available on this host "
                           f"(no cgroup v1 hierarchy for it under {self.root})")
        return p

    def exists(self):
        return any(os.path.isdir(p) for p in self._dirs())

    # -- lifecycle ----------------------------------------------------------------------------
    def create(self):
        for ctrl, p in self.paths.items():
            if ctrl == "cpuset":
                self._create_cpuset(p)
            else:
                _util.mkdir_p(p)
        if self.unified:
            _util.mkdir_p(self.unified)

    def _create_cpuset(self, path):
        """mkdir each level; a new cpuset starts empty, so copy cpus/mems from the parent (runc)."""
        mnt = self.mounts.get("cpuset") or os.path.dirname(path)
        rel = os.path.relpath(path, mnt)
        cur = mnt
        for comp in ([] if rel == "." else rel.split("/")):
            parent, cur = cur, os.path.join(cur, comp)
            _util.mkdir_p(cur)
            for f in ("cpuset.cpus", "cpuset.mems"):
                mine = read_or(os.path.join(cur, f), "").strip()
                if not mine:
                    val = read_or(os.path.join(parent, f), "").strip()
                    if val:
                        write_value(os.path.join(cur, f), val, "cgroupsPath (initialising cpuset)")

    def apply(self, pid):
        self.create()
        for p in self._dirs():
            _util.write_procs(p, pid)

    def destroy(self, timeout=5.0):
        rmdir_paths(self._dirs(), timeout)

    # -- resources ----------------------------------------------------------------------------
    def _set(self, r, updating):
        if not isinstance(r, dict):
            raise OCIError(f"{FIELD}: expected an object, got {r!r}")
        cpu = section(r, "cpu")
        if cpu:
            self._set_cpuset(cpu)
        if r.get("devices") is not None:
            self._set_devices(section(r, "devices", list))
        mem = section(r, "memory")
        if mem:
            self._set_memory(mem, updating)
        if cpu:
            self._set_cpu(cpu)
        pids = section(r, "pids")
        if pids and pids.get("limit") is not None:
            p = self._need("pids", f"{FIELD}.pids.limit")
            write_value(os.path.join(p, "pids.max"),
                        convert.limit_string(num(pids, "limit", f"{FIELD}.pids")),
                        f"{FIELD}.pids.limit")
        bio = section(r, "blockIO")
        if bio:
            self._set_blkio(bio)
        huge = section(r, "hugepageLimits", list)
        if huge:
            self._set_hugetlb(huge)
        net = section(r, "network")
        if net:
            self._set_network(net)
        rdma = section(r, "rdma")
        if rdma:
            p = self._need("rdma", f"{FIELD}.rdma")
            set_rdma(p, rdma)
        uni = section(r, "unified")
        if uni:
            self._set_unified(uni)

    def _set_cpuset(self, cpu):
        f = f"{FIELD}.cpu"
        for key, fname in (("cpus", "cpuset.cpus"), ("mems", "cpuset.mems")):
            v = cpu.get(key)
            if v is not None and v != "":
                p = self._need("cpuset", f"{f}.{key}")
                write_value(os.path.join(p, fname), str(v), f"{f}.{key}")

    def _set_devices(self, rules):
        from .convert import device_rule_v1, normalize_device_rule
        f = f"{FIELD}.devices"
        p = self._need("devices", f)
        norm = []
        for i, rule in enumerate(rules):
            try:
                norm.append(normalize_device_rule(rule, f"{f}[{i}]"))
            except ValueError as exc:
                raise OCIError(str(exc)) from None
        for i, rule in enumerate(norm):
            fname, line = device_rule_v1(rule)
            write_value(os.path.join(p, fname), line, f"{f}[{i}]")

    def _set_memory(self, mem, updating):
        f = f"{FIELD}.memory"
        p = self._need("memory", f)
        limit = num(mem, "limit", f)
        swap = num(mem, "swap", f)
        limit_file = os.path.join(p, "memory.limit_in_bytes")
        swap_file = os.path.join(p, "memory.memsw.limit_in_bytes")
        if updating and flag(mem, "checkBeforeUpdate", f) and limit is not None and limit > 0:
            usage = read_int(os.path.join(p, "memory.usage_in_bytes"))
            if usage >= limit:
                raise OCIError(f"{f}.limit: rejecting memory limit {limit} below current usage {usage} "
                               f"(checkBeforeUpdate)")
        have_swap = os.path.exists(swap_file)
        if limit == -1 and swap is None and have_swap:
            swap = -1

        def set_limit():
            if limit is None or limit == 0:
                return
            try:
                write_value(limit_file, limit, f"{f}.limit")
            except OCIError as exc:
                if exc.errno == errno.EBUSY:
                    usage = read_int(os.path.join(p, "memory.usage_in_bytes"))
                    peak = read_int(os.path.join(p, "memory.max_usage_in_bytes"))
                    raise OCIError(f"{exc} (current usage: {usage}, peak usage: {peak})", exc.errno) from None
                if exc.errno == errno.EINVAL and have_swap and swap is None:
                    memsw = read_int(swap_file)
                    if 0 <= memsw < limit:
                        raise OCIError(f"{exc} (the memory+swap limit is {memsw}, lower than the new limit; "
                                       f"set {f}.swap too)", exc.errno) from None
                raise

        def set_swap():
            if swap is None or swap == 0:
                return
            if not have_swap:
                if swap == -1:
                    return
                raise OCIError(f"{f}.swap: swap accounting is not enabled on this host ({swap_file} "
                               f"does not exist)")
            write_value(swap_file, swap, f"{f}.swap")

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
            write_value(os.path.join(p, "memory.soft_limit_in_bytes"), v, f"{f}.reservation")
        for key, fname in (("kernel", "memory.kmem.limit_in_bytes"),
                           ("kernelTCP", "memory.kmem.tcp.limit_in_bytes")):
            v = num(mem, key, f)
            if v is None or v == 0:
                continue
            path = os.path.join(p, fname)
            if not os.path.exists(path):
                if key == "kernel":
                    continue    # removed from the kernel; deprecated in the spec, runc ignores it too
                raise OCIError(f"{f}.{key}: {path} does not exist on this kernel")
            try:
                write_value(path, v, f"{f}.{key}")
            except OCIError as exc:
                if key == "kernel" and exc.errno in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
                    continue    # kmem limits are no longer supported (Linux >= 5.16); ignored like runc
                raise
        v = num(mem, "swappiness", f)
        if v is not None and v != -1:
            if not 0 <= v <= 100:
                raise OCIError(f"{f}.swappiness: invalid value {v}; valid memory swappiness range is 0-100")
            write_value(os.path.join(p, "memory.swappiness"), v, f"{f}.swappiness")
        v = flag(mem, "disableOOMKiller", f)
        if v is not None:
            write_value(os.path.join(p, "memory.oom_control"), "1" if v else "0", f"{f}.disableOOMKiller")
        v = flag(mem, "useHierarchy", f)
        if v is not None:
            path = os.path.join(p, "memory.use_hierarchy")
            want = "1" if v else "0"
            if read_or(path, "").strip() != want:
                write_value(path, want, f"{f}.useHierarchy")

    def _set_cpu(self, cpu):
        f = f"{FIELD}.cpu"
        keys = ("shares", "quota", "period", "burst", "realtimeRuntime", "realtimePeriod", "idle")
        if not any(cpu.get(k) is not None for k in keys):
            return
        p = self._need("cpu", f)
        shares = num(cpu, "shares", f, signed=False)
        if shares:
            path = os.path.join(p, "cpu.shares")
            write_value(path, shares, f"{f}.shares")
            got = read_int(path)
            if got != shares:
                bound = "maximum" if shares > got else "minimum"
                raise OCIError(f"{f}.shares: the {bound} allowed cpu-shares is {got} (requested {shares})")
        quota = num(cpu, "quota", f)
        period = num(cpu, "period", f, signed=False)
        pending_period = None
        if period:
            try:
                write_value(os.path.join(p, "cpu.cfs_period_us"), period, f"{f}.period")
            except OCIError as exc:
                # a smaller period can be rejected (old quota/new period over the parent's limit):
                # retry after the quota is written, as runc does
                if exc.errno != errno.EINVAL or not quota:
                    raise
                pending_period = period
        if quota:
            write_value(os.path.join(p, "cpu.cfs_quota_us"), quota, f"{f}.quota")
            if pending_period:
                write_value(os.path.join(p, "cpu.cfs_period_us"), pending_period, f"{f}.period")
        burst = num(cpu, "burst", f, signed=False)
        if burst is not None:
            write_value(os.path.join(p, "cpu.cfs_burst_us"), burst, f"{f}.burst")
        rtp = num(cpu, "realtimePeriod", f, signed=False)
        if rtp:
            write_value(os.path.join(p, "cpu.rt_period_us"), rtp, f"{f}.realtimePeriod")
        rtr = num(cpu, "realtimeRuntime", f)
        if rtr:
            write_value(os.path.join(p, "cpu.rt_runtime_us"), rtr, f"{f}.realtimeRuntime")
        idle = num(cpu, "idle", f)
        if idle is not None:
            write_value(os.path.join(p, "cpu.idle"), idle, f"{f}.idle")

    def _set_blkio(self, bio):
        f = f"{FIELD}.blockIO"
        p = self._need("blkio", f)
        if os.path.exists(os.path.join(p, "blkio.weight")):
            wfile, wdfile = "blkio.weight", "blkio.weight_device"
        else:
            wfile, wdfile = "blkio.bfq.weight", "blkio.bfq.weight_device"
        w = num(bio, "weight", f, signed=False)
        if w:
            write_value(os.path.join(p, wfile), w, f"{f}.weight")
        lw = num(bio, "leafWeight", f, signed=False)
        if lw:
            write_value(os.path.join(p, "blkio.leaf_weight"), lw, f"{f}.leafWeight")
        for i, wd in enumerate(bio.get("weightDevice") or ()):
            fld = f"{f}.weightDevice[{i}]"
            major, minor = _devnum(wd, fld)
            if wd.get("weight"):
                write_value(os.path.join(p, wdfile),
                            convert.blkio_weight_device_string(major, minor, wd["weight"]), fld)
            if wd.get("leafWeight"):
                write_value(os.path.join(p, "blkio.leaf_weight_device"),
                            convert.blkio_weight_device_string(major, minor, wd["leafWeight"]), fld)
        for key, fname in (("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
                           ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
                           ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
                           ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device")):
            for i, td in enumerate(bio.get(key) or ()):
                fld = f"{f}.{key}[{i}]"
                major, minor = _devnum(td, fld)
                write_value(os.path.join(p, fname),
                            convert.blkio_throttle_string(major, minor, td.get("rate", 0)), fld)

    def _unified_has(self, ctrl):
        if not self.unified_mount:
            return False
        return ctrl in read_or(os.path.join(self.unified_mount, "cgroup.controllers"), "").split()

    def _set_hugetlb(self, limits):
        f = f"{FIELD}.hugepageLimits"
        if "hugetlb" in self.paths:
            set_hugetlb(self.paths["hugetlb"], limits, v2=False)
        elif self._unified_has("hugetlb"):
            _util.mkdir_p(self.unified)
            enable_controllers(self.unified_mount, self.unified, ["hugetlb"], f)
            set_hugetlb(self.unified, limits, v2=True)
        else:
            self._need("hugetlb", f)

    def _set_network(self, net):
        f = f"{FIELD}.network"
        cid = num(net, "classID", f, signed=False)
        if cid is not None:
            p = self._need("net_cls", f"{f}.classID")
            write_value(os.path.join(p, "net_cls.classid"), cid, f"{f}.classID")
        prios = net.get("priorities")
        if prios:
            p = self._need("net_prio", f"{f}.priorities")
            for i, pr in enumerate(prios):
                write_value(os.path.join(p, "net_prio.ifpriomap"),
                            f"{pr.get('name')} {int(pr.get('priority', 0))}", f"{f}.priorities[{i}]")

    def _set_unified(self, uni):
        f = f"{FIELD}.unified"
        if not self.unified:
            raise OCIError(f"{f}: cannot use unified resources on a cgroup v1 host "
                           f"(no cgroup2 hierarchy mounted under {self.root})")
        avail = read_or(os.path.join(self.unified_mount, "cgroup.controllers"), "").split()
        for key in uni:
            ctrl = key.split(".", 1)[0]
            if ctrl != "cgroup" and ctrl not in avail:
                raise OCIError(f"{f}.{key}: controller {ctrl!r} is not in the cgroup v2 hierarchy on this "
                               f"hybrid host (available there: {' '.join(avail) or 'none'}); use the "
                               f"cgroup v1 fields instead")
        _util.mkdir_p(self.unified)
        need = sorted({k.split(".", 1)[0] for k in uni} - {"cgroup"})
        if need:
            enable_controllers(self.unified_mount, self.unified, need, f)
        write_unified(self.unified, uni, f)

    # -- freezer ------------------------------------------------------------------------------
    def freeze(self):
        p = self._need("freezer", "freeze")
        st = os.path.join(p, "freezer.state")
        write_value(st, "FROZEN", "freeze")
        ok = wait_until(lambda: read_or(st, "").strip() == "FROZEN", 10.0,
                        retry=lambda: write_value(st, "FROZEN", "freeze"))
        if not ok:
            state = read_or(st, "").strip()
            write_value(st, "THAWED", "freeze")
            raise OCIError(f"freeze: {st} stayed {state!r}, giving up")

    def thaw(self):
        p = self._need("freezer", "thaw")
        st = os.path.join(p, "freezer.state")
        write_value(st, "THAWED", "thaw")
        wait_until(lambda: read_or(st, "").strip() == "THAWED", 5.0,
                   retry=lambda: write_value(st, "THAWED", "thaw"))

    def is_frozen(self):
        p = self.paths.get("freezer")
        if p is None:
            return False
        return read_or(os.path.join(p, "freezer.state"), "").strip() == "FROZEN"

    def pids(self):
        for ctrl in ("freezer", "devices", "memory", "pids", "cpu", "name=systemd"):
            if ctrl in self.paths:
                return sorted(set(_util.procs_recursive(self.paths[ctrl])))
        return sorted(set(_util.procs_recursive(self.unified))) if self.unified else []

    # -- observation --------------------------------------------------------------------------
    def oom_events(self):
        p = self.paths.get("memory")
        if p is None:
            return 0
        return read_kv(os.path.join(p, "memory.oom_control")).get("oom_kill", 0)

    def oom_notifier(self):
        return EventfdOOMNotifier(self._need("memory", "oom notification"))

    def stats(self):
        st = {}
        cpu = {"usage": {}, "throttling": {}}
        acct = self.paths.get("cpuacct")
        if acct:
            u = cpu["usage"]
            u["total"] = read_int(os.path.join(acct, "cpuacct.usage"))
            percpu = read_or(os.path.join(acct, "cpuacct.usage_percpu"), "").split()
            u["percpu"] = [int(x) for x in percpu]
            kv = read_kv(os.path.join(acct, "cpuacct.stat"))
            tick = 1000000000 // 100   # USER_HZ
            u["user"] = kv.get("user", 0) * tick
            u["kernel"] = kv.get("system", 0) * tick
        if "cpu" in self.paths:
            kv = read_kv(os.path.join(self.paths["cpu"], "cpu.stat"))
            cpu["throttling"] = {"periods": kv.get("nr_periods", 0),
                                 "throttled_periods": kv.get("nr_throttled", 0),
                                 "throttled_time": kv.get("throttled_time", 0)}
        st["cpu"] = cpu
        if "cpuset" in self.paths:
            cs = self.paths["cpuset"]
            st["cpuset"] = {"cpus": read_or(os.path.join(cs, "cpuset.cpus"), "").strip(),
                            "mems": read_or(os.path.join(cs, "cpuset.mems"), "").strip()}
        m = self.paths.get("memory")
        if m:
            def entry(prefix):
                return {"limit": _v1_unlimited(read_int(os.path.join(m, prefix + "limit_in_bytes"))),
                        "usage": read_int(os.path.join(m, prefix + "usage_in_bytes")),
                        "max": read_int(os.path.join(m, prefix + "max_usage_in_bytes")),
                        "failcnt": read_int(os.path.join(m, prefix + "failcnt"))}
            raw = read_kv(os.path.join(m, "memory.stat"))
            st["memory"] = {"cache": raw.get("total_cache", raw.get("cache", 0)),
                            "usage": entry("memory."), "swap": entry("memory.memsw."),
                            "kernel": entry("memory.kmem."), "kernelTCP": entry("memory.kmem.tcp."),
                            "raw": raw}
        if "pids" in self.paths:
            pp = self.paths["pids"]
            lim = read_int(os.path.join(pp, "pids.max"))
            st["pids"] = {"current": read_int(os.path.join(pp, "pids.current")),
                          "limit": 0 if lim < 0 else lim}
        if "blkio" in self.paths:
            b = self.paths["blkio"]
            pre = "blkio.bfq." if os.path.exists(os.path.join(b, "blkio.bfq.io_service_bytes_recursive")) \
                else "blkio.throttle."
            st["blkio"] = {
                "ioServiceBytesRecursive": _blkio_entries(os.path.join(b, pre + "io_service_bytes_recursive")),
                "ioServicedRecursive": _blkio_entries(os.path.join(b, pre + "io_serviced_recursive")),
            }
        if "hugetlb" in self.paths:
            st["hugetlb"] = hugetlb_stats(self.paths["hugetlb"], v2=False)
        elif self.unified and self._unified_has("hugetlb"):
            st["hugetlb"] = hugetlb_stats(self.unified, v2=True)
        return st


def _v1_unlimited(v):
    # v1 reports "unlimited" as a page-rounded LLONG_MAX
    return v


def _devnum(entry, field):
    try:
        return convert.device_number(entry, field)
    except ValueError as exc:
        raise OCIError(str(exc)) from None


def _blkio_entries(path):
    out = []
    for line in read_or(path, "").splitlines():
        p = line.split()
        if len(p) == 3 and ":" in p[0]:
            ma, mi = p[0].split(":")
            out.append({"major": int(ma), "minor": int(mi), "op": p[1], "value": int(p[2])})
    return out


# -- helpers shared with v2 -------------------------------------------------------------------------

def hugepage_sizes():
    """Kernel hugepage size names ('2MB', '1GB') from /sys/kernel/mm/hugepages."""
    out = []
    try:
        for d in os.listdir("/sys/kernel/mm/hugepages"):
            if d.startswith("hugepages-") and d.endswith("kB"):
                out.append(convert.hugepage_size_name(int(d[10:-2]) * 1024))
    except OSError:
        pass
    return out


def set_hugetlb(path, limits, v2):
    f = f"{FIELD}.hugepageLimits"
    for i, hl in enumerate(limits):
        fld = f"{f}[{i}]"
        if not isinstance(hl, dict):
            raise OCIError(f"{fld}: expected an object, got {hl!r}")
        size = hl.get("pageSize")
        try:
            name = convert.hugepage_size_name(convert.hugepage_size_bytes(size))
        except ValueError as exc:
            raise OCIError(f"{fld}.pageSize: {exc}") from None
        limit = num(hl, "limit", fld)
        if limit is None:
            raise OCIError(f"{fld}.limit: required")
        lim_name, rsvd_name = (f"hugetlb.{name}.max", f"hugetlb.{name}.rsvd.max") if v2 else \
            (f"hugetlb.{name}.limit_in_bytes", f"hugetlb.{name}.rsvd.limit_in_bytes")
        target = os.path.join(path, lim_name)
        if not os.path.exists(target):
            raise OCIError(f"{fld}.pageSize: hugepage size {size!r} is not supported by this kernel "
                           f"({target} does not exist; sizes: {', '.join(hugepage_sizes()) or 'none'})")
        val = "max" if (v2 and limit < 0) else str(limit)
        write_value(target, val, f"{fld}.limit")
        rsvd = os.path.join(path, rsvd_name)
        if os.path.exists(rsvd):
            write_value(rsvd, val, f"{fld}.limit")


def hugetlb_stats(path, v2):
    out = {}
    for name in hugepage_sizes():
        if v2:
            cur = os.path.join(path, f"hugetlb.{name}.current")
            if not os.path.exists(cur):
                continue
            lim = read_int(os.path.join(path, f"hugetlb.{name}.max"))
            out[name] = {"usage": read_int(cur), "max": 0,
                         "failcnt": read_kv(os.path.join(path, f"hugetlb.{name}.events")).get("max", 0),
                         "limit": lim}
        else:
            base = os.path.join(path, f"hugetlb.{name}.")
            if not os.path.exists(base + "usage_in_bytes"):
                continue
            out[name] = {"usage": read_int(base + "usage_in_bytes"),
                         "max": read_int(base + "max_usage_in_bytes"),
                         "failcnt": read_int(base + "failcnt")}
    return out


def set_rdma(path, rdma):
    f = f"{FIELD}.rdma"
    for dev, lim in rdma.items():
        if not isinstance(lim, dict):
            raise OCIError(f"{f}.{dev}: expected an object, got {lim!r}")
        write_value(os.path.join(path, "rdma.max"), convert.rdma_string(dev, lim), f"{f}.{dev}")


def enable_controllers(mount, path, ctrls, field):
    """Enable ``ctrls`` in cgroup.subtree_control of every ancestor of ``path`` below ``mount``."""
    rel = os.path.relpath(path, mount)
    cur = mount
    comps = [] if rel == "." else rel.split("/")
    for comp in comps:
        sc = os.path.join(cur, "cgroup.subtree_control")
        enabled = read_or(sc, "").split()
        missing = [c for c in ctrls if c not in enabled]
        if missing:
            write_value(sc, " ".join("+" + c for c in missing), field)
        cur = os.path.join(cur, comp)


def write_unified(path, uni, field):
    for key, value in uni.items():
        if "/" in key or key.startswith(".") or not key:
            raise OCIError(f"{field}.{key}: invalid unified key (must be a file name in the cgroup)")
        target = os.path.join(path, key)
        if not os.path.exists(target):
            ctrl = key.split(".", 1)[0]
            avail = read_or(os.path.join(path, "cgroup.controllers"), "").split()
            if ctrl != "cgroup" and ctrl not in avail:
                raise OCIError(f"{field}.{key}: controller {ctrl!r} is not available in {path} "
                               f"(available: {' '.join(avail) or 'none'})")
            raise OCIError(f"{field}.{key}: {target} does not exist")
        write_value(target, str(value), f"{field}.{key}")
