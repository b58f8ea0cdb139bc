"""The one definition of what the runtime and the C executor (cext/) say to each other: the plan,
its operations with their argument layouts, and the frames on the sync socket.

The C side is made from this module at build time: cext/generate_format.py writes
cext/generated/format.h (the op enum, each op's argument slots and checks, the handler each op
runs, the frame layouts, the plan's header and step layout) from the tables below; nothing of the
format is written by hand in C.  A test (tests/unit/test_wire_format.py) compiles the C decoder and frame codec and
checks that they read what this module writes.  This module imports only the standard library,
so the generator can load it from its file before the package is built.

Plan: a header, fixed-size steps, then a blob of NUL-terminated strings.  Little-endian.

    header  "OCIPLAN2", u32 format (FORMAT: a digest of these tables), u32 step count, u32 flags
            (1: an exec plan)
    step    u32 op, 8 x i64 integer arguments, 5 x (u32 offset, u32 length) strings in the blob
            (string 4 is the step's description, used by the executor for errors after `start`)
    blob    the strings, each followed by a NUL byte

A step's number is its index in the plan: an error frame names it.  The executor checks a whole
plan against OPS (known op, every integer in its kind's range, unused slots zero, every string
inside the blob, NUL-terminated and of its kind's shape, vectors holding their count, the ops an
op needs earlier present) and refuses a malformed one with one error frame, step PLAN_REFUSED,
before it does anything.

Sync socket: a SOCK_STREAM socketpair carrying frames: u8 type, u32 payload length, payload.  A
payload is its frame's FIELDS in order: "u32" four bytes; "bytes" a u32 length and the bytes, but
the last field, which is the rest of the payload.  No size limit but the u32: the hook states GO
carries are as large as the config's annotations.  A LISTENER frame carries an fd (SCM_RIGHTS)
on its first byte.  The executor and its children hold the socket close-on-exec: EOF after the
last frame means the program was exec'd (exec) or that the init is waiting for `start` (create:
CREATED came first).

The start socket (the init's listener, `start` connecting) has its own three byte strings,
defined in oci_runtime/container/store.py (the hot path of `start` reads them there) and made
into cext/generated/format.h the same way.
"""
import struct

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

MAGIC = b"OCIPLAN2"
FLAG_EXEC = 1
PLAN_FLAGS = FLAG_EXEC  # every flag a plan may carry
INTS = 8
STRINGS = 5
HEADER = struct.Struct("<8sIII")
STEP = struct.Struct("<I" + "q" * INTS + "II" * STRINGS)
# The step number of an error frame about the plan as a whole (refused before any step ran).
PLAN_REFUSED = 0xFFFFFFFF

# MOUNT / MOVE_MOUNT bits (kind "mnt").
MNT_BITS = (
    ("MNT_TARGET_FILE", "the mount point is a file (bind of a file)"),
    ("MNT_COPY_UP", "tmpcopyup: fill the new mount with what was underneath"),
    ("MNT_SYSFS_FALLBACK", "EPERM: bind the host's /sys instead"),
    ("MNT_CGROUP2_FALLBACK", "EPERM/EBUSY: bind the host's /sys/fs/cgroup instead"),
    ("MNT_TMPFS_MODE", "no mode= given: the tmpfs takes the mode of the directory under it"),
    ("MNT_TREE_FALLBACK", "EACCES reaching the source: move the runtime's detached copy (tree)"),
    ("MNT_ORDINARY_DIR", "proc, sysfs: the destination must not be a symlink or a file"),
    ("MNT_SOURCE_AT_MOUNT", "the bind source is looked at when mounting: file or directory"),
)
MNT_TARGET_FILE, MNT_COPY_UP, MNT_SYSFS_FALLBACK, MNT_CGROUP2_FALLBACK, MNT_TMPFS_MODE, \
    MNT_TREE_FALLBACK, MNT_ORDINARY_DIR, MNT_SOURCE_AT_MOUNT = \
    (1 << bit for bit in range(len(MNT_BITS)))


