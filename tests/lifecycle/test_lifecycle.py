"""create -> start -> state -> kill -> delete with real containers, and the error cases."""
import json
import os

import pytest

from tests.waiting import (process_alive, program_of, wait_for_file, wait_for_program,
                           wait_for_status)


def test_run_prints_pid_1_and_hostname_and_exits_with_the_code(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "echo $$; hostname; exit 3"],
                              lambda c: c.update(hostname="box-one"))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 3, result.stderr
    assert result.stdout.split() == ["1", "box-one"]
    assert not os.path.exists(os.path.join(oci.root, cid))


def test_full_lifecycle(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["sleep", "30"])
    pid_file = tmp_path / "init.pid"
    oci("create", "--bundle", str(bundle), "--pid-file", str(pid_file), cid, check=True)
    state = oci.state(cid)
    assert state["status"] == "created"
    assert state["id"] == cid and state["bundle"] == str(bundle)
    assert int(pid_file.read_text()) == state["pid"]
    # created: the init exists but has not executed the user program yet
    assert "sleep" not in program_of(state["pid"])
    oci("start", cid, check=True)
    assert oci.state(cid)["status"] == "running"
    # start returns once the init is past all but execve (as runc's): then it runs the program
    wait_for_program(state["pid"], ["sleep", "30"])
    oci("kill", cid, "KILL", check=True)
    wait_for_status(oci, cid, "stopped")
    oci("delete", cid, check=True)
    result = oci("state", cid)
    assert result.returncode != 0 and "does not exist" in result.stderr


