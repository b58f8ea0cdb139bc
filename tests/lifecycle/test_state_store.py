"""The state store against damage, full or read-only roots, and races: one bad file never breaks
the root, a failed write leaves nothing and names its path, and concurrent commands are
serialised by the container lock."""
import fcntl
import json
import os
import socket
import subprocess

import pytest

from test_transaction import assert_nothing_left, cgroup_dirs, config_of
from tests.waiting import (FAILURE_AFTER, process_alive, wait_exited, wait_for_status, wait_until,
                           waits_for_flock)

DAMAGES = {
    "empty": b"",
    "truncated": None,  # the first 20 bytes of the real file
    "garbage": b"\x00\xffgarbage{",
    "null": b"null",
    "missing-id": b'{"pid": 1, "status": "running"}',
    "other-id": b'{"id": "someone-else"}',
    "deleted": "unlink",
}


def damage(path, how):
    if how == "unlink":
        os.unlink(path)
        return
    if how is None:
        how = open(path, "rb").read()[:20]
    with open(path, "wb") as state_file:
        state_file.write(how)


@pytest.mark.parametrize("kind", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_state_file_is_one_line_and_delete_force_still_cleans_up(oci, make_bundle, kind):
    good_bundle, good = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(good_bundle), good, check=True)
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    init_pid = oci.state(cid)["pid"]
    state_path = os.path.join(oci.root, cid, "state.json")
    damage(state_path, DAMAGES[kind])

    for command in (("state", cid), ("kill", cid, "KILL"), ("start", cid), ("pause", cid),
                    ("delete", cid)):
        result = oci(*command)
        assert result.returncode == 1, command
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"{state_path}: damaged container state" in result.stderr, result.stderr

    listing = oci("list", "--format", "json")
    assert listing.returncode == 0, listing.stderr
    statuses = {entry["id"]: entry["status"] for entry in json.loads(listing.stdout)}
    assert statuses == {good: "created", cid: "unknown"}
    assert listing.stderr == (f"oci-runtime: warning: {state_path}: damaged container state: "
                              f"{listing.stderr.split('damaged container state: ', 1)[1]}")
    assert "listed as unknown" in listing.stderr
    assert sorted(oci("list", "-q").stdout.split()) == sorted([good, cid])

    assert process_alive(init_pid)
    oci("delete", "--force", cid, check=True)
    wait_exited(init_pid)  # the init of the damaged container did not survive
    assert not os.path.exists(os.path.join(oci.root, cid))
    assert cgroup_dirs(config_of(bundle)["linux"]["cgroupsPath"]) == []
    assert oci.state(good)["status"] == "created"


@pytest.fixture
def small_root(tmp_path):
    """A tmpfs of 256 KiB as the state root's filesystem."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)], check=True)
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(directory, leave_pages):
    """Fill ``directory``'s filesystem but ``leave_pages`` pages of 4 KiB."""
    stats = os.statvfs(directory)
    free = stats.f_bavail * stats.f_frsize
    with open(directory / "filler", "wb") as filler:
        filler.write(b"\0" * max(free - leave_pages * 4096, 0))


@pytest.mark.parametrize("leave_pages", [0, 1, 2, 3, 4])
def test_a_full_state_root_names_the_path_and_leaves_nothing(make_bundle, small_root, leave_pages,
                                                             runtime_at):
    oci = runtime_at(small_root / "state")
    os.mkdir(oci.root)
    fill(small_root, leave_pages)
    bundle, cid = make_bundle(["sleep", "30"])
    try:
        result = oci("create", "--bundle", str(bundle), cid)
        if result.returncode == 0:
            return  # it fitted: nothing to check but the cleanup
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert f"{oci.root}" in result.stderr and "No space left on device" in result.stderr, \
            result.stderr
        assert ".tmp." not in result.stderr
        assert os.listdir(oci.root) in ([], [".seccomp-cache"])
        assert cgroup_dirs(config_of(bundle)["linux"]["cgroupsPath"]) == []
    finally:
        oci.cleanup()


