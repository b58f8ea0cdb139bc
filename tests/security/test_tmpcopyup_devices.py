"""tmpcopyup never opens a device node of the image: a block-device node of a host loop device,
placed in the directory that gets a tmpfs with tmpcopyup, must never yield the device's contents.

The copy runs as the host's root before the device cgroup applies, so a runtime that copied the
node as a file (open + read) would put the host device's contents into the container as a
regular file.  The copy must be a node (which the device cgroup then guards) or absent.
"""
import os
import stat
import subprocess

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")

SECRET = b"OCI-LOOP-SECRET-"
RUNS = 10


@pytest.fixture
def loop_device(tmp_path):
    """A read-only host loop device over 1 MiB of SECRET; detached at teardown."""
    backing = tmp_path / "loop-backing"
    backing.write_bytes(SECRET * ((1 << 20) // len(SECRET)))
    completed = subprocess.run(["losetup", "--find", "--show", "--read-only", str(backing)],
                               capture_output=True, text=True)
    if completed.returncode != 0:
        pytest.skip(f"no loop device: {completed.stderr.strip()}")
    device = completed.stdout.strip()
    try:
        yield device
    finally:
        subprocess.run(["losetup", "--detach", device], capture_output=True)


def copied_up_data(config):
    config["mounts"].append({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                             "options": ["tmpcopyup", "nosuid"]})


def image_with_device(rootfs, device):
    data = rootfs / "data"
    data.mkdir()
    (data / "plain").write_text("copied\n")
    os.mknod(data / "disk", 0o644 | stat.S_IFBLK, os.stat(device).st_rdev)
    os.mkfifo(data / "fifo")  # opened for reading, it would block the copy for ever


SCRIPT = ("cat /data/plain; "
          "for f in /data/*; do echo \"$f: $(stat -c %F $f)\"; done; "
          "for f in /data/*; do [ -p $f ] || head -c 4096 $f 2>&1; done; echo; echo end")


def test_tmpcopyup_never_copies_a_device_s_contents(oci, make_bundle, loop_device):
    with open(loop_device, "rb") as device:  # the host sees the secret through the device
        assert device.read(len(SECRET)) == SECRET
    for attempt in range(RUNS):
        bundle, cid = make_bundle(["sh", "-c", SCRIPT], copied_up_data)
        image_with_device(bundle / "rootfs", loop_device)
        result = oci("run", "--bundle", str(bundle), cid, timeout=30)
        assert result.returncode == 0, result.stderr
        assert "copied" in result.stdout and "end" in result.stdout, result.stdout
        assert SECRET.decode() not in result.stdout + result.stderr, f"run {attempt}: " \
            "the container read the host device's contents"
        disk = [line for line in result.stdout.splitlines() if line.startswith("/data/disk:")]
        assert not disk or disk[0].endswith("block special file"), disk
        # Nothing of the image's directory changed on the host either.
        assert stat.S_ISBLK(os.lstat(bundle / "rootfs" / "data" / "disk").st_mode)


def test_tmpcopyup_recreates_a_device_node_even_where_devices_are_allowed(oci, make_bundle,
                                                                           loop_device):
    """With every device allowed (a privileged container) the node could be read in the
    container, as any node the image ships; but the copy itself must still be a node, never a
    regular file holding the device's contents."""
    def allow_all_devices(config):
        copied_up_data(config)
        config["linux"]["resources"]["devices"] = [{"allow": True, "access": "rwm"}]

    bundle, cid = make_bundle(["sh", "-c", "stat -c %F /data/disk; cat /data/plain"],
                              allow_all_devices)
    image_with_device(bundle / "rootfs", loop_device)
    result = oci("run", "--bundle", str(bundle), cid, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["block special file", "copied"], result.stdout


def test_tmpcopyup_in_a_user_namespace_leaves_a_device_node_out(oci, make_bundle, loop_device,
                                                                shifted_bundle):
    """mknod is not allowed in a user namespace: the node is left out of the copy, never read."""
    source, cid = make_bundle(["sh", "-c", SCRIPT], copied_up_data)
    bundle = shifted_bundle(source)
    image_with_device(bundle / "rootfs", loop_device)  # after the copy: copytree would read it
    result = oci("run", "--bundle", str(bundle), cid, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "copied" in result.stdout and SECRET.decode() not in result.stdout + result.stderr
    disk = [line for line in result.stdout.splitlines() if line.startswith("/data/disk:")]
    assert not disk or disk[0].endswith("block special file"), disk
