"""Validate a ``linux.seccomp`` object and turn it into numbers libseccomp and seccomp(2) take.

This is pure Python on purpose: every config error (unknown action, operator, architecture or flag,
errnoRet on an action that has none, ...) is reported the same way whether the BPF program then comes
from libseccomp or from the cache.  Only syscall *names* are left unresolved, because their numbers
depend on libseccomp's tables.
"""

from oci_runtime.errors import ConfigError, OCIError
from oci_runtime.seccomp import constants as C

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, TypeVar

    T = TypeVar("T")


class Condition:
    """One ``struct scmp_arg_cmp``: argument ``index`` compared with ``operator`` against the data."""

    __slots__ = ("index", "operator", "value", "value_two")

    def __init__(self, index: int, operator: int, value: int, value_two: int) -> None:
        self.index = index
        self.operator = operator
        # For SCMP_CMP_MASKED_EQ ``value`` is the mask and ``value_two`` the expected masked value,
        # which is exactly libseccomp's (datum_a, datum_b) order; runc passes them through the same way.
        self.value = value
        self.value_two = value_two


class Rule:
    """The rules one ``syscalls[]`` entry turns into.

    Each tuple in ``condition_sets`` becomes one seccomp_rule_add_array() call per syscall name.
    Conditions inside a set are ANDed; separate sets (rules) for the same syscall are ORed by
    libseccomp.  An unconditional rule is a single empty set.
    """

    __slots__ = ("pointer", "names", "action", "condition_sets")

    def __init__(self, pointer: str, names: "tuple[str, ...]", action: int,
                 condition_sets: "tuple[tuple[Condition, ...], ...]") -> None:
        self.pointer = pointer  # JSON pointer of the entry below /linux/seccomp, for messages
        self.names = names
        self.action = action
        self.condition_sets = condition_sets


class Profile:
    """A validated profile.  (Plain classes, not dataclasses: those import inspect and re.)"""

    __slots__ = ("default_action", "architectures", "flags", "flag_names", "rules", "uses_notify",
                 "listener_path", "listener_metadata")
    default_action: int
    architectures: "tuple[str, ...]"
    flags: int
    flag_names: "tuple[str, ...]"
    rules: "tuple[Rule, ...]"
    uses_notify: bool
    listener_path: str | None
    listener_metadata: str

    def __init__(self, **fields: object) -> None:
        for name in self.__slots__:
            setattr(self, name, fields.pop(name))
        if fields:
            raise TypeError(f"unexpected Profile fields {sorted(fields)}")


def _fail(pointer: str, message: str) -> ConfigError:
    return ConfigError(f"config.json: {C.CONFIG_POINTER}{pointer}: {message}")


def _require_type(value: object, expected_type: "type[T]", pointer: str, description: str) -> "T":
    # bool is a subclass of int; JSON true must not pass for an integer.
    if not isinstance(value, expected_type) or (expected_type is int and isinstance(value, bool)):
        raise _fail(pointer, f"must be {description}, got {value!r}")
    return value


def _require_uint(value: object, pointer: str, maximum: int) -> int:
    number = _require_type(value, int, pointer, "an unsigned integer")
    if not 0 <= number <= maximum:
        raise _fail(pointer, f"{number} is out of range 0..{maximum}")
    return number


def _action(name: "Any", errno_ret: "Any", action_pointer: str, errno_pointer: str) -> int:
    """Return the SCMP_ACT_* value for ``name`` with ``errno_ret`` folded in where the action takes one."""
    _require_type(name, str, action_pointer, "a string")
    base = C.ACTION_VALUES.get(name)
    if base is None:
        raise _fail(action_pointer, f'unknown action "{name}"')
    if name not in C.ACTIONS_WITH_ERRNO:
        if errno_ret is not None:
            # runtime-spec: "When the action doesn't support an errno, the runtime MUST print an
            # error and fail."
            raise _fail(errno_pointer, f'action "{name}" does not take an errno return code')
        return base
    code = C.EPERM if errno_ret is None else _require_uint(errno_ret, errno_pointer, C.MAX_ACTION_ERRNO)
    return base | code


def _condition(arg: "Any", pointer: str) -> Condition:
    _require_type(arg, dict, pointer, "an object")
    for required in ("index", "value", "op"):
        if required not in arg:
            raise _fail(pointer, f'missing required field "{required}"')
    index = _require_uint(arg["index"], f"{pointer}/index", C.SYSCALL_MAX_ARGUMENTS - 1)
    value = _require_uint(arg["value"], f"{pointer}/value", C.UINT64_MAX)
    value_two = _require_uint(arg.get("valueTwo", 0), f"{pointer}/valueTwo", C.UINT64_MAX)
    op_name = _require_type(arg["op"], str, f"{pointer}/op", "a string")
    operator = C.OPERATOR_VALUES.get(op_name)
    if operator is None:
        raise _fail(f"{pointer}/op", f'unknown operator "{op_name}"')
    return Condition(index, operator, value, value_two)


