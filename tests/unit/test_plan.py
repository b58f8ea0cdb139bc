"""The plan compiler (oci_runtime/plan/): which executor operations a config becomes, in which
order, and how their failures read.  Pure: no root, nothing is mounted or forked."""
import stat
import struct

import pytest


from oci_runtime.kernel import syscalls as k
from oci_runtime.config.model import Config
from oci_runtime.errors import OCIError
from oci_runtime.executor import wire
from oci_runtime.plan.create import CreateInputs, compile_create
from oci_runtime.plan.host import HostFacts, PathFact
from oci_runtime.plan.options import CreateOptions
from oci_runtime.plan.model import FdArg
from oci_runtime.process.capabilities import CapabilityPlan


def config_of(tmp_path, mounts=(), namespaces=("pid", "mount", "network", "ipc", "uts"),
              linux=None, process=None, **top):
    (tmp_path / "rootfs").mkdir(exist_ok=True)
    raw = {
        "ociVersion": "1.3.0",
        "root": {"path": str(tmp_path / "rootfs")},
        "process": dict({"args": ["true"], "cwd": "/", "env": ["PATH=/bin"],
                         "user": {"uid": 0, "gid": 0}}, **(process or {})),
        "mounts": list(mounts),
        "linux": dict({"namespaces": [{"type": t} for t in namespaces]}, **(linux or {})),
    }
    raw.update(top)
    return Config(raw)


DIRECTORY = PathFact(stat.S_IFDIR | 0o755)
FILE = PathFact(stat.S_IFREG | 0o644)


def compiled(config, options=None, host=None, **inputs):
    """The plan of ``config`` on a made-up ``host`` (default: a root runtime with every
    capability, mount sources under the test's host directory as they are named)."""
    if host is None:
        host = HostFacts(paths=HOST_PATHS)
    warnings = []
    caps = CapabilityPlan(config.process.capabilities, "/process/capabilities", warnings,
                          bounding=host.bounding_set, last=host.last_capability)
    defaults = dict(start_listener=FdArg("start.sock"), capabilities=caps)
    defaults.update(inputs)
    return compile_create(config, options or CreateOptions(), CreateInputs("test", **defaults),
                          host)


def _device(major, minor):
    import os

    return PathFact(stat.S_IFCHR | 0o666, os.makedev(major, minor))


# The made-up host's paths: the host_dir fixture's directory and file, and the devices every
# container gets (none of them is looked at: a plan never reads the host itself).
HOST_DIR = "/srv/host/share"
HOST_PATHS = {HOST_DIR: DIRECTORY, f"{HOST_DIR}/file": FILE, "/dev/null": _device(1, 3),
              "/dev/zero": _device(1, 5), "/dev/full": _device(1, 7),
              "/dev/random": _device(1, 8), "/dev/urandom": _device(1, 9),
              "/dev/tty": _device(5, 0)}


def ops(plan, *wanted):
    return [step for step in plan.steps if step.op in wanted]


def names(plan):
    return [wire.OP_NAMES[step.op] for step in plan.steps]


@pytest.fixture
def host_dir():
    import pathlib

    return pathlib.PurePosixPath(HOST_DIR)


# -- mounts -----------------------------------------------------------------------------------

def test_a_plain_bind_is_one_mount_of_a_directory_without_remount(tmp_path, host_dir):
    plan = compiled(config_of(tmp_path, [{"destination": "/data", "type": "bind",
                                           "source": str(host_dir), "options": ["bind"]}]))
    (mount,) = [s for s in ops(plan, wire.MOUNT) if s.strings[1] == "/data"]
    assert mount.ints[0] == k.MS_BIND and mount.ints[1] == 0
    assert mount.strings[0] == str(host_dir) and mount.pointer == "/mounts/0"
    assert not [s for s in ops(plan, wire.REMOUNT_BIND) if s.strings[1] == "/data"]


