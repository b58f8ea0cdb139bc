"""plan [--bundle DIR] [--format text|json] [ID]: print what `create` would do, without doing it.

The compiled plan: every operation the container executor performs, in order, from the first
namespace to execve, each with the config.json field it comes from.  Nothing is created (no
state directory, no cgroup, no namespace); fds the runtime would pass are shown by what they are.
"""
from oci_runtime.cli.args import UsageError, parse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {
    "--bundle": ("-b", "DIR", ".", "the bundle directory (config.json and the rootfs)"),
    "--format": ("-f", "FORMAT", "text", "text (flags named) or json"),
}


def run(context: "Context", argv: "Sequence[str]") -> None:
    import sys

    values, positionals = parse(argv, OPTIONS)
    if len(positionals) > 1:
        raise UsageError("usage: oci-runtime plan [--bundle DIR] [--format text|json] [ID]")
    output = values["format"]
    if output not in ("text", "json"):
        raise UsageError(f"--format: {output!r}: expected text or json")
    from oci_runtime.container.create import bundle_plan
    from oci_runtime.plan.show import plan_as_json, plan_as_text

    plan = bundle_plan(context.store, values["bundle"],
                       positionals[0] if positionals else "plan")
    sys.stdout.write(plan_as_json(plan) if output == "json" else plan_as_text(plan))
