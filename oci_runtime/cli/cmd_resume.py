"""resume ID: thaw a paused container."""
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.container import Container


def run(context, argv):
    _, positionals = parse(argv, {})
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime resume CONTAINER_ID")
    Container.load(context.store, positionals[0]).resume()
