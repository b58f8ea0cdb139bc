"""Real cgroup v2 tests (pure v2 host: run in the v2bed VM).  The systemd-driver ones also need
systemd as PID 1 (v2run --systemd)."""

import os
import signal
import subprocess
import uuid

import pytest

from oci_runtime.cgroups import manager_from_dict, open_manager
from oci_runtime.errors import OCIError
from tests.waiting import FAILURE_AFTER

from tests.cgroups.cgroupfs import read

pytestmark = pytest.mark.v2


def f(m, name):
    return read(os.path.join(m.path_for(""), name))


def test_controllers_enabled_and_leaf(mgr):
    ctrls = f(mgr, "cgroup.controllers").split()
    for c in ("cpu", "memory", "pids", "io"):
        assert c in ctrls


def test_memory_fields(mgr):
    m = mgr
    m.set({"memory": {"limit": 256 << 20, "swap": 384 << 20, "reservation": 64 << 20,
                      "swappiness": 10, "kernel": 1 << 20, "kernelTCP": 1 << 20,
                      "disableOOMKiller": False, "useHierarchy": True}})
    assert f(m, "memory.max") == str(256 << 20)
    assert f(m, "memory.low") == str(64 << 20)
    if os.path.exists(os.path.join(m.path_for(""), "memory.swap.max")):
        assert f(m, "memory.swap.max") == str(128 << 20)          # swap - limit
        m.update({"memory": {"limit": 128 << 20, "swap": 128 << 20}})
        assert f(m, "memory.swap.max") == "0"
        m.update({"memory": {"limit": -1}})
        assert f(m, "memory.swap.max") == "max"
    m.update({"memory": {"limit": -1}})
    assert f(m, "memory.max") == "max"


def test_cpu_fields(mgr):
    m = mgr
    m.set({"cpu": {"shares": 512, "quota": 50000, "period": 200000, "burst": 10000, "cpus": "0", "mems": "0"}})
    assert f(m, "cpu.weight") == "59"
    assert f(m, "cpu.max") == "50000 200000"
    if os.path.exists(os.path.join(m.path_for(""), "cpu.max.burst")):
        assert f(m, "cpu.max.burst") == "10000"
    assert f(m, "cpuset.cpus") == "0"
    assert f(m, "cpuset.mems") == "0"
    m.update({"cpu": {"quota": -1}})
    assert f(m, "cpu.max") == "max 200000"
    if os.path.exists(os.path.join(m.path_for(""), "cpu.idle")):
        m.set({"cpu": {"idle": 1}})
        assert f(m, "cpu.idle") == "1"
    with pytest.raises(OCIError, match="real-time group scheduling is not supported on cgroup v2"):
        m.set({"cpu": {"realtimeRuntime": 1000}})


def test_pids_and_unified(mgr):
    m = mgr
    m.set({"pids": {"limit": 10}})
    assert f(m, "pids.max") == "10"
    m.set({"unified": {"pids.max": "7", "memory.high": "100000000"}})
    assert f(m, "pids.max") == "7"
    assert f(m, "memory.high") == "99999744" or f(m, "memory.high") == "100000000"
    with pytest.raises(OCIError, match=r"/linux/resources/unified/nosuch.file: controller 'nosuch' is not available"):
        m.set({"unified": {"nosuch.file": "1"}})


def test_io_fields(mgr):
    m = mgr
    devs = [n for n in sorted(os.listdir("/sys/block")) if not n.startswith(("loop", "ram", "zram"))]
    p = m.path_for("")
    if os.path.exists(os.path.join(p, "io.bfq.weight")):
        m.set({"blockIO": {"weight": 300}})
        assert f(m, "io.bfq.weight").split()[-1] == "300"
    elif os.path.exists(os.path.join(p, "io.weight")):
        m.set({"blockIO": {"weight": 500}})
        assert f(m, "io.weight") == "default 4950"
    if not devs:
        pytest.skip("no block device in this VM for io.max")
    ma, mi = read(f"/sys/block/{devs[0]}/dev").split(":")
    m.set({"blockIO": {"throttleReadBpsDevice": [{"major": int(ma), "minor": int(mi), "rate": 1 << 20}],
                       "throttleWriteIOPSDevice": [{"major": int(ma), "minor": int(mi), "rate": 300}]}})
    line = f(m, "io.max")
    assert f"{ma}:{mi}" in line and f"rbps={1 << 20}" in line and "wiops=300" in line


def test_hugetlb(mgr):
    m = mgr
    if "hugetlb" not in f(m, "cgroup.controllers").split():
        pytest.skip("no hugetlb controller")
    m.set({"hugepageLimits": [{"pageSize": "2MB", "limit": 20 << 20}]})
    assert f(m, "hugetlb.2MB.max") == str(20 << 20)


def test_network_is_an_error(mgr):
    with pytest.raises(OCIError, match="net_cls/net_prio do not exist on cgroup v2"):
        mgr.set({"network": {"classID": 1}})


DEVCHECK = ("import sys\n"
            "for line in sys.stdin:\n"
            "    res = []\n"
            "    for dev in ('/dev/null', '/dev/zero'):\n"
            "        try:\n"
            "            open(dev, 'rb').close(); res.append('ok')\n"
            "        except PermissionError:\n"
            "            res.append('EPERM')\n"
            "    print(' '.join(res), flush=True)\n")


