"""The package's system calls, through the runtime's one kernel seam (oci_runtime.kernel.syscalls, over the
cffi shim in cext/): seccomp(2), and prctl(2)'s no_new_privs.  Results come back as
(value, errno) because install() turns each errno into its own message."""

from oci_runtime.kernel import syscalls as kernel
from oci_runtime.errors import OCIError

PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39


def seccomp(operation: int, flags: int) -> "tuple[int, int]":
    """seccomp(operation, flags, NULL) -> (return value, errno): how a flag is probed."""
    try:
        return kernel.seccomp(operation, flags), 0
    except OSError as exc:
        return -1, exc.errno or 0  # the seam's OSErrors always carry one


def load_filter(bpf: bytes, flags: int, set_mode_filter: int) -> "tuple[int, int]":
    """seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) for a program in ``bpf`` bytes."""
    try:
        return kernel.seccomp_set_filter(set_mode_filter, flags, bpf), 0
    except OSError as exc:
        return -1, exc.errno or 0


def set_no_new_privs() -> None:
    """prctl(PR_SET_NO_NEW_PRIVS, 1): lets an unprivileged process load a seccomp filter."""
    try:
        kernel.prctl(PR_SET_NO_NEW_PRIVS, 1)
    except OSError as exc:
        raise OCIError.from_os("prctl(PR_SET_NO_NEW_PRIVS)", exc) from exc


def no_new_privs_is_set() -> bool:
    return kernel.prctl(PR_GET_NO_NEW_PRIVS) == 1
