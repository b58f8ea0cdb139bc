"""Compile a ``linux.seccomp`` profile to BPF; how the executor loads it (its flags, and what a
failure to load means); what this kernel supports (features, `check --host`).

Nothing here loads a filter: the executor does, in the container's process, just before execve
(cext/, the SECCOMP step plan/process.py adds)."""

import os

from oci_runtime.errors import OCIError
from oci_runtime.seccomp import constants as C
from oci_runtime.seccomp.profile import parse_profile

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from oci_runtime.seccomp.profile import Profile


class CompiledFilter:
    """A BPF program ready for seccomp(2), plus what loading it and the caller need to know.

    Attributes: ``bpf`` (struct sock_filter[] in native byte order), ``flags`` (the seccomp(2) filter
    flags the profile requested) and ``flag_names``, ``uses_notify`` (some rule is SCMP_ACT_NOTIFY, so
    loading it creates a listener fd), ``listener_path``, ``listener_metadata``, ``warnings`` (skipped
    unknown syscalls and cache problems: log them at debug level) and ``from_cache``.
    """

    # A plain class rather than a dataclass: dataclasses imports inspect and re, and importing this
    # package is meant to stay cheap.
    __slots__ = ("bpf", "flags", "flag_names", "uses_notify", "listener_path", "listener_metadata",
                 "warnings", "from_cache")

    def __init__(self, *, bpf: bytes, flags: int, flag_names: "tuple[str, ...]",
                 uses_notify: bool, listener_path: str | None, listener_metadata: str,
                 warnings: "tuple[str, ...]", from_cache: bool) -> None:
        self.bpf = bpf
        self.flags = flags
        self.flag_names = flag_names
        self.uses_notify = uses_notify
        self.listener_path = listener_path
        self.listener_metadata = listener_metadata
        self.warnings = warnings
        self.from_cache = from_cache

    @property
    def instruction_count(self) -> int:
        return len(self.bpf) // C.BPF_INSTRUCTION_SIZE

    def __repr__(self) -> str:
        return (f"CompiledFilter({self.instruction_count} instructions, flags={self.flag_names}, "
                f"uses_notify={self.uses_notify}, warnings={len(self.warnings)}, from_cache={self.from_cache})")


def compile_filter(seccomp: "dict[str, Any]", cache_dir: str | None = None) -> CompiledFilter:
    """Compile ``seccomp`` (the raw ``linux.seccomp`` dict of config.json) to a :class:`CompiledFilter`.

    Raises :class:`OCIError` naming the config field (as a JSON pointer) for an unknown action,
    operator, architecture or flag, an errnoRet on an action without one, and other invalid values.
    Syscall names libseccomp does not know are skipped and reported in ``warnings``.

    With ``cache_dir`` the program is looked up in, and stored to, that directory (created 0700 if
    missing; ignored with a warning if others can write to it).  A hit neither loads libseccomp nor
    imports cffi.  The directory must be reachable from the calling process's mount namespace.
    """
    profile = parse_profile(seccomp)
    warnings: "list[str]" = []
    cache_key = None
    library_path = None
    if cache_dir is not None:
        from oci_runtime.seccomp import cache
        from oci_runtime.seccomp._library import locate_libseccomp

        problem = cache.directory_problem(cache_dir)
        library = locate_libseccomp() if problem is None else None
        if problem is None and library is None:
            problem = "seccomp cache unused: cannot tell which libseccomp.so.2 the loader would pick"
        if problem is not None:
            warnings.append(problem)
        else:
            assert library is not None  # no problem: a library was found
            library_path = library.path
            cache_key = cache.cache_key(seccomp, library.identity)
            cached = cache.read(cache_dir, cache_key)
            if cached is not None:
                bpf, cached_warnings = cached
                return _compiled(profile, bpf, warnings + cached_warnings, from_cache=True)

    from oci_runtime.seccomp._libseccomp import generate_bpf

    bpf, compile_warnings = generate_bpf(profile, library_path)
    if cache_key is not None and cache_dir is not None:
        # Only the profile-dependent warnings are cached; cache-directory warnings belong to this call.
        cache.write(cache_dir, cache_key, bpf, compile_warnings)
    return _compiled(profile, bpf, warnings + compile_warnings, from_cache=False)


def _compiled(profile: "Profile", bpf: bytes, warnings: "Sequence[str]",
              from_cache: bool) -> CompiledFilter:
    return CompiledFilter(
        bpf=bpf,
        flags=profile.flags,
        flag_names=profile.flag_names,
        uses_notify=profile.uses_notify,
        listener_path=profile.listener_path,
        listener_metadata=profile.listener_metadata,
        warnings=tuple(warnings),
        from_cache=from_cache,
    )


