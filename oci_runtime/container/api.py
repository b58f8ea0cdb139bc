"""The Python API: ``Runtime`` (a state root) and ``Container``; the CLI calls exactly this.

    from oci_runtime import Runtime

    runtime = Runtime(root="/run/my-app")
    status = runtime.run("web", bundle="/srv/bundles/web")      # create + start + wait + delete

Calling it leaves the caller's process as it was: the container's init and exec'd processes are
direct children of the caller (the executor forks them with CLONE_PARENT: no child subreaper),
signal handlers are installed only while ``run`` or an attached ``exec`` waits (forwarding them to
the container, like the CLI) and the previous ones are put back; only the container's own pid is
ever waited for.  Containers outlive the caller as they outlive the CLI.  Errors are ``OCIError``
subclasses (oci_runtime.errors) with runc's messages.

This module is on the CLI's hot path (``state``, ``start``, ``kill`` call it): it imports only what
those need, and annotations that name typing constructs are strings, so ``typing`` is never
imported at run time.
"""
from oci_runtime.kernel import hotpath


from oci_runtime.container.lifecycle import StoredContainer, list_containers
from oci_runtime.errors import ConfigError, ContainerNotFound, DamagedState, InvalidState, OCIError
from oci_runtime.container.store import StateStore
from oci_runtime.kernel.files import process_start_time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

    from oci_runtime.plan.options import CreateOptions

__all__ = ["ConfigError", "Container", "ContainerNotFound", "InvalidState", "OCIError", "Process",
           "Runtime"]


