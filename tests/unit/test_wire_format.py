"""The runtime and the executor read the same formats (oci_runtime/executor/wire.py is their one
definition; cext/generated/format.h is made from it).

A small C program built from the executor's own decoder (cext/plan.c) and frame codec
(cext/frames.c) reads what Python writes: a plan compiled from a bundle, every frame type; and
Python reads what it writes.  If either side stops following the table (a hand-written offset, a
renumbered op, a field added on one side), these fail.  The installed executor is checked too:
it must have been built from these tables (it refuses a plan of another format), and it refuses a
malformed plan whole, with one error frame, before its first step."""
import os
import shutil
import socket
import struct
import subprocess

import pytest

from oci_runtime.executor import wire
from tests.executor_c import CEXT, format_header_directory


DRIVER = r"""
#include "executor.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What plan.c and frames.c reference of the executor but do not use here. */
uint32_t current_step;
void fail_detail(int err, const char *detail) { (void)err; (void)detail; abort(); }
void fail(int err) { (void)err; abort(); }

static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    size_t capacity = 1 << 20;
    char *data = malloc(capacity);
    *size = fread(data, 1, capacity, f);
    fclose(f);
    return data;
}

static void hex(const char *p, size_t len)
{
    for (size_t k = 0; k < len; k++)
        printf("%02x", (unsigned char)p[k]);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "constants") == 0) {
        printf("format %u\nheader %d\nstep %d\nops %d\n", PLAN_FORMAT, PLAN_HEADER_SIZE,
               STEP_SIZE, OP_COUNT - 1);
        const char *types = "SPHCELKGA";
        for (const char *t = types; *t; t++)
            printf("frame %c =%s\n", *t, frame_fields(*t) ? frame_fields(*t) : "-");
        printf("start ");
        hex(START_REQUEST, START_REQUEST_SIZE);
        printf(" ");
        hex(START_RELEASED, START_RELEASED_SIZE);
        printf(" ");
        hex(SECCOMP_LISTENER_MESSAGE, SECCOMP_LISTENER_MESSAGE_SIZE);
        printf("\n");
        return 0;
    }
    size_t size;
    char *data = slurp(argv[2], &size);
    if (strcmp(argv[1], "plan") == 0) {
        struct plan plan;
        char why[512];
        if (decode_plan(data, size, &plan, why, sizeof(why)) < 0) {
            printf("refused %s\n", why);
            return 0;
        }
        printf("plan %u %u\n", plan.count, plan.flags);
        for (uint32_t k = 0; k < plan.count; k++) {
            const struct step *st = &plan.steps[k];
            printf("%u", st->op);
            for (int n = 0; n < STEP_INTS; n++)
                printf(" %lld", (long long)st->i[n]);
            for (int n = 0; n < STEP_STRINGS; n++) {
                printf(" ");
                hex(st->s[n].p, st->s[n].len);
            }
            printf("\n");
        }
        return 0;
    }
    /* frame PAYLOAD_FILE TYPE: the fields, then the frame packed again from them */
    char type = argv[3][0];
    struct field fields[FRAME_MAX_FIELDS];
    if (frame_parse(type, data, size, fields) < 0) {
        printf("malformed\n");
        return 0;
    }
    const char *layout = frame_fields(type);
    for (size_t n = 0; layout[n]; n++) {
        if (layout[n] == 'u') {
            printf("u%u ", fields[n].number);
        } else {
            printf("b");
            hex(fields[n].p, fields[n].len);
            printf(" ");
        }
    }
    char *packed = malloc(frame_size(type, fields));
    frame_pack(type, fields, packed);
    printf("\n");
    hex(packed, frame_size(type, fields));
    printf("\n");
    return 0;
}
"""


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed (apt-get install gcc libc6-dev)")
    directory = tmp_path_factory.mktemp("wire")
    generated = format_header_directory(directory)
    source = directory / "driver.c"
    source.write_text(DRIVER)
    program = directory / "driver"
    subprocess.run([gcc, "-O1", "-Wall", "-Wextra", "-Werror", "-I", str(generated), "-I", CEXT,
                    "-o", str(program), str(source), os.path.join(CEXT, "plan.c"),
                    os.path.join(CEXT, "frames.c")], check=True)

    def run(*args, data=None):
        if data is not None:
            path = directory / "input"
            path.write_bytes(data)
            args = (args[0], str(path), *args[1:])
        return subprocess.run([str(program), *args], capture_output=True, text=True,
                              check=True).stdout
    return run


