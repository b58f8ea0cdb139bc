"""The state store: one directory per container under the runtime root.

Layout of ``<root>/<id>/``:
  state.json   what ``state`` reports plus what later calls need (pid start time, cgroup manager);
               written atomically (temp file + rename) so readers never see half a file.
  config.json  the config as it was at create: the spec says later edits of the bundle's copy
               must not affect the container, so exec/delete read this one.
  start.sock   the listening socket the container's init blocks on until ``start``.  The container
               is ``created`` while the init has not exec'd: its /proc/<pid>/exe is the executor's
               memfd (or, where that link cannot be read, its listening fd, close-on-exec, still
               accepts connections), so the init's own execve ends ``created``, whatever happens
               to the ``start`` that released it (which unlinks the file only as tidying).
  state.json.backup  the same record, written after state.json: when state.json is damaged,
               ``delete --force`` still finds the init and the cgroup to kill in it.

A directory being deleted is first renamed to a name no id can have (``~deleting.<pid>.<thread>``,
the deleting process and thread), so readers see the whole container or none of it, never a
half-removed one.

This module is on the hot path of ``state``, ``start`` and ``kill``, so it calls ``posix`` (the C
module behind ``os``) through oci_runtime.kernel.hotpath: under ``python -S`` nothing has imported
``os`` yet, and importing it (with ``_collections_abc`` and ``posixpath``) costs ~1.4 ms.
Status is derived from the kernel every time, never trusted from the file: a pid whose start time
differs from the recorded one is a reused pid, and the container is ``stopped``.
"""
from oci_runtime import OCI_VERSION
from oci_runtime.errors import ContainerNotFound, DamagedState, OCIError
from oci_runtime.kernel import hotpath
from oci_runtime.kernel.files import (EXECUTOR_MEMFD_NAME, absolute_path, is_directory,
                                     make_directories, process_start_time, read_file,
                                     running_in_user_namespace, unix_socket_address,
                                     write_atomically)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    Record: TypeAlias = "dict[str, Any]"  # a container's state.json

STATE_FILE = "state.json"
CONFIG_FILE = "config.json"
START_SOCKET = "start.sock"
# While `restore` runs CRIU: the rootfs bound here as CRIU's root (container/restore.py); only a
# restore killed (SIGKILL) leaves it, and `delete` detaches it.
CRIU_ROOT = "criu-root"
_EXECUTOR_EXE = f"/memfd:{EXECUTOR_MEMFD_NAME} "
BACKUP_FILE = "state.json.backup"
# Prefix of a directory being removed; "~" is in no container id, so list and load never see it.
_DELETING_PREFIX = "~deleting."
# The start socket's protocol (the C side is made from these three: cext/generate_format.py
# writes them into cext/generated/format.h; they live here, not in executor/wire.py, because
# `start` is the hot path and imports no executor module).  `start` connects and sends START_REQUEST; the
# init answers START_RELEASED when it is past every step that can fail but the exec itself, or
# one line saying why it failed; a seccomp listener fd (SCM_RIGHTS) comes with
# SECCOMP_LISTENER_MESSAGE, before or after the release.
START_REQUEST = b"start"
START_RELEASED = b"\0"
SECCOMP_LISTENER_MESSAGE = b"\0seccomp-listener\0"

# Container ids as runc accepts them: letters, digits, and _ + - . (never '/', never '.' or '..').
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")
# A directory name: runc's longest id works (NAME_MAX), a longer one could never be made.
_MAX_ID_LENGTH = 255
# The compiled seccomp filter cache lives in the state root beside the containers (so each root
# has its own, as crun's <root>/.cache): that one name is therefore not a container id.
SECCOMP_CACHE_DIRECTORY = ".seccomp-cache"


