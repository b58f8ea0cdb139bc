"""Real network devices for the networking tests: veth pairs and CNI bridges with unique names,
removed at teardown whether a container took them or not."""
import json
import os
import uuid

import pytest

from netlib import ip, link_exists, random_test_subnet, wait_until_gone


@pytest.fixture
def veth_pair():
    """veth_pair() -> (host end, other end), both down, no address; deleted at teardown."""
    made = []

    def factory():
        tag = uuid.uuid4().hex[:8]
        host_end, other_end = f"o{tag}h", f"o{tag}c"
        ip("link", "add", host_end, "type", "veth", "peer", "name", other_end)
        made.append((host_end, other_end))
        return host_end, other_end

    yield factory
    for host_end, other_end in made:
        for name in (host_end, other_end):
            if link_exists(name):
                ip("link", "del", name, check=False)
        assert wait_until_gone(host_end), f"{host_end} left behind"


@pytest.fixture
def cni_network(tmp_path):
    """cni_network(name=None) -> dict(name, conf_dir, data_dir, bridge, subnet, gateway): a
    bridge + host-local network whose conflist is in a private directory; the bridge (which the
    bridge plugin never removes) is deleted at teardown."""
    made = []

    def factory():
        tag = uuid.uuid4().hex[:8]
        subnet = random_test_subnet()
        network = {"name": f"t13net-{tag}", "conf_dir": str(tmp_path / f"cni-{tag}"),
                   "data_dir": str(tmp_path / f"ipam-{tag}"), "bridge": f"o{tag}br",
                   "subnet": f"{subnet}.0/24", "gateway": f"{subnet}.1"}
        os.mkdir(network["conf_dir"])
        conflist = {
            "cniVersion": "1.0.0",
            "name": network["name"],
            "plugins": [{
                "type": "bridge", "bridge": network["bridge"], "isGateway": True,
                "ipam": {"type": "host-local", "dataDir": network["data_dir"],
                         "ranges": [[{"subnet": network["subnet"], "gateway": network["gateway"]}]]},
            }],
        }
        with open(f"{network['conf_dir']}/10-test.conflist", "w") as conf:
            json.dump(conflist, conf)
        made.append(network)
        return network

    yield factory
    for network in made:
        if link_exists(network["bridge"]):
            ip("link", "del", network["bridge"], check=False)
