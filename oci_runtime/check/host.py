"""`oci-runtime check` of this host: cgroup mode and controllers, systemd, seccomp, user
namespaces and subordinate ids, idmapped mounts, rlimits, overlayfs, CRIU, and the podman and
containerd configurations naming this runtime.  Each finding says what to do."""
import os
import sys

from oci_runtime.check.findings import (CAP_SYS_RESOURCE, ERROR, OK, WARNING, Finding,
                                        has_capability, read_text)
from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any


def check_host(runtime_path: str | None = None, systemd_cgroup: bool = False
               ) -> "list[Finding]":
    """Facts about this host that decide what containers can do, each with what to do.  With
    ``systemd_cgroup`` (--systemd-cgroup), a missing systemd blocks every run."""
    findings: "list[Finding]" = []
    for probe in (_cgroup_findings, lambda: _systemd_findings(systemd_cgroup), _seccomp_findings,
                  _user_namespace_findings, _idmapped_mount_findings, _rlimit_findings,
                  _overlay_findings, _criu_findings):
        try:
            findings += probe()
        except (OCIError, OSError) as exc:
            findings.append(Finding(WARNING, "host", f"could not be checked: {exc}"))
    findings += _engine_findings(runtime_path or _this_runtime())
    return findings


def _cgroup_findings() -> "list[Finding]":
    from oci_runtime.cgroups.hierarchy import Mounts

    try:
        mounts = Mounts()
    except OCIError as exc:
        return [Finding(ERROR, "cgroup", str(exc), "mount cgroup2 on /sys/fs/cgroup")]
    if mounts.mode == "v2":
        assert mounts.unified is not None  # v2: the cgroup2 mount
        root = mounts.unified[0]
        available = (read_text(f"{root}/cgroup.controllers", "") or "").split()
        enabled = (read_text(f"{root}/cgroup.subtree_control", "") or "").split()
        findings = [Finding(OK, "cgroup", f"v2 at {root}; controllers {' '.join(available)}; "
                            f"enabled for children: {' '.join(enabled) or 'none'}")]
        missing = [c for c in ("cpu", "memory", "pids", "io") if c not in available]
        if missing:
            findings.append(Finding(WARNING, "cgroup", f"controllers {' '.join(missing)} are not "
                                    "available: their linux.resources cannot be applied",
                                    "enable them on the kernel command line or by the parent"))
        return findings
    usable = sorted(c for c in mounts.v1 if not c.startswith("name="))
    text = f"{mounts.mode} (v1 controllers {' '.join(usable)}"
    text += f"; cgroup2 at {mounts.unified[0]})" if mounts.unified else ")"
    findings = [Finding(OK, "cgroup", text)]
    if mounts.mode == "hybrid":
        assert mounts.unified is not None  # hybrid: v1 and a cgroup2 mount
        findings.append(Finding(WARNING, "cgroup", "hybrid mode: crun refuses to run with "
                                f"{mounts.unified[0]} mounted; this runtime and runc handle it",
                                "prefer a pure cgroup v2 host "
                                "(systemd.unified_cgroup_hierarchy=1)"))
    return findings


def _systemd_findings(systemd_cgroup: bool) -> "list[Finding]":
    from oci_runtime.cgroups.systemd import systemd_running

    if systemd_running():
        return [Finding(OK, "systemd", "systemd is the init: --systemd-cgroup can be used")]
    init = (read_text("/proc/1/comm", "?") or "?").strip()
    return [Finding(ERROR if systemd_cgroup else WARNING, "systemd",
                    f"not running (pid 1 is {init}): --systemd-cgroup (podman's "
                    "cgroup_manager = \"systemd\") fails",
                    "use the cgroupfs driver (podman --cgroup-manager=cgroupfs)")]


def _seccomp_findings() -> "list[Finding]":
    from oci_runtime import seccomp
    from oci_runtime.seccomp.filter import libseccomp_version

    if "Seccomp:" not in (read_text("/proc/self/status", "") or ""):
        return [Finding(ERROR, "seccomp", "this kernel has no seccomp",
                        "remove linux.seccomp from configs")]
    version = libseccomp_version()
    if version is None or not seccomp.features()["enabled"]:
        return [Finding(ERROR, "seccomp", "libseccomp.so.2 cannot be loaded: profiles cannot be "
                        "compiled", "apt-get install libseccomp2")]
    from oci_runtime.seccomp.constants import SECCOMP_FILTER_FLAG_NEW_LISTENER

    notify = seccomp.kernel_supports_flag(SECCOMP_FILTER_FLAG_NEW_LISTENER)
    return [Finding(OK, "seccomp", f"libseccomp {version}; user notification (SCMP_ACT_NOTIFY) "
                    f"{'supported' if notify else 'not supported by this kernel'}")]