class Runtime:
    """The containers under one state root (``root``; default /run/oci-runtime for root).

    ``systemd_cgroup`` makes cgroupsPath a systemd "slice:prefix:name" (runc's --systemd-cgroup).
    ``criu`` is the CRIU executable checkpoint and restore run (a name on $PATH, or a path).
    ``warn`` receives warnings (a poststop hook that failed, ...); by default they are dropped.
    ``debug`` is the CLI's --debug logger (oci_runtime.cli.logging.DebugLog) or None."""

    def __init__(self, root: str | None = None, *, systemd_cgroup: bool = False,
                 rootless: bool | None = None, criu: str = "criu",
                 warn: "Callable[[str], None] | None" = None, debug: "Any" = None) -> None:
        self._store = StateStore(root)
        self.systemd_cgroup = systemd_cgroup
        # CRIU for checkpoint/restore: a name looked up on $PATH, or a path (runc's --criu).
        self.criu = criu
        # True, False, or None: detected where it matters (a non-root caller, or one in a user
        # namespace: oci_runtime.userns.rootless), as runc's --rootless auto.
        self.rootless = rootless
        self._warn = warn
        self._debug = debug
        # (pid, start time) -> exit status of inits and processes this Runtime reaped, so a
        # second wait() still knows it.
        self._exit_statuses: "dict[tuple[int, int], int]" = {}

    @property
    def root(self) -> str:
        """The state root, absolute."""
        return str(self._store.root)

    def create(self, container_id: str, bundle: str,
               options: "CreateOptions | None" = None) -> "Container":
        """Create a container from ``bundle`` (a directory with config.json); it is ``created``,
        its init waiting for ``start()``, and a child of the calling process.

        ``options`` (oci_runtime.CreateOptions) are `oci-runtime create`'s: pid_file,
        console_socket, preserve_fds, no_pivot, no_new_keyring, and CNI ``networks`` (one
        interface each, eth0, ...) with cni_conf_dir and cni_bin_dir; docs/networking.md.
        Raises ConfigError (with ``.pointer``) for a bad config, OCIError otherwise; a failed
        create leaves nothing behind."""
        container, _ = self._create(container_id, bundle, options, attached=False)
        return container

    def _create(self, container_id: str, bundle: str, options: "CreateOptions | None",
                attached: bool) -> "tuple[Container, Any]":
        """The created Container, and the pty endpoint an attached run relays (or None)."""
        from oci_runtime.container.create import create_container
        from oci_runtime.plan.options import CreateOptions

        try:
            created = create_container(
                self._store, container_id, bundle, options or CreateOptions(),
                systemd_cgroup=self.systemd_cgroup, rootless=self.rootless, attached=attached,
                warn=self._warn, debug=self._debug)
        except OCIError as exc:
            raise _typed(exc) from exc.__cause__
        if self._debug is not None:
            for warning in created.warnings:
                self._debug(warning)
        return Container(self, created.container), created.console

    def run(self, container_id: str, bundle: str, options: "CreateOptions | None" = None, *,
            detach: bool = False, keep: bool = False) -> int:
        """Create (with ``options``, as ``create``), start and (unless ``detach``) wait for the
        container; return its exit status (128+N when killed by signal N; 0 when detached).

        Its stdio are the caller's (with process.terminal and no console_socket, the caller's
        stdin/stdout are relayed through the container's pty).  While it runs, HUP, INT, QUIT,
        TERM, USR1, USR2, WINCH and CONT received by the caller are forwarded to it (from the
        main thread only; the previous handlers are restored).  Unless ``keep``, it is deleted
        once it has exited.  With ``options.subreaper`` the caller is a child subreaper while it
        waits and reaps the container's processes orphaned to it (process/subreaper.py): from
        its start on, and only for a container in the caller's pid namespace (in one of its
        own, an orphan goes to the container's init, never to the caller)."""
        from oci_runtime.container.attached import known_status, wait_attached
        from oci_runtime.process.subreaper import ChildSubreaper

        container, console = self._create(container_id, bundle, options, attached=not detach)
        subreaper = (options is not None and options.subreaper and not detach
                     and not container._inner.has_own_pid_namespace())
        with ChildSubreaper(subreaper) as adopter:
            try:
                container.start()
            except OCIError:
                if console is not None:
                    console.close()
                try:
                    container.delete(force=True)
                except ContainerNotFound:
                    pass  # a failing poststart hook made start delete it (runtime.md step 9)
                raise
            if detach:
                return 0
            status = wait_attached(container, console, adopter)
            if not keep:
                container.delete(force=True)  # then what it killed is reaped on the way out
        return known_status(status, container_id)

    def restore(self, container_id: str, bundle: str, *, image_path: str,
                work_path: str | None = None, console_socket: str | None = None,
                pid_file: str | None = None, detach: bool = False, subreaper: bool = False,
                tcp_established: bool = False, ext_unix_sk: bool = False,
                shell_job: bool = False, file_locks: bool = False,
                manage_cgroups_mode: str = "", empty_ns: "Sequence[str]" = (),
                auto_dedup: bool = False, lazy_pages: bool = False,
                lsm_profile: str | None = None, lsm_mount_context: str | None = None) -> int:
        """Restore the checkpoint in ``image_path`` (see Container.checkpoint) as the running
        container ``container_id`` of ``bundle``, with CRIU (``Runtime(criu=...)``): its
        cgroup and limits, namespaces, mounts, seccomp filter, terminal and process tree.

        Like ``run``: with ``detach`` return 0 once it runs (its init is a child of the caller);
        else wait for it, forwarding signals (``subreaper``: reaping what is orphaned to the
        caller, as run's option), delete it once it has exited and return its exit status.  The
        restored processes' stdin/stdout/stderr pipes (and host files) are the caller's fds
        0-2; a terminal goes to ``console_socket`` (or, attached, is relayed).  The CRIU options
        mean what runc restore's do.  Raises OCIError naming CRIU's log (``work_path`` or
        ``image_path``/restore.log); a failed restore leaves nothing behind."""
        from oci_runtime.container.attached import known_status, wait_attached
        from oci_runtime.container.restore import restore_container
        from oci_runtime.criu.options import RestoreOptions
        from oci_runtime.plan.options import CreateOptions
        from oci_runtime.process.subreaper import ChildSubreaper

        options = RestoreOptions(image_path=image_path, work_path=work_path,
                                 tcp_established=tcp_established, ext_unix_sk=ext_unix_sk,
                                 shell_job=shell_job, file_locks=file_locks,
                                 manage_cgroups_mode=manage_cgroups_mode, empty_ns=empty_ns,
                                 auto_dedup=auto_dedup, lazy_pages=lazy_pages,
                                 lsm_profile=lsm_profile, lsm_mount_context=lsm_mount_context)
        with ChildSubreaper(subreaper and not detach) as adopter:
            try:
                restored = restore_container(
                    self._store, container_id, bundle, options,
                    CreateOptions(pid_file=pid_file, console_socket=console_socket),
                    criu=self.criu, systemd_cgroup=self.systemd_cgroup, rootless=self.rootless,
                    attached=not detach, warn=self._warn, debug=self._debug)
            except OCIError as exc:
                raise _typed(exc) from exc.__cause__
            if detach:
                return 0
            container = Container(self, restored.container)
            status = wait_attached(container, restored.console, adopter)
            container.delete(force=True)  # as runc's restore without --detach
        return known_status(status, container_id)

    def get(self, container_id: str, *, allow_damaged: bool = False) -> "Container":
        """The container ``container_id``; ContainerNotFound if there is none, DamagedState if
        its state.json cannot be read, unless ``allow_damaged``: then a container whose status
        is "unknown" and whose ``damage`` says why (``delete(force=True)`` still removes it)."""
        try:
            return Container(self, StoredContainer.load(self._store, container_id))
        except DamagedState as damage:
            if not allow_damaged:
                raise
            return Container(self, StoredContainer.load_damaged(self._store, container_id,
                                                                 damage))

    def delete(self, container_id: str, *, force: bool = False) -> None:
        """``get(container_id, allow_damaged=True).delete(force=force)`` reading the container's
        state once, under its lock (what `oci-runtime delete` does)."""
        Container(self, StoredContainer(self._store, container_id,
                                        {"id": container_id})).delete(force=force)

    def list(self) -> "list[Container]":
        """Every container under the root, by id."""
        return [Container(self, inner) for inner in list_containers(self._store)]


