"""podman `container checkpoint` / `container restore` (rootful, through conmon) on oci-runtime,
end to end: podman calls `oci-runtime checkpoint` and conmon `oci-runtime restore`."""
import os

import pytest

from tests.criu.conftest import CRIU
from tests.e2e.test_podman import IMAGE, _wait_status, podman  # noqa: F401 - the fixture
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(CRIU is None and os.environ.get("CI") != "true",
                                reason="no CRIU 4 or newer on PATH")

COUNTER = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done"


def _last_count(podman, name):
    lines = podman("logs", name).stdout.split()
    return int(lines[-1]) if lines else 0


def test_checkpoint_and_restore_keep_counting(podman, tmp_path):
    podman("run", "-d", "--name", "counter", IMAGE, "sh", "-c", COUNTER)
    try:
        _wait_status(podman, "counter", "running")
        wait_until(lambda: _last_count(podman, "counter") >= 5, "the counter to count",
                   interval=0.1)
        first_pid = podman.inspect("counter", "{{.State.Pid}}")
        podman("container", "checkpoint", "counter")
        assert podman.inspect("counter", "{{.State.Status}}") == "exited"
        assert podman.inspect("counter", "{{.State.Checkpointed}}") == "true"
        saved = _last_count(podman, "counter")
        podman("container", "restore", "counter")
        _wait_status(podman, "counter", "running")
        assert podman.inspect("counter", "{{.State.Pid}}") != first_pid
        wait_until(lambda: _last_count(podman, "counter") > saved + 3,
                   f"the restored counter to go on past {saved + 3}", interval=0.1)
        counts = [int(n) for n in podman("logs", "counter").stdout.split()]
        # the restored process writes on to conmon's new pipe: the log goes on, unbroken
        assert counts[-1] > saved + 3
        assert counts == list(range(counts[0], counts[0] + len(counts)))
    finally:
        podman("rm", "-f", "-t", "0", "counter", check=False)


def test_export_and_import_under_another_name_leave_running(podman, tmp_path):
    archive = str(tmp_path / "counter.tar.gz")
    podman("run", "-d", "--name", "exported", IMAGE, "sh", "-c", COUNTER)
    try:
        _wait_status(podman, "exported", "running")
        wait_until(lambda: _last_count(podman, "exported") > 0, "the counter to count",
                   interval=0.1)
        podman("container", "checkpoint", "--leave-running", "--export", archive, "exported")
        assert podman.inspect("exported", "{{.State.Status}}") == "running"
        saved = _last_count(podman, "exported")
        podman("container", "restore", "--import", archive, "--name", "imported")
        _wait_status(podman, "imported", "running")
        wait_until(lambda: _last_count(podman, "imported") > saved,
                   f"the imported counter to go on past {saved}", interval=0.1)
    finally:
        podman("rm", "-f", "-t", "0", "exported", "imported", check=False)
