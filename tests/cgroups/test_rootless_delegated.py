"""Rootless containers in a cgroup delegated by systemd (cgroup v2): a non-root user whose
service has Delegate=yes makes the container's cgroup below its own and sets its limits.

Runs in the v2bed VM with systemd (scripts/test-v2); the runtime is the install every user can
run ($OCI_SHARED_INSTALL, built on the host by scripts/test-v2, else by the fixture)."""
import json
import os
import shutil
import subprocess
import uuid

import pytest

pytestmark = [pytest.mark.v2, pytest.mark.systemd,
              pytest.mark.skipif(os.geteuid() != 0, reason="creating users needs root"),
              pytest.mark.skipif(shutil.which("systemd-run") is None,
                                 reason="systemd-run is not installed")]

# Run as the user, in its delegated service cgroup: move itself to a leaf (cgroup v2 allows no
# processes beside child cgroups with controllers), create, report, delete, report.
SCRIPT = r"""
set -e
own=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
mkdir "$own/leaf"
# Moved by a child, and without dash's echo: writing the service's main pid through dash fails
# here (EIO) where Python's single write of the number does not.
/usr/bin/python3 -c "import os, sys; open(sys.argv[1], 'w').write(str(os.getppid()))" \
    "$own/leaf/cgroup.procs"
"$RUNTIME" create --bundle "$BUNDLE" "$ID"
echo "memory.max $(cat "$own/$ID/memory.max")"
echo "pids.max $(cat "$own/$ID/pids.max")"
echo "procs $(cat "$own/$ID/cgroup.procs")"
"$RUNTIME" state "$ID" | tr -d ' \n' | sed 's/.*"pid":\([0-9]*\).*/pid \1/'; echo
"$RUNTIME" delete --force "$ID"
[ -e "$own/$ID" ] && echo "left $own/$ID" || echo "removed"
"""


def test_rootless_container_uses_the_delegated_cgroup(rootless_user, shared_install,
                                                      rootfs_template):
    user = rootless_user
    container_id = "rl" + uuid.uuid4().hex[:10]
    bundle = user.make_dir(os.path.join(user.home, f"bundle-{container_id}"))
    shutil.copytree(rootfs_template, os.path.join(bundle, "rootfs"), symlinks=True)
    result = user.run([shared_install, "spec", "--rootless", "--bundle", bundle])
    assert result.returncode == 0, result.stderr
    path = os.path.join(bundle, "config.json")
    with open(path) as config_file:
        config = json.load(config_file)
    config["process"]["terminal"] = False
    config["process"]["args"] = ["sleep", "60"]
    config["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 42}}
    with open(path, "w") as config_file:
        json.dump(config, config_file)
    unit = f"oci-rootless-{container_id}"
    result = subprocess.run(
        ["systemd-run", "--quiet", "--wait", "--pipe", "--collect", f"--unit={unit}",
         f"--uid={user.name}", f"--gid={user.gid}", "-p", "Delegate=yes",
         f"--setenv=XDG_RUNTIME_DIR={user.runtime_dir}", f"--setenv=HOME={user.home}",
         f"--setenv=RUNTIME={shared_install}", f"--setenv=BUNDLE={bundle}",
         f"--setenv=ID={container_id}", "/bin/sh", "-c", SCRIPT],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    report = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert report["memory.max"] == str(64 << 20)
    assert report["pids.max"] == "42"
    assert report["procs"] == report["pid"]
    assert "removed" in result.stdout
