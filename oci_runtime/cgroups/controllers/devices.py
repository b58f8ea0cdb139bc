"""The devices controller: ``linux.resources.devices`` rules (normalised as runc does, plus
runc's default allowed devices), written to devices.allow/deny on cgroup v1, and on cgroup v2
compiled into a BPF_PROG_TYPE_CGROUP_DEVICE program from a model of the v1 controller (the same
"emulator" idea runc uses, so v1 and v2 behave identically).  Building the program is pure code;
oci_runtime.cgroups._bpf loads and attaches it."""
import os

from oci_runtime.errors import OCIError

from ..fields import RESOURCES, pointer
from ..files import read_or, write_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

    from ..views import V1Cgroup, V2Cgroup

    Instruction = tuple[int, int, int, int, int]   # (code, dst, src, off, imm)

FIELD = pointer(RESOURCES, "devices")


def apply_v1(cgroup: "V1Cgroup", rules: "list[Any]", updating: bool) -> None:
    """Bring devices.allow/deny from what devices.list says now to what ``rules`` make, writing
    only the difference (runc's emulator "transition"): a running container's processes never
    see a moment where everything is denied, and a new cgroup (which starts as a copy of its
    parent's list, not necessarily allow-all) gets exactly the rules."""
    directory = cgroup.controller_dir("devices", FIELD)
    try:
        target = compile_rules(rules, FIELD)
    except ValueError as exc:
        raise OCIError(str(exc)) from None
    current = parse_devices_list(read_or(os.path.join(directory, "devices.list"), "a *:* rwm"))
    for name, line in transition_v1(current, target):
        write_value(os.path.join(directory, name), line, FIELD)


def apply_v2(cgroup: "V2Cgroup", rules: "list[Any]", updating: bool) -> None:
    try:
        insns = build_program(rules, FIELD)
    except ValueError as exc:
        raise OCIError(str(exc)) from None
    from .. import _bpf

    _bpf.attach_device_filter(cgroup.path, encode_program(insns), FIELD)


# linux.resources.devices[].type: every device, block, character.
RULE_TYPES = ("a", "b", "c")


def normalize_device_rule(rule: object, field: str = FIELD) -> tuple[bool, str, int, int, str]:
    """OCI device entry -> (allow, type, major, minor, access) with -1 for wildcard numbers.

    type defaults to 'a', access to 'rwm' (runc specconv).  ValueError on invalid values.
    """
    if not isinstance(rule, dict):
        raise ValueError(f"{field}: expected an object, got {rule!r}")
    allow = rule.get("allow")
    if not isinstance(allow, bool):
        raise ValueError(f"{field}/allow: required boolean, got {allow!r}")
    typ = rule.get("type") or "a"
    if typ not in RULE_TYPES:
        raise ValueError(f"{field}/type: invalid device type {typ!r} (expected a, b or c)")
    major = rule.get("major")
    minor = rule.get("minor")
    major = -1 if major is None else int(major)
    minor = -1 if minor is None else int(minor)
    access = rule.get("access") or "rwm"
    if not access or any(ch not in "rwm" for ch in access) or len(set(access)) != len(access):
        raise ValueError(f"{field}/access: invalid access {access!r} (letters from rwm)")
    # canonical order
    access = "".join(ch for ch in "rwm" if ch in access)
    return (allow, typ, major, minor, access)


def device_rule_v1(rule: tuple[bool, str, int, int, str]) -> tuple[str, str]:
    """Normalised rule -> (file, line) for the v1 devices controller, e.g. ('devices.allow', 'c 1:3 rwm').

    Type 'a' rules always mean every device ('a'), exactly as the kernel interprets them.
    """
    allow, typ, major, minor, access = rule
    fname = "devices.allow" if allow else "devices.deny"
    if typ == "a":
        return fname, "a"
    maj = "*" if major < 0 else str(major)
    mi = "*" if minor < 0 else str(minor)
    return fname, f"{typ} {maj}:{mi} {access}"


# The devices every container may use whatever its rules say: runc's AllowedDevices
# (libcontainer/specconv), as OCI device entries: mknod of any node, the config-linux.md
# "Default Devices" and the ptys.  Appended after linux.resources.devices, so a config cannot
# deny them (as with runc).
DEFAULT_ALLOWED_DEVICES: "tuple[dict[str, Any], ...]" = (
    {"allow": True, "type": "c", "access": "m"},                              # mknod any char
    {"allow": True, "type": "b", "access": "m"},                              # mknod any block
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},    # /dev/null
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},    # /dev/random
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},    # /dev/full
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},    # /dev/tty
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},    # /dev/zero
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},    # /dev/urandom
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},              # /dev/pts/*
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},    # /dev/ptmx
)


def container_device_rules(resource_devices: "Iterable[dict[str, Any]] | None" = ()
                           ) -> "list[dict[str, Any]]":
    """The device rules a container's cgroup gets (at create, and from an ``update`` that
    gives ``devices``): deny all, then ``resource_devices`` (linux.resources.devices) in order,
    then DEFAULT_ALLOWED_DEVICES.  linux.devices entries are not in it: creating a node and
    allowing access to it are separate decisions in the spec, so a node the config creates is
    usable only if these rules allow it (runc and crun alike)."""
    rules: "list[dict[str, Any]]" = [{"allow": False, "access": "rwm"}]
    rules.extend(resource_devices or ())
    rules.extend(DEFAULT_ALLOWED_DEVICES)
    return rules


