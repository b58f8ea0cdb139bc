"""A tiny command-line parser: argparse costs ~6 ms to import, a third of a `state` call.

A command declares its options in one table, which both this parser and the help pages
(cli/help.py, docs/cli.md) read::

    OPTIONS = {
        "--bundle": ("-b", "DIR", ".", "path to the bundle directory"),
        "--force": ("-f", None, None, "delete the container even if it is running"),
    }

Each entry is (short alias or None, the value's name or None for a flag, the default or None,
one line of help).  The parser reads the first three (a value name means the option takes a
value; a default is filled in when the option is not given); only the help page reads the help.
Values come as ``--opt v``, ``--opt=v``, ``-o v``; options may stand anywhere before ``--``;
repeated value options keep the last value, or all of them when the option is listed in
``repeatable``.  ``--help``/``-h``, when the table does not define them, raise HelpRequested.

The runtime's own tables are here too: the commands and the global options, which every call
parses first (oci_runtime.cli) and from which the help pages and docs/cli.md are made (help.py).
"""
from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from typing import Any, TypeAlias

    # long name -> (short alias, the value's name or None for a flag, default, help)
    OptionTable: TypeAlias = "Mapping[str, tuple[str | None, str | None, str | None, str]]"


COMMANDS = {
    "create": "create a container from a bundle, ready to start",
    "start": "run the user process of a created container",
    "state": "print the state of a container as JSON",
    "kill": "send a signal to the container's init (or --all processes)",
    "delete": "delete a stopped container (--force: any container)",
    "run": "create, start and wait for a container",
    "list": "list containers",
    "spec": "write a default config.json",
    "features": "print what this runtime implements (runtime-spec features document)",
    "exec": "run a new process inside a running container",
    "ps": "list the processes of a container",
    "pause": "freeze every process of a container",
    "resume": "thaw a paused container",
    "update": "change the resource limits of a container",
    "events": "print container events and statistics",
    "plan": "print what create would do (the compiled plan), without doing it",
    "help": "show the help of a command (help COMMAND), or all of it (help --markdown)",
    "check": "check a bundle and this host: will it run? (one line per finding)",
    "checkpoint": "checkpoint a running container with CRIU",
    "restore": "restore a container from a checkpoint with CRIU",
}
# Other names of a command (runc's: `h` for help).
COMMAND_ALIASES = {"h": "help"}

# Exit statuses callers read (runc 1.5.1's, through urfave/cli): 1 for any error, including a
# wrong option or argument count; 3 for an unknown command (urfave/cli's "No help topic");
# 255 for an `exec` that failed before its process ran (runc's fatalWithCode(err, 255)), so a
# caller tells it from the process's own status.
EXIT_ERROR = 1
EXIT_UNKNOWN_COMMAND = 3
EXIT_EXEC_FAILED = 255

GLOBAL_OPTIONS = {
    "--root": (None, "DIR", None, "root directory of the containers' state (default: "
               "/run/oci-runtime; $XDG_RUNTIME_DIR/oci-runtime for a user other than root)"),
    "--log": (None, "FILE", None, "append warnings, errors and --debug messages to FILE; "
              "warnings then go there only, never to stderr (the container's stderr under "
              "containerd, Docker and conmon) (default: warnings and errors to stderr)"),
    "--log-format": (None, "FORMAT", "text", "format of --log: text or json"),
    "--debug": (None, None, None, "log debug messages and how long each stage took"),
    "--systemd-cgroup": (None, None, None, "create cgroups through systemd; linux.cgroupsPath "
                         "is \"slice:prefix:name\", e.g. \"system.slice:oci:1234\""),
    # See oci_runtime.userns.rootless: what rootless mode changes (cgroups) and how auto detects it.
    "--rootless": (None, "VALUE", "auto", "rootless mode: true, false or auto (rootless when "
                   "not root, or in a user namespace)"),
    "--criu": (None, "PATH", "criu", "the CRIU executable checkpoint and restore run: a name "
               "looked up on PATH, or a path (CRIU 4 or newer)"),
    "--version": ("-v", None, None, "print the version, commit, spec and libseccomp versions"),
    "--help": ("-h", None, None, "show help"),
}


class UsageError(OCIError):
    pass


class CommandFailed(OCIError):
    """An error the command exits with ``status`` for, instead of EXIT_ERROR."""

    def __init__(self, message: str, status: int, errno: int = 0) -> None:
        super().__init__(message, errno)
        self.status = status


class HelpRequested(Exception):
    """--help or -h was given: the caller prints the command's help page instead of running it."""


def parse(argv: "Sequence[str]", options: "OptionTable", repeatable: "Collection[str]" = (),
          stop_after: int | None = None) -> "tuple[dict[str, Any], list[str]]":
    """Return (values: {long name without dashes: value}, positionals).  After ``stop_after``
    positionals (`exec ID CMD...`), the rest are positionals too: the command's own flags."""
    by_alias: "dict[str, tuple[str, str | None]]" = {}
    values: "dict[str, Any]" = {}
    for long_name, entry in options.items():
        by_alias[long_name] = (long_name, entry[1])
        if entry[0]:
            by_alias[entry[0]] = (long_name, entry[1])
        if len(entry) > 2 and entry[2] is not None:
            values[long_name[2:].replace("-", "_")] = entry[2]
    positionals: "list[str]" = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--":
            positionals.extend(argv[index:])
            break
        if stop_after is not None and len(positionals) >= stop_after:
            positionals.append(arg)
            positionals.extend(argv[index:])
            break
        if arg.startswith("-") and len(arg) > 1:
            name, sep, inline = arg.partition("=")
            if name not in by_alias and name.startswith("-") and not name.startswith("--"):
                name = "-" + name  # runc's CLI library accepts -bundle like --bundle
            if name not in by_alias:
                if name in ("--help", "--h"):
                    raise HelpRequested()
                raise UsageError(f"unknown option {arg.partition('=')[0]}")
            long_name, takes_value = by_alias[name]
            key = long_name[2:].replace("-", "_")
            if takes_value:
                if sep:
                    value = inline
                elif index < len(argv):
                    value = argv[index]
                    index += 1
                else:
                    raise UsageError(f"option {long_name} needs a value")
                if long_name in repeatable:
                    values.setdefault(key, []).append(value)
                else:
                    values[key] = value
            else:
                values[key] = inline.lower() not in ("false", "0") if sep else True
        else:
            positionals.append(arg)
    return values, positionals
