"""create as a transaction: a failure or a signal after the init exists leaves nothing (no init,
no cgroup, no state directory), at once, with one line saying what failed."""
import json
import os
import signal
import subprocess
import time

import pytest

from tests.waiting import FAILURE_AFTER, wait_until


def cgroup_dirs(cgroups_path):
    """The container's cgroup directories that exist, on every v1 hierarchy (or v2)."""
    found = []
    for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if not os.path.isdir(base):
            continue
        for controller in [base] + [os.path.join(base, c) for c in os.listdir(base)]:
            path = controller + cgroups_path
            if os.path.isdir(path):
                found.append(path)
    return found


def config_of(bundle):
    return json.loads((bundle / "config.json").read_text())


def write_config(bundle, config):
    (bundle / "config.json").write_text(json.dumps(config))


def assert_nothing_left(oci, bundle, cid):
    """No state directory (nor temporary file) in the root, no cgroup (an init left alive in it
    would keep it), and `state` says the container does not exist."""
    leftovers = [n for n in os.listdir(oci.root) if not n.startswith(".")] if os.path.isdir(oci.root) else []
    assert leftovers == [], leftovers
    assert cgroup_dirs(config_of(bundle)["linux"]["cgroupsPath"]) == []
    assert "does not exist" in oci("state", cid).stderr


def test_a_pid_file_in_a_missing_directory_fails_at_once_and_leaves_nothing(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "30"])
    result = oci("create", "--bundle", str(bundle), "--pid-file", "/nonexistent/x", cid)
    assert result.returncode == 1
    assert result.stderr.startswith("oci-runtime: --pid-file /nonexistent/x: ")
    assert result.stderr.count("\n") == 1
    assert_nothing_left(oci, bundle, cid)


def test_a_pid_file_that_fails_after_the_init_exists_undoes_everything(oci, make_bundle, tmp_path):
    """The pid file is written last, once the init exists: a full filesystem there must undo the
    whole container at once (it used to leave the init running in its cgroup after a 50 s wait,
    and name the temporary file)."""
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(full)], check=True)
    try:
        with open(full / "filler", "wb") as filler:
            try:
                filler.write(b"\0" * 65536)
            except OSError:
                pass
        bundle, cid = make_bundle(["sleep", "30"])
        started = time.monotonic()
        result = oci("create", "--bundle", str(bundle), "--pid-file", str(full / "pid"), cid)
        elapsed = time.monotonic() - started
    finally:
        subprocess.run(["umount", "-l", str(full)], check=True)
    assert result.returncode == 1
    assert result.stderr == (f"oci-runtime: --pid-file {full}/pid: writing the pid: "
                             "No space left on device\n")
    # Not a measure of speed: a bound far under the 50 s wait this guards against, far over
    # what a loaded host adds to a create.
    assert elapsed < 30, f"create took {elapsed:.1f} s to fail"
    assert_nothing_left(oci, bundle, cid)


def _hold_create(oci, bundle, cid, hook):
    """Start `create` held half-way by a hook that never ends; returns the process once the
    hook runs (its init exists, is in its cgroup)."""
    config = config_of(bundle)
    marker = bundle / "hook-started"
    config["hooks"] = {hook: [{"path": "/bin/sh",
                               "args": ["sh", "-c", f": > {marker}; exec sleep 60"]}]}
    write_config(bundle, config)
    err = open(bundle / "create.err", "w+")
    creator = subprocess.Popen(oci.command + ["--root", oci.root, "create", "--bundle", str(bundle), cid],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)

    def hook_ran():
        assert creator.poll() is None, "create ended before its hook ran"
        return marker.exists()
    wait_until(hook_ran, f"the {hook} hook to run")
    return creator, err


