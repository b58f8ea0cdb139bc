"""A Kubernetes node for the CRI tests: containerd 1.6 with its CRI plugin, a local registry and
CNI, all inside namespaces of their own, driven by crictl and critest.

The node lives in new network, IPC, UTS and mount namespaces held by one `sleep` (as a node in
a container, the way kind runs them): its bridge, iptables rules (CNI's portmap), the ports
critest fixes (12000-12003), the registry's port, the shared memory segments critest's HostIpc
specs make with ipcmk, and the mounts of its propagation specs stay there and go when the node
stops, and no packet can leave it (its only interfaces are lo and the pod bridge).  "Host"
namespaces in the tests are the node's.  Everything else is under one temporary directory:
containerd's root and state, sockets, the runtimes' state (the shim's Root option), the CNI
configuration, host-local's leases and libcni's cache (bind-mounted over /var/lib/cni in the
node's mount namespace; a tmpfs there over /run/containerd takes the shims' sockets), the
registry's storage.

Two runtime handlers, both the runc v2 shim: "oci-runtime" (BinaryName: our launcher, the
node's default) and "runc" (Debian's runc), so that every scenario can be compared."""
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from tests.e2e import cri_images, integration_doc
from tests.waiting import FAILURE_AFTER

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIME = os.path.join(REPO, ".venv", "bin", "oci-runtime")
RUNC = shutil.which("runc") or "/usr/sbin/runc"
CNI_BIN_DIR = "/usr/lib/cni"
REGISTRY_ADDRESS = "127.0.0.1:5000"      # inside the node's network namespace
POD_SUBNET = "10.121.0.0/24"
# The handler of docs/integration.md's RuntimeClass (its config.toml table is the page's too),
# and runc's to compare.
HANDLERS = (integration_doc.runtime_class_handler(), "runc")
CRI_TOOLS_VERSION = "v1.26.1"
CGROUP_NAMESPACE = "k8s.io"    # containerd's CRI namespace: cgroups go under /k8s.io/<id>
# Nodes running at once (test suites of several checkouts) share /k8s.io: each holds this file
# locked shared while it runs, and the last one out (the exclusive lock) removes the tree.
CGROUP_LOCK = "/tmp/oci-e2e-cri-cgroups.lock"

CONTAINERD_CONFIG = """\
version = 2
root = "{base}/root"
state = "{base}/state"

[grpc]
  address = "{base}/containerd.sock"
[ttrpc]
  address = "{base}/containerd.sock.ttrpc"
[debug]
  address = "{base}/debug.sock"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  enable_selinux = false
  # No CAP_SYS_RESOURCE on this host (docs/integration.md): nothing may lower an
  # oom_score_adj, runc no more than oci-runtime, and the pause container's -998 would fail
  # every pod.  containerd then clamps scores to its own (what it does for rootless nodes).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "{handler}"
{handler_table}
        Root = "{base}/runtime-state/{handler}"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{runc}"
        Root = "{base}/runtime-state/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin_dir}"
    conf_dir = "{base}/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{base}/certs.d"
"""

# Pods get addresses on a bridge of the node (masqueraded), host ports through portmap.
CNI_CONFIG = {
    "cniVersion": "1.0.0",
    "name": "oci-e2e-pods",
    "plugins": [
        {"type": "bridge", "bridge": "cni-e2e0", "isGateway": True, "ipMasq": True,
         "hairpinMode": True,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_SUBNET}]],
                  "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "{base}/cni/ipam"}},
        {"type": "portmap", "capabilities": {"portMappings": True}},
    ],
}


REGISTRY_CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {base}/registry
  delete:
    enabled: true
http:
  addr: {address}
