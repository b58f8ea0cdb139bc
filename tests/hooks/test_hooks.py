"""POSIX hooks against real containers: each kind runs at its moment of the lifecycle, in the
right namespace, with the container's state on stdin; a failing hook has runtime.md's effect."""
import json
import os

import pytest

from tests.waiting import process_alive, wait_for_status

HOST_KINDS = ("prestart", "createRuntime", "createContainer", "poststart", "poststop")


def recorder(log_dir, kind, exit_status=0):
    """A host hook that saves its stdin and mount namespace, appends its kind to a shared log,
    then exits with ``exit_status``."""
    return {"path": "/bin/sh", "args": ["sh", "-c", (
        f'cat > {log_dir}/{kind}.json; readlink /proc/self/ns/mnt > {log_dir}/{kind}.mnt; '
        f'echo {kind} >> {log_dir}/order; echo {kind} hook says no >&2; exit {exit_status}')]}


def in_container_recorder(kind, exit_status=0):
    """startContainer runs after pivot_root: its path resolves in the container (busybox)."""
    return {"path": "/bin/sh", "args": ["sh", "-c", (
        f"cat > /tmp/{kind}.json; readlink /proc/self/ns/mnt > /tmp/{kind}.mnt; "
        f"echo {kind} hook says no >&2; exit {exit_status}")]}


def with_hooks(log_dir, failing=None):
    def edit(config):
        hooks = {kind: [recorder(log_dir, kind, 1 if kind == failing else 0)]
                 for kind in HOST_KINDS}
        hooks["startContainer"] = [in_container_recorder("startContainer",
                                                         1 if failing == "startContainer" else 0)]
        config["hooks"] = hooks
    return edit


def read_state(path):
    with open(path) as saved:
        return json.load(saved)


def order(log_dir):
    path = log_dir / "order"
    return path.read_text().split() if path.exists() else []


