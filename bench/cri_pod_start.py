#!/usr/bin/env python3
"""(i) A Kubernetes pod's start through containerd's CRI, oci-runtime against runc as the
handler: `crictl runp` (the sandbox: its pause container, network namespace, CNI bridge), then
`crictl create` and `crictl start` of one busybox container in it.  See docs/performance.md.

    .venv/bin/python bench/cri_pod_start.py                 # 20 rounds, prints the table
    .venv/bin/python bench/cri_pod_start.py --write-docs    # also rewrites its section of
                                                            # docs/performance.md
Options: --rounds N.  Needs root and what the CRI tests need (scripts/setup-e2e).

The node is the CRI tests' (tests/e2e/cri_node.py: containerd 1.6, CNI bridge + portmap, in
namespaces of its own), with both handlers; images are pulled before the timing.  Rounds
alternate the handlers in pairs, the one going first alternating too, so that the load of this
shared machine falls on both alike; each figure is a median of the rounds, and the ratio is the
median of the per-round ratios (each pair measured back to back).  Each step is timed around
its crictl call, as a kubelet would see it (crictl's own start, ~the same for both, included);
the pod is removed after each round, untimed."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "bench"))

HANDLERS = ("oci-runtime", "runc")
STEPS = ("runp", "create", "start")
TARGET = 1.1     # the issue's: within 1.1x runc


def _timed(node, *args):
    started = time.perf_counter()
    output = node.crictl(*args).stdout.strip()
    return output, (time.perf_counter() - started) * 1000


def pod_start(node, handler, workdir, number):
    """One pod's start with `handler`: {step: ms}; the pod is removed afterwards."""
    name = f"bench-{handler}-{number}"
    pod_config = os.path.join(workdir, f"{name}-pod.json")
    container_config = os.path.join(workdir, f"{name}-container.json")
    with open(pod_config, "w") as output:
        json.dump({"metadata": {"name": name, "namespace": "oci-bench", "uid": name,
                                "attempt": 1},
                   "log_directory": os.path.join(workdir, name),
                   "linux": {"security_context": {"namespace_options": {"pid": 1}}}}, output)
    with open(container_config, "w") as output:
        json.dump({"metadata": {"name": "main"},
                   "image": {"image": "registry.k8s.io/e2e-test-images/busybox:1.29-2"},
                   "command": ["sleep", "1000"], "log_path": "main.log",
                   "linux": {"security_context": {"namespace_options": {"pid": 1}}}}, output)
    times = {}
    pod, times["runp"] = _timed(node, "runp", "--runtime", handler, pod_config)
    try:
        container, times["create"] = _timed(node, "create", pod, container_config, pod_config)
        _, times["start"] = _timed(node, "start", container)
    finally:
        node.crictl("rmp", "--force", pod)
    times["total"] = sum(times[step] for step in STEPS)
    return times


def measure(node, rounds):
    """{handler: [per-round {step: ms}]}: `rounds` alternating pairs after one warm-up each."""
    workdir = os.path.join(node.base, "bench")
    os.makedirs(workdir, exist_ok=True)
    node.crictl("pull", "registry.k8s.io/e2e-test-images/busybox:1.29-2")
    for handler in HANDLERS:
        pod_start(node, handler, workdir, "warm-up")
    samples = {handler: [] for handler in HANDLERS}
    for number in range(rounds):
        order = HANDLERS if number % 2 == 0 else HANDLERS[::-1]
        for handler in order:
            samples[handler].append(pod_start(node, handler, workdir, number))
    return samples


def summarise(samples):
    ours, runc = samples["oci-runtime"], samples["runc"]
    medians = {handler: {step: statistics.median(r[step] for r in samples[handler])
                         for step in STEPS + ("total",)} for handler in HANDLERS}
    ratios = [a["total"] / b["total"] for a, b in zip(ours, runc)]
    return {"medians": medians, "ratio": statistics.median(ratios), "rounds": len(ours)}


def table(summary):
    medians = summary["medians"]
    lines = ["| pod start, median of the rounds | oci-runtime | runc | oci-runtime ÷ runc |",
             "|---|---|---|---|"]
    for step, label in (("runp", "`crictl runp` (sandbox: pause container, netns, CNI)"),
                        ("create", "`crictl create` of one container"),
                        ("start", "`crictl start` of it"),
                        ("total", "**runp + create + start**")):
        ours, runc = medians["oci-runtime"][step], medians["runc"][step]
        lines.append(f"| {label} | {ours:.0f} ms | {runc:.0f} ms | {ours / runc:.2f} |")
    lines.append("")
    lines.append(f"Median of the {summary['rounds']} per-round ratios of the totals: "
                 f"**{summary['ratio']:.2f}** (target: within {TARGET}× runc).")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    from tests.e2e.cri_node import Node, missing_prerequisites

    missing = missing_prerequisites()
    if missing:
        raise SystemExit(f"bench: the CRI node needs {', '.join(missing)} (scripts/setup-e2e)")
    node = Node()
    started = time.time()
    try:
        node.start()
        samples = measure(node, args.rounds)
    finally:
        from run import remove_cgroup_parent

        node.stop(remove_cgroup_tree=remove_cgroup_parent)
    summary = summarise(samples)
    text = table(summary)
    print(text)
    if args.write_docs:
        from report import write_section_docs

        versions = {}
        for name, binary in (("oci-runtime", os.path.join(REPO, ".venv", "bin", "oci-runtime")),
                             ("runc", "runc"), ("containerd", "containerd")):
            output = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
            versions[name] = output.splitlines()[0] if output else "?"
        results = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "mode": "full",
                   "kernel": os.uname().release, "cpus": os.cpu_count(), "versions": versions,
                   "load": os.getloadavg()[0], "duration_s": time.time() - started}
        write_section_docs(results, "bench-cri-pod-start", "A pod's start through Kubernetes' CRI",
                           args.rounds, text + f"\n\nLoad average during the run: "
                           f"{results['load']:.1f}.")


if __name__ == "__main__":
    main()
