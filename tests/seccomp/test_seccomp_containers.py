"""linux.seccomp in real containers, through the CLI: what a program in the container sees.

Each test builds a busybox bundle with a profile, runs it (``run``, ``create``/``start``, ``exec``)
and asserts on the program's output, exit status and files.  Needs root; the ``oci`` fixture
force-deletes every container, and agent sockets live in the test's tmp_path.
"""

import errno
import json
import os
import socket
import threading
from pathlib import Path

import pytest

from oci_runtime import OCI_VERSION
from oci_runtime.errors import OCIError
from oci_runtime.seccomp import notify
from oci_runtime.seccomp._libseccomp import syscall_number
from tests.waiting import FAILURE_AFTER, wait_for_status

DOCKER_PROFILE = Path(__file__).resolve().parents[1] / "data" / "seccomp" / "docker-default.json"
SIGSYS = 31
PER_LINUX32 = 0x0008
AGENT_TIMEOUT = FAILURE_AFTER  # a quiet agent gives up after it: a bound on a failure only

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")

# busybox's mkdir may use either syscall depending on how its libc implements mkdir(3).
MKDIR_SYSCALLS = ["mkdir", "mkdirat"]


def allow_all_but(*rules, **fields):
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": list(rules), **fields}


def with_seccomp(profile, no_new_privileges=None):
    def edit(config):
        config["linux"]["seccomp"] = profile
        if no_new_privileges is not None:
            config["process"]["noNewPrivileges"] = no_new_privileges
    return edit


def docker_profile_without(*denied_names):
    """The Docker default profile (defaultAction ERRNO + allow-list) minus ``denied_names``."""
    profile = json.loads(DOCKER_PROFILE.read_text())
    for entry in profile["syscalls"]:
        entry["names"] = [name for name in entry["names"] if name not in denied_names]
    profile["syscalls"] = [entry for entry in profile["syscalls"] if entry["names"]]
    return profile


def status_field(output, name):
    """The value of ``name:`` in /proc/<pid>/status text printed by the container."""
    for line in output.splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} not in the container's output: {output!r}")


def unique_strerror(error_number):
    """strerror() text, checked to name no other errno, so finding it in output proves the value."""
    text = os.strerror(error_number)
    others = [number for number in range(1, 4096) if number != error_number and os.strerror(number) == text]
    assert not others, f"{text!r} is also the text of errno {others}"
    return text


# -- ERRNO, KILL_PROCESS, argument rules -----------------------------------------------------------

# EXDEV: an errno mkdir never returns on its own for a path in /.  1000: no errno at all, so the C
# library prints the number itself ("Unknown error 1000"): the exact value crossed the filter.
@pytest.mark.parametrize("errno_ret", [errno.EXDEV, 1000])
def test_errno_ret_is_the_errno_the_program_sees(oci, make_bundle, errno_ret):
    script = "mkdir /denied; echo status=$?; test -e /denied && echo exists || echo absent"
    bundle, cid = make_bundle(["sh", "-c", script], with_seccomp(allow_all_but(
        {"names": MKDIR_SYSCALLS, "action": "SCMP_ACT_ERRNO", "errnoRet": errno_ret})))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert f"can't create directory '/denied': {unique_strerror(errno_ret)}" in result.stderr
    assert result.stdout.split() == ["status=1", "absent"]


def test_errno_without_errno_ret_is_eperm(oci, make_bundle):
    bundle, cid = make_bundle(["mkdir", "/denied"], with_seccomp(allow_all_but(
        {"names": MKDIR_SYSCALLS, "action": "SCMP_ACT_ERRNO"})))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 1
    # Root owns / in the rootfs, so without the filter this mkdir would succeed.
    assert unique_strerror(errno.EPERM) in result.stderr
    assert not (bundle / "rootfs" / "denied").exists()


