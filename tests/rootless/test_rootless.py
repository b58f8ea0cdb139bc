"""A non-root user runs containers: a bundle from `spec --rootless`, id maps with subordinate
ids through newuidmap/newgidmap, no cgroup without resources, and an error naming the field
with them (this host's cgroups are not delegated to the user)."""
import json
import os
import shutil
import uuid

import pytest

from tests.waiting import wait_until


pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="creating users needs root")]


class UserRuntime:
    """The shared install run as the test user, with the user's default state root."""

    def __init__(self, user, command):
        self.user = user
        self.command = command
        self.root = os.path.join(user.runtime_dir, "oci-runtime")

    def __call__(self, *args, cwd=None, timeout=60):
        return self.user.run([self.command, *args], cwd=cwd, timeout=timeout)

    def bundle(self, rootfs_template, edit=None):
        """A bundle under the user's home: `spec --rootless` as the user, then ``edit``."""
        container_id = "rl" + uuid.uuid4().hex[:10]
        bundle = self.user.make_dir(os.path.join(self.user.home, f"bundle-{container_id}"))
        shutil.copytree(rootfs_template, os.path.join(bundle, "rootfs"), symlinks=True)
        result = self("spec", "--rootless", "--bundle", bundle)
        assert result.returncode == 0, result.stderr
        path = os.path.join(bundle, "config.json")
        with open(path) as config_file:
            config = json.load(config_file)
        config["process"]["terminal"] = False
        if edit:
            edit(config)
        with open(path, "w") as config_file:
            json.dump(config, config_file)
        return bundle, container_id

    def cleanup(self):
        if os.path.isdir(self.root):
            for container_id in os.listdir(self.root):
                if not container_id.startswith("."):
                    self("delete", "--force", container_id)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def user_oci(rootless_user, shared_install):
    runtime = UserRuntime(rootless_user, shared_install)
    yield runtime
    runtime.cleanup()


def _set_args(*args):
    def edit(config):
        config["process"]["args"] = list(args)
    return edit


def test_spec_rootless_maps_the_callers_own_ids(user_oci, rootfs_template):
    bundle, _ = user_oci.bundle(rootfs_template)
    with open(os.path.join(bundle, "config.json")) as config_file:
        linux = json.load(config_file)["linux"]
    user = user_oci.user
    assert linux["uidMappings"] == [{"containerID": 0, "hostID": user.uid, "size": 1}]
    assert linux["gidMappings"] == [{"containerID": 0, "hostID": user.gid, "size": 1}]


def test_rootless_bundle_runs_as_root_inside_and_the_user_outside(user_oci, rootfs_template):
    bundle, container_id = user_oci.bundle(rootfs_template, _set_args("sleep", "30"))
    result = user_oci("create", "--bundle", bundle, container_id)
    assert result.returncode == 0, result.stderr
    # The state root is the user's $XDG_RUNTIME_DIR/oci-runtime.
    assert os.path.isdir(os.path.join(user_oci.root, container_id))
    state = json.loads(user_oci("state", container_id).stdout)
    assert state["status"] == "created"
    assert user_oci("start", container_id).returncode == 0
    with open(f"/proc/{state['pid']}/status") as status:
        uids = next(line for line in status if line.startswith("Uid:")).split()[1:]
    assert set(uids) == {str(user_oci.user.uid)}
    inside = user_oci("exec", container_id, "id", "-u")
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.strip() == "0"
    # No delegated cgroup here: what needs one says so, in one line.
    for command in (["ps"], ["pause"], ["events", "--stats"], ["update", "--pids-limit", "9"]):
        refused = user_oci(*command, container_id)
        assert refused.returncode == 1 and "has no cgroup" in refused.stderr, refused.stderr
    assert user_oci("kill", container_id, "KILL").returncode == 0
    wait_until(lambda: json.loads(user_oci("state", container_id).stdout)["status"] == "stopped",
               "the killed container to stop")
    assert user_oci("delete", container_id).returncode == 0
    assert not os.path.exists(os.path.join(user_oci.root, container_id))


def test_rootless_run_prints_uid_0_and_returns_the_exit_status(user_oci, rootfs_template):
    bundle, container_id = user_oci.bundle(rootfs_template,
                                           _set_args("sh", "-c", "id -u; exit 7"))
    result = user_oci("run", "--bundle", bundle, container_id)
    assert result.returncode == 7, result.stderr
    assert result.stdout.strip() == "0"


