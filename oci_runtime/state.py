"""The state store: one directory per container under the runtime root.

Layout of ``<root>/<id>/``:
  state.json   what ``state`` reports plus what later calls need (pid start time, cgroup manager);
               written atomically (temp file + rename) so readers never see half a file.
  config.json  the config as it was at create: the spec says later edits of the bundle's copy
               must not affect the container, so exec/delete read this one.
  start.sock   the listening socket the container's init blocks on until ``start``; its presence
               is what distinguishes ``created`` from ``running`` (runc uses its exec fifo alike).

This module is on the hot path of ``state``, ``start`` and ``kill``, so it calls ``posix`` (the C
module behind ``os``) directly: under ``python -S`` nothing has imported ``os`` yet, and importing
it (with ``_collections_abc`` and ``posixpath``) costs about a quarter of a whole ``state`` call.
Status is derived from the kernel every time, never trusted from the file: a pid whose start time
differs from the recorded one is a reused pid, and the container is ``stopped``.
"""
import posix

from oci_runtime import fastjson
from oci_runtime.errors import ContainerNotFound, OCIError

STATE_FILE = "state.json"
CONFIG_FILE = "config.json"
START_SOCKET = "start.sock"
# What the init sends `start` ahead of a seccomp listener fd (SCM_RIGHTS) before it execs.
SECCOMP_LISTENER_MESSAGE = b"\0seccomp-listener\0"
# What the init sends `start` when it is past every step that can fail but the exec itself.
START_RELEASED = b"\0"

# Container ids as runc accepts them: letters, digits, and _ + - . (never '/', never '.' or '..').
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")
_MAX_ID_LENGTH = 1024
# The compiled seccomp filter cache lives in the state root beside the containers (so each root
# has its own, as crun's <root>/.cache): that one name is therefore not a container id.
SECCOMP_CACHE_DIRECTORY = ".seccomp-cache"


def default_root():
    """/run/oci-runtime for root; $XDG_RUNTIME_DIR/oci-runtime otherwise (podman calls `state`
    without --root, so the default must be where a rootless create put it)."""
    if posix.geteuid() == 0:
        return "/run/oci-runtime"
    runtime_dir = posix.environ.get(b"XDG_RUNTIME_DIR")
    if runtime_dir:
        return runtime_dir.decode() + "/oci-runtime"
    return f"/tmp/oci-runtime-{posix.geteuid()}"


def absolute_path(path):
    """Like os.path.abspath (without importing os): absolute, '.', '..' and '//' folded."""
    if not path.startswith("/"):
        path = posix.getcwd() + "/" + path
    parts = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part and part != ".":
            parts.append(part)
    return "/" + "/".join(parts)


def _exists(path):
    try:
        posix.stat(path)
    except OSError:
        return False
    return True


def _is_directory(path):
    try:
        return posix.stat(path).st_mode & 0o170000 == 0o040000
    except OSError:
        return False


def check_container_id(container_id):
    if not container_id:
        raise OCIError("container id cannot be empty")
    if (
        container_id in (".", "..", SECCOMP_CACHE_DIRECTORY)
        or len(container_id) > _MAX_ID_LENGTH
        or not _ID_CHARS.issuperset(container_id)
    ):
        raise OCIError(
            f"invalid container id {container_id!r}: use letters, digits and _ + - . only"
        )


