"""runtime.md: State, Lifecycle, Operations, one test per MUST we claim."""
import json
import os

from clause import clause
from tests.waiting import process_alive, wait_for_file, wait_for_status


@clause("runtime.md", "State", "id MUST be unique across all containers on this host")
def test_id_unique(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    assert oci("create", "--bundle", str(bundle), cid).returncode != 0


@clause("runtime.md", "State", "pid is REQUIRED when status is created or running")
def test_pid_present_when_created_and_running(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    assert oci.state(cid)["pid"] > 0
    oci("start", cid, check=True)
    assert oci.state(cid)["pid"] > 0


@clause("runtime.md", "State", "when serialized in JSON, the format MUST adhere to state-schema.json")
def test_state_matches_schema(oci, make_bundle):
    from oci_runtime.config.validate import validate_state

    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    validate_state(oci.state(cid))


@clause("runtime.md", "Lifecycle", "step 2: the user-specified program MUST NOT be run at create")
def test_program_not_run_at_create(oci, make_bundle, cgroup_dirs):
    bundle, cid = make_bundle(["sh", "-c", "touch /ran"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    # Not "no /ran after a sleep" (a program run at create could simply be slow): the created
    # container's process is still the runtime's, not the program (busybox), and it is the only
    # process in the container's cgroup.
    pid = oci.state(cid)["pid"]
    program = os.stat(bundle / "rootfs" / "bin" / "busybox")
    try:
        init = os.stat(f"/proc/{pid}/exe")
    except FileNotFoundError:
        raise AssertionError("the created container's process has exited: the program ran") from None
    assert (init.st_dev, init.st_ino) != (program.st_dev, program.st_ino), "the program runs at create"
    for directory in cgroup_dirs(bundle):
        with open(directory + "/cgroup.procs") as procs:
            assert procs.read().split() == [str(pid)], directory
    assert not (bundle / "rootfs" / "ran").exists()
    oci("start", cid, check=True)
    wait_for_status(oci, cid, "stopped")
    assert (bundle / "rootfs" / "ran").exists()


@clause("runtime.md", "Lifecycle", "step 2: updates to config.json after create MUST NOT affect the container")
def test_config_changes_after_create_ignored(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "echo original > /out"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["args"] = ["sh", "-c", "echo changed > /out"]
    (bundle / "config.json").write_text(json.dumps(config))
    oci("start", cid, check=True)
    wait_for_status(oci, cid, "stopped")
    assert (bundle / "rootfs" / "out").read_text().strip() == "original"


@clause("runtime.md", "Lifecycle", "step 2: if unable to create the environment, MUST generate an error")
def test_unsatisfiable_config_is_an_error(oci, make_bundle):
    bundle, cid = make_bundle(["true"], lambda c: c["mounts"].append(
        {"destination": "/x", "type": "nosuchfs", "source": "none"}))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "/mounts/" in result.stderr


@clause("runtime.md", "Errors", "an error MUST leave the environment as if the operation were never attempted")
def test_failed_create_leaves_nothing(oci, make_bundle, cgroup_dirs):
    # The mount fails in the init, after the cgroup was made in every hierarchy.
    bundle, cid = make_bundle(["true"], lambda c: c["mounts"].append(
        {"destination": "/x", "type": "nosuchfs", "source": "none"}))
    assert oci("create", "--bundle", str(bundle), cid).returncode != 0
    assert not os.path.exists(os.path.join(oci.root, cid))
    assert [d for d in cgroup_dirs(bundle) if os.path.exists(d)] == []
    assert cid not in oci("list", "-q").stdout.split()


@clause("runtime.md", "Query State", "MUST generate an error if it is not provided the ID of a container")
def test_state_without_id(oci):
    assert oci("state").returncode != 0


@clause("runtime.md", "Query State", "querying a container that does not exist MUST generate an error")
def test_state_of_missing(oci):
    assert oci("state", "missing").returncode != 0


@clause("runtime.md", "Create", "MUST generate an error if not provided the bundle path and container ID")
def test_create_without_id(oci, make_bundle):
    bundle, _ = make_bundle(["true"])
    assert oci("create", "--bundle", str(bundle)).returncode != 0


@clause("runtime.md", "Create", "an ID that is not valid MUST generate an error and no container is created")
def test_create_invalid_id(oci, make_bundle):
    bundle, _ = make_bundle(["true"])
    assert oci("create", "--bundle", str(bundle), "a/b").returncode != 0
    assert oci("list", "-q").stdout.strip() == ""


@clause("runtime.md", "Start", "MUST generate an error if it is not provided the container ID")
def test_start_without_id(oci):
    assert oci("start").returncode != 0


@clause("runtime.md", "Start", "starting a container that is not created MUST have no effect and MUST error")
def test_start_running_container(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    oci("start", cid, check=True)
    pid = oci.state(cid)["pid"]
    assert oci("start", cid).returncode != 0
    assert oci.state(cid) == {**oci.state(cid), "status": "running", "pid": pid}


@clause("runtime.md", "Start", "MUST run the user-specified program")
def test_start_runs_program(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "echo started > /proof"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    oci("start", cid, check=True)
    wait_for_status(oci, cid, "stopped")
    assert (bundle / "rootfs" / "proof").read_text() == "started\n"


@clause("runtime.md", "Kill", "MUST generate an error if it is not provided the container ID")
def test_kill_without_id(oci):
    assert oci("kill").returncode != 0


@clause("runtime.md", "Kill", "signalling a container neither created nor running MUST have no effect and error")
def test_kill_stopped(oci, make_bundle):
    bundle, cid = make_bundle(["true"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    oci("start", cid, check=True)
    wait_for_status(oci, cid, "stopped")
    assert oci("kill", cid, "KILL").returncode != 0
    assert oci.state(cid)["status"] == "stopped"


@clause("runtime.md", "Kill", "MUST send the specified signal to the container process")
def test_kill_sends_signal(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "trap 'touch /got-usr1; exit 0' USR1; touch /trapped; "
                                           "while :; do sleep 0.05; done"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    oci("start", cid, check=True)
    # Waits for the trap (a signal sent before it is set would kill sh or be dropped).
    wait_for_file(bundle / "rootfs" / "trapped")
    oci("kill", cid, "USR1", check=True)
    wait_for_status(oci, cid, "stopped")
    assert (bundle / "rootfs" / "got-usr1").exists()


@clause("runtime.md", "Delete", "MUST generate an error if it is not provided the container ID")
def test_delete_without_id(oci):
    assert oci("delete").returncode != 0


@clause("runtime.md", "Delete", "deleting a container that is not stopped MUST have no effect and error")
def test_delete_running(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    assert oci("delete", cid).returncode != 0
    assert oci.state(cid)["status"] == "running"


@clause("runtime.md", "Delete", "deleting MUST delete the resources created during create")
def test_delete_removes_resources(oci, make_bundle, cgroup_dirs):
    bundle, cid = make_bundle(["true"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    pid = oci.state(cid)["pid"]
    directories = cgroup_dirs(bundle)
    assert all(os.path.isdir(d) for d in directories)  # what create made, in every hierarchy
    oci("start", cid, check=True)
    wait_for_status(oci, cid, "stopped")
    oci("delete", cid, check=True)
    assert not os.path.exists(os.path.join(oci.root, cid))
    assert [d for d in directories if os.path.exists(d)] == []
    assert not process_alive(pid)


@clause("runtime.md", "Delete", "once deleted, the ID MAY be used by a subsequent container")
def test_id_reusable_after_delete(oci, make_bundle):
    bundle, cid = make_bundle(["true"])
    oci("run", "--bundle", str(bundle), cid, check=True)
    oci("run", "--bundle", str(bundle), cid, check=True)


@clause("runtime-linux.md", "Dev symbolic links", "runtimes MUST create /dev/fd, stdin, stdout, stderr links")
def test_dev_symlinks(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "for l in fd stdin stdout stderr; do readlink /dev/$l; done"])
    result = oci("run", "--bundle", str(bundle), cid, check=True)
    assert result.stdout.split() == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1",
                                     "/proc/self/fd/2"]


@clause("runtime-linux.md", "File descriptors", "by default only stdin, stdout and stderr are kept open")
def test_only_stdio(oci, make_bundle):
    bundle, cid = make_bundle(["ls", "/proc/self/fd"])
    result = oci("run", "--bundle", str(bundle), cid, check=True)
    assert result.stdout.split() == ["0", "1", "2", "3"]  # 3: ls's own directory fd


@clause("runtime.md", "Lifecycle", "step 9: a failing poststart hook fails start; the container is stopped, poststop runs, it is deleted")
def test_failing_poststart_hook_stops_and_deletes(oci, make_bundle, tmp_path):
    log = tmp_path / "order"

    def hook(kind, status):
        return [{"path": "/bin/sh", "args": ["sh", "-c", f"echo {kind} >> {log}; exit {status}"]}]

    bundle, cid = make_bundle(["sleep", "60"], lambda c: c.update(hooks={
        "poststart": hook("poststart", 1), "poststop": hook("poststop", 0)}))
    oci("create", "--bundle", str(bundle), cid, check=True)
    pid = oci.state(cid)["pid"]
    result = oci("start", cid)
    assert result.returncode == 1 and "hooks.poststart[0]" in result.stderr
    assert log.read_text().split() == ["poststart", "poststop"]
    state = oci("state", cid)
    assert state.returncode == 1 and "does not exist" in state.stderr
    assert not process_alive(pid)  # start deleted it: the init was killed and waited for
    # run takes the same path, and leaves nothing either
    log.unlink()
    bundle, cid = make_bundle(["sleep", "60"], lambda c: c.update(hooks={
        "poststart": hook("poststart", 1), "poststop": hook("poststop", 0)}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 1 and "hooks.poststart[0]" in result.stderr
    assert log.read_text().split() == ["poststart", "poststop"]
    assert oci("state", cid).returncode == 1
