"""No Python runs inside a container's namespaces: module files an image plants at the host
interpreter's sys.path entries are never imported, by create, start, run or exec, plain, in a user
namespace, or in a joined mount namespace.

A runtime whose container side is a fork of its interpreter would import, after pivot_root (or
after setns into the container's mount namespace), any module it had not imported before the
fork, from the image: as root, with every capability.  Each planted module records its import in
a marker file, both in the root it was imported from and in a host directory; the test fails if
any marker appears.
"""
import json
import os
import sys
import zipfile

import pytest

from security_support import runtime_interpreters

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")

# The modules an interpreter imports at start-up or a runtime imports on demand.
MODULES = ["os", "site", "sitecustomize", "usercustomize", "encodings/__init__", "json/__init__",
           "shutil", "signal", "struct", "socket", "subprocess", "stat", "fcntl", "errno",
           "tempfile", "pathlib", "select", "selectors", "threading", "traceback", "linecache",
           "oci_runtime/__init__", "oci_runtime/plan/__init__", "planted_by_pth"]
PTH = "zz-planted.pth"
ROOT_MARKER_PREFIX = "oci-planted-"


def interpreter_paths(command):
    """The absolute sys.path entries of every interpreter the runtime runs on (with and without
    -I -S), of this interpreter, and the directories the launcher adds."""
    import subprocess

    entries = [entry for entry in sys.path if entry.startswith("/")]
    for interpreter in runtime_interpreters(command):
        if not os.access(interpreter, os.X_OK) or interpreter == command[0]:
            continue
        for flags in ([], ["-I", "-S"], ["-I"]):
            listing = subprocess.run([interpreter, *flags, "-c", "import sys; print(repr(sys.path))"],
                                     capture_output=True, text=True)
            if listing.returncode == 0:
                entries.extend(eval(listing.stdout))  # repr of a list of str
    from security_support import PACKAGE

    entries.append(os.path.dirname(PACKAGE))
    result = []
    for entry in entries:
        if entry.startswith("/") and entry not in result:
            result.append(entry)
    return result


def _marker_code(name, host_markers):
    host_path = os.path.join(host_markers, name.replace("/", "."))
    root_path = "/" + ROOT_MARKER_PREFIX + name.replace("/", ".")
    # Only builtins: this file may be os.py itself.
    return (f"for _path in ({host_path!r}, {root_path!r}):\n"
            "    try:\n"
            "        open(_path, 'a').close()\n"
            "    except BaseException:\n"
            "        pass\n")


def plant(rootfs, entries, host_markers):
    """Marker modules at every entry under ``rootfs`` (a zip file for a .zip entry)."""
    for entry in entries:
        where = rootfs / entry.lstrip("/")
        if entry.endswith(".zip"):
            where.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(where, "w") as archive:
                for name in MODULES:
                    archive.writestr(name + ".py", _marker_code(name, host_markers))
            continue
        for name in MODULES:
            path = where / (name + ".py")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_marker_code(name, host_markers))
        (where / PTH).write_text("import planted_by_pth\n")


def markers(host_markers, *rootfs_dirs):
    found = sorted(os.listdir(host_markers))
    for rootfs in rootfs_dirs:
        found += [f"{rootfs}/{name}" for name in os.listdir(rootfs)
                  if name.startswith(ROOT_MARKER_PREFIX)]
    return found


def planted_config(config):
    # tmpcopyup made a Python init import shutil after pivot_root.
    config["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                             "options": ["tmpcopyup", "nosuid"]})


@pytest.fixture
def host_markers(tmp_path):
    directory = tmp_path / "markers"
    directory.mkdir()
    directory.chmod(0o777)
    return directory


def _exercise(oci, bundle, cid, rootfs, host_markers, tmp_path):
    """create/start, exec (plain, --process, --user), kill, delete; then check for markers."""
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    oci("exec", cid, "true", check=True)
    process = tmp_path / f"process-{cid}.json"
    process.write_text(json.dumps({"args": ["true"], "cwd": "/", "env": ["A=b"],
                                   "user": {"uid": 1000, "gid": 1000}}))
    oci("exec", "--process", str(process), cid, check=True)
    oci("exec", "--user", "1000:1000", "--cwd", "/", cid, "true", check=True)
    oci("kill", cid, "KILL", check=True)
    oci("delete", "--force", cid, check=True)
    assert markers(host_markers, rootfs) == []


def _planted_bundles(make_bundle, oci, host_markers):
    """(a bundle running `true`, a bundle running `sleep 60`), both planted."""
    entries = interpreter_paths(oci.command)
    made = []
    for args in (["true"], ["sleep", "60"]):
        bundle, cid = make_bundle(args, planted_config)
        plant(bundle / "rootfs", entries, str(host_markers))
        made.append((bundle, cid))
    return made


def test_planted_modules_never_run_plain(oci, make_bundle, host_markers, tmp_path):
    (short, short_id), (long, long_id) = _planted_bundles(make_bundle, oci, host_markers)
    result = oci("run", "--bundle", str(short), short_id)
    assert result.returncode == 0, result.stderr
    assert markers(host_markers, short / "rootfs") == []
    _exercise(oci, long, long_id, long / "rootfs", host_markers, tmp_path)


def test_planted_modules_never_run_in_a_user_namespace(oci, make_bundle, host_markers, tmp_path,
                                                       shifted_bundle):
    (short, short_id), (long, long_id) = _planted_bundles(make_bundle, oci, host_markers)
    short, long = shifted_bundle(short), shifted_bundle(long)
    result = oci("run", "--bundle", str(short), short_id)
    assert result.returncode == 0, result.stderr
    assert markers(host_markers, short / "rootfs") == []
    _exercise(oci, long, long_id, long / "rootfs", host_markers, tmp_path)


def test_planted_modules_never_run_in_a_joined_mount_namespace(oci, make_bundle, host_markers,
                                                               tmp_path):
    """Container B joins the mount namespace of container A, so its root.path is looked up in
    A's root: a copy of B's rootfs is there, at that path.  Modules are planted in all three
    roots; then B runs and A gets an exec."""
    import shutil

    first, first_id = make_bundle(["sleep", "60"], planted_config)
    entries = interpreter_paths(oci.command)
    plant(first / "rootfs", entries, str(host_markers))
    oci("run", "--detach", "--bundle", str(first), first_id, check=True)
    pid = oci.state(first_id)["pid"]

    def join(config):
        planted_config(config)
        for namespace in config["linux"]["namespaces"]:
            # The pid namespace too: A's /proc is the one B's setup sees there.
            if namespace["type"] in ("mount", "pid"):
                namespace["path"] = f"/proc/{pid}/ns/" + {"mount": "mnt"}.get(namespace["type"],
                                                                            namespace["type"])

    second, second_id = make_bundle(["sh", "-c", "test -e /oci-in-a-only && echo joined"], join)
    plant(second / "rootfs", entries, str(host_markers))
    mirror = first / "rootfs" / str(second / "rootfs").lstrip("/")
    shutil.copytree(second / "rootfs", mirror, symlinks=True)
    (mirror / "oci-in-a-only").write_text("")
    roots = (first / "rootfs", second / "rootfs", mirror)
    result = oci("run", "--bundle", str(second), second_id)
    assert markers(host_markers, *roots) == [], result.stderr
    assert result.returncode == 0 and "joined" in result.stdout, (result.stdout, result.stderr)
    oci("exec", first_id, "true", check=True)
    assert markers(host_markers, *roots) == []
