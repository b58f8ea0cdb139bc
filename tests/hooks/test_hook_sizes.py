"""No size a config can reach breaks a hook: the container's state is as large as its
annotations, and every hook gets it whole on stdin (the runtime's hooks and the executor's: the
state crosses the sync socket in GO, framed by length); a timeout of any length the schema
allows is honoured by the executor's hooks too (it wrapped past 4.29e6 s and killed the hook
after 704 ms)."""
import json

import pytest

from tests.waiting import wait_for_status

ALL_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
             "poststop")
BIG = 150_000


def saver(kind, directory):
    return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {directory}/{kind}.json"]}


def test_a_150_kb_annotation_reaches_every_hook_whole(oci, make_bundle, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    annotation = "x" * BIG

    def edit(config):
        config.setdefault("annotations", {})["big"] = annotation
        config["hooks"] = {kind: [saver(kind, logs)] for kind in ALL_KINDS}
        config["hooks"]["startContainer"] = [saver("startContainer", "/tmp")]
    bundle, cid = make_bundle(["true"], edit)
    oci("create", "--bundle", str(bundle), cid, check=True)
    oci("start", cid, check=True)
    wait_for_status(oci, cid, "stopped")
    oci("delete", cid, check=True)
    for kind in ALL_KINDS:
        path = bundle / "rootfs" / "tmp" / f"{kind}.json" if kind == "startContainer" \
            else logs / f"{kind}.json"
        state = json.loads(path.read_text())
        assert state["id"] == cid and state["annotations"]["big"] == annotation, kind


@pytest.mark.parametrize("timeout", [5_000_000, 2 ** 63 - 1])
@pytest.mark.parametrize("kind", ["createContainer", "startContainer"])
def test_a_long_timeout_of_the_executors_hooks_is_honoured(oci, make_bundle, kind, timeout):
    """A hook taking a second under a timeout of 5e6 s (past what a millisecond int holds) or
    the largest the schema allows succeeds."""
    bundle, cid = make_bundle(["true"], lambda c: c.update(hooks={kind: [
        {"path": "/bin/sh", "args": ["sh", "-c", "sleep 1"], "timeout": timeout}]}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