# Kinds of an integer argument: the range the executor accepts, and how `plan` prints it
# (oci_runtime/plan/show.py).  Unsigned 64-bit values (masks, rlimits) travel as signed.
_I64 = (-(1 << 63), (1 << 63) - 1)
INT_KINDS: "dict[str, tuple[int, int]]" = {
    "int": _I64,
    "u64": _I64,                    # unsigned 64-bit, sent as its signed twin
    "ms": _I64,                     # MS_* mount flags
    "cap": _I64,                    # a capability mask
    "attr": _I64,                   # MOUNT_ATTR_* flags
    "ns": (0, (1 << 31) - 1),       # CLONE_NEW* flags
    "fd": (-1, (1 << 31) - 1),      # an fd placed at launch (-1: none)
    "bool": (0, 1),
    "count": (0, (1 << 31) - 1),    # how many strings a vector holds
    "count_or_inherit": (-1, (1 << 31) - 1),  # -1: no vector (the runtime's environment)
    "u32": (0, (1 << 32) - 1),
    "i32": (-(1 << 31), (1 << 31) - 1),
    "id": (0, (1 << 32) - 2),       # a uid or gid ((uid_t)-1 means "unchanged" to the kernel)
    "id_or_keep": (-1, (1 << 32) - 2),
    "mode": (0, 0o177777),          # file type and permission bits
    "perm": (0, 0o777),
    "capno": (0, 63),               # a capability number (a bit of a 64-bit mask)
    "rlimit": (0, 15),              # RLIMIT_* (RLIM_NLIMITS is 16)
    "mnt": (0, (1 << len(MNT_BITS)) - 1),  # MNT_* bits
    "seconds": (0, (1 << 63) - 1),  # 0: no timeout
    "state": (0, 1),                # which hook state GO brought: 0 "creating", 1 "created"
    "size": (0, 0xFFFF),            # a terminal's rows or columns
    "phase": (0, 2),                # chdir's moment (CHDIR)
}

# Kinds of a string argument.  "vector/N": NUL-separated strings, as many as integer slot N says
# ("vector?/N": none at all when N is -1); "u32s/N": N little-endian u32; "bpf": classic BPF
# instructions (8 bytes each, 1 to 4096); "path" and "text": no NUL inside; "bytes": anything;
# "empty": a slot kept for the layout, always ""; "nodemask/N": a bitmask in unsigned longs
# holding at least N - 1 bits (set_mempolicy's maxnode).
STRING_KINDS = ("path", "text", "bytes", "vector", "vector?", "u32s", "bpf", "empty", "nodemask")


class Op:
    """One operation of the executor: its integer and string slots as (name, kind), and the ops
    that must come before it in a plan (``needs``).  ``name`` (the C handler is op_<name>) and
    ``number`` (its position in OPS, from 1) come from the table below.  The slots are read from
    their "name:kind" specs when first asked for (every create imports this module: its import
    is kept to building the table)."""

    __slots__ = ("number", "name", "doc", "int_specs", "string_specs", "needs", "_ints",
                 "_strings")

    def __init__(self, doc: str, ints: "tuple[str, ...]" = (), strings: "tuple[str, ...]" = (),
                 needs: "tuple[Op, ...]" = ()) -> None:
        self.number = 0
        self.name = ""
        self.doc = doc
        self.int_specs = ints
        self.string_specs = strings
        self.needs = needs
        self._ints: "tuple[tuple[str, str], ...] | None" = None
        self._strings: "tuple[tuple[str, str], ...] | None" = None
        if len(ints) > INTS or len(strings) > STRINGS - 1:
            raise ValueError(f"op {doc!r}: too many arguments")

    @property
    def ints(self) -> "tuple[tuple[str, str], ...]":
        """The integer slots as (name, kind)."""
        if self._ints is None:
            self._ints = tuple(_slot(spec, INT_KINDS) for spec in self.int_specs)
        return self._ints

    @property
    def strings(self) -> "tuple[tuple[str, str], ...]":
        """The string slots as (name, kind)."""
        if self._strings is None:
            self._strings = tuple(_slot(spec, STRING_KINDS) for spec in self.string_specs)
        return self._strings

    def count_slot(self, kind: str) -> int:
        """The integer slot a vector or u32s string kind ("vector/argc") counts in."""
        names = [name for name, _ in self.ints]
        return names.index(kind.partition("/")[2])

    def canonical(self) -> str:
        return f"{self.name}{self.int_specs}{self.string_specs}{[op.name for op in self.needs]}"

    def __repr__(self) -> str:
        return f"<op {self.name}>"


