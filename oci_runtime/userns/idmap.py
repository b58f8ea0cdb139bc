"""Writing a user namespace's id maps from outside it (the parent side of create, and the
user namespaces idmapped mounts are made with).

The kernel lets a process write /proc/<pid>/uid_map (gid_map) of a child user namespace when it
has CAP_SETUID (CAP_SETGID) in the parent namespace; without it, only a map of one id, the
writer's own euid (egid), and for gid_map only after /proc/<pid>/setgroups says "deny".  Anything
else (a rootless container with subordinate ids from /etc/subuid, /etc/subgid) goes through the
setuid helpers `newuidmap` / `newgidmap` (Debian package `uidmap`), as runc and crun do.
"""
import os

from oci_runtime.errors import OCIError
from oci_runtime.kernel.constants import CAP_SETGID, CAP_SETUID

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    IdMapping = dict[str, Any]  # config.md's {"containerID", "hostID", "size"}


# kind -> (map file, setuid helper, the capability a direct write needs, the caller's own id)
_KINDS = {
    "uid": ("uid_map", "newuidmap", CAP_SETUID, os.geteuid),
    "gid": ("gid_map", "newgidmap", CAP_SETGID, os.getegid),
}


def effective_capabilities(status_path: str = "/proc/self/status") -> int:
    """The caller's effective capability set (a bit mask), from /proc/self/status."""
    with open(status_path) as status:
        for line in status:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def map_lines(mappings: "Sequence[IdMapping]") -> str:
    return "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in mappings)


def is_own_id_map(mappings: "Sequence[IdMapping]", own_id: int) -> bool:
    """One range of one id, the caller's own: what an unprivileged caller may write itself."""
    return (len(mappings) == 1 and mappings[0]["size"] == 1
            and mappings[0]["hostID"] == own_id)


def plan_writes(uid_mappings: "Sequence[IdMapping] | None",
                gid_mappings: "Sequence[IdMapping] | None", capabilities: int | None = None,
                own_ids: "tuple[int, int] | None" = None
                ) -> "tuple[list[tuple[str, str, Sequence[IdMapping]]], bool]":
    """How each map is written: [(kind, "direct" | "helper", mappings)], uid first, and whether
    setgroups must be denied first (an unprivileged gid map).  ``capabilities`` (effective) and
    ``own_ids`` (euid, egid) are this process's unless given: pure then (the plan compiler, the
    unit tests)."""
    if capabilities is None:
        capabilities = effective_capabilities()
    own = {"uid": own_ids[0], "gid": own_ids[1]} if own_ids is not None else None
    writes: "list[tuple[str, str, Sequence[IdMapping]]]" = []
    deny_setgroups = False
    for kind, mappings in (("uid", uid_mappings), ("gid", gid_mappings)):
        if not mappings:
            continue
        _, _, capability, own_id = _KINDS[kind]
        if capabilities & (1 << capability):
            writes.append((kind, "direct", mappings))
        elif is_own_id_map(mappings, own[kind] if own is not None else own_id()):
            writes.append((kind, "direct", mappings))
            deny_setgroups = deny_setgroups or kind == "gid"
        else:
            writes.append((kind, "helper", mappings))
    return writes, deny_setgroups


def write_id_maps(pid: int, uid_mappings: "Sequence[IdMapping] | None",
                  gid_mappings: "Sequence[IdMapping] | None", *,
                  pointers: "tuple[str, str]" = ("/linux/uidMappings", "/linux/gidMappings")
                  ) -> None:
    """Write the id maps of the user namespace of process ``pid`` (a child that unshared
    CLONE_NEWUSER and waits).  Errors name the config field (``pointers``: uid, gid)."""
    writes, deny_setgroups = plan_writes(uid_mappings, gid_mappings)
    pointer_of = dict(zip(("uid", "gid"), pointers))
    if deny_setgroups:
        try:
            with open(f"/proc/{pid}/setgroups", "w") as setgroups:
                setgroups.write("deny")
        except OSError as exc:
            raise OCIError.from_os(f"config.json: {pointer_of['gid']}: writing "
                                   f"/proc/{pid}/setgroups", exc) from exc
    for kind, how, mappings in writes:
        map_file, helper, _, _ = _KINDS[kind]
        if how == "direct":
            try:
                with open(f"/proc/{pid}/{map_file}", "w") as id_map:
                    id_map.write(map_lines(mappings))
            except OSError as exc:
                raise OCIError.from_os(f"config.json: {pointer_of[kind]}: writing "
                                       f"/proc/{pid}/{map_file}", exc) from exc
        else:
            _run_helper(helper, pid, mappings, pointer_of[kind])


def _run_helper(helper: str, pid: int, mappings: "Sequence[IdMapping]", pointer: str) -> None:
    import shutil
    import subprocess

    executable = shutil.which(helper) or (f"/usr/bin/{helper}" if os.path.exists(
        f"/usr/bin/{helper}") else None)
    if executable is None:
        raise OCIError(f"config.json: {pointer}: this map needs {helper} (it maps ids other "
                       "than the caller's own without privilege), which is not installed "
                       "(Debian package uidmap)")
    argv = [executable, str(pid)]
    for m in mappings:
        argv += [str(m["containerID"]), str(m["hostID"]), str(m["size"])]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OCIError(f"config.json: {pointer}: running {helper}: {exc}") from exc
    if result.returncode != 0:
        reason = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise OCIError(f"config.json: {pointer}: {helper} refused the map "
                       f"({'; '.join(reason) or f'exit status {result.returncode}'}): the "
                       "caller needs these ranges in /etc/subuid and /etc/subgid")
