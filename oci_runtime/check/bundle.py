"""`oci-runtime check` of a bundle: will create accept this config.json, and will this host run it?

config.json is checked against our schema twice, with the ``jsonschema`` library (the reference
implementation of JSON Schema, so nothing our fast validator in config/validate.py skips goes
unnoticed) and with config/validate.py (what create runs, so its exact wording), then the semantic
rules create applies (config.model, then create's own path, container.prepare: its rules, the
cgroup path, the seccomp compiler, the plan compiler), all run through
config.model.collect_problems: every problem at once, from the same code as create.  Then what this host will refuse of that config (rlimits above
the hard limit without CAP_SYS_RESOURCE, a user namespace the kernel does not allow).

Only `check` imports this module (jsonschema costs ~100 ms to import: never on another path).
"""
import os

from oci_runtime.check.findings import CAP_SYS_RESOURCE, ERROR, WARNING, Finding, has_capability
from oci_runtime.check.host import user_namespaces_allowed
from oci_runtime.errors import ConfigError, OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any

    from oci_runtime.config.model import Config
    from oci_runtime.container.store import StateStore


def check_bundle(bundle: str, store: "StateStore", systemd_cgroup: bool = False
                 ) -> "list[Finding]":
    """Every problem of ``bundle``'s config.json; an empty list means create would accept it.
    ``store``: the state root create would use (its seccomp cache)."""

    from oci_runtime.config.load import read_bundle_config_bytes
    from oci_runtime.kernel import hotpath

    path = os.path.join(bundle, "config.json")
    try:
        data = read_bundle_config_bytes(bundle)  # as create reads it (a regular file)
        text = data.decode()
    except ConfigError as exc:  # there is none
        return [Finding(ERROR, path, str(exc).removeprefix(f"{path}: "),
                        "`oci-runtime spec` writes a default config.json")]
    except OCIError as exc:
        return [Finding(ERROR, path, str(exc).removeprefix(f"{path}: "))]
    except UnicodeDecodeError as exc:
        return [Finding(ERROR, path, f"cannot read: {exc}")]
    try:
        document = hotpath.loads(text)
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
    for problem in _semantic_problems(document, data, bundle, store, systemd_cgroup,
                                      bool(schema_problems)):
        if problem.subject not in reported:
            reported.add(problem.subject)
            findings.append(problem)
    return findings


def _schema_problems(document: "dict[str, Any]") -> "list[tuple[str, str]]":
    """(pointer, message) for each schema violation, sorted by pointer: validate.py's wording
    where it found the problem too, jsonschema's for what only it found."""
    try:
        import jsonschema
    except ImportError as exc:  # a dependency of the package: an interpreter without it
        raise OCIError(f"check: the jsonschema package is needed ({exc}): run the runtime's "
                       "own interpreter, or pip install jsonschema") from None
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


def _semantic_problems(document: "dict[str, Any]", data: bytes, bundle: str, store: "StateStore",
                       systemd_cgroup: bool, schema_failed: bool) -> "list[Finding]":
    """The rules create applies after the schema, each problem collected (not just the first):
    create's own path (container.prepare), run with every problem recorded."""
    from oci_runtime.config.model import Config, collect_problems
    from oci_runtime.container.prepare import Prepared
    from oci_runtime.plan.options import CreateOptions

    prepared = Prepared(store, "check", bundle, CreateOptions())
    skipped: "list[Finding]" = []

    def rules() -> None:
        config = Config(document)
        config.resolve_paths(prepared.bundle)
        try:
            # attached: as `run` would, which relays a terminal without --console-socket.
            prepared.decide(config, data, store, systemd_cgroup=systemd_cgroup, attached=True)
        except (KeyError, TypeError, AttributeError, ValueError, IndexError):
            if not schema_failed:
                raise
            # The rules read fields whose shape the schema guarantees: past a schema error
            # they can fail on their own; the schema errors are what to fix first.
            skipped.append(Finding(WARNING, "/", "semantic rules skipped past the schema errors",
                                   "fix those and run check again"))

    problems = collect_problems(rules)
    findings = [Finding(ERROR, problem.pointer or "/", _without_pointer(problem))
                for problem in problems]
    warnings = list(prepared.warnings)
    if prepared.seccomp_program is not None:
        warnings += prepared.seccomp_program.warnings
    findings += [Finding(WARNING, *_split_pointer(warning.removeprefix("config.json: ")))
                 for warning in warnings]
    findings += skipped
    if prepared.config is not None and not schema_failed:
        findings += _host_limits_for(prepared.config)
    if prepared.plan is not None:  # every rule passed: the executable is looked up as create does
        findings += _executable_findings(prepared.config)
        findings += _mount_source_findings(prepared.config)
    return findings


