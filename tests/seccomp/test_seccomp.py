"""oci_runtime.seccomp against the real kernel and libseccomp.

Each filter is installed in a forked child (a filter cannot be removed, and the test process must
stay unfiltered); the child reports what its syscalls returned through a pipe as JSON and the parent
asserts on that and on how the child ended.  Needs root (CAP_SYS_ADMIN for the no_new_privs-less
case, setuid for the EACCES case) and Linux >= 5.7 for SCMP_ACT_NOTIFY.
"""

import ctypes
import errno
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oci_runtime.errors import OCIError
from oci_runtime import seccomp
from oci_runtime.seccomp import _kernel, notify

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER_PROFILE = REPO_ROOT / "tests" / "data" / "seccomp" / "docker-default.json"
BUSYBOX = "/bin/busybox"
CHILD_TIMEOUT = 30.0

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="installs seccomp filters and changes uid: needs root")

LIBC = ctypes.CDLL(None, use_errno=True)
PRIO_PROCESS, PRIO_PGRP = 0, 1
CLONE_NEWNS = 0x00020000  # os.CLONE_NEWNS only exists from Python 3.12
# Far above any pid_max (at most 2**22), so getpriority() on it fails with ESRCH unless a rule matches.
NO_SUCH_PID = 5_000_010


class ChildResult:
    def __init__(self, report, status):
        self.report = report  # what the child's body returned, or None if it died first
        self.status = status  # raw wait status

    @property
    def exit_code(self):
        return os.waitstatus_to_exitcode(self.status)


