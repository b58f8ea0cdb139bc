"""The process attributes beyond credentials (config.md `process`, config-linux.md
`personality`): scheduler, ioPriority, execCPUAffinity, personality, AppArmor and SELinux labels.

``check_process_attributes`` runs in the runtime before anything is forked, so a request this host
cannot honour (an LSM that is not enabled, an unknown policy) fails `create`/`exec` with a clear
message and nothing to undo.  The ``apply_*`` functions run in the container's process (init or
exec) before execve; they only use modules imported here, so they work after pivot_root.
"""
import os

from oci_runtime import kernel
from oci_runtime.errors import OCIError

_SCHED_POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
                   "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
_SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
                "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
                "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
                "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}
_IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
_IOPRIO_WHO_PROCESS = 1
_IOPRIO_CLASS_SHIFT = 13
_PERSONALITY_DOMAINS = {"LINUX": 0x0000, "LINUX32": 0x0008}

_APPARMOR_ENABLED = "/sys/module/apparmor/parameters/enabled"
_SELINUX_FS = "/sys/fs/selinux"


def check_process_attributes(process, linux_personality=None):
    """Raise OCIError for anything requested that cannot be applied on this host."""
    scheduler = process.scheduler
    if scheduler:
        if scheduler.get("policy") not in _SCHED_POLICIES:
            raise OCIError(f"config.json: /process/scheduler/policy: unknown policy "
                           f"{scheduler.get('policy')!r}")
        for flag in scheduler.get("flags") or ():
            if flag not in _SCHED_FLAGS:
                raise OCIError(f"config.json: /process/scheduler/flags: unknown flag {flag!r}")
    priority = process.io_priority
    if priority:
        if priority.get("class") not in _IOPRIO_CLASSES:
            raise OCIError(f"config.json: /process/ioPriority/class: unknown class "
                           f"{priority.get('class')!r}")
        if not 0 <= int(priority.get("priority", 0)) <= 7:
            raise OCIError("config.json: /process/ioPriority/priority: must be 0 to 7")
    affinity = process.exec_cpu_affinity or {}
    for key in ("initial", "final"):
        if affinity.get(key):
            parse_cpu_list(affinity[key], f"/process/execCPUAffinity/{key}")
    if linux_personality:
        if linux_personality.get("domain") not in _PERSONALITY_DOMAINS:
            raise OCIError(f"config.json: /linux/personality/domain: unsupported domain "
                           f"{linux_personality.get('domain')!r} (LINUX or LINUX32)")
        if linux_personality.get("flags"):
            raise OCIError("config.json: /linux/personality/flags: no flags are supported")
    if process.apparmor_profile and not apparmor_enabled():
        raise OCIError(f"config.json: /process/apparmorProfile: cannot apply profile "
                       f"{process.apparmor_profile!r}: AppArmor is not enabled on this host")
    if process.selinux_label and not selinux_enabled():
        raise OCIError(f"config.json: /process/selinuxLabel: cannot apply label "
                       f"{process.selinux_label!r}: SELinux is not enabled on this host")


def apparmor_enabled():
    try:
        with open(_APPARMOR_ENABLED) as enabled:
            return enabled.read().strip() == "Y"
    except OSError:
        return False


def selinux_enabled():
    return os.path.exists(f"{_SELINUX_FS}/enforce")


def parse_cpu_list(text, pointer):
    """"0-3,7" -> {0, 1, 2, 3, 7}."""
    cpus = set()
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
        raise OCIError(f"config.json: {pointer}: invalid CPU list {text!r} "
                       "(comma-separated CPUs and ranges, like 0-3,7)") from None
    return cpus


def set_cpu_affinity(cpu_list, pointer):
    if not cpu_list:
        return
    try:
        os.sched_setaffinity(0, parse_cpu_list(cpu_list, pointer))
    except OSError as exc:
        raise OCIError.from_os(f"config.json: {pointer}: setting CPU affinity {cpu_list!r}",
                               exc) from exc


def apply_personality(linux_personality):
    if not linux_personality:
        return
    try:
        kernel.personality(_PERSONALITY_DOMAINS[linux_personality["domain"]])
    except OSError as exc:
        raise OCIError.from_os("config.json: /linux/personality: personality(2)", exc) from exc


def apply_process_attributes(process):
    """Scheduler, I/O priority and LSM labels of the calling process (the one about to exec)."""
    scheduler = process.scheduler
    if scheduler:
        flags = 0
        for flag in scheduler.get("flags") or ():
            flags |= _SCHED_FLAGS[flag]
        try:
            kernel.sched_setattr(
                0, _SCHED_POLICIES[scheduler["policy"]], flags, scheduler.get("nice", 0),
                scheduler.get("priority", 0), scheduler.get("runtime", 0),
                scheduler.get("deadline", 0), scheduler.get("period", 0))
        except OSError as exc:
            raise OCIError.from_os(
                f"config.json: /process/scheduler: sched_setattr({scheduler['policy']})",
                exc) from exc
    priority = process.io_priority
    if priority:
        value = (_IOPRIO_CLASSES[priority["class"]] << _IOPRIO_CLASS_SHIFT) | priority["priority"]
        try:
            kernel.ioprio_set(_IOPRIO_WHO_PROCESS, 0, value)
        except OSError as exc:
            raise OCIError.from_os("config.json: /process/ioPriority: ioprio_set", exc) from exc
    # Labels take effect at execve ("exec" attribute), so setting them now changes nothing the
    # runtime still does in this process.
    if process.apparmor_profile:
        _write_exec_attribute(["/proc/thread-self/attr/apparmor/exec",
                               "/proc/thread-self/attr/exec"],
                              f"exec {process.apparmor_profile}", "/process/apparmorProfile")
    if process.selinux_label:
        _write_exec_attribute(["/proc/thread-self/attr/exec"], process.selinux_label,
                              "/process/selinuxLabel")


def _write_exec_attribute(candidates, value, pointer):
    last_error = None
    for path in candidates:
        try:
            with open(path, "w") as attribute:
                attribute.write(value)
            return
        except FileNotFoundError as exc:
            last_error = exc  # older kernels have only the shared attr/exec
        except OSError as exc:
            raise OCIError.from_os(f"config.json: {pointer}: writing {value!r} to {path}",
                                   exc) from exc
    raise OCIError.from_os(f"config.json: {pointer}: no {candidates[-1]}", last_error)
