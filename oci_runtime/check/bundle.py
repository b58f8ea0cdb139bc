"""`oci-runtime check`: will this bundle run, on this host?  One finding per problem or fact.

The bundle: config.json against our schema twice, with the ``jsonschema`` library (the reference
implementation of JSON Schema, so nothing our fast validator in validate.py skips goes unnoticed)
and with validate.py (what create runs, so its exact wording), then the semantic rules create
applies (config.model, creation.check_creatable, the seccomp compiler, the cgroup path), all run
through config.model.collect_problems: every problem at once, from the same code as create.
Then what this host will refuse of that config (rlimits above the hard limit without
CAP_SYS_RESOURCE, a user namespace the kernel does not allow).

The host: cgroup mode and controllers, systemd, seccomp, user namespaces and subordinate ids,
idmapped mounts, rlimits, overlayfs, CRIU, and the podman/containerd configurations naming this
runtime.

Only `check` imports this module (jsonschema costs ~100 ms to import: never on another path).
"""
import os
import sys

from oci_runtime.errors import ConfigError, OCIError

ERROR, WARNING, OK = "error", "warning", "ok"


class Finding:
    """``subject`` is a JSON pointer into config.json ("/process/args") or a host fact's name
    ("cgroup"); ``advice`` says what to do (empty when there is nothing to do)."""

    __slots__ = ("severity", "subject", "message", "advice")

    def __init__(self, severity, subject, message, advice=""):
        self.severity = severity
        self.subject = subject
        self.message = message
        self.advice = advice

    def line(self):
        text = f"{self.severity:<7} {self.subject}: {self.message}"
        return text + (f" -> {self.advice}" if self.advice else "")

    def to_dict(self):
        return {"severity": self.severity, "subject": self.subject, "message": self.message,
                "advice": self.advice}


def blocks_a_run(findings):
    return any(finding.severity == ERROR for finding in findings)


# -- the bundle -----------------------------------------------------------------------------------


def check_bundle(bundle, systemd_cgroup=False):
    """Every problem of ``bundle``'s config.json; an empty list means create would accept it."""

    from oci_runtime.kernel import fastjson

    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as config_file:
            text = config_file.read().decode()
    except FileNotFoundError:
        return [Finding(ERROR, path, "no such file", f"is {bundle!r} an OCI bundle? "
                        "`oci-runtime spec` writes a default config.json")]
    except (OSError, UnicodeDecodeError) as exc:
        return [Finding(ERROR, path, f"cannot read: {exc}")]
    try:
        document = fastjson.loads(text)
    except ValueError:
        from oci_runtime.config.load import parse_config

        try:
            parse_config(text)
        except ConfigError as exc:  # the same wording as create: line and column
            return [Finding(ERROR, "config.json", str(exc).removeprefix("config.json: "))]
        return [Finding(ERROR, "config.json", "invalid JSON")]
    if not isinstance(document, dict):
        return [Finding(ERROR, "/", "config.json must be a JSON object")]
    schema_problems = _schema_problems(document)
    findings = [Finding(ERROR, pointer, message) for pointer, message in schema_problems]
    reported = {pointer for pointer, _ in schema_problems}
    for problem in _semantic_problems(document, bundle, systemd_cgroup, bool(schema_problems)):
        if problem.subject not in reported:
            reported.add(problem.subject)
            findings.append(problem)
    return findings


def _schema_problems(document):
    """(pointer, message) for each schema violation, sorted by pointer: validate.py's wording
    where it found the problem too, jsonschema's for what only it found."""
    import jsonschema


    from oci_runtime.config import validate

    problems = dict(validate.errors(document, "config"))
    version = document.get("ociVersion")
    if isinstance(version, str):
        unsupported = validate._unsupported_version_problem(version)
        if unsupported is not None:
            problems.setdefault("/ociVersion", unsupported)
    validator = jsonschema.Draft202012Validator(validate.load_schema("config"))
    for error in validator.iter_errors(document):
        error = jsonschema.exceptions.best_match([error])
        pointer = "".join(f"/{part}" for part in error.absolute_path)
        if error.validator == "required":
            # "'args' is a required property": point at the missing field itself.
            missing = error.message.split("'")[1] if error.message.count("'") >= 2 else ""
            pointer = f"{pointer}/{missing}" if missing else pointer
        problems.setdefault(pointer or "/", error.message)
    return sorted(problems.items())


