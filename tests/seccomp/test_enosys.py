"""ENOSYS for syscalls newer than every syscall a profile names (runc's patchbpf): the stub in
front of libseccomp's program, read by a small classic-BPF interpreter, and the real filter in a
forked child."""
import errno
import os
import struct

import pytest

from oci_runtime import seccomp
from oci_runtime.seccomp import enosys
from oci_runtime.seccomp._libseccomp import syscall_number
from seccomp_child import LIBC, install_in_child, libc_errno, load_docker_profile, run_in_child

AUDIT_ARCH_I386 = 0x40000003
AUDIT_ARCH_AARCH64 = 0xC00000B7
FILTER = "filter"   # what the interpreter returns when the stub falls into libseccomp's program


def run_stub(code, arch, nr):
    """Interpret the stub for one seccomp_data: its return value, or FILTER."""
    instructions = [struct.unpack("=HBBI", code[i:i + 8]) for i in range(0, len(code), 8)]
    data = {0: nr, 4: arch}
    accumulator, pc = 0, 0
    while pc < len(instructions):
        op, jt, jf, k = instructions[pc]
        pc += 1
        if op == enosys.BPF_LD_W_ABS:
            accumulator = data[k]
        elif op == enosys.BPF_JMP_JA:
            pc += k
        elif op == enosys.BPF_RET_K:
            return k
        else:
            taken = {enosys.BPF_JMP_JEQ_K: accumulator == k, enosys.BPF_JMP_JGT_K: accumulator > k,
                     enosys.BPF_JMP_JSET_K: bool(accumulator & k)}[op]
            pc += jt if taken else jf
    assert pc == len(instructions), "jumped past the stub"
    return FILTER


def test_numbers_above_the_highest_named_get_enosys_per_architecture():
    code = enosys.stub({enosys.AUDIT_ARCH_X86_64: 300, AUDIT_ARCH_I386: 380,
                        AUDIT_ARCH_AARCH64: 250})
    x86_64 = enosys.AUDIT_ARCH_X86_64
    assert run_stub(code, x86_64, 300) == FILTER
    assert run_stub(code, x86_64, 301) == enosys.ENOSYS_ACTION
    assert run_stub(code, x86_64, 0xFFFFFFFF) == FILTER          # bit 30: an x32 call
    assert run_stub(code, AUDIT_ARCH_I386, 380) == FILTER
    assert run_stub(code, AUDIT_ARCH_I386, 381) == enosys.ENOSYS_ACTION
    assert run_stub(code, AUDIT_ARCH_AARCH64, 251) == enosys.ENOSYS_ACTION
    assert run_stub(code, 0x1234, 10_000) == FILTER              # not in the profile


def test_x32_is_told_apart_by_bit_30():
    x32_highest = enosys.X32_SYSCALL_BIT | 547
    both = enosys.stub({enosys.AUDIT_ARCH_X86_64: 450, enosys.SCMP_ARCH_X32: x32_highest})
    only_x32 = enosys.stub({enosys.SCMP_ARCH_X32: x32_highest})
    x86_64 = enosys.AUDIT_ARCH_X86_64
    assert run_stub(both, x86_64, 451) == enosys.ENOSYS_ACTION
    assert run_stub(both, x86_64, enosys.X32_SYSCALL_BIT | 500) == FILTER
    assert run_stub(both, x86_64, enosys.X32_SYSCALL_BIT | 548) == enosys.ENOSYS_ACTION
    assert run_stub(only_x32, x86_64, 451) == FILTER
    assert run_stub(only_x32, x86_64, enosys.X32_SYSCALL_BIT | 548) == enosys.ENOSYS_ACTION


def test_s390_multiplexed_zero_gets_enosys():
    code = enosys.stub({enosys.AUDIT_ARCH_S390X: 400})
    assert run_stub(code, enosys.AUDIT_ARCH_S390X, 0) == enosys.ENOSYS_ACTION
    assert run_stub(code, enosys.AUDIT_ARCH_S390X, 1) == FILTER


def test_permissive_and_enosys_defaults_get_no_stub():
    profile = {"syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]}
    for default in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"):
        assert not enosys.wants_stub(seccomp.profile.parse_profile(
            {**profile, "defaultAction": default}).default_action)
    assert not enosys.wants_stub(enosys.ENOSYS_ACTION)
    for default in ("SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_TRAP"):
        assert enosys.wants_stub(seccomp.profile.parse_profile(
            {**profile, "defaultAction": default}).default_action)


def test_the_highest_number_counts_every_named_syscall_and_skips_unknown_ones():
    numbers = {(1, "read"): 0, (1, "clone3"): 435, (1, "nosuch"): -1, (2, "clone3"): -10}
    highest = enosys.highest_numbers(["read", "clone3", "nosuch"], [1, 2, 1],
                                     lambda token, name: numbers.get((token, name), -1))
    assert highest == {1: 435}


@pytest.mark.skipif(os.geteuid() != 0, reason="installs seccomp filters: needs root")
def test_a_syscall_newer_than_the_profile_gets_enosys_and_a_listed_one_keeps_its_action():
    profile = load_docker_profile()
    for entry in profile["syscalls"]:
        entry["names"] = [name for name in entry["names"] if name != "getpriority"]
    profile["syscalls"] = [entry for entry in profile["syscalls"] if entry["names"]]
    profile["syscalls"].append({"names": ["getpriority"], "action": "SCMP_ACT_ERRNO",
                                "errnoRet": errno.EXDEV})
    names = {name for entry in profile["syscalls"] for name in entry["names"]}
    highest = max(n for n in (syscall_number(name) for name in names) if n is not None)
    # A number the profile does not name, below its highest: an old call it means to refuse.
    unnamed_older = next(n for n in range(highest - 1, 0, -1)
                         if n not in {syscall_number(name) for name in names})

    listed = syscall_number("getpriority")

    def body():
        install_in_child(profile)
        return {"newer": libc_errno(LIBC.syscall, highest + 1),
                "far_above": libc_errno(LIBC.syscall, 100_000),
                "listed": libc_errno(LIBC.syscall, listed, 0, 0),
                "unnamed_older": libc_errno(LIBC.syscall, unnamed_older, 0, 0, 0, 0, 0)}

    result = run_in_child(body)
    assert result.exit_code == 0
    assert result.report == {"newer": errno.ENOSYS, "far_above": errno.ENOSYS,
                             "listed": errno.EXDEV, "unnamed_older": errno.EPERM}, \
        (highest, unnamed_older)


@pytest.mark.skipif(os.geteuid() != 0, reason="installs seccomp filters: needs root")
def test_an_allow_default_leaves_unknown_numbers_to_the_kernel():
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO",
                             "errnoRet": errno.EXDEV}]}

    listed = syscall_number("getpriority")

    def body():
        install_in_child(profile)
        return {"far_above": libc_errno(LIBC.syscall, 100_000),
                "listed": libc_errno(LIBC.syscall, listed, 0, 0)}

    result = run_in_child(body)
    assert result.report == {"far_above": errno.ENOSYS, "listed": errno.EXDEV}
