"""pause / resume / update / events / kill --all through the container's cgroup (issue 4 ops)."""
import json

import pytest

from oci_runtime.cgroups import detect_mode
from tests.waiting import process_alive, wait_exited, wait_for_status, wait_until

# These read v1 files (freezer.state, memory.limit_in_bytes); tests/cgroups/test_containers.py
# checks the same operations against the files of whichever mode the host has.
v1_files = pytest.mark.skipif(detect_mode() == "v2", reason="reads cgroup v1 files")


def cgroup_file(config_path, controller, name):
    cgroups_path = json.loads(config_path.read_text())["linux"]["cgroupsPath"]
    return f"/sys/fs/cgroup/{controller}{cgroups_path}/{name}"


@v1_files
def test_pause_and_resume(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    oci("pause", cid, check=True)
    assert oci.state(cid)["status"] == "paused"
    with open(cgroup_file(bundle / "config.json", "freezer", "freezer.state")) as state:
        assert state.read().strip() == "FROZEN"
    assert oci("pause", cid).returncode != 0  # already paused
    oci("resume", cid, check=True)
    assert oci.state(cid)["status"] == "running"


@v1_files
def test_update_memory_and_pids(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    oci("update", "--memory", "96m", "--pids-limit", "40", cid, check=True)
    with open(cgroup_file(bundle / "config.json", "memory", "memory.limit_in_bytes")) as limit:
        assert int(limit.read()) == 96 << 20
    with open(cgroup_file(bundle / "config.json", "pids", "pids.max")) as limit:
        assert limit.read().strip() == "40"
    resources = tmp_path / "resources.json"
    resources.write_text(json.dumps({"pids": {"limit": 41}}))
    oci("update", "--resources", str(resources), cid, check=True)
    with open(cgroup_file(bundle / "config.json", "pids", "pids.max")) as limit:
        assert limit.read().strip() == "41"


def test_events_stats_once(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"], lambda c: c["linux"]["resources"].update(
        memory={"limit": 64 << 20}))
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    event = json.loads(oci("events", "--stats", cid, check=True).stdout)
    assert event["type"] == "stats" and event["id"] == cid
    assert event["data"]["memory"]["usage"]["limit"] == 64 << 20
    assert event["data"]["pids"]["current"] >= 1


def test_ps_and_kill_all(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"], lambda c: c["linux"]["namespaces"].remove({"type": "pid"}))
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    # The shell forks its two sleeps when the scheduler lets it: wait for them, then for each
    # to be gone (SIGKILL is delivered asynchronously: the init's death, which makes the status
    # `stopped`, says nothing of the others').
    def all_three():
        listed = json.loads(oci("ps", "--format", "json", cid, check=True).stdout)
        return listed if len(listed) == 3 else None
    pids = wait_until(all_three, "the shell and its two sleeps in `ps`")
    assert oci.state(cid)["pid"] in pids
    oci("kill", "--all", cid, "KILL", check=True)
    wait_for_status(oci, cid, "stopped")
    for pid in pids:
        wait_exited(pid)


def _exec_sleep(oci, cid, tmp_path, name):
    pid_file = tmp_path / f"{name}.pid"
    oci("exec", "--detach", "--pid-file", str(pid_file), cid, "sleep", "1000", check=True)
    return int(pid_file.read_text())


@pytest.mark.parametrize("namespace", ["host", "joined"])
def test_kill_KILL_without_a_pid_namespace_of_its_own_kills_every_process(
        oci, make_bundle, tmp_path, namespace):
    """Sharing the host's pid namespace (or joining another's), the init is not that
    namespace's pid 1, so the kernel does not kill the rest when it dies: runc's `kill KILL`
    kills every process of the container's cgroup, and so does ours."""
    def edit(config):
        config["linux"]["namespaces"].remove({"type": "pid"})
        if namespace == "joined":   # the runtime's own, by path: not the container's own
            config["linux"]["namespaces"].append({"type": "pid", "path": "/proc/self/ns/pid"})
    bundle, cid = make_bundle(["sleep", "1000"], edit)
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    init = oci.state(cid)["pid"]
    exec_pids = [_exec_sleep(oci, cid, tmp_path, f"exec{n}") for n in range(2)]
    oci("kill", cid, "KILL", check=True)
    wait_for_status(oci, cid, "stopped")
    for pid in [init, *exec_pids]:
        wait_exited(pid)


def test_kill_TERM_without_a_pid_namespace_goes_to_the_init_only(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["sleep", "1000"],
                              lambda c: c["linux"]["namespaces"].remove({"type": "pid"}))
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    exec_pid = _exec_sleep(oci, cid, tmp_path, "exec")
    oci("kill", cid, "TERM", check=True)
    wait_for_status(oci, cid, "stopped")
    # runc signals all processes for KILL only.  Not "alive a moment later" alone: a TERM sent
    # to it would still be pending (signals are delivered when the process next runs).
    assert process_alive(exec_pid)
    with open(f"/proc/{exec_pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    assert int(fields["SigPnd"], 16) == int(fields["ShdPnd"], 16) == 0, fields
