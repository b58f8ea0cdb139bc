"""The process attributes of config.md's `process`, applied by the container's init (and by exec)
just before execve: rlimits, user and groups, capabilities, no_new_privs, fds, executable lookup."""
import os
import resource  # imported here: after pivot_root the stdlib is out of reach

from oci_runtime import kernel
from oci_runtime.errors import OCIError

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


def _last_capability():
    try:
        with open("/proc/sys/kernel/cap_last_cap") as last:
            return int(last.read())
    except OSError:
        return max(CAPABILITY_NUMBERS.values())


def capability_mask(names, pointer, warnings):
    """A list of CAP_* names as a bit mask.  Names this kernel does not know are left out with a
    warning (config.md: capabilities that cannot be granted are logged, not fatal)."""
    last = _last_capability()
    mask = 0
    for name in names or ():
        number = CAPABILITY_NUMBERS.get(name)
        if number is None or number > last:
            warnings.append(f"{pointer}: ignoring capability {name!r} unknown to this kernel")
            continue
        mask |= 1 << number
    return mask


class CapabilityPlan:
    __slots__ = ("bounding", "effective", "permitted", "inheritable", "ambient")

    def __init__(self, capabilities, pointer, warnings):
        def mask(key):
            return capability_mask(capabilities.get(key), f"{pointer}/{key}", warnings)

        self.bounding = mask("bounding")
        self.effective = mask("effective")
        self.permitted = mask("permitted")
        self.inheritable = mask("inheritable")
        self.ambient = mask("ambient")


def apply_rlimits(rlimits, pointer="/process/rlimits"):
    for index, (name, soft, hard) in enumerate(rlimits):
        number = RLIMIT_NUMBERS.get(name)
        if number is None:
            raise OCIError(f"config.json: {pointer}/{index}/type: unknown rlimit {name!r}")
        try:
            resource.setrlimit(number, (soft, hard))
        except (ValueError, OSError) as exc:
            current_hard = resource.getrlimit(number)[1]
            hint = ""
            if hard > current_hard or hard == resource.RLIM_INFINITY:
                hint = (f" (raising the hard limit above the runtime's {current_hard} needs "
                        "CAP_SYS_RESOURCE, which this host does not grant)")
            raise OCIError(f"config.json: {pointer}/{index}: setting {name} to soft={soft} "
                           f"hard={hard}: {exc}{hint}") from exc


def set_oom_score_adj(value):
    try:
        with open("/proc/self/oom_score_adj", "w") as oom:
            oom.write(str(value))
    except OSError as exc:
        raise OCIError.from_os(
            f"config.json: /process/oomScoreAdj: writing {value} to /proc/self/oom_score_adj "
            "(lowering it needs CAP_SYS_RESOURCE)", exc) from exc


def find_executable(arg0, env, cwd="/"):
    """Resolve args[0] like execvp, with the PATH of the process's own env (as runc does)."""
    if "/" in arg0:
        path = arg0 if arg0.startswith("/") else os.path.join(cwd, arg0)
        candidates = [path]
    else:
        search = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for entry in env:
            if entry.startswith("PATH="):
                search = entry[5:]
        candidates = [os.path.join(directory or ".", arg0) for directory in search.split(":")]
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    # runc's phrases: podman maps "no such file or directory" / "executable file not found in"
    # to exit status 127 and "permission denied" to 126, as docker does.
    if "/" not in arg0:
        raise OCIError(f"exec: {arg0!r}: executable file not found in $PATH")
    if os.path.exists(candidates[0]):
        raise OCIError(f"exec: {arg0!r}: permission denied")
    raise OCIError(f"exec: {arg0!r}: stat {candidates[0]}: no such file or directory")


def drop_bounding_set(bounding):
    last = _last_capability()
    for number in range(last + 1):
        if not bounding & (1 << number):
            kernel.prctl(kernel.PR_CAPBSET_DROP, number)


