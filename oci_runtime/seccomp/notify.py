"""The agent side of a seccomp notification fd: receive a notified syscall and answer it.

Used by tests and by anything in the runtime that acts as a seccomp agent.  Pure stdlib (ioctl via
fcntl); the structures are the fixed-size ones of linux/seccomp.h, whose sizes are also encoded in
the ioctl request numbers, so they cannot silently change under us.
"""

import fcntl
import os
import select
import struct

from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from socket import socket
    from typing import Any

# struct seccomp_notif { u64 id; u32 pid; u32 flags; struct seccomp_data { s32 nr; u32 arch;
#                        u64 instruction_pointer; u64 args[6]; } data; }
_NOTIF = struct.Struct("=QIIiIQ6Q")
# struct seccomp_notif_resp { u64 id; s64 val; s32 error; u32 flags; }
_NOTIF_RESP = struct.Struct("=QqiI")
_ID = struct.Struct("=Q")

_IOC_WRITE, _IOC_READ = 1, 2
_SECCOMP_IOC_MAGIC = ord("!")


def _ioc(direction: int, number: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (_SECCOMP_IOC_MAGIC << 8) | number


SECCOMP_IOCTL_NOTIF_RECV = _ioc(_IOC_READ | _IOC_WRITE, 0, _NOTIF.size)
SECCOMP_IOCTL_NOTIF_SEND = _ioc(_IOC_READ | _IOC_WRITE, 1, _NOTIF_RESP.size)
SECCOMP_IOCTL_NOTIF_ID_VALID = _ioc(_IOC_WRITE, 2, _ID.size)
# Let the syscall run as if there were no filter (the agent has only inspected it).
SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1


class Notification:
    """One notified syscall, as SECCOMP_IOCTL_NOTIF_RECV reports it."""

    __slots__ = ("id", "pid", "flags", "syscall_number", "arch", "instruction_pointer", "args")

    def __init__(self, notification_id: int, pid: int, flags: int, syscall_number: int, arch: int,
                 instruction_pointer: int, args: "tuple[int, ...]") -> None:
        self.id = notification_id  # cookie identifying this syscall in respond() and id_valid()
        self.pid = pid  # of the calling thread in the agent's pid namespace (0 if not visible there)
        self.flags = flags
        self.syscall_number = syscall_number
        self.arch = arch  # AUDIT_ARCH_* of the call
        self.instruction_pointer = instruction_pointer
        self.args = args  # the six raw syscall arguments

    def __repr__(self) -> str:
        return f"Notification(id={self.id}, pid={self.pid}, syscall={self.syscall_number}, args={self.args})"


def receive(listener_fd: int, timeout: float | None = None) -> Notification:
    """Wait for the next notified syscall and return it as a :class:`Notification`.

    ``timeout`` (seconds) raises TimeoutError if no syscall arrives; None waits indefinitely.
    """
    poller = select.poll()
    poller.register(listener_fd, select.POLLIN)
    events = poller.poll(None if timeout is None else int(timeout * 1000))
    if not events:
        raise TimeoutError(f"no seccomp notification within {timeout}s")
    if not events[0][1] & select.POLLIN:
        # POLLHUP alone: no process is left under the filter.  NOTIF_RECV would then wait for a
        # syscall that cannot come (forever on Linux 6.1; newer kernels fail it).
        raise OCIError("seccomp: the listener hung up: no process is left under its filter")
    buffer = bytearray(_NOTIF.size)  # the kernel requires a zeroed buffer
    try:
        fcntl.ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_RECV, buffer, True)
    except OSError as exc:
        # ENOENT: the notifying task died or was interrupted after poll() said it was waiting.
        raise OCIError.from_os("seccomp: SECCOMP_IOCTL_NOTIF_RECV", exc) from exc
    notification_id, pid, flags, number, arch, instruction_pointer, *args = _NOTIF.unpack(buffer)
    return Notification(notification_id, pid, flags, number, arch, instruction_pointer, tuple(args))


def respond(listener_fd: int, notification_id: int, *, value: int = 0, error: int = 0,
            continue_syscall: bool = False) -> None:
    """Answer a notified syscall: it returns ``value``, or fails with errno ``error`` (positive) if set,
    or with ``continue_syscall`` runs for real.

    A CONTINUE answer is only safe for syscalls whose arguments the agent does not base a security
    decision on (the caller can change pointed-to memory after the check).
    """
    if continue_syscall and (value or error):
        raise ValueError("continue_syscall cannot be combined with a value or an error")
    flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE if continue_syscall else 0
    response = _NOTIF_RESP.pack(notification_id, value, -error, flags)
    try:
        fcntl.ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_SEND, response)
    except OSError as exc:
        raise OCIError.from_os("seccomp: SECCOMP_IOCTL_NOTIF_SEND", exc) from exc


def id_valid(listener_fd: int, notification_id: int) -> bool:
    """Whether the notified syscall is still waiting (guards against pid reuse before acting on it)."""
    try:
        fcntl.ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, _ID.pack(notification_id))
    except FileNotFoundError:
        return False
    return True


def read_string(pid: int, address: int, limit: int = 4096) -> str:
    """The NUL-terminated string at ``address`` in process ``pid``'s memory (a notified syscall's
    path argument), at most ``limit`` bytes.  Check id_valid() after reading: the caller may have
    exited and its pid been reused meanwhile."""
    page_size = os.sysconf("SC_PAGE_SIZE")
    data = b""
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as memory:
        # Page by page: the string may end just before an unmapped page, which reads as EIO.
        while b"\0" not in data and len(data) < limit:
            memory.seek(address + len(data))
            data += memory.read(page_size - (address + len(data)) % page_size)
    return data.split(b"\0", 1)[0].decode(errors="replace")


def receive_listener_fd(connection: "socket") -> "tuple[dict[str, Any], int]":
    """Read one container process state message and its fd from an accepted agent connection.

    Returns ``(state_message: dict, listener_fd: int)``; the counterpart of
    :func:`oci_runtime.seccomp.listener.send_listener_fd`, which closes the connection when done.
    """
    import json

    from oci_runtime.kernel.fdpass import receive_with_fd

    chunks: "list[bytes]" = []
    listener_fd: int | None = None
    while True:
        data, fd = receive_with_fd(connection, 65536)
        if fd is not None:
            if listener_fd is None:
                listener_fd = fd
            else:
                os.close(fd)  # the spec sends exactly one fd; never leak a surplus one
        if not data:
            break
        chunks.append(data)
    if listener_fd is None:
        raise OCIError("seccomp: the container process state arrived without a file descriptor")
    try:
        return json.loads(b"".join(chunks)), listener_fd
    except ValueError:
        os.close(listener_fd)
        raise
