"""Fast unit tests of the pure conversions (no cgroups touched)."""

import itertools

import pytest

from oci_runtime.cgroups import fields, systemd
from oci_runtime.cgroups.controllers import blkio, cpu, cpuset, devices, hugetlb, memory, rdma


@pytest.mark.parametrize("shares,weight", [(0, 0), (1, 1), (2, 1), (3, 2), (512, 59), (1024, 100),
                                           (2048, 174), (262143, 10000), (262144, 10000), (10 ** 6, 10000)])
def test_shares_to_weight(shares, weight):
    assert cpu.shares_to_weight(shares) == weight


def test_shares_to_weight_monotonic_and_in_range():
    prev = 0
    for s in range(2, 262145, 97):
        w = cpu.shares_to_weight(s)
        assert 1 <= w <= 10000 and w >= prev
        prev = w


def test_shares_to_weight_linear_old_formula():
    assert cpu.shares_to_weight_linear(1024) == 39
    assert cpu.shares_to_weight_linear(2) == 1
    assert cpu.shares_to_weight_linear(262144) == 10000


@pytest.mark.parametrize("w,io", [(0, 0), (10, 1), (500, 4950), (1000, 10000), (100, 910)])
def test_blkio_weight(w, io):
    assert blkio.blkio_weight_to_io_weight(w) == io


@pytest.mark.parametrize("swap,mem,expect", [
    (0, 0, 0), (0, -1, -1), (-1, 100, -1), (-1, -1, -1), (300, 100, 200), (100, 100, 0), (None, None, 0)])
def test_swap_v1_to_v2(swap, mem, expect):
    assert memory.swap_v1_to_v2(swap, mem) == expect


@pytest.mark.parametrize("swap,mem,msg", [(100, 0, "without memory limit"), (100, -1, "without memory limit"),
                                          (50, 100, "should be >="), (100, -5, "invalid memory")])
def test_swap_v1_to_v2_errors(swap, mem, msg):
    with pytest.raises(ValueError, match=msg):
        memory.swap_v1_to_v2(swap, mem)


def test_swap_v2_string():
    assert memory.swap_v2_string(100, 100) == "0"        # same as memory: swap disabled
    assert memory.swap_v2_string(300, 100) == "200"
    assert memory.swap_v2_string(-1, 100) == "max"
    assert memory.swap_v2_string(0, 100) == ""           # unset
    assert memory.swap_v2_string(0, -1) == "max"


def test_num_strings():
    assert fields.v2_num(None) == "" and fields.v2_num(0) == "" and fields.v2_num(-1) == "max" and fields.v2_num(5) == "5"
    assert fields.limit_string(0) == "0" and fields.limit_string(-1) == "max" and fields.limit_string(7) == "7"


@pytest.mark.parametrize("q,p,s", [(0, 0, None), (None, None, None), (50000, 100000, "50000 100000"),
                                   (-1, 100000, "max 100000"), (50000, 0, "50000"), (0, 20000, "max 20000")])
def test_cpu_max(q, p, s):
    assert cpu.cpu_max_string(q, p) == s


def test_cpu_quota_per_sec():
    assert cpu.cpu_quota_per_sec_usec(50000, 100000) == 500000
    assert cpu.cpu_quota_per_sec_usec(1234, 100000) == 20000      # 12340 rounded up to 10ms
    assert cpu.cpu_quota_per_sec_usec(-1, 100000) == fields.MAX_UINT64
    assert cpu.cpu_quota_per_sec_usec(50000, 0) == 500000


def test_cpu_lists():
    assert cpuset.parse_cpu_list("0-3,7") == [0, 1, 2, 3, 7]
    assert cpuset.parse_cpu_list("") == []
    assert cpuset.cpu_list_to_bitmask("0-3,9") == bytes([0x0F, 0x02])
    assert cpuset.cpu_list_to_bitmask("0") == b"\x01"
    with pytest.raises(ValueError):
        cpuset.parse_cpu_list("3-1")


@pytest.mark.parametrize("s,n,name", [("2MB", 2 << 20, "2MB"), ("1GB", 1 << 30, "1GB"), ("64KB", 64 << 10, "64KB"),
                                      ("32MB", 32 << 20, "32MB")])
def test_hugepage_sizes(s, n, name):
    assert hugetlb.hugepage_size_bytes(s) == n
    assert hugetlb.hugepage_size_name(n) == name


@pytest.mark.parametrize("bad", ["2M", "MB", "2XB", "two MB", "", "2mb"])
def test_hugepage_size_invalid(bad):
    with pytest.raises(ValueError):
        hugetlb.hugepage_size_bytes(bad)


def test_rdma_string():
    assert rdma.rdma_string("mlx5_1", {"hcaHandles": 3, "hcaObjects": 10000}) == "mlx5_1 hca_handle=3 hca_object=10000"
    assert rdma.rdma_string("mlx4_0", {"hcaObjects": 1000}) == "mlx4_0 hca_object=1000"


def test_blkio_strings():
    assert blkio.blkio_weight_device_string(8, 0, 500) == "8:0 500"
    assert blkio.blkio_throttle_string(8, 16, 600) == "8:16 600"
    assert blkio.io_max_string(8, 0, "rbps", 600) == "8:0 rbps=600"
    assert blkio.io_max_string(8, 0, "wiops", 0) == "8:0 wiops=max"


def test_device_rule_v1():
    n = devices.normalize_device_rule
    assert devices.device_rule_v1(n({"allow": False, "access": "rwm"})) == ("devices.deny", "a")
    assert devices.device_rule_v1(n({"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"})) == \
        ("devices.allow", "c 1:3 rw")
    assert devices.device_rule_v1(n({"allow": True, "type": "c", "major": 136})) == ("devices.allow", "c 136:* rwm")
    assert devices.device_rule_v1(n({"allow": False, "type": "b", "access": "mwr"})) == ("devices.deny", "b *:* rwm")


@pytest.mark.parametrize("bad", [{"type": "c"}, {"allow": "yes"}, {"allow": True, "type": "x"},
                                 {"allow": True, "access": "rx"}, {"allow": True, "access": "rr"}])
def test_device_rule_invalid(bad):
    with pytest.raises(ValueError):
        devices.normalize_device_rule(bad)


def test_container_device_rules_are_deny_all_the_config_then_the_defaults():
    config_rule = {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"}
    rules = devices.container_device_rules([config_rule])
    assert rules[0] == {"allow": False, "access": "rwm"}
    assert rules[1] == config_rule
    assert rules[2:] == list(devices.DEFAULT_ALLOWED_DEVICES)


def test_expand_slice():
    assert systemd.expand_slice("system.slice") == "/system.slice"
    assert systemd.expand_slice("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice"
    assert systemd.expand_slice("-.slice") == "/"
    for bad in ("foo", "a--b.slice", "a/b.slice", "-a.slice"):
        with pytest.raises(ValueError):
            systemd.expand_slice(bad)


def test_parse_systemd_path():
    assert systemd.parse_systemd_path("system.slice:docker:1234", "x") == ("system.slice", "docker-1234.scope")
    assert systemd.parse_systemd_path(":p:n", "x") == ("system.slice", "p-n.scope")
    assert systemd.parse_systemd_path("user.slice::n", "x") == ("user.slice", "n.scope")
    assert systemd.parse_systemd_path("a.slice:p:child.slice", "x") == ("a.slice", "child.slice")
    assert systemd.parse_systemd_path(None, "abc") == ("system.slice", "oci-runtime-abc.scope")
    with pytest.raises(ValueError, match="slice:prefix:name"):
        systemd.parse_systemd_path("/a/b", "x")
