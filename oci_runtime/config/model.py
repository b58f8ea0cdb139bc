"""The typed view of config.json that the runtime's layers use.

Plain classes with __slots__ (not dataclasses: importing those costs more than a whole `state`
call).  Sections owned by a subsystem with their own parser (linux.resources for cgroups,
linux.seccomp for seccomp) stay raw dicts and are handed over as they are.  Checks that a JSON
schema cannot express (duplicates, cross-field rules) live here, each naming its JSON pointer.
"""
import os

from oci_runtime.errors import OCIError

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


def _fail(pointer, message, source="config.json"):
    raise OCIError(f"{source}: {pointer}: {message}")


class User:
    __slots__ = ("uid", "gid", "umask", "additional_gids")

    def __init__(self, raw):
        self.uid = raw.get("uid", 0)
        self.gid = raw.get("gid", 0)
        self.umask = raw.get("umask")
        self.additional_gids = list(raw.get("additionalGids") or ())


class Process:
    """config.md's `process`, also the shape of `exec --process` documents."""

    __slots__ = (
        "terminal", "console_size", "cwd", "env", "args", "command_line", "user", "rlimits",
        "no_new_privileges", "oom_score_adj", "capabilities", "apparmor_profile",
        "selinux_label", "scheduler", "io_priority", "exec_cpu_affinity", "raw",
    )

    def __init__(self, raw, pointer="/process", source="config.json"):
        """``source`` names where ``raw`` came from in errors: config.json, or `exec --process
        FILE` (then ``pointer`` is "")."""
        self.raw = raw
        self.terminal = bool(raw.get("terminal", False))
        self.console_size = raw.get("consoleSize")
        self.cwd = raw.get("cwd", "/")
        self.env = list(raw.get("env") or ())
        self.args = list(raw.get("args") or ())
        self.command_line = raw.get("commandLine")
        self.user = User(raw.get("user") or {})
        self.rlimits = []
        seen = set()
        for index, limit in enumerate(raw.get("rlimits") or ()):
            if limit["type"] in seen:
                _fail(f"{pointer}/rlimits/{index}/type", f"duplicate rlimit {limit['type']}",
                      source)
            seen.add(limit["type"])
            self.rlimits.append((limit["type"], limit["soft"], limit["hard"]))
        self.no_new_privileges = bool(raw.get("noNewPrivileges", False))
        self.oom_score_adj = raw.get("oomScoreAdj")
        self.capabilities = raw.get("capabilities") or {}
        self.apparmor_profile = raw.get("apparmorProfile")
        self.selinux_label = raw.get("selinuxLabel")
        self.scheduler = raw.get("scheduler")
        self.io_priority = raw.get("ioPriority")
        self.exec_cpu_affinity = raw.get("execCPUAffinity")
        if not self.args and not self.command_line:
            _fail(f"{pointer}/args", "must be a non-empty array", source)
        if not self.cwd.startswith("/"):
            _fail(f"{pointer}/cwd", f"must be an absolute path (got {self.cwd!r})", source)


class Mount:
    __slots__ = ("destination", "type", "source", "options", "uid_mappings", "gid_mappings",
                 "pointer")

    def __init__(self, raw, pointer):
        self.pointer = pointer
        destination = raw["destination"]
        # Relative destinations are deprecated but MUST be read as relative to "/".
        self.destination = destination if destination.startswith("/") else "/" + destination
        self.type = raw.get("type") or ""
        self.source = raw.get("source") or ""
        self.options = list(raw.get("options") or ())
        self.uid_mappings = raw.get("uidMappings")
        self.gid_mappings = raw.get("gidMappings")
        if bool(self.uid_mappings) != bool(self.gid_mappings):
            _fail(pointer, "uidMappings and gidMappings must be given together")


class Namespace:
    __slots__ = ("type", "path", "flag", "proc_name")

    def __init__(self, ns_type, path):
        self.type = ns_type
        self.path = path
        self.flag, self.proc_name = NAMESPACE_TYPES[ns_type]


