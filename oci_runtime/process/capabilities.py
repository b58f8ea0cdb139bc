"""Names and numbers of config.md's `process` (capabilities, rlimits) and the capability sets a
process gets; the executor applies them (oci_runtime/plan/process.py builds those steps)."""

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable

CAPABILITY_NUMBERS = {
    name: number for number, name in enumerate((
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
        "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ))
}

RLIMIT_NUMBERS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}


def last_capability() -> int:
    """The highest capability number this kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as last:
            return int(last.read())
    except OSError:
        return max(CAPABILITY_NUMBERS.values())


def runtime_capability_sets() -> "tuple[int, int | None]":
    """The runtime's own effective set and bounding set (CapEff, CapBnd in /proc/self/status);
    (0, None) when they cannot be read.  No process the runtime starts can hold a capability
    outside its bounding set: a host without CAP_SYS_RESOURCE (a container runtime inside a
    container) cannot grant it."""
    sets: "dict[str, int]" = {}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(("CapEff:", "CapBnd:")):
                    sets[line[:6]] = int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return sets.get("CapEff", 0), sets.get("CapBnd")


def runtime_bounding_set() -> int | None:
    """The runtime's own capability bounding set, or None if it cannot be read."""
    return runtime_capability_sets()[1]


def capability_mask(names: "Iterable[str] | None", pointer: str, warnings: "list[str]",
                    bounding: int | None, last: int) -> int:
    """A list of CAP_* names as a bit mask.  Names this kernel (whose highest capability is
    ``last``) does not know, and capabilities outside ``bounding`` (the runtime's bounding set),
    are left out with a warning (config.md: capabilities that cannot be granted SHOULD be
    logged, not fatal)."""
    mask = 0
    for index, name in enumerate(names or ()):
        reason = ungrantable_reason(name, bounding, last)
        if reason:
            warnings.append(f"{pointer}/{index}: ignoring capability {name!r}: {reason}")
            continue
        mask |= 1 << CAPABILITY_NUMBERS[name]
    return mask


def ungrantable_reason(name: str, bounding: int | None, last: int | None = None) -> str | None:
    """Why capability ``name`` cannot be granted, or None if it can."""
    number = CAPABILITY_NUMBERS.get(name)
    if number is None or number > (last_capability() if last is None else last):
        return "unknown to this kernel"
    if bounding is not None and not bounding >> number & 1:
        return "not in the runtime's own bounding set, so it cannot be granted"
    return None


class CapabilityPlan:
    """A process's capability sets as masks, for a runtime whose bounding set is ``bounding``
    (None: unknown) on a kernel whose highest capability is ``last`` (host facts the caller
    gathered: oci_runtime.plan.host.HostFacts); ``last`` is kept for the executor's bounding
    set drop."""

    __slots__ = ("bounding", "effective", "permitted", "inheritable", "ambient", "last")

    def __init__(self, capabilities: "dict[str, list[str]]", pointer: str,
                 warnings: "list[str]", *, bounding: int | None, last: int) -> None:
        self.last = last

        def mask(key: str) -> int:
            return capability_mask(capabilities.get(key), f"{pointer}/{key}", warnings, bounding,
                                   last)

        self.bounding = mask("bounding")
        self.effective = mask("effective")
        self.permitted = mask("permitted")
        self.inheritable = mask("inheritable")
        self.ambient = mask("ambient")