def test_a_read_only_state_root_names_the_path(make_bundle, tmp_path, runtime_at):
    root = tmp_path / "ro"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(root)], check=True)
    try:
        oci = runtime_at(root / "state")
        bundle, cid = make_bundle(["true"])
        result = oci("create", "--bundle", str(bundle), cid)
        assert result.returncode == 1
        assert result.stderr == f"oci-runtime: state root {root}/state: Read-only file system\n"
        assert cgroup_dirs(config_of(bundle)["linux"]["cgroupsPath"]) == []
    finally:
        subprocess.run(["umount", "-l", str(root)], check=True)


def test_concurrent_forced_deletes_of_one_container_all_succeed(oci, make_bundle):
    calls = []
    for _ in range(8):
        bundle, cid = make_bundle(["sleep", "30"])
        oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
        racers = [subprocess.Popen(oci.command + ["--root", oci.root, "delete", "--force", cid],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True) for _ in range(5)]
        calls += [(racer.wait(timeout=60), racer.stderr.read()) for racer in racers]
        assert_nothing_left(oci, bundle, cid)
    failed = [call for call in calls if call[0] != 0]
    assert failed == [], f"{len(failed)} of {len(calls)} failed: {failed[:3]}"


def test_state_never_says_creating_while_a_delete_runs(oci, make_bundle):
    seen = set()
    for _ in range(5):
        bundle, cid = make_bundle(["sleep", "30"])
        oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
        deleter = subprocess.Popen(oci.command + ["--root", oci.root, "delete", "--force", cid],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        while True:
            result = oci("state", cid)
            if result.returncode:
                assert "does not exist" in result.stderr, result.stderr
                break
            seen.add(json.loads(result.stdout)["status"])
        deleter.wait(timeout=FAILURE_AFTER)
    # "paused": killing on cgroup v1 freezes the cgroup first (nothing forks in between).
    assert "creating" not in seen and seen <= {"running", "paused", "stopped"}, seen


def test_a_start_that_dies_after_releasing_the_init_leaves_a_running_container(oci, make_bundle):
    """`start` is killed between its connect and its unlink of start.sock: the container runs,
    so it must read `running`, not `created` (created ends with the init's listening socket)."""
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    path = os.path.join(oci.root, cid, "start.sock")
    # What `start` does up to the moment it is killed: connect, ask, read the release.
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(path)
        connection.sendall(b"start")
        assert connection.recv(1) == b"\0"
    assert os.path.exists(path)
    wait_for_status(oci, cid, "running")  # not `created` once the init has exec'd
    assert "cannot start a container that is running" in oci("start", cid).stderr


def test_state_does_not_disturb_a_created_container(oci, make_bundle):
    """`state` probes start.sock with a connection that sends nothing: the init takes it for a
    stray one and still starts when `start` comes."""
    bundle, cid = make_bundle(["sh", "-c", "echo started > /tmp/out; sleep 30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    for _ in range(20):
        assert oci.state(cid)["status"] == "created"
    oci("start", cid, check=True)
    assert oci.state(cid)["status"] == "running"


@pytest.mark.parametrize("command", [
    ("kill", "KILL"), ("update", "--pids-limit", "50"), ("pause",), ("resume",), ("start",),
    ("delete", "--force"),
], ids=lambda command: command[0])
def test_commands_that_change_a_container_wait_for_its_lock(oci, make_bundle, command):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create" if command[0] == "start" else "run", *(() if command[0] == "start" else ("--detach",)),
        "--bundle", str(bundle), cid, check=True)
    if command[0] == "resume":
        oci("pause", cid, check=True)
    directory = os.path.join(oci.root, cid)
    lock = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        args = ["kill", cid, "KILL"] if command[0] == "kill" else [command[0], *command[1:], cid]
        waiter = subprocess.Popen(oci.command + ["--root", oci.root, *args],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        # Not "still running half a second later": the kernel lists it as blocked on our lock.
        def blocked():
            assert waiter.poll() is None, f"{command[0]} did not wait for the lock"
            return waits_for_flock(directory)
        wait_until(blocked, f"{command[0]} to wait for the container's lock")
    finally:
        os.close(lock)
    assert waiter.wait(timeout=FAILURE_AFTER) == 0, waiter.stderr.read()
