"""The `oci-runtime` command: global options, then one small module per command.

runc-compatible: `oci-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug]
[--systemd-cgroup] COMMAND ...`.  Errors are printed once, as one line, on stderr and (for
containerd's shim, which reads the last error of log.json) in the log file; the exit status is 1
(3 for an unknown command, 255 for a failed `exec`: cli/args.py has runc's statuses).
"""
import sys

from oci_runtime.cli.args import (
    COMMAND_ALIASES, COMMANDS, EXIT_ERROR, GLOBAL_OPTIONS, CommandFailed,
)
from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from oci_runtime.cli.logging import DebugLog
    from oci_runtime.container.api import Runtime
    from oci_runtime.container.store import StateStore

LOG_FORMATS = ("text", "json")


class Context:
    """What every command receives: global options and the logger."""

    def __init__(self, values: "dict[str, Any]") -> None:
        self.root: str | None = values.get("root")
        self.log_path: str | None = values.get("log")
        self.log_format: str = values.get("log_format", "text")
        self.debug = bool(values.get("debug"))
        self.systemd_cgroup = bool(values.get("systemd_cgroup"))
        self._runtime: Runtime | None = None
        # --rootless (checked by _check_global): True, False, or None to detect (euid, user
        # namespace) where it matters, in create.
        self.rootless = {"true": True, "false": False}.get(
            (values.get("rootless") or "auto").lower())
        self._debugger: DebugLog | None = None
        self.criu: str = values.get("criu") or "criu"

    @property
    def runtime(self) -> "Runtime":
        """The Python API's Runtime for --root/--systemd-cgroup: every command goes through it."""
        if self._runtime is None:
            from oci_runtime.container.api import Runtime

            self._runtime = Runtime(self.root, systemd_cgroup=self.systemd_cgroup,
                                    rootless=self.rootless, criu=self.criu, warn=self.warn,
                                    debug=self.debugger)
        return self._runtime

    @property
    def store(self) -> "StateStore":
        """The state store under --root, for `plan` (which compiles without making anything)."""
        return self.runtime._store

    def log(self, level: str, message: str) -> None:
        if self.log_path:
            from oci_runtime.cli.logging import write_log

            try:
                write_log(self.log_path, self.log_format, level, message)
            except OSError as exc:  # opened at start, but e.g. a full disk or /proc/version
                sys.stderr.write(f"oci-runtime: writing to --log {self.log_path}: "
                                 f"{exc.strerror or exc}\n")

    def warn(self, message: str) -> None:
        """A warning goes to --log when one is given, and only there, as runc's: the runtime's
        stderr is the container's for create, run and exec under containerd, Docker and
        conmon, and a warning there would show as the container's own output (`docker logs`).
        Without --log it goes to stderr (runc's logrus default)."""
        if self.log_path:
            self.log("warning", message)
        else:
            sys.stderr.write(f"oci-runtime: warning: {message}\n")

    @property
    def debugger(self) -> "DebugLog | None":
        """--debug's DebugLog (to the --log file, else stderr, as runc), or None without --debug:
        then nothing is imported and callers format nothing."""
        if not self.debug:
            return None
        if self._debugger is None:
            from oci_runtime.cli.logging import DebugLog

            self._debugger = DebugLog(self.log_path, self.log_format)
        return self._debugger

    def debug_log(self, message: str) -> None:
        debugger = self.debugger
        if debugger is not None:
            debugger(message)


def _split_global(argv: "Sequence[str]") -> "tuple[Sequence[str], Sequence[str]]":
    """Global options come before the command name."""
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        name = argv[index].partition("=")[0]
        takes_value = GLOBAL_OPTIONS.get(name, GLOBAL_OPTIONS.get("-" + name, (None, False)))[1]
        index += 1
        if takes_value and "=" not in argv[index - 1]:
            index += 1
    return argv[:index], argv[index:]


