"""A tiny command-line parser: argparse costs ~6 ms to import, a third of a `state` call.

A command declares its options in one table, which both this parser and the help pages
(cli/help.py, docs/cli.md) read::

    OPTIONS = {
        "--bundle": ("-b", "DIR", ".", "path to the bundle directory"),
        "--force": ("-f", None, None, "delete the container even if it is running"),
    }

Each entry is (short alias or None, the value's name or None for a flag, the default or None,
one line of help).  The parser reads the first three (a value name means the option takes a
value; a default is filled in when the option is not given); only the help page reads the help.
Values come as ``--opt v``, ``--opt=v``, ``-o v``; options may stand anywhere before ``--``;
repeated value options keep the last value, or all of them when the option is listed in
``repeatable``.  ``--help``/``-h``, when the table does not define them, raise HelpRequested.
"""
from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence
    from typing import Any, TypeAlias

    # long name -> (short alias, the value's name or None for a flag, default, help)
    OptionTable: TypeAlias = "Mapping[str, tuple[str | None, str | None, str | None, str]]"


class UsageError(OCIError):
    pass


class HelpRequested(Exception):
    """--help or -h was given: the caller prints the command's help page instead of running it."""


def parse(argv: "Sequence[str]", options: "OptionTable", repeatable: "Collection[str]" = (),
          stop_after: int | None = None) -> "tuple[dict[str, Any], list[str]]":
    """Return (values: {long name without dashes: value}, positionals).  After ``stop_after``
    positionals (`exec ID CMD...`), the rest are positionals too: the command's own flags."""
    by_alias: "dict[str, tuple[str, str | None]]" = {}
    values: "dict[str, Any]" = {}
    for long_name, entry in options.items():
        by_alias[long_name] = (long_name, entry[1])
        if entry[0]:
            by_alias[entry[0]] = (long_name, entry[1])
        if len(entry) > 2 and entry[2] is not None:
            values[long_name[2:].replace("-", "_")] = entry[2]
    positionals: "list[str]" = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--":
            positionals.extend(argv[index:])
            break
        if stop_after is not None and len(positionals) >= stop_after:
            positionals.append(arg)
            positionals.extend(argv[index:])
            break
        if arg.startswith("-") and len(arg) > 1:
            name, sep, inline = arg.partition("=")
            if name not in by_alias and name.startswith("-") and not name.startswith("--"):
                name = "-" + name  # runc's CLI library accepts -bundle like --bundle
            if name not in by_alias:
                if name in ("--help", "--h"):
                    raise HelpRequested()
                raise UsageError(f"unknown option {arg.partition('=')[0]}")
            long_name, takes_value = by_alias[name]
            key = long_name[2:].replace("-", "_")
            if takes_value:
                if sep:
                    value = inline
                elif index < len(argv):
                    value = argv[index]
                    index += 1
                else:
                    raise UsageError(f"option {long_name} needs a value")
                if long_name in repeatable:
                    values.setdefault(key, []).append(value)
                else:
                    values[key] = value
            else:
                values[key] = inline.lower() not in ("false", "0") if sep else True
        else:
            positionals.append(arg)
    return values, positionals