# struct bpf_cgroup_dev_ctx { u32 access_type /* (access << 16) | type */; u32 major; u32 minor; }
BPF_DEVCG_DEV_BLOCK = 1
BPF_DEVCG_DEV_CHAR = 2
BPF_DEVCG_ACC_MKNOD = 1
BPF_DEVCG_ACC_READ = 2
BPF_DEVCG_ACC_WRITE = 4

# eBPF opcodes used
_LDXW = 0x61        # BPF_LDX | BPF_MEM | BPF_W
_AND32_K = 0x54     # BPF_ALU | BPF_AND | BPF_K
_RSH32_K = 0x74     # BPF_ALU | BPF_RSH | BPF_K
_MOV32_K = 0xB4     # BPF_ALU | BPF_MOV | BPF_K
_MOV32_X = 0xBC     # BPF_ALU | BPF_MOV | BPF_X
_JNE_K = 0x55       # BPF_JMP | BPF_JNE | BPF_K
_JNE_X = 0x5D       # BPF_JMP | BPF_JNE | BPF_X
_EXIT = 0x95        # BPF_JMP | BPF_EXIT

LICENSE = "Apache"


class DeviceRules:
    """State of a v1 devices cgroup after applying rules in order (kernel semantics).

    ``default_allow`` is the behaviour for unmatched devices; ``exceptions`` are (type, major, minor,
    access) entries that flip it.  A type-'a' rule resets everything; a rule of the opposite polarity
    to the default adds an exception; one of the same polarity removes access bits from the exception
    with exactly the same type/major/minor.
    """

    default_allow: bool
    exceptions: "list[list[Any]]"

    def __init__(self, default_allow: bool = True) -> None:
        self.default_allow = default_allow
        self.exceptions = []   # [ [type, major, minor, access(str)] ]

    def apply(self, rule: tuple[bool, str, int, int, str]) -> None:
        allow, typ, major, minor, access = rule
        if typ == "a":
            self.default_allow = allow
            self.exceptions = []
            return
        for ex in self.exceptions:
            if ex[0] == typ and ex[1] == major and ex[2] == minor:
                if allow != self.default_allow:
                    ex[3] = "".join(c for c in "rwm" if c in ex[3] or c in access)
                else:
                    ex[3] = "".join(c for c in ex[3] if c not in access)
                    if not ex[3]:
                        self.exceptions.remove(ex)
                return
        if allow != self.default_allow:
            self.exceptions.append([typ, major, minor, access])

    def allows(self, typ: str, major: int, minor: int, acc: str) -> bool:
        """Model check used by tests: is access ``acc`` (one of r/w/m) to a device allowed?"""
        for ex in self.exceptions:
            if ex[0] == typ and ex[1] in (-1, major) and ex[2] in (-1, minor) and acc in ex[3]:
                return not self.default_allow
        return self.default_allow


def compile_rules(rules: "Iterable[object]", field: str = FIELD) -> DeviceRules:
    """OCI device entries -> DeviceRules (starting from allow-all, the state of a fresh cgroup)."""
    state = DeviceRules(default_allow=True)
    for i, r in enumerate(rules):
        state.apply(normalize_device_rule(r, f"{field}/{i}"))
    return state


def parse_devices_list(text: str) -> DeviceRules:
    """A v1 cgroup's devices.list as a DeviceRules.  The kernel prints "a *:* rwm" alone for a
    cgroup that allows by default (hiding its deny exceptions), else its allow exceptions."""
    lines = text.split()
    if lines[:3] == ["a", "*:*", "rwm"]:
        return DeviceRules(default_allow=True)
    state = DeviceRules(default_allow=False)
    for line in text.splitlines():
        typ, numbers, access = line.split()
        major, minor = (-1 if n == "*" else int(n) for n in numbers.split(":"))
        state.exceptions.append([typ, major, minor, access])
    return state


def transition_v1(current: DeviceRules, target: DeviceRules) -> "list[tuple[str, str]]":
    """The (file, line) writes that turn ``current`` into ``target``: a reset ("a") only when
    the default differs, or when the target allows by default (a default-allow list hides its
    exceptions, so it cannot be diffed); then the access each exception loses, then what each
    gains.  The kernel matches a v1 deny rule against exceptions of exactly the same type and
    numbers, as DeviceRules.apply does."""
    writes: "list[tuple[str, str]]" = []
    old = {} if target.default_allow or current.default_allow != target.default_allow else {
        (t, major, minor): access for t, major, minor, access in current.exceptions}
    if target.default_allow or current.default_allow != target.default_allow:
        writes.append(device_rule_v1((target.default_allow, "a", -1, -1, "rwm")))
    new = {(t, major, minor): access for t, major, minor, access in target.exceptions}
    flip = not target.default_allow   # an exception's polarity: allow in a deny-by-default list
    for (t, major, minor), access in old.items():
        lost = "".join(c for c in access if c not in new.get((t, major, minor), ""))
        if lost:
            writes.append(device_rule_v1((not flip, t, major, minor, lost)))
    for (t, major, minor), access in new.items():
        gained = "".join(c for c in access if c not in old.get((t, major, minor), ""))
        if gained:
            writes.append(device_rule_v1((flip, t, major, minor, gained)))
    return writes


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> "Instruction":
    return (code, dst, src, off, imm)


