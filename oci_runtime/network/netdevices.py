"""linux.netDevices (config-linux.md "Network Devices"): move host devices into the container's
network namespace, from the runtime process, through pyroute2.

For each entry: the device must exist on the host and its name in the container (``name``, or
the host name) must be free there unless it is a ``%d`` template; all entries are checked before
any is moved.  Then each device's permanent global-scope addresses (any family) are read, the
device is moved and renamed in one RTM_NEWLINK (IFLA_NET_NS_FD + IFLA_IFNAME), the addresses are
added again inside (a move flushes them), and the device is set up.  Devices are never moved back:
when the namespace goes, the kernel destroys virtual devices and returns physical ones.

Importing this module imports pyroute2 (~150-200 ms): only a create whose config lists
netDevices does.
"""
import os

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError


from oci_runtime.kernel import syscalls as kernel
from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

IFA_F_NODAD = 0x02
IFA_F_HOMEADDRESS = 0x10
IFA_F_PERMANENT = 0x80
IFA_F_MANAGETEMPADDR = 0x100
IFA_F_NOPREFIXROUTE = 0x200
# Flags of an address that describe how it was configured (kept when it is added again), as
# opposed to its current state (tentative, deprecated, ...) which the kernel sets itself.
_KEPT_ADDRESS_FLAGS = IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR | IFA_F_NOPREFIXROUTE
RT_SCOPE_UNIVERSE = 0
_IFNAMSIZ = 16


def check_device_name(name: str, pointer: str) -> None:
    """The kernel's dev_valid_name(), with the error naming the config field."""
    if (not name or len(name.encode()) >= _IFNAMSIZ or name in (".", "..")
            or any(c in name for c in "/:") or any(c.isspace() for c in name)):
        raise OCIError(f"config.json: {pointer}: {name!r} is not a valid network device name "
                       f"(1 to {_IFNAMSIZ - 1} bytes, no '/', ':' or white space)")
    if name.count("%") > 1 or ("%" in name and "%d" not in name):
        raise OCIError(f"config.json: {pointer}: {name!r}: a name template has one '%d'")


def move_devices(net_devices: "Mapping[str, dict[str, Any] | None]", netns_path: str
                 ) -> "list[dict[str, str]]":
    """Move, rename, re-address and set up each device; returns [{"host", "name"}] with the
    names the devices got in the container."""
    planned: "list[tuple[str, str, str]]" = []
    for host_name, entry in net_devices.items():
        pointer = f"/linux/netDevices/{host_name}"
        check_device_name(host_name, pointer)
        target = (entry or {}).get("name") or host_name
        check_device_name(target, f"{pointer}/name")
        planned.append((host_name, target, pointer))
    targets = [target for _, target, _ in planned if "%" not in target]
    for host_name, target, pointer in planned:
        if targets.count(target) > 1:
            raise OCIError(f"config.json: {pointer}/name: {target!r} is the name of another "
                           "entry of /linux/netDevices too")
    netns_fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with IPRoute() as host:
            with _in_namespace(netns_fd):
                container = IPRoute()
            with container:
                devices = [_check_movable(host, container, *plan) for plan in planned]
                return [_move(host, container, netns_fd, *device) for device in devices]
    finally:
        os.close(netns_fd)


def _check_movable(host: "Any", container: "Any", host_name: str, target: str, pointer: str
                   ) -> "tuple[str, str, str, int, str, list[dict[str, Any]]]":
    found = host.link_lookup(ifname=host_name)
    if not found:
        raise OCIError(f"config.json: {pointer}: no network device {host_name!r} on the host")
    if "%" not in target and container.link_lookup(ifname=target):
        raise OCIError(f"config.json: {pointer}: a network device named {target!r} already "
                       "exists in the container's network namespace")
    index = found[0]
    link = host.get_links(index)[0]
    addresses = [_address_to_keep(a) for a in host.get_addr(index=index)
                 if a["scope"] == RT_SCOPE_UNIVERSE and _flags(a) & IFA_F_PERMANENT]
    return host_name, target, pointer, index, link.get_attr("IFLA_ADDRESS"), addresses


def _move(host: "Any", container: "Any", netns_fd: int, host_name: str, target: str,
          pointer: str, index: int, mac: str, addresses: "list[dict[str, Any]]"
          ) -> "dict[str, str]":
    try:
        host.link("set", index=index, net_ns_fd=netns_fd, ifname=target)
    except NetlinkError as exc:
        raise OCIError(f"config.json: {pointer}: moving {host_name!r} into the container's "
                       f"network namespace as {target!r}: {os.strerror(exc.code)}",
                       exc.code) from None
    try:
        inside = _find_moved(container, index, mac, target)
        for address in addresses:
            container.addr("add", index=inside, **address)
        container.link("set", index=inside, state="up")
        name = container.get_links(inside)[0].get_attr("IFLA_IFNAME")
    except NetlinkError as exc:
        raise OCIError(f"config.json: {pointer}: setting up {target!r} in the container's "
                       f"network namespace: {os.strerror(exc.code)}", exc.code) from None
    return {"host": host_name, "name": name}


def _find_moved(container: "Any", index: int, mac: str, target: str) -> int:
    """The device's index in the container: the kernel keeps the index unless it is taken there,
    and a template name is only known after the move, so match by index and MAC address."""
    if "%" not in target:
        named: int = container.link_lookup(ifname=target)[0]
        return named
    links = container.get_links()
    for link in sorted(links, key=lambda link: link["index"] != index):
        if link.get_attr("IFLA_ADDRESS") == mac:
            moved: int = link["index"]
            return moved
    raise OCIError(f"moved network device {target!r} not found in the container")


def _flags(address: "Any") -> int:
    # IFA_FLAGS (32 bits) supersedes the 8-bit ifa_flags when present.
    extended = address.get_attr("IFA_FLAGS")
    flags: int = address["flags"] if extended is None else extended
    return flags


def _address_to_keep(address: "Any") -> "dict[str, Any]":
    kept: "dict[str, Any]" = {"address": address.get_attr("IFA_ADDRESS"),
                              "prefixlen": address["prefixlen"], "family": address["family"]}
    local = address.get_attr("IFA_LOCAL")
    if local is not None:
        kept["local"] = local
    broadcast = address.get_attr("IFA_BROADCAST")
    if broadcast is not None:
        kept["broadcast"] = broadcast
    flags = _flags(address) & _KEPT_ADDRESS_FLAGS
    if flags:
        kept["IFA_FLAGS"] = flags
    return kept


class _in_namespace:
    """This thread in another network namespace for the block (sockets made in it stay there)."""

    def __init__(self, netns_fd: int) -> None:
        self.netns_fd = netns_fd

    def __enter__(self) -> None:
        self.own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            kernel.setns(self.netns_fd, kernel.CLONE_NEWNET)
        except OSError:
            os.close(self.own)
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            kernel.setns(self.own, kernel.CLONE_NEWNET)
        finally:
            os.close(self.own)
