"""`restore`: a container made from a bundle's config whose process tree CRIU restores from a
checkpoint (runc's restore), instead of the executor starting a new init.

It is create's transaction (oci_runtime.container.transaction) with CRIU in the executor's place:
reserve <root>/<id> -> the cgroup, created and limited from the config (CRIU runs in it and puts
the restored tree there) -> the rootfs bound at <state dir>/criu-root (CRIU's root must be a mount
point) with any missing mount point made -> CRIU restores; at its "setup-namespaces"
notification the init's pid is known (from then on the undo kills it), the network namespace,
which CRIU leaves empty as runc asks, gets its loopback and the config's networks, and the
prestart and createRuntime hooks run (as runc runs them) -> state.json, --pid-file.  Anything that
fails undoes all of it: no state, cgroup, mount or process is left.

What CRIU is told comes from the config, as runc tells it: the external mounts (binds, a v1
host's cgroup hierarchies, bound devices: oci_runtime.criu.mounts) with their host sources, the
joined network and pid namespaces as the fds the checkpoint's keys expect, the other joined
namespaces to join, the container's cgroup as the root of every hierarchy, and this process's
stdin, stdout and stderr for the pipes and host files the init had (descriptors.json).
"""
import os

from oci_runtime.container.checkpoint import (EXTERNAL_NAMESPACE_KEYS, criu_config_file,
                                              image_descriptors)
from oci_runtime.container.create import Created, make_container
from oci_runtime.container.prepare import prepare
from oci_runtime.container.store import CRIU_ROOT
from oci_runtime.errors import OCIError
from oci_runtime.hooks.runner import hook_state, run_hooks

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from oci_runtime.config.model import Config
    from oci_runtime.container.prepare import Prepared
    from oci_runtime.container.store import StateStore
    from oci_runtime.container.transaction import CreateTransaction
    from oci_runtime.criu.options import RestoreOptions
    from oci_runtime.plan.options import CreateOptions
    from oci_runtime.terminal.console import ConsoleEndpoint

    Warn = Callable[[str], None]

RESTORE_LOG = "restore.log"


def restore_container(store: "StateStore", container_id: str, bundle: str,
                      options: "RestoreOptions", create_options: "CreateOptions", *,
                      criu: str = "criu", systemd_cgroup: bool = False,
                      rootless: bool | None = None, attached: bool = False,
                      warn: "Warn | None" = None, debug: "Any" = None) -> Created:
    """Restore the checkpoint in ``options.image_path`` as container ``container_id`` of
    ``bundle``; returns it running (Created, as create_container does).  ``create_options``:
    the create options restore shares (pid_file, console_socket)."""
    from oci_runtime.cgroups.files import warm_up_attach

    warm_up_attach()  # CRIU's cgroup attach, a few ms from now, then skips a grace period
    prepared = prepare(store, container_id, bundle, create_options,
                       systemd_cgroup=systemd_cgroup, rootless=rootless, attached=attached,
                       debug=debug)
    config = prepared.config
    assert config is not None  # prepare() filled it
    if "mount" not in config.linux.namespaces:
        raise OCIError("config.json: /linux/namespaces: restoring needs a mount namespace (CRIU "
                       "restores the container's mounts into one)")
    cgroup_ns = config.linux.namespaces.get("cgroup")
    if cgroup_ns is not None and cgroup_ns.path:
        raise OCIError("config.json: /linux/namespaces (cgroup): CRIU cannot restore into a "
                       f"joined cgroup namespace ({cgroup_ns.path})")
    if not os.path.isdir(options.image_path):
        raise OCIError(f"--image-path {options.image_path}: no such directory")
    restorer = _Restorer(config, options, criu, image_descriptors(options.image_path), warn)
    return make_container(store, prepared, restorer.start_init, warn, debug)


