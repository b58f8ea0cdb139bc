"""The process part of a plan, shared by create's init and exec: attributes, the program and its
environment, rlimits, hooks run from inside the container, and the last steps before execve.

The last steps keep the design's rule: after the seccomp filter only the privilege drop and
execve run.  With noNewPrivileges the order is ids, capabilities, cwd, fds, no_new_privs,
seccomp, execve.  Without it, loading the filter needs CAP_SYS_ADMIN, so the capabilities are set
with CAP_SYS_ADMIN kept in effect, then the filter is loaded, then the final capabilities
(capset), ambient ones (prctl) and execve follow.
"""
import os

from oci_runtime.errors import OCIError
from oci_runtime.executor import wire
from oci_runtime.process.capabilities import RLIMIT_NUMBERS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from oci_runtime.config.model import Process
    from oci_runtime.hooks.runner import HookError
    from oci_runtime.plan.host import HostFacts
    from oci_runtime.plan.model import Describe, FdArg, Plan, Step
    from oci_runtime.process.capabilities import CapabilityPlan
    from oci_runtime.seccomp.filter import CompiledFilter

_CAP_SYS_ADMIN = 1 << 21
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_RLIM_INFINITY = 0xFFFFFFFFFFFFFFFF


def _blob(strings: "Iterable[str]") -> bytes:
    return b"".join(s.encode() + b"\0" for s in strings)


def _signed64(value: int) -> int:
    """rlimits and masks are unsigned 64-bit; the plan's integers are signed."""
    return value - (1 << 64) if value >= 1 << 63 else value


def environment(entries: "Iterable[str]") -> "list[str]":
    """config.md env entries ("KEY=value") in order, a later KEY replacing an earlier one;
    malformed entries are skipped."""
    merged: "dict[str, str]" = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if sep and key:
            merged[key] = value
    return [f"{key}={value}" for key, value in merged.items()]


def _hook_error(step: "Step", errno: int, detail: str) -> "HookError":
    kind, _, rest = (detail or "").partition(" ")
    value, _, line = rest.partition("\n")
    if kind == "timeout":
        return _hook_failure(f"{step.what} timed out after {value} s")
    if kind == "exec":
        return _hook_failure(f"{step.what} could not run: {os.strerror(int(value))}")
    reason = f"killed by signal {value}" if kind == "signal" else f"exit status {value}"
    return _hook_failure(f"{step.what} failed: {reason}" + (f": {line}" if line else ""))


def _hook_failure(message: str) -> "HookError":
    from oci_runtime.hooks.runner import HookError
    from oci_runtime.plan.host import HostFacts

    return HookError(message)


def hook_steps(plan: "Plan", hooks: "dict[str, Any]", kind: str, state_blob: int) -> None:
    """The hooks of ``kind`` run by the executor (createContainer, startContainer): forked and
    exec'd with the container state (blob 0: "creating", 1: "created") on stdin."""
    for index, hook in enumerate(hooks.get(kind) or ()):
        path = hook["path"]
        args = hook.get("args") or [path]
        env = hook.get("env")
        plan.add(wire.RUN_HOOK, f"hooks.{kind}[{index}] ({path})", f"/hooks/{kind}/{index}",
                 (hook.get("timeout") or 0, len(args), -1 if env is None else len(env),
                  state_blob),
                 (path, _blob(args), _blob(env or ()), kind), describe=_hook_error)


def add_cgroup_join_steps(plan: "Plan", tasks_files: "Iterable[FdArg]") -> None:
    """The process writes "0" (itself) to each cgroup v1 tasks file the runtime opened
    (cgroups.base.CgroupJoin): create's init after its fork, exec's executor before its own."""
    for tasks in tasks_files:
        plan.add(wire.JOIN_CGROUP, f"joining the container's cgroup: writing 0 to {tasks.label}",
                 "/linux/cgroupsPath", (tasks,))


