"""`oci-runtime check` of a bundle: will create accept this config.json, and will this host run it?

config.json is checked against our schema twice, with the ``jsonschema`` library (the reference
implementation of JSON Schema, so nothing our fast validator in config/validate.py skips goes
unnoticed) and with config/validate.py (what create runs, so its exact wording), then the semantic
rules create applies (config.model, container.create.check_creatable, the seccomp compiler, the
plan compiler, the cgroup path), all run through config.model.collect_problems: every problem at
once, from the same code as create.  Then what this host will refuse of that config (rlimits above
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
    from oci_runtime.seccomp.filter import CompiledFilter


def check_bundle(bundle: str, systemd_cgroup: bool = False) -> "list[Finding]":
    """Every problem of ``bundle``'s config.json; an empty list means create would accept it."""

    from oci_runtime.kernel import hotpath

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
    for problem in _semantic_problems(document, bundle, systemd_cgroup, bool(schema_problems)):
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


def _semantic_problems(document: "dict[str, Any]", bundle: str, systemd_cgroup: bool,
                       schema_failed: bool) -> "list[Finding]":
    """The rules create applies after the schema, each problem collected (not just the first)."""
    from oci_runtime.config.model import Config, collect_problems
    from oci_runtime.container.create import check_creatable

    built: "list[Any]" = []  # the Config, then its compiled seccomp filter (or None)
    warnings: "list[str]" = []

    def rules() -> None:
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


def _without_pointer(error: ConfigError) -> str:
    message = str(error).removeprefix("config.json: ")
    if error.pointer and message.startswith(error.pointer):
        message = message[len(error.pointer):].removeprefix(": ")
    return message


def _split_pointer(message: str) -> "tuple[str, str]":
    """("/a/b", "why") from "/a/b: why" (seccomp's warnings), else ("/", message)."""
    pointer, separator, rest = message.partition(": ")
    return (pointer, rest) if separator and pointer.startswith("/") else ("/", message)


def _check_seccomp(seccomp: "dict[str, Any]") -> "CompiledFilter | None":
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


def _check_plan(config: "Config", bundle: str, seccomp_program: "CompiledFilter | None") -> None:
    """Compile the executor's plan as create does (container.create.plan_of: the rules of the
    plan compiler: mount sources, devices, time offsets, joined namespaces, ...); nothing is made.
    It stops at its first problem, which is reported like the others."""
    from oci_runtime.config.model import report_problem
    from oci_runtime.container.create import plan_of

    try:
        plan_of(config, bundle, "check", "/nonexistent/oci-runtime-check", seccomp_program)
    except ConfigError:
        raise
    except OCIError as exc:
        error = ConfigError(str(exc), errno=exc.errno)
        if error.pointer is None:
            raise
        report_problem(error)


def _check_cgroups_path(config: "Config", systemd_cgroup: bool) -> None:
    from oci_runtime.cgroups import open_manager
    from oci_runtime.config.model import config_problem

    try:
        open_manager(config.linux.cgroups_path, "check", systemd=systemd_cgroup)
    except OCIError as exc:
        config_problem("/linux/cgroupsPath", str(exc).removeprefix("/linux/cgroupsPath: "))


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
