"""An attached `run`'s or `restore`'s wait for its container (the Python API's Runtime.run and
Runtime.restore): imported by them only, never on the hot path of `state`, `start`, `kill`."""
from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any


def wait_attached(container: "Any", console: "Any", adopter: "Any") -> int | None:
    """An attached run's or restore's wait for ``container`` (api.Container): relay the terminal (``console``, or None) or
    forward signals until the container exits, ``adopter`` (a ChildSubreaper) reaping what is
    orphaned meanwhile; its status, None if another waiter took it."""
    from oci_runtime.process.children import forwarding_signals, wait_for_exit

    status: int | None
    adopter.start_reaping(container.pid)
    try:
        if console is not None:
            try:
                console.receive_master()
                relayed = console.relay_until_exit(container.pid, wait_for_exit)
                status = None if relayed is None else int(relayed)
            finally:
                console.close()
        else:
            with forwarding_signals(container.pid):
                status = container.wait()
    finally:
        adopter.stop_reaping()
    return status


def known_status(status: int | None, container_id: str) -> int:
    if status is None:
        raise OCIError(f"container {container_id!r}: exited, but its status was taken by "
                       "another waiter of this process (SIGCHLD ignored, waitpid(-1)?)")
    return status
