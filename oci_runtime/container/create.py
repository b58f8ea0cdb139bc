"""`create`: from a bundle to a container whose init waits for `start`.

Read and check config.json, then steps, each undone if a later one fails or a signal comes
(oci_runtime.container.transaction): reserve the state directory -> create the cgroup and set its limits ->
start the init (oci_runtime.container.launch; from the moment its pid is known the undo kills it) ->
attach its networks -> record state -> write the pid file.
"""
import os
import time

from oci_runtime import OCI_VERSION, network
from oci_runtime.config.load import load_bundle_config, read_bundle_config_bytes
from oci_runtime.config.model import config_problem
from oci_runtime.container.launch import LaunchPlan, compile_plan, launch
from oci_runtime.container.lifecycle import StoredContainer
from oci_runtime.container.pid_file import check_pid_file, write_pid_file
from oci_runtime.container.store import CONFIG_FILE
from oci_runtime.container.transaction import KILL_TIMEOUT, CreateInterrupted, CreateTransaction
from oci_runtime.errors import ConfigError, OCIError
from oci_runtime.hooks.runner import HookError, hook_state, run_hooks
from oci_runtime.kernel import hotpath
from oci_runtime.kernel.files import write_atomically
from oci_runtime.rootfs.leftover_mounts import mounts_before, remove_container_mounts

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from oci_runtime.cgroups.base import CgroupManager
    from oci_runtime.config.model import Config
    from oci_runtime.container.store import StateStore
    from oci_runtime.plan.create import CgroupMount
    from oci_runtime.plan.model import Plan
    from oci_runtime.seccomp.filter import CompiledFilter
    from oci_runtime.terminal.console import ConsoleEndpoint

    Warn = Callable[[str], None]

# Hooks the later CLI calls run; kept in state.json so they need not parse config.json again.
_LATER_HOOKS = ("poststart", "poststop")


class Created:
    """What create_container returns: the stored container, the warnings the plan compiler gave
    (unknown syscall names, ...), and, for an attached `run` without --console-socket, the pty
    master's endpoint to relay (else None)."""

    __slots__ = ("container", "warnings", "console")

    def __init__(self, container: StoredContainer, warnings: "list[str]",
                 console: "ConsoleEndpoint | None") -> None:
        self.container = container
        self.warnings = warnings
        self.console = console


def create_container(store: "StateStore", container_id: str, bundle: str, *,
                     pid_file: str | None = None, console_socket: str | None = None,
                     no_pivot: bool = False, no_new_keyring: bool = False, preserve_fds: int = 0,
                     systemd_cgroup: bool = False, attached: bool = False,
                     warn: "Warn | None" = None, debug: "Any" = None,
                     network_options: "dict[str, Any] | None" = None,
                     rootless: bool | None = None) -> Created:
    # ``network_options``: {"networks": [CNI network names], "cni_conf_dir", "cni_bin_dir"}.
    # ``rootless``: --rootless as True, False or None (detect: oci_runtime.userns.rootless).
    # ``debug``: None, or --debug's DebugLog (oci_runtime.cli.logging).  Every use is behind
    # `if debug is not None`, so without --debug nothing is formatted or timed.
    bundle = os.path.abspath(bundle)
    from oci_runtime.cgroups.files import warm_up_attach

    warm_up_attach()  # the init's cgroup attach, a few ms from now, then skips a grace period
    if debug is not None:
        debug.begin(f"create {container_id}: bundle {bundle}")
    if pid_file:
        check_pid_file(pid_file)
    config = load_bundle_config(bundle)
    if debug is not None:
        debug.config_loaded(bundle, config)
    check_creatable(config)
    assert config.process is not None  # check_creatable raised otherwise
    if config.process.terminal and console_socket is None and not attached:
        # Only an attached `run` (the init's parent, waiting) is there to relay a terminal.
        raise ConfigError("config.json: /process/terminal is true: pass --console-socket",
                          "/process/terminal")
    if console_socket is not None and not config.process.terminal:
        # runc refuses it too: the socket would never receive a console.
        raise OCIError("--console-socket: cannot use console socket: config.json: "
                       "/process/terminal is not true")
    _warn_about_ungrantable_capabilities(config.process.capabilities, warn)
    transaction = CreateTransaction(warn)
    try:
        with transaction:
            created = _create_in(transaction, store, container_id, bundle, config, pid_file,
                                   console_socket, no_pivot, no_new_keyring, preserve_fds,
                                   systemd_cgroup, debug, network_options, warn, rootless)
    except CreateInterrupted as exc:
        raise OCIError(str(exc)) from None
    except HookError:
        if config.hooks.get("poststop"):
            # runtime.md: a failing prestart/createRuntime/createContainer hook continues the
            # lifecycle at "destroy" and then the poststop hooks, whose failures only warn.
            state = hook_state(container_id, "stopped", 0, bundle, config.annotations)
            run_hooks(config.hooks, "poststop", state, warn=warn or (lambda message: None))
        raise
    return created


