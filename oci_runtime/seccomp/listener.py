"""Hand the seccomp notification fd to the agent at ``linux.seccomp.listenerPath``.

runtime-spec config-linux.md "The Container Process State": one JSON document per connection over an
AF_UNIX SOCK_STREAM socket, the fd in SCM_RIGHTS on the first sendmsg(), then the connection is
closed.  Like runc, this runs in the runtime process outside the container (runc's parent takes the fd
from its init with pidfd_getfd() and sends it from there): the init, after pivot_root, can no longer
reach a host socket path.
"""

import os

from oci_runtime import OCI_VERSION
from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any

SECCOMP_FD_NAME = "seccompFd"  # specs-go SeccompFdName


def container_process_state(state: "dict[str, Any]", metadata: str = "",
                            process_pid: int | None = None) -> "dict[str, Any]":
    """The message for ``state`` (the container's runtime state dict, as ``oci-runtime state`` prints).

    ``process_pid`` is the process the filter is on when that is not the init (an `exec`'d one):
    like runc, the message's "pid" names it, so the agent can inspect the caller's /proc entry,
    while ``state.pid`` stays the init's.
    """
    if not isinstance(state.get("pid"), int):
        raise OCIError("seccomp: the container state has no pid to send to the seccomp agent")
    pid = state["pid"] if process_pid is None else process_pid
    message: "dict[str, Any]" = {"ociVersion": OCI_VERSION, "fds": [SECCOMP_FD_NAME], "pid": pid,
                                 "state": state}
    if metadata:
        # specs-go marks metadata omitempty; listenerMetadata unset means no field, not "".
        message["metadata"] = metadata
    return message


def send_listener_fd(listener_path: str, listener_fd: int, state: "dict[str, Any]",
                     metadata: str = "", *, process_pid: int | None = None,
                     timeout: float = 30.0) -> None:
    """Send ``listener_fd`` and the container process state for ``state`` to ``listener_path``
    (``process_pid``: see :func:`container_process_state`).

    ``timeout`` bounds connecting and sending, so a wedged agent fails container creation with an
    error instead of hanging it.  Any failure raises OCIError (the spec requires the runtime to fail).
    """
    import json
    import socket

    from oci_runtime.kernel.fdpass import send_fd
    from oci_runtime.kernel.files import unix_socket_address

    payload = json.dumps(container_process_state(state, metadata, process_pid)).encode()
    directory_fd = -1
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as connection:
            connection.settimeout(timeout)
            address, directory_fd = unix_socket_address(listener_path)
            connection.connect(address)
            sent = send_fd(connection, payload, listener_fd)
            if sent < len(payload):
                # A stream socket may take a large document in several writes; the spec allows
                # that as long as the fd went with the first one.
                connection.sendall(payload[sent:])
    except OSError as exc:
        raise OCIError.from_os(f"seccomp: sending the listener fd to {listener_path}", exc) from exc
    finally:
        if directory_fd >= 0:
            os.close(directory_fd)
