"""exec [--process FILE] [--detach] [--pid-file F] [--tty] [--console-socket S]
[--pidfd-socket S] [--cwd D]
[--env K=V]... [--user uid[:gid]] [--additional-gids G]... [--cap CAP]... [--no-new-privs]
[--preserve-fds N] [--cgroup [CONTROLLER[,...]:]PATH]... [--ignore-paused] ID [CMD ARGS...]: run
a new process in a created or running container (runc's options).

Without --process, the process starts as the container's own (config.json at create) with the
command line's overrides.  Not detached, exits with the process's status (128+N if killed by
signal N); detached, returns once it runs.  --cgroup puts the process in an existing sub-cgroup of
the container's; --ignore-paused lets it join a paused container (it runs once resumed).

The runtime sets no LISTEN_FDS/LISTEN_PID of its own (nor does runc's exec): socket activation
variables reach the process only through --env or --process, with the fds via --preserve-fds.

Exit status: the process's; 255 when exec fails before the process runs (no such container, a
stopped one, an executable not found...), 1 for a usage error, as runc."""
from oci_runtime.cli.args import UsageError, parse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {
    "--process": ("-p", "FILE", None, "the process to run, as a config.json process object"),
    "--detach": ("-d", None, None, "return once the process runs instead of waiting for it"),
    "--pid-file": (None, "FILE", None, "write the process's host pid to FILE"),
    "--tty": ("-t", None, None, "give the process a terminal (needs --console-socket when "
              "detached)"),
    "--console-socket": (None, "SOCKET", None, "path of an AF_UNIX socket that receives the "
                         "master end of the console (needs --tty)"),
    "--pidfd-socket": (None, "SOCKET", None, "path of an AF_UNIX socket that receives a pidfd "
                       "of the process (data \"setns\", as runc)"),
    "--cwd": (None, "DIR", None, "working directory in the container (absolute)"),
    "--env": ("-e", "NAME=VALUE", None, "set an environment variable"),
    "--user": ("-u", "UID[:GID]", None, "user and group ids of the process"),
    "--additional-gids": ("-g", "GID", None, "an additional group id"),
    "--cap": ("-c", "CAP", None, "add a capability (e.g. CAP_NET_ADMIN) to every set of the "
              "process"),
    "--no-new-privs": (None, None, None, "set no_new_privs on the process"),
    "--preserve-fds": (None, "N", "0", "pass N more fds (3 to 3+N-1) to the process"),
    "--process-label": (None, "LABEL", None, "the SELinux label of the process"),
    "--apparmor": (None, "PROFILE", None, "the AppArmor profile of the process"),
    "--cgroup": (None, "[CONTROLLER[,...]:]PATH", None, "run the process in an existing "
                 "sub-cgroup of the container's"),
    "--ignore-paused": (None, None, None, "allow exec into a paused container (the process "
                        "runs once it is resumed)"),
}
REPEATABLE = ("--env", "--additional-gids", "--cap", "--cgroup")
_USAGE = "usage: oci-runtime exec [options] CONTAINER_ID [COMMAND [ARGS...]]"


def run(context: "Context", argv: "Sequence[str]") -> int:
    """exec; a failure before the process runs exits 255 (runc's status for it), usage errors 1."""
    from oci_runtime.cli.args import EXIT_EXEC_FAILED, CommandFailed
    from oci_runtime.errors import OCIError

    try:
        return _exec(context, argv)
    except UsageError:
        raise
    except OCIError as exc:
        raise CommandFailed(str(exc), EXIT_EXEC_FAILED, exc.errno) from exc


def _exec(context: "Context", argv: "Sequence[str]") -> int:
    from oci_runtime.config.load import read_json_file
    from oci_runtime.errors import OCIError
    from oci_runtime.process.attributes import apparmor_enabled, selinux_enabled

    values, positionals = parse(argv, OPTIONS, repeatable=REPEATABLE, stop_after=2)
    if not positionals:
        raise UsageError(_USAGE)
    container_id, command = positionals[0], positionals[1:]
    preserve = values["preserve_fds"]
    if not preserve.isdigit():
        raise UsageError(f"--preserve-fds: not a number: {preserve!r}")
    _check_preserved_fds_are_open(int(preserve))
    container = context.runtime.get(container_id)
    process = source = None
    if values.get("process"):
        if command:
            raise UsageError("exec: give either --process or a command, not both")
        source = f"exec --process {values['process']}"
        process = read_json_file(values["process"], source)
        if not isinstance(process, dict):
            raise OCIError(f"{source}: must be a JSON object (a config.json process)")
    elif not command:
        raise UsageError(_USAGE + " (a command, or --process FILE, is required)")
    if values.get("apparmor") and not apparmor_enabled():
        raise OCIError(f"exec --apparmor {values['apparmor']}: AppArmor is not enabled on "
                       "this host")
    if values.get("process_label") and not selinux_enabled():
        raise OCIError(f"exec --process-label {values['process_label']}: SELinux is not "
                       "enabled on this host")
    result = container.exec(
        command or None, process=process, process_source=source, cwd=values.get("cwd"),
        env=values.get("env"), user=values.get("user"),
        additional_gids=values.get("additional_gids"), capabilities=values.get("cap"),
        no_new_privileges=values.get("no_new_privs", False), tty=values.get("tty", False),
        detach=values.get("detach", False), pid_file=values.get("pid_file"),
        console_socket=values.get("console_socket"), preserve_fds=int(preserve),
        ignore_paused=values.get("ignore_paused", False), cgroups=values.get("cgroup"),
        apparmor_profile=values.get("apparmor"), selinux_label=values.get("process_label"),
        pidfd_socket=values.get("pidfd_socket"))
    return result if isinstance(result, int) else 0  # detached: the Process, status 0


def _check_preserved_fds_are_open(count: int) -> None:
    """Every fd --preserve-fds names must be one the caller gave us: a closed one would be
    reused by the runtime's own sockets and passed on into the container instead."""
    import os

    from oci_runtime.errors import OCIError

    for fd in range(3, 3 + count):
        try:
            os.fstat(fd)
        except OSError:
            raise OCIError(f"--preserve-fds {count}: fd {fd} is not open") from None
