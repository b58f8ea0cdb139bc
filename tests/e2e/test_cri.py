"""Kubernetes through containerd's CRI, driven by crictl: every scenario runs with the
"oci-runtime" handler (the runc v2 shim with our launcher as BinaryName) and with the "runc"
handler, and must behave the same (the node: tests/e2e/cri_node.py).

Pod sandboxes; containers with their own pid namespace and with the pod's; the node's network,
pid and IPC namespaces; exec and execSync; logs; attach; stop and removal of running and stopped
containers and of sandboxes, with a process left behind in a pod-shared pid namespace (the
shim's `kill --all`); security contexts (RunAsUser, RunAsGroup, an image's user and groups,
ReadOnlyRootfs, NoNewPrivs, privileged, capabilities, seccomp RuntimeDefault and Localhost,
sysctls); UpdateContainerResources; an OOM kill reported as OOMKilled; stats."""
import json
import os
import re
import sys
import time
import uuid

import pytest

from tests.e2e import cri_images, cri_node, integration_doc
from tests.e2e.cri_client import (CONTAINER, LOCALHOST, NODE, POD, RUNTIME_DEFAULT, UNCONFINED,
                                  Cri)
from tests.waiting import process_alive, program_of, wait_for_program, wait_until

pytestmark = pytest.mark.parametrize("handler", cri_node.HANDLERS)


@pytest.fixture
def cri(node, handler):
    client = Cri(node, handler)
    yield client
    client.remove_all()


def runtime_state_dir(node, handler):
    return os.path.join(node.base, "runtime-state", handler, "k8s.io")


# -- pod sandboxes ---------------------------------------------------------------------------

def test_pod_sandbox_runs_stops_and_is_removed(cri, node, handler):
    pod = cri.run_pod()
    status = cri.inspect_pod(pod)
    assert status["status"]["state"] == "SANDBOX_READY"
    assert status["status"]["runtimeHandler"] == handler
    assert status["status"]["network"]["ip"].startswith("10.121.0.")
    pause = status["info"]["pid"]
    # runp returns once the runtime's start has, before the init's execve (runc's too)
    wait_for_program(pause, ["/pause"])
    assert program_of(pause) == ["/pause"]
    assert pod.id in os.listdir(runtime_state_dir(node, handler))
    cri("stopp", pod.id)
    assert cri.inspect_pod(pod)["status"]["state"] == "SANDBOX_NOTREADY"
    wait_until(lambda: not process_alive(pause), "the pause process to end after stopp")
    cri("rmp", pod.id)
    assert cri("inspectp", pod.id, check=False).returncode != 0
    assert pod.id not in os.listdir(runtime_state_dir(node, handler))


def test_a_pod_is_reachable_at_its_address(cri):
    pod = cri.run_pod()
    pod.run(None, image=cri_images.NGINX_IMAGE)
    address = cri.inspect_pod(pod)["status"]["network"]["ip"]
    fetch = ("import sys, urllib.request\n"
             f"print(urllib.request.urlopen('http://{address}:80/', timeout=10).status)\n")
    wait_until(lambda: cri.node.run([sys.executable, "-c", fetch], check=False)
               .stdout.strip() == "200", "the pod's web server to answer at its address")


# -- pid, network and IPC namespaces ---------------------------------------------------------

def test_a_container_with_its_own_pid_namespace(cri):
    pod = cri.run_pod(pid=CONTAINER)
    container = pod.run(["sh", "-c", "echo pid $$; exec sleep 1000"])
    container.wait_log("pid 1")
    # the shell said so before its exec: the sleep comes a moment later
    wait_until(lambda: cri.exec_sync(container.id, "cat", "/proc/1/cmdline").startswith("sleep"),
               "pid 1 to be the sleep")


