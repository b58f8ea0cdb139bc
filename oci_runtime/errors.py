"""The one error type the runtime raises for anything a user must act on.

Every layer wraps lower failures with context (``raise OCIError("mounting /proc", ...) from exc``);
the CLI prints the message once, as one line, and exits non-zero.  Keep messages actionable: name the
config field (as a JSON pointer), the path or the value that is wrong.
"""


class OCIError(Exception):
    """A failure with a one-line, user-facing message.  ``errno`` is kept when a syscall failed."""

    def __init__(self, message, errno=0):
        super().__init__(message)
        self.errno = errno

    @classmethod
    def from_os(cls, what, exc):
        """Wrap an OSError as '<what>: <strerror>' keeping its errno."""
        reason = exc.strerror or str(exc)
        return cls(f"{what}: {reason}", exc.errno or 0)


class ContainerNotFound(OCIError):
    """Raised for an unknown container id; the text carries runc's phrase 'does not exist'."""

    def __init__(self, container_id):
        super().__init__(f"container {container_id!r} does not exist")


class DamagedState(OCIError):
    """A container directory whose state.json cannot be used (empty, truncated, not a JSON object,
    another id, missing).  ``path`` names the file; the message is one line saying what is wrong."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: damaged container state: {reason}")
        self.path = path
