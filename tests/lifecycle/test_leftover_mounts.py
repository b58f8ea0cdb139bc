"""A container without a mount namespace mounts on the host: delete removes those mounts (and
only those) from under its rootfs (oci_runtime/rootfs/leftover_mounts.py)."""
import json
import os
import subprocess

import pytest

from oci_runtime.rootfs.leftover_mounts import mounts_before, mounts_under, remove_container_mounts


def mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def rootfs(tmp_path):
    root = tmp_path / "rootfs"
    root.mkdir()
    yield root
    for _ in range(10):  # whatever a failing test left, deepest first
        points = [point for _, point in mounts_under(str(root))]
        if not points:
            break
        for point in reversed(points):
            subprocess.run(["umount", "-l", point], capture_output=True)


def test_only_the_mounts_made_after_the_record_go_deepest_first(rootfs):
    (rootfs / "pre").mkdir()
    mount("-t", "tmpfs", "caller", str(rootfs / "pre"))  # the caller's (podman's overlay, say)
    before = mounts_before(str(rootfs))
    assert len(before) == 1
    for name in ("a", "with space", "dev"):
        (rootfs / name).mkdir()
    mount("-t", "tmpfs", "c1", str(rootfs / "a"))
    (rootfs / "a" / "b").mkdir()
    mount("-t", "tmpfs", "c2", str(rootfs / "a" / "b"))
    mount("-t", "tmpfs", "c3", str(rootfs / "a"))  # stacked on a, hiding b
    mount("-t", "tmpfs", "c4", str(rootfs / "with space"))
    mount("--bind", str(rootfs / "dev"), str(rootfs / "dev"))
    (rootfs / "pre" / "inner").mkdir()
    mount("-t", "tmpfs", "c5", str(rootfs / "pre" / "inner"))  # on top of the caller's mount
    assert len(mounts_under(str(rootfs))) == 7
    removed = remove_container_mounts(str(rootfs), before)
    assert removed[0] == str(rootfs / "pre" / "inner")  # deepest first
    assert removed.count(str(rootfs / "a")) == 2  # both stacked mounts (b went with the first)
    assert [point for _, point in mounts_under(str(rootfs))] == [str(rootfs / "pre")]
    assert os.path.ismount(rootfs / "pre")


def test_delete_removes_what_the_record_says_the_container_added(oci, make_bundle):
    """The wiring: create records host_mounts_before for a container without a mount
    namespace (the lead's C init will run those); here the record is written by hand."""
    bundle, cid = make_bundle(["sleep", "60"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    rootfs = bundle / "rootfs"
    state_file = os.path.join(oci.root, cid, "state.json")
    with open(state_file) as saved:
        record = json.load(saved)
    record["host_mounts_before"] = mounts_before(str(rootfs))
    with open(state_file, "w") as saved:
        json.dump(record, saved)
    (rootfs / "leftover").mkdir()
    mount("-t", "tmpfs", "leftover", str(rootfs / "leftover"))
    try:
        oci("delete", "--force", cid, check=True)
        assert not os.path.ismount(rootfs / "leftover")
    finally:
        subprocess.run(["umount", "-l", str(rootfs / "leftover")], capture_output=True)


def test_a_container_without_a_mount_namespace_runs_chrooted_and_delete_unmounts(oci, make_bundle):
    """config-linux.md "Namespaces": a type not listed is inherited from the runtime.  The
    container's mounts land in the host's mount table under its rootfs; delete removes them."""
    def no_mount_namespace(config):
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                         if n["type"] != "mount"]
        config["root"]["readonly"] = True

    bundle, container_id = make_bundle(["sh", "-c", "cat /proc/1/comm; ls /dev/null; "
                                        "touch /x 2>/dev/null || echo read-only"],
                                       edit=no_mount_namespace)
    rootfs = str(bundle / "rootfs")
    own_mount_ns = os.readlink("/proc/self/ns/mnt")
    oci("create", "--bundle", str(bundle), container_id, check=True)
    try:
        pid = oci.state(container_id)["pid"]
        assert os.readlink(f"/proc/{pid}/ns/mnt") == own_mount_ns
        assert mounts_under(rootfs), "the container's mounts are in the runtime's mount table"
        assert os.readlink(f"/proc/{pid}/root") == rootfs
    finally:
        oci("delete", "--force", container_id)
    assert mounts_under(rootfs) == []
    # The host's root stayed as it was: only the rootfs's own bind was made read-only.
    assert not os.statvfs("/tmp").f_flag & os.ST_RDONLY


def test_run_without_a_mount_namespace_prints_and_cleans_up(oci, make_bundle):
    def no_mount_namespace(config):
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                         if n["type"] != "mount"]

    bundle, container_id = make_bundle(["sh", "-c", "echo inside; cat /etc/passwd | head -1"],
                                       edit=no_mount_namespace)
    result = oci("run", "--bundle", str(bundle), container_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "inside"
    assert mounts_under(str(bundle / "rootfs")) == []