def test_devices_ebpf_and_replace_on_update(real):
    from oci_runtime.cgroups import _bpf
    make, children = real
    m = make()
    p = children.python(DEVCHECK, wait_go=False)
    m.apply(p.pid)

    def check():
        p.stdin.write("x\n")
        p.stdin.flush()
        return p.stdout.readline().split()

    assert check() == ["ok", "ok"]
    m.set({"devices": [{"allow": False, "access": "rwm"},
                       {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]})
    assert check() == ["ok", "EPERM"]
    cg = os.open(m.path_for(""), os.O_RDONLY | os.O_DIRECTORY)
    try:
        first = _bpf.query_programs(cg)
        assert len(first) == 1
        m.update({"devices": [{"allow": False, "access": "rwm"},
                              {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "r"}]})
        second = _bpf.query_programs(cg)
    finally:
        os.close(cg)
    assert len(second) == 1 and second != first          # replaced, not stacked
    assert check() == ["EPERM", "ok"]


def test_freeze_uses_cgroup_freeze(real):
    make, children = real
    m = make()
    p = children.sleep()
    m.apply(p.pid)
    m.freeze()
    assert f(m, "cgroup.freeze") == "1" and "frozen 1" in f(m, "cgroup.events")
    m.thaw()
    assert "frozen 0" in f(m, "cgroup.events")


def test_kill_all_uses_cgroup_kill(real):
    make, children = real
    m = make()
    m.create()
    if not os.path.exists(os.path.join(m.path_for(""), "cgroup.kill")):
        pytest.skip("no cgroup.kill")
    a, b = children.sleep(), children.sleep()
    m.apply(a.pid)
    m.apply(b.pid)
    m.kill_all(signal.SIGKILL)
    assert a.wait(timeout=FAILURE_AFTER) == -signal.SIGKILL
    assert b.wait(timeout=FAILURE_AFTER) == -signal.SIGKILL


# -- systemd driver ----------------------------------------------------------------------------------

@pytest.fixture
def unit_name():
    name = f"ocitest{uuid.uuid4().hex[:8]}"
    yield name
    unit = f"ocitest-{name}.scope"
    subprocess.run(["systemctl", "stop", unit], capture_output=True)
    subprocess.run(["systemctl", "reset-failed", unit], capture_output=True)


@pytest.mark.systemd
def test_systemd_scope_lifecycle(unit_name, children):
    m = open_manager(f"system.slice:ocitest:{unit_name}", "ignored", systemd=True)
    assert m.driver == "systemd" and m.unit == f"ocitest-{unit_name}.scope"
    m.create()
    m.set({"memory": {"limit": 200 << 20}, "cpu": {"quota": 50000, "period": 100000, "shares": 2048},
           "pids": {"limit": 20}})
    p = children.sleep()
    try:
        m.apply(p.pid)
        path = m.path_for("")
        assert path == f"/sys/fs/cgroup/system.slice/ocitest-{unit_name}.scope"
        assert str(p.pid) in read(os.path.join(path, "cgroup.procs")).split()
        assert read(os.path.join(path, "memory.max")) == str(200 << 20)
        assert read(os.path.join(path, "cpu.max")) == "50000 100000"
        assert read(os.path.join(path, "cpu.weight")) == "174"
        assert read(os.path.join(path, "pids.max")) == "20"
        show = subprocess.run(["systemctl", "show", m.unit, "-p", "ActiveState", "-p", "MemoryMax",
                               "-p", "TasksMax", "-p", "CPUQuotaPerSecUSec"],
                              capture_output=True, text=True).stdout
        assert "ActiveState=active" in show and f"MemoryMax={200 << 20}" in show and "TasksMax=20" in show
        m2 = manager_from_dict(m.to_dict())
        m2.update({"memory": {"limit": 300 << 20}})
        assert read(os.path.join(path, "memory.max")) == str(300 << 20)
        show = subprocess.run(["systemctl", "show", m.unit, "-p", "MemoryMax"], capture_output=True, text=True).stdout
        assert f"MemoryMax={300 << 20}" in show
        m2.freeze()
        assert m2.is_frozen()
        m2.thaw()
        assert m2.pids() == [p.pid]
        m2.kill_all()
        p.wait(timeout=FAILURE_AFTER)
    finally:
        m.destroy()
    assert not os.path.exists(path)
    state = subprocess.run(["systemctl", "is-active", m.unit], capture_output=True, text=True).stdout.strip()
    assert state in ("inactive", "unknown")


@pytest.mark.systemd
def test_systemd_default_path_and_devices(children):
    cid = f"ocidef{uuid.uuid4().hex[:6]}"
    m = open_manager(None, cid, systemd=True)
    assert m.unit == f"oci-runtime-{cid}.scope" and m.slice == "system.slice"
    p = children.python(DEVCHECK, wait_go=False)
    try:
        m.set({"devices": [{"allow": False}, {"allow": True, "type": "c", "major": 1, "minor": 3}]})
        m.apply(p.pid)
        p.stdin.write("x\n")
        p.stdin.flush()
        assert p.stdout.readline().split() == ["ok", "EPERM"]
    finally:
        children.cleanup()
        m.destroy()
