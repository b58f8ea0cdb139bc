"""pause ID: freeze every process of the container (freezer v1 / cgroup.freeze v2)."""
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.container import Container


def run(context, argv):
    _, positionals = parse(argv, {})
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime pause CONTAINER_ID")
    Container.load(context.store, positionals[0]).pause()
