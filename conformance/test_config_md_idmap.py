"""config.md "Mounts": the idmap / ridmap options and mounts[].uidMappings/gidMappings."""
import json
import os

import pytest

from conformance.clause import clause
from oci_runtime.rootfs.idmapped_mounts import idmap_supported
from tests.rootless.fixtures import owned_file_dir

pytestmark = pytest.mark.skipif(not idmap_supported(),
                                reason="this kernel has no mount_setattr (Linux 5.12)")


@pytest.fixture
def owned_dir(tmp_path):
    return owned_file_dir(tmp_path)


@pytest.fixture
def idmappable_dir(owned_dir):
    """owned_dir, where its filesystem supports idmapped mounts (the v2 test bed's /tmp is an
    overlay of a tmpfs, which Linux 6.1 cannot idmap)."""
    from oci_runtime.rootfs.idmapped_mounts import filesystem_supports_idmap

    if not filesystem_supports_idmap(str(owned_dir)):
        pytest.skip(f"the filesystem of {owned_dir} does not support idmapped mounts on this "
                    f"kernel ({os.uname().release})")
    return owned_dir


@clause("config.md", "Mounts", "idmap: if uidMappings or gidMappings are specified for the mount, "
        "the runtime MUST use those values for the mount's mapping")
def test_idmap_uses_the_mounts_mappings(oci, make_bundle, idmappable_dir):
    def edit(config):
        config["process"]["args"] = ["stat", "-c", "%u:%g", "/data/f"]
        config["mounts"].append({
            "destination": "/data", "type": "bind", "source": str(idmappable_dir),
            "options": ["rbind", "ridmap"],
            "uidMappings": [{"containerID": 1000, "hostID": 4242, "size": 1}],
            "gidMappings": [{"containerID": 1000, "hostID": 4343, "size": 1}]})
    bundle, container_id = make_bundle(edit=edit)
    result = oci("run", "--bundle", str(bundle), container_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4242:4343"


@clause("config.md", "Mounts", "idmap: with no uidMappings and gidMappings and no user namespace, "
        "an error MUST be returned")
def test_idmap_without_mappings_or_user_namespace_is_an_error(oci, make_bundle, owned_dir):
    def edit(config):
        config["mounts"].append({"destination": "/data", "type": "bind",
                                 "source": str(owned_dir), "options": ["bind", "ridmap"]})
    bundle, container_id = make_bundle(edit=edit)
    index = len(json.loads((bundle / "config.json").read_text())["mounts"]) - 1
    result = oci("run", "--bundle", str(bundle), container_id)
    assert result.returncode != 0
    assert f"/mounts/{index}" in result.stderr


@pytest.fixture
def submounted_dir(idmappable_dir, tmp_path):
    """tmp_path/data (owned_file_dir) with tmp_path/other bound on data/sub: a file there owned
    1000:1000; unmounted at teardown."""
    import subprocess

    data = idmappable_dir
    (data / "sub").mkdir()
    other = tmp_path / "other"
    other.mkdir()
    (other / "g").write_text("z")
    os.chown(other / "g", 1000, 1000)
    subprocess.run(["mount", "--bind", str(other), str(data / "sub")], check=True)
    subprocess.run(["mount", "--make-private", str(data / "sub")], check=True)
    yield data
    subprocess.run(["umount", "-l", str(data / "sub")], check=True)


@pytest.mark.parametrize("options, expected", [(["rbind", "ridmap"], "2000:3000"),
                                               (["rbind", "idmap"], "1000:1000")])
@clause("config.md", "Linux mount options", "ridmap: the mount MUST have an idmapping applied, "
        "and the mapping is applied recursively")
def test_ridmap_maps_the_submounts_too_and_idmap_only_the_top(oci, make_bundle, submounted_dir,
                                                              options, expected):
    def edit(config):
        config["process"]["args"] = ["stat", "-c", "%u:%g", "/data/f", "/data/sub/g"]
        config["mounts"].append({
            "destination": "/data", "type": "bind", "source": str(submounted_dir),
            "options": options,
            "uidMappings": [{"containerID": 1000, "hostID": 2000, "size": 1}],
            "gidMappings": [{"containerID": 1000, "hostID": 3000, "size": 1}]})

    bundle, container_id = make_bundle(edit=edit)
    result = oci("run", "--bundle", str(bundle), container_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2000:3000", expected]
