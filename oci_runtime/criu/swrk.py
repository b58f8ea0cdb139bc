"""One conversation with CRIU over its RPC: `criu swrk 3`, a SOCK_SEQPACKET socket on fd 3.

    with Swrk(criu_path, extra_fds=[netns_fd], cgroup_hook=place) as criu:
        criu.check_version()                       # CRIU 4 or newer, or one line saying so
        response = criu.request("RESTORE", opts, on_notify, log_path=...)

Why RPC and not CRIU's command line: a restored terminal's pty master only comes back over the
RPC socket (the "orphan-pts-master" notification carries it as SCM_RIGHTS); the notifications
("setup-namespaces", "post-restore", ...) are synchronous callbacks into this process, where the
command line would run an --action-script, a new process per event; VERSION and FEATURE_CHECK
share the same CRIU process as the real request (keep_open); and it is what runc and crun speak,
so CRIU's behaviour under us is the one they get.

The CRIU process is our child; with ``rst_sibling`` the restored tree is a sibling of it, so the
container's init becomes our child as it is after `create` (CLONE_PARENT there).  Restore hands
the caller's stdin/stdout/stderr to the container as extra fds named in inherit_fd.
"""
import fcntl
import os

from oci_runtime.criu.protobuf import rpc_schema
from oci_runtime.errors import OCIError
from oci_runtime.kernel import hotpath

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType
    from typing import Any, Literal, TypeAlias

    # on_notify(script name, pid or 0, fd received with it or None)
    NotifyHandler: TypeAlias = "Callable[[str, int, int | None], None]"

MINIMUM_VERSION = (4, 0)
# What runc asks for; room for CRIU's largest answer (a features or version message is tiny).
_MAX_MESSAGE = 10 * 4096
_FIRST_EXTRA_FD = 4  # 0-2 are stdio, 3 the RPC socket (runc's numbering)


# What each FEATURE_CHECK feature is, and what the kernel must have for it.
_FEATURE_NEEDS = {
    "mem_track": "track memory changes on this kernel (it needs the kernel's soft-dirty bits, "
                 "CONFIG_MEM_SOFT_DIRTY): checkpoint without it",
    "lazy_pages": "restore memory lazily on this kernel (it needs userfaultfd with "
                  "non-cooperative events)",
}


class CriuError(OCIError):
    """CRIU is missing, too old, or failed; the message names its log file when there is one."""