def test_containers_sharing_the_pod_s_pid_namespace(cri):
    pod = cri.run_pod(pid=POD)
    first = pod.run(["sleep", "1001"])
    second = pod.run(["sleep", "1002"])
    cri.wait_state(second.id, "CONTAINER_RUNNING")
    assert cri.exec_sync(first.id, "cat", "/proc/1/cmdline").startswith("/pause")
    # RUNNING once start returned, before the second init's execve
    wait_until(lambda: all(f"sleep {n}" in cri.exec_sync(first.id, "ps", "-o", "args")
                           for n in (1001, 1002)), "both sleeps in the pod's ps")


def test_the_node_s_network_pid_and_ipc_namespaces(cri, node):
    segment = node.run(["ipcmk", "-M", "4096"]).stdout.strip().rsplit(" ", 1)[-1]
    try:
        pod = cri.run_pod(pid=NODE, network=NODE, ipc=NODE)
        container = pod.run(["sleep", "1000"])
        links = cri.exec_sync(container.id, "ip", "-o", "link")
        assert "cni-e2e0" in links   # the node's pod bridge
        visible = cri.exec_sync(container.id, "ps", "-o", "pid,args")
        assert "containerd --config" in visible, visible
        assert re.search(rf"\b{segment}\b", cri.exec_sync(container.id, "ipcs", "-m"))
        # and a pod of its own sees none of them
        own = cri.run_pod().run(["sleep", "1000"])
        assert "cni-e2e0" not in cri.exec_sync(own.id, "ip", "-o", "link")
        assert not re.search(rf"\b{segment}\b", cri.exec_sync(own.id, "ipcs", "-m"))
    finally:
        node.run(["ipcrm", "-m", segment], check=False)


# -- exec, logs, attach ----------------------------------------------------------------------

