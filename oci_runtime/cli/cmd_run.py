"""run [create options] [--detach] ID: create, start, and (unless detached) wait for the
container, forwarding signals; exits with the container's status (128+N if killed by signal N)."""
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.cli.cmd_create import OPTIONS as CREATE_OPTIONS, REPEATABLE, creation_options

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = dict(CREATE_OPTIONS, **{
    "--detach": ("-d", None, None, "return once the container runs instead of waiting for it"),
    "--keep": (None, None, None, "do not delete the container after it exits"),
})


def run(context: "Context", argv: "Sequence[str]") -> int:
    values, positionals = parse(argv, OPTIONS, REPEATABLE)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime run [--bundle DIR] [--detach] CONTAINER_ID")
    return context.runtime.run(positionals[0], values["bundle"], creation_options(values),
                               detach=values.get("detach", False), keep=values.get("keep", False))
