"""kernel/files.py's helpers that decide from an errno."""
import errno
import os

import pytest

from oci_runtime.kernel import files, hotpath


def test_pidfd_of_a_live_process():
    pidfd = files.pidfd_of(os.getpid())
    assert pidfd is not None
    os.close(pidfd)


@pytest.mark.parametrize("error", [errno.ESRCH, errno.EINVAL])
def test_pidfd_of_a_pid_without_a_process_is_none(monkeypatch, error):
    # EINVAL: a pid number still held after its process was reaped (no thread-group leader),
    # what kill --all of a stopped container met in the cgroup v2 test bed.
    def pidfd_open(pid):
        raise (ProcessLookupError if error == errno.ESRCH else OSError)(error, os.strerror(error))

    monkeypatch.setattr(hotpath, "pidfd_open", pidfd_open)
    assert files.pidfd_of(12345) is None


def test_pidfd_of_other_errors_are_raised(monkeypatch):
    def pidfd_open(pid):
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(hotpath, "pidfd_open", pidfd_open)
    with pytest.raises(OSError):
        files.pidfd_of(12345)