def test_exec_sync_and_exec(cri):
    container = cri.run_pod().run(["sleep", "1000"])
    assert cri.exec_sync(container.id, "echo", "-n", "hello").startswith("hello")
    status, out, err = cri.exec(container.id, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (out, err.splitlines()[0]) == ("out\n", "err")
    assert status != 0
    status, out, _ = cri.exec(container.id, "cat", input="from stdin\n")
    assert (status, out) == (0, "from stdin\n")
    status, shown = cri.exec_tty(container.id, "sh", "-c", "tty; test -t 0 && echo terminal")
    assert status == 0 and re.search(r"/dev/pts/\d+\s+terminal", shown), shown
    # an exec of a missing program fails, and the container runs on
    status, _, err = cri.exec(container.id, "/no/such/program")
    assert status != 0 and "no such file or directory" in err.lower(), err
    assert cri.inspect(container.id)["status"]["state"] == "CONTAINER_RUNNING"


def test_logs_of_stdout_and_stderr(cri):
    container = cri.run_pod().run(["sh", "-c", "echo to stdout; echo to stderr >&2"])
    cri.wait_state(container.id, "CONTAINER_EXITED")
    container.wait_log("to stderr")
    assert ("stdout", "to stdout") in container.log_lines()
    assert ("stderr", "to stderr") in container.log_lines()
    logs = cri("logs", container.id)
    assert logs.stdout == "to stdout\n" and logs.stderr == "to stderr\n"


def test_attach(cri):
    container = cri.run_pod().run(["sh", "-c", "echo ready; read line; echo got:$line"],
                                  stdin=True, stdin_once=True)
    container.wait_log("ready")
    attached = cri("attach", "-i", container.id, input="hello\n", check=False)
    assert "got:hello" in attached.stdout, attached.stdout + attached.stderr
    assert cri.wait_state(container.id, "CONTAINER_EXITED")["exitCode"] == 0


# -- stop and remove -------------------------------------------------------------------------

def test_stop_and_remove_of_running_and_stopped_containers(cri, node, handler):
    pod = cri.run_pod(pid=CONTAINER)
    # pid 1 of its own pid namespace ignores SIGTERM: stop waits the timeout, then SIGKILL
    stubborn = pod.run(["sleep", "1000"])
    cri.wait_state(stubborn.id, "CONTAINER_RUNNING")
    started = time.monotonic()
    cri("stop", "--timeout", "2", stubborn.id)
    assert time.monotonic() - started >= 2
    assert cri.inspect(stubborn.id)["status"]["exitCode"] == 137
    cri("rm", stubborn.id)
    # one that handles SIGTERM stops with its own status
    polite = pod.run(["sh", "-c", "trap 'exit 0' TERM; echo ready; while :; do sleep 1; done"])
    polite.wait_log("ready")
    cri("stop", "--timeout", "60", polite.id)
    assert cri.inspect(polite.id)["status"]["exitCode"] == 0
    # removing a running container needs --force, and kills it
    running = pod.run(["sleep", "1000"])
    pid = cri.inspect(running.id)["info"]["pid"]
    assert cri("rm", running.id, check=False).returncode != 0
    cri("rm", "--force", running.id)
    wait_until(lambda: not process_alive(pid), "the process rm --force killed to end")
    # a created container, never started
    created = pod.create(["true"])
    cri("rm", created.id)
    state = os.listdir(runtime_state_dir(node, handler))
    for container in (stubborn, polite, running, created):
        assert container.id not in state
    # a sandbox with a running container: stopp stops both, rmp removes both
    last = pod.run(["sleep", "1000"])
    cri("stopp", pod.id)
    assert cri.inspect(last.id)["status"]["state"] == "CONTAINER_EXITED"
    cri("rmp", pod.id)
    assert cri("inspect", last.id, check=False).returncode != 0
    assert not {pod.id, last.id} & set(os.listdir(runtime_state_dir(node, handler)))


def test_what_an_exited_container_leaves_in_a_pod_shared_pid_namespace_is_killed(cri):
    """The shim's `kill --all ID 9` after the init of a container that joined the pod's pid
    namespace exited: the child it left must die, and stop/remove of the pod must not hang."""
    pod = cri.run_pod(pid=POD)
    watcher = pod.run(["sleep", "1000"])
    leaver = pod.run(["sh", "-c", "sleep 1234 & echo left; exit 0"])
    cri.wait_state(leaver.id, "CONTAINER_EXITED")
    wait_until(lambda: "sleep 1234" not in cri.exec_sync(watcher.id, "ps", "-o", "args"),
               "the exited container's child to be killed")
    cri("stopp", pod.id)
    cri("rmp", pod.id)
    assert cri("inspectp", pod.id, check=False).returncode != 0


# -- security contexts -----------------------------------------------------------------------

def test_run_as_user_and_group(cri):
    pod = cri.run_pod()
    container = pod.run(["sh", "-c", "echo $(id -u):$(id -g):$(id -G)"],
                        security={"run_as_user": {"value": 1001},
                                  "run_as_group": {"value": 1002},
                                  "supplemental_groups": [1234]})
    cri.wait_state(container.id, "CONTAINER_EXITED")
    assert container.logged(1) == [("stdout", "1001:1002:1002 1234")]


def test_an_image_s_configured_user_and_groups(cri):
    image = cri_images.CRITEST_REGISTRY + "test-image-predefined-group:latest"
    pod = cri.run_pod()
    as_configured = pod.run(["id"], image=image)   # the image's config: "User": "1000"
    cri.wait_state(as_configured.id, "CONTAINER_EXITED")
    assert as_configured.logged(1) == [
        ("stdout", "uid=1000(default-user) gid=1000(default-user) groups=1000(default-user)")]
    # RunAsUser: the groups the image's /etc/group gives that user, and supplemental ones
    grouped = pod.run(["id", "-G"], image=image, security={
        "run_as_user": {"value": 1000}, "supplemental_groups": [1234]})
    cri.wait_state(grouped.id, "CONTAINER_EXITED")
    assert grouped.logged(1) == [("stdout", "1000 1234 50000")]


def test_read_only_rootfs(cri):
    pod = cri.run_pod()
    container = pod.run(["sh", "-c", "touch /file; echo written to /tmp >/tmp/x && cat /tmp/x"],
                        security={"readonly_rootfs": True})
    cri.wait_state(container.id, "CONTAINER_EXITED")
    container.wait_log("touch: /file: Read-only file system")
    assert ("stderr", "touch: /file: Read-only file system") in container.log_lines()


@pytest.mark.parametrize("no_new_privs, euid", [(True, 1000), (False, 0)])
def test_no_new_privs(cri, no_new_privs, euid):
    container = cri.run_pod().run(None, image=cri_images.NONEWPRIVS_IMAGE,
                                  security={"run_as_user": {"value": 1000},
                                            "no_new_privs": no_new_privs})
    cri.wait_state(container.id, "CONTAINER_EXITED")
    assert container.logged(1) == [("stdout", f"Effective uid: {euid}")]


def _capabilities(cri, container):
    status = cri.exec_sync(container.id, "cat", "/proc/self/status")
    return {key: int(value, 16) for key, value in re.findall(r"^(Cap\w+):\s+(\w+)$", status,
                                                             re.MULTILINE)}


def test_privileged(cri):
    pod = cri.run_pod(privileged=True)
    container = pod.run(["sleep", "1000"], security={"privileged": True})
    assert _capabilities(cri, container)["CapEff"] == _capabilities_of_the_node(cri)
    cri.exec_sync(container.id, "brctl", "addbr", "e2e-br0")    # network administration
    # the node's devices: a block device appears in /dev only for a privileged container
    disk = next(name for name in sorted(os.listdir("/sys/block")) if os.path.exists(f"/dev/{name}"))
    assert disk in cri.exec_sync(container.id, "ls", "/dev").split()
    unprivileged = cri.run_pod().run(["sleep", "1000"])
    assert disk not in cri.exec_sync(unprivileged.id, "ls", "/dev").split()
    status, _, _ = cri.exec(unprivileged.id, "brctl", "addbr", "e2e-br1")
    assert status != 0


def _capabilities_of_the_node(cri):
    with open("/proc/self/status") as status:
        return int(re.search(r"^CapBnd:\s+(\w+)$", status.read(), re.MULTILINE).group(1), 16)


def test_capabilities_added_and_dropped(cri):
    CAP_NET_RAW, CAP_NET_ADMIN = 13, 12
    pod = cri.run_pod()
    default = _capabilities(cri, pod.run(["sleep", "1000"]))["CapEff"]
    added = _capabilities(cri, pod.run(["sleep", "1000"], security={
        "capabilities": {"add_capabilities": ["NET_ADMIN"], "drop_capabilities": ["NET_RAW"]}}))
    assert added["CapEff"] == (default | 1 << CAP_NET_ADMIN) & ~(1 << CAP_NET_RAW)
    none = _capabilities(cri, pod.run(["sleep", "1000"], security={
        "capabilities": {"drop_capabilities": ["ALL"]}}))
    assert none["CapEff"] == none["CapBnd"] == 0


def test_seccomp_runtime_default_and_localhost(cri, node):
    container = cri.run_pod().run(["sleep", "1000"],
                                  security={"seccomp": {"profile_type": RUNTIME_DEFAULT}})
    assert re.search(r"^Seccomp:\s+2$", cri.exec_sync(container.id, "cat", "/proc/self/status"),
                     re.MULTILINE)
    status, _, err = cri.exec(container.id, "unshare", "-U", "true")  # blocked by the profile
    assert status != 0
    profile = os.path.join(node.base, f"block-chmod-{uuid.uuid4().hex[:6]}.json")
    with open(profile, "w") as output:
        json.dump({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["chmod", "fchmodat", "fchmodat2"],
                                 "action": "SCMP_ACT_ERRNO"}]}, output)
    blocked = cri.run_pod().run(["sleep", "1000"], security={
        "seccomp": {"profile_type": LOCALHOST, "localhost_ref": profile}})
    status, _, err = cri.exec(blocked.id, "chmod", "600", "/tmp")
    assert status != 0 and "Operation not permitted" in err
    unconfined = cri.run_pod().run(["sleep", "1000"],
                                   security={"seccomp": {"profile_type": UNCONFINED}})
    assert re.search(r"^Seccomp:\s+0$", cri.exec_sync(unconfined.id, "cat", "/proc/self/status"),
                     re.MULTILINE)


