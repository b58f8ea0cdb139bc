"""Waiting for the processes the runtime starts: the container's init and exec'd processes are
direct children of the caller (the executor forks them with CLONE_PARENT).

A library caller's process must be left as it was (oci_runtime.container.api): signal handlers are installed
only while a wait forwards them (forwarding_signals), and only the one pid is waited for (never
waitpid(-1), which would steal the statuses of the caller's other children).
"""
import os

from oci_runtime.kernel import hotpath

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import FrameType
    from typing import Any

# What `run` and an attached `exec` pass on to the container's process, like runc.
FORWARDED_SIGNALS = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH",
                     "SIGCONT")


def shell_status(wait_status: int) -> int:
    """A waitpid status the way a shell reports it: the code, or 128+N when killed by signal N."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def wait_for_exit(pid: int) -> int | None:
    """Wait for our child ``pid`` to exit and reap it; its shell_status, or None when there is
    none to read (not our child, or already reaped: SIGCHLD ignored, another waiter)."""
    status = reap(pid)
    return None if status is None else shell_status(status)


def reap(pid: int) -> int | None:
    """Wait for our child ``pid`` and reap it; its wait status, or None if it is not (or no
    longer) ours to reap: the kernel reaps at once for a caller that ignores SIGCHLD."""
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue
        except ChildProcessError:
            return None


class forwarding_signals:  # noqa: N801 - used as `with forwarding_signals(pid):`
    """While the block runs, the signals ``names`` received are sent on to ``pid``; the previous
    handlers are back afterwards.  Off the main thread (where Python cannot install handlers)
    nothing is forwarded, nor is a signal whose handler was installed outside Python (it could
    not be put back).  A class, not contextlib (whose import costs ~3 ms on create and delete)."""

    def __init__(self, pid: int, names: "Iterable[str]" = FORWARDED_SIGNALS) -> None:
        self.pid = pid
        self.names = names
        self.previous: "dict[int, Any]" = {}

    def _forward(self, signum: int, _frame: "FrameType | None") -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def __enter__(self) -> "forwarding_signals":
        from oci_runtime.kernel.signals import SIGNALS

        try:
            for name in self.names:
                number = SIGNALS[name[3:]]
                if hotpath.getsignal(number) is not None:
                    self.previous[number] = hotpath.signal(number, self._forward)
        except ValueError:
            pass  # not the main thread: Python delivers signals to that one only
        return self

    def __exit__(self, *_exception: object) -> None:
        for number, handler in self.previous.items():
            hotpath.signal(number, handler)
        self.previous = {}


def wait_with_forwarding(pid: int) -> int | None:
    """wait_for_exit, forwarding FORWARDED_SIGNALS received meanwhile to ``pid``."""
    with forwarding_signals(pid):
        return wait_for_exit(pid)


def kill_and_reap(pid: int) -> None:
    """SIGKILL a child of ours and reap it; quiet if it is already gone."""
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    reap(pid)


def open_pidfd(pid: int, start_time: int | None) -> int | None:
    """A pidfd for ``pid`` if it is still the process that started at ``start_time`` (clock
    ticks, /proc/<pid>/stat; a zombie included), else None: a reused pid is never acted on."""
    from oci_runtime.kernel.files import pidfd_of, process_start_time

    if not pid:
        return None
    pidfd = pidfd_of(pid)
    if pidfd is None:
        return None
    seen = process_start_time(pid)
    if seen is None or seen[1] != start_time:
        os.close(pidfd)
        return None
    return pidfd


def wait_for_pid(pid: int, start_time: int | None, timeout: float | None,
                 statuses: "dict[tuple[int, int], int]") -> int | None:
    """Wait until ``pid`` (started at ``start_time``) exits, through a pidfd, so it works for any
    process; its shell_status when it is our child (reaped then, and kept in ``statuses``, a dict
    keyed by (pid, start_time)), else what ``statuses`` knows or None: the kernel tells a
    process's status to its parent only.  TimeoutError after ``timeout`` seconds (None: never)."""
    import select

    key = (pid, start_time or 0)
    pidfd = open_pidfd(pid, start_time)
    if pidfd is None:
        return statuses.get(key)  # reaped here before, else unknown
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        # poll() is retried after a signal handler returns (PEP 475); readable = it exited.
        if not poller.poll(None if timeout is None else max(0, int(timeout * 1000))):
            raise TimeoutError(f"process {pid} still running after {timeout} s")
        try:
            result = os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
        except ChildProcessError:
            return statuses.get(key)  # not our child
        assert result is not None  # waitid returns None only with WNOHANG
        statuses[key] = _waitid_status(result)
        return statuses[key]
    finally:
        os.close(pidfd)


def reap_if_ours(pid: int, start_time: int | None,
                 statuses: "dict[tuple[int, int], int]") -> None:
    """Reap ``pid`` if it is an exited child of ours (no zombie left in the caller)."""
    pidfd = open_pidfd(pid, start_time)
    if pidfd is None:
        return
    try:
        result = os.waitid(os.P_PIDFD, pidfd, os.WEXITED | os.WNOHANG)
        if result is not None:
            statuses[(pid, start_time or 0)] = _waitid_status(result)
    except ChildProcessError:
        pass
    finally:
        os.close(pidfd)


def _waitid_status(result: "os.waitid_result") -> int:
    """waitid's (si_code, si_status) as a shell reports it: the code, or 128+N for signal N."""
    return result.si_status if result.si_code == os.CLD_EXITED else 128 + result.si_status