def add_oom_score_step(plan: "Plan", process: "Process") -> None:
    """oomScoreAdj, written through the host's procfs before anything is joined or pivoted."""
    if process.oom_score_adj is not None:
        plan.add(wire.WRITE_PROC,
                 f"config.json: /process/oomScoreAdj: writing {process.oom_score_adj} to "
                 "/proc/self/oom_score_adj (lowering it needs CAP_SYS_RESOURCE)",
                 "/process/oomScoreAdj",
                 strings=("self/oom_score_adj", str(process.oom_score_adj)))


def add_process_attribute_steps(plan: "Plan", process: "Process",
                                personality: "dict[str, Any] | None", proc_prefix: str,
                                host: "HostFacts") -> None:
    """Personality, scheduler, I/O priority and LSM labels (process/attributes.py has the tables and
    the checks, done before anything is forked)."""
    from oci_runtime.process.attributes import (
        IOPRIO_CLASS_SHIFT, IOPRIO_CLASSES, PERSONALITY_DOMAINS, SCHED_FLAGS, SCHED_POLICIES,
        lsm_exec_attribute,
    )

    if personality:
        plan.add(wire.PERSONALITY, "config.json: /linux/personality: personality(2)",
                 "/linux/personality", (PERSONALITY_DOMAINS[personality["domain"]],))
    scheduler = process.scheduler
    if scheduler:
        flags = 0
        for flag in scheduler.get("flags") or ():
            flags |= SCHED_FLAGS[flag]
        plan.add(wire.SCHED, f"config.json: /process/scheduler: sched_setattr({scheduler['policy']})",
                 "/process/scheduler",
                 (SCHED_POLICIES[scheduler["policy"]], flags, scheduler.get("nice", 0),
                  scheduler.get("priority", 0), scheduler.get("runtime", 0),
                  scheduler.get("deadline", 0), scheduler.get("period", 0)))
    priority = process.io_priority
    if priority:
        value = (IOPRIO_CLASSES[priority["class"]] << IOPRIO_CLASS_SHIFT) | priority.get("priority", 0)
        plan.add(wire.IOPRIO, "config.json: /process/ioPriority: ioprio_set", "/process/ioPriority",
                 (value,))
    # Labels take effect at execve (the "exec" attribute), so setting them early changes nothing
    # the executor still does.
    for pointer, value, kind in (("/process/apparmorProfile", process.apparmor_profile, "apparmor"),
                                 ("/process/selinuxLabel", process.selinux_label, "selinux")):
        if value:
            path, text = lsm_exec_attribute(kind, value, proc_prefix,
                                            host.apparmor_exec_attribute)
            plan.add(wire.WRITE_PROC, f"config.json: {pointer}: writing {text!r} to /proc/{path}",
                     pointer, strings=(path, text))


def exec_lookup_error(arg0: str, errno: int, detail: str) -> OCIError:
    """How a failed lookup of the executable reads (the FIND_EXEC step's ``detail``: "notfound",
    or the path tried, with ENOENT or EACCES)."""
    # runc's phrases: podman maps "no such file or directory" / "executable file not found in"
    # to exit status 127 and "permission denied" to 126, as docker does.
    if detail == "notfound":
        return OCIError(f"exec: {arg0!r}: executable file not found in $PATH", errno)
    if errno == 13:
        return OCIError(f"exec: {arg0!r}: permission denied", errno)
    return OCIError(f"exec: {arg0!r}: stat {detail}: no such file or directory", errno)