def test_sysctls(cri):
    pod = cri.run_pod(sysctls={"kernel.shm_rmid_forced": "1", "net.core.somaxconn": "1234",
                               "net.ipv4.ip_unprivileged_port_start": "0"})
    container = pod.run(["sleep", "1000"])
    assert cri.exec_sync(container.id, "cat", "/proc/sys/kernel/shm_rmid_forced").strip() == "1"
    assert cri.exec_sync(container.id, "cat", "/proc/sys/net/core/somaxconn").strip() == "1234"
    assert cri.exec_sync(container.id, "cat",
                         "/proc/sys/net/ipv4/ip_unprivileged_port_start").strip() == "0"


# -- resources: update, OOM, stats -----------------------------------------------------------

def _cgroup_file(cri, container, controller, name):
    path = cri.inspect(container.id)["info"]["runtimeSpec"]["linux"]["cgroupsPath"]
    return f"/sys/fs/cgroup/{controller}{path}/{name}"


def test_update_container_resources(cri):
    container = cri.run_pod().run(["sleep", "1000"],
                                  resources={"memory_limit_in_bytes": 256 << 20})
    limit = _cgroup_file(cri, container, "memory", "memory.limit_in_bytes")
    with open(limit) as current:
        assert int(current.read()) == 256 << 20
    cri("update", "--memory", str(128 << 20), "--cpu-period", "100000", "--cpu-quota", "50000",
        container.id)
    with open(limit) as current:
        assert int(current.read()) == 128 << 20
    with open(_cgroup_file(cri, container, "cpu", "cpu.cfs_quota_us")) as quota:
        assert int(quota.read()) == 50000
    resources = cri.inspect(container.id)["info"]["runtimeSpec"]["linux"]["resources"]
    assert resources["memory"]["limit"] == 128 << 20


