"""kill and kill --all in every status, as containerd's runc shim calls them and reads them.

The shim (containerd 1.6, pkg/process) runs `kill [--all] ID SIG` with `--log log.json
--log-format json`; it takes an error whose text says "container not running" or "no such
process" as a process already gone, "does not exist" as a container already gone, and anything
else as "unknown error after kill" (the pod then never stops).  After the init of a container
that shares a pid namespace (a pod's, the host's) exits, it calls `kill --all ID 9` to kill what
is left in the container's cgroup: that must succeed whatever the status."""
import json
import os
import signal

from tests.waiting import process_alive, wait_exited, wait_for_status, wait_until


def _without_pid_namespace(config):
    config["linux"]["namespaces"].remove({"type": "pid"})


def _cgroup_procs(config_path):
    cgroups_path = json.loads(config_path.read_text())["linux"]["cgroupsPath"]
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup"):
        procs = f"{base}{cgroups_path}/cgroup.procs"
        if os.path.exists(procs):
            with open(procs) as listing:
                return [int(line) for line in listing.read().split()]
    raise AssertionError(f"no cgroup.procs for {cgroups_path}")


def _stopped_with_a_straggler(oci, make_bundle):
    """A container sharing the host's pid namespace whose init exited and left a child in the
    cgroup: what a pod container looks like to the shim once its main process ended."""
    bundle, cid = make_bundle(["sh", "-c", "sleep 300 & echo $! > /straggler.pid; exit 0"],
                              _without_pid_namespace)
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    wait_for_status(oci, cid, "stopped")
    straggler = int((bundle / "rootfs" / "straggler.pid").read_text())
    assert process_alive(straggler) and straggler in _cgroup_procs(bundle / "config.json")
    return bundle, cid, straggler


def test_kill_all_of_a_stopped_container_kills_what_is_left_in_its_cgroup(oci, make_bundle,
                                                                          tmp_path):
    bundle, cid, straggler = _stopped_with_a_straggler(oci, make_bundle)
    log = tmp_path / "log.json"
    result = oci("--log", str(log), "--log-format", "json", "kill", "--all", cid, "9")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    wait_exited(straggler)
    assert oci.state(cid)["status"] == "stopped"
    # nothing left: the same call succeeds again (the shim may make it twice)
    again = oci("--log", str(log), "--log-format", "json", "kill", "--all", cid, "KILL")
    assert again.returncode == 0, again.stderr
    assert not log.exists() or "error" not in log.read_text()
    oci("delete", cid, check=True)


def test_kill_all_with_another_signal_reaches_every_process(oci, make_bundle, tmp_path):
    bundle, cid, straggler = _stopped_with_a_straggler(oci, make_bundle)
    oci("kill", "-a", cid, "TERM", check=True)
    wait_exited(straggler)


def test_kill_without_all_of_a_stopped_container_says_container_not_running(oci, make_bundle,
                                                                           tmp_path):
    bundle, cid = make_bundle(["true"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    wait_for_status(oci, cid, "stopped")
    log = tmp_path / "log.json"
    result = oci("--log", str(log), "--log-format", "json", "kill", cid, "9")
    assert result.returncode == 1
    # containerd's checkKillError reads this text (combined output) and the shim the log's
    # last error line: both must say it, in runc's words.
    assert "container not running" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[-1]["level"] == "error" and "container not running" in lines[-1]["msg"]
    assert lines[-1]["time"].endswith("Z")


def test_kill_all_of_a_running_container_with_a_pid_namespace(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "sleep 300 & sleep 300 & wait"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    init = oci.state(cid)["pid"]
    oci("kill", "--all", cid, "KILL", check=True)
    wait_for_status(oci, cid, "stopped")
    wait_exited(init)
    assert _cgroup_procs(bundle / "config.json") == []


def test_kill_all_of_a_created_container(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "300"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    init = oci.state(cid)["pid"]
    oci("kill", "--all", cid, "KILL", check=True)
    wait_exited(init)
    assert oci.state(cid)["status"] == "stopped"
    oci("delete", cid, check=True)


def test_sigkill_of_a_paused_container_thaws_it_so_it_dies(oci, make_bundle):
    for all_processes in ((), ("--all",)):
        bundle, cid = make_bundle(["sleep", "300"])
        oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
        oci("pause", cid, check=True)
        init = oci.state(cid)["pid"]
        oci("kill", *all_processes, cid, "KILL", check=True)
        wait_exited(init)
        assert oci.state(cid)["status"] == "stopped"
        oci("delete", cid, check=True)


def test_kill_all_with_a_caught_signal_keeps_a_paused_container_paused(oci, make_bundle):
    # runc 1.1 thaws the cgroup after signalling whatever the signal; a paused container stays
    # paused here and gets the signal when resumed (only SIGKILL thaws, as above).  A caught
    # signal: on cgroup v2 a fatal one (SIGTERM without a handler) kills a frozen process
    # without a thaw (the kernel's cgroup-v2.rst, "Processes in the frozen cgroup can be killed
    # by a fatal signal"), on v1 it waits for the thaw: a handler makes both hosts the same.
    # No pid namespace: the shell is not a pid 1, whose signals the kernel treats apart.
    bundle, cid = make_bundle(["sh", "-c", "trap 'exit 7' USR1; while :; do sleep 1; done"],
                              _without_pid_namespace)
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    init = oci.state(cid)["pid"]
    usr1 = 1 << signal.SIGUSR1 - 1
    wait_until(lambda: _caught_signals(init) & usr1, "the shell's USR1 trap")
    oci("pause", cid, check=True)
    oci("kill", "--all", cid, "USR1", check=True)
    # Not "still paused a while later": kill has returned, so a thaw would already show, and
    # the USR1 it sent is there, pending on the frozen shell (delivered, not acted on).
    assert oci.state(cid)["status"] == "paused"
    assert _pending_signals(init) & usr1
    oci("resume", cid, check=True)
    wait_for_status(oci, cid, "stopped")


def _caught_signals(pid):
    """The mask of the signals process ``pid`` has a handler for."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["SigCgt"], 16)


def _pending_signals(pid):
    """The mask of the signals pending on process ``pid`` (its own and its thread group's)."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["SigPnd"], 16) | int(fields["ShdPnd"], 16)


def test_kill_of_an_unknown_container_says_does_not_exist(oci):
    for args in (("kill", "nope", "9"), ("kill", "--all", "nope", "9")):
        result = oci(*args)
        assert result.returncode == 1
        assert "does not exist" in result.stderr, result.stderr
