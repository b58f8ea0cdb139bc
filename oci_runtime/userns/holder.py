"""A user namespace of given id maps, for the runtime to hold by fd (idmapped mounts are made with
one): a process must create it, and that process is the executor, not a fork of this one.

The executor (posix_spawn'd from its sealed memfd, as for every container) runs a two-step plan:
unshare(CLONE_NEWUSER), then "setup" (it sends its pid and waits); meanwhile the runtime writes
the maps (userns/idmap.py: directly, or through newuidmap/newgidmap) and opens its ns/user; "ok"
lets it exit.  No Python process is forked: a caller with threads (the API) stays safe, and the
cost is one spawn of a static executable.
"""
import os

from oci_runtime.errors import OCIError
from oci_runtime.executor import wire
from oci_runtime.kernel import hotpath

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from oci_runtime.executor.wire import Op
    from oci_runtime.userns.idmap import IdMapping

_CLONE_NEWUSER = 0x10000000


class _Step:
    """A step of the holder's plan, as executor/wire.py and executor/session.py read steps
    (plan.model.Step is in the layer above)."""

    strings: "tuple[str, ...]" = ()

    def __init__(self, op: "Op", what: str, ints: "tuple[int, ...]" = ()) -> None:
        self.op = op
        self.what = what
        self.ints = ints

    def resolved_ints(self) -> "Iterator[int]":
        return iter(self.ints)

    def error(self, errno: int, detail: str) -> OCIError:
        reason = hotpath.strerror(errno) if errno else "failed"
        return OCIError(f"{self.what}: {reason}" + (f": {detail}" if detail else ""), errno)


class _Plan:
    kind = "create"

    def __init__(self, what: str) -> None:
        self.steps = [_Step(wire.UNSHARE, f"{what}: creating its user namespace",
                            (_CLONE_NEWUSER,)),
                      _Step(wire.SYNC_SETUP, f"{what}: waiting for its id maps")]

    def fd_args(self) -> "list[object]":
        return []


def user_namespace_fd(uid_mappings: "Sequence[IdMapping] | None",
                      gid_mappings: "Sequence[IdMapping] | None", pointer: str) -> int:
    """An O_RDONLY fd of a new user namespace with these maps, held by nothing else once the
    executor has exited.  ``pointer`` names the config field in errors (the maps' own pointers
    are ``pointer``/uidMappings and /gidMappings)."""
    from oci_runtime.executor import session as executor
    from oci_runtime.process.children import kill_and_reap, reap
    from oci_runtime.userns.idmap import write_id_maps

    what = f"config.json: {pointer}" if pointer.startswith("/") else pointer
    session = executor.spawn(_Plan(what))
    done = False
    try:
        _, (pid,) = session.receive(wire.MSG_SETUP)
        assert isinstance(pid, int)  # a u32 field
        write_id_maps(pid, uid_mappings, gid_mappings,
                      pointers=(f"{pointer}/uidMappings", f"{pointer}/gidMappings"))
        try:
            fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise OCIError.from_os(f"{what}: opening the user namespace of the idmapping",
                                   exc) from exc
        try:
            session.send(wire.MSG_OK)
            session.receive()  # EOF: the executor is done
        except BaseException:
            os.close(fd)
            raise
        done = True
        return fd
    finally:
        session.close()
        if done:
            reap(session.pid)
        else:
            kill_and_reap(session.pid)