def add_memory_policy_step(plan: "Plan", memory_policy: "dict[str, Any] | None",
                           allowed: "set[int] | None") -> None:
    """linux.memoryPolicy: set_mempolicy(2) in the process, late (after it is in the container's
    cgroup, whose cpuset bounds the nodes), inherited by what it execs and forks
    (process/mempolicy.py checks it; ``allowed``: the nodes the container may use, None:
    unknown)."""
    if not memory_policy:
        return
    from oci_runtime.process.mempolicy import memory_policy as checked_policy

    policy = checked_policy(memory_policy, allowed)
    if policy is None:
        return  # a config_problem was recorded (`check` goes on)
    flags = "|".join(memory_policy.get("flags") or ())
    plan.add(wire.MEMPOLICY, f"config.json: /linux/memoryPolicy: set_mempolicy("
             f"{memory_policy['mode']}{'|' + flags if flags else ''}, nodes "
             f"{memory_policy.get('nodes') or 'none'!r})", "/linux/memoryPolicy",
             (policy.mode, policy.maxnode), (policy.nodemask,))


def _find_exec_error(arg0: str) -> "Describe":
    def describe(step: "Step", errno: int, detail: str) -> OCIError:
        return exec_lookup_error(arg0, errno, detail)
    return describe


def executable_search(process: "Process") -> str:
    """The ':'-separated directories args[0] is looked up in, like execvp: the PATH of the
    process's own environment, else the default (an empty entry is the cwd)."""
    search = _DEFAULT_PATH
    for entry in environment(process.env):
        if entry.startswith("PATH="):
            search = entry[5:]
    return search


def add_exec_steps(plan: "Plan", process: "Process") -> None:
    """The program, its environment (HOME from the container's /etc/passwd when missing, as
    runc), and its executable looked up in the root like execvp with the process's own PATH."""
    env = environment(process.env)
    plan.add(wire.EXEC_ARGS, "preparing the process arguments", "/process/args",
             (len(process.args), len(env)), (_blob(process.args), _blob(env)))
    if not any(entry.startswith("HOME=") for entry in env):
        plan.add(wire.SET_HOME, "looking up HOME in /etc/passwd", "/process/env",
                 (process.user.uid,))
    arg0 = process.args[0]
    plan.add(wire.FIND_EXEC, f"exec: {arg0!r}", "/process/args/0",
             strings=(arg0, executable_search(process), process.cwd),
             describe=_find_exec_error(arg0))


def _rlimit_error(name: str, soft: int, hard: int) -> "Describe":
    def describe(step: "Step", errno: int, detail: str) -> OCIError:
        hint = ""
        if detail and detail.isdigit():
            current_hard = int(detail)
            if hard > current_hard or hard == _RLIM_INFINITY:
                hint = (f" (raising the hard limit above the runtime's {current_hard} needs "
                        "CAP_SYS_RESOURCE, which this host does not grant)")
        return OCIError(f"{step.what}: {os.strerror(errno)}{hint}", errno)
    return describe


def add_rlimit_steps(plan: "Plan", rlimits: "Iterable[tuple[str, int, int]]",
                     pointer: str = "/process/rlimits") -> None:
    for index, (name, soft, hard) in enumerate(rlimits):
        number = RLIMIT_NUMBERS.get(name)
        if number is None:
            raise OCIError(f"config.json: {pointer}/{index}/type: unknown rlimit {name!r}")
        plan.add(wire.RLIMIT, f"config.json: {pointer}/{index}: setting {name} to soft={soft} "
                 f"hard={hard}", f"{pointer}/{index}", (number, _signed64(soft), _signed64(hard)),
                 describe=_rlimit_error(name, soft, hard))


def _seccomp_steps(plan: "Plan", compiled: "CompiledFilter") -> "Step":
    from oci_runtime.seccomp.filter import install_error, load_flags

    flags, with_listener = load_flags(compiled)

    def describe(step: "Step", errno: int, detail: str) -> OCIError:
        return install_error(errno, flags)

    return plan.add(wire.SECCOMP, "seccomp: loading the filter", "/linux/seccomp",
                    (flags, 1 if with_listener else 0), (compiled.bpf,), describe=describe)


