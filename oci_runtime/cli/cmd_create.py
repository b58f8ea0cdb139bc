"""create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring]
[--preserve-fds N] ID: set up a container whose init waits for `start`."""
from oci_runtime.cli.args import UsageError, parse

OPTIONS = {
    "--bundle": ("-b", True),
    "--pid-file": (None, True),
    "--console-socket": (None, True),
    "--no-pivot": (None, False),
    "--no-new-keyring": (None, False),
    "--preserve-fds": (None, True),
}


def creation_options(values):
    preserve = values.get("preserve_fds", "0")
    if not preserve.isdigit():
        raise UsageError(f"--preserve-fds: not a number: {preserve!r}")
    return {
        "pid_file": values.get("pid_file"),
        "console_socket": values.get("console_socket"),
        "no_pivot": values.get("no_pivot", False),
        "no_new_keyring": values.get("no_new_keyring", False),
        "preserve_fds": int(preserve),
    }


def run(context, argv):
    from oci_runtime.container import create

    values, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime create [--bundle DIR] CONTAINER_ID")
    container = create(context.store, positionals[0], values.get("bundle", "."),
                       systemd_cgroup=context.systemd_cgroup, warn=context.warn,
                       debug=context.debugger,
                       **creation_options(values))
    for warning in getattr(container, "warnings", ()):
        context.debug_log(warning)