def run_in_child(body, *, before_wait=None):
    """Run ``body()`` in a forked child and return its JSON-able result as a :class:`ChildResult`.

    ``before_wait(child_pid)`` runs in the parent while the child is alive (e.g. to play the seccomp
    agent).  The child is always reaped; on timeout it is killed and the test fails.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        exit_code = 0
        try:
            os.close(read_fd)
            import resource

            # A seccomp kill is SIGSYS, whose default action dumps core; keep the tree clean.
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            payload = json.dumps({"report": body()})
        except BaseException as exc:  # report everything, including SystemExit, to the parent
            payload = json.dumps({"child_exception": f"{type(exc).__name__}: {exc}"})
            exit_code = 1
        try:
            os.write(write_fd, payload.encode())
        finally:
            os._exit(exit_code)

    os.close(write_fd)
    try:
        if before_wait is not None:
            before_wait(pid)
        output = bytearray()
        deadline = time.monotonic() + CHILD_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([read_fd], [], [], remaining)[0]:
                pytest.fail(f"child {pid} did not finish within {CHILD_TIMEOUT}s")
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            output += chunk
    except BaseException:
        # The child may be blocked for good (e.g. on a notified syscall nobody answers): kill it so
        # the waitpid() below cannot hang.
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    message = json.loads(output) if output else {}
    assert "child_exception" not in message, message["child_exception"]
    return ChildResult(message.get("report"), status)


def errno_of(call):
    """Run ``call()`` and return 0 on success or the errno of the OSError it raised."""
    try:
        call()
    except OSError as exc:
        return exc.errno
    return 0


def libc_errno(function, *args):
    """Call a libc function that returns -1 and sets errno; 0 on success, else the errno."""
    ctypes.set_errno(0)
    result = function(*args)
    return ctypes.get_errno() if result == -1 else 0


def getpriority_errno(which, who):
    # glibc's getpriority() may legitimately return -1, so clear errno first and read it back.
    ctypes.set_errno(0)
    LIBC.getpriority(which, who)
    return ctypes.get_errno()


def install_in_child(profile, *, no_new_privs=True, want_listener=False):
    compiled = seccomp.compile_filter(profile)
    if no_new_privs:
        _kernel.set_no_new_privs()
    return seccomp.install(compiled, want_listener=want_listener)


def allow_all_but(*rules):
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": list(rules)}


# --- actions ------------------------------------------------------------------------------------

@pytest.mark.parametrize("errno_ret", [errno.ENOSYS, 1234])
def test_errno_action_returns_configured_errno(tmp_path, errno_ret):
    target = tmp_path / "not-created"
    profile = allow_all_but(
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno_ret},
        # No errnoRet: the spec's default, EPERM.
        {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"},
    )

    def body():
        install_in_child(profile)
        return {"mkdir": errno_of(lambda: os.mkdir(target)), "rmdir": errno_of(lambda: os.rmdir(tmp_path))}

    result = run_in_child(body)
    assert result.exit_code == 0
    assert result.report == {"mkdir": errno_ret, "rmdir": errno.EPERM}
    assert not target.exists()
    assert tmp_path.is_dir()


def test_default_errno_ret_applies_to_default_action(tmp_path):
    # Allow what the child needs to report back (allocate, write, exit); everything else fails.
    allowed = ["write", "exit_group", "brk", "mmap", "munmap", "mremap", "madvise"]
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.EXDEV,
               "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]}

    def body():
        install_in_child(profile)
        return {"mkdir": errno_of(lambda: os.mkdir(tmp_path / "never")),
                "getpriority": getpriority_errno(PRIO_PROCESS, 0)}

    result = run_in_child(body)
    assert result.exit_code == 0
    assert result.report == {"mkdir": errno.EXDEV, "getpriority": errno.EXDEV}


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"])
def test_kill_actions_kill_with_sigsys(tmp_path, action):
    profile = allow_all_but({"names": ["mkdir", "mkdirat"], "action": action})

    def body():
        install_in_child(profile)
        os.mkdir(tmp_path / "never")
        return "survived"

    result = run_in_child(body)
    assert result.report is None
    assert os.WIFSIGNALED(result.status) and os.WTERMSIG(result.status) == signal.SIGSYS
    assert not (tmp_path / "never").exists()


def test_trap_action_delivers_sigsys_instead_of_running_the_syscall(tmp_path):
    profile = allow_all_but({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_TRAP"})

    def body():
        trapped = []
        signal.signal(signal.SIGSYS, lambda signum, frame: trapped.append(signum))
        install_in_child(profile)
        try:
            os.mkdir(tmp_path / "never")
        except OSError:
            pass  # the return value of a trapped syscall is not meaningful
        return {"trapped": trapped}

    result = run_in_child(body)
    assert result.exit_code == 0
    assert result.report == {"trapped": [signal.SIGSYS]}
    assert not (tmp_path / "never").exists()


def test_log_and_trace_actions_install_and_do_not_block(tmp_path):
    # LOG allows and audits; TRACE without a tracer fails the syscall with ENOSYS (seccomp(2)).
    profile = allow_all_but(
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_LOG"},
        {"names": ["rmdir"], "action": "SCMP_ACT_TRACE", "errnoRet": errno.EXDEV},
    )

    def body():
        install_in_child(profile)
        return {"mkdir": errno_of(lambda: os.mkdir(tmp_path / "logged")),
                "rmdir": errno_of(lambda: os.rmdir(tmp_path / "logged"))}

    result = run_in_child(body)
    assert result.exit_code == 0
    assert result.report == {"mkdir": 0, "rmdir": errno.ENOSYS}
    assert (tmp_path / "logged").is_dir()


# --- argument conditions ------------------------------------------------------------------------

PER_LINUX32 = 0x0008
PERSONALITY_QUERY = 0xFFFFFFFF


def test_personality_one_value_allowed_another_denied():
    # Docker's shape: personality is only allowed for listed values; anything else hits the default.
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM,
         "args": [{"index": 0, "value": PERSONALITY_QUERY, "op": "SCMP_CMP_NE"}]},
    ]}

    def body():
        install_in_child(profile)
        return {"query": libc_errno(LIBC.personality, ctypes.c_ulong(PERSONALITY_QUERY)),
                "set_linux32": libc_errno(LIBC.personality, ctypes.c_ulong(PER_LINUX32))}

    result = run_in_child(body)
    assert result.exit_code == 0
    assert result.report == {"query": 0, "set_linux32": errno.EPERM}


V = NO_SUCH_PID


@pytest.mark.parametrize("op, value, value_two, matching", [
    ("SCMP_CMP_NE", V, 0, {V - 1, V + 1}),
    ("SCMP_CMP_LT", V, 0, {V - 1}),
    ("SCMP_CMP_LE", V, 0, {V - 1, V}),
    ("SCMP_CMP_EQ", V, 0, {V}),
    ("SCMP_CMP_GE", V, 0, {V, V + 1}),
    ("SCMP_CMP_GT", V, 0, {V + 1}),
    # MASKED_EQ: value is the mask, valueTwo the expected (arg & mask).
    ("SCMP_CMP_MASKED_EQ", 0xFF, V & 0xFF, {V}),
    ("SCMP_CMP_MASKED_EQ", 0xF0, V & 0xF0, {V - 1, V, V + 1}),
])
def test_every_operator_matches_the_right_argument_values(op, value, value_two, matching):
    profile = allow_all_but({
        "names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV,
        "args": [{"index": 1, "value": value, "valueTwo": value_two, "op": op}],
    })
    candidates = [V - 1, V, V + 1]

    def body():
        install_in_child(profile)
        return {str(who): getpriority_errno(PRIO_PROCESS, who) for who in candidates}

    result = run_in_child(body)
    assert result.exit_code == 0
    expected = {str(who): errno.EXDEV if who in matching else errno.ESRCH for who in candidates}
    assert result.report == expected


def test_conditions_on_different_arguments_are_anded():
    profile = allow_all_but({
        "names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV,
        "args": [{"index": 0, "value": PRIO_PROCESS, "op": "SCMP_CMP_EQ"},
                 {"index": 1, "value": V, "op": "SCMP_CMP_EQ"}],
    })

    def body():
        install_in_child(profile)
        return [getpriority_errno(PRIO_PROCESS, V), getpriority_errno(PRIO_PGRP, V),
                getpriority_errno(PRIO_PROCESS, V + 1)]

    result = run_in_child(body)
    assert result.report == [errno.EXDEV, errno.ESRCH, errno.ESRCH]


def test_conditions_repeating_an_argument_index_are_ored_like_runc():
    # runc adds one rule per condition when an index repeats: either listed value matches.
    profile = allow_all_but({
        "names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV,
        "args": [{"index": 1, "value": V, "op": "SCMP_CMP_EQ"},
                 {"index": 1, "value": V + 1, "op": "SCMP_CMP_EQ"}],
    })

    def body():
        install_in_child(profile)
        return [getpriority_errno(PRIO_PROCESS, who) for who in (V, V + 1, V + 2)]

    result = run_in_child(body)
    assert result.report == [errno.EXDEV, errno.EXDEV, errno.ESRCH]


# --- a realistic default-deny profile -----------------------------------------------------------

def load_docker_profile():
    return json.loads(DOCKER_PROFILE.read_text())


def test_docker_profile_is_docker_sized():
    profile = load_docker_profile()
    names = {name for entry in profile["syscalls"] for name in entry["names"]}
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert len(names) >= 300
    conditional = {name for entry in profile["syscalls"] if entry.get("args") for name in entry["names"]}
    assert {"personality", "clone", "socket"} <= conditional


@pytest.mark.skipif(not os.path.exists(BUSYBOX), reason="needs /bin/busybox (apt-get install busybox-static)")
def test_default_deny_allow_list_runs_busybox_shell():
    profile = load_docker_profile()
    read_fd, write_fd = os.pipe()

    def body():
        install_in_child(profile)
        os.dup2(write_fd, 1)
        os.execv(BUSYBOX, ["busybox", "sh", "-c", "echo ok; unshare -m true || echo unshare-denied"])

    try:
        result = run_in_child(body)
        os.close(write_fd)
        write_fd = None
        output = b""
        while chunk := os.read(read_fd, 4096):
            output += chunk
    finally:
        os.close(read_fd)
        if write_fd is not None:
            os.close(write_fd)
    assert result.exit_code == 0
    assert output.decode().split() == ["ok", "unshare-denied"]


def test_docker_profile_argument_rules_in_a_child():
    profile = load_docker_profile()

    def body():
        install_in_child(profile)
        fork_pid = os.fork()  # glibc fork() is clone(SIGCHLD|...): no namespace flag, allowed
        if fork_pid == 0:
            os._exit(7)
        _, fork_status = os.waitpid(fork_pid, 0)
        return {
            "fork_exit": os.waitstatus_to_exitcode(fork_status),
            "unshare_mount_ns": libc_errno(LIBC.unshare, CLONE_NEWNS),
            "personality_query": libc_errno(LIBC.personality, ctypes.c_ulong(PERSONALITY_QUERY)),
            "personality_addr_no_randomize": libc_errno(LIBC.personality, ctypes.c_ulong(0x0040000)),
            "socket_vsock": errno_of(lambda: socket.socket(40, socket.SOCK_STREAM).close()),
            "clone3": libc_errno(LIBC.syscall, 435, None, 0) if os.uname().machine == "x86_64" else errno.ENOSYS,
        }

    result = run_in_child(body)
    assert result.exit_code == 0
    assert result.report == {
        "fork_exit": 7,
        "unshare_mount_ns": errno.EPERM,
        "personality_query": 0,
        "personality_addr_no_randomize": errno.EPERM,
        "socket_vsock": errno.EPERM,
        "clone3": errno.ENOSYS,
    }


# --- config errors and warnings (no filter installed) -------------------------------------------

def test_unknown_syscall_name_is_skipped_with_a_warning():
    compiled = seccomp.compile_filter(allow_all_but(
        {"names": ["getpid", "no_such_syscall_xyz"], "action": "SCMP_ACT_ERRNO"}))
    assert compiled.warnings == (
        '/linux/seccomp/syscalls/0/names/1: unknown seccomp syscall "no_such_syscall_xyz" ignored',)
    assert compiled.instruction_count > 0


def test_unknown_syscall_is_skipped_but_its_siblings_still_apply(tmp_path):
    profile = allow_all_but({"names": ["no_such_syscall_xyz", "mkdir", "mkdirat"],
                             "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV})

    def body():
        install_in_child(profile)
        return errno_of(lambda: os.mkdir(tmp_path / "never"))

    assert run_in_child(body).report == errno.EXDEV


def four_entries(**fourth):
    entries = [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"} for _ in range(3)]
    entries.append({"names": ["getppid"], "action": "SCMP_ACT_ERRNO", **fourth})
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": entries}


@pytest.mark.parametrize("profile, message", [
    (four_entries(action="SCMP_ACT_FOO"),
     'config.json: /linux/seccomp/syscalls/3/action: unknown action "SCMP_ACT_FOO"'),
    ({"defaultAction": "SCMP_ACT_BAR"},
     'config.json: /linux/seccomp/defaultAction: unknown action "SCMP_ACT_BAR"'),
    (four_entries(args=[{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 1, "op": "SCMP_CMP_XX"}]),
     'config.json: /linux/seccomp/syscalls/3/args/1/op: unknown operator "SCMP_CMP_XX"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]},
     'config.json: /linux/seccomp/architectures/1: unknown architecture "SCMP_ARCH_Z80"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]},
     'config.json: /linux/seccomp/flags/0: unknown flag "SECCOMP_FILTER_FLAG_NOPE"'),
    (four_entries(action="SCMP_ACT_ALLOW", errnoRet=5),
     'config.json: /linux/seccomp/syscalls/3/errnoRet: action "SCMP_ACT_ALLOW" does not take an errno return code'),
    ({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 5},
     'config.json: /linux/seccomp/defaultErrnoRet: action "SCMP_ACT_KILL" does not take an errno return code'),
    (four_entries(errnoRet=70000),
     "config.json: /linux/seccomp/syscalls/3/errnoRet: 70000 is out of range 0..65535"),
    (four_entries(args=[{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]),
     "config.json: /linux/seccomp/syscalls/3/args/0/index: 6 is out of range 0..5"),
    (four_entries(names=[]),
     "config.json: /linux/seccomp/syscalls/3/names: must be a non-empty array of syscall names"),
    ({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/run/agent.sock"},
     "config.json: /linux/seccomp/defaultAction: SCMP_ACT_NOTIFY cannot be used as the default action"),
    (four_entries(action="SCMP_ACT_NOTIFY", names=["read", "write"]) | {"listenerPath": "/run/agent.sock"},
     "config.json: /linux/seccomp/syscalls/3/names: SCMP_ACT_NOTIFY cannot be used for the write syscall"),
    (four_entries(action="SCMP_ACT_NOTIFY"),
     "config.json: /linux/seccomp/listenerPath: is required when SCMP_ACT_NOTIFY is used"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"},
     "config.json: /linux/seccomp/listenerMetadata: must not be set without listenerPath"),
])
def test_invalid_profile_is_rejected_naming_the_field(profile, message):
    with pytest.raises(OCIError) as raised:
        seccomp.compile_filter(profile)
    assert str(raised.value) == message


def test_arch_unsupported_by_this_libseccomp_is_an_error():
    if "SCMP_ARCH_LOONGARCH64" in seccomp.features()["archs"]:
        pytest.skip("this libseccomp supports every architecture the spec lists")
    with pytest.raises(OCIError, match=r"^config.json: /linux/seccomp/architectures/0: architecture "
                                       r'"SCMP_ARCH_LOONGARCH64" is not supported by libseccomp \d'):
        seccomp.compile_filter({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_LOONGARCH64"]})


def test_rule_repeating_the_default_action_is_skipped_and_native_arch_may_be_listed():
    native = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64"}.get(os.uname().machine)
    if native is None:
        pytest.skip("native architecture name not mapped in this test")
    plain = seccomp.compile_filter({"defaultAction": "SCMP_ACT_ALLOW"})
    redundant = seccomp.compile_filter({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [native],
                                        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]})
    assert redundant.bpf == plain.bpf


# --- privileges and flags -----------------------------------------------------------------------

def test_install_without_no_new_privs_works_with_cap_sys_admin(tmp_path):
    profile = allow_all_but({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV})

    def body():
        install_in_child(profile, no_new_privs=False)
        return {"nnp": _kernel.no_new_privs_is_set(), "mkdir": errno_of(lambda: os.mkdir(tmp_path / "never"))}

    assert run_in_child(body).report == {"nnp": False, "mkdir": errno.EXDEV}


def test_install_without_no_new_privs_or_cap_sys_admin_explains_eacces():
    compiled = seccomp.compile_filter(allow_all_but({"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}))

    def body():
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)  # drops every capability
        try:
            seccomp.install(compiled, want_listener=False)
        except OCIError as exc:
            return {"message": str(exc), "errno": exc.errno}
        return "installed"

    report = run_in_child(body).report
    assert report["errno"] == errno.EACCES
    assert "no_new_privs" in report["message"] and "CAP_SYS_ADMIN" in report["message"]


def test_all_filter_flags_are_known_to_this_kernel_and_install():
    features = seccomp.features()
    assert features["knownFlags"] == ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
    flags = features["supportedFlags"]
    profile = allow_all_but({"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV})
    profile["flags"] = flags

    def body():
        # With a listener TSYNC needs TSYNC_ESRCH and WAIT_KILLABLE_RECV is valid; without one
        # WAIT_KILLABLE_RECV must be dropped.  Both loads must succeed.
        listener_fd = install_in_child(profile, want_listener=True)
        os.close(listener_fd)
        second = install_in_child(profile, want_listener=False)
        return {"second": second, "getpriority": getpriority_errno(PRIO_PROCESS, 0)}

    assert set(flags) >= {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"}
    assert run_in_child(body).report == {"second": None, "getpriority": errno.EXDEV}


def test_features_report_seccomp_and_the_libseccomp_version():
    document = json.loads(subprocess.run([sys.executable, "-m", "oci_runtime", "features"],
                                         capture_output=True, text=True, check=True).stdout)
    reported = document["linux"]["seccomp"]
    assert reported["enabled"] is True
    assert set(reported["actions"]) == {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                        "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",
                                        "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"}
    # Every architecture reported must compile: features may not claim what compile_filter refuses.
    for arch in reported["archs"]:
        seccomp.compile_filter({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [arch]})
    from oci_runtime.seccomp._libseccomp import library_version

    assert document["annotations"]["io.github.seccomp.libseccomp.version"] == library_version()


def test_features_without_a_loadable_libseccomp_say_disabled(monkeypatch):
    from oci_runtime.seccomp import _libseccomp

    def no_library(library_path=None):
        raise OCIError("seccomp: cannot load libseccomp.so.2: not found")

    monkeypatch.setattr(_libseccomp, "_load", no_library)
    assert seccomp.features() == {"enabled": False}
    from oci_runtime.cli.cmd_features import features_document

    document = features_document()
    assert document["linux"]["seccomp"] == {"enabled": False}
    assert "io.github.seccomp.libseccomp.version" not in document["annotations"]


# --- SCMP_ACT_NOTIFY ----------------------------------------------------------------------------

def test_notify_listener_fd_reaches_the_agent_which_answers_the_syscalls(tmp_path):
    socket_path = tmp_path / "agent.sock"
    directory = tmp_path / "notified-mkdir"
    profile = allow_all_but({"names": ["getpgid", "mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"})
    profile |= {"listenerPath": str(socket_path), "listenerMetadata": "MKNOD=/dev/null"}
    received = {}

    def body():
        compiled = seccomp.compile_filter(profile)
        _kernel.set_no_new_privs()
        listener_fd = seccomp.install(compiled, want_listener=compiled.uses_notify)
        state = {"ociVersion": "1.3.0", "id": "notify-test", "status": "creating", "pid": os.getpid(),
                 "bundle": str(tmp_path), "annotations": {"k": "v"}}
        seccomp.send_listener_fd(compiled.listener_path, listener_fd, state, compiled.listener_metadata)
        os.close(listener_fd)  # the agent holds its own copy now
        return {"getpgid": os.getpgid(0), "mkdir": errno_of(lambda: os.mkdir(directory))}

    def agent(child_pid):
        connection, _ = server.accept()
        with connection:
            message, listener_fd = notify.receive_listener_fd(connection)
        try:
            received["message"] = message
            first = notify.receive(listener_fd, timeout=CHILD_TIMEOUT)
            received["first"] = first
            notify.respond(listener_fd, first.id, value=4242)
            second = notify.receive(listener_fd, timeout=CHILD_TIMEOUT)
            received["second"] = second
            notify.respond(listener_fd, second.id, error=errno.EROFS)
            received["first_still_valid"] = notify.id_valid(listener_fd, first.id)
        finally:
            os.close(listener_fd)
        received["child_pid"] = child_pid

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(socket_path))
        server.listen(1)
        server.settimeout(CHILD_TIMEOUT)
        result = run_in_child(body, before_wait=agent)
    finally:
        server.close()
        socket_path.unlink(missing_ok=True)

    assert result.exit_code == 0
    assert result.report == {"getpgid": 4242, "mkdir": errno.EROFS}
    assert not directory.exists()

    child_pid = received["child_pid"]
    message = received["message"]
    assert message == {
        "ociVersion": "1.3.0", "fds": ["seccompFd"], "pid": child_pid, "metadata": "MKNOD=/dev/null",
        "state": {"ociVersion": "1.3.0", "id": "notify-test", "status": "creating", "pid": child_pid,
                  "bundle": str(tmp_path), "annotations": {"k": "v"}},
    }
    first, second = received["first"], received["second"]
    assert first.pid == second.pid == child_pid
    assert first.args[0] == 0  # getpgid(0)
    if os.uname().machine == "x86_64":
        assert (first.syscall_number, second.syscall_number) == (121, 83)  # getpgid, mkdir
    assert second.args[0] != 0  # the path pointer
    assert received["first_still_valid"] is False


def test_send_listener_fd_fails_clearly_without_an_agent(tmp_path):
    read_fd, write_fd = os.pipe()
    try:
        with pytest.raises(OCIError, match=r"^seccomp: sending the listener fd to .*/absent.sock: "):
            seccomp.send_listener_fd(str(tmp_path / "absent.sock"), read_fd, {"pid": 1})
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_send_listener_fd_reaches_a_socket_path_longer_than_sun_path(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    socket_path = deep / "agent.sock"
    assert len(str(socket_path)) > 108
    read_fd, write_fd = os.pipe()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # bind() has the same 108-byte limit; reach the directory through /proc like the sender does.
        directory_fd = os.open(deep, os.O_PATH)
        try:
            server.bind(f"/proc/self/fd/{directory_fd}/agent.sock")
        finally:
            os.close(directory_fd)
        server.listen(1)
        seccomp.send_listener_fd(str(socket_path), write_fd, {"pid": 42, "id": "x"})
        connection, _ = server.accept()
        with connection:
            message, passed_fd = notify.receive_listener_fd(connection)
        os.write(passed_fd, b"through")
        os.close(passed_fd)
        assert os.read(read_fd, 16) == b"through"
        assert message == {"ociVersion": "1.3.0", "fds": ["seccompFd"], "pid": 42, "state": {"pid": 42, "id": "x"}}
    finally:
        server.close()
        socket_path.unlink(missing_ok=True)
        os.close(read_fd)
        os.close(write_fd)


# --- cache --------------------------------------------------------------------------------------

def test_cache_hit_returns_identical_bytes_without_libseccomp(tmp_path, monkeypatch):
    from oci_runtime.seccomp import _libseccomp

    cache_dir = tmp_path / "cache"
    profile = load_docker_profile()
    cold = seccomp.compile_filter(profile, cache_dir=str(cache_dir))
    assert cold.from_cache is False
    entries = list(cache_dir.iterdir())
    assert len(entries) == 1 and entries[0].suffix == ".json"
    assert entries[0].stat().st_mode & 0o777 == 0o600

    def refuse(*args, **kwargs):
        raise AssertionError("libseccomp was called on a cache hit")

    monkeypatch.setattr(_libseccomp, "generate_bpf", refuse)
    monkeypatch.setattr(_libseccomp, "_load", refuse)
    warm = seccomp.compile_filter(profile, cache_dir=str(cache_dir))
    assert warm.from_cache is True
    assert warm.bpf == cold.bpf
    assert warm.warnings == cold.warnings

    # listenerPath and listenerMetadata do not shape the program: same entry, fresh values.
    with_agent = dict(profile, listenerPath="/run/agent.sock", listenerMetadata="m")
    hit = seccomp.compile_filter(with_agent, cache_dir=str(cache_dir))
    assert hit.from_cache is True and hit.listener_path == "/run/agent.sock" and hit.listener_metadata == "m"

    # Validation still runs on a hit.
    with pytest.raises(OCIError, match="unknown flag"):
        seccomp.compile_filter(dict(profile, flags=["BOGUS"]), cache_dir=str(cache_dir))


def test_cache_hit_in_a_fresh_interpreter_never_loads_cffi_or_libseccomp(tmp_path):
    cache_dir = tmp_path / "cache"
    seccomp.compile_filter(load_docker_profile(), cache_dir=str(cache_dir))
    script = (
        "import json, sys\n"
        "from oci_runtime import seccomp\n"
        f"compiled = seccomp.compile_filter(json.load(open({str(DOCKER_PROFILE)!r})), cache_dir={str(cache_dir)!r})\n"
        "loaded = {'from_cache': compiled.from_cache,"
        " 'cffi_backend': '_cffi_backend' in sys.modules,"
        " 'libseccomp_mapped': 'libseccomp' in open('/proc/self/maps').read()}\n"
        "from oci_runtime.seccomp import _kernel\n"
        "_kernel.no_new_privs_is_set()  # what install() loads: the pre-generated bindings only\n"
        "loaded['cdef_parser_after_kernel_call'] = 'pycparser' in sys.modules or 'cffi' in sys.modules\n"
        "print(json.dumps(loaded))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, check=True,
                            capture_output=True, text=True).stdout
    assert json.loads(output) == {"from_cache": True, "cffi_backend": False, "libseccomp_mapped": False,
                                  "cdef_parser_after_kernel_call": False}


def test_pregenerated_cffi_modules_match_the_declarations():
    from oci_runtime.seccomp import _cffi_build

    for module_name in _cffi_build.MODULES:
        with open(_cffi_build.module_path(module_name)) as module_file:
            assert module_file.read() == _cffi_build.generated_source(module_name), (
                f"{module_name} is stale: run python -m oci_runtime.seccomp._cffi_build")


def test_cache_key_changes_with_the_program_and_damaged_entries_are_rewritten(tmp_path):
    cache_dir = tmp_path / "cache"
    first = seccomp.compile_filter(allow_all_but({"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}),
                                   cache_dir=str(cache_dir))
    other = seccomp.compile_filter(allow_all_but({"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}),
                                   cache_dir=str(cache_dir))
    assert not other.from_cache and other.bpf != first.bpf
    assert len(list(cache_dir.iterdir())) == 2

    for entry in cache_dir.iterdir():
        entry.write_text('{"format": "oci-runtime-seccomp-cache/1", "bpf": "00')  # truncated
    again = seccomp.compile_filter(allow_all_but({"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}),
                                   cache_dir=str(cache_dir))
    assert not again.from_cache and again.bpf == first.bpf
    hit = seccomp.compile_filter(allow_all_but({"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}),
                                 cache_dir=str(cache_dir))
    assert hit.from_cache and hit.bpf == first.bpf


def test_cache_directory_writable_by_others_is_not_trusted(tmp_path):
    cache_dir = tmp_path / "shared-cache"
    cache_dir.mkdir()
    cache_dir.chmod(0o777)
    compiled = seccomp.compile_filter({"defaultAction": "SCMP_ACT_ALLOW"}, cache_dir=str(cache_dir))
    assert not compiled.from_cache
    assert any("writable by other users" in warning for warning in compiled.warnings)
    assert list(cache_dir.iterdir()) == []


# --- import cost --------------------------------------------------------------------------------

def test_importing_the_package_loads_neither_cffi_nor_re():
    script = ("import sys\nimport oci_runtime.seccomp\n"
              "print(sorted(m for m in ('cffi', 're', 'json', 'dataclasses', 'socket') if m in sys.modules))")
    # -S: no site hooks, which in some environments import re themselves.
    output = subprocess.run([sys.executable, "-S", "-c", script], cwd=REPO_ROOT, check=True,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}).stdout
    assert output.strip() == "[]"
