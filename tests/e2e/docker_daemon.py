"""A dockerd of the tests' own (tests/e2e/test_docker.py): its own data-root, exec-root,
pidfile, socket, config file and cgroup parent, and `--bridge=none --iptables=false
--ip-forward=false --ip-masq=false`, so that it touches neither the host's interfaces nor its
firewall; and the busybox-static root filesystem its image is imported from.

The client is /usr/bin/docker, the one of the daemon's package: /usr/local/bin/docker may be a
newer client than this daemon's API."""
import json
import os
import shutil
import signal
import subprocess
import time

from tests.e2e import oci_layout
from tests.e2e.images import unmount_under

DOCKER = "/usr/bin/docker"
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
CGROUP_PARENT = f"oci-e2e-docker-{os.getpid()}"


def rootfs_tar(path):
    """busybox-static with a symlink per applet, and a passwd/group with a non-root user."""
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    entries = [oci_layout.directory(name) for name in ("bin", "dev", "etc", "proc", "sys", "root",
                                                         "var", "data")]
    entries.append(oci_layout.Entry("tmp", "dir", mode=0o1777))
    entries.append(oci_layout.host_file("bin/busybox", BUSYBOX))
    entries += [oci_layout.Entry(f"bin/{applet}", "symlink", target="busybox", mode=0o777)
                for applet in applets if applet != "busybox"]
    entries.append(oci_layout.text_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                                        "app:x:1000:1000:app:/tmp:/bin/sh\n"))
    entries.append(oci_layout.text_file("etc/group", "root:x:0:\napp:x:1000:\n"))
    entries.append(oci_layout.text_file("data/in-image", "from the image\n"))
    with open(path, "wb") as output:
        output.write(oci_layout.layer_tar(entries))
    return path


class Docker:
    def __init__(self, base, daemon):
        self.base, self.daemon = base, daemon
        self.host = f"unix://{base}/docker.sock"

    def command(self, *args):
        return [DOCKER, "--host", self.host, *args]

    def __call__(self, *args, check=True, timeout=120, input=None):
        result = subprocess.run(self.command(*args), capture_output=True, text=True,
                                timeout=timeout, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} -> {result.returncode}\n"
                                 f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def inspect(self, container):
        return json.loads(self("inspect", container).stdout)[0]


def start_dockerd(base, options):
    """A dockerd of its own under `base`, leaving the host's network alone, with `options`."""
    log = open(f"{base}/dockerd.log", "w")
    daemon = subprocess.Popen(
        ["dockerd", "--config-file", f"{base}/daemon.json", "--data-root", f"{base}/data",
         "--exec-root", f"{base}/exec", "--pidfile", f"{base}/docker.pid",
         "--host", f"unix://{base}/docker.sock", "--bridge=none", "--iptables=false",
         "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
         "--cgroup-parent", f"/{CGROUP_PARENT}", *options],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    client = Docker(base, daemon)
    client.log = log
    deadline = time.monotonic() + 60
    while client("version", check=False).returncode != 0:
        if daemon.poll() is not None or time.monotonic() > deadline:
            stop_dockerd(client)
            with open(f"{base}/dockerd.log") as output:
                raise RuntimeError("dockerd did not start:\n" + output.read()[-3000:])
        time.sleep(0.2)
    return client


def stop_dockerd(client):
    """Stop the daemon by its pid and remove everything under its directory."""
    if client.daemon.poll() is None:
        os.killpg(client.daemon.pid, signal.SIGTERM)
        try:
            client.daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(client.daemon.pid, signal.SIGKILL)
            client.daemon.wait()
    client.log.close()
    unmount_under(client.base)
    shutil.rmtree(client.base, ignore_errors=True)