def user_namespaces_allowed() -> bool:
    limit = (read_text("/proc/sys/user/max_user_namespaces", "0") or "0").strip()
    return limit.isdigit() and int(limit) > 0


def _subordinate_ranges(path: str, uid: int, name: str) -> "list[str]":
    ranges: "list[str]" = []
    for line in (read_text(path, "") or "").splitlines():
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in (name, str(uid)) and fields[2].isdigit():
            ranges.append(f"{fields[1]}+{fields[2]}")
    return ranges


def _user_namespace_findings() -> "list[Finding]":
    import pwd

    if not user_namespaces_allowed():
        return [Finding(ERROR, "user namespaces", "disabled (user.max_user_namespaces is 0): "
                        "configs with a user namespace and rootless containers fail",
                        "sysctl -w user.max_user_namespaces=15000")]
    findings = [Finding(OK, "user namespaces", "allowed (user.max_user_namespaces "
                        f"{(read_text('/proc/sys/user/max_user_namespaces') or '').strip()})")]
    if (read_text("/proc/sys/kernel/unprivileged_userns_clone") or "1").strip() == "0":
        findings.append(Finding(WARNING, "user namespaces", "unprivileged ones are disabled "
                                "(kernel.unprivileged_userns_clone=0): rootless containers fail",
                                "sysctl -w kernel.unprivileged_userns_clone=1"))
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    subuid = _subordinate_ranges("/etc/subuid", uid, name)
    subgid = _subordinate_ranges("/etc/subgid", uid, name)
    if subuid and subgid:
        findings.append(Finding(OK, "subordinate ids", f"{name}: uids {', '.join(subuid)}; gids "
                                f"{', '.join(subgid)}"))
    elif uid == 0:
        findings.append(Finding(OK, "subordinate ids", "none for root (root maps any host id; "
                                "rootless users need entries in /etc/subuid and /etc/subgid)"))
    else:
        findings.append(Finding(WARNING, "subordinate ids", f"{name} has no range in "
                                f"{'/etc/subuid' if not subuid else '/etc/subgid'}: only its own "
                                "id can be mapped", f"usermod --add-subuids 100000-165535 "
                                f"--add-subgids 100000-165535 {name}"))
    return findings


def _idmapped_mount_findings() -> "list[Finding]":
    """What `features` says (mountExtensions.idmap, from the same function), and whether a
    mount of /tmp's filesystem can be idmapped (tmpfs only since Linux 6.3, for instance)."""
    from oci_runtime.rootfs.idmapped_mounts import filesystem_supports_idmap, idmap_supported

    if not idmap_supported():
        return [Finding(WARNING, "idmapped mounts", "the kernel has no mount_setattr (Linux "
                        "5.12): features says mountExtensions.idmap disabled, and mounts with "
                        "idmap, ridmap or uidMappings/gidMappings fail")]
    try:
        tmp_ok = filesystem_supports_idmap("/tmp")
    except OCIError as exc:
        return [Finding(WARNING, "idmapped mounts", f"supported by the kernel (features: "
                        f"mountExtensions.idmap enabled), but idmapping a mount of /tmp "
                        f"failed: {exc}")]
    tmp_note = ("/tmp's filesystem can be idmapped" if tmp_ok else
                "/tmp's filesystem cannot be idmapped on this kernel (sources there fail)")
    return [Finding(OK, "idmapped mounts", f"supported (features: mountExtensions.idmap "
                    f"enabled; options idmap, ridmap, mounts[].uidMappings); {tmp_note}")]


_RLIMITS_SHOWN = ("RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_MEMLOCK", "RLIMIT_STACK", "RLIMIT_CORE")


def _rlimit_findings() -> "list[Finding]":
    import resource

    from oci_runtime.process.capabilities import RLIMIT_NUMBERS

    def shown(value: int) -> str:
        return "unlimited" if value == resource.RLIM_INFINITY else str(value)

    limits = ", ".join(f"{name[7:]} {shown(resource.getrlimit(RLIMIT_NUMBERS[name])[1])}"
                       for name in _RLIMITS_SHOWN)
    if has_capability(CAP_SYS_RESOURCE):
        return [Finding(OK, "rlimits", f"CAP_SYS_RESOURCE: any hard limit can be raised "
                        f"(now: {limits})")]
    return [Finding(WARNING, "rlimits", f"no CAP_SYS_RESOURCE: process.rlimits hard values "
                    f"cannot exceed this process's hard limits ({limits})",
                    "keep rlimits at or below these (podman: --ulimit nofile=N:N with N within "
                    "NOFILE)")]


