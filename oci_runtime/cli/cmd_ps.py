"""ps [--format table|json] ID [ps options]: the processes in the container's cgroup.

json: a JSON array of their host pids (what containerd and podman read).  table: the host's
`ps` output (default `-ef`, or the options given) cut down to those pids, header kept, as runc."""
from oci_runtime.cli.args import UsageError, parse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {"--format": ("-f", "FORMAT", "table", "table or json (the host pids)")}


def run(context: "Context", argv: "Sequence[str]") -> int:
    import sys

    values, positionals = parse(argv, OPTIONS, stop_after=1)
    if not positionals:
        raise UsageError("usage: oci-runtime ps [--format table|json] CONTAINER_ID [ps options]")
    container_id, ps_options = positionals[0], positionals[1:]
    output_format = values["format"]
    if output_format not in ("table", "json"):
        raise UsageError(f"--format {output_format!r}: expected table or json")
    pids = context.runtime.get(container_id).pids()
    if output_format == "json":

        from oci_runtime.kernel import hotpath

        sys.stdout.write(hotpath.dumps(pids) + "\n")
        return 0
    sys.stdout.write(_ps_table(set(pids), ps_options or ["-ef"]))
    return 0


def _ps_table(pids: "set[int]", ps_options: "Sequence[str]") -> str:
    import subprocess

    from oci_runtime.errors import OCIError

    try:
        result = subprocess.run(["ps", *ps_options], capture_output=True, text=True)
    except OSError as exc:
        raise OCIError.from_os("running ps", exc) from exc
    if result.returncode != 0:
        raise OCIError(f"ps {' '.join(ps_options)} failed: {result.stderr.strip()}")
    lines = result.stdout.splitlines()
    if not lines:
        return ""
    header = lines[0].split()
    if "PID" not in header:
        raise OCIError(f"ps {' '.join(ps_options)}: no PID column in its output")
    pid_column = header.index("PID")
    kept = [lines[0]]
    for line in lines[1:]:
        fields = line.split(None, pid_column + 1)
        if len(fields) > pid_column and fields[pid_column].isdigit() \
                and int(fields[pid_column]) in pids:
            kept.append(line)
    return "\n".join(kept) + "\n"
