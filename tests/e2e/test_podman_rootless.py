"""Rootless podman (a new non-root user with subordinate ids) driving oci-runtime end to end.

The runtime is the install every user can run (scripts/install-system, built by the
shared_install fixture); podman's storage (vfs), run root and containers.conf are under the
user's temporary home, removed with the user.  No network (--network none), file events,
cgroupfs manager (test_podman's containers.conf): on a cgroup v1 host rootless podman runs
without cgroups.  The nofile ulimit is set explicitly (this host lacks CAP_SYS_RESOURCE)."""
import os
import shutil

import pytest

from tests.e2e import images
from tests.e2e.test_podman import IMAGE, Podman, _wait_status
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed"),
    pytest.mark.skipif(shutil.which("newuidmap") is None,
                       reason="newuidmap is not installed (Debian package uidmap)"),
    pytest.mark.skipif(not images.busybox_available(), reason="busybox-static is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="creating users needs root"),
]


class UserPodman(Podman):
    """test_podman's client, run as the user, its files under the user's home."""

    def __init__(self, user, runtime):
        self.user = user
        super().__init__(user.make_dir(os.path.join(user.home, "podman"), 0o700), runtime)
        os.chown(self.conf, user.uid, user.gid)
        os.chown(self.env["TMPDIR"], user.uid, user.gid)
        # Only what podman needs beside the user's own environment (User.env).
        self.env = {"CONTAINERS_CONF": self.conf, "TMPDIR": self.env["TMPDIR"]}

    def __call__(self, *args, check=True, timeout=90):
        result = self.user.run(self.command(*args), env=self.env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} -> {result.returncode}\n"
                                 f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result


@pytest.fixture(scope="module")
def podman(rootless_user, shared_install):
    client = UserPodman(rootless_user, shared_install)
    try:
        tar = images.rootfs_tar(os.path.join(client.base, "busybox.tar"))
        os.chown(tar, rootless_user.uid, rootless_user.gid)
        client("import", "--change", "CMD=/bin/sh", tar, IMAGE)
        yield client
    finally:
        client("rm", "-af", "-t", "0", check=False)
        # Storage written from podman's user namespace (subordinate ids) is removed from there.
        client("unshare", "rm", "-rf", f"{client.base}/storage", f"{client.base}/run",
               check=False)
        client("system", "reset", "--force", check=False)
        _kill_user_processes(rootless_user.uid)
        images.unmount_under(client.base)
        shutil.rmtree(client.base, ignore_errors=True)


def _kill_user_processes(uid):
    """podman's pause process (it keeps the user namespace) outlives the tests: end it, it is
    ours, so that the user can be removed."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid == uid:
                os.kill(int(name), 9)
        except (FileNotFoundError, ProcessLookupError):
            pass


def test_rootless_podman_uses_our_runtime(podman):
    result = podman("info", "--format", "{{.Host.OCIRuntime.Path}} {{.Host.Security.Rootless}}")
    assert result.stdout.split() == [podman.runtime, "true"]


def test_rootless_run_output_and_exit_code(podman):
    result = podman("run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", IMAGE,
                    "sh", "-c", "echo hello uid $(id -u); exit 3", check=False)
    assert result.stdout == "hello uid 0\n", result.stderr
    assert result.returncode == 3
    assert podman("ps", "-aq").stdout.strip() == ""


def test_rootless_detached_exec_logs_stop_rm(podman):
    podman("run", "-d", "--name", "rl-life", "--network", "none", IMAGE, "sh", "-c",
           "trap 'exit 42' TERM; echo started; while true; do sleep 0.1; done")
    try:
        _wait_status(podman, "rl-life", "running")
        pid = int(podman.inspect("rl-life", "{{.State.Pid}}"))
        # The container's root is the user on the host.
        assert os.stat(f"/proc/{pid}").st_uid == podman.user.uid
        result = podman("exec", "rl-life", "sh", "-c", "id -u; exit 4", check=False)
        assert (result.returncode, result.stdout) == (4, "0\n"), result.stderr
        # the trap is set once the shell says so (podman run -d returns before its execve)
        wait_until(lambda: "started" in podman("logs", "rl-life").stdout, "the shell's trap",
                   interval=0.1)
        podman("stop", "-t", "60", "rl-life")
        assert podman.inspect("rl-life", "{{.State.ExitCode}}") == "42"
    finally:
        podman("rm", "-f", "-t", "0", "rl-life", check=False)
    assert "rl-life" not in podman("ps", "-a", "--format", "{{.Names}}").stdout
    # The runtime's state root is the user's: nothing of the container is left in it.
    state_root = os.path.join(podman.user.runtime_dir, "oci-runtime")
    assert not [n for n in os.listdir(state_root) if not n.startswith(".")] \
        if os.path.isdir(state_root) else True
