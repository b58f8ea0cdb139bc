"""start ID: run the user program of a created container (runtime.md "Start")."""
from oci_runtime.cli.args import UsageError, parse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {}  # no options of its own (the table the help page reads)


def run(context: "Context", argv: "Sequence[str]") -> None:
    _, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime start CONTAINER_ID")
    context.runtime.get(positionals[0]).start()