def test_an_oom_kill_is_reported_as_oomkilled(cri):
    container = cri.run_pod().run(["sh", "-c", "echo start; tail /dev/zero"],
                                  resources={"memory_limit_in_bytes": 32 << 20})
    status = cri.wait_state(container.id, "CONTAINER_EXITED", timeout=120)  # the OOM's way
    assert status["reason"] == "OOMKilled", status
    assert status["exitCode"] == 137


def test_stats(cri):
    container = cri.run_pod().run(["sh", "-c", "while :; do :; done"])
    cri.wait_state(container.id, "CONTAINER_RUNNING")

    def usage():
        listing = json.loads(cri("stats", "--output", "json", "--id", container.id).stdout)
        (stats,) = listing["stats"]
        return stats

    wait_until(lambda: int(usage()["cpu"]["usageCoreNanoSeconds"]["value"]) > 0,
               "CPU usage in the stats")
    stats = usage()
    assert stats["attributes"]["id"] == container.id
    assert int(stats["memory"]["workingSetBytes"]["value"]) > 0


# -- images ------------------------------------------------------------------------------------

def test_a_docker_io_name_is_pulled_from_the_local_mirror(cri):
    cri("pull", "busybox")    # docker.io/library/busybox:latest
    container = cri.run_pod().run(["echo", "from docker.io"],
                                  image=cri_images.DOCKER_BUSYBOX_IMAGE)
    cri.wait_state(container.id, "CONTAINER_EXITED")
    assert container.logged(1) == [("stdout", "from docker.io")]


def test_the_documented_pod(cri):
    """docs/integration.md's Pod (its image and command), in a sandbox asked for by the handler
    its RuntimeClass names, as a kubelet asks (and the same pod with runc)."""
    pod_manifest = integration_doc.snippet("runtimeclass").split("\n---\n")[1]
    image = re.search(r"^\s+image: (\S+)$", pod_manifest, re.MULTILINE).group(1)
    command = json.loads(re.search(r"^\s+command: (\[.*\])$", pod_manifest,
                                   re.MULTILINE).group(1))
    container = cri.run_pod().run(command, image=image)
    container.wait_log("hi")
    assert cri.inspect(container.id)["status"]["state"] == "CONTAINER_RUNNING"
