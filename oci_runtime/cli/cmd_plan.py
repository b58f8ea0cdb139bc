"""plan [create options] [--format text|json] [ID]: print what `create` would do, without doing it.

The compiled plan: every operation the container executor performs, in order, from the first
namespace to execve, each with the config.json field it comes from.  It is made by the same code
as create's (oci_runtime.container.prepare), from the same options: `plan --no-pivot ID` prints
what `create --no-pivot ID` runs.  Nothing is created (no state directory, no cgroup, no
namespace); fds the runtime would pass are shown by what they are.
"""
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.cli.cmd_create import OPTIONS as CREATE_OPTIONS, REPEATABLE, creation_options

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = dict(CREATE_OPTIONS, **{
    "--format": ("-f", "FORMAT", "text", "text (flags named) or json"),
})


def run(context: "Context", argv: "Sequence[str]") -> None:
    import sys

    values, positionals = parse(argv, OPTIONS, REPEATABLE)
    if len(positionals) > 1:
        raise UsageError("usage: oci-runtime plan [create options] [--format text|json] [ID]")
    output = values["format"]
    if output not in ("text", "json"):
        raise UsageError(f"--format: {output!r}: expected text or json")
    from oci_runtime.container.prepare import prepare
    from oci_runtime.plan.show import plan_as_json, plan_as_text

    runtime = context.runtime
    # As `run` would (attached): a terminal without --console-socket is relayed, not refused.
    prepared = prepare(context.store, positionals[0] if positionals else "plan", values["bundle"],
                       creation_options(values), systemd_cgroup=runtime.systemd_cgroup,
                       rootless=runtime.rootless, attached=True)
    plan = prepared.plan
    assert plan is not None  # prepare() raised otherwise
    sys.stdout.write(plan_as_json(plan) if output == "json" else plan_as_text(plan))
