"""Names from config.json's ``linux.seccomp`` and the numbers they stand for.

The values are copied from ``seccomp.h`` (libseccomp) and ``linux/seccomp.h`` so that a profile can be
validated, and a cached filter installed, without loading libseccomp or cffi.  They are part of the
kernel and library ABI and never change meaning.
"""

# --- actions (seccomp.h SCMP_ACT_*) -------------------------------------------------------------
# ERRNO and TRACE carry a 16-bit return code in their low bits; the others carry none.
SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_KILL_THREAD = 0x00000000
SCMP_ACT_TRAP = 0x00030000
SCMP_ACT_ERRNO_BASE = 0x00050000
SCMP_ACT_NOTIFY = 0x7FC00000
SCMP_ACT_TRACE_BASE = 0x7FF00000
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000

ACTION_VALUES = {
    # SCMP_ACT_KILL is libseccomp's historical name for KILL_THREAD (runc maps it the same way).
    "SCMP_ACT_KILL": SCMP_ACT_KILL_THREAD,
    "SCMP_ACT_KILL_PROCESS": SCMP_ACT_KILL_PROCESS,
    "SCMP_ACT_KILL_THREAD": SCMP_ACT_KILL_THREAD,
    "SCMP_ACT_TRAP": SCMP_ACT_TRAP,
    "SCMP_ACT_ERRNO": SCMP_ACT_ERRNO_BASE,
    "SCMP_ACT_TRACE": SCMP_ACT_TRACE_BASE,
    "SCMP_ACT_ALLOW": SCMP_ACT_ALLOW,
    "SCMP_ACT_LOG": SCMP_ACT_LOG,
    "SCMP_ACT_NOTIFY": SCMP_ACT_NOTIFY,
}
# Only these two actions have a return-code field; the spec says errnoRet on any other action is an error.
ACTIONS_WITH_ERRNO = frozenset({"SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"})
MAX_ACTION_ERRNO = 0xFFFF  # SECCOMP_RET_DATA is 16 bits wide
EPERM = 1  # the spec's default errnoRet

# --- comparison operators (seccomp.h enum scmp_compare) -----------------------------------------
OPERATOR_VALUES = {
    "SCMP_CMP_NE": 1,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_MASKED_EQ": 7,
}
SYSCALL_MAX_ARGUMENTS = 6
UINT64_MAX = (1 << 64) - 1

# --- architectures ------------------------------------------------------------------------------
# config.json name -> the name seccomp_arch_resolve_name() understands.  Whether the installed
# libseccomp actually supports an architecture is only known once it is loaded (e.g. LOONGARCH64
# needs libseccomp 2.6).
ARCHITECTURE_LIBSECCOMP_NAMES = {
    "SCMP_ARCH_X86": "x86",
    "SCMP_ARCH_X86_64": "x86_64",
    "SCMP_ARCH_X32": "x32",
    "SCMP_ARCH_ARM": "arm",
    "SCMP_ARCH_AARCH64": "aarch64",
    "SCMP_ARCH_MIPS": "mips",
    "SCMP_ARCH_MIPS64": "mips64",
    "SCMP_ARCH_MIPS64N32": "mips64n32",
    "SCMP_ARCH_MIPSEL": "mipsel",
    "SCMP_ARCH_MIPSEL64": "mipsel64",
    "SCMP_ARCH_MIPSEL64N32": "mipsel64n32",
    "SCMP_ARCH_PPC": "ppc",
    "SCMP_ARCH_PPC64": "ppc64",
    "SCMP_ARCH_PPC64LE": "ppc64le",
    "SCMP_ARCH_S390": "s390",
    "SCMP_ARCH_S390X": "s390x",
    "SCMP_ARCH_PARISC": "parisc",
    "SCMP_ARCH_PARISC64": "parisc64",
    "SCMP_ARCH_RISCV64": "riscv64",
    "SCMP_ARCH_LOONGARCH64": "loongarch64",
    "SCMP_ARCH_M68K": "m68k",
    "SCMP_ARCH_SH": "sh",
    "SCMP_ARCH_SHEB": "sheb",
}

# --- seccomp(2) (linux/seccomp.h) ---------------------------------------------------------------
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_GET_NOTIF_SIZES = 3

SECCOMP_FILTER_FLAG_TSYNC = 1 << 0
SECCOMP_FILTER_FLAG_LOG = 1 << 1
SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 1 << 4
SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5

# The flags a profile may ask for (features-linux.md "knownFlags").  NEW_LISTENER and TSYNC_ESRCH are
# not user-visible: filter.load_flags adds them when a listener is needed.
FLAG_VALUES = {
    "SECCOMP_FILTER_FLAG_TSYNC": SECCOMP_FILTER_FLAG_TSYNC,
    "SECCOMP_FILTER_FLAG_LOG": SECCOMP_FILTER_FLAG_LOG,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
}
FLAG_NAMES = {value: name for name, value in FLAG_VALUES.items()}
FLAG_NAMES[SECCOMP_FILTER_FLAG_NEW_LISTENER] = "SECCOMP_FILTER_FLAG_NEW_LISTENER"
FLAG_NAMES[SECCOMP_FILTER_FLAG_TSYNC_ESRCH] = "SECCOMP_FILTER_FLAG_TSYNC_ESRCH"

# The kernel refuses longer programs (BPF_MAXINSNS); each instruction (struct sock_filter) is 8 bytes.
BPF_MAX_INSTRUCTIONS = 4096
BPF_INSTRUCTION_SIZE = 8

# Where config errors point to, as in 'config.json: /linux/seccomp/syscalls/3/action: ...'.
CONFIG_POINTER = "/linux/seccomp"
