"""Fault injection with strace: `create` SIGKILLed at many points, and errors injected into the
syscalls of create and its init (mount, pivot_root, clone, mkdir, cgroup and state writes).

A killed create cannot undo anything: `delete --force` must then leave nothing.  An injected
error must be reported as one line, and the transaction must leave nothing by itself.
"""
import json
import os
import shutil
import subprocess
import time

import pytest

from test_transaction import cgroup_dirs, config_of
from tests.waiting import FAILURE_AFTER, wait_until

STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed (scripts/setup)")

# (syscall, its Nth call by `create` itself: `strace -c` counts them, ~1500 in all).  Killing at
# each walks create from the state directory through the executor's start (memfd, clone3 of
# posix_spawn) and its messages (recvfrom, sendto) to the pid file.
KILL_POINTS = ([("mkdir", n) for n in range(1, 24, 2)] + [("rename", n) for n in range(1, 8)]
               + [("write", n) for n in range(1, 32, 3)] + [("openat", n) for n in range(90, 161, 10)]
               + [("socketpair", 1), ("memfd_create", 1), ("memfd_create", 2), ("clone3", 1),
                  ("clone3", 2), ("pidfd_open", 1), ("recvfrom", 1), ("recvfrom", 2),
                  ("sendto", 1), ("wait4", 1)])


# Every create here runs with this in its environment; the executor and the init inherit it
# (until the init execs the user's program), so a leftover is found whatever its command line.
MARK = f"OCI_FAULT_TEST={os.getpid()}"


