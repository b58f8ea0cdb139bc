"""config-linux.md: namespaces, devices, cgroups path, sysctl, masked/read-only paths, intelRdt."""
import json
import os
import subprocess

from clause import clause
from tests.waiting import wait_until


def _run(oci, make_bundle, script, edit=None):
    bundle, cid = make_bundle(["sh", "-c", script], edit)
    return oci("run", "--bundle", str(bundle), cid)


def _set_namespace_path(config, ns_type, path):
    for namespace in config["linux"]["namespaces"]:
        if namespace["type"] == ns_type:
            namespace["path"] = path


@clause("config-linux.md", "Namespaces", "the runtime MUST place the container process in the namespace at path")
def test_namespace_path_is_joined(oci, make_bundle):
    own = f"/proc/{os.getpid()}/ns/ipc"
    result = _run(oci, make_bundle, "readlink /proc/self/ns/ipc",
                  lambda c: _set_namespace_path(c, "ipc", own))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == os.readlink(own)


@clause("config-linux.md", "Namespaces", "MUST generate an error if path is not a namespace of type")
def test_namespace_path_of_wrong_type(oci, make_bundle):
    result = _run(oci, make_bundle, "true", lambda c: _set_namespace_path(c, "network", f"/proc/{os.getpid()}/ns/ipc"))
    assert result.returncode != 0 and "/linux/namespaces" in result.stderr


@clause("config-linux.md", "Namespaces", "if path is not specified, MUST create a new namespace of type")
def test_new_namespace_created(oci, make_bundle):
    result = _run(oci, make_bundle, "readlink /proc/self/ns/uts")
    assert result.returncode == 0 and result.stdout.strip() != os.readlink("/proc/self/ns/uts")


@clause("config-linux.md", "Namespaces", "a type not in namespaces MUST be inherited from the runtime")
def test_absent_namespace_inherited(oci, make_bundle):
    def edit(config):
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"] if n["type"] != "ipc"]
    result = _run(oci, make_bundle, "readlink /proc/self/ns/ipc", edit)
    assert result.returncode == 0 and result.stdout.strip() == os.readlink("/proc/self/ns/ipc")


@clause("config-linux.md", "Namespaces", "duplicated namespace types MUST generate an error")
def test_duplicate_namespaces(oci, make_bundle):
    result = _run(oci, make_bundle, "true", lambda c: c["linux"]["namespaces"].append({"type": "uts"}))
    assert result.returncode != 0 and "/linux/namespaces" in result.stderr


@clause("config-linux.md", "Devices", "devices listed MUST be available in the container")
def test_devices_available(oci, make_bundle):
    def edit(config):
        config["linux"]["devices"] = [{"path": "/dev/fuse-like", "type": "c", "major": 1, "minor": 5}]
    result = _run(oci, make_bundle, "stat -c %t:%T /dev/fuse-like", edit)
    assert result.returncode == 0 and result.stdout.strip() == "1:5"


@clause("config-linux.md", "Devices", "a file at path not matching the device MUST generate an error")
def test_device_path_conflict(oci, make_bundle):
    def edit(config):
        config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/dev"]
        config["linux"]["devices"] = [{"path": "/dev/clash", "type": "c", "major": 1, "minor": 5}]
    bundle, cid = make_bundle(["true"], edit)
    (bundle / "rootfs" / "dev" / "clash").write_text("not a device")
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "/dev/clash" in result.stderr and "/linux/devices/0" in result.stderr


@clause("config-linux.md", "Devices", "path: full path to device inside container")
def test_a_device_path_with_a_trailing_slash_names_the_file(oci, make_bundle):
    """runc (filepath.Join) and crun drop the trailing slash: "/newdir/fuse/" is /newdir/fuse
    (mknod refuses a slash with EINVAL); a default device named with one replaces the default."""
    def edit(config):
        config["linux"]["devices"] = [
            {"path": "/newdir/fuse/", "type": "c", "major": 10, "minor": 229},
            {"path": "/dev/null//", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600}]

    bundle, cid = make_bundle(["stat", "-c", "%F %t:%T %a", "/newdir/fuse", "/dev/null"], edit)
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["character special file a:e5 666",
                                          "character special file 1:3 600"]


@clause("config-linux.md", "Devices", "path: full path to device inside container")
def test_a_device_path_of_only_slashes_is_refused(oci, make_bundle):
    bundle, cid = make_bundle(["true"], lambda c: c["linux"].update(
        devices=[{"path": "//", "type": "c", "major": 1, "minor": 3}]))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 1
    assert "config.json: /linux/devices/0/path: '//' names the container's root" in result.stderr


