"""The process attributes beyond credentials (config.md `process`, config-linux.md
`personality`): scheduler, ioPriority, execCPUAffinity, personality, AppArmor and SELinux labels.

``check_process_attributes`` runs in the runtime before anything is forked, so a request this host
cannot honour (an LSM that is not enabled, an unknown policy) fails `create`/`exec` with a clear
message and nothing to undo.  The tables here are what plan/process.py turns into executor steps.
"""
import os

from oci_runtime.config.model import config_problem
from oci_runtime.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any

    from oci_runtime.config.model import Process

SCHED_POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
                   "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
                "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
                "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
                "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}
IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
_IOPRIO_WHO_PROCESS = 1
IOPRIO_CLASS_SHIFT = 13
PERSONALITY_DOMAINS = {"LINUX": 0x0000, "LINUX32": 0x0008}

_APPARMOR_ENABLED = "/sys/module/apparmor/parameters/enabled"
_SELINUX_FS = "/sys/fs/selinux"


def check_process_attributes(process: "Process", linux_personality: "dict[str, Any] | None" = None,
                             where: str = "config.json: /process") -> None:
    """A config_problem (ConfigError) for anything requested that cannot be applied on this
    host.  ``where`` names the process in errors: "config.json: /process", or
    "exec --process FILE: " (whose root is the process)."""
    source, _, prefix = where.partition(": ")
    scheduler = process.scheduler
    if scheduler:
        if scheduler.get("policy") not in SCHED_POLICIES:
            config_problem(f"{prefix}/scheduler/policy", f"unknown policy "
                           f"{scheduler.get('policy')!r}", source)
        for flag in scheduler.get("flags") or ():
            if flag not in SCHED_FLAGS:
                config_problem(f"{prefix}/scheduler/flags", f"unknown flag {flag!r}", source)
    priority = process.io_priority
    if priority:
        if priority.get("class") not in IOPRIO_CLASSES:
            config_problem(f"{prefix}/ioPriority/class", f"unknown class "
                           f"{priority.get('class')!r}", source)
        if not 0 <= int(priority.get("priority", 0)) <= 7:
            config_problem(f"{prefix}/ioPriority/priority", "must be 0 to 7", source)
    affinity = process.exec_cpu_affinity or {}
    for key in ("initial", "final"):
        if affinity.get(key):
            parse_cpu_list(affinity[key], f"/process/execCPUAffinity/{key}")
    if linux_personality:
        if linux_personality.get("domain") not in PERSONALITY_DOMAINS:
            config_problem("/linux/personality/domain", f"unsupported domain "
                           f"{linux_personality.get('domain')!r} (LINUX or LINUX32)")
        if linux_personality.get("flags"):
            config_problem("/linux/personality/flags", "no flags are supported")
    if process.apparmor_profile and not apparmor_enabled():
        config_problem(f"{prefix}/apparmorProfile", f"cannot apply profile "
                       f"{process.apparmor_profile!r}: AppArmor is not enabled on this host",
                       source)
    if process.selinux_label and not selinux_enabled():
        config_problem(f"{prefix}/selinuxLabel", f"cannot apply label "
                       f"{process.selinux_label!r}: SELinux is not enabled on this host",
                       source)


def apparmor_enabled() -> bool:
    try:
        with open(_APPARMOR_ENABLED) as enabled:
            return enabled.read().strip() == "Y"
    except OSError:
        return False


def selinux_enabled() -> bool:
    return os.path.exists(f"{_SELINUX_FS}/enforce")


def parse_cpu_list(text: str, pointer: str) -> "set[int]":
    """"0-3,7" -> {0, 1, 2, 3, 7}."""
    cpus: "set[int]" = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            first, dash, last = part.partition("-")
            if dash:
                start, end = int(first), int(last)
                if end < start:
                    raise ValueError(part)
                cpus.update(range(start, end + 1))
            else:
                cpus.add(int(first))
    except ValueError:
        raise ConfigError(f"config.json: {pointer}: invalid CPU list {text!r} "
                       "(comma-separated CPUs and ranges, like 0-3,7)") from None
    return cpus


def cpu_mask(cpu_list: str, pointer: str) -> bytes:
    """A CPU list as the bytes of a cpu_set_t for sched_setaffinity(2)."""
    cpus = parse_cpu_list(cpu_list, pointer)
    mask = 0
    for cpu in cpus:
        mask |= 1 << cpu
    size = max(128, (max(cpus, default=0) // 64 + 1) * 8)
    return mask.to_bytes(size, "little")


_POSSIBLE_CPUS = "/sys/devices/system/cpu/possible"


def _every_cpu() -> range:
    """Every CPU this kernel may bring online ("0-63"); else as many as runc's configs.MaxCPU."""
    try:
        with open(_POSSIBLE_CPUS) as possible:
            return range(max(parse_cpu_list(possible.read().strip(), _POSSIBLE_CPUS)) + 1)
    except (OSError, ValueError, ConfigError):
        return range(8192)


def every_cpu_list() -> str:
    """_every_cpu as a CPU list ("0-63")."""
    cpus = _every_cpu()
    return f"0-{cpus[-1]}"


def reset_cpu_affinity(pid: int) -> None:
    """runc's tryResetCPUAffinity, once ``pid`` is in the container's cgroup: every CPU, which
    the kernel narrows to the cgroup's cpuset.  A runtime started under taskset (kubelet's
    static CPU manager does that) would otherwise pin the container to its own CPUs: since
    Linux 6.2 moving into a cpuset keeps an affinity set by sched_setaffinity.  A failure
    leaves the affinity as it was, as runc's does (a SCHED_DEADLINE caller, for one)."""
    try:
        os.sched_setaffinity(pid, _every_cpu())
    except OSError:
        pass


APPARMOR_EXEC_ATTRIBUTE = "/proc/self/attr/apparmor/exec"


def lsm_exec_attribute(kind: str, value: str, proc_prefix: str,
                       apparmor_exec_attribute: bool) -> "tuple[str, str]":
    """(path under /proc, text) of the LSM "exec" attribute that labels the next execve: the
    AppArmor-specific file where the kernel has one (``apparmor_exec_attribute``: newer kernels
    have APPARMOR_EXEC_ATTRIBUTE), else the shared one."""
    if kind == "apparmor":
        text = f"exec {value}"
        if apparmor_exec_attribute:
            return f"{proc_prefix}/attr/apparmor/exec", text
        return f"{proc_prefix}/attr/exec", text
    return f"{proc_prefix}/attr/exec", value
