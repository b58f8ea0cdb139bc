"""Masked paths are masked with the real /dev/null (CVE-2025-31133), and the runtime's writes to
/proc never go where the container's mounts point (CVE-2025-52881).

The runtime masks a file by bind-mounting the container's /dev/null over it.  If /dev comes from
a host directory the image (or its user) controls and `null` there is a symlink to
/proc/sys/kernel/hostname, a runtime that follows it bind-mounts that procfs file over
/proc/keys, and writing /proc/keys changes the hostname (core_pattern, in the published exploit,
escapes to the host).  The runtime must check that /dev/null is the character device 1:3 and fail
(or mask with something safe) otherwise.
"""
import os
import socket

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")

HOSTNAME = "oci-masked-test"
SCRIPT = ("echo overwritten > /proc/keys 2>/dev/null; echo written=$?; hostname; "
          "cat /proc/keys 2>&1 | head -c 100; echo")


def dev_from_host_directory(directory):
    def edit(config):
        config["hostname"] = HOSTNAME
        config["mounts"] = [m for m in config["mounts"]
                            if m["destination"] not in ("/dev", "/dev/pts", "/dev/shm",
                                                        "/dev/mqueue")]
        config["mounts"].append({"destination": "/dev", "type": "bind", "source": str(directory),
                                 "options": ["rbind", "rw"]})
        # No read-only /proc/sys: the worst case, where the procfs file stays writable.
        config["linux"]["readonlyPaths"] = []
        assert "/proc/keys" in config["linux"]["maskedPaths"]
        config["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
        config["process"]["capabilities"]["effective"].append("CAP_SYS_ADMIN")
        config["process"]["capabilities"]["permitted"].append("CAP_SYS_ADMIN")
    return edit


@pytest.mark.parametrize("fake_null", ["symlink", "regular file"])
def test_a_fake_dev_null_never_masks_a_path(oci, make_bundle, tmp_path, fake_null):
    host_hostname = socket.gethostname()
    directory = tmp_path / "dev"
    directory.mkdir()
    if fake_null == "symlink":
        (directory / "null").symlink_to("/proc/sys/kernel/hostname")
    else:
        (directory / "null").write_text("not a device\n")
    bundle, cid = make_bundle(["sh", "-c", SCRIPT], dev_from_host_directory(directory))
    result = oci("run", "--bundle", str(bundle), cid)
    assert socket.gethostname() == host_hostname
    if result.returncode != 0:
        # Refused: the message says why, and no container was left behind.
        assert "/dev/null" in result.stderr, result.stderr
        assert oci("list", "-q").stdout.split() == []
        return
    lines = result.stdout.splitlines()
    assert lines[1] == HOSTNAME, result.stdout
    # Whatever was mounted on /proc/keys, it was not the fake null's contents or target.
    assert "not a device" not in result.stdout
    assert (directory / "null").is_symlink() or (directory / "null").read_text() == \
        "not a device\n"


def test_sysctl_writes_never_go_through_the_container_s_mounts(oci, make_bundle, tmp_path):
    """CVE-2025-52881 class: a mount of the config (here a host file bound over the sysctl's
    path in the container's /proc) must not redirect the runtime's write of a sysctl."""
    decoy = tmp_path / "decoy"
    decoy.write_text("decoy\n")

    def edit(config):
        config["mounts"].append({"destination": "/proc/sys/net/ipv4/ip_default_ttl",
                                 "type": "bind", "source": str(decoy), "options": ["bind", "rw"]})
        config["linux"]["readonlyPaths"] = []
        config["linux"]["sysctl"] = {"net.ipv4.ip_default_ttl": "42"}

    bundle, cid = make_bundle(["cat", "/proc/sys/net/ipv4/ip_default_ttl"], edit)
    result = oci("run", "--bundle", str(bundle), cid)
    assert decoy.read_text() == "decoy\n", "the sysctl was written to a file the config mounted"
    if result.returncode == 0:
        assert result.stdout == "decoy\n"  # the container sees its mount; the sysctl is elsewhere
