"""The cpu controller (and v1's cpuacct, for statistics): ``linux.resources.cpu`` shares, CFS
quota/period/burst, real-time runtime/period and idle, on cgroup v1 (cpu.shares, cpu.cfs_*),
cgroup v2 (cpu.weight, cpu.max) and as systemd properties; the shares-to-weight and
quota-to-CPUQuotaPerSecUSec conversions; the cpu usage and throttling statistics."""
import errno
import os

from oci_runtime.errors import OCIError

from ..fields import MAX_UINT64, RESOURCES, num, pointer
from ..files import read_int, read_kv, read_or, write_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..views import V1Cgroup, V2Cgroup

FIELD = pointer(RESOURCES, "cpu")
CPU_SHARES_MAX = 262144
CPU_WEIGHT_MAX = 10000
USER_HZ = 100


def shares_to_weight(shares: int) -> int:
    """cpu.shares [2..262144] -> cpu.weight [1..10000], 0 = unset.

    runc >= 1.3.2 / crun >= 1.23 quadratic fit through (2,1), (1024,100), (262144,10000) in log space:
    weight = ceil(10 ** ((l*l + 125*l)/612 - 7/34)), l = log2(shares).
    """
    import math
    shares = int(shares)
    if shares == 0:
        return 0
    if shares <= 2:
        return 1
    if shares >= CPU_SHARES_MAX:
        return CPU_WEIGHT_MAX
    l = math.log2(shares)  # noqa: E741 - the formula's name
    exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0
    return int(math.ceil(10 ** exponent))


def shares_to_weight_linear(shares: int) -> int:
    """The older runc formula (<= 1.3.1): 1 + ((shares - 2) * 9999) / 262142."""
    shares = int(shares)
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def cpu_max_string(quota: int | None, period: int | None) -> str | None:
    """cpu.max content: '<quota|max> [period]'; None when neither is set (0/None = unset, as runc)."""
    quota = int(quota or 0)
    period = int(period or 0)
    if quota == 0 and period == 0:
        return None
    s = str(quota) if quota > 0 else "max"
    if period:
        s += f" {period}"
    return s


