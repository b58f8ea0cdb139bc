"""Help pages, `--version` and docs/cli.md, all made from the option tables the parser reads.

Imported only when help or the version is asked for: `state`, `start` and `kill` never load the
descriptions below (tests/unit/test_help.py checks it).  Each command's options come from the
OPTIONS table of its module (cli/args.py describes the format); what the command does, and its
arguments, are written here.
"""
import os
import sys

from oci_runtime import OCI_VERSION, __version__
from oci_runtime.cli.args import COMMAND_ALIASES, COMMANDS, GLOBAL_OPTIONS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Collection
    from types import ModuleType

    from oci_runtime.cli.args import OptionTable

PROGRAM = "oci-runtime"

# command -> (its arguments after the options, what it does)
PAGES = {
    "create": (
        "[options] CONTAINER_ID",
        "Creates a container from a bundle: a directory holding config.json and the root "
        "filesystem it names.  The container's init sets everything up, runs the prestart, "
        "createRuntime and createContainer hooks and waits; `start` runs the user process "
        "(process.args).  CONTAINER_ID must be unique under --root.",
    ),
    "start": (
        "CONTAINER_ID",
        "Runs the user process of a created container, then the poststart hooks.  A poststart "
        "hook that fails makes start fail: the container is stopped, the poststop hooks run "
        "and it is deleted.",
    ),
    "state": (
        "CONTAINER_ID",
        "Prints the state of the container as JSON: ociVersion, id, status (creating, created, "
        "running, paused, stopped), pid, bundle, annotations, and runc's rootfs, created and "
        "owner.",
    ),
    "kill": (
        "[options] CONTAINER_ID [SIGNAL]",
        "Sends SIGNAL (a name such as KILL or SIGKILL, or a number; default TERM) to the "
        "container's init, or with --all to every process of the container's cgroup.  "
        "Without --all a container whose init has exited is an error (\"container not "
        "running\"); with --all it is not: what is left in its cgroup is signalled (as "
        "containerd's shim asks after the init of a container sharing a pid namespace "
        "exited).  SIGKILL thaws a paused container so that it dies; other signals leave it "
        "paused until resumed.",
    ),
    "delete": (
        "[options] CONTAINER_ID",
        "Deletes a stopped container: runs the poststop hooks and removes its cgroup, its "
        "state and every mount it left.  With --force a running container is killed "
        "(SIGKILL) first, and a container that does not exist is not an error.",
    ),
    "run": (
        "[options] CONTAINER_ID",
        "Creates and starts a container from a bundle (see `create`), and unless --detach "
        "waits for it, forwarding signals, and exits with its status (128+N when killed by "
        "signal N); the container is then deleted unless --keep.",
    ),
    "list": (
        "[options]",
        "Lists the containers under --root: ID, PID, STATUS, BUNDLE, CREATED and OWNER (the "
        "owner of the container's state directory).",
    ),
    "spec": (
        "[options]",
        "Writes a default config.json into the bundle directory (it must not exist yet): "
        "busybox-friendly `sh` with a terminal, the usual namespaces, mounts, masked and "
        "read-only paths.  With --rootless the config has a user namespace mapping the "
        "container's root to the caller's uid and gid, and no network namespace or cgroup "
        "limits.",
    ),
    "features": (
        "",
        "Prints the runtime-spec features document (features.md) as JSON: the spec versions, "
        "hooks, mount options, namespaces, capabilities, cgroup drivers, seccomp, AppArmor "
        "and SELinux as this runtime and this host support them.",
    ),
    "exec": (
        "[options] CONTAINER_ID COMMAND [ARGS...] | --process FILE CONTAINER_ID",
        "Runs a new process in a created or running container: the container's own process "
        "(from config.json) with the command line and the options as overrides, or the "
        "process object read from --process FILE.  Without --detach it exits with the "
        "process's status (128+N when killed by signal N).  Options after COMMAND are "
        "COMMAND's own.",
    ),
    "ps": (
        "[options] CONTAINER_ID [PS OPTIONS...]",
        "Lists the processes of the container: with --format json a JSON array of their host "
        "pids; as a table, the host's `ps` output (default `ps -ef`, or the PS OPTIONS given) "
        "cut down to the container's processes.",
    ),
    "pause": (
        "CONTAINER_ID",
        "Freezes every process of the container (the cgroup freezer).",
    ),
    "resume": (
        "CONTAINER_ID",
        "Thaws every process of a paused container.",
    ),
    "update": (
        "[options] CONTAINER_ID",
        "Changes the resource limits of a created, running or paused container.  --resources "
        "FILE (or - for stdin) gives a linux.resources object (config-linux.md); the other "
        "options set one field each and override the file.  Sizes take a k, m, g or t suffix.",
    ),
    "events": (
        "[options] CONTAINER_ID",
        "Prints the container's events as JSON lines: statistics every --interval, and an "
        "\"oom\" event for every OOM kill as it happens, until the container stops.  With "
        "--stats, one statistics line.",
    ),
    "plan": (
        "[create options] [--format text|json] [CONTAINER_ID]",
        "Prints what `create` would do with the bundle and the same options, without doing it "
        "(the same code decides both): every operation the container executor performs, in "
        "order, from the first namespace to execve, each with the config.json field it comes "
        "from.  Nothing is created.",
    ),
    "check": (
        "[--bundle DIR] [--host] [--format text|json]",
        "Tells, before the first try, whether a bundle and this host will work: one line per "
        "finding, its severity, the JSON pointer into config.json or the host fact, and after "
        "\"->\" what to do.  The bundle: config.json against the schema (with the jsonschema "
        "library and with the validator create uses), then create's own rules, every problem "
        "at once.  The host: cgroup mode and controllers, systemd, seccomp, user namespaces and "
        "subordinate ids, idmapped mounts, rlimits, overlayfs, CRIU, and which of podman and "
        "containerd are configured to use this runtime.  With neither --bundle nor --host, both "
        "(the bundle in the current directory).  Exits 0 when nothing blocks a run.",
    ),
    "checkpoint": (
        "[options] CONTAINER_ID",
        "Saves the processes of a running (or paused) container with CRIU (4.0 or newer; the "
        "global --criu names it) into --image-path, for `restore`; the container is then "
        "stopped and deleted (poststop hooks included) unless --leave-running or --pre-dump.  "
        "Joined network and pid namespaces and bind mounts are recorded as external (restore "
        "joins and binds them again); the init's stdio pipes and host files are listed in "
        "descriptors.json.  A failure names CRIU's log (dump.log in --work-path or "
        "--image-path).",
    ),
    "restore": (
        "[options] CONTAINER_ID",
        "Makes container CONTAINER_ID from the bundle's config.json (cgroup and limits, "
        "namespaces, mounts) with its processes restored by CRIU from --image-path: their "
        "memory, files, seccomp filter, terminal and sockets.  The prestart and createRuntime "
        "hooks run once the namespaces exist; the network namespace gets its loopback and the "
        "config's networks again.  The caller's stdin, stdout and stderr replace the "
        "checkpointed pipes.  Unless --detach, waits for the container, forwarding signals, "
        "exits with its status and deletes it.  A failure names CRIU's log (restore.log) and "
        "leaves nothing behind.",
    ),
    "help": (
        "[COMMAND] | --markdown",
        "Shows the help of COMMAND, or the list of commands; --markdown prints every page as "
        "the Markdown of docs/cli.md.",
    ),
}

