"""What a create is asked beyond config.json: the options of `create` and `run`, one object.

The CLI builds it from the command's option table (cli/cmd_create.py), a Python program passes it
to ``Runtime.create``/``Runtime.run`` (``from oci_runtime import CreateOptions``), and it travels
unchanged through the one create path (container/prepare.py) to the plan compiler
(plan/create.py) and to what create does beside the plan (the pid file, the console socket, the
networks).  A new option is a field here and an entry in cli/cmd_create.py's table, nothing else.

Per-runtime settings (--root, --systemd-cgroup, --rootless) are the Runtime's, not a create's.
"""
from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable


class CreateOptions:
    """``pid_file``: write the init's host pid there.  ``console_socket``: an AF_UNIX socket
    that receives the pty master (process.terminal).  ``preserve_fds``: fds 3..3+N-1 of the
    caller passed on to the container's process.  ``no_pivot``: enter the rootfs by moving it
    over / instead of pivot_root (a rootfs on a ramdisk).  ``no_new_keyring``: keep the
    caller's session keyring.  ``networks``: CNI network names, one interface (eth0, ...)
    each, with their configurations in ``cni_conf_dir`` and plugins in ``cni_bin_dir``
    (":"-separated; docs/networking.md).  ``pidfd_socket``: an AF_UNIX socket that receives a
    pidfd of the init (runc's --pidfd-socket; process/pidfd_socket.py).  ``subreaper``: an
    attached `run` is a child subreaper while it waits, reaping the container's processes
    orphaned to it (the CLI's default, as runc's; --no-subreaper turns it off; the API's default
    is off, leaving the caller's process as it was; `create` never needs one: the init is forked
    with CLONE_PARENT, nothing is reparented to it)."""

    __slots__ = ("pid_file", "console_socket", "preserve_fds", "no_pivot", "no_new_keyring",
                 "networks", "cni_conf_dir", "cni_bin_dir", "pidfd_socket", "subreaper")

    def __init__(self, *, pid_file: str | None = None, console_socket: str | None = None,
                 preserve_fds: int = 0, no_pivot: bool = False, no_new_keyring: bool = False,
                 networks: "Iterable[str] | None" = None, cni_conf_dir: str | None = None,
                 cni_bin_dir: str | None = None, pidfd_socket: str | None = None,
                 subreaper: bool = False) -> None:
        if preserve_fds < 0:
            raise OCIError(f"preserve_fds must not be negative, got {preserve_fds}")
        self.pid_file = pid_file
        self.console_socket = console_socket
        self.preserve_fds = preserve_fds
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.networks = None if networks is None else list(networks)
        self.cni_conf_dir = cni_conf_dir
        self.cni_bin_dir = cni_bin_dir
        self.pidfd_socket = pidfd_socket
        self.subreaper = subreaper

    def asks_for_networks(self) -> bool:
        """Whether any of the CNI options was given (then a network must be named somewhere)."""
        return (self.networks is not None or self.cni_conf_dir is not None
                or self.cni_bin_dir is not None)

    def __repr__(self) -> str:
        given = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__
                          if getattr(self, name) not in (None, False, 0))
        return f"CreateOptions({given})"
