"""examples/seccomp_notify_agent.py answers a real container's mkdir calls."""
import json
import os
import subprocess
import sys

import pytest

from tests.waiting import FAILURE_AFTER, wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT = os.path.join(REPO, "examples", "seccomp_notify_agent.py")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")


def test_example_agent_answers_mkdir(oci, make_bundle, tmp_path):
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen([sys.executable, AGENT, str(socket_path), "--allow", "/tmp/ok/",
                              "--pretend", "/fake", "--once"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def listening():
            assert agent.poll() is None, agent.stderr.read()
            return socket_path.exists()
        wait_until(listening, "the agent to listen")

        def notify_mkdir(config):
            config["linux"]["seccomp"] = {
                "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": str(socket_path),
                "listenerMetadata": "example",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}

        script = ("mkdir /tmp/ok/a && echo made=yes; test -d /tmp/ok/a && echo exists=yes; "
                  "mkdir /fake && echo fake=ok; test -e /fake || echo fake=absent; "
                  "mkdir /nope 2>/dev/null || echo nope=denied")
        bundle, container_id = make_bundle(["sh", "-c", script], edit=notify_mkdir)
        (bundle / "rootfs" / "tmp" / "ok").mkdir()
        result = oci("run", "--bundle", str(bundle), container_id)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["made=yes", "exists=yes", "fake=ok", "fake=absent",
                                         "nope=denied"]
        out, err = agent.communicate(timeout=FAILURE_AFTER)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    assert agent.returncode == 0, err
    answers = [json.loads(line) for line in out.splitlines()]
    assert [(a["path"], a["answer"]) for a in answers] == [
        ("/tmp/ok/a", "continue"), ("/fake", "pretend"), ("/nope", "EPERM")]
    assert {a["syscall"] for a in answers} <= {"mkdir", "mkdirat"}
    assert f"container {container_id}" in err and "'example'" in err
    assert (bundle / "rootfs" / "tmp" / "ok" / "a").is_dir()
    assert not (bundle / "rootfs" / "fake").exists() and not (bundle / "rootfs" / "nope").exists()
