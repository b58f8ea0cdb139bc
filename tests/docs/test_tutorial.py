"""docs/tutorial.md runs as written: each section's shell session (after the tutorial's setup,
"Before you start", in the same shell) and each Python example, their output compared with the
document's (tests/docs/markdown_examples.py: the placeholders, OCI_DOCS_UPDATE=1 to regenerate).

The tutorial names its own things (state root /run/tut, cgroups /tut/..., containers tut-...,
veth tut-a/tut-b, 10.127.0.0/24), so two runs of this module at once (two checkouts' test suites
on one machine) would take each other's: a machine-wide lock keeps them one at a time.  After
each section the tutorial's own "Cleaning up" section runs; whatever it leaves is a failure (and
is removed, so that the next section starts clean).

Blocks marked `*needs: cgroup v2*` or `*needs: systemd*` run where the host has them: in the v2
test bed, through scripts/test-v2 (which runs this module there; the other sections skip there,
having run on the host).
"""
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from tests.docs import markdown_examples as examples

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(REPO, "docs", "tutorial.md")
SETUP_SECTION = "Before you start"
CLEANUP_SECTION = "Cleaning up"
LOCK = "/tmp/oci-runtime-tutorial.lock"
STATE_ROOTS = ("/run/tut", "/run/tut-runc")
CGROUP = "tut"
NET_DEVICES = ("tut-a", "tut-b")
# scripts/test-v2 sets it: only what needs cgroup v2 or systemd runs there, under emulation
# (a command takes 20 to 50 times longer).
IN_THE_V2_BED = os.environ.get("OCI_TUTORIAL_V2BED") == "1"
TIMEOUT = 900 if IN_THE_V2_BED else 300

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")

BLOCKS = examples.parse(DOC)
SETUP = [block for block in BLOCKS if block.kind == "console" and block.section == SETUP_SECTION]
CLEANUP = [block for block in BLOCKS if block.kind == "console" and block.section == CLEANUP_SECTION]
SECTIONS = list(dict.fromkeys(block.section for block in BLOCKS if block.kind == "console"
                              and block.section not in (SETUP_SECTION, CLEANUP_SECTION)))
PYTHON = [block for block in BLOCKS if block.kind == "python"]


def _host() -> "set[str]":
    """What the blocks' `needs` may ask for that this host has."""
    from oci_runtime.cgroups import detect_mode

    mode = detect_mode("/sys/fs/cgroup")
    has = {"cgroup v2"} if mode == "v2" else {"cgroup v1"} if mode in ("v1", "hybrid") else set()
    if mode == "v2" and os.path.isdir("/run/systemd/system"):
        has.add("systemd")
    return has


HOST = _host()
SPECIAL = {"cgroup v2", "systemd"}


def _runs_here(blocks: "list[examples.Block]") -> None:
    """Skip unless some of ``blocks`` run on this host; in the v2 test bed, unless some need
    what only it has (the rest ran on the host)."""
    wanted = {block.needs for block in blocks if block.needs}
    if IN_THE_V2_BED and not wanted & SPECIAL:
        pytest.skip("nothing in it needs cgroup v2 or systemd: it runs on the host")
    if not any(block.needs is None or block.needs in HOST for block in blocks):
        pytest.skip(f"needs {' or '.join(sorted(wanted))}, which this host lacks: "
                    "scripts/test-v2 runs it in the v2 test bed")


def _selected(blocks: "list[examples.Block]") -> "list[examples.Block]":
    return [block for block in blocks if block.needs is None or block.needs in HOST]


def test_the_tutorial_has_its_parts():
    assert SETUP and CLEANUP, f"{DOC} lost its {SETUP_SECTION!r} or {CLEANUP_SECTION!r} section"
    assert len(SECTIONS) >= 10 and len(PYTHON) >= 8
    for block in BLOCKS:
        assert block.needs in (None, "cgroup v1", "cgroup v2", "systemd"), \
            f"line {block.line + 1}: needs {block.needs!r}"
        assert block.kind == "console" or block is PYTHON[0] or block.output is not None, \
            f"line {block.line + 1}: a Python example without the ```text block of what it prints"


@contextlib.contextmanager
def _one_at_a_time():
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture
def session_env():
    """The environment of a session: TMPDIR a private directory (the tutorial's `mktemp -d`),
    world-searchable as a user namespace's root must reach the rootfs; removed afterwards."""
    private = tempfile.mkdtemp(prefix="tut-test-", dir="/tmp")
    os.chmod(private, 0o755)
    env = dict(os.environ, TMPDIR=private)
    env.pop("OCI_DOCS_UPDATE", None)
    yield env
    shutil.rmtree(private, ignore_errors=True)