def test_each_hook_runs_at_its_moment_with_the_state(oci, make_bundle, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    bundle, cid = make_bundle(["sleep", "1000"], with_hooks(logs))
    rootfs_tmp = bundle / "rootfs" / "tmp"
    oci("create", "--bundle", str(bundle), cid, check=True)
    assert order(logs) == ["prestart", "createRuntime", "createContainer"]
    assert not (rootfs_tmp / "startContainer.json").exists()
    pid = oci.state(cid)["pid"]
    host_mnt = os.readlink("/proc/self/ns/mnt")
    container_mnt = os.readlink(f"/proc/{pid}/ns/mnt")
    for kind in ("prestart", "createRuntime", "createContainer"):
        state = read_state(logs / f"{kind}.json")
        assert (state["id"], state["status"], state["pid"]) == (cid, "creating", pid), kind
        assert state["bundle"] == str(bundle)
    # prestart and createRuntime run in the runtime's namespaces, createContainer in the container's.
    assert (logs / "prestart.mnt").read_text().strip() == host_mnt
    assert (logs / "createRuntime.mnt").read_text().strip() == host_mnt
    assert (logs / "createContainer.mnt").read_text().strip() == container_mnt

    oci("start", cid, check=True)
    started = read_state(rootfs_tmp / "startContainer.json")
    assert (started["status"], started["pid"]) == ("created", pid)
    assert (rootfs_tmp / "startContainer.mnt").read_text().strip() == container_mnt
    assert order(logs)[3:] == ["poststart"]
    poststart = read_state(logs / "poststart.json")
    assert (poststart["status"], poststart["pid"]) == ("running", pid)

    oci("kill", cid, "KILL", check=True)
    wait_for_status(oci, cid, "stopped")
    assert "poststop" not in order(logs)  # not before delete
    oci("delete", cid, check=True)
    assert order(logs)[-1] == "poststop"
    assert read_state(logs / "poststop.json")["status"] == "stopped"


@pytest.mark.parametrize("failing", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_destroys_the_container_then_runs_poststop(
        oci, make_bundle, tmp_path, failing):
    logs = tmp_path / "logs"
    logs.mkdir()
    bundle, cid = make_bundle(["sleep", "1000"], with_hooks(logs, failing=failing))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode == 1
    assert f"hooks.{failing}[0]" in result.stderr and "hook says no" in result.stderr
    assert oci("state", cid).returncode != 0  # destroyed: no trace of it is left
    ran = order(logs)
    assert ran[-1] == "poststop" and ran[-2] == failing
    assert "startContainer" not in ran and "poststart" not in ran


def test_failing_start_container_hook_fails_start_and_stops_the_container(
        oci, make_bundle, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    bundle, cid = make_bundle(["sleep", "1000"], with_hooks(logs, failing="startContainer"))
    oci("create", "--bundle", str(bundle), cid, check=True)
    result = oci("start", cid)
    assert result.returncode == 1
    assert "hooks.startContainer[0]" in result.stderr
    wait_for_status(oci, cid, "stopped")
    assert "poststart" not in order(logs)  # the user program never ran
    oci("delete", cid, check=True)
    assert order(logs)[-1] == "poststop"


def test_failing_poststart_hook_fails_start_and_stops_the_container(oci, make_bundle, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    bundle, cid = make_bundle(["sleep", "1000"], with_hooks(logs, failing="poststart"))
    oci("create", "--bundle", str(bundle), cid, check=True)
    result = oci("start", cid)
    assert result.returncode == 1
    assert "hooks.poststart[0]" in result.stderr
    # runtime.md step 9: stopped, poststop run, deleted
    assert order(logs)[-2:] == ["poststart", "poststop"]
    assert oci("state", cid).returncode == 1


def test_failing_poststop_hook_only_warns(oci, make_bundle, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    bundle, cid = make_bundle(["true"], with_hooks(logs, failing="poststop"))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert "warning" in result.stderr and "hooks.poststop[0]" in result.stderr
    assert oci("state", cid).returncode != 0  # deleted all the same


def test_hook_timeout_is_a_failure(oci, make_bundle, tmp_path):
    pid_file = tmp_path / "hook.pid"
    bundle, cid = make_bundle(["true"], lambda c: c.update(hooks={"prestart": [
        {"path": "/bin/sh", "args": ["sh", "-c", f"echo $$ > {pid_file}; exec sleep 1000"],
         "timeout": 1}]}))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode == 1
    assert "timed out after 1 s" in result.stderr
    # The hook was killed (and reaped) at its timeout, not waited for: not a wall-clock bound
    # on create (a loaded host stretches that), the hook's process itself (unless it was killed
    # before its shell even wrote its pid).
    written = pid_file.read_text().strip() if pid_file.exists() else ""
    if written:
        assert not process_alive(int(written))


@pytest.mark.parametrize("timeout", [2147484, 2 ** 63 - 1])
def test_a_timeout_longer_than_poll_can_wait_is_no_timeout(oci, make_bundle, timeout):
    """Found by tests/fuzz: poll(2) takes an int of milliseconds (OverflowError traceback)."""
    bundle, cid = make_bundle(["true"], lambda c: c.update(hooks={"prestart": [
        {"path": "/bin/true", "timeout": timeout}]}))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr


def test_hooks_work_in_the_bundle_and_create_container_in_the_rootfs(oci, make_bundle, tmp_path):
    """As with runc: the runtime's hooks run in the bundle (a hook may name files relative to
    it), createContainer hooks in the rootfs, startContainer hooks in the container's /; none
    where the caller happened to be."""
    logs = tmp_path / "logs"
    logs.mkdir()
    caller = tmp_path / "caller"
    caller.mkdir()

    def where(kind, log_dir):
        return {"path": "/bin/sh", "args": ["sh", "-c", (
            f"readlink /proc/self/cwd > {log_dir}/{kind}.cwd; cat ./marker > {log_dir}/{kind}.marker"
            " 2>/dev/null; true")]}

    def edit(config):
        config["hooks"] = {kind: [where(kind, logs)] for kind in HOST_KINDS}
        config["hooks"]["startContainer"] = [where("startContainer", "/tmp")]
    bundle, cid = make_bundle(["true"], edit)
    (bundle / "marker").write_text("in the bundle\n")
    oci("create", "--bundle", str(bundle), cid, check=True, cwd=caller)
    oci("start", cid, check=True, cwd=caller)
    wait_for_status(oci, cid, "stopped")
    oci("delete", cid, check=True, cwd=caller)
    seen = {kind: (logs / f"{kind}.cwd").read_text().strip() for kind in HOST_KINDS}
    assert seen == {"prestart": str(bundle), "createRuntime": str(bundle),
                    "createContainer": str(bundle / "rootfs"), "poststart": str(bundle),
                    "poststop": str(bundle)}
    assert (logs / "prestart.marker").read_text() == "in the bundle\n"
    assert (bundle / "rootfs" / "tmp" / "startContainer.cwd").read_text().strip() == "/"
