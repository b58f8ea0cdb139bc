"""crictl as the tests drive it: pods and containers of one runtime handler on the node
(tests/e2e/cri_node.py), with the configurations the kubelet would send (JSON files given to
crictl runp/create).  Each Cri removes the pods it made."""
import json
import os
import shlex
import uuid

from tests.e2e import cri_images
from tests.waiting import FAILURE_AFTER, wait_until

BUSYBOX = cri_images.BUSYBOX_IMAGE
POD, CONTAINER, NODE = 0, 1, 2                       # runtime.v1 NamespaceMode
RUNTIME_DEFAULT, UNCONFINED, LOCALHOST = 0, 1, 2     # runtime.v1 SecurityProfile.ProfileType


class Cri:
    """crictl against the node with one runtime handler; removes its pods at teardown."""

    def __init__(self, node, handler):
        self.node = node
        self.handler = handler
        self.pods = []
        self.workdir = os.path.join(node.base, "scenarios", uuid.uuid4().hex[:8])
        os.makedirs(self.workdir)

    def __call__(self, *args, check=True, timeout=120, input=None):
        return self.node.crictl(*args, check=check, timeout=timeout, input=input)

    def _write(self, name, config):
        path = os.path.join(self.workdir, f"{name}-{uuid.uuid4().hex[:6]}.json")
        with open(path, "w") as output:
            json.dump(config, output)
        return path

    def run_pod(self, pid=POD, network=POD, ipc=POD, sysctls=None, privileged=False,
                seccomp=None):
        name = f"e2e-{uuid.uuid4().hex[:10]}"
        security = {"namespace_options": {"pid": pid, "network": network, "ipc": ipc},
                    "privileged": privileged}
        if seccomp is not None:
            security["seccomp"] = seccomp
        config = {"metadata": {"name": name, "namespace": "oci-e2e", "uid": name, "attempt": 1},
                  "log_directory": os.path.join(self.workdir, name),
                  "linux": {"security_context": security, "sysctls": sysctls or {}}}
        path = self._write(name, config)
        pod = self("runp", "--runtime", self.handler, path).stdout.strip()
        self.pods.append(pod)
        return Pod(self, pod, path, config)

    def inspect(self, container):
        return json.loads(self("inspect", container).stdout)

    def inspect_pod(self, pod):
        return json.loads(self("inspectp", pod.id).stdout)

    def exec_sync(self, container, *command):
        """stdout of a command that must succeed (ExecSync)."""
        return self("exec", "--sync", container, *command).stdout

    def exec(self, container, *command, input=None):
        """The streaming Exec: (crictl's exit status, stdout, stderr)."""
        options = ["-i"] if input is not None else []
        result = self("exec", *options, container, *command, check=False, input=input)
        return result.returncode, result.stdout, result.stderr

    def exec_tty(self, container, *command):
        """The streaming Exec with a terminal (crictl wants one on its own stdin: `script`
        gives it one): (exit status, what the terminal showed)."""
        crictl = ["crictl", "--config", f"{self.node.base}/crictl.yaml", "exec", "-i", "-t",
                  container, *command]
        result = self.node.run(["script", "-qec", shlex.join(crictl), "/dev/null"],
                               check=False, input="")
        return result.returncode, _without_echoed_eof(result.stdout)

    def wait_state(self, container, wanted, timeout=FAILURE_AFTER):
        seen = []

        def reached():
            seen[:] = [self.inspect(container)["status"]]
            return seen[0] if seen[0]["state"] == wanted else None
        return wait_until(reached, lambda: f"{container} to be {wanted} ({seen[0]['state']})",
                          timeout, interval=0.1)

    def remove_all(self):
        for pod in self.pods:
            self("rmp", "--force", pod, check=False)


class Pod:
    def __init__(self, cri, pod_id, config_path, config):
        self.cri, self.id, self.config_path, self.config = cri, pod_id, config_path, config
        self.log_directory = config["log_directory"]

    def create(self, command, image=BUSYBOX, security=None, resources=None, **fields):
        name = f"c-{uuid.uuid4().hex[:8]}"
        # The kubelet gives a container its pod's namespace options, as here.
        security = {"namespace_options": self.config["linux"]["security_context"]
                    ["namespace_options"], **(security or {})}
        config = {"metadata": {"name": name}, "image": {"image": image},
                  "log_path": f"{name}.log",
                  "linux": {"security_context": security, "resources": resources or {}},
                  **fields}
        if command is not None:
            config["command"] = command
        path = self.cri._write(name, config)
        container = self.cri("create", "--with-pull", self.id, path, self.config_path)
        return Container(self, container.stdout.strip(), name)

    def run(self, command, **kwargs):
        container = self.create(command, **kwargs)
        self.cri("start", container.id)
        return container


class Container:
    def __init__(self, pod, container_id, name):
        self.pod, self.id, self.name = pod, container_id, name

    @property
    def log_path(self):
        return os.path.join(self.pod.log_directory, f"{self.name}.log")

    def log_lines(self):
        """[(stream, text)] of the CRI log file (TIMESTAMP STREAM TAG TEXT per line)."""
        try:
            with open(self.log_path) as log:
                return [(line.split(" ", 3)[1], line.split(" ", 3)[3].rstrip("\n"))
                        for line in log if line.strip()]
        except FileNotFoundError:
            return []

    def wait_log(self, text, timeout=FAILURE_AFTER):
        wait_until(lambda: any(text in line for _, line in self.log_lines()),
                   lambda: f"{text!r} in the log: {self.log_lines()}", timeout, interval=0.1)

    def logged(self, count):
        """The log's lines once it has ``count`` of them: an exited container's log may still
        be written (containerd's CRI writes the file from its own goroutine, after the exit)."""
        wait_until(lambda: len(self.log_lines()) >= count,
                   lambda: f"{count} lines in the log: {self.log_lines()}", interval=0.1)
        return self.log_lines()


def _without_echoed_eof(shown):
    """What a terminal showed, without the "^@" it may echo for `script`'s end of input."""
    return shown.replace("^@", "")