def default_root() -> str:
    """/run/oci-runtime for root; $XDG_RUNTIME_DIR/oci-runtime otherwise (podman calls `state`
    without --root, so the default must be where a rootless create put it).  Root of a user
    namespace other than the host's counts as rootless when it has $XDG_RUNTIME_DIR and $USER
    is not root (runc's rule: rootless podman runs the runtime so)."""
    runtime_dir = hotpath.environ.get(b"XDG_RUNTIME_DIR")
    if hotpath.geteuid() == 0 and not (runtime_dir and hotpath.environ.get(b"USER") != b"root"
                                       and running_in_user_namespace()):
        return "/run/oci-runtime"
    if runtime_dir:
        return runtime_dir.decode() + "/oci-runtime"
    return f"/tmp/oci-runtime-{hotpath.geteuid()}"


def _exists(path: str) -> bool:
    try:
        hotpath.stat(path)
    except OSError:
        return False
    return True


def check_container_id(container_id: str) -> None:
    if not container_id:
        raise OCIError("container id cannot be empty")
    if len(container_id) > _MAX_ID_LENGTH:
        raise OCIError(f"invalid container id {container_id[:32]!r}...: {len(container_id)} "
                       f"characters, at most {_MAX_ID_LENGTH} (it names a directory)")
    if (
        container_id in (".", "..", SECCOMP_CACHE_DIRECTORY)
        or not _ID_CHARS.issuperset(container_id)
    ):
        raise OCIError(
            f"invalid container id {container_id!r}: use letters, digits and _ + - . only"
        )


class StateStore:
    def __init__(self, root: str | None = None) -> None:
        self.root = absolute_path(root or default_root())

    def container_dir(self, container_id: str) -> str:
        check_container_id(container_id)
        return f"{self.root}/{container_id}"

    def reserve(self, container_id: str, fields: "Record | None" = None) -> str:
        """Make the container's directory, its record saying "creating" (with ``fields``);
        fails if the id is taken.  Returns its path."""
        path = self.container_dir(container_id)
        try:
            make_directories(self.root, 0o700)
        except OSError as exc:
            raise OCIError.from_os(f"state root {self.root}", exc) from None
        self._sweep_removals()
        try:
            hotpath.mkdir(path, 0o700)
        except FileExistsError:
            raise OCIError(f"container {container_id!r} already exists") from None
        except OSError as exc:
            raise OCIError.from_os(f"state root {self.root}: creating {container_id}",
                                   exc) from None
        # Who is creating it: if that process dies half-way (SIGKILL), the container reads as
        # stopped and `delete` can remove what is left, instead of "creating" forever.
        creator = hotpath.getpid()
        seen = process_start_time(creator)
        try:
            self.save(container_id, {**(fields or {}), "id": container_id, "status": "creating",
                                     "pid": 0, "creator_pid": creator,
                                     "creator_start_time": seen[1] if seen else 0})
        except BaseException:
            self.remove(container_id)
            raise
        return path

    def load(self, container_id: str) -> "Record":
        """The container's saved record; ContainerNotFound if there is none, DamagedState
        (naming the file) if state.json is not a record of this container."""
        path = self.container_dir(container_id)
        state_path = f"{path}/{STATE_FILE}"
        try:
            data = read_file(state_path)
        except FileNotFoundError:
            if is_directory(path):
                # Never left by a create or a delete (see reserve, remove): the file was lost.
                raise DamagedState(state_path, "no such file") from None
            raise ContainerNotFound(container_id) from None
        except OSError as exc:
            raise DamagedState(state_path, exc.strerror or str(exc)) from None
        return parse_record(data, container_id, state_path)

    def load_backup(self, container_id: str) -> "Record | None":
        """The record from state.json.backup, or None when it is missing or damaged too."""
        path = f"{self.container_dir(container_id)}/{BACKUP_FILE}"
        try:
            return parse_record(read_file(path), container_id, path)
        except (OSError, OCIError):
            return None

    def save(self, container_id: str, record: "Record") -> None:
        """state.json, then its backup: a write that fails names the path and leaves no file."""
        path = self.container_dir(container_id)
        data = hotpath.dumps(record).encode()
        write_atomically(f"{path}/{STATE_FILE}", data)
        write_atomically(f"{path}/{BACKUP_FILE}", data)

    def list_ids(self) -> "list[str]":
        try:
            names = hotpath.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names
                      if n != SECCOMP_CACHE_DIRECTORY and not n.startswith(_DELETING_PREFIX)
                      and is_directory(f"{self.root}/{n}"))

    def lock(self, container_id: str) -> int:
        """An exclusive flock on the container's directory, released by closing the returned fd.

        Serialises start/kill/delete/update on one id; ``state`` reads without it."""
        import fcntl

        path = self.container_dir(container_id)
        try:
            fd = hotpath.open(path, hotpath.O_RDONLY | hotpath.O_DIRECTORY | hotpath.O_CLOEXEC)
        except FileNotFoundError:
            raise ContainerNotFound(container_id) from None
        fcntl.flock(fd, fcntl.LOCK_EX)
        # A delete that held the lock before us has removed (renamed away) what we opened: the
        # lock is then on a directory that is no longer this container.
        try:
            current = hotpath.stat(path)
        except FileNotFoundError:
            current = None
        locked = hotpath.fstat(fd)
        if current is None or (current.st_ino, current.st_dev) != (locked.st_ino, locked.st_dev):
            hotpath.close(fd)
            raise ContainerNotFound(container_id)
        return fd

    def remove(self, container_id: str) -> None:
        """Remove the container's directory: renamed away first (one step: readers see the
        container or nothing), then emptied.  Quiet if it is already gone."""
        path = self.container_dir(container_id)
        # One name per thread: two threads of a program deleting at once must not take each
        # other's directory for one a dead process left (the Python API runs from threads).
        doomed = f"{self.root}/{_DELETING_PREFIX}{hotpath.getpid()}.{hotpath.get_ident()}"
        try:
            hotpath.rename(path, doomed)
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno not in (17, 39):  # EEXIST, ENOTEMPTY: a delete of this pid+thread died
                raise OCIError.from_os(f"removing {path}", exc) from None
            _remove_tree(doomed)
            hotpath.rename(path, doomed)
        _remove_state_directory(doomed)

    def _sweep_removals(self) -> None:
        """Finish removals whose delete was killed after its rename (their process is gone):
        create does it, so that delete touches nothing but its own container."""
        for name in hotpath.listdir(self.root):
            owner = name[len(_DELETING_PREFIX):].partition(".")[0]
            if name.startswith(_DELETING_PREFIX) and not _exists(f"/proc/{owner}"):
                try:
                    _remove_tree(f"{self.root}/{name}")
                except OSError:
                    pass  # a mount left in it (a failed CNI DEL): not ours to force


