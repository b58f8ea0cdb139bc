"""Generate the BPF program for a validated profile with libseccomp, through cffi in ABI mode.

ABI mode (``ffi.dlopen``) needs only libseccomp.so.2 at run time, not its headers or a compiler;
the declarations, copied from seccomp.h (libseccomp >= 2.5), live in ``_cffi_build``.  A compile
served from the cache never gets here.

libseccomp is used purely as a compiler: we export the program and the executor loads it with
seccomp(2) (filter.load_flags), which keeps loading independent of libseccomp's own policy
(no_new_privs attribute, TSYNC handling) and lets a cached program be loaded unchanged.
"""

import errno
import os

from oci_runtime.errors import ConfigError, OCIError
from oci_runtime.seccomp import constants as C
from oci_runtime.seccomp._library import SONAME

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from oci_runtime.seccomp.profile import Condition, Profile

_SCMP_FLTATR_CTL_OPTIMIZE = 8
_OPTIMIZE_BINARY_TREE = 2
# Same threshold as runc: a binary tree only pays off for long rule lists, and libseccomp <= 2.5.4
# generates a broken program when the tree optimisation is on and there are no rules at all.
_BINARY_TREE_MIN_RULES = 32
_NR_SCMP_ERROR = -1  # seccomp_syscall_resolve_name(): name unknown to libseccomp

_loaded: "tuple[Any, Any] | None" = None  # (ffi, lib), loaded once per process


def _load(library_path: str | None) -> "tuple[Any, Any]":
    global _loaded
    if _loaded is None:
        # Deferred: the cache-hit path and plain imports must not pay for this.
        from oci_runtime.seccomp._cffi_build import LIBSECCOMP_MODULE, load_ffi

        ffi = load_ffi(LIBSECCOMP_MODULE)
        try:
            lib = ffi.dlopen(library_path or SONAME)
        except OSError as exc:
            raise OCIError(f"seccomp: cannot load {library_path or SONAME}: {exc}") from exc
        _loaded = ffi, lib
    return _loaded


def library_version(library_path: str | None = None) -> str:
    """libseccomp's version as 'major.minor.micro'."""
    ffi, lib = _load(library_path)
    version = lib.seccomp_version()
    return f"{version.major}.{version.minor}.{version.micro}"


def architecture_token(config_name: str, library_path: str | None = None) -> int:
    """The SCMP_ARCH_* token for a config.json architecture name, or 0 if libseccomp lacks it."""
    _, lib = _load(library_path)
    token: int = lib.seccomp_arch_resolve_name(
        C.ARCHITECTURE_LIBSECCOMP_NAMES[config_name].encode())
    return token


def syscall_number(name: str, library_path: str | None = None) -> int | None:
    """The native architecture's number for syscall ``name``, or None if libseccomp does not know it.

    For seccomp agents, which see only numbers in a notification."""
    _, lib = _load(library_path)
    number: int = lib.seccomp_syscall_resolve_name(name.encode())
    return None if number == _NR_SCMP_ERROR else number


def addable_architectures(config_names: "Iterable[str]", library_path: str | None = None
                          ) -> "list[str]":
    """The names in ``config_names`` that a filter for this process can include.

    libseccomp knowing an architecture is not enough: one filter holds architectures of a single
    byte order only (adding s390x to an x86_64 filter fails with EDOM), so each is tried on a
    scratch filter.
    """
    ffi, lib = _load(library_path)
    context = lib.seccomp_init(C.SCMP_ACT_ALLOW)
    if context == ffi.NULL:
        raise OCIError("seccomp: seccomp_init failed")
    try:
        addable = []
        for name in config_names:
            token = architecture_token(name, library_path)
            if token and lib.seccomp_arch_add(context, token) in (0, -errno.EEXIST):
                addable.append(name)
        return addable
    finally:
        lib.seccomp_release(context)


def _check(rc: int, what: str) -> None:
    # libseccomp returns -errno on failure.
    if rc < 0:
        raise OCIError(f"{what}: {os.strerror(-rc)}", -rc)


def _fail(pointer: str, message: str, error_number: int = 0) -> ConfigError:
    return ConfigError(f"config.json: {C.CONFIG_POINTER}{pointer}: {message}",
                       errno=error_number)


