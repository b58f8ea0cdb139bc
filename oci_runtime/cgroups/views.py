"""What a controller module sees of a cgroupfs manager (V1Manager, V2Manager), as protocols for
the type checker: the controllers do not import the managers (which import them).  At run time
this module defines nothing."""
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class V1Cgroup(Protocol):
        """A cgroup v1 (or hybrid) container cgroup: a directory per controller."""

        root: str
        paths: dict[str, str]
        mounts: dict[str, str]
        unified: str | None
        unified_mount: str | None

        def controller_dir(self, ctrl: str, field: str) -> str: ...

        def unified_has(self, ctrl: str) -> bool: ...

    class V2Cgroup(Protocol):
        """A cgroup v2 container cgroup: one directory."""

        root: str
        path: str

        def controller_file(self, name: str, field: str) -> str: ...

        def require_controller(self, ctrl: str, field: str) -> None: ...
