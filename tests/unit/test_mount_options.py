"""oci_runtime.rootfs.mount_options: config.md mount option strings -> what mount(2) and
mount_setattr(2) take.  Pure logic: no root, no mounts."""
import pytest


from oci_runtime.kernel import syscalls as k
from oci_runtime.errors import OCIError
from oci_runtime.rootfs.mount_options import plan_mount_options, propagation_flags


def test_no_options_is_an_empty_plan():
    for options in (None, []):
        plan = plan_mount_options(options)
        assert (plan.flags, plan.cleared, plan.propagation) == (0, 0, [])
        assert (plan.attr_set, plan.attr_clr) == (0, 0)
        assert not (plan.idmap or plan.recursive_idmap or plan.copy_up or plan.is_bind)
        assert plan.data_string is None


@pytest.mark.parametrize("option, flag", [
    ("ro", k.MS_RDONLY), ("nosuid", k.MS_NOSUID), ("nodev", k.MS_NODEV),
    ("noexec", k.MS_NOEXEC), ("sync", k.MS_SYNCHRONOUS), ("dirsync", k.MS_DIRSYNC),
    ("noatime", k.MS_NOATIME), ("nodiratime", k.MS_NODIRATIME), ("relatime", k.MS_RELATIME),
    ("strictatime", k.MS_STRICTATIME), ("lazytime", k.MS_LAZYTIME), ("mand", k.MS_MANDLOCK),
    ("nosymfollow", k.MS_NOSYMFOLLOW), ("silent", k.MS_SILENT), ("remount", k.MS_REMOUNT),
    ("bind", k.MS_BIND), ("rbind", k.MS_BIND | k.MS_REC), ("iversion", 1 << 23),
])
def test_each_setting_option_sets_its_flag(option, flag):
    plan = plan_mount_options([option])
    assert plan.flags == flag
    assert plan.cleared == 0


@pytest.mark.parametrize("setting, clearing, flag", [
    ("ro", "rw", k.MS_RDONLY), ("nosuid", "suid", k.MS_NOSUID), ("nodev", "dev", k.MS_NODEV),
    ("noexec", "exec", k.MS_NOEXEC), ("sync", "async", k.MS_SYNCHRONOUS),
    ("noatime", "atime", k.MS_NOATIME), ("nodiratime", "diratime", k.MS_NODIRATIME),
    ("relatime", "norelatime", k.MS_RELATIME), ("strictatime", "nostrictatime", k.MS_STRICTATIME),
    ("lazytime", "nolazytime", k.MS_LAZYTIME), ("mand", "nomand", k.MS_MANDLOCK),
    ("nosymfollow", "symfollow", k.MS_NOSYMFOLLOW), ("silent", "loud", k.MS_SILENT),
    ("iversion", "noiversion", 1 << 23),
])
def test_the_later_of_two_opposite_options_wins(setting, clearing, flag):
    # mount(8) semantics: "ro,rw" is read-write and records rw as explicitly asked for (a bind
    # remount must then drop the flag even if the source mount has it).
    cleared = plan_mount_options([setting, clearing])
    assert cleared.flags & flag == 0
    assert cleared.cleared & flag == flag
    # ...and the other way round the flag is set and no longer counted as cleared.
    set_again = plan_mount_options([clearing, setting])
    assert set_again.flags & flag == flag
    assert set_again.cleared & flag == 0


def test_flags_accumulate_and_defaults_changes_nothing():
    plan = plan_mount_options(["nosuid", "defaults", "nodev", "noexec", "ro"])
    assert plan.flags == k.MS_NOSUID | k.MS_NODEV | k.MS_NOEXEC | k.MS_RDONLY


def test_bind_properties():
    assert plan_mount_options(["bind"]).is_bind
    assert not plan_mount_options(["bind"]).is_recursive_bind
    assert plan_mount_options(["rbind"]).is_recursive_bind
    assert not plan_mount_options(["ro"]).is_bind


@pytest.mark.parametrize("option, flags", [
    ("private", k.MS_PRIVATE), ("rprivate", k.MS_PRIVATE | k.MS_REC),
    ("shared", k.MS_SHARED), ("rshared", k.MS_SHARED | k.MS_REC),
    ("slave", k.MS_SLAVE), ("rslave", k.MS_SLAVE | k.MS_REC),
    ("unbindable", k.MS_UNBINDABLE), ("runbindable", k.MS_UNBINDABLE | k.MS_REC),
])
def test_propagation_options_are_kept_apart_from_the_flags(option, flags):
    plan = plan_mount_options(["bind", option])
    assert plan.propagation == [flags]
    assert plan.flags == k.MS_BIND  # propagation needs its own mount(2) call