def _create_in(transaction: CreateTransaction, store: "StateStore", container_id: str,
               bundle: str, config: "Config", pid_file: str | None, console_socket: str | None,
               no_pivot: bool, no_new_keyring: bool, preserve_fds: int, systemd_cgroup: bool,
               debug: "Any", network_options: "dict[str, Any] | None",
               warn: "Warn | None", rootless: bool | None) -> Created:
    """The steps of create, each recording its undo in ``transaction`` as soon as it is made."""
    assert config.process is not None  # create_container checked it
    state_dir = store.reserve(container_id)
    transaction.on_undo(f"removing {state_dir}", lambda: store.remove(container_id))
    write_atomically(f"{state_dir}/{CONFIG_FILE}", read_bundle_config_bytes(bundle))
    if debug is not None:
        debug.stage("state directory", state_dir)
    from oci_runtime.userns.rootless import is_rootless

    rootless_mode = is_rootless(rootless)
    cgroup = _open_cgroup(config, container_id, systemd_cgroup, rootless_mode)
    # Recorded before it is made: if this process dies half-way, `delete` removes it.
    early = dict(store.load(container_id), bundle=bundle,
                 cgroup=cgroup.to_dict() if cgroup is not None else None)
    if "mount" not in config.linux.namespaces:
        # Its mounts land in the runtime's namespace: delete removes all but these.
        early.update(rootfs=config.root_path,
                     host_mounts_before=mounts_before(config.root_path))
        transaction.on_undo("removing the container's mounts under its rootfs",
                            lambda: remove_container_mounts(config.root_path,
                                                            early["host_mounts_before"], warn))
    store.save(container_id, early)
    if cgroup is not None:
        # Registered before launch() creates it: an undo of a cgroup never made does nothing.
        transaction.on_undo("removing the container's cgroup",
                            lambda: cgroup.remove_after_kill(KILL_TIMEOUT))
    if debug is not None:
        debug.cgroup_ready(cgroup)
    plan = LaunchPlan(container_id, config, bundle, state_dir, no_pivot=no_pivot,
                      no_new_keyring=no_new_keyring, preserve_fds=preserve_fds,
                      console_socket=console_socket)
    plan.network_options = network_options
    plan.attached_networks = None
    transaction.before_init_continues(
        lambda init, _: _attach_networks(transaction, plan, init.pid, warn))
    console: "ConsoleEndpoint | None" = None
    if config.process.terminal:
        from oci_runtime.terminal.console import ConsoleEndpoint

        console = plan.console = ConsoleEndpoint(console_socket)
        transaction.on_undo("closing the console", console.close)
    plan.cgroup_mounts = _cgroup_mounts(cgroup, config)
    if config.linux.seccomp:
        plan.seccomp_program = compile_seccomp(config.linux.seccomp, store.root, plan.warnings)
        if debug is not None:
            debug.seccomp_compiled(plan.seccomp_program)
    init = launch(plan, cgroup, cgroup_resources(config, rootless_mode)
                  if cgroup is not None else None, transaction)
    if debug is not None:
        debug.init_created(init.pid)
    assert transaction.init is not None  # launch() told it the init
    record: "dict[str, Any]" = {
        "ociVersion": OCI_VERSION,
        "id": container_id,
        "pid": init.pid,
        "init_start_time": transaction.init.start_time,
        "bundle": bundle,
        "rootfs": config.root_path,
        "created": _rfc3339_now(),
        "owner": "",
        "annotations": network.state_annotations(config.annotations, plan.attached_networks),
        "hooks": {k: v for k, v in config.hooks.items() if k in _LATER_HOOKS and v},
        "cgroup": cgroup.to_dict() if cgroup is not None else None,
        "freezer_state_file": _freezer_state_file(cgroup),
        "namespaces": {n.type: n.path for n in config.linux.namespaces.values()},
        # Only a filter with a NOTIFY rule makes a listener (see seccomp.install).
        "seccomp_listener": _listener_record(config.linux.seccomp)
        if plan.seccomp_program is not None and plan.seccomp_program.uses_notify else None,
    }
    if "host_mounts_before" in early:
        record["host_mounts_before"] = early["host_mounts_before"]
    store.save(container_id, record)
    if pid_file:
        written = write_pid_file(pid_file, init.pid)
        transaction.on_undo(f"removing --pid-file {pid_file}", lambda: os.unlink(written))
    if debug is not None:
        debug.stage("state", "state.json and pid file written")
        debug.total(f"create {container_id}")
    # Without --console-socket, `run` receives the pty master here and relays it.
    if console is not None and not console.relays:
        console.close()
        console = None
    return Created(StoredContainer(store, container_id, record), init.warnings, console)


