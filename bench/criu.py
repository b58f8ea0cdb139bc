#!/usr/bin/env python3
"""Checkpoint and restore of a counting busybox container: oci-runtime against runc, in
alternated pairs (see docs/performance.md "Checkpoint and restore").

    sudo .venv/bin/python bench/criu.py                 # 15 rounds, prints the table
    sudo .venv/bin/python bench/criu.py --rounds 3      # quick
    sudo .venv/bin/python bench/criu.py --write-docs    # and rewrite that section of the doc

Each round, for each runtime in turn (the first alternating round by round): `run --detach`
the counter (untimed), let it count 0.3 s, then time `checkpoint --image-path DIR ID` (the
container is saved, stopped and deleted) and `restore --detach --image-path DIR ID`, and check
that the restored counter went on from where it was; then delete it (untimed).  Both runtimes
use the same CRIU (the one on PATH), one config (the busybox rootfs copied per runtime, a
cgroupsPath under /oci-criu-bench-<pid>/), their own --root.  Figures are medians; ratios are
the median of the per-round ratios oci-runtime / runc, so load that drifts hits both alike.
Results go to bench/results/results-criu.{json,md}.  Needs root and CRIU 4+.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from statistics import median

from harness import HERE, REPO, make_rootfs, spawn
from report import write_section_docs

COUNTER = "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done"


def bundle_for(workdir, name, rootfs_template, cgroup_parent):
    from oci_runtime.config.default_spec import default_config

    bundle = os.path.join(workdir, f"bundle-{name}")
    shutil.copytree(rootfs_template, os.path.join(bundle, "rootfs"), symlinks=True)
    config = default_config()
    config["process"]["terminal"] = False
    config["process"]["args"] = ["sh", "-c", COUNTER]
    config["root"]["readonly"] = False
    config["linux"]["cgroupsPath"] = f"/{cgroup_parent}/{name}"
    with open(os.path.join(bundle, "config.json"), "w") as handle:
        json.dump(config, handle)
    return bundle


def count(bundle):
    try:
        with open(os.path.join(bundle, "rootfs", "tmp", "count")) as handle:
            return int(handle.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def one_round(name, binary, workdir, bundle):
    """(checkpoint seconds, restore seconds) of one runtime, the container checked to count on."""
    root = os.path.join(workdir, f"root-{name}")
    images = os.path.join(workdir, f"images-{name}")
    shutil.rmtree(images, ignore_errors=True)
    call = [binary, "--root", root]
    container = f"ckpt-{name}"
    cwd = os.getcwd()
    os.chdir(bundle)  # runc 1.1's restore reads ./config.json: the bundle is the cwd for all
    try:
        _, status, _, _ = spawn(call + ["run", "--detach", "--bundle", bundle, container])
        assert status == 0, f"{name}: run failed"
        time.sleep(0.3)
        checkpoint, status, _, _ = spawn(call + ["checkpoint", "--image-path", images, container])
        assert status == 0, f"{name}: checkpoint failed"
        saved = count(bundle)
        restore, status, _, _ = spawn(call + ["restore", "--detach", "--bundle", bundle,
                                              "--image-path", images, container])
        assert status == 0, f"{name}: restore failed (see {images}/restore.log)"
        deadline = time.monotonic() + 10
        while count(bundle) <= saved + 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert count(bundle) > saved + 2, f"{name}: the restored counter does not go on"
    finally:
        spawn(call + ["delete", "--force", container])
        os.chdir(cwd)
    return checkpoint, restore


def criu_version():
    output = subprocess.run(["criu", "--version"], capture_output=True, text=True).stdout
    return output.split()[1] if output.startswith("Version:") else "?"


def version_of(binary):
    output = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return output.splitlines()[0] if output else "?"


def markdown(results):
    rows = ["| | oci-runtime | runc | oci-runtime / runc |", "| --- | ---: | ---: | ---: |"]
    for phase in ("checkpoint", "restore"):
        summary = results["summary"][phase]
        rows.append(f"| `{phase}` | {summary['oci-runtime'] * 1000:.0f} ms | "
                    f"{summary['runc'] * 1000:.0f} ms | {summary['ratio']:.2f} |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--oci-runtime", default=os.path.join(REPO, ".venv", "bin", "oci-runtime"))
    parser.add_argument("--runc", default=shutil.which("runc") or "runc")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/criu.py needs root")
    runtimes = {"oci-runtime": args.oci_runtime, "runc": args.runc}
    cgroup_parent = f"oci-criu-bench-{os.getpid()}"
    workdir = tempfile.mkdtemp(prefix="oci-criu-bench-")
    times = {name: {"checkpoint": [], "restore": []} for name in runtimes}
    try:
        rootfs = os.path.join(workdir, "rootfs")
        make_rootfs(rootfs)
        bundles = {name: bundle_for(workdir, name, rootfs, cgroup_parent) for name in runtimes}
        for index in range(args.rounds):
            order = list(runtimes) if index % 2 == 0 else list(runtimes)[::-1]
            for name in order:
                checkpoint, restore = one_round(name, runtimes[name], workdir, bundles[name])
                times[name]["checkpoint"].append(checkpoint)
                times[name]["restore"].append(restore)
            print(f"round {index + 1}: " + ", ".join(
                f"{name} {times[name]['checkpoint'][-1] * 1000:.0f}/"
                f"{times[name]['restore'][-1] * 1000:.0f} ms" for name in runtimes), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        for hierarchy in os.listdir("/sys/fs/cgroup"):
            for directory, _, _ in sorted(os.walk(f"/sys/fs/cgroup/{hierarchy}/{cgroup_parent}"),
                                          key=lambda entry: -entry[0].count("/")):
                try:
                    os.rmdir(directory)
                except OSError:
                    pass
    summary = {}
    for phase in ("checkpoint", "restore"):
        ratios = [ours / theirs for ours, theirs in zip(times["oci-runtime"][phase],
                                                         times["runc"][phase])]
        summary[phase] = {"oci-runtime": median(times["oci-runtime"][phase]),
                          "runc": median(times["runc"][phase]), "ratio": median(ratios)}
    results = {"date": time.strftime("%Y-%m-%d"), "mode": "criu", "kernel": platform.release(),
               "cpus": os.cpu_count(), "rounds": args.rounds,
               "versions": {"oci-runtime": version_of(args.oci_runtime),
                            "runc": version_of(args.runc), "criu": criu_version()},
               "raw": times, "summary": summary}
    table = markdown(results)
    print(table)
    output = os.path.join(HERE, "results")
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, "results-criu.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    with open(os.path.join(output, "results-criu.md"), "w") as handle:
        handle.write(table + "\n")
    if args.write_docs:
        write_section_docs(results, "bench-criu", "Checkpoint and restore", args.rounds, table)


if __name__ == "__main__":
    main()