def _mount_source_findings(config: "Config | None") -> "list[Finding]":
    """A bind source missing on the host: create fails when it comes to mount it, unless the
    source lies in the rootfs below an earlier mount's destination (that mount decides what is
    there: the executor looks at the source when it mounts it, as runc does)."""
    from oci_runtime.rootfs.mount_options import plan_mount_options

    assert config is not None  # the plan was compiled
    root = config.root_path.rstrip("/")
    findings = []
    for index, mount in enumerate(config.mounts):
        options = plan_mount_options(mount.options)
        if not (options.is_bind or mount.type == "bind") or os.path.exists(mount.source):
            continue
        earlier = [m.destination.rstrip("/") for m in config.mounts[:index]]
        if mount.source.startswith(root + "/") and \
                _in_rootfs(root, earlier, mount.source[len(root):]) is True:
            continue
        findings.append(Finding(ERROR, mount.pointer, f"mount source {mount.source}: No such "
                                "file or directory (create fails when it mounts it)",
                                "create it, or fix the source"))
    return findings


def _executable_findings(config: "Config | None") -> "list[Finding]":
    """args[0] looked up in the rootfs as the executor does before pivot_root (create fails when
    it is missing): execvp's search with the process's PATH.  A path a mount of the config
    covers is not known before the container runs, and counts as found."""
    import stat

    from oci_runtime.plan.process import executable_search, exec_lookup_error

    assert config is not None and config.process is not None  # the plan was compiled
    process = config.process
    arg0 = process.args[0]
    covered = [mount.destination.rstrip("/") for mount in config.mounts]

    def executable(path: str) -> "bool | None":
        """Whether container path ``path`` is an executable file; None when a mount decides."""
        found = _in_rootfs(config.root_path, covered, path)
        if found is None or found is True:
            return None if found else False
        try:
            status = os.stat(found)
        except OSError:
            return False
        return stat.S_ISREG(status.st_mode) and bool(status.st_mode & 0o111)

    def cwd_join(directory: str) -> str:
        return f"{directory or process.cwd}/{arg0}"

    if "/" in arg0:
        path = arg0 if arg0.startswith("/") else cwd_join(process.cwd)
        verdict = executable(path)
        if verdict is not False:
            return []
        errno = 13 if _in_rootfs(config.root_path, covered, path) else 2
        problem = exec_lookup_error(arg0, errno, path)
    else:
        search = executable_search(process)
        if any(executable(cwd_join(directory)) is not False for directory in search.split(":")):
            return []
        problem = exec_lookup_error(arg0, 2, "notfound")
    return [Finding(ERROR, "/process/args/0", f"{problem} (in {config.root_path})",
                    "add it to the rootfs, or fix /process/args/0 (or PATH in /process/env)")]


def _in_rootfs(root: str, covered: "list[str]", path: str) -> "str | bool | None":
    """Container path ``path`` resolved in the rootfs ``root`` as the executor resolves it (its
    symlinks inside the root, '..' stopped at it): the host path of what is there, None when
    nothing is, True when it is under one of the mount destinations ``covered``."""
    from oci_runtime.rootfs.inside import resolve_in_root, under_any

    try:
        inside = resolve_in_root(root, path, stop_under=covered)
    except OCIError:
        return None  # ELOOP
    if under_any(inside, covered):
        return True
    host = root + inside
    return host if os.path.lexists(host) else None


def _without_pointer(error: ConfigError) -> str:
    message = str(error).removeprefix("config.json: ")
    if error.pointer and message.startswith(error.pointer):
        message = message[len(error.pointer):].removeprefix(": ")
    return message


def _split_pointer(message: str) -> "tuple[str, str]":
    """("/a/b", "why") from "/a/b: why" (seccomp's warnings), else ("/", message)."""
    pointer, separator, rest = message.partition(": ")
    return (pointer, rest) if separator and pointer.startswith("/") else ("/", message)


def _host_limits_for(config: "Config") -> "list[Finding]":
    """What this host will refuse of an otherwise valid config."""
    import resource

    from oci_runtime.process.capabilities import RLIMIT_NUMBERS

    findings: "list[Finding]" = []
    can_raise = has_capability(CAP_SYS_RESOURCE)
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
    if config.linux.has_new("user") and not user_namespaces_allowed():
        findings.append(Finding(ERROR, "/linux/namespaces", "a new user namespace is asked for "
                                "but this host allows none (user.max_user_namespaces is 0)",
                                "sysctl -w user.max_user_namespaces=15000"))
    for namespace in config.linux.namespaces.values():
        if namespace.path is None and not os.path.exists(f"/proc/self/ns/{namespace.proc_name}"):
            findings.append(Finding(ERROR, "/linux/namespaces",
                                    f"this kernel has no {namespace.type} namespace",
                                    "remove it from linux.namespaces"))
    return findings
