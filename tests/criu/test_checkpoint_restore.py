"""`checkpoint` and `restore` of real containers with CRIU: runc's options and semantics."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.criu.conftest import (COUNTER, CRIU, mounts_under, read_count, restore, run_detached,
                                 wait_counting)
from tests.waiting import FAILURE_AFTER, process_alive, wait_until


def counter_bundle(make_bundle, edit=None):
    return make_bundle(["sh", "-c", COUNTER], edit=edit)


def another_bundle(bundle, make_bundle):
    """A copy of ``bundle`` (its rootfs and state as they are now) with its own cgroupsPath."""
    copy, copy_id = make_bundle(["true"])
    shutil.rmtree(copy / "rootfs")
    shutil.copytree(bundle / "rootfs", copy / "rootfs", symlinks=True)
    config = json.loads((bundle / "config.json").read_text())
    config["linux"]["cgroupsPath"] = json.loads(
        (copy / "config.json").read_text())["linux"]["cgroupsPath"]
    (copy / "config.json").write_text(json.dumps(config))
    return copy, copy_id


def test_the_counter_goes_on_after_checkpoint_and_restore(oci, make_bundle, tmp_path,
                                                          cgroup_dirs):
    bundle, cid = counter_bundle(make_bundle)
    run_detached(oci, bundle, cid)
    wait_counting(bundle, 5)
    old_pid = oci.state(cid)["pid"]
    images = tmp_path / "images"
    oci("checkpoint", "--image-path", str(images), cid, check=True)
    # runc's semantics: the checkpointed container is stopped and gone.
    assert cid not in oci("list", "--quiet", check=True).stdout.split()
    assert not process_alive(old_pid)
    assert not any(os.path.isdir(d) for d in cgroup_dirs(bundle))
    saved = read_count(bundle)
    assert read_count(bundle) == saved  # nothing counts any more
    restore(oci, bundle, cid, images)
    state = oci.state(cid)
    assert state["status"] == "running" and process_alive(state["pid"])
    assert cid in oci("list", "--quiet", check=True).stdout.split()
    # It goes on from where it was (a fresh start would count from 1 again).
    assert wait_counting(bundle, saved + 3) > saved + 3
    assert all(os.path.isdir(d) for d in cgroup_dirs(bundle))
    with open(f"/proc/{state['pid']}/cgroup") as cgroups:
        path = json.loads((bundle / "config.json").read_text())["linux"]["cgroupsPath"]
        assert all(line.rstrip().endswith(path) for line in cgroups)
    # exec joins the restored namespaces
    result = oci("exec", cid, "tail", "-n", "1", "/tmp/count", check=True)
    assert int(result.stdout) >= saved
    oci("delete", "--force", cid, check=True)
    assert not process_alive(state["pid"])


def test_leave_running_keeps_the_container_and_its_image_restores(oci, make_bundle, tmp_path):
    bundle, cid = counter_bundle(make_bundle)
    run_detached(oci, bundle, cid)
    wait_counting(bundle, 3)
    pid = oci.state(cid)["pid"]
    images = tmp_path / "images"
    oci("checkpoint", "--leave-running", "--image-path", str(images), cid, check=True)
    assert oci.state(cid)["status"] == "running" and oci.state(cid)["pid"] == pid
    wait_counting(bundle, read_count(bundle) + 3)  # still counting, not frozen
    oci("delete", "--force", cid, check=True)
    restore(oci, bundle, cid, images)
    assert oci.state(cid)["status"] == "running"
    wait_counting(bundle, read_count(bundle) + 2)


def _memory_tracking():
    """Whether CRIU can track memory changes here (the kernel's soft-dirty bits)."""
    return subprocess.run([CRIU, "check", "--feature", "mem_dirty_track"],
                          capture_output=True).returncode == 0


def test_pre_dump_then_a_final_dump_with_parent_path(oci, make_bundle, tmp_path):
    bundle, cid = counter_bundle(make_bundle)
    run_detached(oci, bundle, cid)
    wait_counting(bundle, 3)
    pre, final = tmp_path / "pre", tmp_path / "final"
    if not _memory_tracking():
        # This kernel has no CONFIG_MEM_SOFT_DIRTY: CRIU cannot pre-dump; one line says so.
        for args in (["--pre-dump", "--image-path", str(pre)],
                     ["--image-path", str(final), "--parent-path", "."]):
            result = oci("checkpoint", *args, cid)
            assert result.returncode == 1
            assert result.stderr.strip().splitlines() == [
                f"oci-runtime: {args[0]}: CRIU 4.2.0 ({CRIU}) cannot track memory changes on "
                "this kernel (it needs the kernel's soft-dirty bits, CONFIG_MEM_SOFT_DIRTY): "
                "checkpoint without it"] or "cannot track memory" in result.stderr, result.stderr
            assert oci.state(cid)["status"] == "running"
        wait_counting(bundle, read_count(bundle) + 2)  # not left frozen
        pytest.skip("this kernel lacks memory tracking: the refusal is checked, not the dump")
    oci("checkpoint", "--pre-dump", "--image-path", str(pre), cid, check=True)
    assert oci.state(cid)["status"] == "running"  # a pre-dump leaves it running
    assert list(pre.glob("pages-*.img"))
    wait_counting(bundle, read_count(bundle) + 2)
    oci("checkpoint", "--image-path", str(final), "--parent-path", "../pre", cid, check=True)
    assert os.readlink(final / "parent") == "../pre"
    saved = read_count(bundle)
    restore(oci, bundle, cid, final)
    assert wait_counting(bundle, saved + 2) > saved
    # runc's checks on --parent-path
    result = oci("checkpoint", "--image-path", str(tmp_path / "x"), "--parent-path", "/abs", cid)
    assert result.returncode == 1 and "--parent-path must be relative" in result.stderr


def test_restore_under_another_id_and_twice_from_one_image(oci, make_bundle, tmp_path):
    bundle, cid = counter_bundle(make_bundle)
    run_detached(oci, bundle, cid)
    wait_counting(bundle, 3)
    images = tmp_path / "images"
    oci("checkpoint", "--image-path", str(images), cid, check=True)
    saved = read_count(bundle)
    second, second_id = another_bundle(bundle, make_bundle)
    third, third_id = another_bundle(bundle, make_bundle)
    restore(oci, second, second_id, images)
    restore(oci, third, third_id, images)
    states = [oci.state(second_id), oci.state(third_id)]
    assert [s["status"] for s in states] == ["running", "running"]
    assert states[0]["pid"] != states[1]["pid"]
    assert wait_counting(second, saved + 2) and wait_counting(third, saved + 2)
    assert read_count(bundle) == saved  # each counts in its own rootfs


def test_cgroup_limits_are_those_of_the_bundle(oci, make_bundle, tmp_path, cgroup_dirs):
    def limits(config):
        config["linux"]["resources"] = {"memory": {"limit": 64 * 1024 * 1024},
                                        "pids": {"limit": 42}}
    bundle, cid = counter_bundle(make_bundle, limits)
    run_detached(oci, bundle, cid)
    wait_counting(bundle, 2)
    images = tmp_path / "images"
    oci("checkpoint", "--image-path", str(images), cid, check=True)
    restore(oci, bundle, cid, images)
    pid = oci.state(cid)["pid"]
    directories = cgroup_dirs(bundle)
    memory = [d for d in directories if "/memory/" in d or d.startswith("/sys/fs/cgroup/oci")]
    pids = [d for d in directories if "/pids/" in d or d.startswith("/sys/fs/cgroup/oci")]
    for directory in memory:
        for name in ("memory.limit_in_bytes", "memory.max"):
            if os.path.exists(f"{directory}/{name}"):
                assert open(f"{directory}/{name}").read().strip() == str(64 * 1024 * 1024)
    for directory in pids:
        if os.path.exists(f"{directory}/pids.max"):
            assert open(f"{directory}/pids.max").read().strip() == "42"
            assert str(pid) in open(f"{directory}/cgroup.procs").read().split()
    assert memory and pids


def test_restore_onto_an_existing_id_is_refused(oci, make_bundle, tmp_path):
    bundle, cid = counter_bundle(make_bundle)
    run_detached(oci, bundle, cid)
    wait_counting(bundle, 2)
    pid = oci.state(cid)["pid"]
    images = tmp_path / "images"
    oci("checkpoint", "--leave-running", "--image-path", str(images), cid, check=True)
    result = restore(oci, bundle, cid, images, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"oci-runtime: container {cid!r} already exists"]
    assert oci.state(cid)["pid"] == pid and process_alive(pid)


def test_a_damaged_image_is_refused_and_leaves_nothing(oci, make_bundle, tmp_path, cgroup_dirs):
    bundle, cid = counter_bundle(make_bundle)
    run_detached(oci, bundle, cid)
    wait_counting(bundle, 2)
    images = tmp_path / "images"
    oci("checkpoint", "--image-path", str(images), cid, check=True)
    for core in images.glob("core-*.img"):
        core.write_bytes(core.read_bytes()[:20])  # truncated
    result = restore(oci, bundle, cid, images, check=False)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("oci-runtime: criu restore failed: ") and \
        f"(log: {images}/restore.log)" in last, result.stderr
    assert "Traceback" not in result.stderr
    assert cid not in oci("list", "--quiet", check=True).stdout.split()
    assert not os.path.exists(os.path.join(oci.root, cid))
    assert not any(os.path.isdir(d) for d in cgroup_dirs(bundle))
    assert mounts_under(oci.root) == []
    # an image directory that is not there, and one without CRIU's images
    result = restore(oci, bundle, cid, tmp_path / "missing", check=False)
    assert result.returncode == 1 and "--image-path" in result.stderr and "no such" in result.stderr
    (tmp_path / "empty").mkdir()
    result = restore(oci, bundle, cid, tmp_path / "empty", check=False)
    assert result.returncode == 1 and "restore.log" in result.stderr
    assert not os.path.exists(os.path.join(oci.root, cid))
    assert not any(os.path.isdir(d) for d in cgroup_dirs(bundle))


def test_checkpoint_needs_a_running_container(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["sleep", "100"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    result = oci("checkpoint", "--image-path", str(tmp_path / "i"), cid)
    assert result.returncode == 1
    assert "Container cannot be checkpointed in created state" in result.stderr
    result = oci("checkpoint", "--image-path", str(tmp_path / "i"), "nonexistent")
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_without_a_usable_criu_one_line_says_what_is_needed(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["sleep", "100"])
    run_detached(oci, bundle, cid)
    result = oci("--criu", "/nonexistent/criu", "checkpoint", "--image-path",
                 str(tmp_path / "i"), cid)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "oci-runtime: --criu /nonexistent/criu: not an executable file; checkpoint and restore "
        "need CRIU 4.0 or newer"]
    old = tmp_path / "old-criu"
    old.write_text("#!/bin/sh\nexit 1\n")  # answers no RPC: as a CRIU too old to have it
    old.chmod(0o755)
    result = oci("--criu", str(old), "checkpoint", "--image-path", str(tmp_path / "i"), cid)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "need CRIU 4.0 or newer" in result.stderr
    assert oci.state(cid)["status"] == "running"  # nothing was done to it
    oci("delete", "--force", cid, check=True)  # (its cgroup must be free for a restore)
    result = oci("--criu", str(old), "restore", "-d", "--bundle", str(bundle), "--image-path",
                 str(tmp_path), "other")
    assert result.returncode == 1 and "need CRIU 4.0 or newer" in result.stderr
    assert not os.path.exists(os.path.join(oci.root, "other"))


def test_options_are_checked_like_runc(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["sleep", "100"])
    run_detached(oci, bundle, cid)
    for args, message in (
            (["--manage-cgroups-mode", "bogus"], "--manage-cgroups-mode 'bogus': invalid value"),
            (["--empty-ns", "pid"], "--empty-ns 'pid': namespace is not supported"),
            (["--page-server", "nowhere"], "Use --page-server ADDRESS:PORT"),
            (["--status-fd", "1"], "--status-fd needs --lazy-pages")):
        result = oci("checkpoint", "--image-path", str(tmp_path / "i"), *args, cid)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)
    assert oci.state(cid)["status"] == "running"


def test_hooks_run_on_restore_as_runc_runs_them(oci, make_bundle, tmp_path):
    log = tmp_path / "hooks.log"

    def hooks(config):
        def hook(kind):
            return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {tmp_path}/{kind}.json; "
                                                            f"echo {kind} >> {log}"]}
        config["hooks"] = {kind: [hook(kind)] for kind in
                           ("prestart", "createRuntime", "poststart", "poststop")}
    bundle, cid = counter_bundle(make_bundle, hooks)
    run_detached(oci, bundle, cid)
    wait_counting(bundle, 2)
    images = tmp_path / "images"
    log.write_text("")
    oci("checkpoint", "--image-path", str(images), cid, check=True)
    assert log.read_text().split() == ["poststop"]  # the checkpointed container is destroyed
    log.write_text("")
    restore(oci, bundle, cid, images)
    assert log.read_text().split() == ["prestart", "createRuntime"]
    state = json.loads((tmp_path / "prestart.json").read_text())
    assert state["id"] == cid and state["pid"] > 0 and state["bundle"] == str(bundle)
    log.write_text("")
    oci("delete", "--force", cid, check=True)
    assert log.read_text().split() == ["poststop"]