def cpu_quota_per_sec_usec(quota: int | None, period: int | None) -> int:
    """systemd CPUQuotaPerSecUSec from CFS quota/period, rounded up to 10ms like runc addCpuQuota."""
    quota = int(quota or 0)
    period = int(period or 0) or 100000
    if quota < 0:
        return MAX_UINT64
    v = quota * 1000000 // period
    if v % 10000:
        v = (v // 10000 + 1) * 10000
    return v


def apply_v1(cgroup: "V1Cgroup", cpu: "dict[str, Any]", updating: bool) -> None:
    f = FIELD
    keys = ("shares", "quota", "period", "burst", "realtimeRuntime", "realtimePeriod", "idle")
    if not any(cpu.get(k) is not None for k in keys):
        return
    p = cgroup.controller_dir("cpu", f)
    shares = num(cpu, "shares", f, signed=False)
    if shares:
        path = os.path.join(p, "cpu.shares")
        write_value(path, shares, f"{f}/shares")
        got = read_int(path)
        if got != shares:
            bound = "maximum" if shares > got else "minimum"
            raise OCIError(f"{f}/shares: the {bound} allowed cpu-shares is {got} (requested {shares})")
    quota = num(cpu, "quota", f)
    period = num(cpu, "period", f, signed=False)
    pending_period = None
    if period:
        try:
            write_value(os.path.join(p, "cpu.cfs_period_us"), period, f"{f}/period")
        except OCIError as exc:
            # a smaller period can be rejected (old quota/new period over the parent's limit):
            # retry after the quota is written, as runc does
            if exc.errno != errno.EINVAL or not quota:
                raise
            pending_period = period
    if quota:
        write_value(os.path.join(p, "cpu.cfs_quota_us"), quota, f"{f}/quota")
        if pending_period:
            write_value(os.path.join(p, "cpu.cfs_period_us"), pending_period, f"{f}/period")
    burst = num(cpu, "burst", f, signed=False)
    if burst is not None:
        write_value(os.path.join(p, "cpu.cfs_burst_us"), burst, f"{f}/burst")
    rtp = num(cpu, "realtimePeriod", f, signed=False)
    if rtp:
        write_value(os.path.join(p, "cpu.rt_period_us"), rtp, f"{f}/realtimePeriod")
    rtr = num(cpu, "realtimeRuntime", f)
    if rtr:
        try:
            write_value(os.path.join(p, "cpu.rt_runtime_us"), rtr, f"{f}/realtimeRuntime")
        except OCIError as exc:
            if exc.errno != errno.EINVAL:
                raise
            raise OCIError(f"{exc}: {_realtime_share(p)}", exc.errno) from None
    idle = num(cpu, "idle", f)
    if idle is not None:
        write_value(os.path.join(p, "cpu.idle"), idle, f"{f}/idle")


# Policies the real-time scheduler class runs (sched(7)): with real-time group scheduling
# (cgroup v1, CONFIG_RT_GROUP_SCHED) only in a cgroup given real-time runtime.
REALTIME_POLICIES = ("SCHED_FIFO", "SCHED_RR")


def realtime_budget(directory: str) -> "tuple[int, int] | None":
    """(cpu.rt_runtime_us, cpu.rt_period_us) of a v1 cpu cgroup; None where real-time group
    scheduling does not apply (no such files: cgroup v2, or a kernel without it)."""
    runtime = read_or(os.path.join(directory, "cpu.rt_runtime_us"), "").strip()
    period = read_or(os.path.join(directory, "cpu.rt_period_us"), "").strip()
    if not runtime or not period:
        return None
    return int(runtime), int(period)


def _realtime_share(directory: str) -> str:
    """What a cgroup's real-time runtime must fit in: its parent's budget, less its siblings'."""
    parent = os.path.dirname(directory)
    budget = realtime_budget(parent)
    if budget is None:
        return "its parent cgroup has no real-time budget"
    given = 0
    try:
        siblings = [entry for entry in os.scandir(parent)
                    if entry.is_dir() and entry.path != directory]
    except OSError:
        siblings = []
    for sibling in siblings:
        sibling_budget = realtime_budget(sibling.path)
        given += max(sibling_budget[0], 0) if sibling_budget else 0
    runtime, period = budget
    limit = "unlimited" if runtime < 0 else f"{runtime}"
    return (f"a cgroup's real-time runtime must fit in its parent's budget: {parent} has "
            f"cpu.rt_runtime_us {limit} per cpu.rt_period_us {period}, {given} of it given to "
            "its other children (the parent's budget is set outside the runtime, as dockerd's "
            "--cpu-rt-runtime does)")


def realtime_budget_problem(directory: str, policy: str) -> str | None:
    """Why a real-time ``policy`` cannot run in the v1 cpu cgroup ``directory``, or None: a
    cgroup without real-time runtime refuses real-time tasks (sched_setattr: EPERM), and a new
    cgroup starts without any."""
    if policy not in REALTIME_POLICIES:
        return None
    budget = realtime_budget(directory)
    if budget is None or budget[0] != 0:
        return None
    parent = realtime_budget(os.path.dirname(directory))
    parent_text = f"cpu.rt_runtime_us {parent[0]} per cpu.rt_period_us {parent[1]}" if parent \
        else "no real-time budget"
    return (f"{policy} needs real-time CPU time, and the container's cgroup {directory} has "
            f"none (cpu.rt_runtime_us 0: real-time group scheduling): give it some with "
            f"{FIELD}/realtimeRuntime (and realtimePeriod), within its parent's budget "
            f"({os.path.dirname(directory)}: {parent_text})")


def apply_v2(cgroup: "V2Cgroup", cpu: "dict[str, Any]", updating: bool) -> None:
    f = FIELD
    for k in ("realtimeRuntime", "realtimePeriod"):
        if cpu.get(k):
            raise OCIError(f"{f}/{k}: real-time group scheduling is not supported on cgroup v2")
    idle = num(cpu, "idle", f)
    if idle is not None:
        write_value(cgroup.controller_file("cpu.idle", f"{f}/idle"), idle, f"{f}/idle")
    shares = num(cpu, "shares", f, signed=False)
    if shares:
        write_value(cgroup.controller_file("cpu.weight", f"{f}/shares"), shares_to_weight(shares),
                    f"{f}/shares")
    quota = num(cpu, "quota", f)
    period = num(cpu, "period", f, signed=False)
    burst = num(cpu, "burst", f, signed=False)
    pending_burst = None
    if burst is not None:
        try:
            write_value(cgroup.controller_file("cpu.max.burst", f"{f}/burst"), burst, f"{f}/burst")
        except OCIError as exc:
            if exc.errno != errno.EINVAL or not (quota or period):
                raise
            pending_burst = burst
    if period and not quota:
        # keep the current quota when only the period changes (runc merges with the saved config)
        cur = read_or(os.path.join(cgroup.path, "cpu.max"), "max").split()
        quota = -1 if not cur or cur[0] == "max" else int(cur[0])
    s = cpu_max_string(quota, period)
    if s is not None:
        write_value(cgroup.controller_file("cpu.max", f"{f}/quota"), s,
                    f"{f}/quota" if quota else f"{f}/period")
        if pending_burst is not None:
            write_value(os.path.join(cgroup.path, "cpu.max.burst"), pending_burst, f"{f}/burst")


def systemd_properties(cpu: "dict[str, Any]", v2: bool) -> "list[tuple[str, str, Any]]":
    props: "list[tuple[str, str, Any]]" = []
    if cpu.get("shares"):
        if v2:
            props.append(("CPUWeight", "t", shares_to_weight(cpu["shares"])))
        else:
            props.append(("CPUShares", "t", cpu["shares"]))
    quota, period = cpu.get("quota") or 0, cpu.get("period") or 0
    if period:
        props.append(("CPUQuotaPeriodUSec", "t", period))
    if quota or period:
        if quota == 0:
            quota = -1
        props.append(("CPUQuotaPerSecUSec", "t", cpu_quota_per_sec_usec(quota, period)))
    return props


def stats_v1(cgroup: "V1Cgroup") -> "dict[str, Any]":
    cpu: "dict[str, Any]" = {"usage": {}, "throttling": {}}
    acct = cgroup.paths.get("cpuacct")
    if acct:
        u = cpu["usage"]
        u["total"] = read_int(os.path.join(acct, "cpuacct.usage"))
        u["percpu"] = [int(x) for x in read_or(os.path.join(acct, "cpuacct.usage_percpu")).split()]
        kv = read_kv(os.path.join(acct, "cpuacct.stat"))
        tick = 1000000000 // USER_HZ
        u["user"] = kv.get("user", 0) * tick
        u["kernel"] = kv.get("system", 0) * tick
    if "cpu" in cgroup.paths:
        kv = read_kv(os.path.join(cgroup.paths["cpu"], "cpu.stat"))
        cpu["throttling"] = {"periods": kv.get("nr_periods", 0),
                             "throttled_periods": kv.get("nr_throttled", 0),
                             "throttled_time": kv.get("throttled_time", 0)}
    return cpu


def stats_v2(cgroup: "V2Cgroup") -> "dict[str, Any]":
    kv = read_kv(os.path.join(cgroup.path, "cpu.stat"))
    return {"usage": {"total": kv.get("usage_usec", 0) * 1000,
                      "user": kv.get("user_usec", 0) * 1000,
                      "kernel": kv.get("system_usec", 0) * 1000},
            "throttling": {"periods": kv.get("nr_periods", 0),
                           "throttled_periods": kv.get("nr_throttled", 0),
                           "throttled_time": kv.get("throttled_usec", 0) * 1000}}
