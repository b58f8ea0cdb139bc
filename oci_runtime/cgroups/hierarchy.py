"""Where the cgroup hierarchies are: the cgroup mounts under /sys/fs/cgroup (from mountinfo,
through oci_runtime.kernel.mountinfo), the mode they make (v1, v2, hybrid), the runtime's own
cgroups (/proc/self/cgroup), cgroupsPath cleaning, and the hierarchies a container's cgroup
mount shows."""
import os

from oci_runtime.errors import OCIError
from oci_runtime.kernel import mountinfo as mountinfo_table

from .files import read_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .base import CgroupManager

DEFAULT_ROOT = "/sys/fs/cgroup"
V1_CONTROLLERS = (
    "cpuset", "cpu", "cpuacct", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
    "net_cls", "net_prio", "perf_event", "rdma", "misc", "name=systemd",
)


def parse_proc_cgroup(text: str) -> dict[str, str]:
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


def own_cgroups(proc_cgroup: str = "/proc/self/cgroup") -> dict[str, str]:
    """The runtime's own cgroup on each hierarchy (parse_proc_cgroup of ``proc_cgroup``)."""
    try:
        return parse_proc_cgroup(read_text(proc_cgroup))
    except OSError as exc:
        raise OCIError.from_os(f"reading {proc_cgroup}", exc) from exc


def under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def relative_to_mount(own_path: str | None, mount_root: str | None) -> str:
    """``own_path`` (a cgroup path in its hierarchy) relative to a mount of that hierarchy whose
    root is ``mount_root``; '' when it is not below it."""
    rel = os.path.relpath(own_path or "/", mount_root or "/")
    if rel == "." or rel.startswith(".."):
        return ""
    return rel


def clean_path(path: str | None) -> str:
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


class Mounts:
    """The cgroup mounts found under ``root``: v1 hierarchies by controller, the v2 (unified) mount."""

    root: str
    mountinfo: str
    v1: dict[str, tuple[str, str]]
    unified: tuple[str, str] | None
    mode: str

    def __init__(self, root: str = DEFAULT_ROOT, mountinfo: str = "/proc/self/mountinfo") -> None:
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
        for entry in mountinfo_table.parse(text):
            mnt = entry.mount_point
            if not under(mnt, self.root):
                continue
            if entry.fstype == "cgroup2":
                if mnt == self.root or self.unified is None or self.unified[0] != self.root:
                    self.unified = (mnt, entry.root)
            elif entry.fstype == "cgroup":
                for o in entry.super_options.split(","):
                    if o in V1_CONTROLLERS or o.startswith("name="):
                        self.v1.setdefault(o, (mnt, entry.root))
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


def container_cgroup_mounts(manager: "CgroupManager | None",
                            table: "list[mountinfo_table.MountEntry] | None" = None,
                            mountinfo: str = "/proc/self/mountinfo"
                            ) -> list[tuple[str, str, str | None, str]] | None:
    """What a cgroup mount in a container shows on a v1/hybrid host: one (name, fstype, data,
    host path) per hierarchy under /sys/fs/cgroup, the host path being the container's cgroup
    there (``manager``'s; the hierarchy's root for a controller it does not know, or without
    one).  None on a pure v2 host (one cgroup2 mount is enough).  ``table``: the mount table
    already read (else ``mountinfo`` is)."""
    hierarchies = []
    for entry in table if table is not None else mountinfo_table.entries(mountinfo):
        fstype, mount_point = entry.fstype, entry.mount_point
        if fstype not in ("cgroup", "cgroup2") or not mount_point.startswith(DEFAULT_ROOT):
            continue
        if mount_point == DEFAULT_ROOT and fstype == "cgroup2":
            return None
        name = mount_point.rsplit("/", 1)[1]
        data: str | None
        if fstype == "cgroup":
            data = ",".join(o for o in entry.super_options.split(",") if o not in ("rw", "ro"))
            controller = name
        else:
            data, controller = None, "unified"
        try:
            host_path = manager.path_for(controller) if manager is not None else mount_point
        except Exception:  # noqa: BLE001 - controller unknown to the manager: show its root
            host_path = mount_point
        hierarchies.append((name, fstype, data, host_path or mount_point))
    return hierarchies
