"""Steps of a plan: what the executor does, where in config.json it comes from, and how a failure
of it reads.  Pure data: building a plan opens nothing and changes nothing."""
from oci_runtime.errors import OCIError
from oci_runtime.kernel import hotpath

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import TypeAlias

    from oci_runtime.executor.wire import Op

    # An integer argument of a step: a number, or an fd placed at launch.
    StepInt: TypeAlias = "int | FdArg"
    # describe(step, errno, detail) -> the error to raise
    Describe: TypeAlias = "Callable[[Step, int, str], OCIError]"


class FdArg:
    """An fd the runtime hands to the executor: opened at launch by ``opener()`` (or given), then
    placed at a number the plan refers to.  ``label`` is what `oci-runtime plan` prints."""

    __slots__ = ("label", "opener", "fd")

    def __init__(self, label: str, opener: "Callable[[], int] | None" = None,
                 fd: int | None = None) -> None:
        self.label = label
        self.opener = opener
        self.fd = fd

    def open(self) -> int:
        if self.fd is None:
            self.fd = self.opener()  # type: ignore[misc]  # an FdArg has an opener or an fd
        return self.fd

    def __repr__(self) -> str:
        return f"fd<{self.label}>"


class Step:
    """One operation of the executor (executor/wire.py lists them, with their arguments).

    ``what`` is the start of the error message, as the runtime has always phrased it (the JSON
    pointer of the field first); ``pointer`` the config field for `oci-runtime plan`;
    ``describe(errno, detail)`` overrides how a failure reads."""

    __slots__ = ("op", "what", "pointer", "ints", "strings", "describe", "targets")

    def __init__(self, op: "Op", what: str, pointer: str | None = None,
                 ints: "Iterable[StepInt]" = (), strings: "Iterable[str | bytes]" = (),
                 describe: "Describe | None" = None) -> None:
        self.op = op
        self.what = what
        self.pointer = pointer
        self.ints = tuple(ints)
        self.strings = tuple(strings)
        self.describe = describe
        self.targets: "dict[FdArg, int] | None" = None  # number in the executor, set at launch

    def fd_args(self) -> "list[FdArg]":
        return [value for value in self.ints if isinstance(value, FdArg)]

    def resolved_ints(self) -> "Iterator[int]":
        for value in self.ints:
            if isinstance(value, FdArg):
                yield self.targets[value]  # type: ignore[index]  # set by launch
            else:
                yield int(value)

    def error(self, errno: int, detail: str) -> OCIError:
        """The OCIError for a failure of this step reported by the executor."""
        if self.describe is not None:
            return self.describe(self, errno, detail)
        reason = hotpath.strerror(errno) if errno else "failed"
        text = f"{self.what}: {reason}"
        if detail:
            text += f": {detail}"
        return OCIError(text, errno)


class Plan:
    """The steps of one create or exec, in the order the executor runs them."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "create" or "exec"
        self.steps: "list[Step]" = []

    def add(self, op: "Op", what: str, pointer: str | None = None, ints: "Iterable[StepInt]" = (),
            strings: "Iterable[str | bytes]" = (), describe: "Describe | None" = None) -> Step:
        step = Step(op, what, pointer, ints, strings, describe)
        self.steps.append(step)
        return step

    def fd_args(self) -> "list[FdArg]":
        seen: "list[FdArg]" = []
        for step in self.steps:
            for fd_arg in step.fd_args():
                if fd_arg not in seen:
                    seen.append(fd_arg)
        return seen
