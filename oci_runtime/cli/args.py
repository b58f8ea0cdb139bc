"""A tiny command-line parser: argparse costs ~6 ms to import, a third of a `state` call.

A command declares its options as ``{"--bundle": ("-b", True), "--force": ("-f", False)}``
(short alias or None, whether it takes a value).  Values come as ``--opt v``, ``--opt=v``, ``-o v``;
options may stand anywhere before ``--``; repeated value options keep the last value, or all of
them when the option is listed in ``repeatable``.
"""
from oci_runtime.errors import OCIError


class UsageError(OCIError):
    pass


def parse(argv, options, repeatable=(), stop_after=None):
    """Return (values: {long name without dashes: value}, positionals).  After ``stop_after``
    positionals (`exec ID CMD...`), the rest are positionals too: the command's own flags."""
    by_alias = {}
    for long_name, (short, takes_value) in options.items():
        by_alias[long_name] = (long_name, takes_value)
        if short:
            by_alias[short] = (long_name, takes_value)
    values = {}
    positionals = []
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
                raise UsageError(f"unknown option {arg.partition('=')[0]}")
            long_name, takes_value = by_alias[name]
            key = long_name.lstrip("-").replace("-", "_")
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

