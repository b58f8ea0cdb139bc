"""run [create options] [--detach] ID: create, start, and (unless detached) wait for the
container, forwarding signals; exits with the container's status (128+N if killed by signal N)."""
import os

from oci_runtime.cli.args import UsageError, parse
from oci_runtime.cli.cmd_create import OPTIONS as CREATE_OPTIONS, creation_options
from oci_runtime.errors import OCIError

OPTIONS = dict(CREATE_OPTIONS, **{"--detach": ("-d", False), "--keep": (None, False)})
_FORWARDED = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH",
              "SIGCONT")


def run(context, argv):
    import signal

    from oci_runtime.container import create

    values, positionals = parse(argv, OPTIONS)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime run [--bundle DIR] [--detach] CONTAINER_ID")
    detach = values.get("detach", False)
    container = create(context.store, positionals[0], values.get("bundle", "."),
                       systemd_cgroup=context.systemd_cgroup, subreaper=not detach,
                       warn=context.warn, debug=context.debugger,
                       **creation_options(values))
    try:
        container.start()
    except OCIError:
        container.delete(force=True, warn=context.warn)
        raise
    if detach:
        return 0
    pid = container.pid
    console = getattr(container, "console", None)
    if console is not None:
        try:
            console.receive_master()
            status = console.relay_until_exit(pid, _wait_for)
        finally:
            console.close()
        if not values.get("keep"):
            container.delete(force=True, warn=context.warn)
        return status

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for name in _FORWARDED:
        signal.signal(getattr(signal, name), forward)
    status = _wait_for(pid)
    if not values.get("keep"):
        container.delete(force=True, warn=context.warn)
    return status


def _wait_for(pid):
    """Reap children (we are the subreaper) until the init exits; return its exit status."""
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