def load_flags(compiled: CompiledFilter, want_listener: bool = False) -> "tuple[int, bool]":
    """(seccomp(2) flags, whether a listener fd comes back) for loading ``compiled``; checks the
    program's size first.  The executor loads it with these flags (plan/process.py)."""
    if not compiled.bpf or len(compiled.bpf) % C.BPF_INSTRUCTION_SIZE:
        raise OCIError(f"seccomp: invalid BPF program of {len(compiled.bpf)} bytes")
    if compiled.instruction_count > C.BPF_MAX_INSTRUCTIONS:
        raise OCIError(f"seccomp: the filter has {compiled.instruction_count} BPF instructions, "
                       f"the kernel accepts at most {C.BPF_MAX_INSTRUCTIONS}; shorten the profile")
    with_listener = want_listener or compiled.uses_notify
    flags = compiled.flags
    if with_listener:
        flags |= C.SECCOMP_FILTER_FLAG_NEW_LISTENER
        if flags & C.SECCOMP_FILTER_FLAG_TSYNC:
            # The kernel refuses TSYNC with NEW_LISTENER unless a sync failure is reported as ESRCH
            # (the success return value is the listener fd, so it cannot also be a thread id).
            flags |= C.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
    else:
        # WAIT_KILLABLE_RECV only changes how a notified task waits for the agent; the kernel
        # rejects it without a listener, and without a listener there is nothing to wait for.
        flags &= ~C.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
    return flags, with_listener


def install_error(error: int, flags: int) -> OCIError:
    """The OCIError for seccomp(2) failing with ``error`` when loading with ``flags``."""
    import errno

    what = "seccomp: loading the filter"
    if error == errno.EACCES:
        return OCIError(f"{what}: permission denied: the calling process needs no_new_privs set "
                        f"or CAP_SYS_ADMIN (set process.noNewPrivileges or load it before dropping "
                        f"capabilities)", error)
    if error == errno.EINVAL:
        unsupported = [C.FLAG_NAMES.get(bit, hex(bit)) for bit in _flag_bits(flags) if not kernel_supports_flag(bit)]
        if unsupported:
            return OCIError(f"{what}: the kernel does not support {', '.join(unsupported)}", error)
        return OCIError(f"{what}: the kernel rejected the BPF program as invalid", error)
    if error == errno.EBUSY:
        return OCIError(f"{what}: a seccomp filter with a notification listener is already installed "
                        f"in this process; the kernel allows one listener per filter chain", error)
    if error == errno.ESRCH:
        return OCIError(f"{what}: SECCOMP_FILTER_FLAG_TSYNC failed: another thread has a diverging "
                        f"seccomp filter", error)
    if error == errno.ENOMEM:
        return OCIError(f"{what}: the filters of this process would exceed the kernel's total "
                        f"size limit", error)
    return OCIError(f"{what}: {os.strerror(error)}", error)


def _flag_bits(flags: int) -> "list[int]":
    return [1 << shift for shift in range(flags.bit_length()) if flags & (1 << shift)]


def kernel_supports_flag(flag: int) -> bool:
    """Whether the running kernel knows seccomp filter flag ``flag`` (a SECCOMP_FILTER_FLAG_* bit).

    Probed like libseccomp does: seccomp(SET_MODE_FILTER, flag, NULL) fails with EFAULT (reading the
    program) for a known flag and EINVAL for an unknown one; nothing is installed either way.
    """
    import errno

    from oci_runtime.kernel import syscalls as kernel

    if flag == C.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV:
        flag |= C.SECCOMP_FILTER_FLAG_NEW_LISTENER  # only valid together
    try:
        kernel.seccomp(C.SECCOMP_SET_MODE_FILTER, flag)
    except OSError as exc:
        return exc.errno == errno.EFAULT
    return False  # cannot happen: there is no program to load


def supported_architectures() -> "list[str]":
    """The config.json architecture names a profile compiled here may list."""
    from oci_runtime.seccomp._libseccomp import addable_architectures

    return addable_architectures(C.ARCHITECTURE_LIBSECCOMP_NAMES)


def libseccomp_version() -> str | None:
    """The version of the libseccomp that compiles profiles ('2.5.4'), or None if it cannot be loaded."""
    from oci_runtime.seccomp._libseccomp import library_version

    try:
        return library_version()
    except OCIError:
        return None


def features() -> "dict[str, Any]":
    """The ``linux.seccomp`` object of ``oci-runtime features`` (features-linux.md)."""
    try:
        # Only architectures the installed libseccomp can compile for; others fail compile_filter().
        architectures = supported_architectures()
    except OCIError:
        # No loadable libseccomp.so.2: no profile can be compiled (a cached program is only trusted
        # when its key names the library that would compile it), so seccomp is not supported.
        return {"enabled": False}
    return {
        "enabled": True,
        "actions": list(C.ACTION_VALUES),
        "operators": list(C.OPERATOR_VALUES),
        "archs": architectures,
        "knownFlags": list(C.FLAG_VALUES),
        "supportedFlags": [name for name, bit in C.FLAG_VALUES.items() if kernel_supports_flag(bit)],
    }
