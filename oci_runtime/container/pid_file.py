"""--pid-file of create, run and exec: checked before anything is made, written at the end.

The file is written once the process exists, so a directory that is missing or not writable is
found first (`create` would otherwise undo a whole container; `exec` would leave a process whose
pid its caller never learns).  Errors name the flag, not a temporary file.
"""
import os

from oci_runtime.errors import OCIError
from oci_runtime.kernel.files import write_atomically


def check_pid_file(path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OCIError(f"--pid-file {path}: no such directory {directory}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OCIError(f"--pid-file {path}: cannot write in {directory}")
    if os.path.isdir(path):
        raise OCIError(f"--pid-file {path}: is a directory")


def write_pid_file(path: str, pid: int) -> str:
    """Returns the absolute path written (create's undo removes it)."""
    written = os.path.abspath(path)
    try:
        write_atomically(written, f"{pid}".encode(), 0o644)
    except OCIError as exc:  # it names the path (never its temporary file) and keeps the errno
        raise OCIError(f"--pid-file {path}: writing the pid: {os.strerror(exc.errno)}",
                       exc.errno) from None
    return written
