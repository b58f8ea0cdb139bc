"""Docker (Debian's dockerd 20.10 and its client, /usr/bin/docker) end to end, with oci-runtime
added as a runtime (`dockerd --add-runtime oci-runtime=...`): each scenario runs with
`--runtime oci-runtime` and with `--runtime runc`, and must behave the same.

A private dockerd (tests/e2e/docker_daemon.py: it touches neither the host's interfaces nor its
firewall) is started for the module and stopped by pid.  The image is a busybox-static root
filesystem brought in with `docker import`.  Containers use `--network none` (or `host`: no
bridge network exists)."""
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from tests.e2e import docker_daemon, integration_doc
from tests.e2e.conftest import cannot_run
from tests.waiting import wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIME = os.path.join(REPO, ".venv", "bin", "oci-runtime")
DOCKER, BUSYBOX = docker_daemon.DOCKER, docker_daemon.BUSYBOX
IMAGE = "oci-e2e/busybox:latest"
RUNTIMES = ("oci-runtime", "runc")
CGROUP_PARENT = docker_daemon.CGROUP_PARENT


@pytest.fixture(params=RUNTIMES)
def runtime(request):
    """Each scenario runs with `--runtime oci-runtime` and with `--runtime runc`."""
    return request.param


@pytest.fixture(scope="module")
def docker(cgroup_tree_remover):
    if os.geteuid() != 0:
        pytest.skip("dockerd needs root")
    missing = [tool for tool in ("dockerd", DOCKER, BUSYBOX, RUNTIME) if not shutil.which(tool)]
    if missing:
        cannot_run(f"Docker end to end needs {', '.join(missing)} (scripts/setup-e2e)")
    base = tempfile.mkdtemp(prefix="oci-docker-", dir="/tmp")
    with open(f"{base}/daemon.json", "w") as config:
        config.write("{}")
    # docs/integration.md's `dockerd --add-runtime oci-runtime=...`, with the checkout's launcher
    documented = shlex.split(integration_doc.snippet("dockerd", runtime=RUNTIME))
    assert documented[0] == "dockerd"
    client = docker_daemon.start_dockerd(base, documented[1:])
    try:
        client("import", "--change", 'CMD ["sh"]', docker_daemon.rootfs_tar(f"{base}/rootfs.tar"), IMAGE)
        yield client
    finally:
        client("rm", "--force", *client("ps", "-aq", check=False).stdout.split(), check=False)
        docker_daemon.stop_dockerd(client)
        cgroup_tree_remover(CGROUP_PARENT)


def name():
    return f"e2e-{uuid.uuid4().hex[:10]}"


def run(docker, runtime, *args, options=(), check=True, input=None, timeout=120):
    """`docker run --rm --network none --runtime RUNTIME OPTIONS IMAGE ARGS`."""
    return docker("run", "--rm", "--network", "none", "--runtime", runtime, *options, IMAGE,
                  *args, check=check, input=input, timeout=timeout)


def detached(docker, runtime, *args, options=()):
    """A container left running (removed with the module): its name."""
    container = name()
    docker("run", "--detach", "--name", container, "--network", "none", "--runtime", runtime,
           *options, IMAGE, *args)
    return container


def cgroup_value(docker, container, controller, name):
    state = docker.inspect(container)
    path = f"/sys/fs/cgroup/{controller}/{CGROUP_PARENT}/{state['Id']}/{name}"
    with open(path) as value:
        return value.read().strip()


# -- running, exit codes, stdio --------------------------------------------------------------

def test_run_prints_and_exits(docker, runtime):
    result = run(docker, runtime, "sh", "-c", "echo hello; echo oops >&2; exit 7", check=False)
    assert (result.returncode, result.stdout, result.stderr) == (7, "hello\n", "oops\n")


def test_exit_codes_of_a_missing_or_unexecutable_program(docker, runtime):
    assert run(docker, runtime, "/no/such/program", check=False).returncode == 127
    assert run(docker, runtime, "/data/in-image", check=False).returncode == 126


def test_stdin(docker, runtime):
    result = run(docker, runtime, "sh", "-c", "read line; echo got:$line",
                 options=("--interactive",), input="hello\n")
    assert result.stdout == "got:hello\n"


def test_environment_workdir_hostname(docker, runtime):
    result = run(docker, runtime, "sh", "-c", "echo $GREETING; pwd; hostname",
                 options=("--env", "GREETING=hi", "--workdir", "/tmp", "--hostname", "box"))
    assert result.stdout.split() == ["hi", "/tmp", "box"]