def _slot(spec: str, kinds: "dict[str, tuple[int, int]] | tuple[str, ...]") -> "tuple[str, str]":
    name, _, kind = spec.partition(":")
    if kind.partition("/")[0] not in kinds:
        raise ValueError(f"unknown argument kind {kind!r}")
    return name, kind


# ---- the operations ------------------------------------------------------------------------
# In plan order where there is one.  Adding an op is one entry here and its op_<name> function
# in cext/ (the build fails without it); its number is its position.

NONDUMPABLE = Op("prctl(PR_SET_DUMPABLE, 0)")
SETNS = Op("join a namespace", ("fd:fd", "nstype:ns"))
UNSHARE = Op("create namespaces", ("flags:ns",))
SYNC_SETUP = Op("send SETUP(pid), wait for OK (id maps, cgroup)")
BECOME_ROOT = Op("setresgid/setresuid 0 in a new user namespace")
WRITE_PROC = Op("write to a file of the host's procfs (sysctl, oom_score_adj, timens offsets, "
                "LSM labels)", (), ("path:path", "data:text"))
FORK = Op("clone(CLONE_PARENT): the parent sends PID(child) and exits; with a cgroup v2 "
          "directory, clone3(CLONE_INTO_CGROUP) into it", ("cgroup:fd",))
JOIN_CGROUP = Op("write 0 (this thread) to a cgroup's tasks or cgroup.procs file", ("file:fd",))
SETSID = Op("setsid()")
LOOPBACK_UP = Op("bring up lo of a new network namespace")
PREPARE_ROOT = Op("make the rootfs a mount of its own and open it",
                  ("propagation:ms", "no_mount_ns:bool"), ("rootfs:path", "parent_mount:path"))
MOUNT = Op("mount on a destination in the root",
           ("flags:ms", "bits:mnt", "fallback_flags:ms", "tree:fd"),
           ("source:path", "destination:path", "type:text", "data:text"))
MOVE_MOUNT = Op("move a detached mount onto a destination in the root", ("tree:fd", "bits:mnt"),
                ("unused:empty", "destination:path"))
REMOUNT_BIND = Op("remount a bind mount with flags, keeping its locked ones",
                  ("flags:ms", "cleared:ms"), ("unused:empty", "destination:path"))
PROPAGATION = Op("set a mount's propagation", ("flags:ms",), ("unused:empty", "destination:path"))
SETATTR = Op("mount_setattr(2), recursively", ("attr_set:attr", "attr_clr:attr"),
             ("unused:empty", "destination:path"))
WAIT_GO = Op("wait for GO (the runtime placed the init; the hook states)")
MKNOD = Op("make a device node in the root",
           ("mode:mode", "major:u32", "minor:u32", "uid:id", "gid:id"), ("path:path",))
BIND_DEVICE = Op("bind a host device node into the root", (), ("host_path:path", "path:path"))
SYMLINK = Op("make a symlink in the root", ("replace:bool",), ("target:path", "path:path"))
HOOKS_SYNC = Op("send HOOKS, wait for OK (prestart, createRuntime)")
RUN_HOOK = Op("run a hook in the container's namespaces",
              ("timeout:seconds", "argc:count", "envc:count_or_inherit", "state:state"),
              ("path:path", "argv:vector/argc", "env:vector?/envc", "kind:text"), (WAIT_GO,))
MKDIR_P = Op("mkdir -p in the root", (), ("path:path",))
PIVOT_ROOT = Op("pivot_root into the root")
MOVE_ROOT = Op("--no-pivot: MS_MOVE the root over / and chroot")
CHROOT = Op("no mount namespace: chroot only")
READONLY_PATH = Op("bind a path in the root read-only", (), ("path:path",))
MASK_PATH = Op("mask a path in the root", (), ("path:path",))
ROOT_READONLY = Op("remount the root read-only")
CONSOLE = Op("a pty of the root's devpts as stdio; its master to the console socket",
             ("socket:fd", "rows:size", "cols:size", "uid:id_or_keep", "gid:id_or_keep"))
