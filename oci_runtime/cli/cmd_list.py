"""list [--format table|json] [-q]: the containers under the root."""
import sys

from oci_runtime.cli.args import UsageError, parse
from oci_runtime.kernel.hotpath import dumps

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {
    "--format": ("-f", "FORMAT", "table", "table or json"),
    "--quiet": ("-q", None, None, "print the container ids only"),
}


def run(context: "Context", argv: "Sequence[str]") -> None:
    values, positionals = parse(argv, OPTIONS)
    if positionals:
        raise UsageError("usage: oci-runtime list [--format table|json] [-q]")
    containers = context.runtime.list()
    for container in containers:
        if container.damage is not None:
            context.warn(f"{container.damage}; listed as unknown")
    if values.get("quiet"):
        sys.stdout.write("".join(c.id + "\n" for c in containers))
        return
    states = [dict(c.state(), owner=_owner(context.store.container_dir(c.id)))
              for c in containers]
    output_format = values["format"]
    if output_format == "json":
        sys.stdout.write(dumps(states) + "\n")
    elif output_format == "table":
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"])
                 for s in states]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            sys.stdout.write("   ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n")
    else:
        raise UsageError(f"--format: unknown format {output_format!r} (table or json)")


def _owner(path: str) -> str:
    """runc's OWNER: the name of the user owning the container's state directory ("#UID" when
    the uid has no name)."""
    import pwd

    from oci_runtime.kernel import hotpath

    try:
        uid = hotpath.stat(path).st_uid
    except OSError:
        return ""  # deleted meanwhile
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"
