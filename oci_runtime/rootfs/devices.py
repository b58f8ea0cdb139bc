"""Device nodes in the container's /dev: the spec's defaults plus linux.devices."""
import os
import stat

from oci_runtime import kernel
from oci_runtime.errors import OCIError
from oci_runtime.rootfs.paths import fd_path, make_dirs_in_root, make_file_in_root

# config-linux.md "Default Devices": the runtime MUST supply these.
DEFAULT_DEVICES = (
    {"path": "/dev/null", "type": "c", "major": 1, "minor": 3},
    {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5},
    {"path": "/dev/full", "type": "c", "major": 1, "minor": 7},
    {"path": "/dev/random", "type": "c", "major": 1, "minor": 8},
    {"path": "/dev/urandom", "type": "c", "major": 1, "minor": 9},
    {"path": "/dev/tty", "type": "c", "major": 5, "minor": 0},
)

_TYPE_BITS = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}

# runtime-linux.md "Dev symbolic links", plus /dev/ptmx pointing at the container's own devpts.
DEV_SYMLINKS = (
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
)


def devices_to_create(config_devices):
    """Defaults first, then linux.devices; a configured path replaces the default one."""
    configured = {device["path"] for device in config_devices}
    merged = [dict(d, fileMode=0o666) for d in DEFAULT_DEVICES if d["path"] not in configured]
    return merged + [dict(d, pointer=f"/linux/devices/{i}") for i, d in enumerate(config_devices)]


def create_devices(root_fd, config_devices, bind_from_host):
    """Create every device node; with ``bind_from_host`` (inside a user namespace, where mknod is
    not allowed) bind-mount the host's node instead, as runc does."""
    old_umask = os.umask(0)
    try:
        for device in devices_to_create(config_devices):
            try:
                if bind_from_host:
                    _bind_host_device(root_fd, device)
                else:
                    _make_node(root_fd, device)
            except OSError as exc:
                where = device.get("pointer", device["path"])
                raise OCIError.from_os(f"creating device {device['path']} ({where})", exc) from exc
    finally:
        os.umask(old_umask)


def _make_node(root_fd, device):
    parent, _, name = device["path"].rstrip("/").rpartition("/")
    parent_fd = make_dirs_in_root(root_fd, parent)
    try:
        mode = (device.get("fileMode") or 0o666) & 0o7777
        kind = _TYPE_BITS.get(device["type"])
        if kind is None:
            raise OCIError(f"config.json: {device.get('pointer')}/type: unknown device type "
                           f"{device['type']!r} (one of c, b, u, p)")
        number = os.makedev(device.get("major", 0), device.get("minor", 0))
        try:
            os.mknod(name, mode | kind, number, dir_fd=parent_fd)
        except FileExistsError:
            existing = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
            if stat.S_IFMT(existing.st_mode) != kind or existing.st_rdev != number:
                # config-linux.md: a file at the path that does not match the requested device
                # MUST be an error (the image's file is not ours to replace).
                where = device.get("pointer", "/linux/devices")
                raise OCIError(f"config.json: {where}: {device['path']} exists in the rootfs "
                               f"and is not the requested device ({device['type']} "
                               f"{device.get('major', 0)}:{device.get('minor', 0)})")
        os.chmod(name, mode, dir_fd=parent_fd)
        os.chown(name, device.get("uid", 0), device.get("gid", 0), dir_fd=parent_fd,
                 follow_symlinks=False)
    finally:
        os.close(parent_fd)


def _bind_host_device(root_fd, device):
    target_fd = make_file_in_root(root_fd, device["path"], 0o600)
    try:
        kernel.mount(device["path"], fd_path(target_fd), None, kernel.MS_BIND)
    finally:
        os.close(target_fd)


def create_dev_symlinks(root_fd, with_ptmx):
    dev_fd = make_dirs_in_root(root_fd, "/dev")
    try:
        links = list(DEV_SYMLINKS)
        if with_ptmx:
            # The container's ptys come from its own devpts instance, not the host's /dev/ptmx.
            try:
                os.unlink("ptmx", dir_fd=dev_fd)
            except FileNotFoundError:
                pass
            links.append(("pts/ptmx", "ptmx"))
        for source, name in links:
            try:
                os.symlink(source, name, dir_fd=dev_fd)
            except FileExistsError:
                pass  # the image or a mount already provides it
    finally:
        os.close(dev_fd)