def _leftovers() -> "list[str]":
    found = [root for root in STATE_ROOTS if os.path.exists(root)]
    found += [f"network device {name}" for name in NET_DEVICES
              if os.path.exists(f"/sys/class/net/{name}")]
    for base in ["/sys/fs/cgroup"] + [f"/sys/fs/cgroup/{c}" for c in os.listdir("/sys/fs/cgroup")]:
        if os.path.isdir(os.path.join(base, CGROUP)):
            found.append(os.path.join(base, CGROUP))
    return found


def _clean_up(env: "dict[str, str]", remove_cgroup_tree) -> "list[str]":
    """Run the tutorial's "Cleaning up" section; return what it left, after removing that."""
    commands = [command for block in _selected(SETUP + CLEANUP) for command in block.commands]
    examples.run_session(commands, cwd=REPO, env=env, timeout=TIMEOUT)
    left = _leftovers()
    if left:
        runtime = [os.path.join(os.path.dirname(sys.executable), "oci-runtime")]
        for root in STATE_ROOTS[:1]:
            if os.path.isdir(root):
                for name in os.listdir(root):
                    subprocess.run(runtime + ["--root", root, "delete", "--force", name],
                                   capture_output=True)
        for root in STATE_ROOTS:
            shutil.rmtree(root, ignore_errors=True)
        for name in NET_DEVICES:
            subprocess.run(["ip", "link", "del", name], capture_output=True)
        remove_cgroup_tree(CGROUP)
    return left


def _compare(ran: "list[examples.Ran]", bindings: "dict[str, str]",
             what: "str | None" = None) -> "list[str]":
    """Problems with the commands of one session (or one Python example: ``what``), in order;
    with OCI_DOCS_UPDATE=1, the document rewritten instead of problems of output."""
    problems, replacements = [], []
    for item in ran:
        name = what or f"$ {item.command.text}"
        found = examples.match(item.command.expected, item.printed, bindings)
        if found is not None:
            bindings = found
        else:
            new = examples.regenerated(item.command.expected, item.printed, bindings)
            replacements.append((item.command, new))
            if not examples.UPDATE:
                problems.append(f"{name}\nexpected:\n" + "\n".join(item.command.expected)
                                + "\nprinted:\n" + "\n".join(new))
        if item.status != 0:
            problems.append(f"{name}\nexited with status {item.status}")
    if examples.UPDATE and replacements:
        examples.rewrite(DOC, replacements)
    return problems


REGENERATE = ("(if only what a command prints changed, OCI_DOCS_UPDATE=1 .venv/bin/python -m "
              "pytest tests/docs/test_tutorial.py rewrites the document: review it with git diff)")


@pytest.mark.parametrize("section", SECTIONS)
def test_section(section, session_env, cgroup_tree_remover):
    blocks = [block for block in BLOCKS if block.kind == "console" and block.section == section]
    _runs_here(blocks)
    setup = _selected(SETUP)
    chosen = setup + _selected(blocks)
    with _one_at_a_time():
        try:
            ran = examples.run_session([command for block in chosen for command in block.commands],
                                       cwd=REPO, env=session_env, timeout=TIMEOUT)
        finally:
            left = _clean_up(session_env, cgroup_tree_remover)
        problems = _compare(ran, {})
        assert not problems, ("\n\n".join(problems) + f"\n\n{REGENERATE}\n\nthe whole session:\n"
                              + examples.transcript(ran))
        assert not left, f"the tutorial's {CLEANUP_SECTION!r} left {left}"


@pytest.mark.parametrize("example", PYTHON[1:], ids=[block.heading for block in PYTHON[1:]])
def test_python_example(example, session_env, cgroup_tree_remover):
    _runs_here([example])
    with _one_at_a_time():
        try:
            result = examples.run_python(PYTHON[0].code, example.code, "", cwd=REPO,
                                         env=session_env, timeout=TIMEOUT)
        finally:
            left = _clean_up(session_env, cgroup_tree_remover)
        printed = result.stdout.split("\n")
        assert example.output is not None
        ran = [examples.Ran(example.output, printed, result.returncode)]
        problems = _compare(ran, {}, f"the example {example.heading!r}")
        assert not problems, "\n\n".join(problems) + f"\n\n{REGENERATE}"
        assert not left, f"the tutorial's {CLEANUP_SECTION!r} left {left}"
