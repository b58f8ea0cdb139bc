"""CNI bridges with unique names for the networking tests, removed at teardown (veth pairs come
from the veth_pair fixture of the top conftest.py)."""
import json
import os
import uuid

import pytest

from netlib import ip, link_exists


@pytest.fixture
def cni_network(tmp_path, test_subnet):
    """cni_network(name=None) -> dict(name, conf_dir, data_dir, bridge, subnet, gateway): a
    bridge + host-local network whose conflist is in a private directory; the bridge (which the
    bridge plugin never removes) is deleted at teardown."""
    made = []

    def factory():
        tag = uuid.uuid4().hex[:8]
        subnet = test_subnet()
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
