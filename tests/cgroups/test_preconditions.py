"""runc's preconditions for a new container's cgroup: create refuses, at once and with one
line, a cgroup that already holds processes (another container's would be counted, frozen and
killed as this one's) and a frozen one (the init could never run: create used to hang)."""
import json
import os

import pytest

from oci_runtime.cgroups import detect_mode

CGROOT = "/sys/fs/cgroup"
MODE = detect_mode(CGROOT)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")


def cgroups_path(bundle):
    return json.loads((bundle / "config.json").read_text())["linux"]["cgroupsPath"]


def use_cgroups_path(path):
    return lambda config: config["linux"].update(cgroupsPath=path)


def freezer_dir(path):
    return f"{CGROOT}{path}" if MODE == "v2" else f"{CGROOT}/freezer{path}"


def freeze(directory):
    os.makedirs(directory, exist_ok=True)
    if MODE == "v2":
        with open(f"{directory}/cgroup.freeze", "w") as freeze_file:
            freeze_file.write("1")
    else:
        with open(f"{directory}/freezer.state", "w") as state:
            state.write("FROZEN")


def thaw_and_remove(directory, parent=None):
    for path in (directory, parent):
        if path and os.path.isdir(path):
            name = "cgroup.freeze" if MODE == "v2" else "freezer.state"
            with open(f"{path}/{name}", "w") as freezer:
                freezer.write("0" if MODE == "v2" else "THAWED")
    for path in (directory, parent):
        if path and os.path.isdir(path):
            os.rmdir(path)


def test_create_refuses_a_cgroup_that_already_has_processes(oci, make_bundle):
    first, first_id = make_bundle(["sleep", "300"])
    oci("run", "--detach", "--bundle", str(first), first_id, check=True)
    second, second_id = make_bundle(["true"], use_cgroups_path(cgroups_path(first)))
    result = oci("create", "--bundle", str(second), second_id, timeout=30)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert "container's cgroup is not empty: 1 process(es) found" in result.stderr, result.stderr
    assert oci("state", second_id).returncode != 0             # nothing half-made left
    assert oci.state(first_id)["status"] == "running"           # the other container untouched


def test_create_refuses_a_frozen_cgroup_instead_of_hanging(oci, make_bundle):
    bundle, cid = make_bundle(["true"])
    directory = freezer_dir(cgroups_path(bundle))
    freeze(directory)
    try:
        result = oci("create", "--bundle", str(bundle), cid, timeout=30)
        assert result.returncode != 0
        assert "container's cgroup unexpectedly frozen" in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert oci("state", cid).returncode != 0
    finally:
        oci.cleanup()
        thaw_and_remove(directory)


def test_create_refuses_a_cgroup_below_a_frozen_one(oci, make_bundle):
    bundle, cid = make_bundle(["true"])
    path = cgroups_path(bundle)
    parent = freezer_dir(os.path.dirname(path) + "/frozen-parent")
    oci_path = os.path.dirname(path) + "/frozen-parent/" + cid
    with open(bundle / "config.json") as config_file:
        config = json.load(config_file)
    config["linux"]["cgroupsPath"] = oci_path
    (bundle / "config.json").write_text(json.dumps(config))
    freeze(parent)
    try:
        result = oci("create", "--bundle", str(bundle), cid, timeout=30)
        assert result.returncode != 0
        assert f"its parent {parent} is frozen" in result.stderr, result.stderr
    finally:
        oci.cleanup()
        thaw_and_remove(freezer_dir(oci_path), parent)
