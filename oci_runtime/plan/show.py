"""`oci-runtime plan`: a compiled plan printed as text (one line a step) or JSON.

Every argument is read through the op table (executor/wire.py OPS: each slot's name and kind,
the one definition the executor is built from) and shown by its kind: flags and numbers by their
names (CLONE_NEWPID, MS_RDONLY, CAP_KILL, RLIMIT_NOFILE, S_IFCHR|0666), a device as 1:3, argv
and env as lists, fds by what they are.  The text leaves out what says nothing (an unset fd,
zero flags, a count its list already shows); the JSON has every argument, its raw value beside
its reading.
"""
from oci_runtime.executor.wire import MNT_BITS
from oci_runtime.plan.model import FdArg

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    from oci_runtime.plan.model import Plan, Step

    # name, kind, raw value (JSON-able), reading (None: nothing to show in the text)
    Argument: TypeAlias = "tuple[str, str, Any, str | None]"

_U64 = (1 << 64) - 1
_FLAG_KINDS = ("ns", "ms", "attr", "cap", "mnt", "seccomp")
# Slots whose kind in the op table is a plain number but whose bits have names.
_NAMED_BITS = {("seccomp", "flags"): "seccomp"}


def _flag_tables() -> "dict[str, list[tuple[str, int]]]":
    """Flag kind -> [(name, bit)]: the kernel's constants by name, capabilities and the
    executor's MNT_* bits by number."""
    from oci_runtime.kernel import constants as k
    from oci_runtime.process.capabilities import CAPABILITY_NUMBERS

    def constants(prefix: str) -> "list[tuple[str, int]]":
        return [(name, value) for name, value in sorted(vars(k).items())
                if name.startswith(prefix) and "__" not in name and isinstance(value, int)
                and value and value & (value - 1) == 0]

    from oci_runtime.seccomp.constants import FLAG_NAMES as SECCOMP_FLAGS

    return {"ns": constants("CLONE_NEW"), "ms": constants("MS_"),
            "attr": constants("MOUNT_ATTR_"),
            "seccomp": sorted((name, bit) for bit, name in SECCOMP_FLAGS.items()),
            "cap": [(name, 1 << number) for name, number in CAPABILITY_NUMBERS.items()],
            "mnt": [(name, 1 << bit) for bit, (name, _) in enumerate(MNT_BITS)]}


def _flag_names(value: int, table: "list[tuple[str, int]]") -> str:
    names = [name for name, bit in table if value & bit]
    rest = value & ~sum(bit for name, bit in table if value & bit)
    return "|".join(names + ([hex(rest)] if rest else []))


def _mode(value: int) -> str:
    import stat

    kind = stat.S_IFMT(value)
    names = {stat.S_IFCHR: "S_IFCHR", stat.S_IFBLK: "S_IFBLK", stat.S_IFIFO: "S_IFIFO",
             stat.S_IFREG: "S_IFREG", stat.S_IFDIR: "S_IFDIR", stat.S_IFSOCK: "S_IFSOCK",
             stat.S_IFLNK: "S_IFLNK"}
    permissions = f"{stat.S_IMODE(value):04o}"
    return f"{names.get(kind, oct(kind))}|{permissions}" if kind else permissions


