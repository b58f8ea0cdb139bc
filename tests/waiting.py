"""Waiting in tests: for the event itself, never for a count of tries or a guess at a duration.

A loaded machine (CI's, or one where other suites run) can take seconds for what takes
milliseconds on an idle one: a container's shell reaching its `trap`, a SIGKILLed process
leaving, a daemon answering.  Every wait here polls for the condition (or, for a process, waits
on a pidfd), and its deadline only bounds a failure: FAILURE_AFTER is long enough that reaching
it means the event is not coming, never that the machine was slow.

The one source of these helpers for tests/ and conformance/ (imported as tests.waiting)."""
import os
import select
import time

# Seconds after which a wait gives up: a bound on a failure, not a measure of anything.
FAILURE_AFTER = 60.0


def wait_until(predicate, what, timeout=FAILURE_AFTER, interval=0.02):
    """Call ``predicate`` until it returns something true, and return that.  AssertionError
    naming ``what`` (a string, or a function making one when it is needed: what was last seen)
    once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for "
                                 f"{what() if callable(what) else what}")
        time.sleep(interval)


def process_alive(pid):
    """Whether process ``pid`` is running: it exists and is not a zombie (a process that has
    exited but that its parent, perhaps not this one, has not reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_exited(pid, timeout=FAILURE_AFTER):
    """Wait for process ``pid`` (any process, not only a child) to exit: its pidfd becomes
    readable then (a zombie counts as exited).  A signal is delivered asynchronously: a process
    SIGKILLed a moment ago may still be on its way out."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # gone, reaped already
    try:
        ready = select.select([pidfd], [], [], timeout)[0]
    finally:
        os.close(pidfd)
    assert ready, f"process {pid} still runs {timeout:g} s later"


def program_of(pid):
    """The argv of process ``pid`` as /proc/<pid>/cmdline shows it ([] while it is between an
    execve's start and the new program's arguments, or gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return [word.decode(errors="replace") for word in cmdline.read().split(b"\0")[:-1]]
    except (FileNotFoundError, ProcessLookupError):
        return []


def wait_for_program(pid, argv, timeout=FAILURE_AFTER):
    """Wait until process ``pid`` runs ``argv`` (its whole argv, or a prefix of it).  `start`
    (runc's too) returns once the init is past everything that can fail but execve, and an
    exec'd process is reported at the same point: the program may not be in place yet."""
    argv = list(argv)
    return wait_until(lambda: program_of(pid)[:len(argv)] == argv,
                      lambda: f"process {pid} to run {argv} (it runs {program_of(pid)})", timeout)


def waits_for_flock(path):
    """Whether some process is blocked taking an flock on ``path``: /proc/locks lists a waiter
    as "N: -> FLOCK ADVISORY WRITE pid major:minor:inode ..." (a positive sign that it waits,
    where "not done yet after a while" is no sign of anything)."""
    status = os.stat(path)
    where = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    with open("/proc/locks") as locks:
        return any(fields[1:3] == ["->", "FLOCK"] and fields[6] == where
                   for fields in (line.split() for line in locks) if len(fields) > 6)


def wait_for_status(oci, container_id, wanted, timeout=FAILURE_AFTER):
    """Wait until `state` says the container is ``wanted`` (each `state` is a new process: a
    loaded host may take seconds per call)."""
    seen = []

    def reached():
        seen[:] = [oci.state(container_id)["status"]]
        return seen[0] == wanted
    wait_until(reached, lambda: f"{container_id} to be {wanted} (it is {seen[0]})", timeout)


def wait_for_file(path, timeout=FAILURE_AFTER):
    """Wait until ``path`` (a pathlib.Path or str) exists: what a container says it has done."""
    wait_until(lambda: os.path.exists(path), f"{path} to appear", timeout)
