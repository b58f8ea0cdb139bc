"""CPU affinity as runc 1.5.1 sets it: once in its cgroup, a container's process may run on
every CPU of the cgroup's cpuset, whatever the runtime was pinned to (kubelet's static CPU
manager runs runtimes under taskset), for the init and for exec alike."""
import os
import shutil
import subprocess

import pytest

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root"),
    pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs"),
    pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset (util-linux)"),
]
SHOW = ["grep", "Cpus_allowed_list", "/proc/self/status"]


def cpu_list(cpus):
    """Cpus_allowed_list's way of writing a set of CPUs (ranges of consecutive ones)."""
    cpus, parts = sorted(cpus), []
    start = previous = cpus[0]
    for cpu in cpus[1:] + [None]:
        if cpu is not None and cpu == previous + 1:
            previous = cpu
            continue
        parts.append(f"{start}" if start == previous else f"{start}-{previous}")
        if cpu is not None:
            start = previous = cpu
    return ",".join(parts)


def pinned(oci, first_cpu, *args):
    """The runtime run under taskset, pinned to ``first_cpu``."""
    completed = subprocess.run(["taskset", "-c", str(first_cpu), *oci.command, "--root",
                                oci.root, *args], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.split(":", 1)[1].strip()


def test_run_under_taskset_gets_every_cpu(oci, make_bundle):
    ours = sorted(os.sched_getaffinity(0))
    bundle, cid = make_bundle(SHOW, lambda c: c["linux"]["resources"].pop("cpu", None))
    assert pinned(oci, ours[0], "run", "--bundle", str(bundle), cid) == cpu_list(ours)


def test_run_under_taskset_gets_the_cgroup_cpuset(oci, make_bundle):
    first, second = sorted(os.sched_getaffinity(0))[:2]
    # A cpuset with no CPU in common with the runtime's affinity, and one with two.
    for cpus in (str(second), f"{first},{second}"):
        bundle, cid = make_bundle(SHOW, lambda c: c["linux"]["resources"].update(
            cpu={"cpus": cpus, "mems": "0"}))
        assert pinned(oci, first, "run", "--bundle", str(bundle), cid) == cpu_list(
            [int(cpu) for cpu in cpus.split(",")])


def test_exec_under_taskset_gets_the_cgroup_cpuset_or_its_final_affinity(oci, make_bundle,
                                                                          tmp_path):
    first, second = sorted(os.sched_getaffinity(0))[:2]
    bundle, cid = make_bundle(["sleep", "100"], lambda c: c["linux"]["resources"].update(
        cpu={"cpus": f"{first},{second}", "mems": "0"}))
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    assert pinned(oci, first, "exec", cid, *SHOW) == cpu_list([first, second])
    process = tmp_path / "process.json"
    process.write_text('{"args": ["grep", "Cpus_allowed_list", "/proc/self/status"], "cwd": "/",'
                       f' "execCPUAffinity": {{"initial": "{first}", "final": "{second}"}}}}')
    assert pinned(oci, first, "exec", "--process", str(process), cid) == str(second)
    process.write_text('{"args": ["grep", "Cpus_allowed_list", "/proc/self/status"], "cwd": "/",'
                       f' "execCPUAffinity": {{"initial": "{first}"}}}}')
    assert pinned(oci, first, "exec", "--process", str(process), cid) == cpu_list([first, second])
