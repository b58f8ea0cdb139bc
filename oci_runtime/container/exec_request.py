"""What `exec` runs: the process section (config.md shape) and the runtime-side options, from the
Python API (container/api.py) or from runc's exec flags (cli/cmd_exec.py through the API)."""
from oci_runtime.errors import OCIError
from oci_runtime.process.capabilities import runtime_bounding_set, ungrantable_reason

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any


class ExecRequest:
    """What to run: the process section (config.md shape) plus runtime-side options.

    ``sub_cgroups`` is parse_sub_cgroup_arguments()'s result ({controller: path}, '' = every
    hierarchy); ``ignore_paused`` allows exec into a paused container (the process then stays
    frozen with the others until `resume`); ``pidfd_socket``: an AF_UNIX socket that receives
    a pidfd of the process (runc's --pidfd-socket)."""

    def __init__(self, process: "dict[str, Any]", *, detach: bool = False,
                 pid_file: str | None = None, console_socket: str | None = None,
                 preserve_fds: int = 0, ignore_paused: bool = False,
                 sub_cgroups: "dict[str, str] | None" = None, source: str = "config.json",
                 pointer: str = "/process", pidfd_socket: str | None = None) -> None:
        self.process = process
        # Where the process came from, for errors: config.json's /process (with the command
        # line's overrides, checked by process_from_options), or `exec --process FILE` and "".
        self.source = source
        self.pointer = pointer
        self.detach = detach
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.preserve_fds = preserve_fds
        self.ignore_paused = ignore_paused
        self.sub_cgroups = sub_cgroups or {}
        self.pidfd_socket = pidfd_socket


def parse_sub_cgroup_arguments(arguments: "Sequence[str] | None") -> "dict[str, str]":
    """runc's `exec --cgroup [controller[,controller...]:]path` values as {controller: path}.

    A path without a controller prefix applies to every hierarchy (the only form that makes sense
    on cgroup v2) and must then be the only --cgroup given; the key for it is ''."""
    paths: "dict[str, str]" = {}
    for argument in arguments or ():
        parts = argument.split(":")
        if len(parts) > 2:
            raise OCIError(f"invalid --cgroup argument {argument!r}: expected [controller:]path")
        if len(parts) == 1:
            if len(arguments) != 1:  # type: ignore[arg-type]  # not None: iterated
                raise OCIError(f"invalid --cgroup argument {argument!r}: a path without a "
                               "controller: prefix must be the only --cgroup")
            paths[""] = argument
            continue
        controllers, path = parts
        for controller in controllers.split(","):
            if not controller:
                raise OCIError(f"invalid --cgroup argument {argument!r}: empty controller name")
            if controller in paths:
                raise OCIError(f"invalid --cgroup arguments: controller {controller} is given "
                               "more than once")
            paths[controller] = path
    return paths


def process_from_options(saved_process: "dict[str, Any]", *, args: "Sequence[str]",
                         cwd: str | None = None, env: "Sequence[str]" = (),
                         user: str | None = None, additional_gids: "Sequence[str] | None" = None,
                         capabilities: "Sequence[str]" = (), no_new_privileges: bool = False,
                         tty: bool = False, warn: "Callable[[str], None] | None" = None
                         ) -> "dict[str, Any]":
    """runc's exec without --process: start from the container's own process section and
    override what the command line gives (env entries are appended, capabilities added to the
    bounding, effective, permitted and ambient sets).  A bad value names its flag; a capability
    that cannot be granted is left out with a warning, as runc does."""
    if cwd is not None and not cwd.startswith("/"):
        raise OCIError(f"exec --cwd {cwd!r}: must be an absolute path")
    for entry in env:
        if "=" not in entry or entry.startswith("="):
            raise OCIError(f"exec --env {entry!r}: expected NAME=VALUE")
    if capabilities:
        bounding = runtime_bounding_set()
        grantable: "list[str]" = []
        for name in capabilities:
            reason = ungrantable_reason(name, bounding)
            if reason is None:
                grantable.append(name)
            elif warn is not None:
                warn(f"exec --cap {name}: ignoring capability: {reason}")
        capabilities = grantable
    process = dict(saved_process)
    process["args"] = list(args)
    process.pop("commandLine", None)
    process["terminal"] = bool(tty)
    if not tty:
        process.pop("consoleSize", None)
    if cwd:
        process["cwd"] = cwd
    if env:
        process["env"] = list(process.get("env") or ()) + list(env)
    user_section = dict(process.get("user") or {})
    if user:
        uid, _, gid = user.partition(":")
        if not uid.isdigit() or (gid and not gid.isdigit()):
            raise OCIError(f"--user {user!r}: expected uid[:gid] as numbers")
        user_section["uid"] = int(uid)
        user_section["gid"] = int(gid) if gid else 0
    if additional_gids:
        for gid in additional_gids:
            if not gid.isdigit():
                raise OCIError(f"--additional-gids {gid!r}: not a number")
        user_section["additionalGids"] = [int(gid) for gid in additional_gids]
    process["user"] = user_section
    if capabilities:
        sets = dict(process.get("capabilities") or {})
        # Never inheritable (CVE-2022-29162): an inheritable capability survives into
        # programs the process runs even without file capabilities granting it.
        for key in ("bounding", "effective", "permitted", "ambient"):
            sets[key] = list(sets.get(key) or ()) + [c for c in capabilities
                                                      if c not in (sets.get(key) or ())]
        process["capabilities"] = sets
    if no_new_privileges:
        process["noNewPrivileges"] = True
    return process
