"""Real cgroup v1 / hybrid tests: every linux.resources field is written and read back from the v1
files; hybrid-only parts (membership and hugetlb/unified through the cgroup2 hierarchy)."""

import errno
import os

import pytest

from oci_runtime.errors import OCIError

from tests.cgroups.cgroupfs import read

pytestmark = pytest.mark.hybrid


def f(m, ctrl, name):
    return read(os.path.join(m.path_for(ctrl), name))


def test_hybrid_membership(real):
    make, children = real
    m = make()
    if m.mode != "hybrid":
        pytest.skip("pure v1 host")
    p = children.sleep()
    m.apply(p.pid)
    assert str(p.pid) in f(m, "unified", "cgroup.procs").split()
    assert str(p.pid) in f(m, "name=systemd", "cgroup.procs").split()


def test_memory_fields(mgr):
    m = mgr
    m.set({"memory": {"limit": 256 << 20, "swap": 512 << 20, "reservation": 128 << 20,
                      "kernel": 64 << 20, "kernelTCP": 32 << 20, "swappiness": 30,
                      "disableOOMKiller": True, "useHierarchy": True}})
    assert f(m, "memory", "memory.limit_in_bytes") == str(256 << 20)
    if os.path.exists(os.path.join(m.path_for("memory"), "memory.memsw.limit_in_bytes")):
        assert f(m, "memory", "memory.memsw.limit_in_bytes") == str(512 << 20)
    assert f(m, "memory", "memory.soft_limit_in_bytes") == str(128 << 20)
    assert f(m, "memory", "memory.kmem.tcp.limit_in_bytes") == str(32 << 20)
    assert f(m, "memory", "memory.swappiness") == "30"
    assert "oom_kill_disable 1" in f(m, "memory", "memory.oom_control")
    assert f(m, "memory", "memory.use_hierarchy") == "1"
    m.set({"memory": {"disableOOMKiller": False}})
    assert "oom_kill_disable 0" in f(m, "memory", "memory.oom_control")


def test_memory_update_orders_swap_and_limit(mgr):
    m = mgr
    if not os.path.exists(os.path.join(m.path_for("memory"), "memory.memsw.limit_in_bytes")):
        pytest.skip("no swap accounting")
    m.set({"memory": {"limit": 256 << 20, "swap": 256 << 20}})
    # raising both: memsw must be raised first (memory > memsw is rejected by the kernel)
    m.update({"memory": {"limit": 1 << 30, "swap": 2 << 30}})
    assert f(m, "memory", "memory.limit_in_bytes") == str(1 << 30)
    assert f(m, "memory", "memory.memsw.limit_in_bytes") == str(2 << 30)
    # lowering both: memory first
    m.update({"memory": {"limit": 128 << 20, "swap": 128 << 20}})
    assert f(m, "memory", "memory.memsw.limit_in_bytes") == str(128 << 20)
    # -1 limit without swap: both unlimited
    m.update({"memory": {"limit": -1}})
    assert int(f(m, "memory", "memory.memsw.limit_in_bytes")) > 1 << 60
    assert int(f(m, "memory", "memory.limit_in_bytes")) > 1 << 60


def test_memory_limit_below_usage_is_busy(real):
    make, children = real
    m = make()
    p = children.python("b = b'z' * (64 << 20)\nprint('ok', flush=True)\nimport time; time.sleep(300)")
    m.apply(p.pid)
    children.go(p)
    assert p.stdout.readline().strip() == "ok"
    with pytest.raises(OCIError) as ei:
        m.update({"memory": {"limit": 16 << 20, "checkBeforeUpdate": True}})
    assert "rejecting memory limit 16777216 below current usage" in str(ei.value)
    m.set({"memory": {"disableOOMKiller": True}})
    with pytest.raises(OCIError) as ei:
        m.set({"memory": {"limit": 8 << 20}})
    path = os.path.join(m.path_for("memory"), "memory.limit_in_bytes")
    assert str(ei.value).startswith(
        f'/linux/resources/memory/limit: writing "{8 << 20}" to {path}: Device or resource busy')
    assert ei.value.errno == errno.EBUSY


