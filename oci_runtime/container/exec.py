"""`exec`: start one more process inside a running container.

The executor (cext/executor.c) joins the container's namespaces and runs the process part of the
plan (plan/exec.py).  The runtime opens the init's /proc/<pid>/ns/* while they are host paths,
puts the joiner in the container's cgroup when it asks ("setup"), learns the process's pid, and
waits for EOF on the sync socket (every holder has it close-on-exec: the process exec'd) or an
error frame.  The process inherits the joiner's cgroup, so the cgroup is joined before any
namespace: joining the cgroup namespace afterwards then shows the container's cgroup as its root.
The process is this process's child (CLONE_PARENT), so an attached exec waits for it directly.
"""
import os

from oci_runtime.config.model import Process, check_strings
from oci_runtime.container.pid_file import check_pid_file, write_pid_file
from oci_runtime.container.store import CONFIG_FILE
from oci_runtime.errors import ConfigError, InvalidState, OCIError
from oci_runtime.kernel import constants as kernel
from oci_runtime.kernel import hotpath
from oci_runtime.process.attributes import check_process_attributes
from oci_runtime.process.capabilities import CapabilityPlan
from oci_runtime.process.children import kill_and_reap, reap, wait_for_exit, wait_with_forwarding
from oci_runtime.terminal import console as terminal

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from oci_runtime.cgroups.base import CgroupJoin
    from oci_runtime.container.exec_request import ExecRequest
    from oci_runtime.container.lifecycle import StoredContainer
    from oci_runtime.container.store import StateStore
    from oci_runtime.executor.session import Session
    from oci_runtime.plan.host import HostFacts
    from oci_runtime.seccomp.filter import CompiledFilter

# /proc/<pid>/ns/ entry -> CLONE_NEW* flag, in the order they are joined: the user namespace
# first (it owns the others and grants the capabilities to join them), the mount namespace last.
_NAMESPACE_ORDER = (
    ("user", kernel.CLONE_NEWUSER), ("cgroup", kernel.CLONE_NEWCGROUP),
    ("ipc", kernel.CLONE_NEWIPC), ("uts", kernel.CLONE_NEWUTS), ("net", kernel.CLONE_NEWNET),
    ("pid", kernel.CLONE_NEWPID), ("time", kernel.CLONE_NEWTIME), ("mnt", kernel.CLONE_NEWNS),
)


def saved_config(store: "StateStore", container_id: str) -> "dict[str, Any]":
    """The config.json as it was at create (the spec: later edits of the bundle's must not
    affect the container)."""
    with open(f"{store.container_dir(container_id)}/{CONFIG_FILE}", "rb") as saved:
        config: "dict[str, Any]" = hotpath.loads(saved.read())
        return config


