"""features: the runtime-spec features document (features.md), saying only what is implemented."""
import sys

from oci_runtime import OCI_VERSION
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.config.model import NAMESPACE_TYPES
from oci_runtime.kernel.hotpath import dumps
from oci_runtime.hooks.runner import HOOK_KINDS
from oci_runtime.network import net_devices_supported
from oci_runtime.process.capabilities import CAPABILITY_NUMBERS
from oci_runtime.rootfs.mount_options import (
    _FLAG_OPTIONS, _PROPAGATION_OPTIONS, _RECURSIVE_ATIME_OPTIONS, _RECURSIVE_OPTIONS,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {}  # no options of its own (the table the help page reads)


def features_document() -> "dict[str, Any]":
    from oci_runtime import seccomp
    from oci_runtime.process.attributes import apparmor_enabled, selinux_enabled
    from oci_runtime.process.mempolicy import features as memory_policy_features
    from oci_runtime.rootfs.idmapped_mounts import idmap_supported
    from oci_runtime.seccomp.filter import libseccomp_version

    seccomp_features = seccomp.features()
    # runc's annotation: `checkpoint` and `restore` are implemented (they need CRIU 4+ at run
    # time; `oci-runtime check --host` says whether this host has it).
    annotations: "dict[str, str | None]" = {"org.opencontainers.runc.checkpoint.enabled": "true"}
    if seccomp_features["enabled"]:
        # runc's annotation: tells callers which syscall names and actions profiles can rely on.
        annotations["io.github.seccomp.libseccomp.version"] = libseccomp_version()
    mount_options = sorted(set(_FLAG_OPTIONS) | set(_PROPAGATION_OPTIONS) | set(_RECURSIVE_OPTIONS)
                           | set(_RECURSIVE_ATIME_OPTIONS) | {"tmpcopyup"}
                           | ({"idmap", "ridmap"} if idmap_supported() else set()))
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": list(HOOK_KINDS),
        "mountOptions": mount_options,
        "linux": {
            "namespaces": sorted(NAMESPACE_TYPES),
            "capabilities": sorted(CAPABILITY_NUMBERS, key=CAPABILITY_NUMBERS.__getitem__),
            "cgroup": {"v1": True, "v2": True, "systemd": True, "systemdUser": False,
                       "rdma": True},
            "seccomp": seccomp_features,
            # What create applies (process/attributes.py): enabled when the host has it.
            "apparmor": {"enabled": apparmor_enabled()},
            "selinux": {"enabled": selinux_enabled()},
            "intelRdt": {"enabled": False},
            "memoryPolicy": memory_policy_features(),
            "mountExtensions": {"idmap": {"enabled": idmap_supported()}},
            "netDevices": {"enabled": net_devices_supported()},
        },
        "annotations": annotations,
    }


def run(context: "Context", argv: "Sequence[str]") -> None:
    _, positionals = parse(argv, OPTIONS)
    if positionals:
        raise UsageError("usage: oci-runtime features")
    sys.stdout.write(dumps(features_document()) + "\n")
