"""runc's --pidfd-socket (create, run, exec) and --no-subreaper (run, create), issue 23 point 5."""
import os
import signal
import socket
import subprocess

import pytest

from oci_runtime.kernel.fdpass import receive_with_fd
from tests.waiting import FAILURE_AFTER, wait_for_status


class PidfdListener:
    """A listening AF_UNIX stream socket, as runc's callers make one."""

    def __init__(self, path):
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.socket.bind(path)
        self.socket.listen(4)
        self.socket.settimeout(FAILURE_AFTER)
        self.received = []

    def accept_pidfd(self):
        """(data, fd) of the next connection's message."""
        connection, _ = self.socket.accept()
        with connection:
            data, fd = receive_with_fd(connection, 64)
        self.received.append(fd)
        return data, fd

    def close(self):
        self.socket.close()
        for fd in self.received:
            if fd is not None:
                os.close(fd)


@pytest.fixture
def pidfd_listener(tmp_path):
    listener = PidfdListener(str(tmp_path / "pidfd.sock"))
    yield listener
    listener.close()


def pid_of_pidfd(fd):
    assert os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[pidfd]"
    with open(f"/proc/self/fdinfo/{fd}") as info:
        return int(next(line for line in info if line.startswith("Pid:")).split()[1])


@pytest.mark.parametrize("command", [["create"], ["run", "--detach"]])
def test_create_and_run_send_a_pidfd_of_the_init(oci, make_bundle, pidfd_listener, command):
    bundle, cid = make_bundle(["sleep", "1000"])
    oci(*command, "--pidfd-socket", pidfd_listener.path, "--bundle", str(bundle), cid,
        check=True)
    data, fd = pidfd_listener.accept_pidfd()
    assert data == b"standard"  # runc's initType of a container's init
    assert pid_of_pidfd(fd) == oci.state(cid)["pid"]
    signal.pidfd_send_signal(fd, signal.SIGKILL)  # what the caller holds it for
    wait_for_status(oci, cid, "stopped")


def test_exec_sends_a_pidfd_of_its_process(oci, make_bundle, pidfd_listener, tmp_path):
    bundle, cid = make_bundle(["sleep", "1000"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    pid_file = tmp_path / "exec.pid"
    oci("exec", "--detach", "--pid-file", str(pid_file), "--pidfd-socket", pidfd_listener.path,
        cid, "sleep", "1000", check=True)
    data, fd = pidfd_listener.accept_pidfd()
    assert data == b"setns"  # runc's initType of an exec'd process
    assert pid_of_pidfd(fd) == int(pid_file.read_text())


@pytest.mark.parametrize("command, status", [(["create"], 1), (["exec"], 255)])
def test_a_pidfd_socket_nobody_listens_on_fails_before_anything_runs(oci, make_bundle, tmp_path,
                                                                     command, status):
    missing = tmp_path / "nobody.sock"
    bundle, cid = make_bundle(["sleep", "1000"])
    if command == ["exec"]:
        oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
        result = oci("exec", "--pidfd-socket", str(missing), cid, "touch", "/tmp/ran")
        assert not (bundle / "rootfs" / "tmp" / "ran").exists()
    else:
        result = oci("create", "--pidfd-socket", str(missing), "--bundle", str(bundle), cid)
        assert oci("state", cid).returncode == 1  # nothing left
    assert result.returncode == status
    assert f"--pidfd-socket: connecting to {missing}: No such file or directory" in result.stderr


def _orphan_script():
    """The init forks a shell that starts a sleep and exits: the sleep is orphaned; the init
    prints the pid of the sleep's new parent (no pid namespace: host pids)."""
    return ["sh", "-c", 'sh -c "sleep 30 & echo \\$! > /tmp/orphan"; '
                        'grep PPid /proc/$(cat /tmp/orphan)/status']


def _without_pid_namespace(config):
    config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                     if n["type"] != "pid"]


@pytest.mark.parametrize("flags, adopted", [([], True), (["--no-subreaper"], False)])
def test_run_is_the_subreaper_of_the_container_unless_told_not_to(oci, make_bundle, flags,
                                                                   adopted):
    """runc's default: an attached `run` adopts (and reaps) the container's orphans;
    --no-subreaper leaves them to the host's pid 1 (or the nearest subreaper)."""
    bundle, cid = make_bundle(_orphan_script(), _without_pid_namespace)
    run = subprocess.Popen(oci.command + ["--root", oci.root, "run", *flags, "--bundle",
                                          str(bundle), cid],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, text=True)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    parent = int(out.split()[-1])
    assert (parent == run.pid) is adopted


def test_the_api_s_subreaper_reaps_what_it_adopted_and_leaves_the_caller_as_it_was(
        make_bundle, tmp_path):
    from oci_runtime import CreateOptions, Runtime
    from oci_runtime.kernel.syscalls import child_subreaper
    from oci_runtime.process.subreaper import children

    before_children = children()
    bundle, cid = make_bundle(_orphan_script(), _without_pid_namespace)
    runtime = Runtime(str(tmp_path / "api-root"))
    with open(tmp_path / "out", "w") as out:
        saved = os.dup(1)
        os.dup2(out.fileno(), 1)
        try:
            status = runtime.run(cid, str(bundle), CreateOptions(subreaper=True))
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    assert status == 0
    assert int((tmp_path / "out").read_text().split()[-1]) == os.getpid()  # it was adopted
    assert child_subreaper() == 0
    assert children() == before_children  # the orphan, killed by delete, was reaped