def _semantic_problems(document, bundle, systemd_cgroup, schema_failed):
    """The rules create applies after the schema, each problem collected (not just the first)."""
    from oci_runtime.config.model import Config, collect_problems
    from oci_runtime.container.create import check_creatable

    built = []
    warnings = []

    def rules():
        config = Config(document)
        built.append(config)
        config.resolve_paths(os.path.abspath(bundle))
        check_creatable(config)
        compiled = None
        if config.linux.seccomp and not schema_failed:
            compiled = _check_seccomp(config.linux.seccomp)
            warnings.extend(compiled.warnings if compiled is not None else ())
        _check_cgroups_path(config, systemd_cgroup)
        built.append(compiled)

    try:
        problems = collect_problems(rules)
        if not problems and not schema_failed:
            # The plan compiler expects a config that passed every rule above.
            config, compiled = built
            problems = collect_problems(
                lambda: _check_plan(config, os.path.abspath(bundle), compiled))
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        if not schema_failed:
            raise
        # The rules read fields whose shape the schema guarantees: past a schema error they
        # can fail on their own; the schema errors above are what to fix first.
        return [Finding(WARNING, "/", "semantic rules skipped past the schema errors",
                        "fix those and run check again")]
    findings = [Finding(ERROR, problem.pointer or "/", _without_pointer(problem))
                for problem in problems]
    findings += [Finding(WARNING, *_split_pointer(warning)) for warning in warnings]
    if built and not schema_failed:
        findings += _host_limits_for(built[0])
    return findings


def _without_pointer(error):
    message = str(error).removeprefix("config.json: ")
    if error.pointer and message.startswith(error.pointer):
        message = message[len(error.pointer):].removeprefix(": ")
    return message


def _split_pointer(message):
    """("/a/b", "why") from "/a/b: why" (seccomp's warnings), else ("/", message)."""
    pointer, separator, rest = message.partition(": ")
    return (pointer, rest) if separator and pointer.startswith("/") else ("/", message)


def _check_seccomp(seccomp):
    """Compile the profile as create does (libseccomp resolves names and architectures); the
    compiled filter (its warnings: syscalls this libseccomp does not know, ignored), or None."""
    from oci_runtime.config.model import config_problem
    from oci_runtime.seccomp import compile_filter

    try:
        return compile_filter(seccomp)
    except ConfigError:
        raise
    except OCIError as exc:
        config_problem("/linux/seccomp", str(exc))
        return None


def _check_plan(config, bundle, seccomp_program):
    """Compile the executor's plan as create does (init.launch.compile_plan: the rules of the
    plan compiler: mount sources, devices, time offsets, joined namespaces, ...); nothing is made.
    It stops at its first problem, which is reported like the others."""
    from oci_runtime.config.model import report_problem
    from oci_runtime.container.create import _cgroup_mounts, _has_cgroup_mount
    from oci_runtime.container.launch import compile_plan
    from oci_runtime.container.launch_plan import LaunchPlan

    launch_plan = LaunchPlan("check", config, bundle, "/nonexistent/oci-runtime-check")
    launch_plan.cgroup_mounts = _cgroup_mounts(None) if _has_cgroup_mount(config) else None
    launch_plan.seccomp_program = seccomp_program
    try:
        compile_plan(launch_plan)
    except ConfigError:
        raise
    except OCIError as exc:
        error = ConfigError(str(exc), errno=exc.errno)
        if error.pointer is None:
            raise
        report_problem(error)