def generate_bpf(profile: "Profile", library_path: str | None = None
                 ) -> "tuple[bytes, list[str]]":
    """Compile ``profile`` (a :class:`~oci_runtime.seccomp.profile.Profile`).

    Returns ``(bpf_bytes, warnings)``; warnings name syscalls this libseccomp does not know, which
    are skipped like runc does (the profile may target a newer kernel than libseccomp knows).
    """
    ffi, lib = _load(library_path)
    context = lib.seccomp_init(profile.default_action)
    if context == ffi.NULL:
        raise OCIError("seccomp: seccomp_init failed (out of memory or default action unsupported by the kernel)")
    try:
        for position, arch in enumerate(profile.architectures):
            token = architecture_token(arch, library_path)
            if token == 0:
                raise _fail(f"/architectures/{position}",
                            f'architecture "{arch}" is not supported by libseccomp {library_version(library_path)}')
            rc = lib.seccomp_arch_add(context, token)
            # The native architecture is always in the filter already; listing it is not an error.
            if rc != -errno.EEXIST:
                _check(rc, f"config.json: {C.CONFIG_POINTER}/architectures/{position}: adding architecture {arch}")

        warnings: "list[str]" = []
        rules_added = 0
        for rule in profile.rules:
            if rule.action == profile.default_action:
                # libseccomp rejects a rule that repeats the default action (EACCES); it would not
                # change the program anyway, so skip it silently as runc does.
                continue
            arrays = [_condition_array(ffi, conditions) for conditions in rule.condition_sets]
            for position, name in enumerate(rule.names):
                number = lib.seccomp_syscall_resolve_name(name.encode())
                if number == _NR_SCMP_ERROR:
                    warnings.append(f'{C.CONFIG_POINTER}{rule.pointer}/names/{position}: '
                                    f'unknown seccomp syscall "{name}" ignored')
                    continue
                for conditions, array in zip(rule.condition_sets, arrays):
                    rc = lib.seccomp_rule_add_array(context, rule.action, number, len(conditions), array)
                    if rc < 0:
                        raise _fail(f"{rule.pointer}/names/{position}",
                                    f'adding seccomp rule for syscall "{name}": {os.strerror(-rc)}', -rc)
                    rules_added += 1

        if rules_added > _BINARY_TREE_MIN_RULES:
            # Not fatal if unsupported: only the lookup speed of the program changes.
            lib.seccomp_attr_set(context, _SCMP_FLTATR_CTL_OPTIMIZE, _OPTIMIZE_BINARY_TREE)

        return _enosys_stub(profile, lib, library_path) + _export(lib, context), warnings
    finally:
        lib.seccomp_release(context)


def _enosys_stub(profile: "Profile", lib: "Any", library_path: str | None) -> bytes:
    """The instructions that give ENOSYS to syscalls newer than the profile (seccomp/enosys.py),
    with libseccomp's numbers for every architecture in the filter: those listed, and the
    native one, which libseccomp always includes."""
    from oci_runtime.seccomp import enosys

    if not enosys.wants_stub(profile.default_action):
        return b""
    tokens = [architecture_token(arch, library_path) for arch in profile.architectures]
    tokens.append(lib.seccomp_arch_native())
    names = [name for rule in profile.rules for name in rule.names]
    highest = enosys.highest_numbers(
        names, tokens, lambda token, name: int(lib.seccomp_syscall_resolve_name_arch(token, name.encode())))
    return enosys.stub(highest)


def _condition_array(ffi: "Any", conditions: "Sequence[Condition]") -> "Any":
    if not conditions:
        return ffi.NULL
    array = ffi.new("struct scmp_arg_cmp[]", len(conditions))
    for slot, condition in zip(array, conditions):
        slot.arg = condition.index
        slot.op = condition.operator
        slot.datum_a = condition.value
        slot.datum_b = condition.value_two
    return array


def _export(lib: "Any", context: "Any") -> bytes:
    # A memfd rather than a pipe: a big program would fill a pipe buffer and deadlock the export.
    memfd = os.memfd_create("oci-runtime-seccomp-bpf", os.MFD_CLOEXEC)
    try:
        _check(lib.seccomp_export_bpf(context, memfd), "seccomp: exporting the BPF program")
        size = os.fstat(memfd).st_size
        program = bytearray()
        while len(program) < size:
            chunk = os.pread(memfd, size - len(program), len(program))
            if not chunk:
                break
            program += chunk
        return bytes(program)
    finally:
        os.close(memfd)