TOP_LEVEL = (
    "An OCI runtime (runtime-spec v1.0 to v1.3) with runc's command line: a drop-in for runc "
    "under podman and containerd.  Containers are made from bundles: a directory with a "
    "config.json and the root filesystem it names."
)


def _command_module(command: str) -> "ModuleType":
    return __import__(f"oci_runtime.cli.cmd_{command}", fromlist=["OPTIONS"])


def options_of(command: str) -> "tuple[OptionTable, Collection[str]]":
    """(options table, repeatable options) of a command, as its parser uses them."""
    module = _command_module(command)
    options: "OptionTable" = getattr(module, "OPTIONS", {})
    repeatable: "Collection[str]" = getattr(module, "REPEATABLE", ())
    return options, repeatable


def _option_name(long_name: str, entry: "tuple[str | None, str | None, str | None, str]") -> str:
    short, value_name = entry[0], entry[1]
    names = [long_name] + ([short] if short else [])
    return ", ".join(f"{name} {value_name}" if value_name else name for name in names)


def _option_help(entry: "tuple[str | None, str | None, str | None, str]", repeated: bool) -> str:
    text = entry[3] if len(entry) > 3 else ""
    if len(entry) > 2 and entry[2] is not None:
        text += f' (default: "{entry[2]}")'
    if repeated:
        text += " (may be repeated)"
    return text


def _option_lines(options: "OptionTable", repeatable: "Collection[str]" = ()) -> "list[str]":
    rows = [(_option_name(name, entry), _option_help(entry, name in repeatable))
            for name, entry in sorted(options.items())]
    width = max((len(name) for name, _ in rows), default=0)
    return [f"   {name:<{width}}  {text}".rstrip() for name, text in rows]


def _wrap(text: str, indent: str = "   ", width: int = 79) -> "list[str]":
    lines: "list[str]" = []
    line = indent
    for word in text.split():
        if len(line) + len(word) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += word + " "
    if line.strip():
        lines.append(line.rstrip())
    return lines


def command_page(command: str | None) -> str:
    """The help page of ``command`` (the top-level one for None or an unknown name)."""
    if command not in PAGES:
        return top_level_page()
    arguments, description = PAGES[command]
    options, repeatable = options_of(command)
    lines = ["NAME:", f"   {PROGRAM} {command} - {COMMANDS[command]}", "", "USAGE:",
             f"   {PROGRAM} [global options] {command} {arguments}".rstrip(), "",
             "DESCRIPTION:", *_wrap(description)]
    if options:
        lines += ["", "OPTIONS:", *_option_lines(options, repeatable)]
    return "\n".join(lines) + "\n"


