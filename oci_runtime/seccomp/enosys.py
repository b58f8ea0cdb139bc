"""ENOSYS for syscalls newer than every syscall a profile names (runc's patchbpf).

A profile written before a syscall existed does not name it, so the default action catches it:
usually EPERM, which a libc takes as "you may not" rather than "this kernel has no such call", so
it never falls back to the older call (clone3 broke glibc 2.34 this way under Docker's old
profile).  A number above the highest number the profile names, on that architecture, is taken
to be newer than the profile and gets ENOSYS, as with runc; everything the profile names, and
every older call it does not, keeps the profile's action.

libseccomp compiles the profile and knows every architecture's syscall numbers; what it cannot
say is "any number above N", so this module writes the few classic-BPF instructions runc's
patchbpf writes, in front of libseccomp's program (which starts by loading the architecture
itself, so nothing it relies on changes).  "Newer" is per architecture: i386, x86_64 and x32
number their calls differently, and x32 shares x86_64's AUDIT_ARCH, telling its calls apart by
bit 30 of the number.
"""
import errno

from oci_runtime.errors import OCIError
from oci_runtime.seccomp import constants as C

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    Label = int | str
    # (code, jt, jf, k): jt and jf (and k of a ja) are offsets or labels
    Instruction = tuple[int, Label, Label, Label]

# AUDIT_ARCH_* values (linux/audit.h): libseccomp's SCMP_ARCH_* tokens are these, except x32,
# whose token is made up (EM_X86_64 | __AUDIT_ARCH_LE); its syscalls arrive as x86_64's.
AUDIT_ARCH_X86_64 = 0xC000003E
SCMP_ARCH_X32 = 0x4000003E
X32_SYSCALL_BIT = 0x40000000
# s390 and s390x multiplex "large" syscall numbers through syscall 0 (setup(2), gone for decades):
# a number the kernel does not know arrives as 0 there, so 0 gets ENOSYS too (runc does the same).
AUDIT_ARCH_S390 = 0x00000016
AUDIT_ARCH_S390X = 0x80000016

# Default actions that let an unknown call through get no stub (runc: a tracer should see new
# calls and answer them itself); an ENOSYS default needs none.
_PERMISSIVE = (C.SCMP_ACT_ALLOW, C.SCMP_ACT_LOG, C.SCMP_ACT_TRACE_BASE)
ENOSYS_ACTION = C.SCMP_ACT_ERRNO_BASE | errno.ENOSYS

# classic BPF (linux/bpf_common.h, linux/filter.h)
BPF_LD_W_ABS = 0x20     # A = seccomp_data[k] (32 bits)
BPF_JMP_JA = 0x05       # pc += k
BPF_JMP_JEQ_K = 0x15    # pc += (A == k) ? jt : jf
BPF_JMP_JGT_K = 0x25    # pc += (A > k) ? jt : jf   (unsigned)
BPF_JMP_JSET_K = 0x45   # pc += (A & k) ? jt : jf
BPF_RET_K = 0x06        # return k
SECCOMP_DATA_NR = 0     # offsetof(struct seccomp_data, nr)
SECCOMP_DATA_ARCH = 4   # offsetof(struct seccomp_data, arch)


def wants_stub(default_action: int) -> bool:
    """Whether a profile with this default action gets the ENOSYS stub."""
    if default_action == ENOSYS_ACTION:
        return False
    return default_action & 0xFFFF0000 not in _PERMISSIVE


def highest_numbers(names: "Iterable[str]", arch_tokens: "Iterable[int]",
                    resolve: "Callable[[int, str], int]") -> "dict[int, int]":
    """{libseccomp arch token: the highest syscall number among ``names`` on that architecture}.
    ``resolve(token, name)`` is libseccomp's seccomp_syscall_resolve_name_arch: negative for a
    name the architecture lacks (or a multiplexed pseudo-number), which counts for nothing.  An
    architecture where no name resolves is left out (its calls all meet the profile's action)."""
    names = list(dict.fromkeys(names))
    highest: "dict[int, int]" = {}
    for token in dict.fromkeys(arch_tokens):
        numbers = [number for number in (resolve(token, name) for name in names) if number > 0]
        if numbers:
            highest[token] = max(numbers)
    return highest


