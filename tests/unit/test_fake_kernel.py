"""The recording fake kernel itself: what the mount tests rely on it to model."""
import errno
import os

import pytest

from oci_runtime import kernel as k


def test_calls_are_recorded_with_magic_links_resolved(fake_kernel, tmp_path):
    fd = os.open(tmp_path, os.O_PATH | os.O_CLOEXEC)
    try:
        k.mount("src", f"/proc/self/fd/{fd}", "tmpfs", k.MS_NOSUID, "size=1k")
        k.sethostname("box")
        k.setns(fd, k.CLONE_NEWNET)
    finally:
        os.close(fd)
    assert [(c.name, c.args) for c in fake_kernel.calls] == [
        ("mount", ("src", str(tmp_path), "tmpfs", k.MS_NOSUID, "size=1k")),
        ("sethostname", ("box",)),
        ("setns", (str(tmp_path), k.CLONE_NEWNET)),
    ]


def test_injected_errors_match_a_predicate_and_can_be_limited(fake_kernel, tmp_path):
    fake_kernel.fail("mount", errno.EBUSY, when=lambda call: call.args[2] == "proc", times=1)
    with pytest.raises(OSError) as first:
        k.mount("proc", str(tmp_path), "proc")
    assert (first.value.errno, first.value.filename) == (errno.EBUSY, str(tmp_path))
    k.mount("proc", str(tmp_path), "proc")  # the one failure is spent
    k.mount("tmpfs", str(tmp_path), "tmpfs")  # never matched
    assert len(fake_kernel.called("mount")) == 3


def test_statvfs_shows_the_flags_of_fake_mounts_and_locked_flags_stay(fake_kernel, tmp_path):
    source, target = tmp_path / "source", tmp_path / "target"
    source.mkdir()
    target.mkdir()
    real_flags = os.statvfs(tmp_path).f_flag
    fake_kernel.add_mount(str(source), k.MS_NOSUID | k.MS_NODEV, locked=True)
    k.mount(str(source), str(target), None, k.MS_BIND)
    assert os.statvfs(target).f_flag == os.ST_NOSUID | os.ST_NODEV  # inherited by the bind
    assert os.statvfs(tmp_path).f_flag == real_flags  # elsewhere: the real filesystem
    with pytest.raises(OSError) as dropped:
        k.mount(None, str(target), None, k.MS_BIND | k.MS_REMOUNT | k.MS_RDONLY)
    assert dropped.value.errno == errno.EPERM
    k.mount(None, str(target), None,
            k.MS_BIND | k.MS_REMOUNT | k.MS_RDONLY | k.MS_NOSUID | k.MS_NODEV)
    assert os.statvfs(target).f_flag == os.ST_RDONLY | os.ST_NOSUID | os.ST_NODEV


def test_path_resolution_stays_real(fake_kernel, tmp_path):
    from oci_runtime.rootfs.paths import open_in_root

    (tmp_path / "etc").mkdir()
    os.symlink("/../../../etc", tmp_path / "link")
    root_fd = os.open(tmp_path, os.O_PATH | os.O_CLOEXEC)
    try:
        fd = open_in_root(root_fd, "/link")
        try:
            assert os.readlink(f"/proc/self/fd/{fd}") == str(tmp_path / "etc")
        finally:
            os.close(fd)
    finally:
        os.close(root_fd)
    assert fake_kernel.calls == []  # openat2 is not a call the fake records
