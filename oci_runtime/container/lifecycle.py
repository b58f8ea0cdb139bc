"""Containers as objects over the state store: the layer under the Python API (oci_runtime.container.api).

`state`, `start` and `kill` are the hot path (callers make them for every container): they use
only the state store and os-level calls.  `create` and `delete` import the heavier layers (config
validation, rootfs, cgroups, hooks) inside the methods that need them.
"""
from oci_runtime.errors import DamagedState, InvalidState, OCIError
from oci_runtime.kernel import hotpath  # not os: see its docstring
from oci_runtime.kernel.files import pidfd_of
from oci_runtime.container.store import (
    CRIU_ROOT, SECCOMP_LISTENER_MESSAGE, START_RELEASED, START_REQUEST, START_SOCKET, StateStore,
    derive_status, init_alive, is_frozen, public_state, start_socket_address,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable
    from socket import socket
    from typing import Any

    from oci_runtime.cgroups.base import CgroupManager
    from oci_runtime.container.store import Record

    Warn = Callable[[str], None]


class StoredContainer:
    """A container of the state store, as the runtime acts on it; the Python API's Container
    (api.py) wraps one for callers."""

    # The DamagedState of a container whose state.json cannot be read (see load_damaged).
    damage: "DamagedState | None" = None

    def __init__(self, store: StateStore, container_id: str, record: "Record") -> None:
        self.store = store
        self.id = container_id
        self.record = record
        self.dir = store.container_dir(container_id)

    @classmethod
    def load(cls, store: StateStore, container_id: str) -> "StoredContainer":
        return cls(store, container_id, store.load(container_id))

    @classmethod
    def load_damaged(cls, store: StateStore, container_id: str,
                     damage: DamagedState) -> "StoredContainer":
        """A container whose state.json is damaged: its status is "unknown", and its record is
        what state.json.backup holds (the init and cgroup `delete --force` must kill), if any."""
        container = cls(store, container_id,
                        store.load_backup(container_id) or {"id": container_id})
        container.damage = damage
        return container

    @property
    def status(self) -> str:
        if self.damage is not None:
            return "unknown"
        return derive_status(self.record, self.dir)

    @property
    def pid(self) -> int:
        pid: int = self.record.get("pid") or 0
        return pid

    def state(self) -> "dict[str, Any]":
        return public_state(self.record, self.status)

    # -- start ---------------------------------------------------------------------------------

    def start(self, warn: "Warn | None" = None) -> None:
        """Release the init blocked in create; returns once the init is past everything that can
        fail but the execve of the user program (as runc's start): the program may not be in
        place yet when this returns (/proc/<pid>/cmdline is still the init's, or empty).

        A failing poststart hook fails start (runtime.md lifecycle step 9): the container is
        stopped and deleted, poststop hooks included (steps 12-13; ``warn`` reports their
        failures), so it no longer exists afterwards."""
        lock = self.store.lock(self.id)
        try:
            status = self.status
            if status != "created":
                raise InvalidState(f"cannot start a container that is {status} "
                                   f"(only a created container can be started)", status)
            connection = hotpath.socket(hotpath.AF_UNIX, hotpath.SOCK_STREAM)
            address, directory_fd = start_socket_address(self.dir)
            try:
                connection.connect(address)
                connection.sendall(START_REQUEST)
                # The init closes this connection by exec'ing (close-on-exec), or sends why not.
                reply = self._receive_start_reply(connection)
            except (BrokenPipeError, ConnectionError) as exc:
                # Not our stdout: the init went away between the status check and its reply.
                raise OCIError(f"container {self.id!r}: its init exited before it started "
                               f"({exc.strerror})", exc.errno or 0) from None
            finally:
                connection.close()
                if directory_fd >= 0:
                    hotpath.close(directory_fd)
            # Tidying only: `created` ended when the init's execve closed its listening socket.
            try:
                hotpath.unlink(f"{self.dir}/{START_SOCKET}")
            except FileNotFoundError:
                pass
            if reply:
                raise OCIError(reply.decode(errors="replace"))
            hooks = self.record.get("hooks") or {}
            if hooks.get("poststart"):
                from oci_runtime.hooks.runner import hook_state, run_hooks

                state = hook_state(self.id, "running", self.pid, self.record["bundle"],
                                   self.record.get("annotations"))
                try:
                    run_hooks(hooks, "poststart", state)
                except OCIError:
                    try:
                        self._delete_locked(force=True, warn=warn)
                    except OCIError as exc:  # the hook's failure is the one to report
                        if warn is not None:
                            warn(f"deleting the container after its poststart hook failed: {exc}")
                    raise
        finally:
            hotpath.close(lock)

    def _receive_start_reply(self, connection: "socket") -> bytes:
        """b"" once the init is past everything that can fail but execve, else why it failed.

        The init sends START_RELEASED just before execve, or one line saying why not; the
        connection is close-on-exec, so EOF alone also means it reached execve.  With a seccomp
        notify listener its fd comes too (SCM_RIGHTS, before or after the release byte) and is
        handed to the agent at listenerPath."""
        listener = self.record.get("seccomp_listener")
        reply = b""
        while True:
            if listener:
                from oci_runtime.kernel.fdpass import receive_with_fd

                data, listener_fd = receive_with_fd(connection, 4096)
                if listener_fd is not None:
                    self._send_seccomp_listener(listener, listener_fd)
                    data = data.replace(SECCOMP_LISTENER_MESSAGE, b"", 1)
                    listener = None
                elif not data:
                    return b"" if reply.startswith(START_RELEASED) else reply
            else:
                data = connection.recv(4096)
                if not data:
                    return b"" if reply.startswith(START_RELEASED) else reply
            reply += data
            if reply.startswith(START_RELEASED) and not listener:
                return b""

    def _send_seccomp_listener(self, listener: "dict[str, str]", listener_fd: int,
                               process_pid: int | None = None) -> None:
        """Forward a listener fd to the agent; ``process_pid`` is an exec'd process's host pid.

        The init's message says "creating", as runc's and crun's do (they load the filter during
        create; agents written for them expect it); an exec'd process's, "running"."""
        from oci_runtime.seccomp import send_listener_fd

        try:
            state = public_state(self.record, "running")
            if not process_pid:
                state["status"] = "creating"  # with the init's pid, as runc's
            send_listener_fd(listener["path"], listener_fd, state, listener.get("metadata", ""),
                             process_pid=process_pid)
        finally:
            hotpath.close(listener_fd)

    # -- kill ----------------------------------------------------------------------------------

    def kill(self, signal_number: int, all_processes: bool = False) -> None:
        """Signal the init, or with ``all_processes`` every process of the container's cgroup.

        As runc: without --all, a container whose init has exited is an error that says
        "container not running" (containerd's shim matches those words and takes the process as
        gone).  With --all the status does not matter: containerd's shim calls `kill --all ID 9`
        after the init of a container sharing a pid namespace exited, to kill what is left in
        its cgroup; whatever is there is signalled, and nothing left is success.  A SIGKILL to
        a paused container thaws it, as runc's does: a frozen task dies only once thawed.

        Created, running and paused are signalled alike, so which of them it is is never asked
        (but whether it is paused, for a SIGKILL): a pidfd of the init, then one read of its
        /proc stat says it is the recorded process and alive."""
        lock = self.store.lock(self.id)
        try:
            if self.record.get("status") == "creating" and self.status == "creating":
                raise InvalidState(f"container not running: {self.id!r} is being created",
                                   "creating")
            pidfd = self._init_pidfd()
            try:
                if all_processes:
                    self._signal_cgroup(signal_number, pidfd)
                    return
                if pidfd is None:
                    raise InvalidState(f"container not running: {self.id!r} is stopped",
                                       "stopped")
                if signal_number == hotpath.SIGKILL and not self.has_own_pid_namespace():
                    self._signal_cgroup(signal_number, pidfd)
                    return
                thaw = signal_number == hotpath.SIGKILL and is_frozen(self.record)
                self._send(pidfd, signal_number)
                if thaw:
                    manager = self._cgroup_manager()
                    if manager is not None:
                        manager.thaw()
            finally:
                if pidfd is not None:
                    hotpath.close(pidfd)
        finally:
            hotpath.close(lock)

    def _signal_cgroup(self, signal_number: int, pidfd: int | None) -> None:
        """--all: every process of the cgroup (the cgroup's freezer keeps a paused container
        paused, except for SIGKILL); without a cgroup (rootless, none delegated) the init is
        the one process the runtime can name (``pidfd``, None when it is not alive)."""
        manager = self._cgroup_manager()
        if manager is not None and manager.exists():
            manager.kill_all(signal_number)
        elif pidfd is not None:
            self._send(pidfd, signal_number)

    def has_own_pid_namespace(self) -> bool:
        """Whether the init is pid 1 of a pid namespace of its own, so that the kernel kills
        every other process of the container when it dies.  Sharing the host's (or joining
        another by path), it does not: a SIGKILL then goes to every process of the cgroup,
        frozen first so none forks away (runc's signalAllProcesses)."""
        namespaces = self.record.get("namespaces") or {}
        return "pid" in namespaces and not namespaces["pid"]

    def _init_pidfd(self) -> int | None:
        """A pidfd of the recorded init while it is alive, or None.  Its start time is checked
        after the pidfd is open, so a pid reused since the container exited is never
        signalled."""
        if not self.pid:
            return None
        pidfd = pidfd_of(self.pid)
        if pidfd is None:
            return None
        if not init_alive(self.record):
            hotpath.close(pidfd)
            return None
        return pidfd

    def _send(self, pidfd: int, signal_number: int) -> None:
        try:
            hotpath.pidfd_send_signal(pidfd, signal_number)
        except ProcessLookupError:
            raise OCIError(f"container {self.id!r}: no such process") from None

    # -- pause / resume / update / stats (the cgroup's side of a container) -------------------

    def pause(self) -> None:
        self._freeze(True)

    def resume(self) -> None:
        self._freeze(False)

    def _freeze(self, freeze: bool) -> None:
        lock = self.store.lock(self.id)
        try:
            status = self.status
            wanted, verb = ("running", "pause") if freeze else ("paused", "resume")
            if status != wanted:
                raise InvalidState(f"cannot {verb} container {self.id!r}: it is {status}, "
                                   f"not {wanted}", status)
            manager = self._cgroup_manager()
            if manager is None:
                raise OCIError(f"cannot {verb} container {self.id!r}: it has no cgroup")
            manager.freeze() if freeze else manager.thaw()
        finally:
            hotpath.close(lock)

    def update(self, resources: "dict[str, Any]") -> None:
        lock = self.store.lock(self.id)
        try:
            status = self.status
            if status not in ("created", "running", "paused"):
                raise InvalidState(f"cannot update container {self.id!r}: it is {status}",
                                   status)
            manager = self._cgroup_manager()
            if manager is None:
                raise OCIError(f"cannot update container {self.id!r}: it has no cgroup")
            manager.update(_with_container_device_rules(resources))
        finally:
            hotpath.close(lock)

    def stats(self) -> "dict[str, Any]":
        manager = self._cgroup_manager()
        status = self.status
        if status == "stopped":
            raise InvalidState(f"container {self.id!r} is not running", status)
        if manager is None:  # rootless without a delegated cgroup
            raise OCIError(f"cannot read statistics of container {self.id!r}: it has no cgroup")
        stats: "dict[str, Any]" = manager.stats()
        return stats

    # -- delete --------------------------------------------------------------------------------

    def delete(self, force: bool = False, warn: "Warn | None" = None) -> None:
        """Remove the container and everything create made.  With ``force`` this always ends
        with nothing left: the init and every process of its cgroup SIGKILLed, the cgroup and the
        directory removed, even for a container whose state.json is damaged (then killed by what
        state.json.backup records).  ContainerNotFound if another delete removed it first."""
        lock = self.store.lock(self.id)
        try:
            self._delete_locked(force, warn)
        finally:
            hotpath.close(lock)

    def _delete_locked(self, force: bool, warn: "Warn | None") -> None:
        """delete's work, under the container's lock (taken by delete, or by start when a
        poststart hook failed)."""
        # Read again under the lock: a kill, start or delete may have been first.
        try:
            self.record, self.damage = self.store.load(self.id), None
        except DamagedState as damage:
            if not force:
                raise OCIError(f"{damage}; `delete --force` removes it") from None
            self.record = self.store.load_backup(self.id) or {"id": self.id}
            self.damage = damage
        status = derive_status(self.record, self.dir)
        if status == "creating" and (self.record.get("creator_pid") or not force):
            # Its create is still at work (a dead creator reads as stopped, see state.py).
            raise InvalidState(f"cannot delete container {self.id!r}: it is being created",
                               status)
        if status in ("running", "paused") and not force:
            raise InvalidState(f"cannot delete container {self.id!r} that is {status}: "
                               "stop it first or use --force", status)
        # The common case, a stopped container, costs one rmdir per cgroup directory: its init
        # is gone and, unless something is left in its cgroup (EBUSY), so is everything else.
        if status != "stopped" or not self._remove_empty_cgroup():
            self._kill_and_remove_cgroup(status)
        if self.record.get("network_record", True):
            from oci_runtime import network

            # CNI DEL; a failure stops a plain delete (to be retried), --force only warns.
            network.detach(self.dir, warn=(warn or (lambda message: None)) if force else None)
        if "host_mounts_before" in self.record:
            # No mount namespace: the container's mounts are on the host, under its rootfs.
            from oci_runtime.rootfs.leftover_mounts import remove_container_mounts

            remove_container_mounts(self.record["rootfs"], self.record["host_mounts_before"],
                                    warn)
        if self.record.get("status") == "creating" or self.damage is not None:
            # Only a create or restore that died half-way (its record still the early one) can
            # have left something mounted in the state directory.
            self._detach_criu_root()
        hooks = self.record.get("hooks") or {}
        if hooks.get("poststop"):
            from oci_runtime.hooks.runner import hook_state, run_hooks

            state = hook_state(self.id, "stopped", 0, self.record.get("bundle", ""),
                               self.record.get("annotations"))
            run_hooks(hooks, "poststop", state, warn=warn or (lambda message: None))
        self.store.remove(self.id)

    def _remove_empty_cgroup(self) -> bool:
        """rmdir of the cgroup directories create made, as recorded (no hierarchy probed);
        False when that is not enough (a process or a child cgroup left in one, a systemd
        unit): then _kill_and_remove_cgroup does the rest."""
        saved = self.record.get("cgroup")
        if not saved:
            return True
        from oci_runtime.cgroups import remove_empty

        return remove_empty(saved)

    def _kill_and_remove_cgroup(self, status: str) -> None:
        """What delete does to a container that is not stopped (created: runc deletes those
        without --force; forced), or stopped with stragglers (a shared pid namespace, a create
        that died half-way): nothing may survive."""
        manager = self._cgroup_manager()
        if manager is not None:
            if status == "paused":
                manager.thaw()
            manager.remove_after_kill()
        pidfd = self._init_pidfd()  # no cgroup, or not placed in it yet
        if pidfd is not None:
            try:
                self._send(pidfd, hotpath.SIGKILL)
            except OCIError:
                pass
            finally:
                hotpath.close(pidfd)
        self._wait_for_init_exit()

    def _detach_criu_root(self) -> None:
        """A restore killed while CRIU ran (SIGKILL: nothing undone) leaves the rootfs bound at
        <state dir>/criu-root: detached here, or the directory could not be removed."""
        from oci_runtime.kernel.files import is_directory

        criu_root = f"{self.dir}/{CRIU_ROOT}"
        if not is_directory(criu_root):
            return
        from oci_runtime.kernel import syscalls as kernel

        try:
            kernel.umount2(criu_root, kernel.MNT_DETACH | kernel.UMOUNT_NOFOLLOW)
        except OSError:
            pass  # not mounted: an empty directory, removed with the rest

    def check_networks(self) -> None:
        """CNI CHECK of the networks the container was given; raises OCIError if one fails."""
        from oci_runtime import network

        if self.status == "stopped":
            raise OCIError(f"container {self.id!r} is not running")
        network.check(self.dir)

    def _wait_for_init_exit(self, timeout: float = 10.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while init_alive(self.record):
            if time.monotonic() > deadline:
                raise OCIError(f"container {self.id!r}: init {self.pid} did not exit after SIGKILL")
            time.sleep(0.002)

    def _cgroup_manager(self) -> "CgroupManager | None":
        saved = self.record.get("cgroup")
        if not saved:
            return None
        from oci_runtime.cgroups import manager_from_dict

        return manager_from_dict(saved)


def list_containers(store: StateStore) -> "list[StoredContainer]":
    """Every container under the store's root; one whose state.json is damaged is listed with
    status "unknown" and its ``damage`` set (the caller warns), never hiding the others."""
    containers: "list[StoredContainer]" = []
    for container_id in store.list_ids():
        try:
            containers.append(StoredContainer.load(store, container_id))
        except DamagedState as damage:
            containers.append(StoredContainer.load_damaged(store, container_id, damage))
        except OCIError:
            continue  # removed while listing
    return containers


def _with_container_device_rules(resources: "dict[str, Any]") -> "dict[str, Any]":
    """``update``'s resources, with ``devices`` (when given) replacing the container's
    linux.resources.devices: the cgroup gets the same rules create gives (deny all, these,
    the devices every container may use), never the bare list, which on cgroup v2 would start
    from allow-all.  Without ``devices`` the device rules are left as they are (runc never
    changes them on update, so rules a device plugin added survive a memory update)."""
    if "devices" not in resources:
        return resources
    from oci_runtime.cgroups.controllers.devices import container_device_rules
    from oci_runtime.userns.rootless import is_rootless

    if is_rootless():
        raise OCIError("update: /devices: a rootless container has no device rules (its "
                       "devices are the host's nodes bound in); they cannot be changed")
    if not isinstance(resources["devices"], list):
        raise OCIError(f"update: /devices: expected an array, got {resources['devices']!r}")
    return {**resources, "devices": container_device_rules(resources["devices"])}


__all__ = ["StoredContainer", "StateStore", "list_containers"]