@clause("config-linux.md", "Devices", "a file at path not matching the device MUST generate an error")
def test_a_device_path_with_a_slash_onto_an_existing_directory_names_it(oci, make_bundle):
    """runc and crun ignore EEXIST and leave the directory (no device); the spec says a file at
    the path that is not the device MUST be an error, and a directory is a file (POSIX)."""
    bundle, cid = make_bundle(["true"], lambda c: c["linux"].update(
        devices=[{"path": "/mnt/", "type": "b", "major": 10, "minor": 229}]))
    (bundle / "rootfs" / "mnt").mkdir()
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 1
    assert ("config.json: /linux/devices/0: /mnt exists in the rootfs and is not the requested "
            "device (b 10:229)") in result.stderr


@clause("config-linux.md", "Default Devices", "the runtime MUST also supply the default devices")
def test_default_devices(oci, make_bundle):
    result = _run(oci, make_bundle, "for d in null zero full random urandom tty; do test -c /dev/$d || echo missing $d; done")
    assert result.returncode == 0 and result.stdout == ""


@clause("config-linux.md", "Control groups", "an absolute cgroupsPath is relative to the cgroups mount point")
def test_absolute_cgroups_path(oci, make_bundle, cgroup_dirs):
    bundle, cid = make_bundle(["sleep", "30"])
    oci("run", "--detach", "--bundle", str(bundle), cid, check=True)
    for directory in cgroup_dirs(bundle):  # /sys/fs/cgroup/<controller><path> on v1, <path> on v2
        with open(f"{directory}/cgroup.procs") as procs:
            assert str(oci.state(cid)["pid"]) in procs.read().split(), directory


@clause("config-linux.md", "Sysctl", "sysctl values are applied in the container")
def test_sysctl(oci, make_bundle):
    result = _run(oci, make_bundle, "cat /proc/sys/net/ipv4/ip_default_ttl",
                  lambda c: c["linux"].update(sysctl={"net.ipv4.ip_default_ttl": "42"}))
    assert result.returncode == 0 and result.stdout.strip() == "42"


@clause("config-linux.md", "Masked Paths", "masked paths MUST be masked so they cannot be read")
def test_masked_paths(oci, make_bundle):
    # Paths that have content whatever the host: a directory and a file of the rootfs, and
    # /proc/timer_list of the default list (never empty on the host).  /proc/acpi or /proc/keys
    # would prove nothing on a host where they are empty anyway.
    def edit(config):
        config["linux"]["maskedPaths"] += ["/secret-dir", "/secret-file"]
    bundle, cid = make_bundle(["sh", "-c", "cat /proc/timer_list | wc -c; cat /secret-file | wc -c; "
                                           "ls -A /secret-dir | wc -l"], edit)
    (bundle / "rootfs" / "secret-dir").mkdir()
    (bundle / "rootfs" / "secret-dir" / "key").write_text("secret\n")
    (bundle / "rootfs" / "secret-file").write_text("secret\n")
    assert "/proc/timer_list" in json.loads((bundle / "config.json").read_text())["linux"]["maskedPaths"]
    with open("/proc/timer_list") as host_timer_list:
        assert host_timer_list.read(1)
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "0", "0"]


def _dev_bound_from(directory):
    def edit(config):
        config["mounts"] = [m for m in config["mounts"] if not m["destination"].startswith("/dev")]
        config["mounts"].append({"destination": "/dev", "type": "bind", "source": str(directory),
                                 "options": ["rbind", "rw"]})
    return edit


@clause("config-linux.md", "Masked Paths", "masked paths MUST be masked so they cannot be read")
def test_masked_paths_with_dev_bound_from_the_host(oci, make_bundle, tmp_path):
    """/dev from a host directory: a real null there masks; a fake one (a symlink to a procfs
    file, CVE-2025-31133) never does: the container is refused or the path still reads empty."""
    import stat

    real, fake = tmp_path / "real-dev", tmp_path / "fake-dev"
    real.mkdir()
    fake.mkdir()
    os.mknod(real / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    (fake / "null").symlink_to("/proc/sys/kernel/hostname")
    script = "cat /proc/keys | wc -c; cat /proc/timer_list | wc -c"
    result = _run(oci, make_bundle, script, _dev_bound_from(real))
    assert result.returncode == 0 and result.stdout.split() == ["0", "0"], result.stderr
    result = _run(oci, make_bundle, script, _dev_bound_from(fake))
    assert result.returncode != 0 or result.stdout.split() == ["0", "0"], result.stdout


def _write_in_namespaced_sysctl_edit(config):
    # net.ipv4.ip_default_ttl belongs to the container's own network namespace, so even with
    # readonlyPaths broken the write cannot reach the host's value.
    if {"type": "network"} not in config["linux"]["namespaces"]:
        config["linux"]["namespaces"].append({"type": "network"})


@clause("config-linux.md", "Readonly Paths", "readonly paths MUST be read-only in the container")
def test_readonly_paths(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "echo 99 > /proc/sys/net/ipv4/ip_default_ttl; "
                                           "cat /proc/sys/net/ipv4/ip_default_ttl"],
                              _write_in_namespaced_sysctl_edit)
    assert "/proc/sys" in json.loads((bundle / "config.json").read_text())["linux"]["readonlyPaths"]
    result = oci("run", "--bundle", str(bundle), cid)
    assert "Read-only file system" in result.stderr, result.stderr  # EROFS, not any failure
    assert result.stdout.strip() != "99"


