"""The freezer: freeze, thaw and the frozen state, through freezer.state on cgroup v1 and
cgroup.freeze / cgroup.events on cgroup v2 (pause, resume, and kill_all's freeze-signal-thaw)."""
import os

from oci_runtime.errors import OCIError

from ..files import read_kv, read_or, wait_until, write_value


def freeze_v1(directory: str) -> None:
    st = os.path.join(directory, "freezer.state")
    write_value(st, "FROZEN", "freeze")
    ok = wait_until(lambda: read_or(st).strip() == "FROZEN", 10.0,
                    retry=lambda: write_value(st, "FROZEN", "freeze"))
    if not ok:
        state = read_or(st).strip()
        write_value(st, "THAWED", "freeze")
        raise OCIError(f"freeze: {st} stayed {state!r}, giving up")


def thaw_v1(directory: str) -> None:
    st = os.path.join(directory, "freezer.state")
    write_value(st, "THAWED", "thaw")
    wait_until(lambda: read_or(st).strip() == "THAWED", 5.0,
               retry=lambda: write_value(st, "THAWED", "thaw"))


def is_frozen_v1(directory: str | None) -> bool:
    if directory is None:
        return False
    return read_or(os.path.join(directory, "freezer.state")).strip() == "FROZEN"


def _frozen_flag_v2(directory: str) -> bool:
    return read_kv(os.path.join(directory, "cgroup.events")).get("frozen", 0) == 1


def freeze_v2(directory: str) -> None:
    target = os.path.join(directory, "cgroup.freeze")
    if not os.path.exists(target):
        raise OCIError(f"freeze: {target} does not exist (kernel without the cgroup v2 freezer?)")
    write_value(target, "1", "freeze")
    if not wait_until(lambda: _frozen_flag_v2(directory), 10.0):
        write_value(target, "0", "freeze")
        raise OCIError(f"freeze: {directory} did not reach the frozen state")


def thaw_v2(directory: str) -> None:
    write_value(os.path.join(directory, "cgroup.freeze"), "0", "thaw")
    wait_until(lambda: not _frozen_flag_v2(directory), 5.0)


def is_frozen_v2(directory: str) -> bool:
    return read_or(os.path.join(directory, "cgroup.freeze"), "0").strip() == "1"


def _nearest_existing(directory: str, mount: str | None) -> str | None:
    """``directory`` or its nearest existing ancestor within the hierarchy mounted at ``mount``
    (a cgroup made there starts in that one's freezer state)."""
    while not os.path.isdir(directory):
        parent = os.path.dirname(directory)
        if parent == directory or (mount is not None and not parent.startswith(mount)):
            return None
        directory = parent
    return directory


def frozen_at_v1(directory: str, mount: str | None) -> str | None:
    """Where a v1 cgroup's freezer is FROZEN or FREEZING (freezer.state shows the effective
    state, a frozen ancestor's included), or None."""
    existing = _nearest_existing(directory, mount)
    if existing is None:
        return None
    state = read_or(os.path.join(existing, "freezer.state")).strip()
    return existing if state in ("FROZEN", "FREEZING") else None


def frozen_at_v2(directory: str, mount: str | None) -> str | None:
    """Where a v2 cgroup is frozen: asked to be (cgroup.freeze), or frozen through an ancestor
    (cgroup.events "frozen 1"); None otherwise, and for the root, which has neither file."""
    existing = _nearest_existing(directory, mount)
    if existing is None:
        return None
    if is_frozen_v2(existing) or _frozen_flag_v2(existing):
        return existing
    return None
