"""exec and ps against real containers: the new process shares the init's namespaces and cgroup,
gets the saved process settings with the command line's overrides, and reports its exit status."""
import json
import os
import subprocess
import sys

import pytest

from tests.waiting import wait_for_program, wait_for_status

NAMESPACES = ("pid", "mnt", "net", "ipc", "uts", "cgroup")


@pytest.fixture
def running(oci, make_bundle):
    """A running container whose init sleeps; returns (container id, init pid)."""
    def start(edit=None):
        bundle, cid = make_bundle(["sleep", "1000"], edit)
        oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
        return cid, oci.state(cid)["pid"]
    return start


def test_exec_joins_the_namespaces_of_the_init(oci, running):
    cid, pid = running()
    script = "; ".join(f"readlink /proc/self/ns/{n}" for n in NAMESPACES)
    result = oci("exec", cid, "sh", "-c", script, check=True)
    inside = result.stdout.split()
    on_host = [os.readlink(f"/proc/{pid}/ns/{n}") for n in NAMESPACES]
    assert inside == on_host


def test_exec_runs_in_the_container_root_and_cgroup(oci, running):
    cid, _ = running()
    result = oci("exec", cid, "sh", "-c",
                 "cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup; echo ---; ls /; echo ---;"
                 " ls /proc | grep -c '^[0-9]'", check=True)
    own_cgroup, init_cgroup, root_listing, pid_count = result.stdout.split("---\n")
    assert own_cgroup == init_cgroup  # same cgroup, seen through the same cgroup namespace
    assert {"bin", "proc", "etc"} <= set(root_listing.split())  # the container's rootfs
    # pid namespace: the init, the shell, its ls and grep: never the host's hundreds.
    assert int(pid_count) < 8


def test_exec_exit_status_and_signal(oci, running):
    cid, _ = running()
    assert oci("exec", cid, "sh", "-c", "exit 7").returncode == 7
    assert oci("exec", cid, "sh", "-c", "kill -TERM $$").returncode == 128 + 15


def test_exec_overrides_env_cwd_user(oci, running):
    cid, _ = running()
    result = oci("exec", "--env", "FOO=bar", "--cwd", "/tmp", "--user", "65534:65534",
                 "--additional-gids", "10", cid, "sh", "-c", "echo $FOO; pwd; id -u; id -g; id -G",
                 check=True)
    assert result.stdout.split() == ["bar", "/tmp", "65534", "65534", "65534", "10"]


def test_exec_process_file(oci, running, tmp_path):
    cid, _ = running()
    process = {"args": ["sh", "-c", "echo $ONLY; pwd"], "cwd": "/bin", "env": ["ONLY=here"],
               "user": {"uid": 0, "gid": 0}}
    spec = tmp_path / "process.json"
    spec.write_text(json.dumps(process))
    result = oci("exec", "--process", str(spec), cid, check=True)
    assert result.stdout.split() == ["here", "/bin"]


def test_exec_detached_writes_pid_file(oci, running, tmp_path):
    cid, _ = running()
    pid_file = tmp_path / "exec.pid"
    oci("exec", "--detach", "--pid-file", str(pid_file), cid, "sleep", "1000", check=True)
    pid = int(pid_file.read_text())
    wait_for_program(pid, ["sleep", "1000"])  # exec --detach returns as the execve begins
    listed = json.loads(oci("ps", "--format", "json", cid, check=True).stdout)
    assert pid in listed and oci.state(cid)["pid"] in listed


def test_exec_unknown_command_reports_the_error(oci, running):
    cid, _ = running()
    result = oci("exec", cid, "no-such-program")
    assert result.returncode == 255
    assert "no-such-program" in result.stderr and "not found" in result.stderr


def test_exec_exit_statuses_are_runcs(oci, running, tmp_path):
    """runc 1.5.1's tests/integration/exec.bats "exec [exit codes]": the process's own status
    passes through; an exec that fails before its process runs exits 255, so a caller tells
    "exec failed" from "the process exited 1"; a usage error is 1."""
    cid, _ = running()
    assert oci("exec", cid, "false").returncode == 1
    assert oci("exec", cid, "sh", "-c", "exit 42").returncode == 42
    assert oci("exec", "--pid-file", str(tmp_path / "no" / "dir"), cid, "true").returncode == 255
    assert oci("exec", "-d", cid, "no-such-binary").returncode == 255
    assert oci("exec", "no-such-container", "true").returncode == 255
    assert oci("exec", "--process", str(tmp_path / "missing.json"), cid).returncode == 255
    usage = oci("exec", cid)  # neither a command nor --process
    assert usage.returncode == 1 and "usage:" in usage.stderr
    assert oci("exec", "--no-such-flag", cid, "true").returncode == 1


