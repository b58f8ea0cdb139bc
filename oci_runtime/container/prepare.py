"""The one create path: a bundle and a create's options become everything create needs, decided
before anything is made.  create (container/create.py) executes it, `oci-runtime plan` prints
its plan, `oci-runtime check` collects its problems: the three see the same thing.

    prepare()  config.json read once (the bytes validated are the bytes create saves) ->
               parsed, validated (schemas/ through config/validate.py, config/model.py)
    decide()   the options' own checks (pid file, terminal and console socket) -> create's
               rules beyond the schema -> the process's capability sets (ungrantable ones are
               warnings) -> rootless mode -> the cgroup manager (opened; nothing made) and the
               resources it will get -> the seccomp program (compiled, or from the cache) ->
               the plan (plan/create.py), its fds symbolic until launch opens them

Every rule reports through config.model.config_problem: create stops at the first problem,
`check` (under collect_problems) records each and goes on as far as the rules allow.
"""
import os

from oci_runtime.config.model import config_problem, report_problem, stop_if_problems
from oci_runtime.container.store import START_SOCKET
from oci_runtime.errors import ConfigError, OCIError
from oci_runtime.plan.model import FdArg

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any

    from oci_runtime.cgroups.base import CgroupJoin, CgroupManager
    from oci_runtime.config.model import Config
    from oci_runtime.container.store import StateStore
    from oci_runtime.kernel.mountinfo import MountEntry
    from oci_runtime.plan.host import CgroupMount, HostFacts, PathFact
    from oci_runtime.plan.model import Plan
    from oci_runtime.plan.options import CreateOptions
    from oci_runtime.seccomp.filter import CompiledFilter


class Prepared:
    """One create, decided.  Made from its inputs (the store, the id, the bundle, the options);
    ``decide`` fills in the rest: ``config`` (and ``config_bytes``, what it was parsed from),
    ``rootless``, ``cgroup`` (a manager, or None), ``cgroup_join`` and ``resources``, ``seccomp_program``, the
    fds the plan refers to (``start_listener``, ``console_socket``), ``plan`` and ``warnings``
    (capabilities that cannot be granted: create logs them, `check` shows them)."""

    __slots__ = ("container_id", "bundle", "state_dir", "options", "config", "config_bytes",
                 "rootless", "cgroup", "resources", "seccomp_program", "start_listener",
                 "console_socket", "plan", "warnings", "cgroup_join")

    def __init__(self, store: "StateStore", container_id: str, bundle: str,
                 options: "CreateOptions") -> None:
        self.container_id = container_id
        self.bundle = os.path.abspath(bundle)
        self.state_dir = store.container_dir(container_id)  # checks the id
        self.options = options
        self.config: Config | None = None
        self.config_bytes = b""
        self.rootless = False
        self.cgroup: CgroupManager | None = None
        self.resources: dict[str, Any] | None = None
        self.seccomp_program: CompiledFilter | None = None
        self.start_listener = FdArg(f"{self.state_dir}/{START_SOCKET} (listening)")
        self.console_socket: FdArg | None = None
        self.plan: Plan | None = None
        self.warnings: list[str] = []
        self.cgroup_join: CgroupJoin | None = None  # how the init enters the cgroup by itself

    def decide(self, config: "Config", config_bytes: bytes, store: "StateStore", *,
               systemd_cgroup: bool = False, rootless: bool | None = None,
               attached: bool = False, debug: "Any" = None) -> None:
        """Everything after the schema, in create's order (see the module's docstring).
        ``attached``: an attached `run` (it relays a terminal without --console-socket);
        ``rootless``: --rootless (None: detect); ``debug``: --debug's DebugLog or None."""
        from oci_runtime.kernel.mountinfo import entries
        from oci_runtime.plan.create import CreateInputs, compile_create
        from oci_runtime.process.capabilities import CapabilityPlan
        from oci_runtime.userns.rootless import is_rootless

        self.config, self.config_bytes = config, config_bytes
        options = self.options
        if options.pid_file:
            from oci_runtime.container.pid_file import check_pid_file

            check_pid_file(options.pid_file)
        mount_table = entries()
        _check_creatable(config, mount_table)
        process = config.process
        assert process is not None  # _check_creatable raised otherwise
        if process.terminal:
            if options.console_socket is None and not attached:
                # Only an attached `run` (the init's parent, waiting) is there to relay it.
                raise ConfigError("config.json: /process/terminal is true: pass "
                                  "--console-socket", "/process/terminal")
            self.console_socket = FdArg("console socket")
        elif options.console_socket is not None:
            # runc refuses it too: the socket would never receive a console.
            raise OCIError("--console-socket: cannot use console socket: config.json: "
                           "/process/terminal is not true")
        self.rootless = is_rootless(rootless)
        try:
            self.cgroup = _open_cgroup(config, self.container_id, systemd_cgroup, self.rootless)
        except OCIError as exc:
            _report(exc, "/linux/cgroupsPath")
        if self.cgroup is not None:
            self.resources = cgroup_resources(config, self.rootless)
            try:
                self.cgroup.check_resources(self.resources)
            except OCIError as exc:
                _report(exc, "/linux/resources")
        if debug is not None:
            debug.cgroup_opened(self.cgroup)
        if config.linux.seccomp:
            try:
                self.seccomp_program = compile_seccomp(config.linux.seccomp, store.root)
            except OCIError as exc:
                _report(exc, "/linux/seccomp")
            if debug is not None and self.seccomp_program is not None:
                debug.seccomp_compiled(self.seccomp_program)
        host = gather_host_facts(config, self.cgroup, mount_table)
        # config.md: a capability that cannot be granted (unknown, or outside the runtime's own
        # bounding set) SHOULD be logged and SHOULD NOT fail create; the process goes without.
        capabilities = CapabilityPlan(process.capabilities, "config.json: /process/capabilities",
                                      self.warnings, bounding=host.bounding_set,
                                      last=host.last_capability)
        # The compiler expects a config that passed every rule above.
        stop_if_problems()
        cgroup_directory, cgroup_files = self._cgroup_entry(config)
        inputs = CreateInputs(self.container_id, start_listener=self.start_listener,
                              capabilities=capabilities, console_socket=self.console_socket,
                              seccomp_program=self.seccomp_program,
                              cgroup_directory=cgroup_directory, cgroup_files=cgroup_files)
        try:
            self.plan = compile_create(config, options, inputs, host)
        except OCIError as exc:
            _report(exc, None)
        if debug is not None:
            debug.stage("plan", f"{len(self.plan.steps) if self.plan else 0} steps")


    def _cgroup_entry(self, config: "Config") -> "tuple[FdArg | None, tuple[FdArg, ...]]":
        """The fds the init enters its cgroup through by itself (cgroups.base.CgroupJoin),
        opened at launch, once create has made the directories; ``cgroup_join`` keeps what is
        left to the runtime."""
        if self.cgroup is None:
            return None, ()
        # The init forks after the user namespace (new or joined) and a cgroup namespace given
        # by path (its new one comes later).
        namespaces = config.linux.namespaces
        cgroup_namespace = namespaces.get("cgroup")
        self.cgroup_join = self.cgroup.join(
            "user" not in namespaces
            and (cgroup_namespace is None or cgroup_namespace.path is None))
        return cgroup_fd_args(self.cgroup_join)


