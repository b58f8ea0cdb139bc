"""What the container side does for the process, as runc and crun do it (issue 10, point 6):
HOME, a missing cwd, mount destinations through dangling symlinks, tmpfs modes, bind sources a
user namespace cannot reach, the owner of an exec's pty and of stdio files, and `exec --cap`
(CVE-2022-29162: never inheritable)."""
import json
import os
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "user:x:1000:1000:user:/home/user:/bin/sh\n"
          "nobody:x:65534:65534::/nonexistent:/bin/sh\n")
CAP_NET_RAW = 13


def with_passwd(bundle):
    (bundle / "rootfs" / "etc" / "passwd").write_text(PASSWD)
    return bundle


def user(uid, gid=None):
    def edit(config):
        config["process"]["user"] = {"uid": uid, "gid": uid if gid is None else gid}
    return edit


# -- HOME -----------------------------------------------------------------------------------

@pytest.mark.parametrize("uid, home", [(0, "/root"), (1000, "/home/user"), (4242, "/")])
def test_run_sets_home_from_passwd(oci, make_bundle, uid, home):
    bundle, cid = make_bundle(["sh", "-c", "echo $HOME"], user(uid))
    result = oci("run", "--bundle", str(with_passwd(bundle)), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == home


def test_home_is_looked_up_by_the_whole_uid_field(oci, make_bundle):
    """The image's passwd is parsed with no trust: "1000x" or "+1000" is not uid 1000 (it was,
    read with strtoul); the entry whose uid is exactly 1000 gives HOME."""
    bundle, cid = make_bundle(["sh", "-c", "echo $HOME"], user(1000))
    (bundle / "rootfs" / "etc" / "passwd").write_text(
        "odd:x:1000x:1000::/odd:/bin/sh\nplus:x:+1000:1000::/plus:/bin/sh\n"
        "user:x:1000:1000:user:/home/user:/bin/sh\n")
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.stdout.strip() == "/home/user", result.stderr


def test_home_given_in_env_is_kept(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "echo $HOME"],
                              lambda c: c["process"]["env"].append("HOME=/given"))
    result = oci("run", "--bundle", str(with_passwd(bundle)), cid)
    assert result.stdout.strip() == "/given", result.stderr


def test_exec_sets_home_from_passwd(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["sleep", "60"])
    oci("run", "--detach", "--bundle", str(with_passwd(bundle)), cid, check=True)
    show = ["sh", "-c", "echo $HOME"]
    assert oci("exec", cid, *show, check=True).stdout.strip() == "/root"
    assert oci("exec", "--user", "1000:1000", cid, *show, check=True).stdout.strip() == \
        "/home/user"
    assert oci("exec", "--user", "4242", cid, *show, check=True).stdout.strip() == "/"
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": show, "cwd": "/", "env": ["PATH=/bin"],
                                   "user": {"uid": 1000, "gid": 1000}}))
    assert oci("exec", "--process", str(process), cid, check=True).stdout.strip() == \
        "/home/user"


# -- cwd ------------------------------------------------------------------------------------

@pytest.mark.parametrize("readonly", [False, True])
def test_a_missing_cwd_is_created_in_the_rootfs(oci, make_bundle, readonly):
    cwd = f"/oci-missing-{uuid.uuid4().hex[:8]}/deeper"

    def edit(config):
        config["process"]["cwd"] = cwd
        config["root"]["readonly"] = readonly

    bundle, cid = make_bundle(["pwd"], edit)
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == cwd
    assert (bundle / "rootfs" / cwd.lstrip("/")).is_dir()
    assert not os.path.exists(cwd.split("/deeper")[0])