def build_program(rules: "Iterable[object]", field: str = FIELD) -> "list[Instruction]":
    """Build the eBPF program (list of (code, dst, src, off, imm)) for the given OCI device rules.

    Layout as runc's devicefilter: a prologue loads type/access/major/minor into R2..R5, then one
    block per exception (last rule first, so later rules win), each returning allow/deny on a match,
    and a final block returning the default.
    """
    state = compile_rules(rules, field)
    insns = [
        _insn(_LDXW, 2, 1, 0), _insn(_AND32_K, 2, imm=0xFFFF),     # R2 = type
        _insn(_LDXW, 3, 1, 0), _insn(_RSH32_K, 3, imm=16),         # R3 = access
        _insn(_LDXW, 4, 1, 4),                                     # R4 = major
        _insn(_LDXW, 5, 1, 8),                                     # R5 = minor
    ]
    verdict = 0 if state.default_allow else 1
    for typ, major, minor, access in reversed(state.exceptions):
        block = []   # (insn, is_jump_to_next)
        btype = BPF_DEVCG_DEV_CHAR if typ == "c" else BPF_DEVCG_DEV_BLOCK
        block.append(_insn(_JNE_K, 2, imm=btype))
        bacc = 0
        for ch in access:
            bacc |= {"r": BPF_DEVCG_ACC_READ, "w": BPF_DEVCG_ACC_WRITE, "m": BPF_DEVCG_ACC_MKNOD}[ch]
        if bacc != 7:
            block.append(_insn(_MOV32_X, 1, 3))
            block.append(_insn(_AND32_K, 1, imm=bacc))
            block.append(_insn(_JNE_X, 1, 3))
        if major >= 0:
            block.append(_insn(_JNE_K, 4, imm=major))
        if minor >= 0:
            block.append(_insn(_JNE_K, 5, imm=minor))
        block.append(_insn(_MOV32_K, 0, imm=verdict))
        block.append(_insn(_EXIT))
        n = len(block)
        for j, (code, dst, src, off, imm) in enumerate(block):
            if code in (_JNE_K, _JNE_X):
                block[j] = (code, dst, src, n - (j + 1), imm)
        insns.extend(block)
    insns.append(_insn(_MOV32_K, 0, imm=1 if state.default_allow else 0))
    insns.append(_insn(_EXIT))
    return insns


def encode_program(insns: "list[Instruction]") -> bytes:
    """Serialise to struct bpf_insn[] bytes (little endian: code u8, dst:4|src:4 u8, off s16, imm s32)."""
    out = bytearray()
    for code, dst, src, off, imm in insns:
        out += bytes((code, (dst & 0xF) | ((src & 0xF) << 4)))
        out += int(off).to_bytes(2, "little", signed=True)
        out += int(imm).to_bytes(4, "little", signed=True)
    return bytes(out)


def run_program(insns: "list[Instruction]", dev_type: str, access: str, major: int, minor: int) -> bool:
    """A tiny interpreter for the subset of eBPF build_program emits (for tests and debugging).

    dev_type: 'c' or 'b'; access: one of 'r', 'w', 'm'.  Returns True when the device is allowed.
    """
    t = BPF_DEVCG_DEV_CHAR if dev_type == "c" else BPF_DEVCG_DEV_BLOCK
    a = {"r": BPF_DEVCG_ACC_READ, "w": BPF_DEVCG_ACC_WRITE, "m": BPF_DEVCG_ACC_MKNOD}[access]
    ctx = [(a << 16) | t, major & 0xFFFFFFFF, minor & 0xFFFFFFFF]
    reg = [0] * 11
    pc = 0
    m32 = 0xFFFFFFFF
    while True:
        code, dst, src, off, imm = insns[pc]
        pc += 1
        if code == _LDXW:
            reg[dst] = ctx[off // 4]
        elif code == _AND32_K:
            reg[dst] = (reg[dst] & imm) & m32
        elif code == _RSH32_K:
            reg[dst] = ((reg[dst] & m32) >> imm)
        elif code == _MOV32_K:
            reg[dst] = imm & m32
        elif code == _MOV32_X:
            reg[dst] = reg[src] & m32
        elif code == _JNE_K:
            if reg[dst] != (imm & ((1 << 64) - 1) if imm >= 0 else imm + (1 << 64)):
                pc += off
        elif code == _JNE_X:
            if reg[dst] != reg[src]:
                pc += off
        elif code == _EXIT:
            return reg[0] == 1
        else:
            raise ValueError(f"unknown opcode {code:#x}")