def _cpus(mask: bytes) -> str:
    """A cpu_set_t as a CPU list ("0-3,6")."""
    cpus = [bit for bit in range(len(mask) * 8) if mask[bit // 8] >> (bit % 8) & 1]
    ranges: "list[list[int]]" = []
    for cpu in cpus:
        if ranges and ranges[-1][1] == cpu - 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def _quoted(text: str) -> str:
    """A path or text as it reads best: bare when nothing in it could be misread."""
    import json

    safe = text and all(c.isalnum() or c in "/._-+,:@%" for c in text)
    return text if safe else json.dumps(text)


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _vector(value: str | bytes, count: int) -> "list[str]":
    items = _text(value).split("\0")
    return items[:count] if count > 0 else []


def _int_argument(name: str, kind: str, value: "int | FdArg", tables: "dict[str, Any]",
                  shown_by_a_list: bool) -> "Argument":
    if isinstance(value, FdArg):
        return name, kind, f"fd<{value.label}>", f"fd<{value.label}>"
    if kind in _FLAG_KINDS:
        bits = value & _U64
        if not bits:
            return name, kind, value, "none" if kind == "cap" else None
        return name, kind, value, _flag_names(bits, tables[kind])
    if kind in ("fd", "id_or_keep", "count_or_inherit") and value == -1:
        return name, kind, value, None
    if kind == "count" and (shown_by_a_list or value == 0):
        return name, kind, value, None
    if kind in ("seconds", "size") and value == 0:
        return name, kind, value, None
    if kind == "bool":
        return name, kind, value, name if value else None
    if kind == "mode":
        return name, kind, value, _mode(value)
    if kind == "perm":
        return name, kind, value, f"{value:04o}"
    if kind == "rlimit":
        return name, kind, value, tables["rlimit"].get(value, str(value))
    if kind == "state":
        return name, kind, value, ("creating", "created")[value] if value in (0, 1) else str(value)
    if kind == "seconds":
        return name, kind, value, f"{value}s"
    if kind == "u64":
        unsigned = value & _U64
        return name, kind, unsigned, "unlimited" if unsigned == _U64 else str(unsigned)
    return name, kind, value, str(value)


def _string_argument(name: str, kind: str, value: str | bytes,
                     counts: "dict[str, int]") -> "Argument":
    import json

    base, _, count_slot = kind.partition("/")
    if base == "empty":
        return name, kind, "", None
    if base in ("vector", "vector?"):
        count = counts.get(count_slot, 0)
        if count < 0:  # vector?: none at all (the runtime's environment)
            return name, kind, None, None
        items = _vector(value, count)
        return name, kind, items, json.dumps(items)
    if base == "u32s":
        data = value.encode() if isinstance(value, str) else value
        numbers = [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]
        return name, kind, numbers, json.dumps(numbers) if numbers else None
    if base == "bpf":
        import hashlib

        data = value.encode() if isinstance(value, str) else value
        return (name, kind, {"instructions": len(data) // 8,
                             "sha256": hashlib.sha256(data).hexdigest()},
                f"<{len(data) // 8} instructions>")
    if base == "bytes":
        data = value.encode() if isinstance(value, str) else value
        return name, kind, data.hex(), f"cpus {_cpus(data)}" if name == "mask" else data.hex()
    text = _text(value)
    return name, kind, text, _quoted(text) if text else None


def arguments(step: "Step", tables: "dict[str, Any] | None" = None) -> "list[Argument]":
    """(name, kind, raw value, reading) of each argument of ``step``, in the op's order."""
    tables = tables if tables is not None else _tables()
    op = step.op
    counts = {name: value for (name, kind), value in zip(op.ints, step.ints)
              if isinstance(value, int)}
    counted = {kind.partition("/")[2] for _, kind in op.strings if "/" in kind}
    shown: "list[Argument]" = []
    for (name, kind), value in zip(op.ints, step.ints):
        reading_kind = _NAMED_BITS.get((op.name, name), kind)
        _, _, raw, reading = _int_argument(name, reading_kind, value, tables, name in counted)
        shown.append((name, kind, raw, reading))
    shown += [_string_argument(name, kind, value, counts)
              for (name, kind), value in zip(op.strings, step.strings)]
    return shown


def _tables() -> "dict[str, Any]":
    from oci_runtime.process.capabilities import RLIMIT_NUMBERS

    tables: "dict[str, Any]" = dict(_flag_tables())
    tables["rlimit"] = {number: name for name, number in RLIMIT_NUMBERS.items()}
    return tables


def _text_arguments(step: "Step", tables: "dict[str, Any]") -> str:
    parts: "list[str]" = []
    device: "dict[str, str]" = {}
    for name, _, _, reading in arguments(step, tables):
        if name in ("major", "minor"):  # one device number: 1:3
            device[name] = reading or "0"
            if len(device) == 2:
                parts.append(f"device={device['major']}:{device['minor']}")
            continue
        if reading is None:
            continue
        parts.append(reading if reading == name else f"{name}={reading}")
    return " ".join(parts)


def step_record(index: int, step: "Step", tables: "dict[str, Any] | None" = None
                ) -> "dict[str, Any]":
    return {
        "index": index,
        "op": step.op.name,
        "pointer": step.pointer,
        "what": step.what,
        "arguments": [{"name": name, "kind": kind, "value": value, "shown": reading}
                      for name, kind, value, reading in arguments(step, tables)],
    }


def plan_as_text(plan: "Plan") -> str:
    tables = _tables()
    lines = []
    for index, step in enumerate(plan.steps):
        line = f"{index:3d}  {step.op.name:<15}"
        shown = _text_arguments(step, tables)
        if shown:
            line += f" {shown}"
        if step.pointer:
            line += f"  [{step.pointer}]"
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def plan_as_json(plan: "Plan") -> str:
    import json

    tables = _tables()
    return json.dumps({"kind": plan.kind,
                       "steps": [step_record(i, s, tables) for i, s in enumerate(plan.steps)]},
                      indent=2) + "\n"