def _check_cgroups_path(config, systemd_cgroup):
    from oci_runtime.cgroups import open_manager
    from oci_runtime.config.model import config_problem

    try:
        open_manager(config.linux.cgroups_path, "check", systemd=systemd_cgroup)
    except OCIError as exc:
        config_problem("/linux/cgroupsPath", str(exc).removeprefix("linux.cgroupsPath: "))


def _host_limits_for(config):
    """What this host will refuse of an otherwise valid config."""
    import resource

    from oci_runtime.process.capabilities import RLIMIT_NUMBERS

    findings = []
    can_raise = _has_capability(_CAP_SYS_RESOURCE)
    for index, (name, soft, hard) in enumerate(config.process.rlimits if config.process else ()):
        number = RLIMIT_NUMBERS.get(name)
        if number is None:
            findings.append(Finding(ERROR, f"/process/rlimits/{index}/type",
                                    f"unknown rlimit {name!r}"))
            continue
        current_hard = resource.getrlimit(number)[1]
        if not can_raise and current_hard != resource.RLIM_INFINITY and (
                hard > current_hard or hard == resource.RLIM_INFINITY):
            findings.append(Finding(
                ERROR, f"/process/rlimits/{index}",
                f"{name} hard={hard} is above this process's hard limit {current_hard} and "
                "raising it needs CAP_SYS_RESOURCE, which this process lacks",
                f"set hard (and soft) to at most {current_hard}"))
        if soft > hard:
            findings.append(Finding(ERROR, f"/process/rlimits/{index}/soft",
                                    f"soft {soft} is above hard {hard}", "lower soft"))
    if config.linux.has_new("user") and not _user_namespaces_allowed():
        findings.append(Finding(ERROR, "/linux/namespaces", "a new user namespace is asked for "
                                "but this host allows none (user.max_user_namespaces is 0)",
                                "sysctl -w user.max_user_namespaces=15000"))
    for namespace in config.linux.namespaces.values():
        if namespace.path is None and not os.path.exists(f"/proc/self/ns/{namespace.proc_name}"):
            findings.append(Finding(ERROR, "/linux/namespaces",
                                    f"this kernel has no {namespace.type} namespace",
                                    "remove it from linux.namespaces"))
    return findings


# -- the host -------------------------------------------------------------------------------------

_CAP_SYS_RESOURCE = 24


def _has_capability(number):

    from oci_runtime.kernel import syscalls as kernel

    effective, _, _ = kernel.capget()
    return bool(effective >> number & 1)


def _read(path, default=None):
    try:
        with open(path) as file:
            return file.read()
    except OSError:
        return default


def check_host(runtime_path=None, systemd_cgroup=False):
    """Facts about this host that decide what containers can do, each with what to do.  With
    ``systemd_cgroup`` (--systemd-cgroup), a missing systemd blocks every run."""
    findings = []
    for probe in (_cgroup_findings, lambda: _systemd_findings(systemd_cgroup), _seccomp_findings,
                  _user_namespace_findings, _idmapped_mount_findings, _rlimit_findings,
                  _overlay_findings, _criu_findings):
        try:
            findings += probe()
        except (OCIError, OSError) as exc:
            findings.append(Finding(WARNING, "host", f"could not be checked: {exc}"))
    findings += _engine_findings(runtime_path or _this_runtime())
    return findings


