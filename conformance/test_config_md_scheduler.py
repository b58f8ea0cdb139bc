"""config.md "Process": the scheduler, real-time (SCHED_FIFO, SCHED_RR, with the cgroup budget
they need under real-time group scheduling) and SCHED_DEADLINE."""
import os

import pytest

from conformance.clause import clause
from tests.exec.test_process_attributes import (  # noqa: F401 - a fixture
    in_cgroup, process_edit, realtime_parent, stat_policy, stat_rt_priority,
)


@clause("config.md", "Process", "scheduler.priority: the static priority of the process, used "
        "by real-time policies like SCHED_FIFO and SCHED_RR")
@pytest.mark.parametrize("policy, number", [("SCHED_FIFO", 1), ("SCHED_RR", 2)])
def test_realtime_scheduler_with_a_budget(oci, make_bundle, realtime_parent, policy, number):
    """With real-time group scheduling a new cgroup has no real-time runtime and the kernel
    refuses a real-time policy there (EPERM, runc too): linux.resources.cpu.realtimeRuntime
    gives it some, out of its parent's budget, before the init sets its policy."""
    budget = {"realtimeRuntime": 10000, "realtimePeriod": 1000000}
    bundle, cid = make_bundle(["cat", "/proc/self/stat"], in_cgroup(
        realtime_parent, budget, scheduler={"policy": policy, "priority": 10}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert stat_policy(result.stdout) == number
    assert stat_rt_priority(result.stdout) == 10



def _sched_getattr(pid):
    """(policy, flags, runtime, deadline, period) of ``pid`` through sched_getattr(2)."""
    import ctypes
    import struct

    numbers = {"x86_64": 315, "aarch64": 275}
    number = numbers.get(os.uname().machine)
    if number is None:
        pytest.skip(f"sched_getattr's number on {os.uname().machine} is not known here")
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(56)
    if libc.syscall(number, pid, buffer, 56, 0) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    _, policy, flags, _, _, runtime, deadline, period = struct.unpack("<IIQiIQQQ", buffer.raw[:48])
    return policy, flags, runtime, deadline, period


@clause("config.md", "Process", "scheduler.runtime, deadline, period: SCHED_DEADLINE's "
        "parameters; flags: scheduling flags")
def test_deadline_scheduler_fields(oci, make_bundle):
    """SCHED_DEADLINE with its runtime, deadline and period, and a flag (RESET_ON_FORK: a
    deadline task may not fork otherwise), read back from the host with sched_getattr(2)."""
    scheduler = {"policy": "SCHED_DEADLINE", "runtime": 2_000_000, "deadline": 20_000_000,
                 "period": 30_000_000, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}
    bundle, cid = make_bundle(["sleep", "1000"], process_edit(scheduler=scheduler))
    result = oci("run", "--detach", "--bundle", str(bundle), cid)
    if result.returncode != 0 and "Device or resource busy" in result.stderr:
        pytest.skip(f"the kernel refuses deadline tasks here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    policy, flags, runtime, deadline, period = _sched_getattr(oci.state(cid)["pid"])
    assert policy == 6 and flags & 0x01
    assert (runtime, deadline, period) == (2_000_000, 20_000_000, 30_000_000)
