"""config.md's mount option strings turned into what the kernel takes.

A mount's ``options`` list becomes a MountPlan: mount(2) flags to set, flags to clear (for
``remount``-style overrides such as ``rw`` after ``ro``), propagation changes, recursive attribute
changes for mount_setattr(2) (the ``r``-prefixed options), idmap requests, and whatever is left
over as the filesystem-specific data string.  Pure logic: unit-tested without root.
"""

from oci_runtime.kernel import constants as _k

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable

# option -> (clear_flag?, flag).  clear=True means the option removes the flag (e.g. "rw").
_FLAG_OPTIONS = {
    "async": (True, _k.MS_SYNCHRONOUS),
    "atime": (True, _k.MS_NOATIME),
    "bind": (False, _k.MS_BIND),
    "defaults": (False, 0),
    "dev": (True, _k.MS_NODEV),
    "diratime": (True, _k.MS_NODIRATIME),
    "dirsync": (False, _k.MS_DIRSYNC),
    "exec": (True, _k.MS_NOEXEC),
    "iversion": (False, 1 << 23),  # MS_I_VERSION
    "lazytime": (False, _k.MS_LAZYTIME),
    "loud": (True, _k.MS_SILENT),
    "mand": (False, _k.MS_MANDLOCK),
    "noatime": (False, _k.MS_NOATIME),
    "nodev": (False, _k.MS_NODEV),
    "nodiratime": (False, _k.MS_NODIRATIME),
    "noexec": (False, _k.MS_NOEXEC),
    "noiversion": (True, 1 << 23),
    "nolazytime": (True, _k.MS_LAZYTIME),
    "nomand": (True, _k.MS_MANDLOCK),
    "norelatime": (True, _k.MS_RELATIME),
    "nostrictatime": (True, _k.MS_STRICTATIME),
    "nosuid": (False, _k.MS_NOSUID),
    "nosymfollow": (False, _k.MS_NOSYMFOLLOW),
    "rbind": (False, _k.MS_BIND | _k.MS_REC),
    "relatime": (False, _k.MS_RELATIME),
    "remount": (False, _k.MS_REMOUNT),
    "ro": (False, _k.MS_RDONLY),
    "rw": (True, _k.MS_RDONLY),
    "silent": (False, _k.MS_SILENT),
    "strictatime": (False, _k.MS_STRICTATIME),
    "suid": (True, _k.MS_NOSUID),
    "symfollow": (True, _k.MS_NOSYMFOLLOW),
    "sync": (False, _k.MS_SYNCHRONOUS),
}

_PROPAGATION_OPTIONS = {
    "private": _k.MS_PRIVATE,
    "rprivate": _k.MS_PRIVATE | _k.MS_REC,
    "shared": _k.MS_SHARED,
    "rshared": _k.MS_SHARED | _k.MS_REC,
    "slave": _k.MS_SLAVE,
    "rslave": _k.MS_SLAVE | _k.MS_REC,
    "unbindable": _k.MS_UNBINDABLE,
    "runbindable": _k.MS_UNBINDABLE | _k.MS_REC,
}

# Recursive options, applied with mount_setattr(AT_RECURSIVE): option -> (clear?, MOUNT_ATTR_*).
# The atime ones set a value inside the MOUNT_ATTR__ATIME field, which must be cleared first.
_RECURSIVE_OPTIONS = {
    "rro": (False, _k.MOUNT_ATTR_RDONLY),
    "rrw": (True, _k.MOUNT_ATTR_RDONLY),
    "rnosuid": (False, _k.MOUNT_ATTR_NOSUID),
    "rsuid": (True, _k.MOUNT_ATTR_NOSUID),
    "rnodev": (False, _k.MOUNT_ATTR_NODEV),
    "rdev": (True, _k.MOUNT_ATTR_NODEV),
    "rnoexec": (False, _k.MOUNT_ATTR_NOEXEC),
    "rexec": (True, _k.MOUNT_ATTR_NOEXEC),
    "rnodiratime": (False, _k.MOUNT_ATTR_NODIRATIME),
    "rdiratime": (True, _k.MOUNT_ATTR_NODIRATIME),
    "rnosymfollow": (False, _k.MOUNT_ATTR_NOSYMFOLLOW),
    "rsymfollow": (True, _k.MOUNT_ATTR_NOSYMFOLLOW),
}
_RECURSIVE_ATIME_OPTIONS = {
    "rrelatime": _k.MOUNT_ATTR_RELATIME,
    "rnorelatime": _k.MOUNT_ATTR_STRICTATIME,  # what mount(8) does: norelatime means strictatime
    "rnoatime": _k.MOUNT_ATTR_NOATIME,
    "ratime": _k.MOUNT_ATTR_RELATIME,
    "rstrictatime": _k.MOUNT_ATTR_STRICTATIME,
    "rnostrictatime": _k.MOUNT_ATTR_RELATIME,
}


