"""process.terminal: a pty made inside the container, its master handed to whoever asked.

The executor makes the pty from the container's own devpts (its /dev/ptmx), so the slave is a
/dev/pts/N the container can see.  The master goes out over a unix socket with SCM_RIGHTS, one
message whose data is the pty's name, exactly as runc does for --console-socket.  The socket is connected by the runtime before the fork, while the
path is still reachable; without --console-socket (`run`, `exec` not detached), the runtime keeps
the other end of a socketpair and relays the pty to its own stdio.
"""
import errno
import fcntl
import os
import select
import socket

from oci_runtime.kernel.fdpass import receive_with_fd

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

_TIOCGWINSZ = 0x5413
_TIOCSWINSZ = 0x5414


class ConsoleEndpoint:
    """The socket a pty master travels on.  ``relays`` is true when the runtime itself receives
    the master (no --console-socket) and copies it to its stdio."""

    def __init__(self, console_socket_path: str | None = None) -> None:
        from oci_runtime.errors import OCIError

        self.master: int | None = None
        self.receiver: socket.socket | None = None
        self.sender: socket.socket | None
        if console_socket_path:
            self.sender = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sender.connect(console_socket_path)
            except OSError as exc:
                self.sender.close()
                raise OCIError.from_os(f"--console-socket: connecting to {console_socket_path}",
                                       exc) from exc
            self.relays = False
        else:
            self.receiver, self.sender = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self.relays = True

    # -- in the runtime ------------------------------------------------------------------------

    def detach_sender(self) -> int:
        """The sending end's fd, for the executor (which sends the master on it); this process
        keeps no copy, so an executor failing before it sends shows as EOF instead of a hang."""
        fd = self.sender.detach()  # type: ignore[union-attr]  # called once, before close()
        self.sender = None
        return fd

    def receive_master(self) -> None:
        if self.receiver is None:
            return
        _, self.master = receive_with_fd(self.receiver, 4096)
        self.receiver.close()
        self.receiver = None
        if self.master is None:
            from oci_runtime.errors import OCIError

            raise OCIError("the container process exited before sending its terminal")

    def close(self) -> None:
        for end in (self.sender, self.receiver):
            if end is not None:
                end.close()
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def relay_until_exit(self, pid: int, wait_for_exit: "Callable[[int], int | None]"
                         ) -> int | None:
        """Copy stdin -> pty and pty -> stdout with the caller's terminal in raw mode and window
        size changes passed on, until the pty hangs up; return ``wait_for_exit(pid)``."""
        import signal

        from oci_runtime.process.children import FORWARDED_SIGNALS, forwarding_signals

        master = self.master
        assert master is not None  # receive_master() ran
        stdin_is_tty = os.isatty(0)
        saved_mode = None
        saved_resize = None
        if stdin_is_tty:
            import termios
            import tty

            saved_mode = termios.tcgetattr(0)
            tty.setraw(0)
            # Raw input, but output still processed (containerd/console's SetRaw, which runc
            # uses): the container's pty adds no "\r" (ONLCR is off there), this one does.
            mode = termios.tcgetattr(0)
            mode[1] |= termios.OPOST
            termios.tcsetattr(0, termios.TCSANOW, mode)
            copy_window_size(0, master)

            def resize(_signum: int, _frame: "FrameType | None") -> None:
                copy_window_size(0, master)

            try:
                saved_resize = signal.signal(signal.SIGWINCH, resize)
            except ValueError:
                pass  # not the main thread: sizes are copied once only
        forwarded = [name for name in FORWARDED_SIGNALS if name != "SIGWINCH"]
        with forwarding_signals(pid, forwarded):
            try:
                _copy_both_ways(master)
            finally:
                if saved_mode is not None:
                    import termios

                    termios.tcsetattr(0, termios.TCSADRAIN, saved_mode)
                if saved_resize is not None:
                    signal.signal(signal.SIGWINCH, saved_resize)
                self.close()
            return wait_for_exit(pid)


def _copy_both_ways(master: int) -> None:
    readers = [0, master]
    while True:
        try:
            ready, _, _ = select.select(readers, [], [])
        except InterruptedError:
            continue
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError as exc:
                if exc.errno == errno.EIO:  # every slave fd is closed: the process is gone
                    return
                raise
            if not data:
                return
            _write_all(1, data)
        if 0 in ready:
            data = os.read(0, 65536)
            if data:
                _write_all(master, data)
            else:
                readers.remove(0)  # our stdin ended; keep showing the process's output


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            written = os.write(fd, data)
        except InterruptedError:
            continue
        data = data[written:]


def copy_window_size(source_fd: int, target_fd: int) -> None:
    try:
        size = fcntl.ioctl(source_fd, _TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(target_fd, _TIOCSWINSZ, size)
    except OSError:
        pass  # not a terminal any more: nothing to follow
