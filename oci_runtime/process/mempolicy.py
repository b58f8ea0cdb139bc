"""linux.memoryPolicy (config-linux.md "Memory policy"): the NUMA memory policy the container's
processes start with, set by the executor with set_mempolicy(2) just before execve (it is
inherited across fork and kept across execve), for the init and for every exec'd process.

The tables are the one source for the plan (mode | flags, the nodemask) and for `features`
(linux.memoryPolicy.modes, .flags).  ``memory_policy`` checks what the kernel would refuse with
a bare EINVAL, naming the field: a malformed node list, nodes where the mode takes none or none
where it needs some, both node flags, and a node set with no node this host has memory on (the
kernel intersects it with the allowed nodes; an empty result is refused).
"""
from oci_runtime.config.model import config_problem

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

# linux/mempolicy.h
MODES = {"MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3,
         "MPOL_LOCAL": 4, "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6}
FLAGS = {"MPOL_F_NUMA_BALANCING": 1 << 13, "MPOL_F_RELATIVE_NODES": 1 << 14,
         "MPOL_F_STATIC_NODES": 1 << 15}
# set_mempolicy(2): these take no nodes; these need at least one (MPOL_PREFERRED may have none:
# then it is local allocation).
_NO_NODES = ("MPOL_DEFAULT", "MPOL_LOCAL")
_NEED_NODES = ("MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED_MANY")
# The kernel's limit on node numbers (MAX_NUMNODES with CONFIG_NODES_SHIFT=10, the largest).
MAX_NODES = 1024
_POINTER = "/linux/memoryPolicy"


class MemoryPolicy:
    """What the executor passes to set_mempolicy(2): ``mode`` (with its flags or'ed in), and
    ``nodemask`` (little-endian unsigned longs) covering ``maxnode`` bits."""

    __slots__ = ("mode", "nodemask", "maxnode")

    def __init__(self, mode: int, nodes: "Iterable[int]") -> None:
        self.mode = mode
        nodes = sorted(set(nodes))
        words = (nodes[-1] // 64 + 1) if nodes else 0
        mask = bytearray(words * 8)
        for node in nodes:
            mask[node // 8] |= 1 << (node % 8)
        self.nodemask = bytes(mask)
        # set_mempolicy reads maxnode - 1 bits (a historical off-by-one every caller matches).
        self.maxnode = words * 64 + 1 if words else 0


def parse_nodes(text: str, pointer: str = f"{_POINTER}/nodes") -> "set[int] | None":
    """config-linux.md's node list ("0-3,7": a comma-separated list with dash ranges) as a set;
    None (after a config_problem) when it is not one."""
    nodes: "set[int]" = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            if text.strip():
                config_problem(pointer, f"{text!r}: an empty entry in the node list")
                return None
            continue
        first, dash, last = part.partition("-")
        if not (first.isascii() and first.isdigit() and (not dash or last.isascii()
                                                         and last.isdigit())):
            config_problem(pointer, f"{text!r}: expected node numbers and ranges such as "
                                    "\"0-3,7\"")
            return None
        low, high = int(first), int(last) if dash else int(first)
        if low > high:
            config_problem(pointer, f"{text!r}: the range {part} runs backwards")
            return None
        if high >= MAX_NODES:
            config_problem(pointer, f"{text!r}: node {high} is beyond the kernel's limit "
                                    f"({MAX_NODES} nodes)")
            return None
        nodes.update(range(low, high + 1))
    return nodes


def host_memory_nodes(path: str = "/sys/devices/system/node/has_memory") -> "set[int] | None":
    """The nodes this host has memory on; None when the kernel does not say (no NUMA support:
    then set_mempolicy itself decides)."""
    try:
        with open(path) as listing:
            text = listing.read().strip()
    except OSError:
        return None
    nodes: "set[int]" = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        nodes.update(range(int(first), int(last or first) + 1))
    return nodes


def memory_policy(raw: "dict[str, Any]", allowed: "set[int] | None" = None
                  ) -> "MemoryPolicy | None":
    """The checked policy of linux.memoryPolicy ``raw``; None after a config_problem.
    ``allowed``: the nodes the container may allocate from (its cpuset's mems where the config
    sets them, else this host's memory nodes; None: unknown, not checked)."""
    mode_name = raw.get("mode")
    if mode_name not in MODES:
        config_problem(f"{_POINTER}/mode", f"unknown mode {mode_name!r} (one of "
                                           f"{', '.join(MODES)})")
        return None
    flags = 0
    for index, flag in enumerate(raw.get("flags") or ()):
        if flag not in FLAGS:
            config_problem(f"{_POINTER}/flags/{index}", f"unknown flag {flag!r} (one of "
                                                        f"{', '.join(FLAGS)})")
            return None
        flags |= FLAGS[flag]
    relative = flags & FLAGS["MPOL_F_RELATIVE_NODES"]
    if relative and flags & FLAGS["MPOL_F_STATIC_NODES"]:
        config_problem(f"{_POINTER}/flags", "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES "
                                            "exclude each other")
        return None
    nodes = parse_nodes(raw.get("nodes") or "")
    if nodes is None:
        return None
    if mode_name in _NO_NODES and nodes:
        config_problem(f"{_POINTER}/nodes", f"{mode_name} takes no nodes")
        return None
    if mode_name in _NO_NODES and flags & (FLAGS["MPOL_F_STATIC_NODES"] | relative):
        config_problem(f"{_POINTER}/flags", f"{mode_name} takes no node flags")
        return None
    if mode_name in _NEED_NODES and not nodes:
        config_problem(f"{_POINTER}/nodes", f"{mode_name} needs at least one node")
        return None
    if nodes and allowed is not None and not relative and not nodes & allowed:
        # The kernel keeps only the nodes allowed (relative ones are mapped onto them).
        shown = ",".join(str(node) for node in sorted(allowed)) or "none"
        config_problem(f"{_POINTER}/nodes", f"{raw.get('nodes')!r}: none of these nodes is one "
                                            f"the container may allocate from (nodes with "
                                            f"memory: {shown})")
        return None
    return MemoryPolicy(MODES[mode_name] | flags, nodes)


def allowed_nodes(host_nodes: "set[int] | None", resources: "dict[str, Any] | None"
                  ) -> "set[int] | None":
    """The nodes the container's processes may allocate from: this host's memory nodes
    (``host_nodes``, None: unknown), within linux.resources.cpu.mems where the config sets it
    (the container's cpuset)."""
    mems = ((resources or {}).get("cpu") or {}).get("mems")
    if not mems:
        return host_nodes
    given = parse_nodes(mems, "/linux/resources/cpu/mems")
    if given is None:
        return host_nodes
    return given if host_nodes is None else given & host_nodes


def features() -> "dict[str, list[str]]":
    """features.md's linux.memoryPolicy: what this runtime recognizes (the host may support
    fewer)."""
    return {"modes": list(MODES), "flags": list(FLAGS)}