def test_a_cwd_only_root_may_enter_is_the_cwd_of_a_non_root_process(oci, make_bundle, tmp_path):
    """As runc (finalizeNamespace): the cwd is entered before the user changes, so a user
    other than root runs in /root (0700) instead of failing with EACCES; for create/start
    and for exec alike."""
    bundle, cid = make_bundle(["sh", "-c", "pwd; ls . >/dev/null 2>&1 || echo cannot-list"],
                              lambda config: (user(1000)(config),
                                              config["process"].update(cwd="/root")))
    (bundle / "rootfs" / "root").chmod(0o700)
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/root", "cannot-list"]
    running, running_id = make_bundle(["sleep", "100"])
    (running / "rootfs" / "root").chmod(0o700)
    oci("run", "--detach", "--bundle", str(running), running_id, check=True)
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": ["pwd"], "cwd": "/root", "user": {"uid": 1000,
                                                                              "gid": 1000}}))
    result = oci("exec", "--process", str(process), running_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/root"


def test_a_cwd_nobody_may_enter_still_fails_naming_the_field(oci, make_bundle):
    bundle, cid = make_bundle(["pwd"], lambda config: config["process"].update(cwd="/file"))
    (bundle / "rootfs" / "file").write_text("not a directory")
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert "/process/cwd" in result.stderr and "Not a directory" in result.stderr, result.stderr


# -- mount destinations and tmpfs modes -----------------------------------------------------

@pytest.mark.parametrize("target", ["absolute", "relative"])
def test_a_dangling_symlink_destination_resolves_inside_the_rootfs(oci, make_bundle, target):
    name = f"oci-dangling-{uuid.uuid4().hex[:8]}"
    link_target = f"/{name}/inside" if target == "absolute" else f"../../../../{name}/inside"

    def edit(config):
        config["mounts"].append({"destination": "/data/link", "type": "tmpfs",
                                 "source": "tmpfs", "options": ["nosuid"]})

    bundle, cid = make_bundle(["sh", "-c", f"stat -f -c %T /{name}/inside; stat -f -c %T /"],
                              edit)
    (bundle / "rootfs" / "data").mkdir()
    (bundle / "rootfs" / "data" / "link").symlink_to(link_target)
    result = oci("run", "--bundle", str(bundle), cid)
    assert not os.path.exists(f"/{name}"), "a directory was created on the host"
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "tmpfs", result.stdout
    assert (bundle / "rootfs" / name / "inside").is_dir()


@pytest.mark.parametrize("kind, destination", [("proc", "/proc"), ("sysfs", "/sys")])
def test_proc_and_sys_on_a_symlink_are_refused_with_their_pointer(oci, make_bundle, tmp_path,
                                                                 kind, destination):
    """runc: 'filesystem "proc" must be mounted on ordinary directory'.  Followed inside the
    root, the mount would land wherever the image's link points (CVE-2019-16884's class)."""
    bundle, cid = make_bundle(["true"])
    config = json.loads((bundle / "config.json").read_text())
    index = next(i for i, m in enumerate(config["mounts"]) if m["type"] == kind)
    rootfs = bundle / "rootfs"
    (rootfs / destination.lstrip("/")).rmdir()
    (rootfs / "elsewhere").mkdir()
    (rootfs / destination.lstrip("/")).symlink_to("/elsewhere")
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert f'config.json: /mounts/{index}: filesystem "{kind}" must be mounted on ordinary ' \
           f"directory: {destination} in the rootfs is a symlink to /elsewhere" in result.stderr
    assert not os.listdir(rootfs / "elsewhere")


def test_a_bind_source_under_an_earlier_mount_is_resolved_when_it_is_mounted(oci, make_bundle,
                                                                              tmp_path):
    """runc resolves each source in its turn: a source inside the rootfs below an earlier
    mount's destination is what that mount put there, not what the image has."""
    volume = tmp_path / "volume"
    (volume / "sub").mkdir(parents=True)
    (volume / "sub" / "marker").write_text("from the volume\n")
    (volume / "file").write_text("a file from the volume\n")

    def edit(config):
        rootfs = config["root"]["path"]
        config["mounts"] += [
            {"destination": "/data", "type": "bind", "source": str(volume), "options": ["rbind"]},
            {"destination": "/again", "type": "bind", "source": f"{rootfs}/data/sub",
             "options": ["rbind"]},
            {"destination": "/one-file", "type": "bind", "source": f"{rootfs}/data/file",
             "options": ["bind"]}]
    bundle, cid = make_bundle(["sh", "-c", "cat /again/marker /one-file"], edit)
    config = json.loads((bundle / "config.json").read_text())
    config["root"]["path"] = str(bundle / "rootfs")
    for mount in config["mounts"]:
        mount["source"] = mount["source"].replace("rootfs/", f"{bundle}/rootfs/", 1) \
            if mount["source"].startswith("rootfs/") else mount["source"]
    (bundle / "config.json").write_text(json.dumps(config))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "from the volume\na file from the volume\n"


def test_a_bind_source_missing_when_mounted_names_the_mount(oci, make_bundle, tmp_path):
    missing = tmp_path / "never-made"
    bundle, cid = make_bundle(["true"], lambda config: config["mounts"].append(
        {"destination": "/x", "type": "bind", "source": str(missing), "options": ["bind"]}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    index = len(json.loads((bundle / "config.json").read_text())["mounts"]) - 1
    assert f"config.json: /mounts/{index}: mounting '{missing}' on /x: No such file or " \
           "directory" in result.stderr, result.stderr


@pytest.mark.parametrize("case", ["file through a dangling component",
                                  "file ending in a dangling symlink",
                                  "directory through a dangling component",
                                  "directory ending in a dangling symlink"])
def test_bind_destinations_through_dangling_symlinks_are_made_inside_the_rootfs(
        oci, make_bundle, tmp_path, case):
    """As runc: a dangling symlink on the way to a bind's destination, or at its end, is
    followed inside the rootfs and what it names is created there."""
    name = f"oci-dangling-{uuid.uuid4().hex[:8]}"
    source = tmp_path / "source"
    if case.startswith("file"):
        source.write_text("bound\n")
    else:
        source.mkdir()
        (source / "marker").write_text("bound\n")
    destination = "/link/inner" if "component" in case else "/link"
    bundle, cid = make_bundle(["sh", "-c", "cat /link/inner/marker /link/inner /link/marker /link"
                                           " 2>/dev/null; true"],
                              lambda config: config["mounts"].append(
                                  {"destination": destination, "type": "bind",
                                   "source": str(source), "options": ["bind"]}))
    (bundle / "rootfs" / "link").symlink_to(f"/{name}/target")
    result = oci("run", "--bundle", str(bundle), cid)
    assert not os.path.exists(f"/{name}"), "something was created on the host"
    assert result.returncode == 0, result.stderr
    assert result.stdout == "bound\n", result.stdout
    made = bundle / "rootfs" / name / "target"
    assert made.exists() or made.is_symlink()


def test_a_tmpfs_without_mode_takes_the_mode_of_its_directory(oci, make_bundle):
    def edit(config):
        for name in ("sticky", "private"):
            config["mounts"].append({"destination": f"/{name}", "type": "tmpfs",
                                     "source": "tmpfs", "options": ["nosuid", "size=1m"]})
        config["mounts"].append({"destination": "/given", "type": "tmpfs", "source": "tmpfs",
                                 "options": ["mode=750"]})

    bundle, cid = make_bundle(["sh", "-c", "stat -c %a /sticky /private /given; "
                                          "stat -f -c %T /sticky /private"], edit)
    for name, mode in (("sticky", 0o1777), ("private", 0o700), ("given", 0o711)):
        (bundle / "rootfs" / name).mkdir()
        (bundle / "rootfs" / name).chmod(mode)
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert [lines[0], lines[1], lines[2]] == ["1777", "700", "750"], result.stdout
    assert lines[-2:] == ["tmpfs", "tmpfs"]


# -- bind sources and user namespaces -------------------------------------------------------

def test_a_bind_source_under_a_root_only_directory_mounts_in_a_user_namespace(
        oci, make_bundle, tmp_path, shifted_bundle):
    hidden = tmp_path / "root-only"
    hidden.mkdir(mode=0o700)
    source = hidden / "shared"
    source.mkdir()
    (source / "file").write_text("reachable\n")

    def edit(config):
        config["mounts"].append({"destination": "/mnt/shared", "type": "bind",
                                 "source": str(source), "options": ["rbind", "ro"]})

    original, cid = make_bundle(["sh", "-c", "id -u; cat /mnt/shared/file"], edit)
    bundle = shifted_bundle(original)
    assert os.stat(hidden).st_mode & 0o777 == 0o700 and os.stat(hidden).st_uid == 0
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "reachable"]


# -- ownership of the terminal and of stdio -------------------------------------------------

def test_exec_tty_user_owns_its_pty(oci, make_bundle, tmp_path):
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "terminal"))
    try:
        from test_terminal import ConsoleReceiver
    finally:
        sys.path.pop(0)
    bundle, cid = make_bundle(["sleep", "60"])
    oci("run", "--detach", "--bundle", str(with_passwd(bundle)), cid, check=True)
    receiver = ConsoleReceiver(tmp_path)
    try:
        oci("exec", "--tty", "--detach", "--console-socket", receiver.path, "--user", "1000:1000",
            cid, "sh", check=True)
        receiver.receive()
        output = receiver.converse("stat -c owner=%u $(tty); id -u; echo do''ne\n", "done")
        assert "owner=1000" in output, output
        receiver.converse("exit\n", "exit")
    finally:
        receiver.close()


