"""The errors the runtime raises for anything a user must act on.

Every layer wraps lower failures with context (``raise OCIError("mounting /proc", ...) from exc``);
the CLI prints the message once, as one line, and exits non-zero.  Keep messages actionable: name the
config field (as a JSON pointer), the path or the value that is wrong.  Callers (containerd's shim,
podman) parse some of runc's phrases, so a subclass never changes a message, only adds a type:

* ``ContainerNotFound``: no container with that id under the state root;
* ``InvalidState``: the container exists but is in the wrong status for the operation;
* ``ConfigError``: config.json (or another document: an exec process, update's resources) is
  wrong; ``.pointer`` is the JSON pointer of the field, when the message names one.

This module is imported by every CLI call (the hot path): it imports nothing.
"""


class OCIError(Exception):
    """A failure with a one-line, user-facing message.  ``errno`` is kept when a syscall failed."""

    def __init__(self, message: str, errno: int = 0) -> None:
        super().__init__(message)
        self.errno = errno

    @classmethod
    def from_os(cls, what: str, exc: OSError) -> "OCIError":
        """Wrap an OSError as '<what>: <strerror>' keeping its errno."""
        reason = exc.strerror or str(exc)
        return cls(f"{what}: {reason}", exc.errno or 0)


class ContainerNotFound(OCIError):
    """Raised for an unknown container id; the text carries runc's phrase 'does not exist'."""

    def __init__(self, container_id: str) -> None:
        super().__init__(f"container {container_id!r} does not exist")
        self.container_id = container_id


class InvalidState(OCIError):
    """The operation needs another status (start of a running container, delete of a running
    one without force, ...).  ``status`` is the status the container was found in."""

    def __init__(self, message: str, status: str = "") -> None:
        super().__init__(message)
        self.status = status


class ConfigError(OCIError):
    """config.json (or an exec process) is wrong.  ``pointer`` is the JSON pointer of the field
    ("/process/args"), given or parsed from a message of the form "config.json: /ptr: ...";
    None when the problem has no single field (invalid JSON, a missing file)."""

    def __init__(self, message: str, pointer: str | None = None, errno: int = 0) -> None:
        super().__init__(message, errno)
        self.pointer = pointer if pointer is not None else pointer_in_message(message)


def pointer_in_message(message: str) -> str | None:
    """The JSON pointer a runtime message names after its document: "config.json: /a/0/b: why"
    gives "/a/0/b"; "/" for the whole document; None when there is none."""
    document, separator, rest = message.partition(": ")
    if not separator or not document.endswith(".json") or not rest.startswith("/"):
        return None
    pointer = rest.split(": ", 1)[0].split(" ", 1)[0]
    return pointer


class DamagedState(OCIError):
    """A container directory whose state.json cannot be used (empty, truncated, not a JSON object,
    another id, missing).  ``path`` names the file; the message is one line saying what is wrong."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: damaged container state: {reason}")
        self.path = path
