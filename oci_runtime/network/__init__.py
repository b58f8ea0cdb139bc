"""Networking done by the runtime process, never inside the container: linux.netDevices
(netdevices.py, through pyroute2) and CNI networks asked for by ``--network NAME`` or the
annotation ``org.oci-runtime.network=NAME[,NAME...]`` (cni.py).

create calls attach() once the init's network namespace exists and before the init goes on;
what it attached is recorded in ``<state dir>/network.json`` before each step, so that delete
(also of a crashed container, or after a failed create) calls detach(), which runs CNI DEL.
CNI plugins are given a bind mount of the namespace at ``<state dir>/netns``: it outlives the
container's processes, so DEL finds the interfaces it must remove, and it never names a pid that
could be reused.

Nothing is imported at module level: a create without networking pays for none of it.
"""

RECORD_FILE = "network.json"
NETNS_FILE = "netns"
NETWORK_ANNOTATION = "org.oci-runtime.network"
CONF_DIR_ANNOTATION = "org.oci-runtime.cni.conf-dir"
BIN_DIR_ANNOTATION = "org.oci-runtime.cni.bin-dir"

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any

    from oci_runtime.config.model import Config


def requested_networks(annotations: "dict[str, str] | None", networks: "Iterable[str] | None",
                       cni_conf_dir: str | None = None, cni_bin_dir: str | None = None
                       ) -> "tuple[list[str], str, str]":
    """(names, conf dir, bin dir): --network names first, then the annotation's; flags win over
    the annotations for the directories."""
    from oci_runtime.network.cni import DEFAULT_BIN_DIR, DEFAULT_CONF_DIR

    annotations = annotations or {}
    names = list(networks or ())
    for name in (annotations.get(NETWORK_ANNOTATION) or "").split(","):
        if name.strip() and name.strip() not in names:
            names.append(name.strip())
    conf_dir = cni_conf_dir or annotations.get(CONF_DIR_ANNOTATION) or DEFAULT_CONF_DIR
    bin_dir = cni_bin_dir or annotations.get(BIN_DIR_ANNOTATION) or DEFAULT_BIN_DIR
    return names, conf_dir, bin_dir


def attach(config: "Config", container_id: str, state_dir: str, init_pid: int,
           networks: "Iterable[str] | None" = None, cni_conf_dir: str | None = None,
           cni_bin_dir: str | None = None) -> "dict[str, Any] | None":
    """Move linux.netDevices and ADD the requested CNI networks (``networks``, --network, and
    the annotation's) to the init's network namespace.  Returns the record of what was
    attached (None without networking).  On failure what was done stays recorded in
    ``state_dir`` for detach(), which the failed create's undo calls."""
    flags_given = networks is not None or cni_conf_dir is not None or cni_bin_dir is not None
    if (not config.linux.net_devices and not flags_given
            and NETWORK_ANNOTATION not in (config.annotations or {})):
        return None
    from oci_runtime.errors import OCIError

    names, conf_dir, bin_dir = requested_networks(config.annotations, networks, cni_conf_dir,
                                                  cni_bin_dir)
    if not names and flags_given:
        raise OCIError("--cni-conf-dir, --cni-bin-dir: no CNI network is asked for (--network "
                       f"NAME or the annotation {NETWORK_ANNOTATION})")
    if not config.linux.net_devices and not names:
        return None
    if "network" not in config.linux.namespaces:
        what = "/linux/netDevices" if config.linux.net_devices else "--network"
        raise OCIError(f"config.json: {what}: needs a network namespace in /linux/namespaces "
                       "(the host's network is not the runtime's to change)")
    netns = f"/proc/{init_pid}/ns/net"
    record: "dict[str, Any]" = {"netDevices": [], "networks": [], "netns": None}
    if config.linux.net_devices:
        try:
            from oci_runtime.network.netdevices import move_devices
        except ImportError as exc:
            raise OCIError(f"config.json: /linux/netDevices: needs pyroute2, a dependency of "
                           f"oci-runtime this installation lacks ({exc}): reinstall it") from None
        record["netDevices"] = move_devices(config.linux.net_devices, netns)
    if names:
        _add_networks(record, names, conf_dir, bin_dir, container_id, state_dir, netns)
    return record


def net_devices_supported() -> bool:
    """Whether linux.netDevices can be honoured here: pyroute2 is installed (features says so)."""
    from importlib.util import find_spec

    return find_spec("pyroute2") is not None


