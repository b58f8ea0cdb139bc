"""Passing a file descriptor over a unix socket (SCM_RIGHTS): the pty master to a console
socket, a seccomp listener to `start`, `exec` or an agent.  One encoding for every sender and
receiver; `_socket` only (through oci_runtime.kernel.hotpath), so nothing imports enum."""
import sys

from oci_runtime.kernel import hotpath

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from socket import socket

_FD_SIZE = 4  # a C int


def send_fd(sock: "socket", data: bytes, fd: int) -> int:
    """Send ``data`` with ``fd`` attached; returns how many bytes of ``data`` went."""
    rights = (hotpath.SOL_SOCKET, hotpath.SCM_RIGHTS, fd.to_bytes(_FD_SIZE, sys.byteorder))
    return sock.sendmsg([data], [rights])


def receive_with_fd(sock: "socket", size: int) -> "tuple[bytes, int | None]":
    """(data, fd or None) from one recvmsg.  Any fd beyond the first is closed: every sender
    here sends exactly one, and a surplus one must not leak."""
    data, ancillary, _, _ = sock.recvmsg(size, hotpath.CMSG_SPACE(_FD_SIZE))
    received = None
    for level, kind, payload in ancillary:
        if level != hotpath.SOL_SOCKET or kind != hotpath.SCM_RIGHTS:
            continue
        whole = len(payload) - len(payload) % _FD_SIZE
        for offset in range(0, whole, _FD_SIZE):
            fd = int.from_bytes(payload[offset:offset + _FD_SIZE], sys.byteorder)
            if received is None:
                received = fd
            else:
                hotpath.close(fd)
    return data, received