def _attach_networks(transaction: CreateTransaction, plan: LaunchPlan, init_pid: int,
                     warn: "Warn | None") -> None:
    """netDevices and CNI networks, while the init waits; network.attach records each step
    before it makes it, so the undo (CNI DEL, the netns unmount) covers a partial attach."""
    transaction.on_undo("detaching the container's networks",
                        lambda: network.detach(plan.state_dir, warn=warn or (lambda message: None)))
    plan.attached_networks = network.attach(plan, init_pid)


def check_creatable(config: "Config") -> None:
    """The rules create applies to a parsed config beyond the schema and the model's own; each
    is a config_problem, so `check` runs this same code and collects every problem."""
    from oci_runtime.process.attributes import check_process_attributes

    if config.process is None:
        config_problem("/process", "is required to create a container")
    if config.linux.intel_rdt:
        # config-linux.md: without a mounted resctrl the runtime MUST error; with one we must
        # write the schemata, which this version does not do (features: intelRdt disabled).
        config_problem("/linux/intelRdt", "Intel RDT (resctrl) is not supported by this version "
                       "of oci-runtime" + ("" if _resctrl_mounted() else
                                           "; no resctrl filesystem is mounted"))
    if config.process is not None:
        check_process_attributes(config.process, config.linux.personality)


def cgroup_resources(config: "Config", rootless: bool = False) -> "dict[str, Any]":
    """linux.resources with runc's effective device rules: deny all, the config's rules, then
    the devices a container needs (config-linux.md "Default Devices", ptys) and linux.devices.
    Rootless (a delegated cgroup): no device rules, as runc; an unprivileged caller cannot load
    the device controller's program, and the container's devices are the host's bound nodes."""
    from oci_runtime.cgroups.controllers.devices import runc_device_rules

    resources = dict(config.linux.resources)
    if rootless:
        resources.pop("devices", None)
    else:
        resources["devices"] = runc_device_rules(resources.get("devices"), config.linux.devices)
    return resources


