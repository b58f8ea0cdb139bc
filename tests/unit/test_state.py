"""oci_runtime.container.store: ids, status derived from the kernel's view of the init, the public state.

derive_status reads /proc/<pid>/stat through process_start_time; the tests replace that function
(a fake /proc) to reach every branch, and check the real parser on real processes separately."""
import os
import shutil
import subprocess

import pytest


from oci_runtime.container import store as state
from oci_runtime.errors import ContainerNotFound, OCIError
from tests.waiting import FAILURE_AFTER, wait_until, waits_for_flock
from oci_runtime.container.store import (
    START_SOCKET, StateStore, check_container_id, derive_status, process_start_time, public_state,
)


@pytest.fixture
def fake_proc(monkeypatch):
    """{pid: (state letter, start time)}: what process_start_time reports; absent pid = gone.
    /proc/<pid>/exe reads as unreadable (EACCES), so status asks start.sock's listener."""
    processes = {}
    monkeypatch.setattr(state, "process_start_time", processes.get)

    def unreadable(pid):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(state, "init_executable", unreadable)
    return processes


@pytest.mark.parametrize("executable, status", [
    ("/memfd:oci-runtime-executor (deleted)", "created"), ("/bin/sleep", "running"),
])
def test_created_until_the_init_execs(fake_proc, container_dir, monkeypatch, executable, status):
    fake_proc[100] = ("S", 5000)
    open(os.path.join(container_dir, START_SOCKET), "w").close()  # left by a start that died
    monkeypatch.setattr(state, "init_executable", lambda pid: executable)
    assert derive_status(record(), container_dir) == status


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


def test_created_while_the_init_listens_on_the_start_socket(fake_proc, container_dir):
    import socket

    fake_proc[100] = ("S", 5000)
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(os.path.join(container_dir, START_SOCKET))
        listener.listen(1)
        assert derive_status(record(), container_dir) == "created"


def test_running_once_nobody_listens_on_the_start_socket(fake_proc, container_dir):
    """A `start` that died before unlinking start.sock: the init exec'd (closing its
    close-on-exec listener), so the container runs, whatever the file says."""
    import socket

    fake_proc[100] = ("S", 5000)
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(os.path.join(container_dir, START_SOCKET))
        listener.listen(1)
    assert os.path.exists(os.path.join(container_dir, START_SOCKET))
    assert derive_status(record(), container_dir) == "running"


def test_created_beyond_the_sun_path_limit_and_with_a_full_backlog(fake_proc, tmp_path):
    """A container directory longer than sockaddr_un allows is reached through a dir fd; a
    listener whose backlog is full (EAGAIN) still listens."""
    import socket

    fake_proc[100] = ("S", 5000)
    deep = tmp_path / ("d" * 200)
    deep.mkdir()
    address, fd = state.start_socket_address(str(deep))
    assert fd >= 0 and len(address.encode()) < 108
    clients = []
    try:
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(address)
            listener.listen(0)
            for _ in range(3):
                client = socket.socket(socket.AF_UNIX)
                client.setblocking(False)
                clients.append(client)
                try:
                    client.connect(address)
                except BlockingIOError:
                    pass
            assert derive_status(record(), str(deep)) == "created"
    finally:
        for client in clients:
            client.close()
        os.close(fd)


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
            wait_until(lambda: _comm(child.pid) == "a) S (9", "the child to exec")
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


@pytest.mark.parametrize("good", ["a", "c1", "my_container-1.2+x", "A" * 255, "..."])
def test_valid_ids(good):
    check_container_id(good)


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "/abs", "a b", "a\nb", "tab\t", "é",
                                 "a:b", "A" * 256, "../../etc"])
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


def test_a_container_being_removed_is_whole_or_gone(tmp_path, monkeypatch):
    """remove() renames the directory away before emptying it: at every step of the removal a
    reader finds the whole container or none (never a directory without state: "creating")."""
    store = StateStore(str(tmp_path / "root"))
    store.reserve("c1")
    store.save("c1", {"id": "c1", "pid": 3})
    seen = []
    real_unlink, real_rmdir = state.hotpath.unlink, state.hotpath.rmdir

    def observe(real):
        def call(path, *args):
            try:
                seen.append(store.load("c1"))
            except ContainerNotFound:
                seen.append("gone")
            return real(path, *args)
        return call

    monkeypatch.setattr(state.hotpath, "unlink", observe(real_unlink))
    monkeypatch.setattr(state.hotpath, "rmdir", observe(real_rmdir))
    store.remove("c1")
    monkeypatch.undo()
    assert seen and set(seen) == {"gone"}, seen
    assert os.listdir(store.root) == []
    store.remove("c1")  # a second remove (a racing delete) is quiet


