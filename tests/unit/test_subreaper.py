"""oci_runtime.process.subreaper: what an attached run adopted is reaped when it ends, also a
process SIGKILLed a moment before (delete's kill is delivered when the process next runs)."""
import subprocess
import sys

from tests.waiting import FAILURE_AFTER

# In a process of its own: the test process must not become a child subreaper.
ADOPT_KILL_END = """
import os, signal
from oci_runtime.process.subreaper import ChildSubreaper, children

with ChildSubreaper(True) as adopter:
    before = set(adopter.before)
    ready, tell = os.pipe()
    middle = os.fork()
    if middle == 0:                      # forks the orphan-to-be, then exits
        if os.fork() == 0:
            os.write(tell, str(os.getpid()).encode())
            while True:
                signal.pause()
        os._exit(0)
    os.close(tell)
    orphan = int(os.read(ready, 32))
    os.waitpid(middle, 0)                # the orphan is ours now (reparented at its exit)
    assert orphan in children(), (orphan, children())
    os.kill(orphan, signal.SIGKILL)      # delivered when it next runs: not exited yet
print(sorted(children() - before))
"""


def test_a_process_killed_just_before_the_end_is_reaped_not_left_a_zombie():
    for _ in range(5):  # each run races the kill against the end; none may leave a zombie
        result = subprocess.run([sys.executable, "-c", ADOPT_KILL_END], capture_output=True,
                                text=True, timeout=FAILURE_AFTER)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "[]", result.stdout
