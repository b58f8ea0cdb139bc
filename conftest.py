"""Fixtures shared by tests/ and conformance/: real containers from a busybox bundle.

Every container a test makes lives under the test's own state root and cgroup parent
(/oci-runtime-test-<pid>/...), and is force-deleted at teardown; the cgroup parents are removed too.
"""
import copy
import fcntl
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest

from tests.waiting import wait_until

REPO = os.path.dirname(os.path.abspath(__file__))
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
CGROUP_PARENT = f"oci-runtime-test-{os.getpid()}"


def runtime_command():
    """How tests call the runtime: $OCI_RUNTIME if set, else the `oci-runtime` command installed
    beside this interpreter (what callers run), else this interpreter's -m oci_runtime."""
    if os.environ.get("OCI_RUNTIME"):
        return [os.environ["OCI_RUNTIME"]]
    installed = os.path.join(os.path.dirname(sys.executable), "oci-runtime")
    if os.access(installed, os.X_OK):
        return [installed]
    return [sys.executable, "-m", "oci_runtime"]


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory):
    """A busybox-static rootfs, built once per session."""
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox is not installed (apt-get install busybox-static)")
    root = tmp_path_factory.mktemp("rootfs-template")
    for directory in ("bin", "proc", "sys", "dev", "etc", "tmp", "root"):
        (root / directory).mkdir()
    root.chmod(0o755)  # mktemp makes it 0700: a non-root container user could not traverse /
    (root / "tmp").chmod(0o1777)
    shutil.copy(BUSYBOX, root / "bin" / "busybox")
    listing = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True)
    for applet in listing.stdout.split():
        if applet != "busybox":
            os.symlink("busybox", root / "bin" / applet)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return root


class Runtime:
    """Runs the runtime CLI against one test's private state root."""

    def __init__(self, root):
        self.root = str(root)
        self.command = runtime_command()  # for tests that must spawn the runtime themselves

    def __call__(self, *args, check=False, timeout=60, **kwargs):
        # Output goes to files, not pipes: a created container's init inherits the caller's
        # stdio (as with runc), so a pipe would not reach EOF until the container exits.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            kwargs.setdefault("stdin", subprocess.DEVNULL)
            completed = subprocess.run(runtime_command() + ["--root", self.root, *args],
                                       timeout=timeout, stdout=out, stderr=err, **kwargs)
            out.seek(0)
            err.seek(0)
            result = subprocess.CompletedProcess(completed.args, completed.returncode,
                                                 out.read().decode(errors="replace"),
                                                 err.read().decode(errors="replace"))
        if check and result.returncode != 0:
            raise AssertionError(f"{args} exited {result.returncode}: {result.stderr}")
        return result

    def state(self, container_id):
        return json.loads(self("state", container_id, check=True).stdout)

    def cleanup(self):
        """delete --force every container left; one that cannot be deleted fails the test (its
        processes and cgroup would outlive it and disturb others), once all were tried."""
        if not os.path.isdir(self.root):
            return
        failed = []
        for container_id in os.listdir(self.root):
            if os.path.isdir(os.path.join(self.root, container_id)) and not container_id.startswith("."):
                deleted = self("delete", "--force", container_id)
                if deleted.returncode != 0 and "does not exist" not in deleted.stderr:
                    failed.append(f"{container_id}: {deleted.stderr.strip()}")
        shutil.rmtree(self.root, ignore_errors=True)
        assert not failed, f"containers left behind: {failed}"


@pytest.fixture
def oci(tmp_path):
    runtime = Runtime(tmp_path / "state")
    yield runtime
    runtime.cleanup()


def remove_cgroup_tree(name):
    """Remove /<name> and everything below it from every cgroup hierarchy (v1, v2, hybrid)."""
    for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if not os.path.isdir(base):
            continue
        for controller in [base] + [os.path.join(base, c) for c in os.listdir(base)]:
            parent = os.path.join(controller, name)
            if os.path.isdir(parent):
                for dirpath, _, _ in sorted(os.walk(parent), key=lambda w: -len(w[0])):
                    try:
                        os.rmdir(dirpath)
                    except OSError:
                        pass


def cgroup_hierarchies():
    """The mount point of every cgroup hierarchy under /sys/fs/cgroup, from mountinfo: each v1
    controller's and cgroup2's (/sys/fs/cgroup on v2, /sys/fs/cgroup/unified on hybrid)."""
    points = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields, _, after = line.partition(" - ")
            mount_point = fields.split()[4]
            if after.split()[0] in ("cgroup", "cgroup2") and mount_point.startswith("/sys/fs/cgroup"):
                points.append(mount_point)
    return points