def _names(command: str) -> str:
    """The command with its aliases, as runc lists them ("help, h")."""
    return ", ".join([command] + [alias for alias, name in COMMAND_ALIASES.items()
                                  if name == command])


def top_level_page() -> str:
    width = max(len(_names(name)) for name in COMMANDS)
    lines = ["NAME:", f"   {PROGRAM} - an OCI container runtime", "", *_wrap(TOP_LEVEL, ""), "",
             "USAGE:", f"   {PROGRAM} [global options] COMMAND [options] [arguments...]", "",
             "COMMANDS:"]
    lines += [f"   {_names(name):<{width}}  {text}" for name, text in COMMANDS.items()]
    lines += ["", "GLOBAL OPTIONS:", *_option_lines(GLOBAL_OPTIONS), "",
              f"Run `{PROGRAM} help COMMAND` or `{PROGRAM} COMMAND --help` for a command's options."]
    return "\n".join(lines) + "\n"


def markdown() -> str:
    """docs/cli.md: every page, from the same tables (tests/unit/test_help.py checks it is current)."""
    def table(options: "OptionTable", repeatable: "Collection[str]" = ()) -> "list[str]":
        rows = ["| Option | Default | Meaning |", "|---|---|---|"]
        for name, entry in sorted(options.items()):
            default = "" if len(entry) < 3 or entry[2] is None else f"`{entry[2]}`"
            meaning = (entry[3] if len(entry) > 3 else "").replace("|", "\\|")
            if name in repeatable:
                meaning += " (may be repeated)"
            rows.append(f"| `{_option_name(name, entry)}` | {default} | {meaning} |")
        return rows

    lines = ["# Command line reference", "",
             "<!-- Generated by `oci-runtime help --markdown > docs/cli.md` from the option tables "
             "the parser uses; do not edit (tests/unit/test_help.py checks it is current). -->", "",
             TOP_LEVEL, "", f"    {PROGRAM} [global options] COMMAND [options] [arguments...]", "",
             "Where this runtime and runc or the spec differ, docs/compatibility.md says what was "
             "chosen and why.", "", "## Global options", "",
             "Global options come before the command; they are checked for every command, first.",
             "", *table(GLOBAL_OPTIONS), ""]
    for command, summary in COMMANDS.items():
        arguments, description = PAGES[command]
        options, repeatable = options_of(command)
        also = [alias for alias, name in COMMAND_ALIASES.items() if name == command]
        lines += [f"## {command}", "", f"{summary[0].upper()}{summary[1:]}"
                  + (f" (also `{'`, `'.join(also)}`)" if also else "") + ".", "",
                  f"    {PROGRAM} {command} {arguments}".rstrip(), "", description, ""]
        if options:
            lines += [*table(options, repeatable), ""]
    return "\n".join(lines)


# -- --version ----------------------------------------------------------------------------------

def git_commit(package_dir: str | None = None) -> str | None:
    """The commit of the checkout the package runs from (read from .git, without git), or None
    for an installation outside a git checkout."""
    package_dir = package_dir or os.path.dirname(os.path.abspath(__file__))
    git = os.path.join(os.path.dirname(os.path.dirname(package_dir)), ".git")
    try:
        if os.path.isfile(git):  # a worktree: "gitdir: /main/.git/worktrees/NAME"
            with open(git) as pointer:
                git = os.path.join(os.path.dirname(git), pointer.read().split(":", 1)[1].strip())
        with open(os.path.join(git, "HEAD")) as head_file:
            head = head_file.read().strip()
        if not head.startswith("ref:"):
            return head  # a detached HEAD is the commit itself
        ref = head.split(":", 1)[1].strip()
        common = git
        if os.path.exists(os.path.join(git, "commondir")):
            with open(os.path.join(git, "commondir")) as commondir:
                common = os.path.join(git, commondir.read().strip())
        for base in (git, common):
            try:
                with open(os.path.join(base, ref)) as ref_file:
                    return ref_file.read().strip()
            except FileNotFoundError:
                pass
        with open(os.path.join(common, "packed-refs")) as packed:
            for line in packed:
                fields = line.split()
                if len(fields) == 2 and fields[1] == ref:
                    return fields[0]
    except (OSError, IndexError):
        pass
    return None


def version_text() -> str:
    """What `--version` prints, line for line as runc does (version, commit, spec, then the
    language and libseccomp versions)."""
    from oci_runtime.seccomp.filter import libseccomp_version

    lines = [f"{PROGRAM} version {__version__}"]
    commit = git_commit()
    if commit:
        lines.append(f"commit: {commit}")
    lines += [f"spec: {OCI_VERSION}", f"python: {sys.version.split()[0]}"]
    seccomp_version = libseccomp_version()
    if seccomp_version:
        lines.append(f"libseccomp: {seccomp_version}")
    return "\n".join(lines) + "\n"
