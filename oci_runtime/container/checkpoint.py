"""`checkpoint`: a running container's process tree saved by CRIU (runc's checkpoint).

Under the container's lock: the container must be running or paused; CRIU dumps the init's tree
with the container's rootfs as its root, its external mounts and joined namespaces named (so a
restore binds and joins them again), frozen through the container's freezer cgroup.  Unless
``leave_running`` or ``pre_dump``, CRIU kills the tree once it is saved and the container is then
deleted as `delete --force` would (poststop hooks included): runc's semantics.

Besides CRIU's images the image directory gets descriptors.json, runc's list of what the init's
stdin, stdout and stderr were: restore hands its own stdio to the restored tree in their place
(a pipe of conmon's, a /dev/null of the host).
"""
import os

from oci_runtime.errors import InvalidState, OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from oci_runtime.config.model import Config
    from oci_runtime.container.lifecycle import StoredContainer
    from oci_runtime.criu.options import CheckpointOptions

    Warn = Callable[[str], None]

DESCRIPTORS_FILE = "descriptors.json"  # runc's name and format: a JSON list, one entry per fd
DUMP_LOG = "dump.log"
# Joined namespaces CRIU treats as external: it records them by inode and, at restore, takes an
# fd of the namespace to use under the same key (runc's keys, so images are interchangeable).
EXTERNAL_NAMESPACE_KEYS = {"network": ("net", "extRootNetNS"), "pid": ("pid", "extRootPidNS")}
# runc's CRIU configuration file, read unless the annotation org.criu.config says otherwise.
DEFAULT_CRIU_CONFIG = "/etc/criu/runc.conf"
CRIU_CONFIG_ANNOTATION = "org.criu.config"


def stored_config(container: "StoredContainer") -> "Config":
    """The config the container was created (or restored) from, with its paths resolved."""
    from oci_runtime.config.load import parse_config
    from oci_runtime.container.store import CONFIG_FILE

    with open(f"{container.dir}/{CONFIG_FILE}", "rb") as saved:
        config = parse_config(saved.read().decode())
    config.resolve_paths(container.record["bundle"])
    return config


def criu_config_file(config: "Config") -> str | None:
    """runc's rule: the annotation org.criu.config names CRIU's configuration file ("" for
    none); without it, /etc/criu/runc.conf (CRIU ignores a file that does not exist)."""
    if CRIU_CONFIG_ANNOTATION in config.annotations:
        return config.annotations[CRIU_CONFIG_ANNOTATION] or None
    return DEFAULT_CRIU_CONFIG


def checkpoint_container(container: "StoredContainer", options: "CheckpointOptions",
                         criu: str, warn: "Warn | None" = None) -> None:
    """Checkpoint ``container`` into ``options.image_path`` (runc's checkpoint)."""
    lock = container.store.lock(container.id)
    try:
        container.record = container.store.load(container.id)
        status = container.status
        if status not in ("running", "paused"):
            raise InvalidState(f"Container cannot be checkpointed in {status} state", status)
        _dump(container, stored_config(container), options, criu, warn)
        if not options.leave_running and not options.pre_dump:
            container._delete_locked(force=True, warn=warn)
    finally:
        os.close(lock)


