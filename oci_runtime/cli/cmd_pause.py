"""pause ID: freeze every process of the container (freezer v1 / cgroup.freeze v2)."""
from oci_runtime.cli.args import UsageError, parse

OPTIONS = {}  # no options of its own (the table the help page reads)


def run(context, argv):
    _, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime pause CONTAINER_ID")
    context.runtime.get(positionals[0]).pause()
