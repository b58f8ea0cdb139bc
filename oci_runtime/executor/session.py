"""Starting the C executor (cext/executor.c) with a plan, and speaking its sync protocol.

The executor is never a writable host file while it runs in a container (CVE-2019-5736): it is
exec'd from a memfd copy sealed against writes, shrinking and growing, so a container that
re-executes /proc/self/exe can neither reopen it for writing nor change it.  It is spawned with
posix_spawn (vfork + exec: no Python runs in the child, and a threaded caller is safe), with the
plan on a sealed memfd, the sync socket, and every fd the plan refers to placed above the fds
that `--preserve-fds` passes on.
"""
import os

from oci_runtime.errors import OCIError
from oci_runtime.kernel.files import EXECUTOR_MEMFD_NAME
from oci_runtime.kernel import hotpath
from oci_runtime.executor import wire

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from socket import socket
    from typing import Any

_EXECUTOR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_executor")
_MFD_CLOEXEC = 1
_MFD_ALLOW_SEALING = 2
_F_ADD_SEALS = 1033
_SEALS = 0x1 | 0x2 | 0x4 | 0x8  # F_SEAL_SEAL | SHRINK | GROW | WRITE
# Python ignores these; ignored signals survive execve, so the executor starts with the defaults
# (as subprocess's restore_signals does).  Numbers, not the signal module: it imports enum.
_SIGPIPE = 13
_SIGXFSZ = 25


def sealed_copy(path: str = _EXECUTOR) -> int:
    """A memfd holding the executor, sealed: nothing can write it any more."""
    try:
        source = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise OCIError(f"the container executor {path} is missing: reinstall oci-runtime "
                       "(pip install builds it from cext/executor.c)") from None
    try:
        memfd = os.memfd_create(EXECUTOR_MEMFD_NAME, _MFD_CLOEXEC | _MFD_ALLOW_SEALING)
        size = os.fstat(source).st_size
        offset = 0
        while offset < size:
            sent = os.sendfile(memfd, source, offset, size - offset)
            if sent == 0:
                break
            offset += sent
    finally:
        os.close(source)
    import fcntl

    fcntl.fcntl(memfd, _F_ADD_SEALS, _SEALS)
    return memfd


class Session:
    """One run of the executor: its pid, the runtime's end of the sync socket, the plan (for
    turning error frames into messages).  Frames as executor/wire.py defines them."""

    def __init__(self, plan: "Any", pid: int, sock: "socket") -> None:
        self.plan = plan
        self.pid = pid
        self.sock = sock

    def receive(self, *expected: bytes) -> "tuple[bytes, tuple[int | bytes, ...]]":
        """The next frame as (type, fields); an error frame raises the step's OCIError, EOF
        gives (b"", ()).  No fd is expected: one sent all the same is closed by the kernel."""
        kind, fields, _ = self.receive_frame(with_fd=False)
        if not kind and expected and b"" not in expected:
            raise OCIError("the container's executor exited without reporting an error")
        if kind and expected and kind not in expected:
            raise OCIError(f"internal: expected {b'/'.join(expected).decode()} from the executor, "
                           f"got {kind!r}")
        return kind, fields

    def receive_frame(self, with_fd: bool = True
                      ) -> "tuple[bytes, tuple[int | bytes, ...], int | None]":
        """(type, fields, fd or None) of the next frame, b"" at EOF; an error frame raises.
        ``with_fd``: an fd may come with it (SCM_RIGHTS: a LISTENER frame of exec)."""
        header, fd = self._read(wire.FRAME_HEADER.size, with_fd=with_fd)
        if not header:
            return b"", (), fd
        try:
            if len(header) < wire.FRAME_HEADER.size:
                raise ValueError("truncated")
            kind, length = wire.FRAME_HEADER.unpack(header)
            payload, _ = self._read(length)
            if len(payload) < length:
                raise ValueError("truncated")
            fields = wire.unpack_frame(kind, payload)
        except ValueError as exc:
            if fd is not None:
                hotpath.close(fd)
            raise OCIError(f"internal: a malformed frame from the container's executor ({exc})")
        if kind == wire.MSG_ERROR:
            if fd is not None:
                hotpath.close(fd)
            raise self.error_from(*fields)
        return kind, fields, fd

    def _read(self, size: int, with_fd: bool = False) -> "tuple[bytes, int | None]":
        """Up to ``size`` bytes, fewer only at EOF; with_fd: an fd sent with them (SCM_RIGHTS)."""
        data = b""
        fd = None
        while len(data) < size:
            try:
                if with_fd and fd is None:
                    from oci_runtime.kernel.fdpass import receive_with_fd

                    chunk, fd = receive_with_fd(self.sock, size - len(data))
                else:
                    chunk = self.sock.recv(size - len(data))
            except InterruptedError:
                continue
            except ConnectionResetError:
                # The executor closed with a frame of ours unread; what it sent before closing
                # was read first (a stream socket reports the reset only once that is drained).
                chunk = b""
            if not chunk:
                break
            data += chunk
        return data, fd

    def error_from(self, index: "int | bytes", errno: "int | bytes",
                   detail: "int | bytes") -> OCIError:
        assert isinstance(index, int) and isinstance(errno, int) and isinstance(detail, bytes)
        text = detail.decode(errors="replace")
        if index < len(self.plan.steps):
            error: OCIError = self.plan.steps[index].error(errno, text)
            return error
        if index == wire.PLAN_REFUSED:
            return OCIError(f"internal: the container executor refused the plan: {text}", errno)
        return OCIError(f"executor: step {index}: {os.strerror(errno)} {text}".strip(), errno)

    def send(self, kind: bytes, *fields: "int | bytes") -> None:
        try:
            self.sock.sendall(wire.pack_frame(kind, *fields))
        except (BrokenPipeError, ConnectionResetError):
            # The executor died: what it said before dying is the error to report.
            self.receive()
            raise OCIError("the container's executor exited without reporting an error")

    def close(self) -> None:
        self.sock.close()


