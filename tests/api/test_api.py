"""The Python API (oci_runtime.container.api) used in-process, as a program embedding the runtime would."""
import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from tests.waiting import FAILURE_AFTER, wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from oci_runtime.process.children import FORWARDED_SIGNALS

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")


@pytest.fixture
def runtime(tmp_path):
    from oci_runtime import Runtime

    runtime = Runtime(root=str(tmp_path / "api-state"))
    yield runtime
    for container in runtime.list():
        container.delete(force=True)


def _child_subreaper():
    """prctl(PR_GET_CHILD_SUBREAPER) of this process."""
    import ctypes

    flag = ctypes.c_int()
    assert ctypes.CDLL(None, use_errno=True).prctl(37, ctypes.byref(flag), 0, 0, 0) == 0
    return bool(flag.value)


def _caller_process_settings():
    handlers = {name: signal.getsignal(getattr(signal, name)) for name in FORWARDED_SIGNALS}
    return _child_subreaper(), handlers


def test_package_import_loads_no_api():
    code = "import sys, oci_runtime; print(sorted(m for m in sys.modules if m.startswith('oci_runtime')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['oci_runtime', 'oci_runtime._image']"  # _image: no API


def test_run_returns_the_exit_status(runtime, make_bundle):
    from oci_runtime import Runtime

    bundle, container_id = make_bundle(["sh", "-c", "exit 3"])
    assert Runtime(root=runtime.root).run(container_id, bundle=str(bundle)) == 3
    assert runtime.list() == []  # deleted once it exited


def test_create_start_wait(runtime, make_bundle):
    bundle, container_id = make_bundle(["sh", "-c", "sleep 0.2; exit 5"])
    container = runtime.create(container_id, str(bundle))
    assert container.state()["status"] == "created"
    assert container.state()["pid"] == container.pid > 0
    container.start()
    assert container.status == "running"
    assert container.wait() == 5
    assert container.wait() == 5  # remembered once reaped
    assert container.status == "stopped"
    container.delete()
    with pytest.raises(Exception) as error:
        runtime.get(container_id)
    assert type(error.value).__name__ == "ContainerNotFound"


def test_caller_process_is_left_as_it_was(runtime, make_bundle):
    def own_handler(_signum, _frame):
        pass

    previous_term = signal.signal(signal.SIGTERM, own_handler)
    try:
        before = _caller_process_settings()
        assert before[0] is False
        bundle, container_id = make_bundle(["true"])
        assert runtime.run(container_id, str(bundle)) == 0
        bundle, container_id = make_bundle(["sleep", "1000"])  # until killed, however slow
        container = runtime.create(container_id, str(bundle))
        assert _caller_process_settings() == before  # no subreaper after create
        container.start()
        assert container.exec(["sh", "-c", "exit 4"]) == 4
        process = container.exec(["sleep", "0.1"], detach=True)
        assert process.wait(timeout=FAILURE_AFTER) == 0
        container.kill("KILL")
        assert container.wait(timeout=FAILURE_AFTER) == 128 + 9
        container.delete()
        after = _caller_process_settings()
        assert after == before
        assert after[1]["SIGTERM"] is own_handler
    finally:
        signal.signal(signal.SIGTERM, previous_term)


def test_callers_other_children_keep_their_status(runtime, make_bundle):
    """A child of the caller that exits while `run` waits keeps its status for the caller.
    Ordered, not timed: the child exits once the container has started (it opens the fifo's
    writing end, which blocks until the container reads), and the container ends only once
    the child has (the fifo's EOF: the child's end closes when it exits)."""
    bundle, container_id = make_bundle(["sh", "-c", "cat /sync >/dev/null"])
    os.mkfifo(bundle / "rootfs" / "sync")
    child = subprocess.Popen(["sh", "-c", f"exec 3>{bundle}/rootfs/sync; exit 9"])
    try:
        assert runtime.run(container_id, str(bundle)) == 0
        assert child.wait(timeout=FAILURE_AFTER) == 9  # not reaped by the runtime's wait
    finally:
        if child.poll() is None:  # the container never opened the fifo
            child.kill()
            child.wait()


