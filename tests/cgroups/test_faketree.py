"""Managers against a temporary directory tree with a fake mountinfo and /proc/self/cgroup: mode
detection, cgroupsPath resolution and the exact values written, without root or real cgroups."""

import os

import pytest

from oci_runtime.cgroups import detect_mode, manager_from_dict, open_manager
from oci_runtime.cgroups.hierarchy import Mounts, clean_path, parse_proc_cgroup
from oci_runtime.errors import OCIError
from oci_runtime.kernel import mountinfo

V1 = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"]


def mountinfo_line(i, mnt, fstype, opts, root="/"):
    return f"{30 + i} 25 0:{30 + i} {root} {mnt} rw,nosuid - {fstype} cgroup rw,{opts}\n"


def make_tree(tmp_path, mode, own="/"):
    root = tmp_path / "cg"
    root.mkdir()
    lines = ["20 1 8:1 / / rw - ext4 /dev/vda rw\n"]
    if mode == "v2":
        lines.append(mountinfo_line(0, root, "cgroup2", "nsdelegate"))
    else:
        for i, c in enumerate(V1):
            (root / c).mkdir()
            lines.append(mountinfo_line(i + 1, root / c, "cgroup", c))
        (root / "systemd").mkdir()
        lines.append(mountinfo_line(20, root / "systemd", "cgroup", "xattr,name=systemd"))
        if mode == "hybrid":
            (root / "unified").mkdir()
            lines.append(mountinfo_line(21, root / "unified", "cgroup2", "nsdelegate"))
    mi = tmp_path / "mountinfo"
    mi.write_text("".join(lines))
    pc = tmp_path / "proc_cgroup"
    pc.write_text("".join(f"{i + 1}:{c}:{own}\n" for i, c in enumerate(V1)) + f"9:name=systemd:{own}\n0::{own}\n")
    return str(root), str(mi), str(pc)


def test_parse_mountinfo_escapes():
    m = [(e.mount_point, e.root, e.fstype, e.super_options.split(","))
         for e in mountinfo.parse("36 35 98:0 / /mnt/with\\040space rw - cgroup2 none rw\n")]
    assert m == [("/mnt/with space", "/", "cgroup2", ["rw"])]


def test_parse_proc_cgroup():
    d = parse_proc_cgroup("4:memory:/a/b\n2:cpu,cpuacct:/c\n1:name=systemd:/s\n0::/u\n")
    assert d == {"memory": "/a/b", "cpu": "/c", "cpuacct": "/c", "name=systemd": "/s", "": "/u"}


@pytest.mark.parametrize("mode", ["v1", "v2", "hybrid"])
def test_detect_mode(tmp_path, mode):
    root, mi, _ = make_tree(tmp_path, mode)
    assert detect_mode(root, mountinfo=mi) == mode


def test_detect_mode_nothing_mounted(tmp_path):
    mi = tmp_path / "mi"
    mi.write_text("20 1 8:1 / / rw - ext4 /dev/vda rw\n")
    with pytest.raises(OCIError, match="no cgroup filesystem"):
        detect_mode(str(tmp_path), mountinfo=str(mi))


def test_clean_path():
    assert clean_path("/a/../../b") == "/b"
    assert clean_path("../../x/y") == "x/y"
    assert clean_path("a//b/") == "a/b"
    assert clean_path("") == ""


def test_paths_absolute_relative_default_v1(tmp_path):
    root, mi, pc = make_tree(tmp_path, "hybrid", own="/runtime/own")
    m = open_manager("/a/b", "id1", root=root, mountinfo=mi, proc_cgroup=pc)
    assert m.mode == "hybrid"
    assert m.paths["memory"] == f"{root}/memory/a/b"
    assert m.paths["name=systemd"] == f"{root}/systemd/a/b"
    assert m.unified == f"{root}/unified/a/b"
    rel = open_manager("x/y", "id1", root=root, mountinfo=mi, proc_cgroup=pc)
    assert rel.paths["cpu"] == f"{root}/cpu/runtime/own/x/y"      # v1: below the runtime's own cgroup
    dflt = open_manager(None, "id1", root=root, mountinfo=mi, proc_cgroup=pc)
    assert dflt.paths["pids"] == f"{root}/pids/runtime/own/id1"
    esc = open_manager("../../../etc", "id1", root=root, mountinfo=mi, proc_cgroup=pc)
    assert esc.paths["pids"] == f"{root}/pids/runtime/own/etc"