def test_a_terminal(docker, runtime):
    # `script` gives the client the terminal `-t` wants
    command = shlex.join(docker.command("run", "--rm", "-it", "--network", "none", "--runtime",
                                        runtime, IMAGE, "sh", "-c",
                                        "tty; test -t 0 && test -t 1 && echo terminal"))
    result = subprocess.run(["script", "-qec", command, "/dev/null"],
                            capture_output=True, text=True, input="", timeout=60)
    assert result.returncode == 0, result.stdout
    # a terminal may echo "^@" for script's end of input
    assert re.search(r"/dev/pts/\d+\s+terminal", result.stdout.replace("^@", "")), result.stdout


def test_exec(docker, runtime):
    container = detached(docker, runtime, "sleep", "1000")
    assert docker("exec", container, "sh", "-c", "echo in exec").stdout == "in exec\n"
    assert docker("exec", container, "sh", "-c", "exit 5", check=False).returncode == 5
    assert docker("exec", "-i", container, "cat", input="piped\n").stdout == "piped\n"
    assert docker("exec", "--user", "1000", container, "id", "-u").stdout == "1000\n"
    command = shlex.join(docker.command("exec", "-it", container, "tty"))
    shown = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True,
                           text=True, input="", timeout=60).stdout
    assert re.search(r"/dev/pts/\d+", shown), shown
    failed = docker("exec", container, "/no/such", check=False)
    assert failed.returncode == 126
    assert "no such file or directory" in failed.stdout + failed.stderr


def test_logs(docker, runtime):
    container = detached(docker, runtime, "sh", "-c", "echo one; echo two >&2; echo three")
    assert docker("wait", container).stdout.strip() == "0"
    logs = docker("logs", container)
    assert (logs.stdout, logs.stderr) == ("one\nthree\n", "two\n")


def test_wait_returns_the_exit_status(docker, runtime):
    container = detached(docker, runtime, "sh", "-c", "sleep 0.2; exit 3")
    assert docker("wait", container).stdout.strip() == "3"
    assert docker.inspect(container)["State"]["ExitCode"] == 3


# -- what the runtime says goes to --log, never to the container's output --------------------

def test_the_runtime_s_warnings_never_reach_the_container_s_output(docker, runtime):
    # CAP_SYS_RESOURCE is outside this host's bounding set: oci-runtime leaves it out with a
    # warning (config.md's SHOULD), runc 1.1.5 fails create.  Either way, nothing of the
    # runtime's is in the container's log.
    container = name()
    created = docker("run", "--detach", "--name", container, "--network", "none", "--runtime",
                     runtime, "--cap-add", "SYS_RESOURCE", IMAGE, "sh", "-c",
                     "echo out; echo err >&2; sleep 1000", check=False)
    with open("/proc/self/status") as status:
        grantable = int(re.search(r"CapBnd:\s+(\w+)", status.read()).group(1), 16) >> 24 & 1
    if created.returncode != 0:
        assert runtime == "runc" and not grantable, created.stderr
        return
    wait_until(lambda: docker("logs", container).stderr == "err\n", "the stderr line in the logs")
    logs = docker("logs", container)
    assert (logs.stdout, logs.stderr) == ("out\n", "err\n")
    if runtime == "oci-runtime" and not grantable:
        container_id = docker.inspect(container)["Id"]
        log_json = (f"{docker.base}/exec/containerd/daemon/io.containerd.runtime.v2.task/moby/"
                    f"{container_id}/log.json")
        with open(log_json) as log:
            levels = {json.loads(line)["level"] for line in log if "CAP_SYS_RESOURCE" in line}
        assert levels == {"warning"}


# -- inspection ------------------------------------------------------------------------------

def test_top(docker, runtime):
    container = detached(docker, runtime, "sleep", "1234")
    # `docker run -d` returns once the runtime's start has (before the init's execve, as runc's)
    wait_until(lambda: "sleep 1234" in docker("top", container).stdout, "sleep in docker top")


def test_stats(docker, runtime):
    container = detached(docker, runtime, "sh", "-c", "while :; do :; done")
    stats = json.loads(docker("stats", "--no-stream", "--format", "{{json .}}",
                              container).stdout)
    assert stats["Name"] == container and stats["PIDs"] != "0"
    assert not stats["MemUsage"].startswith("0B")