class Linux:
    __slots__ = (
        "namespaces", "uid_mappings", "gid_mappings", "time_offsets", "devices",
        "cgroups_path", "resources", "rootfs_propagation", "seccomp", "sysctl", "masked_paths",
        "readonly_paths", "mount_label", "personality", "intel_rdt", "net_devices", "raw",
    )

    def __init__(self, raw):
        self.raw = raw
        self.namespaces = {}
        for index, entry in enumerate(raw.get("namespaces") or ()):
            ns_type = entry["type"]
            if ns_type not in NAMESPACE_TYPES:
                _fail(f"/linux/namespaces/{index}/type", f"unknown namespace type {ns_type!r}")
            if ns_type in self.namespaces:
                _fail(f"/linux/namespaces/{index}/type", f"duplicate namespace {ns_type!r}")
            path = entry.get("path") or None
            if path is not None and not path.startswith("/"):
                _fail(f"/linux/namespaces/{index}/path", f"must be an absolute path (got {path!r})")
            self.namespaces[ns_type] = Namespace(ns_type, path)
        self.uid_mappings = raw.get("uidMappings") or []
        self.gid_mappings = raw.get("gidMappings") or []
        self.time_offsets = raw.get("timeOffsets") or {}
        self.devices = raw.get("devices") or []
        self.cgroups_path = raw.get("cgroupsPath")
        self.resources = raw.get("resources") or {}
        self.rootfs_propagation = raw.get("rootfsPropagation") or ""
        self.seccomp = raw.get("seccomp")
        self.sysctl = raw.get("sysctl") or {}
        self.masked_paths = list(raw.get("maskedPaths") or ())
        self.readonly_paths = list(raw.get("readonlyPaths") or ())
        self.mount_label = raw.get("mountLabel")
        self.personality = raw.get("personality")
        self.intel_rdt = raw.get("intelRdt")
        self.net_devices = raw.get("netDevices") or {}
        user_ns = self.namespaces.get("user")
        if (self.uid_mappings or self.gid_mappings) and user_ns is None:
            _fail("/linux/uidMappings", "id mappings need a user namespace in /linux/namespaces")
        if user_ns is not None and user_ns.path is None:
            if not self.uid_mappings or not self.gid_mappings:
                _fail("/linux/uidMappings",
                      "a new user namespace needs both uidMappings and gidMappings")
        if self.time_offsets and "time" not in self.namespaces:
            _fail("/linux/timeOffsets", "time offsets need a time namespace in /linux/namespaces")
        if self.time_offsets and self.namespaces["time"].path:
            _fail("/linux/timeOffsets", "time offsets cannot be set on a joined time namespace")

    def new_namespace_flags(self):
        """CLONE_NEW* flags of the namespaces to create (those without a path)."""
        flags = 0
        for namespace in self.namespaces.values():
            if namespace.path is None:
                flags |= namespace.flag
        return flags

    def has_new(self, ns_type):
        namespace = self.namespaces.get(ns_type)
        return namespace is not None and namespace.path is None


class Config:
    __slots__ = (
        "raw", "source", "oci_version", "process", "root_path", "root_readonly", "hostname",
        "domainname", "mounts", "hooks", "annotations", "linux",
    )

    def __init__(self, raw, source="config.json"):
        self.raw = raw
        self.source = source
        self.oci_version = raw.get("ociVersion", "")
        self.process = Process(raw["process"]) if raw.get("process") else None
        root = raw.get("root") or {}
        self.root_path = root.get("path", "")
        self.root_readonly = bool(root.get("readonly", False))
        self.hostname = raw.get("hostname")
        self.domainname = raw.get("domainname")
        self.mounts = [Mount(m, f"/mounts/{i}") for i, m in enumerate(raw.get("mounts") or ())]
        self.hooks = raw.get("hooks") or {}
        self.annotations = raw.get("annotations") or {}
        self.linux = Linux(raw.get("linux") or {})
        # A uts namespace joined by path is the container's too (runc, crun): only a container
        # without any uts entry, which would share the runtime's, may not set them.
        if self.hostname and "uts" not in self.linux.namespaces:
            _fail("/hostname", "setting a hostname needs a uts namespace (new or joined by path)")
        if self.domainname and "uts" not in self.linux.namespaces:
            _fail("/domainname", "setting a domainname needs a uts namespace (new or joined by "
                                 "path)")

    def resolve_paths(self, bundle):
        """Make root.path and relative bind sources absolute, relative to the bundle."""
        if not self.root_path:
            _fail("/root/path", "is required on Linux")
        self.root_path = os.path.normpath(os.path.join(bundle, self.root_path))
        if not os.path.isdir(self.root_path):
            _fail("/root/path", f"{self.root_path}: no such directory")
        for mount in self.mounts:
            if mount.source and not mount.source.startswith("/") and (
                "bind" in mount.options or "rbind" in mount.options or mount.type == "bind"
            ):
                mount.source = os.path.normpath(os.path.join(bundle, mount.source))