def stub(highest: "dict[int, int]") -> bytes:
    """The instructions to put in front of libseccomp's program for ``highest`` (from
    highest_numbers), as struct sock_filter[] in native byte order; b"" when there is nothing
    to check.  For each architecture: load the number, and if it is above the highest named,
    return ENOSYS; anything else (another architecture included) falls into the profile."""
    if not highest:
        return b""
    sections: "dict[int, dict[str, int]]" = {}
    for token, number in highest.items():
        if token == SCMP_ARCH_X32:
            sections.setdefault(AUDIT_ARCH_X86_64, {})["x32"] = number
        elif token == AUDIT_ARCH_X86_64:
            sections.setdefault(AUDIT_ARCH_X86_64, {})["x86_64"] = number
        else:
            sections.setdefault(token, {})["native"] = number
    program: "list[Instruction | str]" = [(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH)]
    program += [(BPF_JMP_JEQ_K, f"arch {arch:#x}", 0, arch) for arch in sorted(sections)]
    program.append((BPF_JMP_JA, 0, 0, "filter"))
    for arch in sorted(sections):
        program.append(f"arch {arch:#x}")
        program += _section(arch, sections[arch])
    program += ["enosys", (BPF_RET_K, 0, 0, ENOSYS_ACTION), "filter"]
    return _assemble(program)


def _section(arch: int, maxima: "dict[str, int]") -> "list[Instruction | str]":
    """One architecture's checks (a str in the list is a label for the next instruction)."""
    body: "list[Instruction | str]" = [(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR)]
    if arch in (AUDIT_ARCH_S390, AUDIT_ARCH_S390X):
        body.append((BPF_JMP_JEQ_K, "enosys", 0, 0))
    if "native" in maxima:
        body.append((BPF_JMP_JGT_K, "enosys", "filter", maxima["native"]))
    elif "x86_64" in maxima and "x32" in maxima:
        body += [(BPF_JMP_JSET_K, "x32", 0, X32_SYSCALL_BIT),
                 (BPF_JMP_JGT_K, "enosys", "filter", maxima["x86_64"]),
                 "x32", (BPF_JMP_JGT_K, "enosys", "filter", maxima["x32"])]
    elif "x86_64" in maxima:   # x32 calls (bit 30 set) are the profile's to refuse
        body += [(BPF_JMP_JSET_K, "filter", 0, X32_SYSCALL_BIT),
                 (BPF_JMP_JGT_K, "enosys", "filter", maxima["x86_64"])]
    else:                      # x32 only: x86_64 calls are the profile's
        body += [(BPF_JMP_JSET_K, 0, "filter", X32_SYSCALL_BIT),
                 (BPF_JMP_JGT_K, "enosys", "filter", maxima["x32"])]
    return body


def _assemble(program: "list[Instruction | str]") -> bytes:
    """Resolve labels to forward offsets and encode.  A conditional jump reaches 255 ahead at
    most; the stub has a few instructions per architecture, far below that.  Labels are unique
    but for "x32", which only one (x86_64) section has."""
    import struct

    labels: "dict[str, int]" = {}
    instructions: "list[Instruction]" = []
    for item in program:
        if isinstance(item, str):
            labels[item] = len(instructions)
        else:
            instructions.append(item)
    out = bytearray()
    for position, (code, jt, jf, k) in enumerate(instructions):
        def offset(target: "Label") -> int:
            if isinstance(target, int):
                return target
            distance = labels[target] - (position + 1)
            assert distance >= 0, f"backward jump to {target}"
            return distance
        jt_offset, jf_offset = offset(jt), offset(jf)
        if jt_offset > 255 or jf_offset > 255:
            raise OCIError(f"seccomp: ENOSYS stub: a jump of {max(jt_offset, jf_offset)} "
                           f"instructions (at most 255)")
        out += struct.pack("=HBBI", code, jt_offset, jf_offset, offset(k))
    return bytes(out)
