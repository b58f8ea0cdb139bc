"""create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring]
[--preserve-fds N] [--network NAME]... [--cni-conf-dir DIR] [--cni-bin-dir DIRS] ID: set up a
container whose init waits for `start`."""
from oci_runtime.cli.args import UsageError, parse

OPTIONS = {
    "--bundle": ("-b", True),
    "--pid-file": (None, True),
    "--console-socket": (None, True),
    "--no-pivot": (None, False),
    "--no-new-keyring": (None, False),
    "--preserve-fds": (None, True),
    # CNI networks (oci_runtime/network): --network is repeatable, one interface (eth0, ...) each.
    "--network": (None, True),
    "--cni-conf-dir": (None, True),
    "--cni-bin-dir": (None, True),
}
REPEATABLE = ("--network",)


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
        "network_options": _network_options(values),
    }


def _network_options(values):
    if not any(k in values for k in ("network", "cni_conf_dir", "cni_bin_dir")):
        return None
    return {"networks": values.get("network") or [], "cni_conf_dir": values.get("cni_conf_dir"),
            "cni_bin_dir": values.get("cni_bin_dir")}


def run(context, argv):
    from oci_runtime.container import create

    values, positionals = parse(argv, OPTIONS, REPEATABLE)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime create [--bundle DIR] CONTAINER_ID")
    container = create(context.store, positionals[0], values.get("bundle", "."),
                       systemd_cgroup=context.systemd_cgroup, warn=context.warn,
                       debug=context.debugger,
                       **creation_options(values))
    for warning in getattr(container, "warnings", ()):
        context.debug_log(warning)
