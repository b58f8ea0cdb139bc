"""delete [--force] ID: remove a stopped container and everything create made."""
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.container import Container
from oci_runtime.errors import ContainerNotFound

OPTIONS = {"--force": ("-f", None, None, "delete a container that is not stopped too (after "
                               "SIGKILL); a missing container is not an error")}


def run(context, argv):
    values, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime delete [--force] CONTAINER_ID")
    force = values.get("force", False)
    try:
        container = Container.load(context.store, positionals[0])
    except ContainerNotFound:
        if force:
            return 0  # runc: deleting a missing container with --force succeeds
        raise
    container.delete(force=force, warn=context.warn)