def test_events(docker, runtime):
    since = time.time() - 1
    container = name()
    docker("run", "--rm", "--name", container, "--network", "none", "--runtime", runtime, IMAGE,
           "true")
    events = docker("events", "--since", f"{since:.3f}", "--until", f"{time.time() + 1:.3f}",
                    "--filter", f"container={container}", "--format", "{{.Action}}").stdout
    actions = events.split()
    for action in ("create", "start", "die", "destroy"):
        assert action in actions, actions


# -- pause, stop, kill, restart --------------------------------------------------------------

def test_pause_and_unpause(docker, runtime):
    container = detached(docker, runtime, "sleep", "1000")
    docker("pause", container)
    assert docker.inspect(container)["State"]["Status"] == "paused"
    assert cgroup_value(docker, container, "freezer", "freezer.state") == "FROZEN"
    assert docker("exec", container, "true", check=False).returncode != 0
    docker("unpause", container)
    assert docker.inspect(container)["State"]["Status"] == "running"
    assert docker("exec", container, "echo", "alive").stdout == "alive\n"


def test_stop(docker, runtime):
    # pid 1 without a handler ignores SIGTERM: stop waits, then SIGKILL
    stubborn = detached(docker, runtime, "sleep", "1000")
    docker("stop", "--time", "1", stubborn)
    assert docker.inspect(stubborn)["State"]["ExitCode"] == 137
    # The TERM must come after the trap: pid 1 drops a signal it has no handler for.
    polite = detached(docker, runtime, "sh", "-c",
                      "trap 'exit 42' TERM; echo trapped; while :; do sleep 0.1; done")
    wait_until(lambda: "trapped" in docker("logs", polite).stdout, "the shell's TERM trap")
    docker("stop", "--time", "60", polite)
    assert docker.inspect(polite)["State"]["ExitCode"] == 42


def test_kill_with_a_signal(docker, runtime):
    container = detached(docker, runtime, "sh", "-c",
                         "trap 'echo got USR1; exit 3' USR1; echo ready; "
                         "while :; do sleep 0.1; done")
    wait_until(lambda: "ready" in docker("logs", container).stdout, "the shell's USR1 trap")
    docker("kill", "--signal", "USR1", container)
    assert docker("wait", container).stdout.strip() == "3"
    assert "got USR1" in docker("logs", container).stdout


def test_restart_policy(docker, runtime):
    container = detached(docker, runtime, "sh", "-c", "echo run; exit 1",
                         options=("--restart", "on-failure:2"))
    wait_until(lambda: docker.inspect(container)["RestartCount"] == 2
               and docker.inspect(container)["State"]["Status"] == "exited",
               "two restarts")
    assert docker("logs", container).stdout == "run\nrun\nrun\n"


# -- resources ---------------------------------------------------------------------------------

def test_an_oom_kill_is_reported(docker, runtime):
    container = detached(docker, runtime, "tail", "/dev/zero", options=("--memory", "32m"))
    assert docker("wait", container, timeout=120).stdout.strip() == "137"
    state = docker.inspect(container)["State"]
    assert state["OOMKilled"] is True, state


def test_cpus_and_pids_limit(docker, runtime):
    container = detached(docker, runtime, "sleep", "1000",
                         options=("--cpus", "0.5", "--pids-limit", "10"))
    assert cgroup_value(docker, container, "cpu", "cpu.cfs_quota_us") == "50000"
    assert cgroup_value(docker, container, "pids", "pids.max") == "10"
    # Sleeps that outlast the loop however slowly it forks (a sleep ending would free a pid),
    # killed by the shell afterwards.
    forked = docker("exec", container, "sh", "-c",
                    "for i in $(seq 20); do sleep 1000 & pids=\"$pids $!\"; done; kill $pids",
                    check=False)
    assert "can't fork" in forked.stderr


def test_update(docker, runtime):
    container = detached(docker, runtime, "sleep", "1000", options=("--memory", "256m"))
    docker("update", "--memory", "128m", "--memory-swap", "256m", "--pids-limit", "50",
           container)
    assert cgroup_value(docker, container, "memory", "memory.limit_in_bytes") == str(128 << 20)
    assert cgroup_value(docker, container, "pids", "pids.max") == "50"


