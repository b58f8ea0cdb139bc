"""scheduler, ioPriority, execCPUAffinity, personality and LSM labels, seen from inside."""
import os

import pytest


def process_edit(**fields):
    def edit(config):
        config["process"].update(fields)
    return edit


def stat_policy(stat_line):
    # /proc/<pid>/stat: the policy is field 41; fields after the ")" of comm start at field 3.
    return int(stat_line.rsplit(")", 1)[1].split()[38])


def test_scheduler_policy_and_nice(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "cat /proc/self/stat; true"],
                              process_edit(scheduler={"policy": "SCHED_BATCH", "nice": 7}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    stat = result.stdout.strip()
    assert stat_policy(stat) == 3  # SCHED_BATCH
    assert int(stat.rsplit(")", 1)[1].split()[16]) == 7  # nice (field 19)


def test_io_priority(oci, make_bundle):
    bundle, cid = make_bundle(["ionice", "-p", "1"],
                              process_edit(ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 6}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["best-effort:", "prio", "6"]


def test_personality_linux32(oci, make_bundle):
    bundle, cid = make_bundle(["uname", "-m"], lambda c: c["linux"].update(
        personality={"domain": "LINUX32"}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ("i686", "armv8l", "armv7l")


def test_exec_cpu_affinity_final(oci, make_bundle, tmp_path):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs")
    cpu = max(os.sched_getaffinity(0))
    bundle, cid = make_bundle(["sleep", "1000"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    process = tmp_path / "process.json"
    process.write_text('{"args": ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"], '
                       '"cwd": "/", "execCPUAffinity": {"initial": "0", "final": "%d"}}' % cpu)
    result = oci("exec", "--process", str(process), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == str(cpu)


@pytest.mark.skipif(os.path.exists("/sys/module/apparmor/parameters/enabled"),
                    reason="AppArmor is available here: the refusal cannot be observed")
def test_apparmor_profile_without_apparmor_is_a_clear_error(oci, make_bundle):
    bundle, cid = make_bundle(["true"], process_edit(apparmorProfile="docker-default"))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 1
    assert "AppArmor is not enabled on this host" in result.stderr
    assert oci("state", cid).returncode != 0


@pytest.mark.skipif(os.path.exists("/sys/fs/selinux/enforce"),
                    reason="SELinux is available here: the refusal cannot be observed")
def test_selinux_label_without_selinux_is_a_clear_error(oci, make_bundle):
    bundle, cid = make_bundle(["true"], process_edit(selinuxLabel="system_u:system_r:container_t:s0"))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 1
    assert "SELinux is not enabled on this host" in result.stderr


def stat_rt_priority(stat_line):
    return int(stat_line.rsplit(")", 1)[1].split()[37])  # rt_priority is field 40


@pytest.fixture
def realtime_parent(cgroup_tree_remover):
    """A cgroup v1 cpu parent with real-time runtime of its own (what dockerd's --cpu-rt-runtime
    sets up for its containers), removed at teardown; skips where real-time group scheduling
    does not apply (cgroup v2, a kernel without CONFIG_RT_GROUP_SCHED) or the host's budget is
    all given away."""
    import uuid

    from oci_runtime.cgroups.controllers.cpu import realtime_budget

    root = "/sys/fs/cgroup/cpu"
    if not os.path.isdir(root) or realtime_budget(root) is None:
        pytest.skip("no real-time group scheduling here (cgroup v1 cpu.rt_runtime_us)")
    name = f"oci-rt-test-{uuid.uuid4().hex[:8]}"
    os.mkdir(f"{root}/{name}")
    try:
        with open(f"{root}/{name}/cpu.rt_runtime_us", "w") as budget:
            budget.write("20000")
    except OSError as exc:
        os.rmdir(f"{root}/{name}")
        pytest.skip(f"the host's real-time budget cannot spare 20000 us: {exc.strerror}")
    yield name
    cgroup_tree_remover(name)


def in_cgroup(parent, cpu=None, **process):
    def edit(config):
        config["process"].update(process)
        config["linux"]["cgroupsPath"] = f"/{parent}/{config['linux']['cgroupsPath'].rsplit('/', 1)[1]}"
        if cpu is not None:
            config["linux"].setdefault("resources", {})["cpu"] = cpu
    return edit


def test_realtime_scheduler_without_a_budget_names_it(oci, make_bundle, realtime_parent):
    bundle, cid = make_bundle(["true"], in_cgroup(
        realtime_parent, scheduler={"policy": "SCHED_FIFO", "priority": 10}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    own = f"/sys/fs/cgroup/cpu/{realtime_parent}/{cid}"
    assert (f"config.json: /process/scheduler/policy: SCHED_FIFO needs real-time CPU time, and "
            f"the container's cgroup {own} has none (cpu.rt_runtime_us 0") in result.stderr
    assert "/linux/resources/cpu/realtimeRuntime" in result.stderr
    assert f"/sys/fs/cgroup/cpu/{realtime_parent}: cpu.rt_runtime_us 20000" in result.stderr
    assert oci("state", cid).returncode == 1 and not os.path.exists(own)


def test_a_realtime_runtime_over_the_parent_s_budget_names_it(oci, make_bundle, realtime_parent):
    bundle, cid = make_bundle(["true"], in_cgroup(
        realtime_parent, {"realtimeRuntime": 30000}, scheduler={"policy": "SCHED_RR"}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 1
    assert "/linux/resources/cpu/realtimeRuntime: writing \"30000\"" in result.stderr
    assert (f"/sys/fs/cgroup/cpu/{realtime_parent} has cpu.rt_runtime_us 20000 per "
            "cpu.rt_period_us 1000000, 0 of it given to its other children") in result.stderr