def _cgroup_findings():
    from oci_runtime.cgroups._util import Mounts

    try:
        mounts = Mounts()
    except OCIError as exc:
        return [Finding(ERROR, "cgroup", str(exc), "mount cgroup2 on /sys/fs/cgroup")]
    if mounts.mode == "v2":
        root = mounts.unified[0]
        available = (_read(f"{root}/cgroup.controllers", "") or "").split()
        enabled = (_read(f"{root}/cgroup.subtree_control", "") or "").split()
        findings = [Finding(OK, "cgroup", f"v2 at {root}; controllers {' '.join(available)}; "
                            f"enabled for children: {' '.join(enabled) or 'none'}")]
        missing = [c for c in ("cpu", "memory", "pids", "io") if c not in available]
        if missing:
            findings.append(Finding(WARNING, "cgroup", f"controllers {' '.join(missing)} are not "
                                    "available: their linux.resources cannot be applied",
                                    "enable them on the kernel command line or by the parent"))
        return findings
    usable = sorted(c for c in mounts.v1 if not c.startswith("name="))
    text = f"{mounts.mode} (v1 controllers {' '.join(usable)}"
    text += f"; cgroup2 at {mounts.unified[0]})" if mounts.unified else ")"
    findings = [Finding(OK, "cgroup", text)]
    if mounts.mode == "hybrid":
        findings.append(Finding(WARNING, "cgroup", "hybrid mode: crun refuses to run with "
                                f"{mounts.unified[0]} mounted; this runtime and runc handle it",
                                "prefer a pure cgroup v2 host "
                                "(systemd.unified_cgroup_hierarchy=1)"))
    return findings


def _systemd_findings(systemd_cgroup):
    from oci_runtime.cgroups.systemd import systemd_running

    if systemd_running():
        return [Finding(OK, "systemd", "systemd is the init: --systemd-cgroup can be used")]
    init = (_read("/proc/1/comm", "?") or "?").strip()
    return [Finding(ERROR if systemd_cgroup else WARNING, "systemd",
                    f"not running (pid 1 is {init}): --systemd-cgroup (podman's "
                    "cgroup_manager = \"systemd\") fails",
                    "use the cgroupfs driver (podman --cgroup-manager=cgroupfs)")]


def _seccomp_findings():
    from oci_runtime import seccomp
    from oci_runtime.seccomp.filter import libseccomp_version

    if "Seccomp:" not in (_read("/proc/self/status", "") or ""):
        return [Finding(ERROR, "seccomp", "this kernel has no seccomp",
                        "remove linux.seccomp from configs")]
    version = libseccomp_version()
    if version is None or not seccomp.features()["enabled"]:
        return [Finding(ERROR, "seccomp", "libseccomp.so.2 cannot be loaded: profiles cannot be "
                        "compiled", "apt-get install libseccomp2")]
    from oci_runtime.seccomp.constants import SECCOMP_FILTER_FLAG_NEW_LISTENER

    notify = seccomp.kernel_supports_flag(SECCOMP_FILTER_FLAG_NEW_LISTENER)
    return [Finding(OK, "seccomp", f"libseccomp {version}; user notification (SCMP_ACT_NOTIFY) "
                    f"{'supported' if notify else 'not supported by this kernel'}")]


def _user_namespaces_allowed():
    limit = (_read("/proc/sys/user/max_user_namespaces", "0") or "0").strip()
    return limit.isdigit() and int(limit) > 0


def _subordinate_ranges(path, uid, name):
    ranges = []
    for line in (_read(path, "") or "").splitlines():
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in (name, str(uid)) and fields[2].isdigit():
            ranges.append(f"{fields[1]}+{fields[2]}")
    return ranges