def test_kill_process_kills_the_container_with_sigsys(oci, make_bundle):
    bundle, cid = make_bundle(["mkdir", "/never"], with_seccomp(allow_all_but(
        {"names": MKDIR_SYSCALLS, "action": "SCMP_ACT_KILL_PROCESS"})))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 128 + SIGSYS, result.stderr
    assert not (bundle / "rootfs" / "never").exists()


def test_kill_process_in_a_child_leaves_the_shell_running(oci, make_bundle):
    # The subshell is its own process: KILL_PROCESS ends it alone and the shell sees 128+SIGSYS.
    script = "(mkdir /never); echo child=$?"
    bundle, cid = make_bundle(["sh", "-c", script], with_seccomp(allow_all_but(
        {"names": MKDIR_SYSCALLS, "action": "SCMP_ACT_KILL_PROCESS"})))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"child={128 + SIGSYS}"


def test_argument_rule_denies_one_personality_and_allows_another(oci, make_bundle):
    # busybox linux32/linux64 call personality(PER_LINUX32) / personality(PER_LINUX) then exec.
    script = "linux64 uname -m; echo linux64=$?; linux32 uname -m; echo linux32=$?"
    bundle, cid = make_bundle(["sh", "-c", script], with_seccomp(allow_all_but(
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV,
         "args": [{"index": 0, "value": PER_LINUX32, "op": "SCMP_CMP_EQ"}]})))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [os.uname().machine, "linux64=0", "linux32=1"]
    assert unique_strerror(errno.EXDEV) in result.stderr


# -- a default-deny profile (Docker's) -------------------------------------------------------------

@pytest.mark.parametrize("no_new_privileges", [False, True])
def test_docker_allow_list_runs_a_shell(oci, make_bundle, no_new_privileges):
    # Without no_new_privs the filter is loaded before the capabilities are dropped, so everything
    # the init does after that must pass Docker's allow-list too.
    profile = docker_profile_without(*MKDIR_SYSCALLS)
    script = "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; echo ok; mkdir /made"
    bundle, cid = make_bundle(["sh", "-c", script], with_seccomp(profile, no_new_privileges))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 1, result.stderr  # mkdir's status: not on the allow-list
    assert status_field(result.stdout, "Seccomp") == "2"  # SECCOMP_MODE_FILTER
    assert status_field(result.stdout, "NoNewPrivs") == ("1" if no_new_privileges else "0")
    assert result.stdout.splitlines()[-1] == "ok"
    assert unique_strerror(profile["defaultErrnoRet"]) in result.stderr
    assert not (bundle / "rootfs" / "made").exists()


# -- exec ------------------------------------------------------------------------------------------

