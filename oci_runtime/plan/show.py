"""`oci-runtime plan`: a compiled plan printed as text (one line a step, flags named) or JSON."""
from oci_runtime.plan.model import FdArg
from oci_runtime.executor.wire import MNT_BITS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any

    from oci_runtime.plan.model import Plan, Step


def _argument(value: object) -> str:
    if isinstance(value, FdArg):
        return f"fd<{value.label}>"
    return str(value)


def _string(value: str | bytes) -> str:
    if isinstance(value, bytes):
        if b"\0" in value.rstrip(b"\0") or len(value) > 200:
            text = value.decode(errors="replace").replace("\0", " ").strip()
            if len(text) > 200 or not text.isprintable():
                return f"<{len(value)} bytes>"
            return repr(text)
        value = value.decode(errors="replace")
    return repr(value)


def step_record(index: int, step: "Step") -> "dict[str, Any]":
    return {
        "index": index,
        "op": step.op.name,
        "pointer": step.pointer,
        "what": step.what,
        "ints": [_argument(value) if isinstance(value, FdArg) else value for value in step.ints],
        "strings": [_string(value) for value in step.strings],
    }


def _flag_names(value: int, table: "list[tuple[str, int]]") -> str:
    names = [name for name, bit in table if value & bit == bit and bit]
    rest = value & ~sum(bit for _, bit in table if value & bit == bit)
    return "|".join(names + ([hex(rest)] if rest else [])) or "0"


def _tables() -> "dict[str, list[tuple[str, int]]]":

    from oci_runtime.kernel import constants as k
    from oci_runtime.process.capabilities import CAPABILITY_NUMBERS

    namespaces = [(name, getattr(k, name)) for name in dir(k) if name.startswith("CLONE_NEW")]
    mount = [(name, getattr(k, name)) for name in dir(k) if name.startswith("MS_")]
    capabilities = [(name, 1 << number) for name, number in CAPABILITY_NUMBERS.items()]
    mnt = [(name, 1 << bit) for bit, (name, _) in enumerate(MNT_BITS)]
    return {"ns": namespaces, "ms": mount, "cap": capabilities, "mnt": mnt}


def _shown_ints(step: "Step", tables: "dict[str, list[tuple[str, int]]]") -> "list[str]":
    """The integer arguments as their kinds (executor/wire.py) read: flags by name, modes in
    octal, other numbers as they are; zero and -1 left out."""
    kinds = [kind for _, kind in step.op.ints]
    shown: "list[str]" = []
    for position, value in enumerate(step.ints):
        kind = kinds[position] if position < len(kinds) else "int"
        if isinstance(value, FdArg):
            shown.append(_argument(value))
        elif kind in tables:
            value = value & 0xFFFFFFFFFFFFFFFF
            shown.append(_flag_names(value, tables[kind]) if value else "-")
        elif kind in ("mode", "perm"):
            shown.append(oct(value))
        elif value not in (0, -1):
            shown.append(str(value))
    while shown and shown[-1] == "-":
        shown.pop()
    return shown


def plan_as_text(plan: "Plan") -> str:
    lines = []
    tables = _tables()
    for index, step in enumerate(plan.steps):
        arguments = _shown_ints(step, tables)
        arguments += [_string(value) for value in step.strings if value not in ("", b"")]
        where = f"  [{step.pointer}]" if step.pointer else ""
        lines.append(f"{index:3d}  {step.op.name:<15} "
                     f"{' '.join(arguments)}{where}")
    return "\n".join(lines) + "\n"


def plan_as_json(plan: "Plan") -> str:
    import json

    return json.dumps({"kind": plan.kind,
                       "steps": [step_record(i, s) for i, s in enumerate(plan.steps)]},
                      indent=2) + "\n"