def exec_in_container(container: "StoredContainer", saved_config: "dict[str, Any]",
                      request: "ExecRequest", warn: "Callable[[str], None] | None" = None,
                      debug: "Any" = None) -> int | None:
    """Run ``request`` in ``container``.  Detached: return the process's host pid once it has
    exec'd.  Otherwise wait for it and return its exit status (128+N when killed by signal N).

    ``debug`` is --debug's DebugLog or None (then nothing is formatted)."""
    status = container.status
    # runc's rule: a created container (its init waits for `start`, namespaces all made) takes
    # exec like a running one; a paused one only when asked, since the process freezes too.
    if status == "paused" and not request.ignore_paused:
        raise InvalidState(f"cannot exec in container {container.id}: it is paused "
                           "(use --ignore-paused to override)", status)
    if status not in ("created", "running", "paused"):
        raise InvalidState(f"cannot exec in container {container.id}: it is {status}", status)
    check_strings(request.process, request.source, request.pointer)
    if request.pid_file:
        check_pid_file(request.pid_file)
    process = Process(request.process, request.pointer, request.source)
    if process.terminal and request.console_socket is None and request.detach:
        raise OCIError("exec --detach with a terminal needs --console-socket")
    if request.console_socket is not None and not process.terminal:
        # runc's rule and words: the socket would receive nothing.
        raise OCIError("exec --console-socket: cannot use console socket if the process has no "
                       "terminal (--tty, or terminal in --process)")
    personality = (saved_config.get("linux") or {}).get("personality")
    memory_policy = (saved_config.get("linux") or {}).get("memoryPolicy")
    check_process_attributes(process, personality, f"{request.source}: {request.pointer}")
    from oci_runtime.container.prepare import gather_host_facts

    host = gather_host_facts()
    capability_warnings: "list[str]" = []
    capabilities = CapabilityPlan(process.capabilities,
                                  f"{request.source}: {request.pointer}/capabilities",
                                  capability_warnings, bounding=host.bounding_set,
                                  last=host.last_capability)
    for warning in capability_warnings:
        if warn is not None:
            warn(warning)
    seccomp_program = None
    seccomp = (saved_config.get("linux") or {}).get("seccomp")
    if seccomp:
        from oci_runtime.container.prepare import compile_seccomp

        seccomp_program = compile_seccomp(seccomp, container.store.root)
        for warning in seccomp_program.warnings:  # unknown syscall names: debug level, as runc
            if debug is not None:
                debug(warning)
    manager = container._cgroup_manager()
    cgroup_join: "Callable[[int], None] | None" = None
    entry: "CgroupJoin | None" = None  # how the process enters the cgroup by itself
    if request.sub_cgroups:
        if manager is None:
            raise OCIError(f"exec --cgroup: container {container.id} has no cgroup")
        directories = manager.sub_cgroup_directories(request.sub_cgroups)

        def join_sub_cgroups(pid: int) -> None:
            manager.join_existing(directories, pid)
        cgroup_join = join_sub_cgroups
    if manager is not None and process.scheduler and not request.sub_cgroups:
        # A real-time policy in a cgroup without real-time runtime: EPERM in the process, said
        # here with the budget and the fields that set it.
        problem = manager.realtime_problem(process.scheduler.get("policy", ""))
        if problem:
            raise ConfigError(f"{request.source}: {request.pointer}/scheduler/policy: {problem}")
    namespace_fds = _open_namespaces_to_join(container.pid)
    if manager is not None and not request.sub_cgroups:
        # The executor forks after joining the container's user and cgroup namespaces, if it
        # has its own.
        entry = manager.join(not any(flag in (kernel.CLONE_NEWUSER, kernel.CLONE_NEWCGROUP)
                                     for flag, _ in namespace_fds))
        joined_manager, entered = manager, entry

        def place(pid: int) -> None:
            joined_manager.place(pid, entered)
        cgroup_join = place
    if manager is not None:
        manager.expect_placement(entry)  # `--cgroup`: None, moved in from outside
    if debug is not None:
        flag_names = {flag: name for name, flag in _NAMESPACE_ORDER}
        debug(f"exec in {container.id} ({status}, init {container.pid}): args {process.args!r}, "
              f"joining namespaces {', '.join(flag_names[f] for f, _ in namespace_fds) or 'none'}")
        if manager is not None:
            joined = (directories if request.sub_cgroups
                      else sorted(set(manager.directories().values())))
            debug(f"exec cgroup: {', '.join(joined)}")
    console: "terminal.ConsoleEndpoint | None" = None
    pidfd_socket = None
    try:
        if request.pidfd_socket:
            from oci_runtime.process.pidfd_socket import PidfdSocket

            pidfd_socket = PidfdSocket(request.pidfd_socket)  # fails before anything runs
        if process.terminal:
            console = terminal.ConsoleEndpoint(request.console_socket)
        pid = _fork_and_join(container, process, capabilities, seccomp_program, request,
                             namespace_fds, cgroup_join, console, personality, host,
                             memory_policy, entry)
    except BaseException:
        if console is not None:
            console.close()
        if pidfd_socket is not None:
            pidfd_socket.close()
        raise
    finally:
        for _, fd in namespace_fds:
            os.close(fd)
    if debug is not None:
        debug(f"exec: process {pid} is running")
    try:
        if request.pid_file:
            write_pid_file(request.pid_file, pid)
        if pidfd_socket is not None:
            from oci_runtime.process.pidfd_socket import EXEC, send_pidfd_of

            send_pidfd_of(pidfd_socket, pid, EXEC)
    except OCIError:
        # runc's rule: a process whose pid cannot be handed over is not left running.
        kill_and_reap(pid)
        if console is not None:
            console.close()
        if pidfd_socket is not None:
            pidfd_socket.close()
        raise
    if request.detach:
        if console is not None:
            console.close()
        return pid
    if console is not None and console.relays:
        return console.relay_until_exit(pid, wait_for_exit)
    if console is not None:
        console.close()
    return wait_with_forwarding(pid)


