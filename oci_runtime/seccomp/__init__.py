"""seccomp for containers: ``linux.seccomp`` compiled to BPF (filter.py, with libseccomp, cached),
loaded by the executor just before execve (the SECCOMP step of plan/process.py), and a
SCMP_ACT_NOTIFY listener handed to its agent (listener.py; notify.py speaks the agent's side).

    compiled = seccomp.compile_filter(config["linux"]["seccomp"], cache_dir=...)
    for warning in compiled.warnings:
        log.debug(warning)

Importing this package is cheap on purpose (no cffi, no re): the heavy parts load on first use, and
a compile served from the cache never loads libseccomp at all.
"""

from oci_runtime.seccomp.filter import CompiledFilter, compile_filter, features, kernel_supports_flag
from oci_runtime.seccomp.listener import container_process_state, send_listener_fd

__all__ = [
    "CompiledFilter",
    "compile_filter",
    "container_process_state",
    "features",
    "kernel_supports_flag",
    "send_listener_fd",
]
