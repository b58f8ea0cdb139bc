"""What `checkpoint` and `restore` are asked for: runc's options, checked once, and the part of
CRIU's criu_opts each one sets (the rest comes from the container: oci_runtime.container's
checkpoint.py and restore.py)."""
import os

from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

# runc's --manage-cgroups-mode values -> criu_cg_mode; "" is CRIU's default (soft).
CGROUP_MODES = {"": "DEFAULT", "soft": "SOFT", "full": "FULL", "strict": "STRICT",
                "ignore": "IGNORE"}
# --empty-ns: namespaces CRIU may create empty instead of restoring; runc knows "network" only.
_EMPTY_NS_FLAGS = {"network": 0x40000000}  # CLONE_NEWNET
CLONE_NEWNET = _EMPTY_NS_FLAGS["network"]


class CriuOptions:
    """The options checkpoint and restore share (runc's names, Python spelling)."""

    def __init__(self, *, image_path: str | None = None, work_path: str | None = None,
                 tcp_established: bool = False, ext_unix_sk: bool = False,
                 shell_job: bool = False, file_locks: bool = False,
                 manage_cgroups_mode: str = "", empty_ns: "Iterable[str]" = (),
                 auto_dedup: bool = False, lazy_pages: bool = False) -> None:
        # runc's default image path: ./checkpoint of the caller's working directory.
        self.image_path = os.path.abspath(image_path or "checkpoint")
        self.work_path = os.path.abspath(work_path) if work_path else None
        self.tcp_established = tcp_established
        self.ext_unix_sk = ext_unix_sk
        self.shell_job = shell_job
        self.file_locks = file_locks
        if manage_cgroups_mode not in CGROUP_MODES:
            raise OCIError(f"--manage-cgroups-mode {manage_cgroups_mode!r}: invalid value "
                           "(soft, full, strict or ignore)")
        self.manage_cgroups_mode = manage_cgroups_mode
        # runc always asks for an empty network namespace: neither it nor CRIU restores the
        # container's interfaces; the runtime sets the namespace up again (restore.py).
        mask = CLONE_NEWNET
        for name in empty_ns:
            if name not in _EMPTY_NS_FLAGS:
                raise OCIError(f"--empty-ns {name!r}: namespace is not supported (network only)")
            mask |= _EMPTY_NS_FLAGS[name]
        self.empty_ns = mask
        self.auto_dedup = auto_dedup
        self.lazy_pages = lazy_pages

    @property
    def log_directory(self) -> str:
        """Where CRIU writes its log: the work path, else the image path (runc's rule)."""
        return self.work_path or self.image_path

    def criu_opts(self) -> "dict[str, Any]":
        """The criu_opts fields these options set."""
        return {
            "log_level": 4,
            "manage_cgroups": True,  # obsoleted by manage_cgroups_mode; older CRIUs read it
            "manage_cgroups_mode": CGROUP_MODES[self.manage_cgroups_mode],
            "notify_scripts": True,
            "shell_job": self.shell_job,
            "tcp_established": self.tcp_established,
            "ext_unix_sk": self.ext_unix_sk,
            "file_locks": self.file_locks,
            "empty_ns": self.empty_ns,
            "orphan_pts_master": True,
            "auto_dedup": self.auto_dedup,
            "lazy_pages": self.lazy_pages,
        }


class CheckpointOptions(CriuOptions):
    """runc checkpoint's options.  ``parent_path`` is relative to ``image_path`` (a previous
    pre-dump's images); ``page_server`` is "ADDRESS:PORT"; ``status_fd`` gets a NUL byte once
    CRIU's lazy-pages server is ready (-1: none)."""

    def __init__(self, *, parent_path: str | None = None, leave_running: bool = False,
                 pre_dump: bool = False, tcp_skip_in_flight: bool = False,
                 link_remap: bool = False, page_server: str | None = None,
                 status_fd: int = -1, **common: "Any") -> None:
        super().__init__(**common)
        if parent_path and os.path.isabs(parent_path):
            raise OCIError("--parent-path must be relative")
        self.parent_path = parent_path or None
        self.leave_running = leave_running
        self.pre_dump = pre_dump
        self.tcp_skip_in_flight = tcp_skip_in_flight
        self.link_remap = link_remap
        self.page_server: tuple[str, int] | None = None
        if page_server:
            address, _, port = page_server.rpartition(":")
            address = address.strip("[]")
            if not address or not port:
                raise OCIError("Use --page-server ADDRESS:PORT to specify page server")
            if not port.isdigit() or not 0 < int(port) < 65536:
                raise OCIError(f"--page-server {page_server}: invalid port number")
            self.page_server = (address, int(port))
        if status_fd != -1 and not self.lazy_pages:
            raise OCIError("--status-fd needs --lazy-pages")
        self.status_fd = status_fd

    def criu_opts(self) -> "dict[str, Any]":
        opts = super().criu_opts()
        opts.update(leave_running=self.leave_running,
                    tcp_skip_in_flight=self.tcp_skip_in_flight, link_remap=self.link_remap)
        if self.page_server is not None:
            opts["ps"] = {"address": self.page_server[0], "port": self.page_server[1]}
        if self.parent_path:
            opts.update(parent_img=self.parent_path, track_mem=True)
        return opts


class RestoreOptions(CriuOptions):
    """runc restore's CRIU options (the container's own ones, --bundle, --pid-file... are the
    API's arguments).  ``lsm_profile`` is "TYPE:NAME"."""

    def __init__(self, *, lsm_profile: str | None = None, lsm_mount_context: str | None = None,
                 **common: "Any") -> None:
        super().__init__(**common)
        self.lsm_profile = lsm_profile or None
        self.lsm_mount_context = lsm_mount_context or None

    def criu_opts(self) -> "dict[str, Any]":
        opts = super().criu_opts()
        opts.update(evasive_devices=True, rst_sibling=True, lsm_profile=self.lsm_profile,
                    lsm_mount_context=self.lsm_mount_context)
        return opts
