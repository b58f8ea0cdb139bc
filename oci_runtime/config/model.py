"""The typed view of config.json that the runtime's layers use.

Plain classes with __slots__ (not dataclasses: importing those costs more than a whole `state`
call).  Sections owned by a subsystem with their own parser (linux.resources for cgroups,
linux.seccomp for seccomp) stay raw dicts and are handed over as they are.  Checks that a JSON
schema cannot express (duplicates, cross-field rules) live here, each naming its JSON pointer.
"""
import os

from oci_runtime.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

# namespace type in config.json -> (CLONE_NEW* flag, name under /proc/<pid>/ns/)
NAMESPACE_TYPES = {
    "mount": (0x00020000, "mnt"),
    "pid": (0x20000000, "pid"),
    "network": (0x40000000, "net"),
    "ipc": (0x08000000, "ipc"),
    "uts": (0x04000000, "uts"),
    "user": (0x10000000, "user"),
    "cgroup": (0x02000000, "cgroup"),
    "time": (0x00000080, "time"),
}


# None: the first problem raises (create).  A list while `collect_problems` runs (`check`): each
# problem is recorded and the rules go on, so one run names every problem.
_collected: "list[ConfigError] | None" = None


def _fail(pointer: str, message: str, source: str = "config.json") -> None:
    """A problem at ``pointer`` of ``source``: raised as ConfigError, or recorded while collecting.
    Rules call it and then skip what depends on the bad field, so both modes run the same code."""
    report_problem(ConfigError(f"{source}: {pointer}: {message}", pointer))


config_problem = _fail  # the public name, for the rules of other layers (container/create.py, ...)


def report_problem(error: ConfigError) -> None:
    """config_problem for a ConfigError already made (by a layer with its own wording)."""
    if _collected is None:
        raise error
    _collected.append(error)


class _StopRules(Exception):
    """stop_if_problems(): what follows needs the fields the problems found are about."""


def stop_if_problems() -> None:
    """Where the next rules rely on every earlier one having passed: stop collecting if any
    problem was found (create raised at the first one already, so there this does nothing)."""
    if _collected:
        raise _StopRules()


def collect_problems(rules: "Callable[[], object]") -> "list[ConfigError]":
    """Run ``rules()`` with every config_problem recorded instead of raised; the problems found.
    Not thread-safe (a module-level switch): `check` runs it once per process."""
    global _collected
    collected: "list[ConfigError]" = []
    outer, _collected = _collected, collected
    try:
        try:
            rules()
        except ConfigError as exc:  # a rule that cannot go on past its problem
            collected.append(exc)
        except _StopRules:
            pass
        return collected
    finally:
        _collected = outer


# (uid_t)-1: setresuid(2) reads it as "leave unchanged", so the process would keep root.
_NO_ID = 4294967295
# The kernel's NGROUPS_MAX: setgroups(2) refuses more supplementary groups.
_MAX_GROUPS = 65536
# HOST_NAME_MAX (and the domainname's limit): sethostname(2) refuses longer names.
_MAX_HOSTNAME = 64


