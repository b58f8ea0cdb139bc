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
import signal
import socket
import subprocess
import sys

import pytest

from oci_runtime.errors import OCIError
from oci_runtime import seccomp
from seccomp_child import (
    load_docker_profile, BUSYBOX, LIBC, PRIO_PROCESS, PRIO_PGRP, CLONE_NEWNS, NO_SUCH_PID,
    run_in_child, errno_of, libc_errno, getpriority_errno, install_in_child, allow_all_but,
    load_filter, no_new_privs_is_set,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="installs seccomp filters and changes uid: needs root")


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

def test_loading_without_no_new_privs_works_with_cap_sys_admin(tmp_path):
    profile = allow_all_but({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV})

    def body():
        install_in_child(profile, no_new_privs=False)
        return {"nnp": no_new_privs_is_set(), "mkdir": errno_of(lambda: os.mkdir(tmp_path / "never"))}

    assert run_in_child(body).report == {"nnp": False, "mkdir": errno.EXDEV}


def test_loading_without_no_new_privs_or_cap_sys_admin_is_eacces_which_the_error_explains():
    from oci_runtime.seccomp.filter import install_error, load_flags

    compiled = seccomp.compile_filter(allow_all_but({"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}))

    def body():
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)  # drops every capability
        try:
            load_filter(compiled)
        except OSError as exc:
            error = install_error(exc.errno, load_flags(compiled)[0])
            return {"message": str(error), "errno": error.errno}
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
