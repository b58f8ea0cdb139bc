"""`oci-runtime check --host` reports the cgroup mode, controllers and systemd as they are here."""
import json
import os
import sys

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the probes need root")


def _host_findings():
    import subprocess

    launcher = os.path.join(os.path.dirname(sys.executable), "oci-runtime")
    command = [launcher] if os.path.exists(launcher) else [sys.executable, "-m", "oci_runtime"]
    result = subprocess.run([*command, "check", "--host", "--format", "json"],
                            capture_output=True, text=True, timeout=60)
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["ok"] else 1), result.stderr
    return {f["subject"]: f for f in reversed(report["findings"])}  # the first per subject


@pytest.mark.v2
def test_v2_mode_and_controllers():
    finding = _host_findings()["cgroup"]
    assert finding["severity"] == "ok"
    assert finding["message"].startswith("v2 at /sys/fs/cgroup; controllers ")
    with open("/sys/fs/cgroup/cgroup.controllers") as controllers:
        for controller in controllers.read().split():
            assert controller in finding["message"]


@pytest.mark.systemd
def test_systemd_is_seen():
    finding = _host_findings()["systemd"]
    assert (finding["severity"], finding["message"]) == (
        "ok", "systemd is the init: --systemd-cgroup can be used")


@pytest.mark.hybrid
def test_hybrid_mode_is_named():
    finding = _host_findings()["cgroup"]
    assert finding["message"].startswith(("hybrid (v1 controllers ", "v1 (v1 controllers "))
