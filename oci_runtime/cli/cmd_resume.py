"""resume ID: thaw a paused container."""
from oci_runtime.cli.args import UsageError, parse

OPTIONS = {}  # no options of its own (the table the help page reads)


def run(context, argv):
    _, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime resume CONTAINER_ID")
    context.runtime.get(positionals[0]).resume()
