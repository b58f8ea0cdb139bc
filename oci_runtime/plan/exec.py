"""The plan of `exec`: join the container's namespaces and run one more process there.

    joiner   non-dumpable -> initial CPU affinity and oom score (host procfs) -> personality,
             scheduler, I/O priority, LSM labels (the forked process inherits them) -> "setup"
             (the runtime puts it in the cgroup) -> join user ns first, the others, the mount
             namespace last -> fork (CLONE_PARENT: the runtime's child; a pid namespace applies
             to children)
    process  open the root, setsid, terminal, rlimits, keyring, final affinity, the arguments,
             HOME, the executable -> credentials, cwd, fds, seccomp -> execve

After setns into the mount namespace the kernel sets root and cwd to that namespace's root, the
container's pivoted rootfs: paths then resolve there, never on the host.
"""
from oci_runtime.executor import wire
from oci_runtime.plan.model import FdArg, Plan
from oci_runtime.plan.process import (
    add_cgroup_join_steps, add_credential_steps, add_exec_steps, add_memory_policy_step,
    add_oom_score_step, add_process_attribute_steps, add_rlimit_steps,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from oci_runtime.config.model import Process
    from oci_runtime.plan.host import HostFacts
    from oci_runtime.process.capabilities import CapabilityPlan
    from oci_runtime.seccomp.filter import CompiledFilter


def compile_exec(process: "Process", personality: "dict[str, Any] | None",
                 namespaces: "Iterable[tuple[str, int, FdArg]]", host: "HostFacts", *,
                 container_id: str, capabilities: "CapabilityPlan",
                 seccomp_program: "CompiledFilter | None" = None,
                 preserve_fds: int = 0, console_socket: "FdArg | None" = None,
                 console_owner: "tuple[int, int] | None" = None,
                 setgroups_denied: bool = False,
                 memory_policy: "dict[str, Any] | None" = None,
                 cgroup_directory: "FdArg | None" = None,
                 cgroup_files: "tuple[FdArg, ...]" = ()) -> Plan:
    """``namespaces``: [(name, CLONE_NEW* flag, FdArg)] in the order to join them;
    ``setgroups_denied``: the container's user namespace denies setgroups (rootless);
    ``memory_policy``: the container's linux.memoryPolicy; ``cgroup_directory`` and
    ``cgroup_files``: how the process enters the container's cgroup by itself (as create's
    init: cgroups.base.CgroupJoin), born in the v2 directory, the executor writing "0" to each
    v1 tasks file before it forks."""
    from oci_runtime.process.attributes import cpu_mask, every_cpu_list

    plan = Plan("exec")
    plan.add(wire.NONDUMPABLE, "making the runtime's process non-dumpable")
    affinity = process.exec_cpu_affinity or {}
    # config.md: "initial" is where the runtime's process runs before it enters the cgroup.
    if affinity.get("initial"):
        plan.add(wire.AFFINITY, f"config.json: /process/execCPUAffinity/initial: setting CPU "
                 f"affinity {affinity['initial']!r}", "/process/execCPUAffinity/initial",
                 strings=(cpu_mask(affinity["initial"], "/process/execCPUAffinity/initial"),))
    add_oom_score_step(plan, process)
    # Through the host's procfs, before joining: the forked process inherits the label.
    add_process_attribute_steps(plan, process, personality, "thread-self", host)
    add_cgroup_join_steps(plan, cgroup_files)
    plan.add(wire.SYNC_SETUP, "joining the container's cgroup", "/linux/cgroupsPath")
    for name, flag, fd_arg in namespaces:
        plan.add(wire.SETNS, f"joining the container's {name} namespace", "/linux/namespaces",
                 (fd_arg, flag))
    if cgroup_directory is None:
        plan.add(wire.FORK, "forking the process", "/linux/namespaces", (-1,))
    else:
        plan.add(wire.FORK, f"forking the process into the container's cgroup "
                 f"{cgroup_directory.label}", "/linux/cgroupsPath", (cgroup_directory,))
        if not affinity.get("final"):
            # Every CPU, which the kernel narrows to the cgroup's cpuset, as the runtime does
            # for a process it places (Linux before 6.2 gives a child born in a cgroup its
            # parent's affinity).
            plan.add(wire.AFFINITY, "resetting the CPU affinity to the cgroup's cpuset",
                     "/linux/resources/cpu/cpus",
                     strings=(cpu_mask(every_cpu_list(), "/sys/devices/system/cpu/possible"),))
    plan.add(wire.OPEN_CWD_ROOT, "opening the container's root")
    plan.add(wire.SETSID, "setsid")
    if process.terminal:
        size = process.console_size or {}
        uid, gid = console_owner if console_owner is not None else (-1, -1)
        assert console_socket is not None  # the caller makes one for a terminal
        plan.add(wire.CONSOLE, "setting up the terminal (--tty)", "/process/terminal",
                 (console_socket, size.get("height", 0), size.get("width", 0), uid, gid))
    add_rlimit_steps(plan, process.rlimits)
    # runc's exec too gets a fresh session keyring: it must not share the caller's.
    plan.add(wire.KEYRING, "joining a new session keyring", None, strings=(f"_ses.{container_id}",))
    if affinity.get("final"):
        plan.add(wire.AFFINITY, f"config.json: /process/execCPUAffinity/final: setting CPU "
                 f"affinity {affinity['final']!r}", "/process/execCPUAffinity/final",
                 strings=(cpu_mask(affinity["final"], "/process/execCPUAffinity/final"),))
    # The container's memory policy, as its init has it (checked at create).
    add_memory_policy_step(plan, memory_policy, None)
    add_exec_steps(plan, process)
    add_credential_steps(plan, process, capabilities, seccomp_program, preserve_fds, release=False,
                         setgroups_denied=setgroups_denied)
    return plan

