"""Nothing of the caller's reaches the container (CVE-2024-21626's class): a created
container's waiting init holds stdio, the runtime's own sockets and the fds --preserve-fds
names, never another fd its caller passed on without close-on-exec."""
import os
import subprocess
import sys
import tempfile

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")

# Puts its argument fds at 3, 4, 6 and 251 of the runtime (sh cannot redirect above 9, and
# subprocess closes what pass_fds does not name), then execs the runtime.
TRAMPOLINE = ("import fcntl, os, sys\n"
              "sources = [int(fd) for fd in sys.argv[1].split(',')]\n"
              "moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 300) for fd in sources]\n"
              "for fd in sources:\n"
              "    os.close(fd)\n"
              "for fd, target in zip(moved, (3, 4, 6, 251)):\n"
              "    os.dup2(fd, target)\n"
              "    os.close(fd)\n"
              "os.execvp(sys.argv[2], sys.argv[2:])\n")


def identity(path):
    status = os.stat(path)
    return status.st_dev, status.st_ino


def test_the_waiting_init_holds_no_fd_of_its_caller(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "100"])
    preserved_read, preserved_write = os.pipe()
    caller_read, caller_write = os.pipe()
    host_file = tempfile.NamedTemporaryFile()
    host_fd = os.open(host_file.name, os.O_RDONLY)
    root_fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    fds = [preserved_write, host_fd, root_fd, caller_read]
    errors = tempfile.TemporaryFile()  # not a pipe: the created init keeps the caller's stderr
    try:
        preserved = identity(f"/proc/self/fd/{preserved_write}")
        caller_objects = {identity(f"/proc/self/fd/{fd}") for fd in fds[1:]}
        result = subprocess.run(
            [sys.executable, "-c", TRAMPOLINE, ",".join(map(str, fds)), *oci.command,
             "--root", oci.root, "create", "--preserve-fds", "1", "--bundle", str(bundle), cid],
            pass_fds=fds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
            timeout=60)
        errors.seek(0)
        assert result.returncode == 0, errors.read()
        init = oci.state(cid)["pid"]
        held = {int(fd): identity(f"/proc/{init}/fd/{fd}") for fd in os.listdir(f"/proc/{init}/fd")}
    finally:
        for fd in fds + [preserved_read, caller_write]:
            os.close(fd)
        host_file.close()
        errors.close()
    leaked = {fd for fd, seen in held.items() if seen in caller_objects}
    assert leaked == set(), f"the init holds the caller's fds {sorted(leaked)}: {held}"
    assert held.get(3) == preserved   # what --preserve-fds 1 passes on