def test_state_json_has_spec_fields(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"], lambda c: c.update(annotations={"k": "v"}))
    oci("create", "--bundle", str(bundle), cid, check=True)
    state = oci.state(cid)
    for key in ("ociVersion", "id", "status", "pid", "bundle", "annotations", "rootfs", "created"):
        assert key in state
    assert state["annotations"] == {"k": "v"}
    assert state["rootfs"] == str(bundle / "rootfs")


def test_duplicate_id_is_refused_and_keeps_the_first(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    first_pid = oci.state(cid)["pid"]
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "already exists" in result.stderr
    assert oci.state(cid)["pid"] == first_pid


def test_start_twice_is_an_error(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    oci("start", cid, check=True)
    result = oci("start", cid)
    assert result.returncode != 0 and "running" in result.stderr


def test_kill_of_stopped_container_is_an_error(oci, make_bundle):
    bundle, cid = make_bundle(["true"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    oci("start", cid, check=True)
    wait_for_status(oci, cid, "stopped")
    result = oci("kill", cid, "TERM")
    assert result.returncode != 0 and "not running" in result.stderr


def test_delete_running_needs_force(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    oci("start", cid, check=True)
    pid = oci.state(cid)["pid"]
    result = oci("delete", cid)
    assert result.returncode != 0 and "running" in result.stderr
    assert oci.state(cid)["status"] == "running"
    oci("delete", "--force", cid, check=True)
    assert not process_alive(pid)  # delete --force waits for the init it killed


def test_unknown_container_errors(oci):
    for args in (("state", "nope"), ("start", "nope"), ("kill", "nope"), ("delete", "nope")):
        result = oci(*args)
        assert result.returncode != 0
        assert "does not exist" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_ids_are_refused(oci, make_bundle):
    bundle, _ = make_bundle(["true"])
    for bad in ("../escape", "a/b", ".."):
        result = oci("create", "--bundle", str(bundle), bad)
        assert result.returncode != 0 and "invalid container id" in result.stderr


def test_signal_names_and_numbers(oci, make_bundle):
    # /trapped says the handler is installed (a fixed sleep could lose that race); the handler
    # leaves /got-usr1, so only a delivered SIGUSR1, not any signal, passes.
    bundle, cid = make_bundle(["sh", "-c", "trap 'touch /got-usr1; exit 42' USR1; touch /trapped; "
                                           "while true; do sleep 0.1; done"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    oci("start", cid, check=True)
    wait_for_file(bundle / "rootfs" / "trapped")
    oci("kill", cid, "SIGUSR1", check=True)
    wait_for_status(oci, cid, "stopped")
    assert (bundle / "rootfs" / "got-usr1").exists()
    result = oci("kill", cid, "9")
    assert result.returncode != 0


def test_malformed_config_names_the_field_and_leaves_nothing(oci, make_bundle):
    bundle, cid = make_bundle(["true"], lambda c: c["process"].update(args=[]))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert "/process/args" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not os.path.exists(os.path.join(oci.root, cid))


def test_invalid_json_reports_position(oci, make_bundle):
    bundle, cid = make_bundle(["true"])
    (bundle / "config.json").write_text('{"ociVersion": "1.0.2",\n "process": }')
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "line 2" in result.stderr


def test_missing_rootfs(oci, make_bundle):
    bundle, cid = make_bundle(["true"], lambda c: c["root"].update(path="nowhere"))
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "/root/path" in result.stderr and "nowhere" in result.stderr
    assert not os.path.exists(os.path.join(oci.root, cid))


def test_missing_executable_fails_create_cleanly(oci, make_bundle):
    bundle, cid = make_bundle(["no-such-program"])
    result = oci("create", "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "no-such-program" in result.stderr
    assert not os.path.exists(os.path.join(oci.root, cid))


def test_list_shows_containers(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    listed = json.loads(oci("list", "--format", "json", check=True).stdout)
    assert [(c["id"], c["status"]) for c in listed] == [(cid, "created")]
    assert oci("list", "-q", check=True).stdout.split() == [cid]


def test_run_detach(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    assert oci.state(cid)["status"] == "running"


def test_log_json_records_the_error(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["no-such-program"])
    log = tmp_path / "log.json"
    result = oci("--log", str(log), "--log-format", "json", "create", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    last = json.loads(log.read_text().strip().splitlines()[-1])
    assert last["level"] == "error" and "no-such-program" in last["msg"] and "time" in last


@pytest.mark.parametrize("signal_name", ["TERM", "SIGTERM", "15"])
def test_kill_default_and_forms(oci, make_bundle, signal_name):
    # pid 1 of a pid namespace only receives signals it handles: trap TERM, and wait until the
    # trap is set (a TERM sent before would be dropped and the container would run on).
    bundle, cid = make_bundle(["sh", "-c", "trap 'touch /got-term; exit 0' TERM; touch /trapped; "
                                           "while :; do sleep 0.1; done"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    wait_for_file(bundle / "rootfs" / "trapped")
    oci("kill", cid, signal_name, check=True)
    wait_for_status(oci, cid, "stopped")
    assert (bundle / "rootfs" / "got-term").exists()


def test_concurrent_creates_of_one_id_make_one_container(oci, make_bundle, tmp_path):
    import subprocess

    bundle, cid = make_bundle(["sleep", "30"])
    # stderr to files: the winner's init inherits it (a pipe would stay open while it sleeps)
    logs = [open(tmp_path / f"racer-{index}.err", "w+") for index in range(4)]
    racers = [subprocess.Popen(oci.command + ["--root", oci.root, "create", "--bundle", str(bundle), cid],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
              for log in logs]
    codes = [racer.wait(timeout=60) for racer in racers]
    errors = []
    for log in logs:
        log.seek(0)
        errors.append(log.read())
        log.close()
    assert sorted(codes) == [0, 1, 1, 1]
    assert all("already exists" in err for code, err in zip(codes, errors) if code)
    assert oci.state(cid)["status"] == "created"


def test_concurrent_kill_and_delete_are_serialised(oci, make_bundle):
    import subprocess

    bundle, cid = make_bundle(["sleep", "30"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    racers = [subprocess.Popen(oci.command + ["--root", oci.root, *args],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
              for args in (("delete", "--force", cid), ("kill", cid, "KILL"), ("delete", "--force", cid))]
    codes = [racer.wait(timeout=60) for racer in racers]
    assert codes[0] == 0 or codes[2] == 0
    assert "does not exist" in oci("state", cid).stderr


def test_rootfs_propagation_is_applied(oci, make_bundle):
    def edit(config):
        config["linux"]["rootfsPropagation"] = "rshared"
    bundle, cid = make_bundle(["awk", "$5 == \"/\"", "/proc/self/mountinfo"], edit)
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert "shared:" in result.stdout


def test_term_stops_a_created_container(oci, make_bundle):
    # runc's created container dies on SIGTERM; pid 1 of a pid namespace only gets handled signals
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    oci("kill", cid, "TERM", check=True)
    wait_for_status(oci, cid, "stopped")


def test_a_create_killed_half_way_can_be_deleted(oci, make_bundle, tmp_path, cgroup_dirs):
    """A create that dies (SIGKILL) before finishing leaves a directory; it must read as stopped
    and `delete` must remove it, not report 'creating' forever."""
    import signal
    import subprocess

    bundle, cid = make_bundle(["true"])
    # A createRuntime hook that never ends holds create half-way.
    hook_running = tmp_path / "hook-running"
    hold = {"createRuntime": [{"path": "/bin/sh",
                               "args": ["sh", "-c", f"touch {hook_running}; exec sleep 60"]}]}
    config = json.loads((bundle / "config.json").read_text())
    config["hooks"] = hold
    (bundle / "config.json").write_text(json.dumps(config))
    creator = subprocess.Popen(oci.command + ["--root", oci.root, "create", "--bundle", str(bundle), cid],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_file(os.path.join(oci.root, cid, "state.json"))  # create reserved the id
        wait_for_status(oci, cid, "creating")
        wait_for_file(hook_running)
        # createRuntime hooks run once the cgroup is made, in every hierarchy
        directories = cgroup_dirs(bundle)
        assert all(os.path.isdir(d) for d in directories)
        assert "being created" in oci("delete", cid).stderr
    finally:
        os.killpg(creator.pid, signal.SIGKILL)  # the create, its hook and its forked init
        creator.wait()
    wait_for_status(oci, cid, "stopped")
    oci("delete", cid, check=True)
    assert "does not exist" in oci("state", cid).stderr
    assert [d for d in directories if os.path.exists(d)] == []