def test_the_constants_of_both_sides_agree(driver):
    from oci_runtime.container.store import (SECCOMP_LISTENER_MESSAGE, START_RELEASED,
                                             START_REQUEST)

    lines = driver("constants").splitlines()
    assert lines[:4] == [f"format {wire.FORMAT}", f"header {wire.HEADER.size}",
                         f"step {wire.STEP.size}", f"ops {len(wire.OPS)}"]
    frames = {line.split()[1]: line.split()[2] for line in lines if line.startswith("frame")}
    for frame in wire.FRAMES:
        layout = "".join("u" if kind == "u32" else "b" for _, kind in frame.fields)
        assert frames.pop(frame.kind.decode()) == "=" + layout, frame.name
    assert frames == {}
    assert lines[-1] == "start " + " ".join(value.hex() for value in (
        START_REQUEST, START_RELEASED, SECCOMP_LISTENER_MESSAGE))


def _plan_bytes(tmp_path, exec_plan=False):
    from tests.unit.test_plan import compiled, config_of

    plan = compiled(config_of(tmp_path, hooks={"createContainer": [
        {"path": "/bin/true", "args": ["true", "a"], "env": ["A=1"], "timeout": 5}]},
        process={"args": ["sh", "-c", "x"], "cwd": "/", "env": ["PATH=/bin"],
                 "user": {"uid": 1, "gid": 2, "additionalGids": [3, 4]}}))
    targets = {fd_arg: 100 + n for n, fd_arg in enumerate(plan.fd_args())}
    for step in plan.steps:
        step.targets = targets
    return plan, wire.encode(plan.steps, exec_plan=exec_plan)


def test_the_c_decoder_reads_the_plan_python_writes(driver, tmp_path):
    plan, data = _plan_bytes(tmp_path)
    lines = driver("plan", data=data).splitlines()
    assert lines[0] == f"plan {len(plan.steps)} 0", lines[0]
    for step, line in zip(plan.steps, lines[1:], strict=True):
        fields = line.split(" ")
        assert int(fields[0]) == step.op.number
        ints = list(step.resolved_ints()) + [0] * (wire.INTS - len(step.ints))
        assert [int(value) for value in fields[1:1 + wire.INTS]] == ints, step.op.name
        strings = [s.encode() if isinstance(s, str) else s for s in step.strings]
        strings += [b""] * (wire.STRINGS - 1 - len(strings)) + [step.what.encode()]
        assert [bytes.fromhex(value) for value in fields[1 + wire.INTS:]] == strings


@pytest.mark.parametrize("frame", wire.FRAMES, ids=lambda frame: frame.name)
def test_the_c_codec_reads_and_writes_every_frame_as_python_does(driver, frame):
    samples = {"u32": [0, 7, 0xFFFFFFFF], "bytes": [b"", b"x", b"\0state\xff" * 50]}
    values = [samples[kind][(position + 1) % 3] for position, (_, kind) in enumerate(frame.fields)]
    packed = wire.pack_frame(frame.kind, *values)
    kind, length = wire.FRAME_HEADER.unpack(packed[:5])
    payload = packed[5:]
    assert (kind, length) == (frame.kind, len(payload))
    assert wire.unpack_frame(kind, payload) == tuple(values)
    fields_line, repacked = driver("frame", frame.kind.decode(), data=payload).splitlines()
    shown = [f"u{value}" if isinstance(value, int) else "b" + value.hex() for value in values]
    assert fields_line.split() == shown
    assert bytes.fromhex(repacked) == packed


@pytest.mark.parametrize("frame", [f for f in wire.FRAMES if f.fields], ids=lambda f: f.name)
def test_a_short_or_long_frame_is_malformed_on_both_sides(driver, frame):
    values = [5 if kind == "u32" else b"abc" for _, kind in frame.fields]
    payload = wire.pack_frame(frame.kind, *values)[5:]
    for bad in (payload[:-1] if frame.fields[-1][1] == "u32" else payload[:3], payload + b"\0"
                if frame.fields[-1][1] == "u32" else None):
        if bad is None:
            continue
        with pytest.raises(ValueError):
            wire.unpack_frame(frame.kind, bad)
        assert driver("frame", frame.kind.decode(), data=bad).strip() == "malformed"


