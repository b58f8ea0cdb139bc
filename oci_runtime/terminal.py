"""process.terminal: a pty made inside the container, its master handed to whoever asked.

The pty must come from the container's own devpts (its /dev/ptmx after pivot_root or after
joining its mount namespace), so the slave is a /dev/pts/N the container can see.  The master goes
out over a unix socket with SCM_RIGHTS, one message whose data is the pty's name, exactly as runc
does for --console-socket.  The socket is connected by the runtime before the fork, while the
path is still reachable; without --console-socket (`run`, `exec` not detached), the runtime keeps
the other end of a socketpair and relays the pty to its own stdio.
"""
import errno
import fcntl
import os
import select
import socket
import struct

from oci_runtime.fdpass import receive_with_fd, send_fd

_TIOCSCTTY = 0x540E
_TIOCGWINSZ = 0x5413
_TIOCSWINSZ = 0x5414
_TIOCGPTN = 0x80045430
_TIOCSPTLCK = 0x40045431


class ConsoleEndpoint:
    """The socket a pty master travels on.  ``relays`` is true when the runtime itself receives
    the master (no --console-socket) and copies it to its stdio."""

    def __init__(self, console_socket_path=None):
        from oci_runtime.errors import OCIError

        self.master = None
        self.receiver = None
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

    # -- in the container's process ------------------------------------------------------------

    def setup_in_container(self, console_size=None):
        """Make a pty from /dev/ptmx (the container's), make its slave our stdio and controlling
        terminal (the caller did setsid), and send the master out."""
        if self.receiver is not None:
            self.receiver.close()
        master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))  # unlockpt
            number = struct.unpack("i", fcntl.ioctl(master, _TIOCGPTN, b"\0" * 4))[0]
            name = f"/dev/pts/{number}"
            if console_size:
                set_window_size(master, console_size.get("height", 0),
                                console_size.get("width", 0))
            slave = os.open(name, os.O_RDWR | os.O_NOCTTY)
            for target in (0, 1, 2):
                os.dup2(slave, target)
            if slave > 2:
                os.close(slave)
            fcntl.ioctl(0, _TIOCSCTTY, 0)
            send_fd(self.sender, name.encode(), master)
        finally:
            os.close(master)
            self.sender.close()

    # -- in the runtime ------------------------------------------------------------------------

    def after_fork(self):
        """The runtime's copy of the sending end: closed so that a process failing before it
        sends the master shows as EOF instead of a hang."""
        self.sender.close()

    def receive_master(self):
        if self.receiver is None:
            return
        _, self.master = receive_with_fd(self.receiver, 4096)
        self.receiver.close()
        self.receiver = None
        if self.master is None:
            from oci_runtime.errors import OCIError

            raise OCIError("the container process exited before sending its terminal")

    def close(self):
        for end in (self.sender, self.receiver):
            if end is not None:
                end.close()
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def relay_until_exit(self, pid, wait_for_exit):
        """Copy stdin -> pty and pty -> stdout with the caller's terminal in raw mode and window
        size changes passed on, until the pty hangs up; return ``wait_for_exit(pid)``."""
        import signal

        master = self.master
        stdin_is_tty = os.isatty(0)
        saved_mode = None
        if stdin_is_tty:
            import termios
            import tty

            saved_mode = termios.tcgetattr(0)
            tty.setraw(0)
            copy_window_size(0, master)

            def resize(_signum, _frame):
                copy_window_size(0, master)

            signal.signal(signal.SIGWINCH, resize)

        def forward(signum, _frame):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

        for name in ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGCONT"):
            signal.signal(getattr(signal, name), forward)
        try:
            _copy_both_ways(master)
        finally:
            if saved_mode is not None:
                import termios

                termios.tcsetattr(0, termios.TCSADRAIN, saved_mode)
            self.close()
        return wait_for_exit(pid)


def _copy_both_ways(master):
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


def _write_all(fd, data):
    while data:
        try:
            written = os.write(fd, data)
        except InterruptedError:
            continue
        data = data[written:]


def set_window_size(fd, rows, columns):
    fcntl.ioctl(fd, _TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def copy_window_size(source_fd, target_fd):
    try:
        size = fcntl.ioctl(source_fd, _TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(target_fd, _TIOCSWINSZ, size)
    except OSError:
        pass  # not a terminal any more: nothing to follow