def apply_user_and_capabilities(user, caps):
    """runc's finalizeNamespace order: drop the bounding set while still root, keep capabilities
    across setuid, switch groups/gid/uid, then set the final capability sets and ambient ones."""
    try:
        drop_bounding_set(caps.bounding)
        kernel.prctl(kernel.PR_SET_KEEPCAPS, 1)
        os.setgroups(user.additional_gids)
        os.setresgid(user.gid, user.gid, user.gid)
        os.setresuid(user.uid, user.uid, user.uid)
        kernel.capset(caps.effective, caps.permitted, caps.inheritable)
        kernel.prctl(kernel.PR_SET_KEEPCAPS, 0)
        kernel.prctl(kernel.PR_CAP_AMBIENT, kernel.PR_CAP_AMBIENT_CLEAR_ALL)
        # Ambient capabilities must also be permitted and inheritable; runc skips the others
        # (its default spec lists ambient ones without inheritable), and so do we.
        raisable = caps.ambient & caps.permitted & caps.inheritable
        for number in range(64):
            if raisable & (1 << number):
                kernel.prctl(kernel.PR_CAP_AMBIENT, kernel.PR_CAP_AMBIENT_RAISE, number)
    except OSError as exc:
        raise OCIError.from_os(
            f"setting user {user.uid}:{user.gid} and capabilities of the process", exc) from exc
    if user.umask is not None:
        os.umask(user.umask)


def set_no_new_privileges():
    kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)


def mark_fds_for_exec(preserved_fds):
    """Close-on-exec every fd but stdio and the ``preserved_fds`` passed on (fds 3..3+N-1)."""
    first_closed = 3 + preserved_fds
    for fd in range(3, first_closed):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass  # not open: nothing to pass
    kernel.close_range(first_closed, 0xFFFFFFFF, kernel.CLOSE_RANGE_CLOEXEC)


def environment_dict(entries):
    """config.md env entries ("KEY=value") as execve's mapping; malformed entries are skipped."""
    environment = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if sep and key:
            environment[key] = value
    return environment


def finalize_and_exec(process, executable, capabilities, *, seccomp_program=None,
                      preserve_fds=0, hand_over_listener=None, release=None):
    """The last steps shared by the container's init and by `exec`, in runc's order: seccomp
    before the capabilities are dropped when no_new_privs is off (loading it then needs
    CAP_SYS_ADMIN), user and capabilities, cwd, no_new_privs, fds, seccomp as late as possible
    otherwise (so the runtime's own syscalls are not filtered), execve.  Never returns; raises
    OCIError (or OSError from execve) for the caller to report.

    ``hand_over_listener(fd)`` receives a seccomp notify listener fd when the profile asks for one.
    ``release()`` runs once nothing but the last seccomp load and execve is left (see
    container_init: `start` returns then, as runc's does before the exec).
    """
    if seccomp_program and not process.no_new_privileges:
        _load_seccomp(seccomp_program, hand_over_listener)
    apply_user_and_capabilities(process.user, capabilities)
    try:
        os.chdir(process.cwd)
    except OSError as exc:
        raise OCIError.from_os(f"config.json: /process/cwd: {process.cwd}", exc) from exc
    if process.no_new_privileges:
        set_no_new_privileges()
    environment = environment_dict(process.env)
    mark_fds_for_exec(preserve_fds)
    if release is not None:
        release()
    if seccomp_program and process.no_new_privileges:
        _load_seccomp(seccomp_program, hand_over_listener)
    os.execve(executable, process.args, environment)


def _load_seccomp(compiled, hand_over_listener):
    # Imported here, not at the top: containers without seccomp never load it.  With a profile,
    # the parent imported it already (compiling), so it is in sys.modules even after pivot_root.
    from oci_runtime.seccomp import install

    # Only a profile with an SCMP_ACT_NOTIFY rule gets a listener: without one, the spec says
    # listenerPath is ignored, so nothing may be sent there (no agent need be listening).
    listener_fd = install(compiled, want_listener=compiled.uses_notify)
    if listener_fd is not None:
        try:
            if hand_over_listener is not None:
                hand_over_listener(listener_fd)
        finally:
            os.close(listener_fd)