def _check_global(values: "dict[str, Any]") -> None:
    """Up front, for every command (runc does the same): a bad --log-format or --rootless, or a
    --log file that cannot be opened, would otherwise surface later or not at all."""
    log_format = values["log_format"]
    if log_format not in LOG_FORMATS:
        raise OCIError(f"--log-format {log_format!r}: invalid log format (text or json)")
    if values["rootless"].lower() not in ("", "true", "false", "auto"):  # runc's values
        raise OCIError(f"--rootless {values['rootless']!r}: expected true, false or auto")
    log_path = values.get("log")
    if log_path:
        from oci_runtime.kernel import hotpath

        try:
            hotpath.close(hotpath.open(log_path, hotpath.O_WRONLY | hotpath.O_APPEND
                                       | hotpath.O_CREAT | hotpath.O_CLOEXEC, 0o644))
        except OSError as exc:
            raise OCIError.from_os(f"--log {log_path}: cannot open the log file", exc) from None


def main(argv: "Sequence[str] | None" = None) -> int:
    from oci_runtime.cli.args import HelpRequested, parse

    argv = sys.argv[1:] if argv is None else argv
    context = None
    command = None
    try:
        global_argv, rest = _split_global(argv)
        values, _ = parse(global_argv, GLOBAL_OPTIONS)
        _check_global(values)
        context = Context(values)
        if values.get("version"):
            from oci_runtime.cli.help import version_text

            sys.stdout.write(version_text())
            return 0
        if values.get("help") or not rest:
            from oci_runtime.cli.help import top_level_page

            (sys.stdout if values.get("help") else sys.stderr).write(top_level_page())
            return 0 if values.get("help") else 2
        command, command_args = COMMAND_ALIASES.get(rest[0], rest[0]), rest[1:]
        if command not in COMMANDS:
            from oci_runtime.cli.args import EXIT_UNKNOWN_COMMAND

            raise CommandFailed(f"unknown command {command!r} (see oci-runtime --help)",
                                EXIT_UNKNOWN_COMMAND)
        try:
            module = __import__(f"oci_runtime.cli.cmd_{command}", fromlist=["run"])
        except ModuleNotFoundError as exc:
            if exc.name != f"oci_runtime.cli.cmd_{command}":
                raise
            raise OCIError(f"{command}: not implemented by this version of oci-runtime") from None
        status: int = module.run(context, command_args) or 0
        return status
    except HelpRequested:
        from oci_runtime.cli.help import command_page

        sys.stdout.write(command_page(command))
        return 0
    except OCIError as exc:
        _report(context, str(exc))
        return exc.status if isinstance(exc, CommandFailed) else EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError as exc:
        if _stdout_closed():
            return 1  # `oci-runtime list | head`: nobody is left to read, or to tell
        _report(context, f"internal: {exc.strerror} (a process of the runtime exited early)")
        return 1
    except OSError as exc:
        # An unexpected system error: still one line, with what failed.
        _report(context, f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}")
        return 1


def main_and_exit() -> None:
    """What the `oci-runtime` command runs: main(), then exit without the interpreter's
    finalisation (module teardown and GC cost ~1.5 ms, a tenth of a `state` call).  Nothing is
    lost: the runtime writes files whole and closes them, and stdio is flushed here."""
    import gc

    # A call lives milliseconds: looking for reference cycles every 700 allocations (3.11's
    # default) is work it never needs (oci_runtime/kernel/hotpath.py); one that runs long (run,
    # exec, events) still collects, later.  Not for library callers: only the command runs this.
    gc.set_threshold(100_000)
    from oci_runtime.kernel import hotpath

    status = main()
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        status = status or 1
    try:
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    hotpath.exit_now(status)


def _stdout_closed() -> bool:
    """Whether stdout's reader is gone (the one EPIPE that is not an error to report): a pipe or
    socket without a peer polls POLLERR or POLLHUP for writing."""
    import select

    poller = select.poll()
    try:
        poller.register(1, select.POLLOUT)
    except (OSError, ValueError):
        return True  # no stdout at all
    return any(events & (select.POLLERR | select.POLLHUP | select.POLLNVAL)
               for _, events in poller.poll(0))


def _report(context: Context | None, message: str) -> None:
    if context is not None:
        context.log("error", message)
    sys.stderr.write(f"oci-runtime: {message}\n")
    sys.stderr.flush()
