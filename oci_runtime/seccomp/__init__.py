"""seccomp for containers: compile ``linux.seccomp`` to BPF, install it, hand the listener to an agent.

Typical use by the container init (single-threaded, just before execve)::

    compiled = seccomp.compile_filter(config["linux"]["seccomp"], cache_dir=...)
    for warning in compiled.warnings:
        log.debug(warning)
    listener_fd = seccomp.install(compiled, want_listener=compiled.uses_notify)
    # pass listener_fd to the runtime process, which calls
    # seccomp.send_listener_fd(compiled.listener_path, listener_fd, state, compiled.listener_metadata)

Importing this package is cheap on purpose (no cffi, no re): the heavy parts load on first use, and
a compile served from the cache never loads libseccomp at all.
"""

from oci_runtime.seccomp.filter import CompiledFilter, compile_filter, features, install, kernel_supports_flag
from oci_runtime.seccomp.listener import container_process_state, send_listener_fd

__all__ = [
    "CompiledFilter",
    "compile_filter",
    "container_process_state",
    "features",
    "install",
    "kernel_supports_flag",
    "send_listener_fd",
]
