"""delete [--force] ID: remove a stopped container and everything create made."""
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.errors import ContainerNotFound

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {
    "--force": ("-f", None, None, "delete a container that is not stopped too (after "
                                  "SIGKILL); a missing container is not an error"),
}


def run(context: "Context", argv: "Sequence[str]") -> int | None:
    values, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime delete [--force] CONTAINER_ID")
    force = values.get("force", False)
    container_id = positionals[0]
    try:
        # The state is read once, under the container's lock; a damaged state.json still lets
        # --force kill by what was recorded, and is refused without it.
        context.runtime.delete(container_id, force=force)
    except ContainerNotFound:
        if force:
            return 0  # runc: deleting a missing container (or one deleted meanwhile) succeeds
        raise
    return None