def test_the_seccomp_filter_is_restored(oci, make_bundle, tmp_path):
    def seccomp(config):
        config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdirat", "mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    bundle, cid = counter_bundle(make_bundle, seccomp)
    run_detached(oci, bundle, cid)
    wait_counting(bundle, 2)
    images = tmp_path / "images"
    oci("checkpoint", "--image-path", str(images), cid, check=True)
    restore(oci, bundle, cid, images)
    pid = oci.state(cid)["pid"]
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    assert fields["Seccomp"].strip() == "2"
    assert int(fields["Seccomp_filters"]) >= 1


def test_an_attached_restore_waits_and_exits_with_the_status(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["sh", "-c", "while [ ! -e /tmp/stop ]; do sleep 0.05; done; "
                                           "exit 7"])
    run_detached(oci, bundle, cid)
    images = tmp_path / "images"
    oci("checkpoint", "--image-path", str(images), cid, check=True)
    # its stderr a plain file as the checkpointed init's was (CRIU checks the file's type)
    with open(tmp_path / "restorer.err", "w+") as errors:
        restorer = subprocess.Popen(oci.command + ["--root", oci.root, "restore", "--bundle",
                                                   str(bundle), "--image-path", str(images),
                                                   cid],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=errors)
        wait_until(lambda: oci("state", cid).returncode == 0, "the restored container")
        (bundle / "rootfs" / "tmp" / "stop").write_text("")
        assert restorer.wait(timeout=FAILURE_AFTER) == 7, (tmp_path / "restorer.err").read_text()
    assert oci("state", cid).returncode == 1  # deleted once it exited, as runc does


