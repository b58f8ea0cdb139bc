"""state ID: the container's state as JSON (runtime.md "Query State")."""
import sys

from oci_runtime.cli.args import UsageError, parse
from oci_runtime.kernel.hotpath import dumps

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {}  # no options of its own (the table the help page reads)


def run(context: "Context", argv: "Sequence[str]") -> None:
    _, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime state CONTAINER_ID")
    sys.stdout.write(pretty(context.runtime.get(positionals[0]).state()) + "\n")


def pretty(state: "dict[str, Any]") -> str:
    """Indented like runc's output (one key per line), from the compact encoder."""
    lines = ["{"]
    items = list(state.items())
    for index, (key, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        lines.append(f"  {dumps(key)}: {dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines)
