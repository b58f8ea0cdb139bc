"""linux.netDevices with real veth pairs (this kernel has no dummy driver): the device is moved
from the runtime process, renamed, keeps its permanent global addresses, is up, and is reachable."""
import os
import subprocess
import sys
import tempfile

from netlib import ip, link_exists, random_test_subnet, with_ping

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _moving(devices, also=None):
    def edit(config):
        config["linux"]["netDevices"] = devices
        with_ping(config)
        if also:
            also(config)
    return edit


def test_veth_end_arrives_renamed_up_with_its_address_and_pings_the_host(oci, make_bundle, veth_pair):
    host_end, other_end = veth_pair()
    subnet = random_test_subnet()
    ip("addr", "add", f"{subnet}.1/24", "dev", host_end)
    ip("link", "set", host_end, "up")
    ip("addr", "add", f"{subnet}.2/24", "dev", other_end)
    ip("addr", "add", "fd13:213::2/64", "dev", other_end, "nodad")
    # Not to be carried: not permanent (a lifetime), and not global scope.
    ip("addr", "add", f"{subnet}.3/24", "dev", other_end, "valid_lft", "300", "preferred_lft", "300")
    ip("addr", "add", f"{subnet}.4/32", "dev", other_end, "scope", "host")
    script = ("cat /sys/class/net/eth1/operstate; ip -o addr show dev eth1 | awk '{print $4}'; "
              f"ping -c 1 -W 5 {subnet}.1 >/dev/null && echo pinged")
    bundle, cid = make_bundle(["sh", "-c", script], _moving({other_end: {"name": "eth1"}}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert lines[0] in ("up", "unknown")
    assert f"{subnet}.2/24" in lines and "fd13:213::2/64" in lines
    assert f"{subnet}.3/24" not in lines and f"{subnet}.4/32" not in lines
    assert lines[-1] == "pinged"
    assert not link_exists(other_end)  # in the container, then destroyed with its namespace


def test_name_defaults_to_the_host_name_and_a_template_is_numbered(oci, make_bundle, veth_pair):
    first, second = veth_pair(), veth_pair()
    script = "ls /sys/class/net"
    bundle, cid = make_bundle(["sh", "-c", script],
                              _moving({first[1]: {}, second[1]: {"name": "lo%d"}}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(["lo", "lo0", first[1]])


def test_missing_device_fails_naming_the_entry(oci, make_bundle, veth_pair):
    _, present = veth_pair()
    bundle, cid = make_bundle(["true"], _moving({present: {}, "o13nosuch": {}}))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert "/linux/netDevices/o13nosuch" in result.stderr and "Traceback" not in result.stderr
    assert link_exists(present)  # checked before anything moved
    assert oci("list", "-q").stdout == ""


def test_a_name_taken_in_the_container_fails_and_the_device_stays(oci, make_bundle, veth_pair):
    _, other_end = veth_pair()
    bundle, cid = make_bundle(["true"], _moving({other_end: {"name": "lo"}}))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert f"/linux/netDevices/{other_end}" in result.stderr and "already exists" in result.stderr
    assert link_exists(other_end)
    assert oci("list", "-q").stdout == ""


def test_invalid_names_and_a_missing_network_namespace_are_errors(oci, make_bundle, veth_pair):
    _, other_end = veth_pair()
    bundle, cid = make_bundle(["true"], _moving({other_end: {"name": "a/b"}}))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0 and f"/linux/netDevices/{other_end}/name" in result.stderr

    def host_network(config):
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                         if n["type"] != "network"]
    bundle, cid = make_bundle(["true"], _moving({other_end: {}}, host_network))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "/linux/netDevices" in result.stderr
    assert link_exists(other_end)
    assert oci("list", "-q").stdout == ""


def _imported_modules(oci, bundle, cid):
    """create run with -X importtime: the names of the modules it imported."""
    command = [sys.executable, "-X", "importtime", "-m", "oci_runtime", "--root", oci.root,
               "create", "--bundle", str(bundle), cid]
    # To a file: the created init inherits stderr, so a pipe would stay open.
    with tempfile.TemporaryFile("w+") as err:
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=err, cwd=REPO,
                                timeout=60, stdin=subprocess.DEVNULL)
        err.seek(0)
        output = err.read()
    assert result.returncode == 0, output[-2000:]
    return [line.rsplit("|", 1)[-1].strip() for line in output.splitlines()
            if line.startswith("import time:")]


def test_a_create_without_networking_imports_no_pyroute2(oci, make_bundle, veth_pair):
    bundle, cid = make_bundle(["true"])
    assert not [m for m in _imported_modules(oci, bundle, cid) if m.startswith("pyroute2")]
    # ... and the same measurement sees it when a device is moved.
    _, other_end = veth_pair()
    bundle, cid = make_bundle(["true"], _moving({other_end: {}}))
    assert "pyroute2" in _imported_modules(oci, bundle, cid)
