"""Fixtures for running the runtime as a non-root user (imported by the tests that need them).

* ``shared_install``: the worktree installed for all users by scripts/install-system (a venv on
  the system's interpreter) in a temporary directory others can traverse: the worktree's own
  .venv may run an interpreter under /root, which other users cannot execute.  Once a session.
* ``rootless_user``: a new user with a home in a temporary directory, subordinate uid and gid
  ranges in /etc/subuid and /etc/subgid, and an $XDG_RUNTIME_DIR; the user, its entries (and the
  files, if the test made them) are removed at teardown.
"""
import contextlib
import fcntl
import json
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUBORDINATE_COUNT = 65536
# Held while /etc/subuid and /etc/subgid are read and rewritten: two suites running at once on
# one machine would otherwise pick the same range, or drop each other's entry.
SUBORDINATE_LOCK = "/run/oci-runtime-tests-subordinate.lock"


@pytest.fixture(scope="session")
def shared_install():
    """The path of an `oci-runtime` command every user can run: $OCI_SHARED_INSTALL when given
    (scripts/test-v2 builds one on the host: pip would be slow in the emulated VM), else built."""
    if os.environ.get("OCI_SHARED_INSTALL"):
        yield os.environ["OCI_SHARED_INSTALL"]
        return
    if os.geteuid() != 0:
        pytest.skip("creating users needs root")
    if not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("/usr/bin/python3 is not installed (scripts/install-system needs it)")
    base = tempfile.mkdtemp(prefix="oci-shared-install-")
    os.chmod(base, 0o755)
    try:
        venv = os.path.join(base, "venv")
        # What the README says to do: scripts/install-system (a venv on /usr/bin/python3).
        result = subprocess.run([os.path.join(REPO, "scripts", "install-system"), venv],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        yield f"{venv}/bin/oci-runtime"
    finally:
        shutil.rmtree(base, ignore_errors=True)


class User:
    """A test user: name, uid, gid, home, runtime_dir, subordinate (start, count)."""

    def __init__(self, name, home, runtime_dir, subordinate):
        entry = pwd.getpwnam(name)
        self.name = name
        self.uid = entry.pw_uid
        self.gid = entry.pw_gid
        self.home = home
        self.runtime_dir = runtime_dir
        self.subordinate = subordinate

    @property
    def env(self):
        return {"HOME": self.home, "USER": self.name, "LOGNAME": self.name,
                "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                "XDG_RUNTIME_DIR": self.runtime_dir}

    def run(self, argv, *, cwd=None, timeout=60, env=None, **kwargs):
        """Run ``argv`` as this user (no supplementary groups), output captured as text.
        Through files, not pipes: a created container's init inherits the caller's stdio."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            completed = subprocess.run(argv, user=self.uid, group=self.gid, extra_groups=[],
                                       cwd=cwd or self.home, env=dict(self.env, **(env or {})),
                                       stdout=out, stderr=err, timeout=timeout,
                                       stdin=subprocess.DEVNULL, **kwargs)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, completed.returncode,
                                               out.read().decode(errors="replace"),
                                               err.read().decode(errors="replace"))

    def make_dir(self, path, mode=0o755):
        os.makedirs(path, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, mode)
        return path


@contextlib.contextmanager
def shifted_bundle(source, host_id):
    """A copy of bundle ``source`` in a new user namespace whose root is ``host_id`` (65536 ids),
    the rootfs owned by it, in a /tmp dir it can traverse (pytest's tmp dirs are root-only); no
    cgroup or sysfs mount.  Yields (bundle path, the config as a dict to edit and write_config);
    removed afterwards."""
    bundle = tempfile.mkdtemp(prefix="oci-userns-", dir="/tmp")
    try:
        os.chmod(bundle, 0o755)
        shutil.copytree(os.path.join(source, "rootfs"), f"{bundle}/rootfs", symlinks=True)
        for directory, _, files in os.walk(f"{bundle}/rootfs"):
            os.lchown(directory, host_id, host_id)
            for name in files:
                os.lchown(os.path.join(directory, name), host_id, host_id)
        with open(os.path.join(source, "config.json")) as config_file:
            config = json.load(config_file)
        config["linux"]["namespaces"].append({"type": "user"})
        mapping = [{"containerID": 0, "hostID": host_id, "size": 65536}]
        config["linux"]["uidMappings"] = config["linux"]["gidMappings"] = mapping
        config["mounts"] = [m for m in config["mounts"] if m["type"] not in ("cgroup", "sysfs")]
        yield bundle, config
    finally:
        shutil.rmtree(bundle, ignore_errors=True)


def write_config(bundle, config):
    with open(os.path.join(bundle, "config.json"), "w") as config_file:
        json.dump(config, config_file)


def owned_file_dir(tmp_path):
    """tmp_path/data with f (owned 1000:1000) and rootfile (0:0): idmapped mount sources."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("x")
    os.chown(data / "f", 1000, 1000)
    (data / "rootfile").write_text("y")
    return data


@contextlib.contextmanager
def _subordinate_files_locked():
    fd = os.open(SUBORDINATE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _free_subordinate_start(paths):
    """A range of SUBORDINATE_COUNT ids above every range already in ``paths``."""
    end = 1_000_000_000 + (os.getpid() % 1000) * SUBORDINATE_COUNT
    for path in paths:
        try:
            with open(path) as entries:
                for line in entries:
                    parts = line.strip().split(":")
                    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                        end = max(end, int(parts[1]) + int(parts[2]))
        except FileNotFoundError:
            pass
    return end


def _remove_entries(path, name, existed_before):
    try:
        with open(path) as entries:
            kept = [line for line in entries if line.split(":", 1)[0] != name]
    except FileNotFoundError:
        return
    if not kept and not existed_before:
        os.unlink(path)
        return
    with open(path, "w") as entries:
        entries.writelines(kept)


@pytest.fixture(scope="session")
def rootless_user():
    if os.geteuid() != 0:
        pytest.skip("creating users needs root")
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not installed")
    name = f"ocirl{os.getpid()}"
    base = tempfile.mkdtemp(prefix="oci-rootless-user-")
    os.chmod(base, 0o755)
    home = os.path.join(base, "home")
    subordinate_files = ("/etc/subuid", "/etc/subgid")
    existed = {path: os.path.exists(path) for path in subordinate_files}
    created = False
    runtime_dir = None
    try:
        with _subordinate_files_locked():  # useradd may write them too
            subprocess.run(["useradd", "--no-create-home", "--home-dir", home, "--shell",
                            "/bin/sh", "--user-group", name], check=True, capture_output=True)
            created = True
            start = _free_subordinate_start(subordinate_files)
            for path in subordinate_files:
                with open(path, "a") as entries:
                    entries.write(f"{name}:{start}:{SUBORDINATE_COUNT}\n")
        # As short as /run/user/<uid>: <runtime dir>/oci-runtime/<podman's 64-character id>/
        # start.sock must fit in a unix socket address (108 bytes).
        runtime_dir = tempfile.mkdtemp(prefix="rl", dir="/tmp")
        user = User(name, home, runtime_dir, (start, SUBORDINATE_COUNT))
        user.make_dir(home)
        user.make_dir(user.runtime_dir, 0o700)
        yield user
    finally:
        with _subordinate_files_locked():
            for path in subordinate_files:
                _remove_entries(path, name, existed[path])
            if created:
                subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
        if runtime_dir:
            shutil.rmtree(runtime_dir, ignore_errors=True)