def cgroup_fd_args(join: "CgroupJoin | None") -> "tuple[FdArg | None, tuple[FdArg, ...]]":
    """The plan's fds for ``join``: the cgroup v2 directory FORK clones into (or None), the
    cgroup v1 tasks files JOIN_CGROUP writes to."""
    if join is None:
        return None, ()
    directory = None
    if join.clone_into is not None:
        directory = _cgroup_fd(join.clone_into, os.O_RDONLY | os.O_DIRECTORY)
    return directory, tuple(_cgroup_fd(path, os.O_WRONLY) for path in join.thread_files)


def _cgroup_fd(path: str, flags: int) -> FdArg:
    def opener() -> int:
        try:
            return os.open(path, flags | os.O_CLOEXEC)
        except OSError as exc:
            raise OCIError.from_os(f"config.json: /linux/cgroupsPath: opening {path}",
                                   exc) from exc
    return FdArg(path, opener)


def prepare(store: "StateStore", container_id: str, bundle: str, options: "CreateOptions", *,
            systemd_cgroup: bool = False, rootless: bool | None = None, attached: bool = False,
            debug: "Any" = None) -> Prepared:
    """The one create path (module docstring): what create executes and `plan` prints."""
    from oci_runtime.config.load import load_bundle_config

    prepared = Prepared(store, container_id, bundle, options)
    config, config_bytes = load_bundle_config(prepared.bundle)
    if debug is not None:
        debug.config_loaded(prepared.bundle, config)
    prepared.decide(config, config_bytes, store, systemd_cgroup=systemd_cgroup,
                    rootless=rootless, attached=attached, debug=debug)
    return prepared


def _report(error: OCIError, pointer: str | None) -> None:
    """An error of a later stage (the cgroup, seccomp, the compiler) as a problem of the field
    it names, else of ``pointer``: raised for create with its message unchanged, recorded for
    `check`.  One that names no field and has no ``pointer`` is raised as it is."""
    if isinstance(error, ConfigError):
        raise error
    problem = ConfigError(str(error), errno=error.errno)
    if problem.pointer is None:
        if pointer is None:
            raise error
        # A subsystem's message may begin with a field below ``pointer`` (the cgroup layer's
        # "/linux/resources/unified/memory.high: ..."): that one is the finding's field.
        named = str(error).split(": ", 1)[0]
        problem.pointer = named if named.startswith(pointer + "/") else pointer
    report_problem(problem)