def process_start_time(pid):
    """(state letter, start time in clock ticks) from /proc/<pid>/stat, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            stat = stat_file.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[19])


class StateStore:
    def __init__(self, root=None):
        self.root = absolute_path(root or default_root())

    def container_dir(self, container_id):
        check_container_id(container_id)
        return f"{self.root}/{container_id}"

    def reserve(self, container_id):
        """Make the container's directory; fails if the id is taken.  Returns its path."""
        path = self.container_dir(container_id)
        _make_directories(self.root, 0o700)
        try:
            posix.mkdir(path, 0o700)
        except FileExistsError:
            raise OCIError(f"container {container_id!r} already exists") from None
        # Who is creating it: if that process dies half-way (SIGKILL), the container reads as
        # stopped and `delete` can remove what is left, instead of "creating" forever.
        creator = posix.getpid()
        seen = process_start_time(creator)
        self.save(container_id, {"id": container_id, "status": "creating", "pid": 0,
                                 "creator_pid": creator,
                                 "creator_start_time": seen[1] if seen else 0})
        return path

    def load(self, container_id):
        """The container's saved record; ContainerNotFound if there is none."""
        path = self.container_dir(container_id)
        try:
            with open(f"{path}/{STATE_FILE}", "rb") as state_file:
                return fastjson.loads(state_file.read())
        except FileNotFoundError:
            if _is_directory(path):
                # A directory without state: a create that died before its first write.
                return {"id": container_id, "status": "creating", "pid": 0, "bundle": ""}
            raise ContainerNotFound(container_id) from None

    def save(self, container_id, record):
        path = self.container_dir(container_id)
        write_atomically(f"{path}/{STATE_FILE}", fastjson.dumps(record).encode())

    def list_ids(self):
        try:
            names = posix.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names
                      if n != SECCOMP_CACHE_DIRECTORY and _is_directory(f"{self.root}/{n}"))

    def lock(self, container_id):
        """An exclusive flock on the container's directory, released by closing the returned fd.

        Serialises start/kill/delete/update on one id; ``state`` reads without it."""
        import fcntl

        path = self.container_dir(container_id)
        try:
            fd = posix.open(path, posix.O_RDONLY | posix.O_DIRECTORY | posix.O_CLOEXEC)
        except FileNotFoundError:
            raise ContainerNotFound(container_id) from None
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def remove(self, container_id):
        path = self.container_dir(container_id)
        for name in posix.listdir(path):
            posix.unlink(f"{path}/{name}")
        posix.rmdir(path)


def _make_directories(path, mode):
    """mkdir -p, like os.makedirs."""
    if _is_directory(path):
        return
    parent = path.rsplit("/", 1)[0]
    if parent and parent != path:
        _make_directories(parent, mode)
    try:
        posix.mkdir(path, mode)
    except FileExistsError:
        pass


def write_atomically(path, data, mode=0o600):
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part."""
    temporary = f"{path}.tmp.{posix.getpid()}"
    fd = posix.open(temporary, posix.O_WRONLY | posix.O_CREAT | posix.O_TRUNC | posix.O_CLOEXEC,
                    mode)
    try:
        posix.write(fd, data)
    finally:
        posix.close(fd)
    posix.rename(temporary, path)


def derive_status(record, container_dir):
    """The container's status from the kernel's view of its init process."""
    pid = record.get("pid") or 0
    if record.get("status") == "creating" and not pid:
        creator = record.get("creator_pid")
        if creator:
            seen = process_start_time(creator)
            if seen is None or seen[1] != record.get("creator_start_time") or seen[0] in "ZX":
                return "stopped"  # the create died half-way; `delete` removes what it left
        return "creating"
    seen = process_start_time(pid) if pid else None
    if seen is None or seen[1] != record.get("init_start_time") or seen[0] in ("Z", "X"):
        return "stopped"
    if _exists(f"{container_dir}/{START_SOCKET}"):
        return "created"
    freezer_state = record.get("freezer_state_file")
    if freezer_state:
        try:
            with open(freezer_state, "rb") as state_file:
                frozen = state_file.read().strip()
        except OSError:
            frozen = b""
        # v1 freezer.state says FROZEN; v2 cgroup.freeze holds 1.
        if frozen in (b"FROZEN", b"1"):
            return "paused"
    return "running"


def public_state(record, status):
    """The state as `state` prints it: the runtime-spec fields plus runc's rootfs/created/owner."""
    shown = {
        "ociVersion": record.get("ociVersion", "1.3.0"),
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
