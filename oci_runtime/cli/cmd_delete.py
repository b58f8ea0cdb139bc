"""delete [--force] ID: remove a stopped container and everything create made."""
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.container import Container
from oci_runtime.errors import ContainerNotFound, DamagedState

OPTIONS = {"--force": ("-f", None, None, "delete a container that is not stopped too (after "
                               "SIGKILL); a missing container is not an error")}


def run(context, argv):
    values, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime delete [--force] CONTAINER_ID")
    force = values.get("force", False)
    container_id = positionals[0]
    try:
        try:
            container = Container.load(context.store, container_id)
        except DamagedState as damage:
            # delete() reads the state again under the lock, and refuses without --force.
            container = Container.load_damaged(context.store, container_id, damage)
        container.delete(force=force, warn=context.warn)
    except ContainerNotFound:
        if force:
            return 0  # runc: deleting a missing container (or one deleted meanwhile) succeeds
        raise
