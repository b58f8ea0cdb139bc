"""tmpcopyup copies a tree of any depth (the executor walks it with a queue, not recursion: a
deep tree cost 64 KiB of stack a level and stopped at 128), and one too deep for a path to name
fails with a message naming the mount and the path, not a crash."""
import os

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")


def deep_tree(top, depth):
    """top/d/d/.../d (depth levels) with a file at the bottom; made through fds, so a depth
    past PATH_MAX works."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        bottom = os.open("bottom", os.O_WRONLY | os.O_CREAT, 0o640, dir_fd=fd)
        os.write(bottom, b"found\n")
        os.close(bottom)
    finally:
        os.close(fd)


def remove_deep_tree(top, depth):
    """The tree deep_tree made, removed bottom up without recursion (rmtree's would overflow)."""
    fds = [os.open(top, os.O_RDONLY | os.O_DIRECTORY)]
    for _ in range(depth):
        fds.append(os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
    os.unlink("bottom", dir_fd=fds[-1])
    while len(fds) > 1:
        os.close(fds.pop())
        os.rmdir("d", dir_fd=fds[-1])
    os.close(fds[0])


def with_copy_up(config):
    config["mounts"].append({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                             "options": ["tmpcopyup"]})


def test_a_tree_300_levels_deep_is_copied_up(oci, make_bundle):
    depth = 300
    bundle, cid = make_bundle(["cat", "/data/" + "d/" * depth + "bottom"], with_copy_up)
    (bundle / "rootfs" / "data").mkdir()
    deep_tree(bundle / "rootfs" / "data", depth)
    try:
        result = oci("run", "--bundle", str(bundle), cid)
    finally:
        remove_deep_tree(bundle / "rootfs" / "data", depth)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "found\n"


def test_a_tree_deeper_than_a_path_can_name_fails_naming_it(oci, make_bundle):
    depth = 2100  # "d/" x 2100: 4200 bytes, past PATH_MAX
    bundle, cid = make_bundle(["true"], with_copy_up)
    (bundle / "rootfs" / "data").mkdir()
    deep_tree(bundle / "rootfs" / "data", depth)
    try:
        result = oci("run", "--bundle", str(bundle), cid)
    finally:
        remove_deep_tree(bundle / "rootfs" / "data", depth)
    assert result.returncode == 1
    assert "tmpcopyup of /data: d/d/d/" in result.stderr, result.stderr[:500]
    assert "name too long" in result.stderr.lower(), result.stderr[:500]
    assert result.stderr.count("\n") == 1