@pytest.fixture
def cgroup_dirs():
    """cgroup_dirs(bundle) -> the directory of the bundle's cgroupsPath in every hierarchy of this
    host (v1 controllers and cgroup2 alike), for tests that check what create made and delete
    removed: the manager uses all of them (v1/hybrid join every controller and the unified tree)."""
    def dirs(bundle):
        path = json.loads((bundle / "config.json").read_text())["linux"]["cgroupsPath"]
        return [mount_point + path for mount_point in cgroup_hierarchies()]
    return dirs


@pytest.fixture(scope="session")
def cgroup_parent():
    """The cgroup parent (/<name>) every test container lives under; removed after the session."""
    return CGROUP_PARENT


@pytest.fixture(scope="session")
def runtime_at():
    """runtime_at(root) -> a Runtime on a state root the test chooses (a small tmpfs, a long
    path); the test calls its cleanup()."""
    return Runtime


@pytest.fixture(scope="session")
def cgroup_tree_remover():
    """For tests whose clients (containerd, podman) choose cgroup parents themselves."""
    return remove_cgroup_tree


@pytest.fixture(scope="session", autouse=True)
def _cgroup_parent_cleanup():
    yield
    remove_cgroup_tree(CGROUP_PARENT)


@pytest.fixture
def make_bundle(tmp_path, rootfs_template):
    """make_bundle(args, **changes) -> (bundle path, container id).  ``changes`` is a function
    or dict applied to the default config (terminal off, a unique cgroupsPath)."""
    made = []

    def factory(args=("true",), edit=None):
        from oci_runtime.config.default_spec import default_config

        container_id = "t" + uuid.uuid4().hex[:10]
        bundle = tmp_path / f"bundle-{container_id}"
        bundle.mkdir()
        rootfs = bundle / "rootfs"
        shutil.copytree(rootfs_template, rootfs, symlinks=True)
        # With a cgroup namespace on every host (`spec` adds one on v2 only, as runc's): the
        # suite's bundles are the same here and in the v2 bed.
        config = copy.deepcopy(default_config(cgroup_namespace=True))
        config["process"]["terminal"] = False
        config["process"]["args"] = list(args)
        config["root"]["readonly"] = False
        config["linux"]["cgroupsPath"] = f"/{CGROUP_PARENT}/{container_id}"
        if callable(edit):
            edit(config)
        elif edit:
            config.update(edit)
        (bundle / "config.json").write_text(json.dumps(config, indent=2))
        made.append(bundle)
        return bundle, container_id

    return factory


# One lock file per /24 of 10.213.0.0/16 (a private range that only these tests put on the
# interfaces they make): held by the test using it, whichever run of the suite that is.
SUBNET_LOCKS = "/run/oci-runtime-tests/subnets"


@pytest.fixture
def test_subnet():
    """test_subnet() -> "10.213.N": a /24 no other test holds, of this run or of another run
    on this machine (each is reserved by an flock on a file of its own until the test ends; a
    fixed or merely random one would be shared sooner or later, and two interfaces with one
    subnet route each other's packets).  One with a route on the host (a killed run's bridge)
    is passed over."""
    held = []

    def reserve():
        os.makedirs(SUBNET_LOCKS, exist_ok=True)
        routes = subprocess.run(["ip", "-o", "-4", "route", "show", "table", "all"],
                                capture_output=True, text=True, check=True).stdout
        for third in random.sample(range(1, 255), 254):
            subnet = f"10.213.{third}"
            fd = os.open(f"{SUBNET_LOCKS}/{subnet}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if f"{subnet}." in routes:
                os.close(fd)
                continue
            held.append(fd)
            return subnet
        raise AssertionError("every test subnet of 10.213.0.0/16 is taken")

    yield reserve
    for fd in held:
        os.close(fd)


@pytest.fixture
def veth_pair():
    """veth_pair() -> (host end, other end): a veth pair with unique names (this kernel has no
    dummy driver), both down, no address; deleted at teardown, also when a container took one."""
    made = []

    def factory():
        tag = uuid.uuid4().hex[:8]
        host_end, other_end = f"o{tag}h", f"o{tag}c"
        subprocess.run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", other_end],
                       check=True)
        made.append((host_end, other_end))
        return host_end, other_end

    yield factory
    for host_end, other_end in made:
        for name in (host_end, other_end):
            if os.path.exists(f"/sys/class/net/{name}"):
                subprocess.run(["ip", "link", "del", name], capture_output=True)
        # A network namespace (and the veth in it) is freed asynchronously after its last
        # process, by a kernel worker a loaded host may take seconds to run.
        wait_until(lambda: not os.path.exists(f"/sys/class/net/{host_end}"),
                   f"{host_end} to go (left behind?)")
