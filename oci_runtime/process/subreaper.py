"""An attached `run` as a child subreaper (runc's default; --no-subreaper turns it off).

A container without a pid namespace of its own shares the host's: a process of it whose parent
exits is reparented to the nearest subreaper above it, else to the host's pid 1.  While `run`
waits for the container, it is that subreaper (prctl PR_SET_CHILD_SUBREAPER), reaping them as
they exit so no zombie of the container lingers, as runc's signal loop does.  A container
with a pid namespace of its own cannot orphan anything to it (its init is the reaper there): for
one, `run` is no subreaper (runc is, to no effect), and skips the prctl calls and their binding.

Only what this run adopted is reaped: the children the caller had before are left to it, the
init is left to its own waiter (the caller's exit status comes from it), and reaping happens only
while the container is waited for (a SIGCHLD handler, main thread only) and once at the end, never
while a hook's subprocess waits for its own child.  The caller's subreaper setting and SIGCHLD
handler are back afterwards (a Python caller of Runtime.run asks for this with
CreateOptions(subreaper=True); the API's default leaves the process as it was).
"""
import os

from oci_runtime.kernel import hotpath

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

_SIGCHLD = 17
_SIGKILL_BIT = 1 << 8   # SIGKILL (9) in /proc/<pid>/status' signal masks
_PF_EXITING = 0x4       # /proc/<pid>/stat's flags: the task is in do_exit
# How long the end of a run waits for an adopted process that is on its way out (SIGKILLed by
# delete): it leaves in milliseconds, but only once it is scheduled, on a loaded host later.
_EXITING_WAIT = 10.0


def children() -> "set[int]":
    """The pids of this process's children (every thread's; zombies included)."""
    found: "set[int]" = set()
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/children") as listing:
                found.update(int(pid) for pid in listing.read().split())
        except OSError:
            continue
    return found


def _exiting(pid: int) -> bool:
    """Whether process ``pid`` is on its way out: a zombie, in do_exit (PF_EXITING), or with a
    SIGKILL pending that it has not acted on yet."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        if fields[0] in "ZX" or int(fields[6]) & _PF_EXITING:
            return True
        with open(f"/proc/{pid}/status") as status:
            return any(line.startswith(("SigPnd:", "ShdPnd:"))
                       and int(line.split()[1], 16) & _SIGKILL_BIT for line in status)
    except (OSError, ValueError, IndexError):
        return False


def _wait_exited(pid: int, timeout: float) -> None:
    """Wait (``timeout`` seconds at most) until ``pid`` has exited: its pidfd is readable."""
    import select

    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)


class ChildSubreaper:
    """``with ChildSubreaper(enabled) as adopter:`` around the whole run, and
    ``adopter.start_reaping(init_pid)`` ... ``adopter.stop_reaping()`` around the wait;
    ``enabled`` False makes them do nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.before: "set[int]" = set()
        self.keep = 0
        self.was_subreaper = 0
        self.previous_handler: "Any" = None
        self.handler_installed = False

    def __enter__(self) -> "ChildSubreaper":
        if self.enabled:
            from oci_runtime.kernel import syscalls as kernel

            self.before = children()
            self.was_subreaper = kernel.child_subreaper()
            kernel.set_child_subreaper(1)
        return self

    def __exit__(self, *_exception: object) -> None:
        if not self.enabled:
            return
        from oci_runtime.kernel import syscalls as kernel

        self.keep = 0
        self.reap_adopted(wait_for_exiting=True)
        kernel.set_child_subreaper(self.was_subreaper)

    def reap_adopted(self, wait_for_exiting: bool = False) -> None:
        """Reap every exited child this run adopted (not ``keep``, not the caller's own).  At the
        end of the run (``wait_for_exiting``) also those still on their way out: delete's
        SIGKILL is delivered when they next run, and one reaped too early would be left to the
        caller as a zombie once the subreaper is off."""
        for pid in children() - self.before - {self.keep}:
            if wait_for_exiting and _exiting(pid):
                _wait_exited(pid, _EXITING_WAIT)
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass

    def _on_sigchld(self, _signum: int, _frame: "FrameType | None") -> None:
        self.reap_adopted()

    def start_reaping(self, keep: int) -> None:
        """From now on (until stop_reaping) reap adopted children as they exit; ``keep``: the
        init, which its own waiter reaps."""
        if not self.enabled:
            return
        self.keep = keep
        try:
            self.previous_handler = hotpath.signal(_SIGCHLD, self._on_sigchld)
            self.handler_installed = True
        except ValueError:
            pass  # not the main thread: the end of the run reaps instead
        self.reap_adopted()  # what exited before the handler was there

    def stop_reaping(self) -> None:
        if self.handler_installed:
            hotpath.signal(_SIGCHLD, self.previous_handler)
            self.handler_installed = False
