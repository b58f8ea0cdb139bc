"""kill [--all] ID [SIGNAL]: signal the container (runtime.md "Kill"); default SIGTERM."""
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.kernel.signals import parse_signal

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {
    "--all": ("-a", None, None, "send the signal to every process of the container's cgroup, whatever its status"),
}


def run(context: "Context", argv: "Sequence[str]") -> None:
    values, positionals = parse(argv, OPTIONS)
    if len(positionals) not in (1, 2):
        raise UsageError("usage: oci-runtime kill [--all] CONTAINER_ID [SIGNAL]")
    signal_number = parse_signal(positionals[1] if len(positionals) == 2 else "TERM")
    context.runtime.get(positionals[0]).kill(signal_number, values.get("all", False))
