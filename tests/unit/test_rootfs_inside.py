"""rootfs/inside.py: container paths resolved in a rootfs from the runtime's side (CRIU's
restore and `check` use it)."""
import os

import pytest

from oci_runtime.errors import OCIError
from oci_runtime.rootfs.inside import resolve_in_root


def test_symlinks_resolve_inside_the_root(tmp_path):
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    os.symlink("/usr/bin", tmp_path / "bin")          # absolute: from the root, not the host's /
    os.symlink("../../../../etc", tmp_path / "usr" / "up")  # '..' stops at the root
    root = str(tmp_path)
    assert resolve_in_root(root, "/bin/sh") == "/usr/bin/sh"
    assert resolve_in_root(root, "/usr/up/passwd") == "/etc/passwd"
    assert resolve_in_root(root, "/missing/./x/../y") == "/missing/y"


def test_nothing_is_resolved_below_a_mount_destination(tmp_path):
    (tmp_path / "mnt").mkdir()
    os.symlink("/elsewhere", tmp_path / "mnt" / "link")  # hidden by the mount at run time
    os.symlink("/mnt", tmp_path / "m")
    root = str(tmp_path)
    assert resolve_in_root(root, "/mnt/link/x") == "/elsewhere/x"
    assert resolve_in_root(root, "/mnt/link/x", stop_under=["/mnt"]) == "/mnt/link/x"
    assert resolve_in_root(root, "/m/link", stop_under=["/mnt"]) == "/mnt/link"


def test_a_symlink_loop_is_refused(tmp_path):
    os.symlink("/b", tmp_path / "a")
    os.symlink("/a", tmp_path / "b")
    with pytest.raises(OCIError, match="too many levels of symbolic links"):
        resolve_in_root(str(tmp_path), "/a/x")
