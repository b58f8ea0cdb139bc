"""OCI image layouts written from files, with no registry access: what `skopeo copy oci:DIR:TAG
docker://...` pushes to the tests' local registry (tests/e2e/cri_images.py says which images).

A layer is a list of entries (Entry: a file's bytes or a host file, a directory, a hard link or
a symlink, with mode and owner); an image is layers plus its config (Env, Entrypoint, Cmd, User,
ExposedPorts).  Layers are written once per layout and shared by the images that name them
(blobs are content-addressed), as a registry shares them."""
import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field

ARCHITECTURE = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
# Fixed times and compression level: the same files always make the same digests.
EPOCH = 1_600_000_000


@dataclass(frozen=True)
class Entry:
    path: str                   # inside the image, no leading slash
    kind: str = "file"          # file, dir, hardlink, symlink
    data: bytes | None = None   # a file's contents, or ...
    source: str | None = None   # ... a host file to copy (its contents; mode from `mode`)
    target: str = ""            # what a hardlink or symlink points to
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


@dataclass
class Image:
    layers: list                # of lists of Entry
    config: dict = field(default_factory=dict)


def directory(path, mode=0o755):
    return Entry(path, "dir", mode=mode)


def text_file(path, text, mode=0o644):
    return Entry(path, "file", data=text.encode(), mode=mode)


def host_file(path, source, mode=0o755, uid=0, gid=0):
    return Entry(path, "file", source=source, mode=mode, uid=uid, gid=gid)


def layer_tar(entries):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.path)
            info.mode, info.uid, info.gid, info.mtime = entry.mode, entry.uid, entry.gid, EPOCH
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.kind in ("hardlink", "symlink"):
                info.type = tarfile.LNKTYPE if entry.kind == "hardlink" else tarfile.SYMTYPE
                info.linkname = entry.target
                tar.addfile(info)
            else:
                data = entry.data
                if data is None:
                    with open(entry.source, "rb") as source:
                        data = source.read()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Layout:
    """One OCI image layout directory: blobs, index.json with a ref name per tagged image."""

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "w") as marker:
            marker.write('{"imageLayoutVersion": "1.0.0"}')
        self.manifests = []
        self._layers = {}   # id(entries list) -> (descriptor, diff_id)

    def _blob(self, data, media_type):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.path, "blobs", "sha256", digest[7:]), "wb") as blob:
            blob.write(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def _layer(self, entries):
        key = id(entries)
        if key not in self._layers:
            tar = layer_tar(entries)
            diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
            compressed = gzip.compress(tar, compresslevel=6, mtime=0)
            descriptor = self._blob(compressed, "application/vnd.oci.image.layer.v1.tar+gzip")
            self._layers[key] = (descriptor, diff_id)
        return self._layers[key]

    def add(self, tag, image):
        """Write `image` and name it `tag` in index.json (the oci:DIR:TAG reference)."""
        layers = [self._layer(entries) for entries in image.layers]
        config = {
            "architecture": ARCHITECTURE,
            "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                       **image.config},
            "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in layers]},
        }
        config_descriptor = self._blob(json.dumps(config, sort_keys=True).encode(),
                                       "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config_descriptor, "layers": [d for d, _ in layers]}
        descriptor = self._blob(json.dumps(manifest, sort_keys=True).encode(),
                                "application/vnd.oci.image.manifest.v1+json")
        descriptor["annotations"] = {"org.opencontainers.image.ref.name": tag}
        self.manifests.append(descriptor)
        with open(os.path.join(self.path, "index.json"), "w") as index:
            json.dump({"schemaVersion": 2, "manifests": self.manifests}, index)
        return descriptor["digest"]