def test_stdio_files_are_given_to_the_process_user_but_dev_null_is_not(oci, make_bundle,
                                                                       tmp_path):
    bundle, cid = make_bundle(["sh", "-c", "echo out; echo err >&2"], user(1000, 1001))
    out, err = tmp_path / "out", tmp_path / "err"
    null_owner = os.stat("/dev/null")
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        completed = subprocess.run(oci.command + ["--root", oci.root, "run", "--bundle",
                                                  str(bundle), cid],
                                   stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                   timeout=60)
    assert completed.returncode == 0, err.read_text()
    assert out.read_text() == "out\n" and err.read_text() == "err\n"
    for path in (out, err):
        assert (os.stat(path).st_uid, os.stat(path).st_gid) == (1000, 1001), path
    after = os.stat("/dev/null")
    assert (after.st_uid, after.st_gid, after.st_mode) == \
        (null_owner.st_uid, null_owner.st_gid, null_owner.st_mode)


def test_exec_user_stdio_file_is_given_to_the_user(oci, make_bundle, tmp_path):
    bundle, cid = make_bundle(["sleep", "60"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    out = tmp_path / "exec-out"
    with open(out, "wb") as stdout:
        completed = subprocess.run(oci.command + ["--root", oci.root, "exec", "--user",
                                                  "1000:1000", cid, "id", "-u"],
                                   stdin=subprocess.DEVNULL, stdout=stdout,
                                   stderr=subprocess.PIPE, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert out.read_text().strip() == "1000"
    assert os.stat(out).st_uid == 1000


# -- exec --cap (CVE-2022-29162) ------------------------------------------------------------

def capability_sets(status):
    sets = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            sets[key] = int(value.strip(), 16)
    return sets


def test_exec_cap_is_never_inheritable(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "60"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    plain = capability_sets(oci("exec", cid, "cat", "/proc/self/status", check=True).stdout)
    assert not plain["CapBnd"] & (1 << CAP_NET_RAW)  # not in the default set: --cap adds it
    sets = capability_sets(oci("exec", "--cap", "CAP_NET_RAW", cid, "cat", "/proc/self/status",
                               check=True).stdout)
    for name in ("CapBnd", "CapPrm", "CapEff"):
        assert sets[name] & (1 << CAP_NET_RAW), (name, sets)
    assert sets["CapInh"] == plain["CapInh"] == 0, sets
    # The kernel keeps ambient capabilities within the inheritable set: with nothing
    # inheritable, nothing is ambient either (runc drops the ambient raise the same way).
    assert sets["CapAmb"] & ~sets["CapInh"] == 0, sets


# -- failures after `start` released --------------------------------------------------------

DYNAMIC_PROGRAM = "int main(void) { return 0; }\n"


@pytest.fixture
def program_without_its_loader(compile_c):
    """A dynamically linked program: in the busybox rootfs its ELF interpreter is missing, so
    execve fails with ENOENT although the file is there and executable."""
    return compile_c("dynamic_true", DYNAMIC_PROGRAM)


def test_an_execve_failure_after_start_is_reported(oci, make_bundle, program_without_its_loader):
    import shutil

    bundle, cid = make_bundle(["/dyn"])
    shutil.copy(program_without_its_loader, bundle / "rootfs" / "dyn")
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert "/dyn" in result.stderr and "no such file or directory" in result.stderr.lower(), \
        (result.returncode, result.stderr)


def test_an_execve_failure_of_exec_is_reported(oci, make_bundle, program_without_its_loader):
    import shutil

    bundle, cid = make_bundle(["sleep", "60"])
    shutil.copy(program_without_its_loader, bundle / "rootfs" / "dyn")
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    result = oci("exec", cid, "/dyn")
    assert result.returncode != 0
    assert "/dyn" in result.stderr and "no such file or directory" in result.stderr.lower(), \
        (result.returncode, result.stderr)


# runc 1.5.1 failed 3 creates of 20 here (openat2's EAGAIN retried 32 times, then given up);
# ours fall back to a userspace walk (cext/walk.c), which renames do not disturb: none may fail.
CONTAINERS_UNDER_CHURN = 50


@pytest.fixture
def rename_churn(tmp_path):
    """Renames, as fast as one process can, somewhere on the host: what other containers'
    state files (written by rename) do on a busy host.  Every rename bumps the kernel's
    rename_lock seqcount, which openat2(RESOLVE_IN_ROOT) checks at each '..'."""
    directory = tmp_path / "churn"
    directory.mkdir()
    (directory / "a").write_text("")
    (directory / "b").write_text("")
    churners = [subprocess.Popen([sys.executable, "-c", (
        "import os, sys\n"
        "os.chdir(sys.argv[1])\n"
        "while True:\n"
        "    os.rename(sys.argv[2], sys.argv[2] + '.moved')\n"
        "    os.rename(sys.argv[2] + '.moved', sys.argv[2])\n"), str(directory), name])
        for name in ("a", "b")]
    try:
        yield
    finally:
        for churn in churners:
            churn.kill()
            churn.wait()


@pytest.mark.slow
def test_a_destination_through_dot_dot_survives_concurrent_renames(oci, make_bundle,
                                                                   rename_churn):
    """50 containers, each with a mount destination reached through a symlink of 200 '..': with
    the host renaming all the time, openat2 refuses every attempt (EAGAIN); every create must
    succeed anyway, whatever the speed of the machine."""
    failures = []
    for attempt in range(CONTAINERS_UNDER_CHURN):
        def edit(config):
            config["mounts"].append({"destination": "/data/link", "type": "tmpfs",
                                     "source": "tmpfs", "options": ["nosuid"]})

        bundle, cid = make_bundle(["sh", "-c", "grep -q ' /tmp tmpfs ' /proc/mounts"], edit)
        (bundle / "rootfs" / "data").mkdir()
        (bundle / "rootfs" / "data" / "link").symlink_to("../" * 200 + "tmp")  # each .. is a check
        result = oci("run", "--bundle", str(bundle), cid)
        if result.returncode != 0:
            failures.append(f"{attempt}: {result.returncode} {result.stderr.strip()}")
        oci("delete", "--force", cid)
    assert failures == []