def test_rbind_of_a_file_is_recursive_onto_a_file_mount_point(tmp_path, host_dir):
    plan = compiled(config_of(tmp_path, [{"destination": "/f", "source": str(host_dir / "file"),
                                           "options": ["rbind"]}]))
    (mount,) = [s for s in ops(plan, wire.MOUNT) if s.strings[1] == "/f"]
    assert mount.ints[0] == k.MS_BIND | k.MS_REC and mount.ints[1] & wire.MNT_TARGET_FILE


def test_bind_flags_need_a_remount_and_rw_clears_read_only(tmp_path, host_dir):
    plan = compiled(config_of(tmp_path, [
        {"destination": "/ro", "source": str(host_dir), "options": ["bind", "ro", "nosuid"]},
        {"destination": "/rw", "source": str(host_dir), "options": ["bind", "ro", "rw"]}]))
    remounts = {s.strings[1]: s.ints for s in ops(plan, wire.REMOUNT_BIND)}
    assert remounts["/ro"] == (k.MS_RDONLY | k.MS_NOSUID, 0)
    assert remounts["/rw"] == (0, k.MS_RDONLY)  # cleared: the source's read-only is dropped


def test_a_new_user_namespace_gives_binds_a_detached_fallback(tmp_path, host_dir):
    plan = compiled(config_of(tmp_path, [{"destination": "/d", "source": str(host_dir),
                                           "options": ["bind"]}],
                              namespaces=("user", "mount", "pid"),
                              linux={"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                                     "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}))
    (mount,) = [s for s in ops(plan, wire.MOUNT) if s.strings[1] == "/d"]
    assert mount.ints[1] & wire.MNT_TREE_FALLBACK and isinstance(mount.ints[3], FdArg)