@clause("config-linux.md", "IntelRdt", "without a usable resctrl the runtime MUST generate an error")
def test_intel_rdt_refused(oci, make_bundle):
    bundle, cid = make_bundle(["true"], lambda c: c["linux"].update(intelRdt={"closID": "guaranteed"}))
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode != 0 and "/linux/intelRdt" in result.stderr
    assert not os.path.exists(os.path.join(oci.root, cid))
    assert oci("list", "-q").stdout.split() == []


def _host_value(key):
    with open("/proc/sys/" + key.replace(".", "/")) as value:
        return value.read()


def _without_namespace(config, ns_type):
    config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                     if n["type"] != ns_type]


@clause("config-linux.md", "Sysctl", "sysctls are set in the container's namespaces, never the host's")
def test_sysctls_outside_the_containers_namespaces_are_refused(oci, make_bundle):
    own_net = f"/proc/{os.getpid()}/ns/net"
    cases = [
        ("net.ipv4.ping_group_range", "0 0",
         lambda c: _without_namespace(c, "network"), "in the network namespace"),
        ("net.ipv4.ping_group_range", "0 0",
         lambda c: _set_namespace_path(c, "network", own_net), "in the network namespace"),
        ("fs.mqueue.queues_max", "7", lambda c: _without_namespace(c, "ipc"),
         "in the ipc namespace"),
        ("kernel.shmmni", "77", lambda c: _without_namespace(c, "ipc"), "in the ipc namespace"),
        ("kernel.domainname", "x.org", lambda c: _without_namespace(c, "uts"),
         "in the uts namespace"),
        ("kernel.hostname", "box", None, "conflicts with the hostname field"),
        ("vm.overcommit_memory", "1", None, "is not in a namespace of the container"),
    ]
    for key, value, edit, reason in cases:
        before = _host_value(key)

        def configure(config, key=key, value=value, edit=edit):
            config["linux"]["sysctl"] = {key: value}
            config.pop("hostname", None)
            if edit:
                edit(config)
        bundle, cid = make_bundle(["true"], configure)
        result = oci("create", "--bundle", str(bundle), cid)
        assert result.returncode == 1 and reason in result.stderr, (key, result.stderr)
        assert f"/linux/sysctl/{key}" in result.stderr
        assert oci("state", cid).returncode == 1
        assert _host_value(key) == before, key


@clause("config-linux.md", "Sysctl", "namespaced sysctls are applied in the container's own namespaces")
def test_namespaced_sysctls_are_applied_in_the_container(oci, make_bundle):
    sysctls = {"net.ipv4.ping_group_range": "0 0", "fs.mqueue.queues_max": "7",
               "kernel.shmmni": "77", "kernel.domainname": "example.org"}
    before = {key: _host_value(key) for key in sysctls}
    script = "; ".join(f"cat /proc/sys/{key.replace('.', '/')}" for key in sysctls)
    result = _run(oci, make_bundle, script, lambda c: c["linux"].update(sysctl=sysctls))
    assert result.returncode == 0, result.stderr
    assert [" ".join(line.split()) for line in result.stdout.splitlines()] == list(sysctls.values())
    assert {key: _host_value(key) for key in sysctls} == before


@clause("config.md", "Hostname", "a hostname may be set in a uts namespace joined by path")
def test_hostname_in_a_joined_uts_namespace(oci, make_bundle):
    holder = subprocess.Popen(["unshare", "--uts", "sleep", "1000"])
    try:
        path = f"/proc/{holder.pid}/ns/uts"
        # Until unshare has made the namespace: joining the host's would rename the host.
        wait_until(lambda: os.readlink(path) != os.readlink("/proc/self/ns/uts"),
                   "unshare to make its uts namespace")
        result = _run(oci, make_bundle, "hostname; readlink /proc/self/ns/uts", lambda c: (
            _set_namespace_path(c, "uts", path), c.update(hostname="joined-box")))
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["joined-box", os.readlink(path)]
    finally:
        holder.kill()
        holder.wait()
    assert os.uname().nodename != "joined-box"
