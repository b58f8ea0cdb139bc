"""`create`: from a bundle to a container whose init waits for `start`.

The one create path (oci_runtime.container.prepare) decides everything first, making nothing;
then steps, each undone if a later one fails or a signal comes
(oci_runtime.container.transaction): reserve the state directory and save the config read ->
record the cgroup -> start the executor on the plan (oci_runtime.container.launch: it creates
the cgroup; from the moment the init's pid is known the undo kills it) -> attach its networks
-> record state -> write the pid file.
"""
import os
import time

from oci_runtime import OCI_VERSION, network
from oci_runtime.container.launch import launch
from oci_runtime.container.lifecycle import StoredContainer
from oci_runtime.container.prepare import prepare
from oci_runtime.container.store import CONFIG_FILE
from oci_runtime.container.transaction import KILL_TIMEOUT, CreateInterrupted, CreateTransaction
from oci_runtime.errors import OCIError
from oci_runtime.kernel.files import write_atomically

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from oci_runtime.cgroups.base import CgroupManager
    from oci_runtime.container.prepare import Prepared
    from oci_runtime.container.store import StateStore
    from oci_runtime.plan.options import CreateOptions
    from oci_runtime.terminal.console import ConsoleEndpoint

    Warn = Callable[[str], None]
    # start_init(prepared, console, transaction) -> the init's host pid
    StartInit = Callable[[Prepared, "ConsoleEndpoint | None", CreateTransaction], int]

# Hooks the later CLI calls run; kept in state.json so they need not parse config.json again.
_LATER_HOOKS = ("poststart", "poststop")


class Created:
    """What create_container returns: the stored container, the warnings of the seccomp
    compiler (syscall names this libseccomp does not know: debug level, as runc), and, for an
    attached `run` without --console-socket, the pty master's endpoint to relay (else None)."""

    __slots__ = ("container", "warnings", "console")

    def __init__(self, container: StoredContainer, warnings: "list[str]",
                 console: "ConsoleEndpoint | None") -> None:
        self.container = container
        self.warnings = warnings
        self.console = console


def create_container(store: "StateStore", container_id: str, bundle: str,
                     options: "CreateOptions", *, systemd_cgroup: bool = False,
                     rootless: bool | None = None, attached: bool = False,
                     warn: "Warn | None" = None, debug: "Any" = None) -> Created:
    """``systemd_cgroup`` and ``rootless`` (True, False, or None: detect) are the Runtime's
    settings; ``attached``: an attached `run`, which relays a terminal itself; ``debug``: None,
    or --debug's DebugLog (oci_runtime.cli.logging): every use is behind `if debug is not
    None`, so without --debug nothing is formatted or timed."""
    if debug is not None:
        debug.begin(f"create {container_id}: bundle {os.path.abspath(bundle)}")
    prepared = prepare(store, container_id, bundle, options, systemd_cgroup=systemd_cgroup,
                       rootless=rootless, attached=attached, debug=debug)
    return make_container(store, prepared, launch, warn, debug)


def make_container(store: "StateStore", prepared: "Prepared", start_init: "StartInit",
                   warn: "Warn | None", debug: "Any" = None) -> Created:
    """create's steps for ``prepared`` in a transaction (all undone on a failure or a signal; a
    failing hook then also runs the poststop hooks), the init started by ``start_init(prepared,
    console, transaction)``, which returns its pid: launch (the executor on the plan) for
    create, CRIU's restore for restore (container/restore.py)."""
    for warning in prepared.warnings:
        if warn is not None:
            warn(warning)
    transaction = CreateTransaction(warn)
    try:
        with transaction:
            created = _create_in(transaction, store, prepared, start_init, warn, debug)
    except CreateInterrupted as exc:
        raise OCIError(str(exc)) from None
    except OCIError as error:
        config = prepared.config
        assert config is not None  # prepare() filled it
        if config.hooks.get("poststop"):
            from oci_runtime.hooks.runner import HookError, hook_state, run_hooks

            if isinstance(error, HookError):
                # runtime.md: a failing prestart/createRuntime/createContainer hook continues
                # the lifecycle at "destroy" and then the poststop hooks, whose failures only
                # warn.
                state = hook_state(prepared.container_id, "stopped", 0, prepared.bundle,
                                   config.annotations)
                run_hooks(config.hooks, "poststop", state, warn=warn or (lambda message: None))
        raise
    return created


