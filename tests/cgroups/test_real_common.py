"""Real cgroups, any mode (run on the hybrid host and in the v2 VM): lifecycle, freezer, kill, pids
limit, CPU quota, cpuset pinning, OOM, stats, nested destroy, error messages."""

import os
import signal
import time

import pytest

from oci_runtime.cgroups import manager_from_dict
from oci_runtime.errors import OCIError
from tests.waiting import FAILURE_AFTER, wait_until

from tests.cgroups.cgroupfs import read

pytestmark = pytest.mark.common


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_lifecycle_apply_pids_destroy(real):
    make, children = real
    m = make()
    m.create()
    assert m.exists()
    p = children.sleep()
    m.apply(p.pid)
    assert m.pids() == [p.pid]
    dirs = set(m.to_dict().get("paths", {}).values()) | {m.to_dict().get("unified") or m.to_dict().get("path")}
    dirs.discard(None)
    for d in dirs:
        assert str(p.pid) in read(os.path.join(d, "cgroup.procs")).split(), d
    again = manager_from_dict(m.to_dict())
    assert again.pids() == [p.pid]
    p.kill()
    p.wait()
    wait_until(lambda: m.pids() == [], "the killed child to leave the cgroup")
    again.destroy()
    assert not m.exists()
    for d in dirs:
        assert not os.path.exists(d)


def test_nested_path_and_destroy_bottom_up(real):
    make, children = real
    m = make("/a/b")
    m.create()
    sub = make("/a/b/sub")
    sub.create()
    p = children.sleep()
    sub.apply(p.pid)
    assert m.pids() == [p.pid]              # recursive
    p.kill()
    p.wait()
    m.destroy()                              # removes the child cgroup first
    assert not sub.exists() and not m.exists()


def test_freeze_thaw(real):
    make, children = real
    m = make()
    p = children.python("while True: pass")
    m.apply(p.pid)
    children.go(p)
    t0 = cpu_ticks(p.pid)
    wait_until(lambda: cpu_ticks(p.pid) - t0 >= 5, "the busy loop to run")
    m.freeze()
    assert m.is_frozen()
    if m.mode == "v2":
        assert "frozen 1" in read(os.path.join(m.path_for("cpu"), "cgroup.events"))
    else:
        assert read(os.path.join(m.path_for("freezer"), "freezer.state")) == "FROZEN"
    # A window in which a running loop would have had CPU time: the freezer's FROZEN above is
    # the proof, this what it means (and it cannot fail by load: a frozen task gets none).
    t0 = cpu_ticks(p.pid)
    time.sleep(0.5)
    assert cpu_ticks(p.pid) - t0 <= 1, "a frozen busy loop must not get CPU time"
    m.thaw()
    assert not m.is_frozen()
    t0 = cpu_ticks(p.pid)
    wait_until(lambda: cpu_ticks(p.pid) - t0 >= 5, "the thawed loop to run again")


def test_kill_all_kills_every_process(real):
    make, children = real
    m = make()
    code = ("import os, time\n"
            "for _ in range(3):\n"
            "    if os.fork() == 0:\n"
            "        time.sleep(300); os._exit(0)\n"
            "print('forked', flush=True)\n"
            "time.sleep(300)\n")
    p = children.python(code)
    m.apply(p.pid)
    children.go(p)
    assert p.stdout.readline().strip() == "forked"
    wait_until(lambda: len(m.pids()) == 4, "the parent and its 3 children in the cgroup")
    m.kill_all(signal.SIGKILL)
    assert p.wait(timeout=FAILURE_AFTER) == -signal.SIGKILL
    wait_until(lambda: m.pids() == [], lambda: f"the cgroup to empty ({m.pids()})")
    assert not m.is_frozen()


def test_pids_limit_makes_fork_fail(real):
    make, children = real
    m = make()
    code = ("import os\n"
            "try:\n"
            "    pid = os.fork()\n"
            "except BlockingIOError:\n"
            "    print('EAGAIN', flush=True)\n"
            "else:\n"
            "    if pid == 0: os._exit(0)\n"
            "    os.waitpid(pid, 0); print('forked', flush=True)\n")
    p = children.python(code)
    m.apply(p.pid)
    m.set({"pids": {"limit": 1}})
    children.go(p)
    out, err = p.communicate(timeout=FAILURE_AFTER)
    assert out.strip() == "EAGAIN", err
    assert m.stats()["pids"]["limit"] == 1