def test_ulimits(docker, runtime):
    result = run(docker, runtime, "sh", "-c", "ulimit -Sn; ulimit -Hn",
                 options=("--ulimit", "nofile=512:1024"))
    assert result.stdout.split() == ["512", "1024"]


# -- filesystem ----------------------------------------------------------------------------------

def test_read_only_with_a_tmpfs(docker, runtime):
    result = run(docker, runtime, "sh", "-c", "touch /x 2>&1; touch /tmp/y && echo tmp ok; "
                 "grep ' /tmp ' /proc/mounts", check=False,
                 options=("--read-only", "--tmpfs", "/tmp:size=1m"))
    assert "Read-only file system" in result.stdout
    assert "tmp ok" in result.stdout
    assert re.search(r"tmpfs /tmp tmpfs rw,.*size=1024k", result.stdout), result.stdout


def test_binds(docker, runtime, tmp_path):
    host = tmp_path / "shared"
    host.mkdir()
    (host / "from-host").write_text("hello\n")
    result = run(docker, runtime, "sh", "-c", "cat /mnt/rw/from-host; echo back > /mnt/rw/new; "
                 "touch /mnt/ro/no 2>&1 || true",
                 options=("--volume", f"{host}:/mnt/rw", "--volume", f"{host}:/mnt/ro:ro"))
    assert result.stdout.startswith("hello\n") and "Read-only file system" in result.stdout
    assert (host / "new").read_text() == "back\n"


def test_cp(docker, runtime, tmp_path):
    container = detached(docker, runtime, "sleep", "1000")
    (tmp_path / "in").write_text("copied in\n")
    docker("cp", str(tmp_path / "in"), f"{container}:/tmp/in")
    assert docker("exec", container, "cat", "/tmp/in").stdout == "copied in\n"
    docker("cp", f"{container}:/data/in-image", str(tmp_path / "out"))
    assert (tmp_path / "out").read_text() == "from the image\n"


# -- security --------------------------------------------------------------------------------

def test_user(docker, runtime):
    assert run(docker, runtime, "id", options=("--user", "1000:1000")).stdout == \
        "uid=1000(app) gid=1000(app) groups=1000(app)\n"
    assert run(docker, runtime, "id", "-u", options=("--user", "app")).stdout == "1000\n"


def _status_field(docker, runtime, field, options=()):
    status = run(docker, runtime, "cat", "/proc/self/status", options=options).stdout
    return re.search(rf"^{field}:\s+(\w+)$", status, re.MULTILINE).group(1)


def test_capabilities(docker, runtime):
    assert int(_status_field(docker, runtime, "CapEff", ("--cap-drop", "ALL")), 16) == 0
    only = int(_status_field(docker, runtime, "CapEff",
                             ("--cap-drop", "ALL", "--cap-add", "NET_ADMIN")), 16)
    assert only == 1 << 12    # CAP_NET_ADMIN
    result = run(docker, runtime, "chown", "1000", "/tmp", options=("--cap-drop", "CHOWN"),
                 check=False)
    assert result.returncode != 0


def test_privileged(docker, runtime):
    privileged = run(docker, runtime, "sh", "-c", "mount -t tmpfs none /tmp && echo mounted",
                     options=("--privileged",), check=False)
    if runtime == "runc" and privileged.returncode == 125 and "unable to apply caps" in \
            privileged.stderr and not _host_grants_every_capability():
        # Docker asks for every capability it knows; runc 1.1.5 fails on one outside the
        # bounding set (CAP_SYS_RESOURCE here), oci-runtime leaves it out with a warning.
        pytest.skip("runc 1.1.5 cannot start a privileged container on this host (no "
                    "CAP_SYS_RESOURCE): unable to apply caps")
    assert privileged.stdout == "mounted\n", privileged.stderr
    assert run(docker, runtime, "sh", "-c", "mount -t tmpfs none /tmp", check=False).returncode


def _host_grants_every_capability():
    with open("/proc/sys/kernel/cap_last_cap") as last, open("/proc/self/status") as status:
        bounding = int(re.search(r"CapBnd:\s+(\w+)", status.read()).group(1), 16)
        return bounding == (1 << int(last.read()) + 1) - 1


def test_no_new_privileges(docker, runtime):
    assert _status_field(docker, runtime, "NoNewPrivs") == "0"
    assert _status_field(docker, runtime, "NoNewPrivs",
                         ("--security-opt", "no-new-privileges")) == "1"