def test_cpu_fields(mgr):
    m = mgr
    m.set({"cpu": {"shares": 512, "quota": 50000, "period": 200000, "burst": 10000,
                   "realtimePeriod": 1000000, "realtimeRuntime": 10000, "cpus": "0", "mems": "0"}})
    assert f(m, "cpu", "cpu.shares") == "512"
    assert f(m, "cpu", "cpu.cfs_quota_us") == "50000"
    assert f(m, "cpu", "cpu.cfs_period_us") == "200000"
    assert f(m, "cpu", "cpu.cfs_burst_us") == "10000"
    assert f(m, "cpu", "cpu.rt_period_us") == "1000000"
    assert f(m, "cpu", "cpu.rt_runtime_us") == "10000"
    assert f(m, "cpuset", "cpuset.cpus") == "0"
    assert f(m, "cpuset", "cpuset.mems") == "0"
    m.set({"cpu": {"quota": -1}})
    assert f(m, "cpu", "cpu.cfs_quota_us") == "-1"
    m.set({"cpu": {"idle": 1}})
    assert f(m, "cpu", "cpu.idle") == "1"
    m.set({"cpu": {"idle": 0}})
    with pytest.raises(OCIError, match=r"/linux/resources/cpu/shares: the minimum allowed cpu-shares is 2"):
        m.set({"cpu": {"shares": 1}})


def test_pids_fields(mgr):
    mgr.set({"pids": {"limit": 0}})
    assert f(mgr, "pids", "pids.max") == "0"
    mgr.set({"pids": {"limit": -1}})
    assert f(mgr, "pids", "pids.max") == "max"