API_SCRIPT = """
import os, sys, time
from oci_runtime import Runtime
from oci_runtime.errors import InvalidState
root, bundle, cid, images = sys.argv[1:]
runtime = Runtime(root=root)
container = runtime.create(cid, bundle)
try:
    container.checkpoint(images)
    raise SystemExit("a created container was checkpointed")
except InvalidState:
    pass
container.start()
# Checkpointed once it counts (start returns before the program's execve): waited for, with a
# bound on a failure only.
count, deadline = os.path.join(bundle, "rootfs", "tmp", "count"), time.monotonic() + 60
while not (os.path.exists(count) and os.path.getsize(count)):
    assert time.monotonic() < deadline, "the counter never counted"
    time.sleep(0.02)
container.checkpoint(images, leave_running=False)
assert runtime.list() == [], runtime.list()
assert runtime.restore(cid, bundle, image_path=images, detach=True) == 0
assert runtime.get(cid).status == "running"
print("ok", file=sys.stderr)
"""


def test_the_python_api(oci, make_bundle, tmp_path):
    """Container.checkpoint and Runtime.restore, from a program whose stdio are /dev/null and a
    plain file (the container inherits them; see conftest._runtime)."""
    bundle, cid = counter_bundle(make_bundle)
    with open(tmp_path / "api.err", "w+") as errors:
        result = subprocess.run([sys.executable, "-c", API_SCRIPT, oci.root, str(bundle), cid,
                                 str(tmp_path / "images")], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=errors, timeout=120)
        errors.seek(0)
        output = errors.read()
    assert result.returncode == 0 and output.strip().endswith("ok"), output
    assert oci.state(cid)["status"] == "running"
    wait_counting(bundle, read_count(bundle) + 2)