def _add_networks(record: "dict[str, Any]", names: "Iterable[str]", conf_dir: str, bin_dir: str,
                  container_id: str, state_dir: str, netns: str) -> None:

    from oci_runtime.kernel import syscalls as kernel
    from oci_runtime.errors import OCIError
    from oci_runtime.network import cni

    confs = [cni.load_network(name, conf_dir) for name in names]  # all found before any ADD
    record["netns"] = f"{state_dir}/{NETNS_FILE}"
    _save(state_dir, record)  # first: a crash after the mount still leads delete to it
    try:
        with open(record["netns"], "x"):
            pass
        kernel.mount(netns, record["netns"], None, kernel.MS_BIND)
    except OSError as exc:
        raise OCIError.from_os(f"--network: bind-mounting {netns} on {record['netns']}",
                               exc) from exc
    for conf, ifname in zip(confs, _interface_names(record["netDevices"])):
        attachment = {"container_id": container_id, "netns": record["netns"],
                      "ifname": ifname, "bin_dir": bin_dir}
        entry: "dict[str, Any]" = {"name": conf["name"], "conf": conf, "attachment": attachment,
                                   "result": None}
        record["networks"].append(entry)
        _save(state_dir, record)
        entry["result"] = cni.add(conf, attachment)
        _save(state_dir, record)


def _interface_names(moved_devices: "Iterable[dict[str, str]]") -> "Iterator[str]":
    """eth0, eth1, ... one per network in order, skipping names netDevices already took."""
    taken = {device["name"] for device in moved_devices}
    index = 0
    while True:
        if f"eth{index}" not in taken:
            yield f"eth{index}"
        index += 1


def detach(container_dir: str, warn: "Callable[[str], None] | None" = None) -> None:
    """CNI DEL for every network recorded, then the namespace's bind mount goes.  Nothing to do
    (and nothing imported) without a record.  With ``warn`` a failing DEL is reported through it
    and the rest is removed anyway; without, it raises and leaves the record for a retry."""
    from oci_runtime.kernel import hotpath

    try:
        with open(f"{container_dir}/{RECORD_FILE}", "rb") as record_file:
            data = record_file.read()
    except FileNotFoundError:
        return
    import json


    from oci_runtime.kernel import syscalls as kernel
    from oci_runtime.errors import OCIError
    from oci_runtime.network import cni

    record = json.loads(data)
    errors: "list[str]" = []
    for entry in reversed(record["networks"]):
        try:
            cni.delete(entry["conf"], entry["attachment"], entry["result"])
        except OCIError as exc:
            errors.append(str(exc))
    if errors:
        if warn is None:
            raise OCIError("; ".join(errors))
        for error in errors:
            warn(error)
    if record.get("netns"):
        try:
            kernel.umount2(record["netns"], kernel.MNT_DETACH)
        except OSError:
            pass  # not mounted: the create stopped before the mount
        try:
            hotpath.unlink(record["netns"])
        except FileNotFoundError:
            pass
    hotpath.unlink(f"{container_dir}/{RECORD_FILE}")


def recorded(attached: "dict[str, Any] | None") -> bool:
    """Whether attach() (which returned ``attached``) wrote the record detach() reads: only CNI
    networks make one (with the namespace's bind mount)."""
    return bool(attached and attached["networks"])


def check(container_dir: str) -> None:
    """CNI CHECK of every network the container was given (raises OCIError if one fails)."""
    import json

    try:
        with open(f"{container_dir}/{RECORD_FILE}", "rb") as record_file:
            record = json.loads(record_file.read())
    except FileNotFoundError:
        return
    from oci_runtime.network import cni

    for entry in record["networks"]:
        cni.check(entry["conf"], entry["attachment"], entry["result"])


def state_annotations(annotations: "dict[str, str] | None", record: "dict[str, Any] | None"
                      ) -> "dict[str, str] | None":
    """The config's annotations plus, per CNI network, the interface and the addresses the
    container got (``org.oci-runtime.network.<name>.interface`` / ``.ips``), as `state` shows."""
    if not record or not record["networks"]:
        return annotations
    from oci_runtime.network.cni import addresses

    shown = dict(annotations or {})
    for entry in record["networks"]:
        prefix = f"{NETWORK_ANNOTATION}.{entry['name']}"
        shown[f"{prefix}.interface"] = entry["attachment"]["ifname"]
        shown[f"{prefix}.ips"] = ",".join(addresses(entry["result"]))
    return shown


def _save(state_dir: str, record: "dict[str, Any]") -> None:
    import json

    from oci_runtime.kernel.files import write_atomically

    write_atomically(f"{state_dir}/{RECORD_FILE}", json.dumps(record).encode())