def _user_namespace_findings():
    import pwd

    if not _user_namespaces_allowed():
        return [Finding(ERROR, "user namespaces", "disabled (user.max_user_namespaces is 0): "
                        "configs with a user namespace and rootless containers fail",
                        "sysctl -w user.max_user_namespaces=15000")]
    findings = [Finding(OK, "user namespaces", "allowed (user.max_user_namespaces "
                        f"{(_read('/proc/sys/user/max_user_namespaces') or '').strip()})")]
    if _read("/proc/sys/kernel/unprivileged_userns_clone", "1").strip() == "0":
        findings.append(Finding(WARNING, "user namespaces", "unprivileged ones are disabled "
                                "(kernel.unprivileged_userns_clone=0): rootless containers fail",
                                "sysctl -w kernel.unprivileged_userns_clone=1"))
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    subuid = _subordinate_ranges("/etc/subuid", uid, name)
    subgid = _subordinate_ranges("/etc/subgid", uid, name)
    if subuid and subgid:
        findings.append(Finding(OK, "subordinate ids", f"{name}: uids {', '.join(subuid)}; gids "
                                f"{', '.join(subgid)}"))
    elif uid == 0:
        findings.append(Finding(OK, "subordinate ids", "none for root (root maps any host id; "
                                "rootless users need entries in /etc/subuid and /etc/subgid)"))
    else:
        findings.append(Finding(WARNING, "subordinate ids", f"{name} has no range in "
                                f"{'/etc/subuid' if not subuid else '/etc/subgid'}: only its own "
                                "id can be mapped", f"usermod --add-subuids 100000-165535 "
                                f"--add-subgids 100000-165535 {name}"))
    return findings


def _idmapped_mount_findings():
    """Whether the kernel can idmap a mount: clone a tree and give it a user namespace's
    mapping, in a child that owns the namespace (nothing is mounted anywhere)."""
    supported = _probe_idmapped_mount()
    note = ("this version of oci-runtime does not implement idmapped mounts yet (features: "
            "mountExtensions.idmap disabled): mounts with uidMappings/gidMappings are refused")
    if supported is True:
        return [Finding(OK, "idmapped mounts", f"the kernel can idmap a mount of /tmp; {note}")]
    return [Finding(WARNING, "idmapped mounts", f"the kernel cannot idmap a mount of /tmp "
                    f"({supported}); {note}")]