def leftover_processes(root):
    """Live processes of this test: its runtime calls (their command line names the state root)
    and their executors and inits (the environment carries MARK)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                words = cmdline.read().split(b"\0")
            with open(f"/proc/{name}/environ", "rb") as environ:
                marked = MARK.encode() in environ.read().split(b"\0")
            with open(f"/proc/{name}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if (marked or root.encode() in words) and state not in "ZX":
            found.append(int(name))
    return found


def assert_nothing_left(oci, bundle, cid):
    # An init whose runtime died before placing it in its cgroup must end by itself (EOF on
    # the sync socket); one in its cgroup is delete --force's to kill.
    wait_until(lambda: not leftover_processes(oci.root),
               lambda: f"the processes left to end: {leftover_processes(oci.root)}")
    leftovers = [n for n in os.listdir(oci.root) if not n.startswith(".")] if os.path.isdir(oci.root) else []
    assert leftovers == [], leftovers
    assert cgroup_dirs(config_of(bundle)["linux"]["cgroupsPath"]) == []
    assert "does not exist" in oci("state", cid).stderr


def run_under_strace(oci, bundle, cid, strace_args, tmp_path, timeout=2 * FAILURE_AFTER):
    """`create` under strace; returns (exit status, stderr).  Should create succeed anyway (the
    point is past its end), the container is force-deleted: strace -f waits for the init."""
    err_path = tmp_path / f"{cid}.err"
    with open(err_path, "w") as err:
        traced = subprocess.Popen([STRACE, "-qq", "-o", "/dev/null", *strace_args, *oci.command,
                                   "--root", oci.root, "create", "--bundle", str(bundle), cid],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                  env=dict(os.environ, OCI_FAULT_TEST=MARK.split("=")[1]))
    deadline = time.monotonic() + timeout
    succeeded = False
    while traced.poll() is None:
        assert time.monotonic() < deadline, f"create under strace {strace_args} hangs"
        if not succeeded and os.path.exists(os.path.join(oci.root, cid, "state.json")):
            state = oci("state", cid)
            if state.returncode == 0 and json.loads(state.stdout)["status"] == "created":
                succeeded = True
                oci("delete", "--force", cid, check=True)
        time.sleep(0.02)
    return (0 if succeeded else traced.returncode), err_path.read_text()


@pytest.mark.parametrize("syscall, occurrence", KILL_POINTS,
                         ids=[f"{s}-{n}" for s, n in KILL_POINTS])
def test_create_killed_anywhere_then_delete_force_leaves_nothing(oci, make_bundle, tmp_path,
                                                                  syscall, occurrence):
    bundle, cid = make_bundle(["sleep", "30"])
    run_under_strace(oci, bundle, cid, ["-e", f"trace={syscall}",
                                        "-e", f"inject={syscall}:signal=SIGKILL:when={occurrence}"],
                     tmp_path)
    deleted = oci("delete", "--force", cid)
    assert deleted.returncode == 0, deleted.stderr
    assert_nothing_left(oci, bundle, cid)


# (strace arguments, what they break).  -f follows stage 1 and the init: mount and pivot_root
# are theirs.  Without -f only create's own calls fail: its mkdir, cgroup and state writes.
INJECTIONS = (
    [(["-f", "-e", "trace=mount", "-e", f"inject=mount:error=EPERM:when={n}"], f"mount-{n}")
     for n in (1, 2, 3, 5, 8, 11)]
    + [(["-f", "-e", "trace=mount", "-e", "inject=mount:error=ENOSPC:when=4+"], "mount-4+")]
    + [(["-f", "-e", "trace=pivot_root", "-e", "inject=pivot_root:error=EINVAL"], "pivot_root")]
    # clone3: posix_spawn's vfork of the executor (strace counts per process: the init's
    # fork, the executor's first clone3, is never reached; test_executor_errors fails it)
    + [(["-f", "-e", "trace=clone3", "-e", "inject=clone3:error=EAGAIN:when=1"], "clone3")]
    + [(["-f", "-e", "trace=unshare", "-e", "inject=unshare:error=ENOMEM"], "unshare")]
    + [(["-e", "trace=mkdir", "-e", f"inject=mkdir:error=EACCES:when={n}"], f"mkdir-{n}")
       for n in (1, 3, 6, 12)]
    + [(["-e", "trace=write", "-e", f"inject=write:error=ENOSPC:when={n}"], f"write-{n}")
       # not the last two (the "created" state.json and its backup): see the renames below
       for n in (1, 2, 4, 8, 12, 16)]
    # create's renames: state.json and its backup ("creating"), config.json, state.json and
    # its backup ("created").  Not the last: the test may see the "created" state.json first
    # and take create for a success (a race, not a failure of create).
    + [(["-e", "trace=rename", "-e", f"inject=rename:error=EIO:when={n}"], f"rename-{n}")
       for n in (1, 2, 3, 4)]
)


@pytest.mark.parametrize("strace_args", [args for args, _ in INJECTIONS],
                         ids=[name for _, name in INJECTIONS])
def test_an_injected_error_is_one_line_and_create_leaves_nothing(oci, make_bundle, tmp_path,
                                                                  strace_args):
    bundle, cid = make_bundle(["sleep", "30"])
    code, stderr = run_under_strace(oci, bundle, cid, strace_args, tmp_path)
    if code == 0:
        pytest.skip("the injection point is past what this create does")
    assert "Traceback" not in stderr, stderr
    assert stderr.startswith("oci-runtime: ") and stderr.count("\n") == 1, stderr
    assert_nothing_left(oci, bundle, cid)
    assert oci("delete", "--force", cid).returncode == 0


def _cgroup_file(cgroups_path, name):
    """Where ``name`` of this cgroup is: the memory hierarchy (v1) or the unified one (v2)."""
    if os.path.isdir("/sys/fs/cgroup/memory"):
        return f"/sys/fs/cgroup/memory{cgroups_path}/{name}"
    return f"/sys/fs/cgroup{cgroups_path}/{name}"


# (file, error, whether the init writes it: its "0" to a cgroup v1 tasks file, strace -f).
@pytest.mark.parametrize("name, error, by_init", [
    ("tasks", "EBUSY", True), ("memory.limit_in_bytes", "EINVAL", False),
    ("memory.max", "EINVAL", False),
])
def test_a_failed_cgroup_write_is_one_line_and_create_leaves_nothing(oci, make_bundle, tmp_path,
                                                                      name, error, by_init):
    def edit(config):
        config["linux"]["resources"]["memory"] = {"limit": 64 << 20}
    bundle, cid = make_bundle(["sleep", "30"], edit)
    target = _cgroup_file(config_of(bundle)["linux"]["cgroupsPath"], name)
    code, stderr = run_under_strace(oci, bundle, cid, ["-f"] * by_init + [
        "-P", target, "-e", "trace=write", "-e", f"inject=write:error={error}"], tmp_path)
    if code == 0:
        pytest.skip(f"create does not write {name} on this host")
    assert stderr.startswith("oci-runtime: ") and stderr.count("\n") == 1, stderr
    assert target in stderr
    assert_nothing_left(oci, bundle, cid)