"""


def missing_prerequisites():
    """What the node needs and this machine lacks (scripts/setup-e2e installs all of it)."""
    missing = [tool for tool in ("containerd", "containerd-shim-runc-v2", "crictl", "critest",
                                 "skopeo", "docker-registry", "gcc", "dpkg-deb", "nsenter",
                                 "unshare", "iptables", "ipcmk")
               if shutil.which(tool) is None]
    if not os.access(RUNTIME, os.X_OK):
        missing.append(RUNTIME)
    for plugin in ("bridge", "host-local", "portmap", "loopback"):
        if not os.path.exists(os.path.join(CNI_BIN_DIR, plugin)):
            missing.append(f"{CNI_BIN_DIR}/{plugin}")
    if cri_images.busybox_deb() is None:
        missing.append(f"{cri_images.BUSYBOX_DEB_DIR}/busybox_*.deb")
    if shutil.which("crictl"):
        version = subprocess.run(["crictl", "--version"], capture_output=True, text=True).stdout
        if CRI_TOOLS_VERSION not in version:
            missing.append(f"crictl {CRI_TOOLS_VERSION} (found {version.strip()})")
    return missing


class CommandFailed(AssertionError):
    pass


class Node:
    def __init__(self):
        # Short: unix socket paths (containerd's, the shims') must fit in 108 bytes.
        self.base = tempfile.mkdtemp(prefix="oci-cri-", dir="/tmp")
        self.holder = None
        self.processes = {}       # name -> (Popen, log file)
        self._cgroup_lock = None  # CGROUP_LOCK's fd while the node runs
        self.images = []

    # -- namespaces --------------------------------------------------------------------------

    def nsenter(self):
        return ["nsenter", "-t", str(self.holder.pid), "-n", "-i", "-u", "-m", "--"]

    def run(self, command, check=True, timeout=120, env=None, input=None):
        """Run `command` in the node; raises CommandFailed (with its output) when `check`."""
        result = subprocess.run(self.nsenter() + list(command), capture_output=True, text=True,
                                timeout=timeout, env=env, input=input)
        if check and result.returncode != 0:
            raise CommandFailed(f"{' '.join(command)} exited {result.returncode}\n"
                                f"stdout: {result.stdout[-3000:]}\nstderr: {result.stderr[-3000:]}")
        return result

    def spawn(self, name, command, env=None):
        log = open(os.path.join(self.base, f"{name}.log"), "w")
        process = subprocess.Popen(self.nsenter() + list(command), stdout=log,
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.processes[name] = (process, log)
        return process

    def log(self, name, tail=4000):
        try:
            with open(os.path.join(self.base, f"{name}.log")) as output:
                return output.read()[-tail:]
        except OSError:
            return ""

    def _enter_namespaces(self):
        self.holder = subprocess.Popen(["unshare", "--net", "--ipc", "--uts", "--mount",
                                        "--propagation", "private", "--", "sleep", "infinity"],
                                       start_new_session=True)
        mine = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + FAILURE_AFTER
        while True:
            try:
                if os.readlink(f"/proc/{self.holder.pid}/ns/net") != mine:
                    break
            except OSError:
                pass
            if self.holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("unshare did not make the node's namespaces")
            time.sleep(0.01)
        self.run(["ip", "link", "set", "lo", "up"])
        self.run(["hostname", "oci-e2e-node"])
        # libcni keeps its cache in /var/lib/cni whatever the configuration says, and the shims
        # their sockets in /run/containerd/s: the node's own, in its mount namespace.
        os.makedirs(f"{self.base}/cni/cache", exist_ok=True)
        for path, source in (("/var/lib/cni", f"{self.base}/cni/cache"),
                             ("/run/containerd", None)):
            os.makedirs(path, exist_ok=True)
            if source:
                self.run(["mount", "--bind", source, path])
            else:
                self.run(["mount", "-t", "tmpfs", "-o", "mode=0711,size=16m", "oci-e2e", path])

    # -- registry and images ------------------------------------------------------------------

    def _start_registry(self):
        config = os.path.join(self.base, "registry.yml")
        with open(config, "w") as output:
            output.write(REGISTRY_CONFIG.format(base=self.base, address=REGISTRY_ADDRESS))
        self.spawn("registry", ["docker-registry", "serve", config])
        probe = ("import sys, urllib.request\n"
                 f"urllib.request.urlopen('http://{REGISTRY_ADDRESS}/v2/', timeout=1)\n")
        deadline = time.monotonic() + FAILURE_AFTER
        while self.run([sys.executable, "-c", probe], check=False).returncode != 0:
            if self.processes["registry"][0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("docker-registry did not start:\n" + self.log("registry"))
            time.sleep(0.1)

    def _push_images(self):
        work = os.path.join(self.base, "images")
        os.makedirs(work)
        self.images = cri_images.push_all(work, REGISTRY_ADDRESS, self.run)

    # -- containerd ---------------------------------------------------------------------------

    def _write_containerd_config(self):
        os.makedirs(f"{self.base}/cni/net.d")
        cni = json.loads(json.dumps(CNI_CONFIG).replace("{base}", self.base))
        with open(f"{self.base}/cni/net.d/10-oci-e2e.conflist", "w") as output:
            json.dump(cni, output, indent=2)
        # docs/integration.md's hosts.toml (for registry.k8s.io), for each mirrored registry
        hosts = integration_doc.snippet("hosts-toml").replace("127.0.0.1:5000", REGISTRY_ADDRESS)
        for registry in cri_images.MIRRORED_REGISTRIES:
            os.makedirs(f"{self.base}/certs.d/{registry}")
            with open(f"{self.base}/certs.d/{registry}/hosts.toml", "w") as output:
                output.write(hosts.replace("registry.k8s.io", registry))
        # docs/integration.md's handler table, with the checkout's launcher, and a Root (the
        # runtime's --root) of the node's own
        table = integration_doc.snippet("cri-handler", runtime=RUNTIME)
        with open(f"{self.base}/containerd.toml", "w") as output:
            output.write(CONTAINERD_CONFIG.format(
                base=self.base, runc=RUNC, cni_bin_dir=CNI_BIN_DIR, handler=HANDLERS[0],
                handler_table="".join(f"    {line}\n" for line in table.splitlines()).rstrip(),
                sandbox_image=cri_images.SANDBOX_IMAGE))
        with open(f"{self.base}/crictl.yaml", "w") as output:
            endpoint = f"unix://{self.base}/containerd.sock"
            output.write(f"runtime-endpoint: {endpoint}\nimage-endpoint: {endpoint}\n"
                         "timeout: 120\n")

    def _start_containerd(self):
        self._write_containerd_config()
        self.spawn("containerd", ["containerd", "--config", f"{self.base}/containerd.toml"])
        deadline = time.monotonic() + FAILURE_AFTER
        while True:
            info = self.crictl("info", check=False)
            if info.returncode == 0 and json.loads(info.stdout)["status"]["conditions"]:
                conditions = {c["type"]: c["status"] for c in json.loads(info.stdout)["status"]
                              ["conditions"]}
                if all(conditions.values()):
                    return
            if self.processes["containerd"][0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("containerd's CRI did not become ready:\n"
                                   + info.stdout + info.stderr + self.log("containerd"))
            time.sleep(0.2)

    def crictl(self, *args, check=True, timeout=120, input=None):
        return self.run(["crictl", "--config", f"{self.base}/crictl.yaml", *args], check=check,
                        timeout=timeout, input=input)

    @property
    def endpoint(self):
        return f"unix://{self.base}/containerd.sock"

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self):
        self._cgroup_lock = os.open(CGROUP_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._cgroup_lock, fcntl.LOCK_SH)
        try:
            self._enter_namespaces()
            self._start_registry()
            self._push_images()
            self._start_containerd()
        except BaseException:
            self.stop()
            raise

    def remove_all_pods(self):
        if self.processes.get("containerd") and self.processes["containerd"][0].poll() is None:
            self.crictl("rmp", "--force", "--all", check=False, timeout=300)

    def stop(self, remove_cgroup_tree=None):
        """Stop and remove everything the node made; safe to call twice.  containerd's CRI puts
        the cgroups under /k8s.io (its namespace): `remove_cgroup_tree(name)` removes that
        tree when no other node runs."""
        self.remove_all_pods()
        for name in ("containerd", "registry"):
            if name in self.processes:
                process, log = self.processes.pop(name)
                _terminate(process)
                log.close()
        if self.holder is not None:
            # A shim left behind (a container that could not be removed) is in the node's
            # namespaces: end those processes by pid, then the holder, so the namespaces go.
            for pid in _processes_in_namespace(f"/proc/{self.holder.pid}/ns/net"):
                if pid != self.holder.pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            _terminate(self.holder)
            self.holder = None
        _unmount_under(self.base)
        shutil.rmtree(self.base, ignore_errors=True)
        lock = self._cgroup_lock
        if lock is not None:
            self._cgroup_lock = None
            fcntl.flock(lock, fcntl.LOCK_UN)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if remove_cgroup_tree is not None:
                    remove_cgroup_tree(CGROUP_NAMESPACE)
            except BlockingIOError:
                pass     # another node runs: the last one out removes the tree
            finally:
                os.close(lock)


def _terminate(process, timeout=20):
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _processes_in_namespace(namespace_link):
    try:
        wanted = os.readlink(namespace_link)
    except OSError:
        return []
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.readlink(f"/proc/{name}/ns/net") == wanted:
                    pids.append(int(name))
            except OSError:
                pass
    return pids


def _unmount_under(directory):
    from tests.e2e.images import unmount_under

    unmount_under(directory)
