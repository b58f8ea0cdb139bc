"""`create` as a transaction: every step that makes something records how to undo it, and any
failure or signal (SIGINT, SIGTERM, SIGHUP) before commit undoes all of it, newest first.

    with CreateTransaction(warn) as transaction:
        transaction.on_undo("removing the state directory", remove)      # each step, as it is made
        transaction.before_init_continues(attach_network)                  # extension point
        ... launch(..., transaction) calls transaction.init_started(pid) once the init exists
        # leaving the block commits; an exception or a signal rolls back

The container's init is learnt at one point (``init_started``: init/launch.py calls it with the
init's host pid as soon as the executor reports it).  From then on the undo kills it: through a
pidfd opened at once (the pid cannot have been reused: the init is our child, CLONE_PARENT, and
nothing reaps it but us), and through its whole cgroup (``remove_after_kill``).  The steps given to
``before_init_continues`` run right there, before the init is let go on: that is where network
attachments go (CNI, netDevices: issue 13), each registering its own undo with ``on_undo``.

Undo never waits seconds: a SIGKILLed process is waited for with a short bound, a cgroup is
removed once empty (no EBUSY retries), and an undo step that fails is reported as a warning
naming it, after the error that started the undo, which is the one raised.
"""
import os

from oci_runtime.kernel import hotpath

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType, TracebackType
    from typing import Any, Literal, TypeAlias

    from oci_runtime.cgroups.base import CgroupManager

    # a step run once the init exists: step(init, transaction)
    InitStep: TypeAlias = "Callable[[InitProcess, CreateTransaction], None]"

_SIGNALS = (1, 2, 15)  # SIGHUP, SIGINT, SIGTERM
_SIGNAL_NAMES = {1: "SIGHUP", 2: "SIGINT", 15: "SIGTERM"}
# How long an undo waits for a SIGKILLed process or cgroup: they take milliseconds unless stuck
# in the kernel (a hung FUSE or NFS mount), and then waiting longer would not help either.
KILL_TIMEOUT = 1.0

# The transaction whose signal handlers are installed (children reset them).
_active: "CreateTransaction | None" = None


class CreateInterrupted(BaseException):
    """A signal arrived during create; raised in the main thread.  A BaseException, like
    KeyboardInterrupt, so that no `except Exception` on the way swallows it."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(f"create interrupted by {_SIGNAL_NAMES.get(signal_number, signal_number)}"
                         "; everything it made was undone")
        self.signal_number = signal_number


class InitProcess:
    """The container's init as the parent knows it: a host pid, its start time, a pidfd."""

    def __init__(self, pid: int) -> None:
        from oci_runtime.kernel.files import process_start_time

        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        seen = process_start_time(pid)
        self.start_time = seen[1] if seen else 0

    def kill(self) -> None:
        try:
            hotpath.pidfd_send_signal(self.pidfd, 9)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float = KILL_TIMEOUT) -> bool:
        """Wait until it has exited (the pidfd polls readable) and reap it if it is our child.
        False if it is still there after ``timeout`` seconds."""
        import select

        poller = select.poll()
        poller.register(self.pidfd, select.POLLIN)
        if not poller.poll(int(timeout * 1000)):
            return False
        try:
            os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pass  # not our child (a Python API caller's own fork): its parent reaps it
        return True

    def close(self) -> None:
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


