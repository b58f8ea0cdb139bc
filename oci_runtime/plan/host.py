"""What the plan compiler knows of the host: one value, gathered before it compiles.

The compiler (plan/create.py, plan/exec.py, plan/process.py) reads nothing of the host itself: the
runtime gathers these facts once (oci_runtime.container.prepare.gather_host_facts) and passes them
in, so a plan is a function of the config, the options and this value, and the unit tests
(tests/unit/test_plan.py) give it hosts made up for the case.
"""

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import TypeAlias

    # (name, fstype, data, host path) of a v1/hybrid host's cgroup hierarchy
    CgroupMount: TypeAlias = "tuple[str, str, str | None, str]"

_ALL_CAPABILITIES = (1 << 41) - 1  # CAP_CHOWN .. CAP_CHECKPOINT_RESTORE
_ENOENT = 2


class PathFact:
    """What stat(2) said of a host path: its ``mode`` and ``rdev``, or the ``errno`` it failed
    with (then mode and rdev are 0)."""

    __slots__ = ("mode", "rdev", "errno")

    def __init__(self, mode: int = 0, rdev: int = 0, errno: int = 0) -> None:
        self.mode = mode
        self.rdev = rdev
        self.errno = errno

    def __repr__(self) -> str:
        return (f"PathFact(errno={self.errno})" if self.errno
                else f"PathFact({oct(self.mode)}, rdev={self.rdev})")


class HostFacts:
    """``mount_points``: this mount namespace's mount points; ``effective_capabilities``,
    ``bounding_set`` (None: unknown) and ``last_capability`` (the kernel's highest number): the
    runtime's; ``euid``, ``egid``; ``in_user_namespace``: the runtime runs in a user namespace
    other than the host's (rootless podman); ``apparmor_exec_attribute``: the kernel has
    /proc/self/attr/apparmor/exec; ``cgroup_mounts``: the hierarchies a cgroup mount shows on a
    v1/hybrid host (None on pure v2); ``paths``: stat(2) of the host paths a plan names (mount
    sources, device nodes a user namespace binds); ``memory_nodes``: the NUMA nodes with memory
    (None: unknown, or not asked for: read only for a config with linux.memoryPolicy).  The
    defaults are a root runtime on a host with every capability, for tests to change what their
    case needs."""

    __slots__ = ("mount_points", "effective_capabilities", "bounding_set", "last_capability",
                 "euid", "egid", "in_user_namespace", "apparmor_exec_attribute", "cgroup_mounts",
                 "paths", "memory_nodes")

    def __init__(self, *, mount_points: "Iterable[str]" = ("/",),
                 effective_capabilities: int = _ALL_CAPABILITIES,
                 bounding_set: int | None = _ALL_CAPABILITIES, last_capability: int = 40,
                 euid: int = 0, egid: int = 0, in_user_namespace: bool = False,
                 apparmor_exec_attribute: bool = False,
                 cgroup_mounts: "list[CgroupMount] | None" = None,
                 paths: "Mapping[str, PathFact] | None" = None,
                 memory_nodes: "set[int] | None" = None) -> None:
        self.mount_points = tuple(mount_points)
        self.effective_capabilities = effective_capabilities
        self.bounding_set = bounding_set
        self.last_capability = last_capability
        self.euid = euid
        self.egid = egid
        self.in_user_namespace = in_user_namespace
        self.apparmor_exec_attribute = apparmor_exec_attribute
        self.cgroup_mounts = cgroup_mounts
        self.paths = dict(paths or {})
        self.memory_nodes = memory_nodes

    def path(self, path: str) -> PathFact:
        """The stat of ``path``; a path not in ``paths`` is one that does not exist (ENOENT)."""
        return self.paths.get(path) or PathFact(errno=_ENOENT)

    def mode_and_rdev(self, path: str) -> "tuple[int, int] | None":
        """(mode, rdev) of ``path``, None when stat failed."""
        fact = self.path(path)
        return None if fact.errno else (fact.mode, fact.rdev)