def _overlay_findings() -> "list[Finding]":
    filesystems = read_text("/proc/filesystems", "") or ""
    if any(line.split()[-1] == "overlay" for line in filesystems.splitlines() if line.split()):
        return [Finding(OK, "overlayfs", "available (podman's and containerd's default storage "
                        "driver/snapshotter)")]
    if os.path.exists(f"/lib/modules/{os.uname().release}/kernel/fs/overlayfs"):
        return [Finding(OK, "overlayfs", "available as a module (loaded on first mount)")]
    return [Finding(WARNING, "overlayfs", "not available: image layers need another storage "
                    "driver", "modprobe overlay, or configure vfs/fuse-overlayfs")]


def _criu_findings() -> "list[Finding]":
    """Whether `checkpoint`/`restore` can run: a CRIU on PATH that answers its version (4+)."""
    from oci_runtime.criu.swrk import CriuError, Swrk

    try:
        with Swrk("criu") as criu:
            version = ".".join(map(str, criu.check_version()))
    except CriuError as exc:
        return [Finding(WARNING, "criu", f"checkpoint and restore cannot run: {exc}",
                        "install CRIU 4 or newer, or pass its path with --criu")]
    return [Finding(OK, "criu", f"{criu.path} is CRIU {version}: checkpoint and restore can "
                    "run")]


def _this_runtime() -> str:
    import shutil

    installed = os.path.join(os.path.dirname(sys.executable), "oci-runtime")
    return installed if os.path.exists(installed) else shutil.which("oci-runtime") or ""


def _engine_findings(runtime_path: str) -> "list[Finding]":
    """Which of podman and containerd name this runtime in their configuration."""
    import tomllib

    findings: "list[Finding]" = []
    ours = {os.path.realpath(runtime_path)} if runtime_path else set()

    def names_ours(value: object) -> bool:
        paths = value if isinstance(value, list) else [value]
        return any(isinstance(p, str) and os.path.realpath(p) in ours for p in paths)

    podman_files = ["/usr/share/containers/containers.conf", "/etc/containers/containers.conf",
                    os.path.expanduser("~/.config/containers/containers.conf")]
    podman_uses = []
    for path in podman_files:
        text = read_text(path)
        if text is None:
            continue
        try:
            engine = tomllib.loads(text).get("engine", {})
        except tomllib.TOMLDecodeError as exc:
            findings.append(Finding(WARNING, "podman", f"{path}: not valid TOML: {exc}"))
            continue
        for name, paths in (engine.get("runtimes") or {}).items():
            if names_ours(paths):
                default = engine.get("runtime") == name
                podman_uses.append(f"{path}: runtime {name!r}{' (the default)' if default else ''}")
    if podman_uses:
        findings.append(Finding(OK, "podman", "; ".join(podman_uses)))
    else:
        findings.append(Finding(OK, "podman", "not configured to use this runtime",
                                f"podman --runtime {runtime_path} ..., or [engine.runtimes] in "
                                "containers.conf"))
    containerd_uses = []
    text = read_text("/etc/containerd/config.toml")
    if text is not None:
        try:
            config = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            config = {}
            findings.append(Finding(WARNING, "containerd", f"/etc/containerd/config.toml: not "
                                    f"valid TOML: {exc}"))
        for trail, value in _walk(config):
            if trail[-1] in ("BinaryName", "runtime_path", "runtime") and names_ours(value):
                containerd_uses.append(".".join(trail))
    if containerd_uses:
        findings.append(Finding(OK, "containerd", "/etc/containerd/config.toml: "
                                + ", ".join(containerd_uses)))
    else:
        findings.append(Finding(OK, "containerd", "not configured to use this runtime",
                                f"ctr run --runc-binary {runtime_path} ..., or a runtime with "
                                "options BinaryName in /etc/containerd/config.toml"))
    return findings


def _walk(table: "dict[str, Any]", trail: "tuple[str, ...]" = ()
          ) -> "Iterator[tuple[tuple[str, ...], object]]":
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _walk(value, trail + (key,))
        else:
            yield trail + (key,), value
