"""Helpers of the networking tests (addresses in 10.213.0.0/16: a private range used only on
interfaces these tests create, each /24 reserved by the test_subnet fixture of conftest.py)."""
import os
import subprocess

CNI_BIN_DIR = "/usr/lib/cni"


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def link_exists(name):
    return os.path.exists(f"/sys/class/net/{name}")


def leased_addresses(network):
    """The addresses host-local has handed out (one file per address in its data directory)."""
    directory = os.path.join(network["data_dir"], network["name"])
    if not os.path.isdir(directory):
        return []
    return sorted(n for n in os.listdir(directory) if n.count(".") == 3)


def with_ping(config):
    """busybox ping needs a raw socket (ping_group_range is off in a new network namespace)."""
    for kind in ("bounding", "effective", "permitted"):
        config["process"]["capabilities"][kind].append("CAP_NET_RAW")
