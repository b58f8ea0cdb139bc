"""A busybox root filesystem and image archives built from it, with no registry access.

`rootfs_tar` is what `podman import` takes; `oci_archive` is an OCI image layout tarball that
`ctr images import` takes (one uncompressed layer, written by hand so no tool is needed)."""
import hashlib
import io
import json
import os
import shutil
import tarfile
import time

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
APPLETS = ("sh", "ls", "cat", "echo", "sleep", "true", "false", "id", "hostname", "ps", "tty",
           "grep", "test", "kill", "env", "pwd", "mkdir", "touch", "head", "wc")


def busybox_available():
    return os.path.exists(BUSYBOX)


def rootfs_tar(path):
    """A tar of the busybox rootfs (entries relative to /)."""
    with tarfile.open(path, "w") as tar:
        for directory in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "run"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755, time.time()
            tar.addfile(info)
        tar.add(BUSYBOX, "bin/busybox")
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(info)
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                           ("etc/group", "root:x:0:\n"),
                           ("etc/hostname", "busybox\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def _blob(tar, data):
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo(f"blobs/sha256/{digest}")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    return f"sha256:{digest}", len(data)


def oci_archive(path, reference, workdir):
    """An OCI image layout tar holding one image named `reference` (e.g. docker.io/x/bb:1)."""
    layer_path = rootfs_tar(os.path.join(workdir, "layer.tar"))
    with open(layer_path, "rb") as layer_file:
        layer = layer_file.read()
    with tarfile.open(path, "w") as tar:
        layer_digest, layer_size = _blob(tar, layer)
        config = {
            "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine,
                                                                        os.uname().machine),
            "os": "linux",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        }
        config_digest, config_size = _blob(tar, json.dumps(config).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer_digest, "size": layer_size}],
        }
        manifest_digest, manifest_size = _blob(tar, json.dumps(manifest).encode())
        index = {
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": manifest_digest, "size": manifest_size,
                           "annotations": {"io.containerd.image.name": reference,
                                           "org.opencontainers.image.ref.name": reference}}],
        }
        for name, data in (("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
                           ("index.json", json.dumps(index).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def unmount_under(directory):
    """Lazily unmount whatever is still mounted below `directory` (deepest first)."""
    directory = os.path.realpath(directory)
    points = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].replace("\\040", " ")
            if point == directory or point.startswith(directory + "/"):
                points.append(point)
    for point in sorted(points, key=len, reverse=True):
        os.system(f"umount -l '{point}' 2>/dev/null")