def test_a_lock_taken_after_a_delete_says_not_found(tmp_path):
    store = StateStore(str(tmp_path / "root"))
    store.reserve("c1")
    first = store.lock("c1")
    import threading

    outcome = []
    waiter = threading.Thread(target=lambda: outcome.append(_lock_outcome(store)))
    waiter.start()
    wait_until(lambda: waits_for_flock(store.container_dir("c1")), "the waiter to block")
    store.remove("c1")
    os.close(first)
    waiter.join(FAILURE_AFTER)
    assert outcome == ["not found"]


def _lock_outcome(store):
    try:
        os.close(store.lock("c1"))
    except ContainerNotFound:
        return "not found"
    return "locked"


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"), (b"   \n", "empty file"), (b'{"id": "c1", "pid"', "not JSON"),
    (b"\xff\xfe", "not JSON"), (b"null", "not a JSON object"), (b"[1]", "not a JSON object"),
    (b'{"pid": 1}', "its id is None"), (b'{"id": "c2"}', "its id is 'c2'"),
])
def test_a_damaged_state_file_is_a_one_line_error_naming_it(tmp_path, content, reason):
    from oci_runtime.errors import DamagedState

    store = StateStore(str(tmp_path / "root"))
    directory = store.reserve("c1")
    store.save("c1", {"id": "c1", "pid": 3})
    with open(f"{directory}/state.json", "wb") as state_file:
        state_file.write(content)
    with pytest.raises(DamagedState) as caught:
        store.load("c1")
    message = str(caught.value)
    assert message.startswith(f"{directory}/state.json: damaged container state: {reason}")
    assert "\n" not in message
    assert store.load_backup("c1") == {"id": "c1", "pid": 3}


def test_a_failed_write_names_the_path_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    with pytest.raises(OCIError, match=rf"^{tmp_path}/missing/x: No such file or directory$"):
        state.write_atomically(f"{tmp_path}/missing/x", b"data")
    # A full filesystem: the temporary file is made, its write fails (ENOSPC), it is removed.
    real_write = state.hotpath.write

    def write_to_a_full_disk(fd, data):
        real_write(fd, bytes(data[:1]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(state.hotpath, "write", write_to_a_full_disk)
    with pytest.raises(OCIError, match=rf"^{tmp_path}/f: No space left on device$"):
        state.write_atomically(f"{tmp_path}/f", b"data")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_a_removal_interrupted_after_its_rename_is_hidden_and_finished_later(tmp_path):
    """A delete killed between its rename and its rmdir leaves ~deleting.<pid>: no id can have
    that name, so list never shows it, and the next create finishes it (a delete touches its
    own container only)."""
    store = StateStore(str(tmp_path / "root"))
    for container_id in ("c1", "c2"):
        store.reserve(container_id)
    dead = subprocess.Popen(["true"])
    dead.wait()
    os.rename(f"{store.root}/c1", f"{store.root}/~deleting.{dead.pid}")
    assert store.list_ids() == ["c2"]
    with pytest.raises(ContainerNotFound):
        store.load("c1")
    store.remove("c2")
    assert os.listdir(store.root) == [f"~deleting.{dead.pid}"]
    store.reserve("c3")
    assert os.listdir(store.root) == ["c3"]


def test_a_removal_takes_what_else_is_in_the_directory(tmp_path):
    """The store's own files go by name; anything else (a start.sock of a container never
    started, a network record, a directory) is found when the rmdir says it is not empty."""
    store = StateStore(str(tmp_path / "root"))
    path = store.reserve("c1")
    open(f"{path}/config.json", "w").close()
    open(f"{path}/{START_SOCKET}", "w").close()
    os.makedirs(f"{path}/criu-root/inner")
    store.remove("c1")
    assert os.listdir(store.root) == []


def test_two_threads_removing_at_once_each_remove_their_own(tmp_path, monkeypatch):
    """The Python API deletes from threads: while one thread's removal is half-way (renamed,
    not yet emptied), another thread's removal must neither fail nor take that directory."""
    import threading

    store = StateStore(str(tmp_path / "root"))
    for container_id in ("c1", "c2"):
        store.reserve(container_id)
    renamed, second_done = threading.Event(), threading.Event()
    remove_directory = state._remove_state_directory

    def first_thread_waits(path):
        if threading.current_thread() is not threading.main_thread() and not renamed.is_set():
            renamed.set()
            assert second_done.wait(10)
        remove_directory(path)

    monkeypatch.setattr(state, "_remove_state_directory", first_thread_waits)
    errors = []

    def remove_c1():
        try:
            store.remove("c1")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    first = threading.Thread(target=remove_c1)
    first.start()
    assert renamed.wait(10)
    store.remove("c2")  # the main thread, while c1's removal waits after its rename
    left = os.listdir(store.root)  # c1's renamed directory, still the first thread's to empty
    second_done.set()
    first.join(10)
    assert errors == []
    assert len(left) == 1 and left[0].startswith("~deleting."), left
    assert os.listdir(store.root) == []
