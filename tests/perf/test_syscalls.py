"""The system calls `state`, `start`, `kill` and `delete` make on a container, counted under
strace: every one the command's purpose needs, none it does not (docs/performance.md).

Only the calls that touch the container are listed (paths under the state root, the init's
/proc entries, /sys/fs/cgroup, and the process and socket calls on them); the interpreter's
start-up and the imports are the same for every command and are not the container's.  A call
joining a list here is a cost on every container's path: add it only with the reason."""
import os
import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("strace") is None,
                                reason="strace is not installed (scripts/setup installs it)")

# syscall(..."path"...) or connect(fd, {... sun_path="path"}): the first quoted string.
_CALL = re.compile(r'^(?:\d+ +)?(\w+)\((.*)\) += (-?\w+)')
_PATH = re.compile(r'"((?:[^"\\]|\\.)*)"')
# The calls on the container that take no path: the lock, the init, start.sock's socket.
_PATHLESS = {"flock", "pidfd_open", "pidfd_send_signal", "waitid", "kill", "sendto", "recvfrom"}


def container_calls(oci, args, root, pid):
    """[(syscall, path or "")] of ``oci-runtime --root root *args`` that touch the container:
    paths under ``root``, /proc/<pid> and /sys/fs/cgroup, and the calls in _PATHLESS."""
    with_strace = ["strace", "-f", "-qq", "-o", f"{root}.strace", *oci.command,
                   "--root", root, *args]
    result = subprocess.run(with_strace, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    prefixes = (f"{root}/", f"/proc/{pid}/", "/sys/fs/cgroup/")
    calls = []
    with open(f"{root}.strace") as trace:
        for line in trace:
            match = _CALL.match(line)
            if match is None:
                continue
            name, arguments = match.group(1), match.group(2)
            path = _PATH.search(arguments)
            if path is not None and path.group(1).startswith(prefixes):
                shown = path.group(1).replace(f"/proc/{pid}/", "/proc/PID/")
                calls.append((name, shown.replace(root, "ROOT")))
            elif name in _PATHLESS:
                calls.append((name, ""))
    os.unlink(f"{root}.strace")
    return calls


def recorded(oci, container_id):
    import json

    with open(os.path.join(oci.root, container_id, "state.json")) as state:
        return json.load(state)


def recorded_cgroup_directories(oci, container_id):
    return recorded(oci, container_id)["cgroup"]["directories"]


def freezer_reads(oci, container_id):
    """Reading whether the container is paused: its freezer's file (v1 freezer.state, v2
    cgroup.freeze), as create recorded it."""
    freezer = recorded(oci, container_id)["freezer_state_file"]
    return [("openat", freezer)] if freezer else []


def test_state_of_a_running_container(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "60"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    pid = oci.state(cid)["pid"]
    assert container_calls(oci, ["state", cid], oci.root, pid) == [
        ("openat", f"ROOT/{cid}/state.json"),
        ("openat", "/proc/PID/stat"),        # alive, and the recorded process
        ("readlink", "/proc/PID/exe"),       # exec'd: not waiting for start
    ] + freezer_reads(oci, cid)              # paused?


def test_state_of_a_created_container(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "60"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    pid = oci.state(cid)["pid"]
    assert container_calls(oci, ["state", cid], oci.root, pid) == [
        ("openat", f"ROOT/{cid}/state.json"),
        ("openat", "/proc/PID/stat"),
        ("readlink", "/proc/PID/exe"),       # still the executor's memfd ...
        ("newfstatat", f"ROOT/{cid}/start.sock"),  # ... and not yet released by a start
    ]


def test_start(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "60"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    pid = oci.state(cid)["pid"]
    assert container_calls(oci, ["start", cid], oci.root, pid) == [
        ("openat", f"ROOT/{cid}/state.json"),
        ("openat", f"ROOT/{cid}"),            # the container's lock
        ("flock", ""),
        ("newfstatat", f"ROOT/{cid}"),        # still this container's directory
        ("openat", "/proc/PID/stat"),
        ("readlink", "/proc/PID/exe"),
        ("newfstatat", f"ROOT/{cid}/start.sock"),
        ("connect", f"ROOT/{cid}/start.sock"),
        ("sendto", ""),
        ("recvfrom", ""),                     # released: the init is past all that can fail
        ("unlink", f"ROOT/{cid}/start.sock"),  # `created` ends here, not at its execve
    ]


@pytest.mark.parametrize("signal", ["TERM", "KILL"])
def test_kill(oci, make_bundle, signal):
    bundle, cid = make_bundle(["sleep", "60"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    pid = oci.state(cid)["pid"]
    # Only a SIGKILL asks whether the container is paused: a frozen one is thawed to die.
    paused = freezer_reads(oci, cid) if signal == "KILL" else []
    assert container_calls(oci, ["kill", cid, signal], oci.root, pid) == [
        ("openat", f"ROOT/{cid}/state.json"),
        ("openat", f"ROOT/{cid}"),
        ("flock", ""),
        ("newfstatat", f"ROOT/{cid}"),
        ("pidfd_open", ""),
        ("openat", "/proc/PID/stat"),  # the pidfd is the recorded init's, and it is alive
    ] + paused + [("pidfd_send_signal", "")]


def test_delete_of_a_stopped_container_removes_what_it_recorded_and_nothing_else(
        oci, make_bundle):
    """No cgroup hierarchy probed or walked, no directory listed, no network record looked
    for, no other container's leftovers swept: the recorded cgroup directories and the state
    directory's own files."""
    bundle, cid = make_bundle(["true"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    pid = oci.state(cid)["pid"]
    oci("start", cid, check=True)
    _wait_stopped(oci, cid)
    directories = recorded_cgroup_directories(oci, cid)
    calls = container_calls(oci, ["delete", cid], oci.root, pid)
    doomed = calls[-2][1]  # the directory renamed to a name no id has (store.remove)
    assert doomed.startswith("ROOT/~deleting."), calls
    assert calls == [
        ("openat", f"ROOT/{cid}"),
        ("flock", ""),
        ("newfstatat", f"ROOT/{cid}"),
        ("openat", f"ROOT/{cid}/state.json"),  # read once, under the lock
        ("openat", "/proc/PID/stat"),           # stopped
    ] + [("rmdir", directory) for directory in directories] + [
        ("rename", f"ROOT/{cid}"),
        ("unlink", f"{doomed}/state.json"),
        ("unlink", f"{doomed}/state.json.backup"),
        ("unlink", f"{doomed}/config.json"),
        ("rmdir", doomed),
        ("waitid", ""),                          # not a child of ours: nothing to reap
    ]
    assert not os.path.exists(os.path.join(oci.root, cid))
    assert [d for d in directories if os.path.exists(d)] == []


def _wait_stopped(oci, cid):
    import time

    deadline = time.monotonic() + 30
    while oci.state(cid)["status"] != "stopped":
        assert time.monotonic() < deadline, "the container did not stop"
        time.sleep(0.01)