class _Restorer:
    """Restore's start_init (see create.make_container): CRIU in the executor's place."""

    def __init__(self, config: "Config", options: "RestoreOptions", criu: str,
                 descriptors: "list[str]", warn: "Warn | None") -> None:
        self.config = config
        self.options = options
        self.criu = criu
        self.descriptors = descriptors
        self.warn = warn
        self.extra_fds: list[int] = []  # CRIU's fds 4, 5, ...
        self.console: ConsoleEndpoint | None = None
        self.prepared: Prepared | None = None

    def start_init(self, prepared: "Prepared", console: "ConsoleEndpoint | None",
                   transaction: "CreateTransaction") -> int:
        """The restored init's host pid, once CRIU has restored the whole tree."""
        from oci_runtime.criu.mounts import external_mounts

        self.prepared, self.console = prepared, console
        config, options = self.config, self.options
        _make_mount_points(config)
        opts = options.criu_opts()
        opts.update(log_file=RESTORE_LOG, config_file=criu_config_file(config),
                    ext_mnt=[{"key": key, "val": source}
                             for key, source in external_mounts(config, prepared.cgroup)],
                    inherit_fd=[], join_ns=[])
        # CRIU's root and the fds it inherits are needed while it runs, never after.
        opts["root"] = _bind_criu_root(config.root_path, prepared.state_dir)
        try:
            self._inherit_stdio(opts)
            self._namespaces(opts)
            return self._run_criu(transaction, opts)
        finally:
            _close_all(self.extra_fds)
            _unbind_criu_root(opts["root"], self.warn)

    def _inherit_stdio(self, opts: "dict[str, Any]") -> None:
        """This process's fd N in place of the init's pipe or host file N (see
        checkpoint.stdio_descriptors): how conmon's and a shell's stdio reach the restored
        tree."""
        from oci_runtime.criu.swrk import Swrk

        for fd, key in enumerate(self.descriptors[:3]):
            if "pipe:" in key or key.startswith("file["):
                try:
                    self.extra_fds.append(os.dup(fd))
                except OSError:
                    raise OCIError(f"the checkpointed init's fd {fd} was {key}: restore hands "
                                   f"it its own fd {fd}, which is closed") from None
                opts["inherit_fd"].append({"key": key, "fd": Swrk.extra_fd_number(
                    len(self.extra_fds) - 1)})

    def _namespaces(self, opts: "dict[str, Any]") -> None:
        """Joined namespaces: network and pid as the fds the checkpoint's external keys name,
        the others for CRIU to join (runc's handleRestoringNamespaces)."""
        from oci_runtime.criu.swrk import Swrk

        for namespace in self.config.linux.namespaces.values():
            if not namespace.path or namespace.type == "cgroup":
                continue
            if namespace.type in EXTERNAL_NAMESPACE_KEYS:
                try:
                    fd = os.open(namespace.path, os.O_RDONLY | os.O_CLOEXEC)
                except OSError as exc:
                    raise OCIError.from_os(f"config.json: /linux/namespaces ({namespace.type}): "
                                           f"opening {namespace.path}", exc) from None
                self.extra_fds.append(fd)
                opts["inherit_fd"].append({"key": EXTERNAL_NAMESPACE_KEYS[namespace.type][1],
                                           "fd": Swrk.extra_fd_number(len(self.extra_fds) - 1)})
            else:
                opts["join_ns"].append({"ns": namespace.proc_name, "ns_file": namespace.path})

    def _run_criu(self, transaction: "CreateTransaction", opts: "dict[str, Any]") -> int:
        """Run CRIU's RESTORE, answering its notifications; the restored init's host pid."""
        from oci_runtime.criu.swrk import Swrk
        from oci_runtime.kernel.files import make_directories

        options, prepared = self.options, self.prepared
        assert prepared is not None  # start_init set it
        cgroup = prepared.cgroup
        log_path = f"{options.log_directory}/{RESTORE_LOG}"
        directory_fds: "list[int]" = []
        restored_pid = 0
        try:
            for key, path in (("images_dir_fd", options.image_path),
                              ("work_dir_fd", options.work_path)):
                if path:
                    if key == "work_dir_fd":
                        make_directories(path, 0o700)
                    # CRIU opens /proc/<our pid>/fd/N: the fds stay ours.
                    directory_fds.append(os.open(path, os.O_RDONLY | os.O_DIRECTORY
                                                 | os.O_CLOEXEC))
                    opts[key] = directory_fds[-1]
            with Swrk(self.criu, self.extra_fds) as session:
                session.check_version()
                session.require({"lazy_pages": "--lazy-pages"} if options.lazy_pages else {})
                if cgroup is not None:
                    # CRIU runs in the container's cgroup and puts the tree where it is.
                    cgroup.create()
                    cgroup.apply(session.pid)
                    cgroup.set(prepared.resources)
                    opts["cg_root"] = _cgroup_roots(session.pid)

                def on_notify(script: str, pid: int, fd: int | None) -> None:
                    nonlocal restored_pid
                    if script == "setup-namespaces":
                        # The root task exists, in its namespaces, before anything of the tree
                        # runs: from here the undo kills it; networks attach (create's step).
                        init = transaction.init_started(pid, cgroup)
                        self._set_up_loopback(init.pid)
                        self._run_creation_hooks(init.pid)
                    elif script == "orphan-pts-master" and fd is not None:
                        self._hand_over_console(fd)
                    elif script == "post-restore":
                        restored_pid = pid
                    elif fd is not None:
                        os.close(fd)

                response = session.request("RESTORE", opts, on_notify, log_path)
        finally:
            for fd in directory_fds:
                os.close(fd)
        pid: int = (response.get("restore") or {}).get("pid") or restored_pid
        if not pid or transaction.init is None:
            raise OCIError(f"criu restore answered without the restored process (log: "
                           f"{log_path})")
        return pid

    def _set_up_loopback(self, pid: int) -> None:
        """The loopback of the empty network namespace CRIU made, up as create's executor
        brings it up (the config's networks are create's own step, already run)."""
        if self.config.linux.has_new("network"):
            from oci_runtime.network.loopback import loopback_up

            loopback_up(pid)

    def _run_creation_hooks(self, pid: int) -> None:
        """prestart and createRuntime hooks, where runc runs them on restore (CRIU's
        setup-namespaces: the namespaces exist, nothing of the container runs yet)."""
        hooks, prepared = self.config.hooks, self.prepared
        assert prepared is not None  # start_init set it
        if hooks.get("prestart") or hooks.get("createRuntime"):
            state = hook_state(prepared.container_id, "creating", pid, prepared.bundle,
                               self.config.annotations)
            run_hooks(hooks, "prestart", state)
            run_hooks(hooks, "createRuntime", state)

    def _hand_over_console(self, master: int) -> None:
        """The restored terminal's master (CRIU sends it when the checkpoint had a terminal
        whose master was outside, "orphan-pts-master") goes where create sends a new one:
        --console-socket, or the attached restore's relay."""
        from oci_runtime.kernel.fdpass import send_fd

        try:
            console = self.console
            if console is None or console.sender is None:
                raise OCIError("the checkpoint has a terminal but config.json: "
                               "/process/terminal is not true")
            try:
                send_fd(console.sender, b"orphan-pts-master", master)
            except OSError as exc:
                raise OCIError.from_os("--console-socket: sending the terminal", exc) from None
        finally:
            os.close(master)