# createRuntime runs in the runtime (the parent), createContainer in the container's init: both
# leave a process that the undo must end (the hook's child, or the init's, in its cgroup).
@pytest.mark.parametrize("hook", ["createRuntime", "createContainer"])
@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["TERM", "INT", "HUP"])
def test_a_signal_during_create_undoes_everything(oci, make_bundle, hook, signal_number):
    bundle, cid = make_bundle(["sleep", "30"])
    creator, err = _hold_create(oci, bundle, cid, hook)
    assert cgroup_dirs(config_of(bundle)["linux"]["cgroupsPath"])
    creator.send_signal(signal_number)
    started = time.monotonic()
    code = creator.wait(timeout=FAILURE_AFTER)
    elapsed = time.monotonic() - started
    err.seek(0)
    message = err.read()
    err.close()
    assert code == 1
    name = signal.Signals(signal_number).name
    assert message == f"oci-runtime: create interrupted by {name}; everything it made was undone\n"
    # The undo ends the hook (sleep 60) and the init rather than waiting for them: a bound far
    # under that, far over what a loaded host adds.
    assert elapsed < 30, f"the undo took {elapsed:.1f} s"
    assert_nothing_left(oci, bundle, cid)


@pytest.mark.parametrize("mount", [
    {"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["size=banana"]},
    {"destination": "/mnt", "type": "nosuchfs", "source": "x"},
], ids=["size=banana", "unknown-fs-type"])
def test_an_init_failing_before_the_cgroup_is_ready_is_reported_every_time(oci, make_bundle, mount):
    """The init fails before it reads "cgroup-ready": the parent's send gets EPIPE (or its next
    receive ECONNRESET).  The init's error frame must be read and reported, not dropped as if
    stdout had been closed (the CLI's BrokenPipeError)."""
    def edit(config):
        config["mounts"].insert(0, mount)
    bundle, cid = make_bundle(["true"], edit)
    (bundle / "rootfs" / "mnt").mkdir()
    for _ in range(10):
        result = oci("create", "--bundle", str(bundle), cid)
        assert result.returncode == 1
        assert result.stderr.startswith("oci-runtime: config.json: /mounts/0: mounting "), result.stderr
        assert result.stderr.count("\n") == 1
        assert_nothing_left(oci, bundle, cid)


def test_a_config_json_fifo_fails_at_once(oci, make_bundle):
    bundle, cid = make_bundle(["true"])
    (bundle / "config.json").unlink()
    os.mkfifo(bundle / "config.json")
    result = oci("create", "--bundle", str(bundle), cid)  # a create blocked on it times out
    assert result.returncode == 1
    assert result.stderr == f"oci-runtime: {bundle}/config.json: not a regular file\n"


def test_the_longest_id_with_a_long_root(make_bundle, tmp_path, runtime_at):
    """<root>/<id>/start.sock far beyond sockaddr_un's 108 bytes: bound and reached through a
    directory fd.  255 characters is runc's longest id (a directory name)."""
    oci = runtime_at(tmp_path / ("r" * 150) / "state")
    bundle, _ = make_bundle(["sleep", "30"])
    cid = "a" * 255
    try:
        oci("create", "--bundle", str(bundle), cid, check=True)
        assert oci.state(cid)["status"] == "created"
        oci("start", cid, check=True)
        assert oci.state(cid)["status"] == "running"
        oci("kill", cid, "KILL", check=True)
        oci("delete", "--force", cid, check=True)
        assert "does not exist" in oci("state", cid).stderr
        too_long = oci("create", "--bundle", str(bundle), "a" * 256)
        assert too_long.returncode == 1 and "at most 255" in too_long.stderr
    finally:
        oci.cleanup()


def test_a_closed_stdout_is_still_a_quiet_exit(oci, make_bundle):
    """The one EPIPE that is not reported: nobody reads stdout any more (`list | true`)."""
    bundle, cid = make_bundle(["sleep", "30"])
    oci("create", "--bundle", str(bundle), cid, check=True)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        listing = subprocess.run(oci.command + ["--root", oci.root, "list"], stdout=write_end,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                 timeout=30)
    finally:
        os.close(write_end)
    assert listing.returncode == 1
    assert listing.stderr == ""