def test_subordinate_ranges_are_mapped_through_newuidmap(user_oci, rootfs_template):
    if shutil.which("newuidmap") is None:
        pytest.skip("newuidmap is not installed (Debian package uidmap)")
    start, count = user_oci.user.subordinate

    def edit(config):
        for key, own in (("uidMappings", user_oci.user.uid), ("gidMappings", user_oci.user.gid)):
            config["linux"][key] = [{"containerID": 0, "hostID": own, "size": 1},
                                    {"containerID": 1, "hostID": start, "size": count}]
        config["process"]["args"] = ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; "
                                     "touch /tmp/f && chown 1000:1000 /tmp/f && "
                                     "stat -c %u:%g /tmp/f"]
        for kind in ("bounding", "effective", "permitted"):
            config["process"]["capabilities"][kind].append("CAP_CHOWN")
        config["root"]["readonly"] = False
        config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})

    bundle, container_id = user_oci.bundle(rootfs_template, edit)
    result = user_oci("run", "--bundle", bundle, container_id)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[:2] == [["0", str(user_oci.user.uid), "1"], ["1", str(start), str(count)]]
    assert lines[2:4] == [["0", str(user_oci.user.gid), "1"], ["1", str(start), str(count)]]
    assert lines[-1] == ["1000:1000"]


def test_resources_without_a_delegated_cgroup_name_the_field(user_oci, rootfs_template):
    def edit(config):
        config["linux"]["resources"] = {"memory": {"limit": 64 << 20}}

    bundle, container_id = user_oci.bundle(rootfs_template, edit)
    result = user_oci("run", "--bundle", bundle, container_id)
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()
    assert len(message) == 1, result.stderr
    assert "/linux/resources/memory/limit" in message[0]
    assert "rootless" in message[0] and "Traceback" not in result.stderr
    assert not os.path.exists(os.path.join(user_oci.root, container_id))


def test_rootless_false_does_not_skip_the_cgroup(user_oci, rootfs_template):
    bundle, container_id = user_oci.bundle(rootfs_template)
    result = user_oci("--rootless", "false", "run", "--bundle", bundle, container_id)
    assert result.returncode == 1
    assert "cgroup" in result.stderr and "Permission denied" in result.stderr
    assert not os.path.exists(os.path.join(user_oci.root, container_id))


def test_rootless_option_rejects_other_values(user_oci):
    result = user_oci("--rootless", "maybe", "list")
    assert result.returncode == 1
    assert "--rootless 'maybe': expected true, false or auto" in result.stderr


def _with_devices(devices, args):
    def edit(config):
        config["linux"]["devices"] = devices
        config["process"]["args"] = list(args)
    return edit


def test_user_namespace_devices_are_bound_from_the_host_or_made(user_oci, rootfs_template):
    full = os.stat("/dev/full")
    devices = [{"path": "/dev/full", "type": "c", "major": os.major(full.st_rdev),
                "minor": os.minor(full.st_rdev)},
               {"path": "/dev/myfifo", "type": "p"}]
    bundle, container_id = user_oci.bundle(rootfs_template, _with_devices(
        devices, ["sh", "-c", "stat -c '%F %t:%T' /dev/full /dev/myfifo /dev/null; "
                              "echo x > /dev/null && head -c 3 /dev/zero | wc -c"]))
    result = user_oci("run", "--bundle", bundle, container_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"character special file {os.major(full.st_rdev):x}:{os.minor(full.st_rdev):x}",
        "fifo 0:0", "character special file 1:3", "3"]


def test_a_device_neither_on_the_host_nor_creatable_names_its_index(user_oci, rootfs_template):
    devices = [{"path": "/dev/myfifo", "type": "p"},
               {"path": "/dev/oci-test-nonexistent", "type": "c", "major": 240, "minor": 77}]
    bundle, container_id = user_oci.bundle(rootfs_template, _with_devices(devices, ["true"]))
    result = user_oci("run", "--bundle", bundle, container_id)
    assert result.returncode == 1
    assert "/linux/devices/1" in result.stderr and "240:77" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not os.path.exists(os.path.join(user_oci.root, container_id))
