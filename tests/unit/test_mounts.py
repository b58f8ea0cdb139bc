"""oci_runtime.rootfs.mounts decisions, checked without root against the recording fake kernel.

The rootfs is a directory under tmp_path; open_in_root (openat2) runs for real, so destinations
are created and resolved inside it exactly as in a container, and the fake records which mount(2)
calls the runtime makes on them (see fake_kernel.py)."""
import os

import pytest

from oci_runtime import kernel as k
from oci_runtime.config.model import Mount
from oci_runtime.errors import OCIError
from oci_runtime.rootfs import mounts

BIND_REMOUNT = k.MS_BIND | k.MS_REMOUNT


@pytest.fixture
def rootfs(tmp_path):
    root = tmp_path / "rootfs"
    for directory in ("proc", "sys", "dev", "etc", "data"):
        (root / directory).mkdir(parents=True)
    (root / "etc" / "hostname").write_text("image\n")
    return root


@pytest.fixture
def root_fd(rootfs):
    fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    yield fd
    os.close(fd)


@pytest.fixture
def host_dir(tmp_path):
    source = tmp_path / "host" / "share"
    source.mkdir(parents=True)
    (source / "file").write_text("from the host\n")
    return source


def context(rootfs, new_network_ns=True, new_cgroup_ns=True, cgroup_mounts=None, label=None):
    return mounts.MountContext(str(rootfs), new_network_ns, new_cgroup_ns, cgroup_mounts, label)


def entry(destination, mount_type="bind", source="", options=(), **extra):
    raw = {"destination": destination, "type": mount_type, "source": str(source),
           "options": list(options), **extra}
    return Mount(raw, "/mounts/0")


def mount_calls(fake_kernel):
    """(source, target, fstype, flags, data) of each mount(2) call, data None when not given."""
    return [tuple(args) + (None,) * (5 - len(args)) for args in fake_kernel.called("mount")]


# -- bind mounts ----------------------------------------------------------------------------


def test_a_plain_bind_is_one_mount_call_onto_a_created_directory(fake_kernel, rootfs, root_fd,
                                                                 host_dir):
    mounts.mount_all(root_fd, [entry("/mnt/share", source=host_dir, options=["bind"])],
                     context(rootfs))
    assert (rootfs / "mnt" / "share").is_dir()  # made inside the rootfs
    assert mount_calls(fake_kernel) == [
        (str(host_dir), str(rootfs / "mnt" / "share"), None, k.MS_BIND, None)]


def test_rbind_is_recursive_and_a_file_source_gets_a_file_mount_point(fake_kernel, rootfs,
                                                                      root_fd, host_dir):
    source = host_dir / "file"
    mounts.mount_all(root_fd, [entry("/etc/resolv.conf", source=source, options=["rbind"])],
                     context(rootfs))
    assert (rootfs / "etc" / "resolv.conf").is_file()
    assert mount_calls(fake_kernel) == [
        (str(source), str(rootfs / "etc" / "resolv.conf"), None, k.MS_BIND | k.MS_REC, None)]


def test_bind_remount_repeats_the_locked_flags_of_the_source_mount(fake_kernel, rootfs, root_fd,
                                                                   host_dir):
    # The host mount is nosuid,nodev and, as inside a user namespace, those flags are locked:
    # a remount for "ro" that left them out would fail with EPERM.
    fake_kernel.add_mount(str(host_dir.parent), k.MS_NOSUID | k.MS_NODEV, locked=True)
    mounts.mount_all(root_fd, [entry("/data", source=host_dir, options=["bind", "ro"])],
                     context(rootfs))
    destination = str(rootfs / "data")
    assert mount_calls(fake_kernel) == [
        (str(host_dir), destination, None, k.MS_BIND, None),
        (None, destination, None, BIND_REMOUNT | k.MS_RDONLY | k.MS_NOSUID | k.MS_NODEV, None),
    ]
    assert fake_kernel.flags_at(destination) == k.MS_RDONLY | k.MS_NOSUID | k.MS_NODEV