def add_credential_steps(plan: "Plan", process: "Process", capabilities: "CapabilityPlan",
                         seccomp_program: "CompiledFilter | None", preserve_fds: int,
                         release: bool, setgroups_denied: bool = False) -> None:
    """umask, stdio ownership, bounding set, ids, capabilities, cwd, fds, seccomp, execve.
    ``setgroups_denied``: the user namespace's gid map was written without CAP_SETGID (rootless,
    oci_runtime.userns.idmap), so setgroups(2) fails there: no supplementary groups are possible, and
    the executor skips the call (as runc)."""
    user = process.user
    if setgroups_denied and user.additional_gids:
        raise OCIError("config.json: /process/user/additionalGids: setgroups is denied in the "
                       "container's user namespace (its gid map was written without privilege)")
    what_user = f"setting user {user.uid}:{user.gid} and capabilities of the process"
    cwd_what = f"config.json: /process/cwd: {process.cwd}"
    if user.umask is not None:
        plan.add(wire.UMASK, "config.json: /process/user/umask", "/process/user/umask",
                 (user.umask,))
    if user.uid != 0:
        plan.add(wire.STDIO_CHOWN, "giving stdio to the process user", "/process/user",
                 (user.uid, user.gid))
    plan.add(wire.DROP_BOUNDING, what_user, "/process/capabilities/bounding",
             (_signed64(capabilities.bounding), capabilities.last))
    groups = b"".join(gid.to_bytes(4, "little") for gid in user.additional_gids)
    # The cwd as root first (runc's finalizeNamespace): a directory only root may enter, like
    # /root (0700), is still the cwd of a process of another user; only if root cannot enter
    # it is it tried again as the user, below.
    plan.add(wire.CHDIR, cwd_what, "/process/cwd", (1,), (process.cwd,))
    plan.add(wire.SET_IDS, what_user, "/process/user",
             (user.uid, user.gid, len(user.additional_gids), 1 if setgroups_denied else 0),
             (groups,))
    final = (_signed64(capabilities.effective), _signed64(capabilities.permitted),
             _signed64(capabilities.inheritable))
    # Ambient capabilities must also be permitted and inheritable; runc skips the others (its
    # default spec lists ambient ones without inheritable), and so do we.
    ambient = capabilities.ambient & capabilities.permitted & capabilities.inheritable
    seccomp_last = seccomp_program is not None and process.no_new_privileges
    seccomp_first = seccomp_program is not None and not process.no_new_privileges
    if seccomp_first:
        keep_admin = (_signed64(capabilities.effective | _CAP_SYS_ADMIN),
                      _signed64(capabilities.permitted | _CAP_SYS_ADMIN), final[2])
        plan.add(wire.SET_CAPS, what_user, "/process/capabilities", keep_admin)
    else:
        plan.add(wire.SET_CAPS, what_user, "/process/capabilities", final)
        plan.add(wire.AMBIENT, what_user, "/process/capabilities/ambient", (_signed64(ambient),))
    plan.add(wire.CHDIR, cwd_what, "/process/cwd", (2,), (process.cwd,))
    plan.add(wire.FD_SWEEP, "marking fds close-on-exec", None, (preserve_fds,))
    if release:
        plan.add(wire.RELEASE, "releasing `start`")
    if seccomp_first:
        assert seccomp_program is not None  # seccomp_first says so
        _seccomp_steps(plan, seccomp_program)
        plan.add(wire.SET_CAPS, what_user, "/process/capabilities", final)
        plan.add(wire.AMBIENT, what_user, "/process/capabilities/ambient", (_signed64(ambient),))
    if process.no_new_privileges:
        plan.add(wire.NO_NEW_PRIVS, "setting no_new_privs", "/process/noNewPrivileges")
    if seccomp_last:
        assert seccomp_program is not None  # seccomp_last says so
        _seccomp_steps(plan, seccomp_program)
    plan.add(wire.EXEC, f"exec {process.args[0]!r}", "/process/args")
