"""`oci-runtime plan`'s printer (oci_runtime/plan/show.py): each argument read through the op
table and shown by its kind; the JSON keeps the raw values beside the readings."""
import json
import stat

from oci_runtime.executor import wire
from oci_runtime.plan.model import FdArg, Plan
from oci_runtime.plan.show import arguments, plan_as_json, plan_as_text

_SAMPLE_INT = {"fd": FdArg("start.sock (listening)"), "mode": stat.S_IFCHR | 0o666, "perm": 0o22,
               "rlimit": 7, "state": 1, "bool": 1, "capno": 40, "seconds": 5, "size": 24}


def _lines(plan):
    return [" ".join(line.split()[1:]) for line in plan_as_text(plan).splitlines()]


def test_numbers_and_flags_are_shown_by_their_names():
    plan = Plan("create")
    plan.add(wire.RLIMIT, "rlimit", "/process/rlimits/0", (7, 1024, -1))
    plan.add(wire.MKNOD, "mknod", "/linux/devices/0",
             (stat.S_IFCHR | 0o666, 1, 3, 0, 0), ("/dev/null",))
    plan.add(wire.UNSHARE, "unshare", "/linux/namespaces", (0x20000000 | 0x00020000,))
    plan.add(wire.SET_CAPS, "caps", "/process/capabilities", (1 << 5, 1 << 5, 0))
    plan.add(wire.UMASK, "umask", None, (0o22,))
    plan.add(wire.WAIT_START, "start", None, (FdArg("/run/x/c/start.sock (listening)"),))
    assert _lines(plan) == [
        "rlimit resource=RLIMIT_NOFILE soft=1024 hard=unlimited [/process/rlimits/0]",
        "mknod mode=S_IFCHR|0666 device=1:3 uid=0 gid=0 path=/dev/null [/linux/devices/0]",
        "unshare flags=CLONE_NEWNS|CLONE_NEWPID [/linux/namespaces]",
        "set_caps effective=CAP_KILL permitted=CAP_KILL inheritable=none [/process/capabilities]",
        "umask mask=0022",
        "wait_start listener=fd</run/x/c/start.sock (listening)>"]


def test_argv_env_and_groups_are_lists_and_their_counts_implied():
    plan = Plan("create")
    plan.add(wire.EXEC_ARGS, "args", "/process/args", (3, 1),
             (b"sh\0-c\0echo 'hi there'\0", b"PATH=/bin\0"))
    plan.add(wire.SET_IDS, "ids", "/process/user", (1000, 1000, 2, 0),
             ((5).to_bytes(4, "little") + (10).to_bytes(4, "little"),))
    plan.add(wire.RUN_HOOK, "hook", "/hooks/createContainer/0", (0, 1, -1, 0),
             ("/bin/hook", b"/bin/hook\0", b"", "createContainer"))
    assert _lines(plan) == [
        'exec_args argv=["sh", "-c", "echo \'hi there\'"] env=["PATH=/bin"] [/process/args]',
        "set_ids uid=1000 gid=1000 groups=[5, 10] [/process/user]",
        'run_hook state=creating path=/bin/hook argv=["/bin/hook"] kind=createContainer '
        "[/hooks/createContainer/0]"]


def test_json_keeps_the_raw_values_beside_the_readings():
    plan = Plan("create")
    plan.add(wire.RLIMIT, "setting RLIMIT_NOFILE", "/process/rlimits/0", (7, 1024, 2048))
    plan.add(wire.SECCOMP, "seccomp", "/linux/seccomp", (1 | 8, 1), (b"\x06\0\0\0\0\0\xff\x7f",))
    steps = json.loads(plan_as_json(plan))["steps"]
    assert steps[0]["op"] == "rlimit" and steps[0]["what"] == "setting RLIMIT_NOFILE"
    assert steps[0]["arguments"][0] == {"name": "resource", "kind": "rlimit", "value": 7,
                                        "shown": "RLIMIT_NOFILE"}
    assert [a["value"] for a in steps[0]["arguments"]] == [7, 1024, 2048]
    flags, listener, program = steps[1]["arguments"]
    assert flags == {"name": "flags", "kind": "u32", "value": 9, "shown":
                     "SECCOMP_FILTER_FLAG_NEW_LISTENER|SECCOMP_FILTER_FLAG_TSYNC"}
    assert listener["shown"] == "listener"
    assert program["shown"] == "<1 instructions>" and program["value"]["instructions"] == 1


def test_every_argument_kind_of_every_op_has_a_reading():
    """The printer follows the op table: a new op or kind either reads or fails here."""
    for op in wire.OPS:
        ints = [_SAMPLE_INT.get(kind, 1) for _, kind in op.ints]
        strings = []
        for _, kind in op.strings:
            base = kind.partition("/")[0]
            strings.append({"empty": "", "bpf": b"\0" * 8, "u32s": b"\1\0\0\0",
                            "bytes": b"\x0f"}.get(base, "x" if base in ("path", "text") else b"a\0"))
        plan = Plan("create")
        step = plan.add(op, op.doc, None, ints, strings)
        shown = arguments(step)
        assert len(shown) == len(op.ints) + len(op.strings), op
        assert plan_as_text(plan).split()[1] == op.name
        json.loads(plan_as_json(plan))