def test_rw_drops_an_unlocked_read_only_flag_of_the_source(fake_kernel, rootfs, root_fd,
                                                           host_dir):
    fake_kernel.add_mount(str(host_dir.parent), k.MS_RDONLY | k.MS_NODEV)
    mounts.mount_all(root_fd, [entry("/data", source=host_dir, options=["bind", "rw", "nosuid"])],
                     context(rootfs))
    destination = str(rootfs / "data")
    assert mount_calls(fake_kernel)[-1] == (
        None, destination, None, BIND_REMOUNT | k.MS_NOSUID | k.MS_NODEV, None)
    assert fake_kernel.flags_at(destination) == k.MS_NOSUID | k.MS_NODEV


def test_rw_on_a_locked_read_only_source_is_reported_with_the_mount_s_pointer(
        fake_kernel, rootfs, root_fd, host_dir):
    fake_kernel.add_mount(str(host_dir.parent), k.MS_RDONLY, locked=True)
    with pytest.raises(OCIError) as refused:
        mounts.mount_all(root_fd, [entry("/data", source=host_dir, options=["bind", "rw"])],
                         context(rootfs))
    assert str(refused.value) == (f"config.json: /mounts/0: mounting '{host_dir}' on /data: "
                                  "Operation not permitted")
    assert refused.value.errno == 1


def test_bind_without_flag_options_needs_no_remount(fake_kernel, rootfs, root_fd, host_dir):
    fake_kernel.add_mount(str(host_dir.parent), k.MS_NOSUID, locked=True)
    mounts.mount_all(root_fd, [entry("/data", source=host_dir, options=["rbind", "rprivate"])],
                     context(rootfs))
    calls = mount_calls(fake_kernel)
    assert [flags for _, _, _, flags, _ in calls] == [k.MS_BIND | k.MS_REC,
                                                      k.MS_PRIVATE | k.MS_REC]


def test_a_symlinked_destination_resolves_inside_the_rootfs(fake_kernel, rootfs, root_fd,
                                                            host_dir, tmp_path):
    # The image says /escape -> /../../host: the mount must land in <rootfs>/host, never on
    # tmp_path/host (the real host directory beside the rootfs).
    os.symlink("/../../host", rootfs / "escape")
    mounts.mount_all(root_fd, [entry("/escape/share", source=host_dir, options=["bind"])],
                     context(rootfs))
    target = mount_calls(fake_kernel)[0][1]
    assert target == str(rootfs / "host" / "share")
    assert not target.startswith(str(tmp_path / "host"))


# -- other filesystems, propagation, recursive attributes ------------------------------------


