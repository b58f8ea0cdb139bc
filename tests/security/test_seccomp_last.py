"""After the seccomp filter is loaded, nothing runs but the privilege drop and execve.

The runtime's own code must not run under the container's filter: a profile written for older
kernels (Docker's default less every syscall added since Linux 5.0) denies the syscalls a modern
runtime likes (close_range, clone3, openat2, faccessat2, ...), and a default-deny allow-list made
for the program (busybox `true`) allows nothing of the runtime at all.
"""
import json
import os
import platform
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root"),
    pytest.mark.skipif(platform.machine() != "x86_64",
                       reason="the allow-lists and syscall numbers are x86_64's"),
]

DOCKER_PROFILE = Path(__file__).resolve().parents[1] / "data" / "seccomp" / "docker-default.json"

# Every syscall added to x86_64 after Linux 5.0, with the release that added it (the 5.0 table
# ends at 423; 5.1 starts with pidfd_send_signal, 424).
ADDED_SINCE_5_0 = {
    "pidfd_send_signal": "5.1", "io_uring_setup": "5.1", "io_uring_enter": "5.1",
    "io_uring_register": "5.1", "open_tree": "5.2", "move_mount": "5.2", "fsopen": "5.2",
    "fsconfig": "5.2", "fsmount": "5.2", "fspick": "5.2", "pidfd_open": "5.3", "clone3": "5.3",
    "openat2": "5.6", "pidfd_getfd": "5.6", "faccessat2": "5.8", "close_range": "5.9",
    "process_madvise": "5.10", "epoll_pwait2": "5.11", "mount_setattr": "5.12",
    "landlock_create_ruleset": "5.13", "landlock_add_rule": "5.13",
    "landlock_restrict_self": "5.13", "quotactl_fd": "5.14", "memfd_secret": "5.14",
    "process_mrelease": "5.15", "futex_waitv": "5.16", "set_mempolicy_home_node": "5.17",
    "cachestat": "6.5", "fchmodat2": "6.6", "map_shadow_stack": "6.6", "futex_wake": "6.7",
    "futex_wait": "6.7", "futex_requeue": "6.7", "statmount": "6.8", "listmount": "6.8",
    "lsm_get_self_attr": "6.8", "lsm_set_self_attr": "6.8", "lsm_list_modules": "6.8",
    "mseal": "6.10", "uretprobe": "6.11", "setxattrat": "6.13", "getxattrat": "6.13",
    "listxattrat": "6.13", "removexattrat": "6.13", "open_tree_attr": "6.15",
    "file_getattr": "6.17", "file_setattr": "6.17",
}

# What busybox-static `true` needs, found with `strace -f busybox true` and then by removing one
# name at a time while the container still ran (getrandom, getuid, prctl, prlimit64, readlink,
# rseq, set_robust_list and set_tid_address may fail: busybox and its libc go on).
TRUE_NEEDS = ["arch_prctl", "brk", "execve", "exit_group", "mprotect"]
# With noNewPrivileges false the filter is loaded before the final capabilities are set (loading
# it without no_new_privs needs CAP_SYS_ADMIN): capset and prctl (the ambient set) run after it,
# as with runc, whose finalizeNamespace runs after InitSeccomp in that case.
PRIVILEGE_DROP_NEEDS = ["capset", "prctl"]


# scripts/test-sanitized runs the executor built with ASan and UBSan, whose runtime makes system
# calls of its own (getpid to find its log, its fatal-signal handlers): under an allow-list
# counted for the static executor it cannot run, and says so.  These tests count that one.
counted_for_the_static_executor = pytest.mark.skipif(
    bool(os.environ.get("OCI_EXECUTOR_SANITIZER_LOG")),
    reason="the sanitized executor's runtime makes system calls the allow-list does not have")


def docker_profile_before_5_1():
    profile = json.loads(DOCKER_PROFILE.read_text())
    for entry in profile["syscalls"]:
        entry["names"] = [name for name in entry["names"] if name not in ADDED_SINCE_5_0]
    profile["syscalls"] = [entry for entry in profile["syscalls"] if entry["names"]]
    return profile


def allow_only(names):
    return {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": sorted(names), "action": "SCMP_ACT_ALLOW"}]}


def with_seccomp(profile, no_new_privileges):
    def edit(config):
        config["linux"]["seccomp"] = profile
        config["process"]["noNewPrivileges"] = no_new_privileges
    return edit


def test_the_table_of_new_syscalls_is_complete():
    """Every name of the Docker profile numbered 424 or above on x86_64 is in the table."""
    from oci_runtime.seccomp._libseccomp import syscall_number

    profile = json.loads(DOCKER_PROFILE.read_text())
    names = {name for entry in profile["syscalls"] for name in entry["names"]}
    newer = {name for name in names if (syscall_number(name) or 0) >= 424}
    assert newer - set(ADDED_SINCE_5_0) == set()
    assert {"close_range", "clone3", "openat2", "faccessat2", "pidfd_open"} <= newer
    remaining = {name for entry in docker_profile_before_5_1()["syscalls"]
                 for name in entry["names"]}
    assert not remaining & set(ADDED_SINCE_5_0)


def test_true_runs_under_docker_profile_before_5_1_without_no_new_privileges(oci, make_bundle):
    bundle, cid = make_bundle(["true"], with_seccomp(docker_profile_before_5_1(), False))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr


def test_exec_runs_under_docker_profile_before_5_1_without_no_new_privileges(oci, make_bundle):
    bundle, cid = make_bundle(["sleep", "60"], with_seccomp(docker_profile_before_5_1(), False))
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    result = oci("exec", cid, "true")
    assert result.returncode == 0, result.stderr
    # The filter is really there (mode 2), and no_new_privs is not.
    status = oci("exec", cid, "cat", "/proc/self/status", check=True).stdout
    assert "Seccomp:\t2" in status and "NoNewPrivs:\t0" in status, status


def test_true_runs_under_an_allow_list_of_what_it_needs(oci, make_bundle):
    bundle, cid = make_bundle(["true"], with_seccomp(allow_only(TRUE_NEEDS), True))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr


@counted_for_the_static_executor
def test_the_allow_list_is_minimal(oci, make_bundle):
    """Each name of TRUE_NEEDS is needed (so the test above proves nothing else runs after the
    filter): without it the container fails."""
    for name in TRUE_NEEDS:
        bundle, cid = make_bundle(["true"], with_seccomp(
            allow_only(set(TRUE_NEEDS) - {name}), True))
        result = oci("run", "--bundle", str(bundle), cid)
        assert result.returncode != 0, f"`true` ran without {name}"


def test_without_no_new_privileges_the_allow_list_needs_the_privilege_drop(oci, make_bundle):
    bundle, cid = make_bundle(["true"], with_seccomp(
        allow_only(TRUE_NEEDS + PRIVILEGE_DROP_NEEDS), False))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr


@counted_for_the_static_executor
def test_without_no_new_privileges_a_bare_allow_list_fails_with_a_reason(oci, make_bundle):
    # write: so the executor can still say why, under the filter, on the container's stderr.
    bundle, cid = make_bundle(["true"], with_seccomp(allow_only(TRUE_NEEDS + ["write"]), False))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode != 0
    assert "Operation not permitted" in result.stderr, result.stderr