def _probe_idmapped_mount():

    from oci_runtime.kernel import syscalls as kernel

    OPEN_TREE_CLONE, AT_RECURSIVE, MOUNT_ATTR_IDMAP = 1, 0x8000, 0x00100000
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # holds a new user namespace (root -> nobody) until killed below
        try:
            os.close(read_end)
            kernel.unshare(0x10000000)  # CLONE_NEWUSER
            os.write(write_end, b"1")
            import time

            time.sleep(30)
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        if os.read(read_end, 1) != b"1":
            return "cannot create a user namespace"
        with open(f"/proc/{child}/uid_map", "w") as uid_map:
            uid_map.write("0 65534 1\n")
        with open(f"/proc/{child}/setgroups", "w") as setgroups:
            setgroups.write("deny\n")
        with open(f"/proc/{child}/gid_map", "w") as gid_map:
            gid_map.write("0 65534 1\n")
        userns = os.open(f"/proc/{child}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        try:
            tree = kernel.open_tree(-100, "/tmp", OPEN_TREE_CLONE | AT_RECURSIVE)
            try:
                kernel.mount_setattr(tree, "", 0x1000, attr_set=MOUNT_ATTR_IDMAP,
                                     userns_fd=userns)  # 0x1000: AT_EMPTY_PATH
            finally:
                os.close(tree)
        finally:
            os.close(userns)
        return True
    except OSError as exc:
        return exc.strerror or str(exc)
    except OCIError as exc:
        return str(exc)
    finally:
        os.close(read_end)
        os.kill(child, 9)
        os.waitpid(child, 0)


_RLIMITS_SHOWN = ("RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_MEMLOCK", "RLIMIT_STACK", "RLIMIT_CORE")


def _rlimit_findings():
    import resource

    from oci_runtime.process.capabilities import RLIMIT_NUMBERS

    def shown(value):
        return "unlimited" if value == resource.RLIM_INFINITY else str(value)

    limits = ", ".join(f"{name[7:]} {shown(resource.getrlimit(RLIMIT_NUMBERS[name])[1])}"
                       for name in _RLIMITS_SHOWN)
    if _has_capability(_CAP_SYS_RESOURCE):
        return [Finding(OK, "rlimits", f"CAP_SYS_RESOURCE: any hard limit can be raised "
                        f"(now: {limits})")]
    return [Finding(WARNING, "rlimits", f"no CAP_SYS_RESOURCE: process.rlimits hard values "
                    f"cannot exceed this process's hard limits ({limits})",
                    "keep rlimits at or below these (podman: --ulimit nofile=N:N with N within "
                    "NOFILE)")]


def _overlay_findings():
    filesystems = _read("/proc/filesystems", "") or ""
    if any(line.split()[-1] == "overlay" for line in filesystems.splitlines() if line.split()):
        return [Finding(OK, "overlayfs", "available (podman's and containerd's default storage "
                        "driver/snapshotter)")]
    if os.path.exists(f"/lib/modules/{os.uname().release}/kernel/fs/overlayfs"):
        return [Finding(OK, "overlayfs", "available as a module (loaded on first mount)")]
    return [Finding(WARNING, "overlayfs", "not available: image layers need another storage "
                    "driver", "modprobe overlay, or configure vfs/fuse-overlayfs")]


def _criu_findings():
    import shutil

    criu = shutil.which("criu")
    note = "checkpoint/restore is not implemented by this version of oci-runtime"
    if criu is None:
        return [Finding(OK, "criu", f"not installed; {note}")]
    return [Finding(OK, "criu", f"{criu} installed; {note} (runc's checkpoint uses it)")]


def _this_runtime():
    import shutil

    installed = os.path.join(os.path.dirname(sys.executable), "oci-runtime")
    return installed if os.path.exists(installed) else shutil.which("oci-runtime") or ""


def _engine_findings(runtime_path):
    """Which of podman and containerd name this runtime in their configuration."""
    import tomllib

    findings = []
    ours = {os.path.realpath(runtime_path)} if runtime_path else set()

    def names_ours(value):
        paths = value if isinstance(value, list) else [value]
        return any(isinstance(p, str) and os.path.realpath(p) in ours for p in paths)

    podman_files = ["/usr/share/containers/containers.conf", "/etc/containers/containers.conf",
                    os.path.expanduser("~/.config/containers/containers.conf")]
    podman_uses = []
    for path in podman_files:
        text = _read(path)
        if text is None:
            continue
        try:
            engine = tomllib.loads(text).get("engine", {})
        except tomllib.TOMLDecodeError as exc:
            findings.append(Finding(WARNING, "podman", f"{path}: not valid TOML: {exc}"))
            continue
        for name, paths in (engine.get("runtimes") or {}).items():
            if names_ours(paths):
                default = engine.get("runtime") == name
                podman_uses.append(f"{path}: runtime {name!r}{' (the default)' if default else ''}")
    if podman_uses:
        findings.append(Finding(OK, "podman", "; ".join(podman_uses)))
    else:
        findings.append(Finding(OK, "podman", "not configured to use this runtime",
                                f"podman --runtime {runtime_path} ..., or [engine.runtimes] in "
                                "containers.conf"))
    containerd_uses = []
    text = _read("/etc/containerd/config.toml")
    if text is not None:
        try:
            config = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            config = {}
            findings.append(Finding(WARNING, "containerd", f"/etc/containerd/config.toml: not "
                                    f"valid TOML: {exc}"))
        for trail, value in _walk(config):
            if trail[-1] in ("BinaryName", "runtime_path", "runtime") and names_ours(value):
                containerd_uses.append(".".join(trail))
    if containerd_uses:
        findings.append(Finding(OK, "containerd", "/etc/containerd/config.toml: "
                                + ", ".join(containerd_uses)))
    else:
        findings.append(Finding(OK, "containerd", "not configured to use this runtime",
                                f"ctr run --runc-binary {runtime_path} ..., or a runtime with "
                                "options BinaryName in /etc/containerd/config.toml"))
    return findings


def _walk(table, trail=()):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _walk(value, trail + (key,))
        else:
            yield trail + (key,), value