SETHOSTNAME = Op("sethostname", (), ("name:text",))
SETDOMAINNAME = Op("setdomainname", (), ("name:text",))
RLIMIT = Op("setrlimit", ("resource:rlimit", "soft:u64", "hard:u64"))
KEYRING = Op("join a new session keyring", (), ("name:text",))
PERSONALITY = Op("personality(2)", ("persona:u32",))
SCHED = Op("sched_setattr", ("policy:u32", "flags:u64", "nice:i32", "priority:u32",
                             "runtime:u64", "deadline:u64", "period:u64"))
IOPRIO = Op("ioprio_set", ("value:i32",))
AFFINITY = Op("sched_setaffinity", (), ("mask:bytes",))
EXEC_ARGS = Op("the process's argv and environment", ("argc:count", "envc:count"),
               ("argv:vector/argc", "env:vector/envc"))
SET_HOME = Op("HOME from the root's /etc/passwd", ("uid:id",), (), (EXEC_ARGS,))
FIND_EXEC = Op("look up args[0] in the root like execvp", (),
               ("arg0:path", "search:text", "cwd:path"))
REPORT_CREATED = Op("send CREATED and close the sync socket")
WAIT_START = Op("wait for `start` on the listener", ("listener:fd",))
FD_SWEEP = Op("mark fds close-on-exec but stdio and the preserved ones", ("preserved:count",))
DROP_BOUNDING = Op("drop capabilities from the bounding set", ("keep:cap", "last_cap:capno"))
SET_IDS = Op("setgroups, setresgid, setresuid (capabilities kept)",
             ("uid:id", "gid:id", "ngroups:count", "setgroups_denied:bool"),
             ("groups:u32s/ngroups",))
SET_CAPS = Op("capset", ("effective:cap", "permitted:cap", "inheritable:cap"))
AMBIENT = Op("raise ambient capabilities", ("mask:cap",))
UMASK = Op("umask", ("mask:perm",))
CHDIR = Op("chdir; when: 0 plain, 1 before the user changes (EACCES and EPERM wait for 2), 2 "
           "after it (skipped once 1 succeeded)", ("when:phase",), ("path:path",))
RELEASE = Op("tell `start` everything but execve is done")
NO_NEW_PRIVS = Op("prctl(PR_SET_NO_NEW_PRIVS)")
SECCOMP = Op("load the seccomp filter (and send its listener)", ("flags:u32", "listener:bool"),
             ("program:bpf",))
EXEC = Op("execve", (), (), (EXEC_ARGS, FIND_EXEC))
STDIO_CHOWN = Op("give stdio to the process user", ("uid:id", "gid:id"))
OPEN_CWD_ROOT = Op("the root is / of this mount namespace (exec)")
MEMPOLICY = Op("set_mempolicy(2): mode with its flags, the nodes as unsigned longs",
               ("mode:i32", "maxnode:count"), ("nodemask:nodemask/maxnode",))


def _number_ops() -> "tuple[Op, ...]":
    """Each op of the table above named after its constant and numbered in order."""
    ops = [(name, value) for name, value in globals().items() if isinstance(value, Op)]
    for number, (name, op) in enumerate(ops, start=1):
        op.number = number
        op.name = name.lower()
    return tuple(op for _, op in ops)


OPS = _number_ops()
OP_NAMES = {op: op.name for op in OPS}

class Frame:
    """A frame type of the sync socket: its type byte, who sends it, its payload fields."""

    __slots__ = ("name", "kind", "sender", "fields", "doc")

    def __init__(self, name: str, kind: bytes, sender: str, fields: "Sequence[str]",
                 doc: str) -> None:
        self.name = name
        self.kind = kind
        self.sender = sender
        self.fields = tuple(_slot(spec, ("u32", "bytes")) for spec in fields)
        self.doc = doc


FRAMES = (
    Frame("setup", b"S", "executor", ("pid:u32",), "ready for the id maps or the cgroup"),
    Frame("pid", b"P", "executor", ("pid:u32",), "the process it forked"),
    Frame("hooks", b"H", "executor", (), "run the prestart and createRuntime hooks now"),
    Frame("created", b"C", "executor", (), "created: the init waits for `start`"),
    Frame("error", b"E", "executor", ("step:u32", "errno:u32", "detail:bytes"),
          "a step failed (step PLAN_REFUSED: the plan was refused)"),
    Frame("listener", b"L", "executor", (), "a seccomp listener (exec), its fd attached"),
    Frame("ok", b"K", "runtime", (), "go on"),
    Frame("go", b"G", "runtime", ("creating:bytes", "created:bytes"),
          "go on: the init is placed; the hook states"),
    Frame("abort", b"A", "runtime", (), "a hook of the runtime failed: exit"),
)
FRAME_BY_KIND = {frame.kind: frame for frame in FRAMES}
FRAME_HEADER = struct.Struct("<cI")

