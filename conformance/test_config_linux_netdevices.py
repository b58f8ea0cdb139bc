"""config-linux.md "Network Devices": linux.netDevices, with real veth pairs."""
import os
import subprocess

from clause import clause
from tests.waiting import wait_until


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _moving(devices):
    def edit(config):
        config["linux"]["netDevices"] = devices
        for kind in ("bounding", "effective", "permitted"):  # busybox ping uses a raw socket
            config["process"]["capabilities"][kind].append("CAP_NET_RAW")
    return edit


@clause("config-linux.md", "Network Devices", "netDevices MUST be made available in the container")
@clause("config-linux.md", "Network Devices", "MUST preserve permanent IP addresses of any family with global scope")
@clause("config-linux.md", "Network Devices", "MUST set the network device state to up after moving it")
def test_device_moved_renamed_addressed_and_up(oci, make_bundle, veth_pair, test_subnet):
    host_end, other_end = veth_pair()
    subnet = test_subnet()  # 10.213.N, this test's alone
    ipv6 = f"fd13:{subnet.rsplit('.', 1)[1]}::2/64"
    _ip("addr", "add", f"{subnet}.1/24", "dev", host_end)
    _ip("link", "set", host_end, "up")
    _ip("addr", "add", f"{subnet}.2/24", "dev", other_end)
    _ip("addr", "add", ipv6, "dev", other_end, "nodad")
    _ip("addr", "add", f"{subnet}.3/24", "dev", other_end, "valid_lft", "300", "preferred_lft", "300")
    _ip("addr", "add", f"{subnet}.4/32", "dev", other_end, "scope", "host")
    script = ("cat /sys/class/net/eth1/operstate; ip -o addr show dev eth1 | awk '{print $4}'; "
              f"ping -c 1 -W 60 {subnet}.1 >/dev/null && echo pinged")
    bundle, cid = make_bundle(["sh", "-c", script], _moving({other_end: {"name": "eth1"}}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert lines[0] in ("up", "unknown")
    assert f"{subnet}.2/24" in lines and ipv6 in lines  # permanent, global
    assert f"{subnet}.3/24" not in lines  # not permanent
    assert f"{subnet}.4/32" not in lines  # host scope
    assert lines[-1] == "pinged"


@clause("config-linux.md", "Network Devices", "MUST allow the move when the name is a template with %d")
def test_template_name_and_default_name(oci, make_bundle, veth_pair):
    first, second = veth_pair(), veth_pair()
    bundle, cid = make_bundle(["ls", "/sys/class/net"],
                              _moving({first[1]: {}, second[1]: {"name": "lo%d"}}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(["lo", "lo0", first[1]])


@clause("config-linux.md", "Network Devices", "the runtime MUST check if moving the network interface is possible")
def test_missing_device_fails_before_anything_moves(oci, make_bundle, veth_pair):
    _, present = veth_pair()
    bundle, cid = make_bundle(["true"], _moving({present: {}, "o13nosuch": {}}))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert "/linux/netDevices/o13nosuch" in result.stderr and "Traceback" not in result.stderr
    assert os.path.exists(f"/sys/class/net/{present}")
    assert oci("list", "-q").stdout == ""


@clause("config-linux.md", "Network Devices", "a device with the name existing in the container namespace MUST generate an error")
def test_name_taken_in_the_container(oci, make_bundle, veth_pair):
    _, other_end = veth_pair()
    bundle, cid = make_bundle(["true"], _moving({other_end: {"name": "lo"}}))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert f"/linux/netDevices/{other_end}" in result.stderr and "already exists" in result.stderr
    assert os.path.exists(f"/sys/class/net/{other_end}")
    assert oci("list", "-q").stdout == ""


@clause("config-linux.md", "Network Devices", "MUST NOT attempt to move the interface out of the namespace before deletion")
def test_device_stays_in_the_namespace_after_delete(oci, make_bundle, veth_pair):
    _, other_end = veth_pair()
    holder = subprocess.Popen(["unshare", "--net", "sleep", "1000"])
    try:
        netns = f"/proc/{holder.pid}/ns/net"
        wait_until(lambda: os.readlink(netns) != os.readlink("/proc/self/ns/net"),
                   "unshare to make its network namespace")

        def edit(config):
            _moving({other_end: {"name": "moved0"}})(config)
            for namespace in config["linux"]["namespaces"]:
                if namespace["type"] == "network":
                    namespace["path"] = netns
        bundle, cid = make_bundle(["true"], edit)
        oci("create", "--bundle", str(bundle), cid, check=True)
        oci("delete", cid, check=True)
        inside = subprocess.run(["nsenter", f"--net={netns}", "ip", "-o", "link"],
                                capture_output=True, text=True, check=True).stdout
        assert ": moved0@" in inside and not os.path.exists(f"/sys/class/net/{other_end}")
    finally:
        holder.kill()
        holder.wait()
