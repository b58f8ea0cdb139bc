"""exec as runc does it: into created and (with --ignore-paused) paused containers, into
sub-cgroups with --cgroup, and socket-activation variables only when the caller passes them.

The --cgroup tests read the container's cgroup directories from its saved state, so they run on
the cgroup v1/hybrid host and, unchanged, inside the pure v2 machine (../shared/v2bed/v2run).
"""
import json
import os
import subprocess
import sys
import time

import pytest

from oci_runtime.cgroups import manager_from_dict
from tests.waiting import wait_for_status, wait_until


@pytest.fixture
def running(oci, make_bundle):
    """A running container whose init sleeps; returns its id."""
    def start():
        bundle, cid = make_bundle(["sleep", "1000"])
        oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
        return cid
    return start


def container_manager(oci, cid):
    """The container's cgroup, as its saved state has it."""
    with open(f"{oci.root}/{cid}/state.json") as state:
        return manager_from_dict(json.load(state)["cgroup"])


def container_cgroups(oci, cid):
    """{controller: host directory} of the container's cgroup ('' = the v2 hierarchy)."""
    return container_manager(oci, cid).directories()


def host_cgroups_of(pid):
    """{controller: path} from /proc/<pid>/cgroup as the host sees it ('' = the v2 hierarchy)."""
    with open(f"/proc/{pid}/cgroup") as cgroup:
        entries = [line.rstrip("\n").split(":", 2) for line in cgroup]
    found = {}
    for _, controllers, path in entries:
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found


def hierarchy_path(directory):
    """/sys/fs/cgroup/memory/a/b -> /a/b: a cgroup directory as /proc/<pid>/cgroup names it."""
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        mount_point, fstype = fields[4], fields[fields.index("-") + 1]
        if fstype in ("cgroup", "cgroup2") and directory.startswith(mount_point + "/"):
            return directory[len(mount_point):]
    raise AssertionError(f"{directory} is on no cgroup mount")


def exec_detached(oci, cid, tmp_path, *options):
    """exec --detach sleep, returning the process's host pid (read from --pid-file)."""
    pid_file = tmp_path / f"exec-{time.monotonic_ns()}.pid"
    result = oci("exec", "--detach", "--pid-file", str(pid_file), *options, cid, "sleep", "1000")
    assert result.returncode == 0, result.stderr
    return int(pid_file.read_text())


# -- statuses ----------------------------------------------------------------------------------