def _create_in(transaction: CreateTransaction, store: "StateStore", prepared: "Prepared",
               start_init: "StartInit", warn: "Warn | None", debug: "Any") -> Created:
    """The steps of create, each recording its undo in ``transaction`` as soon as it is made."""
    config, cgroup, options = prepared.config, prepared.cgroup, prepared.options
    container_id, bundle = prepared.container_id, prepared.bundle
    assert config is not None and config.process is not None  # prepare() checked it
    # Recorded before it is made (with the "creating" record reserve writes): if this process
    # dies half-way, `delete` removes it.
    early: "dict[str, Any]" = {"bundle": bundle,
                               "cgroup": cgroup.to_dict() if cgroup is not None else None}
    if "mount" not in config.linux.namespaces:
        from oci_runtime.rootfs.leftover_mounts import mounts_before, remove_container_mounts

        # Its mounts land in the runtime's namespace: delete removes all but these.
        root_path = config.root_path
        early.update(rootfs=root_path, host_mounts_before=mounts_before(root_path))
    state_dir = store.reserve(container_id, early)
    transaction.on_undo(f"removing {state_dir}", lambda: store.remove(container_id))
    if "host_mounts_before" in early:
        transaction.on_undo("removing the container's mounts under its rootfs",
                            lambda: remove_container_mounts(root_path,
                                                            early["host_mounts_before"], warn))
    if cgroup is not None:
        # Before the undo that would kill and remove it: the cgroup may be another container's.
        cgroup.check_before_create()
    # The bytes prepare() validated: a later edit of the bundle's file changes nothing here.
    write_atomically(f"{state_dir}/{CONFIG_FILE}", prepared.config_bytes)
    if debug is not None:
        debug.stage("state directory", state_dir)
    if cgroup is not None:
        # Registered before launch() creates it: an undo of a cgroup never made does nothing.
        transaction.on_undo("removing the container's cgroup",
                            lambda: cgroup.remove_after_kill(KILL_TIMEOUT))
    attached_networks: "list[dict[str, Any] | None]" = [None]

    def attach_networks(init_pid: int) -> None:
        """netDevices and CNI networks, while the init waits; network.attach records each step
        before it makes it, so the undo (CNI DEL, the netns unmount) covers a partial attach."""
        transaction.on_undo("detaching the container's networks",
                            lambda: network.detach(state_dir,
                                                   warn=warn or (lambda message: None)))
        attached_networks[0] = network.attach(config, container_id, state_dir, init_pid,
                                               options.networks, options.cni_conf_dir,
                                               options.cni_bin_dir)

    transaction.before_init_continues(lambda init, _: attach_networks(init.pid))
    console: "ConsoleEndpoint | None" = None
    if config.process.terminal:
        from oci_runtime.terminal.console import ConsoleEndpoint

        console = ConsoleEndpoint(options.console_socket)
        transaction.on_undo("closing the console", console.close)
    pidfd_socket = None
    if options.pidfd_socket:
        from oci_runtime.process.pidfd_socket import PidfdSocket

        pidfd_socket = PidfdSocket(options.pidfd_socket)  # before anything runs: fails early
        transaction.on_undo("closing --pidfd-socket", pidfd_socket.close)
    init_pid = start_init(prepared, console, transaction)
    if debug is not None:
        debug.init_created(init_pid)
    assert transaction.init is not None  # launch() told it the init
    if pidfd_socket is not None:
        from oci_runtime.process.pidfd_socket import INIT

        pidfd_socket.send(transaction.init.pidfd, INIT)
    seccomp_program = prepared.seccomp_program
    record: "dict[str, Any]" = {
        "ociVersion": OCI_VERSION,
        "id": container_id,
        "pid": init_pid,
        "init_start_time": transaction.init.start_time,
        "bundle": bundle,
        "rootfs": config.root_path,
        "created": _rfc3339_now(),
        "owner": "",
        "annotations": network.state_annotations(config.annotations, attached_networks[0]),
        # Whether delete has CNI networks to detach (network.json): no need to look otherwise.
        "network_record": network.recorded(attached_networks[0]),
        "hooks": {k: v for k, v in config.hooks.items() if k in _LATER_HOOKS and v},
        "cgroup": cgroup.to_dict() if cgroup is not None else None,
        "freezer_state_file": _freezer_state_file(cgroup),
        "namespaces": {n.type: n.path for n in config.linux.namespaces.values()},
        # Only a filter with a NOTIFY rule makes a listener (the executor's seccomp step).
        "seccomp_listener": _listener_record(config.linux.seccomp)
        if seccomp_program is not None and seccomp_program.uses_notify else None,
    }
    if "host_mounts_before" in early:
        record["host_mounts_before"] = early["host_mounts_before"]
    store.save(container_id, record)
    pid_file = options.pid_file
    if pid_file:
        from oci_runtime.container.pid_file import write_pid_file

        written = write_pid_file(pid_file, init_pid)
        transaction.on_undo(f"removing --pid-file {pid_file}", lambda: os.unlink(written))
    if debug is not None:
        debug.stage("state", "state.json and pid file written")
        debug.total(f"create {container_id}")
    # Without --console-socket, `run` receives the pty master here and relays it.
    if console is not None and not console.relays:
        console.close()
        console = None
    warnings = list(seccomp_program.warnings) if seccomp_program is not None else []
    return Created(StoredContainer(store, container_id, record), warnings, console)


def _listener_record(seccomp: "dict[str, Any] | None") -> "dict[str, str] | None":
    if not seccomp or not seccomp.get("listenerPath"):
        return None
    return {"path": seccomp["listenerPath"], "metadata": seccomp.get("listenerMetadata", "")}


def _freezer_state_file(cgroup: "CgroupManager | None") -> str | None:
    if cgroup is None:
        return None
    try:
        freezer = cgroup.path_for("freezer")
    except Exception:  # noqa: BLE001 - a manager without a freezer simply has no paused state
        return None
    if not freezer:
        return None
    if os.path.exists(f"{freezer}/freezer.state"):
        return f"{freezer}/freezer.state"
    return f"{freezer}/cgroup.freeze"


def _rfc3339_now() -> str:
    now = time.time()
    seconds = int(now)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((now - seconds) * 1e9):09d}Z"
