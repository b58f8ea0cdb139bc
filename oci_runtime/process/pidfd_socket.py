"""--pidfd-socket (create, run, exec), as runc 1.2+: the caller's AF_UNIX socket receives a pidfd
of the container's init (or of the exec'd process), so it can signal and wait for it without pid
reuse races.  runc's protocol: one message whose data is "standard" (a container's init) or
"setns" (an exec'd process), the pidfd attached (SCM_RIGHTS).

The runtime connects before it makes anything (a wrong path fails at once, nothing to undo) and
sends its own pidfd of the process, opened when the process was learnt (it is the runtime's child
through CLONE_PARENT, so the pid cannot have been reused): the socket never enters the
container.
"""
import os

from oci_runtime.errors import OCIError
from oci_runtime.kernel import hotpath
from oci_runtime.kernel.files import unix_socket_address

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from socket import socket

INIT = b"standard"  # runc's initType of a container's init
EXEC = b"setns"  # and of an exec'd process


class PidfdSocket:
    """A connection to a --pidfd-socket path; ``send`` the pidfd once, then ``close``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.connection: "socket | None" = hotpath.socket(
            hotpath.AF_UNIX, hotpath.SOCK_STREAM | hotpath.SOCK_CLOEXEC)
        directory_fd = -1
        try:
            address, directory_fd = unix_socket_address(path)
            self.connection.connect(address)
        except OSError as exc:
            self.close()
            raise OCIError.from_os(f"--pidfd-socket: connecting to {path}", exc) from exc
        finally:
            if directory_fd >= 0:
                hotpath.close(directory_fd)

    def send(self, pidfd: int, kind: bytes) -> None:
        """Send ``pidfd`` (a copy travels; ours stays open) with runc's ``kind`` as data."""
        from oci_runtime.kernel.fdpass import send_fd

        assert self.connection is not None, "sent twice"
        try:
            send_fd(self.connection, kind, pidfd)
        except OSError as exc:
            raise OCIError.from_os(f"--pidfd-socket: sending the pidfd to {self.path}",
                                   exc) from exc
        finally:
            self.close()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def send_pidfd_of(connection: "PidfdSocket", pid: int, kind: bytes) -> None:
    """Open a pidfd of ``pid`` (our child: not reusable before we reap it) and send it."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError as exc:
        connection.close()
        raise OCIError.from_os(f"--pidfd-socket {connection.path}: pidfd_open({pid})",
                               exc) from exc
    try:
        connection.send(pidfd, kind)
    finally:
        os.close(pidfd)
