"""containerd 1.6's checkpoint and restore (`ctr containers checkpoint --task --rw` /
`restore --live --rw`) with its runc v2 shim driving oci-runtime: the shim calls `checkpoint` and, in its
Create with a checkpoint, `restore --detach`."""
import os
import time

import pytest

from tests.criu.conftest import CRIU
from tests.e2e.test_containerd import IMAGE, ctr  # noqa: F401 - the fixture
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(CRIU is None and os.environ.get("CI") != "true",
                                reason="no CRIU 4 or newer on PATH")


def _count(ctr, name):
    result = ctr("task", "exec", "--exec-id", f"read{time.monotonic_ns()}", name, "cat",
                 "/tmp/count", check=False)
    return int(result.stdout.strip() or 0) if result.returncode == 0 else 0


def test_task_checkpoint_and_live_restore(ctr):
    counter = "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done"
    ctr.run("-d", IMAGE, "ckpt", "sh", "-c", counter, traced=True)
    try:
        ctr.wait_status("ckpt", "RUNNING")
        wait_until(lambda: _count(ctr, "ckpt") >= 5, "the counter to count", interval=0.1)
        # --rw: the container's own files (its counter) go with it, or a file it had open
        # would be missing from the fresh snapshot restore makes
        ctr("containers", "checkpoint", "--task", "--rw", "ckpt", "checkpoint/ckpt:1")
        saved = _count(ctr, "ckpt")
        ctr.remove("ckpt")
        ctr("containers", "restore", "--live", "--rw", "ckpt", "checkpoint/ckpt:1")
        ctr.wait_status("ckpt", "RUNNING")
        wait_until(lambda: _count(ctr, "ckpt") > saved, f"the counter to go on past {saved}",
                   interval=0.1)
        with open(f"{ctr.base}/calls.log") as calls:
            called = calls.read()
        assert " checkpoint " in called and " restore " in called, called
    finally:
        ctr.remove("ckpt")
        ctr("images", "rm", "checkpoint/ckpt:1", check=False)
