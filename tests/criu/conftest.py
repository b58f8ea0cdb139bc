"""Checkpoint/restore tests: real containers, real CRIU (4+; scripts/setup builds 4.2 from
../shared/criu when the criu on PATH cannot dump).  Without such a CRIU they skip, except under
CI (CI=true), where that is a failure: setup must have provided it."""
import os
import shutil
import subprocess

import pytest

from tests.waiting import FAILURE_AFTER, wait_until


def _usable_criu():
    """The CRIU on PATH if it is version 4 or newer, else None."""
    criu = shutil.which("criu")
    if criu is None:
        return None
    try:
        version = subprocess.run([criu, "--version"], capture_output=True, text=True,
                                 timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in version.splitlines():
        if line.startswith("Version:"):
            major = line.split()[1].split(".")[0]
            if major.isdigit() and int(major) >= 4:
                return criu
    return None


CRIU = _usable_criu()


@pytest.fixture(autouse=True)
def _needs_criu():
    if os.geteuid() != 0:
        pytest.skip("checkpoint/restore needs root")
    if CRIU is None:
        message = "no CRIU 4 or newer on PATH (scripts/setup builds it from ../shared/criu)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


# Appended, not rewritten: CRIU checks at restore that a regular file open at the checkpoint has
# the size it had then, except one open O_WRONLY|O_APPEND (a log).  `>` caught between its
# truncation and its write, with the file changed before the restore (--leave-running), would
# fail that check.
COUNTER = "i=0; while :; do i=$((i+1)); echo $i >> /tmp/count; sleep 0.05; done"


def read_count(bundle):
    """The counter's last value (0 before it wrote one)."""
    try:
        lines = (bundle / "rootfs" / "tmp" / "count").read_text().split()
        return int(lines[-1]) if lines else 0
    except (FileNotFoundError, ValueError):
        return 0


def wait_counting(bundle, above=0):
    """Wait until the counter is past ``above``; return the value seen."""
    return wait_until(lambda: read_count(bundle) > above and read_count(bundle),
                      f"the counter to pass {above}")


def mounts_under(path):
    with open("/proc/self/mountinfo") as mountinfo:
        return [line.split()[4] for line in mountinfo if line.split()[4].startswith(str(path))]


def _runtime(oci, *args):
    """The runtime with stdin and stdout on /dev/null and stderr in a plain file: a detached
    container keeps the stdio it is given, and the `oci` fixture's are O_NOFOLLOW temporary
    files, which CRIU cannot reopen from a restorer's fd (and a pipe would never see EOF)."""
    errors = os.path.join(oci.root + "-stderr")
    with open(errors, "w+") as stderr:
        returncode = subprocess.run(oci.command + ["--root", oci.root, *args],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=stderr, timeout=FAILURE_AFTER).returncode
        stderr.seek(0)
        return subprocess.CompletedProcess(args, returncode, "", stderr.read())


def run_detached(oci, bundle, container_id):
    result = _runtime(oci, "run", "--detach", "--bundle", str(bundle), container_id)
    assert result.returncode == 0, result.stderr


def restore(oci, bundle, container_id, images, *extra, check=True):
    """`restore --detach` (see _runtime); a CompletedProcess."""
    result = _runtime(oci, "restore", "--detach", "--bundle", str(bundle), "--image-path",
                      str(images), *extra, container_id)
    if check:
        assert result.returncode == 0, result.stderr
    return result
