#!/usr/bin/env python3
"""oci-runtime vs runc vs crun, in one run: see docs/performance.md for what each figure means.

    .venv/bin/python bench/run.py            # full run (a few minutes), writes bench/results/
    .venv/bin/python bench/run.py --quick    # CI smoke: small counts, < 2 minutes
    .venv/bin/python bench/run.py --write-docs   # also rewrites docs/performance.md (+ PNG plot)
    .venv/bin/python bench/run.py --only seccomp --write-docs   # just the seccomp section
    .venv/bin/python bench/run.py --only netdev --write-docs    # just create with a net device
    .venv/bin/python bench/run.py --only api --write-docs   # the Python API against the CLIs

Options: --runtimes oci-runtime,runc,crun  --oci-runtime PATH  --output DIR  --only seccomp|netdev|api
--rounds N (more alternating rounds on a busy host).
Needs root.

Fairness: crun refuses a cgroup "hybrid" host, so the whole benchmark re-executes itself once in a
private mount namespace (``unshare -m``) where /sys/fs/cgroup/unified is unmounted, and every
runtime is then called directly from there (no per-call wrapper).  Measurements alternate between
the runtimes round by round (the order rotates each round), so drift in machine load hits all of
them alike; every figure is a median, and every ratio is the median of the per-round ratios.

Cleanup: each runtime gets a private --root under a temporary directory, every container uses a
cgroupsPath under /oci-bench-<pid>/, and at the end every container is force-deleted, the roots
removed, and /oci-bench-<pid> removed from every cgroup hierarchy (the host's too).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from harness import HERE, REPO, Runtime, make_rootfs
from report import (api_markdown, markdown, netdev_markdown, seccomp_markdown, summarise,
                    summarise_api, summarise_netdev, summarise_seccomp, targets, write_docs,
                    write_section_docs)
from scenarios import (bench_api, bench_commands, bench_concurrent, bench_floor, bench_lifecycle,
                       bench_many, bench_memory, bench_netdev, bench_run, bench_run_parts,
                       bench_seccomp, bench_sequential)

CGROUP_ROOT = "/sys/fs/cgroup"

FULL = dict(rounds=15, sequential=100, concurrent=20, many=1000, cmd_rounds=15, floor_rounds=30,
            memory_rounds=5, seccomp_rounds=30, netdev_rounds=30, api_sequential=100,
            api_rounds=5)
QUICK = dict(rounds=3, sequential=5, concurrent=4, many=50, cmd_rounds=3, floor_rounds=5,
             memory_rounds=2, seccomp_rounds=3, netdev_rounds=3, api_sequential=5, api_rounds=1)


# -- driver ---------------------------------------------------------------------------------------

def remove_cgroup_parent(parent):
    """rmdir /oci-bench-<pid> (deepest first) in every hierarchy, the unified one included."""
    if not os.path.isdir(CGROUP_ROOT):
        return
    for hierarchy in os.listdir(CGROUP_ROOT):
        top = os.path.join(CGROUP_ROOT, hierarchy, parent)
        if not os.path.isdir(top):
            continue
        for directory, _, _ in sorted(os.walk(top), key=lambda e: -e[0].count("/")):
            try:
                os.rmdir(directory)
            except OSError:
                pass


def find_runtimes(args):
    wanted = args.runtimes.split(",")
    found = []
    for name in wanted:
        if name == "oci-runtime":
            binary = args.oci_runtime
        else:
            binary = shutil.which(name)
        if binary and os.path.exists(binary):
            found.append((name, binary))
        else:
            print(f"bench: {name} not found, skipped", file=sys.stderr)
    return found


def launcher_python(binary):
    """The interpreter the oci-runtime launcher runs (for the `python -I -S -c pass` floor)."""
    try:
        with open(binary, "rb") as launcher:
            head = launcher.read(4096).decode(errors="replace")
    except OSError:
        return sys.executable
    for line in head.splitlines():
        for word in line.replace("'", " ").replace('"', " ").split():
            if "python" in os.path.basename(word) and os.path.isabs(word) and os.path.exists(word):
                return word
    return sys.executable


def measure(args):
    counts = dict(QUICK if args.quick else FULL)
    if args.rounds:
        # A busy host: more alternating rounds for the per-round ratios (docs/performance.md).
        counts.update(rounds=args.rounds, cmd_rounds=args.rounds, floor_rounds=2 * args.rounds)
    everything = args.only is None
    with_seccomp = args.only in (None, "seccomp")
    found = find_runtimes(args)
    if not found:
        raise SystemExit("bench: no runtime to measure")
    workdir = tempfile.mkdtemp(prefix="oci-bench-")
    rootfs = os.path.join(workdir, "rootfs")
    make_rootfs(rootfs)
    parent = args.cgroup_parent
    runtimes = [Runtime(name, binary, workdir, parent, rootfs) for name, binary in found]
    names = [r.name for r in runtimes]
    oci_binary = dict(found).get("oci-runtime", args.oci_runtime)
    python = launcher_python(oci_binary)
    raw = {"counts": counts}
    started = time.time()
    load_before = os.getloadavg()[0]
    try:
        log = lambda text: print(f"bench: [{time.time() - started:5.1f}s] {text}", file=sys.stderr)
        if everything:
            log("floor")
            raw["floor"] = bench_floor(python, counts["floor_rounds"])
            log("run")
            raw["run"] = bench_run(runtimes, counts["rounds"])
            log("lifecycle")
            raw["lifecycle"] = bench_lifecycle(runtimes, counts["rounds"])
            log("commands")
            raw["commands"] = bench_commands(runtimes, counts["cmd_rounds"], python)
            if {"oci-runtime", "runc"} <= set(names):
                log("run, in parts")
                raw["run_parts"] = bench_run_parts(runtimes, python, counts["rounds"])
            log("memory")
            raw["rss"], raw["waiting_rss"] = bench_memory(runtimes, counts["memory_rounds"])
            log("sequential")
            raw["sequential"] = bench_sequential(runtimes, counts["sequential"], 1 if args.quick else 3)
            log("concurrent")
            raw["concurrent"] = bench_concurrent(runtimes, counts["concurrent"], 1 if args.quick else 3)
            log("many")
            raw["many"] = bench_many(runtimes, counts["many"], counts["rounds"])
        if with_seccomp:
            log("seccomp")
            raw["seccomp"] = bench_seccomp(runtimes, counts["seccomp_rounds"])
        oci = [r for r in runtimes if r.name == "oci-runtime"]
        if args.only in (None, "netdev") and oci:
            log("netdev")
            raw["netdev"] = bench_netdev(oci[0], counts["netdev_rounds"])
        if args.only in (None, "api") and oci:
            log("api")
            raw["api"] = bench_api(runtimes, counts["api_sequential"], counts["api_rounds"],
                                   python)
        log("done")
    finally:
        for runtime in runtimes:
            runtime.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    versions = {}
    for name, binary in found:
        output = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
        versions[name] = output.splitlines()[0] if output else "?"
    results = {"mode": "quick" if args.quick else "full", "runtimes": names, "binaries": dict(found),
               "versions": versions, "python": python, "kernel": os.uname().release,
               "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M:%S"), "raw": raw,
               "duration_s": time.time() - started,
               "load": (load_before, os.getloadavg()[0])}
    results["summary"] = summarise(raw, names) if everything else None
    results["targets"] = targets(results["summary"]) if everything and "oci-runtime" in names else []
    results["seccomp_summary"] = summarise_seccomp(raw["seccomp"], names) if with_seccomp else None
    results["netdev_summary"] = summarise_netdev(raw["netdev"]) if "netdev" in raw else None
    results["api_summary"] = summarise_api(raw["api"], names, counts["api_sequential"]) \
        if "api" in raw else None
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (CI smoke)")
    parser.add_argument("--runtimes", default="oci-runtime,runc,crun")
    parser.add_argument("--oci-runtime", default=os.path.join(REPO, ".venv", "bin", "oci-runtime"))
    parser.add_argument("--output", default=os.path.join(HERE, "results"))
    parser.add_argument("--write-docs", action="store_true",
                        help="rewrite docs/performance.md's results sections (and plot) measured")
    parser.add_argument("--rounds", type=int, default=None,
                        help="alternating rounds of run, the lifecycle and each command (and "
                             "twice as many of the floor) instead of the mode's")
    parser.add_argument("--only", choices=["seccomp", "netdev", "api"], default=None,
                        help="measure only this group (results-<mode>-<group>.*)")
    parser.add_argument("--in-namespace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cgroup-parent", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: needs root (real containers)")
    if not args.in_namespace and os.path.abspath(args.oci_runtime) == os.path.join(
            REPO, ".venv", "bin", "oci-runtime"):
        # This checkout's launcher and import image as scripts/setup writes them: the sources
        # may have changed since (a module changed since the image loads the usual way).
        subprocess.run([launcher_python(args.oci_runtime), "-m", "oci_runtime.cli.launcher"],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    if not args.in_namespace:
        # Re-execute in a private mount namespace without the v2 "unified" mount (crun needs it),
        # then clean up the cgroup parent from out here, where every hierarchy is visible.
        parent = f"oci-bench-{os.getpid()}"
        command = ["unshare", "--mount", "--propagation", "private", sys.executable,
                   os.path.abspath(__file__), *sys.argv[1:], "--in-namespace",
                   "--cgroup-parent", parent]
        try:
            code = subprocess.call(command)
        finally:
            remove_cgroup_parent(parent)
        raise SystemExit(code)
    if os.path.ismount(os.path.join(CGROUP_ROOT, "unified")):
        subprocess.run(["umount", os.path.join(CGROUP_ROOT, "unified")], check=True)
    results = measure(args)
    os.makedirs(args.output, exist_ok=True)
    suffix = f"-{args.only}" if args.only else ""
    base = os.path.join(args.output, f"results-{results['mode']}{suffix}")
    with open(base + ".json", "w") as handle:
        json.dump(results, handle, indent=1)
    table = markdown(results) if results["summary"] else ""
    seccomp_table = seccomp_markdown(results) if results["seccomp_summary"] else ""
    netdev_table = netdev_markdown(results) if results["netdev_summary"] else ""
    api_table = api_markdown(results) if results["api_summary"] else ""
    tables = "\n".join(t for t in (table, seccomp_table, netdev_table, api_table) if t)
    with open(base + ".md", "w") as handle:
        handle.write(tables)
    print(tables)
    if args.write_docs:
        if results["summary"]:
            write_docs(results, table)
        if seccomp_table:
            write_section_docs(results, "bench-seccomp", "Cost of a seccomp profile",
                               results["raw"]["counts"]["seccomp_rounds"], seccomp_table)
        if netdev_table:
            write_section_docs(results, "bench-netdev", "Cost of a network device",
                               results["raw"]["counts"]["netdev_rounds"], netdev_table)
        if api_table:
            write_section_docs(results, "bench-api", "Through the Python API",
                               results["raw"]["counts"]["api_rounds"], api_table)
    print(f"bench: results in {base}.json and {base}.md", file=sys.stderr)


if __name__ == "__main__":
    main()