class MountPlan:
    """What one mount entry's options ask for."""

    __slots__ = (
        "flags", "cleared", "propagation", "attr_set", "attr_clr", "idmap", "recursive_idmap",
        "idmap_argument", "data", "copy_up",
    )

    def __init__(self) -> None:
        self.flags = 0  # mount(2) flags to set
        self.cleared = 0  # mount(2) flags an option explicitly turned off
        self.propagation: list[int] = []  # propagation flags, each applied by its own mount(2)
        self.attr_set = 0  # mount_setattr(AT_RECURSIVE) attributes
        self.attr_clr = 0
        self.idmap = False
        self.recursive_idmap = False
        self.idmap_argument: str | None = None  # crun's idmap=uids=...;gids=... (idmapped_mounts)
        self.data: list[str] = []  # filesystem-specific options, passed on as the data string
        self.copy_up = False  # tmpcopyup: fill a new tmpfs with what the image had there

    @property
    def is_bind(self) -> bool:
        return bool(self.flags & _k.MS_BIND)

    @property
    def is_recursive_bind(self) -> bool:
        return bool(self.flags & _k.MS_BIND and self.flags & _k.MS_REC)

    @property
    def data_string(self) -> str | None:
        return ",".join(self.data) or None


def plan_mount_options(options: "Iterable[str] | None") -> MountPlan:
    """Turn a mount's option strings into a MountPlan.  Later options override earlier ones,
    like mount(8) (``ro,rw`` is read-write); unknown options are filesystem-specific data."""
    plan = MountPlan()
    for option in options or ():
        if option in _FLAG_OPTIONS:
            clear, flag = _FLAG_OPTIONS[option]
            if clear:
                plan.flags &= ~flag
                plan.cleared |= flag
            else:
                plan.flags |= flag
                plan.cleared &= ~flag
        elif option in _PROPAGATION_OPTIONS:
            plan.propagation.append(_PROPAGATION_OPTIONS[option])
        elif option in _RECURSIVE_OPTIONS:
            clear, attr = _RECURSIVE_OPTIONS[option]
            if clear:
                plan.attr_clr |= attr
                plan.attr_set &= ~attr
            else:
                plan.attr_set |= attr
                plan.attr_clr &= ~attr
        elif option in _RECURSIVE_ATIME_OPTIONS:
            plan.attr_clr |= _k.MOUNT_ATTR__ATIME
            plan.attr_set = (plan.attr_set & ~_k.MOUNT_ATTR__ATIME) | _RECURSIVE_ATIME_OPTIONS[option]
        elif option.partition("=")[0] in ("idmap", "ridmap"):
            name, _, argument = option.partition("=")
            plan.idmap = True
            plan.recursive_idmap = name == "ridmap"
            plan.idmap_argument = argument or None
        elif option == "tmpcopyup":
            # runc/crun extension: copy the image's content into the new tmpfs.
            plan.copy_up = True
        else:
            plan.data.append(option)
    return plan


def propagation_flags(name: str, field: str) -> int:
    """rootfsPropagation's value as mount(2) flags."""
    from oci_runtime.errors import OCIError

    try:
        return _PROPAGATION_OPTIONS[name]
    except KeyError:
        raise OCIError(
            f"config.json: {field}: unknown propagation {name!r} "
            f"(one of {', '.join(sorted(_PROPAGATION_OPTIONS))})"
        ) from None
