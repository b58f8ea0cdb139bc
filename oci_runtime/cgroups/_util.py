"""Low-level helpers shared by the cgroup managers: file I/O with field-naming errors, mountinfo and
/proc/self/cgroup parsing, path cleaning.  Only ``os``/``errno``/``time`` are imported (cheap)."""

import errno
import os
import time

from oci_runtime.errors import OCIError

V1_CONTROLLERS = (
    "cpuset", "cpu", "cpuacct", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
    "net_cls", "net_prio", "perf_event", "rdma", "misc", "name=systemd",
)


def _unescape(s):
    """Undo the octal escapes (\\040 etc.) the kernel uses in mountinfo fields."""
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 3 < len(s) + 0 and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_mountinfo(text):
    """Return [(mountpoint, root, fstype, [super options])] for each line of a mountinfo file."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 10:
            continue
        try:
            sep = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < sep + 3:
            continue
        mounts.append((_unescape(fields[4]), _unescape(fields[3]), fields[sep + 1],
                       fields[sep + 3].split(",") if len(fields) > sep + 3 else []))
    return mounts


def parse_proc_cgroup(text):
    """Parse /proc/<pid>/cgroup: {controller: path}; the v2 entry (hierarchy 0, no controllers) is ''."""
    res = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, ctrls, path = parts
        if ctrls == "":
            res[""] = path
        else:
            for c in ctrls.split(","):
                res[c] = path
    return res


def under(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


class Mounts:
    """The cgroup mounts found under ``root``: v1 hierarchies by controller, the v2 (unified) mount."""

    def __init__(self, root="/sys/fs/cgroup", mountinfo="/proc/self/mountinfo"):
        self.root = os.path.normpath(root)
        if self.root.startswith("//"):
            self.root = self.root[1:]
        self.mountinfo = mountinfo
        self.v1 = {}          # controller -> (mountpoint, mount root inside the hierarchy)
        self.unified = None   # (mountpoint, mount root) of a cgroup2 mount under root
        try:
            text = read_text(mountinfo)
        except OSError as exc:
            raise OCIError.from_os(f"reading {mountinfo}", exc) from exc
        for mnt, mroot, fstype, opts in parse_mountinfo(text):
            if not under(mnt, self.root):
                continue
            if fstype == "cgroup2":
                if mnt == self.root or self.unified is None or self.unified[0] != self.root:
                    self.unified = (mnt, mroot)
            elif fstype == "cgroup":
                for o in opts:
                    if o in V1_CONTROLLERS or o.startswith("name="):
                        self.v1.setdefault(o, (mnt, mroot))
        if self.unified and self.unified[0] == self.root:
            self.mode = "v2"
            self.v1 = {}
        elif self.v1:
            self.mode = "hybrid" if self.unified else "v1"
        elif self.unified:
            # a cgroup2 mount below root without v1 hierarchies: treat its mountpoint as the v2 root
            self.mode = "v2"
        else:
            raise OCIError(f"no cgroup filesystem is mounted at or under {self.root} (checked {mountinfo})")


def read_text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def read_or(path, default=None):
    try:
        return read_text(path)
    except OSError:
        return default


def read_int(path, default=0):
    """Read a single integer ('max' -> -1)."""
    s = read_or(path)
    if s is None:
        return default
    s = s.strip().split()[0] if s.strip() else ""
    if s == "max":
        return -1
    try:
        return int(s)
    except ValueError:
        return default


def read_kv(path):
    """Read a flat keyed file ("key value" per line) into {key: int}."""
    res = {}
    s = read_or(path)
    if not s:
        return res
    for line in s.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                res[parts[0]] = int(parts[1])
            except ValueError:
                res[parts[0]] = -1 if parts[1] == "max" else 0
    return res


def write_value(path, value, field):
    """Write ``value`` (one write(2)) to a cgroup file; on failure raise an OCIError naming the field."""
    value = str(value)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OCIError(f'{field}: writing "{value}" to {path}: {reason}', exc.errno or 0) from exc


def mkdir_p(path, field="cgroupsPath"):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise OCIError.from_os(f"{field}: creating cgroup directory {path}", exc) from exc


def write_procs(dirpath, pid, field="cgroupsPath"):
    """Move pid into the cgroup; retries EINVAL briefly (the task may be mid-fork), like runc."""
    path = os.path.join(dirpath, "cgroup.procs")
    for attempt in range(5):
        try:
            write_value(path, pid, field)
            return
        except OCIError as exc:
            if exc.errno != errno.EINVAL or attempt == 4:
                raise
            time.sleep(0.03)


def clean_path(path):
    """runc's utils.CleanPath: normalise, and keep relative paths from escaping with '..'."""
    if not path:
        return ""
    p = os.path.normpath(path)
    if not p.startswith("/"):
        p = os.path.relpath(os.path.normpath("/" + p), "/")
        if p == ".":
            return ""
        return p
    if p.startswith("//"):
        p = p[1:]
    return p


def procs_recursive(dirpath):
    """All pids in cgroup.procs of dirpath and every descendant cgroup."""
    pids = []
    for d, subdirs, _files in os.walk(dirpath):
        s = read_or(os.path.join(d, "cgroup.procs"), "")
        for line in s.split():
            try:
                pids.append(int(line))
            except ValueError:
                pass
    return pids


def rmdir_tree(dirpath, timeout=5.0):
    """Remove a cgroup directory and its child cgroups bottom-up (cgroup dirs can only be rmdir'ed).

    EBUSY (tasks still exiting) is retried with backoff up to ``timeout`` seconds; nothing is killed.
    """
    if not os.path.isdir(dirpath):
        return
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        dirs = [d for d, _s, _f in os.walk(dirpath)]
        busy = None
        for d in reversed(dirs):   # os.walk is top-down: reversed is bottom-up
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError as exc:
                if exc.errno in (errno.EBUSY, errno.ENOTEMPTY, errno.EAGAIN):
                    busy = exc
                    break
                raise OCIError.from_os(f"removing cgroup {d}", exc) from exc
        if busy is None:
            return
        if time.monotonic() >= deadline:
            raise OCIError.from_os(f"removing cgroup {busy.filename or dirpath} (processes still in it?)", busy) from busy
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def warm_up_attach():
    """Start, in a background thread, a move of this process into the cgroup it is already in.

    Moving a process between cgroups takes the kernel's cgroup_threadgroup_rwsem for writing,
    and the first writer after a quiet spell waits for an RCU grace period (several ms; the
    largest single cost of create on cgroup v1).  Writers that follow within about one grace
    period find it already passed.  The move changes nothing (same cgroup); its only effect is
    that placing the container's init a few ms later is fast.  Errors are ignored: this is an
    optimisation, never a requirement."""
    import _thread

    try:
        with open("/proc/self/cgroup", "rb") as membership:
            first = membership.readline().decode().rstrip("\n")
    except OSError:
        return
    _, controllers, path = first.split(":", 2)
    directory = controllers.replace("name=", "") if controllers else "unified"
    candidates = [f"/sys/fs/cgroup/{directory}{path}", f"/sys/fs/cgroup{path}"]

    def move_to_own_cgroup():
        for candidate in candidates:
            try:
                fd = os.open(f"{candidate.rstrip('/')}/cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                os.write(fd, b"0")
            except OSError:
                pass
            finally:
                os.close(fd)
            return

    _thread.start_new_thread(move_to_own_cgroup, ())
