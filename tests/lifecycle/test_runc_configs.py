"""Configs runc runs, run here too (issue 23, point 3): no /proc, /sys or cgroup mount under every
namespace; a bind of a symlinked host file onto a destination that does not exist yet.  Device
paths with a trailing slash: conformance/test_config_linux_md.py."""
import os

import pytest

NAMESPACE_TYPES = ("mount", "pid", "network", "ipc", "uts", "user", "cgroup", "time")
# Each namespace with a mount namespace (the mounts stay the container's), and all of them.
NAMESPACE_SETS = [("mount", other) for other in NAMESPACE_TYPES if other != "mount"] + [
    ("mount",), NAMESPACE_TYPES]
# root stays root (the bundle sits in pytest's root-only directories); the rest is shifted
USER_MAPPING = [{"containerID": 0, "hostID": 0, "size": 1},
                {"containerID": 1, "hostID": 100001, "size": 65535}]


def _namespaces(types, dropped):
    def edit(config):
        config["linux"]["namespaces"] = [{"type": ns_type} for ns_type in types]
        if "uts" not in types:
            config.pop("hostname", None)
        if "user" in types:
            config["linux"]["uidMappings"] = USER_MAPPING
            config["linux"]["gidMappings"] = USER_MAPPING
        if "ipc" not in types:  # an mqueue mount needs the container's own ipc namespace
            dropped.add("/dev/mqueue")
        config["mounts"] = [m for m in config["mounts"] if m["destination"] not in dropped]
    return edit


@pytest.mark.parametrize("dropped", [("/proc",), ("/proc", "/sys", "/sys/fs/cgroup")],
                         ids=["no-proc", "no-proc-sys-cgroup"])
@pytest.mark.parametrize("types", NAMESPACE_SETS, ids=["+".join(s) for s in NAMESPACE_SETS])
def test_a_config_without_proc_sys_or_cgroup_mounts_runs(oci, make_bundle, types, dropped):
    """runc needs none of these mounts: the runtime's own writes to /proc go through the host's
    procfs before pivot_root, and nothing else of the container side reads them."""
    bundle, cid = make_bundle(["sh", "-c", "echo ran; ls /proc | wc -l"],
                              _namespaces(types, set(dropped)))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    ran, entries = result.stdout.split()
    assert ran == "ran" and entries == "0"  # the image's empty /proc: nothing was mounted there


def test_a_container_without_proc_can_be_joined_and_listed(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "60"], _namespaces(
        ("mount", "pid", "network", "ipc", "uts"), {"/proc", "/sys", "/sys/fs/cgroup"}))
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    assert oci("exec", cid, "echo", "joined", check=True).stdout == "joined\n"
    assert oci.state(cid)["pid"] in [int(line.split()[1]) for line in
                                     oci("ps", cid, check=True).stdout.splitlines()[1:]]


def test_a_bind_of_a_symlinked_host_file_onto_a_missing_destination(oci, make_bundle, tmp_path):
    """The issue's case: {"destination": "/etc/not-existing", "source": "/etc/localtime"} where
    the source is a symlink on the host (followed, as mount(2) does) and the destination does not
    exist in the image (made as a file)."""
    real = tmp_path / "zone"
    real.write_text("TZif2 fake\n")
    source = tmp_path / "localtime"
    source.symlink_to(real)

    def edit(config):
        config["mounts"].append({"destination": "/etc/not-existing/deeper", "source": str(source),
                                 "options": ["bind", "ro"]})

    bundle, cid = make_bundle(["sh", "-c", "cat /etc/not-existing/deeper; echo x > "
                                           "/etc/not-existing/deeper || echo read-only"], edit)
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "TZif2 fake"
    assert result.stdout.splitlines()[-1] == "read-only"
    assert os.path.isfile(bundle / "rootfs" / "etc" / "not-existing" / "deeper")
