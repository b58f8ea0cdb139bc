"""The runtime's side of create: start the executor on the create plan, answer it, and undo
everything if any step fails (the spec: a failed create leaves the host as if it was never
attempted).  The executor's side is cext/executor.c; the messages are in executor/wire.py."""
import os

from oci_runtime.container.store import START_SOCKET, start_socket_address
from oci_runtime.errors import OCIError
from oci_runtime.executor import wire
from oci_runtime.kernel import hotpath
from oci_runtime.process.attributes import reset_cpu_affinity
from oci_runtime.process.children import kill_and_reap, reap

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from oci_runtime.cgroups.base import CgroupManager
    from oci_runtime.config.model import Config
    from oci_runtime.container.prepare import Prepared
    from oci_runtime.container.transaction import CreateTransaction
    from oci_runtime.terminal.console import ConsoleEndpoint


def launch(prepared: "Prepared", console: "ConsoleEndpoint | None",
           transaction: "CreateTransaction") -> int:
    """Start the container's init on ``prepared``'s plan, set up as far as `create` goes; its
    pid.  It is a direct child of this process (the executor forks it with CLONE_PARENT).
    ``transaction`` (oci_runtime.container.transaction) is told the init's pid as soon as it is
    known: from then on its undo kills the init, and its steps that must precede the init going
    on (networks) run then.  On failure the executor is killed here and OCIError raised; the
    caller's transaction undoes the rest.  The cgroup (``prepared.cgroup``, a manager or None)
    is created and given its resources here, while the init builds its rootfs.  ``console``:
    the endpoint the pty master goes out on (process.terminal)."""

    from oci_runtime.executor import session as executor

    plan, config, cgroup = prepared.plan, prepared.config, prepared.cgroup
    assert plan is not None and config is not None  # prepare() made them, or raised
    state_dir = prepared.state_dir
    start_path = f"{state_dir}/{START_SOCKET}"
    listener = hotpath.socket(hotpath.AF_UNIX, hotpath.SOCK_STREAM | hotpath.SOCK_CLOEXEC)
    # Through a directory fd when the path is too long for sockaddr_un (any id, any --root).
    address, directory_fd = start_socket_address(state_dir)
    try:
        listener.bind(address)
        listener.listen(1)
    except OSError as exc:
        listener.close()
        raise OCIError.from_os(f"creating {start_path}", exc) from exc
    finally:
        if directory_fd >= 0:
            os.close(directory_fd)
    prepared.start_listener.fd = listener.detach()
    if console is not None:
        assert prepared.console_socket is not None  # a console means process.terminal
        prepared.console_socket.fd = console.detach_sender()
    init_pid = 0
    stage1_pid = 0
    session = None
    try:
        join = prepared.cgroup_join
        if cgroup is not None:
            cgroup.create()
            cgroup.expect_placement(join)
        session = executor.spawn(plan, prepared.options.preserve_fds)
        stage1_pid = session.pid
        if config.linux.has_new("user"):
            _, (setup_pid,) = session.receive(wire.MSG_SETUP)
            from oci_runtime.userns.idmap import write_id_maps

            assert isinstance(setup_pid, int)  # a u32 field
            write_id_maps(setup_pid, config.linux.uid_mappings, config.linux.gid_mappings)
            session.send(wire.MSG_OK)
        _, (pid_field,) = session.receive(wire.MSG_PID)
        assert isinstance(pid_field, int)  # a u32 field
        init_pid = pid_field
        # The one point where the parent learns the init: the undo kills it from here on, and
        # the transaction's steps that must precede the init going on (networks) run now.
        transaction.init_started(init_pid, cgroup)
        # The init entered its cgroup by itself (prepared.cgroup_join) where it could; what is
        # left is placed here while it builds its rootfs: it waits for GO only before it
        # creates its cgroup namespace.
        if cgroup is not None:
            cgroup.place(init_pid, join)
            cgroup.set(prepared.resources)
            assert prepared.config is not None  # prepare() filled it
            _check_scheduler_fits(cgroup, prepared.config)
        reset_cpu_affinity(init_pid)  # to the cgroup's cpuset, not the caller's (runc)
        states = _hook_states(prepared, init_pid)
        session.send(wire.MSG_GO, *states)
        reap(stage1_pid)
        stage1_pid = 0
        kind, _ = session.receive(wire.MSG_HOOKS, wire.MSG_CREATED)
        if kind == wire.MSG_HOOKS:
            from oci_runtime.hooks.runner import hook_state, run_hooks

            # runtime.md: the container is "creating" until create has finished.
            state = hook_state(prepared.container_id, "creating", init_pid, prepared.bundle,
                               config.annotations)
            try:
                run_hooks(config.hooks, "prestart", state)
                run_hooks(config.hooks, "createRuntime", state)
            except OCIError:
                session.send(wire.MSG_ABORT)
                raise
            session.send(wire.MSG_OK)
            session.receive(wire.MSG_CREATED)
        return init_pid
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


def _check_scheduler_fits(cgroup: "CgroupManager", config: "Config") -> None:
    """A real-time process.scheduler in a cgroup without real-time runtime fails with a bare
    EPERM in the init: say why now, naming the budget and the fields that set it."""
    scheduler = config.process.scheduler if config.process is not None else None
    if scheduler:
        problem = cgroup.realtime_problem(scheduler.get("policy", ""))
        if problem:
            from oci_runtime.errors import ConfigError

            raise ConfigError(f"config.json: /process/scheduler/policy: {problem}")


def _hook_states(prepared: "Prepared", pid: int) -> "list[bytes]":
    """What GO carries: the container's state, "creating" then "created", for the hooks the
    executor runs (createContainer, startContainer); empty when the plan runs none."""
    assert prepared.config is not None and prepared.plan is not None  # prepare() filled them
    if not any(step.op is wire.RUN_HOOK for step in prepared.plan.steps):
        return [b"", b""]
    from oci_runtime.hooks.runner import hook_state

    return [hotpath.dumps(hook_state(prepared.container_id, status, pid, prepared.bundle,
                                     prepared.config.annotations)).encode()
            for status in ("creating", "created")]