def _open_cgroup(config: "Config", container_id: str, systemd_cgroup: bool,
                 rootless: bool) -> "CgroupManager | None":
    """The container's cgroup manager, or None (rootless without a delegated cgroup and no
    resources asked for); launch() creates the cgroup and applies its limits while the init
    sets itself up, and the error path here destroys it."""
    from oci_runtime.cgroups import open_manager
    from oci_runtime.userns.rootless import rootless_cgroup

    if rootless:
        if systemd_cgroup:
            # runc talks to the user's own systemd instance here; this version does not.
            raise OCIError("--systemd-cgroup: rootless containers with the systemd cgroup "
                           "driver (systemd's user instance) are not supported by this version "
                           "of oci-runtime; use the cgroupfs driver (a delegated cgroup, or none)")
        manager = open_manager(config.linux.cgroups_path, container_id)
        return rootless_cgroup(manager, config.linux.resources)
    return open_manager(config.linux.cgroups_path, container_id, systemd=systemd_cgroup)


def _warn_about_ungrantable_capabilities(capabilities: "dict[str, list[str]]",
                                         warn: "Warn | None") -> None:
    """config.md: a capability that cannot be granted (unknown, or outside the runtime's own
    bounding set) SHOULD be logged and SHOULD NOT fail create; the init leaves it out."""
    from oci_runtime.process.capabilities import CapabilityPlan

    warnings: "list[str]" = []
    CapabilityPlan(capabilities, "config.json: /process/capabilities", warnings)
    for warning in warnings:
        if warn is not None:
            warn(warning)


def compile_seccomp(seccomp: "dict[str, Any]", root: str, warnings: "list[str]"
                    ) -> "CompiledFilter":
    """Compile before forking: errors surface before anything is made, libseccomp cannot be
    reached after pivot_root anyway, and a profile seen before is served from the cache."""
    from oci_runtime import seccomp as seccomp_support
    from oci_runtime.container.store import SECCOMP_CACHE_DIRECTORY

    compiled = seccomp_support.compile_filter(seccomp, cache_dir=f"{root}/{SECCOMP_CACHE_DIRECTORY}")
    warnings.extend(compiled.warnings)
    return compiled


def _resctrl_mounted() -> bool:
    from oci_runtime.kernel.mountinfo import entries

    return any(entry.fstype == "resctrl" for entry in entries())


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


def _cgroup_mounts(cgroup: "CgroupManager | None", config: "Config") -> "list[CgroupMount] | None":
    """The hierarchies the config's cgroup mount shows (None without one, or on cgroup v2)."""
    if not any(m.type in ("cgroup", "cgroup2") for m in config.mounts):
        return None
    from oci_runtime.cgroups.hierarchy import container_cgroup_mounts

    return container_cgroup_mounts(cgroup)


def _rfc3339_now() -> str:
    now = time.time()
    seconds = int(now)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((now - seconds) * 1e9):09d}Z"


def saved_config(store: "StateStore", container_id: str) -> "dict[str, Any]":
    """The config.json as it was at create (exec and update read this one)."""
    with open(f"{store.container_dir(container_id)}/{CONFIG_FILE}", "rb") as saved:
        config: "dict[str, Any]" = hotpath.loads(saved.read())
        return config


def plan_of(config: "Config", bundle: str, container_id: str, state_dir: str,
            seccomp_program: "CompiledFilter | None" = None) -> "Plan":
    """The create Plan for ``config`` with symbolic fds, nothing made or opened: what `plan`
    prints and `check` compiles."""
    launch_plan = LaunchPlan(container_id, config, bundle, state_dir)
    launch_plan.cgroup_mounts = _cgroup_mounts(None, config)
    launch_plan.seccomp_program = seccomp_program
    return compile_plan(launch_plan)[0]


def bundle_plan(store: "StateStore", bundle: str, container_id: str) -> "Plan":
    """The Plan create would run for ``bundle`` (nothing is made; seccomp is compiled)."""
    from oci_runtime.process.attributes import check_process_attributes

    bundle = os.path.abspath(bundle)
    config = load_bundle_config(bundle)
    if config.process is None:
        raise OCIError("config.json: /process: is required to create a container")
    check_process_attributes(config.process, config.linux.personality)
    warnings: "list[str]" = []
    seccomp_program = (compile_seccomp(config.linux.seccomp, store.root, warnings)
                       if config.linux.seccomp else None)
    return plan_of(config, bundle, container_id, f"{store.root}/{container_id}", seccomp_program)