def test_cpu_quota_half_cpu(real):
    make, children = real
    m = make()
    p = children.python("while True: pass")
    m.apply(p.pid)
    m.set({"cpu": {"quota": 50000, "period": 100000}})
    children.go(p)
    # Throttled periods are the kernel's own proof that the quota holds the loop back; waited
    # for (not slept for) since a loaded host may not give the loop 50 ms in a period at once.
    wait_until(lambda: m.stats()["cpu"]["throttling"]["throttled_periods"] > 0,
               "a throttled period")
    # The wall-clock window holds the usage window (t0 read before u0, t1 after u1): a test
    # descheduled between the two reads can only lower the fraction, never raise it.
    t0 = time.monotonic()
    u0 = m.stats()["cpu"]["usage"]["total"]
    time.sleep(2.0)  # a measuring window: the upper bound holds for any window
    u1 = m.stats()["cpu"]["usage"]["total"]
    t1 = time.monotonic()
    frac = (u1 - u0) / 1e9 / (t1 - t0)
    print(f"measured cpu fraction under quota 50000/100000: {frac:.3f}")
    # Only the upper bound is the quota's (0.5 + one period at the edges); a lower bound would
    # measure the host's load.
    assert frac <= 0.6, frac


def test_cpuset_pins_child(real):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs at least 2 CPUs to show pinning")
    make, children = real
    m = make()
    p = children.python("import os; print(sorted(os.sched_getaffinity(0)), flush=True)")
    m.apply(p.pid)
    m.set({"cpu": {"cpus": "0", "mems": "0"}})
    children.go(p)
    out, _ = p.communicate(timeout=FAILURE_AFTER)
    assert out.strip() == "[0]"


def test_oom_kill_is_observed(real):
    make, children = real
    m = make()
    m.create()
    mem = {"limit": 256 << 20}
    if m.mode != "v2" and os.path.exists(os.path.join(m.path_for("memory"), "memory.memsw.limit_in_bytes")):
        mem["swap"] = 256 << 20          # memory+swap = memory: no swapping out of the OOM
    elif m.mode == "v2":
        mem["swap"] = 256 << 20
    m.set({"memory": mem})
    before = m.oom_events()
    with m.oom_notifier() as notifier:
        p = children.python("s = b'x' * (300 << 20)\nprint('survived', flush=True)")
        m.apply(p.pid)
        children.go(p)
        assert notifier.wait(timeout=FAILURE_AFTER), "no OOM notification"
        rc = p.wait(timeout=FAILURE_AFTER)
    assert rc == -signal.SIGKILL
    wait_until(lambda: m.oom_events() > before, "the OOM kill in the cgroup's events")


def test_stats_shape(real):
    make, children = real
    m = make()
    # 0.3 s of CPU time, not of wall time: on a loaded host half a second of wall time may hold
    # less than the 0.1 s of CPU asserted below.
    p = children.python("import time\nb = b'y' * (20 << 20)\nwhile time.process_time() < 0.3: pass\n"
                        "print('done', flush=True)\ntime.sleep(300)")
    m.apply(p.pid)
    children.go(p)
    assert p.stdout.readline().strip() == "done"
    st = m.stats()
    assert st["cpu"]["usage"]["total"] > 100_000_000          # > 0.1 s in ns
    assert st["memory"]["usage"]["usage"] > 20 << 20
    assert st["memory"]["usage"]["limit"] > 0
    assert "failcnt" in st["memory"]["usage"] and "max" in st["memory"]["usage"]
    assert st["pids"]["current"] >= 1
    assert "blkio" in st and "hugetlb" in st
    assert "throttling" in st["cpu"]


def test_kernel_rejection_names_field_file_value(real):
    make, _ = real
    m = make()
    m.create()
    with pytest.raises(OCIError) as ei:
        m.set({"cpu": {"cpus": "999"}})
    path = os.path.join(m.path_for("cpuset"), "cpuset.cpus")
    msg = str(ei.value)
    assert msg.startswith(f'/linux/resources/cpu/cpus: writing "999" to {path}: '), msg
    assert ei.value.errno != 0


def test_update_changes_only_given_fields(real):
    make, _ = real
    m = make()
    m.create()
    m.set({"pids": {"limit": 50}, "cpu": {"quota": 20000, "period": 100000}})
    m.update({"pids": {"limit": 60}})
    assert m.stats()["pids"]["limit"] == 60
    if m.mode == "v2":
        assert read(os.path.join(m.path_for("cpu"), "cpu.max")) == "20000 100000"
    else:
        assert read(os.path.join(m.path_for("cpu"), "cpu.cfs_quota_us")) == "20000"
