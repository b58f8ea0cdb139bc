"""Smoke test of bench/cri_pod_start.py on the CRI tests' node: two rounds, sane figures (the
benchmark's own run is 20 rounds; a test never judges speed)."""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_pod_start_bench_measures_both_handlers(node):
    sys.path.insert(0, os.path.join(REPO, "bench"))
    try:
        import cri_pod_start
    finally:
        sys.path.remove(os.path.join(REPO, "bench"))
    samples = cri_pod_start.measure(node, 2)
    assert set(samples) == set(cri_pod_start.HANDLERS)
    for rounds in samples.values():
        assert len(rounds) == 2
        for times in rounds:
            assert all(0 < times[step] < 120_000 for step in cri_pod_start.STEPS)
            assert times["total"] == sum(times[step] for step in cri_pod_start.STEPS)
    summary = cri_pod_start.summarise(samples)
    assert summary["rounds"] == 2 and summary["ratio"] > 0
    assert "**runp + create + start**" in cri_pod_start.table(summary)
    pods = json.loads(node.crictl("pods", "--output", "json").stdout)["items"]
    assert not [pod for pod in pods if pod["metadata"]["name"].startswith("bench-")]
