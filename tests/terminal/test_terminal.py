"""process.terminal: the pty is made inside the container and its master reaches the
--console-socket receiver (runc's protocol), or `run`/`exec` relay it themselves."""
import array
import fcntl
import os
import select
import socket
import struct
import time

import pytest

from tests.waiting import FAILURE_AFTER, wait_for_status


def terminal_config(rows=40, columns=120):
    def edit(config):
        config["process"]["terminal"] = True
        config["process"]["consoleSize"] = {"height": rows, "width": columns}
    return edit


class ConsoleReceiver:
    """A --console-socket listener that takes the pty master as runc's callers do."""

    def __init__(self, directory):
        self.path = str(directory / "console.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.master = None
        self.name = None

    def receive(self, timeout=FAILURE_AFTER):
        self.listener.settimeout(timeout)
        connection, _ = self.listener.accept()
        with connection:
            data, ancillary, _, _ = connection.recvmsg(4096, socket.CMSG_SPACE(4))
        self.name = data.decode()
        fds = array.array("i")
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:4])
        self.master = fds[0]
        return self.master

    def converse(self, text, until, timeout=FAILURE_AFTER):
        """Type ``text`` on the terminal, read until ``until`` shows up; return what was read."""
        os.write(self.master, text.encode())
        output = b""
        deadline = time.monotonic() + timeout
        while until.encode() not in output and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    output += os.read(self.master, 4096)
                except OSError:
                    break
        return output.decode(errors="replace")

    def close(self):
        if self.master is not None:
            os.close(self.master)
        self.listener.close()


@pytest.fixture
def receiver(tmp_path):
    console = ConsoleReceiver(tmp_path)
    yield console
    console.close()


def test_console_socket_receives_a_working_pty(oci, make_bundle, receiver):
    bundle, cid = make_bundle(["sh"], terminal_config(rows=33, columns=101))
    oci("create", "--console-socket", receiver.path, "--bundle", str(bundle), cid, check=True)
    receiver.receive()
    assert receiver.name.startswith("/dev/pts/")
    oci("start", cid, check=True)
    output = receiver.converse("stty size; tty; echo do''ne\n", "done")
    assert "33 101" in output
    assert receiver.name in output  # the slave is the shell's terminal, as the container names it
    # The shell is the session leader of its controlling terminal: ^C reaches it, exit works.
    receiver.converse("exit 3\n", "exit")
    wait_for_status(oci, cid, "stopped")


def test_window_size_follows_the_master(oci, make_bundle, receiver):
    bundle, cid = make_bundle(["sh"], terminal_config())
    oci("create", "--console-socket", receiver.path, "--bundle", str(bundle), cid, check=True)
    master = receiver.receive()
    oci("start", cid, check=True)
    fcntl.ioctl(master, 0x5414, struct.pack("HHHH", 12, 34, 0, 0))  # TIOCSWINSZ
    assert "12 34" in receiver.converse("stty size\n", "12 34")


def test_run_relays_the_terminal_without_console_socket(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "stty size; tty; exit 5"], terminal_config(20, 70))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 5, result.stderr
    assert "20 70" in result.stdout
    assert "/dev/pts/" in result.stdout


def test_exec_tty_with_console_socket(oci, make_bundle, receiver):
    bundle, cid = make_bundle(["sleep", "1000"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    oci("exec", "--tty", "--detach", "--console-socket", receiver.path, cid, "sh", check=True)
    receiver.receive()
    output = receiver.converse("tty; echo $$; echo fi''nished\n", "finished")
    assert receiver.name in output
    receiver.converse("exit\n", "exit")


def test_exec_tty_relayed(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "1000"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    result = oci("exec", "--tty", cid, "sh", "-c", "tty; exit 4")
    assert result.returncode == 4, result.stderr
    assert "/dev/pts/" in result.stdout


def test_terminal_without_console_socket_is_refused_by_create(oci, make_bundle):
    bundle, cid = make_bundle(["sh"], terminal_config())
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode == 1
    assert "--console-socket" in result.stderr


# -- newlines: runc clears ONLCR on the container's pty ------------------------------------------

def test_captured_output_of_a_terminal_has_plain_newlines(oci, make_bundle, receiver):
    """What a caller reads from the master (docker logs, kubectl logs of a -t container) has
    "\\n" as the program wrote it, not "\\r\\n" (runc's ClearONLCR)."""
    bundle, cid = make_bundle(["sh", "-c", "read line; printf 'one\\ntwo\\n'"], terminal_config())
    oci("create", "--console-socket", receiver.path, "--bundle", str(bundle), cid, check=True)
    receiver.receive()
    oci("start", cid, check=True)
    output = receiver.converse("go\r", "two\n")
    assert "one\ntwo\n" in output, repr(output)


def test_run_relays_plain_newlines_to_a_file(oci, make_bundle):
    bundle, cid = make_bundle(["printf", "one\\ntwo\\n"], terminal_config())
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "one\ntwo\n"


def test_run_on_a_terminal_still_shows_lines_one_under_the_other(oci, make_bundle):
    """The caller's own terminal, in raw mode for `run`, keeps its output processing (as
    containerd/console's SetRaw): its ONLCR turns the container's "\\n" into "\\r\\n"."""
    import subprocess

    bundle, cid = make_bundle(["printf", "one\\ntwo\\n"], terminal_config())
    master, slave = os.openpty()
    try:
        process = subprocess.Popen([*oci.command, "--root", oci.root, "run", "--bundle",
                                    str(bundle), cid], stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        slave = None
        output = b""
        deadline = time.monotonic() + FAILURE_AFTER
        while process.poll() is None or select.select([master], [], [], 0)[0]:
            if time.monotonic() > deadline:
                process.kill()
                break
            if select.select([master], [], [], 0.1)[0]:
                try:
                    output += os.read(master, 4096)
                except OSError:
                    break
        process.wait(timeout=FAILURE_AFTER)
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
    assert b"one\r\ntwo\r\n" in output, output
