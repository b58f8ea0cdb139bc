"""state ID: the container's state as JSON (runtime.md "Query State")."""
import sys

from oci_runtime.cli.args import UsageError, parse
from oci_runtime.kernel.hotpath import dumps

OPTIONS = {}  # no options of its own (the table the help page reads)


def run(context, argv):
    _, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime state CONTAINER_ID")
    sys.stdout.write(pretty(context.runtime.get(positionals[0]).state()) + "\n")


def pretty(state):
    """Indented like runc's output (one key per line), from the compact encoder."""
    lines = ["{"]
    items = list(state.items())
    for index, (key, value) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        lines.append(f"  {dumps(key)}: {dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines)
