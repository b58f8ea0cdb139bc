"""help [COMMAND] | --markdown: a command's help page, the list of commands, or docs/cli.md."""
import sys

from oci_runtime.cli.args import (
    COMMAND_ALIASES, COMMANDS, EXIT_UNKNOWN_COMMAND, CommandFailed, UsageError, parse,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {
    "--markdown": (None, None, None, "print every help page as Markdown (docs/cli.md)"),
}


def run(context: "Context", argv: "Sequence[str]") -> int:
    from oci_runtime.cli.help import command_page, markdown, top_level_page

    values, positionals = parse(argv, OPTIONS)
    if values.get("markdown"):
        if positionals:
            raise UsageError("usage: oci-runtime help --markdown (no command)")
        sys.stdout.write(markdown())
        return 0
    if len(positionals) > 1:
        raise UsageError("usage: oci-runtime help [COMMAND]")
    command = COMMAND_ALIASES.get(positionals[0], positionals[0]) if positionals else None
    if command is not None and command not in COMMANDS:
        raise CommandFailed(f"help: unknown command {command!r} (see oci-runtime help)",
                            EXIT_UNKNOWN_COMMAND)
    sys.stdout.write(command_page(command) if command else top_level_page())
    return 0
