"""Fixtures for the cgroup tests.

Real tests create cgroups only under /oci-runtime-test-<random> (in every hierarchy), track every child
they spawn, and always kill/reap those children (by pid) and remove the test cgroups, even on failure.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from tests.waiting import FAILURE_AFTER

CGROOT = "/sys/fs/cgroup"


def pytest_configure(config):
    config.addinivalue_line("markers", "v2: needs a pure cgroup v2 host (run in the v2bed VM)")
    config.addinivalue_line("markers", "systemd: needs systemd as PID 1 on a cgroup v2 host (v2bed --systemd)")
    config.addinivalue_line("markers", "hybrid: needs this kind of cgroup v1/hybrid host")
    config.addinivalue_line("markers", "common: real cgroup test that runs on every mode (v1, hybrid, v2)")


def host_mode():
    try:
        from oci_runtime.cgroups import detect_mode
        return detect_mode(CGROOT)
    except Exception:
        return None


def pytest_collection_modifyitems(config, items):
    mode = host_mode()
    root = os.geteuid() == 0
    systemd = os.path.isdir("/run/systemd/system")
    for item in items:
        if item.get_closest_marker("v2") and mode != "v2":
            item.add_marker(pytest.mark.skip(reason=f"needs a pure cgroup v2 host (this one is {mode}); "
                                                    f"run it in /work/shared/v2bed/v2run"))
        if item.get_closest_marker("systemd") and not systemd:
            item.add_marker(pytest.mark.skip(reason="systemd is not PID 1 here; run with v2run --systemd"))
        if item.get_closest_marker("hybrid") and mode not in ("v1", "hybrid"):
            item.add_marker(pytest.mark.skip(reason=f"needs a cgroup v1/hybrid host (this one is {mode})"))
        if ("real" in item.fixturenames or "mgr" in item.fixturenames) and not root:
            item.add_marker(pytest.mark.skip(reason="real cgroup tests need root"))


def _cgroup_mounts():
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] in ("cgroup", "cgroup2") and fields[4].startswith(CGROOT):
                out.append(fields[4])
    return out


def _rmtree_cgroup(path, timeout=FAILURE_AFTER):
    deadline = time.monotonic() + timeout
    while os.path.isdir(path):
        dirs = [d for d, _s, _f in os.walk(path)]
        for d in reversed(dirs):
            try:
                fz = os.path.join(d, "freezer.state")
                if os.path.exists(fz):
                    with open(fz, "w") as f:
                        f.write("THAWED")
                cf = os.path.join(d, "cgroup.freeze")
                if os.path.exists(cf):
                    with open(cf, "w") as f:
                        f.write("0")
            except OSError:
                pass
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError:
                break
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return not os.path.isdir(path)


class Children:
    """Children spawned by a test: killed by pid and reaped at teardown."""

    def __init__(self):
        self.procs = []

    def python(self, code, wait_go=True, **kw):
        """Start `python -c code`; with wait_go the child first blocks reading one line from stdin
        (call go(p) after placing it in the cgroup)."""
        prelude = "import sys\nsys.stdin.readline()\n" if wait_go else ""
        p = subprocess.Popen([sys.executable, "-c", prelude + code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
        self.procs.append(p)
        return p

    def sleep(self, seconds=300):
        p = subprocess.Popen(["sleep", str(seconds)])
        self.procs.append(p)
        return p

    @staticmethod
    def go(p):
        p.stdin.write("go\n")
        p.stdin.flush()

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=FAILURE_AFTER)
            except subprocess.TimeoutExpired:
                pass
            for s in (p.stdin, p.stdout, p.stderr):
                if s:
                    try:
                        s.close()
                    except OSError:
                        pass


@pytest.fixture
def children():
    c = Children()
    yield c
    c.cleanup()


@pytest.fixture
def test_cgroup_name():
    """A unique absolute cgroupsPath; every hierarchy's copy is removed at teardown."""
    name = f"/oci-runtime-test-{uuid.uuid4().hex[:10]}"
    yield name
    leftovers = []
    for mnt in _cgroup_mounts():
        d = mnt + name
        if os.path.isdir(d) and not _rmtree_cgroup(d):
            leftovers.append(d)
    assert not leftovers, f"could not remove test cgroups {leftovers}"


@pytest.fixture
def real(test_cgroup_name, children):
    """(open_manager factory bound to the unique test path, children)."""
    from oci_runtime.cgroups import open_manager
    made = []

    def make(sub="", **kw):
        m = open_manager(test_cgroup_name + sub, "test", **kw)
        made.append(m)
        return m
    yield make, children
    children.cleanup()
    for m in made:
        try:
            if m.exists() and m.is_frozen():
                m.thaw()
        except Exception:
            pass
        try:
            m.destroy()
        except Exception:
            pass


@pytest.fixture
def mgr(real):
    make, children = real
    m = make()
    m.create()
    return m