MSG_SETUP, MSG_PID, MSG_HOOKS, MSG_CREATED, MSG_ERROR, MSG_LISTENER, MSG_OK, MSG_GO, MSG_ABORT = \
    (frame.kind for frame in FRAMES)


def _format_digest() -> int:
    """The plan's format number: any change to the tables changes it, so an executor built from
    other tables refuses the plan ("reinstall") instead of misreading it."""
    import zlib

    text = repr((MAGIC, HEADER.format, STEP.format, PLAN_FLAGS, INT_KINDS, STRING_KINDS,
                 [op.canonical() for op in OPS], MNT_BITS,
                 [(f.name, f.kind, f.fields) for f in FRAMES]))
    return zlib.crc32(text.encode())


FORMAT = _format_digest()


def pack_frame(kind: bytes, *fields: "int | bytes") -> bytes:
    """A whole frame (header and payload) of type ``kind`` with ``fields`` in FRAMES' order."""
    frame = FRAME_BY_KIND[kind]
    if len(fields) != len(frame.fields):
        raise ValueError(f"frame {frame.name}: {len(frame.fields)} fields, {len(fields)} given")
    parts = []
    for position, ((_, field_kind), value) in enumerate(zip(frame.fields, fields)):
        if field_kind == "u32":
            assert isinstance(value, int)
            parts.append(value.to_bytes(4, "little"))
        else:
            assert isinstance(value, bytes)
            if position < len(fields) - 1:
                parts.append(len(value).to_bytes(4, "little"))
            parts.append(value)
    payload = b"".join(parts)
    return FRAME_HEADER.pack(kind, len(payload)) + payload


def unpack_frame(kind: bytes, payload: bytes) -> "tuple[int | bytes, ...]":
    """The fields of a frame's payload; ValueError when it does not hold them exactly."""
    frame = FRAME_BY_KIND.get(kind)
    if frame is None:
        raise ValueError(f"unknown frame type {kind!r}")
    values: "list[int | bytes]" = []
    at = 0
    for position, (name, field_kind) in enumerate(frame.fields):
        last = position == len(frame.fields) - 1
        if field_kind == "u32" or not last:
            if at + 4 > len(payload):
                raise ValueError(f"frame {frame.name}: short {name}")
            number = int.from_bytes(payload[at:at + 4], "little")
            at += 4
            if field_kind == "u32":
                values.append(number)
                continue
            if at + number > len(payload):
                raise ValueError(f"frame {frame.name}: short {name}")
            values.append(payload[at:at + number])
            at += number
        else:
            values.append(payload[at:])
            at = len(payload)
    if at != len(payload):
        raise ValueError(f"frame {frame.name}: {len(payload) - at} bytes too many")
    return tuple(values)


def encode(steps: "Sequence[Any]", exec_plan: bool = False) -> bytes:
    """The bytes of a plan for the executor; ``steps`` are plan.model.Step with resolved fds
    (typed Any: plan/ is the layer above, which the executor's side does not import)."""
    blob = bytearray()
    strings_at: "dict[bytes, int]" = {}

    def intern(value: str | bytes) -> "tuple[int, int]":
        if isinstance(value, str):
            value = value.encode()
        offset = strings_at.get(value)
        if offset is None:
            offset = strings_at[value] = len(blob)
            blob.extend(value)
            blob.append(0)
        return offset, len(value)

    packed = bytearray(HEADER.pack(MAGIC, FORMAT, len(steps), FLAG_EXEC if exec_plan else 0))
    for step in steps:
        ints = list(step.resolved_ints())
        ints += [0] * (INTS - len(ints))
        strings = list(step.strings) + [b""] * (STRINGS - 1 - len(step.strings)) + [step.what]
        fields: "list[int]" = []
        for value in strings:
            fields.extend(intern(value))
        packed += STEP.pack(step.op.number, *ints, *fields)
    return bytes(packed + blob)
