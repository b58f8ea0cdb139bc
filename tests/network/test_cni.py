"""CNI networks with the distribution's reference plugins (bridge + host-local): ADD at create,
the address shown by state and list, DEL at delete (the lease freed in host-local's data
directory), also after a failed create and for a container that died."""
import json
import os
import signal

import pytest

from netlib import CNI_BIN_DIR, leased_addresses, link_exists, with_ping
from tests.waiting import wait_for_status, wait_until

pytestmark = pytest.mark.skipif(not os.access(f"{CNI_BIN_DIR}/bridge", os.X_OK),
                                reason="containernetworking-plugins is not installed (scripts/setup)")


def _flags(network):
    return ["--network", network["name"], "--cni-conf-dir", network["conf_dir"],
            "--cni-bin-dir", CNI_BIN_DIR]


def _mounted(path):
    with open("/proc/self/mountinfo") as mountinfo:
        return any(line.split()[4] == path for line in mountinfo)


def test_run_gets_an_address_pings_the_gateway_and_frees_it(oci, make_bundle, cni_network):
    network = cni_network()
    script = (f"ip -o -4 addr show dev eth0 | awk '{{print $4}}'; "
              f"ping -c 1 -W 60 {network['gateway']} >/dev/null && echo pinged")
    bundle, cid = make_bundle(["sh", "-c", script], with_ping)
    result = oci("run", *_flags(network), "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    address, pinged = result.stdout.split()
    assert address.startswith(network["gateway"].rsplit(".", 1)[0] + ".") and address.endswith("/24")
    assert pinged == "pinged"
    assert leased_addresses(network) == []  # run deleted the container: DEL released it
    assert link_exists(network["bridge"])


def test_state_and_list_show_the_address_and_delete_releases_it(oci, make_bundle, cni_network):
    network = cni_network()
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", *_flags(network), "--bundle", str(bundle), cid, check=True)
    leased = leased_addresses(network)
    assert len(leased) == 1
    annotations = oci.state(cid)["annotations"]
    prefix = f"org.oci-runtime.network.{network['name']}"
    assert annotations[f"{prefix}.ips"] == f"{leased[0]}/24"
    assert annotations[f"{prefix}.interface"] == "eth0"
    listed = json.loads(oci("list", "--format", "json", check=True).stdout)
    assert listed[0]["annotations"][f"{prefix}.ips"] == f"{leased[0]}/24"
    netns = os.path.join(oci.root, cid, "netns")
    assert _mounted(netns)
    oci("delete", cid, check=True)
    assert leased_addresses(network) == []
    assert not _mounted(netns) and not os.path.exists(os.path.join(oci.root, cid))


def test_a_failed_create_releases_the_address(oci, make_bundle, cni_network):
    network = cni_network()
    bundle, cid = make_bundle(["/no/such/program"])  # found missing after the networks are up
    result = oci("create", *_flags(network), "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert leased_addresses(network) == []
    assert not os.path.exists(os.path.join(oci.root, cid))


def test_a_container_that_died_is_deleted_with_its_network(oci, make_bundle, cni_network):
    network = cni_network()
    bundle, cid = make_bundle(["sleep", "30"])
    oci("run", "--detach", *_flags(network), "--bundle", str(bundle), cid, check=True)
    os.kill(oci.state(cid)["pid"], signal.SIGKILL)
    wait_for_status(oci, cid, "stopped")
    assert len(leased_addresses(network)) == 1
    oci("delete", "--force", cid, check=True)
    assert leased_addresses(network) == []


def test_the_annotation_asks_for_a_network_too(oci, make_bundle, cni_network):
    network = cni_network()

    def edit(config):
        config["annotations"] = {"org.oci-runtime.network": network["name"],
                                 "org.oci-runtime.cni.conf-dir": network["conf_dir"],
                                 "org.oci-runtime.cni.bin-dir": CNI_BIN_DIR}
    bundle, cid = make_bundle(["sh", "-c", "cat /sys/class/net/eth0/operstate"], edit)
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "up"
    assert leased_addresses(network) == []


def test_two_containers_on_one_bridge_ping_each_other(oci, make_bundle, cni_network):
    network = cni_network()
    bundle, first = make_bundle(["sleep", "30"])
    oci("run", "--detach", *_flags(network), "--bundle", str(bundle), first, check=True)
    first_address = oci.state(first)["annotations"][f"org.oci-runtime.network.{network['name']}.ips"]
    script = f"ping -c 1 -W 60 {first_address.split('/')[0]} >/dev/null && echo pinged"
    bundle, second = make_bundle(["sh", "-c", script], with_ping)
    result = oci("run", *_flags(network), "--bundle", str(bundle), second)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pinged"
    oci("delete", "--force", first, check=True)
    assert leased_addresses(network) == []


def test_two_networks_give_eth0_and_eth1(oci, make_bundle, cni_network):
    first, second = cni_network(), cni_network()
    bundle, cid = make_bundle(["sh", "-c", "ls /sys/class/net"])
    result = oci("run", *_flags(first), "--network", second["name"], "--cni-conf-dir",
                 first["conf_dir"], "--bundle", str(bundle), cid)
    # Both conflists in one directory: copy the second one next to the first.
    assert result.returncode != 0 and second["name"] in result.stderr
    os.rename(f"{second['conf_dir']}/10-test.conflist", f"{first['conf_dir']}/20-test.conflist")
    result = oci("run", *_flags(first), "--network", second["name"], "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == ["eth0", "eth1", "lo"]
    assert leased_addresses(first) == [] and leased_addresses(second) == []


def test_unknown_network_and_plugin_failures_are_one_line(oci, make_bundle, cni_network):
    network = cni_network()
    bundle, cid = make_bundle(["true"])
    result = oci("create", "--network", "no-such-net", "--cni-conf-dir", network["conf_dir"],
                 "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "'no-such-net'" in result.stderr
    assert "Traceback" not in result.stderr and oci("list", "-q").stdout == ""
    result = oci("create", *_flags(network)[:4], "--cni-bin-dir", "/nonexistent",
                 "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "not found in /nonexistent" in result.stderr
    assert oci("list", "-q").stdout == ""


def test_check_through_the_python_api(oci, make_bundle, cni_network):
    import subprocess

    from oci_runtime.container.lifecycle import StoredContainer as Container
    from oci_runtime.errors import OCIError
    from oci_runtime.container.store import StateStore

    network = cni_network()
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", *_flags(network), "--bundle", str(bundle), cid, check=True)
    container = Container.load(StateStore(oci.root), cid)
    container.check_networks()
    netns = os.path.join(oci.root, cid, "netns")
    subprocess.run(["nsenter", f"--net={netns}", "ip", "link", "del", "eth0"], check=True)
    with pytest.raises(OCIError, match="CHECK"):
        container.check_networks()
    oci("delete", cid, check=True)
    assert leased_addresses(network) == []


def test_a_net_device_and_a_network_together(oci, make_bundle, cni_network, veth_pair):
    network = cni_network()
    _, other_end = veth_pair()

    def edit(config):
        config["linux"]["netDevices"] = {other_end: {"name": "eth0"}}
    bundle, cid = make_bundle(["ls", "/sys/class/net"], edit)
    result = oci("run", *_flags(network), "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == ["eth0", "eth1", "lo"]  # the network took eth1
    assert leased_addresses(network) == []


def test_a_network_in_a_user_namespace(oci, make_bundle, cni_network):
    network = cni_network()

    def edit(config):
        # Identity-mapped (the bundle is in root-only directories), yet a namespace of its own:
        # the network namespace is owned by it, the plugins enter it from the host.
        identity = [{"containerID": 0, "hostID": 0, "size": 65536}]
        config["linux"].update(uidMappings=identity, gidMappings=identity)
        config["linux"]["namespaces"].append({"type": "user"})
        config["mounts"] = [m for m in config["mounts"] if m["type"] != "cgroup"]
    bundle, cid = make_bundle(["sh", "-c", "ip -o -4 addr show dev eth0 | awk '{print $4}'"], edit)
    result = oci("run", *_flags(network), "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(network["gateway"].rsplit(".", 1)[0] + ".")
    assert leased_addresses(network) == []


def test_a_create_killed_during_add_is_undone_by_delete(oci, make_bundle, cni_network, tmp_path):
    import subprocess

    network = cni_network()
    # A second plugin that hangs in ADD (after bridge + host-local leased an address).
    marker = tmp_path / "slow.pid"
    slow = tmp_path / "slow"
    slow.write_text(f"#!/bin/sh\ncat >/dev/null\nif [ \"$CNI_COMMAND\" = ADD ]; then\n"
                    f"  echo $$ > {marker}; exec sleep 60\nfi\n")
    slow.chmod(0o755)
    conflist = os.path.join(network["conf_dir"], "10-test.conflist")
    with open(conflist) as conf:
        document = json.load(conf)
    document["plugins"].append({"type": "slow"})
    with open(conflist, "w") as conf:
        json.dump(document, conf)
    bundle, cid = make_bundle(["true"])
    creator = subprocess.Popen(oci.command + ["--root", oci.root, "create", *_flags(network)[:4],
                                              "--cni-bin-dir", f"{tmp_path}:{CNI_BIN_DIR}",
                                              "--bundle", str(bundle), cid],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: marker.exists() and marker.read_text().strip(), "the slow plugin's ADD")
        assert len(leased_addresses(network)) == 1
        creator.kill()
        creator.wait()
    finally:
        if marker.exists():
            try:
                os.kill(int(marker.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
    assert oci.state(cid)["status"] == "stopped"
    oci("delete", "--force", cid, check=True)
    assert leased_addresses(network) == []
    assert not _mounted(os.path.join(oci.root, cid, "netns"))
    assert not os.path.exists(os.path.join(oci.root, cid))