def test_paths_v2(tmp_path):
    root, mi, pc = make_tree(tmp_path, "v2", own="/user.slice/session-1.scope")
    assert open_manager("/a/b", "id", root=root, mountinfo=mi, proc_cgroup=pc).path == f"{root}/a/b"
    # relative: below the *parent* of the own cgroup (runc fs2 defaultDirPath)
    assert open_manager("c", "id", root=root, mountinfo=mi, proc_cgroup=pc).path == f"{root}/user.slice/c"
    assert open_manager(None, "id", root=root, mountinfo=mi, proc_cgroup=pc).path == f"{root}/user.slice/id"


def test_systemd_not_running(tmp_path):
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd is running here")
    root, mi, pc = make_tree(tmp_path, "v2")
    with pytest.raises(OCIError, match="^systemd cgroup driver requested but systemd is not running$"):
        open_manager("system.slice:x:y", "id", systemd=True, root=root, mountinfo=mi)


def touch(d, *names, content=""):
    os.makedirs(d, exist_ok=True)
    for n in names:
        with open(os.path.join(d, n), "w") as f:
            f.write(content)


def read(p):
    with open(p) as f:
        return f.read()


def test_v1_writes(tmp_path):
    root, mi, pc = make_tree(tmp_path, "v1")
    m = open_manager("/c1", "c1", root=root, mountinfo=mi, proc_cgroup=pc)
    m.create()
    p = m.paths
    touch(p["memory"], "memory.limit_in_bytes", content="9223372036854771712")
    touch(p["memory"], "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness",
          "memory.oom_control", "memory.kmem.tcp.limit_in_bytes", "memory.usage_in_bytes")
    touch(p["cpu"], "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.idle",
          "cpu.rt_period_us", "cpu.rt_runtime_us")
    touch(p["cpu"], "cpu.shares", content="")
    touch(p["cpuset"], "cpuset.cpus", "cpuset.mems")
    touch(p["pids"], "pids.max")
    touch(p["devices"], "devices.allow", "devices.deny")
    touch(p["blkio"], "blkio.weight", "blkio.throttle.read_bps_device", "blkio.weight_device")
    m.set({"memory": {"limit": 268435456, "swap": 536870912, "reservation": 1 << 20, "kernelTCP": 1 << 22,
                      "swappiness": 10, "disableOOMKiller": True},
           "cpu": {"quota": 50000, "period": 100000, "burst": 1000, "idle": 0, "cpus": "0", "mems": "0",
                   "realtimePeriod": 1000000, "realtimeRuntime": 500},
           "pids": {"limit": 0},
           "devices": [{"allow": False}, {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
           "blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 500}],
                       "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}]}})
    mp = p["memory"]
    assert read(f"{mp}/memory.limit_in_bytes") == "268435456"
    assert read(f"{mp}/memory.memsw.limit_in_bytes") == "536870912"
    assert read(f"{mp}/memory.soft_limit_in_bytes") == "1048576"
    assert read(f"{mp}/memory.kmem.tcp.limit_in_bytes") == str(1 << 22)
    assert read(f"{mp}/memory.swappiness") == "10"
    assert read(f"{mp}/memory.oom_control") == "1"
    cp = p["cpu"]
    assert read(f"{cp}/cpu.cfs_quota_us") == "50000" and read(f"{cp}/cpu.cfs_period_us") == "100000"
    assert read(f"{cp}/cpu.cfs_burst_us") == "1000" and read(f"{cp}/cpu.rt_runtime_us") == "500"
    assert read(f"{p['cpuset']}/cpuset.cpus") == "0"
    assert read(f"{p['pids']}/pids.max") == "0"
    assert read(f"{p['devices']}/devices.deny") == "a"
    assert read(f"{p['devices']}/devices.allow") == "c 1:3 rw"
    assert read(f"{p['blkio']}/blkio.weight") == "300"
    assert read(f"{p['blkio']}/blkio.weight_device") == "8:0 500"
    assert read(f"{p['blkio']}/blkio.throttle.read_bps_device") == "8:0 1000"
    with pytest.raises(OCIError, match=r"^/linux/resources/unified: cannot use unified"):
        m.set({"unified": {"memory.max": "1"}})
    with pytest.raises(OCIError, match=r"/linux/resources/network/classID: the net_cls cgroup controller is not available"):
        m.set({"network": {"classID": 1}})
    with pytest.raises(OCIError, match=r"/linux/resources/rdma: the rdma cgroup controller is not available"):
        m.set({"rdma": {"mlx5_1": {"hcaHandles": 1}}})
    with pytest.raises(OCIError, match="swappiness range"):
        m.set({"memory": {"swappiness": 101}})
    with pytest.raises(OCIError, match=r"/linux/resources/memory/limit: expected an integer"):
        m.set({"memory": {"limit": "1G"}})
    # round trip through the saved state
    m2 = manager_from_dict(m.to_dict())
    assert m2.paths == m.paths and m2.mode == "v1"


def test_v2_writes(tmp_path):
    root, mi, pc = make_tree(tmp_path, "v2")
    touch(root, "cgroup.controllers", content="cpuset cpu io memory hugetlb pids rdma")
    touch(root, "cgroup.subtree_control")
    m = open_manager("/a/c2", "c2", root=root, mountinfo=mi, proc_cgroup=pc)
    m.create()
    assert read(f"{root}/cgroup.subtree_control") == "+cpuset +cpu +io +memory +hugetlb +pids +rdma"
    p = m.path
    touch(p, "cgroup.controllers", content="cpuset cpu io memory hugetlb pids rdma")
    touch(p, "memory.max", content="max")
    touch(p, "memory.swap.max", "memory.low", "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "pids.max",
          "io.weight", "io.max", "cpuset.cpus", "cpuset.mems", "rdma.max", "memory.current")
    m.set({"memory": {"limit": 300, "swap": 500, "reservation": 100, "swappiness": 5, "kernel": 1,
                      "disableOOMKiller": True},
           "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 10, "idle": 1, "cpus": "0-1"},
           "pids": {"limit": -1},
           "blockIO": {"weight": 500, "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 30}]},
           "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
           "unified": {"memory.max": "400"}})
    assert read(f"{p}/memory.swap.max") == "200"
    assert read(f"{p}/memory.max") == "400"          # unified is written last and wins
    assert read(f"{p}/memory.low") == "100"
    assert read(f"{p}/cpu.weight") == "100"
    assert read(f"{p}/cpu.max") == "50000 100000"
    assert read(f"{p}/cpu.max.burst") == "10" and read(f"{p}/cpu.idle") == "1"
    assert read(f"{p}/pids.max") == "max"
    assert read(f"{p}/io.weight") == "4950"
    assert read(f"{p}/io.max") == "8:0 riops=30"
    assert read(f"{p}/rdma.max") == "mlx5_1 hca_handle=3 hca_object=10000"
    # update of the period alone keeps the quota
    touch(p, "cpu.max", content="50000 100000")
    m.update({"cpu": {"period": 200000}})
    assert read(f"{p}/cpu.max") == "50000 200000"
    with pytest.raises(OCIError, match="real-time"):
        m.set({"cpu": {"realtimeRuntime": 100}})
    with pytest.raises(OCIError, match="net_cls/net_prio do not exist on cgroup v2"):
        m.set({"network": {"classID": 1}})
    with pytest.raises(OCIError, match=r"/linux/resources/memory/swap: memory\+swap limit"):
        m.set({"memory": {"limit": 500, "swap": 100}})
    with pytest.raises(OCIError, match=r"/linux/resources/unified/a~1b: invalid unified key"):
        m.set({"unified": {"a/b": "1"}})
    with pytest.raises(OCIError, match=r"/linux/resources/unified/misc.max: controller 'misc' is not available"):
        m.set({"unified": {"misc.max": "1"}})
    touch(p, "memory.current", content="1000")
    with pytest.raises(OCIError, match="rejecting memory limit 500 below current usage 1000"):
        m.update({"memory": {"limit": 500, "checkBeforeUpdate": True}})
    m.set({"memory": {"limit": 500, "checkBeforeUpdate": True}})     # only update() checks
    assert manager_from_dict(m.to_dict()).path == p
