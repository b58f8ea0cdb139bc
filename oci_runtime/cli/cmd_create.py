"""create [--bundle DIR] [--pid-file F] [--console-socket S] [--pidfd-socket S] [--no-pivot]
[--no-new-keyring] [--preserve-fds N] [--no-subreaper] [--network NAME]... [--cni-conf-dir DIR]
[--cni-bin-dir DIRS] ID: set up a container whose init waits for `start`."""
from oci_runtime.cli.args import UsageError, parse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable
    from oci_runtime.plan.options import CreateOptions

OPTIONS: "OptionTable" = {
    "--bundle": ("-b", "DIR", ".", "the bundle directory (config.json and the rootfs)"),
    "--pid-file": (None, "FILE", None, "write the container's init pid to FILE"),
    "--console-socket": (None, "SOCKET", None, "path of an AF_UNIX socket that receives the "
                         "master end of the console (needs process.terminal)"),
    "--no-pivot": (None, None, None, "do not use pivot_root to enter the rootfs (for a rootfs "
                   "on a ramdisk)"),
    "--no-new-keyring": (None, None, None, "do not create a new session keyring: the container "
                         "keeps the caller's"),
    "--preserve-fds": (None, "N", "0", "pass N more fds (3 to 3+N-1) to the container's process"),
    "--pidfd-socket": (None, "SOCKET", None, "path of an AF_UNIX socket that receives a pidfd "
                       "of the container's init (data \"standard\", as runc)"),
    "--no-subreaper": (None, None, None, "run: do not reap the container's processes orphaned "
                       "to the runtime while it waits (create never needs to)"),
    # CNI networks (oci_runtime/network): --network is repeatable, one interface (eth0, ...) each.
    "--network": (None, "NAME", None, "attach the container to CNI network NAME (eth0, eth1... "
                  "in order; see docs/networking.md)"),
    "--cni-conf-dir": (None, "DIR", None, "where CNI network configurations are (default: the "
                       "org.oci-runtime.cni.conf-dir annotation, else /etc/cni/net.d)"),
    "--cni-bin-dir": (None, "DIRS", None, "':'-separated CNI plugin directories (default: the "
                      "org.oci-runtime.cni.bin-dir annotation, else /usr/lib/cni:/opt/cni/bin)"),
}
REPEATABLE = ("--network",)


def creation_options(values: "dict[str, Any]") -> "CreateOptions":
    """The CreateOptions of the values parsed from OPTIONS (their keys are its fields' names;
    --network, repeatable, gives ``networks``)."""
    from oci_runtime.plan.options import CreateOptions

    preserve = values["preserve_fds"]
    if not preserve.isdigit():
        raise UsageError(f"--preserve-fds: not a number: {preserve!r}")
    fields = {name: values[name] for name in CreateOptions.__slots__ if name in values}
    # runc's default: an attached `run` reaps what is orphaned to it; --no-subreaper says not to.
    fields.update(preserve_fds=int(preserve), networks=values.get("network"),
                  subreaper=not values.get("no_subreaper", False))
    return CreateOptions(**fields)


def run(context: "Context", argv: "Sequence[str]") -> None:
    values, positionals = parse(argv, OPTIONS, REPEATABLE)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime create [--bundle DIR] CONTAINER_ID")
    context.runtime.create(positionals[0], values["bundle"], creation_options(values))