def _remove_state_directory(path: str) -> None:
    """Remove a container's renamed-away directory: the files the store writes, then the
    directory; anything else there (start.sock of a container never started, network records,
    CRIU's directories) is found by a listing only when the rmdir says it is not empty."""
    for name in (STATE_FILE, BACKUP_FILE, CONFIG_FILE):
        try:
            hotpath.unlink(f"{path}/{name}")
        except FileNotFoundError:
            pass
    try:
        hotpath.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno != 39:  # ENOTEMPTY
            raise
        _remove_tree(path)


def _remove_tree(path: str) -> None:
    """rm -r of a directory nobody else uses any more; quiet about entries already gone (a
    sweep and the delete that was interrupted may both be at it)."""
    try:
        entries = list(hotpath.scandir(path))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                _remove_tree(entry.path)
            else:
                hotpath.unlink(entry.path)
        except FileNotFoundError:
            pass
    try:
        hotpath.rmdir(path)
    except FileNotFoundError:
        pass


def parse_record(data: bytes, container_id: str, path: str) -> "Record":
    """A container record from a state file's bytes, or DamagedState saying what is wrong."""
    if not data.strip():
        raise DamagedState(path, "empty file")
    try:
        record = hotpath.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DamagedState(path, f"not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise DamagedState(path, f"not a JSON object ({type(record).__name__})")
    if record.get("id") != container_id:
        raise DamagedState(path, f"its id is {record.get('id')!r}, not {container_id!r}")
    return record


def derive_status(record: "Record", container_dir: str) -> str:
    """The container's status from the kernel's view of its init process."""
    if record.get("status") == "creating":
        creator = record.get("creator_pid")
        if creator:
            seen = process_start_time(creator)
            if seen is None or seen[1] != record.get("creator_start_time") or seen[0] in "ZX":
                return "stopped"  # the create died half-way; `delete` removes what it left
        return "creating"
    if not init_alive(record):
        return "stopped"
    return live_status(record, container_dir)


def live_status(record: "Record", container_dir: str) -> str:
    """created, paused or running: the status of a container whose init is alive."""
    if _waits_for_start(record["pid"], container_dir):
        return "created"
    return "paused" if is_frozen(record) else "running"


def is_frozen(record: "Record") -> bool:
    """Whether the container's cgroup is frozen (v1 freezer.state says FROZEN, v2 cgroup.freeze
    holds 1); a container without a freezer, or whose file cannot be read, is not."""
    freezer_state = record.get("freezer_state_file")
    if not freezer_state:
        return False
    try:
        frozen = read_file(freezer_state).strip()
    except OSError:
        return False
    return frozen in (b"FROZEN", b"1")


def init_alive(record: "Record") -> bool:
    """Whether the recorded init is running: its pid's start time is the recorded one."""
    pid = record.get("pid") or 0
    seen = process_start_time(pid) if pid else None
    return seen is not None and seen[1] == record.get("init_start_time") and seen[0] not in "ZX"


def start_socket_address(container_dir: str) -> "tuple[str, int]":
    """(address for bind/connect, fd to close or -1) of the container's start.sock
    (kernel.files.unix_socket_address: any --root, any id)."""
    return unix_socket_address(f"{container_dir}/{START_SOCKET}")


def _waits_for_start(pid: int, container_dir: str) -> bool:
    """Whether the init has not exec'd yet: it waits on start.sock.  Ended by the init's own
    execve, never by the `start` that released it (which may die before it tidies up), and by
    that `start` unlinking start.sock (between the release and the execve, it runs)."""
    # One readlink: the init is the executor until its execve (a running container's is not:
    # no more to ask).  Not readable when the caller may not ptrace it (the executor is
    # non-dumpable): then ask its listening socket.
    try:
        executable = init_executable(pid)
    except OSError:
        return _start_socket_listens(container_dir)
    return executable.startswith(_EXECUTOR_EXE) and _exists(f"{container_dir}/{START_SOCKET}")


def init_executable(pid: int) -> str:
    return hotpath.readlink(f"/proc/{pid}/exe")


def _start_socket_listens(container_dir: str) -> bool:
    """Whether the init still listens on start.sock (a non-blocking connect: refused once the
    init has exec'd, since its listening fd is close-on-exec; a full backlog is still listening).
    The init takes a connection that sends nothing as a stray one and keeps waiting."""
    if not _exists(f"{container_dir}/{START_SOCKET}"):
        return False
    try:
        address, fd = start_socket_address(container_dir)
    except OSError:
        return False
    probe = hotpath.socket(hotpath.AF_UNIX, hotpath.SOCK_STREAM | hotpath.SOCK_NONBLOCK)
    try:
        probe.connect(address)
    except BlockingIOError:
        return True  # EAGAIN: the backlog is full, someone listens
    except OSError:
        return False  # ECONNREFUSED: nobody listens (the init exec'd or died); ENOENT: gone
    finally:
        probe.close()
        if fd >= 0:
            hotpath.close(fd)
    return True


def public_state(record: "Record", status: str) -> "dict[str, Any]":
    """The state as `state` prints it: the runtime-spec fields plus runc's rootfs/created/owner."""
    shown: "dict[str, Any]" = {
        "ociVersion": record.get("ociVersion", OCI_VERSION),
        "id": record["id"],
        "status": status,
        "pid": record.get("pid", 0) if status in ("created", "running", "paused") else 0,
        "bundle": record.get("bundle", ""),
        "rootfs": record.get("rootfs", ""),
        "created": record.get("created", ""),
        "owner": record.get("owner", ""),
    }
    if record.get("annotations"):
        shown["annotations"] = record["annotations"]
    return shown