def test_exec_into_a_created_container_runs_in_its_namespaces(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "echo started"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    init_pid = oci.state(cid)["pid"]
    result = oci("exec", cid, "readlink", "/proc/self/ns/pid", check=True)
    assert result.stdout.strip() == os.readlink(f"/proc/{init_pid}/ns/pid")
    # The exec'd process came and went; the container still waits for `start`.
    assert oci.state(cid)["status"] == "created"
    oci("start", cid, check=True)
    wait_for_status(oci, cid, "stopped")


def test_exec_into_a_paused_container_needs_ignore_paused(oci, running):
    cid = running()
    oci("pause", cid, check=True)
    try:
        refused = oci("exec", cid, "true")
        assert refused.returncode == 255
        assert f"cannot exec in container {cid}: it is paused" in refused.stderr
        assert "--ignore-paused" in refused.stderr

        # With --ignore-paused the process joins the frozen cgroup: it cannot finish before
        # `resume`, then it does, with its output and status.  Seen, not slept on: the joiner
        # is in the cgroup and the freezer says every task of it is frozen.
        manager = container_manager(oci, cid)
        directories = manager.directories()
        waiting = subprocess.Popen(
            oci.command + ["--root", oci.root, "exec", "--ignore-paused", cid, "sh", "-c",
                           "echo thawed; exit 3"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: len(manager.pids()) > 1 and every_task_frozen(directories),
                       "the exec'd process to be frozen in the container's cgroup")
            assert waiting.poll() is None
            oci("resume", cid, check=True)
            stdout, stderr = waiting.communicate(timeout=30)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.wait()
        assert waiting.returncode == 3, stderr
        assert stdout == b"thawed\n"
    finally:
        if oci.state(cid)["status"] == "paused":
            oci("resume", cid)


def every_task_frozen(directories):
    """The freezer's own word that every task of the cgroup is frozen (not only asked to be):
    v1's freezer.state reads FREEZING until then, v2's cgroup.events says "frozen 0"."""
    if "freezer" in directories:
        with open(f"{directories['freezer']}/freezer.state") as state:
            return state.read().strip() == "FROZEN"
    with open(f"{directories['']}/cgroup.events") as events:
        return "frozen 1" in events.read().splitlines()


# -- --cgroup ----------------------------------------------------------------------------------


def make_sub_cgroups(directories, name):
    """mkdir <dir>/<name> in each directory.  No teardown of its own: the container's forced
    delete (the `oci` fixture) removes its cgroup tree bottom-up, sub-cgroups included, once
    their processes are dead."""
    for directory in directories:
        path = f"{directory}/{name}"
        os.mkdir(path)
        if os.path.exists(f"{path}/cpuset.cpus"):
            # A new v1 cpuset starts with no cpus and mems: nothing could join it (ENOSPC).
            for setting in ("cpuset.cpus", "cpuset.mems"):
                with open(f"{directory}/{setting}") as parent, open(f"{path}/{setting}", "w") as child:
                    child.write(parent.read())


def test_exec_cgroup_without_controller_joins_the_sub_cgroup_everywhere(oci, running, tmp_path):
    cid = running()
    directories = container_cgroups(oci, cid)
    make_sub_cgroups(sorted(set(directories.values())), "sub")
    pid = exec_detached(oci, cid, tmp_path, "--cgroup", "sub")
    seen = host_cgroups_of(pid)
    for controller, directory in directories.items():
        assert seen[controller] == hierarchy_path(directory) + "/sub", controller


def test_exec_cgroup_slash_is_the_container_cgroup_itself(oci, running, tmp_path):
    cid = running()
    directories = container_cgroups(oci, cid)
    pid = exec_detached(oci, cid, tmp_path, "--cgroup", "/")
    seen = host_cgroups_of(pid)
    for controller, directory in directories.items():
        assert seen[controller] == hierarchy_path(directory), controller


def test_exec_cgroup_per_controller(oci, running, tmp_path):
    cid = running()
    directories = container_cgroups(oci, cid)
    if set(directories) == {""}:
        pytest.skip("cgroup v2: one hierarchy, no per-controller paths")
    make_sub_cgroups([directories["memory"]], "mem")
    make_sub_cgroups(sorted({directories["cpu"], directories["pids"]}), "other")
    pid = exec_detached(oci, cid, tmp_path, "--cgroup", "memory:mem", "--cgroup", "cpu,pids:other")
    seen = host_cgroups_of(pid)
    assert seen["memory"] == hierarchy_path(directories["memory"]) + "/mem"
    assert seen["cpu"] == hierarchy_path(directories["cpu"]) + "/other"
    assert seen["pids"] == hierarchy_path(directories["pids"]) + "/other"
    # Hierarchies not named stay in the container's own cgroup.
    assert seen["freezer"] == hierarchy_path(directories["freezer"])


@pytest.mark.parametrize("arguments, message", [
    (["--cgroup", ".."], ".. is not a sub cgroup path"),
    (["--cgroup", "a/../../b"], "a/../../b is not a sub cgroup path"),
    (["--cgroup", "whaaat:/"], "unknown controller whaaat"),
    (["--cgroup", "a:b:c"], "expected [controller:]path"),
    (["--cgroup", "sub", "--cgroup", "memory:x"], "must be the only --cgroup"),
])
def test_exec_cgroup_refuses_bad_arguments(oci, running, arguments, message):
    cid = running()
    result = oci("exec", *arguments, cid, "true")
    assert result.returncode == 255
    assert message in result.stderr


def test_exec_cgroup_never_creates_a_missing_sub_cgroup(oci, running):
    cid = running()
    directories = container_cgroups(oci, cid)
    result = oci("exec", "--cgroup", "nonexistent", cid, "true")
    assert result.returncode == 255
    assert "/nonexistent/cgroup.procs: No such file or directory" in result.stderr
    assert not any(os.path.exists(f"{d}/nonexistent") for d in directories.values())
    # Nothing was left running: the container still has only its init.
    assert json.loads(oci("ps", "--format", "json", cid, check=True).stdout) == [
        oci.state(cid)["pid"]]


# -- socket activation (LISTEN_FDS) --------------------------------------------------------------


def test_exec_passes_listen_fds_from_env_and_sets_none_itself(oci, running):
    """runc's exec never sets LISTEN_FDS: a socket-activated service inside gets it (and the
    fds) from the caller's --env and --preserve-fds, and the runtime's own environment (here one
    systemd gave it) does not leak into the process."""
    cid = running()
    read_end, write_end = os.pipe()
    trampoline = ("import os, sys\n"
                  "os.dup2(int(sys.argv[1]), 3)\n"
                  "os.execvp(sys.argv[2], sys.argv[2:])\n")
    runtime_env = dict(os.environ, LISTEN_FDS="5", LISTEN_PID=str(os.getpid()))
    try:
        activated = subprocess.run(
            [sys.executable, "-c", trampoline, str(write_end), *oci.command, "--root", oci.root,
             "exec", "--preserve-fds", "1", "--env", "LISTEN_FDS=1", "--env", "LISTEN_PID=1",
             cid, "sh", "-c", 'echo "$LISTEN_FDS $LISTEN_PID"; echo through >&3'],
            pass_fds=[write_end], env=runtime_env, capture_output=True, text=True, timeout=60)
        plain = subprocess.run(
            [*oci.command, "--root", oci.root, "exec", cid, "sh", "-c",
             'echo "${LISTEN_FDS-unset} ${LISTEN_PID-unset}"'],
            env=runtime_env, capture_output=True, text=True, timeout=60)
        os.close(write_end)
        write_end = None
        assert activated.returncode == 0, activated.stderr
        assert activated.stdout == "1 1\n"
        assert os.read(read_end, 100) == b"through\n"
        assert plain.returncode == 0, plain.stderr
        assert plain.stdout == "unset unset\n"
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)