def _malformed(data):
    """Plans each wrong in one way the decoder must refuse, by what is wrong."""
    header = wire.HEADER.size
    step = wire.STEP.size
    count = struct.unpack_from("<I", data, 12)[0]

    def with_u32(offset, value):
        return data[:offset] + struct.pack("<I", value) + data[offset + 4:]

    def with_i64(offset, value):
        return data[:offset] + struct.pack("<q", value) + data[offset + 8:]

    first_int = header + 4
    yield "magic", b"OCIPLAN1" + data[8:]
    yield "format", with_u32(8, wire.FORMAT ^ 1)
    yield "flags", with_u32(16, 2)
    yield "count", with_u32(12, count + 1)
    yield "truncated", data[:header + step * count - 1]
    yield "op zero", with_u32(header, 0)
    yield "op unknown", with_u32(header, len(wire.OPS) + 1)
    yield "unused integer", with_i64(first_int + 8 * 7, 1)
    strings = header + 4 + 8 * wire.INTS
    yield "string outside", with_u32(strings, len(data))
    yield "string length", with_u32(strings + 4, 0xFFFFFFFF)


def test_the_c_decoder_refuses_malformed_plans(driver, tmp_path):
    _, data = _plan_bytes(tmp_path)
    for what, bad in _malformed(data):
        assert driver("plan", data=bad).startswith("refused "), what


def _run_executor(data):
    """The installed executor on raw plan bytes: (frames it sent, exit status)."""
    from oci_runtime.executor.session import sealed_copy

    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    plan_fd = os.memfd_create("plan")
    os.write(plan_fd, data)
    executor = sealed_copy()
    # Above every fd of ours: a dup2 onto the memfd's own number would exec the plan.
    base = max(plan_fd, executor, child.fileno(), parent.fileno()) + 1
    try:
        pid = os.posix_spawn(f"/proc/self/fd/{executor}",
                             ["oci-runtime-executor", str(base), str(base + 1)], {},
                             file_actions=[(os.POSIX_SPAWN_DUP2, plan_fd, base),
                                           (os.POSIX_SPAWN_DUP2, child.fileno(), base + 1)])
    finally:
        child.close()
        os.close(plan_fd)
        os.close(executor)
    # Frames until EOF, or until a SETUP (the executor then waits for OK: closing ends it).
    frames = []
    received = b""
    parent.settimeout(30)
    while chunk := parent.recv(65536):
        received += chunk
        while len(received) >= 5:
            kind, length = wire.FRAME_HEADER.unpack(received[:5])
            if len(received) < 5 + length:
                break
            frames.append((kind, wire.unpack_frame(kind, received[5:5 + length])))
            received = received[5 + length:]
        if frames and frames[-1][0] == wire.MSG_SETUP:
            break
    parent.close()
    _, status = os.waitpid(pid, 0)
    return frames, os.waitstatus_to_exitcode(status)


def _step(op, ints=(), strings=()):
    class Step:
        pass

    step = Step()
    step.op, step.ints, step.strings, step.what = op, ints, strings, op.name
    step.resolved_ints = lambda: iter(ints)
    return step


def test_the_installed_executor_was_built_from_these_tables():
    """A plan the executor reads runs: a SETUP frame with its pid (then it waits for OK: EOF)."""
    frames, status = _run_executor(wire.encode([_step(wire.SYNC_SETUP)]))
    assert [kind for kind, _ in frames] == [wire.MSG_SETUP], frames
    assert status == 1


@pytest.mark.parametrize("what", ["format", "op unknown", "unused integer", "string outside"])
def test_the_executor_refuses_a_malformed_plan_before_its_first_step(what):
    """Step 0 would send SETUP; a fault in step 1 refuses the whole plan first: one error frame
    naming no step (PLAN_REFUSED), nothing else."""
    good = wire.encode([_step(wire.SYNC_SETUP), _step(wire.SETSID)])
    header, step = wire.HEADER.size, wire.STEP.size
    second = header + step
    if what == "format":
        bad = good[:8] + struct.pack("<I", wire.FORMAT ^ 1) + good[12:]
    elif what == "op unknown":
        bad = good[:second] + struct.pack("<I", 999) + good[second + 4:]
    elif what == "unused integer":
        bad = good[:second + 4] + struct.pack("<q", 5) + good[second + 12:]
    else:
        strings = second + 4 + 8 * wire.INTS
        bad = good[:strings] + struct.pack("<I", 1 << 20) + good[strings + 4:]
    frames, status = _run_executor(bad)
    assert len(frames) == 1 and frames[0][0] == wire.MSG_ERROR, frames
    step_index, errno, detail = frames[0][1]
    assert step_index == wire.PLAN_REFUSED and errno == 22 and detail, frames
    assert status == 1