def test_exec_into_a_stopped_container_fails(oci, make_bundle):
    bundle, cid = make_bundle(["true"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    wait_for_status(oci, cid, "stopped")
    result = oci("exec", cid, "true")
    assert result.returncode == 255  # runc's status for an exec that failed
    assert f"cannot exec in container {cid}: it is stopped" in result.stderr


def test_exec_capabilities_and_no_new_privs(oci, running):
    cid, _ = running(lambda c: c["process"].update(noNewPrivileges=False))
    result = oci("exec", "--no-new-privs", "--cap", "CAP_SYS_ADMIN", cid, "sh", "-c",
                 "grep -E '^(NoNewPrivs|CapEff)' /proc/self/status", check=True)
    fields = dict(line.split(":\t") for line in result.stdout.splitlines())
    assert fields["NoNewPrivs"] == "1"
    assert int(fields["CapEff"], 16) & (1 << 21)  # CAP_SYS_ADMIN added to the saved set


def run_with_fds_from_3(oci, fds, *args):
    """Run the runtime with ``fds`` as its fds 3, 4, ... (what --preserve-fds passes on)."""
    # A tiny Python trampoline: sh cannot redirect fds above 9, and subprocess would close them.
    trampoline = ("import os, sys\n"
                  "fds = [int(fd) for fd in sys.argv[1].split(',')]\n"
                  "moved = [os.dup(fd) for fd in fds]\n"
                  "for index, fd in enumerate(moved):\n"
                  "    os.dup2(fd, 3 + index)\n"
                  "    os.set_inheritable(3 + index, True)\n"
                  "os.closerange(3 + len(fds), 1024)\n"
                  "os.execvp(sys.argv[2], sys.argv[2:])\n")
    return subprocess.run(
        [sys.executable, "-c", trampoline, ",".join(map(str, fds)), *oci.command,
         "--root", oci.root, *args],
        pass_fds=fds, capture_output=True, text=True, timeout=60)


def test_exec_preserve_fds(oci, running):
    cid, _ = running()
    read_end, write_end = os.pipe()
    try:
        result = run_with_fds_from_3(oci, [write_end], "exec", "--preserve-fds", "1", cid,
                                     "sh", "-c", "echo through >&3")
        assert result.returncode == 0, result.stderr
        os.close(write_end)
        write_end = None
        assert os.read(read_end, 100) == b"through\n"
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)


def test_exec_refuses_preserving_fds_it_was_not_given(oci, running):
    cid, _ = running()
    result = oci("exec", "--preserve-fds", "3", cid, "true")
    assert result.returncode == 255
    assert "--preserve-fds 3: fd 3 is not open" in result.stderr


def test_run_with_preserve_fds_sees_exactly_fds_0_to_4(oci, make_bundle):
    # `ls /proc/self/fd` would list the fd ls opens on the directory: list the shell's instead
    # (the trailing `true` keeps busybox sh from exec'ing ls in its own place).
    bundle, cid = make_bundle(["sh", "-c", "ls /proc/$$/fd; true"])
    first, second = os.pipe()
    try:
        result = run_with_fds_from_3(oci, [first, second], "run", "--preserve-fds", "2",
                                     "--bundle", str(bundle), cid)
    finally:
        os.close(first)
        os.close(second)
    assert result.returncode == 0, result.stderr
    assert sorted(int(fd) for fd in result.stdout.split()) == [0, 1, 2, 3, 4]


def test_ps_json_and_table(oci, running):
    cid, pid = running()
    listed = json.loads(oci("ps", "--format", "json", cid, check=True).stdout)
    assert listed == [pid]
    table = oci("ps", cid, check=True).stdout.splitlines()
    assert table[0].split()[:2] == ["UID", "PID"]
    assert [int(line.split()[1]) for line in table[1:]] == [pid]