def _condition_sets(conditions: "Sequence[Condition]") -> "tuple[tuple[Condition, ...], ...]":
    """Group an entry's conditions into rules the way runc does.

    When any argument index repeats, runc adds one rule per condition, so the conditions are ORed:
    that is the historical meaning profiles rely on (e.g. "arg0 == A" and "arg0 == B" listed in one
    entry means either value), and ANDing two equalities on the same argument could never match.
    Otherwise all conditions form one rule and are ANDed.
    """
    if not conditions:
        return ((),)
    indexes = [condition.index for condition in conditions]
    if len(set(indexes)) != len(indexes):
        return tuple((condition,) for condition in conditions)
    return (tuple(conditions),)


def _rule(entry: "Any", pointer: str) -> Rule:
    _require_type(entry, dict, pointer, "an object")
    names = entry.get("names")
    if not isinstance(names, list) or not names:
        # runtime-spec: "names MUST contain at least one entry".
        raise _fail(f"{pointer}/names", "must be a non-empty array of syscall names")
    for position, name in enumerate(names):
        _require_type(name, str, f"{pointer}/names/{position}", "a string")
        if not name:
            raise _fail(f"{pointer}/names/{position}", "empty syscall name")
    if "action" not in entry:
        raise _fail(pointer, 'missing required field "action"')
    action = _action(entry["action"], entry.get("errnoRet"), f"{pointer}/action", f"{pointer}/errnoRet")
    args = entry.get("args") or []
    _require_type(args, list, f"{pointer}/args", "an array")
    conditions = [_condition(arg, f"{pointer}/args/{position}") for position, arg in enumerate(args)]
    return Rule(pointer, tuple(names), action, _condition_sets(conditions))


def parse_profile(seccomp: "Any") -> Profile:
    """Validate ``seccomp`` (the raw ``linux.seccomp`` dict) and return a :class:`Profile`."""
    _require_type(seccomp, dict, "", "an object")
    if "defaultAction" not in seccomp:
        raise _fail("", 'missing required field "defaultAction"')
    default_name = seccomp["defaultAction"]
    default_action = _action(default_name, seccomp.get("defaultErrnoRet"), "/defaultAction", "/defaultErrnoRet")
    if default_name == "SCMP_ACT_NOTIFY":
        # Same reason as the write restriction below: the runtime itself would block on its own agent.
        raise _fail("/defaultAction", "SCMP_ACT_NOTIFY cannot be used as the default action")

    architectures = seccomp.get("architectures") or []
    _require_type(architectures, list, "/architectures", "an array")
    for position, arch in enumerate(architectures):
        _require_type(arch, str, f"/architectures/{position}", "a string")
        if arch not in C.ARCHITECTURE_LIBSECCOMP_NAMES:
            raise _fail(f"/architectures/{position}", f'unknown architecture "{arch}"')

    flag_names = seccomp.get("flags") or []
    _require_type(flag_names, list, "/flags", "an array")
    flags = 0
    for position, flag in enumerate(flag_names):
        _require_type(flag, str, f"/flags/{position}", "a string")
        if flag not in C.FLAG_VALUES:
            raise _fail(f"/flags/{position}", f'unknown flag "{flag}"')
        flags |= C.FLAG_VALUES[flag]

    entries = seccomp.get("syscalls") or []
    _require_type(entries, list, "/syscalls", "an array")
    rules = tuple(_rule(entry, f"/syscalls/{position}") for position, entry in enumerate(entries))

    uses_notify = False
    for rule in rules:
        if rule.action != C.SCMP_ACT_NOTIFY:
            continue
        uses_notify = True
        if "write" in rule.names:
            # runc's rule: its init writes the listener fd number to its parent after loading the
            # filter, and a write routed to the agent would never deliver it.  Our executor sends
            # the fd with sendmsg, but a profile runc refuses is refused here too.
            raise _fail(f"{rule.pointer}/names", "SCMP_ACT_NOTIFY cannot be used for the write syscall")

    listener_path = seccomp.get("listenerPath")
    listener_metadata = seccomp.get("listenerMetadata", "")
    if listener_path is not None:
        _require_type(listener_path, str, "/listenerPath", "a string")
        if not listener_path:
            listener_path = None
    _require_type(listener_metadata, str, "/listenerMetadata", "a string")
    if listener_metadata and listener_path is None:
        raise _fail("/listenerMetadata", "must not be set without listenerPath")
    if uses_notify and listener_path is None:
        # Without an agent the notified syscalls would block forever (or fail with ENOSYS if the
        # listener fd is closed), which is never what the profile author meant.
        raise _fail("/listenerPath", "is required when SCMP_ACT_NOTIFY is used")

    return Profile(
        default_action=default_action,
        architectures=tuple(architectures),
        flags=flags,
        flag_names=tuple(flag_names),
        rules=rules,
        uses_notify=uses_notify,
        listener_path=listener_path,
        listener_metadata=listener_metadata,
    )