def test_exec_process_gets_the_filter(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "1000"], with_seccomp(allow_all_but(
        {"names": MKDIR_SYSCALLS, "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV})))
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    result = oci("exec", cid, "sh", "-c", "grep '^Seccomp:' /proc/self/status; mkdir /from-exec")
    assert result.returncode == 1
    assert status_field(result.stdout, "Seccomp") == "2"
    assert unique_strerror(errno.EXDEV) in result.stderr
    assert not (bundle / "rootfs" / "from-exec").exists()


# -- SCMP_ACT_NOTIFY and the agent at listenerPath ------------------------------------------------

class Agent:
    """A seccomp agent on a unix socket: takes each container process state + listener fd, then
    answers the notified syscalls with ``decide(path)`` -> dict of notify.respond() keywords.

    Every connection and every answered syscall is recorded for the test to assert on; failures in
    the agent thread are kept in ``errors`` (a test must check them, pytest does not see them)."""

    def __init__(self, socket_path, decide, expected_connections=1):
        self.socket_path = str(socket_path)
        self.decide = decide
        self.expected_connections = expected_connections
        self.messages = []  # the container process states, in arrival order
        self.answered = []  # (connection index, syscall name, path) per notified syscall
        self.errors = []
        self.hung_up = []  # indexes of the connections whose listener was seen hung up
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.server.bind(self.socket_path)
        self.server.listen(4)
        self.server.settimeout(AGENT_TIMEOUT)
        self.numbers = {syscall_number(name): name for name in MKDIR_SYSCALLS if syscall_number(name) is not None}
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept_all, daemon=True)
        self.acceptor.start()

    def _accept_all(self):
        try:
            for index in range(self.expected_connections):
                connection, _ = self.server.accept()
                with connection:
                    message, listener_fd = notify.receive_listener_fd(connection)
                self.messages.append(message)
                thread = threading.Thread(target=self._serve, args=(index, listener_fd), daemon=True)
                thread.start()
                self.threads.append(thread)
        except Exception as exc:  # noqa: BLE001 - reported to the test through self.errors
            self.errors.append(f"accepting: {exc!r}")

    def _serve(self, index, listener_fd):
        # Serve until the filtered processes are gone: the listener then polls as hung up and
        # receive() fails (OCIError); a quiet AGENT_TIMEOUT also ends it, so no thread outlives a test.
        try:
            while True:
                try:
                    notification = notify.receive(listener_fd, timeout=AGENT_TIMEOUT)
                except TimeoutError:
                    return
                except OCIError:
                    self.hung_up.append(index)
                    return
                name = self.numbers.get(notification.syscall_number, str(notification.syscall_number))
                path = self._path_argument(notification, name)
                # Only act on what was read if the syscall is still the one waiting (pid reuse).
                if not notify.id_valid(listener_fd, notification.id):
                    continue
                self.answered.append((index, name, path))
                notify.respond(listener_fd, notification.id, **self.decide(path))
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"serving: {exc!r}")
        finally:
            os.close(listener_fd)

    @staticmethod
    def _path_argument(notification, name):
        # mkdir(path, mode) / mkdirat(dirfd, path, mode): read the string from the caller's memory.
        address = notification.args[1] if name == "mkdirat" else notification.args[0]
        return notify.read_string(notification.pid, address)

    def finish(self):
        """Called once the container's processes are gone: every serving thread has seen its
        listener hang up (a receive() blocked past that would be a bug: it was, on Linux 6.1)."""
        self.acceptor.join(AGENT_TIMEOUT)
        for thread in self.threads:
            thread.join(AGENT_TIMEOUT + 5)
        self.server.close()
        assert not self.errors, self.errors
        assert sorted(self.hung_up) == list(range(len(self.threads))), "a listener never hung up"


def notify_profile(socket_path, metadata):
    return allow_all_but({"names": MKDIR_SYSCALLS, "action": "SCMP_ACT_NOTIFY"},
                         listenerPath=str(socket_path), listenerMetadata=metadata)


def fake_success_or_exdev(path):
    """The agent's policy: /pretend 'succeeds' without creating anything, everything else EXDEV."""
    return {"value": 0} if path == "/pretend" else {"error": errno.EXDEV}


def test_notify_agent_gets_the_state_and_answers_the_syscall(oci, make_bundle, tmp_path):
    socket_path = tmp_path / "agent.sock"
    agent = Agent(socket_path, fake_success_or_exdev)
    # Output to a file in the rootfs: a created container's stdout is the `create` call's.
    script = ("exec > /tmp/report 2>&1; mkdir /pretend && echo pretend=ok; "
              "test -e /pretend || echo pretend=absent; mkdir /refused || echo refused=failed")
    bundle, cid = make_bundle(["sh", "-c", script], with_seccomp(notify_profile(socket_path, "agent-metadata")))
    oci("create", "--bundle", str(bundle), cid, check=True)
    init_pid = oci.state(cid)["pid"]
    # The filter is loaded when `start` releases the user program, so the agent hears at start;
    # the state says "creating", as runc's and crun's (they load it during create).
    assert agent.messages == []
    oci("start", cid, check=True)
    wait_for_status(oci, cid, "stopped")
    agent.finish()

    [message] = agent.messages
    assert message["ociVersion"] == OCI_VERSION
    assert message["fds"] == ["seccompFd"]
    assert message["pid"] == init_pid
    assert message["metadata"] == "agent-metadata"
    state = message["state"]
    assert (state["ociVersion"], state["id"], state["status"], state["pid"], state["bundle"]) == (
        OCI_VERSION, cid, "creating", init_pid, str(bundle))
    assert [(index, path) for index, _, path in agent.answered] == [(0, "/pretend"), (0, "/refused")]
    assert {name for _, name, _ in agent.answered} <= set(MKDIR_SYSCALLS)

    report = (bundle / "rootfs" / "tmp" / "report").read_text()
    assert report.splitlines()[:2] == ["pretend=ok", "pretend=absent"]
    assert f"can't create directory '/refused': {unique_strerror(errno.EXDEV)}" in report
    assert report.splitlines()[-1] == "refused=failed"
    assert not (bundle / "rootfs" / "pretend").exists() and not (bundle / "rootfs" / "refused").exists()


def test_notify_exec_process_gets_its_own_listener(oci, make_bundle, tmp_path):
    socket_path = tmp_path / "agent.sock"
    agent = Agent(socket_path, fake_success_or_exdev, expected_connections=2)
    bundle, cid = make_bundle(["sleep", "1000"], with_seccomp(notify_profile(socket_path, "exec-metadata")))
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    init_pid = oci.state(cid)["pid"]
    pid_file = tmp_path / "exec.pid"
    result = oci("exec", "--pid-file", str(pid_file), cid, "sh", "-c",
                 "mkdir /pretend && echo pretend=ok; mkdir /refused || echo refused=failed")
    oci("kill", cid, "KILL", check=True)
    wait_for_status(oci, cid, "stopped")
    agent.finish()

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pretend=ok", "refused=failed"]
    assert unique_strerror(errno.EXDEV) in result.stderr
    init_message, exec_message = agent.messages
    assert init_message["pid"] == init_pid
    # As runc: "pid" is the process the filter is on (the exec'd one); state.pid stays the init's.
    assert exec_message["pid"] == int(pid_file.read_text())
    assert exec_message["metadata"] == "exec-metadata"
    assert (exec_message["state"]["id"], exec_message["state"]["status"], exec_message["state"]["pid"]) == (
        cid, "running", init_pid)
    assert [(index, path) for index, _, path in agent.answered] == [(1, "/pretend"), (1, "/refused")]


def test_listener_path_without_a_notify_rule_is_ignored(oci, make_bundle, tmp_path):
    # config-linux.md: "If the SCMP_ACT_NOTIFY action is not used this value is ignored", so no
    # agent has to listen there and the container runs.
    profile = allow_all_but({"names": MKDIR_SYSCALLS, "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV},
                            listenerPath=str(tmp_path / "nobody-listens.sock"))
    bundle, cid = make_bundle(["sh", "-c", "mkdir /denied || echo denied"], with_seccomp(profile))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "denied"


def test_the_filter_cache_in_the_state_root_is_not_a_container(oci, make_bundle):
    bundle, cid = make_bundle(["true"], with_seccomp(allow_all_but(
        {"names": MKDIR_SYSCALLS, "action": "SCMP_ACT_ERRNO"})))
    oci("run", "--bundle", str(bundle), cid, check=True)
    cache = Path(oci.root) / ".seccomp-cache"
    assert len(list(cache.iterdir())) == 1  # the compiled profile
    assert json.loads(oci("list", "--format", "json", check=True).stdout or "[]") == []
    other_bundle, _ = make_bundle(["true"])
    refused = oci("create", "--bundle", str(other_bundle), ".seccomp-cache")
    assert refused.returncode != 0 and "invalid container id" in refused.stderr
    assert len(list(cache.iterdir())) == 1