class CreateTransaction:
    def __init__(self, warn: "Callable[[str], None] | None" = None) -> None:
        self._undo: list[tuple[str, Callable[[], object]]] = []  # (what, undo), oldest first
        self._init_steps: list[InitStep] = []
        self._warn: Callable[[str], None] = warn or (lambda message: None)
        self._previous_handlers: dict[int, Any] | None = None
        self._interrupted = 0
        self.init: InitProcess | None = None  # once init_started has run

    # -- recording ------------------------------------------------------------------------------
    def on_undo(self, what: str, undo: "Callable[[], object]") -> None:
        """Record how to undo a step just made; ``what`` names it in a failed undo's warning."""
        self._undo.append((what, undo))

    def before_init_continues(self, step: "InitStep") -> None:
        """``step(init, transaction)`` runs once the init's pid is known, before the init goes
        on (the cgroup is placed there too); it registers its own undo with on_undo."""
        self._init_steps.append(step)

    def init_started(self, pid: int, cgroup: "CgroupManager | None" = None) -> InitProcess:
        """Called by the parent side of the init protocol when it learns the init's host pid.
        From here on the undo kills the init and everything in its ``cgroup`` (a manager)."""
        init = self.init = InitProcess(pid)
        self.on_undo(f"killing the container's init (pid {pid})",
                     lambda: self._kill_init(cgroup))
        for step in self._init_steps:
            step(init, self)
        return init

    def _kill_init(self, cgroup: "CgroupManager | None") -> None:
        init = self.init
        assert init is not None  # init_started registered this undo
        init.kill()
        if cgroup is not None:
            from oci_runtime.errors import OCIError

            try:
                cgroup.kill_all(9)  # its children too (hooks, a joined pid namespace)
            except OCIError:
                pass  # not created or not placed yet; the cgroup's own undo removes it
        exited = init.wait()
        init.close()
        if not exited:
            raise OSError(f"pid {init.pid} still runs {KILL_TIMEOUT:g} s after SIGKILL")

    # -- outcome --------------------------------------------------------------------------------
    def commit(self) -> None:
        """Create succeeded: nothing is undone any more, and signals act as before."""
        self._undo.clear()
        if self.init is not None:
            self.init.close()
        self._restore_signals()

    def rollback(self) -> None:
        """Undo every recorded step, newest first, with the signals blocked (a second Ctrl-C
        must not leave the undo half done; once it is done, that signal has nothing left to
        stop and is discarded).  Failures are warnings naming the step."""
        blocked = hotpath.pthread_sigmask(hotpath.SIG_BLOCK, _SIGNALS)
        try:
            while self._undo:
                what, undo = self._undo.pop()
                try:
                    undo()
                except Exception as exc:  # noqa: BLE001 - every step must get its chance
                    reason = getattr(exc, "strerror", None) or str(exc)
                    self._warn(f"undoing a failed create: {what}: {reason}")
        finally:
            pending = hotpath.sigpending() & set(_SIGNALS)
            while pending and hotpath.sigtimedwait(pending, 0) is not None:
                pending = hotpath.sigpending() & set(_SIGNALS)
            self._restore_signals()
            hotpath.pthread_sigmask(hotpath.SIG_SETMASK, blocked)

    # -- signals --------------------------------------------------------------------------------
    def __enter__(self) -> "CreateTransaction":
        global _active
        previous: "dict[int, Any]" = {}
        try:
            for number in _SIGNALS:
                previous[number] = hotpath.signal(number, self._on_signal)
        except ValueError:
            # Not the main thread (a library user's create): only the main thread may handle
            # signals, and it keeps its own; failures are still undone.
            return self
        self._previous_handlers = previous
        _active = self
        return self

    def __exit__(self, exc_type: "type[BaseException] | None", exc: "BaseException | None",
                 traceback: "TracebackType | None") -> "Literal[False]":
        if exc_type is not None:
            self.rollback()
        else:
            self.commit()
        return False

    def _on_signal(self, signal_number: int, _frame: "FrameType | None") -> None:
        # The first signal aborts create; the undo then runs with signals blocked.
        if not self._interrupted:
            self._interrupted = signal_number
            raise CreateInterrupted(signal_number)

    def _restore_signals(self) -> None:
        global _active
        if self._previous_handlers is not None:
            for number, handler in self._previous_handlers.items():
                hotpath.signal(number, handler)
            self._previous_handlers = None
        if _active is self:
            _active = None


def _reset_signals_in_child() -> None:
    """A forked stage must not run the parent's undo on a signal: give it the old handlers."""
    if _active is not None and _active._previous_handlers is not None:
        for number, handler in _active._previous_handlers.items():
            hotpath.signal(number, handler)


os.register_at_fork(after_in_child=_reset_signals_in_child)