def _open_namespaces_to_join(init_pid: int) -> "list[tuple[int, int]]":
    """(flag, fd) for each namespace of the init that differs from ours.  Opened now, while
    /proc is the host's; a namespace we already share is skipped (setns into one's own user
    namespace is EINVAL)."""
    opened: "list[tuple[int, int]]" = []
    try:
        for name, flag in _NAMESPACE_ORDER:
            theirs = f"/proc/{init_pid}/ns/{name}"
            try:
                their_stat = os.stat(theirs)
            except FileNotFoundError:
                continue  # a namespace type this kernel does not have
            ours = os.stat(f"/proc/self/ns/{name}")
            if (their_stat.st_dev, their_stat.st_ino) == (ours.st_dev, ours.st_ino):
                continue
            opened.append((flag, os.open(theirs, os.O_RDONLY | os.O_CLOEXEC)))
    except OSError as exc:
        for _, fd in opened:
            os.close(fd)
        raise OCIError.from_os(f"opening the namespaces of the container's init {init_pid}",
                               exc) from exc
    return opened


def _setgroups_denied(init_pid: int) -> bool:
    """Whether the init's user namespace denies setgroups (a rootless container: read through
    the host's procfs, on the runtime's side)."""
    try:
        with open(f"/proc/{init_pid}/setgroups") as setgroups:
            return setgroups.read().strip() == "deny"
    except OSError:
        return False


def _fork_and_join(container: "StoredContainer", process: Process, capabilities: CapabilityPlan,
                   seccomp_program: "CompiledFilter | None", request: "ExecRequest",
                   namespace_fds: "list[tuple[int, int]]",
                   cgroup_join: "Callable[[int], None] | None",
                   console: "terminal.ConsoleEndpoint | None",
                   personality: "dict[str, Any] | None", host: "HostFacts",
                   memory_policy: "dict[str, Any] | None", entry: "CgroupJoin | None") -> int:

    from oci_runtime.executor import session as executor
    from oci_runtime.plan.exec import compile_exec
    from oci_runtime.process.attributes import reset_cpu_affinity
    from oci_runtime.plan.model import FdArg
    from oci_runtime.executor import wire

    names = {flag: name for name, flag in _NAMESPACE_ORDER}
    namespaces = [(names[flag], flag, FdArg(f"/proc/{container.pid}/ns/{names[flag]}", fd=fd))
                  for flag, fd in namespace_fds]
    console_socket = None
    if console is not None:
        console_socket = FdArg("console socket", fd=console.detach_sender())
    from oci_runtime.container.prepare import cgroup_fd_args

    cgroup_directory, cgroup_files = cgroup_fd_args(entry)
    plan = compile_exec(process, personality, namespaces, host, container_id=container.id,
                        capabilities=capabilities, seccomp_program=seccomp_program,
                        preserve_fds=request.preserve_fds, console_socket=console_socket,
                        console_owner=(process.user.uid, process.user.gid),
                        setgroups_denied=_setgroups_denied(container.pid),
                        memory_policy=memory_policy, cgroup_directory=cgroup_directory,
                        cgroup_files=cgroup_files)
    namespace_fds.clear()  # spawn closes them once the executor has its copies
    session = executor.spawn(plan, request.preserve_fds)
    joiner_pid = session.pid
    process_pid = 0
    try:
        _, (joiner,) = session.receive(wire.MSG_SETUP)
        assert isinstance(joiner, int)  # a u32 field
        if cgroup_join is not None:
            cgroup_join(joiner)
        # As runc: after the cgroup, the cgroup's cpuset, not the caller's affinity nor
        # execCPUAffinity.initial (meant for before it); "final" is set after the fork.
        reset_cpu_affinity(joiner)
        session.send(wire.MSG_OK)
        _, (pid_field,) = session.receive(wire.MSG_PID)
        assert isinstance(pid_field, int)  # a u32 field
        process_pid = pid_field
        reap(joiner_pid)
        joiner_pid = 0
        _wait_for_exec(session, container, process_pid)
        if console is not None:
            console.receive_master()
        return process_pid
    except BaseException:
        for pid in (joiner_pid, process_pid):
            if pid:
                kill_and_reap(pid)
        raise
    finally:
        session.close()


def _wait_for_exec(session: "Session", container: "StoredContainer", process_pid: int) -> None:
    """EOF means execve succeeded; otherwise an error frame, or a seccomp listener fd to pass to
    its agent first."""
    from oci_runtime.executor import wire

    while True:
        kind, _, listener_fd = session.receive_frame()  # an error frame raises
        if kind == wire.MSG_LISTENER and listener_fd is not None:
            container._send_seccomp_listener(container.record["seccomp_listener"], listener_fd,
                                             process_pid)
            continue
        if listener_fd is not None:
            os.close(listener_fd)
        if not kind:
            return
        raise OCIError(f"internal: unexpected frame {kind!r} from the container's executor")
