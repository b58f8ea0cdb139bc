"""The runtime's side of create: start the executor on the create plan, answer it, and undo
everything if any step fails (the spec: a failed create leaves the host as if it was never
attempted).  The executor's side is cext/executor.c; the messages are in executor/wire.py."""
import os

from oci_runtime.container.store import START_SOCKET, start_socket_address
from oci_runtime.errors import OCIError
from oci_runtime.executor import wire
from oci_runtime.hooks.runner import hook_state, run_hooks
from oci_runtime.kernel import hotpath
from oci_runtime.plan.model import FdArg
from oci_runtime.process.children import kill_and_reap, reap

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from socket import socket
    from typing import Any

    from oci_runtime.cgroups.base import CgroupManager
    from oci_runtime.config.model import Config
    from oci_runtime.container.transaction import CreateTransaction
    from oci_runtime.plan.create import CreateOptions, CgroupMount
    from oci_runtime.plan.model import Plan
    from oci_runtime.seccomp.filter import CompiledFilter
    from oci_runtime.terminal.console import ConsoleEndpoint


class LaunchPlan:
    """What create decided, for the plan compiler and for launch: the config, the bundle, the
    state directory, the options of the create call, and what the runtime prepared (the console
    endpoint, the start listener, the compiled seccomp program, warnings)."""

    # Set by create only (network.attach reads them with getattr): the --network options, and
    # what network.attach attached.
    network_options: "dict[str, Any] | None"
    attached_networks: "dict[str, Any] | None"

    def __init__(self, container_id: str, config: "Config", bundle: str, state_dir: str, *,
                 no_pivot: bool = False, no_new_keyring: bool = False, preserve_fds: int = 0,
                 console_socket: str | None = None) -> None:
        self.container_id = container_id
        self.config = config
        self.bundle = bundle
        self.state_dir = state_dir
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.preserve_fds = preserve_fds
        self.console_socket = console_socket
        self.console: ConsoleEndpoint | None = None  # when process.terminal is true
        self.start_listener: socket | None = None  # the init accepts `start` on it
        # the host's cgroup hierarchies, for a cgroup mount (create.py)
        self.cgroup_mounts: list[CgroupMount] | None = None
        self.seccomp_program: CompiledFilter | None = None  # installed just before execve
        self.warnings: list[str] = []


class LaunchedInit:
    def __init__(self, pid: int, warnings: "list[str]") -> None:
        self.pid = pid
        self.warnings = warnings


def compile_plan(launch_plan: LaunchPlan) -> "tuple[Plan, CreateOptions]":
    """The create Plan for ``launch_plan`` with symbolic fds (nothing opened)."""
    from oci_runtime.plan.create import CreateOptions, compile_create
    from oci_runtime.process.capabilities import CapabilityPlan

    config = launch_plan.config
    assert config.process is not None  # create refuses a config without one first
    options = CreateOptions(
        launch_plan.container_id, no_pivot=launch_plan.no_pivot,
        no_new_keyring=launch_plan.no_new_keyring, preserve_fds=launch_plan.preserve_fds,
        console_socket=FdArg("console socket") if config.process.terminal else None,
        start_listener=FdArg(f"{launch_plan.state_dir}/{START_SOCKET} (listening)"),
        cgroup_mounts=launch_plan.cgroup_mounts, seccomp_program=launch_plan.seccomp_program,
        capabilities=CapabilityPlan(config.process.capabilities, "/process/capabilities",
                                    launch_plan.warnings))
    return compile_create(config, options), options


def launch(plan: LaunchPlan, cgroup: "CgroupManager | None", resources: "dict[str, Any] | None",
           transaction: "CreateTransaction") -> LaunchedInit:
    """Start the container's init, set up as far as `create` goes; it is a direct child of this
    process (the executor forks it with CLONE_PARENT).  ``transaction`` (oci_runtime.container.transaction)
    is told the init's pid as soon as it is known: from then on its undo kills the init, and its
    steps that must precede the init going on (networks) run then.  On failure the executor is
    killed here and OCIError raised; the caller's transaction undoes the rest.  ``cgroup`` (a
    manager, or None) is created and given ``resources`` here, while the init builds its rootfs."""

    from oci_runtime.executor import session as executor

    compiled, options = compile_plan(plan)
    start_path = f"{plan.state_dir}/{START_SOCKET}"
    listener = hotpath.socket(hotpath.AF_UNIX, hotpath.SOCK_STREAM | hotpath.SOCK_CLOEXEC)
    # Through a directory fd when the path is too long for sockaddr_un (any id, any --root).
    address, directory_fd = start_socket_address(plan.state_dir)
    try:
        listener.bind(address)
        listener.listen(1)
    except OSError as exc:
        listener.close()
        raise OCIError.from_os(f"creating {start_path}", exc) from exc
    finally:
        if directory_fd >= 0:
            os.close(directory_fd)
    assert options.start_listener is not None  # compile_plan makes one
    options.start_listener.fd = listener.detach()
    if plan.console is not None:
        assert options.console_socket is not None  # a console means process.terminal
        options.console_socket.fd = plan.console.detach_sender()
    init_pid = 0
    stage1_pid = 0
    session = None
    try:
        if cgroup is not None:
            cgroup.create()
        session = executor.spawn(compiled, plan.preserve_fds)
        stage1_pid = session.pid
        if plan.config.linux.has_new("user"):
            _, payload = session.receive(wire.MSG_SETUP)
            from oci_runtime.userns.idmap import write_id_maps

            write_id_maps(int.from_bytes(payload[:4], "little"), plan.config.linux.uid_mappings,
                          plan.config.linux.gid_mappings)
            session.send(wire.MSG_OK)
        _, payload = session.receive(wire.MSG_PID)
        init_pid = int.from_bytes(payload[:4], "little")
        # The one point where the parent learns the init: the undo kills it from here on, and
        # the transaction's steps that must precede the init going on (networks) run now.
        transaction.init_started(init_pid, cgroup)
        # The init builds its rootfs meanwhile, and waits for this only before it creates its
        # cgroup namespace: placing a process costs an RCU grace period on cgroup v1 (~5 ms).
        if cgroup is not None:
            cgroup.apply(init_pid)
            cgroup.set(resources)
        states = [_state_bytes(plan, status, init_pid) for status in ("creating", "created")]
        session.send(wire.MSG_GO, b"".join(len(s).to_bytes(4, "little") + s for s in states))
        reap(stage1_pid)
        stage1_pid = 0
        kind, _ = session.receive(wire.MSG_HOOKS, wire.MSG_CREATED)
        if kind == wire.MSG_HOOKS:
            # runtime.md: the container is "creating" until create has finished.
            state = hook_state(plan.container_id, "creating", init_pid, plan.bundle,
                               plan.config.annotations)
            try:
                run_hooks(plan.config.hooks, "prestart", state)
                run_hooks(plan.config.hooks, "createRuntime", state)
            except OCIError:
                session.send(wire.MSG_ABORT)
                raise
            session.send(wire.MSG_OK)
            session.receive(wire.MSG_CREATED)
        return LaunchedInit(init_pid, plan.warnings)
    except BaseException:
        if stage1_pid:
            kill_and_reap(stage1_pid)  # the executor; the init is the transaction's to kill
        try:
            os.unlink(start_path)
        except FileNotFoundError:
            pass
        raise
    finally:
        if session is not None:
            session.close()


def _state_bytes(plan: LaunchPlan, status: str, pid: int) -> bytes:
    return hotpath.dumps(hook_state(plan.container_id, status, pid, plan.bundle,
                                    plan.config.annotations)).encode()


