"""Files written and read, and paths folded, with ``posix`` alone (the C module behind ``os``,
through oci_runtime.kernel.hotpath): the state store uses them on the hot path of ``state``,
``start`` and ``kill``, where importing ``os`` would cost ~1.4 ms; /proc's facts about a process
are among them."""
from oci_runtime.errors import OCIError
from oci_runtime.kernel import hotpath


# The name the executor's sealed memfd is made with (executor/session.py): /proc/<pid>/exe of a
# process still running the executor reads "/memfd:oci-runtime-executor (deleted)", which is how
# the state store tells a `created` init (here, not in executor/, so `state` never imports it).
EXECUTOR_MEMFD_NAME = "oci-runtime-executor"

def absolute_path(path: str) -> str:
    """Like os.path.abspath (without importing os): absolute, '.', '..' and '//' folded."""
    if not path.startswith("/"):
        path = hotpath.getcwd() + "/" + path
    parts: "list[str]" = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part and part != ".":
            parts.append(part)
    return "/" + "/".join(parts)


# sockaddr_un.sun_path holds 108 bytes with the NUL.
_SUN_PATH_MAX = 107


def unix_socket_address(path: str) -> "tuple[str, int]":
    """(address for bind/connect, fd to close or -1): ``path`` itself when it fits in
    sockaddr_un, else /proc/self/fd/N/<name> through an O_PATH fd of its directory, so that no
    socket path (any --root, any id, any caller's socket) meets the 108-byte limit."""
    if len(path.encode()) <= _SUN_PATH_MAX:
        return path, -1
    directory, _, name = path.rpartition("/")
    fd = hotpath.open(directory or ("/" if path.startswith("/") else "."),
                      hotpath.O_PATH | hotpath.O_DIRECTORY | hotpath.O_CLOEXEC)
    return f"/proc/self/fd/{fd}/{name}", fd


def pidfd_of(pid: int) -> "int | None":
    """A pidfd of process ``pid``, or None when it is gone: ESRCH, or EINVAL for a pid number
    still held (by a pidfd, a /proc file, a pid namespace's init) after its process was reaped:
    pidfd_open finds the number but no thread-group leader (seen under a Debian 6.1 kernel)."""
    try:
        pidfd: int = hotpath.pidfd_open(pid)
    except ProcessLookupError:
        return None
    except OSError as exc:
        if exc.errno == 22 and pid > 0:  # EINVAL
            return None
        raise
    return pidfd


def is_directory(path: str) -> bool:
    try:
        return hotpath.stat(path).st_mode & 0o170000 == 0o040000
    except OSError:
        return False


def make_directories(path: str, mode: int) -> None:
    """mkdir -p, like os.makedirs."""
    if is_directory(path):
        return
    parent = path.rsplit("/", 1)[0]
    if parent and parent != path:
        make_directories(parent, mode)
    try:
        hotpath.mkdir(path, mode)
    except FileExistsError:
        pass


def write_atomically(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    A failure (no space, no permission, a missing directory) raises OCIError naming ``path``
    (never the temporary name) and leaves no temporary file behind."""
    temporary = f"{path}.tmp.{hotpath.getpid()}"
    try:
        fd = hotpath.open(temporary,
                          hotpath.O_WRONLY | hotpath.O_CREAT | hotpath.O_TRUNC | hotpath.O_CLOEXEC, mode)
    except OSError as exc:
        raise OCIError.from_os(path, exc) from None
    try:
        try:
            view = memoryview(data)
            while view:  # a short write (a nearly full filesystem) is not the whole file
                view = view[hotpath.write(fd, view):]
        finally:
            hotpath.close(fd)
        hotpath.rename(temporary, path)
    except OSError as exc:
        try:
            hotpath.unlink(temporary)
        except OSError:
            pass
        raise OCIError.from_os(path, exc) from None


def running_in_user_namespace() -> bool:
    """Whether this process is in a user namespace other than the host's, whose map is every id
    to itself in one range of 2^32 - 1 ids (no os: default_root is on the hot path)."""
    try:
        fd = hotpath.open("/proc/self/uid_map", hotpath.O_RDONLY)
    except OSError:
        return False
    try:
        return hotpath.read(fd, 256).split() != [b"0", b"0", b"4294967295"]
    finally:
        hotpath.close(fd)


def read_file(path: str) -> bytes:
    """The whole of a small file in three syscalls (open, read, close), where ``open()`` makes
    eight (fstat twice, an isatty ioctl, two lseeks, a last read for EOF).  A read shorter
    than asked is the end: so it is for regular files (a read is cut short only at the end,
    never by a signal) and for the one-record /proc and cgroup files read here.  OSError as
    ``open()`` raises it."""
    fd = hotpath.open(path, hotpath.O_RDONLY | hotpath.O_CLOEXEC)
    try:
        data = hotpath.read(fd, _READ_SIZE)
        if len(data) < _READ_SIZE:
            return data
        chunks = [data]
        while data:
            data = hotpath.read(fd, _READ_SIZE)
            chunks.append(data)
        return b"".join(chunks)
    finally:
        hotpath.close(fd)


# One read holds a state.json, a /proc/<pid>/stat or a cgroup file; a larger file takes more.
_READ_SIZE = 65536


def process_start_time(pid: int) -> "tuple[str, int] | None":
    """(state letter, start time in clock ticks) from /proc/<pid>/stat, or None if gone."""
    try:
        stat = read_file(f"/proc/{pid}/stat")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[19])