def test_default_seccomp_profile(docker, runtime):
    assert _status_field(docker, runtime, "Seccomp") == "2"
    # the default profile refuses unshare(CLONE_NEWUSER) without CAP_SYS_ADMIN
    assert run(docker, runtime, "unshare", "-U", "true", check=False).returncode != 0
    assert _status_field(docker, runtime, "Seccomp",
                         ("--security-opt", "seccomp=unconfined")) == "0"


def test_init(docker, runtime):
    processes = run(docker, runtime, "ps", "-o", "pid,args", options=("--init",)).stdout
    assert re.search(r"^\s*1 /sbin/docker-init -- ps", processes, re.MULTILINE), processes


def test_health_check(docker, runtime):
    container = detached(docker, runtime, "sleep", "1000", options=(
        "--health-cmd", "test -e /tmp/healthy", "--health-interval", "1s",
        "--health-retries", "1"))
    wait_until(lambda: docker.inspect(container)["State"]["Health"]["Status"] == "unhealthy",
               "the health check to fail")
    docker("exec", container, "touch", "/tmp/healthy")
    wait_until(lambda: docker.inspect(container)["State"]["Health"]["Status"] == "healthy",
               "the health check to pass")


def test_host_namespaces(docker, runtime):
    host_pid = run(docker, runtime, "ps", "-o", "pid,args", options=("--pid", "host")).stdout
    assert re.search(rf"^\s*{docker.daemon.pid} dockerd", host_pid, re.MULTILINE)
    own_pid = run(docker, runtime, "ps", "-o", "pid,args").stdout
    assert "dockerd" not in own_pid
    # the host's interfaces (others come and go on a shared machine: look for a lasting one)
    lasting = subprocess.run(["ip", "-o", "link", "show", "up"], capture_output=True, text=True,
                             check=True).stdout.split(":")[1].strip()       # lo
    lasting = _default_route_device() or lasting
    host_links = docker("run", "--rm", "--network", "host", "--runtime", runtime, IMAGE, "ip",
                        "-o", "link").stdout
    assert f": {lasting}:" in host_links, host_links
    own_links = run(docker, runtime, "ip", "-o", "link").stdout
    assert [line.split(":")[1].strip() for line in own_links.splitlines()] == ["lo"]
    segment = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True,
                             check=True).stdout.strip().rsplit(" ", 1)[-1]
    try:
        shared = run(docker, runtime, "cat", "/proc/sysvipc/shm", options=("--ipc", "host"))
        assert re.search(rf"^\s*\S+\s+{segment}\s", shared.stdout, re.MULTILINE)
        private = run(docker, runtime, "cat", "/proc/sysvipc/shm")
        assert not re.search(rf"^\s*\S+\s+{segment}\s", private.stdout, re.MULTILINE)
    finally:
        subprocess.run(["ipcrm", "-m", segment], check=False)


def _default_route_device():
    route = subprocess.run(["ip", "route", "show", "default"], capture_output=True,
                           text=True).stdout.split()
    return route[route.index("dev") + 1] if "dev" in route else None


# -- docs/integration.md ---------------------------------------------------------------------

def test_the_documented_docker_run(docker, runtime):
    """docs/integration.md's `docker run --runtime oci-runtime ... busybox echo hi` (and the same
    with runc), the image under the name the page uses."""
    docker("tag", IMAGE, "busybox:latest")
    words = shlex.split(integration_doc.snippet("docker-run"))
    assert words[:2] == ["docker", "run"]
    words[words.index("--runtime") + 1] = runtime
    assert docker(*words[1:]).stdout == "hi\n"


def test_the_documented_daemon_json():
    """docs/integration.md's daemon.json adds the runtime as --add-runtime does."""
    if os.geteuid() != 0 or not shutil.which("dockerd"):
        cannot_run("dockerd (root, scripts/setup-e2e)")
    base = tempfile.mkdtemp(prefix="oci-docker-json-", dir="/tmp")
    with open(f"{base}/daemon.json", "w") as config:
        config.write(integration_doc.snippet("docker-daemon-json", runtime=RUNTIME))
    client = docker_daemon.start_dockerd(base, [])
    try:
        runtimes = json.loads(client("info", "--format", "{{json .Runtimes}}").stdout)
        assert runtimes["oci-runtime"]["path"] == RUNTIME
    finally:
        docker_daemon.stop_dockerd(client)
