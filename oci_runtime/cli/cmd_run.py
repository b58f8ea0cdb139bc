"""run [create options] [--detach] ID: create, start, and (unless detached) wait for the
container, forwarding signals; exits with the container's status (128+N if killed by signal N)."""
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.cli.cmd_create import OPTIONS as CREATE_OPTIONS, REPEATABLE, creation_options
from oci_runtime.errors import ContainerNotFound, OCIError

OPTIONS = dict(CREATE_OPTIONS, **{
    "--detach": ("-d", None, None, "return once the container runs instead of waiting for it"),
    "--keep": (None, None, None, "do not delete the container after it exits"),
})


def run(context, argv):
    from oci_runtime.children import wait_for_exit, wait_with_forwarding
    from oci_runtime.container import create

    values, positionals = parse(argv, OPTIONS, REPEATABLE)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime run [--bundle DIR] [--detach] CONTAINER_ID")
    detach = values.get("detach", False)
    container = create(context.store, positionals[0], values["bundle"],
                       systemd_cgroup=context.systemd_cgroup, subreaper=not detach,
                       warn=context.warn, debug=context.debugger,
                       **creation_options(values))
    try:
        container.start(warn=context.warn)
    except OCIError:
        try:
            container.delete(force=True, warn=context.warn)
        except ContainerNotFound:
            pass  # a failing poststart hook made start delete it (runtime.md step 9)
        raise
    if detach:
        return 0
    pid = container.pid
    console = getattr(container, "console", None)
    if console is not None:
        try:
            console.receive_master()
            status = console.relay_until_exit(pid, wait_for_exit)
        finally:
            console.close()
        if not values.get("keep"):
            container.delete(force=True, warn=context.warn)
        return status

    status = wait_with_forwarding(pid)
    if not values.get("keep"):
        container.delete(force=True, warn=context.warn)
    return status