def test_tmpfs_gets_flags_data_label_and_no_remount_flag(tmp_path):
    plan = compiled(config_of(tmp_path, [{"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                                           "options": ["nosuid", "remount", "size=1m"]}],
                              linux={"mountLabel": "system_u:object_r:container_file_t:s0"}))
    (mount,) = [s for s in ops(plan, wire.MOUNT) if s.strings[1] == "/t"]
    assert mount.ints[0] == k.MS_NOSUID  # remount is no flag for a new filesystem
    assert mount.strings[2:] == ("tmpfs", 'size=1m,context="system_u:object_r:container_file_t:s0"')
    assert mount.ints[1] & wire.MNT_TMPFS_MODE  # no mode=: the directory's own, as runc


def test_tmpfs_with_mode_and_copy_up(tmp_path):
    plan = compiled(config_of(tmp_path, [{"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                                           "options": ["mode=700", "tmpcopyup"]}]))
    (mount,) = [s for s in ops(plan, wire.MOUNT) if s.strings[1] == "/t"]
    assert mount.ints[1] == wire.MNT_COPY_UP


def test_propagation_and_recursive_attributes_follow_the_mount(tmp_path, host_dir):
    plan = compiled(config_of(tmp_path, [{"destination": "/d", "source": str(host_dir),
                                           "options": ["rbind", "rprivate", "rro", "rnosuid"]}]))
    steps = [s for s in plan.steps if s.strings[1:2] == ("/d",)]
    assert [wire.OP_NAMES[s.op] for s in steps] == ["mount", "propagation", "setattr"]
    assert steps[1].ints == (k.MS_PRIVATE | k.MS_REC,)
    assert steps[2].ints == (k.MOUNT_ATTR_RDONLY | k.MOUNT_ATTR_NOSUID, 0)


def test_idmap_without_mappings_or_a_user_namespace_is_refused_naming_the_mount(tmp_path,
                                                                               host_dir):
    with pytest.raises(OCIError, match=r"/mounts/0: idmap needs uidMappings and gidMappings"):
        compiled(config_of(tmp_path, [{"destination": "/d", "source": str(host_dir),
                                        "options": ["bind", "idmap"]}]))
    with pytest.raises(OCIError, match=r"/mounts/0: idmapped mounts are supported for bind"):
        compiled(config_of(tmp_path, [{"destination": "/d", "type": "tmpfs", "options": ["idmap"],
                                        **_own_ids(5, 5)}]))


def test_an_idmapped_mount_is_the_runtime_s_detached_copy_moved_into_place(tmp_path, host_dir):
    plan = compiled(config_of(tmp_path, [{"destination": "/d", "source": str(host_dir),
                                          "options": ["rbind", "ridmap", "ro"], **_own_ids(7, 8)}]))
    steps = [s for s in plan.steps if s.strings[1:2] == ("/d",)]
    assert [wire.OP_NAMES[s.op] for s in steps] == ["move_mount", "remount_bind"]
    tree, bits = steps[0].ints
    assert isinstance(tree, FdArg) and tree.fd is None  # opened only when launched
    assert tree.label == f"open_tree({host_dir}) idmapped" and bits == 0


def test_devices_in_a_user_namespace_are_bound_from_the_host_or_refused(tmp_path):
    devices = [{"path": "/dev/full", "type": "c", "major": 1, "minor": 7},
               {"path": "/dev/fifo", "type": "p"}]
    plan = compiled(config_of(tmp_path, namespaces=("user", "mount"),
                              linux=dict(_own_ids(), devices=devices)))
    binds = {s.strings[1]: s.strings[0] for s in ops(plan, wire.BIND_DEVICE)}
    assert binds["/dev/full"] == "/dev/full" and binds["/dev/null"] == "/dev/null"
    assert [s.strings[0] for s in ops(plan, wire.MKNOD)] == ["/dev/fifo"]
    devices.append({"path": "/dev/oci-test-absent", "type": "b", "major": 250, "minor": 99})
    with pytest.raises(OCIError, match=r"^config\.json: /linux/devices/2: device "
                                       r"/dev/oci-test-absent \(b 250:99\) cannot be made"):
        compiled(config_of(tmp_path, namespaces=("user", "mount"),
                           linux=dict(_own_ids(), devices=devices)))


@pytest.mark.parametrize("network, fallback", [(True, 0), (False, wire.MNT_SYSFS_FALLBACK)])
def test_sysfs_falls_back_to_the_host_s_only_without_a_network_namespace(tmp_path, network,
                                                                         fallback):
    namespaces = ("pid", "mount") + (("network",) if network else ())
    plan = compiled(config_of(tmp_path, [{"destination": "/sys", "type": "sysfs", "source": "sysfs",
                                           "options": ["ro"]}], namespaces=namespaces))
    (mount,) = [s for s in ops(plan, wire.MOUNT) if s.strings[1] == "/sys"]
    assert mount.ints[1] & wire.MNT_SYSFS_FALLBACK == fallback
    assert mount.ints[2] == (k.MS_RDONLY if fallback else 0)


@pytest.mark.parametrize("cgroupns", [True, False])
def test_cgroup2_waits_for_the_runtime_and_falls_back_only_without_a_cgroup_namespace(tmp_path,
                                                                                    cgroupns):
    namespaces = ("pid", "mount") + (("cgroup",) if cgroupns else ())
    plan = compiled(config_of(tmp_path, [{"destination": "/sys/fs/cgroup", "type": "cgroup",
                                           "source": "cgroup"}], namespaces=namespaces))
    order = names(plan)
    (mount,) = ops(plan, wire.MOUNT)
    assert order.index("wait_go") < plan.steps.index(mount)
    assert mount.strings[2] == "cgroup2"
    assert bool(mount.ints[1] & wire.MNT_CGROUP2_FALLBACK) != cgroupns
    if cgroupns:
        unshares = ops(plan, wire.UNSHARE)
        assert unshares[-1].ints == (k.CLONE_NEWCGROUP,)
        assert plan.steps.index(unshares[-1]) > order.index("wait_go")


def test_v1_cgroup_mounts_without_a_namespace_bind_the_container_s_own_cgroups(tmp_path):
    hierarchies = [("memory", "cgroup", "memory", "/sys/fs/cgroup/memory/x"),
                   ("unified", "cgroup2", None, "/sys/fs/cgroup/unified/x")]
    plan = compiled(config_of(tmp_path, [{"destination": "/sys/fs/cgroup", "type": "cgroup",
                                           "source": "cgroup", "options": ["ro"]}]),
                    host=HostFacts(cgroup_mounts=hierarchies))
    mounts = [(s.strings[0], s.strings[1]) for s in ops(plan, wire.MOUNT)]
    assert mounts == [("tmpfs", "/sys/fs/cgroup"),
                      ("/sys/fs/cgroup/memory/x", "/sys/fs/cgroup/memory"),
                      ("/sys/fs/cgroup/unified/x", "/sys/fs/cgroup/unified")]
    assert [s.strings[1] for s in ops(plan, wire.REMOUNT_BIND)] == [
        "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"]


# -- the host, as facts ----------------------------------------------------------------------

def test_the_compiler_reads_nothing_of_the_host(tmp_path, monkeypatch):
    """Binds, devices in a user namespace, cgroup mounts, LSM labels, capabilities: everything
    the compiler needs of the host comes from HostFacts; any read of the host fails the test."""
    import builtins
    import os

    config = config_of(tmp_path, [
        {"destination": "/d", "source": HOST_DIR, "options": ["rbind", "ro"]},
        {"destination": "/f", "source": f"{HOST_DIR}/file", "options": ["bind"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup"}],
        namespaces=("user", "mount", "pid", "network"), linux=_own_ids(),
        process={"apparmorProfile": "p", "capabilities": {"bounding": ["CAP_KILL"]}})
    host = HostFacts(paths=HOST_PATHS, apparmor_exec_attribute=True, cgroup_mounts=[
        ("memory", "cgroup", "memory", "/sys/fs/cgroup/memory/x")])

    def no_host(*args, **kwargs):
        raise AssertionError(f"the compiler read the host: {args}")

    for module, name in ((builtins, "open"), (os, "open"), (os, "stat"), (os, "lstat"),
                         (os.path, "exists"), (os, "listdir"), (os, "geteuid"),
                         (os, "getegid")):
        monkeypatch.setattr(module, name, no_host)
    plan = compiled(config, host=host)
    monkeypatch.undo()
    assert ("thread-self/attr/apparmor/exec", "exec p") in [s.strings for s in
                                                             ops(plan, wire.WRITE_PROC)]
    assert {s.strings[1] for s in ops(plan, wire.BIND_DEVICE)} >= {"/dev/null", "/dev/tty"}


def test_the_rootfs_parent_mount_is_the_longest_mount_point_holding_it(tmp_path):
    config = config_of(tmp_path)
    config.root_path = "/srv/bundles/b/rootfs"
    host = HostFacts(mount_points=("/", "/srv", "/srv/bundles", "/srv/bundles2"))
    (prepare,) = ops(compiled(config, host=host), wire.PREPARE_ROOT)
    assert prepare.strings == ("/srv/bundles/b/rootfs", "/srv/bundles")


def test_a_bind_source_is_what_the_host_says_it_is(tmp_path):
    mounts = [{"destination": "/x", "source": "/srv/x", "options": ["bind"]}]
    plan = compiled(config_of(tmp_path, mounts), host=HostFacts(paths={"/srv/x": FILE}))
    (mount,) = [s for s in ops(plan, wire.MOUNT) if s.strings[1] == "/x"]
    assert mount.ints[1] & wire.MNT_TARGET_FILE
    plan = compiled(config_of(tmp_path, mounts), host=HostFacts(paths={"/srv/x": DIRECTORY}))
    (mount,) = [s for s in ops(plan, wire.MOUNT) if s.strings[1] == "/x"]
    assert not mount.ints[1] & wire.MNT_TARGET_FILE
    # Not there when the plan is made (it may lie under an earlier mount's destination): the
    # executor looks at it when it mounts, as runc resolves each source in its turn.
    plan = compiled(config_of(tmp_path, mounts), host=HostFacts())
    (mount,) = [s for s in ops(plan, wire.MOUNT) if s.strings[1] == "/x"]
    assert mount.ints[1] == wire.MNT_SOURCE_AT_MOUNT


def test_proc_and_sysfs_must_go_on_an_ordinary_directory(tmp_path):
    plan = compiled(config_of(tmp_path, [{"destination": "/proc", "type": "proc", "source": "proc"},
                                         {"destination": "/sys", "type": "sysfs",
                                          "source": "sysfs"},
                                         {"destination": "/tmp", "type": "tmpfs",
                                          "source": "tmpfs"}]))
    bits = {s.strings[1]: s.ints[1] for s in ops(plan, wire.MOUNT)}
    assert bits["/proc"] & wire.MNT_ORDINARY_DIR and bits["/sys"] & wire.MNT_ORDINARY_DIR
    assert not bits["/tmp"] & wire.MNT_ORDINARY_DIR


def test_a_device_is_bound_from_udev_s_link_when_only_that_is_there(tmp_path):
    devices = [{"path": "/dev/sdz", "type": "b", "major": 8, "minor": 400}]
    import os

    paths = dict(HOST_PATHS)
    paths["/dev/block/8:400"] = PathFact(stat.S_IFBLK | 0o660, os.makedev(8, 400))
    paths["/dev/sdz"] = PathFact(stat.S_IFBLK | 0o660, os.makedev(8, 401))  # another disk
    plan = compiled(config_of(tmp_path, namespaces=("user", "mount"),
                              linux=dict(_own_ids(), devices=devices)),
                    host=HostFacts(paths=paths))
    binds = {s.strings[1]: s.strings[0] for s in ops(plan, wire.BIND_DEVICE)}
    assert binds["/dev/sdz"] == "/dev/block/8:400"


def test_the_bounding_set_is_dropped_up_to_the_kernel_s_last_capability(tmp_path):
    (drop,) = ops(compiled(config_of(tmp_path), host=HostFacts(last_capability=37)),
                  wire.DROP_BOUNDING)
    assert drop.ints[1] == 37


# -- order ------------------------------------------------------------------------------------

def test_namespaces_user_first_then_the_runtime_writes_id_maps(tmp_path):
    plan = compiled(config_of(tmp_path, namespaces=("user", "mount", "pid", "network"),
                              linux={"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                                     "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}))
    # Dumpable until the id maps are written: an unprivileged runtime could not open them.
    assert names(plan)[:6] == ["unshare", "sync_setup", "nondumpable", "become_root", "unshare",
                               "fork"]
    assert plan.steps[0].ints == (k.CLONE_NEWUSER,)
    assert plan.steps[4].ints == (k.CLONE_NEWNS | k.CLONE_NEWPID | k.CLONE_NEWNET,)


def test_without_a_new_user_namespace_non_dumpable_comes_first(tmp_path):
    assert names(compiled(config_of(tmp_path)))[0] == "nondumpable"


def _own_ids(uid=1000, gid=1000):
    return {"uidMappings": [{"containerID": 0, "hostID": uid, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": gid, "size": 1}]}


def test_an_unprivileged_own_id_map_denies_setgroups_and_the_executor_skips_it(tmp_path):
    unprivileged = HostFacts(effective_capabilities=0, euid=1000, egid=1000, paths=HOST_PATHS)
    plan = compiled(config_of(tmp_path, namespaces=("user", "mount"), linux=_own_ids()),
                    host=unprivileged)
    (set_ids,) = ops(plan, wire.SET_IDS)
    assert set_ids.ints == (0, 0, 0, 1)
    with pytest.raises(OCIError, match="/process/user/additionalGids: setgroups is denied"):
        compiled(config_of(tmp_path, namespaces=("user", "mount"), linux=_own_ids(),
                           process={"user": {"uid": 0, "gid": 0, "additionalGids": [0]}}),
                 host=unprivileged)
    plan = compiled(config_of(tmp_path, namespaces=("user", "mount"), linux=_own_ids()))
    assert ops(plan, wire.SET_IDS)[0].ints == (0, 0, 0, 0)  # root: the gid map is written


def test_joined_namespaces_are_fds_the_runtime_opens_user_first(tmp_path):
    plan = compiled(config_of(tmp_path, namespaces=("mount",),
                              linux={"namespaces": [{"type": "network", "path": "/run/netns/x"},
                                                    {"type": "user", "path": "/proc/1/ns/user"},
                                                    {"type": "mount"}]}))
    joins = ops(plan, wire.SETNS)
    assert [s.ints[0].label for s in joins] == ["/proc/1/ns/user (user)", "/run/netns/x (network)"]
    error = joins[1].error(22, "")
    assert str(error) == ("config.json: /linux/namespaces (network): /run/netns/x is not a network "
                          "namespace")


def test_everything_that_writes_into_the_root_happens_before_pivot_root(tmp_path):
    plan = compiled(config_of(tmp_path, [{"destination": "/proc", "type": "proc", "source": "proc"}],
                              linux={"sysctl": {"net.ipv4.ip_forward": "1"},
                                     "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]},
                              hostname="h", root={"path": str(tmp_path / "rootfs"), "readonly": True}))
    order = names(plan)
    pivot = order.index("pivot_root")
    for name in ("mount", "mknod", "symlink", "mkdir_p", "write_proc", "readonly_path",
                 "mask_path", "root_readonly", "find_exec", "set_home"):
        assert order.index(name) < pivot, name
    sysctl = next(index for index, step in enumerate(plan.steps)
                  if step.pointer == "/linux/sysctl/net.ipv4.ip_forward")
    assert sysctl < order.index("readonly_path") < order.index("mask_path")
    assert order.index("sethostname") > pivot
    assert order.index("report_created") < order.index("wait_start") < order.index("exec")


@pytest.mark.parametrize("nnp", [True, False])
def test_after_the_seccomp_filter_only_the_privilege_drop_and_execve(tmp_path, nnp):
    class Filter:
        bpf = b"\x06\x00\x00\x00\x00\x00\xff\x7f"  # RET ALLOW
        flags = 0
        uses_notify = False
        instruction_count = 1

    plan = compiled(config_of(tmp_path, process={"noNewPrivileges": nnp,
                                                 "user": {"uid": 1000, "gid": 1000}}),
                    seccomp_program=Filter())
    order = names(plan)
    after = order[order.index("seccomp") + 1:]
    assert set(after) <= {"set_caps", "ambient", "exec"}
    assert order.index("fd_sweep") < order.index("seccomp")
    assert order.index("release") < order.index("seccomp")
    if nnp:
        assert after == ["exec"] and order.index("no_new_privs") < order.index("seccomp")
    else:
        # Loading the filter needs CAP_SYS_ADMIN: kept in effect until the filter is in.
        before, final = [s for s in ops(plan, wire.SET_CAPS)]
        assert before.ints[0] & (1 << 21) and not final.ints[0] & (1 << 21)


def test_home_is_looked_up_only_when_the_environment_has_none(tmp_path):
    assert ops(compiled(config_of(tmp_path)), wire.SET_HOME)
    with_home = config_of(tmp_path, process={"env": ["HOME=/x", "PATH=/bin"]})
    assert not ops(compiled(with_home), wire.SET_HOME)


def test_no_mount_namespace_chroots_instead_of_pivoting(tmp_path):
    order = names(compiled(config_of(tmp_path, namespaces=("pid",))))
    assert "chroot" in order and "pivot_root" not in order
    (prepare,) = [s for s in compiled(config_of(tmp_path, namespaces=("pid",))).steps
                  if s.op == wire.PREPARE_ROOT]
    assert prepare.ints == (0, 1)  # the host's propagation is left alone


# -- messages ---------------------------------------------------------------------------------

def test_executable_lookup_failures_read_as_runc_s(tmp_path):
    (step,) = ops(compiled(config_of(tmp_path, process={"args": ["nope"]})), wire.FIND_EXEC)
    assert str(step.error(2, "notfound")) == "exec: 'nope': executable file not found in $PATH"
    assert str(step.error(13, "/bin/nope")) == "exec: 'nope': permission denied"
    assert str(step.error(2, "/x/nope")) == "exec: 'nope': stat /x/nope: no such file or directory"


def test_a_hook_failure_names_the_hook(tmp_path):
    hooks = {"createContainer": [{"path": "/bin/false", "timeout": 3}]}
    (step,) = ops(compiled(config_of(tmp_path, hooks=hooks)), wire.RUN_HOOK)
    assert str(step.error(0, "status 1\nbad")) == \
        "hooks.createContainer[0] (/bin/false) failed: exit status 1: bad"
    assert str(step.error(0, "timeout 3\n")) == \
        "hooks.createContainer[0] (/bin/false) timed out after 3 s"


def test_rlimit_failure_says_when_the_host_lacks_cap_sys_resource(tmp_path):
    process = {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 99999999}]}
    (step,) = ops(compiled(config_of(tmp_path, process=process)), wire.RLIMIT)
    message = str(step.error(1, "1048576"))
    assert message.startswith("config.json: /process/rlimits/0: setting RLIMIT_NOFILE")
    assert "CAP_SYS_RESOURCE" in message


# -- the wire format ----------------------------------------------------------------------------

def test_encoded_plan_has_the_header_fixed_steps_and_nul_terminated_strings(tmp_path):
    plan = compiled(config_of(tmp_path))
    targets = {fd_arg: 100 + n for n, fd_arg in enumerate(plan.fd_args())}
    for step in plan.steps:
        step.targets = targets
    data = wire.encode(plan.steps)
    magic, version, count, flags = struct.unpack_from("<8sIII", data)
    assert (magic, version, count, flags) == (b"OCIPLAN2", wire.FORMAT, len(plan.steps), 0)
    step_size = 4 + 8 * 8 + 5 * 8
    blob = data[20 + count * step_size:]
    for index in range(count):
        fields = struct.unpack_from("<I8q10I", data, 20 + index * step_size)
        assert fields[0] == plan.steps[index].op.number
        for offset, length in zip(fields[9::2], fields[10::2]):
            assert blob[offset + length] == 0
    wait = ops(plan, wire.WAIT_START)[0]
    fields = struct.unpack_from("<I8q", data, 20 + plan.steps.index(wait) * step_size)
    assert fields[1] == 100  # the listener's fd number at launch


def test_exec_cap_is_never_inheritable():
    from oci_runtime.container.exec_request import process_from_options

    sets = {key: [] for key in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    process = process_from_options({"args": ["x"], "capabilities": sets}, args=["sh"],
                                   capabilities=["CAP_NET_RAW"])
    assert process["capabilities"]["inheritable"] == []
    for key in ("bounding", "effective", "permitted", "ambient"):
        assert process["capabilities"][key] == ["CAP_NET_RAW"]


def test_the_init_enters_its_cgroup_first_and_a_non_leaf_v2_cgroup_reads_as_the_rule(tmp_path):
    """Born in the cgroup v2 directory (FORK's fd), then "0" to each v1 tasks file, before
    anything else of the init; cgroup v2's EBUSY at that fork names the rule and the
    directory."""
    directory = FdArg("/sys/fs/cgroup/unified/c")
    tasks = (FdArg("/sys/fs/cgroup/cpu/c/tasks"), FdArg("/sys/fs/cgroup/memory/c/tasks"))
    plan = compiled(config_of(tmp_path), cgroup_directory=directory, cgroup_files=tasks)
    fork = names(plan).index("fork")
    assert names(plan)[fork:fork + 4] == ["fork", "join_cgroup", "join_cgroup", "setsid"]
    assert plan.steps[fork].ints == (directory,)
    assert [step.ints for step in ops(plan, wire.JOIN_CGROUP)] == [(tasks[0],), (tasks[1],)]
    message = str(plan.steps[fork].error(16, ""))
    assert "into its cgroup /sys/fs/cgroup/unified/c: Device or resource busy" in message
    assert "/sys/fs/cgroup/unified/c must be a leaf" in message
    plain = compiled(config_of(tmp_path))
    assert ops(plain, wire.JOIN_CGROUP) == [] and ops(plain, wire.FORK)[0].ints == (-1,)
