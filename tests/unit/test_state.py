"""oci_runtime.state: ids, status derived from the kernel's view of the init, the public state.

derive_status reads /proc/<pid>/stat through process_start_time; the tests replace that function
(a fake /proc) to reach every branch, and check the real parser on real processes separately."""
import os
import shutil
import subprocess
import time

import pytest

from oci_runtime import state
from oci_runtime.errors import ContainerNotFound, OCIError
from oci_runtime.state import (
    START_SOCKET, StateStore, check_container_id, derive_status, process_start_time, public_state,
)


@pytest.fixture
def fake_proc(monkeypatch):
    """{pid: (state letter, start time)}: what process_start_time reports; absent pid = gone."""
    processes = {}
    monkeypatch.setattr(state, "process_start_time", processes.get)
    return processes


@pytest.fixture
def container_dir(tmp_path):
    return str(tmp_path)


def record(**fields):
    base = {"id": "c1", "status": "created", "pid": 100, "init_start_time": 5000}
    base.update(fields)
    return base


# -- derive_status -------------------------------------------------------------------------


def test_creating_while_create_has_not_recorded_a_pid(fake_proc, container_dir):
    assert derive_status({"id": "c1", "status": "creating", "pid": 0}, container_dir) == "creating"


def test_created_while_the_start_socket_exists(fake_proc, container_dir):
    fake_proc[100] = ("S", 5000)
    open(os.path.join(container_dir, START_SOCKET), "w").close()
    assert derive_status(record(), container_dir) == "created"


def test_running_once_the_start_socket_is_gone(fake_proc, container_dir):
    fake_proc[100] = ("S", 5000)
    assert derive_status(record(), container_dir) == "running"


@pytest.mark.parametrize("seen", [None, ("S", 5001), ("Z", 5000), ("X", 5000)],
                         ids=["gone", "pid-reused", "zombie", "dead"])
def test_stopped_when_the_init_is_gone_reused_or_a_zombie(fake_proc, container_dir, seen):
    if seen is not None:
        fake_proc[100] = seen
    open(os.path.join(container_dir, START_SOCKET), "w").close()  # even if never started
    assert derive_status(record(), container_dir) == "stopped"


def test_stopped_without_a_pid_unless_creating(fake_proc, container_dir):
    assert derive_status(record(pid=0, status="running"), container_dir) == "stopped"


@pytest.mark.parametrize("content, status", [
    (b"FROZEN\n", "paused"), (b"1\n", "paused"), (b"THAWED\n", "running"), (b"0\n", "running"),
    (b"FREEZING\n", "running"),
])
def test_paused_from_the_freezer_state_file(fake_proc, container_dir, tmp_path, content, status):
    fake_proc[100] = ("S", 5000)
    freezer = tmp_path / "freezer.state"
    freezer.write_bytes(content)
    assert derive_status(record(freezer_state_file=str(freezer)), container_dir) == status


def test_an_unreadable_freezer_file_means_running(fake_proc, container_dir, tmp_path):
    fake_proc[100] = ("S", 5000)
    missing = str(tmp_path / "removed-cgroup" / "cgroup.freeze")
    assert derive_status(record(freezer_state_file=missing), container_dir) == "running"


# -- process_start_time (the real parser) -------------------------------------------------------


def test_process_start_time_of_a_live_process_and_a_gone_one():
    with subprocess.Popen(["sleep", "30"]) as child:
        try:
            letter, started = process_start_time(child.pid)
            assert letter in "RSD" and started > 0
            with open(f"/proc/{child.pid}/stat") as stat:
                assert started == int(stat.read().rsplit(")", 1)[1].split()[19])
        finally:
            child.kill()
    assert process_start_time(child.pid) is None  # reaped by Popen's exit


def test_process_start_time_with_spaces_and_parentheses_in_the_command_name(tmp_path):
    # The command name is free text: "a) S (9" must not shift the fields.
    odd = tmp_path / "a) S (9"
    shutil.copy(shutil.which("sleep"), odd)
    with subprocess.Popen([str(odd), "30"]) as child:
        try:
            deadline = time.monotonic() + 5
            while _comm(child.pid) != "a) S (9":  # until the child has exec'd
                assert time.monotonic() < deadline
                time.sleep(0.01)
            with open(f"/proc/{child.pid}/stat") as stat:
                expected = int(stat.read().rsplit(")", 1)[1].split()[19])
            letter, started = process_start_time(child.pid)
            assert letter in "RSD"
            assert started == expected
        finally:
            child.kill()


def _comm(pid):
    with open(f"/proc/{pid}/comm") as comm:
        return comm.read().strip()


# -- public_state ------------------------------------------------------------------------------


def test_public_state_has_the_spec_fields_and_runc_s_extras():
    saved = record(bundle="/b", rootfs="/b/rootfs", created="2024-01-01T00:00:00Z",
                   annotations={"a": "b"}, cgroup={"private": True}, init_start_time=7)
    shown = public_state(saved, "running")
    assert shown == {"ociVersion": "1.3.0", "id": "c1", "status": "running", "pid": 100,
                     "bundle": "/b", "rootfs": "/b/rootfs", "created": "2024-01-01T00:00:00Z",
                     "owner": "", "annotations": {"a": "b"}}


@pytest.mark.parametrize("status, pid", [("created", 100), ("running", 100), ("paused", 100),
                                         ("stopped", 0), ("creating", 0)])
def test_public_state_shows_a_pid_only_while_the_init_lives(status, pid):
    assert public_state(record(), status)["pid"] == pid


def test_public_state_omits_empty_annotations():
    assert "annotations" not in public_state(record(annotations={}), "running")


# -- ids and the store ----------------------------------------------------------------------


@pytest.mark.parametrize("good", ["a", "c1", "my_container-1.2+x", "A" * 1024, "..."])
def test_valid_ids(good):
    check_container_id(good)


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "/abs", "a b", "a\nb", "tab\t", "é",
                                 "a:b", "A" * 1025, "../../etc"])
def test_invalid_ids_are_refused(bad):
    with pytest.raises(OCIError):
        check_container_id(bad)


def test_store_round_trip_and_not_found(tmp_path):
    store = StateStore(str(tmp_path / "root"))
    with pytest.raises(ContainerNotFound, match="does not exist"):
        store.load("nope")
    directory = store.reserve("c1")
    assert os.stat(directory).st_mode & 0o777 == 0o700
    # Reserved but not yet saved: `create` is still running.
    assert store.load("c1")["status"] == "creating"
    with pytest.raises(OCIError, match="already exists"):
        store.reserve("c1")
    store.save("c1", {"id": "c1", "pid": 3, "note": "é"})
    assert store.load("c1") == {"id": "c1", "pid": 3, "note": "é"}
    assert store.list_ids() == ["c1"]
    assert not [n for n in os.listdir(directory) if ".tmp." in n]  # atomic writes leave no temp
    store.remove("c1")
    assert store.list_ids() == []
