"""The default config.json `spec` writes: what `runc spec` writes, so bundles move between them."""
from oci_runtime import OCI_VERSION

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any

DEFAULT_CAPABILITIES = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def default_config(rootless: bool = False, cgroup_namespace: bool | None = None
                   ) -> "dict[str, Any]":
    """runc spec's config.json.  ``cgroup_namespace``: None decides as runc does, from the
    host: a cgroup namespace on a pure cgroup v2 host only, none on v1 or hybrid (scripts that
    add one there, as runc's users do, must not meet a duplicate)."""
    if cgroup_namespace is None:
        from oci_runtime.cgroups import detect_mode

        cgroup_namespace = detect_mode() == "v2"
    namespaces = ["pid", "network", "ipc", "uts", "mount"] + (["cgroup"] if cgroup_namespace else [])
    config: "dict[str, Any]" = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {key: list(DEFAULT_CAPABILITIES)
                             for key in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "oci-runtime",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in namespaces],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi",
            ],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }
    if rootless:
        from oci_runtime.kernel import hotpath

        # runc's: the container's root is the caller (its effective ids), the one id a user
        # can map without newuidmap.
        config["linux"]["namespaces"].append({"type": "user"})
        config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": hotpath.geteuid(), "size": 1}]
        config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": hotpath.getegid(), "size": 1}]
        # Only container id 0 is mapped: devpts' gid=5 (tty) would be refused.
        for mount in config["mounts"]:
            if "options" in mount:
                mount["options"] = [o for o in mount["options"]
                                    if not o.startswith(("uid=", "gid="))]
        config["linux"]["resources"] = {}
        config["mounts"] = [m for m in config["mounts"] if m["type"] != "cgroup"]
        config["mounts"].append({"destination": "/sys/fs/cgroup", "type": "none",
                                 "source": "/sys/fs/cgroup",
                                 "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
    return config