def check_strings(document: object, source: str = "config.json", pointer: str = "") -> None:
    """Every string (and key) of ``document`` can reach the kernel: no NUL byte (a C string ends
    there, so a path would silently be cut short) and valid Unicode (JSON's \\udc80 escapes
    make lone surrogates, which cannot be encoded).  Iterative: documents nest 10000 levels."""
    if _strings_usable(document):
        return  # the usual case, without building a pointer for every value
    pending: "list[tuple[str, object]]" = [(pointer, document)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            _check_string(value, where, source)
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{where}/{key.replace('~', '~0').replace('/', '~1')}"
                _check_string(key, child, source, "key")
                pending.append((child, item))
        elif isinstance(value, list):
            pending.extend((f"{where}/{index}", item) for index, item in enumerate(value))


def _strings_usable(document: object) -> bool:
    pending: "list[Any]" = [document]
    pop, push, extend = pending.pop, pending.append, pending.extend
    while pending:
        value = pop()
        kind = type(value)
        if kind is str:
            if "\0" in value or not value.isascii() and not _encodable(value):
                return False
        elif kind is dict:
            extend(value)  # the keys
            extend(value.values())
        elif kind is list:
            extend(value)
        elif kind not in _SCALARS:
            return False  # a tuple or a subclass (API callers): the full walk decides
    return True


_SCALARS = (int, float, bool, type(None))


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_string(text: str, pointer: str, source: str, what: str = "value") -> None:
    pointer = pointer.replace("\0", "\\0") or "/"
    if "\0" in text:
        _fail(pointer, f"the {what} contains a NUL byte", source)
    if not _encodable(text):
        _fail(pointer, f"the {what} is not valid Unicode (a lone surrogate)", source)


def _check_ids(user: "User", pointer: str, source: str) -> None:
    for field, value in (("uid", user.uid), ("gid", user.gid)):
        if value == _NO_ID:
            _fail(f"{pointer}/{field}", f"{value} is (uid_t)-1, not an id", source)
    if len(user.additional_gids) > _MAX_GROUPS:
        _fail(f"{pointer}/additionalGids", f"{len(user.additional_gids)} groups: the kernel "
                                           f"allows at most {_MAX_GROUPS}", source)
    for index, gid in enumerate(user.additional_gids):
        if gid == _NO_ID:
            _fail(f"{pointer}/additionalGids/{index}", f"{gid} is (gid_t)-1, not an id", source)


def _mapped(value: int, mappings: "Iterable[dict[str, int]]") -> bool:
    return any(m["containerID"] <= value < m["containerID"] + m["size"] for m in mappings)


class User:
    __slots__ = ("uid", "gid", "umask", "additional_gids")

    def __init__(self, raw: "dict[str, Any]") -> None:
        self.uid: int = raw.get("uid", 0)
        self.gid: int = raw.get("gid", 0)
        self.umask: int | None = raw.get("umask")
        self.additional_gids: list[int] = list(raw.get("additionalGids") or ())


class Process:
    """config.md's `process`, also the shape of `exec --process` documents."""

    __slots__ = (
        "terminal", "console_size", "cwd", "env", "args", "command_line", "user", "rlimits",
        "no_new_privileges", "oom_score_adj", "capabilities", "apparmor_profile",
        "selinux_label", "scheduler", "io_priority", "exec_cpu_affinity", "raw",
    )

    def __init__(self, raw: "dict[str, Any]", pointer: str = "/process",
                 source: str = "config.json") -> None:
        """``source`` names where ``raw`` came from in errors: config.json, or `exec --process
        FILE` (then ``pointer`` is "")."""
        self.raw = raw
        self.terminal = bool(raw.get("terminal", False))
        self.console_size: dict[str, int] | None = raw.get("consoleSize")
        self.cwd: str = raw.get("cwd", "/")
        self.env: list[str] = list(raw.get("env") or ())
        self.args: list[str] = list(raw.get("args") or ())
        self.command_line: str | None = raw.get("commandLine")
        self.user = User(raw.get("user") or {})
        self.rlimits: list[tuple[str, int, int]] = []  # (type, soft, hard)
        seen = set()
        for index, limit in enumerate(raw.get("rlimits") or ()):
            if limit["type"] in seen:
                _fail(f"{pointer}/rlimits/{index}/type", f"duplicate rlimit {limit['type']}",
                      source)
            seen.add(limit["type"])
            self.rlimits.append((limit["type"], limit["soft"], limit["hard"]))
        self.no_new_privileges = bool(raw.get("noNewPrivileges", False))
        self.oom_score_adj: int | None = raw.get("oomScoreAdj")
        self.capabilities: dict[str, list[str]] = raw.get("capabilities") or {}
        self.apparmor_profile: str | None = raw.get("apparmorProfile")
        self.selinux_label: str | None = raw.get("selinuxLabel")
        self.scheduler: dict[str, Any] | None = raw.get("scheduler")
        self.io_priority: dict[str, Any] | None = raw.get("ioPriority")
        self.exec_cpu_affinity: dict[str, str] | None = raw.get("execCPUAffinity")
        _check_ids(self.user, f"{pointer}/user", source)
        if not self.args and not self.command_line:
            _fail(f"{pointer}/args", "must be a non-empty array", source)
        if not self.cwd.startswith("/"):
            _fail(f"{pointer}/cwd", f"must be an absolute path (got {self.cwd!r})", source)


class Mount:
    __slots__ = ("destination", "type", "source", "options", "uid_mappings", "gid_mappings",
                 "pointer")

    def __init__(self, raw: "dict[str, Any]", pointer: str) -> None:
        self.pointer = pointer
        destination: str = raw["destination"]
        # Relative destinations are deprecated but MUST be read as relative to "/".
        self.destination = destination if destination.startswith("/") else "/" + destination
        self.type: str = raw.get("type") or ""
        self.source: str = raw.get("source") or ""
        self.options: list[str] = list(raw.get("options") or ())
        self.uid_mappings: list[dict[str, int]] | None = raw.get("uidMappings")
        self.gid_mappings: list[dict[str, int]] | None = raw.get("gidMappings")
        if bool(self.uid_mappings) != bool(self.gid_mappings):
            _fail(pointer, "uidMappings and gidMappings must be given together")


class Namespace:
    __slots__ = ("type", "path", "flag", "proc_name")

    def __init__(self, ns_type: str, path: str | None) -> None:
        self.type = ns_type
        self.path = path
        self.flag, self.proc_name = NAMESPACE_TYPES[ns_type]


def _device(device: "dict[str, Any]", index: int) -> "dict[str, Any]":
    """A linux.devices entry with its path's trailing slashes removed ("/mnt/" names /mnt, as
    runc's filepath.Join and crun read it; mknod(2) refuses the slash)."""
    path = device.get("path")
    if not isinstance(path, str) or not path.endswith("/"):
        return device
    if not path.strip("/"):
        _fail(f"/linux/devices/{index}/path", f"{path!r} names the container's root, not a "
                                              "device file")
        return device
    return dict(device, path=path.rstrip("/"))


class Linux:
    __slots__ = (
        "namespaces", "uid_mappings", "gid_mappings", "time_offsets", "devices",
        "cgroups_path", "resources", "rootfs_propagation", "seccomp", "sysctl", "masked_paths",
        "readonly_paths", "mount_label", "personality", "intel_rdt", "net_devices",
        "memory_policy", "raw",
    )

    def __init__(self, raw: "dict[str, Any]") -> None:
        self.raw = raw
        self.namespaces: dict[str, Namespace] = {}
        for index, entry in enumerate(raw.get("namespaces") or ()):
            ns_type = entry["type"]
            if ns_type not in NAMESPACE_TYPES:
                _fail(f"/linux/namespaces/{index}/type", f"unknown namespace type {ns_type!r}")
                continue
            if ns_type in self.namespaces:
                _fail(f"/linux/namespaces/{index}/type", f"duplicate namespace {ns_type!r}")
                continue
            path = entry.get("path") or None
            if path is not None and not path.startswith("/"):
                _fail(f"/linux/namespaces/{index}/path", f"must be an absolute path (got {path!r})")
            self.namespaces[ns_type] = Namespace(ns_type, path)
        self.uid_mappings: list[dict[str, int]] = raw.get("uidMappings") or []
        self.gid_mappings: list[dict[str, int]] = raw.get("gidMappings") or []
        self.time_offsets: dict[str, dict[str, int]] = raw.get("timeOffsets") or {}
        self.devices: list[dict[str, Any]] = [
            _device(device, index) for index, device in enumerate(raw.get("devices") or ())]
        self.cgroups_path: str | None = raw.get("cgroupsPath")
        self.resources: dict[str, Any] = raw.get("resources") or {}
        self.rootfs_propagation: str = raw.get("rootfsPropagation") or ""
        self.seccomp: dict[str, Any] | None = raw.get("seccomp")
        self.sysctl: dict[str, str] = raw.get("sysctl") or {}
        self.masked_paths: list[str] = list(raw.get("maskedPaths") or ())
        self.readonly_paths: list[str] = list(raw.get("readonlyPaths") or ())
        self.mount_label: str | None = raw.get("mountLabel")
        self.personality: dict[str, Any] | None = raw.get("personality")
        self.intel_rdt: dict[str, Any] | None = raw.get("intelRdt")
        self.net_devices: dict[str, dict[str, Any]] = raw.get("netDevices") or {}
        self.memory_policy: dict[str, Any] | None = raw.get("memoryPolicy")
        user_ns = self.namespaces.get("user")
        if (self.uid_mappings or self.gid_mappings) and user_ns is None:
            _fail("/linux/uidMappings", "id mappings need a user namespace in /linux/namespaces")
        if user_ns is not None and user_ns.path is None:
            if not self.uid_mappings or not self.gid_mappings:
                _fail("/linux/uidMappings",
                      "a new user namespace needs both uidMappings and gidMappings")
        if self.time_offsets and "time" not in self.namespaces:
            _fail("/linux/timeOffsets", "time offsets need a time namespace in /linux/namespaces")
        elif self.time_offsets and self.namespaces["time"].path:
            _fail("/linux/timeOffsets", "time offsets cannot be set on a joined time namespace")

    def new_namespace_flags(self) -> int:
        """CLONE_NEW* flags of the namespaces to create (those without a path)."""
        flags = 0
        for namespace in self.namespaces.values():
            if namespace.path is None:
                flags |= namespace.flag
        return flags

    def has_new(self, ns_type: str) -> bool:
        namespace = self.namespaces.get(ns_type)
        return namespace is not None and namespace.path is None

    def in_user_namespace(self, runtime_in_user_namespace: bool) -> bool:
        """Whether the container's processes are in a user namespace other than the host's:
        one of its own (new or joined), or the runtime's (``runtime_in_user_namespace``:
        rootless podman runs the runtime inside one)."""
        return "user" in self.namespaces or runtime_in_user_namespace


class Config:
    __slots__ = (
        "raw", "source", "oci_version", "process", "root_path", "root_readonly", "hostname",
        "domainname", "mounts", "hooks", "annotations", "linux",
    )

    def __init__(self, raw: "dict[str, Any]", source: str = "config.json") -> None:
        check_strings(raw, source)
        self.raw = raw
        self.source = source
        self.oci_version: str = raw.get("ociVersion", "")
        self.process = Process(raw["process"]) if raw.get("process") else None
        root = raw.get("root") or {}
        self.root_path: str = root.get("path", "")
        self.root_readonly = bool(root.get("readonly", False))
        self.hostname: str | None = raw.get("hostname")
        self.domainname: str | None = raw.get("domainname")
        self.mounts = [Mount(m, f"/mounts/{i}") for i, m in enumerate(raw.get("mounts") or ())]
        self.hooks: dict[str, list[dict[str, Any]]] = raw.get("hooks") or {}
        self.annotations: dict[str, str] = raw.get("annotations") or {}
        self.linux = Linux(raw.get("linux") or {})
        # A uts namespace joined by path is the container's too (runc, crun): only a container
        # without any uts entry, which would share the runtime's, may not set them.
        if self.hostname and "uts" not in self.linux.namespaces:
            _fail("/hostname", "setting a hostname needs a uts namespace (new or joined by path)")
        if self.domainname and "uts" not in self.linux.namespaces:
            _fail("/domainname", "setting a domainname needs a uts namespace (new or joined by "
                                 "path)")
        for field, name in (("/hostname", self.hostname), ("/domainname", self.domainname)):
            if name and len(name.encode()) > _MAX_HOSTNAME:
                _fail(field, f"{len(name.encode())} bytes long: the kernel allows at most "
                             f"{_MAX_HOSTNAME}")
        if self.process is not None and self.linux.has_new("user"):
            user = self.process.user
            for field, value, mappings, key in (
                    ("uid", user.uid, self.linux.uid_mappings, "uidMappings"),
                    ("gid", user.gid, self.linux.gid_mappings, "gidMappings")):
                if not _mapped(value, mappings):
                    _fail(f"/process/user/{field}", f"{value} is not mapped by /linux/{key}, so "
                                                    "the process cannot have it")
            for index, gid in enumerate(user.additional_gids):
                if not _mapped(gid, self.linux.gid_mappings):
                    _fail(f"/process/user/additionalGids/{index}",
                          f"{gid} is not mapped by /linux/gidMappings")
        check_sysctls(self.linux)

    def resolve_paths(self, bundle: str) -> None:
        """Make root.path and relative bind sources absolute, relative to the bundle."""
        if not self.root_path:
            _fail("/root/path", "is required on Linux")
            return
        self.root_path = os.path.normpath(os.path.join(bundle, self.root_path))
        if not os.path.isdir(self.root_path):
            _fail("/root/path", f"{self.root_path}: no such directory")
        for mount in self.mounts:
            if mount.source and not mount.source.startswith("/") and (
                "bind" in mount.options or "rbind" in mount.options or mount.type == "bind"
            ):
                mount.source = os.path.normpath(os.path.join(bundle, mount.source))


# -- sysctl: only what is namespaced, and only in the container's own namespace (runc's rules) --

_IPC_SYSCTLS = frozenset({
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
    "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
})


def _own_namespace(linux: Linux, ns_type: str) -> bool:
    """Whether the container has a ``ns_type`` namespace that is not the runtime's: a new one,
    or one joined by a path that is not the namespace the runtime itself is in."""
    namespace = linux.namespaces.get(ns_type)
    if namespace is None:
        return False
    if namespace.path is None:
        return True
    try:
        joined = os.stat(namespace.path)
        runtime = os.stat(f"/proc/self/ns/{namespace.proc_name}")
    except OSError:
        return True  # joining it will fail, with its own error
    return (joined.st_dev, joined.st_ino) != (runtime.st_dev, runtime.st_ino)


def check_sysctls(linux: Linux) -> None:
    """A sysctl is written from inside the container: one that is not namespaced, or whose
    namespace is the runtime's, would change the host (runc refuses these the same way)."""
    for key in linux.sysctl:
        pointer = f"/linux/sysctl/{key.replace('~', '~0').replace('/', '~1')}"
        name = key.replace("/", ".")
        if name in _IPC_SYSCTLS or name.startswith("fs.mqueue."):
            if not _own_namespace(linux, "ipc"):
                _fail(pointer, f"{key} is set in the ipc namespace: the container needs its own "
                               "(a new one, or a path that is not the runtime's)")
        elif name.startswith("net."):
            if not _own_namespace(linux, "network"):
                _fail(pointer, f"{key} is set in the network namespace: the container needs its "
                               "own (a new one, or a path that is not the runtime's)")
        elif name == "kernel.hostname":
            _fail(pointer, "kernel.hostname conflicts with the hostname field: set /hostname")
        elif name == "kernel.domainname":
            if not _own_namespace(linux, "uts"):
                _fail(pointer, "kernel.domainname is set in the uts namespace: the container "
                               "needs its own (a new one, or a path that is not the runtime's)")
        else:
            _fail(pointer, f"{key} is not in a namespace of the container: setting it would "
                           "change the host")