def inherited_fds(first: int) -> "list[int]":
    """This process's fds from ``first`` up that a spawned program would inherit (those not
    close-on-exec: what the caller passed on; Python opens its own close-on-exec)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd < first:
            continue
        try:
            if os.get_inheritable(fd):
                found.append(fd)
        except OSError:  # the directory listdir read through, closed since
            continue
    return found


def spawn(plan: "Any", preserve_fds: int = 0) -> Session:
    """Start the executor on ``plan`` (a plan.model.Plan: typed Any, plan/ being the layer
    above); returns a Session.  The fds the plan refers to are opened here (FdArg.open) and
    closed in this process once the executor has its copies."""
    fd_args = plan.fd_args()
    opened: "list[int]" = []
    parent_sock, child_sock = hotpath.socketpair(hotpath.AF_UNIX,
                                                 hotpath.SOCK_STREAM | hotpath.SOCK_CLOEXEC)
    memfd: int | None = None
    plan_fd: int | None = None
    try:
        for fd_arg in fd_args:
            opened.append(fd_arg.open())
        plan_fd = os.memfd_create("oci-runtime-plan", _MFD_CLOEXEC)
        memfd = sealed_copy()
        child_fd = child_sock.fileno()
        # Everything the executor holds goes above the fds --preserve-fds passes on, and above
        # every source fd, so no dup2 below overwrites another source.
        base = max([3 + preserve_fds, plan_fd, memfd, child_fd] + opened) + 1
        targets: "dict[Any, int]" = {}
        actions: "list[tuple[int, ...]]" = []
        for number, (fd_arg, fd) in enumerate(zip(fd_args, opened)):
            targets[fd_arg] = base + 2 + number
            actions.append((os.POSIX_SPAWN_DUP2, fd, base + 2 + number))
        for step in plan.steps:
            step.targets = targets
        data = wire.encode(plan.steps, exec_plan=plan.kind == "exec")
        os.write(plan_fd, data)
        actions += [(os.POSIX_SPAWN_DUP2, plan_fd, base), (os.POSIX_SPAWN_DUP2, child_fd, base + 1)]
        # Nothing of the caller's reaches the container (CVE-2024-21626's class): an fd it
        # passed us without close-on-exec is closed in the executor, but stdio and the ones
        # --preserve-fds names.  (Closes run before the dup2s above, which may reuse a number.)
        actions[:0] = [(os.POSIX_SPAWN_CLOSE, fd) for fd in inherited_fds(3 + preserve_fds)]
        pid = os.posix_spawn(f"/proc/self/fd/{memfd}",
                             ["oci-runtime-executor", str(base), str(base + 1)], os.environ,
                             file_actions=actions, setsigmask=(),
                             setsigdef=(_SIGPIPE, _SIGXFSZ))
    except OSError as exc:
        parent_sock.close()
        raise OCIError.from_os("starting the container executor", exc) from exc
    except BaseException:
        parent_sock.close()
        raise
    finally:
        child_sock.close()
        for our_fd in [plan_fd, memfd, *opened]:
            if our_fd is not None:
                os.close(our_fd)
        for fd_arg in fd_args:
            fd_arg.fd = None
    return Session(plan, pid, parent_sock)
