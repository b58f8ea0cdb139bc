"""Idmapped bind mounts (mounts[].uidMappings/gidMappings, idmap/ridmap): files show the mapped
owners inside the container and keep theirs outside; nothing is left on the host."""
import os

import pytest

from oci_runtime.rootfs.idmapped_mounts import idmap_supported
from tests.rootless.fixtures import owned_file_dir, shifted_bundle, write_config

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root"),
    pytest.mark.skipif(not idmap_supported(), reason="this kernel has no mount_setattr (5.12)"),
]


@pytest.fixture
def shared_dir(tmp_path):
    return owned_file_dir(tmp_path)


def _mounted_anywhere(path):
    with open("/proc/self/mountinfo") as mountinfo:
        return any(str(path) in line for line in mountinfo)


def _run(oci, make_bundle, script, edit):
    def change(config):
        config["process"]["args"] = ["sh", "-c", script]
        edit(config)
    bundle, container_id = make_bundle(edit=change)
    result = oci("run", "--bundle", str(bundle), container_id)
    return result


def test_mount_uid_mappings_without_a_user_namespace(oci, make_bundle, shared_dir):
    def edit(config):
        config["mounts"].append({
            "destination": "/data", "type": "bind", "source": str(shared_dir),
            "options": ["bind", "idmap"],
            "uidMappings": [{"containerID": 1000, "hostID": 2000, "size": 1}],
            "gidMappings": [{"containerID": 1000, "hostID": 3000, "size": 1}]})

    result = _run(oci, make_bundle, "stat -c %u:%g /data/f", edit)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2000:3000"
    stat = os.stat(shared_dir / "f")
    assert (stat.st_uid, stat.st_gid) == (1000, 1000)
    assert not _mounted_anywhere(shared_dir)


def test_idmap_option_argument_as_crun(oci, make_bundle, shared_dir):
    def edit(config):
        config["mounts"].append({
            "destination": "/data", "type": "none", "source": str(shared_dir),
            "options": ["rbind", "ro", "idmap=uids=1000-2500-1;gids=1000-3500-1#0-4000-1"]})

    result = _run(oci, make_bundle,
                  "stat -c %u:%g /data/f /data/rootfile; touch /data/new 2>&1 | wc -l", edit)
    assert result.returncode == 0, result.stderr
    # rootfile (0:0 on disk) has no uid mapping: it shows as the overflow id.
    assert result.stdout.split() == ["2500:3500", "65534:4000", "1"]


def test_idmap_uses_the_containers_user_namespace(oci, make_bundle, shared_dir):
    """Container root is host uid 100000.  The idmapped source is opened by the runtime, so it
    may be under a directory the container's root cannot traverse (pytest's tmp dirs), as may a
    plain bind's (the runtime's detached copy is moved when the executor gets EACCES)."""
    source, container_id = make_bundle(["sh", "-c", "stat -c %u:%g /data/rootfile /data/f "
                                        "/plain/rootfile; echo z > /data/made-inside"])
    with shifted_bundle(source, 100000) as (bundle, config):
        config["mounts"].append({"destination": "/data", "type": "bind",
                                 "source": str(shared_dir), "options": ["bind", "idmap"]})
        config["mounts"].append({"destination": "/plain", "type": "bind",
                                 "source": str(shared_dir), "options": ["bind", "ro"]})
        write_config(bundle, config)
        result = oci("run", "--bundle", bundle, container_id)
        assert result.returncode == 0, result.stderr
        # On disk 0 -> 100000 through the mount -> 0 in the container; unmapped without it.
        assert result.stdout.split() == ["0:0", "1000:1000", "65534:65534"]
        made = os.stat(shared_dir / "made-inside")
        assert (made.st_uid, made.st_gid) == (0, 0)  # written through the mapping
        assert not _mounted_anywhere(shared_dir)


def test_idmap_on_a_non_bind_mount_is_refused(oci, make_bundle):
    def edit(config):
        config["mounts"].append({"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                                 "options": ["idmap"],
                                 "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}],
                                 "gidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]})
    bundle, container_id = make_bundle(edit=edit)
    result = oci("run", "--bundle", str(bundle), container_id)
    assert result.returncode == 1
    assert "bind mounts only" in result.stderr



def test_the_idmapping_s_user_namespace_is_made_without_forking_the_runtime(monkeypatch):
    """userns/holder.py: the executor (posix_spawn) holds the namespace while its maps are
    written; this process is never forked (a threaded API caller stays safe)."""
    from oci_runtime.rootfs.idmapped_mounts import make_user_namespace

    def no_fork(*args, **kwargs):
        raise AssertionError("the runtime forked itself")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(os, "forkpty", no_fork)
    mapping = [{"containerID": 0, "hostID": 4242, "size": 10}]
    fd = make_user_namespace(mapping, mapping, "/mounts/0")
    try:
        namespace = os.readlink(f"/proc/self/fd/{fd}")
        assert namespace.startswith("user:[") and namespace != os.readlink("/proc/self/ns/user")
    finally:
        os.close(fd)


@pytest.mark.parametrize("destination, link, target", [
    ("/link/data", "/link", "/real"),  # a symlink on the way: resolved in the rootfs
    ("/dangling", "/dangling", "/made/here"),  # a dangling symlink: its target is made
])
def test_idmapped_mounts_in_a_user_namespace_follow_symlinked_destinations(
        oci, make_bundle, shared_dir, destination, link, target):
    """With the container's own user namespace (root is host 100000) and per-mount mappings
    (1000 -> 100005): a symlink in the destination resolves inside the rootfs, as crun does."""
    source, container_id = make_bundle(["sh", "-c", f"stat -c %u:%g {target}/f; "
                                        f"stat -c %u {target}/rootfile"])
    with shifted_bundle(source, 100000) as (bundle, config):
        os.symlink(target, f"{bundle}/rootfs{link}")
        if destination == "/link/data":
            os.makedirs(f"{bundle}/rootfs{target}")
            os.chown(f"{bundle}/rootfs{target}", 100000, 100000)
            target = f"{target}/data"
            config["process"]["args"] = ["sh", "-c", f"stat -c %u:%g {target}/f; "
                                         f"stat -c %u {target}/rootfile"]
        config["mounts"].append({
            "destination": destination, "type": "bind", "source": str(shared_dir),
            "options": ["bind", "idmap"],
            "uidMappings": [{"containerID": 1000, "hostID": 100005, "size": 1}],
            "gidMappings": [{"containerID": 1000, "hostID": 100006, "size": 1}]})
        write_config(bundle, config)
        result = oci("run", "--bundle", bundle, container_id)
        assert result.returncode == 0, result.stderr
        # 1000 on disk -> 100005 through the mount -> 5 in the container; root is unmapped.
        assert result.stdout.split() == ["5:6", "65534"]
        assert not _mounted_anywhere(shared_dir)


def test_an_idmapped_file_bind(oci, make_bundle, shared_dir):
    def edit(config):
        config["mounts"].append({
            "destination": "/etc/f", "type": "bind", "source": str(shared_dir / "f"),
            "options": ["bind", "ridmap"],
            "uidMappings": [{"containerID": 1000, "hostID": 7, "size": 1}],
            "gidMappings": [{"containerID": 1000, "hostID": 8, "size": 1}]})

    result = _run(oci, make_bundle, "stat -c %u:%g /etc/f; cat /etc/f", edit)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["7:8", "x"]
