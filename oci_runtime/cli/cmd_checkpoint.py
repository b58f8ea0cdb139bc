"""checkpoint [options] ID: save a running container's processes with CRIU (runc's checkpoint);
the container is stopped and deleted unless --leave-running or --pre-dump."""
from oci_runtime.cli.args import UsageError, parse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

# The options checkpoint and restore share, with runc's names and meanings.
CRIU_OPTIONS: "OptionTable" = {
    "--image-path": (None, "DIR", None, "CRIU's image directory (default: ./checkpoint)"),
    "--work-path": (None, "DIR", None, "where CRIU writes its log and work files (default: "
                    "the image directory)"),
    "--tcp-established": (None, None, None, "allow open TCP connections"),
    "--ext-unix-sk": (None, None, None, "allow unix sockets connected outside the container"),
    "--shell-job": (None, None, None, "allow a process attached to a terminal outside the "
                    "container (a shell job)"),
    "--file-locks": (None, None, None, "save and restore file locks"),
    "--manage-cgroups-mode": (None, "MODE", None, "how CRIU handles cgroups: soft (default), "
                              "full, strict or ignore"),
    "--empty-ns": (None, "NAMESPACE", None, "a namespace CRIU creates empty instead of "
                   "restoring (network): the network namespace always is, and restore sets it "
                   "up again from the config"),
    "--auto-dedup": (None, None, None, "deduplicate memory images (punch holes in parent "
                     "images)"),
    "--lazy-pages": (None, None, None, "leave memory pages to be fetched lazily (userfaultfd) "
                     "from CRIU's page server"),
}
REPEATABLE = ("--empty-ns",)

OPTIONS: "OptionTable" = dict(CRIU_OPTIONS, **{
    "--parent-path": (None, "DIR", None, "the images of a previous pre-dump, relative to "
                      "--image-path: only what changed since is saved"),
    "--leave-running": (None, None, None, "leave the container running after the checkpoint"),
    "--pre-dump": (None, None, None, "save memory only and leave the container running (for "
                   "a later checkpoint's --parent-path)"),
    "--tcp-skip-in-flight": (None, None, None, "skip TCP connections still being "
                             "established"),
    "--link-remap": (None, None, None, "save open files that were deleted by linking them "
                     "back when possible"),
    "--page-server": (None, "ADDRESS:PORT", None, "send memory pages to CRIU's page server "
                      "there"),
    "--status-fd": (None, "FD", "-1", "with --lazy-pages: write a NUL byte to FD once the "
                    "lazy-pages server is ready"),
})


def common_values(values: "dict[str, Any]") -> "dict[str, Any]":
    """The CriuOptions keyword arguments from parsed CRIU_OPTIONS values."""
    return {
        "image_path": values.get("image_path") or None,
        "work_path": values.get("work_path") or None,
        "tcp_established": values.get("tcp_established", False),
        "ext_unix_sk": values.get("ext_unix_sk", False),
        "shell_job": values.get("shell_job", False),
        "file_locks": values.get("file_locks", False),
        "manage_cgroups_mode": values.get("manage_cgroups_mode") or "",
        "empty_ns": [name for value in values.get("empty_ns") or () for name in value.split(",")
                     if name],
        "auto_dedup": values.get("auto_dedup", False),
        "lazy_pages": values.get("lazy_pages", False),
    }


def run(context: "Context", argv: "Sequence[str]") -> None:
    values, positionals = parse(argv, OPTIONS, REPEATABLE)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime checkpoint [options] CONTAINER_ID")
    status_fd = values["status_fd"]
    if not status_fd.lstrip("-").isdigit():
        raise UsageError(f"--status-fd: not a number: {status_fd!r}")
    container = context.runtime.get(positionals[0])
    container.checkpoint(parent_path=values.get("parent_path") or None,
                         leave_running=values.get("leave_running", False),
                         pre_dump=values.get("pre_dump", False),
                         tcp_skip_in_flight=values.get("tcp_skip_in_flight", False),
                         link_remap=values.get("link_remap", False),
                         page_server=values.get("page_server") or None,
                         status_fd=int(status_fd), **common_values(values))
