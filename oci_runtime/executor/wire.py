"""The plan as the C executor reads it (cext/executor.c), and the sync messages.

Plan: a header, fixed-size steps, then a blob of NUL-terminated strings.  Little-endian.

    header  "OCIPLAN1", u32 version (1), u32 step count, u32 flags (1: an exec plan)
    step    u32 op, u32 index (into the Python plan's steps, for error messages),
            8 x i64 integer arguments, 5 x (u32 offset, u32 length) strings in the blob
            (string 4 is the step's description, used by the executor for errors after `start`)
    blob    the strings, each followed by a NUL byte

Sync messages on a SOCK_SEQPACKET socketpair, one per packet, first byte the type:

    executor -> runtime                          runtime -> executor
    'S' u32 pid   ready for id maps / cgroup     'K'  ok, go on
    'P' u32 pid   the process it forked          'G'  go: u32 len + "creating" hook state,
    'H'           run prestart/createRuntime           u32 len + "created" hook state
    'C'           created (the init waits)       'A'  abort (a hook of the runtime failed)
    'E' u32 step, u32 errno, detail bytes
    'L' + SCM_RIGHTS  a seccomp listener (exec)

The executor and its children all hold the socket close-on-exec: EOF after the last message means
the program was exec'd (exec) or that the init is waiting for `start` (create: 'C' came first).
"""
import struct

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

MAGIC = b"OCIPLAN1"
VERSION = 1
FLAG_EXEC = 1
INTS = 8
STRINGS = 5
_HEADER = struct.Struct("<8sIII")
_STEP = struct.Struct("<II" + "q" * INTS + "II" * STRINGS)

# Operations: the numbers of cext/executor.c's `enum op`.
NONDUMPABLE = 1
SETNS = 2
UNSHARE = 3
SYNC_SETUP = 4
BECOME_ROOT = 5
WRITE_PROC = 6
FORK = 7
SETSID = 8
LOOPBACK_UP = 9
PREPARE_ROOT = 10
MOUNT = 12
MOVE_MOUNT = 13
REMOUNT_BIND = 14
PROPAGATION = 15
SETATTR = 16
WAIT_GO = 17
MKNOD = 18
BIND_DEVICE = 19
SYMLINK = 20
HOOKS_SYNC = 21
RUN_HOOK = 22
MKDIR_P = 23
PIVOT_ROOT = 24
MOVE_ROOT = 25
CHROOT = 26
SYSCTL = 27
READONLY_PATH = 28
MASK_PATH = 29
ROOT_READONLY = 30
CONSOLE = 31
SETHOSTNAME = 32
SETDOMAINNAME = 33
RLIMIT = 34
KEYRING = 35
PERSONALITY = 36
SCHED = 37
IOPRIO = 38
AFFINITY = 39
EXEC_ARGS = 40
SET_HOME = 41
FIND_EXEC = 42
REPORT_CREATED = 43
WAIT_START = 44
FD_SWEEP = 45
DROP_BOUNDING = 46
SET_IDS = 47
SET_CAPS = 48
AMBIENT = 49
UMASK = 50
CHDIR = 51
RELEASE = 52
NO_NEW_PRIVS = 53
SECCOMP = 54
EXEC = 55
STDIO_CHOWN = 56
OOM_SCORE = 57
OPEN_CWD_ROOT = 58
MEMPOLICY = 59

OP_NAMES = {value: name.lower() for name, value in dict(globals()).items()
            if name.isupper() and isinstance(value, int) and 0 < value < 100
            and name not in ("VERSION", "FLAG_EXEC", "INTS", "STRINGS")}

# OP_MOUNT / OP_MOVE_MOUNT bits
MNT_TARGET_FILE = 1
MNT_COPY_UP = 2
MNT_SYSFS_FALLBACK = 4
MNT_CGROUP2_FALLBACK = 8
MNT_TMPFS_MODE = 16
MNT_TREE_FALLBACK = 32
MNT_ORDINARY_DIR = 64
MNT_SOURCE_AT_MOUNT = 128

# sync message types
MSG_SETUP = b"S"
MSG_PID = b"P"
MSG_HOOKS = b"H"
MSG_CREATED = b"C"
MSG_ERROR = b"E"
MSG_LISTENER = b"L"
MSG_OK = b"K"
MSG_GO = b"G"
MSG_ABORT = b"A"


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

    packed = bytearray(_HEADER.pack(MAGIC, VERSION, len(steps), FLAG_EXEC if exec_plan else 0))
    for index, step in enumerate(steps):
        ints = list(step.resolved_ints())
        ints += [0] * (INTS - len(ints))
        strings = list(step.strings) + [b""] * (STRINGS - 1 - len(step.strings)) + [step.what]
        fields: "list[int]" = []
        for value in strings:
            fields.extend(intern(value))
        packed += _STEP.pack(step.op, index, *ints, *fields)
    return bytes(packed + blob)