def _inheritable_fds() -> "list[int]":
    """This process's fds above stdio without close-on-exec."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                if not fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC:
                    found.append(fd)
            except OSError:
                pass  # the directory's own fd, closed by now
    return found


def find_criu(criu: str) -> str:
    """The executable ``criu`` names: a path, or a name looked up on $PATH (runc's --criu)."""
    if "/" in criu:
        if os.access(criu, os.X_OK) and not os.path.isdir(criu):
            return criu
        raise CriuError(f"--criu {criu}: not an executable file; checkpoint and restore need "
                        f"CRIU {MINIMUM_VERSION[0]}.{MINIMUM_VERSION[1]} or newer")
    for directory in os.environ.get("PATH", os.defpath).split(":"):
        candidate = os.path.join(directory or ".", criu)
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    raise CriuError(f"{criu!r} was not found on PATH: checkpoint and restore need CRIU "
                    f"{MINIMUM_VERSION[0]}.{MINIMUM_VERSION[1]} or newer (install it, or give its "
                    "path with --criu)")


class Swrk:
    """A running `criu swrk`.  ``extra_fds`` reach CRIU as fds 4, 5, ... (inherit_fd numbers,
    see ``extra_fd_number``); its stdio are /dev/null."""

    def __init__(self, criu: str, extra_fds: "Sequence[int]" = ()) -> None:
        self.path = find_criu(criu)
        self.schema = rpc_schema()
        self.version: tuple[int, int, int] | None = None
        ours, theirs = hotpath.socketpair(hotpath.AF_UNIX, hotpath.SOCK_SEQPACKET
                                          | hotpath.SOCK_CLOEXEC)
        self._socket = ours
        # Every source is first copied above anything a dup2 below may overwrite.
        sources = [theirs.fileno(), *extra_fds]
        floor = max([10, _FIRST_EXTRA_FD + len(extra_fds), *sources]) + 1
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor) for fd in sources]
        # CRIU's own stdio is /dev/null: it logs to its log file, and what it prints before
        # it has one (kernel feature probes) must not reach our caller's stdio, which may be
        # the container's (conmon's pipes).  Our stdio goes to CRIU as extra fds when needed.
        actions: "list[tuple[Any, ...]]" = [
            (os.POSIX_SPAWN_OPEN, fd, "/dev/null", os.O_RDWR, 0) for fd in range(3)]
        # Nothing else of ours reaches CRIU: a caller's fd it held (--status-fd) would never
        # see EOF while CRIU runs.
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds() if fd not in high]
        actions += [(os.POSIX_SPAWN_DUP2, fd, 3 + index) for index, fd in enumerate(high)]
        try:
            self.pid = os.posix_spawn(self.path, [self.path, "swrk", "3"], os.environ,
                                      file_actions=actions, setsigdef=(13, 25))  # PIPE, XFSZ
        except OSError as exc:
            ours.close()
            raise CriuError(f"running {self.path}: {exc.strerror}") from None
        finally:
            theirs.close()
            for fd in high:
                os.close(fd)
        self._status: int | None = None

    @staticmethod
    def extra_fd_number(index: int) -> int:
        """The fd number CRIU sees for ``extra_fds[index]``."""
        return _FIRST_EXTRA_FD + index

    # -- requests ------------------------------------------------------------------------------
    def check_version(self) -> "tuple[int, int, int]":
        """CRIU's version, which must be MINIMUM_VERSION or newer (one line says what is
        needed otherwise).  The process stays open for the real request."""
        try:
            response = self._exchange({"type": "VERSION", "keep_open": True})
        except CriuError:
            response = {}
        version = response.get("version")
        if not response.get("success") or not version:
            raise CriuError(f"{self.path} does not answer CRIU's version request: checkpoint "
                            f"and restore need CRIU {MINIMUM_VERSION[0]}.{MINIMUM_VERSION[1]} or "
                            "newer")
        found = (version["major_number"], version["minor_number"], version.get("sublevel", 0))
        if found[:2] < MINIMUM_VERSION:
            raise CriuError(f"{self.path} is CRIU {found[0]}.{found[1]}: checkpoint and restore "
                            f"need CRIU {MINIMUM_VERSION[0]}.{MINIMUM_VERSION[1]} or newer")
        self.version = found
        return found

    def missing_features(self, *wanted: str) -> "list[str]":
        """FEATURE_CHECK: those of ``wanted`` (criu_features names: mem_track, lazy_pages)
        that this CRIU on this kernel lacks."""
        response = self._exchange({"type": "FEATURE_CHECK", "keep_open": True,
                                   "features": {name: True for name in wanted}})
        have = response.get("features") or {}
        if not response.get("success"):
            return list(wanted)
        return [name for name in wanted if not have.get(name)]

    def require(self, wanted: "dict[str, str]") -> None:
        """{feature: the option that needs it}: CriuError naming the first option whose
        feature this CRIU on this kernel lacks (one FEATURE_CHECK for all)."""
        if not wanted:
            return
        for feature in self.missing_features(*wanted):
            raise CriuError(f"{wanted[feature]}: CRIU {self.version_text()} ({self.path}) "
                            f"cannot {_FEATURE_NEEDS[feature]}")

    def version_text(self) -> str:
        return ".".join(map(str, self.version)) if self.version else "of unknown version"

    def request(self, request_type: str, opts: "dict[str, Any]", on_notify: "NotifyHandler",
                log_path: str) -> "dict[str, Any]":
        """Send a DUMP, SINGLE_PRE_DUMP or RESTORE request and answer its notifications until
        the final response, which is returned.  A failure raises CriuError naming ``log_path``."""
        response = self._exchange({"type": request_type, "opts": opts})
        while True:
            if not response.get("success"):
                raise CriuError(self._failure(request_type, response, log_path))
            kind = self.schema.enum_name("criu_req_type", response.get("type", 0))
            if kind != "NOTIFY":
                return response
            notify = response.get("notify") or {}
            try:
                on_notify(notify.get("script", ""), notify.get("pid", 0), response.get("_fd"))
            except BaseException:
                self.kill()  # CRIU undoes what it restored when it loses us
                raise
            response = self._exchange({"type": "NOTIFY", "notify_success": True})

    def _exchange(self, request: "dict[str, Any]") -> "dict[str, Any]":
        from oci_runtime.kernel.fdpass import receive_with_fd

        try:
            self._socket.send(self.schema.encode("criu_req", request))
            data, fd = receive_with_fd(self._socket, _MAX_MESSAGE)
        except OSError as exc:
            raise CriuError(f"{self.path} swrk: {exc.strerror}") from None
        if not data:
            raise CriuError(f"{self.path} exited during the {request['type']} request")
        response = self.schema.decode("criu_resp", data)
        if fd is not None:
            response["_fd"] = fd
        return response

    def _failure(self, request_type: str, response: "dict[str, Any]", log_path: str) -> str:
        what = {"DUMP": "checkpoint", "SINGLE_PRE_DUMP": "pre-dump", "RESTORE": "restore"}.get(
            request_type, request_type.lower())
        # CRIU's own cr_errmsg is the first Error line of its log, benign ones included.
        reason = first_error_line(log_path) or (response.get("cr_errmsg") or "").strip()
        errno = response.get("cr_errno")
        if not reason and errno:
            reason = os.strerror(errno)
        return f"criu {what} failed: {reason or 'no reason given'} (log: {log_path})"

    # -- the process ---------------------------------------------------------------------------
    def kill(self) -> None:
        if self._status is None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass

    def close(self) -> int:
        """Close the socket (CRIU exits on it) and reap CRIU; its wait status."""
        self._socket.close()
        if self._status is None:
            while True:
                try:
                    _, self._status = os.waitpid(self.pid, 0)
                    break
                except InterruptedError:
                    continue
                except ChildProcessError:
                    self._status = 0
                    break
        return self._status

    def __enter__(self) -> "Swrk":
        return self

    def __exit__(self, exc_type: "type[BaseException] | None", exc: "BaseException | None",
                 traceback: "TracebackType | None") -> "Literal[False]":
        if exc_type is not None:
            self.kill()
        self.close()
        return False


# Errors CRIU logs and goes on after: probing for tun, raising its own RLIMIT_NOFILE (both need
# privileges a container host may withhold).  Never the reason a request failed.
_BENIGN_ERRORS = ("tun: Unable to create tun", "rlimit: Can't setup RLIMIT_NOFILE")


def first_error_line(log_path: str) -> str:
    """The first line of CRIU's log that says Error and is not one CRIU goes on after, without
    its timestamp; '' if none."""
    for line in error_lines(log_path):
        if not any(benign in line for benign in _BENIGN_ERRORS):
            line = line.strip()
            if line.startswith("(") and ")" in line:
                line = line.split(")", 1)[1].strip()
            return line
    return ""


def error_lines(log_path: str) -> "list[str]":
    """The log's lines that say Error."""
    try:
        with open(log_path, "rb") as log:
            return [line.decode(errors="replace").rstrip() for line in log if b"Error" in line]
    except OSError:
        return []
