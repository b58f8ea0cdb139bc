"""What the seccomp tests share: running a body in a forked child (a filter cannot be removed, and
the test process must stay unfiltered) that reports through a pipe as JSON, loading a compiled
filter there as the executor does (the runtime itself never loads one: cext/ does, in the
container), and errno probes."""
import ctypes
import json
import os
import select
import signal
import time
from pathlib import Path

import pytest

from oci_runtime import seccomp
from oci_runtime.seccomp.filter import load_flags
from tests.waiting import FAILURE_AFTER

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER_PROFILE = REPO_ROOT / "tests" / "data" / "seccomp" / "docker-default.json"
BUSYBOX = "/bin/busybox"
CHILD_TIMEOUT = FAILURE_AFTER  # a bound on a hung child, not a measure

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


PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
SECCOMP_SET_MODE_FILTER = 1


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _seccomp_syscall_number():
    """seccomp(2)'s number on this architecture (glibc has no wrapper), as libseccomp knows it."""
    libseccomp = ctypes.CDLL("libseccomp.so.2")
    libseccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    return libseccomp.seccomp_syscall_resolve_name(b"seccomp")


def set_no_new_privs():
    assert LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0


def no_new_privs_is_set():
    return LIBC.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1


def load_filter(compiled, *, want_listener=False):
    """Load ``compiled`` into this process the way the executor does (seccomp(2) with
    filter.load_flags' flags); the listener fd when there is one, else None; OSError on failure."""
    flags, with_listener = load_flags(compiled, want_listener)
    number = _seccomp_syscall_number()
    program = ctypes.create_string_buffer(compiled.bpf, len(compiled.bpf))
    fprog = _SockFprog(len(compiled.bpf) // 8, ctypes.cast(program, ctypes.c_void_p))
    LIBC.syscall.restype = ctypes.c_long
    result = LIBC.syscall(ctypes.c_long(number), ctypes.c_long(SECCOMP_SET_MODE_FILTER),
                          ctypes.c_long(flags), ctypes.byref(fprog))
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result if with_listener else None


def install_in_child(profile, *, no_new_privs=True, want_listener=False):
    compiled = seccomp.compile_filter(profile)
    if no_new_privs:
        set_no_new_privs()
    return load_filter(compiled, want_listener=want_listener)


def allow_all_but(*rules):
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": list(rules)}


def load_docker_profile():
    return json.loads(DOCKER_PROFILE.read_text())
