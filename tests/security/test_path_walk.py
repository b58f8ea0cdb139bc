"""The executor's userspace walk (cext/walk.c), which open_in_root falls back to when
openat2(RESOLVE_IN_ROOT) keeps failing with EAGAIN (a busy host renaming things), gives what
openat2 gives: the same file, or the same errno, for every path and flag combination of a tree
made to trip it (symlink loops and chains, absolute and escaping targets, trailing slashes, names
too long, a procfs with its magic links, a bind mount from outside the root).

A small C driver opens each path both ways under one root and prints where they differ.  It runs
in a mount namespace of its own (unshare -m), where the tree's proc and bind mounts live and die."""
import os
import pathlib
import shutil
import subprocess

import pytest

from tests.executor_c import format_header_directory

REPO = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")

DRIVER = r"""
#include "executor.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static long in_root(int root, const char *path, int flags)
{
    struct { uint64_t flags, mode, resolve; } how = {(uint64_t)flags | O_CLOEXEC, 0, 0x10 | 0x02};
    long fd;
    do
        fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
    while (fd < 0 && errno == EAGAIN);
    return fd;
}

static void describe(long fd, int err, char *out, size_t size)
{
    struct stat st;
    if (fd < 0) {
        snprintf(out, size, "errno %d", err);
        return;
    }
    fstat((int)fd, &st);
    snprintf(out, size, "inode %lu:%lu mode %o access %o", (unsigned long)st.st_dev,
             (unsigned long)st.st_ino, st.st_mode, fcntl((int)fd, F_GETFL) & (O_ACCMODE | O_PATH));
    close((int)fd);
}

int main(int argc, char **argv)
{
    int root = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0 || argc < 3)
        return 2;
    int flags = 0;
    char line[16384];
    int differences = 0, compared = 0;
    FILE *list = fopen(argv[2], "r");
    int first_free = open("/", O_PATH | O_CLOEXEC);
    close(first_free);
    while (fgets(line, sizeof(line), list)) {
        line[strcspn(line, "\n")] = 0;
        char *path = strchr(line, ' ');
        if (!path)
            continue;
        *path++ = 0;
        flags = (int)strtol(line, NULL, 0);
        char expected[128], walked[128];
        const char *relative = path; /* as open_in_root passes it: no leading "/", "" is "." */
        while (*relative == '/')
            relative++;
        long kernel = in_root(root, *relative ? relative : ".", flags);
        describe(kernel, errno, expected, sizeof(expected));
        int fd = walk_in_root(root, path, flags);
        describe(fd, errno, walked, sizeof(walked));
        compared++;
        if (strcmp(expected, walked) != 0) {
            printf("%s flags %#x: openat2 %s, walk %s\n", path, flags, expected, walked);
            differences++;
        }
    }
    /* No fd left behind by the walk: the lowest free number is the one before. */
    int probe = open("/", O_PATH | O_CLOEXEC);
    printf("compared %d, differences %d, fds leaked %d\n", compared, differences,
           probe - first_free);
    return 0;
}
"""


def build_tree(root, outside):
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "a" / "b" / "file").write_text("x")
    (root / "file").write_text("y")
    (root / "proc").mkdir()
    (root / "mnt").mkdir()
    (outside / "secret").write_text("host")
    (outside / "inner").mkdir()
    links = {
        "abs": "/a/b", "rel": "a/b", "up": "../../../../a", "root": "/", "dotdot": "..",
        "escape": "../../../../../../../..", "escape_file": "../" * 30 + "file",
        "dangling": "/nonexistent/x", "loop1": "loop2", "loop2": "loop1", "self": "self",
        "to_file": "file", "to_file_slash": "file/", "a/b/back": "../../a/b/c/../..",
        "a/b/abs_up": "/../../a", "through_proc": "/proc/self/cwd", "to_mnt": "mnt/../a",
        "many_dotdots": "../" * 200 + "a/b", "long_target": "a/" + "./" * 2000 + "b",
        "into_outside": "mnt/inner/../../a", "slashes": "//a///b//",
    }
    for name, target in links.items():
        os.symlink(target, root / name)
    for k in range(45):  # a chain: chain0 -> chain1 -> ... -> chain45 (a directory)
        os.symlink(f"chain{k + 1}", root / f"chain{k}")
    (root / "chain45").mkdir()


PATHS = [
    "", "/", ".", "..", "a", "a/", "a/b/c", "a/b/c/", "a/b/file", "a/b/file/", "a/./b//c",
    "a/../..", "a/../../a/b", "/../../../a", "file", "file/", "file/.", "abs", "abs/", "abs/c",
    "rel/c/..", "up/b", "root", "root/a", "dotdot/a", "escape", "escape/a/b", "escape_file",
    "dangling", "dangling/", "loop1", "loop1/", "self", "to_file", "to_file/", "to_file_slash",
    "a/b/back", "a/b/back/b", "a/b/abs_up/b", "proc/self", "proc/self/", "proc/self/status",
    "proc/thread-self", "proc/mounts", "proc/self/exe", "proc/self/cwd", "proc/self/cwd/",
    "proc/self/fd/0", "proc/self/root/a", "through_proc", "through_proc/a", "proc/net",
    "mnt", "mnt/secret", "mnt/..", "mnt/../a", "mnt/inner/../..", "to_mnt/b", "into_outside",
    "many_dotdots", "many_dotdots/c", "long_target", "slashes", "slashes/c",
    "chain0", "chain5", "chain6", "chain6/", "x" * 255, "x" * 256, "a/" + "y" * 256 + "/b",
    "nonexistent", "nonexistent/", "a/nonexistent/b",
]
FLAGS = [os.O_PATH, os.O_PATH | os.O_NOFOLLOW, os.O_PATH | os.O_DIRECTORY, os.O_RDONLY,
         os.O_RDONLY | os.O_DIRECTORY, os.O_RDONLY | os.O_NOFOLLOW, os.O_PATH | os.O_NOFOLLOW |
         os.O_DIRECTORY]


def test_the_userspace_walk_opens_what_openat2_opens(tmp_path):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed (apt-get install gcc libc6-dev)")
    driver_source = tmp_path / "walk_driver.c"
    driver_source.write_text(DRIVER)
    driver = tmp_path / "walk_driver"
    generated = format_header_directory(tmp_path)
    subprocess.run([gcc, "-O1", "-Wall", "-Werror", "-I", str(generated), "-I", str(REPO / "cext"),
                    "-o", str(driver), str(driver_source), str(REPO / "cext" / "walk.c")],
                   check=True)
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    build_tree(root, outside)
    cases = tmp_path / "cases"
    cases.write_text("".join(f"{flags:#x} {path}\n" for path in PATHS for flags in FLAGS))
    script = (f"mount -t proc proc {root}/proc && mount --bind {outside} {root}/mnt && "
              f"exec {driver} {root} {cases}")
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last == f"compared {len(PATHS) * len(FLAGS)}, differences 0, fds leaked 0", result.stdout
