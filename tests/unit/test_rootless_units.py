"""Rootless mode's pure parts: how id maps are written, which resource field is asked for."""
import os

from oci_runtime.userns.idmap import CAP_SETGID, CAP_SETUID, map_lines, plan_writes
from oci_runtime.userns.rootless import resources_requested

ALL = (1 << CAP_SETUID) | (1 << CAP_SETGID)


def _one(host_id, container_id=0, size=1):
    return [{"containerID": container_id, "hostID": host_id, "size": size}]


def test_privileged_caller_writes_every_map_itself():
    many = _one(100000, size=65536)
    assert plan_writes(many, many, capabilities=ALL) == (
        [("uid", "direct", many), ("gid", "direct", many)], False)


def test_unprivileged_own_ids_are_written_directly_with_setgroups_denied():
    uid, gid = _one(os.geteuid()), _one(os.getegid())
    assert plan_writes(uid, gid, capabilities=0) == (
        [("uid", "direct", uid), ("gid", "direct", gid)], True)


def test_unprivileged_other_ranges_go_through_the_helpers():
    many = _one(os.geteuid()) + _one(200000, 1, 65536)
    assert plan_writes(many, many, capabilities=0) == (
        [("uid", "helper", many), ("gid", "helper", many)], False)


def test_setuid_without_setgid_denies_setgroups_only_for_an_own_gid():
    uid, gid = _one(12345, size=10), _one(os.getegid())
    writes, deny = plan_writes(uid, gid, capabilities=1 << CAP_SETUID)
    assert writes == [("uid", "direct", uid), ("gid", "direct", gid)] and deny


def test_map_lines():
    assert map_lines(_one(1000) + _one(100000, 1, 65536)) == "0 1000 1\n1 100000 65536\n"


def test_resources_requested_names_the_first_field_set():
    assert resources_requested(None) is None
    assert resources_requested({}) is None
    assert resources_requested({"devices": [{"allow": False, "access": "rwm"}]}) is None
    assert resources_requested({"memory": {}, "cpu": {"shares": None}}) is None
    assert resources_requested({"pids": {"limit": 10}}) == "/linux/resources/pids/limit"
    assert resources_requested({"unified": {"memory.max": "1G"}}) == \
        "/linux/resources/unified/memory.max"


def test_idmap_option_argument():
    import pytest

    from oci_runtime.errors import OCIError
    from oci_runtime.rootfs.idmapped_mounts import parse_option_argument
    from oci_runtime.rootfs.mount_options import plan_mount_options

    plan = plan_mount_options(["rbind", "ridmap=uids=0-1000-10#10-2000-5;gids=0-3000-1"])
    assert plan.idmap and plan.recursive_idmap and plan.data == []
    assert parse_option_argument(plan.idmap_argument, "/mounts/0") == (
        _one(1000, 0, 10) + _one(2000, 10, 5), _one(3000, 0, 1))
    plain = plan_mount_options(["idmap"])
    assert plain.idmap and not plain.recursive_idmap and plain.idmap_argument is None
    for bad in ("uids=0-1-1", "uids=0-1;gids=0-1-1", "uids=@0-1-1;gids=0-1-1",
                "uids=0-1-0;gids=0-1-1", "foo=1"):
        with pytest.raises(OCIError, match="/mounts/3/options"):
            parse_option_argument(bad, "/mounts/3")


def test_rootless_cgroup_uses_a_writable_one_skips_or_names_the_field(tmp_path, monkeypatch):
    import pytest


    from oci_runtime.userns import rootless
    from oci_runtime.errors import OCIError

    delegated = tmp_path / "delegated"
    delegated.mkdir()
    from oci_runtime.cgroups.v2 import V2Manager

    manager = V2Manager(str(delegated), "/container", str(delegated / "container"))
    writable = {str(delegated)}
    monkeypatch.setattr(rootless.os, "access", lambda path, mode: str(path) in writable)
    assert rootless.rootless_cgroup(manager, {"pids": {"limit": 5}}) is manager
    writable.clear()
    assert rootless.rootless_cgroup(manager, {"devices": [{"allow": False}]}) is None
    with pytest.raises(OCIError, match=r"^config\.json: /linux/resources/pids/limit: rootless"):
        rootless.rootless_cgroup(manager, {"pids": {"limit": 5}})


def test_update_devices_become_the_container_rules_and_are_refused_rootless(monkeypatch):
    import pytest

    from oci_runtime.cgroups.controllers.devices import DEFAULT_ALLOWED_DEVICES
    from oci_runtime.container import lifecycle
    from oci_runtime.errors import OCIError
    from oci_runtime.userns import rootless

    rule = {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "r"}
    monkeypatch.setattr(rootless, "is_rootless", lambda setting=None: False)
    assert lifecycle._with_container_device_rules({"pids": {"limit": 5}}) == {"pids": {"limit": 5}}
    updated = lifecycle._with_container_device_rules({"devices": [rule]})
    assert updated["devices"] == [{"allow": False, "access": "rwm"}, rule,
                                  *DEFAULT_ALLOWED_DEVICES]
    monkeypatch.setattr(rootless, "is_rootless", lambda setting=None: True)
    with pytest.raises(OCIError, match="update: /devices: a rootless container has no device"):
        lifecycle._with_container_device_rules({"devices": [rule]})
