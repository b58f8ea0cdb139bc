"""The few raw system calls this package needs: seccomp(2) and prctl(2)'s no_new_privs.

Neither has a Python wrapper, and glibc has no seccomp() function, so we go through libc's generic
``syscall()`` with cffi in ABI mode (no compiler or headers at run time; the declarations are in
``_cffi_build``).  Kept private and small so a later refactor can move it into the runtime's kernel
layer.
"""

import os
import sys

from oci_runtime.errors import OCIError

# __NR_seccomp by the interpreter's ABI.  sys.implementation._multiarch describes the process, not
# the kernel: a 32-bit or x32 Python on an x86_64 kernel must use its own ABI's number.
_SECCOMP_SYSCALL_NUMBERS = (
    ("x86_64-linux-gnux32", 0x40000000 | 317),
    ("x86_64", 317),
    ("i386", 354),
    ("aarch64", 277),
    ("arm", 383),
    ("powerpc64", 358),
    ("powerpc", 358),
    ("s390x", 348),
    ("riscv64", 277),
    ("loongarch64", 277),
    ("mips64", 5312),  # n64 ABI
    ("mips", 4352),  # o32 ABI
)
_UNAME_TO_MULTIARCH = {"i686": "i386", "ppc64le": "powerpc64", "ppc64": "powerpc64", "armv7l": "arm"}

PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39

_loaded = None


def _libc():
    global _loaded
    if _loaded is None:
        # Deferred so importing the package stays cheap; see _cffi_build for why it is pre-generated.
        from oci_runtime.seccomp._cffi_build import KERNEL_MODULE, load_ffi

        ffi = load_ffi(KERNEL_MODULE)
        _loaded = ffi, ffi.dlopen(None)  # None: the C library the interpreter is linked against
    return _loaded


def _seccomp_syscall_number():
    abi = getattr(sys.implementation, "_multiarch", "") or _UNAME_TO_MULTIARCH.get(
        os.uname().machine, os.uname().machine)
    for prefix, number in _SECCOMP_SYSCALL_NUMBERS:
        if abi.startswith(prefix):
            return number
    raise OCIError(f"seccomp: the seccomp(2) syscall number for architecture {abi!r} is not known")


def seccomp(operation, flags, argument=None):
    """seccomp(operation, flags, argument) -> (return value, errno); ``argument`` is cdata or None."""
    ffi, libc = _libc()
    pointer = ffi.NULL if argument is None else ffi.cast("void *", argument)
    ffi.errno = 0
    result = libc.syscall(_seccomp_syscall_number(), ffi.cast("unsigned int", operation),
                          ffi.cast("unsigned int", flags), pointer)
    return result, (ffi.errno if result < 0 else 0)


def load_filter(bpf, flags, set_mode_filter):
    """seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) for a program in ``bpf`` bytes."""
    ffi, _ = _libc()
    # from_buffer shares the bytes' memory, which stays alive (and unmodified) for the call.
    program = ffi.new("struct sock_fprog *")
    program.len = len(bpf) // 8
    instructions = ffi.from_buffer(bpf)
    program.filter = ffi.cast("struct sock_filter *", instructions)
    return seccomp(set_mode_filter, flags, program)


def set_no_new_privs():
    """prctl(PR_SET_NO_NEW_PRIVS, 1): lets an unprivileged process load a seccomp filter."""
    ffi, libc = _libc()
    ffi.errno = 0
    zero = ffi.cast("unsigned long", 0)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, ffi.cast("unsigned long", 1), zero, zero, zero) != 0:
        raise OCIError(f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(ffi.errno)}", ffi.errno)


def no_new_privs_is_set():
    ffi, libc = _libc()
    zero = ffi.cast("unsigned long", 0)
    return libc.prctl(PR_GET_NO_NEW_PRIVS, zero, zero, zero, zero) == 1
