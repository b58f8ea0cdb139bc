"""Waiting for the processes the runtime forks: `run` and attached `exec` are their subreaper."""
import os

# What `run` and an attached `exec` pass on to the container's process, like runc.
FORWARDED_SIGNALS = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH",
                     "SIGCONT")


def wait_for_exit(pid):
    """Reap children (we are the subreaper) until ``pid`` exits; return its exit status the way
    a shell reports it: the code, or 128+N when killed by signal N."""
    while True:
        try:
            reaped, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 255
        if reaped == pid:
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status)
            return os.WEXITSTATUS(status)


def wait_with_forwarding(pid):
    """wait_for_exit, forwarding FORWARDED_SIGNALS received meanwhile to ``pid``."""
    import _signal  # the C module: signal.py imports enum

    from oci_runtime.signals import SIGNALS

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for name in FORWARDED_SIGNALS:
        _signal.signal(SIGNALS[name[3:]], forward)
    return wait_for_exit(pid)


def kill_and_reap(pid):
    """SIGKILL a child of ours and reap it; quiet if it is already gone."""
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