def _bind_criu_root(rootfs: str, state_dir: str) -> str:
    """CRIU's root must be a mount point whose parent is not overmounted: the rootfs bound at
    <state dir>/criu-root (runc's), for as long as CRIU runs."""
    from oci_runtime.kernel import syscalls as kernel

    root = f"{state_dir}/{CRIU_ROOT}"
    os.mkdir(root, 0o755)
    try:
        kernel.mount(rootfs, root, None, kernel.MS_BIND | kernel.MS_REC)
    except OSError as exc:
        os.rmdir(root)
        raise OCIError.from_os(f"binding the rootfs {rootfs} for CRIU at {root}", exc) from None
    return root


def _unbind_criu_root(root: str, warn: "Warn | None") -> None:
    from oci_runtime.kernel import syscalls as kernel

    try:
        kernel.umount2(root, kernel.MNT_DETACH)
        os.rmdir(root)
    except OSError as exc:
        if warn is not None:
            warn(f"unmounting {root}: {exc.strerror}")


def _make_mount_points(config: "Config") -> None:
    """The mount points a rootfs restored elsewhere may lack (runc's prepareCriuRestoreMounts):
    every mount's destination but those on a tmpfs (CRIU restores a tmpfs with its contents)
    and cgroup mounts (their points are in a tmpfs or appear with /sys)."""
    from oci_runtime.criu.mounts import is_bind
    from oci_runtime.rootfs.inside import make_mountpoint

    tmpfs = [m.destination.rstrip("/") + "/" for m in config.mounts if m.type == "tmpfs"]
    for mount in config.mounts:
        if mount.type in ("cgroup", "cgroup2") or any(mount.destination.startswith(prefix)
                                                      for prefix in tmpfs):
            continue
        is_file = is_bind(mount) and os.path.exists(mount.source) \
            and not os.path.isdir(mount.source)
        make_mountpoint(config.root_path, mount.destination, is_file)


def _cgroup_roots(pid: int) -> "list[dict[str, str]]":
    """cg_root for each controller of ``pid``'s cgroups (/proc/<pid>/cgroup; "" is cgroup v2,
    as CRIU names it): the restored tree goes where CRIU itself was placed."""
    roots: "list[dict[str, str]]" = []
    with open(f"/proc/{pid}/cgroup") as cgroups:
        for line in cgroups:
            parts = line.rstrip("\n").split(":", 2)
            if len(parts) == 3:
                roots.extend({"ctrl": controller, "path": parts[2]}
                             for controller in parts[1].split(","))
    return roots


def _close_all(fds: "list[int]") -> None:
    while fds:
        os.close(fds.pop())