class Container:
    """One container.  Get it from ``Runtime.create`` or ``Runtime.get``; its status is read from
    the kernel at every call, never cached."""

    def __init__(self, runtime: Runtime, inner: "Any") -> None:
        self._runtime = runtime
        self._inner = inner

    def __repr__(self) -> str:
        return f"<Container {self.id!r} {self.status}>"

    @property
    def id(self) -> str:
        return str(self._inner.id)

    @property
    def pid(self) -> int:
        """The init's host pid (0 before it exists)."""
        return int(self._inner.pid)

    @property
    def damage(self) -> "DamagedState | None":
        """Why this container's state.json cannot be read, or None (see Runtime.get)."""
        damage: DamagedState | None = self._inner.damage
        return damage

    @property
    def status(self) -> str:
        """creating, created, running, paused or stopped."""
        return str(self._inner.status)

    @property
    def bundle(self) -> str:
        return str(self._inner.record.get("bundle", ""))

    def state(self) -> "dict[str, Any]":
        """The runtime-spec state (ociVersion, id, status, pid, bundle, annotations) and runc's
        rootfs, created, owner: what ``oci-runtime state`` prints."""
        return dict(self._inner.state())

    def start(self) -> None:
        """Run the user program of a created container; returns once it is executing (its
        poststart hooks run; one that fails stops and deletes the container, runtime.md).
        InvalidState unless the container is ``created``."""
        self._inner.start(warn=self._runtime._warn)

    def kill(self, signal: str | int = "TERM", all: bool = False) -> None:
        """Send ``signal`` (a name like "TERM"/"SIGKILL" or a number) to the init, or with
        ``all`` to every process in the container's cgroup."""
        if isinstance(signal, str):
            from oci_runtime.kernel.signals import parse_signal

            signal = int(parse_signal(signal))
        self._inner.kill(signal, all)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait until the init exits; its exit status (128+N when killed by signal N).

        Works for any container, through a pidfd.  The status is known when the init is a child
        of this process (it is after ``create`` here): it is reaped then.  For a container
        created by another process (the CLI, another program) the kernel tells only the parent,
        so None is returned once it has exited.  TimeoutError after ``timeout`` seconds."""
        return _wait(self._runtime, self.pid, self._inner.record.get("init_start_time"), timeout)

    def exec(self, args: "list[str] | None" = None, *, process: "dict[str, Any] | None" = None,
             process_source: str | None = None, env: "list[str] | None" = None, cwd: str | None = None, user: str | int | None = None,
             additional_gids: "list[int] | None" = None,
             capabilities: "list[str] | None" = None, no_new_privileges: bool = False,
             tty: bool = False, detach: bool = False, console_socket: str | None = None,
             pid_file: str | None = None, preserve_fds: int = 0, ignore_paused: bool = False,
             cgroups: "list[str] | None" = None, apparmor_profile: str | None = None,
             selinux_label: str | None = None,
             pidfd_socket: str | None = None) -> "int | Process":
        """Run a new process in the (created, running, or with ``ignore_paused`` paused)
        container.

        Either ``args`` (starting from the container's own process section, with ``env``
        entries appended, ``cwd``, ``user`` ("uid[:gid]" or a uid), ``additional_gids``,
        ``capabilities`` added to every set, ``no_new_privileges``, ``tty``), or ``process``: a
        whole config.md process object (then only ``apparmor_profile`` and ``selinux_label`` of
        those overrides apply, as with the CLI's --process; errors in it name
        ``process_source``, default "exec process").  ``cgroups`` are runc's
        ``--cgroup [ctrl:]path`` values.  ``pidfd_socket``: an AF_UNIX socket that receives a
        pidfd of the process (runc's --pidfd-socket).  Attached: wait, forwarding signals as
        ``Runtime.run`` does, and return its exit status.  ``detach``: return a Process once it
        has exec'd."""
        from oci_runtime.container.exec import exec_in_container, saved_config
        from oci_runtime.container.exec_request import (
            ExecRequest, parse_sub_cgroup_arguments, process_from_options,
        )

        sub_cgroups = parse_sub_cgroup_arguments(cgroups)
        config = saved_config(self._inner.store, self.id)
        warn = self._runtime._warn
        if process is None:
            if not args:
                raise OCIError("exec: a command (args) or a process is required")
            process = process_from_options(
                config.get("process") or {}, args=args, cwd=cwd, env=env or (),
                user=None if user is None else str(user),
                additional_gids=None if additional_gids is None else
                [str(gid) for gid in additional_gids],
                capabilities=capabilities or (), no_new_privileges=no_new_privileges, tty=tty,
                warn=warn)
            source, pointer = "config.json", "/process"
        elif args:
            raise OCIError("exec: give either args or a process, not both")
        else:
            process = dict(process)
            source, pointer = process_source or "exec process", ""
        if apparmor_profile:
            process["apparmorProfile"] = apparmor_profile
        if selinux_label:
            process["selinuxLabel"] = selinux_label
        request = ExecRequest(process, detach=detach, pid_file=pid_file,
                              console_socket=console_socket, preserve_fds=preserve_fds,
                              ignore_paused=ignore_paused, sub_cgroups=sub_cgroups,
                              source=source, pointer=pointer, pidfd_socket=pidfd_socket)
        try:
            result = exec_in_container(self._inner, config, request, warn=warn,
                                       debug=self._runtime._debug)
        except OCIError as exc:
            raise _typed(exc) from exc.__cause__
        if detach:
            assert result is not None  # a detached exec returns the process's pid
            return Process(self._runtime, int(result))
        if result is None:
            raise OCIError(f"exec in {self.id!r}: the process exited, but its status was taken "
                           "by another waiter of this process (SIGCHLD ignored, waitpid(-1)?)")
        return int(result)

    def checkpoint(self, image_path: str, *, work_path: str | None = None,
                   parent_path: str | None = None, leave_running: bool = False,
                   pre_dump: bool = False, tcp_established: bool = False,
                   tcp_skip_in_flight: bool = False, link_remap: bool = False,
                   ext_unix_sk: bool = False, shell_job: bool = False,
                   file_locks: bool = False, manage_cgroups_mode: str = "",
                   empty_ns: "Sequence[str]" = (), auto_dedup: bool = False,
                   lazy_pages: bool = False, page_server: str | None = None,
                   status_fd: int = -1) -> None:
        """Save the running (or paused) container's process tree with CRIU into ``image_path``
        (made if missing), for ``Runtime.restore``.  Unless ``leave_running`` or ``pre_dump``,
        the container is then stopped and deleted, as runc checkpoint does.

        ``pre_dump`` saves memory only, for a later checkpoint whose ``parent_path`` (relative
        to its ``image_path``) names it; ``lazy_pages`` leaves memory to be fetched from CRIU's
        page server (``page_server`` "ADDRESS:PORT"; ``status_fd`` gets a NUL byte once it
        listens).  The other options mean what runc checkpoint's do.  InvalidState unless the
        container is running or paused; OCIError naming CRIU's log on failure."""
        from oci_runtime.container.checkpoint import checkpoint_container
        from oci_runtime.criu.options import CheckpointOptions

        options = CheckpointOptions(
            image_path=image_path, work_path=work_path, parent_path=parent_path,
            leave_running=leave_running, pre_dump=pre_dump, tcp_established=tcp_established,
            tcp_skip_in_flight=tcp_skip_in_flight, link_remap=link_remap,
            ext_unix_sk=ext_unix_sk, shell_job=shell_job, file_locks=file_locks,
            manage_cgroups_mode=manage_cgroups_mode, empty_ns=empty_ns, auto_dedup=auto_dedup,
            lazy_pages=lazy_pages, page_server=page_server, status_fd=status_fd)
        checkpoint_container(self._inner, options, self._runtime.criu, warn=self._runtime._warn)

    def pause(self) -> None:
        """Freeze every process of a running container (InvalidState otherwise)."""
        self._inner.pause()

    def resume(self) -> None:
        """Thaw a paused container (InvalidState otherwise)."""
        self._inner.resume()

    def update(self, resources: "dict[str, Any]") -> None:
        """Apply ``resources`` (config-linux.md linux.resources shape) to the container's
        cgroup."""
        self._inner.update(resources)

    def stats(self) -> "dict[str, Any]":
        """The cgroup's statistics, in runc's `events --stats` "data" shape."""
        return dict(self._inner.stats())

    def pids(self) -> "list[int]":
        """Host pids of every process in the container's cgroup, sorted."""
        manager = self._inner._cgroup_manager()
        if manager is None:
            raise OCIError(f"container {self.id!r} has no cgroup to list processes from")
        return sorted(int(pid) for pid in manager.pids())

    def events(self, interval: float = 5.0) -> "Iterator[dict[str, Any]]":
        """Until the container stops: {"type": "stats", "id", "data"} every ``interval``
        seconds, and {"type": "oom", "id"} as soon as an OOM kill happens in its cgroup (one per
        kill, none lost or doubled: the cgroup's counter is the truth)."""
        from oci_runtime.cgroups import manager_from_dict
        from oci_runtime.cgroups.events import stream_events

        if interval <= 0:
            raise OCIError(f"events: interval must be positive, got {interval}")
        saved = self._inner.record.get("cgroup")
        if self.status == "stopped":
            raise InvalidState(f"container {self.id!r} is not running", self.status)
        if not saved:  # rootless without a delegated cgroup
            raise OCIError(f"cannot stream events of container {self.id!r}: it has no cgroup")
        events: "Iterator[dict[str, Any]]" = stream_events(self, manager_from_dict(saved), interval)
        return events

    def delete(self, force: bool = False) -> None:
        """Remove a stopped (or created) container and all that create made; ``force`` kills a
        running or paused one first.  Reaps the init if it is an unreaped child of ours."""
        self._inner.delete(force=force, warn=self._runtime._warn)
        # The record as delete read it under the container's lock.
        record = self._inner.record
        pid = record.get("pid")
        if pid and _exited_child(pid):
            from oci_runtime.process.children import reap_if_ours

            reap_if_ours(pid, record.get("init_start_time"), self._runtime._exit_statuses)


def _exited_child(pid: int) -> bool:
    """Whether ``pid`` is an exited child of this process, left unreaped (one waitid that reaps
    nothing: ECHILD for the init of a container this process did not create)."""
    try:
        return hotpath.waitid(hotpath.P_PID, pid,
                              hotpath.WEXITED | hotpath.WNOHANG | hotpath.WNOWAIT) is not None
    except ChildProcessError:
        return False


class Process:
    """A process started by ``Container.exec(..., detach=True)``; a child of the caller."""

    def __init__(self, runtime: Runtime, pid: int) -> None:
        self._runtime = runtime
        self.pid = pid
        seen = process_start_time(pid)
        self._start_time = seen[1] if seen else None

    def __repr__(self) -> str:
        return f"<Process {self.pid}>"

    def wait(self, timeout: float | None = None) -> int | None:
        """As Container.wait: its exit status, or None if another waiter took it."""
        return _wait(self._runtime, self.pid, self._start_time, timeout)

    def kill(self, signal: str | int = "TERM") -> None:
        """Send ``signal`` to the process, through a pidfd checked against its start time (a
        reused pid is never signalled); quiet if it has exited."""
        from oci_runtime.kernel.signals import parse_signal

        number = int(parse_signal(signal)) if isinstance(signal, str) else signal
        from oci_runtime.process.children import open_pidfd

        pidfd = open_pidfd(self.pid, self._start_time)
        if pidfd is None:
            return
        try:
            hotpath.pidfd_send_signal(pidfd, number)
        except ProcessLookupError:
            pass
        finally:
            hotpath.close(pidfd)


def _typed(error: OCIError) -> OCIError:
    """A plain OCIError naming a config.json pointer (an error frame sent up by the container's
    init or exec'd process) becomes the ConfigError it is; anything else is returned as is."""
    if type(error) is OCIError:
        message = str(error)
        if message.startswith("config.json: /"):
            return ConfigError(message, errno=error.errno)
    return error


def _wait(runtime: Runtime, pid: int, start_time: "int | None",
          timeout: float | None) -> int | None:
    from oci_runtime.process.children import wait_for_pid

    status = wait_for_pid(pid, start_time, timeout, runtime._exit_statuses)
    return None if status is None else int(status)