def test_propagation_changes_keep_their_order():
    plan = plan_mount_options(["rprivate", "shared", "rslave"])
    assert plan.propagation == [k.MS_PRIVATE | k.MS_REC, k.MS_SHARED, k.MS_SLAVE | k.MS_REC]


@pytest.mark.parametrize("option, attr_set, attr_clr", [
    ("rro", k.MOUNT_ATTR_RDONLY, 0), ("rrw", 0, k.MOUNT_ATTR_RDONLY),
    ("rnosuid", k.MOUNT_ATTR_NOSUID, 0), ("rsuid", 0, k.MOUNT_ATTR_NOSUID),
    ("rnodev", k.MOUNT_ATTR_NODEV, 0), ("rdev", 0, k.MOUNT_ATTR_NODEV),
    ("rnoexec", k.MOUNT_ATTR_NOEXEC, 0), ("rexec", 0, k.MOUNT_ATTR_NOEXEC),
    ("rnodiratime", k.MOUNT_ATTR_NODIRATIME, 0), ("rdiratime", 0, k.MOUNT_ATTR_NODIRATIME),
    ("rnosymfollow", k.MOUNT_ATTR_NOSYMFOLLOW, 0), ("rsymfollow", 0, k.MOUNT_ATTR_NOSYMFOLLOW),
])
def test_recursive_options_become_mount_setattr_attributes(option, attr_set, attr_clr):
    plan = plan_mount_options([option])
    assert (plan.attr_set, plan.attr_clr) == (attr_set, attr_clr)
    assert plan.flags == 0  # never mount(2) flags: those would not apply to submounts


def test_a_later_recursive_option_overrides_an_earlier_one():
    plan = plan_mount_options(["rro", "rnosuid", "rrw"])
    assert plan.attr_set == k.MOUNT_ATTR_NOSUID
    assert plan.attr_clr == k.MOUNT_ATTR_RDONLY
    plan = plan_mount_options(["rrw", "rro"])
    assert plan.attr_set == k.MOUNT_ATTR_RDONLY
    assert plan.attr_clr == 0


@pytest.mark.parametrize("option, value", [
    ("rrelatime", k.MOUNT_ATTR_RELATIME), ("ratime", k.MOUNT_ATTR_RELATIME),
    ("rnoatime", k.MOUNT_ATTR_NOATIME), ("rstrictatime", k.MOUNT_ATTR_STRICTATIME),
    ("rnorelatime", k.MOUNT_ATTR_STRICTATIME), ("rnostrictatime", k.MOUNT_ATTR_RELATIME),
])
def test_recursive_atime_options_set_a_value_in_the_cleared_atime_field(option, value):
    # The kernel takes the atime mode as a field: MOUNT_ATTR__ATIME must be in attr_clr for a
    # value in attr_set to be accepted (EINVAL otherwise).
    plan = plan_mount_options([option])
    assert plan.attr_clr & k.MOUNT_ATTR__ATIME == k.MOUNT_ATTR__ATIME
    assert plan.attr_set & k.MOUNT_ATTR__ATIME == value


def test_the_last_recursive_atime_option_wins_and_keeps_other_attributes():
    plan = plan_mount_options(["rro", "rnoatime", "rstrictatime"])
    assert plan.attr_set == k.MOUNT_ATTR_RDONLY | k.MOUNT_ATTR_STRICTATIME


def test_unknown_options_become_the_data_string_in_order():
    plan = plan_mount_options(["nosuid", "mode=755", "size=65536k", "noexec", "uid=5"])
    assert plan.data == ["mode=755", "size=65536k", "uid=5"]
    assert plan.data_string == "mode=755,size=65536k,uid=5"
    assert plan.flags == k.MS_NOSUID | k.MS_NOEXEC


def test_tmpcopyup_and_idmap_are_requests_not_data():
    plan = plan_mount_options(["tmpcopyup", "idmap", "mode=700"])
    assert plan.copy_up and plan.idmap and not plan.recursive_idmap
    assert plan.data == ["mode=700"]
    recursive = plan_mount_options(["ridmap"])
    assert recursive.idmap and recursive.recursive_idmap
    assert recursive.data_string is None


def test_propagation_flags_of_rootfs_propagation():
    assert propagation_flags("rslave", "/linux/rootfsPropagation") == k.MS_SLAVE | k.MS_REC
    with pytest.raises(OCIError) as refused:
        propagation_flags("sideways", "/linux/rootfsPropagation")
    message = str(refused.value)
    assert message.startswith("config.json: /linux/rootfsPropagation: unknown propagation 'sideways'")
    assert "rprivate" in message and "shared" in message