def gather_host_facts(config: "Config | None" = None, cgroup: "CgroupManager | None" = None,
                      mount_table: "list[MountEntry] | None" = None) -> "HostFacts":
    """What the plan compiler needs of this host (oci_runtime.plan.host), read once: the
    runtime's capabilities, ids, user namespace and LSM attribute; with a create's ``config``
    also the mount table (``mount_table`` when already read), the cgroup hierarchies a cgroup
    mount shows (``cgroup``'s directories in them), and the stat of every host path the config
    names: absolute mount sources and, in a user namespace, the nodes its devices may be bound
    from."""
    from oci_runtime.kernel.files import running_in_user_namespace
    from oci_runtime.kernel.mountinfo import entries
    from oci_runtime.plan.host import HostFacts
    from oci_runtime.process.attributes import APPARMOR_EXEC_ATTRIBUTE
    from oci_runtime.process.capabilities import last_capability, runtime_capability_sets

    effective, bounding = runtime_capability_sets()
    in_user_namespace = running_in_user_namespace()
    facts = HostFacts(effective_capabilities=effective, bounding_set=bounding,
                      last_capability=last_capability(), euid=os.geteuid(), egid=os.getegid(),
                      in_user_namespace=in_user_namespace,
                      apparmor_exec_attribute=os.path.exists(APPARMOR_EXEC_ATTRIBUTE))
    if config is None:
        return facts
    from oci_runtime.rootfs.devices import devices_to_create

    table = mount_table if mount_table is not None else entries()
    facts.mount_points = tuple(entry.mount_point for entry in table)
    facts.cgroup_mounts = _cgroup_mounts(cgroup, config, table)
    paths = [mount.source for mount in config.mounts if mount.source.startswith("/")]
    if config.linux.in_user_namespace(in_user_namespace):
        from oci_runtime.rootfs.userns_devices import host_device_candidates

        for device in devices_to_create(config.linux.devices):
            paths += host_device_candidates(device)
    for path in paths:
        facts.paths[path] = _stat(path)
    if config.linux.memory_policy:
        from oci_runtime.process.mempolicy import host_memory_nodes

        facts.memory_nodes = host_memory_nodes()
    return facts


def _stat(path: str) -> "PathFact":
    from oci_runtime.plan.host import PathFact

    try:
        found = os.stat(path)
    except OSError as exc:
        return PathFact(errno=exc.errno or 1)
    return PathFact(found.st_mode, found.st_rdev)


def _check_creatable(config: "Config", mount_table: "list[MountEntry]") -> None:
    """The rules create applies to a parsed config beyond the schema and the model's own."""
    from oci_runtime.process.attributes import check_process_attributes

    if config.process is None:
        # A rule nothing after can go on from: raised, also while `check` collects.
        raise ConfigError("config.json: /process: is required to create a container", "/process")
    if config.linux.intel_rdt:
        # config-linux.md: without a mounted resctrl the runtime MUST error; with one we must
        # write the schemata, which this version does not do (features: intelRdt disabled).
        config_problem("/linux/intelRdt", "Intel RDT (resctrl) is not supported by this version "
                       "of oci-runtime" + ("" if any(entry.fstype == "resctrl"
                                                     for entry in mount_table)
                                           else "; no resctrl filesystem is mounted"))
    check_process_attributes(config.process, config.linux.personality)


def cgroup_resources(config: "Config", rootless: bool = False) -> "dict[str, Any]":
    """linux.resources with the container's device rules (container_device_rules: deny all,
    the config's rules, the devices every container may use; not linux.devices).  Rootless
    (a delegated cgroup): no device rules, as runc; an unprivileged caller cannot load the
    device controller's program, and the container's devices are the host's bound nodes."""
    from oci_runtime.cgroups.controllers.devices import container_device_rules

    resources = dict(config.linux.resources)
    if rootless:
        resources.pop("devices", None)
    else:
        resources["devices"] = container_device_rules(resources.get("devices"))
    return resources


def _open_cgroup(config: "Config", container_id: str, systemd_cgroup: bool,
                 rootless: bool) -> "CgroupManager | None":
    """The container's cgroup manager, or None (rootless without a delegated cgroup and no
    resources asked for); launch() creates the cgroup and applies its limits while the init
    sets itself up."""
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


def compile_seccomp(seccomp: "dict[str, Any]", root: str) -> "CompiledFilter":
    """The BPF program of ``seccomp``, compiled by the runtime before anything is made (errors
    surface first; the executor, static and without libraries, only loads it), or served from
    the cache under the state root ``root``.  Its ``warnings`` name syscalls this libseccomp does
    not know."""
    from oci_runtime import seccomp as seccomp_support
    from oci_runtime.container.store import SECCOMP_CACHE_DIRECTORY

    return seccomp_support.compile_filter(seccomp,
                                          cache_dir=f"{root}/{SECCOMP_CACHE_DIRECTORY}")


def _cgroup_mounts(cgroup: "CgroupManager | None", config: "Config",
                   mount_table: "list[MountEntry]") -> "list[CgroupMount] | None":
    """The hierarchies the config's cgroup mount shows (None without one, or on cgroup v2)."""
    if not any(m.type in ("cgroup", "cgroup2") for m in config.mounts):
        return None
    from oci_runtime.cgroups.hierarchy import container_cgroup_mounts

    return container_cgroup_mounts(cgroup, mount_table)
