"""oci_runtime.cgroups.remove_empty: delete's removal of a stopped container's cgroup from its
record alone, and when it hands over to the manager (remove_after_kill)."""
import os

from oci_runtime.cgroups import remove_empty


def saved(directories, driver="cgroupfs"):
    return {"driver": driver, "mode": "v1", "directories": [str(d) for d in directories]}


def test_every_recorded_directory_goes_and_one_already_gone_is_fine(tmp_path):
    made = [tmp_path / name / "c1" for name in ("memory", "pids", "unified")]
    for directory in made[:2]:
        directory.mkdir(parents=True)
    assert remove_empty(saved(made)) is True
    assert [d for d in made if d.exists()] == []
    assert all((tmp_path / name).is_dir() for name in ("memory", "pids"))  # parents stay


def test_a_directory_that_cannot_go_hands_over_to_the_manager(tmp_path):
    """A child cgroup left (or, in cgroupfs, a process: EBUSY) ends the fast path: False, and
    the manager's remove_after_kill (kill, walk, rmdir) does the rest."""
    busy = tmp_path / "memory" / "c1"
    (busy / "child").mkdir(parents=True)
    free = tmp_path / "pids" / "c1"
    free.mkdir(parents=True)
    assert remove_empty(saved([free, busy])) is False
    assert not free.exists() and busy.is_dir()


def test_what_is_not_a_cgroupfs_record_with_its_directories_is_not_removed_here(tmp_path):
    directory = tmp_path / "c1"
    directory.mkdir()
    for record in (saved([directory], driver="systemd"),  # a unit to stop over D-Bus
                   {"driver": "cgroupfs", "mode": "v1", "paths": {"pids": str(directory)}},
                   None, "garbage"):
        assert remove_empty(record) is False
    assert os.path.isdir(directory)


def test_managers_record_their_directories():
    from oci_runtime.cgroups.v1 import V1Manager
    from oci_runtime.cgroups.v2 import V2Manager

    v1 = V1Manager("/sys/fs/cgroup", "/a", {"cpu": "/sys/fs/cgroup/cpu/a",
                                           "cpuacct": "/sys/fs/cgroup/cpu/a",
                                           "pids": "/sys/fs/cgroup/pids/a"},
                   {}, "/sys/fs/cgroup/unified/a", "/sys/fs/cgroup/unified", "hybrid")
    assert v1.to_dict()["directories"] == ["/sys/fs/cgroup/cpu/a", "/sys/fs/cgroup/pids/a",
                                           "/sys/fs/cgroup/unified/a"]
    v2 = V2Manager("/sys/fs/cgroup", "/a", "/sys/fs/cgroup/a")
    assert v2.to_dict()["directories"] == ["/sys/fs/cgroup/a"]