def test_devices_allow_deny_in_order(real):
    make, children = real
    m = make()
    code = ("for dev in ('/dev/null', '/dev/zero'):\n"
            "    try:\n"
            "        open(dev, 'rb').close(); print(dev, 'ok', flush=True)\n"
            "    except PermissionError:\n"
            "        print(dev, 'EPERM', flush=True)\n")
    p = children.python(code)
    m.apply(p.pid)
    m.set({"devices": [{"allow": False, "access": "rwm"},
                       {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                       {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
                       {"allow": False, "type": "c", "major": 1, "minor": 5, "access": "r"}]})
    assert f(m, "devices", "devices.list").splitlines() == ["c 1:3 rwm", "c 1:5 wm"]
    children.go(p)
    out, _ = p.communicate(timeout=60)
    assert out.split("\n")[:2] == ["/dev/null ok", "/dev/zero EPERM"]


def _block_device():
    for name in sorted(os.listdir("/sys/block")):
        if name.startswith(("loop", "ram", "zram")):
            continue
        try:
            return tuple(int(x) for x in read(f"/sys/block/{name}/dev").split(":"))
        except OSError:
            continue
    return None


def test_blkio_fields(mgr):
    m = mgr
    dev = _block_device()
    if dev is None:
        pytest.skip("no block device")
    ma, mi = dev
    bio = {"throttleReadBpsDevice": [{"major": ma, "minor": mi, "rate": 1 << 20}],
           "throttleWriteBpsDevice": [{"major": ma, "minor": mi, "rate": 2 << 20}],
           "throttleReadIOPSDevice": [{"major": ma, "minor": mi, "rate": 100}],
           "throttleWriteIOPSDevice": [{"major": ma, "minor": mi, "rate": 200}]}
    m.set({"blockIO": bio})
    assert f(m, "blkio", "blkio.throttle.read_bps_device") == f"{ma}:{mi} {1 << 20}"
    assert f(m, "blkio", "blkio.throttle.write_bps_device") == f"{ma}:{mi} {2 << 20}"
    assert f(m, "blkio", "blkio.throttle.read_iops_device") == f"{ma}:{mi} 100"
    assert f(m, "blkio", "blkio.throttle.write_iops_device") == f"{ma}:{mi} 200"
    bp = m.path_for("blkio")
    wfile = "blkio.weight" if os.path.exists(os.path.join(bp, "blkio.weight")) else "blkio.bfq.weight"
    if os.path.exists(os.path.join(bp, wfile)):
        m.set({"blockIO": {"weight": 300}})
        assert f(m, "blkio", wfile).split()[-1] == "300"
    if not os.path.exists(os.path.join(bp, "blkio.leaf_weight")):
        with pytest.raises(OCIError, match=r"^/linux/resources/blockIO/leafWeight: writing \"100\" to .*blkio.leaf_weight: "):
            m.set({"blockIO": {"leafWeight": 100}})
    if not os.path.exists(os.path.join(bp, "blkio.leaf_weight_device")):
        # Linux 5.0 removed CFQ's leaf weights: refused naming the entry, never ignored
        with pytest.raises(OCIError, match=r"^/linux/resources/blockIO/weightDevice/0: writing .*blkio.leaf_weight_device: "):
            m.set({"blockIO": {"weightDevice": [{"major": ma, "minor": mi, "leafWeight": 100}]}})
    else:
        m.set({"blockIO": {"weightDevice": [{"major": ma, "minor": mi, "leafWeight": 100}]}})
        assert f"{ma}:{mi} 100" in f(m, "blkio", "blkio.leaf_weight_device")


@pytest.fixture
def unified_hugetlb_restored():
    """Tests that need hugetlb in the unified hierarchy (hybrid) enable it at the unified root;
    restore the root's subtree_control afterwards."""
    sc = "/sys/fs/cgroup/unified/cgroup.subtree_control"
    if not os.path.exists(sc) or "hugetlb" not in read("/sys/fs/cgroup/unified/cgroup.controllers").split():
        pytest.skip("no hugetlb in the unified hierarchy")
    before = read(sc).split()
    yield
    if "hugetlb" not in before and "hugetlb" in read(sc).split():
        try:
            with open(sc, "w") as fobj:
                fobj.write("-hugetlb")
        except OSError:
            pass


def test_hugetlb(mgr, request):
    m = mgr
    limit = 10 * (2 << 20)
    if "hugetlb" in m.to_dict()["paths"]:
        m.set({"hugepageLimits": [{"pageSize": "2MB", "limit": limit}]})
        assert f(m, "hugetlb", "hugetlb.2MB.limit_in_bytes") == str(limit)
        return
    if m.mode != "hybrid":
        pytest.skip("no hugetlb controller")
    request.getfixturevalue("unified_hugetlb_restored")
    m.set({"hugepageLimits": [{"pageSize": "2MB", "limit": limit}, {"pageSize": "1GB", "limit": 0}]})
    assert f(m, "unified", "hugetlb.2MB.max") == str(limit)
    assert f(m, "unified", "hugetlb.1GB.max") == "0"
    if os.path.exists(os.path.join(m.path_for("unified"), "hugetlb.2MB.rsvd.max")):
        assert f(m, "unified", "hugetlb.2MB.rsvd.max") == str(limit)
    assert "2MB" in m.stats()["hugetlb"]
    with pytest.raises(OCIError, match=r"/linux/resources/hugepageLimits/0/pageSize: hugepage size '3MB' is not supported"):
        m.set({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]})


def test_unified_on_hybrid(mgr, request):
    m = mgr
    if m.mode != "hybrid":
        pytest.skip("pure v1 host")
    with pytest.raises(OCIError, match=r"/linux/resources/unified/memory.max: controller 'memory' is not in the cgroup v2 hierarchy"):
        m.set({"unified": {"memory.max": "1000000"}})
    avail = read("/sys/fs/cgroup/unified/cgroup.controllers").split()
    if "hugetlb" in avail:
        request.getfixturevalue("unified_hugetlb_restored")
        m.set({"unified": {"hugetlb.2MB.max": str(4 << 20)}})
        assert f(m, "unified", "hugetlb.2MB.max") == str(4 << 20)


def test_absent_controllers_error_only_when_asked(mgr):
    m = mgr
    paths = m.to_dict()["paths"]
    for ctrl, res, field in (("net_cls", {"network": {"classID": 0x100001}}, "network/classID"),
                             ("net_prio", {"network": {"priorities": [{"name": "lo", "priority": 5}]}},
                              "network/priorities"),
                             ("rdma", {"rdma": {"mlx5_1": {"hcaHandles": 3}}}, "rdma")):
        if ctrl in paths:
            continue
        with pytest.raises(OCIError, match=rf"^/linux/resources/{field}: the {ctrl} cgroup controller is not available"):
            m.set(res)
    m.set({"network": {}, "rdma": {}})          # empty: nothing asked, no error


def test_network_fields_if_present(mgr):
    m = mgr
    paths = m.to_dict()["paths"]
    if "net_cls" not in paths:
        pytest.skip("net_cls not mounted on this host")
    m.set({"network": {"classID": 0x100001}})
    assert f(m, "net_cls", "net_cls.classid") == str(0x100001)


def test_unified_rejected_on_pure_v1(mgr):
    if mgr.mode != "v1":
        pytest.skip("hybrid host: covered by test_unified_on_hybrid")
    with pytest.raises(OCIError, match="cannot use unified"):
        mgr.set({"unified": {"pids.max": "1"}})


def test_raising_limit_above_memsw_hints_at_swap(mgr):
    m = mgr
    if not os.path.exists(os.path.join(m.path_for("memory"), "memory.memsw.limit_in_bytes")):
        pytest.skip("no swap accounting")
    m.set({"memory": {"limit": 256 << 20, "swap": 256 << 20}})
    with pytest.raises(OCIError, match=r"set /linux/resources/memory/swap too"):
        m.update({"memory": {"limit": 512 << 20}})


def test_oom_notifier_times_out_without_oom(mgr):
    with mgr.oom_notifier() as n:
        assert n.fileno() >= 0
        assert n.wait(timeout=0.2) is False
    assert mgr.oom_events() == 0