def _dump(container: "StoredContainer", config: "Config", options: "CheckpointOptions",
          criu: str, warn: "Warn | None") -> None:
    from oci_runtime.criu.mounts import external_mounts
    from oci_runtime.criu.swrk import Swrk
    from oci_runtime.kernel.files import make_directories

    for path, what in ((options.image_path, "--image-path"), (options.work_path, "--work-path")):
        if path:
            try:
                make_directories(path, 0o700)
            except OSError as exc:
                raise OCIError.from_os(f"{what} {path}", exc) from None
    if options.parent_path:
        parent = os.path.join(options.image_path, options.parent_path)
        if not os.path.isdir(parent):
            raise OCIError(f"invalid --parent-path: {parent}: not a directory")
    if options.status_fd != -1:
        _check_writable_fd(options.status_fd)
    opts = options.criu_opts()
    opts.update(pid=container.pid, root=config.root_path, log_file=DUMP_LOG,
                config_file=criu_config_file(config))
    opts["external"] = _external_namespaces(config)
    freezer = container.record.get("freezer_state_file")
    if freezer:
        opts["freeze_cgroup"] = os.path.dirname(freezer)
    if not options.pre_dump:
        manager = container._cgroup_manager()
        opts["ext_mnt"] = [{"key": key, "val": key} for key, _ in external_mounts(config, manager)]
        descriptors, external_files = stdio_descriptors(container.pid)
        opts["external"] += external_files
        from oci_runtime.kernel.files import write_atomically
        from oci_runtime.kernel.hotpath import dumps

        write_atomically(f"{options.image_path}/{DESCRIPTORS_FILE}", dumps(descriptors).encode())
    log_path = f"{options.log_directory}/{DUMP_LOG}"
    directory_fds = []
    try:
        for key, path in (("images_dir_fd", options.image_path), ("work_dir_fd", options.work_path)):
            if path:
                # CRIU opens /proc/<our pid>/fd/N: the fds stay ours.
                directory_fds.append(os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
                opts[key] = directory_fds[-1]
        with Swrk(criu) as session:
            session.check_version()
            wanted = {}
            if options.pre_dump or options.parent_path:  # runc asks for mem_track with either
                wanted["mem_track"] = "--pre-dump" if options.pre_dump else "--parent-path"
            if options.lazy_pages:
                wanted["lazy_pages"] = "--lazy-pages"
            session.require(wanted)
            status_fd = options.status_fd

            def on_notify(script: str, _pid: int, fd: int | None) -> None:
                nonlocal status_fd
                if fd is not None:
                    os.close(fd)
                if script == "status-ready" and status_fd != -1:
                    # CRIU's lazy-pages server listens: tell whoever waits on --status-fd.
                    try:
                        os.write(status_fd, b"\0")
                    finally:
                        os.close(status_fd)
                        status_fd = -1

            thaw = _freeze_first(container)
            try:
                session.request("SINGLE_PRE_DUMP" if options.pre_dump else "DUMP", opts,
                                on_notify, log_path)
            finally:
                if thaw is not None:
                    thaw()  # CRIU leaves the cgroup frozen as it found it
    finally:
        for fd in directory_fds:
            os.close(fd)


def _freeze_first(container: "StoredContainer") -> "Callable[[], None] | None":
    """Freeze the container's cgroup before CRIU does; returns how to thaw it again (None when
    it was paused already, or has no freezer).

    CRIU freezes a cgroup by writing the freezer state and checking it every 100 ms: on this
    host's kernels a freeze takes about a millisecond, so it always waits the whole 100 ms.  A
    cgroup found frozen is seized at once (CRIU then thaws it itself once the tasks are held
    by ptrace, and leaves it as it found it).  The freeze waits here with our 1 ms polling."""
    manager = container._cgroup_manager()
    if manager is None or not container.record.get("freezer_state_file"):
        return None
    if manager.is_frozen():
        return None  # paused: CRIU leaves it paused, as runc's checkpoint does
    manager.freeze()
    return manager.thaw


def _external_namespaces(config: "Config") -> "list[str]":
    """CRIU's --external for each joined network and pid namespace: "net[<inode>]:extRootNetNS"."""
    external = []
    for ns_type, (criu_name, key) in EXTERNAL_NAMESPACE_KEYS.items():
        namespace = config.linux.namespaces.get(ns_type)
        if namespace is None or not namespace.path:
            continue
        try:
            inode = os.stat(namespace.path).st_ino
        except OSError as exc:
            raise OCIError.from_os(f"config.json: /linux/namespaces ({ns_type}): "
                                   f"{namespace.path}", exc) from None
        external.append(f"{criu_name}[{inode}]:{key}")
    return external


def stdio_descriptors(pid: int) -> "tuple[list[str], list[str]]":
    """(descriptors.json's entries, CRIU --external entries) for the init's fds 0-2.

    An entry is what /proc/<pid>/fd/N links to ("pipe:[123]", "/dev/null"), as runc records.  A
    file on a mount outside the container (the host's /dev/null a detached create passed on, a
    log file) cannot be reopened by CRIU from inside: it is dumped as external
    ("file[<mount id>:<inode>]", hex) and that key is the entry, so restore hands its own fd N
    in its place, as it does for pipes."""
    own_mounts = _mount_ids(pid)
    entries: "list[str]" = []
    external: "list[str]" = []
    for fd in range(3):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            entries.append("")
            continue
        if target.startswith("/"):
            mount_id = _fdinfo_mount_id(pid, fd)
            if mount_id is not None and mount_id not in own_mounts:
                key = f"file[{mount_id:x}:{os.stat(f'/proc/{pid}/fd/{fd}').st_ino:x}]"
                if key not in external:
                    external.append(key)
                target = key
        entries.append(target)
    return entries, external


def _mount_ids(pid: int) -> "set[int]":
    from oci_runtime.kernel.mountinfo import entries

    return {entry.mount_id for entry in entries(f"/proc/{pid}/mountinfo")}


def _fdinfo_mount_id(pid: int, fd: int) -> int | None:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as info:
            for line in info:
                if line.startswith("mnt_id:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _check_writable_fd(fd: int) -> None:
    import fcntl

    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError as exc:
        raise OCIError(f"invalid --status-fd argument {fd}: {exc.strerror}") from None
    if not flags & (os.O_WRONLY | os.O_RDWR):
        raise OCIError(f"invalid --status-fd argument {fd}: not writable")


def image_descriptors(image_path: str) -> "list[str]":
    """descriptors.json of an image directory ([] when there is none, as after a pre-dump)."""
    from oci_runtime.kernel.hotpath import loads

    try:
        with open(f"{image_path}/{DESCRIPTORS_FILE}", "rb") as descriptors:
            entries: "Any" = loads(descriptors.read())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise OCIError(f"{image_path}/{DESCRIPTORS_FILE}: cannot read: {exc}") from None
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise OCIError(f"{image_path}/{DESCRIPTORS_FILE}: not a list of strings")
    return entries
