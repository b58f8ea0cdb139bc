"""Smoke test of the benchmark: `bench/run.py --quick` on oci-runtime alone (runc/crun are
measured too when present; the benchmark skips them when missing), into a temporary directory."""
import json
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.path.join(REPO, ".venv", "bin", "oci-runtime")


@pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")
@pytest.mark.skipif(not shutil.which("busybox"), reason="busybox is not installed")
@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) is not installed")
def test_quick_bench_produces_sane_results(tmp_path):
    runtime = os.environ.get("OCI_RUNTIME") or (LAUNCHER if os.path.exists(LAUNCHER) else None)
    if runtime is None:
        pytest.skip("no oci-runtime launcher (.venv/bin/oci-runtime or $OCI_RUNTIME)")
    bench = subprocess.Popen(
        [sys.executable, os.path.join(REPO, "bench", "run.py"), "--quick",
         "--runtimes", "oci-runtime", "--oci-runtime", runtime, "--output", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = bench.communicate(timeout=600)  # a bound on failure, not a speed
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    assert bench.returncode == 0, stderr[-3000:]
    results = json.loads((tmp_path / "results-quick.json").read_text())
    assert (tmp_path / "results-quick.md").read_text().startswith("| measurement |")
    assert results["runtimes"] == ["oci-runtime"]
    summary = results["summary"]
    assert 0.5 < summary["floor_ms"] < 1000
    for row in summary["rows"]:
        value = row["median"]["oci-runtime"]
        limit = 60.0 if row["unit"] == "s" else 10_000.0
        assert 0 < value < limit, row
    for row in summary["rss_rows"]:
        assert 0.5 < row["median"]["oci-runtime"] < 512, row
    assert set(summary["vs_floor"]) == {"state", "start", "kill"}
    assert results["raw"]["many"]["listed"]["oci-runtime"] == results["raw"]["counts"]["many"]
    seccomp = results["seccomp_summary"]
    assert [row["label"] for row in seccomp["rows"]][:3] == [
        "no profile", "Docker default profile, cold cache", "Docker default profile, warm cache"]
    for row in seccomp["rows"][:3]:
        assert 0 < row["median"]["oci-runtime"] < 10_000.0, row
    assert seccomp["cache_entries"]["oci-runtime"] == 1  # the profile, compiled once and cached
    assert "| Docker default profile, warm cache |" in (tmp_path / "results-quick.md").read_text()
    # The benchmark cleans up after itself: its cgroup parent, named after its pid, is gone from
    # every hierarchy.  Other oci-bench-<pid> parents (another run, or one killed midway) are not
    # this test's to judge.
    parent = f"oci-bench-{bench.pid}"
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        assert not os.path.exists(os.path.join("/sys/fs/cgroup", hierarchy, parent)), hierarchy