def test_tmpfs_gets_its_flags_data_and_the_mount_label(fake_kernel, rootfs, root_fd):
    tmpfs = entry("/run", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=64k"])
    mounts.mount_all(root_fd, [tmpfs], context(rootfs, label="system_u:object_r:c:s0"))
    assert mount_calls(fake_kernel) == [(
        "tmpfs", str(rootfs / "run"), "tmpfs", k.MS_NOSUID | k.MS_STRICTATIME,
        'mode=755,size=64k,context="system_u:object_r:c:s0"')]


def test_remount_in_options_is_not_passed_to_a_new_filesystem(fake_kernel, rootfs, root_fd):
    mounts.mount_all(root_fd, [entry("/proc", "proc", "proc", ["remount", "nodev"])],
                     context(rootfs))
    assert mount_calls(fake_kernel) == [("proc", str(rootfs / "proc"), "proc", k.MS_NODEV, None)]


def test_propagation_and_recursive_attributes_follow_the_mount(fake_kernel, rootfs, root_fd,
                                                               host_dir):
    options = ["rbind", "rslave", "rro", "rnosuid", "rnoatime"]
    mounts.mount_all(root_fd, [entry("/data", source=host_dir, options=options)], context(rootfs))
    destination = str(rootfs / "data")
    assert mount_calls(fake_kernel)[1] == (None, destination, None, k.MS_SLAVE | k.MS_REC, None)
    assert fake_kernel.called("mount_setattr") == [(
        destination, "", k.AT_EMPTY_PATH | k.AT_RECURSIVE,
        k.MOUNT_ATTR_RDONLY | k.MOUNT_ATTR_NOSUID | k.MOUNT_ATTR_NOATIME, k.MOUNT_ATTR__ATIME)]


@pytest.mark.parametrize("extra", [{"options": ["bind", "idmap"]},
                                   {"options": ["rbind", "ridmap"]},
                                   {"uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}],
                                    "gidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}])
def test_idmapped_mounts_are_refused_before_any_mount(fake_kernel, rootfs, root_fd, host_dir,
                                                      extra):
    raw = {"destination": "/data", "type": "bind", "source": str(host_dir), "options": ["bind"]}
    raw.update(extra)
    with pytest.raises(OCIError, match=r"^config\.json: /mounts/3: idmapped mounts are not "
                                       r"supported yet$"):
        mounts.mount_all(root_fd, [Mount(raw, "/mounts/3")], context(rootfs))
    assert fake_kernel.calls == []


# -- sysfs in a network namespace the container does not own ---------------------------------


def test_sysfs_eperm_falls_back_to_binding_the_host_sys(fake_kernel, rootfs, root_fd):
    fake_kernel.fail("mount", 1, when=lambda call: call.args[2] == "sysfs")
    options = ["nosuid", "noexec", "nodev", "ro"]
    mounts.mount_all(root_fd, [entry("/sys", "sysfs", "sysfs", options)],
                     context(rootfs, new_network_ns=False))
    destination = str(rootfs / "sys")
    wanted = k.MS_NOSUID | k.MS_NOEXEC | k.MS_NODEV | k.MS_RDONLY
    assert mount_calls(fake_kernel) == [
        ("sysfs", destination, "sysfs", wanted, None),
        ("/sys", destination, None, k.MS_BIND | k.MS_REC, None),
        (None, destination, None, BIND_REMOUNT | wanted, None),
    ]
    assert fake_kernel.flags_at(destination) == wanted


def test_sysfs_eperm_in_a_new_network_namespace_is_an_error(fake_kernel, rootfs, root_fd):
    fake_kernel.fail("mount", 1, when=lambda call: call.args[2] == "sysfs")
    with pytest.raises(OCIError, match="mounting 'sysfs' on /sys: Operation not permitted"):
        mounts.mount_all(root_fd, [entry("/sys", "sysfs", "sysfs", ["ro"])],
                         context(rootfs, new_network_ns=True))
    assert len(fake_kernel.called("mount")) == 1  # no fallback bind


def test_other_errors_of_sysfs_are_not_papered_over(fake_kernel, rootfs, root_fd):
    fake_kernel.fail("mount", 19, when=lambda call: call.args[2] == "sysfs")  # ENODEV
    with pytest.raises(OCIError, match="No such device"):
        mounts.mount_all(root_fd, [entry("/sys", "sysfs", "sysfs")],
                         context(rootfs, new_network_ns=False))


# -- cgroup mounts ----------------------------------------------------------------------------


def test_cgroup2_is_mounted_with_or_without_a_cgroup_namespace(fake_kernel, rootfs, root_fd):
    # runc mounts cgroup2 either way; without a namespace the container sees the host hierarchy.
    cgroup = entry("/sys/fs/cgroup", "cgroup", "cgroup", ["ro", "nosuid"])
    for new_cgroup_ns in (True, False):
        mounts.mount_all(root_fd, [cgroup], context(rootfs, new_cgroup_ns=new_cgroup_ns))
        assert mount_calls(fake_kernel)[-1] == (
            "cgroup2", str(rootfs / "sys" / "fs" / "cgroup"), "cgroup2",
            k.MS_RDONLY | k.MS_NOSUID, None)


def test_cgroup2_refused_without_a_cgroup_namespace_binds_the_host_hierarchy(fake_kernel, rootfs,
                                                                             root_fd):
    fake_kernel.fail("mount", 1, when=lambda call: call.args[2] == "cgroup2")  # EPERM: userns
    mounts.mount_all(root_fd, [entry("/sys/fs/cgroup", "cgroup", "cgroup", ["ro", "nosuid"])],
                     context(rootfs, new_cgroup_ns=False))
    target = str(rootfs / "sys" / "fs" / "cgroup")
    assert mount_calls(fake_kernel)[-2:] == [
        ("/sys/fs/cgroup", target, None, k.MS_BIND, None),
        (None, target, None, BIND_REMOUNT | k.MS_RDONLY | k.MS_NOSUID, None),
    ]


def test_cgroup2_refused_inside_its_own_cgroup_namespace_is_an_error(fake_kernel, rootfs, root_fd):
    fake_kernel.fail("mount", 1, when=lambda call: call.args[2] == "cgroup2")
    with pytest.raises(OCIError, match="Operation not permitted"):
        mounts.mount_all(root_fd, [entry("/sys/fs/cgroup", "cgroup", "cgroup", ["ro"])],
                         context(rootfs, new_cgroup_ns=True))


def test_v1_cgroup_mounts_without_a_namespace_bind_the_container_s_own_cgroups(
        fake_kernel, rootfs, root_fd, tmp_path):
    memory = tmp_path / "host-cgroup" / "memory" / "ctr"
    memory.mkdir(parents=True)
    hierarchies = [("memory", "cgroup", "memory", str(memory))]
    mounts.mount_all(root_fd, [entry("/sys/fs/cgroup", "cgroup", "cgroup", ["ro", "nosuid"])],
                     context(rootfs, new_cgroup_ns=False, cgroup_mounts=hierarchies))
    top = str(rootfs / "sys" / "fs" / "cgroup")
    sub = f"{top}/memory"
    assert mount_calls(fake_kernel) == [
        ("tmpfs", top, "tmpfs", k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC, "mode=755"),
        (str(memory), sub, None, k.MS_BIND | k.MS_REC, None),
        (None, sub, None, BIND_REMOUNT | k.MS_RDONLY | k.MS_NOSUID, None),
        # ro: the tmpfs above them too, keeping the flags it was mounted with.
        (None, top, None, k.MS_REMOUNT | k.MS_BIND | k.MS_RDONLY | k.MS_NOSUID | k.MS_NODEV
         | k.MS_NOEXEC, None),
    ]


# -- maskedPaths and readonlyPaths ------------------------------------------------------------


def test_mask_paths_tmpfs_over_directories_dev_null_over_files(fake_kernel, rootfs, root_fd):
    (rootfs / "proc" / "acpi").mkdir()
    (rootfs / "proc" / "kcore").write_text("")
    mounts.mask_paths(root_fd, ["/proc/acpi", "/proc/kcore", "/proc/does-not-exist"])
    assert mount_calls(fake_kernel) == [
        ("tmpfs", str(rootfs / "proc" / "acpi"), "tmpfs", k.MS_RDONLY, None),
        ("/dev/null", str(rootfs / "proc" / "kcore"), None, k.MS_BIND, None),
    ]


def test_mask_paths_errors_name_the_path(fake_kernel, rootfs, root_fd):
    (rootfs / "proc" / "kcore").write_text("")
    fake_kernel.fail("mount", 13)
    with pytest.raises(OCIError) as refused:
        mounts.mask_paths(root_fd, ["/proc/kcore"])
    assert str(refused.value) == ("config.json: /linux/maskedPaths: masking /proc/kcore: "
                                  "Permission denied")


def test_readonly_paths_bind_onto_themselves_then_remount_keeping_flags(fake_kernel, rootfs,
                                                                        root_fd):
    (rootfs / "proc" / "sys").mkdir()
    fake_kernel.add_mount(str(rootfs / "proc"), k.MS_NOSUID | k.MS_NOEXEC, locked=True)
    mounts.make_readonly(root_fd, ["/proc/sys", "/proc/missing"])
    path = str(rootfs / "proc" / "sys")
    assert mount_calls(fake_kernel) == [
        (path, path, None, k.MS_BIND | k.MS_REC, None),
        (None, path, None, BIND_REMOUNT | k.MS_RDONLY | k.MS_NOSUID | k.MS_NOEXEC, None),
    ]
