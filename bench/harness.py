"""The benchmark's harness: spawning a runtime's command with its time and peak RSS, the runtime
under test (its private --root, bundles and seccomp cache), and the shared config and rootfs."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# Where each runtime keeps compiled seccomp filters between containers, relative to its --root:
# emptied before every "cold" create.  runc compiles every time; crun's is only used by some
# versions (the results record whether one appeared).
SECCOMP_CACHES = {"oci-runtime": ".seccomp-cache", "crun": os.path.join(".cache", "seccomp")}
BUSYBOX = shutil.which("busybox") or "/bin/busybox"


# -- process spawning with timing and rusage ------------------------------------------------------

def spawn(argv, capture=False, rss=False):
    """Run argv; returns (seconds, exit status, peak RSS KiB or None, stdout bytes).

    A child's ru_maxrss starts at what its parent's memory was when it exec'd (Linux keeps the
    pre-exec mm's high-water mark), so this Python's own ~15 MiB would show in every figure: with
    rss=True the call goes through /usr/bin/time (small), which reports its child's ru_maxrss
    from wait4.  Those calls are for memory only, never timed."""
    report = None
    if rss:
        report = tempfile.NamedTemporaryFile(prefix="oci-bench-rss-")
        argv = ["/usr/bin/time", "-q", "-f", "%M", "-o", report.name, *argv]
    devnull = os.open(os.devnull, os.O_RDWR)
    read_end = write_end = None
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    if capture:
        read_end, write_end = os.pipe()
        actions.append((os.POSIX_SPAWN_DUP2, write_end, 1))
    else:
        actions.append((os.POSIX_SPAWN_DUP2, devnull, 1))
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    output = b""
    if capture:
        os.close(write_end)
        chunks = []
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(read_end)
        output = b"".join(chunks)
    _, status, _ = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    os.close(devnull)
    maxrss = None
    if report is not None:
        with open(report.name) as handle:
            maxrss = int(handle.read().split()[-1])
        report.close()
    return elapsed, os.waitstatus_to_exitcode(status), maxrss, output


class Runtime:
    def __init__(self, name, binary, workdir, cgroup_parent, rootfs):
        self.name = name
        self.binary = binary
        self.root = os.path.join(workdir, "root-" + name)
        self.bundles = os.path.join(workdir, "bundles-" + name)
        os.makedirs(self.bundles, exist_ok=True)
        self.cgroup_parent = cgroup_parent
        self.rootfs = rootfs
        self.counter = 0
        self.lock = threading.Lock()

    def argv(self, *args):
        return [self.binary, "--root", self.root, *args]

    def call(self, *args, capture=False, check=True, rss=False):
        elapsed, code, maxrss, output = spawn(self.argv(*args), capture, rss)
        if check and code != 0:
            # Re-run capturing stderr so the failure says why.
            detail = subprocess.run(self.argv(*args), capture_output=True, text=True).stderr
            raise RuntimeError(f"{self.name} {' '.join(args)} exited {code}: {detail.strip()}")
        return elapsed, code, maxrss, output

    def new_container(self, process_args, seccomp=None, net_devices=None):
        """A fresh id and bundle (config.json only: root.path is the shared read-only rootfs),
        with ``seccomp`` as linux.seccomp and ``net_devices`` as linux.netDevices if given."""
        with self.lock:
            self.counter += 1
            container_id = f"b{os.getpid()}-{self.counter}"
        bundle = os.path.join(self.bundles, container_id)
        os.mkdir(bundle)
        config = base_config(self.rootfs, process_args,
                             f"/{self.cgroup_parent}/{self.name}-{container_id}")
        if seccomp is not None:
            config["linux"]["seccomp"] = seccomp
        if net_devices is not None:
            config["linux"]["netDevices"] = net_devices
        with open(os.path.join(bundle, "config.json"), "w") as config_file:
            json.dump(config, config_file)
        return container_id, bundle

    def state(self, container_id):
        return json.loads(self.call("state", container_id, capture=True)[3])

    def wait_stopped(self, container_id, timeout=10.0):
        """`state` until stopped; returns the time spent in those calls."""
        spent = 0.0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            elapsed, _, _, output = self.call("state", container_id, capture=True)
            spent += elapsed
            if json.loads(output)["status"] == "stopped":
                return spent
        raise RuntimeError(f"{self.name}: {container_id} did not stop")

    @property
    def seccomp_cache(self):
        relative = SECCOMP_CACHES.get(self.name)
        return os.path.join(self.root, relative) if relative else None

    def seccomp_cache_entries(self):
        cache = self.seccomp_cache
        return len(os.listdir(cache)) if cache and os.path.isdir(cache) else 0

    def clear_seccomp_cache(self):
        if self.seccomp_cache:
            shutil.rmtree(self.seccomp_cache, ignore_errors=True)

    def cleanup(self):
        if os.path.isdir(self.root):
            for name in os.listdir(self.root):
                if os.path.isdir(os.path.join(self.root, name)):
                    spawn(self.argv("delete", "--force", name))
            shutil.rmtree(self.root, ignore_errors=True)


def base_config(rootfs, process_args, cgroups_path):
    """`oci-runtime spec`'s config (that is, `runc spec`'s defaults without ambient capabilities)
    with terminal off and no cgroup namespace (runc 1.1's default), shared verbatim by all three
    runtimes."""
    from oci_runtime.config.default_spec import default_config

    config = default_config()
    config["ociVersion"] = "1.0.2"  # what all three runtimes accept
    config["process"]["terminal"] = False
    config["process"]["args"] = process_args
    config["root"]["path"] = rootfs
    config["hostname"] = "runc"
    config["linux"]["cgroupsPath"] = cgroups_path
    config["linux"]["namespaces"] = [
        namespace for namespace in config["linux"]["namespaces"] if namespace["type"] != "cgroup"]
    return config


def make_rootfs(path):
    for directory in ("bin", "proc", "sys", "dev", "etc", "tmp", "root"):
        os.makedirs(os.path.join(path, directory), exist_ok=True)
    shutil.copy(BUSYBOX, os.path.join(path, "bin", "busybox"))
    for applet in ("true", "sh", "sleep"):
        os.symlink("busybox", os.path.join(path, "bin", applet))
    with open(os.path.join(path, "etc", "passwd"), "w") as passwd:
        passwd.write("root:x:0:0:root:/root:/bin/sh\n")


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