def test_run_forwards_signals_while_waiting(runtime, make_bundle):
    bundle, container_id = make_bundle(["sh", "-c", "trap 'exit 7' TERM; touch /trapped; "
                                                    "sleep 1000 & wait"])

    failed = []

    def send_term_once_forwarded():
        # Once the container's trap is set and `run` forwards (its handler is in place): a TERM
        # before either would be dropped by pid 1, or end this test process.
        try:
            wait_until(lambda: (bundle / "rootfs" / "trapped").exists()
                       and signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL,
                       "the trap and the forwarding handler")
        except AssertionError as error:
            failed.append(error)
            runtime.get(container_id).kill("KILL")  # run returns (137), the test fails below
            return
        os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=send_term_once_forwarded)
    sender.start()
    try:
        status = runtime.run(container_id, str(bundle))
    finally:
        sender.join()
    assert not failed, failed
    assert status == 7
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_wait_for_a_container_this_process_did_not_start(runtime, make_bundle, oci):
    bundle, container_id = make_bundle(["sleep", "0.5"])
    cli = [*oci.command, "--root", runtime.root]
    subprocess.run([*cli, "create", "--bundle", str(bundle), container_id], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    container = runtime.get(container_id)
    with pytest.raises(TimeoutError):
        container.wait(timeout=0.1)
    container.start()
    # Not our child: the kernel gives its status to its parent only; we learn that it exited.
    assert container.wait(timeout=FAILURE_AFTER) is None
    assert container.status == "stopped"
    container.delete()


def test_containers_outlive_the_caller(runtime, make_bundle):
    bundle, container_id = make_bundle(["sleep", "30"])
    code = (f"from oci_runtime import Runtime; c = Runtime(root={runtime.root!r}).create("
            f"{container_id!r}, {str(bundle)!r}); c.start()")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60,
                   stdout=subprocess.DEVNULL)
    container = runtime.get(container_id)
    assert container.status == "running"
    container.delete(force=True)


def test_typed_errors(runtime, make_bundle):
    from oci_runtime import ConfigError, ContainerNotFound, InvalidState, OCIError

    with pytest.raises(ContainerNotFound, match="does not exist"):
        runtime.get("nothing-here")
    bundle, container_id = make_bundle(["sleep", "10"])
    container = runtime.create(container_id, str(bundle))
    container.start()
    with pytest.raises(InvalidState) as invalid:
        container.start()
    assert invalid.value.status == "running"
    assert str(invalid.value) == ("cannot start a container that is running "
                                  "(only a created container can be started)")
    with pytest.raises(InvalidState):
        container.delete()
    container.delete(force=True)

    def bogus_namespace(config):
        config["linux"]["namespaces"].append({"type": "bogus"})

    bundle, container_id = make_bundle(["true"], edit=bogus_namespace)
    with pytest.raises(ConfigError) as bad:
        runtime.create(container_id, str(bundle))
    assert bad.value.pointer.startswith("/linux/namespaces/")
    assert isinstance(bad.value, OCIError)
    assert runtime.list() == []


def test_exec_process_document_and_state(runtime, make_bundle):
    bundle, container_id = make_bundle(["sleep", "10"])
    container = runtime.create(container_id, str(bundle))
    container.start()
    state = container.state()
    assert state["id"] == container_id and state["bundle"] == str(bundle)
    assert [c.id for c in runtime.list()] == [container_id]
    process = {"args": ["sh", "-c", "test \"$(id -u)\" = 65534"], "cwd": "/",
               "user": {"uid": 65534, "gid": 65534}, "env": ["PATH=/bin"]}
    assert container.exec(process=process) == 0
    assert container.exec(["sh", "-c", "test \"$(id -u)\" = 65534"], user="65534:65534") == 0
    assert container.pid in container.pids()
    stats = container.stats()
    assert "pids" in stats
    json.dumps(stats)
    container.delete(force=True)


def test_status_taken_by_the_kernel_is_not_invented(runtime, make_bundle):
    # SIGCHLD ignored: the kernel reaps children at once, so no status is left to read.
    from oci_runtime import OCIError

    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        bundle, container_id = make_bundle(["sh", "-c", "exit 6"])
        container = runtime.create(container_id, str(bundle))
        container.start()
        assert container.wait(timeout=30) is None
        container.delete()
        bundle, container_id = make_bundle(["sleep", "30"])
        container = runtime.create(container_id, str(bundle))
        container.start()
        with pytest.raises(OCIError, match="status was taken by another waiter"):
            container.exec(["sh", "-c", "exit 4"])
        assert container.exec(["true"], detach=True).wait(timeout=30) is None
        container.delete(force=True)
        bundle, container_id = make_bundle(["sh", "-c", "exit 6"])
        with pytest.raises(OCIError, match="status was taken by another waiter"):
            runtime.run(container_id, str(bundle))
        assert runtime.list() == []
    finally:
        signal.signal(signal.SIGCHLD, previous)


def test_from_another_thread(runtime, make_bundle):
    # Off the main thread nothing is forwarded (Python runs handlers there only) and nothing of
    # the process changes; the executor is posix_spawn'd, so no fork of a threaded interpreter.
    before = _caller_process_settings()
    results = {}

    def work():
        try:
            bundle, container_id = make_bundle(["sh", "-c", "exit 2"])
            results["run"] = runtime.run(container_id, str(bundle))
            bundle, container_id = make_bundle(["sleep", "30"])
            container = runtime.create(container_id, str(bundle))
            container.start()
            results["exec"] = container.exec(["sh", "-c", "exit 5"])
            container.delete(force=True)
        except Exception as exc:  # noqa: BLE001 - reported below
            results["error"] = exc

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert "error" not in results, results.get("error")
    assert (results["run"], results["exec"]) == (2, 5)
    assert _caller_process_settings() == before
