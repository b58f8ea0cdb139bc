"""The commands and the global options: what the parser (oci_runtime.cli) reads and what the help
pages and docs/cli.md (help.py) are made from.  Each command's own options are the OPTIONS table
of its module, cli/cmd_<command>.py."""

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
}

GLOBAL_OPTIONS = {
    "--root": (None, "DIR", None, "root directory of the containers' state (default: "
               "/run/oci-runtime; $XDG_RUNTIME_DIR/oci-runtime for a user other than root)"),
    "--log": (None, "FILE", None, "append warnings, errors and --debug messages to FILE "
              "(default: errors to stderr only)"),
    "--log-format": (None, "FORMAT", "text", "format of --log: text or json"),
    "--debug": (None, None, None, "log debug messages and how long each stage took"),
    "--systemd-cgroup": (None, None, None, "create cgroups through systemd; linux.cgroupsPath "
                         "is \"slice:prefix:name\", e.g. \"system.slice:oci:1234\""),
    # See oci_runtime.userns.rootless: what rootless mode changes (cgroups) and how auto detects it.
    "--rootless": (None, "VALUE", "auto", "rootless mode: true, false or auto (rootless when "
                   "not root, or in a user namespace)"),
    "--criu": (None, "PATH", "criu", "accepted for runc compatibility; checkpoint/restore is "
               "not implemented"),
    "--version": ("-v", None, None, "print the version, commit, spec and libseccomp versions"),
    "--help": ("-h", None, None, "show help"),
}
